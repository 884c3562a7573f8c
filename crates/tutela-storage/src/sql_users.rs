//! SQL of users, their scopes, MFA state and attestations.

/// Implements [`crate::UserRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_user_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        /// The controller ids of one user.
        async fn user_controller_ids(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::uuid::Uuid,
        ) -> Result<Vec<::uuid::Uuid>, $crate::StorageError> {
            ::sqlx::query_scalar("SELECT controller_id FROM user_controllers WHERE user_id = $1")
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err($storage_error)
        }

        /// One user with its scopes, read on `conn`.
        async fn load_user(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::uuid::Uuid,
        ) -> Result<Option<::tutela_domain::User>, $crate::StorageError> {
            let row: Option<$crate::UserTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                format!("SELECT {} FROM users WHERE id = $1", $crate::USER_COLUMNS),
            ))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err($storage_error)?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let controllers = user_controller_ids(conn, id).await?;
                    $crate::user_from_row(row, controllers).map(Some)
                }
            }
        }

        /// How many enabled administrators other than `except` exist.
        async fn other_enabled_administrators(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            except: ::uuid::Uuid,
        ) -> Result<i64, $crate::StorageError> {
            ::sqlx::query_scalar(
                "SELECT COUNT(*) FROM users \
                 WHERE role = 'administrator' AND disabled_at IS NULL AND id <> $1",
            )
            .bind(except)
            .fetch_one(&mut *conn)
            .await
            .map_err($storage_error)
        }

        #[::async_trait::async_trait]
        impl $crate::UserRepository for $store {
            async fn user_by_id(
                &self,
                id: ::tutela_domain::UserId,
            ) -> Result<Option<::tutela_domain::User>, $crate::StorageError> {
                let mut conn = self.pool.acquire().await.map_err($storage_error)?;
                load_user(&mut conn, id.0).await
            }

            async fn count_users(&self) -> Result<u64, $crate::StorageError> {
                let count: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err($storage_error)?;
                u64::try_from(count).map_err(|_| $crate::corrupt("COUNT(users)"))
            }

            async fn create_user(
                &self,
                user: ::tutela_domain::NewUser,
            ) -> Result<::tutela_domain::User, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                ::sqlx::query(
                    "INSERT INTO users (id, username, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(user.id.0)
                .bind(user.username.as_str())
                .bind(user.role.as_str())
                .bind(&user.password_hash.0)
                .bind($crate::micros(user.created_at))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                for controller in &user.controllers {
                    ::sqlx::query(
                        "INSERT INTO user_controllers (user_id, controller_id) VALUES ($1, $2)",
                    )
                    .bind(user.id.0)
                    .bind(controller.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                tx.commit().await.map_err($storage_error)?;
                $crate::user_as_stored(&user)
            }

            async fn list_users(&self) -> Result<Vec<::tutela_domain::User>, $crate::StorageError> {
                let rows: Vec<$crate::UserTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!("SELECT {} FROM users ORDER BY username", $crate::USER_COLUMNS),
                ))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                let scopes: Vec<(::uuid::Uuid, ::uuid::Uuid)> =
                    ::sqlx::query_as("SELECT user_id, controller_id FROM user_controllers")
                        .fetch_all(&self.pool)
                        .await
                        .map_err($storage_error)?;
                rows.into_iter()
                    .map(|row| {
                        let controllers = scopes
                            .iter()
                            .filter(|(user, _)| *user == row.0)
                            .map(|(_, controller)| *controller)
                            .collect();
                        $crate::user_from_row(row, controllers)
                    })
                    .collect()
            }

            async fn credentials(
                &self,
                username: &str,
            ) -> Result<Option<$crate::Credentials>, $crate::StorageError> {
                let mut conn = self.pool.acquire().await.map_err($storage_error)?;
                let row: Option<(::uuid::Uuid, String, Option<Vec<u8>>, Option<i64>)> =
                    ::sqlx::query_as(
                        "SELECT id, password_hash, totp_secret, totp_last_step \
                         FROM users WHERE username = $1",
                    )
                    .bind(username)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err($storage_error)?;
                let Some((id, password_hash, totp_secret, totp_last_step)) = row else {
                    return Ok(None);
                };
                let Some(user) = load_user(&mut conn, id).await? else {
                    return Ok(None);
                };
                Ok(Some($crate::Credentials {
                    user,
                    password_hash: ::tutela_domain::PasswordHash(password_hash),
                    totp_secret,
                    totp_last_step,
                }))
            }

            async fn update_user(
                &self,
                id: ::tutela_domain::UserId,
                change: $crate::UserChange,
                now: ::tutela_domain::Timestamp,
            ) -> Result<$crate::UserUpdate, $crate::StorageError> {
                let mut tx = self.begin_setup().await?;
                let Some(before) = load_user(&mut tx, id.0).await? else {
                    return Ok($crate::UserUpdate::NotFound);
                };
                let demotes = before.role == ::tutela_domain::Role::Administrator
                    && before.disabled_at.is_none()
                    && change
                        .role
                        .is_some_and(|r| r != ::tutela_domain::Role::Administrator);
                if demotes && other_enabled_administrators(&mut tx, id.0).await? == 0 {
                    return Ok($crate::UserUpdate::LastAdministrator);
                }
                if let Some(role) = change.role {
                    ::sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                }
                if let Some(controllers) = &change.controllers {
                    ::sqlx::query("DELETE FROM user_controllers WHERE user_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                    for controller in controllers {
                        ::sqlx::query(
                            "INSERT INTO user_controllers (user_id, controller_id) VALUES ($1, $2)",
                        )
                        .bind(id.0)
                        .bind(controller.0)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                    }
                }
                if change.reset_mfa {
                    ::sqlx::query(
                        "UPDATE users SET totp_secret = NULL, totp_confirmed_at = NULL, \
                         totp_last_step = NULL WHERE id = $1",
                    )
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                    // Sessions opened with the old second factor end with it.
                    ::sqlx::query(
                        "UPDATE sessions SET revoked_at = $2 \
                         WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id.0)
                    .bind($crate::micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                let after = load_user(&mut tx, id.0).await?;
                tx.commit().await.map_err($storage_error)?;
                Ok(after.map_or($crate::UserUpdate::NotFound, $crate::UserUpdate::Updated))
            }

            async fn disable_user(
                &self,
                id: ::tutela_domain::UserId,
                now: ::tutela_domain::Timestamp,
            ) -> Result<$crate::UserUpdate, $crate::StorageError> {
                let mut tx = self.begin_setup().await?;
                let Some(before) = load_user(&mut tx, id.0).await? else {
                    return Ok($crate::UserUpdate::NotFound);
                };
                if before.role == ::tutela_domain::Role::Administrator
                    && before.disabled_at.is_none()
                    && other_enabled_administrators(&mut tx, id.0).await? == 0
                {
                    return Ok($crate::UserUpdate::LastAdministrator);
                }
                let now = $crate::micros(now);
                ::sqlx::query("UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1")
                    .bind(id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                ::sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                ::sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE issued_by = $1 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                let after = load_user(&mut tx, id.0).await?;
                tx.commit().await.map_err($storage_error)?;
                Ok(after.map_or($crate::UserUpdate::NotFound, $crate::UserUpdate::Updated))
            }

            async fn store_totp_secret(
                &self,
                id: ::tutela_domain::UserId,
                sealed: Vec<u8>,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "UPDATE users SET totp_secret = $2, totp_confirmed_at = NULL, \
                     totp_last_step = NULL WHERE id = $1",
                )
                .bind(id.0)
                .bind(sealed)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn confirm_totp(
                &self,
                id: ::tutela_domain::UserId,
                now: ::tutela_domain::Timestamp,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query("UPDATE users SET totp_confirmed_at = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind($crate::micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(())
            }

            async fn accept_totp_step(
                &self,
                id: ::tutela_domain::UserId,
                step: i64,
            ) -> Result<bool, $crate::StorageError> {
                let done = ::sqlx::query(
                    "UPDATE users SET totp_last_step = $2 \
                     WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id.0)
                .bind(step)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_attestation(
                &self,
                a: &::tutela_domain::Attestation,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                    "INSERT INTO attestations ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::ATTESTATION_COLUMNS
                )))
                .bind(a.id.0)
                .bind(a.user_id.0)
                .bind(a.kind.as_str())
                .bind(a.version.as_str())
                .bind(a.assessment.as_ref().map(|x| x.as_str()))
                .bind($crate::micros(a.attested_at))
                .bind($crate::micros(a.expires_at))
                .bind(a.recorded_by.0)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn attestations(
                &self,
                id: ::tutela_domain::UserId,
            ) -> Result<Vec<::tutela_domain::Attestation>, $crate::StorageError> {
                let rows: Vec<$crate::AttestationTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM attestations WHERE user_id = $1 ORDER BY attested_at, id",
                        $crate::ATTESTATION_COLUMNS
                    ),
                ))
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::attestation_from_row).collect()
            }
        }
    };
}
