//! Listening: only for a purpose the recording serves, within the
//! campaign's monthly quota, every access recorded with its result, and
//! only verified plaintext ever served (chunk by chunk, for any byte range,
//! so a browser player can seek).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tutela_domain::audit::{Action, ObjectKind, Outcome};
use tutela_domain::{RecordingId, listen_allowance, month_of};
use tutela_storage::{ListenClaim, StoredRecording};

use super::blob_error;
use crate::audit::object;
use crate::grants::ListenRecordings;
use crate::sealed_stream::{HEADER_LEN, StreamLayout, StreamOpener, TAG_LEN};
use crate::{App, AppError, TenantGrant};

/// Chunks read from the store per request while streaming (1 MiB of
/// audio at the default chunk size).
const CHUNKS_PER_READ: u64 = 16;

/// A byte range as an HTTP `Range` header asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=start-`.
    From(u64),
    /// `bytes=start-end` (end inclusive).
    Inclusive(u64, u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The range within a recording of `len` bytes, or `None` when it
    /// holds no byte of it (HTTP 416).
    pub fn resolve(self, len: u64) -> Option<Range<u64>> {
        let range = match self {
            Self::From(start) => start..len,
            Self::Inclusive(start, end) if end >= start => start..end.saturating_add(1).min(len),
            Self::Inclusive(..) => return None,
            Self::Suffix(n) => len.saturating_sub(n)..len,
        };
        (range.start < range.end).then_some(range)
    }
}

/// Verified audio of a recording, streamed.
pub struct RecordingAudio {
    /// The recording's whole length in bytes.
    pub total_len: u64,
    /// The bytes this stream carries.
    pub range: Range<u64>,
    /// The bytes, in order; an item is yielded only after its chunk
    /// authenticated. An error ends the stream.
    pub body: BoxStream<'static, Result<Bytes, AppError>>,
}

impl std::fmt::Debug for RecordingAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingAudio")
            .field("total_len", &self.total_len)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// Reads and opens chunks of one sealed blob.
struct ChunkReader {
    blobs: Arc<dyn ObjectStore>,
    path: BlobPath,
    opener: StreamOpener,
    layout: StreamLayout,
    range: Range<u64>,
    next_chunk: u64,
    end_chunk: u64,
}

impl ChunkReader {
    /// The next verified piece of the range, or `None` at its end.
    async fn next_piece(&mut self) -> Result<Option<Bytes>, AppError> {
        if self.next_chunk >= self.end_chunk {
            return Ok(None);
        }
        let first = self.next_chunk;
        let last = (first + CHUNKS_PER_READ).min(self.end_chunk);
        let start = self.layout.chunk_offset(first);
        let end = self.layout.chunk_offset(last);
        let mut sealed = self
            .blobs
            .get_range(&self.path, start..end)
            .await
            .map_err(blob_error)?
            .to_vec();
        let chunk_count = self.layout.chunk_count();
        let chunk_size = u64::from(self.layout.chunk_size);
        let mut out = Vec::with_capacity(sealed.len());
        let mut rest = sealed.as_mut_slice();
        for index in first..last {
            let plain_len = self
                .layout
                .chunk_plaintext_len(index)
                .ok_or_else(|| AppError::internal("chunk index beyond the recording"))?;
            let (chunk, tail) = rest
                .split_at_mut_checked(plain_len as usize + TAG_LEN)
                .ok_or_else(|| AppError::Damaged {
                    detail: format!("chunk {index} is cut short"),
                })?;
            rest = tail;
            let plain = self
                .opener
                .open_chunk(index, index + 1 == chunk_count, chunk)?;
            // Only the part of the chunk inside the range is served.
            let chunk_start = index * chunk_size;
            let from = self.range.start.saturating_sub(chunk_start) as usize;
            let to = (self.range.end - chunk_start).min(plain.len() as u64) as usize;
            out.extend_from_slice(plain.get(from..to).unwrap_or(&[]));
        }
        self.next_chunk = last;
        Ok(Some(Bytes::from(out)))
    }
}

