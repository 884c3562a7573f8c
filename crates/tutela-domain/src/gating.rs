//! The call-gating decision: may this number be called now, for this
//! purpose? A pure function of the facts the application gathered and the
//! country's rules, so every edge is tested at exact instants.
//!
//! Every rule that denies is evaluated (not only the first), so the dialer
//! and the DPO see all the reasons at once. An allowed call carries the
//! obligations the caller must meet and the instant until which the answer
//! holds, after which the dialer must ask again.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::calling_hours::{ClosedBecause, HoursVerdict};
use crate::consent::{Channel, ConsentState};
use crate::ids::ListId;
use crate::jurisdiction::{CallOutcome, Jurisdiction, MarketingBasis, ObligationKind};
use crate::lead_list::SourceKind;
use crate::registry::Registry;
use crate::registry_snapshot::RegistryRef;
use crate::text::CountryCode;

const DAY: SignedDuration = SignedDuration::from_hours(24);

/// What the dialer asks, after parsing.
#[derive(Debug, Clone)]
pub struct CallQuestion {
    /// The channel of the contact.
    pub channel: Channel,
    /// Whether the purpose is direct marketing (from the agreement).
    pub direct_marketing: bool,
    /// When the call would be placed.
    pub at: Timestamp,
    /// Where the operator sits, if said.
    pub operator_country: Option<CountryCode>,
    /// Whether the call will be recorded.
    pub recorded: bool,
    /// The list the number is called from, if said.
    pub list: Option<ListId>,
}

/// A registry loaded on this node: which snapshot, as of when, and whether
/// it holds the number.
#[derive(Debug, Clone)]
pub struct RegistryFact {
    /// The registry or suppression list.
    pub registry: RegistryRef,
    /// The snapshot's as-of instant.
    pub as_of: Timestamp,
    /// Whether the number is on it.
    pub listed: bool,
}

/// What is known of a list that holds the number.
#[derive(Debug, Clone)]
pub struct ListFact {
    /// The list.
    pub id: ListId,
    /// Where it came from.
    pub source: SourceKind,
    /// When it may no longer be used, if it expires.
    pub expires_at: Option<Timestamp>,
    /// Whether it was purged.
    pub purged: bool,
    /// Its last check against each registry.
    pub checks: Vec<(Registry, Timestamp)>,
}

/// Everything the decision needs, gathered by the application.
#[derive(Debug, Clone, Default)]
pub struct CallFacts {
    /// Whether the agreement lists the purpose.
    pub purpose_allowed: bool,
    /// Registries and suppression lists loaded, with hits.
    pub registries: Vec<RegistryFact>,
    /// Consent for the purpose and channel at the instant (ledger voiding
    /// by recorded registrations applied). `Absent` for unknown numbers.
    pub consent: ConsentState,
    /// Whether processing of the person's data is restricted (art. 18).
    pub restricted: bool,
    /// Lists holding the number.
    pub lists: Vec<ListFact>,
    /// Whether the art. 14 notice is still owed.
    pub art14_notice_owed: bool,
    /// The published notice version for the person's language, if any.
    pub notice_version: Option<u32>,
    /// Instants of earlier attempts to the number by this controller
    /// (newest last), within the longest window that matters.
    pub attempts: Vec<Timestamp>,
    /// The last instant of each outcome that starts a cool-off.
    pub last_outcomes: Vec<(CallOutcome, Timestamp)>,
}

