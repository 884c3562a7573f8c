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
                use ::sqlx::Row as _;
                // One statement: the decision is asked thousands of times a
                // second, and every statement is a round trip (on SQLite a
                // hop to the connection's thread and back) costing more than
                // the lookups themselves. One row per list holding the
                // person (one row with no list when there is none), each
                // carrying the number's other facts; outcomes and checks
                // come aggregated as text.
                let rows = ::sqlx::query(concat!(
                    "SELECT r.id, r.audit_secret, \
                       (SELECT s.reason FROM suppressions s WHERE s.controller_id = $1 AND s.blind = $2), \
                       (SELECT s.at FROM suppressions s WHERE s.controller_id = $1 AND s.blind = $2), \
                       (SELECT string_agg(CAST(o.at AS TEXT) || ' ' || o.outcome, ',' ORDER BY o.at, o.outcome) \
                          FROM call_outcomes o WHERE o.controller_id = $1 AND o.blind = $2 AND o.at >= $3), \
                       (SELECT MAX(n.version) FROM privacy_notices n WHERE n.controller_id = $1 AND n.language = $4), ",
                    $crate::__lead_list_columns_as_l!(),
                    ", l.art14_due_at, m.notice_given_at, \
                       (SELECT string_agg(c.registry || ' ' || CAST(c.as_of AS TEXT), ',' ORDER BY c.registry) \
                          FROM (SELECT x.registry, MAX(x.as_of) AS as_of FROM list_registry_checks x \
                                WHERE x.list_id = l.id GROUP BY x.registry) c), ",
                    $crate::__consent_columns_as_e!(),
                    ", (SELECT COUNT(*) FROM registry_registrations g WHERE g.controller_id = $1 \
                         AND g.subject_id = r.id AND g.at > e.at AND g.at <= $7) \
                     FROM (SELECT 1 AS one) base \
                     LEFT JOIN subject_records r ON r.controller_id = $1 AND r.id = \
                       (SELECT k.subject_id FROM subject_lookups k WHERE k.controller_id = $1 AND k.blind = $2 LIMIT 1) \
                     LEFT JOIN list_members m ON m.subject_id = r.id \
                     LEFT JOIN lead_lists l ON l.id = m.list_id AND l.controller_id = $1 \
                     LEFT JOIN consent_events e ON e.id = \
                       (SELECT e2.id FROM consent_events e2 WHERE e2.controller_id = $1 AND e2.subject_id = r.id \
                          AND e2.purpose = $5 AND e2.channel = $6 AND e2.at <= $7 \
                        ORDER BY e2.at DESC, e2.id DESC LIMIT 1) \
                     ORDER BY l.id"
                ))
                .bind(controller.0)
                .bind(blind.0.as_slice())
                .bind($crate::micros(since))
                .bind(language.map(|l| l.as_str()))
                .bind(consent.map(|c| c.purpose.as_str()))
                .bind(consent.map(|c| c.channel.as_str()))
                .bind($crate::micros(consent.map_or(::tutela_domain::Timestamp::MIN, |c| c.at)))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                let mut record = $crate::CallRecord::default();
                let Some(first) = rows.first() else {
                    return Ok(record);
                };
                let subject: Option<::uuid::Uuid> = first.try_get(0).map_err($storage_error)?;
                record.subject = subject.map(::tutela_domain::SubjectId);
                record.audit_secret = first.try_get(1).map_err($storage_error)?;
                let reason: Option<String> = first.try_get(2).map_err($storage_error)?;
                let at: Option<i64> = first.try_get(3).map_err($storage_error)?;
                record.suppression = match (reason, at) {
                    (Some(reason), Some(at)) => Some($crate::Suppression {
                        reason,
                        at: $crate::timestamp(at, "suppressions.at")?,
                    }),
                    _ => None,
                };
                let outcomes: Option<String> = first.try_get(4).map_err($storage_error)?;
                record.outcomes = $crate::aggregated_outcomes(outcomes.as_deref())?;
                let version: Option<i64> = first.try_get(5).map_err($storage_error)?;
                record.notice_version = version.and_then(|v| u32::try_from(v).ok());
                let event: Option<::uuid::Uuid> = first.try_get(21).map_err($storage_error)?;
                if let Some(event) = event {
                    let tuple: $crate::ConsentEventTuple = (
                        event,
                        first.try_get(22).map_err($storage_error)?,
                        first.try_get(23).map_err($storage_error)?,
                        first.try_get(24).map_err($storage_error)?,
                        first.try_get(25).map_err($storage_error)?,
                        first.try_get(26).map_err($storage_error)?,
                        first.try_get(27).map_err($storage_error)?,
                        first.try_get(28).map_err($storage_error)?,
                        first.try_get(29).map_err($storage_error)?,
                        first.try_get(30).map_err($storage_error)?,
                        first.try_get(31).map_err($storage_error)?,
                        first.try_get(32).map_err($storage_error)?,
                    );
                    let later: i64 = first.try_get(33).map_err($storage_error)?;
                    record.consent = Some((
                        $crate::consent_event_from_row(tuple)?,
                        u64::try_from(later).unwrap_or(0),
                    ));
                }
                for row in &rows {
                    let list: Option<::uuid::Uuid> = row.try_get(6).map_err($storage_error)?;
                    let Some(list) = list else { continue };
                    let tuple: $crate::ListMemberTuple = (
                        list,
                        row.try_get(7).map_err($storage_error)?,
                        row.try_get(8).map_err($storage_error)?,
                        row.try_get(9).map_err($storage_error)?,
                        row.try_get(10).map_err($storage_error)?,
                        row.try_get(11).map_err($storage_error)?,
                        row.try_get(12).map_err($storage_error)?,
                        row.try_get(13).map_err($storage_error)?,
                        row.try_get(14).map_err($storage_error)?,
                        row.try_get(15).map_err($storage_error)?,
                        row.try_get(16).map_err($storage_error)?,
                        row.try_get(17).map_err($storage_error)?,
                        row.try_get(18).map_err($storage_error)?,
                        row.try_get(19).map_err($storage_error)?,
                    );
                    let (list, art14_due_at, notice_given_at) = $crate::list_member_from_row(tuple)?;
                    let checks: Option<String> = row.try_get(20).map_err($storage_error)?;
                    record.lists.push($crate::ListOnRecord {
                        list,
                        checks: $crate::aggregated_checks(checks.as_deref())?,
                        notice_owed: art14_due_at.is_some() && notice_given_at.is_none(),
                    });
                }
                Ok(record)
            }
        }
    };
}
