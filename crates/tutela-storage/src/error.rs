//! The one error type every backend converts its failures into.

/// A storage operation failed. The `detail` strings are for operators' logs:
/// backends build them from error kinds and constraint names, never from row
/// values, so they carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (connection refused, pool closed,
    /// timeout). Retrying later may succeed.
    #[error("storage unavailable: {detail}")]
    Unavailable {
        /// What failed, for the log.
        detail: String,
    },
    /// A uniqueness rule was broken; `what` names the rule (for example `username`).
    #[error("conflict on {what}")]
    Conflict {
        /// The unique key that already holds a row.
        what: &'static str,
    },
    /// The row a write refers to does not exist (or belongs to another
    /// controller, which is the same to the caller).
    #[error("no such {what}")]
    NotFound {
        /// What is missing (for example `subject`).
        what: &'static str,
    },
    /// A stored row could not be turned back into a domain value.
    #[error("stored data is corrupt: {detail}")]
    Corrupt {
        /// Which table and column, for the log.
        detail: String,
    },
    /// Migrations could not be applied, or the database holds migrations this
    /// binary does not know (a newer version wrote to it) or changed ones.
    #[error("database migration failed: {detail}")]
    Migration {
        /// What the migrator reported.
        detail: String,
    },
    /// Any other backend failure.
    #[error("storage backend error: {detail}")]
    Backend {
        /// What the backend reported, for the log.
        detail: String,
    },
}

impl StorageError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "storage_unavailable",
            Self::Conflict { .. } => "conflict",
            Self::NotFound { .. } => "not_found",
            Self::Corrupt { .. } => "storage_corrupt",
            Self::Migration { .. } => "storage_migration",
            Self::Backend { .. } => "storage_error",
        }
    }
}
