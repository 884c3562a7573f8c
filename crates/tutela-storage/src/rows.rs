//! Rows as both backends read them, and their conversion into domain values,
//! kept here so the two backends cannot drift apart in how they decode. A
//! value that no longer parses is reported as corrupt with the column name,
//! never with the value.

use tutela_domain::audit::{AuditRecord, ChainId, Checkpoint, TreeHead};
use tutela_domain::{
    Agreement, AgreementDraft, AgreementTerms, Attestation, AttestationId, ClientId, Controller,
    ControllerId, CountryCode, Label, MachineClient, NewUser, Role, Subject, SubjectId, Timestamp,
    User, UserId, Username,
};
use uuid::Uuid;

use crate::{StorageError, StoredSegment, StoredTerm, epoch_of};

/// The columns of `users` that make a [`User`], in [`UserTuple`] order.
pub const USER_COLUMNS: &str = "id, username, role, created_at, disabled_at, totp_confirmed_at";

/// A `users` row as selected by [`USER_COLUMNS`].
pub type UserTuple = (Uuid, String, String, i64, Option<i64>, Option<i64>);

/// Decodes a user row with its controller ids.
pub fn user_from_row(row: UserTuple, controllers: Vec<Uuid>) -> Result<User, StorageError> {
    let (id, username, role, created_at, disabled_at, totp_confirmed_at) = row;
    let mut controllers: Vec<ControllerId> = controllers.into_iter().map(ControllerId).collect();
    controllers.sort();
    Ok(User {
        id: UserId(id),
        username: Username::parse(&username).map_err(|_| corrupt("users.username"))?,
        role: role.parse::<Role>().map_err(|_| corrupt("users.role"))?,
        controllers,
        mfa_enrolled: totp_confirmed_at.is_some(),
        created_at: timestamp(created_at, "users.created_at")?,
        disabled_at: optional_timestamp(disabled_at, "users.disabled_at")?,
    })
}

/// The user a backend has just written for `user`, as a later read returns it
/// (instants truncated to the stored microseconds).
pub fn user_as_stored(user: &NewUser) -> Result<User, StorageError> {
    user_from_row(
        (
            user.id.0,
            user.username.as_str().to_owned(),
            user.role.as_str().to_owned(),
            micros(user.created_at),
            None,
            None,
        ),
        user.controllers.iter().map(|c| c.0).collect(),
    )
}

/// The columns of `controllers`, in [`ControllerTuple`] order.
pub const CONTROLLER_COLUMNS: &str = "id, name, country, dpo_contact, representative, created_at";

/// A `controllers` row.
pub type ControllerTuple = (Uuid, String, String, String, Option<String>, i64);

/// Decodes a controller row.
pub fn controller_from_row(row: ControllerTuple) -> Result<Controller, StorageError> {
    let (id, name, country, dpo_contact, representative, created_at) = row;
    Ok(Controller {
        id: ControllerId(id),
        name: label(&name, "controllers.name")?,
        country: CountryCode::parse(&country).map_err(|_| corrupt("controllers.country"))?,
        dpo_contact: label(&dpo_contact, "controllers.dpo_contact")?,
        representative: representative
            .map(|r| label(&r, "controllers.representative"))
            .transpose()?,
        created_at: timestamp(created_at, "controllers.created_at")?,
    })
}

/// The columns of `agreements`, in [`AgreementTuple`] order.
pub const AGREEMENT_COLUMNS: &str = "controller_id, version, terms, recorded_at, recorded_by";

/// An `agreements` row; `terms` is JSON text.
pub type AgreementTuple = (Uuid, i64, String, i64, Uuid);

/// Decodes an agreement row, re-checking the terms.
pub fn agreement_from_row(row: AgreementTuple) -> Result<Agreement, StorageError> {
    let (controller_id, version, terms, recorded_at, recorded_by) = row;
    let draft: AgreementDraft =
        serde_json::from_str(&terms).map_err(|_| corrupt("agreements.terms"))?;
    Ok(Agreement {
        controller_id: ControllerId(controller_id),
        version: u32::try_from(version).map_err(|_| corrupt("agreements.version"))?,
        terms: AgreementTerms::try_from(draft).map_err(|_| corrupt("agreements.terms"))?,
        recorded_at: timestamp(recorded_at, "agreements.recorded_at")?,
        recorded_by: UserId(recorded_by),
    })
}

/// Agreement terms as stored: JSON text.
pub fn terms_json(terms: &AgreementTerms) -> Result<String, StorageError> {
    serde_json::to_string(terms).map_err(|e| StorageError::Backend {
        detail: format!("agreement terms do not serialise: {e}"),
    })
}

/// The columns of `attestations`, in [`AttestationTuple`] order.
pub const ATTESTATION_COLUMNS: &str =
    "id, user_id, kind, version, assessment, attested_at, expires_at, recorded_by";

