//! Appending to the audit trail on PostgreSQL: one transaction per group
//! commit, each chain locked with a transaction-scoped advisory lock (so two
//! nodes appending to one chain queue instead of colliding); segments and
//! search terms ([`tutela_storage::SegmentRow`]) each in one
//! `INSERT … SELECT FROM UNNEST` statement.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};
use tutela_domain::audit::ChainId;
use tutela_storage::{
    AuditAppend, AuditBatch, INSERT_CHECKPOINT, SealOnTails, StorageError, epoch_of, micros,
    segment_rows, seq_param,
};
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
        let chains: Vec<ChainId> = batch.expected.iter().map(|(c, _)| *c).collect();
        lock_chains(&mut tx, &chains).await?;
        Self::check_audit_heads(&mut tx, &batch.expected).await?;
        insert(&mut tx, batch).await?;
        tx.commit().await.map_err(storage_error)
    }

    async fn append_audit_sealed(
        &self,
        chains: &[ChainId],
        seal: &mut SealOnTails<'_>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        lock_chains(&mut tx, chains).await?;
        let tails = Self::audit_tails_in(&mut tx, chains).await?;
        let batch = seal(tails)?;
        // Holds unless `seal` appended to a chain it was not given.
        Self::check_audit_heads(&mut tx, &batch.expected).await?;
        insert(&mut tx, &batch).await?;
        tx.commit().await.map_err(storage_error)
    }
}

/// Takes each chain's transaction-scoped advisory lock, in one fixed order
/// so that two transactions over the same chains cannot deadlock.
async fn lock_chains(
    tx: &mut Transaction<'_, Postgres>,
    chains: &[ChainId],
) -> Result<(), StorageError> {
    let mut keys: Vec<i64> = chains.iter().map(|c| lock_key(*c)).collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query("SELECT pg_advisory_xact_lock(k) FROM UNNEST($1::int8[]) AS k ORDER BY k")
        .bind(keys)
        .execute(&mut **tx)
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Inserts the batch's segments, search terms and checkpoints.
async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    batch: &AuditBatch,
) -> Result<(), StorageError> {
    let segments = segment_rows(&batch.records);
    let s = &segments;
    sqlx::query(
            "INSERT INTO audit_segments (chain, first_seq, count, min_instant, max_instant, records) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])",
        )
        .bind(s.iter().map(|s| s.chain.as_uuid()).collect::<Vec<Uuid>>())
        .bind(s.iter().map(|s| seq_param(s.first_seq)).collect::<Vec<i64>>())
        .bind(s.iter().map(|s| seq_param(s.count)).collect::<Vec<i64>>())
        .bind(s.iter().map(|s| s.min_instant).collect::<Vec<i64>>())
        .bind(s.iter().map(|s| s.max_instant).collect::<Vec<i64>>())
        .bind(s.iter().map(|s| s.records.as_slice()).collect::<Vec<&[u8]>>())
        .execute(&mut **tx)
        .await
        .map_err(storage_error)?;
    let terms: Vec<(Uuid, i64, &[u8], i64)> = segments
        .iter()
        .flat_map(|s| {
            s.terms.iter().map(move |t| {
                (
                    s.chain.as_uuid(),
                    seq_param(epoch_of(s.first_seq)),
                    t.as_slice(),
                    seq_param(s.first_seq),
                )
            })
        })
        .collect();
    sqlx::query(
        "INSERT INTO audit_terms (chain, epoch, term, first_seq) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[], $4::int8[])",
    )
    .bind(terms.iter().map(|t| t.0).collect::<Vec<Uuid>>())
    .bind(terms.iter().map(|t| t.1).collect::<Vec<i64>>())
    .bind(terms.iter().map(|t| t.2).collect::<Vec<&[u8]>>())
    .bind(terms.iter().map(|t| t.3).collect::<Vec<i64>>())
    .execute(&mut **tx)
    .await
    .map_err(storage_error)?;
    for cp in &batch.checkpoints {
        sqlx::query(INSERT_CHECKPOINT)
            .bind(cp.head.chain.as_uuid())
            .bind(seq_param(cp.head.size))
            .bind(cp.head.root.as_slice())
            .bind(cp.head.chain_hash.as_slice())
            .bind(micros(cp.head.instant))
            .bind(cp.key_id.as_slice())
            .bind(cp.signature.as_slice())
            .execute(&mut **tx)
            .await
            .map_err(storage_error)?;
    }
    Ok(())
}
