//! "My bookings" and notices (`make bench-mybookings`, issue 27).
//!
//! 1. `GET /v1/me/bookings` of a signed-in person with one booking at each of 20 vendors (fault
//!    vendors on loopback, `ListBookings` latency log-normal, median 20 ms, p99 80 ms), one
//!    request at a time. For each request the slowest vendor's injected latency is read back,
//!    so the registry's own cost is measured against the ideal in the same run: the answer can
//!    come no sooner than its slowest vendor. Target: p99 of (answer − slowest vendor) ≤ 15 ms.
//! 2. Notices through the outbox: booking notices written to the outbox and delivered by
//!    `deliver_due` to a real SMTP server on loopback (aiosmtpd), against the same messages
//!    sent straight through the same SMTP channel, in the same run.
//!
//! `REGISTRY_BENCH_REQUESTS` (default 500) and `REGISTRY_BENCH_NOTICES` (default 2,000).

use std::path::Path;
use std::time::{Duration, Instant};

use federation::fault::{FaultVendor, Faults};
use registry_core::auth::Principal;
use registry_core::notify::{self, Backoff, Channel, Message};
use serde_json::{Value, json};
use tests::{TestApp, fixtures};

const VENDORS: usize = 20;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn quantiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.99), v[v.len() - 1])
}

#[tokio::main]
async fn main() {
    tests::rustls_provider();
    let requests = env("REGISTRY_BENCH_REQUESTS", 500);
    let notices = env("REGISTRY_BENCH_NOTICES", 2000);
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
            .unwrap_or_default()
    );
    my_bookings(requests).await;
    outbox(notices).await;
}

