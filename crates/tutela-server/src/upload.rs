//! A streamed request part as a blocking reader: the import pipeline reads
//! files on a blocking thread, while the body arrives on the async side.

use std::io::{self, Read};

use axum::body::Bytes;
use tokio::sync::mpsc;

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
