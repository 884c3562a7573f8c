//! The one-time setup token through which the first administrator gets in.
//!
//! There is never a default password: on first start `tutela serve` prints a
//! random token; whoever holds it may create the first administrator, once.

use jiff::SignedDuration;

use crate::error::InvalidValue;
use crate::secret::Secret;

/// How long a printed setup token stays valid. A token left lying in a
/// terminal scroll-back should not open the system days later.
pub const SETUP_TOKEN_VALIDITY: SignedDuration = SignedDuration::from_hours(24);

/// Length of a setup token in characters (32 random bytes, hex-encoded).
const SETUP_TOKEN_LEN: usize = 64;

/// A setup token as presented by a caller: 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupToken(Secret);

impl SetupToken {
    /// Parses a presented token. Refuses anything that is not 64 hex digits,
    /// so a pasted fragment gets a clear error instead of a hash lookup.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.len() != SETUP_TOKEN_LEN || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidValue::new(
                "must be the 64-character hexadecimal token printed by `tutela serve`",
            ));
        }
        Ok(Self(Secret::new(value.to_ascii_lowercase())))
    }

    /// The token text, for hashing or printing once to the operator.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_full_hex_tokens() {
        let good = "ab".repeat(32);
        assert_eq!(SetupToken::parse(&good).unwrap().expose(), good);
        assert_eq!(
            SetupToken::parse(&good.to_uppercase()).unwrap().expose(),
            good
        );
        assert!(SetupToken::parse("abc").is_err());
        assert!(SetupToken::parse(&"zz".repeat(32)).is_err());
    }
}
