//! The stored form of a subject's attributes and contact points: one JSON
//! document per subject (`subject_records.record`). One row per subject
//! keeps an import of millions of rows to one insert per person; JSON keeps
//! the column readable by database tools and convertible in migrations.
//! Sealed values and blind indexes are hex; sealed values stay opaque.

use serde::{Deserialize, Serialize};

use crate::contact::{ContactKind, ContactPoint};
use crate::error::InvalidValue;
use crate::subject::{
    AttributeName, AttributeValue, BlindIndex, StoredAttribute, StoredContact, StoredValue,
};

/// Version of the document layout written now.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<'a> {
    #[serde(default = "one")]
    v: u32,
    #[serde(borrow)]
    attributes: Vec<AttributeDoc<'a>>,
    #[serde(borrow)]
    contacts: Vec<ContactDoc<'a>>,
}

fn one() -> u32 {
    1
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeDoc<'a> {
    name: &'a str,
    category: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blind: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactDoc<'a> {
    kind: &'a str,
    value: &'a str,
    blind: String,
}

/// Writes the record document of `attributes` and `contacts`.
pub fn encode_record(attributes: &[StoredAttribute], contacts: &[StoredContact]) -> String {
    let doc = Document {
        v: VERSION,
        attributes: attributes
            .iter()
            .map(|a| {
                let (value, sealed) = match &a.value {
                    StoredValue::Clear(v) => (Some(v.expose().into()), None),
                    StoredValue::Sealed(bytes) => (None, Some(hex::encode(bytes))),
                };
                AttributeDoc {
                    name: a.name.as_str(),
                    category: a.category.as_str(),
                    value,
                    sealed,
                    blind: a.blind.map(|b| hex::encode(b.0)),
                }
            })
            .collect(),
        contacts: contacts
            .iter()
            .map(|c| ContactDoc {
                kind: c.point.kind().as_str(),
                value: c.point.value(),
                blind: hex::encode(c.blind.0),
            })
            .collect(),
    };
    // Serialising these types cannot fail: strings and vectors only.
    serde_json::to_string(&doc).unwrap_or_default()
}

/// Reads a record document. Errors name what is wrong, never a value.
pub fn decode_record(
    text: &str,
) -> Result<(Vec<StoredAttribute>, Vec<StoredContact>), InvalidValue> {
    let doc: Document<'_> = serde_json::from_str(text)
        .map_err(|_| InvalidValue::new("is not a subject record document"))?;
    if doc.v != VERSION {
        return Err(InvalidValue::new("has an unknown record version"));
    }
    let attributes = doc
        .attributes
        .into_iter()
        .map(|a| {
            let value = match (a.value, a.sealed) {
                (Some(v), None) => StoredValue::Clear(AttributeValue::parse(&v)?),
                (None, Some(hex)) => StoredValue::Sealed(
                    hex::decode(hex)
                        .map_err(|_| InvalidValue::new("has a sealed value that is not hex"))?,
                ),
                _ => return Err(InvalidValue::new("needs exactly one of value and sealed")),
            };
            Ok(StoredAttribute {
                name: a.name.parse::<AttributeName>()?,
                category: a.category.parse()?,
                value,
                blind: a.blind.map(|b| blind(&b)).transpose()?,
            })
        })
        .collect::<Result<Vec<_>, InvalidValue>>()?;
    let contacts = doc
        .contacts
        .into_iter()
        .map(|c| {
            Ok(StoredContact {
                point: ContactPoint::from_stored(c.kind.parse::<ContactKind>()?, c.value)?,
                blind: blind(&c.blind)?,
            })
        })
        .collect::<Result<Vec<_>, InvalidValue>>()?;
    Ok((attributes, contacts))
}

fn blind(hex: &str) -> Result<BlindIndex, InvalidValue> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(hex, &mut out)
        .map_err(|_| InvalidValue::new("has a blind index that is not 32 hex digits"))?;
    Ok(BlindIndex(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::DataCategory;

    #[test]
    fn records_round_trip() {
        let attributes = vec![
            StoredAttribute {
                name: "full_name".parse().unwrap(),
                category: DataCategory::Identity,
                value: StoredValue::Clear(AttributeValue::parse("Mario \"Rossi\"").unwrap()),
                blind: None,
            },
            StoredAttribute {
                name: "iban".parse().unwrap(),
                category: DataCategory::Payment,
                value: StoredValue::Sealed(vec![1, 2, 3]),
                blind: None,
            },
            StoredAttribute {
                name: "national_id".parse().unwrap(),
                category: DataCategory::Identity,
                value: StoredValue::Clear(AttributeValue::parse("RSSMRA80A01H501U").unwrap()),
                blind: Some(BlindIndex([9; 16])),
            },
        ];
        let contacts = vec![StoredContact {
            point: ContactPoint::from_stored(ContactKind::Phone, "+393471234567").unwrap(),
            blind: BlindIndex([7; 16]),
        }];
        let text = encode_record(&attributes, &contacts);
        let (a, c) = decode_record(&text).unwrap();
        assert_eq!(a, attributes);
        assert_eq!(c, contacts);
    }

    #[test]
    fn what_migrations_write_is_read() {
        // The shape migration 0004 builds from older attribute rows.
        let (a, c) = decode_record(
            r#"{"attributes":[{"name":"full_name","category":"identity","value":"Anna"}],"contacts":[]}"#,
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        assert!(c.is_empty());
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in [
            "",
            "{}",
            r#"{"v":2,"attributes":[],"contacts":[]}"#,
            r#"{"attributes":[{"name":"x","category":"identity"}],"contacts":[]}"#,
            r#"{"attributes":[{"name":"x","category":"identity","value":"a","sealed":"00"}],"contacts":[]}"#,
            r#"{"attributes":[],"contacts":[{"kind":"phone","value":"3471234567","blind":"00000000000000000000000000000000"}]}"#,
            r#"{"attributes":[],"contacts":[{"kind":"phone","value":"+393471234567","blind":"00"}]}"#,
        ] {
            assert!(decode_record(bad).is_err(), "{bad}");
        }
    }
}
