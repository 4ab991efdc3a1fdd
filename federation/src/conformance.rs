//! The vendor.v1 conformance suite: checks a live endpoint against docs/vendor-protocol.md and
//! reports pass, fail or skip per check, with the section it enforces and, on failure, what
//! was sent, what came back and why it is wrong.

use std::time::{Duration, Instant};

use prost_types::Timestamp;
use vendor_proto::v1 as pb;

use crate::engine::VendorApi;
use crate::grpc::GrpcVendor;
use crate::validate;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The endpoint does what the section says.
    Pass,
    /// It does not; `detail` says how.
    Fail,
    /// Not applicable (e.g. an operation the vendor does not offer).
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    /// Stable id, e.g. `availability.window`.
    pub id: &'static str,
    /// The section of docs/vendor-protocol.md it enforces, e.g. `§6`.
    pub section: &'static str,
    /// What it checks, in one line.
    pub title: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was sent, what came back and why it is wrong (failures), or why skipped.
    pub detail: String,
    /// How long the call took, ms.
    pub elapsed_ms: u64,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Unit references the vendor knows (at least one for the availability checks).
    pub units: Vec<String>,
    /// Window start of the availability checks (a weekday evening in the coming weeks is typical).
    pub start: Timestamp,
    /// Whether checks that write (bookings, cleaned up afterwards) may run: the kit run by a
    /// vendor, yes; the registry's own checks of a vendor in production, never.
    pub writes: bool,
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

struct Suite {
    results: Vec<CheckResult>,
}

impl Suite {
    fn add(&mut self, id: &'static str, section: &'static str, title: &'static str, verdict: Verdict, detail: String, elapsed: Duration) {
        self.results.push(CheckResult { id, section, title, verdict, detail, elapsed_ms: elapsed.as_millis() as u64 });
    }
}

/// Runs the suite against `vendor`.
pub async fn run(vendor: &GrpcVendor, o: &Options) -> Vec<CheckResult> {
    let mut s = Suite { results: Vec::new() };
    let t = Instant::now();
    let caps = vendor.capabilities(Duration::from_millis(2000)).await;
    let caps_elapsed = t.elapsed();
    let caps = match caps {
        Ok(c) => {
            let mut wrong = Vec::new();
            if !c.protocol_version.starts_with("1.") {
                wrong.push(format!("protocol_version is '{}', not 1.x", c.protocol_version));
            }
            if !c.operations.contains(&(pb::Operation::CheckAvailability as i32)) {
                wrong.push("operations does not list OPERATION_CHECK_AVAILABILITY".into());
            }
            if c.max_window.as_ref().is_none_or(|d| d.seconds < 86_400) {
                wrong.push("max_window is missing or shorter than 1 day".into());
            }
            if c.max_units_per_call < 1 {
                wrong.push(format!("max_units_per_call is {}", c.max_units_per_call));
            }
            if c.time_zone != "Europe/Stockholm" {
                wrong.push(format!("time_zone is '{}', not Europe/Stockholm", c.time_zone));
            }
            let verdict = if wrong.is_empty() { Verdict::Pass } else { Verdict::Fail };
            s.add(
                "capabilities.well_formed",
                "§5",
                "GetCapabilities states a 1.x version, CheckAvailability, and its limits",
                verdict,
                wrong.join("; "),
                caps_elapsed,
            );
            Some(c)
        }
        Err(e) => {
            s.add(
                "capabilities.well_formed",
                "§5",
                "GetCapabilities states a 1.x version, CheckAvailability, and its limits",
                Verdict::Fail,
                format!("sent GetCapabilities; got {}", status_line(&e)),
                caps_elapsed,
            );
            None
        }
    };
    let budget = |d: Duration, max_ms: u64| if d <= Duration::from_millis(max_ms) { Verdict::Pass } else { Verdict::Fail };
    // A call that failed fast says nothing about the latency; one that ran out of time does.
    let latency = |failed: bool, d: Duration, max_ms: u64| match budget(d, max_ms) {
        Verdict::Pass if failed => (Verdict::Skip, format!("the call failed after {} ms (see above)", d.as_millis())),
        v => (v, format!("took {} ms", d.as_millis())),
    };
    let (v, d) = latency(caps.is_none(), caps_elapsed, 200);
    s.add("latency.capabilities", "§4", "GetCapabilities answers within 200 ms", v, d, caps_elapsed);

    let t = Instant::now();
    match vendor.health(Duration::from_millis(2000)).await {
        Ok(h) if h.status == pb::ServingStatus::Serving as i32 => {
            s.add("health.serving", "§9", "Health says SERVING", Verdict::Pass, String::new(), t.elapsed())
        }
        Ok(h) => {
            s.add("health.serving", "§9", "Health says SERVING", Verdict::Fail, format!("status {} ({})", h.status, h.message), t.elapsed())
        }
        Err(e) => s.add("health.serving", "§9", "Health says SERVING", Verdict::Fail, status_line(&e), t.elapsed()),
    }

    if o.units.is_empty() {
        for (id, section, title) in AVAILABILITY_CHECKS.iter().chain(BOOKING_CHECKS) {
            s.add(id, section, title, Verdict::Skip, "give at least one --unit".into(), Duration::ZERO);
        }
        return s.results;
    }
    let start = o.start.seconds;
    let day = 86_400;
    let ask = |units: Vec<String>, a: i64, b: i64| pb::CheckAvailabilityRequest {
        unit_refs: units,
        start: ts(a),
        end: ts(b),
        ..Default::default()
    };

    // One day for the known units plus one unknown reference.
    let unknown = "conformance-unknown-unit-7f3a".to_string();
    let mut units = o.units.clone();
    units.push(unknown.clone());
    let req = ask(units.clone(), start, start + day);
    let mut first_answer = None;
    let t = Instant::now();
    let res = vendor.check_availability(req.clone(), Duration::from_secs(2)).await;
    let mut elapsed = t.elapsed();
    // An unknown reference must not fail the whole call. If it does, that check fails, and the
    // others ask again without it (not after a timeout: that would only wait twice).
    let mut unknown_failed = false;
    let (req, res) = match res {
        Err(e) if matches!(e.code(), tonic::Code::NotFound | tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition) => {
            s.add(
                "availability.unknown_unit",
                "§6",
                "an unknown reference is reported per unit, not as a failed call",
                Verdict::Fail,
                format!("sent CheckAvailability for {units:?} ('{unknown}' unknown); the whole call failed: {}", status_line(&e)),
                elapsed,
            );
            unknown_failed = true;
            let known = ask(o.units.clone(), start, start + day);
            let t = Instant::now();
            let res = vendor.check_availability(known.clone(), Duration::from_secs(2)).await;
            elapsed = t.elapsed();
            (known, res)
        }
        other => (req, other),
    };
    let units = req.unit_refs.clone();
    match res {
        Ok(resp) => {
            let order: Vec<&str> = resp.units.iter().map(|u| u.unit_ref.as_str()).collect();
            let want: Vec<&str> = units.iter().map(String::as_str).collect();
            let verdict = if order == want { Verdict::Pass } else { Verdict::Fail };
            s.add(
                "availability.order",
                "§6",
                "one entry per asked unit, in the order asked",
                verdict,
                if verdict == Verdict::Fail { format!("asked {want:?}; got {order:?}") } else { String::new() },
                elapsed,
            );
            let unknown_status = resp.units.iter().find(|u| u.unit_ref == unknown).map(|u| u.status);
            let verdict = if unknown_status == Some(pb::UnitStatus::UnknownUnit as i32) { Verdict::Pass } else { Verdict::Fail };
            if !unknown_failed {
                s.add(
                    "availability.unknown_unit",
                    "§6",
                    "an unknown reference is reported per unit, not as a failed call",
                    verdict,
                    if verdict == Verdict::Fail {
                        format!("reference '{unknown}' came back with status {unknown_status:?}")
                    } else {
                        String::new()
                    },
                    elapsed,
                );
            }
            first_answer = Some(resp.clone());
            let checked = validate::check(&req, resp);
            let (mut window, mut order, mut overlap) = (Vec::new(), Vec::new(), Vec::new());
            for p in checked.problems {
                if p.contains("ends before it starts") || p.contains("has no start or end") {
                    order.push(p);
                } else if p.contains("overlaps") {
                    overlap.push(p);
                } else {
                    window.push(p);
                }
            }
            for (id, title, problems) in [
                ("availability.window", WINDOW_TITLE, window),
                ("availability.start_before_end", "every slot starts before it ends", order),
                ("availability.no_overlap", "a unit's free slots do not overlap", overlap),
            ] {
                let verdict = if problems.is_empty() { Verdict::Pass } else { Verdict::Fail };
                s.add(id, "§6", title, verdict, problems.join("; "), elapsed);
            }
        }
        Err(e) => {
            for (id, title) in [
                ("availability.order", "one entry per asked unit, in the order asked"),
                ("availability.unknown_unit", "an unknown reference is reported per unit, not as a failed call"),
                ("availability.window", WINDOW_TITLE),
                ("availability.start_before_end", "every slot starts before it ends"),
                ("availability.no_overlap", "a unit's free slots do not overlap"),
            ] {
                if unknown_failed && id == "availability.unknown_unit" {
                    continue;
                }
                s.add(id, "§6", title, Verdict::Fail, format!("sent CheckAvailability for {units:?}; got {}", status_line(&e)), elapsed);
            }
        }
    }
    let (v, d) = latency(first_answer.is_none(), elapsed, 500);
    s.add("latency.availability", "§4", "CheckAvailability answers within 500 ms", v, d, elapsed);

    // The limits: the specified error, not a timeout and not a truncated answer.
    let expect_invalid = |res: Result<pb::CheckAvailabilityResponse, tonic::Status>, what: &str| match res {
        Err(e) if e.code() == tonic::Code::InvalidArgument => (Verdict::Pass, String::new()),
        Err(e) => (Verdict::Fail, format!("{what}: got {:?} ({}), not INVALID_ARGUMENT", e.code(), e.message())),
        Ok(r) => (Verdict::Fail, format!("{what}: got an answer with {} units, not INVALID_ARGUMENT", r.units.len())),
    };
    let t = Instant::now();
    let res = vendor.check_availability(ask(o.units[..1].to_vec(), start, start), Duration::from_secs(2)).await;
    let (v, d) = expect_invalid(res, "sent a window with end = start");
    s.add("availability.empty_window", "§6", "an empty window is INVALID_ARGUMENT", v, d, t.elapsed());
    match &caps {
        Some(c) => {
            let max_window = c.max_window.as_ref().map_or(day, |d| d.seconds);
            let t = Instant::now();
            let res = vendor.check_availability(ask(o.units[..1].to_vec(), start, start + max_window + day), Duration::from_secs(2)).await;
            let (v, d) = expect_invalid(res, "sent a window one day longer than max_window");
            s.add("availability.max_window", "§6", "a window over max_window is INVALID_ARGUMENT", v, d, t.elapsed());
            let n = c.max_units_per_call.max(1) as usize + 1;
            let many: Vec<String> = (0..n).map(|i| format!("conformance-unit-{i}")).collect();
            let t = Instant::now();
            let res = vendor.check_availability(ask(many, start, start + 3600), Duration::from_secs(2)).await;
            let (v, d) = expect_invalid(res, &format!("sent {n} units (max_units_per_call + 1)"));
            s.add("availability.max_units", "§6", "more units than max_units_per_call is INVALID_ARGUMENT", v, d, t.elapsed());
        }
        None => {
            for (id, title) in [
                ("availability.max_window", "a window over max_window is INVALID_ARGUMENT"),
                ("availability.max_units", "more units than max_units_per_call is INVALID_ARGUMENT"),
            ] {
                s.add(id, "§6", title, Verdict::Skip, "no capabilities to read the limits from".into(), Duration::ZERO);
            }
        }
    }
    // The two DST nights: one call per local day, within max_window.
    let max_window = caps.as_ref().and_then(|c| c.max_window.as_ref()).map_or(day, |d| d.seconds.max(3600));
    let t = Instant::now();
    let (v, d) = dst(vendor, &o.units[0], start, max_window).await;
    s.add("availability.dst", "§3", DST_TITLE, v, d, t.elapsed());

    let booking = caps.as_ref().is_some_and(|c| c.operations.contains(&(pb::Operation::CreateBooking as i32)));
    let skip = |s: &mut Suite, why: &str| {
        for (id, section, title) in BOOKING_CHECKS {
            s.add(id, section, title, Verdict::Skip, why.into(), Duration::ZERO);
        }
    };
    let skip_v1_1 = |s: &mut Suite, why: &str| {
        for (id, section, title) in V1_1_CHECKS {
            s.add(id, section, title, Verdict::Skip, why.into(), Duration::ZERO);
        }
    };
    if !o.writes {
        let why = "checks that write are not run here (the registry never books on a vendor's production units)";
        skip(&mut s, why);
        skip_v1_1(&mut s, why);
    } else if !booking {
        skip(&mut s, "the vendor does not offer OPERATION_CREATE_BOOKING");
        skip_v1_1(&mut s, "the vendor does not offer OPERATION_CREATE_BOOKING");
    } else {
        // The free slots of the first --unit that has one, in the first day of the window.
        let free = first_answer.as_ref().and_then(|r| {
            r.units.iter().filter(|u| o.units.contains(&u.unit_ref)).find_map(|u| {
                let free: Vec<pb::Slot> = u.slots.iter().filter(|x| x.state == pb::SlotState::Free as i32).cloned().collect();
                (!free.is_empty()).then(|| (u.unit_ref.clone(), free))
            })
        });
        match free {
            None => {
                let why = "no free slot on the --unit units in the first day of the window to book (try another --start or --unit)";
                skip(&mut s, why);
                skip_v1_1(&mut s, why);
            }
            Some((unit, free)) => {
                bookings(vendor, &mut s, &unit, &free[0]).await;
                let version = caps.as_ref().map(|c| c.protocol_version.clone()).unwrap_or_default();
                let minor = version.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
                if minor < 1 {
                    skip_v1_1(&mut s, &format!("the vendor states vendor.v1 version '{version}'; these checks are for 1.1"));
                } else if free.len() < 4 {
                    skip_v1_1(&mut s, "fewer than four free slots on the unit in the first day of the window (try another --start)");
                } else {
                    let ops = caps.as_ref().map(|c| c.operations.clone()).unwrap_or_default();
                    v1_1(vendor, &mut s, &ops, &unit, &free[1..4]).await;
                    series(vendor, &mut s, &ops, &unit, &free).await;
                }
            }
        }
    }
    s.results
}

