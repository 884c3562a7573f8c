//! How the audit trail is laid out in a database: events are stored in
//! *segments* (runs of consecutive events of one chain, one row each) and
//! found through *search terms* (one row per distinct term per segment).
//!
//! Why: one row per event made every append pay for five B-tree inserts and
//! every verification for one row decode per event; measured, that capped
//! appends near 34,000 events/s and verification near 70 MB/s on SQLite
//! (BENCHMARKS.md). A segment is one large row written sequentially, and the
//! term rows are keyed by *epoch* (a segment's first position divided by
//! [`EPOCH_EVENTS`]) so that the random-looking terms (subject pseudonyms) of
//! one commit land in a few adjacent index pages instead of all over the
//! index. A query for a term probes each epoch of the chain.
//!
//! Segment bytes, one entry per event in position order (integers
//! big-endian): `body_len u32 | body | chain_hash [32] | sealed u8 (0/1) |
//! [seal_len u32 | seal]`.

use std::collections::BTreeSet;

use tutela_domain::audit::{AuditIndex, AuditRecord, ChainId, RecordRef};

use crate::rows::micros;

/// Most events in one segment: bounds what a query decodes to return one
/// event found by a term.
pub const SEGMENT_EVENTS: usize = 256;

/// Positions per epoch of the search terms (a power of two).
pub const EPOCH_EVENTS: u64 = 1024;

/// The epoch of a segment starting at `first_seq`.
pub fn epoch_of(first_seq: u64) -> u64 {
    first_seq / EPOCH_EVENTS
}

/// A record to append, with what it can be searched by (known when it is
/// made, so storage need not decode its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRecord {
    /// The record.
    pub record: AuditRecord,
    /// Its search facts.
    pub index: AuditIndex,
}

/// One segment row as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    /// The chain.
    pub chain: ChainId,
    /// Position of the first event.
    pub first_seq: u64,
    /// Events in the segment.
    pub count: u64,
    /// Earliest event instant, in microseconds.
    pub min_instant: i64,
    /// Latest event instant, in microseconds.
    pub max_instant: i64,
    /// The entries ([module docs](self)).
    pub records: Vec<u8>,
    /// The distinct search terms of its events.
    pub terms: BTreeSet<Vec<u8>>,
}

/// Splits a batch into segment rows: a new segment starts at each change of
/// chain, at a gap in positions, and after [`SEGMENT_EVENTS`] events.
pub fn segment_rows(records: &[IndexedRecord]) -> Vec<SegmentRow> {
    let mut rows: Vec<SegmentRow> = Vec::new();
    for r in records {
        let instant = micros(r.index.instant);
        let continues = rows.last().is_some_and(|s| {
            s.chain == r.record.chain
                && s.first_seq + s.count == r.record.seq
                && s.count < SEGMENT_EVENTS as u64
        });
        if !continues {
            rows.push(SegmentRow {
                chain: r.record.chain,
                first_seq: r.record.seq,
                count: 0,
                min_instant: instant,
                max_instant: instant,
                records: Vec::with_capacity(SEGMENT_EVENTS.min(records.len()) * 480),
                terms: BTreeSet::new(),
            });
        }
        if let Some(s) = rows.last_mut() {
            s.count += 1;
            s.min_instant = s.min_instant.min(instant);
            s.max_instant = s.max_instant.max(instant);
            push_entry(&mut s.records, &r.record);
            s.terms.extend(r.index.terms());
        }
    }
    rows
}

/// The segment bytes of `records` (in position order).
pub fn encode_records(records: &[AuditRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        push_entry(&mut out, r);
    }
    out
}

fn push_entry(out: &mut Vec<u8>, r: &AuditRecord) {
    out.extend_from_slice(&len_u32(r.body.len()).to_be_bytes());
    out.extend_from_slice(&r.body);
    out.extend_from_slice(&r.chain_hash);
    match &r.seal {
        None => out.push(0),
        Some(seal) => {
            out.push(1);
            out.extend_from_slice(&len_u32(seal.len()).to_be_bytes());
            out.extend_from_slice(seal);
        }
    }
}

/// Bodies and seals are far below 4 GiB (an event is a few hundred bytes);
/// saturating keeps this total, and a saturated length fails to decode.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A segment as stored, not yet decoded (verification decodes it, so a
/// malformed segment is reported as a broken event, not a read failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSegment {
    /// The chain.
    pub chain: ChainId,
    /// Position of the first event.
    pub first_seq: u64,
    /// Events the row says it holds.
    pub count: u64,
    /// The entries.
    pub records: Vec<u8>,
}

