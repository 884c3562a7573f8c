//! Tutela's use cases. Each public method of [`App`] is one operation: it takes
//! parsed domain values, applies the rules, reads the clock it was given and
//! calls storage. The HTTP server and the CLI are thin callers of these.

mod error;
mod passwords;
mod setup;
mod tokens;

use std::sync::Arc;

use tutela_domain::Clock;
use tutela_storage::Store;

pub use error::AppError;
pub use passwords::PasswordHasher;
pub use tokens::{digest, random_token_hex};

/// The application: storage, clock and the shared expensive resources.
/// Cheap to clone; every clone shares the same store and clock.
#[derive(Debug, Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
}

impl App {
    /// An application over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            passwords: PasswordHasher::new(),
        }
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
