//! The federated availability query end to end: vendors registered over REST (their
//! capabilities fetched from real vendor.v1 servers on loopback), units assigned by the
//! municipality, and one query across municipal borders that returns the healthy vendors'
//! times and labels the others, within the deadline.

use federation::fault::{FaultVendor, Faults};
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use serde_json::{Value, json};
use tests::{TestApp, fixtures};

async fn vendor(faults: Faults) -> String {
    let v = FaultVendor::new(vec!["hall-a".into(), "hall-b".into()], faults, 5);
    format!("http://{}", v.serve().await)
}

fn vendor_body(name: &str, endpoint: &str, codes: &[&str]) -> Value {
    json!({"name": name, "endpoint": endpoint, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": codes})
}

#[tokio::test]
async fn one_query_across_municipal_borders_with_honest_vendor_statuses() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let kumla_key = app.key("editor", Some("1881"), false).await;
    let http = app.http();
    let post = |path: &str, key: &str, body: Value| http.post(app.url(path)).header("x-api-key", key).json(&body).send();

    // Registration fetches the capabilities; an endpoint that does not answer is refused.
    let healthy = vendor(Faults { garbage_rate: 0.0, ..Faults::default() }).await;
    let hanging = vendor(Faults { hang_rate: 1.0, ..Faults::default() }).await;
    let r = post("/v1/vendors", &keys.admin, vendor_body("Kumlabokning", &healthy, &["1881"])).await.unwrap();
    assert_eq!(r.status(), 201);
    let kumla_vendor: Value = r.json().await.unwrap();
    assert_eq!(kumla_vendor["capabilities"]["protocolVersion"], "1.1");
    assert_eq!(kumla_vendor["capabilities"]["maxUnitsPerCall"], 100);
    assert_eq!(kumla_vendor["conformance"]["passed"], true, "{kumla_vendor}");
    assert!(
        kumla_vendor["conformance"]["checks"].as_array().unwrap().iter().any(|c| c["id"] == "health.serving" && c["verdict"] == "pass")
    );
    let r = post("/v1/vendors", &keys.admin, vendor_body("Örebrobokning", &hanging, &["1880"])).await.unwrap();
    assert_eq!(r.status(), 201);
    let orebro_vendor: Value = r.json().await.unwrap();
    let r = post("/v1/vendors", &keys.admin, vendor_body("Borta", "http://127.0.0.1:9", &["1881"])).await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()), (Some("endpoint"), Some("unreachable")), "{p}");
    let r = post("/v1/vendors", &kumla_key, vendor_body("X", &healthy, &["1881"])).await.unwrap();
    assert_eq!(r.status(), 403, "only admins register vendors");
    let listed: Value = http.get(app.url("/v1/vendors?municipalityCode=1881")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["vendors"].as_array().unwrap().len(), 1);

    // Changing a vendor: merge patch with If-Match, admins only, registry fields read-only.
    let vurl = app.url(&format!("/v1/vendors/{}", kumla_vendor["id"].as_str().unwrap()));
    let patch = |key: &str, if_match: Option<&str>, body: Value| {
        let mut r =
            http.patch(&vurl).header("x-api-key", key).header("content-type", "application/merge-patch+json").body(body.to_string());
        if let Some(v) = if_match {
            r = r.header("if-match", v);
        }
        r.send()
    };
    let r = patch(&keys.admin, Some("\"1\""), json!({"requestsPerSecond": 20})).await.unwrap();
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_eq!((changed["version"].as_i64(), changed["requestsPerSecond"].as_i64()), (Some(2), Some(20)));
    assert_eq!(changed["capabilities"], kumla_vendor["capabilities"], "not probed again: the endpoint did not change");
    assert_eq!(patch(&keys.admin, Some("\"1\""), json!({"requestsPerSecond": 30})).await.unwrap().status(), 412, "stale");
    assert_eq!(patch(&keys.admin, None, json!({"requestsPerSecond": 30})).await.unwrap().status(), 428);
    assert_eq!(patch(&kumla_key, Some("\"2\""), json!({"requestsPerSecond": 30})).await.unwrap().status(), 403);
    let r = patch(&keys.admin, Some("\"2\""), json!({"capabilities": {}})).await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["rule"], "read_only");
    let r = patch(&keys.admin, Some("\"2\""), json!({"endpoint": "http://127.0.0.1:9"})).await.unwrap();
    assert_eq!(r.status(), 400, "a new endpoint is probed again");
    let extra = post("/v1/vendors", &keys.admin, vendor_body("Extra", &healthy, &["0180"])).await.unwrap().json::<Value>().await.unwrap();
    let eurl = app.url(&format!("/v1/vendors/{}", extra["id"].as_str().unwrap()));
    assert_eq!(http.delete(&eurl).header("x-api-key", &keys.admin).send().await.unwrap().status(), 204);
    assert_eq!(http.get(&eurl).send().await.unwrap().status(), 404);

    // Facilities in Kumla and Örebro; the municipalities choose their units' vendors.
    let admin = Principal::operator("test");
    let kumla = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    let mut o = fixtures::facility("1880", "Örebro sporthall");
    o.location = Some(LatLon { lat: 59.2753, lon: 15.2134 });
    let orebro = app.registry.create_facility(&admin, &o).await.unwrap();
    let mut n = fixtures::facility("1881", "Kumla gymnastiksal");
    n.location = Some(LatLon { lat: 59.13, lon: 15.15 });
    let no_vendor = app.registry.create_facility(&admin, &n).await.unwrap();
    let put = |f: uuid::Uuid, u: uuid::Uuid, key: &str, body: Value| {
        http.put(app.url(&format!("/v1/facilities/{f}/units/{u}/vendor"))).header("x-api-key", key).json(&body).send()
    };
    for (unit, r) in kumla.units.iter().zip(["hall-a", "hall-b"]) {
        let res = put(kumla.id, unit.id, &kumla_key, json!({"vendorId": kumla_vendor["id"], "externalRef": r})).await.unwrap();
        assert_eq!(res.status(), 204);
    }
    let res =
        put(orebro.id, orebro.units[0].id, &kumla_key, json!({"vendorId": orebro_vendor["id"], "externalRef": "hall-a"})).await.unwrap();
    assert_eq!(res.status(), 403, "Kumla may not choose Örebro's vendor");
    let res =
        put(orebro.id, orebro.units[0].id, &keys.admin, json!({"vendorId": orebro_vendor["id"], "externalRef": "hall-a"})).await.unwrap();
    assert_eq!(res.status(), 204);
    let res = put(kumla.id, kumla.units[0].id, &kumla_key, json!({"vendorId": orebro_vendor["id"], "externalRef": "x"})).await.unwrap();
    assert_eq!(res.status(), 400, "a vendor that does not serve Kumla");

    // The federated query: near Kumla, 50 km, Thursday evening, within the longest deadline
    // (5 s), which the healthy vendor meets on however loaded a machine.
    let url = app.url(
        "/v1/availability?near=59.13,15.14&radiusM=50000&from=2026-12-03T17:00:00%2B01:00&to=2026-12-03T22:00:00%2B01:00&deadlineMs=5000",
    );
    // The hanging vendor sleeps an hour: an answer at all means the deadline held, and only the
    // deadline can end its part.
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let a: Value = r.json().await.unwrap();
    let facility =
        |id: uuid::Uuid| a["facilities"].as_array().unwrap().iter().find(|f| f["facilityId"] == id.to_string()).cloned().unwrap();
    let k = facility(kumla.id);
    assert_eq!(k["units"][0]["status"], "ok");
    let slots = k["units"][0]["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 5, "five whole hours 17–22 local: {k}");
    assert_eq!(slots[0]["start"], "2026-12-03T16:00:00Z");
    assert!(slots.iter().all(|s| s["state"] == "free" || s["state"] == "booked"));
    assert_eq!(
        slots.iter().find(|s| s["state"] == "free").unwrap()["prices"][0],
        json!({"customerType": "association", "amountMinorPerHour": 15000, "currency": "SEK"})
    );
    let o = facility(orebro.id);
    assert_eq!(o["municipalityName"], "Örebro", "across the border");
    assert_eq!(o["units"][0]["status"], "timeout");
    assert_eq!(o["units"].as_array().unwrap().len(), 1, "only bookable units are asked about");
    assert!(facility(no_vendor.id)["units"].as_array().unwrap().iter().all(|u| u["status"] == "no_vendor"));
    let vendors = a["vendors"].as_array().unwrap();
    let status = |name: &str| vendors.iter().find(|v| v["name"] == name).map(|v| (v["status"].clone(), v["message"].clone())).unwrap();
    assert_eq!(status("Kumlabokning").0, "ok");
    let (s, m) = status("Örebrobokning");
    assert_eq!(s, "timeout");
    assert!(m.as_str().unwrap().starts_with("no answer within"), "{m}");

    // Bad parameters are named.
    for (q, field) in [
        ("near=59.13,15.14", "from"),
        ("from=2026-12-03T17:00:00Z&to=2026-12-03T16:00:00Z", "to"),
        ("from=2026-12-03T17:00:00Z&to=2027-01-03T16:00:00Z", "to"),
        ("from=2026-12-03T17:00:00Z&to=2026-12-03T18:00:00Z&deadlineMs=9000", "deadlineMs"),
        ("from=yesterday&to=2026-12-03T18:00:00Z", "from"),
        ("from=2026-12-03T17:00:00Z&to=2026-12-03T18:00:00Z&near=north", "near"),
    ] {
        let r = http.get(app.url(&format!("/v1/availability?{q}"))).send().await.unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{q}: {p}");
    }
}

