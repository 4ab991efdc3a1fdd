//! API keys and the demo dataset.

use registry_core::auth::Role;
use registry_core::keys::{self, NewKey};
use registry_core::{Error, demo};
use tests::TestDb;

fn new_key(role: &str, municipality: Option<&str>) -> NewKey {
    NewKey {
        role: role.into(),
        municipality_code: municipality.map(Into::into),
        personal_data: false,
        label: "test".into(),
        vendor_id: None,
    }
}

#[tokio::test]
async fn keys_authenticate_until_revoked() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let (info, token) = keys::create(reg.pool(), "pepper", &new_key("editor", Some("1881"))).await.unwrap();
    assert!(token.starts_with(&format!("rk_{}_", info.prefix)));
    assert_eq!(
        db.count(&format!("SELECT count(*) AS n FROM api_keys WHERE secret_hash LIKE '%{}%'", &token[12..20])).await,
        0,
        "the secret is not stored"
    );
    let p = keys::authenticate(reg.pool(), "pepper", &token).await.unwrap();
    assert_eq!(p.role, Role::MunicipalityEditor { municipality_code: "1881".into() });
    assert_eq!(p.id, format!("key:{}", info.prefix));
    assert!(!p.personal_data);

    for bad in [
        token.replace(&token[token.len() - 4..], "0000"),
        format!("rk_{}_nope", info.prefix),
        "rk_zzzzzzzz_x".into(),
        "Bearer x".into(),
        String::new(),
    ] {
        assert!(matches!(keys::authenticate(reg.pool(), "pepper", &bad).await, Err(Error::Unauthenticated(_))), "{bad}");
    }
    assert!(matches!(keys::authenticate(reg.pool(), "other pepper", &token).await, Err(Error::Unauthenticated(_))));

    keys::revoke(reg.pool(), &info.prefix).await.unwrap();
    let err = keys::authenticate(reg.pool(), "pepper", &token).await.unwrap_err();
    assert!(matches!(&err, Error::Unauthenticated(m) if m.contains("revoked")), "{err:?}");
    assert!(keys::list(reg.pool()).await.unwrap()[0].revoked_at.is_some());
}

#[tokio::test]
async fn key_roles_are_checked() {
    let db = TestDb::new().await;
    let reg = db.registry();
    for (role, muni, field, rule) in [
        ("editor", None, "municipality", "required"),
        ("editor", Some("9999"), "municipality", "unknown_code"),
        ("admin", Some("1881"), "municipality", "not_allowed"),
        ("root", None, "role", "unknown_code"),
    ] {
        let Err(Error::Invalid(v)) = keys::create(reg.pool(), "", &new_key(role, muni)).await else { panic!("{role} {muni:?} accepted") };
        assert_eq!((v[0].field.as_str(), v[0].rule), (field, rule));
    }
    let (_, token) = keys::create(reg.pool(), "", &NewKey { personal_data: true, ..new_key("national_body", None) }).await.unwrap();
    let p = keys::authenticate(reg.pool(), "", &token).await.unwrap();
    assert_eq!(p.role, Role::NationalBody);
    assert!(p.personal_data);
    assert!(matches!(keys::revoke(reg.pool(), "abcdef12").await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn the_demo_dataset_loads_idempotently() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let first = demo::load(&reg).await.unwrap();
    assert_eq!((first.facilities, first.associations, first.skipped, first.boundaries), (300, 45, 0, 290));
    let second = demo::load(&reg).await.unwrap();
    assert_eq!((second.facilities, second.associations, second.skipped, second.boundaries), (0, 0, 345, 0));
    // The approximate boundaries cover every municipality without overlapping, and each demo
    // facility lies in its own municipality's.
    assert_eq!(db.count("SELECT count(*) AS n FROM municipality_boundaries WHERE NOT ST_IsEmpty(boundary::geometry)").await, 290);
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM municipality_boundaries a JOIN municipality_boundaries b ON a.municipality_code < b.municipality_code
             WHERE ST_Area(ST_Intersection(a.boundary_tm, b.boundary_tm)) > 1e6"
        )
        .await,
        0
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM facilities f JOIN municipality_boundaries b USING (municipality_code)
             WHERE ST_Covers(b.boundary_tm, ST_Transform(f.location::geometry, 3006))"
        )
        .await,
        300
    );
    assert_eq!(db.count("SELECT count(DISTINCT municipality_code) AS n FROM facilities").await, 15);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM facility_units").await,
        15 * demo::facilities().iter().take(20).map(|f| f.units.len() as i64).sum::<i64>()
    );
    assert_eq!(db.count("SELECT count(*) AS n FROM associations WHERE registration_status = 'approved'").await, 30);
    assert_eq!(db.count("SELECT count(*) AS n FROM opening_hours").await, 300, "every demo facility has opening hours");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 300 + 300 + 45 + 30, "loaded through the use cases");

    // The demo's seasonal allocation round: set up once, its units' hours from the registry's
    // opening hours, a preliminary allocation published that keeps every hard rule.
    let round = allocation::demo::load(&reg).await.unwrap();
    assert_eq!(allocation::demo::load(&reg).await.unwrap(), round, "loaded once");
    // The demo's grant programmes: three kinds, open for applications, set up once.
    let programmes = grants::demo::load(&reg).await.unwrap();
    assert_eq!(programmes.len(), 3);
    assert_eq!(grants::demo::load(&reg).await.unwrap(), programmes, "loaded once");
    let open = grants::Grants::new(reg.clone()).list_programmes(&registry_core::auth::Principal::anonymous(), Some("1280")).await.unwrap();
    assert!(open.iter().all(|p| p.input.applications_open <= reg.now() && reg.now() < p.input.applications_close), "{open:?}");
    let service = allocation::Allocations::new(reg.clone());
    let anyone = registry_core::auth::Principal::anonymous();
    let r = service.get_round(&anyone, round).await.unwrap();
    assert_eq!(r.status, allocation::model::RoundStatus::Preliminary);
    let published = service.public_allocation(&anyone, round).await.unwrap();
    assert!(!published.sessions.is_empty(), "the preliminary allocation places sessions");
    for (i, a) in published.sessions.iter().enumerate() {
        for b in &published.sessions[i + 1..] {
            let overlap =
                a.slot.unit_id == b.slot.unit_id && a.slot.day == b.slot.day && a.slot.start < b.slot.end && b.slot.start < a.slot.end;
            assert!(!overlap, "{a:?} overlaps {b:?}");
        }
    }
}
