//! No acknowledged operation without its event, even when the process is
//! killed: a burst of audited requests, SIGKILL in the middle, fifty times
//! over one data directory. After each kill, every request that got its
//! answer has its event in the store and the whole trail verifies.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tutela_app::audit::{TrustedKeys, verify_store};
use tutela_domain::audit::decode;
use tutela_storage::{OpenMode, Store};
use tutela_storage_sqlite::SqliteStore;

const ROUNDS: usize = 50;
const CLIENTS: usize = 8;

pub fn serve(data_dir: &std::path::Path) -> (std::process::Child, String) {
    serve_with_env(data_dir, &[])
}

/// `tutela serve` on `data_dir` with nothing of this process's environment
/// but `PATH` and `env`; returns the child and its base URL.
pub fn serve_with_env(
    data_dir: &std::path::Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tutela"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("serve printed its banner").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (child, base)
}

async fn stored_request_ids(store: &Arc<dyn Store>) -> HashSet<String> {
    let (records, _) = crate::support::all_audit_records(store).await;
    records
        .iter()
        .filter_map(|r| decode(&r.body).unwrap().2.client.request_id)
        .collect()
}

#[tokio::test]
async fn every_acknowledged_event_survives_sigkill_and_the_chain_verifies_each_time() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let client = crate::support::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut acknowledged_total = 0;
    for round in 0..ROUNDS {
        let (mut child, base) = serve(&data);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
            clients.push(tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("crash-{round}-{c}-{i}");
                    let answer = client
                        .get(format!("{base}/v1/auth/me"))
                        .bearer_auth("tus_not_a_session")
                        .header("x-request-id", &id)
                        .send()
                        .await;
                    match answer {
                        // A refusal is an answer: its event was stored first.
                        Ok(r) if r.status() == 401 => acked.lock().unwrap().push(id),
                        _ => break,
                    }
                }
            }));
        }
        // The burst must be under way before the kill timer starts: on a
        // loaded machine the first answer can take longer than the delay.
        let started = std::time::Instant::now();
        while acked.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Kill at a different point of the burst each round.
        tokio::time::sleep(Duration::from_millis(10 + (round as u64 * 7) % 80)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for c in clients {
            c.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "round {round}: no request was answered within 20 s"
        );
        acknowledged_total += acked.len();

        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&data.join("tutela.db"), OpenMode::MustExist)
                .await
                .unwrap(),
        );
        let public = std::fs::read_to_string(data.join("keys/audit-signing.pub")).unwrap();
        let keys = TrustedKeys::new([hex::decode(public.trim()).unwrap()]);
        let report = verify_store(store.clone(), &keys)
            .await
            .unwrap_or_else(|e| panic!("round {round}: the trail does not verify: {e}"));
        assert!(report.events() as usize >= acknowledged_total);
        let stored = stored_request_ids(&store).await;
        let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged but not stored: {lost:?}"
        );
        store.close().await;
    }
}
