//! A streamed request part as a blocking reader: the import pipeline reads
//! files on a blocking thread, while the body arrives on the async side.

use std::io::{self, Read};

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::Field;
use tokio::sync::mpsc;

use crate::ApiError;

/// Largest `metadata` part of a streamed upload.
const METADATA_LIMIT: usize = 64 * 1024;

fn unreadable(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::invalid_field(
        "body",
        format!("is not readable multipart: {}", e.body_text()),
    )
}

/// Reads a streamed upload's leading `metadata` part (JSON, at most 64 KiB)
/// and returns it with the next part, which must be named `data_part`; the
/// caller streams that one. Errors name the `body` field and say what is
/// wrong with its parts.
pub(crate) async fn metadata_then<'a, T: serde::de::DeserializeOwned>(
    multipart: &'a mut Multipart,
    data_part: &str,
) -> Result<(T, Field<'a>), ApiError> {
    let bad = |reason: String| ApiError::invalid_field("body", reason);
    let mut metadata = multipart
        .next_field()
        .await
        .map_err(unreadable)?
        .ok_or_else(|| bad("has no `metadata` part".into()))?;
    if metadata.name() != Some("metadata") {
        return Err(bad("must start with the `metadata` part".into()));
    }
    let mut json = Vec::new();
    while let Some(chunk) = metadata.chunk().await.map_err(unreadable)? {
        if json.len() + chunk.len() > METADATA_LIMIT {
            return Err(bad("has a `metadata` part over 64 KiB".into()));
        }
        json.extend_from_slice(&chunk);
    }
    drop(metadata);
    let parsed: T = crate::json::parse(&json)?;
    let data = multipart
        .next_field()
        .await
        .map_err(unreadable)?
        .ok_or_else(|| bad(format!("has no `{data_part}` part after `metadata`")))?;
    if data.name() != Some(data_part) {
        return Err(bad(format!(
            "must have the `{data_part}` part after `metadata`"
        )));
    }
    Ok((parsed, data))
}

/// Chunks in flight between the request and the reader.
pub(crate) const CHUNKS_IN_FLIGHT: usize = 16;

/// Reads what the sender side pushes, in order; an error chunk ends the
/// read with that error, a closed channel is the end of the file.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    /// A reader over `rx`. Must be read on a blocking thread.
    pub(crate) fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Self {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf.get_mut(..n)
            .ok_or_else(|| io::Error::other("buffer shorter than its length"))?
            .copy_from_slice(&chunk);
        Ok(n)
    }
}
