//! Evaluation: the concrete open intervals of a schedule as instants, DST-correct in
//! Europe/Stockholm.
//!
//! Local times that do not exist (the skipped hour of the spring-forward night) move forward
//! by the length of the gap, as clocks do (02:30 becomes 03:30); local times that occur twice
//! (the repeated hour of the autumn night) mean their first occurrence. Every interval is
//! reported as UTC instants and as local times with their offset, so none is ambiguous.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::{HolidayMode, OpeningHours, TimeSpan};
use crate::calendar::{self, HolidayKind};

/// The time zone of all opening hours.
pub const TZ: Tz = chrono_tz::Europe::Stockholm;

/// Largest window of one evaluation.
pub const MAX_WINDOW_DAYS: i64 = 800;

/// One open interval: [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpenInterval {
    /// Opening instant (UTC).
    pub start: DateTime<Utc>,
    /// Closing instant (UTC), exclusive.
    pub end: DateTime<Utc>,
    /// Opening in local time with its offset, e.g. `2026-10-25T02:30:00+02:00`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub start_local: DateTime<FixedOffset>,
    /// Closing in local time with its offset.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub end_local: DateTime<FixedOffset>,
}

impl OpenInterval {
    fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        OpenInterval { start, end, start_local: start.with_timezone(&TZ).fixed_offset(), end_local: end.with_timezone(&TZ).fixed_offset() }
    }
}

/// Why a date has the hours it has.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum DaySource {
    /// A date exception.
    Exception {
        /// Its reason.
        reason: String,
    },
    /// A public holiday or an eve under the holiday policy.
    Holiday {
        /// The holiday's id, e.g. `christmas_eve`.
        id: String,
        /// Its Swedish name.
        name_sv: String,
    },
    /// A period's weekly rule.
    Period {
        /// The period's name.
        name: String,
    },
    /// No period covers the date.
    Closed,
}

/// The local instant of `minutes` after the start of `date`, following the DST rules above.
pub fn local_instant(date: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let naive: NaiveDateTime = date.and_hms_opt(0, 0, 0).expect("midnight exists") + Duration::minutes(i64::from(minutes));
    match TZ.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => match TZ.from_local_datetime(&(naive + Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // Stockholm's gaps are one hour long; this cannot happen.
            LocalResult::None => Utc.from_utc_datetime(&naive),
        },
    }
}

/// Holidays by year, computed once per evaluation.
#[derive(Default)]
struct Holidays(HashMap<i32, Vec<calendar::Holiday>>);

impl Holidays {
    fn on(&mut self, date: NaiveDate) -> Option<&calendar::Holiday> {
        let list = self.0.entry(date.year()).or_insert_with(|| calendar::holidays(date.year()).unwrap_or_default());
        list.iter().filter(|h| h.date == date).min_by_key(|h| h.kind != HolidayKind::PublicHoliday)
    }
}

impl OpeningHours {
    fn day_with(&self, date: NaiveDate, holidays: &mut Holidays) -> (&[TimeSpan], DaySource) {
        if let Some(e) = self.exceptions.iter().find(|e| e.date == date) {
            return (&e.spans, DaySource::Exception { reason: e.reason.clone() });
        }
        if let Some(h) = holidays.on(date) {
            let rule = match h.kind {
                HolidayKind::PublicHoliday => &self.holidays.public_holidays,
                HolidayKind::Eve => &self.holidays.eves,
            };
            let source = DaySource::Holiday { id: h.id.to_string(), name_sv: h.name_sv.to_string() };
            match rule.mode {
                HolidayMode::Normal => {}
                HolidayMode::Closed => return (&[], source),
                HolidayMode::Hours => return (&rule.spans, source),
            }
        }
        let best = self.periods.iter().enumerate().filter(|(_, p)| p.covers(date)).max_by_key(|(i, p)| (p.priority, *i));
        match best {
            Some((_, p)) => (p.weekly.day(date.weekday().num_days_from_monday() as usize), DaySource::Period { name: p.name.clone() }),
            None => (&[], DaySource::Closed),
        }
    }

    /// The local spans of `date` and where they come from.
    pub fn day(&self, date: NaiveDate) -> (Vec<TimeSpan>, DaySource) {
        let (spans, source) = self.day_with(date, &mut Holidays::default());
        (spans.to_vec(), source)
    }

