//! The calling rules of one country, as data: numbering plan, time zones,
//! calling hours, public holidays, the consent regime over time, the
//! registries to consult and how long a check stays valid, attempt caps,
//! cool-offs and what the caller must say. Shipped files hold the defaults;
//! an operator can read them (`tutela rules show CC`) and override them.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::calendar::{HolidayCalendar, HolidayRule};
use crate::calling_hours::CallingHours;
use crate::consent::Channel;
use crate::numbering::NumberingPlan;
use crate::registry::Registry;
use crate::text::CountryCode;

slug_enum!(
    /// What makes a marketing call lawful in a country.
    MarketingBasis, "marketing basis" {
        /// Prior consent for the purpose and channel (France from 11 Aug
        /// 2026, Spain).
        OptIn = "opt_in",
        /// Allowed unless the number is on the registry or the person said
        /// no (UK, US, France until 10 Aug 2026).
        OptOut = "opt_out",
        /// Consent, or for numbers taken from public directories the
        /// registry opt-out (Italy, Codice privacy art. 130).
        ConsentOrRegistry = "consent_or_registry",
    }
);

slug_enum!(
    /// What the called party's line did, as reported by the dialer.
    CallOutcome, "call outcome" {
        /// Someone answered and the call went on.
        Answered = "answered",
        /// The person refused (declined the offer or asked not to be called).
        Refused = "refused",
        /// A silent call: answered, but no operator was free.
        Silent = "silent",
        /// Nobody answered.
        NoAnswer = "no_answer",
    }
);

slug_enum!(
    /// Something the caller must do on an allowed call.
    ObligationKind, "obligation" {
        /// Say at the start that the call is recorded.
        AnnounceRecording = "announce_recording",
        /// Give the art. 14 notice (data not collected from the person).
        GiveArt14Notice = "give_art14_notice",
        /// Say in which country the operator sits (Italy, art. 24-bis).
        DiscloseOperatorCountry = "disclose_operator_country",
        /// Offer an operator located in the country (Italy, art. 24-bis).
        OfferNationalOperator = "offer_national_operator",
        /// Identify the caller and the commercial purpose at the start
        /// (Spain, TRLGDCU art. 96.2).
        IdentifyCallerAndPurpose = "identify_caller_and_purpose",
        /// Read the spoken privacy notice of the version given.
        ReadNotice = "read_notice",
    }
);

/// One period of a consent regime. Periods follow each other: `from` is
/// the first day (in the country's first time zone) it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimePeriod {
    /// First day, inclusive; `None`: since ever.
    #[serde(default)]
    pub from: Option<Date>,
    /// The basis in force.
    pub basis: MarketingBasis,
    /// Whether an existing contract (the controller's own customers) makes
    /// the call lawful without consent, the registry still being consulted.
    #[serde(default)]
    pub contract_exception: bool,
    /// Where it comes from.
    pub source: String,
}

/// A registry that must be consulted and how long a consultation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryRule {
    /// The registry.
    pub registry: Registry,
    /// Days a check (the snapshot's as-of date, or a list's last scrub) stays valid.
    pub validity_days: u16,
    /// The channels it covers.
    #[serde(default = "phone_only")]
    pub channels: Vec<Channel>,
    /// Where it comes from.
    pub source: String,
}

fn phone_only() -> Vec<Channel> {
    vec![Channel::Phone]
}

/// At most `max_attempts` calls or attempts per number within any
/// `window_days` days, counted per controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptCap {
    /// Attempts allowed in the window.
    pub max_attempts: u32,
    /// The rolling window, in days.
    pub window_days: u16,
    /// Where it comes from.
    pub source: String,
}

/// No call to the number for `days` days after an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolOff {
    /// The outcome that starts it.
    pub after: CallOutcome,
    /// How long, in days (the last day is the day `days` after the call,
    /// counted as 24-hour periods from its instant).
    pub days: u16,
    /// Where it comes from.
    pub source: String,
}

/// What the caller must do when the operator is not in the country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorAbroadRule {
    /// Countries where an operator does not count as abroad.
    pub home: Vec<CountryCode>,
    /// What is owed otherwise.
    pub obligations: Vec<ObligationKind>,
    /// Where it comes from.
    pub source: String,
}

