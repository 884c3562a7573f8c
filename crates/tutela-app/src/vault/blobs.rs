//! Opening the recordings' object store: a local directory by default, any
//! S3-compatible service by configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;

use crate::AppError;

/// An S3-compatible bucket for recordings.
#[derive(Clone)]
pub struct S3Settings {
    /// The bucket (dedicated to recordings).
    pub bucket: String,
    /// The service's URL (`https://s3.eu-south-1.amazonaws.com`, or a
    /// MinIO, Ceph or loopback test server).
    pub endpoint: Option<String>,
    /// The region.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never printed).
    pub secret_access_key: String,
    /// Allow plain HTTP (a loopback test server only).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Recordings in `dir` (created if missing). Files are synced before an
/// upload completes, and an upload becomes visible only when complete.
pub fn local_blob_store(dir: &Path) -> Result<Arc<dyn ObjectStore>, AppError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        AppError::internal(format!("recordings folder cannot be created: {}", e.kind()))
    })?;
    let store = LocalFileSystem::new_with_prefix(dir)
        .map_err(super::blob_error)?
        .with_fsync(true);
    Ok(Arc::new(store))
}

/// Recordings in an S3-compatible bucket.
pub fn s3_blob_store(s3: &S3Settings) -> Result<Arc<dyn ObjectStore>, AppError> {
    // The HTTP client's TLS needs a crypto provider: ring, the one the
    // server's TLS uses. Installing it twice is harmless (the error says
    // one is installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_access_key_id(&s3.access_key_id)
        .with_secret_access_key(&s3.secret_access_key)
        .with_allow_http(s3.allow_http);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder
        .build()
        .map_err(|e| AppError::invalid("recordings.s3", e.to_string()))?;
    Ok(Arc::new(store))
}

/// True for a file `object_store`'s local multipart upload stages beside
/// its object (`<object>#<digits>`), renamed into place when complete.
fn is_staged_upload(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(object, suffix)| {
        !object.is_empty() && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Removes staged uploads under `dir` last written before `cutoff`: what a
/// process killed mid-upload leaves (sealed bytes whose key was never
/// stored, invisible through the store, but taking space). Returns how
/// many were removed.
pub(crate) fn sweep_abandoned_uploads(dir: &Path, cutoff: SystemTime) -> Result<u64, AppError> {
    let failed =
        |e: std::io::Error| AppError::internal(format!("sweeping abandoned uploads: {}", e.kind()));
    let mut removed = 0;
    let mut folders: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(failed(e)),
        };
        for entry in entries {
            let entry = entry.map_err(failed)?;
            let kind = entry.file_type().map_err(failed)?;
            if kind.is_dir() {
                folders.push(entry.path());
                continue;
            }
            let staged = entry.file_name().to_str().is_some_and(is_staged_upload);
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(failed)?;
            if staged && modified < cutoff {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    // Completed or swept meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(failed(e)),
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_staged_uploads_older_than_the_cutoff_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let controller = dir.path().join("c1");
        std::fs::create_dir_all(&controller).unwrap();
        let now = SystemTime::now();
        let day_ago = now - Duration::from_secs(86_400);
        let old = |name: &str| {
            let path = controller.join(name);
            let file = std::fs::File::create(&path).unwrap();
            file.set_modified(day_ago - Duration::from_secs(60))
                .unwrap();
            path
        };
        let abandoned = old("r1.rec#17");
        let recording = old("r2.rec");
        let odd_name = old("r3.rec#tag");
        let fresh = controller.join("r4.rec#3");
        std::fs::write(&fresh, b"in progress").unwrap();

        assert_eq!(sweep_abandoned_uploads(dir.path(), day_ago).unwrap(), 1);
        assert!(!abandoned.exists());
        assert!(recording.exists() && odd_name.exists() && fresh.exists());
        // A missing folder is nothing to sweep.
        assert_eq!(
            sweep_abandoned_uploads(&dir.path().join("none"), now).unwrap(),
            0
        );
    }
}
