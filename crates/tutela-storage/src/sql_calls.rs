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
            ) -> Result<$crate::CallRecord, $crate::StorageError> {
                // One connection for every read: the decision is asked
                // thousands of times a second, and a pool checkout per
                // statement would cost more than the statements.
                let mut conn = self.pool.acquire().await.map_err($storage_error)?;
                let mut record = $crate::CallRecord::default();
                let found: Option<(::uuid::Uuid, Vec<u8>)> = ::sqlx::query_as(
                    "SELECT r.id, r.audit_secret FROM subject_lookups k \
                     JOIN subject_records r ON r.controller_id = k.controller_id AND r.id = k.subject_id \
                     WHERE k.controller_id = $1 AND k.blind = $2",
                )
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .fetch_optional(&mut *conn)
                .await
                .map_err($storage_error)?;
                let suppression: Option<(String, i64)> = ::sqlx::query_as(
                    "SELECT reason, at FROM suppressions WHERE controller_id = $1 AND blind = $2",
                )
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .fetch_optional(&mut *conn)
                .await
                .map_err($storage_error)?;
                record.suppression = suppression
                    .map(|(reason, at)| {
                        Ok::<_, $crate::StorageError>($crate::Suppression {
                            reason,
                            at: $crate::timestamp(at, "suppressions.at")?,
                        })
                    })
                    .transpose()?;
                if let Some((subject, secret)) = found {
                    record.subject = Some(::tutela_domain::SubjectId(subject));
                    record.audit_secret = Some(secret);
                    record.lists = Self::lists_on_record(&mut conn, controller, subject).await?;
                }
                let outcomes: Vec<(i64, String)> = ::sqlx::query_as(
                    "SELECT at, outcome FROM call_outcomes \
                     WHERE controller_id = $1 AND blind = $2 AND at >= $3 ORDER BY at, outcome",
                )
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .bind($crate::micros(since))
                .fetch_all(&mut *conn)
                .await
                .map_err($storage_error)?;
                record.outcomes = outcomes
                    .into_iter()
                    .map(|(at, outcome)| {
                        Ok((
                            $crate::timestamp(at, "call_outcomes.at")?,
                            outcome
                                .parse()
                                .map_err(|_| $crate::corrupt("call_outcomes.outcome"))?,
                        ))
                    })
                    .collect::<Result<_, $crate::StorageError>>()?;
                if let Some(language) = language {
                    let version: Option<i64> = ::sqlx::query_scalar(
                        "SELECT MAX(version) FROM privacy_notices \
                         WHERE controller_id = $1 AND language = $2",
                    )
                    .bind(controller.0)
                    .bind(language.as_str())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err($storage_error)?;
                    record.notice_version = version.and_then(|v| u32::try_from(v).ok());
                }
                Ok(record)
            }
        }

        impl $store {
            /// The lists of `controller` holding `subject`, with the as-of
            /// instant of their latest check per registry.
            async fn lists_on_record(
                conn: &mut ::sqlx::pool::PoolConnection<$db>,
                controller: ::tutela_domain::ControllerId,
                subject: ::uuid::Uuid,
            ) -> Result<Vec<$crate::ListOnRecord>, $crate::StorageError> {
                let rows: Vec<$crate::ListMemberTuple> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__lead_list_columns!(),
                    ", l.art14_due_at, m.notice_given_at \
                     FROM list_members m JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND m.subject_id = $2 ORDER BY l.id"
                ))
                .bind(controller.0)
                .bind(subject)
                .fetch_all(&mut **conn)
                .await
                .map_err($storage_error)?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                // Every list's latest snapshot per registry in one statement,
                // not one per list: this runs on every decision.
                let checks: Vec<(::uuid::Uuid, String, i64)> = ::sqlx::query_as(
                    "SELECT c.list_id, c.registry, MAX(c.as_of) FROM list_registry_checks c \
                     JOIN list_members m ON m.list_id = c.list_id \
                     JOIN lead_lists l ON l.id = m.list_id \
                     WHERE l.controller_id = $1 AND m.subject_id = $2 \
                     GROUP BY c.list_id, c.registry ORDER BY c.list_id, c.registry",
                )
                .bind(controller.0)
                .bind(subject)
                .fetch_all(&mut **conn)
                .await
                .map_err($storage_error)?;
                let mut lists = Vec::with_capacity(rows.len());
                for row in rows {
                    let (list, art14_due_at, notice_given_at) = $crate::list_member_from_row(row)?;
                    let checks = checks
                        .iter()
                        .filter(|(id, _, _)| *id == list.id.0)
                        .map(|(_, registry, as_of)| {
                            Ok((
                                registry
                                    .parse()
                                    .map_err(|_| $crate::corrupt("list_registry_checks.registry"))?,
                                $crate::timestamp(*as_of, "list_registry_checks.as_of")?,
                            ))
                        })
                        .collect::<Result<_, $crate::StorageError>>()?;
                    lists.push($crate::ListOnRecord {
                        list,
                        checks,
                        notice_owed: art14_due_at.is_some() && notice_given_at.is_none(),
                    });
                }
                Ok(lists)
            }
        }
    };
}