/// Why a call is denied. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DenyReason {
    /// The controller's agreement does not cover the purpose.
    PurposeNotInAgreement,
    /// The person objected to this processing.
    Objected,
    /// Processing of the person's data is restricted.
    Restricted,
    /// The number is on a controller's or the processor's suppression list.
    Suppressed {
        /// Which list.
        list: RegistryRef,
    },
    /// The number is on a national do-not-call registry.
    RegistryListed {
        /// Which registry.
        registry: Registry,
    },
    /// A registry that must be consulted is not loaded.
    RegistryUnavailable {
        /// Which registry.
        registry: Registry,
    },
    /// The registry check is older than the registry's validity window.
    RegistryCheckStale {
        /// Which registry.
        registry: Registry,
        /// The last check; none when the list was never checked.
        checked_at: Option<Timestamp>,
        /// The window.
        validity_days: u16,
    },
    /// The regime needs consent and there is none.
    NoConsent,
    /// The consent was withdrawn.
    ConsentWithdrawn,
    /// The consent was voided by a registration on a registry.
    ConsentVoidedByRegistration {
        /// Which registry.
        registry: Registry,
    },
    /// Outside calling hours.
    OutsideCallingHours {
        /// When the next window opens, if within two weeks.
        opens_at: Option<Timestamp>,
    },
    /// A public holiday.
    PublicHoliday {
        /// Which.
        name: String,
        /// When calling opens again.
        opens_at: Option<Timestamp>,
    },
    /// The attempt cap for the window is reached.
    AttemptCapReached {
        /// The cap.
        max_attempts: u32,
        /// The window in days.
        window_days: u16,
        /// When an attempt leaves the window.
        until: Timestamp,
    },
    /// Within a cool-off after an outcome.
    CoolOff {
        /// The outcome.
        after: CallOutcome,
        /// When it ends.
        until: Timestamp,
    },
    /// The list the number is called from expired or was purged.
    ListExpired {
        /// Which list.
        list: ListId,
    },
    /// The list named is not one that holds the number.
    NotOnList {
        /// Which list.
        list: ListId,
    },
    /// No rules are loaded for the number's country.
    NoRulesForCountry,
}

impl DenyReason {
    /// The stable code, as in the serialized form's `code` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PurposeNotInAgreement => "purpose_not_in_agreement",
            Self::Objected => "objected",
            Self::Restricted => "restricted",
            Self::Suppressed { .. } => "suppressed",
            Self::RegistryListed { .. } => "registry_listed",
            Self::RegistryUnavailable { .. } => "registry_unavailable",
            Self::RegistryCheckStale { .. } => "registry_check_stale",
            Self::NoConsent => "no_consent",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::ConsentVoidedByRegistration { .. } => "consent_voided_by_registration",
            Self::OutsideCallingHours { .. } => "outside_calling_hours",
            Self::PublicHoliday { .. } => "public_holiday",
            Self::AttemptCapReached { .. } => "attempt_cap_reached",
            Self::CoolOff { .. } => "cool_off",
            Self::ListExpired { .. } => "list_expired",
            Self::NotOnList { .. } => "not_on_list",
            Self::NoRulesForCountry => "no_rules_for_country",
        }
    }

    /// The instant at which this reason lifts by itself, if it does.
    fn lifts_at(&self) -> Option<Timestamp> {
        match self {
            Self::OutsideCallingHours { opens_at } | Self::PublicHoliday { opens_at, .. } => {
                *opens_at
            }
            Self::AttemptCapReached { until, .. } | Self::CoolOff { until, .. } => Some(*until),
            _ => None,
        }
    }
}

/// Something the caller must do on an allowed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Obligation {
    /// What.
    pub kind: ObligationKind,
    /// The operator's country, for disclosures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// The notice version to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_version: Option<u32>,
}

impl Obligation {
    fn new(kind: ObligationKind) -> Self {
        Self {
            kind,
            country: None,
            notice_version: None,
        }
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The call may be placed.
    Allow,
    /// It may not.
    Deny,
}

/// The answer to the dialer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow or deny.
    pub verdict: Verdict,
    /// Every reason for a denial; empty when allowed.
    pub reasons: Vec<DenyReason>,
    /// What the caller must do; only when allowed.
    pub obligations: Vec<Obligation>,
    /// Until when the answer holds if nothing else changes: for an allowed
    /// call the earliest instant a window closes, a check goes stale or a
    /// list expires; for a denial the instant the last time-bound reason
    /// lifts, or none when a reason only lifts by a new fact.
    pub valid_until: Option<Timestamp>,
}

/// Collects reasons and the earliest instant the answer may change.
struct Tally {
    reasons: Vec<DenyReason>,
    changes_at: Option<Timestamp>,
}

