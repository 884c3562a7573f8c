//! The import pipeline. A blocking thread reads, decodes and parses the file
//! and seals each row (phone numbers to E.164, sensitive fields encrypted,
//! blind indexes, record documents) into bounded batches; the async side
//! finds which rows are people already known, merges them, and writes each
//! batch inside the import's one transaction. Memory is a few batches,
//! whatever the file's size.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tutela_domain::{
    BlindIndex, ColumnMapping, ContactPoint, CountryCode, LookupKey, ParsedRow, StoredContact,
    Subject, SubjectId, Timestamp, encode_record,
};
use tutela_storage::{ImportBatch, ImportSession, Rejection, SubjectRow};

use crate::AppError;
use crate::controller_keys::{ControllerKeys, NonceSequence};
use crate::lists::source::{DecodedSource, ImportProgress};
use crate::subjects::{seal_attribute, seal_subject_parts};

/// Rows per batch: large enough to amortise statements, small enough that
/// memory stays flat.
pub(crate) const BATCH_ROWS: usize = 4096;

/// A row ready to store, sealed for a fresh id.
pub(crate) struct Candidate {
    row: u64,
    clear: ParsedRow,
    subject: Subject,
    record: String,
}

/// What the reading thread sends.
pub(crate) struct ParsedBatch {
    candidates: Vec<Candidate>,
    rejections: Vec<Rejection>,
}

/// Facts the reader learns, for the summary.
#[derive(Debug, Default)]
pub(crate) struct ReadOutcome {
    pub rows: u64,
    pub rejected_rows: u64,
    pub digest: [u8; 32],
    pub encoding: &'static str,
    pub delimiter: char,
}

/// Everything the reading thread needs.
pub(crate) struct ReadJob {
    pub source: Box<dyn Read + Send>,
    pub mapping: ColumnMapping,
    pub region: CountryCode,
    pub keys: Arc<ControllerKeys>,
    pub controller: tutela_domain::ControllerId,
    pub now: Timestamp,
    pub progress: Arc<ImportProgress>,
}

/// Reads the whole file, sending batches; runs on a blocking thread.
pub(crate) fn read_file(
    job: ReadJob,
    tx: mpsc::Sender<ParsedBatch>,
) -> Result<ReadOutcome, AppError> {
    let io_err =
        |e: std::io::Error| AppError::invalid("file", format!("cannot be read: {}", e.kind()));
    let mut source = DecodedSource::open(job.source, job.progress.clone()).map_err(io_err)?;
    let (encoding, delimiter) = (source.encoding.name(), char::from(source.delimiter));
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(source.reader());
    let csv_err = |e: csv::Error| {
        AppError::invalid(
            "file",
            format!("is not readable as CSV: {}", csv_error_kind(&e)),
        )
    };
    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(csv_err)? {
        return Err(AppError::invalid(
            "file",
            "is empty: it needs a header line",
        ));
    }
    let header: Vec<String> = record
        .iter()
        .map(|cell| String::from_utf8_lossy(cell).into_owned())
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let resolved = job.mapping.resolve(&header_refs).map_err(|missing| {
        AppError::invalid(
            "mapping",
            format!(
                "names column `{}`, which the file's header does not have",
                printable(missing)
            ),
        )
    })?;
    let mut nonces = NonceSequence::new()?;
    let mut scratch = Vec::with_capacity(128);
    let mut outcome = ReadOutcome {
        encoding,
        delimiter,
        ..ReadOutcome::default()
    };
    let mut batch = ParsedBatch {
        candidates: Vec::with_capacity(BATCH_ROWS),
        rejections: Vec::new(),
    };
    let mut row_number = 0u64;
    while csv.read_byte_record(&mut record).map_err(csv_err)? {
        row_number += 1;
        let text = std::str::from_utf8(record.as_slice());
        let Ok(text) = text else {
            batch.rejections.push(Rejection {
                row: row_number,
                column: "row".into(),
                reason: "is not valid text in the file's encoding".into(),
            });
            outcome.rejected_rows += 1;
            continue;
        };
        let cells: Vec<&str> = (0..record.len())
            .map(|i| record.range(i).and_then(|r| text.get(r)).unwrap_or(""))
            .collect();
        match resolved.parse_row(&cells, Some(job.region)) {
            Ok(parsed) => {
                let id = SubjectId::generate();
                let (attributes, contacts) = seal_subject_parts(
                    &job.keys,
                    &mut nonces,
                    &mut scratch,
                    id,
                    &parsed.attributes,
                    &parsed.contacts,
                )?;
                let subject = Subject {
                    id,
                    controller_id: job.controller,
                    attributes,
                    contacts,
                    created_at: job.now,
                    updated_at: job.now,
                };
                let record = encode_record(&subject.attributes, &subject.contacts);
                batch.candidates.push(Candidate {
                    row: row_number,
                    clear: parsed,
                    subject,
                    record,
                });
            }
            Err(errors) => {
                outcome.rejected_rows += 1;
                batch
                    .rejections
                    .extend(errors.into_iter().map(|e| Rejection {
                        row: row_number,
                        column: printable(e.column),
                        reason: e.reason.to_owned(),
                    }));
            }
        }
        if batch.candidates.len() + batch.rejections.len() >= BATCH_ROWS {
            job.progress.rows.store(row_number, Ordering::Relaxed);
            let full = std::mem::replace(
                &mut batch,
                ParsedBatch {
                    candidates: Vec::with_capacity(BATCH_ROWS),
                    rejections: Vec::new(),
                },
            );
            if tx.blocking_send(full).is_err() {
                // The writer stopped; its error is the one to report.
                return Ok(outcome);
            }
        }
    }
    job.progress.rows.store(row_number, Ordering::Relaxed);
    drop(csv);
    if !batch.candidates.is_empty() || !batch.rejections.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    // Read to the end so every byte is hashed, even after the last record.
    let mut rest = [0u8; 4096];
    while source.reader().read(&mut rest).map_err(io_err)? > 0 {}
    outcome.rows = row_number;
    outcome.digest = source
        .digest()
        .ok_or_else(|| AppError::internal("the file's digest was not finished"))?;
    Ok(outcome)
}

