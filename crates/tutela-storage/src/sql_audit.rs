//! SQL that reads the audit trail, shared by both backends. Appending is per
//! backend (`append_audit`), because batch inserts and chain locks differ.

/// Implements [`crate::AuditRead`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_audit_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::AuditRead for $store {
            async fn audit_tail(
                &self,
                chain: ::tutela_domain::audit::ChainId,
            ) -> Result<Option<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                let row: Option<$crate::AuditTuple> = ::sqlx::query_as(
                    "SELECT chain, seq, instant, actor, action, object, subject, body, chain_hash, seal \
                     FROM audit_events WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
                )
                .bind(chain.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::audit_record_from_row).transpose()
            }

            async fn audit_scan(
                &self,
                after: Option<(::tutela_domain::audit::ChainId, u64)>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                let rows: Vec<$crate::AuditTuple> = match after {
                    None => ::sqlx::query_as(
                        "SELECT chain, seq, instant, actor, action, object, subject, body, chain_hash, seal \
                         FROM audit_events ORDER BY chain, seq LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await,
                    Some((chain, seq)) => ::sqlx::query_as(
                        "SELECT chain, seq, instant, actor, action, object, subject, body, chain_hash, seal \
                         FROM audit_events WHERE chain > $1 OR (chain = $1 AND seq > $2) \
                         ORDER BY chain, seq LIMIT $3",
                    )
                    .bind(chain.as_uuid())
                    .bind($crate::seq_param(seq))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await,
                }
                .map_err($storage_error)?;
                rows.into_iter().map($crate::audit_record_from_row).collect()
            }

            async fn audit_range(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                from: u64,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                let rows: Vec<$crate::AuditTuple> = ::sqlx::query_as(
                    "SELECT chain, seq, instant, actor, action, object, subject, body, chain_hash, seal \
                     FROM audit_events WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                )
                .bind(chain.as_uuid())
                .bind($crate::seq_param(from))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::audit_record_from_row).collect()
            }

            async fn audit_query(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                filter: &$crate::AuditFilter,
                after: Option<u64>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                // Only the filters given become conditions, so the planner
                // sees a plain equality and picks the matching index.
                let mut q = ::sqlx::QueryBuilder::<$db>::new(
                    "SELECT chain, seq, instant, actor, action, object, subject, body, chain_hash, seal \
                     FROM audit_events WHERE chain = ",
                );
                q.push_bind(chain.as_uuid());
                if let Some(subject) = filter.subject {
                    q.push(" AND subject = ").push_bind(subject.0.to_vec());
                }
                if let Some(actor) = &filter.actor {
                    q.push(" AND actor = ").push_bind(actor.clone());
                }
                if let Some(object) = &filter.object {
                    q.push(" AND object = ").push_bind(object.clone());
                }
                if let Some(from) = filter.from {
                    q.push(" AND instant >= ").push_bind($crate::micros(from));
                }
                if let Some(until) = filter.until {
                    q.push(" AND instant < ").push_bind($crate::micros(until));
                }
                if let Some(after) = after {
                    q.push(" AND seq > ").push_bind($crate::seq_param(after));
                }
                q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
                let rows: Vec<$crate::AuditTuple> = q
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                rows.into_iter().map($crate::audit_record_from_row).collect()
            }

            async fn audit_checkpoints(
                &self,
                chain: Option<::tutela_domain::audit::ChainId>,
            ) -> Result<Vec<::tutela_domain::audit::Checkpoint>, $crate::StorageError> {
                let rows: Vec<$crate::CheckpointTuple> = ::sqlx::query_as(
                    "SELECT chain, tree_size, root, chain_hash, instant, key_id, signature \
                     FROM audit_checkpoints WHERE ($1 IS NULL OR chain = $1) ORDER BY chain, tree_size",
                )
                .bind(chain.map(|c| c.as_uuid()))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::checkpoint_from_row).collect()
            }

            async fn subject_audit_secrets(
                &self,
                controller: ::tutela_domain::ControllerId,
                subjects: &[::tutela_domain::SubjectId],
            ) -> Result<Vec<(::tutela_domain::SubjectId, Vec<u8>)>, $crate::StorageError> {
                if subjects.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = ::sqlx::QueryBuilder::<$db>::new(
                    "SELECT k.subject_id, k.secret FROM audit_subject_keys k \
                     JOIN subjects s ON s.id = k.subject_id WHERE s.controller_id = ",
                );
                q.push_bind(controller.0).push(" AND k.subject_id IN (");
                let mut ids = q.separated(", ");
                for s in subjects {
                    ids.push_bind(s.0);
                }
                q.push(")");
                let rows: Vec<(::uuid::Uuid, Vec<u8>)> = q
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, secret)| (::tutela_domain::SubjectId(id), secret))
                    .collect())
            }
        }
    };
}
