//! Lead lists and their imports, the consent ledger and privacy notices: the
//! traits and the rows they carry.

use async_trait::async_trait;
use tutela_domain::{
    BlindIndex, ConsentEvent, ControllerId, LeadList, ListId, RegistryRegistration, Subject,
    SubjectId, Timestamp,
};

use crate::StorageError;

/// A subject ready to insert or rewrite: the record document is encoded by
/// the caller, which can do it on another core than the writer's.
#[derive(Debug, Clone)]
pub struct SubjectRow {
    /// The subject.
    pub id: SubjectId,
    /// When first recorded.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
    /// The record document ([`tutela_domain::encode_record`]).
    pub record: String,
}

/// A row of an import's rejection report. Reasons name the problem, never
/// the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Row number in the file, 1 for the first data row after the header.
    pub row: u64,
    /// The column, as named in the file's header (or `row` for the whole row).
    pub column: String,
    /// Why.
    pub reason: String,
}

/// One batch of an import, written inside the import's transaction.
#[derive(Debug, Default)]
pub struct ImportBatch {
    /// New subjects with their audit pseudonym secrets.
    pub new_subjects: Vec<(SubjectRow, [u8; 32])>,
    /// Known subjects whose records gained attributes or contact points.
    pub updated_subjects: Vec<SubjectRow>,
    /// Blind indexes claimed for a row that turned out to be a known
    /// person: they now find that person.
    pub reassigned: Vec<(BlindIndex, SubjectId)>,
    /// Blind indexes claimed for such a row that the person did not take
    /// (an identifier of a kind the person already has): given up.
    pub released: Vec<(BlindIndex, SubjectId)>,
    /// Members of the list: subject and first row number.
    pub members: Vec<(SubjectId, u64)>,
    /// Rejected rows.
    pub rejections: Vec<Rejection>,
}

/// An import in progress: one transaction. Dropping it without
/// [`ImportSession::commit`] rolls everything back, so a failed or
/// interrupted import leaves nothing.
#[async_trait]
pub trait ImportSession: Send {
    /// The id the list will have once committed.
    fn list_id(&self) -> ListId;

    /// Records blind indexes for the subjects named, except those another
    /// subject of the controller (stored, or written earlier by this import)
    /// holds already: those are returned with their holder. One index
    /// operation per identifier finds known people and records new ones.
    async fn claim(
        &mut self,
        lookups: &[(BlindIndex, SubjectId)],
    ) -> Result<Vec<(BlindIndex, SubjectId)>, StorageError>;

    /// Those of `blinds` that belong to people erased at their request
    /// (suppressed as `erased`): rows carrying them are never imported.
    async fn erased(&mut self, blinds: &[BlindIndex]) -> Result<Vec<BlindIndex>, StorageError>;

    /// The records of subjects of this controller, as this import sees them.
    async fn subjects(&mut self, ids: &[SubjectId]) -> Result<Vec<Subject>, StorageError>;

    /// Writes one batch.
    async fn write(&mut self, batch: &ImportBatch) -> Result<(), StorageError>;

    /// Records the list and commits. A list with the same content digest
    /// committed meanwhile makes this a [`StorageError::Conflict`] and
    /// nothing is written.
    async fn commit(
        self: Box<Self>,
        list: &LeadList,
        imported_by: &str,
    ) -> Result<(), StorageError>;
}

/// A person on a list whose art. 14 notice is outstanding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDue {
    /// The list the data came from.
    pub list_id: ListId,
    /// The person.
    pub subject_id: SubjectId,
    /// When the notice is (or was) due.
    pub due_at: Timestamp,
    /// When the person was first contacted, if they were.
    pub first_contact_at: Option<Timestamp>,
}

/// What a purge of expired lists removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListPurge {
    /// Lists purged.
    pub lists: u64,
    /// Memberships removed.
    pub members: u64,
    /// Subjects erased because no list, consent or other record kept them.
    pub subjects: u64,
}

/// Lead lists.
#[async_trait]
pub trait ListRepository: Send + Sync {
    /// Starts an import for `controller` of the list that will be `list`.
    async fn begin_import(
        &self,
        controller: ControllerId,
        list: ListId,
    ) -> Result<Box<dyn ImportSession>, StorageError>;