    /// The open intervals overlapping [from, to), clipped to it, merged where they touch.
    /// Windows longer than [`MAX_WINDOW_DAYS`] are cut to that length.
    pub fn intervals(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<OpenInterval> {
        let to = to.min(from + Duration::days(MAX_WINDOW_DAYS));
        if to <= from {
            return Vec::new();
        }
        let mut holidays = Holidays::default();
        // A span opens on its own local day and may close on the next, so start a day early.
        let first = from.with_timezone(&TZ).date_naive() - Duration::days(1);
        let last = to.with_timezone(&TZ).date_naive();
        let mut raw: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let mut date = first;
        while date <= last {
            let (spans, _) = self.day_with(date, &mut holidays);
            for s in spans {
                let (a, b) = s.minutes();
                let (start, end) = (local_instant(date, a), local_instant(date, b));
                if start < end {
                    raw.push((start, end));
                }
            }
            date += Duration::days(1);
        }
        raw.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(raw.len());
        for (s, e) in raw {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged.into_iter().filter(|(s, e)| *e > from && *s < to).map(|(s, e)| OpenInterval::new(s.max(from), e.min(to))).collect()
    }

    /// Whether the facility is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        !self.intervals(at, at + Duration::seconds(1)).is_empty()
    }

    /// The next instant after `at` at which open turns to closed or back, looking at most
    /// `horizon_days` ahead.
    pub fn next_change(&self, at: DateTime<Utc>, horizon_days: i64) -> Option<DateTime<Utc>> {
        let mut window = 8.min(horizon_days.max(1));
        loop {
            let to = at + Duration::days(window);
            let list = self.intervals(at - Duration::days(2), to);
            let change = list.iter().find_map(|i| {
                if i.start > at {
                    Some(i.start)
                } else if i.end > at {
                    Some(i.end)
                } else {
                    None
                }
            });
            // An end at the window's edge is the window, not a change.
            match change {
                Some(c) if c < to => return Some(c),
                _ if window >= horizon_days => return None,
                _ => window = (window * 8).min(horizon_days),
            }
        }
    }
}

/// A schedule compiled for fast `is_open`: its intervals over a window as sorted seconds,
/// searched by bisection; instants outside the window fall back to the full evaluation.
#[derive(Debug, Clone)]
pub struct CompiledHours {
    from: i64,
    to: i64,
    starts: Vec<i64>,
    ends: Vec<i64>,
    hours: OpeningHours,
}

impl CompiledHours {
    /// Compiles `hours` for [from, to).
    pub fn new(hours: &OpeningHours, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let list = hours.intervals(from, to);
        CompiledHours {
            from: from.timestamp(),
            to: to.min(from + Duration::days(MAX_WINDOW_DAYS)).timestamp(),
            starts: list.iter().map(|i| i.start.timestamp()).collect(),
            ends: list.iter().map(|i| i.end.timestamp()).collect(),
            hours: hours.clone(),
        }
    }

    /// Whether open at `at` (to the second).
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let t = at.timestamp();
        if t < self.from || t >= self.to {
            return self.hours.is_open(at);
        }
        let i = self.starts.partition_point(|s| *s <= t);
        i > 0 && t < self.ends[i - 1]
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // tests build schedules day by day
mod tests {
    use super::*;
    use crate::hours::model::*;

