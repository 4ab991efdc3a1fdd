//! The Swedish calendar: public holidays (allmänna helgdagar, Lag (1989:253)) computed for any
//! year 1900–2200, and the eves (aftnar) that facilities treat as holidays.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Years for which holidays are computed.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// Whether a day is a public holiday or an eve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HolidayKind {
    /// A public holiday (allmän helgdag).
    PublicHoliday,
    /// An eve (afton) that facilities commonly treat as a holiday; not a public holiday in law.
    Eve,
}

/// One holiday of one year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Holiday {
    /// The date.
    pub date: NaiveDate,
    /// Stable identifier, e.g. `midsummer_day`.
    pub id: &'static str,
    /// Swedish name, e.g. `Midsommardagen`.
    pub name_sv: &'static str,
    /// English name, e.g. `Midsummer Day`.
    pub name_en: &'static str,
    /// Public holiday or eve.
    pub kind: HolidayKind,
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("the algorithm yields a valid date")
}

/// The first `weekday` on or after `date`.
fn on_or_after(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(ahead))
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("fixed holiday dates exist")
}

/// All holidays and eves of `year`, ordered by date; `None` outside [`YEARS`].
pub fn holidays(year: i32) -> Option<Vec<Holiday>> {
    if !YEARS.contains(&year) {
        return None;
    }
    use HolidayKind::{Eve, PublicHoliday as Ph};
    let e = easter(year);
    let midsummer_day = on_or_after(ymd(year, 6, 20), Weekday::Sat);
    let all_saints = on_or_after(ymd(year, 10, 31), Weekday::Sat);
    let mut list = vec![
        (ymd(year, 1, 1), "new_years_day", "Nyårsdagen", "New Year's Day", Ph),
        (ymd(year, 1, 6), "epiphany", "Trettondedag jul", "Epiphany", Ph),
        (e - Duration::days(2), "good_friday", "Långfredagen", "Good Friday", Ph),
        (e - Duration::days(1), "easter_eve", "Påskafton", "Easter Eve", Eve),
        (e, "easter_day", "Påskdagen", "Easter Day", Ph),
        (e + Duration::days(1), "easter_monday", "Annandag påsk", "Easter Monday", Ph),
        (ymd(year, 5, 1), "may_day", "Första maj", "May Day", Ph),
        (e + Duration::days(39), "ascension_day", "Kristi himmelsfärdsdag", "Ascension Day", Ph),
        (e + Duration::days(49), "whit_sunday", "Pingstdagen", "Whit Sunday", Ph),
        (midsummer_day - Duration::days(1), "midsummer_eve", "Midsommarafton", "Midsummer Eve", Eve),
        (midsummer_day, "midsummer_day", "Midsommardagen", "Midsummer Day", Ph),
        (all_saints, "all_saints_day", "Alla helgons dag", "All Saints' Day", Ph),
        (ymd(year, 12, 24), "christmas_eve", "Julafton", "Christmas Eve", Eve),
        (ymd(year, 12, 25), "christmas_day", "Juldagen", "Christmas Day", Ph),
        (ymd(year, 12, 26), "boxing_day", "Annandag jul", "Boxing Day", Ph),
        (ymd(year, 12, 31), "new_years_eve", "Nyårsafton", "New Year's Eve", Eve),
    ];
    // Sweden's National Day (6 June) has been a public holiday since 2005; Whit Monday was one until 2004.
    if year >= 2005 {
        list.push((ymd(year, 6, 6), "national_day", "Sveriges nationaldag", "National Day of Sweden", Ph));
    } else {
        list.push((e + Duration::days(50), "whit_monday", "Annandag pingst", "Whit Monday", Ph));
    }
    list.sort_by_key(|h| h.0);
    Some(list.into_iter().map(|(date, id, name_sv, name_en, kind)| Holiday { date, id, name_sv, name_en, kind }).collect())
}

