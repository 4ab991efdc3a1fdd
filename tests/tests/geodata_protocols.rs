//! geodata-sync's protocol clients against scripted HTTP servers on 127.0.0.1: WFS 2.0
//! GetFeature in GeoJSON and GML 3.2 (fixtures written by hand from the standards' examples),
//! and every failure the issue names: malformed answers, wrong CRS, missing geometry, endless
//! next links, 500s, timeouts and 429 with Retry-After.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, Uri};
use geodata_sync::config::Config;
use geodata_sync::feature::Geometry;
use geodata_sync::http::FetchError;
use geodata_sync::source::{FeatureSource, Query};
use geodata_sync::transform::{self, Crs};
use registry_core::geo::LatLon;

type Script = dyn Fn(usize, &Uri) -> (Response<Body>, Duration) + Send + Sync;

/// Serves `script` on 127.0.0.1: the n-th request (from 0) gets `script(n, uri)`, after the delay.
async fn serve(script: Arc<Script>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let script = script.clone();
        let h = h.clone();
        async move {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let (resp, delay) = script(n, &uri);
            tokio::time::sleep(delay).await;
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn reply(status: u16, content_type: &str, body: impl Into<String>) -> Response<Body> {
    Response::builder().status(status).header("content-type", content_type).body(Body::from(body.into())).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/geodata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A source for `base` with fast retries; `extra` is more TOML for the addresses section.
fn source(base: &str, protocol: &str, format: &str, extra: &str) -> FeatureSource {
    let toml = format!(
        "[addresses]\nprotocol = \"{protocol}\"\nformat = \"{format}\"\nurl = \"{base}/svc\"\npage_size = 2\n{extra}\n\
         [client]\ntimeout_seconds = 1\nmax_retries = 2\ninitial_backoff_ms = 10\nmax_backoff_ms = 50\nrequests_per_second = 1000\nmax_retry_after_seconds = 5\nmax_pages = 20\n"
    );
    let c = Config::from_toml(&toml, "test").unwrap();
    geodata_sync::open_source(&c.addresses, &c.client).unwrap()
}

fn tm(n: f64, e: f64) -> LatLon {
    let (lat, lon) = transform::transform(Crs::parse("EPSG:3006").unwrap(), Crs::Wgs84, n, e).unwrap();
    LatLon { lat, lon }
}

fn close(a: LatLon, b: LatLon) -> bool {
    (a.lat - b.lat).abs() < 1e-9 && (a.lon - b.lon).abs() < 1e-9
}

#[tokio::test]
async fn wfs_geojson_pages_by_start_index() {
    // Page 1 from the fixture (2 of 3), page 2 with the third feature.
    let page2 = r#"{"type":"FeatureCollection","numberMatched":3,"numberReturned":1,"features":[
        {"type":"Feature","id":"adress.1003","geometry":{"type":"Point","coordinates":[508100.0,6556500.0]},
         "properties":{"kommunkod":"1881","adressomrade":"Skolgatan","adressplatsnummer":3,"postnummer":"69231","postort":"Kumla"}}]}"#;
    let first = fixture("wfs-addresses.json");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let (base, _) = serve(Arc::new(move |_, uri: &Uri| {
        s.lock().unwrap().push(uri.to_string());
        let body = if uri.query().unwrap_or("").contains("STARTINDEX=0") { first.clone() } else { page2.to_string() };
        (reply(200, "application/json", body), Duration::ZERO)
    }))
    .await;
    let src = source(&base, "wfs", "geojson", "");
    let filter = Query { bbox: None, filters: vec![("kommunkod".into(), "1881".into())] };
    let features = src.fetch_all(&filter, |_| {}).await.unwrap();
    assert_eq!(features.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["adress.1001", "adress.1002", "adress.1003"]);
    assert!(matches!(features[0].geometry, Geometry::Point(p) if close(p, tm(6_557_473.331, 508_229.564))));
    assert_eq!(features[0].text("adressplatsnummer").as_deref(), Some("12"));
    let urls = seen.lock().unwrap().clone();
    assert_eq!(urls.len(), 2);
    assert!(urls[1].contains("STARTINDEX=2") && urls[1].contains("COUNT=2"), "{urls:?}");
    assert!(urls[0].contains("SRSNAME=urn%3Aogc%3Adef%3Acrs%3AEPSG%3A%3A3006"), "{urls:?}");
    assert!(urls[0].contains("FILTER=%3Cfes%3AFilter"), "the property filter travels as FES: {urls:?}");
}

#[tokio::test]
async fn wfs_gml_points_and_boundaries_parse() {
    let addresses = fixture("wfs-addresses.gml");
    let (base, hits) =
        serve(Arc::new(move |_, _: &Uri| (reply(200, "application/gml+xml; version=3.2", addresses.clone()), Duration::ZERO))).await;
    let src = source(&base, "wfs", "gml", "");
    let url = src.first_url(&Query::default());
    let page = src.page(&url).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(page.number_matched, Some(3));
    assert!(page.next.as_ref().unwrap().as_str().contains("STARTINDEX=2"));
    let f = &page.features[0];
    assert_eq!(f.id, "adress.1001");
    assert_eq!(f.text("postnummer").as_deref(), Some("692 31"));
    assert_eq!(f.text("bokstavstillagg").as_deref(), Some("B"));
    assert!(matches!(f.geometry, Geometry::Point(p) if close(p, tm(6_557_473.331, 508_229.564))), "northing first in the URN form: {f:?}");
    assert!(matches!(page.features[1].geometry, Geometry::Point(p) if close(p, tm(6_556_400.0, 508_000.0))), "3D positions");
    assert_eq!(page.features[1].text("bokstavstillagg"), None, "an empty element is no value");
    // The address points read as addresses.
    let props = Config::default_profile().addresses.properties;
    let point = geodata_sync::address::AddressPoint::from_feature(f, &props).unwrap();
    assert_eq!((point.street.as_str(), point.postal_code.as_str()), ("Storgatan 12 B", "69231"));

    let boundaries = fixture("wfs-boundaries.gml");
    let (base, _) = serve(Arc::new(move |_, _: &Uri| (reply(200, "text/xml", boundaries.clone()), Duration::ZERO))).await;
    let page = source(&base, "wfs", "gml", "").page(&reqwest::Url::parse(&format!("{base}/svc")).unwrap()).await.unwrap();
    let Geometry::Polygons(kumla) = &page.features[0].geometry else { panic!("{:?}", page.features[0]) };
    assert_eq!(kumla.len(), 2, "two surface members");
    assert_eq!(kumla[0].len(), 2, "an exterior and an interior ring");
    assert_eq!(kumla[0][0][1], LatLon { lat: 59.0, lon: 15.3 }, "latitude first in the URN form");
    assert_eq!(kumla[1][0].len(), 4, "gml:pos rings");
    let Geometry::Polygons(orebro) = &page.features[1].geometry else { panic!() };
    assert_eq!(orebro[0][0][0], LatLon { lat: 59.2, lon: 15.0 }, "longitude first in the legacy EPSG:4326 form");
    assert_eq!(page.features[1].text("kommunnamn").as_deref(), Some("Örebro"));
}

/// A source answering `body` (with `content_type` and an optional Content-Crs) to everything.
async fn answering(protocol: &str, format: &str, content_type: &'static str, crs: Option<&'static str>, body: String) -> FeatureSource {
    let (base, _) = serve(Arc::new(move |_, _: &Uri| {
        let mut r = reply(200, content_type, body.clone());
        if let Some(c) = crs {
            r.headers_mut().insert("content-crs", c.parse().unwrap());
        }
        (r, Duration::ZERO)
    }))
    .await;
    source(&base, protocol, format, "")
}

#[tokio::test]
async fn bad_answers_give_clear_errors() {
    let tm_crs = Some("<http://www.opengis.net/def/crs/EPSG/0/3006>");
    let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[508229.564,6557473.331]},"properties":{}}]}"#;
    let cases: Vec<(FeatureSource, &str)> = vec![
        (answering("wfs", "gml", "text/xml", None, "<wfs:FeatureCollection xmlns:wfs=\"http://www.opengis.net/wfs/2.0\"><wfs:member>".into()).await, "not well-formed XML"),
        (answering("wfs", "geojson", "application/json", None, "{\"type\": \"FeatureCollection\", \"features\": [".into()).await, "not JSON"),
        (
            answering("wfs", "gml", "text/xml", None, fixture("wfs-addresses.gml").replace("urn:ogc:def:crs:EPSG::3006", "urn:ogc:def:crs:EPSG::32633")).await,
            "EPSG:32633 is not supported",
        ),
        (
            answering("wfs", "gml", "text/xml", None, fixture("wfs-addresses.gml").replace("<gml:pos>6557473.331 508229.564</gml:pos>", "<gml:pos>508229.564 6557473.331</gml:pos>")).await,
            "outside Sweden",
        ),
        (
            answering("wfs", "gml", "text/xml", None, fixture("wfs-addresses.gml").replace(
                "      <ad:position>\n        <gml:Point gml:id=\"p.1001\" srsName=\"urn:ogc:def:crs:EPSG::3006\">\n          <gml:pos>6557473.331 508229.564</gml:pos>\n        </gml:Point>\n      </ad:position>\n",
                "",
            ))
            .await,
            "feature adress.1001 has no geometry",
        ),
        (
            answering("wfs", "gml", "text/xml", None, r#"<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Exception exceptionCode="InvalidParameterValue"><ows:ExceptionText>Unknown type adress</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"#.into()).await,
            "exception: Unknown type adress",
        ),
        (answering("ogcapi", "geojson", "application/geo+json", Some("<http://www.opengis.net/def/crs/EPSG/0/3011>"), point.into()).await, "not the http://www.opengis.net/def/crs/EPSG/0/3006 asked for"),
        (answering("ogcapi", "geojson", "application/geo+json", None, point.into()).await, "no Content-Crs header"),
        (
            answering("ogcapi", "geojson", "application/geo+json", tm_crs, point.replace(r#""geometry":{"type":"Point","coordinates":[508229.564,6557473.331]}"#, r#""geometry":null"#)).await,
            "feature a has no geometry",
        ),
    ];
    for (src, needle) in cases {
        let e = src.fetch_all(&Query::default(), |_| {}).await.unwrap_err();
        assert!(e.to_string().contains(needle), "expected '{needle}' in: {e}");
        assert!(matches!(e, FetchError::Malformed { .. } | FetchError::Crs { .. }), "{e:?}");
    }
    // The right CRS is accepted.
    let ok = answering("ogcapi", "geojson", "application/geo+json", tm_crs, point.into()).await;
    assert_eq!(ok.fetch_all(&Query::default(), |_| {}).await.unwrap().len(), 1);
}

#[tokio::test]
async fn endless_next_links_are_stopped() {
    let page = |next: String| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","id":"a","geometry":{{"type":"Point","coordinates":[15.1,59.1]}},"properties":{{}}}}],
               "links":[{{"rel":"next","type":"application/geo+json","href":"{next}"}}]}}"#
        )
    };
    let ogc = |body: String| {
        let mut r = reply(200, "application/geo+json", body);
        r.headers_mut().insert("content-crs", "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>".parse().unwrap());
        r
    };
    // A next link back to a page already read.
    let (base, _) = serve(Arc::new(move |_, _: &Uri| (ogc(page("items?offset=0".into())), Duration::ZERO))).await;
    let src = source(&base, "ogcapi", "geojson", "crs = \"CRS84\"");
    let e = src.fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(matches!(e, FetchError::Paging { .. }) && e.to_string().contains("already read"), "{e}");
    // Ever new next links: stopped by max_pages (20 here).
    let (base, hits) = serve(Arc::new(move |n, _: &Uri| (ogc(page(format!("items?offset={}", n + 1))), Duration::ZERO))).await;
    let src = source(&base, "ogcapi", "geojson", "crs = \"CRS84\"");
    let e = src.fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("more than 20 pages"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 20);
}

