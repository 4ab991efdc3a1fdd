//! The fan-out against real vendor.v1 servers on 127.0.0.1 (the fault-injection vendor): each
//! fault alone and all mixed is contained, the circuit opens and recovers, the cache
//! coalesces, rate limits hold under a burst, and hedging beats a slow first call (mTLS to
//! vendors: tests/tests/federation_tls.rs, beside the shared test PKI).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use federation::engine::BoxFuture;
use federation::fault::{FaultVendor, Faults};
use federation::grpc::{Connection, GrpcVendor};
use federation::{Federation, Policy, Status, VendorAnswer, VendorApi, pb};
use prost_types::Timestamp;

const UNITS: [&str; 3] = ["hall-a", "hall-b", "pool"];

/// A window of whole hours: 2026-12-03 16:00–22:00 UTC.
fn request(units: &[&str]) -> pb::CheckAvailabilityRequest {
    let start = 1_796_313_600; // 2026-12-03T16:00:00Z
    pb::CheckAvailabilityRequest {
        unit_refs: units.iter().map(|u| u.to_string()).collect(),
        start: Some(Timestamp { seconds: start, nanos: 0 }),
        end: Some(Timestamp { seconds: start + 6 * 3600, nanos: 0 }),
        ..Default::default()
    }
}

async fn vendor(faults: Faults) -> (FaultVendor, Arc<dyn VendorApi>) {
    let v = FaultVendor::new(UNITS.iter().map(|u| u.to_string()).collect(), faults, 7);
    let addr = v.clone().serve().await;
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap();
    (v, Arc::new(client))
}

fn quiet_policy() -> Policy {
    Policy { hedge_after: None, cache_ttl: Duration::ZERO, ..Policy::default() }
}

async fn collect(mut rx: tokio::sync::mpsc::UnboundedReceiver<VendorAnswer>) -> Vec<VendorAnswer> {
    let mut out = Vec::new();
    while let Some(a) = rx.recv().await {
        out.push(a);
    }
    out.sort_by(|a, b| a.vendor_id.cmp(&b.vendor_id));
    out
}

