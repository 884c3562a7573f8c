//! Key-encryption keys (KEKs): each controller's key that wraps the data
//! key of every one of its recordings. A provider wraps and unwraps data
//! keys and rotates the KEK; the data keys themselves never leave the
//! process unwrapped. The default provider keeps KEKs in files of the data
//! directory; others (a KMS) implement the same trait.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use tutela_domain::ControllerId;
use tutela_storage::WrappedKey;

use crate::AppError;
use crate::sealed_stream::DataKey;

/// Wraps and unwraps recordings' data keys under controllers' KEKs.
#[async_trait]
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The provider's name, for logs (`local`, `vault`).
    fn name(&self) -> &'static str;

    /// Wraps `key` under the controller's current KEK (created on first
    /// use), bound to `context` (the recording id).
    async fn wrap(
        &self,
        controller: ControllerId,
        key: &DataKey,
        context: &[u8],
    ) -> Result<WrappedKey, AppError>;

    /// Unwraps a key wrapped for the same controller and context. A KEK
    /// version that no longer exists is [`AppError::KeyDestroyed`]; a
    /// wrapped key that does not open is an internal error.
    async fn unwrap(
        &self,
        controller: ControllerId,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<DataKey, AppError>;

    /// Creates a new KEK version and makes it current; returns it.
    async fn rotate(&self, controller: ControllerId) -> Result<u32, AppError>;

    /// Destroys every KEK version of the controller below `keep_from`,
    /// once nothing is wrapped under them any more.
    async fn retire(&self, controller: ControllerId, keep_from: u32) -> Result<(), AppError>;
}

/// KEKs as files: `<dir>/<controller>/kek-<version>.key`, 32 random bytes,
/// readable by the service's user only. Rotation adds a file, retirement
/// deletes the old ones.
pub struct LocalKeyFiles {
    dir: PathBuf,
    cache: Mutex<HashMap<(ControllerId, u32), Arc<LessSafeKey>>>,
}

impl fmt::Debug for LocalKeyFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyFiles")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

const WRAP_LABEL: &[u8] = b"tutela data key v1";

fn io_error(what: &str, e: std::io::Error) -> AppError {
    AppError::internal(format!("key file {what}: {}", e.kind()))
}

impl LocalKeyFiles {
    /// KEK files under `dir` (created when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn controller_dir(&self, controller: ControllerId) -> PathBuf {
        self.dir.join(controller.to_string())
    }

    fn versions(&self, controller: ControllerId) -> Result<Vec<u32>, AppError> {
        let dir = self.controller_dir(controller);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("folder", e)),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("folder", e))?;
            let name = entry.file_name();
            if let Some(v) = name
                .to_str()
                .and_then(|n| n.strip_prefix("kek-"))
                .and_then(|n| n.strip_suffix(".key"))
                .and_then(|n| n.parse::<u32>().ok())
            {
                versions.push(v);
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    /// Writes a new KEK file; `create_new` makes two nodes racing for the
    /// same version agree on one file.
    fn create(&self, controller: ControllerId, version: u32) -> Result<(), AppError> {
        let dir = self.controller_dir(controller);
        std::fs::create_dir_all(&dir).map_err(|e| io_error("folder", e))?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| AppError::internal(format!("random source: {e}")))?;
        let path = dir.join(format!("kek-{version}.key"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                file.write_all(&key).map_err(|e| io_error("write", e))?;
                file.sync_all().map_err(|e| io_error("sync", e))?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_error("create", e)),
        }
    }

    fn current(&self, controller: ControllerId) -> Result<u32, AppError> {
        match self.versions(controller)?.last() {
            Some(v) => Ok(*v),
            None => {
                self.create(controller, 1)?;
                Ok(1)
            }
        }
    }

    fn kek(&self, controller: ControllerId, version: u32) -> Result<Arc<LessSafeKey>, AppError> {
        if let Some(key) = self
            .cache
            .lock()
            .map_err(|_| AppError::internal("key cache poisoned"))?
            .get(&(controller, version))
        {
            return Ok(key.clone());
        }
        let path = self
            .controller_dir(controller)
            .join(format!("kek-{version}.key"));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::KeyDestroyed);
            }
            Err(e) => return Err(io_error("read", e)),
        };
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| AppError::internal("key file does not hold a 256-bit key"))?;
        let key = Arc::new(LessSafeKey::new(unbound));
        self.cache
            .lock()
            .map_err(|_| AppError::internal("key cache poisoned"))?
            .insert((controller, version), key.clone());
        Ok(key)
    }
}

