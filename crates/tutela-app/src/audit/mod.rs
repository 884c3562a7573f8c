//! The audit trail in the application: recording events (group commit),
//! subject pseudonyms, reading the trail (DPO and auditor only, itself
//! audited), proofs, checkpoints and verification.

mod appender;
mod read;
mod signer;
mod verify;

use ring::hmac;
use tutela_domain::SubjectId;
use tutela_domain::audit::{AuditEvent, ObjectKind, ObjectRef, Pseudonym};

pub use appender::Appender;
pub use read::{
    AuditEntry, AuditGrant, AuditQuery, ConsistencyProof, InclusionProof, MAX_AUDIT_PAGE,
};
pub use signer::{AuditSigner, TrustedKeys};
pub use verify::{
    PrecheckedPage, StoredTerms, Verification, VerifyError, VerifyReport, precheck_page,
    verify_store,
};

use crate::{App, AppError};

/// Default number of events between checkpoints.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// The pseudonym of `subject` under its secret: HMAC-SHA256 with a label,
/// so the same secret could never produce a digest usable elsewhere.
pub fn pseudonym(secret: &[u8], subject: SubjectId) -> Pseudonym {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(b"tutela audit subject v1");
    ctx.update(subject.0.as_bytes());
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref().get(..32).unwrap_or(&[0; 32]));
    Pseudonym(out)
}

/// An object reference to an entity by its identifier.
pub(crate) fn object(kind: ObjectKind, id: impl std::fmt::Display) -> Result<ObjectRef, AppError> {
    ObjectRef::new(kind, id.to_string()).map_err(|e| AppError::internal(e.reason))
}

/// A fresh pseudonym secret for a new subject.
pub(crate) fn new_subject_secret() -> Result<[u8; 32], AppError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(secret)
}

impl App {
    /// Records `events` durably; an operation calls this before it answers
    /// (before it reveals data, before it writes), so that if the trail
    /// cannot be written the operation fails instead of going unaudited.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), AppError> {
        self.appender.append(events).await
    }

    /// Runs `operation` after recording `event`; if the operation then
    /// fails, a second event records the failure with its code, so the trail
    /// never claims an effect without saying it did not happen.
    pub(crate) async fn audited<T>(
        &self,
        event: AuditEvent,
        operation: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        self.audited_on(vec![event], operation).await
    }

    /// [`App::audited`] for several events (one per subject reached).
    pub(crate) async fn audited_on<T>(
        &self,
        events: Vec<AuditEvent>,
        operation: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        self.record(events.clone()).await?;
        match operation.await {
            Ok(value) => Ok(value),
            Err(e) => {
                let now = self.clock.now();
                let failed = events
                    .into_iter()
                    .map(|mut failed| {
                        failed.instant = now;
                        failed.outcome = tutela_domain::audit::Outcome::denied(e.code());
                        failed
                    })
                    .collect();
                if let Err(audit) = self.record(failed).await {
                    tracing::error!(
                        code = audit.code(),
                        "recording a failed operation's outcome failed"
                    );
                }
                Err(e)
            }
        }
    }
}
