//! What a lead-list row means: the column mapping an operator gives, and
//! the parsing of one row into attributes and contact points, with a reason
//! per bad cell. Pure: bytes, encodings and delimiters are the caller's.

use serde::{Deserialize, Serialize};

use crate::agreement::DataCategory;
use crate::contact::{ContactKind, ContactPoint};
use crate::error::InvalidValue;
use crate::subject::{Attribute, AttributeName, AttributeValue};
use crate::text::CountryCode;

/// What one column of a file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnTarget {
    /// A contact point: `phone` or `email`.
    Contact {
        /// Which kind.
        kind: ContactKind,
    },
    /// An attribute with its name and category.
    Attribute {
        /// The attribute's name.
        name: AttributeName,
        /// Its data category.
        category: DataCategory,
    },
}

/// One mapped column. (Unknown fields are refused by [`ColumnTarget`],
/// which receives every field but `column`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedColumn {
    /// The column's header, as written in the file (compared trimmed and
    /// case-insensitively).
    pub column: String,
    /// What it holds.
    #[serde(flatten)]
    pub target: ColumnTarget,
}

/// The mapping of a file's columns; columns not named are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ColumnMapping(Vec<MappedColumn>);

impl ColumnMapping {
    /// Accepts a mapping with at least one contact column, no column named
    /// twice and no attribute name used twice.
    pub fn new(columns: Vec<MappedColumn>) -> Result<Self, InvalidValue> {
        if !columns
            .iter()
            .any(|c| matches!(c.target, ColumnTarget::Contact { .. }))
        {
            return Err(InvalidValue::new(
                "must map at least one column to a phone number or e-mail address",
            ));
        }
        for (i, c) in columns.iter().enumerate() {
            let earlier = columns.iter().take(i);
            if earlier.clone().any(|d| same_header(&d.column, &c.column)) {
                return Err(InvalidValue::new("maps one column twice"));
            }
            if let ColumnTarget::Attribute { name, .. } = &c.target
                && earlier
                    .filter_map(|d| match &d.target {
                        ColumnTarget::Attribute { name, .. } => Some(name),
                        ColumnTarget::Contact { .. } => None,
                    })
                    .any(|n| n == name)
            {
                return Err(InvalidValue::new("maps two columns to one attribute"));
            }
        }
        Ok(Self(columns))
    }

    /// The mapped columns.
    pub fn columns(&self) -> &[MappedColumn] {
        &self.0
    }

    /// Resolves the mapping against a file's header: for each mapped column,
    /// its position. Errors name the first mapped column the header lacks.
    pub fn resolve<'a>(&'a self, header: &[&str]) -> Result<ResolvedMapping<'a>, &'a str> {
        let mut positions = Vec::with_capacity(self.0.len());
        for c in &self.0 {
            let position = header
                .iter()
                .position(|h| same_header(h, &c.column))
                .ok_or(c.column.as_str())?;
            positions.push((position, c));
        }
        Ok(ResolvedMapping { positions })
    }
}

impl<'de> Deserialize<'de> for ColumnMapping {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let columns = Vec::<MappedColumn>::deserialize(deserializer)?;
        Self::new(columns).map_err(serde::de::Error::custom)
    }
}

fn same_header(a: &str, b: &str) -> bool {
    a.trim()
        .trim_start_matches('\u{feff}')
        .eq_ignore_ascii_case(b.trim())
}

/// A mapping bound to one file's column positions.
#[derive(Debug, Clone)]
pub struct ResolvedMapping<'a> {
    positions: Vec<(usize, &'a MappedColumn)>,
}

/// A row that parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRow {
    /// Attributes from non-empty cells.
    pub attributes: Vec<Attribute>,
    /// Contact points, normalised, without repeats.
    pub contacts: Vec<ContactPoint>,
}

/// A bad cell: its column's header and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError<'a> {
    /// The column, as the mapping names it (or `row` for the whole row).
    pub column: &'a str,
    /// Why, without the value.
    pub reason: &'static str,
}

