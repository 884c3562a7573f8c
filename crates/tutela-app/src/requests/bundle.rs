//! The access and portability bundle (arts. 15 and 20): everything held
//! about the verified requester, in clear, in one structure: their record
//! and contact points, the lists their data came from with provenance,
//! consents with evidence, calls made to them, their recordings, their
//! requests, and who accessed their data and why (from the audit trail,
//! by their pseudonym), opened by a readable summary in the person's
//! language. JSON as it is, or CSV rows of (section, field, value, at) for
//! portability. Recording audio is fetched one recording at a time
//! ([`App::bundle_recording`]), decrypted.

use serde::Serialize;
use tutela_domain::audit::{Action, ChainId, ObjectKind, decode};
use tutela_domain::{
    CallOutcome, ContactKind, LookupKey, RequestId, RequestKind, StoredValue, SubjectId, Timestamp,
};
use tutela_storage::AuditFilter;

use super::RequestView;
use crate::audit::object;
use crate::grants::ManageRequests;
use crate::{App, AppError, TenantGrant};

/// At most this many audit events go into one bundle (newest kept).
const MAX_ACCESSES: usize = 10_000;

/// One attribute, in clear.
#[derive(Debug, Clone, Serialize)]
pub struct BundleAttribute {
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Its value.
    pub value: String,
}

/// One contact point.
#[derive(Debug, Clone, Serialize)]
pub struct BundleContact {
    /// `phone` or `email`.
    pub kind: String,
    /// The value.
    pub value: String,
}

/// A list the person's data came from.
#[derive(Debug, Clone, Serialize)]
pub struct BundleList {
    /// The list's name.
    pub name: String,
    /// Supplier, owner, acquisition, source, legal basis, purpose.
    pub provenance: serde_json::Value,
    /// When it was imported.
    pub imported_at: Timestamp,
    /// When it stops being used.
    pub expires_at: Option<Timestamp>,
}

/// One consent ledger event.
#[derive(Debug, Clone, Serialize)]
pub struct BundleConsent {
    /// The purpose.
    pub purpose: String,
    /// The channel.
    pub channel: String,
    /// `granted`, `withdrawn` or `objected`.
    pub action: String,
    /// When it was given.
    pub at: Timestamp,
    /// How it is proven.
    pub evidence: serde_json::Value,
    /// The notice version shown.
    pub notice_version: Option<u32>,
}

/// One call made to the person.
#[derive(Debug, Clone, Serialize)]
pub struct BundleCall {
    /// The number called.
    pub number: String,
    /// When.
    pub at: Timestamp,
    /// What happened.
    pub outcome: CallOutcome,
}

/// One recording of the person.
#[derive(Debug, Clone, Serialize)]
pub struct BundleRecording {
    /// The recording.
    pub id: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// What it serves.
    pub purposes: Vec<String>,
    /// Its length in bytes.
    pub bytes: u64,
    /// When and why its key was destroyed (then it can no longer be read).
    pub destroyed: Option<(Timestamp, String)>,
}

/// Who accessed the person's data, and why.
#[derive(Debug, Clone, Serialize)]
pub struct BundleAccess {
    /// When.
    pub at: Timestamp,
    /// What was done.
    pub action: String,
    /// The role of the staff member, when a person.
    pub role: Option<String>,
    /// A user, a system (machine client) or the operator; never a name.
    pub by: &'static str,
    /// The purpose declared.
    pub purpose: Option<String>,
    /// `allowed`, or the refusal's code.
    pub outcome: String,
}

/// Everything held about one person.
#[derive(Debug, Clone, Serialize)]
pub struct AccessBundle {
    /// The request this answers.
    pub request: RequestView,
    /// The controller: who decides about the data.
    pub controller: serde_json::Value,
    /// The person's id in the controller's data.
    pub subject_id: SubjectId,
    /// When first recorded.
    pub recorded_since: Timestamp,
    /// Attributes, in clear.
    pub attributes: Vec<BundleAttribute>,
    /// Contact points.
    pub contacts: Vec<BundleContact>,
    /// Where the data came from.
    pub lists: Vec<BundleList>,
    /// The consent ledger.
    pub consents: Vec<BundleConsent>,
    /// Calls made.
    pub calls: Vec<BundleCall>,
    /// Recordings.
    pub recordings: Vec<BundleRecording>,
    /// Earlier and current requests.
    pub requests: Vec<RequestView>,
    /// Who accessed the data and why.
    pub accesses: Vec<BundleAccess>,
    /// A readable summary in the person's language.
    pub summary: String,
}

