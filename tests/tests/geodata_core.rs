//! The geodata use cases of registry-core against a real PostGIS database: boundaries and the
//! border rule, synced locations with provenance, locks, resumable runs and the checks.

use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::*;
use registry_core::service::geodata::{BORDER_TOLERANCE_M, BoundaryInput, SyncOutcome, SyncedLocation};
use registry_core::{Error, Registry};
use serde_json::json;
use tests::{TestDb, fixtures};

fn system() -> Principal {
    Principal::system("system:geodata-sync")
}

fn kumla() -> Principal {
    Principal::editor("key:kumla", "1881")
}

/// A lon/lat rectangle as a GeoJSON Polygon.
fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]})
}

/// Kumla (1881) south of latitude 59.2 and Örebro (1880) north of it, both 15.0–15.3 °E.
async fn two_boundaries(reg: &Registry) {
    let b = vec![
        BoundaryInput { municipality_code: "1881".into(), source_feature_id: "kommun.1881".into(), geometry: rect(15.0, 59.0, 15.3, 59.2) },
        BoundaryInput { municipality_code: "1880".into(), source_feature_id: "kommun.1880".into(), geometry: rect(15.0, 59.2, 15.3, 59.4) },
    ];
    assert_eq!(reg.load_boundaries(&system(), "test", &b).await.unwrap(), 2);
}

