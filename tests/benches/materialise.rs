//! Materialising 400 days of open intervals for the whole country (`make bench`): N facilities
//! (default 100,000; `REGISTRY_BENCH_FACILITIES`) with realistic schedules in a real
//! PostgreSQL, timed through `Registry::refresh_open_intervals`, against the evaluator alone on
//! the same schedules in the same run as the baseline.

use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::sql_types::{Array, Jsonb};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use registry_core::hours::{OpeningHours, osm};
use registry_core::service::MATERIALISED_DAYS;
use tests::TestDb;

const SCHEDULES: [&str; 5] = [
    "Mo-Fr 07:00-22:00; Sa,Su 09:00-18:00; PH off",
    "Aug 20-May 15 Mo-Th 07:00-22:00; Aug 20-May 15 Fr 07:00-23:30; Aug 20-May 15 Sa,Su 09:00-18:00; May 16-Aug 19 Mo-Fr 08:00-20:00; May 16-Aug 19 Sa 10:00-16:00; Dec 24,Dec 31 off; PH off",
    "Mo-Fr 06:30-08:30,16:00-21:00; Sa 08:00-16:00; Su 10:00-16:00; PH 10:00-14:00",
    "Jun-Aug 10:00-19:00",
    "Mo-Th 15:00-21:00; Fr 15:00-01:00; Sa 18:00-01:00",
];

#[tokio::main]
async fn main() {
    let n: i64 = std::env::var("REGISTRY_BENCH_FACILITIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let db = TestDb::new().await;
    let reg = db.registry();
    let schedules: Vec<OpeningHours> = SCHEDULES.iter().map(|s| osm::parse(s).expect("bench schedules parse")).collect();
    let json: Vec<serde_json::Value> = schedules.iter().map(|h| serde_json::to_value(h).unwrap()).collect();
    let mut conn = db.conn().await;
    let t = Instant::now();
    conn.batch_execute(&format!(
        "INSERT INTO facilities (id, municipality_code, name, category, ownership) \
         SELECT gen_random_uuid(), '1881', 'Anläggning ' || i, 'sports_hall', 'municipal' FROM generate_series(1, {n}) AS i"
    ))
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO opening_hours (facility_id, unit_id, schedule) \
         SELECT id, NULL, ($1::jsonb[])[1 + (row_number() OVER (ORDER BY id))::int % 5] FROM facilities",
    )
    .bind::<Array<Jsonb>, _>(&json)
    .execute(&mut conn)
    .await
    .unwrap();
    println!("dataset: {n} facilities with 5 schedule shapes, loaded in {:.1} s", t.elapsed().as_secs_f64());

    // Baseline: the evaluator alone, same schedules, same window.
    let from = Utc::now();
    let t = Instant::now();
    let mut count = 0usize;
    for i in 0..n as usize {
        count += schedules[i % 5].intervals(from, from + Duration::days(MATERIALISED_DAYS)).len();
    }
    let evaluate = t.elapsed().as_secs_f64();
    println!("evaluator only: {count} intervals for {n} facilities in {evaluate:.2} s");

    let t = Instant::now();
    let (schedules_done, intervals) = reg.refresh_open_intervals().await.unwrap();
    let total = t.elapsed().as_secs_f64();
    let rows = db.count("SELECT count(*) AS n FROM open_intervals").await;
    assert_eq!(schedules_done as i64, n);
    assert_eq!(rows, n, "one row per facility");
    println!(
        "materialise 400 days: {schedules_done} facilities, {intervals} intervals, {rows} rows in {total:.1} s \
         ({:.0} facilities/s; {:.1}x the evaluator-only time)",
        schedules_done as f64 / total,
        total / evaluate
    );
}
