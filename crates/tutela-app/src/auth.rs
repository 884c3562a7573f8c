//! Signing in and out, resolving a bearer token into a principal, and TOTP
//! enrolment. Passwords are verified with Argon2id off the async workers.

use std::net::{IpAddr, Ipv6Addr};

use jiff::SignedDuration;
use tutela_domain::audit::{Action, Actor, AuditEvent, ClientContext, ObjectKind, Outcome};
use tutela_domain::{
    AuthError, ClientPrincipal, Principal, Secret, SessionId, Timestamp, TotpCode, User,
    UserPrincipal, Username,
};
use tutela_storage::{Credentials, NewSession};

use crate::audit::object;
use crate::{App, AppError, digest, random_token_hex};

/// Prefix of session tokens, so a leaked token is recognisable in a scan.
pub const SESSION_PREFIX: &str = "tus_";
/// Prefix of machine-client API tokens.
pub const CLIENT_TOKEN_PREFIX: &str = "tmc_";

/// A new session: the bearer token (shown once) and what it allows.
#[derive(Debug)]
pub struct Login {
    /// The bearer token. Only its digest is stored.
    pub token: Secret,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The user signed in.
    pub user: User,
    /// True when the session may only enrol MFA (the role requires it and
    /// the user has not enrolled yet).
    pub mfa_enrollment_required: bool,
}

/// What a user needs to add Tutela to an authenticator app.
#[derive(Debug)]
pub struct MfaEnrollment {
    /// The secret in base32, for manual entry.
    pub secret_base32: Secret,
    /// The `otpauth://` URL, for a QR code.
    pub otpauth_url: Secret,
}

impl App {
    /// Signs in with username, password and, once enrolled, a TOTP code.
    /// Failures are counted per account and per `address`; past the policy's
    /// threshold, attempts are refused until the lock expires, whatever the
    /// credentials. Unknown usernames cost the same time as known ones.
    ///
    /// Every attempt is an audit event: allowed with the user, or denied
    /// with the reason and the account (by user id if it exists, else by a
    /// keyed digest: never the typed name); a lock-out is an event too.
    pub async fn login(
        &self,
        username: &str,
        password: &Secret,
        totp: Option<&Secret>,
        origin: &ClientContext,
    ) -> Result<Login, AppError> {
        let account_key = self
            .keys
            .throttle_key("account", &username.trim().to_ascii_lowercase());
        let mut attempt = Attempt::default();
        let result = self
            .attempt_login(username, password, totp, origin, account_key, &mut attempt)
            .await;
        let now = self.clock.now();
        let object = match attempt.user {
            Some(id) => object(ObjectKind::User, id)?,
            None => object(ObjectKind::Account, hex::encode(&account_key.0[..16]))?,
        };
        let (actor, outcome) = match &result {
            Ok(login) => (Actor::User(login.user.id), Outcome::Allowed),
            Err(e) => (Actor::Anonymous, Outcome::denied(e.code())),
        };
        let role = result.as_ref().ok().map(|l| l.user.role);
        let mut events = vec![
            AuditEvent::new(now, actor, Action::Login, outcome)
                .role(role)
                .object(object.clone())
                .client(origin.clone()),
        ];
        for what in attempt.locked {
            events.push(
                AuditEvent::new(
                    now,
                    Actor::Anonymous,
                    Action::Lockout,
                    Outcome::denied(what),
                )
                .object(object.clone())
                .client(origin.clone()),
            );
        }
        self.record(events).await?;
        result
    }

    async fn attempt_login(
        &self,
        username: &str,
        password: &Secret,
        totp: Option<&Secret>,
        origin: &ClientContext,
        account_key: tutela_domain::SecretDigest,
        attempt: &mut Attempt,
    ) -> Result<Login, AppError> {
        let now = self.clock.now();
        let address = origin.address.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let address_key = self.keys.throttle_key("address", &address.to_string());
        for key in [account_key, address_key] {
            if let Some(until) = self.store.locked_until(key, now).await? {
                return Err(AuthError::Throttled { until }.into());
            }
        }
        let credentials = match Username::parse(username) {
            Ok(name) => self.store.credentials(name.as_str()).await?,
            Err(_) => None,
        };
        attempt.user = credentials.as_ref().map(|c| c.user.id);
        let verified = match &credentials {
            Some(c) if c.user.disabled_at.is_none() => {
                self.passwords.verify(password, &c.password_hash).await?
            }
            _ => {
                self.passwords.waste_time(password).await?;
                false
            }
        };
        let credentials = match credentials {
            Some(c) if verified => c,
            _ => {
                attempt.locked = self.count_failure(account_key, address_key, now).await?;
                return Err(AuthError::InvalidCredentials.into());
            }
        };
        if credentials.user.mfa_enrolled {
            let Some(code) = totp else {
                return Err(AuthError::MfaCodeRequired.into());
            };
            if !self.accept_totp(&credentials, code, now).await? {
                attempt.locked = self.count_failure(account_key, address_key, now).await?;
                return Err(AuthError::InvalidMfaCode.into());
            }
        }
        self.store.clear_login_failures(account_key).await?;
        let user = credentials.user;
        let mfa_pending = user.role.requires_mfa() && !user.mfa_enrolled;
        let token = Secret::new(format!("{SESSION_PREFIX}{}", random_token_hex()?));
        let expires_at = add(now, self.policy.session_lifetime)?;
        let id = SessionId::generate();
        self.store
            .create_session(NewSession {
                id,
                digest: digest(token.expose()),
                user_id: user.id,
                created_at: now,
                expires_at,
                mfa_pending,
            })
            .await?;
        tracing::info!(user_id = %user.id, session_id = %id, mfa_pending, "signed in");
        Ok(Login {
            token,
            expires_at,
            user,
            mfa_enrollment_required: mfa_pending,
        })
    }

