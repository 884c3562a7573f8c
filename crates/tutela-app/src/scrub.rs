//! Scrubbing a list file against registries, without a server: every row
//! whose number is on a registry, or is not a valid number, goes to the
//! rejects with the reason; every other row goes to the clean output
//! byte for byte as it was. Clean rows plus rejected rows are the input.
//!
//! How it is fast: the file is read once into memory and rows are copied
//! out as slices (no re-quoting); numbers are parsed with libphonenumber on
//! two threads (the costly part); membership is decided by sorting the
//! numbers and walking each registry once ([`NumberSet::hits_in_sorted`]),
//! which beats a lookup per row by an order of magnitude.

use std::io::Write;
use std::thread;

use tutela_domain::{CountryCode, NumberSet, PhoneNumber};

use crate::lists::sniff_delimiter;

/// Why a scrub failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// The input has no header or no column of that name.
    #[error("input: the header has no column {0:?}")]
    NoSuchColumn(String),
    /// The input is not CSV.
    #[error("input: line {line}: {reason}")]
    BadInput {
        /// The line.
        line: u64,
        /// Why.
        reason: String,
    },
    /// Writing failed.
    #[error("writing the output: {0}")]
    Write(#[from] std::io::Error),
}

/// A registry to scrub against: a name for the rejects, and its numbers.
#[derive(Debug, Clone, Copy)]
pub struct ScrubRegistry<'a> {
    /// What the rejects file says (`it_rpo`, a file name…).
    pub name: &'a str,
    /// The numbers.
    pub numbers: &'a NumberSet,
}

/// What a scrub did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubSummary {
    /// Data rows read.
    pub rows: u64,
    /// Rows written to the clean output.
    pub kept: u64,
    /// Rows dropped because a registry holds the number.
    pub on_registry: u64,
    /// Rows dropped because the number is missing or not valid.
    pub invalid: u64,
}

/// Every row's phone field, end to end in one buffer: one allocation for
/// the file instead of one per row.
struct Phones {
    bytes: Vec<u8>,
    /// Where each row's field ends in `bytes`.
    ends: Vec<usize>,
}

impl Phones {
    fn push(&mut self, field: &[u8]) {
        self.bytes.extend_from_slice(field);
        self.ends.push(self.bytes.len());
    }

    /// Row `index`'s field.
    fn get(&self, index: usize) -> &[u8] {
        let start = index
            .checked_sub(1)
            .and_then(|before| self.ends.get(before))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(index).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or_default()
    }
}

/// One data row: where it is in the input, and what its number is.
struct Row {
    start: usize,
    end: usize,
    /// E.164 as an integer; 0 when invalid.
    number: u64,
}

