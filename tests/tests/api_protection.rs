//! Protection of the one port: rate limits on both protocols, oversize bodies, slow clients,
//! malformed JSON and protobuf, unknown enum values, load shedding and timeouts. After each,
//! the server must still be healthy.

use std::time::Duration;

use grpc_api::limits::RateQuotas;
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use grpc_api::server::ServerConfig;
use tests::{TestApp, with_key};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_types::StatusExt;

async fn healthy(app: &TestApp) {
    let r = app.http().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the server is still healthy");
}

/// Quotas counted per hour: no token comes back while a test runs, however slowly it runs, so
/// the request after the burst is refused whatever the machine's speed.
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_burst_over_quota_is_refused_on_both_protocols_and_other_keys_are_unaffected() {
    let app = TestApp::start_with(ServerConfig {
        rate: RateQuotas { editor: 1, ..RateQuotas::default() },
        rate_period: HOUR,
        ..ServerConfig::default()
    })
    .await;
    let a = app.key("editor", Some("0180"), false).await;
    let b = app.key("editor", Some("0180"), false).await;
    // REST: a quota of 1 an hour with a burst of 2 serves two requests, and refuses the third.
    let get = |key: &str| app.http().get(app.url("/v1/municipalities/0180")).header("x-api-key", key).send();
    // Before the first token is taken: every wait below is bounded by the hour since then,
    // however slowly this test runs.
    let started = std::time::Instant::now();
    for _ in 0..2 {
        assert_eq!(get(&a).await.unwrap().status(), 200);
    }
    let r = get(&a).await.unwrap();
    assert_eq!(r.status(), 429);
    // The next token comes an hour after the first was taken: at most an hour from now, and
    // no earlier than an hour after `started` (Retry-After rounds up to whole seconds).
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let lower = HOUR.saturating_sub(started.elapsed());
    assert!(retry <= HOUR.as_secs() && Duration::from_secs(retry + 1) >= lower, "Retry-After {retry}, at least {lower:?}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problems/rate-limited");
    // gRPC draws on the same bucket: its first call is refused.
    let mut mc = MunicipalityServiceClient::new(app.channel().await);
    let s = mc.get_municipality(with_key(pb::GetMunicipalityRequest { code: "0180".into() }, &a)).await.expect_err("gRPC was refused too");
    assert_eq!(s.code(), Code::ResourceExhausted);
    let delay = s.get_error_details().retry_info().unwrap().retry_delay.unwrap();
    let lower = HOUR.saturating_sub(started.elapsed());
    assert!(delay >= lower && delay <= HOUR, "{delay:?}, at least {lower:?}");
    // Another key has its own budget.
    assert_eq!(get(&b).await.unwrap().status(), 200);
    mc.get_municipality(with_key(pb::GetMunicipalityRequest { code: "0180".into() }, &b)).await.unwrap();
}

#[tokio::test]
async fn oversize_malformed_and_wrongly_typed_requests_get_clear_errors() {
    let app = TestApp::start_with(ServerConfig { body_limit: 64 * 1024, ..ServerConfig::default() }).await;
    let admin = app.key("admin", None, false).await;
    let post = |body: Vec<u8>, ct: &'static str| {
        app.http().post(app.url("/v1/facilities")).header("x-api-key", admin.clone()).header("content-type", ct).body(body).send()
    };
    // Oversize JSON.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    let r = post(big.into_bytes(), "application/json").await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["type"], "/problems/payload-too-large");
    // Malformed JSON and wrong media type.
    let r = post(b"{\"name\": ".to_vec(), "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["type"], "/problems/malformed-request");
    let r = post(b"name=x".to_vec(), "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(r.status(), 415);
    let r = post(b"[1, 2]".to_vec(), "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
    // Oversize gRPC message.
    let mut fc = FacilityServiceClient::new(app.channel().await);
    let huge = pb::Facility { name: "x".repeat(100 * 1024), ..Default::default() };
    let e = fc.create_facility(with_key(pb::CreateFacilityRequest { facility: Some(huge) }, &admin)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("too large"), "{}", e.message());
    // Unknown enum value over gRPC.
    let f =
        pb::Facility { municipality_code: "0180".into(), name: "x".into(), category: "gym".into(), ownership: 42, ..Default::default() };
    let e = fc.create_facility(with_key(pb::CreateFacilityRequest { facility: Some(f) }, &admin)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.get_error_details().bad_request().unwrap().field_violations[0].reason, "UNKNOWN_ENUM_VALUE");
    // Malformed protobuf: a gRPC frame whose payload is not a GetFacilityRequest.
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let mut frame = vec![0u8, 0, 0, 0, 5];
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff]);
    let r = h2
        .post(app.url("/registry.v1.FacilityService/GetFacility"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(frame)
        .send()
        .await
        .unwrap();
    let grpc_status = r.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_string());
    let message = r.headers().get("grpc-message").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    // The caller's mistake: INVALID_ARGUMENT (it was INTERNAL, prost's default; issue 25).
    assert_eq!(grpc_status.as_deref(), Some("3"), "decode failures are reported, not hung up on: {message}");
    assert!(message.to_lowercase().contains("decode"), "{message}");
    healthy(&app).await;
    assert_eq!(app.db.count("SELECT count(*) AS n FROM facilities").await, 0);
}

#[tokio::test]
async fn a_slow_client_is_cut_off_and_others_are_served() {
    let app = TestApp::start_with(ServerConfig { header_timeout: Duration::from_millis(500), ..ServerConfig::default() }).await;
    let mut slow = tokio::net::TcpStream::connect(app.server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    // Headers never finish; the server closes the connection after the header timeout.
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), slow.read(&mut buf)).await.expect("the server did not cut the slow client off");
    let n = n.unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    healthy(&app).await;
}

