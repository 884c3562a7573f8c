//! The call-gating decision as an operation: gather what the store and the
//! loaded registries know about a number, ask the pure [`decide`], record
//! the decision in the audit trail; and the call outcomes dialers report.

use jiff::SignedDuration;
use tutela_domain::audit::{Action, AuditEvent, ObjectKind, ObjectRef, Outcome};
use tutela_domain::{
    CallFacts, CallOutcome, CallQuestion, Channel, ConsentQuery, ConsentState, ContactPoint,
    ControllerId, CountryCode, Decision, Jurisdiction, ListFact, ListId, LookupKey, PhoneNumber,
    RegistryFact, RegistryRef, Timestamp, Verdict, decide,
};
use tutela_storage::{CallRecord, ConsentAsk};

use crate::audit::pseudonym;
use crate::grants::{GateCalls, ReportCalls, TenantGrant};
use crate::registries::registries_for;
use crate::{App, AppError};

/// What a dialer asks before dialling.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The number as the dialer has it; without a country code it is read
    /// as a number of the controller's country.
    pub number: String,
    /// The channel of the contact.
    pub channel: Channel,
    /// When the call would be placed; now when not given.
    pub at: Option<Timestamp>,
    /// Where the operator placing the call sits.
    pub operator_country: Option<CountryCode>,
    /// Whether the call will be recorded.
    pub recorded: bool,
    /// The list the number is called from.
    pub list: Option<ListId>,
}

/// A call outcome a dialer reports.
#[derive(Debug, Clone)]
pub struct OutcomeReport {
    /// The number called.
    pub number: String,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// When; now when not given. Never in the future.
    pub at: Option<Timestamp>,
}

/// The longest look-back any attempt cap or cool-off of the rules needs.
fn history_window(rules: Option<&Jurisdiction>) -> SignedDuration {
    let days = rules.map_or(0, |j| {
        let caps = j.rules.attempt_caps.iter().map(|c| c.window_days);
        let cool = j.rules.cool_offs.iter().map(|c| c.days);
        caps.chain(cool).max().unwrap_or(0)
    });
    SignedDuration::from_hours(24 * i64::from(days))
}

impl App {
    /// Decides whether the number may be called for the grant's purpose,
    /// with every reason for a denial, the obligations of an allowed call
    /// and until when the answer holds. Every decision is audited: the
    /// verdict is the event's outcome, the person named only by pseudonym
    /// (an unknown number by nothing at all).
    pub async fn decide_call(
        &self,
        grant: &TenantGrant<GateCalls>,
        request: &CallRequest,
    ) -> Result<Decision, AppError> {
        let now = self.clock.now();
        let at = request.at.unwrap_or(now);
        let controller = grant.controller();
        let (point, phone, country) = self.phone(controller, &request.number).await?;
        let loaded = country.and_then(|c| self.rules.get(c));
        let rules = loaded.map(|l| l.jurisdiction.as_ref());
        let entry = grant.agreement().terms.purpose(grant.purpose());
        let direct_marketing = entry.is_some_and(|p| p.direct_marketing);
        let blind = self
            .keys
            .controller_keys(controller)?
            .blind(LookupKey::Contact(&point), &mut Vec::new());
        let since = at
            .checked_sub(history_window(rules))
            .unwrap_or(Timestamp::MIN);
        let language = rules.and_then(|j| j.rules.notice_language);
        let ask = ConsentAsk {
            purpose: grant.purpose(),
            channel: request.channel,
            at,
        };
        let mut record = self
            .store
            .call_record(controller, blind, since, language, Some(ask))
            .await?;
        let consent = match record.subject {
            Some(subject) => {
                let query = ConsentQuery {
                    purpose: grant.purpose(),
                    direct_marketing,
                    channel: request.channel,
                    at,
                };
                let last = record.consent.take();
                self.consent_from_last(controller, subject, last, query)
                    .await?
            }
            None => ConsentState::Absent,
        };
        let question = CallQuestion {
            channel: request.channel,
            direct_marketing,
            at,
            operator_country: request.operator_country,
            recorded: request.recorded,
            list: request.list,
        };
        let facts = self.call_facts(
            controller,
            country,
            &phone,
            &record,
            consent,
            entry.is_some(),
        );
        let decision = decide(rules, &question, &facts);
        self.record(vec![decision_event(grant, &record, &decision, now)])
            .await?;
        tracing::debug!(
            actor = %grant.actor(),
            controller_id = %controller,
            verdict = ?decision.verdict,
            reasons = decision.reasons.len(),
            "call decided"
        );
        Ok(decision)
    }

