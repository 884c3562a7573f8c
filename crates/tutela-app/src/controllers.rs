//! Controllers and their processing agreements.

use tutela_domain::{
    Agreement, AgreementTerms, Capability, Controller, ControllerId, CountryCode, Label, Principal,
    authorize_platform, authorize_scope,
};

use tutela_domain::audit::{Action, ObjectKind};

use crate::audit::object;
use crate::grants::{ManageControllers, PlatformGrant};
use crate::{App, AppError};

/// A controller to register.
#[derive(Debug, Clone)]
pub struct NewController {
    /// Company name.
    pub name: Label,
    /// Country of establishment.
    pub country: CountryCode,
    /// DPO contact.
    pub dpo_contact: Label,
    /// Representative in the Union, if any.
    pub representative: Option<Label>,
}

impl App {
    /// Registers a controller. It has no agreement yet, so none of its data
    /// can be processed until one is recorded.
    pub async fn create_controller(
        &self,
        grant: &PlatformGrant<ManageControllers>,
        new: NewController,
    ) -> Result<Controller, AppError> {
        let controller = Controller {
            id: ControllerId::generate(),
            name: new.name,
            country: new.country,
            dpo_contact: new.dpo_contact,
            representative: new.representative,
            created_at: self.clock.now(),
        };
        let event = grant
            .event(
                Action::ControllerCreate,
                object(ObjectKind::Controller, controller.id)?,
                controller.created_at,
            )
            .controller(controller.id);
        self.audited(event, async {
            Ok(self.store.create_controller(&controller).await?)
        })
        .await?;
        tracing::info!(actor = %grant.actor(), controller_id = %controller.id, "controller registered");
        Ok(controller)
    }

    /// The controllers `principal` may see: all for administrators, the
    /// ones in scope for everyone else.
    pub async fn controllers(&self, principal: &Principal) -> Result<Vec<Controller>, AppError> {
        let all = self.store.list_controllers().await?;
        if authorize_platform(principal, Capability::ManageControllers).is_ok() {
            return Ok(all);
        }
        Ok(all
            .into_iter()
            .filter(|c| authorize_scope(principal, c.id).is_ok())
            .collect())
    }

    /// One controller and its agreement in force, for administrators and
    /// for principals in its scope; for anyone else, exactly as if it did
    /// not exist.
    pub async fn controller(
        &self,
        principal: &Principal,
        id: ControllerId,
    ) -> Result<(Controller, Option<Agreement>), AppError> {
        if authorize_platform(principal, Capability::ManageControllers).is_err() {
            authorize_scope(principal, id)?;
        }
        let controller = self.store.controller(id).await?.ok_or(AppError::NotFound)?;
        let agreement = self.store.current_agreement(id).await?;
        Ok((controller, agreement))
    }

    /// Records a new version of the controller's agreement, which replaces
    /// the previous one as its instructions from now on.
    pub async fn record_agreement(
        &self,
        grant: &PlatformGrant<ManageControllers>,
        controller: ControllerId,
        terms: AgreementTerms,
    ) -> Result<Agreement, AppError> {
        if self.store.controller(controller).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let now = self.clock.now();
        let event = grant
            .event(
                Action::AgreementRecord,
                object(ObjectKind::Agreement, controller)?,
                now,
            )
            .controller(controller);
        let agreement = self
            .audited(event, async {
                let agreement = self
                    .store
                    .record_agreement(controller, &terms, now, grant.actor())
                    .await?;
                self.access_changed();
                Ok(agreement)
            })
            .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %controller,
            version = agreement.version,
            "processing agreement recorded"
        );
        Ok(agreement)
    }
}
