//! The first-administrator bootstrap on SQLite.

use async_trait::async_trait;
use tutela_domain::{NewUser, SecretDigest, Timestamp};
use tutela_storage::{
    SetupCompletion, SetupRepository, SetupTokenIssue, StorageError, UserRow, micros,
};

use crate::SqliteStore;
use crate::errors::storage_error;

#[async_trait]
impl SetupRepository for SqliteStore {
    async fn issue_setup_token(
        &self,
        digest: SecretDigest,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<SetupTokenIssue, StorageError> {
        let mut tx = self.begin_write().await?;
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
        if users > 0 {
            return Ok(SetupTokenIssue::AlreadyComplete);
        }
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        sqlx::query("INSERT INTO setup_tokens (digest, issued_at, expires_at) VALUES (?1, ?2, ?3)")
            .bind(digest.0.as_slice())
            .bind(micros(issued_at))
            .bind(micros(expires_at))
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(SetupTokenIssue::Issued)
    }

    async fn complete_setup(
        &self,
        digest: SecretDigest,
        now: Timestamp,
        admin: NewUser,
    ) -> Result<SetupCompletion, StorageError> {
        let mut tx = self.begin_write().await?;
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
        if users > 0 {
            return Ok(SetupCompletion::AlreadyComplete);
        }
        sqlx::query(
            "INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(admin.id.0)
        .bind(admin.username.as_str())
        .bind(admin.role.as_str())
        .bind(&admin.password_hash.0)
        .bind(micros(admin.created_at))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        // The token is consumed only after the user row exists (the foreign key
        // needs it); if the token does not qualify, dropping `tx` rolls the
        // user back too.
        let consumed = sqlx::query(
            "UPDATE setup_tokens SET consumed_at = ?1, consumed_by = ?2 \
             WHERE digest = ?3 AND consumed_at IS NULL AND expires_at > ?1",
        )
        .bind(micros(now))
        .bind(admin.id.0)
        .bind(digest.0.as_slice())
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        if consumed.rows_affected() != 1 {
            tx.rollback().await.map_err(storage_error)?;
            return Ok(SetupCompletion::InvalidToken);
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(SetupCompletion::Created(
            UserRow::from_new(&admin).into_user()?,
        ))
    }
}
