//! Lead lists: where the data came from, under which basis and for which
//! purpose, until when it may be used, and the art. 14 notice owed to people
//! whose data was not collected from them.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::{LegalBasis, Purpose};
use crate::audit::Actor;
use crate::error::InvalidValue;
use crate::ids::{ControllerId, ListId};
use crate::text::{CountryCode, Label};

slug_enum!(
    /// Where a list's data came from.
    SourceKind, "list source" {
        /// Rented or bought from a list supplier.
        Rented = "rented",
        /// The controller's own customers.
        OwnCustomers = "own_customers",
        /// People who called in.
        Inbound = "inbound",
        /// People who filled in a web form.
        WebForm = "web_form",
        /// Public telephone directories (in Italy callable without consent
        /// unless the number is on the RPO).
        PublicDirectory = "public_directory",
    }
);

/// Per source kind: whether the data was collected from the person (art. 13
/// applies) or obtained from someone else (art. 14: a notice is owed), and
/// the default rental expiry in days (`None`: no expiry by default). A table,
/// so the DPO reads the policy in one place.
pub const SOURCE_RULES: [(SourceKind, SourceRule); 5] = [
    (
        SourceKind::Rented,
        SourceRule {
            collected_from_subject: false,
            default_expiry_days: Some(90),
        },
    ),
    (
        SourceKind::OwnCustomers,
        SourceRule {
            collected_from_subject: true,
            default_expiry_days: None,
        },
    ),
    (
        SourceKind::Inbound,
        SourceRule {
            collected_from_subject: true,
            default_expiry_days: None,
        },
    ),
    (
        SourceKind::WebForm,
        SourceRule {
            collected_from_subject: true,
            default_expiry_days: None,
        },
    ),
    (
        SourceKind::PublicDirectory,
        SourceRule {
            collected_from_subject: false,
            default_expiry_days: None,
        },
    ),
];

slug_enum!(
    /// What happened with a person's art. 14 notice.
    Art14Event, "art. 14 event" {
        /// The person was contacted for the first time: the notice is due now.
        FirstContact = "first_contact",
        /// The notice was given.
        NoticeGiven = "notice_given",
    }
);

/// What the source kind implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRule {
    /// True when the data was collected from the person.
    pub collected_from_subject: bool,
    /// Default days of use after acquisition, if limited.
    pub default_expiry_days: Option<u32>,
}

impl SourceKind {
    /// The rule of this source kind.
    pub fn rule(self) -> SourceRule {
        SOURCE_RULES.iter().find(|(kind, _)| *kind == self).map_or(
            SourceRule {
                collected_from_subject: false,
                default_expiry_days: Some(90),
            },
            |(_, rule)| *rule,
        )
    }
}

/// The provenance of a list, as declared at import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Who delivered the list.
    pub supplier: Label,
    /// Who owns the data (the supplier, the controller, a third party).
    pub data_owner: Label,
    /// When the data was acquired.
    pub acquired_at: Timestamp,
    /// What kind of source it is.
    pub source: SourceKind,
    /// The legal basis for using it.
    pub legal_basis: LegalBasis,
    /// The purpose it is used for.
    pub purpose: Purpose,
}

/// Longest rental accepted, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3660;

/// Until when a list may be used: `days` after acquisition, or the source
/// kind's default when not given. `None` is no limit.
pub fn list_expiry(
    provenance: &Provenance,
    days: Option<u32>,
) -> Result<Option<Timestamp>, InvalidValue> {
    let Some(days) = days.or(provenance.source.rule().default_expiry_days) else {
        return Ok(None);
    };
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(InvalidValue::new("must be between 1 and 3660 days"));
    }
    provenance
        .acquired_at
        .checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .map(Some)
        .map_err(|_| InvalidValue::new("puts the expiry beyond the calendar"))
}

/// An imported list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadList {
    /// Identifier.
    pub id: ListId,
    /// The controller whose data it is.
    pub controller_id: ControllerId,
    /// A name people recognise it by.
    pub name: Label,
    /// Where it came from.
    pub provenance: Provenance,
    /// Region for numbers written without a country code.
    pub default_region: Option<CountryCode>,
    /// When it may no longer be used; `None` for no limit.
    pub expires_at: Option<Timestamp>,
    /// When the import was committed.
    pub imported_at: Timestamp,
    /// Rows accepted.
    pub accepted_rows: u64,
    /// Rows rejected (listed in the import's rejection report).
    pub rejected_rows: u64,
    /// SHA-256 of the uploaded file: an import of the same file is the same
    /// import, which is what makes retries free of duplicates.
    pub content_digest: [u8; 32],
    /// Who imported it.
    pub imported_by: Actor,
    /// When its rows were purged after expiry; the provenance is kept.
    pub purged_at: Option<Timestamp>,
}