/// The same query over gRPC: a stream of candidates, each vendor's part, and a summary; the
/// times are those REST returns.
#[tokio::test]
async fn grpc_streams_candidates_vendors_and_a_summary() {
    use gpb::search_availability_response::Event;
    use grpc_api::proto::v1 as gpb;
    use grpc_api::proto::v1::availability_service_client::AvailabilityServiceClient;
    use registry_core::model::{VendorAuth, VendorInput, VendorProtocol};

    let app = TestApp::start().await;
    let admin = Principal::operator("test");
    let mut ids = Vec::new();
    for (name, faults, code) in
        [("Kumlabokning", Faults::default(), "1881"), ("Örebrobokning", Faults { hang_rate: 1.0, ..Faults::default() }, "1880")]
    {
        let input = VendorInput {
            name: name.into(),
            endpoint: vendor(faults).await,
            protocol: VendorProtocol::Grpc,
            auth: VendorAuth::None,
            credential_ref: None,
            ca_pem: None,
            max_concurrency: None,
            requests_per_second: None,
            municipality_codes: vec![code.into()],
            test_units: vec![],
        };
        ids.push(app.registry.create_vendor(&admin, &input, fixtures::passing_checks(), None).await.unwrap().id);
    }
    let kumla = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    let mut o = fixtures::facility("1880", "Örebro sporthall");
    o.location = Some(LatLon { lat: 59.2753, lon: 15.2134 });
    let orebro = app.registry.create_facility(&admin, &o).await.unwrap();
    app.registry.set_unit_vendor(&admin, kumla.id, kumla.units[0].id, Some((ids[0], "hall-a".into()))).await.unwrap();
    app.registry.set_unit_vendor(&admin, orebro.id, orebro.units[0].id, Some((ids[1], "hall-a".into()))).await.unwrap();

    let mut client = AvailabilityServiceClient::new(app.channel().await);
    let t = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    let from = 1_796_317_200; // 2026-12-03T17:00:00Z
    // The longest deadline: the healthy vendor answers within it however loaded the machine;
    // the hanging one never does.
    let req = gpb::SearchAvailabilityRequest {
        from: t(from),
        to: t(from + 3 * 3600),
        deadline_ms: Some(5000),
        near: Some(gpb::LatLon { lat: 59.13, lon: 15.14 }),
        radius_m: Some(50_000.0),
        ..Default::default()
    };
    let mut stream = client.search_availability(req.clone()).await.unwrap().into_inner();
    let mut events = Vec::new();
    while let Some(e) = stream.message().await.unwrap() {
        events.push(e.event.unwrap());
    }
    assert_eq!(events.len(), 4, "candidates, two vendors, summary");
    let Event::Candidates(c) = &events[0] else { panic!("{:?}", events[0]) };
    assert_eq!(c.facilities.len(), 2);
    assert!(c.facilities.iter().all(|f| f.units[0].status == "pending"), "{c:?}");
    let vendor_events: Vec<&gpb::AvailabilityVendorResult> = events[1..3]
        .iter()
        .map(|e| match e {
            Event::Vendor(v) => v,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(vendor_events[0].report.as_ref().unwrap().status, "ok", "the healthy vendor answers first");
    let unit = vendor_events[0].units[0].unit.as_ref().unwrap();
    assert_eq!(
        (vendor_events[0].units[0].facility_id.as_str(), unit.status.as_str(), unit.slots.len()),
        (kumla.id.to_string().as_str(), "ok", 3)
    );
    assert_eq!(vendor_events[1].report.as_ref().unwrap().status, "timeout");
    assert_eq!(vendor_events[1].units[0].unit.as_ref().unwrap().status, "timeout");
    let Event::Summary(s) = &events[3] else { panic!() };
    let mut statuses: Vec<&str> = s.vendors.iter().map(|v| v.status.as_str()).collect();
    statuses.sort();
    assert_eq!(statuses, ["ok", "timeout"]);

    // REST gives the same times.
    let url = app.url("/v1/availability?near=59.13,15.14&radiusM=50000&from=2026-12-03T17:00:00Z&to=2026-12-03T20:00:00Z&deadlineMs=5000");
    let a: Value = app.http().get(url).send().await.unwrap().json().await.unwrap();
    let rest_slots: Vec<String> =
        a["facilities"].as_array().unwrap().iter().find(|f| f["facilityId"] == kumla.id.to_string()).unwrap()["units"][0]["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start"].as_str().unwrap().to_string())
            .collect();
    let grpc_slots: Vec<String> = unit
        .slots
        .iter()
        .map(|s| chrono::DateTime::from_timestamp(s.start.unwrap().seconds, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .collect();
    assert_eq!(rest_slots, grpc_slots);

    // And as NDJSON, line by line as the vendors answer.
    let url = app.url("/v1/availability?near=59.13,15.14&radiusM=50000&from=2026-12-03T17:00:00Z&to=2026-12-03T20:00:00Z&deadlineMs=5000");
    let r = app.http().get(url).header("accept", "application/x-ndjson").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["candidates", "vendor", "vendor", "summary"]);
    assert_eq!(lines[1]["vendor"]["status"], "ok");
    assert_eq!(lines[1]["units"][0]["unit"]["slots"].as_array().unwrap().len(), 3);
    assert_eq!(lines[2]["vendor"]["status"], "timeout");

    // Bad requests are INVALID_ARGUMENT naming the field.
    let mut bad = req;
    bad.to = t(from - 60);
    let e = client.search_availability(bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    use tonic_types::StatusExt;
    assert_eq!(e.get_error_details().bad_request().unwrap().field_violations[0].field, "to");
}

/// A vendor that publishes an OpenActive RPDE feed instead of answering queries: registered
/// over REST (its first page read), harvested, and answering availability from the harvest.
#[tokio::test]
async fn an_openactive_feed_vendor_answers_from_its_harvest() {
    let feed = axum::Router::new().route(
        "/feeds/slots",
        axum::routing::get(|axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| async move {
            let first = !q.contains_key("afterTimestamp");
            let items = if first {
                vec![json!({"state": "updated", "kind": "FacilityUse/Slot", "id": "s1", "modified": 1, "data": {
                    "@type": "Slot", "facilityUse": "https://oa.example.se/uses/hall-a",
                    "startDate": "2026-12-03T18:00:00+01:00", "endDate": "2026-12-03T19:30:00+01:00", "remainingUses": 1,
                    "offers": [{"@type": "Offer", "price": 450, "priceCurrency": "SEK"}]}})]
            } else {
                vec![]
            };
            axum::Json(json!({"next": "/feeds/slots?afterTimestamp=1&afterId=s1", "items": items}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, feed).await.unwrap() });

    let app = TestApp::start().await;
    let keys = app.keys().await;
    let body = json!({"name": "Flödesbokning", "endpoint": format!("{base}/feeds/slots"), "protocol": "VENDOR_PROTOCOL_OPENACTIVE", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": ["1881"]});
    let r = app.http().post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["capabilities"]["slotsOnFirstPage"], 1);
    let admin = Principal::operator("test");
    let kumla = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    let vendor_id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
    app.registry
        .set_unit_vendor(&admin, kumla.id, kumla.units[0].id, Some((vendor_id, "https://oa.example.se/uses/hall-a".into())))
        .await
        .unwrap();

    // The first query starts the harvest; answers come once it has read the feed.
    let url = app.url("/v1/availability?municipalities=1881&from=2026-12-03T17:00:00%2B01:00&to=2026-12-03T22:00:00%2B01:00");
    let a = tests::eventually(async || {
        let a: Value = app.http().get(&url).send().await.unwrap().json().await.unwrap();
        a["facilities"][0]["units"][0]["slots"].as_array().is_some_and(|s| !s.is_empty()).then_some(a)
    })
    .await
    .expect("an answer from the harvest");
    assert_eq!(a["vendors"][0]["status"], "ok", "{a}");
    let slots = a["facilities"][0]["units"][0]["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 1, "the harvested slot");
    assert_eq!(
        (slots[0]["start"].as_str(), slots[0]["end"].as_str(), slots[0]["state"].as_str()),
        (Some("2026-12-03T17:00:00Z"), Some("2026-12-03T18:30:00Z"), Some("free"))
    );
}
