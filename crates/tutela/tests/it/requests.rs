//! Data-subject requests through the API (issue 8), on both backends:
//! deadlines at a month's end, identity by one-time code sent to contact
//! points on file (a wrong code, identifiers matching two people, none),
//! duplicates linked and still verified, forwarding through the outbox,
//! an extension inside and outside the first month, a refusal, answers
//! that erase or withdraw, letters in the person's language.

use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::support::{Backend, backends};

pub(crate) fn agreement() -> Value {
    json!({
        "reference": "DSR-1",
        "purposes": [
            {"purpose": "customer_care", "legal_basis": {"basis": "contract"}},
            {"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "direct_marketing": true},
            {"purpose": "data_subject_rights", "legal_basis": {"basis": "legal_obligation"}},
            {"purpose": "quality", "legal_basis": {"basis": "legitimate_interest", "balancing_test": "LIA-7"}}
        ],
        "categories": ["identity", "contact"],
        "retention": [{"category": "contact", "purpose": "telemarketing", "days": 90}],
        "operator_countries": ["IT"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2028-06-01T00:00:00Z"
    })
}

const Q: &str = "purpose=data_subject_rights";
/// The desk's tokens outlive the months the requests run.
const UNTIL: &str = "2027-11-01T00:00:00Z";

pub(crate) struct Desk<'a> {
    pub(crate) s: &'a Scenario,
    pub(crate) c: String,
    /// Takes requests and codes (the contact centre's desk, a web form).
    pub(crate) intake: String,
    /// Handles them (the DPO's tool).
    pub(crate) handler: String,
    /// Asks before calling.
    pub(crate) dialer: String,
    /// Imports lead lists.
    pub(crate) importer: String,
}

impl<'a> Desk<'a> {
    /// The desk of controller `c` with its four machine clients.
    pub(crate) async fn new(s: &'a Scenario, c: String) -> Desk<'a> {
        Desk {
            s,
            intake: s
                .client_token_until(
                    &c,
                    &[
                        "requests.intake",
                        "subjects.write",
                        "subjects.read",
                        "consent.read",
                    ],
                    UNTIL,
                )
                .await,
            handler: s.client_token_until(&c, &["requests.manage"], UNTIL).await,
            dialer: s.client_token_until(&c, &["calls.gate"], UNTIL).await,
            importer: s.client_token_until(&c, &["lists.import"], UNTIL).await,
            c,
        }
    }

    /// The call decision for `number` (customer care); asserts it answered.
    pub(crate) async fn decide(&self, number: &str) -> Value {
        let (status, decision) = self
            .s
            .server
            .call(
                "POST",
                &format!(
                    "/v1/calls/decide?controller_id={}&purpose=customer_care",
                    self.c
                ),
                Some(&self.dialer),
                Some(json!({ "number": number })),
            )
            .await;
        assert_eq!(status, 200, "{decision}");
        decision
    }

    /// Takes, verifies (with the first code sent), forwards and starts a
    /// request; returns its id.
    pub(crate) async fn verified(&self, kind: &str, identifiers: Value) -> String {
        let taken = self.take(kind, "it", identifiers).await;
        let id = taken["id"].as_str().unwrap().to_owned();
        let code = self.codes(&id)[0].1.clone();
        assert_eq!(self.confirm(&id, &code).await.0, 200);
        assert_eq!(self.handle(&id, "forward", json!({})).await.0, 200);
        assert_eq!(self.handle(&id, "start", json!({})).await.0, 200);
        id
    }
    pub(crate) async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.s
            .server
            .call(
                method,
                &format!("/v1/controllers/{}/requests{path}{sep}{Q}", self.c),
                Some(token),
                body,
            )
            .await
    }

    pub(crate) async fn take(&self, kind: &str, language: &str, identifiers: Value) -> Value {
        let (status, body) = self
            .call(
                &self.intake,
                "POST",
                "",
                Some(
                    json!({"kind": kind, "channel": "phone", "language": language,
                            "identifiers": identifiers}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["state"], "awaiting_identity", "{body}");
        body
    }

    pub(crate) async fn confirm(&self, id: &str, code: &str) -> (u16, Value) {
        self.call(
            &self.intake,
            "POST",
            &format!("/{id}/code"),
            Some(json!({ "code": code })),
        )
        .await
    }

    pub(crate) async fn handle(&self, id: &str, action: &str, body: Value) -> (u16, Value) {
        self.call(
            &self.handler,
            "POST",
            &format!("/{id}/{action}"),
            Some(body),
        )
        .await
    }

    /// The codes sent for request `id`: (to, code).
    pub(crate) fn codes(&self, id: &str) -> Vec<(String, String)> {
        let dir = self.s.server.data_dir().join("outbox").join("codes");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(id) && name.ends_with(".json") {
                let message: Value =
                    serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
                out.push((
                    message["to"].as_str().unwrap().to_owned(),
                    message["code"].as_str().unwrap().to_owned(),
                ));
            }
        }
        out.sort();
        out
    }

    pub(crate) async fn subject(&self, name: &str, phone: &str, email: &str) -> String {
        let (status, body) = self
            .s
            .server
            .call(
                "POST",
                &format!("/v1/controllers/{}/subjects?purpose=customer_care", self.c),
                Some(&self.intake),
                Some(json!({"attributes": [{"name": "full_name", "category": "identity", "value": name}],
                            "contacts": [{"kind": "phone", "value": phone}, {"kind": "email", "value": email}]})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn letters(&self, id: &str) -> Vec<Value> {
        let (status, body) = self
            .call(&self.handler, "GET", &format!("/{id}/letters"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn requests_end_to_end(backend: Backend) {
    let s = Scenario::new(backend).await;
    let c = s.controller_with("Energia Tre SpA", agreement()).await;
    let desk = Desk::new(&s, c).await;
    // The PBX's token, made now: the administrator's session ends before
    // the months these requests run.
    let pbx = s
        .client_token_until(&desk.c, &["recordings.upload", "recordings.manage"], UNTIL)
        .await;
    let maria = desk
        .subject("Maria Rossi", "+39 347 123 4567", "maria@example.it")
        .await;
    let luca = desk
        .subject("Luca Bianchi", "+39 347 765 4321", "luca@example.it")
        .await;

    // Received on 31 January at 11:00 in Rome: due on the last day of
    // February, extendable to 28 April.
    s.clock.set("2027-01-31T10:00:00Z".parse().unwrap());
    let erasure = desk
        .take(
            "erasure",
            "it",
            json!([{"kind": "phone", "value": "347 1234567"}]),
        )
        .await;
    let id = erasure["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &erasure["due"],
            &erasure["latest_extension"],
            &erasure["zone"]
        ),
        (
            &json!("2027-02-28"),
            &json!("2027-04-28"),
            &json!("Europe/Rome")
        ),
        "{erasure}"
    );
    assert!(erasure["subject_id"].is_null());

    // Maria's code went to her phone and e-mail on file; a wrong code is
    // refused and recorded, the right one verifies her.
    let codes = desk.codes(&id);
    assert_eq!(
        codes.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(),
        vec!["+393471234567", "maria@example.it"]
    );
    let code = codes[0].1.clone();
    let (status, body) = desk.confirm(&id, &wrong(&code)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("code_mismatch")),
        "{body}"
    );
    let (status, body) = desk.confirm(&id, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["state"], &body["subject_id"]),
        (&json!("verified"), &json!(maria))
    );
    let (status, body) = desk.confirm(&id, &code).await;
    assert_eq!(
        status, 400,
        "a verified request takes no more codes: {body}"
    );

    // The same request again, by e-mail: linked, and verified on its own.
    let again = desk
        .take(
            "erasure",
            "it",
            json!([{"kind": "email", "value": "Maria@Example.it"}]),
        )
        .await;
    assert_eq!(again["duplicate_of"], json!(id));
    assert!(again["subject_id"].is_null());
    let again_id = again["id"].as_str().unwrap().to_owned();
    let (status, _) = desk.handle(&again_id, "forward", json!({})).await;
    assert_eq!(status, 400, "unverified: cannot be forwarded");

    // Identifiers of two people: each gets a code at their own contact
    // points; Luca's code verifies the requester as Luca, and only him.
    let mixed = desk
        .take(
            "withdrawal_of_consent",
            "en",
            json!([{"kind": "phone", "value": "+393471234567"}, {"kind": "email", "value": "luca@example.it"}]),
        )
        .await;
    let mixed_id = mixed["id"].as_str().unwrap().to_owned();
    let codes = desk.codes(&mixed_id);
    assert_eq!(codes.len(), 4, "{codes:?}");
    let luca_code = codes
        .iter()
        .find(|(to, _)| to == "luca@example.it")
        .unwrap()
        .1
        .clone();
    let (status, body) = desk.confirm(&mixed_id, &luca_code).await;
    assert_eq!((status, &body["subject_id"]), (200, &json!(luca)), "{body}");

    // Nobody matches: the same answer, no code sent, none accepted.
    let nobody = desk
        .take(
            "access",
            "es",
            json!([{"kind": "email", "value": "nobody@example.es"}]),
        )
        .await;
    let nobody_id = nobody["id"].as_str().unwrap().to_owned();
    assert!(desk.codes(&nobody_id).is_empty());
    let (status, body) = desk.confirm(&nobody_id, "123456").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("code_mismatch"))
    );
    // Five wrong tries and codes stop working.
    for _ in 0..4 {
        desk.confirm(&nobody_id, "123456").await;
    }
    let (status, body) = desk.confirm(&nobody_id, "123456").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("too_many_attempts"))
    );

    // Forwarded to the controller through the outbox, then extended in
    // the first month with the letter saying why.
    let (status, body) = desk.handle(&id, "forward", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("forwarded")),
        "{body}"
    );
    let forwarded = s
        .server
        .data_dir()
        .join("outbox")
        .join("controllers")
        .join(&desk.c);
    let files: Vec<_> = std::fs::read_dir(&forwarded).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let handed: Value = serde_json::from_slice(&std::fs::read(files[0].path()).unwrap()).unwrap();
    assert_eq!(
        (&handed["kind"], &handed["subject_id"]),
        (&json!("erasure"), &json!(maria))
    );
    let text = serde_json::to_string(&handed).unwrap();
    assert!(
        !text.contains("3471234567") && !text.contains("maria@"),
        "no identifier is handed on: {text}"
    );
    let (status, body) = desk
        .handle(
            &id,
            "extend",
            json!({"reason": "complexity", "until": "2027-04-29"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("until")),
        "{body}"
    );
    let (status, body) = desk
        .handle(&id, "extend", json!({"reason": "complexity"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["state"], &body["extended_until"]),
        (&json!("extended"), &json!("2027-04-28"))
    );
    let letters = desk.letters(&id).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (&letters[0]["outcome"], &letters[0]["language"]),
        (&json!("extended"), &json!("it"))
    );
    let body_text = letters[0]["body"].as_str().unwrap();
    assert!(
        body_text.contains("28 aprile 2027") && body_text.contains(&id),
        "{body_text}"
    );

    // The queue: earliest deadline first, with urgency.
    s.clock.set("2027-02-25T10:00:00Z".parse().unwrap());
    let (status, queue) = desk
        .call(&desk.handler, "GET", "?due_soon=true", None)
        .await;
    assert_eq!(status, 200, "{queue}");
    let soon: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["urgency"].as_str().unwrap())
        .collect();
    assert!(soon.iter().all(|u| *u == "due_soon"), "{queue}");
    assert!(
        !queue
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == json!(id)),
        "extended: not due soon"
    );

    // Past the first month an extension is refused.
    s.clock.set("2027-03-01T10:00:00Z".parse().unwrap());
    let (status, body) = desk
        .handle(&again_id, "extend", json!({"reason": "complexity"}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, queue) = desk.call(&desk.handler, "GET", "", None).await;
    let overdue = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(again_id))
        .unwrap();
    assert_eq!(overdue["urgency"], "overdue");

    // A refusal: the letter gives the reasons and the authority.
    let (status, body) = desk
        .handle(
            &nobody_id,
            "refuse",
            json!({"reasons": ["identity_not_verified"]}),
        )
        .await;
    assert_eq!((status, &body["state"]), (200, &json!("refused")), "{body}");
    let letters = desk.letters(&nobody_id).await;
    assert_eq!(
        (&letters[0]["outcome"], &letters[0]["language"]),
        (&json!("refused"), &json!("es"))
    );
    assert!(
        letters[0]["body"].as_str().unwrap().contains("Garante"),
        "{}",
        letters[0]["body"]
    );

    // Access: the bundle holds Luca's record in clear, where it came from,
    // his consents with their evidence, his requests, and who read his
    // data; in CSV too. The answer needs it to build.
    let access = desk
        .take(
            "access",
            "en",
            json!([{"kind": "phone", "value": "+393477654321"}]),
        )
        .await;
    let access_id = access["id"].as_str().unwrap().to_owned();
    let luca_code = desk.codes(&access_id)[0].1.clone();
    assert_eq!(desk.confirm(&access_id, &luca_code).await.0, 200);
    let (status, _) = desk.handle(&access_id, "start", json!({})).await;
    assert_eq!(status, 200);
    // One recording of Luca's call, one of somebody else's.
    let (status, body) = s
        .server
        .call(
            "PUT",
            &format!(
                "/v1/controllers/{}/recording-policies/default?purpose=quality",
                desk.c
            ),
            Some(&pbx),
            Some(json!({"record": true, "retention_days": {"quality": 30},
                        "sample_basis_points": 10000, "announcement": "Registrata."})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut recordings = Vec::new();
    for (call, subject) in [("call-luca", Some(luca.as_str())), ("call-other", None)] {
        let mut metadata = json!({"call_id": call, "purposes": ["quality"], "announced": true,
                                  "answer": "accepted", "operator": "agent-7"});
        if let Some(subject) = subject {
            metadata["subject_id"] = json!(subject);
        }
        let form = reqwest::multipart::Form::new()
            .part(
                "metadata",
                reqwest::multipart::Part::text(metadata.to_string()),
            )
            .part("audio", reqwest::multipart::Part::bytes(vec![7u8; 100_000]));
        let response = s
            .server
            .client
            .post(s.server.url(&format!(
                "/v1/controllers/{}/recordings?purpose=quality",
                desk.c
            )))
            .bearer_auth(&pbx)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        recordings.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, bundle) = desk
        .call(&desk.handler, "GET", &format!("/{access_id}/bundle"), None)
        .await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["subject_id"], json!(luca));
    assert_eq!(
        bundle["recordings"][0]["id"],
        json!(recordings[0]),
        "{bundle}"
    );
    let audio = |recording: &str| {
        s.server
            .client
            .get(s.server.url(&format!(
                "/v1/controllers/{}/requests/{access_id}/bundle/recordings/{recording}?{Q}",
                desk.c
            )))
            .bearer_auth(&desk.handler)
            .send()
    };
    let response = audio(&recordings[0]).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), vec![7u8; 100_000]);
    let response = audio(&recordings[1]).await.unwrap();
    assert_eq!(response.status().as_u16(), 404, "not Luca's recording");
    let summary = bundle["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Summary of the personal data concerning you")
            && summary.contains("Contact details (phone, e-mail): 2"),
        "{summary}"
    );
    assert!(
        bundle["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["value"] == "Luca Bianchi"),
        "{bundle}"
    );
    let contacts: Vec<&str> = bundle["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, vec!["+393477654321", "luca@example.it"]);
    let kinds: Vec<&str> = bundle["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"withdrawal_of_consent") && kinds.contains(&"access"),
        "{kinds:?}"
    );
    let accesses = bundle["accesses"].as_array().unwrap();
    assert!(
        accesses
            .iter()
            .any(|a| a["action"] == "subject.write" && a["by"] == "system"),
        "{bundle}"
    );
    assert!(
        !bundle.to_string().contains("client:"),
        "no staff or system identity: {bundle}"
    );
    let response = s
        .server
        .client
        .get(s.server.url(&format!(
            "/v1/controllers/{}/requests/{access_id}/bundle?format=csv&{Q}",
            desk.c
        )))
        .bearer_auth(&desk.handler)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("section,field,value,at\n"), "{csv}");
    assert!(csv.contains("contact,email,luca@example.it,"), "{csv}");
    let (status, body) = desk.handle(&access_id, "answer", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    assert_eq!(desk.letters(&access_id).await.len(), 1);
    let (status, body) = desk
        .call(&desk.handler, "GET", &format!("/{id}/bundle"), None)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("request")),
        "an erasure has no bundle: {body}"
    );

    let (status, body) = desk.handle(&mixed_id, "start", json!({})).await;
    assert_eq!(status, 200, "{body}");

    // Withdrawal answered: the ledger says withdrawn for every purpose
    // and channel of Luca's, evidenced by the request.
    let (status, body) = desk.handle(&mixed_id, "answer", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    let (status, state) = s
        .server
        .call(
            "GET",
            &format!(
                "/v1/controllers/{}/subjects/{luca}/consents/state?purpose=telemarketing&consent_purpose=telemarketing&channel=sms",
                desk.c
            ),
            Some(&desk.intake),
            None,
        )
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["state"]["status"], "withdrawn", "{state}");
    let (status, bundle) = desk
        .call(&desk.handler, "GET", &format!("/{access_id}/bundle"), None)
        .await;
    assert_eq!(status, 200, "{bundle}");
    let consents = bundle["consents"].as_array().unwrap();
    assert!(
        !consents.is_empty()
            && consents
                .iter()
                .all(|c| c["action"] == "withdrawn"
                    && c["evidence"]["kind"] == "data_subject_request"),
        "{bundle}"
    );

    // Restriction answered: Luca's data stays, every call to him is denied.
    let restrict = desk
        .take(
            "restriction",
            "en",
            json!([{"kind": "email", "value": "luca@example.it"}]),
        )
        .await;
    let restrict_id = restrict["id"].as_str().unwrap().to_owned();
    let luca_code = desk.codes(&restrict_id)[0].1.clone();
    assert_eq!(desk.confirm(&restrict_id, &luca_code).await.0, 200);
    assert_eq!(desk.handle(&restrict_id, "start", json!({})).await.0, 200);
    let (status, body) = desk.handle(&restrict_id, "answer", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    let decision = desk.decide("+393477654321").await;
    assert_eq!(decision["verdict"], "deny", "{decision}");
    assert!(
        decision["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "restricted"),
        "{decision}"
    );

    // Erasure answered: Maria is gone, the kept items are named.
    let (status, body) = desk
        .handle(&id, "answer", json!({"kept": [{"what": "contratto di fornitura", "legal_basis": "art. 2220 c.c., 10 anni"}]}))
        .await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    let (status, _) = s
        .server
        .call(
            "GET",
            &format!(
                "/v1/controllers/{}/subjects/{maria}?purpose=customer_care",
                desk.c
            ),
            Some(&desk.intake),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Her number is now denied as suppressed, and a list bringing her
    // back is refused for her row.
    let decision = desk.decide("+393471234567").await;
    assert_eq!(decision["verdict"], "deny", "{decision}");
    let mut metadata = crate::contacts::metadata("2027-02-20T00:00:00Z");
    metadata["name"] = json!("Primavera");
    let list = "Nome;Telefono;Email\nMaria Rossi;347 123 4567;maria@example.it\n\
                Anna Verdi;347 555 0001;anna@example.it\n";
    let (status, imported) = s
        .server
        .import_list(
            &desk.importer,
            &desk.c,
            "telemarketing",
            &metadata,
            list.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(
        (
            &imported["accepted_rows"],
            &imported["rejected_rows"],
            &imported["new_subjects"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{imported}"
    );
    let letters = desk.letters(&id).await;
    assert_eq!(letters.len(), 2);
    assert!(
        letters[1]["body"]
            .as_str()
            .unwrap()
            .contains("art. 2220 c.c.")
    );
    let (status, body) = desk
        .handle(&id, "refuse", json!({"reasons": ["excessive"]}))
        .await;
    assert_eq!(status, 400, "closed: {body}");

    // The remaining kinds, for one more person: objection (every purpose
    // and channel when none is named: calls are denied as objected),
    // rectification (made through the record; the answer writes the
    // letter), portability (the bundle, in CSV).
    let gianni = desk
        .subject("Gianni Verdi", "+39 347 000 1111", "gianni@example.it")
        .await;
    let gianni_email = json!([{"kind": "email", "value": "gianni@example.it"}]);
    let objection = desk.verified("objection", gianni_email.clone()).await;
    let (status, body) = desk.handle(&objection, "answer", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    let decision = desk.decide("+393470001111").await;
    assert!(
        decision["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "objected"),
        "{decision}"
    );
    let rectification = desk.verified("rectification", gianni_email.clone()).await;
    let (status, body) = desk.handle(&rectification, "answer", json!({})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("corrected")),
        "{body}"
    );
    let corrected = |email: &str| {
        json!({"corrected": {
            "attributes": [{"name": "full_name", "category": "identity", "value": "Giovanni Verdi"}],
            "contacts": [{"kind": "phone", "value": "+39 347 000 1111"}, {"kind": "email", "value": email}]
        }})
    };
    // Another person's address is refused, and nothing changes.
    let (status, body) = desk
        .handle(&rectification, "answer", corrected("luca@example.it"))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("contacts")),
        "{body}"
    );
    let (status, body) = desk
        .handle(&rectification, "answer", corrected("giovanni@example.it"))
        .await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
    assert_eq!(desk.letters(&rectification).await[0]["outcome"], "answered");
    // Portability, asked by phone: the bundle holds the corrected record.
    let portability = desk
        .verified(
            "portability",
            json!([{"kind": "phone", "value": "+393470001111"}]),
        )
        .await;
    let (status, bundle) = desk
        .call(
            &desk.handler,
            "GET",
            &format!("/{portability}/bundle"),
            None,
        )
        .await;
    assert_eq!(
        (status, &bundle["subject_id"]),
        (200, &json!(gianni)),
        "{bundle}"
    );
    assert_eq!(
        bundle["attributes"][0]["value"], "Giovanni Verdi",
        "{bundle}"
    );
    let contacts: Vec<&str> = bundle["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, vec!["+393470001111", "giovanni@example.it"]);
    // The old address no longer finds him.
    let stale = desk.take("access", "it", gianni_email).await;
    assert!(desk.codes(stale["id"].as_str().unwrap()).is_empty());
    let (status, body) = desk.handle(&portability, "answer", json!({})).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("answered")),
        "{body}"
    );
}

#[tokio::test]
async fn data_subject_requests_end_to_end() {
    for backend in backends() {
        requests_end_to_end(backend).await;
    }
}

#[tokio::test]
async fn letter_templates_an_operator_breaks_stop_the_start_naming_file_and_key() {
    let work = tempfile::tempdir().unwrap();
    let letters = work.path().join("letters");
    std::fs::create_dir_all(&letters).unwrap();
    let shipped = include_str!("../../../tutela-app/letters/en.toml");
    // A letter that lost its required reference.
    let broken = shipped.replacen("{reference}", "our reference", usize::MAX);
    std::fs::write(letters.join("en.toml"), broken).unwrap();
    let mut settings = crate::support::settings_for(
        &work.path().join("data"),
        &format!("sqlite:{}", work.path().join("t.db").display()),
    );
    settings.letters_dir = Some(letters.clone());
    let clock: std::sync::Arc<dyn tutela_domain::Clock> =
        std::sync::Arc::new(tutela_domain::SystemClock);
    let error = tutela::serve::start(&settings, clock.clone(), std::future::pending())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(error.is_configuration(), "{text}");
    assert!(
        text.contains("letters_dir") && text.contains("en.toml") && text.contains("reference"),
        "{text}"
    );

    // A valid override replaces that language only.
    let mine = shipped.replacen("Dear Sir or Madam", "Dear requester", usize::MAX);
    assert_ne!(
        mine, shipped,
        "the shipped English letter greets as expected"
    );
    std::fs::write(letters.join("en.toml"), mine).unwrap();
    let running = tutela::serve::start(&settings, clock, std::future::pending())
        .await
        .unwrap();
    drop(running);
}
