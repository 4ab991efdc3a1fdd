//! The OpenActive adapter against an RPDE feed served on 127.0.0.1: updates, deletions,
//! invalid items, paging, continuing from the last position, and availability answered from
//! the harvest through the engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Query;
use federation::openactive::{Harvester, OpenActiveVendor};
use federation::{Federation, Policy, Status, pb};
use serde_json::{Value, json};

fn slot(id: &str, unit: &str, start: &str, end: &str, remaining: i64, modified: i64) -> Value {
    json!({"state": "updated", "kind": "FacilityUse/Slot", "id": id, "modified": modified, "data": {
        "@context": "https://openactive.io/", "@type": "Slot", "identifier": id,
        "facilityUse": format!("https://boka.example.se/facility-uses/{unit}"),
        "startDate": start, "endDate": end, "remainingUses": remaining, "maximumUses": 1,
        "offers": [{"@type": "Offer", "price": 300, "priceCurrency": "SEK"}]}})
}

#[tokio::test]
async fn a_feed_is_harvested_and_answers_availability() {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let app = axum::Router::new().route(
        "/feeds/slots",
        axum::routing::get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
            let p = p.clone();
            async move {
                let after: i64 = q.get("afterTimestamp").and_then(|v| v.parse().ok()).unwrap_or(0);
                let items = match (after, p.load(Ordering::SeqCst)) {
                    (0, _) => vec![
                        slot("s1", "hall-a", "2026-12-03T17:00:00+01:00", "2026-12-03T18:00:00+01:00", 1, 1),
                        slot("s2", "hall-a", "2026-12-03T18:00:00+01:00", "2026-12-03T19:00:00+01:00", 1, 2),
                        json!({"state": "updated", "kind": "FacilityUse/Slot", "id": "s3", "modified": 3, "data": {"@type": "Slot", "facilityUse": "x", "startDate": "soon"}}),
                    ],
                    (3, 1) => vec![
                        slot("s1", "hall-a", "2026-12-03T17:00:00+01:00", "2026-12-03T18:00:00+01:00", 0, 4),
                        json!({"state": "deleted", "kind": "FacilityUse/Slot", "id": "s2", "modified": 5}),
                    ],
                    _ => vec![],
                };
                let last = items.iter().filter_map(|i| i["modified"].as_i64()).max().unwrap_or(after);
                axum::Json(json!({"next": format!("/feeds/slots?afterTimestamp={last}&afterId=x"), "items": items, "license": "https://creativecommons.org/licenses/by/4.0/"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let h = Harvester::new(&format!("{base}/feeds/slots"));
    assert_eq!(h.harvest(10).await.unwrap(), 2, "two slots; the invalid item is skipped");
    assert_eq!((h.len(), h.skipped.load(Ordering::SeqCst)), (2, 1));

    let fed = Federation::new();
    fed.add_vendor(
        "oa",
        Arc::new(OpenActiveVendor { harvester: h.clone() }),
        Policy { cache_ttl: Duration::ZERO, hedge_after: None, ..Policy::default() },
    );
    let unit = "https://boka.example.se/facility-uses/hall-a".to_string();
    let req = pb::CheckAvailabilityRequest {
        unit_refs: vec![unit.clone()],
        start: Some(prost_types::Timestamp { seconds: 1_796_313_600, nanos: 0 }), // 16:00Z
        end: Some(prost_types::Timestamp { seconds: 1_796_313_600 + 4 * 3600, nanos: 0 }),
        ..Default::default()
    };
    let a = fed.check("oa", req.clone(), Instant::now() + Duration::from_secs(1)).await;
    assert_eq!(a.status, Status::Ok);
    let slots = &a.units[0].slots;
    assert_eq!(slots.len(), 2);
    assert_eq!((slots[0].start.unwrap().seconds, slots[0].state), (1_796_313_600, pb::SlotState::Free as i32), "17:00+01:00 is 16:00Z");
    assert_eq!(slots[0].prices[0].amount_minor_per_hour, 30_000);

    // The next harvest continues from the last position: s1 booked, s2 deleted.
    phase.store(1, Ordering::SeqCst);
    assert_eq!(h.harvest(10).await.unwrap(), 2);
    let a = fed.check("oa", req, Instant::now() + Duration::from_secs(1)).await;
    let slots = &a.units[0].slots;
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].state, pb::SlotState::Booked as i32);
    assert_eq!(h.harvest(10).await.unwrap(), 0, "at the end of the feed");

    // A feed that is not RPDE is a clear error.
    let bad = Harvester::new(&format!("{base}/nothing-here"));
    let e = bad.harvest(1).await.unwrap_err();
    assert!(e.to_string().contains("answered 404"), "{e}");
}