fn violation(e: &Error) -> (String, &'static str, String) {
    match e {
        Error::Invalid(v) => (v[0].field.clone(), v[0].rule, v[0].message.clone()),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn boundaries_load_validate_and_refuse_facilities_outside_their_municipality() {
    let db = TestDb::new().await;
    let reg = db.registry();
    // Bad input writes nothing: an unknown code, a duplicate, a self-intersecting polygon, a point.
    let bow_tie = json!({"type": "Polygon", "coordinates": [[[15.0, 59.0], [15.3, 59.2], [15.3, 59.0], [15.0, 59.2], [15.0, 59.0]]]});
    let cases = [
        (vec![("9999", rect(15.0, 59.0, 15.3, 59.2))], "boundaries[0].municipalityCode", "unknown_code"),
        (
            vec![("1881", rect(15.0, 59.0, 15.3, 59.2)), ("1881", rect(15.0, 59.0, 15.3, 59.2))],
            "boundaries[1].municipalityCode",
            "duplicate",
        ),
        (vec![("1881", rect(15.0, 59.0, 15.3, 59.2)), ("1880", bow_tie)], "boundaries[1].geometry", "invalid_geometry"),
        (vec![("1881", json!({"type": "Point", "coordinates": [15.0, 59.0]}))], "boundaries[0].geometry", "invalid_geometry"),
    ];
    for (input, field, rule) in cases {
        let input: Vec<BoundaryInput> = input
            .into_iter()
            .map(|(c, g)| BoundaryInput { municipality_code: c.into(), source_feature_id: format!("f{c}"), geometry: g })
            .collect();
        let e = reg.load_boundaries(&system(), "test", &input).await.unwrap_err();
        let (f, r, _) = violation(&e);
        assert_eq!((f.as_str(), r), (field, rule), "{e}");
        assert_eq!(reg.boundary_count(&Principal::anonymous()).await.unwrap(), 0, "nothing written");
    }
    let e = reg.load_boundaries(&kumla(), "test", &[]).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "an editor may not load boundaries: {e}");

    // Without boundaries any point in Sweden is accepted.
    let mut far = fixtures::facility("1881", "Far away");
    far.location = Some(LatLon { lat: 59.35, lon: 15.2 });
    let far = reg.create_facility(&kumla(), &far).await.unwrap();

    two_boundaries(&reg).await;
    assert_eq!(reg.boundary_count(&Principal::anonymous()).await.unwrap(), 2);
    let (geometry, _) = reg.municipality_boundary(&Principal::anonymous(), "1881").await.unwrap();
    assert_eq!(geometry["type"], "MultiPolygon", "stored as a MultiPolygon");

    // Inside, and just outside within the tolerance, are accepted.
    reg.create_facility(&kumla(), &fixtures::facility("1881", "Inside")).await.unwrap();
    let mut near = fixtures::facility("1881", "On the border");
    near.location = Some(LatLon { lat: 59.2005, lon: 15.1 }); // ~56 m north of the border
    reg.create_facility(&kumla(), &near).await.unwrap();
    // Well outside: a clear error with the distance and where the point is.
    let mut out = fixtures::facility("1881", "Outside");
    out.location = Some(LatLon { lat: 59.21, lon: 15.1 }); // ~1.1 km into Örebro
    let e = reg.create_facility(&kumla(), &out).await.unwrap_err();
    let (field, rule, message) = violation(&e);
    assert_eq!((field.as_str(), rule), ("location", "outside_municipality"));
    // 0.01° of latitude is 1113 m; the border is a geodesic, which bulges north by a few metres.
    let metres: f64 = message.split(" m outside").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!((1080.0..=1120.0).contains(&metres), "{message}");
    assert!(message.contains("m outside the boundary of municipality 1881 Kumla"), "{message}");
    assert!(message.contains("inside 1880 Örebro"), "{message}");

    // An existing facility outside may still be renamed; moving it elsewhere outside is refused.
    let mut rename = far.to_input();
    rename.name = "Renamed".into();
    let far = reg.update_facility(&kumla(), far.id, far.version, &rename).await.unwrap();
    let mut moved = far.to_input();
    moved.location = Some(LatLon { lat: 59.3, lon: 15.2 });
    let e = reg.update_facility(&kumla(), far.id, far.version, &moved).await.unwrap_err();
    assert_eq!(violation(&e).1, "outside_municipality");

    // The check reports it, and the facility that lies within the tolerance is not reported.
    let outside = reg.facilities_outside_municipality(&system(), BORDER_TOLERANCE_M).await.unwrap();
    assert_eq!(outside.len(), 1, "{outside:?}");
    assert_eq!(outside[0].id, far.id);
    assert_eq!(outside[0].lies_in.as_deref(), Some("1880"));
    assert!((16_650.0..=16_720.0).contains(&outside[0].distance_m), "{}", outside[0].distance_m);
    assert_eq!(reg.facilities_outside_municipality(&system(), 0.0).await.unwrap().len(), 2, "no tolerance: the border one too");
}

#[tokio::test]
async fn synced_locations_carry_provenance_and_respect_locks() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let mut input = fixtures::facility("1881", "Kumla idrottshall");
    input.location = None;
    let f = reg.create_facility(&kumla(), &input).await.unwrap();
    assert_eq!(f.location_provenance, LocationProvenance::manual(false));

    let found = SyncedLocation {
        location: LatLon { lat: 59.1277, lon: 15.1434 },
        source_feature_id: "adress.4711".into(),
        match_quality: MatchQuality::Normalised,
    };
    // Only the sync (or an admin) may set a synced location.
    let e = reg.apply_synced_location(&kumla(), None, f.id, f.version, &found, SyncOutcome::Filled, json!({})).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    // A stale version is refused.
    let e = reg.apply_synced_location(&system(), None, f.id, f.version + 1, &found, SyncOutcome::Filled, json!({})).await.unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e}");

    let filled =
        reg.apply_synced_location(&system(), None, f.id, f.version, &found, SyncOutcome::Filled, json!({})).await.unwrap().unwrap();
    assert_eq!(filled, reg.get_facility(&Principal::anonymous(), f.id).await.unwrap(), "the returned state is the stored one");
    assert_eq!(filled.location, Some(found.location));
    assert_eq!(filled.version, f.version + 1);
    let pv = &filled.location_provenance;
    assert_eq!(pv.source, LocationSource::Geodata);
    assert_eq!(pv.source_feature_id.as_deref(), Some("adress.4711"));
    assert_eq!(pv.match_quality, Some(MatchQuality::Normalised));
    assert_eq!(pv.distance_moved_m, Some(0.0), "filling moves nothing");
    assert!(pv.synced_at.is_some());
    let log =
        db.count(&format!("SELECT count(*) AS n FROM change_log WHERE entity_id = '{}' AND actor = 'system:geodata-sync'", f.id)).await;
    assert_eq!(log, 1, "the sync's write is in the change log under its own actor");

    // Moving it records the distance on the spheroid (0.001° of latitude ≈ 111.4 m here).
    let moved_to = SyncedLocation { location: LatLon { lat: 59.1287, lon: 15.1434 }, ..found.clone() };
    let moved =
        reg.apply_synced_location(&system(), None, f.id, filled.version, &moved_to, SyncOutcome::Moved, json!({})).await.unwrap().unwrap();
    assert_eq!(moved, reg.get_facility(&Principal::anonymous(), f.id).await.unwrap());
    let d = moved.location_provenance.distance_moved_m.unwrap();
    assert!((d - 111.4).abs() < 0.5, "{d}");

    // An editor's own change of the location makes it manual again; other edits keep provenance.
    let mut rename = moved.to_input();
    rename.name = "Kumla sporthall".into();
    let renamed = reg.update_facility(&kumla(), f.id, moved.version, &rename).await.unwrap();
    assert_eq!(renamed.location_provenance, moved.location_provenance);
    let mut relocate = renamed.to_input();
    relocate.location = Some(LatLon { lat: 59.128, lon: 15.144 });
    relocate.location_locked = Some(true);
    let locked = reg.update_facility(&kumla(), f.id, renamed.version, &relocate).await.unwrap();
    assert_eq!(locked.location_provenance, LocationProvenance::manual(true));

    // A locked location is never changed by the sync.
    let e = reg.apply_synced_location(&system(), None, f.id, locked.version, &found, SyncOutcome::Moved, json!({})).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { rule: "locked", .. }), "{e}");
    // Leaving the lock out of an update keeps it; false releases it.
    let mut keep = locked.to_input();
    keep.location_locked = None;
    let kept = reg.update_facility(&kumla(), f.id, locked.version, &keep).await.unwrap();
    assert!(kept.location_provenance.locked);
    let mut release = kept.to_input();
    release.location_locked = Some(false);
    assert!(!reg.update_facility(&kumla(), f.id, kept.version, &release).await.unwrap().location_provenance.locked);

    // Bad synced input is named.
    let bad = SyncedLocation { location: LatLon { lat: 15.14, lon: 59.12 }, source_feature_id: String::new(), ..found };
    let e = reg.apply_synced_location(&system(), None, f.id, 1, &bad, SyncOutcome::Unchanged, json!({})).await.unwrap_err();
    let Error::Invalid(v) = e else { panic!("{e:?}") };
    let fields: Vec<&str> = v.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["location.lat", "location.lon", "sourceFeatureId", "outcome"]);
}

