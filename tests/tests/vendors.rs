//! The vendor directory against a real database: who may manage it, validation, unique names,
//! versions, the vendor of each unit, and what follows from removing a vendor or a municipality.

use registry_core::auth::{Principal, Role};
use registry_core::model::*;
use registry_core::{Error, Registry};
use tests::{TestDb, fixtures};

fn admin() -> Principal {
    Principal::operator("key:admin")
}

fn input(name: &str, codes: &[&str]) -> VendorInput {
    VendorInput {
        name: name.into(),
        endpoint: "https://boka.example.se:8443".into(),
        protocol: VendorProtocol::Grpc,
        auth: VendorAuth::ApiKey,
        credential_ref: Some("VENDOR_KEY".into()),
        ca_pem: None,
        max_concurrency: None,
        requests_per_second: None,
        municipality_codes: codes.iter().map(|c| c.to_string()).collect(),
        test_units: vec![],
    }
}

async fn facility(reg: &Registry, code: &str) -> Facility {
    reg.create_facility(&admin(), &fixtures::facility(code, "Hall")).await.unwrap()
}

#[tokio::test]
async fn vendors_are_managed_by_admins_and_validated() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let caps = serde_json::json!({"protocolVersion": "1.0", "maxUnitsPerCall": 100});
    for p in [Principal::editor("k", "1881"), Principal::with_role("k", Role::Vendor), Principal::with_role("k", Role::NationalBody)] {
        assert!(
            matches!(reg.create_vendor(&p, &input("A", &["1881"]), fixtures::passing_checks(), None).await, Err(Error::Forbidden(_))),
            "{p:?}"
        );
    }
    assert!(matches!(
        reg.create_vendor(&Principal::anonymous(), &input("A", &["1881"]), fixtures::passing_checks(), None).await,
        Err(Error::Unauthenticated(_))
    ));

    let v = reg
        .create_vendor(
            &admin(),
            &input("Bokningsbolaget AB", &["1881", "1880"]),
            VendorChecks { capabilities: Some(caps.clone()), ..fixtures::passing_checks() },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (v.version, v.municipality_codes.clone(), v.max_concurrency, v.requests_per_second),
        (1, vec!["1880".to_string(), "1881".into()], 8, 50)
    );
    assert_eq!(v.capabilities, Some(caps));
    assert!(v.capabilities_at.is_some());

    // Unique names, case-insensitively.
    let e = reg.create_vendor(&admin(), &input("BOKNINGSBOLAGET ab", &["0180"]), fixtures::passing_checks(), None).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { rule: "unique", .. }), "{e}");
    // Validation before anything is written.
    let mut bad = input("B", &["9999"]);
    bad.endpoint = "http://boka.example.se".into();
    let Error::Invalid(violations) = reg.create_vendor(&admin(), &bad, fixtures::passing_checks(), None).await.unwrap_err() else {
        panic!()
    };
    let rules: Vec<(&str, &str)> = violations.iter().map(|x| (x.field.as_str(), x.rule)).collect();
    assert_eq!(rules, [("endpoint", "insecure"), ("municipalityCodes[0]", "unknown_code")]);

    // Public reads hide the credential's name; admins see it.
    assert_eq!(reg.get_vendor(&Principal::anonymous(), v.id).await.unwrap().credential_ref, None);
    assert_eq!(reg.get_vendor(&admin(), v.id).await.unwrap().credential_ref.as_deref(), Some("VENDOR_KEY"));
    assert_eq!(reg.list_vendors(&Principal::anonymous(), Some("1880")).await.unwrap().len(), 1);
    assert!(reg.list_vendors(&Principal::anonymous(), Some("0180")).await.unwrap().is_empty());
    assert!(matches!(reg.list_vendors(&Principal::anonymous(), Some("18")).await, Err(Error::Invalid(_))));

    // Versions: stale updates are refused; capabilities are kept unless fetched again.
    let mut change = input("Bokningsbolaget AB", &["1881"]);
    change.requests_per_second = Some(5);
    let e = reg.update_vendor(&admin(), v.id, 7, &change, VendorChecks::default(), None).await.unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { expected: 7, actual: 1, .. }));
    let updated = reg.update_vendor(&admin(), v.id, 1, &change, VendorChecks::default(), None).await.unwrap();
    assert_eq!((updated.version, updated.requests_per_second, updated.municipality_codes.clone()), (2, 5, vec!["1881".to_string()]));
    assert_eq!(updated.capabilities, v.capabilities);
    assert_eq!(db.count(&format!("SELECT count(*) AS n FROM change_log WHERE entity = 'vendor' AND entity_id = '{}'", v.id)).await, 2);

    reg.delete_vendor(&admin(), v.id, Some(2)).await.unwrap();
    assert!(matches!(reg.get_vendor(&admin(), v.id).await, Err(Error::NotFound { .. })));
    reg.create_vendor(&admin(), &input("Bokningsbolaget AB", &["1881"]), fixtures::passing_checks(), None)
        .await
        .expect("the name is free again");
}

