//! `tutela lists`: import a lead list into a running server, streaming the
//! file with a progress bar and printing a summary (and, on request, the
//! rejection report); purge expired lists on the data directory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio_util::io::ReaderStream;
use tutela_domain::Clock;

use crate::audit_cmd::operator_app;
use crate::config::Settings;

/// Where and as whom to import.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    /// The server's base URL, for example `https://tutela.example:8443`.
    pub server: String,
    /// A bearer token: a session of a user, or a machine client's `tmc_` token.
    pub token: String,
    /// The controller whose list it is.
    pub controller: uuid::Uuid,
    /// The declared purpose of the import.
    pub purpose: String,
}

/// Uploads `file` with the import `metadata` (JSON file) and returns the
/// summary to print. With `rejects`, also writes the rejection report there
/// as CSV (row, column, reason).
pub async fn import(
    target: &ImportTarget,
    metadata: &Path,
    file: &Path,
    rejects: Option<&Path>,
) -> Result<String, String> {
    // One crypto provider for TLS, chosen explicitly (rustls refuses to pick).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let metadata_json = std::fs::read(metadata)
        .map_err(|e| format!("--metadata {}: {}", metadata.display(), e.kind()))?;
    serde_json::from_slice::<Value>(&metadata_json).map_err(|e| {
        format!(
            "--metadata is not JSON: line {} column {}",
            e.line(),
            e.column()
        )
    })?;
    let opened = tokio::fs::File::open(file)
        .await
        .map_err(|e| format!("{}: {}", file.display(), e.kind()))?;
    let length = opened
        .metadata()
        .await
        .map_err(|e| format!("{}: {}", file.display(), e.kind()))?
        .len();
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let counter = bar.clone();
    let stream = ReaderStream::with_capacity(opened, 256 * 1024).inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counter.inc(chunk.len() as u64);
        }
    });
    let form = Form::new()
        .part(
            "metadata",
            Part::bytes(metadata_json)
                .mime_str("application/json")
                .map_err(|e| e.to_string())?,
        )
        .part(
            "file",
            Part::stream_with_length(reqwest::Body::wrap_stream(stream), length)
                .file_name("list.csv")
                .mime_str("text/csv")
                .map_err(|e| e.to_string())?,
        );
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let base = target.server.trim_end_matches('/');
    let url = format!(
        "{base}/v1/controllers/{}/lists?purpose={}",
        target.controller, target.purpose
    );
    let response = client
        .post(&url)
        .bearer_auth(&target.token)
        .multipart(form)
        .send()
        .await
        .map_err(|e| format!("upload failed: {e}"))?;
    bar.finish_and_clear();
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("the server's answer is not JSON ({status}): {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "the server refused the import ({status}): {} {}{}",
            at(&body, "code").as_str().unwrap_or(""),
            at(&body, "message").as_str().unwrap_or(""),
            at(&body, "field")
                .as_str()
                .map(|f| format!(" (field `{f}`)"))
                .unwrap_or_default()
        ));
    }
    let list = at(&body, "list");
    if let Some(path) = rejects {
        let id = at(list, "id").as_str().unwrap_or_default();
        write_rejects(&client, target, base, id, path).await?;
    }
    Ok(summary(&body))
}

fn summary(body: &Value) -> String {
    let list = at(body, "list");
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = String::new();
    if at(body, "already_imported").as_bool() == Some(true) {
        out.push_str("already imported: this file with this metadata is list ");
        out.push_str(at(list, "id").as_str().unwrap_or("?"));
        out.push_str("; nothing was written\n");
    }
    out.push_str(&format!(
        "list {} \"{}\"\n  rows {}: accepted {} (new people {}, merged into known people {}), rejected {}\n  read as {} with delimiter {:?}\n  expires {}",
        at(list, "id").as_str().unwrap_or("?"),
        at(list, "name").as_str().unwrap_or(""),
        n(at(body, "rows")),
        n(at(body, "accepted_rows")),
        n(at(body, "new_subjects")),
        n(at(body, "merged_rows")),
        n(at(body, "rejected_rows")),
        at(body, "encoding").as_str().unwrap_or("?"),
        at(body, "delimiter").as_str().unwrap_or("?"),
        at(list, "expires_at").as_str().unwrap_or("never"),
    ));
    out
}

async fn write_rejects(
    client: &reqwest::Client,
    target: &ImportTarget,
    base: &str,
    list: &str,
    path: &Path,
) -> Result<(), String> {
    let mut out = String::from("row,column,reason\n");
    let mut after = 0u64;
    loop {
        let url = format!(
            "{base}/v1/controllers/{}/lists/{list}?purpose={}&after={after}&limit=10000",
            target.controller, target.purpose
        );
        let page: Value = client
            .get(&url)
            .bearer_auth(&target.token)
            .send()
            .await
            .map_err(|e| format!("reading the rejection report failed: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the rejection report is not JSON: {e}"))?;
        let rows = at(&page, "rejections")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let row = at(r, "row").as_u64().unwrap_or(0);
            after = after.max(row);
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            out.push_str(&format!(
                "{row},{},{}\n",
                quote(at(r, "column").as_str().unwrap_or("")),
                quote(at(r, "reason").as_str().unwrap_or(""))
            ));
        }
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {}", path.display(), e.kind()))
}

/// `tutela lists purge`: the retention job for lists, on the data directory.
pub async fn purge(settings: &Settings, clock: Arc<dyn Clock>) -> Result<String, String> {
    let app = operator_app(settings, clock)
        .await
        .map_err(|e| e.to_string())?;
    let purge = app.purge_expired_lists().await.map_err(|e| e.message())?;
    app.store().close().await;
    Ok(format!(
        "purged {} expired lists: {} memberships, {} people no longer held",
        purge.lists, purge.members, purge.subjects
    ))
}

/// A field of a JSON answer, `null` when absent (never a panic).
fn at<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}
