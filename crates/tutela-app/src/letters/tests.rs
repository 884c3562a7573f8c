#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use jiff::civil::date;

use super::*;

fn facts() -> LetterFacts {
    LetterFacts {
        reference: "DSR-2026-000123".to_owned(),
        controller: "Callwise S.r.l.".to_owned(),
        received: date(2026, 2, 28),
        deadline: date(2026, 3, 28),
        extended_deadline: Some(date(2026, 5, 28)),
        refusal_reasons: vec![RefusalReason::ManifestlyUnfounded, RefusalReason::Excessive],
        extension_reason: Some(ExtensionReason::Complexity),
        kept: vec![KeptItem {
            what: "contract records".to_owned(),
            legal_basis: "art. 2220 Codice civile, 10 years".to_owned(),
        }],
        authority: "Garante per la protezione dei dati personali, www.garanteprivacy.it".to_owned(),
    }
}

fn shipped() -> LetterBook {
    LetterBook::shipped().unwrap()
}

fn shipped_text(language: Language) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("letters")
        .join(format!("{}.toml", language.as_str()));
    std::fs::read_to_string(path).unwrap()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("tutela-letters-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(file), text).unwrap();
        self
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the `[header]` table (up to the next `[letters.` header) from a TOML text.
fn without_table(text: &str, header: &str) -> String {
    let start = text.find(header).unwrap();
    let end = text[start + header.len()..]
        .find("\n[letters.")
        .map_or(text.len(), |offset| start + header.len() + offset + 1);
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn every_letter_renders_completely() {
    let book = shipped();
    let facts = facts();
    for &language in Language::ALL {
        for &kind in RequestKind::ALL {
            for &outcome in LetterOutcome::ALL {
                let what = format!("{language:?} {kind:?} {outcome:?}");
                let letter = book.render(language, kind, outcome, &facts).unwrap();
                assert_eq!(letter.language, language);
                for text in [&letter.subject, &letter.body] {
                    assert!(text.contains("DSR-2026-000123"), "{what}: no reference");
                    assert!(!text.contains(['{', '}']), "{what}: brace left in {text}");
                }
                assert!(
                    !letter.subject.contains('\n'),
                    "{what}: subject has a line break"
                );
                assert!(
                    letter.body.contains("Callwise S.r.l."),
                    "{what}: no controller"
                );
                assert!(
                    letter
                        .body
                        .contains(&book.format_date(language, facts.received))
                );
                assert_eq!(letter.body, letter.body.trim(), "{what}: untrimmed body");
                match outcome {
                    LetterOutcome::Answered => {}
                    LetterOutcome::Refused => {
                        assert!(letter.body.contains("www.garanteprivacy.it"), "{what}");
                        assert_eq!(letter.body.matches("\n- ").count(), 2, "{what}");
                    }
                    LetterOutcome::Extended => {
                        for day in [facts.deadline, date(2026, 5, 28)] {
                            let written = book.format_date(language, day);
                            assert!(letter.body.contains(&written), "{what}: no {written}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn dates_are_written_per_language() {
    let book = shipped();
    let day = date(2026, 2, 28);
    assert_eq!(book.format_date(Language::It, day), "28 febbraio 2026");
    assert_eq!(book.format_date(Language::En, day), "28 February 2026");
    assert_eq!(book.format_date(Language::Et, day), "28. veebruar 2026");
    assert_eq!(book.format_date(Language::Es, day), "28 de febrero de 2026");
    assert_eq!(book.format_date(Language::Fr, day), "28 février 2026");
    let first = date(2026, 3, 1);
    assert_eq!(book.format_date(Language::Fr, first), "1er mars 2026");
    assert_eq!(book.format_date(Language::It, first), "1° marzo 2026");
    assert_eq!(book.format_date(Language::En, first), "1 March 2026");
    assert_eq!(
        book.format_date(Language::Et, date(2026, 12, 1)),
        "1. detsember 2026"
    );

    let letter = book
        .render(
            Language::It,
            RequestKind::Access,
            LetterOutcome::Answered,
            &facts(),
        )
        .unwrap();
    assert!(
        letter.body.contains("ricevuta in data 28 febbraio 2026"),
        "{}",
        letter.body
    );
}

#[test]
fn refused_needs_reasons() {
    let mut facts = facts();
    facts.refusal_reasons.clear();
    let err = shipped()
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Refused,
            &facts,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        LetterError::MissingFact {
            field: "refusal_reasons",
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "refused letter needs at least one refusal reason (field refusal_reasons)"
    );
    // The same facts are fine for an answer.
    shipped()
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
}

#[test]
fn refused_needs_authority() {
    let mut facts = facts();
    facts.authority = " ".to_owned();
    let err = shipped()
        .render(
            Language::Fr,
            RequestKind::Access,
            LetterOutcome::Refused,
            &facts,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        LetterError::MissingFact {
            field: "authority",
            ..
        }
    ));
}

#[test]
fn extended_needs_deadline_and_reason() {
    let book = shipped();
    let render = |facts: &LetterFacts| {
        book.render(
            Language::Es,
            RequestKind::Access,
            LetterOutcome::Extended,
            facts,
        )
        .unwrap_err()
    };

    let mut no_deadline = facts();
    no_deadline.extended_deadline = None;
    let err = render(&no_deadline);
    assert!(matches!(
        err,
        LetterError::MissingFact {
            field: "extended_deadline",
            ..
        }
    ));
    assert!(err.to_string().contains("extended_deadline"), "{err}");

    let mut no_reason = facts();
    no_reason.extension_reason = None;
    let err = render(&no_reason);
    assert!(matches!(
        err,
        LetterError::MissingFact {
            field: "extension_reason",
            ..
        }
    ));
    assert!(err.to_string().contains("extension_reason"), "{err}");

    let mut too_late = facts();
    too_late.extended_deadline = Some(date(2026, 5, 29));
    let err = render(&too_late);
    assert!(matches!(
        err,
        LetterError::InvalidFact {
            field: "extended_deadline",
            ..
        }
    ));
    assert!(err.to_string().contains("two months"), "{err}");

    let mut too_early = facts();
    too_early.extended_deadline = Some(too_early.deadline);
    assert!(matches!(
        render(&too_early),
        LetterError::InvalidFact {
            field: "extended_deadline",
            ..
        }
    ));
}

#[test]
fn facts_are_checked_for_every_outcome() {
    let book = shipped();
    let mut facts = facts();
    facts.reference.clear();
    let err = book
        .render(
            Language::En,
            RequestKind::Access,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        LetterError::MissingFact {
            field: "reference",
            ..
        }
    ));

    let mut facts = self::facts();
    facts.deadline = date(2026, 2, 1);
    let err = book
        .render(
            Language::En,
            RequestKind::Access,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        LetterError::InvalidFact {
            field: "deadline",
            ..
        }
    ));

    let mut facts = self::facts();
    facts.kept[0].legal_basis.clear();
    let err = book
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap_err();
    assert!(err.to_string().contains("legal_basis"), "{err}");
    // Other kinds do not mention kept items, so they are not checked there.
    book.render(
        Language::En,
        RequestKind::Access,
        LetterOutcome::Answered,
        &facts,
    )
    .unwrap();
}

#[test]
fn erasure_lists_kept_items_or_says_nothing_is_kept() {
    let book = shipped();
    let mut facts = facts();
    facts.kept.push(KeptItem {
        what: "invoices".to_owned(),
        legal_basis: "art. 22 DPR 600/1973, 10 years".to_owned(),
    });
    let letter = book
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
    assert!(letter.body.contains(
        "the law requires us to keep the following:\n\
         - contract records: art. 2220 Codice civile, 10 years\n\
         - invoices: art. 22 DPR 600/1973, 10 years"
    ));
    assert!(!letter.body.contains("we keep no data about you"));
    assert!(letter.body.contains("call recordings"));
    assert!(letter.body.contains("keyed hash"));

    facts.kept.clear();
    let letter = book
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
    assert!(
        letter
            .body
            .contains("Apart from this entry, we keep no data about you.")
    );
    assert!(!letter.body.contains("\n- "));

    let letter = book
        .render(
            Language::It,
            RequestKind::Erasure,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
    assert!(
        letter
            .body
            .contains("non conserviamo alcun dato che La riguardi")
    );
}

#[test]
fn refusal_reasons_are_listed_once_each() {
    let mut facts = facts();
    facts.refusal_reasons = vec![
        RefusalReason::LegalObligationToKeep,
        RefusalReason::IdentityNotVerified,
        RefusalReason::LegalObligationToKeep,
    ];
    let letter = shipped()
        .render(
            Language::En,
            RequestKind::Erasure,
            LetterOutcome::Refused,
            &facts,
        )
        .unwrap();
    assert!(letter.body.contains(
        "on the following grounds:\n\
         - The law requires us to keep the data concerned.\n\
         - We could not verify your identity"
    ));
    assert_eq!(letter.body.matches("\n- ").count(), 2);
    assert!(
        letter
            .body
            .contains("lodge a complaint with the supervisory authority")
    );
    assert!(letter.body.contains("judicial remedy"));
}

#[test]
fn facts_are_inserted_literally() {
    let mut facts = facts();
    facts.reference = "DSR-{controller}-{{1}}".to_owned();
    let letter = shipped()
        .render(
            Language::En,
            RequestKind::Access,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
    assert!(letter.subject.contains("DSR-{controller}-{{1}}"));
}

#[test]
fn every_shipped_file_is_valid_and_templates_have_all_kinds() {
    // Also a guard on the shipped data: every kind and reason has text.
    let book = shipped();
    let facts = facts();
    for &language in Language::ALL {
        for &reason in RefusalReason::ALL {
            let mut facts = facts.clone();
            facts.refusal_reasons = vec![reason];
            book.render(
                language,
                RequestKind::Objection,
                LetterOutcome::Refused,
                &facts,
            )
            .unwrap();
        }
        for &reason in ExtensionReason::ALL {
            let mut facts = facts.clone();
            facts.extension_reason = Some(reason);
            book.render(
                language,
                RequestKind::Objection,
                LetterOutcome::Extended,
                &facts,
            )
            .unwrap();
        }
    }
}

#[test]
fn override_missing_letter_names_file_and_key() {
    let dir = TempDir::new("missing");
    let text = without_table(&shipped_text(Language::Fr), "[letters.erasure.refused]");
    dir.write("fr.toml", &text);
    let err = LetterBook::with_overrides(&dir.0).unwrap_err();
    match &err {
        LetterError::Missing { file, key } => {
            assert!(file.ends_with("fr.toml"), "{file}");
            assert_eq!(key, "letters.erasure.refused");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(
        err.to_string()
            .ends_with("fr.toml: letters.erasure.refused is missing"),
        "{err}"
    );
}

#[test]
fn override_unknown_placeholder_names_file_and_key() {
    let dir = TempDir::new("unknown");
    let text = shipped_text(Language::En).replacen(
        "You will find a copy",
        "{foo} You will find a copy",
        1,
    );
    dir.write("en.toml", &text);
    let err = LetterBook::with_overrides(&dir.0).unwrap_err();
    assert!(
        matches!(&err, LetterError::UnknownPlaceholder { key, placeholder, .. }
            if key == "letters.access.answered.body" && placeholder == "foo"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("en.toml"), "{message}");
    assert!(
        message.ends_with("unknown placeholder {foo} in letters.access.answered.body"),
        "{message}"
    );
}

#[test]
fn override_replaces_one_language_only() {
    let dir = TempDir::new("valid");
    let text = shipped_text(Language::It)
        .replace(
            "greeting = \"Gentile interessato,\"",
            "greeting = \"Gentile Cliente,\"",
        )
        .replace(
            "Per qualsiasi chiarimento",
            "Graffe letterali: {{x}}. Per qualsiasi chiarimento",
        );
    dir.write("it.toml", &text)
        .write("README.txt", "not a template");
    let book = LetterBook::with_overrides(&dir.0).unwrap();
    let shipped = shipped();
    let facts = facts();
    let letter = book
        .render(
            Language::It,
            RequestKind::Access,
            LetterOutcome::Answered,
            &facts,
        )
        .unwrap();
    assert!(
        letter.body.starts_with("Gentile Cliente,"),
        "{}",
        letter.body
    );
    assert!(
        letter.body.contains("Graffe letterali: {x}."),
        "{}",
        letter.body
    );
    for &language in Language::ALL {
        if language == Language::It {
            continue;
        }
        for &kind in RequestKind::ALL {
            for &outcome in LetterOutcome::ALL {
                assert_eq!(
                    book.render(language, kind, outcome, &facts).unwrap(),
                    shipped.render(language, kind, outcome, &facts).unwrap()
                );
            }
        }
    }
}

#[test]
fn override_dir_problems_are_reported() {
    let missing = std::env::temp_dir().join("tutela-letters-no-such-dir");
    let err = LetterBook::with_overrides(&missing).unwrap_err();
    assert!(matches!(err, LetterError::File { .. }), "{err:?}");

    let dir = TempDir::new("stray");
    dir.write("de.toml", &shipped_text(Language::En));
    let err = LetterBook::with_overrides(&dir.0).unwrap_err();
    assert!(err.to_string().contains("de.toml"), "{err}");

    let dir = TempDir::new("syntax");
    dir.write("es.toml", "language = \"es\"\n[dates\n");
    let err = LetterBook::with_overrides(&dir.0).unwrap_err();
    assert!(
        matches!(&err, LetterError::File { file, reason }
        if file.ends_with("es.toml") && reason.contains("line 2")),
        "{err:?}"
    );

    let dir = TempDir::new("language");
    dir.write("es.toml", &shipped_text(Language::En));
    let err = LetterBook::with_overrides(&dir.0).unwrap_err();
    assert!(
        matches!(&err, LetterError::Invalid { key, .. } if key == "language"),
        "{err:?}"
    );
}

/// Loads `text` as an override for `language` and returns the error.
fn override_error(name: &str, language: Language, text: &str) -> LetterError {
    let dir = TempDir::new(name);
    dir.write(&format!("{}.toml", language.as_str()), text);
    LetterBook::with_overrides(&dir.0).unwrap_err()
}

fn assert_invalid(err: &LetterError, expected_key: &str, reason_part: &str) {
    match err {
        LetterError::Invalid { key, reason, .. } => {
            assert_eq!(key, expected_key, "{err}");
            assert!(reason.contains(reason_part), "{err}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn validation_rules() {
    let en = shipped_text(Language::En);

    let err = override_error("months", Language::En, &en.replace("\"December\",", ""));
    assert_invalid(&err, "dates.months", "found 11");

    let err = override_error(
        "kind",
        Language::En,
        &en.replace(
            "objection = \"objection to the processing of your personal data\"\n",
            "",
        ),
    );
    assert!(
        matches!(&err, LetterError::Missing { key, .. } if key == "kinds.objection"),
        "{err:?}"
    );

    let err = override_error(
        "reason",
        Language::En,
        &en.replace(
            "excessive = \"The request is excessive",
            "excesive = \"The request is excessive",
        ),
    );
    assert_invalid(&err, "refusal_reasons.excesive", "unknown key");

    // {reasons} in an answered letter.
    let err = override_error(
        "reasons",
        Language::En,
        &en.replacen("You will find a copy", "{reasons} You will find a copy", 1),
    );
    assert_invalid(
        &err,
        "letters.access.answered.body",
        "only available in refused letters",
    );

    // {kept} outside erasure letters, through a [common] entry.
    let err = override_error(
        "kept",
        Language::En,
        &en.replace(
            "contact = \"If you have any questions",
            "contact = \"{kept} If you have any questions",
        ),
    );
    assert_invalid(&err, "letters.access.answered.body", "(through {contact})");

    // A refused letter that drops the complaint paragraph.
    let text = en.replacen("{reasons}\n\n{complaint}\n", "{reasons}\n", 1);
    let err = override_error("complaint", Language::En, &text);
    assert_invalid(&err, "letters.access.refused", "must use {authority}");

    // Unbalanced braces.
    let err = override_error(
        "brace",
        Language::En,
        &en.replacen("You will find a copy", "{greeting You will find a copy", 1),
    );
    assert_invalid(&err, "letters.access.answered.body", "not closed");

    // [common] entries cannot use each other.
    let err = override_error(
        "nested",
        Language::En,
        &en.replace(
            "closing = \"\"\"\nYours faithfully,",
            "closing = \"\"\"\n{greeting}",
        ),
    );
    assert_invalid(&err, "common.closing", "cannot use each other");

    // An unknown outcome (typo).
    let err = override_error(
        "outcome",
        Language::En,
        &en.replace("[letters.access.refused]", "[letters.access.refuse]"),
    );
    assert_invalid(&err, "letters.access.refuse", "unknown outcome");
}
