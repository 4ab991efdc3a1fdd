//! Conformance: our OSM `opening_hours` import agrees with the reference implementation.
//!
//! A corpus of more than 300 distinct `opening_hours` strings within the subset that
//! `registry_core::hours::osm::parse` supports (Swedish libraries, sports halls, swimming pools,
//! ice rinks with seasons, outdoor pools, youth centres open past midnight, public-holiday
//! rules, date closures) is evaluated at the same few hundred instants of 2026–2027 twice:
//! by us (`osm::parse` then `OpeningHours::is_open`) and by the npm package `opening_hours`
//! (opening_hours.js, the reference the OSM wiki points to), run once over the whole corpus
//! through `tests/interop/opening_hours_oracle.js` under `TZ=Europe/Stockholm` with a
//! Stockholm location, so that `PH` means Sweden's public holidays. Every answer must agree.
//!
//! The package comes from `scripts/node-tools.sh` (into `${REGISTRY_NODE:-~/.cache/registry-node}`);
//! without it, or without `node`, this test fails rather than skips.
//!
//! What the corpus and the instants deliberately stay away from:
//! - anything outside the subset (no `||`, `week`, `easter`, `sunrise`, `SH`, `+`, years), and
//!   month ranges of different rules that partly overlap, and non-`PH` rules after a `PH` rule
//!   (checked below by [`check_subset`], so a mismatch is never blamed on an unsupported string);
//! - comments on rules that open: opening_hours.js reads `Sa 10:00-14:00 "…"` as state
//!   *unknown* (`getState` false), which our model cannot say, so comments only follow `off`;
//! - rule boundaries inside the skipped or repeated hour of a DST night (no span starts in
//!   02:00–02:59 or ends in 02:01–02:59; ending at 02:00 or 03:00 is fine);
//! - instants that hit known bugs of the reference: none inside the skipped hour (a UTC instant
//!   cannot be there anyway) and none on the Monday 00:00–00:59 local after a spring-forward
//!   Sunday. Every instant is at :15 or :45, never on a boundary.
//!
//! Semantics worth knowing when a mismatch shows up: opening_hours.js treats the part of a span
//! after midnight (`Fr 22:00-01:00`) as part of the next calendar day, so a later rule that
//! matches that day (`Sa 10:00-14:00`, `Su off`, `PH off`, `Dec 24 off`) replaces it, while a
//! later rule that closes the span's own day leaves the next morning's part standing.
//!
//! On failure the first 30 differing answers and a count per string are printed; setting
//! `OSM_CONFORMANCE_DUMP=<file>` also writes every differing answer there, one a line.
//!
//! Only the oracle's process has a time limit (against a hung interpreter); nothing measures time.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use registry_core::hours::{self, osm};
use serde_json::{Value, json};

/// Only protects against a hung `node`; nothing here measures time.
const HANG_GUARD: Duration = Duration::from_secs(600);

/// The reference implementation and the version that `scripts/node-tools.sh` installs.
const ORACLE_PACKAGE: &str = "opening_hours";
const ORACLE_VERSION: &str = "3.15.0";

