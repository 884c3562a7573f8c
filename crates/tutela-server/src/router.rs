//! The router: routes, fallbacks and the middleware stack.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tutela_app::App;
use utoipa_swagger_ui::SwaggerUi;

use crate::extract::WorkstationHeader;
use crate::middleware::{RequestLimits, method_not_allowed, not_found, observe, panic_response};
use crate::routes::api_router;

/// HTTP behaviour that comes from configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// A request still running after this is answered 503 `timeout`.
    pub request_timeout: Duration,
    /// Send `Strict-Transport-Security` (only when serving TLS).
    pub hsts: bool,
    /// The request header that names the caller's workstation, recorded in
    /// audit events (for example `x-workstation-id`).
    pub workstation_header: Option<HeaderName>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            hsts: false,
            workstation_header: None,
        }
    }
}

/// Builds the whole HTTP surface over `app`: `/healthz`, `/readyz`,
/// `/metrics`, `/openapi.json`, the browsable API page at `/docs/` (served
/// from the binary, no network needed) and the JSON API under `/v1`.
pub fn router(app: App, settings: &HttpSettings) -> Router {
    // Install the recorder now, so requests before the first scrape count.
    let _ = crate::metrics::handle();
    let limits = RequestLimits {
        timeout: settings.request_timeout,
    };
    let routes = api_router()
        .with_state(app)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", crate::openapi_json()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let routes = routes
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(Extension(WorkstationHeader(
            settings.workstation_header.clone(),
        )))
        .layer(from_fn_with_state(limits, observe));
    with_security_headers(routes, settings.hsts)
}

/// Headers that make browsers treat every response conservatively. The CSP
/// allows inline styles only because the bundled API page needs them.
fn with_security_headers(router: Router, hsts: bool) -> Router {
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let mut router = router;
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if hsts {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
}