const WINDOW_TITLE: &str = "slots lie inside the asked window, on asked units";
const DST_TITLE: &str = "slots on both DST-change Sundays keep their local wall-clock times";

/// Europe/Stockholm's clock, by the EU rule in force since 1996: summer time (+02:00) from the
/// last Sunday in March 01:00 UTC to the last Sunday in October 01:00 UTC, +01:00 otherwise.
/// Instants are seconds since the Unix epoch.
pub(crate) mod stockholm {
    use chrono::{Datelike, NaiveDate};

    /// The last Sunday of `month` (1–11) in `year`.
    pub fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let last = NaiveDate::from_ymd_opt(year, month + 1, 1).and_then(|d| d.pred_opt()).expect("a valid month");
        last - chrono::Duration::days(i64::from(last.weekday().num_days_from_sunday()))
    }

    /// When summer time starts and ends in `year` (the spring and autumn DST nights).
    pub fn summer_time(year: i32) -> (i64, i64) {
        let at = |d: NaiveDate| d.and_hms_opt(1, 0, 0).expect("a valid time").and_utc().timestamp();
        (at(last_sunday(year, 3)), at(last_sunday(year, 10)))
    }

    /// The UTC offset at instant `t`, seconds.
    pub fn offset(t: i64) -> i64 {
        let year = chrono::DateTime::from_timestamp(t, 0).map_or(1970, |d| d.year());
        let (from, to) = summer_time(year);
        if (from..to).contains(&t) { 7200 } else { 3600 }
    }

    /// Seconds from the epoch to `date` 00:00 on a clock without a zone.
    pub fn naive_seconds(date: NaiveDate) -> i64 {
        date.and_hms_opt(0, 0, 0).expect("a valid time").and_utc().timestamp()
    }

    /// The local date at instant `t`.
    pub fn local_date(t: i64) -> NaiveDate {
        chrono::DateTime::from_timestamp(t + offset(t), 0).map_or(NaiveDate::MIN, |d| d.date_naive())
    }

    /// The instant of the local wall-clock time `seconds` after midnight on `date`: the earlier
    /// of two in the autumn night's repeated hour, none in the spring night's missing hour.
    pub fn instant(date: NaiveDate, seconds: i64) -> Option<i64> {
        let wall = naive_seconds(date) + seconds;
        [7200, 3600].into_iter().map(|o| wall - o).find(|&t| offset(t) == wall - t)
    }

    /// Easter Day in `year` (Gregorian; the anonymous algorithm).
    pub fn easter(year: i32) -> NaiveDate {
        let (a, b, c) = (year % 19, year / 100, year % 100);
        let (d, e) = (b / 4, b % 4);
        let g = (b - (b + 8) / 25 + 1) / 3;
        let h = (19 * a + b - d - g + 15) % 30;
        let l = (32 + 2 * e + 2 * (c / 4) - h - c % 4) % 7;
        let m = (a + 11 * h + 22 * l) / 451;
        let n = h + l - 7 * m + 114;
        NaiveDate::from_ymd_opt(year, (n / 31) as u32, (n % 31 + 1) as u32).expect("a valid date")
    }
}

/// One day's slots as local wall-clock times: (start, end) in minutes after that day's local
/// midnight (an end at the next midnight is 24:00).
type WallClock = std::collections::BTreeSet<(i64, i64)>;

/// Whether a slot is compared across days: not if it starts or ends within 02:00–03:00, the
/// hour that does not exist on the spring night and happens twice on the autumn night.
fn outside_dst_hour(&(start, end): &(i64, i64)) -> bool {
    !(120..=180).contains(&start) && !(120..=180).contains(&end)
}

fn hh_mm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes.div_euclid(60), minutes.rem_euclid(60))
}

/// Wall-clock slots, short: back-to-back runs of one length as a span.
fn show(times: &WallClock) -> String {
    if times.is_empty() {
        return "no slots".into();
    }
    let v: Vec<(i64, i64)> = times.iter().copied().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let len = v[i].1 - v[i].0;
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[j].1 && v[j + 1].1 - v[j + 1].0 == len {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}–{} ({} slots of {} min)", hh_mm(v[i].0), hh_mm(v[j].1), j - i + 1, len));
        } else {
            parts.extend(v[i..=j].iter().map(|x| format!("{}–{}", hh_mm(x.0), hh_mm(x.1))));
        }
        i = j + 1;
    }
    parts.join(", ")
}

/// What one DST night shows.
#[derive(Debug, PartialEq)]
enum Night {
    /// The DST Sunday keeps the wall-clock times of a Sunday around it.
    Pass,
    /// Why it is wrong.
    Fail(String),
    /// Why it cannot be judged.
    Unknown(String),
}

/// Judges the Sunday `days[1]` of a DST night against the Sundays a week before and after.
fn judge(days: [(chrono::NaiveDate, &WallClock); 3]) -> Night {
    let [(before, b), (day, d), (after, a)] = days;
    let compared = |x: &WallClock| x.iter().filter(|s| outside_dst_hour(s)).copied().collect::<WallClock>();
    let (b, d, a) = (compared(b), compared(d), compared(a));
    // A fixed offset: the same times, all an hour later or earlier after the change.
    if !b.is_empty() && !a.is_empty() && b != a {
        for shift in [60, -60] {
            let moved = |x: &(i64, i64)| (x.0 + shift, x.1 + shift);
            let inside = |x: &(i64, i64)| x.0 >= 0 && x.1 <= 1440 && outside_dst_hour(x);
            let early: WallClock = b.iter().filter(|x| inside(x) && inside(&moved(x))).map(moved).collect();
            let late: WallClock = a.iter().filter(|x| inside(x) && inside(&(x.0 - shift, x.1 - shift))).copied().collect();
            if !early.is_empty() && early == late && early.len() == b.len() && late.len() == a.len() {
                let way = if shift > 0 { "later" } else { "earlier" };
                return Night::Fail(format!(
                    "every time on {after} is an hour {way} than on {before}: the slots are computed with a fixed UTC offset, \
                     not with Europe/Stockholm's rules"
                ));
            }
        }
    }
    if d.is_empty() {
        return Night::Unknown(format!("no slots on {day}"));
    }
    let others: Vec<&WallClock> = [&b, &a].into_iter().filter(|x| !x.is_empty()).collect();
    if others.is_empty() {
        return Night::Unknown(format!("no slots on {before} or {after} to compare {day} with"));
    }
    if others.contains(&&d) {
        return Night::Pass;
    }
    if day == stockholm::easter(chrono::Datelike::year(&day)) {
        return Night::Unknown(format!("{day} is Easter Day, whose hours may differ from other Sundays'"));
    }
    Night::Fail(format!(
        "the times on {day} match neither Sunday around it: a slot computed with the UTC offset of the wrong side of the \
         change (e.g. the offset at midnight) comes out an hour off"
    ))
}

