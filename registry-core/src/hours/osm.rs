//! Import and export of OpenStreetMap `opening_hours` strings, for the common subset:
//! rules separated by `;`, each `24/7` or [months] [weekdays] [times | `off`] ["comment"];
//! months as `Jan`, `Jun-Aug`, `Aug 20-May 15`, `Dec 24`, `Dec 24-26` (comma lists);
//! weekdays as `Mo`, `Mo-Fr`, `Fr-Mo` and `PH` (comma lists); times as `08:00-12:00,13:00-17:00`
//! (an end before the start crosses midnight, `24:00` ends the day); and dated rules
//! `2026 Dec 25 12:00-14:00` for one-off exceptions.
//!
//! Semantics follow the OSM reference (opening_hours.js): a later rule replaces the hours of
//! the days it matches. Import turns month ranges into periods (exact for any overlap: the
//! year is cut where ranges begin and end), `PH` rules into the holiday policy, and dated
//! rules into exceptions. Because the model lets holidays override weekly rules, a `PH` rule
//! must come after the weekly rules (dated rules may follow it); otherwise import refuses with
//! a positioned error rather than guess.
//!
//! OSM has no eves: export writes julafton and nyårsafton as `Dec 24,Dec 31`, midsommarafton
//! as `Jun 19-25 Fr`, and påskafton as dated rules for a span of years around today.

use chrono::{Datelike, Duration, NaiveDate};

use super::model::*;
use crate::calendar;

/// Where and why a string could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct OsmError {
    /// 0-based character index.
    pub position: usize,
    /// What is wrong, in English.
    pub message: String,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(u32),
    Time(HhMm),
    Dash,
    Comma,
    Semi,
    Slash,
    Comment(String),
}

