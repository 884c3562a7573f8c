//! Who may do what: capabilities, the principals that hold them, and the pure
//! access decisions. The application layer turns a successful decision into a
//! grant value that operations require, so an operation cannot be reached
//! without one.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::{Agreement, AgreementViolation, Purpose};
use crate::attestation::{Attestation, AttestationProblem, check_attestations};
use crate::error::InvalidValue;
use crate::ids::{ClientId, ControllerId, SessionId};
use crate::user::{Role, UserId};

/// Something a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Capability {
    /// Register controllers and record their agreements (platform).
    ManageControllers,
    /// Create users, change roles and scopes, disable accounts (platform).
    ManageUsers,
    /// Register machine clients and issue their tokens (platform).
    ManageClients,
    /// Read a controller's data subjects (tenant).
    ReadSubjects,
    /// Create and change a controller's data subjects (tenant).
    WriteSubjects,
    /// Ask the call-gating decision before dialling (tenant).
    CallGating,
    /// Upload call recordings (tenant).
    UploadRecordings,
    /// Listen to a controller's recordings for a declared purpose, within
    /// the quota (tenant).
    ListenRecordings,
    /// Set recording policies and legal holds, and run the purge (tenant).
    ManageRecordings,
    /// Erase a controller's data subjects (tenant).
    EraseSubjects,
    /// Read the audit trail of a controller in scope, and the platform's.
    ReadAudit,
    /// See payment and special-category fields in clear, for a purpose whose
    /// agreement terms cover the category (tenant).
    RevealSensitive,
    /// Import lead lists (tenant).
    ImportLists,
    /// Read lead lists, their provenance and rejection reports (tenant).
    ReadLists,
    /// Record consents, withdrawals, objections and notices given (tenant).
    RecordConsent,
    /// Read the consent ledger (tenant).
    ReadConsent,
    /// Publish privacy notices and scripts (tenant).
    PublishNotices,
    /// Take in data-subject requests and the requester's one-time code
    /// (tenant).
    TakeRequests,
    /// Verify, forward, extend, answer and refuse data-subject requests,
    /// and see their queue (tenant).
    ManageRequests,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 19] = [
        Capability::ManageControllers,
        Capability::ManageUsers,
        Capability::ManageClients,
        Capability::ReadSubjects,
        Capability::WriteSubjects,
        Capability::CallGating,
        Capability::UploadRecordings,
        Capability::ListenRecordings,
        Capability::ManageRecordings,
        Capability::EraseSubjects,
        Capability::ReadAudit,
        Capability::RevealSensitive,
        Capability::ImportLists,
        Capability::ReadLists,
        Capability::RecordConsent,
        Capability::ReadConsent,
        Capability::PublishNotices,
        Capability::TakeRequests,
        Capability::ManageRequests,
    ];

    /// The stable name used in storage, tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ManageControllers => "controllers.manage",
            Self::ManageUsers => "users.manage",
            Self::ManageClients => "clients.manage",
            Self::ReadSubjects => "subjects.read",
            Self::WriteSubjects => "subjects.write",
            Self::CallGating => "calls.gate",
            Self::UploadRecordings => "recordings.upload",
            Self::ListenRecordings => "recordings.listen",
            Self::ManageRecordings => "recordings.manage",
            Self::EraseSubjects => "subjects.erase",
            Self::ReadAudit => "audit.read",
            Self::RevealSensitive => "subjects.reveal",
            Self::ImportLists => "lists.import",
            Self::ReadLists => "lists.read",
            Self::RecordConsent => "consent.write",
            Self::ReadConsent => "consent.read",
            Self::PublishNotices => "notices.publish",
            Self::TakeRequests => "requests.intake",
            Self::ManageRequests => "requests.manage",
        }
    }

    /// True for capabilities over one controller's personal data; false for
    /// platform administration, which never reaches personal data.
    pub fn is_tenant(self) -> bool {
        !matches!(
            self,
            Self::ManageControllers | Self::ManageUsers | Self::ManageClients
        )
    }
}

impl FromStr for Capability {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or(InvalidValue::new(
                "must be one of controllers.manage, users.manage, clients.manage, subjects.read, subjects.write, calls.gate, recordings.upload, recordings.listen, recordings.manage, subjects.erase, audit.read, subjects.reveal, lists.import, lists.read, consent.write, consent.read, notices.publish, requests.intake, requests.manage",
            ))
    }
}