    /// One list of `controller`.
    async fn lead_list(
        &self,
        controller: ControllerId,
        id: ListId,
    ) -> Result<Option<LeadList>, StorageError>;

    /// The list of `controller` imported from content with this digest.
    async fn lead_list_by_digest(
        &self,
        controller: ControllerId,
        digest: &[u8; 32],
    ) -> Result<Option<LeadList>, StorageError>;

    /// `controller`'s lists, newest first.
    async fn lead_lists(&self, controller: ControllerId) -> Result<Vec<LeadList>, StorageError>;

    /// A page of a list's rejection report, in row order after `after_row`.
    async fn list_rejections(
        &self,
        controller: ControllerId,
        list: ListId,
        after_row: u64,
        limit: u32,
    ) -> Result<Vec<Rejection>, StorageError>;

    /// A page of a list's members in subject order after `after`.
    async fn list_members(
        &self,
        controller: ControllerId,
        list: ListId,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<SubjectId>, StorageError>;

    /// The lists of `controller` a subject is on.
    async fn subject_lists(
        &self,
        controller: ControllerId,
        subject: SubjectId,
    ) -> Result<Vec<ListId>, StorageError>;

    /// Outstanding art. 14 notices of `controller` due at or before `now`
    /// (a month after acquisition, or at first contact), oldest first.
    async fn notices_overdue(
        &self,
        controller: ControllerId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<NoticeDue>, StorageError>;

    /// Records an art. 14 event for `subject` on every list of `controller`
    /// they are on, keeping an earlier instant of the same event. False when
    /// the subject is on none.
    async fn record_art14(
        &self,
        controller: ControllerId,
        subject: SubjectId,
        event: tutela_domain::Art14Event,
        at: Timestamp,
    ) -> Result<bool, StorageError>;

    /// Purges every list of `controller` expired at `now`: memberships and
    /// rejection reports go, the list's provenance stays (marked purged),
    /// and subjects left on no list and without consent events are erased.
    async fn purge_expired_lists(
        &self,
        controller: ControllerId,
        now: Timestamp,
    ) -> Result<ListPurge, StorageError>;
}

/// The consent ledger. Events are appended, never changed.
#[async_trait]
pub trait ConsentRepository: Send + Sync {
    /// Appends an event for a subject of its controller. A subject of
    /// another controller, or none, is `NotFound`.
    async fn append_consent(&self, event: &ConsentEvent) -> Result<(), StorageError>;

    /// Appends a registry registration for a subject of `controller`.
    async fn append_registration(
        &self,
        controller: ControllerId,
        registration: &RegistryRegistration,
    ) -> Result<(), StorageError>;

    /// Every event of one subject of `controller`, in (at, id) order.
    async fn consent_events(
        &self,
        controller: ControllerId,
        subject: SubjectId,
    ) -> Result<Vec<ConsentEvent>, StorageError>;

    /// The last event of one subject, purpose and channel given at or before
    /// `at` (ties broken by id): the one that decides the state then; with
    /// how many registrations took effect after it and at or before `at`
    /// (when none did, no registration can void it: one query answers).
    async fn last_consent_event(
        &self,
        controller: ControllerId,
        subject: SubjectId,
        purpose: &tutela_domain::Purpose,
        channel: tutela_domain::Channel,
        at: Timestamp,
    ) -> Result<Option<(ConsentEvent, u64)>, StorageError>;

    /// The registry registrations of one subject that took effect at or
    /// before `at`, oldest first.
    async fn registrations(
        &self,
        controller: ControllerId,
        subject: SubjectId,
        at: Timestamp,
    ) -> Result<Vec<RegistryRegistration>, StorageError>;
}

/// Privacy notices: published versions are kept, never changed.
#[async_trait]
pub trait NoticeRepository: Send + Sync {
    /// Stores `content` as the next version of `controller`'s notice in
    /// `language` and returns that version (1 for the first).
    async fn publish_notice(
        &self,
        controller: ControllerId,
        language: tutela_domain::Language,
        content: &tutela_domain::NoticeDraft,
        at: Timestamp,
        by: &str,
    ) -> Result<u32, StorageError>;

    /// One version of a notice, or the latest when `version` is `None`.
    async fn privacy_notice(
        &self,
        controller: ControllerId,
        language: tutela_domain::Language,
        version: Option<u32>,
    ) -> Result<Option<tutela_domain::PublishedNotice>, StorageError>;
}
