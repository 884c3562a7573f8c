//! The recordings vault over HTTP: policies, the PBX's before-the-call
//! question and streamed uploads, the reviewers' list and player (with
//! range requests), legal holds, key rotation and resolving an operator.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tutela_app::App;
use tutela_app::grants::{
    ListenRecordings, ManageRecordings, ResolveOperators, RotateKeys, UploadRecordings,
};
use tutela_app::vault::{ByteRange, RecordingUpload, RecordingView};
use tutela_domain::{
    CallId, Campaign, ControllerId, PauseSpan, PersonAnswer, Purpose, RecordingDecision,
    RecordingId, RecordingPolicy, RecordingPolicyDraft, SubjectId, Timestamp,
};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiPath, ApiQuery, Platform, Tenant};
use crate::json::ApiJson;
use crate::upload::metadata_then;

/// A campaign's recording policy as stored and shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PolicyBody {
    #[schema(value_type = Object)]
    policy: RecordingPolicyDraft,
    /// The stored version (absent when reading the policy in force).
    version: Option<u32>,
}

/// Sets a campaign's recording policy (`default` is the controller's
/// default). Applies at once, to recordings already stored as well.
#[utoipa::path(put, path = "/v1/controllers/{controller_id}/recording-policies/{campaign}",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("campaign" = String, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content = Object, description = "record, retention_days {purpose: days}, sample_basis_points, announcement, listen_quota_basis_points"),
    responses((status = 200, description = "Stored", body = PolicyBody),
        (status = 400, description = "A field is invalid; the error names it", body = crate::ErrorBody)))]
pub(crate) async fn set_policy(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRecordings>,
    ApiPath(ids): ApiPath<(ControllerId, Campaign)>,
    ApiJson(draft): ApiJson<RecordingPolicyDraft>,
) -> Result<Json<PolicyBody>, ApiError> {
    let policy =
        RecordingPolicy::try_from(draft).map_err(|e| ApiError::invalid_field(e.field, e.reason))?;
    let version = app.set_recording_policy(&grant, &ids.1, &policy).await?;
    Ok(Json(PolicyBody {
        policy: policy.to_draft(),
        version: Some(version),
    }))
}

/// The policy in force for a campaign (its own, else the default, else off).
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/recording-policies/{campaign}",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("campaign" = String, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "The policy in force", body = PolicyBody)))]
pub(crate) async fn get_policy(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRecordings>,
    ApiPath(ids): ApiPath<(ControllerId, Campaign)>,
) -> Result<Json<PolicyBody>, ApiError> {
    let policy = app.recording_policy(&grant, &ids.1).await?;
    Ok(Json(PolicyBody {
        policy: policy.to_draft(),
        version: None,
    }))
}

/// The PBX's question before a call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideBody {
    /// The campaign; `default` when absent.
    #[schema(value_type = Option<String>)]
    campaign: Option<Campaign>,
    /// The PBX's call identifier.
    #[schema(value_type = String)]
    call_id: CallId,
}

/// Record this call? The answer is reproducible (sampling by call id) and
/// carries the announcement to play first. Needs `recordings.upload`.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/recordings/decide",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    request_body = DecideBody,
    responses((status = 200, description = "record, reason, announcement, sample position", body = Object)))]
pub(crate) async fn decide(
    State(app): State<App>,
    Tenant(grant): Tenant<UploadRecordings>,
    ApiJson(body): ApiJson<DecideBody>,
) -> Result<Json<RecordingDecision>, ApiError> {
    let campaign = body.campaign.unwrap_or_else(Campaign::default_campaign);
    Ok(Json(
        app.decide_recording(&grant, &campaign, &body.call_id)
            .await?,
    ))
}

/// What the PBX says about the recording it uploads (the `metadata` part).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadMetadata {
    #[schema(value_type = Option<String>)]
    campaign: Option<Campaign>,
    #[schema(value_type = String)]
    call_id: CallId,
    #[schema(value_type = Vec<String>)]
    purposes: BTreeSet<Purpose>,
    /// True when the announcement was played before recording started.
    announced: bool,
    /// `accepted`, `not_objected` or `refused`.
    #[schema(value_type = String)]
    answer: PersonAnswer,
    /// Secure pauses, in milliseconds from the start of the call.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pauses: Vec<PauseSpan>,
    /// The operator as the PBX names them (stored only as a pseudonym).
    operator: String,
    #[schema(value_type = Option<String>)]
    subject_id: Option<SubjectId>,
    #[schema(value_type = Option<String>)]
    recorded_at: Option<Timestamp>,
}