/// Scrubs `input` (a whole CSV file with a header; delimiter detected) on
/// the column named `column`, reading national numbers as numbers of
/// `region`. Writes the header and kept rows to `clean`, and the header plus
/// a `reason` column and the dropped rows to `rejects`.
pub fn scrub(
    input: &[u8],
    column: &str,
    region: CountryCode,
    registries: &[ScrubRegistry<'_>],
    clean: &mut dyn Write,
    rejects: &mut dyn Write,
) -> Result<ScrubSummary, ScrubError> {
    let delimiter = sniff_delimiter(input);
    let (header_end, column_index) = header(input, delimiter, column)?;
    let header_line = input.get(..header_end).unwrap_or_default();
    let (mut rows, phones) = split_rows(input, header_end, delimiter, column_index)?;
    parse_numbers(&mut rows, &phones, region);

    // Registry hits, by sorting the valid numbers once.
    let mut order: Vec<(u64, u32)> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.number != 0)
        .map(|(index, row)| (row.number, index as u32))
        .collect();
    order.sort_unstable();
    let sorted: Vec<u64> = order.iter().map(|(n, _)| *n).collect();
    let mut hit: Vec<Option<u16>> = vec![None; rows.len()];
    for (which, registry) in registries.iter().enumerate() {
        let flags = registry.numbers.hits_in_sorted(&sorted);
        for ((_, index), on) in order.iter().zip(flags) {
            if let Some(slot) = hit.get_mut(*index as usize)
                && on
                && slot.is_none()
            {
                *slot = u16::try_from(which).ok();
            }
        }
    }

    let header_text = strip_line_end(header_line);
    clean.write_all(header_line)?;
    if !header_line.ends_with(b"\n") {
        clean.write_all(b"\n")?;
    }
    rejects.write_all(header_text)?;
    rejects.write_all(&[delimiter])?;
    rejects.write_all(b"reason\n")?;
    let mut summary = ScrubSummary {
        rows: rows.len() as u64,
        ..ScrubSummary::default()
    };
    for (row, hit) in rows.iter().zip(&hit) {
        let line = input.get(row.start..row.end).unwrap_or_default();
        let reason = match hit {
            _ if row.number == 0 => {
                summary.invalid += 1;
                "invalid_number".to_owned()
            }
            Some(which) => {
                summary.on_registry += 1;
                let name = registries
                    .get(usize::from(*which))
                    .map_or("registry", |r| r.name);
                format!("on_registry:{name}")
            }
            None => {
                summary.kept += 1;
                clean.write_all(line)?;
                if !line.ends_with(b"\n") {
                    clean.write_all(b"\n")?;
                }
                continue;
            }
        };
        rejects.write_all(strip_line_end(line))?;
        rejects.write_all(&[delimiter])?;
        rejects.write_all(reason.as_bytes())?;
        rejects.write_all(b"\n")?;
    }
    clean.flush()?;
    rejects.flush()?;
    Ok(summary)
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The header's end offset (after its line end) and the phone column.
fn header(input: &[u8], delimiter: u8, column: &str) -> Result<(usize, usize), ScrubError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let found = reader
        .read_byte_record(&mut record)
        .map_err(|e| ScrubError::BadInput {
            line: 1,
            reason: e.to_string(),
        })?;
    if !found {
        return Err(ScrubError::NoSuchColumn(column.to_owned()));
    }
    let wanted = column.to_lowercase();
    let index = record
        .iter()
        .position(|name| {
            let name = String::from_utf8_lossy(name);
            name.trim().trim_start_matches('\u{feff}').to_lowercase() == wanted
        })
        .ok_or_else(|| ScrubError::NoSuchColumn(column.to_owned()))?;
    let end = usize::try_from(reader.position().byte()).unwrap_or(input.len());
    Ok((end, index))
}

/// Splits the data rows and gathers each row's phone field into one buffer.
fn split_rows(
    input: &[u8],
    header_end: usize,
    delimiter: u8,
    column: usize,
) -> Result<(Vec<Row>, Phones), ScrubError> {
    let body = input.get(header_end..).unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let mut rows = Vec::with_capacity(body.len() / 48);
    let mut phones = Phones {
        bytes: Vec::with_capacity(body.len() / 4),
        ends: Vec::with_capacity(body.len() / 48),
    };
    let mut start = header_end;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| ScrubError::BadInput {
                line: e.position().map_or(0, |p| p.line() + 1),
                reason: e.to_string(),
            })?;
        if !more {
            break;
        }
        let end = header_end + usize::try_from(reader.position().byte()).unwrap_or(body.len());
        phones.push(record.get(column).unwrap_or_default());
        rows.push(Row {
            start,
            end,
            number: 0,
        });
        start = end;
    }
    Ok((rows, phones))
}

