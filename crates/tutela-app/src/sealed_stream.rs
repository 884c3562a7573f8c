//! Sealed recording streams: a call recording encrypted in authenticated
//! chunks, so it can be sealed as it arrives and read back one range at a
//! time without decrypting the whole file.
//!
//! Layout: a [`HEADER_LEN`]-byte header (magic `TUTREC\0\x01`, chunk size as
//! u32 big-endian, 7-byte random nonce prefix), then one or more chunks. Every
//! chunk is AES-256-GCM over exactly `chunk_size` plaintext bytes followed by
//! its [`TAG_LEN`]-byte tag, except the last, which covers 0..=`chunk_size`
//! bytes. An empty recording is a single empty final chunk.
//!
//! The nonce of chunk `i` is `prefix || i (u32 BE) || final flag`, the STREAM
//! construction of Hoang, Reyhanitabar, Rogaway and Vizár: a chunk moved to
//! another position is opened under another counter, and a stream cut after
//! any chunk has no chunk sealed with the final flag, so reordering and
//! truncation both fail to authenticate instead of yielding a shorter or
//! shuffled recording. The AAD of every chunk is the caller's context (the
//! recording id) followed by the header, so a chunk spliced in from another
//! recording, or an edited header, fails as well.
//!
//! Data keys are meant to be one per recording; the random prefix is there so
//! that a key reused by mistake still gets fresh nonces unless 56 random bits
//! collide.

use std::fmt;
use std::iter;
use std::ops::Range;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Length in bytes of the stream header: magic, chunk size, nonce prefix.
pub const HEADER_LEN: usize = 19;

/// Length in bytes of the AES-GCM tag that follows every chunk's ciphertext.
pub const TAG_LEN: usize = 16;

/// Plaintext bytes per chunk when the caller has no reason to choose:
/// large enough that per-chunk overhead (16 bytes, one nonce setup) is
/// negligible, small enough that a range read decrypts little it does not need.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;

/// Smallest chunk size a header may declare; below it the tag overhead stops
/// being negligible.
pub const MIN_CHUNK_SIZE: u32 = 1024;

/// Largest chunk size a header may declare, so that a hostile header cannot
/// make a reader allocate more than this for one chunk.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

const MAGIC: [u8; 8] = *b"TUTREC\x00\x01";
const PREFIX_LEN: usize = 7;
const HEADER_LEN_U64: u64 = HEADER_LEN as u64;
const TAG_LEN_U64: u64 = TAG_LEN as u64;

// The header and nonce are filled by zipping their fields in order; these keep
// a field length change from silently leaving bytes zero.
const _: () = assert!(MAGIC.len() + 4 + PREFIX_LEN == HEADER_LEN);
const _: () = assert!(PREFIX_LEN + 4 + 1 == NONCE_LEN);

const HEADER_TOO_SHORT: &str = "shorter than the 19-byte header";
const HEADER_TOO_LONG: &str = "longer than the 19-byte header";

/// Why a recording could not be sealed or opened. Messages name positions and
/// reasons only: never key or plaintext bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealedStreamError {
    /// The header is too short, has the wrong magic or version, or declares a
    /// chunk size outside [`MIN_CHUNK_SIZE`]..=[`MAX_CHUNK_SIZE`] (also
    /// returned when a sealer is asked for such a chunk size).
    #[error("bad recording header: {reason}")]
    BadHeader {
        /// Which check the header failed.
        reason: &'static str,
    },
    /// Chunk `index` failed authentication; nothing of it may be used.
    #[error(
        "chunk {index} does not authenticate: altered, reordered, from another recording, or the wrong key"
    )]
    ChunkAuthentication {
        /// Zero-based position of the chunk in the stream.
        index: u64,
    },
    /// Every chunk present authenticated, but none of them is the final one:
    /// the stream was cut at a chunk boundary.
    #[error("the recording ends before its final chunk")]
    Truncated,
    /// The recording would need more than 2^32 chunks, beyond what the 32-bit
    /// chunk counter in the nonce can number without repeating.
    #[error("the recording is longer than one sealed stream can hold (2^32 chunks)")]
    TooLong,
    /// The operating system's random source failed, so no key or nonce prefix
    /// was produced.
    #[error("the random source failed")]
    Random,
    /// ring refused an operation it only refuses for inputs this module never
    /// gives it (a key of the wrong length, a chunk beyond AES-GCM's message
    /// limit). Seeing it means a bug here, not bad input.
    #[error("the AES-GCM implementation refused to {operation}; this is a bug, not bad input")]
    Backend {
        /// What was being attempted.
        operation: &'static str,
    },
}

impl SealedStreamError {
    /// A stable snake_case code for logs and API error bodies; it stays the
    /// same when the human-readable message is reworded.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadHeader { .. } => "bad_header",
            Self::ChunkAuthentication { .. } => "chunk_authentication",
            Self::Truncated => "truncated",
            Self::TooLong => "too_long",
            Self::Random => "random_source",
            Self::Backend { .. } => "crypto_backend",
        }
    }
}

/// A 256-bit AES-GCM data key for one recording. `Debug` prints none of it,
/// and dropping it overwrites its bytes (best effort: copies made by moves,
/// and ring's expanded key schedule, are out of reach).
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh key from the operating system's random source; fails with
    /// [`SealedStreamError::Random`] rather than ever returning a weak key.
    pub fn generate() -> Result<Self, SealedStreamError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| SealedStreamError::Random)?;
        Ok(Self(bytes))
    }

    /// Wraps key bytes unwrapped from storage; they are used as the AES-256
    /// key as they are.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for wrapping under a key-encryption key. Whoever
    /// calls this takes over the duty not to log them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead_key(&self) -> Result<LessSafeKey, SealedStreamError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| SealedStreamError::Backend {
                operation: "accept a 256-bit key",
            })
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.fill(0);
        // Without this the store to memory about to be freed is dead and
        // may be optimised away.
        std::hint::black_box(&self.0);
    }
}

