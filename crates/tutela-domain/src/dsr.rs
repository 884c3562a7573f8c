//! Data-subject requests (GDPR arts. 12 and 15-21): their kinds, the state
//! machine a request moves through, and the deadlines of art. 12(3): one
//! month from receipt, extendable by two further months when the person is
//! told why within the first month.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{ToSpan, Zoned};

use crate::Timestamp;
use crate::error::InvalidValue;

slug_enum!(
    /// What the person asks for.
    RequestKind, "request kind" {
        /// A copy of their data and how it is processed (art. 15).
        Access = "access",
        /// Correction of inaccurate data (art. 16).
        Rectification = "rectification",
        /// Erasure (art. 17).
        Erasure = "erasure",
        /// Restriction of processing (art. 18).
        Restriction = "restriction",
        /// Objection to processing, direct marketing included (art. 21).
        Objection = "objection",
        /// Their data in a machine-readable format (art. 20).
        Portability = "portability",
        /// Withdrawal of consent (art. 7(3)).
        Withdrawal = "withdrawal_of_consent",
    }
);

slug_enum!(
    /// How the request reached the contact centre.
    IntakeChannel, "intake channel" {
        /// On a call.
        Phone = "phone",
        /// By e-mail.
        Email = "email",
        /// Through a web form.
        Web = "web",
        /// By post.
        Letter = "letter",
    }
);

slug_enum!(
    /// Where a request stands.
    RequestState, "request state" {
        /// Taken in; identity not yet checked.
        Received = "received",
        /// A one-time code was sent to a contact point on file.
        AwaitingIdentity = "awaiting_identity",
        /// The requester proved they are the person.
        Verified = "verified",
        /// Passed on to the controller (the processor's duty, art. 28(3)(e)).
        Forwarded = "forwarded",
        /// The controller is dealing with it.
        InProgress = "in_progress",
        /// The deadline was extended, with reasons given to the person.
        Extended = "extended",
        /// Answered: carried out.
        Answered = "answered",
        /// Refused, with reasons given to the person.
        Refused = "refused",
    }
);

slug_enum!(
    /// Why a request is refused (art. 12(5), art. 17(3), art. 21(1)).
    RefusalReason, "refusal reason" {
        /// The requester could not prove they are the person.
        IdentityNotVerified = "identity_not_verified",
        /// Manifestly unfounded.
        ManifestlyUnfounded = "manifestly_unfounded",
        /// Excessive, in particular repetitive.
        Excessive = "excessive",
        /// The law requires the data to be kept.
        LegalObligationToKeep = "legal_obligation_to_keep",
        /// Compelling legitimate grounds override the objection.
        OverridingLegitimateGrounds = "overriding_legitimate_grounds",
    }
);

slug_enum!(
    /// Why more time is needed (art. 12(3)).
    ExtensionReason, "extension reason" {
        /// The request is complex.
        Complexity = "complexity",
        /// Many requests arrived at once.
        NumberOfRequests = "number_of_requests",
    }
);

impl RequestState {
    /// True once the request has its answer: nothing moves it any more.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Answered | Self::Refused)
    }

    /// The states a request may move to from this one. Refusal is open
    /// until the end (an answer is owed even then); an answer needs a
    /// verified identity; an extension is possible once, while work is
    /// under way.
    pub fn next(self) -> &'static [RequestState] {
        use RequestState::*;
        match self {
            Received => &[AwaitingIdentity, Verified, Refused],
            AwaitingIdentity => &[Verified, Refused],
            Verified => &[Forwarded, InProgress, Refused],
            Forwarded => &[InProgress, Extended, Answered, Refused],
            InProgress => &[Extended, Answered, Refused],
            Extended => &[Answered, Refused],
            Answered | Refused => &[],
        }
    }

    /// Checks a move to `to`.
    pub fn check_move(self, to: RequestState) -> Result<(), InvalidValue> {
        if self.next().contains(&to) {
            Ok(())
        } else if self.is_closed() {
            Err(InvalidValue::new("the request is closed"))
        } else {
            Err(InvalidValue::new(
                "is not a state this request can move to from where it stands",
            ))
        }
    }
}

