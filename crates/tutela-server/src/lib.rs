//! Tutela's HTTP JSON API.
//!
//! Handlers are thin: they parse the request into domain values (refusing
//! unknown or malformed fields with the field named), make one call into
//! [`tutela_app::App`] and map the result. Cross-cutting concerns live in
//! middleware: request ids, tracing spans with non-identifying fields only,
//! timeouts, body limits, metrics, security headers and the rendering of every
//! error as `{code, message, field?, request_id}`.

mod error;
mod extract;
mod json;
mod metrics;
mod middleware;
mod openapi;
mod router;
mod routes;
mod serve;
mod tls;
mod upload;

pub use axum::http::HeaderName;
pub use error::{ApiError, ErrorBody};
pub use openapi::openapi_json;
pub use router::{HttpSettings, router};
pub use routes::{Access, RouteInfo, route_table};
pub use serve::{ClientAddr, ServeError, serve};
pub use tls::{TlsError, TlsFiles, load_tls_config};
