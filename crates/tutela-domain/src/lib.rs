//! Tutela's domain layer: the types, rules and decisions of the privacy core.
//!
//! This crate has no HTTP, no SQL and no I/O. Everything that depends on the
//! current instant takes it from a [`Clock`] passed in, so deadline, retention
//! and calling-hour rules can be tested at exact instants.
//!
//! Types here *parse*: a value of [`Username`] or [`Password`] is valid by
//! construction, so code that holds one never re-checks it.

pub mod clock;
pub mod error;
pub mod secret;
pub mod setup;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, InvalidValue};
pub use secret::{Secret, SecretDigest};
pub use setup::{SETUP_TOKEN_VALIDITY, SetupToken};
pub use user::{NewUser, Password, PasswordHash, Role, User, UserId, Username};

/// An instant on the UTC time line, with microsecond precision in storage.
pub type Timestamp = jiff::Timestamp;