const MIN_STRINGS: usize = 300;
const MIN_INSTANTS: usize = 50;
const MAX_EXAMPLES: usize = 30;

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/// Strings written out by hand, as Swedish municipalities publish them.
const HANDWRITTEN: &[&str] = &[
    // Bibliotek (libraries).
    "Mo-Th 10:00-19:00; Fr 10:00-18:00; Sa 11:00-15:00; PH off",
    "Mo-Fr 10:00-19:00; Sa 11:00-15:00; Su,PH off",
    "Mo,We 10:00-20:00; Tu,Th 10:00-18:00; Fr 10:00-16:00; Sa 10:00-14:00; PH off",
    "Sep-May Mo-Th 10:00-19:00; Sep-May Fr 10:00-17:00; Jun-Aug Mo-Fr 10:00-16:00; PH off",
    "Mo-Fr 08:00-21:00; Sa,Su 10:00-17:00; Dec 24,Dec 31 off; PH off",
    "Tu-Fr 11:00-18:00; Sa 11:00-14:00",
    "Mo 13:00-19:00; We 13:00-19:00; Fr 10:00-14:00",
    "Mo-Th 10:00-19:00; Fr 10:00-17:00; Sa 10:00-15:00; Jun 20-Aug 16 Mo-Fr 10:00-16:00; Jun 20-Aug 16 Sa off; PH off",
    "Mo-Fr 08:00-22:00; Sa,Su 10:00-18:00; Dec 24-26 off; Dec 31 off; PH 12:00-16:00",
    "Mo-Th 08:00-20:00; Fr 08:00-18:00; Sa,Su 11:00-16:00; Jun-Aug off",
    // Sporthallar (sports halls).
    "Mo-Fr 07:00-22:00; Sa,Su 08:00-20:00",
    "Mo-Fr 16:00-22:00; Sa,Su 09:00-18:00; PH off",
    "Mo-Su 07:00-23:00; Dec 24,Dec 25,Dec 31,Jan 1 off",
    "Mo-Fr 06:30-22:00; Sa,Su 08:00-18:00; Jun 22-Aug 9 off; PH off",
    "Mo-Fr 07:00-21:00; Sa,Su 09:00-16:00; PH off",
    // Simhallar och badhus (swimming pools).
    "Mo-Fr 06:30-20:00; Sa,Su 09:00-16:00; PH 10:00-14:00",
    "Mo,We,Fr 06:00-21:00; Tu,Th 06:00-19:00,19:30-21:00; Sa 09:00-17:00; Su 09:00-15:00; PH off",
    "Mo-Fr 06:30-08:30,11:30-13:00,16:00-20:00; Sa,Su 09:00-15:00; Dec 24,Dec 31 off; PH off",
    "Aug 20-May 15 Mo-Fr 06:30-20:00; Aug 20-May 15 Sa,Su 09:00-16:00; May 16-Aug 19 Mo-Fr 09:00-18:00; PH off",
    "Mo-Fr 06:00-21:00; Sa,Su 08:00-18:00; Dec 24 07:00-12:00; Dec 31 07:00-13:00; PH 10:00-16:00",
    // Ishallar och isbanor (ice rinks), with seasons.
    "Sep-Apr Mo-Fr 16:00-21:00; Sep-Apr Sa,Su 10:00-17:00",
    "Sep-Mar Mo-Su 08:00-22:00; Apr-Aug off",
    "Oct-Mar Sa,Su 12:00-16:00 ; Oct-Mar We 17:00-19:00",
    "Sep 15-Apr 15 Mo-Fr 15:00-21:30; Sep 15-Apr 15 Sa,Su 09:00-18:00; PH off",
    "Nov-Feb 10:00-20:00",
    // Utomhusbad och friluftsbad (outdoor pools).
    "Jun-Aug 10:00-18:00",
    "Jun-Aug Mo-Fr 09:00-19:00; Jun-Aug Sa,Su 10:00-17:00",
    "Jun 1-Aug 20 10:00-19:00",
    "May 15-Sep 15 Mo-Su 07:00-21:00",
    "Jun 10-Aug 16 10:00-18:00",
    "Jun-Aug Mo-Fr 10:00-18:00; Jun-Aug Sa,Su 10:00-17:00; PH off",
    // Fritidsgårdar (youth centres), open late and across midnight.
    "Mo-Th 15:00-21:00; Fr 15:00-24:00; Sa 18:00-24:00",
    "Tu-Th 18:00-22:00; Fr,Sa 19:00-01:00",
    "Mo-Th 14:00-21:00; Fr 14:00-23:30; Sa 18:00-00:30; PH off",
    "We 18:00-22:00; Fr 20:00-02:00",
    "Fr,Sa 22:00-03:00",
    "Mo-Th 15:00-21:00; Fr 15:00-01:00; Sa 18:00-01:00; Su off",
    "Fr 18:00-01:00; Sa 18:00-01:00; Su 14:00-20:00",
    "Mo-Fr 15:00-22:00; Fr 15:00-00:00",
    "Fr,Sa 20:00-01:00; PH off",
    // Round the clock.
    "24/7",
    "24/7; Dec 24 off",
    "Mo-Su 00:00-24:00; PH off",
    "Mo-Fr 00:00-24:00; Sa,Su 08:00-20:00",
    "Mo-Su 22:00-06:00",
    // Kommunkontor and medborgarservice (lunch breaks).
    "Mo-Fr 08:00-12:00,13:00-16:30",
    "Mo-Fr 08:00-12:00,13:00-16:30; PH off",
    "Mo-Th 08:00-12:00,13:00-16:30; Fr 08:00-12:00,13:00-15:00; Jul off; PH off",
    "Mo-Fr 08:00-16:00; Dec 24,Dec 31 off",
    "Mo-Fr 09:00-16:00; Sa 10:00-13:00; Su,PH off",
    // Återvinningscentraler (recycling centres).
    "Mo-Fr 07:00-18:00; Sa,Su,PH off",
    "Mo-Th 07:00-19:00; Fr 07:00-16:00; Sa 09:00-15:00; Dec 24-26 off; Dec 31 off; PH off",
    "We 10:00-19:00; Sa 09:00-14:00; PH off",
    "Mo-Fr 06:00-22:00; Sa,Su 08:00-20:00; Jun 22-Aug 16 Mo-Fr 07:00-19:00; Jun 22-Aug 16 Sa,Su off",
    // Museer och konsthallar.
    "Tu-Su 11:00-17:00; Mo off; PH off",
    "Tu-Su 11:00-17:00; Jun-Aug 10:00-18:00; PH off",
    "Mo-Fr 08:00-17:00; Sa,Su closed; PH closed",
    "Sa,Su 10:00-16:00; PH 10:00-14:00",
    "Mo-Fr 08:00-16:00; PH 10:00-14:00",
    "Mo-Su 10:00-20:00; PH 10:00-14:00",
    // Comments (after `off` only, see the module docs).
    "Mo-Fr 10:00-18:00; Sa 10:00-14:00; Dec 24 off \"julafton\"; Dec 31 off \"nyårsafton\"; PH off \"helgdag\"",
    "Mo-Fr 08:00-16:00; Sa off \"efter överenskommelse\"",
    "Mo-Fr 09:00-15:00; Sa,Su off \"bokning efter överenskommelse\"; PH off",
    "Mo-Fr 08:00-16:00; Jul off \"sommarstängt\"",
    "Jun-Aug off \"sommarstängt\"; Mo-Fr 08:00-16:00",
    "Mo-Fr 07:30-16:00; Jun 29-Aug 7 off \"semesterstängt\"",
    "Mo-Fr 08:00-16:00; PH closed \"stängt alla helgdagar\"",
    // Wrapping weekday ranges.
    "Fr-Mo 10:00-16:00",
    "Th-Mo 11:00-17:00; PH off",
    "Sa-Mo 10:00-15:00",
    // Date rules.
    "Mo-Fr 08:00-17:00; Dec 24-26 10:00-14:00",
    "Mo-Su 09:00-21:00; Dec 24 09:00-13:00; Dec 31 09:00-15:00; Jan 1 12:00-18:00",
    "Mo-Su 08:00-16:00; Dec 24-26 Sa,Su off",
    "Jan 7-Jun 15 Mo-Fr 08:00-16:00; Aug 15-Dec 20 Mo-Fr 08:00-16:00",
    "Jan,Feb Sa,Su 10:00-15:00",
    "Mar-May,Sep-Nov Mo-Fr 12:00-18:00",
    "Mo-Fr 08:00-16:00; Sa,PH 10:00-12:00",
    "Mo-Fr 18:00-00:00; Sa,Su 12:00-00:00",
    "Mo-Su 08:00-20:00; Dec 23-Jan 1 off",
    // Whitespace and keywords.
    "Mo-Fr 08:00-16:00;PH off",
    "Mo-Fr 08:00-16:00 ;  Sa 10:00-14:00 ; PH closed",
    "Sa",
    "Mo-Fr",
    "Dec 24-26 off",
];