#[tokio::test]
async fn every_fault_is_contained_within_the_deadline() {
    let ms = Duration::from_millis;
    let cases: Vec<(&str, Faults)> = vec![
        ("a-healthy", Faults { median: ms(20), p99: ms(60), ..Faults::default() }),
        ("b-slow", Faults { median: ms(30_000), p99: ms(30_000), ..Faults::default() }),
        ("c-error", Faults { error_rate: 1.0, ..Faults::default() }),
        ("d-hang", Faults { hang_rate: 1.0, ..Faults::default() }),
        ("e-garbage", Faults { garbage_rate: 1.0, ..Faults::default() }),
        ("f-wrong-zone", Faults { wrong_zone_rate: 1.0, ..Faults::default() }),
        ("g-oversized", Faults { oversized_rate: 1.0, ..Faults::default() }),
        ("h-overloaded", Faults { overloaded: true, ..Faults::default() }),
        ("j-reset", Faults { reset_rate: 1.0, ..Faults::default() }),
        ("k-slow-write", Faults { slow_write: Some(ms(500)), ..Faults::default() }),
        ("l-slow-write-in-time", Faults { slow_write: Some(ms(1)), ..Faults::default() }),
    ];
    let fed = Federation::new();
    let mut queries = Vec::new();
    for (id, faults) in cases {
        let (_, api) = vendor(faults).await;
        fed.add_vendor(id, api, quiet_policy());
        queries.push((id.to_string(), request(&["hall-a", "hall-b", "unknown"])));
    }
    queries.push(("i-not-registered".into(), request(&["x"])));
    // Every vendor is accounted for, however it behaves: the slow and the hanging ones as timeouts
    // (the hanging vendor sleeps an hour, so a fan-out that waited for it would never end). The
    // deadline leaves the healthy vendors room on a loaded machine; the slow ones are far past it.
    let answers = collect(fed.fan_out(queries, Duration::from_secs(3))).await;
    assert_eq!(answers.len(), 12);
    let by = |id: &str| answers.iter().find(|a| a.vendor_id == id).unwrap();

    let healthy = by("a-healthy");
    assert_eq!(healthy.status, Status::Ok);
    assert_eq!(healthy.units.iter().map(|u| u.unit_ref.as_str()).collect::<Vec<_>>(), ["hall-a", "hall-b", "unknown"]);
    assert_eq!(healthy.units[0].slots.len(), 6, "six hour slots");
    assert_eq!(healthy.units[2].status, pb::UnitStatus::UnknownUnit as i32, "an unknown unit is reported per unit");
    assert!(healthy.problems.is_empty(), "{:?}", healthy.problems);

    assert_eq!(by("b-slow").status, Status::Timeout);
    assert!(
        matches!(&by("c-error").status, Status::Error { code: tonic::Code::Internal, message } if message.contains("booking database is down"))
    );
    assert_eq!(by("d-hang").status, Status::Timeout);
    let garbage = by("e-garbage");
    assert_eq!(garbage.status, Status::Ok, "the valid part is kept");
    assert_eq!(garbage.units[0].slots.len(), 6, "the invalid slots are dropped: {:?}", garbage.problems);
    assert_eq!(garbage.dropped_slots, 3);
    for needle in ["outside the asked window", "ends before it starts", "overlaps another", "'not-asked' was not asked"] {
        assert!(garbage.problems.iter().any(|p| p.contains(needle)), "{needle}: {:?}", garbage.problems);
    }
    let zone = by("f-wrong-zone");
    assert_eq!(zone.units[0].slots.len(), 5, "the slot pushed past the window is dropped");
    assert!(zone.problems.iter().any(|p| p.contains("outside the asked window")));
    assert!(matches!(by("g-oversized").status, Status::Error { .. }), "{:?}", by("g-oversized").status);
    assert_eq!(by("h-overloaded").status, Status::RateLimited);
    assert!(matches!(&by("i-not-registered").status, Status::Skipped(why) if why.contains("not in the vendor directory")));
    assert!(matches!(&by("j-reset").status, Status::Error { .. } | Status::Timeout), "a reset connection: {:?}", by("j-reset").status);
    // 16 bytes per 500 ms: the answer (hundreds of bytes) cannot arrive within the deadline.
    assert_eq!(by("k-slow-write").status, Status::Timeout);
    // A trickle that still ends in time is an answer like any other.
    let trickled = by("l-slow-write-in-time");
    assert_eq!((trickled.status.clone(), trickled.units[0].slots.len()), (Status::Ok, 6), "{:?}", trickled.problems);
}

#[tokio::test]
async fn the_circuit_opens_and_recovers() {
    let (v, api) = vendor(Faults { error_rate: 1.0, ..Faults::default() }).await;
    let fed = Federation::new();
    fed.add_vendor("v", api, Policy { breaker_threshold: 3, breaker_open_for: Duration::from_millis(300), ..quiet_policy() });
    let ask = || fed.check("v", request(&["hall-a"]), Instant::now() + Duration::from_secs(1));
    for _ in 0..3 {
        assert!(matches!(ask().await.status, Status::Error { .. }));
    }
    assert!(fed.circuit_open("v"));
    let calls = v.availability_calls();
    assert_eq!(ask().await.status, Status::Unavailable, "open: not asked");
    assert_eq!(v.availability_calls(), calls, "no call while open");

    v.set(Faults::default());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(ask().await.status, Status::Ok, "the half-open probe succeeds");
    assert!(!fed.circuit_open("v"));
    assert_eq!(ask().await.status, Status::Ok);
}

