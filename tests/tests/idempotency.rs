//! Idempotency keys (issue 25, findings 2 and 3): a retry sent while the first request is still
//! running gets the one booking (never "slot taken" for the time it booked itself), a key is
//! its caller's own (another caller with the same key and body gets its own outcome, never the
//! first caller's booking or access code), and a key sent again with another body is refused
//! by name. At the reference vendor (gRPC and REST: bookings, series, blocks) and through the
//! registry (REST and gRPC).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use federation::pb;
use pb::booking_provider_client::BookingProviderClient;
use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::model::{CustomerType, Rules, Unit};
use reference_booking::{Backend, server};
use serde_json::{Value, json};
use tests::{TestApp, TestDb};
use tonic::Code;
use tonic_types::StatusExt;

/// Concurrent copies of one request.
const REPLAYS: usize = 50;

fn on(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    tests::dates::at(date, hour)
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

/// The vendor's `google.rpc.ErrorInfo` reason.
fn reason(s: &tonic::Status) -> String {
    s.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

struct Vendor {
    db: TestDb,
    backend: Backend,
    url: String,
}

/// The reference vendor on loopback over its own database; `registry` is where it reads hours.
async fn vendor(registry: Option<String>) -> Vendor {
    tests::rustls_provider();
    let db = TestDb::empty().await;
    reference_booking::db::migrate(&db.url).await.expect("migrate the backend's database");
    let pool = registry_core::db::pool(&db.url, 24).unwrap();
    let backend = Backend::new(pool, Arc::new(Hours::new(registry, Duration::from_secs(300)))).with_clock(tests::clock());
    let app =
        server::app(backend.clone(), BookingGrpc::new(backend.clone(), ApiKeys::default(), None).allow_anonymous(), "").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    Vendor { db, backend, url }
}

async fn key(v: &Vendor, role: &str) -> String {
    reference_booking::keys::create(v.backend.pool(), "", role, "test").await.unwrap().1
}

fn direct(key: &str, start: DateTime<Utc>, name: &str) -> pb::CreateBookingRequest {
    pb::CreateBookingRequest {
        idempotency_key: key.into(),
        unit_ref: "hall-a".into(),
        start: ts(start),
        end: ts(start + chrono::Duration::hours(1)),
        mode: pb::BookingMode::Direct as i32,
        customer: Some(pb::Customer {
            r#type: pb::CustomerType::PrivatePerson as i32,
            name: name.into(),
            email: "kim@example.se".into(),
            ..Default::default()
        }),
        payment_method: pb::PaymentMethod::Invoice as i32,
        ..Default::default()
    }
}

/// Sends `bodies` at once: each task one POST with `idem` as its Idempotency-Key.
async fn post_all(url: String, api_key: &str, idem: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let r = tests::authed(http.post(&url), api_key).header("idempotency-key", idem).json(&body);
        set.spawn(async move {
            let res = r.send().await.unwrap();
            (i, res.status().as_u16(), res.json::<Value>().await.unwrap())
        });
    }
    let mut out: Vec<(usize, u16, Value)> = set.join_all().await;
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|(_, s, b)| (s, b)).collect()
}

