//! Transform throughput (`make bench`): WGS84 → SWEREF 99 TM and back for 10,000 points spread
//! over Sweden, on one core; criterion prints points per second. Baseline in the same run: the
//! same loop doing only the degree/radian conversions and additions (memory and loop cost).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geodata_sync::transform::PROJECTIONS;

fn points() -> Vec<(f64, f64)> {
    (0..10_000).map(|i| (55.3 + 13.7 * f64::from(i % 997) / 997.0, 11.0 + 13.0 * f64::from((i * 7) % 1009) / 1009.0)).collect()
}

fn bench(c: &mut Criterion) {
    let tm = PROJECTIONS[0];
    let geo = points();
    let grid: Vec<(f64, f64)> = geo.iter().map(|(lat, lon)| tm.forward(*lat, *lon)).collect();
    let mut g = c.benchmark_group("transform");
    g.throughput(Throughput::Elements(geo.len() as u64));
    g.bench_function("wgs84_to_sweref99tm", |b| {
        b.iter(|| geo.iter().map(|(lat, lon)| tm.forward(black_box(*lat), black_box(*lon)).0).sum::<f64>())
    });
    g.bench_function("sweref99tm_to_wgs84", |b| {
        b.iter(|| grid.iter().map(|(n, e)| tm.inverse(black_box(*n), black_box(*e)).0).sum::<f64>())
    });
    g.bench_function("baseline_loop_only", |b| {
        b.iter(|| geo.iter().map(|(lat, lon)| black_box(*lat).to_radians() + black_box(*lon).to_radians()).sum::<f64>())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
