//! Data subjects: the people whose data a controller entrusted to the
//! contact centre, with attributes tagged by data category.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::DataCategory;
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

/// One attribute of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name, unique per subject.
    pub name: AttributeName,
    /// Its data category.
    pub category: DataCategory,
    /// Its value.
    pub value: AttributeValue,
}

/// A data subject as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Identifier, which logs may carry.
    pub id: SubjectId,
    /// The controller the data belongs to.
    pub controller_id: ControllerId,
    /// Attributes, sorted by name.
    pub attributes: Vec<Attribute>,
    /// When the subject was first recorded.
    pub created_at: Timestamp,
}
