//! Appending to the audit trail on SQLite: one `BEGIN IMMEDIATE` transaction
//! per group commit (SQLite has one writer, so the chain is locked by the
//! transaction itself), rows inserted in multi-row statements.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use tutela_domain::audit::{AuditRecord, Checkpoint};
use tutela_storage::{AuditAppend, AuditBatch, StorageError, micros, seq_param};

use crate::SqliteStore;
use crate::errors::storage_error;

/// Rows per INSERT statement: 10 parameters each, well under SQLite's limit,
/// and few enough distinct statement shapes for the statement cache.
const ROWS_PER_STATEMENT: usize = 100;

#[async_trait]
impl AuditAppend for SqliteStore {
    async fn append_audit(&self, batch: &AuditBatch) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        for (chain, expected) in &batch.expected {
            let (held,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events WHERE chain = $1",
            )
            .bind(chain.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
            if held != seq_param(*expected) {
                return Err(StorageError::Conflict {
                    what: "audit chain head",
                });
            }
        }
        for rows in batch.records.chunks(ROWS_PER_STATEMENT) {
            insert_events(rows)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        for cp in &batch.checkpoints {
            insert_checkpoint(cp)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)
    }
}

fn insert_events(rows: &[AuditRecord]) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO audit_events (chain, seq, instant, actor, action, object, subject, body, chain_hash, seal) ",
    );
    q.push_values(rows, |mut b, r| {
        b.push_bind(r.chain.as_uuid())
            .push_bind(seq_param(r.seq))
            .push_bind(micros(r.index.instant))
            .push_bind(r.index.actor.as_str())
            .push_bind(r.index.action.as_str())
            .push_bind(r.index.object.as_deref())
            .push_bind(r.index.subject.map(|s| s.0.to_vec()))
            .push_bind(r.body.as_slice())
            .push_bind(r.chain_hash.as_slice())
            .push_bind(r.seal.as_deref());
    });
    q
}

fn insert_checkpoint(
    cp: &Checkpoint,
) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (chain, tree_size, root, chain_hash, instant, key_id, signature) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(cp.head.chain.as_uuid())
    .bind(seq_param(cp.head.size))
    .bind(cp.head.root.as_slice())
    .bind(cp.head.chain_hash.as_slice())
    .bind(micros(cp.head.instant))
    .bind(cp.key_id.as_slice())
    .bind(cp.signature.as_slice())
}
