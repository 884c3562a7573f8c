//! The erasure journal: every erasure is appended to a file (controller,
//! subject id, instant; no personal data) before the database erases, and
//! the whole journal is re-applied when the service starts. A database
//! restored from a backup taken before an erasure therefore loses the
//! person again at the next start, suppression included, before any
//! request is served. Kept outside the database on purpose: it must not
//! travel back in time with it.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tutela_domain::audit::{Action, Actor, AuditEvent, ObjectKind, ObjectRef, Outcome};
use tutela_domain::{ControllerId, SubjectId, Timestamp};

use crate::audit::pseudonym;
use crate::{App, AppError};

/// One erasure, as journalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Whose data.
    pub controller: ControllerId,
    /// The person erased.
    pub subject: SubjectId,
    /// When.
    pub at: Timestamp,
}

/// An append-only file of erasures, synced on every append.
#[derive(Debug)]
pub struct ErasureJournal {
    path: PathBuf,
    // One append at a time: lines never interleave.
    lock: tokio::sync::Mutex<()>,
}

fn io_failed(what: &str, e: std::io::Error) -> AppError {
    AppError::internal(format!("erasure journal {what}: {}", e.kind()))
}

/// True when the file exists, is not empty and does not end with a new
/// line.
fn ends_torn(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last != *b"\n")
}

impl ErasureJournal {
    /// A journal at `path` (created, with its folder, on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Appends `entry` and syncs it to disk before returning.
    pub async fn record(&self, entry: JournalEntry) -> Result<(), AppError> {
        let _one = self.lock.lock().await;
        let path = self.path.clone();
        let mut line = serde_json::to_string(&entry)
            .map_err(|_| AppError::internal("erasure journal entry does not serialise"))?;
        line.push('\n');
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io_failed("folder", e))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let torn = ends_torn(&path).map_err(|e| io_failed("read", e))?;
            let mut file = options.open(&path).map_err(|e| io_failed("open", e))?;
            if torn {
                // Close a line a crash left half-written, so this entry
                // starts on its own line.
                line.insert(0, '\n');
            }
            file.write_all(line.as_bytes())
                .map_err(|e| io_failed("write", e))?;
            file.sync_all().map_err(|e| io_failed("sync", e))
        })
        .await
        .map_err(|e| AppError::internal(format!("erasure journal task: {e}")))?
    }

    /// Every entry, oldest first. A missing file is an empty journal; a
    /// line that does not parse is an error naming its number (a torn last
    /// line, from a crash during an append, is skipped: its erasure never
    /// started).
    pub async fn entries(&self) -> Result<Vec<JournalEntry>, AppError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_failed("open", e)),
            };
            let lines: Vec<String> = std::io::BufReader::new(file)
                .lines()
                .collect::<Result<_, _>>()
                .map_err(|e| io_failed("read", e))?;
            let last = lines.len();
            let mut entries = Vec::with_capacity(last);
            for (i, line) in lines.iter().enumerate() {
                match serde_json::from_str::<JournalEntry>(line) {
                    Ok(entry) => entries.push(entry),
                    Err(_) if i + 1 == last => {}
                    Err(_) => {
                        return Err(AppError::internal(format!(
                            "erasure journal line {} does not parse",
                            i + 1
                        )));
                    }
                }
            }
            Ok(entries)
        })
        .await
        .map_err(|e| AppError::internal(format!("erasure journal task: {e}")))?
    }
}

impl App {
    /// Journals an erasure before it happens (when a journal is set).
    pub(crate) async fn journal_erasure(
        &self,
        controller: ControllerId,
        subject: SubjectId,
    ) -> Result<(), AppError> {
        match &self.journal {
            Some(journal) => {
                journal
                    .record(JournalEntry {
                        controller,
                        subject,
                        at: self.clock.now(),
                    })
                    .await
            }
            None => Ok(()),
        }
    }

    /// Re-applies the journal: every person it names who is in the store
    /// again (a restored backup) is erased again, recorded in the audit
    /// trail as the operator's. Returns how many came back.
    pub async fn replay_erasure_journal(&self) -> Result<u64, AppError> {
        let Some(journal) = &self.journal else {
            return Ok(0);
        };
        let mut again = 0;
        for entry in journal.entries().await? {
            let secrets = self
                .store
                .subject_audit_secrets(entry.controller, &[entry.subject])
                .await?;
            let Some((_, secret)) = secrets.first() else {
                continue;
            };
            let event = AuditEvent::new(
                self.clock.now(),
                Actor::Operator,
                Action::SubjectErase,
                Outcome::Allowed,
            )
            .controller(entry.controller)
            .object(ObjectRef::kind_only(ObjectKind::Subject))
            .subject(pseudonym(secret, entry.subject));
            self.record(vec![event]).await?;
            if self
                .store
                .erase_subject(entry.controller, entry.subject, entry.at)
                .await?
            {
                again += 1;
                tracing::warn!(
                    controller_id = %entry.controller,
                    subject_id = %entry.subject,
                    "an erased person was back (a restored backup) and is erased again"
                );
            }
        }
        Ok(again)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_survive_and_a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal").join("erasures.jsonl");
        let journal = ErasureJournal::new(&path);
        assert!(journal.entries().await.unwrap().is_empty());
        let first = JournalEntry {
            controller: ControllerId::generate(),
            subject: SubjectId::generate(),
            at: "2026-11-23T10:00:00Z".parse().unwrap(),
        };
        journal.record(first).await.unwrap();
        let second = JournalEntry {
            subject: SubjectId::generate(),
            ..first
        };
        journal.record(second).await.unwrap();
        assert_eq!(journal.entries().await.unwrap(), vec![first, second]);

        // A crash mid-append leaves half a line at the end: skipped, and
        // the next entry starts on a line of its own.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"controller\":\"0").unwrap();
        assert_eq!(journal.entries().await.unwrap(), vec![first, second]);
        let third = JournalEntry {
            subject: SubjectId::generate(),
            ..first
        };
        journal.record(third).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("{\"controller\":\"0\n", "")).unwrap();
        assert_eq!(journal.entries().await.unwrap(), vec![first, second, third]);
        // Damage anywhere else is an error naming the line.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        let error = journal.entries().await.unwrap_err();
        assert!(error.detail().contains("line 1"), "{}", error.detail());
    }
}
