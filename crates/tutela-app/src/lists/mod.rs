//! Lead lists: import with provenance and expiry, reading, art. 14 notices
//! and the purge of expired lists.

mod pipeline;
mod source;

use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tutela_domain::audit::{Action, Actor, AuditEvent, ObjectKind, ObjectRef, Outcome};
use tutela_domain::{
    AccessDenied, AgreementViolation, Art14Event, ColumnMapping, ColumnTarget, CountryCode,
    DataCategory, Label, LeadList, ListId, Provenance, SubjectId, list_expiry,
};
use tutela_storage::{ListPurge, NoticeDue, Rejection, StorageError};

use crate::grants::{ImportLists, ReadLists, RecordConsent, TenantGrant};
use crate::{App, AppError};

pub use source::{ImportProgress, sniff_delimiter, sniff_encoding};

/// What to import, besides the file. Deserialisable: the API and the CLI
/// send it as JSON beside the file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// A name people recognise the list by.
    pub name: Label,
    /// Where the data came from.
    pub provenance: Provenance,
    /// Days of use after acquisition; the source kind's default (90 for
    /// rented lists) when not given.
    #[serde(default)]
    pub expiry_days: Option<u32>,
    /// Region for numbers without a country code; the controller's country
    /// when not given.
    #[serde(default)]
    pub default_region: Option<CountryCode>,
    /// What the columns hold.
    pub mapping: ColumnMapping,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The list, as stored.
    pub list: LeadList,
    /// True when this content had been imported before: nothing was written
    /// and `list` is the earlier import.
    pub already_imported: bool,
    /// Data rows in the file.
    pub rows: u64,
    /// Rows stored (new people or merged into known ones).
    pub accepted_rows: u64,
    /// Rows refused; the rejection report lists why.
    pub rejected_rows: u64,
    /// People created.
    pub new_subjects: u64,
    /// Rows that were people already known (in the store or earlier in the
    /// file), merged instead of duplicated.
    pub merged_rows: u64,
    /// The encoding detected.
    pub encoding: &'static str,
    /// The delimiter detected.
    pub delimiter: char,
}

/// Batches in flight between the reader and the writer.
const BATCHES_IN_FLIGHT: usize = 4;

impl App {
    /// Imports a lead list from CSV, all rows or none: one transaction,
    /// rolled back on any failure or interruption. Bad rows go to the
    /// rejection report and are not stored; people already known (or
    /// repeated in the file) are merged, not duplicated. Importing the same
    /// content (same bytes and same request) again writes nothing and
    /// returns the earlier list, so a retry is always safe.
    pub async fn import_list(
        &self,
        grant: &TenantGrant<ImportLists>,
        request: ImportRequest,
        source: Box<dyn Read + Send>,
        progress: Arc<ImportProgress>,
    ) -> Result<ImportSummary, AppError> {
        self.check_import(grant, &request)?;
        let expires_at = list_expiry(&request.provenance, request.expiry_days)
            .map_err(|e| AppError::invalid("expiry_days", e.reason))?;
        let region = match request.default_region {
            Some(region) => region,
            None => self.controller_country(grant.controller()).await?,
        };
        let list_id = ListId::generate();
        let object = ObjectRef::new(ObjectKind::LeadList, list_id.to_string())
            .map_err(|e| AppError::internal(e.reason))?;
        let event = grant
            .event(Action::ListImport, self.clock.now())
            .object(object);
        self.audited(event, async {
            self.run_import(
                grant, request, source, progress, list_id, region, expires_at,
            )
            .await
        })
        .await
    }