/// A stored recording.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StoredBody {
    #[schema(value_type = String)]
    id: RecordingId,
    bytes: u64,
}

/// Uploads a recording: a `metadata` JSON part, then the `audio` part,
/// streamed. Refused with every reason, storing nothing, when it breaks
/// the policy. Needs `recordings.upload`.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/recordings",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content_type = "multipart/form-data", content = Object, description = "`metadata` (JSON) then `audio`"),
    responses((status = 201, description = "Stored", body = StoredBody),
        (status = 409, description = "The call already has a recording", body = crate::ErrorBody),
        (status = 422, description = "Breaks the policy; nothing stored", body = crate::ErrorBody)))]
pub(crate) async fn upload(
    State(app): State<App>,
    Tenant(grant): Tenant<UploadRecordings>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<StoredBody>), ApiError> {
    let (m, audio): (UploadMetadata, _) = metadata_then(&mut multipart, "audio").await?;
    let upload = RecordingUpload {
        campaign: m.campaign.unwrap_or_else(Campaign::default_campaign),
        call: m.call_id,
        purposes: m.purposes,
        announced: m.announced,
        answer: m.answer,
        pauses: m.pauses,
        operator: m
            .operator
            .parse()
            .map_err(|e: tutela_domain::InvalidValue| ApiError::invalid_field("operator", e))?,
        subject: m.subject_id,
        recorded_at: m.recorded_at,
    };
    let stream = audio.map_err(|e| std::io::Error::other(e.body_text()));
    let (id, bytes) = app
        .upload_recording(&grant, upload, Box::pin(stream))
        .await?;
    Ok((StatusCode::CREATED, Json(StoredBody { id, bytes })))
}

/// Paging of the reviewers' list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ReviewQuery {
    /// Recordings after this id.
    after: Option<uuid::Uuid>,
    /// At most this many (default and cap 1000).
    limit: Option<u32>,
}

/// A recording as a reviewer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewBody {
    #[schema(value_type = String)]
    id: RecordingId,
    campaign: String,
    /// The day only (UTC): never the minute.
    day: String,
    purposes: Vec<String>,
    /// The operator's pseudonym.
    operator: String,
    bytes: u64,
    #[schema(value_type = Vec<Object>)]
    pauses: Vec<PauseSpan>,
    held: bool,
}

impl From<RecordingView> for ReviewBody {
    fn from(v: RecordingView) -> Self {
        Self {
            id: v.id,
            campaign: v.campaign.to_string(),
            day: v.day.to_string(),
            purposes: v.purposes.iter().map(|p| p.to_string()).collect(),
            operator: v.operator,
            bytes: v.bytes,
            pauses: v.pauses,
            held: v.held,
        }
    }
}

/// The controller's readable recordings, for review. Needs
/// `recordings.listen`.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/recordings",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose"), ReviewQuery),
    responses((status = 200, description = "Recordings", body = [ReviewBody])))]
pub(crate) async fn list(
    State(app): State<App>,
    Tenant(grant): Tenant<ListenRecordings>,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Json<Vec<ReviewBody>>, ApiError> {
    let page = app
        .recordings_for_review(
            &grant,
            q.after.map(RecordingId),
            q.limit.unwrap_or(tutela_app::MAX_PAGE),
        )
        .await?;
    Ok(Json(page.into_iter().map(ReviewBody::from).collect()))
}

/// The ticket a listen is for.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListenQuery {
    /// A ticket reference (letters, digits, `-._:`), recorded with the access.
    ticket: Option<String>,
}

/// Parses a `Range: bytes=…` header (one range; several are not served).
fn byte_range(headers: &HeaderMap) -> Result<Option<ByteRange>, ApiError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let bad = || ApiError::invalid_field("range", "must be one range `bytes=start-end`");
    let spec = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("bytes="))
        .ok_or_else(bad)?;
    let (start, end) = spec.split_once('-').ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    Ok(Some(
        match (start.trim().is_empty(), end.trim().is_empty()) {
            (true, false) => ByteRange::Suffix(number(end)?),
            (false, true) => ByteRange::From(number(start)?),
            (false, false) => ByteRange::Inclusive(number(start)?, number(end)?),
            (true, true) => return Err(bad()),
        },
    ))
}

