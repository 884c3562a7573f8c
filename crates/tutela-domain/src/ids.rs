//! Identifiers of the domain's entities. Each is a UUID (v7, time-ordered so
//! indexes stay compact); logs carry these, never names or numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::InvalidValue;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new identifier.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(value)
                    .map(Self)
                    .map_err(|_| InvalidValue::new("must be a UUID"))
            }
        }
    };
}

identifier!(
    /// A controller: a client company whose data is processed.
    ControllerId
);
identifier!(
    /// A machine client (dialer, PBX, CRM).
    ClientId
);
identifier!(
    /// A data subject held for one controller.
    SubjectId
);
identifier!(
    /// A stored call recording.
    RecordingId
);
identifier!(
    /// A data-subject request (its reference in letters).
    RequestId
);
identifier!(
    /// One event of the consent ledger.
    ConsentEventId
);
identifier!(
    /// An imported lead list.
    ListId
);
identifier!(
    /// A published version of a privacy notice.
    NoticeId
);
identifier!(
    /// A sign-in session of a user.
    SessionId
);
identifier!(
    /// A recorded attestation (confidentiality undertaking or training).
    AttestationId
);
