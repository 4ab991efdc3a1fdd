//! `--read-database-url`: search and exports read the replica, writes and other reads the
//! primary. Two separate databases stand in for a primary and a (lagging) replica, so each
//! read shows where it went.

use futures_util::StreamExt;
use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::export::{ExportFilter, ExportFormat, ExportKind, ExportRequest};
use registry_core::model::Decision;
use registry_core::search::FacilitySearch;
use registry_core::service::AssociationSearch;
use tests::{TestDb, fixtures};

#[tokio::test]
async fn search_and_exports_read_the_replica_and_everything_else_the_primary() {
    let (primary, replica) = (TestDb::new().await, TestDb::new().await);
    let admin = Principal::operator("setup");
    replica.registry().create_facility(&admin, &fixtures::facility("1880", "Replica hall")).await.unwrap();
    let a = replica.registry().create_association(&admin, &fixtures::association("1880", 1)).await.unwrap();
    replica.registry().decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();

    let reg = Registry::connect(&primary.url, 4).unwrap().with_read_replica(&replica.url, 4).unwrap();
    let f = reg.create_facility(&admin, &fixtures::facility("1880", "Primary hall")).await.unwrap();
    assert_eq!(reg.get_facility(&admin, f.id).await.unwrap().name, "Primary hall", "reads by id stay on the primary");

    let anon = Principal::anonymous();
    let page = reg.search_facilities(&anon, &FacilitySearch { q: Some("hall".into()), ..Default::default() }).await.unwrap();
    let names: Vec<&str> = page.hits.iter().map(|h| h.facility.name.as_str()).collect();
    assert_eq!(names, ["Replica hall"]);
    let found =
        reg.search_associations(&anon, &AssociationSearch { q: Some("Testföreningen".into()), ..Default::default() }).await.unwrap();
    assert_eq!(found.associations.len(), 1);

    let req = ExportRequest {
        kind: ExportKind::Facilities,
        format: ExportFormat::Ndjson,
        filter: ExportFilter::default(),
        include_personal_data: false,
    };
    let mut stream = reg.export(&anon, &req).await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("Replica hall") && !body.contains("Primary hall"), "{body}");
}
