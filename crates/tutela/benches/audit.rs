//! Audit trail benchmark (issue 4): durable appends with group commit,
//! against plain inserts of the same rows without hashing, side by side in
//! one run, on SQLite and (when `TUTELA_TEST_POSTGRES_URL` names a server)
//! PostgreSQL; then offline verification speed.
//!
//! `scripts/test --run cargo bench -p tutela --bench audit` (starts a
//! throwaway PostgreSQL); `cargo bench -p tutela --bench audit` for SQLite
//! only. `TUTELA_BENCH_EVENTS` sets the events per run (default 200000);
//! `TUTELA_BENCH_STORAGE_ONLY=1` measures the SQLite store alone (prebuilt
//! rows, no producers). After each verification a breakdown times reading
//! and checking apart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tutela_app::audit::{AuditSigner, TrustedKeys, pseudonym, verify_store};
use tutela_app::{App, KeyRing};
use tutela_domain::audit::{
    Action, Actor, AuditEvent, AuditIndex, AuditRecord, ClientContext, ObjectKind, ObjectRef,
    Outcome, encode,
};
use tutela_domain::{Clock, ControllerId, SubjectId, SystemClock, UserId};
use tutela_storage::{AuditBatch, DatabaseUrl, IndexedRecord, OpenMode, Store};

