//! User accounts, managed by administrators: creation, roles and scopes,
//! disabling at staff turnover, MFA reset, attestations.

use tutela_domain::{
    Attestation, AttestationId, AttestationKind, ControllerId, Label, NewUser, Password, Role,
    Timestamp, User, UserId, Username,
};
use tutela_storage::{UserChange, UserUpdate};

use tutela_domain::audit::{Action, ObjectKind};

use crate::audit::object;
use crate::grants::{ManageUsers, PlatformGrant};
use crate::{App, AppError};

/// An attestation to record.
#[derive(Debug, Clone)]
pub struct NewAttestation {
    /// What.
    pub kind: AttestationKind,
    /// Version of the undertaking or course.
    pub version: Label,
    /// The assessment passed (training only).
    pub assessment: Option<Label>,
    /// When signed or passed.
    pub attested_at: Timestamp,
    /// When it stops counting.
    pub expires_at: Timestamp,
}

impl App {
    /// Creates a user with an initial password, a role and controller scopes.
    pub async fn create_user(
        &self,
        grant: &PlatformGrant<ManageUsers>,
        username: Username,
        password: &Password,
        role: Role,
        controllers: Vec<ControllerId>,
    ) -> Result<User, AppError> {
        let controllers = self.check_scopes(role, controllers).await?;
        let password_hash = self.passwords.hash(password).await?;
        let id = UserId::generate();
        let now = self.clock.now();
        let event = grant.event(Action::UserCreate, object(ObjectKind::User, id)?, now);
        let user = self
            .audited(event, async {
                Ok(self
                    .store
                    .create_user(NewUser {
                        id,
                        username,
                        role,
                        controllers,
                        password_hash,
                        created_at: now,
                    })
                    .await?)
            })
            .await?;
        tracing::info!(actor = %grant.actor(), user_id = %user.id, role = role.as_str(), "user created");
        Ok(user)
    }

    /// Every user.
    pub async fn users(&self, _grant: &PlatformGrant<ManageUsers>) -> Result<Vec<User>, AppError> {
        Ok(self.store.list_users().await?)
    }

    /// One user.
    pub async fn user(
        &self,
        _grant: &PlatformGrant<ManageUsers>,
        id: UserId,
    ) -> Result<User, AppError> {
        self.store.user_by_id(id).await?.ok_or(AppError::NotFound)
    }

    /// Changes role, scopes or MFA enrolment. Takes effect on the user's next
    /// request; the last enabled administrator cannot be demoted.
    pub async fn update_user(
        &self,
        grant: &PlatformGrant<ManageUsers>,
        id: UserId,
        mut change: UserChange,
    ) -> Result<User, AppError> {
        let current = self.user(grant, id).await?;
        let role = change.role.unwrap_or(current.role);
        let controllers = change
            .controllers
            .take()
            .unwrap_or_else(|| current.controllers.clone());
        change.controllers = Some(self.check_scopes(role, controllers).await?);
        let now = self.clock.now();
        let action = if change.reset_mfa {
            Action::UserMfaReset
        } else {
            Action::UserUpdate
        };
        let event = grant.event(action, object(ObjectKind::User, id)?, now);
        let updated = self
            .audited(event, async {
                applied(self.store.update_user(id, change, now).await?)
            })
            .await?;
        self.access_changed();
        tracing::info!(actor = %grant.actor(), user_id = %id, role = updated.role.as_str(), "user changed");
        Ok(updated)
    }

    /// Disables an account at staff turnover: every session of the user and
    /// every machine-client token the user issued stop working at once.
    pub async fn disable_user(
        &self,
        grant: &PlatformGrant<ManageUsers>,
        id: UserId,
    ) -> Result<User, AppError> {
        let now = self.clock.now();
        let event = grant.event(Action::UserDisable, object(ObjectKind::User, id)?, now);
        let user = self
            .audited(event, async {
                applied(self.store.disable_user(id, now).await?)
            })
            .await?;
        // The tokens the user issued are revoked with the account.
        self.access_changed();
        tracing::info!(actor = %grant.actor(), user_id = %id, "user disabled; sessions and issued tokens revoked");
        Ok(user)
    }

    /// Records a confidentiality undertaking or training attestation.
    pub async fn record_attestation(
        &self,
        grant: &PlatformGrant<ManageUsers>,
        user: UserId,
        new: NewAttestation,
    ) -> Result<Attestation, AppError> {
        self.user(grant, user).await?;
        let attestation = Attestation {
            id: AttestationId::generate(),
            user_id: user,
            kind: new.kind,
            version: new.version,
            assessment: new.assessment,
            attested_at: new.attested_at,
            expires_at: new.expires_at,
            recorded_by: grant.actor(),
        };
        attestation
            .check()
            .map_err(|(field, reason)| AppError::invalid(field, reason))?;
        let event = grant.event(
            Action::AttestationRecord,
            object(ObjectKind::Attestation, attestation.id)?,
            self.clock.now(),
        );
        self.audited(event, async {
            Ok(self.store.record_attestation(&attestation).await?)
        })
        .await?;
        tracing::info!(actor = %grant.actor(), user_id = %user, kind = new.kind.as_str(), "attestation recorded");
        Ok(attestation)
    }

    /// A user's attestations.
    pub async fn attestations(
        &self,
        grant: &PlatformGrant<ManageUsers>,
        user: UserId,
    ) -> Result<Vec<Attestation>, AppError> {
        self.user(grant, user).await?;
        Ok(self.store.attestations(user).await?)
    }

    /// Checks scopes for a role: administrators hold none (they manage the
    /// platform, not a controller's data); every named controller exists.
    /// Returns them sorted and without repeats.
    async fn check_scopes(
        &self,
        role: Role,
        mut controllers: Vec<ControllerId>,
    ) -> Result<Vec<ControllerId>, AppError> {
        if role == Role::Administrator && !controllers.is_empty() {
            return Err(AppError::invalid(
                "controllers",
                "administrators manage the platform and are not scoped to controllers",
            ));
        }
        for (i, id) in controllers.iter().enumerate() {
            if self.store.controller(*id).await?.is_none() {
                return Err(AppError::invalid(
                    format!("controllers[{i}]"),
                    "no such controller",
                ));
            }
        }
        controllers.sort();
        controllers.dedup();
        Ok(controllers)
    }
}

fn applied(update: UserUpdate) -> Result<User, AppError> {
    match update {
        UserUpdate::Updated(user) => Ok(user),
        UserUpdate::NotFound => Err(AppError::NotFound),
        UserUpdate::LastAdministrator => Err(AppError::Conflict {
            code: "last_administrator",
            message: "this would leave no enabled administrator; create or enable another first",
        }),
    }
}
