//! Storing a recording: the upload's claims are checked against the policy
//! before a byte of audio is read, the audio is sealed chunk by chunk as it
//! arrives (memory stays flat whatever the length), and the recording
//! becomes visible only once its blob is complete and its key and metadata
//! are committed.

use std::collections::BTreeSet;
use std::str::FromStr;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::path::Path as BlobPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use tutela_domain::audit::{Action, ObjectKind, ObjectRef, Outcome};
use tutela_domain::{
    CallId, Campaign, InvalidValue, PauseSpan, PersonAnswer, Purpose, RecordingId, SubjectId,
    Timestamp, UploadClaims, check_pauses, check_upload,
};
use tutela_storage::{RecordingMeta, StoredRecording};

use super::{Vault, blob_error};
use crate::audit::object;
use crate::grants::UploadRecordings;
use crate::sealed_stream::{DataKey, StreamSealer};
use crate::{App, AppError, TenantGrant};

/// Bytes of a multipart upload's part (S3's minimum is 5 MiB).
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts in flight at once: with the part being filled, memory stays
/// under about 16 MiB per upload whatever the recording's length.
const PARTS_IN_FLIGHT: usize = 2;
/// Sealed bytes gathered before they are handed to the upload.
const FLUSH_AT: usize = 1024 * 1024;

/// The operator who handled the call, as the PBX names them (extension,
/// agent id): stored only as a pseudonym and sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorId(String);