impl ResolvedMapping<'_> {
    /// Parses one row given its cells. Empty cells are skipped; a row
    /// without any contact point is refused. Every bad cell is reported.
    pub fn parse_row<'m>(
        &'m self,
        cells: &[&str],
        region: Option<CountryCode>,
    ) -> Result<ParsedRow, Vec<CellError<'m>>> {
        let mut row = ParsedRow::default();
        let mut errors = Vec::new();
        for (position, column) in &self.positions {
            let cell = cells.get(*position).map_or("", |c| c.trim());
            if cell.is_empty() {
                continue;
            }
            let name = column.column.as_str();
            match &column.target {
                ColumnTarget::Contact { kind } => match ContactPoint::parse(*kind, cell, region) {
                    Ok(point) if !row.contacts.contains(&point) => row.contacts.push(point),
                    Ok(_) => {}
                    Err(e) => errors.push(CellError {
                        column: name,
                        reason: e.reason,
                    }),
                },
                ColumnTarget::Attribute {
                    name: attr,
                    category,
                } => match AttributeValue::parse(cell) {
                    Ok(value) => row.attributes.push(Attribute {
                        name: attr.clone(),
                        category: *category,
                        value,
                    }),
                    Err(e) => errors.push(CellError {
                        column: name,
                        reason: e.reason,
                    }),
                },
            }
        }
        if errors.is_empty() && row.contacts.is_empty() {
            errors.push(CellError {
                column: "row",
                reason: "has no phone number or e-mail address",
            });
        }
        if errors.is_empty() {
            Ok(row)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> ColumnMapping {
        serde_json::from_str(
            r#"[{"column":"Nome","as":"attribute","name":"full_name","category":"identity"},
                {"column":"Telefono","as":"contact","kind":"phone"},
                {"column":"Cellulare","as":"contact","kind":"phone"},
                {"column":"E-mail","as":"contact","kind":"email"},
                {"column":"IBAN","as":"attribute","name":"iban","category":"payment"}]"#,
        )
        .unwrap()
    }

    #[test]
    fn rows_parse_against_the_header_case_insensitively() {
        let m = mapping();
        let resolved = m
            .resolve(&[
                "\u{feff}nome",
                "TELEFONO",
                "cellulare",
                "e-mail",
                "iban",
                "note",
            ])
            .unwrap();
        let row = resolved
            .parse_row(
                &[
                    "Mario Rossi",
                    "347 123 4567",
                    "+39 347 1234567",
                    "",
                    "IT60X0542811101000000123456",
                    "x",
                ],
                CountryCode::parse("IT").ok(),
            )
            .unwrap();
        assert_eq!(
            row.contacts.len(),
            1,
            "the same number twice is one contact"
        );
        assert_eq!(row.attributes.len(), 2);
    }

    #[test]
    fn every_bad_cell_is_reported_by_column() {
        let m = mapping();
        let resolved = m
            .resolve(&["Nome", "Telefono", "Cellulare", "E-mail", "IBAN"])
            .unwrap();
        let errors = resolved
            .parse_row(
                &["Mario", "12", "", "not-an-address", ""],
                CountryCode::parse("IT").ok(),
            )
            .unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column).collect();
        assert_eq!(columns, ["Telefono", "E-mail"]);
        let none = resolved
            .parse_row(&["Mario", "", "", "", ""], CountryCode::parse("IT").ok())
            .unwrap_err();
        assert_eq!(none[0].column, "row");
        // A short row is a row with empty cells.
        assert!(
            resolved
                .parse_row(&["Mario", "3471234567"], CountryCode::parse("IT").ok())
                .is_ok()
        );
    }

    #[test]
    fn mappings_are_checked() {
        assert_eq!(
            mapping().resolve(&["Nome", "Telefono"]).unwrap_err(),
            "Cellulare"
        );
        assert!(
            serde_json::from_str::<ColumnMapping>(
                r#"[{"column":"a","as":"attribute","name":"x","category":"identity"}]"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<ColumnMapping>(r#"[{"column":"a","as":"contact","kind":"phone"},{"column":"A","as":"contact","kind":"email"}]"#).is_err());
        assert!(
            serde_json::from_str::<ColumnMapping>(
                r#"[{"column":"a","as":"contact","kind":"fax"}]"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<ColumnMapping>(
                r#"[{"column":"a","as":"contact","kind":"phone","x":1}]"#
            )
            .is_err()
        );
    }
}