impl TryFrom<String> for Capability {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Capability> for String {
    fn from(c: Capability) -> Self {
        c.as_str().to_owned()
    }
}

/// What each role is granted: least privilege, as data. Administrators hold
/// platform capabilities only and never a tenant one.
pub const ROLE_CAPABILITIES: [(Role, &[Capability]); 6] = [
    (
        Role::Administrator,
        &[
            Capability::ManageControllers,
            Capability::ManageUsers,
            Capability::ManageClients,
        ],
    ),
    (
        Role::Dpo,
        &[
            Capability::ReadSubjects,
            Capability::EraseSubjects,
            Capability::ReadAudit,
            Capability::RevealSensitive,
            Capability::ReadLists,
            Capability::ReadConsent,
            Capability::PublishNotices,
            Capability::ManageRecordings,
            Capability::TakeRequests,
            Capability::ManageRequests,
        ],
    ),
    (
        Role::Supervisor,
        &[
            Capability::ReadSubjects,
            Capability::WriteSubjects,
            Capability::RevealSensitive,
            Capability::ImportLists,
            Capability::ReadLists,
            Capability::RecordConsent,
            Capability::ReadConsent,
            Capability::ListenRecordings,
            Capability::ManageRecordings,
            Capability::TakeRequests,
            Capability::ManageRequests,
        ],
    ),
    (Role::QualityReviewer, &[Capability::ListenRecordings]),
    (
        Role::Agent,
        &[
            Capability::ReadSubjects,
            Capability::WriteSubjects,
            Capability::RecordConsent,
            Capability::ReadConsent,
            Capability::TakeRequests,
        ],
    ),
    (Role::Auditor, &[Capability::ReadAudit]),
];

/// Roles that must sign in with a TOTP second factor.
pub const MFA_REQUIRED_ROLES: [Role; 3] = [Role::Administrator, Role::Dpo, Role::Supervisor];

impl Role {
    /// The capabilities this role grants (from [`ROLE_CAPABILITIES`]).
    pub fn capabilities(self) -> &'static [Capability] {
        ROLE_CAPABILITIES
            .iter()
            .find(|(role, _)| *role == self)
            .map_or(&[], |(_, caps)| caps)
    }

    /// True when this role must use MFA (from [`MFA_REQUIRED_ROLES`]).
    pub fn requires_mfa(self) -> bool {
        MFA_REQUIRED_ROLES.contains(&self)
    }
}

/// The kind of a machine client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A predictive or progressive dialer.
    Dialer,
    /// A telephone exchange.
    Pbx,
    /// A customer relationship management system.
    Crm,
}

impl ClientKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dialer => "dialer",
            Self::Pbx => "pbx",
            Self::Crm => "crm",
        }
    }
}

impl FromStr for ClientKind {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        [Self::Dialer, Self::Pbx, Self::Crm]
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or(InvalidValue::new("must be dialer, pbx or crm"))
    }
}

/// A signed-in user, as resolved from a session on this request: role and
/// scopes are read fresh each time, so a change applies to the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrincipal {
    /// Who.
    pub id: UserId,
    /// Current role.
    pub role: Role,
    /// Controllers the user works for.
    pub controllers: Vec<ControllerId>,
    /// The session used.
    pub session: SessionId,
    /// True while a user whose role requires MFA has not enrolled yet: the
    /// session may only enrol, and nothing else.
    pub mfa_pending: bool,
}

/// A machine client, as resolved from its API token on this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrincipal {
    /// Which client.
    pub id: ClientId,
    /// The one controller it works for.
    pub controller: ControllerId,
    /// What it may do.
    pub capabilities: Vec<Capability>,
}

/// Whoever is calling, authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person.
    User(UserPrincipal),
    /// A machine.
    Client(ClientPrincipal),
}