/// Reads from `conn` until the server's `100 Continue`: hyper sends it when the handler first
/// reads the body, which proves the request is in flight (it holds its slot, a shutdown must
/// wait for it).
async fn await_continue(conn: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(60), conn.read(&mut buf)).await.expect("no 100 Continue").unwrap();
        assert!(n > 0, "the connection closed before 100 Continue: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 100 Continue"), "{text}");
}

#[tokio::test]
async fn overload_is_shed_at_once_and_slow_requests_time_out() {
    // The timeout only has to outlast one request on loopback, however loaded the machine; the
    // body deadline is longer, so the hog meets the request timeout (a body that is too slow
    // gets 408 first by default: tests/tests/hardening.rs).
    let app = TestApp::start_with(ServerConfig {
        max_concurrent: 1,
        request_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(300),
        ..ServerConfig::default()
    })
    .await;
    // A request whose body never completes holds the only slot: the server's 100 Continue
    // says it is in the handler.
    let mut hog = tokio::net::TcpStream::connect(app.server.addr).await.unwrap();
    hog.write_all(
        b"POST /v1/facilities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    await_continue(&mut hog).await;
    hog.write_all(b"{\"na").await.unwrap();
    // (Health probes pass no limit: a request of the API shows the shedding.)
    let r = app.http().get(app.url("/v1/municipalities")).send().await.unwrap();
    assert_eq!(r.status(), 503, "shed at once, not queued");
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["type"], "/problems/overloaded");
    // The hog gets 504 when its time is up.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(60), hog.read(&mut buf)).await.expect("the hog was not timed out").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 504"), "{text}");
    healthy(&app).await;
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    // Drain for longer than this test can take, however loaded the machine.
    let app = TestApp::start_with(ServerConfig { drain_timeout: Duration::from_secs(300), ..ServerConfig::default() }).await;
    let admin = app.key("admin", None, false).await;
    // A request in flight: headers sent, the handler reading the body (100 Continue), the rest
    // of the body still coming.
    let body = serde_json::to_vec(&tests::fixtures::facility("0180", "Drained hall")).unwrap();
    let mut conn = tokio::net::TcpStream::connect(app.server.addr).await.unwrap();
    let head = format!(
        "POST /v1/facilities HTTP/1.1\r\nHost: x\r\nx-api-key: {admin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    await_continue(&mut conn).await;
    conn.write_all(&body[..10]).await.unwrap();
    let addr = app.server.addr;
    let TestApp { server, db, .. } = app;
    let stopping = tokio::spawn(server.shutdown());
    // New connections are no longer accepted…
    let closed = tests::eventually(async || tokio::net::TcpStream::connect(addr).await.is_err().then_some(())).await;
    closed.expect("the listener closes while the request is in flight");
    assert!(!stopping.is_finished(), "the shutdown waits for the request in flight");
    // …but the request in flight completes.
    conn.write_all(&body[10..]).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(30), conn.read(&mut buf)).await.expect("no answer").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    drop(conn);
    tokio::time::timeout(Duration::from_secs(60), stopping).await.expect("shutdown did not finish").unwrap().unwrap();
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_anonymous_callers_are_limited_by_their_own_address() {
    let config = |trusted: &[&str]| ServerConfig {
        rate: RateQuotas { anonymous: 1, ..RateQuotas::default() },
        rate_period: HOUR,
        trusted_proxies: trusted.iter().map(|n| n.parse::<grpc_api::server::TrustedNet>().unwrap()).collect(),
        ..ServerConfig::default()
    };
    let statuses = async |app: &TestApp, xff: &str| -> Vec<u16> {
        let mut out = Vec::new();
        for _ in 0..3 {
            let r = app.http().get(app.url("/v1/municipalities/1880")).header("x-forwarded-for", xff).send().await.unwrap();
            out.push(r.status().as_u16());
        }
        out
    };
    // The registry sits behind a proxy on 127.0.0.1 that it trusts: each resident has a bucket
    // of their own (a burst of two, then 429).
    let app = TestApp::start_with(config(&["127.0.0.1/32"])).await;
    assert_eq!(statuses(&app, "203.0.113.1").await, [200, 200, 429]);
    assert_eq!(statuses(&app, "203.0.113.2").await, [200, 200, 429], "another resident, another bucket");
    // A forged hop to the left of the proxy's does not give a new bucket.
    assert_eq!(statuses(&app, "198.51.100.77, 203.0.113.2").await, [429, 429, 429]);
    // Without trust the header means nothing: everyone on 127.0.0.1 shares one bucket.
    let app = TestApp::start_with(config(&[])).await;
    assert_eq!(statuses(&app, "203.0.113.1").await, [200, 200, 429]);
    assert_eq!(statuses(&app, "203.0.113.2").await, [429, 429, 429]);
}
