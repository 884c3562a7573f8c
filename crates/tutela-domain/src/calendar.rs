//! Public holidays as data. Each country's holidays are a table of
//! [`HolidayRule`]s an operator can read and replace (fixed days, days counted
//! from Easter, "the last Monday of May"), turned into a [`HolidayCalendar`]
//! that answers "is this day a holiday?" on every call decision.

use std::collections::BTreeSet;

use jiff::Span;
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous
/// Gregorian computus, as given by Meeus). `None` before 1583, when the
/// Gregorian calendar did not exist yet, and after 9999, beyond jiff's dates.
pub fn easter_sunday(year: i16) -> Option<Date> {
    if year < 1583 {
        return None;
    }
    let y = i32::from(year);
    let a = y % 19;
    let (b, c) = (y / 100, y % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Which day a holiday is kept on when it falls on a weekend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Observance {
    /// Only the day itself (written `"actual"`, the default).
    #[default]
    Actual,
    /// UK substitute day: a holiday on Saturday or Sunday is kept on the next
    /// weekday that is not already a holiday (`"uk_substitute"`).
    UkSubstitute,
    /// US federal: Saturday is kept on the Friday before, Sunday on the
    /// Monday after (`"us_federal"`).
    UsFederal,
}

impl Observance {
    fn as_str(self) -> &'static str {
        match self {
            Self::Actual => "actual",
            Self::UkSubstitute => "uk_substitute",
            Self::UsFederal => "us_federal",
        }
    }
}

/// When in the year a holiday falls. Values are valid by construction: only
/// [`HolidayRule::new`] and deserialisation build a rule from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayDate {
    /// The same month and day every year (`date = "04-25"`). 29 February is
    /// a holiday only in leap years.
    Fixed {
        /// 1 to 12.
        month: i8,
        /// A day of that month.
        day: i8,
    },
    /// Days after Easter Sunday (`easter = 1` is Easter Monday, `-2` Good
    /// Friday). Kept within -80..=250 so the day always falls in Easter's
    /// own year.
    Easter {
        /// Days after Easter Sunday; negative counts back.
        days_after: i16,
    },
    /// The nth weekday of a month (`month = 5, weekday = "monday", nth = -1`
    /// is the last Monday of May). A year without that day (a fifth Monday)
    /// has no such holiday.
    NthWeekday {
        /// 1 to 12.
        month: i8,
        /// The weekday counted.
        weekday: Weekday,
        /// 1..=5 counts from the start of the month, -1..=-5 from its end.
        nth: i8,
    },
}

/// Why a holiday rule was refused. The message names the holiday, the field
/// and the reason, for the operator who wrote the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidHolidayRule(String);

/// One public holiday, as data. Guarantees: the date is valid (month 1-12, a
/// day the month can have, `nth` in -5..=5 but not 0), the name is not blank
/// and `from_year <= until_year`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawHolidayRule", into = "RawHolidayRule")]
pub struct HolidayRule {
    name: String,
    when: HolidayDate,
    observed: Observance,
    from_year: Option<i16>,
    until_year: Option<i16>,
    source: Option<String>,
}

impl HolidayRule {
    /// A holiday kept every year, checked as deserialisation checks it.
    pub fn new(
        name: impl Into<String>,
        when: HolidayDate,
        observed: Observance,
    ) -> Result<Self, InvalidHolidayRule> {
        let name = name.into();
        let fail = |field: &str, reason: String| {
            InvalidHolidayRule(format!("holiday {name:?}: field `{field}`: {reason}"))
        };
        if name.trim().is_empty() {
            return Err(InvalidHolidayRule(
                "holiday: field `name` must not be blank".to_owned(),
            ));
        }
        match when {
            HolidayDate::Fixed { month, day } => {
                check_month(month).map_err(|reason| fail("date", reason))?;
                // 2024 is a leap year, so 02-29 is accepted.
                if Date::new(2024, month, day).is_err() {
                    return Err(fail(
                        "date",
                        format!("{month:02}-{day:02} is not a day of month {month:02}"),
                    ));
                }
            }
            HolidayDate::Easter { days_after } => {
                // Easter is 22 March..25 April: these bounds keep the day in
                // the same year, which the calendar's per-year lookup relies on.
                if !(-80..=250).contains(&days_after) {
                    return Err(fail(
                        "easter",
                        format!("{days_after} is outside -80..=250 days from Easter"),
                    ));
                }
            }
            HolidayDate::NthWeekday { month, nth, .. } => {
                check_month(month).map_err(|reason| fail("month", reason))?;
                if nth == 0 || !(-5..=5).contains(&nth) {
                    return Err(fail(
                        "nth",
                        format!("{nth} must be 1..=5 (from the start) or -1..=-5 (from the end)"),
                    ));
                }
            }
        }
        Ok(Self {
            name,
            when,
            observed,
            from_year: None,
            until_year: None,
            source: None,
        })
    }

