//! Conversion of PostgreSQL driver errors into [`StorageError`] at the trait boundary.

use tutela_storage::StorageError;

/// Maps a driver error by SQLSTATE. PostgreSQL messages can quote row values
/// (`Key (username)=(...) already exists`), so they are never passed on.
pub(crate) fn storage_error(error: sqlx::Error) -> StorageError {
    match error {
        sqlx::Error::PoolClosed => StorageError::Unavailable {
            detail: "postgres pool is closed".into(),
        },
        sqlx::Error::PoolTimedOut => StorageError::Unavailable {
            detail: "timed out waiting for a postgres connection".into(),
        },
        sqlx::Error::Io(e) => StorageError::Unavailable {
            detail: format!("postgres i/o error: {}", e.kind()),
        },
        sqlx::Error::Tls(_) => StorageError::Unavailable {
            detail: "postgres TLS handshake failed".into(),
        },
        sqlx::Error::Database(db) => {
            let state = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match state.as_str() {
                "23505" => StorageError::Conflict {
                    what: unique_key(db.constraint()),
                },
                // Connection exceptions, shutdown, resource exhaustion and
                // serialization failures: the database is there but cannot
                // serve this now; a retry may succeed.
                s if s.starts_with("08")
                    || s.starts_with("53")
                    || s.starts_with("57P")
                    || s == "40001"
                    || s == "40P01" =>
                {
                    StorageError::Unavailable {
                        detail: format!("postgres unavailable (SQLSTATE {s})"),
                    }
                }
                s => StorageError::Backend {
                    detail: format!("postgres error (SQLSTATE {s})"),
                },
            }
        }
        sqlx::Error::ColumnDecode { index, .. } => StorageError::Corrupt {
            detail: format!("column {index} does not decode"),
        },
        sqlx::Error::Migrate(e) => StorageError::Migration {
            detail: e.to_string(),
        },
        sqlx::Error::Configuration(_) => StorageError::Unavailable {
            detail: "postgres connection settings are invalid".into(),
        },
        _ => StorageError::Backend {
            detail: "postgres driver error".into(),
        },
    }
}

fn unique_key(constraint: Option<&str>) -> &'static str {
    match constraint {
        Some("users_username_key") => "username",
        Some("users_pkey") => "user id",
        Some("lead_lists_controller_id_content_digest_key") => "list content",
        Some("subject_lookups_pkey") => "contact point",
        _ => "a unique key",
    }
}
