//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;

/// Every documented route and schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tutela",
        description = "Privacy core for contact centres: the JSON API. Every error has the shape `{code, message, field?, request_id}`.",
    ),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::routes::health::metrics,
        crate::routes::setup::complete_setup,
    ),
    components(schemas(crate::ErrorBody)),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "setup", description = "First start: the first administrator"),
    )
)]
pub(crate) struct ApiDoc;

/// The OpenAPI document as served at `/openapi.json`.
pub fn openapi_json() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
