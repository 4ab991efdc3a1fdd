//! A vendor.v1 server that misbehaves on demand, for tests and the benchmark: latency drawn
//! from a log-normal distribution, errors, hangs, invalid answers, local time sent as UTC,
//! oversized answers, answers written slowly, connection resets. The behaviour can be changed
//! between calls.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost_types::Timestamp;
use tonic::{Request, Response, Status};
use vendor_proto::v1 as pb;
use vendor_proto::v1::booking_provider_server::{BookingProvider, BookingProviderServer};

/// The local hour (Europe/Stockholm) the fault vendor's units open; they close at midnight.
pub const OPENS: i64 = 6;

/// How the vendor behaves; rates are probabilities per call.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Median latency.
    pub median: Duration,
    /// 99th-percentile latency (log-normal with this median and p99); equal to `median` for a constant.
    pub p99: Duration,
    /// Share of calls answered INTERNAL.
    pub error_rate: f64,
    /// Share of calls that never answer (until the caller gives up).
    pub hang_rate: f64,
    /// Share of calls answered with invalid slots (outside the window, end before start,
    /// units not asked, overlapping free slots).
    pub garbage_rate: f64,
    /// Share of calls with every slot shifted one hour (local time sent as UTC in winter).
    pub wrong_zone_rate: f64,
    /// Share of calls answered with about 10 MB of slots.
    pub oversized_rate: f64,
    /// Answer RESOURCE_EXHAUSTED to every call.
    pub overloaded: bool,
    /// Share of new connections reset at once (TCP RST), as a crashing load balancer does.
    pub reset_rate: f64,
    /// Write the answer slowly: this pause after every 16 bytes sent (a vendor whose answer
    /// trickles in, e.g. through an overloaded proxy).
    pub slow_write: Option<Duration>,
    /// Take bookings (in memory): CreateBooking, GetBooking and CancelBooking, honestly unless
    /// a defect says otherwise. Off: only CheckAvailability is offered.
    pub bookings: bool,
    /// Breaches of the vendor.v1 contract, each of which particular conformance checks catch.
    pub defects: Vec<Defect>,
}

/// One breach of the vendor.v1 contract (docs/vendor-protocol.md), for the conformance kit's
/// matrix test: a vendor with one defect must fail exactly the checks that cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Defect {
    /// GetCapabilities states the time zone as UTC.
    WrongTimeZone,
    /// GetCapabilities takes 300 ms.
    SlowCapabilities,
    /// Health says NOT_SERVING.
    NotServing,
    /// CheckAvailability answers the units in reverse order.
    ReversedOrder,
    /// An unknown unit reference fails the whole CheckAvailability call with NOT_FOUND.
    UnknownUnitFailsCall,
    /// A free slot before the asked window.
    SlotOutsideWindow,
    /// A slot that ends before it starts.
    EndBeforeStart,
    /// A free slot overlapping another free slot.
    OverlappingSlots,
    /// CheckAvailability takes 600 ms.
    SlowAvailability,
    /// Slots are turned into instants with the UTC offset in force at their local day's
    /// midnight, so that on the two DST Sundays every slot after the change is an hour off
    /// (every other day is right).
    WrongOffsetOnDstNight,
    /// An empty window is answered instead of refused.
    AcceptsEmptyWindow,
    /// Requests over max_window or max_units_per_call are answered, truncated, instead of refused.
    TruncatesOverLimit,
    /// A direct booking is answered PENDING.
    CreatesPending,
    /// Booked slots are still listed as free.
    StaysFreeWhenBooked,
    /// The idempotency key is ignored: every request is a new booking.
    IgnoresIdempotencyKey,
    /// A taken slot can be booked again (double booking).
    DoubleBooking,
    /// GetBooking answers the wrong status.
    GetWrongStatus,
    /// GetBooking of an unknown id answers an empty booking.
    UnknownBookingFound,
    /// CancelBooking cancels but answers CONFIRMED.
    CancelAnswersConfirmed,
    /// Cancelling a cancelled booking fails.
    SecondCancelFails,
    /// Cancelled slots are still listed as booked.
    StaysBookedWhenCancelled,
    /// A taken slot is refused with ABORTED instead of FAILED_PRECONDITION.
    WrongErrorCode,
    /// Refusals carry no google.rpc.ErrorInfo.
    NoErrorInfo,
    /// CreateBooking takes 2.5 s.
    SlowBooking,
    /// CreateBooking never answers (everything else does).
    HangCreateBooking,
    /// Nothing is ever answered.
    Hang,
    /// vendor.v1.1: the customer reference is neither kept nor echoed.
    NoCustomerReference,
    /// vendor.v1.1: ListBookings lists every booking, whatever the references asked.
    ListIgnoresReference,
    /// vendor.v1.1: ListBookings ignores page_size and gives no next page token.
    ListNoPaging,
    /// vendor.v1.1: ListBookings without references answers an empty list, not INVALID_ARGUMENT.
    ListAcceptsNoReferences,
    /// vendor.v1.1: bookings come without their status history.
    NoHistory,
    /// vendor.v1.1: a move onto taken time gives up the old time anyway (cancels the booking).
    MoveNotAtomic,
    /// vendor.v1.1: MoveBooking ignores its idempotency key.
    MoveIgnoresKey,
    /// vendor.v1.1: moves never reach the change feed.
    FeedSkipsMoves,
    /// vendor.v1.1: ListChanges answers the cursor it was sent (the reader never moves on).
    FeedCursorStuck,
    /// vendor.v1.1: CompleteRequest makes any booking PENDING, a confirmed one too.
    CompletesAnyStatus,
    /// vendor.v1.1: CreateSeries reports its weeks CREATED with booking ids, but books nothing.
    SeriesNotBooked,
    /// vendor.v1.1: an atomic series with a week taken books the other weeks anyway.
    SeriesNotAtomic,
    /// vendor.v1.1: an atomic series with a week taken is refused with SLOT_UNAVAILABLE instead
    /// of answered with its report.
    SeriesConflictAsError,
    /// vendor.v1.1: excluded dates are booked like the other weeks.
    SeriesIgnoresExcluded,
    /// vendor.v1.1: CreateSeries ignores its idempotency key.
    SeriesIgnoresKey,
    /// vendor.v1.1: malformed series are answered with an empty report, not INVALID_ARGUMENT.
    SeriesAcceptsInvalid,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            median: Duration::from_millis(1),
            p99: Duration::from_millis(1),
            error_rate: 0.0,
            hang_rate: 0.0,
            garbage_rate: 0.0,
            wrong_zone_rate: 0.0,
            oversized_rate: 0.0,
            overloaded: false,
            reset_rate: 0.0,
            slow_write: None,
            bookings: false,
            defects: Vec::new(),
        }
    }
}

