//! `registry-bench load`: the search load benchmark.
//!
//! Five realistic query shapes (nearest with an activity, text with one typo, open at a time
//! near a place, a map box, a county) are generated from the dataset itself: places are random
//! facilities (so they follow population), typos are made in real names. Each shape is driven
//!
//! - at saturation (closed loop, `--concurrency` requests in flight) over REST, over gRPC, and
//!   as the same SQL statements the core sends, straight to PostgreSQL with tokio-postgres over
//!   as many connections as the server's pool (the floor: what the database alone can do);
//! - at a fixed rate over REST and gRPC, open loop: requests are sent on schedule whether or
//!   not earlier ones have answered, and latency is measured from the intended send time, so a
//!   stalled server shows up as latency instead of as fewer requests (no coordinated omission).
//!
//! Latencies go into HDR histograms (microsecond resolution, three significant digits).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::search_service_client::SearchServiceClient;
use hdrhistogram::Histogram;
use registry_core::geo::LatLon;
use registry_core::search::{Bind, FacilitySearch, SearchOrder, SearchStatements};
use tokio::sync::Mutex;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::world::Rng;

/// The query shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The nearest 20 within 10 km that offer an activity.
    Nearest,
    /// A facility's name with one typo, best match first.
    Text,
    /// Open at a given time within 10 km, nearest first.
    OpenAt,
    /// A map box of about 6 × 6 km, by name.
    Bbox,
    /// One county, by name.
    County,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Nearest => "nearest+activity",
            Kind::Text => "text with typo",
            Kind::OpenAt => "openAt+distance",
            Kind::Bbox => "bbox",
            Kind::County => "county",
        }
    }

    /// The fixed rate of the targets (requests/s).
    fn rate(self) -> u32 {
        match self {
            Kind::Nearest => 1000,
            _ => 500,
        }
    }

    /// The p99 target at the fixed rate, in milliseconds.
    fn p99_target_ms(self) -> Option<f64> {
        match self {
            Kind::Nearest => Some(20.0),
            Kind::Text | Kind::OpenAt => Some(30.0),
            _ => None,
        }
    }
}

/// How to drive the load.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the running registry (REST and gRPC share the port).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The registry's database, for generating queries and for the SQL floor.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of warm-up before each saturation phase (not measured).
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Requests in flight at saturation.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Database connections of the SQL floor (the server's pool size, `--max-connections`).
    #[arg(long, default_value_t = 16)]
    pub sql_connections: usize,
    /// Query shapes to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Kind::Nearest, Kind::Text, Kind::OpenAt, Kind::Bbox, Kind::County])]
    pub queries: Vec<Kind>,
    /// Distinct queries generated per shape (cycled through).
    #[arg(long, default_value_t = 2000)]
    pub distinct: usize,
    /// Seed of the query generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scale the fixed rates (1.0 = the 1,000/s for nearest and 500/s for the rest).
    #[arg(long, default_value_t = 1.0)]
    pub rate_scale: f64,
}

/// One generated request in its three forms.
struct Request {
    search: FacilitySearch,
    rest: String,
    grpc: pb::SearchFacilitiesRequest,
    sql: SearchStatements,
}

/// The result of one phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Query shape.
    pub kind: Kind,
    /// `rest`, `grpc` or `sql`.
    pub protocol: &'static str,
    /// Target rate, or `None` at saturation.
    pub rate: Option<u32>,
    /// Requests answered successfully per second.
    pub throughput: f64,
    /// Answered successfully.
    pub ok: u64,
    /// Failed (non-success status, transport error).
    pub errors: u64,
    /// The first error seen.
    pub first_error: Option<String>,
    /// Latency percentiles in milliseconds: p50, p95, p99, max.
    pub ms: [f64; 4],
}

pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn rest_query(s: &FacilitySearch) -> String {
    let mut q = vec![format!("pageSize={}", s.page_size)];
    if let Some(p) = s.near {
        q.push(format!("near={},{}", p.lat, p.lon));
    }
    if let Some(r) = s.radius_m {
        q.push(format!("radiusM={r}"));
    }
    if let Some([a, b, c, d]) = s.bbox {
        q.push(format!("bbox={a},{b},{c},{d}"));
    }
    if let Some(text) = &s.q {
        q.push(format!("q={}", url_encode(text)));
    }
    if !s.activities.is_empty() {
        q.push(format!("activities={}", s.activities.join(",")));
    }
    if !s.counties.is_empty() {
        q.push(format!("counties={}", s.counties.join(",")));
    }
    if let Some(t) = s.open_at {
        q.push(format!("openAt={}", url_encode(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))));
    }
    format!("/v1/search/facilities?{}", q.join("&"))
}

