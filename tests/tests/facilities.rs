//! Facility use cases against a real PostGIS database.

use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::*;
use registry_core::service::{FacilityFilter, PageRequest};
use registry_core::{Error, FieldViolation};
use tests::{TestDb, fixtures};

fn kumla() -> Principal {
    Principal::editor("key:kumla", "1881")
}

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let created = reg.create_facility(&kumla(), &fixtures::facility("1881", "Kumla idrottshall")).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.id.get_version_num(), 7, "ids are UUIDv7");
    assert_eq!(created.units.len(), 2);
    assert!(created.units.iter().all(|u| u.id.get_version_num() == 7));
    assert_eq!(created.location, Some(LatLon { lat: 59.1277, lon: 15.1434 }), "axes survive the round trip through PostGIS");

    let got = reg.get_facility(&Principal::anonymous(), created.id).await.unwrap();
    assert_eq!(got, created);

    // Update: rename, keep the first unit by id, drop the second, add a new one.
    let mut input = created.to_input();
    input.name = "Kumla sporthall".into();
    input.units.remove(1);
    input.units.push(UnitInput {
        id: None,
        name: "Hall B".into(),
        category: "sports_hall".into(),
        capacity: Some(50),
        area_m2: Some(300.0),
        bookable: true,
    });
    input.location = None;
    let updated = reg.update_facility(&kumla(), created.id, 1, &input).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "Kumla sporthall");
    assert_eq!(updated.units[0].id, created.units[0].id, "a unit listed with its id keeps it");
    assert_eq!(updated.units[1].name, "Hall B");
    assert_ne!(updated.units[1].id, created.units[1].id);
    assert_eq!(updated.location, None);
    assert!(updated.updated_at > created.updated_at);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(db.count("SELECT count(*) AS n FROM facility_units").await, 2, "the dropped unit is gone");

    reg.delete_facility(&kumla(), created.id, Some(2)).await.unwrap();
    assert!(matches!(reg.get_facility(&kumla(), created.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(reg.delete_facility(&kumla(), created.id, None).await, Err(Error::NotFound { .. })));
    assert!(matches!(reg.update_facility(&kumla(), created.id, 3, &input).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn invalid_input_names_every_field_and_writes_nothing() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let mut input = fixtures::facility("1881", "x");
    input.name = String::new();
    input.category = "spaceport".into();
    input.location = Some(LatLon { lat: 15.14, lon: 59.13 });
    input.address.postal_code = "1234".into();
    input.units[1].capacity = Some(-5);
    let Err(Error::Invalid(v)) = reg.create_facility(&kumla(), &input).await else { panic!("expected invalid") };
    let got: Vec<(&str, &str)> = v.iter().map(|FieldViolation { field, rule, .. }| (field.as_str(), *rule)).collect();
    for expected in [
        ("name", "required"),
        ("category", "unknown_code"),
        ("location.lat", "outside_sweden"),
        ("location.lon", "outside_sweden"),
        ("address.postalCode", "format"),
        ("units[1].capacity", "out_of_range"),
    ] {
        assert!(got.contains(&expected), "{expected:?} missing from {got:?}");
    }
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 0);
}

#[tokio::test]
async fn unknown_municipality_codes_are_rejected() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    for (code, rule) in [("0000", "unknown_code"), ("1899", "unknown_code"), ("188", "format")] {
        let Err(Error::Invalid(v)) = reg.create_facility(&admin, &fixtures::facility(code, "Hall")).await else {
            panic!("{code} accepted")
        };
        assert_eq!((v[0].field.as_str(), v[0].rule), ("municipalityCode", rule), "{code}");
    }
    let filter = FacilityFilter { municipality_code: Some("9999".into()), ..Default::default() };
    assert!(matches!(reg.list_facilities(&admin, &filter, &PageRequest::default()).await, Err(Error::Invalid(_))));
    assert!(matches!(reg.get_municipality(&admin, "9999").await, Err(Error::NotFound { .. })));
    assert_eq!(reg.get_municipality(&admin, "1881").await.unwrap().name, "Kumla");
}

#[tokio::test]
async fn unit_ids_must_belong_to_the_facility() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let a = reg.create_facility(&admin, &fixtures::facility("1881", "A")).await.unwrap();
    let b = reg.create_facility(&admin, &fixtures::facility("1881", "B")).await.unwrap();
    let mut input = b.to_input();
    input.units[0].id = Some(a.units[0].id);
    let Err(Error::Invalid(v)) = reg.update_facility(&admin, b.id, 1, &input).await else { panic!("stole a unit") };
    assert_eq!((v[0].field.as_str(), v[0].rule), ("units[0].id", "unknown_unit"));
    let mut input = fixtures::facility("1881", "C");
    input.units[0].id = Some(uuid::Uuid::now_v7());
    let Err(Error::Invalid(v)) = reg.create_facility(&admin, &input).await else { panic!("accepted a unit id on create") };
    assert_eq!((v[0].field.as_str(), v[0].rule), ("units[0].id", "not_allowed"));
    assert_eq!(reg.get_facility(&admin, a.id).await.unwrap(), a, "the other facility is untouched");
}

