//! What the API returns: views of domain values, with instants as RFC 3339
//! strings in UTC and secrets only where they are handed over once.

use serde::Serialize;
use tutela_app::{AttributeView, SubjectView};
use tutela_domain::{
    Agreement, AgreementDraft, Attestation, Controller, DataCategory, MachineClient, Role, User,
};
use utoipa::ToSchema;

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    /// Stable identifier.
    id: uuid::Uuid,
    /// Sign-in name.
    username: String,
    /// Role name.
    #[schema(value_type = String, example = "agent")]
    role: Role,
    /// Controllers the user works for.
    controllers: Vec<uuid::Uuid>,
    /// True once a TOTP authenticator is enrolled.
    mfa_enrolled: bool,
    /// Creation instant.
    created_at: String,
    /// When disabled, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_at: Option<String>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username.as_str().to_owned(),
            role: user.role,
            controllers: user.controllers.iter().map(|c| c.0).collect(),
            mfa_enrolled: user.mfa_enrolled,
            created_at: user.created_at.to_string(),
            disabled_at: user.disabled_at.map(|t| t.to_string()),
        }
    }
}

/// A controller, with its agreement in force when it has one.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ControllerView {
    /// Identifier.
    id: uuid::Uuid,
    /// Company name.
    name: String,
    /// ISO 3166-1 alpha-2 country.
    country: String,
    /// DPO contact.
    dpo_contact: String,
    /// Representative in the Union.
    #[serde(skip_serializing_if = "Option::is_none")]
    representative: Option<String>,
    /// Registration instant.
    created_at: String,
    /// The latest agreement version.
    #[serde(skip_serializing_if = "Option::is_none")]
    agreement: Option<AgreementView>,
}

impl ControllerView {
    pub(crate) fn new(controller: Controller, agreement: Option<Agreement>) -> Self {
        Self {
            id: controller.id.0,
            name: controller.name.as_str().to_owned(),
            country: controller.country.as_str().to_owned(),
            dpo_contact: controller.dpo_contact.as_str().to_owned(),
            representative: controller.representative.map(|r| r.as_str().to_owned()),
            created_at: controller.created_at.to_string(),
            agreement: agreement.map(AgreementView::from),
        }
    }
}

/// One version of a processing agreement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgreementView {
    /// 1 for the first, then increasing.
    version: u32,
    /// When recorded.
    recorded_at: String,
    /// Who recorded it.
    recorded_by: uuid::Uuid,
    /// The terms as submitted.
    #[schema(value_type = Object)]
    terms: AgreementDraft,
}

impl From<Agreement> for AgreementView {
    fn from(a: Agreement) -> Self {
        Self {
            version: a.version,
            recorded_at: a.recorded_at.to_string(),
            recorded_by: a.recorded_by.0,
            terms: a.terms.into(),
        }
    }
}

/// An attestation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttestationView {
    /// Identifier.
    id: uuid::Uuid,
    /// `confidentiality` or `privacy_training`.
    kind: &'static str,
    /// Version of the undertaking or course.
    version: String,
    /// The assessment passed (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    assessment: Option<String>,
    /// When signed or passed.
    attested_at: String,
    /// When it stops counting.
    expires_at: String,
    /// Who recorded it.
    recorded_by: uuid::Uuid,
}

impl From<Attestation> for AttestationView {
    fn from(a: Attestation) -> Self {
        Self {
            id: a.id.0,
            kind: a.kind.as_str(),
            version: a.version.as_str().to_owned(),
            assessment: a.assessment.map(|x| x.as_str().to_owned()),
            attested_at: a.attested_at.to_string(),
            expires_at: a.expires_at.to_string(),
            recorded_by: a.recorded_by.0,
        }
    }
}

/// A machine client (its token is never shown again after issue).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientView {
    /// Identifier.
    id: uuid::Uuid,
    /// Controller it works for.
    controller_id: uuid::Uuid,
    /// Name.
    name: String,
    /// `dialer`, `pbx` or `crm`.
    kind: &'static str,
    /// Capabilities.
    capabilities: Vec<&'static str>,
    /// Registration instant.
    created_at: String,
    /// When revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

impl From<MachineClient> for ClientView {
    fn from(c: MachineClient) -> Self {
        Self {
            id: c.id.0,
            controller_id: c.controller_id.0,
            name: c.name.as_str().to_owned(),
            kind: c.kind.as_str(),
            capabilities: c.capabilities.iter().map(|c| c.as_str()).collect(),
            created_at: c.created_at.to_string(),
            revoked_at: c.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// A data subject as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubjectBody {
    /// Identifier.
    id: uuid::Uuid,
    /// When first recorded.
    created_at: String,
    /// The attributes the caller may see; masked ones say so.
    attributes: Vec<AttributeBody>,
}

/// One attribute as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttributeBody {
    /// Name.
    name: String,
    /// Data category.
    #[schema(value_type = String, example = "contact")]
    category: DataCategory,
    /// Value, clear or masked.
    value: String,
    /// True when masked.
    masked: bool,
}

impl From<SubjectView> for SubjectBody {
    fn from(s: SubjectView) -> Self {
        Self {
            id: s.id.0,
            created_at: s.created_at.to_string(),
            attributes: s
                .attributes
                .into_iter()
                .map(|a: AttributeView| AttributeBody {
                    name: a.name,
                    category: a.category,
                    value: a.value,
                    masked: a.masked,
                })
                .collect(),
        }
    }
}
