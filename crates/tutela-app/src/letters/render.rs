//! Placeholder templates, date formatting and letter rendering.
//!
//! Template syntax: `{name}` is a placeholder (`name` is lower-case ASCII
//! letters, digits and `_`), `{{` is a literal `{` and `}}` a literal `}`.
//! Anything else involving a brace is a syntax error, caught at load time.

use jiff::ToSpan as _;
use jiff::civil::Date;

use super::book::LanguageBook;
use super::{Language, Letter, LetterError, LetterFacts, LetterOutcome, RequestKind};

/// A placeholder whose value comes from the facts (or from the kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact {
    Reference,
    Controller,
    Received,
    Deadline,
    ExtendedDeadline,
    Kind,
    Reasons,
    ExtensionReason,
    Kept,
    Authority,
}

impl Fact {
    pub(crate) const ALL: [Fact; 10] = [
        Fact::Reference,
        Fact::Controller,
        Fact::Received,
        Fact::Deadline,
        Fact::ExtendedDeadline,
        Fact::Kind,
        Fact::Reasons,
        Fact::ExtensionReason,
        Fact::Kept,
        Fact::Authority,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Fact::Reference => "reference",
            Fact::Controller => "controller",
            Fact::Received => "received",
            Fact::Deadline => "deadline",
            Fact::ExtendedDeadline => "extended_deadline",
            Fact::Kind => "kind",
            Fact::Reasons => "reasons",
            Fact::ExtensionReason => "extension_reason",
            Fact::Kept => "kept",
            Fact::Authority => "authority",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|fact| fact.name() == name)
    }
}

/// One lexical piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Text(String),
    Name(String),
}

/// Why a template's braces do not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyntaxError {
    Unclosed,
    Stray,
    BadName(String),
}

impl SyntaxError {
    pub(crate) fn describe(&self) -> String {
        match self {
            SyntaxError::Unclosed => "a '{' is not closed (write {{ for a literal {)".to_owned(),
            SyntaxError::Stray => "a '}' closes nothing (write }} for a literal })".to_owned(),
            SyntaxError::BadName(name) => format!(
                "{{{name}}} is not a valid placeholder (use lower-case letters, digits and _; \
                 write {{{{ for a literal {{)"
            ),
        }
    }
}

/// Splits a template into literal text and placeholder names.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(SyntaxError::Stray),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        None | Some('{') => return Err(SyntaxError::Unclosed),
                        Some('}') => break,
                        Some(other) => name.push(other),
                    }
                }
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                if !valid {
                    return Err(SyntaxError::BadName(name));
                }
                if !literal.is_empty() {
                    tokens.push(Token::Text(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Name(name));
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Text(literal));
    }
    Ok(tokens)
}

/// Literal text or a fact: what a `[common]` entry is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Fact(Fact),
}

/// A piece of a letter template: a piece, or an inlined `[common]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Piece(Piece),
    Common { name: String, pieces: Vec<Piece> },
}

/// A parsed, resolved letter template (subject or body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) parts: Vec<Part>,
}

impl Template {
    /// Every fact the template uses, with the `[common]` entry it comes through, if any.
    pub(crate) fn facts(&self) -> Vec<(Fact, Option<&str>)> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Piece(Piece::Fact(fact)) => out.push((*fact, None)),
                Part::Piece(Piece::Text(_)) => {}
                Part::Common { name, pieces } => {
                    for piece in pieces {
                        if let Piece::Fact(fact) = piece {
                            out.push((*fact, Some(name.as_str())));
                        }
                    }
                }
            }
        }
        out
    }
}

/// A piece of a date pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatePart {
    Text(String),
    Day,
    Month,
    Year,
}

/// How a language writes dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateStyle {
    pub(crate) months: [String; 12],
    pub(crate) pattern: Vec<DatePart>,
    /// How day 1 is written, if not "1" (French "1er", Italian "1°").
    pub(crate) first_day: Option<String>,
}

