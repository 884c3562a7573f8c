//! SQL of lead lists and their imports. Every statement names the
//! controller, directly or through the list it owns.

/// The columns [`crate::lead_list_from_row`] reads, for `concat!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __lead_list_columns {
    () => {
        "id, controller_id, name, provenance, default_region, expires_at, imported_at, \
         accepted_rows, rejected_rows, content_digest, imported_by, purged_at"
    };
}

/// The same columns of `lead_lists` aliased `l`, for joins where other
/// tables have an `id` or a `name` too. Keep in step with the list above.
#[doc(hidden)]
#[macro_export]
macro_rules! __lead_list_columns_as_l {
    () => {
        "l.id, l.controller_id, l.name, l.provenance, l.default_region, l.expires_at, \
         l.imported_at, l.accepted_rows, l.rejected_rows, l.content_digest, l.imported_by, l.purged_at"
    };
}

/// Implements [`crate::ListRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_list_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        /// An import's open transaction.
        struct ListImportTx {
            tx: ::sqlx::Transaction<'static, $db>,
            controller: ::tutela_domain::ControllerId,
            list: ::tutela_domain::ListId,
        }

        #[::async_trait::async_trait]
        impl $crate::ImportSession for ListImportTx {
            fn list_id(&self) -> ::tutela_domain::ListId {
                self.list
            }

            async fn claim(
                &mut self,
                lookups: &[(::tutela_domain::BlindIndex, ::tutela_domain::SubjectId)],
            ) -> Result<Vec<(::tutela_domain::BlindIndex, ::tutela_domain::SubjectId)>, $crate::StorageError> {
                let mut sorted: Vec<&(::tutela_domain::BlindIndex, ::tutela_domain::SubjectId)> =
                    lookups.iter().collect();
                // Key order keeps the index pages an import touches few and warm.
                sorted.sort_unstable();
                let mut taken = Vec::new();
                for chunk in sorted.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO subject_lookups (controller_id, blind, subject_id) ",
                    );
                    q.push_values(chunk, |mut b, (blind, subject)| {
                        b.push_bind(self.controller.0)
                            .push_bind(blind.0.as_slice())
                            .push_bind(subject.0);
                    });
                    // Rows affected, not RETURNING: the common case (nothing
                    // held) then costs no result rows at all.
                    q.push(" ON CONFLICT DO NOTHING");
                    let inserted = q
                        .build()
                        .execute(&mut *self.tx)
                        .await
                        .map_err($storage_error)?
                        .rows_affected();
                    if usize::try_from(inserted).is_ok_and(|n| n == chunk.len()) {
                        continue;
                    }
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "SELECT blind, subject_id FROM subject_lookups WHERE controller_id = ",
                    );
                    q.push_bind(self.controller.0).push(" AND blind IN (");
                    let mut list = q.separated(", ");
                    for (blind, _) in chunk {
                        list.push_bind(blind.0.as_slice());
                    }
                    q.push(")");
                    let rows: Vec<(Vec<u8>, ::uuid::Uuid)> =
                        q.build_query_as().fetch_all(&mut *self.tx).await.map_err($storage_error)?;
                    for (blind, holder) in rows {
                        let blind: [u8; 16] = blind
                            .try_into()
                            .map_err(|_| $crate::corrupt("subject_lookups.blind"))?;
                        let blind = ::tutela_domain::BlindIndex(blind);
                        // Held by someone other than the claimant.
                        if chunk.iter().any(|(b, claimant)| *b == blind && claimant.0 != holder) {
                            taken.push((blind, ::tutela_domain::SubjectId(holder)));
                        }
                    }
                }
                Ok(taken)
            }

            async fn erased(
                &mut self,
                blinds: &[::tutela_domain::BlindIndex],
            ) -> Result<Vec<::tutela_domain::BlindIndex>, $crate::StorageError> {
                let mut found = Vec::new();
                for chunk in blinds.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "SELECT blind FROM suppressions WHERE reason = 'erased' AND controller_id = ",
                    );
                    q.push_bind(self.controller.0).push(" AND blind IN (");
                    let mut list = q.separated(", ");
                    for blind in chunk {
                        list.push_bind(blind.0.as_slice());
                    }
                    q.push(")");
                    let rows: Vec<(Vec<u8>,)> =
                        q.build_query_as().fetch_all(&mut *self.tx).await.map_err($storage_error)?;
                    for (blind,) in rows {
                        let blind: [u8; 16] = blind
                            .try_into()
                            .map_err(|_| $crate::corrupt("suppressions.blind"))?;
                        found.push(::tutela_domain::BlindIndex(blind));
                    }
                }
                Ok(found)
            }

            async fn subjects(
                &mut self,
                ids: &[::tutela_domain::SubjectId],
            ) -> Result<Vec<::tutela_domain::Subject>, $crate::StorageError> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "SELECT controller_id, id, created_at, updated_at, record FROM subject_records \
                         WHERE controller_id = ",
                    );
                    q.push_bind(self.controller.0).push(" AND id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.0);
                    }
                    q.push(")");
                    let rows: Vec<$crate::SubjectTuple> =
                        q.build_query_as().fetch_all(&mut *self.tx).await.map_err($storage_error)?;
                    for row in rows {
                        out.push($crate::subject_from_row(row)?);
                    }
                }
                Ok(out)
            }

            async fn write(&mut self, batch: &$crate::ImportBatch) -> Result<(), $crate::StorageError> {
                <$store>::insert_subject_rows(&mut self.tx, self.controller, &batch.new_subjects).await?;
                <$store>::update_subject_rows(&mut self.tx, self.controller, &batch.updated_subjects).await?;
                for (blind, claimant) in &batch.released {
                    ::sqlx::query(
                        "DELETE FROM subject_lookups WHERE controller_id = $1 AND blind = $2 AND subject_id = $3",
                    )
                    .bind(self.controller.0)
                    .bind(blind.0.as_slice())
                    .bind(claimant.0)
                    .execute(&mut *self.tx)
                    .await
                    .map_err($storage_error)?;
                }
                for (blind, subject) in &batch.reassigned {
                    ::sqlx::query(
                        "UPDATE subject_lookups SET subject_id = $1 WHERE controller_id = $2 AND blind = $3",
                    )
                    .bind(subject.0)
                    .bind(self.controller.0)
                    .bind(blind.0.as_slice())
                    .execute(&mut *self.tx)
                    .await
                    .map_err($storage_error)?;
                }
                for chunk in batch.members.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO list_members (list_id, subject_id, row_number) ",
                    );
                    q.push_values(chunk, |mut b, (subject, row)| {
                        b.push_bind(self.list.0)
                            .push_bind(subject.0)
                            .push_bind($crate::seq_param(*row));
                    });
                    // A person on two rows is one member, from the first row.
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *self.tx).await.map_err($storage_error)?;
                }
                for chunk in batch.rejections.chunks($crate::ROWS_PER_STATEMENT) {
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO list_rejections (list_id, row_number, column_name, reason) ",
                    );
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(self.list.0)
                            .push_bind($crate::seq_param(r.row))
                            .push_bind(r.column.as_str())
                            .push_bind(r.reason.as_str());
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *self.tx).await.map_err($storage_error)?;
                }
                Ok(())
            }

            async fn commit(
                mut self: Box<Self>,
                list: &::tutela_domain::LeadList,
                imported_by: &str,
            ) -> Result<(), $crate::StorageError> {
                if list.id != self.list || list.controller_id != self.controller {
                    return Err($crate::StorageError::Backend {
                        detail: "an import was committed as another list".into(),
                    });
                }
                let provenance = $crate::json_text(&list.provenance, "lead_lists.provenance")?;
                let art14_due = (!list.provenance.source.rule().collected_from_subject)
                    .then(|| ::tutela_domain::art14_due(list.provenance.acquired_at, None));
                ::sqlx::query(
                    "INSERT INTO lead_lists (id, controller_id, name, provenance, default_region, \
                     expires_at, art14_due_at, imported_at, imported_by, accepted_rows, rejected_rows, \
                     content_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(list.id.0)
                .bind(list.controller_id.0)
                .bind(list.name.as_str())
                .bind(provenance)
                .bind(list.default_region.map(|r| r.as_str().to_owned()))
                .bind(list.expires_at.map($crate::micros))
                .bind(art14_due.map($crate::micros))
                .bind($crate::micros(list.imported_at))
                .bind(imported_by)
                .bind($crate::seq_param(list.accepted_rows))
                .bind($crate::seq_param(list.rejected_rows))
                .bind(list.content_digest.as_slice())
                .execute(&mut *self.tx)
                .await
                .map_err($storage_error)?;
                self.tx.commit().await.map_err($storage_error)
            }
        }

        impl $store {
            /// Marks a subject's memberships of `controller`'s lists with an
            /// instant in `column`, keeping an earlier one.
            async fn mark_members(
                &self,
                sql: &'static str,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
                at: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let on_lists: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND m.subject_id = $2",
                )
                .bind(controller.0)
                .bind(subject.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                ::sqlx::query(sql)
                    .bind($crate::micros(at))
                    .bind(controller.0)
                    .bind(subject.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                Ok(on_lists > 0)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::ListRepository for $store {
            async fn begin_import(
                &self,
                controller: ::tutela_domain::ControllerId,
                list: ::tutela_domain::ListId,
            ) -> Result<Box<dyn $crate::ImportSession>, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                Self::tune_import(&mut tx, controller).await?;
                Ok(Box::new(ListImportTx { tx, controller, list }))
            }

            async fn lead_list(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::ListId,
            ) -> Result<Option<::tutela_domain::LeadList>, $crate::StorageError> {
                let row: Option<$crate::LeadListTuple> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__lead_list_columns!(),
                    " FROM lead_lists WHERE controller_id = $1 AND id = $2"
                ))
                .bind(controller.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::lead_list_from_row).transpose()
            }

            async fn lead_list_by_digest(
                &self,
                controller: ::tutela_domain::ControllerId,
                digest: &[u8; 32],
            ) -> Result<Option<::tutela_domain::LeadList>, $crate::StorageError> {
                let row: Option<$crate::LeadListTuple> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__lead_list_columns!(),
                    " FROM lead_lists WHERE controller_id = $1 AND content_digest = $2"
                ))
                .bind(controller.0)
                .bind(digest.as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::lead_list_from_row).transpose()
            }

            async fn lead_lists(
                &self,
                controller: ::tutela_domain::ControllerId,
            ) -> Result<Vec<::tutela_domain::LeadList>, $crate::StorageError> {
                let rows: Vec<$crate::LeadListTuple> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__lead_list_columns!(),
                    " FROM lead_lists WHERE controller_id = $1 ORDER BY id DESC"
                ))
                .bind(controller.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::lead_list_from_row).collect()
            }

            async fn list_rejections(
                &self,
                controller: ::tutela_domain::ControllerId,
                list: ::tutela_domain::ListId,
                after_row: u64,
                limit: u32,
            ) -> Result<Vec<$crate::Rejection>, $crate::StorageError> {
                let rows: Vec<(i64, String, String)> = ::sqlx::query_as(
                    "SELECT r.row_number, r.column_name, r.reason FROM list_rejections r \
                     JOIN lead_lists l ON l.id = r.list_id \
                     WHERE l.controller_id = $1 AND r.list_id = $2 AND r.row_number > $3 \
                     ORDER BY r.row_number, r.column_name LIMIT $4",
                )
                .bind(controller.0)
                .bind(list.0)
                .bind($crate::seq_param(after_row))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(row, column, reason)| {
                        Ok($crate::Rejection {
                            row: u64::try_from(row).map_err(|_| $crate::corrupt("list_rejections.row_number"))?,
                            column,
                            reason,
                        })
                    })
                    .collect()
            }

            async fn list_members(
                &self,
                controller: ::tutela_domain::ControllerId,
                list: ::tutela_domain::ListId,
                after: Option<::tutela_domain::SubjectId>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::SubjectId>, $crate::StorageError> {
                let ids: Vec<::uuid::Uuid> = ::sqlx::query_scalar(
                    "SELECT m.subject_id FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND m.list_id = $2 AND ($3 IS NULL OR m.subject_id > $3) \
                     ORDER BY m.subject_id LIMIT $4",
                )
                .bind(controller.0)
                .bind(list.0)
                .bind(after.map(|a| a.0))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(ids.into_iter().map(::tutela_domain::SubjectId).collect())
            }

            async fn subject_lists(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
            ) -> Result<Vec<::tutela_domain::ListId>, $crate::StorageError> {
                let ids: Vec<::uuid::Uuid> = ::sqlx::query_scalar(
                    "SELECT m.list_id FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND m.subject_id = $2 ORDER BY m.list_id",
                )
                .bind(controller.0)
                .bind(subject.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(ids.into_iter().map(::tutela_domain::ListId).collect())
            }

            async fn notices_overdue(
                &self,
                controller: ::tutela_domain::ControllerId,
                now: ::tutela_domain::Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::NoticeDue>, $crate::StorageError> {
                let rows: Vec<(::uuid::Uuid, ::uuid::Uuid, i64, Option<i64>)> = ::sqlx::query_as(
                    "SELECT m.list_id, m.subject_id, \
                       CASE WHEN m.first_contact_at IS NOT NULL AND m.first_contact_at < l.art14_due_at \
                            THEN m.first_contact_at ELSE l.art14_due_at END AS due, \
                       m.first_contact_at \
                     FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND l.art14_due_at IS NOT NULL AND l.purged_at IS NULL \
                       AND m.notice_given_at IS NULL \
                       AND (l.art14_due_at <= $2 OR m.first_contact_at <= $2) \
                     ORDER BY due, m.list_id, m.subject_id LIMIT $3",
                )
                .bind(controller.0)
                .bind($crate::micros(now))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(list, subject, due, contact)| {
                        Ok($crate::NoticeDue {
                            list_id: ::tutela_domain::ListId(list),
                            subject_id: ::tutela_domain::SubjectId(subject),
                            due_at: $crate::timestamp(due, "lead_lists.art14_due_at")?,
                            first_contact_at: $crate::optional_timestamp(contact, "list_members.first_contact_at")?,
                        })
                    })
                    .collect()
            }

            async fn record_art14(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
                event: ::tutela_domain::Art14Event,
                at: ::tutela_domain::Timestamp,
            ) -> Result<bool, $crate::StorageError> {
                let sql = match event {
                    ::tutela_domain::Art14Event::FirstContact => {
                        "UPDATE list_members SET first_contact_at = $1 \
                         WHERE first_contact_at IS NULL AND subject_id = $3 \
                           AND list_id IN (SELECT id FROM lead_lists WHERE controller_id = $2)"
                    }
                    ::tutela_domain::Art14Event::NoticeGiven => {
                        "UPDATE list_members SET notice_given_at = $1 \
                         WHERE notice_given_at IS NULL AND subject_id = $3 \
                           AND list_id IN (SELECT id FROM lead_lists WHERE controller_id = $2)"
                    }
                };
                self.mark_members(sql, controller, subject, at).await
            }

            async fn purge_expired_lists(
                &self,
                controller: ::tutela_domain::ControllerId,
                now: ::tutela_domain::Timestamp,
            ) -> Result<$crate::ListPurge, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let lists: Vec<::uuid::Uuid> = ::sqlx::query_scalar(
                    "SELECT id FROM lead_lists WHERE controller_id = $1 AND purged_at IS NULL \
                     AND expires_at IS NOT NULL AND expires_at <= $2",
                )
                .bind(controller.0)
                .bind($crate::micros(now))
                .fetch_all(&mut *tx)
                .await
                .map_err($storage_error)?;
                let mut purge = $crate::ListPurge::default();
                for list in lists {
                    let members: Vec<::uuid::Uuid> = ::sqlx::query_scalar(
                        "SELECT subject_id FROM list_members WHERE list_id = $1",
                    )
                    .bind(list)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                    let gone = ::sqlx::query("DELETE FROM list_members WHERE list_id = $1")
                        .bind(list)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                    purge.members += gone.rows_affected();
                    ::sqlx::query("DELETE FROM list_rejections WHERE list_id = $1")
                        .bind(list)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                    ::sqlx::query("UPDATE lead_lists SET purged_at = $1 WHERE id = $2")
                        .bind($crate::micros(now))
                        .bind(list)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                    purge.lists += 1;
                    for subject in members {
                        // Kept by another list or by the person's own word in the ledger.
                        let kept: i64 = ::sqlx::query_scalar(
                            "SELECT (SELECT COUNT(*) FROM list_members WHERE subject_id = $2) + \
                                    (SELECT COUNT(*) FROM consent_events WHERE controller_id = $1 AND subject_id = $2)",
                        )
                        .bind(controller.0)
                        .bind(subject)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                        if kept == 0 {
                            Self::erase_subject_in(&mut tx, controller, ::tutela_domain::SubjectId(subject), now).await?;
                            purge.subjects += 1;
                        }
                    }
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(purge)
            }
        }
    };
}