fn grpc_request(s: &FacilitySearch) -> pb::SearchFacilitiesRequest {
    pb::SearchFacilitiesRequest {
        near: s.near.map(|p| pb::LatLon { lat: p.lat, lon: p.lon }),
        radius_m: s.radius_m,
        bbox: s.bbox.map(|[a, b, c, d]| pb::BoundingBox { min_lon: a, min_lat: b, max_lon: c, max_lat: d }),
        q: s.q.clone().unwrap_or_default(),
        activities: s.activities.clone(),
        counties: s.counties.clone(),
        open_at: s.open_at.map(grpc_api::convert::timestamp),
        order: match s.order {
            Some(SearchOrder::Name) => pb::SearchOrder::Name as i32,
            _ => pb::SearchOrder::Unspecified as i32,
        },
        page_size: s.page_size,
        ..Default::default()
    }
}

/// One edit in the longest word of a name (never its first letter): a letter dropped,
/// doubled, swapped with the next or replaced.
pub(crate) fn typo(r: &mut Rng, name: &str) -> String {
    for _ in 0..20 {
        let t = one_edit(r, name);
        if t != name {
            return t;
        }
    }
    name.to_string()
}

fn one_edit(r: &mut Rng, name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    let (wi, word) = words.iter().enumerate().max_by_key(|(_, w)| w.chars().count()).map(|(i, w)| (i, *w)).unwrap_or((0, name));
    let mut c: Vec<char> = word.chars().collect();
    if c.len() >= 4 {
        let i = 1 + r.below(c.len() - 2);
        match r.below(4) {
            0 => {
                c.remove(i);
            }
            1 => c.insert(i, c[i]),
            2 => c.swap(i, i + 1),
            _ => c[i] = *r.pick(&['a', 'e', 'i', 'o', 'å', 'ä', 'ö', 'n', 's', 't']),
        }
    }
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out[wi] = c.into_iter().collect();
    out.join(" ")
}

pub(crate) const ACTIVITIES: &[&str] =
    &["floorball", "football", "swimming", "padel", "gymnastics", "badminton", "meetings", "tennis", "fitness", "dance"];

/// A facility sampled from the dataset: name, latitude, longitude, municipality code.
pub(crate) type Sampled = (String, f64, f64, String);