/// The deadlines of one request, as dates in the controller's time zone:
/// the answer is due by the end of `due` (or of `extended_until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The day the request was received.
    pub received: Date,
    /// One month from receipt (31 January gives the last day of February).
    pub due: Date,
    /// The latest an extension can reach: two further months.
    pub latest_extension: Date,
}

/// The deadlines of a request received at `received_at`, counted in
/// `zone` (the controller's): the same day of the next month, or that
/// month's last day when it has no such day; an extension reaches two
/// months after that. No shift for weekends or holidays: the earlier date
/// is the safe one.
pub fn deadlines(received_at: Timestamp, zone: &TimeZone) -> Deadlines {
    let received = received_at.to_zoned(zone.clone()).date();
    // jiff clamps to the month's last day; the saturating fallbacks only
    // matter at the end of the calendar (year 9999).
    let due = received.checked_add(1.month()).unwrap_or(Date::MAX);
    let latest_extension = due.checked_add(2.months()).unwrap_or(Date::MAX);
    Deadlines {
        received,
        due,
        latest_extension,
    }
}

/// The first instant after `day` ends in `zone`: when a deadline on `day`
/// is missed.
pub fn end_of_day(day: Date, zone: &TimeZone) -> Timestamp {
    day.tomorrow()
        .ok()
        .and_then(|next| next.to_zoned(zone.clone()).ok())
        .map_or(Timestamp::MAX, |z: Zoned| z.timestamp())
}

/// Why an extension is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionRefused {
    /// The first month is over: the person had to be told within it.
    FirstMonthOver,
    /// The date asked for is beyond two further months.
    TooLate,
    /// The date asked for is not after the current deadline.
    NotLater,
}

impl ExtensionRefused {
    /// A sentence for people.
    pub fn reason(self) -> &'static str {
        match self {
            Self::FirstMonthOver => {
                "an extension must be decided and told to the person within the first month"
            }
            Self::TooLate => "an extension may reach at most two months after the first deadline",
            Self::NotLater => "an extension must move the deadline later",
        }
    }
}

/// Checks an extension to `until`, decided at `now`: within the first
/// month, later than the first deadline, at most two months after it.
pub fn check_extension(
    deadlines: &Deadlines,
    until: Date,
    now: Timestamp,
    zone: &TimeZone,
) -> Result<(), ExtensionRefused> {
    if now >= end_of_day(deadlines.due, zone) {
        return Err(ExtensionRefused::FirstMonthOver);
    }
    if until <= deadlines.due {
        return Err(ExtensionRefused::NotLater);
    }
    if until > deadlines.latest_extension {
        return Err(ExtensionRefused::TooLate);
    }
    Ok(())
}

/// How an open request stands against its deadline at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// The deadline has passed.
    Overdue,
    /// Due within the warning window.
    DueSoon,
    /// Time enough.
    OnTime,
}

