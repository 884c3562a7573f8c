//! Data-subject requests: intake with deadlines, duplicate detection,
//! identity verification by a one-time code sent to a contact point on
//! file, passing the request on to the controller, extension, refusal and
//! answer with a letter in the person's language.
//!
//! The requester's identifiers are turned into blind indexes at once and
//! never stored. When they match several people, each gets a code at
//! their own contact point on file; whichever code comes back verifies
//! the requester as that person alone, so no person is revealed to
//! another.

mod bundle;
mod delivery;
mod intake;
mod letter;
mod moves;
mod smtp;
mod verify;

use jiff::tz::TimeZone;
use serde::Serialize;
use tutela_domain::audit::{Action, ObjectKind};
use tutela_domain::dsr::urgency as urgency_of;
use tutela_domain::{
    ControllerId, IntakeChannel, Language, RequestId, RequestKind, RequestState, SubjectId,
    Timestamp, Urgency,
};
use tutela_storage::{CivilDate, RequestDetails, StoredRequest};

pub use bundle::{
    AccessBundle, BundleAccess, BundleAttribute, BundleCall, BundleConsent, BundleContact,
    BundleList, BundleRecording,
};
pub use delivery::{CodeSender, FileCodeOutbox, FileForwarder, RequestDelivery, RequestForwarder};
pub use intake::{Identifier, IdentifierKind, NewRequest};
pub use moves::{
    Answer, CorrectedAttribute, CorrectedContact, CorrectedRecord, Extension, Refusal,
};
pub use smtp::SmtpCodeSender;

use crate::audit::object;
use crate::grants::{ManageRequests, TenantPermission};
use crate::{App, AppError, TenantGrant};

/// Days before a deadline a request counts as due soon.
pub const DUE_SOON_DAYS: i32 = 7;

/// A request as the people handling it see it: no identifiers (they are
/// never stored), the person only by id once verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestView {
    /// The request (its reference in letters).
    pub id: RequestId,
    /// What is asked.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: IntakeChannel,
    /// The person's language.
    pub language: Language,
    /// Where it stands.
    pub state: RequestState,
    /// When it was received.
    pub received_at: Timestamp,
    /// The zone the deadlines are counted in.
    pub zone: String,
    /// Due by the end of this day.
    pub due: CivilDate,
    /// The latest an extension may reach.
    pub latest_extension: CivilDate,
    /// The extended deadline, once extended.
    pub extended_until: Option<CivilDate>,
    /// `overdue`, `due_soon` or `on_time` (open requests only).
    pub urgency: Option<&'static str>,
    /// The verified person.
    pub subject_id: Option<SubjectId>,
    /// An earlier open request of the same kind sharing an identifier.
    pub duplicate_of: Option<RequestId>,
    /// Purpose and channel concerned, kinds of identifiers given.
    pub details: RequestDetails,
}

/// The zone a controller's deadlines are counted in: its country's main
/// zone from the calling rules, or UTC for a country without rules.
pub(crate) fn zone_named(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

impl App {
    /// The zone for `controller`'s deadlines and its IANA name.
    async fn deadline_zone(
        &self,
        controller: ControllerId,
    ) -> Result<(TimeZone, String), AppError> {
        let country = self.controller_country(controller).await?;
        Ok(match self.rules.get(country) {
            Some(rules) => {
                let zone = rules.jurisdiction.main_zone.clone();
                let name = zone.iana_name().unwrap_or("UTC").to_owned();
                (zone, name)
            }
            None => (TimeZone::UTC, "UTC".to_owned()),
        })
    }

    pub(crate) fn request_view(&self, r: StoredRequest) -> RequestView {
        let zone = zone_named(&r.zone);
        let urgency = (!r.state.is_closed()).then(|| {
            match urgency_of(r.deadline(), self.clock.now(), &zone, DUE_SOON_DAYS) {
                Urgency::Overdue => "overdue",
                Urgency::DueSoon => "due_soon",
                Urgency::OnTime => "on_time",
            }
        });
        RequestView {
            id: r.id,
            kind: r.kind,
            channel: r.channel,
            language: r.language,
            state: r.state,
            received_at: r.received_at,
            zone: r.zone,
            due: r.due,
            latest_extension: r.latest_extension,
            extended_until: r.extended_until,
            urgency,
            subject_id: r.subject,
            duplicate_of: r.duplicate_of,
            details: r.details,
        }
    }

    /// One request of the grant's controller, or not found.
    pub(crate) async fn stored_request<P: TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        id: RequestId,
    ) -> Result<StoredRequest, AppError> {
        self.store
            .request(grant.controller(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// One request, with its history and letters. Reading is audited.
    pub async fn data_subject_request(
        &self,
        grant: &TenantGrant<ManageRequests>,
        id: RequestId,
    ) -> Result<RequestView, AppError> {
        let event = grant
            .event(Action::RequestRead, self.clock.now())
            .object(object(ObjectKind::Request, id)?);
        let stored = self
            .audited(event, async { self.stored_request(grant, id).await })
            .await?;
        Ok(self.request_view(stored))
    }

    /// The open requests of the grant's controller, earliest deadline
    /// first: all of them, or only those due within [`DUE_SOON_DAYS`]
    /// days or overdue (`due_soon_only`).
    pub async fn open_data_subject_requests(
        &self,
        grant: &TenantGrant<ManageRequests>,
        due_soon_only: bool,
        limit: u32,
    ) -> Result<Vec<RequestView>, AppError> {
        let controller = grant.controller();
        let due_by = if due_soon_only {
            let (zone, _) = self.deadline_zone(controller).await?;
            let today = self.clock.now().to_zoned(zone).date();
            Some(
                today
                    .checked_add(jiff::Span::new().days(DUE_SOON_DAYS))
                    .map_err(|_| AppError::internal("date out of range"))?,
            )
        } else {
            None
        };
        let event = grant.event(Action::RequestRead, self.clock.now());
        let open = self
            .audited(event, async {
                Ok(self
                    .store
                    .open_requests(controller, due_by, limit.min(crate::MAX_PAGE))
                    .await?)
            })
            .await?;
        Ok(open.into_iter().map(|r| self.request_view(r)).collect())
    }
}
