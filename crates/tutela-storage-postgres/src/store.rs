//! Connecting to PostgreSQL and the store's own health.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tutela_domain::Secret;
use tutela_storage::{Health, Readiness, StorageError};

use crate::errors::storage_error;

/// A pooled connection idle at least this long is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Migrations compiled into the binary; applied at open, append-only.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL implementation of [`tutela_storage::Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` and applies pending migrations. The
    /// database must exist: Tutela never creates one on a server it was pointed at.
    pub async fn open(url: &Secret) -> Result<Self, StorageError> {
        let options = PgConnectOptions::from_str(url.expose())
            .map_err(storage_error)?
            .application_name("tutela");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // The default pings every connection before each checkout: a
            // network round trip per statement, on the call decision as
            // costly as the statement itself. A connection used within the
            // last second is taken as alive; one idle for longer (the server
            // or a proxy may have dropped it) is still checked, and a failed
            // check discards it and opens another.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(storage_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| storage_error(e.into()))?;
        tracing::debug!(backend = "postgres", "storage opened and migrated");
        Ok(Self { pool })
    }
}

#[async_trait]
impl Health for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn readiness(&self) -> Result<Readiness, StorageError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
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
        self.pool.close().await;
    }
}

impl PostgresStore {
    /// After an erasure: nothing to do at once. Deleted rows leave no
    /// readable copy through the database, and autovacuum reclaims their
    /// space.
    pub(crate) async fn after_erasure(&self) {}

    /// A write transaction (read committed; each statement is atomic).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StorageError> {
        self.pool.begin().await.map_err(storage_error)
    }

    /// Prepares an import's transaction: imports of one controller take
    /// turns (a transaction-scoped advisory lock), so two imports cannot
    /// both create the person they both hold.
    pub(crate) async fn tune_import(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        controller: tutela_domain::ControllerId,
    ) -> Result<(), StorageError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('list import ' || $1::text, 0))")
            .bind(controller.0)
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    /// Serialises listening-quota claims of one campaign (a transaction-
    /// scoped advisory lock): under read committed two reviewers could
    /// otherwise both count the last listen of the month.
    pub(crate) async fn lock_quota(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        controller: tutela_domain::ControllerId,
        campaign: &tutela_domain::Campaign,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('listen quota ' || $1::text || ' ' || $2, 0))",
        )
        .bind(controller.0)
        .bind(campaign.as_str())
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(storage_error)
    }

    /// A transaction that holds the setup lock: issuing a token and completing
    /// setup read "no user yet" and then write, and user changes read "another
    /// administrator remains" and then write, so two of them must not
    /// interleave under read committed. The lock conflicts with itself only.
    pub(crate) async fn begin_setup(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query("LOCK TABLE setup_tokens IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        Ok(tx)
    }
}
