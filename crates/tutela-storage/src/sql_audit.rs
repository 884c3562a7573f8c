//! SQL that reads the audit trail, shared by both backends. Appending is per
//! backend (`append_audit`), because batch inserts and chain locks differ.

/// Implements [`crate::AuditRead`] over the segment layout
/// ([`crate::SegmentRow`]); part of [`crate::impl_sql_repositories`].
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
                let row: Option<$crate::SegmentTuple> = ::sqlx::query_as($crate::AUDIT_TAIL_SEGMENT)
                    .bind(chain.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($storage_error)?;
                $crate::tail_from_row(row)
            }

            async fn audit_scan(
                &self,
                after: Option<(::tutela_domain::audit::ChainId, u64)>,
                limit: u32,
            ) -> Result<Vec<$crate::StoredSegment>, $crate::StorageError> {
                // Verification reads a whole store through these two; each
                // backend reads them its fastest way
                // (`__impl_sqlx_audit_scan` or its own driver).
                self.read_audit_scan(after, limit).await
            }

            async fn audit_terms(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                first: u64,
                last: u64,
            ) -> Result<Vec<$crate::StoredTerm>, $crate::StorageError> {
                self.read_audit_terms(chain, first, last).await
            }

            async fn audit_range(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                from: u64,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                self.audit_query(chain, &$crate::AuditFilter::default(), from.checked_sub(1), limit)
                    .await
            }

            async fn audit_query(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                filter: &$crate::AuditFilter,
                after: Option<u64>,
                limit: u32,
            ) -> Result<Vec<::tutela_domain::audit::AuditRecord>, $crate::StorageError> {
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                let from = after.map_or(0, |a| a.saturating_add(1));
                let mut out = Vec::new();
                let size = self.audit_size(chain).await?;
                if from >= size || limit == 0 {
                    return Ok(out);
                }
                // The segment holding `from`: where every search starts.
                let start = self.segment_holding(chain, from).await?;
                if let Some(term) = filter.term() {
                    let last_epoch = $crate::epoch_of(size - 1);
                    let mut epoch = $crate::epoch_of(start);
                    while epoch <= last_epoch {
                        let end = (epoch + $crate::QUERY_EPOCHS).min(last_epoch + 1);
                        let firsts = self.term_segments(chain, &term, epoch..end, start).await?;
                        for batch in firsts.chunks($crate::QUERY_SEGMENTS as usize) {
                            let segments = self.segments_at(chain, batch).await?;
                            if $crate::collect_matching(&segments, filter, from, limit, &mut out)? {
                                return Ok(out);
                            }
                        }
                        epoch = end;
                    }
                    return Ok(out);
                }
                // No term: the time bounds narrow the run of segments read.
                let mut first = start;
                if let Some(t) = filter.from {
                    // The first segment with an event at or after `from`.
                    let sql = "SELECT MIN(first_seq) FROM audit_segments \
                               WHERE chain = $1 AND max_instant >= $2";
                    match self.segment_by_instant(sql, chain, t).await? {
                        Some(f) => first = first.max(f),
                        None => return Ok(out),
                    }
                }
                let last = match filter.until {
                    // The last segment with an event before `until`.
                    Some(t) => match self
                        .segment_by_instant(
                            "SELECT MAX(first_seq) FROM audit_segments \
                             WHERE chain = $1 AND min_instant < $2",
                            chain,
                            t,
                        )
                        .await?
                    {
                        Some(l) => l,
                        None => return Ok(out),
                    },
                    None => u64::MAX,
                };
                while first <= last {
                    let segments = self.segments_between(chain, first, last).await?;
                    let Some(next) = segments.last().map(|s| s.first_seq + 1) else {
                        break;
                    };
                    if $crate::collect_matching(&segments, filter, from, limit, &mut out)? {
                        break;
                    }
                    first = next;
                }
                Ok(out)
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
                    "SELECT id, audit_secret FROM subject_records WHERE controller_id = ",
                );
                q.push_bind(controller.0).push(" AND id IN (");
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

        impl $store {
            /// Events in `chain`.
            async fn audit_size(
                &self,
                chain: ::tutela_domain::audit::ChainId,
            ) -> Result<u64, $crate::StorageError> {
                let row: Option<(i64,)> = ::sqlx::query_as(
                    "SELECT first_seq + count FROM audit_segments \
                     WHERE chain = $1 ORDER BY first_seq DESC LIMIT 1",
                )
                .bind(chain.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(row.map_or(0, |(n,)| u64::try_from(n).unwrap_or(0)))
            }

            /// First position of the segment holding position `seq` (0 when
            /// none starts at or before it).
            async fn segment_holding(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                seq: u64,
            ) -> Result<u64, $crate::StorageError> {
                let row: Option<(i64,)> = ::sqlx::query_as(
                    "SELECT first_seq FROM audit_segments \
                     WHERE chain = $1 AND first_seq <= $2 ORDER BY first_seq DESC LIMIT 1",
                )
                .bind(chain.as_uuid())
                .bind($crate::seq_param(seq))
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(row.map_or(0, |(n,)| u64::try_from(n).unwrap_or(0)))
            }

            /// The first position of a segment picked by `sql` (an
            /// aggregate over `chain` = $1 and an instant bound $2).
            async fn segment_by_instant(
                &self,
                sql: &'static str,
                chain: ::tutela_domain::audit::ChainId,
                t: ::tutela_domain::Timestamp,
            ) -> Result<Option<u64>, $crate::StorageError> {
                let (first,): (Option<i64>,) = ::sqlx::query_as(sql)
                    .bind(chain.as_uuid())
                    .bind($crate::micros(t))
                    .fetch_one(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(first.and_then(|f| u64::try_from(f).ok()))
            }

            /// Up to [`QUERY_SEGMENTS`] segments starting in `first..=last`.
            async fn segments_between(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                first: u64,
                last: u64,
            ) -> Result<Vec<$crate::StoredSegment>, $crate::StorageError> {
                let rows: Vec<$crate::SegmentTuple> = ::sqlx::query_as(
                    "SELECT chain, first_seq, count, records FROM audit_segments \
                     WHERE chain = $1 AND first_seq >= $2 AND first_seq <= $3 \
                     ORDER BY first_seq LIMIT $4",
                )
                .bind(chain.as_uuid())
                .bind($crate::seq_param(first))
                .bind($crate::seq_param(last))
                .bind(i64::from($crate::QUERY_SEGMENTS))
                .fetch_all(&self.pool)
                .await
                .map_err($storage_error)?;
                rows.into_iter().map($crate::segment_from_row).collect()
            }

            /// The segments starting at these positions, in order.
            async fn segments_at(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                firsts: &[u64],
            ) -> Result<Vec<$crate::StoredSegment>, $crate::StorageError> {
                if firsts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = ::sqlx::QueryBuilder::<$db>::new(
                    "SELECT chain, first_seq, count, records FROM audit_segments WHERE chain = ",
                );
                q.push_bind(chain.as_uuid()).push(" AND first_seq IN (");
                let mut list = q.separated(", ");
                for f in firsts {
                    list.push_bind($crate::seq_param(*f));
                }
                q.push(") ORDER BY first_seq");
                let rows: Vec<$crate::SegmentTuple> = q
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                rows.into_iter().map($crate::segment_from_row).collect()
            }

            /// First positions of the segments filed under `term` in these
            /// epochs, from segment `start` on, in order: one index probe per
            /// epoch.
            async fn term_segments(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                term: &[u8],
                epochs: ::std::ops::Range<u64>,
                start: u64,
            ) -> Result<Vec<u64>, $crate::StorageError> {
                let mut q = ::sqlx::QueryBuilder::<$db>::new(
                    "SELECT DISTINCT first_seq FROM audit_terms WHERE chain = ",
                );
                q.push_bind(chain.as_uuid())
                    .push(" AND term = ")
                    .push_bind(term.to_vec())
                    .push(" AND first_seq >= ")
                    .push_bind($crate::seq_param(start))
                    .push(" AND epoch IN (");
                let mut list = q.separated(", ");
                for e in epochs {
                    list.push_bind($crate::seq_param(e));
                }
                q.push(") ORDER BY first_seq");
                let rows: Vec<(i64,)> = q
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(f,)| u64::try_from(f).ok())
                    .collect())
            }
        }

        impl $store {
            /// Each chain's last stored event, read in `tx` (whose locks
            /// the caller holds): the tails a locked append seals on.
            pub(crate) async fn audit_tails_in(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                chains: &[::tutela_domain::audit::ChainId],
            ) -> Result<$crate::ChainTails, $crate::StorageError> {
                let mut tails = Vec::with_capacity(chains.len());
                for chain in chains {
                    let row: Option<$crate::SegmentTuple> =
                        ::sqlx::query_as($crate::AUDIT_TAIL_SEGMENT)
                            .bind(chain.as_uuid())
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err($storage_error)?;
                    tails.push((*chain, $crate::tail_from_row(row)?));
                }
                Ok(tails)
            }

            /// Refuses with a conflict unless each chain holds the expected
            /// number of events (read in `tx`, whose locks the caller holds).
            pub(crate) async fn check_audit_heads(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                expected: &[(::tutela_domain::audit::ChainId, u64)],
            ) -> Result<(), $crate::StorageError> {
                for (chain, size) in expected {
                    let (held,): (i64,) = ::sqlx::query_as($crate::AUDIT_CHAIN_SIZE)
                        .bind(chain.as_uuid())
                        .fetch_one(&mut **tx)
                        .await
                        .map_err($storage_error)?;
                    if held != $crate::seq_param(*size) {
                        return Err($crate::StorageError::Conflict {
                            what: "audit chain head",
                        });
                    }
                }
                Ok(())
            }
        }
    };
}

