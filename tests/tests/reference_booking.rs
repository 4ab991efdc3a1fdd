//! The reference booking backend against a real database and real gRPC clients: no double
//! booking under 500 concurrent attempts and under an approval race, every flow and illegal
//! transition, the booking rules with their errors, DST nights and holidays, idempotency, and
//! the registry federating the backend.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Stockholm;
use federation::pb;
use pb::booking_provider_client::BookingProviderClient;
use reference_booking::error::BookingError;
use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::model::{BookingStatus, Customer, CustomerType, PaymentMethod, Price, Rules, Unit};
use reference_booking::service::{BookingInput, Decision, Mode};
use reference_booking::{Backend, server};
use tests::TestDb;
use tonic::Code;
use tonic_types::StatusExt;

struct Vendor {
    db: TestDb,
    backend: Backend,
    url: String,
}

/// A vendor on loopback; without configured keys it accepts callers without a key (as in
/// development), see [`start_with`].
async fn start(registry: Option<String>, keys: ApiKeys) -> Vendor {
    let open = keys.0.is_empty();
    start_with(registry, keys, open).await
}

async fn start_with(registry: Option<String>, keys: ApiKeys, allow_anonymous: bool) -> Vendor {
    tests::rustls_provider();
    let db = TestDb::empty().await;
    reference_booking::db::migrate(&db.url).await.expect("migrate the backend's database");
    let pool = registry_core::db::pool(&db.url, 24).unwrap();
    let backend = Backend::new(pool, Arc::new(Hours::new(registry, Duration::from_secs(300)))).with_clock(tests::clock());
    let grpc = BookingGrpc::new(backend.clone(), keys, None);
    let grpc = if allow_anonymous { grpc.allow_anonymous() } else { grpc };
    let app = server::app(backend.clone(), grpc, "").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    Vendor { db, backend, url }
}

async fn client(url: &str) -> BookingProviderClient<tonic::transport::Channel> {
    BookingProviderClient::new(tonic::transport::Endpoint::from_shared(url.to_string()).unwrap().connect().await.unwrap())
}

/// `days` after the tests' today ([`tests::today`]), at `hour` local time in Stockholm.
fn local(days: i64, hour: u32) -> DateTime<Utc> {
    on(tests::today() + chrono::Duration::days(days), hour)
}

/// `hour`:00 local time in Stockholm on `date`.
fn on(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    tests::dates::at(date, hour)
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

fn unit(external_ref: &str, rules: Rules) -> Unit {
    Unit {
        id: uuid::Uuid::now_v7(),
        external_ref: external_ref.into(),
        registry_facility_id: uuid::Uuid::now_v7(),
        registry_unit_id: uuid::Uuid::now_v7(),
        name: format!("Hall {external_ref}"),
        rules,
        municipality_code: Some("1881".into()),
        version: 1,
    }
}

fn rules() -> Rules {
    let mut prices = std::collections::BTreeMap::new();
    prices.insert(CustomerType::PrivatePerson, Price { amount_minor: 40_000, currency: "SEK".into() });
    prices.insert(CustomerType::Association, Price { amount_minor: 15_000, currency: "SEK".into() });
    Rules { lead_minutes: 60, horizon_days: 90, cancel_hours: 24, prices, ..Rules::default() }
}

async fn add_unit(v: &Vendor, external_ref: &str, rules: Rules, osm: &str) -> Unit {
    let u = v.backend.save_unit(&unit(external_ref, rules)).await.unwrap();
    v.backend.hours().set(u.id, registry_core::hours::osm::parse(osm).unwrap());
    u
}

fn request(
    key: &str,
    unit_ref: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    mode: pb::BookingMode,
    t: pb::CustomerType,
) -> pb::CreateBookingRequest {
    let org = if t == pb::CustomerType::PrivatePerson { String::new() } else { "802412-9952".into() };
    pb::CreateBookingRequest {
        idempotency_key: key.into(),
        unit_ref: unit_ref.into(),
        start: ts(start),
        end: ts(end),
        mode: mode as i32,
        customer: Some(pb::Customer {
            r#type: t as i32,
            name: "Kim Andersson".into(),
            email: "kim@example.se".into(),
            org_number: org,
            ..Default::default()
        }),
        payment_method: pb::PaymentMethod::Invoice as i32,
        ..Default::default()
    }
}

fn direct(key: &str, unit_ref: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> pb::CreateBookingRequest {
    request(key, unit_ref, start, end, pb::BookingMode::Direct, pb::CustomerType::PrivatePerson)
}

fn reason(s: &tonic::Status) -> String {
    s.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

fn input(unit_ref: &str, start: DateTime<Utc>, end: DateTime<Utc>, mode: Mode, t: CustomerType) -> BookingInput {
    BookingInput {
        unit_ref: unit_ref.into(),
        start,
        end,
        mode,
        customer_type: t,
        customer: Customer { name: "IFK Kumla".into(), org_number: "802412-9952".into(), ..Customer::default() },
        activity: "innebandy".into(),
        participants: 20,
        payment_method: PaymentMethod::Invoice,
        message: String::new(),
        customer_ref: None,
        association_verified: false,
    }
}

#[tokio::test]
async fn five_hundred_concurrent_attempts_on_one_slot_make_one_booking() {
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;
    let mut channels = Vec::new();
    for _ in 0..8 {
        channels.push(client(&v.url).await);
    }
    // Every range holds 17:00–18:00, so any two overlap: exact copies, and ranges that only
    // partly cover each other.
    let ranges = [(17, 19), (17, 18), (16, 18), (16, 19), (15, 18), (17, 20)];
    let mut set = tokio::task::JoinSet::new();
    for i in 0..500usize {
        let mut c = channels[i % channels.len()].clone();
        let (a, b) = ranges[i % ranges.len()];
        set.spawn(async move { c.create_booking(direct(&format!("attempt-{i}"), "hall-a", local(7, a), local(7, b))).await });
    }
    let (mut ok, mut taken) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(b) => {
                ok += 1;
                assert_eq!(b.into_inner().booking.unwrap().status, pb::BookingStatus::Confirmed as i32);
            }
            Err(s) => {
                assert_eq!((s.code(), reason(&s).as_str()), (Code::FailedPrecondition, "SLOT_UNAVAILABLE"), "{s:?}");
                assert!(s.message().contains("already booked"), "{}", s.message());
                taken += 1;
            }
        }
    }
    assert_eq!((ok, taken), (1, 499));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 1);
    // The database holds the rule too, for any path around the backend.
    use diesel_async::SimpleAsyncConnection;
    let e =
        v.db.conn()
            .await
            .batch_execute(
                "INSERT INTO bookings (id, unit_id, during, kind, status, created_by)
             SELECT gen_random_uuid(), unit_id, during, 'block', 'confirmed', 'sql' FROM bookings WHERE status = 'confirmed'",
            )
            .await
            .unwrap_err();
    assert!(e.to_string().contains("no_double_booking"), "{e}");
    // A range beside the booking is still free.
    let mut c = client(&v.url).await;
    let won = v.db.count("SELECT extract(hour FROM upper(during) AT TIME ZONE 'Europe/Stockholm')::bigint AS n FROM bookings").await;
    c.create_booking(direct("beside", "hall-a", local(7, won as u32), local(7, won as u32 + 1))).await.expect("the next hour is free");
}

#[tokio::test]
async fn an_approval_race_confirms_one_request() {
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;
    // Twenty associations ask for overlapping training times; requests do not hold time.
    let mut ids = Vec::new();
    for i in 0..20 {
        let (a, b) = [(17, 19), (18, 20), (17, 20)][i % 3];
        let asked = input("hall-a", local(8, a), local(8, b), Mode::Request, CustomerType::Association);
        let b = v.backend.create_booking("registry", &format!("req-{i}"), &asked).await.unwrap();
        assert_eq!(b.status, BookingStatus::Pending);
        ids.push(b.id);
    }
    // Case officers approve them all at once: one wins, every other finds the time taken.
    let mut set = tokio::task::JoinSet::new();
    for id in ids {
        let backend = v.backend.clone();
        set.spawn(async move { backend.decide(id, Decision::Approve, "").await });
    }
    let (mut ok, mut taken) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(b) => {
                assert_eq!(b.status, BookingStatus::Confirmed);
                ok += 1;
            }
            Err(BookingError::SlotUnavailable(m)) => {
                assert!(m.contains("already booked"), "{m}");
                taken += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, taken), (1, 19));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 1);
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'pending'").await, 19, "the others wait for a decision");
}

