//! Permissions as types. An operation on personal data takes a
//! [`TenantGrant<P>`], an administrative one a [`PlatformGrant<P>`]; the only
//! way to obtain either is [`App::grant_tenant`] or [`App::grant_platform`],
//! which run the access decision. Grants have private fields, so a handler
//! cannot make one up, and the permission is part of the type, so a grant to
//! read cannot be passed where a write is required. There is no escape hatch.

use std::marker::PhantomData;

use tutela_domain::audit::{Action, Actor, AuditEvent, ClientContext, ObjectRef, Outcome};
use tutela_domain::{
    Agreement, Capability, ControllerId, Principal, Purpose, Role, TenantFacts, Timestamp, UserId,
    Viewer, authorize_personal_data_scope, authorize_platform, authorize_tenant,
};

use crate::{App, AppError};

mod sealed {
    pub trait Sealed {}
}

/// A permission over one controller's personal data.
pub trait TenantPermission: sealed::Sealed {
    /// The capability the caller's role or token must grant.
    const CAPABILITY: Capability;
    /// The audit action a refusal of this permission is recorded as.
    const ACTION: Action;
}

/// A permission to administer the platform (never personal data).
pub trait PlatformPermission: sealed::Sealed {
    /// The capability the caller's role must grant.
    const CAPABILITY: Capability;
    /// The audit action a refusal of this permission is recorded as.
    const ACTION: Action;
}

macro_rules! permission {
    ($(#[$doc:meta])* $name:ident: $kind:ident = $capability:ident, $action:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl sealed::Sealed for $name {}
        impl $kind for $name {
            const CAPABILITY: Capability = Capability::$capability;
            const ACTION: Action = Action::$action;
        }
    };
}

permission!(
    /// Read a controller's data subjects.
    ReadSubjects: TenantPermission = ReadSubjects, SubjectRead
);
permission!(
    /// Create a controller's data subjects.
    WriteSubjects: TenantPermission = WriteSubjects, SubjectWrite
);
permission!(
    /// Erase a controller's data subjects.
    EraseSubjects: TenantPermission = EraseSubjects, SubjectErase
);
permission!(
    /// Import a controller's lead lists.
    ImportLists: TenantPermission = ImportLists, ListImport
);
permission!(
    /// Read a controller's lead lists and their reports.
    ReadLists: TenantPermission = ReadLists, ListRead
);
permission!(
    /// Record consents, withdrawals, objections and notices given.
    RecordConsent: TenantPermission = RecordConsent, ConsentRecord
);
permission!(
    /// Read the consent ledger.
    ReadConsent: TenantPermission = ReadConsent, ConsentRead
);
permission!(
    /// Publish privacy notices and scripts.
    PublishNotices: TenantPermission = PublishNotices, NoticePublish
);
permission!(
    /// Ask whether a number may be called.
    GateCalls: TenantPermission = CallGating, CallDecide
);
permission!(
    /// Report call outcomes (the dialer that asks also reports).
    ReportCalls: TenantPermission = CallGating, CallOutcome
);
permission!(
    /// Check a controller's stored lists against the loaded registries.
    ScrubLists: TenantPermission = ImportLists, ListScrub
);
permission!(
    /// Reload the node's registry snapshots (the administrator who
    /// registers controllers keeps the registries they are called against).
    ReloadRegistries: PlatformPermission = ManageControllers, RegistryReload
);
permission!(
    /// Upload call recordings (the PBX), and ask whether to record a call.
    UploadRecordings: TenantPermission = UploadRecordings, RecordingUpload
);
permission!(
    /// Listen to recordings for a declared purpose, within the quota, and
    /// list them for review.
    ListenRecordings: TenantPermission = ListenRecordings, RecordingListen
);
permission!(
    /// Set recording policies and legal holds.
    ManageRecordings: TenantPermission = ManageRecordings, RecordingPolicySet
);
permission!(
    /// Resolve a recording's operator pseudonym, with a recorded reason
    /// (operators are the processor's staff, whom administrators manage).
    ResolveOperators: PlatformPermission = ManageUsers, OperatorResolve
);
permission!(
    /// Rotate a controller's key-encryption key (administration of keys,
    /// never of their data).
    RotateKeys: PlatformPermission = ManageControllers, KeyRotate
);
permission!(
    /// Take in data-subject requests and the requester's one-time code.
    TakeRequests: TenantPermission = TakeRequests, RequestReceive
);
permission!(
    /// Handle data-subject requests: see the queue, forward, extend,
    /// refuse, answer.
    ManageRequests: TenantPermission = ManageRequests, RequestRead
);
permission!(
    /// Register controllers and record agreements.
    ManageControllers: PlatformPermission = ManageControllers, ControllerManage
);
permission!(
    /// Manage user accounts.
    ManageUsers: PlatformPermission = ManageUsers, UserManage
);
permission!(
    /// Manage machine clients and their tokens.
    ManageClients: PlatformPermission = ManageClients, ClientManage
);

/// Proof that `actor` may do `P` on `controller`'s data for `purpose`, now:
/// in scope, role or token grants it, attestations current, agreement in
/// force and allowing the purpose.
#[derive(Debug)]
pub struct TenantGrant<P: TenantPermission> {
    principal: Principal,
    controller: ControllerId,
    purpose: Purpose,
    agreement: Agreement,
    origin: ClientContext,
    _permission: PhantomData<P>,
}

impl<P: TenantPermission> TenantGrant<P> {
    /// The controller whose data this grant reaches.
    pub fn controller(&self) -> ControllerId {
        self.controller
    }

    /// The declared purpose.
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }

    /// The agreement that allowed it.
    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// Pseudonymous actor for logs.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }

    /// An audit event of this grant's actor, controller and purpose, from
    /// the request's origin, allowed, at `instant`.
    pub fn event(&self, action: Action, instant: Timestamp) -> AuditEvent {
        let (actor, role) = principal_actor(&self.principal);
        AuditEvent::new(instant, actor, action, Outcome::Allowed)
            .role(role)
            .controller(self.controller)
            .purpose(self.purpose.clone())
            .client(self.origin.clone())
    }

    /// True when the caller's role or token also grants `capability` (for
    /// a step within an operation, such as revealing sensitive fields).
    pub fn may(&self, capability: Capability) -> bool {
        match &self.principal {
            Principal::User(user) => user.role.capabilities().contains(&capability),
            Principal::Client(client) => client.capabilities.contains(&capability),
        }
    }

    /// The audit actor of this grant (a user or a client).
    pub fn audit_actor(&self) -> Actor {
        principal_actor(&self.principal).0
    }

    /// Who is looking, for masking.
    pub fn viewer(&self) -> Viewer {
        match &self.principal {
            Principal::User(user) => Viewer::Role(user.role),
            Principal::Client(_) => Viewer::Client,
        }
    }
}

