//! SQL of call gating: list registry checks, call outcomes, suppressions,
//! and the one read the decision makes per number.

/// Implements [`crate::CallRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_call_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::CallRepository for $store {
            async fn record_list_check(
                &self,
                controller: ::tutela_domain::ControllerId,
                c: &$crate::ListCheck,
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let owned: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM lead_lists WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(c.list_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                if owned == 0 {
                    return Err($crate::StorageError::NotFound { what: "list" });
                }
                ::sqlx::query(
                    "INSERT INTO list_registry_checks \
                     (list_id, registry, as_of, snapshot_sha256, checked_at, listed) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(c.list_id.0)
                .bind(c.registry.as_str())
                .bind($crate::micros(c.as_of))
                .bind(c.snapshot_sha256.as_slice())
                .bind($crate::micros(c.checked_at))
                .bind(i64::try_from(c.listed).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)
            }

            async fn list_subjects(
                &self,
                controller: ::tutela_domain::ControllerId,
                list: ::tutela_domain::ListId,
                after: Option<::tutela_domain::SubjectId>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::Subject>, $crate::StorageError> {
                let rows: Vec<$crate::SubjectTuple> = ::sqlx::query_as(
                    "SELECT r.controller_id, r.id, r.created_at, r.updated_at, r.record \
                     FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     JOIN subject_records r ON r.controller_id = l.controller_id AND r.id = m.subject_id \
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
                rows.into_iter().map($crate::subject_from_row).collect()
            }

            async fn list_checks(
                &self,
                controller: ::tutela_domain::ControllerId,
                list: ::tutela_domain::ListId,
            ) -> Result<Vec<$crate::ListCheck>, $crate::StorageError> {
                let rows: Vec<(String, i64, Vec<u8>, i64, i64)> = ::sqlx::query_as(
                    "SELECT c.registry, c.as_of, c.snapshot_sha256, c.checked_at, c.listed \
                     FROM list_registry_checks c JOIN lead_lists l ON l.id = c.list_id \
                     WHERE l.controller_id = $1 AND c.list_id = $2 \
                     ORDER BY c.checked_at DESC, c.registry",
                )
                .bind(controller.0)
                .bind(list.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(registry, as_of, sha, checked_at, listed)| {
                        Ok($crate::ListCheck {
                            list_id: list,
                            registry: registry
                                .parse()
                                .map_err(|_| $crate::corrupt("list_registry_checks.registry"))?,
                            as_of: $crate::timestamp(as_of, "list_registry_checks.as_of")?,
                            snapshot_sha256: sha.try_into().map_err(|_| {
                                $crate::corrupt("list_registry_checks.snapshot_sha256")
                            })?,
                            checked_at: $crate::timestamp(
                                checked_at,
                                "list_registry_checks.checked_at",
                            )?,
                            listed: u64::try_from(listed)
                                .map_err(|_| $crate::corrupt("list_registry_checks.listed"))?,
                        })
                    })
                    .collect()
            }

            async fn record_call_outcome(
                &self,
                controller: ::tutela_domain::ControllerId,
                blind: ::tutela_domain::BlindIndex,
                at: ::tutela_domain::Timestamp,
                outcome: ::tutela_domain::CallOutcome,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "INSERT INTO call_outcomes (controller_id, blind, at, outcome) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .bind($crate::micros(at))
                .bind(outcome.as_str())
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn call_record(
                &self,
                controller: ::tutela_domain::ControllerId,
                blind: ::tutela_domain::BlindIndex,
                since: ::tutela_domain::Timestamp,
                language: Option<::tutela_domain::Language>,
                consent: Option<$crate::ConsentAsk<'_>>,
            ) -> Result<$crate::CallRecord, $crate::StorageError> {
                // Each backend runs the one statement its fastest way
                // (`__impl_sqlx_call_record` or its own driver).
                self.read_call_record(controller, blind, since, language, consent)
                    .await
            }
        }
    };
}

/// The call decision's one statement through sqlx, as an inherent
/// `read_call_record` of `$store` (what the shared `call_record` calls).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_call_record {
    ($store:ty, $db:ty, $storage_error:path) => {
        /// A row of the decision's statement, read through sqlx.
        struct SqlxCallRow<'r>(&'r <$db as ::sqlx::Database>::Row);

        impl $crate::CallRecordRow for SqlxCallRow<'_> {
            fn uuid(&self, index: usize) -> Result<Option<::uuid::Uuid>, $crate::StorageError> {
                ::sqlx::Row::try_get(self.0, index).map_err($storage_error)
            }
            fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, $crate::StorageError> {
                ::sqlx::Row::try_get(self.0, index).map_err($storage_error)
            }
            fn text(&self, index: usize) -> Result<Option<String>, $crate::StorageError> {
                ::sqlx::Row::try_get(self.0, index).map_err($storage_error)
            }
            fn int(&self, index: usize) -> Result<Option<i64>, $crate::StorageError> {
                ::sqlx::Row::try_get(self.0, index).map_err($storage_error)
            }
        }

        impl $store {
            /// The call record in one statement.
            pub(crate) async fn read_call_record(
                &self,
                controller: ::tutela_domain::ControllerId,
                blind: ::tutela_domain::BlindIndex,
                since: ::tutela_domain::Timestamp,
                language: Option<::tutela_domain::Language>,
                consent: Option<$crate::ConsentAsk<'_>>,
            ) -> Result<$crate::CallRecord, $crate::StorageError> {
                let rows = ::sqlx::query($crate::CALL_RECORD_SQL)
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind($crate::micros(since))
                    .bind(language.map(|l| l.as_str()))
                    .bind(consent.map(|c| c.purpose.as_str()))
                    .bind(consent.map(|c| c.channel.as_str()))
                    .bind($crate::micros(
                        consent.map_or(::tutela_domain::Timestamp::MIN, |c| c.at),
                    ))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                let rows: Vec<SqlxCallRow<'_>> = rows.iter().map(SqlxCallRow).collect();
                $crate::call_record_from_rows(&rows)
            }
        }
    };
}
