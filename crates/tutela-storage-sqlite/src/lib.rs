//! Tutela's embedded storage backend: one SQLite file, zero set-up.
//!
//! Opened with WAL journaling (readers never block the writer),
//! `secure_delete` (erased rows are overwritten, not left in free pages),
//! foreign keys enforced and `synchronous=FULL` (an acknowledged write survives
//! a power cut). Migrations in `migrations/` are applied at open.

mod audit;
mod audit_reader;
mod errors;
mod reader;
mod store;

pub use store::SqliteStore;

tutela_storage::impl_sql_repositories!(SqliteStore, sqlx::Sqlite, errors::storage_error);
