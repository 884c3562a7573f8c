//! Errors of the domain layer. Each carries a stable code that API clients can
//! match on; messages never contain the personal data that caused them.

/// Why a value could not be parsed into a domain type. Carries the reason only,
/// never the rejected value, because the value may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    /// Human-readable reason, safe to show and to log.
    pub reason: &'static str,
}

impl InvalidValue {
    /// An invalid value with the given reason.
    pub const fn new(reason: &'static str) -> Self {
        Self { reason }
    }
}

/// A rule of the domain was not met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The setup token is wrong, already used or expired.
    #[error(
        "the setup token is not valid: it is wrong, already used or expired; restart `tutela serve` to print a new one"
    )]
    InvalidSetupToken,
    /// An administrator exists already, so the one-time setup is closed.
    #[error("setup is already complete: an administrator exists")]
    SetupAlreadyComplete,
}

impl DomainError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSetupToken => "invalid_setup_token",
            Self::SetupAlreadyComplete => "setup_already_complete",
        }
    }

    /// The input field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidSetupToken => Some("setup_token"),
            Self::SetupAlreadyComplete => None,
        }
    }
}