/// The rules of one country as written in a rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionRules {
    /// ISO 3166-1 alpha-2 code.
    pub country: CountryCode,
    /// Name for people.
    pub name: String,
    /// The language the privacy notice is read in to people called in this
    /// country: the version the call's notice obligation names is the
    /// controller's latest in it.
    #[serde(default)]
    pub notice_language: Option<crate::notice::Language>,
    /// How numbers are written.
    pub numbering: NumberingPlan,
    /// IANA time zones of the country's numbers. A call must be inside the
    /// calling hours in every one of them (a number does not say where its
    /// owner is).
    pub time_zones: Vec<String>,
    /// Calling hours in local time.
    pub hours: CallingHours,
    /// Where the hours come from.
    pub hours_source: String,
    /// Public holidays.
    #[serde(default)]
    pub holidays: Vec<HolidayRule>,
    /// The marketing regime over time, oldest first.
    pub regimes: Vec<RegimePeriod>,
    /// Registries to consult for marketing calls.
    #[serde(default)]
    pub registries: Vec<RegistryRule>,
    /// Attempt caps.
    #[serde(default)]
    pub attempt_caps: Vec<AttemptCap>,
    /// Cool-offs after outcomes.
    #[serde(default)]
    pub cool_offs: Vec<CoolOff>,
    /// What is owed on every allowed marketing call.
    #[serde(default)]
    pub start_of_call: Vec<ObligationKind>,
    /// What is owed when the operator sits abroad.
    #[serde(default)]
    pub operator_abroad: Option<OperatorAbroadRule>,
}

/// Why a rules file was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{country}: {field}: {reason}")]
pub struct RulesError {
    /// The country of the file.
    pub country: String,
    /// The field at fault.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// A country's rules, checked and ready to decide with.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    /// The rules as written.
    pub rules: JurisdictionRules,
    /// The time zones, resolved; never empty.
    pub zones: Vec<TimeZone>,
    /// The first of them, which dates regime periods.
    pub main_zone: TimeZone,
    /// The holidays, resolved.
    pub holidays: HolidayCalendar,
}

impl Jurisdiction {
    /// Checks `rules`: known time zones, at least one, regimes in date
    /// order, positive windows.
    pub fn new(rules: JurisdictionRules) -> Result<Self, RulesError> {
        let error = |field: &str, reason: String| RulesError {
            country: rules.country.as_str().to_owned(),
            field: field.to_owned(),
            reason,
        };
        if rules.time_zones.is_empty() {
            return Err(error(
                "time_zones",
                "must name at least one time zone".to_owned(),
            ));
        }
        let zones = rules
            .time_zones
            .iter()
            .map(|name| {
                TimeZone::get(name).map_err(|_| {
                    error(
                        "time_zones",
                        format!("{name} is not a known IANA time zone"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let main_zone = zones
            .first()
            .cloned()
            .ok_or_else(|| error("time_zones", "must name at least one time zone".to_owned()))?;
        if rules.regimes.is_empty() {
            return Err(error("regimes", "must hold at least one period".to_owned()));
        }
        if rules
            .regimes
            .windows(2)
            .any(|pair| matches!(pair, [a, b] if b.from.is_none() || a.from >= b.from))
        {
            return Err(error(
                "regimes",
                "periods must be in increasing `from` order".to_owned(),
            ));
        }
        if rules.registries.iter().any(|r| r.validity_days == 0) {
            return Err(error(
                "registries.validity_days",
                "must be at least 1".to_owned(),
            ));
        }
        if rules
            .attempt_caps
            .iter()
            .any(|c| c.window_days == 0 || c.max_attempts == 0)
        {
            return Err(error(
                "attempt_caps",
                "window_days and max_attempts must be at least 1".to_owned(),
            ));
        }
        let holidays = HolidayCalendar::new(rules.holidays.clone());
        Ok(Self {
            rules,
            zones,
            main_zone,
            holidays,
        })
    }

    /// The regime in force on `date` (the country's local date), with the
    /// first day of the next period, if any.
    pub fn regime_on(&self, date: Date) -> Option<(&RegimePeriod, Option<Date>)> {
        let index = self
            .rules
            .regimes
            .iter()
            .rposition(|period| period.from.is_none_or(|from| from <= date))?;
        let next = self
            .rules
            .regimes
            .get(index + 1)
            .and_then(|period| period.from);
        self.rules.regimes.get(index).map(|period| (period, next))
    }
}
