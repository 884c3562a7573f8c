//! Call gating over HTTP (issue 6): registry snapshots loaded from the data
//! directory and reloaded without losing a good one to a bad file, stored
//! lists scrubbed with the check recorded, the decision from stored facts
//! (registry hits, stale checks, outcomes and cool-offs, erasure
//! suppressions), and every decision audited without the number.

use serde_json::{Value, json};
use tutela_domain::audit::{Action, Outcome};
use tutela_domain::{CountryCode, NumberSet, Registry, RegistryRef, Snapshot};

use crate::contacts::agreement;
use crate::scenario::Scenario;
use crate::support::{all_audit_records, on_each_backend};

const LISTED: &str = "+393471111111";
const FREE: &str = "+393472222222";

fn write_snapshot(dir: &std::path::Path, as_of: &str, numbers: &[&str]) {
    let numbers: Vec<u64> = numbers
        .iter()
        .map(|n| n.trim_start_matches('+').parse().unwrap())
        .collect();
    let (snapshot, payload) = Snapshot::new(
        RegistryRef::National(Registry::ItRpo),
        CountryCode::parse("IT").unwrap(),
        as_of.parse().unwrap(),
        NumberSet::from_numbers(numbers).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("it_rpo.snapshot"),
        snapshot.file_bytes(&payload).unwrap(),
    )
    .unwrap();
}

fn metadata() -> Value {
    json!({
        "name": "Elenco pubblico",
        "provenance": {
            "supplier": "Elenchi Srl", "data_owner": "Elenchi Srl",
            "acquired_at": "2026-11-20T00:00:00Z", "source": "public_directory",
            "legal_basis": {"basis": "consent"},
            "purpose": "telemarketing"
        },
        "mapping": [
            {"column": "Nome", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "Telefono", "as": "contact", "kind": "phone"}
        ]
    })
}

