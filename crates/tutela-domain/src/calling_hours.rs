//! When a call may be placed, in the callee's local time: windows per weekday,
//! on public holidays and on the day before one, as data an operator writes
//! (`monday = ["09:00-20:00"]`), and the decision at an exact instant.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;

/// How many local days (from the day before the instant's) are searched for
/// the next opening. Two weeks cover any weekend plus a run of holidays.
const SEARCH_DAYS: i64 = 15;

/// A half-open range [start, end) of local wall-clock time, in minutes after
/// midnight. `end` may be 1440 (written "24:00"): the next day's midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    start: u16,
    end: u16,
}

const MINUTES_PER_DAY: u16 = 24 * 60;

/// Why calling hours were refused. The message names the day and the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calling hours: {0}")]
pub struct InvalidCallingHours(String);

/// When calls may be placed, in the callee's local time.
///
/// Guarantees: every range is well formed with start before end, and the
/// ranges of one day do not overlap. On a public holiday the `holiday`
/// windows apply (closed by default); on the day before one, the
/// `eve_of_holiday` windows replace the weekday's, unless that day is itself a
/// holiday or closed (Italy's code of conduct: Saturdays and days before a
/// holiday 10:00-19:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCallingHours", into = "RawCallingHours")]
pub struct CallingHours {
    monday: Vec<Window>,
    tuesday: Vec<Window>,
    wednesday: Vec<Window>,
    thursday: Vec<Window>,
    friday: Vec<Window>,
    saturday: Vec<Window>,
    sunday: Vec<Window>,
    holiday: Vec<Window>,
    eve_of_holiday: Option<Vec<Window>>,
}

/// Why a call may not be placed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "name", rename_all = "snake_case")]
pub enum ClosedBecause {
    /// The callee's local day is this public holiday (by its observed day);
    /// holds the holiday's name, as shown to people.
    PublicHoliday(String),
    /// The local time is outside the day's windows.
    OutsideHours,
}

/// Whether a call may be placed at an instant, and until or from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum HoursVerdict {
    /// Calls may be placed now.
    Open {
        /// The instant the current window ends (windows that meet, such as
        /// one ending at 24:00 and the next day's starting at 00:00, count as
        /// one).
        closes_at: Timestamp,
    },
    /// Calls may not be placed now.
    Closed {
        /// Why not.
        because: ClosedBecause,
        /// The next instant a window opens, if one does within about two weeks.
        opens_at: Option<Timestamp>,
    },
}

impl HoursVerdict {
    /// Whether a call may be placed.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open { .. })
    }
}

impl CallingHours {
    /// The verdict at `at` for a callee in `zone`.
    ///
    /// Window edges are local wall-clock times turned into instants with
    /// jiff's `compatible` disambiguation: a time skipped when clocks go
    /// forward is read with the offset before the change (02:30 becomes
    /// 03:30), a time repeated when clocks go back means its first occurrence.
    /// A window that becomes empty that way is ignored.
    pub fn check(
        &self,
        holidays: &HolidayCalendar,
        zone: &TimeZone,
        at: Timestamp,
    ) -> HoursVerdict {
        let today = zone.to_datetime(at).date();
        // Start a day early: a window ending at 24:00 yesterday can reach past
        // today's midnight when midnight itself is skipped by a DST change.
        let first = today.yesterday().unwrap_or(today);
        let mut open_until: Option<Timestamp> = None;
        for (start, end) in self.intervals(holidays, zone, first) {
            match open_until {
                None if start <= at && at < end => open_until = Some(end),
                None if start > at => return closed(holidays, today, Some(start)),
                None => {}
                // Windows that meet are one stretch of open time.
                Some(until) if start <= until => open_until = Some(until.max(end)),
                Some(_) => break,
            }
        }
        match open_until {
            Some(closes_at) => HoursVerdict::Open { closes_at },
            None => closed(holidays, today, None),
        }
    }

