//! One recording's rules: what an upload must claim to be stored, how long
//! it is kept under the policy in force, and how many a campaign's
//! reviewers may listen to per month. Pure: no crypto, no storage.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::agreement::Purpose;
use crate::error::InvalidValue;
use crate::ids::ControllerId;
use crate::recording_policy::{
    BASIS_POINTS, CallId, Campaign, RecordingPolicy, RecordingRefusal, sample_position,
};

slug_enum!(
    /// What the person said when told the call is recorded.
    PersonAnswer, "answer to the recording announcement" {
        /// Agreed to be recorded.
        Accepted = "accepted",
        /// Was told and did not object.
        NotObjected = "not_objected",
        /// Refused: the call must not be recorded.
        Refused = "refused",
    }
);

/// A secure pause (for payment details): the span is never in the audio,
/// and the pause itself is recorded. Offsets in milliseconds of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseSpan {
    /// When recording paused, from the start of the call.
    pub paused_at_ms: u64,
    /// When it resumed.
    pub resumed_at_ms: u64,
}

/// Checks pauses: each resumes after it paused, and they are in order
/// without overlap.
pub fn check_pauses(pauses: &[PauseSpan]) -> Result<(), InvalidValue> {
    let mut last_end = 0u64;
    for p in pauses {
        if p.resumed_at_ms <= p.paused_at_ms {
            return Err(InvalidValue::new("each pause must resume after it paused"));
        }
        if p.paused_at_ms < last_end {
            return Err(InvalidValue::new(
                "pauses must be in order and must not overlap",
            ));
        }
        last_end = p.resumed_at_ms;
    }
    Ok(())
}

/// What the PBX says about a recording it uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadClaims {
    /// The campaign (the default when none).
    pub campaign: Campaign,
    /// The call.
    pub call: CallId,
    /// Purposes the recording is to serve.
    pub purposes: BTreeSet<Purpose>,
    /// True when the announcement was played before recording started.
    pub announced: bool,
    /// What the person answered.
    pub answer: PersonAnswer,
}

/// Checks an upload against the policy. Returns every reason it breaks the
/// policy, so the PBX can fix them all at once; an empty list means the
/// recording may be stored.
pub fn check_upload(
    policy: &RecordingPolicy,
    controller: ControllerId,
    claims: &UploadClaims,
) -> Vec<RecordingRefusal> {
    let mut reasons = Vec::new();
    if !policy.records() {
        reasons.push(RecordingRefusal::RecordingOff);
    } else if sample_position(controller, &claims.campaign, &claims.call)
        >= policy.sample_basis_points()
    {
        reasons.push(RecordingRefusal::NotSampled);
    }
    if claims.purposes.is_empty() {
        reasons.push(RecordingRefusal::NoPurpose);
    } else if policy.records()
        && claims
            .purposes
            .iter()
            .any(|p| !policy.retention_days().contains_key(p))
    {
        reasons.push(RecordingRefusal::PurposeNotInPolicy);
    }
    if !claims.announced {
        reasons.push(RecordingRefusal::NotAnnounced);
    }
    if claims.answer == PersonAnswer::Refused {
        reasons.push(RecordingRefusal::PersonRefused);
    }
    reasons
}

/// What the retention rules say about one stored recording now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Under a legal hold: kept whatever the policy says.
    Held,
    /// Kept until this instant.
    KeepUntil(Timestamp),
    /// Past its retention (or no purpose of it is in the policy any more):
    /// to be purged.
    Expired,
}

/// The retention of a recording made at `recorded_at` for `purposes`, under
/// the policy in force now (a policy change reaches recordings already
/// stored). The longest retention among its purposes still in the policy
/// applies; a recording none of whose purposes remain has no reason to be
/// kept.
pub fn retention(
    policy: &RecordingPolicy,
    purposes: &BTreeSet<Purpose>,
    recorded_at: Timestamp,
    held: bool,
    now: Timestamp,
) -> Retention {
    if held {
        return Retention::Held;
    }
    let days = purposes
        .iter()
        .filter_map(|p| policy.retention_days().get(p))
        .max();
    let until = days.and_then(|d| {
        recorded_at
            .checked_add(jiff::SignedDuration::from_hours(i64::from(*d) * 24))
            .ok()
    });
    match until {
        Some(until) if now < until => Retention::KeepUntil(until),
        _ => Retention::Expired,
    }
}

/// How many distinct recordings of a campaign may be listened to in a month
/// with `calls` calls: the quota's share, rounded down.
pub fn listen_allowance(calls: u64, quota_basis_points: u32) -> u64 {
    let allowed = u128::from(calls) * u128::from(quota_basis_points) / u128::from(BASIS_POINTS);
    u64::try_from(allowed).unwrap_or(u64::MAX)
}

