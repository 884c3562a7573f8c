//! The recordings vault's metadata: policies, the calls a quota counts,
//! recordings with their wrapped data keys, and listens. The audio itself
//! is an encrypted blob in an object store; this store holds the only copy
//! of each recording's data key (wrapped), so deleting that row destroys
//! the recording wherever its blob is.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tutela_domain::{
    CallId, Campaign, ControllerId, PauseSpan, PersonAnswer, Purpose, RecordingId, SubjectId,
    Timestamp,
};

use crate::StorageError;

/// A data key wrapped by a controller's key-encryption key of `kek_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which version of the controller's key-encryption key wraps it.
    pub kek_version: u32,
    /// The wrapped key, as the key provider produced it.
    pub wrapped: Vec<u8>,
}

/// A recording's description, stored as JSON: nothing in it names the
/// person or the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// Purposes the recording serves.
    pub purposes: BTreeSet<Purpose>,
    /// What the person answered to the announcement.
    pub answer: PersonAnswer,
    /// Secure pauses: spans never recorded.
    pub pauses: Vec<PauseSpan>,
    /// Length of the audio in bytes.
    pub plaintext_len: u64,
    /// Plaintext bytes per sealed chunk.
    pub chunk_size: u32,
    /// The operator's pseudonym (stable per controller; not reversible
    /// without the sealed value).
    pub operator_pseudonym: String,
}

/// One stored recording's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecording {
    /// The recording.
    pub id: RecordingId,
    /// Whose.
    pub controller: ControllerId,
    /// The campaign (quota and policy).
    pub campaign: Campaign,
    /// The PBX's call.
    pub call: CallId,
    /// The person recorded, when known (cleared on erasure).
    pub subject: Option<SubjectId>,
    /// When the call was recorded (retention runs from here).
    pub recorded_at: Timestamp,
    /// When the upload completed.
    pub stored_at: Timestamp,
    /// Purposes, answer, pauses, layout and operator pseudonym.
    pub meta: RecordingMeta,
    /// The operator's identifier, sealed with the service's key.
    pub operator_sealed: Vec<u8>,
    /// The blob's key in the recordings store.
    pub blob_key: String,
    /// The reason of a legal hold, while one holds.
    pub legal_hold: Option<String>,
    /// When the data key was destroyed, and why (`retention`, `erased`).
    pub shredded: Option<(Timestamp, String)>,
    /// When the blob was deleted after shredding.
    pub blob_deleted_at: Option<Timestamp>,
}

/// The result of counting a listen against a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenClaim {
    /// A first listen this month, within the allowance: now counted.
    Counted,
    /// Already counted this month (seeking, replay): free.
    AlreadyCounted,
    /// The month's allowance is used up.
    QuotaExhausted {
        /// Distinct recordings already listened to this month.
        used: u64,
        /// The allowance.
        allowance: u64,
    },
}

/// The vault's metadata.
#[async_trait]
pub trait RecordingRepository: Send + Sync {
    /// Stores `policy` (JSON) for the controller's campaign, replacing the
    /// previous one; returns its version (1, 2, …).
    async fn set_recording_policy(
        &self,
        controller: ControllerId,
        campaign: &Campaign,
        policy: &str,
        at: Timestamp,
    ) -> Result<u32, StorageError>;

    /// The policy (JSON) and its version for the campaign, if one was set.
    async fn recording_policy(
        &self,
        controller: ControllerId,
        campaign: &Campaign,
    ) -> Result<Option<(String, u32)>, StorageError>;

    /// Notes a call (once: a repeated call id is ignored) for the quota.
    async fn note_recording_call(
        &self,
        controller: ControllerId,
        call: &CallId,
        campaign: &Campaign,
        at: Timestamp,
    ) -> Result<(), StorageError>;

    /// Calls of the campaign first seen in [from, to).
    async fn campaign_calls(
        &self,
        controller: ControllerId,
        campaign: &Campaign,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<u64, StorageError>;

    /// Stores a recording and its wrapped key in one transaction;
    /// `Conflict` when the controller already has a recording of the call.
    async fn insert_recording(
        &self,
        recording: &StoredRecording,
        key: &WrappedKey,
    ) -> Result<(), StorageError>;

    /// A recording of the controller with its wrapped key (`None` once
    /// shredded).
    async fn recording(
        &self,
        controller: ControllerId,
        id: RecordingId,
    ) -> Result<Option<(StoredRecording, Option<WrappedKey>)>, StorageError>;

    /// A page of the controller's recordings in id order after `after`;
    /// with `live_only`, only those whose key still exists.
    async fn recordings(
        &self,
        controller: ControllerId,
        after: Option<RecordingId>,
        limit: u32,
        live_only: bool,
    ) -> Result<Vec<StoredRecording>, StorageError>;

    /// Counts a listen of `recording` against the campaign's month starting
    /// at `month`, atomically with the check against `allowance`.
    async fn claim_listen(
        &self,
        controller: ControllerId,
        campaign: &Campaign,
        month: Timestamp,
        recording: RecordingId,
        at: Timestamp,
        allowance: u64,
    ) -> Result<ListenClaim, StorageError>;

    /// Places (`Some(reason)`) or lifts (`None`) a legal hold; false when
    /// the controller has no such recording.
    async fn set_legal_hold(
        &self,
        controller: ControllerId,
        id: RecordingId,
        hold: Option<&str>,
    ) -> Result<bool, StorageError>;

    /// Destroys the data keys of `ids` (crypto-shredding), skipping held
    /// recordings; returns how many were shredded.
    async fn shred_recordings(
        &self,
        controller: ControllerId,
        ids: &[RecordingId],
        at: Timestamp,
        reason: &str,
    ) -> Result<u64, StorageError>;

    /// Shredded recordings whose blob is still to be deleted, oldest first.
    async fn blobs_to_delete(&self, limit: u32)
    -> Result<Vec<(RecordingId, String)>, StorageError>;

    /// Records that the blob of `id` is gone.
    async fn mark_blob_deleted(&self, id: RecordingId, at: Timestamp) -> Result<(), StorageError>;

    /// Keys of the controller wrapped by a key-encryption key version other
    /// than `current`, up to `limit`.
    async fn keys_to_rewrap(
        &self,
        controller: ControllerId,
        current: u32,
        limit: u32,
    ) -> Result<Vec<(RecordingId, WrappedKey)>, StorageError>;

    /// Replaces wrapped keys in one transaction; a key shredded meanwhile
    /// stays shredded (its row is not recreated).
    async fn replace_wrapped_keys(
        &self,
        keys: &[(RecordingId, WrappedKey)],
    ) -> Result<(), StorageError>;

    /// Every recording of one person (shredded ones included, to say so),
    /// oldest first.
    async fn subject_recordings(
        &self,
        controller: ControllerId,
        subject: SubjectId,
    ) -> Result<Vec<StoredRecording>, StorageError>;
}