/// Layout arithmetic shared by writer and reader: where each chunk of a
/// stream with this chunk size and plaintext length lies. Never panics; a
/// `chunk_size` of 0 (which no valid header declares) is treated as 1, and
/// results no stream could reach saturate at `u64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLayout {
    /// Plaintext bytes per chunk (every chunk but the last holds exactly this).
    pub chunk_size: u32,
    /// Total plaintext length of the recording.
    pub plaintext_len: u64,
}

impl StreamLayout {
    fn size(&self) -> u32 {
        self.chunk_size.max(1)
    }

    fn step(&self) -> u64 {
        u64::from(self.size())
    }

    /// Number of chunks in the stream: `max(1, ceil(plaintext_len / chunk_size))`,
    /// since an empty recording still has its empty final chunk.
    pub fn chunk_count(&self) -> u64 {
        self.plaintext_len.div_ceil(self.step()).max(1)
    }

    /// Total sealed length: header, plaintext, and one tag per chunk.
    pub fn sealed_len(&self) -> u64 {
        HEADER_LEN_U64
            .saturating_add(self.plaintext_len)
            .saturating_add(self.chunk_count().saturating_mul(TAG_LEN_U64))
    }

    /// Plaintext bytes in chunk `index`: `chunk_size` for every chunk but the
    /// last, the remainder (possibly 0) for the last, `None` past the end.
    pub fn chunk_plaintext_len(&self, index: u64) -> Option<u32> {
        let count = self.chunk_count();
        if index >= count {
            return None;
        }
        if index.saturating_add(1) < count {
            return Some(self.size());
        }
        let before = index.saturating_mul(self.step());
        u32::try_from(self.plaintext_len.saturating_sub(before)).ok()
    }

    /// Byte offset of chunk `index` in the sealed stream (header included).
    /// Every chunk before it is full, so this is also where chunk `index`
    /// would start for an index past the end.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        HEADER_LEN_U64.saturating_add(index.saturating_mul(self.step().saturating_add(TAG_LEN_U64)))
    }

    /// Indexes of the chunks holding plaintext bytes `start..end_exclusive`,
    /// clamped to the recording: the fewest chunks to open for that range.
    /// Empty when the clamped range is empty.
    pub fn chunks_for_range(&self, start: u64, end_exclusive: u64) -> Range<u64> {
        let end = end_exclusive.min(self.plaintext_len);
        if start >= end {
            return 0..0;
        }
        let step = self.step();
        let last = end.saturating_sub(1) / step;
        start / step..last.saturating_add(1)
    }
}

/// Key, AAD and nonce prefix of one stream: the part sealing and opening share.
struct ChunkCipher {
    key: LessSafeKey,
    aad: Vec<u8>,
    prefix: [u8; PREFIX_LEN],
}

impl ChunkCipher {
    fn new(
        key: &DataKey,
        context: &[u8],
        header: &[u8],
        prefix: [u8; PREFIX_LEN],
    ) -> Result<Self, SealedStreamError> {
        let mut aad = Vec::with_capacity(context.len().saturating_add(header.len()));
        aad.extend_from_slice(context);
        aad.extend_from_slice(header);
        Ok(Self {
            key: key.aead_key()?,
            aad,
            prefix,
        })
    }

    fn nonce(&self, index: u32, is_final: bool) -> Nonce {
        let counter = index.to_be_bytes();
        let flag = u8::from(is_final);
        let fields = self.prefix.iter().chain(&counter).chain(iter::once(&flag));
        let mut bytes = [0u8; NONCE_LEN];
        for (slot, byte) in bytes.iter_mut().zip(fields) {
            *slot = *byte;
        }
        Nonce::assume_unique_for_key(bytes)
    }

    /// Appends the sealed chunk to `out`, encrypting it where it lands so the
    /// plaintext is copied once, from the caller's buffer into the output.
    fn seal_onto(
        &self,
        index: u32,
        is_final: bool,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealedStreamError> {
        let start = out.len();
        out.reserve(plaintext.len().saturating_add(TAG_LEN));
        out.extend_from_slice(plaintext);
        let body = out.get_mut(start..).ok_or(SealedStreamError::Backend {
            operation: "address the chunk just appended",
        })?;
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(index, is_final), Aad::from(&self.aad), body)
            .map_err(|_| SealedStreamError::Backend {
                operation: "seal a chunk",
            })?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }
}

fn check_chunk_size(chunk_size: u32) -> Result<usize, SealedStreamError> {
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(SealedStreamError::BadHeader {
            reason: "chunk size outside 1 KiB ..= 16 MiB",
        });
    }
    usize::try_from(chunk_size).map_err(|_| SealedStreamError::BadHeader {
        reason: "chunk size does not fit this platform's address space",
    })
}

fn encode_header(chunk_size: u32, prefix: &[u8; PREFIX_LEN]) -> [u8; HEADER_LEN] {
    let size = chunk_size.to_be_bytes();
    let fields = MAGIC.iter().chain(&size).chain(prefix);
    let mut header = [0u8; HEADER_LEN];
    for (slot, byte) in header.iter_mut().zip(fields) {
        *slot = *byte;
    }
    header
}

/// Returns the declared chunk size and the nonce prefix.
fn parse_header(header: &[u8]) -> Result<(u32, [u8; PREFIX_LEN]), SealedStreamError> {
    let short = SealedStreamError::BadHeader {
        reason: HEADER_TOO_SHORT,
    };
    if header.len() > HEADER_LEN {
        return Err(SealedStreamError::BadHeader {
            reason: HEADER_TOO_LONG,
        });
    }
    let (magic, rest) = header.split_first_chunk::<8>().ok_or(short)?;
    let (size, rest) = rest.split_first_chunk::<4>().ok_or(short)?;
    let prefix = <[u8; PREFIX_LEN]>::try_from(rest).map_err(|_| short)?;
    if *magic != MAGIC {
        return Err(SealedStreamError::BadHeader {
            reason: "not a sealed recording, or an unknown format version",
        });
    }
    let chunk_size = u32::from_be_bytes(*size);
    check_chunk_size(chunk_size)?;
    Ok((chunk_size, prefix))
}

