//! REST and gRPC give the same data: each resource read through both, as each role sees it,
//! must agree field for field.
//!
//! The expectation comes from neither front end: the gRPC answer is read back as protobuf wire
//! bytes through the proto descriptor the server offers for reflection, and every field of the
//! message must be in the REST JSON under its proto3 JSON name with the same value (see
//! `api_parity/proto_json.rs` for the rules). The data gives every field reachable from the
//! compared messages a value, and the test checks that it did, so a field that the converter
//! drops or mangles, or that REST names differently, fails here.

#[path = "api_parity/proto_json.rs"]
mod proto_json;

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use proto_json::{Alias, Parity, Schema};
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::{Decision, Facility, MatchQuality};
use registry_core::service::geodata::{SyncOutcome, SyncedLocation};
use serde_json::Value;
use tests::{TestApp, fixtures, with_key};

/// Divergences from "a REST resource and its gRPC message carry the same fields" that the
/// contract lives with. `Facility.location_locked` is the proto's write switch for the lock
/// and is echoed on read; REST reads the same fact as `locationProvenance.locked` (and takes
/// `locationLocked` only on input), so the value is compared there.
const ALIASES: &[Alias] =
    &[Alias { message: ".registry.v1.Facility", field: "location_locked", json_path: &["locationProvenance", "locked"] }];

