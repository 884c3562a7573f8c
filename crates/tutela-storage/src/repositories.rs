//! The repository traits. A backend implements all of them and thereby [`Store`].

use std::fmt::Debug;

use async_trait::async_trait;
use tutela_domain::{NewUser, SecretDigest, Timestamp, User, UserId};

use crate::StorageError;

/// What `/readyz` needs to know about the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Migrations this binary ships.
    pub migrations_expected: usize,
    /// Of those, how many the database reports as applied successfully.
    pub migrations_applied: usize,
}

impl Readiness {
    /// Compares the migrations a binary ships with those the database reports
    /// as successfully applied.
    pub fn from_versions(shipped: impl IntoIterator<Item = i64>, applied: &[i64]) -> Self {
        let shipped: Vec<i64> = shipped.into_iter().collect();
        Self {
            migrations_expected: shipped.len(),
            migrations_applied: shipped.iter().filter(|v| applied.contains(v)).count(),
        }
    }

    /// True when every migration this binary ships is applied.
    pub fn is_ready(&self) -> bool {
        self.migrations_applied == self.migrations_expected
    }
}

/// Liveness and life cycle of the store itself.
#[async_trait]
pub trait Health: Send + Sync {
    /// The backend's name (`sqlite`, `postgres`), for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Round-trips to the database and counts applied migrations. An
    /// unreachable database is an error, never a "not ready" answer with zeroes.
    async fn readiness(&self) -> Result<Readiness, StorageError>;

    /// Closes every connection; later calls fail with [`StorageError::Unavailable`].
    async fn close(&self);
}

/// Outcome of issuing a setup token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupTokenIssue {
    /// The token was stored and replaces any earlier one.
    Issued,
    /// A user exists already; no token was stored.
    AlreadyComplete,
}

/// Outcome of using a setup token to create the first administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupCompletion {
    /// The administrator was created and the token consumed.
    Created(User),
    /// The token is unknown, consumed or expired. Nothing was written.
    InvalidToken,
    /// A user exists already. Nothing was written.
    AlreadyComplete,
}

/// The one-time bootstrap of the first administrator.
#[async_trait]
pub trait SetupRepository: Send + Sync {
    /// Stores the digest of a fresh setup token, replacing any earlier token,
    /// unless a user already exists. Atomic.
    async fn issue_setup_token(
        &self,
        digest: SecretDigest,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<SetupTokenIssue, StorageError>;

    /// In one transaction: checks that no user exists, creates `admin`, and
    /// consumes the token with `digest` if it is unconsumed and not expired at
    /// `now`. Any failure leaves the store exactly as it was.
    async fn complete_setup(
        &self,
        digest: SecretDigest,
        now: Timestamp,
        admin: NewUser,
    ) -> Result<SetupCompletion, StorageError>;
}

/// Processor staff accounts.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user with this id, if there is one.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;

    /// How many user accounts exist, disabled ones included.
    async fn count_users(&self) -> Result<u64, StorageError>;
}

/// Everything a backend provides. The server and the CLI hold an
/// `Arc<dyn Store>` and never know which backend is behind it.
pub trait Store: Health + SetupRepository + UserRepository + Debug {}

impl<T> Store for T where T: Health + SetupRepository + UserRepository + Debug {}
