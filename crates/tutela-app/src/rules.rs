//! The rule book: each country's calling rules, from the files shipped in
//! the binary (`crates/tutela-app/rules/*.toml`) or, when an operator puts a
//! file of the same name in the rules directory, from that file instead.
//! Rules are data: `tutela rules show CC` prints what is in force.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tutela_domain::{CountryCode, Jurisdiction, JurisdictionRules};

/// The files shipped with the binary: (country, TOML text).
pub const SHIPPED_RULES: [(&str, &str); 5] = [
    ("ES", include_str!("../rules/ES.toml")),
    ("FR", include_str!("../rules/FR.toml")),
    ("GB", include_str!("../rules/GB.toml")),
    ("IT", include_str!("../rules/IT.toml")),
    ("US", include_str!("../rules/US.toml")),
];

/// Why the rules could not be loaded: the file and what is wrong, with the
/// field named.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rules file {file}: {reason}")]
pub struct RuleBookError {
    /// The file (or `shipped:CC`).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// A country's rules with the text they were read from.
#[derive(Debug, Clone)]
pub struct LoadedRules {
    /// Where they came from: `shipped` or the override's path.
    pub origin: String,
    /// The file as written.
    pub text: String,
    /// The rules, checked.
    pub jurisdiction: Arc<Jurisdiction>,
}

/// Every country's rules, checked. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    countries: Arc<HashMap<CountryCode, LoadedRules>>,
}

/// Parses and checks one rules file.
pub fn parse_rules(origin: &str, text: &str) -> Result<Jurisdiction, RuleBookError> {
    let error = |reason: String| RuleBookError {
        file: origin.to_owned(),
        reason,
    };
    let rules: JurisdictionRules = toml::from_str(text).map_err(|e| error(e.to_string()))?;
    Jurisdiction::new(rules).map_err(|e| error(e.to_string()))
}

impl RuleBook {
    /// The shipped rules only.
    pub fn shipped() -> Result<Self, RuleBookError> {
        Self::load(None)
    }

    /// The shipped rules, each replaced by `DIR/CC.toml` when that exists,
    /// plus any other `CC.toml` in `dir`. A file whose name is not its
    /// `country` is refused, so an override cannot land on the wrong country.
    pub fn load(dir: Option<&Path>) -> Result<Self, RuleBookError> {
        let mut countries = HashMap::new();
        for (code, text) in SHIPPED_RULES {
            insert(
                &mut countries,
                code,
                format!("shipped:{code}"),
                text.to_owned(),
            )?;
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| RuleBookError {
                file: dir.display().to_string(),
                reason: format!("cannot read the rules directory: {e}"),
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(code) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".toml"))
                else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).map_err(|e| RuleBookError {
                    file: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                insert(&mut countries, code, path.display().to_string(), text)?;
            }
        }
        Ok(Self {
            countries: Arc::new(countries),
        })
    }

    /// The rules for `country`, if any are loaded.
    pub fn get(&self, country: CountryCode) -> Option<&LoadedRules> {
        self.countries.get(&country)
    }

    /// Every country with rules, sorted.
    pub fn countries(&self) -> Vec<CountryCode> {
        let mut codes: Vec<_> = self.countries.keys().copied().collect();
        codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        codes
    }
}

fn insert(
    countries: &mut HashMap<CountryCode, LoadedRules>,
    file_code: &str,
    origin: String,
    text: String,
) -> Result<(), RuleBookError> {
    let jurisdiction = parse_rules(&origin, &text)?;
    let country = jurisdiction.rules.country;
    if country.as_str() != file_code {
        return Err(RuleBookError {
            file: origin,
            reason: format!(
                "country: the file is named {file_code}.toml but says country = \"{country}\""
            ),
        });
    }
    countries.insert(
        country,
        LoadedRules {
            origin,
            text,
            jurisdiction: Arc::new(jurisdiction),
        },
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_file_loads() {
        let book = RuleBook::shipped().unwrap();
        let codes: Vec<_> = book.countries().iter().map(|c| c.to_string()).collect();
        assert_eq!(codes, ["ES", "FR", "GB", "IT", "US"]);
    }

    #[test]
    fn an_override_replaces_the_shipped_file_and_bad_ones_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let it = SHIPPED_RULES
            .iter()
            .find(|(c, _)| *c == "IT")
            .map(|(_, t)| *t)
            .unwrap();
        std::fs::write(
            dir.path().join("IT.toml"),
            it.replace("validity_days = 15", "validity_days = 10"),
        )
        .unwrap();
        let book = RuleBook::load(Some(dir.path())).unwrap();
        let rules = book.get(CountryCode::parse("IT").unwrap()).unwrap();
        assert_eq!(
            rules
                .jurisdiction
                .rules
                .registries
                .first()
                .unwrap()
                .validity_days,
            10
        );
        assert!(rules.origin.ends_with("IT.toml"));

        std::fs::write(
            dir.path().join("IT.toml"),
            it.replace("Europe/Rome", "Europe/Nowhere"),
        )
        .unwrap();
        let error = RuleBook::load(Some(dir.path())).unwrap_err();
        assert!(error.to_string().contains("time_zones"), "{error}");

        std::fs::write(
            dir.path().join("IT.toml"),
            it.replace("validity_days = 15", "validity_days = \"x\""),
        )
        .unwrap();
        let error = RuleBook::load(Some(dir.path())).unwrap_err();
        assert!(error.to_string().contains("validity_days"), "{error}");

        std::fs::write(dir.path().join("IT.toml"), it).unwrap();
        std::fs::rename(dir.path().join("IT.toml"), dir.path().join("FR.toml")).unwrap();
        let error = RuleBook::load(Some(dir.path())).unwrap_err();
        assert!(error.to_string().contains("named FR.toml"), "{error}");
    }
}
