//! What an audit event says: who, in which role, for which controller, did
//! what to which object (and which data subject, by pseudonym), for which
//! declared purpose, from where, with what outcome, when.
//!
//! Every field is a parsed value with a closed alphabet or an identifier: no
//! name, number or free text from a request can reach an event.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use uuid::Uuid;

use crate::Timestamp;
use crate::agreement::Purpose;
use crate::error::InvalidValue;
use crate::ids::{ClientId, ControllerId};
use crate::user::{Role, UserId};

/// One append-only chain: each controller has its own, and the platform has
/// one for events that concern no controller (sign-ins, user management).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainId {
    /// The platform chain.
    Platform,
    /// A controller's chain.
    Controller(ControllerId),
}

impl ChainId {
    /// Stored form: the controller id, or the nil UUID for the platform.
    pub fn as_uuid(self) -> Uuid {
        match self {
            Self::Platform => Uuid::nil(),
            Self::Controller(c) => c.0,
        }
    }

    /// Inverse of [`ChainId::as_uuid`].
    pub fn from_uuid(id: Uuid) -> Self {
        if id.is_nil() {
            Self::Platform
        } else {
            Self::Controller(ControllerId(id))
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Platform => f.write_str("platform"),
            Self::Controller(c) => write!(f, "controller:{c}"),
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// Nobody authenticated (a failed sign-in, a bad token).
    Anonymous,
    /// A user account.
    User(UserId),
    /// A machine client's token.
    Client(ClientId),
    /// The operator at the machine, through the command line with access to
    /// the data directory.
    Operator,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("anonymous"),
            Self::User(u) => write!(f, "user:{}", u.0),
            Self::Client(c) => write!(f, "client:{c}"),
            Self::Operator => f.write_str("operator"),
        }
    }
}

impl FromStr for Actor {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = InvalidValue::new("must be anonymous, operator, user:<uuid> or client:<uuid>");
        match value {
            "anonymous" => Ok(Self::Anonymous),
            "operator" => Ok(Self::Operator),
            _ => match value.split_once(':') {
                Some(("user", id)) => Uuid::parse_str(id)
                    .map(|u| Self::User(UserId(u)))
                    .map_err(|_| bad),
                Some(("client", id)) => Uuid::parse_str(id)
                    .map(|u| Self::Client(ClientId(u)))
                    .map_err(|_| bad),
                _ => Err(bad),
            },
        }
    }
}

