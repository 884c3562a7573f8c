//! The audit trail over HTTP: events by subject, actor, object and time;
//! checkpoints; inclusion and consistency proofs. `{chain}` is `platform` or
//! a controller id. DPO and auditor only, and every call is itself recorded.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tutela_app::App;
use tutela_app::audit::{AuditEntry, AuditQuery, MAX_AUDIT_PAGE};
use tutela_domain::audit::{Checkpoint, Outcome};
use tutela_domain::{SubjectId, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiQuery, Audit};

/// Filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Events about this data subject (its id; the trail holds only its pseudonym).
    subject: Option<uuid::Uuid>,
    /// Events by this actor: `user:<uuid>`, `client:<uuid>`, `anonymous`, `operator`.
    actor: Option<String>,
    /// Events about this object: `kind` or `kind:id`, for example `user:<uuid>`.
    object: Option<String>,
    /// At or after this instant (RFC 3339).
    from: Option<String>,
    /// Before this instant (RFC 3339).
    until: Option<String>,
    /// Events after this position (from `next_after`).
    after: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    /// `platform` or `controller:<uuid>`.
    chain: String,
    /// Position in the chain.
    seq: u64,
    /// When.
    instant: String,
    /// Who: `user:<uuid>`, `client:<uuid>`, `anonymous` or `operator`.
    actor: String,
    /// The actor's role then.
    role: Option<String>,
    /// The controller concerned.
    controller: Option<String>,
    /// What was done, for example `subject.read`.
    action: String,
    /// To what: `kind` or `kind:id`.
    object: Option<String>,
    /// Whose data: the subject's pseudonym (hex).
    subject: Option<String>,
    /// The declared purpose.
    purpose: Option<String>,
    /// Peer address.
    address: Option<String>,
    /// User-agent product tokens.
    user_agent: Option<String>,
    /// Workstation id.
    workstation: Option<String>,
    /// Request id (find the request in the service logs).
    request_id: Option<String>,
    /// `allowed` or `denied`.
    outcome: String,
    /// Why it was denied.
    reason: Option<String>,
}

impl From<AuditEntry> for EventView {
    fn from(entry: AuditEntry) -> Self {
        let e = entry.event;
        let (outcome, reason) = match e.outcome {
            Outcome::Allowed => ("allowed", None),
            Outcome::Denied(r) => ("denied", Some(r.as_str().to_owned())),
        };
        Self {
            chain: entry.chain.to_string(),
            seq: entry.seq,
            instant: e.instant.to_string(),
            actor: e.actor.to_string(),
            role: e.role.map(|r| r.as_str().to_owned()),
            controller: e.controller.map(|c| c.to_string()),
            action: e.action.as_str().to_owned(),
            object: e.object.map(|o| o.to_string()),
            subject: e.subject.map(|s| s.to_string()),
            purpose: e.purpose.map(|p| p.as_str().to_owned()),
            address: e.client.address.map(|a| a.to_string()),
            user_agent: e.client.user_agent,
            workstation: e.client.workstation,
            request_id: e.client.request_id,
            outcome: outcome.to_owned(),
            reason,
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventsPage {
    /// The events, in chain order.
    events: Vec<EventView>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<u64>,
}

fn instant(field: &str, value: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| v.parse::<Timestamp>())
        .transpose()
        .map_err(|_| ApiError::invalid_field(field, "must be an RFC 3339 instant"))
}

/// Lists events of the chain. Recorded as `audit.read`.
#[utoipa::path(get, path = "/v1/audit/{chain}/events", tag = "audit", security(("bearer" = [])),
    params(("chain" = String, Path, description = "`platform` or a controller id"), EventsQuery),
    responses((status = 200, description = "Events", body = EventsPage),
        (status = 404, description = "No such chain in the caller's reach", body = crate::ErrorBody)))]
pub(crate) async fn events(
    State(app): State<App>,
    Audit(grant): Audit,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    let query = AuditQuery {
        subject: q.subject.map(SubjectId),
        actor: q
            .actor
            .map(|a| a.parse())
            .transpose()
            .map_err(|e| ApiError::invalid_field("actor", e))?,
        object: q
            .object
            .map(|o| o.parse())
            .transpose()
            .map_err(|e| ApiError::invalid_field("object", e))?,
        from: instant("from", q.from)?,
        until: instant("until", q.until)?,
        after: q.after,
        limit,
    };
    let entries = app.audit_events(&grant, query).await?;
    let full = entries.len() as u64 == u64::from(limit.min(MAX_AUDIT_PAGE));
    let next_after = entries.last().filter(|_| full).map(|e| e.seq);
    Ok(Json(EventsPage {
        events: entries.into_iter().map(EventView::from).collect(),
        next_after,
    }))
}

