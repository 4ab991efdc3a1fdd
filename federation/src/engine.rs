//! The fan-out engine: one availability query sent to many vendors at once, each behind its
//! own deadline, concurrency limit, rate limit, circuit breaker, hedged second request and
//! coalescing cache; every vendor's answer comes back labelled with what happened.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, mpsc};
use vendor_proto::v1 as pb;

use crate::breaker::{Breaker, Permit};
use crate::cache::{Cache, Source};
use crate::validate::{self, Checked};

mod calls;
pub use calls::{CallError, Operation};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A vendor the engine can ask: the gRPC client, or an in-process vendor in tests and benchmarks.
pub trait VendorApi: Send + Sync + 'static {
    /// One CheckAvailability call that must answer within `timeout`.
    fn check_availability(
        &self,
        req: pb::CheckAvailabilityRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CheckAvailabilityResponse, tonic::Status>>;

    /// One CreateBooking call that must answer within `timeout`. Vendors that take no bookings
    /// through the registry (feeds, in-process test vendors) keep the default refusal.
    fn create_booking(
        &self,
        _req: pb::CreateBookingRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::CreateBookingResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor takes no bookings through the registry")) })
    }

    /// One GetBooking call that must answer within `timeout`.
    fn get_booking(&self, _req: pb::GetBookingRequest, _timeout: Duration) -> BoxFuture<Result<pb::GetBookingResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor takes no bookings through the registry")) })
    }

    /// One CancelBooking call that must answer within `timeout`.
    fn cancel_booking(
        &self,
        _req: pb::CancelBookingRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::CancelBookingResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor takes no bookings through the registry")) })
    }

    /// One ListBookings call (vendor.v1.1) that must answer within `timeout`.
    fn list_bookings(
        &self,
        _req: pb::ListBookingsRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::ListBookingsResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor lists no bookings")) })
    }

    /// One MoveBooking call (vendor.v1.1) that must answer within `timeout`.
    fn move_booking(&self, _req: pb::MoveBookingRequest, _timeout: Duration) -> BoxFuture<Result<pb::MoveBookingResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor moves no bookings")) })
    }

    /// One ListChanges call (vendor.v1.1) that must answer within `timeout`.
    fn list_changes(&self, _req: pb::ListChangesRequest, _timeout: Duration) -> BoxFuture<Result<pb::ListChangesResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor has no change feed")) })
    }

    /// One CompleteRequest call (vendor.v1.1) that must answer within `timeout`.
    fn complete_request(
        &self,
        _req: pb::CompleteRequestRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::CompleteRequestResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor completes no requests")) })
    }

    /// One CreateSeries call (vendor.v1.1) that must answer within `timeout`.
    fn create_series(
        &self,
        _req: pb::CreateSeriesRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::CreateSeriesResponse, tonic::Status>> {
        Box::pin(async { Err(tonic::Status::unimplemented("this vendor books no series")) })
    }
}

/// How the registry treats one vendor (docs/vendor-protocol.md §11).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Calls in flight at once.
    pub max_concurrency: usize,
    /// Calls per second (a token bucket with bursts of the same size).
    pub requests_per_second: u32,
    /// Consecutive failures that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit refuses calls before a probe.
    pub breaker_open_for: Duration,
    /// Send a second, hedged request when the first has not answered after this long.
    pub hedge_after: Option<Duration>,
    /// How long answers are reused.
    pub cache_ttl: Duration,
    /// Unit references per call (the vendor's `max_units_per_call`); larger asks are split.
    pub max_units_per_call: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_concurrency: 8,
            requests_per_second: 50,
            breaker_threshold: 5,
            breaker_open_for: Duration::from_secs(10),
            hedge_after: Some(Duration::from_millis(150)),
            cache_ttl: Duration::from_secs(30),
            max_units_per_call: 100,
        }
    }
}

/// What happened with one vendor in one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// It answered (its answer may still have had invalid parts; see `problems`).
    Ok,
    /// It did not answer within the deadline.
    Timeout,
    /// It answered with an error.
    Error {
        /// The gRPC code.
        code: tonic::Code,
        /// The message (for operators; never shown verbatim to residents).
        message: String,
    },
    /// Not asked: its circuit is open after repeated failures.
    Unavailable,
    /// Not asked (or asked too late): its rate or concurrency limit, or its own
    /// RESOURCE_EXHAUSTED answer.
    RateLimited,
    /// Not asked, with the reason (e.g. not in the directory).
    Skipped(String),
}

