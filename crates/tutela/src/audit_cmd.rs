//! `tutela audit …`: verify a store or an exported bundle offline, export a
//! bundle, list events and sign checkpoints from the command line.
//!
//! A bundle is JSON Lines: a header with the signing public keys, then every
//! checkpoint, then every event with its stored bytes (hex). Verifying one
//! needs nothing but the bundle and, to be meaningful, the public key from a
//! trusted source (`--public-key`); without it the bundle's own key is used
//! and its fingerprint printed for comparison.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tutela_app::audit::{
    AuditQuery, AuditSigner, TrustedKeys, Verification, VerifyError, VerifyReport, verify_store,
};
use tutela_app::{App, KeyRing};
use tutela_domain::audit::{
    AuditEvent, AuditIndex, AuditRecord, ChainId, Checkpoint, Pseudonym, TreeHead, decode, key_id,
};
use tutela_domain::{Clock, Timestamp};
use tutela_storage::{OpenMode, Store};
use uuid::Uuid;

use crate::config::Settings;
use crate::store::open_store;

/// Why an audit command failed (not a broken trail: that is a [`Verdict`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuditCmdError(pub String);

fn fail(what: &str, e: impl std::fmt::Display) -> AuditCmdError {
    AuditCmdError(format!("{what}: {e}"))
}

/// The outcome of a verification.
#[derive(Debug)]
pub enum Verdict {
    /// Everything checked out.
    Verified {
        /// What was checked.
        report: VerifyReport,
        /// How long it took, in seconds.
        seconds: f64,
        /// Set when the key came from the bundle itself.
        untrusted_key: Option<String>,
    },
    /// The first bad event and why.
    Broken(String),
}

impl Verdict {
    /// The text printed for the operator.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Broken(why) => format!("audit trail BROKEN: {why}"),
            Verdict::Verified {
                report,
                seconds,
                untrusted_key,
            } => {
                let mb = report.bytes() as f64 / 1e6;
                let mut text = format!(
                    "audit trail verified: {} chains, {} events, {} checkpoints, {:.1} MB in {:.2} s ({:.0} MB/s)",
                    report.chains.len(),
                    report.events(),
                    report.chains.iter().map(|c| c.checkpoints).sum::<u64>(),
                    mb,
                    seconds,
                    mb / seconds.max(1e-9)
                );
                for chain in &report.chains {
                    text.push_str(&format!(
                        "\n  {}: {} events, head {}",
                        chain.chain,
                        chain.events,
                        hex::encode(chain.root)
                    ));
                }
                if let Some(key) = untrusted_key {
                    text.push_str(&format!(
                        "\nwarning: checked against the key inside the bundle ({key}); pass --public-key with the key from the data directory to rule out a re-signed bundle"
                    ));
                }
                text
            }
        }
    }
}

/// Reads a public key file: 64 hex digits (as `keys/audit-signing.pub`).
fn read_public_key(path: &Path) -> Result<Vec<u8>, AuditCmdError> {
    let text = std::fs::read_to_string(path).map_err(|e| fail(&path.display().to_string(), e))?;
    let key = hex::decode(text.trim())
        .map_err(|_| AuditCmdError(format!("{}: not a hex public key", path.display())))?;
    if key.len() != 32 {
        return Err(AuditCmdError(format!(
            "{}: an Ed25519 public key has 32 bytes",
            path.display()
        )));
    }
    Ok(key)
}

/// `tutela audit verify` on the configured store (the data directory's
/// SQLite file or `database_url`). Reads only; never creates anything.
pub async fn verify_database(
    settings: &Settings,
    public_key: Option<&Path>,
) -> Result<Verdict, AuditCmdError> {
    let key_path = match public_key {
        Some(path) => path.to_path_buf(),
        None => settings.data_dir.join("keys").join("audit-signing.pub"),
    };
    let keys = TrustedKeys::new([read_public_key(&key_path)?]);
    let store = open_store(&settings.database, OpenMode::MustExist)
        .await
        .map_err(|e| fail("storage", e))?;
    let started = Instant::now();
    let result = verify_store(store.clone(), &keys).await;
    store.close().await;
    match result {
        Ok(report) => Ok(Verdict::Verified {
            report,
            seconds: started.elapsed().as_secs_f64(),
            untrusted_key: None,
        }),
        Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b.to_string())),
        Err(VerifyError::Storage(e)) => Ok(Verdict::Broken(e.to_string())),
    }
}