/// Where an open request due by the end of `due` stands at `now`, with a
/// warning window of `warn_days` days.
pub fn urgency(due: Date, now: Timestamp, zone: &TimeZone, warn_days: i32) -> Urgency {
    if now >= end_of_day(due, zone) {
        return Urgency::Overdue;
    }
    let today = now.to_zoned(zone.clone()).date();
    match today.checked_add(warn_days.days()) {
        Ok(horizon) if due > horizon => Urgency::OnTime,
        _ => Urgency::DueSoon,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn rome() -> TimeZone {
        TimeZone::get("Europe/Rome").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn one_month_from_receipt_clamps_to_the_month_end() {
        let cases = [
            (
                "2026-01-31T10:00:00+01:00",
                date(2026, 2, 28),
                date(2026, 4, 28),
            ),
            (
                "2028-01-31T10:00:00+01:00",
                date(2028, 2, 29),
                date(2028, 4, 29),
            ),
            (
                "2026-03-31T10:00:00+02:00",
                date(2026, 4, 30),
                date(2026, 6, 30),
            ),
            (
                "2026-01-15T10:00:00+01:00",
                date(2026, 2, 15),
                date(2026, 4, 15),
            ),
            (
                "2026-12-31T10:00:00+01:00",
                date(2027, 1, 31),
                date(2027, 3, 31),
            ),
        ];
        for (received, due, latest) in cases {
            let d = deadlines(at(received), &rome());
            assert_eq!((d.due, d.latest_extension), (due, latest), "{received}");
        }
    }

    #[test]
    fn the_day_of_receipt_is_the_controllers_day() {
        // 23:30 UTC on 31 January is already 1 February in Rome.
        let d = deadlines(at("2026-01-31T23:30:00Z"), &rome());
        assert_eq!(d.received, date(2026, 2, 1));
        assert_eq!(d.due, date(2026, 3, 1));
        let utc = deadlines(at("2026-01-31T23:30:00Z"), &TimeZone::UTC);
        assert_eq!(utc.due, date(2026, 2, 28));
    }

    #[test]
    fn a_deadline_ends_at_local_midnight_across_dst() {
        // 29 March 2026: Rome moves from +01:00 to +02:00.
        assert_eq!(
            end_of_day(date(2026, 3, 28), &rome()),
            at("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            end_of_day(date(2026, 3, 29), &rome()),
            at("2026-03-29T22:00:00Z")
        );
        let due = date(2026, 3, 29);
        assert_eq!(
            urgency(due, at("2026-03-29T21:59:59.999999Z"), &rome(), 7),
            Urgency::DueSoon
        );
        assert_eq!(
            urgency(due, at("2026-03-29T22:00:00Z"), &rome(), 7),
            Urgency::Overdue
        );
        assert_eq!(
            urgency(due, at("2026-03-22T12:00:00Z"), &rome(), 7),
            Urgency::DueSoon
        );
        assert_eq!(
            urgency(due, at("2026-03-21T12:00:00Z"), &rome(), 7),
            Urgency::OnTime
        );
    }

    #[test]
    fn an_extension_is_decided_in_the_first_month_and_reaches_two_more() {
        let d = deadlines(at("2026-01-31T10:00:00+01:00"), &rome());
        let in_time = at("2026-02-28T22:59:59Z");
        assert_eq!(
            check_extension(&d, date(2026, 4, 28), in_time, &rome()),
            Ok(())
        );
        assert_eq!(
            check_extension(&d, date(2026, 4, 29), in_time, &rome()),
            Err(ExtensionRefused::TooLate)
        );
        assert_eq!(
            check_extension(&d, date(2026, 2, 28), in_time, &rome()),
            Err(ExtensionRefused::NotLater)
        );
        assert_eq!(
            check_extension(&d, date(2026, 4, 1), at("2026-02-28T23:00:00Z"), &rome()),
            Err(ExtensionRefused::FirstMonthOver)
        );
    }

    #[test]
    fn the_state_machine_needs_identity_before_an_answer() {
        use RequestState::*;
        assert!(Received.check_move(Answered).is_err());
        assert!(AwaitingIdentity.check_move(Forwarded).is_err());
        assert!(Received.check_move(Refused).is_ok());
        assert!(Verified.check_move(Forwarded).is_ok());
        assert!(Forwarded.check_move(Extended).is_ok());
        assert!(Extended.check_move(Extended).is_err());
        assert_eq!(
            Answered.check_move(Refused).unwrap_err().reason,
            "the request is closed"
        );
        for state in RequestState::ALL {
            assert_eq!(state.is_closed(), state.next().is_empty(), "{state}");
        }
    }
}
