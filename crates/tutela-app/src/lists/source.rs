//! Reading a lead-list file as users really deliver it: UTF-8 with or
//! without a byte-order mark, UTF-16 (marked, or recognised by its zero
//! bytes), or Windows-1252 when the bytes are not UTF-8; the delimiter
//! (`,` `;` or tab) found from the header line. The raw bytes are hashed on
//! the way in, which is what makes a repeated import recognisable.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use sha2::{Digest, Sha256};

/// How much of the file is looked at to choose the encoding.
const SNIFF_BYTES: usize = 64 * 1024;

/// Progress of a running import, readable from another task.
#[derive(Debug, Default)]
pub struct ImportProgress {
    /// Bytes of the file read so far.
    pub bytes: AtomicU64,
    /// Data rows read so far.
    pub rows: AtomicU64,
}

/// Hashes and counts the raw bytes as they pass, and hands the finished
/// hash over when the input ends.
struct Hashing<R> {
    inner: R,
    hash: Option<Sha256>,
    progress: Arc<ImportProgress>,
    done: Arc<std::sync::Mutex<Option<Sha256>>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hash) = self.hash.as_mut() else {
            return Ok(0);
        };
        let n = self.inner.read(buf)?;
        hash.update(buf.get(..n).unwrap_or_default());
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if n == 0
            && !buf.is_empty()
            && let Ok(mut slot) = self.done.lock()
        {
            *slot = self.hash.take();
        }
        Ok(n)
    }
}

/// The text of a file, decoded to UTF-8, with what was detected.
pub(crate) struct DecodedSource {
    reader: Box<dyn Read + Send>,
    /// The encoding found.
    pub encoding: &'static Encoding,
    /// The field delimiter found.
    pub delimiter: u8,
    digest: Arc<std::sync::Mutex<Option<Sha256>>>,
}

impl DecodedSource {
    /// Opens `raw`: sniffs the encoding from the first bytes and the
    /// delimiter from the header line.
    pub fn open(raw: Box<dyn Read + Send>, progress: Arc<ImportProgress>) -> io::Result<Self> {
        let done = Arc::new(std::sync::Mutex::new(None));
        let mut buffered = BufReader::with_capacity(
            SNIFF_BYTES,
            Hashing {
                inner: raw,
                hash: Some(Sha256::new()),
                progress,
                done: done.clone(),
            },
        );
        let head = buffered.fill_buf()?.to_vec();
        let encoding = sniff_encoding(&head);
        let decoder = DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .strip_bom(true)
            // Already UTF-8: no copy through a decoder; the CSV reader
            // checks each row's text and invalid rows are rejected.
            .utf8_passthru(true)
            .build(buffered);
        // The decoder may hand out text in small pieces: gather the header
        // line (or the sniff window) before choosing the delimiter.
        let mut decoder = decoder;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut chunk = [0u8; 4096];
        while head.len() < SNIFF_BYTES && !head.contains(&b'\n') {
            let n = decoder.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        let delimiter = sniff_delimiter(&head);
        let text = BufReader::with_capacity(SNIFF_BYTES, io::Cursor::new(head).chain(decoder));
        Ok(Self {
            reader: Box::new(text),
            encoding,
            delimiter,
            digest: done,
        })
    }

    /// The SHA-256 of the raw bytes, once the input has been read to its end.
    pub fn digest(&self) -> Option<[u8; 32]> {
        let slot = self.digest.lock().ok()?;
        slot.clone().map(|h| h.finalize().into())
    }

    /// The decoded text.
    pub fn reader(&mut self) -> &mut (dyn Read + Send) {
        &mut *self.reader
    }
}

/// The encoding of a file from its first bytes: a byte-order mark decides;
/// without one, zero bytes at odd or even positions mean UTF-16; valid
/// UTF-8 (allowing a sequence cut at the end of the sample) means UTF-8;
/// anything else is read as Windows-1252, what spreadsheet programs in
/// Western Europe write.
pub fn sniff_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(head) {
        return encoding;
    }
    let pairs = head.len() / 2;
    if pairs >= 2 {
        let zero_at = |parity: usize| {
            head.iter()
                .skip(parity)
                .step_by(2)
                .filter(|b| **b == 0)
                .count()
        };
        let (even, odd) = (zero_at(0), zero_at(1));
        if odd * 10 >= pairs * 3 && even * 10 < pairs {
            return UTF_16LE;
        }
        if even * 10 >= pairs * 3 && odd * 10 < pairs {
            return UTF_16BE;
        }
    }
    match std::str::from_utf8(head) {
        Ok(_) => UTF_8,
        // A multi-byte sequence cut by the end of the sample is fine.
        Err(e) if e.error_len().is_none() && head.len() >= SNIFF_BYTES => UTF_8,
        Err(_) => WINDOWS_1252,
    }
}

/// The delimiter of the header line: whichever of `,` `;` and tab occurs
/// most outside quotes; `,` on a tie or when none does.
pub fn sniff_delimiter(text: &[u8]) -> u8 {
    let line_end = text.iter().position(|b| *b == b'\n').unwrap_or(text.len());
    let line = text.get(..line_end).unwrap_or(text);
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let [comma, semicolon, tab] = counts;
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xff, 0xfe] } else { vec![] };
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    }

    #[test]
    fn encodings_are_recognised() {
        assert_eq!(sniff_encoding("nome;telefono\nMario;3".as_bytes()), UTF_8);
        assert_eq!(sniff_encoding(b"\xef\xbb\xbfnome"), UTF_8);
        assert_eq!(sniff_encoding(&utf16le("nome;telefono\n", true)), UTF_16LE);
        assert_eq!(sniff_encoding(&utf16le("nome;telefono\n", false)), UTF_16LE);
        assert_eq!(sniff_encoding(b"\xfe\xff\x00n\x00o"), UTF_16BE);
        assert_eq!(sniff_encoding(b"Nicol\xf2;Citt\xe0\n"), WINDOWS_1252);
    }

    #[test]
    fn delimiters_are_recognised() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1;2;3"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;x\",b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"single"), b',');
    }

    #[test]
    fn sources_decode_to_utf8_and_hash_the_raw_bytes() {
        let cp1252 = b"nome;citt\xe0\nNicol\xf2;Forl\xec\n".to_vec();
        let expected: [u8; 32] = Sha256::digest(&cp1252).into();
        let mut source =
            DecodedSource::open(Box::new(io::Cursor::new(cp1252)), Arc::default()).unwrap();
        assert_eq!((source.encoding, source.delimiter), (WINDOWS_1252, b';'));
        let mut text = String::new();
        source.reader().read_to_string(&mut text).unwrap();
        assert_eq!(text, "nome;città\nNicolò;Forlì\n");
        assert_eq!(source.digest(), Some(expected));

        let mut source = DecodedSource::open(
            Box::new(io::Cursor::new(utf16le("a\tb\nè\t2\n", true))),
            Arc::default(),
        )
        .unwrap();
        let mut text = String::new();
        source.reader().read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), source.delimiter), ("a\tb\nè\t2\n", b'\t'));
    }
}
