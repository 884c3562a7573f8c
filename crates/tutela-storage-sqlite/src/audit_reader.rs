//! Verification's whole-store reads (`audit_scan`, `audit_terms`) through
//! the inline reader's rusqlite connections instead of sqlx.
//!
//! Why: through sqlx every row came back as a message from the connection's
//! worker thread, and the terms had to be folded into three aggregate values
//! (lengths and positions formatted as text) to keep that affordable; the
//! reading threads then used about as much CPU as the checking
//! (BENCHMARKS.md). Here rows are read straight off the statement, on a
//! blocking thread so the async workers stay free.

use tutela_domain::audit::ChainId;
use tutela_storage::{
    EPOCH_EVENTS, SegmentTuple, StorageError, StoredSegment, StoredTerm, epoch_of,
    segment_from_row, seq_param,
};

use crate::SqliteStore;
use crate::reader::reader_error;

const SCAN_FIRST: &str = "SELECT chain, first_seq, count, records FROM audit_segments \
     ORDER BY chain, first_seq LIMIT ?1";

const SCAN_AFTER: &str = "SELECT chain, first_seq, count, records FROM audit_segments \
     WHERE chain > ?1 OR (chain = ?1 AND first_seq > ?2) ORDER BY chain, first_seq LIMIT ?3";

/// Bounded by epoch so the primary key narrows the scan, and in its order
/// (epoch, term, first position): already sorted.
const TERMS: &str = "SELECT epoch, term, first_seq FROM audit_terms \
     WHERE chain = ?1 AND epoch >= ?2 AND epoch <= ?3 \
     AND first_seq >= ?4 AND first_seq <= ?5 AND epoch = first_seq / ?6 \
     ORDER BY epoch, term, first_seq";

fn corrupt(column: &str) -> StorageError {
    StorageError::Corrupt {
        detail: format!("audit table column {column} is malformed"),
    }
}

fn non_negative(value: i64, column: &str) -> Result<u64, StorageError> {
    u64::try_from(value).map_err(|_| corrupt(column))
}

impl SqliteStore {
    /// A page of segments after `after`, in (chain, position) order.
    pub(crate) async fn read_audit_scan(
        &self,
        after: Option<(ChainId, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredSegment>, StorageError> {
        let reader = self.reader.clone();
        let rows = tokio::task::spawn_blocking(move || {
            reader.with(|connection| {
                let mut statement = connection
                    .prepare_cached(if after.is_some() {
                        SCAN_AFTER
                    } else {
                        SCAN_FIRST
                    })
                    .map_err(reader_error)?;
                let limit = i64::from(limit);
                let chain;
                let params: Vec<&dyn rusqlite::ToSql> = match &after {
                    None => vec![&limit],
                    Some((c, first)) => {
                        chain = (c.as_uuid().as_bytes().to_vec(), seq_param(*first));
                        vec![&chain.0, &chain.1, &limit]
                    }
                };
                let mut rows = statement.query(params.as_slice()).map_err(reader_error)?;
                let mut out: Vec<SegmentTuple> = Vec::new();
                while let Some(row) = rows.next().map_err(reader_error)? {
                    let chain: Vec<u8> = row.get(0).map_err(reader_error)?;
                    let chain = uuid::Uuid::from_slice(&chain).map_err(|_| corrupt("chain"))?;
                    out.push((
                        chain,
                        row.get(1).map_err(reader_error)?,
                        row.get(2).map_err(reader_error)?,
                        row.get(3).map_err(reader_error)?,
                    ));
                }
                Ok(out)
            })
        })
        .await
        .map_err(joined)??;
        rows.into_iter().map(segment_from_row).collect()
    }

    /// The stored terms of `chain`'s segments from `first` to `last`, each
    /// filed under its segment's epoch, sorted.
    pub(crate) async fn read_audit_terms(
        &self,
        chain: ChainId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredTerm>, StorageError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            reader.with(|connection| {
                let mut statement = connection.prepare_cached(TERMS).map_err(reader_error)?;
                let chain = chain.as_uuid().as_bytes().to_vec();
                let params: [&dyn rusqlite::ToSql; 6] = [
                    &chain,
                    &seq_param(epoch_of(first)),
                    &seq_param(epoch_of(last)),
                    &seq_param(first),
                    &seq_param(last),
                    &seq_param(EPOCH_EVENTS),
                ];
                let mut rows = statement.query(params.as_slice()).map_err(reader_error)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(reader_error)? {
                    let term = match row.get_ref(1).map_err(reader_error)? {
                        rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                        _ => return Err(corrupt("audit_terms.term")),
                    };
                    out.push(StoredTerm {
                        epoch: non_negative(
                            row.get(0).map_err(reader_error)?,
                            "audit_terms.epoch",
                        )?,
                        term,
                        first_seq: non_negative(
                            row.get(2).map_err(reader_error)?,
                            "audit_terms.first_seq",
                        )?,
                    });
                }
                Ok(out)
            })
        })
        .await
        .map_err(joined)?
    }
}

/// A blocking read that did not finish (it panicked, or the runtime is
/// shutting down).
fn joined(error: tokio::task::JoinError) -> StorageError {
    StorageError::Unavailable {
        detail: format!("sqlite audit read stopped: {error}"),
    }
}
