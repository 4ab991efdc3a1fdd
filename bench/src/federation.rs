//! The federation benchmark: 290 simulated vendors (one per municipality, each a real vendor.v1
//! server on loopback) with log-normal latency, errors and hangs; federated queries over 1,
//! 20 and 290 of them, compared with the ideal (the slowest vendor's injected latency) and with
//! a sequential fan-out, in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use federation::fault::{FaultVendor, Faults};
use federation::grpc::{Connection, GrpcVendor};
use federation::{Federation, Policy, Status, pb};
use hdrhistogram::Histogram;
use prost_types::Timestamp;

/// Arguments of `registry-bench federation`.
#[derive(Debug, clap::Args)]
pub struct FederationArgs {
    /// Simulated vendors.
    #[arg(long, default_value_t = 290)]
    pub vendors: usize,
    /// Median vendor latency, ms.
    #[arg(long, default_value_t = 40)]
    pub median_ms: u64,
    /// 99th-percentile vendor latency, ms.
    #[arg(long, default_value_t = 300)]
    pub p99_ms: u64,
    /// Share of vendor calls that fail.
    #[arg(long, default_value_t = 0.02)]
    pub error_rate: f64,
    /// Share of vendor calls that hang.
    #[arg(long, default_value_t = 0.01)]
    pub hang_rate: f64,
    /// The overall deadline of a federated query, ms.
    #[arg(long, default_value_t = 1000)]
    pub deadline_ms: u64,
    /// Federated queries per measured shape.
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Seconds of the sustained 20-vendor phase.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent clients in the sustained phase.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Queries per shape in the comparison with the ideal (latency only, no hedging).
    #[arg(long, default_value_t = 100)]
    pub ideal_queries: usize,
}

fn window(i: u64) -> (Option<Timestamp>, Option<Timestamp>) {
    // Distinct windows so that no query is answered from the cache.
    let start = 1_796_313_600 + (i as i64) * 3600;
    (Some(Timestamp { seconds: start, nanos: 0 }), Some(Timestamp { seconds: start + 4 * 3600, nanos: 0 }))
}

fn request(i: u64) -> pb::CheckAvailabilityRequest {
    let (start, end) = window(i);
    pb::CheckAvailabilityRequest { unit_refs: vec!["hall-a".into(), "hall-b".into()], start, end, ..Default::default() }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Runs the benchmark and prints its figures.
pub async fn run(a: &FederationArgs) -> Result<()> {
    let faults = Faults {
        median: Duration::from_millis(a.median_ms),
        p99: Duration::from_millis(a.p99_ms),
        error_rate: a.error_rate,
        hang_rate: a.hang_rate,
        ..Faults::default()
    };
    println!(
        "vendors: {} vendor.v1 servers on 127.0.0.1, latency log-normal (median {} ms, p99 {} ms), {:.0} % errors, {:.0} % hangs; deadline {} ms",
        a.vendors,
        a.median_ms,
        a.p99_ms,
        a.error_rate * 100.0,
        a.hang_rate * 100.0,
        a.deadline_ms
    );
    let mut servers = Vec::new();
    for i in 0..a.vendors {
        let v = FaultVendor::new(vec!["hall-a".into(), "hall-b".into()], faults.clone(), i as u64 + 1);
        let addr = v.clone().serve().await;
        let client = GrpcVendor::connect_lazy(&Connection { endpoint: format!("http://{addr}"), ..Default::default() })?;
        servers.push((format!("v{i:03}"), v, Arc::new(client)));
    }
    let deadline = Duration::from_millis(a.deadline_ms);
    // The breaker is set out of reach: with 3 % bad calls spread evenly, an open circuit would
    // only measure the breaker. Cache off: every query asks.
    let base = Policy {
        cache_ttl: Duration::ZERO,
        breaker_threshold: 1000,
        requests_per_second: 100_000,
        max_concurrency: 64,
        ..Policy::default()
    };
    let engine = |hedge: bool| {
        let fed = Federation::new();
        for (id, _, client) in &servers {
            fed.add_vendor(id, client.clone(), Policy { hedge_after: if hedge { base.hedge_after } else { None }, ..base.clone() });
        }
        fed
    };
    // Warm the connections.
    let warm = engine(false);
    let all: Vec<String> = servers.iter().map(|s| s.0.clone()).collect();
    let mut rx = warm.fan_out(all.iter().map(|id| (id.clone(), request(0))).collect(), deadline);
    while rx.recv().await.is_some() {}

    let mut next_window = 1u64;
    for (label, hedge) in [("no hedging", false), ("hedged after 150 ms", true)] {
        let fed = engine(hedge);
        for n in [1usize, 20, a.vendors] {
            let mut total = Histogram::<u64>::new(3)?;
            let mut statuses = std::collections::BTreeMap::<&'static str, usize>::new();
            for q in 0..a.queries {
                let w = next_window;
                next_window += 1;
                let ids: Vec<&String> = (0..n).map(|k| &all[(q * 37 + k) % all.len()]).collect();
                let started = Instant::now();
                let mut rx = fed.fan_out(ids.iter().map(|id| ((*id).clone(), request(w))).collect(), deadline);
                while let Some(ans) = rx.recv().await {
                    *statuses.entry(ans.status.name()).or_default() += 1;
                }
                total.record(started.elapsed().as_micros() as u64)?;
            }
            let statuses: Vec<String> = statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!(
                "{label}: {n:>3} vendors: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} queries (deadline {} ms); vendor answers: {}",
                ms(&total, 0.5),
                ms(&total, 0.99),
                total.max() as f64 / 1000.0,
                a.queries,
                a.deadline_ms,
                statuses.join(", ")
            );
        }
    }

    against_the_ideal(a, &servers, &base, deadline, &mut next_window).await?;

    // Sequential fan-out as the baseline: the same 20-vendor queries, one vendor after another.
    for (_, v, _) in &servers {
        v.set(faults.clone());
    }
    let fed = engine(false);
    let mut seq = Histogram::<u64>::new(3)?;
    let mut par = Histogram::<u64>::new(3)?;
    for q in 0..a.queries.min(50) {
        let ids: Vec<String> = (0..20).map(|k| all[(q * 37 + k) % all.len()].clone()).collect();
        let w = next_window;
        next_window += 1;
        let started = Instant::now();
        for id in &ids {
            // Each vendor gets the whole deadline, as a naive loop would give it.
            fed.check(id, request(w), Instant::now() + deadline).await;
        }
        seq.record(started.elapsed().as_micros() as u64)?;
        let w = next_window;
        next_window += 1;
        let started = Instant::now();
        let mut rx = fed.fan_out(ids.iter().map(|id| (id.clone(), request(w))).collect(), deadline);
        while rx.recv().await.is_some() {}
        par.record(started.elapsed().as_micros() as u64)?;
    }
    println!(
        "20 vendors, sequential vs concurrent fan-out over {} queries: p50 {:.0} ms vs {:.0} ms, p99 {:.0} ms vs {:.0} ms ({:.1}x at p50)",
        seq.len(),
        ms(&seq, 0.5),
        ms(&par, 0.5),
        ms(&seq, 0.99),
        ms(&par, 0.99),
        ms(&seq, 0.5) / ms(&par, 0.5).max(0.001)
    );

    // Sustained 20-vendor queries from concurrent clients.
    let fed = engine(true);
    let stop = Instant::now() + Duration::from_secs(a.duration);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(next_window));
    let mut set = tokio::task::JoinSet::new();
    for c in 0..a.clients {
        let (fed, all, counter) = (fed.clone(), all.clone(), counter.clone());
        set.spawn(async move {
            let mut h = Histogram::<u64>::new(3).expect("a histogram");
            let mut done = 0u64;
            let mut q = c;
            while Instant::now() < stop {
                let w = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let started = Instant::now();
                let mut rx = fed.fan_out((0..20).map(|k| (all[(q * 37 + k) % all.len()].clone(), request(w))).collect(), deadline);
                while rx.recv().await.is_some() {}
                h.record(started.elapsed().as_micros() as u64).expect("in range");
                done += 1;
                q += 7;
            }
            (done, h)
        });
    }
    let mut done = 0;
    let mut h = Histogram::<u64>::new(3)?;
    while let Some(r) = set.join_next().await {
        let (d, hh) = r?;
        done += d;
        h.add(hh)?;
    }
    println!(
        "sustained: {:.0} federated 20-vendor queries/s over {} s from {} clients (p50 {:.0} ms, p99 {:.0} ms); peak RSS {:.0} MB",
        done as f64 / a.duration as f64,
        a.duration,
        a.clients,
        ms(&h, 0.5),
        ms(&h, 0.99),
        peak_rss_mb()
    );
    Ok(())
}

