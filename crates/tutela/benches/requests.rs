//! Data-subject requests benchmark (issue 8): the access bundle (without
//! recording audio) for one person in a store of 1,000,000 subjects, and
//! the erasure of one person there, on SQLite and (when
//! `TUTELA_TEST_POSTGRES_URL` names a server) PostgreSQL.
//!
//! `scripts/test --run cargo bench -p tutela --bench requests`;
//! `cargo bench -p tutela --bench requests` for SQLite only.
//! `TUTELA_BENCH_SUBJECTS` sets the store's size (default 1000000).

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

use serde_json::json;
use tutela_app::audit::AuditSigner;
use tutela_app::grants::{ImportLists, ManageRequests, TakeRequests};
use tutela_app::requests::{Answer, NewRequest, RequestDelivery};
use tutela_app::{App, ImportRequest, KeyRing, TenantGrant};
use tutela_domain::audit::ClientContext;
use tutela_domain::{
    AgreementDraft, Capability, ClientId, ClientPrincipal, Clock, ControllerId, Principal,
    RequestId, SystemClock,
};

fn subjects() -> usize {
    std::env::var("TUTELA_BENCH_SUBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

const RUNS: usize = 21;

/// Row `i` of the generated list: a distinct mobile and e-mail each.
fn phone(i: usize) -> String {
    format!("3{:09}", 400_000_000 + i)
}

fn write_csv(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "name;phone;email").unwrap();
    for i in 0..n {
        writeln!(out, "Persona {i};{};p{i}@example.it", phone(i)).unwrap();
    }
    out.flush().unwrap();
}

fn agreement() -> tutela_domain::AgreementTerms {
    let draft: AgreementDraft = serde_json::from_value(json!({
        "reference": "BENCH-DSR",
        "purposes": [
            {"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "direct_marketing": true},
            {"purpose": "data_subject_rights", "legal_basis": {"basis": "legal_obligation"}}
        ],
        "categories": ["identity", "contact"],
        "retention": [{"category": "contact", "purpose": "telemarketing", "days": 90}],
        "operator_countries": ["IT"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    draft.try_into().unwrap()
}

struct Bench {
    app: App,
    principal: Principal,
    controller: ControllerId,
    outbox: std::path::PathBuf,
}

impl Bench {
    async fn grant<P: tutela_app::grants::TenantPermission>(
        &self,
        purpose: &str,
    ) -> TenantGrant<P> {
        self.app
            .grant_tenant::<P>(
                &self.principal,
                self.controller,
                purpose.parse().unwrap(),
                &ClientContext::default(),
            )
            .await
            .unwrap()
    }

    /// A request of `kind` by row `i`'s phone, verified with the code sent
    /// and under way.
    async fn verified(&self, kind: &str, i: usize) -> RequestId {
        let take = self.grant::<TakeRequests>("data_subject_rights").await;
        let manage = self.grant::<ManageRequests>("data_subject_rights").await;
        let new: NewRequest = serde_json::from_value(json!({
            "kind": kind, "channel": "phone", "language": "it",
            "identifiers": [{"kind": "phone", "value": phone(i)}]
        }))
        .unwrap();
        let view = self.app.take_request(&take, new).await.unwrap();
        let prefix = format!("{}-", view.id);
        let file = std::fs::read_dir(self.outbox.join("codes"))
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .unwrap();
        let message: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        let code = message["code"].as_str().unwrap();
        self.app
            .confirm_request_code(&take, view.id, code)
            .await
            .unwrap();
        self.app.start_request(&manage, view.id).await.unwrap();
        view.id
    }
}

fn millis(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

async fn run(label: &str, backend: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let n = subjects();
    let csv = dir.path().join("people.csv");
    write_csv(&csv, n);
    let store = common::fresh_store(backend.as_deref(), dir.path(), "requests").await;
    let controller = common::bench_controller(&store, &agreement()).await;
    let outbox = dir.path().join("outbox");
    let app = App::new(
        store,
        Arc::new(SystemClock),
        KeyRing::ephemeral().unwrap(),
        AuditSigner::ephemeral().unwrap(),
        1000,
    )
    .with_request_delivery(RequestDelivery::files(&outbox))
    .with_erasure_journal(tutela_app::erasure_journal::ErasureJournal::new(
        dir.path().join("journal.jsonl"),
    ));
    let bench = Bench {
        app,
        principal: Principal::Client(ClientPrincipal {
            id: ClientId::generate(),
            controller,
            capabilities: vec![
                Capability::ImportLists,
                Capability::TakeRequests,
                Capability::ManageRequests,
            ],
        }),
        controller,
        outbox,
    };
    let started = Instant::now();
    let import = bench.grant::<ImportLists>("telemarketing").await;
    let request: ImportRequest = serde_json::from_value(json!({
        "name": "bench",
        "provenance": {
            "supplier": "Liste Srl", "data_owner": "Liste Srl",
            "acquired_at": SystemClock.now().to_string(), "source": "rented",
            "legal_basis": {"basis": "consent"}, "purpose": "telemarketing"
        },
        "mapping": [
            {"column": "name", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "phone", "as": "contact", "kind": "phone"},
            {"column": "email", "as": "contact", "kind": "email"}
        ]
    }))
    .unwrap();
    let summary = bench
        .app
        .import_list(
            &import,
            request,
            Box::new(std::fs::File::open(&csv).unwrap()),
            Arc::default(),
        )
        .await
        .unwrap();
    assert_eq!(summary.new_subjects as usize, n);
    println!(
        "{label}: {n} subjects stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Access: one person in the middle of the store.
    let manage = bench.grant::<ManageRequests>("data_subject_rights").await;
    let access = bench.verified("access", n / 2).await;
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let bundle = bench.app.access_bundle(&manage, access).await.unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(bundle.lists.len(), 1);
    }
    let (median, worst) = millis(&mut samples);
    println!("  access bundle: median {median:.1} ms, slowest {worst:.1} ms of {RUNS}");

    // Erasure: one request answered each run, a different person each time.
    let mut erase = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let id = bench.verified("erasure", n / 3 + run).await;
        let started = Instant::now();
        bench
            .app
            .answer_request(&manage, id, Answer::default())
            .await
            .unwrap();
        erase.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let (median, worst) = millis(&mut erase);
    println!(
        "  erasure answered (erase, journal, letter): median {median:.1} ms, slowest {worst:.1} ms of {RUNS}"
    );
    bench.app.store().close().await;
}

#[tokio::main]
async fn main() {
    run("sqlite", None).await;
    match std::env::var("TUTELA_TEST_POSTGRES_URL") {
        Ok(url) => run("postgres", Some(url)).await,
        Err(_) => println!("postgres: skipped (TUTELA_TEST_POSTGRES_URL not set)"),
    }
}
