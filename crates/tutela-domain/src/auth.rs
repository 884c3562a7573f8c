//! Sign-in rules: TOTP codes, throttling and lockout, session lifetime. The
//! numbers are data with defaults, set by the operator in configuration.

use jiff::SignedDuration;

use crate::error::InvalidValue;

/// A six-digit TOTP code as typed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    /// Accepts exactly six ASCII digits (spaces are ignored, as apps show `123 456`).
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let digits: String = value.chars().filter(|c| *c != ' ').collect();
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new("must be six digits"));
        }
        Ok(Self(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(..)")
    }
}

/// Throttling, lockout and session rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failed sign-ins for one account within `failure_window` that lock it.
    pub account_failures: u32,
    /// Failed sign-ins from one network address within `failure_window` that
    /// block the address (any account).
    pub address_failures: u32,
    /// Window over which failures are counted.
    pub failure_window: SignedDuration,
    /// How long a lock lasts.
    pub lockout: SignedDuration,
    /// Absolute lifetime of a session.
    pub session_lifetime: SignedDuration,
}

impl Default for LoginPolicy {
    /// 5 failures per account or 50 per address in 15 minutes lock for 15
    /// minutes (OWASP's guidance); sessions last one 8-hour shift.
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 50,
            failure_window: SignedDuration::from_mins(15),
            lockout: SignedDuration::from_mins(15),
            session_lifetime: SignedDuration::from_hours(8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_are_six_digits() {
        assert_eq!(TotpCode::parse("123 456").unwrap().as_str(), "123456");
        assert!(TotpCode::parse("12345").is_err());
        assert!(TotpCode::parse("12345a").is_err());
        assert!(!format!("{:?}", TotpCode::parse("123456").unwrap()).contains("123"));
    }
}

/// Why a sign-in or an authenticated request was refused. Messages never
/// say which of username or password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or a token that is unknown, expired, revoked, or
    /// belongs to a disabled account.
    #[error("sign in first: the request carries no valid session or API token")]
    Unauthenticated,
    /// Wrong username or password (or a disabled account).
    #[error("the username or password is wrong")]
    InvalidCredentials,
    /// The account has MFA and the code was not given.
    #[error("this account uses multi-factor authentication: give the current TOTP code")]
    MfaCodeRequired,
    /// The TOTP code is wrong, or was already used.
    #[error("the TOTP code is wrong or was already used; wait for the next code")]
    InvalidMfaCode,
    /// Too many failed sign-ins for the account or from the address.
    #[error("too many failed sign-ins; try again after {until}")]
    Throttled {
        /// When sign-in attempts are accepted again.
        until: crate::Timestamp,
    },
}

impl AuthError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::MfaCodeRequired => "mfa_code_required",
            Self::InvalidMfaCode => "invalid_mfa_code",
            Self::Throttled { .. } => "login_throttled",
        }
    }

    /// The request field concerned, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::MfaCodeRequired | Self::InvalidMfaCode => Some("totp"),
            _ => None,
        }
    }
}