#[tokio::test]
async fn municipalities_choose_the_vendor_of_their_units() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let v = reg.create_vendor(&admin(), &input("Bokningsbolaget AB", &["1881", "1880"]), fixtures::passing_checks(), None).await.unwrap();
    let other = reg.create_vendor(&admin(), &input("Stockholmsbokning", &["0180"]), fixtures::passing_checks(), None).await.unwrap();
    let kumla = facility(&reg, "1881").await;
    let orebro = facility(&reg, "1880").await;
    let (a, b) = (kumla.units[0].id, kumla.units[1].id);
    let editor = Principal::editor("key:kumla", "1881");

    reg.set_unit_vendor(&editor, kumla.id, a, Some((v.id, "hall-a".into()))).await.unwrap();
    reg.set_unit_vendor(&editor, kumla.id, b, Some((v.id, "hall-b".into()))).await.unwrap();
    let units = reg.vendor_units(&Principal::anonymous(), &[kumla.id, orebro.id]).await.unwrap();
    assert_eq!(units.iter().map(|u| (u.unit_id, u.external_ref.as_str())).collect::<Vec<_>>(), [(a, "hall-a"), (b, "hall-b")]);

    // Another municipality's editor may not; a vendor that does not serve the municipality
    // may not be chosen; a reference names one unit; unknown units and vendors are named.
    let e = reg.set_unit_vendor(&Principal::editor("key:orebro", "1880"), kumla.id, a, None).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    let e = reg.set_unit_vendor(&editor, kumla.id, a, Some((other.id, "x".into()))).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v[0].rule == "not_serving"), "{e}");
    let e = reg.set_unit_vendor(&editor, kumla.id, b, Some((v.id, "hall-a".into()))).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { rule: "unique", .. }), "{e}");
    let e = reg.set_unit_vendor(&editor, kumla.id, orebro.units[0].id, None).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v[0].rule == "unknown_unit"), "{e}");
    let e = reg.set_unit_vendor(&editor, kumla.id, a, Some((uuid::Uuid::now_v7(), "x".into()))).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v[0].rule == "unknown_vendor"), "{e}");
    let e = reg.set_unit_vendor(&editor, kumla.id, a, Some((v.id, " ".into()))).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v[0].field == "externalRef"), "{e}");

    // Clearing one unit; the vendor leaving the municipality releases the rest.
    reg.set_unit_vendor(&editor, kumla.id, a, None).await.unwrap();
    assert_eq!(reg.vendor_units(&admin(), &[kumla.id]).await.unwrap().len(), 1);
    reg.set_unit_vendor(&admin(), orebro.id, orebro.units[0].id, Some((v.id, "o-1".into()))).await.unwrap();
    reg.update_vendor(&admin(), v.id, 1, &input("Bokningsbolaget AB", &["1880"]), VendorChecks::default(), None).await.unwrap();
    assert!(reg.vendor_units(&admin(), &[kumla.id]).await.unwrap().is_empty(), "Kumla's units left with the municipality");
    assert_eq!(reg.vendor_units(&admin(), &[orebro.id]).await.unwrap().len(), 1);
    // Deleting the vendor releases its units; deleting a unit removes its mapping.
    reg.delete_vendor(&admin(), v.id, None).await.unwrap();
    assert!(reg.vendor_units(&admin(), &[orebro.id]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_vendor_keeps_its_own_entry_up_to_date() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let conformance = serde_json::json!({"passed": true, "checkedAt": "2026-11-24T08:00:00Z", "checks": []});
    let v = reg
        .create_vendor(
            &admin(),
            &input("Bokningsbolaget AB", &["1881"]),
            VendorChecks { capabilities: None, conformance: Some(conformance.clone()), ..VendorChecks::default() },
            None,
        )
        .await
        .unwrap();
    assert_eq!(v.conformance, Some(conformance));
    let other = reg.create_vendor(&admin(), &input("Stockholmsbokning", &["0180"]), fixtures::passing_checks(), None).await.unwrap();
    let own = Principal::vendor("key:own", v.id);

    // Its own key sees its entry as the public does (not the credential's name) and changes
    // the fields that are the vendor's to keep: endpoint, CA, limits.
    let seen = reg.get_vendor(&own, v.id).await.unwrap();
    assert_eq!(seen.credential_ref, None);
    let mut change = seen.to_input();
    change.endpoint = "https://ny.boka.example.se".into();
    change.requests_per_second = Some(20);
    let (_, effective) = reg.check_vendor_update(&own, v.id, &change).await.unwrap();
    assert_eq!(effective.credential_ref.as_deref(), Some("VENDOR_KEY"), "the credential's name is kept");
    let updated = reg.update_vendor(&own, v.id, 1, &change, VendorChecks::default(), None).await.unwrap();
    assert_eq!((updated.version, updated.endpoint.as_str(), updated.requests_per_second), (2, "https://ny.boka.example.se", 20));
    assert_eq!(updated.credential_ref, None, "the answer is what the vendor may see");
    assert_eq!(reg.get_vendor(&admin(), v.id).await.unwrap().credential_ref.as_deref(), Some("VENDOR_KEY"));

    // Everything else is the operator's, and each refusal names the fields.
    for (field, edit) in [
        ("name", Box::new(|i: &mut VendorInput| i.name = "Nytt namn".into()) as Box<dyn Fn(&mut VendorInput)>),
        ("municipalityCodes", Box::new(|i: &mut VendorInput| i.municipality_codes.push("1880".into()))),
        ("auth", Box::new(|i: &mut VendorInput| i.auth = VendorAuth::Mtls)),
        ("credentialRef", Box::new(|i: &mut VendorInput| i.credential_ref = Some("OTHER".into()))),
        ("protocol", Box::new(|i: &mut VendorInput| i.protocol = VendorProtocol::OpenActive)),
    ] {
        let mut i = reg.get_vendor(&own, v.id).await.unwrap().to_input();
        edit(&mut i);
        let e = reg.update_vendor(&own, v.id, 2, &i, VendorChecks::default(), None).await.unwrap_err();
        assert!(matches!(&e, Error::Forbidden(m) if m.contains(field)), "{field}: {e}");
    }
    // Another vendor's key, a vendor key of no vendor, and editors may not; nor may the vendor
    // remove itself.
    for p in [Principal::vendor("key:other", other.id), Principal::with_role("key:v", Role::Vendor), Principal::editor("k", "1881")] {
        let e = reg.update_vendor(&p, v.id, 2, &change, VendorChecks::default(), None).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{p:?}: {e}");
        assert!(matches!(reg.record_vendor_checks(&p, v.id, &VendorChecks::default()).await, Err(Error::Forbidden(_))));
    }
    assert!(matches!(reg.delete_vendor(&own, v.id, None).await, Err(Error::Forbidden(_))));
    assert_eq!(reg.get_vendor(&admin(), v.id).await.unwrap().version, 2, "nothing was written");

    // Checks are recorded without a new version or a change-log entry.
    let failed = serde_json::json!({"passed": false, "checkedAt": "2026-11-24T09:00:00Z", "checks": [{"id": "capabilities.reachable", "section": "§5", "verdict": "fail", "detail": "refused"}]});
    let after = reg
        .record_vendor_checks(
            &Principal::system("system:vendor-checks"),
            v.id,
            &VendorChecks { capabilities: None, conformance: Some(failed.clone()), ..VendorChecks::default() },
        )
        .await
        .unwrap();
    assert_eq!((after.version, after.conformance), (2, Some(failed)));
    assert_eq!(db.count("SELECT count(*) AS n FROM vendors WHERE conformance_passed = false").await, 1);
    assert_eq!(db.count(&format!("SELECT count(*) AS n FROM change_log WHERE entity_id = '{}'", v.id)).await, 2);
    assert!(matches!(
        reg.record_vendor_checks(&admin(), uuid::Uuid::now_v7(), &VendorChecks::default()).await,
        Err(Error::NotFound { .. })
    ));

    // The units it books, with its references, are public.
    let kumla = facility(&reg, "1881").await;
    reg.set_unit_vendor(&admin(), kumla.id, kumla.units[1].id, Some((v.id, "hall-b".into()))).await.unwrap();
    let units = reg.units_of_vendor(&Principal::anonymous(), v.id).await.unwrap();
    assert_eq!(
        units.iter().map(|u| (u.unit_id, u.unit_name.as_str(), u.external_ref.as_str(), u.municipality_code.as_str())).collect::<Vec<_>>(),
        [(kumla.units[1].id, kumla.units[1].name.as_str(), "hall-b", "1881")]
    );
    assert!(matches!(reg.units_of_vendor(&Principal::anonymous(), uuid::Uuid::now_v7()).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn vendor_keys_belong_to_a_vendor() {
    use registry_core::keys::{self, NewKey};
    let db = TestDb::new().await;
    let reg = db.registry();
    let v = reg.create_vendor(&admin(), &input("Bokningsbolaget AB", &["1881"]), fixtures::passing_checks(), None).await.unwrap();
    let new = |role: &str, vendor| NewKey {
        role: role.into(),
        municipality_code: None,
        personal_data: false,
        label: "x".into(),
        vendor_id: vendor,
    };
    let (info, token) = keys::create(reg.pool(), "", &new("vendor", Some(v.id))).await.unwrap();
    assert_eq!(info.vendor_id, Some(v.id));
    let p = keys::authenticate(reg.pool(), "", &token).await.unwrap();
    assert_eq!((p.role, p.vendor_id), (Role::Vendor, Some(v.id)));
    let e = keys::create(reg.pool(), "", &new("admin", Some(v.id))).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(x) if x[0].field == "vendor" && x[0].rule == "not_allowed"), "{e}");
    let e = keys::create(reg.pool(), "", &new("vendor", Some(uuid::Uuid::now_v7()))).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid(x) if x[0].rule == "unknown_vendor"), "{e}");
    // The database holds the rule too.
    use diesel_async::SimpleAsyncConnection;
    let e = db.conn().await.batch_execute(&format!("UPDATE api_keys SET role = 'admin' WHERE vendor_id = '{}'", v.id)).await.unwrap_err();
    assert!(e.to_string().contains("vendor_keys_only"), "{e}");
}