/// `availability.dst`: on the next spring and autumn DST Sundays after `start`, and on the
/// Sundays a week before and after each, `unit`'s slots as local wall-clock times.
async fn dst(vendor: &GrpcVendor, unit: &str, start: i64, max_window: i64) -> (Verdict, String) {
    use stockholm::{instant, local_date, naive_seconds, offset, summer_time};
    let year = chrono::Datelike::year(&local_date(start));
    let next = |which: fn((i64, i64)) -> i64| (year..=year + 1).map(|y| which(summer_time(y))).find(|&t| t > start).unwrap_or(start);
    let nights = [("spring", local_date(next(|s| s.0))), ("autumn", local_date(next(|s| s.1)))];
    let utc =
        |t: i64| chrono::DateTime::from_timestamp(t, 0).map_or(t.to_string(), |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (mut failed, mut unknown, mut passed) = (Vec::new(), Vec::new(), 0);
    for (name, sunday) in nights {
        let week = chrono::Duration::days(7);
        let mut days: Vec<(chrono::NaiveDate, WallClock)> = Vec::new();
        let mut windows = Vec::new();
        for date in [sunday - week, sunday, sunday + week] {
            let midnight = |d: chrono::NaiveDate| instant(d, 0).unwrap_or_else(|| naive_seconds(d) - 3600);
            let (a, b) = (midnight(date), midnight(date + chrono::Duration::days(1)));
            windows.push(format!("{}–{}", utc(a), utc(b)));
            let mut times = WallClock::new();
            let mut from = a;
            while from < b {
                let to = (from + max_window).min(b);
                let req =
                    pb::CheckAvailabilityRequest { unit_refs: vec![unit.to_string()], start: ts(from), end: ts(to), ..Default::default() };
                match vendor.check_availability(req, Duration::from_secs(2)).await {
                    Ok(resp) => {
                        let slots = resp.units.iter().filter(|u| u.unit_ref == unit).flat_map(|u| &u.slots);
                        for (s, e) in slots.filter_map(|x| Some((x.start?.seconds, x.end?.seconds))) {
                            if (a..b).contains(&s) && e > s {
                                let wall = |t: i64| (t + offset(t) - naive_seconds(date)).div_euclid(60);
                                times.insert((wall(s), wall(e)));
                            }
                        }
                    }
                    Err(e) => {
                        return (
                            Verdict::Fail,
                            format!(
                                "sent CheckAvailability for ['{unit}'] {}–{} (the local day {date}, around the {name} DST night); got {}",
                                utc(from),
                                utc(to),
                                status_line(&e)
                            ),
                        );
                    }
                }
                from = to;
            }
            days.push((date, times));
        }
        match judge([(days[0].0, &days[0].1), (days[1].0, &days[1].1), (days[2].0, &days[2].1)]) {
            Night::Pass => passed += 1,
            Night::Fail(why) => failed.push(format!(
                "{name} DST night: asked for '{unit}' on the local Sundays {} ({}); local times came back as {}; {why}",
                days.iter().map(|d| d.0.to_string()).collect::<Vec<_>>().join(", "),
                windows.join(", "),
                days.iter().map(|(d, t)| format!("{d}: {}", show(t))).collect::<Vec<_>>().join("; "),
            )),
            Night::Unknown(why) => unknown.push(format!("{name} DST night ({sunday}) not compared: {why}")),
        }
    }
    if !failed.is_empty() {
        (Verdict::Fail, failed.into_iter().chain(unknown).collect::<Vec<_>>().join(" / "))
    } else if passed > 0 {
        (Verdict::Pass, unknown.join("; "))
    } else {
        (
            Verdict::Skip,
            format!(
                "no slots on the DST Sundays or the Sundays around them to compare ({}); try a --unit that is open on Sundays, \
                 bookable that far ahead",
                unknown.join("; ")
            ),
        )
    }
}

/// The availability checks, listed (and skipped) when they cannot run.
const AVAILABILITY_CHECKS: &[(&str, &str, &str)] = &[
    ("availability.order", "§6", "one entry per asked unit, in the order asked"),
    ("availability.unknown_unit", "§6", "an unknown reference is reported per unit, not as a failed call"),
    ("availability.window", "§6", WINDOW_TITLE),
    ("availability.start_before_end", "§6", "every slot starts before it ends"),
    ("availability.no_overlap", "§6", "a unit's free slots do not overlap"),
    ("latency.availability", "§4", "CheckAvailability answers within 500 ms"),
    ("availability.empty_window", "§6", "an empty window is INVALID_ARGUMENT"),
    ("availability.max_window", "§6", "a window over max_window is INVALID_ARGUMENT"),
    ("availability.max_units", "§6", "more units than max_units_per_call is INVALID_ARGUMENT"),
    ("availability.dst", "§3", DST_TITLE),
];

/// The checks that write: a booking made, looked at, refused, cancelled and freed again.
const BOOKING_CHECKS: &[(&str, &str, &str)] = &[
    ("booking.create", "§7", "a free slot can be booked directly: CONFIRMED, on that unit and time"),
    ("booking.no_longer_free", "§7", "a booked slot no longer appears as free"),
    ("booking.idempotent_create", "§7", "the same key with the same request returns the same booking"),
    ("booking.idempotency_key_reused", "§7", "the same key with another request is ALREADY_EXISTS / IDEMPOTENCY_KEY_REUSED"),
    ("booking.slot_unavailable", "§7", "booking a taken slot is FAILED_PRECONDITION / SLOT_UNAVAILABLE"),
    ("booking.get", "§8", "GetBooking returns the booking as it stands"),
    ("booking.get_unknown", "§8", "GetBooking of an unknown id is NOT_FOUND"),
    ("booking.cancel", "§8", "CancelBooking makes it CANCELLED"),
    ("booking.cancel_idempotent", "§8", "cancelling a cancelled booking returns it unchanged"),
    ("booking.freed", "§8", "a cancelled booking's slot is free again"),
    ("errors.error_info", "§10", "refusals carry google.rpc.ErrorInfo with domain vendor.v1 and the reason"),
    ("latency.booking", "§4", "CreateBooking, GetBooking and CancelBooking answer within 2 s"),
];

const WRITE_DEADLINE: Duration = Duration::from_secs(5);

fn status_line(e: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    let line = match e.get_details_error_info() {
        Some(i) => format!("{:?} ({}/{}): {}", e.code(), i.domain, i.reason, e.message()),
        None => format!("{:?} (no ErrorInfo): {}", e.code(), e.message()),
    };
    // Transport errors bury the TLS reason in the source chain: name it.
    let mut chain = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(&format!(" / {s}"));
        source = s.source();
    }
    let all = format!("{line}{chain}");
    let hint = if all.contains("UnknownIssuer") {
        " — TLS: the vendor's certificate is not signed by the CA given with --ca (or the system's roots)"
    } else if all.contains("NotValidForName") {
        " — TLS: the vendor's certificate is not for this host name"
    } else if all.contains("certificate") || all.contains("handshake") || all.contains("alert") {
        " — TLS: the handshake failed (a client certificate missing or refused?)"
    } else {
        ""
    };
    format!("{line}{chain}{hint}")
}

/// Whether `e` has the status code the spec names (`errors.error_info` checks its details).
fn refusal(e: &tonic::Status, code: tonic::Code, reason: &str) -> Result<(), String> {
    if e.code() != code {
        return Err(format!("got {}, not {code:?} / {reason}", status_line(e)));
    }
    Ok(())
}

/// What is wrong with a refusal's `google.rpc.ErrorInfo`, if anything.
fn error_info_problem(e: &tonic::Status, what: &str, reason: &str) -> Option<String> {
    use tonic_types::StatusExt;
    match e.get_details_error_info() {
        Some(i) if i.domain == "vendor.v1" && i.reason == reason => None,
        _ => Some(format!("{what}: got {}, not ErrorInfo vendor.v1 / {reason}", status_line(e))),
    }
}

/// Awaits `fut`, keeping the slowest time seen.
async fn timed<T>(slowest: &mut Duration, fut: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let r = fut.await;
    let elapsed = t.elapsed();
    *slowest = (*slowest).max(elapsed);
    (r, elapsed)
}

/// The state of `slot` (by start) on `unit` now, or None if it is not listed.
async fn slot_state(vendor: &GrpcVendor, unit: &str, slot: &pb::Slot) -> Result<Option<i32>, String> {
    let (start, end) = (slot.start, slot.end);
    let req = pb::CheckAvailabilityRequest { unit_refs: vec![unit.to_string()], start, end, ..Default::default() };
    match vendor.check_availability(req, Duration::from_secs(2)).await {
        Ok(r) => Ok(r.units.iter().find(|u| u.unit_ref == unit).and_then(|u| u.slots.iter().find(|x| x.start == start).map(|x| x.state))),
        Err(e) => Err(format!("CheckAvailability of the slot: {}", status_line(&e))),
    }
}

