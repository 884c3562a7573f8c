//! Sealing events into a chain and checking a chain back.
//!
//! Each event's canonical bytes are a leaf of the chain's RFC 6962 tree and a
//! link of a hash chain (`chain_hash[n] = SHA-256(chain_hash[n-1] || leaf[n])`).
//! The last event of every appended batch carries a *seal*: the tree's
//! frontier and an Ed25519 signature over the tree head at that size, so every
//! acknowledged event is covered by a signature that the database alone cannot
//! forge. Checkpoints are the same signed tree heads, kept apart (every N
//! events and on demand) for publication and consistency proofs.

use std::collections::VecDeque;
use std::fmt;

use sha2::{Digest, Sha256};

use super::encoding::{DecodeError, StoredEvent, encode};
use super::event::{AuditEvent, ChainId, Pseudonym};
use super::merkle::{Frontier, Hash, leaf_hash};
use crate::Timestamp;

/// What an event can be found by (time, actor, object, subject), derived
/// from the event; storage keeps it as search terms beside the bytes, and
/// verification checks those terms against the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditIndex {
    /// The event's instant.
    pub instant: Timestamp,
    /// The actor as text (`user:<uuid>`, `client:<uuid>`, `anonymous`, `operator`).
    pub actor: String,
    /// The action's name.
    pub action: String,
    /// The object as text (`kind` or `kind:id`).
    pub object: Option<String>,
    /// The subject's pseudonym.
    pub subject: Option<Pseudonym>,
}

impl AuditIndex {
    /// The index columns of `event`.
    pub fn of(event: &AuditEvent) -> Self {
        Self {
            // Stored (and so decoded) to the microsecond.
            instant: Timestamp::from_microsecond(event.instant.as_microsecond())
                .unwrap_or(event.instant),
            actor: event.actor.to_string(),
            action: event.action.as_str().to_owned(),
            object: event.object.as_ref().map(ToString::to_string),
            subject: event.subject,
        }
    }
}

/// Tag bytes of [`AuditIndex::terms`]: one per kind of term, so an actor
/// and an object with the same text are different terms.
const TERM_ACTOR: u8 = b'a';
const TERM_OBJECT: u8 = b'o';
const TERM_SUBJECT: u8 = b's';

impl AuditIndex {
    /// The search term of an actor (`user:<uuid>`, …).
    pub fn actor_term(actor: &str) -> Vec<u8> {
        tagged(TERM_ACTOR, actor.as_bytes())
    }

    /// The search term of an object (`kind` or `kind:id`).
    pub fn object_term(object: &str) -> Vec<u8> {
        tagged(TERM_OBJECT, object.as_bytes())
    }

    /// The search term of a subject's pseudonym.
    pub fn subject_term(subject: &Pseudonym) -> Vec<u8> {
        tagged(TERM_SUBJECT, &subject.0)
    }

    /// Every search term of the event: its actor, object and subject.
    pub fn terms(&self) -> Vec<Vec<u8>> {
        let mut terms = Vec::with_capacity(3);
        each_term(
            Some(&self.actor),
            self.object.as_ref().map(|o| o as &dyn fmt::Display),
            self.subject.as_ref(),
            |t| terms.push(t.to_vec()),
        );
        terms
    }
}

fn tagged(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut term = Vec::with_capacity(1 + value.len());
    term.push(tag);
    term.extend_from_slice(value);
    term
}

/// The one definition of an event's search terms, for storing and for
/// verifying: the actor's text, the object's text if any, the subject's
/// pseudonym if any, each after its tag byte. One buffer serves all three.
pub(crate) fn each_term(
    actor: Option<&dyn fmt::Display>,
    object: Option<&dyn fmt::Display>,
    subject: Option<&Pseudonym>,
    mut each: impl FnMut(&[u8]),
) {
    use std::io::Write as _;
    // Written out only when asked for: verification asks for the actor and
    // object only when they change, and for a subject on every event.
    let mut term = Vec::new();
    for (tag, value) in [(TERM_ACTOR, actor), (TERM_OBJECT, object)] {
        if let Some(value) = value {
            term.clear();
            term.push(tag);
            // Writing to a Vec cannot fail.
            let _ = write!(term, "{value}");
            each(&term);
        }
    }
    if let Some(subject) = subject {
        let mut term = [TERM_SUBJECT; 33];
        let (_, pseudonym) = term.split_at_mut(1);
        pseudonym.copy_from_slice(&subject.0);
        each(&term);
    }
}

