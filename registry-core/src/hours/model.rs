//! The opening-hours model and its validation.

use chrono::{Datelike, NaiveDate};

use crate::error::Result;
use crate::validate::Violations;

/// A time of day in minutes after midnight, 0–1440, written `HH:MM` (`24:00` = end of day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HhMm(pub u16);

impl HhMm {
    /// Hours and minutes.
    pub fn new(h: u16, m: u16) -> Option<Self> {
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(HhMm(h * 60 + m))
    }

    /// Parses `H:MM` or `HH:MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (h, m) = s.split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        HhMm::new(h.parse().ok()?, m.parse().ok()?)
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for HhMm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl serde::Serialize for HhMm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HhMm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HhMm::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a time of day HH:MM between 00:00 and 24:00")))
    }
}

/// A recurring day of the year, written `MM-DD` (e.g. `08-20`); `02-29` is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    /// Month, 1–12.
    pub month: u8,
    /// Day of month.
    pub day: u8,
}

impl MonthDay {
    /// A valid month and day (in a leap year).
    pub fn new(month: u8, day: u8) -> Option<Self> {
        NaiveDate::from_ymd_opt(2024, u32::from(month), u32::from(day)).map(|_| MonthDay { month, day })
    }

    /// Parses `MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let (m, d) = s.split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        MonthDay::new(m.parse().ok()?, d.parse().ok()?)
    }

    /// The month-day of a date.
    pub fn of(date: NaiveDate) -> Self {
        MonthDay { month: date.month() as u8, day: date.day() as u8 }
    }
}

impl std::fmt::Display for MonthDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl serde::Serialize for MonthDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MonthDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MonthDay::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a day of the year MM-DD")))
    }
}

/// One opening interval of a day, local time. If `crossesMidnight`, it closes on the next day
/// (and `closes` must not be later than `opens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeSpan {
    /// Opening time, `HH:MM`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub opens: HhMm,
    /// Closing time, `HH:MM` (`24:00` for midnight).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    pub closes: HhMm,
    /// The span ends on the next day (e.g. 22:00–02:00).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crosses_midnight: bool,
}

impl TimeSpan {
    /// A span within one day.
    pub fn day(opens: HhMm, closes: HhMm) -> Self {
        TimeSpan { opens, closes, crosses_midnight: false }
    }

    /// Start and end in minutes after the start of the span's own day (end may exceed 1440).
    pub fn minutes(self) -> (u32, u32) {
        let end = u32::from(self.closes.0) + if self.crosses_midnight { 1440 } else { 0 };
        (u32::from(self.opens.0), end)
    }
}

/// The spans of each weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weekly {
    /// Monday.
    #[serde(default)]
    pub monday: Vec<TimeSpan>,
    /// Tuesday.
    #[serde(default)]
    pub tuesday: Vec<TimeSpan>,
    /// Wednesday.
    #[serde(default)]
    pub wednesday: Vec<TimeSpan>,
    /// Thursday.
    #[serde(default)]
    pub thursday: Vec<TimeSpan>,
    /// Friday.
    #[serde(default)]
    pub friday: Vec<TimeSpan>,
    /// Saturday.
    #[serde(default)]
    pub saturday: Vec<TimeSpan>,
    /// Sunday.
    #[serde(default)]
    pub sunday: Vec<TimeSpan>,
}

/// Weekday field names, Monday first.
pub const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

impl Weekly {
    /// Spans of a weekday (0 = Monday).
    pub fn day(&self, i: usize) -> &[TimeSpan] {
        match i {
            0 => &self.monday,
            1 => &self.tuesday,
            2 => &self.wednesday,
            3 => &self.thursday,
            4 => &self.friday,
            5 => &self.saturday,
            _ => &self.sunday,
        }
    }

    /// Mutable spans of a weekday (0 = Monday).
    pub fn day_mut(&mut self, i: usize) -> &mut Vec<TimeSpan> {
        match i {
            0 => &mut self.monday,
            1 => &mut self.tuesday,
            2 => &mut self.wednesday,
            3 => &mut self.thursday,
            4 => &mut self.friday,
            5 => &mut self.saturday,
            _ => &mut self.sunday,
        }
    }
}