/// Up to `n` located facilities from about 5 % of the table's pages, the same for the same seed
/// (so places follow population, and names are real).
pub(crate) async fn sample_facilities(client: &tokio_postgres::Client, seed: u64, n: usize) -> Result<Vec<Sampled>> {
    let rows = client
        .query(
            &format!(
                "SELECT name, ST_Y(location::geometry), ST_X(location::geometry), municipality_code FROM facilities \
                 TABLESAMPLE SYSTEM (5) REPEATABLE ({seed}) WHERE location IS NOT NULL AND deleted_at IS NULL LIMIT {n}"
            ),
            &[],
        )
        .await?;
    if rows.len() < 10 {
        bail!("the database has {} facilities to sample; generate a dataset first (`registry-bench gen`)", rows.len());
    }
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

/// One search of shape `kind` around (or named after) a sampled facility.
pub(crate) fn search_of(kind: Kind, r: &mut Rng, sampled: &Sampled, now: DateTime<Utc>) -> FacilitySearch {
    let (name, lat, lon, muni) = sampled;
    let near = LatLon { lat: lat + (r.f64() - 0.5) * 0.02, lon: lon + (r.f64() - 0.5) * 0.04 };
    let mut s = FacilitySearch { page_size: 20, ..Default::default() };
    match kind {
        Kind::Nearest => {
            s.near = Some(near);
            s.radius_m = Some(10_000.0);
            s.activities = vec![r.pick(ACTIVITIES).to_string()];
        }
        Kind::Text => s.q = Some(typo(r, name)),
        Kind::OpenAt => {
            s.near = Some(near);
            s.radius_m = Some(10_000.0);
            // When people go: 07:00–22:00 Swedish time (UTC+1 in winter) in the next two weeks.
            let midnight = now.date_naive().and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
            let t: DateTime<Utc> = midnight + chrono::Duration::days(r.range(0, 13)) + chrono::Duration::minutes(r.range(6 * 60, 21 * 60));
            s.open_at = Some(t.max(now));
        }
        Kind::Bbox => {
            let (dlat, dlon) = (0.027, 0.027 / lat.to_radians().cos());
            s.bbox = Some([near.lon - dlon, near.lat - dlat, near.lon + dlon, near.lat + dlat]);
        }
        Kind::County => {
            let county = registry_core::codes::municipality(muni).map(|m| m.county_code.clone()).unwrap_or_else(|| "01".into());
            s.counties = vec![county];
        }
    }
    s
}

async fn generate(a: &LoadArgs, client: &tokio_postgres::Client, registry: &registry_core::Registry) -> Result<Vec<(Kind, Vec<Request>)>> {
    let sample = sample_facilities(client, a.seed, a.distinct * 2).await?;
    let mut r = Rng::new(a.seed);
    let mut out = Vec::new();
    let now = Utc::now();
    for &kind in &a.queries {
        let mut reqs = Vec::with_capacity(a.distinct);
        for _ in 0..a.distinct {
            let sampled = &sample[r.below(sample.len())];
            let s = search_of(kind, &mut r, sampled, now);
            let sql = registry.search_statements(&s).await.with_context(|| format!("statements of {s:?}"))?;
            reqs.push(Request { rest: rest_query(&s), grpc: grpc_request(&s), sql, search: s });
        }
        out.push((kind, reqs));
    }
    Ok(out)
}

fn params(binds: &[Bind]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    binds
        .iter()
        .map(|b| -> Box<dyn ToSql + Sync + Send> {
            match b.clone() {
                Bind::Float(v) => Box::new(v),
                Bind::Int(v) => Box::new(v),
                Bind::BigInt(v) => Box::new(v),
                Bind::Text(v) => Box::new(v),
                Bind::Texts(v) => Box::new(v),
                Bind::Uuid(v) => Box::new(v),
                Bind::Time(v) => Box::new(v),
            }
        })
        .collect()
}

/// The clients of one protocol.
#[derive(Clone)]
enum Driver {
    Rest(reqwest::Client, String),
    Grpc(Vec<SearchServiceClient<tonic::transport::Channel>>),
    Sql(Arc<Vec<tokio_postgres::Client>>),
}

impl Driver {
    fn protocol(&self) -> &'static str {
        match self {
            Driver::Rest(..) => "rest",
            Driver::Grpc(..) => "grpc",
            Driver::Sql(..) => "sql",
        }
    }

    /// Sends one request; Err carries a description of the failure.
    async fn send(&self, req: &Request, lane: usize) -> std::result::Result<(), String> {
        match self {
            Driver::Rest(c, base) => {
                let resp = c.get(format!("{base}{}", req.rest)).send().await.map_err(|e| e.to_string())?;
                let status = resp.status();
                let body = resp.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)])));
                }
                Ok(())
            }
            Driver::Grpc(clients) => {
                let mut c = clients[lane % clients.len()].clone();
                c.search_facilities(req.grpc.clone()).await.map(|_| ()).map_err(|s| format!("{:?}: {}", s.code(), s.message()))
            }
            Driver::Sql(clients) => {
                let c = &clients[lane % clients.len()];
                let s = &req.sql;
                let run = |sql: &str, binds: &[Bind]| {
                    let p = params(binds);
                    let sql = sql.to_string();
                    async move {
                        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
                        c.query(&sql, &refs).await.map_err(|e| e.to_string())
                    }
                };
                if let Some(w) = &s.words {
                    run(&w.sql, &w.binds).await?;
                }
                let rows = run(&s.search.sql, &s.search.binds).await?;
                let ids: Vec<Uuid> = rows.iter().take(req.search.page_size as usize).map(|r| r.get(0)).collect();
                if !ids.is_empty() {
                    // Pipelined, as the core sends them.
                    let p: [&(dyn ToSql + Sync); 1] = [&ids];
                    let (a, b) = tokio::join!(c.query(s.load[0].as_str(), &p), c.query(s.load[1].as_str(), &p));
                    a.map_err(|e| e.to_string())?;
                    b.map_err(|e| e.to_string())?;
                }
                Ok(())
            }
        }
    }
}

struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Tally { hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"), ok: 0, errors: 0, first_error: None }
    }

    fn record(&mut self, latency: Duration, result: std::result::Result<(), String>) {
        let _ = self.hist.record((latency.as_micros() as u64).clamp(1, 120_000_000));
        match result {
            Ok(()) => self.ok += 1,
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn phase(&self, kind: Kind, protocol: &'static str, rate: Option<u32>, seconds: f64) -> Phase {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        Phase {
            kind,
            protocol,
            rate,
            throughput: self.ok as f64 / seconds,
            ok: self.ok,
            errors: self.errors,
            first_error: self.first_error.clone(),
            ms: [ms(0.5), ms(0.95), ms(0.99), self.hist.max() as f64 / 1000.0],
        }
    }
}

