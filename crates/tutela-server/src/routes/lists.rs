//! Lead lists: streamed CSV import with provenance, reading with the
//! rejection report, members for use, and overdue art. 14 notices.

use std::io;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tutela_app::grants::{ImportLists, ReadLists};
use tutela_app::{App, ImportProgress, ImportRequest, ImportSummary};
use tutela_domain::{ControllerId, LeadList, ListId, SubjectId};
use tutela_storage::{NoticeDue, Rejection};
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::extract::{ApiPath, ApiQuery, Tenant};
use crate::upload::{CHUNKS_IN_FLIGHT, ChannelReader, metadata_then};

/// A list as stored.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListBody {
    id: uuid::Uuid,
    name: String,
    /// Supplier, data owner, acquisition, source kind, legal basis, purpose.
    #[schema(value_type = Object)]
    provenance: tutela_domain::Provenance,
    default_region: Option<String>,
    /// When it may no longer be used; none for no limit.
    expires_at: Option<String>,
    imported_at: String,
    imported_by: String,
    accepted_rows: u64,
    rejected_rows: u64,
    /// SHA-256 identifying the import (file and request), hex.
    content_digest: String,
    purged_at: Option<String>,
}

impl From<LeadList> for ListBody {
    fn from(l: LeadList) -> Self {
        Self {
            id: l.id.0,
            name: l.name.as_str().to_owned(),
            provenance: l.provenance,
            default_region: l.default_region.map(|r| r.as_str().to_owned()),
            expires_at: l.expires_at.map(|t| t.to_string()),
            imported_at: l.imported_at.to_string(),
            imported_by: l.imported_by.to_string(),
            accepted_rows: l.accepted_rows,
            rejected_rows: l.rejected_rows,
            content_digest: hex::encode(l.content_digest),
            purged_at: l.purged_at.map(|t| t.to_string()),
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportBody {
    list: ListBody,
    /// True when this content had been imported before: nothing was written.
    already_imported: bool,
    rows: u64,
    accepted_rows: u64,
    rejected_rows: u64,
    new_subjects: u64,
    /// Rows that were people already known, merged instead of duplicated.
    merged_rows: u64,
    encoding: String,
    delimiter: String,
}

impl From<ImportSummary> for ImportBody {
    fn from(s: ImportSummary) -> Self {
        Self {
            list: s.list.into(),
            already_imported: s.already_imported,
            rows: s.rows,
            accepted_rows: s.accepted_rows,
            rejected_rows: s.rejected_rows,
            new_subjects: s.new_subjects,
            merged_rows: s.merged_rows,
            encoding: s.encoding.to_owned(),
            delimiter: s.delimiter.to_string(),
        }
    }
}

/// Imports a lead list: a `multipart/form-data` body with a `metadata` part
/// (JSON: name, provenance, mapping, optional expiry_days and
/// default_region) followed by a `file` part (CSV in UTF-8, UTF-16 or
/// Windows-1252; `,` `;` or tab), streamed. All accepted rows or none; the
/// same content again answers 200 with `already_imported`.
#[utoipa::path(post, path = "/v1/controllers/{controller_id}/lists", tag = "lists",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    request_body(content_type = "multipart/form-data", description = "`metadata` (JSON) then `file` (CSV)"),
    responses((status = 201, description = "Imported", body = ImportBody),
        (status = 200, description = "Already imported: nothing written", body = ImportBody),
        (status = 400, description = "Bad metadata, mapping or file; the field says which", body = crate::ErrorBody),
        (status = 403, description = "Refused; the code says why", body = crate::ErrorBody),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn import(
    State(app): State<App>,
    Tenant(grant): Tenant<ImportLists>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<ImportBody>), ApiError> {
    let (request, mut file): (ImportRequest, _) = metadata_then(&mut multipart, "file").await?;
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let pump = async move {
        loop {
            let next = match file.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => Err(io::Error::other(e.body_text())),
            };
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed {
                break;
            }
        }
    };
    let reader = Box::new(ChannelReader::new(rx));
    let (_, summary) = tokio::join!(
        pump,
        app.import_list(&grant, request, reader, Arc::new(ImportProgress::default()))
    );
    let summary = summary?;
    let status = if summary.already_imported {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(summary.into())))
}

/// The controller's lists, newest first.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/lists", tag = "lists",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("purpose" = String, Query, description = "Declared purpose")),
    responses((status = 200, description = "Lists", body = [ListBody]),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn list(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadLists>,
) -> Result<Json<Vec<ListBody>>, ApiError> {
    let lists = app.lead_lists(&grant).await?;
    Ok(Json(lists.into_iter().map(ListBody::from).collect()))
}

/// Paging through a report or a member list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PageQuery {
    /// Declared purpose (required).
    #[allow(dead_code)]
    purpose: String,
    /// Rejections after this row number / members after this subject id.
    after: Option<String>,
    /// Page size, 1 to 10,000 (default 1,000).
    limit: Option<u32>,
}

/// One line of a rejection report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RejectionBody {
    row: u64,
    column: String,
    reason: String,
}

impl From<Rejection> for RejectionBody {
    fn from(r: Rejection) -> Self {
        Self {
            row: r.row,
            column: r.column,
            reason: r.reason,
        }
    }
}

/// A list with a page of its rejection report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListReportBody {
    list: ListBody,
    rejections: Vec<RejectionBody>,
}