/// An `attestations` row.
pub type AttestationTuple = (Uuid, Uuid, String, String, Option<String>, i64, i64, Uuid);

/// Decodes an attestation row.
pub fn attestation_from_row(row: AttestationTuple) -> Result<Attestation, StorageError> {
    let (id, user_id, kind, version, assessment, attested_at, expires_at, recorded_by) = row;
    Ok(Attestation {
        id: AttestationId(id),
        user_id: UserId(user_id),
        kind: kind.parse().map_err(|_| corrupt("attestations.kind"))?,
        version: label(&version, "attestations.version")?,
        assessment: assessment
            .map(|a| label(&a, "attestations.assessment"))
            .transpose()?,
        attested_at: timestamp(attested_at, "attestations.attested_at")?,
        expires_at: timestamp(expires_at, "attestations.expires_at")?,
        recorded_by: UserId(recorded_by),
    })
}

/// The columns of `api_clients`, in [`ClientTuple`] order.
pub const CLIENT_COLUMNS: &str =
    "id, controller_id, name, kind, capabilities, created_at, created_by, revoked_at";

/// An `api_clients` row; capabilities are space-separated names.
pub type ClientTuple = (Uuid, Uuid, String, String, String, i64, Uuid, Option<i64>);

/// Decodes a client row.
pub fn client_from_row(row: ClientTuple) -> Result<MachineClient, StorageError> {
    let (id, controller_id, name, kind, capabilities, created_at, created_by, revoked_at) = row;
    Ok(MachineClient {
        id: ClientId(id),
        controller_id: ControllerId(controller_id),
        name: label(&name, "api_clients.name")?,
        kind: kind.parse().map_err(|_| corrupt("api_clients.kind"))?,
        capabilities: capabilities
            .split_whitespace()
            .map(|c| c.parse().map_err(|_| corrupt("api_clients.capabilities")))
            .collect::<Result<_, _>>()?,
        created_at: timestamp(created_at, "api_clients.created_at")?,
        created_by: UserId(created_by),
        revoked_at: optional_timestamp(revoked_at, "api_clients.revoked_at")?,
    })
}

