//! `POST /v1/setup`: the first administrator, created with the one-time token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tutela_app::App;
use tutela_domain::{Password, Secret, SetupToken, Username};
use utoipa::ToSchema;

use crate::ApiError;
use crate::json::ApiJson;
use crate::routes::views::UserView;

/// Creates the first administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupRequest {
    /// The 64-character token printed by `tutela serve` on first start.
    #[schema(value_type = String)]
    setup_token: Secret,
    /// Sign-in name: 3 to 64 characters of a-z, 0-9, `.`, `_`, `-`.
    username: String,
    /// At least 12 characters.
    #[schema(value_type = String)]
    password: Secret,
}

/// Creates the first administrator with the one-time setup token. Refused
/// once any user exists; the token works once and expires after 24 hours.
#[utoipa::path(post, path = "/v1/setup", tag = "setup", request_body = SetupRequest,
    responses(
        (status = 201, description = "Administrator created", body = UserView),
        (status = 400, description = "A field is missing, unknown or invalid", body = crate::ErrorBody),
        (status = 401, description = "The setup token is wrong, used or expired", body = crate::ErrorBody),
        (status = 409, description = "Setup is already complete", body = crate::ErrorBody)))]
pub(crate) async fn complete_setup(
    State(app): State<App>,
    ApiJson(request): ApiJson<SetupRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let token = SetupToken::parse(request.setup_token.expose())
        .map_err(|e| ApiError::invalid_field("setup_token", e))?;
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid_field("username", e))?;
    let password = Password::parse(request.password.expose())
        .map_err(|e| ApiError::invalid_field("password", e))?;
    let user = app.complete_setup(&token, username, &password).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}