impl Status {
    /// Stable name: `ok`, `timeout`, `error`, `unavailable`, `rate_limited`, `skipped`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Timeout => "timeout",
            Status::Error { .. } => "error",
            Status::Unavailable => "unavailable",
            Status::RateLimited => "rate_limited",
            Status::Skipped(_) => "skipped",
        }
    }
}

/// One vendor's part of a federated answer.
#[derive(Debug, Clone)]
pub struct VendorAnswer {
    /// The vendor's id in the directory.
    pub vendor_id: String,
    /// What happened.
    pub status: Status,
    /// The checked units (empty unless `Ok`).
    pub units: Vec<pb::UnitAvailability>,
    /// What was dropped from the answer and why.
    pub problems: Vec<String>,
    /// Slots dropped.
    pub dropped_slots: usize,
    /// Time from asking to the answer.
    pub elapsed: Duration,
    /// Served from the cache or from another query's call in flight.
    pub shared: bool,
    /// A hedged second request answered first.
    pub hedged: bool,
}

#[derive(Debug, Clone)]
struct Outcome {
    status: Status,
    checked: Checked,
    hedged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    units: Vec<String>,
    start: (i64, i32),
    end: (i64, i32),
    activity: String,
    min_duration: Option<(i64, i32)>,
    customer_type: i32,
}

impl Key {
    fn of(req: &pb::CheckAvailabilityRequest) -> Key {
        let t = |t: &Option<prost_types::Timestamp>| t.as_ref().map_or((0, 0), |t| (t.seconds, t.nanos));
        Key {
            units: req.unit_refs.clone(),
            start: t(&req.start),
            end: t(&req.end),
            activity: req.activity.clone(),
            min_duration: req.min_duration.as_ref().map(|d| (d.seconds, d.nanos)),
            customer_type: req.customer_type,
        }
    }
}

struct Vendor {
    api: Arc<dyn VendorApi>,
    policy: Policy,
    breaker: Mutex<Breaker>,
    limiter: DefaultDirectRateLimiter,
    permits: Arc<Semaphore>,
    cache: Cache<Key, Outcome>,
}

/// The vendors known to the engine and their state.
#[derive(Default)]
pub struct Federation {
    vendors: RwLock<HashMap<String, Arc<Vendor>>>,
    /// Calls per vendor, operation and outcome; kept across a vendor's replacement (a new
    /// version in the directory) so that they only ever rise.
    counts: Mutex<BTreeMap<(String, Operation, &'static str), u64>>,
}

impl Federation {
    /// An engine with no vendors.
    pub fn new() -> Arc<Federation> {
        Arc::new(Federation::default())
    }

    /// Adds (or replaces) a vendor.
    pub fn add_vendor(&self, id: &str, api: Arc<dyn VendorApi>, policy: Policy) {
        let rate = NonZeroU32::new(policy.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let vendor = Vendor {
            api,
            breaker: Mutex::new(Breaker::new(policy.breaker_threshold, policy.breaker_open_for)),
            limiter: RateLimiter::direct(Quota::per_second(rate)),
            permits: Arc::new(Semaphore::new(policy.max_concurrency.max(1))),
            cache: Cache::new(policy.cache_ttl),
            policy,
        };
        self.vendors.write().expect("the vendor map lock is never poisoned").insert(id.to_string(), Arc::new(vendor));
    }

    fn vendor(&self, id: &str) -> Option<Arc<Vendor>> {
        self.vendors.read().expect("the vendor map lock is never poisoned").get(id).cloned()
    }

    /// Counts one call (one vendor's part of a query, or one booking call) in the engine's
    /// per-vendor counts and in the metric `federation_vendor_calls_total{vendor,operation,status}`.
    fn count(&self, vendor_id: &str, op: Operation, status: &'static str) {
        *self.counts.lock().expect("never poisoned").entry((vendor_id.to_string(), op, status)).or_default() += 1;
        metrics::counter!("federation_vendor_calls_total", "vendor" => vendor_id.to_string(), "operation" => op.name(), "status" => status)
            .increment(1);
    }

    /// How many calls of `op` to a vendor ended with `status` (`ok`, `timeout`, `error`,
    /// `unavailable`, `rate_limited`, `skipped`) since the engine started.
    pub fn calls(&self, vendor_id: &str, op: Operation, status: &str) -> u64 {
        let counts = self.counts.lock().expect("never poisoned");
        counts.iter().filter(|((v, o, s), _)| v == vendor_id && *o == op && *s == status).map(|(_, n)| *n).sum()
    }

    /// Removes a vendor.
    pub fn remove_vendor(&self, id: &str) {
        self.vendors.write().expect("the vendor map lock is never poisoned").remove(id);
    }

    /// Forgets the cached answers of a vendor that mention any of `unit_refs`, so that the next
    /// query sees a booking just made through the registry (the cache otherwise keeps answers
    /// for `cache_ttl`).
    pub fn forget_units(&self, id: &str, unit_refs: &[String]) {
        let vendor = self.vendors.read().expect("the vendor map lock is never poisoned").get(id).cloned();
        if let Some(v) = vendor {
            v.cache.forget(|k: &Key| k.units.iter().any(|u| unit_refs.contains(u)));
        }
    }

    /// Whether a vendor's circuit is open now.
    pub fn circuit_open(&self, id: &str) -> bool {
        let vendors = self.vendors.read().expect("the vendor map lock is never poisoned");
        vendors.get(id).is_some_and(|v| matches!(v.breaker.lock().expect("never poisoned").state(), crate::breaker::State::Open(_)))
    }

    /// Asks every vendor of `queries` at once; answers arrive on the returned channel as each
    /// vendor finishes, all within `deadline` (plus scheduling).
    pub fn fan_out(
        self: &Arc<Self>,
        queries: Vec<(String, pb::CheckAvailabilityRequest)>,
        deadline: Duration,
    ) -> mpsc::UnboundedReceiver<VendorAnswer> {
        let (tx, rx) = mpsc::unbounded_channel();
        // Vendors get the deadline less a small reserve for gathering and sending the answer,
        // so that the whole query ends within the deadline.
        let reserve = (deadline / 50).min(Duration::from_millis(10));
        let until = Instant::now() + deadline - reserve;
        for (vendor, req) in queries {
            let (fed, tx) = (self.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tx.send(fed.check(&vendor, req, until).await);
            });
        }
        rx
    }

