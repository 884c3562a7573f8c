//! Proving the requester is the person: a six-digit code, one per
//! matching person, sent to that person's contact points on file (never to
//! one the requester gives), valid for a day and five tries. The code that
//! comes back names the person; nobody else is revealed.

use jiff::SignedDuration;
use tutela_domain::audit::{Action, ObjectKind, Outcome};
use tutela_domain::{RequestId, RequestState, Subject};
use tutela_storage::{RequestMove, RequestStep, StoredCode, StoredRequest};

use crate::audit::object;
use crate::grants::{TakeRequests, TenantPermission};
use crate::{App, AppError, TenantGrant};

/// How long a code works.
pub const CODE_VALIDITY: SignedDuration = SignedDuration::from_hours(24);
/// Tries per request before codes stop working.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// A uniformly drawn six-digit code.
fn six_digits() -> Result<String, AppError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        let n = u32::from_le_bytes(bytes);
        // Rejection keeps every code equally likely.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Compares two digests in constant time.
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl App {
    /// Sends a code to each of `people` at their contact points on file,
    /// then moves the request to awaiting identity (whatever matched).
    pub(super) async fn send_codes<P: TenantPermission>(
        &self,
        grant: &TenantGrant<P>,
        request: StoredRequest,
        people: &[Subject],
    ) -> Result<StoredRequest, AppError> {
        let delivery = self.delivery()?;
        let keys = self.keys.controller_keys(grant.controller())?;
        let now = self.clock.now();
        let expires_at = now
            .checked_add(CODE_VALIDITY)
            .map_err(|_| AppError::internal("instant out of range"))?;
        let mut codes = Vec::with_capacity(people.len());
        let mut messages = Vec::new();
        for person in people {
            let code = six_digits()?;
            codes.push(StoredCode {
                subject: person.id,
                digest: keys.code_digest(request.id, person.id, &code).to_vec(),
                expires_at,
            });
            for contact in &person.contacts {
                messages.push((contact.point.clone(), code.clone()));
            }
        }
        // Stored before sent: a code that arrives always works.
        self.store.put_codes(request.id, &codes).await?;
        let sent = messages.len();
        for (to, code) in &messages {
            delivery
                .codes
                .send_code(to, code, request.language, request.id)
                .await?;
        }
        let step = RequestStep {
            state: RequestState::AwaitingIdentity,
            at: now,
            actor: grant.actor(),
            // Counts are for the people handling requests; the requester's
            // answer is the same either way.
            detail: serde_json::json!({ "people": codes.len(), "messages": sent }).to_string(),
        };
        let event = grant
            .event(Action::RequestVerify, now)
            .object(object(ObjectKind::Request, request.id)?);
        self.move_audited(event, &request, plain_move(step)).await
    }

    /// Checks the code the requester gives. The right code verifies them as
    /// the person it was sent to; a wrong, expired or exhausted one is
    /// refused (`code_mismatch`, `code_expired`, `too_many_attempts`) and
    /// recorded.
    pub async fn confirm_request_code(
        &self,
        grant: &TenantGrant<TakeRequests>,
        id: RequestId,
        code: &str,
    ) -> Result<super::RequestView, AppError> {
        let request = self.stored_request(grant, id).await?;
        if request.state != RequestState::AwaitingIdentity {
            return Err(AppError::invalid(
                "code",
                "the request is not awaiting a code",
            ));
        }
        let now = self.clock.now();
        let target = object(ObjectKind::Request, id)?;
        let refuse = |reason: &'static str, message: &'static str| async move {
            let mut event = grant
                .event(Action::RequestVerify, now)
                .object(target.clone());
            event.outcome = Outcome::denied(reason);
            self.record(vec![event]).await?;
            Err::<super::RequestView, _>(AppError::Refused {
                code: reason,
                message: message.into(),
            })
        };
        let attempts = self.store.count_code_attempt(id).await?;
        if attempts > MAX_CODE_ATTEMPTS {
            return refuse(
                "too_many_attempts",
                "too many wrong codes: the request must be verified again",
            )
            .await;
        }
        let keys = self.keys.controller_keys(grant.controller())?;
        let code = code.trim();
        let codes = self.store.request_codes(id).await?;
        let matched = codes
            .iter()
            .find(|c| same_digest(&c.digest, &keys.code_digest(id, c.subject, code)));
        let Some(matched) = matched else {
            return refuse("code_mismatch", "the code is not the one sent").await;
        };
        if now >= matched.expires_at {
            return refuse("code_expired", "the code has expired").await;
        }
        let step = RequestStep {
            state: RequestState::Verified,
            at: now,
            actor: grant.actor(),
            detail: "{}".into(),
        };
        let change = RequestMove {
            subject: Some(matched.subject),
            ..plain_move(step)
        };
        let event = grant
            .event(Action::RequestVerify, now)
            .object(object(ObjectKind::Request, id)?);
        let moved = self.move_audited(event, &request, change).await?;
        Ok(self.request_view(moved))
    }

    /// Records `event`, then applies `change` to `request` (checked against
    /// its version and the state machine); returns the request as moved.
    pub(super) async fn move_audited(
        &self,
        event: tutela_domain::audit::AuditEvent,
        request: &StoredRequest,
        change: RequestMove,
    ) -> Result<StoredRequest, AppError> {
        request
            .state
            .check_move(change.step.state)
            .map_err(|e| AppError::invalid("state", e.reason))?;
        let moved = self
            .audited(event, async {
                Ok(self
                    .store
                    .move_request(request.controller, request.id, request.version, &change)
                    .await?)
            })
            .await?;
        if !moved {
            return Err(AppError::Conflict {
                code: "request_changed",
                message: "the request changed meanwhile; read it again",
            });
        }
        if change.subject.is_some() || change.step.state.is_closed() {
            // The codes have served; messages still waiting go.
            if let Err(e) = self.delivery()?.codes.forget(request.id).await {
                tracing::warn!(request_id = %request.id, code = e.code(), "unsent codes left in the outbox");
            }
        }
        Ok(StoredRequest {
            state: change.step.state,
            version: request.version.saturating_add(1),
            subject: change.subject.or(request.subject),
            extended_until: change.extended_until.or(request.extended_until),
            ..request.clone()
        })
    }
}

/// A move that changes only the state.
pub(super) fn plain_move(step: RequestStep) -> RequestMove {
    RequestMove {
        step,
        subject: None,
        extended_until: None,
        letter: None,
        outbox: None,
    }
}