fn err(position: usize, message: impl Into<String>) -> OsmError {
    OsmError { position, message: message.into() }
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, OsmError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            ' ' | '\t' => i += 1,
            '-' => {
                out.push((start, Tok::Dash));
                i += 1
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1
            }
            ';' => {
                out.push((start, Tok::Semi));
                i += 1
            }
            '/' => {
                out.push((start, Tok::Slash));
                i += 1
            }
            '"' => {
                let end = chars[i + 1..].iter().position(|&c| c == '"').ok_or_else(|| err(start, "the comment is not closed with \""))?;
                out.push((start, Tok::Comment(chars[i + 1..i + 1 + end].iter().collect())));
                i += end + 2;
            }
            '0'..='9' => {
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                if i < chars.len() && chars[i] == ':' {
                    i += 1;
                    let m0 = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let text: String = chars[start..i].iter().collect();
                    let t = (i - m0 == 2)
                        .then(|| HhMm::parse(&text))
                        .flatten()
                        .ok_or_else(|| err(start, format!("'{text}' is not a time HH:MM between 00:00 and 24:00")))?;
                    out.push((start, Tok::Time(t)));
                } else {
                    out.push((start, Tok::Num(digits.parse().map_err(|_| err(start, "number too large"))?)));
                }
            }
            c if c.is_ascii_alphabetic() => {
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                out.push((start, Tok::Word(chars[start..i].iter().collect())));
            }
            '|' => return Err(err(start, "fallback rules (||) are not supported")),
            other => return Err(err(start, format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

/// One parsed rule.
#[derive(Debug, Clone)]
struct Rule {
    pos: usize,
    /// Month-day ranges (inclusive); empty = every day of the year.
    months: Vec<(MonthDay, MonthDay)>,
    /// A dated rule: its dates.
    dates: Vec<NaiveDate>,
    weekdays: Vec<usize>,
    ph: bool,
    spans: Vec<TimeSpan>,
    comment: String,
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|t| t.0).unwrap_or(self.end)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|t| t.1.clone());
        self.i += 1;
        t
    }
    fn month_at(&self, k: usize) -> Option<u8> {
        match self.toks.get(k).map(|t| &t.1) {
            Some(Tok::Word(w)) => MONTHS.iter().position(|m| m == w).map(|m| m as u8 + 1),
            _ => None,
        }
    }
    fn weekday_at(&self, k: usize) -> Option<usize> {
        match self.toks.get(k).map(|t| &t.1) {
            Some(Tok::Word(w)) => DAYS.iter().position(|d| d == w),
            _ => None,
        }
    }
    fn is_ph(&self) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == "PH")
    }

    /// `Mon [DD]`.
    fn month_day(&mut self, default_day: fn(u8) -> u8) -> Result<(MonthDay, bool), OsmError> {
        let pos = self.pos();
        let m = self.month_at(self.i).ok_or_else(|| err(pos, "expected a month (Jan … Dec)"))?;
        self.i += 1;
        if let Some(Tok::Num(d)) = self.peek().cloned() {
            let dpos = self.pos();
            self.i += 1;
            let md = MonthDay::new(m, d as u8)
                .filter(|_| d <= 31)
                .ok_or_else(|| err(dpos, format!("{} has no day {d}", MONTHS[m as usize - 1])))?;
            return Ok((md, true));
        }
        Ok((MonthDay::new(m, default_day(m)).expect("first and last days exist"), false))
    }

    fn month_range(&mut self) -> Result<(MonthDay, MonthDay), OsmError> {
        let (from, with_day) = self.month_day(|_| 1)?;
        if self.peek() != Some(&Tok::Dash) {
            let to = if with_day { from } else { MonthDay::new(from.month, last_day(from.month)).expect("exists") };
            return Ok((from, to));
        }
        self.i += 1;
        let pos = self.pos();
        if let Some(Tok::Num(d)) = self.peek().cloned() {
            if !with_day {
                return Err(err(pos, "a day range needs a first day, e.g. Dec 24-26"));
            }
            self.i += 1;
            let to = MonthDay::new(from.month, d as u8)
                .filter(|_| d <= 31)
                .ok_or_else(|| err(pos, format!("{} has no day {d}", MONTHS[from.month as usize - 1])))?;
            return Ok((from, to));
        }
        let (to, to_with_day) = self.month_day(last_day)?;
        if with_day != to_with_day {
            return Err(err(pos, "write both ends of a range with a day (Aug 20-May 15) or neither (Jun-Aug)"));
        }
        Ok((from, to))
    }

    fn rule(&mut self) -> Result<Rule, OsmError> {
        let pos = self.pos();
        let mut r = Rule { pos, months: vec![], dates: vec![], weekdays: vec![], ph: false, spans: vec![], comment: String::new() };
        // 24/7
        if self.peek() == Some(&Tok::Num(24)) && self.toks.get(self.i + 1).map(|t| &t.1) == Some(&Tok::Slash) {
            self.i += 2;
            match self.next() {
                Some(Tok::Num(7)) => {}
                _ => return Err(err(pos, "expected 24/7")),
            }
            r.weekdays = (0..7).collect();
            r.spans = vec![TimeSpan::day(HhMm(0), HhMm(1440))];
            return self.finish(r);
        }
        // Dated rule: YYYY Mon DD[, YYYY Mon DD …]
        if let Some(Tok::Num(y)) = self.peek().cloned()
            && y >= 1000
        {
            loop {
                let ypos = self.pos();
                let Some(Tok::Num(y)) = self.next() else { return Err(err(ypos, "expected a year")) };
                let (md, with_day) = self.month_day(|_| 1)?;
                if !with_day {
                    return Err(err(ypos, "a dated rule names one day, e.g. 2026 Dec 25"));
                }
                let date = NaiveDate::from_ymd_opt(y as i32, u32::from(md.month), u32::from(md.day))
                    .ok_or_else(|| err(ypos, format!("{y} has no such day")))?;
                if !calendar::YEARS.contains(&date.year()) {
                    return Err(err(ypos, "years must be between 1900 and 2200"));
                }
                r.dates.push(date);
                if self.peek() == Some(&Tok::Comma) && matches!(self.toks.get(self.i + 1).map(|t| &t.1), Some(Tok::Num(_))) {
                    self.i += 1;
                } else {
                    break;
                }
            }
            r.weekdays = (0..7).collect();
            return self.times_and_finish(r);
        }
        // Months.
        if self.month_at(self.i).is_some() {
            loop {
                r.months.push(self.month_range()?);
                if self.peek() == Some(&Tok::Comma) && self.month_at(self.i + 1).is_some() {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        // Weekdays and PH.
        let mut any_day_selector = false;
        while self.weekday_at(self.i).is_some() || self.is_ph() {
            any_day_selector = true;
            if self.is_ph() {
                r.ph = true;
                self.i += 1;
            } else {
                let a = self.weekday_at(self.i).expect("checked");
                self.i += 1;
                if self.peek() == Some(&Tok::Dash) {
                    self.i += 1;
                    let bpos = self.pos();
                    let b = self.weekday_at(self.i).ok_or_else(|| err(bpos, "expected a weekday (Mo … Su) after '-'"))?;
                    self.i += 1;
                    let mut d = a;
                    loop {
                        r.weekdays.push(d);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                } else {
                    r.weekdays.push(a);
                }
            }
            if self.peek() == Some(&Tok::Comma)
                && (self.weekday_at(self.i + 1).is_some()
                    || matches!(self.toks.get(self.i + 1).map(|t| &t.1), Some(Tok::Word(w)) if w == "PH"))
            {
                self.i += 1;
            } else {
                break;
            }
        }
        if !any_day_selector {
            r.weekdays = (0..7).collect();
        }
        r.weekdays.sort();
        r.weekdays.dedup();
        if r.ph && !r.months.is_empty() {
            return Err(err(pos, "PH combined with months is not supported"));
        }
        self.times_and_finish(r)
    }

    fn times_and_finish(&mut self, mut r: Rule) -> Result<Rule, OsmError> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) if w == "off" || w == "closed" => {
                self.i += 1;
                return self.finish(r);
            }
            Some(Tok::Time(_)) => loop {
                let pos = self.pos();
                let Some(Tok::Time(a)) = self.next() else { return Err(err(pos, "expected a time HH:MM")) };
                let dpos = self.pos();
                if self.next() != Some(Tok::Dash) {
                    return Err(err(dpos, "expected '-' between opening and closing time (open-ended times are not supported)"));
                }
                let bpos = self.pos();
                let Some(Tok::Time(b)) = self.next() else { return Err(err(bpos, "expected a closing time HH:MM")) };
                if a.0 == 1440 {
                    return Err(err(pos, "cannot open at 24:00"));
                }
                if a == b {
                    return Err(err(bpos, "opening and closing times are equal"));
                }
                let crosses = b < a;
                r.spans.push(TimeSpan { opens: a, closes: b, crosses_midnight: crosses });
                if self.peek() == Some(&Tok::Comma) && matches!(self.toks.get(self.i + 1).map(|t| &t.1), Some(Tok::Time(_))) {
                    self.i += 1;
                } else {
                    break;
                }
            },
            // A selector without times means open all day.
            _ => r.spans = vec![TimeSpan::day(HhMm(0), HhMm(1440))],
        }
        // In the reference, a comment on an open rule makes the state "unknown" unless the
        // rule says `open` explicitly; the model has no "unknown", so such rules are refused.
        if matches!(self.peek(), Some(Tok::Word(w)) if w == "open") {
            self.i += 1;
        } else if matches!(self.peek(), Some(Tok::Comment(_))) {
            return Err(err(
                self.pos(),
                "a comment on an open rule means \"unknown\" in opening_hours; write `open \"comment\"` to mean open",
            ));
        }
        self.finish(r)
    }

    fn finish(&mut self, mut r: Rule) -> Result<Rule, OsmError> {
        if let Some(Tok::Comment(c)) = self.peek().cloned() {
            r.comment = c;
            self.i += 1;
        }
        match self.peek() {
            None | Some(Tok::Semi) => Ok(r),
            Some(t) => Err(err(self.pos(), format!("unexpected {} (only the common subset of opening_hours is supported)", describe(t)))),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Time(t) => format!("time {t}"),
        Tok::Dash => "'-'".into(),
        Tok::Comma => "','".into(),
        Tok::Semi => "';'".into(),
        Tok::Slash => "'/'".into(),
        Tok::Comment(_) => "comment".into(),
    }
}

fn last_day(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day index 0..366 in a leap year.
fn day_index(md: MonthDay) -> usize {
    NaiveDate::from_ymd_opt(2024, u32::from(md.month), u32::from(md.day)).expect("valid").ordinal0() as usize
}

fn month_day_of(index: usize) -> MonthDay {
    MonthDay::of(NaiveDate::from_yo_opt(2024, index as u32 + 1).expect("within a leap year"))
}

/// Most rules one string may have. Exporting the largest valid schedule writes about 650: 20
/// periods of up to 7 weekday rules, the eve and holiday rules, and 500 dated exceptions.
pub const MAX_RULES: usize = 1000;

/// Parses an `opening_hours` string of the supported subset.
pub fn parse(s: &str) -> Result<OpeningHours, OsmError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err(err(0, "the string is empty"));
    }
    let mut p = Parser { toks, i: 0, end: s.chars().count() };
    let mut rules = Vec::new();
    loop {
        if matches!(p.peek(), Some(Tok::Semi) | None) {
            return Err(err(p.pos(), "empty rule"));
        }
        if rules.len() == MAX_RULES {
            return Err(err(p.pos(), format!("more than {MAX_RULES} rules")));
        }
        rules.push(p.rule()?);
        match p.next() {
            None => break,
            Some(Tok::Semi) => {}
            Some(_) => unreachable!("finish() stops at ';' or the end"),
        }
    }
    build(&rules)
}

