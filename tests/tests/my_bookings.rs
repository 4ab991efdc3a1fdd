//! A person's bookings through the registry (issue 27): made by signed-in people only, listed
//! across every vendor with each vendor's status, read with their history, cancelled within
//! the vendor's rules, rebooked atomically, booking requests answered; association bookings
//! verified; never a leak of someone else's booking; what the case officer decides at the
//! vendor reaches the registry through the vendor's change feed, and the owner is notified.
//! Against the demo dataset, two reference booking backends and the fault vendor on loopback.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reference_booking::Backend;
use reference_booking::service::Decision;
use registry_core::auth::Principal;
use serde_json::{Value, json};
use tests::vendors::{hall, reference_vendor};
use tests::{TestApp, TestDb};

const KIM: &str = "198112289874";
const ALEX: &str = "197010632391";
const SARA: &str = "199001012385";

struct Setup {
    app: TestApp,
    backend: Backend,
    vendor_db: TestDb,
    facility: String,
    unit: String,
}

async fn setup() -> Setup {
    tests::rustls_provider();
    let config = grpc_api::server::ServerConfig {
        booking_changes_interval: Duration::from_millis(200),
        ..grpc_api::server::ServerConfig::default()
    };
    let app = TestApp::start_with(config).await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let v = reference_vendor(&app, &["1881"], "Referensbokning Syd").await;
    let (facility, unit) = hall(&app, "1881").await;
    Setup { app, backend: v.backend, vendor_db: v.db, facility, unit }
}

fn on(hour: u32) -> DateTime<Utc> {
    tests::dates::at(tests::dates::ordinary_day_after(7), hour)
}

