//! The consent ledger of one subject, art. 14 notice events, and privacy
//! notices with their spoken scripts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tutela_app::grants::{PublishNotices, ReadConsent, RecordConsent};
use tutela_app::{App, NewConsent};
use tutela_domain::{
    Art14Event, Channel, ConsentAction, ConsentEvent, ConsentState, ControllerId, Evidence, Label,
    Language, NoticeDraft, PublishedNotice, Purpose, Registry, SubjectId, Timestamp,
};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiPath, ApiQuery, Tenant};
use crate::json::ApiJson;

/// A consent, withdrawal or objection to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentRequest {
    /// The purpose it covers (one of the agreement's).
    #[schema(value_type = String, example = "telemarketing")]
    consent_purpose: Purpose,
    /// `phone`, `sms`, `email`, `post` or `messaging`.
    #[schema(value_type = String, example = "sms")]
    channel: Channel,
    /// `granted`, `withdrawn` or `objected`.
    #[schema(value_type = String, example = "withdrawn")]
    action: ConsentAction,
    /// When the person said it (RFC 3339); now when absent. Not in the future.
    #[schema(value_type = Option<String>)]
    at: Option<Timestamp>,
    /// The proof: `{"kind": "recording", "recording_id": …}`, `web_form`
    /// (`submission_id`), `ivr_key_press` (`call_id`, `key`),
    /// `signed_paper` (`reference`) or `verbal` (`agent_role`).
    #[schema(value_type = Object)]
    evidence: Evidence,
    /// The version of the privacy notice shown.
    notice_version: Option<u32>,
    /// Where it was collected: campaign, site, office.
    #[schema(value_type = String)]
    collected_where: Label,
}

/// One ledger event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsentEventBody {
    id: uuid::Uuid,
    consent_purpose: String,
    channel: String,
    action: String,
    at: String,
    recorded_at: String,
    #[schema(value_type = Object)]
    evidence: Evidence,
    notice_version: Option<u32>,
    collected_by: String,
    collected_where: String,
}

impl From<ConsentEvent> for ConsentEventBody {
    fn from(e: ConsentEvent) -> Self {
        Self {
            id: e.id.0,
            consent_purpose: e.purpose.to_string(),
            channel: e.channel.to_string(),
            action: e.action.to_string(),
            at: e.at.to_string(),
            recorded_at: e.recorded_at.to_string(),
            evidence: e.evidence,
            notice_version: e.notice_version,
            collected_by: e.collected_by.to_string(),
            collected_where: e.collected_where.as_str().to_owned(),
        }
    }
}

/// Appends to a subject's consent ledger. Needs `consent.write`.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/subjects/{subject_id}/consents",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body = ConsentRequest,
    responses((status = 201, description = "Recorded", body = ConsentEventBody),
        (status = 403, description = "Refused; the code says why", body = crate::ErrorBody),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn record(
    State(app): State<App>,
    Tenant(grant): Tenant<RecordConsent>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
    ApiJson(r): ApiJson<ConsentRequest>,
) -> Result<(StatusCode, Json<ConsentEventBody>), ApiError> {
    let new = NewConsent {
        purpose: r.consent_purpose,
        channel: r.channel,
        action: r.action,
        at: r.at,
        evidence: r.evidence,
        notice_version: r.notice_version,
        collected_where: r.collected_where,
    };
    let event = app.record_consent(&grant, ids.1, new).await?;
    Ok((StatusCode::CREATED, Json(event.into())))
}

/// A subject's whole ledger, oldest first. Needs `consent.read`.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/subjects/{subject_id}/consents",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Events", body = [ConsentEventBody]),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn history(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadConsent>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
) -> Result<Json<Vec<ConsentEventBody>>, ApiError> {
    let events = app.consent_events(&grant, ids.1).await?;
    Ok(Json(
        events.into_iter().map(ConsentEventBody::from).collect(),
    ))
}

/// Which state to read.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct StateQuery {
    /// Declared purpose (required).
    #[allow(dead_code)]
    purpose: String,
    /// The purpose whose consent is asked about.
    consent_purpose: String,
    /// The channel.
    channel: String,
    /// The instant (RFC 3339); now when absent.
    at: Option<String>,
}

/// The consent state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StateBody {
    /// True only for a standing consent.
    consented: bool,
    /// `absent`, `granted`, `withdrawn`, `objected` or `voided`, with since,
    /// the event and (voided) the registry.
    #[schema(value_type = Object)]
    state: ConsentState,
}