/// A signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointView {
    /// `platform` or `controller:<uuid>`.
    chain: String,
    /// Events covered.
    tree_size: u64,
    /// RFC 6962 tree head (hex).
    root: String,
    /// Hash chain value after the last covered event (hex).
    chain_hash: String,
    /// When it was signed.
    instant: String,
    /// Signing key id (hex, first 8 bytes of SHA-256 of the public key).
    key_id: String,
    /// Ed25519 signature (hex).
    signature: String,
}

impl From<Checkpoint> for CheckpointView {
    fn from(c: Checkpoint) -> Self {
        Self {
            chain: c.head.chain.to_string(),
            tree_size: c.head.size,
            root: hex(&c.head.root),
            chain_hash: hex(&c.head.chain_hash),
            instant: c.head.instant.to_string(),
            key_id: hex(&c.key_id),
            signature: hex(&c.signature),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The chain's checkpoints, oldest first.
#[utoipa::path(get, path = "/v1/audit/{chain}/checkpoints", tag = "audit", security(("bearer" = [])),
    params(("chain" = String, Path, description = "`platform` or a controller id")),
    responses((status = 200, description = "Checkpoints", body = [CheckpointView]),
        (status = 404, description = "No such chain in the caller's reach", body = crate::ErrorBody)))]
pub(crate) async fn checkpoints(
    State(app): State<App>,
    Audit(grant): Audit,
) -> Result<Json<Vec<CheckpointView>>, ApiError> {
    let list = app.audit_checkpoints(&grant).await?;
    Ok(Json(list.into_iter().map(CheckpointView::from).collect()))
}

/// Signs a checkpoint of the chain now (covering this request's own event).
#[utoipa::path(post, path = "/v1/audit/{chain}/checkpoints", tag = "audit", security(("bearer" = [])),
    params(("chain" = String, Path, description = "`platform` or a controller id")),
    responses((status = 201, description = "Signed", body = CheckpointView),
        (status = 404, description = "No such chain in the caller's reach", body = crate::ErrorBody)))]
pub(crate) async fn checkpoint(
    State(app): State<App>,
    Audit(grant): Audit,
) -> Result<(StatusCode, Json<CheckpointView>), ApiError> {
    let cp = app.audit_checkpoint(&grant).await?;
    Ok((StatusCode::CREATED, Json(cp.into())))
}

/// Which event in which tree.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    /// The event's position.
    seq: u64,
    /// The tree size (a checkpoint's `tree_size`).
    tree_size: u64,
}

/// An inclusion proof (RFC 6962 audit path).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InclusionView {
    seq: u64,
    tree_size: u64,
    leaf_hash: String,
    root: String,
    path: Vec<String>,
}

/// Proves that an event is in the chain's tree of a given size.
#[utoipa::path(get, path = "/v1/audit/{chain}/proofs/inclusion", tag = "audit", security(("bearer" = [])),
    params(("chain" = String, Path, description = "`platform` or a controller id"), InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionView),
        (status = 404, description = "No such chain in the caller's reach", body = crate::ErrorBody)))]
pub(crate) async fn inclusion(
    State(app): State<App>,
    Audit(grant): Audit,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionView>, ApiError> {
    let p = app
        .audit_inclusion_proof(&grant, q.seq, q.tree_size)
        .await?;
    Ok(Json(InclusionView {
        seq: p.seq,
        tree_size: p.tree_size,
        leaf_hash: hex(&p.leaf_hash),
        root: hex(&p.root),
        path: p.path.iter().map(|h| hex(h)).collect(),
    }))
}

/// Two tree sizes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    /// The older size.
    from: u64,
    /// The newer size.
    to: u64,
}

/// A consistency proof (RFC 6962).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsistencyView {
    from: u64,
    to: u64,
    from_root: String,
    to_root: String,
    path: Vec<String>,
}

/// Proves that the chain's tree at `from` events is a prefix of its tree at `to`.
#[utoipa::path(get, path = "/v1/audit/{chain}/proofs/consistency", tag = "audit", security(("bearer" = [])),
    params(("chain" = String, Path, description = "`platform` or a controller id"), ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyView),
        (status = 404, description = "No such chain in the caller's reach", body = crate::ErrorBody)))]
pub(crate) async fn consistency(
    State(app): State<App>,
    Audit(grant): Audit,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let p = app.audit_consistency_proof(&grant, q.from, q.to).await?;
    Ok(Json(ConsistencyView {
        from: p.first,
        to: p.second,
        from_root: hex(&p.first_root),
        to_root: hex(&p.second_root),
        path: p.path.iter().map(|h| hex(h)).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_query_parses() {
        let uri: axum::http::Uri = "/x?subject=0194f0f0-0000-7000-8000-000000000000&limit=2"
            .parse()
            .unwrap();
        let q = axum::extract::Query::<EventsQuery>::try_from_uri(&uri);
        assert_eq!(q.map(|q| q.0.limit).map_err(|e| e.body_text()), Ok(Some(2)));
    }
}