/// The holiday or eve on `date`, if any (public holidays first when both fall on one day).
pub fn holiday_on(date: NaiveDate) -> Option<Holiday> {
    let all = holidays(date.year())?;
    let mut on: Vec<Holiday> = all.into_iter().filter(|h| h.date == date).collect();
    on.sort_by_key(|h| h.kind != HolidayKind::PublicHoliday);
    on.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Gauss's Easter algorithm with the Gregorian corrections: independent of `easter`.
    fn gauss_easter(y: i32) -> NaiveDate {
        let a = y % 19;
        let b = y % 4;
        let c = y % 7;
        let k = y / 100;
        let p = (13 + 8 * k) / 25;
        let q = k / 4;
        let m = (15 - p + k - q) % 30;
        let n = (4 + k - q) % 7;
        let dd = (19 * a + m) % 30;
        let e = (2 * b + 4 * c + 6 * dd + n) % 7;
        let day = 22 + dd + e;
        if dd == 29 && e == 6 {
            return ymd(y, 4, 19);
        }
        if dd == 28 && e == 6 && (11 * m + 11) % 30 < 19 {
            return ymd(y, 4, 18);
        }
        if day > 31 { ymd(y, 4, (day - 31) as u32) } else { ymd(y, 3, day as u32) }
    }

    #[test]
    fn easter_agrees_with_gauss_for_every_supported_year() {
        for y in YEARS {
            assert_eq!(easter(y), gauss_easter(y), "{y}");
            assert_eq!(easter(y).weekday(), Weekday::Sun);
        }
        // Known dates, including the extremes of the range of possible Easter days.
        for (y, e) in [
            (1913, "1913-03-23"),
            (1943, "1943-04-25"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2038, "2038-04-25"),
            (2160, "2160-03-23"),
        ] {
            assert_eq!(easter(y), d(e), "{y}");
        }
    }

    /// The official dates 2020–2030 (as published in Swedish almanacs), movable feasts in full.
    #[test]
    fn holidays_2020_to_2030_match_the_official_dates() {
        // year: (Good Friday, Easter Day, Ascension, Whit Sunday, Midsummer Day, All Saints' Day)
        let official = [
            (2020, "04-10", "04-12", "05-21", "05-31", "06-20", "10-31"),
            (2021, "04-02", "04-04", "05-13", "05-23", "06-26", "11-06"),
            (2022, "04-15", "04-17", "05-26", "06-05", "06-25", "11-05"),
            (2023, "04-07", "04-09", "05-18", "05-28", "06-24", "11-04"),
            (2024, "03-29", "03-31", "05-09", "05-19", "06-22", "11-02"),
            (2025, "04-18", "04-20", "05-29", "06-08", "06-21", "11-01"),
            (2026, "04-03", "04-05", "05-14", "05-24", "06-20", "10-31"),
            (2027, "03-26", "03-28", "05-06", "05-16", "06-26", "11-06"),
            (2028, "04-14", "04-16", "05-25", "06-04", "06-24", "11-04"),
            (2029, "03-30", "04-01", "05-10", "05-20", "06-23", "11-03"),
            (2030, "04-19", "04-21", "05-30", "06-09", "06-22", "11-02"),
        ];
        for (y, gf, ed, asc, ws, mid, ash) in official {
            let list = holidays(y).unwrap();
            let date = |id: &str| list.iter().find(|h| h.id == id).unwrap_or_else(|| panic!("{y} lacks {id}")).date;
            let md = |s: &str| d(&format!("{y}-{s}"));
            assert_eq!(date("good_friday"), md(gf), "{y}");
            assert_eq!(date("easter_eve"), md(ed) - Duration::days(1), "{y}");
            assert_eq!(date("easter_day"), md(ed), "{y}");
            assert_eq!(date("easter_monday"), md(ed) + Duration::days(1), "{y}");
            assert_eq!(date("ascension_day"), md(asc), "{y}");
            assert_eq!(date("whit_sunday"), md(ws), "{y}");
            assert_eq!(date("midsummer_day"), md(mid), "{y}");
            assert_eq!(date("midsummer_eve"), md(mid) - Duration::days(1), "{y}");
            assert_eq!(date("all_saints_day"), md(ash), "{y}");
            for (id, fixed) in [
                ("new_years_day", "01-01"),
                ("epiphany", "01-06"),
                ("may_day", "05-01"),
                ("national_day", "06-06"),
                ("christmas_eve", "12-24"),
                ("christmas_day", "12-25"),
                ("boxing_day", "12-26"),
                ("new_years_eve", "12-31"),
            ] {
                assert_eq!(date(id), md(fixed), "{y} {id}");
            }
            assert_eq!(list.iter().filter(|h| h.kind == HolidayKind::PublicHoliday).count(), 13, "{y}: 13 public holidays");
            assert_eq!(list.iter().filter(|h| h.kind == HolidayKind::Eve).count(), 4, "{y}: 4 eves");
            assert!(list.windows(2).all(|w| w[0].date <= w[1].date), "ordered by date");
        }
    }

    #[test]
    fn the_rules_hold_for_every_supported_year() {
        for y in YEARS {
            let list = holidays(y).unwrap();
            let get = |id: &str| list.iter().find(|h| h.id == id).map(|h| h.date);
            let mid = get("midsummer_day").unwrap();
            assert!(mid.weekday() == Weekday::Sat && (20..=26).contains(&mid.day()) && mid.month() == 6, "{y}");
            let ash = get("all_saints_day").unwrap();
            assert_eq!(ash.weekday(), Weekday::Sat);
            assert!((ash.month() == 10 && ash.day() == 31) || (ash.month() == 11 && ash.day() <= 6), "{y}");
            assert_eq!(get("ascension_day").unwrap().weekday(), Weekday::Thu);
            assert_eq!(get("national_day").is_some(), y >= 2005);
            assert_eq!(get("whit_monday").is_some(), y < 2005);
        }
        assert!(holidays(1899).is_none() && holidays(2201).is_none());
    }

    #[test]
    fn lookup_by_date_with_names_in_both_languages() {
        let h = holiday_on(d("2026-06-19")).unwrap();
        assert_eq!((h.id, h.name_sv, h.name_en, h.kind), ("midsummer_eve", "Midsommarafton", "Midsummer Eve", HolidayKind::Eve));
        assert_eq!(holiday_on(d("2026-04-05")).unwrap().name_sv, "Påskdagen");
        assert!(holiday_on(d("2026-06-18")).is_none());
    }
}