impl Tally {
    fn deny(&mut self, reason: DenyReason) {
        self.reasons.push(reason);
    }

    fn changes_at(&mut self, instant: Timestamp) {
        self.changes_at = Some(self.changes_at.map_or(instant, |t| t.min(instant)));
    }
}

fn days(n: u16) -> SignedDuration {
    DAY * i32::from(n)
}

/// Decides a call. Marketing rules (registries, the consent regime, hours,
/// caps and cool-offs) apply to direct-marketing purposes on the channels
/// the rules name; the agreement, objections, restriction, suppression
/// lists and list expiry apply to every call.
pub fn decide(
    jurisdiction: Option<&Jurisdiction>,
    question: &CallQuestion,
    facts: &CallFacts,
) -> Decision {
    let mut tally = Tally {
        reasons: Vec::new(),
        changes_at: None,
    };
    if !facts.purpose_allowed {
        tally.deny(DenyReason::PurposeNotInAgreement);
    }
    if matches!(facts.consent, ConsentState::Objected { .. }) {
        tally.deny(DenyReason::Objected);
    }
    if facts.restricted {
        tally.deny(DenyReason::Restricted);
    }
    for hit in facts.registries.iter().filter(|r| r.listed) {
        if !matches!(hit.registry, RegistryRef::National(_)) {
            tally.deny(DenyReason::Suppressed { list: hit.registry });
        }
    }
    check_lists(question, facts, &mut tally);
    let mut obligations = Vec::new();
    match jurisdiction {
        None => tally.deny(DenyReason::NoRulesForCountry),
        Some(rules) => {
            if question.direct_marketing {
                marketing_rules(rules, question, facts, &mut tally, &mut obligations);
            }
            call_obligations(rules, question, facts, &mut obligations);
        }
    }
    if question.recorded {
        obligations.insert(0, Obligation::new(ObligationKind::AnnounceRecording));
    }
    if tally.reasons.is_empty() {
        Decision {
            verdict: Verdict::Allow,
            reasons: Vec::new(),
            obligations,
            valid_until: tally.changes_at,
        }
    } else {
        let lifts: Option<Vec<Timestamp>> =
            tally.reasons.iter().map(DenyReason::lifts_at).collect();
        Decision {
            verdict: Verdict::Deny,
            valid_until: lifts.and_then(|all| all.into_iter().max()),
            reasons: tally.reasons,
            obligations: Vec::new(),
        }
    }
}

fn list_usable(list: &ListFact, at: Timestamp) -> bool {
    !list.purged && list.expires_at.is_none_or(|end| at < end)
}

fn check_lists(question: &CallQuestion, facts: &CallFacts, tally: &mut Tally) {
    let at = question.at;
    if let Some(wanted) = question.list {
        match facts.lists.iter().find(|l| l.id == wanted) {
            None => tally.deny(DenyReason::NotOnList { list: wanted }),
            Some(list) if !list_usable(list, at) => {
                tally.deny(DenyReason::ListExpired { list: wanted })
            }
            Some(list) => {
                if let Some(end) = list.expires_at {
                    tally.changes_at(end);
                }
            }
        }
        return;
    }
    // Called without naming a list: a person known only through lists that
    // all expired may not be called on their strength.
    if !facts.lists.is_empty()
        && !facts.lists.iter().any(|l| list_usable(l, at))
        && let Some(list) = facts.lists.first()
    {
        tally.deny(DenyReason::ListExpired { list: list.id });
    }
}

/// The list the decision relies on for provenance and registry checks.
fn relied_lists<'a>(
    question: &'a CallQuestion,
    facts: &'a CallFacts,
) -> impl Iterator<Item = &'a ListFact> {
    facts.lists.iter().filter(move |l| {
        question.list.is_none_or(|wanted| wanted == l.id) && list_usable(l, question.at)
    })
}

