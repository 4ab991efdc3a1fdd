//! The reference booking backend's benchmark: direct bookings per second on units that do not
//! conflict, with their latency, and availability for 50 units × 14 days, all through
//! vendor.v1 gRPC on loopback against its own database; then the same bookings through the
//! federation engine, against the direct ones in the same run, with the engine's per-vendor
//! counts checked against the bookings it made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use federation::grpc::{Connection, GrpcVendor};
use federation::{Federation, Operation, Policy};
use hdrhistogram::Histogram;
use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::model::{Rules, Unit};
use reference_booking::{Backend, server};
use vendor_proto::v1 as pb;
use vendor_proto::v1::booking_provider_client::BookingProviderClient;

/// Arguments of `registry-bench booking`.
#[derive(Debug, Clone, clap::Args)]
pub struct BookingArgs {
    /// Admin URL of a PostgreSQL server; a database of its own is created on it.
    #[arg(long, env = "TEST_DATABASE_URL")]
    pub database_url: String,
    /// Units (each client books its own: one directly, another through the engine).
    #[arg(long, default_value_t = 64)]
    pub units: usize,
    /// Concurrent clients booking.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Bookings per client.
    #[arg(long, default_value_t = 400)]
    pub bookings_per_client: usize,
    /// Availability queries (50 units × 14 days each).
    #[arg(long, default_value_t = 200)]
    pub availability_queries: usize,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn ts(t: chrono::DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

/// Runs the benchmark and prints its figures.
pub async fn run(a: &BookingArgs) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let name = format!("booking_bench_{}", uuid::Uuid::now_v7().simple());
    registry_core::db::ensure_database(&a.database_url, &name, None).await.context("creating the benchmark database")?;
    let url = registry_core::db::with_database(&a.database_url, &name);
    reference_booking::db::migrate(&url).await?;
    let pool = registry_core::db::pool(&url, 32)?;
    let backend = Backend::new(pool, Arc::new(Hours::new(None, Duration::from_secs(3600))));
    // Open 06–23 every day; 30-minute slots; bookable up to a year ahead.
    let hours = registry_core::hours::osm::parse("Mo-Su 06:00-23:00").map_err(|e| anyhow::anyhow!("{e}"))?;
    let rules = Rules { slot_minutes: 30, min_minutes: 30, max_minutes: 240, lead_minutes: 0, horizon_days: 400, ..Rules::default() };
    let mut refs = Vec::new();
    for i in 0..a.units.max(2 * a.clients).max(50) {
        let u = Unit {
            id: uuid::Uuid::now_v7(),
            external_ref: format!("unit-{i:04}"),
            registry_facility_id: uuid::Uuid::now_v7(),
            registry_unit_id: uuid::Uuid::now_v7(),
            name: format!("Hall {i}"),
            rules: rules.clone(),
            municipality_code: None,
            version: 1,
        };
        let u = backend.save_unit(&u).await?;
        backend.hours().set(u.id, hours.clone());
        refs.push(u.external_ref);
    }
    let app = server::app(backend.clone(), BookingGrpc::new(backend.clone(), ApiKeys::default(), None).allow_anonymous(), "").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    println!(
        "reference-booking on {endpoint}: {} units, PostgreSQL database {name}; {} clients × {} direct bookings of 30 min, each client on its own unit, directly and then through the federation engine",
        refs.len(),
        a.clients,
        a.bookings_per_client
    );

    // Direct bookings: every client books the next free half hour of its own unit, day after day.
    let first_day = Utc::now().with_timezone(&Stockholm).date_naive() + chrono::Duration::days(1);
    let mut clients = Vec::new();
    for unit in refs.iter().take(a.clients) {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())?.connect().await?;
        clients.push((unit.clone(), Booker::Direct(BookingProviderClient::new(channel))));
    }
    let direct = book(clients, a.bookings_per_client, first_day, "direct").await?;
    direct.print("direct bookings");

    // Availability of 50 units over 14 days, with the bookings above in place.
    let mut client = BookingProviderClient::new(tonic::transport::Endpoint::from_shared(endpoint.clone())?.connect().await?);
    let from =
        Stockholm.from_local_datetime(&first_day.and_hms_opt(0, 0, 0).expect("midnight")).earliest().expect("a time").with_timezone(&Utc);
    let mut h = Histogram::<u64>::new(3)?;
    let mut slots = 0usize;
    for q in 0..a.availability_queries {
        let units: Vec<String> = (0..50).map(|k| refs[(q + k) % refs.len()].clone()).collect();
        let req = pb::CheckAvailabilityRequest {
            unit_refs: units,
            start: ts(from),
            end: ts(from + chrono::Duration::days(14)),
            ..Default::default()
        };
        let t = Instant::now();
        let resp = client.check_availability(req).await?.into_inner();
        h.record(t.elapsed().as_micros() as u64)?;
        slots = resp.units.iter().map(|u| u.slots.len()).sum();
    }
    println!(
        "availability, 50 units × 14 days ({slots} slots per answer): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} queries",
        ms(&h, 0.5),
        ms(&h, 0.99),
        h.max() as f64 / 1000.0,
        a.availability_queries
    );

