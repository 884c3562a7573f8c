//! Sign-in, sign-out, the caller's own account and TOTP enrolment.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tutela_app::App;
use tutela_domain::Secret;
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{Caller, Origin};
use crate::json::ApiJson;
use crate::routes::views::UserView;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// Sign-in name.
    username: String,
    /// Password.
    #[schema(value_type = String)]
    password: Secret,
    /// The current TOTP code, once enrolled.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    totp: Option<Secret>,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    token: String,
    /// When the session ends.
    expires_at: String,
    /// True when this session may only enrol MFA (`/v1/auth/mfa/enroll`).
    mfa_enrollment_required: bool,
    /// The account.
    user: UserView,
}

/// Signs in. Five failures for an account (or fifty from an address) within
/// fifteen minutes lock it for fifteen minutes (configurable).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Wrong credentials, TOTP code missing, wrong or reused", body = crate::ErrorBody),
        (status = 429, description = "Too many failures: locked", body = crate::ErrorBody)))]
pub(crate) async fn login(
    State(app): State<App>,
    Origin(origin): Origin,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let login = app
        .login(
            &request.username,
            &request.password,
            request.totp.as_ref(),
            &origin,
        )
        .await?;
    Ok(Json(LoginResponse {
        token: login.token.expose().to_owned(),
        expires_at: login.expires_at.to_string(),
        mfa_enrollment_required: login.mfa_enrollment_required,
        user: login.user.into(),
    }))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = crate::ErrorBody)))]
pub(crate) async fn logout(
    State(app): State<App>,
    Caller(principal): Caller,
    Origin(origin): Origin,
) -> Result<StatusCode, ApiError> {
    app.logout(&principal, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The account", body = UserView),
        (status = 401, description = "Not signed in", body = crate::ErrorBody)))]
pub(crate) async fn me(
    State(app): State<App>,
    Caller(principal): Caller,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(app.me(&principal).await?.into()))
}

/// A TOTP secret to add to an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnrollResponse {
    /// Base32 secret for manual entry.
    secret: String,
    /// `otpauth://` URL for a QR code.
    otpauth_url: String,
}

/// Starts TOTP enrolment. Confirm with a first code at `/v1/auth/mfa/confirm`.
#[utoipa::path(post, path = "/v1/auth/mfa/enroll", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Secret issued", body = EnrollResponse),
        (status = 409, description = "Already enrolled", body = crate::ErrorBody)))]
pub(crate) async fn enroll(
    State(app): State<App>,
    Caller(principal): Caller,
    Origin(origin): Origin,
) -> Result<Json<EnrollResponse>, ApiError> {
    let enrollment = app.enroll_mfa(&principal, &origin).await?;
    Ok(Json(EnrollResponse {
        secret: enrollment.secret_base32.expose().to_owned(),
        otpauth_url: enrollment.otpauth_url.expose().to_owned(),
    }))
}

/// A TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmRequest {
    /// Six digits from the authenticator app.
    #[schema(value_type = String)]
    totp: Secret,
}

/// Confirms enrolment with a first code; the session becomes a full one.
#[utoipa::path(post, path = "/v1/auth/mfa/confirm", tag = "auth", security(("bearer" = [])),
    request_body = ConfirmRequest,
    responses((status = 204, description = "Enrolled"),
        (status = 401, description = "Wrong or reused code", body = crate::ErrorBody)))]
pub(crate) async fn confirm(
    State(app): State<App>,
    Caller(principal): Caller,
    Origin(origin): Origin,
    ApiJson(request): ApiJson<ConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    app.confirm_mfa(&principal, &request.totp, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