async fn call(app: &TestApp, who: &str, method: reqwest::Method, path: &str, body: Option<Value>, key: Option<&str>) -> (u16, Value) {
    let mut r = tests::authed(app.http().request(method, app.url(path)), who);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn rule(p: &Value) -> String {
    p["errors"][0]["rule"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn people_see_cancel_and_rebook_their_bookings_and_nobody_elses() {
    use reqwest::Method;
    let s = setup().await;
    let app = &s.app;
    let (kim, alex) = (app.session(KIM, "Kim Svensson", None).await, app.session(ALEX, "Alex Berg", None).await);
    let booking = |hour: u32| {
        json!({"facilityId": s.facility, "unitId": s.unit, "start": on(hour), "end": on(hour + 1), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}})
    };

    // Kim and Alex each book an hour.
    let (status, mine) = call(app, &kim, Method::POST, "/v1/bookings", Some(booking(17)), Some("kims-booking-key-0001")).await;
    assert_eq!(status, 201, "{mine}");
    let id = mine["id"].as_str().expect("the registry's id").to_string();
    let (status, theirs) = call(app, &alex, Method::POST, "/v1/bookings", Some(booking(19)), Some("alexs-booking-key-001")).await;
    assert_eq!(status, 201, "{theirs}");
    // The vendor got a per-vendor pseudonym, never who booked.
    let refs = s.vendor_db.count("SELECT count(DISTINCT customer_ref) AS n FROM bookings WHERE customer_ref ~ '^p-[0-9a-f]{32}$'").await;
    assert_eq!(refs, 2, "one reference per person");

    // My bookings: Kim's own only, the vendor's status named.
    let (status, list) = call(app, &kim, Method::GET, "/v1/me/bookings", None, None).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["bookings"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()], "{list}");
    assert_eq!(list["vendors"][0]["status"], "ok", "{list}");
    assert_eq!(list["bookings"][0]["status"], "confirmed");

    // One booking, with its history; to anyone else it does not exist.
    let (status, one) = call(app, &kim, Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["history"][0]["status"], "confirmed", "{one}");
    let (status, p) = call(app, &alex, Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(status, 404, "another person's booking: {p}");
    let (status, _) = call(app, &alex, Method::DELETE, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(status, 404, "nor can they cancel it");
    let (status, _) = call(app, "", Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(status, 401);
    let unknown = uuid::Uuid::now_v7();
    let (status, _) = call(app, &kim, Method::GET, &format!("/v1/bookings/{unknown}"), None, None).await;
    assert_eq!(status, 404, "an unknown id answers as another's does");
    assert_eq!(s.vendor_db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed' AND customer_ref IS NOT NULL").await, 2);

    // Rebooking onto Alex's time: refused, and Kim's booking keeps its time.
    let to = |hour: u32| json!({"start": on(hour), "end": on(hour + 1)});
    let (status, p) = call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(19)), Some("kims-move-key-000001")).await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("slot_unavailable")), "{p}");
    let (_, one) = call(app, &kim, Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(one["start"], json!(on(17)), "{one}");
    // To a free time: moved, the same booking.
    let (status, moved) =
        call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(20)), Some("kims-move-key-000002")).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!((moved["id"].as_str(), &moved["start"], moved["status"].as_str()), (Some(id.as_str()), &json!(on(20)), Some("confirmed")));
    assert_eq!(moved["history"].as_array().unwrap().len(), 2, "{moved}");
    // The same key and move again answers the booking; another move with it is refused.
    let (status, again) =
        call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(20)), Some("kims-move-key-000002")).await;
    assert_eq!((status, &again["start"]), (200, &json!(on(20))));
    let (status, p) = call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(21)), Some("kims-move-key-000002")).await;
    assert_eq!((status, rule(&p).as_str()), (409, "idempotency_key_reused"), "{p}");
    // Bad moves are named before anything is sent.
    let (status, p) = call(
        app,
        &kim,
        Method::POST,
        &format!("/v1/bookings/{id}/move"),
        Some(json!({"start": on(21), "end": on(20)})),
        Some("kims-move-key-000003"),
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("end")), "{p}");
    let (status, p) = call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(21)), None).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("Idempotency-Key")), "{p}");
    let (status, p) = call(app, &alex, Method::POST, &format!("/v1/bookings/{id}/move"), Some(to(21)), Some("alexs-move-key-00001")).await;
    assert_eq!(status, 404, "Alex cannot move Kim's booking: {p}");

    // Reminders can be turned off; the owner's choice only.
    let (status, _) = call(app, &kim, Method::PUT, &format!("/v1/bookings/{id}/reminders"), Some(json!({"enabled": false})), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(app, &alex, Method::PUT, &format!("/v1/bookings/{id}/reminders"), Some(json!({"enabled": false})), None).await;
    assert_eq!(status, 404);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM bookings WHERE NOT reminders").await, 1);
    let (_, one) = call(app, &kim, Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(one["reminders"], false, "{one}");

    // Cancelled within the vendor's rules: the time is free again; twice changes nothing.
    let (status, gone) = call(app, &kim, Method::DELETE, &format!("/v1/bookings/{id}?reason=Sjuk"), None, None).await;
    assert_eq!((status, gone["status"].as_str()), (200, Some("cancelled")), "{gone}");
    let (status, gone) = call(app, &kim, Method::DELETE, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!((status, gone["status"].as_str()), (200, Some("cancelled")), "{gone}");

    // After the vendor's cancellation deadline: a clear refusal naming it, and the booking stays.
    let (status, late) = call(app, &kim, Method::POST, "/v1/bookings", Some(booking(18)), Some("kims-booking-key-0002")).await;
    assert_eq!(status, 201, "{late}");
    let late_id = late["id"].as_str().unwrap().to_string();
    let mut unit = s.backend.units().await.unwrap().into_iter().find(|u| u.registry_unit_id.to_string() == s.unit).unwrap();
    unit.rules.cancel_hours = 8760;
    s.backend.save_unit(&unit).await.unwrap();
    let (status, p) = call(app, &kim, Method::DELETE, &format!("/v1/bookings/{late_id}"), None, None).await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("cancellation_deadline_passed")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("8760 hours"), "names the deadline: {p}");
    let (_, still) = call(app, &kim, Method::GET, &format!("/v1/bookings/{late_id}"), None, None).await;
    assert_eq!(still["status"], "confirmed");

    // Notices: made, moved and cancelled, each once, to the address given, with no one's name.
    let events = tests::eventually(async || {
        let n = app.db.count("SELECT count(*) AS n FROM notices WHERE kind = 'booking_update'").await;
        (n >= 5).then_some(n)
    })
    .await;
    assert_eq!(events, Some(5), "Kim: confirmed, moved, cancelled, confirmed; Alex: confirmed");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM notices WHERE data->>'event' = 'moved'").await, 1);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM notices WHERE data::text LIKE '%Kim%'").await, 0);

    // An iCalendar file per booking, for its owner only.
    let res = tests::authed(app.http().get(app.url(&format!("/v1/bookings/{late_id}/calendar.ics"))), &kim).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = res.text().await.unwrap();
    assert!(ics.contains(&format!("UID:{late_id}@booking.registry")) && ics.contains("STATUS:CONFIRMED"), "{ics}");
    assert!(ics.contains(&format!("DTSTART:{}", on(18).format("%Y%m%dT%H%M%SZ"))), "{ics}");
    let res = tests::authed(app.http().get(app.url(&format!("/v1/bookings/{late_id}/calendar.ics"))), &alex).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // A personal calendar feed: a secret address, replaced and revoked by its owner.
    let (status, feed) = call(app, &kim, Method::POST, "/v1/me/calendar-feed", None, None).await;
    assert_eq!(status, 201, "{feed}");
    let url = feed["url"].as_str().unwrap().to_string();
    let get = async |url: &str| {
        let res = app.http().get(url).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let (status, cal) = get(&url).await;
    assert_eq!(status, 200, "no sign-in: the address is the credential");
    assert!(cal.contains(&format!("UID:{late_id}@booking.registry")) && cal.contains(&format!("UID:{id}@booking.registry")), "{cal}");
    assert!(cal.contains("STATUS:CANCELLED"), "the cancelled booking leaves calendars: {cal}");
    assert!(!cal.contains("Kim") && !cal.contains(KIM), "{cal}");
    let (status, renewed) = call(app, &kim, Method::POST, "/v1/me/calendar-feed", None, None).await;
    assert_eq!(status, 201);
    assert_eq!(get(&url).await.0, 404, "the old address stops working");
    let url = renewed["url"].as_str().unwrap().to_string();
    assert_eq!(get(&url).await.0, 200);
    let (status, _) = call(app, &kim, Method::DELETE, "/v1/me/calendar-feed", None, None).await;
    assert_eq!(status, 204);
    assert_eq!(get(&url).await.0, 404, "revoked");
    let (status, _) = call(app, "", Method::POST, "/v1/me/calendar-feed", None, None).await;
    assert_eq!(status, 401);

    // gRPC: the same core.
    use grpc_api::proto::v1 as g;
    let mut c = g::booking_service_client::BookingServiceClient::new(app.channel().await);
    let list = c.list_my_bookings(tests::with_key(g::ListMyBookingsRequest::default(), &kim)).await.unwrap().into_inner();
    let states: Vec<(&str, &str)> = list.bookings.iter().map(|b| (b.id.as_str(), b.status.as_str())).collect();
    assert_eq!(states, [(late_id.as_str(), "confirmed"), (id.as_str(), "cancelled")], "by start");
    let e = c.get_booking(tests::with_key(g::GetRegistryBookingRequest { id: id.clone() }, &alex)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    let e = c.get_booking(tests::with_key(g::GetRegistryBookingRequest { id: "nope".into() }, &kim)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let e = c
        .cancel_booking(tests::with_key(g::CancelRegistryBookingRequest { id: late_id.clone(), reason: String::new() }, &kim))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");

    // Kim's data lists the bookings made through the registry; erasing it forgets them here
    // (the booking system keeps its bookings), and the calendar feed with them.
    let (_, feed) = call(app, &kim, Method::POST, "/v1/me/calendar-feed", None, None).await;
    let (status, data) = call(app, &kim, Method::GET, "/v1/me/personal-data", None, None).await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["bookings"].as_array().unwrap().len(), 2, "{data}");
    assert_eq!(data["calendarFeed"], true);
    let (status, erased) = call(app, &kim, Method::DELETE, "/v1/me/personal-data", None, None).await;
    assert_eq!((status, &erased["bookingsForgotten"]), (200, &json!(2)), "{erased}");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM calendar_feeds").await, 0);
    assert_eq!(app.http().get(feed["url"].as_str().unwrap()).send().await.unwrap().status(), 404);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM bookings").await, 1, "Alex's booking stays");
}

#[tokio::test]
async fn association_bookings_are_verified_and_the_case_officers_decisions_reach_the_owner() {
    use reqwest::Method;
    let s = setup().await;
    let app = &s.app;
    let operator = Principal::operator("test");
    let kim = app.session(KIM, "Kim Svensson", None).await;
    let alex = app.session(ALEX, "Alex Berg", None).await;
    let sara = app.session(SARA, "Sara Lind", None).await;
    let club = app.registry.create_association(&operator, &tests::fixtures::association("1881", 27)).await.unwrap();
    app.registry.decide_registration(&operator, club.id, Some("1881"), None, &registry_core::model::Decision::Approve).await.unwrap();
    for (pin, name) in [(KIM, "Kim Svensson"), (SARA, "Sara Lind")] {
        let new = registry_core::model::NewRepresentative { personal_identity_number: pin.into(), name: name.into() };
        app.registry.add_representative(&operator, club.id, &new).await.unwrap();
    }
    let request = |hour: u32, association: &str| {
        json!({"facilityId": s.facility, "unitId": s.unit, "start": on(hour), "end": on(hour + 1),
        "mode": "request", "associationId": association, "message": "Träning P12",
        "customer": {"type": "association", "name": "Testföreningen 27", "email": "info@forening.example.se"}})
    };
    let club_id = club.id.to_string();

    // Someone who does not represent it cannot book as it; a made-up association is named.
    let (status, p) = call(app, &alex, Method::POST, "/v1/bookings", Some(request(18, &club_id)), Some("alex-club-booking-001")).await;
    assert_eq!(status, 403, "{p}");
    let (status, p) =
        call(app, &kim, Method::POST, "/v1/bookings", Some(request(18, &uuid::Uuid::now_v7().to_string())), Some("kim-club-booking-0000"))
            .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("associationId")), "{p}");
    let mut no_id = request(18, &club_id);
    no_id.as_object_mut().unwrap().remove("associationId");
    let (status, p) = call(app, &kim, Method::POST, "/v1/bookings", Some(no_id), Some("kim-club-booking-000a")).await;
    assert_eq!((status, rule(&p).as_str()), (400, "required"), "{p}");
    // An association not approved where the unit is.
    let elsewhere = app.registry.create_association(&operator, &tests::fixtures::association("0880", 28)).await.unwrap();
    let new = registry_core::model::NewRepresentative { personal_identity_number: KIM.into(), name: "Kim Svensson".into() };
    app.registry.add_representative(&operator, elsewhere.id, &new).await.unwrap();
    let (status, p) =
        call(app, &kim, Method::POST, "/v1/bookings", Some(request(18, &elsewhere.id.to_string())), Some("kim-club-booking-000b")).await;
    assert_eq!((status, rule(&p).as_str()), (409, "association_not_approved"), "{p}");

    // A representative books for it: the vendor gets the association's reference, verified,
    // and the association's organisation number from the registry.
    let (status, b) = call(app, &kim, Method::POST, "/v1/bookings", Some(request(18, &club_id)), Some("kim-club-booking-0001")).await;
    assert_eq!((status, b["status"].as_str()), (201, Some("pending")), "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.vendor_db
            .count(&format!(
                "SELECT count(*) AS n FROM bookings WHERE association_verified AND customer_ref ~ '^a-' AND customer->>'orgNumber' = '{}'",
                club.org_number
            ))
            .await,
        1
    );
    // Sara, the other representative, sees it among hers.
    let (_, list) = call(app, &sara, Method::GET, "/v1/me/bookings", None, None).await;
    assert_eq!(list["bookings"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["bookings"][0]["associationName"], club.name.as_str(), "{list}");

    // The case officer asks for completion at the vendor: the registry learns it from the
    // vendor's change feed and tells the association's address.
    let vendor_booking: uuid::Uuid = b["bookingId"].as_str().unwrap().parse().unwrap();
    s.backend.decide(vendor_booking, Decision::RequestCompletion, "Skicka deltagarlistan").await.unwrap();
    let learnt = tests::eventually(async || {
        let n = app.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'needs_completion'").await;
        (n == 1).then_some(n)
    })
    .await;
    assert_eq!(learnt, Some(1), "the feed brought the decision");
    let asked = app
        .db
        .count("SELECT count(*) AS n FROM notices WHERE data->>'event' = 'completion_asked' AND data->>'message' = 'Skicka deltagarlistan'")
        .await;
    assert_eq!(asked, 1);
    let (_, one) = call(app, &kim, Method::GET, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(one["statusMessage"], "Skicka deltagarlistan", "{one}");
    let steps: Vec<&str> = one["history"].as_array().unwrap().iter().map(|h| h["actor"].as_str().unwrap()).collect();
    assert_eq!(steps, ["customer", "staff"], "{one}");

    // Kim answers: pending again, with the answer in the history.
    let (status, p) = call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/complete"), Some(json!({"message": " "})), None).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("message")), "{p}");
    let (status, done) =
        call(app, &kim, Method::POST, &format!("/v1/bookings/{id}/complete"), Some(json!({"message": "Bifogad"})), None).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("pending")), "{done}");
    assert_eq!(done["history"][2]["message"], "Bifogad", "{done}");

    // Approved: the feed brings it, the association is told once.
    s.backend.decide(vendor_booking, Decision::Approve, "").await.unwrap();
    let approved = tests::eventually(async || {
        let n = app.db.count("SELECT count(*) AS n FROM notices WHERE data->>'event' = 'approved'").await;
        (n >= 1).then_some(n)
    })
    .await;
    assert_eq!(approved, Some(1));

    // Kim stops representing the club: the booking is no longer Kim's to see or cancel; Sara
    // still cancels it.
    let reps = app.registry.representatives(&operator.clone().with_personal_data(), club.id).await.unwrap();
    let kims = reps.iter().find(|r| r.name == "Kim Svensson").unwrap();
    app.registry.remove_representative(&operator, club.id, kims.id).await.unwrap();
    let (status, _) = call(app, &kim, Method::DELETE, &format!("/v1/bookings/{id}"), None, None).await;
    assert_eq!(status, 404);
    let (status, gone) = call(app, &sara, Method::DELETE, &format!("/v1/bookings/{id}?reason=Inställd"), None, None).await;
    assert_eq!((status, gone["status"].as_str()), (200, Some("cancelled")), "{gone}");
    let (_, list) = call(app, &kim, Method::GET, "/v1/me/bookings", None, None).await;
    assert!(list["bookings"].as_array().unwrap().is_empty(), "{list}");
}

