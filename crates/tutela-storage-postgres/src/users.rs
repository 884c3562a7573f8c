//! Staff accounts on PostgreSQL.

use async_trait::async_trait;
use tutela_domain::{User, UserId};
use tutela_storage::{StorageError, UserRepository, UserRow};

use crate::PostgresStore;
use crate::errors::storage_error;

type UserTuple = (uuid::Uuid, String, String, i64, Option<i64>);

pub(crate) fn user_from_tuple(
    (id, username, role, created_at, disabled_at): UserTuple,
) -> Result<User, StorageError> {
    UserRow {
        id,
        username,
        role,
        created_at,
        disabled_at,
    }
    .into_user()
}

#[async_trait]
impl UserRepository for PostgresStore {
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        let row: Option<UserTuple> = sqlx::query_as(
            "SELECT id, username, role, created_at, disabled_at FROM users WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        row.map(user_from_tuple).transpose()
    }

    async fn count_users(&self) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?;
        u64::try_from(count).map_err(|_| StorageError::Corrupt {
            detail: "negative user count".into(),
        })
    }
}