/// The booking checks on one free slot. Every booking made is cancelled at the end, whatever
/// failed on the way.
async fn bookings(vendor: &GrpcVendor, s: &mut Suite, unit: &str, slot: &pb::Slot) {
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let key = format!("conformance-{run}");
    let request = |key: &str, slot: &pb::Slot, name: &str| pb::CreateBookingRequest {
        idempotency_key: key.into(),
        unit_ref: unit.into(),
        start: slot.start,
        end: slot.end,
        mode: pb::BookingMode::Direct as i32,
        customer: Some(pb::Customer {
            r#type: pb::CustomerType::PrivatePerson as i32,
            name: name.into(),
            email: "conformance@example.se".into(),
            ..Default::default()
        }),
        payment_method: pb::PaymentMethod::Invoice as i32,
        message: "vendor.v1 conformance check; cancelled at once".into(),
        ..Default::default()
    };
    let when = |x: &pb::Slot| format!("{unit} {}–{}", x.start.as_ref().map_or(0, |t| t.seconds), x.end.as_ref().map_or(0, |t| t.seconds));
    let mut made: Vec<String> = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut error_info: Vec<String> = Vec::new();
    // booking.create
    let first = request(&key, slot, "Conformance Kit");
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.create_booking(first.clone(), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) })
            .await;
    let booking = match r {
        Ok(b) => {
            made.push(b.booking_id.clone());
            let mut wrong = Vec::new();
            if b.status != pb::BookingStatus::Confirmed as i32 {
                wrong.push(format!("status {}", b.status));
            }
            if b.unit_ref != unit || b.start != slot.start || b.end != slot.end {
                wrong.push(format!("booked {} {:?}–{:?}", b.unit_ref, b.start, b.end));
            }
            if b.booking_id.is_empty() {
                wrong.push("no booking_id".into());
            }
            let v = if wrong.is_empty() { Verdict::Pass } else { Verdict::Fail };
            let d = if wrong.is_empty() { String::new() } else { format!("booked {} directly; got {}", when(slot), wrong.join(", ")) };
            s.add("booking.create", "§7", BOOKING_CHECKS[0].2, v, d, elapsed);
            Some(b)
        }
        Err(e) => {
            s.add(
                "booking.create",
                "§7",
                BOOKING_CHECKS[0].2,
                Verdict::Fail,
                format!("booked {} directly; got {}", when(slot), status_line(&e)),
                elapsed,
            );
            None
        }
    };
    let Some(booking) = booking else {
        for (id, section, title) in &BOOKING_CHECKS[1..] {
            s.add(id, section, title, Verdict::Skip, "no booking was made (booking.create failed)".into(), Duration::ZERO);
        }
        return;
    };

    // booking.no_longer_free
    let t = Instant::now();
    let (v, d) = match slot_state(vendor, unit, slot).await {
        Ok(Some(x)) if x == pb::SlotState::Free as i32 => (Verdict::Fail, format!("after booking {}, the slot is still FREE", when(slot))),
        Ok(_) => (Verdict::Pass, String::new()),
        Err(e) => (Verdict::Fail, e),
    };
    s.add("booking.no_longer_free", "§7", BOOKING_CHECKS[1].2, v, d, t.elapsed());

    // booking.idempotent_create
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.create_booking(first.clone(), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) })
            .await;
    let (v, d) = match r {
        Ok(b) if b.booking_id == booking.booking_id => (Verdict::Pass, String::new()),
        Ok(b) => {
            made.push(b.booking_id.clone());
            (
                Verdict::Fail,
                format!(
                    "sent the same request with key '{key}' again; got another booking {} (first {})",
                    b.booking_id, booking.booking_id
                ),
            )
        }
        Err(e) => (Verdict::Fail, format!("sent the same request with key '{key}' again; got {}", status_line(&e))),
    };
    s.add("booking.idempotent_create", "§7", BOOKING_CHECKS[2].2, v, d, elapsed);

    // booking.idempotency_key_reused: the same key, another customer name.
    let (r, elapsed) = timed(&mut slowest, async {
        vendor.create_booking(request(&key, slot, "Another Name"), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default())
    })
    .await;
    let (v, d) = match r {
        Err(e) => match refusal(&e, tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED") {
            Ok(()) => {
                error_info.extend(error_info_problem(&e, "a reused key", "IDEMPOTENCY_KEY_REUSED"));
                (Verdict::Pass, String::new())
            }
            Err(why) => (Verdict::Fail, format!("sent key '{key}' with another customer name; {why}")),
        },
        Ok(b) => {
            if b.booking_id != booking.booking_id {
                made.push(b.booking_id.clone());
            }
            (Verdict::Fail, format!("sent key '{key}' with another customer name; got booking {} instead of ALREADY_EXISTS", b.booking_id))
        }
    };
    s.add("booking.idempotency_key_reused", "§7", BOOKING_CHECKS[3].2, v, d, elapsed);

    // booking.slot_unavailable: a new key, the taken slot.
    let other = format!("conformance-{run}-taken");
    let (r, elapsed) = timed(&mut slowest, async {
        vendor.create_booking(request(&other, slot, "Conformance Kit"), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default())
    })
    .await;
    let (v, d) = match r {
        Err(e) => match refusal(&e, tonic::Code::FailedPrecondition, "SLOT_UNAVAILABLE") {
            Ok(()) => {
                error_info.extend(error_info_problem(&e, "a taken slot", "SLOT_UNAVAILABLE"));
                (Verdict::Pass, String::new())
            }
            Err(why) => (Verdict::Fail, format!("booked the taken {} with a new key; {why}", when(slot))),
        },
        Ok(b) => {
            made.push(b.booking_id.clone());
            (
                Verdict::Fail,
                format!("booked the taken {} with a new key; got a second booking {} (double booking)", when(slot), b.booking_id),
            )
        }
    };
    s.add("booking.slot_unavailable", "§7", BOOKING_CHECKS[4].2, v, d, elapsed);

    // booking.get
    let id = booking.booking_id.clone();
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.get_booking(&id, WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) }).await;
    let (v, d) = match r {
        Ok(b) if b.booking_id == id && b.status == pb::BookingStatus::Confirmed as i32 && b.start == slot.start => {
            (Verdict::Pass, String::new())
        }
        Ok(b) => (
            Verdict::Fail,
            format!("GetBooking '{id}' returned booking '{}' with status {} and start {:?}", b.booking_id, b.status, b.start),
        ),
        Err(e) => (Verdict::Fail, format!("GetBooking '{id}': {}", status_line(&e))),
    };
    s.add("booking.get", "§8", BOOKING_CHECKS[5].2, v, d, elapsed);

    // booking.get_unknown
    let unknown = format!("conformance-unknown-{run}");
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.get_booking(&unknown, WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) }).await;
    let (v, d) = match r {
        Err(e) => match refusal(&e, tonic::Code::NotFound, "UNKNOWN_BOOKING") {
            Ok(()) => {
                error_info.extend(error_info_problem(&e, "an unknown booking", "UNKNOWN_BOOKING"));
                (Verdict::Pass, String::new())
            }
            Err(why) => (Verdict::Fail, format!("GetBooking '{unknown}'; {why}")),
        },
        Ok(b) => (Verdict::Fail, format!("GetBooking '{unknown}' returned booking '{}'", b.booking_id)),
    };
    s.add("booking.get_unknown", "§8", BOOKING_CHECKS[6].2, v, d, elapsed);

    // booking.cancel and booking.cancel_idempotent
    let reason = "vendor.v1 conformance check";
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) })
            .await;
    let cancelled = match r {
        Ok(b) if b.status == pb::BookingStatus::Cancelled as i32 => {
            s.add("booking.cancel", "§8", BOOKING_CHECKS[7].2, Verdict::Pass, String::new(), elapsed);
            Some(b)
        }
        Ok(b) => {
            s.add(
                "booking.cancel",
                "§8",
                BOOKING_CHECKS[7].2,
                Verdict::Fail,
                format!("CancelBooking '{id}' returned status {}", b.status),
                elapsed,
            );
            None
        }
        Err(e) => {
            s.add(
                "booking.cancel",
                "§8",
                BOOKING_CHECKS[7].2,
                Verdict::Fail,
                format!("CancelBooking '{id}': {}", status_line(&e)),
                elapsed,
            );
            None
        }
    };
    let (r, elapsed) =
        timed(&mut slowest, async { vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default()) })
            .await;
    let (v, d) = match (r, &cancelled) {
        (Ok(b), Some(c)) if b.status == pb::BookingStatus::Cancelled as i32 && b.updated_at == c.updated_at => {
            (Verdict::Pass, String::new())
        }
        // The first answer was wrong (booking.cancel says so); this one is judged on its own.
        (Ok(b), None) if b.status == pb::BookingStatus::Cancelled as i32 => (Verdict::Pass, String::new()),
        (Ok(b), _) => (Verdict::Fail, format!("cancelling '{id}' again returned status {} updated at {:?}", b.status, b.updated_at)),
        (Err(e), _) => (Verdict::Fail, format!("cancelling '{id}' again: {}", status_line(&e))),
    };
    s.add("booking.cancel_idempotent", "§8", BOOKING_CHECKS[8].2, v, d, elapsed);

    // Whatever else was made (a double booking, a second booking under one key) goes first,
    // so that the slot can be free again.
    for extra in made.iter().filter(|b| **b != id) {
        let _ = vendor.cancel_booking(extra, reason, WRITE_DEADLINE).await;
    }

    // booking.freed
    let t = Instant::now();
    let (v, d) = match slot_state(vendor, unit, slot).await {
        Ok(Some(x)) if x == pb::SlotState::Free as i32 => (Verdict::Pass, String::new()),
        Ok(x) => (Verdict::Fail, format!("after cancelling, {} is {:?}, not FREE", when(slot), x)),
        Err(e) => (Verdict::Fail, e),
    };
    s.add("booking.freed", "§8", BOOKING_CHECKS[9].2, v, d, t.elapsed());

    let v = if error_info.is_empty() { Verdict::Pass } else { Verdict::Fail };
    s.add("errors.error_info", "§10", BOOKING_CHECKS[10].2, v, error_info.join("; "), Duration::ZERO);
    let v = if slowest <= Duration::from_secs(2) { Verdict::Pass } else { Verdict::Fail };
    s.add("latency.booking", "§4", BOOKING_CHECKS[11].2, v, format!("slowest took {} ms", slowest.as_millis()), slowest);
}

/// The checks of vendor.v1.1: §14–§17 on three free slots after the one the 1.0 checks used,
/// then §18 (`series.*`) on a slot of that day that is free four weeks running.
const V1_1_CHECKS: &[(&str, &str, &str)] = &[
    ("customer.reference", "§14", "a booking keeps and echoes its customer reference"),
    ("list.by_reference", "§15", "ListBookings lists the caller's bookings of a reference, and none of an unused one"),
    ("list.paging", "§15", "ListBookings keeps page_size and its pages chain to the last"),
    ("list.invalid", "§15", "ListBookings without references is INVALID_ARGUMENT"),
    ("history.steps", "§15", "a booking's history lists its creation, move and cancellation in order"),
    ("move.taken", "§16", "a move onto taken time is SLOT_UNAVAILABLE and the booking keeps its time"),
    ("move.moves", "§16", "MoveBooking keeps the id, books the new time and frees the old"),
    ("move.idempotent", "§16", "the same move key answers the booking; with another move, ALREADY_EXISTS"),
    ("request.complete_illegal", "§16", "CompleteRequest of a confirmed booking is FAILED_PRECONDITION"),
    ("changes.feed", "§17", "ListChanges lists each change of the caller's bookings once, in order, then nothing new"),
    ("series.atomic", "§18", "an atomic series with a taken week creates nothing and reports that week CONFLICT, not an error"),
    ("series.creates", "§18", "CreateSeries books each free week, each a booking as GetBooking and ListBookings show it"),
    ("series.excluded", "§18", "an excluded date is reported EXCLUDED and left free"),
    ("series.idempotent", "§18", "the same series key answers the same series; with another series, ALREADY_EXISTS"),
    ("series.invalid", "§18", "malformed series are INVALID_ARGUMENT naming the field; an unknown unit NOT_FOUND"),
];

/// The ids of the CreateSeries checks (§18), which run on their own after the other 1.1 checks.
const SERIES_IDS: [&str; 5] = ["series.atomic", "series.creates", "series.excluded", "series.idempotent", "series.invalid"];

fn v1_1_title(id: &str) -> &'static str {
    V1_1_CHECKS.iter().find(|c| c.0 == id).map_or("", |c| c.2)
}

fn v1_1_section(id: &str) -> &'static str {
    V1_1_CHECKS.iter().find(|c| c.0 == id).map_or("", |c| c.1)
}

/// The statuses of a booking's history: confirmed, once more per move, then cancelled.
fn expected_steps(moves: usize) -> Vec<i32> {
    let confirmed = pb::BookingStatus::Confirmed as i32;
    std::iter::repeat_n(confirmed, 1 + moves).chain([pb::BookingStatus::Cancelled as i32]).collect()
}

