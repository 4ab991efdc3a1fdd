//! Bookings through the engine against the fault-injection vendor on 127.0.0.1: they are
//! counted per vendor, a vendor that does not answer them opens its circuit, and a refusal by
//! the vendor's booking rules does not.

use std::sync::Arc;
use std::time::Duration;

use federation::fault::{Defect, FaultVendor, Faults, Rpc};
use federation::grpc::{Connection, GrpcVendor};
use federation::{CallError, Federation, Operation, Policy, pb};
use prost_types::Timestamp;

fn booking(key: &str, hour: i64) -> pb::CreateBookingRequest {
    let start = 1_796_313_600 + hour * 3600; // from 2026-12-03T16:00:00Z
    pb::CreateBookingRequest {
        idempotency_key: key.into(),
        unit_ref: "hall-a".into(),
        start: Some(Timestamp { seconds: start, nanos: 0 }),
        end: Some(Timestamp { seconds: start + 3600, nanos: 0 }),
        mode: pb::BookingMode::Direct as i32,
        ..Default::default()
    }
}

async fn engine(faults: Faults, policy: Policy) -> (FaultVendor, Arc<Federation>) {
    let v = FaultVendor::new(vec!["hall-a".into()], Faults { bookings: true, ..faults }, 7);
    let addr = v.clone().serve().await;
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() }).unwrap();
    let fed = Federation::new();
    fed.add_vendor("v", Arc::new(client), policy);
    (v, fed)
}

#[tokio::test]
async fn bookings_are_counted_and_refusals_by_rule_leave_the_circuit_closed() {
    let (vendor, fed) = engine(Faults::default(), Policy { breaker_threshold: 1, ..Policy::default() }).await;
    let deadline = Duration::from_secs(5);
    let made = fed.create_booking("v", booking("key-1", 0), deadline).await.unwrap().booking.unwrap();
    // The same time again under another key: the vendor's rules refuse it, which says nothing
    // about its health, so with a threshold of one failure the next booking still goes through.
    let taken = fed.create_booking("v", booking("key-2", 0), deadline).await.unwrap_err();
    assert!(matches!(&taken, CallError::Refused(s) if s.code() == tonic::Code::FailedPrecondition), "{taken:?}");
    assert!(!fed.circuit_open("v"));
    fed.create_booking("v", booking("key-3", 1), deadline).await.unwrap();
    let got = fed.get_booking("v", &made.booking_id, deadline).await.unwrap().booking.unwrap();
    assert_eq!(got.booking_id, made.booking_id);
    let cancelled = fed.cancel_booking("v", &made.booking_id, "plans changed", deadline).await.unwrap().booking.unwrap();
    assert_eq!(cancelled.status, pb::BookingStatus::Cancelled as i32);
    assert_eq!(
        (
            fed.calls("v", Operation::CreateBooking, "ok"),
            fed.calls("v", Operation::CreateBooking, "error"),
            fed.calls("v", Operation::GetBooking, "ok"),
            fed.calls("v", Operation::CancelBooking, "ok"),
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(vendor.calls(Rpc::CreateBooking), 3);
    // A vendor the engine does not know is not asked, and counted as skipped.
    assert!(matches!(fed.create_booking("other", booking("key-4", 2), deadline).await, Err(CallError::NotLoaded)));
    assert_eq!(fed.calls("other", Operation::CreateBooking, "skipped"), 1);
}

#[tokio::test]
async fn a_vendor_that_does_not_answer_bookings_is_paused_by_its_circuit() {
    let policy = Policy { breaker_threshold: 2, breaker_open_for: Duration::from_secs(3600), ..Policy::default() };
    let (vendor, fed) = engine(Faults { defects: vec![Defect::HangCreateBooking], ..Faults::default() }, policy).await;
    let deadline = Duration::from_millis(200);
    for key in ["key-1", "key-2"] {
        let e = fed.create_booking("v", booking(key, 0), deadline).await.unwrap_err();
        assert!(matches!(e, CallError::Timeout), "{e:?}");
    }
    assert!(fed.circuit_open("v"), "two timeouts in a row open the circuit");
    let e = fed.create_booking("v", booking("key-3", 0), deadline).await.unwrap_err();
    assert!(matches!(e, CallError::Unavailable), "{e:?}");
    assert_eq!(vendor.calls(Rpc::CreateBooking), 2, "the paused vendor was not asked");
    assert_eq!((fed.calls("v", Operation::CreateBooking, "timeout"), fed.calls("v", Operation::CreateBooking, "unavailable")), (2, 1));
}

#[tokio::test]
async fn a_booking_that_the_rate_limit_holds_past_its_deadline_is_not_sent() {
    // One call a second: a booking whose deadline ends before the next token is not sent at
    // all (so it cannot have been made), and says so.
    let (vendor, fed) = engine(Faults::default(), Policy { requests_per_second: 1, ..Policy::default() }).await;
    fed.create_booking("v", booking("key-1", 0), Duration::from_secs(5)).await.unwrap();
    let e = fed.create_booking("v", booking("key-2", 1), Duration::from_millis(50)).await.unwrap_err();
    assert!(matches!(e, CallError::RateLimited), "{e:?}");
    assert_eq!(vendor.calls(Rpc::CreateBooking), 1);
    assert_eq!(fed.calls("v", Operation::CreateBooking, "rate_limited"), 1);
}
