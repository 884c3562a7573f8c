//! The SQL both backends share, written once.
//!
//! SQLite and PostgreSQL accept the same `$N` placeholders and the same SQL
//! for these repositories, so the implementations are generated for each
//! backend from this one text. A macro rather than generic code: a function
//! generic over `sqlx::Database` needs higher-ranked bounds on every bound
//! type and executor, which cost more to read than they save. This crate does
//! not depend on sqlx: the expansion names `::sqlx` in the backend crate.
//!
//! The backend's store type must provide:
//! - a field `pool` (a sqlx pool of its database),
//! - `async fn begin_write(&self) -> Result<sqlx::Transaction<'static, DB>, StorageError>`:
//!   a write transaction (`BEGIN IMMEDIATE` on SQLite, so two writers queue
//!   instead of failing on a lock upgrade),
//! - `async fn begin_setup(&self) -> Result<sqlx::Transaction<'static, DB>, StorageError>`:
//!   a write transaction serialised with every other such transaction, for
//!   the rules that read and then write across rows ("no user yet", "one
//!   administrator remains"): `BEGIN IMMEDIATE` on SQLite, a table lock on
//!   PostgreSQL,
//! - a function `fn(sqlx::Error) -> StorageError`, passed as the last macro
//!   argument, that maps driver errors without quoting row values,
//! - inherent `read_call_record`, `read_audit_scan` and `read_audit_terms`
//!   (what the shared `call_record`, `audit_scan` and `audit_terms` call):
//!   the reads each backend runs its fastest way. `__impl_sqlx_call_record!`
//!   and `__impl_sqlx_audit_scan!` write them through sqlx; the latter then
//!   needs a constant `TERMS_AGGREGATES: &str` at the backend crate's root:
//!   three aggregates over `audit_terms` rows, in one row order: the terms
//!   concatenated as one blob, their lengths and their segments' first
//!   positions as comma-separated text (see [`crate::terms_from_aggregates`]).

/// Implements every repository trait for a backend store type:
/// `impl_sql_repositories!(SqliteStore, sqlx::Sqlite, errors::storage_error)`.
/// See the module documentation for what the store must provide.
#[macro_export]
macro_rules! impl_sql_repositories {
    ($store:ty, $db:ty, $storage_error:path) => {
        $crate::__impl_setup_sql!($store, $db, $storage_error);
        $crate::__impl_user_sql!($store, $db, $storage_error);
        $crate::__impl_session_sql!($store, $db, $storage_error);
        $crate::__impl_client_sql!($store, $db, $storage_error);
        $crate::__impl_controller_sql!($store, $db, $storage_error);
        $crate::__impl_subject_sql!($store, $db, $storage_error);
        $crate::__impl_list_sql!($store, $db, $storage_error);
        $crate::__impl_consent_sql!($store, $db, $storage_error);
        $crate::__impl_notice_sql!($store, $db, $storage_error);
        $crate::__impl_audit_sql!($store, $db, $storage_error);
        $crate::__impl_call_sql!($store, $db, $storage_error);
        $crate::__impl_recording_sql!($store, $db, $storage_error);
        $crate::__impl_request_sql!($store, $db, $storage_error);
    };
}