#[tokio::test]
async fn concurrent_replays_at_the_reference_vendor_get_the_one_booking_series_and_block() {
    let v = vendor(None).await;
    let all_direct = Rules { horizon_days: 400, direct_types: CustomerType::ALL.to_vec(), request_types: vec![], ..Rules::default() };
    let unit = Unit {
        id: uuid::Uuid::now_v7(),
        external_ref: "hall-a".into(),
        registry_facility_id: uuid::Uuid::now_v7(),
        registry_unit_id: uuid::Uuid::now_v7(),
        name: "Hall A".into(),
        rules: all_direct,
        municipality_code: None,
        version: 1,
    };
    let u = v.backend.save_unit(&unit).await.unwrap();
    v.backend.hours().set(u.id, registry_core::hours::osm::parse("Mo-Su 08:00-22:00").unwrap());
    let (registry, registry_2) = (key(&v, "registry").await, key(&v, "registry").await);
    let (kim, other, ifk, officer) =
        (key(&v, "customer").await, key(&v, "customer").await, key(&v, "association").await, key(&v, "case_officer").await);
    let day = tests::dates::ordinary_day_after(7);
    let channel = tonic::transport::Endpoint::from_shared(v.url.clone()).unwrap().connect().await.unwrap();

    // gRPC: the same CreateBooking 50 times at once. Every one answers the one booking.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..REPLAYS {
        let mut c = BookingProviderClient::new(channel.clone());
        let r = tests::with_key(direct("grpc-replay-0000000001", on(day, 17), "Kim Andersson"), &registry);
        set.spawn(async move { c.create_booking(r).await.map(|r| r.into_inner().booking.unwrap()) });
    }
    let answers = set.join_all().await;
    let failed: Vec<String> = answers.iter().filter_map(|a| a.as_ref().err()).map(|s| format!("{:?} {}", s.code(), reason(s))).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    let first = answers[0].as_ref().unwrap().clone();
    assert_eq!(first.access_code.len(), 6);
    for a in &answers {
        let a = a.as_ref().unwrap();
        assert_eq!((&a.booking_id, &a.access_code, a.status), (&first.booking_id, &first.access_code, first.status));
    }
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 1);

    // Another caller (another registry key) with the same key and body: its own outcome (the
    // time is taken), not the first caller's booking.
    let mut c = BookingProviderClient::new(channel.clone());
    let e =
        c.create_booking(tests::with_key(direct("grpc-replay-0000000001", on(day, 17), "Kim Andersson"), &registry_2)).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::FailedPrecondition, "SLOT_UNAVAILABLE"), "{e:?}");
    assert!(!e.message().contains(&first.access_code), "{e:?}");

    // The same key with another body, at once with the first body: one booking; every request
    // with the winning body gets it, every other one is refused by name.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..REPLAYS {
        let mut c = BookingProviderClient::new(channel.clone());
        let name = if i % 2 == 0 { "Kim Andersson" } else { "Alex Berg" };
        let r = tests::with_key(direct("grpc-mixed-00000000002", on(day, 19), name), &registry);
        set.spawn(async move { (name, c.create_booking(r).await.map(|r| r.into_inner().booking.unwrap())) });
    }
    let answers = set.join_all().await;
    let winner = answers.iter().find_map(|(n, a)| a.as_ref().ok().map(|b| (*n, b.booking_id.clone()))).expect("one body wins");
    for (name, a) in &answers {
        match a {
            Ok(b) => assert_eq!((*name, &b.booking_id), (winner.0, &winner.1)),
            Err(s) => {
                assert_ne!(*name, winner.0, "a replay of the winning body failed: {s:?}");
                assert_eq!((s.code(), reason(s).as_str()), (Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED"), "{s:?}");
            }
        }
    }
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 2);

    // REST: 50 at once, one booking, the same answer to each.
    let booking = json!({"unitRef": "hall-a", "start": on(day, 10), "end": on(day, 11), "mode": "direct", "customerType": "private_person",
        "customer": {"name": "Kim Andersson", "email": "kim@example.se"}});
    let answers = post_all(format!("{}/v1/bookings", v.url), &kim, "rest-replay-000000001", vec![booking.clone(); REPLAYS]).await;
    let failed: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 != 201).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    for (_, b) in &answers {
        assert_eq!((&b["id"], &b["accessCode"]), (&answers[0].1["id"], &answers[0].1["accessCode"]));
    }
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 3);
    // Another customer with the same key and body: the time is taken; not Kim's booking.
    let http = reqwest::Client::new();
    let post = |api_key: &str, idem: &str, path: &str, body: &Value| {
        http.post(format!("{}{path}", v.url)).header("x-api-key", api_key).header("idempotency-key", idem).json(body).send()
    };
    let r = post(&other, "rest-replay-000000001", "/v1/bookings", &booking).await.unwrap();
    let (status, p) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_eq!((status, p["type"].as_str()), (409, Some("/problems/slot-unavailable")), "{p}");
    assert!(!p.to_string().contains(answers[0].1["accessCode"].as_str().unwrap()), "{p}");
    // Kim's key with another booking: refused by name.
    let mut moved = booking.clone();
    moved["start"] = json!(on(day, 11));
    moved["end"] = json!(on(day, 12));
    let r = post(&kim, "rest-replay-000000001", "/v1/bookings", &moved).await.unwrap();
    let (status, p) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_eq!((status, p["type"].as_str()), (409, Some("/problems/idempotency-key-reused")), "{p}");

    // A weekly series, 50 times at once: one series, the same report to each.
    let series = json!({"unitRef": "hall-a", "firstDate": day + chrono::Duration::days(1), "lastDate": day + chrono::Duration::days(1 + 7 * 4),
        "from": "18:00:00", "to": "20:00:00", "mode": "direct", "customerType": "association",
        "customer": {"name": "IFK Kumla", "orgNumber": "802412-9952"}, "paymentMethod": "invoice", "atomic": true});
    let answers = post_all(format!("{}/v1/series", v.url), &ifk, "series-replay-0000001", vec![series.clone(); REPLAYS]).await;
    let failed: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 != 201).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    for (_, r) in &answers {
        assert_eq!(r, &answers[0].1, "the same report");
    }
    assert_eq!(answers[0].1["occurrences"].as_array().unwrap().len(), 5);
    let series_id = answers[0].1["seriesId"].as_str().unwrap();
    assert_eq!(v.db.count(&format!("SELECT count(*) AS n FROM bookings WHERE series_id = '{series_id}'")).await, 5);
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 8);
    let mut longer = series.clone();
    longer["lastDate"] = json!(day + chrono::Duration::days(1 + 7 * 5));
    let r = post(&ifk, "series-replay-0000001", "/v1/series", &longer).await.unwrap();
    let (status, p) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_eq!((status, p["type"].as_str()), (409, Some("/problems/idempotency-key-reused")), "{p}");

    // A block, 50 times at once: one block.
    let block = json!({"unitRef": "hall-a", "start": on(day, 8), "end": on(day, 10), "reason": "Golvvård"});
    let answers = post_all(format!("{}/v1/blocks", v.url), &officer, "block-replay-00000001", vec![block.clone(); REPLAYS]).await;
    let failed: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 != 201).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    assert!(answers.iter().all(|(_, b)| b["id"] == answers[0].1["id"]));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE kind = 'block'").await, 1);
    let mut longer = block.clone();
    longer["end"] = json!(on(day, 9));
    let r = post(&officer, "block-replay-00000001", "/v1/blocks", &longer).await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "/problems/idempotency-key-reused");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 9, "nothing but the one of each");
}