/// The whole-store reads of verification through sqlx, as inherent
/// `read_audit_scan` and `read_audit_terms` of `$store` (what the shared
/// `audit_scan` and `audit_terms` call).
#[doc(hidden)]
#[macro_export]
// `crate::TERMS_AGGREGATES` names the backend crate on purpose: the one
// dialect-specific expression lives there (see `sql.rs`).
#[allow(clippy::crate_in_macro_def)]
macro_rules! __impl_sqlx_audit_scan {
    ($store:ty, $storage_error:path) => {
        impl $store {
            /// A page of segments after `after`, in (chain, position) order.
            pub(crate) async fn read_audit_scan(
                &self,
                after: Option<(::tutela_domain::audit::ChainId, u64)>,
                limit: u32,
            ) -> Result<Vec<$crate::StoredSegment>, $crate::StorageError> {
                let rows: Vec<$crate::SegmentTuple> = match after {
                    None => {
                        ::sqlx::query_as(
                            "SELECT chain, first_seq, count, records FROM audit_segments \
                         ORDER BY chain, first_seq LIMIT $1",
                        )
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                    }
                    Some((chain, first)) => {
                        ::sqlx::query_as(
                            "SELECT chain, first_seq, count, records FROM audit_segments \
                         WHERE chain > $1 OR (chain = $1 AND first_seq > $2) \
                         ORDER BY chain, first_seq LIMIT $3",
                        )
                        .bind(chain.as_uuid())
                        .bind($crate::seq_param(first))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                    }
                }
                .map_err($storage_error)?;
                rows.into_iter().map($crate::segment_from_row).collect()
            }

            /// The stored terms of `chain`'s segments from `first` to `last`.
            pub(crate) async fn read_audit_terms(
                &self,
                chain: ::tutela_domain::audit::ChainId,
                first: u64,
                last: u64,
            ) -> Result<Vec<$crate::StoredTerm>, $crate::StorageError> {
                // Bounded by epoch so the primary key narrows the scan; a
                // term filed under another epoch than its segment's is
                // invisible to queries, so here too. Three aggregate values
                // for the whole range, not a row per term: rows, or one
                // formatted text, made reading terms cost more than
                // verifying the events.
                let (terms, lengths, firsts): (Option<Vec<u8>>, Option<String>, Option<String>) =
                    ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM audit_terms \
                     WHERE chain = $1 AND epoch >= $2 AND epoch <= $3 \
                     AND first_seq >= $4 AND first_seq <= $5 AND epoch = first_seq / {}",
                        crate::TERMS_AGGREGATES,
                        $crate::EPOCH_EVENTS
                    )))
                    .bind(chain.as_uuid())
                    .bind($crate::seq_param($crate::epoch_of(first)))
                    .bind($crate::seq_param($crate::epoch_of(last)))
                    .bind($crate::seq_param(first))
                    .bind($crate::seq_param(last))
                    .fetch_one(&self.pool)
                    .await
                    .map_err($storage_error)?;
                let mut terms = $crate::terms_from_aggregates(
                    terms.as_deref().unwrap_or_default(),
                    lengths.as_deref().unwrap_or_default(),
                    firsts.as_deref().unwrap_or_default(),
                )?;
                // Already in key order on SQLite (a sorted slice is one pass).
                terms.sort_unstable();
                Ok(terms)
            }
        }
    };
}
