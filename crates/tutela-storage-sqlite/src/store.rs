//! Opening the database file and the store's own health.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tutela_storage::{Health, OpenMode, Readiness, StorageError};

use crate::errors::storage_error;

/// Migrations compiled into the binary; applied at open, append-only.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How much of the database file every connection maps (1 GiB), sqlx's
/// and the inline reader's alike.
pub(crate) const MMAP_BYTES: i64 = 1 << 30;

/// The SQLite implementation of [`tutela_storage::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The call decision's read, without sqlx's thread hop.
    pub(crate) reader: std::sync::Arc<crate::reader::InlineReader>,
}

impl SqliteStore {
    /// Opens (and with [`OpenMode::CreateIfMissing`] creates) the database at
    /// `path`, sets the pragmas Tutela relies on and applies pending migrations.
    pub async fn open(path: &Path, mode: OpenMode) -> Result<Self, StorageError> {
        if mode == OpenMode::MustExist && !path.exists() {
            return Err(StorageError::Unavailable {
                detail: format!("sqlite database {} does not exist", path.display()),
            });
        }
        if mode == OpenMode::CreateIfMissing {
            create_private_file(path)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(storage_error)?
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            // Reads map the file instead of copying each page through a
            // system call: every commit (the audit trail commits hundreds of
            // times a second) empties the other connections' page caches,
            // so the call decision's lookups would otherwise re-read every
            // page they touch.
            .pragma("mmap_size", MMAP_BYTES.to_string())
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file does not go stale the way a
            // network connection does, and the health check before each
            // checkout is a round trip to the connection's worker thread:
            // on the call decision that was one hop in four.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(storage_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| storage_error(e.into()))?;
        tracing::debug!(backend = "sqlite", "storage opened and migrated");
        Ok(Self {
            pool,
            reader: std::sync::Arc::new(crate::reader::InlineReader::new(path)),
        })
    }

    /// After an erasure: the write-ahead log still holds the pages as they
    /// were before it, person included, until a checkpoint copies them
    /// back (where `secure_delete` has zeroed the freed cells) and
    /// truncates the log. Best effort: a reader holding an old snapshot
    /// makes it a partial checkpoint, completed by the next one.
    pub(crate) async fn after_erasure(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %storage_error(e), "checkpoint after an erasure failed");
        }
    }

    /// Starts a write transaction that takes the write lock at once, so two
    /// writers queue on the busy timeout instead of one failing half-way when
    /// it tries to upgrade a read lock.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StorageError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage_error)
    }

    /// Prepares an import's transaction: a larger page cache for its
    /// connection (bounded, so memory stays flat), because blind indexes
    /// land all over their B-tree. `BEGIN IMMEDIATE` already makes imports
    /// take turns.
    pub(crate) async fn tune_import(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _controller: tutela_domain::ControllerId,
    ) -> Result<(), StorageError> {
        sqlx::query("PRAGMA cache_size = -131072")
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    /// Nothing to do: a `BEGIN IMMEDIATE` transaction already excludes
    /// every other writer, so quota claims cannot interleave.
    pub(crate) async fn lock_quota(
        &self,
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _controller: tutela_domain::ControllerId,
        _campaign: &tutela_domain::Campaign,
    ) -> Result<(), StorageError> {
        Ok(())
    }

    /// A serialised write transaction: SQLite has one writer at a time, so
    /// every write transaction already is one.
    pub(crate) async fn begin_setup(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StorageError> {
        self.begin_write().await
    }
}

#[async_trait]
impl Health for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn readiness(&self) -> Result<Readiness, StorageError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await
                .map_err(storage_error)?;
        let shipped = MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version);
        Ok(Readiness::from_versions(shipped, &applied))
    }

    async fn close(&self) {
        self.reader.close();
        self.pool.close().await;
    }
}

/// Creates an empty database file readable by its owner only (SQLite gives
/// its `-wal` and `-shm` files the same mode). An existing file is left as is.
fn create_private_file(path: &Path) -> Result<(), StorageError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StorageError::Unavailable {
            detail: format!("cannot create {}: {}", path.display(), e.kind()),
        }),
    }
}
