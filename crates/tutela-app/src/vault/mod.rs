//! The recordings vault: audio encrypted before it leaves the process (a
//! fresh data key per recording, sealed in authenticated chunks), data keys
//! wrapped by the controller's key-encryption key, blobs in an object store
//! dedicated to recordings (a local directory, or any S3-compatible
//! service). Destroying a data key makes its recording unreadable wherever
//! copies of the blob are: that is how recordings are purged and erased.

mod blobs;
mod key_provider;
mod listen;
mod manage;
#[cfg(feature = "vault-transit")]
mod transit;
#[cfg(all(test, feature = "vault-transit"))]
mod transit_fake;
mod upload;

use std::sync::Arc;

use object_store::ObjectStore;

pub use blobs::{S3Settings, local_blob_store, s3_blob_store};
pub use key_provider::{KeyProvider, LocalKeyFiles};
pub use listen::{ByteRange, RecordingAudio};
pub use manage::{OperatorReveal, PurgeReport, RecordingView, RotationReport};
#[cfg(feature = "vault-transit")]
pub use transit::{TransitSettings, VaultTransit};
pub use upload::{OperatorId, RecordingUpload};

use crate::sealed_stream::DEFAULT_CHUNK_SIZE;

/// How long a staged upload may sit untouched before the purge job takes
/// it for abandoned: far longer than any call is long.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Where recordings go and what wraps their keys. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Vault {
    blobs: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyProvider>,
    chunk_size: u32,
    /// The local folder behind `blobs`, swept of abandoned uploads.
    local_dir: Option<std::path::PathBuf>,
}

impl Vault {
    /// A vault over `blobs` (a store used for recordings only) with data
    /// keys wrapped by `keys`.
    pub fn new(blobs: Arc<dyn ObjectStore>, keys: Arc<dyn KeyProvider>) -> Self {
        Self {
            blobs,
            keys,
            chunk_size: DEFAULT_CHUNK_SIZE,
            local_dir: None,
        }
    }

    /// A vault over the local folder `dir` (see [`local_blob_store`]):
    /// the purge job also removes uploads a killed process left staged
    /// there for more than [`ABANDONED_AFTER`].
    pub fn local(
        dir: &std::path::Path,
        keys: Arc<dyn KeyProvider>,
    ) -> Result<Self, crate::AppError> {
        let mut vault = Self::new(local_blob_store(dir)?, keys);
        vault.local_dir = Some(dir.to_path_buf());
        Ok(vault)
    }

    /// The same vault sealing chunks of `chunk_size` plaintext bytes (for
    /// tests that want many chunks from little audio).
    pub fn with_chunk_size(mut self, chunk_size: u32) -> Self {
        self.chunk_size = chunk_size;
        self
    }

    /// The object store, for tests and tools that inspect blobs.
    pub fn blobs(&self) -> &Arc<dyn ObjectStore> {
        &self.blobs
    }
}

/// An object-store failure as the application reports it: the kind of
/// failure, never a path with ids in it or an answer body.
pub(crate) fn blob_error(e: object_store::Error) -> crate::AppError {
    let kind = match &e {
        object_store::Error::NotFound { .. } => "not found",
        object_store::Error::AlreadyExists { .. } => "already exists",
        object_store::Error::Precondition { .. } => "precondition failed",
        object_store::Error::PermissionDenied { .. } => "permission denied",
        object_store::Error::Unauthenticated { .. } => "unauthenticated",
        _ => "request failed",
    };
    crate::AppError::internal(format!("recordings store: {kind}"))
}

impl crate::App {
    /// The vault, or [`crate::AppError::VaultNotConfigured`].
    pub(crate) fn vault(&self) -> Result<&Vault, crate::AppError> {
        self.vault
            .as_deref()
            .ok_or(crate::AppError::VaultNotConfigured)
    }

    /// The recordings' object store, for tools and tests that inspect or
    /// damage blobs; `None` without a vault.
    pub fn recording_blobs(&self) -> Option<Arc<dyn ObjectStore>> {
        self.vault.as_ref().map(|v| v.blobs.clone())
    }

    /// The same application storing recordings in `vault`.
    pub fn with_vault(mut self, vault: Vault) -> Self {
        self.vault = Some(Arc::new(vault));
        self
    }
}
