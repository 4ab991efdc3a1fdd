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
        }
    }
}

/// The misbehaving vendor: its faults (changeable) and its call counter.
#[derive(Clone)]
pub struct FaultVendor {
    /// Current behaviour.
    pub faults: Arc<Mutex<Faults>>,
    /// CheckAvailability calls received.
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
    rng: Arc<Mutex<u64>>,
    /// Units this vendor knows (others are UNKNOWN_UNIT).
    pub units: Arc<Vec<String>>,
    /// The latency injected into each CheckAvailability call, with the call's window start
    /// (seconds), for benchmarks that compare with the ideal.
    pub injected: Arc<Mutex<Vec<(i64, Duration)>>>,
}

impl FaultVendor {
    /// A vendor knowing `units`, behaving as `faults`, with a random seed.
    pub fn new(units: Vec<String>, faults: Faults, seed: u64) -> FaultVendor {
        FaultVendor {
            faults: Arc::new(Mutex::new(faults)),
            calls: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            rng: Arc::new(Mutex::new(seed ^ 0x9e37_79b9_7f4a_7c15)),
            units: Arc::new(units),
            injected: Arc::new(Mutex::new(Vec::new())),
        }
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

    /// The answer of a well-behaved vendor: per known unit, hour slots across the window,
    /// free and booked in turn.
    pub fn honest_answer(&self, req: &pb::CheckAvailabilityRequest) -> pb::CheckAvailabilityResponse {
        let (start, end) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        let first = start.div_euclid(3600) * 3600 + if start.rem_euclid(3600) == 0 { 0 } else { 3600 };
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
                let mut t = first;
                while t + 3600 <= end && slots.len() < 48 {
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
                    t += 3600;
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
        Ok(Response::new(pb::Capabilities {
            protocol_version: vendor_proto::PROTOCOL_VERSION.into(),
            operations: vec![pb::Operation::CheckAvailability as i32],
            max_window: Some(prost_types::Duration { seconds: 14 * 86_400, nanos: 0 }),
            max_units_per_call: 100,
            slot_granularity: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
            max_requests_per_second: 0,
            implementation: "fault-vendor".into(),
            time_zone: "Europe/Stockholm".into(),
        }))
    }

    async fn check_availability(
        &self,
        req: Request<pb::CheckAvailabilityRequest>,
    ) -> Result<Response<pb::CheckAvailabilityResponse>, Status> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let f = self.faults.lock().expect("never poisoned").clone();
        let req = req.into_inner();
        // The limits of its capabilities, as the protocol asks (§6).
        let (a, b) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        if b <= a {
            return Err(Status::invalid_argument("end must be after start"));
        }
        if b - a > 14 * 86_400 {
            return Err(Status::invalid_argument("the window is longer than max_window (14 days)"));
        }
        if req.unit_refs.is_empty() || req.unit_refs.len() > 100 {
            return Err(Status::invalid_argument("1 to 100 unit references (max_units_per_call)"));
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
        let mut answer = self.honest_answer(&req);
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

    async fn create_booking(&self, _: Request<pb::CreateBookingRequest>) -> Result<Response<pb::CreateBookingResponse>, Status> {
        Err(Status::unimplemented("the fault vendor only answers availability"))
    }

    async fn get_booking(&self, _: Request<pb::GetBookingRequest>) -> Result<Response<pb::GetBookingResponse>, Status> {
        Err(Status::unimplemented("the fault vendor only answers availability"))
    }

    async fn cancel_booking(&self, _: Request<pb::CancelBookingRequest>) -> Result<Response<pb::CancelBookingResponse>, Status> {
        Err(Status::unimplemented("the fault vendor only answers availability"))
    }

    async fn health(&self, _: Request<pb::HealthRequest>) -> Result<Response<pb::HealthResponse>, Status> {
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
