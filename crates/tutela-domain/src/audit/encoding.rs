//! The canonical byte form of an event: what is stored, hashed and signed
//! over. Hand-written and versioned so the bytes never change with a serde
//! or compiler upgrade, and compact so verification reads little.
//!
//! Layout (integers big-endian; `str` is a u16 length then UTF-8; `opt` is a
//! presence byte 0/1 then the value):
//!
//! ```text
//! version u8 = 1 | chain uuid(16) | seq u64 | instant i64 µs
//! actor: tag u8 (0 anonymous, 1 user, 2 client, 3 operator) [+ uuid(16)]
//! role opt str | controller opt uuid(16) | action str
//! object opt (kind str, id opt str) | subject opt [32] | purpose opt str
//! address opt str | user_agent opt str | workstation opt str | request_id opt str
//! outcome u8 (0 allowed, 1 denied) [+ reason str]
//! ```

use std::net::IpAddr;

use uuid::Uuid;

use super::event::{
    Action, Actor, AuditEvent, ChainId, ClientContext, ObjectKind, ObjectRef, ObjectText, Outcome,
    Pseudonym, ReasonCode,
};
use crate::Timestamp;
use crate::ids::{ClientId, ControllerId};
use crate::text::check_slug;
use crate::user::{Role, UserId};

const VERSION: u8 = 1;

/// The bytes of `event` at position `seq` of `chain`.
pub fn encode(chain: ChainId, seq: u64, event: &AuditEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(160));
    w.0.push(VERSION);
    w.uuid(chain.as_uuid());
    w.0.extend_from_slice(&seq.to_be_bytes());
    w.0.extend_from_slice(&event.instant.as_microsecond().to_be_bytes());
    match event.actor {
        Actor::Anonymous => w.0.push(0),
        Actor::User(u) => {
            w.0.push(1);
            w.uuid(u.0);
        }
        Actor::Client(c) => {
            w.0.push(2);
            w.uuid(c.0);
        }
        Actor::Operator => w.0.push(3),
    }
    w.opt_str(event.role.map(|r| r.as_str()));
    w.opt(event.controller, |w, c| w.uuid(c.0));
    w.str(event.action.as_str());
    w.opt(event.object.as_ref(), |w, o| {
        w.str(o.kind().as_str());
        w.opt_str(o.id());
    });
    w.opt(event.subject, |w, s| w.0.extend_from_slice(&s.0));
    w.opt_str(event.purpose.as_ref().map(|p| p.as_str()));
    w.opt_str(event.client.address.map(|a| a.to_string()).as_deref());
    w.opt_str(event.client.user_agent.as_deref());
    w.opt_str(event.client.workstation.as_deref());
    w.opt_str(event.client.request_id.as_deref());
    match &event.outcome {
        Outcome::Allowed => w.0.push(0),
        Outcome::Denied(reason) => {
            w.0.push(1);
            w.str(reason.as_str());
        }
    }
    w.0
}

/// Why stored bytes are not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecodable event: {0}")]
pub struct DecodeError(pub &'static str);

/// Parses [`encode`]'s output back into chain, position and event.
pub fn decode(bytes: &[u8]) -> Result<(ChainId, u64, AuditEvent), DecodeError> {
    let stored = StoredEvent::parse(bytes)?;
    Ok((stored.chain, stored.seq, stored.to_event()?))
}

/// An event's fields borrowed from its stored bytes, checked as strictly as
/// [`decode`] checks them but copying nothing: what verification reads, at
/// hashing speed, for every event of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    /// The chain the bytes say they belong to.
    pub chain: ChainId,
    /// The position the bytes say they hold.
    pub seq: u64,
    /// The instant, to the microsecond.
    pub instant: Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// The actor's role.
    pub role: Option<Role>,
    /// The controller.
    pub controller: Option<ControllerId>,
    /// What was done.
    pub action: Action,
    /// On what.
    pub object: Option<ObjectText<'a>>,
    /// About whom.
    pub subject: Option<Pseudonym>,
    /// The declared purpose (a valid purpose name).
    pub purpose: Option<&'a str>,
    /// Client address.
    pub address: Option<IpAddr>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
    /// Client workstation.
    pub workstation: Option<&'a str>,
    /// Request id.
    pub request_id: Option<&'a str>,
    /// `None` if allowed, else the reason code of the denial.
    pub denied: Option<&'a str>,
}

