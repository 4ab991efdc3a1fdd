use chrono::{DateTime, Utc};

use super::*;
use crate::hours::OpenInterval;

fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().into(),
        DateTime::parse_from_rfc3339("2028-01-01T00:00:00Z").unwrap().into(),
    )
}

fn intervals(h: &OpeningHours) -> Vec<OpenInterval> {
    let (a, b) = window();
    h.intervals(a, b)
}

/// Strings of the supported subset, from simple to awkward.
pub(crate) const EXAMPLES: &[&str] = &[
    "24/7",
    "off",
    "Mo-Fr 08:00-17:00",
    "Mo-Fr 08:00-12:00,13:00-16:30; Sa 10:00-14:00",
    "Mo-Fr 07:00-21:00; Sa,Su 09:00-16:00; PH off",
    "Mo-Su 06:00-22:00; PH 10:00-14:00",
    "Mo-Th 15:00-21:00; Fr 15:00-02:00; Sa 18:00-02:00",
    "Fr-Mo 10:00-18:00",
    "Sep-Apr Mo-Fr 16:00-22:00; Sep-Apr Sa,Su 09:00-18:00",
    "Jun-Aug 10:00-19:00",
    "Mo-Fr 09:00-19:00; Jun-Aug Mo-Fr 09:00-15:00; Dec 24,Dec 31 off",
    "Aug 20-May 15 Mo-Fr 06:30-21:00; Aug 20-May 15 Sa,Su 08:00-18:00; May 16-Aug 19 Mo-Fr 10:00-18:00",
    "Mo,We,Fr 10:00-12:00 open \"drop-in\"; Tu,Th 17:00-20:00",
    "Mo-Su 00:00-24:00; Dec 24 off",
    "Mo-Fr 08:00-16:00; PH off; 2026 Dec 28 10:00-12:00 open \"mellandagar\"",
    "Su,PH 10:00-15:00",
    "Mo-Sa 10:00-20:00; Su 12:00-18:00; Dec 24-26 off; PH off",
    "Mo-Fr; Sa 10:00-14:00",
];

#[test]
fn examples_parse_and_round_trip_to_the_same_hours() {
    for s in EXAMPLES {
        let h = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let out = export(&h);
        let back = parse(&out).unwrap_or_else(|e| panic!("{s} → {out}: {e}"));
        assert_eq!(intervals(&back), intervals(&h), "{s} → {out}");
        assert_eq!(export(&back), out, "export is stable: {s}");
    }
}