impl Principal {
    /// A pseudonymous actor reference for logs: `user:<uuid>` or `client:<uuid>`.
    pub fn actor(&self) -> String {
        match self {
            Self::User(u) => format!("user:{}", u.id),
            Self::Client(c) => format!("client:{}", c.id),
        }
    }
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// The object is outside the caller's scope. Reported exactly like an
    /// object that does not exist, so nothing can be inferred from it.
    #[error("no such resource")]
    NotFound,
    /// The caller's role or token does not grant the capability.
    #[error("this operation needs the `{}` capability, which your role or token does not grant", .0.as_str())]
    MissingCapability(Capability),
    /// Platform administrators manage the service but never read tenant data.
    #[error("platform administrators cannot access a controller's personal data")]
    PersonalDataForbidden,
    /// The user's role requires MFA and the user has not enrolled yet.
    #[error(
        "multi-factor authentication is required for your role: enrol a TOTP authenticator first"
    )]
    MfaEnrollmentRequired,
    /// A required attestation is missing or expired.
    #[error(transparent)]
    Attestation(#[from] AttestationProblem),
    /// The controller's agreement does not cover the operation.
    #[error(transparent)]
    Agreement(#[from] AgreementViolation),
}

impl AccessDenied {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MissingCapability(_) => "forbidden",
            Self::PersonalDataForbidden => "personal_data_forbidden",
            Self::MfaEnrollmentRequired => "mfa_enrollment_required",
            Self::Attestation(p) => p.code(),
            Self::Agreement(v) => v.code(),
        }
    }
}

/// Decides a platform operation: only a fully signed-in user whose role
/// grants `capability`. Anyone else gets [`AccessDenied::NotFound`], the same
/// answer as for a missing object.
pub fn authorize_platform(
    principal: &Principal,
    capability: Capability,
) -> Result<UserId, AccessDenied> {
    match principal {
        Principal::User(user) if user.role.capabilities().contains(&capability) => {
            if user.mfa_pending {
                Err(AccessDenied::MfaEnrollmentRequired)
            } else {
                Ok(user.id)
            }
        }
        _ => Err(AccessDenied::NotFound),
    }
}

/// Decides whether `principal` may see that `controller` exists at all:
/// users scoped to it and its own machine clients. Administrators see
/// controllers through [`authorize_platform`] instead.
pub fn authorize_scope(
    principal: &Principal,
    controller: ControllerId,
) -> Result<(), AccessDenied> {
    let in_scope = match principal {
        Principal::User(user) => user.controllers.contains(&controller),
        Principal::Client(client) => client.controller == controller,
    };
    if !in_scope {
        return Err(AccessDenied::NotFound);
    }
    match principal {
        Principal::User(user) if user.mfa_pending => Err(AccessDenied::MfaEnrollmentRequired),
        _ => Ok(()),
    }
}

/// What the store knows that a tenant decision needs.
#[derive(Debug, Clone, Copy)]
pub struct TenantFacts<'a> {
    /// The controller's agreement in force, if it has one.
    pub agreement: Option<&'a Agreement>,
    /// The user's attestations (ignored for machine clients).
    pub attestations: &'a [Attestation],
}

/// The part of a personal-data decision that needs nothing from storage:
/// administrators never (`PersonalDataForbidden`), anyone else only within
/// their scope (else `NotFound`). Callers run it before reading anything
/// about the controller; [`authorize_tenant`] starts with it.
pub fn authorize_personal_data_scope(
    principal: &Principal,
    controller: ControllerId,
) -> Result<(), AccessDenied> {
    if let Principal::User(user) = principal
        && user.role == Role::Administrator
    {
        return Err(AccessDenied::PersonalDataForbidden);
    }
    authorize_scope(principal, controller)
}

/// Decides an operation on `controller`'s personal data for `purpose` at
/// `now`, in this order, so that a caller outside the scope learns nothing:
/// administrator (never), scope (else `NotFound`), MFA, capability,
/// attestations (people only), agreement and purpose.
pub fn authorize_tenant(
    principal: &Principal,
    controller: ControllerId,
    capability: Capability,
    purpose: &Purpose,
    facts: TenantFacts<'_>,
    now: Timestamp,
) -> Result<(), AccessDenied> {
    authorize_personal_data_scope(principal, controller)?;
    let granted = match principal {
        Principal::User(user) => user.role.capabilities().contains(&capability),
        Principal::Client(client) => client.capabilities.contains(&capability),
    };
    if !granted || !capability.is_tenant() {
        return Err(AccessDenied::MissingCapability(capability));
    }
    if let Principal::User(_) = principal {
        check_attestations(facts.attestations, now)?;
    }
    let agreement = facts.agreement.ok_or(AgreementViolation::NoAgreement)?;
    agreement.allows(purpose, now)?;
    Ok(())
}

