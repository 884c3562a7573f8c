//! Tutela's use cases. Each public method of [`App`] is one operation: it takes
//! parsed domain values, applies the rules, reads the clock it was given and
//! calls storage. The HTTP server and the CLI are thin callers of these.
//!
//! Operations on personal data take a [`TenantGrant`] and administrative ones
//! a [`PlatformGrant`] (see [`grants`]): holding one is the proof that the
//! access decision allowed the call.

pub mod audit;
mod auth;
mod calls;
mod clients;
mod consent;
mod controller_keys;
mod controllers;
pub mod erasure_journal;
mod error;
mod fresh_cache;
pub mod grants;
mod keys;
pub mod letters;
mod list_scrub;
mod lists;
mod notices;
mod passwords;
pub mod registries;
pub mod registry_file;
pub mod requests;
pub mod rules;
pub mod scrub;
pub mod sealed_stream;
mod setup;
mod subjects;
mod tokens;
mod users;
pub mod vault;

use std::sync::Arc;

use tutela_domain::{Clock, LoginPolicy};
use tutela_storage::Store;

pub use auth::{CLIENT_TOKEN_PREFIX, Login, MfaEnrollment, SESSION_PREFIX};
pub use calls::{CallRequest, OutcomeReport};
pub use clients::{MAX_TOKEN_LIFETIME, NewClient};
pub use consent::NewConsent;
pub use controller_keys::{ControllerKeys, NonceSequence};
pub use controllers::NewController;
pub use error::AppError;
pub use grants::{PlatformGrant, TenantGrant};
pub use keys::KeyRing;
pub use list_scrub::ListScrub;
pub use lists::{ImportProgress, ImportRequest, ImportSummary, sniff_delimiter, sniff_encoding};
pub use passwords::PasswordHasher;
pub use registries::{RegistryReport, RegistryShelf};
pub use rules::{LoadedRules, RuleBook, RuleBookError};
pub use subjects::{AttributeView, MAX_PAGE, NewSubject, SubjectSearch, SubjectView};
pub use tokens::{digest, random_token_hex};
pub use users::NewAttestation;
pub use vault::Vault;

/// The application: storage, clock, keys and the shared expensive resources.
/// Cheap to clone; every clone shares the same store and clock.
#[derive(Debug, Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyRing>,
    policy: LoginPolicy,
    passwords: PasswordHasher,
    appender: audit::Appender,
    signer: Arc<audit::AuditSigner>,
    voiding_rules: Arc<Vec<tutela_domain::VoidingRule>>,
    rules: RuleBook,
    registries: RegistryShelf,
    vault: Option<Arc<vault::Vault>>,
    delivery: Option<requests::RequestDelivery>,
    // Shared, not owned: axum clones the application for every request, and
    // copying the letter templates each time cost more than most handlers.
    letters: Option<Arc<letters::LetterBook>>,
    summaries: Option<Arc<letters::SummaryBook>>,
    journal: Option<Arc<erasure_journal::ErasureJournal>>,
    fresh: Arc<fresh_cache::FreshFacts>,
}

impl App {
    /// An application over `store`, reading time from `clock`, with keys
    /// derived from the data directory's root key, the audit trail's signing
    /// key and the default sign-in policy. Starts the audit appender, so it
    /// must be called within a Tokio runtime.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        keys: KeyRing,
        signer: audit::AuditSigner,
        checkpoint_every: u64,
    ) -> Self {
        let signer = Arc::new(signer);
        let appender = audit::Appender::start(
            store.clone(),
            clock.clone(),
            signer.clone(),
            checkpoint_every,
        );
        Self {
            store,
            clock,
            keys: Arc::new(keys),
            policy: LoginPolicy::default(),
            passwords: PasswordHasher::new(),
            appender,
            signer,
            voiding_rules: Arc::new(tutela_domain::default_voiding_rules()),
            // The shipped rules parse (a test holds it); were they not to,
            // every decision would deny for want of rules, the safe side.
            rules: RuleBook::shipped().unwrap_or_default(),
            registries: RegistryShelf::default(),
            vault: None,
            delivery: None,
            // Shipped templates are checked by a test; were they broken,
            // every letter would fail and nothing would be answered.
            letters: letters::LetterBook::shipped().ok().map(Arc::new),
            summaries: letters::SummaryBook::shipped().ok().map(Arc::new),
            journal: None,
            fresh: Arc::default(),
        }
    }

    /// The same application journalling every erasure in `journal` before
    /// it happens (see [`erasure_journal`]).
    pub fn with_erasure_journal(mut self, journal: erasure_journal::ErasureJournal) -> Self {
        self.journal = Some(Arc::new(journal));
        self
    }

    /// The same application sending codes and forwarding requests through
    /// `delivery`.
    pub fn with_request_delivery(mut self, delivery: requests::RequestDelivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// The same application writing letters from `letters` (the shipped
    /// templates with the operator's overrides).
    pub fn with_letters(mut self, letters: letters::LetterBook) -> Self {
        self.letters = Some(Arc::new(letters));
        self
    }

    /// Where codes and forwarded requests go, or
    /// [`AppError::DeliveryNotConfigured`].
    pub(crate) fn delivery(&self) -> Result<&requests::RequestDelivery, AppError> {
        self.delivery
            .as_ref()
            .ok_or(AppError::DeliveryNotConfigured)
    }

    /// The same application with other calling rules (the shipped ones
    /// with the operator's overrides).
    pub fn with_rules(mut self, rules: RuleBook) -> Self {
        self.rules = rules;
        self
    }

    /// The same application deciding calls against `registries`.
    pub fn with_registries(mut self, registries: RegistryShelf) -> Self {
        self.registries = registries;
        self
    }

    /// The calling rules in force.
    pub fn rules(&self) -> &RuleBook {
        &self.rules
    }

    /// The registry snapshots this node holds.
    pub fn registries(&self) -> &RegistryShelf {
        &self.registries
    }

    /// The public key that verifies this application's audit signatures.
    pub fn audit_public_key(&self) -> &[u8] {
        self.signer.public_key()
    }

    /// The same application with another sign-in policy.
    pub fn with_login_policy(mut self, policy: LoginPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same application with other consent-voiding rules (the
    /// operator's table instead of the defaults).
    pub fn with_voiding_rules(mut self, rules: Vec<tutela_domain::VoidingRule>) -> Self {
        self.voiding_rules = Arc::new(rules);
        self
    }

    /// The consent-voiding rules in force.
    pub fn voiding_rules(&self) -> &[tutela_domain::VoidingRule] {
        &self.voiding_rules
    }

    /// The store, for health checks and shutdown.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock every rule reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}