/// Closed loop: `concurrency` workers send as fast as answers come.
async fn saturate(driver: &Driver, reqs: &Arc<Vec<Request>>, concurrency: usize, seconds: u64) -> (Tally, f64) {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::new()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for lane in 0..concurrency {
        let (driver, reqs, next, tally) = (driver.clone(), reqs.clone(), next.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Tally::new();
            while Instant::now() < until {
                let i = next.fetch_add(1, Ordering::Relaxed) % reqs.len();
                let t = Instant::now();
                let result = driver.send(&reqs[i], lane).await;
                local.record(t.elapsed(), result);
            }
            let mut all = tally.lock().await;
            let _ = all.hist.add(&local.hist);
            all.ok += local.ok;
            all.errors += local.errors;
            if all.first_error.is_none() {
                all.first_error = local.first_error;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tally = Arc::try_unwrap(tally).ok().expect("every worker finished").into_inner();
    (tally, elapsed)
}

/// Open loop: one request every 1/rate seconds on schedule; latency from the intended time.
async fn fixed_rate(driver: &Driver, reqs: &Arc<Vec<Request>>, rate: u32, seconds: u64, max_in_flight: usize) -> (Tally, f64) {
    let tally = Arc::new(std::sync::Mutex::new(Tally::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let intended = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(intended).await;
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            // Counted as failed with its full lateness; never silently skipped.
            tally.lock().expect("not poisoned").record(intended.elapsed(), Err(format!("more than {max_in_flight} requests in flight")));
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (driver, reqs, tally, in_flight) = (driver.clone(), reqs.clone(), tally.clone(), in_flight.clone());
        tasks.push(tokio::spawn(async move {
            let result = driver.send(&reqs[i as usize % reqs.len()], i as usize).await;
            tally.lock().expect("not poisoned").record(intended.elapsed(), result);
            in_flight.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tally = Arc::try_unwrap(tally).ok().expect("every request finished").into_inner().expect("not poisoned");
    (tally, elapsed)
}

/// Runs the benchmark and prints its table; returns every phase.
pub async fn run(a: &LoadArgs) -> Result<Vec<Phase>> {
    // reqwest is built without a default TLS provider (the workspace chooses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (client, conn) = tokio_postgres::connect(&a.database_url, NoTls).await.context("connecting to the database")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let registry = registry_core::Registry::connect(&a.database_url, 4)?;
    let facilities: i64 = client.query_one("SELECT count(*) FROM facilities WHERE deleted_at IS NULL", &[]).await?.get(0);
    eprintln!("dataset: {facilities} facilities; generating {} queries per shape", a.distinct);
    let sets = generate(a, &client, &registry).await?;

    let rest = Driver::Rest(
        reqwest::Client::builder().pool_max_idle_per_host(a.concurrency * 4).build()?,
        a.url.trim_end_matches('/').to_string(),
    );
    let mut grpc = Vec::new();
    for _ in 0..4 {
        let ch = tonic::transport::Endpoint::from_shared(a.url.clone())?.connect().await.context("connecting over gRPC")?;
        grpc.push(SearchServiceClient::new(ch));
    }
    let grpc = Driver::Grpc(grpc);
    let mut sql = Vec::new();
    for _ in 0..a.sql_connections {
        let (c, conn) = tokio_postgres::connect(&a.database_url, NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        c.batch_execute(registry_core::db::SESSION_SETTINGS).await?;
        sql.push(c);
    }
    let sql = Driver::Sql(Arc::new(sql));

    // Every form answers before anything is timed.
    for (_, reqs) in &sets {
        for d in [&rest, &grpc, &sql] {
            if let Err(e) = d.send(&reqs[0], 0).await {
                bail!("{} does not answer {:?}: {e}", d.protocol(), reqs[0].search);
            }
        }
    }

    let mut phases = Vec::new();
    println!(
        "{:<17} {:<5} {:>11} {:>10} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "query", "proto", "load", "req/s", "ok", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (kind, reqs) in sets {
        let reqs = Arc::new(reqs);
        for d in [&rest, &grpc, &sql] {
            saturate(d, &reqs, a.concurrency, a.warmup).await;
            let (t, secs) = saturate(d, &reqs, a.concurrency, a.duration).await;
            let p = t.phase(kind, d.protocol(), None, secs);
            print_phase(&p);
            phases.push(p);
        }
        let rate = ((f64::from(kind.rate()) * a.rate_scale).round() as u32).max(1);
        for d in [&rest, &grpc] {
            let (t, secs) = fixed_rate(d, &reqs, rate, a.duration, 4096).await;
            let p = t.phase(kind, d.protocol(), Some(rate), secs);
            print_phase(&p);
            phases.push(p);
        }
    }
    summary(&phases, a.rate_scale);
    Ok(phases)
}

fn print_phase(p: &Phase) {
    let load = p.rate.map_or_else(|| "saturation".to_string(), |r| format!("{r}/s"));
    println!(
        "{:<17} {:<5} {:>11} {:>10.0} {:>8} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.1}",
        p.kind.name(),
        p.protocol,
        load,
        p.throughput,
        p.ok,
        p.errors,
        p.ms[0],
        p.ms[1],
        p.ms[2],
        p.ms[3]
    );
    if let Some(e) = &p.first_error {
        println!("    first error: {e}");
    }
}

fn summary(phases: &[Phase], rate_scale: f64) {
    let sat = |k: Kind, proto: &str| phases.iter().find(|p| p.kind == k && p.protocol == proto && p.rate.is_none());
    println!();
    println!("API throughput against the SQL floor (saturation, same concurrency):");
    for k in [Kind::Nearest, Kind::Text, Kind::OpenAt, Kind::Bbox, Kind::County] {
        if let (Some(rest), Some(grpc), Some(sql)) = (sat(k, "rest"), sat(k, "grpc"), sat(k, "sql")) {
            println!(
                "  {:<17} REST {:>6.0}/s = {:>3.0}% of SQL {:>6.0}/s; gRPC {:>6.0}/s = {:>3.0}%",
                k.name(),
                rest.throughput,
                100.0 * rest.throughput / sql.throughput,
                sql.throughput,
                grpc.throughput,
                100.0 * grpc.throughput / sql.throughput
            );
        }
    }
    println!();
    println!("Targets (issue 6):");
    let verdict = |ok: bool| if ok { "met".to_string() } else { "MISSED".to_string() };
    if let Some(rest) = sat(Kind::Nearest, "rest") {
        let v = if rest.throughput >= 2000.0 {
            verdict(true)
        } else {
            format!("MISSED: {:.0}% of the target", 100.0 * rest.throughput / 2000.0)
        };
        println!("  nearest+activity over REST >= 2000 req/s: {:.0} req/s, {v}", rest.throughput);
    }
    for k in [Kind::Nearest, Kind::Text, Kind::OpenAt] {
        let Some(target) = k.p99_target_ms() else { continue };
        for proto in ["rest", "grpc"] {
            if let Some(p) = phases.iter().find(|p| p.kind == k && p.protocol == proto && p.rate.is_some()) {
                let note = if (rate_scale - 1.0).abs() > 1e-9 { " (rates scaled; not the issue's rate)" } else { "" };
                let v = if p.ms[2] <= target && p.errors == 0 {
                    verdict(true)
                } else {
                    format!(
                        "MISSED: {:.1}× the target, {} of {} requests failed; the server answers {:.0}/s at saturation",
                        p.ms[2] / target,
                        p.errors,
                        p.ok + p.errors,
                        sat(k, proto).map_or(0.0, |s| s.throughput)
                    )
                };
                println!("  {:<17} p99 <= {target} ms at {}/s over {proto}: {:.2} ms, {v}{note}", k.name(), p.rate.unwrap_or(0), p.ms[2]);
            }
        }
    }
    for k in [Kind::Nearest, Kind::Text, Kind::OpenAt, Kind::Bbox, Kind::County] {
        if let (Some(rest), Some(sql)) = (sat(k, "rest"), sat(k, "sql")) {
            let r = rest.throughput / sql.throughput;
            println!("  {:<17} REST >= 60% of the SQL floor: {:.0}%, {}", k.name(), 100.0 * r, verdict(r >= 0.6));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_change_one_letter_of_the_longest_word() {
        let mut r = Rng::new(5);
        for _ in 0..50 {
            let t = typo(&mut r, "Kumla simhall");
            assert!(t.starts_with("Kumla s"), "{t}");
            assert_ne!(t, "Kumla simhall");
            let n = t.chars().count() as i64;
            assert!((n - 13).abs() <= 1, "{t}");
        }
    }

    #[test]
    fn rest_queries_are_encoded() {
        let s = FacilitySearch { q: Some("Björkås hallen".into()), page_size: 20, ..Default::default() };
        assert_eq!(rest_query(&s), "/v1/search/facilities?pageSize=20&q=Bj%C3%B6rk%C3%A5s%20hallen");
    }
}
