//! The README's first command, for real: the `tutela` binary serves on the
//! embedded defaults, prints the setup token, answers, and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn tutela() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutela"));
    // Only what the test sets: no TUTELA_* from the developer's shell.
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[tokio::test]
async fn serve_prints_the_setup_token_answers_and_stops_gracefully() {
    let work = tempfile::tempdir().unwrap();
    let mut child = tutela()
        .current_dir(work.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut base = None;
    let mut token = None;
    while base.is_none() || token.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("serve printed its banner");
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.trim().strip_prefix("SETUP TOKEN: ") {
            token = Some(rest.to_owned());
        }
    }
    let base = base.unwrap();
    assert_eq!(token.as_deref().map(str::len), Some(64));
    assert!(
        work.path().join("tutela-data/tutela.db").is_file(),
        "embedded default data dir"
    );
    assert!(work.path().join("tutela-data/keys/root.key").is_file());
    assert!(work.path().join("tutela-data/blobs").is_dir());

    let client = crate::support::http_client();
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
}

#[test]
fn unknown_database_scheme_refuses_to_start_and_creates_nothing() {
    let work = tempfile::tempdir().unwrap();
    let output = tutela()
        .current_dir(work.path())
        .env(
            "TUTELA_DATABASE_URL",
            "mysql://root:hunter2@localhost/tutela",
        )
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(78),
        "configuration error exit code"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`mysql` is not supported") && stderr.contains("TUTELA_DATABASE_URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!work.path().join("tutela-data").exists(), "nothing created");
}
