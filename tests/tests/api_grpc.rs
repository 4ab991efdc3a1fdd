//! gRPC end to end through a real socket with tonic clients: every RPC's happy path, not
//! found, invalid input (with google.rpc.BadRequest details), wrong role, stale version
//! (PreconditionFailure) and paging; plus health and reflection.

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use tests::reflection::{Defined, Reflection, Version};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;
use tonic_types::StatusExt;

/// The fixture association with a contact person (personal data), which these tests read back.
fn association_pb(code: &str, n: u32) -> pb::Association {
    pb::Association {
        contact_persons: vec![pb::ContactPerson {
            name: "Karin Karlsson".into(),
            role: "kassör".into(),
            email: None,
            phone: Some("0701234567".into()),
        }],
        ..fixtures::association_pb(code, n)
    }
}

fn violations(s: &tonic::Status) -> Vec<(String, String)> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| (v.field.clone(), v.reason.clone())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn municipality_service() {
    let app = TestApp::start().await;
    let mut c = MunicipalityServiceClient::new(app.channel().await);
    let all = c.list_municipalities(pb::ListMunicipalitiesRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.municipalities.len(), 290);
    let lan = c.list_municipalities(pb::ListMunicipalitiesRequest { county_code: "18".into() }).await.unwrap().into_inner();
    assert_eq!(lan.municipalities.len(), 12);
    let m = c.get_municipality(pb::GetMunicipalityRequest { code: "2480".into() }).await.unwrap().into_inner().municipality.unwrap();
    assert_eq!((m.name.as_str(), m.county_name.as_str()), ("Umeå", "Västerbottens län"));
    let e = c.get_municipality(pb::GetMunicipalityRequest { code: "9999".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.get_error_details().resource_info().is_some());
    let e = c.get_municipality(pb::GetMunicipalityRequest { code: "x".into() }).await.unwrap_err();
    assert_eq!((e.code(), violations(&e)), (Code::InvalidArgument, vec![("code".into(), "FORMAT".into())]));
}

#[tokio::test]
async fn facility_service() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let mut c = FacilityServiceClient::new(app.channel().await);

    // Create: editors of their own municipality only.
    let req = pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("0180", "Hall")) };
    assert_eq!(c.create_facility(with_key(req.clone(), "")).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(c.create_facility(with_key(req.clone(), &keys.editor_1480)).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(c.create_facility(with_key(req.clone(), &keys.vendor)).await.unwrap_err().code(), Code::PermissionDenied);
    let created = c.create_facility(with_key(req, &keys.editor_0180)).await.unwrap().into_inner().facility.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.units[0].area_m2, Some(1200.0));

    // Get.
    let got = c.get_facility(pb::GetFacilityRequest { id: created.id.clone() }).await.unwrap().into_inner().facility.unwrap();
    assert_eq!(got, created);
    let e = c.get_facility(pb::GetFacilityRequest { id: "0199b6e4-0000-7000-8000-000000000000".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c.get_facility(pb::GetFacilityRequest { id: "nope".into() }).await.unwrap_err();
    assert_eq!((e.code(), violations(&e)), (Code::InvalidArgument, vec![("id".into(), "FORMAT".into())]));

    // Update with a field mask: only the name changes, although the message carries other values.
    let mut change = created.clone();
    change.name = "Renamed".into();
    change.description = "not in the mask".into();
    let mask = Some(prost_types::FieldMask { paths: vec!["name".into()] });
    let upd = pb::UpdateFacilityRequest { facility: Some(change.clone()), update_mask: mask.clone(), expected_version: 1 };
    assert_eq!(c.update_facility(with_key(upd.clone(), &keys.editor_1480)).await.unwrap_err().code(), Code::PermissionDenied);
    let updated = c.update_facility(with_key(upd.clone(), &keys.editor_0180)).await.unwrap().into_inner().facility.unwrap();
    assert_eq!((updated.name.as_str(), updated.description.as_str(), updated.version), ("Renamed", created.description.as_str(), 2));
    // Stale version.
    let e = c.update_facility(with_key(upd, &keys.editor_0180)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let pf = e.get_error_details().precondition_failure().unwrap().violations[0].clone();
    assert_eq!((pf.r#type.as_str(), pf.description.as_str()), ("VERSION", "expected version 1, current version 2"));
    // Version required; unknown mask paths; invalid values with every violation.
    let e = c
        .update_facility(with_key(
            pb::UpdateFacilityRequest { facility: Some(change.clone()), update_mask: None, expected_version: 0 },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec![("expectedVersion".into(), "REQUIRED".into())]);
    let bad_mask = Some(prost_types::FieldMask { paths: vec!["version".into()] });
    let e = c
        .update_facility(with_key(
            pb::UpdateFacilityRequest { facility: Some(change.clone()), update_mask: bad_mask, expected_version: 2 },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec![("updateMask.paths[0]".into(), "UNKNOWN_FIELD".into())]);
    let mut invalid = change.clone();
    invalid.name = String::new();
    invalid.location = Some(pb::LatLon { lat: 18.07, lon: 59.33 });
    invalid.ownership = 0;
    invalid.accessibility = vec![42];
    let e = c
        .update_facility(with_key(
            pb::UpdateFacilityRequest { facility: Some(invalid), update_mask: None, expected_version: 2 },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let v = violations(&e);
    assert!(
        v.contains(&("ownership".into(), "REQUIRED".into())) && v.contains(&("accessibility[0]".into(), "UNKNOWN_ENUM_VALUE".into())),
        "{v:?}"
    );
    let mut invalid = change.clone();
    invalid.name = String::new();
    invalid.location = Some(pb::LatLon { lat: 18.07, lon: 59.33 });
    invalid.units[0].capacity = Some(-3);
    let e = c
        .update_facility(with_key(
            pb::UpdateFacilityRequest { facility: Some(invalid), update_mask: None, expected_version: 2 },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    let v = violations(&e);
    for expected in [("name", "REQUIRED"), ("location.lat", "OUTSIDE_SWEDEN"), ("units[0].capacity", "OUT_OF_RANGE")] {
        assert!(v.contains(&(expected.0.into(), expected.1.into())), "{expected:?} not in {v:?}");
    }

    // Batch get and list with paging.
    for i in 0..6 {
        c.create_facility(with_key(
            pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("0180", &format!("H{i}"))) },
            &keys.admin,
        ))
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_facilities(pb::ListFacilitiesRequest {
                page_size: 3,
                page_token: token,
                municipality_code: "0180".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.facilities.into_iter().map(|f| f.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (7, 7), "no duplicates or gaps");
    let e = c.list_facilities(pb::ListFacilitiesRequest { activity: "quidditch".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("activity".into(), "UNKNOWN_CODE".into())]);
    let batch =
        c.batch_get_facilities(pb::BatchGetFacilitiesRequest { ids: vec![seen[3].clone(), seen[0].clone()] }).await.unwrap().into_inner();
    assert_eq!(batch.facilities.iter().map(|f| f.id.clone()).collect::<Vec<_>>(), vec![seen[3].clone(), seen[0].clone()]);

    // Delete.
    let del = pb::DeleteFacilityRequest { id: created.id.clone(), expected_version: 1 };
    assert_eq!(c.delete_facility(with_key(del, &keys.editor_0180)).await.unwrap_err().code(), Code::FailedPrecondition);
    let del = pb::DeleteFacilityRequest { id: created.id.clone(), expected_version: 2 };
    assert_eq!(c.delete_facility(with_key(del.clone(), &keys.editor_1480)).await.unwrap_err().code(), Code::PermissionDenied);
    c.delete_facility(with_key(del.clone(), &keys.editor_0180)).await.unwrap();
    assert_eq!(c.delete_facility(with_key(del, &keys.editor_0180)).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn association_service() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let mut c = AssociationServiceClient::new(app.channel().await);
    let req = pb::CreateAssociationRequest { association: Some(association_pb("0180", 5)) };
    assert_eq!(c.create_association(with_key(req.clone(), &keys.editor_1480)).await.unwrap_err().code(), Code::PermissionDenied);
    let a = c.create_association(with_key(req.clone(), &keys.editor_0180)).await.unwrap().into_inner().association.unwrap();
    assert_eq!(a.registration.as_ref().unwrap().status, pb::RegistrationStatus::Pending as i32);
    assert!(a.contact_persons.is_empty(), "no personal data without the scope");
    let e = c.create_association(with_key(req, &keys.editor_0180)).await.unwrap_err();
    assert_eq!((e.code(), violations(&e)), (Code::AlreadyExists, vec![("orgNumber".into(), "UNIQUE".into())]));
    let mut bad = association_pb("0180", 6);
    bad.org_number = "802004-5420".into();
    bad.member_statistics.as_mut().unwrap().counts[0].age_band = 0;
    let e = c.create_association(with_key(pb::CreateAssociationRequest { association: Some(bad) }, &keys.editor_0180)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("memberStatistics.counts[0].ageBand".into(), "REQUIRED".into())]);
    let mut bad = association_pb("0180", 6);
    bad.org_number = "802004-5420".into();
    let e = c.create_association(with_key(pb::CreateAssociationRequest { association: Some(bad) }, &keys.editor_0180)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("orgNumber".into(), "CHECKSUM".into())]);

    // Pending: hidden.
    assert_eq!(c.get_association(pb::GetAssociationRequest { id: a.id.clone() }).await.unwrap_err().code(), Code::NotFound);
    // Decisions.
    let e = c
        .reject_registration(with_key(
            pb::RejectRegistrationRequest { id: a.id.clone(), reason: "".into(), expected_version: 0, ..Default::default() },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec![("reason".into(), "REQUIRED".into())]);
    let asked = c
        .request_completion(with_key(
            pb::RequestCompletionRequest { id: a.id.clone(), message: "Add statutes".into(), expected_version: 1, ..Default::default() },
            &keys.editor_0180,
        ))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    assert_eq!(asked.registration.unwrap().status, pb::RegistrationStatus::NeedsCompletion as i32);
    assert_eq!(
        c.approve_registration(with_key(
            pb::ApproveRegistrationRequest { id: a.id.clone(), expected_version: 1, ..Default::default() },
            &keys.editor_0180
        ))
        .await
        .unwrap_err()
        .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        c.approve_registration(with_key(
            pb::ApproveRegistrationRequest { id: a.id.clone(), expected_version: 0, ..Default::default() },
            &keys.national_body
        ))
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    let approved = c
        .approve_registration(with_key(
            pb::ApproveRegistrationRequest { id: a.id.clone(), expected_version: 2, ..Default::default() },
            &keys.editor_0180,
        ))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    assert_eq!(approved.registration.unwrap().status, pb::RegistrationStatus::Approved as i32);
    let e = c
        .reject_registration(with_key(
            pb::RejectRegistrationRequest { id: a.id.clone(), reason: "late".into(), expected_version: 0, ..Default::default() },
            &keys.editor_0180,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "an approved registration cannot be rejected");

    // Reads by role.
    let public = c.get_association(pb::GetAssociationRequest { id: a.id.clone() }).await.unwrap().into_inner().association.unwrap();
    assert!(public.member_statistics.is_none() && public.contact_persons.is_empty());
    let nb = c
        .get_association(with_key(pb::GetAssociationRequest { id: a.id.clone() }, &keys.national_body))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    assert!(nb.member_statistics.is_some());
    let pd = c
        .get_association(with_key(pb::GetAssociationRequest { id: a.id.clone() }, &keys.editor_0180_pd))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    assert_eq!(pd.contact_persons[0].name, "Karin Karlsson");
    let by_org = c
        .get_association_by_org_number(pb::GetAssociationByOrgNumberRequest { org_number: a.org_number.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_org.association.unwrap().id, a.id);
    let e = c.get_association_by_org_number(pb::GetAssociationByOrgNumberRequest { org_number: "123".into() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("orgNumber".into(), "FORMAT".into())]);

    // List with a status filter and paging; unknown enum values are refused.
    for n in 10..14 {
        c.create_association(with_key(pb::CreateAssociationRequest { association: Some(association_pb("0180", n)) }, &keys.admin))
            .await
            .unwrap();
    }
    let mut seen = 0;
    let mut token = String::new();
    loop {
        let page = c
            .list_associations(with_key(
                pb::ListAssociationsRequest {
                    status: pb::RegistrationStatus::Pending as i32,
                    page_size: 3,
                    page_token: token,
                    ..Default::default()
                },
                &keys.admin,
            ))
            .await
            .unwrap()
            .into_inner();
        seen += page.associations.len();
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, 4);
    let e = c.list_associations(pb::ListAssociationsRequest { status: 99, ..Default::default() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("status".into(), "UNKNOWN_ENUM_VALUE".into())]);

    // Update with a mask, then delete.
    let mut change = approved_clone(&a);
    change.name = "Renamed".into();
    let upd = pb::UpdateAssociationRequest {
        association: Some(change),
        update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
        expected_version: 3,
    };
    assert_eq!(c.update_association(with_key(upd.clone(), &keys.editor_1480)).await.unwrap_err().code(), Code::PermissionDenied);
    let updated = c.update_association(with_key(upd.clone(), &keys.editor_0180)).await.unwrap().into_inner().association.unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Renamed", 4));
    assert_eq!(c.update_association(with_key(upd, &keys.editor_0180)).await.unwrap_err().code(), Code::FailedPrecondition);
    let full = c
        .get_association(with_key(pb::GetAssociationRequest { id: a.id.clone() }, &keys.editor_0180_pd))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    assert_eq!(full.contact_persons.len(), 1, "an update without the scope keeps contact persons");
    c.delete_association(with_key(pb::DeleteAssociationRequest { id: a.id.clone(), expected_version: 4 }, &keys.editor_0180))
        .await
        .unwrap();
    assert_eq!(c.get_association(with_key(pb::GetAssociationRequest { id: a.id }, &keys.admin)).await.unwrap_err().code(), Code::NotFound);
}

fn approved_clone(a: &pb::Association) -> pb::Association {
    pb::Association { id: a.id.clone(), ..Default::default() }
}

#[tokio::test]
async fn health_and_reflection() {
    let app = TestApp::start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel().await);
    for service in [
        "",
        "registry.v1.FacilityService",
        "registry.v1.AssociationService",
        "registry.v1.MunicipalityService",
        "registry.v1.GrantsService",
    ] {
        let r = health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{service}");
    }
    let e = health.check(tonic_health::pb::HealthCheckRequest { service: "nope".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let invalid_key = MunicipalityServiceClient::new(app.channel().await)
        .list_municipalities(with_key(pb::ListMunicipalitiesRequest::default(), "rk_00000000_wrong"))
        .await
        .unwrap_err();
    assert_eq!(invalid_key.code(), Code::Unauthenticated);

    // Reflection, in both versions: every client (grpcurl asks v1, grpcio-reflection v1alpha)
    // finds exactly the services the port routes, and can describe each of them fully.
    use grpc_api::proto::v1 as s;
    let routed = [
        s::municipality_service_server::SERVICE_NAME,
        s::facility_service_server::SERVICE_NAME,
        s::association_service_server::SERVICE_NAME,
        s::account_service_server::SERVICE_NAME,
        s::opening_hours_service_server::SERVICE_NAME,
        s::search_service_server::SERVICE_NAME,
        s::availability_service_server::SERVICE_NAME,
        s::booking_service_server::SERVICE_NAME,
        s::vendor_directory_service_server::SERVICE_NAME,
        s::change_service_server::SERVICE_NAME,
        s::export_service_server::SERVICE_NAME,
        s::allocation_service_server::SERVICE_NAME,
        s::grants_service_server::SERVICE_NAME,
    ];
    // A vendor's key: the anonymous rate limit is lower than the calls a full description takes.
    let key = app.key("vendor", None, false).await;
    for version in Version::BOTH {
        let r = Reflection::new(app.channel().await, version).with_key(&key);
        let mut expected: Vec<&str> = routed.iter().copied().chain(["grpc.health.v1.Health", version.service()]).collect();
        expected.sort();
        let listed = r.list_services().await.unwrap_or_else(|e| panic!("{version:?}: {e:?}"));
        assert_eq!(listed, expected, "{version:?}");
        for service in routed {
            let set = r.resolve(service).await.unwrap_or_else(|e| panic!("{version:?} {service}: {e:?}"));
            assert!(!Defined::of(&set).services[&format!(".{service}")].is_empty(), "{version:?} {service}");
            assert_eq!(Defined::missing(&set), Vec::<String>::new(), "{version:?} {service}: types a client cannot resolve");
        }
        // A message and a method resolve to the files that define them.
        let facility = Defined::of(&r.resolve("registry.v1.Facility").await.unwrap());
        assert!(facility.messages.iter().any(|m| m == ".registry.v1.Facility"), "{version:?}");
        let service = Defined::of(&r.resolve("registry.v1.FacilityService.GetFacility").await.unwrap());
        let get = service.services[".registry.v1.FacilityService"].iter().find(|m| m.0 == "GetFacility").expect("GetFacility");
        assert_eq!(
            (get.1.as_str(), get.2.as_str()),
            (".registry.v1.GetFacilityRequest", ".registry.v1.GetFacilityResponse"),
            "{version:?}"
        );
        // An unknown symbol is NOT_FOUND, not an empty answer.
        let e = r.file_containing_symbol("registry.v1.NoSuchThing").await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{version:?}: {e:?}");
    }
}

/// gRPC-Web (what browsers speak) on the same port, over HTTP/1.1.
#[tokio::test]
async fn grpc_web_over_http1() {
    use prost::Message;
    let app = TestApp::start().await;
    let msg = pb::ListMunicipalitiesRequest { county_code: "18".into() }.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(&msg);
    let r = reqwest::Client::builder()
        .http1_only()
        .build()
        .unwrap()
        .post(app.url("/registry.v1.MunicipalityService/ListMunicipalities"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/grpc-web"));
    let body = r.bytes().await.unwrap();
    assert_eq!(body[0], 0, "a data frame first");
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let resp = pb::ListMunicipalitiesResponse::decode(&body[5..5 + len]).unwrap();
    assert_eq!(resp.municipalities.len(), 12);
    let trailer = &body[5 + len..];
    assert_eq!(trailer[0], 0x80, "then the trailers frame");
    assert!(String::from_utf8_lossy(&trailer[5..]).contains("grpc-status:0"));
}

/// gRPC search returns what REST returns.
#[tokio::test]
async fn search_service_matches_rest() {
    use grpc_api::proto::v1::search_service_client::SearchServiceClient;
    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let mut c = SearchServiceClient::new(app.channel().await);
    let req = pb::SearchFacilitiesRequest {
        near: Some(pb::LatLon { lat: 59.1277, lon: 15.1434 }),
        radius_m: Some(20_000.0),
        activities: vec!["floorball".into()],
        page_size: 10,
        ..Default::default()
    };
    let g = c.search_facilities(req).await.unwrap().into_inner();
    let r: serde_json::Value = app
        .http()
        .get(app.url("/v1/search/facilities?near=59.1277,15.1434&radiusM=20000&activities=floorball&pageSize=10"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest_ids: Vec<&str> = r["hits"].as_array().unwrap().iter().map(|h| h["facility"]["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = g.hits.iter().map(|h| h.facility.as_ref().unwrap().id.as_str()).collect();
    assert!(!grpc_ids.is_empty());
    assert_eq!(grpc_ids, rest_ids);
    assert_eq!(g.hits[0].municipality_name, "Kumla");
    let e = c.search_facilities(pb::SearchFacilitiesRequest { radius_m: Some(1.0), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(violations(&e), vec![("radiusM".into(), "REQUIRES".into())]);
    // GeoJSON over REST: [lon, lat].
    let geo: serde_json::Value = app
        .http()
        .get(app.url("/v1/search/facilities?near=59.1277,15.1434&radiusM=20000&pageSize=3"))
        .header("accept", "application/geo+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let c0 = &geo["features"][0]["geometry"]["coordinates"];
    assert!(c0[0].as_f64().unwrap() < 20.0 && c0[1].as_f64().unwrap() > 55.0, "longitude first: {c0}");
}

/// gRPC association search: the same answers as REST, unapproved registrations only for the
/// roles that may see them, contact persons never.
#[tokio::test]
async fn search_associations_over_grpc() {
    use grpc_api::proto::v1::search_service_client::SearchServiceClient;
    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let keys = app.keys().await;
    let mut c = SearchServiceClient::new(app.channel().await);
    let g = c
        .search_associations(pb::SearchAssociationsRequest { q: "innebandy".into(), counties: vec!["18".into()], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let r: serde_json::Value =
        app.http().get(app.url("/v1/search/associations?q=innebandy&counties=18")).send().await.unwrap().json().await.unwrap();
    let rest_ids: Vec<&str> = r["associations"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = g.associations.iter().map(|a| a.id.as_str()).collect();
    assert!(!grpc_ids.is_empty());
    assert_eq!(grpc_ids, rest_ids);
    assert!(g.associations.iter().all(|a| a.registration.as_ref().unwrap().status == pb::RegistrationStatus::Approved as i32));
    assert!(g.associations.iter().all(|a| a.contact_persons.is_empty()));
    // Pending registrations: not for the public, yes for an admin.
    let pending = pb::SearchAssociationsRequest { status: pb::RegistrationStatus::Pending as i32, ..Default::default() };
    assert_eq!(c.search_associations(with_key(pending.clone(), "")).await.unwrap_err().code(), Code::Unauthenticated);
    let all = c.search_associations(with_key(pending, &keys.admin)).await.unwrap().into_inner();
    assert!(!all.associations.is_empty());
    assert!(all.associations.iter().all(|a| a.registration.as_ref().unwrap().status == pb::RegistrationStatus::Pending as i32));
    // Bad input names the field.
    let e = c
        .search_associations(pb::SearchAssociationsRequest {
            org_number: "123".into(),
            activities: vec!["quidditch".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let v = violations(&e);
    assert!(v.iter().any(|(f, _)| f == "orgNumber"), "{v:?}");
    assert!(v.contains(&("activities[0]".into(), "UNKNOWN_CODE".into())), "{v:?}");
    let e = c.search_associations(pb::SearchAssociationsRequest { status: 42, ..Default::default() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("status".into(), "UNKNOWN_ENUM_VALUE".into())]);
}

/// `AllocationService` over the same use cases as REST: a round set up and changed by staff
/// (dates as "YYYY-MM-DD", enums, optimistic concurrency), an application by a representative,
/// a run and its publication; what does not decode is refused with the field named (REST JSON
/// names), like every other service.
#[tokio::test]
async fn allocation_service() {
    use grpc_api::proto::v1::allocation_service_client::AllocationServiceClient;
    use registry_core::auth::Principal;
    use registry_core::model::{Decision, NewRepresentative};

    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");
    let hall = app.registry.create_facility(&admin, &fixtures::facility("0180", "Grpc hall")).await.unwrap().units[0].id.to_string();
    let club = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    app.registry.decide_registration(&admin, club.id, None, None, &Decision::Approve).await.unwrap();
    let rep = NewRepresentative { personal_identity_number: "197702281937".into(), name: "Rita Representant".into() };
    app.registry.add_representative(&admin, club.id, &rep).await.unwrap();
    let rita = app.session("197702281937", "Rita Representant", None).await;
    let staff = keys.editor_0180.as_str();
    let mut c = AllocationServiceClient::new(app.channel().await);

    let now = app.registry.now();
    let start = now.date_naive() + chrono::Duration::days(60);
    let ts = |t: chrono::DateTime<chrono::Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let evening = |day| pb::DayTime { day, from: "16:00".into(), to: "22:00".into(), reason: String::new() };
    let round = pb::Round {
        municipality_code: "0180".into(),
        name: "Hösten".into(),
        season_start: start.to_string(),
        season_end: (start + chrono::Duration::days(111)).to_string(),
        applications_open: ts(now - chrono::Duration::days(1)),
        applications_close: ts(now + chrono::Duration::days(30)),
        units: vec![pb::RoundUnit { unit_id: hall.clone(), hours: (1..=5).map(evening).collect(), ..Default::default() }],
        principles: Some(pb::Principles {
            groups: vec![pb::PriorityGroup { code: "children_youth".into(), weight: 2.0, ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };

    // What does not decode, each named.
    let bad = pb::Round {
        season_start: "2027-02-30".into(),
        breaks: vec![pb::RoundBreak { from: "höstlov".into(), to: start.to_string(), name: String::new() }],
        applications_open: None,
        grid_minutes: 70_000,
        units: vec![pb::RoundUnit { unit_id: "nope".into(), ..Default::default() }],
        principles: Some(pb::Principles {
            groups: vec![pb::PriorityGroup { code: "underrepresented_gender".into(), weight: 1.0, genders: vec![0], max_age: Some(300) }],
            ..Default::default()
        }),
        ..round.clone()
    };
    let e = c.create_round(with_key(pb::CreateRoundRequest { round: Some(bad) }, staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let v = violations(&e);
    for (field, reason) in [
        ("seasonStart", "FORMAT"),
        ("breaks[0].from", "FORMAT"),
        ("applicationsOpen", "REQUIRED"),
        ("gridMinutes", "OUT_OF_RANGE"),
        ("units[0].unitId", "FORMAT"),
        ("principles.groups[0].maxAge", "OUT_OF_RANGE"),
        ("principles.groups[0].genders[0]", "REQUIRED"),
    ] {
        assert!(v.contains(&(field.into(), reason.into())), "{field} {reason} in {v:?}");
    }
    let e = c.create_round(with_key(pb::CreateRoundRequest { round: None }, staff)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("round".to_string(), "REQUIRED".to_string())]);

    // Set up, with REST's defaults for what is left unset (grid 30, rank decay 0.25, one
    // session a team a day); the 1480 editor may not.
    let e = c.create_round(with_key(pb::CreateRoundRequest { round: Some(round.clone()) }, &keys.editor_1480)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let created = c.create_round(with_key(pb::CreateRoundRequest { round: Some(round.clone()) }, staff)).await.unwrap();
    let created = created.into_inner().round.unwrap();
    assert_eq!((created.status, created.version, created.grid_minutes), (pb::RoundStatus::Open as i32, 1, 30));
    assert_eq!((created.season_start.as_str(), created.name.as_str()), (start.to_string().as_str(), "Hösten"));
    let p = created.principles.clone().unwrap();
    assert_eq!((p.rank_decay, p.one_session_per_team_per_day, p.max_hours_per_association), (Some(0.25), Some(true), None));
    let id = created.id.clone();
    let got = c.get_round(pb::GetRoundRequest { id: id.clone() }).await.unwrap().into_inner().round.unwrap();
    assert_eq!(got, created, "anyone reads a round");
    let e = c.get_round(pb::GetRoundRequest { id: "nope".into() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("id".to_string(), "FORMAT".to_string())]);

    // Update: the version is required, and a stale one fails the precondition.
    let renamed = pb::Round { id: id.clone(), name: "Hösten 2027".into(), ..round.clone() };
    let update = |v: i64| pb::UpdateRoundRequest { round: Some(renamed.clone()), expected_version: v };
    let e = c.update_round(with_key(update(0), staff)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("expectedVersion".to_string(), "REQUIRED".to_string())]);
    let e = c.update_round(with_key(update(7), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let updated = c.update_round(with_key(update(1), staff)).await.unwrap().into_inner().round.unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Hösten 2027", 2));

    // An application by the representative; a team's gender is required.
    let team = pb::Team {
        name: "P12".into(),
        activity: "floorball".into(),
        age_from: 11,
        age_to: 12,
        gender: pb::TeamGender::Male as i32,
        participants: 14,
        level: String::new(),
    };
    let wish = pb::Wish {
        duration_minutes: 60,
        times_per_week: 0,
        alternatives: vec![pb::WishAlternative {
            day: 1,
            earliest_start: "17:00".into(),
            latest_end: "19:00".into(),
            units: vec![hall.clone()],
        }],
    };
    let application = pb::AllocationApplication {
        association_id: club.id.to_string(),
        team: Some(team.clone()),
        wishes: vec![wish],
        ..Default::default()
    };
    let unspecified = pb::AllocationApplication { team: Some(pb::Team { gender: 0, ..team }), ..application.clone() };
    let submit = |a: pb::AllocationApplication| pb::SubmitApplicationRequest { id: id.clone(), application: Some(a) };
    let e = c.submit_application(with_key(submit(unspecified), &rita)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("team.gender".to_string(), "REQUIRED".to_string())]);
    let e = c.submit_application(with_key(submit(application.clone()), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "an editor's key does not apply for an association");
    let sent = c.submit_application(with_key(submit(application), &rita)).await.unwrap().into_inner().application.unwrap();
    assert_eq!((sent.status.as_str(), sent.wishes[0].times_per_week), ("submitted", 1), "times a week: 1 when unset");
    let listed = c.list_applications(with_key(pb::ListApplicationsRequest { id: id.clone() }, staff)).await.unwrap().into_inner();
    assert_eq!(listed.applications, vec![sent.clone()]);

    // A run, published: the representative sees their decision; a run that is no run is not found.
    let run = c
        .run_allocation(with_key(pb::RunAllocationRequest { id: id.clone(), label: "preliminary".into(), ..Default::default() }, staff))
        .await
        .unwrap()
        .into_inner()
        .run
        .unwrap();
    let d = &run.decisions[0];
    assert_eq!((d.application_id.as_str(), d.alternative, d.slot.as_ref().map(|s| s.day)), (sent.id.as_str(), Some(0), Some(1)));
    let e = c.get_run(with_key(pb::GetRunRequest { id: run.id.clone() }, &rita)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "unpublished");
    let published = c
        .publish_run(with_key(pb::PublishRunRequest { id: id.clone(), run_id: run.id.clone(), expected_version: 2 }, staff))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!((published.status, published.published_run.as_str()), (pb::RoundStatus::Preliminary as i32, run.id.as_str()));
    let seen = c.get_run(with_key(pb::GetRunRequest { id: run.id.clone() }, &rita)).await.unwrap().into_inner().run.unwrap();
    assert_eq!(seen.decisions, run.decisions);
    let e = c.get_run(with_key(pb::GetRunRequest { id: uuid::Uuid::now_v7().to_string() }, staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let public = c.get_public_allocation(pb::GetPublicAllocationRequest { id }).await.unwrap().into_inner().allocation.unwrap();
    assert_eq!((public.status, public.sessions.len()), (pb::RoundStatus::Preliminary as i32, 1));
}

/// `GrantsService` over the same use cases as REST: a programme set up and changed by staff
/// (enums, dates, REST's defaults for unset rules, optimistic concurrency), an application with
/// an account by a representative, an attachment larger than the server's body limit (the
/// upload methods take what REST's upload routes take; other methods do not), handling, a
/// payment order attested by a second person and its payment file, and the open data; what
/// does not decode is refused with the field named (REST JSON names).
#[tokio::test]
async fn grants_service() {
    use grpc_api::proto::v1::grants_service_client::GrantsServiceClient;
    use registry_core::auth::Principal;
    use registry_core::model::{Decision, NewRepresentative};

    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");
    let club = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    app.registry.decide_registration(&admin, club.id, None, None, &Decision::Approve).await.unwrap();
    let rep = NewRepresentative { personal_identity_number: "197702281937".into(), name: "Rita Representant".into() };
    app.registry.add_representative(&admin, club.id, &rep).await.unwrap();
    let rita = app.session("197702281937", "Rita Representant", None).await;
    let stina = app.session("197802142385", "Stina Attestant", Some("0180")).await;
    let staff = keys.editor_0180.as_str();
    let mut c = GrantsServiceClient::new(app.channel().await);

    let now = app.registry.now();
    let today = tests::dates::today();
    let ts = |t: chrono::DateTime<chrono::Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let programme = pb::GrantProgramme {
        municipality_code: "0180".into(),
        name: "Projektbidrag".into(),
        kind: pb::GrantProgrammeKind::Application as i32,
        application: Some(pb::GrantApplicationRules { max_amount_minor: Some(5_000_000), min_attachments: 1 }),
        period_from: (today - chrono::Duration::days(30)).to_string(),
        period_to: (today + chrono::Duration::days(30)).to_string(),
        applications_open: ts(now - chrono::Duration::days(1)),
        applications_close: ts(now + chrono::Duration::days(10)),
        budget_minor: 10_000_000,
        ..Default::default()
    };

    // What does not decode, each named; then what the use case refuses.
    let bad = pb::GrantProgramme {
        kind: 0,
        period_to: "30/6".into(),
        applications_open: None,
        basic: Some(pb::GrantBasicRules {
            year: 2026,
            amounts: vec![pb::GrantBandAmount { age_band: 42, amount_minor: 1 }],
            ..Default::default()
        }),
        ..programme.clone()
    };
    let e = c.create_programme(with_key(pb::CreateGrantProgrammeRequest { programme: Some(bad) }, staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let v = violations(&e);
    for (field, reason) in
        [("kind", "REQUIRED"), ("periodTo", "FORMAT"), ("applicationsOpen", "REQUIRED"), ("basic.amounts[0].ageBand", "UNKNOWN_ENUM_VALUE")]
    {
        assert!(v.contains(&(field.into(), reason.into())), "{field} {reason} in {v:?}");
    }
    let basic_on_application = pb::GrantProgramme { basic: Some(pb::GrantBasicRules::default()), ..programme.clone() };
    let e =
        c.create_programme(with_key(pb::CreateGrantProgrammeRequest { programme: Some(basic_on_application) }, staff)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("basic".to_string(), "NOT_APPLICABLE".to_string())]);
    let e = c
        .create_programme(with_key(pb::CreateGrantProgrammeRequest { programme: Some(programme.clone()) }, &keys.editor_1480))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // An activity grant takes REST's defaults for the rules left unset (the LOK model).
    let activity = pb::GrantProgramme {
        name: "Aktivitetsstöd".into(),
        kind: pb::GrantProgrammeKind::Activity as i32,
        application: None,
        activity: Some(pb::GrantActivityRules { amount_per_participant_minor: Some(1000), ..Default::default() }),
        ..programme.clone()
    };
    let activity = c.create_programme(with_key(pb::CreateGrantProgrammeRequest { programme: Some(activity) }, staff)).await.unwrap();
    let rules = activity.into_inner().programme.unwrap().activity.unwrap();
    assert_eq!(
        (
            rules.min_age,
            rules.max_age,
            rules.age_basis,
            rules.leader_required,
            rules.amount_per_participant_minor,
            rules.max_participants_counted
        ),
        (Some(7), Some(25), pb::GrantAgeBasis::OnTheDay as i32, Some(true), Some(1000), None)
    );

    let created =
        c.create_programme(with_key(pb::CreateGrantProgrammeRequest { programme: Some(programme.clone()) }, staff)).await.unwrap();
    let created = created.into_inner().programme.unwrap();
    assert_eq!((created.kind, created.version, created.remaining_minor), (pb::GrantProgrammeKind::Application as i32, 1, 10_000_000));
    let id = created.id.clone();
    let got = c.get_programme(pb::GetGrantProgrammeRequest { id: id.clone() }).await.unwrap().into_inner().programme.unwrap();
    assert_eq!(got, created, "anyone reads a programme");
    let renamed = pb::GrantProgramme { id: id.clone(), name: "Projektbidrag 2027".into(), ..programme.clone() };
    let update = |v: i64| pb::UpdateGrantProgrammeRequest { programme: Some(renamed.clone()), expected_version: v };
    let e = c.update_programme(with_key(update(0), staff)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("expectedVersion".to_string(), "REQUIRED".to_string())]);
    let e = c.update_programme(with_key(update(7), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let updated = c.update_programme(with_key(update(1), staff)).await.unwrap().into_inner().programme.unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Projektbidrag 2027", 2));

    // A draft by the representative; an account's fields are those of its kind.
    let giro = pb::GrantAccount { kind: pb::GrantAccountKind::Bankgiro as i32, number: "5050-1055".into(), ..Default::default() };
    let application = pb::GrantApplication {
        association_id: club.id.to_string(),
        title: "Cup".into(),
        description: "Ungdomscup i juni".into(),
        requested_minor: Some(2_000_000),
        payee: Some(giro.clone()),
        ..Default::default()
    };
    let create = |a: pb::GrantApplication| pb::CreateGrantApplicationRequest { id: id.clone(), application: Some(a) };
    let mixed = pb::GrantApplication { payee: Some(pb::GrantAccount { iban: "SE45".into(), ..giro.clone() }), ..application.clone() };
    let e = c.create_application(with_key(create(mixed), &rita)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("payee.iban".to_string(), "NOT_APPLICABLE".to_string())]);
    let e = c.create_application(with_key(create(application.clone()), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "an editor's key does not apply for an association");
    let draft = c.create_application(with_key(create(application), &rita)).await.unwrap().into_inner().application.unwrap();
    assert_eq!((draft.status.as_str(), draft.payee.as_ref().map(|p| p.number.as_str())), ("draft", Some("50501055")));
    let app_id = draft.id.clone();

    // An attachment over the server's body limit (1 MiB) goes through the upload method; the
    // same size on any other method is refused.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(2 * 1024 * 1024, b'%');
    let attach = |content: Vec<u8>| pb::AddGrantAttachmentRequest { id: app_id.clone(), file_name: "budget.pdf".into(), content };
    let a = c.add_attachment(with_key(attach(pdf.clone()), &rita)).await.unwrap().into_inner().attachment.unwrap();
    assert_eq!((a.content_type.as_str(), a.size_bytes), ("application/pdf", 2 * 1024 * 1024));
    let read_attachment = pb::GetGrantAttachmentRequest { id: app_id.clone(), attachment_id: a.id.clone() };
    let read = c.get_attachment(with_key(read_attachment.clone(), &rita)).await.unwrap().into_inner();
    assert_eq!((read.attachment.as_ref(), read.content == pdf), (Some(&a), true));
    let e = c.get_attachment(with_key(read_attachment.clone(), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "a draft is the association's own: {e:?}");
    let long = pb::UpdateGrantApplicationRequest {
        application: Some(pb::GrantApplication { id: app_id.clone(), description: "x".repeat(2 * 1024 * 1024), ..draft.clone() }),
        expected_version: 2,
    };
    let e = c.update_application(with_key(long, &rita)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    // Larger than REST takes: refused by the use case, named as REST names it.
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(grants::service::MAX_ATTACHMENT_BYTES + 1, b'%');
    let e = c.add_attachment(with_key(attach(big), &rita)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("content".to_string(), "TOO_LARGE".to_string())]);
    // The guard reads the upload methods' declared length with their limit, too (gRPC-Web sends
    // one): 2 MiB is taken on AddAttachment and refused on CreateProgramme before it is read.
    let frame = |msg: Vec<u8>| {
        let mut f = vec![0u8];
        f.extend_from_slice(&u32::try_from(msg.len()).unwrap().to_be_bytes());
        f.extend(msg);
        f
    };
    for (method, body, refused) in [
        ("AddAttachment", prost::Message::encode_to_vec(&attach(pdf.clone())), false),
        ("CreateProgramme", vec![0u8; 2 * 1024 * 1024], true),
    ] {
        let r = tests::authed(app.http().post(app.url(&format!("/registry.v1.GrantsService/{method}"))), &rita)
            .header("content-type", "application/grpc-web+proto")
            .body(frame(body))
            .send()
            .await
            .unwrap();
        let status = r.headers().get("grpc-status").map(|s| s.to_str().unwrap().to_string());
        assert_eq!(status.as_deref() == Some("8"), refused, "{method}: {:?}", r.headers());
        if !refused {
            // gRPC-Web: the status is in the trailers frame at the end of the body.
            let body = r.bytes().await.unwrap();
            assert!(String::from_utf8_lossy(&body).contains("grpc-status:0"), "{method}: {body:?}");
        }
    }

    // Sent, decided by staff (enums), paid: prepared by one, attested by another.
    let sent = c
        .submit_application(with_key(pb::SubmitGrantApplicationRequest { id: app_id.clone(), expected_version: 0 }, &rita))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(sent.status, "submitted");
    let read = c.get_attachment(with_key(read_attachment, staff)).await.unwrap().into_inner();
    assert!(read.content == pdf, "staff read a sent application's attachments");
    let decide = |outcome: i32, authority: i32| pb::DecideGrantApplicationRequest {
        id: app_id.clone(),
        outcome,
        amount_minor: 1_500_000,
        reasons: String::new(),
        authority,
        reference: "Delegationsordning 4.2".into(),
        expected_version: sent.version,
    };
    let e = c.decide_application(with_key(decide(0, 7), staff)).await.unwrap_err();
    assert_eq!(
        violations(&e),
        vec![("outcome".to_string(), "REQUIRED".to_string()), ("authority".to_string(), "UNKNOWN_ENUM_VALUE".to_string())]
    );
    let decided = c
        .decide_application(with_key(decide(pb::GrantOutcome::Approved as i32, pb::GrantAuthority::Delegation as i32), staff))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let d = decided.decision.unwrap();
    assert_eq!((decided.status.as_str(), d.outcome, d.amount_minor), ("approved", pb::GrantOutcome::Approved as i32, 1_500_000));
    let order = pb::PreparePaymentOrderRequest {
        municipality_code: "0180".into(),
        application_ids: vec![app_id.clone()],
        execution_date: (today + chrono::Duration::days(3)).to_string(),
        debtor: Some(pb::GrantDebtor {
            name: "Stockholms stad".into(),
            org_number: "212000-0142".into(),
            account: Some(giro.clone()),
            bic: None,
        }),
    };
    let e = c.prepare_payment_order(with_key(pb::PreparePaymentOrderRequest { debtor: None, ..order.clone() }, staff)).await.unwrap_err();
    assert_eq!(violations(&e), vec![("debtor".to_string(), "REQUIRED".to_string())]);
    let prepared = c.prepare_payment_order(with_key(order, staff)).await.unwrap().into_inner().order.unwrap();
    assert_eq!((prepared.status.as_str(), prepared.total_minor), ("prepared", 1_500_000));
    let file = pb::GetPaymentFileRequest { id: prepared.id.clone() };
    let e = c.get_payment_file(with_key(file.clone(), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "no file before attestation: {e:?}");
    let attest = pb::AttestPaymentOrderRequest { id: prepared.id.clone(), expected_version: 0 };
    let e = c.attest_payment_order(with_key(attest.clone(), staff)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "a key does not attest: {e:?}");
    let attested = c.attest_payment_order(with_key(attest, &stina)).await.unwrap().into_inner().order.unwrap();
    assert_eq!((attested.status.as_str(), attested.attested_by.as_deref()), ("attested", Some("Stina Attestant")));
    let file = c.get_payment_file(with_key(file, &stina)).await.unwrap().into_inner();
    assert!(file.file_name.ends_with(".xml") && file.xml.contains("<CtrlSum>15000.00</CtrlSum>"), "{file:?}");
    let rest =
        tests::authed(app.http().get(app.url(&format!("/v1/grants/payment-orders/{}/file", prepared.id))), &stina).send().await.unwrap();
    assert_eq!(rest.text().await.unwrap(), file.xml, "the same bytes through both");

    // Open data.
    let open = c.list_decisions(pb::ListGrantDecisionsRequest { municipality_code: "0180".into(), ..Default::default() }).await.unwrap();
    let open = open.into_inner().decisions;
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].kind, open[0].authority, open[0].amount_minor),
        (pb::GrantProgrammeKind::Application as i32, pb::GrantAuthority::Delegation as i32, 1_500_000)
    );
    let e = c.list_decisions(pb::ListGrantDecisionsRequest { programme_id: "nope".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("programmeId".to_string(), "FORMAT".to_string())]);
    let e = c.get_statistics(pb::GetGrantStatisticsRequest { year: 0 }).await.unwrap_err();
    assert_eq!(violations(&e), vec![("year".to_string(), "OUT_OF_RANGE".to_string())]);
}