    /// Asks one vendor, splitting the units into calls of at most `max_units_per_call`.
    pub async fn check(&self, vendor_id: &str, req: pb::CheckAvailabilityRequest, until: Instant) -> VendorAnswer {
        let a = self.check_parts(vendor_id, req, until).await;
        self.count(vendor_id, Operation::CheckAvailability, a.status.name());
        a
    }

    async fn check_parts(&self, vendor_id: &str, req: pb::CheckAvailabilityRequest, until: Instant) -> VendorAnswer {
        let started = Instant::now();
        let vendor = self.vendors.read().expect("the vendor map lock is never poisoned").get(vendor_id).cloned();
        let Some(vendor) = vendor else {
            return answer(vendor_id, started, Status::Skipped("not in the vendor directory".into()), Checked::default(), false, false);
        };
        let max = vendor.policy.max_units_per_call.max(1);
        if req.unit_refs.len() <= max {
            return vendor.check_one(vendor_id, req, until, started).await;
        }
        let mut set = tokio::task::JoinSet::new();
        for chunk in req.unit_refs.chunks(max) {
            let part = pb::CheckAvailabilityRequest { unit_refs: chunk.to_vec(), ..req.clone() };
            let (v, id) = (vendor.clone(), vendor_id.to_string());
            set.spawn(async move { v.check_one(&id, part, until, started).await });
        }
        let mut parts = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(a) = r {
                parts.push(a);
            }
        }
        merge(vendor_id, &req, parts, started)
    }
}

impl Vendor {
    async fn check_one(
        self: &Arc<Self>,
        vendor_id: &str,
        req: pb::CheckAvailabilityRequest,
        until: Instant,
        started: Instant,
    ) -> VendorAnswer {
        let now = Instant::now();
        if until <= now {
            return answer(vendor_id, started, Status::Timeout, Checked::default(), false, false);
        }
        let permit = self.breaker.lock().expect("never poisoned").allow(now);
        if permit == Permit::Refused {
            return answer(vendor_id, started, Status::Unavailable, Checked::default(), false, false);
        }
        let me = self.clone();
        let call_req = req.clone();
        let lookup = self.cache.get_or_call(Key::of(&req), move || async move {
            let outcome = me.call(call_req, until).await;
            let keep = outcome.status == Status::Ok;
            (outcome, keep)
        });
        match tokio::time::timeout(until.saturating_duration_since(Instant::now()), lookup).await {
            Ok((outcome, source)) => {
                let mut breaker = self.breaker.lock().expect("never poisoned");
                match source {
                    Source::Called => match &outcome.status {
                        Status::Ok => breaker.record(true, Instant::now()),
                        // Our own limits say nothing about the vendor's health.
                        Status::RateLimited | Status::Skipped(_) | Status::Unavailable => {
                            if permit == Permit::Probe {
                                breaker.release_probe(Instant::now());
                            }
                        }
                        Status::Timeout | Status::Error { .. } => breaker.record(false, Instant::now()),
                    },
                    Source::Shared if permit == Permit::Probe => breaker.release_probe(Instant::now()),
                    Source::Shared => {}
                }
                drop(breaker);
                answer(vendor_id, started, outcome.status, outcome.checked, source == Source::Shared, outcome.hedged)
            }
            Err(_) => {
                // Our deadline passed while waiting (perhaps on another query's call).
                self.breaker.lock().expect("never poisoned").record(false, Instant::now());
                answer(vendor_id, started, Status::Timeout, Checked::default(), false, false)
            }
        }
    }

