//! The audit trail end to end: who read which subject, who may read the
//! trail, erasure, and `tutela audit verify` catching every kind of
//! tampering done directly in each backend.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::scenario::{Scenario, Staff, code_at, totp};
use crate::support::{Backend, on_each_backend};

fn tutela() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutela"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// Runs `tutela audit verify` with the given arguments: (success, output).
fn verify(args: &[&str]) -> (bool, String) {
    let out = tutela()
        .args(["audit", "verify"])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

impl Scenario {
    /// A DPO of `controller`, attested and MFA-enrolled, signed in.
    async fn dpo(&self, username: &str, controller: &str) -> Staff {
        let pending = self.staff(username, "dpo", controller, true).await;
        let (status, enrol) = self
            .server
            .call("POST", "/v1/auth/mfa/enroll", Some(&pending.token), None)
            .await;
        assert_eq!(status, 200, "{enrol}");
        let code = code_at(&totp(enrol["secret"].as_str().unwrap()), self.clock_now());
        let (status, body) = self
            .server
            .call(
                "POST",
                "/v1/auth/mfa/confirm",
                Some(&pending.token),
                Some(json!({"totp": code})),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        pending
    }
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_dpo_sees_who_read_a_subject_and_why_and_erasure_unlinks_them() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let agent = s.staff("agent.a", "agent", &s.a, true).await;
        let dpo = s.dpo("dpo.a", &s.a).await;
        let subject = s
            .subject(&agent.token, &s.a, "Maria Bianchi", "+393471112233")
            .await;
        let other = s
            .subject(&agent.token, &s.a, "Luca Verdi", "+393471112244")
            .await;
        let read = format!(
            "/v1/controllers/{}/subjects/{subject}?purpose=customer_care",
            s.a
        );
        let (status, _) = s.server.call("GET", &read, Some(&agent.token), None).await;
        assert_eq!(status, 200);
        // A refused read is an event too, with its reason.
        let refused = format!(
            "/v1/controllers/{}/subjects/{subject}?purpose=marketing",
            s.a
        );
        let (status, _) = s
            .server
            .call("GET", &refused, Some(&agent.token), None)
            .await;
        assert_eq!(status, 403);

        let events = format!("/v1/audit/{}/events?subject={subject}", s.a);
        let (status, page) = s.server.call("GET", &events, Some(&dpo.token), None).await;
        assert_eq!(status, 200, "{page}");
        let agent_actor = format!("user:{}", agent.id);
        assert_eq!(
            actions(&page),
            [
                format!("subject.write {agent_actor} allowed"),
                format!("subject.read {agent_actor} allowed"),
            ]
        );
        let first = &page["events"][1];
        assert_eq!(first["purpose"], "customer_care");
        assert_eq!(first["role"], "agent");
        assert_eq!(first["address"], "127.0.0.1");
        assert!(first["request_id"].is_string());
        assert_eq!(first["object"], "subject");
        let pseudonym = first["subject"].as_str().unwrap().to_owned();
        assert_eq!(pseudonym.len(), 64);
        assert!(
            !page.to_string().contains(&subject),
            "the trail names the subject only by pseudonym"
        );

        // By actor, with paging; the refusal carries its reason.
        let by_actor = format!("/v1/audit/{}/events?actor={agent_actor}", s.a);
        let (_, page1) = s
            .server
            .call(
                "GET",
                &format!("{by_actor}&limit=2"),
                Some(&dpo.token),
                None,
            )
            .await;
        assert_eq!(page1["events"].as_array().unwrap().len(), 2);
        let after = page1["next_after"].as_u64().unwrap();
        let (_, page2) = s
            .server
            .call(
                "GET",
                &format!("{by_actor}&after={after}&limit=100"),
                Some(&dpo.token),
                None,
            )
            .await;
        let all: Vec<String> = actions(&page1).into_iter().chain(actions(&page2)).collect();
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(all.contains(&format!("subject.read {agent_actor} denied")));
        let denied = page2["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["outcome"] == "denied")
            .unwrap();
        assert_eq!(denied["reason"], "purpose_not_allowed");
        assert!(page2["next_after"].is_null());

        // The DPO's reads are themselves in the trail.
        let by_dpo = format!("/v1/audit/{}/events?actor=user:{}", s.a, dpo.id);
        let (_, reads) = s.server.call("GET", &by_dpo, Some(&dpo.token), None).await;
        assert!(
            actions(&reads)
                .iter()
                .filter(|a| a.starts_with("audit.read"))
                .count()
                >= 3,
            "{reads}"
        );

        // Only DPOs and auditors: an agent in scope is refused, an outsider sees nothing.
        let (status, body) = s
            .server
            .call("GET", &events, Some(&agent.token), None)
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
        let outsider = s.dpo("dpo.b", &s.b).await;
        let (status, _) = s
            .server
            .call("GET", &events, Some(&outsider.token), None)
            .await;
        assert_eq!(status, 404);
        let (status, platform) = s
            .server
            .call(
                "GET",
                "/v1/audit/platform/events?limit=1000",
                Some(&dpo.token),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            actions(&platform)
                .iter()
                .any(|a| a.starts_with("auth.login")),
            "{platform}"
        );

        // Erasure: the subject's secret goes, their events stay and verify,
        // but nothing leads from the person to them any more.
        let erase = format!(
            "/v1/controllers/{}/subjects/{subject}?purpose=customer_care",
            s.a
        );
        let (status, body) = s
            .server
            .call("DELETE", &erase, Some(&dpo.token), None)
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, page) = s.server.call("GET", &events, Some(&dpo.token), None).await;
        assert_eq!(status, 200);
        assert_eq!(page["events"].as_array().unwrap().len(), 0);
        let others = format!("/v1/audit/{}/events?subject={other}", s.a);
        let (_, page) = s.server.call("GET", &others, Some(&dpo.token), None).await;
        assert_eq!(
            page["events"].as_array().unwrap().len(),
            1,
            "other subjects are untouched"
        );
        let (_, all) = s
            .server
            .call(
                "GET",
                &format!("/v1/audit/{}/events?limit=1000", s.a),
                Some(&dpo.token),
                None,
            )
            .await;
        assert!(
            all.to_string().contains(&pseudonym),
            "the erased subject's events are still there"
        );

        // Checkpoint on demand, then proofs against it.
        let cps = format!("/v1/audit/{}/checkpoints", s.a);
        let (status, cp) = s.server.call("POST", &cps, Some(&dpo.token), None).await;
        assert_eq!(status, 201, "{cp}");
        let size = cp["tree_size"].as_u64().unwrap();
        let (status, proof) = s
            .server
            .call(
                "GET",
                &format!("/v1/audit/{}/proofs/inclusion?seq=1&tree_size={size}", s.a),
                Some(&dpo.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(proof["root"], cp["root"]);
        let (status, proof) = s
            .server
            .call(
                "GET",
                &format!("/v1/audit/{}/proofs/consistency?from=3&to={size}", s.a),
                Some(&dpo.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(proof["to_root"], cp["root"]);

        let url = s.server.database_url();
        let key = s.server.data_dir().join("keys/audit-signing.pub");
        let _db = s.server.halt().await;
        let (ok, out) = verify(&["--database", &url, "--public-key", key.to_str().unwrap()]);
        assert!(ok, "{out}");
        assert!(out.contains("audit trail verified"), "{out}");
    })
    .await;
}

/// SQL that names one controller's chain in a WHERE clause.
fn chain_sql(backend: Backend, controller: &str) -> String {
    let id = uuid::Uuid::parse_str(controller).unwrap();
    match backend {
        Backend::Sqlite => format!("chain = X'{}'", id.simple()),
        Backend::Postgres => format!("chain = '{id}'::uuid"),
    }
}

async fn execute(url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let statements: Vec<&str> = sql
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(path) = url.strip_prefix("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
        let mut c = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_owned()))
                .execute(&mut c)
                .await
                .map_err(|e| e.to_string())?;
        }
        c.close().await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_owned()))
                .execute(&mut c)
                .await
                .map_err(|e| e.to_string())?;
        }
        c.close().await.unwrap();
    }
    Ok(())
}

