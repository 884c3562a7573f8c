//! Reading the numbers of registry files, which are machine-written and
//! regular (one national or international number per line), at the speed a
//! 250-million-line file needs.
//!
//! Lead lists are typed by people and go through [`crate::PhoneNumber::parse`]
//! (libphonenumber); registry files do not need it and could not afford it
//! (about 1.4 million numbers per second on one core: three minutes for the
//! US registry). What a registry file number means is decided here by the
//! country's numbering plan, which is data ([`NumberingPlan`]).

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// What it takes to turn a country's written numbers into E.164.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberingPlan {
    /// The country calling code (39 for Italy, 1 for the US).
    pub calling_code: u16,
    /// The national trunk prefix dropped in E.164 ("0" in France and the UK,
    /// "1" in the US, none in Italy and Spain where a leading 0 is part of
    /// the number).
    #[serde(default)]
    pub trunk_prefix: String,
    /// Fewest digits of a national significant number.
    pub min_digits: u8,
    /// Most digits of a national significant number.
    pub max_digits: u8,
}

/// Characters registry files put between digits.
fn is_separator(byte: u8) -> bool {
    matches!(byte, b' ' | b'-' | b'.' | b'(' | b')' | b'/' | b',' | b'\t')
}

impl NumberingPlan {
    /// Reads one number as written in a registry file: national
    /// (`3471234567`, `0612345678`, US `2025550123` or `202,5550123` as in
    /// the FTC's area-code files) or international (`+39…`, `0039…`).
    /// Returns the E.164 digits as one integer.
    pub fn registry_number(&self, text: &str) -> Result<u64, InvalidValue> {
        let text = text.trim().as_bytes();
        let mut digits = [0_u8; 20];
        let mut len = 0_usize;
        let mut plus = false;
        for (at, &byte) in text.iter().enumerate() {
            if byte.is_ascii_digit() {
                let slot = digits
                    .get_mut(len)
                    .ok_or(InvalidValue::new("has too many digits to be a number"))?;
                *slot = byte - b'0';
                len += 1;
            } else if byte == b'+' && at == 0 {
                plus = true;
            } else if !is_separator(byte) {
                return Err(InvalidValue::new(
                    "is not a phone number: only digits, + and separators are allowed",
                ));
            }
        }
        let digits = digits.get(..len).unwrap_or_default();
        let international = if plus {
            Some(digits)
        } else {
            digits.strip_prefix(&[0, 0][..])
        };
        let national = match international {
            Some(rest) => self
                .strip_calling_code(rest)
                .ok_or(InvalidValue::new("has another country's calling code"))?,
            None => self.strip_trunk_prefix(digits),
        };
        if national.len() < usize::from(self.min_digits)
            || national.len() > usize::from(self.max_digits)
        {
            return Err(InvalidValue::new(
                "has the wrong number of digits for the country",
            ));
        }
        if national.first() == Some(&0) && !self.trunk_prefix.is_empty() {
            return Err(InvalidValue::new("has a trunk prefix where none belongs"));
        }
        let mut value = u64::from(self.calling_code);
        for &digit in national {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit)))
                .ok_or(InvalidValue::new("has too many digits to be a number"))?;
        }
        Ok(value)
    }

    fn strip_calling_code<'a>(&self, digits: &'a [u8]) -> Option<&'a [u8]> {
        // Digits of the code, most significant first, without allocating:
        // this runs once per line of files with hundreds of millions.
        let mut code = [0_u8; 5];
        let mut len = 0;
        let mut rest = self.calling_code;
        while rest > 0 {
            *code.get_mut(len)? = (rest % 10) as u8;
            rest /= 10;
            len += 1;
        }
        let code = code.get_mut(..len)?;
        code.reverse();
        digits.strip_prefix(&*code)
    }

    fn strip_trunk_prefix<'a>(&self, digits: &'a [u8]) -> &'a [u8] {
        let trunk = self.trunk_prefix.as_bytes();
        let matches = !trunk.is_empty()
            && digits.len() >= trunk.len()
            && digits
                .iter()
                .zip(trunk)
                .all(|(digit, text)| Some(*digit) == text.checked_sub(b'0'));
        match digits.get(trunk.len()..) {
            // Only when what is left is still a whole number: US files hold
            // ten digits without the 1, French files may hold either form.
            Some(rest) if matches && rest.len() >= usize::from(self.min_digits) => rest,
            _ => digits,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{CountryCode, PhoneNumber};

    fn plan(code: u16, trunk: &str, min: u8, max: u8) -> NumberingPlan {
        NumberingPlan {
            calling_code: code,
            trunk_prefix: trunk.to_owned(),
            min_digits: min,
            max_digits: max,
        }
    }

    #[test]
    fn italian_numbers_keep_their_leading_zero_and_mobiles_starting_with_39() {
        let it = plan(39, "", 6, 11);
        assert_eq!(it.registry_number("3947610955").unwrap(), 393_947_610_955);
        assert_eq!(it.registry_number("06 1234 5678").unwrap(), 390_612_345_678);
        assert_eq!(
            it.registry_number("+39 347 123 4567").unwrap(),
            393_471_234_567
        );
        assert_eq!(
            it.registry_number("0039-347-1234567").unwrap(),
            393_471_234_567
        );
        assert!(it.registry_number("+33612345678").is_err());
        assert!(it.registry_number("347x123").is_err());
        assert!(it.registry_number("12").is_err());
        assert!(it.registry_number("").is_err());
    }

    #[test]
    fn trunk_prefixes_are_dropped_in_france_the_uk_and_the_us() {
        let fr = plan(33, "0", 9, 9);
        assert_eq!(
            fr.registry_number("06 12 34 56 78").unwrap(),
            33_612_345_678
        );
        assert_eq!(fr.registry_number("612345678").unwrap(), 33_612_345_678);
        let us = plan(1, "1", 10, 10);
        assert_eq!(us.registry_number("202,5550123").unwrap(), 12_025_550_123);
        assert_eq!(
            us.registry_number("1-202-555-0123").unwrap(),
            12_025_550_123
        );
        assert_eq!(
            us.registry_number("(202) 555-0123").unwrap(),
            12_025_550_123
        );
    }

    #[test]
    fn agrees_with_libphonenumber_on_well_formed_numbers() {
        let it = plan(39, "", 6, 11);
        let country = CountryCode::parse("IT").unwrap();
        for text in ["3471234567", "0612345678", "3947610955", "+390212345678"] {
            let library = PhoneNumber::parse(text, Some(country)).unwrap();
            assert_eq!(
                it.registry_number(text).unwrap(),
                library.as_u64(),
                "{text}"
            );
        }
    }
}