/// The state of a subject's consent for a purpose and channel at an
/// instant (now by default). Absent means not consented.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/subjects/{subject_id}/consents/state",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path), StateQuery),
    responses((status = 200, description = "The state", body = StateBody),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn state(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadConsent>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<StateBody>, ApiError> {
    let purpose: Purpose = q
        .consent_purpose
        .parse()
        .map_err(|e| ApiError::invalid_field("consent_purpose", e))?;
    let channel: Channel = q
        .channel
        .parse()
        .map_err(|e| ApiError::invalid_field("channel", e))?;
    let at =
        q.at.as_deref()
            .map(str::parse::<Timestamp>)
            .transpose()
            .map_err(|_| ApiError::invalid_field("at", "must be an RFC 3339 instant"))?;
    let state = app
        .consent_state(&grant, ids.1, &purpose, channel, at)
        .await?;
    Ok(Json(StateBody {
        consented: state.is_granted(),
        state,
    }))
}

/// A do-not-call registration learnt for a subject.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationRequest {
    /// `it_rpo`, `fr_bloctel`, `es_robinson`, `uk_tps`, `uk_ctps`, `us_dnc`.
    #[schema(value_type = String, example = "it_rpo")]
    registry: Registry,
    /// When the registration took effect (RFC 3339).
    #[schema(value_type = String)]
    at: Timestamp,
}

/// Records a registry registration: under the voiding rules (Italy's RPO),
/// marketing consents given before it end there; history is kept.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/subjects/{subject_id}/registrations",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body = RegistrationRequest,
    responses((status = 204, description = "Recorded"),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn register(
    State(app): State<App>,
    Tenant(grant): Tenant<RecordConsent>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
    ApiJson(r): ApiJson<RegistrationRequest>,
) -> Result<StatusCode, ApiError> {
    app.record_registration(&grant, ids.1, r.registry, r.at)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An art. 14 event for a subject on a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Art14Request {
    /// `first_contact` (the notice is due now) or `notice_given`.
    #[schema(value_type = String, example = "first_contact")]
    event: Art14Event,
}

/// Records a first contact with, or the art. 14 notice given to, a subject
/// who is on a list.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/subjects/{subject_id}/art14",
    tag = "lists", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body = Art14Request,
    responses((status = 204, description = "Recorded"),
        (status = 404, description = "No such subject on a list in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn art14(
    State(app): State<App>,
    Tenant(grant): Tenant<RecordConsent>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
    ApiJson(r): ApiJson<Art14Request>,
) -> Result<StatusCode, ApiError> {
    app.record_art14(&grant, ids.1, r.event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A published notice.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NoticeBody {
    language: String,
    version: u32,
    /// The notice and its `spoken` script.
    #[schema(value_type = Object)]
    content: NoticeDraft,
    published_at: String,
    published_by: String,
}

impl From<PublishedNotice> for NoticeBody {
    fn from(n: PublishedNotice) -> Self {
        Self {
            language: n.language.to_string(),
            version: n.version,
            content: n.content,
            published_at: n.published_at.to_string(),
            published_by: n.published_by.to_string(),
        }
    }
}

/// Publishes the next version of the controller's privacy notice in a
/// language (`it`, `es`, `et`, `fr`, `en`), with its spoken script. A notice
/// lacking content arts. 13/14 require is refused listing every missing item.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/privacy-notices/{language}",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("language" = String, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content = Object, description = "The notice (NoticeDraft)"),
    responses((status = 201, description = "Published", body = NoticeBody),
        (status = 400, description = "Incomplete: the message lists what is missing", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn publish(
    State(app): State<App>,
    Tenant(grant): Tenant<PublishNotices>,
    ApiPath(path): ApiPath<(ControllerId, String)>,
    ApiJson(draft): ApiJson<NoticeDraft>,
) -> Result<(StatusCode, Json<NoticeBody>), ApiError> {
    let language: Language = path
        .1
        .parse()
        .map_err(|e| ApiError::invalid_field("language", e))?;
    let notice = app.publish_notice(&grant, language, draft).await?;
    Ok((StatusCode::CREATED, Json(notice.into())))
}

/// Which version.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct NoticeQuery {
    /// Declared purpose (required).
    #[allow(dead_code)]
    purpose: String,
    /// A version; the latest when absent.
    version: Option<u32>,
}

/// A version of the controller's privacy notice and script in a language.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/privacy-notices/{language}",
    tag = "consent", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("language" = String, Path), NoticeQuery),
    responses((status = 200, description = "The notice", body = NoticeBody),
        (status = 404, description = "None published, or no such controller in scope", body = crate::ErrorBody)))]
pub(crate) async fn notice(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadConsent>,
    ApiPath(path): ApiPath<(ControllerId, String)>,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> Result<Json<NoticeBody>, ApiError> {
    let language: Language = path
        .1
        .parse()
        .map_err(|e| ApiError::invalid_field("language", e))?;
    Ok(Json(
        app.privacy_notice(&grant, language, q.version)
            .await?
            .into(),
    ))
}
