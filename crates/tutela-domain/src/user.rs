//! Processor staff who sign in to Tutela.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::error::InvalidValue;
use crate::ids::ControllerId;
use crate::secret::Secret;

/// Stable identifier of a user. This, never the username, is what logs carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A new identifier, time-ordered so that indexes stay compact.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A sign-in name: 3 to 64 characters of `a-z 0-9 . _ -`, starting with a
/// letter or digit, stored in lower case so `Mario.Rossi` and `mario.rossi`
/// cannot be two accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses and normalises a username.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim().to_ascii_lowercase();
        if !(3..=64).contains(&value.len()) {
            return Err(InvalidValue::new("must be 3 to 64 characters long"));
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
        if !value.bytes().all(allowed) {
            return Err(InvalidValue::new(
                "may contain only letters a-z, digits and . _ -",
            ));
        }
        if !value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            return Err(InvalidValue::new("must start with a letter or a digit"));
        }
        Ok(Self(value))
    }

    /// The normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user may do. Each user starts with the narrowest role that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages controllers, users and configuration; cannot read personal data.
    Administrator,
    /// Data protection officer: requests, breaches, audit, registers.
    Dpo,
    /// Supervises agents and campaigns.
    Supervisor,
    /// Listens to sampled recordings for a declared quality purpose.
    QualityReviewer,
    /// Handles calls with masked data.
    Agent,
    /// Reads the audit trail and reports; changes nothing.
    Auditor,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 6] = [
        Role::Administrator,
        Role::Dpo,
        Role::Supervisor,
        Role::QualityReviewer,
        Role::Agent,
        Role::Auditor,
    ];

    /// The stable name used in storage and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Dpo => "dpo",
            Role::Supervisor => "supervisor",
            Role::QualityReviewer => "quality_reviewer",
            Role::Agent => "agent",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or(InvalidValue::new(
                "must be one of administrator, dpo, supervisor, quality_reviewer, agent, auditor",
            ))
    }
}

/// A password as typed by a person. Never printed; dropped as soon as it is hashed.
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    /// Minimum length in characters (NIST SP 800-63B asks for at least 8 and
    /// recommends allowing long passphrases; staff accounts here reach personal data).
    pub const MIN_CHARS: usize = 12;
    /// Maximum length in bytes, so hashing cannot be used to exhaust memory or CPU.
    pub const MAX_BYTES: usize = 1024;

    /// Accepts a password of at least [`Self::MIN_CHARS`] characters that is
    /// not only whitespace.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.chars().count() < Self::MIN_CHARS {
            return Err(InvalidValue::new("must be at least 12 characters long"));
        }
        if value.len() > Self::MAX_BYTES {
            return Err(InvalidValue::new("must be at most 1024 bytes long"));
        }
        if value.trim().is_empty() {
            return Err(InvalidValue::new("must not be only whitespace"));
        }
        Ok(Self(Secret::new(value)))
    }

    /// The password, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A password hash in PHC string format (`$argon2id$...`). Not a secret in the
/// cryptographic sense, but never printed all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: UserId,
    /// Sign-in name.
    pub username: Username,
    /// What the user may do.
    pub role: Role,
    /// The controllers the user works for, sorted. Empty for platform staff.
    pub controllers: Vec<ControllerId>,
    /// True once a TOTP authenticator is enrolled and confirmed.
    pub mfa_enrolled: bool,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the account was disabled, if it was.
    pub disabled_at: Option<Timestamp>,
}

/// A user about to be created, with the hash of the password.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Identifier chosen by the caller, so a retried request is idempotent.
    pub id: UserId,
    /// Sign-in name.
    pub username: Username,
    /// Role.
    pub role: Role,
    /// Controllers the user works for.
    pub controllers: Vec<ControllerId>,
    /// Hash of the initial password.
    pub password_hash: PasswordHash,
    /// Creation instant, from the clock.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(
            Username::parse(" Mario.Rossi ").unwrap().as_str(),
            "mario.rossi"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("_admin").is_err());
        assert!(Username::parse("mario rossi").is_err());
        assert!(Username::parse("màrio").is_err());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn passwords_need_length_and_never_print() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&" ".repeat(20)).is_err());
        assert!(Password::parse(&"x".repeat(2000)).is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
