//! Small text types shared by the domain: labels people type and slugs that
//! name things in configuration.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// A short free text naming something (a company, a document reference, a
/// version): trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Longest accepted label, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a label.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::new("must be at most 200 characters long"));
        }
        if value.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Labels can name people (a DPO, a representative): not in debug output.
        f.write_str("Label(..)")
    }
}

impl TryFrom<String> for Label {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Label> for String {
    fn from(label: Label) -> Self {
        label.0
    }
}

/// Checks a machine name: 2 to 64 characters of `a-z 0-9 _ . -`, starting
/// with a letter. Used by [`crate::Purpose`] and attribute names.
pub(crate) fn check_slug(value: &str) -> Result<(), InvalidValue> {
    if !(2..=64).contains(&value.len()) {
        return Err(InvalidValue::new("must be 2 to 64 characters long"));
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b);
    if !value.bytes().all(allowed) {
        return Err(InvalidValue::new(
            "may contain only lower-case letters a-z, digits and _ . -",
        ));
    }
    if !value.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) {
        return Err(InvalidValue::new("must start with a letter a-z"));
    }
    Ok(())
}

/// An ISO 3166-1 alpha-2 country code, upper case (`IT`, `EE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

/// The officially assigned ISO 3166-1 alpha-2 codes (from tzdata's iso3166.tab).
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

impl CountryCode {
    /// Parses a code, case-insensitively; only assigned codes are accepted.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let upper = value.trim().to_ascii_uppercase();
        let bytes: [u8; 2] = upper
            .as_bytes()
            .try_into()
            .map_err(|_| InvalidValue::new("must be a two-letter ISO 3166-1 country code"))?;
        if !ISO_3166_ALPHA2.split(' ').any(|code| code == upper) {
            return Err(InvalidValue::new(
                "is not an assigned ISO 3166-1 alpha-2 country code",
            ));
        }
        Ok(Self(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(Label::parse("  Acme SpA ").unwrap().as_str(), "Acme SpA");
        assert!(Label::parse("   ").is_err());
        assert!(Label::parse("a\u{7}b").is_err());
        assert!(Label::parse(&"x".repeat(201)).is_err());
        assert!(!format!("{:?}", Label::parse("Mario Rossi").unwrap()).contains("Mario"));
    }

    #[test]
    fn country_codes_must_be_assigned() {
        assert_eq!(CountryCode::parse("it").unwrap().as_str(), "IT");
        assert_eq!(CountryCode::parse("EE").unwrap().as_str(), "EE");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("ITA").is_err());
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
    }

    #[test]
    fn slugs() {
        assert!(check_slug("customer_care").is_ok());
        assert!(check_slug("x").is_err());
        assert!(check_slug("1abc").is_err());
        assert!(check_slug("Abc").is_err());
    }
}