/// Incremental sealing: feed plaintext in pieces of any size and get sealed
/// bytes out. It holds at most one chunk of plaintext at a time, and its
/// output (after [`StreamSealer::header`]) is byte-for-byte independent of
/// how the plaintext was split into pieces.
pub struct StreamSealer {
    cipher: ChunkCipher,
    header: [u8; HEADER_LEN],
    chunk_size: usize,
    /// Plaintext not yet sealed: at most one chunk, held back until a later
    /// byte proves it is not the final chunk.
    pending: Vec<u8>,
    next_index: u64,
    total: u64,
}

impl fmt::Debug for StreamSealer {
    // Deliberately omits the pending plaintext.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer")
            .field("chunk_size", &self.chunk_size)
            .field("chunks_sealed", &self.next_index)
            .field("plaintext_len", &self.total)
            .finish_non_exhaustive()
    }
}

impl StreamSealer {
    /// Starts a stream under `key` with a fresh random nonce prefix. `context`
    /// (the recording id) is bound into every chunk and must be presented
    /// again to open it. Fails with `BadHeader` for a chunk size outside
    /// [`MIN_CHUNK_SIZE`]..=[`MAX_CHUNK_SIZE`] and `Random` if no prefix can be drawn.
    pub fn new(key: &DataKey, context: &[u8], chunk_size: u32) -> Result<Self, SealedStreamError> {
        let mut prefix = [0u8; PREFIX_LEN];
        getrandom::fill(&mut prefix).map_err(|_| SealedStreamError::Random)?;
        Self::with_prefix(key, context, chunk_size, prefix)
    }

    fn with_prefix(
        key: &DataKey,
        context: &[u8],
        chunk_size: u32,
        prefix: [u8; PREFIX_LEN],
    ) -> Result<Self, SealedStreamError> {
        let size = check_chunk_size(chunk_size)?;
        let header = encode_header(chunk_size, &prefix);
        Ok(Self {
            cipher: ChunkCipher::new(key, context, &header, prefix)?,
            header,
            chunk_size: size,
            // Allocated on first use, so an unused 16 MiB sealer costs nothing.
            pending: Vec::new(),
            next_index: 0,
            total: 0,
        })
    }

    /// The stream header; the caller writes it before anything `push` and
    /// `finish` append. It is the same for the whole life of the sealer.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        self.header
    }

    /// Appends to `out` the sealed form of every complete chunk now known not
    /// to be the last one. A full chunk is held back until at least one more
    /// byte arrives, because only then is it known not to be final. After an
    /// error the stream is unusable and the sealer should be dropped.
    pub fn push(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), SealedStreamError> {
        let added = u64::try_from(plaintext.len()).map_err(|_| SealedStreamError::TooLong)?;
        let total = self
            .total
            .checked_add(added)
            .ok_or(SealedStreamError::TooLong)?;
        let mut rest = plaintext;
        if !self.pending.is_empty() {
            let room = self.chunk_size.saturating_sub(self.pending.len());
            let (head, tail) = rest.split_at_checked(room).unwrap_or((rest, &[]));
            self.pending.extend_from_slice(head);
            rest = tail;
            if rest.is_empty() {
                self.total = total;
                return Ok(());
            }
            let index = self.take_index(false)?;
            self.cipher.seal_onto(index, false, &self.pending, out)?;
            self.pending.clear();
        }
        // Whole chunks go straight from the caller's slice to `out`; only the
        // tail, which might be the final chunk, is buffered.
        while let Some((chunk, tail)) = rest.split_at_checked(self.chunk_size)
            && !tail.is_empty()
        {
            let index = self.take_index(false)?;
            self.cipher.seal_onto(index, false, chunk, out)?;
            rest = tail;
        }
        if !rest.is_empty() {
            self.pending
                .reserve_exact(self.chunk_size.saturating_sub(self.pending.len()));
            self.pending.extend_from_slice(rest);
        }
        self.total = total;
        Ok(())
    }

    /// Seals whatever remains (0..=chunk_size bytes) as the final chunk into
    /// `out` and returns the total plaintext length, which with the chunk
    /// size gives the [`StreamLayout`] a reader needs.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<u64, SealedStreamError> {
        let index = self.take_index(true)?;
        self.cipher.seal_onto(index, true, &self.pending, out)?;
        Ok(self.total)
    }

    fn take_index(&mut self, is_final: bool) -> Result<u32, SealedStreamError> {
        let index = u32::try_from(self.next_index).map_err(|_| SealedStreamError::TooLong)?;
        // A non-final chunk at the last counter value would leave no counter
        // for the final chunk; better to fail now than after sealing more.
        if !is_final && index == u32::MAX {
            return Err(SealedStreamError::TooLong);
        }
        self.next_index = self.next_index.saturating_add(1);
        Ok(index)
    }
}

/// Opens chunks of a stream whose header has been read and checked. Opening
/// is per chunk, so a reader can decrypt just the chunks a range needs
/// (see [`StreamLayout::chunks_for_range`]).
pub struct StreamOpener {
    cipher: ChunkCipher,
    chunk_size: u32,
}