#[tokio::test]
async fn every_flow_and_illegal_transition() {
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;
    let b = &v.backend;
    let req = async |k: &str, h: u32| {
        let asked = input("hall-a", local(9, h), local(9, h + 1), Mode::Request, CustomerType::Association);
        b.create_booking("registry", k, &asked).await
    };

    // Request → needs completion → resubmitted → approved.
    let r = req("r1", 10).await.unwrap();
    assert!(matches!(b.decide(r.id, Decision::RequestCompletion, " ").await, Err(BookingError::Invalid(_))), "a message is required");
    let r = b.decide(r.id, Decision::RequestCompletion, "Bifoga föreningens stadgar").await.unwrap();
    assert_eq!((r.status, r.status_message.as_deref()), (BookingStatus::NeedsCompletion, Some("Bifoga föreningens stadgar")));
    let e = b.decide(r.id, Decision::Approve, "").await.unwrap_err();
    assert!(matches!(e, BookingError::IllegalTransition { from: "needs_completion", .. }), "{e}");
    let r = b.resubmit(r.id, "").await.unwrap();
    assert_eq!(r.status, BookingStatus::Pending);
    let r = b.decide(r.id, Decision::Approve, "").await.unwrap();
    assert_eq!(r.status, BookingStatus::Confirmed);
    assert_eq!(r.amount_minor, Some(15_000), "an hour at the association price");
    assert!(matches!(b.decide(r.id, Decision::Approve, "").await, Err(BookingError::IllegalTransition { from: "confirmed", .. })));
    assert!(matches!(b.resubmit(r.id, "").await, Err(BookingError::IllegalTransition { .. })));

    // Rejected: final.
    let r = req("r2", 12).await.unwrap();
    assert!(matches!(b.decide(r.id, Decision::Reject, "").await, Err(BookingError::Invalid(_))), "a reason is required");
    let r = b.decide(r.id, Decision::Reject, "Hallen är reserverad för skolan").await.unwrap();
    assert_eq!(r.status, BookingStatus::Rejected);
    let e = b.cancel(r.id, "", false).await.unwrap_err();
    assert_eq!(e.to_string(), "a rejected booking cannot be cancelled");
    assert!(matches!(b.decide(r.id, Decision::Approve, "").await, Err(BookingError::IllegalTransition { from: "rejected", .. })));

    // Cancelled by the customer before the deadline; cancelling again changes nothing; a
    // cancelled booking cannot be approved; the time is free again.
    let mut c = client(&v.url).await;
    let d = c.create_booking(direct("d1", "hall-a", local(9, 14), local(9, 16))).await.unwrap().into_inner().booking.unwrap();
    assert_eq!(d.access_code.len(), 6);
    let cancelled = c.cancel_booking(pb::CancelBookingRequest { booking_id: d.booking_id.clone(), reason: "sjuk".into() }).await.unwrap();
    let cancelled = cancelled.into_inner().booking.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.access_code.as_str()),
        (pb::BookingStatus::Cancelled as i32, ""),
        "no code for a cancelled booking"
    );
    let again = c.cancel_booking(pb::CancelBookingRequest { booking_id: d.booking_id.clone(), reason: "igen".into() }).await.unwrap();
    assert_eq!(again.into_inner().booking.unwrap().updated_at, cancelled.updated_at, "unchanged");
    let id: uuid::Uuid = d.booking_id.parse().unwrap();
    let e = b.decide(id, Decision::Approve, "").await.unwrap_err();
    assert_eq!(e.to_string(), "a cancelled booking cannot be approved");
    c.create_booking(direct("d2", "hall-a", local(9, 14), local(9, 16))).await.expect("the freed time can be booked");
    let e = c.get_booking(pb::GetBookingRequest { booking_id: uuid::Uuid::now_v7().to_string() }).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::NotFound, "UNKNOWN_BOOKING"));

    // After the cancellation deadline only staff cancel, and they give a reason.
    let strict = Rules { cancel_hours: 24 * 30, ..rules() };
    add_unit(&v, "hall-b", strict, "Mo-Su 08:00-22:00").await;
    let s = c.create_booking(direct("s1", "hall-b", local(9, 10), local(9, 11))).await.unwrap().into_inner().booking.unwrap();
    let e = c.cancel_booking(pb::CancelBookingRequest { booking_id: s.booking_id.clone(), reason: String::new() }).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::FailedPrecondition, "CANCELLATION_DEADLINE_PASSED"));
    let id: uuid::Uuid = s.booking_id.parse().unwrap();
    assert!(matches!(b.cancel(id, " ", true).await, Err(BookingError::Invalid(_))));
    let s = b.cancel(id, "Vattenläcka i hallen", true).await.unwrap();
    assert_eq!((s.status, s.cancel_reason.as_deref()), (BookingStatus::Cancelled, Some("Vattenläcka i hallen")));
}

#[tokio::test]
async fn booking_rules_are_enforced_with_clear_errors() {
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00; PH off").await;
    // The same unit bookable a year ahead, to ask about the next Christmas Day whenever today is.
    add_unit(&v, "hall-y", Rules { horizon_days: 400, ..rules() }, "Mo-Su 08:00-22:00; PH off").await;
    let mut c = client(&v.url).await;
    let rule = async |c: &mut BookingProviderClient<_>, r: pb::CreateBookingRequest, needle: &str| {
        let e = c.create_booking(r).await.unwrap_err();
        assert_eq!((e.code(), reason(&e).as_str()), (Code::FailedPrecondition, "BOOKING_RULE"), "{needle}: {e:?}");
        assert!(e.message().contains(needle), "{needle}: {}", e.message());
    };
    // A day a week or so ahead that the unit is open (no holiday, no eve, no DST night).
    let day = tests::dates::ordinary_day_after(7);
    let at = |hour: u32| on(day, hour);
    let hour = chrono::Duration::hours(1);
    // The next whole hour is less than the 60-minute lead time away.
    let now = tests::now();
    let next_hour = DateTime::from_timestamp((now.timestamp() / 3600 + 1) * 3600, 0).unwrap();
    rule(&mut c, direct("k1", "hall-a", next_hour, next_hour + hour), "lead time").await;
    rule(&mut c, direct("k2", "hall-a", local(100, 17), local(100, 18)), "horizon").await;
    rule(&mut c, direct("k3", "hall-a", at(17), at(17) + chrono::Duration::minutes(30)), "60-minute slots").await;
    rule(&mut c, direct("k4", "hall-a", at(9), at(14)), "lasts 60 to 240 minutes").await;
    let half = chrono::Duration::minutes(30);
    rule(&mut c, direct("k5", "hall-a", at(17) + half, at(18) + half), "start on its 60-minute slots").await;
    rule(&mut c, direct("k6", "hall-a", at(21), at(23)), "not open").await;
    // Closed on the next Christmas Day (PH off): refused as not open, not as beyond the horizon.
    let christmas = tests::dates::next_holiday("christmas_day");
    rule(&mut c, direct("k7", "hall-y", on(christmas, 17), on(christmas, 18)), "not open").await;
    let assoc = request("k8", "hall-a", at(17), at(18), pb::BookingMode::Direct, pb::CustomerType::Association);
    rule(&mut c, assoc, "sends a booking request").await;

    // Malformed requests name every field; unknown units are NOT_FOUND.
    let mut bad = direct("", "hall-a", at(17), at(18));
    bad.mode = 0;
    bad.customer.as_mut().unwrap().r#type = 0;
    let e = c.create_booking(bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields: Vec<String> = e.get_error_details().bad_request().unwrap().field_violations.iter().map(|f| f.field.clone()).collect();
    assert_eq!(fields, ["customer.type", "mode"]);
    let e = c.create_booking(direct("", "hall-a", at(17), at(18))).await.unwrap_err();
    assert_eq!(e.get_error_details().bad_request().unwrap().field_violations[0].field, "idempotencyKey");
    let mut no_org = request("k9", "hall-a", at(17), at(18), pb::BookingMode::Request, pb::CustomerType::Company);
    no_org.customer.as_mut().unwrap().org_number = "123".into();
    let e = c.create_booking(no_org).await.unwrap_err();
    assert_eq!(e.get_error_details().bad_request().unwrap().field_violations[0].field, "customer.orgNumber");
    let e = c.create_booking(direct("k10", "hall-x", at(17), at(18))).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::NotFound, "UNKNOWN_UNIT"));

    // Idempotency: the same key and booking answer the first booking; another booking with
    // the key is refused; nothing else was written.
    let first = c.create_booking(direct("same", "hall-a", at(17), at(18))).await.unwrap().into_inner().booking.unwrap();
    let again = c.create_booking(direct("same", "hall-a", at(17), at(18))).await.unwrap().into_inner().booking.unwrap();
    assert_eq!(again.booking_id, first.booking_id);
    let e = c.create_booking(direct("same", "hall-a", at(18), at(19))).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 1);
}

