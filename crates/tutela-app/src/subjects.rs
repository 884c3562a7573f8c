//! Data subjects of one controller, read through the masking policy.

use tutela_domain::{
    Attribute, DataCategory, Subject, SubjectId, Timestamp, Visibility, mask, visibility,
};

use tutela_domain::audit::{Action, AuditEvent, ObjectKind, ObjectRef, Pseudonym};

use crate::audit::{new_subject_secret, pseudonym};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectView {
    /// Identifier.
    pub id: SubjectId,
    /// When first recorded.
    pub created_at: Timestamp,
    /// Visible attributes.
    pub attributes: Vec<AttributeView>,
}

impl App {
    /// Records a data subject of the grant's controller. Every attribute's
    /// category must be allowed by the agreement. Payment and special-category
    /// attributes are refused until field-level encryption stores them.
    pub async fn create_subject(
        &self,
        grant: &TenantGrant<WriteSubjects>,
        attributes: Vec<Attribute>,
    ) -> Result<SubjectView, AppError> {
        if attributes.is_empty() {
            return Err(AppError::invalid(
                "attributes",
                "must hold at least one attribute",
            ));
        }
        for (i, attribute) in attributes.iter().enumerate() {
            if attributes.iter().take(i).any(|a| a.name == attribute.name) {
                return Err(AppError::invalid(
                    format!("attributes[{i}].name"),
                    "is given twice",
                ));
            }
            grant
                .agreement()
                .allows_category(attribute.category)
                .map_err(tutela_domain::AccessDenied::from)?;
            if matches!(
                attribute.category,
                DataCategory::Payment | DataCategory::Special
            ) {
                return Err(AppError::invalid(
                    format!("attributes[{i}].category"),
                    "payment and special-category data are stored only with field-level encryption, which this version does not provide yet",
                ));
            }
        }
        let mut attributes = attributes;
        attributes.sort_by(|a, b| a.name.cmp(&b.name));
        let subject = Subject {
            id: SubjectId::generate(),
            controller_id: grant.controller(),
            attributes,
            created_at: self.clock.now(),
        };
        let secret = new_subject_secret()?;
        let event = subject_event(
            grant,
            Action::SubjectWrite,
            pseudonym(&secret, subject.id),
            self.clock.now(),
        );
        self.audited(event, async {
            Ok(self.store.create_subject(&subject, &secret).await?)
        })
        .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %subject.id,
            purpose = %grant.purpose(),
            "data subject recorded"
        );
        Ok(view(grant, subject, false))
    }

    /// One subject of the grant's controller, masked for the viewer. With
    /// `reveal`, payment and special-category fields the viewer's role may
    /// see masked are shown in clear, if the agreement covers the category.
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
        let events = self
            .subject_events(grant, Action::SubjectRead, &[id])
            .await?;
        self.record(events).await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            subject_id = %id,
            purpose = %grant.purpose(),
            reveal,
            "data subject read"
        );
        Ok(view(grant, subject, reveal))
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
        Ok(page.into_iter().map(|s| view(grant, s, false)).collect())
    }
}

impl App {
    /// Erases a data subject: attributes, and the secret of their audit
    /// pseudonym, so earlier audit events can no longer be tied to them
    /// while every chain still verifies. Recorded (under the pseudonym)
    /// before the secret is destroyed.
    pub async fn erase_subject(
        &self,
        grant: &TenantGrant<EraseSubjects>,
        id: SubjectId,
    ) -> Result<(), AppError> {
        let events = self
            .subject_events(grant, Action::SubjectErase, &[id])
            .await?;
        if events.is_empty() {
            return Err(AppError::NotFound);
        }
        self.record(events).await?;
        if !self.store.erase_subject(grant.controller(), id).await? {
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
    async fn subject_events<P: TenantPermission>(
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

fn view<P: TenantPermission>(
    grant: &TenantGrant<P>,
    subject: Subject,
    reveal: bool,
) -> SubjectView {
    let viewer = grant.viewer();
    let attributes = subject
        .attributes
        .into_iter()
        .filter_map(|a| {
            let covered = grant.agreement().allows_category(a.category).is_ok();
            match visibility(viewer, a.category, reveal && covered) {
                Visibility::Clear => Some(AttributeView {
                    name: a.name.as_str().to_owned(),
                    category: a.category,
                    value: a.value.expose().to_owned(),
                    masked: false,
                }),
                Visibility::Masked => Some(AttributeView {
                    name: a.name.as_str().to_owned(),
                    category: a.category,
                    value: mask(a.value.expose()),
                    masked: true,
                }),
                Visibility::Hidden => None,
            }
        })
        .collect();
    SubjectView {
        id: subject.id,
        created_at: subject.created_at,
        attributes,
    }
}