impl<'a> StoredEvent<'a> {
    /// Reads [`encode`]'s output; refuses exactly what [`decode`] refuses.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return Err(DecodeError("unknown version"));
        }
        let chain = ChainId::from_uuid(r.uuid()?);
        let seq = u64::from_be_bytes(r.array()?);
        let instant = Timestamp::from_microsecond(i64::from_be_bytes(r.array()?))
            .map_err(|_| DecodeError("instant out of range"))?;
        let actor = match r.u8()? {
            0 => Actor::Anonymous,
            1 => Actor::User(UserId(r.uuid()?)),
            2 => Actor::Client(ClientId(r.uuid()?)),
            3 => Actor::Operator,
            _ => return Err(DecodeError("unknown actor")),
        };
        let role = r
            .opt_str()?
            .map(str::parse)
            .transpose()
            .map_err(|_| DecodeError("unknown role"))?;
        let controller = if r.flag()? {
            Some(ControllerId(r.uuid()?))
        } else {
            None
        };
        let action: Action = r
            .str()?
            .parse()
            .map_err(|_| DecodeError("unknown action"))?;
        let object = if r.flag()? {
            let kind: ObjectKind = r
                .str()?
                .parse()
                .map_err(|_| DecodeError("unknown object"))?;
            let id = r.opt_str()?;
            if id.is_some_and(|id| !ObjectRef::is_valid_id(id)) {
                return Err(DecodeError("bad object id"));
            }
            Some(ObjectText { kind, id })
        } else {
            None
        };
        let subject = if r.flag()? {
            Some(Pseudonym(r.array()?))
        } else {
            None
        };
        let purpose = r.opt_str()?;
        if purpose.is_some_and(|p| check_slug(p).is_err()) {
            return Err(DecodeError("bad purpose"));
        }
        let address: Option<IpAddr> = r
            .opt_str()?
            .map(str::parse)
            .transpose()
            .map_err(|_| DecodeError("bad address"))?;
        let user_agent = r.opt_str()?;
        let workstation = r.opt_str()?;
        let request_id = r.opt_str()?;
        let denied = match r.u8()? {
            0 => None,
            1 => {
                let code = r.str()?;
                if !ReasonCode::is_valid(code) {
                    return Err(DecodeError("bad reason"));
                }
                Some(code)
            }
            _ => return Err(DecodeError("unknown outcome")),
        };
        if !r.0.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self {
            chain,
            seq,
            instant,
            actor,
            role,
            controller,
            action,
            object,
            subject,
            purpose,
            address,
            user_agent,
            workstation,
            request_id,
            denied,
        })
    }

    /// The event, owned.
    pub fn to_event(&self) -> Result<AuditEvent, DecodeError> {
        let object = match self.object {
            Some(ObjectText { kind, id: Some(id) }) => {
                Some(ObjectRef::new(kind, id).map_err(|_| DecodeError("bad object id"))?)
            }
            Some(ObjectText { kind, id: None }) => Some(ObjectRef::kind_only(kind)),
            None => None,
        };
        let outcome = match self.denied {
            None => Outcome::Allowed,
            Some(code) => {
                Outcome::Denied(ReasonCode::new(code).map_err(|_| DecodeError("bad reason"))?)
            }
        };
        Ok(AuditEvent {
            instant: self.instant,
            actor: self.actor,
            role: self.role,
            controller: self.controller,
            action: self.action,
            object,
            subject: self.subject,
            purpose: self
                .purpose
                .map(str::parse)
                .transpose()
                .map_err(|_| DecodeError("bad purpose"))?,
            client: ClientContext {
                address: self.address,
                user_agent: self.user_agent.map(str::to_owned),
                workstation: self.workstation.map(str::to_owned),
                request_id: self.request_id.map(str::to_owned),
            },
            outcome,
        })
    }

    /// Calls `each` with every search term of the event (see
    /// [`AuditIndex::terms`](super::AuditIndex::terms)), without copying
    /// the event.
    pub fn for_each_term(&self, each: impl FnMut(&[u8])) {
        let object = self.object.as_ref().map(|o| o as &dyn std::fmt::Display);
        super::chain::each_term(Some(&self.actor), object, self.subject.as_ref(), each);
    }

    /// [`for_each_term`](Self::for_each_term) leaving out the actor and
    /// the object where they equal `previous`'s: consecutive events mostly
    /// share both, and this skips writing their terms out again.
    pub fn for_each_new_term(&self, previous: Option<&StoredEvent<'_>>, each: impl FnMut(&[u8])) {
        let actor = (previous.map(|p| &p.actor) != Some(&self.actor))
            .then_some(&self.actor as &dyn std::fmt::Display);
        let object = match (&self.object, previous) {
            (Some(o), Some(p)) if p.object.as_ref() == Some(o) => None,
            (o, _) => o.as_ref().map(|o| o as &dyn std::fmt::Display),
        };
        super::chain::each_term(actor, object, self.subject.as_ref(), each);
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn uuid(&mut self, id: Uuid) {
        self.0.extend_from_slice(id.as_bytes());
    }

    fn str(&mut self, s: &str) {
        // Every string here is bounded far below 64 KiB by its type; clamp
        // rather than wrap if that ever stopped being true.
        let bytes = s.as_bytes();
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0
            .extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
    }

    fn opt<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            Some(v) => {
                self.0.push(1);
                write(self, v);
            }
            None => self.0.push(0),
        }
    }

    fn opt_str(&mut self, value: Option<&str>) {
        self.opt(value, |w, s| w.str(s));
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(DecodeError("truncated"))?;
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        bytes.try_into().map_err(|_| DecodeError("truncated"))
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError("bad presence byte")),
        }
    }

    fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = u16::from_be_bytes(self.array()?);
        std::str::from_utf8(self.take(usize::from(len))?).map_err(|_| DecodeError("bad utf-8"))
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        if self.flag()? {
            self.str().map(Some)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role;

    #[test]
    fn every_field_survives_a_round_trip_and_any_truncation_is_refused() {
        let controller = ControllerId::generate();
        let event = AuditEvent::new(
            Timestamp::from_second(1_795_000_000).unwrap(),
            Actor::User(UserId::generate()),
            Action::SubjectRead,
            Outcome::denied("purpose_not_allowed"),
        )
        .controller(controller)
        .role(Some(Role::Agent))
        .object(ObjectRef::kind_only(ObjectKind::Subject))
        .subject(Pseudonym([7; 32]))
        .purpose("customer_care".parse().unwrap())
        .client(ClientContext::new(
            Some("10.1.2.3".parse().unwrap()),
            Some("curl/8.5.0"),
            Some("WS-7"),
            Some("0194-req"),
        ));
        let chain = event.chain();
        let bytes = encode(chain, 41, &event);
        assert_eq!(decode(&bytes), Ok((chain, 41, event.clone())));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(DecodeError("trailing bytes")));
        let bare = AuditEvent::new(
            Timestamp::UNIX_EPOCH,
            Actor::Anonymous,
            Action::Login,
            Outcome::Allowed,
        );
        assert_eq!(
            decode(&encode(ChainId::Platform, 0, &bare)),
            Ok((ChainId::Platform, 0, bare))
        );
    }
}