/// Streams a recording's audio, decrypted and verified chunk by chunk, for
/// a purpose the recording serves, within the campaign's monthly quota.
/// Honours `Range` (206) so a player can seek. Needs `recordings.listen`.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/recordings/{recording_id}/audio",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("recording_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose; the recording must serve it"), ListenQuery),
    responses((status = 200, description = "The audio"), (status = 206, description = "The range asked for"),
        (status = 410, description = "The key was destroyed", body = crate::ErrorBody),
        (status = 416, description = "The range lies outside the recording", body = crate::ErrorBody),
        (status = 429, description = "The month's listening quota is used up", body = crate::ErrorBody)))]
pub(crate) async fn audio(
    State(app): State<App>,
    Tenant(grant): Tenant<ListenRecordings>,
    ApiPath(ids): ApiPath<(ControllerId, RecordingId)>,
    ApiQuery(q): ApiQuery<ListenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = byte_range(&headers)?;
    let audio = app
        .listen_recording(&grant, ids.1, q.ticket.as_deref(), range)
        .await?;
    let partial = range.is_some();
    let body = audio_body(audio.body);
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let length = audio.range.end - audio.range.start;
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if partial {
        let value = format!(
            "bytes {}-{}/{}",
            audio.range.start,
            audio.range.end.saturating_sub(1),
            audio.total_len
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, value);
        }
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response.into_response())
}

/// A legal hold's reason (a slug such as `litigation`), or `null` to lift.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoldBody {
    #[schema(value_type = Option<String>)]
    reason: Option<Purpose>,
}

/// Places or lifts a legal hold: a held recording outlives its retention.
#[utoipa::path(put, path = "/v1/controllers/{controller_id}/recordings/{recording_id}/hold",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("recording_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body = HoldBody, responses((status = 204, description = "Done")))]
pub(crate) async fn hold(
    State(app): State<App>,
    Tenant(grant): Tenant<ManageRecordings>,
    ApiPath(ids): ApiPath<(ControllerId, RecordingId)>,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<StatusCode, ApiError> {
    app.set_legal_hold(&grant, ids.1, body.reason.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why an administrator resolves an operator: a slug (`dispute`,
/// `disciplinary`), recorded as the access's purpose.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    #[schema(value_type = String)]
    reason: Purpose,
}

/// The operator behind a recording's pseudonym.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OperatorBody {
    operator: String,
    pseudonym: String,
}

/// Resolves a recording's operator, for administrators, with a reason.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/recordings/{recording_id}/operator",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("recording_id" = uuid::Uuid, Path)),
    request_body = ResolveBody, responses((status = 200, description = "The operator", body = OperatorBody)))]
pub(crate) async fn resolve_operator(
    State(app): State<App>,
    Platform(grant): Platform<ResolveOperators>,
    ApiPath(ids): ApiPath<(ControllerId, RecordingId)>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<OperatorBody>, ApiError> {
    let reveal = app
        .resolve_operator(&grant, ids.0, ids.1, body.reason)
        .await?;
    Ok(Json(OperatorBody {
        operator: reveal.operator,
        pseudonym: reveal.pseudonym,
    }))
}

/// What a rotation did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotationBody {
    version: u32,
    rewrapped: u64,
}

/// Rotates the controller's key-encryption key: data keys are re-wrapped,
/// audio is not re-encrypted, old key versions are destroyed.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/recording-key/rotate",
    tag = "recordings", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Rotated", body = RotationBody)))]
pub(crate) async fn rotate(
    State(app): State<App>,
    Platform(grant): Platform<RotateKeys>,
    ApiPath(controller): ApiPath<ControllerId>,
) -> Result<Json<RotationBody>, ApiError> {
    let report = app.rotate_recording_key(&grant, controller).await?;
    Ok(Json(RotationBody {
        version: report.version,
        rewrapped: report.rewrapped,
    }))
}

/// A response body streaming verified audio. A failure midway cuts the
/// connection (the headers are gone by then) and the reason goes to the log.
pub(crate) fn audio_body(
    pieces: futures_util::stream::BoxStream<
        'static,
        Result<axum::body::Bytes, tutela_app::AppError>,
    >,
) -> Body {
    Body::from_stream(pieces.map(|piece| {
        piece.map_err(|e| {
            tracing::error!(code = e.code(), detail = %e.detail(), "recording stream stopped");
            std::io::Error::other(e.code())
        })
    }))
}
