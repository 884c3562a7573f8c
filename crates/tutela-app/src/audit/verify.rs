//! Checking a whole store's audit trail offline: every chain, every event,
//! every checkpoint and every event's search terms, in one pass. Reading,
//! the checks each record needs nothing else for (on every core) and the
//! in-order chain checks overlap, each a page apart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use foldhash::fast::RandomState;
use tokio::sync::mpsc;
use tutela_domain::audit::{
    Break, ChainId, ChainReport, ChainVerifier, Checkpoint, Hash, Prechecked, Problem, RecordRef,
    StoredEvent,
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
        self.verifier_for(record.chain, record.seq)?.feed(record)
    }

    fn feed_prechecked(&mut self, prechecked: Prechecked) -> Result<(), Break> {
        self.verifier_for(prechecked.chain(), prechecked.seq())?
            .feed_prechecked(prechecked)
    }

    /// The verifier of `chain`; a new chain closes the previous one.
    fn verifier_for(&mut self, chain: ChainId, seq: u64) -> Result<&mut ChainVerifier<'a>, Break> {
        if self.current_chain != Some(chain) {
            self.close_chain()?;
            let checkpoints = self.checkpoints.remove(&chain).unwrap_or_default();
            self.current = Some(ChainVerifier::new(chain, checkpoints, self.keys));
            self.current_chain = Some(chain);
        }
        self.current.as_mut().ok_or(Break {
            chain,
            seq,
            problem: Problem::Duplicate,
        })
    }

    /// Checks a page of stored segments (in chain and position order) and
    /// that every search term their events need is in `terms`: a missing
    /// one would hide the event from queries. A stored term the events do
    /// not need is harmless, as queries re-check the events.
    ///
    /// The same as [`precheck_page`] then [`feed_page`](Self::feed_page).
    pub fn check_page(
        &mut self,
        segments: &[StoredSegment],
        terms: &StoredTerms,
    ) -> Result<(), Break> {
        self.feed_page(precheck_page(segments, terms))
    }

    /// Advances the chains and trees over a prechecked page, in order; the
    /// first bad event is the same as when checking one record at a time.
    pub fn feed_page(&mut self, page: PrecheckedPage) -> Result<(), Break> {
        page.0
            .into_iter()
            .try_for_each(|segment| self.feed_segment(segment))
    }

    fn feed_segment(&mut self, segment: PrecheckedSegment) -> Result<(), Break> {
        for (prechecked, terms_stored) in segment.entries {
            let (chain, seq) = (prechecked.chain(), prechecked.seq());
            self.feed_prechecked(prechecked)?;
            if !terms_stored {
                return Err(Break {
                    chain,
                    seq,
                    problem: Problem::IndexMismatch(
                        "a search term is missing, which hides the event from queries",
                    ),
                });
            }
        }
        match segment.malformed {
            Some(e) => Err(Break {
                chain: segment.chain,
                seq: e.seq,
                problem: Problem::Undecodable("malformed segment entry"),
            }),
            None => Ok(()),
        }
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

/// The search terms stored for a range of segments, by chain and segment
/// (its first position); only terms filed under their segment's own epoch
/// count, as queries look nowhere else.
#[derive(Debug, Default)]
pub struct StoredTerms(HashMap<(ChainId, u64), HashSet<Vec<u8>, RandomState>, RandomState>);

impl StoredTerms {
    /// Files each chain's stored terms under their segments.
    pub fn new(by_chain: Vec<(ChainId, Vec<StoredTerm>)>) -> Self {
        let mut terms = Self::default();
        for (chain, stored) in by_chain {
            for t in stored {
                if t.epoch == epoch_of(t.first_seq) {
                    terms
                        .0
                        .entry((chain, t.first_seq))
                        .or_default()
                        .insert(t.term);
                }
            }
        }
        terms
    }

    fn of(&self, segment: &StoredSegment) -> Option<&HashSet<Vec<u8>, RandomState>> {
        self.0.get(&(segment.chain, segment.first_seq))
    }
}

/// A segment's records decoded and hashed, each with whether its search
/// terms are all stored, up to where its bytes stop parsing (if they do).
struct PrecheckedSegment {
    chain: ChainId,
    entries: Vec<(Prechecked, bool)>,
    malformed: Option<SegmentError>,
}

/// A page of segments prechecked ([`precheck_page`]), ready for
/// [`Verification::feed_page`].
pub struct PrecheckedPage(Vec<PrecheckedSegment>);

fn precheck_segment(segment: &StoredSegment, terms: &StoredTerms) -> PrecheckedSegment {
    let stored = terms.of(segment);
    let is_stored = |term: &[u8]| stored.is_some_and(|s| s.contains(term));
    let mut previous: Option<StoredEvent<'_>> = None;
    // Entries of a segment are fed one after the other, so each one's link
    // from the entry before is checked here; the first entry's is left to
    // the feed, which knows the previous segment.
    let mut previous_hash: Option<&Hash> = None;
    let mut entries = Vec::with_capacity(usize::try_from(segment.count).unwrap_or(0));
    let parsed = segment.for_each_entry(|record| {
        let event = StoredEvent::parse(record.body);
        let mut missing = false;
        if let Ok(event) = &event {
            // A term equal to the previous event's was checked for it.
            event.for_each_new_term(previous.as_ref(), |term| missing |= !is_stored(term));
            previous = Some(*event);
        }
        let prechecked =
            Prechecked::new(record, event.as_ref().map_err(Clone::clone), previous_hash);
        previous_hash = Some(record.chain_hash);
        entries.push((prechecked, !missing));
        Ok::<(), SegmentError>(())
    });
    PrecheckedSegment {
        chain: segment.chain,
        entries,
        malformed: parsed.err(),
    }
}

/// The part of checking `segments` that needs nothing from other segments
/// (decoding, leaf hashing, the term check), split across the machine's
/// cores.
pub fn precheck_page(segments: &[StoredSegment], terms: &StoredTerms) -> PrecheckedPage {
    // Asked once: on Linux the answer reads the cgroup's CPU quota.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads =
        *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    let per_thread = segments.len().div_ceil(threads).max(1);
    let mut parts = segments.chunks(per_thread);
    let Some(own) = parts.next() else {
        return PrecheckedPage(Vec::new());
    };
    let run = |part: &[StoredSegment]| -> Vec<PrecheckedSegment> {
        part.iter().map(|s| precheck_segment(s, terms)).collect()
    };
    PrecheckedPage(std::thread::scope(|scope| {
        let others: Vec<_> = parts
            .map(|part| (part, scope.spawn(move || run(part))))
            .collect();
        let mut all = run(own);
        for (part, handle) in others {
            // A thread that panicked is redone here rather than lost.
            all.extend(handle.join().unwrap_or_else(|_| run(part)));
        }
        all
    }))
}

/// One round trip's worth: segments, and the stored terms of their range.
type Page = Result<(Vec<StoredSegment>, StoredTerms), StorageError>;

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
        let page = terms.map(|terms| (current, StoredTerms::new(terms)));
        if pages.send(page).await.is_err() || done {
            return;
        }
        segments = next;
    }
}

