//! Checking a whole store's audit trail offline: every chain, every event,
//! every checkpoint and every event's search terms, in one pass. Storage
//! reads run in their own task while this one hashes, so the two overlap.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tutela_domain::audit::{
    Break, ChainId, ChainReport, ChainVerifier, Checkpoint, Problem, RecordRef, StoredEvent,
};
use tutela_storage::{SegmentError, StorageError, Store, StoredSegment, StoredTerm, epoch_of};

use super::signer::TrustedKeys;

/// Segments read per round trip (up to 256 events each): small enough that
/// reading and checking overlap from the start.
const PAGE: u32 = 32;

/// A verified store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// One report per chain, in chain order.
    pub chains: Vec<ChainReport>,
}

impl VerifyReport {
    /// Events checked in all chains.
    pub fn events(&self) -> u64 {
        self.chains.iter().map(|c| c.events).sum()
    }

    /// Stored bytes read.
    pub fn bytes(&self) -> u64 {
        self.chains.iter().map(|c| c.bytes).sum()
    }
}

/// Why verification did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The trail is broken: the first bad event and why.
    #[error("{0}")]
    Broken(Break),
    /// The store could not be read (a malformed column names its event).
    #[error("{0}")]
    Storage(StorageError),
}

/// Feeds chains' records and checkpoints to verifiers; shared by the store
/// and bundle verifiers.
pub struct Verification<'a> {
    keys: &'a TrustedKeys,
    checkpoints: BTreeMap<ChainId, Vec<Checkpoint>>,
    current: Option<ChainVerifier<'a>>,
    current_chain: Option<ChainId>,
    report: VerifyReport,
}

impl<'a> Verification<'a> {
    /// Starts a verification with every checkpoint known.
    pub fn new(keys: &'a TrustedKeys, checkpoints: Vec<Checkpoint>) -> Self {
        let mut by_chain: BTreeMap<ChainId, Vec<Checkpoint>> = BTreeMap::new();
        for cp in checkpoints {
            by_chain.entry(cp.head.chain).or_default().push(cp);
        }
        Self {
            keys,
            checkpoints: by_chain,
            current: None,
            current_chain: None,
            report: VerifyReport::default(),
        }
    }

    /// Checks the next record; records come in (chain, position) order.
    /// Returns the event, borrowed from the record.
    pub fn feed<'r>(&mut self, record: RecordRef<'r>) -> Result<StoredEvent<'r>, Break> {
        if self.current_chain != Some(record.chain) {
            self.close_chain()?;
            let checkpoints = self.checkpoints.remove(&record.chain).unwrap_or_default();
            self.current = Some(ChainVerifier::new(record.chain, checkpoints, self.keys));
            self.current_chain = Some(record.chain);
        }
        match self.current.as_mut() {
            Some(v) => v.feed(record),
            None => Err(Break {
                chain: record.chain,
                seq: record.seq,
                problem: Problem::Duplicate,
            }),
        }
    }

    /// Checks a stored segment's events in their chain, reading them in
    /// place, and that every search term they need is among `stored` (the
    /// chain's stored terms, sorted) under the segment's epoch and first
    /// position: a missing one would hide the event from queries. A stored
    /// term the events do not need is harmless, as queries re-check the
    /// events.
    pub fn feed_segment(
        &mut self,
        segment: &StoredSegment,
        stored: &[StoredTerm],
    ) -> Result<(), Break> {
        let epoch = epoch_of(segment.first_seq);
        let from = stored.partition_point(|t| t.epoch < epoch);
        let to = stored.partition_point(|t| t.epoch <= epoch);
        let in_epoch = stored.get(from..to).unwrap_or_default();
        let is_stored = |term: &[u8]| {
            in_epoch
                .binary_search_by(|t| {
                    (t.term.as_slice(), t.first_seq).cmp(&(term, segment.first_seq))
                })
                .is_ok()
        };
        // Consecutive events mostly share actor and object: each distinct
        // one is looked up once per run.
        let mut checked: [Vec<u8>; 2] = Default::default();
        segment
            .for_each_entry(|record| {
                let event = self.feed(record)?;
                let mut missing = false;
                event.for_each_term(|term| {
                    let last = match term.first() {
                        Some(b'a') => checked.first_mut(),
                        Some(b'o') => checked.get_mut(1),
                        _ => None,
                    };
                    match last {
                        Some(last) if last.as_slice() == term => {}
                        Some(last) => {
                            missing |= !is_stored(term);
                            last.clear();
                            last.extend_from_slice(term);
                        }
                        None => missing |= !is_stored(term),
                    }
                });
                if missing {
                    return Err(SegmentFault::Broken(Break {
                        chain: record.chain,
                        seq: record.seq,
                        problem: Problem::IndexMismatch(
                            "a search term is missing, which hides the event from queries",
                        ),
                    }));
                }
                Ok(())
            })
            .map_err(|fault| match fault {
                SegmentFault::Broken(b) => b,
                SegmentFault::Malformed(e) => Break {
                    chain: segment.chain,
                    seq: e.seq,
                    problem: Problem::Undecodable("malformed segment entry"),
                },
            })
    }

    fn close_chain(&mut self) -> Result<(), Break> {
        if let Some(v) = self.current.take() {
            self.report.chains.push(v.finish()?);
        }
        Ok(())
    }

    /// Ends the verification. Checkpoints of chains with no events left at
    /// all mean those events were removed.
    pub fn finish(mut self) -> Result<VerifyReport, Break> {
        self.close_chain()?;
        let orphans = std::mem::take(&mut self.checkpoints);
        for (chain, checkpoints) in orphans {
            self.report
                .chains
                .push(ChainVerifier::new(chain, checkpoints, self.keys).finish()?);
        }
        Ok(self.report)
    }
}

