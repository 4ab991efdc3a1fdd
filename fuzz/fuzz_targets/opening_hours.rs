//! The OSM `opening_hours` parser (`registry_core::hours::osm::parse`), which reads what
//! editors send as `text/plain` to PUT …/opening-hours and what imports bring from OSM.
//!
//! Properties: it never panics; an error's position lies within the string; a string it accepts
//! is a valid schedule, and exporting it gives a string that parses back to the same hours
//! (the same schedule, or the same open intervals over two years) and exports to itself again.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use registry_core::hours::OpeningHours;
use registry_core::hours::osm;

/// Fixed years for the påskafton rules, so that a run does not depend on today's date.
const YEARS: std::ops::RangeInclusive<i32> = 2025..=2036;

fn intervals(h: &OpeningHours) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("a fixed instant").with_timezone(&Utc);
    h.intervals(at("2026-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z")).into_iter().map(|i| (i.start, i.end)).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let h = match osm::parse(s) {
        Ok(h) => h,
        Err(e) => {
            assert!(e.position <= s.chars().count(), "{s:?}: error position {} is past the end: {e}", e.position);
            return;
        }
    };
    assert_eq!(h.validate().as_ref().ok(), Some(&h), "{s:?}: the parser returned a schedule that does not validate");
    let out = osm::export_with_years(&h, YEARS);
    let back = osm::parse(&out).unwrap_or_else(|e| panic!("{s:?} exports as {out:?}, which does not parse: {e}"));
    if back != h {
        assert_eq!(intervals(&back), intervals(&h), "{s:?} exports as {out:?}, which reads back as other hours");
    }
    assert_eq!(osm::export_with_years(&back, YEARS), out, "{s:?}: export is not stable");
});
