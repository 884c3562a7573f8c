//! A recording upload killed half-way (SIGKILL on `tutela serve` while the
//! audio streams in) leaves no plaintext anywhere, in the data directory or
//! the process's temporary folder, and no recording, visible or listed;
//! after a restart the same call uploads whole.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::ObjectStore;
use serde_json::{Value, json};
use tutela_domain::{Capability, Clock, SystemClock};

use crate::audit_crash::serve_with_env;
use crate::import_crash::{machine_client, open};

const MARKER: &[u8] = b"PLAINTEXT-AUDIO-MARKER-";
/// Audio sent before the upload stalls: enough for several 5 MiB parts.
const SENT: usize = 24 * 1024 * 1024;

fn audio_piece() -> bytes::Bytes {
    MARKER.iter().copied().cycle().take(1024 * 1024).collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Bytes sealed so far: the staged upload's file, once a part is written.
fn staged_bytes(recordings: &Path) -> u64 {
    if !recordings.exists() {
        return 0;
    }
    files_under(recordings)
        .iter()
        .filter(|p| p.to_string_lossy().contains('#'))
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn form(call: &str, audio: reqwest::Body) -> reqwest::multipart::Form {
    let metadata = json!({"call_id": call, "purposes": ["quality"], "announced": true,
                          "answer": "accepted", "operator": "agent-7"});
    reqwest::multipart::Form::new()
        .part(
            "metadata",
            reqwest::multipart::Part::text(metadata.to_string()),
        )
        .part("audio", reqwest::multipart::Part::stream(audio))
}

#[tokio::test]
async fn a_killed_upload_leaves_no_plaintext_and_no_recording() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let env = [("TMPDIR", tmp.as_os_str())];
    let (mut first, _) = serve_with_env(&data, &env);
    first.kill().unwrap();
    first.wait().unwrap();
    let store = open(&data).await;
    let (controller, token) = machine_client(
        &store,
        crate::recordings::agreement(),
        vec![Capability::UploadRecordings],
    )
    .await;
    let policy = json!({
        "record": true, "retention_days": {"quality": 30}, "sample_basis_points": 10000,
        "announcement": "Questa chiamata è registrata."
    });
    store
        .set_recording_policy(
            controller,
            &"default".parse().unwrap(),
            &policy.to_string(),
            SystemClock.now(),
        )
        .await
        .unwrap();
    store.close().await;

    let (mut server, base) = serve_with_env(&data, &env);
    let url = format!("{base}/v1/controllers/{controller}/recordings?purpose=quality");
    // The PBX sends part of the call, then stalls (the call goes on).
    let pieces = futures_util::stream::iter(
        (0..SENT / (1024 * 1024)).map(|_| Ok::<_, std::io::Error>(audio_piece())),
    )
    .chain(futures_util::stream::pending());
    let uploading = tokio::spawn({
        let (url, token) = (url.clone(), token.clone());
        async move {
            crate::support::http_client()
                .post(url)
                .bearer_auth(token)
                .multipart(form("call-1", reqwest::Body::wrap_stream(pieces)))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // Kill once sealed parts are on disk: the upload is well under way.
    let recordings = data.join("blobs").join("recordings");
    let started = Instant::now();
    while staged_bytes(&recordings) < 10 * 1024 * 1024 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the upload never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let answered = uploading.await.unwrap();
    assert!(
        answered.is_err(),
        "the killed upload was answered: {answered:?}"
    );

    // No plaintext in any file the server could write: the database and
    // its journal, blobs and staged parts, keys, its temporary folder.
    let files = files_under(work.path());
    assert!(files.iter().any(|p| p.to_string_lossy().contains('#')));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER),
            "plaintext audio in {}",
            file.display()
        );
    }

    // Nothing visible: no recording row, no object in the store.
    let store = open(&data).await;
    assert!(
        store
            .recordings(controller, None, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
    let blobs = tutela_app::vault::local_blob_store(&recordings).unwrap();
    let listed: Vec<_> = blobs.list(None).collect().await;
    assert!(listed.is_empty(), "{listed:?}");

    // Restarted, the same call uploads whole.
    let (mut server, base) = serve_with_env(&data, &env);
    let audio = vec![Ok::<_, std::io::Error>(audio_piece())];
    let response = crate::support::http_client()
        .post(format!(
            "{base}/v1/controllers/{controller}/recordings?purpose=quality"
        ))
        .bearer_auth(&token)
        .multipart(form(
            "call-1",
            reqwest::Body::wrap_stream(futures_util::stream::iter(audio)),
        ))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["bytes"], 1024 * 1024);
    server.kill().unwrap();
    server.wait().unwrap();
}
