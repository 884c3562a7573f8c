//! Loading and validating template files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Deserialize;

use super::render::{self, DatePart, DateStyle, Fact, Part, Piece, Template, Token};
use super::{
    ExtensionReason, Language, Letter, LetterError, LetterFacts, LetterOutcome, RefusalReason,
    RequestKind,
};

/// Defines a struct holding one `T` per variant of an enum, with a total `get`.
macro_rules! by_variant {
    ($name:ident, $enum:ident, { $($field:ident => $variant:ident),+ $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name<T> {
            $($field: T,)+
        }

        impl<T> $name<T> {
            pub(crate) fn get(&self, key: $enum) -> &T {
                match key {
                    $($enum::$variant => &self.$field,)+
                }
            }

            fn try_build<E>(mut build: impl FnMut($enum) -> Result<T, E>) -> Result<Self, E> {
                Ok(Self {
                    $($field: build($enum::$variant)?,)+
                })
            }
        }
    };
}

by_variant!(ByLanguage, Language, {
    italian => It, spanish => Es, estonian => Et, french => Fr, english => En,
});
by_variant!(ByKind, RequestKind, {
    access => Access, rectification => Rectification, erasure => Erasure, restriction => Restriction,
    objection => Objection, portability => Portability, withdrawal => Withdrawal,
});
by_variant!(ByOutcome, LetterOutcome, {
    answered => Answered, refused => Refused, extended => Extended,
});
by_variant!(ByReason, RefusalReason, {
    identity_not_verified => IdentityNotVerified, manifestly_unfounded => ManifestlyUnfounded,
    excessive => Excessive, legal_obligation_to_keep => LegalObligationToKeep,
    overriding_legitimate_grounds => OverridingLegitimateGrounds,
});
by_variant!(ByExtension, ExtensionReason, {
    complexity => Complexity, number_of_requests => NumberOfRequests,
});

/// The subject and body templates of one letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LetterTemplate {
    pub(crate) subject: Template,
    pub(crate) body: Template,
}

/// The validated templates of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LanguageBook {
    pub(crate) dates: DateStyle,
    pub(crate) kinds: ByKind<String>,
    pub(crate) refusal_reasons: ByReason<String>,
    pub(crate) extension_reasons: ByExtension<String>,
    pub(crate) kept_intro: String,
    pub(crate) kept_nothing: String,
    pub(crate) letters: ByKind<ByOutcome<LetterTemplate>>,
}

/// Letter templates for all five languages, every one validated at load time.
///
/// A `LetterBook` guarantees that for every language, request kind and outcome
/// there is a subject and a body; that every template uses only known
/// placeholders, and only those that make sense for its outcome and kind
/// (`{reasons}` in refused letters, `{extended_deadline}` and
/// `{extension_reason}` in extended letters, `{kept}` in erasure letters); that
/// every letter cites `{reference}`; that refused letters state `{reasons}` and
/// `{authority}`; that extended letters state `{deadline}`,
/// `{extended_deadline}` and `{extension_reason}`; that the erasure answer
/// states `{kept}`; and that all 12 month names and every kind and reason text
/// are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterBook {
    languages: ByLanguage<LanguageBook>,
}

impl LetterBook {
    /// The shipped templates (`letters/*.toml`, compiled into the crate).
    ///
    /// # Errors
    ///
    /// Only if a shipped file is invalid, which the crate's tests rule out.
    pub fn shipped() -> Result<Self, LetterError> {
        let languages = ByLanguage::try_build(|language| {
            load_language(language, &shipped_name(language), shipped_text(language))
        })?;
        Ok(Self { languages })
    }

