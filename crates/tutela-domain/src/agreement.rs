//! Processing agreements: the controller's documented instructions (GDPR
//! art. 28(3)). Every operation on personal data is checked against the
//! agreement in force: purpose, data category and validity dates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::InvalidValue;
use crate::ids::ControllerId;
use crate::text::{CountryCode, Label, check_slug};
use crate::user::UserId;

/// Why personal data is processed, as named in an agreement
/// (`telemarketing`, `customer_care`, `quality`): a slug of 2 to 64
/// characters `a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Purpose(String);

impl Purpose {
    /// The purpose's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Purpose {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        check_slug(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<String> for Purpose {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Purpose> for String {
    fn from(purpose: Purpose) -> Self {
        purpose.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lawful basis of a purpose (GDPR art. 6(1)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case", deny_unknown_fields)]
pub enum LegalBasis {
    /// Art. 6(1)(a): the person's consent, recorded in the consent ledger.
    Consent,
    /// Art. 6(1)(b): a contract with the person.
    Contract,
    /// Art. 6(1)(c): a legal obligation of the controller.
    LegalObligation,
    /// Art. 6(1)(f): a legitimate interest, which needs a documented
    /// balancing test; this names it.
    LegitimateInterest {
        /// Reference of the balancing test (legitimate interest assessment).
        balancing_test: Label,
    },
}

/// A kind of personal data. Categories decide who sees a field in clear,
/// how it is stored and how long it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Name, date of birth, national identifier.
    Identity,
    /// Phone numbers, e-mail and postal addresses.
    Contact,
    /// Contracts, orders, customer numbers.
    Contractual,
    /// Card numbers, IBANs.
    Payment,
    /// Special categories of art. 9 (health, beliefs, …).
    Special,
    /// Call outcomes, preferences, interaction history.
    Behavioural,
}

impl DataCategory {
    /// Every category, in a stable order.
    pub const ALL: [DataCategory; 6] = [
        DataCategory::Identity,
        DataCategory::Contact,
        DataCategory::Contractual,
        DataCategory::Payment,
        DataCategory::Special,
        DataCategory::Behavioural,
    ];

    /// The stable name used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Identity => "identity",
            DataCategory::Contact => "contact",
            DataCategory::Contractual => "contractual",
            DataCategory::Payment => "payment",
            DataCategory::Special => "special",
            DataCategory::Behavioural => "behavioural",
        }
    }
}

impl FromStr for DataCategory {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        DataCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or(InvalidValue::new(
                "must be one of identity, contact, contractual, payment, special, behavioural",
            ))
    }
}

/// A purpose the controller allows, with its legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedPurpose {
    /// The purpose.
    pub purpose: Purpose,
    /// Its legal basis.
    pub legal_basis: LegalBasis,
    /// True when the purpose is direct marketing (telemarketing, offers):
    /// the purposes that do-not-call registrations and their consent-voiding
    /// rules reach.
    #[serde(default)]
    pub direct_marketing: bool,
}

/// How long data of one category kept for one purpose is retained by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// The data category.
    pub category: DataCategory,
    /// The purpose.
    pub purpose: Purpose,
    /// Retention in days, at least 1.
    pub days: u32,
}

/// Another processor engaged by the contact centre for this controller (art. 28(2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubProcessor {
    /// Company name.
    pub name: Label,
    /// Where it processes the data.
    pub country: CountryCode,
    /// What it does (`telephony`, `cloud hosting`).
    pub service: Label,
}

/// The terms of an agreement as submitted, before the rules that relate
/// fields to each other are checked; [`AgreementTerms::try_from`] checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementDraft {
    /// The agreement's reference in the controller's and processor's files.
    pub reference: Label,
    /// Purposes allowed, each with its legal basis.
    pub purposes: Vec<AllowedPurpose>,
    /// Data categories allowed.
    pub categories: Vec<DataCategory>,
    /// Default retention per category and purpose.
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    /// Countries where operators may sit.
    pub operator_countries: Vec<CountryCode>,
    /// Sub-processors the controller authorised.
    #[serde(default)]
    pub sub_processors: Vec<SubProcessor>,
    /// First instant the agreement is in force.
    pub valid_from: Timestamp,
    /// First instant it is no longer in force; open-ended when absent.
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
}

/// An agreement's terms whose fields are consistent with each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "AgreementDraft")]
pub struct AgreementTerms(AgreementDraft);

/// Why agreement terms were refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidTerms {
    /// Path of the offending field, as in the request (`retention[1].purpose`).
    pub field: String,
    /// Why.
    pub reason: &'static str,
}