/// Weekly bases of the generated strings.
const BASES: &[&str] = &[
    "Mo-Fr 08:00-16:00",
    "Mo-Fr 07:00-21:00; Sa,Su 09:00-16:00",
    "Mo-Th 10:00-19:00; Fr 10:00-17:00; Sa 11:00-15:00",
    "Mo-Fr 08:00-12:00,13:00-16:30",
    "Tu-Su 11:00-17:00",
    "Mo-Su 06:00-22:00",
    "Mo-Th 15:00-21:00; Fr,Sa 18:00-01:00",
    "Fr-Mo 10:00-16:00",
    "Mo,We,Fr 06:30-20:00; Tu,Th 06:30-21:30; Sa,Su 09:00-15:00",
    "Mo-Fr 16:00-22:00; Sa,Su 09:00-18:00",
    "Mo-Su 22:00-06:00",
    "24/7",
    "Mo-Fr 12:00-24:00; Sa,Su 10:00-00:00",
];

/// Seasonal rules of the generated strings (all in summer, so they never overlap the closures).
const SEASONS: &[&str] = &[
    "",
    "Jun-Aug off",
    "Jul off",
    "Jun-Aug Mo-Fr 10:00-15:00",
    "Jun 22-Aug 9 10:00-16:00",
    "May 15-Sep 15 Sa,Su 10:00-18:00",
    "Jun-Aug Mo-Fr 09:00-15:00; Jun-Aug Sa,Su off",
];

