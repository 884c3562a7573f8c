//! Every route of the API, declared once with who may call it. The router is
//! built from this table and [`crate::route_table`] exposes it, so a test can
//! try every route as an outsider and fail when a new one is unprotected.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod calls;
pub(crate) mod clients;
pub(crate) mod consent;
pub(crate) mod controllers;
pub(crate) mod health;
pub(crate) mod lists;
pub(crate) mod recordings;
pub(crate) mod requests;
pub(crate) mod setup;
pub(crate) mod subjects;
pub(crate) mod users;
pub(crate) mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use tutela_app::App;

/// The list upload: streamed, so the request timeout does not apply to it
/// (a ten-million-row file takes minutes to send).
pub(crate) const LIST_IMPORT: &str = "/v1/controllers/{controller_id}/lists";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, first-start setup, sign-in.
    Public,
    /// Any signed-in principal, acting on itself (its own session and account).
    Session,
    /// Administrators only; anyone else is answered as for a missing object.
    Platform,
    /// Principals in the scope of the controller named in the path; anyone
    /// else is answered as for a missing object.
    Tenant,
    /// DPOs and auditors: the platform's audit chain, and a controller's
    /// within their scope; anyone else is answered as for a missing object.
    Audit,
}

/// One route: method, path template and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, with `{name}` parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// The route table under construction and the router it builds.
struct Routes {
    router: Router<App>,
    table: Vec<RouteInfo>,
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: MethodRouter<App>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.table.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }
}

