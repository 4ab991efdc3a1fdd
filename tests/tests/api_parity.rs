//! REST and gRPC give the same data: each resource read through both, as each role sees it,
//! must agree field for field.

use grpc_api::convert;
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use registry_core::auth::Principal;
use registry_core::model::{Association, Decision, Facility};
use serde_json::Value;
use tests::{TestApp, fixtures, with_key};

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
    let mut f = fixtures::facility("0180", "Parity hall");
    f.location = Some(registry_core::geo::LatLon { lat: 59.329323, lon: 18.068581 });
    let facility = app.registry.create_facility(&admin, &f).await.unwrap();
    let a = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    app.registry.decide_registration(&admin, a.id, None, &Decision::Approve).await.unwrap();
    let pending = app.registry.create_association(&admin, &fixtures::association("0180", 2)).await.unwrap();

    let channel = app.channel().await;
    let mut fc = FacilityServiceClient::new(channel.clone());
    let mut ac = AssociationServiceClient::new(channel.clone());
    let mut mc = MunicipalityServiceClient::new(channel);

    // Municipalities.
    let r = rest(&app, "/v1/municipalities", "").await;
    let g = mc.list_municipalities(pb::ListMunicipalitiesRequest::default()).await.unwrap().into_inner().municipalities;
    assert_eq!(r["municipalities"].as_array().unwrap().len(), g.len());
    for (r, g) in r["municipalities"].as_array().unwrap().iter().zip(&g) {
        assert_eq!(
            (
                r["code"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["countyCode"].as_str().unwrap(),
                r["countyName"].as_str().unwrap()
            ),
            (g.code.as_str(), g.name.as_str(), g.county_code.as_str(), g.county_name.as_str())
        );
    }

    // A facility: REST JSON decoded as the core type and encoded as protobuf equals the gRPC answer.
    let r: Facility = serde_json::from_value(rest(&app, &format!("/v1/facilities/{}", facility.id), "").await).unwrap();
    let g = fc.get_facility(pb::GetFacilityRequest { id: facility.id.to_string() }).await.unwrap().into_inner().facility.unwrap();
    assert_eq!(convert::facility(r.clone()), g);
    assert_eq!(r, facility, "and both equal what the core stored");
    let r = rest(&app, "/v1/facilities", "").await;
    let g = fc.list_facilities(pb::ListFacilitiesRequest::default()).await.unwrap().into_inner();
    let r: Vec<Facility> = serde_json::from_value(r["facilities"].clone()).unwrap();
    assert_eq!(r.into_iter().map(convert::facility).collect::<Vec<_>>(), g.facilities);

    // Associations, as each role sees them (restricted fields included or left out alike).
    for key in [
        "",
        keys.editor_0180.as_str(),
        keys.editor_0180_pd.as_str(),
        keys.national_body.as_str(),
        keys.admin.as_str(),
        keys.vendor.as_str(),
    ] {
        let r: Association = serde_json::from_value(rest(&app, &format!("/v1/associations/{}", a.id), key).await).unwrap();
        let g = ac
            .get_association(with_key(pb::GetAssociationRequest { id: a.id.to_string() }, key))
            .await
            .unwrap()
            .into_inner()
            .association
            .unwrap();
        assert_eq!(convert::association(r), g, "key {key:?}");
        let r = rest(&app, "/v1/associations", key).await;
        let g = ac.list_associations(with_key(pb::ListAssociationsRequest::default(), key)).await.unwrap().into_inner();
        let r: Vec<Association> = serde_json::from_value(r["associations"].clone()).unwrap();
        assert_eq!(r.into_iter().map(convert::association).collect::<Vec<_>>(), g.associations, "key {key:?}");
    }
    let r: Association =
        serde_json::from_value(rest(&app, &format!("/v1/associations/by-org-number/{}", pending.org_number), &keys.admin).await).unwrap();
    let g = ac
        .get_association_by_org_number(with_key(
            pb::GetAssociationByOrgNumberRequest { org_number: pending.org_number.clone() },
            &keys.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(convert::association(r), g.association.unwrap());
}
