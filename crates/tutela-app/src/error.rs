//! The one error type of the use cases, with a stable code, a message for
//! people and a detail for logs.

use tutela_domain::{AccessDenied, AuthError, DomainError};
use tutela_storage::StorageError;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// A rule of the domain refused the operation; the caller can fix it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Access was refused (scope, capability, MFA, attestation, agreement).
    #[error(transparent)]
    Access(#[from] AccessDenied),
    /// Authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An input value is invalid; `field` names it.
    #[error("field `{field}` is invalid: {reason}")]
    Invalid {
        /// The request field.
        field: String,
        /// Why; never the value.
        reason: String,
    },
    /// The object does not exist (answered exactly like one outside the scope).
    #[error("no such resource")]
    NotFound,
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
    /// A policy refused the operation; `code` says which rule, the message
    /// lists every reason.
    #[error("{message}")]
    Refused {
        /// Stable code.
        code: &'static str,
        /// For people: the reasons, never personal data.
        message: String,
    },
    /// A recording's listening quota for the month is used up.
    #[error(
        "the campaign's listening quota for this month is used up ({used} of {allowance} recordings)"
    )]
    QuotaExhausted {
        /// Distinct recordings listened to this month.
        used: u64,
        /// The month's allowance.
        allowance: u64,
    },
    /// The recording's key was destroyed (retention or erasure): it can
    /// never be read again.
    #[error("the recording's key was destroyed; it can no longer be read")]
    KeyDestroyed,
    /// A stored recording fails its integrity checks (altered, truncated,
    /// reordered): nothing of it is served.
    #[error("the stored recording is damaged: {detail}")]
    Damaged {
        /// Which check failed (chunk index, length); never content.
        detail: String,
    },
    /// A byte range asked for holds no byte of the object.
    #[error("the range asked for lies outside the recording's {len} bytes")]
    RangeNotSatisfiable {
        /// The object's length in bytes.
        len: u64,
    },
    /// The node has no recordings vault configured.
    #[error("recordings are not configured on this node")]
    VaultNotConfigured,
    /// The node has nowhere to send one-time codes and forwarded requests.
    #[error("data-subject request delivery is not configured on this node")]
    DeliveryNotConfigured,
    /// Storage failed; nothing was acknowledged.
    #[error(transparent)]
    Storage(StorageError),
    /// Something inside Tutela failed (a worker thread, the random source).
    #[error("internal error: {detail}")]
    Internal {
        /// For the log only.
        detail: String,
    },
}

impl From<StorageError> for AppError {
    /// A row the write refers to that does not exist is the caller's
    /// "no such resource"; every other storage failure stays one.
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { .. } => Self::NotFound,
            other => Self::Storage(other),
        }
    }
}

impl From<crate::sealed_stream::SealedStreamError> for AppError {
    /// A chunk that does not authenticate, or a stream cut short, is a
    /// damaged recording; a random source or crypto failure is internal.
    fn from(e: crate::sealed_stream::SealedStreamError) -> Self {
        use crate::sealed_stream::SealedStreamError as E;
        match e {
            E::ChunkAuthentication { .. } | E::Truncated | E::BadHeader { .. } | E::TooLong => {
                Self::Damaged {
                    detail: e.to_string(),
                }
            }
            E::Random | E::Backend { .. } => Self::internal(e.to_string()),
        }
    }
}

impl AppError {
    /// An internal failure with a detail for the log.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal {
            detail: detail.into(),
        }
    }

    /// An invalid field with its reason.
    pub fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Domain(e) => e.code(),
            Self::Access(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Invalid { .. } => "invalid_field",
            Self::NotFound => "not_found",
            Self::Conflict { code, .. } => code,
            Self::Refused { code, .. } => code,
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::KeyDestroyed => "key_destroyed",
            Self::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Self::Damaged { .. } => "recording_damaged",
            Self::VaultNotConfigured => "recordings_not_configured",
            Self::DeliveryNotConfigured => "request_delivery_not_configured",
            Self::Storage(e) => e.code(),
            Self::Internal { .. } => "internal",
        }
    }

    /// A message for people. Internal and storage failures are described only
    /// in general terms here; their details go to the log with the request id.
    pub fn message(&self) -> String {
        match self {
            Self::Storage(StorageError::Conflict { what }) => {
                format!("another record already has this {what}")
            }
            Self::Storage(StorageError::Unavailable { .. }) => {
                "storage is unavailable; nothing was changed, retry later".into()
            }
            Self::Storage(_) => "storage failed; nothing was changed".into(),
            Self::Internal { .. } => "internal error; nothing was changed".into(),
            other => other.to_string(),
        }
    }

    /// The input field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Domain(e) => e.field(),
            Self::Auth(e) => e.field(),
            Self::Invalid { field, .. } => Some(field),
            Self::Storage(StorageError::Conflict { what: "username" }) => Some("username"),
            _ => None,
        }
    }

    /// The detail for the operator's log. Free of personal data by construction:
    /// built from codes, field names and backend error kinds.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}
