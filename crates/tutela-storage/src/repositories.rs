//! The repository traits. A backend implements all of them and thereby [`Store`].

use std::fmt::Debug;

use async_trait::async_trait;
use tutela_domain::{
    Agreement, AgreementTerms, Attestation, BlindIndex, ClientId, Controller, ControllerId,
    MachineClient, NewUser, PasswordHash, Role, SecretDigest, SessionId, Subject, SubjectId,
    Timestamp, User, UserId,
};

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

/// A user's sign-in material, read only by the login use case.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// Its password hash.
    pub password_hash: PasswordHash,
    /// Its TOTP secret, sealed by the application (never stored in clear).
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted, so a code is never accepted twice.
    pub totp_last_step: Option<i64>,
}

/// A change to a user's account by an administrator. `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// New set of controllers (replaces the old set).
    pub controllers: Option<Vec<ControllerId>>,
    /// Forget the TOTP enrolment (lost phone): the user enrols again at next sign-in.
    pub reset_mfa: bool,
}

/// Outcome of changing or disabling a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdate {
    /// Done; the user as it is now.
    Updated(User),
    /// No such user.
    NotFound,
    /// Refused: the change would leave no enabled administrator.
    LastAdministrator,
}

/// Processor staff accounts.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user with this id, if there is one.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;

    /// How many user accounts exist, disabled ones included.
    async fn count_users(&self) -> Result<u64, StorageError>;

    /// Creates a user and its controller scopes in one transaction.
    /// [`StorageError::Conflict`] with `what = "username"` if the name is taken.
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError>;

    /// Every user, ordered by username.
    async fn list_users(&self) -> Result<Vec<User>, StorageError>;

    /// Sign-in material for `username`, disabled accounts included.
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StorageError>;

    /// Applies `change` atomically at `now`. Refuses to demote the last
    /// enabled administrator. Resetting MFA also revokes the user's sessions.
    async fn update_user(
        &self,
        id: UserId,
        change: UserChange,
        now: Timestamp,
    ) -> Result<UserUpdate, StorageError>;

    /// Disables the account and, in the same transaction, revokes every
    /// session of the user and every machine-client token the user issued
    /// (staff turnover: whatever credentials they knew stop working).
    /// Refuses to disable the last enabled administrator.
    async fn disable_user(&self, id: UserId, now: Timestamp) -> Result<UserUpdate, StorageError>;

    /// Stores a new, unconfirmed TOTP secret (sealed), replacing any earlier one.
    async fn store_totp_secret(&self, id: UserId, sealed: Vec<u8>) -> Result<(), StorageError>;

    /// Marks the TOTP enrolment confirmed at `now`.
    async fn confirm_totp(&self, id: UserId, now: Timestamp) -> Result<(), StorageError>;

    /// Records `step` as used if it is later than the last used step; false
    /// if it is not (a replayed code). Atomic: of two concurrent uses of the
    /// same code exactly one succeeds.
    async fn accept_totp_step(&self, id: UserId, step: i64) -> Result<bool, StorageError>;

    /// Records an attestation.
    async fn record_attestation(&self, attestation: &Attestation) -> Result<(), StorageError>;

    /// A user's attestations, oldest first.
    async fn attestations(&self, id: UserId) -> Result<Vec<Attestation>, StorageError>;
}

/// A new session, stored under the digest of its token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Identifier.
    pub id: SessionId,
    /// SHA-256 of the bearer token.
    pub digest: SecretDigest,
    /// Whose.
    pub user_id: UserId,
    /// When created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// True until the user completes MFA enrolment.
    pub mfa_pending: bool,
}

/// A stored session with its user as the user is now.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Identifier.
    pub id: SessionId,
    /// The user, read fresh (role, scopes, disabled).
    pub user: User,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// True until the user completes MFA enrolment.
    pub mfa_pending: bool,
    /// When revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// Sign-in sessions.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a session.
    async fn create_session(&self, session: NewSession) -> Result<(), StorageError>;

    /// The session whose token has this digest.
    async fn session(&self, digest: SecretDigest) -> Result<Option<SessionRecord>, StorageError>;

    /// Revokes a session (sign-out). Idempotent.
    async fn revoke_session(&self, id: SessionId, now: Timestamp) -> Result<(), StorageError>;

    /// Marks MFA as completed for a session.
    async fn complete_session_mfa(&self, id: SessionId) -> Result<(), StorageError>;
}

/// A machine-client token about to be stored.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// SHA-256 of the token.
    pub digest: SecretDigest,
    /// Who issued it (revoked when that user is disabled).
    pub issued_by: UserId,
    /// When issued.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// A stored token with its client.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The client.
    pub client: MachineClient,
    /// When the token stops working.
    pub expires_at: Timestamp,
    /// When the token was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// Machine clients and their tokens.
#[async_trait]
pub trait ClientRepository: Send + Sync {
    /// Stores a client and its first token in one transaction.
    async fn create_client(
        &self,
        client: &MachineClient,
        token: NewApiToken,
    ) -> Result<(), StorageError>;

    /// A controller's clients, oldest first.
    async fn clients(&self, controller: ControllerId) -> Result<Vec<MachineClient>, StorageError>;

    /// One client of a controller.
    async fn client(
        &self,
        controller: ControllerId,
        id: ClientId,
    ) -> Result<Option<MachineClient>, StorageError>;