impl fmt::Debug for StreamOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOpener")
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl StreamOpener {
    /// Parses `header` (exactly [`HEADER_LEN`] bytes) and checks its magic
    /// and chunk-size bounds, failing with `BadHeader`. The header's integrity
    /// is not checked here: it is part of every chunk's AAD, so an edited
    /// header makes chunk 0 fail. `context` must be the one sealed with.
    pub fn new(key: &DataKey, context: &[u8], header: &[u8]) -> Result<Self, SealedStreamError> {
        let (chunk_size, prefix) = parse_header(header)?;
        Ok(Self {
            cipher: ChunkCipher::new(key, context, header, prefix)?,
            chunk_size,
        })
    }

    /// Plaintext bytes per chunk declared by the header (within
    /// [`MIN_CHUNK_SIZE`]..=[`MAX_CHUNK_SIZE`]).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Opens chunk `index` in place and returns its plaintext, a prefix of
    /// `sealed_chunk`. `is_final` is whether the caller expects this to be the
    /// last chunk (known from the plaintext length). Returns plaintext only
    /// if the chunk authenticates at exactly this position, finality, stream
    /// and key; otherwise `ChunkAuthentication { index }`, after which the
    /// contents of `sealed_chunk` are unspecified. An index beyond the 32-bit
    /// counter is `TooLong`.
    pub fn open_chunk<'a>(
        &self,
        index: u64,
        is_final: bool,
        sealed_chunk: &'a mut [u8],
    ) -> Result<&'a [u8], SealedStreamError> {
        let failed = SealedStreamError::ChunkAuthentication { index };
        let counter = u32::try_from(index).map_err(|_| SealedStreamError::TooLong)?;
        let body_len = sealed_chunk.len().checked_sub(TAG_LEN).ok_or(failed)?;
        let body_len = u64::try_from(body_len).map_err(|_| failed)?;
        let chunk_size = u64::from(self.chunk_size);
        // Sizes the sealer never produces cannot authenticate; refusing them
        // up front keeps a forged length from reaching the cipher at all.
        let plausible = if is_final {
            body_len <= chunk_size
        } else {
            body_len == chunk_size
        };
        if !plausible {
            return Err(failed);
        }
        let plaintext = self
            .cipher
            .key
            .open_in_place(
                self.cipher.nonce(counter, is_final),
                Aad::from(&self.cipher.aad),
                sealed_chunk,
            )
            .map_err(|_| failed)?;
        Ok(plaintext)
    }
}

