//! Rows as both backends read them, and their conversion into domain values,
//! kept here so the two backends cannot drift apart in how they decode.

use tutela_domain::{NewUser, Role, Timestamp, User, UserId, Username};
use uuid::Uuid;

use crate::StorageError;

/// A `users` row with columns in their stored representation
/// (timestamps as Unix microseconds).
#[derive(Debug, Clone)]
pub struct UserRow {
    /// `users.id`
    pub id: Uuid,
    /// `users.username`
    pub username: String,
    /// `users.role`
    pub role: String,
    /// `users.created_at`, Unix microseconds.
    pub created_at: i64,
    /// `users.disabled_at`, Unix microseconds.
    pub disabled_at: Option<i64>,
}

impl From<(Uuid, String, String, i64, Option<i64>)> for UserRow {
    /// From a `SELECT id, username, role, created_at, disabled_at` tuple.
    fn from(
        (id, username, role, created_at, disabled_at): (Uuid, String, String, i64, Option<i64>),
    ) -> Self {
        Self {
            id,
            username,
            role,
            created_at,
            disabled_at,
        }
    }
}

impl UserRow {
    /// The row a backend writes for `user`. Reading it back through
    /// [`UserRow::into_user`] gives exactly what a later query returns, with
    /// instants truncated to the stored microseconds.
    pub fn from_new(user: &NewUser) -> Self {
        Self {
            id: user.id.0,
            username: user.username.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            created_at: micros(user.created_at),
            disabled_at: None,
        }
    }

    /// Decodes the row; a value that no longer parses is reported as corrupt
    /// with the column name, never the value.
    pub fn into_user(self) -> Result<User, StorageError> {
        Ok(User {
            id: UserId(self.id),
            username: Username::parse(&self.username).map_err(|_| corrupt("users.username"))?,
            role: self
                .role
                .parse::<Role>()
                .map_err(|_| corrupt("users.role"))?,
            created_at: timestamp(self.created_at, "users.created_at")?,
            disabled_at: self
                .disabled_at
                .map(|us| timestamp(us, "users.disabled_at"))
                .transpose()?,
        })
    }
}

/// Stored representation of an instant: Unix microseconds. Both backends use
/// a 64-bit integer so that the same value round-trips exactly on each.
pub fn micros(instant: Timestamp) -> i64 {
    instant.as_microsecond()
}

/// Decodes a stored instant, naming the column if it is out of range.
pub fn timestamp(micros: i64, column: &str) -> Result<Timestamp, StorageError> {
    Timestamp::from_microsecond(micros).map_err(|_| corrupt(column))
}

fn corrupt(column: &str) -> StorageError {
    StorageError::Corrupt {
        detail: format!("{column} holds a value that does not decode"),
    }
}
