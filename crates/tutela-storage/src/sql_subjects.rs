//! SQL of data subjects. Every statement names the controller: there is no
//! query that reaches a subject across tenants.

/// Implements [`crate::SubjectRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_subject_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::SubjectRepository for $store {
            async fn create_subject(
                &self,
                s: &::tutela_domain::Subject,
                audit_secret: &[u8; 32],
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                ::sqlx::query(
                    "INSERT INTO subjects (id, controller_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(s.id.0)
                .bind(s.controller_id.0)
                .bind($crate::micros(s.created_at))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                for a in &s.attributes {
                    ::sqlx::query(
                        "INSERT INTO subject_attributes (subject_id, name, category, value) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(s.id.0)
                    .bind(a.name.as_str())
                    .bind(a.category.as_str())
                    .bind(a.value.expose())
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                ::sqlx::query("INSERT INTO audit_subject_keys (subject_id, secret) VALUES ($1, $2)")
                    .bind(s.id.0)
                    .bind(audit_secret.to_vec())
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                Ok(())
            }

            async fn erase_subject(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
            ) -> Result<bool, $crate::StorageError> {
                // Attributes and the pseudonym secret go by ON DELETE CASCADE.
                let done = ::sqlx::query("DELETE FROM subjects WHERE id = $1 AND controller_id = $2")
                    .bind(id.0)
                    .bind(controller.0)
                    .execute(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(done.rows_affected() > 0)
            }

            async fn subject(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
            ) -> Result<Option<::tutela_domain::Subject>, $crate::StorageError> {
                let row: Option<(::uuid::Uuid, ::uuid::Uuid, i64)> = ::sqlx::query_as(
                    "SELECT id, controller_id, created_at FROM subjects \
                     WHERE id = $1 AND controller_id = $2",
                )
                .bind(id.0)
                .bind(controller.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let attributes: Vec<$crate::AttributeTuple> = ::sqlx::query_as(
                    "SELECT a.subject_id, a.name, a.category, a.value \
                     FROM subject_attributes a JOIN subjects s ON s.id = a.subject_id \
                     WHERE a.subject_id = $1 AND s.controller_id = $2",
                )
                .bind(id.0)
                .bind(controller.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok($crate::subjects_from_rows(vec![row], attributes)?.into_iter().next())
            }

            async fn subjects(
                &self,
                controller: ::tutela_domain::ControllerId,
                after: Option<::tutela_domain::SubjectId>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::Subject>, $crate::StorageError> {
                let after = after.map(|a| a.0);
                let limit = i64::from(limit);
                let rows: Vec<(::uuid::Uuid, ::uuid::Uuid, i64)> = ::sqlx::query_as(
                    "SELECT id, controller_id, created_at FROM subjects \
                     WHERE controller_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
                )
                .bind(controller.0)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                let attributes: Vec<$crate::AttributeTuple> = ::sqlx::query_as(
                    "SELECT a.subject_id, a.name, a.category, a.value FROM subject_attributes a \
                     WHERE a.subject_id IN (SELECT id FROM subjects \
                       WHERE controller_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3)",
                )
                .bind(controller.0)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                $crate::subjects_from_rows(rows, attributes)
            }
        }
    };
}