/// A vendor.v1 method, to count the calls of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    /// `GetCapabilities`.
    GetCapabilities,
    /// `CheckAvailability`.
    CheckAvailability,
    /// `CreateBooking`.
    CreateBooking,
    /// `GetBooking`.
    GetBooking,
    /// `CancelBooking`.
    CancelBooking,
    /// `Health`.
    Health,
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

impl Rpc {
    /// Every method of vendor.v1.
    pub const ALL: [Rpc; 11] = [
        Rpc::GetCapabilities,
        Rpc::CheckAvailability,
        Rpc::CreateBooking,
        Rpc::GetBooking,
        Rpc::CancelBooking,
        Rpc::Health,
        Rpc::ListBookings,
        Rpc::MoveBooking,
        Rpc::ListChanges,
        Rpc::CompleteRequest,
        Rpc::CreateSeries,
    ];
}

/// Calls received, one counter per method.
#[derive(Default)]
struct Calls([std::sync::atomic::AtomicUsize; Rpc::ALL.len()]);

impl Calls {
    fn count(&self, rpc: Rpc) {
        self.0[rpc as usize].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn get(&self, rpc: Rpc) -> usize {
        self.0[rpc as usize].load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The misbehaving vendor: its faults (changeable) and its call counters.
#[derive(Clone)]
pub struct FaultVendor {
    /// Current behaviour.
    pub faults: Arc<Mutex<Faults>>,
    /// Calls received per method, counted on arrival (before any fault or refusal).
    calls: Arc<Calls>,
    rng: Arc<Mutex<u64>>,
    /// Units this vendor knows (others are UNKNOWN_UNIT).
    pub units: Arc<Vec<String>>,
    /// The latency injected into each CheckAvailability call, with the call's window start
    /// (seconds), for benchmarks that compare with the ideal.
    pub injected: Arc<Mutex<Vec<(i64, Duration)>>>,
    /// The latency injected into each ListBookings call, in order (the same distribution).
    pub listed: Arc<Mutex<Vec<Duration>>>,
    store: Arc<Mutex<Store>>,
}

/// The bookings of a fault vendor that takes them.
#[derive(Default)]
struct Store {
    next: u64,
    bookings: std::collections::HashMap<String, pb::Booking>,
    /// Idempotency key → (the request as sent, the booking id).
    keys: std::collections::HashMap<String, (Vec<u8>, String)>,
    /// The change feed: every change, in order (its index + 1 is the cursor).
    changes: Vec<(String, pb::StatusChange)>,
    /// Series: idempotency key → (the request as sent, the answer).
    series: std::collections::HashMap<String, (Vec<u8>, pb::CreateSeriesResponse)>,
}

impl Store {
    /// Records a step of booking `id`: in its history and, unless `feed` is false, in the feed.
    fn record(&mut self, id: &str, status: pb::BookingStatus, message: &str, note: &str, feed: bool) {
        let change =
            pb::StatusChange { status: status as i32, at: now(), message: message.into(), actor: "customer".into(), note: note.into() };
        if let Some(b) = self.bookings.get_mut(id) {
            b.history.push(change.clone());
        }
        if feed {
            self.changes.push((id.to_string(), change));
        }
    }
}

fn refuse(code: tonic::Code, reason: &str, message: &str, f: &Faults) -> Status {
    if f.defects.contains(&Defect::NoErrorInfo) {
        return Status::new(code, message);
    }
    let mut details = tonic_types::ErrorDetails::new();
    details.set_error_info(reason, "vendor.v1", std::collections::HashMap::new());
    <Status as tonic_types::StatusExt>::with_error_details(code, message, details)
}

fn now() -> Option<Timestamp> {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Some(Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 })
}

fn overlaps(b: &pb::Booking, unit: &str, start: i64, end: i64) -> bool {
    b.unit_ref == unit
        && b.status == pb::BookingStatus::Confirmed as i32
        && b.start.map_or(0, |t| t.seconds) < end
        && b.end.map_or(0, |t| t.seconds) > start
}

impl FaultVendor {
    /// A vendor knowing `units`, behaving as `faults`, with a random seed.
    pub fn new(units: Vec<String>, faults: Faults, seed: u64) -> FaultVendor {
        FaultVendor {
            faults: Arc::new(Mutex::new(faults)),
            calls: Arc::new(Calls::default()),
            rng: Arc::new(Mutex::new(seed ^ 0x9e37_79b9_7f4a_7c15)),
            units: Arc::new(units),
            injected: Arc::new(Mutex::new(Vec::new())),
            listed: Arc::new(Mutex::new(Vec::new())),
            store: Arc::new(Mutex::new(Store::default())),
        }
    }

    /// Waits `delay` when `f` has `defect`, and for ever when it has [`Defect::Hang`].
    async fn defect_delays(&self, f: &Faults, defect: Defect, delay: Duration) {
        if f.defects.contains(&Defect::Hang) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if f.defects.contains(&defect) {
            tokio::time::sleep(delay).await;
        }
    }

    /// The availability answer as bookings and the contract defects change it.
    fn contract_defects(&self, f: &Faults, req: &pb::CheckAvailabilityRequest, answer: &mut pb::CheckAvailabilityResponse) {
        let has = |d: Defect| f.defects.contains(&d);
        if f.bookings && !has(Defect::StaysFreeWhenBooked) {
            let store = self.store.lock().expect("never poisoned");
            for u in &mut answer.units {
                for slot in &mut u.slots {
                    let (a, b) = (slot.start.map_or(0, |t| t.seconds), slot.end.map_or(0, |t| t.seconds));
                    let held = store.bookings.values().any(|bk| {
                        overlaps(bk, &u.unit_ref, a, b)
                            || (has(Defect::StaysBookedWhenCancelled)
                                && bk.unit_ref == u.unit_ref
                                && bk.start.map_or(0, |t| t.seconds) < b
                                && bk.end.map_or(0, |t| t.seconds) > a)
                    });
                    if held {
                        slot.state = pb::SlotState::Booked as i32;
                    }
                }
            }
        }
        let (ws, we) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        let slot = |a: i64, b: i64| pb::Slot {
            start: Some(Timestamp { seconds: a, nanos: 0 }),
            end: Some(Timestamp { seconds: b, nanos: 0 }),
            state: pb::SlotState::Free as i32,
            ..Default::default()
        };
        if let Some(u) = answer.units.iter_mut().find(|u| u.status == pb::UnitStatus::Ok as i32 && !u.slots.is_empty()) {
            let first = u.slots[0].start.map_or(ws, |t| t.seconds);
            if has(Defect::SlotOutsideWindow) {
                u.slots.push(slot(ws - 7200, ws - 3600));
            }
            if has(Defect::EndBeforeStart) && we - ws >= 7200 {
                u.slots.push(slot(ws + 5400, ws + 3600));
            }
            if has(Defect::OverlappingSlots) {
                u.slots.push(slot(first + 1800, first + 5400));
            }
        }
        if has(Defect::ReversedOrder) {
            answer.units.reverse();
        }
    }

    /// The start of a call about bookings: counted, refused when the vendor takes none, held
    /// for ever under [`Defect::Hang`]; the behaviour in force.
    async fn booking_call(&self, rpc: Rpc) -> Result<Faults, Status> {
        self.calls.count(rpc);
        let f = self.faults.lock().expect("never poisoned").clone();
        if !f.bookings {
            return Err(Status::unimplemented("the fault vendor only answers availability"));
        }
        self.defect_delays(&f, Defect::Hang, Duration::ZERO).await;
        Ok(f)
    }

    /// A booking as answered: without its history under [`Defect::NoHistory`].
    fn shown(f: &Faults, mut b: pb::Booking) -> pb::Booking {
        if f.defects.contains(&Defect::NoHistory) {
            b.history.clear();
        }
        b
    }

    /// Calls of `rpc` received so far, whatever was answered (a call that hangs counts too).
    pub fn calls(&self, rpc: Rpc) -> usize {
        self.calls.get(rpc)
    }

    /// CheckAvailability calls received so far: the traffic the federation engine sends.
    pub fn availability_calls(&self) -> usize {
        self.calls(Rpc::CheckAvailability)
    }

    /// Replaces the behaviour.
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().expect("never poisoned") = faults;
    }

    fn uniform(&self) -> f64 {
        let mut s = self.rng.lock().expect("never poisoned");
        *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One latency from the log-normal distribution of `f`.
    pub fn latency(&self, f: &Faults) -> Duration {
        let median = f.median.as_secs_f64().max(1e-6);
        let p99 = f.p99.as_secs_f64().max(median);
        let sigma = (p99 / median).ln() / 2.326_347_874;
        let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        Duration::from_secs_f64(median * (sigma * z).exp())
    }

    /// The answer of a well-behaved vendor: per known unit, the hour slots of its opening hours
    /// (06:00–24:00 Stockholm time, every day, across DST) inside the window, free and booked
    /// in turn; at most 48.
    pub fn honest_answer(&self, req: &pb::CheckAvailabilityRequest) -> pb::CheckAvailabilityResponse {
        self.answer(req, false)
    }

    /// The starts of the hour slots inside `[start, end)`, at most 48: local hours from
    /// [`OPENS`] to midnight, made instants with Stockholm's rules, or with `midnight_offset`
    /// with the offset of their day's midnight ([`Defect::WrongOffsetOnDstNight`]).
    fn slot_starts(start: i64, end: i64, midnight_offset: bool) -> Vec<i64> {
        use crate::conformance::stockholm;
        let mut out = Vec::new();
        if end <= start {
            return out;
        }
        let mut day = stockholm::local_date(start).pred_opt().unwrap_or(chrono::NaiveDate::MIN);
        while day <= stockholm::local_date(end) && out.len() < 48 {
            let midnight = stockholm::instant(day, 0).unwrap_or_else(|| stockholm::naive_seconds(day) - 3600);
            for hour in OPENS..24 {
                let t = if midnight_offset {
                    Some(stockholm::naive_seconds(day) + hour * 3600 - stockholm::offset(midnight))
                } else {
                    stockholm::instant(day, hour * 3600)
                };
                if let Some(t) = t.filter(|t| *t >= start && t + 3600 <= end)
                    && out.len() < 48
                {
                    out.push(t);
                }
            }
            day = day.succ_opt().unwrap_or(chrono::NaiveDate::MAX);
        }
        out
    }

    fn answer(&self, req: &pb::CheckAvailabilityRequest, midnight_offset: bool) -> pb::CheckAvailabilityResponse {
        let (start, end) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        let starts = Self::slot_starts(start, end, midnight_offset);
        let units = req
            .unit_refs
            .iter()
            .map(|r| {
                if !self.units.contains(r) {
                    return pb::UnitAvailability {
                        unit_ref: r.clone(),
                        status: pb::UnitStatus::UnknownUnit as i32,
                        slots: vec![],
                        message: "no such unit".into(),
                    };
                }
                let mut slots = Vec::new();
                for &t in &starts {
                    let state = if (t / 3600) % 2 == 0 { pb::SlotState::Free } else { pb::SlotState::Booked };
                    slots.push(pb::Slot {
                        start: Some(Timestamp { seconds: t, nanos: 0 }),
                        end: Some(Timestamp { seconds: t + 3600, nanos: 0 }),
                        state: state as i32,
                        prices: vec![pb::Price {
                            customer_type: pb::CustomerType::Association as i32,
                            amount_minor_per_hour: 15_000,
                            currency: "SEK".into(),
                        }],
                        booking_url: String::new(),
                    });
                }
                pb::UnitAvailability { unit_ref: r.clone(), status: pb::UnitStatus::Ok as i32, slots, message: String::new() }
            })
            .collect();
        pb::CheckAvailabilityResponse { units }
    }

    /// Serves on 127.0.0.1 (plain h2); returns the address. The server runs until the runtime ends.
    pub async fn serve(self) -> SocketAddr {
        self.serve_with(None).await
    }

    /// Serves on 127.0.0.1 over TLS with `identity` (PEM certificate chain and key), asking
    /// for client certificates signed by `client_ca` (PEM) when given.
    pub async fn serve_tls(self, identity: (String, String), client_ca: Option<String>) -> SocketAddr {
        let mut tls = tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(identity.0, identity.1));
        if let Some(ca) = client_ca {
            tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(ca));
        }
        self.serve_with(Some(tls)).await
    }

