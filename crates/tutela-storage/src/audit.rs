//! Storage of the audit trail: append a sealed batch atomically, read it
//! back for verification, proofs and queries, and keep the per-subject
//! pseudonym secrets.

use async_trait::async_trait;
use tutela_domain::audit::{AuditIndex, AuditRecord, ChainId, Checkpoint, Pseudonym};
use tutela_domain::{ControllerId, SubjectId, Timestamp};

use crate::StorageError;
use crate::audit_segment::{IndexedRecord, StoredSegment};

/// One group commit: records of one or more chains, the checkpoints taken
/// with them, and each chain's expected length before the batch.
#[derive(Debug, Clone, Default)]
pub struct AuditBatch {
    /// Records in position order within each chain, with their search facts.
    pub records: Vec<IndexedRecord>,
    /// Checkpoints to store with them.
    pub checkpoints: Vec<Checkpoint>,
    /// For each chain in the batch, how many events it must hold before the
    /// batch. Empty only for benchmarks of plain inserts.
    pub expected: Vec<(ChainId, u64)>,
}

/// Filters of an audit query; every filter set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events about this subject.
    pub subject: Option<Pseudonym>,
    /// Events by this actor (`user:<uuid>`, `client:<uuid>`, …).
    pub actor: Option<String>,
    /// Events about this object (`kind` or `kind:id`).
    pub object: Option<String>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Strictly before this instant.
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    /// Whether an event with these search facts matches every filter set.
    pub fn matches(&self, index: &AuditIndex) -> bool {
        self.subject.is_none_or(|s| index.subject == Some(s))
            && self.actor.as_ref().is_none_or(|a| *a == index.actor)
            && self
                .object
                .as_ref()
                .is_none_or(|o| index.object.as_ref() == Some(o))
            && self.from.is_none_or(|t| index.instant >= t)
            && self.until.is_none_or(|t| index.instant < t)
    }

    /// The most selective search term among the filters (subject, then
    /// object, then actor), if any.
    pub fn term(&self) -> Option<Vec<u8>> {
        if let Some(s) = &self.subject {
            Some(AuditIndex::subject_term(s))
        } else if let Some(o) = &self.object {
            Some(AuditIndex::object_term(o))
        } else {
            self.actor.as_deref().map(AuditIndex::actor_term)
        }
    }
}

/// A stored search term: the epoch and the first position of the segment
/// whose events hold it. Ordered as the terms table's key (epoch, term,
/// segment), so a sorted list is searched as the table is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredTerm {
    /// The epoch it is filed under.
    pub epoch: u64,
    /// The term ([`AuditIndex::terms`]).
    pub term: Vec<u8>,
    /// The segment's first position.
    pub first_seq: u64,
}

/// Appending to the audit trail; written per backend (batch inserts and
/// chain locking differ).
#[async_trait]
pub trait AuditAppend: Send + Sync {
    /// Stores the batch in one transaction. Each chain named in
    /// `batch.expected` is locked and must hold exactly the expected number
    /// of events, otherwise nothing is stored and the result is
    /// [`StorageError::Conflict`] (another process appended meanwhile).
    async fn append_audit(&self, batch: &AuditBatch) -> Result<(), StorageError>;

    /// Locks `chains`, reads their stored tails, has `seal` build the batch
    /// on those tails, and stores it, all in one transaction: it cannot be
    /// overtaken by another process, at the price of sealing while the
    /// locks are held. For a batch refused with a conflict.
    async fn append_audit_sealed(
        &self,
        chains: &[ChainId],
        seal: &mut SealOnTails<'_>,
    ) -> Result<(), StorageError>;
}

/// Each chain's last stored event (`None` if empty), read under its lock.
pub type ChainTails = Vec<(ChainId, Option<AuditRecord>)>;

/// Builds a batch on [`ChainTails`] (see [`AuditAppend::append_audit_sealed`]).
pub type SealOnTails<'a> = dyn FnMut(ChainTails) -> Result<AuditBatch, StorageError> + Send + 'a;

/// Reading the audit trail.
#[async_trait]
pub trait AuditRead: Send + Sync {
    /// The last event of `chain`, if any.
    async fn audit_tail(&self, chain: ChainId) -> Result<Option<AuditRecord>, StorageError>;

    /// Every chain's segments in (chain, first position) order, after the
    /// segment `after` names by chain and first position, at most `limit`:
    /// the verifier's single pass over the store. Undecoded, so a malformed
    /// segment is the verifier's finding, not a read error.
    async fn audit_scan(
        &self,
        after: Option<(ChainId, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredSegment>, StorageError>;

    /// The stored search terms of `chain`'s segments whose first position is
    /// in `first..=last`, each filed under its segment's epoch (a term filed
    /// elsewhere is invisible to queries, so here too), sorted; the verifier
    /// compares them with the events.
    async fn audit_terms(
        &self,
        chain: ChainId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredTerm>, StorageError>;

    /// Events of `chain` from position `from` on, in order.
    async fn audit_range(
        &self,
        chain: ChainId,
        from: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StorageError>;

    /// Events of `chain` matching `filter`, after position `after`, in order.
    async fn audit_query(
        &self,
        chain: ChainId,
        filter: &AuditFilter,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StorageError>;

    /// Checkpoints of `chain` (of every chain with `None`), by chain and size.
    async fn audit_checkpoints(
        &self,
        chain: Option<ChainId>,
    ) -> Result<Vec<Checkpoint>, StorageError>;

    /// The pseudonym secrets of these subjects of `controller` (erased or
    /// unknown subjects are absent).
    async fn subject_audit_secrets(
        &self,
        controller: ControllerId,
        subjects: &[SubjectId],
    ) -> Result<Vec<(SubjectId, Vec<u8>)>, StorageError>;
}