/// One stored event, as appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The chain.
    pub chain: ChainId,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// The canonical bytes ([`encode`]).
    pub body: Vec<u8>,
    /// The hash chain's value after this event.
    pub chain_hash: Hash,
    /// On the last event of a batch: [`Seal::encode`].
    pub seal: Option<Vec<u8>>,
}

impl AuditRecord {
    /// Bytes this record occupies in storage (for throughput figures).
    pub fn stored_len(&self) -> usize {
        self.view().stored_len()
    }

    /// The record borrowed, as verification reads it.
    pub fn view(&self) -> RecordRef<'_> {
        RecordRef {
            chain: self.chain,
            seq: self.seq,
            body: &self.body,
            chain_hash: &self.chain_hash,
            seal: self.seal.as_deref(),
        }
    }
}

/// A stored event borrowed from where it is stored (a segment's bytes):
/// verification reads a whole store this way without copying an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The chain.
    pub chain: ChainId,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// The canonical bytes ([`encode`]).
    pub body: &'a [u8],
    /// The hash chain's value after this event.
    pub chain_hash: &'a Hash,
    /// On the last event of a batch: [`Seal::encode`].
    pub seal: Option<&'a [u8]>,
}

/// The part of checking a stored record that needs nothing else from its
/// chain: decoding its event and seal and hashing its leaf, most of the
/// work. Records are independent in this, so a verifier can precheck many
/// at once on several threads, then hand them in order to
/// [`ChainVerifier::feed_prechecked`]. Owns what it keeps (no borrow of the
/// stored bytes), so it can travel between threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prechecked {
    chain: ChainId,
    seq: u64,
    /// What the chain check needs of the event: the chain and position its
    /// bytes claim, and its instant.
    placed: Result<(ChainId, u64, Timestamp), DecodeError>,
    leaf: Hash,
    chain_hash: Hash,
    /// When the previous record was known: its stored chain hash, and
    /// whether this record's stored one follows from it and this leaf.
    linked: Option<(Hash, bool)>,
    /// `Some(None)`: a seal is stored but does not decode. Boxed: one
    /// record in a batch has one, and every record is moved between stages.
    seal: Option<Option<Box<Seal>>>,
    stored_len: u64,
}

impl Prechecked {
    /// Hashes `record`, whose bytes decoded to `event` (or did not).
    /// `previous` is the stored chain hash of the record that will be fed
    /// just before this one, when known: the link between the two is then
    /// checked here too. If every stored hash follows from the stored one
    /// before it, the stored chain is the computed one; the first that does
    /// not is where the computed chain first departs from it, so the
    /// verdict is the same as linking in order. The feed uses this link
    /// only if `previous` is indeed the chain's value when the record
    /// arrives, and links in order otherwise.
    pub fn new(
        record: RecordRef<'_>,
        event: Result<&StoredEvent<'_>, DecodeError>,
        previous: Option<&Hash>,
    ) -> Self {
        let leaf = leaf_hash(record.body);
        Self {
            chain: record.chain,
            seq: record.seq,
            placed: event.map(|e| (e.chain, e.seq, e.instant)),
            linked: previous.map(|p| (*p, link(p, &leaf) == *record.chain_hash)),
            leaf,
            chain_hash: *record.chain_hash,
            seal: record.seal.map(|s| Seal::decode(s).map(Box::new)),
            stored_len: record.stored_len() as u64,
        }
    }

    /// The chain the record is stored under.
    pub fn chain(&self) -> ChainId {
        self.chain
    }

    /// The position the record is stored at.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl RecordRef<'_> {
    /// Bytes this record occupies in storage (for throughput figures).
    pub fn stored_len(&self) -> usize {
        self.body.len() + 32 + self.seal.map_or(0, <[u8]>::len)
    }

    /// The record, owned.
    pub fn to_record(&self) -> AuditRecord {
        AuditRecord {
            chain: self.chain,
            seq: self.seq,
            body: self.body.to_vec(),
            chain_hash: *self.chain_hash,
            seal: self.seal.map(<[u8]>::to_vec),
        }
    }
}

/// A tree head: what a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// The chain.
    pub chain: ChainId,
    /// Number of events covered.
    pub size: u64,
    /// RFC 6962 root of those events.
    pub root: Hash,
    /// Hash chain value after the last of them.
    pub chain_hash: Hash,
    /// When the head was signed.
    pub instant: Timestamp,
}