impl TryFrom<AgreementDraft> for AgreementTerms {
    type Error = InvalidTerms;
    fn try_from(draft: AgreementDraft) -> Result<Self, Self::Error> {
        let invalid = |field: String, reason| Err(InvalidTerms { field, reason });
        if draft.purposes.is_empty() {
            return invalid("purposes".into(), "must name at least one purpose");
        }
        for (i, p) in draft.purposes.iter().enumerate() {
            if draft
                .purposes
                .iter()
                .take(i)
                .any(|q| q.purpose == p.purpose)
            {
                return invalid(format!("purposes[{i}].purpose"), "is listed twice");
            }
        }
        if draft.categories.is_empty() {
            return invalid("categories".into(), "must name at least one data category");
        }
        for (i, c) in draft.categories.iter().enumerate() {
            if draft.categories.iter().take(i).any(|d| d == c) {
                return invalid(format!("categories[{i}]"), "is listed twice");
            }
        }
        for (i, rule) in draft.retention.iter().enumerate() {
            if !draft.categories.contains(&rule.category) {
                return invalid(
                    format!("retention[{i}].category"),
                    "is not among the agreement's categories",
                );
            }
            if !draft.purposes.iter().any(|p| p.purpose == rule.purpose) {
                return invalid(
                    format!("retention[{i}].purpose"),
                    "is not among the agreement's purposes",
                );
            }
            if rule.days == 0 {
                return invalid(format!("retention[{i}].days"), "must be at least 1");
            }
            if draft
                .retention
                .iter()
                .take(i)
                .any(|r| r.category == rule.category && r.purpose == rule.purpose)
            {
                return invalid(
                    format!("retention[{i}]"),
                    "repeats a category and purpose pair",
                );
            }
        }
        if draft.operator_countries.is_empty() {
            return invalid(
                "operator_countries".into(),
                "must name at least one country",
            );
        }
        if draft
            .valid_until
            .is_some_and(|until| until <= draft.valid_from)
        {
            return invalid("valid_until".into(), "must be later than valid_from");
        }
        Ok(Self(draft))
    }
}

impl From<AgreementTerms> for AgreementDraft {
    fn from(terms: AgreementTerms) -> Self {
        terms.0
    }
}

impl AgreementTerms {
    /// The terms' fields.
    pub fn fields(&self) -> &AgreementDraft {
        &self.0
    }

    /// The allowed purpose entry for `purpose`, if the terms allow it.
    pub fn purpose(&self, purpose: &Purpose) -> Option<&AllowedPurpose> {
        self.0.purposes.iter().find(|p| &p.purpose == purpose)
    }

    /// Default retention in days for `category` kept for `purpose`, if set.
    pub fn retention_days(&self, category: DataCategory, purpose: &Purpose) -> Option<u32> {
        self.0
            .retention
            .iter()
            .find(|r| r.category == category && &r.purpose == purpose)
            .map(|r| r.days)
    }
}

/// A version of a controller's agreement. A new version replaces the
/// previous one as the controller's instructions; earlier versions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// Whose agreement.
    pub controller_id: ControllerId,
    /// 1 for the first, then increasing.
    pub version: u32,
    /// The terms.
    pub terms: AgreementTerms,
    /// When this version was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: UserId,
}

/// Why an agreement does not cover an operation. Messages name the purpose
/// or category and the agreement, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementViolation {
    /// The controller has no agreement at all.
    #[error("the controller has no processing agreement; no personal data may be processed")]
    NoAgreement,
    /// The agreement is not in force at this instant.
    #[error("agreement {reference} is not in force at {now} (valid from {valid_from}{until})",
        until = valid_until.map(|u| format!(" until {u}")).unwrap_or_default())]
    NotInForce {
        /// The agreement's reference.
        reference: String,
        /// The instant of the operation.
        now: Timestamp,
        /// Start of validity.
        valid_from: Timestamp,
        /// End of validity.
        valid_until: Option<Timestamp>,
    },
    /// The purpose is not among the agreement's purposes.
    #[error("purpose `{purpose}` is not allowed by agreement {reference}")]
    PurposeNotAllowed {
        /// The purpose asked for.
        purpose: String,
        /// The agreement's reference.
        reference: String,
    },
    /// The data category is not among the agreement's categories.
    #[error("data category `{category}` is not allowed by agreement {reference}")]
    CategoryNotAllowed {
        /// The category asked for.
        category: &'static str,
        /// The agreement's reference.
        reference: String,
    },
    /// The agreement does not process the category for this purpose (it has
    /// no retention rule for the pair).
    #[error("agreement {reference} does not process `{category}` data for purpose `{purpose}`")]
    CategoryNotForPurpose {
        /// The category asked for.
        category: &'static str,
        /// The declared purpose.
        purpose: String,
        /// The agreement's reference.
        reference: String,
    },
}

impl AgreementViolation {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoAgreement => "no_agreement",
            Self::NotInForce { .. } => "agreement_not_in_force",
            Self::PurposeNotAllowed { .. } => "purpose_not_allowed",
            Self::CategoryNotAllowed { .. } | Self::CategoryNotForPurpose { .. } => {
                "category_not_allowed"
            }
        }
    }
}

impl Agreement {
    /// Checks that processing for `purpose` at `now` is within this
    /// agreement, and returns the allowed purpose with its legal basis.
    pub fn allows(
        &self,
        purpose: &Purpose,
        now: Timestamp,
    ) -> Result<&AllowedPurpose, AgreementViolation> {
        let terms = self.terms.fields();
        let reference = || terms.reference.as_str().to_owned();
        let in_force = terms.valid_from <= now && terms.valid_until.is_none_or(|until| now < until);
        if !in_force {
            return Err(AgreementViolation::NotInForce {
                reference: reference(),
                now,
                valid_from: terms.valid_from,
                valid_until: terms.valid_until,
            });
        }
        self.terms
            .purpose(purpose)
            .ok_or_else(|| AgreementViolation::PurposeNotAllowed {
                purpose: purpose.as_str().to_owned(),
                reference: reference(),
            })
    }

