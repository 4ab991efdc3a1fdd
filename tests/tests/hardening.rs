//! Issue 25's findings, each as a test that failed on the main of 2026-12-05 and passes since:
//! text with a NUL or other control characters (a 500 / INTERNAL before; now 400 /
//! INVALID_ARGUMENT naming the field, over REST and gRPC), and a bounding box as wide as the
//! world (a PostGIS "antipodal edge" 500 before), a create body that is not a JSON object (403
//! before), and, in `stalled`, clients that hold the server's places.

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::availability_service_client::AvailabilityServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::opening_hours_service_client::OpeningHoursServiceClient;
use grpc_api::proto::v1::search_service_client::SearchServiceClient;
use registry_core::auth::Principal;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;
use tonic_types::StatusExt;

/// The field a REST 400 names first, or what came instead.
async fn rest_field(res: reqwest::Response) -> String {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status != 400 {
        return format!("status {status}: {body}");
    }
    body["errors"][0]["field"].as_str().unwrap_or("?").to_string()
}

/// The field a gRPC INVALID_ARGUMENT names first (google.rpc.BadRequest), or what came instead.
fn grpc_field(s: tonic::Status) -> String {
    if s.code() != Code::InvalidArgument {
        return format!("{:?}: {}", s.code(), s.message());
    }
    s.get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_else(|| format!("no field: {}", s.message()))
}

