//! The on-disk form of a registry snapshot: a header line naming what it is,
//! then the Elias-Fano coded numbers. Written once, never changed: a delta
//! makes a new snapshot.
//!
//! Layout: the magic line `TUTELA-DNC 1\n`, one JSON line with the
//! [`SnapshotHeader`] (including the SHA-256 of the payload), then the payload
//! ([`NumberSet::write_to`]). The digest is checked before the payload is
//! decoded, so a truncated or altered file is refused instead of misread.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::error::InvalidValue;
use crate::ids::ControllerId;
use crate::number_set::{NumberSet, NumberSetError};
use crate::registry::Registry;
use crate::text::CountryCode;

const MAGIC: &[u8] = b"TUTELA-DNC 1\n";

/// Which list of numbers not to call a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistryRef {
    /// A national registry (`it_rpo`, `us_dnc`…).
    National(Registry),
    /// A controller's internal suppression list (`internal:<controller id>`).
    Controller(ControllerId),
    /// The processor's suppression list, for every controller (`internal:global`).
    Global,
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::National(registry) => registry.fmt(f),
            Self::Controller(id) => write!(f, "internal:{id}"),
            Self::Global => f.write_str("internal:global"),
        }
    }
}

impl FromStr for RegistryRef {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.strip_prefix("internal:") {
            Some("global") => Ok(Self::Global),
            Some(id) => id.parse().map(Self::Controller).map_err(|_| {
                InvalidValue::new(
                    "must be a registry slug, internal:global or internal:<controller id>",
                )
            }),
            None => value.parse().map(Self::National),
        }
    }
}

impl Serialize for RegistryRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegistryRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a snapshot is: which registry, for which country, as of when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotHeader {
    /// The registry or suppression list.
    pub registry: RegistryRef,
    /// The country whose numbering plan read the source file.
    pub country: CountryCode,
    /// The instant the registry's content was current (the download date).
    pub as_of: Timestamp,
    /// How many distinct numbers it holds.
    pub count: u64,
    /// SHA-256 of the payload, hex: identifies the snapshot's content.
    pub sha256: String,
}

/// Why a snapshot file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file does not start like a snapshot.
    #[error("not a registry snapshot (wrong magic line)")]
    NotASnapshot,
    /// The header line is missing or unreadable.
    #[error("the snapshot header is unreadable: {0}")]
    Header(String),
    /// The payload does not match the header's digest or count.
    #[error("the snapshot is damaged: {0}")]
    Damaged(&'static str),
    /// The coded set is unreadable.
    #[error(transparent)]
    Set(#[from] NumberSetError),
}

/// A loaded snapshot: its header and its numbers.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What it is.
    pub header: SnapshotHeader,
    /// The numbers.
    pub numbers: NumberSet,
}

/// Whether `bytes` start like a snapshot (as opposed to a text registry file).
pub fn is_snapshot(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

impl Snapshot {
    /// A snapshot of `numbers`, with the header filled in from them.
    pub fn new(
        registry: RegistryRef,
        country: CountryCode,
        as_of: Timestamp,
        numbers: NumberSet,
    ) -> Result<(Self, Vec<u8>), SnapshotError> {
        let mut payload = Vec::with_capacity(numbers.size_in_bytes() + 64);
        numbers.write_to(&mut payload)?;
        let header = SnapshotHeader {
            registry,
            country,
            as_of,
            count: numbers.len() as u64,
            sha256: hex::encode(Sha256::digest(&payload)),
        };
        Ok((Self { header, numbers }, payload))
    }

    /// The whole file: magic, header line and `payload` (from [`Snapshot::new`]).
    pub fn file_bytes(&self, payload: &[u8]) -> Result<Vec<u8>, SnapshotError> {
        let header =
            serde_json::to_vec(&self.header).map_err(|e| SnapshotError::Header(e.to_string()))?;
        let mut bytes = Vec::with_capacity(MAGIC.len() + header.len() + 1 + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&header);
        bytes.push(b'\n');
        bytes.extend_from_slice(payload);
        Ok(bytes)
    }

    /// Reads a whole snapshot file, checking its digest and count.
    pub fn parse(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or(SnapshotError::NotASnapshot)?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| SnapshotError::Header("no header line".to_owned()))?;
        let (line, payload) = rest.split_at(end);
        let payload = payload.get(1..).unwrap_or_default();
        let header: SnapshotHeader =
            serde_json::from_slice(line).map_err(|e| SnapshotError::Header(e.to_string()))?;
        if hex::encode(Sha256::digest(payload)) != header.sha256 {
            return Err(SnapshotError::Damaged(
                "its content does not match its digest",
            ));
        }
        let numbers = NumberSet::read_from(payload)?;
        if numbers.len() as u64 != header.count {
            return Err(SnapshotError::Damaged(
                "it holds another count of numbers than its header says",
            ));
        }
        Ok(Self { header, numbers })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let numbers = NumberSet::from_numbers(vec![393_471_234_567, 390_612_345_678]).unwrap();
        let (snapshot, payload) = Snapshot::new(
            RegistryRef::National(Registry::ItRpo),
            CountryCode::parse("IT").unwrap(),
            "2026-11-20T00:00:00Z".parse().unwrap(),
            numbers,
        )
        .unwrap();
        let bytes = snapshot.file_bytes(&payload).unwrap();
        assert!(is_snapshot(&bytes));
        let read = Snapshot::parse(&bytes).unwrap();
        assert_eq!(read.header, snapshot.header);
        assert!(read.numbers.contains(393_471_234_567));

        let mut flipped = bytes.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(
            Snapshot::parse(&flipped),
            Err(SnapshotError::Damaged(_))
        ));
        assert!(Snapshot::parse(&bytes[..bytes.len() - 3]).is_err());
        assert!(matches!(
            Snapshot::parse(b"3471234567\n"),
            Err(SnapshotError::NotASnapshot)
        ));
    }

    #[test]
    fn registry_refs_parse_and_print() {
        for text in [
            "it_rpo",
            "internal:global",
            "internal:0190a1b2-0000-7000-8000-000000000001",
        ] {
            assert_eq!(text.parse::<RegistryRef>().unwrap().to_string(), text);
        }
        assert!("internal:nobody".parse::<RegistryRef>().is_err());
        assert!("xx_dnc".parse::<RegistryRef>().is_err());
    }
}