    /// The agreement must allow the list's purpose with the same legal
    /// basis, and every category the mapping stores.
    fn check_import(
        &self,
        grant: &TenantGrant<ImportLists>,
        request: &ImportRequest,
    ) -> Result<(), AppError> {
        let terms = &grant.agreement().terms;
        let purpose = &request.provenance.purpose;
        let allowed = terms.purpose(purpose).ok_or_else(|| {
            AccessDenied::from(AgreementViolation::PurposeNotAllowed {
                purpose: purpose.to_string(),
                reference: terms.fields().reference.as_str().to_owned(),
            })
        })?;
        if allowed.legal_basis != request.provenance.legal_basis {
            return Err(AppError::invalid(
                "provenance.legal_basis",
                format!(
                    "differs from the legal basis agreement {} gives purpose `{purpose}`",
                    terms.fields().reference.as_str()
                ),
            ));
        }
        for column in request.mapping.columns() {
            let category = match &column.target {
                ColumnTarget::Contact { .. } => DataCategory::Contact,
                ColumnTarget::Attribute { category, .. } => *category,
            };
            grant
                .agreement()
                .allows_category(category)
                .map_err(AccessDenied::from)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_import(
        &self,
        grant: &TenantGrant<ImportLists>,
        request: ImportRequest,
        source: Box<dyn Read + Send>,
        progress: Arc<ImportProgress>,
        list_id: ListId,
        region: CountryCode,
        expires_at: Option<tutela_domain::Timestamp>,
    ) -> Result<ImportSummary, AppError> {
        let controller = grant.controller();
        let keys = Arc::new(self.keys.controller_keys(controller)?);
        let now = self.clock.now();
        let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
        let job = pipeline::ReadJob {
            source,
            mapping: request.mapping.clone(),
            region,
            keys: keys.clone(),
            controller,
            now,
            progress,
        };
        let reader = tokio::task::spawn_blocking(move || pipeline::read_file(job, tx));
        let mut session = self.store.begin_import(controller, list_id).await?;
        let written = pipeline::write_batches(&mut session, &keys, now, rx).await;
        let read = reader
            .await
            .map_err(|e| AppError::internal(format!("import reader stopped: {e}")))?;
        // The reader's error explains a writer that saw its channel close.
        let read = read?;
        let written = written?;
        let digest = content_digest(&read.digest, &request);
        let summary = |list: LeadList, already_imported: bool| ImportSummary {
            list,
            already_imported,
            rows: read.rows,
            accepted_rows: written.accepted_rows,
            rejected_rows: read.rejected_rows + written.erased_rows,
            new_subjects: written.new_subjects,
            merged_rows: written.merged_rows,
            encoding: read.encoding,
            delimiter: read.delimiter,
        };
        if let Some(earlier) = self.store.lead_list_by_digest(controller, &digest).await? {
            drop(session);
            return Ok(summary(earlier, true));
        }
        let list = LeadList {
            id: list_id,
            controller_id: controller,
            name: request.name,
            provenance: request.provenance,
            default_region: Some(region),
            expires_at,
            imported_at: now,
            accepted_rows: written.accepted_rows,
            rejected_rows: read.rejected_rows + written.erased_rows,
            content_digest: digest,
            imported_by: grant.audit_actor(),
            purged_at: None,
        };
        match session.commit(&list, &list.imported_by.to_string()).await {
            Ok(()) => {}
            Err(StorageError::Conflict { .. }) => {
                // The same content committed meanwhile by another import.
                if let Some(earlier) = self.store.lead_list_by_digest(controller, &digest).await? {
                    return Ok(summary(earlier, true));
                }
                return Err(AppError::Conflict {
                    code: "conflict",
                    message: "another import of this list is being committed; retry",
                });
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %controller,
            list_id = %list_id,
            rows = read.rows,
            accepted = written.accepted_rows,
            rejected = read.rejected_rows + written.erased_rows,
            erased = written.erased_rows,
            new_subjects = written.new_subjects,
            merged = written.merged_rows,
            "lead list imported"
        );
        Ok(summary(list, false))
    }

    /// The grant's controller's lists, newest first.
    pub async fn lead_lists(
        &self,
        grant: &TenantGrant<ReadLists>,
    ) -> Result<Vec<LeadList>, AppError> {
        let lists = self.store.lead_lists(grant.controller()).await?;
        self.record(vec![list_event(
            grant,
            Action::ListRead,
            None,
            self.clock.now(),
        )?])
        .await?;
        Ok(lists)
    }

    /// One list, and a page of its rejection report after row `after_row`.
    pub async fn lead_list(
        &self,
        grant: &TenantGrant<ReadLists>,
        id: ListId,
        after_row: u64,
        limit: u32,
    ) -> Result<(LeadList, Vec<Rejection>), AppError> {
        let list = self
            .store
            .lead_list(grant.controller(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let rejections = self
            .store
            .list_rejections(grant.controller(), id, after_row, limit.clamp(1, 10_000))
            .await?;
        self.record(vec![list_event(
            grant,
            Action::ListRead,
            Some(id),
            self.clock.now(),
        )?])
        .await?;
        Ok((list, rejections))
    }

    /// A page of a list's members, for use (a dialer loading a campaign):
    /// refused with `list_expired` once the list's rental has expired or it
    /// was purged.
    pub async fn list_members(
        &self,
        grant: &TenantGrant<ReadLists>,
        id: ListId,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<SubjectId>, AppError> {
        let list = self
            .store
            .lead_list(grant.controller(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        if !list.usable_at(now) {
            self.record(vec![{
                let mut e = list_event(grant, Action::ListRead, Some(id), now)?;
                e.outcome = Outcome::denied("list_expired");
                e
            }])
            .await?;
            return Err(AppError::Conflict {
                code: "list_expired",
                message: "the list has expired (its rental ended or it was purged): it can no longer be used",
            });
        }
        let members = self
            .store
            .list_members(grant.controller(), id, after, limit.clamp(1, 10_000))
            .await?;
        let mut events = self
            .subject_events(grant, Action::ListRead, &members)
            .await?;
        events.push(list_event(grant, Action::ListRead, Some(id), now)?);
        self.record(events).await?;
        Ok(members)
    }

    /// Outstanding art. 14 notices of the grant's controller that are due
    /// now (a month after acquisition, or since a first contact), oldest first.
    pub async fn notices_overdue(
        &self,
        grant: &TenantGrant<ReadLists>,
        limit: u32,
    ) -> Result<Vec<NoticeDue>, AppError> {
        let now = self.clock.now();
        let due = self
            .store
            .notices_overdue(grant.controller(), now, limit.clamp(1, 10_000))
            .await?;
        let ids: Vec<SubjectId> = due.iter().map(|d| d.subject_id).collect();
        let mut events = self.subject_events(grant, Action::ListRead, &ids).await?;
        events.push(list_event(grant, Action::ListRead, None, now)?);
        self.record(events).await?;
        Ok(due)
    }

    /// Records an art. 14 event for a subject now: a first contact (the
    /// notice is due at once if not given yet) or the notice given.
    /// `NotFound` when the subject is on no list.
    pub async fn record_art14(
        &self,
        grant: &TenantGrant<RecordConsent>,
        subject: SubjectId,
        event: Art14Event,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let events = self
            .subject_events(grant, Action::NoticeRecord, &[subject])
            .await?;
        self.audited_on(events, async {
            if self
                .store
                .record_art14(grant.controller(), subject, event, now)
                .await?
            {
                Ok(())
            } else {
                Err(AppError::NotFound)
            }
        })
        .await
    }

    /// The retention job for lists: purges every controller's lists expired
    /// now (memberships, reports, and people no list or consent keeps), and
    /// records what it did per controller. Run by `tutela serve` hourly and
    /// by `tutela lists purge`.
    pub async fn purge_expired_lists(&self) -> Result<ListPurge, AppError> {
        let now = self.clock.now();
        let mut total = ListPurge::default();
        for controller in self.store.list_controllers().await? {
            let purge = self.store.purge_expired_lists(controller.id, now).await?;
            if purge.lists == 0 {
                continue;
            }
            let object = ObjectRef::new(ObjectKind::Controller, controller.id.to_string())
                .map_err(|e| AppError::internal(e.reason))?;
            self.record(vec![
                AuditEvent::new(now, Actor::Operator, Action::ListPurge, Outcome::Allowed)
                    .controller(controller.id)
                    .object(object),
            ])
            .await?;
            tracing::info!(
                controller_id = %controller.id,
                lists = purge.lists,
                members = purge.members,
                subjects = purge.subjects,
                "expired lead lists purged"
            );
            total.lists += purge.lists;
            total.members += purge.members;
            total.subjects += purge.subjects;
        }
        Ok(total)
    }
}

/// The identity of an import: the raw file's digest and the request that
/// gives it meaning (mapping, provenance, name, expiry, region), so the same
/// file mapped differently is another list.
fn content_digest(file: &[u8; 32], request: &ImportRequest) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"tutela list import v1\0");
    hash.update(file);
    hash.update(serde_json::to_vec(&request.mapping).unwrap_or_default());
    hash.update(serde_json::to_vec(&request.provenance).unwrap_or_default());
    hash.update(request.name.as_str().as_bytes());
    hash.update([0]);
    hash.update(request.expiry_days.unwrap_or(0).to_be_bytes());
    if let Some(region) = request.default_region {
        hash.update(region.as_str().as_bytes());
    }
    hash.finalize().into()
}

pub(crate) fn list_event<P: crate::grants::TenantPermission>(
    grant: &TenantGrant<P>,
    action: Action,
    list: Option<ListId>,
    now: tutela_domain::Timestamp,
) -> Result<AuditEvent, AppError> {
    let object = match list {
        Some(id) => ObjectRef::new(ObjectKind::LeadList, id.to_string())
            .map_err(|e| AppError::internal(e.reason))?,
        None => ObjectRef::kind_only(ObjectKind::LeadList),
    };
    Ok(grant.event(action, now).object(object))
}
