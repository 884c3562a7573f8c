//! Controllers and their processing agreements.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tutela_app::grants::ManageControllers;
use tutela_app::{App, NewController};
use tutela_domain::{AgreementDraft, AgreementTerms, ControllerId, CountryCode, Label};
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{ApiPath, Caller, Platform};
use crate::json::ApiJson;
use crate::routes::views::{AgreementView, ControllerView};

/// A controller to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateControllerRequest {
    /// Company name.
    #[schema(value_type = String)]
    name: Label,
    /// ISO 3166-1 alpha-2 country of establishment.
    #[schema(value_type = String, example = "IT")]
    country: CountryCode,
    /// How to reach its DPO.
    #[schema(value_type = String)]
    dpo_contact: Label,
    /// Representative in the Union (art. 27), if any.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    representative: Option<Label>,
}

/// Registers a controller (administrators).
#[utoipa::path(post, path = "/v1/controllers", tag = "controllers", security(("bearer" = [])),
    request_body = CreateControllerRequest,
    responses((status = 201, description = "Registered", body = ControllerView),
        (status = 400, description = "A field is invalid", body = crate::ErrorBody),
        (status = 404, description = "Not an administrator", body = crate::ErrorBody)))]
pub(crate) async fn create(
    State(app): State<App>,
    Platform(grant): Platform<ManageControllers>,
    ApiJson(request): ApiJson<CreateControllerRequest>,
) -> Result<(StatusCode, Json<ControllerView>), ApiError> {
    let controller = app
        .create_controller(
            &grant,
            NewController {
                name: request.name,
                country: request.country,
                dpo_contact: request.dpo_contact,
                representative: request.representative,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ControllerView::new(controller, None)),
    ))
}

/// The controllers the caller may see: all for administrators, its own for others.
#[utoipa::path(get, path = "/v1/controllers", tag = "controllers", security(("bearer" = [])),
    responses((status = 200, description = "Controllers", body = [ControllerView])))]
pub(crate) async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
) -> Result<Json<Vec<ControllerView>>, ApiError> {
    let controllers = app.controllers(&principal).await?;
    Ok(Json(
        controllers
            .into_iter()
            .map(|c| ControllerView::new(c, None))
            .collect(),
    ))
}

/// One controller with its agreement in force.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}", tag = "controllers",
    security(("bearer" = [])), params(("controller_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The controller", body = ControllerView),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn get(
    State(app): State<App>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<ControllerId>,
) -> Result<Json<ControllerView>, ApiError> {
    let (controller, agreement) = app.controller(&principal, id).await?;
    Ok(Json(ControllerView::new(controller, agreement)))
}

/// Records a new version of the controller's processing agreement
/// (administrators). It replaces the previous version from now on.
#[utoipa::path(put, path = "/v1/controllers/{controller_id}/agreement", tag = "controllers",
    security(("bearer" = [])), params(("controller_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "reference, purposes [{purpose, legal_basis {basis, balancing_test?}}], categories, retention [{category, purpose, days}], operator_countries, sub_processors [{name, country, service}], valid_from, valid_until?"),
    responses((status = 201, description = "Recorded", body = AgreementView),
        (status = 400, description = "A term is invalid; `field` names it", body = crate::ErrorBody),
        (status = 404, description = "No such controller", body = crate::ErrorBody)))]
pub(crate) async fn put_agreement(
    State(app): State<App>,
    Platform(grant): Platform<ManageControllers>,
    ApiPath(id): ApiPath<ControllerId>,
    ApiJson(draft): ApiJson<AgreementDraft>,
) -> Result<(StatusCode, Json<AgreementView>), ApiError> {
    let terms =
        AgreementTerms::try_from(draft).map_err(|e| ApiError::invalid_field(&e.field, e.reason))?;
    let agreement = app.record_agreement(&grant, id, terms).await?;
    Ok((StatusCode::CREATED, Json(agreement.into())))
}