slug_enum!(
    /// What was done.
    Action, "audit action" {
        /// A sign-in with password (and code): allowed, or denied with why.
        Login = "auth.login",
        /// Failures locked an account or address out.
        Lockout = "auth.lockout",
        /// A session was ended.
        Logout = "auth.logout",
        /// A request carried a token that is unknown, expired or revoked.
        TokenRejected = "auth.token_rejected",
        /// A TOTP secret was issued for enrolment.
        MfaEnrol = "auth.mfa_enrol",
        /// A TOTP enrolment was confirmed with a code.
        MfaConfirm = "auth.mfa_confirm",
        /// The first administrator was created with the setup token.
        SetupComplete = "setup.complete",
        /// A controller was registered.
        ControllerCreate = "controller.create",
        /// An agreement version was recorded.
        AgreementRecord = "agreement.record",
        /// A platform operation on controllers was refused.
        ControllerManage = "controller.manage",
        /// A user account was created.
        UserCreate = "user.create",
        /// A user's role, scope or state changed.
        UserUpdate = "user.update",
        /// A user was disabled.
        UserDisable = "user.disable",
        /// A user's MFA was reset.
        UserMfaReset = "user.mfa_reset",
        /// An attestation was recorded for a user.
        AttestationRecord = "attestation.record",
        /// A platform operation on users was refused.
        UserManage = "user.manage",
        /// A machine client was registered.
        ClientCreate = "client.create",
        /// A machine client's token was rotated.
        ClientRotate = "client.rotate",
        /// A machine client was revoked.
        ClientRevoke = "client.revoke",
        /// A platform operation on machine clients was refused.
        ClientManage = "client.manage",
        /// A data subject's personal data was read.
        SubjectRead = "subject.read",
        /// A data subject was created or changed.
        SubjectWrite = "subject.write",
        /// A data subject was erased.
        SubjectErase = "subject.erase",
        /// Payment or special-category fields were shown in clear, or that
        /// was refused.
        SubjectReveal = "subject.reveal",
        /// Subjects were looked up by phone, e-mail or identifier.
        SubjectFind = "subject.find",
        /// A lead list was imported.
        ListImport = "list.import",
        /// A lead list, its members or its rejection report were read.
        ListRead = "list.read",
        /// Expired lead lists were purged.
        ListPurge = "list.purge",
        /// A consent, withdrawal, objection or registration was recorded.
        ConsentRecord = "consent.record",
        /// The consent ledger was read.
        ConsentRead = "consent.read",
        /// A first contact or a given art. 14 notice was recorded.
        NoticeRecord = "notice.record",
        /// A privacy notice was published.
        NoticePublish = "notice.publish",
        /// A dialer asked whether a number may be called: the outcome is
        /// the verdict (denied with the first reason's code).
        CallDecide = "call.decide",
        /// A dialer reported a call's outcome.
        CallOutcome = "call.outcome",
        /// A lead list was checked against the loaded registries.
        ListScrub = "list.scrub",
        /// Registry snapshots were reloaded on a node.
        RegistryReload = "registry.reload",
        /// A recording policy was set for a controller's campaign.
        RecordingPolicySet = "recording.policy",
        /// A PBX asked whether a call is to be recorded.
        RecordingDecide = "recording.decide",
        /// A recording was uploaded: stored, or refused with the policy's
        /// reason.
        RecordingUpload = "recording.upload",
        /// A recording was listened to, or that was refused (role, quota,
        /// missing, key destroyed).
        RecordingListen = "recording.listen",
        /// Recordings were listed for review.
        RecordingList = "recording.list",
        /// A legal hold was placed on or lifted from a recording.
        RecordingHold = "recording.hold",
        /// Expired recordings were crypto-shredded and their blobs deleted.
        RecordingPurge = "recording.purge",
        /// A recording's operator pseudonym was resolved, with the reason.
        OperatorResolve = "recording.operator_resolve",
        /// A controller's key-encryption key was rotated.
        KeyRotate = "key.rotate",
        /// A data-subject request was taken in.
        RequestReceive = "request.receive",
        /// Identity verification of a request: codes sent, or a code tried
        /// (denied when wrong).
        RequestVerify = "request.verify",
        /// A request was passed on to its controller, or work on it began.
        RequestForward = "request.forward",
        /// A request's deadline was extended.
        RequestExtend = "request.extend",
        /// A request was answered.
        RequestAnswer = "request.answer",
        /// A request was refused.
        RequestRefuse = "request.refuse",
        /// Requests were read or listed.
        RequestRead = "request.read",
        /// The audit trail was read.
        AuditRead = "audit.read",
        /// The audit trail was exported.
        AuditExport = "audit.export",
        /// A checkpoint was signed on demand.
        AuditCheckpoint = "audit.checkpoint",
        /// A proof was computed.
        AuditProof = "audit.proof",
    }
);

slug_enum!(
    /// The kind of object an event is about.
    ObjectKind, "object kind" {
        /// A sign-in account, named by a keyed digest of the username.
        Account = "account",
        /// A controller's agreement.
        Agreement = "agreement",
        /// An attestation.
        Attestation = "attestation",
        /// A chain of the audit trail.
        AuditTrail = "audit_trail",
        /// A machine client.
        Client = "client",
        /// A controller.
        Controller = "controller",
        /// A lead list.
        LeadList = "lead_list",
        /// A consent ledger entry.
        Consent = "consent",
        /// A privacy notice.
        Notice = "notice",
        /// A sign-in session.
        Session = "session",
        /// A call to a number (named only by the event's pseudonym when the
        /// number belongs to a known subject; never by the number).
        Call = "call",
        /// A do-not-call registry or suppression list snapshot.
        Registry = "registry",
        /// A call recording.
        Recording = "recording",
        /// A controller's recording policy for a campaign.
        RecordingPolicy = "recording_policy",
        /// A controller's key-encryption key.
        Key = "key",
        /// A data-subject request.
        Request = "request",
        /// A data subject (named only by the event's pseudonym).
        Subject = "subject",
        /// A user account.
        User = "user",
    }
);

/// The object an event is about: a kind and, when it has one, an identifier
/// (a UUID, a version number or a digest; never personal data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    kind: ObjectKind,
    id: Option<String>,
}

