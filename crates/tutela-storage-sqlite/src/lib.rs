//! Tutela's embedded storage backend: one SQLite file, zero set-up.
//!
//! Opened with WAL journaling (readers never block the writer),
//! `secure_delete` (erased rows are overwritten, not left in free pages),
//! foreign keys enforced and `synchronous=FULL` (an acknowledged write survives
//! a power cut). Migrations in `migrations/` are applied at open.

mod audit;
mod errors;
mod store;

pub use store::SqliteStore;

/// Stored search terms as one text (see `tutela_storage::sql`).
const TERMS_TEXT_LIST: &str = "group_concat(first_seq || ':' || epoch || ':' || hex(term), ',')";

tutela_storage::impl_sql_repositories!(SqliteStore, sqlx::Sqlite, errors::storage_error);
