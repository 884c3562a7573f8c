//! Call-gating scenarios per jurisdiction, at the edges, on the shipped
//! rules: the minute before and after each calling window, the DST changes,
//! each public holiday, the Nth and N+1th attempt, the last day of a
//! cool-off, a stale registry check, a consent voided by registration, an
//! operator abroad, the French switch to opt-in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use jiff::{SignedDuration, Timestamp};
use tutela_app::RuleBook;
use tutela_domain::{
    CallFacts, CallOutcome, CallQuestion, Channel, ConsentEventId, ConsentState, CountryCode,
    Decision, Jurisdiction, ListFact, ListId, Registry, RegistryFact, RegistryRef, SourceKind,
    Verdict, decide,
};

const DAY: SignedDuration = SignedDuration::from_hours(24);

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn rules(country: &str) -> std::sync::Arc<Jurisdiction> {
    let book = RuleBook::shipped().unwrap();
    book.get(CountryCode::parse(country).unwrap())
        .unwrap()
        .jurisdiction
        .clone()
}

fn question(at: Timestamp) -> CallQuestion {
    CallQuestion {
        channel: Channel::Phone,
        direct_marketing: true,
        at,
        operator_country: None,
        recorded: false,
        list: None,
    }
}

/// Facts for a callable person: purpose allowed, consent given long ago,
/// every registry of the country loaded yesterday and clean.
fn callable(jurisdiction: &Jurisdiction, at: Timestamp) -> CallFacts {
    CallFacts {
        purpose_allowed: true,
        registries: jurisdiction
            .rules
            .registries
            .iter()
            .map(|r| RegistryFact {
                registry: RegistryRef::National(r.registry),
                as_of: at - DAY,
                listed: false,
            })
            .collect(),
        consent: granted("2020-01-01T00:00:00Z"),
        ..CallFacts::default()
    }
}

fn granted(since: &str) -> ConsentState {
    ConsentState::Granted {
        since: ts(since),
        event: ConsentEventId::generate(),
    }
}

