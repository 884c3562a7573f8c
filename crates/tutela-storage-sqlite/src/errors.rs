//! Conversion of SQLite driver errors into [`StorageError`] at the trait boundary.

use sqlx::error::ErrorKind;
use tutela_storage::StorageError;

/// Maps a driver error. Details are built from error kinds and constraint
/// names only: SQLite messages can quote values, so they are not passed on.
pub(crate) fn storage_error(error: sqlx::Error) -> StorageError {
    match error {
        sqlx::Error::PoolClosed => StorageError::Unavailable {
            detail: "sqlite pool is closed".into(),
        },
        sqlx::Error::PoolTimedOut => StorageError::Unavailable {
            detail: "timed out waiting for a sqlite connection".into(),
        },
        sqlx::Error::Io(e) => StorageError::Unavailable {
            detail: format!("sqlite i/o error: {}", e.kind()),
        },
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Extended result codes (SQLITE_BUSY_SNAPSHOT = 517, …) carry the
            // primary code in their low byte.
            let primary = code.parse::<i32>().map_or(-1, |c| c & 0xff);
            match db.kind() {
                ErrorKind::UniqueViolation => StorageError::Conflict {
                    what: unique_key(db.message()),
                },
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another writer holds
                // the database past the busy timeout.
                _ if primary == 5 || primary == 6 => StorageError::Unavailable {
                    detail: format!("sqlite database is busy (code {code})"),
                },
                kind => StorageError::Backend {
                    detail: format!("sqlite error code {code} ({kind:?})"),
                },
            }
        }
        sqlx::Error::ColumnDecode { index, .. } => StorageError::Corrupt {
            detail: format!("column {index} does not decode"),
        },
        sqlx::Error::Migrate(e) => StorageError::Migration {
            detail: e.to_string(),
        },
        other => StorageError::Backend {
            detail: format!("sqlite driver error: {}", error_kind_name(&other)),
        },
    }
}

/// SQLite reports `UNIQUE constraint failed: users.username`; the column list
/// names the key, and never a value.
fn unique_key(message: &str) -> &'static str {
    if message.contains("users.username") {
        "username"
    } else if message.contains("users.id") {
        "user id"
    } else if message.contains("lead_lists.content_digest") {
        "list content"
    } else if message.contains("subject_lookups.blind") {
        "contact point"
    } else {
        "a unique key"
    }
}

fn error_kind_name(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Configuration(_) => "configuration",
        sqlx::Error::RowNotFound => "row not found",
        sqlx::Error::TypeNotFound { .. } => "type not found",
        sqlx::Error::ColumnIndexOutOfBounds { .. } => "column index out of bounds",
        sqlx::Error::ColumnNotFound(_) => "column not found",
        sqlx::Error::Decode(_) => "decode",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::WorkerCrashed => "worker crashed",
        _ => "other",
    }
}