    /// The call itself, under the rate and concurrency limits, with hedging.
    async fn call(self: Arc<Self>, req: pb::CheckAvailabilityRequest, until: Instant) -> Outcome {
        let fail = |status| Outcome { status, checked: Checked::default(), hedged: false };
        let remaining = || until.saturating_duration_since(Instant::now());
        let Some(permit) = self.admit(until).await else {
            return fail(Status::RateLimited);
        };
        let primary = {
            let (api, req) = (self.api.clone(), req.clone());
            let timeout = remaining();
            async move {
                let r = tokio::time::timeout(timeout, api.check_availability(req, timeout)).await;
                drop(permit);
                r
            }
        };
        let launched = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hedge = {
            let me = self.clone();
            let req = req.clone();
            let launched = launched.clone();
            async move {
                let after = me.policy.hedge_after?;
                if after >= remaining() {
                    return None;
                }
                tokio::time::sleep(after).await;
                // A hedge only when the limits allow it at once: it must not crowd out first calls.
                me.limiter.check().ok()?;
                let permit = me.permits.clone().try_acquire_owned().ok()?;
                launched.store(true, std::sync::atomic::Ordering::SeqCst);
                let timeout = remaining();
                let r = tokio::time::timeout(timeout, me.api.check_availability(req, timeout)).await;
                drop(permit);
                Some(r)
            }
        };
        tokio::pin!(primary);
        tokio::pin!(hedge);
        // The first success wins. A failed first call waits for a hedge already sent; a hedge
        // that was not sent (or failed) leaves the first call's result.
        let (mut first, mut second) = (None, None);
        let (result, hedged) = loop {
            tokio::select! {
                r = &mut primary, if first.is_none() => {
                    if matches!(r, Ok(Ok(_))) || !launched.load(std::sync::atomic::Ordering::SeqCst) || second.is_some() {
                        break (r, false);
                    }
                    first = Some(r);
                }
                r = &mut hedge, if second.is_none() => {
                    match r {
                        Some(r @ Ok(Ok(_))) => break (r, true),
                        other => {
                            if let Some(f) = first.take() {
                                break (f, false);
                            }
                            second = Some(other);
                        }
                    }
                }
            }
        };
        match result {
            Ok(Ok(resp)) => Outcome { status: Status::Ok, checked: validate::check(&req, resp), hedged },
            Ok(Err(s)) => fail(match s.code() {
                tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => Status::Timeout,
                tonic::Code::ResourceExhausted => Status::RateLimited,
                code => Status::Error { code, message: s.message().chars().take(300).collect() },
            }),
            Err(_) => fail(Status::Timeout),
        }
    }
}

fn answer(vendor_id: &str, started: Instant, status: Status, checked: Checked, shared: bool, hedged: bool) -> VendorAnswer {
    VendorAnswer {
        vendor_id: vendor_id.to_string(),
        status,
        units: checked.units,
        problems: checked.problems,
        dropped_slots: checked.dropped_slots,
        elapsed: started.elapsed(),
        shared,
        hedged,
    }
}

/// Joins the answers of a split query: the units of those that answered; the status of the
/// first part that failed, if any.
fn merge(vendor_id: &str, req: &pb::CheckAvailabilityRequest, parts: Vec<VendorAnswer>, started: Instant) -> VendorAnswer {
    let status = parts.iter().map(|p| p.status.clone()).find(|s| *s != Status::Ok).unwrap_or(Status::Ok);
    let mut units: Vec<pb::UnitAvailability> = parts.iter().flat_map(|p| p.units.clone()).collect();
    units.sort_by_key(|u| req.unit_refs.iter().position(|r| *r == u.unit_ref));
    VendorAnswer {
        vendor_id: vendor_id.to_string(),
        status,
        units,
        problems: parts.iter().flat_map(|p| p.problems.clone()).collect(),
        dropped_slots: parts.iter().map(|p| p.dropped_slots).sum(),
        elapsed: started.elapsed(),
        shared: parts.iter().all(|p| p.shared),
        hedged: parts.iter().any(|p| p.hedged),
    }
}
