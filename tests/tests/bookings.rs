//! Booking through the registry (`POST /v1/bookings`): the registry checks the booking, passes
//! it on to the unit's vendor over vendor.v1, and maps the vendor's answers to its own errors.
//! Against the demo dataset and a real reference booking backend on loopback.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use serde_json::{Value, json};
use tests::TestApp;

fn on(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    Stockholm.from_local_datetime(&date.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

/// A booking by Kim, signed in (bookings are made by signed-in people).
async fn post(app: &TestApp, key: Option<&str>, body: &Value) -> (u16, Value) {
    let kim = app.session("198112289874", "Kim Svensson", None).await;
    let mut r = tests::authed(app.http().post(app.url("/v1/bookings")), &kim).json(body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let res = r.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn rules(p: &Value) -> Vec<(String, String)> {
    p["errors"]
        .as_array()
        .map(|e| e.iter().map(|v| (v["field"].as_str().unwrap_or("").to_string(), v["rule"].as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn residents_book_through_the_registry_and_every_refusal_is_named() {
    tests::rustls_provider();
    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let _vendor = tests::vendors::reference_vendor(&app, &["1881"], "Referensbokning Syd").await;

    let http = app.http();
    let (facility, unit) = tests::vendors::hall(&app, "1881").await;
    let day = tests::dates::ordinary_day_after(7);
    let booking = |start: u32, customer: Value, mode: &str| json!({"facilityId": facility, "unitId": unit, "start": on(day, start), "end": on(day, start + 1), "mode": mode, "customer": customer});
    let kim = json!({"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se", "phone": "070-123 45 67"});
    let states = async || -> Vec<String> {
        let q = format!(
            "/v1/availability?facilityIds={facility}&from={}&to={}",
            on(day, 17).to_rfc3339().replace('+', "%2B"),
            on(day, 21).to_rfc3339().replace('+', "%2B")
        );
        let a: Value = http.get(app.url(&q)).send().await.unwrap().json().await.unwrap();
        assert_eq!(a["vendors"][0]["takesBookings"], json!(["direct", "request"]), "{a}");
        a["facilities"][0]["units"].as_array().unwrap().iter().find(|u| u["unitId"] == unit.as_str()).unwrap()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(states().await, ["free", "free", "free", "free"]);

    // A signed-in resident books directly; the answer holds no personal data.
    let key = "0f9e6c1e-8a5b-4c4e-9b1a-2f0c7d9e8a11";
    let (status, b) = post(&app, Some(key), &booking(18, kim.clone(), "direct")).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b["status"], "confirmed");
    assert_eq!(b["accessCode"].as_str().map(str::len), Some(6), "{b}");
    assert_eq!(b["facilityId"], facility.as_str());
    assert!(!b.to_string().contains("kim@example.se") && !b.to_string().contains("Kim Svensson"), "{b}");
    // The time shows as booked at once (the cached answer for the same window is forgotten).
    assert_eq!(states().await, ["free", "booked", "free", "free"]);

    // The same key and body again: the same booking, nothing new.
    let (status, again) = post(&app, Some(key), &booking(18, kim.clone(), "direct")).await;
    assert_eq!((status, &again["bookingId"]), (201, &b["bookingId"]));
    // The same key for another booking.
    let (status, p) = post(&app, Some(key), &booking(19, kim.clone(), "direct")).await;
    assert_eq!((status, rules(&p)), (409, vec![("Idempotency-Key".into(), "idempotency_key_reused".into())]), "{p}");
    // The time is taken.
    let (status, p) = post(&app, Some("a-second-key-of-16-chars"), &booking(18, kim.clone(), "direct")).await;
    assert_eq!((status, rules(&p)), (409, vec![("start".into(), "slot_unavailable".into())]), "{p}");
    // The vendor's rule: associations send requests, they do not book directly. Kim represents
    // an association approved in Kumla.
    let operator = registry_core::auth::Principal::operator("test");
    let club = app.registry.create_association(&operator, &tests::fixtures::association("1881", 31)).await.unwrap();
    let rep = registry_core::model::NewRepresentative { personal_identity_number: "198112289874".into(), name: "Kim Svensson".into() };
    app.registry.add_representative(&operator, club.id, &rep).await.unwrap();
    app.registry.decide_registration(&operator, club.id, Some("1881"), None, &registry_core::model::Decision::Approve).await.unwrap();
    let as_club = |start: u32, mode: &str| {
        let mut b = booking(start, json!({"type": "association", "name": club.name, "email": "info@kumlaibk.se"}), mode);
        b["associationId"] = json!(club.id);
        b
    };
    let (status, p) = post(&app, Some("a-third-key-of-16-chars"), &as_club(19, "direct")).await;
    assert_eq!((status, rules(&p)), (409, vec![("start".into(), "booking_rule".into())]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Referensbokning Syd"), "{p}");
    let (status, r) = post(&app, Some("a-fourth-key-of-16-chars"), &as_club(19, "request")).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("pending")), "{r}");
    assert!(r["accessCode"].is_null());

    // Bad input: every broken rule named, nothing sent.
    let bad = json!({"facilityId": facility, "unitId": unit, "start": on(day, 20), "end": on(day, 19), "mode": "direct",
        "customer": {"type": "private_person", "name": " ", "email": "kim(at)example.se", "phone": "ring mig", "orgNumber": "802000-0082"},
        "activity": "quidditch", "participants": 0});
    let (status, p) = post(&app, None, &bad).await;
    assert_eq!(status, 400, "{p}");
    let fields: Vec<String> = rules(&p).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        ["Idempotency-Key", "end", "customer.name", "customer.email", "customer.phone", "customer.orgNumber", "activity", "participants"]
    );
    for (body, field, rule) in [
        (json!({"facilityId": facility}), "unitId", "required"),
        (json!({"facilityId": 7, "unitId": unit}), "facilityId", "type"),
        (
            json!({"facilityId": facility, "unitId": unit, "start": on(day, 18), "end": on(day, 19), "mode": "maybe", "customer": kim}),
            "mode",
            "unknown_enum_value",
        ),
        (
            json!({"facilityId": facility, "unitId": unit, "start": on(day, 18), "end": on(day, 19), "mode": "direct", "customer": kim, "price": 0}),
            "price",
            "unknown_field",
        ),
    ] {
        let (status, p) = post(&app, Some("a-fifth-key-of-16-chars"), &body).await;
        assert_eq!(status, 400, "{body}: {p}");
        assert_eq!(rules(&p)[0], (field.to_string(), rule.to_string()), "{p}");
    }
    let (status, p) = post(&app, Some("short"), &booking(20, kim.clone(), "direct")).await;
    assert_eq!((status, rules(&p)), (400, vec![("Idempotency-Key".into(), "length".into())]));

    // Units the registry cannot book: not bookable online, or no such unit.
    let kalmar: Value =
        http.get(app.url("/v1/search/facilities?municipalities=0880&categories=sports_hall")).send().await.unwrap().json().await.unwrap();
    let k = &kalmar["hits"][0]["facility"];
    let body = json!({"facilityId": k["id"], "unitId": k["units"][0]["id"], "start": on(day, 18), "end": on(day, 19), "mode": "direct", "customer": kim});
    let (status, p) = post(&app, Some("a-sixth-key-of-16-chars"), &body).await;
    assert_eq!((status, rules(&p)), (409, vec![("unitId".into(), "not_bookable_online".into())]), "{p}");
    let body = json!({"facilityId": facility, "unitId": uuid::Uuid::now_v7(), "start": on(day, 18), "end": on(day, 19), "mode": "direct", "customer": kim});
    let (status, p) = post(&app, Some("a-seventh-key-of-16-chars"), &body).await;
    assert_eq!((status, rules(&p)), (400, vec![("unitId".into(), "not_found".into())]), "{p}");
    assert_eq!(states().await, ["free", "booked", "free", "free"], "only the one booking holds time");

    // gRPC: the same core, the same rules.
    use grpc_api::proto::v1 as g;
    let mut c = g::booking_service_client::BookingServiceClient::new(app.channel().await);
    let kim = app.session("198112289874", "Kim Svensson", None).await;
    let ts = |t: DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let req = |key: &str, hour: u32| g::CreateBookingRequest {
        idempotency_key: key.into(),
        facility_id: facility.clone(),
        unit_id: unit.clone(),
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
    let e = c.create_booking(req("a-grpc-key-of-16-chars", 20)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "bookings are made by signed-in people: {e:?}");
    let b = c.create_booking(tests::with_key(req("a-grpc-key-of-16-chars", 20), &kim)).await.unwrap().into_inner().booking.unwrap();
    assert_eq!((b.status.as_str(), b.access_code.len(), b.facility_id.as_str()), ("confirmed", 6, facility.as_str()));
    assert_eq!(states().await, ["free", "booked", "free", "booked"]);
    let err = c.create_booking(tests::with_key(req("another-grpc-key-16", 20), &kim)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    let err = c.create_booking(tests::with_key(g::CreateBookingRequest { mode: 0, ..req("short", 19) }, &kim)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_details_bad_request(&err).unwrap();
    let fields: Vec<&str> = details.field_violations.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["mode"], "the request's shape first");
    let err = c.create_booking(tests::with_key(req("short", 19), &kim)).await.unwrap_err();
    let details = tonic_types::StatusExt::get_details_bad_request(&err).unwrap();
    assert_eq!(details.field_violations[0].field, "idempotencyKey", "named as gRPC sends it");
}

#[tokio::test]
async fn a_vendor_that_does_not_answer_a_booking_gets_a_503_that_says_to_retry_with_the_same_key() {
    use federation::fault::{Defect, FaultVendor, Faults, Rpc};
    let app = TestApp::start().await;
    let admin = registry_core::auth::Principal::operator("test");
    let keys = app.keys().await;
    let f = app.registry.create_facility(&admin, &tests::fixtures::facility("0880", "Kalmar sporthall")).await.unwrap();
    let silent = FaultVendor::new(
        vec!["hall-a".into()],
        Faults { bookings: true, defects: vec![Defect::HangCreateBooking], ..Faults::default() },
        5,
    );
    let url = format!("http://{}", silent.clone().serve().await);
    let body = json!({"name": "Kalmarbokning", "endpoint": url, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": ["0880"]});
    let v: Value =
        app.http().post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap().json().await.unwrap();
    let vendor_id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
    app.registry.set_unit_vendor(&admin, f.id, f.units[0].id, Some((vendor_id, "hall-a".into()))).await.unwrap();
    let start = on(tests::today() + chrono::Duration::days(3), 18);
    let booking = json!({"facilityId": f.id, "unitId": f.units[0].id, "start": start, "end": start + chrono::Duration::hours(1), "mode": "direct",
        "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
    let kim = app.session("198112289874", "Kim Svensson", None).await;
    let res = tests::authed(app.http().post(app.url("/v1/bookings")), &kim)
        .header("idempotency-key", "a-key-for-a-silent-vendor")
        .json(&booking)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let p: Value = res.json().await.unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("Kalmarbokning") && detail.contains("did not answer in time") && detail.contains("same Idempotency-Key"),
        "{p}"
    );

    // The booking reached the vendor (which never answered): the counter the check below reads
    // is the one that moves when the registry passes a booking on.
    assert_eq!(silent.calls(Rpc::CreateBooking), 1, "the registry asked the vendor to book once");
    // It went through the federation engine, which counts it among the vendor's calls.
    let metrics = app.http().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("federation_vendor_calls_total") && l.contains(&vendor_id.to_string()) && l.contains("create_booking"));
    let counted = counted.unwrap_or_else(|| panic!("no booking call of the vendor in the metrics:\n{metrics}"));
    assert!(counted.contains(r#"status="timeout""#) && counted.ends_with(" 1"), "{counted}");

    // Once its certification has lapsed, the registry no longer passes bookings on to it.
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!("UPDATE vendors SET certified_until = now() - interval '1 minute' WHERE id = '{vendor_id}'")),
        &mut conn,
    )
    .await
    .unwrap();
    let res = tests::authed(app.http().post(app.url("/v1/bookings")), &kim)
        .header("idempotency-key", "a-key-for-a-lapsed-vendor")
        .json(&booking)
        .send();
    let res = res.await.unwrap();
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert_eq!(rules(&p), [("unitId".to_string(), "vendor_uncertified".to_string())], "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("lapsed"), "{p}");
    assert_eq!(silent.calls(Rpc::CreateBooking), 1, "the lapsed vendor was not asked to book");
}
