//! Optimistic concurrency, atomic writes and the change log.

use diesel_async::SimpleAsyncConnection;
use registry_core::auth::Principal;
use registry_core::changelog;
use registry_core::model::Decision;
use registry_core::{Error, Registry};
use tests::{TestDb, fixtures};

#[tokio::test]
async fn two_updates_with_the_same_expected_version_one_wins() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let f = reg.create_facility(&admin, &fixtures::facility("1881", "Contested hall")).await.unwrap();
    for round in 0..5 {
        let current = reg.get_facility(&admin, f.id).await.unwrap();
        let (mut a, mut b) = (current.to_input(), current.to_input());
        a.name = format!("A{round}");
        b.name = format!("B{round}");
        let (ra, rb) =
            tokio::join!(reg.update_facility(&admin, f.id, current.version, &a), reg.update_facility(&admin, f.id, current.version, &b));
        let (won, lost) = match (ra, rb) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (ra, rb) => panic!("round {round}: expected exactly one success, got {ra:?} and {rb:?}"),
        };
        assert_eq!(won.version, current.version + 1);
        match lost {
            Error::PreconditionFailed { expected, actual, .. } => assert_eq!((expected, actual), (current.version, current.version + 1)),
            other => panic!("round {round}: loser got {other:?}"),
        }
        assert_eq!(reg.get_facility(&admin, f.id).await.unwrap(), won, "the stored state is the winner's");
    }
    let history = changelog::history(&mut db.conn().await, "facility", f.id).await.unwrap();
    assert_eq!(history.len(), 6, "one create and one update per round");
}

#[tokio::test]
async fn stale_versions_are_refused_for_every_versioned_write() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let f = reg.create_facility(&admin, &fixtures::facility("1881", "Hall")).await.unwrap();
    assert!(matches!(
        reg.update_facility(&admin, f.id, 2, &f.to_input()).await,
        Err(Error::PreconditionFailed { expected: 2, actual: 1, .. })
    ));
    assert!(matches!(reg.delete_facility(&admin, f.id, Some(0)).await, Err(Error::PreconditionFailed { .. })));
    let a = reg.create_association(&admin, &fixtures::association("1881", 1)).await.unwrap();
    assert!(matches!(
        reg.update_association(&admin, a.id, 5, &fixtures::association("1881", 1)).await,
        Err(Error::PreconditionFailed { .. })
    ));
    assert!(matches!(
        reg.decide_registration(&admin, a.id, None, Some(9), &Decision::Approve).await,
        Err(Error::PreconditionFailed { .. })
    ));
    assert!(matches!(reg.delete_association(&admin, a.id, Some(2)).await, Err(Error::PreconditionFailed { .. })));
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 2, "refused writes leave no trace");
}

#[tokio::test]
async fn every_write_logs_exactly_one_change_with_before_and_after() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let editor = Principal::editor("key:kumla", "1881");
    let mut conn = db.conn().await;

    let f = reg.create_facility(&editor, &fixtures::facility("1881", "Hall")).await.unwrap();
    let mut input = f.to_input();
    input.description = "Renovated".into();
    let f2 = reg.update_facility(&editor, f.id, 1, &input).await.unwrap();
    reg.delete_facility(&editor, f.id, Some(2)).await.unwrap();
    let h = changelog::history(&mut conn, "facility", f.id).await.unwrap();
    let ops: Vec<&str> = h.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(ops, ["create", "update", "delete"]);
    assert!(h.iter().all(|c| c.actor == "key:kumla"));
    assert!(h.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(h[0].before, None);
    assert_eq!(h[0].after, Some(serde_json::to_value(&f).unwrap()));
    assert_eq!(h[1].before, Some(serde_json::to_value(&f).unwrap()));
    assert_eq!(h[1].after, Some(serde_json::to_value(&f2).unwrap()));
    assert_eq!(h[2].before, Some(serde_json::to_value(&f2).unwrap()));
    assert_eq!(h[2].after, None);

    let a = reg.create_association(&editor, &fixtures::association("1881", 3)).await.unwrap();
    let asked = reg
        .decide_registration(&editor, a.id, None, Some(1), &Decision::RequestCompletion { message: "Add statutes".into() })
        .await
        .unwrap();
    let resubmitted = reg.update_association(&editor, a.id, 2, &fixtures::association("1881", 3)).await.unwrap();
    assert_eq!(resubmitted.registration.status.as_str(), "pending", "an update after a completion request resubmits");
    reg.decide_registration(&editor, a.id, None, Some(3), &Decision::Approve).await.unwrap();
    reg.delete_association(&editor, a.id, None).await.unwrap();
    let h = changelog::history(&mut conn, "association", a.id).await.unwrap();
    let ops: Vec<&str> = h.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(ops, ["create", "update", "update", "update", "delete"]);
    assert_eq!(h[1].after.as_ref().unwrap()["registration"]["status"], "REGISTRATION_STATUS_NEEDS_COMPLETION");
    assert_eq!(h[1].after.as_ref().unwrap()["version"], asked.version);
    assert_eq!(h[3].after.as_ref().unwrap()["registration"]["status"], "REGISTRATION_STATUS_APPROVED");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 8, "exactly one row per write");
}

/// A write that fails inside its transaction (here: the database refuses the second unit,
/// after the facility row was already updated) leaves neither the change nor a log row.
#[tokio::test]
async fn a_write_that_fails_half_way_is_rolled_back_completely() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let f = reg.create_facility(&admin, &fixtures::facility("1881", "Hall")).await.unwrap();
    // A test-only trigger, in this test's own database, that fails late in the write.
    db.conn()
        .await
        .batch_execute(
            "CREATE FUNCTION fail_on_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.name = 'Doomed' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER fail_on_doomed BEFORE INSERT ON facility_units FOR EACH ROW EXECUTE FUNCTION fail_on_doomed();",
        )
        .await
        .unwrap();
    let mut input = f.to_input();
    input.name = "Should not stick".into();
    input.units[1].name = "Doomed".into();
    let err = reg.update_facility(&admin, f.id, 1, &input).await.unwrap_err();
    assert!(matches!(err, Error::Internal(_)), "{err:?}");
    assert_eq!(reg.get_facility(&admin, f.id).await.unwrap(), f, "name, version and units are as before");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 1, "only the create is logged");

    let mut doomed = fixtures::facility("1881", "New hall");
    doomed.units[0].name = "Doomed".into();
    assert!(reg.create_facility(&admin, &doomed).await.is_err());
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 1);
}

#[tokio::test]
async fn a_lost_database_is_unavailable_not_internal() {
    let reg = Registry::connect("postgres://postgres@127.0.0.1:1/none", 1).unwrap();
    let err = reg.get_facility(&Principal::anonymous(), uuid::Uuid::now_v7()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(matches!(reg.ready().await, Err(Error::Unavailable(_))));
}
