//! Contacts, lead lists and the consent ledger over HTTP (issue 5): every
//! encoding and delimiter, rejection reports, merging, repeat imports,
//! expiry, consent per channel and at exact instants, the Italian voiding
//! rule, and revealing sensitive fields.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::support::on_each_backend;

pub fn agreement() -> Value {
    json!({
        "reference": "LEADS-1",
        "purposes": [
            {"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "direct_marketing": true},
            {"purpose": "billing", "legal_basis": {"basis": "contract"}},
            {"purpose": "customer_care", "legal_basis": {"basis": "contract"}}
        ],
        "categories": ["identity", "contact", "payment"],
        "retention": [
            {"category": "contact", "purpose": "telemarketing", "days": 90},
            {"category": "payment", "purpose": "billing", "days": 3650}
        ],
        "operator_countries": ["IT"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z"
    })
}

pub fn metadata(acquired_at: &str) -> Value {
    json!({
        "name": "Autunno",
        "provenance": {
            "supplier": "Liste Srl", "data_owner": "Liste Srl",
            "acquired_at": acquired_at, "source": "rented",
            "legal_basis": {"basis": "consent"}, "purpose": "telemarketing"
        },
        "mapping": [
            {"column": "Nome", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "Telefono", "as": "contact", "kind": "phone"},
            {"column": "Email", "as": "contact", "kind": "email"}
        ]
    })
}

const CAPABILITIES: [&str; 5] = [
    "lists.import",
    "lists.read",
    "subjects.read",
    "consent.write",
    "consent.read",
];

fn encode(text: &str, encoding: &str) -> Vec<u8> {
    let utf16 = |big: bool, bom: bool| {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big { &[0xfe, 0xff] } else { &[0xff, 0xfe] });
        }
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    };
    match encoding {
        "utf-8" => text.as_bytes().to_vec(),
        "utf-8-bom" => [&[0xef, 0xbb, 0xbf][..], text.as_bytes()].concat(),
        "windows-1252" => text
            .chars()
            .map(|c| match c {
                'ò' => 0xf2,
                'à' => 0xe0,
                c => u8::try_from(c).unwrap(),
            })
            .collect(),
        "utf-16le" => utf16(false, true),
        "utf-16be" => utf16(true, true),
        "utf-16le-no-bom" => utf16(false, false),
        other => panic!("{other}"),
    }
}