impl App {
    /// Opens a recording for listening by a reviewer or supervisor of its
    /// controller, for the grant's purpose (which the recording must
    /// serve), with an optional ticket reference. Counts a first listen
    /// this month against the campaign's quota. Every outcome is recorded:
    /// accessed, or refused for purpose, quota, missing recording or
    /// destroyed key. The length is checked and the first piece verified
    /// before this returns, so a truncated or altered recording fails here
    /// with a clear error instead of midway through a response.
    pub async fn listen_recording(
        &self,
        grant: &TenantGrant<ListenRecordings>,
        id: RecordingId,
        ticket: Option<&str>,
        range: Option<ByteRange>,
    ) -> Result<RecordingAudio, AppError> {
        let vault = self.vault()?;
        let controller = grant.controller();
        let now = self.clock.now();
        let target = match ticket {
            Some(t) => object(ObjectKind::Recording, format!("{id}:{t}")).map_err(|_| {
                AppError::invalid("ticket", "must be 1 to 40 letters, digits or -._:")
            })?,
            None => object(ObjectKind::Recording, id)?,
        };
        let refuse = |code: &str| {
            let mut event = grant
                .event(Action::RecordingListen, now)
                .object(target.clone());
            event.outcome = Outcome::denied(code);
            event
        };
        let Some((recording, key)) = self.store.recording(controller, id).await? else {
            self.record(vec![refuse("missing")]).await?;
            return Err(AppError::NotFound);
        };
        let Some(key) = key else {
            self.record(vec![refuse("key_destroyed")]).await?;
            return Err(AppError::KeyDestroyed);
        };
        if !recording.meta.purposes.contains(grant.purpose()) {
            self.record(vec![refuse("purpose_not_served")]).await?;
            return Err(AppError::Refused {
                code: "purpose_not_served",
                message: "the recording was not made for the declared purpose".into(),
            });
        }
        self.claim_quota(&recording, now, &refuse).await?;
        let opened = vault.open_audio(&recording, &key, range).await;
        let audio = match opened {
            Ok(audio) => audio,
            Err(AppError::KeyDestroyed) => {
                self.record(vec![refuse("key_destroyed")]).await?;
                return Err(AppError::KeyDestroyed);
            }
            Err(e @ AppError::RangeNotSatisfiable { .. }) => return Err(e),
            Err(e) => {
                self.record(vec![refuse(e.code())]).await?;
                tracing::error!(recording_id = %id, code = e.code(), detail = %e.detail(), "recording does not open");
                return Err(e);
            }
        };
        let events = self
            .recording_events(grant, Action::RecordingListen, &recording, target)
            .await?;
        self.record(events).await?;
        Ok(audio)
    }

    /// Counts a first listen of `recording` this month against its
    /// campaign's quota (a repeat listen is free); a refusal is recorded.
    async fn claim_quota(
        &self,
        recording: &StoredRecording,
        now: tutela_domain::Timestamp,
        refuse: &impl Fn(&str) -> tutela_domain::audit::AuditEvent,
    ) -> Result<(), AppError> {
        let policy = self
            .recording_policy_in_force(recording.controller, &recording.campaign)
            .await?;
        let (month, next) = month_of(now);
        let calls = self
            .store
            .campaign_calls(recording.controller, &recording.campaign, month, next)
            .await?;
        let allowance = listen_allowance(calls, policy.listen_quota_basis_points());
        match self
            .store
            .claim_listen(
                recording.controller,
                &recording.campaign,
                month,
                recording.id,
                now,
                allowance,
            )
            .await?
        {
            ListenClaim::Counted | ListenClaim::AlreadyCounted => Ok(()),
            ListenClaim::QuotaExhausted { used, allowance } => {
                self.record(vec![refuse("quota_exhausted")]).await?;
                Err(AppError::QuotaExhausted { used, allowance })
            }
        }
    }
}

impl super::Vault {
    /// Opens `recording` for reading `range` (all of it when `None`): the
    /// data key unwrapped, the blob's length checked and the first piece
    /// verified before this returns, so a truncated or altered recording
    /// fails here, not midway through a response. A destroyed key is
    /// [`AppError::KeyDestroyed`].
    pub(crate) async fn open_audio(
        &self,
        recording: &StoredRecording,
        key: &tutela_storage::WrappedKey,
        range: Option<ByteRange>,
    ) -> Result<RecordingAudio, AppError> {
        let id = recording.id;
        let data_key = self
            .keys
            .unwrap(recording.controller, key, id.0.as_bytes())
            .await?;
        let layout = StreamLayout {
            chunk_size: recording.meta.chunk_size,
            plaintext_len: recording.meta.plaintext_len,
        };
        let total_len = layout.plaintext_len;
        let range = match range {
            None => 0..total_len,
            Some(r) => r
                .resolve(total_len)
                .ok_or(AppError::RangeNotSatisfiable { len: total_len })?,
        };
        let vault = self;
        let opened = async {
            let path = BlobPath::from(recording.blob_key.as_str());
            let meta = vault.blobs.head(&path).await.map_err(|e| match e {
                object_store::Error::NotFound { .. } => AppError::Damaged {
                    detail: "the blob is missing".into(),
                },
                other => blob_error(other),
            })?;
            if meta.size != layout.sealed_len() {
                return Err(AppError::Damaged {
                    detail: format!(
                        "the blob holds {} bytes where {} are expected: truncated or extended",
                        meta.size,
                        layout.sealed_len()
                    ),
                });
            }
            let header = vault
                .blobs
                .get_range(&path, 0..HEADER_LEN as u64)
                .await
                .map_err(blob_error)?;
            let opener = StreamOpener::new(&data_key, id.0.as_bytes(), &header)?;
            let chunks = if range.is_empty() {
                0..0
            } else {
                layout.chunks_for_range(range.start, range.end)
            };
            let mut reader = ChunkReader {
                blobs: vault.blobs.clone(),
                path,
                opener,
                layout,
                range: range.clone(),
                next_chunk: chunks.start,
                end_chunk: chunks.end,
            };
            let first = reader.next_piece().await?;
            Ok((reader, first))
        }
        .await;
        let (reader, first) = opened?;
        let rest = stream::try_unfold(reader, |mut reader| async move {
            Ok(reader.next_piece().await?.map(|piece| (piece, reader)))
        });
        let body = stream::iter(first.map(Ok)).chain(rest).boxed();
        Ok(RecordingAudio {
            total_len,
            range,
            body,
        })
    }
}
