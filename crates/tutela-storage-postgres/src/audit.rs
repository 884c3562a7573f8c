//! Appending to the audit trail on PostgreSQL: one transaction per group
//! commit, each chain locked with a transaction-scoped advisory lock (so two
//! nodes appending to one chain queue instead of colliding), all rows in one
//! `INSERT … SELECT FROM UNNEST` statement.

use async_trait::async_trait;
use tutela_domain::audit::ChainId;
use tutela_storage::{AuditAppend, AuditBatch, StorageError, micros, seq_param};
use uuid::Uuid;

use crate::PostgresStore;
use crate::errors::storage_error;

/// The advisory lock key of a chain: its UUID folded to 64 bits.
fn lock_key(chain: ChainId) -> i64 {
    let (high, low) = chain.as_uuid().as_u64_pair();
    i64::from_be_bytes((high ^ low).to_be_bytes())
}

#[async_trait]
impl AuditAppend for PostgresStore {
    async fn append_audit(&self, batch: &AuditBatch) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        let mut expected = batch.expected.clone();
        // A fixed lock order, so two batches over the same chains cannot deadlock.
        expected.sort_by_key(|(chain, _)| *chain);
        for (chain, size) in &expected {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_key(*chain))
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
            let (held,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events WHERE chain = $1",
            )
            .bind(chain.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
            if held != seq_param(*size) {
                return Err(StorageError::Conflict {
                    what: "audit chain head",
                });
            }
        }
        let r = &batch.records;
        let chains: Vec<Uuid> = r.iter().map(|r| r.chain.as_uuid()).collect();
        let seqs: Vec<i64> = r.iter().map(|r| seq_param(r.seq)).collect();
        let instants: Vec<i64> = r.iter().map(|r| micros(r.index.instant)).collect();
        let actors: Vec<&str> = r.iter().map(|r| r.index.actor.as_str()).collect();
        let actions: Vec<&str> = r.iter().map(|r| r.index.action.as_str()).collect();
        let objects: Vec<Option<&str>> = r.iter().map(|r| r.index.object.as_deref()).collect();
        let subjects: Vec<Option<Vec<u8>>> = r
            .iter()
            .map(|r| r.index.subject.map(|s| s.0.to_vec()))
            .collect();
        let bodies: Vec<&[u8]> = r.iter().map(|r| r.body.as_slice()).collect();
        let hashes: Vec<&[u8]> = r.iter().map(|r| r.chain_hash.as_slice()).collect();
        let seals: Vec<Option<&[u8]>> = r.iter().map(|r| r.seal.as_deref()).collect();
        sqlx::query(
            "INSERT INTO audit_events (chain, seq, instant, actor, action, object, subject, body, chain_hash, seal) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::text[], $5::text[], \
                                  $6::text[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[])",
        )
        .bind(chains)
        .bind(seqs)
        .bind(instants)
        .bind(actors)
        .bind(actions)
        .bind(objects)
        .bind(subjects)
        .bind(bodies)
        .bind(hashes)
        .bind(seals)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        for cp in &batch.checkpoints {
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
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)
    }
}
