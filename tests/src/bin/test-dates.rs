//! Prints the awkward "todays" that `make test-dates` runs the date-sensitive tests at, one
//! RFC 3339 instant and a label per line: the days before and on midsommarafton, julafton,
//! nyårsafton and påsk, both DST nights, 29 February and New Year's Eve at 23:30, each at its
//! next occurrence after the system's today (so the list never goes stale).
#![forbid(unsafe_code)]

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use registry_core::calendar;
use registry_core::hours::TZ;

fn main() {
    let today = registry_core::Clock::system().today();
    for (label, date, hh, mm, second_pass) in instants(today) {
        let local = date.and_hms_opt(hh, mm, 0).expect("a time of day");
        let t = match TZ.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t,
            chrono::LocalResult::Ambiguous(first, second) => {
                if second_pass {
                    second
                } else {
                    first
                }
            }
            chrono::LocalResult::None => panic!("{local} does not exist in Stockholm"),
        };
        println!("{} {label}", t.to_rfc3339());
    }
}

/// (label, local date, hour, minute, the second pass of a repeated hour).
fn instants(today: NaiveDate) -> Vec<(&'static str, NaiveDate, u32, u32, bool)> {
    let next = |id: &str| -> NaiveDate {
        (today.year()..=today.year() + 2)
            .flat_map(|y| calendar::holidays(y).unwrap_or_default())
            .find(|h| h.id == id && h.date > today)
            .map(|h| h.date)
            .unwrap_or_else(|| panic!("no {id} in the calendar's next two years"))
    };
    let day = Duration::days(1);
    let dst = |hours: i64| -> NaiveDate {
        let midnight = |d: NaiveDate| TZ.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap();
        let mut d = today + day;
        while (midnight(d + day) - midnight(d)).num_hours() != hours {
            d += day;
        }
        d
    };
    let leap = (today.year()..today.year() + 8)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 2, 29))
        .find(|d| *d > today)
        .expect("a leap day within eight years");
    let (midsummer_eve, christmas_eve, new_years_eve, easter) =
        (next("midsummer_eve"), next("christmas_eve"), next("new_years_eve"), next("easter_day"));
    vec![
        ("the day before midsommarafton", midsummer_eve - day, 12, 0, false),
        ("midsommarafton", midsummer_eve, 12, 0, false),
        ("the day before julafton", christmas_eve - day, 12, 0, false),
        ("julafton", christmas_eve, 12, 0, false),
        ("the day before nyårsafton", new_years_eve - day, 12, 0, false),
        ("nyårsafton at 23:30", new_years_eve, 23, 30, false),
        ("påskafton", easter - day, 12, 0, false),
        ("påskdagen", easter, 12, 0, false),
        ("the spring DST night at 01:30, before the clocks go forward", dst(23), 1, 30, false),
        ("the autumn DST night at 02:30, the second pass", dst(25), 2, 30, true),
        ("29 February", leap, 12, 0, false),
    ]
}
