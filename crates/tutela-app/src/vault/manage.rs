//! Policies, the before-the-call decision, the reviewers' list, legal
//! holds, retention purges, key rotation and resolving an operator.

use std::collections::{BTreeSet, HashMap};

use object_store::ObjectStoreExt;
use object_store::path::Path as BlobPath;
use tutela_domain::audit::{Action, ObjectKind};
use tutela_domain::{
    CallId, Campaign, ControllerId, PauseSpan, Purpose, RecordingDecision, RecordingId,
    RecordingPolicy, Retention, coarse_day, decide_recording, retention,
};
use tutela_storage::StoredRecording;

use super::blob_error;
use crate::audit::object;
use crate::grants::{
    ListenRecordings, ManageRecordings, PlatformGrant, ResolveOperators, RotateKeys,
    UploadRecordings,
};
use crate::{App, AppError, TenantGrant};

/// Recordings handled per storage round trip by the purge and rotation.
const BATCH: u32 = 500;

/// A recording as a reviewer sees it: the day, not the minute; the
/// operator's pseudonym, not their identity; no subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingView {
    /// The recording.
    pub id: RecordingId,
    /// The campaign.
    pub campaign: Campaign,
    /// The day (UTC) it was recorded.
    pub day: jiff::civil::Date,
    /// Purposes it serves.
    pub purposes: BTreeSet<Purpose>,
    /// The operator's pseudonym.
    pub operator: String,
    /// Length in bytes.
    pub bytes: u64,
    /// Secure pauses.
    pub pauses: Vec<PauseSpan>,
    /// True while under a legal hold.
    pub held: bool,
}

impl From<&StoredRecording> for RecordingView {
    fn from(r: &StoredRecording) -> Self {
        Self {
            id: r.id,
            campaign: r.campaign.clone(),
            day: coarse_day(r.recorded_at),
            purposes: r.meta.purposes.clone(),
            operator: r.meta.operator_pseudonym.clone(),
            bytes: r.meta.plaintext_len,
            pauses: r.meta.pauses.clone(),
            held: r.legal_hold.is_some(),
        }
    }
}

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Recordings whose data key was destroyed by this run.
    pub shredded: u64,
    /// Blobs deleted (of recordings shredded now or earlier).
    pub blobs_deleted: u64,
    /// Recordings kept under a legal hold although past retention.
    pub held: u64,
    /// Staged uploads left by killed processes, removed (local folder).
    pub abandoned_uploads: u64,
}

/// What a key rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// The new current version.
    pub version: u32,
    /// Data keys re-wrapped under it (no audio was re-encrypted).
    pub rewrapped: u64,
}

/// An operator resolved from a recording's pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorReveal {
    /// The operator as the PBX named them.
    pub operator: String,
    /// The pseudonym reviewers see.
    pub pseudonym: String,
}

impl App {
    /// The policy for the campaign: its own, else the controller's
    /// default, else off.
    pub(crate) async fn recording_policy_in_force(
        &self,
        controller: ControllerId,
        campaign: &Campaign,
    ) -> Result<RecordingPolicy, AppError> {
        let mut stored = self.store.recording_policy(controller, campaign).await?;
        if stored.is_none() && !campaign.is_default() {
            stored = self
                .store
                .recording_policy(controller, &Campaign::default_campaign())
                .await?;
        }
        match stored {
            Some((json, _)) => serde_json::from_str(&json)
                .map_err(|_| AppError::internal("a stored recording policy does not parse")),
            None => Ok(RecordingPolicy::default()),
        }
    }

    /// Sets the campaign's policy (`default` for the controller's default);
    /// returns its version. Applies at once, also to recordings already
    /// stored (retention is computed from the policy in force).
    pub async fn set_recording_policy(
        &self,
        grant: &TenantGrant<ManageRecordings>,
        campaign: &Campaign,
        policy: &RecordingPolicy,
    ) -> Result<u32, AppError> {
        let json = serde_json::to_string(&policy.to_draft())
            .map_err(|_| AppError::internal("a recording policy does not serialise"))?;
        let event = grant
            .event(Action::RecordingPolicySet, self.clock.now())
            .object(object(ObjectKind::RecordingPolicy, campaign)?);
        self.audited(event, async {
            Ok(self
                .store
                .set_recording_policy(grant.controller(), campaign, &json, self.clock.now())
                .await?)
        })
        .await
    }