impl FromStr for OperatorId {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:@".contains(&b));
        if !ok {
            return Err(InvalidValue::new(
                "must be 1 to 64 letters, digits or -._:@ characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

/// What the PBX says about a recording it uploads.
#[derive(Debug, Clone)]
pub struct RecordingUpload {
    /// The campaign (its policy, or the controller's default).
    pub campaign: Campaign,
    /// The call.
    pub call: CallId,
    /// Purposes the recording serves.
    pub purposes: BTreeSet<Purpose>,
    /// True when the announcement preceded recording.
    pub announced: bool,
    /// What the person answered.
    pub answer: PersonAnswer,
    /// Secure pauses (never in the audio).
    pub pauses: Vec<PauseSpan>,
    /// Who handled the call.
    pub operator: OperatorId,
    /// The person called, when the PBX knows them.
    pub subject: Option<SubjectId>,
    /// When the call was recorded (the upload's instant when absent).
    pub recorded_at: Option<Timestamp>,
}

impl App {
    /// Stores a recording. An upload that breaks the policy is refused
    /// with every reason before any audio is read, and nothing is stored.
    /// The audio is sealed before it leaves the process; the blob becomes
    /// visible only complete, and the recording exists only once its key
    /// and metadata are committed, so a crash at any point leaves no
    /// plaintext and no half-visible recording.
    pub async fn upload_recording<S>(
        &self,
        grant: &TenantGrant<UploadRecordings>,
        upload: RecordingUpload,
        audio: S,
    ) -> Result<(RecordingId, u64), AppError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        let vault = self.vault()?;
        let controller = grant.controller();
        let now = self.clock.now();
        check_pauses(&upload.pauses).map_err(|e| AppError::invalid("pauses", e.reason))?;
        if let Some(subject) = upload.subject
            && self.store.subject(controller, subject).await?.is_none()
        {
            return Err(AppError::invalid("subject_id", "no such subject"));
        }
        let policy = self
            .recording_policy_in_force(controller, &upload.campaign)
            .await?;
        self.store
            .note_recording_call(controller, &upload.call, &upload.campaign, now)
            .await?;
        let claims = UploadClaims {
            campaign: upload.campaign.clone(),
            call: upload.call.clone(),
            purposes: upload.purposes.clone(),
            announced: upload.announced,
            answer: upload.answer,
        };
        let reasons = check_upload(&policy, controller, &claims);
        if let Some(first) = reasons.first() {
            let call = object(ObjectKind::Call, upload.call.as_str())?;
            let mut event = grant.event(Action::RecordingUpload, now).object(call);
            event.outcome = Outcome::denied(first.as_str());
            self.record(vec![event]).await?;
            let list: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
            return Err(AppError::Refused {
                code: "recording_refused",
                message: format!(
                    "the recording breaks the policy and was not stored: {}",
                    list.join(", ")
                ),
            });
        }

        let id = RecordingId::generate();
        let data_key = DataKey::generate()?;
        let wrapped = vault
            .keys
            .wrap(controller, &data_key, id.0.as_bytes())
            .await?;
        let blob_key = format!("{controller}/{id}.rec");
        let path = BlobPath::from(blob_key.as_str());
        let plaintext_len = vault
            .write_sealed(&path, &data_key, id.0.as_bytes(), audio)
            .await?;
        let keys = self.keys.controller_keys(controller)?;
        let recording = StoredRecording {
            id,
            controller,
            campaign: upload.campaign,
            call: upload.call,
            subject: upload.subject,
            recorded_at: upload.recorded_at.unwrap_or(now),
            stored_at: self.clock.now(),
            meta: RecordingMeta {
                purposes: upload.purposes,
                answer: upload.answer,
                pauses: upload.pauses,
                plaintext_len,
                chunk_size: vault.chunk_size,
                operator_pseudonym: keys.operator_pseudonym(&upload.operator.0),
            },
            operator_sealed: self
                .keys
                .seal(id.0.as_bytes(), upload.operator.0.as_bytes())?,
            blob_key,
            legal_hold: None,
            shredded: None,
            blob_deleted_at: None,
        };
        let target = object(ObjectKind::Recording, id)?;
        let events = self
            .recording_events(grant, Action::RecordingUpload, &recording, target)
            .await?;
        let stored = self
            .audited_on(events, async {
                self.store.insert_recording(&recording, &wrapped).await?;
                Ok(())
            })
            .await;
        if let Err(e) = stored {
            // The blob without its key is unreadable; deleting it keeps the
            // store tidy, and a failure here is only logged.
            if let Err(cleanup) = vault.blobs.delete(&path).await {
                tracing::warn!(recording_id = %id, error = %blob_error(cleanup), "orphan recording blob left");
            }
            return Err(e);
        }
        tracing::info!(controller_id = %controller, recording_id = %id, bytes = plaintext_len, "recording stored");
        Ok((id, plaintext_len))
    }

    /// One audit event on `target` about `recording`, naming its subject by
    /// pseudonym when it has one.
    pub(crate) async fn recording_events<P: crate::grants::TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        action: Action,
        recording: &StoredRecording,
        target: ObjectRef,
    ) -> Result<Vec<tutela_domain::audit::AuditEvent>, AppError> {
        let mut events = match recording.subject {
            Some(subject) => self.subject_events(grant, action, &[subject]).await?,
            None => Vec::new(),
        };
        if events.is_empty() {
            events.push(grant.event(action, self.clock.now()));
        }
        Ok(events
            .into_iter()
            .map(|e| e.object(target.clone()))
            .collect())
    }
}

impl Vault {
    /// Seals `audio` into a new blob at `path`; returns the plaintext
    /// length. On any failure the multipart upload is aborted, so nothing
    /// becomes visible.
    async fn write_sealed<S>(
        &self,
        path: &BlobPath,
        key: &DataKey,
        context: &[u8],
        mut audio: S,
    ) -> Result<u64, AppError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        let upload = self.blobs.put_multipart(path).await.map_err(blob_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let sealed = async {
            let mut sealer = StreamSealer::new(key, context, self.chunk_size)?;
            let capacity = FLUSH_AT + self.chunk_size as usize * 2;
            let mut out = Vec::with_capacity(capacity);
            out.extend_from_slice(&sealer.header());
            while let Some(piece) = audio.next().await {
                let piece = piece.map_err(|e| {
                    AppError::invalid(
                        "audio",
                        format!("the upload broke off ({}); nothing was stored", e.kind()),
                    )
                })?;
                sealer.push(&piece, &mut out)?;
                if out.len() >= FLUSH_AT {
                    writer
                        .wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .map_err(blob_error)?;
                    // Handed over, not copied: parts are made of these
                    // buffers as they are.
                    let full = std::mem::replace(&mut out, Vec::with_capacity(capacity));
                    writer.put(Bytes::from(full));
                }
            }
            let len = sealer.finish(&mut out)?;
            writer.put(Bytes::from(out));
            Ok::<_, AppError>(len)
        }
        .await;
        match sealed {
            Ok(len) => {
                writer.finish().await.map_err(blob_error)?;
                Ok(len)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %blob_error(abort), "aborting a failed recording upload failed");
                }
                Err(e)
            }
        }
    }
}
