//! Sign-in's costs (`make bench-signin`, issue 26): what a bearer access token adds to a
//! request against the same request with an API key, measured in one run, and a full browser
//! sign-in round trip against the local OpenID Provider (tests/interop/oidc_provider.mjs).
//!
//! 1. The validation itself, in process: `Oidc::access_token_person` on distinct tokens (a
//!    signature check with the provider's cached keys, the claims, the personal identity
//!    number).
//! 2. Over HTTP on loopback, `GET /v1/me` with: an API key; one access token again and again
//!    (the authenticator remembers it, as it remembers keys); a new access token every request
//!    (validated every time). Rounds alternate the three so drift hits them alike.
//! 3. Sign-in round trips: `/auth/login` → the provider's login and consent pages → the
//!    callback → `/v1/me` with the new session cookie.
//!
//! `REGISTRY_BENCH_REQUESTS` (default 2,000 per kind) and `REGISTRY_BENCH_SIGNINS` (default 30).

use std::time::{Duration, Instant};

use grpc_api::oidc::{OidcConfig, ProviderConfig};
use registry_core::service::sessions::{SessionPolicy, Sessions};
use serde_json::{Value, json};
use tests::oidc::{ProviderAgent, TestProvider};
use tests::{TestApp, TestDb};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn micros(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
    (mean, us(samples[samples.len() / 2]), us(samples[samples.len() * 99 / 100]))
}

#[tokio::main]
async fn main() {
    tests::rustls_provider();
    let requests = env("REGISTRY_BENCH_REQUESTS", 2000);
    let signins = env("REGISTRY_BENCH_SIGNINS", 30);
    let port = tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = TestProvider::start(json!({
        "resource": base,
        "accessTokenTtl": 3600,
        "clients": [{"client_id": "registry", "redirect_uris": [format!("{base}/auth/callback")], "post_logout_redirect_uris": [format!("{base}/")]}],
        "persons": [{"sub": "anna", "personalIdentityNumber": "198112289874", "given_name": "Anna", "family_name": "Andersson"}]
    }))
    .await;
    let spec = format!("name=bench,issuer={},client-id=registry", provider.issuer);
    let oidc_config =
        OidcConfig { providers: vec![ProviderConfig::parse(&spec).unwrap()], audience: Some(base.clone()), public_url: base.clone() };
    let config = grpc_api::server::ServerConfig {
        public_url: Some(base.clone()),
        oidc: oidc_config.clone(),
        sessions: SessionPolicy::default(),
        rate: grpc_api::limits::RateQuotas::all(1_000_000),
        ..Default::default()
    };
    let db = TestDb::new().await;
    let registry = db.registry();
    let server = grpc_api::server::start(registry.clone(), config, format!("127.0.0.1:{port}").parse().unwrap()).await.unwrap();
    let app = TestApp { db, registry, server, base };
    let key = app.key("national_body", None, false).await;

    eprintln!("minting {requests} access tokens at the provider…");
    let mut fresh = Vec::with_capacity(requests * 2);
    for i in 0..requests * 2 {
        fresh.push(provider.mint(Value::Null, json!({"jti": format!("bench-{i}")}), "provider", false).await);
    }
    let (validate_tokens, http_tokens) = fresh.split_at(requests);

    // 1. In process: the validation alone.
    let sessions = Sessions::new(app.registry.pool().clone(), "", app.registry.clock().clone(), SessionPolicy::default());
    let oidc = grpc_api::oidc::Oidc::new(oidc_config, sessions, app.registry.clock().clone()).unwrap();
    oidc.discover_all().await;
    oidc.access_token_person(&validate_tokens[0]).await.expect("a valid token (and the keys fetched)");
    let mut validation = Vec::with_capacity(requests);
    for t in validate_tokens {
        let started = Instant::now();
        oidc.access_token_person(t).await.expect("valid");
        validation.push(started.elapsed());
    }

    // 2. Over HTTP: /v1/me by an API key, a remembered token, a new token each time.
    let http = reqwest::Client::new();
    let me = app.url("/v1/me");
    let cached = &http_tokens[0];
    for _ in 0..200 {
        http.get(&me).header("x-api-key", &key).send().await.unwrap();
        http.get(&me).bearer_auth(cached).send().await.unwrap();
    }
    let (mut by_key, mut by_cached, mut by_fresh) = (Vec::new(), Vec::new(), Vec::new());
    for t in &http_tokens[1..] {
        let started = Instant::now();
        let res = http.get(&me).header("x-api-key", &key).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        by_key.push(started.elapsed());
        let started = Instant::now();
        let res = http.get(&me).bearer_auth(cached).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        by_cached.push(started.elapsed());
        let started = Instant::now();
        let res = http.get(&me).bearer_auth(t).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        by_fresh.push(started.elapsed());
    }

    // 3. Sign-in round trips through the provider's pages.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut rounds = Vec::with_capacity(signins);
    for _ in 0..signins {
        let started = Instant::now();
        let res = no_redirects.get(app.url("/auth/login?provider=bench&returnTo=/v1/me")).send().await.unwrap();
        let authorize = res.headers()["location"].to_str().unwrap().to_string();
        let callback = ProviderAgent::new().sign_in(&authorize, "anna").await.unwrap();
        let res = no_redirects.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let res = no_redirects.get(&me).header("cookie", cookie).send().await.unwrap();
        assert_eq!(res.status(), 200);
        rounds.push(started.elapsed());
    }

    println!(
        "sign-in benchmark: {requests} requests per kind, {signins} sign-ins; machine: {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!();
    println!("{:<58} {:>10} {:>10} {:>10}", "µs per call", "mean", "p50", "p99");
    let row = |what: &str, s: Vec<Duration>| {
        let (mean, p50, p99) = micros(s);
        println!("{what:<58} {mean:>10.1} {p50:>10.1} {p99:>10.1}");
        (mean, p50)
    };
    let (v_mean, v_p50) = row("validate a new access token (in process)", validation);
    let (k_mean, k_p50) = row("GET /v1/me with an API key", by_key);
    let (c_mean, c_p50) = row("GET /v1/me with a remembered access token", by_cached);
    let (f_mean, f_p50) = row("GET /v1/me with a new access token every request", by_fresh);
    let (s_mean, s_p50) = row("sign-in round trip (login, consent, callback, /v1/me)", rounds);
    println!();
    println!("validation alone: {v_mean:.1} µs mean, {v_p50:.1} µs p50 (target ≤ 50 µs)");
    println!(
        "added to a request over an API key: remembered token {:+.1} µs (p50 {:+.1}), new token {:+.1} µs (p50 {:+.1})",
        c_mean - k_mean,
        c_p50 - k_p50,
        f_mean - k_mean,
        f_p50 - k_p50
    );
    println!("a sign-in round trip: {:.1} ms mean, {:.1} ms p50", s_mean / 1000.0, s_p50 / 1000.0);
}
