//! Answer letters for GDPR data-subject requests.
//!
//! A [`LetterBook`] holds one set of templates per [`Language`]. Templates are
//! data: one TOML file per language is shipped with the crate (`letters/*.toml`)
//! and an operator may replace any of them with a file of the same name in an
//! override directory. Every template set is fully validated when it is loaded,
//! so [`LetterBook::render`] can only fail because the [`LetterFacts`] lack
//! something the requested [`LetterOutcome`] needs.
//!
//! Letters never contain the data subject's name or other personal data beyond
//! what is in the facts: they address the person generically and cite the
//! request reference.

mod book;
mod render;
mod summary;
#[cfg(test)]
mod tests;

pub use book::LetterBook;
pub use summary::{SummaryBook, SummaryCounts};
pub use tutela_domain::{ExtensionReason, Language, RefusalReason, RequestKind};

/// How a request was dealt with, i.e. which letter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LetterOutcome {
    /// The request was carried out, slug `answered`.
    Answered,
    /// The request is refused, with reasons and the art. 12(4) remedies, slug `refused`.
    Refused,
    /// The deadline is extended under art. 12(3), slug `extended`.
    Extended,
}

impl LetterOutcome {
    /// Every outcome, each exactly once.
    pub const ALL: &[Self] = &[Self::Answered, Self::Refused, Self::Extended];

    /// The stable slug used as a TOML key; distinct for every outcome.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Refused => "refused",
            Self::Extended => "extended",
        }
    }
}

/// Something kept after an erasure because the law requires it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeptItem {
    /// What is kept, e.g. "contract records"; must not be empty.
    pub what: String,
    /// Why and for how long, e.g. "art. 2220 Codice civile, 10 years"; must not be empty.
    pub legal_basis: String,
}

/// The facts a letter states. Facts are plain text: they are inserted verbatim
/// and are never interpreted as placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterFacts {
    /// The request's reference, e.g. "DSR-2026-000123"; must not be empty.
    pub reference: String,
    /// The controller's name (a company); must not be empty.
    pub controller: String,
    /// When the request was received.
    pub received: jiff::civil::Date,
    /// The original deadline; must not be before `received`.
    pub deadline: jiff::civil::Date,
    /// Required for [`LetterOutcome::Extended`]: after `deadline`, at most two months later.
    pub extended_deadline: Option<jiff::civil::Date>,
    /// Required (non-empty) for [`LetterOutcome::Refused`]; duplicates are stated once.
    pub refusal_reasons: Vec<RefusalReason>,
    /// Required for [`LetterOutcome::Extended`].
    pub extension_reason: Option<ExtensionReason>,
    /// May be empty; only erasure letters mention it.
    pub kept: Vec<KeptItem>,
    /// The supervisory authority's name and site, e.g. "Garante per la protezione
    /// dei dati personali, www.garanteprivacy.it"; required for refused letters.
    pub authority: String,
}

/// A rendered letter: plain text, with every placeholder replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// The language the letter is written in.
    pub language: Language,
    /// A single-line subject (unless a fact itself contains a line break).
    pub subject: String,
    /// The body, without leading or trailing blank lines.
    pub body: String,
}

/// Why a template set could not be loaded or a letter could not be rendered.
///
/// Load errors name the file (its name for a shipped file, its path for an
/// override) and, where there is one, the template key; render errors name the
/// outcome and the missing or invalid field of [`LetterFacts`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LetterError {
    /// The file (or override directory) cannot be read, is not valid TOML, or
    /// is not a language template file.
    #[error("file {file}: {reason}")]
    File {
        /// The file or directory concerned.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A required key is absent.
    #[error("file {file}: {key} is missing")]
    Missing {
        /// The file concerned.
        file: String,
        /// The dotted key, e.g. `letters.erasure.refused`.
        key: String,
    },
    /// A key is present but its value is not acceptable.
    #[error("file {file}: {key}: {reason}")]
    Invalid {
        /// The file concerned.
        file: String,
        /// The dotted key, e.g. `dates.months`.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A template uses a placeholder that is neither a fact nor a `[common]` entry.
    #[error("file {file}: unknown placeholder {{{placeholder}}} in {key}")]
    UnknownPlaceholder {
        /// The file concerned.
        file: String,
        /// The dotted key of the template, e.g. `letters.access.answered.body`.
        key: String,
        /// The placeholder's name, without braces.
        placeholder: String,
    },
    /// The facts lack something this outcome needs.
    #[error("{} letter needs {needs} (field {field})", .outcome.as_str())]
    MissingFact {
        /// The outcome being rendered.
        outcome: LetterOutcome,
        /// The [`LetterFacts`] field.
        field: &'static str,
        /// What is needed, in words.
        needs: &'static str,
    },
    /// A fact is present but inconsistent.
    #[error("{} letter: field {field}: {reason}", .outcome.as_str())]
    InvalidFact {
        /// The outcome being rendered.
        outcome: LetterOutcome,
        /// The [`LetterFacts`] field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}
