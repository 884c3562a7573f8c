//! Taking a request in: identifiers parsed and turned into blind indexes,
//! deadlines counted from receipt in the controller's zone, an earlier
//! open request of the same kind sharing an identifier linked as the
//! original, and codes sent at once to every matching person's contact
//! points on file. The answer is the same whatever matched.

use serde::Deserialize;
use tutela_domain::audit::{Action, ObjectKind};
use tutela_domain::dsr::deadlines;
use tutela_domain::{
    BlindIndex, Channel, ContactKind, ContactPoint, IntakeChannel, Language, LookupKey, Purpose,
    RequestId, RequestKind, RequestState, Subject, normalise_identifier,
};
use tutela_storage::{RequestDetails, RequestStep, StoredRequest};

use super::RequestView;
use crate::audit::object;
use crate::grants::TakeRequests;
use crate::{App, AppError, TenantGrant};

/// The kinds of identifier a requester can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// A phone number (read in the controller's country when it has no
    /// country code).
    Phone,
    /// An e-mail address.
    Email,
    /// A national identifier (tax code, DNI, isikukood).
    NationalId,
    /// The controller's customer number.
    CustomerNumber,
}

impl IdentifierKind {
    /// The stable name, also the blind index's tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::NationalId => "national_id",
            Self::CustomerNumber => "customer_number",
        }
    }
}

/// One identifier the requester gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// What it is.
    pub kind: IdentifierKind,
    /// As written by the requester.
    pub value: String,
}

/// A request as taken in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// What is asked.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: IntakeChannel,
    /// The person's language (letters are written in it).
    pub language: Language,
    /// One or more identifiers.
    pub identifiers: Vec<Identifier>,
    /// For objection and withdrawal: the purpose concerned (all when
    /// absent).
    #[serde(default)]
    pub purpose: Option<Purpose>,
    /// For objection and withdrawal: the channel concerned (all when
    /// absent).
    #[serde(default)]
    pub contact_channel: Option<Channel>,
}

/// At most this many identifiers per request.
const MAX_IDENTIFIERS: usize = 8;

impl App {
    /// Takes a request in. Its deadlines run from now in the controller's
    /// zone. Each identifier is parsed (a bad one is refused naming it) and
    /// kept only as a blind index. Every person the identifiers match gets
    /// a one-time code at their own contact points on file; the request
    /// then awaits the code, whatever matched, so the answer reveals
    /// nothing.
    pub async fn take_request(
        &self,
        grant: &TenantGrant<TakeRequests>,
        new: NewRequest,
    ) -> Result<RequestView, AppError> {
        let controller = grant.controller();
        if new.identifiers.is_empty() {
            return Err(AppError::invalid("identifiers", "at least one is needed"));
        }
        if new.identifiers.len() > MAX_IDENTIFIERS {
            return Err(AppError::invalid(
                "identifiers",
                format!("at most {MAX_IDENTIFIERS} are taken"),
            ));
        }
        let region = self.controller_country(controller).await?;
        let keys = self.keys.controller_keys(controller)?;
        let mut blinds: Vec<BlindIndex> = Vec::with_capacity(new.identifiers.len());
        let mut scratch = Vec::new();
        for (i, identifier) in new.identifiers.iter().enumerate() {
            let field = || format!("identifiers[{i}].value");
            let blind = match identifier.kind {
                IdentifierKind::Phone | IdentifierKind::Email => {
                    let kind = if identifier.kind == IdentifierKind::Phone {
                        ContactKind::Phone
                    } else {
                        ContactKind::Email
                    };
                    let point = ContactPoint::parse(kind, &identifier.value, Some(region))
                        .map_err(|e| AppError::invalid(field(), e.reason))?;
                    keys.blind(LookupKey::Contact(&point), &mut scratch)
                }
                IdentifierKind::NationalId | IdentifierKind::CustomerNumber => {
                    let normal = normalise_identifier(&identifier.value);
                    if normal.is_empty() || normal.len() > 64 {
                        return Err(AppError::invalid(field(), "must be 1 to 64 characters"));
                    }
                    keys.blind(
                        LookupKey::Identifier(identifier.kind.as_str(), &normal),
                        &mut scratch,
                    )
                }
            };
            if !blinds.contains(&blind) {
                blinds.push(blind);
            }
        }
        // The people the identifiers match, found once: each gets a code,
        // and every identifier on file of theirs joins the given ones, so
        // the same person asking again under another identifier is a
        // duplicate too.
        let mut people: Vec<Subject> = Vec::new();
        for blind in blinds.clone() {
            for id in self.store.find_subjects(controller, blind).await? {
                if people.iter().any(|p| p.id == id) {
                    continue;
                }
                if let Some(subject) = self.store.subject(controller, id).await? {
                    people.push(subject);
                }
            }
        }
        for known in people.iter().flat_map(|p| p.blinds()) {
            if !blinds.contains(&known) {
                blinds.push(known);
            }
        }
        let now = self.clock.now();
        let (zone, zone_name) = self.deadline_zone(controller).await?;
        let dates = deadlines(now, &zone);
        let duplicate_of = self
            .store
            .open_requests_sharing(controller, new.kind, &blinds)
            .await?
            .first()
            .copied();
        let mut kinds: Vec<String> = new
            .identifiers
            .iter()
            .map(|i| i.kind.as_str().to_owned())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let request = StoredRequest {
            id: RequestId::generate(),
            controller,
            kind: new.kind,
            channel: new.channel,
            language: new.language,
            state: RequestState::Received,
            received_at: now,
            zone: zone_name,
            due: dates.due,
            latest_extension: dates.latest_extension,
            extended_until: None,
            subject: None,
            duplicate_of,
            details: RequestDetails {
                purpose: new.purpose,
                channel: new.contact_channel,
                identifier_kinds: kinds,
            },
            version: 1,
        };
        let first = RequestStep {
            state: RequestState::Received,
            at: now,
            actor: grant.actor(),
            detail: serde_json::json!({ "duplicate_of": duplicate_of }).to_string(),
        };
        let event = grant
            .event(Action::RequestReceive, now)
            .object(object(ObjectKind::Request, request.id)?);
        self.audited(event, async {
            Ok(self.store.insert_request(&request, &blinds, &first).await?)
        })
        .await?;
        tracing::info!(
            controller_id = %controller,
            request_id = %request.id,
            kind = %request.kind,
            duplicate = duplicate_of.is_some(),
            "data-subject request received"
        );
        let request = self.send_codes(grant, request, &people).await?;
        Ok(self.request_view(request))
    }
}