/// The calendar month (UTC) holding `at`, as [start, end). Quotas count
/// per month in UTC so every node and every time zone agrees.
pub fn month_of(at: Timestamp) -> (Timestamp, Timestamp) {
    let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let first = date.first_of_month();
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let start = first
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(at);
    let end = next
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(at);
    (start, end)
}

/// The day (UTC) of `at`: the only timing a quality reviewer sees, so a
/// recording cannot be matched to a shift or an operator by the minute.
pub fn coarse_day(at: Timestamp) -> jiff::civil::Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn recording_policy() -> RecordingPolicy {
        serde_json::from_str(
            r#"{"record": true, "retention_days": {"quality": 30, "dispute_evidence": 90},
                "sample_basis_points": 10000, "announcement": "recorded"}"#,
        )
        .unwrap()
    }

    fn claims(purposes: &[&str]) -> UploadClaims {
        UploadClaims {
            campaign: Campaign::default_campaign(),
            call: "call-1".parse().unwrap(),
            purposes: purposes.iter().map(|p| p.parse().unwrap()).collect(),
            announced: true,
            answer: PersonAnswer::NotObjected,
        }
    }

    #[test]
    fn an_upload_within_the_policy_passes_and_each_breach_is_named() {
        let p = recording_policy();
        let c = ControllerId::generate();
        assert!(check_upload(&p, c, &claims(&["quality"])).is_empty());
        let mut bad = claims(&["marketing"]);
        bad.announced = false;
        bad.answer = PersonAnswer::Refused;
        assert_eq!(
            check_upload(&p, c, &bad),
            vec![
                RecordingRefusal::PurposeNotInPolicy,
                RecordingRefusal::NotAnnounced,
                RecordingRefusal::PersonRefused
            ]
        );
        assert_eq!(
            check_upload(&RecordingPolicy::default(), c, &claims(&["quality"])),
            vec![RecordingRefusal::RecordingOff]
        );
        assert_eq!(
            check_upload(&p, c, &claims(&[])),
            vec![RecordingRefusal::NoPurpose]
        );
    }

    #[test]
    fn retention_follows_the_policy_in_force_to_the_microsecond() {
        let p = recording_policy();
        let at: Timestamp = "2026-01-10T09:00:00Z".parse().unwrap();
        let quality: BTreeSet<Purpose> = ["quality".parse().unwrap()].into();
        let both: BTreeSet<Purpose> = [
            "quality".parse().unwrap(),
            "dispute_evidence".parse().unwrap(),
        ]
        .into();
        let day30: Timestamp = "2026-02-09T09:00:00Z".parse().unwrap();
        let before = day30 - jiff::SignedDuration::from_micros(1);
        assert_eq!(
            retention(&p, &quality, at, false, before),
            Retention::KeepUntil(day30)
        );
        assert_eq!(
            retention(&p, &quality, at, false, day30),
            Retention::Expired
        );
        // The longest purpose wins.
        assert!(matches!(
            retention(&p, &both, at, false, day30),
            Retention::KeepUntil(_)
        ));
        // A hold keeps it whatever the date.
        assert_eq!(retention(&p, &quality, at, true, day30), Retention::Held);
        // A purpose dropped from the policy leaves nothing to keep it for.
        let shorter: RecordingPolicy = serde_json::from_str(
            r#"{"record": true, "retention_days": {"dispute_evidence": 90},
                "sample_basis_points": 10000, "announcement": "recorded"}"#,
        )
        .unwrap();
        assert_eq!(
            retention(&shorter, &quality, at, false, at),
            Retention::Expired
        );
    }

    #[test]
    fn the_allowance_rounds_down_and_months_are_utc() {
        assert_eq!(listen_allowance(1000, 150), 15);
        assert_eq!(listen_allowance(99, 150), 1);
        assert_eq!(listen_allowance(66, 150), 0);
        let (start, end) = month_of("2026-01-31T23:59:59.999999Z".parse().unwrap());
        assert_eq!(start, "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(end, "2026-02-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(
            coarse_day("2026-03-29T01:30:00Z".parse().unwrap()).to_string(),
            "2026-03-29"
        );
    }

    #[test]
    fn pauses_must_be_ordered_spans() {
        let ok = [
            PauseSpan {
                paused_at_ms: 10,
                resumed_at_ms: 20,
            },
            PauseSpan {
                paused_at_ms: 20,
                resumed_at_ms: 25,
            },
        ];
        assert!(check_pauses(&ok).is_ok());
        assert!(
            check_pauses(&[PauseSpan {
                paused_at_ms: 5,
                resumed_at_ms: 5
            }])
            .is_err()
        );
        let overlapping = [
            PauseSpan {
                paused_at_ms: 10,
                resumed_at_ms: 20,
            },
            PauseSpan {
                paused_at_ms: 15,
                resumed_at_ms: 30,
            },
        ];
        assert!(check_pauses(&overlapping).is_err());
    }
}
