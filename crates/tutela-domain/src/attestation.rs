//! Confidentiality undertakings and privacy-training attestations: a person
//! must hold a current one of each before any access to personal data.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::InvalidValue;
use crate::ids::AttestationId;
use crate::text::Label;
use crate::user::UserId;

/// What a user attested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationKind {
    /// A signed confidentiality undertaking.
    Confidentiality,
    /// Privacy training completed, with the assessment passed.
    PrivacyTraining,
}

impl AttestationKind {
    /// Both kinds, each required for access to personal data.
    pub const REQUIRED: [AttestationKind; 2] = [
        AttestationKind::Confidentiality,
        AttestationKind::PrivacyTraining,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidentiality => "confidentiality",
            Self::PrivacyTraining => "privacy_training",
        }
    }
}

impl FromStr for AttestationKind {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::REQUIRED
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or(InvalidValue::new(
                "must be confidentiality or privacy_training",
            ))
    }
}

/// An attestation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// Identifier.
    pub id: AttestationId,
    /// Whose.
    pub user_id: UserId,
    /// What.
    pub kind: AttestationKind,
    /// Version of the undertaking or of the training course.
    pub version: Label,
    /// For training, the assessment passed (required); absent for undertakings.
    pub assessment: Option<Label>,
    /// When the user signed or passed.
    pub attested_at: Timestamp,
    /// When it stops counting.
    pub expires_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: UserId,
}

impl Attestation {
    /// Checks the fields that relate to each other: training names its
    /// assessment, and the attestation expires after it was given. Returns the
    /// offending field and reason.
    pub fn check(&self) -> Result<(), (&'static str, InvalidValue)> {
        if self.kind == AttestationKind::PrivacyTraining && self.assessment.is_none() {
            return Err((
                "assessment",
                InvalidValue::new("is required for privacy training: name the assessment passed"),
            ));
        }
        if self.expires_at <= self.attested_at {
            return Err((
                "expires_at",
                InvalidValue::new("must be later than attested_at"),
            ));
        }
        Ok(())
    }

    fn current_at(&self, now: Timestamp) -> bool {
        self.attested_at <= now && now < self.expires_at
    }
}

/// Why a user may not access personal data yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationProblem {
    /// None of this kind was ever recorded.
    #[error("no {} attestation is on record; it is required before any access to personal data", kind.as_str())]
    Missing {
        /// Which kind.
        kind: AttestationKind,
    },
    /// The latest of this kind has expired.
    #[error("the {} attestation expired at {expired_at}; renew it before accessing personal data", kind.as_str())]
    Expired {
        /// Which kind.
        kind: AttestationKind,
        /// When the latest one expired.
        expired_at: Timestamp,
    },
}

impl AttestationProblem {
    /// The stable code: `attestation_missing` or `attestation_expired`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "attestation_missing",
            Self::Expired { .. } => "attestation_expired",
        }
    }
}

/// Checks that `attestations` hold a current one of every required kind at `now`.
pub fn check_attestations(
    attestations: &[Attestation],
    now: Timestamp,
) -> Result<(), AttestationProblem> {
    for kind in AttestationKind::REQUIRED {
        let of_kind = || attestations.iter().filter(move |a| a.kind == kind);
        if of_kind().any(|a| a.current_at(now)) {
            continue;
        }
        return Err(
            match of_kind().map(|a| a.expires_at).filter(|e| *e <= now).max() {
                Some(expired_at) => AttestationProblem::Expired { kind, expired_at },
                None => AttestationProblem::Missing { kind },
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn attestation(kind: AttestationKind, from: &str, until: &str) -> Attestation {
        Attestation {
            id: AttestationId::generate(),
            user_id: UserId::generate(),
            kind,
            version: Label::parse("2026.1").unwrap(),
            assessment: Some(Label::parse("GDPR-101 quiz").unwrap()),
            attested_at: at(from),
            expires_at: at(until),
            recorded_by: UserId::generate(),
        }
    }

    #[test]
    fn both_kinds_must_be_current() {
        let c = attestation(
            AttestationKind::Confidentiality,
            "2026-01-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
        );
        let t = attestation(
            AttestationKind::PrivacyTraining,
            "2026-01-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        );
        let now = at("2026-03-01T00:00:00Z");
        assert_eq!(
            check_attestations(&[], now).unwrap_err().code(),
            "attestation_missing"
        );
        assert_eq!(
            check_attestations(std::slice::from_ref(&c), now),
            Err(AttestationProblem::Missing {
                kind: AttestationKind::PrivacyTraining
            })
        );
        assert!(check_attestations(&[c.clone(), t.clone()], now).is_ok());
        let later = at("2026-07-01T00:00:00Z");
        let err = check_attestations(&[c, t], later).unwrap_err();
        assert_eq!(err.code(), "attestation_expired");
        assert!(err.to_string().contains("privacy_training"), "{err}");
    }

    #[test]
    fn training_names_its_assessment() {
        let mut t = attestation(
            AttestationKind::PrivacyTraining,
            "2026-01-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
        );
        t.assessment = None;
        assert_eq!(t.check().unwrap_err().0, "assessment");
        let c = attestation(
            AttestationKind::Confidentiality,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(c.check().unwrap_err().0, "expires_at");
    }
}
