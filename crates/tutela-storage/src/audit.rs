//! Storage of the audit trail: append a sealed batch atomically, read it
//! back for verification, proofs and queries, and keep the per-subject
//! pseudonym secrets.

use async_trait::async_trait;
use tutela_domain::audit::{AuditRecord, ChainId, Checkpoint, Pseudonym};
use tutela_domain::{ControllerId, SubjectId, Timestamp};

use crate::StorageError;

/// One group commit: records of one or more chains, the checkpoints taken
/// with them, and each chain's expected length before the batch.
#[derive(Debug, Clone, Default)]
pub struct AuditBatch {
    /// Records in position order within each chain.
    pub records: Vec<AuditRecord>,
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

/// Appending to the audit trail; written per backend (batch inserts and
/// chain locking differ).
#[async_trait]
pub trait AuditAppend: Send + Sync {
    /// Stores the batch in one transaction. Each chain named in
    /// `batch.expected` is locked and must hold exactly the expected number
    /// of events, otherwise nothing is stored and the result is
    /// [`StorageError::Conflict`] (another process appended meanwhile).
    async fn append_audit(&self, batch: &AuditBatch) -> Result<(), StorageError>;
}

/// Reading the audit trail.
#[async_trait]
pub trait AuditRead: Send + Sync {
    /// The last event of `chain`, if any.
    async fn audit_tail(&self, chain: ChainId) -> Result<Option<AuditRecord>, StorageError>;

    /// Every chain's events in (chain, position) order, after `after`: the
    /// verifier's single pass over the store.
    async fn audit_scan(
        &self,
        after: Option<(ChainId, u64)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StorageError>;

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
