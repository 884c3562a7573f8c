//! A controller's data subjects, always for a declared purpose and masked by role.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tutela_app::grants::{EraseSubjects, ReadSubjects, WriteSubjects};
use tutela_app::{App, MAX_PAGE, NewSubject, SubjectSearch};
use tutela_domain::{
    Attribute, AttributeName, AttributeValue, ContactKind, ControllerId, CountryCode, DataCategory,
    SubjectId,
};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiPath, ApiQuery, Tenant};
use crate::json::ApiJson;
use crate::routes::views::SubjectBody;

/// One attribute to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeInput {
    /// Attribute name, for example `full_name`.
    #[schema(value_type = String)]
    name: AttributeName,
    /// Its data category.
    #[schema(value_type = String, example = "identity")]
    category: DataCategory,
    /// Its value.
    value: String,
}

/// One contact point to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactInput {
    /// `phone` or `email`.
    #[schema(value_type = String, example = "phone")]
    kind: ContactKind,
    /// As written; phone numbers are normalised to E.164.
    value: String,
}

/// A data subject to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSubjectRequest {
    /// Attributes, each tagged with its data category. Payment and special
    /// categories are stored encrypted; `national_id` gets a blind index.
    #[serde(default)]
    attributes: Vec<AttributeInput>,
    /// Phone numbers and e-mail addresses.
    #[serde(default)]
    contacts: Vec<ContactInput>,
    /// Region for phone numbers without a country code (ISO 3166-1); the
    /// controller's country by default.
    #[schema(value_type = Option<String>, example = "IT")]
    default_region: Option<CountryCode>,
}

/// Who to look for: exactly one of the fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchRequest {
    /// A phone number, in any usual spelling.
    phone: Option<String>,
    /// An e-mail address.
    email: Option<String>,
    /// A national identifier.
    national_id: Option<String>,
    /// Region for a phone number without a country code; the controller's
    /// country by default.
    #[schema(value_type = Option<String>, example = "IT")]
    default_region: Option<CountryCode>,
}

/// Records a data subject. Needs `subjects.write`, a purpose the agreement
/// allows and, for people, current attestations.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/subjects", tag = "subjects",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    request_body = CreateSubjectRequest,
    responses((status = 201, description = "Recorded, as the caller may see it", body = SubjectBody),
        (status = 403, description = "Role, MFA, attestation or agreement refuses it; the code says which", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn create(
    State(app): State<App>,
    Tenant(grant): Tenant<WriteSubjects>,
    ApiJson(request): ApiJson<CreateSubjectRequest>,
) -> Result<(StatusCode, Json<SubjectBody>), ApiError> {
    let attributes = request
        .attributes
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(Attribute {
                name: a.name,
                category: a.category,
                value: AttributeValue::parse(&a.value)
                    .map_err(|e| ApiError::invalid_field(&format!("attributes[{i}].value"), e))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let new = NewSubject {
        attributes,
        contacts: request
            .contacts
            .into_iter()
            .map(|c| (c.kind, c.value))
            .collect(),
        default_region: request.default_region,
    };
    let view = app.create_subject(&grant, new).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Reading options.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ReadQuery {
    /// Declared purpose (required).
    #[allow(dead_code)]
    purpose: String,
    /// Ask to see payment and special-category fields in clear, where the
    /// role allows it; recorded.
    #[serde(default)]
    reveal: bool,
}

/// One data subject, masked for the caller's role.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/subjects/{subject_id}",
    tag = "subjects", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path), ReadQuery),
    responses((status = 200, description = "The subject", body = SubjectBody),
        (status = 403, description = "Refused; the code says why", body = crate::ErrorBody),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn get(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadSubjects>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<SubjectBody>, ApiError> {
    Ok(Json(app.subject(&grant, ids.1, query.reveal).await?.into()))
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// Declared purpose (required).
    #[allow(dead_code)]
    purpose: String,
    /// Return subjects after this id.
    after: Option<uuid::Uuid>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<u32>,
}

/// A page of the controller's data subjects, masked for the caller's role.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/subjects", tag = "subjects",
    security(("bearer" = [])), params(("controller_id" = uuid::Uuid, Path), ListQuery),
    responses((status = 200, description = "Subjects", body = [SubjectBody]),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn list(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadSubjects>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<SubjectBody>>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(MAX_PAGE);
    let page = app
        .subjects(&grant, query.after.map(SubjectId), limit)
        .await?;
    Ok(Json(page.into_iter().map(SubjectBody::from).collect()))
}

/// Erases a data subject: their attributes and the secret of their audit
/// pseudonym, so earlier audit events no longer lead to them (the trail
/// still verifies). Needs `subjects.erase` (DPO).
#[utoipa::path(delete, path = "/v1/controllers/{controller_id}/subjects/{subject_id}",
    tag = "subjects", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("subject_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 204, description = "Erased"),
        (status = 403, description = "Refused; the code says why", body = crate::ErrorBody),
        (status = 404, description = "No such subject in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn erase(
    State(app): State<App>,
    Tenant(grant): Tenant<EraseSubjects>,
    ApiPath(ids): ApiPath<(ControllerId, SubjectId)>,
) -> Result<StatusCode, ApiError> {
    app.erase_subject(&grant, ids.1).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Finds the controller's subjects by phone number, e-mail address or
/// national identifier, through blind indexes (no plaintext index exists).
/// A POST so that the number never appears in a URL or an access log.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/subjects/search", tag = "subjects",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    request_body = SearchRequest,
    responses((status = 200, description = "Matching subjects, masked for the caller", body = [SubjectBody]),
        (status = 400, description = "Not exactly one identifier, or one that does not parse", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn search(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadSubjects>,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<Json<Vec<SubjectBody>>, ApiError> {
    let search = match (request.phone, request.email, request.national_id) {
        (Some(phone), None, None) => SubjectSearch::Contact(ContactKind::Phone, phone),
        (None, Some(email), None) => SubjectSearch::Contact(ContactKind::Email, email),
        (None, None, Some(id)) => SubjectSearch::NationalId(id),
        _ => {
            return Err(ApiError::invalid_field(
                "phone",
                "give exactly one of phone, email and national_id",
            ));
        }
    };
    let found = app
        .find_subjects(&grant, search, request.default_region)
        .await?;
    Ok(Json(found.into_iter().map(SubjectBody::from).collect()))
}