    async fn serve_with(self, tls: Option<tonic::transport::ServerTlsConfig>) -> SocketAddr {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("a local address");
        // No Nagle: small answers must not wait for delayed ACKs (a 40 ms stall otherwise).
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        // Connections to reset are closed with SO_LINGER 0 (an RST) before a byte is read.
        let me = self.clone();
        let incoming = tokio_stream::StreamExt::filter_map(incoming, move |conn| match conn {
            Ok(stream) if me.uniform() < me.faults.lock().expect("never poisoned").reset_rate => {
                let _ = stream.set_zero_linger();
                drop(stream);
                None
            }
            Ok(stream) => Some(Ok(Trickle { inner: stream, faults: me.faults.clone(), pause: None })),
            Err(e) => Some(Err(e)),
        });
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).expect("a valid TLS configuration");
        }
        tokio::spawn(async move {
            builder
                .add_service(BookingProviderServer::new(self).max_encoding_message_size(64 * 1024 * 1024))
                .serve_with_incoming(incoming)
                .await
                .expect("the fault vendor serves");
        });
        addr
    }
}

#[tonic::async_trait]
impl BookingProvider for FaultVendor {
    async fn get_capabilities(&self, _: Request<pb::GetCapabilitiesRequest>) -> Result<Response<pb::Capabilities>, Status> {
        self.calls.count(Rpc::GetCapabilities);
        let f = self.faults.lock().expect("never poisoned").clone();
        self.defect_delays(&f, Defect::SlowCapabilities, Duration::from_millis(300)).await;
        let mut operations = vec![pb::Operation::CheckAvailability as i32];
        if f.bookings {
            operations.extend(
                [
                    pb::Operation::CreateBooking,
                    pb::Operation::GetBooking,
                    pb::Operation::CancelBooking,
                    pb::Operation::ListBookings,
                    pb::Operation::MoveBooking,
                    pb::Operation::ListChanges,
                    pb::Operation::CompleteRequest,
                    pb::Operation::CreateSeries,
                ]
                .map(|o| o as i32),
            );
        }
        Ok(Response::new(pb::Capabilities {
            protocol_version: vendor_proto::PROTOCOL_VERSION.into(),
            operations,
            max_window: Some(prost_types::Duration { seconds: 14 * 86_400, nanos: 0 }),
            max_units_per_call: 100,
            slot_granularity: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
            max_requests_per_second: 0,
            implementation: "fault-vendor".into(),
            time_zone: if f.defects.contains(&Defect::WrongTimeZone) { "UTC" } else { "Europe/Stockholm" }.into(),
        }))
    }