impl TreeHead {
    /// The exact bytes that are signed (domain-separated, fixed layout).
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(128);
        m.extend_from_slice(b"tutela/audit/tree-head/v1\0");
        m.extend_from_slice(self.chain.as_uuid().as_bytes());
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.root);
        m.extend_from_slice(&self.chain_hash);
        m.extend_from_slice(&self.instant.as_microsecond().to_be_bytes());
        m
    }
}

/// Identifies a signing key: the first 8 bytes of SHA-256 of its public key.
pub type KeyId = [u8; 8];

/// The key id of an Ed25519 public key.
pub fn key_id(public_key: &[u8]) -> KeyId {
    let digest: Hash = Sha256::digest(public_key).into();
    let mut id = [0u8; 8];
    id.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    id
}

/// A signed tree head kept as a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// What was signed.
    pub head: TreeHead,
    /// Which key signed it.
    pub key_id: KeyId,
    /// Ed25519 signature over [`TreeHead::message`].
    pub signature: Vec<u8>,
}

/// The seal on the last event of a batch: the signed tree head at that size
/// (its instant is the event's) and the frontier to continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Which key signed.
    pub key_id: KeyId,
    /// 64-byte Ed25519 signature.
    pub signature: [u8; 64],
    /// The tree's frontier after this event.
    pub frontier: Frontier,
}

impl Seal {
    /// Stored form: key id, signature, frontier.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(72 + 8 + 32 * 32);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.frontier.encode());
        out
    }

    /// Parses [`Seal::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (key_id, rest) = bytes.split_first_chunk::<8>()?;
        let (signature, rest) = rest.split_first_chunk::<64>()?;
        Some(Self {
            key_id: *key_id,
            signature: *signature,
            frontier: Frontier::decode(rest)?,
        })
    }
}

/// Checks signatures; the application provides it with the trusted public keys.
pub trait SignatureCheck {
    /// True when `signature` is a valid signature of `message` by key `key_id`.
    fn verify(&self, key_id: &KeyId, message: &[u8], signature: &[u8]) -> bool;
}

/// The position of a chain's next event: what the appender keeps per chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    chain: ChainId,
    next_seq: u64,
    chain_hash: Hash,
    frontier: Frontier,
}

/// The hash chain's value before the first event.
const GENESIS: Hash = [0; 32];

fn link(previous: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(leaf);
    h.finalize().into()
}

impl ChainState {
    /// An empty chain.
    pub fn genesis(chain: ChainId) -> Self {
        Self {
            chain,
            next_seq: 0,
            chain_hash: GENESIS,
            frontier: Frontier::default(),
        }
    }

    /// Continues after `last`, the chain's last stored event, which must
    /// carry a seal (every batch ends with one); `None` if it does not.
    pub fn resume(last: &AuditRecord) -> Option<Self> {
        let seal = Seal::decode(last.seal.as_deref()?)?;
        (seal.frontier.size() == last.seq + 1).then(|| Self {
            chain: last.chain,
            next_seq: last.seq + 1,
            chain_hash: last.chain_hash,
            frontier: seal.frontier,
        })
    }

    /// The chain.
    pub fn chain(&self) -> ChainId {
        self.chain
    }

    /// Number of events so far.
    pub fn size(&self) -> u64 {
        self.next_seq
    }

    /// The hash chain's current value.
    pub fn chain_hash(&self) -> Hash {
        self.chain_hash
    }

    /// The current frontier.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Appends `event` (whose chain must be this one) and returns its record,
    /// unsealed.
    pub fn append(&mut self, event: &AuditEvent) -> AuditRecord {
        let seq = self.next_seq;
        let body = encode(self.chain, seq, event);
        self.push(&body);
        AuditRecord {
            chain: self.chain,
            seq,
            body,
            chain_hash: self.chain_hash,
            seal: None,
        }
    }

    fn push(&mut self, body: &[u8]) -> Hash {
        let leaf = leaf_hash(body);
        self.push_leaf(leaf);
        leaf
    }

    fn push_leaf(&mut self, leaf: Hash) {
        let chain_hash = link(&self.chain_hash, &leaf);
        self.push_linked(leaf, chain_hash);
    }

    /// [`push_leaf`](Self::push_leaf) with the link already computed.
    fn push_linked(&mut self, leaf: Hash, chain_hash: Hash) {
        self.chain_hash = chain_hash;
        self.frontier.push(leaf);
        self.next_seq += 1;
    }

    /// The tree head now, stamped with `instant`.
    pub fn head(&self, instant: Timestamp) -> TreeHead {
        TreeHead {
            chain: self.chain,
            size: self.next_seq,
            root: self.frontier.root(),
            chain_hash: self.chain_hash,
            instant,
        }
    }
}

