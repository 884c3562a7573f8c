//! The SQL both backends share, written once.
//!
//! SQLite and PostgreSQL accept the same `$N` placeholders and the same SQL
//! for these repositories, so the implementations are generated for each
//! backend from this one text. A macro rather than generic code: a function
//! generic over `sqlx::Database` needs higher-ranked bounds on every bound
//! type and executor, which cost more to read than they save. This crate does
//! not depend on sqlx: the expansion names `::sqlx` in the backend crate.
//!
//! The backend's store type must provide:
//! - a field `pool` (a sqlx pool of its database),
//! - `async fn begin_setup(&self) -> Result<sqlx::Transaction<'static, DB>, StorageError>`:
//!   a write transaction that serialises setup operations (how differs:
//!   `BEGIN IMMEDIATE` on SQLite, a table lock on PostgreSQL),
//! - a function `fn(sqlx::Error) -> StorageError`, passed as the second
//!   macro argument, that maps driver errors without quoting row values.

/// Implements [`crate::SetupRepository`] and [`crate::UserRepository`] for
/// a backend store type: `impl_sql_repositories!(SqliteStore, errors::storage_error)`.
/// See the module documentation for what the store must provide.
#[macro_export]
macro_rules! impl_sql_repositories {
    ($store:ty, $storage_error:path) => {
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
                Ok($crate::SetupCompletion::Created(
                    $crate::UserRow::from_new(&admin).into_user()?,
                ))
            }
        }

        #[::async_trait::async_trait]
        impl $crate::UserRepository for $store {
            async fn user_by_id(
                &self,
                id: ::tutela_domain::UserId,
            ) -> Result<Option<::tutela_domain::User>, $crate::StorageError> {
                let row: Option<(::uuid::Uuid, String, String, i64, Option<i64>)> = ::sqlx::query_as(
                    "SELECT id, username, role, created_at, disabled_at FROM users WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::UserRow::from).map($crate::UserRow::into_user).transpose()
            }

            async fn count_users(&self) -> Result<u64, $crate::StorageError> {
                let count: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err($storage_error)?;
                u64::try_from(count).map_err(|_| $crate::StorageError::Corrupt {
                    detail: "negative user count".into(),
                })
            }
        }
    };
}
