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
    pub async fn dpo(&self, username: &str, controller: &str) -> Staff {
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
        Backend::Sqlite => format!("chain = {}", blob(backend, id.as_bytes())),
        Backend::Postgres => format!("chain = '{id}'::uuid"),
    }
}

/// A byte-string literal of `backend`'s SQL.
fn blob(backend: Backend, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

/// The stored segments of `controller`'s chain in the database at `url`.
async fn segments(url: &str, controller: &str) -> Vec<tutela_storage::StoredSegment> {
    let store = tutela::store::open_store(
        &tutela_storage::DatabaseUrl::parse(url).unwrap(),
        tutela_storage::OpenMode::MustExist,
    )
    .await
    .unwrap();
    let chain =
        tutela_domain::audit::ChainId::from_uuid(uuid::Uuid::parse_str(controller).unwrap());
    let all: Vec<_> = crate::support::all_audit_segments(&store)
        .await
        .into_iter()
        .filter(|s| s.chain == chain)
        .collect();
    store.close().await;
    all
}

/// The segment holding event `seq`.
fn holding(segments: &[tutela_storage::StoredSegment], seq: u64) -> &tutela_storage::StoredSegment {
    segments.iter().rev().find(|s| s.first_seq <= seq).unwrap()
}

/// SQL that stores `records` as the segment starting at `first` in place of
/// what was there.
fn rewrite(
    backend: Backend,
    chain: &str,
    first: u64,
    records: &[tutela_domain::audit::AuditRecord],
) -> String {
    format!(
        "UPDATE audit_segments SET count = {}, records = {} WHERE {chain} AND first_seq = {first}",
        records.len(),
        blob(backend, &tutela_storage::encode_records(records)),
    )
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
            format!("UPDATE audit_segments SET count = 1 WHERE {chain} AND first_seq = 2"),
            format!("DELETE FROM audit_segments WHERE {chain} AND first_seq = 2"),
            String::from("DELETE FROM audit_segments"),
            String::from("DELETE FROM audit_terms"),
            String::from("UPDATE audit_terms SET epoch = 7"),
            String::from("DELETE FROM audit_checkpoints"),
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
            Backend::Sqlite => {
                "DROP TRIGGER audit_segments_no_update; DROP TRIGGER audit_segments_no_delete; \
                 DROP TRIGGER audit_terms_no_update; DROP TRIGGER audit_terms_no_delete"
            }
            Backend::Postgres => {
                "DROP TRIGGER audit_segments_append_only ON audit_segments; \
                 DROP TRIGGER audit_terms_append_only ON audit_terms"
            }
        };
        let stored = segments(&url, &controller).await;
        let decoded = |seq: u64| holding(&stored, seq).decode().unwrap();
        let size = stored.last().map(|s| s.first_seq + s.count).unwrap();
        assert!(size >= 8, "the chain holds the reads ({size} events)");

        // Edit one event's bytes.
        let mut edited = decoded(4);
        let at = edited.iter().position(|r| r.seq == 4).unwrap();
        edited[at].body[30] ^= 0x7f;
        let edit = rewrite(backend, &chain, holding(&stored, 4).first_seq, &edited);

        // Hide an event from subject queries: drop its segment's subject term.
        let hidden = holding(&stored, 5);
        let records = hidden.decode().unwrap();
        let (subject_seq, pseudonym) = records
            .iter()
            .find_map(|r| {
                let event = tutela_domain::audit::decode(&r.body).unwrap().2;
                event.subject.map(|s| (r.seq, s))
            })
            .unwrap();
        let term = tutela_domain::audit::AuditIndex::subject_term(&pseudonym);
        let unindex = format!(
            "DELETE FROM audit_terms WHERE {chain} AND first_seq = {} AND term = {}",
            hidden.first_seq,
            blob(backend, &term)
        );

        // Swap events 2 and 3 (wherever they are stored).
        let (s2, s3) = (holding(&stored, 2), holding(&stored, 3));
        let mut r2 = s2.decode().unwrap();
        let reorder = if s2.first_seq == s3.first_seq {
            let (i, j) = (r2.iter().position(|r| r.seq == 2).unwrap(), r2.iter().position(|r| r.seq == 3).unwrap());
            let (a, b) = (r2[i].clone(), r2[j].clone());
            (r2[i].body, r2[i].chain_hash, r2[i].seal) = (b.body, b.chain_hash, b.seal);
            (r2[j].body, r2[j].chain_hash, r2[j].seal) = (a.body, a.chain_hash, a.seal);
            rewrite(backend, &chain, s2.first_seq, &r2)
        } else {
            let mut r3 = s3.decode().unwrap();
            let (i, j) = (r2.iter().position(|r| r.seq == 2).unwrap(), r3.iter().position(|r| r.seq == 3).unwrap());
            std::mem::swap(&mut r2[i].body, &mut r3[j].body);
            std::mem::swap(&mut r2[i].chain_hash, &mut r3[j].chain_hash);
            std::mem::swap(&mut r2[i].seal, &mut r3[j].seal);
            format!(
                "{}; {}",
                rewrite(backend, &chain, s2.first_seq, &r2),
                rewrite(backend, &chain, s3.first_seq, &r3)
            )
        };

        let deleted = holding(&stored, 3).first_seq;
        let cases: [(&str, String, String); 5] = [
            ("edit", edit, String::from("event 4")),
            ("hide from queries", unindex, format!("event {subject_seq}: search index")),
            ("delete", format!("DELETE FROM audit_segments WHERE {chain} AND first_seq = {deleted}"), format!("event {deleted} is missing")),
            ("reorder", reorder, String::from("event 2 is misplaced")),
            (
                "insert",
                format!(
                    "INSERT INTO audit_segments (chain, first_seq, count, min_instant, max_instant, records) \
                     SELECT chain, first_seq + 1000, count, min_instant, max_instant, records \
                     FROM audit_segments WHERE {chain} AND first_seq = {}",
                    holding(&stored, 1).first_seq
                ),
                String::from("event"),
            ),
        ];
        for (n, (what, sql, named)) in cases.iter().enumerate() {
            let copy = clone_database(backend, &url, work.path(), n).await;
            execute(&copy, drop_triggers).await.unwrap();
            execute(&copy, sql).await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let (ok, out) = verify(&["--database", &copy, "--public-key", &key]);
            assert!(!ok, "{what}: verify passed: {out}");
            assert!(out.contains("BROKEN") && out.contains(&controller) && out.contains(named.as_str()), "{what}: {out}");
        }
        // Removing the last events: the checkpoint remembers them.
        let copy = clone_database(backend, &url, work.path(), 9).await;
        execute(&copy, drop_triggers).await.unwrap();
        let last = stored.last().unwrap().first_seq;
        execute(&copy, &format!("DELETE FROM audit_segments WHERE {chain} AND first_seq = {last}")).await.unwrap();
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