/// The vendor.v1.1 checks: two bookings with one customer reference on `slots[0]` and
/// `slots[1]`, listed, paged, moved (onto taken time, then to `slots[2]`), completed where
/// that is illegal, cancelled, and read back from the history and the change feed.
async fn v1_1(vendor: &GrpcVendor, s: &mut Suite, ops: &[i32], unit: &str, slots: &[pb::Slot]) {
    let has = |op: pb::Operation| ops.contains(&(op as i32));
    let add = |s: &mut Suite, id: &'static str, v: Verdict, d: String, e: Duration| {
        let id = V1_1_CHECKS.iter().find(|c| c.0 == id).map_or(id, |c| c.0);
        s.add(id, v1_1_section(id), v1_1_title(id), v, d, e);
    };
    let verdict = |wrong: &[String]| if wrong.is_empty() { Verdict::Pass } else { Verdict::Fail };
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let reference = format!("conformance-{run}");
    let at = |x: &pb::Slot| x.start.as_ref().map_or(0, |t| t.seconds);
    let (s1, s2, s3) = (&slots[0], &slots[1], &slots[2]);
    // Where the feed stands before anything is made.
    let cursor = if has(pb::Operation::ListChanges) {
        vendor
            .list_changes(pb::ListChangesRequest { latest: true, ..Default::default() }, WRITE_DEADLINE)
            .await
            .map(|r| r.next_cursor)
            .map_err(|e| status_line(&e))
    } else {
        Err("the vendor does not offer OPERATION_LIST_CHANGES".into())
    };
    let request = |key: String, slot: &pb::Slot| pb::CreateBookingRequest {
        idempotency_key: key,
        unit_ref: unit.into(),
        start: slot.start,
        end: slot.end,
        mode: pb::BookingMode::Direct as i32,
        customer: Some(pb::Customer {
            r#type: pb::CustomerType::PrivatePerson as i32,
            name: "Conformance Kit".into(),
            email: "conformance@example.se".into(),
            reference: reference.clone(),
            ..Default::default()
        }),
        payment_method: pb::PaymentMethod::Invoice as i32,
        message: "vendor.v1.1 conformance check; cancelled at once".into(),
        ..Default::default()
    };
    let t = Instant::now();
    let a = vendor.create_booking(request(format!("conformance-{run}-a"), s1), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default());
    let b = vendor.create_booking(request(format!("conformance-{run}-b"), s2), WRITE_DEADLINE).await.map(|r| r.booking.unwrap_or_default());
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for made in [a.as_ref().ok(), b.as_ref().ok()].into_iter().flatten() {
                let _ = vendor.cancel_booking(&made.booking_id, "vendor.v1.1 conformance check", WRITE_DEADLINE).await;
            }
            let why = [a.err(), b.err()].into_iter().flatten().map(|e| status_line(&e)).collect::<Vec<_>>().join("; ");
            add(s, "customer.reference", Verdict::Fail, format!("booked two free slots with a reference; got {why}"), t.elapsed());
            for (id, _, _) in V1_1_CHECKS[1..].iter().filter(|c| !SERIES_IDS.contains(&c.0)) {
                add(s, id, Verdict::Skip, "no bookings were made (customer.reference failed)".into(), Duration::ZERO);
            }
            return;
        }
    };
    let ids = [a.booking_id.clone(), b.booking_id.clone()];

    // customer.reference
    let mut wrong = Vec::new();
    if a.customer_reference != reference {
        wrong.push(format!("CreateBooking answered customer_reference '{}'", a.customer_reference));
    }
    match vendor.get_booking(&a.booking_id, WRITE_DEADLINE).await {
        Ok(r) if r.booking.as_ref().is_some_and(|x| x.customer_reference == reference) => {}
        Ok(r) => wrong.push(format!("GetBooking answered customer_reference '{}'", r.booking.unwrap_or_default().customer_reference)),
        Err(e) => wrong.push(format!("GetBooking: {}", status_line(&e))),
    }
    let d = if wrong.is_empty() { String::new() } else { format!("booked with reference '{reference}'; {}", wrong.join("; ")) };
    add(s, "customer.reference", verdict(&wrong), d, t.elapsed());

    // list.by_reference, list.paging, list.invalid
    let window = |page_size: i32, page_token: String, refs: Vec<String>| pb::ListBookingsRequest {
        customer_references: refs,
        start: Some(Timestamp { seconds: at(s1) - 86_400, nanos: 0 }),
        end: Some(Timestamp { seconds: at(s3) + 2 * 86_400, nanos: 0 }),
        page_size,
        page_token,
    };
    if has(pb::Operation::ListBookings) {
        let t = Instant::now();
        let mut wrong = Vec::new();
        match vendor.list_bookings(window(100, String::new(), vec![reference.clone()]), WRITE_DEADLINE).await {
            Ok(r) => {
                let listed: Vec<&str> = r.bookings.iter().map(|x| x.booking_id.as_str()).collect();
                if !ids.iter().all(|id| listed.contains(&id.as_str())) {
                    wrong.push(format!("listing reference '{reference}' gave {listed:?}, not both of {ids:?}"));
                }
            }
            Err(e) => wrong.push(format!("listing reference '{reference}': {}", status_line(&e))),
        }
        let unused = format!("{reference}-unused");
        match vendor.list_bookings(window(100, String::new(), vec![unused.clone()]), WRITE_DEADLINE).await {
            Ok(r) if r.bookings.is_empty() => {}
            Ok(r) => wrong.push(format!("listing the unused reference '{unused}' gave {} bookings", r.bookings.len())),
            Err(e) => wrong.push(format!("listing the unused reference '{unused}': {}", status_line(&e))),
        }
        add(s, "list.by_reference", verdict(&wrong), wrong.join("; "), t.elapsed());

        let t = Instant::now();
        let mut wrong = Vec::new();
        let (mut token, mut seen, mut pages) = (String::new(), Vec::<String>::new(), 0);
        loop {
            pages += 1;
            match vendor.list_bookings(window(1, token.clone(), vec![reference.clone()]), WRITE_DEADLINE).await {
                Ok(r) => {
                    if r.bookings.len() > 1 {
                        wrong.push(format!("page {pages} of page_size 1 held {} bookings", r.bookings.len()));
                        break;
                    }
                    seen.extend(r.bookings.into_iter().map(|x| x.booking_id));
                    token = r.next_page_token;
                }
                Err(e) => {
                    wrong.push(format!("page {pages}: {}", status_line(&e)));
                    break;
                }
            }
            if token.is_empty() || pages >= 10 {
                break;
            }
        }
        if wrong.is_empty() {
            let mut distinct = seen.clone();
            distinct.sort();
            distinct.dedup();
            if !token.is_empty() {
                wrong.push("ten pages of one booking never reached the last page".into());
            } else if distinct.len() != seen.len() || !ids.iter().all(|id| seen.contains(id)) {
                wrong.push(format!("the pages listed {seen:?}, not each of {ids:?} once"));
            }
        }
        add(s, "list.paging", verdict(&wrong), wrong.join("; "), t.elapsed());

        let t = Instant::now();
        let (v, d) = match vendor.list_bookings(window(0, String::new(), vec![]), WRITE_DEADLINE).await {
            Err(e) if e.code() == tonic::Code::InvalidArgument => (Verdict::Pass, String::new()),
            Err(e) => (Verdict::Fail, format!("listed with no references; got {}, not INVALID_ARGUMENT", status_line(&e))),
            Ok(r) => (Verdict::Fail, format!("listed with no references; got {} bookings, not INVALID_ARGUMENT", r.bookings.len())),
        };
        add(s, "list.invalid", v, d, t.elapsed());
    } else {
        for id in ["list.by_reference", "list.paging", "list.invalid"] {
            add(s, id, Verdict::Skip, "the vendor does not offer OPERATION_LIST_BOOKINGS".into(), Duration::ZERO);
        }
    }

    // move.taken, move.moves, move.idempotent
    // Moves made, as the answers tell: each is a step in the history and the feed.
    let mut moves = 0;
    let move_to = |key: &str, slot: &pb::Slot| pb::MoveBookingRequest {
        booking_id: a.booking_id.clone(),
        idempotency_key: format!("conformance-{run}-{key}"),
        unit_ref: String::new(),
        start: slot.start,
        end: slot.end,
    };
    if has(pb::Operation::MoveBooking) {
        let t = Instant::now();
        let mut wrong = Vec::new();
        match vendor.move_booking(move_to("m1", s2), WRITE_DEADLINE).await {
            Err(e) => {
                if let Err(why) = refusal(&e, tonic::Code::FailedPrecondition, "SLOT_UNAVAILABLE") {
                    wrong.push(format!("moved onto the taken {}; {why}", at(s2)));
                }
            }
            Ok(_) => wrong.push(format!("moved onto the taken {} (booking '{}' holds it): the move was made", at(s2), b.booking_id)),
        }
        match vendor.get_booking(&a.booking_id, WRITE_DEADLINE).await {
            Ok(r) => {
                let x = r.booking.unwrap_or_default();
                if x.status != pb::BookingStatus::Confirmed as i32 || x.start != s1.start {
                    wrong.push(format!("afterwards the booking is status {} at {:?}, not CONFIRMED at {}", x.status, x.start, at(s1)));
                }
            }
            Err(e) => wrong.push(format!("GetBooking afterwards: {}", status_line(&e))),
        }
        add(s, "move.taken", verdict(&wrong), wrong.join("; "), t.elapsed());

        let t = Instant::now();
        let mut wrong = Vec::new();
        match vendor.move_booking(move_to("m2", s3), WRITE_DEADLINE).await {
            Ok(r) => {
                let x = r.booking.unwrap_or_default();
                if x.booking_id != a.booking_id || x.start != s3.start || x.status != pb::BookingStatus::Confirmed as i32 {
                    wrong.push(format!(
                        "moved to {}; got booking '{}' status {} at {:?}, not '{}' CONFIRMED at {}",
                        at(s3),
                        x.booking_id,
                        x.status,
                        x.start,
                        a.booking_id,
                        at(s3)
                    ));
                } else {
                    moves += 1;
                }
                match slot_state(vendor, unit, s3).await {
                    Ok(Some(x)) if x == pb::SlotState::Free as i32 => wrong.push(format!("the new time {} is still FREE", at(s3))),
                    Ok(_) => {}
                    Err(e) => wrong.push(e),
                }
                match slot_state(vendor, unit, s1).await {
                    Ok(Some(x)) if x == pb::SlotState::Free as i32 => {}
                    Ok(x) => wrong.push(format!("the old time {} is {x:?}, not FREE", at(s1))),
                    Err(e) => wrong.push(e),
                }
            }
            Err(e) => wrong.push(format!("moved to the free {}; got {}", at(s3), status_line(&e))),
        }
        add(s, "move.moves", verdict(&wrong), wrong.join("; "), t.elapsed());

        let t = Instant::now();
        let mut wrong = Vec::new();
        match vendor.move_booking(move_to("m2", s3), WRITE_DEADLINE).await {
            Ok(r) => {
                let x = r.booking.unwrap_or_default();
                if x.booking_id != a.booking_id || x.start != s3.start {
                    wrong.push(format!("the same move again answered '{}' at {:?}", x.booking_id, x.start));
                }
            }
            Err(e) => wrong.push(format!("the same move again: {}", status_line(&e))),
        }
        match vendor.move_booking(move_to("m2", s1), WRITE_DEADLINE).await {
            Err(e) => {
                if let Err(why) = refusal(&e, tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED") {
                    wrong.push(format!("the same key with another move; {why}"));
                }
            }
            Ok(r) => {
                wrong.push(format!(
                    "the same key with another move was made (now at {:?}), not ALREADY_EXISTS",
                    r.booking.unwrap_or_default().start
                ));
                moves += 1;
            }
        }
        add(s, "move.idempotent", verdict(&wrong), wrong.join("; "), t.elapsed());
    } else {
        for id in ["move.taken", "move.moves", "move.idempotent"] {
            add(s, id, Verdict::Skip, "the vendor does not offer OPERATION_MOVE_BOOKING".into(), Duration::ZERO);
        }
    }

    // request.complete_illegal: b is CONFIRMED, not sent back for completion.
    let mut completed = false;
    if has(pb::Operation::CompleteRequest) {
        let t = Instant::now();
        let req = pb::CompleteRequestRequest { booking_id: b.booking_id.clone(), message: "conformance answer".into() };
        let (v, d) = match vendor.complete_request(req, WRITE_DEADLINE).await {
            Err(e) if e.code() == tonic::Code::FailedPrecondition => (Verdict::Pass, String::new()),
            Err(e) => (Verdict::Fail, format!("completed the CONFIRMED '{}'; got {}", b.booking_id, status_line(&e))),
            Ok(r) => {
                completed = true;
                let x = r.booking.unwrap_or_default();
                (Verdict::Fail, format!("completed the CONFIRMED '{}'; it was answered with status {}", b.booking_id, x.status))
            }
        };
        add(s, "request.complete_illegal", v, d, t.elapsed());
    } else {
        add(s, "request.complete_illegal", Verdict::Skip, "the vendor does not offer OPERATION_COMPLETE_REQUEST".into(), Duration::ZERO);
    }

    // Cancelled, whatever failed on the way.
    let reason = "vendor.v1.1 conformance check";
    for id in &ids {
        let _ = vendor.cancel_booking(id, reason, WRITE_DEADLINE).await;
    }

    // history.steps
    let t = Instant::now();
    let cancelled = pb::BookingStatus::Cancelled as i32;
    let confirmed = pb::BookingStatus::Confirmed as i32;
    let (v, d) = match vendor.get_booking(&a.booking_id, WRITE_DEADLINE).await {
        Ok(r) => {
            let steps: Vec<i32> = r.booking.unwrap_or_default().history.iter().map(|c| c.status).collect();
            let want = expected_steps(moves);
            if steps == want {
                (Verdict::Pass, String::new())
            } else {
                (
                    Verdict::Fail,
                    format!("the history of '{}' is {steps:?}, not {want:?} (created, moved {moves} times, cancelled)", a.booking_id),
                )
            }
        }
        Err(e) => (Verdict::Fail, format!("GetBooking: {}", status_line(&e))),
    };
    add(s, "history.steps", v, d, t.elapsed());

    // changes.feed: from the cursor taken before anything was made.
    let t = Instant::now();
    let (v, d) = match cursor {
        Err(why) if !has(pb::Operation::ListChanges) => (Verdict::Skip, why),
        Err(why) => (Verdict::Fail, format!("ListChanges with latest: {why}")),
        Ok(mut cursor) => {
            let mut listed: Vec<(String, i32)> = Vec::new();
            let mut wrong = None;
            let mut ended = false;
            for _ in 0..20 {
                match vendor
                    .list_changes(pb::ListChangesRequest { cursor: cursor.clone(), page_size: 100, latest: false }, WRITE_DEADLINE)
                    .await
                {
                    Ok(r) if r.changes.is_empty() => {
                        if r.next_cursor != cursor {
                            wrong = Some(format!("with nothing new, next_cursor '{}' is not the cursor sent '{cursor}'", r.next_cursor));
                        }
                        ended = true;
                        break;
                    }
                    Ok(r) => {
                        listed.extend(
                            r.changes.iter().map(|c| (c.booking.as_ref().map(|b| b.booking_id.clone()).unwrap_or_default(), c.status)),
                        );
                        cursor = r.next_cursor;
                    }
                    Err(e) => {
                        wrong = Some(format!("ListChanges from '{cursor}': {}", status_line(&e)));
                        break;
                    }
                }
            }
            let of = |id: &str| listed.iter().filter(|(b, _)| b == id).map(|(_, st)| *st).collect::<Vec<_>>();
            let want_a = expected_steps(moves);
            let want_b: Vec<i32> =
                if completed { vec![confirmed, pb::BookingStatus::Pending as i32, cancelled] } else { vec![confirmed, cancelled] };
            match wrong {
                Some(w) => (Verdict::Fail, w),
                None if !ended => (Verdict::Fail, "twenty calls never reached a call with nothing new (does next_cursor move on?)".into()),
                None if of(&a.booking_id) != want_a || of(&b.booking_id) != want_b => (
                    Verdict::Fail,
                    format!(
                        "the feed listed {:?} for '{}' and {:?} for '{}', not {want_a:?} and {want_b:?}",
                        of(&a.booking_id),
                        a.booking_id,
                        of(&b.booking_id),
                        b.booking_id
                    ),
                ),
                None => (Verdict::Pass, String::new()),
            }
        }
    };
    add(s, "changes.feed", v, d, t.elapsed());
}