/// Longest object identifier (a digest in hex is 64).
const MAX_OBJECT_ID: usize = 80;

impl ObjectRef {
    /// An object with an identifier made of letters, digits and `-._:`.
    pub fn new(kind: ObjectKind, id: impl Into<String>) -> Result<Self, InvalidValue> {
        let id = id.into();
        if !Self::is_valid_id(&id) {
            return Err(InvalidValue::new(
                "must be 1 to 80 letters, digits or -._: characters",
            ));
        }
        Ok(Self { kind, id: Some(id) })
    }

    /// True when `id` is an identifier [`ObjectRef::new`] accepts.
    pub fn is_valid_id(id: &str) -> bool {
        is_identifier_text(id, MAX_OBJECT_ID)
    }

    /// An object named by its kind alone (a subject, whose identity is the
    /// event's pseudonym).
    pub fn kind_only(kind: ObjectKind) -> Self {
        Self { kind, id: None }
    }

    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The object's identifier, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ObjectText {
            kind: self.kind,
            id: self.id.as_deref(),
        }
        .fmt(f)
    }
}

/// An object reference borrowed from stored bytes; displays as
/// [`ObjectRef`] does (`kind` or `kind:id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectText<'a> {
    /// The object's kind.
    pub kind: ObjectKind,
    /// The object's identifier, if it has one.
    pub id: Option<&'a str>,
}

impl fmt::Display for ObjectText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "{}:{id}", self.kind),
            None => f.write_str(self.kind.as_str()),
        }
    }
}

impl FromStr for ObjectRef {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.split_once(':') {
            Some((kind, id)) => Self::new(kind.parse()?, id),
            None => Ok(Self::kind_only(value.parse()?)),
        }
    }
}