    /// Checks that data of `category` is processed under this agreement for
    /// `purpose`: the category is allowed and a retention rule names the pair.
    pub fn allows_category_for(
        &self,
        category: DataCategory,
        purpose: &Purpose,
    ) -> Result<(), AgreementViolation> {
        self.allows_category(category)?;
        match self.terms.retention_days(category, purpose) {
            Some(_) => Ok(()),
            None => Err(AgreementViolation::CategoryNotForPurpose {
                category: category.as_str(),
                purpose: purpose.as_str().to_owned(),
                reference: self.terms.fields().reference.as_str().to_owned(),
            }),
        }
    }

    /// Whether the agreement covers the data category at all.
    pub fn allows_category(&self, category: DataCategory) -> Result<(), AgreementViolation> {
        if self.terms.fields().categories.contains(&category) {
            Ok(())
        } else {
            Err(AgreementViolation::CategoryNotAllowed {
                category: category.as_str(),
                reference: self.terms.fields().reference.as_str().to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn draft() -> AgreementDraft {
        serde_json::from_value(serde_json::json!({
            "reference": "DPA-2026-07",
            "purposes": [
                {"purpose": "customer_care", "legal_basis": {"basis": "contract"}},
                {"purpose": "telemarketing", "legal_basis": {"basis": "consent"}},
                {"purpose": "fraud_prevention", "legal_basis": {"basis": "legitimate_interest", "balancing_test": "LIA-12"}}
            ],
            "categories": ["identity", "contact"],
            "retention": [{"category": "contact", "purpose": "telemarketing", "days": 90}],
            "operator_countries": ["IT", "AL"],
            "sub_processors": [{"name": "Voip Srl", "country": "IT", "service": "telephony"}],
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    fn agreement() -> Agreement {
        Agreement {
            controller_id: ControllerId::generate(),
            version: 1,
            terms: draft().try_into().unwrap(),
            recorded_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            recorded_by: UserId::generate(),
        }
    }

    #[test]
    fn purposes_outside_the_agreement_are_named() {
        let a = agreement();
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let basis = a.allows(&"customer_care".parse().unwrap(), now).unwrap();
        assert_eq!(basis.legal_basis, LegalBasis::Contract);
        let err = a.allows(&"profiling".parse().unwrap(), now).unwrap_err();
        assert_eq!(err.code(), "purpose_not_allowed");
        assert_eq!(
            err.to_string(),
            "purpose `profiling` is not allowed by agreement DPA-2026-07"
        );
        assert!(a.allows_category(DataCategory::Contact).is_ok());
        assert_eq!(
            a.allows_category(DataCategory::Payment).unwrap_err().code(),
            "category_not_allowed"
        );
    }

    #[test]
    fn validity_dates_are_half_open() {
        let a = agreement();
        let p: Purpose = "customer_care".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(a.allows(&p, at("2025-12-31T23:59:59.999999Z")).is_err());
        assert!(a.allows(&p, at("2026-01-01T00:00:00Z")).is_ok());
        assert!(a.allows(&p, at("2026-12-31T23:59:59.999999Z")).is_ok());
        let err = a.allows(&p, at("2027-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(err.code(), "agreement_not_in_force");
        assert!(err.to_string().contains("DPA-2026-07"));
    }

    #[test]
    fn inconsistent_terms_name_the_field() {
        let mut d = draft();
        d.retention.push(RetentionRule {
            category: DataCategory::Payment,
            purpose: "customer_care".parse().unwrap(),
            days: 30,
        });
        let err = AgreementTerms::try_from(d).unwrap_err();
        assert_eq!(err.field, "retention[1].category");

        let mut d = draft();
        d.purposes.push(d.purposes[0].clone());
        assert_eq!(
            AgreementTerms::try_from(d).unwrap_err().field,
            "purposes[3].purpose"
        );

        let mut d = draft();
        d.valid_until = Some(d.valid_from);
        assert_eq!(
            AgreementTerms::try_from(d).unwrap_err().field,
            "valid_until"
        );

        let mut d = draft();
        d.operator_countries.clear();
        assert_eq!(
            AgreementTerms::try_from(d).unwrap_err().field,
            "operator_countries"
        );
    }

    #[test]
    fn terms_round_trip_through_json() {
        let terms: AgreementTerms = draft().try_into().unwrap();
        let json = serde_json::to_string(&terms).unwrap();
        let back: AgreementDraft = serde_json::from_str(&json).unwrap();
        assert_eq!(AgreementTerms::try_from(back).unwrap(), terms);
        assert_eq!(
            terms.retention_days(DataCategory::Contact, &"telemarketing".parse().unwrap()),
            Some(90)
        );
    }
}
