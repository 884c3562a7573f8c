//! Lead-list import benchmark (issue 5): a generated CSV (name, phone in
//! mixed Italian national and international spellings, e-mail, IBAN as a
//! payment field) imported into a fresh SQLite store end to end (decoding,
//! E.164 normalisation, field encryption, blind indexes, de-duplication,
//! one transaction), side by side with `import_baseline.py` (Python
//! `phonenumbers` + SQLite) on the same file when `phonenumbers` is
//! installed. Peak memory is read after a quarter-size run and after the
//! full one, to show whether it grows with the file.
//!
//! `cargo bench -p tutela --bench import` (`TUTELA_BENCH_ROWS`, default
//! 1000000; `TUTELA_BENCH_ONLY=consent` for the lookup alone). Then the
//! current-consent lookup: one subject, purpose and
//! channel, in process, against a store with a ledger of 100,000 events.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tutela_app::audit::AuditSigner;
use tutela_app::grants::{ImportLists, ReadConsent};
use tutela_app::{App, ImportProgress, ImportRequest, KeyRing};
use tutela_domain::audit::{Actor, ClientContext};
use tutela_domain::{
    AgreementDraft, AgreementTerms, Capability, Channel, ClientId, ClientPrincipal, Clock,
    ConsentAction, ConsentEvent, ConsentEventId, ControllerId, Evidence, Principal, Role,
    SystemClock,
};