/// What is wrong with a chain, at the first event where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Positions jump: this event is missing.
    Missing,
    /// The position appears twice or goes backwards.
    Duplicate,
    /// The stored bytes are not an event.
    Undecodable(&'static str),
    /// The event's own bytes name another position or chain: events were
    /// reordered, moved or inserted.
    Misplaced {
        /// The chain the bytes name.
        chain: ChainId,
        /// The position the bytes name.
        seq: u64,
    },
    /// The stored search terms disagree with the event's bytes (an entry
    /// is missing, which hides the event from queries, or names something
    /// the event does not hold); says which.
    IndexMismatch(&'static str),
    /// The hash chain does not continue here: the event was altered.
    HashMismatch,
    /// The seal is malformed, or its frontier is not the tree's.
    BadSeal,
    /// The signature over the chain's last tree head fails: some event
    /// after the last verified checkpoint was altered and the chain rehashed.
    BadSignature {
        /// First event not covered by a verified checkpoint.
        since: u64,
    },
    /// A checkpoint's tree head is not the chain's at its size.
    CheckpointMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// A checkpoint's signature fails.
    CheckpointSignature {
        /// The checkpoint's size.
        size: u64,
    },
    /// A checkpoint covers more events than the chain holds: events were
    /// removed from the end.
    CheckpointBeyondEnd {
        /// The checkpoint's size.
        size: u64,
    },
    /// The last events carry no signature: they were added by someone
    /// without the signing key.
    UnsignedTail,
}

/// A chain failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// Which chain.
    pub chain: ChainId,
    /// The first bad event's position (or the chain's length for problems
    /// at the end).
    pub seq: u64,
    /// Why.
    pub problem: Problem,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (chain, seq) = (self.chain, self.seq);
        match &self.problem {
            Problem::Missing => write!(f, "{chain}: event {seq} is missing"),
            Problem::Duplicate => write!(f, "{chain}: event {seq} is stored twice or out of order"),
            Problem::Undecodable(why) => write!(f, "{chain}: event {seq} is undecodable ({why})"),
            Problem::Misplaced { chain: c, seq: s } => write!(
                f,
                "{chain}: event {seq} is misplaced: its content says {c} event {s} (reordered or inserted)"
            ),
            Problem::IndexMismatch(what) => write!(
                f,
                "{chain}: event {seq}: search index does not match the event ({what})"
            ),
            Problem::HashMismatch => write!(f, "{chain}: event {seq}: hash mismatch (altered)"),
            Problem::BadSeal => write!(f, "{chain}: event {seq}: malformed or inconsistent seal"),
            Problem::BadSignature { since } => write!(
                f,
                "{chain}: event {seq}: bad signature over events {since}..={seq} (one of them was altered)"
            ),
            Problem::CheckpointMismatch { size } => write!(
                f,
                "{chain}: checkpoint at {size} events is inconsistent with the chain"
            ),
            Problem::CheckpointSignature { size } => {
                write!(f, "{chain}: checkpoint at {size} events: bad signature")
            }
            Problem::CheckpointBeyondEnd { size } => write!(
                f,
                "{chain}: checkpoint at {size} events but the chain ends at {seq}: events were removed"
            ),
            Problem::UnsignedTail => write!(
                f,
                "{chain}: events from {seq} on carry no signature (added without the key)"
            ),
        }
    }
}

/// What a verified chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The chain.
    pub chain: ChainId,
    /// Events checked.
    pub events: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Stored bytes read.
    pub bytes: u64,
    /// The verified head (root and chain hash at the end).
    pub root: Hash,
}

/// Checks one chain, fed its records in position order.
pub struct ChainVerifier<'a> {
    state: ChainState,
    checkpoints: VecDeque<Checkpoint>,
    checked_checkpoints: u64,
    keys: &'a dyn SignatureCheck,
    last_seal: Option<(TreeHead, Seal)>,
    verified_to: u64,
    bytes: u64,
}

impl<'a> ChainVerifier<'a> {
    /// A verifier for `chain`, with its checkpoints (any order) and the
    /// trusted keys.
    pub fn new(
        chain: ChainId,
        mut checkpoints: Vec<Checkpoint>,
        keys: &'a dyn SignatureCheck,
    ) -> Self {
        checkpoints.sort_by_key(|c| c.head.size);
        Self {
            state: ChainState::genesis(chain),
            checkpoints: checkpoints.into(),
            checked_checkpoints: 0,
            keys,
            last_seal: None,
            verified_to: 0,
            bytes: 0,
        }
    }