/// A client's capabilities as stored: names separated by spaces.
pub fn capabilities_text(client: &MachineClient) -> String {
    client
        .capabilities
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `subject_records` row: controller id, id, created and updated
/// instants, record document.
pub type SubjectTuple = (Uuid, Uuid, i64, i64, String);

/// Decodes a subject from its row.
pub fn subject_from_row(row: SubjectTuple) -> Result<Subject, StorageError> {
    let (controller_id, id, created_at, updated_at, record) = row;
    let (mut attributes, contacts) =
        tutela_domain::decode_record(&record).map_err(|_| corrupt("subject_records.record"))?;
    // Records migration 0004 built from older rows keep SQLite's aggregate
    // order; the order is a convention, not data, so it is restored here.
    attributes.sort_by(|a, b| a.name.cmp(&b.name));
    let subject = Subject {
        id: SubjectId(id),
        controller_id: ControllerId(controller_id),
        attributes,
        contacts,
        created_at: timestamp(created_at, "subject_records.created_at")?,
        updated_at: timestamp(updated_at, "subject_records.updated_at")?,
    };
    subject
        .check()
        .map_err(|_| corrupt("subject_records.record"))?;
    Ok(subject)
}

/// Rows per multi-row INSERT: at most 6 parameters each, far below either
/// backend's limit, and one statement shape for the statement cache.
pub const ROWS_PER_STATEMENT: usize = 200;

/// Stored representation of an instant: Unix microseconds. Both backends use
/// a 64-bit integer so that the same value round-trips exactly on each.
pub fn micros(instant: Timestamp) -> i64 {
    instant.as_microsecond()
}

/// Decodes a stored instant, naming the column if it is out of range.
pub fn timestamp(micros: i64, column: &str) -> Result<Timestamp, StorageError> {
    Timestamp::from_microsecond(micros).map_err(|_| corrupt(column))
}

/// Decodes an optional stored instant.
pub fn optional_timestamp(
    micros: Option<i64>,
    column: &str,
) -> Result<Option<Timestamp>, StorageError> {
    micros.map(|us| timestamp(us, column)).transpose()
}

fn label(value: &str, column: &str) -> Result<Label, StorageError> {
    Label::parse(value).map_err(|_| corrupt(column))
}

/// A corrupt-column error naming the column.
pub fn corrupt(column: &str) -> StorageError {
    StorageError::Corrupt {
        detail: format!("{column} holds a value that does not decode"),
    }
}

/// An `audit_segments` row as selected: chain, first_seq, count, records.
pub type SegmentTuple = (Uuid, i64, i64, Vec<u8>);

/// Decodes a segment row (its entries stay undecoded, see [`StoredSegment`]).
pub fn segment_from_row(row: SegmentTuple) -> Result<StoredSegment, StorageError> {
    let (chain, first_seq, count, records) = row;
    let chain = ChainId::from_uuid(chain);
    let bad = |column: &str| StorageError::Corrupt {
        detail: format!("{chain}: segment at {first_seq}: audit_segments.{column} is malformed"),
    };
    Ok(StoredSegment {
        chain,
        first_seq: u64::try_from(first_seq).map_err(|_| bad("first_seq"))?,
        count: u64::try_from(count).map_err(|_| bad("count"))?,
        records,
    })
}

/// Decodes stored terms selected as three aggregates in one row order: the
/// terms concatenated, their lengths, and their segments' first positions
/// (comma-separated; all empty when there are none). Each term is filed
/// under its segment's epoch, as the query selects.
pub fn terms_from_aggregates(
    terms: &[u8],
    lengths: &str,
    firsts: &str,
) -> Result<Vec<StoredTerm>, StorageError> {
    let bad = || StorageError::Corrupt {
        detail: String::from("audit_terms holds a malformed row"),
    };
    let mut rest = terms;
    let mut out = Vec::with_capacity(lengths.len() / 3);
    let mut firsts = firsts.split(',').filter(|f| !f.is_empty());
    for length in lengths.split(',').filter(|l| !l.is_empty()) {
        let length: usize = length.parse().map_err(|_| bad())?;
        let (term, after) = rest.split_at_checked(length).ok_or_else(bad)?;
        let first_seq: u64 = firsts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        out.push(StoredTerm {
            epoch: epoch_of(first_seq),
            term: term.to_vec(),
            first_seq,
        });
        rest = after;
    }
    if !rest.is_empty() || firsts.next().is_some() {
        return Err(bad());
    }
    Ok(out)
}

/// A chain's last segment; binds the chain. See [`tail_from_row`].
pub const AUDIT_TAIL_SEGMENT: &str = "SELECT chain, first_seq, count, records FROM audit_segments \
     WHERE chain = $1 ORDER BY first_seq DESC LIMIT 1";

/// The last event of a chain from its last segment ([`AUDIT_TAIL_SEGMENT`]).
pub fn tail_from_row(row: Option<SegmentTuple>) -> Result<Option<AuditRecord>, StorageError> {
    match row {
        None => Ok(None),
        Some(row) => Ok(crate::decode_segment(&segment_from_row(row)?)?.pop()),
    }
}

/// The length of a chain (one past its last stored position, 0 when
/// empty); binds the chain.
pub const AUDIT_CHAIN_SIZE: &str = "SELECT COALESCE((SELECT first_seq + count FROM audit_segments \
     WHERE chain = $1 ORDER BY first_seq DESC LIMIT 1), 0)";

/// Stores one checkpoint; binds chain, tree_size, root, chain_hash,
/// instant, key_id, signature in that order.
pub const INSERT_CHECKPOINT: &str = "INSERT INTO audit_checkpoints \
     (chain, tree_size, root, chain_hash, instant, key_id, signature) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The columns of `audit_checkpoints`, in [`CheckpointTuple`] order.
pub const CHECKPOINT_COLUMNS: &str =
    "chain, tree_size, root, chain_hash, instant, key_id, signature";

/// An `audit_checkpoints` row as selected by [`CHECKPOINT_COLUMNS`].
pub type CheckpointTuple = (Uuid, i64, Vec<u8>, Vec<u8>, i64, Vec<u8>, Vec<u8>);

/// Decodes a checkpoint row.
pub fn checkpoint_from_row(row: CheckpointTuple) -> Result<Checkpoint, StorageError> {
    let (chain, size, root, chain_hash, instant, key_id, signature) = row;
    let chain = ChainId::from_uuid(chain);
    let bad = |column: &str| StorageError::Corrupt {
        detail: format!("{chain}: checkpoint at {size}: audit_checkpoints.{column} is malformed"),
    };
    Ok(Checkpoint {
        head: TreeHead {
            chain,
            size: u64::try_from(size).map_err(|_| bad("tree_size"))?,
            root: <[u8; 32]>::try_from(root.as_slice()).map_err(|_| bad("root"))?,
            chain_hash: <[u8; 32]>::try_from(chain_hash.as_slice())
                .map_err(|_| bad("chain_hash"))?,
            instant: Timestamp::from_microsecond(instant).map_err(|_| bad("instant"))?,
        },
        key_id: <[u8; 8]>::try_from(key_id.as_slice()).map_err(|_| bad("key_id"))?,
        signature,
    })
}

/// A stored position (`seq`) as the database's signed integer.
pub fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
