//! Appending to the audit trail on SQLite: one `BEGIN IMMEDIATE` transaction
//! per group commit (SQLite has one writer, so the chain is locked by the
//! transaction itself); one row per segment and one per search term
//! ([`tutela_storage::SegmentRow`]), terms in multi-row statements.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, Transaction};
use tutela_domain::audit::ChainId;
use tutela_storage::{
    AuditAppend, AuditBatch, SealOnTails, SegmentRow, StorageError, epoch_of, segment_rows,
    seq_param,
};

use crate::SqliteStore;
use crate::errors::storage_error;

/// Term rows per INSERT statement: 4 parameters each, well under SQLite's
/// limit, and few distinct statement shapes for the statement cache.
const TERMS_PER_STATEMENT: usize = 200;

#[async_trait]
impl AuditAppend for SqliteStore {
    async fn append_audit(&self, batch: &AuditBatch) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        Self::check_audit_heads(&mut tx, &batch.expected).await?;
        insert(&mut tx, batch).await?;
        tx.commit().await.map_err(storage_error)
    }

    async fn append_audit_sealed(
        &self,
        chains: &[ChainId],
        seal: &mut SealOnTails<'_>,
    ) -> Result<(), StorageError> {
        // `BEGIN IMMEDIATE` holds the database's one write lock: every
        // chain is locked until the commit.
        let mut tx = self.begin_write().await?;
        let tails = Self::audit_tails_in(&mut tx, chains).await?;
        let batch = seal(tails)?;
        Self::check_audit_heads(&mut tx, &batch.expected).await?;
        insert(&mut tx, &batch).await?;
        tx.commit().await.map_err(storage_error)
    }
}

/// Inserts the batch's segments, search terms and checkpoints.
async fn insert(tx: &mut Transaction<'_, Sqlite>, batch: &AuditBatch) -> Result<(), StorageError> {
    let segments = segment_rows(&batch.records);
    for s in &segments {
        sqlx::query(
                "INSERT INTO audit_segments (chain, first_seq, count, min_instant, max_instant, records) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(s.chain.as_uuid())
            .bind(seq_param(s.first_seq))
            .bind(seq_param(s.count))
            .bind(s.min_instant)
            .bind(s.max_instant)
            .bind(s.records.as_slice())
            .execute(&mut **tx)
            .await
            .map_err(storage_error)?;
    }
    let terms: Vec<(&SegmentRow, &Vec<u8>)> = segments
        .iter()
        .flat_map(|s| s.terms.iter().map(move |t| (s, t)))
        .collect();
    for rows in terms.chunks(TERMS_PER_STATEMENT) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO audit_terms (chain, epoch, term, first_seq) ");
        q.push_values(rows, |mut b, (s, term)| {
            b.push_bind(s.chain.as_uuid())
                .push_bind(seq_param(epoch_of(s.first_seq)))
                .push_bind(term.as_slice())
                .push_bind(seq_param(s.first_seq));
        });
        q.build().execute(&mut **tx).await.map_err(storage_error)?;
    }
    for cp in &batch.checkpoints {
        sqlx::query(tutela_storage::INSERT_CHECKPOINT)
            .bind(cp.head.chain.as_uuid())
            .bind(seq_param(cp.head.size))
            .bind(cp.head.root.as_slice())
            .bind(cp.head.chain_hash.as_slice())
            .bind(tutela_storage::micros(cp.head.instant))
            .bind(cp.key_id.as_slice())
            .bind(cp.signature.as_slice())
            .execute(&mut **tx)
            .await
            .map_err(storage_error)?;
    }
    Ok(())
}
