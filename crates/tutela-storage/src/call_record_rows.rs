//! The call decision's one statement and the decoding of its rows, shared
//! by every backend and driver: the statement's text is the same on both
//! databases, and each driver only says how to read a column.

use uuid::Uuid;

use crate::{
    CallRecord, ConsentEventTuple, ListMemberTuple, ListOnRecord, StorageError, Suppression,
    aggregated_checks, aggregated_outcomes, consent_event_from_row, corrupt, list_member_from_row,
    timestamp,
};

/// The statement. Parameters: `$1` controller, `$2` blind index, `$3`
/// outcomes since, `$4` notice language (or NULL), `$5` consent purpose,
/// `$6` consent channel (both NULL when consent is not asked), `$7` the
/// instant consent must hold at.
///
/// One row per list holding the person (one row with no list when there is
/// none), each carrying the number's other facts: a round trip costs more
/// than the lookups, so they come together. Outcomes and checks come
/// aggregated as text (`at outcome,…` and `registry as_of,…`).
pub const CALL_RECORD_SQL: &str = concat!(
    "SELECT r.id, r.audit_secret, \
       (SELECT s.reason FROM suppressions s WHERE s.controller_id = $1 AND s.blind = $2), \
       (SELECT s.at FROM suppressions s WHERE s.controller_id = $1 AND s.blind = $2), \
       (SELECT string_agg(CAST(o.at AS TEXT) || ' ' || o.outcome, ',' ORDER BY o.at, o.outcome) \
          FROM call_outcomes o WHERE o.controller_id = $1 AND o.blind = $2 AND o.at >= $3), \
       (SELECT MAX(n.version) FROM privacy_notices n WHERE n.controller_id = $1 AND n.language = $4), ",
    crate::__lead_list_columns_as_l!(),
    ", l.art14_due_at, m.notice_given_at, \
       (SELECT string_agg(c.registry || ' ' || CAST(c.as_of AS TEXT), ',' ORDER BY c.registry) \
          FROM (SELECT x.registry, MAX(x.as_of) AS as_of FROM list_registry_checks x \
                WHERE x.list_id = l.id GROUP BY x.registry) c), ",
    crate::__consent_columns_as_e!(),
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
);

/// Reading one column of a [`CALL_RECORD_SQL`] row, as each driver does it.
/// Every method answers `None` for NULL.
pub trait CallRecordRow {
    /// A UUID column.
    fn uuid(&self, index: usize) -> Result<Option<Uuid>, StorageError>;
    /// A byte-string column.
    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, StorageError>;
    /// A text column.
    fn text(&self, index: usize) -> Result<Option<String>, StorageError>;
    /// An integer column.
    fn int(&self, index: usize) -> Result<Option<i64>, StorageError>;
}

/// A column that cannot be NULL when its row's key is present.
fn required<T>(value: Option<T>, index: usize) -> Result<T, StorageError> {
    value.ok_or_else(|| StorageError::Corrupt {
        detail: format!("call record column {index} is NULL"),
    })
}

/// Decodes the rows of [`CALL_RECORD_SQL`] into the record.
pub fn call_record_from_rows<R: CallRecordRow>(rows: &[R]) -> Result<CallRecord, StorageError> {
    let mut record = CallRecord::default();
    let Some(first) = rows.first() else {
        return Ok(record);
    };
    record.subject = first.uuid(0)?.map(tutela_domain::SubjectId);
    record.audit_secret = first.bytes(1)?;
    record.suppression = match (first.text(2)?, first.int(3)?) {
        (Some(reason), Some(at)) => Some(Suppression {
            reason,
            at: timestamp(at, "suppressions.at")?,
        }),
        _ => None,
    };
    record.outcomes = aggregated_outcomes(first.text(4)?.as_deref())?;
    record.notice_version = first.int(5)?.and_then(|v| u32::try_from(v).ok());
    if let Some(event) = first.uuid(21)? {
        let tuple: ConsentEventTuple = (
            event,
            required(first.uuid(22)?, 22)?,
            required(first.uuid(23)?, 23)?,
            required(first.text(24)?, 24)?,
            required(first.text(25)?, 25)?,
            required(first.text(26)?, 26)?,
            required(first.int(27)?, 27)?,
            required(first.int(28)?, 28)?,
            required(first.text(29)?, 29)?,
            first.int(30)?,
            required(first.text(31)?, 31)?,
            required(first.text(32)?, 32)?,
        );
        let later = first.int(33)?.unwrap_or(0);
        record.consent = Some((
            consent_event_from_row(tuple)?,
            u64::try_from(later).unwrap_or(0),
        ));
    }
    for row in rows {
        let Some(list) = row.uuid(6)? else { continue };
        let tuple: ListMemberTuple = (
            list,
            required(row.uuid(7)?, 7)?,
            required(row.text(8)?, 8)?,
            required(row.text(9)?, 9)?,
            row.text(10)?,
            row.int(11)?,
            required(row.int(12)?, 12)?,
            required(row.int(13)?, 13)?,
            required(row.int(14)?, 14)?,
            required(row.bytes(15)?, 15)?,
            required(row.text(16)?, 16)?,
            row.int(17)?,
            row.int(18)?,
            row.int(19)?,
        );
        let (list, art14_due_at, notice_given_at) = list_member_from_row(tuple)?;
        record.lists.push(ListOnRecord {
            list,
            checks: aggregated_checks(row.text(20)?.as_deref())?,
            notice_owed: art14_due_at.is_some() && notice_given_at.is_none(),
        });
    }
    Ok(record)
}

/// Decodes a UUID stored as 16 bytes (SQLite's representation).
pub fn uuid_from_bytes(bytes: &[u8], index: usize) -> Result<Uuid, StorageError> {
    Uuid::from_slice(bytes).map_err(|_| corrupt(&format!("call record column {index}")))
}