/// One line of a bundle.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        version: u32,
        public_keys: Vec<String>,
        exported_at: String,
    },
    Checkpoint {
        chain: Uuid,
        tree_size: u64,
        root: String,
        chain_hash: String,
        instant_us: i64,
        key_id: String,
        signature: String,
    },
    Event {
        chain: Uuid,
        seq: u64,
        instant_us: i64,
        actor: String,
        action: String,
        object: Option<String>,
        subject: Option<String>,
        body: String,
        chain_hash: String,
        seal: Option<String>,
    },
}

const BUNDLE_FORMAT: &str = "tutela-audit-bundle";

fn checkpoint_line(c: &Checkpoint) -> Line {
    Line::Checkpoint {
        chain: c.head.chain.as_uuid(),
        tree_size: c.head.size,
        root: hex::encode(c.head.root),
        chain_hash: hex::encode(c.head.chain_hash),
        instant_us: c.head.instant.as_microsecond(),
        key_id: hex::encode(c.key_id),
        signature: hex::encode(&c.signature),
    }
}

/// The bundle line of a record: the bytes, plus readable copies of its
/// search facts (which the bundle verifier checks against the bytes).
fn event_line(r: &AuditRecord) -> Result<Line, AuditCmdError> {
    let (_, _, event) = decode(&r.body).map_err(|e| {
        AuditCmdError(format!(
            "{}: event {}: {e}; run `tutela audit verify`",
            r.chain, r.seq
        ))
    })?;
    let index = AuditIndex::of(&event);
    Ok(Line::Event {
        chain: r.chain.as_uuid(),
        seq: r.seq,
        instant_us: index.instant.as_microsecond(),
        actor: index.actor,
        action: index.action,
        object: index.object,
        subject: index.subject.map(|s| s.to_string()),
        body: hex::encode(&r.body),
        chain_hash: hex::encode(r.chain_hash),
        seal: r.seal.as_ref().map(hex::encode),
    })
}

/// Which readable field of a bundle line disagrees with the event's bytes.
fn readable_mismatch(line: &AuditIndex, event: &AuditEvent) -> Option<&'static str> {
    let index = AuditIndex::of(event);
    if index.instant != line.instant {
        Some("instant")
    } else if index.actor != line.actor {
        Some("actor")
    } else if index.action != line.action {
        Some("action")
    } else if index.object != line.object {
        Some("object")
    } else if index.subject != line.subject {
        Some("subject")
    } else {
        None
    }
}

fn hash32(field: &str, value: &str) -> Result<[u8; 32], String> {
    hex::decode(value)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| format!("`{field}` is not 32 bytes of hex"))
}

fn instant(micros: i64) -> Result<Timestamp, String> {
    Timestamp::from_microsecond(micros).map_err(|_| String::from("instant out of range"))
}