    /// Revokes the client's tokens and stores `token` as its only valid one,
    /// in one transaction. False if there is no such unrevoked client.
    async fn replace_client_token(
        &self,
        controller: ControllerId,
        id: ClientId,
        token: NewApiToken,
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// Revokes the client and all its tokens. False if there is no such client.
    async fn revoke_client(
        &self,
        controller: ControllerId,
        id: ClientId,
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// The token with this digest and its client.
    async fn api_token(&self, digest: SecretDigest) -> Result<Option<TokenRecord>, StorageError>;
}

/// Counting failed sign-ins per key (an account or a network address, each
/// as a keyed digest so the table holds neither names nor addresses).
#[async_trait]
pub trait ThrottleRepository: Send + Sync {
    /// Until when `key` is locked, if it is locked at `now`.
    async fn locked_until(
        &self,
        key: SecretDigest,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StorageError>;

    /// Counts one failure for `key` at `now`. Failures older than
    /// `window_start` are forgotten first. When the count reaches `threshold`
    /// the key is locked until `lock_until` and the count starts again.
    /// Returns the lock if this failure set it. Atomic under concurrency.
    async fn record_login_failure(
        &self,
        key: SecretDigest,
        now: Timestamp,
        window_start: Timestamp,
        threshold: u32,
        lock_until: Timestamp,
    ) -> Result<Option<Timestamp>, StorageError>;

    /// Forgets the failures of `key` (after a successful sign-in).
    async fn clear_login_failures(&self, key: SecretDigest) -> Result<(), StorageError>;
}

/// Controllers and their agreements.
#[async_trait]
pub trait ControllerRepository: Send + Sync {
    /// Stores a new controller.
    async fn create_controller(&self, controller: &Controller) -> Result<(), StorageError>;

    /// One controller.
    async fn controller(&self, id: ControllerId) -> Result<Option<Controller>, StorageError>;

    /// Every controller, by name.
    async fn list_controllers(&self) -> Result<Vec<Controller>, StorageError>;

    /// Stores `terms` as the controller's next agreement version (1 for the
    /// first) and returns it. The version is assigned in the transaction.
    async fn record_agreement(
        &self,
        controller: ControllerId,
        terms: &AgreementTerms,
        recorded_at: Timestamp,
        recorded_by: UserId,
    ) -> Result<Agreement, StorageError>;

    /// The controller's latest agreement version, if any.
    async fn current_agreement(
        &self,
        controller: ControllerId,
    ) -> Result<Option<Agreement>, StorageError>;
}

/// Data subjects, always read and written within one controller: there is
/// no method that reaches a subject without naming its controller.
#[async_trait]
pub trait SubjectRepository: Send + Sync {
    /// Stores a subject (its record, with the secret of its audit pseudonym)
    /// and its blind indexes, in one transaction.
    async fn create_subject(
        &self,
        subject: &Subject,
        audit_secret: &[u8; 32],
    ) -> Result<(), StorageError>;

    /// Erases a subject of `controller` in one transaction: its record (and
    /// with it the audit pseudonym secret), blind indexes, list memberships,
    /// consent events and registrations; its blind indexes stay only as
    /// suppressions (reason `erased`, since `at`), so the person is never
    /// called again. False when there was no such subject.
    async fn erase_subject(
        &self,
        controller: ControllerId,
        id: SubjectId,
        at: Timestamp,
    ) -> Result<bool, StorageError>;

    /// One subject of `controller`; another controller's subject is `None`.
    async fn subject(
        &self,
        controller: ControllerId,
        id: SubjectId,
    ) -> Result<Option<Subject>, StorageError>;

    /// Replaces a subject's record (a rectification), moving its blind
    /// indexes with it, in one transaction. `false` when there is no such
    /// subject; [`StorageError::Conflict`] (`what = "identifier"`) and
    /// nothing written when a new identifier belongs to another person.
    async fn replace_subject(&self, subject: &Subject) -> Result<bool, StorageError>;

    /// A page of `controller`'s subjects in id order, after `after`.
    async fn subjects(
        &self,
        controller: ControllerId,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<Subject>, StorageError>;

    /// The subjects of `controller` a blind index finds, in id order.
    async fn find_subjects(
        &self,
        controller: ControllerId,
        blind: BlindIndex,
    ) -> Result<Vec<SubjectId>, StorageError>;
}

/// Everything a backend provides. The server and the CLI hold an
/// `Arc<dyn Store>` and never know which backend is behind it.
pub trait Store:
    Health
    + SetupRepository
    + UserRepository
    + SessionRepository
    + ClientRepository
    + ThrottleRepository
    + ControllerRepository
    + SubjectRepository
    + crate::ListRepository
    + crate::ConsentRepository
    + crate::NoticeRepository
    + crate::CallRepository
    + crate::RecordingRepository
    + crate::RequestRepository
    + crate::AuditAppend
    + crate::AuditRead
    + Debug
{
}

impl<T> Store for T where
    T: Health
        + SetupRepository
        + UserRepository
        + SessionRepository
        + ClientRepository
        + ThrottleRepository
        + ControllerRepository
        + SubjectRepository
        + crate::ListRepository
        + crate::ConsentRepository
        + crate::NoticeRepository
        + crate::CallRepository
        + crate::RecordingRepository
        + crate::RequestRepository
        + crate::AuditAppend
        + crate::AuditRead
        + Debug
{
}