async fn decide(s: &Scenario, token: &str, c: &str, body: Value) -> Value {
    let (status, answer) = s
        .server
        .call(
            "POST",
            &format!("/v1/calls/decide?controller_id={c}&purpose=telemarketing"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn codes(answer: &Value) -> Vec<String> {
    answer["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn decisions_come_from_stored_facts_and_loaded_registries() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let registries = s.server.data_dir().join("registries");
        write_snapshot(&registries, "2026-11-20T00:00:00Z", &[LISTED]);
        let (status, report) = s
            .admin_call("POST", "/v1/registries/reload", json!(null))
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            report["loaded"],
            json!([{"registry": "it_rpo", "numbers": 1}])
        );

        let c = s.controller_with("Energia Gamma SpA", agreement()).await;
        let token = s
            .client_token(&c, &["lists.import", "lists.read", "calls.gate"])
            .await;
        let csv = format!("Nome,Telefono\nUno,{LISTED}\nDue,{FREE}\n");
        let (status, imported) = s
            .server
            .import_list(&token, &c, "telemarketing", &metadata(), csv.into_bytes())
            .await;
        assert_eq!(status, 201, "{imported}");
        let list = imported["list"]["id"].as_str().unwrap().to_owned();

        // Monday 10:00 in Rome. A public-directory number falls under the
        // RPO opt-out: never checked, the list's check is stale.
        let at = "2026-11-23T09:00:00Z";
        let ask =
            |number: &str| json!({"number": number, "at": at, "list_id": list, "recorded": true});
        let answer = decide(&s, &token, &c, ask(FREE)).await;
        assert_eq!(answer["verdict"], "deny", "{answer}");
        assert_eq!(codes(&answer), vec!["registry_check_stale"]);
        assert_eq!(answer["reasons"][0]["checked_at"], Value::Null);

        // Scrubbing records the snapshot used; the call is then allowed with
        // its obligations, until the evening window closes.
        let (status, scrub) = s
            .server
            .call(
                "POST",
                &format!("/v1/controllers/{c}/lists/{list}/scrub?purpose=telemarketing"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{scrub}");
        assert_eq!(scrub["numbers"], 2);
        assert_eq!(scrub["checks"][0]["registry"], "it_rpo");
        assert_eq!(scrub["checks"][0]["listed"], 1);
        assert_eq!(scrub["checks"][0]["snapshot_as_of"], "2026-11-20T00:00:00Z");
        let answer = decide(&s, &token, &c, ask(FREE)).await;
        assert_eq!(answer["verdict"], "allow", "{answer}");
        let obligations: Vec<&str> = answer["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert!(obligations.contains(&"announce_recording"), "{answer}");
        assert!(obligations.contains(&"give_art14_notice"), "{answer}");
        assert_eq!(answer["valid_until"], "2026-11-23T19:00:00Z");
        // The national form of the number is the same number.
        let answer = decide(
            &s,
            &token,
            &c,
            json!({"number": "347 222 2222", "at": at, "list_id": list}),
        )
        .await;
        assert_eq!(answer["verdict"], "allow", "{answer}");

        // The registry hit.
        let answer = decide(&s, &token, &c, ask(LISTED)).await;
        assert_eq!(codes(&answer), vec!["registry_listed"]);

        // A silent call starts Italy's five-day cool-off, to the second.
        let (status, body) = s
            .server
            .call(
                "POST",
                &format!("/v1/calls/outcomes?controller_id={c}&purpose=telemarketing"),
                Some(&token),
                Some(json!({"number": FREE, "outcome": "silent", "at": "2026-11-23T08:30:00Z"})),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let answer = decide(&s, &token, &c, ask(FREE)).await;
        assert_eq!(codes(&answer), vec!["cool_off"]);
        assert_eq!(answer["reasons"][0]["until"], "2026-11-28T08:30:00Z");

        // A bad field is named.
        let (status, body) = s
            .server
            .call(
                "POST",
                &format!("/v1/calls/decide?controller_id={c}&purpose=telemarketing"),
                Some(&token),
                Some(json!({"number": "not a number"})),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("number")),
            "{body}"
        );

        // A damaged file at reload is refused by name; the snapshot it would
        // replace stays in use.
        std::fs::write(registries.join("it_rpo.snapshot"), b"TUTELA-DNC 1\n{broken").unwrap();
        let (status, report) = s
            .admin_call("POST", "/v1/registries/reload", json!(null))
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            report["loaded"],
            json!([{"registry": "it_rpo", "numbers": 1}])
        );
        assert!(
            report["refused"][0]["file"]
                .as_str()
                .unwrap()
                .ends_with("it_rpo.snapshot"),
            "{report}"
        );
        let answer = decide(&s, &token, &c, ask(LISTED)).await;
        assert_eq!(codes(&answer), vec!["registry_listed"]);

        // Every decision is in the controller's chain, by verdict, and no
        // event holds the number in any form.
        let (records, terms) = all_audit_records(s.server.store()).await;
        let decisions: Vec<_> = records
            .iter()
            .map(|r| tutela_domain::audit::decode(&r.body).unwrap().2)
            .filter(|e| e.action == Action::CallDecide)
            .collect();
        assert_eq!(decisions.len(), 6);
        assert!(decisions.iter().any(|e| e.outcome == Outcome::Allowed));
        assert!(
            decisions
                .iter()
                .any(|e| e.outcome == Outcome::denied("registry_listed"))
        );
        assert!(decisions.iter().all(|e| e.subject.is_some()));
        for needle in ["3471111111", "3472222222"] {
            for record in &records {
                assert!(!contains(&record.body, needle.as_bytes()));
            }
            assert!(!contains(&terms, needle.as_bytes()));
        }
    })
    .await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn registry_files_are_refused_by_line_and_snapshots_installed_whole() {
    use tutela::scrub_cmd::{BuildArgs, run_build, run_install};
    let dir = tempfile::tempdir().unwrap();
    let build = |input: &str, output: &str| {
        run_build(&BuildArgs {
            registry: "it_rpo".into(),
            country: "IT".into(),
            as_of: "2026-11-20".into(),
            input: dir.path().join(input),
            base: None,
            remove: None,
            column: None,
            output: dir.path().join(output),
            rules_dir: None,
        })
    };
    std::fs::write(dir.path().join("bad.txt"), "3471111111\nnot a number\n").unwrap();
    let error = build("bad.txt", "bad.snapshot").unwrap_err();
    assert!(error.contains("line 2"), "{error}");
    assert!(!dir.path().join("bad.snapshot").exists());

    std::fs::write(dir.path().join("rpo.txt"), "3471111111\n+39 347 222 2222\n").unwrap();
    build("rpo.txt", "rpo.snapshot").unwrap();
    let data = dir.path().join("data");
    let said = run_install(&dir.path().join("rpo.snapshot"), &data).unwrap();
    assert!(said.contains("2 numbers of it_rpo"), "{said}");
    let installed = data.join("registries").join("it_rpo.snapshot");
    let before = std::fs::read(&installed).unwrap();
    assert_eq!(Snapshot::parse(&before).unwrap().header.count, 2);

    // A damaged snapshot is refused and the installed one stays as it was.
    let mut damaged = std::fs::read(dir.path().join("rpo.snapshot")).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(dir.path().join("damaged.snapshot"), damaged).unwrap();
    let error = run_install(&dir.path().join("damaged.snapshot"), &data).unwrap_err();
    assert!(error.contains("damaged"), "{error}");
    assert_eq!(std::fs::read(&installed).unwrap(), before);
}
