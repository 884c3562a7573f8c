//! Data subjects of one controller: created with sealed sensitive fields and
//! blind indexes, read through the masking policy, found by contact point.

use tutela_domain::audit::{Action, AuditEvent, ObjectKind, ObjectRef, Outcome, Pseudonym};
use tutela_domain::{
    AccessDenied, Attribute, BLIND_INDEXED_ATTRIBUTES, Capability, ContactKind, ContactPoint,
    ControllerId, CountryCode, DataCategory, LookupKey, StoredAttribute, StoredContact,
    StoredValue, Subject, SubjectId, Timestamp, Visibility, mask, normalise_identifier, visibility,
};

use crate::audit::{new_subject_secret, pseudonym};
use crate::controller_keys::{ControllerKeys, NonceSequence};
use crate::grants::{EraseSubjects, ReadSubjects, TenantGrant, TenantPermission, WriteSubjects};
use crate::{App, AppError};

/// Largest page of subjects.
pub const MAX_PAGE: u32 = 500;

/// An attribute as one viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeView {
    /// Attribute name.
    pub name: String,
    /// Its category.
    pub category: DataCategory,
    /// The value in clear, or masked.
    pub value: String,
    /// True when `value` is masked.
    pub masked: bool,
}

/// A subject as one viewer may see it: hidden attributes are left out.
/// Contact points are attributes of the `contact` category named by kind
/// (`phone`, `email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectView {
    /// Identifier.
    pub id: SubjectId,
    /// When first recorded.
    pub created_at: Timestamp,
    /// Visible attributes.
    pub attributes: Vec<AttributeView>,
}

/// A subject to record, in clear.
#[derive(Debug, Clone, Default)]
pub struct NewSubject {
    /// Attributes, each with its category.
    pub attributes: Vec<Attribute>,
    /// Contact points as written; phone numbers are normalised to E.164.
    pub contacts: Vec<(ContactKind, String)>,
    /// Region for phone numbers without a country code; the controller's
    /// country when not given.
    pub default_region: Option<CountryCode>,
}

/// What to look a subject up by.
#[derive(Debug, Clone)]
pub enum SubjectSearch {
    /// A contact point as written.
    Contact(ContactKind, String),
    /// A national identifier as written.
    NationalId(String),
}

/// Turns clear attributes and contact points into the stored form: sensitive
/// values sealed for `id`, blind indexes computed. Attributes come out
/// sorted by name. Shared by single creation and list imports.
pub(crate) fn seal_subject_parts(
    keys: &ControllerKeys,
    nonces: &mut NonceSequence,
    scratch: &mut Vec<u8>,
    id: SubjectId,
    attributes: &[Attribute],
    contacts: &[ContactPoint],
) -> Result<(Vec<StoredAttribute>, Vec<StoredContact>), AppError> {
    let mut stored = attributes
        .iter()
        .map(|a| seal_attribute(keys, nonces, scratch, id, a))
        .collect::<Result<Vec<_>, AppError>>()?;
    stored.sort_by(|a, b| a.name.cmp(&b.name));
    let contacts = contacts
        .iter()
        .map(|point| StoredContact {
            blind: keys.blind(LookupKey::Contact(point), scratch),
            point: point.clone(),
        })
        .collect();
    Ok((stored, contacts))
}

/// One attribute in stored form.
pub(crate) fn seal_attribute(
    keys: &ControllerKeys,
    nonces: &mut NonceSequence,
    scratch: &mut Vec<u8>,
    id: SubjectId,
    a: &Attribute,
) -> Result<StoredAttribute, AppError> {
    let value = if a.category.is_sealed() {
        StoredValue::Sealed(keys.seal_field(nonces, id, &a.name, a.value.expose())?)
    } else {
        StoredValue::Clear(a.value.clone())
    };
    let blind = BLIND_INDEXED_ATTRIBUTES
        .contains(&a.name.as_str())
        .then(|| {
            let normal = normalise_identifier(a.value.expose());
            keys.blind(LookupKey::Identifier(a.name.as_str(), &normal), scratch)
        });
    Ok(StoredAttribute {
        name: a.name.clone(),
        category: a.category,
        value,
        blind,
    })
}

