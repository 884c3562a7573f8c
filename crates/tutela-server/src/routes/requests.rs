//! Data-subject requests over HTTP: intake and the requester's code (agents
//! and web forms), the queue with deadlines, and the moves of the people
//! handling requests (forward, start, extend, refuse, answer), with the
//! letters stored with each request.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutela_app::App;
use tutela_app::grants::{ManageRequests, TakeRequests};
use tutela_app::requests::{Answer, Extension, NewRequest, Refusal, RequestView};
use tutela_domain::{ControllerId, RequestId};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiPath, ApiQuery, Tenant};
use crate::json::ApiJson;

type Ids = ApiPath<(ControllerId, RequestId)>;

/// Takes a request in: kind, channel, language, identifiers (phone,
/// e-mail, national identifier, customer number). Every person the
/// identifiers match gets a one-time code at their own contact points on
/// file; the answer is the same whatever matched.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose (data_subject_rights)")),
    request_body(content = Object, description = "kind, channel, language, identifiers [{kind, value}], optional purpose and contact_channel"),
    responses((status = 201, description = "Taken in; awaiting the requester's code", body = Object),
        (status = 400, description = "A field is invalid; the error names it", body = crate::ErrorBody)))]
pub(crate) async fn take(
    State(app): State<App>,
    Tenant(grant): Tenant<TakeRequests>,
    ApiJson(new): ApiJson<NewRequest>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    let view = app.take_request(&grant, new).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The code the requester received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    code: String,
}

/// Checks the requester's one-time code; the right one verifies them.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/code",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body = CodeBody,
    responses((status = 200, description = "Verified", body = Object),
        (status = 422, description = "code_mismatch, code_expired or too_many_attempts", body = crate::ErrorBody)))]
pub(crate) async fn code(
    State(app): State<App>,
    Tenant(grant): Tenant<TakeRequests>,
    ApiPath(ids): Ids,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(
        app.confirm_request_code(&grant, ids.1, &body.code).await?,
    ))
}

/// Which open requests to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct QueueQuery {
    /// Only those overdue or due within seven days.
    #[serde(default)]
    due_soon: bool,
    /// At most this many (default 100).
    limit: Option<u32>,
}

/// The open requests, earliest deadline first, each with its urgency.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/requests",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), QueueQuery,
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Open requests", body = [Object])))]
pub(crate) async fn queue(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    Ok(Json(
        app.open_data_subject_requests(&grant, query.due_soon, limit)
            .await?,
    ))
}

/// One request.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/requests/{request_id}",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "The request", body = Object)))]
pub(crate) async fn one(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.data_subject_request(&grant, ids.1).await?))
}

/// A letter stored with a request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LetterBody {
    outcome: String,
    language: String,
    subject: String,
    body: String,
    at: String,
}

/// The letters written for a request, oldest first.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/requests/{request_id}/letters",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Letters", body = [LetterBody])))]
pub(crate) async fn letters(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
) -> Result<Json<Vec<LetterBody>>, ApiError> {
    let letters = app.request_letters(&grant, ids.1).await?;
    Ok(Json(
        letters
            .into_iter()
            .map(|l| LetterBody {
                outcome: l.outcome,
                language: l.language.as_str().to_owned(),
                subject: l.subject,
                body: l.body,
                at: l.at.to_string(),
            })
            .collect(),
    ))
}

/// Passes the verified request on to its controller (outbox, delivered).
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/forward",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Forwarded", body = Object)))]
pub(crate) async fn forward(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.forward_request(&grant, ids.1).await?))
}

/// Marks work on the request as begun.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/start",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "In progress", body = Object)))]
pub(crate) async fn start(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.start_request(&grant, ids.1).await?))
}

/// Extends the deadline (within the first month, by up to two months)
/// and writes the letter giving the reason.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/extend",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content = Object, description = "reason (complexity, number_of_requests), optional until (YYYY-MM-DD)"),
    responses((status = 200, description = "Extended", body = Object)))]
pub(crate) async fn extend(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
    ApiJson(extension): ApiJson<Extension>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.extend_request(&grant, ids.1, extension).await?))
}

/// Refuses the request with its reasons and writes the letter.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/refuse",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content = Object, description = "reasons [identity_not_verified, manifestly_unfounded, excessive, legal_obligation_to_keep, overriding_legitimate_grounds]"),
    responses((status = 200, description = "Refused", body = Object)))]
pub(crate) async fn refuse(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
    ApiJson(refusal): ApiJson<Refusal>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.refuse_request(&grant, ids.1, refusal).await?))
}

/// Carries the request out and writes the answer letter.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/requests/{request_id}/answer",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content = Object, description = "{} or, for erasure, kept [{what, legal_basis}]"),
    responses((status = 200, description = "Answered", body = Object),
        (status = 422, description = "answer_not_automated for access, portability, restriction", body = crate::ErrorBody)))]
pub(crate) async fn answer(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
    ApiJson(answer): ApiJson<Answer>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(app.answer_request(&grant, ids.1, answer).await?))
}

/// How to hand the bundle over.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct BundleQuery {
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// Everything held about the verified requester of an access or
/// portability request: JSON, or CSV rows (section, field, value, at).
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/requests/{request_id}/bundle",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path), BundleQuery,
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "The bundle", body = Object),
        (status = 400, description = "Not an access or portability request, or not verified", body = crate::ErrorBody)))]
pub(crate) async fn bundle(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): Ids,
    ApiQuery(query): ApiQuery<BundleQuery>,
) -> Result<Response, ApiError> {
    let bundle = app.access_bundle(&grant, ids.1).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(bundle).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            bundle.to_csv()?,
        )
            .into_response()),
        Some(_) => Err(ApiError::invalid_field("format", "must be json or csv")),
    }
}

/// The audio of one of the person's recordings, decrypted, for their
/// access or portability bundle.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/requests/{request_id}/bundle/recordings/{recording_id}",
    tag = "requests", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path),
        ("recording_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "The audio", content_type = "application/octet-stream"),
        (status = 404, description = "Not one of the person's recordings", body = crate::ErrorBody),
        (status = 410, description = "The recording's key was destroyed", body = crate::ErrorBody)))]
pub(crate) async fn bundle_recording(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRequests>,
    ApiPath(ids): ApiPath<(ControllerId, RequestId, tutela_domain::RecordingId)>,
) -> Result<Response, ApiError> {
    let audio = app.bundle_recording(&grant, ids.1, ids.2).await?;
    let body = super::recordings::audio_body(audio.body);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, audio.total_len.to_string()),
        ],
        body,
    )
        .into_response())
}
