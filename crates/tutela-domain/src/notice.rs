//! Privacy notices (GDPR arts. 13 and 14) and their spoken version for the
//! phone script, versioned per controller and language. A notice lacking
//! required content is refused with every missing item named.

use serde::{Deserialize, Serialize};

use crate::agreement::{DataCategory, LegalBasis, Purpose};
use crate::error::InvalidValue;

slug_enum!(
    /// A language notices are published in (ISO 639-1).
    Language, "notice language" {
        /// Italian.
        It = "it",
        /// Spanish.
        Es = "es",
        /// Estonian.
        Et = "et",
        /// French.
        Fr = "fr",
        /// English.
        En = "en",
    }
);

/// Text of a notice: 1 to 4000 characters, lines allowed, no other control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoticeText(String);

impl NoticeText {
    /// Parses a text.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if value.chars().count() > 4000 {
            return Err(InvalidValue::new("must be at most 4000 characters long"));
        }
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err(InvalidValue::new(
                "must not contain control characters other than new lines",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NoticeText {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NoticeText> for String {
    fn from(text: NoticeText) -> Self {
        text.0
    }
}

/// One purpose as the notice states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticePurpose {
    /// The purpose.
    pub purpose: Purpose,
    /// Its legal basis.
    pub legal_basis: LegalBasis,
    /// The legitimate interest pursued, when that is the basis (art. 13(1)(d)).
    #[serde(default)]
    pub legitimate_interest: Option<NoticeText>,
    /// How it is described to people.
    pub description: NoticeText,
}

/// The short version read on the phone: who, why, recording, rights, and
/// where to read the full notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpokenNotice {
    /// Who the controller is.
    #[serde(default)]
    pub controller: Option<NoticeText>,
    /// Why the person is called.
    #[serde(default)]
    pub purpose: Option<NoticeText>,
    /// Whether and why the call is recorded.
    #[serde(default)]
    pub recording: Option<NoticeText>,
    /// The person's rights, in brief.
    #[serde(default)]
    pub rights: Option<NoticeText>,
    /// Where the full notice can be read.
    #[serde(default)]
    pub full_notice_at: Option<NoticeText>,
}

/// A notice as drafted. Every field is optional here so that a draft
/// missing several items is answered with all of them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeDraft {
    /// Identity and contact details of the controller (art. 13(1)(a)).
    #[serde(default)]
    pub controller: Option<NoticeText>,
    /// Contact details of the DPO (art. 13(1)(b)).
    #[serde(default)]
    pub dpo_contact: Option<NoticeText>,
    /// Purposes with their legal bases (art. 13(1)(c)-(d)).
    #[serde(default)]
    pub purposes: Vec<NoticePurpose>,
    /// Recipients or categories of recipients (art. 13(1)(e)).
    #[serde(default)]
    pub recipients: Option<NoticeText>,
    /// Transfers to third countries and their safeguards, or that there are
    /// none (art. 13(1)(f)).
    #[serde(default)]
    pub transfers: Option<NoticeText>,
    /// Retention period or its criteria (art. 13(2)(a)).
    #[serde(default)]
    pub retention: Option<NoticeText>,
    /// The rights: access, rectification, erasure, restriction, objection,
    /// portability, withdrawal of consent (art. 13(2)(b)-(c)).
    #[serde(default)]
    pub rights: Option<NoticeText>,
    /// The right to complain to a supervisory authority (art. 13(2)(d)).
    #[serde(default)]
    pub complaint: Option<NoticeText>,
    /// Automated decisions and profiling, or that there are none (art. 13(2)(f)).
    #[serde(default)]
    pub automated_decisions: Option<NoticeText>,
    /// True when the notice serves data not collected from the person
    /// (art. 14), which also requires the categories and the source.
    #[serde(default)]
    pub for_data_not_collected_from_subject: bool,
    /// Categories of data concerned (art. 14(1)(d)).
    #[serde(default)]
    pub data_categories: Vec<DataCategory>,
    /// The source of the data (art. 14(2)(f)).
    #[serde(default)]
    pub source: Option<NoticeText>,
    /// The spoken version for the phone script.
    #[serde(default)]
    pub spoken: SpokenNotice,
}