async fn find(s: &Scenario, token: &str, controller: &str, phone: &str) -> Vec<Value> {
    let (status, found) = s
        .server
        .call(
            "POST",
            &format!("/v1/controllers/{controller}/subjects/search?purpose=telemarketing"),
            Some(token),
            Some(json!({"phone": phone})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    found.as_array().unwrap().clone()
}

#[tokio::test]
async fn imports_read_every_encoding_and_delimiter() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let mut n = 0;
        for encoding in ["utf-8", "utf-8-bom", "windows-1252", "utf-16le", "utf-16be", "utf-16le-no-bom"] {
            for delimiter in [",", ";", "\t"] {
                n += 1;
                let c = s.controller_with(&format!("C{n}"), agreement()).await;
                let token = s.client_token(&c, &CAPABILITIES).await;
                let text = format!(
                    "Nome{d}Telefono{d}Email\nNicolò Città{d}347 123 4567{d}nicolo@example.it\nAnna Rossi{d}+39 06 1234 5678{d}\n",
                    d = delimiter
                );
                let (status, body) = s
                    .server
                    .import_list(&token, &c, "telemarketing", &metadata("2026-11-01T00:00:00Z"), encode(&text, encoding))
                    .await;
                assert_eq!(status, 201, "{encoding} {delimiter:?}: {body}");
                assert_eq!((body["rows"].as_u64(), body["accepted_rows"].as_u64()), (Some(2), Some(2)), "{body}");
                assert_eq!(body["delimiter"], delimiter, "{encoding}");
                let expected = if encoding.starts_with("utf-8") { "UTF-8" } else if encoding == "utf-16be" { "UTF-16BE" } else if encoding.starts_with("utf-16") { "UTF-16LE" } else { "windows-1252" };
                assert_eq!(body["encoding"], expected);
                let found = find(&s, &token, &c, "+393471234567").await;
                assert_eq!(found.len(), 1, "{encoding} {delimiter:?}");
                let name = found[0]["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "full_name").unwrap()["value"].clone();
                assert_eq!(name, "Nicolò Città", "{encoding} {delimiter:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_of_them_is_written() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let token = s.client_token(&c, &CAPABILITIES).await;
        let file = "Nome;Telefono;Email\n\
                    Mario Rossi;347 111 2222;mario@example.it\n\
                    Bad Phone;12;bad.phone@example.it\n\
                    No Contact;;\n\
                    Luca Bianchi;3391234567;not-an-address\n\
                    Sara Verdi;+39 02 1234 5678;sara@example.it\n";
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &metadata("2026-11-01T00:00:00Z"),
                file.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (
                body["accepted_rows"].as_u64(),
                body["rejected_rows"].as_u64()
            ),
            (Some(2), Some(3)),
            "{body}"
        );
        let list = body["list"]["id"].as_str().unwrap();
        let (status, report) = s
            .server
            .call(
                "GET",
                &format!("/v1/controllers/{c}/lists/{list}?purpose=telemarketing"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{report}");
        let lines: Vec<(u64, String)> = report["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["row"].as_u64().unwrap(),
                    r["column"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                (2, "Telefono".into()),
                (3, "row".into()),
                (4, "Email".into())
            ]
        );
        assert!(
            !report.to_string().contains("not-an-address"),
            "reasons never echo values"
        );
        // Nothing of a bad row is stored, not even its valid cells.
        assert!(find(&s, &token, &c, "3391234567").await.is_empty());
        assert_eq!(find(&s, &token, &c, "3471112222").await.len(), 1);
        // A mapping naming a missing column refuses the whole file.
        let mut wrong = metadata("2026-11-01T00:00:00Z");
        wrong["mapping"][1]["column"] = json!("Cellulare");
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &wrong,
                file.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("mapping")),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn known_people_are_merged_and_a_repeated_import_writes_nothing() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let token = s.client_token(&c, &CAPABILITIES).await;
        let first = "Nome,Telefono,Email\nMario Rossi,347 111 2222,\nAnna Verdi,06 1234 5678,anna@example.it\n";
        let (status, body) = s.server.import_list(&token, &c, "telemarketing", &metadata("2026-11-01T00:00:00Z"), first.as_bytes().to_vec()).await;
        assert_eq!((status, body["new_subjects"].as_u64()), (201, Some(2)), "{body}");
        // Mario again (another spelling, now with an e-mail), twice in the file.
        let second = "Nome,Telefono,Email\n\
                      Mario Rossi,+39 347 1112222,mario@example.it\n\
                      M. Rossi,0039 3471112222,\n\
                      Luca Neri,333 999 8888,luca@example.it\n";
        let (status, body) = s.server.import_list(&token, &c, "telemarketing", &metadata("2026-11-02T00:00:00Z"), second.as_bytes().to_vec()).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!((body["new_subjects"].as_u64(), body["merged_rows"].as_u64()), (Some(1), Some(2)), "{body}");
        let mario = find(&s, &token, &c, "3471112222").await;
        assert_eq!(mario.len(), 1);
        let by_mail = s
            .server
            .call("POST", &format!("/v1/controllers/{c}/subjects/search?purpose=telemarketing"), Some(&token), Some(json!({"email": "MARIO@example.it"})))
            .await
            .1;
        assert_eq!(by_mail[0]["id"], mario[0]["id"], "the merged e-mail finds the same person");
        // The same file and metadata again: recognised, nothing written.
        let (status, again) = s.server.import_list(&token, &c, "telemarketing", &metadata("2026-11-02T00:00:00Z"), second.as_bytes().to_vec()).await;
        assert_eq!((status, again["already_imported"].as_bool()), (200, Some(true)), "{again}");
        assert_eq!(again["list"]["id"], body["list"]["id"]);
        let (_, lists) = s.server.call("GET", &format!("/v1/controllers/{c}/lists?purpose=telemarketing"), Some(&token), None).await;
        assert_eq!(lists.as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn an_expired_list_cannot_be_used() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let token = s.client_token(&c, &CAPABILITIES).await;
        let acquired = s
            .clock_now()
            .checked_sub(SignedDuration::from_hours(89 * 24))
            .unwrap();
        let file = "Nome,Telefono,Email\nMario Rossi,347 111 2222,\n";
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &metadata(&acquired.to_string()),
                file.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let list = body["list"]["id"].as_str().unwrap().to_owned();
        let members = format!("/v1/controllers/{c}/lists/{list}/members?purpose=telemarketing");
        let (status, page) = s.server.call("GET", &members, Some(&token), None).await;
        assert_eq!(
            (status, page.as_array().map(Vec::len)),
            (200, Some(1)),
            "{page}"
        );
        // Acquired 89 days ago: the art. 14 notice (a month after) is overdue.
        let overdue = format!("/v1/controllers/{c}/art14/overdue?purpose=telemarketing");
        let (status, due) = s.server.call("GET", &overdue, Some(&token), None).await;
        assert_eq!(
            (status, due.as_array().map(Vec::len)),
            (200, Some(1)),
            "{due}"
        );
        let subject = page[0].as_str().unwrap();
        let art14 = format!("/v1/controllers/{c}/subjects/{subject}/art14?purpose=telemarketing");
        let (status, body) = s
            .server
            .call(
                "POST",
                &art14,
                Some(&token),
                Some(json!({"event": "notice_given"})),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let (_, due) = s.server.call("GET", &overdue, Some(&token), None).await;
        assert_eq!(due.as_array().map(Vec::len), Some(0), "{due}");
        let (status, body) = s
            .server
            .call(
                "POST",
                &art14,
                Some(&token),
                Some(json!({"event": "lunch"})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        s.clock.advance(SignedDuration::from_hours(24));
        let (status, refused) = s.server.call("GET", &members, Some(&token), None).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (409, Some("list_expired")),
            "{refused}"
        );
    })
    .await;
}

async fn consent(
    s: &Scenario,
    token: &str,
    c: &str,
    subject: &str,
    channel: &str,
    action: &str,
    at: &str,
) {
    let (status, body) = s
        .server
        .call(
            "POST",
            &format!("/v1/controllers/{c}/subjects/{subject}/consents?purpose=telemarketing"),
            Some(token),
            Some(json!({"consent_purpose": "telemarketing", "channel": channel, "action": action, "at": at,
                "evidence": {"kind": "recording", "recording_id": "rec-1"}, "notice_version": 1,
                "collected_where": "outbound campaign"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn state(
    s: &Scenario,
    token: &str,
    c: &str,
    subject: &str,
    channel: &str,
    at: &str,
) -> Value {
    let (status, body) = s
        .server
        .call(
            "GET",
            &format!("/v1/controllers/{c}/subjects/{subject}/consents/state?purpose=telemarketing&consent_purpose=telemarketing&channel={channel}&at={at}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn consent_is_per_channel_queryable_at_exact_instants_and_voided_by_the_rpo() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let token = s.client_token(&c, &CAPABILITIES).await;
        let file = "Nome,Telefono,Email\nMario Rossi,347 111 2222,\n";
        s.server.import_list(&token, &c, "telemarketing", &metadata("2026-11-01T00:00:00Z"), file.as_bytes().to_vec()).await;
        let subject = find(&s, &token, &c, "3471112222").await[0]["id"].as_str().unwrap().to_owned();
        let absent = state(&s, &token, &c, &subject, "phone", "2026-11-10T00:00:00Z").await;
        assert_eq!((absent["consented"].as_bool(), absent["state"]["status"].as_str()), (Some(false), Some("absent")));
        consent(&s, &token, &c, &subject, "phone", "granted", "2026-11-10T10:00:00Z").await;
        consent(&s, &token, &c, &subject, "sms", "granted", "2026-11-10T10:00:00Z").await;
        consent(&s, &token, &c, &subject, "sms", "withdrawn", "2026-11-12T10:00:00Z").await;
        let at = |s: &'static str| s;
        assert_eq!(state(&s, &token, &c, &subject, "sms", at("2026-11-12T09:59:59.999999Z")).await["consented"], true);
        assert_eq!(state(&s, &token, &c, &subject, "sms", at("2026-11-12T10:00:00Z")).await["state"]["status"], "withdrawn");
        assert_eq!(state(&s, &token, &c, &subject, "phone", at("2026-11-12T10:00:00Z")).await["consented"], true, "phone untouched");
        assert_eq!(state(&s, &token, &c, &subject, "phone", at("2026-11-10T09:59:59.999999Z")).await["consented"], false);
        // Registering on the RPO voids the earlier marketing consent, from then on.
        let (status, body) = s
            .server
            .call("POST", &format!("/v1/controllers/{c}/subjects/{subject}/registrations?purpose=telemarketing"), Some(&token),
                Some(json!({"registry": "it_rpo", "at": "2026-11-15T00:00:00Z"})))
            .await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(state(&s, &token, &c, &subject, "phone", at("2026-11-14T23:59:59.999999Z")).await["consented"], true);
        let voided = state(&s, &token, &c, &subject, "phone", at("2026-11-15T00:00:00Z")).await;
        assert_eq!((voided["consented"].as_bool(), voided["state"]["registry"].as_str()), (Some(false), Some("it_rpo")), "{voided}");
        // A consent given after the registration stands.
        consent(&s, &token, &c, &subject, "phone", "granted", "2026-11-16T00:00:00Z").await;
        assert_eq!(state(&s, &token, &c, &subject, "phone", at("2026-11-16T00:00:00Z")).await["consented"], true);
        let (_, history) = s.server.call("GET", &format!("/v1/controllers/{c}/subjects/{subject}/consents?purpose=telemarketing"), Some(&token), None).await;
        assert_eq!(history.as_array().unwrap().len(), 4, "history is kept whole");
        // A consent for a purpose outside the agreement is refused, naming it.
        let (status, body) = s
            .server
            .call("POST", &format!("/v1/controllers/{c}/subjects/{subject}/consents?purpose=telemarketing"), Some(&token),
                Some(json!({"consent_purpose": "lottery", "channel": "sms", "action": "granted",
                    "evidence": {"kind": "verbal", "agent_role": "agent"}, "collected_where": "inbound"})))
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("purpose_not_allowed")), "{body}");
    })
    .await;
}

#[tokio::test]
async fn sensitive_fields_in_clear_need_the_role_and_purpose_and_are_audited_either_way() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Bank", agreement()).await;
        let agent = s.staff("agent.c", "agent", &c, true).await;
        let (status, created) = s
            .server
            .call("POST", &format!("/v1/controllers/{c}/subjects?purpose=billing"), Some(&agent.token),
                Some(json!({"attributes": [
                    {"name": "full_name", "category": "identity", "value": "Anna Verdi"},
                    {"name": "iban", "category": "payment", "value": "IT60X0542811101000000123456"}],
                    "contacts": [{"kind": "phone", "value": "347 555 1234"}]})))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        let iban = |body: &Value| body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "iban").map(|a| a["value"].clone());
        assert_eq!(iban(&created), Some(json!("****56")), "masked by default");
        let path = |purpose: &str| format!("/v1/controllers/{c}/subjects/{id}?purpose={purpose}&reveal=true");
        let (status, refused) = s.server.call("GET", &path("billing"), Some(&agent.token), None).await;
        assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")), "{refused}");
        let dpo = s.dpo("dpo.c", &c).await;
        let (status, wrong_purpose) = s.server.call("GET", &path("customer_care"), Some(&dpo.token), None).await;
        assert_eq!((status, wrong_purpose["code"].as_str()), (403, Some("category_not_allowed")), "{wrong_purpose}");
        let (status, clear) = s.server.call("GET", &path("billing"), Some(&dpo.token), None).await;
        assert_eq!(status, 200, "{clear}");
        assert_eq!(iban(&clear), Some(json!("IT60X0542811101000000123456")));
        // Audited either way: the refusals and the reveal.
        let (status, page) = s
            .server
            .call("GET", &format!("/v1/audit/{c}/events?subject={id}&limit=1000"), Some(&dpo.token), None)
            .await;
        assert_eq!(status, 200, "{page}");
        let outcomes: Vec<String> = page["events"].as_array().unwrap().iter()
            .filter(|e| e["action"] == "subject.reveal")
            .map(|e| e["outcome"].as_str().unwrap().to_owned()).collect();
        assert_eq!(outcomes.len(), 3, "{page}");
        assert!(outcomes.iter().any(|o| o == "allowed"), "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| o.starts_with("denied")).count(), 2, "{outcomes:?}");
    })
    .await;
}

#[tokio::test]
async fn incomplete_privacy_notices_are_refused_listing_what_is_missing() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let dpo = s.dpo("dpo.n", &c).await;
        let mut notice = json!({
            "controller": "Energia Srl, Via Roma 1, Milano",
            "purposes": [{"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "description": "Offerte"}],
            "recipients": "Tutela call centre", "transfers": "Nessuno", "retention": "24 mesi",
            "rights": "Accesso, rettifica, cancellazione, opposizione, portabilità", "complaint": "Garante privacy",
            "automated_decisions": "Nessuna", "for_data_not_collected_from_subject": true, "data_categories": ["identity", "contact"],
            "spoken": {"controller": "Energia", "purpose": "offerte", "recording": "registrata", "rights": "può opporsi"}
        });
        let path = format!("/v1/controllers/{c}/privacy-notices/it?purpose=telemarketing");
        let (status, refused) = s.server.call("POST", &path, Some(&dpo.token), Some(notice.clone())).await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["message"].as_str().unwrap();
        for item in ["dpo_contact", "source", "spoken.full_notice_at"] {
            assert!(message.contains(item), "{message}");
        }
        notice["dpo_contact"] = json!("dpo@energia.it");
        notice["source"] = json!("Liste Srl");
        notice["spoken"]["full_notice_at"] = json!("energia.it/privacy");
        let (status, published) = s.server.call("POST", &path, Some(&dpo.token), Some(notice.clone())).await;
        assert_eq!((status, published["version"].as_u64()), (201, Some(1)), "{published}");
        let (status, second) = s.server.call("POST", &path, Some(&dpo.token), Some(notice)).await;
        assert_eq!((status, second["version"].as_u64()), (201, Some(2)));
        let agent = s.staff("agent.n", "agent", &c, true).await;
        let (status, script) = s.server.call("GET", &format!("/v1/controllers/{c}/privacy-notices/it?purpose=telemarketing&version=1"), Some(&agent.token), None).await;
        assert_eq!((status, script["content"]["spoken"]["controller"].as_str()), (200, Some("Energia")), "{script}");
        let (status, _) = s.server.call("GET", &format!("/v1/controllers/{c}/privacy-notices/et?purpose=telemarketing"), Some(&agent.token), None).await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn a_merged_row_leaves_no_index_to_an_identifier_the_person_did_not_take() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let c = s.controller_with("Leads", agreement()).await;
        let token = s.client_token(&c, &CAPABILITIES).await;
        let mut meta = metadata("2026-11-01T00:00:00Z");
        meta["mapping"] = json!([
            {"column": "Nome", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "Telefono", "as": "contact", "kind": "phone"},
            {"column": "CF", "as": "attribute", "name": "national_id", "category": "identity"}
        ]);
        let first = "Nome,Telefono,CF\nMario Rossi,347 111 2222,RSSMRA80A01H501U\n";
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &meta,
                first.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // The same phone with another identifier: the same person, who keeps
        // the identifier they have; the new one finds nobody.
        let second = "Nome,Telefono,CF\nMario Rossi,+39 347 111 2222,BNCLCU80A01H501X\n";
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &meta,
                second.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(
            (status, body["merged_rows"].as_u64()),
            (201, Some(1)),
            "{body}"
        );
        let search = |id: &'static str| {
            let s = &s;
            let (token, c) = (token.clone(), c.clone());
            async move {
                s.server
                    .call(
                        "POST",
                        &format!("/v1/controllers/{c}/subjects/search?purpose=telemarketing"),
                        Some(&token),
                        Some(json!({"national_id": id})),
                    )
                    .await
            }
        };
        let (status, kept) = search("rss mra 80a01 h501u").await;
        assert_eq!(
            (status, kept.as_array().map(Vec::len)),
            (200, Some(1)),
            "{kept}"
        );
        let (status, dropped) = search("BNCLCU80A01H501X").await;
        assert_eq!(
            (status, dropped.as_array().map(Vec::len)),
            (200, Some(0)),
            "{dropped}"
        );
        // And that identifier can still be someone else's later.
        let third = "Nome,Telefono,CF\nLuca Bianchi,333 444 5555,BNCLCU80A01H501X\n";
        let (status, body) = s
            .server
            .import_list(
                &token,
                &c,
                "telemarketing",
                &meta,
                third.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(
            (status, body["new_subjects"].as_u64()),
            (201, Some(1)),
            "{body}"
        );
    })
    .await;
}