/// A data subject as the audit trail knows them: a keyed hash of their id
/// under a secret kept for that subject alone. Destroying the secret makes
/// every event about them unlinkable to the person.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pseudonym(pub [u8; 32]);

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({self})")
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why an operation was refused, as a stable code (`not_found`,
/// `invalid_credentials`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReasonCode(String);

impl ReasonCode {
    /// A code of 1 to 64 lowercase letters, digits and underscores.
    pub fn new(code: &str) -> Result<Self, InvalidValue> {
        if !Self::is_valid(code) {
            return Err(InvalidValue::new("must be 1 to 64 of a-z, 0-9 and _"));
        }
        Ok(Self(code.to_owned()))
    }

    /// True when [`ReasonCode::new`] accepts `code`.
    pub fn is_valid(code: &str) -> bool {
        !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What became of the attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It was allowed and done.
    Allowed,
    /// It was refused, for this reason.
    Denied(ReasonCode),
}

impl Outcome {
    /// A refusal with a code from the domain's error types (always valid;
    /// a malformed one is recorded as `unspecified`, never dropped).
    pub fn denied(code: &str) -> Self {
        Self::Denied(ReasonCode::new(code).unwrap_or(ReasonCode(String::from("unspecified"))))
    }
}

/// Where the request came from. Each part is reduced to a closed alphabet so
/// that nothing a caller types reaches the audit store verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientContext {
    /// The peer's address.
    pub address: Option<IpAddr>,
    /// The user agent's product tokens (`name/version`), comments dropped.
    pub user_agent: Option<String>,
    /// The workstation id from the header the deployment names.
    pub workstation: Option<String>,
    /// The request id, to find the request in the service's logs.
    pub request_id: Option<String>,
}

/// At most this many product tokens of a user agent are kept.
const MAX_AGENT_TOKENS: usize = 6;
/// Longest kept product token.
const MAX_TOKEN_LEN: usize = 40;

impl ClientContext {
    /// Builds the context from what the request said, keeping only what is
    /// safe to store: user-agent product tokens of the form `name/version`
    /// (RFC 9110 §10.1.5; the parenthesised comments, where free text and
    /// device names live, are dropped), a workstation id and request id of
    /// at most 64 letters, digits and `-._:`. Anything else is left out.
    pub fn new(
        address: Option<IpAddr>,
        user_agent: Option<&str>,
        workstation: Option<&str>,
        request_id: Option<&str>,
    ) -> Self {
        Self {
            address,
            user_agent: user_agent.and_then(product_tokens),
            workstation: workstation.and_then(identifier_text),
            request_id: request_id.and_then(identifier_text),
        }
    }
}

/// 1 to `max` letters, digits and `-._:`: identifiers, never free text.
pub(crate) fn is_identifier_text(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
}

fn identifier_text(value: &str) -> Option<String> {
    is_identifier_text(value, 64).then(|| value.to_owned())
}

fn product_tokens(value: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut outside = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let kept: Vec<&str> = outside
        .split_ascii_whitespace()
        .filter(|t| {
            t.len() <= MAX_TOKEN_LEN
                && t.split_once('/').is_some_and(|(name, version)| {
                    !name.is_empty()
                        && !version.is_empty()
                        && name.chars().all(token_char)
                        && version.chars().all(token_char)
                        && version.starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .take(MAX_AGENT_TOKENS)
        .collect();
    (!kept.is_empty()).then(|| kept.join(" "))
}

/// One audit event, before it is sealed into its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened (stored to the microsecond).
    pub instant: Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// The actor's role at the time, for users.
    pub role: Option<Role>,
    /// The controller whose data or configuration is concerned; `None` puts
    /// the event on the platform chain.
    pub controller: Option<ControllerId>,
    /// What was done.
    pub action: Action,
    /// What it was done to.
    pub object: Option<ObjectRef>,
    /// Whose personal data, as a pseudonym.
    pub subject: Option<Pseudonym>,
    /// The purpose the caller declared.
    pub purpose: Option<Purpose>,
    /// Where the request came from.
    pub client: ClientContext,
    /// Allowed, or denied with the reason.
    pub outcome: Outcome,
}

impl AuditEvent {
    /// An event with only the required parts; the builder methods add the rest.
    pub fn new(instant: Timestamp, actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            instant: truncate_to_micros(instant),
            actor,
            role: None,
            controller: None,
            action,
            object: None,
            subject: None,
            purpose: None,
            client: ClientContext::default(),
            outcome,
        }
    }

    /// The chain this event belongs to.
    pub fn chain(&self) -> ChainId {
        self.controller
            .map_or(ChainId::Platform, ChainId::Controller)
    }

    /// Sets the controller (and so the chain).
    pub fn controller(mut self, controller: ControllerId) -> Self {
        self.controller = Some(controller);
        self
    }

    /// Sets the actor's role.
    pub fn role(mut self, role: Option<Role>) -> Self {
        self.role = role;
        self
    }

    /// Sets the object.
    pub fn object(mut self, object: ObjectRef) -> Self {
        self.object = Some(object);
        self
    }

    /// Sets the data subject's pseudonym.
    pub fn subject(mut self, subject: Pseudonym) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Sets the declared purpose.
    pub fn purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// Sets where the request came from.
    pub fn client(mut self, client: ClientContext) -> Self {
        self.client = client;
        self
    }
}

/// Storage keeps instants in microseconds; the event is hashed as stored.
fn truncate_to_micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_keep_product_tokens_only() {
        let ua = "Mozilla/5.0 (Windows NT 10.0; Mario Rossi +393471234567) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        let c = ClientContext::new(None, Some(ua), Some("WS-042"), Some("req 1"));
        assert_eq!(
            c.user_agent.as_deref(),
            Some("Mozilla/5.0 AppleWebKit/537.36 Chrome/120.0 Safari/537.36")
        );
        assert_eq!(c.workstation.as_deref(), Some("WS-042"));
        assert_eq!(c.request_id, None);
        let c = ClientContext::new(
            None,
            Some("Mario Rossi 3471234567"),
            Some("Mario Rossi"),
            None,
        );
        assert_eq!((c.user_agent, c.workstation), (None, None));
    }

    #[test]
    fn actors_objects_and_actions_round_trip() {
        for a in [
            Actor::Anonymous,
            Actor::Operator,
            Actor::User(UserId::generate()),
            Actor::Client(ClientId::generate()),
        ] {
            assert_eq!(a.to_string().parse::<Actor>().unwrap(), a);
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        let o = ObjectRef::new(ObjectKind::Agreement, "3").unwrap();
        assert_eq!(o.to_string().parse::<ObjectRef>().unwrap(), o);
        assert!(ObjectRef::new(ObjectKind::User, "Mario Rossi").is_err());
        assert_eq!(
            Outcome::denied("Not A Code"),
            Outcome::denied("unspecified")
        );
    }
}
