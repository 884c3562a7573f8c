//! Tutela's domain layer: the types, rules and decisions of the privacy core.
//!
//! This crate has no HTTP, no SQL and no I/O. Everything that depends on the
//! current instant takes it from a [`Clock`] passed in, so deadline, retention
//! and calling-hour rules can be tested at exact instants.
//!
//! Types here *parse*: a value of [`Username`] or [`Purpose`] is valid by
//! construction, so code that holds one never re-checks it.

#[macro_use]
mod slug_enum;

pub mod access;
pub mod agreement;
pub mod attestation;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod calling_hours;
pub mod client;
pub mod clock;
pub mod consent;
pub mod contact;
pub mod controller;
pub mod dsr;
pub mod error;
pub mod gating;
pub mod ids;
pub mod jurisdiction;
pub mod lead_list;
pub mod list_import;
pub mod masking;
pub mod notice;
pub mod number_set;
pub mod numbering;
pub mod recording;
pub mod recording_policy;
pub mod registry;
pub mod registry_snapshot;
pub mod secret;
pub mod setup;
pub mod subject;
pub mod subject_record;
pub mod text;
pub mod user;

pub use access::{
    AccessDenied, Capability, ClientKind, ClientPrincipal, Principal, TenantFacts, UserPrincipal,
    authorize_audit, authorize_personal_data_scope, authorize_platform, authorize_scope,
    authorize_tenant,
};
pub use agreement::{
    Agreement, AgreementDraft, AgreementTerms, AgreementViolation, AllowedPurpose, DataCategory,
    InvalidTerms, LegalBasis, Purpose, RetentionRule, SubProcessor,
};
pub use attestation::{Attestation, AttestationKind, AttestationProblem, check_attestations};
pub use auth::{AuthError, LoginPolicy, TotpCode};
pub use calendar::{
    HolidayCalendar, HolidayDate, HolidayRule, InvalidHolidayRule, Observance, easter_sunday,
};
pub use calling_hours::{CallingHours, ClosedBecause, HoursVerdict, InvalidCallingHours};
pub use client::MachineClient;
pub use clock::{Clock, ManualClock, SystemClock};
pub use consent::{
    Channel, ConsentAction, ConsentEvent, ConsentQuery, ConsentState, Evidence,
    RegistryRegistration, consent_state, voiding_possible,
};
pub use contact::{ContactKind, ContactPoint, EmailAddress, PhoneNumber};
pub use controller::Controller;
pub use dsr::{
    Deadlines, ExtensionReason, ExtensionRefused, IntakeChannel, RefusalReason, RequestKind,
    RequestState, Urgency,
};
pub use error::{DomainError, InvalidValue};
pub use gating::{
    CallFacts, CallQuestion, Decision, DenyReason, ListFact, Obligation, RegistryFact, Verdict,
    decide,
};
pub use ids::{
    AttestationId, ClientId, ConsentEventId, ControllerId, ListId, NoticeId, RecordingId,
    RequestId, SessionId, SubjectId,
};
pub use jurisdiction::{
    AttemptCap, CallOutcome, CoolOff, Jurisdiction, JurisdictionRules, MarketingBasis,
    ObligationKind, OperatorAbroadRule, RegimePeriod, RegistryRule, RulesError,
};
pub use lead_list::{
    Art14Event, LeadList, Provenance, SOURCE_RULES, SourceKind, SourceRule, art14_due, list_expiry,
};
pub use list_import::{
    CellError, ColumnMapping, ColumnTarget, MappedColumn, ParsedRow, ResolvedMapping,
};
pub use masking::{Viewer, Visibility, mask, visibility};
pub use notice::{Language, NoticeDraft, NoticePurpose, NoticeText, PublishedNotice, SpokenNotice};
pub use number_set::{NumberSet, NumberSetError};
pub use numbering::NumberingPlan;
pub use recording::{
    PauseSpan, PersonAnswer, Retention, UploadClaims, check_pauses, check_upload, coarse_day,
    listen_allowance, month_of, retention,
};
pub use recording_policy::{
    CallId, Campaign, InvalidPolicy, RecordingDecision, RecordingPolicy, RecordingPolicyDraft,
    RecordingRefusal, decide_recording, sample_position,
};
pub use registry::{Registry, VoidingRule, default_voiding_rules};
pub use registry_snapshot::{RegistryRef, Snapshot, SnapshotError, SnapshotHeader, is_snapshot};
pub use secret::{Secret, SecretDigest};
pub use setup::{SETUP_TOKEN_VALIDITY, SetupToken};
pub use subject::{
    Attribute, AttributeName, AttributeValue, BLIND_INDEXED_ATTRIBUTES, BlindIndex, LookupKey,
    StoredAttribute, StoredContact, StoredValue, Subject, normalise_identifier,
};
pub use subject_record::{decode_record, encode_record};
pub use text::{CountryCode, Label};
pub use user::{NewUser, Password, PasswordHash, Role, User, UserId, Username};

/// An instant on the UTC time line, with microsecond precision in storage.
pub type Timestamp = jiff::Timestamp;