    async fn count_failure(
        &self,
        account_key: tutela_domain::SecretDigest,
        address_key: tutela_domain::SecretDigest,
        now: Timestamp,
    ) -> Result<Vec<&'static str>, AppError> {
        let policy = self.policy;
        let mut locked = Vec::new();
        let window_start = add(now, -policy.failure_window)?;
        let lock_until = add(now, policy.lockout)?;
        for (key, threshold, what) in [
            (account_key, policy.account_failures, "account"),
            (address_key, policy.address_failures, "address"),
        ] {
            if self
                .store
                .record_login_failure(key, now, window_start, threshold, lock_until)
                .await?
                .is_some()
            {
                tracing::warn!(locked = what, until = %lock_until, "sign-in locked after repeated failures");
                locked.push(if what == "account" {
                    "account_locked"
                } else {
                    "address_locked"
                });
            }
        }
        Ok(locked)
    }

    /// Checks a TOTP code against the user's sealed secret and consumes its
    /// time step, so the same code never works twice.
    async fn accept_totp(
        &self,
        credentials: &Credentials,
        code: &Secret,
        now: Timestamp,
    ) -> Result<bool, AppError> {
        let Ok(code) = TotpCode::parse(code.expose()) else {
            return Ok(false);
        };
        let Some(sealed) = &credentials.totp_secret else {
            return Ok(false);
        };
        let user = &credentials.user;
        let secret = self.keys.open(user.id.0.as_bytes(), sealed)?;
        let totp = totp_for(secret, user)?;
        let seconds =
            u64::try_from(now.as_second()).map_err(|_| AppError::internal("clock before 1970"))?;
        let Some(step) = totp.check(code.as_str(), seconds) else {
            return Ok(false);
        };
        let step = i64::try_from(step).map_err(|_| AppError::internal("TOTP step overflow"))?;
        Ok(self.store.accept_totp_step(user.id, step).await?)
    }

    /// Resolves a bearer token into the principal it authenticates, reading
    /// the user's role, scopes and state fresh: a role change or a disabled
    /// account takes effect on the very next request.
    ///
    /// A token that authenticates nobody is recorded as `auth.token_rejected`.
    pub async fn authenticate(
        &self,
        bearer: &Secret,
        origin: &ClientContext,
    ) -> Result<Principal, AppError> {
        let result = self.resolve_token(bearer).await;
        if let Err(AppError::Auth(e)) = &result {
            let event = AuditEvent::new(
                self.clock.now(),
                Actor::Anonymous,
                Action::TokenRejected,
                Outcome::denied(e.code()),
            )
            .client(origin.clone());
            self.record(vec![event]).await?;
        }
        result
    }

    async fn resolve_token(&self, bearer: &Secret) -> Result<Principal, AppError> {
        let now = self.clock.now();
        let token = bearer.expose();
        if token.starts_with(SESSION_PREFIX) {
            let Some(session) = self.store.session(digest(token)).await? else {
                return Err(AuthError::Unauthenticated.into());
            };
            let user = session.user;
            if session.revoked_at.is_some()
                || session.expires_at <= now
                || user.disabled_at.is_some()
            {
                return Err(AuthError::Unauthenticated.into());
            }
            let mfa_pending =
                session.mfa_pending || (user.role.requires_mfa() && !user.mfa_enrolled);
            return Ok(Principal::User(UserPrincipal {
                id: user.id,
                role: user.role,
                controllers: user.controllers,
                session: session.id,
                mfa_pending,
            }));
        }
        if token.starts_with(CLIENT_TOKEN_PREFIX) {
            let Some(record) = self.client_token(digest(token)).await? else {
                return Err(AuthError::Unauthenticated.into());
            };
            if record.revoked_at.is_some()
                || record.client.revoked_at.is_some()
                || record.expires_at <= now
            {
                return Err(AuthError::Unauthenticated.into());
            }
            let client = record.client;
            return Ok(Principal::Client(ClientPrincipal {
                id: client.id,
                controller: client.controller_id,
                capabilities: client.capabilities,
            }));
        }
        Err(AuthError::Unauthenticated.into())
    }

    /// Ends the caller's session. Machine-client tokens are revoked by an
    /// administrator instead.
    pub async fn logout(
        &self,
        principal: &Principal,
        origin: &ClientContext,
    ) -> Result<(), AppError> {
        if let Principal::User(user) = principal {
            let event = self.user_event(user.id, Some(user.role), Action::Logout, origin)?;
            self.record(vec![event]).await?;
            self.store
                .revoke_session(user.session, self.clock.now())
                .await?;
            tracing::info!(user_id = %user.id, session_id = %user.session, "signed out");
        }
        Ok(())
    }

    /// The signed-in user's own account.
    pub async fn me(&self, principal: &Principal) -> Result<User, AppError> {
        let Principal::User(user) = principal else {
            return Err(AppError::NotFound);
        };
        self.store
            .user_by_id(user.id)
            .await?
            .ok_or(AuthError::Unauthenticated.into())
    }

    /// Starts TOTP enrolment: a fresh secret, sealed in storage, returned
    /// once for the authenticator app. Refused once enrolment is confirmed
    /// (an administrator resets it when a phone is lost).
    pub async fn enroll_mfa(
        &self,
        principal: &Principal,
        origin: &ClientContext,
    ) -> Result<MfaEnrollment, AppError> {
        let user = self.me(principal).await?;
        if user.mfa_enrolled {
            return Err(AppError::Conflict {
                code: "mfa_already_enrolled",
                message: "a TOTP authenticator is already enrolled; an administrator can reset it",
            });
        }
        let mut secret = vec![0u8; 20];
        getrandom::fill(&mut secret)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        let sealed = self.keys.seal(user.id.0.as_bytes(), &secret)?;
        let totp = totp_for(secret, &user)?;
        let url = totp
            .to_url()
            .map_err(|e| AppError::internal(format!("otpauth url: {e}")))?;
        let event = self.user_event(user.id, Some(user.role), Action::MfaEnrol, origin)?;
        self.audited(event, async {
            Ok(self.store.store_totp_secret(user.id, sealed).await?)
        })
        .await?;
        tracing::info!(user_id = %user.id, "MFA enrolment started");
        Ok(MfaEnrollment {
            secret_base32: Secret::new(totp.secret().to_base32()),
            otpauth_url: Secret::new(url),
        })
    }

    /// Confirms enrolment with a first code; from then on every sign-in needs
    /// a code. The current session is upgraded to a full one.
    pub async fn confirm_mfa(
        &self,
        principal: &Principal,
        code: &Secret,
        origin: &ClientContext,
    ) -> Result<(), AppError> {
        let Principal::User(session_user) = principal else {
            return Err(AppError::NotFound);
        };
        let user = self.me(principal).await?;
        let Some(credentials) = self.store.credentials(user.username.as_str()).await? else {
            return Err(AuthError::Unauthenticated.into());
        };
        if credentials.user.mfa_enrolled {
            return Err(AppError::Conflict {
                code: "mfa_already_enrolled",
                message: "a TOTP authenticator is already enrolled; an administrator can reset it",
            });
        }
        if credentials.totp_secret.is_none() {
            return Err(AppError::Conflict {
                code: "mfa_not_started",
                message: "start enrolment first with POST /v1/auth/mfa/enroll",
            });
        }
        let now = self.clock.now();
        let mut event = self.user_event(user.id, Some(user.role), Action::MfaConfirm, origin)?;
        if !self.accept_totp(&credentials, code, now).await? {
            let e = AuthError::InvalidMfaCode;
            event.outcome = Outcome::denied(e.code());
            self.record(vec![event]).await?;
            return Err(e.into());
        }
        self.record(vec![event]).await?;
        self.store.confirm_totp(user.id, now).await?;
        self.store
            .complete_session_mfa(session_user.session)
            .await?;
        tracing::info!(user_id = %user.id, "MFA enrolled");
        Ok(())
    }
}

