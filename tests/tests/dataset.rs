//! The national dataset generator (`registry-bench gen`): what it writes is valid registry
//! data that the core reads, updates and searches; it follows population; its places are in
//! Sweden near their municipality; its opening hours and materialised intervals agree; one
//! seed always gives the same dataset; and it never overwrites data unasked.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use registry_bench::generate::{self, GenArgs};
use registry_bench::world;
use registry_core::auth::{Principal, Role};
use registry_core::geo::LatLon;
use registry_core::search::FacilitySearch;
use tests::TestDb;
use uuid::Uuid;

#[derive(QueryableByName, Debug, PartialEq)]
struct Placed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    municipality_code: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    lat: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    lon: f64,
}

async fn placed(db: &TestDb) -> Vec<Placed> {
    diesel::sql_query(
        "SELECT id, name, municipality_code, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon FROM facilities ORDER BY id",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap()
}

fn args(db: &TestDb, facilities: usize, associations: usize, seed: u64) -> GenArgs {
    GenArgs { database_url: db.url.clone(), facilities, associations, seed, replace: false }
}

fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[tokio::test]
async fn generated_data_is_valid_realistic_and_reproducible() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let g = generate::run(&args(&db, 3_000, 600, 7)).await.unwrap();
    assert_eq!((g.facilities, g.associations), (3_000, 600));
    assert!(g.units >= 3_000 && g.with_hours > 900 && g.with_hours < 2_700, "{g:?}");
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 3_000);
    assert_eq!(db.count("SELECT count(*) AS n FROM facility_units").await, g.units as i64);
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, g.with_hours as i64);
    assert_eq!(db.count("SELECT count(*) AS n FROM associations").await, 600);
    // The word list for typo tolerance (filled in one go, with the triggers off) holds exactly
    // the words the triggers would have collected from every name and locality, no more, no less.
    assert_eq!(db.count("SELECT count(*) AS n FROM search_words").await, g.words as i64, "{g:?}");
    let words_of_the_data = "SELECT unnest(registry_words(name || ' ' || locality)) COLLATE \"C\" AS w FROM facilities \
         UNION SELECT unnest(registry_words(name)) COLLATE \"C\" FROM associations";
    assert_eq!(db.count(&format!("SELECT count(*) AS n FROM ({words_of_the_data}) d")).await, g.words as i64, "{g:?}");
    let stray = format!("SELECT count(*) AS n FROM (SELECT word FROM search_words EXCEPT SELECT w FROM ({words_of_the_data}) d) x");
    assert_eq!(db.count(&stray).await, 0, "every listed word comes from a name or locality");
    assert!(g.words > 100, "{g:?}");

    // Population: every municipality has a facility, and each has its share of the rest.
    let munis = world::municipalities().unwrap();
    let rows = placed(&db).await;
    let mut per: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *per.entry(r.municipality_code.as_str()).or_default() += 1;
    }
    let total: f64 = munis.iter().map(|m| f64::from(m.population)).sum();
    for m in &munis {
        let want = 1.0 + (3_000 - 290) as f64 * f64::from(m.population) / total;
        let got = per.get(m.code.as_str()).copied().unwrap_or(0) as f64;
        assert!((got - want).abs() <= 1.0, "{} has {got} facilities, its population says {want:.1}", m.name);
    }
    // Places: on land in Sweden, near their own municipality's main town.
    let centre: HashMap<&str, &world::Municipality> = munis.iter().map(|m| (m.code.as_str(), m)).collect();
    for r in &rows {
        let m = centre[r.municipality_code.as_str()];
        assert!(world::on_land(r.lon, r.lat), "{} at {}, {} is not on land", r.name, r.lat, r.lon);
        let d = km((r.lat, r.lon), (m.lat, m.lon));
        assert!(d < 40.0 + (m.lat - 60.0).max(0.0) * 9.0, "{} is {d:.0} km from {}", r.name, m.name);
    }
    assert!(rows.iter().any(|r| r.name.contains(['å', 'ä', 'ö'])), "Swedish names");

    // The core reads every kind of row, and a facility saved back through it passes validation.
    let anon = Principal::anonymous();
    let admin = Principal::operator("test");
    for r in rows.iter().step_by(97) {
        let f = reg.get_facility(&anon, r.id).await.unwrap();
        assert!(!f.units.is_empty(), "{} has units", f.name);
        let saved = reg.update_facility(&admin, f.id, f.version, &f.to_input()).await.unwrap();
        assert_eq!(saved.version, f.version + 1);
    }
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let associations: Vec<Id> = diesel::sql_query("SELECT id FROM associations ORDER BY id").load(&mut db.conn().await).await.unwrap();
    let national = Principal::with_role("key:rf", Role::NationalBody);
    for a in associations.iter().step_by(37) {
        let a = reg.get_association(&national, a.id).await.unwrap();
        assert!(registry_core::orgnr::luhn_valid(&a.org_number), "{}", a.org_number);
        assert!(a.contact_persons.as_ref().is_none_or(Vec::is_empty), "no personal data without the scope");
        let saved = reg.update_association(&admin, a.id, a.version, &a.to_input()).await;
        assert!(saved.is_ok(), "{}: {saved:?}", a.name);
    }
    let statuses = db.count("SELECT count(DISTINCT registration_status) AS n FROM associations").await;
    assert!(statuses >= 3, "a mix of registration statuses");

    // Opening hours: the materialised intervals answer `openAt` as the evaluator does.
    let stockholm = LatLon { lat: 59.3293, lon: 18.0687 };
    let mut hours = HashMap::new();
    let near = reg
        .search_facilities(
            &anon,
            &FacilitySearch { near: Some(stockholm), radius_m: Some(200_000.0), page_size: 100, ..Default::default() },
        )
        .await
        .unwrap();
    for h in &near.hits {
        let stored = reg.get_opening_hours(&anon, h.facility.id, None).await;
        hours.insert(h.facility.id, stored.ok().map(|s| s.hours));
    }
    assert!(hours.values().filter(|h| h.is_some()).count() > 20, "many of them have hours");
    for days in [0, 2, 5, 40, 200] {
        let t = Utc::now() + Duration::days(days) + Duration::hours(days % 7);
        let open = reg
            .search_facilities(
                &anon,
                &FacilitySearch {
                    near: Some(stockholm),
                    radius_m: Some(200_000.0),
                    open_at: Some(t),
                    page_size: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let got: Vec<Uuid> = open.hits.iter().map(|h| h.facility.id).filter(|id| hours.contains_key(id)).collect();
        let want: Vec<Uuid> =
            near.hits.iter().map(|h| h.facility.id).filter(|id| hours[id].as_ref().is_some_and(|h| h.is_open(t))).collect();
        assert_eq!(got, want, "open at {t}");
    }

    // Same seed, same data; another seed, other data; never over existing data unasked.
    let before = placed(&db).await;
    let err = generate::run(&args(&db, 3_000, 600, 7)).await.unwrap_err().to_string();
    assert!(err.contains("--replace"), "{err}");
    assert_eq!(placed(&db).await.len(), 3_000, "nothing changed");
    generate::run(&GenArgs { replace: true, ..args(&db, 3_000, 600, 7) }).await.unwrap();
    assert_eq!(placed(&db).await, before);
    generate::run(&GenArgs { replace: true, ..args(&db, 3_000, 600, 8) }).await.unwrap();
    let other = placed(&db).await;
    assert_eq!(other.len(), 3_000);
    assert_ne!(other.iter().map(|r| &r.name).collect::<Vec<_>>(), before.iter().map(|r| &r.name).collect::<Vec<_>>());
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log").await, 0, "replace clears the change log");
}

#[tokio::test]
async fn the_generator_refuses_an_unmigrated_database() {
    let db = TestDb::empty().await;
    let err = generate::run(&args(&db, 10, 0, 1)).await.unwrap_err().to_string();
    assert!(err.contains("registry migrate"), "{err}");
}