/// As in the reference: the part of a span after midnight belongs to the next day.
#[test]
fn spans_past_midnight_belong_to_the_next_day_for_overrides() {
    let at = |h: &OpeningHours, s: &str| h.is_open(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    // A later rule for Saturday replaces Friday night's overflow into Saturday.
    let h = parse("Fr 20:00-02:00; Sa 10:00-14:00").unwrap();
    assert!(!at(&h, "2026-11-28T00:45:00+01:00"));
    // A later rule closing Sunday does not touch Monday's early hours from Sunday night.
    let h = parse("Mo-Su 22:00-06:00; Su off").unwrap();
    assert!(at(&h, "2026-11-30T00:45:00+01:00"), "Monday 00:45 comes from Sunday's rule, which Su off does not reach");
    assert!(!at(&h, "2026-11-29T00:45:00+01:00"), "Sunday 00:45 came from Saturday night but Su off replaced Sunday");
    let h = parse("Mo-Su 22:00-06:00; Dec 31 off").unwrap();
    assert!(at(&h, "2027-01-01T01:15:00+01:00"));
    assert!(!at(&h, "2026-12-31T01:15:00+01:00"));
    // PH off replaces the whole holiday, including the night before's overflow.
    let h = parse("Mo-Su 22:00-06:00; PH off").unwrap();
    assert!(!at(&h, "2026-12-25T01:15:00+01:00"));
    assert!(!at(&h, "2026-12-26T01:15:00+01:00"), "annandag jul is a holiday too");
    assert!(at(&h, "2026-12-27T01:15:00+01:00"), "the night after annandag jul belongs to the 27th");
}

#[test]
fn later_rules_override_the_days_they_match() {
    let h = parse("Mo-Fr 08:00-17:00; Jun-Aug Fr 08:00-12:00").unwrap();
    let june_friday = NaiveDate::from_ymd_opt(2026, 6, 12).unwrap();
    let june_monday = NaiveDate::from_ymd_opt(2026, 6, 8).unwrap();
    let may_friday = NaiveDate::from_ymd_opt(2026, 5, 8).unwrap();
    assert_eq!(h.day(june_friday).0, vec![TimeSpan::day(HhMm::parse("08:00").unwrap(), HhMm::parse("12:00").unwrap())]);
    assert_eq!(h.day(june_monday).0[0].closes, HhMm::parse("17:00").unwrap(), "other summer days keep the earlier rule");
    assert_eq!(h.day(may_friday).0[0].closes, HhMm::parse("17:00").unwrap());
    let h = parse("Mo-Su 10:00-20:00; Jun-Aug off; Jul Sa 10:00-14:00").unwrap();
    assert!(h.day(NaiveDate::from_ymd_opt(2026, 6, 13).unwrap()).0.is_empty());
    assert_eq!(h.day(NaiveDate::from_ymd_opt(2026, 7, 11).unwrap()).0.len(), 1);
    assert!(h.day(NaiveDate::from_ymd_opt(2026, 7, 12).unwrap()).0.is_empty(), "a July Sunday is still off");
}

#[test]
fn month_ranges_across_the_new_year_and_single_days() {
    let h = parse("Nov-Feb Mo-Su 10:00-15:00; Dec 24 off").unwrap();
    for (date, open) in [
        ("2026-11-01", true),
        ("2026-12-24", false),
        ("2026-12-25", true),
        ("2027-02-28", true),
        ("2027-03-01", false),
        ("2028-02-29", true),
    ] {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        assert_eq!(!h.day(d).0.is_empty(), open, "{date}");
    }
}

#[test]
fn holidays_and_dated_rules() {
    let h = parse("Mo-Fr 09:00-17:00; PH 10:00-12:00; 2026 Dec 28 off \"inventering\"").unwrap();
    assert_eq!(h.holidays.public_holidays.mode, HolidayMode::Hours);
    assert_eq!(h.exceptions.len(), 1);
    assert_eq!(h.exceptions[0].reason, "inventering");
    let mut model = h.clone();
    model.holidays.eves = HolidayRule { mode: HolidayMode::Closed, spans: vec![] };
    let out = export_with_years(&model, 2025..=2028);
    assert!(out.contains("Dec 24,Dec 31 off") && out.contains("Jun 19-25 Fr off") && out.contains("2026 Apr 04"), "{out}");
    let back = parse(&out).unwrap();
    assert_eq!(intervals(&back), intervals(&model), "eves survive as explicit rules: {out}");
}

#[test]
fn invalid_and_unsupported_strings_get_positioned_errors() {
    for (s, pos, needle) in [
        ("", 0, "empty"),
        ("Mo-Fr 08:00-25:00", 12, "not a time"),
        ("Mo-Fr 8:00-17:00 foo", 17, "unexpected 'foo'"),
        ("Mo-Xy 08:00-17:00", 3, "weekday"),
        ("Mo-Fr 08:00", 11, "'-'"),
        ("Mo-Fr 08:00-17:00 || \"ring\"", 18, "fallback"),
        ("Mo-Fr 08:00-17:00;; Sa off", 18, "empty rule"),
        ("PH off; Mo-Fr 08:00-17:00", 8, "after a PH rule"),
        ("Feb 30 off", 4, "no day 30"),
        ("sunrise-sunset", 0, "unexpected"),
        ("Mo-Fr 10:00-10:00", 12, "equal"),
        ("Mo \"unterminated", 3, "not closed"),
        ("Mo 10:00-12:00 \"by appointment\"", 15, "unknown"),
        ("week 1-53 Mo 10:00-12:00", 0, "unexpected"),
    ] {
        let e = parse(s).unwrap_err();
        assert_eq!(e.position, pos, "{s}: {e}");
        assert!(e.message.contains(needle), "{s}: {e}");
    }
}

#[test]
fn exports_read_naturally() {
    assert_eq!(export(&parse("Mo-Fr 08:00-17:00; Sa 10:00-14:00").unwrap()), "Mo-Fr 08:00-17:00; Sa 10:00-14:00");
    assert_eq!(export(&parse("Mo-Su 00:00-24:00").unwrap()), "24/7");
    assert_eq!(export(&parse("Fr 22:00-02:00; PH off").unwrap()), "Fr 22:00-24:00; Sa 00:00-02:00; PH off");
}

/// Found with the fuzz target `opening_hours` run on long inputs (libFuzzer's own stay under
/// 4 KiB): the work grew with the square of the dated days (each replaced the ones before it
/// one by one, and validation compared each exception with every earlier one) and with weekly
/// rules × month ranges × 366 days × 7, so one body at the API's 1 MiB limit kept a worker
/// busy for minutes. A string may now have at most `MAX_RULES` rules, and the time it takes
/// grows with its length: `make bench` (`hours/long_inputs`) measures that, against a string a
/// hundredth as long in the same run; here, what such strings give.
#[test]
fn long_strings_are_refused_or_read() {
    let rule = "Mo 10:00-12:00";
    let e = parse(&vec![rule; MAX_RULES + 1].join("; ")).unwrap_err();
    assert_eq!(e.position, MAX_RULES * (rule.len() + 2), "{e}");
    assert!(e.message.contains("more than 1000 rules"), "{e}");
    assert!(parse(&vec![rule; MAX_RULES].join("; ")).is_ok(), "as many rules as allowed");

    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let days: Vec<String> = (0..80_000)
        .map(|i| first + chrono::Duration::days(i))
        .map(|d| format!("{} {} {:02}", d.year(), MONTHS[d.month0() as usize], d.day()))
        .collect();
    let dated = format!("{} off", days.join(","));
    assert!(dated.len() > 900_000, "about the API's body limit");
    let e = parse(&dated).expect_err("80,000 dated days in one rule are read, then refused");
    assert!(e.message.contains("at most 500 exceptions"), "{e}");
    let many_months = vec![format!("{} Mo-Fr 10:00-12:00", vec!["Jan 01-Dec 31"; 70].join(",")); 1000].join("; ");
    assert!(many_months.len() > 900_000);
    assert!(parse(&many_months).is_ok(), "1000 rules of 70 month ranges are read");
}