/// A named, recurring date range with its weekly rules.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    /// Name, e.g. `Vintersäsong` or `Sommar`.
    pub name: String,
    /// First day, `MM-DD`, every year.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[01][0-9]-[0-3][0-9]$"))]
    pub from: MonthDay,
    /// Last day (inclusive), `MM-DD`; earlier than `from` means the period spans the new year.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[01][0-9]-[0-3][0-9]$"))]
    pub to: MonthDay,
    /// Where periods overlap, the higher priority wins (and on a tie, the later period).
    #[serde(default)]
    pub priority: i32,
    /// Spans per weekday; a weekday without spans is closed.
    #[serde(default)]
    pub weekly: Weekly,
}

impl Period {
    /// Whether the period covers `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        let md = MonthDay::of(date);
        if self.from <= self.to { self.from <= md && md <= self.to } else { md >= self.from || md <= self.to }
    }
}

/// Hours for one date that replace the usual ones: closed, or special spans.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DateException {
    /// The date.
    pub date: NaiveDate,
    /// Spans of that date; empty means closed.
    #[serde(default)]
    pub spans: Vec<TimeSpan>,
    /// Why, e.g. `Skolavslutning` or `Renovering`.
    #[serde(default)]
    pub reason: String,
}

/// What a holiday does to the hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HolidayMode {
    /// The usual hours of that weekday apply.
    #[default]
    Normal,
    /// Closed all day.
    Closed,
    /// The `spans` given apply instead.
    Hours,
}

/// The rule for one kind of holiday.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolidayRule {
    /// Normal hours, closed, or the given spans.
    #[serde(default)]
    pub mode: HolidayMode,
    /// Spans for mode `HOURS`.
    #[serde(default)]
    pub spans: Vec<TimeSpan>,
}

/// How public holidays and eves are handled (dates from [`crate::calendar`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolidayPolicy {
    /// Public holidays (allmänna helgdagar).
    #[serde(default)]
    pub public_holidays: HolidayRule,
    /// Midsommarafton, julafton, nyårsafton and påskafton.
    #[serde(default)]
    pub eves: HolidayRule,
}

/// A complete opening-hours schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpeningHours {
    /// Periods with weekly rules.
    #[serde(default)]
    pub periods: Vec<Period>,
    /// Date exceptions.
    #[serde(default)]
    pub exceptions: Vec<DateException>,
    /// Holiday policy.
    #[serde(default)]
    pub holidays: HolidayPolicy,
}

/// Limits of a schedule.
pub mod limits {
    /// Periods per schedule.
    pub const PERIODS: usize = 20;
    /// Spans per day.
    pub const SPANS_PER_DAY: usize = 10;
    /// Exceptions per schedule.
    pub const EXCEPTIONS: usize = 500;
}

/// Checks the spans of one day: each well formed, at most [`limits::SPANS_PER_DAY`], no overlaps.
fn check_spans(v: &mut Violations, field: &str, spans: &[TimeSpan]) {
    if spans.len() > limits::SPANS_PER_DAY {
        v.add(field, "max_items", format!("must have at most {} spans", limits::SPANS_PER_DAY));
    }
    for (i, s) in spans.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if s.opens.0 == 1440 {
            v.add(format!("{f}.opens"), "out_of_range", "cannot open at 24:00; use 00:00 of the next day");
        } else if !s.crosses_midnight && s.opens >= s.closes {
            v.add(
                format!("{f}.closes"),
                "order",
                format!("closes ({}) must be after opens ({}); set crossesMidnight for spans that end on the next day", s.closes, s.opens),
            );
        } else if s.crosses_midnight && (s.closes > s.opens || s.closes.0 == 1440) {
            v.add(
                format!("{f}.closes"),
                "order",
                format!("a span crossing midnight must close ({}) no later than it opened ({})", s.closes, s.opens),
            );
        }
    }
    let mut sorted: Vec<(usize, (u32, u32))> = spans.iter().map(|s| s.minutes()).enumerate().collect();
    sorted.sort_by_key(|(_, m)| *m);
    for w in sorted.windows(2) {
        if w[1].1.0 < w[0].1.1 {
            v.add(format!("{field}[{}]", w[1].0), "overlap", format!("overlaps {field}[{}]", w[0].0));
        }
    }
}

/// Spans of a day that cross midnight must not overlap the next day's spans.
fn check_spill(v: &mut Violations, field_next: &str, today: &[TimeSpan], next: &[TimeSpan]) {
    let spill = today.iter().filter(|s| s.crosses_midnight).map(|s| u32::from(s.closes.0)).max().unwrap_or(0);
    for (i, s) in next.iter().enumerate() {
        if u32::from(s.opens.0) < spill {
            v.add(format!("{field_next}[{i}]"), "overlap", "overlaps the previous day's span that crosses midnight");
        }
    }
}

