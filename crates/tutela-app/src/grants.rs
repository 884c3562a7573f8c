//! Permissions as types. An operation on personal data takes a
//! [`TenantGrant<P>`], an administrative one a [`PlatformGrant<P>`]; the only
//! way to obtain either is [`App::grant_tenant`] or [`App::grant_platform`],
//! which run the access decision. Grants have private fields, so a handler
//! cannot make one up, and the permission is part of the type, so a grant to
//! read cannot be passed where a write is required. There is no escape hatch.

use std::marker::PhantomData;

use tutela_domain::{
    Agreement, Capability, ControllerId, Principal, Purpose, TenantFacts, UserId, Viewer,
    authorize_personal_data_scope, authorize_platform, authorize_tenant,
};

use crate::{App, AppError};

mod sealed {
    pub trait Sealed {}
}

/// A permission over one controller's personal data.
pub trait TenantPermission: sealed::Sealed {
    /// The capability the caller's role or token must grant.
    const CAPABILITY: Capability;
}

/// A permission to administer the platform (never personal data).
pub trait PlatformPermission: sealed::Sealed {
    /// The capability the caller's role must grant.
    const CAPABILITY: Capability;
}

macro_rules! permission {
    ($(#[$doc:meta])* $name:ident: $kind:ident = $capability:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl sealed::Sealed for $name {}
        impl $kind for $name {
            const CAPABILITY: Capability = Capability::$capability;
        }
    };
}

permission!(
    /// Read a controller's data subjects.
    ReadSubjects: TenantPermission = ReadSubjects
);
permission!(
    /// Create a controller's data subjects.
    WriteSubjects: TenantPermission = WriteSubjects
);
permission!(
    /// Register controllers and record agreements.
    ManageControllers: PlatformPermission = ManageControllers
);
permission!(
    /// Manage user accounts.
    ManageUsers: PlatformPermission = ManageUsers
);
permission!(
    /// Manage machine clients and their tokens.
    ManageClients: PlatformPermission = ManageClients
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

    /// Who is looking, for masking.
    pub fn viewer(&self) -> Viewer {
        match &self.principal {
            Principal::User(user) => Viewer::Role(user.role),
            Principal::Client(_) => Viewer::Client,
        }
    }
}

/// Proof that `actor` may do `P` on the platform.
#[derive(Debug, Clone, Copy)]
pub struct PlatformGrant<P: PlatformPermission> {
    actor: UserId,
    _permission: PhantomData<P>,
}

impl<P: PlatformPermission> PlatformGrant<P> {
    /// The administrator acting.
    pub fn actor(&self) -> UserId {
        self.actor
    }
}

impl App {
    /// Decides whether `principal` may do `P` on the platform.
    pub fn grant_platform<P: PlatformPermission>(
        &self,
        principal: &Principal,
    ) -> Result<PlatformGrant<P>, AppError> {
        let actor = authorize_platform(principal, P::CAPABILITY)?;
        Ok(PlatformGrant {
            actor,
            _permission: PhantomData,
        })
    }

    /// Decides whether `principal` may do `P` on `controller`'s personal data
    /// for `purpose` at the clock's current instant.
    pub async fn grant_tenant<P: TenantPermission>(
        &self,
        principal: &Principal,
        controller: ControllerId,
        purpose: Purpose,
    ) -> Result<TenantGrant<P>, AppError> {
        // Scope first, before reading anything about the controller, so a
        // caller outside it gets exactly the answer for a missing object.
        authorize_personal_data_scope(principal, controller)?;
        let agreement = self.store.current_agreement(controller).await?;
        let attestations = match principal {
            Principal::User(user) => self.store.attestations(user.id).await?,
            Principal::Client(_) => Vec::new(),
        };
        let now = self.clock.now();
        let facts = TenantFacts {
            agreement: agreement.as_ref(),
            attestations: &attestations,
        };
        authorize_tenant(principal, controller, P::CAPABILITY, &purpose, facts, now)?;
        let agreement = agreement.ok_or_else(|| AppError::internal("agreement vanished"))?;
        Ok(TenantGrant {
            principal: principal.clone(),
            controller,
            purpose,
            agreement,
            _permission: PhantomData,
        })
    }
}