impl NoticeDraft {
    /// Every required item the draft lacks, by its field path; empty when
    /// it may be published.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let mut need = |present: bool, item: &'static str| {
            if !present {
                missing.push(item);
            }
        };
        need(self.controller.is_some(), "controller");
        need(self.dpo_contact.is_some(), "dpo_contact");
        need(!self.purposes.is_empty(), "purposes");
        need(
            self.purposes.iter().all(|p| {
                !matches!(p.legal_basis, LegalBasis::LegitimateInterest { .. })
                    || p.legitimate_interest.is_some()
            }),
            "purposes[].legitimate_interest",
        );
        need(self.recipients.is_some(), "recipients");
        need(self.transfers.is_some(), "transfers");
        need(self.retention.is_some(), "retention");
        need(self.rights.is_some(), "rights");
        need(self.complaint.is_some(), "complaint");
        need(self.automated_decisions.is_some(), "automated_decisions");
        if self.for_data_not_collected_from_subject {
            need(!self.data_categories.is_empty(), "data_categories");
            need(self.source.is_some(), "source");
        }
        need(self.spoken.controller.is_some(), "spoken.controller");
        need(self.spoken.purpose.is_some(), "spoken.purpose");
        need(self.spoken.recording.is_some(), "spoken.recording");
        need(self.spoken.rights.is_some(), "spoken.rights");
        need(
            self.spoken.full_notice_at.is_some(),
            "spoken.full_notice_at",
        );
        missing
    }
}

/// A published version of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedNotice {
    /// The controller it speaks for.
    pub controller_id: crate::ids::ControllerId,
    /// Its language.
    pub language: Language,
    /// 1 for the first in this language, then increasing.
    pub version: u32,
    /// The content, complete.
    pub content: NoticeDraft,
    /// When it was published.
    pub published_at: crate::Timestamp,
    /// Who published it.
    pub published_by: crate::audit::Actor,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> NoticeDraft {
        serde_json::from_value(serde_json::json!({
            "controller": "Energia Srl, Via Roma 1, Milano, privacy@energia.it",
            "dpo_contact": "dpo@energia.it",
            "purposes": [{"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "description": "Offerte"}],
            "recipients": "Call centre Tutela Srl (responsabile)",
            "transfers": "Nessun trasferimento fuori dallo SEE",
            "retention": "24 mesi dall'ultimo contatto",
            "rights": "Accesso, rettifica, cancellazione, limitazione, opposizione, portabilità, revoca",
            "complaint": "Garante per la protezione dei dati personali",
            "automated_decisions": "Nessuna decisione automatizzata",
            "for_data_not_collected_from_subject": true,
            "data_categories": ["identity", "contact"],
            "source": "Liste Srl, elenco noleggiato",
            "spoken": {"controller": "Energia", "purpose": "offerte", "recording": "registrata per qualità",
                       "rights": "può opporsi", "full_notice_at": "energia.it/privacy"}
        }))
        .unwrap()
    }

    #[test]
    fn a_complete_notice_lacks_nothing() {
        assert!(complete().missing().is_empty());
    }

    #[test]
    fn every_missing_item_is_named() {
        let mut draft = complete();
        draft.dpo_contact = None;
        draft.source = None;
        draft.spoken.recording = None;
        assert_eq!(
            draft.missing(),
            ["dpo_contact", "source", "spoken.recording"]
        );
        // Art. 14 items are not needed for data collected from the person.
        draft.for_data_not_collected_from_subject = false;
        assert_eq!(draft.missing(), ["dpo_contact", "spoken.recording"]);
        let empty = NoticeDraft::default().missing();
        assert_eq!(empty.len(), 14);
    }

    #[test]
    fn a_legitimate_interest_must_be_stated() {
        let mut draft = complete();
        draft.purposes[0].legal_basis = LegalBasis::LegitimateInterest {
            balancing_test: crate::text::Label::parse("LIA-1").unwrap(),
        };
        assert_eq!(draft.missing(), ["purposes[].legitimate_interest"]);
    }
}
