//! Geodata through the APIs: provenance and the location lock over REST and gRPC, the border
//! rule as problem+json and google.rpc BadRequest, and the boundary endpoint.

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use registry_core::auth::Principal;
use registry_core::service::geodata::BoundaryInput;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;

fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]})
}

async fn load_kumla(app: &TestApp) {
    let b = [BoundaryInput {
        municipality_code: "1881".into(),
        source_feature_id: "kommun.1881".into(),
        geometry: rect(15.0, 59.0, 15.3, 59.2),
    }];
    app.registry.load_boundaries(&Principal::system("system:geodata-sync"), "test", &b).await.unwrap();
}

#[tokio::test]
async fn rest_provenance_lock_border_rule_and_boundary() {
    let app = TestApp::start().await;
    let admin = app.keys().await.admin;
    let http = app.http();

    // No boundary yet: 404 problem.
    let r = http.get(app.url("/v1/municipalities/1881/boundary")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    load_kumla(&app).await;
    let r = http.get(app.url("/v1/municipalities/1881/boundary")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/geo+json");
    let f: Value = r.json().await.unwrap();
    assert_eq!(
        (f["type"].as_str(), f["id"].as_str(), f["geometry"]["type"].as_str()),
        (Some("Feature"), Some("1881"), Some("MultiPolygon"))
    );
    assert_eq!(f["properties"]["name"], "Kumla");
    assert_eq!(
        f["geometry"]["coordinates"][0][0][1].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>(),
        [15.3, 59.0],
        "longitude first"
    );
    let r = http.get(app.url("/v1/municipalities/9999/boundary")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Create with the lock; provenance is in the answer.
    let mut body = serde_json::to_value(fixtures::facility("1881", "Kumla idrottshall")).unwrap();
    body["locationLocked"] = json!(true);
    let r = http.post(app.url("/v1/facilities")).header("x-api-key", &admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["locationProvenance"], json!({"source": "LOCATION_SOURCE_MANUAL", "locked": true}));

    // Outside the municipality: 400 naming the field and the rule.
    body["location"] = json!({"lat": 59.3, "lon": 15.1});
    let r = http.post(app.url("/v1/facilities")).header("x-api-key", &admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()), (Some("location"), Some("outside_municipality")));
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("m outside the boundary of municipality 1881 Kumla"), "{p}");

    // locationProvenance is output only: a client cannot claim geodata provenance.
    body["location"] = json!({"lat": 59.1277, "lon": 15.1434});
    body["locationProvenance"] = json!({"source": "LOCATION_SOURCE_GEODATA", "locked": false});
    let r = http.post(app.url("/v1/facilities")).header("x-api-key", &admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["rule"].as_str()), (Some("locationProvenance"), Some("read_only")), "{p}");
}

#[tokio::test]
async fn grpc_lock_by_mask_and_border_rule() {
    let app = TestApp::start().await;
    let admin = app.keys().await.admin;
    load_kumla(&app).await;
    let mut c = FacilityServiceClient::new(app.channel().await);
    let created = app.registry.create_facility(&Principal::operator("t"), &fixtures::facility("1881", "Hall")).await.unwrap();
    let got = c.get_facility(pb::GetFacilityRequest { id: created.id.to_string() }).await.unwrap().into_inner().facility.unwrap();
    let pv = got.location_provenance.clone().unwrap();
    assert_eq!((pv.source, pv.locked, got.location_locked), (pb::LocationSource::Manual as i32, false, Some(false)));

    // Lock through an update mask naming only location_locked.
    let mut change = got.clone();
    change.location_locked = Some(true);
    change.name = "not in the mask".into();
    let mask = Some(prost_types::FieldMask { paths: vec!["location_locked".into()] });
    let upd = pb::UpdateFacilityRequest { facility: Some(change), update_mask: mask, expected_version: 1 };
    let locked = c.update_facility(with_key(upd, &admin)).await.unwrap().into_inner().facility.unwrap();
    assert_eq!((locked.location_locked, locked.name.as_str()), (Some(true), "Hall"));
    assert!(locked.location_provenance.as_ref().unwrap().locked);

    // A move outside the municipality: INVALID_ARGUMENT with a BadRequest naming the field.
    let mut far = locked.clone();
    far.location = Some(pb::LatLon { lat: 59.3, lon: 15.1 });
    let mask = Some(prost_types::FieldMask { paths: vec!["location".into()] });
    let e = c
        .update_facility(with_key(pb::UpdateFacilityRequest { facility: Some(far), update_mask: mask, expected_version: 2 }, &admin))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    use tonic_types::StatusExt;
    let v = e.get_error_details().bad_request().unwrap().field_violations[0].clone();
    assert_eq!(v.field, "location");
    assert!(v.description.contains("outside the boundary of municipality 1881"), "{}", v.description);
}
