//! SQL of sessions and the login throttle.

/// Implements [`crate::SessionRepository`] and [`crate::ThrottleRepository`];
/// part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_session_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::SessionRepository for $store {
            async fn create_session(
                &self,
                s: $crate::NewSession,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "INSERT INTO sessions (id, digest, user_id, created_at, expires_at, mfa_pending) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(s.id.0)
                .bind(s.digest.0.as_slice())
                .bind(s.user_id.0)
                .bind($crate::micros(s.created_at))
                .bind($crate::micros(s.expires_at))
                .bind(s.mfa_pending)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn session(
                &self,
                digest: ::tutela_domain::SecretDigest,
            ) -> Result<Option<$crate::SessionRecord>, $crate::StorageError> {
                // Every authenticated request comes through here: the session
                // and its user in one query, then the user's scopes.
                let mut conn = self.pool.acquire().await.map_err($storage_error)?;
                #[allow(clippy::type_complexity)]
                let row: Option<(
                    ::uuid::Uuid, i64, bool, Option<i64>,
                    ::uuid::Uuid, String, String, i64, Option<i64>, Option<i64>,
                )> = ::sqlx::query_as(
                        "SELECT s.id, s.expires_at, s.mfa_pending, s.revoked_at, \
                         u.id, u.username, u.role, u.created_at, u.disabled_at, u.totp_confirmed_at \
                         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1",
                    )
                    .bind(digest.0.as_slice())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err($storage_error)?;
                let Some((
                    id, expires_at, mfa_pending, revoked_at,
                    user_id, username, role, created_at, disabled_at, totp_confirmed_at,
                )) = row
                else {
                    return Ok(None);
                };
                let controllers = user_controller_ids(&mut conn, user_id).await?;
                let user = $crate::user_from_row(
                    (user_id, username, role, created_at, disabled_at, totp_confirmed_at),
                    controllers,
                )?;
                Ok(Some($crate::SessionRecord {
                    id: ::tutela_domain::SessionId(id),
                    user,
                    expires_at: $crate::timestamp(expires_at, "sessions.expires_at")?,
                    mfa_pending,
                    revoked_at: $crate::optional_timestamp(revoked_at, "sessions.revoked_at")?,
                }))
            }

            async fn revoke_session(
                &self,
                id: ::tutela_domain::SessionId,
                now: ::tutela_domain::Timestamp,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind($crate::micros(now))
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn complete_session_mfa(
                &self,
                id: ::tutela_domain::SessionId,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query("UPDATE sessions SET mfa_pending = FALSE WHERE id = $1")
                    .bind(id.0)
                    .execute(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl $crate::ThrottleRepository for $store {
            async fn locked_until(
                &self,
                key: ::tutela_domain::SecretDigest,
                now: ::tutela_domain::Timestamp,
            ) -> Result<Option<::tutela_domain::Timestamp>, $crate::StorageError> {
                let until: Option<i64> = ::sqlx::query_scalar(
                    "SELECT locked_until FROM login_throttle WHERE key = $1 AND locked_until > $2",
                )
                .bind(key.0.as_slice())
                .bind($crate::micros(now))
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                $crate::optional_timestamp(until, "login_throttle.locked_until")
            }

            async fn record_login_failure(
                &self,
                key: ::tutela_domain::SecretDigest,
                now: ::tutela_domain::Timestamp,
                window_start: ::tutela_domain::Timestamp,
                threshold: u32,
                lock_until: ::tutela_domain::Timestamp,
            ) -> Result<Option<::tutela_domain::Timestamp>, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                // One statement counts the failure, restarting the count when
                // the window has passed, so concurrent failures all count.
                let failures: i64 = ::sqlx::query_scalar(
                    "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
                     ON CONFLICT (key) DO UPDATE SET \
                       failures = CASE WHEN login_throttle.window_start < $3 \
                                  THEN 1 ELSE login_throttle.failures + 1 END, \
                       window_start = CASE WHEN login_throttle.window_start < $3 \
                                  THEN $2 ELSE login_throttle.window_start END \
                     RETURNING failures",
                )
                .bind(key.0.as_slice())
                .bind($crate::micros(now))
                .bind($crate::micros(window_start))
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                let locked = failures >= i64::from(threshold);
                if locked {
                    ::sqlx::query(
                        "UPDATE login_throttle SET locked_until = $2, failures = 0, window_start = $3 \
                         WHERE key = $1",
                    )
                    .bind(key.0.as_slice())
                    .bind($crate::micros(lock_until))
                    .bind($crate::micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(locked.then_some(lock_until))
            }

            async fn clear_login_failures(
                &self,
                key: ::tutela_domain::SecretDigest,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                    .bind(key.0.as_slice())
                    .execute(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(())
            }
        }
    };
}