/// One list and a page of its rejection report (row, column, reason).
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/lists/{list_id}", tag = "lists",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("list_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "The list and rejections", body = ListReportBody),
        (status = 404, description = "No such list in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn get(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadLists>,
    ApiPath(ids): ApiPath<(ControllerId, ListId)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ListReportBody>, ApiError> {
    let after = match query.after.as_deref() {
        None => 0,
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::invalid_field("after", "must be a row number"))?,
    };
    let (list, rejections) = app
        .lead_list(&grant, ids.1, after, query.limit.unwrap_or(1000))
        .await?;
    Ok(Json(ListReportBody {
        list: list.into(),
        rejections: rejections.into_iter().map(RejectionBody::from).collect(),
    }))
}

/// A page of a list's members (subject ids), for use by a dialer; refused
/// with 409 `list_expired` once the list has expired.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/lists/{list_id}/members", tag = "lists",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), ("list_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "Subject ids", body = [uuid::Uuid]),
        (status = 409, description = "The list has expired", body = crate::ErrorBody),
        (status = 404, description = "No such list in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn members(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadLists>,
    ApiPath(ids): ApiPath<(ControllerId, ListId)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Vec<uuid::Uuid>>, ApiError> {
    let after = query
        .after
        .as_deref()
        .map(str::parse::<SubjectId>)
        .transpose()
        .map_err(|e| ApiError::invalid_field("after", e))?;
    let members = app
        .list_members(&grant, ids.1, after, query.limit.unwrap_or(1000))
        .await?;
    Ok(Json(members.into_iter().map(|s| s.0).collect()))
}

/// An art. 14 notice that is due.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NoticeDueBody {
    list_id: uuid::Uuid,
    subject_id: uuid::Uuid,
    due_at: String,
    first_contact_at: Option<String>,
}

impl From<NoticeDue> for NoticeDueBody {
    fn from(n: NoticeDue) -> Self {
        Self {
            list_id: n.list_id.0,
            subject_id: n.subject_id.0,
            due_at: n.due_at.to_string(),
            first_contact_at: n.first_contact_at.map(|t| t.to_string()),
        }
    }
}

/// People whose art. 14 notice (data not collected from them) is due and
/// not given: a month after acquisition, or since their first contact.
#[utoipa::path(get, path = "/v1/controllers/{controller_id}/art14/overdue", tag = "lists",
    security(("bearer" = [])),
    params(("controller_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, description = "Overdue notices, oldest first", body = [NoticeDueBody]),
        (status = 404, description = "No such controller in the caller's scope", body = crate::ErrorBody)))]
pub(crate) async fn overdue(
    State(app): State<App>,
    Tenant(grant): Tenant<ReadLists>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Vec<NoticeDueBody>>, ApiError> {
    let due = app
        .notices_overdue(&grant, query.limit.unwrap_or(1000))
        .await?;
    Ok(Json(due.into_iter().map(NoticeDueBody::from).collect()))
}
