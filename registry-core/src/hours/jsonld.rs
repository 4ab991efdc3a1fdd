//! schema.org `OpeningHoursSpecification` export (JSON-LD), for search engines and apps.
//!
//! schema.org has no recurring seasons or holiday rules, so the export covers a window of
//! dates: each period's weekly hours with the `validFrom`/`validThrough` of its occurrences in
//! the window, and every exception, holiday and eve in the window as a dated specification
//! (closed days as opens = closes = 00:00, the schema.org convention).

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};

use super::model::{OpeningHours, TimeSpan, WEEKDAYS};

fn day_uri(i: usize) -> String {
    let name = WEEKDAYS[i];
    format!("https://schema.org/{}{}", name[..1].to_uppercase(), &name[1..])
}

fn spec(days: Option<Vec<String>>, s: Option<&TimeSpan>, from: NaiveDate, through: NaiveDate) -> Value {
    let (opens, closes) = match s {
        Some(s) => (s.opens.to_string(), if s.closes.0 == 1440 { "23:59".to_string() } else { s.closes.to_string() }),
        None => ("00:00".into(), "00:00".into()),
    };
    let mut v = json!({
        "@type": "OpeningHoursSpecification",
        "opens": opens,
        "closes": closes,
        "validFrom": from.to_string(),
        "validThrough": through.to_string(),
    });
    if let Some(days) = days {
        v["dayOfWeek"] = json!(days);
    }
    v
}

/// The specifications for [from, from + days).
pub fn opening_hours_specification(h: &OpeningHours, from: NaiveDate, days: i64) -> Value {
    let to = from + Duration::days(days - 1);
    let mut specs = Vec::new();
    // Runs of consecutive dates governed by the same period.
    let mut date = from;
    while date <= to {
        let period = h.periods.iter().enumerate().filter(|(_, p)| p.covers(date)).max_by_key(|(i, p)| (p.priority, *i)).map(|(i, _)| i);
        let start = date;
        while date + Duration::days(1) <= to && {
            let next = date + Duration::days(1);
            h.periods.iter().enumerate().filter(|(_, p)| p.covers(next)).max_by_key(|(i, p)| (p.priority, *i)).map(|(i, _)| i) == period
        } {
            date += Duration::days(1);
        }
        if let Some(i) = period {
            let p = &h.periods[i];
            for d in 0..7 {
                for s in p.weekly.day(d) {
                    specs.push(spec(Some(vec![day_uri(d)]), Some(s), start, date));
                }
            }
        }
        date += Duration::days(1);
    }
    // Dated days that differ from the weekly rules: exceptions, holidays and eves.
    let mut date = from;
    while date <= to {
        let (spans, source) = h.day(date);
        if !matches!(source, super::DaySource::Period { .. } | super::DaySource::Closed) {
            if spans.is_empty() {
                specs.push(spec(None, None, date, date));
            }
            for s in &spans {
                specs.push(spec(None, Some(s), date, date));
            }
        }
        date += Duration::days(1);
    }
    json!({ "@context": "https://schema.org", "@type": "Place", "openingHoursSpecification": specs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::osm;

    #[test]
    fn weekly_hours_and_dated_closures() {
        let h = osm::parse("Mo-Fr 08:00-17:00; PH off").unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
        let v = opening_hours_specification(&h, from, 14);
        let specs = v["openingHoursSpecification"].as_array().unwrap();
        let monday: Vec<_> = specs.iter().filter(|s| s["dayOfWeek"] == json!(["https://schema.org/Monday"])).collect();
        assert_eq!(monday.len(), 1);
        assert_eq!((monday[0]["opens"].as_str(), monday[0]["closes"].as_str()), (Some("08:00"), Some("17:00")));
        assert_eq!(monday[0]["validFrom"], "2026-12-20");
        let closed: Vec<&str> =
            specs.iter().filter(|s| s["opens"] == "00:00" && s["closes"] == "00:00").map(|s| s["validFrom"].as_str().unwrap()).collect();
        assert_eq!(closed, ["2026-12-25", "2026-12-26", "2027-01-01"], "juldagen, annandag jul, nyårsdagen");
        assert_eq!(v["@context"], "https://schema.org");
    }
}
