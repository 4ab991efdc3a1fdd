//! Calls other than availability through the engine: a booking's create, get and cancel at its
//! vendor under the same per-vendor deadline, circuit breaker, rate and concurrency limits as
//! the fan-out, and counted in the same per-vendor counts. They are neither hedged nor cached:
//! a write must reach the vendor once (its idempotency key makes a retry safe, a hedge would
//! only double the load), and a booking's state must be read fresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use vendor_proto::v1 as pb;

use super::{BoxFuture, Federation, Vendor, VendorApi};
use crate::breaker::Permit;

/// What the engine asks of a vendor, as its per-vendor counts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `CheckAvailability` (the fan-out).
    CheckAvailability,
    /// `CreateBooking`.
    CreateBooking,
    /// `GetBooking`.
    GetBooking,
    /// `CancelBooking`.
    CancelBooking,
    /// `ListBookings`.
    ListBookings,
    /// `MoveBooking`.
    MoveBooking,
    /// `ListChanges`.
    ListChanges,
    /// `CompleteRequest`.
    CompleteRequest,
    /// `CreateSeries`.
    CreateSeries,
}

impl Operation {
    /// Stable name, as in the metric's `operation` label.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CheckAvailability => "check_availability",
            Operation::CreateBooking => "create_booking",
            Operation::GetBooking => "get_booking",
            Operation::CancelBooking => "cancel_booking",
            Operation::ListBookings => "list_bookings",
            Operation::MoveBooking => "move_booking",
            Operation::ListChanges => "list_changes",
            Operation::CompleteRequest => "complete_request",
            Operation::CreateSeries => "create_series",
        }
    }
}

/// Why a call through the engine brought no answer.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The vendor is not in the engine.
    NotLoaded,
    /// Not asked: its circuit is open after repeated failures.
    Unavailable,
    /// Not asked: our rate or concurrency limit for it left no room before the deadline.
    RateLimited,
    /// It did not answer within the deadline.
    Timeout,
    /// It answered with an error (kept whole: its details say which rule it refused on).
    Refused(tonic::Status),
}

impl CallError {
    /// Stable name, as in the metric's `status` label (the fan-out's names).
    pub fn name(&self) -> &'static str {
        match self {
            CallError::NotLoaded => "skipped",
            CallError::Unavailable => "unavailable",
            CallError::RateLimited => "rate_limited",
            CallError::Timeout => "timeout",
            CallError::Refused(_) => "error",
        }
    }
}

/// Whether a vendor's error says it is unwell (which opens its circuit in the end), rather than
/// that it refused this one request by its rules: a booking refused because the time is taken
/// says nothing about the vendor's health.
fn unwell(code: tonic::Code) -> bool {
    use tonic::Code as C;
    matches!(
        code,
        C::DeadlineExceeded
            | C::Cancelled
            | C::Unavailable
            | C::Internal
            | C::Unknown
            | C::DataLoss
            | C::Unauthenticated
            | C::PermissionDenied
    )
}

/// One vendor call of `T` given the vendor's client and the time left.
type Call<T> = Box<dyn FnOnce(Arc<dyn VendorApi>, Duration) -> BoxFuture<Result<T, tonic::Status>> + Send>;

impl Federation {
    /// `CreateBooking` at a vendor within `deadline`.
    pub async fn create_booking(
        &self,
        vendor_id: &str,
        req: pb::CreateBookingRequest,
        deadline: Duration,
    ) -> Result<pb::CreateBookingResponse, CallError> {
        self.call(vendor_id, Operation::CreateBooking, deadline, Box::new(move |api, t| api.create_booking(req, t))).await
    }

    /// `GetBooking` at a vendor within `deadline`.
    pub async fn get_booking(&self, vendor_id: &str, booking_id: &str, deadline: Duration) -> Result<pb::GetBookingResponse, CallError> {
        let req = pb::GetBookingRequest { booking_id: booking_id.into() };
        self.call(vendor_id, Operation::GetBooking, deadline, Box::new(move |api, t| api.get_booking(req, t))).await
    }

    /// `CancelBooking` at a vendor within `deadline`.
    pub async fn cancel_booking(
        &self,
        vendor_id: &str,
        booking_id: &str,
        reason: &str,
        deadline: Duration,
    ) -> Result<pb::CancelBookingResponse, CallError> {
        let req = pb::CancelBookingRequest { booking_id: booking_id.into(), reason: reason.into() };
        self.call(vendor_id, Operation::CancelBooking, deadline, Box::new(move |api, t| api.cancel_booking(req, t))).await
    }