    fn fail(&self, seq: u64, problem: Problem) -> Break {
        Break {
            chain: self.state.chain,
            seq,
            problem,
        }
    }

    /// Checks the next record; returns its event, borrowed from the record.
    pub fn feed<'r>(&mut self, record: RecordRef<'r>) -> Result<StoredEvent<'r>, Break> {
        let event = StoredEvent::parse(record.body);
        self.feed_prechecked(Prechecked::new(
            record,
            event.as_ref().map_err(Clone::clone),
            None,
        ))?;
        // The event decoded, or feeding would have failed.
        event.map_err(|e| self.fail(record.seq, Problem::Undecodable(e.0)))
    }

    /// [`feed`](Self::feed) for a record whose own part of the work was
    /// done beforehand (possibly on another thread); the outcome is the
    /// same, problem for problem.
    pub fn feed_prechecked(&mut self, prechecked: Prechecked) -> Result<(), Break> {
        let Prechecked {
            chain: stored_chain,
            seq: stored_seq,
            placed,
            leaf,
            chain_hash,
            linked,
            seal,
            stored_len,
        } = prechecked;
        let expected = self.state.next_seq;
        if stored_seq > expected {
            return Err(self.fail(expected, Problem::Missing));
        }
        if stored_seq < expected || stored_chain != self.state.chain {
            return Err(self.fail(stored_seq, Problem::Duplicate));
        }
        let (chain, seq, instant) =
            placed.map_err(|e| self.fail(expected, Problem::Undecodable(e.0)))?;
        if chain != self.state.chain || seq != expected {
            return Err(self.fail(expected, Problem::Misplaced { chain, seq }));
        }
        let linked = match linked {
            // Linked from the chain's value as it stands: no need to hash
            // the link again.
            Some((from, linked)) if from == self.state.chain_hash => {
                self.state.push_linked(leaf, chain_hash);
                linked
            }
            _ => {
                self.state.push_leaf(leaf);
                self.state.chain_hash == chain_hash
            }
        };
        if !linked {
            return Err(self.fail(expected, Problem::HashMismatch));
        }
        self.bytes += stored_len;
        if let Some(seal) = seal {
            // Only the structure of each seal is checked here; its signature
            // is checked for the last seal alone (in `finish`), which covers
            // the whole tree: one signature per chain instead of one per
            // batch, so verification runs at hashing speed.
            let seal = seal
                .filter(|s| s.frontier == self.state.frontier)
                .ok_or_else(|| self.fail(expected, Problem::BadSeal))?;
            self.last_seal = Some((self.state.head(instant), *seal));
        }
        self.check_checkpoints()?;
        Ok(())
    }

    fn check_checkpoints(&mut self) -> Result<(), Break> {
        let size = self.state.next_seq;
        while let Some(cp) = self.checkpoints.front() {
            if cp.head.size > size {
                break;
            }
            let cp_size = cp.head.size;
            let at_size = self.state.head(cp.head.instant);
            if cp.head.size != size || cp.head.chain != self.state.chain || cp.head != at_size {
                return Err(self.fail(size, Problem::CheckpointMismatch { size: cp_size }));
            }
            if !self
                .keys
                .verify(&cp.key_id, &cp.head.message(), &cp.signature)
            {
                return Err(self.fail(size, Problem::CheckpointSignature { size: cp_size }));
            }
            self.checkpoints.pop_front();
            self.checked_checkpoints += 1;
            self.verified_to = size;
        }
        Ok(())
    }

    /// Ends the chain: checks what can only be checked at the end.
    pub fn finish(mut self) -> Result<ChainReport, Break> {
        let size = self.state.next_seq;
        self.check_checkpoints()?;
        if let Some(cp) = self.checkpoints.front() {
            return Err(self.fail(size, Problem::CheckpointBeyondEnd { size: cp.head.size }));
        }
        let sealed_to = self.last_seal.as_ref().map_or(0, |(head, _)| head.size);
        if sealed_to < size {
            return Err(self.fail(sealed_to, Problem::UnsignedTail));
        }
        if let Some((head, seal)) = &self.last_seal
            && !self
                .keys
                .verify(&seal.key_id, &head.message(), &seal.signature)
        {
            return Err(self.fail(
                head.size.saturating_sub(1),
                Problem::BadSignature {
                    since: self.verified_to,
                },
            ));
        }
        Ok(ChainReport {
            chain: self.state.chain,
            events: size,
            checkpoints: self.checked_checkpoints,
            bytes: self.bytes,
            root: self.state.frontier.root(),
        })
    }
}
