//! Opening-hours benchmarks (`make bench`): `is_open` on a compiled realistic schedule, and
//! computing 400 days of open intervals for many facilities (the evaluator's share of
//! materialisation). Throughput is printed by criterion as elements per second. And inputs at
//! the API's body limit against a hundredth of them (`long_inputs`): the time must grow with
//! the length, not its square.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use registry_core::hours::{CompiledHours, DateException, OpeningHours, osm};

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

/// `n` dated closed days from 1900-01-01 in one OSM rule (`1900 Jan 01,1900 Jan 02,… off`).
fn dated_days(n: i64) -> String {
    let first = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let days: Vec<String> = (0..n).map(|i| (first + Duration::days(i)).format("%Y %b %d").to_string()).collect();
    format!("{} off", days.join(","))
}

/// Inputs at the API's body limit, which the fuzz target `opening_hours` found quadratic
/// (issue 25): parsing 80,000 dated days, and validating 80,000 exceptions with a duplicate,
/// each against a hundredth of that in the same run. Linear work gives a ratio near 100.
fn long_inputs(c: &mut Criterion) {
    let mut g = c.benchmark_group("long_inputs");
    g.sample_size(10);
    for n in [800, 80_000] {
        let text = dated_days(n);
        // Read, then refused: more than 500 exceptions.
        assert!(osm::parse(&text).is_err());
        g.bench_function(format!("parse_{n}_dated_days"), |b| b.iter(|| black_box(osm::parse(black_box(&text))).is_err()));
        let first = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let mut exceptions: Vec<DateException> =
            (0..n).map(|i| DateException { date: first + Duration::days(i), spans: vec![], reason: String::new() }).collect();
        exceptions.push(exceptions[7].clone());
        let h = OpeningHours { exceptions, ..OpeningHours::default() };
        g.bench_function(format!("validate_{n}_exceptions"), |b| b.iter(|| black_box(h.validate()).is_err()));
    }
    g.finish();
}

criterion_group!(benches, is_open, materialise, long_inputs);
criterion_main!(benches);