    /// The verdict at `at` for a country with several time zones, where the
    /// caller does not know which one the callee is in: open only if open in
    /// every zone, until the earliest close. When closed, `because` is the
    /// first closed zone's (in the order given) and `opens_at` the first
    /// instant, within about two weeks, at which every zone is open. No zones
    /// at all is closed, with no opening.
    pub fn check_all(
        &self,
        holidays: &HolidayCalendar,
        zones: &[TimeZone],
        at: Timestamp,
    ) -> HoursVerdict {
        let mut closes_at: Option<Timestamp> = None;
        for zone in zones {
            match self.check(holidays, zone, at) {
                HoursVerdict::Open { closes_at: close } => {
                    closes_at = Some(closes_at.map_or(close, |earliest| earliest.min(close)));
                }
                HoursVerdict::Closed { because, .. } => {
                    return HoursVerdict::Closed {
                        because,
                        opens_at: self.first_open_everywhere(holidays, zones, at),
                    };
                }
            }
        }
        match closes_at {
            Some(closes_at) => HoursVerdict::Open { closes_at },
            None => HoursVerdict::Closed {
                because: ClosedBecause::OutsideHours,
                opens_at: None,
            },
        }
    }

    /// The first instant from `at` at which every zone is open. Each round
    /// jumps to the latest next opening among the zones closed at the
    /// candidate: no earlier instant can have them all open. Rounds are
    /// bounded, as is the horizon.
    fn first_open_everywhere(
        &self,
        holidays: &HolidayCalendar,
        zones: &[TimeZone],
        at: Timestamp,
    ) -> Option<Timestamp> {
        let limit = at
            .checked_add(SignedDuration::from_hours(24 * (SEARCH_DAYS - 1)))
            .ok()?;
        let mut candidate = at;
        for _ in 0..256 {
            let mut next: Option<Timestamp> = None;
            for zone in zones {
                if let HoursVerdict::Closed { opens_at, .. } = self.check(holidays, zone, candidate)
                {
                    let opens = opens_at?;
                    next = Some(next.map_or(opens, |latest| latest.max(opens)));
                }
            }
            match next {
                None => return Some(candidate),
                Some(next) if next <= limit => candidate = next,
                Some(_) => return None,
            }
        }
        None
    }

    /// The windows of a local day: holiday, else eve of holiday, else weekday.
    fn windows_on(&self, holidays: &HolidayCalendar, day: Date) -> &[Window] {
        if holidays.holiday_on(day).is_some() {
            return &self.holiday;
        }
        let own = self.weekday(day.weekday());
        if let Some(eve) = &self.eve_of_holiday
            && !own.is_empty()
            && day
                .tomorrow()
                .is_ok_and(|next| holidays.holiday_on(next).is_some())
        {
            return eve;
        }
        own
    }

    fn weekday(&self, weekday: Weekday) -> &[Window] {
        match weekday {
            Weekday::Monday => &self.monday,
            Weekday::Tuesday => &self.tuesday,
            Weekday::Wednesday => &self.wednesday,
            Weekday::Thursday => &self.thursday,
            Weekday::Friday => &self.friday,
            Weekday::Saturday => &self.saturday,
            Weekday::Sunday => &self.sunday,
        }
    }

    /// Open intervals as instants, day by day from `first`, in order.
    fn intervals<'a>(
        &'a self,
        holidays: &'a HolidayCalendar,
        zone: &'a TimeZone,
        first: Date,
    ) -> impl Iterator<Item = (Timestamp, Timestamp)> + 'a {
        (0..SEARCH_DAYS)
            .filter_map(move |n| first.checked_add(Span::new().days(n)).ok())
            .flat_map(move |day| {
                self.windows_on(holidays, day)
                    .iter()
                    .filter_map(move |window| {
                        let start = instant(zone, day, window.start)?;
                        let end = instant(zone, day, window.end)?;
                        (start < end).then_some((start, end))
                    })
            })
    }
}