/// Date closures and special days of the generated strings.
const CLOSURES: &[&str] = &["", "Dec 24,Dec 31 off", "Dec 24-26 off", "Dec 24 10:00-13:00; Dec 31 10:00-14:00", "Dec 23-Jan 1 off"];

/// Public-holiday rules, always last.
const HOLIDAY_TAILS: &[&str] =
    &["", "PH off", "PH 10:00-14:00", "Su,PH off", "Sa,Su,PH off", "PH off \"stängt helgdagar\"", "Sa,Su,PH 10:00-14:00"];

/// Joins non-empty rule lists, varying the separator's whitespace a little.
fn join(parts: &[&str], variant: usize) -> String {
    let sep = match variant % 7 {
        0 => ";",
        1 => " ; ",
        _ => "; ",
    };
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(sep)
}

/// The whole corpus: the handwritten strings, then generated combinations (base, season,
/// closures, holiday rule) that cover every base with every holiday rule four times over.
fn corpus() -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in HANDWRITTEN {
        check_subset(s).unwrap_or_else(|e| panic!("handwritten corpus string {s:?} is outside the subset: {e}"));
        assert!(seen.insert(s.to_string()), "handwritten corpus string {s:?} is listed twice");
        out.push(s.to_string());
    }
    let mut variant = 0;
    for round in 0..4 {
        for (b, base) in BASES.iter().enumerate() {
            for (p, tail) in HOLIDAY_TAILS.iter().enumerate() {
                let season = SEASONS[(b + 2 * p + 3 * round) % SEASONS.len()];
                let closure = CLOSURES[(2 * b + p + round) % CLOSURES.len()];
                let s = join(&[base, season, closure, tail], variant);
                variant += 1;
                if check_subset(&s).is_ok() && seen.insert(s.clone()) {
                    out.push(s);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The subset, checked (so that the corpus stays inside what the parser supports)
// ---------------------------------------------------------------------------------------------

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Minutes after midnight of `HH:MM`.
fn minutes(t: &str) -> Result<u32, String> {
    let (h, m) = t.split_once(':').ok_or_else(|| format!("{t:?} is not HH:MM"))?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| format!("{t:?}"))?, m.parse().map_err(|_| format!("{t:?}"))?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(format!("{t:?} is not a time of day"));
    }
    Ok(h * 60 + m)
}

/// The days of a leap year (0–365) that a month selector such as `Jun-Aug,Dec 24-26` covers.
fn month_days(selector: &str) -> Result<Vec<bool>, String> {
    let ordinal = |m: usize, d: u32| -> Result<usize, String> {
        NaiveDate::from_ymd_opt(2024, m as u32 + 1, d)
            .map(|x| x.ordinal0() as usize)
            .ok_or_else(|| format!("{} {d} does not exist", MONTHS[m]))
    };
    let last =
        |m: usize| -> u32 { (28..=31).rev().find(|&d| NaiveDate::from_ymd_opt(2024, m as u32 + 1, d).is_some()).expect("months end") };
    let month = |w: &str| MONTHS.iter().position(|m| *m == w).ok_or_else(|| format!("{w:?} is not a month"));
    let mut days = vec![false; 366];
    for range in selector.split(',') {
        let range = range.trim();
        let (a, b) = range.split_once('-').unwrap_or((range, ""));
        let mut a_words = a.split_whitespace();
        let am = month(a_words.next().ok_or("empty month range")?)?;
        let ad: Option<u32> = a_words.next().map(|d| d.parse().map_err(|_| format!("bad day in {range:?}"))).transpose()?;
        let (from, to) = if b.is_empty() {
            match ad {
                Some(d) => (ordinal(am, d)?, ordinal(am, d)?),
                None => (ordinal(am, 1)?, ordinal(am, last(am))?),
            }
        } else if let Ok(bd) = b.trim().parse::<u32>() {
            (ordinal(am, ad.ok_or_else(|| format!("{range:?} needs a first day"))?)?, ordinal(am, bd)?)
        } else {
            let mut b_words = b.split_whitespace();
            let bm = month(b_words.next().ok_or("empty month range end")?)?;
            let bd: Option<u32> = b_words.next().map(|d| d.parse().map_err(|_| format!("bad day in {range:?}"))).transpose()?;
            match (ad, bd) {
                (Some(x), Some(y)) => (ordinal(am, x)?, ordinal(bm, y)?),
                (None, None) => (ordinal(am, 1)?, ordinal(bm, last(bm))?),
                _ => return Err(format!("{range:?} mixes a month with a day")),
            }
        };
        let mut d = from;
        loop {
            days[d] = true;
            if d == to {
                break;
            }
            d = (d + 1) % 366;
        }
    }
    Ok(days)
}

/// Checks that `s` stays inside the supported subset and away from the DST hours: see the
/// module docs. Errors say why not.
fn check_subset(s: &str) -> Result<(), String> {
    for banned in ["||", "week", "easter", "sunrise", "sunset", "dawn", "dusk", "SH", "+", "open", "unknown", "/"] {
        if s.contains(banned) && !(banned == "/" && s.contains("24/7")) {
            return Err(format!("contains {banned:?}"));
        }
    }
    let mut month_sets: Vec<(String, Vec<bool>)> = Vec::new();
    let mut seen_ph = false;
    for rule in s.split(';').map(str::trim) {
        if rule.is_empty() {
            return Err("empty rule".into());
        }
        if rule == "24/7" {
            if seen_ph {
                return Err("a non-PH rule after a PH rule".into());
            }
            continue;
        }
        let (body, comment) = match rule.split_once('"') {
            Some((body, comment)) => (body.trim(), Some(comment)),
            None => (rule, None),
        };
        let words: Vec<&str> = body.split_whitespace().collect();
        // The month selector: the words before the first weekday, PH, time or state.
        let is_month_word = |w: &str| {
            w.split(['-', ',']).filter(|x| !x.is_empty()).all(|x| MONTHS.contains(&x) || x.bytes().all(|b| b.is_ascii_digit()))
                && !w.contains(':')
        };
        let n_month = words.iter().take_while(|w| is_month_word(w)).count();
        let months = words[..n_month].join(" ");
        let rest = &words[n_month..];
        let (weekdays, rest) = match rest.first() {
            Some(w) if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && *w != "off" && *w != "closed" => (Some(*w), &rest[1..]),
            _ => (None, rest),
        };
        let has_ph = weekdays.is_some_and(|w| w.split([',', '-']).any(|x| x == "PH"));
        if let Some(w) = weekdays {
            for part in w.split(',') {
                for day in part.split('-') {
                    if !["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su", "PH"].contains(&day) {
                        return Err(format!("{day:?} is not a weekday"));
                    }
                }
            }
        }
        if seen_ph && !has_ph {
            return Err("a non-PH rule after a PH rule".into());
        }
        seen_ph |= has_ph;
        let state_off = matches!(rest, ["off"] | ["closed"]);
        if comment.is_some() && !state_off {
            return Err("a comment on a rule that is not `off`/`closed` (the reference reads it as unknown)".into());
        }
        if !state_off && rest.len() > 1 {
            return Err(format!("unexpected {rest:?}"));
        }
        if let (Some(spans), false) = (rest.first(), state_off) {
            for span in spans.split(',') {
                let (a, b) = span.split_once('-').ok_or_else(|| format!("{span:?} is not a time span"))?;
                let (a, b) = (minutes(a)?, minutes(b)?);
                if a >= 1440 || (120..180).contains(&a) || (121..180).contains(&b) {
                    return Err(format!("{span:?} starts or ends inside the DST hour"));
                }
            }
        }
        if !months.is_empty() {
            let set = month_days(&months)?;
            for (other, other_set) in &month_sets {
                let overlap = set.iter().zip(other_set).any(|(a, b)| *a && *b);
                if overlap && set != *other_set {
                    return Err(format!("month ranges {months:?} and {other:?} overlap without being identical"));
                }
            }
            month_sets.push((months, set));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The instants
// ---------------------------------------------------------------------------------------------

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("an RFC 3339 instant").with_timezone(&Utc)
}

/// Local (Europe/Stockholm) date and time of an instant, for checks and messages.
fn local(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    at.with_timezone(&hours::TZ).naive_local()
}

fn local_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&hours::TZ).format("%a %Y-%m-%d %H:%M %Z").to_string()
}

/// Whether an instant is on one of the reference's known bugs: inside the skipped hour of a
/// spring-forward night, or on the Monday 00:00–00:59 local after a spring-forward Sunday.
fn in_reference_bug(at: DateTime<Utc>) -> bool {
    let l = local(at);
    let spring_sundays = [date("2026-03-29"), date("2027-03-28")];
    (spring_sundays.contains(&l.date()) && l.hour() == 2)
        || (l.date().weekday() == Weekday::Mon && spring_sundays.contains(&(l.date() - chrono::Duration::days(1))) && l.hour() == 0)
}

/// The instants every string is evaluated at, sorted: an even spread over 2026–2027, every
/// public holiday and eve of those years plus a few days after holidays at local times around
/// the usual boundaries, and both DST nights of each year.
fn instants() -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    // The spread: every 149.5 hours from 2026-01-01T00:15Z, alternating :15 and :45 and
    // walking through every hour of the day and every weekday.
    let mut at = utc("2026-01-01T00:15:00Z");
    while at < utc("2028-01-01T00:00:00Z") {
        out.push(at);
        at += chrono::Duration::minutes(149 * 60 + 30);
    }
    // Special days at local times.
    let mut days = Vec::new();
    for year in [2026, 2027] {
        for h in registry_core::calendar::holidays(year).expect("2026 and 2027 have holidays") {
            days.push(h.date);
            days.push(h.date + chrono::Duration::days(1));
        }
    }
    // The DST Sundays themselves and the evening before.
    for d in ["2026-03-28", "2026-03-29", "2026-10-24", "2026-10-25", "2027-03-27", "2027-03-28", "2027-10-30", "2027-10-31"] {
        days.push(date(d));
    }
    for d in &days {
        for (h, m) in [(0, 45), (7, 45), (10, 15), (13, 45), (16, 45), (19, 15), (21, 45), (23, 15)] {
            out.push(hours::local_instant(*d, h * 60 + m));
        }
    }
    // The DST nights: spring at local 01:15 (CET), 03:15 and 04:15 (CEST); autumn at 01:15
    // (CEST), 02:15 in both passes (CEST, then CET), 03:15 and 04:15 (CET).
    for (night, list) in [
        ("2026-03-29", &["2026-03-29T00:15:00Z", "2026-03-29T01:15:00Z", "2026-03-29T02:15:00Z"][..]),
        ("2027-03-28", &["2027-03-28T00:15:00Z", "2027-03-28T01:15:00Z", "2027-03-28T02:15:00Z"][..]),
        (
            "2026-10-25",
            &["2026-10-24T23:15:00Z", "2026-10-25T00:15:00Z", "2026-10-25T01:15:00Z", "2026-10-25T02:15:00Z", "2026-10-25T03:15:00Z"][..],
        ),
        (
            "2027-10-31",
            &["2027-10-30T23:15:00Z", "2027-10-31T00:15:00Z", "2027-10-31T01:15:00Z", "2027-10-31T02:15:00Z", "2027-10-31T03:15:00Z"][..],
        ),
    ] {
        let spring = night.contains("-03-");
        let expected: &[&str] = if spring { &["01:15", "03:15", "04:15"] } else { &["01:15", "02:15", "02:15", "03:15", "04:15"] };
        for (s, want) in list.iter().zip(expected) {
            let at = utc(s);
            let l = local(at);
            assert_eq!((l.date(), l.format("%H:%M").to_string()), (date(night), want.to_string()), "{s} is local {want} on {night}");
            out.push(at);
        }
    }
    out.retain(|at| (2026..=2027).contains(&at.year()) && !in_reference_bug(*at));
    out.sort();
    out.dedup();
    for at in &out {
        assert!(matches!(at.minute(), 15 | 45) && at.second() == 0, "{at} is not at :15 or :45");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

/// Removes the oracle's input file however the test ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One answer of the oracle per case: `getState` per instant, or the parse error.
async fn run_oracle(cases: &[(String, Vec<DateTime<Utc>>)]) -> Vec<Result<Vec<bool>, String>> {
    let node = tests::node_binary();
    let prefix = tests::node_prefix();
    let setup = tests::repo_root().join("scripts/node-tools.sh");
    let manifest = prefix.join("node_modules").join(ORACLE_PACKAGE).join("package.json");
    let version = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    assert_eq!(
        version.as_deref(),
        Some(ORACLE_VERSION),
        "{ORACLE_PACKAGE}@{ORACLE_VERSION} is not installed at {}: run `{}` (REGISTRY_NODE selects another prefix)",
        manifest.display(),
        setup.display()
    );
    let script = tests::repo_root().join("tests/interop/opening_hours_oracle.js");
    assert!(script.is_file(), "{} is missing", script.display());

    let input = json!({
        "cases": cases.iter().map(|(oh, at)| json!({
            "oh": oh,
            "instants": at.iter().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let file = TempFile(std::env::temp_dir().join(format!("registry-osm-oracle-{}-{nanos}.json", std::process::id())));
    std::fs::write(&file.0, serde_json::to_vec(&input).expect("JSON")).unwrap_or_else(|e| panic!("write {}: {e}", file.0.display()));

    let mut cmd = tokio::process::Command::new(&node);
    cmd.arg(&script)
        .arg(&file.0)
        .env("TZ", "Europe/Stockholm")
        .env("NODE_PATH", prefix.join("node_modules"))
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(HANG_GUARD, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within {HANG_GUARD:?} (killed)", script.display()))
        .unwrap_or_else(|e| panic!("could not run {} {}: {e}", node.display(), script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the opening_hours.js oracle failed ({}):\nstderr:\n{stderr}", out.status);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("the oracle's stdout is not one JSON object ({e}); stderr:\n{stderr}\nstdout starts:\n{:.2000}", stdout)
    });
    let results = v["results"].as_array().unwrap_or_else(|| panic!("the oracle's output has no results list; stderr:\n{stderr}"));
    assert_eq!(results.len(), cases.len(), "the oracle answered a different number of cases");
    results
        .iter()
        .zip(cases)
        .map(|(r, (oh, at))| match r {
            Value::Array(states) => {
                assert_eq!(states.len(), at.len(), "the oracle answered a different number of instants for {oh:?}");
                Ok(states.iter().map(|b| b.as_bool().unwrap_or_else(|| panic!("a non-boolean state for {oh:?}: {b}"))).collect())
            }
            other => Err(other["error"].as_str().map(str::to_owned).unwrap_or_else(|| other.to_string())),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn osm_import_agrees_with_opening_hours_js() {
    let strings = corpus();
    let at = instants();
    assert!(strings.len() >= MIN_STRINGS, "the corpus has {} strings; at least {MIN_STRINGS} are wanted", strings.len());
    assert_eq!(strings.iter().collect::<HashSet<_>>().len(), strings.len(), "the corpus strings are distinct");
    assert!(at.len() >= MIN_INSTANTS, "{} instants per string; at least {MIN_INSTANTS} are wanted", at.len());
    for day in ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-14", "2026-06-06", "2026-06-20", "2026-12-25", "2026-12-26"] {
        assert!(at.iter().any(|t| local(*t).date() == date(day)), "no instant on the public holiday {day}");
    }
    for day in ["2026-06-19", "2026-12-24", "2026-12-31"] {
        assert!(at.iter().any(|t| local(*t).date() == date(day)), "no instant on the eve {day}");
    }
    assert!(!at.iter().any(|t| in_reference_bug(*t)));
    println!("{} strings ({} handwritten) × {} instants", strings.len(), HANDWRITTEN.len(), at.len());

    let cases: Vec<(String, Vec<DateTime<Utc>>)> = strings.iter().map(|s| (s.clone(), at.clone())).collect();
    let theirs = run_oracle(&cases).await;

    let oracle_errors: Vec<String> = strings
        .iter()
        .zip(&theirs)
        .filter_map(|(s, r)| r.as_ref().err().map(|e| format!("  {s:?}: {}", e.lines().next().unwrap_or(e))))
        .collect();

    let mut parse_errors = Vec::new();
    let mut mismatches = Vec::new();
    let mut per_string: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, their) in strings.iter().zip(&theirs) {
        let ours = match osm::parse(s) {
            Ok(h) => h,
            Err(e) => {
                let caret = format!("{}^", " ".repeat(e.position));
                parse_errors.push(format!("  {s:?}\n   {caret}\n    at character {}: {}", e.position, e.message));
                continue;
            }
        };
        let Ok(their) = their else { continue };
        for (t, theirs) in at.iter().zip(their) {
            let open = ours.is_open(*t);
            if open != *theirs {
                *per_string.entry(s).or_default() += 1;
                mismatches.push((s.as_str(), *t, open, *theirs));
            }
        }
    }

    let mut report = String::new();
    if !oracle_errors.is_empty() {
        report += &format!("opening_hours.js could not parse {} corpus string(s):\n{}\n", oracle_errors.len(), oracle_errors.join("\n"));
    }
    if !parse_errors.is_empty() {
        report += &format!("osm::parse refused {} corpus string(s) within the subset:\n{}\n", parse_errors.len(), parse_errors.join("\n"));
    }
    if !mismatches.is_empty() {
        report += &format!(
            "{} of {} answers differ, in {} of {} strings; the first {}:\n",
            mismatches.len(),
            strings.len() * at.len(),
            per_string.len(),
            strings.len(),
            mismatches.len().min(MAX_EXAMPLES)
        );
        for (s, t, ours, theirs) in mismatches.iter().take(MAX_EXAMPLES) {
            report += &format!("  {s:?} at {t} (local {}): ours {ours}, opening_hours.js {theirs}\n", local_text(*t));
        }
        report += "mismatching answers per string:\n";
        let mut counts: Vec<_> = per_string.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (s, n) in counts {
            report += &format!("  {n:4}  {s:?}\n");
        }
    }
    // Every mismatch, one a line, for analysis: OSM_CONFORMANCE_DUMP=/path/to/file.
    if let Some(path) = std::env::var_os("OSM_CONFORMANCE_DUMP") {
        let lines: String =
            mismatches.iter().map(|(s, t, ours, theirs)| format!("{s}\t{t}\t{}\t{ours}\t{theirs}\n", local_text(*t))).collect();
        std::fs::write(&path, lines).unwrap_or_else(|e| panic!("write {}: {e}", Path::new(&path).display()));
    }
    assert!(report.is_empty(), "OSM opening_hours conformance failed:\n{report}");
}
