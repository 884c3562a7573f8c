//! Liveness, readiness and metrics: what load balancers and Prometheus poll.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use tutela_app::App;
use utoipa::ToSchema;

use crate::ApiError;

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` when the process answers.
    status: &'static str,
}

/// Readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ready {
    /// `ready`.
    status: &'static str,
    /// Storage backend in use (`sqlite`, `postgres`).
    backend: &'static str,
    /// Migrations applied, of those this binary ships.
    migrations_applied: usize,
    /// Migrations this binary ships.
    migrations_expected: usize,
}

/// The process is up. Touches nothing else, so it stays cheap.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Storage is reachable and every migration is applied; otherwise 503 with
/// the reason, so a load balancer sends no traffic here.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Ready),
        (status = 503, description = "Storage unreachable or migrations missing", body = crate::ErrorBody)))]
pub(crate) async fn readyz(State(app): State<App>) -> Result<Json<Ready>, ApiError> {
    let store = app.store();
    let readiness = store.readiness().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            e.code(),
            "storage is not reachable",
        )
        .with_detail(e.to_string())
    })?;
    if !readiness.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations_pending",
            format!(
                "{} of {} database migrations are applied",
                readiness.migrations_applied, readiness.migrations_expected
            ),
        ));
    }
    Ok(Json(Ready {
        status: "ready",
        backend: store.backend(),
        migrations_applied: readiness.migrations_applied,
        migrations_expected: readiness.migrations_expected,
    }))
}

/// Prometheus text exposition of the process's metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics() -> Result<impl IntoResponse, ApiError> {
    let handle = crate::metrics::handle()
        .ok_or_else(|| ApiError::internal("another metrics recorder was installed first"))?;
    handle.run_upkeep();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    ))
}
