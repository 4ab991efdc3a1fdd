//! The final seasonal allocation booked at the vendor (issue 28, item 6): registering the final
//! allocation queues every placed session; the registry books each as a weekly series at its
//! unit's vendor (vendor.v1.1 `CreateSeries`, atomic, breaks excluded) in the association's
//! name; a session whose week is taken comes back to staff with the vendor's per-week report,
//! and is booked once staff have cleared the way and queue it again. Against the demo dataset
//! and the reference booking backend on loopback.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use registry_core::auth::Principal;
use serde_json::{Value, json};
use tests::TestApp;
use tests::vendors::{hall, reference_vendor};

const KIM: &str = "198112289874";

async fn call(app: &TestApp, who: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = tests::authed(app.http().request(method, app.url(path)), who);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The first Monday at least `days` ahead.
fn monday_after(days: i64) -> NaiveDate {
    let d = tests::dates::today() + chrono::Duration::days(days);
    d + chrono::Duration::days(i64::from((7 - d.weekday().num_days_from_monday()) % 7))
}

/// Waits until every session of the round is settled at the vendor; their statuses.
async fn settled(app: &TestApp, staff: &str, round: &str) -> Vec<Value> {
    for _ in 0..200 {
        let (status, s) = call(app, staff, reqwest::Method::GET, &format!("/v1/allocation/rounds/{round}/series"), None).await;
        assert_eq!(status, 200, "{s}");
        let all = s["series"].as_array().unwrap().clone();
        if !all.is_empty() && all.iter().all(|x| x["status"] != "pending") {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sessions were not booked in time");
}

#[tokio::test]
async fn the_final_allocation_becomes_weekly_series_at_the_vendor_and_conflicts_go_back_to_staff() {
    use reqwest::Method;
    tests::rustls_provider();
    let config = grpc_api::server::ServerConfig {
        booking_changes_interval: Duration::from_millis(200),
        ..grpc_api::server::ServerConfig::default()
    };
    let app = TestApp::start_with(config).await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let vendor = reference_vendor(&app, &["1881"], "Referensbokning Syd").await;
    let (_, unit) = hall(&app, "1881").await;
    let staff = app.key("editor", Some("1881"), false).await;
    let operator = Principal::operator("test");
    let club = app.registry.create_association(&operator, &tests::fixtures::association("1881", 31)).await.unwrap();
    app.registry.decide_registration(&operator, club.id, Some("1881"), None, &registry_core::model::Decision::Approve).await.unwrap();
    let new = registry_core::model::NewRepresentative { personal_identity_number: KIM.into(), name: "Kim Svensson".into() };
    app.registry.add_representative(&operator, club.id, &new).await.unwrap();
    let kim = app.session(KIM, "Kim Svensson", None).await;

    // A four-week season starting in two weeks, every public holiday in it a break (the hall
    // is closed then: `PH off`), as a municipality would set it.
    let start = monday_after(14);
    let end = start + chrono::Duration::days(27);
    let breaks: Vec<Value> = (0..28)
        .map(|i| start + chrono::Duration::days(i))
        .filter(|d| tests::dates::is_holiday_or_eve(*d))
        .map(|d| json!({"from": d, "to": d, "name": "Helgdag"}))
        .collect();
    let now = app.registry.now();
    let round = json!({
        "municipalityCode": "1881", "name": "Kumla, fyra veckor", "seasonStart": start, "seasonEnd": end, "breaks": breaks,
        "applicationsOpen": now - chrono::Duration::hours(1), "applicationsClose": now + chrono::Duration::days(1), "gridMinutes": 60,
        "units": [{"unitId": unit, "hours": (1..=5).map(|d| json!({"day": d, "from": "16:00", "to": "21:00"})).collect::<Vec<_>>()}],
        "principles": {"groups": [{"code": "children_youth", "weight": 2}]}
    });
    let (status, r) = call(&app, &staff, Method::POST, "/v1/allocation/rounds", Some(round)).await;
    assert_eq!(status, 201, "{r}");
    let round_id = r["id"].as_str().unwrap().to_string();
    // Two teams, one session each: Tuesday and Thursday evenings.
    for (team, day) in [("P12", 2), ("F14", 4)] {
        let app_body = json!({"associationId": club.id, "team": {"name": team, "activity": "floorball", "ageFrom": 11, "ageTo": 14, "gender": "mixed", "participants": 16},
            "wishes": [{"durationMinutes": 60, "alternatives": [{"day": day, "earliestStart": "17:00", "latestEnd": "18:00", "units": [unit]}]}]});
        let (status, a) = call(&app, &kim, Method::POST, &format!("/v1/allocation/rounds/{round_id}/applications"), Some(app_body)).await;
        assert_eq!(status, 201, "{a}");
    }
    // The vendor already has a booking on an ordinary Thursday of the season at 17: that
    // series cannot be made.
    let thursday = (0..4)
        .map(|w| start + chrono::Duration::days(3 + 7 * w))
        .find(|d| !tests::dates::is_holiday_or_eve(*d))
        .expect("a four-week season has an ordinary Thursday");
    let taken = tests::dates::at(thursday, 17);
    let taken_body = json!({"facilityId": hall(&app, "1881").await.0, "unitId": unit, "start": taken, "end": taken + chrono::Duration::hours(1), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
    let res = tests::authed(app.http().post(app.url("/v1/bookings")), &kim)
        .header("idempotency-key", "kims-thursday-booking-1")
        .json(&taken_body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    let (status, run) =
        call(&app, &staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/runs"), Some(json!({"label": "preliminär"}))).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["figures"]["placed"], 2, "{run}");
    let run_id = run["id"].as_str().unwrap().to_string();
    // Nothing is booked before the allocation is final.
    let (_, s) = call(&app, &staff, Method::GET, &format!("/v1/allocation/rounds/{round_id}/series"), None).await;
    assert_eq!(s["series"], json!([]), "{s}");
    let (status, f) =
        call(&app, &staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/finalise"), Some(json!({"runId": run_id}))).await;
    assert_eq!(status, 200, "{f}");

    let all = settled(&app, &staff, &round_id).await;
    let by_day = |d: u64| all.iter().find(|x| x["day"] == d).unwrap_or_else(|| panic!("no session on day {d}: {all:?}")).clone();
    let tuesday = by_day(2);
    assert_eq!(tuesday["status"], "booked", "{tuesday}");
    let weeks = tuesday["occurrences"].as_array().unwrap();
    assert_eq!(weeks.len(), 4, "one per week: {tuesday}");
    let created = weeks.iter().filter(|w| w["outcome"] == "created").count();
    let excluded = weeks.iter().filter(|w| w["outcome"] == "excluded").count();
    assert_eq!(created + excluded, 4, "every week booked or a break: {tuesday}");
    // At the vendor: the association's bookings, under its per-vendor reference (never the
    // person's), one per week booked.
    let at_vendor =
        vendor.db.count("SELECT count(*) AS n FROM bookings WHERE customer_ref ~ '^a-[0-9a-f]{32}$' AND series_id IS NOT NULL AND status <> 'cancelled'").await;
    assert_eq!(at_vendor, created as i64, "the Tuesday series at the vendor: {all:#?}");

    {
        let thursday_session = by_day(4);
        assert_eq!(thursday_session["status"], "conflict", "{thursday_session}");
        let conflict = thursday_session["occurrences"].as_array().unwrap().iter().find(|w| w["outcome"] == "conflict").cloned();
        assert_eq!(conflict.as_ref().and_then(|c| c["date"].as_str()), Some(thursday.to_string().as_str()), "{thursday_session}");
        assert!(thursday_session["message"].as_str().unwrap().contains("1 of 4 weeks"), "{thursday_session}");

        // Staff clear the way (the other booking is cancelled) and queue it again: booked.
        let (_, mine) = call(&app, &kim, Method::GET, "/v1/me/bookings", None).await;
        let other = mine["bookings"].as_array().unwrap().iter().find(|b| b["start"] == json!(taken)).expect("Kim's booking")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _) = call(&app, &kim, Method::DELETE, &format!("/v1/bookings/{other}"), None).await;
        assert_eq!(status, 200);
        let (status, q) = call(&app, &staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/series/retry"), None).await;
        assert_eq!((status, &q["queued"]), (200, &json!(1)), "{q}");
        let all = settled(&app, &staff, &round_id).await;
        assert!(all.iter().all(|x| x["status"] == "booked"), "{all:?}");
    }

    // Only staff see or retry the bookings; nothing is queued twice.
    let (status, _) = call(&app, &kim, Method::GET, &format!("/v1/allocation/rounds/{round_id}/series"), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "", Method::POST, &format!("/v1/allocation/rounds/{round_id}/series/retry"), None).await;
    assert_eq!(status, 401);
    assert_eq!(app.db.count(&format!("SELECT count(*) AS n FROM allocation_series WHERE round_id = '{round_id}'")).await, 2);
}
