//! Data subjects: the people whose data a controller entrusted to the
//! contact centre, with attributes tagged by data category.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::DataCategory;
use crate::contact::ContactPoint;
use crate::error::InvalidValue;
use crate::ids::{ControllerId, SubjectId};
use crate::text::check_slug;

/// The name of an attribute (`full_name`, `phone`, `customer_number`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttributeName(String);

impl AttributeName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AttributeName {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        check_slug(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<String> for AttributeName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<AttributeName> for String {
    fn from(name: AttributeName) -> Self {
        name.0
    }
}

/// An attribute's value: personal data, so it never appears in debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct AttributeValue(String);

impl AttributeValue {
    /// Longest accepted value, in bytes.
    pub const MAX_BYTES: usize = 4096;

    /// Accepts a non-empty value of at most [`Self::MAX_BYTES`] bytes.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if value.len() > Self::MAX_BYTES {
            return Err(InvalidValue::new("must be at most 4096 bytes long"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The value, for storage and for viewers allowed to see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One attribute of a subject as given, in clear (input to storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name, unique per subject.
    pub name: AttributeName,
    /// Its data category.
    pub category: DataCategory,
    /// Its value.
    pub value: AttributeValue,
}

impl DataCategory {
    /// True for the categories stored only encrypted at field level
    /// (payment and special-category data).
    pub fn is_sealed(self) -> bool {
        matches!(self, DataCategory::Payment | DataCategory::Special)
    }
}

/// Attribute names whose values can be searched by blind index, besides
/// phone numbers and e-mail addresses.
pub const BLIND_INDEXED_ATTRIBUTES: &[&str] = &["national_id", "customer_number"];

/// A keyed hash (HMAC-SHA256 under the controller's blind-index key,
/// truncated to 128 bits) of a normalised identifier: it finds a subject by
/// phone, e-mail or national identifier without a plaintext index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindIndex(pub [u8; 16]);

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(..)")
    }
}

/// What a blind index is computed over: a tag naming the kind of
/// identifier, so a number and an identifier with the same text differ.
#[derive(Debug, Clone, Copy)]
pub enum LookupKey<'a> {
    /// A contact point.
    Contact(&'a ContactPoint),
    /// A value of a blind-indexed attribute, normalised by
    /// [`normalise_identifier`].
    Identifier(&'a str, &'a str),
}

impl LookupKey<'_> {
    /// The bytes to hash: tag, a zero byte, then the normalised value.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let (tag, value) = match self {
            LookupKey::Contact(point) => (point.kind().as_str(), point.value()),
            LookupKey::Identifier(name, value) => (*name, *value),
        };
        out.extend_from_slice(tag.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
    }
}

/// An identifier as compared: upper case, without spaces, dots or dashes
/// (`rss mra 80a01 h501u` and `RSSMRA80A01H501U` are one codice fiscale).
pub fn normalise_identifier(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// An attribute's value as stored: in clear, or sealed (AES-256-GCM under
/// the controller's field key; opaque here).
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// In clear.
    Clear(AttributeValue),
    /// Nonce, ciphertext and tag.
    Sealed(Vec<u8>),
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredValue::Clear(_) => f.write_str("Clear([redacted])"),
            StoredValue::Sealed(_) => f.write_str("Sealed(..)"),
        }
    }
}

/// An attribute as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttribute {
    /// Its name.
    pub name: AttributeName,
    /// Its category.
    pub category: DataCategory,
    /// Its value: sealed exactly when the category is.
    pub value: StoredValue,
    /// Its blind index, for [`BLIND_INDEXED_ATTRIBUTES`].
    pub blind: Option<BlindIndex>,
}

/// A contact point as stored, with its blind index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContact {
    /// The normalised contact point.
    pub point: ContactPoint,
    /// Its blind index.
    pub blind: BlindIndex,
}

/// A data subject as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Identifier, which logs may carry.
    pub id: SubjectId,
    /// The controller the data belongs to.
    pub controller_id: ControllerId,
    /// Attributes, sorted by name.
    pub attributes: Vec<StoredAttribute>,
    /// Contact points, in the order they were added.
    pub contacts: Vec<StoredContact>,
    /// When the subject was first recorded.
    pub created_at: Timestamp,
    /// When the subject last changed.
    pub updated_at: Timestamp,
}

impl Subject {
    /// Every blind index of the subject: contact points, then attributes.
    pub fn blinds(&self) -> impl Iterator<Item = BlindIndex> + '_ {
        self.contacts
            .iter()
            .map(|c| c.blind)
            .chain(self.attributes.iter().filter_map(|a| a.blind))
    }

    /// Checks what storage relies on: attribute names unique and sorted,
    /// values sealed exactly for sealed categories, contact points unique.
    pub fn check(&self) -> Result<(), InvalidValue> {
        if self
            .attributes
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.name >= b.name))
        {
            return Err(InvalidValue::new(
                "attribute names must be unique and sorted",
            ));
        }
        for a in &self.attributes {
            if a.category.is_sealed() != matches!(a.value, StoredValue::Sealed(_)) {
                return Err(InvalidValue::new(
                    "payment and special-category values must be sealed, and only they",
                ));
            }
        }
        for (i, c) in self.contacts.iter().enumerate() {
            if self.contacts.iter().take(i).any(|d| d.point == c.point) {
                return Err(InvalidValue::new("contact points must be unique"));
            }
        }
        Ok(())
    }
}
