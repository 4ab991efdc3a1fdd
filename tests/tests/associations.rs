//! Associations: registration workflow, organisation numbers, restricted fields, audit.

use registry_core::Error;
use registry_core::auth::{Principal, Role};
use registry_core::model::{Decision, RegistrationStatus};
use registry_core::service::{AssociationFilter, PageRequest};
use tests::{TestDb, fixtures};

#[tokio::test]
async fn registration_workflow() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let editor = Principal::editor("key:kumla", "1881");
    let a = reg.create_association(&editor, &fixtures::association("1881", 1)).await.unwrap();
    assert_eq!(a.registration.status, RegistrationStatus::Pending);
    assert_eq!(a.registration.decided_at, None);

    let Err(Error::Invalid(v)) = reg.decide_registration(&editor, a.id, None, None, &Decision::Reject { reason: "  ".into() }).await else {
        panic!("a rejection without a reason was accepted")
    };
    assert_eq!((v[0].field.as_str(), v[0].rule), ("reason", "required"));

    let asked = reg
        .decide_registration(&editor, a.id, None, None, &Decision::RequestCompletion { message: "Add your statutes".into() })
        .await
        .unwrap();
    assert_eq!(asked.registration.status, RegistrationStatus::NeedsCompletion);
    assert_eq!(asked.registration.message.as_deref(), Some("Add your statutes"));
    assert!(asked.registration.decided_at.is_some());

    let approved = reg.decide_registration(&editor, a.id, None, Some(asked.version), &Decision::Approve).await.unwrap();
    assert_eq!(approved.registration.status, RegistrationStatus::Approved);
    assert_eq!(approved.registration.message, None);

    let again =
        reg.decide_registration(&editor, a.id, None, None, &Decision::Reject { reason: "Changed our mind".into() }).await.unwrap_err();
    assert!(matches!(again, Error::Conflict { rule: "invalid_transition", .. }), "{again:?}");
    assert_eq!(reg.get_association(&editor, a.id).await.unwrap().version, approved.version);
}

#[tokio::test]
async fn organisation_numbers_are_unique_and_normalised() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let mut input = fixtures::association("1881", 42);
    let digits = input.org_number.clone();
    input.org_number = format!("{}-{}", &digits[..6], &digits[6..]);
    let a = reg.create_association(&admin, &input).await.unwrap();
    assert_eq!(a.org_number, digits);

    let mut dup = fixtures::association("1880", 42);
    dup.name = "Another name".into();
    let err = reg.create_association(&admin, &dup).await.unwrap_err();
    assert!(matches!(&err, Error::Conflict { field: Some(f), rule: "unique", .. } if f == "orgNumber"), "{err:?}");

    let other = reg.create_association(&admin, &fixtures::association("1881", 43)).await.unwrap();
    let mut steal = fixtures::association("1881", 43);
    steal.org_number = digits.clone();
    assert!(matches!(reg.update_association(&admin, other.id, 1, &steal).await, Err(Error::Conflict { .. })));

    assert_eq!(reg.get_association_by_org_number(&admin, &input.org_number).await.unwrap().id, a.id);
    let mut bad = digits.clone();
    bad.replace_range(9..10, if &digits[9..] == "0" { "1" } else { "0" });
    let Err(Error::Invalid(v)) = reg.get_association_by_org_number(&admin, &bad).await else { panic!() };
    assert_eq!(v[0].rule, "checksum");

    // After a delete the number can be registered again.
    reg.delete_association(&admin, a.id, None).await.unwrap();
    reg.create_association(&admin, &dup).await.unwrap();
}

#[tokio::test]
async fn personal_data_needs_the_scope_and_every_read_is_audited() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let a = reg.create_association(&admin, &fixtures::association("1881", 5)).await.unwrap();
    reg.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();

    let anonymous = reg.get_association(&Principal::anonymous(), a.id).await.unwrap();
    assert_eq!(anonymous.contact_persons, None);
    assert_eq!(anonymous.member_statistics, None, "member statistics are for national bodies and the municipality");
    let json = serde_json::to_string(&anonymous).unwrap();
    assert!(!json.contains("Karin") && !json.contains("0701234567") && !json.contains("contactPersons"), "{json}");

    let editor = Principal::editor("key:kumla", "1881");
    let e = reg.get_association(&editor, a.id).await.unwrap();
    assert_eq!(e.contact_persons, None, "an editor without the scope sees no personal data");
    assert!(e.member_statistics.is_some());
    let nb = reg.get_association(&Principal::with_role("key:rf", Role::NationalBody), a.id).await.unwrap();
    assert!(nb.member_statistics.is_some() && nb.contact_persons.is_none());
    assert_eq!(db.count("SELECT count(*) AS n FROM audit_log").await, 0, "nothing personal was shown yet");

    let scoped = Principal::editor("key:kumla-pd", "1881").with_personal_data();
    let s = reg.get_association(&scoped, a.id).await.unwrap();
    assert_eq!(s.contact_persons.as_ref().unwrap()[0].name, "Karin Karlsson");
    reg.list_associations(&scoped, &AssociationFilter::default(), &PageRequest::default()).await.unwrap();
    let other = Principal::editor("key:orebro-pd", "1880").with_personal_data();
    assert_eq!(reg.get_association(&other, a.id).await.unwrap().contact_persons, None, "the scope covers only one's own municipality");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM audit_log WHERE actor = 'key:kumla-pd' AND action = 'read_personal_data'").await,
        2,
        "the get and the list were audited"
    );
    assert_eq!(db.count("SELECT count(*) AS n FROM audit_log").await, 2);
}

#[tokio::test]
async fn an_update_without_the_scope_keeps_the_contact_persons() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let editor = Principal::editor("key:kumla", "1881");
    let a = reg.create_association(&editor, &fixtures::association("1881", 9)).await.unwrap();
    let mut input = fixtures::association("1881", 9);
    input.contact_persons.clear();
    input.name = "New name".into();
    reg.update_association(&editor, a.id, a.version, &input).await.unwrap();
    let full = reg.get_association(&Principal::operator("admin").with_personal_data(), a.id).await.unwrap();
    assert_eq!(full.name, "New name");
    assert_eq!(full.contact_persons.unwrap().len(), 1, "a caller who cannot see them cannot erase them");
}

#[tokio::test]
async fn listing_filters_by_status_activity_and_municipality() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let a = reg.create_association(&admin, &fixtures::association("1881", 1)).await.unwrap();
    reg.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
    let mut b = fixtures::association("1880", 2);
    b.activities = vec!["chess".into()];
    reg.create_association(&admin, &b).await.unwrap();
    let list = |f: AssociationFilter| {
        let reg = reg.clone();
        async move { reg.list_associations(&Principal::operator("admin"), &f, &PageRequest::default()).await.unwrap().items.len() }
    };
    assert_eq!(list(AssociationFilter::default()).await, 2);
    assert_eq!(list(AssociationFilter { status: Some(RegistrationStatus::Pending), ..Default::default() }).await, 1);
    assert_eq!(list(AssociationFilter { activity: Some("chess".into()), ..Default::default() }).await, 1);
    assert_eq!(list(AssociationFilter { municipality_code: Some("1881".into()), ..Default::default() }).await, 1);
    let anon = reg.list_associations(&Principal::anonymous(), &AssociationFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(anon.items.len(), 1, "anonymous callers see approved associations only");
}