/// The engine against the ideal: with latency only (no errors or hangs, so that every vendor
/// answers) and no hedging (one call per vendor), the time beyond the slowest vendor's
/// injected latency, over gRPC on loopback and with the same vendors called in-process.
async fn against_the_ideal(
    a: &FederationArgs,
    servers: &[(String, FaultVendor, Arc<GrpcVendor>)],
    base: &Policy,
    deadline: Duration,
    next_window: &mut u64,
) -> Result<()> {
    let latency_only = Faults { median: Duration::from_millis(a.median_ms), p99: Duration::from_millis(a.p99_ms), ..Faults::default() };
    for (_, v, _) in servers {
        v.set(latency_only.clone());
    }
    let all: Vec<String> = servers.iter().map(|s| s.0.clone()).collect();
    for transport in ["gRPC on loopback", "in-process"] {
        let fed = Federation::new();
        for (id, v, client) in servers {
            let api: Arc<dyn federation::VendorApi> = if transport == "in-process" { Arc::new(v.clone()) } else { client.clone() };
            fed.add_vendor(id, api, Policy { hedge_after: None, ..base.clone() });
        }
        for n in [1usize, 20, a.vendors] {
            let mut over = Histogram::<u64>::new(3)?;
            let mut answered = 0usize;
            for q in 0..a.ideal_queries {
                let w = *next_window;
                *next_window += 1;
                let ids: Vec<&String> = (0..n).map(|k| &all[(q * 37 + k) % all.len()]).collect();
                let started = Instant::now();
                let mut rx = fed.fan_out(ids.iter().map(|id| ((*id).clone(), request(w))).collect(), deadline);
                let mut ok = 0;
                while let Some(ans) = rx.recv().await {
                    ok += usize::from(ans.status == Status::Ok);
                }
                let took = started.elapsed();
                if ok < n {
                    continue; // a slow tail passed the deadline: there is no ideal to compare with
                }
                let start = window(w).0.map_or(0, |t| t.seconds);
                let slowest = ids
                    .iter()
                    .filter_map(|id| servers.iter().find(|s| &s.0 == *id))
                    .filter_map(|s| s.1.injected.lock().expect("never poisoned").iter().rev().find(|(st, _)| *st == start).map(|(_, d)| *d))
                    .max()
                    .unwrap_or_default();
                over.record(took.saturating_sub(slowest).as_micros() as u64)?;
                answered += 1;
            }
            println!(
                "against the ideal, {transport}: {n:>3} vendors: {answered} of {} queries answered by every vendor; time beyond the slowest vendor's latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target 15 ms)",
                a.ideal_queries,
                ms(&over, 0.5),
                ms(&over, 0.99),
                over.max() as f64 / 1000.0
            );
        }
    }
    Ok(())
}
