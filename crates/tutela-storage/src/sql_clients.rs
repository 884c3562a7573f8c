//! SQL of machine clients and their tokens.

/// Implements [`crate::ClientRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_client_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        /// Stores a token for a client on `conn`.
        async fn insert_api_token(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            client: ::uuid::Uuid,
            token: &$crate::NewApiToken,
        ) -> Result<(), $crate::StorageError> {
            ::sqlx::query(
                "INSERT INTO api_tokens (digest, client_id, issued_by, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token.digest.0.as_slice())
            .bind(client)
            .bind(token.issued_by.0)
            .bind($crate::micros(token.issued_at))
            .bind($crate::micros(token.expires_at))
            .execute(&mut *conn)
            .await
            .map_err($storage_error)?;
            Ok(())
        }

        #[::async_trait::async_trait]
        impl $crate::ClientRepository for $store {
            async fn create_client(
                &self,
                c: &::tutela_domain::MachineClient,
                token: $crate::NewApiToken,
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                    "INSERT INTO api_clients ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::CLIENT_COLUMNS
                )))
                .bind(c.id.0)
                .bind(c.controller_id.0)
                .bind(c.name.as_str())
                .bind(c.kind.as_str())
                .bind($crate::capabilities_text(c))
                .bind($crate::micros(c.created_at))
                .bind(c.created_by.0)
                .bind(c.revoked_at.map($crate::micros))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                insert_api_token(&mut tx, c.id.0, &token).await?;
                tx.commit().await.map_err($storage_error)?;
                Ok(())
            }

            async fn clients(
                &self,
                controller: ::tutela_domain::ControllerId,
            ) -> Result<Vec<::tutela_domain::MachineClient>, $crate::StorageError> {
                let rows: Vec<$crate::ClientTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM api_clients WHERE controller_id = $1 ORDER BY created_at, id",
                        $crate::CLIENT_COLUMNS
                    ),
                ))
                .bind(controller.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::client_from_row).collect()
            }

            async fn client(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::ClientId,
            ) -> Result<Option<::tutela_domain::MachineClient>, $crate::StorageError> {
                let row: Option<$crate::ClientTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM api_clients WHERE id = $1 AND controller_id = $2",
                        $crate::CLIENT_COLUMNS
                    ),
                ))
                .bind(id.0)
                .bind(controller.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::client_from_row).transpose()
            }

            async fn replace_client_token(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::ClientId,
                token: $crate::NewApiToken,
                now: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let live: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM api_clients \
                     WHERE id = $1 AND controller_id = $2 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(controller.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                if live != 1 {
                    return Ok(false);
                }
                ::sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind($crate::micros(now))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                insert_api_token(&mut tx, id.0, &token).await?;
                tx.commit().await.map_err($storage_error)?;
                Ok(true)
            }

            async fn revoke_client(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::ClientId,
                now: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let now = $crate::micros(now);
                let found = ::sqlx::query(
                    "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE id = $1 AND controller_id = $2",
                )
                .bind(id.0)
                .bind(controller.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                if found.rows_affected() != 1 {
                    return Ok(false);
                }
                ::sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                Ok(true)
            }

            async fn api_token(
                &self,
                digest: ::tutela_domain::SecretDigest,
            ) -> Result<Option<$crate::TokenRecord>, $crate::StorageError> {
                // Every request of a machine client comes through here: the
                // token and its client in one query.
                #[allow(clippy::type_complexity)]
                let row: Option<(
                    i64, Option<i64>,
                    ::uuid::Uuid, ::uuid::Uuid, String, String, String, i64, ::uuid::Uuid, Option<i64>,
                )> = ::sqlx::query_as(
                        "SELECT t.expires_at, t.revoked_at, c.id, c.controller_id, c.name, c.kind, \
                         c.capabilities, c.created_at, c.created_by, c.revoked_at \
                         FROM api_tokens t JOIN api_clients c ON c.id = t.client_id WHERE t.digest = $1",
                    )
                    .bind(digest.0.as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($storage_error)?;
                let Some((
                    expires_at, revoked_at,
                    id, controller_id, name, kind, capabilities, created_at, created_by, client_revoked,
                )) = row
                else {
                    return Ok(None);
                };
                let row: $crate::ClientTuple =
                    (id, controller_id, name, kind, capabilities, created_at, created_by, client_revoked);
                Ok(Some($crate::TokenRecord {
                    client: $crate::client_from_row(row)?,
                    expires_at: $crate::timestamp(expires_at, "api_tokens.expires_at")?,
                    revoked_at: $crate::optional_timestamp(revoked_at, "api_tokens.revoked_at")?,
                }))
            }
        }
    };
}