async fn my_bookings(requests: usize) {
    let config = grpc_api::server::ServerConfig {
        rate: grpc_api::limits::RateQuotas::all(1_000_000),
        booking_changes_interval: Duration::from_secs(3600),
        booking_reminder: None,
        ..Default::default()
    };
    let app = TestApp::start_with(config).await;
    let admin_key = app.key("admin", None, false).await;
    let operator = Principal::operator("bench");
    let kim = app.session("198112289874", "Kim Svensson", None).await;
    let day = tests::dates::ordinary_day_after(7);
    let mut vendors = Vec::new();
    for i in 0..VENDORS {
        let f = app.registry.create_facility(&operator, &fixtures::facility("0180", &format!("Hall {i}"))).await.unwrap();
        let v = FaultVendor::new(vec!["hall-a".into()], Faults { bookings: true, ..Faults::default() }, i as u64 + 1);
        let url = format!("http://{}", v.clone().serve().await);
        let body = json!({"name": format!("Bokning {i:02}"), "endpoint": url, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE",
            "municipalityCodes": ["0180"]});
        let r = app.http().post(app.url("/v1/vendors")).header("x-api-key", &admin_key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let registered: Value = r.json().await.unwrap();
        let vendor_id: uuid::Uuid = registered["id"].as_str().unwrap().parse().unwrap();
        app.registry.set_unit_vendor(&operator, f.id, f.units[0].id, Some((vendor_id, "hall-a".into()))).await.unwrap();
        let start = tests::dates::at(day, 18);
        let booking = json!({"facilityId": f.id, "unitId": f.units[0].id, "start": start, "end": start + chrono::Duration::hours(1),
            "mode": "direct", "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
        let r = tests::authed(app.http().post(app.url("/v1/bookings")), &kim)
            .header("idempotency-key", format!("bench-booking-{i:04}-000"))
            .json(&booking)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        vendors.push(v);
    }
    let faults = Faults { bookings: true, median: Duration::from_millis(20), p99: Duration::from_millis(80), ..Faults::default() };
    for v in &vendors {
        v.set(faults.clone());
    }
    let http = app.http();
    let get = async || {
        let t = Instant::now();
        let r = tests::authed(http.get(app.url("/v1/me/bookings")), &kim).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let elapsed = t.elapsed();
        assert_eq!(body["bookings"].as_array().map(Vec::len), Some(VENDORS), "{body}");
        assert!(body["vendors"].as_array().unwrap().iter().all(|v| v["status"] == "ok"), "{body}");
        elapsed
    };
    for _ in 0..20 {
        get().await;
    }
    let (mut total, mut slowest, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..requests {
        let elapsed = get().await;
        let ideal = vendors.iter().map(|v| *v.listed.lock().unwrap().last().unwrap()).max().unwrap();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        total.push(ms(elapsed));
        slowest.push(ms(ideal));
        overhead.push(ms(elapsed) - ms(ideal));
    }
    let (t50, t99, tmax) = quantiles(total);
    let (s50, s99, smax) = quantiles(slowest);
    let (o50, o99, omax) = quantiles(overhead);
    println!(
        "my bookings: {VENDORS} vendors, one booking at each, ListBookings latency log-normal (median 20 ms, p99 80 ms), {requests} requests one at a time"
    );
    println!("  answer          p50 {t50:7.1} ms   p99 {t99:7.1} ms   max {tmax:7.1} ms");
    println!("  slowest vendor  p50 {s50:7.1} ms   p99 {s99:7.1} ms   max {smax:7.1} ms   (the ideal, per request)");
    println!(
        "  registry's cost p50 {o50:7.1} ms   p99 {o99:7.1} ms   max {omax:7.1} ms   target p99 <= 15 ms: {}",
        if o99 <= 15.0 { "met" } else { "NOT met" }
    );
}

fn lines(file: &Path) -> usize {
    std::fs::read_to_string(file).map(|s| s.lines().count()).unwrap_or(0)
}

async fn outbox(n: usize) {
    let dir = std::env::temp_dir().join(format!("registry-bench-notices-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mail.jsonl");
    let port = tests::free_port();
    let _sink = tests::SmtpSink::start(port, &file).await;
    let config = grpc_api::mail::MailConfig {
        smtp_url: format!("smtp://127.0.0.1:{port}"),
        from: "Föreningsregistret <noreply@registry.test>".into(),
        backoff: Backoff::default(),
        interval: Duration::from_secs(3600),
    };
    let channel = grpc_api::mail::SmtpChannel::new(&config).unwrap();
    let app = TestApp::start().await;
    let data = |i: usize| json!({"event": "confirmed", "unit": "Hall A", "facility": format!("Sporthallen {i}"), "start": "2026-12-14T17:00:00Z", "message": ""});

    // Straight through the channel: the same messages, rendered, sent as the outbox sends them
    // (notify::PARALLEL at a time), with no database in between.
    use futures_util::StreamExt;
    let t = Instant::now();
    let channel = &channel;
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let (subject, body) = notify::render(notify::Kind::BookingUpdate, &data(i));
            let m = Message { id: uuid::Uuid::now_v7(), to: format!("person{i}@example.se"), subject, body };
            channel.deliver(&m).await.unwrap();
        })
        .buffer_unordered(notify::PARALLEL)
        .collect::<Vec<()>>()
        .await;
    let direct = n as f64 / t.elapsed().as_secs_f64();

    // Through the outbox: written in transactions of 100, then delivered by the worker's own
    // function in batches of 100 until none is due.
    let pool = app.registry.pool().clone();
    let now = app.registry.now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut conn = pool.get().await.unwrap();
        use diesel_async::AsyncConnection;
        let chunk = chunk.to_vec();
        conn.transaction(async |conn| {
            for &i in &chunk {
                notify::enqueue(conn, notify::Kind::BookingUpdate, &format!("person{i}@example.se"), data(i), now).await?;
            }
            Ok::<_, registry_core::Error>(())
        })
        .await
        .unwrap();
    }
    let before = lines(&file);
    let t = Instant::now();
    let mut sent = 0;
    while sent < n {
        let k = notify::deliver_due(&pool, channel, &Backoff::default(), app.registry.now(), 100).await.unwrap();
        assert!(k > 0, "the outbox ran dry after {sent} of {n}");
        sent += k;
    }
    let through = n as f64 / t.elapsed().as_secs_f64();
    for _ in 0..100 {
        if lines(&file) - before >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines(&file) - before, n, "every notice arrived once");
    println!("notices: {n} booking notices to a local SMTP server (aiosmtpd), one SMTP connection each, {} at a time", notify::PARALLEL);
    println!("  straight through the SMTP channel   {direct:8.0} notices/s");
    println!("  through the outbox (deliver_due)    {through:8.0} notices/s   ({:.0} % of straight)", through / direct * 100.0);
}
