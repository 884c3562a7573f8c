//! Tutela's storage backend on PostgreSQL, for deployments beyond one machine.
//!
//! Same schema and behaviour as the SQLite backend (the conformance suite
//! proves it); migrations in `migrations/` are applied at open.

mod audit;
mod errors;
mod store;

pub use store::PostgresStore;

/// Stored search terms as three values (see `tutela_storage::sql`); every
/// aggregate of one query level sees the rows in the same order.
const TERMS_AGGREGATES: &str = "string_agg(term, ''::bytea), \
     string_agg(length(term)::text, ','), string_agg(first_seq::text, ',')";

tutela_storage::impl_sql_repositories!(PostgresStore, sqlx::Postgres, errors::storage_error);
tutela_storage::__impl_sqlx_call_record!(PostgresStore, sqlx::Postgres, errors::storage_error);
tutela_storage::__impl_sqlx_audit_scan!(PostgresStore, errors::storage_error);