/// Verifies every chain in `store` against `keys`.
///
/// Three stages overlap: storage reads the next page, worker threads
/// precheck the page after the one this thread is feeding to the chains.
pub async fn verify_store(
    store: Arc<dyn Store>,
    keys: &TrustedKeys,
) -> Result<VerifyReport, VerifyError> {
    let checkpoints = store
        .audit_checkpoints(None)
        .await
        .map_err(VerifyError::Storage)?;
    let (pages, rx) = mpsc::channel::<Page>(2);
    let reader = tokio::spawn(read_pages(store, pages));
    let keys = keys.clone();
    let checked = tokio::task::spawn_blocking(move || check_pages(&keys, checkpoints, rx)).await;
    reader.abort();
    checked.map_err(|e| {
        VerifyError::Storage(StorageError::Unavailable {
            detail: format!("verification stopped: {e}"),
        })
    })?
}

/// Feeds every page from `rx` to a verification, prechecking each page
/// while the previous one is fed.
fn check_pages(
    keys: &TrustedKeys,
    checkpoints: Vec<Checkpoint>,
    mut rx: mpsc::Receiver<Page>,
) -> Result<VerifyReport, VerifyError> {
    let mut verification = Verification::new(keys, checkpoints);
    let mut prechecked: Option<PrecheckedPage> = None;
    loop {
        let page = rx.blocking_recv();
        let (next, fed) = std::thread::scope(|scope| {
            let next = match &page {
                Some(Ok((segments, terms))) => Some((
                    segments,
                    terms,
                    scope.spawn(move || precheck_page(segments, terms)),
                )),
                _ => None,
            };
            let fed = prechecked
                .take()
                .map_or(Ok(()), |p| verification.feed_page(p));
            let next = next.map(|(segments, terms, handle)| {
                // A thread that panicked is redone here rather than lost.
                handle
                    .join()
                    .unwrap_or_else(|_| precheck_page(segments, terms))
            });
            (next, fed)
        });
        fed.map_err(VerifyError::Broken)?;
        match page {
            Some(Ok(_)) => prechecked = next,
            Some(Err(e)) => return Err(VerifyError::Storage(e)),
            None => break,
        }
    }
    verification.finish().map_err(VerifyError::Broken)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use tutela_domain::audit::{
        Action, Actor, AuditEvent, AuditIndex, ChainState, Outcome, Pseudonym,
    };
    use tutela_domain::{ControllerId, Timestamp, UserId};
    use tutela_storage::{IndexedRecord, segment_rows};

    /// 600 events of one chain, two actors in turns of 50, a subject each.
    fn records(chain: ChainId) -> Vec<IndexedRecord> {
        let mut state = ChainState::genesis(chain);
        let actors = [UserId::generate(), UserId::generate()];
        (0..600usize)
            .map(|i| {
                let event = AuditEvent::new(
                    Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                    Actor::User(actors[(i / 50) % 2]),
                    Action::SubjectRead,
                    Outcome::Allowed,
                )
                .subject(Pseudonym([(i % 251) as u8; 32]));
                IndexedRecord {
                    record: state.append(&event),
                    index: AuditIndex::of(&event),
                }
            })
            .collect()
    }

    /// Stored as the appender stores them: batches of 60 events split into
    /// segments; the terms of every segment.
    fn stored(records: &[IndexedRecord]) -> (Vec<StoredSegment>, Vec<StoredTerm>) {
        let (mut segments, mut terms) = (Vec::new(), Vec::new());
        for batch in records.chunks(60) {
            for row in segment_rows(batch) {
                terms.extend(row.terms.iter().map(|t| StoredTerm {
                    epoch: epoch_of(row.first_seq),
                    term: t.clone(),
                    first_seq: row.first_seq,
                }));
                segments.push(StoredSegment {
                    chain: row.chain,
                    first_seq: row.first_seq,
                    count: row.count,
                    records: row.records,
                });
            }
        }
        (segments, terms)
    }

    /// Prechecked pages of three segments, then the chains.
    fn by_pages(
        chain: ChainId,
        segments: &[StoredSegment],
        terms: &[StoredTerm],
    ) -> Result<(), Break> {
        let keys = TrustedKeys::default();
        let mut v = Verification::new(&keys, Vec::new());
        for page in segments.chunks(3) {
            v.check_page(page, &StoredTerms::new(vec![(chain, terms.to_vec())]))?;
        }
        Ok(())
    }

    /// One record at a time, no terms.
    fn one_by_one(segments: &[StoredSegment]) -> Result<(), Break> {
        let keys = TrustedKeys::default();
        let mut v = Verification::new(&keys, Vec::new());
        for segment in segments {
            segment
                .for_each_entry(|record| v.feed(record).map(|_| ()).map_err(SegmentFault))
                .map_err(|e| e.0)?;
        }
        Ok(())
    }

    struct SegmentFault(Break);

    impl From<SegmentError> for SegmentFault {
        fn from(e: SegmentError) -> Self {
            panic!("test segments are well formed: {e}")
        }
    }

    #[test]
    fn prechecked_pages_find_the_same_first_bad_event_as_feeding_one_record_at_a_time() {
        let chain = ChainId::Controller(ControllerId::generate());
        let clean = records(chain);
        let (segments, terms) = stored(&clean);
        assert!(segments.len() >= 6, "several pages of several segments");
        // The first entry of a segment (its link is checked in order) and
        // entries inside one (checked while prechecking).
        let first_of_second = usize::try_from(segments[1].first_seq).unwrap();
        for k in [0, 1, first_of_second, first_of_second + 1, 299, 599] {
            let mut body = clean.clone();
            body[k].record.body[40] ^= 1;
            let mut hash = clean.clone();
            hash[k].record.chain_hash[0] ^= 1;
            for tampered in [body, hash] {
                let (segments, terms) = stored(&tampered);
                let paged = by_pages(chain, &segments, &terms).unwrap_err();
                assert_eq!(paged, one_by_one(&segments).unwrap_err());
                assert_eq!(
                    (paged.seq, paged.problem),
                    (k as u64, Problem::HashMismatch)
                );
            }
        }
        assert_eq!(by_pages(chain, &segments, &terms), Ok(()));
        assert_eq!(one_by_one(&segments), Ok(()));
    }

    #[test]
    fn a_missing_subject_term_or_actor_term_names_the_first_event_that_needs_it() {
        let chain = ChainId::Controller(ControllerId::generate());
        let clean = records(chain);
        let (segments, terms) = stored(&clean);
        // Event 251 has the subject of event 0 (pseudonyms repeat every 251
        // events) but in another segment, so it needs its own term row.
        let subject = clean[251].index.terms();
        let without = |needle: &[u8], first_seq: u64| -> Vec<StoredTerm> {
            terms
                .iter()
                .filter(|t| !(t.term == needle && t.first_seq == first_seq))
                .cloned()
                .collect()
        };
        let holding = |seq: u64| {
            segments
                .iter()
                .rfind(|s| s.first_seq <= seq)
                .unwrap()
                .first_seq
        };
        let missing = by_pages(chain, &segments, &without(&subject[1], holding(251))).unwrap_err();
        assert_eq!(missing.seq, 251);
        assert!(matches!(missing.problem, Problem::IndexMismatch(_)));
        // The second actor's term in the segment where it first appears
        // (event 50): the first event of that segment to need it is named.
        let actor = &clean[50].index.terms()[0];
        let missing = by_pages(chain, &segments, &without(actor, holding(50))).unwrap_err();
        assert_eq!(missing.seq, 50);
    }
}