/// A weekly time the series checks book: the first occurrence's local date, the local start
/// and end (`HH:MM`), and each week's start and end instants.
struct Weekly {
    first: chrono::NaiveDate,
    start_time: String,
    end_time: String,
    times: Vec<(i64, i64)>,
}

impl Weekly {
    /// The local date of week `week` (0 is the first), `YYYY-MM-DD`.
    fn date(&self, week: usize) -> String {
        (self.first + chrono::Duration::weeks(week as i64)).format("%Y-%m-%d").to_string()
    }

    /// Week `week`'s time, for details.
    fn when(&self, week: usize) -> String {
        format!("{} {}–{}", self.date(week), self.start_time, self.end_time)
    }
}

/// `slot`'s local time of day on its local date and the same weekday of the `weeks - 1` weeks
/// after, or None when that is no series time: not whole minutes, not within one local day, or
/// touching 02:00–03:00 (the hour the DST nights skip or repeat).
fn weekly(slot: &pb::Slot, weeks: usize) -> Option<Weekly> {
    use stockholm::{instant, local_date, naive_seconds, offset};
    let (a, b) = (slot.start?.seconds, slot.end?.seconds);
    let first = local_date(a);
    let wall = |t: i64| t + offset(t) - naive_seconds(first);
    let (from, to) = (wall(a), wall(b));
    if from % 60 != 0 || to % 60 != 0 || to <= from || to >= 86_400 || !outside_dst_hour(&(from / 60, to / 60)) {
        return None;
    }
    let times = (0..weeks)
        .map(|w| {
            let d = first + chrono::Duration::weeks(w as i64);
            Some((instant(d, from)?, instant(d, to)?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Weekly { first, start_time: hh_mm(from / 60), end_time: hh_mm(to / 60), times })
}

/// Whether `[a, b)` on `unit` is free now: a FREE slot covers it.
async fn free_now(vendor: &GrpcVendor, unit: &str, (a, b): (i64, i64)) -> Result<bool, String> {
    let req = pb::CheckAvailabilityRequest { unit_refs: vec![unit.to_string()], start: ts(a), end: ts(b), ..Default::default() };
    match vendor.check_availability(req, Duration::from_secs(2)).await {
        Ok(r) => Ok(r.units.iter().filter(|u| u.unit_ref == unit).flat_map(|u| &u.slots).any(|x| {
            x.state == pb::SlotState::Free as i32 && x.start.is_some_and(|t| t.seconds <= a) && x.end.is_some_and(|t| t.seconds >= b)
        })),
        Err(e) => Err(format!("CheckAvailability of '{unit}' {}–{}: {}", rfc3339(a), rfc3339(b), status_line(&e))),
    }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or(t.to_string(), |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn outcome_name(o: i32) -> String {
    pb::OccurrenceOutcome::try_from(o).map_or_else(|_| o.to_string(), |x| x.as_str_name().to_string())
}

/// The bookings a series answer names.
fn series_bookings(r: &pb::CreateSeriesResponse) -> Vec<String> {
    r.occurrences.iter().map(|o| o.booking_id.clone()).filter(|id| !id.is_empty()).collect()
}

/// Whether a `google.rpc.BadRequest` field names `field` (a proto field name), as the proto
/// names it or in its JSON name (`last_date`, `lastDate`).
fn names_field(violation: &str, field: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect::<String>();
    norm(violation) == norm(field)
}

/// The CreateSeries checks (§18): on `unit`, at the local time of one of its `free` slots that
/// is free four weeks running, an atomic series over a week booked beforehand, then a series
/// with one week excluded, sent again and changed under its key, and malformed ones. Every
/// booking made is cancelled, whatever failed on the way.
async fn series(vendor: &GrpcVendor, s: &mut Suite, ops: &[i32], unit: &str, free: &[pb::Slot]) {
    const WEEKS: usize = 4;
    let add = |s: &mut Suite, id: &'static str, v: Verdict, d: String, e: Duration| s.add(id, v1_1_section(id), v1_1_title(id), v, d, e);
    let verdict = |wrong: &[String]| if wrong.is_empty() { Verdict::Pass } else { Verdict::Fail };
    if !ops.contains(&(pb::Operation::CreateSeries as i32)) {
        for id in SERIES_IDS {
            add(s, id, Verdict::Skip, "the vendor does not offer OPERATION_CREATE_SERIES".into(), Duration::ZERO);
        }
        return;
    }
    // The slots the other checks did not use first, then those they used (and cancelled).
    let mut chosen = None;
    for slot in free.iter().skip(4).chain(free.iter().take(4)).take(8) {
        let Some(w) = weekly(slot, WEEKS) else { continue };
        let mut all = true;
        for &time in &w.times {
            if free_now(vendor, unit, time).await != Ok(true) {
                all = false;
                break;
            }
        }
        if all {
            chosen = Some(w);
            break;
        }
    }
    let Some(w) = chosen else {
        for id in SERIES_IDS {
            let why = format!(
                "no free slot of '{unit}' in the first day of the window is free at the same local time {WEEKS} weeks running (try another --start)"
            );
            add(s, id, Verdict::Skip, why, Duration::ZERO);
        }
        return;
    };
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let reference = format!("conformance-{run}-series");
    let key = |k: &str| format!("conformance-{run}-series-{k}");
    let reason = "vendor.v1.1 conformance check";
    let customer = pb::Customer {
        r#type: pb::CustomerType::PrivatePerson as i32,
        name: "Conformance Kit".into(),
        email: "conformance@example.se".into(),
        reference: reference.clone(),
        ..Default::default()
    };
    let request = |key: String, last_week: usize, excluded: Vec<String>| pb::CreateSeriesRequest {
        idempotency_key: key,
        unit_ref: unit.into(),
        first_date: w.date(0),
        last_date: w.date(last_week),
        start_time: w.start_time.clone(),
        end_time: w.end_time.clone(),
        excluded_dates: excluded,
        mode: pb::BookingMode::Direct as i32,
        customer: Some(customer.clone()),
        activity: String::new(),
        payment_method: pb::PaymentMethod::Invoice as i32,
        atomic: true,
        message: "vendor.v1.1 conformance check; cancelled at once".into(),
    };
    let sent = |r: &pb::CreateSeriesRequest| {
        format!(
            "{}series '{}' {} to {} weekly {}–{}{}",
            if r.atomic { "an atomic " } else { "a " },
            r.unit_ref,
            r.first_date,
            r.last_date,
            r.start_time,
            r.end_time,
            if r.excluded_dates.is_empty() { String::new() } else { format!(" excluding {}", r.excluded_dates.join(", ")) }
        )
    };
    let mut made: Vec<String> = Vec::new();

    // series.atomic: the third week booked beforehand.
    let t = Instant::now();
    let mut wrong = Vec::new();
    let taken = 2;
    let blocker = pb::CreateBookingRequest {
        idempotency_key: key("taken"),
        unit_ref: unit.into(),
        start: ts(w.times[taken].0),
        end: ts(w.times[taken].1),
        mode: pb::BookingMode::Direct as i32,
        customer: Some(pb::Customer { reference: String::new(), ..customer.clone() }),
        payment_method: pb::PaymentMethod::Invoice as i32,
        message: "vendor.v1.1 conformance check; cancelled at once".into(),
        ..Default::default()
    };
    match vendor.create_booking(blocker, WRITE_DEADLINE).await {
        Err(e) => wrong.push(format!("booked {} beforehand to make a conflict; got {}", w.when(taken), status_line(&e))),
        Ok(b) => {
            let atomic = request(key("atomic"), WEEKS - 1, vec![]);
            match vendor.create_series(atomic.clone(), WRITE_DEADLINE).await {
                Err(e) => wrong.push(format!(
                    "sent {} with {} taken; got {}, not an answer with created = false and that week CONFLICT",
                    sent(&atomic),
                    w.date(taken),
                    status_line(&e)
                )),
                Ok(r) => {
                    made.extend(series_bookings(&r));
                    if r.created || !r.series_id.is_empty() {
                        wrong.push(format!(
                            "sent {} with {} taken; it was created (series '{}')",
                            sent(&atomic),
                            w.date(taken),
                            r.series_id
                        ));
                    } else if !series_bookings(&r).is_empty() {
                        wrong.push(format!("answered created = false, but occurrences name bookings {:?}", series_bookings(&r)));
                    }
                    if r.occurrences.len() != WEEKS {
                        wrong.push(format!("the report has {} occurrences, not one per week ({WEEKS})", r.occurrences.len()));
                    }
                    for (i, o) in r.occurrences.iter().enumerate() {
                        if i == taken && (o.outcome != pb::OccurrenceOutcome::Conflict as i32 || o.reason.trim().is_empty()) {
                            wrong.push(format!(
                                "the taken week {} is reported {} with reason '{}', not CONFLICT with a reason",
                                w.date(i),
                                outcome_name(o.outcome),
                                o.reason
                            ));
                        } else if i != taken && o.outcome != pb::OccurrenceOutcome::Created as i32 {
                            wrong.push(format!(
                                "the free week {} is reported {}, not CREATED (it fits)",
                                w.date(i),
                                outcome_name(o.outcome)
                            ));
                        }
                    }
                    if !r.created {
                        for i in (0..WEEKS).filter(|i| *i != taken) {
                            match free_now(vendor, unit, w.times[i]).await {
                                Ok(true) => {}
                                Ok(false) => wrong.push(format!("afterwards {} is not free: part of the series was booked", w.when(i))),
                                Err(e) => wrong.push(e),
                            }
                        }
                    }
                }
            }
            let id = b.booking.unwrap_or_default().booking_id;
            let _ = vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await;
        }
    }
    // What a series that should not have been made holds goes before the next needs the time.
    for id in made.drain(..) {
        let _ = vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await;
    }
    add(s, "series.atomic", verdict(&wrong), wrong.join("; "), t.elapsed());

    // series.creates and series.excluded: every week, the second excluded.
    let excluded = 1;
    let t = Instant::now();
    let main = request(key("main"), WEEKS - 1, vec![w.date(excluded)]);
    match vendor.create_series(main.clone(), WRITE_DEADLINE).await {
        Err(e) => {
            add(s, "series.creates", Verdict::Fail, format!("sent {}; got {}", sent(&main), status_line(&e)), t.elapsed());
            for id in ["series.excluded", "series.idempotent"] {
                add(s, id, Verdict::Skip, "no series was made (series.creates failed)".into(), Duration::ZERO);
            }
        }
        Ok(r) => {
            made.extend(series_bookings(&r));
            let mut wrong = Vec::new();
            if !r.created || r.series_id.is_empty() {
                wrong.push(format!("answered created = {} with series_id '{}'", r.created, r.series_id));
            }
            if r.occurrences.len() != WEEKS {
                wrong.push(format!("the report has {} occurrences, not one per week ({WEEKS})", r.occurrences.len()));
            }
            let at = |t: &Option<Timestamp>| t.as_ref().map_or(0, |t| t.seconds);
            let mut booked: Vec<(usize, String)> = Vec::new();
            for (i, o) in r.occurrences.iter().enumerate().take(WEEKS) {
                let (a, b) = w.times[i];
                if o.date != w.date(i) || at(&o.start) != a || at(&o.end) != b {
                    wrong.push(format!(
                        "occurrence {} is {} {}–{}, not {} {}–{}",
                        i + 1,
                        o.date,
                        rfc3339(at(&o.start)),
                        rfc3339(at(&o.end)),
                        w.date(i),
                        rfc3339(a),
                        rfc3339(b)
                    ));
                }
                if i == excluded {
                    continue;
                }
                if o.outcome != pb::OccurrenceOutcome::Created as i32 || o.booking_id.is_empty() {
                    wrong.push(format!(
                        "the free week {} is reported {} with booking '{}', not CREATED with its booking ({})",
                        w.date(i),
                        outcome_name(o.outcome),
                        o.booking_id,
                        o.reason
                    ));
                } else {
                    booked.push((i, o.booking_id.clone()));
                }
            }
            let mut distinct: Vec<&String> = booked.iter().map(|b| &b.1).collect();
            distinct.sort();
            distinct.dedup();
            if distinct.len() != booked.len() {
                wrong.push(format!("the weeks name the same booking twice: {booked:?}"));
            }
            for (i, id) in &booked {
                let (a, b) = w.times[*i];
                match vendor.get_booking(id, WRITE_DEADLINE).await {
                    Ok(x) => {
                        let x = x.booking.unwrap_or_default();
                        if x.booking_id != *id
                            || x.status != pb::BookingStatus::Confirmed as i32
                            || x.unit_ref != unit
                            || at(&x.start) != a
                            || at(&x.end) != b
                            || x.series_id != r.series_id
                        {
                            wrong.push(format!(
                                "GetBooking '{id}' (week {}) answered '{}' status {} on '{}' {}–{} in series '{}', not CONFIRMED on '{unit}' {}–{} in series '{}'",
                                w.date(*i),
                                x.booking_id,
                                x.status,
                                x.unit_ref,
                                rfc3339(at(&x.start)),
                                rfc3339(at(&x.end)),
                                x.series_id,
                                rfc3339(a),
                                rfc3339(b),
                                r.series_id
                            ));
                        }
                    }
                    Err(e) => wrong.push(format!("GetBooking '{id}' (week {}): {}", w.date(*i), status_line(&e))),
                }
            }
            if ops.contains(&(pb::Operation::ListBookings as i32)) && !booked.is_empty() {
                let list = pb::ListBookingsRequest {
                    customer_references: vec![reference.clone()],
                    start: ts(w.times[0].0 - 86_400),
                    end: ts(w.times[WEEKS - 1].1 + 86_400),
                    page_size: 100,
                    page_token: String::new(),
                };
                match vendor.list_bookings(list, WRITE_DEADLINE).await {
                    Ok(l) => {
                        let listed: Vec<&str> = l.bookings.iter().map(|x| x.booking_id.as_str()).collect();
                        let missing: Vec<&str> = booked.iter().map(|b| b.1.as_str()).filter(|id| !listed.contains(id)).collect();
                        if !missing.is_empty() {
                            wrong.push(format!(
                                "ListBookings of the series' customer reference '{reference}' lists {listed:?}, without {missing:?}"
                            ));
                        }
                    }
                    Err(e) => wrong.push(format!("ListBookings of the series' customer reference '{reference}': {}", status_line(&e))),
                }
            }
            let d = if wrong.is_empty() { String::new() } else { format!("sent {}; {}", sent(&main), wrong.join("; ")) };
            add(s, "series.creates", verdict(&wrong), d, t.elapsed());

            let t = Instant::now();
            let mut wrong = Vec::new();
            match r.occurrences.get(excluded) {
                Some(o) if o.outcome == pb::OccurrenceOutcome::Excluded as i32 && o.booking_id.is_empty() => {}
                Some(o) => wrong.push(format!(
                    "the excluded date {} is reported {} with booking '{}', not EXCLUDED without one",
                    w.date(excluded),
                    outcome_name(o.outcome),
                    o.booking_id
                )),
                None => wrong.push(format!("the report has no occurrence for the excluded date {}", w.date(excluded))),
            }
            match free_now(vendor, unit, w.times[excluded]).await {
                Ok(true) => {}
                Ok(false) => wrong.push(format!("afterwards {} is not free: the excluded week was booked", w.when(excluded))),
                Err(e) => wrong.push(e),
            }
            let d = if wrong.is_empty() { String::new() } else { format!("sent {}; {}", sent(&main), wrong.join("; ")) };
            add(s, "series.excluded", verdict(&wrong), d, t.elapsed());

            let t = Instant::now();
            let mut wrong = Vec::new();
            let weeks = |x: &pb::CreateSeriesResponse| x.occurrences.iter().map(|o| o.booking_id.clone()).collect::<Vec<_>>();
            match vendor.create_series(main.clone(), WRITE_DEADLINE).await {
                Ok(again) => {
                    made.extend(series_bookings(&again));
                    if again.series_id != r.series_id || again.created != r.created || weeks(&again) != weeks(&r) {
                        wrong.push(format!(
                            "the same request with key '{}' again answered series '{}' (created {}) with bookings {:?}, not series '{}' with {:?}",
                            main.idempotency_key,
                            again.series_id,
                            again.created,
                            weeks(&again),
                            r.series_id,
                            weeks(&r)
                        ));
                    }
                }
                Err(e) => wrong.push(format!("the same request with key '{}' again: {}", main.idempotency_key, status_line(&e))),
            }
            let shorter = pb::CreateSeriesRequest { last_date: w.date(WEEKS - 2), ..main.clone() };
            match vendor.create_series(shorter, WRITE_DEADLINE).await {
                Err(e) => {
                    if let Err(why) = refusal(&e, tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED") {
                        wrong.push(format!("the same key with a shorter series; {why}"));
                    }
                }
                Ok(x) => {
                    made.extend(series_bookings(&x));
                    wrong.push(format!(
                        "the same key with a shorter series was answered (series '{}', created {}), not ALREADY_EXISTS",
                        x.series_id, x.created
                    ));
                }
            }
            add(s, "series.idempotent", verdict(&wrong), wrong.join("; "), t.elapsed());
        }
    }
    made.sort();
    made.dedup();
    for id in made.drain(..) {
        let _ = vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await;
    }

    // series.invalid
    let t = Instant::now();
    let mut wrong = Vec::new();
    let base = request(String::new(), WEEKS - 1, vec![]);
    let day = |weeks: i64| (w.first + chrono::Duration::weeks(weeks)).format("%Y-%m-%d").to_string();
    let cases = [
        (
            "last_date a week before first_date",
            "last_date",
            pb::CreateSeriesRequest { idempotency_key: key("i1"), last_date: day(-1), ..base.clone() },
        ),
        ("a season of 54 weeks", "last_date", pb::CreateSeriesRequest { idempotency_key: key("i2"), last_date: day(54), ..base.clone() }),
        (
            "start_time '25:00'",
            "start_time",
            pb::CreateSeriesRequest { idempotency_key: key("i3"), start_time: "25:00".into(), ..base.clone() },
        ),
        (
            "end_time equal to start_time",
            "end_time",
            pb::CreateSeriesRequest { idempotency_key: key("i4"), end_time: w.start_time.clone(), ..base.clone() },
        ),
        ("no idempotency_key", "idempotency_key", base.clone()),
    ];
    for (what, field, req) in cases {
        match vendor.create_series(req, WRITE_DEADLINE).await {
            Err(e) if e.code() == tonic::Code::InvalidArgument => {
                use tonic_types::StatusExt;
                let named = e.get_details_bad_request().is_some_and(|b| b.field_violations.iter().any(|v| names_field(&v.field, field)));
                if !named {
                    wrong.push(format!("{what}: INVALID_ARGUMENT without a google.rpc.BadRequest naming {field} ({})", status_line(&e)));
                }
            }
            Err(e) => wrong.push(format!("{what}: got {}, not INVALID_ARGUMENT", status_line(&e))),
            Ok(r) => {
                made.extend(series_bookings(&r));
                wrong.push(format!("{what}: answered (created {}, {} occurrences), not INVALID_ARGUMENT", r.created, r.occurrences.len()));
            }
        }
    }
    let unknown = pb::CreateSeriesRequest { idempotency_key: key("i5"), unit_ref: "conformance-unknown-unit-7f3a".into(), ..base };
    match vendor.create_series(unknown, WRITE_DEADLINE).await {
        Err(e) if e.code() == tonic::Code::NotFound => {}
        Err(e) => wrong.push(format!("an unknown unit: got {}, not NOT_FOUND / UNKNOWN_UNIT", status_line(&e))),
        Ok(r) => {
            made.extend(series_bookings(&r));
            wrong.push(format!("an unknown unit: answered (created {}), not NOT_FOUND / UNKNOWN_UNIT", r.created));
        }
    }
    for id in made.drain(..) {
        let _ = vendor.cancel_booking(&id, reason, WRITE_DEADLINE).await;
    }
    let d = if wrong.is_empty() {
        String::new()
    } else {
        format!("sent variants of {}; {}", sent(&request(String::new(), WEEKS - 1, vec![])), wrong.join("; "))
    };
    add(s, "series.invalid", verdict(&wrong), d, t.elapsed());
}

/// The checks that need no unit: capabilities, their latency, health.
const BASIC_CHECKS: &[(&str, &str, &str)] = &[
    ("capabilities.well_formed", "§5", "GetCapabilities states a 1.x version, CheckAvailability, and its limits"),
    ("latency.capabilities", "§4", "GetCapabilities answers within 200 ms"),
    ("health.serving", "§9", "Health says SERVING"),
];

/// Every check of the kit: id, section of docs/vendor-protocol.md, title; in the order run.
pub fn all_checks() -> Vec<(&'static str, &'static str, &'static str)> {
    BASIC_CHECKS.iter().chain(AVAILABILITY_CHECKS).chain(BOOKING_CHECKS).chain(V1_1_CHECKS).copied().collect()
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The results as JUnit XML (one test case per check; failures with their detail, skips with
/// their reason), for a vendor's own CI.
pub fn render_junit(results: &[CheckResult], endpoint: &str) -> String {
    let failed = results.iter().filter(|r| r.verdict == Verdict::Fail).count();
    let skipped = results.iter().filter(|r| r.verdict == Verdict::Skip).count();
    let total: u64 = results.iter().map(|r| r.elapsed_ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"vendor.v1 conformance\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{:.3}\">\n",
        results.len(),
        total as f64 / 1000.0
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{:.3}\">\n",
        xml(endpoint),
        results.len(),
        total as f64 / 1000.0
    ));
    for r in results {
        out.push_str(&format!(
            "    <testcase classname=\"vendor.v1 {}\" name=\"{}: {}\" time=\"{:.3}\"",
            xml(r.section),
            r.id,
            xml(r.title),
            r.elapsed_ms as f64 / 1000.0
        ));
        match r.verdict {
            Verdict::Pass => out.push_str("/>\n"),
            Verdict::Fail => out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&r.detail.chars().take(200).collect::<String>()),
                xml(&r.detail)
            )),
            Verdict::Skip => out.push_str(&format!(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(&r.detail))),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The results as text, one line per check, and whether all passed or were skipped.
pub fn render_text(results: &[CheckResult]) -> (String, bool) {
    let mut out = String::new();
    for r in results {
        let verdict = match r.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
        };
        out.push_str(&format!("{verdict} {:<28} {:<4} {}", r.id, r.section, r.title));
        if !r.detail.is_empty() && r.verdict != Verdict::Pass {
            out.push_str(&format!("\n     {}", r.detail));
        }
        out.push('\n');
    }
    let failed = results.iter().filter(|r| r.verdict == Verdict::Fail).count();
    let passed = results.iter().filter(|r| r.verdict == Verdict::Pass).count();
    out.push_str(&format!("{passed} passed, {failed} failed, {} skipped\n", results.len() - passed - failed));
    (out, failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn stockholm_time_follows_the_eu_rule() {
        assert_eq!((stockholm::last_sunday(2027, 3), stockholm::last_sunday(2027, 10)), (date(2027, 3, 28), date(2027, 10, 31)));
        assert_eq!((stockholm::last_sunday(2026, 3), stockholm::last_sunday(2026, 10)), (date(2026, 3, 29), date(2026, 10, 25)));
        let (spring, autumn) = stockholm::summer_time(2027);
        assert_eq!((spring, autumn), (1_806_195_600, 1_824_944_400)); // 2027-03-28T01:00Z, 2027-10-31T01:00Z
        assert_eq!((stockholm::offset(spring - 1), stockholm::offset(spring)), (3600, 7200));
        assert_eq!((stockholm::offset(autumn - 1), stockholm::offset(autumn)), (7200, 3600));
        let h = |x: i64| x * 3600;
        // Spring: 02:30 does not exist, 03:00 is 01:00 UTC.
        assert_eq!(stockholm::instant(date(2027, 3, 28), h(2) + 1800), None);
        assert_eq!(stockholm::instant(date(2027, 3, 28), h(3)), Some(spring));
        assert_eq!(stockholm::instant(date(2027, 3, 28), 0), Some(spring - h(2)));
        // Autumn: 02:30 happens twice (the first is taken); 03:00 is 02:00 UTC.
        assert_eq!(stockholm::instant(date(2027, 10, 31), h(2) + 1800), Some(autumn - 1800));
        assert_eq!(stockholm::instant(date(2027, 10, 31), h(3)), Some(autumn + h(1)));
        assert_eq!(stockholm::local_date(spring - h(2) - 1), date(2027, 3, 27));
        assert_eq!(stockholm::local_date(spring - h(2)), date(2027, 3, 28));
        assert_eq!(
            [2024, 2025, 2026, 2027, 2028].map(stockholm::easter),
            [date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28), date(2028, 4, 16)]
        );
    }

    #[test]
    fn a_series_keeps_its_local_time_across_the_dst_night_and_names_fields_either_way() {
        // 18:00–19:30 on Sunday 2027-03-21 (CET): the next Sunday is in summer time.
        let start = stockholm::instant(date(2027, 3, 21), 18 * 3600).unwrap();
        let slot = pb::Slot { start: ts(start), end: ts(start + 5400), ..Default::default() };
        let w = weekly(&slot, 4).unwrap();
        assert_eq!((w.start_time.as_str(), w.end_time.as_str(), w.date(1).as_str()), ("18:00", "19:30", "2027-03-28"));
        assert_eq!(w.times[0], (start, start + 5400));
        assert_eq!(w.times[1].0, start + 7 * 86_400 - 3600, "an hour earlier in UTC after the change");
        // Not a series time: across midnight, or in the hour the DST nights skip or repeat.
        let late = stockholm::instant(date(2027, 3, 21), 23 * 3600).unwrap();
        assert!(weekly(&pb::Slot { start: ts(late), end: ts(late + 7200), ..Default::default() }, 4).is_none());
        let night = stockholm::instant(date(2027, 3, 21), 2 * 3600).unwrap();
        assert!(weekly(&pb::Slot { start: ts(night), end: ts(night + 3600), ..Default::default() }, 4).is_none());
        assert!(names_field("lastDate", "last_date") && names_field("last_date", "last_date"));
        assert!(!names_field("firstDate", "last_date"));
    }

    fn hours(from: i64, to: i64) -> WallClock {
        (from..to).map(|h| (h * 60, h * 60 + 60)).collect()
    }

    #[test]
    fn a_dst_sunday_is_judged_against_the_sundays_around_it() {
        let (b, d, a) = (date(2027, 10, 24), date(2027, 10, 31), date(2027, 11, 7));
        let open = hours(8, 22);
        assert_eq!(judge([(b, &open), (d, &open), (a, &open)]), Night::Pass);
        // Round the clock: the missing and repeated hour is not compared.
        let all = hours(0, 24);
        let autumn_day: WallClock = all.iter().copied().chain([(120, 180)]).collect();
        assert_eq!(judge([(b, &all), (d, &autumn_day), (a, &all)]), Night::Pass);
        // The offset at midnight used all day: an hour early after the change.
        let early = hours(7, 21);
        assert!(matches!(judge([(b, &open), (d, &early), (a, &open)]), Night::Fail(w) if w.contains("match neither Sunday")));
        // A fixed offset: the Sundays before and after differ by an hour.
        let later = hours(9, 23);
        assert!(matches!(judge([(b, &open), (d, &open), (a, &later)]), Night::Fail(w) if w.contains("fixed UTC offset")));
        // Another week's schedule on one side is fine; nothing to compare is not a verdict.
        assert_eq!(judge([(b, &hours(10, 14)), (d, &open), (a, &open)]), Night::Pass);
        assert!(matches!(judge([(b, &open), (d, &WallClock::new()), (a, &open)]), Night::Unknown(_)));
        assert!(matches!(judge([(b, &WallClock::new()), (d, &open), (a, &WallClock::new())]), Night::Unknown(_)));
        // Easter Day (the spring Sunday of 2027) may keep holiday hours.
        let (b, d, a) = (date(2027, 3, 21), date(2027, 3, 28), date(2027, 4, 4));
        assert!(matches!(judge([(b, &open), (d, &hours(10, 16)), (a, &open)]), Night::Unknown(w) if w.contains("Easter")));
        assert!(show(&open).contains("08:00–22:00 (14 slots of 60 min)"));
    }
}