fn routes() -> Routes {
    use Access::{Audit, Platform, Public, Session, Tenant};
    let r = Routes {
        router: Router::new(),
        table: Vec::new(),
    };
    r.add("GET", "/healthz", Public, get(health::healthz))
        .add("GET", "/readyz", Public, get(health::readyz))
        .add("GET", "/metrics", Public, get(health::metrics))
        .add("POST", "/v1/setup", Public, post(setup::complete_setup))
        .add("POST", "/v1/auth/login", Public, post(auth::login))
        .add("POST", "/v1/auth/logout", Session, post(auth::logout))
        .add("GET", "/v1/auth/me", Session, get(auth::me))
        .add("POST", "/v1/auth/mfa/enroll", Session, post(auth::enroll))
        .add("POST", "/v1/auth/mfa/confirm", Session, post(auth::confirm))
        .add("GET", "/v1/controllers", Session, get(controllers::list))
        .add(
            "POST",
            "/v1/controllers",
            Platform,
            post(controllers::create),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}",
            Tenant,
            get(controllers::get),
        )
        .add(
            "PUT",
            "/v1/controllers/{controller_id}/agreement",
            Platform,
            put(controllers::put_agreement),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/clients",
            Platform,
            get(clients::list),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/clients",
            Platform,
            post(clients::create),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/clients/{client_id}/token",
            Platform,
            post(clients::rotate),
        )
        .add(
            "DELETE",
            "/v1/controllers/{controller_id}/clients/{client_id}",
            Platform,
            delete(clients::revoke),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/subjects",
            Tenant,
            get(subjects::list),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/subjects",
            Tenant,
            post(subjects::create),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/subjects/search",
            Tenant,
            post(subjects::search),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/subjects/{subject_id}",
            Tenant,
            get(subjects::get),
        )
        .add(
            "DELETE",
            "/v1/controllers/{controller_id}/subjects/{subject_id}",
            Tenant,
            delete(subjects::erase),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/subjects/{subject_id}/consents",
            Tenant,
            post(consent::record),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/subjects/{subject_id}/consents",
            Tenant,
            get(consent::history),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/subjects/{subject_id}/consents/state",
            Tenant,
            get(consent::state),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/subjects/{subject_id}/registrations",
            Tenant,
            post(consent::register),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/subjects/{subject_id}/art14",
            Tenant,
            post(consent::art14),
        )
        .add(
            "POST",
            LIST_IMPORT,
            Tenant,
            // A list is as large as it is: the upload is streamed, so no
            // body limit applies (the import reads it in bounded batches).
            post(lists::import).layer(DefaultBodyLimit::disable()),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/lists",
            Tenant,
            get(lists::list),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/lists/{list_id}",
            Tenant,
            get(lists::get),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/lists/{list_id}/members",
            Tenant,
            get(lists::members),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/art14/overdue",
            Tenant,
            get(lists::overdue),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/privacy-notices/{language}",
            Tenant,
            post(consent::publish),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/privacy-notices/{language}",
            Tenant,
            get(consent::notice),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/lists/{list_id}/scrub",
            Tenant,
            post(calls::scrub),
        )
        .add(
            "PUT",
            "/v1/controllers/{controller_id}/recording-policies/{campaign}",
            Tenant,
            put(recordings::set_policy),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/recording-policies/{campaign}",
            Tenant,
            get(recordings::get_policy),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/recordings/decide",
            Tenant,
            post(recordings::decide),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/recordings",
            Tenant,
            // Recordings are as long as calls: streamed and sealed as they
            // arrive, so no body limit applies.
            post(recordings::upload).layer(DefaultBodyLimit::disable()),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/recordings",
            Tenant,
            get(recordings::list),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/recordings/{recording_id}/audio",
            Tenant,
            get(recordings::audio),
        )
        .add(
            "PUT",
            "/v1/controllers/{controller_id}/recordings/{recording_id}/hold",
            Tenant,
            put(recordings::hold),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/recordings/{recording_id}/operator",
            Platform,
            post(recordings::resolve_operator),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/recording-key/rotate",
            Platform,
            post(recordings::rotate),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests",
            Tenant,
            post(requests::take),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/requests",
            Tenant,
            get(requests::queue),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/requests/{request_id}",
            Tenant,
            get(requests::one),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/code",
            Tenant,
            post(requests::code),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/requests/{request_id}/letters",
            Tenant,
            get(requests::letters),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/requests/{request_id}/bundle",
            Tenant,
            get(requests::bundle),
        )
        .add(
            "GET",
            "/v1/controllers/{controller_id}/requests/{request_id}/bundle/recordings/{recording_id}",
            Tenant,
            get(requests::bundle_recording),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/forward",
            Tenant,
            post(requests::forward),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/start",
            Tenant,
            post(requests::start),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/extend",
            Tenant,
            post(requests::extend),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/refuse",
            Tenant,
            post(requests::refuse),
        )
        .add(
            "POST",
            "/v1/controllers/{controller_id}/requests/{request_id}/answer",
            Tenant,
            post(requests::answer),
        )
        .add("POST", "/v1/calls/decide", Tenant, post(calls::decide))
        .add("POST", "/v1/calls/outcomes", Tenant, post(calls::outcome))
        .add(
            "POST",
            "/v1/registries/reload",
            Platform,
            post(calls::reload),
        )
        .add("GET", "/v1/audit/{chain}/events", Audit, get(audit::events))
        .add(
            "GET",
            "/v1/audit/{chain}/checkpoints",
            Audit,
            get(audit::checkpoints),
        )
        .add(
            "POST",
            "/v1/audit/{chain}/checkpoints",
            Audit,
            post(audit::checkpoint),
        )
        .add(
            "GET",
            "/v1/audit/{chain}/proofs/inclusion",
            Audit,
            get(audit::inclusion),
        )
        .add(
            "GET",
            "/v1/audit/{chain}/proofs/consistency",
            Audit,
            get(audit::consistency),
        )
        .add("GET", "/v1/users", Platform, get(users::list))
        .add("POST", "/v1/users", Platform, post(users::create))
        .add("GET", "/v1/users/{user_id}", Platform, get(users::get))
        .add(
            "PATCH",
            "/v1/users/{user_id}",
            Platform,
            patch(users::update),
        )
        .add(
            "POST",
            "/v1/users/{user_id}/disable",
            Platform,
            post(users::disable),
        )
        .add(
            "GET",
            "/v1/users/{user_id}/attestations",
            Platform,
            get(users::attestations),
        )
        .add(
            "POST",
            "/v1/users/{user_id}/attestations",
            Platform,
            post(users::attest),
        )
}

/// The API's routes, with state still to be provided.
pub(crate) fn api_router() -> Router<App> {
    routes().router
}

/// Every API route with its access class. `/openapi.json` and `/docs/` (the
/// static API description) are served besides these, to anyone.
pub fn route_table() -> Vec<RouteInfo> {
    routes().table
}