/// An application over the configured store and data directory, for the
/// commands that record what the operator does.
pub async fn operator_app(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<App, AuditCmdError> {
    let data_dir = settings
        .prepare_data_dir()
        .map_err(|e| fail("data directory", e))?;
    let keys = KeyRing::from_root(data_dir.root_key()).map_err(|e| fail("keys", e))?;
    let signer =
        AuditSigner::from_pkcs8(data_dir.audit_signing_key()).map_err(|e| fail("audit key", e))?;
    let store: Arc<dyn Store> = open_store(&settings.database, OpenMode::MustExist)
        .await
        .map_err(|e| fail("storage", e))?;
    Ok(
        App::new(store, clock, keys, signer, settings.audit_checkpoint_every)
            .with_voiding_rules(settings.voiding_rules.clone()),
    )
}

/// `tutela audit export --output FILE`: every chain, checkpoint and event.
/// The export is itself recorded first, so the bundle contains it.
pub async fn export(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    output: &Path,
) -> Result<String, AuditCmdError> {
    let app = operator_app(settings, clock.clone()).await?;
    app.record_operator_export()
        .await
        .map_err(|e| fail("recording the export", e))?;
    let store = app.store().clone();
    let file = File::create(output).map_err(|e| fail(&output.display().to_string(), e))?;
    let mut out = BufWriter::new(file);
    let mut write = |line: &Line| -> Result<(), AuditCmdError> {
        serde_json::to_writer(&mut out, line).map_err(|e| fail("writing the bundle", e))?;
        out.write_all(b"\n")
            .map_err(|e| fail("writing the bundle", e))
    };
    write(&Line::Header {
        format: BUNDLE_FORMAT.into(),
        version: 1,
        public_keys: vec![hex::encode(app.audit_public_key())],
        exported_at: clock.now().to_string(),
    })?;
    let checkpoints = store
        .audit_checkpoints(None)
        .await
        .map_err(|e| fail("storage", e))?;
    for c in &checkpoints {
        write(&checkpoint_line(c))?;
    }
    let mut after = None;
    let mut events = 0u64;
    const PAGE: u32 = 256;
    loop {
        let page = store
            .audit_scan(after, PAGE)
            .await
            .map_err(|e| fail("storage", e))?;
        for segment in &page {
            let records = segment.decode().map_err(|e| {
                AuditCmdError(format!("{}: {e}; run `tutela audit verify`", segment.chain))
            })?;
            for r in &records {
                write(&event_line(r)?)?;
            }
            events += records.len() as u64;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some((last.chain, last.first_seq)),
            _ => break,
        }
    }
    out.flush().map_err(|e| fail("writing the bundle", e))?;
    out.get_ref()
        .sync_all()
        .map_err(|e| fail("writing the bundle", e))?;
    store.close().await;
    Ok(format!(
        "exported {events} events and {} checkpoints to {}",
        checkpoints.len(),
        output.display()
    ))
}

/// `tutela audit verify --bundle FILE [--public-key FILE]`.
pub fn verify_bundle(bundle: &Path, public_key: Option<&Path>) -> Result<Verdict, AuditCmdError> {
    let file = File::open(bundle).map_err(|e| fail(&bundle.display().to_string(), e))?;
    let started = Instant::now();
    let mut lines = BufReader::new(file).lines();
    let header = lines
        .next()
        .ok_or_else(|| AuditCmdError("the bundle is empty".into()))?
        .map_err(|e| fail("reading the bundle", e))?;
    let Ok(Line::Header {
        format,
        version: 1,
        public_keys,
        ..
    }) = serde_json::from_str(&header)
    else {
        return Err(AuditCmdError(
            "not a Tutela audit bundle (version 1)".into(),
        ));
    };
    if format != BUNDLE_FORMAT {
        return Err(AuditCmdError("not a Tutela audit bundle".into()));
    }
    let (keys, untrusted_key) = match public_key {
        Some(path) => (TrustedKeys::new([read_public_key(path)?]), None),
        None => {
            let keys: Vec<Vec<u8>> = public_keys
                .iter()
                .filter_map(|k| hex::decode(k).ok())
                .collect();
            let ids = keys
                .iter()
                .map(|k| hex::encode(key_id(k)))
                .collect::<Vec<_>>()
                .join(", ");
            (TrustedKeys::new(keys), Some(format!("key id {ids}")))
        }
    };
    let mut checkpoints = Vec::new();
    let mut verification: Option<Verification<'_>> = None;
    for (n, line) in lines.enumerate() {
        let line_no = n + 2;
        let line = line.map_err(|e| fail("reading the bundle", e))?;
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(l) => l,
            Err(_) => {
                return Ok(Verdict::Broken(format!(
                    "line {line_no}: not a bundle record"
                )));
            }
        };
        let step = match parsed {
            Line::Header { .. } => Err(format!("line {line_no}: a second header")),
            Line::Checkpoint { .. } if verification.is_some() => {
                Err(format!("line {line_no}: checkpoint after the events"))
            }
            Line::Checkpoint {
                chain,
                tree_size,
                root,
                chain_hash,
                instant_us,
                key_id,
                signature,
            } => (|| {
                checkpoints.push(Checkpoint {
                    head: TreeHead {
                        chain: ChainId::from_uuid(chain),
                        size: tree_size,
                        root: hash32("root", &root)?,
                        chain_hash: hash32("chain_hash", &chain_hash)?,
                        instant: instant(instant_us)?,
                    },
                    key_id: hex::decode(&key_id)
                        .ok()
                        .and_then(|k| <[u8; 8]>::try_from(k.as_slice()).ok())
                        .ok_or("`key_id` is not 8 bytes of hex")?,
                    signature: hex::decode(&signature).map_err(|_| "`signature` is not hex")?,
                });
                Ok(())
            })()
            .map_err(|e: String| format!("line {line_no}: {e}")),
            Line::Event {
                chain,
                seq,
                instant_us,
                actor,
                action,
                object,
                subject,
                body,
                chain_hash,
                seal,
            } => {
                let chain = ChainId::from_uuid(chain);
                let record = (|| {
                    let readable = AuditIndex {
                        instant: instant(instant_us)?,
                        actor,
                        action,
                        object,
                        subject: subject
                            .map(|s| hash32("subject", &s).map(Pseudonym))
                            .transpose()?,
                    };
                    let record = AuditRecord {
                        chain,
                        seq,
                        body: hex::decode(&body).map_err(|_| "`body` is not hex")?,
                        chain_hash: hash32("chain_hash", &chain_hash)?,
                        seal: seal
                            .map(|s| hex::decode(&s).map_err(|_| "`seal` is not hex"))
                            .transpose()?,
                    };
                    Ok::<_, String>((record, readable))
                })()
                .map_err(|e| format!("{chain}: event {seq}: {e}"));
                let v = verification.get_or_insert_with(|| {
                    Verification::new(&keys, std::mem::take(&mut checkpoints))
                });
                record.and_then(|(record, readable)| {
                    let event = v
                        .feed(record.view())
                        .map_err(|b| b.to_string())?
                        .to_event()
                        .map_err(|e| format!("{chain}: event {seq}: {e}"))?;
                    match readable_mismatch(&readable, &event) {
                        None => Ok(()),
                        Some(field) => Err(format!(
                            "{chain}: event {seq}: the readable `{field}` field does not match the event"
                        )),
                    }
                })
            }
        };
        if let Err(why) = step {
            return Ok(Verdict::Broken(why));
        }
    }
    let verification =
        verification.unwrap_or_else(|| Verification::new(&keys, std::mem::take(&mut checkpoints)));
    Ok(match verification.finish() {
        Ok(report) => Verdict::Verified {
            report,
            seconds: started.elapsed().as_secs_f64(),
            untrusted_key,
        },
        Err(b) => Verdict::Broken(b.to_string()),
    })
}

