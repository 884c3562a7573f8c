//! The backend-independent half of audit queries: decoding candidate
//! segments and keeping the events that match.

use tutela_domain::audit::{AuditIndex, AuditRecord, decode};

use crate::{AuditFilter, StorageError, StoredSegment};

/// Segments read per round trip by a query.
pub const QUERY_SEGMENTS: u32 = 64;

/// Epochs probed per statement by a term query.
pub const QUERY_EPOCHS: u64 = 256;

/// Decodes `segment`; a malformed one is corrupt storage here (the
/// verifier, not a query, is where tampering is named).
pub fn decode_segment(segment: &StoredSegment) -> Result<Vec<AuditRecord>, StorageError> {
    segment.decode().map_err(|e| StorageError::Corrupt {
        detail: format!("{}: {e}", segment.chain),
    })
}

/// Appends to `out` the events of `segments` at or after position `from`
/// that match `filter`, until `out` holds `limit`. Returns whether `out` is
/// full.
pub fn collect_matching(
    segments: &[StoredSegment],
    filter: &AuditFilter,
    from: u64,
    limit: usize,
    out: &mut Vec<AuditRecord>,
) -> Result<bool, StorageError> {
    for segment in segments {
        for record in decode_segment(segment)? {
            if out.len() >= limit {
                return Ok(true);
            }
            if record.seq < from {
                continue;
            }
            let (_, _, event) = decode(&record.body).map_err(|e| StorageError::Corrupt {
                detail: format!("{}: event {}: {e}", record.chain, record.seq),
            })?;
            if filter.matches(&AuditIndex::of(&event)) {
                out.push(record);
            }
        }
    }
    Ok(out.len() >= limit)
}
