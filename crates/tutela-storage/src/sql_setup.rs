//! SQL of the one-time setup.

/// Implements [`crate::SetupRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_setup_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::SetupRepository for $store {
            async fn issue_setup_token(
                &self,
                digest: ::tutela_domain::SecretDigest,
                issued_at: ::tutela_domain::Timestamp,
                expires_at: ::tutela_domain::Timestamp,
            ) -> Result<$crate::SetupTokenIssue, $crate::StorageError> {
                use $storage_error as storage_error;
                let mut tx = self.begin_setup().await?;
                let users: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                if users > 0 {
                    return Ok($crate::SetupTokenIssue::AlreadyComplete);
                }
                ::sqlx::query("DELETE FROM setup_tokens")
                    .execute(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                ::sqlx::query(
                    "INSERT INTO setup_tokens (digest, issued_at, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(digest.0.as_slice())
                .bind($crate::micros(issued_at))
                .bind($crate::micros(expires_at))
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
                tx.commit().await.map_err(storage_error)?;
                Ok($crate::SetupTokenIssue::Issued)
            }

            async fn complete_setup(
                &self,
                digest: ::tutela_domain::SecretDigest,
                now: ::tutela_domain::Timestamp,
                admin: ::tutela_domain::NewUser,
            ) -> Result<$crate::SetupCompletion, $crate::StorageError> {
                use $storage_error as storage_error;
                let mut tx = self.begin_setup().await?;
                let users: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                if users > 0 {
                    return Ok($crate::SetupCompletion::AlreadyComplete);
                }
                ::sqlx::query(
                    "INSERT INTO users (id, username, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(admin.id.0)
                .bind(admin.username.as_str())
                .bind(admin.role.as_str())
                .bind(&admin.password_hash.0)
                .bind($crate::micros(admin.created_at))
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
                // The token is consumed only after the user row exists (the
                // foreign key needs it); if the token does not qualify, the
                // rollback takes the user back out too.
                let consumed = ::sqlx::query(
                    "UPDATE setup_tokens SET consumed_at = $1, consumed_by = $2 \
                     WHERE digest = $3 AND consumed_at IS NULL AND expires_at > $1",
                )
                .bind($crate::micros(now))
                .bind(admin.id.0)
                .bind(digest.0.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
                if consumed.rows_affected() != 1 {
                    tx.rollback().await.map_err(storage_error)?;
                    return Ok($crate::SetupCompletion::InvalidToken);
                }
                tx.commit().await.map_err(storage_error)?;
                Ok($crate::SetupCompletion::Created($crate::user_as_stored(
                    &admin,
                )?))
            }
        }
    };
}
