//! Moving a verified request on: passing it to the controller, starting
//! work, extending the deadline, refusing, answering. Every move that
//! ends in a letter renders it in the person's language and stores it
//! with the request in the same transaction as the move.

use serde::Deserialize;
use tutela_domain::audit::{Action, ObjectKind};
use tutela_domain::dsr::check_extension;
use tutela_domain::{
    Channel, ConsentAction, ConsentEvent, ConsentEventId, Evidence, ExtensionReason, RefusalReason,
    RequestId, RequestKind, RequestState,
};
use tutela_storage::{
    CivilDate, OutboxItem, RequestMove, RequestStep, StoredLetter, StoredRequest,
};

use super::verify::plain_move;
use super::{RequestView, zone_named};
use crate::audit::object;
use crate::grants::ManageRequests;
use crate::letters::{KeptItem, LetterFacts, LetterOutcome};
use crate::{App, AppError, TenantGrant};

/// An extension of the deadline (art. 12(3)).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// Why more time is needed (told to the person).
    pub reason: ExtensionReason,
    /// The new deadline; the latest allowed when absent.
    #[serde(default)]
    pub until: Option<CivilDate>,
}

/// A refusal, with every reason (told to the person).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The reasons; at least one.
    pub reasons: Vec<RefusalReason>,
}

/// An answer carrying the request out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// For an erasure: what is kept because the law requires it, each with
    /// its legal basis (named in the letter).
    #[serde(default)]
    pub kept: Vec<KeptItem>,
    /// For a rectification: the person's record as corrected (it replaces
    /// the one held).
    #[serde(default)]
    pub corrected: Option<CorrectedRecord>,
}

/// A corrected record: every attribute and contact point the person should
/// have, as for a new subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectedRecord {
    /// Attributes, each with its category.
    #[serde(default)]
    pub attributes: Vec<CorrectedAttribute>,
    /// Contact points.
    #[serde(default)]
    pub contacts: Vec<CorrectedContact>,
}

/// One attribute of a corrected record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectedAttribute {
    /// Its name.
    pub name: tutela_domain::AttributeName,
    /// Its category.
    pub category: tutela_domain::DataCategory,
    /// Its value.
    pub value: String,
}

/// One contact point of a corrected record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectedContact {
    /// `phone` or `email`.
    pub kind: tutela_domain::ContactKind,
    /// As written.
    pub value: String,
}

impl CorrectedRecord {
    fn into_new_subject(self) -> Result<crate::NewSubject, AppError> {
        let mut attributes = Vec::with_capacity(self.attributes.len());
        for (i, a) in self.attributes.into_iter().enumerate() {
            attributes.push(tutela_domain::Attribute {
                name: a.name,
                category: a.category,
                value: tutela_domain::AttributeValue::parse(&a.value).map_err(|e| {
                    AppError::invalid(format!("corrected.attributes[{i}].value"), e.reason)
                })?,
            });
        }
        Ok(crate::NewSubject {
            attributes,
            contacts: self
                .contacts
                .into_iter()
                .map(|c| (c.kind, c.value))
                .collect(),
            default_region: None,
        })
    }
}

