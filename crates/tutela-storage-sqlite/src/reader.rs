//! The call decision's read on the request's own thread.
//!
//! sqlx runs every SQLite statement on a worker thread per connection, so
//! each statement is two thread hops and their wake-ups; under a dialer's
//! load that cost about 110 µs of CPU per decision, several times the
//! statement itself on a memory-mapped file. The decision's one
//! statement therefore runs here, through rusqlite on the same
//! `libsqlite3-sys` as sqlx, on a small pool of query-only connections to
//! the same file. It blocks the async worker for the statement's duration,
//! which is the same as doing that much computing inline. Verification's
//! whole-store reads use these connections too (`audit_reader.rs`, on a
//! blocking thread). Everything else, writes included, stays on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tutela_domain::{BlindIndex, ControllerId, Language, Timestamp};
use tutela_storage::{
    CALL_RECORD_SQL, CallRecord, CallRecordRow, ConsentAsk, StorageError, call_record_from_rows,
    micros, uuid_from_bytes,
};

use crate::SqliteStore;

/// Idle connections kept; more are opened under a burst and closed after.
const KEEP_IDLE: usize = 8;

/// Query-only connections to the store's file.
#[derive(Debug)]
pub(crate) struct InlineReader {
    path: PathBuf,
    /// Idle connections; `None` once closed.
    idle: Mutex<Option<Vec<Connection>>>,
}

impl InlineReader {
    /// A reader of the database at `path` (connections open on first use).
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Some(Vec::new())),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Option<Vec<Connection>>> {
        // Connections are pushed and popped whole; a panic elsewhere while
        // the lock was held cannot leave one half-moved.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(&self) -> Result<Connection, StorageError> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(reader_error)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(reader_error)?;
        // The same mapping as the sqlx connections, and no writes at all.
        connection
            .pragma_update(None, "mmap_size", crate::store::MMAP_BYTES)
            .map_err(reader_error)?;
        connection
            .pragma_update(None, "query_only", true)
            .map_err(reader_error)?;
        Ok(connection)
    }

    /// Runs `read` on an idle connection (or a new one) and keeps the
    /// connection for the next read unless the read failed.
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let taken = match self.idle().as_mut() {
            Some(idle) => idle.pop(),
            None => return Err(closed()),
        };
        let connection = match taken {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        if result.is_ok()
            && let Some(idle) = self.idle().as_mut()
            && idle.len() < KEEP_IDLE
        {
            idle.push(connection);
        }
        result
    }

    /// Closes every idle connection now (one in use closes when its read
    /// ends); later reads fail as unavailable. A connection left open
    /// would keep the old write-ahead log and could write it back into a
    /// database file replaced after the store was closed.
    pub(crate) fn close(&self) {
        self.idle().take();
    }
}

/// A row of the decision's statement, owned.
struct OwnedRow(Vec<rusqlite::types::Value>);

impl OwnedRow {
    fn value(&self, index: usize) -> Result<&rusqlite::types::Value, StorageError> {
        self.0.get(index).ok_or_else(|| StorageError::Corrupt {
            detail: format!("call record has no column {index}"),
        })
    }
}

fn closed() -> StorageError {
    StorageError::Unavailable {
        detail: "sqlite store is closed".into(),
    }
}

fn mismatch(index: usize) -> StorageError {
    StorageError::Corrupt {
        detail: format!("call record column {index} has an unexpected type"),
    }
}

impl CallRecordRow for OwnedRow {
    fn uuid(&self, index: usize) -> Result<Option<uuid::Uuid>, StorageError> {
        match self.value(index)? {
            rusqlite::types::Value::Null => Ok(None),
            rusqlite::types::Value::Blob(bytes) => uuid_from_bytes(bytes, index).map(Some),
            _ => Err(mismatch(index)),
        }
    }

    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, StorageError> {
        match self.value(index)? {
            rusqlite::types::Value::Null => Ok(None),
            rusqlite::types::Value::Blob(bytes) => Ok(Some(bytes.clone())),
            _ => Err(mismatch(index)),
        }
    }

    fn text(&self, index: usize) -> Result<Option<String>, StorageError> {
        match self.value(index)? {
            rusqlite::types::Value::Null => Ok(None),
            rusqlite::types::Value::Text(text) => Ok(Some(text.clone())),
            _ => Err(mismatch(index)),
        }
    }

    fn int(&self, index: usize) -> Result<Option<i64>, StorageError> {
        match self.value(index)? {
            rusqlite::types::Value::Null => Ok(None),
            rusqlite::types::Value::Integer(value) => Ok(Some(*value)),
            _ => Err(mismatch(index)),
        }
    }
}

impl SqliteStore {
    /// The call record in one statement, on this thread.
    pub(crate) async fn read_call_record(
        &self,
        controller: ControllerId,
        blind: BlindIndex,
        since: Timestamp,
        language: Option<Language>,
        consent: Option<ConsentAsk<'_>>,
    ) -> Result<CallRecord, StorageError> {
        let rows = self.reader.with(|connection| {
            let mut statement = connection
                .prepare_cached(CALL_RECORD_SQL)
                .map_err(reader_error)?;
            let at = micros(consent.map_or(Timestamp::MIN, |c| c.at));
            // Named, not positional: SQLite numbers `$N` parameters in the
            // order they first appear, which is not N here.
            let params: [(&str, &dyn rusqlite::ToSql); 7] = [
                ("$1", &controller.0.as_bytes().as_slice()),
                ("$2", &blind.0.as_slice()),
                ("$3", &micros(since)),
                ("$4", &language.map(|l| l.as_str())),
                ("$5", &consent.map(|c| c.purpose.as_str())),
                ("$6", &consent.map(|c| c.channel.as_str())),
                ("$7", &at),
            ];
            let columns = statement.column_count();
            let mut rows = statement.query(params.as_slice()).map_err(reader_error)?;
            let mut owned = Vec::new();
            while let Some(row) = rows.next().map_err(reader_error)? {
                let values = (0..columns)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(reader_error)?;
                owned.push(OwnedRow(values));
            }
            Ok(owned)
        })?;
        call_record_from_rows(&rows)
    }
}

/// Maps a rusqlite error by kind and code only: SQLite messages can quote
/// values, so they are not passed on.
pub(crate) fn reader_error(error: rusqlite::Error) -> StorageError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StorageError::Unavailable {
                detail: "sqlite database is busy (inline reader)".into(),
            }
        }
        Some(code) => StorageError::Backend {
            detail: format!("sqlite error {code:?} (inline reader)"),
        },
        None => StorageError::Backend {
            detail: "sqlite inline reader failed".into(),
        },
    }
}