impl DateStyle {
    pub(crate) fn format(&self, date: Date) -> String {
        let mut out = String::new();
        for part in &self.pattern {
            match part {
                DatePart::Text(text) => out.push_str(text),
                DatePart::Day => match (&self.first_day, date.day()) {
                    (Some(first), 1) => out.push_str(first),
                    (_, day) => out.push_str(&day.to_string()),
                },
                DatePart::Month => out.push_str(self.month_name(date.month())),
                DatePart::Year => out.push_str(&date.year().to_string()),
            }
        }
        out
    }

    fn month_name(&self, month: i8) -> &str {
        let [jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec] = &self.months;
        // jiff guarantees 1..=12, so the last arm is December.
        match month {
            1 => jan,
            2 => feb,
            3 => mar,
            4 => apr,
            5 => may,
            6 => jun,
            7 => jul,
            8 => aug,
            9 => sep,
            10 => oct,
            11 => nov,
            _ => dec,
        }
    }
}

/// Checks that the facts hold what the outcome needs.
fn check_facts(
    kind: RequestKind,
    outcome: LetterOutcome,
    facts: &LetterFacts,
) -> Result<(), LetterError> {
    let missing = |field, needs| LetterError::MissingFact {
        outcome,
        field,
        needs,
    };
    let invalid = |field, reason: String| LetterError::InvalidFact {
        outcome,
        field,
        reason,
    };
    if facts.reference.trim().is_empty() {
        return Err(missing("reference", "the request reference"));
    }
    if facts.controller.trim().is_empty() {
        return Err(missing("controller", "the controller's name"));
    }
    if facts.deadline < facts.received {
        return Err(invalid(
            "deadline",
            format!(
                "{} is before the request was received ({})",
                facts.deadline, facts.received
            ),
        ));
    }
    if kind == RequestKind::Erasure {
        for (number, item) in (1..).zip(&facts.kept) {
            if item.what.trim().is_empty() {
                return Err(invalid(
                    "kept",
                    format!("item {number} has an empty `what`"),
                ));
            }
            if item.legal_basis.trim().is_empty() {
                return Err(invalid(
                    "kept",
                    format!("item {number} has an empty `legal_basis`"),
                ));
            }
        }
    }
    match outcome {
        LetterOutcome::Answered => {}
        LetterOutcome::Refused => {
            if facts.refusal_reasons.is_empty() {
                return Err(missing("refusal_reasons", "at least one refusal reason"));
            }
            if facts.authority.trim().is_empty() {
                return Err(missing("authority", "the supervisory authority"));
            }
        }
        LetterOutcome::Extended => {
            let Some(extended) = facts.extended_deadline else {
                return Err(missing("extended_deadline", "the extended deadline"));
            };
            if facts.extension_reason.is_none() {
                return Err(missing("extension_reason", "the reason for the extension"));
            }
            if extended <= facts.deadline {
                return Err(invalid(
                    "extended_deadline",
                    format!(
                        "{extended} is not after the original deadline ({})",
                        facts.deadline
                    ),
                ));
            }
            let limit = facts.deadline.checked_add(2.months()).map_err(|err| {
                invalid(
                    "deadline",
                    format!("cannot add two months to {}: {err}", facts.deadline),
                )
            })?;
            if extended > limit {
                return Err(invalid(
                    "extended_deadline",
                    format!(
                        "{extended} is more than two months after the original deadline ({}); \
                         art. 12(3) allows at most {limit}",
                        facts.deadline
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The rendered value of every fact for one letter.
struct Values<'a> {
    outcome: LetterOutcome,
    reference: &'a str,
    controller: &'a str,
    received: String,
    deadline: String,
    extended_deadline: Option<String>,
    kind: &'a str,
    reasons: String,
    extension_reason: Option<&'a str>,
    kept: String,
    authority: &'a str,
}

impl<'a> Values<'a> {
    fn new(
        book: &'a LanguageBook,
        kind: RequestKind,
        outcome: LetterOutcome,
        facts: &'a LetterFacts,
    ) -> Self {
        let mut seen = Vec::new();
        let mut reasons = Vec::new();
        for reason in &facts.refusal_reasons {
            if !seen.contains(reason) {
                seen.push(*reason);
                reasons.push(format!("- {}", book.refusal_reasons.get(*reason)));
            }
        }
        let kept = if facts.kept.is_empty() {
            book.kept_nothing.clone()
        } else {
            let mut text = book.kept_intro.clone();
            for item in &facts.kept {
                text.push_str("\n- ");
                text.push_str(&item.what);
                text.push_str(": ");
                text.push_str(&item.legal_basis);
            }
            text
        };
        Values {
            outcome,
            reference: &facts.reference,
            controller: &facts.controller,
            received: book.dates.format(facts.received),
            deadline: book.dates.format(facts.deadline),
            extended_deadline: facts.extended_deadline.map(|d| book.dates.format(d)),
            kind: book.kinds.get(kind),
            reasons: reasons.join("\n"),
            extension_reason: facts
                .extension_reason
                .map(|reason| book.extension_reasons.get(reason).as_str()),
            kept,
            authority: &facts.authority,
        }
    }

    fn value(&self, fact: Fact) -> Result<&str, LetterError> {
        let missing = |field, needs| LetterError::MissingFact {
            outcome: self.outcome,
            field,
            needs,
        };
        Ok(match fact {
            Fact::Reference => self.reference,
            Fact::Controller => self.controller,
            Fact::Received => &self.received,
            Fact::Deadline => &self.deadline,
            Fact::ExtendedDeadline => self
                .extended_deadline
                .as_deref()
                .ok_or_else(|| missing("extended_deadline", "the extended deadline"))?,
            Fact::Kind => self.kind,
            Fact::Reasons => &self.reasons,
            Fact::ExtensionReason => self
                .extension_reason
                .ok_or_else(|| missing("extension_reason", "the reason for the extension"))?,
            Fact::Kept => &self.kept,
            Fact::Authority => self.authority,
        })
    }

    fn push_piece(&self, out: &mut String, piece: &Piece) -> Result<(), LetterError> {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Fact(fact) => out.push_str(self.value(*fact)?),
        }
        Ok(())
    }

    fn render(&self, template: &Template) -> Result<String, LetterError> {
        let mut out = String::new();
        for part in &template.parts {
            match part {
                Part::Piece(piece) => self.push_piece(&mut out, piece)?,
                Part::Common { pieces, .. } => {
                    for piece in pieces {
                        self.push_piece(&mut out, piece)?;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Renders one letter from a validated language book.
pub(crate) fn render_letter(
    book: &LanguageBook,
    language: Language,
    kind: RequestKind,
    outcome: LetterOutcome,
    facts: &LetterFacts,
) -> Result<Letter, LetterError> {
    check_facts(kind, outcome, facts)?;
    let values = Values::new(book, kind, outcome, facts);
    let template = book.letters.get(kind).get(outcome);
    let subject = values.render(&template.subject)?;
    let body = values.render(&template.body)?;
    Ok(Letter {
        language,
        subject: subject.trim().to_owned(),
        body: body.trim().to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_handles_escapes_and_names() {
        assert_eq!(
            tokenize("a {{b}} {reference}!").unwrap(),
            vec![
                Token::Text("a {b} ".to_owned()),
                Token::Name("reference".to_owned()),
                Token::Text("!".to_owned()),
            ]
        );
        assert_eq!(tokenize("x {ref"), Err(SyntaxError::Unclosed));
        assert_eq!(tokenize("x } y"), Err(SyntaxError::Stray));
        assert_eq!(
            tokenize("{ Reference }"),
            Err(SyntaxError::BadName(" Reference ".to_owned()))
        );
        assert_eq!(tokenize("{}"), Err(SyntaxError::BadName(String::new())));
    }

    #[test]
    fn fact_names_round_trip() {
        for fact in Fact::ALL {
            assert_eq!(Fact::from_name(fact.name()), Some(fact));
        }
        assert_eq!(Fact::from_name("foo"), None);
    }
}
