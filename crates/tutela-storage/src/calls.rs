//! What the call-gating decision reads and the dialer reports back: lists'
//! registry checks, call outcomes and suppressions, all keyed by the blind
//! index of the number (never the number itself).

use async_trait::async_trait;
use tutela_domain::{
    BlindIndex, CallOutcome, Channel, ConsentEvent, ControllerId, Language, LeadList, ListId,
    Purpose, Registry, Subject, SubjectId, Timestamp,
};

use crate::StorageError;

/// One check of a stored list against a registry snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCheck {
    /// The list checked.
    pub list_id: ListId,
    /// The registry.
    pub registry: Registry,
    /// The snapshot's as-of instant: what the validity window runs from.
    pub as_of: Timestamp,
    /// SHA-256 of the snapshot's payload: which snapshot exactly.
    pub snapshot_sha256: [u8; 32],
    /// When the check ran.
    pub checked_at: Timestamp,
    /// Members found on the registry.
    pub listed: u64,
}

/// Why a number is suppressed for a controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// `erased` (the person was erased and must never be called again).
    pub reason: String,
    /// Since when.
    pub at: Timestamp,
}

/// A list holding the number, as the decision needs it.
#[derive(Debug, Clone)]
pub struct ListOnRecord {
    /// The list with its provenance and expiry.
    pub list: LeadList,
    /// The snapshot as-of instant of its latest check per registry.
    pub checks: Vec<(Registry, Timestamp)>,
    /// True when the list's data was not collected from the person and the
    /// art. 14 notice has not been given to them yet.
    pub notice_owed: bool,
}

/// Everything the store knows about one number of one controller, read in
/// one go for the call decision.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    /// The subject holding the number, if any.
    pub subject: Option<SubjectId>,
    /// The subject's pseudonym secret, for the decision's audit event.
    pub audit_secret: Option<Vec<u8>>,
    /// A suppression of the number, if any.
    pub suppression: Option<Suppression>,
    /// The lists holding the subject.
    pub lists: Vec<ListOnRecord>,
    /// Outcomes reported for the number at or after the `since` asked for,
    /// oldest first.
    pub outcomes: Vec<(Timestamp, CallOutcome)>,
    /// The latest published notice version in the language asked for.
    pub notice_version: Option<u32>,
    /// When consent was asked for: the subject's latest consent event for
    /// that purpose and channel at or before the instant, with the number
    /// of registry registrations after it (up to the instant), exactly as
    /// [`crate::ConsentRepository::last_consent_event`] answers.
    pub consent: Option<(ConsentEvent, u64)>,
}

/// The consent question the call decision folds into its one read.
#[derive(Debug, Clone, Copy)]
pub struct ConsentAsk<'a> {
    /// The purpose of the call.
    pub purpose: &'a Purpose,
    /// The channel of the contact.
    pub channel: Channel,
    /// The instant the consent must hold at.
    pub at: Timestamp,
}

/// Call gating's reads and the dialer's reports.
#[async_trait]
pub trait CallRepository: Send + Sync {
    /// Records a check of a list of `controller`; `NotFound` when the list
    /// is not the controller's.
    async fn record_list_check(
        &self,
        controller: ControllerId,
        check: &ListCheck,
    ) -> Result<(), StorageError>;

    /// A page of the subjects on a list of `controller`, in subject order
    /// after `after` (what a scrub reads the numbers from).
    async fn list_subjects(
        &self,
        controller: ControllerId,
        list: ListId,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<Subject>, StorageError>;

    /// Every check of a list of `controller`, newest first.
    async fn list_checks(
        &self,
        controller: ControllerId,
        list: ListId,
    ) -> Result<Vec<ListCheck>, StorageError>;

    /// Appends a call outcome for the number with blind index `blind`.
    async fn record_call_outcome(
        &self,
        controller: ControllerId,
        blind: BlindIndex,
        at: Timestamp,
        outcome: CallOutcome,
    ) -> Result<(), StorageError>;

    /// What is known of the number with blind index `blind` for
    /// `controller`: subject, suppression, lists with checks, outcomes
    /// since `since`, the notice version in `language`, and with `consent`
    /// the subject's latest consent event for it; in one read.
    async fn call_record(
        &self,
        controller: ControllerId,
        blind: BlindIndex,
        since: Timestamp,
        language: Option<Language>,
        consent: Option<ConsentAsk<'_>>,
    ) -> Result<CallRecord, StorageError>;
}
