//! Decoding rows of lead lists and the consent ledger.

use tutela_domain::{
    CallOutcome, ConsentEvent, ConsentEventId, ControllerId, CountryCode, Label, LeadList, ListId,
    Registry, RegistryRegistration, SubjectId, Timestamp,
};
use uuid::Uuid;

use crate::{StorageError, corrupt, optional_timestamp, timestamp};

/// A `lead_lists` row: id, controller id, name, provenance (JSON), default
/// region, expiry, imported at, accepted rows, rejected rows, content
/// digest, imported by, purged at.
pub type LeadListTuple = (
    Uuid,
    Uuid,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    i64,
    Vec<u8>,
    String,
    Option<i64>,
);

/// Decodes a lead list.
pub fn lead_list_from_row(row: LeadListTuple) -> Result<LeadList, StorageError> {
    let (
        id,
        controller_id,
        name,
        provenance,
        region,
        expires,
        imported,
        accepted,
        rejected,
        digest,
        by,
        purged,
    ) = row;
    Ok(LeadList {
        id: ListId(id),
        controller_id: ControllerId(controller_id),
        name: Label::parse(&name).map_err(|_| corrupt("lead_lists.name"))?,
        provenance: serde_json::from_str(&provenance)
            .map_err(|_| corrupt("lead_lists.provenance"))?,
        default_region: region
            .map(|r| CountryCode::parse(&r))
            .transpose()
            .map_err(|_| corrupt("lead_lists.default_region"))?,
        expires_at: optional_timestamp(expires, "lead_lists.expires_at")?,
        imported_at: timestamp(imported, "lead_lists.imported_at")?,
        accepted_rows: u64::try_from(accepted).map_err(|_| corrupt("lead_lists.accepted_rows"))?,
        rejected_rows: u64::try_from(rejected).map_err(|_| corrupt("lead_lists.rejected_rows"))?,
        content_digest: digest
            .try_into()
            .map_err(|_| corrupt("lead_lists.content_digest"))?,
        imported_by: by.parse().map_err(|_| corrupt("lead_lists.imported_by"))?,
        purged_at: optional_timestamp(purged, "lead_lists.purged_at")?,
    })
}

/// A `consent_events` row: id, controller id, subject id, purpose, channel,
/// action, at, recorded at, evidence (JSON), notice version, collected by,
/// collected where.
pub type ConsentEventTuple = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
);

/// A [`ConsentEventTuple`] followed by a count (registrations after it).
pub type ConsentEventWithLater = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    i64,
);

/// Decodes a consent event.
pub fn consent_event_from_row(row: ConsentEventTuple) -> Result<ConsentEvent, StorageError> {
    let (
        id,
        controller_id,
        subject_id,
        purpose,
        channel,
        action,
        at,
        recorded,
        evidence,
        notice,
        by,
        place,
    ) = row;
    Ok(ConsentEvent {
        id: ConsentEventId(id),
        controller_id: ControllerId(controller_id),
        subject_id: SubjectId(subject_id),
        purpose: purpose
            .parse()
            .map_err(|_| corrupt("consent_events.purpose"))?,
        channel: channel
            .parse()
            .map_err(|_| corrupt("consent_events.channel"))?,
        action: action
            .parse()
            .map_err(|_| corrupt("consent_events.action"))?,
        at: timestamp(at, "consent_events.at")?,
        recorded_at: timestamp(recorded, "consent_events.recorded_at")?,
        evidence: serde_json::from_str(&evidence)
            .map_err(|_| corrupt("consent_events.evidence"))?,
        notice_version: notice
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt("consent_events.notice_version"))?,
        collected_by: by
            .parse()
            .map_err(|_| corrupt("consent_events.collected_by"))?,
        collected_where: Label::parse(&place)
            .map_err(|_| corrupt("consent_events.collected_where"))?,
    })
}

/// A `registry_registrations` row: subject id, registry, at, recorded at.
pub type RegistrationTuple = (Uuid, String, i64, i64);

/// Decodes a registry registration.
pub fn registration_from_row(row: RegistrationTuple) -> Result<RegistryRegistration, StorageError> {
    let (subject_id, registry, at, recorded) = row;
    Ok(RegistryRegistration {
        subject_id: SubjectId(subject_id),
        registry: registry
            .parse()
            .map_err(|_| corrupt("registry_registrations.registry"))?,
        at: timestamp(at, "registry_registrations.at")?,
        recorded_at: timestamp(recorded, "registry_registrations.recorded_at")?,
    })
}

/// A value as the JSON stored in a text column (provenance, evidence).
pub fn json_text<T: serde::Serialize>(
    value: &T,
    column: &'static str,
) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|_| StorageError::Backend {
        detail: format!("{column} does not serialise"),
    })
}

/// A JSON text column read back.
pub fn json_value<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|_| corrupt(column))
}

/// A `lead_lists` row followed by the list's art. 14 due instant and the
/// member's notice-given instant.
pub type ListMemberTuple = (
    Uuid,
    Uuid,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    i64,
    Vec<u8>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Decodes a list with its art. 14 due instant and the member's
/// notice-given instant.
pub fn list_member_from_row(
    row: ListMemberTuple,
) -> Result<(LeadList, Option<i64>, Option<i64>), StorageError> {
    let (a, b, c, d, e, f, g, h, i, j, k, l, due, given) = row;
    Ok((
        lead_list_from_row((a, b, c, d, e, f, g, h, i, j, k, l))?,
        due,
        given,
    ))
}

/// Splits a text aggregate of `first second` pairs joined by commas (what
/// the call decision's one statement returns for outcomes and checks).
fn aggregated(text: Option<&str>) -> impl Iterator<Item = Option<(&str, &str)>> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .filter(|item| !item.is_empty())
        .map(|item| item.split_once(' '))
}

/// Decodes aggregated call outcomes, `at outcome` pairs, in their order.
pub fn aggregated_outcomes(
    text: Option<&str>,
) -> Result<Vec<(Timestamp, CallOutcome)>, StorageError> {
    aggregated(text)
        .map(|pair| {
            let (at, outcome) = pair.ok_or_else(|| corrupt("call_outcomes"))?;
            let at = at.parse().map_err(|_| corrupt("call_outcomes.at"))?;
            Ok((
                timestamp(at, "call_outcomes.at")?,
                outcome
                    .parse()
                    .map_err(|_| corrupt("call_outcomes.outcome"))?,
            ))
        })
        .collect()
}

/// Decodes aggregated latest registry checks, `registry as_of` pairs.
pub fn aggregated_checks(text: Option<&str>) -> Result<Vec<(Registry, Timestamp)>, StorageError> {
    aggregated(text)
        .map(|pair| {
            let (registry, as_of) = pair.ok_or_else(|| corrupt("list_registry_checks"))?;
            let as_of = as_of
                .parse()
                .map_err(|_| corrupt("list_registry_checks.as_of"))?;
            Ok((
                registry
                    .parse()
                    .map_err(|_| corrupt("list_registry_checks.registry"))?,
                timestamp(as_of, "list_registry_checks.as_of")?,
            ))
        })
        .collect()
}
