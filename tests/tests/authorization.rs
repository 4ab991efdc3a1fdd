//! Every use case × every role, through the real use cases and database.

use registry_core::Error;
use registry_core::auth::{Principal, Role};
use registry_core::model::Decision;
use registry_core::service::{AssociationFilter, FacilityFilter, PageRequest};
use tests::{TestDb, fixtures};

/// Outcome of a call, reduced to what authorization decides.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum O {
    Ok,
    Unauth,
    Forbidden,
    NotFound,
}

fn outcome<T>(r: Result<T, Error>) -> O {
    match r {
        Ok(_) => O::Ok,
        Err(Error::Unauthenticated(_)) => O::Unauth,
        Err(Error::Forbidden(_)) => O::Forbidden,
        Err(Error::NotFound { .. }) => O::NotFound,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

fn roles() -> Vec<(&'static str, Principal)> {
    vec![
        ("anonymous", Principal::anonymous()),
        ("editor 0180 (own)", Principal::editor("key:sthlm", "0180")),
        ("editor 1480 (other)", Principal::editor("key:gbg", "1480")),
        ("vendor", Principal::with_role("key:vendor", Role::Vendor)),
        ("national body", Principal::with_role("key:rf", Role::NationalBody)),
        ("admin", Principal::operator("key:admin")),
    ]
}

use O::{Forbidden as F, NotFound as N, Ok as Y, Unauth as U};

/// Writes on municipality 0180's data: only its own editor and the admin may.
const WRITE: [O; 6] = [U, Y, F, F, F, Y];
/// Public reads: everyone.
const READ: [O; 6] = [Y, Y, Y, Y, Y, Y];
/// Decisions on a pending registration of 0180: callers who may not even see it get "not
/// found"; the national body sees it but may not decide.
const DECIDE: [O; 6] = [N, Y, N, N, F, Y];

#[tokio::test]
async fn facility_use_cases_by_role() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    for (i, (name, p)) in roles().into_iter().enumerate() {
        let existing = reg.create_facility(&admin, &fixtures::facility("0180", &format!("Existing {i}"))).await.unwrap();
        let input = fixtures::facility("0180", &format!("New {i}"));
        assert_eq!(outcome(reg.create_facility(&p, &input).await), WRITE[i], "{name}: create");
        assert_eq!(outcome(reg.get_facility(&p, existing.id).await), READ[i], "{name}: get");
        assert_eq!(outcome(reg.batch_get_facilities(&p, &[existing.id]).await), READ[i], "{name}: batch get");
        assert_eq!(outcome(reg.list_facilities(&p, &FacilityFilter::default(), &PageRequest::default()).await), READ[i], "{name}: list");
        assert_eq!(outcome(reg.list_municipalities(&p, None).await), READ[i], "{name}: list municipalities");
        assert_eq!(outcome(reg.get_municipality(&p, "0180").await), READ[i], "{name}: get municipality");
        assert_eq!(outcome(reg.update_facility(&p, existing.id, 1, &existing.to_input()).await), WRITE[i], "{name}: update");
        let version = reg.get_facility(&admin, existing.id).await.unwrap().version;
        assert_eq!(outcome(reg.delete_facility(&p, existing.id, Some(version)).await), WRITE[i], "{name}: delete");
    }
}

#[tokio::test]
async fn an_editor_of_1480_cannot_write_a_facility_of_0180() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let sthlm = reg.create_facility(&Principal::editor("key:sthlm", "0180"), &fixtures::facility("0180", "Stockholms hall")).await.unwrap();
    let gbg = Principal::editor("key:gbg", "1480");

    // Neither directly, nor by moving it to Göteborg, nor by moving its own facility to Stockholm.
    let mut moved = sthlm.to_input();
    moved.municipality_code = "1480".into();
    assert!(matches!(reg.update_facility(&gbg, sthlm.id, 1, &sthlm.to_input()).await, Err(Error::Forbidden(_))));
    assert!(matches!(reg.update_facility(&gbg, sthlm.id, 1, &moved).await, Err(Error::Forbidden(_))));
    assert!(matches!(reg.delete_facility(&gbg, sthlm.id, None).await, Err(Error::Forbidden(_))));
    let own = reg.create_facility(&gbg, &fixtures::facility("1480", "Göteborgs hall")).await.unwrap();
    let mut to_sthlm = own.to_input();
    to_sthlm.municipality_code = "0180".into();
    assert!(matches!(reg.update_facility(&gbg, own.id, 1, &to_sthlm).await, Err(Error::Forbidden(_))));

    assert_eq!(reg.get_facility(&gbg, sthlm.id).await.unwrap(), sthlm, "nothing changed");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 2, "only the two creates were logged");
}

#[tokio::test]
async fn association_use_cases_by_role() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    for (i, (name, p)) in roles().into_iter().enumerate() {
        let n = 100 * i as u32;
        let existing = reg.create_association(&admin, &fixtures::association("0180", n)).await.unwrap();
        let existing = reg.decide_registration(&admin, existing.id, None, None, &Decision::Approve).await.unwrap();
        assert_eq!(outcome(reg.create_association(&p, &fixtures::association("0180", n + 1)).await), WRITE[i], "{name}: create");
        assert_eq!(outcome(reg.get_association(&p, existing.id).await), READ[i], "{name}: get approved");
        assert_eq!(outcome(reg.get_association_by_org_number(&p, &existing.org_number).await), READ[i], "{name}: get by org number");
        assert_eq!(
            outcome(reg.list_associations(&p, &AssociationFilter::default(), &PageRequest::default()).await),
            READ[i],
            "{name}: list"
        );
        let mut input = fixtures::association("0180", n);
        input.name = "Renamed".into();
        assert_eq!(outcome(reg.update_association(&p, existing.id, existing.version, &input).await), WRITE[i], "{name}: update");
        let current = reg.get_association(&admin, existing.id).await.unwrap();
        assert_eq!(outcome(reg.delete_association(&p, existing.id, Some(current.version)).await), WRITE[i], "{name}: delete");

        for (k, decision) in [
            Decision::Approve,
            Decision::Reject { reason: "Not a non-profit association".into() },
            Decision::RequestCompletion { message: "Please add the statutes".into() },
        ]
        .into_iter()
        .enumerate()
        {
            let pending = reg.create_association(&admin, &fixtures::association("0180", n + 10 + k as u32)).await.unwrap();
            assert_eq!(outcome(reg.decide_registration(&p, pending.id, None, None, &decision).await), DECIDE[i], "{name}: {decision:?}");
        }
    }
}

#[tokio::test]
async fn unapproved_registrations_are_hidden_from_those_who_may_not_decide_them() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    let pending = reg.create_association(&admin, &fixtures::association("0180", 7)).await.unwrap();
    for (name, p) in roles() {
        let visible = matches!(name, "editor 0180 (own)" | "national body" | "admin");
        let got = reg.get_association(&p, pending.id).await;
        assert_eq!(got.is_ok(), visible, "{name}: get");
        if !visible {
            assert!(matches!(got, Err(Error::NotFound { .. })), "{name}");
            assert!(
                matches!(reg.decide_registration(&p, pending.id, None, None, &Decision::Approve).await, Err(Error::NotFound { .. })),
                "{name}"
            );
        }
        let listed = reg.list_associations(&p, &AssociationFilter::default(), &PageRequest::default()).await.unwrap();
        assert_eq!(listed.items.len(), usize::from(visible), "{name}: list");
    }
}
