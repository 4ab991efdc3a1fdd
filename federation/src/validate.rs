//! Vendor answers are checked before anyone sees them (docs/vendor-protocol.md §6): slots
//! outside the window, on units not asked, with end before start, with an invalid Timestamp,
//! of an unknown state, or overlapping another free slot are dropped and reported, never
//! passed on.

use std::collections::HashSet;

use prost_types::Timestamp;
use vendor_proto::v1 as pb;

/// A vendor answer after checking: what may be shown, and what was wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    /// One entry per asked unit that the vendor answered, in the order asked.
    pub units: Vec<pb::UnitAvailability>,
    /// What was dropped and why, one line each (for the per-vendor status and the logs).
    pub problems: Vec<String>,
    /// Slots dropped.
    pub dropped_slots: usize,
}

/// Nanoseconds since the epoch (total order for comparisons).
pub fn nanos(t: &Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

/// Checks `resp` against the request it answers.
pub fn check(req: &pb::CheckAvailabilityRequest, resp: pb::CheckAvailabilityResponse) -> Checked {
    let (Some(ws), Some(we)) = (req.start.as_ref().map(nanos), req.end.as_ref().map(nanos)) else {
        return Checked { problems: vec!["the request had no window".into()], ..Default::default() };
    };
    let asked: HashSet<&str> = req.unit_refs.iter().map(String::as_str).collect();
    let mut out = Checked::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut answered = Vec::new();
    for mut unit in resp.units {
        if !asked.contains(unit.unit_ref.as_str()) {
            out.problems.push(format!("unit '{}' was not asked about", truncate(&unit.unit_ref)));
            out.dropped_slots += unit.slots.len();
            continue;
        }
        if !seen.insert(unit.unit_ref.clone()) {
            out.problems.push(format!("unit '{}' is answered twice", truncate(&unit.unit_ref)));
            out.dropped_slots += unit.slots.len();
            continue;
        }
        let status = pb::UnitStatus::try_from(unit.status).unwrap_or(pb::UnitStatus::Unspecified);
        if status != pb::UnitStatus::Ok {
            if !unit.slots.is_empty() {
                out.problems.push(format!("unit '{}' has status {} but lists slots", truncate(&unit.unit_ref), status.as_str_name()));
                out.dropped_slots += unit.slots.len();
                unit.slots.clear();
            }
            if status == pb::UnitStatus::Unspecified {
                unit.status = pb::UnitStatus::Unspecified as i32;
            }
            answered.push(unit);
            continue;
        }
        let mut kept: Vec<pb::Slot> = Vec::with_capacity(unit.slots.len());
        let mut slots = std::mem::take(&mut unit.slots);
        slots.sort_by_key(|s| s.start.as_ref().map(nanos));
        let mut last_free_end: Option<i128> = None;
        for s in slots {
            let valid = |t: &Option<Timestamp>| t.as_ref().is_none_or(|t| (0..1_000_000_000).contains(&t.nanos));
            let why = match (s.start.as_ref().map(nanos), s.end.as_ref().map(nanos)) {
                (None, _) | (_, None) => Some("has no start or end".to_string()),
                _ if !valid(&s.start) || !valid(&s.end) => Some("has an invalid start or end (nanos outside 0..999999999)".to_string()),
                (Some(a), Some(b)) if b <= a => Some("ends before it starts".to_string()),
                (Some(a), Some(b)) if a < ws || b > we => Some("lies outside the asked window".to_string()),
                _ => match pb::SlotState::try_from(s.state) {
                    Ok(pb::SlotState::Free) | Ok(pb::SlotState::RequestOnly) | Ok(pb::SlotState::Booked) => None,
                    _ => Some(format!("has an unknown state {}", s.state)),
                },
            };
            if let Some(why) = why {
                out.problems.push(format!("a slot of unit '{}' {why}", truncate(&unit.unit_ref)));
                out.dropped_slots += 1;
                continue;
            }
            let (a, b) = (nanos(s.start.as_ref().expect("checked")), nanos(s.end.as_ref().expect("checked")));
            if s.state == pb::SlotState::Free as i32 {
                if last_free_end.is_some_and(|e| a < e) {
                    out.problems.push(format!("a free slot of unit '{}' overlaps another", truncate(&unit.unit_ref)));
                    out.dropped_slots += 1;
                    continue;
                }
                last_free_end = Some(b);
            }
            kept.push(s);
        }
        unit.slots = kept;
        answered.push(unit);
    }
    for r in &req.unit_refs {
        if !seen.contains(r) {
            out.problems.push(format!("unit '{}' was not answered", truncate(r)));
        }
    }
    // In the order asked.
    answered.sort_by_key(|u| req.unit_refs.iter().position(|r| *r == u.unit_ref));
    out.units = answered;
    out
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= 60 { s.to_string() } else { format!("{}…", s.chars().take(60).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds: s, nanos: 0 })
    }

    fn slot(a: i64, b: i64, state: pb::SlotState) -> pb::Slot {
        pb::Slot { start: ts(a), end: ts(b), state: state as i32, ..Default::default() }
    }

    fn unit(r: &str, slots: Vec<pb::Slot>) -> pb::UnitAvailability {
        pb::UnitAvailability { unit_ref: r.into(), status: pb::UnitStatus::Ok as i32, slots, message: String::new() }
    }

    #[test]
    fn bad_slots_and_units_are_dropped_and_named() {
        let req = pb::CheckAvailabilityRequest {
            unit_refs: vec!["a".into(), "b".into(), "c".into()],
            start: ts(1000),
            end: ts(2000),
            ..Default::default()
        };
        let resp = pb::CheckAvailabilityResponse {
            units: vec![
                unit(
                    "b",
                    vec![
                        slot(1500, 1600, pb::SlotState::Free),
                        slot(1100, 1200, pb::SlotState::Free),
                        slot(1150, 1250, pb::SlotState::Free),   // overlaps the previous free slot
                        slot(1150, 1250, pb::SlotState::Booked), // booked may overlap free (different state)
                        slot(900, 1100, pb::SlotState::Free),    // starts before the window
                        slot(1900, 2100, pb::SlotState::Free),   // ends after it
                        slot(1700, 1700, pb::SlotState::Free),   // empty
                        slot(1800, 1700, pb::SlotState::Free),   // ends before it starts
                        pb::Slot { start: ts(1300), end: ts(1400), state: 42, ..Default::default() },
                        pb::Slot { start: None, end: ts(1400), state: 1, ..Default::default() },
                    ],
                ),
                unit("a", vec![slot(1000, 2000, pb::SlotState::RequestOnly)]),
                unit("zzz", vec![slot(1000, 1100, pb::SlotState::Free)]),
                unit("a", vec![]),
                pb::UnitAvailability {
                    unit_ref: "c".into(),
                    status: pb::UnitStatus::UnknownUnit as i32,
                    slots: vec![slot(1000, 1100, pb::SlotState::Free)],
                    message: String::new(),
                },
            ],
        };
        let c = check(&req, resp);
        assert_eq!(c.units.iter().map(|u| u.unit_ref.as_str()).collect::<Vec<_>>(), ["a", "b", "c"], "in the order asked");
        let b = &c.units[1];
        let kept: Vec<(i64, i64)> = b.slots.iter().map(|s| (s.start.unwrap().seconds, s.end.unwrap().seconds)).collect();
        assert_eq!(kept, [(1100, 1200), (1150, 1250), (1500, 1600)]);
        assert!(c.units[2].slots.is_empty(), "an unknown unit keeps no slots");
        assert_eq!(c.dropped_slots, 9);
        let text = c.problems.join("\n");
        for needle in [
            "overlaps another",
            "lies outside the asked window",
            "ends before it starts",
            "unknown state 42",
            "has no start or end",
            "'zzz' was not asked",
            "'a' is answered twice",
            "status UNIT_STATUS_UNKNOWN_UNIT but lists slots",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }

    /// A protobuf Timestamp's nanos lie in 0..1e9. Slots with nanos outside that passed the
    /// checks, and were then shown at another time than the one checked (negative nanos read as
    /// 0), or vanished uncounted (chrono refuses nanos of 2e9 and more). Found while writing the
    /// fuzz target `vendor_answer`, whose property names it (libFuzzer did not reach it in 5
    /// minutes; the inputs here are the property's counterexamples).
    #[test]
    fn slots_with_invalid_timestamps_are_dropped() {
        let req = pb::CheckAvailabilityRequest { unit_refs: vec!["a".into()], start: ts(1000), end: ts(2000), ..Default::default() };
        let at = |seconds, nanos| Some(Timestamp { seconds, nanos });
        let free = |start, end| pb::Slot { start, end, state: pb::SlotState::Free as i32, ..Default::default() };
        let slots = vec![
            free(at(1100, 0), at(1200, 1_500_000_000)),
            free(at(1301, -999_999_999), at(1400, 0)),
            free(at(1500, 999_999_999), at(1600, 0)),
        ];
        let c = check(&req, pb::CheckAvailabilityResponse { units: vec![unit("a", slots)] });
        assert_eq!(c.units[0].slots.iter().map(|s| s.start.unwrap().seconds).collect::<Vec<_>>(), [1500]);
        assert_eq!(c.dropped_slots, 2);
        assert_eq!(c.problems, ["a slot of unit 'a' has an invalid start or end (nanos outside 0..999999999)"; 2]);
    }

    #[test]
    fn missing_units_are_reported() {
        let req = pb::CheckAvailabilityRequest { unit_refs: vec!["a".into(), "b".into()], start: ts(0), end: ts(10), ..Default::default() };
        let c = check(&req, pb::CheckAvailabilityResponse { units: vec![unit("a", vec![])] });
        assert_eq!(c.units.len(), 1);
        assert_eq!(c.problems, ["unit 'b' was not answered"]);
    }
}
