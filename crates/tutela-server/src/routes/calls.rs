//! Call gating: the decision a dialer asks before every call, the outcomes
//! it reports after, scrubbing stored lists against the loaded registries,
//! and reloading this node's registry snapshots.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tutela_app::grants::{GateCalls, ReloadRegistries, ReportCalls, ScrubLists};
use tutela_app::{App, CallRequest, ListScrub, OutcomeReport, RegistryReport};
use tutela_domain::{CallOutcome, Channel, ControllerId, CountryCode, Decision, ListId, Timestamp};
use utoipa::ToSchema;

use crate::ApiError;
use crate::extract::{ApiPath, Platform, Tenant};
use crate::json::ApiJson;

/// What the dialer asks. The controller and the call's purpose are the
/// `controller_id` and `purpose` query parameters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideRequest {
    /// The number; E.164 (`+39…`), or national for the controller's country.
    #[schema(example = "+393471234567")]
    number: String,
    /// `phone`, `sms`, `email`, `post` or `messaging`; `phone` when absent.
    #[schema(value_type = Option<String>, example = "phone")]
    channel: Option<Channel>,
    /// When the call would be placed (RFC 3339); now when absent.
    #[schema(value_type = Option<String>)]
    at: Option<Timestamp>,
    /// Where the operator placing the call sits (ISO 3166-1 alpha-2).
    #[schema(value_type = Option<String>, example = "AL")]
    operator_country: Option<CountryCode>,
    /// Whether the call will be recorded.
    #[serde(default)]
    recorded: bool,
    /// The list the number is called from.
    list_id: Option<uuid::Uuid>,
}

/// The decision: `verdict` (`allow` or `deny`), every reason for a denial
/// (each with a stable `code`), the obligations of an allowed call, and
/// `valid_until`, after which the dialer must ask again.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DecisionBody {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    decision: Decision,
}

/// May this number be called now for this purpose? Needs `calls.gate`.
#[utoipa::path(post, path = "/v1/calls/decide", tag = "calls", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Query, description = "The controller"),
        ("purpose" = String, Query, description = "The call's purpose (one of the agreement's)")),
    request_body = DecideRequest,
    responses((status = 200, description = "Allow or deny, with reasons and obligations", body = DecisionBody),
        (status = 400, description = "A field is invalid; the error names it", body = crate::ErrorBody),
        (status = 403, description = "Refused; the code says why", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn decide(
    State(app): State<App>,
    Tenant(grant): Tenant<GateCalls>,
    ApiJson(r): ApiJson<DecideRequest>,
) -> Result<Json<DecisionBody>, ApiError> {
    let request = CallRequest {
        number: r.number,
        channel: r.channel.unwrap_or(Channel::Phone),
        at: r.at,
        operator_country: r.operator_country,
        recorded: r.recorded,
        list: r.list_id.map(ListId),
    };
    let decision = app.decide_call(&grant, &request).await?;
    Ok(Json(DecisionBody { decision }))
}

/// How a call ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutcomeRequest {
    /// The number called.
    number: String,
    /// `answered`, `refused`, `silent` or `no_answer`.
    #[schema(value_type = String, example = "refused")]
    outcome: CallOutcome,
    /// When (RFC 3339); now when absent. Not in the future.
    #[schema(value_type = Option<String>)]
    at: Option<Timestamp>,
}

/// Reports a call's outcome: it counts as an attempt and may start a
/// cool-off. Needs `calls.gate`.
#[utoipa::path(post, path = "/v1/calls/outcomes", tag = "calls", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Query, description = "The controller"),
        ("purpose" = String, Query, description = "The call's purpose")),
    request_body = OutcomeRequest,
    responses((status = 204, description = "Recorded"),
        (status = 400, description = "A field is invalid; the error names it", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn outcome(
    State(app): State<App>,
    Tenant(grant): Tenant<ReportCalls>,
    ApiJson(r): ApiJson<OutcomeRequest>,
) -> Result<StatusCode, ApiError> {
    let report = OutcomeReport {
        number: r.number,
        outcome: r.outcome,
        at: r.at,
    };
    app.report_call_outcome(&grant, &report).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One registry check recorded for a list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckBody {
    registry: String,
    /// The snapshot's as-of instant: the validity window runs from it.
    snapshot_as_of: String,
    /// SHA-256 of the snapshot's content, hex.
    snapshot_sha256: String,
    checked_at: String,
    /// Members found on the registry.
    listed: u64,
}

/// What a list scrub did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScrubBody {
    checks: Vec<CheckBody>,
    /// Registries required for numbers on the list that this node has no
    /// snapshot of (calls relying on them stay denied).
    missing: Vec<String>,
    /// Phone numbers read.
    numbers: u64,
}

impl From<ListScrub> for ScrubBody {
    fn from(s: ListScrub) -> Self {
        Self {
            checks: s
                .checks
                .into_iter()
                .map(|c| CheckBody {
                    registry: c.registry.to_string(),
                    snapshot_as_of: c.as_of.to_string(),
                    snapshot_sha256: hex::encode(c.snapshot_sha256),
                    checked_at: c.checked_at.to_string(),
                    listed: c.listed,
                })
                .collect(),
            missing: s.missing.iter().map(ToString::to_string).collect(),
            numbers: s.numbers,
        }
    }
}

/// Checks a stored list against the registries loaded on this node and
/// records which snapshot each check used. Needs `lists.import`.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/lists/{list_id}/scrub",
    tag = "lists", security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("list_id" = uuid::Uuid, Path),
        ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Checks recorded", body = ScrubBody),
        (status = 404, description = "No such list in the caller's scope", body = crate::ErrorBody),
        (status = 409, description = "`list_expired`: the list may no longer be used", body = crate::ErrorBody)))]
pub(crate) async fn scrub(
    State(app): State<App>,
    Tenant(grant): Tenant<ScrubLists>,
    ApiPath(ids): ApiPath<(ControllerId, ListId)>,
) -> Result<Json<ScrubBody>, ApiError> {
    Ok(Json(app.scrub_list(&grant, ids.1).await?.into()))
}

/// A registry loaded on this node.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoadedBody {
    registry: String,
    numbers: u64,
}

/// A file refused at reload; the registry's earlier snapshot stays in use.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefusedBody {
    file: String,
    reason: String,
}

/// The registries now loaded and the files refused.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReloadBody {
    loaded: Vec<LoadedBody>,
    refused: Vec<RefusedBody>,
}

impl From<RegistryReport> for ReloadBody {
    fn from(r: RegistryReport) -> Self {
        Self {
            loaded: r
                .loaded
                .into_iter()
                .map(|(registry, numbers)| LoadedBody {
                    registry: registry.to_string(),
                    numbers,
                })
                .collect(),
            refused: r
                .refused
                .into_iter()
                .map(|e| RefusedBody {
                    file: e.file.display().to_string(),
                    reason: e.reason,
                })
                .collect(),
        }
    }
}

/// Re-reads this node's registry folder. A file that does not read is
/// reported and the snapshot it would replace stays in use. Administrators.
#[utoipa::path(post, path = "/v1/registries/reload", tag = "calls", security(("bearer" = [])),
    responses((status = 200, description = "Loaded and refused", body = ReloadBody),
        (status = 404, description = "Not an administrator", body = crate::ErrorBody)))]
pub(crate) async fn reload(
    State(app): State<App>,
    Platform(grant): Platform<ReloadRegistries>,
) -> Result<Json<ReloadBody>, ApiError> {
    Ok(Json(app.reload_registries(&grant).await?.into()))
}
