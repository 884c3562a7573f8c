//! Repository traits of Tutela's storage, the errors they return, and the
//! database URL that chooses a backend.
//!
//! Each backend (`tutela-storage-sqlite`, `tutela-storage-postgres`) implements
//! [`Store`]; one conformance suite (in the `tutela` crate's integration tests)
//! runs the same tests on both. The contract every implementation keeps:
//!
//! - every method is atomic: a method that writes more than one row does so in
//!   one transaction, and a failure leaves nothing half-written;
//! - backend errors never cross this boundary: they become [`StorageError`];
//! - no method returns an empty result to hide a failure.

mod audit;
mod audit_query;
mod audit_segment;
mod call_record_rows;
mod calls;
mod error;
mod lists;
mod recordings;
mod repositories;
mod requests;
mod rows;
mod rows_lists;
mod sql;
mod sql_audit;
mod sql_calls;
mod sql_clients;
mod sql_consent;
mod sql_controllers;
mod sql_lists;
mod sql_notices;
mod sql_recordings;
mod sql_requests;
mod sql_sessions;
mod sql_setup;
mod sql_subjects;
mod sql_users;
mod url;

pub use audit::{
    AuditAppend, AuditBatch, AuditFilter, AuditRead, ChainTails, SealOnTails, StoredTerm,
};
pub use audit_query::{QUERY_EPOCHS, QUERY_SEGMENTS, collect_matching, decode_segment};
pub use audit_segment::{
    EPOCH_EVENTS, IndexedRecord, SEGMENT_EVENTS, SegmentError, SegmentRow, StoredSegment,
    encode_records, epoch_of, segment_rows,
};
pub use call_record_rows::{
    CALL_RECORD_SQL, CallRecordRow, call_record_from_rows, uuid_from_bytes,
};
pub use calls::{CallRecord, CallRepository, ConsentAsk, ListCheck, ListOnRecord, Suppression};
pub use error::StorageError;
/// A calendar date (deadlines are dates in the controller's zone).
pub use jiff::civil::Date as CivilDate;
pub use lists::{
    ConsentRepository, ImportBatch, ImportSession, ListPurge, ListRepository, NoticeDue,
    NoticeRepository, Rejection, SubjectRow,
};
pub use recordings::{
    ListenClaim, RecordingMeta, RecordingRepository, StoredRecording, WrappedKey,
};
pub use repositories::{
    ClientRepository, ControllerRepository, Credentials, Health, NewApiToken, NewSession,
    Readiness, SessionRecord, SessionRepository, SetupCompletion, SetupRepository, SetupTokenIssue,
    Store, SubjectRepository, ThrottleRepository, TokenRecord, UserChange, UserRepository,
    UserUpdate,
};
pub use requests::{
    OutboxItem, RequestDetails, RequestMove, RequestRepository, RequestStep, StoredCode,
    StoredLetter, StoredRequest,
};
pub use rows::{
    AGREEMENT_COLUMNS, ATTESTATION_COLUMNS, AUDIT_CHAIN_SIZE, AUDIT_TAIL_SEGMENT, AgreementTuple,
    AttestationTuple, CHECKPOINT_COLUMNS, CLIENT_COLUMNS, CONTROLLER_COLUMNS, CheckpointTuple,
    ClientTuple, ControllerTuple, INSERT_CHECKPOINT, ROWS_PER_STATEMENT, SegmentTuple,
    SubjectTuple, USER_COLUMNS, UserTuple, agreement_from_row, attestation_from_row,
    capabilities_text, checkpoint_from_row, client_from_row, controller_from_row, corrupt, micros,
    optional_timestamp, segment_from_row, seq_param, subject_from_row, tail_from_row,
    terms_from_aggregates, terms_json, timestamp, user_as_stored, user_from_row,
};
pub use rows_lists::{
    ConsentEventTuple, ConsentEventWithLater, LeadListTuple, ListMemberTuple, RegistrationTuple,
    aggregated_checks, aggregated_outcomes, consent_event_from_row, json_text, json_value,
    lead_list_from_row, list_member_from_row, registration_from_row,
};
pub use sql_recordings::{RECORDING_COLUMNS, RecordingTuple, recording_from_row, version_column};
pub use sql_requests::{REQUEST_COLUMNS, RequestTuple, request_from_row};
pub use url::{DatabaseUrl, DatabaseUrlError, OpenMode};