    /// The same rule, in force only from `from` to `until` (both inclusive).
    pub fn in_years(
        mut self,
        from: Option<i16>,
        until: Option<i16>,
    ) -> Result<Self, InvalidHolidayRule> {
        if let (Some(from), Some(until)) = (from, until)
            && from > until
        {
            return Err(InvalidHolidayRule(format!(
                "holiday {:?}: field `until_year`: {until} is before from_year {from}",
                self.name
            )));
        }
        self.from_year = from;
        self.until_year = until;
        Ok(self)
    }

    /// The same rule, citing where it comes from (shown to people).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The holiday's name, as shown to people.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When in the year it falls.
    pub fn when(&self) -> HolidayDate {
        self.when
    }

    /// Which day it is kept on when it falls on a weekend.
    pub fn observed(&self) -> Observance {
        self.observed
    }

    /// Where the rule comes from, if the table says.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The day the holiday falls on in `year` (before any weekend
    /// observance), or `None` if the rule is not in force that year or the
    /// year has no such day.
    pub fn date_in(&self, year: i16) -> Option<Date> {
        if self.from_year.is_some_and(|from| year < from)
            || self.until_year.is_some_and(|until| year > until)
        {
            return None;
        }
        match self.when {
            HolidayDate::Fixed { month, day } => Date::new(year, month, day).ok(),
            HolidayDate::Easter { days_after } => easter_sunday(year)?
                .checked_add(Span::new().days(days_after))
                .ok(),
            HolidayDate::NthWeekday {
                month,
                weekday,
                nth,
            } => Date::new(year, month, 1)
                .ok()?
                .nth_weekday_of_month(nth, weekday)
                .ok(),
        }
    }
}

fn check_month(month: i8) -> Result<(), String> {
    if (1..=12).contains(&month) {
        Ok(())
    } else {
        Err(format!("month {month} is not 1..=12"))
    }
}

/// The holiday table as an operator writes it; [`HolidayRule`] is what it
/// becomes once checked. Every field is optional here so that the error can
/// say which one is missing or misplaced.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHolidayRule {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    easter: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    month: Option<i8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weekday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nth: Option<i8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_year: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until_year: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

impl TryFrom<RawHolidayRule> for HolidayRule {
    type Error = InvalidHolidayRule;

    fn try_from(raw: RawHolidayRule) -> Result<Self, Self::Error> {
        let name = raw.name;
        let fail = |field: &str, reason: &str| {
            InvalidHolidayRule(format!("holiday {name:?}: field `{field}`: {reason}"))
        };
        let when = match (raw.date, raw.easter, raw.month, raw.weekday, raw.nth) {
            (Some(date), None, None, None, None) => {
                let (month, day) = parse_month_day(&date)
                    .ok_or_else(|| fail("date", "must be written \"MM-DD\", e.g. \"04-25\""))?;
                HolidayDate::Fixed { month, day }
            }
            (None, Some(days_after), None, None, None) => HolidayDate::Easter { days_after },
            (None, None, Some(month), Some(weekday), Some(nth)) => {
                let weekday = WEEKDAYS
                    .iter()
                    .find(|(text, _)| *text == weekday)
                    .map(|(_, day)| *day)
                    .ok_or_else(|| fail("weekday", "must be \"monday\" .. \"sunday\""))?;
                HolidayDate::NthWeekday {
                    month,
                    weekday,
                    nth,
                }
            }
            (None, None, Some(_), weekday, _) => {
                let missing = if weekday.is_none() { "weekday" } else { "nth" };
                return Err(fail(missing, "is required with `month`"));
            }
            _ => {
                return Err(fail(
                    "date",
                    "give exactly one of `date`, `easter`, or `month` with `weekday` and `nth`",
                ));
            }
        };
        let observed = match raw.observed.as_deref() {
            None | Some("actual") => Observance::Actual,
            Some("uk_substitute") => Observance::UkSubstitute,
            Some("us_federal") => Observance::UsFederal,
            Some(_) => {
                return Err(fail(
                    "observed",
                    "must be \"actual\", \"uk_substitute\" or \"us_federal\"",
                ));
            }
        };
        let rule =
            HolidayRule::new(name, when, observed)?.in_years(raw.from_year, raw.until_year)?;
        Ok(match raw.source {
            Some(source) => rule.with_source(source),
            None => rule,
        })
    }
}

