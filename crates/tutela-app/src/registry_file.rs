//! Reading registry files as the registries deliver them (one number per
//! line; CSV with a number column; the FTC's area-code files) or as Tutela
//! keeps them (compact snapshots). A malformed file is refused whole, with
//! the line and the reason, so the snapshot in use stays in use.

use std::thread;

use tutela_domain::{
    CountryCode, NumberSet, NumberingPlan, RegistryRef, Snapshot, Timestamp, is_snapshot,
};

/// Why a registry file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryFileError {
    /// A line is not a number. Line numbers count from 1, header included.
    #[error("line {line}: {reason}")]
    BadLine {
        /// The line.
        line: u64,
        /// Why (never the line's content).
        reason: String,
    },
    /// The CSV header has no column of that name.
    #[error("the header has no column {0:?}")]
    NoSuchColumn(String),
    /// The snapshot is unreadable.
    #[error("{0}")]
    Snapshot(String),
    /// A snapshot for another registry or country was given.
    #[error("the snapshot is for {found}, not {expected}")]
    WrongSnapshot {
        /// What the caller expected.
        expected: String,
        /// What the file holds.
        found: String,
    },
}

/// Where the numbers are in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One number per line, every line.
    Lines,
    /// A header line, then rows of fields split by `delimiter`; the number
    /// is field `column`.
    Csv { delimiter: u8, column: usize },
}

/// Header names taken as "the number column" when none is named.
const NUMBER_HEADERS: [&str; 8] = [
    "number",
    "phone",
    "numero",
    "telefono",
    "numéro",
    "téléphone",
    "phone_number",
    "msisdn",
];

fn layout(
    first_line: &[u8],
    plan: &NumberingPlan,
    column: Option<&str>,
) -> Result<Layout, RegistryFileError> {
    let text = String::from_utf8_lossy(first_line);
    let text = text.trim_start_matches('\u{feff}').trim();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .find(|d| text.as_bytes().contains(d));
    let header_like = plan.registry_number(text).is_err();
    match (column, header_like) {
        (None, false) => Ok(Layout::Lines),
        (None, true) | (Some(_), _) => {
            let delimiter = delimiter.unwrap_or(b',');
            let names: Vec<String> = text
                .split(char::from(delimiter))
                .map(|n| n.trim().trim_matches('"').to_lowercase())
                .collect();
            let found = match column {
                Some(wanted) => names.iter().position(|n| *n == wanted.to_lowercase()),
                None => names
                    .iter()
                    .position(|n| NUMBER_HEADERS.contains(&n.as_str())),
            };
            match (found, column) {
                (Some(column), _) => Ok(Layout::Csv { delimiter, column }),
                (None, Some(wanted)) => Err(RegistryFileError::NoSuchColumn(wanted.to_owned())),
                (None, None) => Err(RegistryFileError::BadLine {
                    line: 1,
                    reason:
                        "is neither a number nor a header naming a number column (number, phone, …)"
                            .to_owned(),
                }),
            }
        }
    }
}

/// Reads the numbers of a text registry file. Blank lines are skipped; any
/// other line that is not a number refuses the file. Parses on two threads.
pub fn parse_registry_text(
    bytes: &[u8],
    plan: &NumberingPlan,
    column: Option<&str>,
) -> Result<Vec<u64>, RegistryFileError> {
    let first_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let layout = layout(bytes.get(..first_end).unwrap_or_default(), plan, column)?;
    let (body, first_line) = match layout {
        Layout::Lines => (bytes, 1),
        Layout::Csv { .. } => (bytes.get(first_end + 1..).unwrap_or_default(), 2),
    };
    // Split at a line boundary near the middle; the second half's line
    // numbers start after the first half's.
    let middle = body.len() / 2;
    let cut = body
        .get(middle..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(body.len(), |at| middle + at + 1);
    let (left, right) = body.split_at(cut.min(body.len()));
    let left_lines = bytecount_lines(left);
    let (a, b) = thread::scope(|scope| {
        let a = scope.spawn(|| parse_lines(left, first_line, layout, plan));
        let b = parse_lines(right, first_line + left_lines, layout, plan);
        (a.join(), b)
    });
    let mut numbers = a.map_err(|_| RegistryFileError::BadLine {
        line: 0,
        reason: "the parsing thread failed".to_owned(),
    })??;
    numbers.extend(b?);
    Ok(numbers)
}

fn bytecount_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn parse_lines(
    bytes: &[u8],
    first_line: u64,
    layout: Layout,
    plan: &NumberingPlan,
) -> Result<Vec<u64>, RegistryFileError> {
    let mut numbers = Vec::with_capacity(bytes.len() / 11);
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let field = match layout {
            Layout::Lines => line,
            Layout::Csv { delimiter, column } => {
                if line.is_empty() {
                    line
                } else {
                    line.split(|&b| b == delimiter)
                        .nth(column)
                        .unwrap_or_default()
                }
            }
        };
        let field = trim_quotes(field);
        if field.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = std::str::from_utf8(field)
            .map_err(|_| "is not text")
            .and_then(|text| plan.registry_number(text).map_err(|e| e.reason))
            .map_err(|reason| RegistryFileError::BadLine {
                line: first_line + index as u64,
                reason: reason.to_owned(),
            })?;
        numbers.push(number);
    }
    Ok(numbers)
}

