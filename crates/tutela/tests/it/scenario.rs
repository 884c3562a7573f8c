//! A populated server for access tests: an administrator with MFA, two
//! controllers with agreements, staff of each with attestations, a dialer.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tutela_domain::{Clock, ManualClock};

use crate::support::{Backend, TestServer};

pub const PASSWORD: &str = "correct horse battery staple";

/// The instant scenarios start at.
pub fn start() -> Timestamp {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

pub struct Scenario {
    pub server: TestServer,
    pub clock: Arc<ManualClock>,
    pub admin: String,
    admin_totp: totp_rs::Totp,
    /// Controller A and B ids.
    pub a: String,
    pub b: String,
}

/// A signed-in user of a controller.
pub struct Staff {
    pub id: String,
    pub token: String,
}

impl Scenario {
    pub async fn new(backend: Backend) -> Self {
        Self::new_with(backend, |_| {}).await
    }

    /// A scenario whose server settings `adjust` changes first.
    pub async fn new_with(
        backend: Backend,
        adjust: impl FnOnce(&mut tutela::config::Settings),
    ) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let server = TestServer::start_with(backend, clock.clone() as Arc<dyn Clock>, adjust).await;
        let token = server.setup_token();
        let (status, body) = server
            .call(
                "POST",
                "/v1/setup",
                None,
                Some(json!({"setup_token": token, "username": "admin", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // Administrators must enrol MFA: the first session can do nothing else.
        let (status, login) = server.login("admin", PASSWORD, None).await;
        assert_eq!(status, 200, "{login}");
        assert_eq!(login["mfa_enrollment_required"], true);
        let pending = login["token"].as_str().unwrap().to_owned();
        let (status, body) = server.call("GET", "/v1/users", Some(&pending), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("mfa_enrollment_required")),
            "{body}"
        );
        let (status, enrol) = server
            .call("POST", "/v1/auth/mfa/enroll", Some(&pending), None)
            .await;
        assert_eq!(status, 200, "{enrol}");
        assert!(
            enrol["otpauth_url"]
                .as_str()
                .unwrap()
                .starts_with("otpauth://totp/")
        );
        let admin_totp = totp(enrol["secret"].as_str().unwrap());
        let code = code_at(&admin_totp, clock.now());
        let (status, body) = server
            .call(
                "POST",
                "/v1/auth/mfa/confirm",
                Some(&pending),
                Some(json!({"totp": code})),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let mut scenario = Self {
            server,
            clock,
            admin: pending,
            admin_totp,
            a: String::new(),
            b: String::new(),
        };
        scenario.a = scenario.controller("Energia Alfa SpA", "DPA-A-2026").await;
        scenario.b = scenario.controller("Banca Beta SpA", "DPA-B-2026").await;
        scenario
    }

    /// The current TOTP code of the administrator, after moving the clock to
    /// the next 30-second step (each step's code is accepted once).
    pub fn next_admin_code(&self) -> String {
        self.clock.advance(SignedDuration::from_secs(30));
        code_at(&self.admin_totp, self.clock.now())
    }

    pub async fn controller(&self, name: &str, reference: &str) -> String {
        let (status, body) = self
            .admin_call(
                "POST",
                "/v1/controllers",
                json!({"name": name, "country": "IT", "dpo_contact": "dpo@example.com"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .admin_call(
                "PUT",
                &format!("/v1/controllers/{id}/agreement"),
                agreement(reference),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        id
    }

    /// A controller with the given agreement terms.
    pub async fn controller_with(&self, name: &str, agreement: Value) -> String {
        let (status, body) = self
            .admin_call(
                "POST",
                "/v1/controllers",
                json!({"name": name, "country": "IT", "dpo_contact": "dpo@example.com"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .admin_call("PUT", &format!("/v1/controllers/{id}/agreement"), agreement)
            .await;
        assert_eq!(status, 201, "{body}");
        id
    }

    /// A machine client of `controller` with `capabilities`; its token.
    pub async fn client_token(&self, controller: &str, capabilities: &[&str]) -> String {
        self.client_token_until(controller, capabilities, "2027-01-01T00:00:00Z")
            .await
    }

    /// A machine client's token valid until `expires_at`.
    pub async fn client_token_until(
        &self,
        controller: &str,
        capabilities: &[&str],
        expires_at: &str,
    ) -> String {
        let (status, body) = self
            .admin_call(
                "POST",
                &format!("/v1/controllers/{controller}/clients"),
                json!({"name": "crm", "kind": "crm", "capabilities": capabilities, "expires_at": expires_at}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.admin), Some(body))
            .await
    }

    /// Creates a user of `controller` with `role`, records both attestations
    /// (unless `attested` is false) and signs in.
    pub async fn staff(
        &self,
        username: &str,
        role: &str,
        controller: &str,
        attested: bool,
    ) -> Staff {
        let (status, body) = self
            .admin_call("POST", "/v1/users", json!({"username": username, "password": PASSWORD, "role": role, "controllers": [controller]}))
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        if attested {
            self.attest(&id, "confidentiality", None, "2027-06-01T00:00:00Z")
                .await;
            self.attest(
                &id,
                "privacy_training",
                Some("GDPR basics quiz, 18/20"),
                "2027-06-01T00:00:00Z",
            )
            .await;
        }
        let (status, login) = self.server.login(username, PASSWORD, None).await;
        assert_eq!(status, 200, "{login}");
        Staff {
            id,
            token: login["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn attest(&self, user: &str, kind: &str, assessment: Option<&str>, expires: &str) {
        let mut body = json!({"kind": kind, "version": "2026.2", "attested_at": "2026-01-10T00:00:00Z", "expires_at": expires});
        if let Some(a) = assessment {
            body["assessment"] = json!(a);
        }
        let (status, body) = self
            .admin_call("POST", &format!("/v1/users/{user}/attestations"), body)
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// Records a subject of `controller` as `staff`, returns its id.
    pub async fn subject(&self, token: &str, controller: &str, name: &str, phone: &str) -> String {
        let (status, body) = self
            .server
            .call(
                "POST",
                &format!("/v1/controllers/{controller}/subjects?purpose=customer_care"),
                Some(token),
                Some(json!({"attributes": [
                    {"name": "full_name", "category": "identity", "value": name},
                    {"name": "phone", "category": "contact", "value": phone}
                ]})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

pub fn agreement(reference: &str) -> Value {
    json!({
        "reference": reference,
        "purposes": [
            {"purpose": "customer_care", "legal_basis": {"basis": "contract"}},
            {"purpose": "telemarketing", "legal_basis": {"basis": "consent"}}
        ],
        "categories": ["identity", "contact", "contractual"],
        "retention": [{"category": "contact", "purpose": "telemarketing", "days": 90}],
        "operator_countries": ["IT", "AL"],
        "sub_processors": [],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z"
    })
}

pub fn totp(secret_base32: &str) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret_base32).unwrap())
        .build()
        .unwrap()
}

pub fn code_at(totp: &totp_rs::Totp, at: Timestamp) -> String {
    totp.generate(u64::try_from(at.as_second()).unwrap())
        .to_string()
}

impl TestServer {
    /// Any request, with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Uploads a lead list: `metadata` then `file`, as `tutela lists import` does.
    pub async fn import_list(
        &self,
        token: &str,
        controller: &str,
        purpose: &str,
        metadata: &Value,
        file: Vec<u8>,
    ) -> (u16, Value) {
        let form = reqwest::multipart::Form::new()
            .part(
                "metadata",
                reqwest::multipart::Part::text(metadata.to_string()),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(file).file_name("list.csv"),
            );
        let response = self
            .client
            .post(self.url(&format!(
                "/v1/controllers/{controller}/lists?purpose={purpose}"
            )))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, username: &str, password: &str, totp: Option<&str>) -> (u16, Value) {
        let mut body = json!({"username": username, "password": password});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        self.call("POST", "/v1/auth/login", None, Some(body)).await
    }
}
