//! Machine clients of a controller and their tokens (administrators).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tutela_app::grants::ManageClients;
use tutela_app::{App, NewClient};
use tutela_domain::{Capability, ClientId, ClientKind, ControllerId, Label, Timestamp};
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{ApiPath, Platform};
use crate::json::ApiJson;
use crate::routes::views::ClientView;

/// A machine client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClientRequest {
    /// Name for people.
    #[schema(value_type = String)]
    name: Label,
    /// `dialer`, `pbx` or `crm`.
    #[schema(value_type = String)]
    kind: ClientKind,
    /// Capabilities, for example `calls.gate`, `recordings.upload`, `subjects.read`.
    #[schema(value_type = Vec<String>)]
    capabilities: Vec<Capability>,
    /// When the token expires (RFC 3339), at most 366 days ahead.
    #[schema(value_type = String)]
    expires_at: Timestamp,
}

/// A client with its token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedClient {
    /// The client.
    client: ClientView,
    /// Bearer token; only its digest is stored.
    token: String,
}

/// Registers a machine client and issues its token.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/clients", tag = "clients",
    security(("bearer" = [])), params(("controller_id" = uuid::Uuid, Path)),
    request_body = CreateClientRequest,
    responses((status = 201, description = "Registered", body = IssuedClient),
        (status = 404, description = "No such controller", body = crate::ErrorBody)))]
pub(crate) async fn create(
    State(app): State<App>,
    Platform(grant): Platform<ManageClients>,
    ApiPath(controller): ApiPath<ControllerId>,
    ApiJson(request): ApiJson<CreateClientRequest>,
) -> Result<(StatusCode, Json<IssuedClient>), ApiError> {
    let (client, token) = app
        .create_client(
            &grant,
            controller,
            NewClient {
                name: request.name,
                kind: request.kind,
                capabilities: request.capabilities,
                expires_at: request.expires_at,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedClient {
            client: client.into(),
            token: token.expose().to_owned(),
        }),
    ))
}

/// A controller's machine clients.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/clients", tag = "clients",
    security(("bearer" = [])), params(("controller_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Clients", body = [ClientView])))]
pub(crate) async fn list(
    State(app): State<App>,
    Platform(grant): Platform<ManageClients>,
    ApiPath(controller): ApiPath<ControllerId>,
) -> Result<Json<Vec<ClientView>>, ApiError> {
    let clients = app.clients(&grant, controller).await?;
    Ok(Json(clients.into_iter().map(ClientView::from).collect()))
}

/// When a rotated token expires.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateRequest {
    /// RFC 3339, at most 366 days ahead.
    #[schema(value_type = String)]
    expires_at: Timestamp,
}

/// A new token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedToken {
    /// Bearer token, shown this once.
    token: String,
}

/// Issues a new token; the client's earlier tokens stop working.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/clients/{client_id}/token",
    tag = "clients", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("client_id" = uuid::Uuid, Path)),
    request_body = RotateRequest,
    responses((status = 201, description = "Issued", body = IssuedToken),
        (status = 404, description = "No such client", body = crate::ErrorBody)))]
pub(crate) async fn rotate(
    State(app): State<App>,
    Platform(grant): Platform<ManageClients>,
    ApiPath(ids): ApiPath<(ControllerId, ClientId)>,
    ApiJson(request): ApiJson<RotateRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let (controller, id) = ids;
    let token = app
        .rotate_client_token(&grant, controller, id, request.expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            token: token.expose().to_owned(),
        }),
    ))
}

/// Revokes a client and all its tokens.
#[utoipa::path(delete, path = "/v1/controllers/{controller_id}/clients/{client_id}",
    tag = "clients", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("client_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "No such client", body = crate::ErrorBody)))]
pub(crate) async fn revoke(
    State(app): State<App>,
    Platform(grant): Platform<ManageClients>,
    ApiPath(ids): ApiPath<(ControllerId, ClientId)>,
) -> Result<StatusCode, ApiError> {
    let (controller, id) = ids;
    app.revoke_client(&grant, controller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
