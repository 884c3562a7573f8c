//! The readable summary that opens an access bundle, in the person's
//! language: wording from `letters/summary.toml` (data, checked when
//! loaded), counts from the bundle.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Language, LetterError};

/// The lines of one language's summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryWording {
    title: String,
    intro: String,
    attributes: String,
    contacts: String,
    lists: String,
    consents: String,
    calls: String,
    recordings: String,
    requests: String,
    accesses: String,
    closing: String,
}

/// Counts of a bundle's sections, in the summary's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryCounts {
    /// Attributes.
    pub attributes: usize,
    /// Contact points.
    pub contacts: usize,
    /// Lists.
    pub lists: usize,
    /// Consent events.
    pub consents: usize,
    /// Calls.
    pub calls: usize,
    /// Recordings.
    pub recordings: usize,
    /// Requests.
    pub requests: usize,
    /// Accesses.
    pub accesses: usize,
}

/// Every language's summary wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryBook {
    by_language: BTreeMap<String, SummaryWording>,
}

const SHIPPED: &str = include_str!("../../letters/summary.toml");

impl SummaryBook {
    /// The shipped wording, checked: every language, every line, `{n}` in
    /// every counted line.
    pub fn shipped() -> Result<Self, LetterError> {
        Self::parse("summary.toml", SHIPPED)
    }

    fn parse(file: &str, text: &str) -> Result<Self, LetterError> {
        let by_language: BTreeMap<String, SummaryWording> =
            toml::from_str(text).map_err(|e| LetterError::File {
                file: file.to_owned(),
                reason: e.message().to_owned(),
            })?;
        for language in Language::ALL {
            let Some(w) = by_language.get(language.as_str()) else {
                return Err(LetterError::Missing {
                    file: file.to_owned(),
                    key: language.as_str().to_owned(),
                });
            };
            for (key, line) in [
                ("attributes", &w.attributes),
                ("contacts", &w.contacts),
                ("lists", &w.lists),
                ("consents", &w.consents),
                ("calls", &w.calls),
                ("recordings", &w.recordings),
                ("requests", &w.requests),
                ("accesses", &w.accesses),
            ] {
                if !line.contains("{n}") {
                    return Err(LetterError::Invalid {
                        file: file.to_owned(),
                        key: format!("{}.{key}", language.as_str()),
                        reason: "must contain {n}".to_owned(),
                    });
                }
            }
        }
        Ok(Self { by_language })
    }

    /// The summary text for a bundle of `counts`, about `reference`, held
    /// by `controller`.
    pub fn render(
        &self,
        language: Language,
        controller: &str,
        reference: &str,
        counts: SummaryCounts,
    ) -> String {
        let Some(w) = self.by_language.get(language.as_str()) else {
            return String::new();
        };
        let line = |text: &str, n: usize| text.replace("{n}", &n.to_string());
        let mut out = vec![
            w.title.clone(),
            String::new(),
            w.intro
                .replace("{controller}", controller)
                .replace("{reference}", reference),
            String::new(),
        ];
        out.extend([
            line(&w.attributes, counts.attributes),
            line(&w.contacts, counts.contacts),
            line(&w.lists, counts.lists),
            line(&w.consents, counts.consents),
            line(&w.calls, counts.calls),
            line(&w.recordings, counts.recordings),
            line(&w.requests, counts.requests),
            line(&w.accesses, counts.accesses),
        ]);
        out.push(String::new());
        out.push(w.closing.clone());
        out.join("\n")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_language_summarises_with_its_counts() {
        let book = SummaryBook::shipped().unwrap();
        let counts = SummaryCounts {
            lists: 2,
            calls: 7,
            ..SummaryCounts::default()
        };
        for language in Language::ALL {
            let text = book.render(*language, "Energia Tre SpA", "R-1", counts);
            assert!(
                text.contains("Energia Tre SpA") && text.contains("R-1"),
                "{text}"
            );
            assert!(text.contains(": 7") || text.contains(" : 7"), "{text}");
            assert!(!text.contains('{'), "{text}");
        }
        let it = book.render(Language::It, "C", "R", counts);
        assert!(it.contains("Chiamate effettuate verso di lei: 7"), "{it}");
    }

    #[test]
    fn a_line_without_its_count_is_refused_by_name() {
        let broken = SHIPPED.replacen("Call recordings: {n}", "Call recordings", 1);
        let error = SummaryBook::parse("summary.toml", &broken).unwrap_err();
        assert!(error.to_string().contains("en.recordings"), "{error}");
    }
}
