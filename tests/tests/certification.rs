//! Vendor certification in the vendor directory (docs/vendor-protocol.md §13): a vendor that
//! fails the conformance kit is refused with the failing checks' ids unless an admin overrides
//! (kept, in the change log and the audit log); every run is kept and readable over REST and
//! gRPC; the federated query reports vendors whose certification failed or lapsed as
//! `uncertified` without asking them; a change of a vendor's capabilities starts a run; and the
//! public list shows the certified vendors.

use federation::fault::{Defect, FaultVendor, Faults};
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::vendor_directory_service_client::VendorDirectoryServiceClient;
use registry_core::auth::Principal;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;

async fn vendor(faults: Faults) -> (FaultVendor, String) {
    let v = FaultVendor::new(vec!["hall-a".into(), "hall-b".into()], faults, 7);
    let addr = v.clone().serve().await;
    (v, format!("http://{addr}"))
}

fn broken() -> Faults {
    Faults { defects: vec![Defect::WrongTimeZone, Defect::NotServing], ..Faults::default() }
}

fn body(name: &str, endpoint: &str, codes: &[&str]) -> Value {
    json!({"name": name, "endpoint": endpoint, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": codes})
}

const REASON: &str = "Kumla's only booking system; the vendor fixes its time zone by 2026-12-15 (ticket 4711)";

#[tokio::test]
async fn a_vendor_that_fails_the_kit_is_refused_unless_an_admin_overrides() {
    use tonic_types::StatusExt;
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let http = app.http();
    let (_, endpoint) = vendor(broken()).await;
    let post = |key: &str, b: Value| http.post(app.url("/v1/vendors")).header("x-api-key", key).json(&b).send();

    // Refused, naming every failing check (with its section) and how to override.
    let r = post(&keys.admin, body("Kumlabokning", &endpoint, &["1881"])).await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    let errors = p["errors"].as_array().unwrap();
    let conformance: Vec<&str> = errors.iter().filter(|e| e["rule"] == "conformance").map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(conformance.len(), 2, "{p}");
    assert!(conformance[0].starts_with("fails check capabilities.well_formed (§5") && conformance[0].contains("time_zone"), "{p}");
    assert!(conformance[1].starts_with("fails check health.serving (§9"), "{p}");
    assert!(errors.iter().all(|e| e["field"] == "endpoint" || e["field"] == "certificationOverride"), "{p}");
    assert!(errors.iter().any(|e| e["field"] == "certificationOverride" && e["rule"] == "required_without_passing_run"), "{p}");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM vendors").await, 0, "nothing was written");

    // gRPC refuses the same way, with the ids in BadRequest.
    let mut c = VendorDirectoryServiceClient::new(app.channel().await);
    let input = pb::VendorInput {
        name: "Kumlabokning".into(),
        endpoint: endpoint.clone(),
        protocol: pb::VendorProtocol::Grpc as i32,
        auth: pb::VendorAuth::None as i32,
        municipality_codes: vec!["1881".into()],
        ..Default::default()
    };
    let e = c
        .create_vendor(with_key(pb::CreateVendorRequest { vendor: Some(input.clone()), certification_override: None }, &keys.admin))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let v = e.get_error_details().bad_request().unwrap().field_violations.clone();
    assert!(v[0].description.contains("capabilities.well_formed") && v[1].description.contains("health.serving"), "{v:?}");

    // An override needs a reason, and an admin.
    let mut with_override = body("Kumlabokning", &endpoint, &["1881"]);
    with_override["certificationOverride"] = json!({"reason": "ok"});
    let p: Value = post(&keys.admin, with_override.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(
        (p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()),
        (Some("certificationOverride.reason"), Some("length")),
        "{p}"
    );
    // An override lasts at most 90 days from today.
    let too_late = tests::now() + chrono::Duration::days(91);
    with_override["certificationOverride"] = json!({"reason": REASON, "until": too_late});
    let p: Value = post(&keys.admin, with_override.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "certificationOverride.until", "{p}");
    with_override["certificationOverride"] = json!({"reason": REASON, "colour": "red"});
    let p: Value = post(&keys.admin, with_override.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(p["errors"][0]["rule"], "unknown_field", "{p}");
    with_override["certificationOverride"] = json!({"reason": REASON});
    assert_eq!(post(&keys.editor_0180, with_override.clone()).await.unwrap().status(), 403);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM vendors").await, 0);

    let r = post(&keys.admin, with_override).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let cert = &v["certification"];
    assert_eq!(cert["status"], "CERTIFICATION_STATUS_OVERRIDDEN", "{v}");
    assert_eq!(cert["failedChecks"], json!(["capabilities.well_formed", "health.serving"]));
    assert_eq!(cert["override"]["reason"], REASON);
    assert!(cert["override"]["by"].as_str().is_some_and(|b| b.starts_with("key:")), "admins see who: {v}");
    let public: Value = http.get(app.url(&format!("/v1/vendors/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["certification"]["override"]["reason"], REASON);
    assert!(public["certification"]["override"].get("by").is_none(), "the public does not see who: {public}");

    // The override is in the audit log and in the vendor's change log, with who and why.
    let audited = format!(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'vendor.certification_override' AND entity = 'vendor'
            AND entity_id = '{id}' AND detail ->> 'reason' = '{}' AND actor LIKE 'key:%'
            AND detail -> 'failedChecks' = '[\"capabilities.well_formed\", \"health.serving\"]'::jsonb",
        REASON.replace('\'', "''")
    );
    assert_eq!(app.db.count(&audited).await, 1);
    let trail: Value = http
        .get(app.url(&format!("/v1/audit?entity=vendor&id={id}")))
        .header("x-api-key", &keys.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = &trail["changes"][0];
    assert_eq!(
        (created["operation"].as_str(), created["after"]["certification"]["override"]["reason"].as_str()),
        (Some("create"), Some(REASON)),
        "{trail}"
    );

    // The failed run is kept.
    let runs: Value = http.get(app.url(&format!("/v1/vendors/{id}/certification/runs"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    let run = &runs["runs"][0];
    assert_eq!((run["trigger"].as_str(), run["passed"].as_bool()), (Some("RUN_TRIGGER_REGISTRATION"), Some(false)));
    assert_eq!(run["failedChecks"], cert["failedChecks"]);
    assert!(run["checks"].as_array().unwrap().iter().any(|c| c["id"] == "health.serving" && c["verdict"] == "fail"), "{run}");

    // Moving a certified vendor to a failing endpoint is refused the same way; an override
    // lets it through.
    let (_, good) = vendor(Faults::default()).await;
    let r = post(&keys.admin, body("Örebrobokning", &good, &["1880"])).await.unwrap();
    let ok: Value = r.json().await.unwrap();
    assert_eq!(ok["certification"]["status"], "CERTIFICATION_STATUS_CERTIFIED", "{ok}");
    let url = app.url(&format!("/v1/vendors/{}", ok["id"].as_str().unwrap()));
    let patch = |b: Value, version: i64| {
        http.patch(&url)
            .header("x-api-key", &keys.admin)
            .header("if-match", format!("\"{version}\""))
            .header("content-type", "application/merge-patch+json")
            .body(b.to_string())
            .send()
    };
    let r = patch(json!({"endpoint": endpoint}), 1).await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("capabilities.well_formed"), "{p}");
    let r = patch(json!({"endpoint": endpoint, "certificationOverride": {"reason": REASON}}), 1).await.unwrap();
    assert_eq!(r.status(), 200);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["certification"]["status"], "CERTIFICATION_STATUS_OVERRIDDEN", "{moved}");
    let runs: Value = http.get(format!("{url}/certification/runs")).send().await.unwrap().json().await.unwrap();
    let triggers: Vec<&str> = runs["runs"].as_array().unwrap().iter().map(|r| r["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["RUN_TRIGGER_ENDPOINT_CHANGE", "RUN_TRIGGER_REGISTRATION"]);

    // Clearing the override (admins only) leaves the vendor failed; that is audited too.
    let clear = |key: &str| http.delete(app.url(&format!("/v1/vendors/{id}/certification/override"))).header("x-api-key", key).send();
    assert_eq!(clear(&keys.vendor).await.unwrap().status(), 403);
    let r = clear(&keys.admin).await.unwrap();
    assert_eq!(r.status(), 200);
    let cleared: Value = r.json().await.unwrap();
    assert_eq!(cleared["certification"]["status"], "CERTIFICATION_STATUS_FAILED", "{cleared}");
    assert!(cleared["certification"].get("override").is_none());
    assert_eq!(cleared["version"], 2);
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'vendor.certification_override_cleared' AND entity_id = '{id}'"
            ))
            .await,
        1
    );
    // And set again over gRPC, with a stale version refused.
    let o = pb::OverrideInput { reason: REASON.into(), until: None };
    let req = |version: i64| pb::OverrideCertificationRequest {
        id: id.clone(),
        certification_override: Some(o.clone()),
        expected_version: version,
    };
    let e = c.override_certification(with_key(req(1), &keys.admin)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = c.override_certification(with_key(req(2), &keys.editor_0180)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let v = c.override_certification(with_key(req(2), &keys.admin)).await.unwrap().into_inner().vendor.unwrap();
    let cert = v.certification.unwrap();
    assert_eq!(cert.status, pb::CertificationStatus::Overridden as i32);
    assert_eq!(cert.r#override.unwrap().reason, REASON);
}

#[tokio::test]
async fn the_federated_query_reports_failed_and_lapsed_certifications_without_asking_those_vendors() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let http = app.http();
    let admin = Principal::operator("test");
    // Four vendors, one municipality each: one stays certified, one fails a later run, one
    // lapses, and one is overridden although it fails.
    let mut vendors = Vec::new();
    for (name, code, faults) in [
        ("Kumlabokning", "1881", Faults::default()),
        ("Örebrobokning", "1880", Faults::default()),
        ("Hallsbergbokning", "1861", Faults::default()),
        ("Lekebergbokning", "1814", Faults { defects: vec![Defect::NotServing], ..Faults::default() }),
    ] {
        let (faulty, endpoint) = vendor(faults).await;
        let mut b = body(name, &endpoint, &[code]);
        if code == "1814" {
            b["certificationOverride"] = json!({"reason": REASON});
        }
        let r = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&b).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
        let f = app.registry.create_facility(&admin, &fixtures::facility(code, &format!("Sporthall {code}"))).await.unwrap();
        app.registry.set_unit_vendor(&admin, f.id, f.units[0].id, Some((id, "hall-a".into()))).await.unwrap();
        vendors.push((faulty, id));
    }
    // A new window each time, so that no answer comes from the federation's cache.
    let query = |hour: u32| {
        app.url(&format!(
            "/v1/availability?municipalities=1881,1880,1861,1814&from=2026-12-03T{hour:02}:00:00Z&to=2026-12-03T{:02}:00:00Z&deadlineMs=2000",
            hour + 3
        ))
    };
    let statuses = |a: &Value| -> Vec<(String, String, String)> {
        let mut s: Vec<(String, String, String)> = a["vendors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap().into(), v["status"].as_str().unwrap().into(), v["message"].as_str().unwrap_or("").into()))
            .collect();
        s.sort();
        s
    };
    let a: Value = http.get(query(10)).send().await.unwrap().json().await.unwrap();
    assert!(statuses(&a).iter().all(|s| s.1 == "ok"), "{a}");

    // Örebro's vendor breaks, and a run records it; Hallsberg's last passing run gets too old.
    vendors[1].0.set(Faults { defects: vec![Defect::NotServing], ..Faults::default() });
    let r = http.post(app.url(&format!("/v1/vendors/{}/checks", vendors[1].1))).header("x-api-key", &keys.admin).send().await.unwrap();
    let failed: Value = r.json().await.unwrap();
    assert_eq!(failed["certification"]["status"], "CERTIFICATION_STATUS_FAILED", "{failed}");
    assert_eq!(failed["certification"]["failedChecks"], json!(["health.serving"]));
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE vendors SET certified_until = '{}' WHERE id = '{}'",
            (tests::now() - chrono::Duration::minutes(1)).to_rfc3339(),
            vendors[2].1
        )),
        &mut conn,
    )
    .await
    .unwrap();
    let lapsed: Value = http.get(app.url(&format!("/v1/vendors/{}", vendors[2].1))).send().await.unwrap().json().await.unwrap();
    assert_eq!(lapsed["certification"]["status"], "CERTIFICATION_STATUS_LAPSED", "{lapsed}");

    let calls: Vec<usize> = vendors.iter().map(|v| v.0.availability_calls()).collect();
    let a: Value = http.get(query(11)).send().await.unwrap().json().await.unwrap();
    let s = statuses(&a);
    assert_eq!(
        s.iter().map(|s| (s.0.as_str(), s.1.as_str())).collect::<Vec<_>>(),
        [("Hallsbergbokning", "uncertified"), ("Kumlabokning", "ok"), ("Lekebergbokning", "ok"), ("Örebrobokning", "uncertified"),]
    );
    assert!(s[0].2.contains("lapsed"), "{s:?}");
    assert!(s[3].2.contains("failed") && s[3].2.contains("health.serving"), "{s:?}");
    for f in a["facilities"].as_array().unwrap() {
        let expected = if ["1861", "1880"].contains(&f["municipalityCode"].as_str().unwrap()) { "uncertified" } else { "ok" };
        assert_eq!(f["units"][0]["status"], expected, "{f}");
    }
    let after: Vec<usize> = vendors.iter().map(|v| v.0.availability_calls()).collect();
    assert_eq!((after[1], after[2]), (calls[1], calls[2]), "uncertified vendors are not asked");
    assert!(after[0] > calls[0] && after[3] > calls[3], "certified and overridden vendors are");

    // The public list shows only the certified vendor, with what a municipality chooses by.
    let list: Value = http.get(app.url("/v1/vendors/certified")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list["vendors"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Kumlabokning"], "{list}");
    let kumla = &list["vendors"][0];
    assert_eq!((kumla["protocolVersion"].as_str(), &kumla["municipalityCodes"]), (Some("1.1"), &json!(["1881"])), "{list}");
    assert!(kumla["lastPassedAt"].is_string() && kumla["certifiedUntil"].is_string(), "{list}");
    let mut c = VendorDirectoryServiceClient::new(app.channel().await);
    let grpc = c.list_certified_vendors(pb::ListCertifiedVendorsRequest {}).await.unwrap().into_inner();
    assert_eq!(grpc.vendors.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["Kumlabokning"]);
    assert_eq!(grpc.vendors[0].protocol_version, "1.1");

    // Örebro's vendor is fixed; a passing run certifies it again, and it is asked again.
    vendors[1].0.set(Faults::default());
    let r = http.post(app.url(&format!("/v1/vendors/{}/checks", vendors[1].1))).header("x-api-key", &keys.admin).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["certification"]["status"], "CERTIFICATION_STATUS_CERTIFIED", "{v}");
    let a: Value = http.get(query(12)).send().await.unwrap().json().await.unwrap();
    assert!(statuses(&a).iter().any(|s| s.0 == "Örebrobokning" && s.1 == "ok"), "{a}");

    // Its runs, newest first, a page at a time, over REST and gRPC.
    let runs_url = app.url(&format!("/v1/vendors/{}/certification/runs", vendors[1].1));
    let page: Value = http.get(format!("{runs_url}?pageSize=2")).send().await.unwrap().json().await.unwrap();
    let summary = |p: &Value| -> Vec<(String, bool)> {
        p["runs"].as_array().unwrap().iter().map(|r| (r["trigger"].as_str().unwrap().into(), r["passed"].as_bool().unwrap())).collect()
    };
    assert_eq!(summary(&page), [("RUN_TRIGGER_REQUEST".into(), true), ("RUN_TRIGGER_REQUEST".into(), false)]);
    let next = page["nextPageToken"].as_str().unwrap();
    let page: Value = http.get(format!("{runs_url}?pageSize=2&pageToken={next}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(summary(&page), [("RUN_TRIGGER_REGISTRATION".into(), true)]);
    assert!(page.get("nextPageToken").is_none());
    let r = http.get(format!("{runs_url}?pageSize=500")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    for (token, rule) in [("nonsense", "format"), (uuid::Uuid::now_v7().to_string().as_str(), "unknown")] {
        let p: Value = http.get(format!("{runs_url}?pageToken={token}")).send().await.unwrap().json().await.unwrap();
        assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()), (Some("pageToken"), Some(rule)), "{p}");
    }
    let r = http.get(app.url(&format!("/v1/vendors/{}/certification/runs", uuid::Uuid::now_v7()))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let grpc = c
        .list_certification_runs(pb::ListCertificationRunsRequest {
            id: vendors[1].1.to_string(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let triggers: Vec<i32> = grpc.runs.iter().map(|r| r.trigger).collect();
    use pb::RunTrigger as T;
    assert_eq!(triggers, [T::Request as i32, T::Request as i32, T::Registration as i32]);
    assert_eq!(grpc.runs[1].failed_checks, ["health.serving"]);
    assert!(grpc.runs[1].checks.iter().any(|c| c.id == "health.serving" && c.verdict == "fail"));
}

#[tokio::test]
async fn a_change_of_capabilities_starts_a_run() {
    let config = grpc_api::server::ServerConfig {
        vendor_check_interval: Some(std::time::Duration::from_secs(3600)),
        vendor_poll_interval: std::time::Duration::from_millis(100),
        ..grpc_api::server::ServerConfig::default()
    };
    let app = TestApp::start_with(config).await;
    let keys = app.keys().await;
    let http = app.http();
    let (faulty, endpoint) = vendor(Faults::default()).await;
    let r = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body("Kumlabokning", &endpoint, &["1881"])).send();
    let v: Value = r.await.unwrap().json().await.unwrap();
    let runs_url = app.url(&format!("/v1/vendors/{}/certification/runs", v["id"].as_str().unwrap()));

    // The vendor now states another time zone: the poll notices, and a run follows.
    faulty.set(Faults { defects: vec![Defect::WrongTimeZone], ..Faults::default() });
    let seen = tests::eventually(async || {
        let runs: Value = http.get(&runs_url).send().await.unwrap().json().await.unwrap();
        (runs["runs"].as_array().unwrap().len() > 1).then_some(runs)
    })
    .await;
    let runs = seen.expect("a run after the capabilities changed");
    let newest = &runs["runs"][0];
    assert_eq!(newest["trigger"], "RUN_TRIGGER_CAPABILITIES_CHANGED", "{runs}");
    assert_eq!(newest["failedChecks"], json!(["capabilities.well_formed"]));
    let now: Value = http.get(app.url(&format!("/v1/vendors/{}", v["id"].as_str().unwrap()))).send().await.unwrap().json().await.unwrap();
    assert_eq!(now["certification"]["status"], "CERTIFICATION_STATUS_FAILED", "{now}");
    assert_ne!(now["capabilities"]["timeZone"], "Europe/Stockholm", "the new capabilities are kept: {now}");

    // Unchanged capabilities start nothing more (the schedule is hourly here), and the
    // metrics count the vendor as failed once a round has ended.
    let failed = "vendors_by_certification{status=\"failed\"} 1";
    let metrics = tests::eventually(async || {
        let m = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        m.contains(failed).then_some(m)
    })
    .await
    .expect("the metric counts the failed vendor");
    assert!(metrics.contains("vendors_by_certification{status=\"certified\"} 0"), "{metrics}");
    // Nothing more, checked after polls that certainly saw the new capabilities: the poll
    // counted next may have started before the run was recorded, the one after it cannot
    // have (one vendor, one poller: its polls follow one another).
    let polls = async || -> u64 {
        let m = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        m.lines().find_map(|l| l.strip_prefix("vendor_polls_total ")).map_or(0, |n| n.trim().parse().unwrap())
    };
    let seen = polls().await;
    tests::eventually(async || (polls().await >= seen + 2).then_some(())).await.expect("the poller polls the vendor again");
    let later: Value = http.get(&runs_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(later["runs"].as_array().unwrap().len(), 2, "{later}");
}

#[tokio::test]
async fn runs_book_the_vendors_test_units_so_that_booking_defects_fail_certification() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let http = app.http();
    let post = |b: Value| http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&b).send();
    let (double, endpoint) = vendor(Faults { bookings: true, defects: vec![Defect::DoubleBooking], ..Faults::default() }).await;

    // Without test units the runs only read, and cannot see that it books a taken slot again.
    let r = post(body("Dubbelbokning", &endpoint, &["1881"])).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let skipped =
        v["conformance"]["checks"].as_array().unwrap().iter().filter(|c| c["id"].as_str().unwrap().starts_with("booking.")).count();
    assert!(skipped > 0 && v["conformance"]["checks"].as_array().unwrap().iter().all(|c| c["verdict"] != "fail"), "{v}");
    let id = v["id"].as_str().unwrap().to_string();

    // Naming a test unit is a change that is run again first: the vendor's own key may, and is
    // refused with the booking check that fails.
    let own = app.vendor_key(id.parse().unwrap()).await;
    let url = app.url(&format!("/v1/vendors/{id}"));
    let patch = |b: Value| {
        http.patch(&url)
            .header("x-api-key", &own)
            .header("if-match", "\"1\"")
            .header("content-type", "application/merge-patch+json")
            .body(b.to_string())
            .send()
    };
    let r = patch(json!({"testUnits": ["hall-a"]})).await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    let failed: Vec<&str> =
        p["errors"].as_array().unwrap().iter().filter(|e| e["rule"] == "conformance").map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(failed.len(), 1, "{p}");
    assert!(failed[0].starts_with("fails check booking.slot_unavailable (§7"), "{p}");
    // Only admins override.
    let r = patch(json!({"testUnits": ["hall-a"], "certificationOverride": {"reason": REASON}})).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = patch(json!({"testUnits": ["hall-a", "hall-a"]})).await.unwrap();
    let p: Value = r.json().await.unwrap();
    assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()), (Some("testUnits[1]"), Some("duplicate")), "{p}");

    // A vendor that books correctly passes with its test unit, every booking check run.
    let (good, endpoint) = vendor(Faults { bookings: true, ..Faults::default() }).await;
    let mut b = body("Rättbokning", &endpoint, &["1880"]);
    b["testUnits"] = json!(["hall-b"]);
    let r = post(b).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["testUnits"], json!(["hall-b"]));
    let booking: Vec<(&str, &str)> = v["conformance"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("booking."))
        .map(|c| (c["id"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
        .collect();
    assert!(booking.len() >= 8 && booking.iter().all(|c| c.1 == "pass"), "{booking:?}");
    drop((double, good));
}
