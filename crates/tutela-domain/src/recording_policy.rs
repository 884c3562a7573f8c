//! Whether calls are recorded, why, and for how long: one controller's
//! recording policy for one campaign (or its default), as data. Off unless
//! an operator turns it on. Sampling is reproducible: whether a call is in
//! the sample follows from the controller, the campaign and the call id
//! alone, so an auditor can recompute every choice.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agreement::Purpose;
use crate::error::InvalidValue;
use crate::ids::ControllerId;
use crate::text::check_slug;

/// A campaign's name (`winter-offer`, `default` for the controller's
/// default policy): a slug of 2 to 64 characters `a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Campaign(String);

impl Campaign {
    /// The name of a controller's default policy and of calls without a
    /// campaign.
    pub const DEFAULT: &'static str = "default";

    /// The default campaign.
    pub fn default_campaign() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// The campaign's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the controller's default.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

impl FromStr for Campaign {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        check_slug(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<String> for Campaign {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Campaign> for String {
    fn from(c: Campaign) -> Self {
        c.0
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A call's identifier as the PBX or dialer knows it: 1 to 128 letters,
/// digits and `-._:` (never a phone number: digits only are refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CallId(String);

impl CallId {
    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CallId {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if !crate::audit::event::is_identifier_text(value, 128) {
            return Err(InvalidValue::new(
                "must be 1 to 128 letters, digits or -._: characters",
            ));
        }
        // A call id made of digits and `+` alone looks like a phone number,
        // and would put one in the audit trail.
        if value.bytes().all(|b| b.is_ascii_digit()) && value.len() >= 7 {
            return Err(InvalidValue::new(
                "must not be a phone number: use the PBX's call identifier",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<String> for CallId {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<CallId> for String {
    fn from(c: CallId) -> Self {
        c.0
    }
}

/// Basis points: hundredths of a percent, 0 to 10,000 (150 is 1.5%).
pub const BASIS_POINTS: u32 = 10_000;

/// The default listening quota: 1.5% of a campaign's calls per month.
pub const DEFAULT_LISTEN_QUOTA_BP: u32 = 150;

/// Longest retention a policy may set, in days (ten years: the longest
/// sector rule for dispute evidence we know of).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// A recording policy as an operator writes it; [`RecordingPolicy`] is the
/// checked form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingPolicyDraft {
    /// Whether calls are recorded at all.
    pub record: bool,
    /// The purposes recordings may serve, each with its retention in days.
    #[serde(default)]
    pub retention_days: BTreeMap<Purpose, u32>,
    /// Share of calls recorded, in basis points (10,000 records all).
    #[serde(default)]
    pub sample_basis_points: u32,
    /// What the person hears before recording starts.
    #[serde(default)]
    pub announcement: String,
    /// Share of the campaign's calls per month that may be listened to, in
    /// basis points (default 150, 1.5%).
    #[serde(default = "default_quota")]
    pub listen_quota_basis_points: u32,
}

fn default_quota() -> u32 {
    DEFAULT_LISTEN_QUOTA_BP
}

/// Why a draft policy was refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidPolicy {
    /// The field at fault.
    pub field: &'static str,
    /// Why.
    pub reason: &'static str,
}

/// A checked recording policy. Holding one means: purposes each have a
/// retention of 1 to [`MAX_RETENTION_DAYS`] days, rates are within 0 to
/// 100%, and a policy that records has at least one purpose, a sample above
/// zero and an announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RecordingPolicyDraft")]
pub struct RecordingPolicy {
    record: bool,
    retention_days: BTreeMap<Purpose, u32>,
    sample_basis_points: u32,
    announcement: String,
    listen_quota_basis_points: u32,
}

impl Default for RecordingPolicy {
    /// Off: nothing is recorded until an operator says so.
    fn default() -> Self {
        Self {
            record: false,
            retention_days: BTreeMap::new(),
            sample_basis_points: 0,
            announcement: String::new(),
            listen_quota_basis_points: DEFAULT_LISTEN_QUOTA_BP,
        }
    }
}

impl TryFrom<RecordingPolicyDraft> for RecordingPolicy {
    type Error = InvalidPolicy;
    fn try_from(d: RecordingPolicyDraft) -> Result<Self, Self::Error> {
        let invalid = |field, reason| Err(InvalidPolicy { field, reason });
        if d.retention_days
            .values()
            .any(|days| !(1..=MAX_RETENTION_DAYS).contains(days))
        {
            return invalid("retention_days", "each purpose keeps 1 to 3650 days");
        }
        if d.sample_basis_points > BASIS_POINTS {
            return invalid(
                "sample_basis_points",
                "must be 0 to 10000 (hundredths of a percent)",
            );
        }
        if d.listen_quota_basis_points > BASIS_POINTS {
            return invalid(
                "listen_quota_basis_points",
                "must be 0 to 10000 (hundredths of a percent)",
            );
        }
        if d.announcement.chars().count() > 1000 || d.announcement.chars().any(char::is_control) {
            return invalid(
                "announcement",
                "must be at most 1000 characters, without control characters",
            );
        }
        if d.record {
            if d.retention_days.is_empty() {
                return invalid(
                    "retention_days",
                    "a policy that records needs at least one purpose with its retention",
                );
            }
            if d.sample_basis_points == 0 {
                return invalid(
                    "sample_basis_points",
                    "a policy that records must sample more than 0 calls",
                );
            }
            if d.announcement.trim().is_empty() {
                return invalid(
                    "announcement",
                    "a policy that records must say what the person hears first",
                );
            }
        }
        Ok(Self {
            record: d.record,
            retention_days: d.retention_days,
            sample_basis_points: d.sample_basis_points,
            announcement: d.announcement,
            listen_quota_basis_points: d.listen_quota_basis_points,
        })
    }
}

impl RecordingPolicy {
    /// Whether calls are recorded.
    pub fn records(&self) -> bool {
        self.record
    }

    /// The purposes recordings may serve, with their retention in days.
    pub fn retention_days(&self) -> &BTreeMap<Purpose, u32> {
        &self.retention_days
    }

    /// Share of calls recorded, in basis points.
    pub fn sample_basis_points(&self) -> u32 {
        self.sample_basis_points
    }

    /// What the person hears before recording starts.
    pub fn announcement(&self) -> &str {
        &self.announcement
    }

    /// Share of a campaign's calls per month that may be listened to.
    pub fn listen_quota_basis_points(&self) -> u32 {
        self.listen_quota_basis_points
    }

    /// The policy as its operator-facing form (what the API shows and
    /// what is stored).
    pub fn to_draft(&self) -> RecordingPolicyDraft {
        RecordingPolicyDraft {
            record: self.record,
            retention_days: self.retention_days.clone(),
            sample_basis_points: self.sample_basis_points,
            announcement: self.announcement.clone(),
            listen_quota_basis_points: self.listen_quota_basis_points,
        }
    }
}

/// Where a call falls in the sample: 0 to 9,999, from SHA-256 of the
/// controller, campaign and call id. A call is sampled when its position is
/// below the policy's rate, so raising the rate only adds calls, and anyone
/// holding the three values can check the choice.
pub fn sample_position(controller: ControllerId, campaign: &Campaign, call: &CallId) -> u32 {
    let mut hash = Sha256::new();
    hash.update(b"tutela recording sample v1\0");
    hash.update(controller.0.as_bytes());
    hash.update(campaign.as_str().as_bytes());
    hash.update([0u8]);
    hash.update(call.as_str().as_bytes());
    let digest = hash.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(digest.get(..8).unwrap_or(&[0u8; 8]));
    // 2^64 is not a multiple of 10,000, but the bias (about 5e-16) is far
    // below anything a sample of calls could show.
    (u64::from_be_bytes(head) % u64::from(BASIS_POINTS)) as u32
}

/// The answer to "record this call?", asked before the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingDecision {
    /// True when the call is to be recorded (after the announcement, and
    /// unless the person refuses).
    pub record: bool,
    /// Why not, when not.
    pub reason: Option<RecordingRefusal>,
    /// What the person must hear first.
    pub announcement: Option<String>,
    /// The call's sample position (see [`sample_position`]), for audit.
    pub sample_position: u32,
    /// The policy's rate the position was compared with.
    pub sample_basis_points: u32,
}

slug_enum!(
    /// Why a call is not recorded, or an upload is refused.
    RecordingRefusal, "recording refusal" {
        /// The policy does not record calls.
        RecordingOff = "recording_off",
        /// The call is outside the sample.
        NotSampled = "not_sampled",
        /// The upload names no purpose.
        NoPurpose = "no_purpose",
        /// The upload names a purpose the policy does not cover.
        PurposeNotInPolicy = "purpose_not_in_policy",
        /// The announcement was not made before recording.
        NotAnnounced = "not_announced",
        /// The person refused to be recorded.
        PersonRefused = "person_refused",
    }
);

/// Decides whether a call is recorded, before it starts.
pub fn decide_recording(
    policy: &RecordingPolicy,
    controller: ControllerId,
    campaign: &Campaign,
    call: &CallId,
) -> RecordingDecision {
    let position = sample_position(controller, campaign, call);
    let reason = if !policy.record {
        Some(RecordingRefusal::RecordingOff)
    } else if position >= policy.sample_basis_points {
        Some(RecordingRefusal::NotSampled)
    } else {
        None
    };
    RecordingDecision {
        record: reason.is_none(),
        reason,
        announcement: reason.is_none().then(|| policy.announcement.clone()),
        sample_position: position,
        sample_basis_points: policy.sample_basis_points,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<RecordingPolicy, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_records_nothing() {
        let p = RecordingPolicy::default();
        let d = decide_recording(
            &p,
            ControllerId::generate(),
            &Campaign::default_campaign(),
            &"c-1".parse().unwrap(),
        );
        assert!(!d.record);
        assert_eq!(d.reason, Some(RecordingRefusal::RecordingOff));
        assert_eq!(d.announcement, None);
    }

    #[test]
    fn a_recording_policy_needs_purposes_a_sample_and_an_announcement() {
        let err = policy(r#"{"record": true, "sample_basis_points": 1000, "announcement": "x"}"#)
            .unwrap_err();
        assert!(err.contains("retention_days"), "{err}");
        let err =
            policy(r#"{"record": true, "retention_days": {"quality": 30}, "announcement": "x"}"#)
                .unwrap_err();
        assert!(err.contains("sample_basis_points"), "{err}");
        let err = policy(
            r#"{"record": true, "retention_days": {"quality": 30}, "sample_basis_points": 10}"#,
        )
        .unwrap_err();
        assert!(err.contains("announcement"), "{err}");
        let err = policy(r#"{"record": false, "retention_days": {"quality": 0}}"#).unwrap_err();
        assert!(err.contains("1 to 3650"), "{err}");
        let err = policy(r#"{"record": false, "sample_basis_points": 10001}"#).unwrap_err();
        assert!(err.contains("sample_basis_points"), "{err}");
        let ok = policy(
            r#"{"record": true, "retention_days": {"quality": 30, "dispute_evidence": 90},
                "sample_basis_points": 1000, "announcement": "This call is recorded."}"#,
        )
        .unwrap();
        assert_eq!(ok.listen_quota_basis_points(), 150);
        // What is stored reads back as the same policy.
        let stored = serde_json::to_string(&ok.to_draft()).unwrap();
        assert_eq!(policy(&stored).unwrap(), ok);
    }

    #[test]
    fn sampling_is_reproducible_and_close_to_the_rate() {
        let p = policy(
            r#"{"record": true, "retention_days": {"quality": 30},
                "sample_basis_points": 1000, "announcement": "recorded"}"#,
        )
        .unwrap();
        let controller = ControllerId::generate();
        let campaign: Campaign = "winter".parse().unwrap();
        let sampled = (0..20_000)
            .filter(|i| {
                let call: CallId = format!("call-{i}").parse().unwrap();
                let first = decide_recording(&p, controller, &campaign, &call);
                let again = decide_recording(&p, controller, &campaign, &call);
                assert_eq!(first, again, "the same call gets the same answer");
                first.record
            })
            .count();
        // 10% of 20,000 is 2,000; four standard deviations is about 170.
        assert!((1830..=2170).contains(&sampled), "{sampled}");
    }

    #[test]
    fn call_ids_are_identifiers_never_numbers() {
        assert!("pbx-2026-11-23:0042".parse::<CallId>().is_ok());
        assert!("393471234567".parse::<CallId>().is_err());
        assert!("a b".parse::<CallId>().is_err());
        assert!("".parse::<CallId>().is_err());
    }
}