    /// The campaign's policy in force, for people and the PBX.
    pub async fn recording_policy<P: crate::grants::TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        campaign: &Campaign,
    ) -> Result<RecordingPolicy, AppError> {
        self.recording_policy_in_force(grant.controller(), campaign)
            .await
    }

    /// Decides before the call whether it is recorded, and notes the call
    /// for the listening quota.
    pub async fn decide_recording(
        &self,
        grant: &TenantGrant<UploadRecordings>,
        campaign: &Campaign,
        call: &CallId,
    ) -> Result<RecordingDecision, AppError> {
        let controller = grant.controller();
        let now = self.clock.now();
        let policy = self.recording_policy_in_force(controller, campaign).await?;
        let decision = decide_recording(&policy, controller, campaign, call);
        let mut event = grant
            .event(Action::RecordingDecide, now)
            .object(object(ObjectKind::Call, call.as_str())?);
        if let Some(reason) = decision.reason {
            event.outcome = tutela_domain::audit::Outcome::denied(reason.as_str());
        }
        self.record(vec![event]).await?;
        self.store
            .note_recording_call(controller, call, campaign, now)
            .await?;
        Ok(decision)
    }

    /// A page of the controller's readable recordings for review.
    pub async fn recordings_for_review(
        &self,
        grant: &TenantGrant<ListenRecordings>,
        after: Option<RecordingId>,
        limit: u32,
    ) -> Result<Vec<RecordingView>, AppError> {
        let event = grant.event(Action::RecordingList, self.clock.now());
        let page = self
            .audited(event, async {
                Ok(self
                    .store
                    .recordings(grant.controller(), after, limit.min(crate::MAX_PAGE), true)
                    .await?)
            })
            .await?;
        Ok(page.iter().map(RecordingView::from).collect())
    }

    /// Places (`Some`) or lifts (`None`) a legal hold, whose reason is a
    /// slug (`litigation`, `banking_rule`), never free text.
    pub async fn set_legal_hold(
        &self,
        grant: &TenantGrant<ManageRecordings>,
        id: RecordingId,
        hold: Option<&Purpose>,
    ) -> Result<(), AppError> {
        let mut event = grant
            .event(Action::RecordingHold, self.clock.now())
            .object(object(ObjectKind::Recording, id)?);
        if let Some(reason) = hold {
            event = event.purpose(reason.clone());
        }
        let found = self
            .audited(event, async {
                Ok(self
                    .store
                    .set_legal_hold(grant.controller(), id, hold.map(Purpose::as_str))
                    .await?)
            })
            .await?;
        if found {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The retention job: destroys the data keys of recordings past their
    /// retention under the policy in force now (held ones excepted), then
    /// deletes the blobs of every shredded recording. Safe to run anywhere
    /// and repeatedly: a blob deleted twice is not an error.
    pub async fn purge_recordings(&self) -> Result<PurgeReport, AppError> {
        let vault = self.vault()?;
        let now = self.clock.now();
        let mut report = PurgeReport::default();
        for controller in self.store.list_controllers().await? {
            let controller = controller.id;
            let mut policies: HashMap<Campaign, RecordingPolicy> = HashMap::new();
            let mut after = None;
            loop {
                let page = self
                    .store
                    .recordings(controller, after, BATCH, true)
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                let mut expired = Vec::new();
                for r in &page {
                    if !policies.contains_key(&r.campaign) {
                        let policy = self
                            .recording_policy_in_force(controller, &r.campaign)
                            .await?;
                        policies.insert(r.campaign.clone(), policy);
                    }
                    let Some(policy) = policies.get(&r.campaign) else {
                        continue;
                    };
                    let held = r.legal_hold.is_some();
                    match retention(policy, &r.meta.purposes, r.recorded_at, held, now) {
                        Retention::Expired => expired.push(r.id),
                        Retention::Held => {
                            if retention(policy, &r.meta.purposes, r.recorded_at, false, now)
                                == Retention::Expired
                            {
                                report.held += 1;
                            }
                        }
                        Retention::KeepUntil(_) => {}
                    }
                }
                if !expired.is_empty() {
                    let event = tutela_domain::audit::AuditEvent::new(
                        now,
                        tutela_domain::audit::Actor::Operator,
                        Action::RecordingPurge,
                        tutela_domain::audit::Outcome::Allowed,
                    )
                    .controller(controller);
                    report.shredded += self
                        .audited(event, async {
                            Ok(self
                                .store
                                .shred_recordings(controller, &expired, now, "retention")
                                .await?)
                        })
                        .await?;
                }
            }
        }
        loop {
            let doomed = self.store.blobs_to_delete(BATCH).await?;
            if doomed.is_empty() {
                break;
            }
            for (id, key) in doomed {
                match vault.blobs.delete(&BlobPath::from(key.as_str())).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(blob_error(e)),
                }
                self.store.mark_blob_deleted(id, now).await?;
                report.blobs_deleted += 1;
            }
        }
        if let Some(dir) = &vault.local_dir {
            let cutoff = std::time::SystemTime::from(now)
                .checked_sub(super::ABANDONED_AFTER)
                .unwrap_or(std::time::UNIX_EPOCH);
            let dir = dir.clone();
            report.abandoned_uploads = tokio::task::spawn_blocking(move || {
                super::blobs::sweep_abandoned_uploads(&dir, cutoff)
            })
            .await
            .map_err(|e| AppError::internal(format!("sweeping abandoned uploads: {e}")))??;
        }
        if report.shredded > 0 || report.blobs_deleted > 0 || report.abandoned_uploads > 0 {
            tracing::info!(
                shredded = report.shredded,
                blobs_deleted = report.blobs_deleted,
                abandoned_uploads = report.abandoned_uploads,
                held = report.held,
                "recordings purged"
            );
        }
        Ok(report)
    }

    /// Rotates the controller's key-encryption key: a new version wraps
    /// every data key (the audio is not touched), then the old versions
    /// are destroyed. Interrupted, it can be run again: keys already
    /// re-wrapped are skipped, and old versions stay until none is needed.
    pub async fn rotate_recording_key(
        &self,
        grant: &PlatformGrant<RotateKeys>,
        controller: ControllerId,
    ) -> Result<RotationReport, AppError> {
        let vault = self.vault()?;
        let event = grant.event(
            Action::KeyRotate,
            object(ObjectKind::Key, controller)?,
            self.clock.now(),
        );
        self.audited(event, async {
            let version = vault.keys.rotate(controller).await?;
            let mut rewrapped = 0u64;
            loop {
                let batch = self
                    .store
                    .keys_to_rewrap(controller, version, BATCH)
                    .await?;
                if batch.is_empty() {
                    break;
                }
                let mut replaced = Vec::with_capacity(batch.len());
                for (id, wrapped) in batch {
                    let key = vault
                        .keys
                        .unwrap(controller, &wrapped, id.0.as_bytes())
                        .await?;
                    let fresh = vault.keys.wrap(controller, &key, id.0.as_bytes()).await?;
                    if fresh.kek_version != version {
                        return Err(AppError::internal(
                            "another rotation ran meanwhile; run the rotation again",
                        ));
                    }
                    replaced.push((id, fresh));
                }
                rewrapped += replaced.len() as u64;
                self.store.replace_wrapped_keys(&replaced).await?;
            }
            vault.keys.retire(controller, version).await?;
            Ok(RotationReport { version, rewrapped })
        })
        .await
    }

    /// Resolves a recording's operator for an administrator, for a reason
    /// given as a slug (`dispute`, `disciplinary`), recorded as the event's
    /// purpose.
    pub async fn resolve_operator(
        &self,
        grant: &PlatformGrant<ResolveOperators>,
        controller: ControllerId,
        id: RecordingId,
        reason: Purpose,
    ) -> Result<OperatorReveal, AppError> {
        let event = grant
            .event(
                Action::OperatorResolve,
                object(ObjectKind::Recording, id)?,
                self.clock.now(),
            )
            .controller(controller)
            .purpose(reason);
        self.audited(event, async {
            let (recording, _) = self
                .store
                .recording(controller, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let operator = self
                .keys
                .open(id.0.as_bytes(), &recording.operator_sealed)?;
            Ok(OperatorReveal {
                operator: String::from_utf8(operator)
                    .map_err(|_| AppError::internal("a sealed operator is not text"))?,
                pseudonym: recording.meta.operator_pseudonym,
            })
        })
        .await
    }
}
