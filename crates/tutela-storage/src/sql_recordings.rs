//! SQL of the recordings vault's metadata.

/// The columns of `recordings`, in the order [`recording_from_row`] reads.
pub const RECORDING_COLUMNS: &str = "r.id, r.controller_id, r.campaign, r.call_id, r.subject_id, \
     r.recorded_at, r.stored_at, r.meta, r.operator_sealed, r.blob_key, r.legal_hold, \
     r.shredded_at, r.shred_reason, r.blob_deleted_at";

/// One row of `recordings` as read with [`RECORDING_COLUMNS`].
pub type RecordingTuple = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    Option<uuid::Uuid>,
    i64,
    i64,
    String,
    Vec<u8>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// Parses a row of `recordings`.
pub fn recording_from_row(
    row: RecordingTuple,
) -> Result<crate::StoredRecording, crate::StorageError> {
    let (
        id,
        controller,
        campaign,
        call,
        subject,
        recorded_at,
        stored_at,
        meta,
        operator_sealed,
        blob_key,
        legal_hold,
        shredded_at,
        shred_reason,
        blob_deleted_at,
    ) = row;
    let shredded = match (shredded_at, shred_reason) {
        (Some(at), Some(reason)) => Some((crate::timestamp(at, "recordings.shredded_at")?, reason)),
        (None, None) => None,
        _ => return Err(crate::corrupt("recordings.shredded_at")),
    };
    Ok(crate::StoredRecording {
        id: tutela_domain::RecordingId(id),
        controller: tutela_domain::ControllerId(controller),
        campaign: campaign
            .parse()
            .map_err(|_| crate::corrupt("recordings.campaign"))?,
        call: call
            .parse()
            .map_err(|_| crate::corrupt("recordings.call_id"))?,
        subject: subject.map(tutela_domain::SubjectId),
        recorded_at: crate::timestamp(recorded_at, "recordings.recorded_at")?,
        stored_at: crate::timestamp(stored_at, "recordings.stored_at")?,
        meta: crate::json_value(&meta, "recordings.meta")?,
        operator_sealed,
        blob_key,
        legal_hold,
        shredded,
        blob_deleted_at: crate::optional_timestamp(blob_deleted_at, "recordings.blob_deleted_at")?,
    })
}

/// Parses a stored version number (policy or key), naming `column` when
/// it is out of range.
pub fn version_column(value: i64, column: &'static str) -> Result<u32, crate::StorageError> {
    u32::try_from(value).map_err(|_| crate::corrupt(column))
}