/// A column header as it may appear in a report: control characters and
/// overlong text would make the report unreadable.
fn printable(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("read error ({})", io.kind()),
        csv::ErrorKind::UnequalLengths { .. } => "rows of unequal length".into(),
        _ => "malformed CSV".into(),
    }
}

/// Counts of what the writer did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriteOutcome {
    pub accepted_rows: u64,
    pub new_subjects: u64,
    pub merged_rows: u64,
    /// Rows of people erased at their request, rejected.
    pub erased_rows: u64,
}

/// Writes batches as they come. Rows that share a phone number, e-mail
/// address or identifier within a batch are one person; each remaining row
/// claims its blind indexes, and a row some of whose identifiers another
/// subject already holds (stored, or from an earlier batch) is merged into
/// that subject instead of becoming a new one.
pub(crate) async fn write_batches(
    session: &mut Box<dyn ImportSession>,
    keys: &ControllerKeys,
    now: Timestamp,
    mut rx: mpsc::Receiver<ParsedBatch>,
) -> Result<WriteOutcome, AppError> {
    let mut outcome = WriteOutcome::default();
    let mut nonces = NonceSequence::new()?;
    let mut scratch = Vec::new();
    while let Some(batch) = rx.recv().await {
        let mut write = ImportBatch {
            rejections: batch.rejections,
            ..ImportBatch::default()
        };
        // People erased at their request never come back from a list: their
        // rows are rejected, naming no one.
        let all: Vec<BlindIndex> = batch
            .candidates
            .iter()
            .flat_map(|c| c.subject.blinds())
            .collect();
        let erased: HashSet<BlindIndex> = session.erased(&all).await?.into_iter().collect();
        let mut candidates = batch.candidates;
        if !erased.is_empty() {
            candidates.retain(|c| {
                let gone = c.subject.blinds().any(|b| erased.contains(&b));
                if gone {
                    write.rejections.push(Rejection {
                        row: c.row,
                        column: "row".into(),
                        reason:
                            "the person was erased at their request and is never imported again"
                                .into(),
                    });
                    outcome.erased_rows += 1;
                }
                !gone
            });
        }
        outcome.accepted_rows += candidates.len() as u64;

        // One person per identifier within the batch.
        let mut fresh: Vec<Candidate> = Vec::with_capacity(candidates.len());
        let mut fresh_changed: Vec<bool> = Vec::with_capacity(candidates.len());
        let mut extra_rows: Vec<Vec<u64>> = Vec::with_capacity(candidates.len());
        let mut by_blind: HashMap<BlindIndex, usize> = HashMap::new();
        for candidate in candidates {
            let earlier = candidate
                .subject
                .blinds()
                .find_map(|b| by_blind.get(&b).copied());
            match earlier {
                Some(i) => {
                    let (Some(target), Some(rows), Some(flag)) = (
                        fresh.get_mut(i),
                        extra_rows.get_mut(i),
                        fresh_changed.get_mut(i),
                    ) else {
                        continue;
                    };
                    outcome.merged_rows += 1;
                    rows.push(candidate.row);
                    let (added, touched) = merge(
                        keys,
                        &mut nonces,
                        &mut scratch,
                        &mut target.subject,
                        &candidate.clear,
                        &[],
                        now,
                    )?;
                    for blind in added {
                        by_blind.insert(blind, i);
                    }
                    *flag |= touched;
                }
                None => {
                    for blind in candidate.subject.blinds() {
                        by_blind.insert(blind, fresh.len());
                    }
                    fresh.push(candidate);
                    fresh_changed.push(false);
                    extra_rows.push(Vec::new());
                }
            }
        }

        // Claim every identifier; those already held point at known people.
        let claims: Vec<(BlindIndex, SubjectId)> = fresh
            .iter()
            .flat_map(|c| c.subject.blinds().map(|b| (b, c.subject.id)))
            .collect();
        let held: HashMap<BlindIndex, SubjectId> =
            session.claim(&claims).await?.into_iter().collect();
        let mut owners: Vec<SubjectId> = held.values().copied().collect();
        owners.sort_unstable();
        owners.dedup();
        let mut known: Vec<Subject> = if owners.is_empty() {
            Vec::new()
        } else {
            session.subjects(&owners).await?
        };
        let mut known_changed = vec![false; known.len()];
        let known_index: HashMap<SubjectId, usize> =
            known.iter().enumerate().map(|(i, k)| (k.id, i)).collect();

        for ((candidate, changed), rows) in fresh.into_iter().zip(fresh_changed).zip(extra_rows) {
            let owner = candidate
                .subject
                .blinds()
                .find_map(|b| held.get(&b).copied());
            let Some(owner) = owner else {
                outcome.new_subjects += 1;
                write.members.push((candidate.subject.id, candidate.row));
                write
                    .members
                    .extend(rows.iter().map(|r| (candidate.subject.id, *r)));
                let record = if changed {
                    encode_record(&candidate.subject.attributes, &candidate.subject.contacts)
                } else {
                    candidate.record
                };
                write
                    .new_subjects
                    .push((row(&candidate.subject, record), [0; 32]));
                continue;
            };
            outcome.merged_rows += 1;
            let Some(&index) = known_index.get(&owner) else {
                return Err(AppError::internal(
                    "a claimed identifier's holder has no record",
                ));
            };
            let (Some(target), Some(flag)) = (known.get_mut(index), known_changed.get_mut(index))
            else {
                continue;
            };
            write.members.push((owner, candidate.row));
            write.members.extend(rows.iter().map(|r| (owner, *r)));
            // Identifiers another person holds stay theirs.
            let others: Vec<BlindIndex> = candidate
                .subject
                .blinds()
                .filter(|b| held.get(b).is_some_and(|h| *h != owner))
                .collect();
            let (added, touched) = merge(
                keys,
                &mut nonces,
                &mut scratch,
                target,
                &candidate.clear,
                &others,
                now,
            )?;
            // Identifiers this row claimed that the person did not take
            // are given up, so no index points at the row's unused id.
            write.released.extend(
                candidate
                    .subject
                    .blinds()
                    .filter(|b| !held.contains_key(b) && !added.contains(b))
                    .map(|b| (b, candidate.subject.id)),
            );
            write
                .reassigned
                .extend(added.into_iter().map(|b| (b, owner)));
            *flag |= touched;
        }
        // One call to the random source per batch for the new people's
        // audit pseudonym secrets.
        let mut secrets = vec![0u8; write.new_subjects.len() * 32];
        getrandom::fill(&mut secrets)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        for ((_, secret), fresh) in write.new_subjects.iter_mut().zip(secrets.chunks_exact(32)) {
            secret.copy_from_slice(fresh);
        }
        for (subject, changed) in known.iter_mut().zip(known_changed) {
            if changed {
                let record = encode_record(&subject.attributes, &subject.contacts);
                write.updated_subjects.push(row(subject, record));
            }
        }
        session.write(&write).await?;
    }
    Ok(outcome)
}

