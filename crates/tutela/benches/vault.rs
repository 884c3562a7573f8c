//! Recordings vault benchmark (issue 7): encrypt-and-store throughput to a
//! directory on tmpfs beside `openssl speed -evp aes-256-gcm` on 16 KiB
//! blocks in the same run; peak memory for a 2 GiB upload and download;
//! erasing a subject with 1,000 recordings, small and large.
//!
//! `scripts/test --run cargo bench -p tutela --bench vault` (erasure on
//! PostgreSQL too); `cargo bench -p tutela --bench vault` for SQLite only.
//! `TUTELA_BENCH_ONLY=throughput|memory|erase` runs one part;
//! `TUTELA_BENCH_GIB` sets the memory run's size (default 2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use tutela_app::audit::AuditSigner;
use tutela_app::grants::{EraseSubjects, ListenRecordings, ManageRecordings, UploadRecordings};
use tutela_app::vault::{LocalKeyFiles, RecordingUpload, Vault};
use tutela_app::{App, KeyRing, NewSubject, TenantGrant};
use tutela_domain::audit::ClientContext;
use tutela_domain::{
    AgreementDraft, AgreementTerms, Capability, ClientId, ClientPrincipal, ContactKind,
    ControllerId, PersonAnswer, Principal, RecordingPolicy, RecordingPolicyDraft, SystemClock,
};
use tutela_storage::Store;

const MIB: u64 = 1024 * 1024;
/// What the PBX hands over per read: axum's multipart pieces are of this
/// order.
const PIECE: usize = 64 * 1024;

fn only(part: &str) -> bool {
    std::env::var("TUTELA_BENCH_ONLY").map_or(true, |v| v == part)
}