/// "MM-DD", exactly two digits each; the range is checked by the rule.
fn parse_month_day(text: &str) -> Option<(i8, i8)> {
    let (month, day) = text.split_once('-')?;
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i8>().ok())
            .flatten()
    };
    Some((two_digits(month)?, two_digits(day)?))
}

impl From<HolidayRule> for RawHolidayRule {
    fn from(rule: HolidayRule) -> Self {
        let mut raw = RawHolidayRule {
            name: rule.name,
            date: None,
            easter: None,
            month: None,
            weekday: None,
            nth: None,
            observed: (rule.observed != Observance::Actual)
                .then(|| rule.observed.as_str().to_owned()),
            from_year: rule.from_year,
            until_year: rule.until_year,
            source: rule.source,
        };
        match rule.when {
            HolidayDate::Fixed { month, day } => raw.date = Some(format!("{month:02}-{day:02}")),
            HolidayDate::Easter { days_after } => raw.easter = Some(days_after),
            HolidayDate::NthWeekday {
                month,
                weekday,
                nth,
            } => {
                raw.month = Some(month);
                raw.weekday = WEEKDAYS
                    .iter()
                    .find(|(_, day)| *day == weekday)
                    .map(|(text, _)| (*text).to_owned());
                raw.nth = Some(nth);
            }
        }
        raw
    }
}

/// Years whose holidays are worked out once, when the calendar is built, so
/// that a lookup is a binary search. Other years are worked out on each call.
const PRECOMPUTED_YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

/// A country's (or region's) public holidays, built from its rules.
///
/// Guarantees: a holiday that is *observed* on another day (a Saturday
/// Christmas kept on Monday) is a holiday only on the observed day; the day
/// itself is then an ordinary Saturday or Sunday for calling purposes, whose
/// weekend hours apply anyway. Lookups for the years 2000-2100 do not
/// allocate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    rules: Vec<HolidayRule>,
    /// Observed days of [`PRECOMPUTED_YEARS`], sorted: (day, index in `rules`).
    days: Vec<(Date, usize)>,
}

impl HolidayCalendar {
    /// A calendar of these holidays.
    pub fn new(rules: Vec<HolidayRule>) -> Self {
        let days = observed_days(&rules, *PRECOMPUTED_YEARS.start(), *PRECOMPUTED_YEARS.end());
        Self { rules, days }
    }

    /// The rules the calendar was built from.
    pub fn rules(&self) -> &[HolidayRule] {
        &self.rules
    }

    /// The name of the holiday observed on `date`, if any (the first rule's,
    /// when two fall on one day).
    pub fn holiday_on(&self, date: Date) -> Option<&str> {
        let index = if PRECOMPUTED_YEARS.contains(&date.year()) {
            let at = self.days.partition_point(|(day, _)| *day < date);
            self.days
                .get(at)
                .filter(|(day, _)| *day == date)
                .map(|(_, index)| *index)
        } else {
            observed_days(&self.rules, date.year(), date.year())
                .into_iter()
                .find(|(day, _)| *day == date)
                .map(|(_, index)| index)
        };
        self.rules.get(index?).map(HolidayRule::name)
    }

    /// Every holiday observed in `year`, sorted by day, with its name.
    pub fn holidays_in(&self, year: i16) -> Vec<(Date, String)> {
        let computed;
        let days: &[(Date, usize)] = if PRECOMPUTED_YEARS.contains(&year) {
            let start = self.days.partition_point(|(day, _)| day.year() < year);
            let end = self.days.partition_point(|(day, _)| day.year() <= year);
            self.days.get(start..end).unwrap_or_default()
        } else {
            computed = observed_days(&self.rules, year, year);
            &computed
        };
        days.iter()
            .filter_map(|(day, index)| Some((*day, self.rules.get(*index)?.name.clone())))
            .collect()
    }
}

