//! SQL of data subjects. Every statement names the controller: there is no
//! query that reaches a subject across tenants.

/// Implements [`crate::SubjectRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_subject_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        impl $store {
            /// Inserts subject rows, several per statement.
            async fn insert_subject_rows(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                rows: &[($crate::SubjectRow, [u8; 32])],
            ) -> Result<(), $crate::StorageError> {
                for chunk in rows.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO subject_records (controller_id, id, created_at, updated_at, audit_secret, record) ",
                    );
                    q.push_values(chunk, |mut b, (row, secret)| {
                        b.push_bind(controller.0)
                            .push_bind(row.id.0)
                            .push_bind($crate::micros(row.created_at))
                            .push_bind($crate::micros(row.updated_at))
                            .push_bind(secret.as_slice())
                            .push_bind(row.record.as_str());
                    });
                    q.build().execute(&mut **tx).await.map_err($storage_error)?;
                }
                Ok(())
            }

            /// Inserts blind indexes; one already held is a conflict on
            /// `contact point`.
            async fn insert_lookups(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                lookups: &[(::tutela_domain::BlindIndex, ::tutela_domain::SubjectId)],
            ) -> Result<(), $crate::StorageError> {
                for chunk in lookups.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO subject_lookups (controller_id, blind, subject_id) ",
                    );
                    q.push_values(chunk, |mut b, (blind, subject)| {
                        b.push_bind(controller.0)
                            .push_bind(blind.0.as_slice())
                            .push_bind(subject.0);
                    });
                    q.build().execute(&mut **tx).await.map_err($storage_error)?;
                }
                Ok(())
            }

            /// Rewrites subject records (import merges).
            async fn update_subject_rows(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                rows: &[$crate::SubjectRow],
            ) -> Result<(), $crate::StorageError> {
                for row in rows {
                    ::sqlx::query(
                        "UPDATE subject_records SET updated_at = $1, record = $2 \
                         WHERE controller_id = $3 AND id = $4",
                    )
                    .bind($crate::micros(row.updated_at))
                    .bind(row.record.as_str())
                    .bind(controller.0)
                    .bind(row.id.0)
                    .execute(&mut **tx)
                    .await
                    .map_err($storage_error)?;
                }
                Ok(())
            }

            /// Erases a subject inside `tx`: blind indexes, list memberships,
            /// consent events, registrations, the data keys of their
            /// recordings (crypto-shredding, whatever the blobs' size; the
            /// purge job deletes the blobs later), then the record (and with
            /// it the audit pseudonym secret). False when there is none.
            async fn erase_subject_in(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
                at: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let Some(subject) = Self::subject_in(tx, controller, id).await? else {
                    return Ok(false);
                };
                Self::erase_loaded_in(tx, &subject, at).await?;
                Ok(true)
            }

            /// A subject's record as `tx` sees it.
            async fn subject_in(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
            ) -> Result<Option<::tutela_domain::Subject>, $crate::StorageError> {
                let row: Option<$crate::SubjectTuple> = ::sqlx::query_as(
                    "SELECT controller_id, id, created_at, updated_at, record FROM subject_records \
                     WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(id.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err($storage_error)?;
                row.map($crate::subject_from_row).transpose()
            }

            /// [`Self::erase_subject_in`] for a record already read.
            async fn erase_loaded_in(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                subject: &::tutela_domain::Subject,
                at: ::tutela_domain::Timestamp,
            ) -> Result<(), $crate::StorageError> {
                let controller = subject.controller_id;
                let id = subject.id;
                for blind in subject.blinds() {
                    ::sqlx::query(
                        "DELETE FROM subject_lookups WHERE controller_id = $1 AND blind = $2 AND subject_id = $3",
                    )
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind(id.0)
                    .execute(&mut **tx)
                    .await
                    .map_err($storage_error)?;
                    // The calls made to the person go with them; the
                    // suppression (by the same keyed hash) stays.
                    ::sqlx::query("DELETE FROM call_outcomes WHERE controller_id = $1 AND blind = $2")
                        .bind(controller.0)
                        .bind(blind.0.as_slice())
                        .execute(&mut **tx)
                        .await
                        .map_err($storage_error)?;
                }
                // Legal holds do not stop an erasure of the person: a hold
                // that must survive one is a refusal the DSR answer names,
                // decided before this point.
                ::sqlx::query(
                    "DELETE FROM recording_keys WHERE recording_id IN \
                     (SELECT id FROM recordings WHERE controller_id = $1 AND subject_id = $2)",
                )
                .bind(controller.0)
                .bind(id.0)
                .execute(&mut **tx)
                .await
                .map_err($storage_error)?;
                ::sqlx::query(
                    "UPDATE recordings SET shredded_at = COALESCE(shredded_at, $3), \
                     shred_reason = COALESCE(shred_reason, 'erased'), subject_id = NULL \
                     WHERE controller_id = $1 AND subject_id = $2",
                )
                .bind(controller.0)
                .bind(id.0)
                .bind($crate::micros(at))
                .execute(&mut **tx)
                .await
                .map_err($storage_error)?;
                for statement in [
                    "DELETE FROM list_members WHERE subject_id = $2 \
                     AND list_id IN (SELECT id FROM lead_lists WHERE controller_id = $1)",
                    "DELETE FROM consent_events WHERE controller_id = $1 AND subject_id = $2",
                    "DELETE FROM registry_registrations WHERE controller_id = $1 AND subject_id = $2",
                    "DELETE FROM subject_records WHERE controller_id = $1 AND id = $2",
                ] {
                    ::sqlx::query(statement)
                        .bind(controller.0)
                        .bind(id.0)
                        .execute(&mut **tx)
                        .await
                        .map_err($storage_error)?;
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl $crate::SubjectRepository for $store {
            async fn create_subject(
                &self,
                s: &::tutela_domain::Subject,
                audit_secret: &[u8; 32],
            ) -> Result<(), $crate::StorageError> {
                let row = $crate::SubjectRow {
                    id: s.id,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    record: ::tutela_domain::encode_record(&s.attributes, &s.contacts),
                };
                let lookups: Vec<_> = s.blinds().map(|b| (b, s.id)).collect();
                let mut tx = self.begin_write().await?;
                Self::insert_subject_rows(&mut tx, s.controller_id, &[(row, *audit_secret)]).await?;
                Self::insert_lookups(&mut tx, s.controller_id, &lookups).await?;
                tx.commit().await.map_err($storage_error)?;
                Ok(())
            }

            async fn erase_subject(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
                at: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                // The suppression is written from the blind indexes the
                // erasure is about to delete, in the same transaction: an
                // erased person can never be called again, not even for an
                // instant between two commits. Read from the record (one
                // key lookup), not from the lookups by subject (no index).
                let Some(subject) = Self::subject_in(&mut tx, controller, id).await? else {
                    return Ok(false);
                };
                for blind in subject.blinds() {
                    ::sqlx::query(
                        "INSERT INTO suppressions (controller_id, blind, reason, at) \
                         VALUES ($1, $2, 'erased', $3) \
                         ON CONFLICT (controller_id, blind) DO UPDATE SET reason = 'erased', at = excluded.at",
                    )
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind($crate::micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                Self::erase_loaded_in(&mut tx, &subject, at).await?;
                tx.commit().await.map_err($storage_error)?;
                self.after_erasure().await;
                Ok(true)
            }

            async fn replace_subject(
                &self,
                s: &::tutela_domain::Subject,
            ) -> Result<bool, $crate::StorageError> {
                let controller = s.controller_id;
                let mut tx = self.begin_write().await?;
                let Some(old) = Self::subject_in(&mut tx, controller, s.id).await? else {
                    return Ok(false);
                };
                let before: Vec<_> = old.blinds().collect();
                let after: Vec<_> = s.blinds().collect();
                ::sqlx::query(
                    "UPDATE subject_records SET record = $3, updated_at = $4 \
                     WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(s.id.0)
                .bind(::tutela_domain::encode_record(&s.attributes, &s.contacts))
                .bind($crate::micros(s.updated_at))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                for blind in before.iter().filter(|b| !after.contains(b)) {
                    ::sqlx::query(
                        "DELETE FROM subject_lookups WHERE controller_id = $1 AND blind = $2 AND subject_id = $3",
                    )
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind(s.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                for blind in after.iter().filter(|b| !before.contains(b)) {
                    let added = ::sqlx::query(
                        "INSERT INTO subject_lookups (controller_id, blind, subject_id) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind(s.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?
                    .rows_affected();
                    if added == 0 {
                        // Held by someone else: dropping the transaction
                        // undoes the record's change.
                        return Err($crate::StorageError::Conflict { what: "identifier" });
                    }
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(true)
            }

            async fn subject(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::SubjectId,
            ) -> Result<Option<::tutela_domain::Subject>, $crate::StorageError> {
                let row: Option<$crate::SubjectTuple> = ::sqlx::query_as(
                    "SELECT controller_id, id, created_at, updated_at, record FROM subject_records \
                     WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::subject_from_row).transpose()
            }

            async fn subjects(
                &self,
                controller: ::tutela_domain::ControllerId,
                after: Option<::tutela_domain::SubjectId>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::Subject>, $crate::StorageError> {
                let rows: Vec<$crate::SubjectTuple> = ::sqlx::query_as(
                    "SELECT controller_id, id, created_at, updated_at, record FROM subject_records \
                     WHERE controller_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
                )
                .bind(controller.0)
                .bind(after.map(|a| a.0))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::subject_from_row).collect()
            }

            async fn find_subjects(
                &self,
                controller: ::tutela_domain::ControllerId,
                blind: ::tutela_domain::BlindIndex,
            ) -> Result<Vec<::tutela_domain::SubjectId>, $crate::StorageError> {
                let ids: Vec<::uuid::Uuid> = ::sqlx::query_scalar(
                    "SELECT subject_id FROM subject_lookups WHERE controller_id = $1 AND blind = $2 \
                     ORDER BY subject_id",
                )
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(ids.into_iter().map(::tutela_domain::SubjectId).collect())
            }
        }
    };
}
