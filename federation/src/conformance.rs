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
                format!("sent GetCapabilities; got {:?}: {}", e.code(), e.message()),
                caps_elapsed,
            );
            None
        }
    };
    let budget = |d: Duration, max_ms: u64| if d <= Duration::from_millis(max_ms) { Verdict::Pass } else { Verdict::Fail };
    s.add(
        "latency.capabilities",
        "§4",
        "GetCapabilities answers within 200 ms",
        budget(caps_elapsed, 200),
        format!("took {} ms", caps_elapsed.as_millis()),
        caps_elapsed,
    );

    let t = Instant::now();
    match vendor.health(Duration::from_millis(2000)).await {
        Ok(h) if h.status == pb::ServingStatus::Serving as i32 => {
            s.add("health.serving", "§9", "Health says SERVING", Verdict::Pass, String::new(), t.elapsed())
        }
        Ok(h) => {
            s.add("health.serving", "§9", "Health says SERVING", Verdict::Fail, format!("status {} ({})", h.status, h.message), t.elapsed())
        }
        Err(e) => {
            s.add("health.serving", "§9", "Health says SERVING", Verdict::Fail, format!("{:?}: {}", e.code(), e.message()), t.elapsed())
        }
    }

    if o.units.is_empty() {
        s.add(
            "availability.window",
            "§6",
            "slots lie inside the window, on asked units, ordered, free slots not overlapping",
            Verdict::Skip,
            "give at least one --unit".into(),
            Duration::ZERO,
        );
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
    let t = Instant::now();
    let res = vendor.check_availability(req.clone(), Duration::from_secs(2)).await;
    let elapsed = t.elapsed();
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
            let checked = validate::check(&req, resp);
            let verdict = if checked.problems.is_empty() { Verdict::Pass } else { Verdict::Fail };
            s.add(
                "availability.window",
                "§6",
                "slots lie inside the window, on asked units, ordered, free slots not overlapping",
                verdict,
                checked.problems.join("; "),
                elapsed,
            );
        }
        Err(e) => {
            for (id, title) in [
                ("availability.order", "one entry per asked unit, in the order asked"),
                ("availability.unknown_unit", "an unknown reference is reported per unit, not as a failed call"),
                ("availability.window", "slots lie inside the window, on asked units, ordered, free slots not overlapping"),
            ] {
                s.add(
                    id,
                    "§6",
                    title,
                    Verdict::Fail,
                    format!("sent CheckAvailability for {units:?}; got {:?}: {}", e.code(), e.message()),
                    elapsed,
                );
            }
        }
    }
    s.add(
        "latency.availability",
        "§4",
        "CheckAvailability answers within 500 ms",
        budget(elapsed, 500),
        format!("took {} ms", elapsed.as_millis()),
        elapsed,
    );

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
    let booking = caps.as_ref().is_some_and(|c| c.operations.contains(&(pb::Operation::CreateBooking as i32)));
    if !o.writes {
        s.add(
            "booking.idempotent_create",
            "§7",
            "CreateBooking is idempotent by key",
            Verdict::Skip,
            "checks that write are not run here (the registry never books on a vendor's production units)".into(),
            Duration::ZERO,
        );
    } else if !booking {
        s.add(
            "booking.idempotent_create",
            "§7",
            "CreateBooking is idempotent by key",
            Verdict::Skip,
            "the vendor does not offer OPERATION_CREATE_BOOKING".into(),
            Duration::ZERO,
        );
    }
    s.results
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
