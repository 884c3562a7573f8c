//! Privacy notices and their spoken scripts: published per controller and
//! language, versioned, refused when incomplete.

use tutela_domain::audit::{Action, ObjectKind, ObjectRef};
use tutela_domain::{AccessDenied, AgreementViolation, Language, NoticeDraft, PublishedNotice};

use crate::grants::{PublishNotices, ReadConsent, TenantGrant};
use crate::{App, AppError};

impl App {
    /// Publishes the next version of the controller's notice in `language`.
    /// A draft lacking content arts. 13/14 require is refused with every
    /// missing item named; its purposes must be the agreement's.
    pub async fn publish_notice(
        &self,
        grant: &TenantGrant<PublishNotices>,
        language: Language,
        draft: NoticeDraft,
    ) -> Result<PublishedNotice, AppError> {
        let missing = draft.missing();
        if !missing.is_empty() {
            return Err(AppError::invalid(
                "notice",
                format!(
                    "lacks content required by GDPR arts. 13/14: {}",
                    missing.join(", ")
                ),
            ));
        }
        let terms = &grant.agreement().terms;
        for (i, p) in draft.purposes.iter().enumerate() {
            if terms.purpose(&p.purpose).is_none() {
                let denied = AccessDenied::from(AgreementViolation::PurposeNotAllowed {
                    purpose: p.purpose.to_string(),
                    reference: terms.fields().reference.as_str().to_owned(),
                });
                tracing::info!(purpose_index = i, "notice purpose outside the agreement");
                return Err(denied.into());
            }
        }
        let now = self.clock.now();
        let by = grant.audit_actor();
        let object = ObjectRef::new(ObjectKind::Notice, language.as_str())
            .map_err(|e| AppError::internal(e.reason))?;
        let event = grant.event(Action::NoticePublish, now).object(object);
        let version = self
            .audited(event, async {
                Ok(self
                    .store
                    .publish_notice(grant.controller(), language, &draft, now, &by.to_string())
                    .await?)
            })
            .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %grant.controller(),
            language = %language,
            version,
            "privacy notice published"
        );
        Ok(PublishedNotice {
            controller_id: grant.controller(),
            language,
            version,
            content: draft,
            published_at: now,
            published_by: by,
        })
    }

    /// A version of the controller's notice in `language` (the latest when
    /// `version` is `None`), with its spoken script.
    pub async fn privacy_notice(
        &self,
        grant: &TenantGrant<ReadConsent>,
        language: Language,
        version: Option<u32>,
    ) -> Result<PublishedNotice, AppError> {
        self.store
            .privacy_notice(grant.controller(), language, version)
            .await?
            .ok_or(AppError::NotFound)
    }
}