fn rows() -> usize {
    std::env::var("TUTELA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A small deterministic generator: no dependency, same file every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIRST: [&str; 10] = [
    "Mario", "Giulia", "Luca", "Anna", "Marco", "Sara", "Paolo", "Chiara", "Jüri", "José",
];
const LAST: [&str; 10] = [
    "Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Tamm",
    "García",
];

fn write_csv(path: &Path, n: usize) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "name;phone;email;iban").unwrap();
    for i in 0..n {
        let first = FIRST[rng.below(10) as usize];
        let last = LAST[rng.below(10) as usize];
        let mobile = format!(
            "3{}{}",
            10 + rng.below(90),
            1_000_000 + rng.below(9_000_000)
        );
        let phone = match rng.below(6) {
            0 => mobile.clone(),
            1 => format!("+39 {} {}", &mobile[..3], &mobile[3..]),
            2 => format!("0039{mobile}"),
            3 => format!("{}-{}-{}", &mobile[..3], &mobile[3..6], &mobile[6..]),
            4 => format!("06 {} {}", 1000 + rng.below(9000), 1000 + rng.below(9000)),
            _ => format!("(02) {}", 10_000_000 + rng.below(90_000_000)),
        };
        writeln!(
            out,
            "{first} {last};{phone};{}.{}{i}@Example.IT;IT60X0542811101{:012}",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn terms() -> AgreementTerms {
    let draft: AgreementDraft = serde_json::from_value(serde_json::json!({
        "reference": "BENCH-1",
        "purposes": [{"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "direct_marketing": true}],
        "categories": ["identity", "contact", "payment"],
        "retention": [{"category": "payment", "purpose": "telemarketing", "days": 90}],
        "operator_countries": ["IT"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    draft.try_into().unwrap()
}

async fn setup(dir: &Path, name: &str) -> (App, Principal, ControllerId) {
    let store = common::fresh_store(None, dir, name).await;
    let controller = common::bench_controller(&store, &terms()).await;
    let app = App::new(
        store,
        Arc::new(SystemClock),
        KeyRing::ephemeral().unwrap(),
        AuditSigner::ephemeral().unwrap(),
        1000,
    );
    let principal = Principal::Client(ClientPrincipal {
        id: ClientId::generate(),
        controller,
        capabilities: vec![
            Capability::ImportLists,
            Capability::RecordConsent,
            Capability::ReadConsent,
        ],
    });
    (app, principal, controller)
}

fn request() -> ImportRequest {
    serde_json::from_value::<ImportRequest>(serde_json::json!({
        "name": "bench",
        "provenance": {
            "supplier": "Liste Srl", "data_owner": "Liste Srl",
            "acquired_at": "2026-11-01T00:00:00Z", "source": "rented",
            "legal_basis": {"basis": "consent"}, "purpose": "telemarketing"
        },
        "mapping": [
            {"column": "name", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "phone", "as": "contact", "kind": "phone"},
            {"column": "email", "as": "contact", "kind": "email"},
            {"column": "iban", "as": "attribute", "name": "iban", "category": "payment"}
        ]
    }))
    .unwrap()
}

async fn import(dir: &Path, csv: &Path, name: &str) -> (f64, u64) {
    let (app, principal, controller) = setup(dir, name).await;
    let grant = app
        .grant_tenant::<ImportLists>(
            &principal,
            controller,
            "telemarketing".parse().unwrap(),
            &ClientContext::default(),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let file = std::fs::File::open(csv).unwrap();
    let summary = app
        .import_list(
            &grant,
            request(),
            Box::new(file),
            Arc::new(ImportProgress::default()),
        )
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(summary.rows, summary.accepted_rows + summary.rejected_rows);
    app.store().close().await;
    (summary.rows as f64 / elapsed, summary.rejected_rows)
}

fn python_baseline(csv: &Path, db: &Path) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/import_baseline.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(csv)
        .arg(db)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python baseline did not run: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .and_then(|r| r.parse().ok())
}

/// Compares our E.164 for every phone of the file with what Python's
/// `phonenumbers` (Google's libphonenumber metadata) produced.
fn agreement(csv: &Path, python: &Path) {
    let theirs = std::fs::read_to_string(python).unwrap_or_default();
    let text = std::fs::read_to_string(csv).unwrap();
    let it = tutela_domain::CountryCode::parse("IT").ok();
    let (mut same, mut total) = (0usize, 0usize);
    for (line, expected) in text.lines().skip(1).zip(theirs.lines()) {
        let phone = line.split(';').nth(1).unwrap_or("");
        let ours = tutela_domain::PhoneNumber::parse(phone, it)
            .map(|p| p.e164().to_owned())
            .unwrap_or_default();
        total += 1;
        same += usize::from(ours == expected);
    }
    println!("  E.164 agreement with python phonenumbers: {same} of {total} numbers");
}

async fn consent_lookup(dir: &Path) {
    let (app, principal, controller) = setup(dir, "consent").await;
    let read = app
        .grant_tenant::<ReadConsent>(
            &principal,
            controller,
            "telemarketing".parse().unwrap(),
            &ClientContext::default(),
        )
        .await
        .unwrap();
    let subjects = bench_subjects(&app, controller, 1000).await;
    let store = app.store().clone();
    let now = SystemClock.now();
    for (i, s) in subjects.iter().enumerate() {
        for k in 0..100i64 {
            let at = now
                .checked_sub(jiff::SignedDuration::from_secs(100_000 - k * 60 - i as i64))
                .unwrap();
            store
                .append_consent(&ConsentEvent {
                    id: ConsentEventId::generate(),
                    controller_id: controller,
                    subject_id: *s,
                    purpose: "telemarketing".parse().unwrap(),
                    channel: [Channel::Phone, Channel::Sms, Channel::Email][k as usize % 3],
                    action: if k % 2 == 1 {
                        ConsentAction::Granted
                    } else {
                        ConsentAction::Withdrawn
                    },
                    at,
                    recorded_at: at,
                    evidence: Evidence::Verbal {
                        agent_role: Role::Agent,
                    },
                    notice_version: Some(1),
                    collected_by: Actor::Operator,
                    collected_where: tutela_domain::Label::parse("bench").unwrap(),
                })
                .await
                .unwrap();
        }
    }
    // One subject in ten registered on the RPO after its grants: those
    // lookups take the second query.
    for s in subjects.iter().step_by(10) {
        store
            .append_registration(
                controller,
                &tutela_domain::RegistryRegistration {
                    subject_id: *s,
                    registry: tutela_domain::Registry::ItRpo,
                    at: now
                        .checked_sub(jiff::SignedDuration::from_secs(10))
                        .unwrap(),
                    recorded_at: now,
                },
            )
            .await
            .unwrap();
    }
    let purpose: tutela_domain::Purpose = "telemarketing".parse().unwrap();
    let rules = tutela_domain::default_voiding_rules();
    let lookups = 50_000;
    let started = Instant::now();
    for i in 0..lookups {
        let s = subjects[(i * 7919) % subjects.len()];
        let last = store
            .last_consent_event(controller, s, &purpose, Channel::Phone, now)
            .await
            .unwrap();
        let voidable = last
            .as_ref()
            .is_some_and(|(e, later)| e.action == ConsentAction::Granted && *later > 0)
            && tutela_domain::voiding_possible(&rules, Channel::Phone, true);
        let registrations = if voidable {
            store.registrations(controller, s, now).await.unwrap()
        } else {
            Vec::new()
        };
        let events: Vec<ConsentEvent> = last.into_iter().map(|(e, _)| e).collect();
        let state = tutela_domain::consent_state(
            &events,
            &registrations,
            &rules,
            tutela_domain::ConsentQuery {
                purpose: &purpose,
                direct_marketing: true,
                channel: Channel::Phone,
                at: now,
            },
        );
        std::hint::black_box(state);
    }
    let raw = started.elapsed().as_secs_f64() / lookups as f64;
    let audited = 2_000;
    let started = Instant::now();
    for i in 0..audited {
        let s = subjects[(i * 7919) % subjects.len()];
        app.consent_state(&read, s, &purpose, Channel::Phone, None)
            .await
            .unwrap();
    }
    let with_audit = started.elapsed().as_secs_f64() / audited as f64;
    println!(
        "current-consent lookup, 100,000 ledger events over 1,000 subjects (one in ten registered on the RPO), SQLite in process: {:.1} µs (store + rule); \
         {:.0} µs through App::consent_state, one at a time, each read audited with a durable commit",
        raw * 1e6,
        with_audit * 1e6
    );
}

async fn bench_subjects(
    app: &App,
    controller: ControllerId,
    n: usize,
) -> Vec<tutela_domain::SubjectId> {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("consent.csv");
    write_csv(&csv, n);
    let principal = Principal::Client(ClientPrincipal {
        id: ClientId::generate(),
        controller,
        capabilities: vec![Capability::ImportLists],
    });
    let grant = app
        .grant_tenant::<ImportLists>(
            &principal,
            controller,
            "telemarketing".parse().unwrap(),
            &ClientContext::default(),
        )
        .await
        .unwrap();
    let summary = app
        .import_list(
            &grant,
            request(),
            Box::new(std::fs::File::open(&csv).unwrap()),
            Arc::default(),
        )
        .await
        .unwrap();
    app.store()
        .list_members(controller, summary.list.id, None, n as u32)
        .await
        .unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = rows();
    let dir = tempfile::tempdir().unwrap();
    if std::env::var("TUTELA_BENCH_ONLY").as_deref() == Ok("consent") {
        consent_lookup(dir.path()).await;
        return;
    }
    let small = dir.path().join("small.csv");
    let full = dir.path().join("full.csv");
    write_csv(&small, n / 4);
    write_csv(&full, n);
    let size = std::fs::metadata(&full).unwrap().len();
    println!(
        "lead-list import: {n} rows, {:.1} MB, SQLite, end to end",
        size as f64 / 1e6
    );
    let before = peak_rss_mib();
    let (small_rate, _) = import(dir.path(), &small, "small").await;
    let after_small = peak_rss_mib();
    let (rate, rejected) = import(dir.path(), &full, "full").await;
    let after_full = peak_rss_mib();
    println!(
        "  tutela: {rate:.0} rows/s ({rejected} rejected); {} rows: {small_rate:.0} rows/s",
        n / 4
    );
    println!(
        "  peak RSS: {before:.0} MiB before, {after_small:.0} MiB after {} rows, {after_full:.0} MiB after {n} rows",
        n / 4
    );
    let python_db = dir.path().join("python.db");
    match python_baseline(&full, &python_db) {
        Some(py) => {
            println!(
                "  python phonenumbers + sqlite3: {py:.0} rows/s; tutela is {:.1}x",
                rate / py
            );
            agreement(&full, &dir.path().join("python.db.e164"));
        }
        None => println!("  python baseline skipped (pip install phonenumbers)"),
    }
    consent_lookup(dir.path()).await;
}