#[tokio::test]
async fn runs_resume_and_record_each_facility_once() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let mut input = fixtures::facility("1881", "Kumla idrottshall");
    input.location = None;
    let a = reg.create_facility(&kumla(), &input).await.unwrap();
    let b = reg.create_facility(&kumla(), &fixtures::facility("1881", "Kumla simhall")).await.unwrap();

    let run = reg.open_sync_run(&system(), "municipality:1881").await.unwrap();
    assert!(!run.resumed);
    let again = reg.open_sync_run(&system(), "municipality:1881").await.unwrap();
    assert_eq!(again, registry_core::service::geodata::SyncRun { id: run.id, resumed: true }, "an unfinished run is resumed");
    assert_ne!(reg.open_sync_run(&system(), "all").await.unwrap().id, run.id, "another scope is another run");

    let found = SyncedLocation {
        location: LatLon { lat: 59.1277, lon: 15.1434 },
        source_feature_id: "a1".into(),
        match_quality: MatchQuality::Exact,
    };
    let first =
        reg.apply_synced_location(&system(), Some(run.id), a.id, a.version, &found, SyncOutcome::Filled, json!({"x": 1})).await.unwrap();
    assert!(first.is_some());
    // The same facility again in the same run (e.g. after a crash between write and progress): skipped.
    let second =
        reg.apply_synced_location(&system(), Some(run.id), a.id, a.version + 1, &found, SyncOutcome::Filled, json!({})).await.unwrap();
    assert!(second.is_none());
    assert_eq!(
        reg.record_sync_outcomes(&system(), run.id, &[(b.id, SyncOutcome::Unchanged, json!({})), (a.id, SyncOutcome::NotFound, json!({}))])
            .await
            .unwrap(),
        1
    );

    let outcomes = reg.sync_outcomes(&system(), run.id).await.unwrap();
    let mut got: Vec<(uuid::Uuid, String)> = outcomes.iter().map(|o| (o.facility_id, o.outcome.clone())).collect();
    got.sort();
    let mut want = vec![(a.id, "filled".to_string()), (b.id, "unchanged".to_string())];
    want.sort();
    assert_eq!(got, want, "each facility once, with its first outcome");
    let filled = outcomes.iter().find(|o| o.facility_id == a.id).unwrap();
    assert_eq!(filled.detail["x"], 1);
    assert_eq!(filled.detail["distanceMovedM"], 0.0);

    reg.finish_sync_run(&system(), run.id).await.unwrap();
    let next = reg.open_sync_run(&system(), "municipality:1881").await.unwrap();
    assert!(!next.resumed && next.id != run.id, "a finished run is not resumed");
}

#[tokio::test]
async fn probable_duplicates_across_municipalities() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("cli");
    let at = |code: &str, name: &str, lat: f64, lon: f64, category: &str| {
        let mut f = fixtures::facility(code, name);
        f.location = Some(LatLon { lat, lon });
        f.category = category.into();
        f.units.clear();
        f
    };
    let a = reg.create_facility(&admin, &at("1881", "Bygdens hall", 59.2, 15.1, "sports_hall")).await.unwrap();
    // 0.0002° of latitude ≈ 22 m: same category in another municipality → reported.
    let b = reg.create_facility(&admin, &at("1880", "Bygdehallen", 59.2002, 15.1, "sports_hall")).await.unwrap();
    // Same place, other category; same municipality; too far: not reported.
    reg.create_facility(&admin, &at("1880", "Bygdens pool", 59.2001, 15.1, "swimming_pool")).await.unwrap();
    reg.create_facility(&admin, &at("1881", "Bygdens hall 2", 59.2001, 15.1, "sports_hall")).await.unwrap();
    reg.create_facility(&admin, &at("1880", "Annan hall", 59.2004, 15.1, "sports_hall")).await.unwrap();

    let pairs = reg.probable_duplicates(&system(), 30.0).await.unwrap();
    let ids: Vec<(uuid::Uuid, uuid::Uuid)> = pairs.iter().map(|p| (p.a_id, p.b_id)).collect();
    // 1880 sorts before 1881, so the Örebro facility is `a`; the second Kumla hall is 11 m away too.
    assert!(ids.contains(&(b.id, a.id)), "{pairs:?}");
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert!(pairs.iter().all(|p| p.distance_m <= 30.0 && p.category == "sports_hall" && p.a_municipality_code != p.b_municipality_code));
    let e = reg.probable_duplicates(&system(), -1.0).await.unwrap_err();
    assert_eq!(violation(&e).0, "within");
}
