//! Tutela's embedded storage backend: one SQLite file, zero set-up.
//!
//! Opened with WAL journaling (readers never block the writer),
//! `secure_delete` (erased rows are overwritten, not left in free pages),
//! foreign keys enforced and `synchronous=FULL` (an acknowledged write survives
//! a power cut). Migrations in `migrations/` are applied at open.

mod audit;
mod errors;
mod reader;
mod store;

pub use store::SqliteStore;

/// Stored search terms as three values (see `tutela_storage::sql`). A blob
/// given to `group_concat` is appended byte for byte, and the cast gives it
/// back as a blob; every aggregate sees the rows in the same order.
const TERMS_AGGREGATES: &str = "CAST(group_concat(term, '') AS BLOB), \
     group_concat(length(term), ','), group_concat(first_seq, ',')";

tutela_storage::impl_sql_repositories!(SqliteStore, sqlx::Sqlite, errors::storage_error);