impl AccessBundle {
    /// The bundle as CSV rows `section,field,value,at`, for portability.
    pub fn to_csv(&self) -> Result<Vec<u8>, AppError> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let failed = |_| AppError::internal("writing the bundle's CSV failed");
        out.write_record(["section", "field", "value", "at"])
            .map_err(failed)?;
        let none = String::new();
        let mut row = |section: &str, field: &str, value: &str, at: Option<Timestamp>| {
            let at = at.map(|t| t.to_string()).unwrap_or_else(|| none.clone());
            out.write_record([section, field, value, at.as_str()])
        };
        for a in &self.attributes {
            row("attribute", &a.name, &a.value, None).map_err(failed)?;
        }
        for c in &self.contacts {
            row("contact", &c.kind, &c.value, None).map_err(failed)?;
        }
        for l in &self.lists {
            row(
                "list",
                &l.name,
                &l.provenance.to_string(),
                Some(l.imported_at),
            )
            .map_err(failed)?;
        }
        for c in &self.consents {
            let field = format!("{}/{}", c.purpose, c.channel);
            row("consent", &field, &c.action, Some(c.at)).map_err(failed)?;
        }
        for c in &self.calls {
            row("call", &c.number, c.outcome.as_str(), Some(c.at)).map_err(failed)?;
        }
        for r in &self.recordings {
            row(
                "recording",
                &r.id,
                &r.purposes.join(" "),
                Some(r.recorded_at),
            )
            .map_err(failed)?;
        }
        for r in &self.requests {
            row(
                "request",
                r.kind.as_str(),
                r.state.as_str(),
                Some(r.received_at),
            )
            .map_err(failed)?;
        }
        for a in &self.accesses {
            let field = a.role.clone().unwrap_or_else(|| a.by.to_owned());
            row("access", &field, &a.action, Some(a.at)).map_err(failed)?;
        }
        out.into_inner()
            .map_err(|_| AppError::internal("writing the bundle's CSV failed"))
    }
}