/// What a wrapped key is bound to: the controller and the recording, so a
/// wrapped key copied to another row does not open.
pub(super) fn wrap_aad(controller: ControllerId, context: &[u8]) -> Vec<u8> {
    let mut aad = WRAP_LABEL.to_vec();
    aad.extend_from_slice(controller.0.as_bytes());
    aad.extend_from_slice(context);
    aad
}

#[async_trait]
impl KeyProvider for LocalKeyFiles {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn wrap(
        &self,
        controller: ControllerId,
        key: &DataKey,
        context: &[u8],
    ) -> Result<WrappedKey, AppError> {
        let version = self.current(controller)?;
        let kek = self.kek(controller, version)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        let mut buffer = key.as_bytes().to_vec();
        kek.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(wrap_aad(controller, context)),
            &mut buffer,
        )
        .map_err(|_| AppError::internal("wrapping a data key failed"))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&buffer);
        Ok(WrappedKey {
            kek_version: version,
            wrapped,
        })
    }

    async fn unwrap(
        &self,
        controller: ControllerId,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<DataKey, AppError> {
        let kek = self.kek(controller, wrapped.kek_version)?;
        let (nonce, sealed) = wrapped
            .wrapped
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| AppError::internal("wrapped key is too short"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| AppError::internal("wrapped key has a bad nonce"))?;
        let mut buffer = sealed.to_vec();
        let plain = kek
            .open_in_place(nonce, Aad::from(wrap_aad(controller, context)), &mut buffer)
            .map_err(|_| AppError::internal("wrapped key does not open under its KEK"))?;
        let bytes: [u8; 32] = plain
            .try_into()
            .map_err(|_| AppError::internal("wrapped key is not 256 bits"))?;
        Ok(DataKey::from_bytes(bytes))
    }

    async fn rotate(&self, controller: ControllerId) -> Result<u32, AppError> {
        let next = self
            .versions(controller)?
            .last()
            .map_or(1, |v| v.saturating_add(1));
        self.create(controller, next)?;
        Ok(next)
    }

    async fn retire(&self, controller: ControllerId, keep_from: u32) -> Result<(), AppError> {
        for version in self.versions(controller)? {
            if version < keep_from {
                let path = self
                    .controller_dir(controller)
                    .join(format!("kek-{version}.key"));
                std::fs::remove_file(&path).map_err(|e| io_error("remove", e))?;
                self.cache
                    .lock()
                    .map_err(|_| AppError::internal("key cache poisoned"))?
                    .remove(&(controller, version));
            }
        }
        Ok(())
    }
}

/// What every provider must do, run on each of them: wrapped keys open
/// only for their controller and recording, rotation moves wrapping to a
/// new version, and retiring a version makes what it wrapped report
/// [`AppError::KeyDestroyed`].
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) async fn provider_contract(keys: &dyn KeyProvider) {
    let controller = ControllerId::generate();
    let data = DataKey::generate().unwrap();
    let wrapped = keys.wrap(controller, &data, b"rec-1").await.unwrap();
    assert_eq!(wrapped.kek_version, 1);
    let opened = keys.unwrap(controller, &wrapped, b"rec-1").await.unwrap();
    assert_eq!(opened.as_bytes(), data.as_bytes());
    // Bound to its recording and controller.
    assert!(keys.unwrap(controller, &wrapped, b"rec-2").await.is_err());
    assert!(
        keys.unwrap(ControllerId::generate(), &wrapped, b"rec-1")
            .await
            .is_err()
    );
    assert_eq!(keys.rotate(controller).await.unwrap(), 2);
    let rewrapped = keys.wrap(controller, &data, b"rec-1").await.unwrap();
    assert_eq!(rewrapped.kek_version, 2);
    // Until retired, the old version still opens what it wrapped.
    assert!(keys.unwrap(controller, &wrapped, b"rec-1").await.is_ok());
    keys.retire(controller, 2).await.unwrap();
    assert_eq!(
        keys.unwrap(controller, &wrapped, b"rec-1")
            .await
            .unwrap_err(),
        AppError::KeyDestroyed
    );
    let opened = keys.unwrap(controller, &rewrapped, b"rec-1").await.unwrap();
    assert_eq!(opened.as_bytes(), data.as_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_files_keep_the_provider_contract() {
        let dir = tempfile::tempdir().unwrap();
        provider_contract(&LocalKeyFiles::new(dir.path())).await;
    }
}