/// Decides whether `principal` may read the audit chain of `controller`
/// (`None`: the platform chain). Only users whose role grants
/// [`Capability::ReadAudit`] (DPO, auditor); a controller's chain only within
/// their scope, answered like a missing object outside it.
pub fn authorize_audit(
    principal: &Principal,
    controller: Option<ControllerId>,
) -> Result<(UserId, Role), AccessDenied> {
    let Principal::User(user) = principal else {
        return Err(AccessDenied::NotFound);
    };
    if let Some(controller) = controller {
        authorize_scope(principal, controller)?;
    }
    if user.mfa_pending {
        return Err(AccessDenied::MfaEnrollmentRequired);
    }
    if !user.role.capabilities().contains(&Capability::ReadAudit) {
        // In a controller's scope the role is known to be there: say what is
        // missing. The platform chain is answered like platform routes.
        return Err(match controller {
            Some(_) => AccessDenied::MissingCapability(Capability::ReadAudit),
            None => AccessDenied::NotFound,
        });
    }
    Ok((user.id, user.role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, controllers: Vec<ControllerId>) -> Principal {
        Principal::User(UserPrincipal {
            id: UserId::generate(),
            role,
            controllers,
            session: SessionId::generate(),
            mfa_pending: false,
        })
    }

    #[test]
    fn administrators_hold_no_tenant_capability() {
        assert!(
            Role::Administrator
                .capabilities()
                .iter()
                .all(|c| !c.is_tenant())
        );
        for role in Role::ALL {
            if role != Role::Administrator {
                assert!(
                    role.capabilities().iter().all(|c| c.is_tenant()),
                    "{role:?}"
                );
            }
        }
        for c in Capability::ALL {
            assert_eq!(c.as_str().parse::<Capability>().unwrap(), c);
        }
    }

    #[test]
    fn outside_the_scope_looks_like_nothing_is_there() {
        let mine = ControllerId::generate();
        let theirs = ControllerId::generate();
        let agent = user(Role::Agent, vec![mine]);
        let purpose: Purpose = "customer_care".parse().unwrap();
        let facts = TenantFacts {
            agreement: None,
            attestations: &[],
        };
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            authorize_tenant(
                &agent,
                theirs,
                Capability::ReadSubjects,
                &purpose,
                facts,
                now
            ),
            Err(AccessDenied::NotFound)
        );
        // In scope, the next check speaks: here the missing attestations.
        assert_eq!(
            authorize_tenant(&agent, mine, Capability::ReadSubjects, &purpose, facts, now)
                .unwrap_err()
                .code(),
            "attestation_missing"
        );
        let auditor = user(Role::Auditor, vec![mine]);
        assert_eq!(
            authorize_tenant(
                &auditor,
                mine,
                Capability::WriteSubjects,
                &purpose,
                facts,
                now
            ),
            Err(AccessDenied::MissingCapability(Capability::WriteSubjects))
        );
        let admin = user(Role::Administrator, vec![mine]);
        assert_eq!(
            authorize_tenant(&admin, mine, Capability::ReadSubjects, &purpose, facts, now),
            Err(AccessDenied::PersonalDataForbidden)
        );
        assert_eq!(
            authorize_platform(&agent, Capability::ManageUsers),
            Err(AccessDenied::NotFound)
        );
        assert!(authorize_platform(&admin, Capability::ManageUsers).is_ok());
    }

    #[test]
    fn machine_clients_hold_only_their_capabilities() {
        let mine = ControllerId::generate();
        let dialer = Principal::Client(ClientPrincipal {
            id: ClientId::generate(),
            controller: mine,
            capabilities: vec![Capability::CallGating],
        });
        let purpose: Purpose = "telemarketing".parse().unwrap();
        let facts = TenantFacts {
            agreement: None,
            attestations: &[],
        };
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            authorize_tenant(
                &dialer,
                mine,
                Capability::ReadSubjects,
                &purpose,
                facts,
                now
            ),
            Err(AccessDenied::MissingCapability(Capability::ReadSubjects))
        );
        assert_eq!(
            authorize_tenant(&dialer, mine, Capability::CallGating, &purpose, facts, now),
            Err(AccessDenied::Agreement(AgreementViolation::NoAgreement))
        );
        assert_eq!(
            authorize_platform(&dialer, Capability::ManageClients),
            Err(AccessDenied::NotFound)
        );
    }
}