    fn t(s: &str) -> HhMm {
        HhMm::parse(s).unwrap()
    }
    fn span(a: &str, b: &str) -> TimeSpan {
        TimeSpan::day(t(a), t(b))
    }
    fn cross(a: &str, b: &str) -> TimeSpan {
        TimeSpan { opens: t(a), closes: t(b), crosses_midnight: true }
    }
    fn all_year(weekly: Weekly) -> Period {
        Period {
            name: "Året runt".into(),
            from: MonthDay::parse("01-01").unwrap(),
            to: MonthDay::parse("12-31").unwrap(),
            priority: 0,
            weekly,
        }
    }
    fn every_day(spans: Vec<TimeSpan>) -> Weekly {
        let mut w = Weekly::default();
        for d in 0..7 {
            *w.day_mut(d) = spans.clone();
        }
        w
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn day_window(date: &str) -> (DateTime<Utc>, DateTime<Utc>) {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        (local_instant(d, 0), local_instant(d + Duration::days(1), 0))
    }

    /// (spring-forward Sunday, autumn Sunday) of 2025–2027.
    const DST: [(&str, &str); 3] = [("2025-03-30", "2025-10-26"), ("2026-03-29", "2026-10-25"), ("2027-03-28", "2027-10-31")];

    #[test]
    fn dst_nights_have_the_length_the_clock_says() {
        let h = OpeningHours { periods: vec![all_year(every_day(vec![span("01:00", "04:00")]))], ..Default::default() };
        for (spring, autumn) in DST {
            let (f, to) = day_window(spring);
            let i = h.intervals(f, to);
            assert_eq!(i.len(), 1, "{spring}");
            assert_eq!(i[0].end - i[0].start, Duration::hours(2), "{spring}: 01:00–04:00 is two hours when 02:00 becomes 03:00");
            assert_eq!(i[0].start_local.to_rfc3339(), format!("{spring}T01:00:00+01:00"));
            assert_eq!(i[0].end_local.to_rfc3339(), format!("{spring}T04:00:00+02:00"));
            let (f, to) = day_window(autumn);
            let i = h.intervals(f, to);
            // 03:00 summer time becomes 02:00 winter time, so 01:00–04:00 by the wall clock lasts
            // four real hours (the "3 hours" has the direction of the change backwards).
            assert_eq!(i[0].end - i[0].start, Duration::hours(4), "{autumn}: four hours when 03:00 becomes 02:00");
            assert_eq!(i[0].start_local.to_rfc3339(), format!("{autumn}T01:00:00+02:00"));
            assert_eq!(i[0].end_local.to_rfc3339(), format!("{autumn}T04:00:00+01:00"));
        }
    }

    #[test]
    fn times_inside_the_repeated_and_skipped_hours_are_unambiguous() {
        let h = OpeningHours { periods: vec![all_year(every_day(vec![span("02:30", "05:00")]))], ..Default::default() };
        // Autumn: 02:30 happens twice; it means the first time (summer time, +02:00).
        let (f, to) = day_window("2026-10-25");
        let i = h.intervals(f, to)[0];
        assert_eq!(i.start, utc("2026-10-25T00:30:00Z"));
        assert_eq!(i.start_local.to_rfc3339(), "2026-10-25T02:30:00+02:00");
        assert_eq!(i.end - i.start, Duration::minutes(210));
        // Spring: 02:30 does not happen; the span opens at 03:30 summer time.
        let (f, to) = day_window("2026-03-29");
        let i = h.intervals(f, to)[0];
        assert_eq!(i.start_local.to_rfc3339(), "2026-03-29T03:30:00+02:00");
        assert_eq!(i.end - i.start, Duration::minutes(90));
        assert!(h.is_open(utc("2026-10-25T01:15:00Z")), "02:15 winter time, the second pass, is inside 02:30(first)–05:00");
        assert!(!h.is_open(utc("2026-10-25T00:15:00Z")), "02:15 summer time is before the opening");
    }

    #[test]
    fn spans_crossing_midnight_and_merging() {
        let mut w = Weekly::default();
        w.friday = vec![span("18:00", "20:00"), cross("22:00", "02:00")];
        w.saturday = vec![span("02:00", "04:00")];
        let h = OpeningHours { periods: vec![all_year(w)], ..Default::default() };
        let i = h.intervals(utc("2026-11-27T00:00:00Z"), utc("2026-11-30T00:00:00Z"));
        let spans: Vec<(String, String)> = i.iter().map(|i| (i.start_local.to_rfc3339(), i.end_local.to_rfc3339())).collect();
        assert_eq!(
            spans,
            vec![
                ("2026-11-27T18:00:00+01:00".into(), "2026-11-27T20:00:00+01:00".into()),
                ("2026-11-27T22:00:00+01:00".into(), "2026-11-28T04:00:00+01:00".into()),
            ],
            "Friday night runs into Saturday and merges with Saturday's 02:00–04:00"
        );
        assert!(h.is_open(utc("2026-11-28T00:30:00Z")));
        assert!(!h.is_open(utc("2026-11-28T03:00:00Z")));
        assert_eq!(h.next_change(utc("2026-11-27T19:00:00Z"), 30), Some(utc("2026-11-27T21:00:00Z")));
        assert_eq!(h.next_change(utc("2026-11-27T23:00:00Z"), 30), Some(utc("2026-11-28T03:00:00Z")));
        // Across the spring-forward night the crossing span is an hour shorter.
        let mut w = Weekly::default();
        w.saturday = vec![cross("22:00", "04:00")];
        let h = OpeningHours { periods: vec![all_year(w)], ..Default::default() };
        let i = h.intervals(utc("2026-03-28T00:00:00Z"), utc("2026-03-30T00:00:00Z"));
        assert_eq!(i[0].end - i[0].start, Duration::hours(5));
    }

    #[test]
    fn a_period_boundary_inside_a_week() {
        let winter = Period {
            name: "Vinter".into(),
            from: MonthDay::parse("08-20").unwrap(),
            to: MonthDay::parse("05-15").unwrap(),
            priority: 0,
            weekly: every_day(vec![span("08:00", "20:00")]),
        };
        let summer = Period {
            name: "Sommar".into(),
            from: MonthDay::parse("05-16").unwrap(),
            to: MonthDay::parse("08-19").unwrap(),
            priority: 0,
            weekly: every_day(vec![span("10:00", "16:00")]),
        };
        let h = OpeningHours { periods: vec![winter, summer], ..Default::default() };
        // 2026-05-15 is a Friday: winter hours; Saturday 16 May: summer hours.
        let (spans, src) = h.day(NaiveDate::from_ymd_opt(2026, 5, 15).unwrap());
        assert_eq!((spans[0].opens, src), (t("08:00"), DaySource::Period { name: "Vinter".into() }));
        let (spans, src) = h.day(NaiveDate::from_ymd_opt(2026, 5, 16).unwrap());
        assert_eq!((spans[0].opens, src), (t("10:00"), DaySource::Period { name: "Sommar".into() }));
        let i = h.intervals(utc("2026-05-14T22:00:00Z"), utc("2026-05-16T22:00:00Z"));
        assert_eq!(i.len(), 2);
        assert_eq!(i[1].start_local.to_rfc3339(), "2026-05-16T10:00:00+02:00");
        // Priority: an overlapping higher-priority period wins.
        let mut h2 = h.clone();
        h2.periods.push(Period {
            name: "Renovering".into(),
            from: MonthDay::parse("05-16").unwrap(),
            to: MonthDay::parse("05-31").unwrap(),
            priority: 10,
            weekly: Weekly::default(),
        });
        assert!(h2.intervals(utc("2026-05-16T00:00:00Z"), utc("2026-05-31T00:00:00Z")).is_empty());
    }

    #[test]
    fn holidays_eves_and_exceptions_take_precedence() {
        let mut h = OpeningHours { periods: vec![all_year(every_day(vec![span("09:00", "17:00")]))], ..Default::default() };
        h.holidays.public_holidays = HolidayRule { mode: HolidayMode::Closed, spans: vec![] };
        h.holidays.eves = HolidayRule { mode: HolidayMode::Hours, spans: vec![span("10:00", "13:00")] };
        h.exceptions.push(DateException {
            date: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            spans: vec![span("12:00", "14:00")],
            reason: "Juldagsbad".into(),
        });
        let on = |d: &str| {
            let (f, to) = day_window(d);
            h.intervals(f, to)
                .iter()
                .map(|i| (i.start_local.format("%H:%M").to_string(), i.end_local.format("%H:%M").to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(on("2026-12-23"), vec![("09:00".into(), "17:00".into())]);
        assert_eq!(on("2026-12-24"), vec![("10:00".into(), "13:00".into())], "julafton: eve hours");
        assert_eq!(on("2026-12-25"), vec![("12:00".into(), "14:00".into())], "the exception beats the holiday");
        assert_eq!(on("2026-12-26"), vec![], "annandag jul: closed");
        assert_eq!(on("2026-06-19"), vec![("10:00".into(), "13:00".into())], "midsommarafton");
        assert_eq!(on("2026-06-20"), vec![], "midsommardagen");
        let (_, src) = h.day(NaiveDate::from_ymd_opt(2026, 12, 26).unwrap());
        assert_eq!(src, DaySource::Holiday { id: "boxing_day".into(), name_sv: "Annandag jul".into() });
    }

    #[test]
    fn compiled_schedules_answer_like_the_evaluator() {
        let mut w = every_day(vec![span("07:00", "12:00"), span("13:00", "22:00")]);
        w.friday = vec![span("07:00", "12:00"), cross("13:00", "02:00")];
        let mut h = OpeningHours { periods: vec![all_year(w)], ..Default::default() };
        h.holidays.public_holidays = HolidayRule { mode: HolidayMode::Closed, spans: vec![] };
        let from = utc("2026-01-01T00:00:00Z");
        let c = CompiledHours::new(&h, from, from + Duration::days(400));
        let mut t = from - Duration::days(3);
        while t < from + Duration::days(410) {
            assert_eq!(c.is_open(t), h.is_open(t), "{t}");
            t += Duration::minutes(37);
        }
    }

    #[test]
    fn always_open_and_never_open() {
        let h = OpeningHours { periods: vec![all_year(every_day(vec![span("00:00", "24:00")]))], ..Default::default() };
        let i = h.intervals(utc("2026-01-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"));
        assert_eq!(i.len(), 1, "24/7 merges into one interval");
        assert_eq!(h.next_change(utc("2026-06-01T00:00:00Z"), 400), None);
        let closed = OpeningHours::default();
        assert!(closed.intervals(utc("2026-01-01T00:00:00Z"), utc("2026-12-31T00:00:00Z")).is_empty());
        assert!(!closed.is_open(utc("2026-06-01T12:00:00Z")));
        assert_eq!(closed.next_change(utc("2026-06-01T00:00:00Z"), 400), None);
    }

    #[test]
    fn next_change_finds_far_openings() {
        let season = Period {
            name: "Sommar".into(),
            from: MonthDay::parse("06-15").unwrap(),
            to: MonthDay::parse("08-15").unwrap(),
            priority: 0,
            weekly: every_day(vec![span("10:00", "18:00")]),
        };
        let h = OpeningHours { periods: vec![season], ..Default::default() };
        assert_eq!(h.next_change(utc("2026-01-10T12:00:00Z"), 400), Some(utc("2026-06-15T08:00:00Z")));
        assert_eq!(h.next_change(utc("2026-01-10T12:00:00Z"), 30), None);
    }
}