fn terms() -> AgreementTerms {
    let draft: AgreementDraft = serde_json::from_value(serde_json::json!({
        "reference": "BENCH-REC",
        "purposes": [{"purpose": "quality", "legal_basis": {"basis": "legitimate_interest", "balancing_test": "LIA-7"}}],
        "categories": ["identity", "contact"],
        "retention": [],
        "operator_countries": ["IT"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    draft.try_into().unwrap()
}

enum Backend {
    Sqlite,
    Postgres(String),
}

async fn open(backend: &Backend, dir: &Path, name: &str) -> Arc<dyn Store> {
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres(admin) => Some(admin.as_str()),
    };
    common::fresh_store(postgres, dir, name).await
}

struct Bench {
    app: App,
    principal: Principal,
    controller: ControllerId,
}

impl Bench {
    /// An application on `backend` with its vault under `dir` (blobs and
    /// KEK files), one controller recording every call for quality.
    async fn new(backend: &Backend, dir: &Path, name: &str) -> Self {
        let store = open(backend, dir, name).await;
        let controller = common::bench_controller(&store, &terms()).await;
        let vault = Vault::local(
            &dir.join(format!("{name}-blobs")),
            Arc::new(LocalKeyFiles::new(dir.join(format!("{name}-keys")))),
        )
        .unwrap();
        let app = App::new(
            store,
            Arc::new(SystemClock),
            KeyRing::ephemeral().unwrap(),
            AuditSigner::ephemeral().unwrap(),
            1000,
        )
        .with_vault(vault);
        let principal = Principal::Client(ClientPrincipal {
            id: ClientId::generate(),
            controller,
            capabilities: vec![
                Capability::UploadRecordings,
                Capability::ListenRecordings,
                Capability::ManageRecordings,
                Capability::WriteSubjects,
                Capability::EraseSubjects,
            ],
        });
        let bench = Self {
            app,
            principal,
            controller,
        };
        let policy: RecordingPolicy =
            serde_json::from_value::<RecordingPolicyDraft>(serde_json::json!({
                "record": true, "retention_days": {"quality": 30},
                "sample_basis_points": 10000, "announcement": "Questa chiamata è registrata.",
                "listen_quota_basis_points": 10000
            }))
            .unwrap()
            .try_into()
            .unwrap();
        let manage = bench.grant::<ManageRecordings>().await;
        bench
            .app
            .set_recording_policy(&manage, &"default".parse().unwrap(), &policy)
            .await
            .unwrap();
        bench
    }

    async fn grant<P: tutela_app::grants::TenantPermission>(&self) -> TenantGrant<P> {
        self.app
            .grant_tenant::<P>(
                &self.principal,
                self.controller,
                "quality".parse().unwrap(),
                &ClientContext::default(),
            )
            .await
            .unwrap()
    }

    /// Uploads `len` bytes of audio handed over in 64 KiB pieces (the same
    /// random piece again and again, so the source holds no memory).
    async fn upload(
        &self,
        grant: &TenantGrant<UploadRecordings>,
        call: usize,
        subject: Option<tutela_domain::SubjectId>,
        piece: &Bytes,
        len: u64,
    ) -> tutela_domain::RecordingId {
        let upload = RecordingUpload {
            campaign: "default".parse().unwrap(),
            call: format!("call-{call}").parse().unwrap(),
            purposes: ["quality".parse().unwrap()].into(),
            announced: true,
            answer: PersonAnswer::Accepted,
            pauses: vec![],
            operator: "ext-201".parse().unwrap(),
            subject,
            recorded_at: None,
        };
        let piece = piece.clone();
        let pieces = futures_util::stream::unfold(len, move |left| {
            let piece = piece.clone();
            async move {
                (left > 0).then(|| {
                    let n = left.min(piece.len() as u64);
                    (Ok(piece.slice(..n as usize)), left - n)
                })
            }
        });
        let (id, stored) = self
            .app
            .upload_recording(grant, upload, Box::pin(pieces))
            .await
            .unwrap();
        assert_eq!(stored, len);
        id
    }
}

fn random_piece() -> Bytes {
    let mut piece = vec![0u8; PIECE];
    getrandom::fill(&mut piece).unwrap();
    Bytes::from(piece)
}

/// `openssl speed -evp aes-256-gcm -bytes 16384` in bytes per second.
fn openssl_speed(seconds: u32) -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args([
            "speed",
            "-evp",
            "aes-256-gcm",
            "-bytes",
            "16384",
            "-seconds",
        ])
        .arg(seconds.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with("AES-256-GCM"))?;
    let thousands: f64 = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(thousands * 1000.0)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident size (`VmHWM`) to the current one.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

async fn throughput(dir: &Path) {
    let bench = Bench::new(&Backend::Sqlite, dir, "throughput").await;
    let grant = bench.grant::<UploadRecordings>().await;
    let piece = random_piece();
    let len = 512 * MIB;
    // Warm up the KEK file, the page cache and the connection.
    bench.upload(&grant, 0, None, &piece, 16 * MIB).await;
    println!(
        "encrypt-and-store to tmpfs, {} MiB per recording:",
        len / MIB
    );
    for round in 1..=3 {
        let openssl = openssl_speed(2);
        let started = Instant::now();
        bench.upload(&grant, round, None, &piece, len).await;
        let ours = len as f64 / started.elapsed().as_secs_f64();
        let plain = store_only(&bench, round, len).await;
        match openssl {
            Some(openssl) => println!(
                "  run {round}: tutela {:.0} MB/s, openssl speed 16 KiB {:.0} MB/s: {:.0}%; \
                 the same bytes stored without sealing {:.0} MB/s",
                ours / 1e6,
                openssl / 1e6,
                100.0 * ours / openssl,
                plain / 1e6
            ),
            None => println!(
                "  run {round}: tutela {:.0} MB/s (openssl not found)",
                ours / 1e6
            ),
        }
    }
}

/// The object store alone: `len` bytes in 1 MiB buffers through the same
/// multipart upload, no sealing (what storing costs on this filesystem).
async fn store_only(bench: &Bench, round: usize, len: u64) -> f64 {
    use object_store::{ObjectStoreExt, WriteMultipart};
    let blobs = bench.app.recording_blobs().unwrap();
    let mut buffer = vec![0u8; MIB as usize];
    getrandom::fill(&mut buffer).unwrap();
    let buffer = Bytes::from(buffer);
    let path = object_store::path::Path::from(format!("plain-{round}"));
    let started = Instant::now();
    let upload = blobs.put_multipart(&path).await.unwrap();
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 5 * MIB as usize);
    for _ in 0..len / MIB {
        writer.wait_for_capacity(2).await.unwrap();
        writer.put(buffer.clone());
    }
    writer.finish().await.unwrap();
    len as f64 / started.elapsed().as_secs_f64()
}

async fn memory(dir: &Path) {
    let gib: u64 = std::env::var("TUTELA_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let bench = Bench::new(&Backend::Sqlite, dir, "memory").await;
    let upload = bench.grant::<UploadRecordings>().await;
    let listen = bench.grant::<ListenRecordings>().await;
    let piece = random_piece();
    let len = gib * 1024 * MIB;
    // No warm-up: buffers the allocator keeps from an earlier upload would
    // hide what this one needs.
    reset_peak();
    let base = status_kib("VmRSS:");
    let started = Instant::now();
    let id = bench.upload(&upload, 1, None, &piece, len).await;
    let up_secs = started.elapsed().as_secs_f64();
    let up_peak = status_kib("VmHWM:");

    reset_peak();
    let started = Instant::now();
    let audio = bench
        .app
        .listen_recording(&listen, id, None, None)
        .await
        .unwrap();
    let mut body = audio.body;
    let mut read = 0u64;
    while let Some(piece) = body.next().await {
        read += piece.unwrap().len() as u64;
    }
    assert_eq!(read, len);
    let down_secs = started.elapsed().as_secs_f64();
    let down_peak = status_kib("VmHWM:");
    println!(
        "peak resident memory for a {gib} GiB recording (process at rest: {:.1} MiB):",
        base as f64 / 1024.0
    );
    for (what, peak, secs) in [
        ("upload", up_peak, up_secs),
        ("download", down_peak, down_secs),
    ] {
        println!(
            "  {what}: peak {:.1} MiB, {:.1} MiB above rest; {:.0} MB/s",
            peak as f64 / 1024.0,
            peak.saturating_sub(base) as f64 / 1024.0,
            len as f64 / secs / 1e6
        );
    }
}

async fn erase(backend: &Backend, label: &str, dir: &Path, size: u64) {
    let bench = Bench::new(backend, dir, &format!("erase{size}")).await;
    let upload = bench.grant::<UploadRecordings>().await;
    let write = bench.grant::<tutela_app::grants::WriteSubjects>().await;
    let erase = bench.grant::<EraseSubjects>().await;
    let subject = bench
        .app
        .create_subject(
            &write,
            NewSubject {
                attributes: vec![],
                contacts: vec![(ContactKind::Phone, "+393471234567".into())],
                default_region: None,
            },
        )
        .await
        .unwrap()
        .id;
    let piece = random_piece();
    let started = Instant::now();
    for call in 0..1000 {
        bench
            .upload(&upload, call, Some(subject), &piece, size)
            .await;
    }
    let stored = started.elapsed().as_secs_f64();
    let started = Instant::now();
    bench.app.erase_subject(&erase, subject).await.unwrap();
    let erased = started.elapsed().as_secs_f64();
    let listen = bench.grant::<ListenRecordings>().await;
    let page = bench
        .app
        .recordings_for_review(&listen, None, 10)
        .await
        .unwrap();
    println!(
        "  {label}, 1,000 recordings of {} KiB: erase {:.1} ms (stored in {stored:.1} s; {} readable after)",
        size / 1024,
        erased * 1e3,
        page.len()
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    // Memory first, in a process that has not yet allocated for another
    // upload (the allocator keeps what it was given).
    if only("memory") {
        memory(dir.path()).await;
    }
    if only("throughput") {
        throughput(dir.path()).await;
    }
    if only("erase") {
        println!("erasing a subject with 1,000 recordings:");
        let mut backends = vec![(Backend::Sqlite, "sqlite")];
        if let Ok(url) = std::env::var("TUTELA_TEST_POSTGRES_URL") {
            backends.push((Backend::Postgres(url), "postgres"));
        }
        for (backend, label) in &backends {
            for size in [1024, MIB] {
                erase(backend, label, dir.path(), size).await;
            }
        }
    }
}
