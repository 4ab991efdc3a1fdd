//! The vendor directory over its APIs: a vendor's own key keeps its entry up to date (REST and
//! gRPC), checks run on request and on a schedule and the directory shows the latest result,
//! and the gRPC VendorDirectoryService does what REST does, with the same errors.

use federation::fault::{FaultVendor, Faults};
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

fn body(name: &str, endpoint: &str, codes: &[&str]) -> Value {
    json!({"name": name, "endpoint": endpoint, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": codes})
}

#[tokio::test]
async fn a_vendor_keeps_its_own_entry_and_runs_its_checks_over_rest() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let http = app.http();
    let (faulty, endpoint) = vendor(Faults::default()).await;
    let (_, moved_to) = vendor(Faults::default()).await;

    let r = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body("Kumlabokning", &endpoint, &["1881"])).send();
    let v: Value = r.await.unwrap().json().await.unwrap();
    let id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(v["conformance"]["passed"], true, "checked at registration: {v}");
    let other = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body("Annan", &endpoint, &["0180"])).send();
    let other: Value = other.await.unwrap().json().await.unwrap();
    let own = app.vendor_key(id).await;
    let not_own = app.vendor_key(other["id"].as_str().unwrap().parse().unwrap()).await;

    let url = app.url(&format!("/v1/vendors/{id}"));
    let patch = |key: &str, version: i64, b: Value| {
        http.patch(&url)
            .header("x-api-key", key)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", format!("\"{version}\""))
            .body(b.to_string())
            .send()
    };
    // Its own key moves its endpoint (checked again, as at registration) and sets its limits.
    let r = patch(&own, 1, json!({"endpoint": moved_to, "maxConcurrency": 4})).await.unwrap();
    assert_eq!(r.status(), 200);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(
        (moved["endpoint"].as_str(), moved["maxConcurrency"].as_i64(), moved["version"].as_i64()),
        (Some(moved_to.as_str()), Some(4), Some(2))
    );
    assert_ne!(moved["capabilitiesAt"], v["capabilitiesAt"], "the new endpoint was asked");
    // An endpoint that does not answer is refused for the vendor as for an admin.
    let r = patch(&own, 2, json!({"endpoint": "http://127.0.0.1:9"})).await.unwrap();
    assert_eq!(r.status(), 400);
    // The operator's fields are refused with their names; other keys are refused outright.
    let r = patch(&own, 2, json!({"name": "Nytt namn", "municipalityCodes": ["1881", "1880"]})).await.unwrap();
    assert_eq!(r.status(), 403);
    let p: Value = r.json().await.unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("name") && detail.contains("municipalityCodes"), "{p}");
    assert_eq!(patch(&not_own, 2, json!({"maxConcurrency": 2})).await.unwrap().status(), 403);
    assert_eq!(patch(&keys.vendor, 2, json!({"maxConcurrency": 2})).await.unwrap().status(), 403, "a vendor key of no vendor");
    assert_eq!(http.delete(&url).header("x-api-key", &own).send().await.unwrap().status(), 403);

    // Checks on request: the vendor's own key or an admin; the result is recorded, the
    // version stays. The availability checks ask about units it books; a vendor that starts
    // answering garbage fails them.
    let admin = Principal::operator("test");
    let f = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    app.registry.set_unit_vendor(&admin, f.id, f.units[0].id, Some((id, "hall-a".into()))).await.unwrap();
    let checks = app.url(&format!("/v1/vendors/{id}/checks"));
    assert_eq!(http.post(&checks).send().await.unwrap().status(), 401);
    assert_eq!(http.post(&checks).header("x-api-key", &not_own).send().await.unwrap().status(), 403);
    let r = http.post(&checks).header("x-api-key", &own).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let checked: Value = r.json().await.unwrap();
    assert_eq!((checked["conformance"]["passed"].as_bool(), checked["version"].as_i64()), (Some(true), Some(2)));
    let window = checked["conformance"]["checks"].as_array().unwrap().iter().find(|c| c["id"] == "availability.window").cloned();
    assert_eq!(window.unwrap()["verdict"], "pass", "asked about its unit: {checked}");
    let writes = checked["conformance"]["checks"].as_array().unwrap().iter().find(|c| c["id"] == "booking.idempotent_create").cloned();
    assert_eq!(writes.unwrap()["verdict"], "skip", "the registry never books");
    // The moved-to vendor is healthy; move back to the first and break it.
    let r = patch(&keys.admin, 2, json!({"endpoint": endpoint})).await.unwrap();
    assert_eq!(r.status(), 200);
    faulty.set(Faults { garbage_rate: 1.0, ..Faults::default() });
    let r = http.post(&checks).header("x-api-key", &keys.admin).send().await.unwrap();
    let checked: Value = r.json().await.unwrap();
    assert_eq!(checked["conformance"]["passed"], false, "{checked}");
    let failed: Vec<&Value> = checked["conformance"]["checks"].as_array().unwrap().iter().filter(|c| c["verdict"] == "fail").collect();
    assert!(!failed.is_empty() && failed.iter().all(|c| c["detail"].as_str().is_some_and(|d| !d.is_empty())), "{checked}");
    // The public sees the result in the directory.
    let public: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["conformance"], checked["conformance"]);
    assert!(public.get("credentialRef").is_none());

    // The units it books, with its references, for anyone.
    let units: Value = http.get(app.url(&format!("/v1/vendors/{id}/units"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(units["units"][0]["externalRef"], "hall-a");
    assert_eq!(units["units"][0]["unitId"], f.units[0].id.to_string());
    assert_eq!(units["units"][0]["facilityName"], "Kumla sporthall");
    let r = http.get(app.url(&format!("/v1/vendors/{}/units", uuid::Uuid::now_v7()))).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_vendor_is_checked_on_a_schedule() {
    let config = grpc_api::server::ServerConfig {
        vendor_check_interval: Some(std::time::Duration::from_millis(100)),
        vendor_poll_interval: std::time::Duration::from_millis(100),
        ..grpc_api::server::ServerConfig::default()
    };
    let app = TestApp::start_with(config).await;
    let keys = app.keys().await;
    let http = app.http();
    let (faulty, endpoint) = vendor(Faults::default()).await;
    let r = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body("Kumlabokning", &endpoint, &["1881"])).send();
    let v: Value = r.await.unwrap().json().await.unwrap();
    assert_eq!(v["conformance"]["passed"], true);
    let id: uuid::Uuid = v["id"].as_str().unwrap().parse().unwrap();
    let url = app.url(&format!("/v1/vendors/{id}"));
    let admin = Principal::operator("test");
    let f = app.registry.create_facility(&admin, &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    app.registry.set_unit_vendor(&admin, f.id, f.units[0].id, Some((id, "hall-a".into()))).await.unwrap();

    // The vendor breaks; a later round of the schedule records it (no request asks for it).
    faulty.set(Faults { wrong_zone_rate: 1.0, ..Faults::default() });
    let calls_before = faulty.availability_calls();
    let seen = tests::eventually(async || {
        let now: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        (now["conformance"]["passed"] == false).then_some(now)
    })
    .await;
    let now = seen.expect("a scheduled round recorded the failure");
    assert!(faulty.availability_calls() > calls_before, "the schedule called the vendor");
    assert_eq!(now["version"], v["version"], "checks do not change the entry's version");
    assert_ne!(now["conformance"]["checkedAt"], v["conformance"]["checkedAt"]);

    // It recovers; so does its result.
    faulty.set(Faults::default());
    let recovered = tests::eventually(async || {
        let now: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        (now["conformance"]["passed"] == true).then_some(())
    })
    .await
    .is_some();
    assert!(recovered, "a later round recorded the recovery");
}

#[tokio::test]
async fn the_grpc_vendor_directory_does_what_rest_does() {
    use tonic_types::StatusExt;
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let mut c = VendorDirectoryServiceClient::new(app.channel().await);
    let (_, endpoint) = vendor(Faults::default()).await;
    let (_, moved_to) = vendor(Faults::default()).await;
    let input = |name: &str, endpoint: &str| pb::VendorInput {
        name: name.into(),
        endpoint: endpoint.into(),
        protocol: pb::VendorProtocol::Grpc as i32,
        auth: pb::VendorAuth::None as i32,
        municipality_codes: vec!["1881".into()],
        ..Default::default()
    };

    // Registration: admins only, the endpoint asked, bad codes named with BadRequest details.
    let e = c
        .create_vendor(with_key(
            pb::CreateVendorRequest { vendor: Some(input("A", &endpoint)), certification_override: None },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e =
        c.create_vendor(pb::CreateVendorRequest { vendor: Some(input("A", &endpoint)), certification_override: None }).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut bad = input("A", "http://127.0.0.1:9");
    bad.protocol = 9;
    bad.municipality_codes = vec!["9999".into()];
    let e = c
        .create_vendor(with_key(pb::CreateVendorRequest { vendor: Some(bad), certification_override: None }, &keys.admin))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields: Vec<String> = e.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect();
    assert_eq!(fields, ["vendor.protocol"]);
    let e = c
        .create_vendor(with_key(
            pb::CreateVendorRequest { vendor: Some(input("A", "http://127.0.0.1:9")), certification_override: None },
            &keys.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let v = e.get_error_details().bad_request().unwrap().field_violations[0].clone();
    assert_eq!(v.field, "endpoint", "{v:?}");
    let v = c
        .create_vendor(with_key(
            pb::CreateVendorRequest { vendor: Some(input("Kumlabokning", &endpoint)), certification_override: None },
            &keys.admin,
        ))
        .await;
    let v = v.unwrap().into_inner().vendor.unwrap();
    assert_eq!(v.capabilities.as_ref().unwrap().protocol_version, "1.1");
    assert!(v.conformance.as_ref().unwrap().passed);
    assert!(v.conformance.as_ref().unwrap().checks.iter().any(|k| k.id == "health.serving" && k.verdict == "pass"));

    // Reads are public; the list filters by municipality.
    let got = c.get_vendor(pb::GetVendorRequest { id: v.id.clone() }).await.unwrap().into_inner().vendor.unwrap();
    assert_eq!(got.vendor.as_ref().unwrap().name, "Kumlabokning");
    let listed = c.list_vendors(pb::ListVendorsRequest { municipality_code: "1881".into() }).await.unwrap().into_inner();
    assert_eq!(listed.vendors.len(), 1);
    let e = c.get_vendor(pb::GetVendorRequest { id: "nope".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // The vendor's own key moves its endpoint through an update mask; the operator's fields
    // are refused; stale versions are refused.
    let own = app.vendor_key(v.id.parse().unwrap()).await;
    let update = |key: &str, i: pb::VendorInput, paths: &[&str], version: i64| {
        with_key(
            pb::UpdateVendorRequest {
                id: v.id.clone(),
                vendor: Some(i),
                update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() }),
                expected_version: version,
                certification_override: None,
            },
            key,
        )
    };
    let moved = c.update_vendor(update(&own, input("", &moved_to), &["endpoint"], 1)).await.unwrap().into_inner().vendor.unwrap();
    assert_eq!((moved.vendor.as_ref().unwrap().endpoint.as_str(), moved.version), (moved_to.as_str(), 2));
    let e = c.update_vendor(update(&own, input("Nytt namn", &moved_to), &["name"], 2)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("name"), "{}", e.message());
    let e = c.update_vendor(update(&own, input("", &endpoint), &["endpoint"], 1)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = c.update_vendor(update(&own, input("", &endpoint), &["colour"], 2)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.get_error_details().bad_request().unwrap().field_violations[0].field, "updateMask.paths[0]");

    // Checks on request, by the vendor itself.
    let checked = c.run_vendor_checks(with_key(pb::RunVendorChecksRequest { id: v.id.clone() }, &own)).await.unwrap().into_inner();
    assert!(checked.vendor.unwrap().conformance.unwrap().passed);
    let e = c.run_vendor_checks(with_key(pb::RunVendorChecksRequest { id: v.id.clone() }, &keys.vendor)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Units: the municipality chooses, anyone lists, an empty vendor id clears.
    let f = app.registry.create_facility(&Principal::operator("t"), &fixtures::facility("1881", "Kumla sporthall")).await.unwrap();
    let kumla = app.key("editor", Some("1881"), false).await;
    let set = |key: &str, vendor_id: &str| {
        with_key(
            pb::SetUnitVendorRequest {
                facility_id: f.id.to_string(),
                unit_id: f.units[0].id.to_string(),
                vendor_id: vendor_id.into(),
                external_ref: "hall-a".into(),
            },
            key,
        )
    };
    let e = c.set_unit_vendor(set(&keys.editor_0180, &v.id)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    c.set_unit_vendor(set(&kumla, &v.id)).await.unwrap();
    let units = c.list_vendor_units(pb::ListVendorUnitsRequest { id: v.id.clone() }).await.unwrap().into_inner().units;
    assert_eq!((units.len(), units[0].external_ref.as_str(), units[0].unit_id.clone()), (1, "hall-a", f.units[0].id.to_string()));
    c.set_unit_vendor(set(&kumla, "")).await.unwrap();
    assert!(c.list_vendor_units(pb::ListVendorUnitsRequest { id: v.id.clone() }).await.unwrap().into_inner().units.is_empty());

    // Removal: admins only.
    let e = c.delete_vendor(with_key(pb::DeleteVendorRequest { id: v.id.clone(), expected_version: 0 }, &own)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    c.delete_vendor(with_key(pb::DeleteVendorRequest { id: v.id.clone(), expected_version: 2 }, &keys.admin)).await.unwrap();
    let e = c.get_vendor(pb::GetVendorRequest { id: v.id.clone() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}
