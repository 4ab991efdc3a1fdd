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
    // The vendor already has a booking on an ordinary Thursday of the season at 17: a run asks
    // the vendor and keeps that weekly time free (a weekly series is booked whole).
    let ordinary = |weekday: i64| {
        (0..4)
            .map(|w| start + chrono::Duration::days(weekday - 1 + 7 * w))
            .find(|d| !tests::dates::is_holiday_or_eve(*d))
            .expect("a four-week season has an ordinary day of each kind")
    };
    let thursday = ordinary(4);
    let book = async |day: NaiveDate, hour: u32, key: &str| {
        let at = tests::dates::at(day, hour);
        let body = json!({"facilityId": hall(&app, "1881").await.0, "unitId": unit, "start": at, "end": at + chrono::Duration::hours(1), "mode": "direct",
            "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
        let res =
            tests::authed(app.http().post(app.url("/v1/bookings")), &kim).header("idempotency-key", key).json(&body).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        at
    };
    book(thursday, 17, "kims-thursday-booking-1").await;

    let (status, run) =
        call(&app, &staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/runs"), Some(json!({"label": "preliminär"}))).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["figures"]["placed"], 1, "the Thursday time is booked at the vendor: {run}");
    let check = run["vendorChecks"].as_array().unwrap().iter().find(|c| c["unitId"] == json!(unit)).expect("the unit's check").clone();
    assert_eq!(check["status"], "ok", "{check}");
    assert_eq!(
        check["booked"],
        json!([{"day": 4, "start": "17:00", "end": "18:00", "firstDate": thursday, "dates": 1}]),
        "what the vendor had booked is kept with the run: {check}"
    );
    let f14 = run["decisions"].as_array().unwrap().iter().find(|d| d["team"] == "F14").unwrap().clone();
    assert!(f14.get("slot").is_none(), "{f14}");
    assert_eq!(f14["whyNot"][0]["rule"], "booked_at_vendor", "{f14}");
    assert!(f14["whyNot"][0]["messageSv"].as_str().unwrap().contains("bokningssystemet"), "{f14}");
    let run_id = run["id"].as_str().unwrap().to_string();
    // Nothing is booked before the allocation is final.
    let (_, s) = call(&app, &staff, Method::GET, &format!("/v1/allocation/rounds/{round_id}/series"), None).await;
    assert_eq!(s["series"], json!([]), "{s}");
    // Someone books an ordinary Tuesday at 17 after the run: the Tuesday series meets it.
    let tuesday = ordinary(2);
    let taken = book(tuesday, 17, "kims-tuesday-booking-1").await;
    let (status, f) =
        call(&app, &staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/finalise"), Some(json!({"runId": run_id}))).await;
    assert_eq!(status, 200, "{f}");

    let all = settled(&app, &staff, &round_id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    {
        let session = all[0].clone();
        assert_eq!((session["day"].as_u64(), session["status"].as_str()), (Some(2), Some("conflict")), "{session}");
        let conflict = session["occurrences"].as_array().unwrap().iter().find(|w| w["outcome"] == "conflict").cloned();
        assert_eq!(conflict.as_ref().and_then(|c| c["date"].as_str()), Some(tuesday.to_string().as_str()), "{session}");
        assert!(session["message"].as_str().unwrap().contains("1 of 4 weeks"), "{session}");

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
        let tuesday_series = &all[0];
        let weeks = tuesday_series["occurrences"].as_array().unwrap();
        assert_eq!(weeks.len(), 4, "one per week: {tuesday_series}");
        let created = weeks.iter().filter(|w| w["outcome"] == "created").count();
        let excluded = weeks.iter().filter(|w| w["outcome"] == "excluded").count();
        assert_eq!(created + excluded, 4, "every week booked or a break: {tuesday_series}");
        // At the vendor: the association's bookings, under its per-vendor reference (never the
        // person's), one per week booked.
        let at_vendor = vendor
            .db
            .count("SELECT count(*) AS n FROM bookings WHERE customer_ref ~ '^a-[0-9a-f]{32}$' AND series_id IS NOT NULL AND status <> 'cancelled'")
            .await;
        assert_eq!(at_vendor, created as i64, "the Tuesday series at the vendor: {all:#?}");
    }

    matches_later_in_the_season(&app, &staff, &kim, &round_id, unit, (ordinary(2), ordinary(3), thursday)).await;

    // Only staff see or retry the bookings; nothing is queued twice.
    let (status, _) = call(&app, &kim, Method::GET, &format!("/v1/allocation/rounds/{round_id}/series"), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "", Method::POST, &format!("/v1/allocation/rounds/{round_id}/series/retry"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        app.db.count(&format!("SELECT count(*) AS n FROM allocation_series WHERE round_id = '{round_id}'")).await,
        2,
        "the Tuesday series and the Wednesday match"
    );
}

/// Match times (matchtider) after the final allocation: requested by the representative,
/// allocated around the weekly times, the vendor's bookings and the matches decided before,
/// each refusal explained, registered by staff, booked at the vendor as one occasion, and
/// published with the allocation.
async fn matches_later_in_the_season(
    app: &TestApp,
    staff: &str,
    kim: &str,
    round_id: &str,
    unit: String,
    (tuesday, wednesday, thursday): (NaiveDate, NaiveDate, NaiveDate),
) {
    use reqwest::Method;
    let (_, apps) = call(app, kim, Method::GET, &format!("/v1/allocation/rounds/{round_id}/applications"), None).await;
    let app_of = |team: &str| {
        apps["applications"].as_array().unwrap().iter().find(|a| a["team"]["name"] == team).unwrap()["id"].as_str().unwrap().to_string()
    };
    let (p12, f14) = (app_of("P12"), app_of("F14"));
    let ask = async |application: &str, date: NaiveDate, from: &str, to: &str, minutes: u32, note: &str| {
        let body = json!({"durationMinutes": minutes, "note": note,
            "alternatives": [{"date": date, "earliestStart": from, "latestEnd": to, "units": [unit]}]});
        call(app, kim, Method::POST, &format!("/v1/allocation/applications/{application}/matches"), Some(body)).await
    };
    // A home match on Wednesday afternoon; one on Tuesday at P12's own training time; one at
    // the Thursday hour the vendor has booked.
    let (status, wed) = ask(&p12, wednesday, "16:00", "21:00", 120, "Hemmamatch mot IK Sävbo").await;
    assert_eq!(status, 201, "{wed}");
    assert_eq!(wed["status"], "requested");
    let (status, _) = ask(&f14, tuesday, "17:00", "18:00", 60, "").await;
    assert_eq!(status, 201);
    let (status, _) = ask(&f14, thursday, "17:00", "18:00", 60, "").await;
    assert_eq!(status, 201);
    // Bad input: a date outside the season, a time outside the unit's hours, another's team.
    let (status, p) = ask(&p12, tuesday + chrono::Duration::days(60), "16:00", "21:00", 120, "").await;
    assert_eq!(status, 400, "{p}");
    assert!(p["errors"].as_array().unwrap().iter().any(|v| v["field"] == "alternatives[0].date" && v["rule"] == "out_of_range"), "{p}");
    let (status, p) = ask(&p12, wednesday, "08:00", "12:00", 120, "").await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p["errors"].as_array().unwrap().iter().any(|v| v["field"] == "alternatives[0].units[0]" && v["rule"] == "outside_hours"),
        "{p}"
    );
    let stranger = app.session("197010632391", "Alex Lind", None).await;
    let body = json!({"durationMinutes": 60, "alternatives": [{"date": wednesday, "earliestStart": "16:00", "latestEnd": "21:00", "units": [unit]}]});
    let (status, _) = call(app, &stranger, Method::POST, &format!("/v1/allocation/applications/{p12}/matches"), Some(body)).await;
    assert_eq!(status, 404, "not the stranger's team");
    // Representatives do not run the match allocation.
    let (status, _) = call(app, kim, Method::POST, &format!("/v1/allocation/rounds/{round_id}/match-runs"), Some(json!({}))).await;
    assert_eq!(status, 403);

    let (status, run) =
        call(app, staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/match-runs"), Some(json!({"label": "matcher v. 40"})))
            .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(
        (run["kind"].as_str(), run["figures"]["wanted"].as_u64(), run["figures"]["placed"].as_u64()),
        (Some("matches"), Some(3), Some(1)),
        "{run}"
    );
    let placed = run["decisions"].as_array().unwrap().iter().find(|x| x.get("slot").is_some()).expect("the Wednesday match").clone();
    assert_eq!(placed["slot"]["date"], json!(wednesday), "{placed}");
    assert_eq!((placed["slot"]["start"].as_str(), placed["slot"]["end"].as_str()), (Some("16:00"), Some("18:00")), "{placed}");
    assert_eq!(placed["matchId"], wed["id"], "{placed}");
    let refused: Vec<&Value> = run["decisions"].as_array().unwrap().iter().filter(|x| x.get("slot").is_none()).collect();
    let rules: Vec<&str> = refused.iter().map(|x| x["whyNot"][0]["rule"].as_str().unwrap()).collect();
    assert_eq!(rules.len(), 2, "{run}");
    assert!(rules.contains(&"training") && rules.contains(&"booked_at_vendor"), "the weekly time and the vendor's booking: {rules:?}");

    // Staff register it: the Wednesday match is allocated and booked at the vendor as one
    // occasion; the others stay open with the reasons.
    let (status, d) =
        call(app, staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/matches/decide"), Some(json!({"runId": run["id"]})))
            .await;
    assert_eq!(status, 200, "{d}");
    let decided = d["matches"].as_array().unwrap();
    assert_eq!(decided.len(), 3, "{d}");
    assert_eq!(decided.iter().filter(|m| m["status"] == "allocated").count(), 1, "{d}");
    assert!(decided.iter().filter(|m| m["status"] == "requested").all(|m| !m["whyNot"].as_array().unwrap().is_empty()), "{d}");
    let all = settled(app, staff, round_id).await;
    let booked_match = all.iter().find(|x| x["date"] == json!(wednesday)).expect("the match at the vendor").clone();
    assert_eq!(booked_match["status"], "booked", "{booked_match}");
    assert_eq!(booked_match["occurrences"].as_array().unwrap().len(), 1, "one occasion: {booked_match}");

    // The representative sees what became of each; an allocated match is not withdrawn, an
    // open one is.
    let (status, mine) = call(app, kim, Method::GET, &format!("/v1/allocation/rounds/{round_id}/matches"), None).await;
    assert_eq!(status, 200, "{mine}");
    let allocated = mine["matches"].as_array().unwrap().iter().find(|m| m["status"] == "allocated").unwrap().clone();
    assert_eq!(allocated["slot"]["date"], json!(wednesday), "{allocated}");
    let (status, p) =
        call(app, kim, Method::POST, &format!("/v1/allocation/matches/{}/withdraw", allocated["id"].as_str().unwrap()), None).await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("match_allocated")), "{p}");

    // A second request for the same Wednesday afternoon meets the decided match.
    let (status, _) = ask(&f14, wednesday, "16:00", "18:00", 60, "").await;
    assert_eq!(status, 201);
    let (status, run2) = call(app, staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/match-runs"), None).await;
    assert_eq!(status, 201, "{run2}");
    let rules: Vec<&str> = run2["decisions"].as_array().unwrap().iter().filter_map(|x| x["whyNot"][0]["rule"].as_str()).collect();
    assert!(rules.contains(&"match_decided"), "{run2}");
    // Deciding a training run as matches, or the match run as the final allocation, is refused.
    let (status, p) =
        call(app, staff, Method::POST, &format!("/v1/allocation/rounds/{round_id}/matches/decide"), Some(json!({"runId": run["baseRun"]})))
            .await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (400, Some("wrong_kind")), "{p}");

    // Open data: the match with its date, in JSON and CSV.
    let (status, open) = call(app, "", Method::GET, &format!("/v1/allocation/rounds/{round_id}/allocation"), None).await;
    assert_eq!(status, 200, "{open}");
    assert_eq!(open["matches"].as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open["matches"][0]["note"], "Hemmamatch mot IK Sävbo", "{open}");
    let csv =
        app.http().get(app.url(&format!("/v1/allocation/rounds/{round_id}/allocation.csv"))).send().await.unwrap().text().await.unwrap();
    assert!(csv.lines().any(|l| l.ends_with(&wednesday.to_string())), "{csv}");
}
