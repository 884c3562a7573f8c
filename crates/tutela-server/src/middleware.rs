//! The middleware every request passes through, in one place so the order is
//! visible: request id → span → timeout → handler → metrics → error rendering.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::ApiError;

/// The header carrying the request id, in both directions.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Per-request settings the middleware needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLimits {
    pub timeout: Duration,
}

/// Gives the request an id, runs it inside a span that records only
/// non-identifying fields (id, method, route template; never the raw path or
/// query, which may hold a phone number), enforces the timeout, counts it, and
/// renders any [`ApiError`] with the request id (logging its detail).
pub(crate) async fn observe(
    State(limits): State<RequestLimits>,
    mut req: Request,
    next: Next,
) -> Response {
    let request_id = request_id(&req);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert(REQUEST_ID, value);
    }
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // `actor` is filled in by authentication: a pseudonymous `user:<uuid>`
    // or `client:<uuid>`, never a name.
    let span = tracing::info_span!(
        "request",
        %request_id,
        %method,
        %route,
        actor = tracing::field::Empty
    );
    let started = Instant::now();

    let upload = method == "POST" && route == crate::routes::LIST_IMPORT;
    let timeout = if upload {
        std::time::Duration::MAX
    } else {
        limits.timeout
    };
    let response = async {
        match tokio::time::timeout(timeout, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long and was abandoned; it may or may not have taken effect, check before retrying",
            )
            .with_detail(format!("request exceeded {:?}", limits.timeout))
            .into_response(),
        }
    }
    .instrument(span.clone())
    .await;

    let response = finish_error(response, &request_id, &span);
    let status = response.status();
    crate::metrics::record_request(method, &route, status, started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The method as a label. HTTP allows any token as a method; anything but the
/// standard ones becomes `OTHER`, so a client cannot mint metric series.
fn method_label(method: &Method) -> &'static str {
    static STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(standard, _)| standard == method)
        .map_or("OTHER", |(_, label)| label)
}

/// Accepts a caller's request id only if it is short and made of safe
/// characters (it ends up in logs); otherwise makes a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Renders an error response's body with the request id and logs its detail.
fn finish_error(mut response: Response, request_id: &str, span: &tracing::Span) -> Response {
    let Some(mut error) = response.extensions_mut().remove::<ApiError>() else {
        return response;
    };
    span.in_scope(|| {
        let detail = error.detail.as_deref().unwrap_or("-");
        if error.status.is_server_error() {
            tracing::error!(code = %error.body.code, detail, "request failed");
        } else {
            tracing::info!(code = %error.body.code, field = error.body.field.as_deref().unwrap_or("-"), "request refused");
        }
    });
    error.body.request_id = Some(request_id.to_owned());
    let mut rendered = axum::Json(error.body).into_response();
    *response.body_mut() = std::mem::take(rendered.body_mut());
    response.headers_mut().remove(header::CONTENT_LENGTH);
    if let Some(content_type) = rendered.headers_mut().remove(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// Turns a panic inside a handler into a 500 [`ApiError`] (the panic message
/// is not shown: it could contain anything).
pub(crate) fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    ApiError::internal("handler panicked").into_response()
}

/// Fallback for paths that match no route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Fallback for a known path with a method it does not support.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not support this method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(timeout: Duration) -> Router {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }
        async fn boom() -> &'static str {
            panic!("handler bug with +39 347 1234567 in it")
        }
        Router::new()
            .route("/slow", get(slow))
            .route("/boom", get(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ))
            .layer(from_fn_with_state(RequestLimits { timeout }, observe))
    }

    async fn call(router: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    use axum::middleware::from_fn_with_state;

    #[tokio::test]
    async fn slow_requests_time_out_with_a_request_id() {
        let (status, body) = call(app(Duration::from_millis(20)), "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "timeout");
        assert!(body["request_id"].is_string());
    }

    #[tokio::test]
    async fn panics_become_500_without_their_message() {
        let (status, body) = call(app(Duration::from_secs(5)), "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["code"], "internal");
        assert!(body["request_id"].is_string());
        assert!(!body.to_string().contains("347"), "{body}");
    }
}
