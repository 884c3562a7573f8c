//! Repository traits of Tutela's storage, the errors they return, and the
//! database URL that chooses a backend.
//!
//! Each backend (`tutela-storage-sqlite`, `tutela-storage-postgres`) implements
//! [`Store`]; one conformance suite (in the `tutela` crate's integration tests)
//! runs the same tests on both. The contract every implementation keeps:
//!
//! - every method is atomic: a method that writes more than one row does so in
//!   one transaction, and a failure leaves nothing half-written;
//! - backend errors never cross this boundary: they become [`StorageError`];
//! - no method returns an empty result to hide a failure.

mod error;
mod repositories;
mod rows;
mod sql;
mod url;

pub use error::StorageError;
pub use repositories::{
    Health, Readiness, SetupCompletion, SetupRepository, SetupTokenIssue, Store, UserRepository,
};
pub use rows::{UserRow, micros, timestamp};
pub use url::{DatabaseUrl, DatabaseUrlError, OpenMode};