/// The registry with the demo dataset and the reference vendor federated for municipality 1881.
struct Federated {
    app: TestApp,
    facility: String,
    unit: String,
    vendor_db: TestDb,
}

async fn federated() -> Federated {
    tests::rustls_provider();
    // Fifty replays at once by one signed-in person fit within the person's rate limit here.
    let rate = grpc_api::limits::RateQuotas { resident: 1000, ..Default::default() };
    let app = TestApp::start_with(grpc_api::server::ServerConfig { rate, ..Default::default() }).await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let v = tests::vendors::reference_vendor(&app, &["1881"], "Referensbokning Syd").await;
    let (facility, unit) = tests::vendors::hall(&app, "1881").await;
    Federated { app, facility, unit, vendor_db: v.db }
}

fn rules(p: &Value) -> Vec<String> {
    p["errors"].as_array().map(|e| e.iter().map(|v| v["rule"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

/// The registry's rule of a gRPC refusal (its `BadRequest` field violation's reason).
fn grpc_rule(s: &tonic::Status) -> String {
    s.get_details_bad_request().and_then(|b| b.field_violations.first().map(|f| f.reason.to_lowercase())).unwrap_or_default()
}

#[tokio::test]
async fn concurrent_replays_through_the_registry_get_the_one_booking_and_keys_are_the_callers_own() {
    let f = federated().await;
    let app = &f.app;
    // Bookings are made by signed-in people: two residents.
    let kim_session = app.session("198112289874", "Kim Svensson", None).await;
    let alex_session = app.session("197010632391", "Alex Berg", None).await;
    let day = tests::dates::ordinary_day_after(7);
    // What the vendor holds already (its certification run's bookings, cancelled), and how many
    // bookings were made since.
    let before = f.vendor_db.count("SELECT count(*) AS n FROM bookings").await;
    let made = async || f.vendor_db.count("SELECT count(*) AS n FROM bookings").await - before;
    let kim = json!({"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"});
    let booking = |hour: u32, customer: &Value| json!({"facilityId": f.facility, "unitId": f.unit, "start": on(day, hour), "end": on(day, hour + 1), "mode": "direct", "customer": customer});
    let http = app.http();
    let post = |who: &str, idem: &str, body: &Value| {
        let r = tests::authed(http.post(app.url("/v1/bookings")), who).header("idempotency-key", idem).json(body);
        async move {
            let res = r.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };

    // REST: the same booking 50 times at once. Every answer is the one booking.
    let answers = post_all(app.url("/v1/bookings"), &kim_session, "registry-rest-replay-0001", vec![booking(17, &kim); REPLAYS]).await;
    let failed: Vec<String> = answers.iter().filter(|a| a.0 != 201).map(|(s, p)| format!("{s} {:?}", rules(p))).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    let first = answers[0].1.clone();
    assert_eq!(first["status"], "confirmed");
    assert!(
        answers
            .iter()
            .all(|(_, b)| (&b["bookingId"], &b["accessCode"], &b["id"]) == (&first["bookingId"], &first["accessCode"], &first["id"]))
    );
    assert_eq!(made().await, 1);

    // A second person with the same key and the same body gets their own outcome: the time is
    // taken. Not Kim's booking, not its access code.
    let (status, p) = post(&alex_session, "registry-rest-replay-0001", &booking(17, &kim)).await;
    assert_eq!((status, rules(&p)), (409, vec!["slot_unavailable".to_string()]), "{p}");
    assert!(!p.to_string().contains(first["accessCode"].as_str().unwrap()), "{p}");
    // Nobody books without signing in, and no key of an organisation books.
    let (status, p) = post("", "registry-rest-replay-0001", &booking(18, &kim)).await;
    assert_eq!(status, 401, "{p}");
    let admin = app.key("admin", None, false).await;
    let (status, p) = post(&admin, "registry-rest-replay-0002", &booking(18, &kim)).await;
    assert_eq!(status, 403, "{p}");
    // The person's own key with another booking: refused by name.
    let (status, p) = post(&kim_session, "registry-rest-replay-0001", &booking(18, &kim)).await;
    assert_eq!((status, rules(&p)), (409, vec!["idempotency_key_reused".to_string()]), "{p}");
    // Another person's same key books for themself; replayed, the same booking.
    let alex = json!({"type": "private_person", "name": "Alex Berg", "email": "alex@example.se"});
    let (status, theirs) = post(&alex_session, "same-key-of-two-people", &booking(19, &alex)).await;
    assert_eq!(status, 201, "{theirs}");
    let (status, mine) = post(&kim_session, "same-key-of-two-people", &booking(18, &kim)).await;
    assert_eq!(status, 201, "{mine}");
    assert_ne!(theirs["bookingId"], mine["bookingId"]);
    let (status, again) = post(&kim_session, "same-key-of-two-people", &booking(18, &kim)).await;
    assert_eq!((status, &again["bookingId"], &again["accessCode"]), (201, &mine["bookingId"], &mine["accessCode"]));
    assert_eq!(made().await, 3);

    // gRPC: the same, 50 at once.
    use grpc_api::proto::v1 as g;
    let channel = app.channel().await;
    let req = |key: &str, hour: u32| g::CreateBookingRequest {
        idempotency_key: key.into(),
        facility_id: f.facility.clone(),
        unit_id: f.unit.clone(),
        start: ts(on(day, hour)),
        end: ts(on(day, hour + 1)),
        mode: g::BookingMode::Direct as i32,
        customer: Some(g::BookingCustomer {
            r#type: g::BookingCustomerType::PrivatePerson as i32,
            name: "Kim Svensson".into(),
            email: "kim@example.se".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..REPLAYS {
        let mut c = g::booking_service_client::BookingServiceClient::new(channel.clone());
        let r = tests::with_key(req("registry-grpc-replay-0001", 20), &kim_session);
        set.spawn(async move { c.create_booking(r).await.map(|r| r.into_inner().booking.unwrap()) });
    }
    let answers = set.join_all().await;
    let failed: Vec<String> = answers.iter().filter_map(|a| a.as_ref().err()).map(|s| format!("{:?} {}", s.code(), grpc_rule(s))).collect();
    assert!(failed.is_empty(), "{} of {REPLAYS} replays failed: {failed:?}", failed.len());
    let first = answers[0].as_ref().unwrap().clone();
    assert_eq!((first.status.as_str(), first.access_code.len()), ("confirmed", 6));
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|b| (&b.booking_id, &b.access_code) == (&first.booking_id, &first.access_code))));
    assert_eq!(made().await, 4);
    let mut c = g::booking_service_client::BookingServiceClient::new(channel.clone());
    let e = c.create_booking(tests::with_key(req("registry-grpc-replay-0001", 20), &alex_session)).await.unwrap_err();
    assert_eq!((e.code(), grpc_rule(&e).as_str()), (Code::FailedPrecondition, "slot_unavailable"), "another caller: {e:?}");
    let e = c.create_booking(tests::with_key(req("registry-grpc-replay-0001", 17), &kim_session)).await.unwrap_err();
    assert_eq!((e.code(), grpc_rule(&e).as_str()), (Code::FailedPrecondition, "idempotency_key_reused"), "another body: {e:?}");
    assert_eq!(made().await, 4, "nothing else was booked");
}