fn closed(holidays: &HolidayCalendar, today: Date, opens_at: Option<Timestamp>) -> HoursVerdict {
    let because = match holidays.holiday_on(today) {
        Some(name) => ClosedBecause::PublicHoliday(name.to_owned()),
        None => ClosedBecause::OutsideHours,
    };
    HoursVerdict::Closed { because, opens_at }
}

/// The instant of `minutes` after local midnight of `day` (1440: the next
/// day's midnight), with `compatible` disambiguation.
fn instant(zone: &TimeZone, day: Date, minutes: u16) -> Option<Timestamp> {
    let (day, minutes) = if minutes >= MINUTES_PER_DAY {
        (day.tomorrow().ok()?, 0)
    } else {
        (day, minutes)
    };
    let hour = i8::try_from(minutes / 60).ok()?;
    let minute = i8::try_from(minutes % 60).ok()?;
    let local = day.to_datetime(Time::new(hour, minute, 0, 0).ok()?);
    zone.to_ambiguous_timestamp(local).compatible().ok()
}

/// Calling hours as an operator writes them; checked into [`CallingHours`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallingHours {
    monday: Vec<String>,
    tuesday: Vec<String>,
    wednesday: Vec<String>,
    thursday: Vec<String>,
    friday: Vec<String>,
    saturday: Vec<String>,
    sunday: Vec<String>,
    #[serde(default)]
    holiday: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eve_of_holiday: Option<Vec<String>>,
}

impl TryFrom<RawCallingHours> for CallingHours {
    type Error = InvalidCallingHours;

    fn try_from(raw: RawCallingHours) -> Result<Self, Self::Error> {
        Ok(Self {
            monday: parse_day("monday", &raw.monday)?,
            tuesday: parse_day("tuesday", &raw.tuesday)?,
            wednesday: parse_day("wednesday", &raw.wednesday)?,
            thursday: parse_day("thursday", &raw.thursday)?,
            friday: parse_day("friday", &raw.friday)?,
            saturday: parse_day("saturday", &raw.saturday)?,
            sunday: parse_day("sunday", &raw.sunday)?,
            holiday: parse_day("holiday", &raw.holiday)?,
            eve_of_holiday: raw
                .eve_of_holiday
                .map(|ranges| parse_day("eve_of_holiday", &ranges))
                .transpose()?,
        })
    }
}

/// One day's ranges, sorted by start, refusing malformed and overlapping ones.
fn parse_day(day: &str, ranges: &[String]) -> Result<Vec<Window>, InvalidCallingHours> {
    let mut windows = ranges
        .iter()
        .map(|text| {
            parse_window(text)
                .map_err(|reason| InvalidCallingHours(format!("{day}: {text:?} {reason}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    windows.sort_unstable();
    for pair in windows.windows(2) {
        if let [earlier, later] = pair
            && later.start < earlier.end
        {
            return Err(InvalidCallingHours(format!(
                "{day}: {:?} overlaps {:?}",
                format_window(*earlier),
                format_window(*later)
            )));
        }
    }
    Ok(windows)
}

fn parse_window(text: &str) -> Result<Window, &'static str> {
    let (start, end) = text.split_once('-').ok_or(FORM)?;
    let (start, end) = (parse_clock(start.trim())?, parse_clock(end.trim())?);
    if start >= MINUTES_PER_DAY {
        return Err("cannot start at 24:00");
    }
    if start >= end {
        return Err("must start before it ends");
    }
    Ok(Window { start, end })
}

const FORM: &str = "must be written \"HH:MM-HH:MM\", e.g. \"09:00-20:00\"";

/// "HH:MM" as minutes after midnight: 00:00..=23:59, or 24:00.
fn parse_clock(text: &str) -> Result<u16, &'static str> {
    let (hours, minutes) = text.split_once(':').ok_or(FORM)?;
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
            .ok_or(FORM)
    };
    let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
    let total = hours * 60 + minutes;
    if minutes < 60 && total <= MINUTES_PER_DAY {
        Ok(total)
    } else {
        Err("has a time outside 00:00..24:00")
    }
}

fn format_window(window: Window) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        window.start / 60,
        window.start % 60,
        window.end / 60,
        window.end % 60
    )
}