/// Opens a whole sealed stream held in memory (tests and small streams) and
/// returns the plaintext only if every chunk authenticates in order and the
/// last one is the final chunk. A stream cut at a chunk boundary is
/// `Truncated`; one cut mid-chunk, with trailing bytes, reordered, altered,
/// from another context or under the wrong key is `ChunkAuthentication`
/// naming the first chunk that failed; a damaged header may also be `BadHeader`.
pub fn open_all(
    key: &DataKey,
    context: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, SealedStreamError> {
    let (header, body) =
        sealed
            .split_at_checked(HEADER_LEN)
            .ok_or(SealedStreamError::BadHeader {
                reason: HEADER_TOO_SHORT,
            })?;
    let opener = StreamOpener::new(key, context, header)?;
    let piece_len = check_chunk_size(opener.chunk_size())?.saturating_add(TAG_LEN);
    let mut work = body.to_vec();
    let pieces = work.chunks_mut(piece_len);
    // Without the length up front, only the last piece can be the final
    // chunk; a header with nothing after it has none at all.
    let last = pieces
        .len()
        .checked_sub(1)
        .ok_or(SealedStreamError::Truncated)?;
    let mut plaintext = Vec::with_capacity(body.len());
    for (position, piece) in pieces.enumerate() {
        let index = u64::try_from(position).map_err(|_| SealedStreamError::TooLong)?;
        if position < last {
            plaintext.extend_from_slice(opener.open_chunk(index, false, piece)?);
            continue;
        }
        // A full-length last piece is either a full final chunk or a non-final
        // chunk followed by a cut; keep a copy to tell them apart, since ring
        // leaves a piece that failed to open scrambled.
        let spare = (piece.len() == piece_len).then(|| piece.to_vec());
        match opener.open_chunk(index, true, piece) {
            Ok(chunk) => plaintext.extend_from_slice(chunk),
            Err(err) => {
                if let Some(mut copy) = spare
                    && opener.open_chunk(index, false, &mut copy).is_ok()
                {
                    return Err(SealedStreamError::Truncated);
                }
                return Err(err);
            }
        }
    }
    Ok(plaintext)
}

/// Seals a whole buffer as one stream with a fresh nonce prefix: header
/// followed by every chunk, [`StreamLayout::sealed_len`] bytes in all. Fails
/// as [`StreamSealer::new`] does.
pub fn seal_all(
    key: &DataKey,
    context: &[u8],
    chunk_size: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealedStreamError> {
    let mut sealer = StreamSealer::new(key, context, chunk_size)?;
    let layout = StreamLayout {
        chunk_size,
        plaintext_len: u64::try_from(plaintext.len()).map_err(|_| SealedStreamError::TooLong)?,
    };
    // Only a capacity hint; if it does not fit, the vector grows instead.
    let mut out = Vec::with_capacity(usize::try_from(layout.sealed_len()).unwrap_or(0));
    out.extend_from_slice(&sealer.header());
    sealer.push(plaintext, &mut out)?;
    sealer.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CS: u32 = MIN_CHUNK_SIZE;
    const CSU: usize = CS as usize;
    const CONTEXT: &[u8] = b"recording-0001\x00\x00";
    const PREFIX: [u8; PREFIX_LEN] = [9, 8, 7, 6, 5, 4, 3];

    fn key(byte: u8) -> DataKey {
        DataKey::from_bytes([byte; 32])
    }

    /// Deterministic, non-repeating bytes so a chunk in the wrong place shows.
    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    /// Seals through `push` with the given piece sizes (cycled), checking the
    /// sealer never holds more than one chunk.
    fn seal_in_pieces(
        sealer: StreamSealer,
        plaintext: &[u8],
        piece_sizes: &[usize],
    ) -> (Vec<u8>, u64) {
        let mut sealer = sealer;
        let chunk_size = sealer.chunk_size;
        let mut out = sealer.header().to_vec();
        let mut rest = plaintext;
        for &size in piece_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(size.min(rest.len()));
            sealer.push(piece, &mut out).unwrap();
            assert!(sealer.pending.len() <= chunk_size);
            assert!(sealer.pending.capacity() <= chunk_size);
            rest = tail;
        }
        let total = sealer.finish(&mut out).unwrap();
        (out, total)
    }

    fn layout(len: usize) -> StreamLayout {
        StreamLayout {
            chunk_size: CS,
            plaintext_len: len as u64,
        }
    }

    /// The sealed bytes of chunk `index` of a stream with the given layout.
    fn chunk_range(layout: &StreamLayout, index: u64) -> Range<usize> {
        let start = layout.chunk_offset(index) as usize;
        let len = layout.chunk_plaintext_len(index).unwrap() as usize + TAG_LEN;
        start..start + len
    }

    #[test]
    fn round_trips_edge_lengths_with_odd_piece_sizes() {
        let k = key(1);
        for len in [0, 1, CSU - 1, CSU, CSU + 1, 3 * CSU] {
            let plaintext = pattern(len, len as u64);
            let reference = {
                let sealer = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
                seal_in_pieces(sealer, &plaintext, &[usize::MAX]).0
            };
            for pieces in [&[1][..], &[7], &[CSU + 5], &[1, 7, 2 * CSU + 3, CSU]] {
                let sealer = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
                let (sealed, total) = seal_in_pieces(sealer, &plaintext, pieces);
                assert_eq!(total, len as u64, "len {len} pieces {pieces:?}");
                assert_eq!(sealed.len() as u64, layout(len).sealed_len(), "len {len}");
                assert_eq!(
                    sealed, reference,
                    "output depends on piece sizes: len {len} pieces {pieces:?}"
                );
                assert_eq!(
                    open_all(&k, CONTEXT, &sealed).unwrap(),
                    plaintext,
                    "len {len}"
                );
            }
        }
    }

    #[test]
    fn seal_all_matches_layout_and_round_trips() {
        let k = DataKey::generate().unwrap();
        for len in [0, 1, 1000, CSU, 5 * CSU, 5 * CSU + 17] {
            let plaintext = pattern(len, 7);
            let sealed = seal_all(&k, CONTEXT, CS, &plaintext).unwrap();
            assert_eq!(sealed.len() as u64, layout(len).sealed_len());
            assert_eq!(open_all(&k, CONTEXT, &sealed).unwrap(), plaintext);
        }
    }

    #[test]
    fn empty_recording_is_one_empty_final_chunk() {
        let k = key(2);
        let sealed = seal_all(&k, CONTEXT, CS, &[]).unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + TAG_LEN);
        let opener = StreamOpener::new(&k, CONTEXT, &sealed[..HEADER_LEN]).unwrap();
        let mut chunk = sealed[HEADER_LEN..].to_vec();
        assert_eq!(opener.open_chunk(0, true, &mut chunk).unwrap(), b"");
        assert!(open_all(&k, CONTEXT, &sealed).unwrap().is_empty());
    }

    #[test]
    fn exact_multiple_has_no_trailing_empty_chunk() {
        let k = key(3);
        let plaintext = pattern(2 * CSU, 3);
        let sealed = seal_all(&k, CONTEXT, CS, &plaintext).unwrap();
        assert_eq!(layout(2 * CSU).chunk_count(), 2);
        assert_eq!(sealed.len(), HEADER_LEN + 2 * (CSU + TAG_LEN));
        let opener = StreamOpener::new(&k, CONTEXT, &sealed[..HEADER_LEN]).unwrap();
        let mut last = sealed[chunk_range(&layout(2 * CSU), 1)].to_vec();
        assert_eq!(
            opener.open_chunk(1, true, &mut last).unwrap(),
            &plaintext[CSU..]
        );
    }

    #[test]
    fn push_holds_back_a_full_chunk_until_another_byte_arrives() {
        let k = key(4);
        let mut sealer = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
        let plaintext = pattern(CSU + 1, 4);
        let mut out = Vec::new();
        sealer.push(&plaintext[..CSU], &mut out).unwrap();
        assert!(
            out.is_empty(),
            "a full chunk was sealed before it was known not to be final"
        );
        sealer.push(&[], &mut out).unwrap();
        assert!(out.is_empty());
        sealer.push(&plaintext[CSU..], &mut out).unwrap();
        assert_eq!(out.len(), CSU + TAG_LEN);
        assert_eq!(sealer.finish(&mut out).unwrap(), (CSU + 1) as u64);
        assert_eq!(out.len(), CSU + 1 + 2 * TAG_LEN);
    }

    #[test]
    fn header_layout_and_random_prefix() {
        let k = key(5);
        let a = StreamSealer::new(&k, CONTEXT, DEFAULT_CHUNK_SIZE).unwrap();
        let b = StreamSealer::new(&k, CONTEXT, DEFAULT_CHUNK_SIZE).unwrap();
        let header = a.header();
        assert_eq!(&header[..8], b"TUTREC\x00\x01");
        assert_eq!(&header[8..12], &DEFAULT_CHUNK_SIZE.to_be_bytes());
        assert_ne!(
            header[12..],
            b.header()[12..],
            "two streams drew the same nonce prefix"
        );
        let fixed = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
        assert_eq!(&fixed.header()[12..], &PREFIX);
        let sealed = seal_all(&k, CONTEXT, CS, b"abc").unwrap();
        assert_eq!(parse_header(&sealed[..HEADER_LEN]).unwrap().0, CS);
    }

    #[test]
    fn nonce_is_prefix_counter_and_final_flag() {
        let cipher = ChunkCipher::new(&key(6), CONTEXT, &[0; HEADER_LEN], PREFIX).unwrap();
        assert_eq!(
            cipher.nonce(0x0102_0304, true).as_ref(),
            &[9, 8, 7, 6, 5, 4, 3, 1, 2, 3, 4, 1]
        );
        assert_eq!(
            cipher.nonce(0x0102_0304, false).as_ref(),
            &[9, 8, 7, 6, 5, 4, 3, 1, 2, 3, 4, 0]
        );
        assert_eq!(AES_256_GCM.tag_len(), TAG_LEN);
    }

    #[test]
    fn flipped_bit_in_chunk_body_fails() {
        let k = key(7);
        let len = 3000;
        let mut sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 7)).unwrap();
        sealed[layout(len).chunk_offset(1) as usize + 10] ^= 0x01;
        assert_eq!(
            open_all(&k, CONTEXT, &sealed),
            Err(SealedStreamError::ChunkAuthentication { index: 1 })
        );
    }

    #[test]
    fn flipped_bit_in_tag_fails() {
        let k = key(8);
        let len = 3000;
        let mut sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 8)).unwrap();
        let tag_end = chunk_range(&layout(len), 2).end;
        assert_eq!(tag_end, sealed.len());
        sealed[tag_end - 1] ^= 0x80;
        assert_eq!(
            open_all(&k, CONTEXT, &sealed),
            Err(SealedStreamError::ChunkAuthentication { index: 2 })
        );
        let mut first = seal_all(&k, CONTEXT, CS, &pattern(len, 8)).unwrap();
        first[chunk_range(&layout(len), 0).end - TAG_LEN] ^= 0x01;
        assert_eq!(
            open_all(&k, CONTEXT, &first),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
    }

    #[test]
    fn every_flipped_header_bit_fails() {
        let k = key(9);
        // The short stream is a lone final chunk, which would still open
        // under a larger declared chunk size if the header were not in the AAD.
        for len in [2500, 100] {
            every_flipped_header_bit_fails_for(&k, len);
        }
    }

    fn every_flipped_header_bit_fails_for(k: &DataKey, len: usize) {
        let sealed = seal_all(k, CONTEXT, CS, &pattern(len, 9)).unwrap();
        assert!(open_all(k, CONTEXT, &sealed).is_ok());
        for bit in 0..HEADER_LEN * 8 {
            let mut damaged = sealed.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let err = open_all(k, CONTEXT, &damaged).unwrap_err();
            match bit / 8 {
                // Magic.
                0..8 => assert!(
                    matches!(err, SealedStreamError::BadHeader { .. }),
                    "bit {bit}: {err:?}"
                ),
                // Chunk size: out of bounds, or a valid size the AAD no longer matches.
                8..12 => assert!(
                    matches!(
                        err,
                        SealedStreamError::BadHeader { .. }
                            | SealedStreamError::ChunkAuthentication { index: 0 }
                    ),
                    "bit {bit}: {err:?}"
                ),
                // Nonce prefix.
                _ => assert_eq!(
                    err,
                    SealedStreamError::ChunkAuthentication { index: 0 },
                    "bit {bit}"
                ),
            }
        }
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_truncated() {
        let k = key(10);
        for len in [3 * CSU, 3 * CSU - 100] {
            let sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 10)).unwrap();
            let l = layout(len);
            for cut in [l.chunk_offset(1), l.chunk_offset(2)] {
                assert_eq!(
                    open_all(&k, CONTEXT, &sealed[..cut as usize]),
                    Err(SealedStreamError::Truncated),
                    "len {len} cut {cut}"
                );
            }
            // Header alone: no chunk at all, so no final chunk.
            assert_eq!(
                open_all(&k, CONTEXT, &sealed[..HEADER_LEN]),
                Err(SealedStreamError::Truncated)
            );
            assert!(matches!(
                open_all(&k, CONTEXT, &sealed[..HEADER_LEN - 1]),
                Err(SealedStreamError::BadHeader { .. })
            ));
        }
    }

    #[test]
    fn truncation_mid_chunk_is_chunk_authentication() {
        let k = key(11);
        let len = 3 * CSU - 100;
        let sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 11)).unwrap();
        let l = layout(len);
        // Cut inside chunk 1's body: that partial piece is the last one, so
        // it is tried as final, and fails.
        let cut = l.chunk_offset(1) as usize + 500;
        assert_eq!(
            open_all(&k, CONTEXT, &sealed[..cut]),
            Err(SealedStreamError::ChunkAuthentication { index: 1 })
        );
        // Cut inside the final chunk's tag.
        assert_eq!(
            open_all(&k, CONTEXT, &sealed[..sealed.len() - 1]),
            Err(SealedStreamError::ChunkAuthentication { index: 2 })
        );
        // A last piece shorter than a tag.
        assert_eq!(
            open_all(&k, CONTEXT, &sealed[..l.chunk_offset(2) as usize + 3]),
            Err(SealedStreamError::ChunkAuthentication { index: 2 })
        );
    }

    #[test]
    fn trailing_garbage_fails() {
        let k = key(12);
        let len = 3000;
        let sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 12)).unwrap();
        let mut one_byte = sealed.clone();
        one_byte.push(0);
        assert_eq!(
            open_all(&k, CONTEXT, &one_byte),
            Err(SealedStreamError::ChunkAuthentication { index: 2 })
        );
        // A whole extra copy of the final chunk.
        let mut doubled = sealed.clone();
        doubled.extend_from_slice(&sealed[chunk_range(&layout(len), 2)]);
        assert_eq!(
            open_all(&k, CONTEXT, &doubled),
            Err(SealedStreamError::ChunkAuthentication { index: 2 })
        );
    }

    #[test]
    fn swapped_chunks_fail() {
        let k = key(13);
        let len = 3000;
        let sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 13)).unwrap();
        let l = layout(len);
        let (c0, c1) = (chunk_range(&l, 0), chunk_range(&l, 1));
        let mut swapped = sealed[..HEADER_LEN].to_vec();
        swapped.extend_from_slice(&sealed[c1.clone()]);
        swapped.extend_from_slice(&sealed[c0.clone()]);
        swapped.extend_from_slice(&sealed[c1.end..]);
        assert_eq!(swapped.len(), sealed.len());
        assert_eq!(
            open_all(&k, CONTEXT, &swapped),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
        // Each chunk opens only at its own position.
        let opener = StreamOpener::new(&k, CONTEXT, &sealed[..HEADER_LEN]).unwrap();
        assert!(
            opener
                .open_chunk(1, false, &mut sealed[c0.clone()].to_vec())
                .is_err()
        );
        assert!(
            opener
                .open_chunk(0, false, &mut sealed[c0].to_vec())
                .is_ok()
        );
    }

    #[test]
    fn chunk_from_another_context_fails() {
        let k = key(14);
        let len = 3000;
        let l = layout(len);
        let seal = |context: &[u8], seed: u64| {
            let sealer = StreamSealer::with_prefix(&k, context, CS, PREFIX).unwrap();
            seal_in_pieces(sealer, &pattern(len, seed), &[usize::MAX]).0
        };
        let ours = seal(CONTEXT, 1);
        let splice = |donor: &[u8]| {
            let mut spliced = ours.clone();
            spliced[chunk_range(&l, 1)].copy_from_slice(&donor[chunk_range(&l, 1)]);
            spliced
        };
        // Control: same key, header and context, other plaintext, so the
        // spliced chunk authenticates and only the context differs below.
        let same_context = splice(&seal(CONTEXT, 2));
        let opened = open_all(&k, CONTEXT, &same_context).unwrap();
        assert_eq!(&opened[CSU..2 * CSU], &pattern(len, 2)[CSU..2 * CSU]);

        let other_context = splice(&seal(b"recording-0002\x00\x00", 2));
        assert_eq!(
            open_all(&k, CONTEXT, &other_context),
            Err(SealedStreamError::ChunkAuthentication { index: 1 })
        );
        // Same context, but another stream (its own random prefix).
        let other_stream = splice(&seal_all(&k, CONTEXT, CS, &pattern(len, 2)).unwrap());
        assert_eq!(
            open_all(&k, CONTEXT, &other_stream),
            Err(SealedStreamError::ChunkAuthentication { index: 1 })
        );
        // The whole stream opened under another context.
        assert_eq!(
            open_all(&k, b"recording-0002\x00\x00", &ours),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal_all(&key(15), CONTEXT, CS, &pattern(3000, 15)).unwrap();
        assert!(open_all(&key(15), CONTEXT, &sealed).is_ok());
        assert_eq!(
            open_all(&key(16), CONTEXT, &sealed),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
    }

    #[test]
    fn finality_must_match() {
        let k = key(17);
        let len = 2 * CSU;
        let sealed = seal_all(&k, CONTEXT, CS, &pattern(len, 17)).unwrap();
        let l = layout(len);
        let opener = StreamOpener::new(&k, CONTEXT, &sealed[..HEADER_LEN]).unwrap();
        assert_eq!(opener.chunk_size(), CS);
        let chunk = |i| sealed[chunk_range(&l, i)].to_vec();
        assert_eq!(
            opener.open_chunk(1, false, &mut chunk(1)),
            Err(SealedStreamError::ChunkAuthentication { index: 1 }),
            "a final chunk opened as non-final"
        );
        assert_eq!(
            opener.open_chunk(0, true, &mut chunk(0)),
            Err(SealedStreamError::ChunkAuthentication { index: 0 }),
            "a non-final chunk opened as final"
        );
        assert!(opener.open_chunk(1, true, &mut chunk(1)).is_ok());
        assert!(opener.open_chunk(0, false, &mut chunk(0)).is_ok());
        // A non-final chunk must be exactly full.
        let mut short = chunk(0);
        short.pop();
        assert_eq!(
            opener.open_chunk(0, false, &mut short),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
        assert_eq!(
            opener.open_chunk(0, true, &mut [0u8; TAG_LEN - 1]),
            Err(SealedStreamError::ChunkAuthentication { index: 0 })
        );
    }

    #[test]
    fn ranges_open_the_right_bytes() {
        let k = key(18);
        let len = 5000;
        let plaintext = pattern(len, 18);
        let sealed = seal_all(&k, CONTEXT, CS, &plaintext).unwrap();
        let l = layout(len);
        let count = l.chunk_count();
        assert_eq!(count, 5);
        assert_eq!(chunk_range(&l, count - 1).end, sealed.len());
        let opener = StreamOpener::new(&k, CONTEXT, &sealed[..HEADER_LEN]).unwrap();
        let ranges = [
            (0, 1),
            (0, 5000),
            (1023, 1025),
            (1024, 2048),
            (2047, 2049),
            (4999, 5000),
            (4096, 9999),
            (100, 100),
            (300, 200),
            (6000, 7000),
        ];
        for (start, end) in ranges {
            let chunks = l.chunks_for_range(start, end);
            let end = end.min(len as u64);
            if start >= end {
                assert!(chunks.is_empty(), "{start}..{end}: {chunks:?}");
                continue;
            }
            let mut opened = Vec::new();
            for i in chunks.clone() {
                let mut piece = sealed[chunk_range(&l, i)].to_vec();
                opened.extend_from_slice(opener.open_chunk(i, i + 1 == count, &mut piece).unwrap());
            }
            let base = chunks.start * u64::from(CS);
            let (from, to) = ((start - base) as usize, (end - base) as usize);
            assert_eq!(&opened[from..to], &plaintext[start as usize..end as usize]);
            // The fewest chunks: the first holds `start`, the last holds `end - 1`.
            assert!(from < CSU, "{start}..{end}: first chunk is unneeded");
            assert!(
                opened.len() - to < CSU,
                "{start}..{end}: last chunk is unneeded"
            );
        }
    }

    #[test]
    fn layout_arithmetic() {
        let at = |len: u64| StreamLayout {
            chunk_size: CS,
            plaintext_len: len,
        };
        assert_eq!(at(0).chunk_count(), 1);
        assert_eq!(at(1).chunk_count(), 1);
        assert_eq!(at(1024).chunk_count(), 1);
        assert_eq!(at(1025).chunk_count(), 2);
        assert_eq!(at(0).sealed_len(), 35);
        assert_eq!(at(1025).sealed_len(), 19 + 1025 + 32);
        assert_eq!(at(1025).chunk_plaintext_len(0), Some(1024));
        assert_eq!(at(1025).chunk_plaintext_len(1), Some(1));
        assert_eq!(at(1025).chunk_plaintext_len(2), None);
        assert_eq!(at(2048).chunk_plaintext_len(1), Some(1024));
        assert_eq!(at(0).chunk_plaintext_len(0), Some(0));
        assert_eq!(at(0).chunk_offset(0), 19);
        assert_eq!(at(5000).chunk_offset(3), 19 + 3 * 1040);
        assert_eq!(at(5000).chunks_for_range(1024, 1025), 1..2);
        assert_eq!(at(0).chunks_for_range(0, 10), 0..0);
        // Degenerate layouts neither panic nor overflow.
        let zero = StreamLayout {
            chunk_size: 0,
            plaintext_len: 3,
        };
        assert_eq!(zero.chunk_count(), 3);
        assert_eq!(zero.chunk_plaintext_len(2), Some(1));
        assert_eq!(at(u64::MAX).sealed_len(), u64::MAX);
        assert_eq!(at(u64::MAX).chunk_offset(u64::MAX), u64::MAX);
        assert_eq!(
            at(u64::MAX).chunks_for_range(u64::MAX - 1, u64::MAX).end,
            u64::MAX / 1024 + 1
        );
    }

    #[test]
    fn chunk_size_bounds() {
        let k = key(19);
        for bad in [0, MIN_CHUNK_SIZE - 1, MAX_CHUNK_SIZE + 1, u32::MAX] {
            assert!(matches!(
                StreamSealer::new(&k, CONTEXT, bad),
                Err(SealedStreamError::BadHeader { .. })
            ));
            let header = encode_header(bad, &PREFIX);
            assert!(matches!(
                StreamOpener::new(&k, CONTEXT, &header),
                Err(SealedStreamError::BadHeader { .. })
            ));
        }
        for good in [MIN_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE] {
            let sealer = StreamSealer::new(&k, CONTEXT, good).unwrap();
            assert_eq!(
                StreamOpener::new(&k, CONTEXT, &sealer.header())
                    .unwrap()
                    .chunk_size(),
                good
            );
        }
        let header = encode_header(CS, &PREFIX);
        let mut long = header.to_vec();
        long.push(0);
        assert_eq!(
            StreamOpener::new(&k, CONTEXT, &long).unwrap_err(),
            SealedStreamError::BadHeader {
                reason: HEADER_TOO_LONG
            }
        );
        assert_eq!(
            StreamOpener::new(&k, CONTEXT, &header[..HEADER_LEN - 1]).unwrap_err(),
            SealedStreamError::BadHeader {
                reason: HEADER_TOO_SHORT
            }
        );
    }

    #[test]
    fn more_than_u32_chunks_is_too_long() {
        let k = key(20);
        let mut sealer = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
        sealer.next_index = u64::from(u32::MAX);
        let mut out = Vec::new();
        // Chunk u32::MAX may only be the final one.
        assert_eq!(
            sealer.push(&pattern(CSU + 1, 20), &mut out),
            Err(SealedStreamError::TooLong)
        );
        let mut last = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
        last.next_index = u64::from(u32::MAX);
        last.push(&pattern(CSU, 20), &mut out).unwrap();
        assert!(last.finish(&mut out).is_ok());
        let mut beyond = StreamSealer::with_prefix(&k, CONTEXT, CS, PREFIX).unwrap();
        beyond.next_index = u64::from(u32::MAX) + 1;
        assert_eq!(beyond.finish(&mut out), Err(SealedStreamError::TooLong));
        let opener = StreamOpener::new(&k, CONTEXT, &encode_header(CS, &PREFIX)).unwrap();
        assert_eq!(
            opener.open_chunk(u64::from(u32::MAX) + 1, true, &mut [0u8; TAG_LEN]),
            Err(SealedStreamError::TooLong)
        );
    }

    #[test]
    fn error_codes_and_messages() {
        let cases = [
            (SealedStreamError::BadHeader { reason: "x" }, "bad_header"),
            (
                SealedStreamError::ChunkAuthentication { index: 42 },
                "chunk_authentication",
            ),
            (SealedStreamError::Truncated, "truncated"),
            (SealedStreamError::TooLong, "too_long"),
            (SealedStreamError::Random, "random_source"),
            (
                SealedStreamError::Backend { operation: "y" },
                "crypto_backend",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert!(!err.to_string().is_empty());
        }
        assert_eq!(
            SealedStreamError::ChunkAuthentication { index: 42 }.to_string(),
            "chunk 42 does not authenticate: altered, reordered, from another recording, or the wrong key"
        );
        assert_eq!(
            SealedStreamError::Truncated.to_string(),
            "the recording ends before its final chunk"
        );
    }

    #[test]
    fn keys_are_random_and_never_printed() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        let k = DataKey::from_bytes([0xAB; 32]);
        assert_eq!(k.as_bytes(), &[0xAB; 32]);
        assert_eq!(format!("{k:?}"), "DataKey(..)");
        let mut sealer = StreamSealer::new(&k, CONTEXT, CS).unwrap();
        sealer.push(b"secret words", &mut Vec::new()).unwrap();
        let shown = format!("{sealer:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("115"),
            "{shown}"
        );
        let opener = StreamOpener::new(&k, CONTEXT, &sealer.header()).unwrap();
        assert!(!format!("{opener:?}").contains("171"));
    }

    proptest! {
        #[test]
        fn prop_open_all_inverts_push_sealing(
            len in 0usize..200_000,
            seed in any::<u64>(),
            chunk_size in 1024u32..70_000,
            pieces in proptest::collection::vec(1usize..100_000, 1..6),
        ) {
            let k = key(21);
            let plaintext = pattern(len, seed);
            let sealer = StreamSealer::new(&k, CONTEXT, chunk_size).unwrap();
            let (sealed, total) = seal_in_pieces(sealer, &plaintext, &pieces);
            prop_assert_eq!(total, len as u64);
            let layout = StreamLayout { chunk_size, plaintext_len: len as u64 };
            prop_assert_eq!(sealed.len() as u64, layout.sealed_len());
            let opened = open_all(&k, CONTEXT, &sealed).unwrap();
            prop_assert!(opened == plaintext, "round trip differs");
        }
    }
}