#[tokio::test]
async fn text_with_nul_or_control_characters_is_refused_naming_the_field_not_a_500() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("hardening");
    let hall = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla idrottshall")).await.unwrap();
    let http = app.http();
    let nul = "Hall\u{0}x";

    // Search terms (facility, association, availability).
    for path in ["/v1/search/facilities?q=a%00b", "/v1/search/associations?q=a%00b"] {
        assert_eq!(rest_field(http.get(app.url(path)).send().await.unwrap()).await, "q", "{path}");
    }
    let day = tests::dates::ordinary_day_after(7);
    let (from, to) = (tests::dates::at(day, 17), tests::dates::at(day, 20));
    let avail = format!("/v1/availability?from={}&to={}&q=a%00b", urlencode(&from.to_rfc3339()), urlencode(&to.to_rfc3339()));
    assert_eq!(rest_field(http.get(app.url(&avail)).send().await.unwrap()).await, "q");

    let mut search = SearchServiceClient::new(app.channel().await);
    let e = search.search_facilities(pb::SearchFacilitiesRequest { q: nul.into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(grpc_field(e), "q");
    let e = search.search_associations(pb::SearchAssociationsRequest { q: nul.into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(grpc_field(e), "q");
    let ts = |t: chrono::DateTime<chrono::Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let req = pb::SearchAvailabilityRequest { from: ts(from), to: ts(to), q: nul.into(), ..Default::default() };
    let e = AvailabilityServiceClient::new(app.channel().await).search_availability(req).await.unwrap_err();
    assert_eq!(grpc_field(e), "q");

    // A facility's texts, one at a time, through REST and gRPC.
    let facility = |field: &str, value: &str| {
        let mut v = serde_json::to_value(fixtures::facility("1881", "Ny hall")).unwrap();
        match field.split_once('.') {
            Some((outer, inner)) => v[outer][inner] = json!(value),
            None => v[field] = json!(value),
        }
        v
    };
    for (field, value) in [
        ("description", nul),
        ("description", "Röd text \u{1b}[31m"),
        ("address.street", nul),
        ("address.locality", nul),
        ("contact.website", "https://kumla.se/\u{0}"),
        ("name", nul),
    ] {
        let body = facility(field, value);
        let res = http.post(app.url("/v1/facilities")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap();
        assert_eq!(rest_field(res).await, field, "REST {body}");
    }
    let mut facilities = FacilityServiceClient::new(app.channel().await);
    for field in ["description", "address.street", "address.locality"] {
        let mut f = fixtures::facility_pb("1881", "Ny hall");
        let address = f.address.as_mut().unwrap();
        match field {
            "description" => f.description = nul.into(),
            "address.street" => address.street = nul.into(),
            _ => address.locality = nul.into(),
        }
        let e = facilities.create_facility(with_key(pb::CreateFacilityRequest { facility: Some(f) }, &keys.admin)).await.unwrap_err();
        assert_eq!(grpc_field(e), field, "gRPC");
    }
    // A description keeps its line breaks.
    let body = facility("description", "Rad ett\nRad två\ttabb");
    let res = http.post(app.url("/v1/facilities")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);

    // An association's website.
    let mut a = serde_json::to_value(fixtures::association("1881", 1)).unwrap();
    a["contact"] = json!({"website": "https://forening.se/\u{0}"});
    let res = http.post(app.url("/v1/associations")).header("x-api-key", &keys.admin).json(&a).send().await.unwrap();
    assert_eq!(rest_field(res).await, "contact.website");

    // An opening-hours exception's reason.
    let day = day.format("%Y-%m-%d").to_string();
    let hours = json!({"exceptions": [{"date": day, "spans": [], "reason": nul}]});
    let res = http
        .put(app.url(&format!("/v1/facilities/{}/opening-hours", hall.id)))
        .header("x-api-key", &keys.admin)
        .json(&hours)
        .send()
        .await
        .unwrap();
    assert_eq!(rest_field(res).await, "exceptions[0].reason");
    let req = pb::SetOpeningHoursRequest {
        facility_id: hall.id.to_string(),
        unit_id: String::new(),
        schedule: Some(pb::set_opening_hours_request::Schedule::Hours(pb::OpeningHours {
            exceptions: vec![pb::DateException { date: day, spans: vec![], reason: nul.into() }],
            ..Default::default()
        })),
        expected_version: 0,
    };
    let e = OpeningHoursServiceClient::new(app.channel().await).set_opening_hours(with_key(req, &keys.admin)).await.unwrap_err();
    assert_eq!(grpc_field(e), "exceptions[0].reason");

    // Nothing of the refused writes was stored: the hall and the one accepted facility.
    assert_eq!(app.db.count("SELECT count(*) AS n FROM facilities WHERE deleted_at IS NULL").await, 2);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM associations").await, 0);
}

#[tokio::test]
async fn a_create_body_that_is_not_an_object_is_a_400_not_a_403() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    for path in ["/v1/facilities", "/v1/associations"] {
        for body in [json!([]), json!([{"municipalityCode": "0180"}]), json!("0180"), json!(42)] {
            let res = app.http().post(app.url(path)).header("x-api-key", &keys.editor_0180).json(&body).send().await.unwrap();
            assert_eq!(rest_field(res).await, "body", "{path} {body}");
        }
    }
}

#[tokio::test]
async fn a_bounding_box_as_wide_as_the_world_finds_what_it_covers() {
    let app = TestApp::start().await;
    let admin = Principal::operator("hardening");
    let hall = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla idrottshall")).await.unwrap();
    let http = app.http();
    for (bbox, found) in [("-180,-90,180,90", true), ("-180,-85,180,85", true), ("-170,-80,-160,-70", false), ("14,58,16,60", true)] {
        let res = http.get(app.url(&format!("/v1/search/facilities?bbox={bbox}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "bbox={bbox}");
        let body: Value = res.json().await.unwrap();
        let ids: Vec<&str> = body["hits"].as_array().unwrap().iter().filter_map(|r| r["facility"]["id"].as_str()).collect();
        assert_eq!(ids.contains(&hall.id.to_string().as_str()), found, "bbox={bbox}: {body}");
    }
    let mut search = SearchServiceClient::new(app.channel().await);
    let req = pb::SearchFacilitiesRequest {
        bbox: Some(pb::BoundingBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 }),
        ..Default::default()
    };
    let page = search.search_facilities(req).await.unwrap().into_inner();
    assert!(page.hits.iter().any(|r| r.facility.as_ref().is_some_and(|f| f.id == hall.id.to_string())));
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

mod stalled {
    //! Finding 1 (one anonymous client locks everyone out with uploads that never finish),
    //! finding 7 (health probes share the anonymous rate limit) and the 504-for-a-slow-body of
    //! finding 9.

    use std::net::SocketAddr;
    use std::time::Duration;

    use grpc_api::server::ServerConfig;
    use tests::TestApp;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    /// A connection from `from` (any 127.x address reaches the server on 127.0.0.1) that sends
    /// the head of a POST announcing `length` bytes and then only `sent` of them.
    async fn upload(server: SocketAddr, from: [u8; 4], length: usize, sent: usize) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let mut s = socket.connect(server).await.unwrap();
        let head =
            format!("POST /v1/facilities HTTP/1.1\r\nHost: registry\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&b"{".repeat(sent)).await.unwrap();
        s
    }

    /// The status of the response on `s` (read until the end of its head).
    async fn status(s: &mut TcpStream) -> u16 {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut chunk)).await.expect("an answer").unwrap();
            assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf);
        head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {head}"))
    }

    fn client_from(from: [u8; 4]) -> reqwest::Client {
        reqwest::Client::builder().local_address(std::net::IpAddr::from(from)).build().unwrap()
    }

    #[tokio::test]
    async fn uploads_that_never_finish_cannot_lock_out_other_clients_and_end_with_408() {
        let config = ServerConfig {
            max_concurrent: 8,
            max_concurrent_per_client: 4,
            body_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        };
        let app = TestApp::start_with(config).await;
        let admin = app.keys().await.admin;
        let server = app.server.addr;

        // As many stalled uploads from one address as the whole server serves at once.
        let mut stalled = Vec::new();
        for _ in 0..8 {
            stalled.push(upload(server, [127, 0, 0, 1], 1000, 10).await);
        }
        // Everyone else is still served: an admin from another address, ten times.
        let other = client_from([127, 0, 0, 2]);
        for i in 0..10 {
            let res = other.get(app.url("/v1/facilities")).header("x-api-key", &admin).send().await.unwrap();
            assert_eq!(res.status(), 200, "request {i} of another client");
        }
        // The stalled address is told to wait for its own requests (429 with Retry-After)...
        let res = client_from([127, 0, 0, 1]).get(app.url("/v1/facilities")).header("x-api-key", &admin).send().await.unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "1");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["type"], "/problems/too-many-in-flight");
        // ...four of its uploads were refused at once, and the four it holds end with 408 once
        // the body deadline passes (it was the 30 s request timeout and a 504).
        let mut codes = Vec::new();
        for s in &mut stalled {
            codes.push(status(s).await);
        }
        codes.sort_unstable();
        assert_eq!(codes, [408, 408, 408, 408, 429, 429, 429, 429]);
        // Its places are free again.
        let res = client_from([127, 0, 0, 1]).get(app.url("/v1/facilities")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }

    #[tokio::test]
    async fn a_body_larger_than_the_limit_is_refused_before_it_is_read() {
        let app = TestApp::start_with(ServerConfig { body_limit: 1000, ..ServerConfig::default() }).await;
        // Only the head is sent: the answer comes without waiting for the 10 MB.
        let mut s = upload(app.server.addr, [127, 0, 0, 1], 10_000_000, 0).await;
        assert_eq!(status(&mut s).await, 413);
    }

    #[tokio::test]
    async fn health_probes_pass_no_limit() {
        let config = ServerConfig {
            rate: grpc_api::limits::RateQuotas { anonymous: 1, ..Default::default() },
            max_concurrent_per_client: 2,
            body_timeout: Duration::from_secs(30),
            ..ServerConfig::default()
        };
        let app = TestApp::start_with(config).await;
        // The prober's address is at its limits: its places are held and its bucket is empty.
        let _held = [upload(app.server.addr, [127, 0, 0, 1], 1000, 1).await, upload(app.server.addr, [127, 0, 0, 1], 1000, 1).await];
        let http = app.http();
        assert_eq!(http.get(app.url("/v1/facilities")).send().await.unwrap().status(), 429);
        for i in 0..30 {
            for path in ["/healthz", "/readyz"] {
                assert_eq!(http.get(app.url(path)).send().await.unwrap().status(), 200, "{path} #{i}");
            }
        }
        let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel().await);
        for i in 0..30 {
            let r = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
            assert_eq!(r.map(|r| r.into_inner().status).ok(), Some(1), "gRPC health #{i}");
        }
    }
}

/// Finding 6: a revoked key kept working for about 30 s (57 writes accepted after revocation),
/// the time the server remembered a key check. Revocations are now announced in the database
/// (LISTEN/NOTIFY) and every replica forgets the key when the revocation commits.
#[tokio::test]
async fn a_revoked_key_stops_working_on_every_replica() {
    let app = TestApp::start().await;
    // A second replica of the server over the same database.
    let replica = grpc_api::server::start(app.registry.clone(), grpc_api::server::ServerConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let servers = [app.base.clone(), format!("http://{}", replica.addr)];
    let key = app.key("admin", None, false).await;
    let http = app.http();
    let status = |base: &str| {
        let req = http.get(format!("{base}/v1/vendors")).header("x-api-key", &key);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Both replicas know and remember the key.
    for base in &servers {
        for _ in 0..5 {
            assert_eq!(status(base).await, 200);
        }
    }
    let prefix = key.split('_').nth(1).unwrap().to_string();
    registry_core::keys::revoke(app.registry.pool(), &prefix).await.unwrap();
    // Refused on both, well before the 30 s the check used to be remembered.
    for base in &servers {
        let refused = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while status(base).await != 401 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "{base} still accepts the revoked key after 10 s");
    }
}

/// Finding 9: a gRPC UpdateFacility with a partial message and an update_mask was refused (the
/// whole message was converted and validated before the mask applied), although docs/api.md
/// shows exactly that call. Only the fields the mask names are read now (AIP-134).
#[tokio::test]
async fn a_grpc_update_reads_only_the_fields_its_mask_names() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("hardening");
    let hall = app.registry.create_facility(&admin, &fixtures::facility("0180", "Gamla namnet")).await.unwrap();
    let mut facilities = FacilityServiceClient::new(app.channel().await);
    let req = pb::UpdateFacilityRequest {
        facility: Some(pb::Facility { id: hall.id.to_string(), name: "Nya namnet".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        expected_version: hall.version,
    };
    let updated = facilities.update_facility(with_key(req, &keys.editor_0180)).await.unwrap().into_inner().facility.unwrap();
    assert_eq!(updated.name, "Nya namnet");
    let after = app.registry.get_facility(&admin, hall.id).await.unwrap();
    assert_eq!(after.to_input(), registry_core::model::FacilityInput { name: "Nya namnet".into(), ..hall.to_input() });

    let a = app.registry.create_association(&admin, &fixtures::association("0180", 7)).await.unwrap();
    let mut associations = grpc_api::proto::v1::association_service_client::AssociationServiceClient::new(app.channel().await);
    let req = pb::UpdateAssociationRequest {
        association: Some(pb::Association { id: a.id.to_string(), name: "Nytt föreningsnamn".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        expected_version: a.version,
    };
    let updated = associations.update_association(with_key(req, &keys.editor_0180)).await.unwrap().into_inner().association.unwrap();
    assert_eq!((updated.name.as_str(), updated.org_number.as_str()), ("Nytt föreningsnamn", a.org_number.as_str()));
}

/// Finding 9: a gRPC request that is not a valid protobuf message was INTERNAL (the server's
/// fault, by its code); it is the caller's, INVALID_ARGUMENT.
#[tokio::test]
async fn an_undecodable_grpc_message_is_invalid_argument() {
    let app = TestApp::start().await;
    // Field 1 with wire type 7, which does not exist; then a length that runs past the end.
    for garbage in [vec![0x0f_u8], vec![0x0a, 0x40, 0x41]] {
        let mut frame = vec![0u8];
        frame.extend_from_slice(&(garbage.len() as u32).to_be_bytes());
        frame.extend_from_slice(&garbage);
        let r = reqwest::Client::builder()
            .http1_only()
            .build()
            .unwrap()
            .post(app.url("/registry.v1.FacilityService/GetFacility"))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .body(frame)
            .send()
            .await
            .unwrap();
        // Trailers-only: the status is in the headers.
        let status = r.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(status.as_deref(), Some("3"), "{garbage:?}: {:?}", r.headers());
    }
}