impl App {
    /// Passes the verified request on to its controller: queued in the
    /// outbox with the move, then delivered (a failed delivery stays
    /// queued for the retry job).
    pub async fn forward_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
    ) -> Result<RequestView, AppError> {
        let request = self.stored_request(grant, id).await?;
        let now = self.clock.now();
        // What the controller needs to act: no identifier, the person by
        // the id the controller's data already uses.
        let payload = serde_json::json!({
            "request_id": request.id,
            "kind": request.kind,
            "received_at": request.received_at,
            "due": request.due.to_string(),
            "subject_id": request.subject,
            "details": request.details,
        });
        let change = RequestMove {
            outbox: Some(OutboxItem {
                id: uuid::Uuid::now_v7(),
                controller: request.controller,
                request: request.id,
                payload: payload.to_string(),
                created_at: now,
            }),
            ..plain_move(self.step(grant, RequestState::Forwarded, "{}".into()))
        };
        let moved = self
            .move_audited(
                self.request_event(grant, Action::RequestForward, id)?,
                &request,
                change,
            )
            .await?;
        if let Err(e) = self.deliver_forwarded_requests().await {
            tracing::warn!(request_id = %id, code = e.code(), "forwarded request queued; delivery will be retried");
        }
        Ok(self.request_view(moved))
    }

    /// Marks work on the request as begun.
    pub async fn start_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
    ) -> Result<RequestView, AppError> {
        let request = self.stored_request(grant, id).await?;
        let change = plain_move(self.step(grant, RequestState::InProgress, "{}".into()));
        let moved = self
            .move_audited(
                self.request_event(grant, Action::RequestForward, id)?,
                &request,
                change,
            )
            .await?;
        Ok(self.request_view(moved))
    }

    /// Extends the deadline, within the first month, by up to two further
    /// months, and writes the letter telling the person why.
    pub async fn extend_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
        extension: Extension,
    ) -> Result<RequestView, AppError> {
        let request = self.stored_request(grant, id).await?;
        let zone = zone_named(&request.zone);
        let dates = tutela_domain::Deadlines {
            received: request.received_at.to_zoned(zone.clone()).date(),
            due: request.due,
            latest_extension: request.latest_extension,
        };
        let until = extension.until.unwrap_or(request.latest_extension);
        check_extension(&dates, until, self.clock.now(), &zone)
            .map_err(|e| AppError::invalid("until", e.reason()))?;
        let facts = LetterFacts {
            extended_deadline: Some(until),
            extension_reason: Some(extension.reason),
            ..self.letter_facts(&request).await?
        };
        let letter = self.letter(&request, LetterOutcome::Extended, &facts)?;
        let detail = serde_json::json!({ "reason": extension.reason, "until": until.to_string() });
        self.move_with_letter(
            grant,
            &request,
            (Action::RequestExtend, RequestState::Extended),
            detail,
            letter,
            Some(until),
        )
        .await
    }

    /// Refuses the request with its reasons, and writes the letter (an
    /// answer is owed even then, naming the right to complain).
    pub async fn refuse_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
        refusal: Refusal,
    ) -> Result<RequestView, AppError> {
        if refusal.reasons.is_empty() {
            return Err(AppError::invalid("reasons", "at least one is needed"));
        }
        let request = self.stored_request(grant, id).await?;
        let facts = LetterFacts {
            refusal_reasons: refusal.reasons.clone(),
            ..self.letter_facts(&request).await?
        };
        let letter = self.letter(&request, LetterOutcome::Refused, &facts)?;
        let detail = serde_json::json!({ "reasons": refusal.reasons });
        self.move_with_letter(
            grant,
            &request,
            (Action::RequestRefuse, RequestState::Refused),
            detail,
            letter,
            None,
        )
        .await
    }

    /// Carries the request out and answers it with the letter. Erasure
    /// erases the person (suppression kept); withdrawal and objection
    /// enter the consent ledger for the purpose and channel concerned (all
    /// the agreement's purposes and every channel when not named);
    /// restriction suppresses the person's identifiers as `restricted`, so
    /// every call to them is denied while their data stays; rectification
    /// replaces the record with the corrected one given; access and
    /// portability need their bundle to build (fetched and sent with the
    /// letter).
    pub async fn answer_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
        answer: Answer,
    ) -> Result<RequestView, AppError> {
        let request = self.stored_request(grant, id).await?;
        request
            .state
            .check_move(RequestState::Answered)
            .map_err(|e| AppError::invalid("state", e.reason))?;
        let subject = request.subject.ok_or_else(|| {
            AppError::invalid("state", "the requester's identity is not verified")
        })?;
        if !answer.kept.is_empty() && request.kind != RequestKind::Erasure {
            return Err(AppError::invalid("kept", "only an erasure keeps items"));
        }
        let corrected = match (request.kind, answer.corrected.clone()) {
            (RequestKind::Rectification, Some(record)) => Some(record.into_new_subject()?),
            (RequestKind::Rectification, None) => {
                return Err(AppError::invalid(
                    "corrected",
                    "a rectification is answered with the corrected record",
                ));
            }
            (_, Some(_)) => {
                return Err(AppError::invalid(
                    "corrected",
                    "only a rectification carries a corrected record",
                ));
            }
            (_, None) => None,
        };
        // The letter first: a template that fails leaves nothing done.
        let facts = LetterFacts {
            kept: answer.kept.clone(),
            ..self.letter_facts(&request).await?
        };
        let letter = self.letter(&request, LetterOutcome::Answered, &facts)?;
        match request.kind {
            // Already erased (an earlier answer that did not get recorded,
            // or another erasure) is what the request asks for.
            RequestKind::Erasure => match self.erase_subject_under(grant, subject).await {
                Ok(()) | Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            },
            RequestKind::Withdrawal => {
                self.ledger_for_request(grant, &request, ConsentAction::Withdrawn)
                    .await?
            }
            RequestKind::Objection => {
                self.ledger_for_request(grant, &request, ConsentAction::Objected)
                    .await?
            }
            RequestKind::Rectification => {
                if let Some(corrected) = corrected {
                    self.rectify_subject(grant, subject, corrected).await?;
                }
            }
            RequestKind::Restriction => {
                let events = self
                    .subject_events(grant, Action::SubjectWrite, &[subject])
                    .await?;
                if events.is_empty() {
                    return Err(AppError::NotFound);
                }
                let person = self
                    .store
                    .subject(request.controller, subject)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let identifiers: Vec<_> = person.blinds().collect();
                self.audited_on(events, async {
                    Ok(self
                        .store
                        .restrict_subject(request.controller, &identifiers, self.clock.now())
                        .await?)
                })
                .await?;
            }
            // The bundle must build before the answer says it is attached;
            // it is then fetched from `…/bundle` and sent.
            RequestKind::Access | RequestKind::Portability => {
                self.access_bundle(grant, id).await?;
            }
        }
        let detail = serde_json::json!({ "kept_items": answer.kept.len() });
        self.move_with_letter(
            grant,
            &request,
            (Action::RequestAnswer, RequestState::Answered),
            detail,
            letter,
            None,
        )
        .await
    }

    /// Moves `request` to a state whose letter goes with it (extension,
    /// refusal, answer), recorded as `action`.
    async fn move_with_letter(
        &self,
        grant: &TenantGrant<ManageRequests>,
        request: &StoredRequest,
        (action, state): (Action, RequestState),
        detail: serde_json::Value,
        letter: StoredLetter,
        extended_until: Option<CivilDate>,
    ) -> Result<RequestView, AppError> {
        let change = RequestMove {
            letter: Some(letter),
            extended_until,
            ..plain_move(self.step(grant, state, detail.to_string()))
        };
        let event = self.request_event(grant, action, request.id)?;
        let moved = self.move_audited(event, request, change).await?;
        Ok(self.request_view(moved))
    }

    /// The letters stored with a request, oldest first.
    pub async fn request_letters(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
    ) -> Result<Vec<StoredLetter>, AppError> {
        let event = self.request_event(grant, Action::RequestRead, id)?;
        self.audited(event, async {
            self.stored_request(grant, id).await?;
            Ok(self.store.request_letters(id).await?)
        })
        .await
    }

    /// Delivers queued forwarded requests; returns how many went out.
    pub async fn deliver_forwarded_requests(&self) -> Result<u64, AppError> {
        let delivery = self.delivery()?;
        let mut delivered = 0;
        for item in self.store.pending_outbox(100).await? {
            let to = delivery.forwarder.deliver(&item).await?;
            self.store
                .mark_delivered(item.id, self.clock.now(), &to)
                .await?;
            delivered += 1;
        }
        Ok(delivered)
    }

    fn step(
        &self,
        grant: &TenantGrant<ManageRequests>,
        state: RequestState,
        detail: String,
    ) -> RequestStep {
        RequestStep {
            state,
            at: self.clock.now(),
            actor: grant.actor(),
            detail,
        }
    }

    fn request_event(
        &self,
        grant: &TenantGrant<ManageRequests>,
        action: Action,
        id: RequestId,
    ) -> Result<tutela_domain::audit::AuditEvent, AppError> {
        Ok(grant
            .event(action, self.clock.now())
            .object(object(ObjectKind::Request, id)?))
    }

    /// Withdrawal or objection in the ledger: one event per purpose and
    /// channel concerned, evidenced by the request.
    async fn ledger_for_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        request: &StoredRequest,
        action: ConsentAction,
    ) -> Result<(), AppError> {
        let subject = request.subject.ok_or_else(|| {
            AppError::invalid("state", "the requester's identity is not verified")
        })?;
        let purposes = match &request.details.purpose {
            Some(p) => vec![p.clone()],
            None => grant
                .agreement()
                .terms
                .fields()
                .purposes
                .iter()
                .map(|p| p.purpose.clone())
                .collect(),
        };
        let channels = match request.details.channel {
            Some(c) => vec![c],
            None => Channel::ALL.to_vec(),
        };
        let now = self.clock.now();
        let collected_where = tutela_domain::Label::parse("data subject request")
            .map_err(|e| AppError::internal(e.reason))?;
        let audit = self
            .subject_events(grant, Action::ConsentRecord, &[subject])
            .await?;
        if audit.is_empty() {
            return Err(AppError::NotFound);
        }
        self.audited_on(audit, async {
            for purpose in &purposes {
                for channel in &channels {
                    let event = ConsentEvent {
                        id: ConsentEventId::generate(),
                        controller_id: request.controller,
                        subject_id: subject,
                        purpose: purpose.clone(),
                        channel: *channel,
                        action,
                        at: now,
                        recorded_at: now,
                        evidence: Evidence::DataSubjectRequest {
                            request_id: request.id,
                        },
                        notice_version: None,
                        collected_by: grant.audit_actor(),
                        collected_where: collected_where.clone(),
                    };
                    self.store.append_consent(&event).await?;
                }
            }
            Ok(())
        })
        .await
    }
}