async fn rest(app: &TestApp, path: &str, key: &str) -> Value {
    let mut r = app.http().get(app.url(path));
    if !key.is_empty() {
        r = r.header("x-api-key", key);
    }
    let res = r.send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_resource_reads_the_same_through_rest_and_grpc() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");

    // Two facilities that between them give every field of Facility a value: one with a
    // locked manual location and a booking vendor, one whose location geodata-sync moved.
    let mut f = fixtures::facility("0180", "Parity hall");
    f.location = Some(LatLon { lat: 59.329323, lon: 18.068581 });
    f.location_locked = Some(true);
    f.contact.website = Some("https://www.stockholm.se/idrott".into());
    let locked = app.registry.create_facility(&admin, &f).await.unwrap();
    // No use case sets the booking vendor (federation's registration does); the column is what both front ends read.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut app.db.conn().await,
        &format!("UPDATE facilities SET booking_vendor_id = 'vendor-7', booking_vendor_ref = 'hall-a-42' WHERE id = '{}'", locked.id),
    )
    .await
    .unwrap();
    let mut f = fixtures::facility("0180", "Parity pool");
    f.location = Some(LatLon { lat: 59.3326, lon: 18.0649 });
    let synced = app.registry.create_facility(&admin, &f).await.unwrap();
    let found = SyncedLocation {
        location: LatLon { lat: 59.3342, lon: 18.0631 },
        source_feature_id: "adresspunkt-0180-0042".into(),
        match_quality: MatchQuality::Normalised,
    };
    app.registry
        .apply_synced_location(&admin, None, synced.id, synced.version, &found, SyncOutcome::Moved, serde_json::json!({}))
        .await
        .unwrap()
        .unwrap();

    // An approved association and one sent back for completion (a registration message).
    let a = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    app.registry.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
    let pending = app.registry.create_association(&admin, &fixtures::association("0180", 2)).await.unwrap();
    let completion = Decision::RequestCompletion { message: "Bifoga stadgarna".into() };
    app.registry.decide_registration(&admin, pending.id, None, None, &completion).await.unwrap();

    let channel = app.channel().await;
    let mut fc = FacilityServiceClient::new(channel.clone());
    let mut ac = AssociationServiceClient::new(channel.clone());
    let mut mc = MunicipalityServiceClient::new(channel);
    let schema = Schema::decode(grpc_api::proto::FILE_DESCRIPTOR_SET);
    let mut parity = Parity::new(&schema, ALIASES);

    // Municipalities.
    let r = rest(&app, "/v1/municipalities", "").await;
    let g = mc.list_municipalities(pb::ListMunicipalitiesRequest::default()).await.unwrap().into_inner();
    assert_eq!(g.municipalities.len(), 290);
    parity.compare("GET /v1/municipalities", ".registry.v1.ListMunicipalitiesResponse", &g, &r);

    // Facilities, one by one, as a page, and as pages of one (a next-page token).
    for id in [locked.id, synced.id] {
        let path = format!("/v1/facilities/{id}");
        let r = rest(&app, &path, "").await;
        let g = fc.get_facility(pb::GetFacilityRequest { id: id.to_string() }).await.unwrap().into_inner().facility.unwrap();
        parity.compare(&format!("GET {path}"), ".registry.v1.Facility", &g, &r);
        let stored = app.registry.get_facility(&admin, id).await.unwrap();
        assert_eq!(serde_json::from_value::<Facility>(r).unwrap(), stored, "REST shows what the core stored");
    }
    let r = rest(&app, "/v1/facilities", "").await;
    let g = fc.list_facilities(pb::ListFacilitiesRequest::default()).await.unwrap().into_inner();
    assert_eq!(g.facilities.len(), 2);
    parity.compare("GET /v1/facilities", ".registry.v1.ListFacilitiesResponse", &g, &r);
    let r = rest(&app, "/v1/facilities?pageSize=1", "").await;
    let g = fc.list_facilities(pb::ListFacilitiesRequest { page_size: 1, ..Default::default() }).await.unwrap().into_inner();
    assert!(!g.next_page_token.is_empty());
    parity.compare("GET /v1/facilities?pageSize=1", ".registry.v1.ListFacilitiesResponse", &g, &r);

    // Associations, as each role sees them (restricted fields included or left out alike).
    for (role, key) in [
        ("anonymous", ""),
        ("editor of 0180", keys.editor_0180.as_str()),
        ("editor of 0180 with personal data", keys.editor_0180_pd.as_str()),
        ("national body", keys.national_body.as_str()),
        ("admin", keys.admin.as_str()),
        ("vendor", keys.vendor.as_str()),
    ] {
        let path = format!("/v1/associations/{}", a.id);
        let r = rest(&app, &path, key).await;
        let g = ac
            .get_association(with_key(pb::GetAssociationRequest { id: a.id.to_string() }, key))
            .await
            .unwrap()
            .into_inner()
            .association
            .unwrap();
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.Association", &g, &r);
        for (query, size) in [("", 0), ("?pageSize=1", 1)] {
            let r = rest(&app, &format!("/v1/associations{query}"), key).await;
            let g = ac
                .list_associations(with_key(pb::ListAssociationsRequest { page_size: size, ..Default::default() }, key))
                .await
                .unwrap()
                .into_inner();
            parity.compare(&format!("GET /v1/associations{query} as {role}"), ".registry.v1.ListAssociationsResponse", &g, &r);
        }
    }
    let path = format!("/v1/associations/by-org-number/{}", pending.org_number);
    let r = rest(&app, &path, &keys.editor_0180_pd).await;
    let g = ac
        .get_association_by_org_number(with_key(
            pb::GetAssociationByOrgNumberRequest { org_number: pending.org_number.clone() },
            &keys.editor_0180_pd,
        ))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    parity.compare(&format!("GET {path}"), ".registry.v1.Association", &g, &r);

    assert!(parity.errors.is_empty(), "REST and gRPC differ:\n{}", parity.errors.join("\n"));
    let roots = [".registry.v1.ListMunicipalitiesResponse", ".registry.v1.ListFacilitiesResponse", ".registry.v1.ListAssociationsResponse"];
    let never: Vec<String> = schema.reachable_fields(&roots).difference(&parity.covered).map(|(m, f)| format!("{m}.{f}")).collect();
    assert!(never.is_empty(), "these fields never carried a value, so dropping them would go unnoticed: {never:?}");
}
