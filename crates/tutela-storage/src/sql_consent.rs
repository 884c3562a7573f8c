//! SQL of the consent ledger. Appends check that the subject belongs to the
//! controller, inside the same transaction.

/// The columns [`crate::consent_event_from_row`] reads, for `concat!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __consent_columns {
    () => {
        "id, controller_id, subject_id, purpose, channel, action, at, recorded_at, evidence, \
         notice_version, collected_by, collected_where"
    };
}

/// The same columns of `consent_events` aliased `e`. Keep in step.
#[doc(hidden)]
#[macro_export]
macro_rules! __consent_columns_as_e {
    () => {
        "e.id, e.controller_id, e.subject_id, e.purpose, e.channel, e.action, e.at, e.recorded_at, \
         e.evidence, e.notice_version, e.collected_by, e.collected_where"
    };
}

/// Implements [`crate::ConsentRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_consent_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        impl $store {
            /// False when `subject` is not a subject of `controller`.
            async fn subject_exists(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
            ) -> Result<bool, $crate::StorageError> {
                let found: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM subject_records WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(subject.0)
                .fetch_one(&mut **tx)
                .await
                .map_err($storage_error)?;
                Ok(found > 0)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::ConsentRepository for $store {
            async fn append_consent(
                &self,
                e: &::tutela_domain::ConsentEvent,
            ) -> Result<(), $crate::StorageError> {
                let evidence = $crate::json_text(&e.evidence, "consent_events.evidence")?;
                let mut tx = self.begin_write().await?;
                if !Self::subject_exists(&mut tx, e.controller_id, e.subject_id).await? {
                    return Err($crate::StorageError::NotFound { what: "subject" });
                }
                ::sqlx::query(concat!(
                    "INSERT INTO consent_events (", $crate::__consent_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))
                .bind(e.id.0)
                .bind(e.controller_id.0)
                .bind(e.subject_id.0)
                .bind(e.purpose.as_str())
                .bind(e.channel.as_str())
                .bind(e.action.as_str())
                .bind($crate::micros(e.at))
                .bind($crate::micros(e.recorded_at))
                .bind(evidence)
                .bind(e.notice_version.map(i64::from))
                .bind(e.collected_by.to_string())
                .bind(e.collected_where.as_str())
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)
            }

            async fn append_registration(
                &self,
                controller: ::tutela_domain::ControllerId,
                r: &::tutela_domain::RegistryRegistration,
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                if !Self::subject_exists(&mut tx, controller, r.subject_id).await? {
                    return Err($crate::StorageError::NotFound { what: "subject" });
                }
                ::sqlx::query(
                    "INSERT INTO registry_registrations (controller_id, subject_id, registry, at, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(controller.0)
                .bind(r.subject_id.0)
                .bind(r.registry.as_str())
                .bind($crate::micros(r.at))
                .bind($crate::micros(r.recorded_at))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)
            }

            async fn consent_events(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
            ) -> Result<Vec<::tutela_domain::ConsentEvent>, $crate::StorageError> {
                let rows: Vec<$crate::ConsentEventTuple> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__consent_columns!(),
                    " FROM consent_events WHERE controller_id = $1 AND subject_id = $2 ORDER BY at, id"
                ))
                .bind(controller.0)
                .bind(subject.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::consent_event_from_row).collect()
            }

            async fn last_consent_event(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
                purpose: &::tutela_domain::Purpose,
                channel: ::tutela_domain::Channel,
                at: ::tutela_domain::Timestamp,
            ) -> Result<Option<(::tutela_domain::ConsentEvent, u64)>, $crate::StorageError> {
                let last: Option<$crate::ConsentEventWithLater> = ::sqlx::query_as(concat!(
                    "SELECT ", $crate::__consent_columns!(),
                    ", (SELECT COUNT(*) FROM registry_registrations r WHERE r.controller_id = $1 \
                        AND r.subject_id = $2 AND r.at > e.at AND r.at <= $5) \
                     FROM consent_events e WHERE controller_id = $1 AND subject_id = $2 \
                      AND purpose = $3 AND channel = $4 AND at <= $5 ORDER BY at DESC, id DESC LIMIT 1"
                ))
                .bind(controller.0)
                .bind(subject.0)
                .bind(purpose.as_str())
                .bind(channel.as_str())
                .bind($crate::micros(at))
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                last.map(|(a, b, c, d, e, f, g, h, i, j, k, l, later)| {
                    let event = $crate::consent_event_from_row((a, b, c, d, e, f, g, h, i, j, k, l))?;
                    Ok((event, u64::try_from(later).unwrap_or(0)))
                })
                .transpose()
            }

            async fn registrations(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
                at: ::tutela_domain::Timestamp,
            ) -> Result<Vec<::tutela_domain::RegistryRegistration>, $crate::StorageError> {
                let rows: Vec<$crate::RegistrationTuple> = ::sqlx::query_as(
                    "SELECT subject_id, registry, at, recorded_at FROM registry_registrations \
                     WHERE controller_id = $1 AND subject_id = $2 AND at <= $3 ORDER BY at",
                )
                .bind(controller.0)
                .bind(subject.0)
                .bind($crate::micros(at))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::registration_from_row).collect()
            }
        }
    };
}