/// A segment's first bad event: a broken chain or a missing term, or entry
/// bytes that do not parse (whose chain is the segment's).
enum SegmentFault {
    Broken(Break),
    Malformed(SegmentError),
}

impl From<Break> for SegmentFault {
    fn from(b: Break) -> Self {
        Self::Broken(b)
    }
}

impl From<SegmentError> for SegmentFault {
    fn from(e: SegmentError) -> Self {
        Self::Malformed(e)
    }
}

/// One round trip's worth: segments, and the stored terms of their range.
type Page = Result<(Vec<StoredSegment>, Vec<(ChainId, Vec<StoredTerm>)>), StorageError>;

/// Each chain's stored terms over the range of `segments`.
async fn read_terms(
    store: &dyn Store,
    segments: &[StoredSegment],
) -> Result<Vec<(ChainId, Vec<StoredTerm>)>, StorageError> {
    let mut terms = Vec::new();
    for run in segments.chunk_by(|a, b| a.chain == b.chain) {
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            let stored = store
                .audit_terms(first.chain, first.first_seq, last.first_seq)
                .await?;
            terms.push((first.chain, stored));
        }
    }
    Ok(terms)
}

/// Reads every page into `pages`: a page's terms are read while the next
/// page's segments are (two connections, two threads).
async fn read_pages(store: Arc<dyn Store>, pages: mpsc::Sender<Page>) {
    let mut segments = store.audit_scan(None, PAGE).await;
    loop {
        let current = match segments {
            Ok(s) => s,
            Err(e) => {
                let _ = pages.send(Err(e)).await;
                return;
            }
        };
        let done = (current.len() as u64) < u64::from(PAGE);
        let after = current.last().map(|s| (s.chain, s.first_seq));
        let (terms, next) = tokio::join!(read_terms(store.as_ref(), &current), async {
            if done {
                Ok(Vec::new())
            } else {
                store.audit_scan(after, PAGE).await
            }
        });
        let page = terms.map(|terms| (current, terms));
        if pages.send(page).await.is_err() || done {
            return;
        }
        segments = next;
    }
}

/// Verifies every chain in `store` against `keys`.
pub async fn verify_store(
    store: Arc<dyn Store>,
    keys: &TrustedKeys,
) -> Result<VerifyReport, VerifyError> {
    let checkpoints = store
        .audit_checkpoints(None)
        .await
        .map_err(VerifyError::Storage)?;
    let mut verification = Verification::new(keys, checkpoints);
    let (pages, mut rx) = mpsc::channel::<Page>(2);
    let reader = tokio::spawn(read_pages(store, pages));
    let mut outcome = Ok(());
    while let Some(page) = rx.recv().await {
        let (segments, stored) = match page {
            Ok(page) => page,
            Err(e) => {
                outcome = Err(VerifyError::Storage(e));
                break;
            }
        };
        let checked = segments.iter().try_for_each(|segment| {
            let stored = stored
                .iter()
                .find(|(c, _)| *c == segment.chain)
                .map_or(&[][..], |(_, t)| t.as_slice());
            verification.feed_segment(segment, stored)
        });
        if let Err(b) = checked {
            outcome = Err(VerifyError::Broken(b));
            break;
        }
    }
    drop(rx);
    reader.abort();
    outcome?;
    verification.finish().map_err(VerifyError::Broken)
}
