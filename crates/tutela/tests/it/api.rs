//! The HTTP API, exercised over real sockets on every backend.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tutela_domain::ManualClock;

use crate::support::{Backend, TestServer, on_each_backend};

const PASSWORD: &str = "correct horse battery staple";

fn setup_body(token: &str, username: &str) -> String {
    json!({"setup_token": token, "username": username, "password": PASSWORD}).to_string()
}

fn assert_error(body: &serde_json::Value, code: &str, field: Option<&str>) {
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|id| id.len() >= 8),
        "{body}"
    );
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi_answer() {
    on_each_backend(|backend| async move {
        let server = TestServer::start(backend).await;
        let (status, body) = server.get_json("/healthz").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

        let (status, body) = server.get_json("/readyz").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["backend"],
            if backend == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        assert_eq!(body["migrations_applied"], body["migrations_expected"]);

        let metrics = server
            .client
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 200);
        assert!(
            metrics.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = metrics.text().await.unwrap();
        assert!(
            text.contains("tutela_http_requests_total{") && text.contains("route=\"/healthz\""),
            "{text}"
        );
        assert!(
            text.contains("tutela_http_request_duration_seconds_bucket"),
            "{text}"
        );

        let (status, doc) = server.get_json("/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        for path in ["/healthz", "/readyz", "/metrics", "/v1/setup"] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} missing from OpenAPI"
            );
        }
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn api_page_is_served_from_the_binary() {
    let server = TestServer::start(Backend::Sqlite).await;
    let page = server
        .client
        .get(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The page's assets come from this server, not from a CDN.
    assert!(!html.contains("https://"), "{html}");
    let initializer = server
        .client
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(initializer.status(), 200);
    assert!(initializer.text().await.unwrap().contains("/openapi.json"));
    let bundle = server
        .client
        .get(server.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn setup_creates_the_first_administrator_once() {
    on_each_backend(|backend| async move {
        let server = TestServer::start(backend).await;
        let token = server.setup_token();
        let (status, body) = server
            .post_json("/v1/setup", &setup_body(&token, "Admin.Ops"))
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["username"], "admin.ops");
        assert_eq!(body["role"], "administrator");
        assert!(body.get("password").is_none() && body.get("password_hash").is_none());

        let (status, body) = server
            .post_json("/v1/setup", &setup_body(&token, "second"))
            .await;
        assert_eq!(status, 409);
        assert_error(&body, "setup_already_complete", None);
        assert_eq!(server.store().count_users().await.unwrap(), 1);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_or_expired_setup_token_is_refused() {
    let clock = Arc::new(ManualClock::new(
        "2026-11-22T09:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let server = TestServer::start_with(Backend::Sqlite, clock.clone(), |_| {}).await;
    let (status, body) = server
        .post_json("/v1/setup", &setup_body(&"0".repeat(64), "admin"))
        .await;
    assert_eq!(status, 401);
    assert_error(&body, "invalid_setup_token", Some("setup_token"));

    clock.advance(SignedDuration::from_hours(24));
    let (status, body) = server
        .post_json("/v1/setup", &setup_body(&server.setup_token(), "admin"))
        .await;
    assert_eq!(status, 401, "a token is valid for 24 hours only: {body}");
    assert_eq!(server.store().count_users().await.unwrap(), 0);
    server.stop().await;
}

#[tokio::test]
async fn invalid_fields_are_named_without_echoing_values() {
    let server = TestServer::start(Backend::Sqlite).await;
    let token = server.setup_token();
    let cases = [
        (
            json!({"setup_token": token, "username": "a b", "password": PASSWORD}),
            "username",
        ),
        (
            json!({"setup_token": token, "username": "admin", "password": "short"}),
            "password",
        ),
        (
            json!({"setup_token": "abc", "username": "admin", "password": PASSWORD}),
            "setup_token",
        ),
    ];
    for (body, field) in cases {
        let (status, response) = server.post_json("/v1/setup", &body.to_string()).await;
        assert_eq!(status, 400);
        assert_error(&response, "invalid_field", Some(field));
        assert!(!response.to_string().contains("short") || field != "password");
    }
    let (status, response) = server
        .post_json(
            "/v1/setup",
            &json!({"setup_token": token, "username": 12345, "password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert_error(&response, "invalid_field", Some("username"));
    assert!(!response.to_string().contains("12345"), "{response}");
    assert_eq!(server.store().count_users().await.unwrap(), 0);
    server.stop().await;
}

#[tokio::test]
async fn unknown_fields_and_malformed_json_are_refused_and_nothing_is_written() {
    on_each_backend(|backend| async move {
        let server = TestServer::start(backend).await;
        let token = server.setup_token();

        let unknown =
            json!({"setup_token": token, "username": "admin", "password": PASSWORD, "role": "dpo"});
        let (status, body) = server.post_json("/v1/setup", &unknown.to_string()).await;
        assert_eq!(status, 400);
        assert_error(&body, "unknown_field", Some("role"));
        assert!(body["message"].as_str().unwrap().contains("`role`"));

        let missing = json!({"setup_token": token, "username": "admin"});
        let (status, body) = server.post_json("/v1/setup", &missing.to_string()).await;
        assert_eq!(status, 400);
        assert_error(&body, "missing_field", Some("password"));

        let trailing = format!("{} {{}}", setup_body(&token, "admin"));
        for malformed in [
            r#"{"setup_token": "#,
            "setup",
            r#"{"username":"admin",}"#,
            "",
            &trailing,
        ] {
            let (status, body) = server.post_json("/v1/setup", malformed).await;
            assert_eq!(status, 400, "{malformed}");
            assert_error(&body, "malformed_json", None);
        }

        let not_json = server
            .client
            .post(server.url("/v1/setup"))
            .header("content-type", "text/plain")
            .body(setup_body(&token, "admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), 415);

        assert_eq!(
            server.store().count_users().await.unwrap(),
            0,
            "nothing written"
        );
        // And the token was not consumed by any refused attempt.
        let (status, _) = server
            .post_json("/v1/setup", &setup_body(&token, "admin"))
            .await;
        assert_eq!(status, 201);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn storage_failure_is_a_500_with_a_request_id() {
    on_each_backend(|backend| async move {
        let server = TestServer::start(backend).await;
        let token = server.setup_token();
        server.store().close().await;

        let (status, body) = server
            .post_json("/v1/setup", &setup_body(&token, "admin"))
            .await;
        assert_eq!(status, 500, "{body}");
        assert_error(&body, "storage_unavailable", None);
        assert!(
            !body.to_string().contains("pool"),
            "internal detail leaked: {body}"
        );

        let (status, body) = server.get_json("/readyz").await;
        assert_eq!(status, 503);
        assert_error(&body, "storage_unavailable", None);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn request_ids_security_headers_and_fallbacks() {
    let server = TestServer::start(Backend::Sqlite).await;
    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "dialer-7f3a-0001")
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-request-id"], "dialer-7f3a-0001");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(
        headers.get("strict-transport-security").is_none(),
        "HSTS only over TLS"
    );

    // A request id that could smuggle text into logs is replaced.
    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "+39 347 1234567")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.contains("347") && id.len() == 36, "{id}");

    let (status, body) = server.get_json("/v1/no-such-thing").await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found", None);

    let response = server
        .client
        .delete(server.url("/v1/setup"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(&body, "method_not_allowed", None);
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server =
        TestServer::start_with(Backend::Sqlite, Arc::new(tutela_domain::SystemClock), |s| {
            s.http.body_limit_bytes = 1024;
        })
        .await;
    let big =
        json!({"setup_token": "0".repeat(64), "username": "admin", "password": "p".repeat(4000)});
    let (status, body) = server.post_json("/v1/setup", &big.to_string()).await;
    assert_eq!(status, 413);
    assert_error(&body, "payload_too_large", None);
    server.stop().await;
}

#[tokio::test]
async fn restart_issues_a_new_token_until_setup_is_done() {
    let db = crate::support::FreshDatabase::create(Backend::Sqlite)
        .await
        .unwrap();
    let data = db.dir.path().join("data");
    let settings = crate::support::settings_for(&data, &db.url_string());
    let clock: Arc<dyn tutela_domain::Clock> = Arc::new(tutela_domain::SystemClock);

    let first = tutela::serve::start(&settings, clock.clone(), async {})
        .await
        .unwrap();
    let first_token = first.setup_token.clone().unwrap();
    assert!(first.banner().contains(first_token.expose()));
    first.finished().await.unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tutela::serve::start(&settings, clock.clone(), async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    let second_token = second.setup_token.clone().unwrap();
    assert_ne!(first_token, second_token);
    let app = second.app.clone();
    let username = || tutela_domain::Username::parse("admin").unwrap();
    let password = tutela_domain::Password::parse(PASSWORD).unwrap();
    // The first token died when the second was issued.
    let refused = app
        .complete_setup(&first_token, username(), &password)
        .await;
    assert_eq!(
        refused.unwrap_err(),
        tutela_app::AppError::Domain(tutela_domain::DomainError::InvalidSetupToken)
    );
    let user = app
        .complete_setup(&second_token, username(), &password)
        .await
        .unwrap();
    assert_eq!(user.role, tutela_domain::Role::Administrator);
    let _ = stop.send(());
    second.finished().await.unwrap();

    let third = tutela::serve::start(&settings, clock, async {})
        .await
        .unwrap();
    assert!(third.setup_token.is_none());
    assert!(!third.banner().contains("SETUP TOKEN"));
    third.finished().await.unwrap();
}
