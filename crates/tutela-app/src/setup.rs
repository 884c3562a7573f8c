//! The one-time bootstrap: a setup token printed at first start lets its
//! holder create the first administrator, once. There is no default password.

use tutela_domain::{
    DomainError, NewUser, Password, Role, SETUP_TOKEN_VALIDITY, SetupToken, User, UserId, Username,
};
use tutela_storage::{SetupCompletion, SetupTokenIssue};

use tutela_domain::audit::{Action, Actor, AuditEvent, ObjectKind, Outcome};

use crate::audit::object;
use crate::{App, AppError, digest, random_token_hex};

impl App {
    /// Issues a fresh setup token if no user exists yet, replacing any earlier
    /// one; returns `None` once setup is complete. The token is returned once,
    /// to be shown to the operator; only its digest is stored.
    pub async fn issue_setup_token(&self) -> Result<Option<SetupToken>, AppError> {
        let token = SetupToken::parse(&random_token_hex()?)
            .map_err(|e| AppError::internal(format!("generated setup token: {e}")))?;
        let now = self.clock.now();
        let expires = now
            .checked_add(SETUP_TOKEN_VALIDITY)
            .map_err(|e| AppError::internal(format!("setup token expiry: {e}")))?;
        match self
            .store
            .issue_setup_token(digest(token.expose()), now, expires)
            .await?
        {
            SetupTokenIssue::Issued => Ok(Some(token)),
            SetupTokenIssue::AlreadyComplete => Ok(None),
        }
    }

    /// Creates the first administrator with the setup token. Refused when the
    /// token is wrong, used or expired, or when a user exists already; in
    /// either case nothing is written.
    pub async fn complete_setup(
        &self,
        token: &SetupToken,
        username: Username,
        password: &Password,
    ) -> Result<User, AppError> {
        // The endpoint stays reachable without authentication; once setup is
        // done, refuse before spending an Argon2 hash on the request.
        if self.store.count_users().await? > 0 {
            return Err(DomainError::SetupAlreadyComplete.into());
        }
        let password_hash = self.passwords.hash(password).await?;
        let now = self.clock.now();
        let admin = NewUser {
            id: UserId::generate(),
            username,
            role: Role::Administrator,
            controllers: Vec::new(),
            password_hash,
            created_at: now,
        };
        match self
            .store
            .complete_setup(digest(token.expose()), now, admin)
            .await?
        {
            SetupCompletion::Created(user) => {
                let event = AuditEvent::new(
                    now,
                    Actor::User(user.id),
                    Action::SetupComplete,
                    Outcome::Allowed,
                )
                .role(Some(Role::Administrator))
                .object(object(ObjectKind::User, user.id)?);
                self.record(vec![event]).await?;
                tracing::info!(user_id = %user.id, "first administrator created with the setup token");
                Ok(user)
            }
            SetupCompletion::InvalidToken => Err(DomainError::InvalidSetupToken.into()),
            SetupCompletion::AlreadyComplete => Err(DomainError::SetupAlreadyComplete.into()),
        }
    }
}