/// Checks a new subject against the agreement: names unique, every
/// category allowed (contact points are `contact` data), something given.
fn check_new_subject<P: TenantPermission>(
    grant: &TenantGrant<P>,
    new: &NewSubject,
) -> Result<(), AppError> {
    if new.attributes.is_empty() && new.contacts.is_empty() {
        return Err(AppError::invalid(
            "attributes",
            "must hold at least one attribute or contact point",
        ));
    }
    for (i, attribute) in new.attributes.iter().enumerate() {
        if new
            .attributes
            .iter()
            .take(i)
            .any(|a| a.name == attribute.name)
        {
            return Err(AppError::invalid(
                format!("attributes[{i}].name"),
                "is given twice",
            ));
        }
        grant
            .agreement()
            .allows_category(attribute.category)
            .map_err(AccessDenied::from)?;
    }
    if !new.contacts.is_empty() {
        grant
            .agreement()
            .allows_category(DataCategory::Contact)
            .map_err(AccessDenied::from)?;
    }
    Ok(())
}

impl App {
    /// Records a data subject of the grant's controller. Every category must
    /// be allowed by the agreement; payment and special-category values are
    /// sealed with the controller's field key; phone numbers, e-mail
    /// addresses and national identifiers get blind indexes.
    pub async fn create_subject(
        &self,
        grant: &TenantGrant<WriteSubjects>,
        new: NewSubject,
    ) -> Result<SubjectView, AppError> {
        check_new_subject(grant, &new)?;
        let region = match new.default_region {
            Some(region) => region,
            None => self.controller_country(grant.controller()).await?,
        };
        let mut contacts = Vec::with_capacity(new.contacts.len());
        for (i, (kind, value)) in new.contacts.iter().enumerate() {
            let point = ContactPoint::parse(*kind, value, Some(region))
                .map_err(|e| AppError::invalid(format!("contacts[{i}].value"), e.reason))?;
            if !contacts.contains(&point) {
                contacts.push(point);
            }
        }
        let keys = self.keys.controller_keys(grant.controller())?;
        let id = SubjectId::generate();
        let now = self.clock.now();
        let (attributes, contacts) = seal_subject_parts(
            &keys,
            &mut NonceSequence::new()?,
            &mut Vec::new(),
            id,
            &new.attributes,
            &contacts,
        )?;
        let subject = Subject {
            id,
            controller_id: grant.controller(),
            attributes,
            contacts,
            created_at: now,
            updated_at: now,
        };
        subject
            .check()
            .map_err(|e| AppError::invalid("contacts", e.reason))?;
        let secret = new_subject_secret()?;
        let event = subject_event(grant, Action::SubjectWrite, pseudonym(&secret, id), now);
        self.audited(event, async {
            Ok(self.store.create_subject(&subject, &secret).await?)
        })
        .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %id,
            purpose = %grant.purpose(),
            "data subject recorded"
        );
        view(grant, &keys, subject, false)
    }

    /// Replaces a subject's record with `corrected` (a rectification, art.
    /// 16): the same checks as a new subject, values sealed anew under the
    /// same id, blind indexes moved with the record. An identifier that
    /// belongs to another person is refused and nothing changes.
    pub(crate) async fn rectify_subject<P: TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        id: SubjectId,
        corrected: NewSubject,
    ) -> Result<(), AppError> {
        check_new_subject(grant, &corrected)?;
        let controller = grant.controller();
        let current = self
            .store
            .subject(controller, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let region = match corrected.default_region {
            Some(region) => region,
            None => self.controller_country(controller).await?,
        };
        let mut contacts = Vec::with_capacity(corrected.contacts.len());
        for (i, (kind, value)) in corrected.contacts.iter().enumerate() {
            let point = ContactPoint::parse(*kind, value, Some(region))
                .map_err(|e| AppError::invalid(format!("contacts[{i}].value"), e.reason))?;
            if !contacts.contains(&point) {
                contacts.push(point);
            }
        }
        let keys = self.keys.controller_keys(controller)?;
        let (attributes, contacts) = seal_subject_parts(
            &keys,
            &mut NonceSequence::new()?,
            &mut Vec::new(),
            id,
            &corrected.attributes,
            &contacts,
        )?;
        let subject = Subject {
            id,
            controller_id: controller,
            attributes,
            contacts,
            created_at: current.created_at,
            updated_at: self.clock.now(),
        };
        subject
            .check()
            .map_err(|e| AppError::invalid("contacts", e.reason))?;
        let events = self
            .subject_events(grant, Action::SubjectWrite, &[id])
            .await?;
        if events.is_empty() {
            return Err(AppError::NotFound);
        }
        self.audited_on(events, async {
            match self.store.replace_subject(&subject).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(AppError::NotFound),
                Err(tutela_storage::StorageError::Conflict { .. }) => Err(AppError::invalid(
                    "contacts",
                    "an identifier of the correction belongs to another person",
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The controller's country: the default region of its phone numbers.
    pub(crate) async fn controller_country(
        &self,
        controller: ControllerId,
    ) -> Result<CountryCode, AppError> {
        Ok(self
            .store
            .controller(controller)
            .await?
            .ok_or(AppError::NotFound)?
            .country)
    }

    /// One subject of the grant's controller, masked for the viewer. With
    /// `reveal`, payment and special-category fields are shown in clear:
    /// only to a role or token granting `subjects.reveal`, and only for a
    /// purpose the agreement processes that category for. A refused reveal
    /// fails the whole read; allowed or refused, it is audited.
    pub async fn subject(
        &self,
        grant: &TenantGrant<ReadSubjects>,
        id: SubjectId,
        reveal: bool,
    ) -> Result<SubjectView, AppError> {
        let subject = self
            .store
            .subject(grant.controller(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut events = self
            .subject_events(grant, Action::SubjectRead, &[id])
            .await?;
        if reveal {
            let reveal_events = self
                .subject_events(grant, Action::SubjectReveal, &[id])
                .await?;
            if let Err(denied) = check_reveal(grant, &subject) {
                let code = denied.code();
                let denied_events = reveal_events
                    .into_iter()
                    .map(|mut e| {
                        e.outcome = Outcome::denied(code);
                        e
                    })
                    .collect();
                self.record(denied_events).await?;
                return Err(denied.into());
            }
            events.extend(reveal_events);
        }
        self.record(events).await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %id,
            purpose = %grant.purpose(),
            reveal,
            "data subject read"
        );
        let keys = self.keys.controller_keys(grant.controller())?;
        view(grant, &keys, subject, reveal)
    }

    /// A page of the grant's controller's subjects, masked for the viewer.
    pub async fn subjects(
        &self,
        grant: &TenantGrant<ReadSubjects>,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<SubjectView>, AppError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid("limit", "must be between 1 and 500"));
        }
        let page = self
            .store
            .subjects(grant.controller(), after, limit)
            .await?;
        let ids: Vec<SubjectId> = page.iter().map(|s| s.id).collect();
        let events = self
            .subject_events(grant, Action::SubjectRead, &ids)
            .await?;
        self.record(events).await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            purpose = %grant.purpose(),
            count = page.len(),
            "data subjects listed"
        );
        let keys = self.keys.controller_keys(grant.controller())?;
        page.into_iter()
            .map(|s| view(grant, &keys, s, false))
            .collect()
    }

    /// The subjects of the grant's controller holding a contact point or
    /// national identifier, found by blind index, masked for the viewer.
    pub async fn find_subjects(
        &self,
        grant: &TenantGrant<ReadSubjects>,
        search: SubjectSearch,
        default_region: Option<CountryCode>,
    ) -> Result<Vec<SubjectView>, AppError> {
        let keys = self.keys.controller_keys(grant.controller())?;
        let blind = match search {
            SubjectSearch::Contact(kind, value) => {
                let region = match default_region {
                    Some(region) => region,
                    None => self.controller_country(grant.controller()).await?,
                };
                let point = ContactPoint::parse(kind, &value, Some(region))
                    .map_err(|e| AppError::invalid(kind.as_str(), e.reason))?;
                keys.blind(LookupKey::Contact(&point), &mut Vec::new())
            }
            SubjectSearch::NationalId(value) => {
                let normal = normalise_identifier(&value);
                keys.blind(
                    LookupKey::Identifier("national_id", &normal),
                    &mut Vec::new(),
                )
            }
        };
        let ids = self.store.find_subjects(grant.controller(), blind).await?;
        let mut found = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(subject) = self.store.subject(grant.controller(), *id).await? {
                found.push(subject);
            }
        }
        let mut events = self
            .subject_events(grant, Action::SubjectFind, &ids)
            .await?;
        if events.is_empty() {
            // A search that found nobody is recorded too, without a subject.
            events.push(
                grant
                    .event(Action::SubjectFind, self.clock.now())
                    .object(ObjectRef::kind_only(ObjectKind::Subject)),
            );
        }
        self.record(events).await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            purpose = %grant.purpose(),
            count = found.len(),
            "data subjects looked up by blind index"
        );
        found
            .into_iter()
            .map(|s| view(grant, &keys, s, false))
            .collect()
    }
}

impl App {
    /// Erases a data subject: record, blind indexes, list memberships,
    /// consent events, and the secret of their audit pseudonym, so earlier
    /// audit events can no longer be tied to them while every chain still
    /// verifies. Recorded (under the pseudonym) before the secret is
    /// destroyed.
    pub async fn erase_subject(
        &self,
        grant: &TenantGrant<EraseSubjects>,
        id: SubjectId,
    ) -> Result<(), AppError> {
        self.erase_subject_under(grant, id).await
    }

    /// [`App::erase_subject`] under any grant that may erase: an erasure
    /// request's answer erases too.
    pub(crate) async fn erase_subject_under<P: TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        id: SubjectId,
    ) -> Result<(), AppError> {
        let events = self
            .subject_events(grant, Action::SubjectErase, &[id])
            .await?;
        if events.is_empty() {
            return Err(AppError::NotFound);
        }
        self.record(events).await?;
        // Journalled first: a restored backup loses the person again.
        self.journal_erasure(grant.controller(), id).await?;
        if !self
            .store
            .erase_subject(grant.controller(), id, self.clock.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %id,
            "data subject erased"
        );
        Ok(())
    }

    /// One event per subject, each naming the subject by pseudonym. Subjects
    /// without a secret (erased meanwhile) get none.
    pub(crate) async fn subject_events<P: TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        action: Action,
        ids: &[SubjectId],
    ) -> Result<Vec<AuditEvent>, AppError> {
        let now = self.clock.now();
        let secrets = self
            .store
            .subject_audit_secrets(grant.controller(), ids)
            .await?;
        Ok(secrets
            .iter()
            .map(|(id, secret)| subject_event(grant, action, pseudonym(secret, *id), now))
            .collect())
    }
}