fn marketing_rules(
    rules: &Jurisdiction,
    question: &CallQuestion,
    facts: &CallFacts,
    tally: &mut Tally,
    obligations: &mut Vec<Obligation>,
) {
    let at = question.at;
    let local_date = at.to_zoned(rules.main_zone.clone()).date();
    let Some((regime, next_period)) = rules.regime_on(local_date) else {
        tally.deny(DenyReason::NoRulesForCountry);
        return;
    };
    if let Some(next) = next_period
        && let Ok(start) = next.to_zoned(rules.main_zone.clone())
    {
        tally.changes_at(start.timestamp());
    }
    let contract = regime.contract_exception
        && relied_lists(question, facts).any(|l| l.source == SourceKind::OwnCustomers);
    let public_directory =
        relied_lists(question, facts).any(|l| l.source == SourceKind::PublicDirectory);

    // Registry hits and check freshness, for registries covering the channel.
    let mut listed_on = None;
    for rule in rules
        .rules
        .registries
        .iter()
        .filter(|r| r.channels.contains(&question.channel))
    {
        let loaded = facts
            .registries
            .iter()
            .find(|f| f.registry == RegistryRef::National(rule.registry));
        let Some(loaded) = loaded else {
            if consults_registry(regime.basis, &facts.consent, contract) {
                tally.deny(DenyReason::RegistryUnavailable {
                    registry: rule.registry,
                });
            }
            continue;
        };
        if loaded.listed {
            listed_on = Some((rule.registry, loaded.as_of));
        }
        if !consults_registry(regime.basis, &facts.consent, contract) {
            continue;
        }
        // The check that counts: the list's last scrub when calling from a
        // list, else the snapshot the node holds.
        let checked_at = match question.list {
            Some(_) => relied_lists(question, facts)
                .filter_map(|l| {
                    l.checks
                        .iter()
                        .find(|(r, _)| *r == rule.registry)
                        .map(|(_, t)| *t)
                })
                .max(),
            None => Some(loaded.as_of),
        };
        let stale_at = checked_at.and_then(|t| t.checked_add(days(rule.validity_days)).ok());
        match stale_at {
            Some(stale_at) if at < stale_at => tally.changes_at(stale_at),
            _ => tally.deny(DenyReason::RegistryCheckStale {
                registry: rule.registry,
                checked_at,
                validity_days: rule.validity_days,
            }),
        }
    }

    consent_regime(
        regime.basis,
        facts,
        contract,
        public_directory,
        listed_on,
        tally,
    );
    calling_hours(rules, at, tally);
    attempts_and_cool_offs(rules, at, facts, tally);
    for kind in &rules.rules.start_of_call {
        obligations.push(Obligation::new(*kind));
    }
}

/// Whether the registry must be consulted: always under opt-out regimes;
/// under consent regimes only when the call does not rest on a consent.
fn consults_registry(basis: MarketingBasis, consent: &ConsentState, contract: bool) -> bool {
    let consented = matches!(consent, ConsentState::Granted { .. });
    match basis {
        MarketingBasis::OptOut | MarketingBasis::ConsentOrRegistry => true,
        MarketingBasis::OptIn => !consented && contract,
    }
}

fn consent_regime(
    basis: MarketingBasis,
    facts: &CallFacts,
    contract: bool,
    public_directory: bool,
    listed_on: Option<(Registry, Timestamp)>,
    tally: &mut Tally,
) {
    // A registration voids a consent given before it. The snapshot only says
    // the number was registered by its as-of instant; without a recorded
    // registration date a consent older than that is taken as voided (the
    // safe reading).
    let consent = match (&facts.consent, listed_on) {
        (ConsentState::Granted { since, event }, Some((registry, as_of)))
            if *since < as_of && basis == MarketingBasis::ConsentOrRegistry && !contract =>
        {
            ConsentState::Voided {
                since: as_of,
                registry,
                event: *event,
            }
        }
        (state, _) => *state,
    };
    let refusal = match &consent {
        ConsentState::Granted { .. } => return,
        ConsentState::Objected { .. } => return, // already a reason
        ConsentState::Withdrawn { .. } => Some(DenyReason::ConsentWithdrawn),
        ConsentState::Voided { registry, .. } => Some(DenyReason::ConsentVoidedByRegistration {
            registry: *registry,
        }),
        ConsentState::Absent => None,
    };
    let registry_denial = listed_on.map(|(registry, _)| DenyReason::RegistryListed { registry });
    let without_consent_ok = match basis {
        MarketingBasis::OptIn => contract,
        MarketingBasis::OptOut => true,
        MarketingBasis::ConsentOrRegistry => contract || public_directory,
    };
    if let Some(reason) = refusal {
        // Withdrawn or voided: no call on the strength of that consent, and
        // an opt-out basis does not revive it for a person who said no.
        if matches!(reason, DenyReason::ConsentWithdrawn) || !without_consent_ok {
            tally.deny(reason);
            return;
        }
    } else if !without_consent_ok {
        tally.deny(DenyReason::NoConsent);
        return;
    }
    if let Some(reason) = registry_denial {
        tally.deny(reason);
    }
}