fn is_weekend(day: Date) -> bool {
    matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The observed days (with the rule's index) that fall in `first..=last`,
/// sorted. Rules of the neighbouring years are included because observance
/// crosses New Year: a Saturday 1 January 2028 is kept on Friday 31 December
/// 2027 under US federal rules.
fn observed_days(rules: &[HolidayRule], first: i16, last: i16) -> Vec<(Date, usize)> {
    let mut actual: Vec<(Date, usize)> = (i32::from(first) - 1..=i32::from(last) + 1)
        .filter_map(|year| i16::try_from(year).ok())
        .flat_map(|year| {
            rules
                .iter()
                .enumerate()
                .filter_map(move |(index, rule)| Some((rule.date_in(year)?, index)))
        })
        .collect();
    actual.sort_unstable();

    let substituted = |day: Date, index: usize| {
        is_weekend(day)
            && rules
                .get(index)
                .is_some_and(|rule| rule.observed == Observance::UkSubstitute)
    };
    // Days already holidays, which a UK substitute must skip. Substitutes are
    // handed out in date order, so a Saturday Christmas takes Monday and a
    // Sunday Boxing Day the Tuesday after it.
    let mut taken: BTreeSet<Date> = BTreeSet::new();
    for &(day, index) in &actual {
        if !substituted(day, index) {
            taken.extend(kept_on(day, rules.get(index).map(HolidayRule::observed)));
        }
    }
    let mut observed = Vec::with_capacity(actual.len());
    for &(day, index) in &actual {
        let kept = if substituted(day, index) {
            next_free_weekday(day, &taken)
        } else {
            kept_on(day, rules.get(index).map(HolidayRule::observed))
        };
        if let Some(kept) = kept {
            taken.insert(kept);
            if (first..=last).contains(&kept.year()) {
                observed.push((kept, index));
            }
        }
    }
    observed.sort_unstable();
    observed
}

/// The day a holiday falling on `day` is kept, for observances that do not
/// depend on other holidays.
fn kept_on(day: Date, observed: Option<Observance>) -> Option<Date> {
    match (observed, day.weekday()) {
        (Some(Observance::UsFederal), Weekday::Saturday) => day.yesterday().ok(),
        (Some(Observance::UsFederal), Weekday::Sunday) => day.tomorrow().ok(),
        _ => Some(day),
    }
}

/// The first weekday after `day` that is not in `taken` (ends: `taken` is finite).
fn next_free_weekday(day: Date, taken: &BTreeSet<Date>) -> Option<Date> {
    let mut next = day.tomorrow().ok()?;
    while is_weekend(next) || taken.contains(&next) {
        next = next.tomorrow().ok()?;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn calendar(json: &str) -> HolidayCalendar {
        HolidayCalendar::new(serde_json::from_str(json).unwrap())
    }

    fn rule_error(json: &str) -> String {
        serde_json::from_str::<HolidayRule>(json)
            .unwrap_err()
            .to_string()
    }

    /// Italy (L. 260/1949 and later; 4 October restored from 2026).
    const ITALY: &str = r#"[
        {"name": "Capodanno", "date": "01-01"},
        {"name": "Epifania", "date": "01-06"},
        {"name": "Lunedì dell'Angelo", "easter": 1},
        {"name": "Liberazione", "date": "04-25"},
        {"name": "Festa del Lavoro", "date": "05-01"},
        {"name": "Festa della Repubblica", "date": "06-02"},
        {"name": "Ferragosto", "date": "08-15"},
        {"name": "San Francesco", "date": "10-04", "from_year": 2026},
        {"name": "Ognissanti", "date": "11-01"},
        {"name": "Immacolata", "date": "12-08"},
        {"name": "Natale", "date": "12-25"},
        {"name": "Santo Stefano", "date": "12-26"}
    ]"#;

    const ENGLAND_WALES: &str = r#"[
        {"name": "New Year's Day", "date": "01-01", "observed": "uk_substitute"},
        {"name": "Good Friday", "easter": -2},
        {"name": "Easter Monday", "easter": 1},
        {"name": "Early May bank holiday", "month": 5, "weekday": "monday", "nth": 1},
        {"name": "Spring bank holiday", "month": 5, "weekday": "monday", "nth": -1},
        {"name": "Summer bank holiday", "month": 8, "weekday": "monday", "nth": -1},
        {"name": "Christmas Day", "date": "12-25", "observed": "uk_substitute"},
        {"name": "Boxing Day", "date": "12-26", "observed": "uk_substitute"}
    ]"#;

    const US_FEDERAL: &str = r#"[
        {"name": "New Year's Day", "date": "01-01", "observed": "us_federal"},
        {"name": "Martin Luther King Jr. Day", "month": 1, "weekday": "monday", "nth": 3},
        {"name": "Washington's Birthday", "month": 2, "weekday": "monday", "nth": 3},
        {"name": "Memorial Day", "month": 5, "weekday": "monday", "nth": -1},
        {"name": "Juneteenth", "date": "06-19", "observed": "us_federal", "from_year": 2021},
        {"name": "Independence Day", "date": "07-04", "observed": "us_federal"},
        {"name": "Labor Day", "month": 9, "weekday": "monday", "nth": 1},
        {"name": "Columbus Day", "month": 10, "weekday": "monday", "nth": 2},
        {"name": "Veterans Day", "date": "11-11", "observed": "us_federal"},
        {"name": "Thanksgiving Day", "month": 11, "weekday": "thursday", "nth": 4},
        {"name": "Christmas Day", "date": "12-25", "observed": "us_federal",
         "source": "5 U.S.C. 6103"}
    ]"#;

    fn days(calendar: &HolidayCalendar, year: i16) -> Vec<Date> {
        calendar
            .holidays_in(year)
            .into_iter()
            .map(|(day, _)| day)
            .collect()
    }

    #[test]
    fn easter_matches_known_dates() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
        assert_eq!(easter_sunday(1582), None);
    }

    #[test]
    fn italy_2026() {
        let italy = calendar(ITALY);
        let expected = [
            (1, 1),
            (1, 6),
            (4, 6),
            (4, 25),
            (5, 1),
            (6, 2),
            (8, 15),
            (10, 4),
            (11, 1),
            (12, 8),
            (12, 25),
            (12, 26),
        ]
        .map(|(month, day)| date(2026, month, day));
        assert_eq!(days(&italy, 2026), expected);
        assert_eq!(
            italy.holiday_on(date(2026, 4, 6)),
            Some("Lunedì dell'Angelo")
        );
        assert_eq!(italy.holiday_on(date(2026, 4, 7)), None);
        // San Francesco only from 2026.
        assert_eq!(italy.holiday_on(date(2025, 10, 4)), None);
        // Outside the precomputed years the answer is the same, computed.
        assert_eq!(
            italy.holiday_on(date(2285, 3, 23)),
            Some("Lunedì dell'Angelo")
        );
        assert_eq!(days(&italy, 2226).len(), 12);
    }

    #[test]
    fn uk_substitute_days() {
        let uk = calendar(ENGLAND_WALES);
        // 2022: Christmas on Sunday; Boxing Day Monday stays, Christmas moves to Tuesday.
        assert_eq!(uk.holiday_on(date(2022, 12, 25)), None);
        assert_eq!(uk.holiday_on(date(2022, 12, 26)), Some("Boxing Day"));
        assert_eq!(uk.holiday_on(date(2022, 12, 27)), Some("Christmas Day"));
        // 2027: Christmas Saturday -> Monday 27, Boxing Day Sunday -> Tuesday 28.
        assert_eq!(uk.holiday_on(date(2027, 12, 27)), Some("Christmas Day"));
        assert_eq!(uk.holiday_on(date(2027, 12, 28)), Some("Boxing Day"));
        let expected = [
            (1, 1),
            (3, 26),
            (3, 29),
            (5, 3),
            (5, 31),
            (8, 30),
            (12, 27),
            (12, 28),
        ]
        .map(|(month, day)| date(2027, month, day));
        assert_eq!(days(&uk, 2027), expected);
        // New Year 2022 on Saturday -> Monday 3 January.
        assert_eq!(uk.holiday_on(date(2022, 1, 3)), Some("New Year's Day"));
    }

    #[test]
    fn us_federal_2026() {
        let us = calendar(US_FEDERAL);
        let expected = [
            (1, 1),
            (1, 19),
            (2, 16),
            (5, 25),
            (6, 19),
            (7, 3),
            (9, 7),
            (10, 12),
            (11, 11),
            (11, 26),
            (12, 25),
        ]
        .map(|(month, day)| date(2026, month, day));
        assert_eq!(days(&us, 2026), expected);
        assert_eq!(us.holiday_on(date(2026, 7, 4)), None);
        assert_eq!(us.holiday_on(date(2026, 7, 3)), Some("Independence Day"));
        // Saturday 1 January 2028 is kept on Friday 31 December 2027.
        assert_eq!(us.holiday_on(date(2027, 12, 31)), Some("New Year's Day"));
        assert_eq!(days(&us, 2027).last(), Some(&date(2027, 12, 31)));
        assert_eq!(us.rules().last().unwrap().source(), Some("5 U.S.C. 6103"));
    }

    #[test]
    fn easter_relative_days_in_france_and_spain() {
        let france = calendar(
            r#"[{"name": "Ascension", "easter": 39}, {"name": "Lundi de Pentecôte", "easter": 50}]"#,
        );
        assert_eq!(france.holiday_on(date(2026, 5, 14)), Some("Ascension"));
        assert_eq!(
            france.holiday_on(date(2026, 5, 25)),
            Some("Lundi de Pentecôte")
        );
        let spain = calendar(r#"[{"name": "Viernes Santo", "easter": -2}]"#);
        assert_eq!(spain.holiday_on(date(2026, 4, 3)), Some("Viernes Santo"));
    }

    #[test]
    fn bad_rules_name_the_field_and_reason() {
        let cases = [
            (r#"{"name": "X", "date": "04-31"}"#, "field `date`"),
            (r#"{"name": "X", "date": "13-01"}"#, "month 13"),
            (r#"{"name": "X", "date": "4-1"}"#, "MM-DD"),
            (
                r#"{"name": "X", "month": 13, "weekday": "monday", "nth": 1}"#,
                "field `month`",
            ),
            (
                r#"{"name": "X", "month": 5, "weekday": "monday", "nth": 0}"#,
                "field `nth`",
            ),
            (
                r#"{"name": "X", "month": 5, "weekday": "monday", "nth": 6}"#,
                "field `nth`",
            ),
            (
                r#"{"name": "X", "month": 5, "weekday": "lunedì", "nth": 1}"#,
                "field `weekday`",
            ),
            (r#"{"name": "X", "month": 5, "nth": 1}"#, "field `weekday`"),
            (
                r#"{"name": "X", "date": "01-01", "easter": 1}"#,
                "exactly one",
            ),
            (r#"{"name": "X", "easter": 400}"#, "field `easter`"),
            (
                r#"{"name": "X", "date": "01-01", "observed": "uk"}"#,
                "field `observed`",
            ),
            (
                r#"{"name": "X", "date": "01-01", "from_year": 2030, "until_year": 2020}"#,
                "field `until_year`",
            ),
            (r#"{"name": " ", "date": "01-01"}"#, "field `name`"),
            (
                r#"{"name": "X", "date": "01-01", "colour": "red"}"#,
                "colour",
            ),
        ];
        for (json, expected) in cases {
            let error = rule_error(json);
            assert!(error.contains(expected), "{json}: {error}");
        }
        // 29 February is accepted, and is a holiday only in leap years.
        let leap = calendar(r#"[{"name": "Leap", "date": "02-29"}]"#);
        assert_eq!(leap.holiday_on(date(2028, 2, 29)), Some("Leap"));
        assert!(leap.holidays_in(2027).is_empty());
    }

    #[test]
    fn rules_serialise_as_written() {
        let rules: Vec<HolidayRule> = serde_json::from_str(US_FEDERAL).unwrap();
        let again: Vec<HolidayRule> =
            serde_json::from_value(serde_json::to_value(&rules).unwrap()).unwrap();
        assert_eq!(rules, again);
        let memorial = serde_json::to_value(&rules[3]).unwrap();
        assert_eq!(
            memorial,
            serde_json::json!({"name": "Memorial Day", "month": 5, "weekday": "monday", "nth": -1})
        );
    }
}