fn build(rules: &[Rule]) -> Result<OpeningHours, OsmError> {
    let mut h = OpeningHours::default();
    // PH rules go last (dated rules may follow): see the module documentation.
    let mut seen_ph = false;
    for r in rules {
        if r.ph {
            seen_ph = true;
        } else if seen_ph && r.dates.is_empty() {
            return Err(err(
                r.pos,
                "a rule after a PH rule would override public holidays on its days; put PH rules after the weekly rules",
            ));
        }
    }
    // Weekly rules, day of the year by day of the year, as the reference applies them: a
    // rule replaces whatever earlier rules gave the days it matches, and the part of a span
    // after midnight belongs to the next calendar day (added there, so a later rule for that
    // day replaces it too).
    // The days of the year and of the week each rule matches are worked out once, so that the
    // time this takes grows with the length of the string, not with rules × month ranges × days.
    let weekly_rules: Vec<(&Rule, Vec<bool>, [bool; 7])> = rules
        .iter()
        .filter(|r| r.dates.is_empty())
        .map(|r| {
            let mut days = vec![r.months.is_empty(); 366];
            for &(a, b) in &r.months {
                let (a, b) = (day_index(a), day_index(b));
                if a <= b {
                    days[a..=b].fill(true);
                } else {
                    days[a..].fill(true);
                    days[..=b].fill(true);
                }
            }
            let mut weekdays = [false; 7];
            for &w in &r.weekdays {
                weekdays[w] = true;
            }
            (r, days, weekdays)
        })
        .collect();
    let matches = |(_, days, weekdays): &(&Rule, Vec<bool>, [bool; 7]), idx: usize, w: usize| weekdays[w] && days[idx];
    let mut per_day: Vec<Option<Weekly>> = Vec::with_capacity(366);
    for idx in 0..366 {
        let prev = (idx + 365) % 366;
        let mut w = Weekly::default();
        let mut touched = false;
        for d in 0..7 {
            let mut list: Vec<(u16, u16)> = Vec::new();
            for r in &weekly_rules {
                if matches(r, idx, d) {
                    list.clear();
                    list.extend(r.0.spans.iter().map(|s| (s.opens.0, if s.crosses_midnight { 1440 } else { s.closes.0 })));
                    touched = true;
                }
                if matches(r, prev, (d + 6) % 7) {
                    let before = list.len();
                    list.extend(r.0.spans.iter().filter(|s| s.crosses_midnight && s.closes.0 > 0).map(|s| (0, s.closes.0)));
                    touched |= list.len() > before;
                }
            }
            *w.day_mut(d) = union(list);
        }
        per_day.push(touched.then_some(w));
    }
    // Runs of days with the same weekly rules become periods; a run at the end of the year
    // that equals the one at its start joins it across the new year.
    let mut runs: Vec<(usize, usize, Weekly)> = Vec::new();
    let mut idx = 0;
    while idx < 366 {
        let start = idx;
        while idx + 1 < 366 && per_day[idx + 1] == per_day[start] {
            idx += 1;
        }
        if let Some(w) = &per_day[start] {
            runs.push((start, idx, w.clone()));
        }
        idx += 1;
    }
    if runs.len() >= 2 {
        let (first, last) = (&runs[0], &runs[runs.len() - 1]);
        if first.0 == 0 && last.1 == 365 && first.2 == last.2 {
            let last = runs.pop().expect("two or more");
            runs[0].0 = last.0;
        }
    }
    for (a, b, weekly) in runs {
        let (from, to) = (month_day_of(a), month_day_of(b));
        let whole_year = (a == 0 && b == 365) || (a == b + 1);
        let name = if whole_year { "All year".to_string() } else { format!("{}-{}", osm_month_day(from), osm_month_day(to)) };
        let (from, to) = if whole_year { (month_day_of(0), month_day_of(365)) } else { (from, to) };
        h.periods.push(Period { name, from, to, priority: 0, weekly });
    }
    for r in rules.iter().filter(|r| r.ph) {
        h.holidays.public_holidays = if r.spans.is_empty() {
            HolidayRule { mode: HolidayMode::Closed, spans: vec![] }
        } else {
            HolidayRule { mode: HolidayMode::Hours, spans: r.spans.clone() }
        };
    }
    // A later rule for a date replaces an earlier one.
    let mut exceptions = std::collections::BTreeMap::new();
    for r in rules.iter().filter(|r| !r.dates.is_empty()) {
        for &date in &r.dates {
            exceptions.insert(date, DateException { date, spans: r.spans.clone(), reason: r.comment.clone() });
        }
    }
    h.exceptions = exceptions.into_values().collect();
    h.validate().map_err(|e| err(0, format!("the schedule is not valid: {e}")))
}