    async fn check_availability(
        &self,
        req: Request<pb::CheckAvailabilityRequest>,
    ) -> Result<Response<pb::CheckAvailabilityResponse>, Status> {
        self.calls.count(Rpc::CheckAvailability);
        let f = self.faults.lock().expect("never poisoned").clone();
        let req = req.into_inner();
        // The limits of its capabilities, as the protocol asks (§6).
        self.defect_delays(&f, Defect::SlowAvailability, Duration::from_millis(600)).await;
        let mut req = req;
        let (a, b) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        let truncate = f.defects.contains(&Defect::TruncatesOverLimit);
        if b <= a && !f.defects.contains(&Defect::AcceptsEmptyWindow) {
            return Err(Status::invalid_argument("end must be after start"));
        }
        if b - a > 14 * 86_400 {
            if !truncate {
                return Err(Status::invalid_argument("the window is longer than max_window (14 days)"));
            }
            req.end = Some(Timestamp { seconds: a + 14 * 86_400, nanos: 0 });
        }
        if req.unit_refs.is_empty() || req.unit_refs.len() > 100 {
            if !truncate || req.unit_refs.is_empty() {
                return Err(Status::invalid_argument("1 to 100 unit references (max_units_per_call)"));
            }
            req.unit_refs.truncate(100);
        }
        if f.defects.contains(&Defect::UnknownUnitFailsCall)
            && let Some(r) = req.unit_refs.iter().find(|r| !self.units.contains(*r))
        {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_UNIT", &format!("no unit '{r}'"), &f));
        }
        let latency = self.latency(&f);
        self.injected.lock().expect("never poisoned").push((req.start.map_or(0, |t| t.seconds), latency));
        tokio::time::sleep(latency).await;
        if f.overloaded {
            return Err(Status::resource_exhausted("too many requests"));
        }
        if self.uniform() < f.hang_rate {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if self.uniform() < f.error_rate {
            return Err(Status::internal("the booking database is down"));
        }
        let mut answer = self.answer(&req, f.defects.contains(&Defect::WrongOffsetOnDstNight));
        self.contract_defects(&f, &req, &mut answer);
        if self.uniform() < f.garbage_rate {
            let (s, e) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
            if let Some(u) = answer.units.iter_mut().find(|u| u.status == pb::UnitStatus::Ok as i32) {
                let slot = |a: i64, b: i64| pb::Slot {
                    start: Some(Timestamp { seconds: a, nanos: 0 }),
                    end: Some(Timestamp { seconds: b, nanos: 0 }),
                    state: pb::SlotState::Free as i32,
                    ..Default::default()
                };
                u.slots.push(slot(s - 7200, s - 3600));
                u.slots.push(slot(e - 100, e - 200));
                u.slots.push(slot(s, e));
            }
            answer.units.push(pb::UnitAvailability {
                unit_ref: "not-asked".into(),
                status: pb::UnitStatus::Ok as i32,
                slots: vec![],
                message: String::new(),
            });
        }
        if self.uniform() < f.wrong_zone_rate {
            for u in &mut answer.units {
                for t in u.slots.iter_mut().flat_map(|s| [s.start.as_mut(), s.end.as_mut()]).flatten() {
                    t.seconds += 3600;
                }
            }
        }
        if self.uniform() < f.oversized_rate
            && let Some(u) = answer.units.first_mut()
        {
            let one = u.slots.first().cloned().unwrap_or_default();
            u.slots = vec![pb::Slot { booking_url: "x".repeat(100), ..one }; 80_000];
        }
        Ok(Response::new(answer))
    }

    async fn create_booking(&self, req: Request<pb::CreateBookingRequest>) -> Result<Response<pb::CreateBookingResponse>, Status> {
        self.calls.count(Rpc::CreateBooking);
        let f = self.faults.lock().expect("never poisoned").clone();
        if !f.bookings {
            return Err(Status::unimplemented("the fault vendor only answers availability"));
        }
        self.defect_delays(&f, Defect::SlowBooking, Duration::from_millis(2500)).await;
        self.defect_delays(&f, Defect::HangCreateBooking, Duration::from_secs(3600)).await;
        let r = req.into_inner();
        let fingerprint = prost::Message::encode_to_vec(&r);
        let mut store = self.store.lock().expect("never poisoned");
        if !f.defects.contains(&Defect::IgnoresIdempotencyKey)
            && let Some((sent, id)) = store.keys.get(&r.idempotency_key)
        {
            if *sent != fingerprint {
                return Err(refuse(tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED", "the key was used for another booking", &f));
            }
            let b = Self::shown(&f, store.bookings[id].clone());
            return Ok(Response::new(pb::CreateBookingResponse { booking: Some(b) }));
        }
        if !self.units.contains(&r.unit_ref) {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_UNIT", "no such unit", &f));
        }
        let (start, end) = (r.start.map_or(0, |t| t.seconds), r.end.map_or(0, |t| t.seconds));
        if end <= start {
            return Err(Status::invalid_argument("end must be after start"));
        }
        if !f.defects.contains(&Defect::DoubleBooking) && store.bookings.values().any(|b| overlaps(b, &r.unit_ref, start, end)) {
            let code = if f.defects.contains(&Defect::WrongErrorCode) { tonic::Code::Aborted } else { tonic::Code::FailedPrecondition };
            return Err(refuse(code, "SLOT_UNAVAILABLE", "the time is taken", &f));
        }
        store.next += 1;
        let customer = r.customer.clone().unwrap_or_default();
        let b = pb::Booking {
            booking_id: format!("fv-{}", store.next),
            unit_ref: r.unit_ref.clone(),
            start: r.start,
            end: r.end,
            status: pb::BookingStatus::Confirmed as i32,
            created_at: now(),
            updated_at: now(),
            customer_reference: if f.defects.contains(&Defect::NoCustomerReference) { String::new() } else { customer.reference },
            association_verified: customer.association_verified,
            ..Default::default()
        };
        let id = b.booking_id.clone();
        store.bookings.insert(id.clone(), b);
        store.record(&id, pb::BookingStatus::Confirmed, &r.message, "", true);
        store.keys.insert(r.idempotency_key, (fingerprint, id.clone()));
        let mut answer = Self::shown(&f, store.bookings[&id].clone());
        if f.defects.contains(&Defect::CreatesPending) {
            answer.status = pb::BookingStatus::Pending as i32;
        }
        Ok(Response::new(pb::CreateBookingResponse { booking: Some(answer) }))
    }

    async fn get_booking(&self, req: Request<pb::GetBookingRequest>) -> Result<Response<pb::GetBookingResponse>, Status> {
        let f = self.booking_call(Rpc::GetBooking).await?;
        let id = req.into_inner().booking_id;
        let found = self.store.lock().expect("never poisoned").bookings.get(&id).cloned().map(|b| Self::shown(&f, b));
        match found {
            Some(mut b) => {
                if f.defects.contains(&Defect::GetWrongStatus) {
                    b.status = pb::BookingStatus::NeedsCompletion as i32;
                }
                Ok(Response::new(pb::GetBookingResponse { booking: Some(b) }))
            }
            None if f.defects.contains(&Defect::UnknownBookingFound) => {
                Ok(Response::new(pb::GetBookingResponse { booking: Some(pb::Booking::default()) }))
            }
            None => Err(refuse(tonic::Code::NotFound, "UNKNOWN_BOOKING", "no such booking", &f)),
        }
    }

    async fn cancel_booking(&self, req: Request<pb::CancelBookingRequest>) -> Result<Response<pb::CancelBookingResponse>, Status> {
        let f = self.booking_call(Rpc::CancelBooking).await?;
        let r = req.into_inner();
        let mut store = self.store.lock().expect("never poisoned");
        let Some(b) = store.bookings.get_mut(&r.booking_id) else {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_BOOKING", "no such booking", &f));
        };
        if b.status == pb::BookingStatus::Cancelled as i32 {
            if f.defects.contains(&Defect::SecondCancelFails) {
                return Err(refuse(tonic::Code::FailedPrecondition, "ALREADY_CANCELLED", "the booking is cancelled", &f));
            }
            return Ok(Response::new(pb::CancelBookingResponse { booking: Some(Self::shown(&f, b.clone())) }));
        }
        b.status = pb::BookingStatus::Cancelled as i32;
        b.status_message = r.reason.clone();
        b.updated_at = now();
        store.record(&r.booking_id, pb::BookingStatus::Cancelled, &r.reason, "", true);
        let mut answer = Self::shown(&f, store.bookings[&r.booking_id].clone());
        if f.defects.contains(&Defect::CancelAnswersConfirmed) {
            answer.status = pb::BookingStatus::Confirmed as i32;
        }
        Ok(Response::new(pb::CancelBookingResponse { booking: Some(answer) }))
    }

    async fn list_bookings(&self, req: Request<pb::ListBookingsRequest>) -> Result<Response<pb::ListBookingsResponse>, Status> {
        let f = self.booking_call(Rpc::ListBookings).await?;
        let latency = self.latency(&f);
        self.listed.lock().expect("never poisoned").push(latency);
        tokio::time::sleep(latency).await;
        let r = req.into_inner();
        let (start, end) = (r.start.map_or(0, |t| t.seconds), r.end.map_or(0, |t| t.seconds));
        if r.customer_references.is_empty() && f.defects.contains(&Defect::ListAcceptsNoReferences) {
            return Ok(Response::new(pb::ListBookingsResponse::default()));
        }
        if r.customer_references.is_empty() || r.customer_references.len() > 20 {
            return Err(Status::invalid_argument("1 to 20 customer_references"));
        }
        if end <= start || end - start > 400 * 86_400 {
            return Err(Status::invalid_argument("end must be after start, at most 400 days later"));
        }
        let store = self.store.lock().expect("never poisoned");
        let mut all: Vec<pb::Booking> = store
            .bookings
            .values()
            .filter(|b| f.defects.contains(&Defect::ListIgnoresReference) || r.customer_references.contains(&b.customer_reference))
            .filter(|b| b.start.map_or(0, |t| t.seconds) < end && b.end.map_or(0, |t| t.seconds) > start)
            .cloned()
            .map(|mut b| {
                b.history.clear();
                b
            })
            .collect();
        all.sort_by_key(|b| (b.start.map_or(0, |t| t.seconds), b.booking_id.clone()));
        if f.defects.contains(&Defect::ListNoPaging) {
            return Ok(Response::new(pb::ListBookingsResponse { bookings: all, next_page_token: String::new() }));
        }
        let skip = match r.page_token.as_str() {
            "" => 0,
            t => t.strip_prefix("p").and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| Status::invalid_argument("unknown page_token"))?,
        };
        let size = if r.page_size <= 0 { 100 } else { r.page_size.min(500) as usize };
        let page: Vec<pb::Booking> = all.iter().skip(skip).take(size).cloned().collect();
        let next = if skip + size < all.len() { format!("p{}", skip + size) } else { String::new() };
        Ok(Response::new(pb::ListBookingsResponse { bookings: page, next_page_token: next }))
    }

    async fn move_booking(&self, req: Request<pb::MoveBookingRequest>) -> Result<Response<pb::MoveBookingResponse>, Status> {
        let f = self.booking_call(Rpc::MoveBooking).await?;
        let r = req.into_inner();
        let fingerprint = prost::Message::encode_to_vec(&r);
        let key = format!("move:{}", r.idempotency_key);
        let mut store = self.store.lock().expect("never poisoned");
        if !f.defects.contains(&Defect::MoveIgnoresKey)
            && let Some((sent, id)) = store.keys.get(&key)
        {
            if *sent != fingerprint {
                return Err(refuse(tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED", "the key was used for another move", &f));
            }
            let b = Self::shown(&f, store.bookings[id].clone());
            return Ok(Response::new(pb::MoveBookingResponse { booking: Some(b) }));
        }
        let Some(old) = store.bookings.get(&r.booking_id).cloned() else {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_BOOKING", "no such booking", &f));
        };
        if old.status != pb::BookingStatus::Confirmed as i32 && old.status != pb::BookingStatus::Pending as i32 {
            return Err(refuse(tonic::Code::FailedPrecondition, "ILLEGAL_TRANSITION", "only confirmed or pending bookings move", &f));
        }
        let unit = if r.unit_ref.is_empty() { old.unit_ref.clone() } else { r.unit_ref.clone() };
        if !self.units.contains(&unit) {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_UNIT", "no such unit", &f));
        }
        let (start, end) = (r.start.map_or(0, |t| t.seconds), r.end.map_or(0, |t| t.seconds));
        if end <= start {
            return Err(Status::invalid_argument("end must be after start"));
        }
        if store.bookings.values().any(|b| b.booking_id != old.booking_id && overlaps(b, &unit, start, end)) {
            if f.defects.contains(&Defect::MoveNotAtomic)
                && let Some(b) = store.bookings.get_mut(&old.booking_id)
            {
                b.status = pb::BookingStatus::Cancelled as i32;
                store.record(&old.booking_id, pb::BookingStatus::Cancelled, "", "", true);
            }
            return Err(refuse(tonic::Code::FailedPrecondition, "SLOT_UNAVAILABLE", "the new time is taken", &f));
        }
        let note = format!("moved from {} {}–{}", old.unit_ref, old.start.map_or(0, |t| t.seconds), old.end.map_or(0, |t| t.seconds));
        let status = pb::BookingStatus::try_from(old.status).unwrap_or(pb::BookingStatus::Confirmed);
        if let Some(b) = store.bookings.get_mut(&old.booking_id) {
            b.unit_ref = unit;
            b.start = r.start;
            b.end = r.end;
            b.updated_at = now();
        }
        store.record(&old.booking_id, status, "", &note, !f.defects.contains(&Defect::FeedSkipsMoves));
        store.keys.insert(key, (fingerprint, old.booking_id.clone()));
        let b = Self::shown(&f, store.bookings[&old.booking_id].clone());
        Ok(Response::new(pb::MoveBookingResponse { booking: Some(b) }))
    }

    async fn complete_request(&self, req: Request<pb::CompleteRequestRequest>) -> Result<Response<pb::CompleteRequestResponse>, Status> {
        let f = self.booking_call(Rpc::CompleteRequest).await?;
        let r = req.into_inner();
        let mut store = self.store.lock().expect("never poisoned");
        let Some(b) = store.bookings.get_mut(&r.booking_id) else {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_BOOKING", "no such booking", &f));
        };
        if b.status != pb::BookingStatus::NeedsCompletion as i32 && !f.defects.contains(&Defect::CompletesAnyStatus) {
            return Err(refuse(tonic::Code::FailedPrecondition, "ILLEGAL_TRANSITION", "only a request sent back is completed", &f));
        }
        b.status = pb::BookingStatus::Pending as i32;
        b.updated_at = now();
        store.record(&r.booking_id, pb::BookingStatus::Pending, &r.message, "", true);
        let b = Self::shown(&f, store.bookings[&r.booking_id].clone());
        Ok(Response::new(pb::CompleteRequestResponse { booking: Some(b) }))
    }

    async fn list_changes(&self, req: Request<pb::ListChangesRequest>) -> Result<Response<pb::ListChangesResponse>, Status> {
        let f = self.booking_call(Rpc::ListChanges).await?;
        let r = req.into_inner();
        let store = self.store.lock().expect("never poisoned");
        let after = match r.cursor.as_str() {
            "" => 0,
            c => c.strip_prefix("c").and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| Status::invalid_argument("unknown cursor"))?,
        };
        if r.latest {
            return Ok(Response::new(pb::ListChangesResponse { changes: vec![], next_cursor: format!("c{}", store.changes.len()) }));
        }
        let size = if r.page_size <= 0 { 100 } else { r.page_size.min(1000) as usize };
        let changes: Vec<pb::BookingChange> = store
            .changes
            .iter()
            .skip(after)
            .take(size)
            .map(|(id, c)| pb::BookingChange {
                booking: store.bookings.get(id).cloned().map(|mut b| {
                    b.history.clear();
                    b
                }),
                status: c.status,
                message: c.message.clone(),
                at: c.at,
                actor: c.actor.clone(),
            })
            .collect();
        let next = if f.defects.contains(&Defect::FeedCursorStuck) {
            if r.cursor.is_empty() { "c0".to_string() } else { r.cursor.clone() }
        } else {
            format!("c{}", after + changes.len())
        };
        Ok(Response::new(pb::ListChangesResponse { changes, next_cursor: next }))
    }

    async fn create_series(&self, req: Request<pb::CreateSeriesRequest>) -> Result<Response<pb::CreateSeriesResponse>, Status> {
        use crate::conformance::stockholm;
        let f = self.booking_call(Rpc::CreateSeries).await?;
        let has = |d: Defect| f.defects.contains(&d);
        let r = req.into_inner();
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| s.len() == 10);
        // Seconds after local midnight of "HH:MM".
        let clock = |s: &str| {
            chrono::NaiveTime::parse_from_str(s, "%H:%M")
                .ok()
                .filter(|_| s.len() == 5)
                .map(|t| i64::from(chrono::Timelike::num_seconds_from_midnight(&t)))
        };
        let mut bad: Vec<(&str, &str)> = Vec::new();
        if r.idempotency_key.is_empty() || r.idempotency_key.chars().count() > 100 {
            bad.push(("idempotency_key", "1 to 100 characters"));
        }
        let (first, last) = (date(&r.first_date), date(&r.last_date));
        let (from, to) = (clock(&r.start_time), clock(&r.end_time));
        for (field, ok) in
            [("first_date", first.is_some()), ("last_date", last.is_some()), ("start_time", from.is_some()), ("end_time", to.is_some())]
        {
            if !ok {
                bad.push((field, "malformed: YYYY-MM-DD, HH:MM"));
            }
        }
        if let (Some(a), Some(b)) = (first, last)
            && (b < a || b - a > chrono::Duration::weeks(53))
        {
            bad.push(("last_date", "on or after first_date, at most 53 weeks later"));
        }
        if let (Some(a), Some(b)) = (from, to)
            && b <= a
        {
            bad.push(("end_time", "after start_time"));
        }
        let excluded: Vec<chrono::NaiveDate> = r.excluded_dates.iter().filter_map(|d| date(d)).collect();
        if excluded.len() != r.excluded_dates.len() {
            bad.push(("excluded_dates", "malformed: YYYY-MM-DD"));
        }
        let (Some(first), Some(last), Some(from), Some(to), true) = (first, last, from, to, bad.is_empty()) else {
            if has(Defect::SeriesAcceptsInvalid) {
                return Ok(Response::new(pb::CreateSeriesResponse::default()));
            }
            let mut details = tonic_types::ErrorDetails::new();
            details.set_bad_request(bad.iter().map(|(f, m)| tonic_types::FieldViolation::new(*f, *m)).collect::<Vec<_>>());
            return Err(<Status as tonic_types::StatusExt>::with_error_details(tonic::Code::InvalidArgument, "invalid series", details));
        };
        if !self.units.contains(&r.unit_ref) {
            return Err(refuse(tonic::Code::NotFound, "UNKNOWN_UNIT", "no such unit", &f));
        }
        let fingerprint = prost::Message::encode_to_vec(&r);
        let mut store = self.store.lock().expect("never poisoned");
        if !has(Defect::SeriesIgnoresKey)
            && let Some((sent, answer)) = store.series.get(&r.idempotency_key)
        {
            if *sent != fingerprint {
                return Err(refuse(tonic::Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED", "the key was used for another series", &f));
            }
            return Ok(Response::new(answer.clone()));
        }
        // Local times with Stockholm's rules (§18): the later of the autumn night's repeated
        // hour; in the spring night's missing hour, the hour after.
        let at = |d: chrono::NaiveDate, t: i64| {
            let wall = stockholm::naive_seconds(d) + t;
            [3600, 7200].into_iter().map(|o| wall - o).find(|&x| stockholm::offset(x) == wall - x).unwrap_or(wall - 3600)
        };
        let mut occurrences = Vec::new();
        let mut day = first;
        while day <= last {
            let (a, b) = (at(day, from), at(day, to));
            let mut o = pb::SeriesOccurrence {
                date: day.format("%Y-%m-%d").to_string(),
                start: Some(Timestamp { seconds: a, nanos: 0 }),
                end: Some(Timestamp { seconds: b, nanos: 0 }),
                outcome: pb::OccurrenceOutcome::Created as i32,
                ..Default::default()
            };
            if excluded.contains(&day) && !has(Defect::SeriesIgnoresExcluded) {
                o.outcome = pb::OccurrenceOutcome::Excluded as i32;
            } else if let Some(held) = store.bookings.values().find(|x| overlaps(x, &r.unit_ref, a, b)) {
                o.outcome = pb::OccurrenceOutcome::Conflict as i32;
                o.reason = format!("taken by booking {}", held.booking_id);
            }
            occurrences.push(o);
            day += chrono::Duration::weeks(1);
        }
        let failed = occurrences.iter().any(|o| o.outcome == pb::OccurrenceOutcome::Conflict as i32);
        if failed && r.atomic && !has(Defect::SeriesNotAtomic) {
            if has(Defect::SeriesConflictAsError) {
                return Err(refuse(tonic::Code::FailedPrecondition, "SLOT_UNAVAILABLE", "a week of the series is taken", &f));
            }
            return Ok(Response::new(pb::CreateSeriesResponse { series_id: String::new(), created: false, occurrences }));
        }
        if !occurrences.iter().any(|o| o.outcome == pb::OccurrenceOutcome::Created as i32) {
            return Ok(Response::new(pb::CreateSeriesResponse { series_id: String::new(), created: false, occurrences }));
        }
        store.next += 1;
        let series_id = format!("fs-{}", store.next);
        let customer = r.customer.clone().unwrap_or_default();
        for o in occurrences.iter_mut().filter(|o| o.outcome == pb::OccurrenceOutcome::Created as i32) {
            store.next += 1;
            o.booking_id = format!("fv-{}", store.next);
            if has(Defect::SeriesNotBooked) {
                continue;
            }
            let b = pb::Booking {
                booking_id: o.booking_id.clone(),
                unit_ref: r.unit_ref.clone(),
                start: o.start,
                end: o.end,
                status: pb::BookingStatus::Confirmed as i32,
                created_at: now(),
                updated_at: now(),
                customer_reference: if has(Defect::NoCustomerReference) { String::new() } else { customer.reference.clone() },
                association_verified: customer.association_verified,
                series_id: series_id.clone(),
                ..Default::default()
            };
            store.bookings.insert(b.booking_id.clone(), b);
            store.record(&o.booking_id, pb::BookingStatus::Confirmed, &r.message, "", true);
        }
        let answer = pb::CreateSeriesResponse { series_id, created: true, occurrences };
        store.series.insert(r.idempotency_key.clone(), (fingerprint, answer.clone()));
        Ok(Response::new(answer))
    }

    async fn health(&self, _: Request<pb::HealthRequest>) -> Result<Response<pb::HealthResponse>, Status> {
        self.calls.count(Rpc::Health);
        let f = self.faults.lock().expect("never poisoned").clone();
        self.defect_delays(&f, Defect::Hang, Duration::ZERO).await;
        if f.defects.contains(&Defect::NotServing) {
            return Ok(Response::new(pb::HealthResponse { status: pb::ServingStatus::NotServing as i32, message: "maintenance".into() }));
        }
        Ok(Response::new(pb::HealthResponse { status: pb::ServingStatus::Serving as i32, message: String::new() }))
    }
}

/// The same vendor called in-process, without a network in between (the benchmark's
/// in-process mode): the engine's own cost, apart from gRPC's.
impl crate::engine::VendorApi for FaultVendor {
    fn check_availability(
        &self,
        req: pb::CheckAvailabilityRequest,
        _timeout: Duration,
    ) -> crate::engine::BoxFuture<Result<pb::CheckAvailabilityResponse, Status>> {
        let me = self.clone();
        Box::pin(async move { BookingProvider::check_availability(&me, Request::new(req)).await.map(Response::into_inner) })
    }
}

/// A connection that writes slowly when `slow_write` is set (checked on every write, so it can
/// be switched on and off between calls).
struct Trickle {
    inner: tokio::net::TcpStream,
    faults: Arc<Mutex<Faults>>,
    pause: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Trickle {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::future::Future;
        let me = &mut *self;
        let Some(pause) = me.faults.lock().expect("never poisoned").slow_write else {
            return std::pin::Pin::new(&mut me.inner).poll_write(cx, buf);
        };
        if let Some(sleep) = me.pause.as_mut() {
            std::task::ready!(sleep.as_mut().poll(cx));
            me.pause = None;
        }
        let n = buf.len().min(16);
        let written = std::task::ready!(std::pin::Pin::new(&mut me.inner).poll_write(cx, &buf[..n]));
        me.pause = Some(Box::pin(tokio::time::sleep(pause)));
        std::task::Poll::Ready(written)
    }

    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Trickle {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}
