//! Opening-hours benchmarks (`make bench`): `is_open` on a compiled realistic schedule, and
//! computing 400 days of open intervals for many facilities (the evaluator's share of
//! materialisation). Throughput is printed by criterion as elements per second.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use registry_core::hours::{CompiledHours, OpeningHours, osm};

/// A realistic schedule: a sports hall with a winter and a summer season, a late Friday,
/// public holidays closed and Christmas closures.
fn schedule() -> OpeningHours {
    osm::parse(
        "Aug 20-May 15 Mo-Th 07:00-22:00; Aug 20-May 15 Fr 07:00-23:30; Aug 20-May 15 Sa,Su 09:00-18:00; \
         May 16-Aug 19 Mo-Fr 08:00-20:00; May 16-Aug 19 Sa 10:00-16:00; May 16-Aug 19 Su off; Dec 24,Dec 31 off; PH off",
    )
    .expect("the benchmark schedule parses")
}

fn instants(n: usize, from: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    // Spread over the year with an odd step so every hour of the week is hit.
    (0..n).map(|i| from + Duration::seconds((i as i64 * 7_919) % (365 * 86_400))).collect()
}

fn is_open(c: &mut Criterion) {
    let from: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let h = schedule();
    let compiled = CompiledHours::new(&h, from, from + Duration::days(400));
    let at = instants(10_000, from);
    let mut g = c.benchmark_group("is_open");
    g.throughput(Throughput::Elements(at.len() as u64));
    g.bench_function("compiled", |b| b.iter(|| at.iter().filter(|t| compiled.is_open(black_box(**t))).count()));
    g.finish();
    // The baseline: the full evaluation for every instant.
    let mut g = c.benchmark_group("is_open_baseline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(200));
    g.bench_function("uncompiled", |b| b.iter(|| at[..200].iter().filter(|t| h.is_open(black_box(**t))).count()));
    g.finish();
}

fn materialise(c: &mut Criterion) {
    let from: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let h = schedule();
    let mut g = c.benchmark_group("materialise_400_days");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_facility", |b| b.iter(|| black_box(h.intervals(from, from + Duration::days(400))).len()));
    g.finish();
}

criterion_group!(benches, is_open, materialise);
criterion_main!(benches);
