//! Identity and access over HTTP: tenant isolation on every route, sessions,
//! MFA, lockout, attestations, agreements, masking.

use jiff::SignedDuration;
use serde_json::json;
use tutela_server::{Access, route_table};

use crate::scenario::{PASSWORD, Scenario, agreement, code_at, totp};
use crate::support::{Backend, on_each_backend};

/// Replaces `{name}` parameters with ids from `ids`; a parameter the test
/// does not know fails it, so new routes get thought about here.
fn fill(path: &str, ids: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}').unwrap() + start;
        let name = &out[start + 1..end];
        let value = ids
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("route parameter `{name}` unknown to the isolation test"))
            .1;
        out.replace_range(start..=end, value);
    }
    out
}

#[tokio::test]
async fn every_route_refuses_outsiders_exactly_like_a_missing_object() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let owner = s.staff("agent.a", "agent", &s.a, true).await;
        let subject = s.subject(&owner.token, &s.a, "Maria Bianchi", "+393471112233").await;
        let (status, client) = s
            .admin_call(
                "POST",
                &format!("/v1/controllers/{}/clients", s.a),
                json!({"name": "dialer-a", "kind": "dialer", "capabilities": ["calls.gate"], "expires_at": "2027-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 201, "{client}");
        let client_id = client["client"]["id"].as_str().unwrap().to_owned();
        let outsider = s.staff("agent.b", "agent", &s.b, true).await;
        let b_dialer = s
            .admin_call(
                "POST",
                &format!("/v1/controllers/{}/clients", s.b),
                json!({"name": "dialer-b", "kind": "dialer", "capabilities": ["subjects.read", "subjects.write"], "expires_at": "2027-01-01T00:00:00Z"}),
            )
            .await
            .1["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let importer = s.client_token(&s.a, &["lists.import"]).await;
        let (status, imported) = s
            .server
            .import_list(
                &importer,
                &s.a,
                "telemarketing",
                &crate::contacts::metadata("2026-11-01T00:00:00Z"),
                b"Nome,Telefono,Email\nMaria Bianchi,3471112233,\n".to_vec(),
            )
            .await;
        assert_eq!(status, 201, "{imported}");
        let list_id = imported["list"]["id"].as_str().unwrap().to_owned();
        // No recording or request exists; outsiders must get the same
        // answer for an id in another controller's path as for one in a
        // missing one.
        let recording = uuid::Uuid::now_v7().to_string();
        let real = [
            ("controller_id", s.a.as_str()),
            ("subject_id", subject.as_str()),
            ("client_id", client_id.as_str()),
            ("user_id", owner.id.as_str()),
            ("chain", s.a.as_str()),
            ("list_id", list_id.as_str()),
            ("language", "it"),
            ("campaign", "default"),
            ("recording_id", recording.as_str()),
            ("request_id", recording.as_str()),
        ];
        let missing = uuid::Uuid::now_v7().to_string();
        let fake = [
            ("controller_id", missing.as_str()),
            ("subject_id", missing.as_str()),
            ("client_id", missing.as_str()),
            ("user_id", missing.as_str()),
            ("chain", missing.as_str()),
            ("list_id", missing.as_str()),
            ("language", "it"),
            ("campaign", "default"),
            ("recording_id", missing.as_str()),
            ("request_id", missing.as_str()),
        ];
        let public = [
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/metrics"),
            ("POST", "/v1/setup"),
            ("POST", "/v1/auth/login"),
        ];
        let table = route_table();
        assert!(table.len() >= 25, "{table:?}");
        // The table is the whole API: every documented operation is in it
        // and every route in it is documented.
        let (_, doc) = s.server.call("GET", "/openapi.json", None, None).await;
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = table
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
        for route in &table {
            let listed = public.contains(&(route.method, route.path));
            assert_eq!(
                route.access == Access::Public,
                listed,
                "{} {}: a public route must be listed here, and only those are public",
                route.method,
                route.path
            );
            if route.access == Access::Public {
                continue;
            }
            let query = "?purpose=customer_care";
            let on_real = format!("{}{query}", fill(route.path, &real));
            let on_fake = format!("{}{query}", fill(route.path, &fake));
            let body = Some(json!({}));
            // Anonymous and with a garbage token: 401, whatever the path names.
            for token in [None, Some("tus_0000"), Some("not-a-token")] {
                let (status, got) = s.server.call(route.method, &on_real, token, body.clone()).await;
                let (_, want) = s.server.call(route.method, &on_fake, token, body.clone()).await;
                assert_eq!(status, 401, "{} {} as {token:?}: {got}", route.method, route.path);
                assert_eq!((&got["code"], &got["message"]), (&want["code"], &want["message"]));
            }
            if route.access == Access::Session {
                continue;
            }
            // A user and a machine of another controller: refused exactly as
            // for an object that does not exist.
            for token in [&outsider.token, &b_dialer] {
                let (status, got) = s.server.call(route.method, &on_real, Some(token), body.clone()).await;
                let (fake_status, want) = s.server.call(route.method, &on_fake, Some(token), body.clone()).await;
                assert_eq!(status, 404, "{} {}: {got}", route.method, route.path);
                assert_eq!(fake_status, 404, "{} {}: {want}", route.method, route.path);
                assert_eq!(got["code"], "not_found");
                assert_eq!((&got["code"], &got["message"], &got["field"]), (&want["code"], &want["message"], &want["field"]));
            }
        }
        // Listing controllers shows a user only its own.
        let (status, list) = s.server.call("GET", "/v1/controllers", Some(&outsider.token), None).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [s.b.as_str()]);
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rotated_and_revoked_tokens_and_a_changed_agreement_apply_on_the_next_request() {
    // Token records and agreements are cached for a moment (they are read on
    // every request); a change made through the service must still apply
    // at once, even right after the old value was read and cached.
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let (status, issued) = s
            .admin_call(
                "POST",
                &format!("/v1/controllers/{}/clients", s.a),
                json!({"name": "crm", "kind": "crm", "capabilities": ["subjects.read"], "expires_at": "2027-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 201, "{issued}");
        let client = issued["client"]["id"].as_str().unwrap().to_owned();
        let first = issued["token"].as_str().unwrap().to_owned();
        let read = |purpose: &str| format!("/v1/controllers/{}/subjects?purpose={purpose}", s.a);
        assert_eq!(s.server.call("GET", &read("telemarketing"), Some(&first), None).await.0, 200);

        let (status, rotated) = s
            .admin_call(
                "POST",
                &format!("/v1/controllers/{}/clients/{client}/token", s.a),
                json!({"expires_at": "2027-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 201, "{rotated}");
        let second = rotated["token"].as_str().unwrap().to_owned();
        assert_eq!(s.server.call("GET", &read("telemarketing"), Some(&first), None).await.0, 401, "rotated-out token");
        assert_eq!(s.server.call("GET", &read("telemarketing"), Some(&second), None).await.0, 200);

        // The agreement drops telemarketing: refused on the very next call.
        let mut narrower = agreement("DPA-A-2026-2");
        narrower["purposes"] = json!([{"purpose": "customer_care", "legal_basis": {"basis": "contract"}}]);
        narrower["retention"] = json!([]);
        let (status, body) = s.admin_call("PUT", &format!("/v1/controllers/{}/agreement", s.a), narrower).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = s.server.call("GET", &read("telemarketing"), Some(&second), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("purpose_not_allowed")), "{body}");
        assert_eq!(s.server.call("GET", &read("customer_care"), Some(&second), None).await.0, 200);

        let (status, _) = s.server.call("DELETE", &format!("/v1/controllers/{}/clients/{client}", s.a), Some(&s.admin), None).await;
        assert_eq!(status, 204);
        assert_eq!(s.server.call("GET", &read("customer_care"), Some(&second), None).await.0, 401, "revoked client");
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_disabled_users_session_and_issued_token_fail_on_the_next_request() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let agent = s.staff("agent.a", "agent", &s.a, true).await;
        // A second administrator issues a dialer token, then leaves.
        let (status, _) = s
            .admin_call("POST", "/v1/users", json!({"username": "admin2", "password": PASSWORD, "role": "administrator"}))
            .await;
        assert_eq!(status, 201);
        let (_, login) = s.server.login("admin2", PASSWORD, None).await;
        let pending = login["token"].as_str().unwrap().to_owned();
        let admin2_id = login["user"]["id"].as_str().unwrap().to_owned();
        let (_, enrol) = s.server.call("POST", "/v1/auth/mfa/enroll", Some(&pending), None).await;
        let code = code_at(&totp(enrol["secret"].as_str().unwrap()), s.clock_now());
        let (status, _) = s.server.call("POST", "/v1/auth/mfa/confirm", Some(&pending), Some(json!({"totp": code}))).await;
        assert_eq!(status, 204);
        let (status, issued) = s.server.call(
            "POST",
            &format!("/v1/controllers/{}/clients", s.a),
            Some(&pending),
            Some(json!({"name": "crm", "kind": "crm", "capabilities": ["subjects.read"], "expires_at": "2027-01-01T00:00:00Z"})),
        ).await;
        assert_eq!(status, 201, "{issued}");
        let crm = issued["token"].as_str().unwrap().to_owned();
        let read = format!("/v1/controllers/{}/subjects?purpose=customer_care", s.a);
        assert_eq!(s.server.call("GET", &read, Some(&crm), None).await.0, 200);
        assert_eq!(s.server.call("GET", &read, Some(&agent.token), None).await.0, 200);

        for id in [&agent.id, &admin2_id] {
            let (status, body) = s.admin_call("POST", &format!("/v1/users/{id}/disable"), json!({})).await;
            assert_eq!(status, 200, "{body}");
            assert!(body["disabled_at"].is_string());
        }
        let (status, body) = s.server.call("GET", &read, Some(&agent.token), None).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")));
        assert_eq!(s.server.call("GET", &read, Some(&crm), None).await.0, 401, "token issued by a departed admin");
        assert_eq!(s.server.call("GET", "/v1/auth/me", Some(&pending), None).await.0, 401);
        let (status, body) = s.server.login("agent.a", PASSWORD, None).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
        // The last administrator cannot lock everyone out.
        let (_, me) = s.server.call("GET", "/v1/auth/me", Some(&s.admin), None).await;
        let (status, body) = s.admin_call("POST", &format!("/v1/users/{}/disable", me["id"].as_str().unwrap()), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("last_administrator")));
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_totp_code_works_once() {
    let s = Scenario::new(Backend::Sqlite).await;
    let code = s.next_admin_code();
    let (status, body) = s.server.login("admin", PASSWORD, Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_enrollment_required"], false);
    let (status, body) = s.server.login("admin", PASSWORD, Some(&code)).await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (401, Some("invalid_mfa_code"), Some("totp")),
        "{body}"
    );
    let (status, body) = s.server.login("admin", PASSWORD, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("mfa_code_required"))
    );
    let (status, _) = s.server.login("admin", PASSWORD, Some("000000")).await;
    assert_eq!(status, 401);
    let next = s.next_admin_code();
    assert_eq!(s.server.login("admin", PASSWORD, Some(&next)).await.0, 200);
    s.server.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_the_lock_expires() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        s.staff("agent.a", "agent", &s.a, true).await;
        for attempt in 1..=5 {
            let (status, body) = s.server.login("agent.a", "wrong password here", None).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some("invalid_credentials")),
                "attempt {attempt}"
            );
        }
        // Locked: even the right password is refused, and so is any name
        // guessed in the same way (unknown accounts lock too: no enumeration).
        let (status, body) = s.server.login("agent.a", PASSWORD, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("login_throttled")),
            "{body}"
        );
        for _ in 0..5 {
            s.server
                .login("no.such.user", "whatever at all", None)
                .await;
        }
        assert_eq!(
            s.server
                .login("no.such.user", "whatever at all", None)
                .await
                .0,
            429
        );
        s.clock.advance(SignedDuration::from_mins(14));
        assert_eq!(s.server.login("agent.a", PASSWORD, None).await.0, 429);
        s.clock.advance(SignedDuration::from_mins(2));
        let (status, body) = s.server.login("agent.a", PASSWORD, None).await;
        assert_eq!(status, 200, "lock expired: {body}");
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn many_failures_from_one_address_block_it_for_every_account() {
    let s = Scenario::new(Backend::Sqlite).await;
    s.staff("agent.a", "agent", &s.a, true).await;
    // 50 failures spread over many names (a password-spraying attack).
    for i in 0..50 {
        s.server
            .login(&format!("user{i}"), "wrong password here", None)
            .await;
    }
    let (status, body) = s.server.login("agent.a", PASSWORD, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("login_throttled")),
        "{body}"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn a_purpose_outside_the_agreement_is_refused_naming_purpose_and_agreement() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let agent = s.staff("agent.a", "agent", &s.a, true).await;
        let path = |purpose: &str| format!("/v1/controllers/{}/subjects?purpose={purpose}", s.a);
        let (status, body) = s.server.call("GET", &path("profiling"), Some(&agent.token), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("purpose_not_allowed")), "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("profiling") && message.contains("DPA-A-2026"), "{message}");
        let (status, body) = s.server.call("GET", &format!("/v1/controllers/{}/subjects", s.a), Some(&agent.token), None).await;
        assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (400, Some("missing_field"), Some("purpose")));
        // A category outside the agreement is refused too.
        let (status, body) = s.server.call(
            "POST",
            &path("customer_care"),
            Some(&agent.token),
            Some(json!({"attributes": [{"name": "mood", "category": "behavioural", "value": "cheerful"}]})),
        ).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("category_not_allowed")), "{body}");
        // After the agreement's end date, nothing is processed under it.
        s.clock.set("2027-01-01T00:00:00Z".parse().unwrap());
        let token = s.relogin("agent.a").await;
        let (status, body) = s.server.call("GET", &path("customer_care"), Some(&token), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("agreement_not_in_force")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("DPA-A-2026"));
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn staff_without_a_current_training_attestation_are_refused_with_its_code() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let newcomer = s.staff("agent.new", "agent", &s.a, false).await;
        let read = format!("/v1/controllers/{}/subjects?purpose=customer_care", s.a);
        let (status, body) = s.server.call("GET", &read, Some(&newcomer.token), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("attestation_missing")), "{body}");
        s.attest(&newcomer.id, "confidentiality", None, "2027-06-01T00:00:00Z").await;
        let (status, body) = s.server.call("GET", &read, Some(&newcomer.token), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("attestation_missing")));
        assert!(body["message"].as_str().unwrap().contains("privacy_training"), "{body}");
        // Training without the assessment passed is not accepted.
        let (status, body) = s.admin_call(
            "POST",
            &format!("/v1/users/{}/attestations", newcomer.id),
            json!({"kind": "privacy_training", "version": "2026.2", "attested_at": "2026-01-10T00:00:00Z", "expires_at": "2026-12-01T00:00:00Z"}),
        ).await;
        assert_eq!((status, body["field"].as_str()), (400, Some("assessment")), "{body}");
        s.attest(&newcomer.id, "privacy_training", Some("Quiz A"), "2026-12-01T00:00:00Z").await;
        assert_eq!(s.server.call("GET", &read, Some(&newcomer.token), None).await.0, 200);
        s.clock.set("2026-12-01T00:00:00Z".parse().unwrap());
        let token = s.relogin("agent.new").await;
        let (status, body) = s.server.call("GET", &read, Some(&token), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("attestation_expired")), "{body}");
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn platform_administrators_are_refused_on_personal_data() {
    on_each_backend(|backend| async move {
        let s = Scenario::new(backend).await;
        let agent = s.staff("agent.a", "agent", &s.a, true).await;
        let subject = s
            .subject(&agent.token, &s.a, "Maria Bianchi", "+393471112233")
            .await;
        for (method, path) in [
            (
                "GET",
                format!("/v1/controllers/{}/subjects?purpose=customer_care", s.a),
            ),
            (
                "GET",
                format!(
                    "/v1/controllers/{}/subjects/{subject}?purpose=customer_care",
                    s.a
                ),
            ),
            (
                "POST",
                format!("/v1/controllers/{}/subjects?purpose=customer_care", s.a),
            ),
        ] {
            let (status, body) = s
                .server
                .call(
                    method,
                    &path,
                    Some(&s.admin),
                    Some(json!({"attributes": []})),
                )
                .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("personal_data_forbidden")),
                "{method} {path}: {body}"
            );
            assert!(!body.to_string().contains("Bianchi"));
        }
        // The administrator still manages the controller itself.
        let (status, body) = s
            .server
            .call(
                "GET",
                &format!("/v1/controllers/{}", s.a),
                Some(&s.admin),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["agreement"]["terms"]["reference"], "DPA-A-2026");
        s.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request_and_masking_follows_the_role() {
    let s = Scenario::new(Backend::Sqlite).await;
    let agent = s.staff("agent.a", "agent", &s.a, true).await;
    let subject = s
        .subject(&agent.token, &s.a, "Maria Bianchi", "+393471112233")
        .await;
    let path = format!(
        "/v1/controllers/{}/subjects/{subject}?purpose=customer_care",
        s.a
    );
    let (status, body) = s.server.call("GET", &path, Some(&agent.token), None).await;
    assert_eq!(status, 200, "{body}");
    let attrs = body["attributes"].as_array().unwrap();
    let phone = attrs.iter().find(|a| a["name"] == "phone").unwrap();
    assert_eq!(
        (phone["value"].as_str(), phone["masked"].as_bool()),
        (Some("****33"), Some(true))
    );
    let name = attrs.iter().find(|a| a["name"] == "full_name").unwrap();
    assert_eq!(name["value"], "Maria Bianchi");

    // Promoted to auditor: no subject reads, on the very next request.
    let (status, _) = s
        .admin_call(
            "PATCH",
            &format!("/v1/users/{}", agent.id),
            json!({"role": "auditor"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = s.server.call("GET", &path, Some(&agent.token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("subjects.read"));

    // Promoted to DPO: the role needs MFA, so the session can only enrol now.
    let (status, _) = s
        .admin_call(
            "PATCH",
            &format!("/v1/users/{}", agent.id),
            json!({"role": "dpo"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = s.server.call("GET", &path, Some(&agent.token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("mfa_enrollment_required")),
        "{body}"
    );
    let (_, enrol) = s
        .server
        .call("POST", "/v1/auth/mfa/enroll", Some(&agent.token), None)
        .await;
    let code = code_at(&totp(enrol["secret"].as_str().unwrap()), s.clock_now());
    assert_eq!(
        s.server
            .call(
                "POST",
                "/v1/auth/mfa/confirm",
                Some(&agent.token),
                Some(json!({"totp": code}))
            )
            .await
            .0,
        204
    );
    let (status, body) = s.server.call("GET", &path, Some(&agent.token), None).await;
    assert_eq!(status, 200, "{body}");
    let phone = body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "phone")
        .unwrap()
        .clone();
    assert_eq!(
        (phone["value"].as_str(), phone["masked"].as_bool()),
        (Some("+393471112233"), Some(false)),
        "a DPO sees contact data"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn sessions_expire_and_sign_out_revokes() {
    let s = Scenario::new(Backend::Sqlite).await;
    let agent = s.staff("agent.a", "agent", &s.a, true).await;
    assert_eq!(
        s.server
            .call("GET", "/v1/auth/me", Some(&agent.token), None)
            .await
            .0,
        200
    );
    assert_eq!(
        s.server
            .call("POST", "/v1/auth/logout", Some(&agent.token), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.server
            .call("GET", "/v1/auth/me", Some(&agent.token), None)
            .await
            .0,
        401
    );
    let (_, login) = s.server.login("agent.a", PASSWORD, None).await;
    let token = login["token"].as_str().unwrap();
    s.clock.advance(SignedDuration::from_hours(8));
    let (status, body) = s.server.call("GET", "/v1/auth/me", Some(token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    s.server.stop().await;
}

impl Scenario {
    /// Signs `username` in again (after the clock jumped past its session).
    pub async fn relogin(&self, username: &str) -> String {
        let (status, login) = self.server.login(username, PASSWORD, None).await;
        assert_eq!(status, 200, "{login}");
        login["token"].as_str().unwrap().to_owned()
    }

    pub fn clock_now(&self) -> jiff::Timestamp {
        use tutela_domain::Clock;
        self.clock.now()
    }
}