/// What a sign-in attempt found out, for its audit event.
#[derive(Debug, Default)]
struct Attempt {
    /// The account the username named, if it exists.
    user: Option<tutela_domain::UserId>,
    /// Locks this attempt set (`account_locked`, `address_locked`).
    locked: Vec<&'static str>,
}

impl App {
    /// An allowed event by `user` about their own account.
    fn user_event(
        &self,
        user: tutela_domain::UserId,
        role: Option<tutela_domain::Role>,
        action: Action,
        origin: &ClientContext,
    ) -> Result<AuditEvent, AppError> {
        let object = object(ObjectKind::User, user)?;
        Ok(AuditEvent::new(
            self.clock.now(),
            Actor::User(user),
            action,
            Outcome::Allowed,
        )
        .role(role)
        .object(object)
        .client(origin.clone()))
    }
}

/// The TOTP parameters every authenticator app supports: SHA-1, six digits,
/// 30-second steps, one step of tolerance either side (RFC 6238 defaults).
fn totp_for(secret: Vec<u8>, user: &User) -> Result<totp_rs::Totp, AppError> {
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_issuer(Some("Tutela"))
        .with_account_name(user.username.as_str())
        .build()
        .map_err(|e| AppError::internal(format!("totp parameters: {e}")))
}

/// `instant + duration`, as an internal error if it leaves the representable range.
pub(crate) fn add(instant: Timestamp, duration: SignedDuration) -> Result<Timestamp, AppError> {
    instant
        .checked_add(duration)
        .map_err(|_| AppError::internal("instant out of range"))
}
