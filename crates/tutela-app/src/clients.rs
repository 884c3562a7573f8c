//! Machine clients (dialers, PBXs, CRMs) and their API tokens.

use jiff::SignedDuration;
use tutela_domain::{
    Capability, ClientId, ClientKind, ControllerId, Label, MachineClient, Secret, Timestamp,
};
use tutela_storage::NewApiToken;

use tutela_domain::audit::{Action, ObjectKind};

use crate::audit::object;
use crate::auth::CLIENT_TOKEN_PREFIX;
use crate::grants::{ManageClients, PlatformGrant};
use crate::{App, AppError, digest, random_token_hex};

/// Longest lifetime of a machine-client token: tokens must be rotated at
/// least yearly.
pub const MAX_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(366 * 24);

/// A machine client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// A name for people.
    pub name: Label,
    /// What it is.
    pub kind: ClientKind,
    /// What it may do: tenant capabilities only, at least one.
    pub capabilities: Vec<Capability>,
    /// When its first token expires.
    pub expires_at: Timestamp,
}

impl App {
    /// Registers a client of `controller` and issues its first token, which
    /// is returned once; only its digest is stored.
    pub async fn create_client(
        &self,
        grant: &PlatformGrant<ManageClients>,
        controller: ControllerId,
        new: NewClient,
    ) -> Result<(MachineClient, Secret), AppError> {
        if self.store.controller(controller).await?.is_none() {
            return Err(AppError::NotFound);
        }
        if new.capabilities.is_empty() {
            return Err(AppError::invalid(
                "capabilities",
                "must name at least one capability",
            ));
        }
        if let Some(i) = new.capabilities.iter().position(|c| !c.is_tenant()) {
            return Err(AppError::invalid(
                format!("capabilities[{i}]"),
                "machine clients cannot administer the platform",
            ));
        }
        let mut capabilities = new.capabilities;
        capabilities.sort_by_key(|c| c.as_str());
        capabilities.dedup();
        let (token, record) = self.new_client_token(grant, new.expires_at)?;
        let client = MachineClient {
            id: ClientId::generate(),
            controller_id: controller,
            name: new.name,
            kind: new.kind,
            capabilities,
            created_at: self.clock.now(),
            created_by: grant.actor(),
            revoked_at: None,
        };
        let event = grant
            .event(
                Action::ClientCreate,
                object(ObjectKind::Client, client.id)?,
                self.clock.now(),
            )
            .controller(controller);
        self.audited(event, async {
            Ok(self.store.create_client(&client, record).await?)
        })
        .await?;
        tracing::info!(actor = %grant.actor(), client_id = %client.id, controller_id = %controller, "machine client registered");
        Ok((client, token))
    }

    /// A controller's clients.
    pub async fn clients(
        &self,
        _grant: &PlatformGrant<ManageClients>,
        controller: ControllerId,
    ) -> Result<Vec<MachineClient>, AppError> {
        if self.store.controller(controller).await?.is_none() {
            return Err(AppError::NotFound);
        }
        Ok(self.store.clients(controller).await?)
    }

    /// Issues a new token for a client; its earlier tokens stop working.
    pub async fn rotate_client_token(
        &self,
        grant: &PlatformGrant<ManageClients>,
        controller: ControllerId,
        id: ClientId,
        expires_at: Timestamp,
    ) -> Result<Secret, AppError> {
        let (token, record) = self.new_client_token(grant, expires_at)?;
        let now = self.clock.now();
        let event = grant
            .event(Action::ClientRotate, object(ObjectKind::Client, id)?, now)
            .controller(controller);
        self.audited(event, async {
            match self
                .store
                .replace_client_token(controller, id, record, now)
                .await?
            {
                true => {
                    self.access_changed();
                    Ok(())
                }
                false => Err(AppError::NotFound),
            }
        })
        .await?;
        tracing::info!(actor = %grant.actor(), client_id = %id, "machine client token rotated");
        Ok(token)
    }

    /// Revokes a client and every token it has.
    pub async fn revoke_client(
        &self,
        grant: &PlatformGrant<ManageClients>,
        controller: ControllerId,
        id: ClientId,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let event = grant
            .event(Action::ClientRevoke, object(ObjectKind::Client, id)?, now)
            .controller(controller);
        self.audited(event, async {
            match self.store.revoke_client(controller, id, now).await? {
                true => {
                    self.access_changed();
                    Ok(())
                }
                false => Err(AppError::NotFound),
            }
        })
        .await?;
        tracing::info!(actor = %grant.actor(), client_id = %id, "machine client revoked");
        Ok(())
    }

    fn new_client_token(
        &self,
        grant: &PlatformGrant<ManageClients>,
        expires_at: Timestamp,
    ) -> Result<(Secret, NewApiToken), AppError> {
        let now = self.clock.now();
        if expires_at <= now {
            return Err(AppError::invalid("expires_at", "must be in the future"));
        }
        if expires_at > crate::auth::add(now, MAX_TOKEN_LIFETIME)? {
            return Err(AppError::invalid(
                "expires_at",
                "must be at most 366 days ahead: tokens are rotated at least yearly",
            ));
        }
        let token = Secret::new(format!("{CLIENT_TOKEN_PREFIX}{}", random_token_hex()?));
        let record = NewApiToken {
            digest: digest(token.expose()),
            issued_by: grant.actor(),
            issued_at: now,
            expires_at,
        };
        Ok((token, record))
    }
}