impl App {
    /// The bundle for a verified access or portability request. Reading it
    /// is audited under the person's pseudonym.
    pub async fn access_bundle(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
    ) -> Result<AccessBundle, AppError> {
        let request = self.stored_request(grant, id).await?;
        if !matches!(request.kind, RequestKind::Access | RequestKind::Portability) {
            return Err(AppError::invalid(
                "request",
                "only access and portability requests have a bundle",
            ));
        }
        let subject_id = request.subject.ok_or_else(|| {
            AppError::invalid("state", "the requester's identity is not verified")
        })?;
        let controller = grant.controller();
        let target = object(ObjectKind::Request, id)?;
        let events: Vec<_> = self
            .subject_events(grant, Action::SubjectRead, &[subject_id])
            .await?
            .into_iter()
            .map(|e| e.object(target.clone()))
            .collect();
        // The read's event names the person by pseudonym: the same one the
        // audit trail is searched by below. None: erased meanwhile.
        let Some(pseudonym) = events.first().and_then(|e| e.subject) else {
            return Err(AppError::NotFound);
        };
        // Read before the accesses are gathered: this reading is one of them.
        self.record(events).await?;
        let subject = self
            .store
            .subject(controller, subject_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let keys = self.keys.controller_keys(controller)?;
        let mut attributes = Vec::with_capacity(subject.attributes.len());
        for a in &subject.attributes {
            let value = match &a.value {
                StoredValue::Clear(v) => v.expose().to_owned(),
                StoredValue::Sealed(sealed) => keys.open_field(subject_id, &a.name, sealed)?,
            };
            attributes.push(BundleAttribute {
                name: a.name.as_str().to_owned(),
                category: serde_json::to_value(a.category)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                value,
            });
        }
        let contacts: Vec<BundleContact> = subject
            .contacts
            .iter()
            .map(|c| BundleContact {
                kind: c.point.kind().as_str().to_owned(),
                value: c.point.value().to_owned(),
            })
            .collect();
        let mut lists = Vec::new();
        for list_id in self.store.subject_lists(controller, subject_id).await? {
            if let Some(list) = self.store.lead_list(controller, list_id).await? {
                lists.push(BundleList {
                    name: list.name.as_str().to_owned(),
                    provenance: serde_json::to_value(&list.provenance).unwrap_or_default(),
                    imported_at: list.imported_at,
                    expires_at: list.expires_at,
                });
            }
        }
        let consents: Vec<BundleConsent> = self
            .store
            .consent_events(controller, subject_id)
            .await?
            .into_iter()
            .map(|e| BundleConsent {
                purpose: e.purpose.as_str().to_owned(),
                channel: e.channel.as_str().to_owned(),
                action: e.action.as_str().to_owned(),
                at: e.at,
                evidence: serde_json::to_value(&e.evidence).unwrap_or_default(),
                notice_version: e.notice_version,
            })
            .collect();
        let mut calls = Vec::new();
        let mut scratch = Vec::new();
        for c in subject
            .contacts
            .iter()
            .filter(|c| c.point.kind() == ContactKind::Phone)
        {
            let blind = keys.blind(LookupKey::Contact(&c.point), &mut scratch);
            let record = self
                .store
                .call_record(controller, blind, Timestamp::UNIX_EPOCH, None, None)
                .await?;
            calls.extend(record.outcomes.into_iter().map(|(at, outcome)| BundleCall {
                number: c.point.value().to_owned(),
                at,
                outcome,
            }));
        }
        let recordings: Vec<BundleRecording> = self
            .store
            .subject_recordings(controller, subject_id)
            .await?
            .into_iter()
            .map(|r| BundleRecording {
                id: r.id.to_string(),
                recorded_at: r.recorded_at,
                purposes: r
                    .meta
                    .purposes
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
                bytes: r.meta.plaintext_len,
                destroyed: r.shredded,
            })
            .collect();
        let requests: Vec<RequestView> = self
            .store
            .subject_requests(controller, subject_id)
            .await?
            .into_iter()
            .map(|r| self.request_view(r))
            .collect();
        let accesses = self.accesses_of(controller, pseudonym).await?;
        let controller_row = self
            .store
            .controller(controller)
            .await?
            .ok_or(AppError::NotFound)?;
        tracing::info!(controller_id = %controller, request_id = %id, subject_id = %subject_id, "access bundle built");
        let counts = crate::letters::SummaryCounts {
            attributes: attributes.len(),
            contacts: contacts.len(),
            lists: lists.len(),
            consents: consents.len(),
            calls: calls.len(),
            recordings: recordings.len(),
            requests: requests.len(),
            accesses: accesses.len(),
        };
        let summary = self
            .summaries
            .as_ref()
            .map(|book| {
                book.render(
                    request.language,
                    controller_row.name.as_str(),
                    &request.id.to_string(),
                    counts,
                )
            })
            .unwrap_or_default();
        Ok(AccessBundle {
            summary,
            request: self.request_view(request),
            controller: serde_json::json!({
                "name": controller_row.name.as_str(),
                "country": controller_row.country.as_str(),
                "dpo_contact": controller_row.dpo_contact.as_str(),
            }),
            subject_id,
            recorded_since: subject.created_at,
            attributes,
            contacts,
            lists,
            consents,
            calls,
            recordings,
            requests,
            accesses,
        })
    }

    /// The audit events naming `subject` in the controller's chain, oldest
    /// first (the newest [`MAX_ACCESSES`] when there are more).
    async fn accesses_of(
        &self,
        controller: tutela_domain::ControllerId,
        subject: tutela_domain::audit::Pseudonym,
    ) -> Result<Vec<BundleAccess>, AppError> {
        let filter = AuditFilter {
            subject: Some(subject),
            actor: None,
            object: None,
            from: None,
            until: None,
        };
        let chain = ChainId::Controller(controller);
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.audit_query(chain, &filter, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            for record in &page {
                let (_, _, event) = decode(&record.body).map_err(|e| {
                    AppError::internal(format!("{}: event {}: {e}", record.chain, record.seq))
                })?;
                out.push(BundleAccess {
                    at: event.instant,
                    action: event.action.as_str().to_owned(),
                    role: event.role.map(|r| r.as_str().to_owned()),
                    by: match event.actor {
                        tutela_domain::audit::Actor::User(_) => "staff",
                        tutela_domain::audit::Actor::Client(_) => "system",
                        tutela_domain::audit::Actor::Operator => "operator",
                        tutela_domain::audit::Actor::Anonymous => "anonymous",
                    },
                    purpose: event.purpose.map(|p| p.as_str().to_owned()),
                    outcome: match &event.outcome {
                        tutela_domain::audit::Outcome::Allowed => "allowed".to_owned(),
                        tutela_domain::audit::Outcome::Denied(code) => code.as_str().to_owned(),
                    },
                });
            }
            if out.len() > MAX_ACCESSES {
                let excess = out.len() - MAX_ACCESSES;
                out.drain(..excess);
            }
        }
        Ok(out)
    }
}

impl App {
    /// The audio of one of the person's recordings, decrypted, for the
    /// bundle of a verified access or portability request: no quota (the
    /// person's own right), audited as a listen under their pseudonym.
    pub async fn bundle_recording(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
        recording: tutela_domain::RecordingId,
    ) -> Result<crate::vault::RecordingAudio, AppError> {
        let vault = self.vault()?;
        let request = self.stored_request(grant, id).await?;
        if !matches!(request.kind, RequestKind::Access | RequestKind::Portability) {
            return Err(AppError::invalid(
                "request",
                "only access and portability requests have a bundle",
            ));
        }
        let subject = request.subject.ok_or_else(|| {
            AppError::invalid("state", "the requester's identity is not verified")
        })?;
        let Some((stored, key)) = self.store.recording(grant.controller(), recording).await? else {
            return Err(AppError::NotFound);
        };
        // Only the person's own recordings, answered like a missing one.
        if stored.subject != Some(subject) {
            return Err(AppError::NotFound);
        }
        let key = key.ok_or(AppError::KeyDestroyed)?;
        let target = object(ObjectKind::Recording, recording)?;
        let events = self
            .recording_events(grant, Action::RecordingListen, &stored, target)
            .await?;
        let audio = vault.open_audio(&stored, &key, None).await?;
        self.record(events).await?;
        Ok(audio)
    }
}
