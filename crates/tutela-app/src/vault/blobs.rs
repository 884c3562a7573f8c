//! Opening the recordings' object store: a local directory by default, any
//! S3-compatible service by configuration.

use std::path::Path;
use std::sync::Arc;

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
