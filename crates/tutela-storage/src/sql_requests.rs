//! SQL of data-subject requests.

/// The columns of `dsr_requests`, in the order [`request_from_row`] reads.
pub const REQUEST_COLUMNS: &str = "id, controller_id, kind, channel, language, state, \
     received_at, zone, due, latest_extension, extended_until, subject_id, duplicate_of, \
     details, version";

/// One row of `dsr_requests` as read with [`REQUEST_COLUMNS`].
pub type RequestTuple = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<uuid::Uuid>,
    Option<uuid::Uuid>,
    String,
    i64,
);

fn parsed<T: std::str::FromStr>(value: &str, column: &str) -> Result<T, crate::StorageError> {
    value.parse().map_err(|_| crate::corrupt(column))
}

/// Parses a row of `dsr_requests`.
pub fn request_from_row(row: RequestTuple) -> Result<crate::StoredRequest, crate::StorageError> {
    let (
        id,
        controller,
        kind,
        channel,
        language,
        state,
        received_at,
        zone,
        due,
        latest_extension,
        extended_until,
        subject,
        duplicate_of,
        details,
        version,
    ) = row;
    Ok(crate::StoredRequest {
        id: tutela_domain::RequestId(id),
        controller: tutela_domain::ControllerId(controller),
        kind: parsed(&kind, "dsr_requests.kind")?,
        channel: parsed(&channel, "dsr_requests.channel")?,
        language: parsed(&language, "dsr_requests.language")?,
        state: parsed(&state, "dsr_requests.state")?,
        received_at: crate::timestamp(received_at, "dsr_requests.received_at")?,
        zone,
        due: parsed(&due, "dsr_requests.due")?,
        latest_extension: parsed(&latest_extension, "dsr_requests.latest_extension")?,
        extended_until: extended_until
            .map(|d| parsed(&d, "dsr_requests.extended_until"))
            .transpose()?,
        subject: subject.map(tutela_domain::SubjectId),
        duplicate_of: duplicate_of.map(tutela_domain::RequestId),
        details: crate::json_value(&details, "dsr_requests.details")?,
        version: crate::version_column(version, "dsr_requests.version")?,
    })
}