    // The same bookings through the federation engine (as the registry books: one vendor.v1
    // client per vendor, under the engine's deadline, breaker, rate and concurrency limits,
    // counted per vendor), on the units the direct phase left free and at the same times, so
    // that both phases do equal work. Run after availability so that it sees the same bookings
    // as before. The limits are set out of reach: this measures the engine's cost, not a throttle.
    let vendor_id = "reference-booking";
    let fed = Federation::new();
    let client = GrpcVendor::connect_lazy(&Connection { endpoint: endpoint.clone(), ..Default::default() })?;
    fed.add_vendor(
        vendor_id,
        Arc::new(client),
        Policy {
            max_concurrency: a.clients * 2,
            requests_per_second: 100_000,
            breaker_threshold: 1000,
            cache_ttl: Duration::ZERO,
            ..Policy::default()
        },
    );
    let clients =
        refs.iter().skip(a.clients).take(a.clients).map(|u| (u.clone(), Booker::Engine(fed.clone(), vendor_id))).collect::<Vec<_>>();
    if clients.len() < a.clients {
        bail!("{} units leave no fresh unit for each of {} clients in the engine phase", refs.len(), a.clients);
    }
    let engine = book(clients, a.bookings_per_client, first_day, "engine").await?;
    engine.print("bookings through the engine");
    println!(
        "engine / direct: {:.2}x bookings/s, p50 {:.2}x, p99 {:.2}x",
        engine.per_second() / direct.per_second(),
        engine.ms(0.5) / direct.ms(0.5),
        engine.ms(0.99) / direct.ms(0.99)
    );

    // The engine's per-vendor counts must hold exactly the bookings it made.
    let statuses = ["ok", "timeout", "error", "unavailable", "rate_limited", "skipped"];
    let mut counted = 0;
    let mut shown = Vec::new();
    for op in [Operation::CreateBooking, Operation::GetBooking, Operation::CancelBooking, Operation::CheckAvailability] {
        for status in statuses {
            let n = fed.calls(vendor_id, op, status);
            if n > 0 {
                shown.push(format!("{}/{status} {n}", op.name()));
            }
            if op == Operation::CreateBooking {
                counted += n;
            }
        }
    }
    println!("engine calls() for vendor {vendor_id}: {}", if shown.is_empty() { "none".to_string() } else { shown.join(", ") });
    let made = engine.hist.len();
    let ok = fed.calls(vendor_id, Operation::CreateBooking, "ok");
    if counted != made || ok != made - engine.failed as u64 {
        bail!("the engine counted {counted} create_booking calls ({ok} ok) but made {made} ({} ok)", made - engine.failed as u64);
    }
    Ok(())
}

/// How one client books: its own vendor.v1 connection, or through the engine.
enum Booker {
    Direct(BookingProviderClient<tonic::transport::Channel>),
    Engine(Arc<Federation>, &'static str),
}

impl Booker {
    async fn create(&mut self, req: pb::CreateBookingRequest) -> bool {
        match self {
            Booker::Direct(client) => client.create_booking(req).await.is_ok(),
            Booker::Engine(fed, vendor) => fed.create_booking(vendor, req, ENGINE_DEADLINE).await.is_ok(),
        }
    }
}

/// The engine's deadline per booking: generous, so that only a vendor that hangs would reach it.
const ENGINE_DEADLINE: Duration = Duration::from_secs(30);

/// One booking phase's figures.
struct Phase {
    hist: Histogram<u64>,
    failed: usize,
    secs: f64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.hist.len() as f64 / self.secs
    }

    fn ms(&self, q: f64) -> f64 {
        ms(&self.hist, q)
    }

    fn print(&self, label: &str) {
        println!(
            "{label}: {} in {:.1} s = {:.0} bookings/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed",
            self.hist.len(),
            self.secs,
            self.per_second(),
            self.ms(0.5),
            self.ms(0.99),
            self.hist.max() as f64 / 1000.0,
            self.failed
        );
    }
}

/// Every client books the next free half hour of its own unit, day after day, `n` times.
async fn book(clients: Vec<(String, Booker)>, n: usize, first_day: chrono::NaiveDate, key: &'static str) -> Result<Phase> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (c, (unit, mut booker)) in clients.into_iter().enumerate() {
        set.spawn(async move {
            let mut h = Histogram::<u64>::new(3).expect("a histogram");
            let mut failed = 0usize;
            for i in 0..n {
                // 34 half hours a day between 06 and 23.
                let day = first_day + chrono::Duration::days((i / 34) as i64);
                let local = day.and_hms_opt(6, 0, 0).expect("a time") + chrono::Duration::minutes(30 * (i % 34) as i64);
                let start = Stockholm.from_local_datetime(&local).earliest().expect("a local time").with_timezone(&Utc);
                let req = pb::CreateBookingRequest {
                    idempotency_key: format!("bench-{key}-{c}-{i}"),
                    unit_ref: unit.clone(),
                    start: ts(start),
                    end: ts(start + chrono::Duration::minutes(30)),
                    mode: pb::BookingMode::Direct as i32,
                    customer: Some(pb::Customer {
                        r#type: pb::CustomerType::PrivatePerson as i32,
                        name: "Bench".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let t = Instant::now();
                if !booker.create(req).await {
                    failed += 1;
                }
                h.record(t.elapsed().as_micros() as u64).expect("in range");
            }
            (h, failed)
        });
    }
    let mut hist = Histogram::<u64>::new(3)?;
    let mut failed = 0;
    while let Some(r) = set.join_next().await {
        let (hh, f) = r?;
        hist.add(hh)?;
        failed += f;
    }
    Ok(Phase { hist, failed, secs: started.elapsed().as_secs_f64() })
}