/// The reveal rule: the capability, and for each sensitive category the
/// subject holds, the agreement processing it for the declared purpose.
fn check_reveal<P: TenantPermission>(
    grant: &TenantGrant<P>,
    subject: &Subject,
) -> Result<(), AccessDenied> {
    if !grant.may(Capability::RevealSensitive) {
        return Err(AccessDenied::MissingCapability(Capability::RevealSensitive));
    }
    for a in subject.attributes.iter().filter(|a| a.category.is_sealed()) {
        grant
            .agreement()
            .allows_category_for(a.category, grant.purpose())?;
    }
    Ok(())
}

fn subject_event<P: TenantPermission>(
    grant: &TenantGrant<P>,
    action: Action,
    subject: Pseudonym,
    now: Timestamp,
) -> AuditEvent {
    grant
        .event(action, now)
        .object(ObjectRef::kind_only(ObjectKind::Subject))
        .subject(subject)
}

/// The subject as the grant's viewer may see it. Sealed values are opened
/// only when shown, in clear or masked (the mask keeps the last characters).
fn view<P: TenantPermission>(
    grant: &TenantGrant<P>,
    keys: &ControllerKeys,
    subject: Subject,
    reveal: bool,
) -> Result<SubjectView, AppError> {
    let viewer = grant.viewer();
    let id = subject.id;
    let mut attributes = Vec::new();
    let contact_attributes = subject.contacts.iter().map(|c| {
        (
            c.point.kind().as_str().to_owned(),
            DataCategory::Contact,
            Ok(c.point.value().to_owned()),
        )
    });
    let own = subject.attributes.iter().map(|a| {
        let value = match &a.value {
            StoredValue::Clear(v) => Ok(v.expose().to_owned()),
            StoredValue::Sealed(bytes) => keys.open_field(id, &a.name, bytes),
        };
        (a.name.as_str().to_owned(), a.category, value)
    });
    for (name, category, value) in own.chain(contact_attributes) {
        let covered = grant.agreement().allows_category(category).is_ok();
        let shown = match visibility(viewer, category, reveal && covered) {
            Visibility::Clear => Some((value?, false)),
            Visibility::Masked => Some((mask(&value?), true)),
            Visibility::Hidden => None,
        };
        if let Some((value, masked)) = shown {
            attributes.push(AttributeView {
                name,
                category,
                value,
                masked,
            });
        }
    }
    Ok(SubjectView {
        id,
        created_at: subject.created_at,
        attributes,
    })
}
