//! Data-subject requests as stored: the request with its deadlines and
//! state, the blind indexes of the identifiers it gave (never the
//! identifiers), its history, the digests of one-time codes sent to verify
//! the requester, the letters answering it, and the outbox of requests
//! passed on to their controller.

use async_trait::async_trait;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tutela_domain::{
    BlindIndex, Channel, ControllerId, IntakeChannel, Language, Purpose, RequestId, RequestKind,
    RequestState, SubjectId, Timestamp,
};

use crate::StorageError;

/// What a request is about beyond its kind, stored as JSON: slugs only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetails {
    /// The purpose objected to or whose consent is withdrawn (all when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The channel concerned (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// The kinds of identifiers given (`phone`, `email`, …), for people
    /// reading the request; the values are never stored.
    #[serde(default)]
    pub identifier_kinds: Vec<String>,
}

/// One data-subject request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    /// The request (its reference in letters).
    pub id: RequestId,
    /// The controller it is for.
    pub controller: ControllerId,
    /// What is asked.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: IntakeChannel,
    /// The person's language, for letters.
    pub language: Language,
    /// Where it stands.
    pub state: RequestState,
    /// When it was received.
    pub received_at: Timestamp,
    /// The IANA zone its deadlines are counted in.
    pub zone: String,
    /// The answer is due by the end of this day.
    pub due: Date,
    /// The latest day an extension may reach.
    pub latest_extension: Date,
    /// The extended deadline, once extended.
    pub extended_until: Option<Date>,
    /// The person, once the requester proved to be them.
    pub subject: Option<SubjectId>,
    /// An earlier open request of the same kind sharing an identifier.
    pub duplicate_of: Option<RequestId>,
    /// Purpose and channel concerned.
    pub details: RequestDetails,
    /// Bumped by every move; a move names the version it starts from.
    pub version: u32,
}

impl StoredRequest {
    /// The deadline in force: the extension's when extended.
    pub fn deadline(&self) -> Date {
        self.extended_until.unwrap_or(self.due)
    }
}

/// One step of a request's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStep {
    /// The state entered.
    pub state: RequestState,
    /// When.
    pub at: Timestamp,
    /// Who moved it (`user:…`, `client:…`, `operator`).
    pub actor: String,
    /// Reasons, dates and counts as JSON: slugs only, never free text.
    pub detail: String,
}

/// A letter answering a request, stored with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLetter {
    /// `answered`, `refused` or `extended`.
    pub outcome: String,
    /// Its language.
    pub language: Language,
    /// Subject line.
    pub subject: String,
    /// Text.
    pub body: String,
    /// When it was written.
    pub at: Timestamp,
}

/// A request passed on to its controller, waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The item.
    pub id: uuid::Uuid,
    /// The controller it goes to.
    pub controller: ControllerId,
    /// The request.
    pub request: RequestId,
    /// What is handed over (JSON).
    pub payload: String,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// A move of a request to a new state, with what changes with it.
#[derive(Debug, Clone)]
pub struct RequestMove {
    /// The step recorded.
    pub step: RequestStep,
    /// The person, when the move verifies the requester.
    pub subject: Option<SubjectId>,
    /// The new deadline, when the move extends it.
    pub extended_until: Option<Date>,
    /// A letter to store with the move.
    pub letter: Option<StoredLetter>,
    /// Something to pass on to the controller.
    pub outbox: Option<OutboxItem>,
}

/// A one-time code's digest for one candidate person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// The person the code was sent to (a contact point on file).
    pub subject: SubjectId,
    /// Keyed hash of the code.
    pub digest: Vec<u8>,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Storage of data-subject requests.
#[async_trait]
pub trait RequestRepository: Send + Sync {
    /// Stores a new request, the blind indexes of its identifiers and its
    /// first step, in one transaction.
    async fn insert_request(
        &self,
        request: &StoredRequest,
        identifiers: &[BlindIndex],
        first: &RequestStep,
    ) -> Result<(), StorageError>;

    /// One request of the controller.
    async fn request(
        &self,
        controller: ControllerId,
        id: RequestId,
    ) -> Result<Option<StoredRequest>, StorageError>;

    /// Open requests of the controller of `kind` that gave any of
    /// `identifiers`, oldest first: the candidates a new request
    /// duplicates.
    async fn open_requests_sharing(
        &self,
        controller: ControllerId,
        kind: RequestKind,
        identifiers: &[BlindIndex],
    ) -> Result<Vec<RequestId>, StorageError>;

    /// Every request verified as coming from `subject`, oldest first.
    async fn subject_requests(
        &self,
        controller: ControllerId,
        subject: SubjectId,
    ) -> Result<Vec<StoredRequest>, StorageError>;

    /// Open requests of the controller whose deadline in force is on or
    /// before `due_by` (all open ones when `None`), earliest deadline
    /// first, at most `limit`.
    async fn open_requests(
        &self,
        controller: ControllerId,
        due_by: Option<Date>,
        limit: u32,
    ) -> Result<Vec<StoredRequest>, StorageError>;

    /// Moves the request from `version` to the step's state, with what
    /// changes with it, in one transaction. `false` when the request is
    /// no longer at `version` (moved meanwhile): nothing is written.
    async fn move_request(
        &self,
        controller: ControllerId,
        id: RequestId,
        version: u32,
        change: &RequestMove,
    ) -> Result<bool, StorageError>;

    /// The request's history, oldest first.
    async fn request_history(&self, id: RequestId) -> Result<Vec<RequestStep>, StorageError>;

    /// The letters stored with the request, oldest first.
    async fn request_letters(&self, id: RequestId) -> Result<Vec<StoredLetter>, StorageError>;

    /// Replaces the request's one-time codes.
    async fn put_codes(&self, id: RequestId, codes: &[StoredCode]) -> Result<(), StorageError>;

    /// The request's one-time codes.
    async fn request_codes(&self, id: RequestId) -> Result<Vec<StoredCode>, StorageError>;

    /// Counts one attempt at a code; returns the attempts so far.
    async fn count_code_attempt(&self, id: RequestId) -> Result<u32, StorageError>;

    /// Restricts processing of a person (art. 18): each of their
    /// `identifiers` is suppressed as `restricted` (unless already
    /// suppressed), so calls to them are denied while their data stays.
    /// Returns how many were added.
    async fn restrict_subject(
        &self,
        controller: ControllerId,
        identifiers: &[BlindIndex],
        at: Timestamp,
    ) -> Result<u64, StorageError>;

    /// Outbox items not yet delivered, oldest first.
    async fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxItem>, StorageError>;

    /// Records an item's delivery, and where it went.
    async fn mark_delivered(
        &self,
        item: uuid::Uuid,
        at: Timestamp,
        to: &str,
    ) -> Result<(), StorageError>;
}