fn calling_hours(rules: &Jurisdiction, at: Timestamp, tally: &mut Tally) {
    match rules
        .rules
        .hours
        .check_all(&rules.holidays, &rules.zones, at)
    {
        HoursVerdict::Open { closes_at } => tally.changes_at(closes_at),
        HoursVerdict::Closed { because, opens_at } => tally.deny(match because {
            ClosedBecause::PublicHoliday(name) => DenyReason::PublicHoliday { name, opens_at },
            ClosedBecause::OutsideHours => DenyReason::OutsideCallingHours { opens_at },
        }),
    }
}

fn attempts_and_cool_offs(
    rules: &Jurisdiction,
    at: Timestamp,
    facts: &CallFacts,
    tally: &mut Tally,
) {
    for cap in &rules.rules.attempt_caps {
        let window = days(cap.window_days);
        let Ok(start) = at.checked_sub(window) else {
            continue;
        };
        // Attempts strictly inside the window (start, at]: an attempt made
        // exactly `window` ago has left it.
        let mut inside: Vec<Timestamp> = facts
            .attempts
            .iter()
            .copied()
            .filter(|t| *t > start && *t <= at)
            .collect();
        inside.sort_unstable();
        let count = u32::try_from(inside.len()).unwrap_or(u32::MAX);
        if count >= cap.max_attempts {
            // The next attempt is possible once enough of them left.
            let leaving =
                inside.len() + 1 - usize::try_from(cap.max_attempts).unwrap_or(usize::MAX);
            let until = inside
                .get(leaving.saturating_sub(1))
                .and_then(|t| t.checked_add(window).ok())
                .unwrap_or(at);
            tally.deny(DenyReason::AttemptCapReached {
                max_attempts: cap.max_attempts,
                window_days: cap.window_days,
                until,
            });
        } else if let Some(oldest) = inside.first()
            && count + 1 >= cap.max_attempts
            && let Ok(t) = oldest.checked_add(window)
        {
            tally.changes_at(t);
        }
    }
    for cool_off in &rules.rules.cool_offs {
        let last = facts
            .last_outcomes
            .iter()
            .filter(|(outcome, t)| *outcome == cool_off.after && *t <= at)
            .map(|(_, t)| *t)
            .max();
        if let Some(until) = last.and_then(|t| t.checked_add(days(cool_off.days)).ok())
            && at < until
        {
            tally.deny(DenyReason::CoolOff {
                after: cool_off.after,
                until,
            });
        }
    }
}

fn call_obligations(
    rules: &Jurisdiction,
    question: &CallQuestion,
    facts: &CallFacts,
    obligations: &mut Vec<Obligation>,
) {
    if facts.art14_notice_owed {
        obligations.push(Obligation::new(ObligationKind::GiveArt14Notice));
    }
    if let (Some(abroad), Some(country)) = (&rules.rules.operator_abroad, question.operator_country)
        && !abroad.home.contains(&country)
    {
        for kind in &abroad.obligations {
            obligations.push(Obligation {
                country: (*kind == ObligationKind::DiscloseOperatorCountry).then_some(country),
                ..Obligation::new(*kind)
            });
        }
    }
    if let Some(version) = facts.notice_version {
        obligations.push(Obligation {
            notice_version: Some(version),
            ..Obligation::new(ObligationKind::ReadNotice)
        });
    }
}
