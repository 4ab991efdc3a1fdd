//! The tests' "today". Date-sensitive tests take the time from [`clock`] and derive every
//! expected value from it, so they hold on any run date. `REGISTRY_TEST_NOW` (RFC 3339) names
//! the instant the clock starts at; without it the clock is the system clock. `make
//! test-dates` runs the date-sensitive tests at a list of awkward instants (eves, DST nights,
//! 29 February, New Year's Eve late at night).
//!
//! Relative days that must be open (`Mo-Su 08:00-22:00; PH off`) come from
//! [`ordinary_day`], and calendar facts (a DST night, Christmas Day) from the next occurrence
//! after today, through the project's own Swedish calendar.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use registry_core::Clock;
use registry_core::calendar;
use registry_core::hours::TZ as Stockholm;

/// The environment variable that names the tests' "now" (RFC 3339, e.g. `2027-06-24T23:30:00+02:00`).
pub const NOW_VAR: &str = "REGISTRY_TEST_NOW";

/// The clock every component of a test process reads: the same "now" for the registry, the
/// reference booking backend and the test's own expectations.
pub fn clock() -> Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK
        .get_or_init(|| match std::env::var(NOW_VAR) {
            Ok(s) if !s.trim().is_empty() => {
                let t = DateTime::parse_from_rfc3339(s.trim())
                    .unwrap_or_else(|e| panic!("{NOW_VAR}='{s}' is not an RFC 3339 time such as 2027-06-24T23:30:00+02:00: {e}"));
                Clock::starting_at(t.with_timezone(&Utc))
            }
            _ => Clock::system(),
        })
        .clone()
}

/// The tests' current instant.
pub fn now() -> DateTime<Utc> {
    clock().now()
}

/// The tests' today, in Sweden.
pub fn today() -> NaiveDate {
    clock().today()
}

/// `hour`:00 local time in Stockholm on `date` (an hour that exists on that day).
pub fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    Stockholm
        .from_local_datetime(&date.and_hms_opt(hour, 0, 0).expect("an hour of the day"))
        .earliest()
        .unwrap_or_else(|| panic!("{date} {hour}:00 does not exist in Stockholm"))
        .with_timezone(&Utc)
}

/// Whether `date` is a public holiday or an eve (julafton, midsommarafton, …).
pub fn is_holiday_or_eve(date: NaiveDate) -> bool {
    calendar::holiday_on(date).is_some()
}

/// Whether a schedule's hours change on `date` for a reason other than the weekday: a holiday,
/// an eve, or a DST night (its day has 23 or 25 hours).
pub fn is_unusual(date: NaiveDate) -> bool {
    let hours = (at_midnight(date + Duration::days(1)) - at_midnight(date)).num_hours();
    is_holiday_or_eve(date) || hours != 24
}

fn at_midnight(date: NaiveDate) -> DateTime<Utc> {
    Stockholm.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().with_timezone(&Utc)
}

/// The first ordinary weekday (Monday–Friday, no holiday, no eve, no DST change) on or after
/// `from`: a day every `Mo-Fr` or `PH off` schedule is open.
pub fn ordinary_day(from: NaiveDate) -> NaiveDate {
    let mut d = from;
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || is_unusual(d) {
        d += Duration::days(1);
    }
    d
}

/// The first ordinary weekday at least `days` after today.
pub fn ordinary_day_after(days: i64) -> NaiveDate {
    ordinary_day(today() + Duration::days(days))
}

/// The next day after today whose local day has `hours` hours (23: spring forward, 25: fall back).
pub fn next_dst_day(hours: i64) -> NaiveDate {
    let mut d = today() + Duration::days(1);
    while (at_midnight(d + Duration::days(1)) - at_midnight(d)).num_hours() != hours {
        d += Duration::days(1);
    }
    d
}

/// The next date after today with this holiday id (e.g. `christmas_day`, `easter_day`).
pub fn next_holiday(id: &str) -> NaiveDate {
    let t = today();
    (t.year()..=t.year() + 2)
        .flat_map(|y| calendar::holidays(y).unwrap_or_default())
        .find(|h| h.id == id && h.date > t)
        .unwrap_or_else(|| panic!("no holiday with id '{id}' in the next two years"))
        .date
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ordinary_days_skip_weekends_holidays_eves_and_dst_nights() {
        assert_eq!(ordinary_day(d("2026-12-23")), d("2026-12-23"), "a Wednesday");
        assert_eq!(ordinary_day(d("2026-12-24")), d("2026-12-28"), "julafton, juldagen, annandag jul, then the weekend");
        assert_eq!(ordinary_day(d("2027-06-24")), d("2027-06-24"), "the day before midsommarafton");
        assert_eq!(ordinary_day(d("2027-06-25")), d("2027-06-28"), "midsommarafton, then the weekend");
        assert_eq!(ordinary_day(d("2027-03-26")), d("2027-03-30"), "långfredag, påskafton, påskdagen (DST), annandag påsk");
        assert_eq!(ordinary_day(d("2028-02-29")), d("2028-02-29"), "a leap day is ordinary");
    }

    #[test]
    fn local_hours_are_dst_correct() {
        assert_eq!(at(d("2027-03-28"), 3).to_rfc3339(), "2027-03-28T01:00:00+00:00", "summer time after 02:00");
        assert_eq!(at(d("2027-10-31"), 2).to_rfc3339(), "2027-10-31T00:00:00+00:00", "the first 02:00");
        assert!(is_unusual(d("2027-10-31")) && is_unusual(d("2027-03-28")) && !is_unusual(d("2027-03-30")));
        assert!(is_unusual(d("2026-10-25")), "a DST night that is no holiday");
    }
}
