//! Extractors that authenticate and authorise before a handler runs, so a
//! caller outside the scope is answered before the body is even read, and a
//! handler's signature shows what it needs: [`Caller`] (any signed-in
//! principal), [`Platform<P>`] (an administrator's grant) or [`Tenant<P>`]
//! (a grant over one controller's personal data for a declared purpose).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tutela_app::audit::AuditGrant;
use tutela_app::grants::{PlatformPermission, TenantPermission};
use tutela_app::{App, PlatformGrant, TenantGrant};
use tutela_domain::audit::{Action, ClientContext};
use tutela_domain::{AuthError, ControllerId, Principal, Purpose, Secret};

use crate::{ApiError, ClientAddr};

/// The authenticated principal of the request (a session or an API token).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| Secret::new(t.trim()))
            .ok_or(ApiError::from(tutela_app::AppError::from(
                AuthError::Unauthenticated,
            )))?;
        let Origin(origin) = Origin::from_request_parts(parts, app).await?;
        let principal = app.authenticate(&bearer, &origin).await?;
        tracing::Span::current().record("actor", principal.actor());
        let caller = Caller(principal);
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// An administrator's grant for the platform permission `P`. Anyone else
/// gets the answer for a missing object.
#[derive(Debug)]
pub struct Platform<P: PlatformPermission>(pub PlatformGrant<P>);

impl<P: PlatformPermission> FromRequestParts<App> for Platform<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, app).await?;
        let Origin(origin) = Origin::from_request_parts(parts, app).await?;
        Ok(Platform(
            app.grant_platform::<P>(&principal, &origin).await?,
        ))
    }
}

/// A grant for the tenant permission `P` over the controller named by the
/// path's `controller_id`, for the purpose named by the `purpose` query
/// parameter. Order of checks: authenticated (401), not an administrator
/// (403) and controller in the caller's scope (else 404, like a missing
/// one), purpose given (400), then role, MFA, attestations and agreement
/// (403 with their codes).
#[derive(Debug)]
pub struct Tenant<P: TenantPermission>(pub TenantGrant<P>);

#[derive(Deserialize)]
struct PurposeQuery {
    purpose: Option<String>,
}

impl<P: TenantPermission> FromRequestParts<App> for Tenant<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, app).await?;
        let Origin(origin) = Origin::from_request_parts(parts, app).await?;
        let controller = path_controller(parts, app).await?;
        if let Err(denied) = tutela_domain::authorize_personal_data_scope(&principal, controller) {
            app.record_denial(
                &principal,
                P::ACTION,
                Some(controller),
                &origin,
                denied.code(),
            )
            .await?;
            return Err(tutela_app::AppError::from(denied).into());
        }
        let query = Query::<PurposeQuery>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::invalid_field("purpose", "the query string is malformed"))?;
        let purpose = query.0.purpose.ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_field",
                "query parameter `purpose` is required: declare why personal data is processed",
            )
            .with_field("purpose")
        })?;
        let purpose: Purpose = purpose
            .parse()
            .map_err(|e| ApiError::invalid_field("purpose", e))?;
        Ok(Tenant(
            app.grant_tenant::<P>(&principal, controller, purpose, &origin)
                .await?,
        ))
    }
}

/// A grant to read the audit chain named by the path's `chain`: `platform`
/// or a controller id. DPO and auditor only; outsiders get the answer for a
/// missing object.
#[derive(Debug)]
pub struct Audit(pub AuditGrant);

impl FromRequestParts<App> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, app).await?;
        let Origin(origin) = Origin::from_request_parts(parts, app).await?;
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map(|Path(p)| p)
            .unwrap_or_default();
        let chain = params.get("chain").map(String::as_str);
        let controller = match (chain, chain.map(str::parse::<ControllerId>)) {
            (Some("platform"), _) => None,
            (_, Some(Ok(id))) => Some(id),
            _ => {
                app.record_denial(&principal, Action::AuditRead, None, &origin, "not_found")
                    .await?;
                return Err(ApiError::not_found());
            }
        };
        Ok(Audit(
            app.grant_audit(&principal, controller, &origin).await?,
        ))
    }
}

/// Which request header carries the workstation id, as the deployment
/// names it (`[audit] workstation_header`); none when not configured.
#[derive(Debug, Clone)]
pub struct WorkstationHeader(pub Option<HeaderName>);

/// Where the request came from, reduced to what the audit trail may keep:
/// peer address, user-agent product tokens, workstation id, request id.
#[derive(Debug, Clone)]
pub struct Origin(pub ClientContext);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PeerAddr(address) = PeerAddr::from_request_parts(parts, state).await?;
        let header = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let workstation = parts
            .extensions
            .get::<WorkstationHeader>()
            .and_then(|w| w.0.as_ref())
            .and_then(header);
        let request_id = HeaderName::from_static(crate::middleware::REQUEST_ID);
        Ok(Origin(ClientContext::new(
            Some(address),
            header(&USER_AGENT),
            workstation,
            header(&request_id),
        )))
    }
}

/// The `controller_id` path parameter, or for routes without one (the
/// dialer's `/v1/calls/…`) the `controller_id` query parameter; one that
/// does not parse names nothing (404).
async fn path_controller(parts: &mut Parts, app: &App) -> Result<ControllerId, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
        .await
        .map_err(|_| ApiError::not_found())?;
    let from_path = params.get("controller_id").cloned();
    let id = match from_path {
        Some(id) => Some(id),
        None => Query::<ControllerQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.controller_id),
    };
    id.and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)
}

#[derive(Deserialize)]
struct ControllerQuery {
    controller_id: Option<String>,
}

/// Path parameters; a value that does not parse (not a UUID) names nothing,
/// so it is answered 404 like a missing object.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<App> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, app)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::not_found())
    }
}

/// Query parameters; errors name no value (a query can hold anything).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| ApiQuery(value))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "the query string has an unknown parameter or a value of the wrong type",
                )
            })
    }
}

/// The network address of the peer (for sign-in throttling). Behind a
/// reverse proxy this is the proxy's address.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<ClientAddr>>()
                .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.0.ip()),
        ))
    }
}