fn trim_quotes(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    field
        .strip_prefix(b"\"")
        .and_then(|f| f.strip_suffix(b"\""))
        .unwrap_or(field)
}

/// A Tutela snapshot, checked to be for `registry` and `country`.
fn checked_snapshot(
    bytes: &[u8],
    registry: RegistryRef,
    country: CountryCode,
) -> Result<Snapshot, RegistryFileError> {
    let snapshot =
        Snapshot::parse(bytes).map_err(|e| RegistryFileError::Snapshot(e.to_string()))?;
    if snapshot.header.registry != registry || snapshot.header.country != country {
        return Err(RegistryFileError::WrongSnapshot {
            expected: format!("{registry} ({country})"),
            found: format!("{} ({})", snapshot.header.registry, snapshot.header.country),
        });
    }
    Ok(snapshot)
}

/// A registry file read into a snapshot: a Tutela snapshot as it is (after
/// checking it is for `registry` and `country`), a text file parsed with the
/// country's numbering plan and stamped `as_of`.
pub fn read_registry_file(
    bytes: &[u8],
    registry: RegistryRef,
    country: CountryCode,
    plan: &NumberingPlan,
    as_of: Timestamp,
    column: Option<&str>,
) -> Result<Snapshot, RegistryFileError> {
    if is_snapshot(bytes) {
        return checked_snapshot(bytes, registry, country);
    }
    let numbers = parse_registry_text(bytes, plan, column)?;
    let set =
        NumberSet::from_numbers(numbers).map_err(|e| RegistryFileError::Snapshot(e.to_string()))?;
    Snapshot::new(registry, country, as_of, set)
        .map(|(snapshot, _)| snapshot)
        .map_err(|e| RegistryFileError::Snapshot(e.to_string()))
}

/// The numbers of a registry file, unsorted, without coding them: what
/// building a snapshot or applying a delta starts from.
pub fn read_registry_numbers(
    bytes: &[u8],
    registry: RegistryRef,
    country: CountryCode,
    plan: &NumberingPlan,
    column: Option<&str>,
) -> Result<Vec<u64>, RegistryFileError> {
    if is_snapshot(bytes) {
        return Ok(checked_snapshot(bytes, registry, country)?
            .numbers
            .iter()
            .collect());
    }
    parse_registry_text(bytes, plan, column)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn it() -> NumberingPlan {
        NumberingPlan {
            calling_code: 39,
            trunk_prefix: String::new(),
            min_digits: 6,
            max_digits: 11,
        }
    }

    #[test]
    fn reads_lines_csv_and_area_code_files() {
        let lines = parse_registry_text(b"3471234567\n\n0612345678\r\n", &it(), None).unwrap();
        assert_eq!(lines, [393_471_234_567, 390_612_345_678]);
        let csv = parse_registry_text(b"id;numero\n1;3471234567\n2;\"0612345678\"\n", &it(), None)
            .unwrap();
        assert_eq!(csv, [393_471_234_567, 390_612_345_678]);
        let us = NumberingPlan {
            calling_code: 1,
            trunk_prefix: "1".to_owned(),
            min_digits: 10,
            max_digits: 10,
        };
        let ftc = parse_registry_text(b"202,5550123\n212,5550199\n", &us, None).unwrap();
        assert_eq!(ftc, [12_025_550_123, 12_125_550_199]);
    }

    #[test]
    fn a_bad_line_is_named_by_number_in_either_half() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("34712{i:05}\n"));
        }
        text.push_str("34x\n");
        let error = parse_registry_text(text.as_bytes(), &it(), None).unwrap_err();
        assert_eq!(
            error,
            RegistryFileError::BadLine {
                line: 1001,
                reason: "is not a phone number: only digits, + and separators are allowed"
                    .to_owned()
            }
        );
        let error = parse_registry_text(b"3471234567\n12\n3471234568\n", &it(), None).unwrap_err();
        assert!(
            matches!(error, RegistryFileError::BadLine { line: 2, .. }),
            "{error}"
        );
        let error = parse_registry_text(b"id;nome\n1;x\n", &it(), None).unwrap_err();
        assert!(
            matches!(error, RegistryFileError::BadLine { line: 1, .. }),
            "{error}"
        );
        let error = parse_registry_text(b"id;nome\n1;x\n", &it(), Some("tel")).unwrap_err();
        assert_eq!(error, RegistryFileError::NoSuchColumn("tel".to_owned()));
    }
}
