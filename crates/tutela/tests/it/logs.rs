//! Personal data never reaches the logs: requests carrying a marker name and
//! phone number, accepted and refused, leave no trace of either in any log
//! line, at the most verbose level.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde_json::json;

use crate::scenario::Scenario;
use crate::support::Backend;

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this test binary, at trace level, to [`LOG`].
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_writer(|| Capture)
            .with_ansi(false)
            .try_init()
            .expect("no other global subscriber in the test binary");
    });
}

const NAME: &str = "Zebulon Quagmire";
const PHONE: &str = "+39 347 555 0199";
const PHONE_DIGITS: &str = "3475550199";

#[tokio::test]
async fn marker_name_and_phone_appear_in_no_log_line() {
    capture_logs();
    let s = Scenario::new(Backend::Sqlite).await;
    let agent = s.staff("agent.a", "agent", &s.a, true).await;
    let token = Some(agent.token.as_str());
    let subjects = format!("/v1/controllers/{}/subjects", s.a);
    let ok = format!("{subjects}?purpose=customer_care");

    // Accepted: the subject is recorded and read back.
    let id = s.subject(&agent.token, &s.a, NAME, PHONE).await;
    let (status, body) = s
        .server
        .call(
            "GET",
            &format!("{subjects}/{id}?purpose=customer_care"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.to_string().contains("Quagmire"),
        "the agent does see the name: {body}"
    );

    // Refused in many ways, each carrying the marker somewhere.
    let refused = [
        (
            "POST",
            ok.clone(),
            Some(json!({"attributes": [{"name": NAME, "category": "identity", "value": PHONE}]})),
        ),
        (
            "POST",
            ok.clone(),
            Some(json!({"attributes": [{"name": "phone", "category": "payment", "value": PHONE}]})),
        ),
        (
            "POST",
            ok.clone(),
            Some(json!({"attributes": [], NAME: PHONE})),
        ),
        (
            "POST",
            ok.clone(),
            Some(json!({"attributes": [{"name": "phone", "category": PHONE, "value": NAME}]})),
        ),
        ("GET", format!("{subjects}?purpose={PHONE_DIGITS}"), None),
        (
            "GET",
            format!("{subjects}/{PHONE_DIGITS}?purpose=customer_care"),
            None,
        ),
        (
            "GET",
            format!("{subjects}?purpose=customer_care&after={PHONE_DIGITS}"),
            None,
        ),
        (
            "POST",
            "/v1/users".into(),
            Some(json!({"username": NAME, "password": PHONE, "role": "agent"})),
        ),
    ];
    for (method, path, body) in refused {
        let (status, answer) = s.server.call(method, &path, token, body).await;
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        assert!(!answer.to_string().contains("Quagmire"), "{answer}");
        assert!(!answer.to_string().contains(PHONE_DIGITS), "{answer}");
    }
    let (status, _) = s.server.login(PHONE, NAME, None).await;
    assert_eq!(status, 401);
    let (status, _) = s.server.login("zebulon.quagmire", PHONE, None).await;
    assert_eq!(status, 401);
    let raw = s
        .server
        .client
        .post(s.server.url(&ok))
        .bearer_auth(&agent.token)
        .header("content-type", "application/json")
        .body(format!("{{\"attributes\": [\"{NAME} {PHONE}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    // Headers the audit trail keeps something of: only product tokens of
    // the user agent survive, never its comments.
    let ua = s
        .server
        .client
        .get(s.server.url(&ok))
        .bearer_auth(&agent.token)
        .header("user-agent", format!("Dialer/2.1 ({NAME}; {PHONE})"))
        .send()
        .await
        .unwrap();
    assert_eq!(ua.status(), 200);

    // The audit store holds events of all of that, and no marker.
    let store = s.server.store().clone();
    let (records, mut stored) = crate::support::all_audit_records(&store).await;
    let events = records.len();
    for r in &records {
        stored.extend_from_slice(&r.body);
    }
    assert!(events >= 15, "requests were audited ({events} events)");
    let stored = String::from_utf8_lossy(&stored).to_lowercase();
    assert!(
        stored.contains("subject.read") && stored.contains("dialer/2.1"),
        "the scan sees events"
    );
    for marker in [
        "quagmire",
        "zebulon",
        PHONE_DIGITS,
        "347 555 0199",
        "3475550199",
    ] {
        assert!(!stored.contains(marker), "`{marker}` is in the audit store");
    }
    s.server.stop().await;

    let log = String::from_utf8_lossy(&LOG.lock().unwrap()).to_lowercase();
    assert!(
        log.contains("data subject recorded") && log.contains("data subject read"),
        "the capture works"
    );
    assert!(log.contains("request refused"), "refusals are logged");
    for marker in ["quagmire", "zebulon", PHONE_DIGITS, "347 555 0199"] {
        if let Some(at) = log.find(marker) {
            let line_start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = log[at..].find('\n').map_or(log.len(), |i| at + i);
            panic!(
                "`{marker}` is in a log line: {}",
                &log[line_start..line_end]
            );
        }
    }
}