fn row(subject: &Subject, record: String) -> SubjectRow {
    SubjectRow {
        id: subject.id,
        created_at: subject.created_at,
        updated_at: subject.updated_at,
        record,
    }
}

/// Adds to `target` the contact points and attributes of `row` it lacks
/// (an attribute it has keeps its value: an import does not rectify), but
/// no identifier in `others` (another person's). Returns the blind indexes
/// added and whether anything was; marks the subject updated when anything
/// was.
fn merge(
    keys: &ControllerKeys,
    nonces: &mut NonceSequence,
    scratch: &mut Vec<u8>,
    target: &mut Subject,
    row: &ParsedRow,
    others: &[BlindIndex],
    now: Timestamp,
) -> Result<(Vec<BlindIndex>, bool), AppError> {
    let mut added = Vec::new();
    let mut touched = false;
    for point in &row.contacts {
        if target.contacts.iter().any(|c| &c.point == point) {
            continue;
        }
        let blind = keys.blind(LookupKey::Contact(point), scratch);
        if others.contains(&blind) {
            continue;
        }
        target.contacts.push(StoredContact {
            point: ContactPoint::clone(point),
            blind,
        });
        added.push(blind);
        touched = true;
    }
    for attribute in &row.attributes {
        if target.attributes.iter().any(|a| a.name == attribute.name) {
            continue;
        }
        let stored = seal_attribute(keys, nonces, scratch, target.id, attribute)?;
        if let Some(blind) = stored.blind {
            if others.contains(&blind) {
                continue;
            }
            added.push(blind);
        }
        target.attributes.push(stored);
        touched = true;
    }
    if touched {
        target.attributes.sort_by(|a, b| a.name.cmp(&b.name));
        target.updated_at = now;
    }
    Ok((added, touched))
}