/// A copy of the stopped server's database to tamper with.
async fn clone_database(backend: Backend, url: &str, dir: &Path, n: usize) -> String {
    match backend {
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite:").unwrap();
            let copy = dir.join(format!("tampered-{n}.db"));
            std::fs::copy(path, &copy).unwrap();
            format!("sqlite:{}", copy.display())
        }
        Backend::Postgres => {
            let (base, name) = url.rsplit_once('/').unwrap();
            let name = name.split('?').next().unwrap();
            let copy = format!("{name}_t{n}");
            execute(
                &format!("{base}/postgres"),
                &format!("CREATE DATABASE {copy} TEMPLATE {name}"),
            )
            .await
            .unwrap();
            format!("{base}/{copy}")
        }
    }
}

#[tokio::test]
async fn verify_names_the_event_an_attacker_with_database_access_edited_deleted_reordered_or_inserted()
 {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let agent = s.staff("agent.a", "agent", &s.a, true).await;
        let subject = s.subject(&agent.token, &s.a, "Maria Bianchi", "+393471112233").await;
        let read = format!("/v1/controllers/{}/subjects/{subject}?purpose=customer_care", s.a);
        for _ in 0..6 {
            assert_eq!(s.server.call("GET", &read, Some(&agent.token), None).await.0, 200);
        }
        // A checkpoint, as a DPO would take and keep before an audit.
        let dpo = s.dpo("dpo.a", &s.a).await;
        let cps = format!("/v1/audit/{}/checkpoints", s.a);
        assert_eq!(s.server.call("POST", &cps, Some(&dpo.token), None).await.0, 201);
        let url = s.server.database_url();
        let key = s.server.data_dir().join("keys/audit-signing.pub");
        let key = key.to_str().unwrap().to_owned();
        let bundle = s.server.data_dir().join("bundle.jsonl");
        let work = tempfile::tempdir().unwrap();
        let chain = chain_sql(backend, &s.a);
        let controller = s.a.clone();
        let _db = s.server.halt().await;

        // The database itself refuses changes to the trail.
        for sql in [
            format!("UPDATE audit_events SET actor = 'anonymous' WHERE {chain} AND seq = 2"),
            format!("DELETE FROM audit_events WHERE {chain} AND seq = 2"),
            String::from("DELETE FROM audit_events"),
        ] {
            let refused = execute(&url, &sql).await.unwrap_err();
            assert!(refused.contains("audit_append_only"), "{sql}: {refused}");
        }
        let (ok, out) = verify(&["--database", &url, "--public-key", &key]);
        assert!(ok, "{out}");

        // An export verifies elsewhere with only the public key; a changed line does not.
        let export = tutela()
            .args(["audit", "export", "--database", &url, "--data-dir"])
            .arg(bundle.parent().unwrap())
            .arg("--output")
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
        let (ok, out) = verify(&["--bundle", bundle.to_str().unwrap(), "--public-key", &key]);
        assert!(ok, "{out}");
        let text = std::fs::read_to_string(&bundle).unwrap();
        let tampered = text.replacen("\"action\":\"subject.read\"", "\"action\":\"subject.write\"", 1);
        assert_ne!(text, tampered);
        let bad_bundle = work.path().join("bad.jsonl");
        std::fs::write(&bad_bundle, tampered).unwrap();
        let (ok, out) = verify(&["--bundle", bad_bundle.to_str().unwrap(), "--public-key", &key]);
        assert!(!ok && out.contains("action"), "{out}");

        let drop_triggers = match backend {
            Backend::Sqlite => "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete",
            Backend::Postgres => "DROP TRIGGER audit_events_append_only ON audit_events",
        };
        let body_edit = match backend {
            Backend::Sqlite => format!("UPDATE audit_events SET body = CAST(substr(body, 1, 30) || X'7F' || substr(body, 32) AS BLOB) WHERE {chain} AND seq = 4"),
            Backend::Postgres => format!("UPDATE audit_events SET body = overlay(body placing '\\x7f'::bytea from 31 for 1) WHERE {chain} AND seq = 4"),
        };
        let cases: [(&str, String, &str); 5] = [
            ("edit", body_edit, "event 4"),
            ("edit a search column", format!("UPDATE audit_events SET actor = 'anonymous' WHERE {chain} AND seq = 5"), "event 5"),
            ("delete", format!("DELETE FROM audit_events WHERE {chain} AND seq = 3"), "event 3 is missing"),
            (
                "reorder",
                format!(
                    "UPDATE audit_events SET seq = -1 WHERE {chain} AND seq = 2; \
                     UPDATE audit_events SET seq = 2 WHERE {chain} AND seq = 3; \
                     UPDATE audit_events SET seq = 3 WHERE {chain} AND seq = -1"
                ),
                "event 2 is misplaced",
            ),
            (
                "insert",
                format!(
                    "INSERT INTO audit_events (chain, seq, instant, actor, action, object, subject, body, chain_hash, seal) \
                     SELECT chain, seq + 1000, instant, actor, action, object, subject, body, chain_hash, NULL \
                     FROM audit_events WHERE {chain} AND seq = 1"
                ),
                "event",
            ),
        ];
        for (n, (what, sql, named)) in cases.iter().enumerate() {
            let copy = clone_database(backend, &url, work.path(), n).await;
            execute(&copy, drop_triggers).await.unwrap();
            execute(&copy, sql).await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let (ok, out) = verify(&["--database", &copy, "--public-key", &key]);
            assert!(!ok, "{what}: verify passed: {out}");
            assert!(out.contains("BROKEN") && out.contains(&controller) && out.contains(named), "{what}: {out}");
        }
        // Removing the last event: the checkpoint remembers it.
        let copy = clone_database(backend, &url, work.path(), 9).await;
        execute(&copy, drop_triggers).await.unwrap();
        execute(&copy, &format!("DELETE FROM audit_events WHERE {chain} AND seq >= (SELECT MAX(seq) FROM audit_events WHERE {chain})")).await.unwrap();
        let (ok, out) = verify(&["--database", &copy, "--public-key", &key]);
        assert!(!ok && out.contains("events were removed"), "truncation: {out}");
        // Signed by another key: refused.
        let other_key = work.path().join("other.pub");
        std::fs::write(&other_key, format!("{}\n", "ab".repeat(32))).unwrap();
        let (ok, out) = verify(&["--database", &url, "--public-key", other_key.to_str().unwrap()]);
        assert!(!ok && out.contains("signature"), "{out}");
    })
    .await;
}