    /// Shipped templates with any `<lang>.toml` in `dir` replacing the shipped
    /// one for that language (whole file, no merging).
    ///
    /// Files with other extensions are ignored.
    ///
    /// # Errors
    ///
    /// If `dir` cannot be read, if it holds a `*.toml` file whose name is not
    /// one of `it.toml`, `es.toml`, `et.toml`, `fr.toml`, `en.toml` (most likely
    /// a typo), or if any override file is invalid; the error names the file's
    /// path and the offending key.
    pub fn with_overrides(dir: &Path) -> Result<Self, LetterError> {
        let overrides = find_overrides(dir)?;
        let languages = ByLanguage::try_build(|language| {
            match overrides.iter().find(|(lang, _)| *lang == language) {
                Some((_, path)) => {
                    let file = path.display().to_string();
                    let text = std::fs::read_to_string(path).map_err(|err| LetterError::File {
                        file: file.clone(),
                        reason: format!("cannot be read: {err}"),
                    })?;
                    load_language(language, &file, &text)
                }
                None => load_language(language, &shipped_name(language), shipped_text(language)),
            }
        })?;
        Ok(Self { languages })
    }

    /// Renders the letter for `kind` and `outcome` in `language`. On success
    /// the letter contains no placeholder; facts are inserted verbatim.
    ///
    /// # Errors
    ///
    /// If the facts lack what the outcome needs: a reference and a controller
    /// always, with a deadline not before `received`; for `Refused`, at least
    /// one refusal reason and the authority; for `Extended`, the extended
    /// deadline (after the deadline, at most two months later) and the
    /// extension reason; for erasure, kept items with both fields filled.
    pub fn render(
        &self,
        language: Language,
        kind: RequestKind,
        outcome: LetterOutcome,
        facts: &LetterFacts,
    ) -> Result<Letter, LetterError> {
        render::render_letter(self.languages.get(language), language, kind, outcome, facts)
    }

    /// Writes `date` the way letters in `language` write it, e.g. "28 febbraio 2026".
    #[must_use]
    pub fn format_date(&self, language: Language, date: Date) -> String {
        self.languages.get(language).dates.format(date)
    }
}

fn shipped_name(language: Language) -> String {
    format!("{}.toml", language.as_str())
}

fn shipped_text(language: Language) -> &'static str {
    match language {
        Language::It => include_str!("../../letters/it.toml"),
        Language::Es => include_str!("../../letters/es.toml"),
        Language::Et => include_str!("../../letters/et.toml"),
        Language::Fr => include_str!("../../letters/fr.toml"),
        Language::En => include_str!("../../letters/en.toml"),
    }
}

