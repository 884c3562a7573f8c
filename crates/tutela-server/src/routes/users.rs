//! User accounts (administrators): creation, role and scope changes,
//! disabling at staff turnover, attestations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tutela_app::grants::ManageUsers;
use tutela_app::{App, NewAttestation};
use tutela_domain::{
    AttestationKind, ControllerId, Label, Password, Role, Secret, Timestamp, UserId, Username,
};
use tutela_storage::UserChange;
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{ApiPath, Platform};
use crate::json::ApiJson;
use crate::routes::views::{AttestationView, UserView};

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    /// Sign-in name.
    username: String,
    /// Initial password, at least 12 characters.
    #[schema(value_type = String)]
    password: Secret,
    /// Role.
    #[schema(value_type = String, example = "agent")]
    role: Role,
    /// Controllers the user works for (none for administrators).
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    controllers: Vec<ControllerId>,
}

/// Creates a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = UserView),
        (status = 400, description = "A field is invalid", body = crate::ErrorBody),
        (status = 409, description = "Username taken", body = crate::ErrorBody)))]
pub(crate) async fn create(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid_field("username", e))?;
    let password = Password::parse(request.password.expose())
        .map_err(|e| ApiError::invalid_field("password", e))?;
    let user = app
        .create_user(
            &grant,
            username,
            &password,
            request.role,
            request.controllers,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Every user.
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "Users", body = [UserView])))]
pub(crate) async fn list(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = app.users(&grant).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// One user.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The user", body = UserView),
        (status = 404, description = "No such user", body = crate::ErrorBody)))]
pub(crate) async fn get(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(app.user(&grant, id).await?.into()))
}

/// A change to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUserRequest {
    /// New role: applies to the user's next request.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    role: Option<Role>,
    /// New set of controllers.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    #[serde(default)]
    controllers: Option<Vec<ControllerId>>,
    /// Forget the TOTP enrolment (lost phone) and end the user's sessions.
    #[serde(default)]
    reset_mfa: bool,
}

/// Changes a user's role, scopes or MFA enrolment.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)), request_body = UpdateUserRequest,
    responses((status = 200, description = "Changed", body = UserView),
        (status = 409, description = "Would leave no administrator", body = crate::ErrorBody)))]
pub(crate) async fn update(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserView>, ApiError> {
    let change = UserChange {
        role: request.role,
        controllers: request.controllers,
        reset_mfa: request.reset_mfa,
    };
    Ok(Json(app.update_user(&grant, id, change).await?.into()))
}

/// Disables a user: every session and every token the user issued stop
/// working at once.
#[utoipa::path(post, path = "/v1/users/{user_id}/disable", tag = "users", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Disabled", body = UserView),
        (status = 409, description = "The last administrator", body = crate::ErrorBody)))]
pub(crate) async fn disable(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(app.disable_user(&grant, id).await?.into()))
}

/// An attestation to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestationRequest {
    /// `confidentiality` or `privacy_training`.
    #[schema(value_type = String)]
    kind: AttestationKind,
    /// Version of the undertaking or course.
    #[schema(value_type = String)]
    version: Label,
    /// For training: the assessment passed.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    assessment: Option<Label>,
    /// When signed or passed (RFC 3339).
    #[schema(value_type = String)]
    attested_at: Timestamp,
    /// When it stops counting (RFC 3339).
    #[schema(value_type = String)]
    expires_at: Timestamp,
}

/// Records a confidentiality undertaking or a privacy-training attestation.
#[utoipa::path(post, path = "/v1/users/{user_id}/attestations", tag = "users",
    security(("bearer" = [])), params(("user_id" = uuid::Uuid, Path)),
    request_body = AttestationRequest,
    responses((status = 201, description = "Recorded", body = AttestationView),
        (status = 400, description = "A field is invalid", body = crate::ErrorBody)))]
pub(crate) async fn attest(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(request): ApiJson<AttestationRequest>,
) -> Result<(StatusCode, Json<AttestationView>), ApiError> {
    let attestation = app
        .record_attestation(
            &grant,
            id,
            NewAttestation {
                kind: request.kind,
                version: request.version,
                assessment: request.assessment,
                attested_at: request.attested_at,
                expires_at: request.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attestation.into())))
}

/// A user's attestations.
#[utoipa::path(get, path = "/v1/users/{user_id}/attestations", tag = "users",
    security(("bearer" = [])), params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Attestations", body = [AttestationView])))]
pub(crate) async fn attestations(
    State(app): State<App>,
    Platform(grant): Platform<ManageUsers>,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<Vec<AttestationView>>, ApiError> {
    let list = app.attestations(&grant, id).await?;
    Ok(Json(list.into_iter().map(AttestationView::from).collect()))
}