/// Sorted, merged spans of one day from (opens, closes) minute pairs.
fn union(mut list: Vec<(u16, u16)>) -> Vec<TimeSpan> {
    list.retain(|(a, b)| a < b);
    list.sort();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (a, b) in list {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out.into_iter().map(|(a, b)| TimeSpan::day(HhMm(a), HhMm(b))).collect()
}

/// The weekly rules with spans that cross midnight cut at midnight, the rest moved to the next
/// day, so that written out as OSM rules (which give each day its own hours) nothing changes.
fn split_at_midnight(w: &Weekly) -> Weekly {
    let mut lists: Vec<Vec<(u16, u16)>> = vec![Vec::new(); 7];
    for d in 0..7 {
        for s in w.day(d) {
            if s.crosses_midnight {
                lists[d].push((s.opens.0, 1440));
                lists[(d + 1) % 7].push((0, s.closes.0));
            } else {
                lists[d].push((s.opens.0, s.closes.0));
            }
        }
    }
    let mut out = Weekly::default();
    for (d, list) in lists.into_iter().enumerate() {
        *out.day_mut(d) = union(list);
    }
    out
}

fn osm_month_day(md: MonthDay) -> String {
    format!("{} {:02}", MONTHS[md.month as usize - 1], md.day)
}

fn osm_spans(spans: &[TimeSpan]) -> String {
    if spans.is_empty() {
        return "off".into();
    }
    spans.iter().map(|s| format!("{}-{}", s.opens, s.closes)).collect::<Vec<_>>().join(",")
}

fn osm_range(p: &Period) -> Option<String> {
    let whole = p.from == MonthDay { month: 1, day: 1 } && p.to == MonthDay { month: 12, day: 31 };
    (!whole).then(|| if p.from == p.to { osm_month_day(p.from) } else { format!("{}-{}", osm_month_day(p.from), osm_month_day(p.to)) })
}

/// Weekday runs with equal spans, e.g. `Mo-Fr 08:00-17:00`.
fn osm_weekly(prefix: &str, w: &Weekly, include_closed: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = 0;
    while d < 7 {
        let start = d;
        while d + 1 < 7 && w.day(d + 1) == w.day(start) {
            d += 1;
        }
        let spans = w.day(start);
        if !spans.is_empty() || include_closed {
            let days = if start == d { DAYS[start].to_string() } else { format!("{}-{}", DAYS[start], DAYS[d]) };
            out.push(format!("{prefix}{days} {}", osm_spans(spans)));
        }
        d += 1;
    }
    out
}

/// Writes a schedule as an `opening_hours` string that [`parse`] reads back to the same hours.
/// Påskafton, which OSM cannot express, is written as dated rules for `years`.
pub fn export_with_years(h: &OpeningHours, years: std::ops::RangeInclusive<i32>) -> String {
    let everyday_24 = |w: &Weekly| (0..7).all(|d| w.day(d) == [TimeSpan::day(HhMm(0), HhMm(1440))]);
    if h.periods.len() == 1
        && osm_range(&h.periods[0]).is_none()
        && everyday_24(&h.periods[0].weekly)
        && h.exceptions.is_empty()
        && h.holidays == HolidayPolicy::default()
    {
        return "24/7".into();
    }
    let mut order: Vec<(usize, &Period)> = h.periods.iter().enumerate().collect();
    order.sort_by_key(|(i, p)| (p.priority, *i));
    let mut rules = Vec::new();
    for (k, (_, p)) in order.iter().enumerate() {
        let weekly = split_at_midnight(&p.weekly);
        match osm_range(p) {
            // The first all-year period needs no "off" days: nothing came before it.
            None => rules.extend(osm_weekly("", &weekly, k != 0)),
            Some(r) => rules.extend(osm_weekly(&format!("{r} "), &weekly, true)),
        }
    }
    let eve_rule = match h.holidays.eves.mode {
        HolidayMode::Normal => None,
        HolidayMode::Closed => Some("off".to_string()),
        HolidayMode::Hours => Some(osm_spans(&h.holidays.eves.spans)),
    };
    if let Some(rule) = &eve_rule {
        rules.push(format!("Dec 24,Dec 31 {rule}"));
        rules.push(format!("Jun 19-25 Fr {rule}"));
    }
    match h.holidays.public_holidays.mode {
        HolidayMode::Normal => {}
        HolidayMode::Closed => rules.push("PH off".into()),
        HolidayMode::Hours => rules.push(format!("PH {}", osm_spans(&h.holidays.public_holidays.spans))),
    }
    if let Some(rule) = &eve_rule {
        let dates: Vec<String> = years
            .filter(|y| calendar::YEARS.contains(y))
            .map(|y| calendar::easter(y) - Duration::days(1))
            .filter(|d| !h.exceptions.iter().any(|e| e.date == *d))
            .map(|d| format!("{} {}", d.year(), osm_month_day(MonthDay::of(d))))
            .collect();
        if !dates.is_empty() {
            rules.push(format!("{} {rule} \"påskafton\"", dates.join(",")));
        }
    }
    for e in &h.exceptions {
        let keyword = if e.spans.is_empty() { "" } else { " open" };
        let comment = if e.reason.is_empty() { String::new() } else { format!("{keyword} \"{}\"", e.reason.replace('"', "'")) };
        rules.push(format!("{} {} {}{comment}", e.date.year(), osm_month_day(MonthDay::of(e.date)), osm_spans(&e.spans)));
    }
    if rules.is_empty() {
        return "off".into();
    }
    rules.join("; ")
}

/// [`export_with_years`] for last year through ten years ahead.
pub fn export(h: &OpeningHours) -> String {
    let y = chrono::Utc::now().year();
    export_with_years(h, y - 1..=y + 10)
}

#[cfg(test)]
mod tests;