impl From<CallingHours> for RawCallingHours {
    fn from(hours: CallingHours) -> Self {
        let text = |windows: Vec<Window>| windows.into_iter().map(format_window).collect();
        Self {
            monday: text(hours.monday),
            tuesday: text(hours.tuesday),
            wednesday: text(hours.wednesday),
            thursday: text(hours.thursday),
            friday: text(hours.friday),
            saturday: text(hours.saturday),
            sunday: text(hours.sunday),
            holiday: text(hours.holiday),
            eve_of_holiday: hours.eve_of_holiday.map(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::HolidayRule;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn hours(json: serde_json::Value) -> CallingHours {
        serde_json::from_value(json).unwrap()
    }

    fn every_day(ranges: &[&str]) -> CallingHours {
        hours(serde_json::json!({
            "monday": ranges, "tuesday": ranges, "wednesday": ranges, "thursday": ranges,
            "friday": ranges, "saturday": ranges, "sunday": ranges, "holiday": ranges,
        }))
    }

    fn italy_hours() -> CallingHours {
        let weekday = ["09:00-20:00"];
        hours(serde_json::json!({
            "monday": weekday, "tuesday": weekday, "wednesday": weekday, "thursday": weekday,
            "friday": weekday, "saturday": ["10:00-19:00"], "sunday": [],
            "holiday": [], "eve_of_holiday": ["10:00-19:00"],
        }))
    }

    fn italy_holidays() -> HolidayCalendar {
        let rules: Vec<HolidayRule> = serde_json::from_str(
            r#"[{"name": "Liberazione", "date": "04-25"},
                {"name": "Immacolata", "date": "12-08"},
                {"name": "Natale", "date": "12-25"}]"#,
        )
        .unwrap();
        HolidayCalendar::new(rules)
    }

    fn open(closes_at: &str) -> HoursVerdict {
        HoursVerdict::Open {
            closes_at: ts(closes_at),
        }
    }

    fn outside(opens_at: &str) -> HoursVerdict {
        HoursVerdict::Closed {
            because: ClosedBecause::OutsideHours,
            opens_at: Some(ts(opens_at)),
        }
    }

    /// Asserts the verdict at each instant, in Europe/Rome.
    fn assert_rome(cases: &[(&str, HoursVerdict)]) {
        let (hours, holidays, rome) = (italy_hours(), italy_holidays(), zone("Europe/Rome"));
        for (at, expected) in cases {
            assert_eq!(&hours.check(&holidays, &rome, ts(at)), expected, "at {at}");
        }
    }

    #[test]
    fn italy_weekdays_across_the_march_change() {
        assert_rome(&[
            // Friday 27 March, CET (UTC+1).
            ("2026-03-27T07:59:59Z", outside("2026-03-27T08:00:00Z")),
            ("2026-03-27T08:00:00Z", open("2026-03-27T19:00:00Z")),
            ("2026-03-27T19:00:00Z", outside("2026-03-28T09:00:00Z")),
            // Saturday 10:00-19:00; Sunday closed; clocks change on Sunday 29.
            ("2026-03-28T08:59:59Z", outside("2026-03-28T09:00:00Z")),
            ("2026-03-28T17:59:59Z", open("2026-03-28T18:00:00Z")),
            ("2026-03-28T18:00:00Z", outside("2026-03-30T07:00:00Z")),
            ("2026-03-29T12:00:00Z", outside("2026-03-30T07:00:00Z")),
            // Monday 30 March, CEST (UTC+2).
            ("2026-03-30T06:59:59Z", outside("2026-03-30T07:00:00Z")),
            ("2026-03-30T07:00:00Z", open("2026-03-30T18:00:00Z")),
            ("2026-03-30T17:59:59Z", open("2026-03-30T18:00:00Z")),
            ("2026-03-30T18:00:00Z", outside("2026-03-31T07:00:00Z")),
        ]);
    }

    #[test]
    fn italy_holidays_and_their_eves() {
        let liberazione = HoursVerdict::Closed {
            because: ClosedBecause::PublicHoliday("Liberazione".to_owned()),
            opens_at: Some(ts("2026-04-27T07:00:00Z")),
        };
        let immacolata = HoursVerdict::Closed {
            because: ClosedBecause::PublicHoliday("Immacolata".to_owned()),
            opens_at: Some(ts("2026-12-09T08:00:00Z")),
        };
        assert_rome(&[
            // Friday 24 April is the eve of Liberazione: 10:00-19:00.
            ("2026-04-24T07:30:00Z", outside("2026-04-24T08:00:00Z")),
            ("2026-04-24T16:59:59Z", open("2026-04-24T17:00:00Z")),
            // Saturday 25 April is Liberazione; Sunday closed; Monday 09:00 CEST.
            ("2026-04-25T10:00:00Z", liberazione),
            // Monday 7 December, eve of the Immacolata (CET).
            ("2026-12-07T08:30:00Z", outside("2026-12-07T09:00:00Z")),
            ("2026-12-07T17:59:00Z", open("2026-12-07T18:00:00Z")),
            ("2026-12-07T18:00:00Z", outside("2026-12-09T08:00:00Z")),
            ("2026-12-08T10:00:00Z", immacolata),
            // Thursday 24 December: eve of Christmas.
            ("2026-12-24T08:30:00Z", outside("2026-12-24T09:00:00Z")),
        ]);
    }

    #[test]
    fn italy_after_the_october_change() {
        assert_rome(&[
            // Friday 23 October, still CEST.
            ("2026-10-23T07:00:00Z", open("2026-10-23T18:00:00Z")),
            // Saturday 24 October 20:00 CEST: next opening Monday 09:00 CET.
            ("2026-10-24T18:00:00Z", outside("2026-10-26T08:00:00Z")),
            ("2026-10-26T07:59:59Z", outside("2026-10-26T08:00:00Z")),
            ("2026-10-26T08:00:00Z", open("2026-10-26T19:00:00Z")),
        ]);
    }

    #[test]
    fn france_lunch_break() {
        let day = ["10:00-13:00", "14:00-20:00"];
        let france = hours(serde_json::json!({
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
            "friday": day, "saturday": [], "sunday": [],
        }));
        let paris = zone("Europe/Paris");
        let none = HolidayCalendar::default();
        // Monday 2 March 2026, CET: 12:59 open until 13:00, 13:00 closed until 14:00.
        assert_eq!(
            france.check(&none, &paris, ts("2026-03-02T11:59:00Z")),
            open("2026-03-02T12:00:00Z")
        );
        assert_eq!(
            france.check(&none, &paris, ts("2026-03-02T12:00:00Z")),
            outside("2026-03-02T13:00:00Z")
        );
    }

    fn us_zones() -> Vec<TimeZone> {
        [
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ]
        .map(zone)
        .to_vec()
    }

    #[test]
    fn us_is_open_only_where_every_zone_is() {
        let us = every_day(&["08:00-21:00"]);
        let (zones, none) = (us_zones(), HolidayCalendar::default());
        let check = |at: &str| us.check_all(&none, &zones, ts(at));
        // Wednesday 14 January 2026. 09:00 New York is 04:00 Honolulu: closed
        // until 08:00 Honolulu (18:00Z).
        assert_eq!(
            check("2026-01-14T14:00:00Z"),
            outside("2026-01-14T18:00:00Z")
        );
        // 14:00 New York is 09:00 Honolulu: open until 21:00 New York.
        assert_eq!(check("2026-01-14T19:00:00Z"), open("2026-01-15T02:00:00Z"));
        // 21:00 New York (16:00 Honolulu): closed; New York opens at 13:00Z
        // but the others later, Honolulu last at 18:00Z.
        assert_eq!(
            check("2026-01-15T02:00:00Z"),
            outside("2026-01-15T18:00:00Z")
        );
        // Summer: New York is UTC-4, Honolulu still UTC-10.
        assert_eq!(
            check("2026-07-15T17:59:59Z"),
            outside("2026-07-15T18:00:00Z")
        );
        assert_eq!(check("2026-07-16T00:59:59Z"), open("2026-07-16T01:00:00Z"));
        assert_eq!(
            us.check_all(&none, &[], ts("2026-07-16T00:00:00Z")),
            HoursVerdict::Closed {
                because: ClosedBecause::OutsideHours,
                opens_at: None
            }
        );
    }

    #[test]
    fn meeting_windows_are_one_stretch_and_closed_weeks_have_no_opening() {
        let always = every_day(&["00:00-12:00", "12:00-24:00"]);
        let none = HolidayCalendar::default();
        let rome = zone("Europe/Rome");
        let verdict = always.check(&none, &rome, ts("2026-03-02T12:00:00Z"));
        let HoursVerdict::Open { closes_at } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(closes_at > ts("2026-03-14T00:00:00Z"), "{closes_at}");

        let never = every_day(&[]);
        assert_eq!(
            never.check(&none, &rome, ts("2026-03-02T12:00:00Z")),
            HoursVerdict::Closed {
                because: ClosedBecause::OutsideHours,
                opens_at: None
            }
        );
    }

    #[test]
    fn bad_hours_name_the_day_and_range() {
        let base = || {
            serde_json::json!({
                "monday": [], "tuesday": [], "wednesday": [], "thursday": [],
                "friday": [], "saturday": [], "sunday": [],
            })
        };
        let cases = [
            (
                "tuesday",
                serde_json::json!(["9:00-20:00"]),
                "tuesday: \"9:00-20:00\"",
            ),
            (
                "tuesday",
                serde_json::json!(["20:00-09:00"]),
                "start before",
            ),
            (
                "friday",
                serde_json::json!(["09:00-24:01"]),
                "friday: \"09:00-24:01\"",
            ),
            ("friday", serde_json::json!(["24:00-24:00"]), "cannot start"),
            (
                "friday",
                serde_json::json!(["09:60-10:00"]),
                "outside 00:00..24:00",
            ),
            ("friday", serde_json::json!(["0900-1000"]), "HH:MM"),
            (
                "holiday",
                serde_json::json!(["09:00-13:00", "12:00-20:00"]),
                "holiday: \"09:00-13:00\" overlaps \"12:00-20:00\"",
            ),
            ("colour", serde_json::json!([]), "colour"),
        ];
        for (day, ranges, expected) in cases {
            let mut json = base();
            json[day] = ranges;
            let error = serde_json::from_value::<CallingHours>(json)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
        let mut missing = base();
        missing.as_object_mut().unwrap().remove("sunday");
        let error = serde_json::from_value::<CallingHours>(missing).unwrap_err();
        assert!(error.to_string().contains("sunday"), "{error}");
    }

    #[test]
    fn serialises_as_written() {
        let hours = italy_hours();
        let json = serde_json::to_value(&hours).unwrap();
        assert_eq!(json["saturday"], serde_json::json!(["10:00-19:00"]));
        assert_eq!(serde_json::from_value::<CallingHours>(json).unwrap(), hours);
        let verdict = serde_json::to_value(HoursVerdict::Closed {
            because: ClosedBecause::PublicHoliday("Natale".to_owned()),
            opens_at: None,
        })
        .unwrap();
        assert_eq!(
            verdict,
            serde_json::json!({"verdict": "closed",
                "because": {"reason": "public_holiday", "name": "Natale"}, "opens_at": null})
        );
    }
}