/// Parses every row's number on two threads.
fn parse_numbers(rows: &mut [Row], phones: &Phones, region: CountryCode) {
    let parse = |rows: &mut [Row], first: usize| {
        for (index, row) in rows.iter_mut().enumerate() {
            row.number = std::str::from_utf8(phones.get(first + index))
                .ok()
                .and_then(|text| PhoneNumber::parse(text, Some(region)).ok())
                .map_or(0, |number| number.as_u64());
        }
    };
    let middle = rows.len() / 2;
    let (left, right) = rows.split_at_mut(middle);
    thread::scope(|scope| {
        scope.spawn(|| parse(left, 0));
        parse(right, middle);
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn run(input: &str, registry: &[u64]) -> (ScrubSummary, String, String) {
        let set = NumberSet::from_numbers(registry.to_vec()).unwrap();
        let mut clean = Vec::new();
        let mut rejects = Vec::new();
        let summary = scrub(
            input.as_bytes(),
            "phone",
            CountryCode::parse("IT").unwrap(),
            &[ScrubRegistry {
                name: "it_rpo",
                numbers: &set,
            }],
            &mut clean,
            &mut rejects,
        )
        .unwrap();
        (
            summary,
            String::from_utf8(clean).unwrap(),
            String::from_utf8(rejects).unwrap(),
        )
    }

    #[test]
    fn rows_on_the_registry_and_invalid_rows_are_dropped_with_the_reason() {
        let input = "name;phone\nAnna;347 123 4567\n\"Rossi; Bruno\";+39 06 1234 5678\nCarla;12\nDario;0039 347 765 4321";
        let (summary, clean, rejects) = run(input, &[393_471_234_567]);
        assert_eq!(
            summary,
            ScrubSummary {
                rows: 4,
                kept: 2,
                on_registry: 1,
                invalid: 1
            }
        );
        assert_eq!(
            clean,
            "name;phone\n\"Rossi; Bruno\";+39 06 1234 5678\nDario;0039 347 765 4321\n"
        );
        assert_eq!(
            rejects,
            "name;phone;reason\nAnna;347 123 4567;on_registry:it_rpo\nCarla;12;invalid_number\n"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Kept rows plus rejected rows (without their reason) are the input
        /// rows in order, and a row is rejected for a registry exactly when a
        /// naive set of the registry's numbers holds its number.
        #[test]
        fn output_plus_rejects_is_the_input(
            rows in proptest::collection::vec((0_u32..3000, 0_u8..4), 0..300),
            registry in proptest::collection::vec(0_u32..3000, 0..300),
        ) {
            let spell = |n: u32, style: u8| match style {
                0 => format!("347{n:07}"),
                1 => format!("+39 347 {n:07}"),
                2 => format!("\"0039-347-{n:07}\""),
                _ => format!("x{n}"),
            };
            let mut input = String::from("id,phone\n");
            for (i, (n, style)) in rows.iter().enumerate() {
                input.push_str(&format!("{i},{}\n", spell(*n, *style)));
            }
            let numbers: Vec<u64> = registry.iter().map(|n| 393_470_000_000 + u64::from(*n)).collect();
            let naive: std::collections::HashSet<u64> = numbers.iter().copied().collect();
            let (summary, clean, rejects) = run(&input, &numbers);
            prop_assert_eq!(summary.rows as usize, rows.len());
            let mut merged: Vec<(usize, String)> = Vec::new();
            for line in clean.lines().skip(1) {
                let id: usize = line.split(',').next().unwrap().parse().unwrap();
                merged.push((id, line.to_owned()));
            }
            for line in rejects.lines().skip(1) {
                let (row, reason) = line.rsplit_once(',').unwrap();
                let id: usize = row.split(',').next().unwrap().parse().unwrap();
                let (n, style) = rows[id];
                let expected = if style == 3 {
                    "invalid_number"
                } else if naive.contains(&(393_470_000_000 + u64::from(n))) {
                    "on_registry:it_rpo"
                } else {
                    "kept"
                };
                prop_assert_eq!(reason, expected);
                merged.push((id, row.to_owned()));
            }
            for (id, line) in &merged {
                let (n, style) = rows[*id];
                if clean.contains(&format!("\n{line}\n")) {
                    prop_assert!(style != 3 && !naive.contains(&(393_470_000_000 + u64::from(n))));
                }
            }
            merged.sort();
            let original: Vec<String> = input.lines().skip(1).map(str::to_owned).collect();
            let merged: Vec<String> = merged.into_iter().map(|(_, l)| l).collect();
            prop_assert_eq!(merged, original);
        }
    }

    #[test]
    fn a_missing_column_is_named() {
        let set = NumberSet::default();
        let error = scrub(
            b"name,tel\nA,1\n",
            "phone",
            CountryCode::parse("IT").unwrap(),
            &[ScrubRegistry {
                name: "x",
                numbers: &set,
            }],
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "input: the header has no column \"phone\""
        );
    }
}