/// Why a segment's bytes do not decode: the position of the first entry
/// that does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed segment entry at event {seq}")]
pub struct SegmentError {
    /// The position of the entry.
    pub seq: u64,
}

impl StoredSegment {
    /// The records, in position order. Fails at the first entry that is cut
    /// short or malformed, or if the entries do not number `count`.
    pub fn decode(&self) -> Result<Vec<AuditRecord>, SegmentError> {
        let mut records = Vec::with_capacity(usize::try_from(self.count).unwrap_or(0).min(4096));
        self.for_each_entry(|r| {
            records.push(r.to_record());
            Ok::<(), SegmentError>(())
        })?;
        Ok(records)
    }

    /// Calls `each` with every record, borrowed from the segment's bytes,
    /// in position order; stops at `each`'s first error. A malformed entry,
    /// or entries that do not number `count`, give a [`SegmentError`]
    /// (through `E: From<SegmentError>`) after the good entries before it.
    pub fn for_each_entry<'s, E: From<SegmentError>>(
        &'s self,
        mut each: impl FnMut(RecordRef<'s>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = self.records.as_slice();
        let mut seq = self.first_seq;
        while !rest.is_empty() {
            let fail = SegmentError { seq };
            let (body, after) = take_sized(rest).ok_or(fail)?;
            let (chain_hash, after) = after.split_first_chunk::<32>().ok_or(fail)?;
            let (sealed, after) = after.split_first().ok_or(fail)?;
            let (seal, after) = match sealed {
                0 => (None, after),
                1 => take_sized(after).map(|(s, a)| (Some(s), a)).ok_or(fail)?,
                _ => return Err(fail.into()),
            };
            each(RecordRef {
                chain: self.chain,
                seq,
                body,
                chain_hash,
                seal,
            })?;
            seq += 1;
            rest = after;
        }
        let end = self.first_seq.saturating_add(self.count);
        if seq != end {
            return Err(SegmentError { seq: seq.min(end) }.into());
        }
        Ok(())
    }
}

fn take_sized(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use tutela_domain::audit::{Action, Actor, AuditEvent, ChainState, Outcome};
    use tutela_domain::{ControllerId, Timestamp};

    fn indexed(state: &mut ChainState, n: usize) -> Vec<IndexedRecord> {
        let controller = match state.chain() {
            ChainId::Controller(c) => c,
            ChainId::Platform => ControllerId::generate(),
        };
        (0..n)
            .map(|i| {
                let event = AuditEvent::new(
                    Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                    Actor::Operator,
                    Action::AuditRead,
                    Outcome::Allowed,
                )
                .controller(controller);
                let mut record = state.append(&event);
                if i % 7 == 3 {
                    record.seal = Some(vec![9; 5]);
                }
                IndexedRecord {
                    record,
                    index: AuditIndex::of(&event),
                }
            })
            .collect()
    }

    #[test]
    fn a_batch_splits_into_bounded_segments_that_decode_back() {
        let chain = ChainId::Controller(ControllerId::generate());
        let mut state = ChainState::genesis(chain);
        let batch = indexed(&mut state, SEGMENT_EVENTS + 10);
        let rows = segment_rows(&batch);
        assert_eq!(
            rows.iter()
                .map(|r| (r.first_seq, r.count))
                .collect::<Vec<_>>(),
            vec![(0, SEGMENT_EVENTS as u64), (SEGMENT_EVENTS as u64, 10)]
        );
        assert_eq!(
            rows[1].min_instant,
            micros(batch[SEGMENT_EVENTS].index.instant)
        );
        assert_eq!(rows[0].terms.len(), 1, "one actor, no object or subject");
        let mut decoded = Vec::new();
        for r in &rows {
            let stored = StoredSegment {
                chain,
                first_seq: r.first_seq,
                count: r.count,
                records: r.records.clone(),
            };
            decoded.extend(stored.decode().unwrap());
        }
        let originals: Vec<AuditRecord> = batch.into_iter().map(|r| r.record).collect();
        assert_eq!(decoded, originals);
    }

    #[test]
    fn a_cut_or_miscounted_segment_names_its_first_bad_event() {
        let chain = ChainId::Platform;
        let mut state = ChainState::genesis(chain);
        let rows = segment_rows(&indexed(&mut state, 5));
        let row = &rows[0];
        let mut stored = StoredSegment {
            chain,
            first_seq: 0,
            count: 5,
            records: row.records[..row.records.len() - 3].to_vec(),
        };
        assert_eq!(stored.decode().unwrap_err().seq, 4);
        stored.records = row.records.clone();
        stored.count = 6;
        assert_eq!(stored.decode().unwrap_err().seq, 5);
    }
}
