//! The consent ledger: append-only events per subject, purpose and channel,
//! from which the state at any instant is derived. Absent means not
//! consented (privacy by default). Nothing is ever rewritten: a withdrawal
//! or a do-not-call registration is a later fact, and the state before it
//! stays what it was.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::Purpose;
use crate::audit::Actor;
use crate::error::InvalidValue;
use crate::ids::{ConsentEventId, ControllerId, SubjectId};
use crate::registry::{Registry, VoidingRule};
use crate::text::Label;
use crate::user::Role;

slug_enum!(
    /// A channel through which a person is contacted.
    Channel, "consent channel" {
        /// Voice calls.
        Phone = "phone",
        /// Text messages.
        Sms = "sms",
        /// E-mail.
        Email = "email",
        /// Paper mail.
        Post = "post",
        /// Messaging apps (WhatsApp, Telegram, …).
        Messaging = "messaging",
    }
);

slug_enum!(
    /// What the person said.
    ConsentAction, "consent action" {
        /// Consent given.
        Granted = "granted",
        /// Consent withdrawn (art. 7(3)).
        Withdrawn = "withdrawn",
        /// Objection to the processing (art. 21).
        Objected = "objected",
    }
);

/// How the consent or its withdrawal can be proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evidence {
    /// A call recording in the vault.
    Recording {
        /// The recording's identifier.
        recording_id: Label,
    },
    /// A submitted web form.
    WebForm {
        /// The submission's identifier.
        submission_id: Label,
    },
    /// A key pressed in an IVR menu.
    IvrKeyPress {
        /// The call's identifier.
        call_id: Label,
        /// The key: a digit, `*` or `#`.
        key: IvrKey,
    },
    /// A signed paper form, filed.
    SignedPaper {
        /// The filing reference.
        reference: Label,
    },
    /// Said to an agent during a call.
    Verbal {
        /// The role of the person it was said to.
        agent_role: Role,
    },
    /// A data-subject request (withdrawal or objection), verified.
    DataSubjectRequest {
        /// The request.
        request_id: crate::RequestId,
    },
}

/// A key of a phone keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IvrKey(char);

impl TryFrom<String> for IvrKey {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c @ ('0'..='9' | '*' | '#')), None) => Ok(Self(c)),
            _ => Err(InvalidValue::new("must be one keypad key: 0-9, * or #")),
        }
    }
}

impl From<IvrKey> for String {
    fn from(key: IvrKey) -> Self {
        key.0.to_string()
    }
}

/// One event of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    /// Identifier; time-ordered, which breaks ties between events given at
    /// the same instant.
    pub id: ConsentEventId,
    /// The controller the consent is given to.
    pub controller_id: ControllerId,
    /// The person.
    pub subject_id: SubjectId,
    /// The purpose it covers.
    pub purpose: Purpose,
    /// The channel it covers.
    pub channel: Channel,
    /// Given, withdrawn or objected.
    pub action: ConsentAction,
    /// When the person said it (may be earlier than `recorded_at`).
    pub at: Timestamp,
    /// When it was entered in the ledger.
    pub recorded_at: Timestamp,
    /// The proof.
    pub evidence: Evidence,
    /// The version of the privacy notice shown, if one was.
    pub notice_version: Option<u32>,
    /// Who collected it (the agent's account or the client that reported it).
    pub collected_by: Actor,
    /// Where: the campaign, the site, the office.
    pub collected_where: Label,
}

/// A person's registration on a do-not-call registry, as known to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRegistration {
    /// The person.
    pub subject_id: SubjectId,
    /// The registry.
    pub registry: Registry,
    /// When the registration took effect.
    pub at: Timestamp,
    /// When it was entered in the ledger.
    pub recorded_at: Timestamp,
}

/// The state of consent for one purpose and channel at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConsentState {
    /// No event yet: not consented.
    #[default]
    Absent,
    /// Consented since `since`, by event `event`.
    Granted {
        /// When it was given.
        since: Timestamp,
        /// The event that gave it.
        event: ConsentEventId,
    },
    /// Withdrawn at `since`.
    Withdrawn {
        /// When.
        since: Timestamp,
        /// The event.
        event: ConsentEventId,
    },
    /// Objected to at `since`.
    Objected {
        /// When.
        since: Timestamp,
        /// The event.
        event: ConsentEventId,
    },
    /// Given, then voided by a later registration on `registry` at `since`.
    Voided {
        /// When the registration took effect.
        since: Timestamp,
        /// The registry.
        registry: Registry,
        /// The consent it voided.
        event: ConsentEventId,
    },
}

impl ConsentState {
    /// True only for a standing consent.
    pub fn is_granted(&self) -> bool {
        matches!(self, ConsentState::Granted { .. })
    }
}

