//! The consent ledger: recording what a person said, and the state for a
//! purpose and channel at any instant, under the voiding rules in force.

use tutela_domain::audit::{Action, ObjectKind, ObjectRef};
use tutela_domain::{
    AccessDenied, AgreementViolation, Channel, ConsentAction, ConsentEvent, ConsentEventId,
    ConsentQuery, ConsentState, Evidence, Label, Purpose, Registry, RegistryRegistration,
    SubjectId, Timestamp, consent_state, voiding_possible,
};

use crate::grants::{ReadConsent, RecordConsent, TenantGrant, TenantPermission};
use crate::{App, AppError};

/// A consent, withdrawal or objection to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// The purpose it covers; one of the agreement's.
    pub purpose: Purpose,
    /// The channel it covers.
    pub channel: Channel,
    /// Given, withdrawn or objected.
    pub action: ConsentAction,
    /// When the person said it; now when not given. Never in the future.
    pub at: Option<Timestamp>,
    /// The proof.
    pub evidence: Evidence,
    /// The version of the privacy notice shown, if one was.
    pub notice_version: Option<u32>,
    /// Where it was collected (campaign, site, office).
    pub collected_where: Label,
}

/// The agreement's entry for `purpose`, or the refusal naming it.
fn direct_marketing<P: TenantPermission>(
    grant: &TenantGrant<P>,
    purpose: &Purpose,
) -> Result<bool, AppError> {
    let terms = &grant.agreement().terms;
    terms
        .purpose(purpose)
        .map(|p| p.direct_marketing)
        .ok_or_else(|| {
            AccessDenied::from(AgreementViolation::PurposeNotAllowed {
                purpose: purpose.to_string(),
                reference: terms.fields().reference.as_str().to_owned(),
            })
            .into()
        })
}

impl App {
    /// Appends a consent event for a subject of the grant's controller. The
    /// purpose must be one of the agreement's; the instant may be earlier
    /// than now (a paper form filed later), never later.
    pub async fn record_consent(
        &self,
        grant: &TenantGrant<RecordConsent>,
        subject: SubjectId,
        new: NewConsent,
    ) -> Result<ConsentEvent, AppError> {
        direct_marketing(grant, &new.purpose)?;
        let now = self.clock.now();
        let at = new.at.unwrap_or(now);
        if at > now {
            return Err(AppError::invalid("at", "must not be in the future"));
        }
        let event = ConsentEvent {
            id: ConsentEventId::generate(),
            controller_id: grant.controller(),
            subject_id: subject,
            purpose: new.purpose,
            channel: new.channel,
            action: new.action,
            at,
            recorded_at: now,
            evidence: new.evidence,
            notice_version: new.notice_version,
            collected_by: grant.audit_actor(),
            collected_where: new.collected_where,
        };
        let object = ObjectRef::new(ObjectKind::Consent, event.id.to_string())
            .map_err(|e| AppError::internal(e.reason))?;
        let audit: Vec<_> = self
            .subject_events(grant, Action::ConsentRecord, &[subject])
            .await?
            .into_iter()
            .map(|e| e.object(object.clone()))
            .collect();
        if audit.is_empty() {
            return Err(AppError::NotFound);
        }
        self.audited_on(audit, async {
            Ok(self.store.append_consent(&event).await?)
        })
        .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %subject,
            consent_event = %event.id,
            action = %event.action,
            channel = %event.channel,
            "consent event recorded"
        );
        Ok(event)
    }

    /// Records that a subject registered on a do-not-call registry at `at`
    /// (as learnt from a registry check): under the voiding rules, earlier
    /// marketing consents end there. History is kept as it was.
    pub async fn record_registration(
        &self,
        grant: &TenantGrant<RecordConsent>,
        subject: SubjectId,
        registry: Registry,
        at: Timestamp,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        if at > now {
            return Err(AppError::invalid("at", "must not be in the future"));
        }
        let registration = RegistryRegistration {
            subject_id: subject,
            registry,
            at,
            recorded_at: now,
        };
        let audit = self
            .subject_events(grant, Action::ConsentRecord, &[subject])
            .await?;
        if audit.is_empty() {
            return Err(AppError::NotFound);
        }
        self.audited_on(audit, async {
            Ok(self
                .store
                .append_registration(grant.controller(), &registration)
                .await?)
        })
        .await
    }

    /// The state of consent of a subject for a purpose and channel at `at`
    /// (now when not given). Absent means not consented.
    pub async fn consent_state(
        &self,
        grant: &TenantGrant<ReadConsent>,
        subject: SubjectId,
        purpose: &Purpose,
        channel: Channel,
        at: Option<Timestamp>,
    ) -> Result<ConsentState, AppError> {
        let marketing = direct_marketing(grant, purpose)?;
        let audit = self
            .subject_events(grant, Action::ConsentRead, &[subject])
            .await?;
        if audit.is_empty() {
            return Err(AppError::NotFound);
        }
        let state = self
            .consent_lookup(grant.controller(), subject, purpose, marketing, channel, at)
            .await?;
        self.record(audit).await?;
        Ok(state)
    }

    /// The lookup itself, unaudited. The call-gating decision (which records
    /// its own event) reads the same event within its one store read and
    /// shares [`Self::consent_from_last`].
    pub(crate) async fn consent_lookup(
        &self,
        controller: tutela_domain::ControllerId,
        subject: SubjectId,
        purpose: &Purpose,
        direct_marketing: bool,
        channel: Channel,
        at: Option<Timestamp>,
    ) -> Result<ConsentState, AppError> {
        let at = at.unwrap_or_else(|| self.clock.now());
        let last = self
            .store
            .last_consent_event(controller, subject, purpose, channel, at)
            .await?;
        let query = ConsentQuery {
            purpose,
            direct_marketing,
            channel,
            at,
        };
        self.consent_from_last(controller, subject, last, query)
            .await
    }

    /// The consent state from the subject's latest event for the query's
    /// purpose and channel (with the count of registrations after it), as
    /// the store answers it alone or within the call decision's one read.
    pub(crate) async fn consent_from_last(
        &self,
        controller: tutela_domain::ControllerId,
        subject: SubjectId,
        last: Option<(ConsentEvent, u64)>,
        query: ConsentQuery<'_>,
    ) -> Result<ConsentState, AppError> {
        // Registrations matter only to a grant with a registration after it
        // that a rule could void; otherwise one query answered.
        let voidable = last.as_ref().is_some_and(|(e, later)| {
            e.action == ConsentAction::Granted
                && *later > 0
                && voiding_possible(&self.voiding_rules, query.channel, query.direct_marketing)
        });
        let registrations = if voidable {
            self.store
                .registrations(controller, subject, query.at)
                .await?
        } else {
            Vec::new()
        };
        let events: Vec<ConsentEvent> = last.into_iter().map(|(e, _)| e).collect();
        Ok(consent_state(
            &events,
            &registrations,
            &self.voiding_rules,
            query,
        ))
    }

    /// Every ledger event of a subject, oldest first.
    pub async fn consent_events(
        &self,
        grant: &TenantGrant<ReadConsent>,
        subject: SubjectId,
    ) -> Result<Vec<ConsentEvent>, AppError> {
        let audit = self
            .subject_events(grant, Action::ConsentRead, &[subject])
            .await?;
        if audit.is_empty() {
            return Err(AppError::NotFound);
        }
        let events = self
            .store
            .consent_events(grant.controller(), subject)
            .await?;
        self.record(audit).await?;
        Ok(events)
    }
}
