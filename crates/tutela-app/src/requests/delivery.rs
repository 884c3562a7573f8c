//! How requests reach people and controllers: one-time codes go to a
//! contact point already on file, requests go to their controller (the
//! processor's duty). Both are traits; the defaults write files into an
//! outbox folder that a mail relay or the controller's integration picks
//! up, so nothing here needs a network and every delivery is a file an
//! auditor can see.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use tutela_domain::{ContactPoint, Language, RequestId};
use tutela_storage::OutboxItem;

use crate::AppError;

/// Sends a one-time code to a contact point on file.
#[async_trait]
pub trait CodeSender: Send + Sync + fmt::Debug {
    /// Sends `code` for `request` to `to`, in `language`.
    async fn send_code(
        &self,
        to: &ContactPoint,
        code: &str,
        language: Language,
        request: RequestId,
    ) -> Result<(), AppError>;

    /// Withdraws the messages for `request` not yet sent, once its codes
    /// have served (the requester is verified, or the request closed): a
    /// contact point should not wait in an outbox longer than needed.
    async fn forget(&self, request: RequestId) -> Result<(), AppError>;
}

/// Passes a request on to its controller.
#[async_trait]
pub trait RequestForwarder: Send + Sync + fmt::Debug {
    /// Delivers `item`; returns where it went (for the record).
    async fn deliver(&self, item: &OutboxItem) -> Result<String, AppError>;
}

/// Writes `bytes` to `dir/name` so that a reader never sees half a file:
/// a temporary name, synced, then renamed.
fn write_whole(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, AppError> {
    let failed =
        |what: &str, e: std::io::Error| AppError::internal(format!("outbox {what}: {}", e.kind()));
    std::fs::create_dir_all(dir).map_err(|e| failed("folder", e))?;
    let path = dir.join(name);
    let staging = dir.join(format!(".{name}.part"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&staging).map_err(|e| failed("create", e))?;
    file.write_all(bytes).map_err(|e| failed("write", e))?;
    file.sync_all().map_err(|e| failed("sync", e))?;
    std::fs::rename(&staging, &path).map_err(|e| failed("rename", e))?;
    Ok(path)
}

/// One-time codes as JSON files in a folder, one per message, for a mail
/// or SMS relay to send and delete. They hold the contact point and the
/// code, so the folder is readable by the service's user only.
#[derive(Debug, Clone)]
pub struct FileCodeOutbox {
    dir: PathBuf,
}

impl FileCodeOutbox {
    /// Messages go to `dir` (created when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl CodeSender for FileCodeOutbox {
    async fn send_code(
        &self,
        to: &ContactPoint,
        code: &str,
        language: Language,
        request: RequestId,
    ) -> Result<(), AppError> {
        let message = serde_json::json!({
            "channel": to.kind().as_str(),
            "to": to.value(),
            "language": language.as_str(),
            "request": request.to_string(),
            "code": code,
        });
        let name = format!("{request}-{}.json", uuid::Uuid::now_v7());
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            write_whole(&dir, &name, message.to_string().as_bytes())
        })
        .await
        .map_err(|e| AppError::internal(format!("outbox task: {e}")))??;
        Ok(())
    }
    async fn forget(&self, request: RequestId) -> Result<(), AppError> {
        let dir = self.dir.clone();
        let prefix = format!("{request}-");
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(AppError::internal(format!("outbox folder: {}", e.kind()))),
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    match std::fs::remove_file(entry.path()) {
                        // Sent and removed by the relay meanwhile.
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(AppError::internal(format!("outbox remove: {}", e.kind())));
                        }
                    }
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| AppError::internal(format!("outbox task: {e}")))?
    }
}

/// Requests passed on as JSON files, one folder per controller, for the
/// controller's integration to collect.
#[derive(Debug, Clone)]
pub struct FileForwarder {
    dir: PathBuf,
}

impl FileForwarder {
    /// Requests go to `dir/<controller>/` (created when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl RequestForwarder for FileForwarder {
    async fn deliver(&self, item: &OutboxItem) -> Result<String, AppError> {
        let dir = self.dir.join(item.controller.to_string());
        let name = format!("{}-{}.json", item.request, item.id);
        let payload = item.payload.clone();
        tokio::task::spawn_blocking(move || write_whole(&dir, &name, payload.as_bytes()))
            .await
            .map_err(|e| AppError::internal(format!("outbox task: {e}")))??;
        Ok("file".into())
    }
}

/// Where codes and forwarded requests go.
#[derive(Debug, Clone)]
pub struct RequestDelivery {
    /// Sends one-time codes.
    pub codes: std::sync::Arc<dyn CodeSender>,
    /// Passes requests on to controllers.
    pub forwarder: std::sync::Arc<dyn RequestForwarder>,
}

impl RequestDelivery {
    /// Both as files under `dir`: `dir/codes/` and `dir/controllers/`.
    pub fn files(dir: &std::path::Path) -> Self {
        Self {
            codes: std::sync::Arc::new(FileCodeOutbox::new(dir.join("codes"))),
            forwarder: std::sync::Arc::new(FileForwarder::new(dir.join("controllers"))),
        }
    }

    /// Files under `dir`, but e-mailed codes through the SMTP server at
    /// `url` as `from` (phone codes still in `dir/codes/`).
    pub fn smtp(dir: &std::path::Path, url: &str, from: &str) -> Result<Self, AppError> {
        let codes = super::SmtpCodeSender::new(url, from, FileCodeOutbox::new(dir.join("codes")))?;
        Ok(Self {
            codes: std::sync::Arc::new(codes),
            forwarder: std::sync::Arc::new(FileForwarder::new(dir.join("controllers"))),
        })
    }
}