fn tiny_collection() -> String {
    r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[15.1,59.1]},"properties":{}}]}"#.into()
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_then_reported() {
    // Two 500s, then success: retried with backoff.
    let (base, hits) = serve(Arc::new(|n, _: &Uri| {
        if n < 2 {
            (reply(500, "text/plain", "database is restarting"), Duration::ZERO)
        } else {
            (reply(200, "application/json", tiny_collection()), Duration::ZERO)
        }
    }))
    .await;
    let src = source(&base, "wfs", "geojson", "crs = \"CRS84\"");
    assert_eq!(src.fetch_all(&Query::default(), |_| {}).await.unwrap().len(), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(src.client.stats.retries.load(Ordering::SeqCst), 2);

    // Always 503: the error after max_retries names the status and the body.
    let (base, hits) = serve(Arc::new(|_, _: &Uri| (reply(503, "text/plain", "maintenance until 06:00"), Duration::ZERO))).await;
    let e = source(&base, "wfs", "geojson", "crs = \"CRS84\"").fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("503 Service Unavailable: maintenance until 06:00"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "one try and two retries");

    // A 404 is not retried.
    let (base, hits) = serve(Arc::new(|_, _: &Uri| (reply(404, "text/plain", "no such collection"), Duration::ZERO))).await;
    let e = source(&base, "wfs", "geojson", "crs = \"CRS84\"").fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(matches!(e, FetchError::Status { .. }) && e.to_string().contains("404"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A server slower than the timeout (1 s): retried, then a timeout error.
    let (base, hits) = serve(Arc::new(|_, _: &Uri| (reply(200, "application/json", tiny_collection()), Duration::from_secs(3)))).await;
    let e = source(&base, "wfs", "geojson", "crs = \"CRS84\"").fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(matches!(e, FetchError::Transport { .. }) && e.to_string().contains("no answer within 1 s"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn too_many_requests_waits_as_retry_after_says() {
    let (base, hits) = serve(Arc::new(|n, _: &Uri| {
        if n == 0 {
            let mut r = reply(429, "text/plain", "slow down");
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            (r, Duration::ZERO)
        } else {
            (reply(200, "application/json", tiny_collection()), Duration::ZERO)
        }
    }))
    .await;
    let src = source(&base, "wfs", "geojson", "crs = \"CRS84\"");
    assert_eq!(src.fetch_all(&Query::default(), |_| {}).await.unwrap().len(), 1);
    // The backoff configured here is at most 50 ms: a wait of exactly one second is the header's.
    assert_eq!(src.client.stats.backoff_ms.load(Ordering::SeqCst), 1000, "Retry-After honoured");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A Retry-After beyond max_retry_after_seconds (5 here) is an error, not a long sleep.
    let (base, _) = serve(Arc::new(|_, _: &Uri| {
        let mut r = reply(429, "text/plain", "quota exhausted");
        r.headers_mut().insert("retry-after", "3600".parse().unwrap());
        (r, Duration::ZERO)
    }))
    .await;
    let e = source(&base, "wfs", "geojson", "crs = \"CRS84\"").fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("retry after 3600 s"), "{e}");
}

/// A source built directly, with an API key (the CLI reads it from the configured variable).
fn source_with_key(base: &str, extra_client: &str, key: Option<&str>) -> FeatureSource {
    let toml = format!(
        "[addresses]\nprotocol = \"wfs\"\nurl = \"{base}/svc\"\ncrs = \"CRS84\"\napi_key_header = \"X-Api-Key\"\n\
         [client]\ntimeout_seconds = 5\nmax_retries = 0\n{extra_client}\n"
    );
    let c = Config::from_toml(&toml, "test").unwrap();
    let http = geodata_sync::http::Client::new(&c.client, &c.addresses.api_key_header, key).unwrap();
    FeatureSource::new(&c.addresses, http).unwrap()
}

#[tokio::test]
async fn the_api_key_travels_in_the_configured_header() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let s = s.clone();
        h.fetch_add(1, Ordering::SeqCst);
        async move {
            let key = headers.get("x-api-key").map(|v| v.to_str().unwrap().to_string());
            s.lock().unwrap().push(key.clone());
            if key.as_deref() == Some("s3cret") {
                reply(200, "application/json", tiny_collection())
            } else {
                reply(401, "text/plain", "API key required")
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let ok = source_with_key(&base, "", Some("s3cret"));
    assert_eq!(ok.fetch_all(&Query::default(), |_| {}).await.unwrap().len(), 1);
    let e = source_with_key(&base, "", None).fetch_all(&Query::default(), |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("401 Unauthorized: API key required"), "{e}");
    assert_eq!(*seen.lock().unwrap(), [Some("s3cret".to_string()), None]);
    // A key that cannot be a header value is a configuration error, not a panic.
    let c = Config::default_profile();
    assert!(geodata_sync::http::Client::new(&c.client, "X-Api-Key", Some("line\nbreak")).is_err());
}

#[tokio::test]
async fn requests_are_rate_limited_and_bounded_in_flight() {
    // Concurrency: the server holds each request 200 ms and records how many overlap.
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, pk) = (now.clone(), peak.clone());
    let app = axum::Router::new().fallback(move || {
        let (n, pk) = (n.clone(), pk.clone());
        async move {
            let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
            pk.fetch_max(cur, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            reply(200, "application/json", tiny_collection())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let src = Arc::new(source_with_key(&base, "max_concurrency = 2\nrequests_per_second = 1000", None));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let s = src.clone();
        set.spawn(async move { s.fetch_all(&Query::default(), |_| {}).await.map(|f| f.len()) });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 1);
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2, "never more than max_concurrency in flight");

    // Rate: 5 requests per second with a burst of 5: of 12 sent at once, the last 7 wait.
    let src = Arc::new(source_with_key(&base, "max_concurrency = 12\nrequests_per_second = 5", None));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let s = src.clone();
        set.spawn(async move { s.fetch_all(&Query::default(), |_| {}).await.map(|f| f.len()) });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    // Each waiter frees a token only every 200 ms, so at least 6 of the 12 had to wait.
    assert!(src.client.stats.throttled.load(Ordering::SeqCst) >= 6, "the governor held requests back");
    assert_eq!(src.client.stats.requests.load(Ordering::SeqCst), 12);
}

/// A service that fails for one municipality: its facilities are left exactly as they were,
/// the run stays open, and the next run resumes and finishes once the service is back.
#[tokio::test]
async fn a_failing_service_writes_nothing_and_the_run_resumes() {
    use geodata_sync::sync::{self, SyncOptions};
    use registry_core::auth::Principal;
    use std::sync::atomic::AtomicBool;

    let db = tests::TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("test");
    let mut facilities = Vec::new();
    for (code, street, lon, lat) in
        [("1881", "Storgatan 1", 15.14, 59.12), ("1881", "Storgatan 2", 15.15, 59.13), ("1880", "Drottninggatan 1", 15.21, 59.27)]
    {
        let mut f = tests::fixtures::facility(code, street);
        f.address.street = street.into();
        f.location = None;
        let point = json_point(street, code, lon, lat);
        facilities.push((reg.create_facility(&admin, &f).await.unwrap(), point));
    }
    let healthy = Arc::new(AtomicBool::new(false));
    let points: Vec<(String, String)> = facilities.iter().map(|(f, p)| (f.municipality_code.clone(), p.clone())).collect();
    let h = healthy.clone();
    let (base, _) = serve(Arc::new(move |_, uri: &Uri| {
        let query = uri.query().unwrap_or("");
        if query.contains("kommunkod=1881") && !h.load(Ordering::SeqCst) {
            return (reply(502, "text/plain", "bad gateway"), Duration::ZERO);
        }
        let features: Vec<&str> =
            points.iter().filter(|(c, _)| query.contains(&format!("kommunkod={c}"))).map(|(_, p)| p.as_str()).collect();
        (
            reply(200, "application/geo+json", format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))),
            Duration::ZERO,
        )
    }))
    .await;
    let src = Arc::new(source(&base, "ogcapi", "geojson", "crs = \"CRS84\""));
    let props = Config::default_profile().addresses.properties;
    let opts = SyncOptions { municipality: None, dry_run: false, threshold_m: 25.0, quiet: true };

    let (summary, _) = sync::run(&reg, src.clone(), &props, "kommunkod", &opts).await.unwrap();
    assert_eq!(summary.fetch_failures.len(), 1);
    assert_eq!(summary.fetch_failures[0].0, "1881");
    assert!(summary.fetch_failures[0].1.contains("502 Bad Gateway: bad gateway"), "{:?}", summary.fetch_failures);
    assert_eq!((summary.unprocessed, summary.errors(), summary.finished), (2, 2, false));
    assert!(summary.render().contains("municipality 1881: address points not fetched"), "{}", summary.render());
    for (f, _) in &facilities[..2] {
        assert_eq!(&reg.get_facility(&admin, f.id).await.unwrap(), f, "untouched");
    }
    assert!(reg.get_facility(&admin, facilities[2].0.id).await.unwrap().location.is_some(), "Örebro was fetched and filled");

    healthy.store(true, Ordering::SeqCst);
    let (summary, records) = sync::run(&reg, src, &props, "kommunkod", &opts).await.unwrap();
    assert!(summary.resumed && summary.finished, "{summary:?}");
    assert_eq!(summary.already_done, 1);
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.outcome == "filled"), "{records:?}");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await, 3, "each facility written once");
}

fn json_point(street: &str, code: &str, lon: f64, lat: f64) -> String {
    let (name, number) = street.rsplit_once(' ').unwrap();
    format!(
        r#"{{"type":"Feature","id":"{code}.{number}.{name}","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},
            "properties":{{"kommunkod":"{code}","adressomrade":"{name}","adressplatsnummer":"{number}","postnummer":"69231","postort":"Kumla"}}}}"#
    )
}