#[tokio::test]
async fn a_vendor_that_is_down_leaves_a_labelled_partial_list() {
    use federation::fault::{Defect, FaultVendor, Faults};
    use reqwest::Method;
    let s = setup().await;
    let app = &s.app;
    let operator = Principal::operator("test");
    let keys = app.keys().await;
    let kim = app.session(KIM, "Kim Svensson", None).await;
    // A second vendor, in Kalmar, that takes bookings.
    let f = app.registry.create_facility(&operator, &tests::fixtures::facility("1881", "Kumla testhall")).await.unwrap();
    let fault = FaultVendor::new(vec!["hall-a".into()], Faults { bookings: true, ..Faults::default() }, 5);
    let url = format!("http://{}", fault.clone().serve().await);
    let body = json!({"name": "Kalmarbokning", "endpoint": url, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": ["1881"]});
    let v: Value =
        app.http().post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap().json().await.unwrap();
    let vendor_id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
    app.registry.set_unit_vendor(&operator, f.id, f.units[0].id, Some((vendor_id, "hall-a".into()))).await.unwrap();

    let kalmar = json!({"facilityId": f.id, "unitId": f.units[0].id, "start": on(18), "end": on(19), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
    let (status, there) = call(app, &kim, Method::POST, "/v1/bookings", Some(kalmar), Some("kim-kalmar-booking-01")).await;
    assert_eq!(status, 201, "{there}");
    let kumla = json!({"facilityId": s.facility, "unitId": s.unit, "start": on(17), "end": on(18), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
    let (status, here) = call(app, &kim, Method::POST, "/v1/bookings", Some(kumla), Some("kim-kumla-booking-001")).await;
    assert_eq!(status, 201, "{here}");
    // A second reference backend, for Malmö.
    let _west = reference_vendor(app, &["1280"], "Referensbokning Väst").await;
    let (malmo_facility, malmo_unit) = hall(app, "1280").await;
    let malmo = json!({"facilityId": malmo_facility, "unitId": malmo_unit, "start": on(19), "end": on(20), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
    let (status, west) = call(app, &kim, Method::POST, "/v1/bookings", Some(malmo), Some("kim-malmo-booking-001")).await;
    assert_eq!(status, 201, "{west}");
    let (_, list) = call(app, &kim, Method::GET, "/v1/me/bookings", None, None).await;
    let statuses: Vec<&str> = list["vendors"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "ok"], "{list}");
    assert_eq!(list["bookings"].as_array().unwrap().len(), 3);

    // Kalmar's vendor stops answering: the list comes within its deadline, Kumla's booking as
    // the vendor has it, Kalmar's as the registry last knew it, marked, and the vendor named.
    fault.set(Faults { bookings: true, defects: vec![Defect::Hang], ..Faults::default() });
    let (status, list) = call(app, &kim, Method::GET, "/v1/me/bookings", None, None).await;
    assert_eq!(status, 200, "{list}");
    let kalmar = list["vendors"].as_array().unwrap().iter().find(|v| v["vendorName"] == "Kalmarbokning").unwrap();
    assert_eq!(kalmar["status"], "timeout", "{list}");
    let stale: Vec<(&str, bool)> = list["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["vendorName"].as_str().unwrap(), b["stale"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(stale, [("Referensbokning Syd", false), ("Kalmarbokning", true), ("Referensbokning Väst", false)], "{list}");
    let others: Vec<&str> = list["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["vendorName"] != "Kalmarbokning")
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(others, ["ok", "ok"], "the other booking systems answer as before: {list}");
}
