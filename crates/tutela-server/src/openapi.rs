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
        crate::routes::auth::login,
        crate::routes::auth::logout,
        crate::routes::auth::me,
        crate::routes::auth::enroll,
        crate::routes::auth::confirm,
        crate::routes::controllers::list,
        crate::routes::controllers::create,
        crate::routes::controllers::get,
        crate::routes::controllers::put_agreement,
        crate::routes::clients::list,
        crate::routes::clients::create,
        crate::routes::clients::rotate,
        crate::routes::clients::revoke,
        crate::routes::subjects::list,
        crate::routes::subjects::create,
        crate::routes::subjects::search,
        crate::routes::consent::record,
        crate::routes::consent::history,
        crate::routes::consent::state,
        crate::routes::consent::register,
        crate::routes::consent::art14,
        crate::routes::consent::publish,
        crate::routes::consent::notice,
        crate::routes::lists::import,
        crate::routes::lists::list,
        crate::routes::lists::get,
        crate::routes::lists::members,
        crate::routes::lists::overdue,
        crate::routes::calls::scrub,
        crate::routes::calls::decide,
        crate::routes::recordings::set_policy,
        crate::routes::recordings::get_policy,
        crate::routes::recordings::decide,
        crate::routes::recordings::upload,
        crate::routes::recordings::list,
        crate::routes::recordings::audio,
        crate::routes::recordings::hold,
        crate::routes::recordings::resolve_operator,
        crate::routes::recordings::rotate,
        crate::routes::requests::take,
        crate::routes::requests::code,
        crate::routes::requests::queue,
        crate::routes::requests::one,
        crate::routes::requests::letters,
        crate::routes::requests::bundle,
        crate::routes::requests::bundle_recording,
        crate::routes::requests::forward,
        crate::routes::requests::start,
        crate::routes::requests::extend,
        crate::routes::requests::refuse,
        crate::routes::requests::answer,
        crate::routes::calls::outcome,
        crate::routes::calls::reload,
        crate::routes::subjects::get,
        crate::routes::subjects::erase,
        crate::routes::audit::events,
        crate::routes::audit::checkpoints,
        crate::routes::audit::checkpoint,
        crate::routes::audit::inclusion,
        crate::routes::audit::consistency,
        crate::routes::users::list,
        crate::routes::users::create,
        crate::routes::users::get,
        crate::routes::users::update,
        crate::routes::users::disable,
        crate::routes::users::attestations,
        crate::routes::users::attest,
    ),
    components(schemas(crate::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "setup", description = "First start: the first administrator"),
        (name = "auth", description = "Sign-in, sessions and MFA"),
        (name = "controllers", description = "Controllers and their processing agreements"),
        (name = "users", description = "Staff accounts, roles, scopes and attestations"),
        (name = "clients", description = "Machine clients and their API tokens"),
        (name = "subjects", description = "A controller's data subjects, for a declared purpose"),
        (name = "calls", description = "Call gating: the decision before each call, outcomes after, registry snapshots"),
        (name = "audit", description = "The tamper-evident audit trail: events, checkpoints, proofs (DPO and auditor)"),
        (name = "recordings", description = "The recordings vault: policies, uploads, listening, holds, keys"),
        (name = "requests", description = "Data-subject requests: intake, identity, deadlines, answers and letters"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the bearer scheme that sessions and API tokens use.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as served at `/openapi.json`.
pub fn openapi_json() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