/// Implements [`crate::RequestRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_request_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::RequestRepository for $store {
            async fn insert_request(
                &self,
                r: &$crate::StoredRequest,
                identifiers: &[::tutela_domain::BlindIndex],
                first: &$crate::RequestStep,
            ) -> Result<(), $crate::StorageError> {
                let details = $crate::json_text(&r.details, "dsr_requests.details")?;
                let mut tx = self.begin_write().await?;
                ::sqlx::query(
                    "INSERT INTO dsr_requests (id, controller_id, kind, channel, language, state, \
                     received_at, zone, due, latest_extension, extended_until, subject_id, \
                     duplicate_of, details, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(r.id.0)
                .bind(r.controller.0)
                .bind(r.kind.as_str())
                .bind(r.channel.as_str())
                .bind(r.language.as_str())
                .bind(r.state.as_str())
                .bind($crate::micros(r.received_at))
                .bind(r.zone.as_str())
                .bind(r.due.to_string())
                .bind(r.latest_extension.to_string())
                .bind(r.extended_until.map(|d| d.to_string()))
                .bind(r.subject.map(|s| s.0))
                .bind(r.duplicate_of.map(|d| d.0))
                .bind(details)
                .bind(i64::from(r.version))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                for blind in identifiers {
                    ::sqlx::query(
                        "INSERT INTO dsr_identifiers (request_id, blind) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(r.id.0)
                    .bind(blind.0.as_slice())
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                ::sqlx::query(
                    "INSERT INTO dsr_history (request_id, seq, state, at, actor, detail) \
                     VALUES ($1, 1, $2, $3, $4, $5)",
                )
                .bind(r.id.0)
                .bind(first.state.as_str())
                .bind($crate::micros(first.at))
                .bind(first.actor.as_str())
                .bind(first.detail.as_str())
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                Ok(())
            }

            async fn request(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::RequestId,
            ) -> Result<Option<$crate::StoredRequest>, $crate::StorageError> {
                let row: Option<$crate::RequestTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM dsr_requests WHERE controller_id = $1 AND id = $2",
                        $crate::REQUEST_COLUMNS
                    ),
                ))
                .bind(controller.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                row.map($crate::request_from_row).transpose()
            }

            async fn open_requests_sharing(
                &self,
                controller: ::tutela_domain::ControllerId,
                kind: ::tutela_domain::RequestKind,
                identifiers: &[::tutela_domain::BlindIndex],
            ) -> Result<Vec<::tutela_domain::RequestId>, $crate::StorageError> {
                let mut found: Vec<(i64, ::uuid::Uuid)> = Vec::new();
                for blind in identifiers {
                    let rows: Vec<(i64, ::uuid::Uuid)> = ::sqlx::query_as(
                        "SELECT r.received_at, r.id FROM dsr_identifiers i \
                         JOIN dsr_requests r ON r.id = i.request_id \
                         WHERE i.blind = $1 AND r.controller_id = $2 AND r.kind = $3 \
                         AND r.closed_at IS NULL",
                    )
                    .bind(blind.0.as_slice())
                    .bind(controller.0)
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                    found.extend(rows);
                }
                found.sort_unstable();
                found.dedup();
                Ok(found
                    .into_iter()
                    .map(|(_, id)| ::tutela_domain::RequestId(id))
                    .collect())
            }

            async fn subject_requests(
                &self,
                controller: ::tutela_domain::ControllerId,
                subject: ::tutela_domain::SubjectId,
            ) -> Result<Vec<$crate::StoredRequest>, $crate::StorageError> {
                let rows: Vec<$crate::RequestTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM dsr_requests WHERE controller_id = $1 AND subject_id = $2 \
                         ORDER BY received_at, id",
                        $crate::REQUEST_COLUMNS
                    ),
                ))
                .bind(controller.0)
                .bind(subject.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::request_from_row).collect()
            }

            async fn open_requests(
                &self,
                controller: ::tutela_domain::ControllerId,
                due_by: Option<$crate::CivilDate>,
                limit: u32,
            ) -> Result<Vec<$crate::StoredRequest>, $crate::StorageError> {
                // Dates are stored as YYYY-MM-DD, which sort as text.
                let rows: Vec<$crate::RequestTuple> = ::sqlx::query_as(::sqlx::AssertSqlSafe(
                    format!(
                        "SELECT {} FROM dsr_requests WHERE controller_id = $1 AND closed_at IS NULL \
                         AND ($2 IS NULL OR COALESCE(extended_until, due) <= $2) \
                         ORDER BY COALESCE(extended_until, due), received_at LIMIT $3",
                        $crate::REQUEST_COLUMNS
                    ),
                ))
                .bind(controller.0)
                .bind(due_by.map(|d| d.to_string()))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::request_from_row).collect()
            }

            async fn move_request(
                &self,
                controller: ::tutela_domain::ControllerId,
                id: ::tutela_domain::RequestId,
                version: u32,
                change: &$crate::RequestMove,
            ) -> Result<bool, $crate::StorageError> {
                let step = &change.step;
                let closed = step.state.is_closed().then(|| $crate::micros(step.at));
                let mut tx = self.begin_write().await?;
                let moved = ::sqlx::query(
                    "UPDATE dsr_requests SET state = $1, version = version + 1, \
                     subject_id = COALESCE($2, subject_id), \
                     extended_until = COALESCE($3, extended_until), \
                     closed_at = COALESCE($4, closed_at) \
                     WHERE controller_id = $5 AND id = $6 AND version = $7",
                )
                .bind(step.state.as_str())
                .bind(change.subject.map(|s| s.0))
                .bind(change.extended_until.map(|d| d.to_string()))
                .bind(closed)
                .bind(controller.0)
                .bind(id.0)
                .bind(i64::from(version))
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?
                .rows_affected();
                if moved != 1 {
                    return Ok(false);
                }
                ::sqlx::query(
                    "INSERT INTO dsr_history (request_id, seq, state, at, actor, detail) \
                     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM dsr_history \
                     WHERE request_id = $1",
                )
                .bind(id.0)
                .bind(step.state.as_str())
                .bind($crate::micros(step.at))
                .bind(step.actor.as_str())
                .bind(step.detail.as_str())
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                if let Some(letter) = &change.letter {
                    ::sqlx::query(
                        "INSERT INTO dsr_letters (request_id, seq, outcome, language, subject, body, at) \
                         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 FROM dsr_letters \
                         WHERE request_id = $1",
                    )
                    .bind(id.0)
                    .bind(letter.outcome.as_str())
                    .bind(letter.language.as_str())
                    .bind(letter.subject.as_str())
                    .bind(letter.body.as_str())
                    .bind($crate::micros(letter.at))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                if let Some(item) = &change.outbox {
                    ::sqlx::query(
                        "INSERT INTO dsr_outbox (id, controller_id, request_id, payload, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(item.id)
                    .bind(item.controller.0)
                    .bind(item.request.0)
                    .bind(item.payload.as_str())
                    .bind($crate::micros(item.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                if change.subject.is_some() || step.state.is_closed() {
                    // Verified or closed: the codes have served.
                    ::sqlx::query("DELETE FROM dsr_codes WHERE request_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err($storage_error)?;
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(true)
            }

            async fn request_history(
                &self,
                id: ::tutela_domain::RequestId,
            ) -> Result<Vec<$crate::RequestStep>, $crate::StorageError> {
                let rows: Vec<(String, i64, String, String)> = ::sqlx::query_as(
                    "SELECT state, at, actor, detail FROM dsr_history WHERE request_id = $1 ORDER BY seq",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(state, at, actor, detail)| {
                        Ok($crate::RequestStep {
                            state: state
                                .parse()
                                .map_err(|_| $crate::corrupt("dsr_history.state"))?,
                            at: $crate::timestamp(at, "dsr_history.at")?,
                            actor,
                            detail,
                        })
                    })
                    .collect()
            }

            async fn request_letters(
                &self,
                id: ::tutela_domain::RequestId,
            ) -> Result<Vec<$crate::StoredLetter>, $crate::StorageError> {
                let rows: Vec<(String, String, String, String, i64)> = ::sqlx::query_as(
                    "SELECT outcome, language, subject, body, at FROM dsr_letters \
                     WHERE request_id = $1 ORDER BY seq",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(outcome, language, subject, body, at)| {
                        Ok($crate::StoredLetter {
                            outcome,
                            language: language
                                .parse()
                                .map_err(|_| $crate::corrupt("dsr_letters.language"))?,
                            subject,
                            body,
                            at: $crate::timestamp(at, "dsr_letters.at")?,
                        })
                    })
                    .collect()
            }

            async fn put_codes(
                &self,
                id: ::tutela_domain::RequestId,
                codes: &[$crate::StoredCode],
            ) -> Result<(), $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                ::sqlx::query("DELETE FROM dsr_codes WHERE request_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                for code in codes {
                    ::sqlx::query(
                        "INSERT INTO dsr_codes (request_id, subject_id, digest, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id.0)
                    .bind(code.subject.0)
                    .bind(code.digest.as_slice())
                    .bind($crate::micros(code.expires_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?;
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(())
            }

            async fn request_codes(
                &self,
                id: ::tutela_domain::RequestId,
            ) -> Result<Vec<$crate::StoredCode>, $crate::StorageError> {
                let rows: Vec<(::uuid::Uuid, Vec<u8>, i64)> = ::sqlx::query_as(
                    "SELECT subject_id, digest, expires_at FROM dsr_codes WHERE request_id = $1",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(subject, digest, expires_at)| {
                        Ok($crate::StoredCode {
                            subject: ::tutela_domain::SubjectId(subject),
                            digest,
                            expires_at: $crate::timestamp(expires_at, "dsr_codes.expires_at")?,
                        })
                    })
                    .collect()
            }

            async fn count_code_attempt(
                &self,
                id: ::tutela_domain::RequestId,
            ) -> Result<u32, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let attempts: i64 = ::sqlx::query_scalar(
                    "UPDATE dsr_requests SET verify_attempts = verify_attempts + 1 \
                     WHERE id = $1 RETURNING verify_attempts",
                )
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                $crate::version_column(attempts, "dsr_requests.verify_attempts")
            }

            async fn restrict_subject(
                &self,
                controller: ::tutela_domain::ControllerId,
                identifiers: &[::tutela_domain::BlindIndex],
                at: ::tutela_domain::Timestamp,
            ) -> Result<u64, $crate::StorageError> {
                let mut tx = self.begin_write().await?;
                let mut added = 0;
                for blind in identifiers {
                    added += ::sqlx::query(
                        "INSERT INTO suppressions (controller_id, blind, reason, at) \
                         VALUES ($1, $2, 'restricted', $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(controller.0)
                    .bind(blind.0.as_slice())
                    .bind($crate::micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err($storage_error)?
                    .rows_affected();
                }
                tx.commit().await.map_err($storage_error)?;
                Ok(added)
            }

            async fn pending_outbox(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::OutboxItem>, $crate::StorageError> {
                let rows: Vec<(::uuid::Uuid, ::uuid::Uuid, ::uuid::Uuid, String, i64)> =
                    ::sqlx::query_as(
                        "SELECT id, controller_id, request_id, payload, created_at FROM dsr_outbox \
                         WHERE delivered_at IS NULL ORDER BY created_at LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                rows.into_iter()
                    .map(|(id, controller, request, payload, created_at)| {
                        Ok($crate::OutboxItem {
                            id,
                            controller: ::tutela_domain::ControllerId(controller),
                            request: ::tutela_domain::RequestId(request),
                            payload,
                            created_at: $crate::timestamp(created_at, "dsr_outbox.created_at")?,
                        })
                    })
                    .collect()
            }

            async fn mark_delivered(
                &self,
                item: ::uuid::Uuid,
                at: ::tutela_domain::Timestamp,
                to: &str,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(
                    "UPDATE dsr_outbox SET delivered_at = $1, delivered_to = $2 \
                     WHERE id = $3 AND delivered_at IS NULL",
                )
                .bind($crate::micros(at))
                .bind(to)
                .bind(item)
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }
        }
    };
}
