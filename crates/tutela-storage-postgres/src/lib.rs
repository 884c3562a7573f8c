//! Tutela's storage backend on PostgreSQL, for deployments beyond one machine.
//!
//! Same schema and behaviour as the SQLite backend (the conformance suite
//! proves it); migrations in `migrations/` are applied at open.

mod audit;
mod errors;
mod store;

pub use store::PostgresStore;

/// Stored search terms as one text (see `tutela_storage::sql`).
const TERMS_TEXT_LIST: &str =
    "string_agg(first_seq || ':' || epoch || ':' || encode(term, 'hex'), ',')";

tutela_storage::impl_sql_repositories!(PostgresStore, sqlx::Postgres, errors::storage_error);