#[tokio::test]
async fn bookable_time_follows_dst_nights_holidays_and_bookings() {
    let v = start(None, ApiKeys::default()).await;
    let all_day = Rules { horizon_days: 400, lead_minutes: 0, ..rules() };
    add_unit(&v, "night", all_day.clone(), "Mo-Su 00:00-24:00").await;
    add_unit(&v, "holiday", all_day, "Mo-Su 00:00-24:00; PH off").await;
    let count = async |unit: &str, day: NaiveDate| {
        let a = v.backend.availability(&[unit.into()], on(day, 0), on(day + chrono::Duration::days(1), 0), None, None).await.unwrap();
        match &a[0] {
            reference_booking::service::UnitAnswer::Slots(_, s) => s.len(),
            other => panic!("{other:?}"),
        }
    };
    // The calendar facts, at their next occurrence after the tests' today.
    use tests::dates::{next_dst_day, next_holiday, ordinary_day_after};
    let (spring, autumn) = (next_dst_day(23), next_dst_day(25));
    assert_eq!((spring.month(), spring.weekday()), (3, chrono::Weekday::Sun), "{spring}: the last Sunday of March");
    assert_eq!((autumn.month(), autumn.weekday()), (10, chrono::Weekday::Sun), "{autumn}: the last Sunday of October");
    assert_eq!(count("night", spring).await, 23, "the spring night {spring} has 23 hours");
    assert_eq!(count("night", autumn).await, 25, "the autumn night {autumn} has 25");
    let (christmas, easter) = (next_holiday("christmas_day"), next_holiday("easter_day"));
    assert_eq!(count("holiday", christmas).await, 0, "closed on Christmas Day {christmas}");
    assert_eq!(count("holiday", easter).await, 0, "and on Easter Day {easter}");
    // Eves are not public holidays: open all day on the next påskafton and julafton.
    for eve in ["easter_eve", "christmas_eve", "midsummer_eve"] {
        let d = next_holiday(eve);
        assert_eq!(count("holiday", d).await, 24, "{eve} {d} is open");
    }
    let d = ordinary_day_after(2);
    assert_eq!(count("holiday", d).await, 24, "{d}");

    // A booking shows as booked, to everyone; a block too.
    let mut c = client(&v.url).await;
    c.create_booking(direct("n1", "night", on(d, 10), on(d, 12))).await.unwrap();
    let a = c
        .check_availability(pb::CheckAvailabilityRequest {
            unit_refs: vec!["night".into(), "nope".into()],
            start: ts(on(d, 9)),
            end: ts(on(d, 13)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let states: Vec<i32> = a.units[0].slots.iter().map(|s| s.state).collect();
    let (f, b) = (pb::SlotState::Free as i32, pb::SlotState::Booked as i32);
    assert_eq!(states, [f, b, b, f]);
    assert_eq!(a.units[0].slots[0].prices.len(), 2, "a price per customer type");
    assert_eq!(a.units[1].status, pb::UnitStatus::UnknownUnit as i32);
    // Over the limits: INVALID_ARGUMENT, not a truncated answer.
    let e = c
        .check_availability(pb::CheckAvailabilityRequest {
            unit_refs: vec!["night".into()],
            start: ts(on(d, 9)),
            end: ts(on(d, 9) + chrono::Duration::days(15)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn api_keys_are_required_when_configured() {
    let keys = ApiKeys::parse("registry:0123456789abcdef0123").unwrap();
    assert!(ApiKeys::parse("short:abc").is_err());
    let v = start(None, keys).await;
    let mut c = client(&v.url).await;
    let e = c.get_capabilities(pb::GetCapabilitiesRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut r = tonic::Request::new(pb::GetCapabilitiesRequest {});
    r.metadata_mut().insert("x-api-key", "0123456789abcdef0124".parse().unwrap());
    assert_eq!(c.get_capabilities(r).await.unwrap_err().code(), Code::Unauthenticated);
    let mut r = tonic::Request::new(pb::GetCapabilitiesRequest {});
    r.metadata_mut().insert("x-api-key", "0123456789abcdef0123".parse().unwrap());
    let caps = c.get_capabilities(r).await.unwrap().into_inner();
    assert!(caps.operations.contains(&(pb::Operation::CreateBooking as i32)));

    // Without configured keys, the backend's stored keys decide: a registry key may call,
    // a customer's may not, and no key is refused. It fails closed: before any key exists
    // too (it accepted everyone then, and its first key silently switched authentication on;
    // issue 25, finding 8).
    let v = start_with(None, ApiKeys::default(), false).await;
    let mut c = client(&v.url).await;
    let e = c.get_capabilities(pb::GetCapabilitiesRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "no key, no answer, before any key exists: {e:?}");
    assert!(e.message().contains("keys create --role registry"), "it says how to get one: {}", e.message());
    let registry = reference_booking::keys::create(v.backend.pool(), "", "registry", "the registry").await.unwrap().1;
    let customer = reference_booking::keys::create(v.backend.pool(), "", "customer", "").await.unwrap().1;
    let mut c = client(&v.url).await;
    assert_eq!(c.get_capabilities(pb::GetCapabilitiesRequest {}).await.unwrap_err().code(), Code::Unauthenticated);
    let with = |key: &str| {
        let mut r = tonic::Request::new(pb::GetCapabilitiesRequest {});
        r.metadata_mut().insert("x-api-key", key.parse().unwrap());
        r
    };
    assert_eq!(c.get_capabilities(with(&customer)).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(c.get_capabilities(with("bk_00000000_nope")).await.unwrap_err().code(), Code::Unauthenticated);
    c.get_capabilities(with(&registry)).await.expect("a registry key calls vendor.v1");
}

#[tokio::test]
async fn the_registry_federates_the_backend_and_gets_exactly_its_free_slots() {
    use registry_core::auth::Principal;
    use serde_json::{Value, json};
    let app = tests::TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("test");
    let f = app.registry.create_facility(&admin, &tests::fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    let hours = registry_core::hours::osm::parse("Mo-Su 17:00-22:00").unwrap();
    app.registry.put_opening_hours(&admin, f.id, None, 0, &hours).await.unwrap();

    // The backend reads the unit's hours from the registry.
    let v = start(Some(app.base.clone()), ApiKeys::default()).await;
    // Bookable more than a year ahead, so that the kit can compare both DST Sundays.
    let horizon = Rules { horizon_days: 400, ..rules() };
    let u = Unit { registry_facility_id: f.id, registry_unit_id: f.units[0].id, ..unit("kumla-hall-a", horizon) };
    v.backend.save_unit(&u).await.unwrap();
    let mut c = client(&v.url).await;
    let day = tests::today() + chrono::Duration::days(10);
    c.create_booking(direct("b1", "kumla-hall-a", on(day, 18), on(day, 19))).await.expect("hours read from the registry");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM unit_hours").await, 1, "and stored");

    // The conformance suite passes it, with its unit.
    let g = federation::grpc::GrpcVendor::connect_lazy(&federation::grpc::Connection { endpoint: v.url.clone(), ..Default::default() })
        .unwrap();
    let start_ts = prost_types::Timestamp { seconds: on(day, 0).timestamp(), nanos: 0 };
    let results = federation::conformance::run(
        &g,
        &federation::conformance::Options { units: vec!["kumla-hall-a".into()], start: start_ts, writes: true },
    )
    .await;
    let (text, passed) = federation::conformance::render_text(&results);
    assert!(passed, "{text}");
    // Every check of the kit ran and passed, the booking checks too (and cleaned up after
    // themselves: the slot they booked is free again).
    assert_eq!(results.len(), federation::conformance::all_checks().len(), "{text}");
    assert!(results.iter().all(|r| r.verdict == federation::conformance::Verdict::Pass), "{text}");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 1, "only b1 holds time: {text}");
    // The same kit as a vendor runs it: `registry vendors conformance` prints every check passed.
    let start_arg = on(day, 0).to_rfc3339();
    let cli = tokio::process::Command::new(tests::workspace_binary("registry"))
        .args(["vendors", "conformance", "--endpoint", &v.url, "--unit", "kumla-hall-a", "--start", &start_arg])
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{printed}{}", String::from_utf8_lossy(&cli.stderr));
    let all = federation::conformance::all_checks().len();
    assert!(printed.ends_with(&format!("{all} passed, 0 failed, 0 skipped\n")), "{printed}");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 1, "the CLI cleaned up too");

    // Registered in the registry's directory, certified by a run that books its test unit too,
    // and federated like any vendor.
    let http = app.http();
    let body = json!({"name": "Referensbokning", "endpoint": v.url, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE",
        "municipalityCodes": ["1881"], "testUnits": ["kumla-hall-a"]});
    let r = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let vendor: Value = r.json().await.unwrap();
    assert_eq!(vendor["certification"]["status"], "CERTIFICATION_STATUS_CERTIFIED", "{vendor}");
    let verdicts: std::collections::BTreeMap<&str, &str> = vendor["conformance"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(verdicts.len(), federation::conformance::all_checks().len(), "{vendor}");
    assert!(verdicts.values().all(|v| *v == "pass"), "every check ran and passed, the booking checks too: {verdicts:?}");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 1, "the run cancelled what it booked");
    let vendor_id: uuid::Uuid = vendor["id"].as_str().unwrap().parse().unwrap();
    app.registry.set_unit_vendor(&admin, f.id, f.units[0].id, Some((vendor_id, "kumla-hall-a".into()))).await.unwrap();
    let from = on(day, 0).to_rfc3339().replace('+', "%2B");
    let to = on(day + chrono::Duration::days(1), 0).to_rfc3339().replace('+', "%2B");
    let a: Value =
        http.get(app.url(&format!("/v1/availability?municipalities=1881&from={from}&to={to}"))).send().await.unwrap().json().await.unwrap();
    let fac = a["facilities"].as_array().unwrap().iter().find(|x| x["facilityId"] == f.id.to_string()).unwrap().clone();
    let federated: Vec<(String, String)> = fac["units"][0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_str().unwrap().to_string(), s["state"].as_str().unwrap().to_string()))
        .collect();
    let own = c
        .check_availability(pb::CheckAvailabilityRequest {
            unit_refs: vec!["kumla-hall-a".into()],
            start: ts(on(day, 0)),
            end: ts(on(day + chrono::Duration::days(1), 0)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let own: Vec<(String, String)> = own.units[0]
        .slots
        .iter()
        .map(|s| {
            let t = DateTime::from_timestamp(s.start.unwrap().seconds, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let state = match pb::SlotState::try_from(s.state).unwrap() {
                pb::SlotState::Free => "free",
                pb::SlotState::Booked => "booked",
                pb::SlotState::RequestOnly => "request_only",
                pb::SlotState::Unspecified => "?",
            };
            (t, state.to_string())
        })
        .collect();
    assert_eq!(federated, own, "{a}");
    assert_eq!(own.len(), 5, "17–22 local");
    assert_eq!(own.iter().filter(|s| s.1 == "booked").count(), 1);
}

#[tokio::test]
async fn recurring_series_report_each_occurrence_and_keep_local_time() {
    use chrono::Timelike;
    use reference_booking::series::{Occurrence, SeriesInput};
    let v = start(None, ApiKeys::default()).await;
    let season = Rules { horizon_days: 400, request_types: vec![], direct_types: CustomerType::ALL.to_vec(), ..rules() };
    let hall = add_unit(&v, "hall-a", season, "Mo-Su 08:00-22:00").await;
    let first = tests::today() + chrono::Duration::days(7);
    let week = |n: i64| first + chrono::Duration::weeks(n);
    // Taken beforehand: week 3 by a booking, week 5 by a block.
    let mut c = client(&v.url).await;
    c.create_booking(direct("taken", "hall-a", on(week(3), 18), on(week(3), 19))).await.unwrap();
    let block = v.backend.create_block("staff", "b1", "hall-a", on(week(5), 19), on(week(5), 21), "Golvslipning").await.unwrap();
    let again = v.backend.create_block("staff", "b1", "hall-a", on(week(5), 19), on(week(5), 21), "Golvslipning").await.unwrap();
    assert_eq!(again.id, block.id, "the same key and block answer the first block");
    let e = v.backend.create_block("staff", "b1", "hall-a", on(week(6), 19), on(week(6), 21), "Golvslipning").await.unwrap_err();
    assert!(matches!(e, BookingError::IdempotencyKeyReused(_)), "{e}");
    let series = |atomic: bool, last: i64| SeriesInput {
        unit_ref: "hall-a".into(),
        first_date: first,
        last_date: week(last),
        from: chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        to: chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        mode: Mode::Direct,
        customer_type: CustomerType::Association,
        customer: Customer { name: "IFK Kumla".into(), org_number: "802412-9952".into(), ..Customer::default() },
        activity: "innebandy".into(),
        payment_method: PaymentMethod::Invoice,
        atomic,
        excluded_dates: vec![],
        message: String::new(),
        customer_ref: None,
        association_verified: false,
    };
    let conflicts = |o: &[Occurrence]| o.iter().filter(|x| matches!(x, Occurrence::Conflict { .. })).count();

    // Atomic: nothing is created, and the report names both taken weeks.
    let r = v.backend.create_series("registry", "autumn", &series(true, 9)).await.unwrap();
    assert!(!r.created && r.series_id.is_none());
    assert_eq!((r.occurrences.len(), conflicts(&r.occurrences)), (10, 2));
    let Occurrence::Conflict { reason, start, .. } = &r.occurrences[5] else { panic!("{:?}", r.occurrences[5]) };
    assert_eq!(*start, on(week(5), 18));
    assert!(reason.contains("a block"), "{reason}");
    assert!(matches!(&r.occurrences[3], Occurrence::Conflict { reason, .. } if reason.contains("another booking")));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 2, "nothing written");

    // Occurrence by occurrence: the eight free weeks are booked, in one series.
    let r = v.backend.create_series("registry", "autumn-2", &series(false, 9)).await.unwrap();
    assert!(r.created);
    let ids: Vec<uuid::Uuid> =
        r.occurrences.iter().filter_map(|o| if let Occurrence::Created { booking_id, .. } = o { *booking_id } else { None }).collect();
    assert_eq!(ids.len(), 8);
    let series_id = r.series_id.unwrap().to_string();
    assert_eq!(
        v.db.count(&format!("SELECT count(*) AS n FROM bookings WHERE series_id = '{series_id}' AND status = 'confirmed'")).await,
        8
    );
    // A retry answers the same; the key with another series is refused.
    let again = v.backend.create_series("registry", "autumn-2", &series(false, 9)).await.unwrap();
    let again_ids: Vec<uuid::Uuid> =
        again.occurrences.iter().filter_map(|o| if let Occurrence::Created { booking_id, .. } = o { *booking_id } else { None }).collect();
    assert_eq!(again_ids, ids);
    assert!(matches!(v.backend.create_series("registry", "autumn-2", &series(false, 8)).await, Err(BookingError::IdempotencyKeyReused(_))));

    // A season of 32 weeks crosses a daylight-saving change; every occurrence stays at 18:00 local.
    let mut long = series(false, 31);
    long.from = chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    long.to = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let r = v.backend.create_series("registry", "year", &long).await.unwrap();
    let starts: Vec<DateTime<Utc>> =
        r.occurrences.iter().map(|o| if let Occurrence::Created { start, .. } = o { *start } else { panic!("{o:?}") }).collect();
    assert_eq!(starts.len(), 32);
    assert!(starts.iter().all(|s| s.with_timezone(&Stockholm).hour() == 8));
    let utc_hours: std::collections::BTreeSet<u32> = starts.iter().map(|s| s.hour()).collect();
    assert_eq!(utc_hours.len(), 2, "winter and summer time");

    // Blocks: refused over a confirmed booking, shown as booked, listed for the caretaker.
    let e = v.backend.create_block("staff", "b2", "hall-a", on(week(3), 17), on(week(3), 19), "Städning").await.unwrap_err();
    assert!(matches!(e, BookingError::SlotUnavailable(_)), "{e}");
    let list = v.backend.caretaker_list(hall.registry_facility_id, week(5)).await.unwrap();
    let rows: Vec<(u32, Option<&str>, Option<&str>)> =
        list.iter().map(|e| (e.start.with_timezone(&Stockholm).hour(), e.customer_name.as_deref(), e.note.as_deref())).collect();
    assert_eq!(rows, [(8, Some("IFK Kumla"), None), (19, None, Some("Golvslipning"))]);
    assert!(list[0].access_code.as_ref().is_some_and(|c| c.len() == 6));
    assert!(v.backend.caretaker_list(uuid::Uuid::now_v7(), week(5)).await.unwrap().is_empty());
}

/// vendor.v1.1 `CreateSeries` (docs/vendor-protocol.md §18) over gRPC: the per-week report of an
/// atomic series that cannot be made, excluded dates, the occurrences as bookings of the caller
/// (GetBooking, ListBookings by reference, ListChanges), replays, and field violations.
#[tokio::test]
async fn create_series_over_grpc_books_weeks_as_bookings_of_the_caller() {
    use chrono::Timelike;
    let v = start(None, ApiKeys::default()).await;
    let season = Rules { horizon_days: 400, request_types: vec![], direct_types: CustomerType::ALL.to_vec(), ..rules() };
    add_unit(&v, "hall-a", season, "Mo-Su 08:00-22:00").await;
    let mut c = client(&v.url).await;
    let first = tests::today() + chrono::Duration::days(7);
    let week = |n: i64| first + chrono::Duration::weeks(n);
    let date = |n: i64| week(n).format("%Y-%m-%d").to_string();
    // The fourth week is taken beforehand; the third is a break.
    c.create_booking(direct("taken", "hall-a", on(week(3), 18), on(week(3), 19))).await.unwrap();
    let cursor = c.list_changes(pb::ListChangesRequest { latest: true, ..Default::default() }).await.unwrap().into_inner().next_cursor;
    let reference = "a-0123456789abcdef0123456789abcdef";
    let series = |key: &str, atomic: bool| pb::CreateSeriesRequest {
        idempotency_key: key.into(),
        unit_ref: "hall-a".into(),
        first_date: date(0),
        last_date: date(5),
        start_time: "18:00".into(),
        end_time: "20:00".into(),
        excluded_dates: vec![date(2), "2020-01-01".into()],
        mode: pb::BookingMode::Direct as i32,
        customer: Some(pb::Customer {
            r#type: pb::CustomerType::Association as i32,
            name: "IFK Kumla".into(),
            org_number: "802412-9952".into(),
            reference: reference.into(),
            association_verified: true,
            ..Default::default()
        }),
        activity: "innebandy".into(),
        payment_method: pb::PaymentMethod::Invoice as i32,
        atomic,
        message: "Säsongsfördelning".into(),
    };
    use pb::OccurrenceOutcome as O;
    let outcomes = |r: &pb::CreateSeriesResponse| r.occurrences.iter().map(|o| O::try_from(o.outcome).unwrap()).collect::<Vec<_>>();

    // Atomic: nothing is made, and the answer (not an error) says which week and why.
    let r = c.create_series(series("season", true)).await.unwrap().into_inner();
    assert!(!r.created && r.series_id.is_empty(), "{r:?}");
    assert_eq!(outcomes(&r), [O::Created, O::Created, O::Excluded, O::Conflict, O::Created, O::Created]);
    assert!(r.occurrences.iter().all(|o| o.booking_id.is_empty()));
    assert!(r.occurrences[3].reason.contains("another booking"), "{}", r.occurrences[3].reason);
    assert_eq!(r.occurrences.iter().map(|o| o.date.clone()).collect::<Vec<_>>(), (0..6).map(date).collect::<Vec<_>>());
    assert_eq!(r.occurrences[4].start.unwrap().seconds, on(week(4), 18).timestamp());
    assert_eq!(r.occurrences[4].end.unwrap().seconds, on(week(4), 20).timestamp());
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings").await, 1, "nothing written");

    // Week by week: four bookings of one series, the caller's like any other.
    let r = c.create_series(series("season-2", false)).await.unwrap().into_inner();
    assert!(r.created && !r.series_id.is_empty());
    assert_eq!(outcomes(&r), [O::Created, O::Created, O::Excluded, O::Conflict, O::Created, O::Created]);
    let ids: Vec<String> = r.occurrences.iter().map(|o| o.booking_id.clone()).filter(|id| !id.is_empty()).collect();
    assert_eq!(ids.len(), 4);
    for (o, id) in r.occurrences.iter().filter(|o| !o.booking_id.is_empty()).zip(&ids) {
        let b = c.get_booking(pb::GetBookingRequest { booking_id: id.clone() }).await.unwrap().into_inner().booking.unwrap();
        assert_eq!((b.series_id.as_str(), b.status), (r.series_id.as_str(), pb::BookingStatus::Confirmed as i32));
        assert_eq!((b.start, b.end), (o.start, o.end));
        assert_eq!((b.customer_reference.as_str(), b.association_verified), (reference, true));
        let local = DateTime::from_timestamp(b.start.unwrap().seconds, 0).unwrap().with_timezone(&Stockholm);
        assert_eq!((local.hour(), local.minute()), (18, 0));
        assert_eq!(b.history.len(), 1);
        assert_eq!(b.history[0].message, "Säsongsfördelning");
    }
    let listed = c
        .list_bookings(pb::ListBookingsRequest {
            customer_references: vec![reference.into()],
            start: ts(on(first, 0)),
            end: ts(on(week(6), 0)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.bookings.iter().map(|b| b.booking_id.clone()).collect::<Vec<_>>(), ids);
    let feed = c.list_changes(pb::ListChangesRequest { cursor, ..Default::default() }).await.unwrap().into_inner();
    let fed: Vec<String> = feed.changes.iter().map(|x| x.booking.as_ref().unwrap().booking_id.clone()).collect();
    assert_eq!(fed, ids, "each occurrence's creation in the caller's feed");
    let confirmed_now = v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await;
    assert_eq!(confirmed_now, 5);

    // A retry answers the same; the key with another series is refused.
    let again = c.create_series(series("season-2", false)).await.unwrap().into_inner();
    assert_eq!((again.series_id, again.occurrences), (r.series_id.clone(), r.occurrences.clone()));
    let e = c.create_series(pb::CreateSeriesRequest { last_date: date(4), ..series("season-2", false) }).await.unwrap_err();
    assert_eq!((e.code(), reason(&e)), (Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED".to_string()));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, confirmed_now);

    // Cancelling one occurrence leaves the others.
    c.cancel_booking(pb::CancelBookingRequest { booking_id: ids[0].clone(), reason: "lov".into() }).await.unwrap();
    let b = c.get_booking(pb::GetBookingRequest { booking_id: ids[1].clone() }).await.unwrap().into_inner().booking.unwrap();
    assert_eq!(b.status, pb::BookingStatus::Confirmed as i32);

    // Malformed series name their fields; an unknown unit is NOT_FOUND.
    let fields = |e: &tonic::Status| {
        e.get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for (req, field) in [
        (pb::CreateSeriesRequest { start_time: "25:00".into(), ..series("i1", true) }, "startTime"),
        (pb::CreateSeriesRequest { start_time: "18".into(), ..series("i2", true) }, "startTime"),
        (pb::CreateSeriesRequest { end_time: "18:00".into(), ..series("i3", true) }, "endTime"),
        (pb::CreateSeriesRequest { last_date: date(-1), ..series("i4", true) }, "lastDate"),
        (pb::CreateSeriesRequest { last_date: date(54), ..series("i5", true) }, "lastDate"),
        (pb::CreateSeriesRequest { first_date: "2027-1-5".into(), ..series("i6", true) }, "firstDate"),
        (pb::CreateSeriesRequest { excluded_dates: vec!["juldagen".into()], ..series("i7", true) }, "excludedDates"),
        (series("", true), "idempotencyKey"),
        (pb::CreateSeriesRequest { idempotency_key: "k".repeat(101), ..series("", true) }, "idempotencyKey"),
        (pb::CreateSeriesRequest { mode: 0, ..series("i8", true) }, "mode"),
    ] {
        let e = c.create_series(req).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(fields(&e).contains(&field.to_string()), "{field}: {:?}", fields(&e));
    }
    let mut private = series("i9", true);
    private.customer.as_mut().unwrap().r#type = pb::CustomerType::PrivatePerson as i32;
    let e = c.create_series(private).await.unwrap_err();
    assert_eq!(fields(&e), ["customer.associationVerified"]);
    let e = c.create_series(pb::CreateSeriesRequest { unit_ref: "nope".into(), ..series("i10", true) }).await.unwrap_err();
    assert_eq!((e.code(), reason(&e)), (Code::NotFound, "UNKNOWN_UNIT".to_string()));
    // A key of 100 characters is a key (the series' bookings carry none of their own).
    let long =
        c.create_series(pb::CreateSeriesRequest { start_time: "20:00".into(), end_time: "22:00".into(), ..series(&"k".repeat(100), true) });
    assert!(long.await.unwrap().into_inner().created);
    // The operation is listed.
    let caps = c.get_capabilities(pb::GetCapabilitiesRequest {}).await.unwrap().into_inner();
    assert!(caps.operations.contains(&(pb::Operation::CreateSeries as i32)));
}

#[tokio::test]
async fn webhooks_are_signed_retried_ordered_and_survive_a_restart() {
    use reference_booking::webhooks::{Pacing, Receiver, deliver};
    use std::sync::Mutex;
    type Seen = Arc<Mutex<Vec<(i64, String, String, String)>>>;
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;

    // A receiver that refuses its first three deliveries.
    let seen: Seen = Arc::default();
    let refusals = Arc::new(std::sync::atomic::AtomicUsize::new(3));
    let (s, r) = (seen.clone(), refusals.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (s, r) = (s.clone(), r.clone());
            async move {
                if r.fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                let h = |k: &str| headers.get(k).and_then(|x| x.to_str().ok()).unwrap_or_default().to_string();
                s.lock().unwrap().push((h("x-event-id").parse().unwrap(), h("x-event-type"), h("x-signature-256"), body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let secret = "a-secret-of-some-length";
    let receiver = Receiver::parse_all(&format!("locks={hook}"), secret).unwrap().remove(0);
    assert!(Receiver::parse_all("locks=ftp://x", secret).is_err() && Receiver::parse_all(&format!("l={hook}"), "short").is_err());
    let pacing =
        Pacing { poll: Duration::from_millis(20), first_backoff: Duration::from_millis(5), max_backoff: Duration::from_millis(40) };
    let deliverer = tokio::spawn(deliver(v.backend.pool().clone(), receiver.clone(), pacing.clone()));

    // A booking's life: confirmed, cancelled; a request: pending, needs completion, pending, confirmed.
    let mut c = client(&v.url).await;
    let d = c.create_booking(direct("w1", "hall-a", local(7, 10), local(7, 11))).await.unwrap().into_inner().booking.unwrap();
    c.cancel_booking(pb::CancelBookingRequest { booking_id: d.booking_id.clone(), reason: "ändrade planer".into() }).await.unwrap();
    let asked = input("hall-a", local(7, 12), local(7, 13), Mode::Request, CustomerType::Association);
    let r = v.backend.create_booking("registry", "w2", &asked).await.unwrap();
    v.backend.decide(r.id, Decision::RequestCompletion, "Ange antal deltagare").await.unwrap();
    v.backend.resubmit(r.id, "").await.unwrap();
    v.backend.decide(r.id, Decision::Approve, "").await.unwrap();
    let wait_for = async |n: i64| {
        for _ in 0..2000 {
            let got: std::collections::BTreeSet<i64> = seen.lock().unwrap().iter().map(|e| e.0).collect();
            if got.len() as i64 >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {} of {n} events arrived", seen.lock().unwrap().len());
    };
    assert_eq!(v.db.count("SELECT count(*) AS n FROM outbox").await, 6);
    wait_for(6).await;
    assert_eq!(refusals.load(std::sync::atomic::Ordering::SeqCst), 0, "the refused deliveries were retried");
    assert!(v.db.count("SELECT max(attempts)::bigint AS n FROM webhook_deliveries").await >= 2);

    // Every event in order, each booking's in the order it happened, each signature verifiable
    // by an independent HMAC implementation (Python's).
    let events = seen.lock().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        types,
        ["booking.confirmed", "booking.cancelled", "booking.pending", "booking.needs_completion", "booking.pending", "booking.confirmed"]
    );
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0));
    for (_, _, signature, body) in &events {
        let mut py = std::process::Command::new("python3")
            .args(["-c", "import hmac,hashlib,sys; print('sha256=' + hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", secret])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        py.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let out = py.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), signature);
    }
    let last: serde_json::Value = serde_json::from_str(&events[5].3).unwrap();
    assert_eq!((last["data"]["previousStatus"].as_str(), last["data"]["unitRef"].as_str()), (Some("pending"), Some("hall-a")));
    assert_eq!(last["data"]["accessCode"].as_str().map(str::len), Some(6), "for the lock system");

    // The backend stops; changes go on; a new deliverer sends what was missed, nothing lost.
    deliverer.abort();
    let _ = deliverer.await;
    for i in 0..5 {
        c.create_booking(direct(&format!("after-{i}"), "hall-a", local(8, 9 + i), local(8, 10 + i))).await.unwrap();
    }
    let deliverer = tokio::spawn(deliver(v.backend.pool().clone(), receiver, pacing));
    wait_for(11).await;
    let got: std::collections::BTreeSet<i64> = seen.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(got, (1..=11).collect(), "every outbox event, once or more");
    deliverer.abort();
}

#[tokio::test]
async fn rest_serves_customers_and_staff_by_role_with_problem_details() {
    use serde_json::{Value, json};
    let v = start(None, ApiKeys::default()).await;
    let hall = add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;
    let key = async |role: &str| reference_booking::keys::create(v.backend.pool(), "", role, "test").await.unwrap().1;
    let (kim, other, ifk, officer, caretaker) =
        (key("customer").await, key("customer").await, key("association").await, key("case_officer").await, key("caretaker").await);
    assert!(reference_booking::keys::create(v.backend.pool(), "", "janitor", "").await.is_err());
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", v.url);
    let post = |p: &str, key: &str, idem: Option<&str>, body: Value| {
        let mut r = http.post(url(p)).json(&body);
        if !key.is_empty() {
            r = r.header("x-api-key", key);
        }
        if let Some(i) = idem {
            r = r.header("idempotency-key", i);
        }
        r.send()
    };
    let get = |p: &str, key: &str| {
        let mut r = http.get(url(p));
        if !key.is_empty() {
            r = r.header("authorization", format!("Bearer {key}"));
        }
        r.send()
    };
    let problem = async |r: reqwest::Response, status: u16| -> Value {
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        r.json().await.unwrap()
    };
    let booking = |start: DateTime<Utc>, end: DateTime<Utc>, t: &str, mode: &str| {
        json!({"unitRef": "hall-a", "start": start, "end": end, "mode": mode, "customerType": t,
               "customer": {"name": "Kim Andersson", "orgNumber": "802412-9952"}})
    };

    // Public reads.
    let units: Value = get("/v1/units", "").await.unwrap().json().await.unwrap();
    assert_eq!(units["units"][0]["externalRef"], "hall-a");
    let (from, to) = (local(7, 0).to_rfc3339().replace('+', "%2B"), local(8, 0).to_rfc3339().replace('+', "%2B"));
    let a: Value = get(&format!("/v1/units/hall-a/availability?from={from}&to={to}"), "").await.unwrap().json().await.unwrap();
    assert_eq!(a["slots"].as_array().unwrap().len(), 14, "08–22");
    let p = problem(get(&format!("/v1/units/nope/availability?from={from}&to={to}"), "").await.unwrap(), 404).await;
    assert_eq!(p["type"], "/problems/unknown-unit");
    let p = problem(get("/v1/units/hall-a/availability?from=soon", "").await.unwrap(), 400).await;
    assert_eq!(p["errors"][0]["field"], "query");

    // Booking: a key, an idempotency key, and the customer's own type.
    let b = booking(local(7, 17), local(7, 18), "private_person", "direct");
    problem(post("/v1/bookings", "", Some("a"), b.clone()).await.unwrap(), 401).await;
    let p = problem(post("/v1/bookings", &kim, None, b.clone()).await.unwrap(), 400).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key");
    problem(post("/v1/bookings", &kim, Some("a"), booking(local(7, 17), local(7, 18), "association", "request")).await.unwrap(), 403).await;
    problem(post("/v1/bookings", &caretaker, Some("a"), b.clone()).await.unwrap(), 403).await;
    let p = problem(post("/v1/bookings", &kim, Some("a"), json!({"unitRef": 7})).await.unwrap(), 400).await;
    assert_eq!(p["errors"][0]["field"], "body");
    let r = post("/v1/bookings", &kim, Some("a"), b.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let mine: Value = r.json().await.unwrap();
    assert_eq!((mine["status"].as_str(), mine["customer"]["name"].as_str()), (Some("confirmed"), Some("Kim Andersson")));
    let p = problem(post("/v1/bookings", &other, Some("b"), b.clone()).await.unwrap(), 409).await;
    assert_eq!(p["type"], "/problems/slot-unavailable");
    let p = problem(
        post("/v1/bookings", &other, Some("c"), booking(local(7, 21), local(7, 23), "private_person", "direct")).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(p["type"], "/problems/booking-rule");

    // A booking is seen by its owner, staff and caretakers; to other customers it does not exist.
    assert_eq!(get(&location, &kim).await.unwrap().status(), 200);
    assert_eq!(get(&location, &officer).await.unwrap().status(), 200);
    assert_eq!(get(&location, &caretaker).await.unwrap().status(), 200);
    problem(get(&location, &other).await.unwrap(), 404).await;
    problem(get(&location, "").await.unwrap(), 401).await;
    problem(post(&format!("{location}/cancel"), &other, None, json!({})).await.unwrap(), 404).await;

    // A request: the association asks, the case officer decides.
    let r = post("/v1/bookings", &ifk, Some("r"), booking(local(7, 19), local(7, 20), "association", "request")).await.unwrap();
    assert_eq!(r.status(), 201);
    let req: Value = r.json().await.unwrap();
    let rid = format!("/v1/bookings/{}", req["id"].as_str().unwrap());
    problem(post(&format!("{rid}/approve"), &ifk, None, json!({})).await.unwrap(), 403).await;
    let p = problem(post(&format!("{rid}/request-completion"), &officer, None, json!({})).await.unwrap(), 400).await;
    assert_eq!(p["errors"][0]["field"], "message");
    // The case officer's inbox: requests waiting, oldest first, by municipality, facility, unit.
    let r2 = post("/v1/bookings", &ifk, Some("r2"), booking(local(8, 19), local(8, 20), "association", "request")).await.unwrap();
    assert_eq!(r2.status(), 201);
    let req2: Value = r2.json().await.unwrap();
    let inbox: Value = get("/v1/requests?municipality=1881", &officer).await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = inbox["bookings"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [req["id"].as_str().unwrap(), req2["id"].as_str().unwrap()], "oldest first: {inbox}");
    assert_eq!(inbox["bookings"][0]["customer"]["name"], "Kim Andersson", "staff see the customer");
    let paged: Value = get("/v1/requests?pageSize=1", &officer).await.unwrap().json().await.unwrap();
    let token = paged["nextPageToken"].as_str().unwrap().to_string();
    let rest: Value = get(&format!("/v1/requests?pageSize=1&pageToken={token}"), &officer).await.unwrap().json().await.unwrap();
    assert_eq!((rest["bookings"][0]["id"].as_str(), rest.get("nextPageToken")), (req2["id"].as_str(), None));
    let other_place: Value = get("/v1/requests?municipality=0180", &officer).await.unwrap().json().await.unwrap();
    assert!(other_place["bookings"].as_array().unwrap().is_empty());
    let by_facility: Value =
        get(&format!("/v1/requests?facility={}&unitRef=hall-a", hall.registry_facility_id), &officer).await.unwrap().json().await.unwrap();
    assert_eq!(by_facility["bookings"].as_array().unwrap().len(), 2);
    let p = problem(get("/v1/requests?municipality=9999", &officer).await.unwrap(), 400).await;
    assert_eq!(p["errors"][0]["field"], "municipality");
    problem(get("/v1/requests?status=maybe", &officer).await.unwrap(), 400).await;
    problem(get("/v1/requests", &ifk).await.unwrap(), 403).await;
    problem(get("/v1/requests", "").await.unwrap(), 401).await;
    // The customer's own list: theirs only.
    let own: Value = get("/v1/bookings", &ifk).await.unwrap().json().await.unwrap();
    assert_eq!(own["bookings"].as_array().unwrap().len(), 2, "{own}");
    let kims: Value = get("/v1/bookings", &kim).await.unwrap().json().await.unwrap();
    assert_eq!(kims["bookings"].as_array().unwrap().len(), 1, "{kims}");
    problem(get("/v1/bookings", &officer).await.unwrap(), 403).await;

    let r = post(&format!("{rid}/request-completion"), &officer, None, json!({"message": "Hur många deltagare?"})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "needs_completion");
    let waiting: Value = get("/v1/requests", &officer).await.unwrap().json().await.unwrap();
    assert_eq!(waiting["bookings"].as_array().unwrap().len(), 1, "sent back: not waiting for the officer");
    let all: Value = get("/v1/requests?status=all", &officer).await.unwrap().json().await.unwrap();
    assert_eq!(all["bookings"].as_array().unwrap().len(), 2);
    problem(post(&format!("{rid}/resubmit"), &kim, None, json!({})).await.unwrap(), 404).await;
    let r = post(&format!("{rid}/resubmit"), &ifk, None, json!({"message": "24 deltagare"})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "pending");
    let history = v.backend.history(req["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    let steps: Vec<(&str, Option<&str>)> = history.iter().map(|h| (h.actor.as_str(), h.message.as_deref())).collect();
    assert_eq!(steps, [("customer", None), ("staff", Some("Hur många deltagare?")), ("customer", Some("24 deltagare"))]);
    let r = post(&format!("{rid}/approve"), &officer, None, json!({})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "confirmed");
    let p = problem(post(&format!("{rid}/approve"), &officer, None, json!({})).await.unwrap(), 409).await;
    assert_eq!(p["type"], "/problems/illegal-transition");

    // Blocks by staff; the caretaker's list of the day.
    let block = json!({"unitRef": "hall-a", "start": local(7, 8), "end": local(7, 10), "reason": "Golvvård"});
    problem(post("/v1/blocks", &kim, Some("blk"), block.clone()).await.unwrap(), 403).await;
    problem(post("/v1/blocks", &officer, None, block.clone()).await.unwrap(), 400).await;
    assert_eq!(post("/v1/blocks", &officer, Some("blk"), block).await.unwrap().status(), 201);
    let day = tests::today() + chrono::Duration::days(7);
    let list_url = format!("/v1/facilities/{}/caretaker-list?date={day}", hall.registry_facility_id);
    problem(get(&list_url, &kim).await.unwrap(), 403).await;
    let list: Value = get(&list_url, &caretaker).await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list["entries"].as_array().unwrap().iter().map(|e| e["customerName"].as_str().unwrap_or("block")).collect();
    assert_eq!(names, ["block", "Kim Andersson", "Kim Andersson"]);

    // A series: created (201) or, atomic with a conflict, refused with the report (409).
    let series = |atomic: bool| {
        json!({"unitRef": "hall-a", "firstDate": day, "lastDate": day + chrono::Duration::weeks(3), "from": "17:00:00", "to": "18:00:00",
               "mode": "request", "customerType": "association", "customer": {"name": "IFK Kumla", "orgNumber": "802412-9952"},
               "paymentMethod": "invoice", "atomic": atomic})
    };
    let r = post("/v1/series", &ifk, Some("s1"), series(true)).await.unwrap();
    assert_eq!(r.status(), 409);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["occurrences"][0]["outcome"], "conflict");
    let r = post("/v1/series", &ifk, Some("s2"), series(false)).await.unwrap();
    assert_eq!(r.status(), 201);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["occurrences"].as_array().unwrap().iter().filter(|o| o["outcome"] == "created").count(), 3);
    // Excluded dates are skipped and reported; a customer reference is vendor.v1's only.
    let mut body = series(false);
    body["from"] = json!("13:00:00");
    body["to"] = json!("14:00:00");
    body["excludedDates"] = json!([day + chrono::Duration::weeks(1)]);
    let r = post("/v1/series", &ifk, Some("s3"), body.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let report: Value = r.json().await.unwrap();
    let outcomes: Vec<&str> = report["occurrences"].as_array().unwrap().iter().map(|o| o["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["created", "excluded", "created", "created"]);
    body["customerRef"] = json!("a-0123");
    problem(post("/v1/series", &ifk, Some("s4"), body).await.unwrap(), 400).await;

    // The owner cancels; a revoked key is refused.
    let r = post(&format!("{location}/cancel"), &kim, None, json!({"reason": "förkyld"})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    reference_booking::keys::revoke(v.backend.pool(), &kim).await.unwrap();
    let p = problem(get(&location, &kim).await.unwrap(), 401).await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn the_demo_vendor_takes_on_a_municipality_and_its_slots_are_federated() {
    use reference_booking::demo::{DemoSetup, setup};
    use serde_json::Value;
    let app = tests::TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let admin_key = app.key("admin", None, false).await;
    let v = start(Some(app.base.clone()), ApiKeys::default()).await;
    let s = DemoSetup {
        registry: app.base.clone(),
        admin_key,
        municipalities: vec!["1881".into()],
        name: "Referensbokning Syd".into(),
        endpoint: v.url.clone(),
    };
    let report = setup(&v.backend, &s).await.unwrap();
    assert!(report.units > 10, "{report:?}");
    // Again: the same vendor, the same units.
    let again = setup(&v.backend, &s).await.unwrap();
    assert_eq!((again.vendor_id, again.units), (report.vendor_id, report.units));
    assert_eq!(v.db.count("SELECT count(*) AS n FROM units").await, report.units as i64);
    // Certified by a run that booked its test unit (and cancelled again).
    let entry: Value = app.http().get(app.url(&format!("/v1/vendors/{}", report.vendor_id))).send().await.unwrap().json().await.unwrap();
    assert_eq!(entry["certification"]["status"], "CERTIFICATION_STATUS_CERTIFIED", "{entry}");
    assert_eq!(entry["testUnits"].as_array().map(Vec::len), Some(1), "{entry}");
    let booking_checks: Vec<&Value> =
        entry["conformance"]["checks"].as_array().unwrap().iter().filter(|c| c["id"].as_str().unwrap().starts_with("booking.")).collect();
    assert!(!booking_checks.is_empty() && booking_checks.iter().all(|c| c["verdict"] == "pass"), "{entry}");
    assert_eq!(v.db.count("SELECT count(*) AS n FROM bookings WHERE status = 'confirmed'").await, 0, "the run cancelled what it booked");

    // A federated query for a weekday evening in Kumla returns the vendor's real free slots.
    let day = tests::dates::ordinary_day_after(7);
    let (from, to) = (on(day, 17).to_rfc3339().replace('+', "%2B"), on(day, 21).to_rfc3339().replace('+', "%2B"));
    let query = format!("/v1/availability?municipalities=1881&categories=sports_hall&from={from}&to={to}");
    let a: Value = app.http().get(app.url(&query)).send().await.unwrap().json().await.unwrap();
    assert_eq!(a["vendors"][0]["status"], "ok", "{a}");
    let hall = a["facilities"][0]["units"][0].clone();
    let slots = hall["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 4, "17–21 on a weekday: {hall}");
    assert!(slots.iter().all(|s| s["state"] == "free"));

    // A booking made through vendor.v1 (as the registry would for a resident) shows as booked
    // (asked for another window: answers are cached for 30 s per window).
    let unit_ref = format!("unit-{}", hall["unitId"].as_str().unwrap());
    let mut c = client(&v.url).await;
    c.create_booking(direct("demo-1", &unit_ref, on(day, 18), on(day, 19))).await.unwrap();
    let to = on(day, 20).to_rfc3339().replace('+', "%2B");
    let query = format!("/v1/availability?municipalities=1881&categories=sports_hall&from={from}&to={to}");
    let a: Value = app.http().get(app.url(&query)).send().await.unwrap().json().await.unwrap();
    let states: Vec<&str> =
        a["facilities"][0]["units"][0]["slots"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["free", "booked", "free"]);
}

#[tokio::test]
async fn bookable_time_changes_at_a_period_boundary() {
    use registry_core::hours::{HhMm, MonthDay, OpeningHours, Period, TimeSpan, Weekly};
    let v = start(None, ApiKeys::default()).await;
    let u = v.backend.save_unit(&unit("hall-a", Rules { lead_minutes: 0, ..rules() })).await.unwrap();
    let week = |o: u16, c: u16| {
        let mut w = Weekly::default();
        for d in 0..7 {
            w.day_mut(d).push(TimeSpan::day(HhMm::new(o, 0).unwrap(), HhMm::new(c, 0).unwrap()));
        }
        w
    };
    // A season ends in ten days; the next, with shorter hours, starts the day after.
    let today = tests::today();
    let (last, first) = (today + chrono::Duration::days(10), today + chrono::Duration::days(11));
    let period =
        |name: &str, from, to, w| Period { name: name.into(), from: MonthDay::of(from), to: MonthDay::of(to), priority: 0, weekly: w };
    let hours = OpeningHours {
        periods: vec![
            period("Säsong", today, last, week(8, 20)),
            period("Lågsäsong", first, today + chrono::Duration::days(60), week(10, 14)),
        ],
        ..OpeningHours::default()
    };
    v.backend.hours().set(u.id, hours);
    let slots = async |day: NaiveDate| {
        let a = v.backend.availability(&["hall-a".into()], on(day, 0), on(day + chrono::Duration::days(1), 0), None, None).await.unwrap();
        match &a[0] {
            reference_booking::service::UnitAnswer::Slots(_, s) => {
                s.iter().map(|x| x.start.with_timezone(&Stockholm).format("%H").to_string()).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(slots(last).await.len(), 12, "08–20 on the season's last day");
    assert_eq!(slots(first).await, ["10", "11", "12", "13"], "10–14 from the next season's first day");
    // A booking that fits one season's hours but not the other's is refused with the rule.
    let mut c = client(&v.url).await;
    let e = c.create_booking(direct("p1", "hall-a", on(first, 8), on(first, 9))).await.unwrap_err();
    assert_eq!(reason(&e), "BOOKING_RULE");
    c.create_booking(direct("p2", "hall-a", on(last, 8), on(last, 9))).await.expect("open at 08 in the season");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations_in_the_rest_api() {
    let st = tests::venv_bin("schemathesis");
    assert!(st.exists(), "{} is missing: run scripts/python-tools.sh (make test does)", st.display());
    let v = start(None, ApiKeys::default()).await;
    add_unit(&v, "hall-a", rules(), "Mo-Su 08:00-22:00").await;
    let admin = reference_booking::keys::create(v.backend.pool(), "", "admin", "fuzz").await.unwrap().1;
    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection";
    let run = tokio::process::Command::new(&st)
        .args(["run", &format!("{}/openapi.json", v.url), "--checks", checks, "--max-examples", "25", "--seed", "20261124", "--no-shrink"])
        .args(["--header", &format!("x-api-key: {admin}")])
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run).await.expect("schemathesis hung").expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Tested: 14"), "not all 14 operations were exercised:\n{stdout}");
}

/// Reflection in both versions (grpcurl asks v1, grpcio-reflection v1alpha): each lists
/// exactly what the backend serves and describes vendor.v1 completely.
#[tokio::test]
async fn reflection_answers_in_v1_and_v1alpha() {
    use tests::reflection::{Defined, Reflection, Version};
    let v = start(None, ApiKeys::default()).await;
    let channel = tonic::transport::Endpoint::from_shared(v.url.clone()).unwrap().connect().await.unwrap();
    let provider = pb::booking_provider_server::SERVICE_NAME;
    for version in Version::BOTH {
        let r = Reflection::new(channel.clone(), version);
        let mut expected = vec![provider, "grpc.health.v1.Health", version.service()];
        expected.sort();
        let listed = r.list_services().await.unwrap_or_else(|e| panic!("{version:?}: {e:?}"));
        assert_eq!(listed, expected, "{version:?}");
        let set = r.resolve(provider).await.unwrap_or_else(|e| panic!("{version:?}: {e:?}"));
        let defined = Defined::of(&set);
        let methods: Vec<&str> = defined.services[&format!(".{provider}")].iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            methods,
            [
                "GetCapabilities",
                "CheckAvailability",
                "CreateBooking",
                "GetBooking",
                "CancelBooking",
                "Health",
                "ListBookings",
                "MoveBooking",
                "ListChanges",
                "CompleteRequest",
                "CreateSeries"
            ],
            "{version:?}"
        );
        assert_eq!(Defined::missing(&set), Vec::<String>::new(), "{version:?}: types a client cannot resolve");
        let e = r.file_containing_symbol("vendor.v1.NoSuchThing").await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{version:?}: {e:?}");
    }
}