fn check_holiday_rule(v: &mut Violations, field: &str, r: &HolidayRule) {
    match r.mode {
        HolidayMode::Hours if r.spans.is_empty() => v.add(format!("{field}.spans"), "required", "mode HOURS needs at least one span"),
        HolidayMode::Normal | HolidayMode::Closed if !r.spans.is_empty() => {
            v.add(format!("{field}.spans"), "not_allowed", "spans are only used with mode HOURS")
        }
        _ => {}
    }
    check_spans(v, &format!("{field}.spans"), &r.spans);
}

impl OpeningHours {
    /// Checks the whole schedule; returns it normalised (names trimmed, exceptions by date) or every violation.
    pub fn validate(&self) -> Result<OpeningHours> {
        let mut v = Violations::default();
        let mut out = self.clone();
        if self.periods.len() > limits::PERIODS {
            v.add("periods", "max_items", format!("must have at most {} periods", limits::PERIODS));
        }
        for (i, p) in self.periods.iter().enumerate() {
            let f = format!("periods[{i}]");
            out.periods[i].name = v.required_text(&format!("{f}.name"), &p.name, 100);
            if !(-1000..=1000).contains(&p.priority) {
                v.add(format!("{f}.priority"), "out_of_range", "must be between -1000 and 1000");
            }
            for (d, day) in WEEKDAYS.iter().enumerate() {
                check_spans(&mut v, &format!("{f}.weekly.{day}"), p.weekly.day(d));
                check_spill(&mut v, &format!("{f}.weekly.{}", WEEKDAYS[(d + 1) % 7]), p.weekly.day(d), p.weekly.day((d + 1) % 7));
            }
        }
        if self.exceptions.len() > limits::EXCEPTIONS {
            v.add("exceptions", "max_items", format!("must have at most {} exceptions", limits::EXCEPTIONS));
        }
        let mut dates = std::collections::HashSet::with_capacity(self.exceptions.len());
        for (i, e) in self.exceptions.iter().enumerate() {
            let f = format!("exceptions[{i}]");
            if !dates.insert(e.date) {
                v.add(format!("{f}.date"), "duplicate", format!("{} has more than one exception", e.date));
            }
            if !crate::calendar::YEARS.contains(&e.date.year()) {
                v.add(format!("{f}.date"), "out_of_range", "must be between 1900 and 2200");
            }
            out.exceptions[i].reason = v.optional_text(&format!("{f}.reason"), &e.reason, 200);
            check_spans(&mut v, &format!("{f}.spans"), &e.spans);
        }
        out.exceptions.sort_by_key(|e| e.date);
        check_holiday_rule(&mut v, "holidays.publicHolidays", &self.holidays.public_holidays);
        check_holiday_rule(&mut v, "holidays.eves", &self.holidays.eves);
        v.finish().map(|()| out)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // tests build schedules day by day
mod tests {
    use super::*;
    use crate::Error;

    fn t(s: &str) -> HhMm {
        HhMm::parse(s).unwrap()
    }

    fn span(a: &str, b: &str) -> TimeSpan {
        TimeSpan::day(t(a), t(b))
    }

    fn rules(h: &OpeningHours) -> Vec<(String, &'static str)> {
        match h.validate() {
            Ok(_) => vec![],
            Err(Error::Invalid(v)) => v.into_iter().map(|x| (x.field, x.rule)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn times_and_days_parse_strictly() {
        assert_eq!(t("7:30").0, 450);
        assert_eq!(t("24:00").0, 1440);
        for bad in ["24:01", "25:00", "12:60", "1230", "12:5", ":30", "ab:cd", ""] {
            assert!(HhMm::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(MonthDay::parse("02-29"), Some(MonthDay { month: 2, day: 29 }));
        for bad in ["02-30", "13-01", "8-20", "08/20"] {
            assert!(MonthDay::parse(bad).is_none(), "{bad}");
        }
        let json = serde_json::to_string(&span("08:00", "24:00")).unwrap();
        assert_eq!(json, r#"{"opens":"08:00","closes":"24:00"}"#);
    }

    #[test]
    fn periods_cover_dates_across_the_new_year() {
        let winter = Period {
            name: "Vinter".into(),
            from: MonthDay::parse("08-20").unwrap(),
            to: MonthDay::parse("05-15").unwrap(),
            priority: 0,
            weekly: Weekly::default(),
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(winter.covers(d("2026-08-20")) && winter.covers(d("2026-12-31")) && winter.covers(d("2027-05-15")));
        assert!(!winter.covers(d("2026-08-19")) && !winter.covers(d("2026-05-16")) && !winter.covers(d("2026-07-01")));
    }

    #[test]
    fn validation_names_field_and_rule() {
        let mut h = OpeningHours::default();
        let mut week = Weekly::default();
        week.monday = vec![span("08:00", "12:00"), span("11:00", "13:00")];
        week.tuesday = vec![span("12:00", "08:00")];
        week.wednesday = vec![TimeSpan { opens: t("08:00"), closes: t("09:00"), crosses_midnight: true }];
        week.friday = vec![TimeSpan { opens: t("22:00"), closes: t("02:00"), crosses_midnight: true }];
        week.saturday = vec![span("01:00", "05:00")];
        week.sunday = vec![span("24:00", "24:00")];
        h.periods.push(Period {
            name: " ".into(),
            from: MonthDay::parse("01-01").unwrap(),
            to: MonthDay::parse("12-31").unwrap(),
            priority: 5000,
            weekly: week,
        });
        let date = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        h.exceptions = vec![
            DateException { date, spans: vec![], reason: String::new() },
            DateException { date, spans: vec![], reason: "x".repeat(201) },
        ];
        h.holidays.public_holidays = HolidayRule { mode: HolidayMode::Hours, spans: vec![] };
        h.holidays.eves = HolidayRule { mode: HolidayMode::Closed, spans: vec![span("10:00", "12:00")] };
        let got = rules(&h);
        for expected in [
            ("periods[0].name", "required"),
            ("periods[0].priority", "out_of_range"),
            ("periods[0].weekly.monday[1]", "overlap"),
            ("periods[0].weekly.tuesday[0].closes", "order"),
            ("periods[0].weekly.wednesday[0].closes", "order"),
            ("periods[0].weekly.saturday[0]", "overlap"),
            ("periods[0].weekly.sunday[0].opens", "out_of_range"),
            ("exceptions[1].date", "duplicate"),
            ("exceptions[1].reason", "max_length"),
            ("holidays.publicHolidays.spans", "required"),
            ("holidays.eves.spans", "not_allowed"),
        ] {
            assert!(got.contains(&(expected.0.to_string(), expected.1)), "{expected:?} not in {got:?}");
        }
    }

    /// Found with the fuzz target `opening_hours` run on long inputs: every exception was
    /// compared with every one before it, so a string or JSON body at the API's 1 MiB limit
    /// with tens of thousands of exceptions took minutes to refuse. Duplicates are now found
    /// with a set; `make bench` (`hours/long_inputs`) measures the time against a hundredth as
    /// many exceptions in the same run; here, that every rule broken is named.
    #[test]
    fn many_exceptions_are_refused_naming_each_rule() {
        let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let mut h = OpeningHours::default();
        h.exceptions =
            (0..80_000).map(|i| DateException { date: first + chrono::Duration::days(i), spans: vec![], reason: String::new() }).collect();
        h.exceptions.push(h.exceptions[7].clone());
        let got = rules(&h);
        assert!(got.contains(&("exceptions".into(), "max_items")), "{:?}", &got[..3]);
        assert!(got.contains(&("exceptions[80000].date".into(), "duplicate")));
    }

    #[test]
    fn a_valid_schedule_passes() {
        let mut week = Weekly::default();
        week.monday = vec![span("06:00", "08:00"), span("16:00", "22:00")];
        week.friday = vec![TimeSpan { opens: t("18:00"), closes: t("02:00"), crosses_midnight: true }];
        week.saturday = vec![span("10:00", "24:00")];
        let h = OpeningHours {
            periods: vec![Period {
                name: "Året runt".into(),
                from: MonthDay::parse("01-01").unwrap(),
                to: MonthDay::parse("12-31").unwrap(),
                priority: 0,
                weekly: week,
            }],
            exceptions: vec![],
            holidays: HolidayPolicy {
                public_holidays: HolidayRule { mode: HolidayMode::Closed, spans: vec![] },
                eves: HolidayRule::default(),
            },
        };
        assert_eq!(rules(&h), vec![]);
    }
}
