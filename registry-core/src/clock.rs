//! Where the service reads the time of day.
//!
//! Rules that depend on the date (a booking must not be in the past, a lead time, the
//! materialised window of opening hours, a certification that lapses, this year's member
//! statistics) ask a [`Clock`] instead of the system clock. Production passes
//! [`Clock::system`]; tests pass [`Clock::starting_at`] a "today" they name, so every expected
//! value follows from that day and the same test holds on midsommarafton, on a DST night or
//! on New Year's Eve.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// A time source. Cheap to clone; the system clock unless a test chose a starting point.
#[derive(Clone, Default)]
pub struct Clock {
    /// How far this clock is ahead of the system clock (zero for the system clock).
    offset: Option<Arc<chrono::Duration>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.offset {
            None => f.write_str("Clock::system"),
            Some(o) => write!(f, "Clock::starting_at({})", Utc::now() + **o),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { offset: None }
    }

    /// A clock that reads `start` now and then runs on at the system clock's pace, so
    /// timestamps written later still come later.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock { offset: Some(Arc::new(start - Utc::now())) }
    }

    /// Whether this is the system clock.
    pub fn is_system(&self) -> bool {
        self.offset.is_none()
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.offset {
            None => Utc::now(),
            Some(o) => Utc::now() + **o,
        }
    }

    /// Today's date in Sweden (Europe/Stockholm): the day a resident would name.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&crate::hours::TZ).date_naive()
    }

    /// This year in Sweden (at 00:30 on New Year's Day in Stockholm it is already the new
    /// year, although UTC still says the old one).
    pub fn year(&self) -> i32 {
        self.today().year()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_chosen_start_is_now_and_time_runs_on() {
        let c = Clock::starting_at(t("2027-06-25T21:30:00Z"));
        let a = c.now();
        assert!((a - t("2027-06-25T21:30:00Z")).num_seconds().abs() < 60, "{a}");
        assert!(c.now() >= a, "never runs backwards");
        assert!(!c.is_system() && Clock::system().is_system());
    }

    #[test]
    fn today_and_year_are_swedish() {
        // 23:30 UTC on New Year's Eve is 00:30 on New Year's Day in Stockholm.
        let c = Clock::starting_at(t("2026-12-31T23:30:00Z"));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert_eq!(c.year(), 2027);
        // 22:30 UTC on 24 June 2027 is 00:30 summer time on 25 June, midsummer eve.
        let c = Clock::starting_at(t("2027-06-24T22:30:00Z"));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2027, 6, 25).unwrap());
    }

    #[test]
    fn the_system_clock_is_the_system_time() {
        let before = Utc::now();
        let n = Clock::system().now();
        assert!(n >= before && n <= Utc::now());
    }
}