/// `tutela audit events --chain C …`: events as JSON lines, recorded as an
/// operator read.
pub async fn events(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    chain: ChainId,
    query: AuditQuery,
) -> Result<Vec<String>, AuditCmdError> {
    let app = operator_app(settings, clock).await?;
    let grant = app.grant_operator_audit(chain);
    let entries = app
        .audit_events(&grant, query)
        .await
        .map_err(|e| fail("reading the audit trail", e.message()))?;
    app.store().close().await;
    Ok(entries
        .into_iter()
        .map(|entry| {
            let e = entry.event;
            serde_json::json!({
                "chain": entry.chain.to_string(),
                "seq": entry.seq,
                "instant": e.instant.to_string(),
                "actor": e.actor.to_string(),
                "role": e.role.map(|r| r.as_str()),
                "action": e.action.as_str(),
                "object": e.object.map(|o| o.to_string()),
                "subject": e.subject.map(|s| s.to_string()),
                "purpose": e.purpose.map(|p| p.as_str().to_owned()),
                "address": e.client.address.map(|a| a.to_string()),
                "workstation": e.client.workstation,
                "request_id": e.client.request_id,
                "outcome": match e.outcome {
                    tutela_domain::audit::Outcome::Allowed => String::from("allowed"),
                    tutela_domain::audit::Outcome::Denied(r) => format!("denied:{}", r.as_str()),
                },
            })
            .to_string()
        })
        .collect())
}

/// `tutela audit checkpoint --chain C`: signs a checkpoint now.
pub async fn checkpoint(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    chain: ChainId,
) -> Result<String, AuditCmdError> {
    let app = operator_app(settings, clock).await?;
    let grant = app.grant_operator_audit(chain);
    let cp = app
        .audit_checkpoint(&grant)
        .await
        .map_err(|e| fail("signing a checkpoint", e.message()))?;
    app.store().close().await;
    Ok(format!(
        "{}: checkpoint at {} events, root {}",
        cp.head.chain,
        cp.head.size,
        hex::encode(cp.head.root)
    ))
}

/// Parses `platform` or a controller id.
pub fn parse_chain(value: &str) -> Result<ChainId, String> {
    if value == "platform" {
        return Ok(ChainId::Platform);
    }
    value
        .parse::<Uuid>()
        .map(ChainId::from_uuid)
        .map_err(|_| String::from("must be `platform` or a controller id"))
}

/// Where `--bundle` output goes by default.
pub fn default_bundle_name(now: Timestamp) -> PathBuf {
    PathBuf::from(format!(
        "tutela-audit-{}.jsonl",
        now.strftime("%Y%m%dT%H%M%SZ")
    ))
}