#[tokio::test]
async fn listing_filters_and_pages_in_a_stable_order() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut f = fixtures::facility(if i % 2 == 0 { "1881" } else { "1880" }, &format!("Hall {i}"));
        if i == 3 {
            f.category = "swimming_pool".into();
            f.activities = vec!["swimming".into()];
        }
        ids.push(reg.create_facility(&admin, &f).await.unwrap().id);
    }
    let anon = Principal::anonymous();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = reg.list_facilities(&anon, &FacilityFilter::default(), &page).await.unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|f| f.id));
        if p.next_page_token.is_empty() {
            break;
        }
        page.page_token = p.next_page_token;
    }
    assert_eq!(seen, ids, "every facility once, in id (creation) order");

    let kumla = FacilityFilter { municipality_code: Some("1881".into()), ..Default::default() };
    assert_eq!(reg.list_facilities(&anon, &kumla, &PageRequest::default()).await.unwrap().items.len(), 4);
    let pools = FacilityFilter { category: Some("swimming_pool".into()), ..Default::default() };
    assert_eq!(reg.list_facilities(&anon, &pools, &PageRequest::default()).await.unwrap().items[0].id, ids[3]);
    let swim = FacilityFilter { activity: Some("swimming".into()), ..Default::default() };
    assert_eq!(reg.list_facilities(&anon, &swim, &PageRequest::default()).await.unwrap().items.len(), 1);
    let future = FacilityFilter { updated_since: Some(tests::now() + chrono::Duration::hours(1)), ..Default::default() };
    assert!(reg.list_facilities(&anon, &future, &PageRequest::default()).await.unwrap().items.is_empty());

    let batch = reg.batch_get_facilities(&anon, &[ids[5], uuid::Uuid::now_v7(), ids[0]]).await.unwrap();
    assert_eq!(batch.iter().map(|f| f.id).collect::<Vec<_>>(), vec![ids[5], ids[0]], "order kept, unknown left out");
}

/// The database enforces the same rules, so nothing that goes around the core stores bad data.
#[tokio::test]
async fn database_constraints_reject_what_the_core_rejects() {
    use diesel_async::SimpleAsyncConnection;
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let base = "INSERT INTO facilities (id, municipality_code, name, category, ownership, activities, location, postal_code) VALUES (gen_random_uuid(),";
    for (values, what) in [
        ("'9999', 'x', 'sports_hall', 'municipal', '{}', NULL, '')", "unknown municipality"),
        ("'1881', 'x', 'spaceport', 'municipal', '{}', NULL, '')", "unknown category"),
        ("'1881', 'x', 'sports_hall', 'stolen', '{}', NULL, '')", "unknown ownership"),
        ("'1881', 'x', 'sports_hall', 'municipal', '{quidditch}', NULL, '')", "unknown activity"),
        ("'1881', ' ', 'sports_hall', 'municipal', '{}', NULL, '')", "blank name"),
        ("'1881', 'x', 'sports_hall', 'municipal', '{}', 'SRID=4326;POINT(59.1 15.1)', '')", "swapped coordinates"),
        ("'1881', 'x', 'sports_hall', 'municipal', '{}', NULL, '0123')", "bad postal code"),
    ] {
        let sql = format!("{base} {values}");
        assert!(conn.batch_execute(&sql).await.is_err(), "{what} was stored");
    }
    let ok = format!("{base} '1881', 'x', 'sports_hall', 'municipal', '{{floorball}}', 'SRID=4326;POINT(15.1 59.1)', '69231')");
    conn.batch_execute(&ok).await.expect("a valid row is accepted");
    for (sql, what) in [
        (
            "INSERT INTO associations (id, org_number, name, municipality_code) VALUES (gen_random_uuid(), '8020045420', 'x', '1881')",
            "bad Luhn digit",
        ),
        (
            "INSERT INTO associations (id, org_number, name, municipality_code) VALUES (gen_random_uuid(), '802004542', 'x', '1881')",
            "nine digits",
        ),
        (
            "INSERT INTO associations (id, org_number, name, municipality_code, registration_status) VALUES (gen_random_uuid(), '8020045426', 'x', '1881', 'rejected')",
            "rejection without a reason",
        ),
    ] {
        assert!(conn.batch_execute(sql).await.is_err(), "{what} was stored");
    }
    conn.batch_execute(
        "INSERT INTO associations (id, org_number, name, municipality_code) VALUES (gen_random_uuid(), '8020045426', 'x', '1881')",
    )
    .await
    .expect("a valid association row is accepted");
    assert!(
        conn.batch_execute(
            "INSERT INTO associations (id, org_number, name, municipality_code) VALUES (gen_random_uuid(), '8020045426', 'y', '1880')"
        )
        .await
        .is_err(),
        "organisation numbers are unique"
    );
}

#[tokio::test]
async fn municipalities_are_listed_from_the_database() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let anon = Principal::anonymous();
    let all = reg.list_municipalities(&anon, None).await.unwrap();
    assert_eq!(all.len(), 290);
    assert_eq!(all[0].code, "0114");
    let orebro_lan = reg.list_municipalities(&anon, Some("18")).await.unwrap();
    assert_eq!(orebro_lan.len(), 12);
    assert!(orebro_lan.iter().all(|m| m.county_name == "Örebro län"));
    assert!(matches!(reg.list_municipalities(&anon, Some("1")).await, Err(Error::Invalid(_))));
    assert_eq!(reg.get_municipality(&anon, "2480").await.unwrap().name, "Umeå");
    assert!(matches!(reg.get_municipality(&anon, "24x0").await, Err(Error::Invalid(_))));
}