/// What one consent question is about.
#[derive(Debug, Clone, Copy)]
pub struct ConsentQuery<'a> {
    /// The purpose.
    pub purpose: &'a Purpose,
    /// Whether the agreement marks that purpose as direct marketing.
    pub direct_marketing: bool,
    /// The channel.
    pub channel: Channel,
    /// The instant.
    pub at: Timestamp,
}

/// Whether any rule could void a grant on `channel` for a purpose that is
/// (or is not) direct marketing: when none can, registrations need not be read.
pub fn voiding_possible(rules: &[VoidingRule], channel: Channel, direct_marketing: bool) -> bool {
    rules.iter().any(|rule| {
        rule.channels.contains(&channel) && (direct_marketing || !rule.direct_marketing_only)
    })
}

/// The state at `query.at`, from one subject's events and registrations.
///
/// The last event for the purpose and channel given at or before the instant
/// decides (ties by event id, which is time-ordered). A grant is void from
/// the first registration after it (strictly later, at or before the
/// instant) that a rule in `rules` makes void for the channel and purpose.
pub fn consent_state(
    events: &[ConsentEvent],
    registrations: &[RegistryRegistration],
    rules: &[VoidingRule],
    query: ConsentQuery<'_>,
) -> ConsentState {
    let last = events
        .iter()
        .filter(|e| e.purpose == *query.purpose && e.channel == query.channel && e.at <= query.at)
        .max_by_key(|e| (e.at, e.id));
    let Some(last) = last else {
        return ConsentState::Absent;
    };
    match last.action {
        ConsentAction::Withdrawn => ConsentState::Withdrawn {
            since: last.at,
            event: last.id,
        },
        ConsentAction::Objected => ConsentState::Objected {
            since: last.at,
            event: last.id,
        },
        ConsentAction::Granted => {
            let voiding = registrations
                .iter()
                .filter(|r| last.at < r.at && r.at <= query.at)
                .filter(|r| {
                    rules.iter().any(|rule| {
                        rule.registry == r.registry
                            && voiding_possible(
                                std::slice::from_ref(rule),
                                query.channel,
                                query.direct_marketing,
                            )
                    })
                })
                .min_by_key(|r| r.at);
            match voiding {
                Some(r) => ConsentState::Voided {
                    since: r.at,
                    registry: r.registry,
                    event: last.id,
                },
                None => ConsentState::Granted {
                    since: last.at,
                    event: last.id,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::default_voiding_rules;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn event(purpose: &str, channel: Channel, action: ConsentAction, at: &str) -> ConsentEvent {
        ConsentEvent {
            id: ConsentEventId::generate(),
            controller_id: ControllerId::generate(),
            subject_id: SubjectId(uuid::Uuid::nil()),
            purpose: purpose.parse().unwrap(),
            channel,
            action,
            at: t(at),
            recorded_at: t(at),
            evidence: Evidence::Verbal {
                agent_role: Role::Agent,
            },
            notice_version: Some(3),
            collected_by: Actor::Operator,
            collected_where: Label::parse("inbound").unwrap(),
        }
    }

    fn state(
        events: &[ConsentEvent],
        regs: &[RegistryRegistration],
        purpose: &str,
        marketing: bool,
        channel: Channel,
        at: &str,
    ) -> ConsentState {
        let purpose: Purpose = purpose.parse().unwrap();
        consent_state(
            events,
            regs,
            &default_voiding_rules(),
            ConsentQuery {
                purpose: &purpose,
                direct_marketing: marketing,
                channel,
                at: t(at),
            },
        )
    }

    #[test]
    fn absent_means_not_consented() {
        let s = state(
            &[],
            &[],
            "offers",
            true,
            Channel::Phone,
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(s, ConsentState::Absent);
        assert!(!s.is_granted());
    }

    #[test]
    fn withdrawing_sms_leaves_phone_and_other_purposes() {
        let events = [
            event(
                "offers",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "offers",
                Channel::Sms,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "surveys",
                Channel::Sms,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "offers",
                Channel::Sms,
                ConsentAction::Withdrawn,
                "2026-02-01T10:00:00Z",
            ),
        ];
        let at = "2026-03-01T00:00:00Z";
        assert!(matches!(
            state(&events, &[], "offers", true, Channel::Sms, at),
            ConsentState::Withdrawn { .. }
        ));
        assert!(state(&events, &[], "offers", true, Channel::Phone, at).is_granted());
        assert!(state(&events, &[], "surveys", false, Channel::Sms, at).is_granted());
        assert_eq!(
            state(&events, &[], "offers", true, Channel::Email, at),
            ConsentState::Absent
        );
    }

    #[test]
    fn point_in_time_at_exact_instants() {
        let events = [
            event(
                "offers",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "offers",
                Channel::Phone,
                ConsentAction::Objected,
                "2026-02-01T10:00:00Z",
            ),
            event(
                "offers",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-03-01T10:00:00Z",
            ),
        ];
        let s = |at| state(&events, &[], "offers", true, Channel::Phone, at);
        assert_eq!(s("2026-01-01T09:59:59.999999Z"), ConsentState::Absent);
        assert!(s("2026-01-01T10:00:00Z").is_granted());
        assert!(s("2026-02-01T09:59:59.999999Z").is_granted());
        assert!(matches!(
            s("2026-02-01T10:00:00Z"),
            ConsentState::Objected { .. }
        ));
        assert!(matches!(
            s("2026-03-01T09:59:59.999999Z"),
            ConsentState::Objected { .. }
        ));
        assert!(s("2026-03-01T10:00:00Z").is_granted());
    }

    #[test]
    fn same_instant_events_are_ordered_by_id() {
        let grant = event(
            "offers",
            Channel::Phone,
            ConsentAction::Granted,
            "2026-01-01T10:00:00Z",
        );
        let withdraw = event(
            "offers",
            Channel::Phone,
            ConsentAction::Withdrawn,
            "2026-01-01T10:00:00Z",
        );
        // Given in either order, the later-recorded event decides.
        for events in [
            [grant.clone(), withdraw.clone()],
            [withdraw.clone(), grant.clone()],
        ] {
            assert!(matches!(
                state(
                    &events,
                    &[],
                    "offers",
                    true,
                    Channel::Phone,
                    "2026-01-02T00:00:00Z"
                ),
                ConsentState::Withdrawn { .. }
            ));
        }
    }

    #[test]
    fn an_rpo_registration_voids_earlier_marketing_consents_only() {
        let subject = SubjectId(uuid::Uuid::nil());
        let events = [
            event(
                "offers",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "offers",
                Channel::Email,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "billing",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-01-01T10:00:00Z",
            ),
            event(
                "surveys",
                Channel::Phone,
                ConsentAction::Granted,
                "2026-03-01T10:00:00Z",
            ),
        ];
        let regs = [RegistryRegistration {
            subject_id: subject,
            registry: Registry::ItRpo,
            at: t("2026-02-01T00:00:00Z"),
            recorded_at: t("2026-02-03T00:00:00Z"),
        }];
        // Before the registration the consent stands: history is not rewritten.
        assert!(
            state(
                &events,
                &regs,
                "offers",
                true,
                Channel::Phone,
                "2026-01-31T23:59:59.999999Z"
            )
            .is_granted()
        );
        assert_eq!(
            state(
                &events,
                &regs,
                "offers",
                true,
                Channel::Phone,
                "2026-02-01T00:00:00Z"
            ),
            ConsentState::Voided {
                since: t("2026-02-01T00:00:00Z"),
                registry: Registry::ItRpo,
                event: events[0].id
            }
        );
        // Not the e-mail channel, not a purpose that is not marketing.
        assert!(
            state(
                &events,
                &regs,
                "offers",
                true,
                Channel::Email,
                "2026-06-01T00:00:00Z"
            )
            .is_granted()
        );
        assert!(
            state(
                &events,
                &regs,
                "billing",
                false,
                Channel::Phone,
                "2026-06-01T00:00:00Z"
            )
            .is_granted()
        );
        // A consent given after the registration stands.
        assert!(
            state(
                &events,
                &regs,
                "surveys",
                true,
                Channel::Phone,
                "2026-06-01T00:00:00Z"
            )
            .is_granted()
        );
        // A registry without a voiding rule voids nothing.
        let tps = [RegistryRegistration {
            registry: Registry::UkTps,
            ..regs[0].clone()
        }];
        assert!(
            state(
                &events,
                &tps,
                "offers",
                true,
                Channel::Phone,
                "2026-06-01T00:00:00Z"
            )
            .is_granted()
        );
    }

    #[test]
    fn evidence_and_keys_parse_strictly() {
        let ok: Evidence =
            serde_json::from_str(r##"{"kind":"ivr_key_press","call_id":"c-1","key":"#"}"##)
                .unwrap();
        assert!(matches!(ok, Evidence::IvrKeyPress { .. }));
        assert!(
            serde_json::from_str::<Evidence>(
                r#"{"kind":"ivr_key_press","call_id":"c-1","key":"12"}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Evidence>(r#"{"kind":"verbal","agent_role":"agent","x":1}"#)
                .is_err()
        );
        assert_eq!("sms".parse::<Channel>().unwrap(), Channel::Sms);
        assert!("fax".parse::<Channel>().is_err());
    }
}