#[tokio::test]
async fn identical_concurrent_queries_make_one_vendor_call() {
    let (v, api) = vendor(Faults { median: Duration::from_millis(100), p99: Duration::from_millis(100), ..Faults::default() }).await;
    let fed = Federation::new();
    fed.add_vendor("v", api, Policy { hedge_after: None, ..Policy::default() });
    let until = Instant::now() + Duration::from_secs(2);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let fed = fed.clone();
        set.spawn(async move { fed.check("v", request(&UNITS), until).await });
    }
    let mut shared = 0;
    while let Some(a) = set.join_next().await {
        let a = a.unwrap();
        assert_eq!(a.status, Status::Ok);
        shared += usize::from(a.shared);
    }
    assert_eq!(v.availability_calls(), 1, "one call for 100 identical queries");
    assert_eq!(shared, 99);
    // Within the TTL the answer is reused; another window is a new call.
    assert!(fed.check("v", request(&UNITS), Instant::now() + Duration::from_secs(1)).await.shared);
    assert!(!fed.check("v", request(&["pool"]), Instant::now() + Duration::from_secs(1)).await.shared);
    assert_eq!(v.availability_calls(), 2);
}

#[tokio::test]
async fn the_rate_limit_towards_a_vendor_holds_under_a_burst() {
    let (v, api) = vendor(Faults::default()).await;
    let fed = Federation::new();
    fed.add_vendor("v", api, Policy { requests_per_second: 5, ..quiet_policy() });
    let until = Instant::now() + Duration::from_secs(1);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let fed = fed.clone();
        let mut req = request(&["hall-a"]);
        req.start.as_mut().unwrap().seconds += i * 3600; // 50 different queries: no cache help
        req.end.as_mut().unwrap().seconds += i * 3600;
        set.spawn(async move { fed.check("v", req, until).await });
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(a) = set.join_next().await {
        match a.unwrap().status {
            Status::Ok => ok += 1,
            Status::RateLimited => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    let calls = v.availability_calls();
    // A burst of 5, then 5 a second, for one second.
    assert!(calls <= 11, "{calls} calls");
    assert_eq!(ok, calls);
    assert_eq!(ok + limited, 50);
}

/// First call slow, later calls fast: the hedge wins.
struct SlowFirst {
    calls: AtomicUsize,
    inner: Arc<dyn VendorApi>,
}

impl VendorApi for SlowFirst {
    fn check_availability(
        &self,
        req: pb::CheckAvailabilityRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CheckAvailabilityResponse, tonic::Status>> {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let inner = self.inner.clone();
        Box::pin(async move {
            if first {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            inner.check_availability(req, timeout).await
        })
    }
}

#[tokio::test]
async fn a_hedged_request_beats_a_slow_first_call() {
    let (_, api) = vendor(Faults::default()).await;
    let slow = Arc::new(SlowFirst { calls: AtomicUsize::new(0), inner: api });
    let fed = Federation::new();
    fed.add_vendor(
        "v",
        slow.clone(),
        Policy { hedge_after: Some(Duration::from_millis(100)), cache_ttl: Duration::ZERO, ..Policy::default() },
    );
    let a = fed.check("v", request(&["hall-a"]), Instant::now() + Duration::from_secs(1)).await;
    assert_eq!(a.status, Status::Ok);
    assert!(a.hedged, "the first call sleeps 5 s, past the 1 s deadline: only the hedge can have answered");
    assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn large_asks_are_split_to_the_vendors_limit() {
    let units: Vec<String> = (0..25).map(|i| format!("u{i}")).collect();
    let v = FaultVendor::new(units.clone(), Faults::default(), 1);
    let addr = v.clone().serve().await;
    let api = Arc::new(GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap());
    let fed = Federation::new();
    fed.add_vendor("v", api, Policy { max_units_per_call: 10, ..quiet_policy() });
    let refs: Vec<&str> = units.iter().map(String::as_str).collect();
    let a = fed.check("v", request(&refs), Instant::now() + Duration::from_secs(1)).await;
    assert_eq!(a.status, Status::Ok);
    assert_eq!(a.units.iter().map(|u| u.unit_ref.clone()).collect::<Vec<_>>(), units, "all, in the order asked");
    assert_eq!(v.availability_calls(), 3, "10 + 10 + 5");
}

#[tokio::test]
async fn the_conformance_suite_passes_an_honest_vendor_and_names_a_bad_one() {
    use federation::conformance::{self, Verdict};
    let opts = conformance::Options {
        units: vec!["hall-a".into(), "hall-b".into()],
        start: Timestamp { seconds: 1_796_313_600, nanos: 0 },
        writes: true,
    };
    let honest = FaultVendor::new(UNITS.iter().map(|u| u.to_string()).collect(), Faults::default(), 1);
    let addr = honest.serve().await;
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap();
    let results = conformance::run(&client, &opts).await;
    let (text, ok) = conformance::render_text(&results);
    assert!(ok, "{text}");
    assert!(results.iter().filter(|r| r.verdict == Verdict::Pass).count() >= 10, "{text}");
    assert!(text.contains("SKIP booking.idempotent_create"), "{text}");

    let bad = FaultVendor::new(UNITS.iter().map(|u| u.to_string()).collect(), Faults { garbage_rate: 1.0, ..Faults::default() }, 1);
    let addr = bad.serve().await;
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap();
    let results = conformance::run(&client, &opts).await;
    let (text, ok) = conformance::render_text(&results);
    assert!(!ok);
    let window = results.iter().find(|r| r.id == "availability.window").unwrap();
    assert_eq!(window.verdict, Verdict::Fail);
    assert!(window.detail.contains("outside the asked window") && window.section == "§6", "{text}");
    let order = results.iter().find(|r| r.id == "availability.order").unwrap();
    assert_eq!(order.verdict, Verdict::Fail, "an extra unit that was not asked: {text}");

    // An endpoint that does not answer fails, it does not hang.
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: "http://127.0.0.1:9".into(), ..Default::default() }).unwrap();
    let results = conformance::run(&client, &opts).await;
    assert!(results.iter().any(|r| r.id == "capabilities.well_formed" && r.verdict == Verdict::Fail));
}

#[test]
fn the_spec_lists_every_check_of_the_kit() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vendor-protocol.md")).unwrap();
    let section = &spec[spec.find("## §12").expect("§12")..];
    for (id, sec, _) in federation::conformance::all_checks() {
        assert!(section.contains(&format!("| `{id}` | {sec} |")), "docs/vendor-protocol.md §12 does not list `{id}` ({sec})");
    }
}

/// The kit's matrix: a vendor with one defect fails exactly the checks that cover it and passes
/// every other; every check of the kit is in some row, so none can never fail.
#[tokio::test]
async fn each_defect_fails_exactly_the_checks_that_cover_it() {
    use federation::conformance::{self, Verdict};
    use federation::fault::Defect as D;
    use std::collections::BTreeSet;
    let rows: Vec<(D, Vec<&str>)> = vec![
        (D::WrongTimeZone, vec!["capabilities.well_formed"]),
        (D::SlowCapabilities, vec!["latency.capabilities"]),
        (D::NotServing, vec!["health.serving"]),
        (D::ReversedOrder, vec!["availability.order"]),
        (D::UnknownUnitFailsCall, vec!["availability.unknown_unit"]),
        (D::SlotOutsideWindow, vec!["availability.window"]),
        (D::EndBeforeStart, vec!["availability.start_before_end"]),
        (D::OverlappingSlots, vec!["availability.no_overlap"]),
        (D::SlowAvailability, vec!["latency.availability"]),
        (D::WrongOffsetOnDstNight, vec!["availability.dst"]),
        (D::AcceptsEmptyWindow, vec!["availability.empty_window"]),
        (D::TruncatesOverLimit, vec!["availability.max_window", "availability.max_units"]),
        (D::CreatesPending, vec!["booking.create"]),
        (D::StaysFreeWhenBooked, vec!["booking.no_longer_free", "move.moves"]),
        (D::IgnoresIdempotencyKey, vec!["booking.idempotent_create", "booking.idempotency_key_reused"]),
        (D::DoubleBooking, vec!["booking.slot_unavailable"]),
        (D::WrongErrorCode, vec!["booking.slot_unavailable"]),
        (D::GetWrongStatus, vec!["booking.get", "move.taken", "series.creates"]),
        (D::UnknownBookingFound, vec!["booking.get_unknown"]),
        (D::CancelAnswersConfirmed, vec!["booking.cancel"]),
        (D::SecondCancelFails, vec!["booking.cancel_idempotent"]),
        (D::StaysBookedWhenCancelled, vec!["booking.freed"]),
        (D::NoErrorInfo, vec!["errors.error_info"]),
        (D::SlowBooking, vec!["latency.booking"]),
        (D::NoCustomerReference, vec!["customer.reference", "list.by_reference", "list.paging", "series.creates"]),
        (D::ListIgnoresReference, vec!["list.by_reference"]),
        (D::ListNoPaging, vec!["list.paging"]),
        (D::ListAcceptsNoReferences, vec!["list.invalid"]),
        (D::NoHistory, vec!["history.steps"]),
        (D::MoveNotAtomic, vec!["move.taken", "move.moves", "move.idempotent"]),
        (D::MoveIgnoresKey, vec!["move.idempotent", "history.steps", "changes.feed"]),
        (D::FeedSkipsMoves, vec!["changes.feed"]),
        (D::FeedCursorStuck, vec!["changes.feed"]),
        (D::CompletesAnyStatus, vec!["request.complete_illegal"]),
        (D::SeriesNotBooked, vec!["series.creates"]),
        (D::SeriesNotAtomic, vec!["series.atomic"]),
        (D::SeriesConflictAsError, vec!["series.atomic"]),
        (D::SeriesIgnoresExcluded, vec!["series.excluded"]),
        (D::SeriesIgnoresKey, vec!["series.idempotent"]),
        (D::SeriesAcceptsInvalid, vec!["series.invalid"]),
    ];
    let opts = conformance::Options {
        units: vec!["hall-a".into(), "hall-b".into()],
        start: Timestamp { seconds: 1_796_313_600, nanos: 0 },
        writes: true,
    };
    let run = |defects: Vec<D>| {
        let opts = opts.clone();
        async move {
            let v =
                FaultVendor::new(UNITS.iter().map(|u| u.to_string()).collect(), Faults { bookings: true, defects, ..Faults::default() }, 1);
            let addr = v.serve().await;
            let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap();
            conformance::run(&client, &opts).await
        }
    };
    // Without defects every check runs and passes.
    let honest = run(vec![]).await;
    let (text, ok) = conformance::render_text(&honest);
    assert!(ok && honest.iter().all(|r| r.verdict == Verdict::Pass), "{text}");
    assert_eq!(honest.len(), conformance::all_checks().len());

    let mut set = tokio::task::JoinSet::new();
    for (defect, expected) in rows.clone() {
        let r = run(vec![defect]);
        set.spawn(async move { (defect, expected, r.await) });
    }
    while let Some(r) = set.join_next().await {
        let (defect, expected, results) = r.unwrap();
        let (text, _) = conformance::render_text(&results);
        let failed: BTreeSet<&str> = results.iter().filter(|r| r.verdict == Verdict::Fail).map(|r| r.id).collect();
        assert_eq!(failed, expected.iter().copied().collect(), "{defect:?}:\n{text}");
        assert!(results.iter().all(|r| r.verdict != Verdict::Skip), "{defect:?}: every other check passes:\n{text}");
        assert!(
            results.iter().filter(|r| r.verdict == Verdict::Fail).all(|r| !r.detail.is_empty()),
            "{defect:?}: failures say why:\n{text}"
        );
    }
    let covered: BTreeSet<&str> = rows.iter().flat_map(|(_, e)| e.iter().copied()).collect();
    let all: BTreeSet<&str> = conformance::all_checks().iter().map(|c| c.0).collect();
    assert_eq!(covered, all, "every check of the kit can fail");

    // A vendor that never answers: the kit ends, and nothing passes.
    let results = run(vec![D::Hang]).await;
    let (text, _) = conformance::render_text(&results);
    assert!(results.iter().all(|r| r.verdict != Verdict::Pass), "{text}");
    assert!(results.iter().filter(|r| r.verdict == Verdict::Fail).count() >= 8, "{text}");
}

/// Every call is counted under its own method, whatever the vendor answers: a test that says
/// "the vendor was not asked to book" must be reading the CreateBooking counter, not another.
#[tokio::test]
async fn the_fault_vendor_counts_each_method_on_its_own() {
    use federation::fault::Rpc;
    use vendor_proto::v1::booking_provider_client::BookingProviderClient;
    let v = FaultVendor::new(UNITS.iter().map(|u| u.to_string()).collect(), Faults { bookings: true, ..Faults::default() }, 7);
    let addr = v.clone().serve().await;
    let mut c = BookingProviderClient::connect(format!("http://{addr}")).await.unwrap();
    let mut expected = [0usize; 11];
    let counts = |v: &FaultVendor| Rpc::ALL.map(|r| v.calls(r));
    assert_eq!(counts(&v), expected);

    c.get_capabilities(pb::GetCapabilitiesRequest::default()).await.unwrap();
    expected[0] += 1;
    assert_eq!(counts(&v), expected, "GetCapabilities");
    c.check_availability(request(&["hall-a"])).await.unwrap();
    expected[1] += 1;
    assert_eq!(counts(&v), expected, "CheckAvailability");
    assert_eq!(v.availability_calls(), 1);
    let r = request(&["hall-a"]);
    let booking = pb::CreateBookingRequest {
        unit_ref: "hall-a".into(),
        start: r.start,
        end: Some(Timestamp { seconds: r.start.unwrap().seconds + 3600, nanos: 0 }),
        idempotency_key: "count-me-once-please".into(),
        ..Default::default()
    };
    let id = c.create_booking(booking.clone()).await.unwrap().into_inner().booking.unwrap().booking_id;
    expected[2] += 1;
    assert_eq!(counts(&v), expected, "CreateBooking");
    // A refused call counts too: the slot is taken now.
    let taken = pb::CreateBookingRequest { idempotency_key: "another-key-same-slot".into(), ..booking };
    assert_eq!(c.create_booking(taken).await.unwrap_err().code(), tonic::Code::FailedPrecondition);
    expected[2] += 1;
    assert_eq!(counts(&v), expected, "a refused CreateBooking");
    c.get_booking(pb::GetBookingRequest { booking_id: id.clone() }).await.unwrap();
    expected[3] += 1;
    assert_eq!(counts(&v), expected, "GetBooking");
    c.cancel_booking(pb::CancelBookingRequest { booking_id: id, ..Default::default() }).await.unwrap();
    expected[4] += 1;
    assert_eq!(counts(&v), expected, "CancelBooking");
    c.health(pb::HealthRequest::default()).await.unwrap();
    expected[5] += 1;
    assert_eq!(counts(&v), expected, "Health");
    let window = request(&["hall-a"]);
    let list =
        pb::ListBookingsRequest { customer_references: vec!["p-1".into()], start: window.start, end: window.end, ..Default::default() };
    c.list_bookings(list).await.unwrap();
    expected[6] += 1;
    assert_eq!(counts(&v), expected, "ListBookings");
    let unknown = pb::MoveBookingRequest { booking_id: "none".into(), idempotency_key: "a-move-key".into(), ..Default::default() };
    assert_eq!(c.move_booking(unknown).await.unwrap_err().code(), tonic::Code::NotFound);
    expected[7] += 1;
    assert_eq!(counts(&v), expected, "MoveBooking");
    c.list_changes(pb::ListChangesRequest::default()).await.unwrap();
    expected[8] += 1;
    assert_eq!(counts(&v), expected, "ListChanges");
    let complete = pb::CompleteRequestRequest { booking_id: "none".into(), message: "here".into() };
    assert_eq!(c.complete_request(complete).await.unwrap_err().code(), tonic::Code::NotFound);
    expected[9] += 1;
    assert_eq!(counts(&v), expected, "CompleteRequest");
    let series = pb::CreateSeriesRequest { unit_ref: "hall-a".into(), idempotency_key: "a-series-key".into(), ..Default::default() };
    assert_eq!(c.create_series(series).await.unwrap_err().code(), tonic::Code::InvalidArgument, "no dates");
    expected[10] += 1;
    assert_eq!(counts(&v), expected, "CreateSeries");
    assert_eq!(v.availability_calls(), 1, "only CheckAvailability moves the availability count");
}