fn codes(decision: &Decision) -> Vec<String> {
    decision
        .reasons
        .iter()
        .map(|r| {
            serde_json::to_value(r).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Decides with the country's rules and returns the denial codes (empty
/// when allowed, checked against the verdict).
fn run(
    country: &str,
    at: &str,
    adjust: impl FnOnce(&mut CallQuestion, &mut CallFacts),
) -> Vec<String> {
    let jurisdiction = rules(country);
    let at = ts(at);
    let mut q = question(at);
    let mut facts = callable(&jurisdiction, at);
    adjust(&mut q, &mut facts);
    let decision = decide(Some(&jurisdiction), &q, &facts);
    let codes = codes(&decision);
    assert_eq!(
        decision.verdict == Verdict::Allow,
        codes.is_empty(),
        "{decision:?}"
    );
    codes
}

fn assert_hours(country: &str, cases: &[(&str, Option<&str>)]) {
    for (at, expected) in cases {
        let codes = run(country, at, |_, _| {});
        match expected {
            None => assert!(
                codes.is_empty(),
                "{country} {at}: expected allow, got {codes:?}"
            ),
            Some(code) => assert_eq!(codes, [*code], "{country} {at}"),
        }
    }
}

const OUTSIDE: Option<&str> = Some("outside_calling_hours");
const HOLIDAY: Option<&str> = Some("public_holiday");

#[test]
fn italy_calling_windows_at_the_minute_and_across_both_dst_changes() {
    assert_hours(
        "IT",
        &[
            // Friday 27 March 2026, CET (UTC+1): 09:00-20:00.
            ("2026-03-27T07:59:00Z", OUTSIDE),
            ("2026-03-27T08:00:00Z", None),
            ("2026-03-27T18:59:00Z", None),
            ("2026-03-27T19:00:00Z", OUTSIDE),
            // Saturday 28 March: 10:00-19:00.
            ("2026-03-28T08:59:00Z", OUTSIDE),
            ("2026-03-28T09:00:00Z", None),
            ("2026-03-28T17:59:00Z", None),
            ("2026-03-28T18:00:00Z", OUTSIDE),
            // Sunday 29 March, the day clocks go forward: closed all day.
            ("2026-03-29T10:00:00Z", OUTSIDE),
            // Monday 30 March, CEST (UTC+2).
            ("2026-03-30T06:59:00Z", OUTSIDE),
            ("2026-03-30T07:00:00Z", None),
            ("2026-03-30T17:59:00Z", None),
            ("2026-03-30T18:00:00Z", OUTSIDE),
            // Monday 26 October, back to CET.
            ("2026-10-26T07:59:00Z", OUTSIDE),
            ("2026-10-26T08:00:00Z", None),
            ("2026-10-26T18:59:00Z", None),
            ("2026-10-26T19:00:00Z", OUTSIDE),
            // Monday 7 December, eve of the Immacolata: 10:00-19:00.
            ("2026-12-07T08:59:00Z", OUTSIDE),
            ("2026-12-07T09:00:00Z", None),
            ("2026-12-07T17:59:00Z", None),
            ("2026-12-07T18:00:00Z", OUTSIDE),
        ],
    );
}

/// Every holiday of `year` that is not a day closed anyway is refused at
/// local noon with the holiday's reason.
fn assert_every_holiday_closed(country: &str, year: i16, expected: usize) {
    let jurisdiction = rules(country);
    let holidays = jurisdiction.holidays.holidays_in(year);
    assert_eq!(holidays.len(), expected, "{country} {holidays:?}");
    for (date, name) in holidays {
        let noon = date
            .at(12, 0, 0, 0)
            .to_zoned(jurisdiction.main_zone.clone())
            .unwrap()
            .timestamp();
        let codes = run(country, &noon.to_string(), |_, _| {});
        if date.weekday() == jiff::civil::Weekday::Sunday {
            assert!(!codes.is_empty(), "{country} {date} {name}");
        } else {
            assert_eq!(codes, ["public_holiday"], "{country} {date} {name}");
        }
    }
}

#[test]
fn each_public_holiday_closes_calling() {
    assert_every_holiday_closed("IT", 2026, 12);
    assert_every_holiday_closed("FR", 2026, 11);
    assert_every_holiday_closed("ES", 2026, 10);
    assert_every_holiday_closed("GB", 2026, 8);
    assert_every_holiday_closed("US", 2026, 11);
}

#[test]
fn france_windows_attempt_cap_cool_off_and_the_switch_to_opt_in() {
    assert_hours(
        "FR",
        &[
            // Monday 2 March 2026, CET: 10:00-13:00 and 14:00-20:00.
            ("2026-03-02T08:59:00Z", OUTSIDE),
            ("2026-03-02T09:00:00Z", None),
            ("2026-03-02T11:59:00Z", None),
            ("2026-03-02T12:00:00Z", OUTSIDE),
            ("2026-03-02T12:59:00Z", OUTSIDE),
            ("2026-03-02T13:00:00Z", None),
            ("2026-03-02T18:59:00Z", None),
            ("2026-03-02T19:00:00Z", OUTSIDE),
            // Saturday: closed.
            ("2026-03-07T10:00:00Z", OUTSIDE),
            // Whit Monday 2026 is 25 May.
            ("2026-05-25T10:00:00Z", HOLIDAY),
        ],
    );
    let at = "2026-03-03T10:00:00Z";
    let attempts = |n: usize| {
        move |_: &mut CallQuestion, f: &mut CallFacts| {
            f.attempts = (0..n).map(|i| ts(at) - DAY * (i as i32 + 1)).collect();
        }
    };
    // The 4th attempt in 30 days is allowed, the 5th is not.
    assert!(run("FR", at, attempts(3)).is_empty());
    assert_eq!(run("FR", at, attempts(4)), ["attempt_cap_reached"]);
    // An attempt exactly 30 days ago has left the window.
    assert!(
        run("FR", at, |_, f| {
            f.attempts = vec![
                ts(at) - DAY * 30,
                ts(at) - DAY,
                ts(at) - DAY * 2,
                ts(at) - DAY * 3,
            ];
        })
        .is_empty()
    );
    // Until when: the oldest of the four leaves the window.
    let jurisdiction = rules("FR");
    let mut facts = callable(&jurisdiction, ts(at));
    attempts(4)(&mut question(ts(at)), &mut facts);
    let decision = decide(Some(&jurisdiction), &question(ts(at)), &facts);
    assert_eq!(decision.valid_until, Some(ts(at) - DAY * 4 + DAY * 30));

    // Refusal cool-off: 60 days; the last second of it is refused.
    let refused = ts(at) - DAY * 60;
    assert!(
        run("FR", at, |_, f| f.last_outcomes =
            vec![(CallOutcome::Refused, refused)])
        .is_empty()
    );
    assert_eq!(
        run("FR", at, |_, f| f.last_outcomes = vec![(
            CallOutcome::Refused,
            refused + SignedDuration::from_secs(1)
        )]),
        ["cool_off"]
    );

    // Opt-out until Monday 10 August 2026, opt-in from Tuesday 11 August.
    let no_consent = |_: &mut CallQuestion, f: &mut CallFacts| f.consent = ConsentState::Absent;
    assert!(run("FR", "2026-08-10T08:30:00Z", no_consent).is_empty());
    assert_eq!(
        run("FR", "2026-08-11T08:30:00Z", no_consent),
        ["no_consent"]
    );
    assert!(run("FR", "2026-08-11T08:30:00Z", |_, _| {}).is_empty());
    // On Bloctel: refused under opt-out unless consented.
    let listed = |_: &mut CallQuestion, f: &mut CallFacts| {
        f.consent = ConsentState::Absent;
        f.registries[0].listed = true;
    };
    assert_eq!(
        run("FR", "2026-08-10T08:30:00Z", listed),
        ["registry_listed"]
    );
}

#[test]
fn italy_registry_staleness_voiding_public_directories_silent_calls_and_operators_abroad() {
    let at = "2026-03-27T10:00:00Z";
    // The RPO check holds 15 days: stale at exactly 15 days.
    assert_eq!(
        run("IT", at, |_, f| f.registries[0].as_of = ts(at) - DAY * 15),
        ["registry_check_stale"]
    );
    assert!(
        run("IT", at, |_, f| f.registries[0].as_of =
            ts(at) - DAY * 15 + SignedDuration::from_secs(1))
        .is_empty()
    );
    // Not loaded at all.
    assert_eq!(
        run("IT", at, |_, f| f.registries.clear()),
        ["registry_unavailable"]
    );
    // Calling from a list: the list's own last check counts.
    let list = ListId::generate();
    let from_list = move |checked: Timestamp| {
        move |q: &mut CallQuestion, f: &mut CallFacts| {
            q.list = Some(list);
            f.lists = vec![ListFact {
                id: list,
                source: SourceKind::Rented,
                expires_at: Some(ts("2026-06-01T00:00:00Z")),
                purged: false,
                checks: vec![(Registry::ItRpo, checked)],
            }];
        }
    };
    assert_eq!(
        run("IT", at, from_list(ts(at) - DAY * 16)),
        ["registry_check_stale"]
    );
    assert!(run("IT", at, from_list(ts(at) - DAY * 14)).is_empty());

    // On the RPO with a consent older than the snapshot: voided.
    let on_rpo = |since: &'static str| {
        move |_: &mut CallQuestion, f: &mut CallFacts| {
            f.consent = granted(since);
            f.registries[0].listed = true;
        }
    };
    assert_eq!(
        run("IT", at, on_rpo("2026-01-01T00:00:00Z")),
        ["consent_voided_by_registration"]
    );
    // A consent given after the registration stands.
    assert!(run("IT", at, on_rpo("2026-03-26T12:00:00Z")).is_empty());
    // Voided in the ledger by a recorded registration.
    assert_eq!(
        run("IT", at, |_, f| f.consent = ConsentState::Voided {
            since: ts("2026-02-01T00:00:00Z"),
            registry: Registry::ItRpo,
            event: ConsentEventId::generate(),
        }),
        ["consent_voided_by_registration"]
    );
    // Without consent: a public-directory number not on the RPO may be called.
    let directory = |listed: bool| {
        move |_: &mut CallQuestion, f: &mut CallFacts| {
            f.consent = ConsentState::Absent;
            f.registries[0].listed = listed;
            f.lists = vec![ListFact {
                id: ListId::generate(),
                source: SourceKind::PublicDirectory,
                expires_at: None,
                purged: false,
                checks: vec![],
            }];
        }
    };
    assert!(run("IT", at, directory(false)).is_empty());
    assert_eq!(run("IT", at, directory(true)), ["registry_listed"]);
    assert_eq!(
        run("IT", at, |_, f| f.consent = ConsentState::Absent),
        ["no_consent"]
    );

    // Silent call: no recall for 5 days.
    let silent = ts(at) - DAY * 5;
    assert!(
        run("IT", at, |_, f| f.last_outcomes =
            vec![(CallOutcome::Silent, silent)])
        .is_empty()
    );
    assert_eq!(
        run("IT", at, |_, f| f.last_outcomes = vec![(
            CallOutcome::Silent,
            silent + SignedDuration::from_secs(60)
        )]),
        ["cool_off"]
    );

    // An operator in Albania must say so and offer an operator in Italy.
    let jurisdiction = rules("IT");
    let mut q = question(ts(at));
    q.operator_country = Some(CountryCode::parse("AL").unwrap());
    q.recorded = true;
    let mut facts = callable(&jurisdiction, ts(at));
    facts.art14_notice_owed = true;
    facts.notice_version = Some(3);
    let decision = decide(Some(&jurisdiction), &q, &facts);
    let obligations = serde_json::to_value(&decision.obligations).unwrap();
    assert_eq!(
        obligations,
        serde_json::json!([
            {"kind": "announce_recording"},
            {"kind": "give_art14_notice"},
            {"kind": "disclose_operator_country", "country": "AL"},
            {"kind": "offer_national_operator"},
            {"kind": "read_notice", "notice_version": 3},
        ])
    );
    // Until the window closes at 20:00 local, the earliest change.
    assert_eq!(decision.valid_until, Some(ts("2026-03-27T19:00:00Z")));
    q.operator_country = Some(CountryCode::parse("IT").unwrap());
    let home = decide(Some(&jurisdiction), &q, &facts);
    assert_eq!(home.obligations.len(), 3);
}

#[test]
fn spain_both_time_zones_and_opt_in() {
    assert_hours(
        "ES",
        &[
            // Monday 2 March 2026: Madrid UTC+1, Canaries UTC+0. 09:00 in
            // the Canaries is 10:00 in Madrid.
            ("2026-03-02T08:59:00Z", OUTSIDE),
            ("2026-03-02T09:00:00Z", None),
            ("2026-03-02T19:59:00Z", None),
            ("2026-03-02T20:00:00Z", OUTSIDE),
            ("2026-04-03T10:00:00Z", HOLIDAY),
        ],
    );
    let at = "2026-03-02T10:00:00Z";
    assert_eq!(
        run("ES", at, |_, f| f.consent = ConsentState::Absent),
        ["no_consent"]
    );
    // With consent, Robinson is not consulted.
    assert!(run("ES", at, |_, f| f.registries.clear()).is_empty());
    let jurisdiction = rules("ES");
    let decision = decide(
        Some(&jurisdiction),
        &question(ts(at)),
        &callable(&jurisdiction, ts(at)),
    );
    assert_eq!(
        serde_json::to_value(&decision.obligations).unwrap(),
        serde_json::json!([{"kind": "identify_caller_and_purpose"}])
    );
}

#[test]
fn uk_tps_grace_and_substitute_bank_holidays() {
    let at = "2026-03-02T10:00:00Z";
    let listed = |_: &mut CallQuestion, f: &mut CallFacts| {
        f.consent = ConsentState::Absent;
        f.registries[0].listed = true;
    };
    assert_eq!(run("GB", at, listed), ["registry_listed"]);
    // A subscriber can allow a specific caller.
    assert!(run("GB", at, |_, f| f.registries[0].listed = true).is_empty());
    assert_eq!(
        run("GB", at, |_, f| f.registries[1].as_of = ts(at) - DAY * 28),
        ["registry_check_stale"]
    );
    // Boxing Day 2026 is a Saturday: the substitute is Monday 28 December.
    assert_hours(
        "GB",
        &[
            ("2026-12-28T12:00:00Z", HOLIDAY),
            ("2026-12-29T12:00:00Z", None),
        ],
    );
}

#[test]
fn us_hours_hold_in_every_zone_and_dst_moves_the_edge() {
    assert_hours(
        "US",
        &[
            // Winter: 08:00 in Honolulu (UTC-10) is 18:00Z; 21:00 in New
            // York (UTC-5) is 02:00Z.
            ("2026-03-03T17:59:00Z", OUTSIDE),
            ("2026-03-03T18:00:00Z", None),
            ("2026-03-04T01:59:00Z", None),
            ("2026-03-04T02:00:00Z", OUTSIDE),
            // After 8 March New York is UTC-4: 21:00 is 01:00Z.
            ("2026-03-10T00:59:00Z", None),
            ("2026-03-10T01:00:00Z", OUTSIDE),
            // Independence Day 2026 is a Saturday, observed Friday 3 July.
            ("2026-07-03T20:00:00Z", HOLIDAY),
        ],
    );
    assert_eq!(
        run("US", "2026-03-03T20:00:00Z", |_, f| f.registries[0].as_of =
            ts("2026-03-03T20:00:00Z") - DAY * 31),
        ["registry_check_stale"]
    );
}

#[test]
fn rules_that_apply_to_every_call_and_every_reason_is_given() {
    let at = "2026-03-29T10:00:00Z"; // an Italian Sunday
    let codes = run("IT", at, |q, f| {
        f.purpose_allowed = false;
        f.restricted = true;
        f.consent = ConsentState::Objected {
            since: ts("2026-01-01T00:00:00Z"),
            event: ConsentEventId::generate(),
        };
        f.registries.push(RegistryFact {
            registry: RegistryRef::Global,
            as_of: ts(at) - DAY,
            listed: true,
        });
        let list = ListId::generate();
        q.list = Some(list);
        f.lists = vec![ListFact {
            id: list,
            source: SourceKind::Rented,
            expires_at: Some(ts(at)),
            purged: false,
            checks: vec![],
        }];
    });
    assert_eq!(
        codes,
        [
            "purpose_not_in_agreement",
            "objected",
            "restricted",
            "suppressed",
            "list_expired",
            "registry_check_stale",
            "outside_calling_hours"
        ]
    );
    // A service call (not marketing) on a Sunday is not held to the
    // telemarketing hours.
    assert!(run("IT", at, |q, _| q.direct_marketing = false).is_empty());
    // No rules for the country: refused.
    let decision = decide(None, &question(ts(at)), &CallFacts::default());
    assert_eq!(
        codes_of(&decision),
        ["purpose_not_in_agreement", "no_rules_for_country"]
    );
}

fn codes_of(decision: &Decision) -> Vec<String> {
    codes(decision)
}