/// Concurrent producers, each appending one event at a time and waiting
/// for it, as request handlers do (`TUTELA_BENCH_PRODUCERS`, default 512).
fn producers() -> usize {
    std::env::var("TUTELA_BENCH_PRODUCERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}
const REPEATS: usize = 3;

fn event(controller: ControllerId, n: usize) -> AuditEvent {
    let subject = pseudonym(&[n as u8; 32], SubjectId(uuid::Uuid::from_u128(n as u128)));
    AuditEvent::new(
        SystemClock.now(),
        Actor::User(UserId(uuid::Uuid::from_u128(7))),
        Action::SubjectRead,
        Outcome::Allowed,
    )
    .controller(controller)
    .role(Some(tutela_domain::Role::Agent))
    .object(ObjectRef::kind_only(ObjectKind::Subject))
    .subject(subject)
    .purpose("customer_care".parse().unwrap())
    .client(ClientContext::new(
        Some("10.20.30.40".parse().unwrap()),
        Some("Dialer/4.2.1 Chrome/120.0"),
        Some("WS-0042"),
        Some(&format!("req-{n:012}")),
    ))
}

/// Runs `PRODUCERS` tasks that together submit `total` events through
/// `submit`, one at a time each; returns events per second.
async fn drive<F, Fut>(total: usize, controller: ControllerId, submit: F) -> f64
where
    F: Fn(AuditEvent) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    let producers = producers();
    for p in 0..producers {
        let submit = submit.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = p;
            while n < total {
                submit(event(controller, n)).await;
                n += producers;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The baseline: the same group commit (one task, a batch of whatever
/// queued), the same rows and columns, but no hashing, chaining, frontier,
/// signature or head check.
fn plain_inserter(store: Arc<dyn Store>) -> mpsc::Sender<(AuditEvent, oneshot::Sender<()>)> {
    let (tx, mut rx) = mpsc::channel::<(AuditEvent, oneshot::Sender<()>)>(16384);
    tokio::spawn(async move {
        let mut seq = 0u64;
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < 8192 {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let records = jobs
                .iter()
                .map(|(e, _)| {
                    seq += 1;
                    IndexedRecord {
                        record: AuditRecord {
                            chain: e.chain(),
                            seq,
                            body: encode(e.chain(), seq, e),
                            chain_hash: [0; 32],
                            seal: None,
                        },
                        index: AuditIndex::of(e),
                    }
                })
                .collect();
            store
                .append_audit(&AuditBatch {
                    records,
                    checkpoints: Vec::new(),
                    expected: Vec::new(),
                })
                .await
                .unwrap();
            for (_, done) in jobs {
                let _ = done.send(());
            }
        }
    });
    tx
}

enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

async fn fresh_store(backend: &Backend, n: usize) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite(dir) => {
            let path = dir.path().join(format!("bench-{n}.db"));
            tutela::store::open_store(&DatabaseUrl::sqlite(path), OpenMode::CreateIfMissing)
                .await
                .unwrap()
        }
        Backend::Postgres(admin) => {
            use sqlx::Connection;
            let name = format!("tutela_bench_{}_{n}", std::process::id());
            let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            let url = DatabaseUrl::parse(&format!("{base}/{name}")).unwrap();
            tutela::store::open_store(&url, OpenMode::CreateIfMissing)
                .await
                .unwrap()
        }
    }
}

async fn controller(store: &Arc<dyn Store>) -> ControllerId {
    let c = tutela_domain::Controller {
        id: ControllerId::generate(),
        name: tutela_domain::Label::parse("Bench").unwrap(),
        country: tutela_domain::CountryCode::parse("IT").unwrap(),
        dpo_contact: tutela_domain::Label::parse("dpo@example.com").unwrap(),
        representative: None,
        created_at: SystemClock.now(),
    };
    store.create_controller(&c).await.unwrap();
    c.id
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn compare(name: &str, backend: &Backend, total: usize) -> Option<Arc<dyn Store>> {
    let mut audited = Vec::new();
    let mut plain = Vec::new();
    let mut last = None;
    for r in 0..REPEATS {
        // Alternate, so drift on the machine hits both alike.
        let store = fresh_store(backend, 2 * r).await;
        let c = controller(&store).await;
        let tx = plain_inserter(store.clone());
        plain.push(
            drive(total, c, move |e| {
                let tx = tx.clone();
                async move {
                    let (done, wait) = oneshot::channel();
                    tx.send((e, done)).await.unwrap();
                    wait.await.unwrap();
                }
            })
            .await,
        );
        store.close().await;

        let store = fresh_store(backend, 2 * r + 1).await;
        let c = controller(&store).await;
        let app = App::new(
            store.clone(),
            Arc::new(SystemClock),
            KeyRing::ephemeral().unwrap(),
            AuditSigner::ephemeral().unwrap(),
            1000,
        );
        let key = app.audit_public_key().to_vec();
        audited.push(
            drive(total, c, move |e| {
                let app = app.clone();
                async move { app.record(vec![e]).await.unwrap() }
            })
            .await,
        );
        last = Some((store, key));
    }
    let (a, p) = (median(audited.clone()), median(plain.clone()));
    println!(
        "{name}: audited appends {a:.0} events/s, plain inserts {p:.0} rows/s, ratio {:.1}% \
         ({total} events, {} producers, median of {REPEATS}; audited runs {audited:.0?}, plain runs {plain:.0?})",
        100.0 * a / p,
        producers()
    );
    let (store, key) = last?;
    // One pass over 25 MB takes a tenth of a second, so a single pass is
    // at the mercy of the VM's scheduling: five passes, median reported.
    let mut passes = Vec::new();
    let mut report = None;
    for _ in 0..VERIFY_PASSES {
        let cpu = cpu_seconds();
        let started = Instant::now();
        report = Some(
            verify_store(store.clone(), &TrustedKeys::new([key.clone()]))
                .await
                .unwrap(),
        );
        passes.push((started.elapsed().as_secs_f64(), cpu_seconds() - cpu));
    }
    let report = report.unwrap();
    passes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (seconds, cpu) = passes[passes.len() / 2];
    let mb = report.bytes() as f64 / 1e6;
    println!(
        "{name}: verified {} events, {mb:.1} MB stored, in {seconds:.3} s: {:.0} MB/s, {:.0} events/s \
         (median of {VERIFY_PASSES} passes, {:.0} to {:.0} MB/s; this process used {cpu:.2} s of CPU: {:.1} cores)",
        report.events(),
        mb / seconds,
        report.events() as f64 / seconds,
        mb / passes[passes.len() - 1].0,
        mb / passes[0].0,
        cpu / seconds
    );
    breakdown(name, &store, &TrustedKeys::new([key])).await;
    Some(store)
}

/// Verification passes over the same store.
const VERIFY_PASSES: usize = 5;

/// CPU time this process has used (user and system), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 12th and 13th of them, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Where verification's time goes: reading alone, then checking alone.
async fn breakdown(name: &str, store: &Arc<dyn Store>, keys: &TrustedKeys) {
    let started = Instant::now();
    let mut pages = Vec::new();
    let mut terms = 0usize;
    let mut after = None;
    let mut terms_time = 0.0;
    loop {
        let page = store.audit_scan(after, 256).await.unwrap();
        let t = Instant::now();
        let (chain, stored) = match (page.first(), page.last()) {
            (Some(a), Some(b)) => (
                a.chain,
                store
                    .audit_terms(a.chain, a.first_seq, b.first_seq)
                    .await
                    .unwrap(),
            ),
            _ => break,
        };
        terms += stored.len();
        terms_time += t.elapsed().as_secs_f64();
        let done = page.len() < 256;
        after = page.last().map(|s| (s.chain, s.first_seq));
        pages.push((
            page,
            tutela_app::audit::StoredTerms::new(vec![(chain, stored)]),
        ));
        if done {
            break;
        }
    }
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut v =
        tutela_app::audit::Verification::new(keys, store.audit_checkpoints(None).await.unwrap());
    let mut segments = 0;
    for (page, stored) in &pages {
        v.check_page(page, stored).unwrap();
        segments += page.len();
    }
    v.finish().unwrap();
    let both = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let prechecked: Vec<_> = pages
        .iter()
        .map(|(page, stored)| tutela_app::audit::precheck_page(page, stored))
        .collect();
    let precheck = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut v =
        tutela_app::audit::Verification::new(keys, store.audit_checkpoints(None).await.unwrap());
    for page in prechecked {
        v.feed_page(page).unwrap();
    }
    v.finish().unwrap();
    let feed = started.elapsed().as_secs_f64();
    println!(
        "{name}: reading {segments} segments and {terms} terms alone {read:.3} s (terms {terms_time:.3} s); \
         checking alone {both:.3} s: prechecking on every core {precheck:.3} s, then the chains on one {feed:.3} s"
    );
}

/// The store alone: prebuilt rows appended in batches of 8192, no producers.
async fn storage_alone(name: &str, backend: &Backend, total: usize) {
    let store = fresh_store(backend, 99).await;
    let c = controller(&store).await;
    let records: Vec<IndexedRecord> = (0..total)
        .map(|n| {
            let e = event(c, n);
            IndexedRecord {
                record: AuditRecord {
                    chain: e.chain(),
                    seq: n as u64,
                    body: encode(e.chain(), n as u64, &e),
                    chain_hash: [0; 32],
                    seal: None,
                },
                index: AuditIndex::of(&e),
            }
        })
        .collect();
    let started = Instant::now();
    for batch in records.chunks(8192) {
        store
            .append_audit(&AuditBatch {
                records: batch.to_vec(),
                checkpoints: Vec::new(),
                expected: Vec::new(),
            })
            .await
            .unwrap();
    }
    println!(
        "{name}: storage alone {:.0} rows/s",
        total as f64 / started.elapsed().as_secs_f64()
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("TUTELA_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    if std::env::var("TUTELA_BENCH_STORAGE_ONLY").is_ok() {
        storage_alone(
            "sqlite",
            &Backend::Sqlite(tempfile::tempdir().unwrap()),
            total,
        )
        .await;
        return;
    }
    compare(
        "sqlite",
        &Backend::Sqlite(tempfile::tempdir().unwrap()),
        total,
    )
    .await;
    match std::env::var("TUTELA_TEST_POSTGRES_URL") {
        Ok(url) => {
            compare("postgres", &Backend::Postgres(url), total).await;
        }
        Err(_) => {
            println!("postgres: skipped (TUTELA_TEST_POSTGRES_URL not set; use scripts/test --run)")
        }
    }
}