/// Implements [`crate::RecordingRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_recording_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::RecordingRepository for $store {
            async fn set_recording_policy(
                &self,
                controller: ::tutela_domain::ControllerId,
                campaign: &::tutela_domain::Campaign,
                policy: &str,
                at: ::tutela_domain::Timestamp,
            ) -> Result<u32, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let version: i64 = ::sqlx::query_scalar(
                    "INSERT INTO recording_policies (controller_id, campaign, policy, version, set_at) \
                     VALUES ($1, $2, $3, 1, $4) \
                     ON CONFLICT (controller_id, campaign) DO UPDATE \
                     SET policy = excluded.policy, version = recording_policies.version + 1, set_at = excluded.set_at \
                     RETURNING version",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .bind(policy)
                .bind($crate::micros(at))
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                $crate::version_column(version, "recording_policies.version")
            }

            async fn recording_policy(
                &self,
                controller: ::tutela_domain::ControllerId,
                campaign: &::tutela_domain::Campaign,
            ) -> Result<Option<(String, u32)>, $crate::StorageError> {
                let row: Option<(String, i64)> = ::sqlx::query_as(
                    "SELECT policy, version FROM recording_policies \
                     WHERE controller_id = $1 AND campaign = $2",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map(|(policy, version)| {
                    Ok((policy, $crate::version_column(version, "recording_policies.version")?))
                })
                    .transpose()
            }

            async fn note_recording_call(
                &self,
                controller: ::tutela_domain::ControllerId,
                call: &::tutela_domain::CallId,
                campaign: &::tutela_domain::Campaign,
                at: ::tutela_domain::Timestamp,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "INSERT INTO recording_calls (controller_id, call_id, campaign, first_seen) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(controller.0)
                .bind(call.as_str())
                .bind(campaign.as_str())
                .bind($crate::micros(at))
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn campaign_calls(
                &self,
                controller: ::tutela_domain::ControllerId,
                campaign: &::tutela_domain::Campaign,
                from: ::tutela_domain::Timestamp,
                to: ::tutela_domain::Timestamp,
            ) -> Result<u64, $crate::StorageError> {
                let n: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM recording_calls WHERE controller_id = $1 \
                     AND campaign = $2 AND first_seen >= $3 AND first_seen < $4",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .bind($crate::micros(from))
                .bind($crate::micros(to))
                .fetch_one(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn insert_recording(
                &self,
                r: &$crate::StoredRecording,
                key: &$crate::WrappedKey,
            ) -> Result<(), $crate::StorageError> {
                let meta = $crate::json_text(&r.meta, "recordings.meta")?;
                let mut tx = self.begin_write().await?;
                ::sqlx::query(
                    "INSERT INTO recordings (id, controller_id, campaign, call_id, subject_id, \
                     recorded_at, stored_at, meta, operator_sealed, blob_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(r.id.0)
                .bind(r.controller.0)
                .bind(r.campaign.as_str())
                .bind(r.call.as_str())
                .bind(r.subject.map(|s| s.0))
                .bind($crate::micros(r.recorded_at))
                .bind($crate::micros(r.stored_at))
                .bind(meta)
                .bind(r.operator_sealed.as_slice())
                .bind(r.blob_key.as_str())
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                ::sqlx::query(
                    "INSERT INTO recording_keys (recording_id, kek_version, wrapped) VALUES ($1, $2, $3)",
                )
                .bind(r.id.0)
                .bind(i64::from(key.kek_version))
                .bind(key.wrapped.as_slice())
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)
            }

            async fn recording(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::RecordingId,
            ) -> Result<
                Option<($crate::StoredRecording, Option<$crate::WrappedKey>)>,
                $crate::StorageError,
            > {
                let mut conn = self.pool.acquire().await.map_err($storage_error)?;
                let row: Option<$crate::RecordingTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM recordings r WHERE r.controller_id = $1 AND r.id = $2",
                    $crate::RECORDING_COLUMNS
                )))
                .bind(controller.0)
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err($storage_error)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let recording = $crate::recording_from_row(row)?;
                let key: Option<(i64, Vec<u8>)> = ::sqlx::query_as(
                    "SELECT kek_version, wrapped FROM recording_keys WHERE recording_id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err($storage_error)?;
                let key = key
                    .map(|(v, wrapped)| {
                        Ok::<_, $crate::StorageError>($crate::WrappedKey {
                            kek_version: $crate::version_column(v, "recording_keys.kek_version")?,
                            wrapped,
                        })
                    })
                    .transpose()?;
                Ok(Some((recording, key)))
            }

            async fn recordings(
                &self,
                controller: ::tutela_domain::ControllerId,
                after: Option<::tutela_domain::RecordingId>,
                limit: u32,
                live_only: bool,
            ) -> Result<Vec<$crate::StoredRecording>, $crate::StorageError> {
                let rows: Vec<$crate::RecordingTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM recordings r WHERE r.controller_id = $1 \
                     AND ($2 IS NULL OR r.id > $2) AND ($3 = 0 OR r.shredded_at IS NULL) \
                     ORDER BY r.id LIMIT $4",
                    $crate::RECORDING_COLUMNS
                )))
                .bind(controller.0)
                .bind(after.map(|a| a.0))
                .bind(i64::from(live_only))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::recording_from_row).collect()
            }

            async fn subject_recordings(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
            ) -> Result<Vec<$crate::StoredRecording>, $crate::StorageError> {
                let rows: Vec<$crate::RecordingTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM recordings r WHERE r.controller_id = $1 AND r.subject_id = $2 \
                     ORDER BY r.recorded_at, r.id",
                    $crate::RECORDING_COLUMNS
                )))
                .bind(controller.0)
                .bind(subject.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::recording_from_row).collect()
            }

            async fn claim_listen(
                &self,
                controller: ::tutela_domain::ControllerId,
                campaign: &::tutela_domain::Campaign,
                month: ::tutela_domain::Timestamp,
                recording: ::tutela_domain::RecordingId,
                at: ::tutela_domain::Timestamp,
                allowance: u64,
            ) -> Result<$crate::ListenClaim, $crate::StorageError> {
                // The count and the insert share one write transaction, so
                // two reviewers cannot both take the last listen.
                let mut tx = self.begin_write().await?;
                self.lock_quota(&mut tx, controller, campaign).await?;
                let seen: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM recording_listens WHERE controller_id = $1 \
                     AND campaign = $2 AND month = $3 AND recording_id = $4",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .bind($crate::micros(month))
                .bind(recording.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                if seen > 0 {
                    return Ok($crate::ListenClaim::AlreadyCounted);
                }
                let used: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM recording_listens WHERE controller_id = $1 \
                     AND campaign = $2 AND month = $3",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .bind($crate::micros(month))
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                let used = u64::try_from(used).unwrap_or(0);
                if used >= allowance {
                    return Ok($crate::ListenClaim::QuotaExhausted { used, allowance });
                }
                ::sqlx::query(
                    "INSERT INTO recording_listens (controller_id, campaign, month, recording_id, first_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(controller.0)
                .bind(campaign.as_str())
                .bind($crate::micros(month))
                .bind(recording.0)
                .bind($crate::micros(at))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                Ok($crate::ListenClaim::Counted)
            }

            async fn set_legal_hold(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::RecordingId,
                hold: Option<&str>,
            ) -> Result<bool, $crate::StorageError> {
                let done = ::sqlx::query(
                    "UPDATE recordings SET legal_hold = $3 WHERE controller_id = $1 AND id = $2",
                )
                .bind(controller.0)
                .bind(id.0)
                .bind(hold)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(done.rows_affected() > 0)
            }

            async fn shred_recordings(
                &self,
                controller: ::tutela_domain::ControllerId,
                ids: &[::tutela_domain::RecordingId],
                at: ::tutela_domain::Timestamp,
                reason: &str,
            ) -> Result<u64, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let mut shredded = 0;
                for id in ids {
                    let marked = ::sqlx::query(
                        "UPDATE recordings SET shredded_at = $3, shred_reason = $4 \
                         WHERE controller_id = $1 AND id = $2 AND legal_hold IS NULL \
                         AND shredded_at IS NULL",
                    )
                    .bind(controller.0)
                    .bind(id.0)
                    .bind($crate::micros(at))
                    .bind(reason)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                    if marked.rows_affected() > 0 {
                        ::sqlx::query("DELETE FROM recording_keys WHERE recording_id = $1")
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await
                            .map_err($storage_error)?;
                        shredded += 1;
                    }
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(shredded)
            }

            async fn blobs_to_delete(
                &self,
                limit: u32,
            ) -> Result<Vec<(::tutela_domain::RecordingId, String)>, $crate::StorageError> {
                let rows: Vec<(::uuid::Uuid, String)> = ::sqlx::query_as(
                    "SELECT id, blob_key FROM recordings \
                     WHERE shredded_at IS NOT NULL AND blob_deleted_at IS NULL \
                     ORDER BY shredded_at LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, key)| (::tutela_domain::RecordingId(id), key))
                    .collect())
            }

            async fn mark_blob_deleted(
                &self,
                id: ::tutela_domain::RecordingId,
                at: ::tutela_domain::Timestamp,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query("UPDATE recordings SET blob_deleted_at = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind($crate::micros(at))
                    .execute(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(())
            }

            async fn keys_to_rewrap(
                &self,
                controller: ::tutela_domain::ControllerId,
                current: u32,
                limit: u32,
            ) -> Result<Vec<(::tutela_domain::RecordingId, $crate::WrappedKey)>, $crate::StorageError>
            {
                let rows: Vec<(::uuid::Uuid, i64, Vec<u8>)> = ::sqlx::query_as(
                    "SELECT k.recording_id, k.kek_version, k.wrapped FROM recording_keys k \
                     JOIN recordings r ON r.id = k.recording_id \
                     WHERE r.controller_id = $1 AND k.kek_version <> $2 \
                     ORDER BY k.recording_id LIMIT $3",
                )
                .bind(controller.0)
                .bind(i64::from(current))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(id, version, wrapped)| {
                        Ok((
                            ::tutela_domain::RecordingId(id),
                            $crate::WrappedKey {
                                kek_version: $crate::version_column(version, "recording_keys.kek_version")?,
                                wrapped,
                            },
                        ))
                    })
                    .collect()
            }

            async fn replace_wrapped_keys(
                &self,
                keys: &[(::tutela_domain::RecordingId, $crate::WrappedKey)],
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                for (id, key) in keys {
                    ::sqlx::query(
                        "UPDATE recording_keys SET kek_version = $2, wrapped = $3 WHERE recording_id = $1",
                    )
                    .bind(id.0)
                    .bind(i64::from(key.kek_version))
                    .bind(key.wrapped.as_slice())
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                tx.commit().await.map_err($storage_error)
            }
        }
    };
}