/// The `*.toml` files in `dir`, each matched to its language.
fn find_overrides(dir: &Path) -> Result<Vec<(Language, PathBuf)>, LetterError> {
    let dir_error = |err: std::io::Error| LetterError::File {
        file: dir.display().to_string(),
        reason: format!("override directory cannot be read: {err}"),
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(dir_error)? {
        let path = entry.map_err(dir_error)?.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("toml") {
            continue;
        }
        let stem = path.file_stem().and_then(|stem| stem.to_str());
        match Language::ALL
            .iter()
            .find(|lang| Some(lang.as_str()) == stem)
        {
            Some(language) => found.push((*language, path)),
            None => {
                return Err(LetterError::File {
                    file: path.display().to_string(),
                    reason: format!(
                        "is not a language template; expected one of {}",
                        expected(Language::ALL.iter().map(|l| shipped_name(*l)))
                    ),
                });
            }
        }
    }
    Ok(found)
}

fn expected(names: impl Iterator<Item = String>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    language: Option<String>,
    dates: Option<RawDates>,
    kinds: Option<BTreeMap<String, String>>,
    refusal_reasons: Option<BTreeMap<String, String>>,
    extension_reasons: Option<BTreeMap<String, String>>,
    kept: Option<RawKept>,
    common: Option<BTreeMap<String, String>>,
    letters: Option<BTreeMap<String, BTreeMap<String, RawLetter>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDates {
    months: Option<Vec<String>>,
    pattern: Option<String>,
    first_day: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKept {
    intro: Option<String>,
    nothing: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLetter {
    subject: Option<String>,
    body: Option<String>,
}

/// Parses and validates one language file.
fn load_language(language: Language, file: &str, text: &str) -> Result<LanguageBook, LetterError> {
    let raw: RawFile = toml::from_str(text).map_err(|err| LetterError::File {
        file: file.to_owned(),
        reason: describe_toml_error(text, &err),
    })?;
    Loader { file }.load(language, raw)
}

fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let line = err
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| before.matches('\n').count() + 1);
    match line {
        Some(line) => format!("invalid TOML at line {line}: {message}"),
        None => format!("invalid TOML: {message}"),
    }
}

/// A `[section]` of plain texts being consumed.
struct Table {
    section: String,
    map: BTreeMap<String, String>,
}

/// Validation context: the file being loaded, for error messages.
struct Loader<'a> {
    file: &'a str,
}

impl Loader<'_> {
    fn missing(&self, key: impl Into<String>) -> LetterError {
        LetterError::Missing {
            file: self.file.to_owned(),
            key: key.into(),
        }
    }

    fn invalid(&self, key: impl Into<String>, reason: impl Into<String>) -> LetterError {
        LetterError::Invalid {
            file: self.file.to_owned(),
            key: key.into(),
            reason: reason.into(),
        }
    }

    fn unknown(&self, key: &str, placeholder: &str) -> LetterError {
        LetterError::UnknownPlaceholder {
            file: self.file.to_owned(),
            key: key.to_owned(),
            placeholder: placeholder.to_owned(),
        }
    }

    fn load(&self, language: Language, raw: RawFile) -> Result<LanguageBook, LetterError> {
        let declared = raw.language.ok_or_else(|| self.missing("language"))?;
        if declared != language.as_str() {
            return Err(self.invalid(
                "language",
                format!(
                    "is \"{declared}\" but this file is for \"{}\"",
                    language.as_str()
                ),
            ));
        }
        let dates = self.dates(raw.dates)?;
        let slugs: Vec<_> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut table = self.table("kinds", raw.kinds, &slugs)?;
        let kinds = ByKind::try_build(|k| self.take(&mut table, k.as_str()))?;
        let slugs: Vec<_> = RefusalReason::ALL.iter().map(|r| r.as_str()).collect();
        let mut table = self.table("refusal_reasons", raw.refusal_reasons, &slugs)?;
        let refusal_reasons = ByReason::try_build(|r| self.take(&mut table, r.as_str()))?;
        let slugs: Vec<_> = ExtensionReason::ALL.iter().map(|r| r.as_str()).collect();
        let mut table = self.table("extension_reasons", raw.extension_reasons, &slugs)?;
        let extension_reasons = ByExtension::try_build(|r| self.take(&mut table, r.as_str()))?;
        let kept = raw.kept.ok_or_else(|| self.missing("kept"))?;
        let kept_intro = self.plain("kept.intro", kept.intro)?;
        let kept_nothing = self.plain("kept.nothing", kept.nothing)?;
        let common = self.common(&raw.common.unwrap_or_default())?;
        let letters = self.letters(raw.letters, &common)?;
        Ok(LanguageBook {
            dates,
            kinds,
            refusal_reasons,
            extension_reasons,
            kept_intro,
            kept_nothing,
            letters,
        })
    }

    /// A required plain-text value: non-empty, no braces.
    fn plain(&self, key: &str, value: Option<String>) -> Result<String, LetterError> {
        let value = value.ok_or_else(|| self.missing(key))?;
        if value.trim().is_empty() {
            return Err(self.invalid(key, "is empty"));
        }
        if value.contains(['{', '}']) {
            return Err(self.invalid(
                key,
                "is plain text: placeholders and braces are not allowed",
            ));
        }
        Ok(value.trim().to_owned())
    }

    /// A table of plain texts whose keys are all among `slugs`.
    fn table(
        &self,
        section: &str,
        map: Option<BTreeMap<String, String>>,
        slugs: &[&str],
    ) -> Result<Table, LetterError> {
        let map = map.ok_or_else(|| self.missing(section))?;
        if let Some(extra) = map.keys().find(|key| !slugs.contains(&key.as_str())) {
            return Err(self.invalid(
                format!("{section}.{extra}"),
                format!("unknown key; expected one of {}", slugs.join(", ")),
            ));
        }
        Ok(Table {
            section: section.to_owned(),
            map,
        })
    }

    /// Takes the required plain text `key` out of `table`.
    fn take(&self, table: &mut Table, key: &str) -> Result<String, LetterError> {
        self.plain(&format!("{}.{key}", table.section), table.map.remove(key))
    }

    fn dates(&self, raw: Option<RawDates>) -> Result<DateStyle, LetterError> {
        let raw = raw.ok_or_else(|| self.missing("dates"))?;
        let months = raw.months.ok_or_else(|| self.missing("dates.months"))?;
        let count = months.len();
        for (number, month) in (1..).zip(&months) {
            if month.trim().is_empty() || month.contains(['{', '}']) {
                return Err(self.invalid(
                    "dates.months",
                    format!("month {number} must be a non-empty name without braces"),
                ));
            }
        }
        let months: [String; 12] = months.try_into().map_err(|_| {
            self.invalid(
                "dates.months",
                format!("must list 12 month names, found {count}"),
            )
        })?;
        let pattern_text = raw.pattern.ok_or_else(|| self.missing("dates.pattern"))?;
        let tokens = render::tokenize(&pattern_text)
            .map_err(|err| self.invalid("dates.pattern", err.describe()))?;
        let mut pattern = Vec::new();
        for token in tokens {
            pattern.push(match token {
                Token::Text(text) => DatePart::Text(text),
                Token::Name(name) => match name.as_str() {
                    "day" => DatePart::Day,
                    "month" => DatePart::Month,
                    "year" => DatePart::Year,
                    _ => return Err(self.unknown("dates.pattern", &name)),
                },
            });
        }
        for (needed, name) in [
            (DatePart::Day, "day"),
            (DatePart::Month, "month"),
            (DatePart::Year, "year"),
        ] {
            if !pattern.contains(&needed) {
                return Err(self.invalid("dates.pattern", format!("must use {{{name}}}")));
            }
        }
        let first_day = match raw.first_day {
            None => None,
            Some(value) => Some(self.plain("dates.first_day", Some(value))?),
        };
        Ok(DateStyle {
            months,
            pattern,
            first_day,
        })
    }

    /// Parses `[common]`: each entry may use facts, not other entries.
    fn common(
        &self,
        raw: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Vec<Piece>>, LetterError> {
        let mut common = BTreeMap::new();
        for (name, text) in raw {
            let key = format!("common.{name}");
            if Fact::from_name(name).is_some() {
                return Err(
                    self.invalid(key, "this name is a built-in placeholder; choose another")
                );
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(self.invalid(key, "names must be lower-case letters, digits and _"));
            }
            let tokens =
                render::tokenize(text).map_err(|err| self.invalid(&key, err.describe()))?;
            let mut pieces = Vec::new();
            for token in tokens {
                pieces.push(match token {
                    Token::Text(text) => Piece::Text(text),
                    Token::Name(used) => match Fact::from_name(&used) {
                        Some(fact) => Piece::Fact(fact),
                        None if raw.contains_key(&used) => {
                            return Err(self.invalid(
                                &key,
                                format!("uses {{{used}}}: [common] entries cannot use each other"),
                            ));
                        }
                        None => return Err(self.unknown(&key, &used)),
                    },
                });
            }
            common.insert(name.clone(), pieces);
        }
        Ok(common)
    }

    fn template(
        &self,
        key: &str,
        text: Option<String>,
        common: &BTreeMap<String, Vec<Piece>>,
    ) -> Result<Template, LetterError> {
        let text = text.ok_or_else(|| self.missing(key))?;
        if text.trim().is_empty() {
            return Err(self.invalid(key, "is empty"));
        }
        let tokens = render::tokenize(&text).map_err(|err| self.invalid(key, err.describe()))?;
        let mut parts = Vec::new();
        for token in tokens {
            parts.push(match token {
                Token::Text(text) => Part::Piece(Piece::Text(text)),
                Token::Name(name) => match (Fact::from_name(&name), common.get(&name)) {
                    (Some(fact), _) => Part::Piece(Piece::Fact(fact)),
                    (None, Some(pieces)) => Part::Common {
                        name,
                        pieces: pieces.clone(),
                    },
                    (None, None) => return Err(self.unknown(key, &name)),
                },
            });
        }
        Ok(Template { parts })
    }

    fn letters(
        &self,
        raw: Option<BTreeMap<String, BTreeMap<String, RawLetter>>>,
        common: &BTreeMap<String, Vec<Piece>>,
    ) -> Result<ByKind<ByOutcome<LetterTemplate>>, LetterError> {
        let mut raw = raw.ok_or_else(|| self.missing("letters"))?;
        for (kind, outcomes) in &raw {
            if !RequestKind::ALL.iter().any(|k| k.as_str() == kind) {
                return Err(self.invalid(
                    format!("letters.{kind}"),
                    format!(
                        "unknown request kind; expected one of {}",
                        expected(RequestKind::ALL.iter().map(|k| k.as_str().to_owned()))
                    ),
                ));
            }
            if let Some(extra) = outcomes
                .keys()
                .find(|o| !LetterOutcome::ALL.iter().any(|k| k.as_str() == o.as_str()))
            {
                return Err(self.invalid(
                    format!("letters.{kind}.{extra}"),
                    "unknown outcome; expected one of answered, refused, extended",
                ));
            }
        }
        ByKind::try_build(|kind| {
            let mut outcomes = raw
                .remove(kind.as_str())
                .ok_or_else(|| self.missing(format!("letters.{}", kind.as_str())))?;
            ByOutcome::try_build(|outcome| {
                let key = format!("letters.{}.{}", kind.as_str(), outcome.as_str());
                let letter = outcomes
                    .remove(outcome.as_str())
                    .ok_or_else(|| self.missing(&key))?;
                let subject_key = format!("{key}.subject");
                let subject = self.template(&subject_key, letter.subject, common)?;
                if subject
                    .parts
                    .iter()
                    .any(|part| matches!(part, Part::Piece(Piece::Text(t)) if t.contains('\n')))
                {
                    return Err(self.invalid(&subject_key, "must be a single line"));
                }
                let body = self.template(&format!("{key}.body"), letter.body, common)?;
                let template = LetterTemplate { subject, body };
                self.check_rules(&key, kind, outcome, &template)?;
                Ok(template)
            })
        })
    }

    /// Which placeholders a letter may use and must use.
    fn check_rules(
        &self,
        key: &str,
        kind: RequestKind,
        outcome: LetterOutcome,
        template: &LetterTemplate,
    ) -> Result<(), LetterError> {
        let mut used = Vec::new();
        for (field, part) in [("subject", &template.subject), ("body", &template.body)] {
            for (fact, via) in part.facts() {
                let allowed = match fact {
                    Fact::Reasons => outcome == LetterOutcome::Refused,
                    Fact::ExtendedDeadline | Fact::ExtensionReason => {
                        outcome == LetterOutcome::Extended
                    }
                    Fact::Kept => kind == RequestKind::Erasure,
                    _ => true,
                };
                if !allowed {
                    let only = match fact {
                        Fact::Reasons => "refused letters",
                        Fact::Kept => "erasure letters",
                        _ => "extended letters",
                    };
                    let through = via
                        .map(|name| format!(" (through {{{name}}})"))
                        .unwrap_or_default();
                    return Err(self.invalid(
                        format!("{key}.{field}"),
                        format!("{{{}}}{through} is only available in {only}", fact.name()),
                    ));
                }
                used.push(fact);
            }
        }
        let mut required = vec![Fact::Reference];
        match outcome {
            LetterOutcome::Answered if kind == RequestKind::Erasure => required.push(Fact::Kept),
            LetterOutcome::Answered => {}
            LetterOutcome::Refused => required.extend([Fact::Reasons, Fact::Authority]),
            LetterOutcome::Extended => {
                required.extend([
                    Fact::Deadline,
                    Fact::ExtendedDeadline,
                    Fact::ExtensionReason,
                ]);
            }
        }
        for fact in required {
            if !used.contains(&fact) {
                return Err(self.invalid(
                    key,
                    format!(
                        "must use {{{}}} in its subject or body (directly or through a [common] entry)",
                        fact.name()
                    ),
                ));
            }
        }
        Ok(())
    }
}