    /// Records how a call ended: it counts as an attempt, and a refusal or
    /// a silent call starts the cool-offs the rules set. Keyed by the
    /// number's blind index; a retried report is the same report.
    pub async fn report_call_outcome(
        &self,
        grant: &TenantGrant<ReportCalls>,
        report: &OutcomeReport,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let at = report.at.unwrap_or(now);
        if at > now {
            return Err(AppError::invalid("at", "must not be in the future"));
        }
        let controller = grant.controller();
        let (point, _, _) = self.phone(controller, &report.number).await?;
        let blind = self
            .keys
            .controller_keys(controller)?
            .blind(LookupKey::Contact(&point), &mut Vec::new());
        // The person by pseudonym through the same mechanism as every
        // subject event; an unknown number gets an event naming nobody.
        let holders = self.store.find_subjects(controller, blind).await?;
        let call = ObjectRef::kind_only(ObjectKind::Call);
        let mut events: Vec<AuditEvent> = self
            .subject_events(grant, Action::CallOutcome, &holders)
            .await?
            .into_iter()
            .map(|e| e.object(call.clone()))
            .collect();
        if events.is_empty() {
            events.push(grant.event(Action::CallOutcome, now).object(call));
        }
        self.audited_on(events, async {
            Ok(self
                .store
                .record_call_outcome(controller, blind, at, report.outcome)
                .await?)
        })
        .await
    }

    /// The number as a contact point and its country: E.164 as given, or
    /// read in the controller's country when written without a country code.
    async fn phone(
        &self,
        controller: ControllerId,
        number: &str,
    ) -> Result<(ContactPoint, PhoneNumber, Option<CountryCode>), AppError> {
        let international = number.trim_start().starts_with('+') || number.starts_with("00");
        let region = if international {
            None
        } else {
            Some(self.controller_country(controller).await?)
        };
        let (phone, country) = PhoneNumber::parse_with_region(number, region)
            .map_err(|e| AppError::invalid("number", e.reason))?;
        Ok((ContactPoint::Phone(phone.clone()), phone, country))
    }

    /// The decision's facts from the stored record and the loaded registries.
    fn call_facts(
        &self,
        controller: ControllerId,
        country: Option<CountryCode>,
        phone: &PhoneNumber,
        record: &CallRecord,
        consent: ConsentState,
        purpose_allowed: bool,
    ) -> CallFacts {
        let shelf = self.registries.current();
        let number = phone.as_u64();
        let mut registries: Vec<RegistryFact> = match country {
            Some(country) => registries_for(&shelf, country, controller)
                .map(|r| RegistryFact {
                    registry: r.snapshot.header.registry,
                    as_of: r.snapshot.header.as_of,
                    listed: r.snapshot.numbers.contains(number),
                })
                .collect(),
            None => Vec::new(),
        };
        let own = RegistryRef::Controller(controller);
        // A restriction (art. 18) is its own reason; any other suppression
        // (erasure) puts the number on the controller's own list.
        let restricted = record
            .suppression
            .as_ref()
            .is_some_and(|s| s.reason == RESTRICTED);
        if let Some(suppression) = &record.suppression
            && !restricted
            && !registries.iter().any(|r| r.registry == own && r.listed)
        {
            registries.push(RegistryFact {
                registry: own,
                as_of: suppression.at,
                listed: true,
            });
        }
        let outcomes = &record.outcomes;
        let mut last_outcomes: Vec<(CallOutcome, Timestamp)> = Vec::new();
        for (at, outcome) in outcomes {
            match last_outcomes.iter_mut().find(|(o, _)| o == outcome) {
                Some(last) => last.1 = (*at).max(last.1),
                None => last_outcomes.push((*outcome, *at)),
            }
        }
        CallFacts {
            purpose_allowed,
            registries,
            consent,
            restricted,
            lists: record
                .lists
                .iter()
                .map(|l| ListFact {
                    id: l.list.id,
                    source: l.list.provenance.source,
                    expires_at: l.list.expires_at,
                    purged: l.list.purged_at.is_some(),
                    checks: l.checks.clone(),
                })
                .collect(),
            art14_notice_owed: record.lists.iter().any(|l| l.notice_owed),
            notice_version: record.notice_version,
            attempts: outcomes.iter().map(|(at, _)| *at).collect(),
            last_outcomes,
        }
    }
}

/// The suppression reason a restriction of processing (art. 18) leaves.
const RESTRICTED: &str = "restricted";

/// The audit event of a decision: the verdict as outcome (a denial with its
/// first reason's code), the person by pseudonym when known. The secret
/// came with the decision's one storage read, so no second read is made.
fn decision_event(
    grant: &TenantGrant<GateCalls>,
    record: &CallRecord,
    decision: &Decision,
    now: Timestamp,
) -> AuditEvent {
    let mut event = grant
        .event(Action::CallDecide, now)
        .object(ObjectRef::kind_only(ObjectKind::Call));
    if decision.verdict == Verdict::Deny {
        event.outcome = Outcome::denied(decision.reasons.first().map_or("deny", |r| r.code()));
    }
    match (record.subject, &record.audit_secret) {
        (Some(subject), Some(secret)) => event.subject(pseudonym(secret, subject)),
        _ => event,
    }
}