/// Proof that `actor` may do `P` on the platform.
#[derive(Debug, Clone)]
pub struct PlatformGrant<P: PlatformPermission> {
    actor: UserId,
    origin: ClientContext,
    _permission: PhantomData<P>,
}

impl<P: PlatformPermission> PlatformGrant<P> {
    /// The administrator acting.
    pub fn actor(&self) -> UserId {
        self.actor
    }

    /// An audit event of this administrator on `object`, allowed, at `instant`.
    pub fn event(&self, action: Action, object: ObjectRef, instant: Timestamp) -> AuditEvent {
        AuditEvent::new(instant, Actor::User(self.actor), action, Outcome::Allowed)
            .role(Some(Role::Administrator))
            .object(object)
            .client(self.origin.clone())
    }
}

/// The audit actor and role of a principal.
pub(crate) fn principal_actor(principal: &Principal) -> (Actor, Option<Role>) {
    match principal {
        Principal::User(u) => (Actor::User(u.id), Some(u.role)),
        Principal::Client(c) => (Actor::Client(c.id), None),
    }
}

impl App {
    /// Decides whether `principal` may do `P` on the platform; a refusal is
    /// recorded in the audit trail.
    pub async fn grant_platform<P: PlatformPermission>(
        &self,
        principal: &Principal,
        origin: &ClientContext,
    ) -> Result<PlatformGrant<P>, AppError> {
        match authorize_platform(principal, P::CAPABILITY) {
            Ok(actor) => Ok(PlatformGrant {
                actor,
                origin: origin.clone(),
                _permission: PhantomData,
            }),
            Err(denied) => {
                self.record_denial(principal, P::ACTION, None, origin, denied.code())
                    .await?;
                Err(denied.into())
            }
        }
    }

    /// Decides whether `principal` may do `P` on `controller`'s personal data
    /// for `purpose` at the clock's current instant; a refusal is recorded in
    /// the audit trail with its reason.
    pub async fn grant_tenant<P: TenantPermission>(
        &self,
        principal: &Principal,
        controller: ControllerId,
        purpose: Purpose,
        origin: &ClientContext,
    ) -> Result<TenantGrant<P>, AppError> {
        match self
            .decide_tenant::<P>(principal, controller, &purpose)
            .await
        {
            Ok(agreement) => Ok(TenantGrant {
                principal: principal.clone(),
                controller,
                purpose,
                agreement,
                origin: origin.clone(),
                _permission: PhantomData,
            }),
            Err(AppError::Access(denied)) => {
                self.record_denial(
                    principal,
                    P::ACTION,
                    Some(controller),
                    origin,
                    denied.code(),
                )
                .await?;
                Err(denied.into())
            }
            Err(other) => Err(other),
        }
    }

    async fn decide_tenant<P: TenantPermission>(
        &self,
        principal: &Principal,
        controller: ControllerId,
        purpose: &Purpose,
    ) -> Result<Agreement, AppError> {
        // Scope first, before reading anything about the controller, so a
        // caller outside it gets exactly the answer for a missing object.
        authorize_personal_data_scope(principal, controller)?;
        let agreement = self.current_agreement(controller).await?;
        let attestations = match principal {
            Principal::User(user) => self.store.attestations(user.id).await?,
            Principal::Client(_) => Vec::new(),
        };
        let now = self.clock.now();
        let facts = TenantFacts {
            agreement: agreement.as_ref(),
            attestations: &attestations,
        };
        authorize_tenant(principal, controller, P::CAPABILITY, purpose, facts, now)?;
        agreement.ok_or_else(|| AppError::internal("agreement vanished"))
    }
}
