//! The letter a move writes: facts gathered from the request and its
//! controller, rendered in the person's language, stored with the move.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tutela_domain::CountryCode;
use tutela_storage::{StoredLetter, StoredRequest};

use crate::letters::{LetterFacts, LetterOutcome};
use crate::{App, AppError};

/// The shipped table of supervisory authorities by country.
const AUTHORITIES: &str = include_str!("../../letters/authorities.toml");

/// The authority named for complaints against a controller of `country`.
fn authority(country: CountryCode) -> String {
    static TABLE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    // A test holds that the shipped table parses; an empty table falls
    // back to the generic sentence below.
    let table = TABLE.get_or_init(|| toml::from_str(AUTHORITIES).unwrap_or_default());
    table
        .get(country.as_str())
        .or_else(|| table.get("default"))
        .cloned()
        .unwrap_or_else(|| "the data protection supervisory authority".to_owned())
}

impl App {
    /// The facts every letter about `request` states.
    pub(super) async fn letter_facts(
        &self,
        request: &StoredRequest,
    ) -> Result<LetterFacts, AppError> {
        let controller = self
            .store
            .controller(request.controller)
            .await?
            .ok_or(AppError::NotFound)?;
        let zone = super::zone_named(&request.zone);
        Ok(LetterFacts {
            reference: request.id.to_string(),
            controller: controller.name.as_str().to_owned(),
            received: request.received_at.to_zoned(zone).date(),
            deadline: request.due,
            extended_deadline: request.extended_until,
            refusal_reasons: Vec::new(),
            extension_reason: None,
            kept: Vec::new(),
            authority: authority(controller.country),
        })
    }

    /// The letter for `outcome`, ready to store with the move.
    pub(super) fn letter(
        &self,
        request: &StoredRequest,
        outcome: LetterOutcome,
        facts: &LetterFacts,
    ) -> Result<StoredLetter, AppError> {
        let book = self
            .letters
            .as_ref()
            .ok_or_else(|| AppError::internal("the letter templates did not load"))?;
        let letter = book
            .render(request.language, request.kind, outcome, facts)
            .map_err(|e| AppError::invalid("letter", e.to_string()))?;
        Ok(StoredLetter {
            outcome: outcome.as_str().to_owned(),
            language: letter.language,
            subject: letter.subject,
            body: letter.body,
            at: self.clock.now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_authorities_parse_and_fall_back() {
        let table: Result<BTreeMap<String, String>, _> = toml::from_str(AUTHORITIES);
        assert!(table.is_ok_and(|t| t.contains_key("default") && t.contains_key("IT")));
        let it = CountryCode::parse("IT").ok();
        assert!(it.is_some_and(|c| authority(c).contains("Garante")));
        let us = CountryCode::parse("US").ok();
        assert!(us.is_some_and(|c| authority(c).contains("Member State")));
    }
}
