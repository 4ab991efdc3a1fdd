//! Vendor answers: a vendor.v1 `CheckAvailabilityResponse` as it arrives off the wire (prost's
//! decoding, as tonic does it) and the check every answer passes before anyone sees it
//! (`federation::validate::check`, docs/vendor-protocol.md §6), against a fixed request for
//! three units over two weeks.
//!
//! Properties: nothing panics; what the check keeps is what it promises: only units asked, each
//! once, in the order asked, with a known status; slots only on units with status OK, each with
//! a valid start and end (protobuf Timestamps: nanos in 0..1e9) inside the window, end after
//! start, of a known state, free slots in order and not overlapping; and every slot the vendor
//! sent is either kept or counted as dropped.
#![no_main]

use federation::validate::{check, nanos};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_types::Timestamp;
use vendor_proto::v1 as pb;

/// 2026-12-07T00:00:00+01:00 and two weeks later.
const WINDOW: (i64, i64) = (1_797_030_000, 1_797_030_000 + 14 * 86_400);
const UNITS: [&str; 3] = ["hall-1", "hall-2", "bana-A"];

fn valid(t: &Timestamp) -> bool {
    (0..1_000_000_000).contains(&t.nanos)
}

fuzz_target!(|data: &[u8]| {
    let Ok(resp) = pb::CheckAvailabilityResponse::decode(data) else { return };
    let req = pb::CheckAvailabilityRequest {
        unit_refs: UNITS.iter().map(|u| u.to_string()).collect(),
        start: Some(Timestamp { seconds: WINDOW.0, nanos: 0 }),
        end: Some(Timestamp { seconds: WINDOW.1, nanos: 0 }),
        ..Default::default()
    };
    let sent: usize = resp.units.iter().map(|u| u.slots.len()).sum();
    let checked = check(&req, resp);
    let positions: Vec<usize> = checked
        .units
        .iter()
        .map(|u| UNITS.iter().position(|r| *r == u.unit_ref).unwrap_or_else(|| panic!("unit {:?} was not asked", u.unit_ref)))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "units twice or out of the order asked: {positions:?}");
    let (ws, we) = (i128::from(WINDOW.0) * 1_000_000_000, i128::from(WINDOW.1) * 1_000_000_000);
    let mut kept = 0;
    for u in &checked.units {
        let status = pb::UnitStatus::try_from(u.status).unwrap_or_else(|_| panic!("unit {} kept status {}", u.unit_ref, u.status));
        assert!(status == pb::UnitStatus::Ok || u.slots.is_empty(), "unit {} has status {status:?} and slots", u.unit_ref);
        let mut last_free_end = None;
        for s in &u.slots {
            let (a, b) = (s.start.as_ref().expect("a start"), s.end.as_ref().expect("an end"));
            assert!(valid(a) && valid(b), "a slot with an invalid timestamp was kept: {s:?}");
            let (a, b) = (nanos(a), nanos(b));
            assert!(ws <= a && a < b && b <= we, "a slot outside the window or ending before it starts was kept: {s:?}");
            let state = pb::SlotState::try_from(s.state).unwrap_or(pb::SlotState::Unspecified);
            assert!(state != pb::SlotState::Unspecified, "a slot of unknown state {} was kept", s.state);
            if state == pb::SlotState::Free {
                assert!(last_free_end.is_none_or(|e| e <= a), "overlapping free slots were kept: {u:?}");
                last_free_end = Some(b);
            }
        }
        kept += u.slots.len();
    }
    assert_eq!(kept + checked.dropped_slots, sent, "slots were lost: {kept} kept and {} dropped of {sent}", checked.dropped_slots);
});