impl LeadList {
    /// True while the list may be used at `now`: before its expiry and not purged.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.purged_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// The art. 14(3) deadline for data obtained at `acquired_at`: one calendar
/// month later (31 January gives the last day of February), or the first
/// contact with the person if that comes first.
pub fn art14_due(acquired_at: Timestamp, first_contact: Option<Timestamp>) -> Timestamp {
    let month_later = acquired_at
        .to_zoned(TimeZone::UTC)
        .checked_add(Span::new().months(1))
        .map_or(acquired_at, |z| z.timestamp());
    match first_contact {
        Some(contact) if contact < month_later => contact,
        _ => month_later,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn provenance(source: SourceKind, acquired: &str) -> Provenance {
        Provenance {
            supplier: Label::parse("Liste Srl").unwrap(),
            data_owner: Label::parse("Liste Srl").unwrap(),
            acquired_at: t(acquired),
            source,
            legal_basis: LegalBasis::Consent,
            purpose: "telemarketing".parse().unwrap(),
        }
    }

    #[test]
    fn rented_lists_expire_after_90_days_by_default() {
        let rented = provenance(SourceKind::Rented, "2026-01-01T09:00:00Z");
        assert_eq!(
            list_expiry(&rented, None).unwrap(),
            Some(t("2026-04-01T09:00:00Z"))
        );
        assert_eq!(
            list_expiry(&rented, Some(30)).unwrap(),
            Some(t("2026-01-31T09:00:00Z"))
        );
        assert!(list_expiry(&rented, Some(0)).is_err());
        let own = provenance(SourceKind::OwnCustomers, "2026-01-01T09:00:00Z");
        assert_eq!(list_expiry(&own, None).unwrap(), None);
        assert_eq!(
            list_expiry(&own, Some(10)).unwrap(),
            Some(t("2026-01-11T09:00:00Z"))
        );
    }

    #[test]
    fn a_list_is_unusable_from_its_expiry_instant() {
        let list = LeadList {
            id: ListId::generate(),
            controller_id: ControllerId::generate(),
            name: Label::parse("spring").unwrap(),
            provenance: provenance(SourceKind::Rented, "2026-01-01T09:00:00Z"),
            default_region: None,
            expires_at: Some(t("2026-04-01T09:00:00Z")),
            imported_at: t("2026-01-02T00:00:00Z"),
            accepted_rows: 1,
            rejected_rows: 0,
            content_digest: [0; 32],
            imported_by: Actor::Operator,
            purged_at: None,
        };
        assert!(list.usable_at(t("2026-04-01T08:59:59.999999Z")));
        assert!(!list.usable_at(t("2026-04-01T09:00:00Z")));
    }

    #[test]
    fn art14_is_due_a_month_after_acquisition_or_at_first_contact() {
        assert_eq!(
            art14_due(t("2026-01-31T10:00:00Z"), None),
            t("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            art14_due(t("2028-01-31T10:00:00Z"), None),
            t("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            art14_due(t("2026-03-15T00:00:00Z"), None),
            t("2026-04-15T00:00:00Z")
        );
        let contact = t("2026-03-20T12:00:00Z");
        assert_eq!(art14_due(t("2026-03-15T00:00:00Z"), Some(contact)), contact);
        assert_eq!(
            art14_due(t("2026-03-15T00:00:00Z"), Some(t("2026-05-01T00:00:00Z"))),
            t("2026-04-15T00:00:00Z")
        );
    }

    #[test]
    fn only_data_not_collected_from_the_person_owes_an_art14_notice() {
        assert!(!SourceKind::Rented.rule().collected_from_subject);
        for kind in [
            SourceKind::OwnCustomers,
            SourceKind::Inbound,
            SourceKind::WebForm,
        ] {
            assert!(kind.rule().collected_from_subject, "{kind}");
        }
    }
}