    /// `ListBookings` at a vendor within `deadline`.
    pub async fn list_bookings(
        &self,
        vendor_id: &str,
        req: pb::ListBookingsRequest,
        deadline: Duration,
    ) -> Result<pb::ListBookingsResponse, CallError> {
        self.call(vendor_id, Operation::ListBookings, deadline, Box::new(move |api, t| api.list_bookings(req, t))).await
    }

    /// `MoveBooking` at a vendor within `deadline`.
    pub async fn move_booking(
        &self,
        vendor_id: &str,
        req: pb::MoveBookingRequest,
        deadline: Duration,
    ) -> Result<pb::MoveBookingResponse, CallError> {
        self.call(vendor_id, Operation::MoveBooking, deadline, Box::new(move |api, t| api.move_booking(req, t))).await
    }

    /// `ListChanges` at a vendor within `deadline`.
    pub async fn list_changes(
        &self,
        vendor_id: &str,
        req: pb::ListChangesRequest,
        deadline: Duration,
    ) -> Result<pb::ListChangesResponse, CallError> {
        self.call(vendor_id, Operation::ListChanges, deadline, Box::new(move |api, t| api.list_changes(req, t))).await
    }

    /// `CompleteRequest` at a vendor within `deadline`.
    pub async fn complete_request(
        &self,
        vendor_id: &str,
        req: pb::CompleteRequestRequest,
        deadline: Duration,
    ) -> Result<pb::CompleteRequestResponse, CallError> {
        self.call(vendor_id, Operation::CompleteRequest, deadline, Box::new(move |api, t| api.complete_request(req, t))).await
    }

    /// `CreateSeries` at a vendor within `deadline`.
    pub async fn create_series(
        &self,
        vendor_id: &str,
        req: pb::CreateSeriesRequest,
        deadline: Duration,
    ) -> Result<pb::CreateSeriesResponse, CallError> {
        self.call(vendor_id, Operation::CreateSeries, deadline, Box::new(move |api, t| api.create_series(req, t))).await
    }

    async fn call<T>(&self, vendor_id: &str, op: Operation, deadline: Duration, call: Call<T>) -> Result<T, CallError> {
        let r = match self.vendor(vendor_id) {
            Some(vendor) => vendor.call_once(Instant::now() + deadline, call).await,
            None => Err(CallError::NotLoaded),
        };
        self.count(vendor_id, op, r.as_ref().err().map_or("ok", CallError::name));
        r
    }
}

impl Vendor {
    /// Waits for room under the rate and concurrency limits, giving up a little before `until`
    /// so that it is reported as what it is (rate limited), not as the vendor's timeout.
    pub(super) async fn admit(&self, until: Instant) -> Option<OwnedSemaphorePermit> {
        let remaining = || until.saturating_duration_since(Instant::now());
        let margin = Duration::from_millis(10);
        loop {
            match self.limiter.check() {
                Ok(()) => break,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
                    if wait + margin >= remaining() {
                        return None;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
        tokio::time::timeout(remaining().saturating_sub(margin), self.permits.clone().acquire_owned()).await.ok()?.ok()
    }

    async fn call_once<T>(&self, until: Instant, call: Call<T>) -> Result<T, CallError> {
        let permit = self.breaker.lock().expect("never poisoned").allow(Instant::now());
        if permit == Permit::Refused {
            return Err(CallError::Unavailable);
        }
        let Some(room) = self.admit(until).await else {
            // Our own limits say nothing about the vendor's health.
            if permit == Permit::Probe {
                self.breaker.lock().expect("never poisoned").release_probe(Instant::now());
            }
            return Err(CallError::RateLimited);
        };
        let timeout = until.saturating_duration_since(Instant::now());
        let r = tokio::time::timeout(timeout, call(self.api.clone(), timeout)).await;
        drop(room);
        let r = match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(s)) if matches!(s.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled) => Err(CallError::Timeout),
            Ok(Err(s)) => Err(CallError::Refused(s)),
            Err(_) => Err(CallError::Timeout),
        };
        let mut breaker = self.breaker.lock().expect("never poisoned");
        match &r {
            Ok(_) => breaker.record(true, Instant::now()),
            Err(CallError::Timeout) => breaker.record(false, Instant::now()),
            Err(CallError::Refused(s)) if s.code() == tonic::Code::ResourceExhausted => {
                if permit == Permit::Probe {
                    breaker.release_probe(Instant::now());
                }
            }
            Err(CallError::Refused(s)) => breaker.record(!unwell(s.code()), Instant::now()),
            Err(_) => {}
        }
        r
    }
}
