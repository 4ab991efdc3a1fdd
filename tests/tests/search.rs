//! Facility search against a brute-force evaluation over a small generated dataset, plus
//! distances against PostGIS, cross-border results, paging during writes and bad parameters.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::hours::osm;
use registry_core::model::{Accessibility, Facility, Ownership};
use registry_core::search::{FacilitySearch, SearchOrder};
use tests::{TestDb, fixtures};
use uuid::Uuid;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CATS: [&str; 4] = ["sports_hall", "swimming_pool", "padel_court", "meeting_room"];
const ACTS: [&str; 5] = ["floorball", "swimming", "padel", "meetings", "dance"];
const MUNIS: [(&str, f64, f64); 3] = [("1881", 59.1277, 15.1434), ("1880", 59.2741, 15.2066), ("1882", 59.0, 15.38)];
const SCHEDULES: [&str; 3] = ["Mo-Fr 08:00-20:00; PH off", "Sa,Su 09:00-13:00", "Mo-Su 06:00-22:00"];

/// A dataset around the Kumla–Örebro–Askersund borders.
async fn dataset(db: &TestDb, n: usize) -> Vec<Facility> {
    let reg = db.registry();
    let admin = Principal::operator("setup");
    let mut rng = Rng(42);
    let mut out = Vec::new();
    for i in 0..n {
        let (code, lat, lon) = *rng.pick(&MUNIS);
        let mut f = fixtures::facility(code, &format!("{} {i:03}", ["Hallen", "Arenan", "Centret", "Lokalen"][i % 4]));
        f.location = Some(LatLon { lat: lat + (rng.unit() - 0.5) * 0.2, lon: lon + (rng.unit() - 0.5) * 0.3 });
        f.category = rng.pick(&CATS).to_string();
        f.activities = ACTS.iter().filter(|_| rng.next().is_multiple_of(3)).map(|a| a.to_string()).collect();
        f.accessibility = Accessibility::ALL.iter().copied().filter(|_| rng.next().is_multiple_of(2)).collect();
        f.ownership = *rng.pick(Ownership::ALL);
        f.units[0].capacity = Some((rng.next() % 500) as i32);
        f.units[0].bookable = rng.next().is_multiple_of(2);
        f.units[1].bookable = false;
        let created = reg.create_facility(&admin, &f).await.unwrap();
        if !i.is_multiple_of(3) {
            reg.put_opening_hours(&admin, created.id, None, 0, &osm::parse(SCHEDULES[(rng.next() % 3) as usize]).unwrap()).await.unwrap();
        }
        out.push(created);
    }
    out
}

#[derive(QueryableByName)]
struct Dist {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Double)]
    d: f64,
}

/// PostGIS distances of every facility from `p` (the oracle).
async fn distances(db: &TestDb, p: LatLon) -> std::collections::HashMap<Uuid, f64> {
    let rows: Vec<Dist> =
        diesel::sql_query("SELECT id, ST_Distance(location, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d FROM facilities")
            .bind::<diesel::sql_types::Double, _>(p.lon)
            .bind::<diesel::sql_types::Double, _>(p.lat)
            .load(&mut db.conn().await)
            .await
            .unwrap();
    rows.into_iter().map(|r| (r.id, r.d)).collect()
}

async fn all_pages(reg: &registry_core::Registry, s: &FacilitySearch) -> Vec<(Uuid, Option<f64>)> {
    let mut s = s.clone();
    let mut out = Vec::new();
    loop {
        let page = reg.search_facilities(&Principal::anonymous(), &s).await.unwrap();
        out.extend(page.hits.iter().map(|h| (h.facility.id, h.distance_m)));
        if page.next_page_token.is_empty() {
            return out;
        }
        s.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn filters_alone_and_combined_match_a_brute_force_evaluation() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let all = dataset(&db, 150).await;
    let hours: std::collections::HashMap<Uuid, registry_core::hours::OpeningHours> = {
        let mut m = std::collections::HashMap::new();
        for f in &all {
            m.insert(f.id, reg.get_opening_hours(&Principal::anonymous(), f.id, None).await.unwrap().hours);
        }
        m
    };
    let mut rng = Rng(7);
    let now = tests::now();
    for round in 0..120 {
        let mut s = FacilitySearch { page_size: 1 + (rng.next() % 15) as i32, ..Default::default() };
        let near = rng.next().is_multiple_of(2);
        if near {
            let (_, lat, lon) = *rng.pick(&MUNIS);
            s.near = Some(LatLon { lat: lat + (rng.unit() - 0.5) * 0.1, lon: lon + (rng.unit() - 0.5) * 0.1 });
            s.radius_m = Some(2_000.0 + rng.unit() * 15_000.0);
        } else if rng.next().is_multiple_of(3) {
            s.bbox = Some([15.0, 59.0, 15.2 + rng.unit() * 0.2, 59.1 + rng.unit() * 0.2]);
        }
        if rng.next().is_multiple_of(3) {
            s.activities = vec![rng.pick(&ACTS).to_string(), rng.pick(&ACTS).to_string()];
            s.activities.dedup();
            s.all_activities = rng.next().is_multiple_of(2);
        }
        if rng.next().is_multiple_of(3) {
            s.categories = vec![rng.pick(&CATS).to_string()];
        }
        if rng.next().is_multiple_of(4) {
            s.accessibility = vec![*rng.pick(Accessibility::ALL)];
        }
        if rng.next().is_multiple_of(4) {
            s.municipalities = vec![rng.pick(&MUNIS).0.to_string()];
        }
        if rng.next().is_multiple_of(5) {
            s.ownership = vec![*rng.pick(Ownership::ALL)];
        }
        if rng.next().is_multiple_of(4) {
            s.min_capacity = Some((rng.next() % 400) as i32);
        }
        s.bookable_only = rng.next().is_multiple_of(4);
        if rng.next().is_multiple_of(3) {
            s.open_at = Some(now + Duration::minutes((rng.next() % (60 * 24 * 14)) as i64));
        }
        if !near && rng.next().is_multiple_of(2) {
            s.order = Some(SearchOrder::Name);
        }
        let dist = if let Some(p) = s.near { Some(distances(&db, p).await) } else { None };
        let got = all_pages(&reg, &s).await;
        let mut expected: Vec<&Facility> = all
            .iter()
            .filter(|f| {
                let loc = f.location.unwrap();
                dist.as_ref().is_none_or(|d| d[&f.id] <= s.radius_m.unwrap())
                    && s.bbox.is_none_or(|[a, b, c, e]| loc.lon >= a && loc.lon <= c && loc.lat >= b && loc.lat <= e)
                    && (s.activities.is_empty()
                        || if s.all_activities {
                            s.activities.iter().all(|a| f.activities.contains(a))
                        } else {
                            s.activities.iter().any(|a| f.activities.contains(a))
                        })
                    && (s.categories.is_empty() || s.categories.contains(&f.category))
                    && s.accessibility.iter().all(|a| f.accessibility.contains(a))
                    && (s.municipalities.is_empty() || s.municipalities.contains(&f.municipality_code))
                    && (s.ownership.is_empty() || s.ownership.contains(&f.ownership))
                    && s.min_capacity
                        .is_none_or(|c| f.units.iter().any(|u| u.capacity.is_some_and(|x| x >= c) && (!s.bookable_only || u.bookable)))
                    && (!s.bookable_only || f.units.iter().any(|u| u.bookable))
                    && s.open_at.is_none_or(|t| hours[&f.id].is_open(t))
            })
            .collect();
        match &dist {
            Some(d) => expected.sort_by(|a, b| d[&a.id].partial_cmp(&d[&b.id]).unwrap().then(a.id.cmp(&b.id))),
            None => expected.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()).then(a.id.cmp(&b.id))),
        }
        let got_ids: Vec<Uuid> = got.iter().map(|g| g.0).collect();
        let want: Vec<Uuid> = expected.iter().map(|f| f.id).collect();
        assert_eq!(got_ids, want, "round {round}: {s:?}");
        if let Some(d) = &dist {
            for (id, got_d) in &got {
                assert!((got_d.unwrap() - d[id]).abs() <= 0.5, "distance within 0.5 m of ST_Distance");
            }
        }
    }
}

#[tokio::test]
async fn a_search_near_a_border_finds_both_municipalities() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    let mut kumla = fixtures::facility("1881", "Kumla padelhall");
    kumla.location = Some(LatLon { lat: 59.16, lon: 15.16 });
    let mut orebro = fixtures::facility("1880", "Örebro padelcenter");
    orebro.location = Some(LatLon { lat: 59.20, lon: 15.18 });
    reg.create_facility(&admin, &kumla).await.unwrap();
    reg.create_facility(&admin, &orebro).await.unwrap();
    let page = reg
        .search_facilities(
            &Principal::anonymous(),
            &FacilitySearch { near: Some(LatLon { lat: 59.1277, lon: 15.1434 }), radius_m: Some(10_000.0), ..Default::default() },
        )
        .await
        .unwrap();
    let names: Vec<(&str, &str)> = page.hits.iter().map(|h| (h.facility.name.as_str(), h.municipality_name.as_str())).collect();
    assert_eq!(names, vec![("Kumla padelhall", "Kumla"), ("Örebro padelcenter", "Örebro")]);
    assert!(page.hits[1].distance_m.unwrap() > 7_000.0 && page.hits[1].distance_m.unwrap() < 9_000.0);
}

#[tokio::test]
async fn text_search_stems_swedish_and_tolerates_typos() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    for name in ["Kumla simhall", "Örebro ishall", "Kumla bibliotek", "Hallsbergs sporthall"] {
        reg.create_facility(&admin, &fixtures::facility("1881", name)).await.unwrap();
    }
    let find = |q: &str| {
        let reg = reg.clone();
        let q = q.to_string();
        async move {
            reg.search_facilities(&Principal::anonymous(), &FacilitySearch { q: Some(q), ..Default::default() })
                .await
                .unwrap()
                .hits
                .into_iter()
                .map(|h| h.facility.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("simhal").await.into_iter().next().as_deref(), Some("Kumla simhall"), "one letter missing");
    assert_eq!(find("simhallar").await.into_iter().next().as_deref(), Some("Kumla simhall"), "Swedish plural");
    assert_eq!(find("Örebro").await.into_iter().next().as_deref(), Some("Örebro ishall"));
    assert!(find("orebro ishal").await.contains(&"Örebro ishall".to_string()));
}

#[tokio::test]
async fn paging_has_no_duplicates_or_gaps_while_writes_happen() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let all = dataset(&db, 40).await;
    let admin = Principal::operator("writer");
    let mut s =
        FacilitySearch { near: Some(LatLon { lat: 59.15, lon: 15.2 }), radius_m: Some(60_000.0), page_size: 7, ..Default::default() };
    let mut seen: Vec<Uuid> = Vec::new();
    let mut i = 0;
    loop {
        let page = reg.search_facilities(&Principal::anonymous(), &s).await.unwrap();
        seen.extend(page.hits.iter().map(|h| h.facility.id));
        // A write between pages: a new facility somewhere in the middle of the order.
        let mut f = fixtures::facility("1881", &format!("Ny {i}"));
        f.location = Some(LatLon { lat: 59.15 + 0.01 * i as f64, lon: 15.2 });
        reg.create_facility(&admin, &f).await.unwrap();
        i += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        s.page_token = page.next_page_token;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    for f in &all {
        assert!(seen.contains(&f.id), "{} was skipped", f.name);
    }
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let p = LatLon { lat: 59.27, lon: 15.21 };
    let cases: Vec<(FacilitySearch, &str, &str)> = vec![
        (FacilitySearch { near: Some(p), radius_m: Some(250_000.0), ..Default::default() }, "radiusM", "out_of_range"),
        (FacilitySearch { radius_m: Some(1000.0), ..Default::default() }, "radiusM", "requires"),
        (FacilitySearch { bbox: Some([16.0, 59.0, 15.0, 60.0]), ..Default::default() }, "bbox", "order"),
        (FacilitySearch { bbox: Some([15.0, 59.0, 16.0, 95.0]), ..Default::default() }, "bbox", "out_of_range"),
        (FacilitySearch { near: Some(p), bbox: Some([15.0, 59.0, 16.0, 60.0]), ..Default::default() }, "bbox", "conflict"),
        (FacilitySearch { near: Some(LatLon { lat: 95.0, lon: 15.0 }), ..Default::default() }, "near.lat", "out_of_range"),
        (FacilitySearch { activities: vec!["quidditch".into()], ..Default::default() }, "activities[0]", "unknown_code"),
        (FacilitySearch { municipalities: vec!["9999".into()], ..Default::default() }, "municipalities[0]", "unknown_code"),
        (FacilitySearch { counties: vec!["99".into()], ..Default::default() }, "counties[0]", "unknown_code"),
        (FacilitySearch { order: Some(SearchOrder::Distance), ..Default::default() }, "order", "requires"),
        (FacilitySearch { page_token: "zz".into(), ..Default::default() }, "pageToken", "format"),
        (
            FacilitySearch {
                open_at: Some(tests::now()),
                open_during: Some((tests::now(), tests::now() + Duration::hours(1))),
                ..Default::default()
            },
            "openDuring",
            "conflict",
        ),
    ];
    for (s, field, rule) in cases {
        let Err(Error::Invalid(v)) = reg.search_facilities(&Principal::anonymous(), &s).await else { panic!("{field}/{rule} accepted") };
        assert!(v.iter().any(|x| x.field == field && x.rule == rule), "{field}/{rule} not in {v:?}");
    }
    let _: Option<DateTime<Utc>> = None;
}

/// SWEREF 99 TM → WGS84 agrees with PostGIS `ST_Transform` across Sweden (to 1e-9 degrees,
/// about 0.1 mm).
#[tokio::test]
async fn sweref_conversion_agrees_with_postgis() {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::Double)]
        lat: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        lon: f64,
    }
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    for n in (6_130_000..=7_660_000).step_by(85_000) {
        for e in (270_000..=920_000).step_by(65_000) {
            let (n, e) = (n as f64 + 0.123, e as f64 + 0.456);
            let ours = registry_core::geo::Sweref99Tm { northing: n, easting: e }.to_wgs84();
            let pg: P = diesel::sql_query(
                "SELECT ST_Y(t) AS lat, ST_X(t) AS lon FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 3006), 4326) AS t) s",
            )
            .bind::<diesel::sql_types::Double, _>(e)
            .bind::<diesel::sql_types::Double, _>(n)
            .get_result(&mut conn)
            .await
            .unwrap();
            assert!(
                (ours.lat - pg.lat).abs() < 1e-9 && (ours.lon - pg.lon).abs() < 1e-9,
                "N {n} E {e}: ours {ours:?}, PostGIS {} {}",
                pg.lat,
                pg.lon
            );
        }
    }
}

/// Boxes in SWEREF 99 TM find exactly the facilities PostGIS puts inside them.
#[tokio::test]
async fn sweref_boxes_match_postgis() {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let db = TestDb::new().await;
    let reg = db.registry();
    dataset(&db, 60).await;
    for [n1, e1, n2, e2] in [
        [6_550_000.0, 500_000.0, 6_575_000.0, 530_000.0],
        [6_540_000.0, 490_000.0, 6_600_000.0, 525_000.0],
        [6_560_000.0, 505_000.0, 6_565_000.0, 512_000.0],
    ] {
        let mut expected: Vec<Uuid> = diesel::sql_query(
            "SELECT id FROM facilities WHERE ST_Intersects(ST_Transform(location::geometry, 3006), ST_MakeEnvelope($1, $2, $3, $4, 3006)) ORDER BY name, id",
        )
        .bind::<diesel::sql_types::Double, _>(e1)
        .bind::<diesel::sql_types::Double, _>(n1)
        .bind::<diesel::sql_types::Double, _>(e2)
        .bind::<diesel::sql_types::Double, _>(n2)
        .load::<Id>(&mut db.conn().await)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
        let got: Vec<Uuid> = all_pages(&reg, &FacilitySearch { bbox_sweref: Some([n1, e1, n2, e2]), page_size: 100, ..Default::default() })
            .await
            .into_iter()
            .map(|g| g.0)
            .collect();
        expected.dedup();
        assert!(!expected.is_empty(), "the box holds facilities");
        // Names sort the same in Rust and in the C-collated database.
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn association_search_respects_who_may_see_what() {
    use registry_core::model::{Decision, RegistrationStatus};
    use registry_core::service::AssociationSearch;
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("setup");
    let mut approved = fixtures::association("1881", 1);
    approved.name = "Kumla Innebandyklubb".into();
    let a = reg.create_association(&admin, &approved).await.unwrap();
    reg.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
    let mut pending = fixtures::association("1881", 2);
    pending.name = "Kumla Simsällskap".into();
    reg.create_association(&admin, &pending).await.unwrap();
    let mut other = fixtures::association("1880", 3);
    other.name = "Örebro Innebandy".into();
    let o = reg.create_association(&admin, &other).await.unwrap();
    reg.decide_registration(&admin, o.id, None, None, &Decision::Approve).await.unwrap();

    let names = |p: Principal, s: AssociationSearch| {
        let reg = reg.clone();
        async move { reg.search_associations(&p, &s).await.map(|page| page.associations.into_iter().map(|a| a.name).collect::<Vec<_>>()) }
    };
    let anon = Principal::anonymous();
    assert_eq!(names(anon.clone(), AssociationSearch { q: Some("innebandy".into()), ..Default::default() }).await.unwrap().len(), 2);
    assert_eq!(
        names(anon.clone(), AssociationSearch { q: Some("inebandy kumla".into()), ..Default::default() }).await.unwrap()[0],
        "Kumla Innebandyklubb",
        "typo tolerant"
    );
    assert_eq!(
        names(anon.clone(), AssociationSearch { counties: vec!["18".into()], ..Default::default() }).await.unwrap().len(),
        2,
        "pending ones are not public"
    );
    assert!(matches!(
        names(anon.clone(), AssociationSearch { status: Some(RegistrationStatus::Pending), ..Default::default() }).await,
        Err(Error::Unauthenticated(_))
    ));
    let kumla = Principal::editor("key:kumla", "1881");
    assert_eq!(
        names(kumla, AssociationSearch { status: Some(RegistrationStatus::Pending), ..Default::default() }).await.unwrap(),
        vec!["Kumla Simsällskap".to_string()]
    );
    let by_org = names(anon, AssociationSearch { org_number: Some(a.org_number.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(by_org, vec!["Kumla Innebandyklubb".to_string()]);
    let nb = Principal::with_role("key:rf", registry_core::auth::Role::NationalBody);
    let mut s = AssociationSearch { page_size: 1, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = reg.search_associations(&nb, &s).await.unwrap();
        seen.extend(page.associations.into_iter().map(|a| a.name));
        if page.next_page_token.is_empty() {
            break;
        }
        s.page_token = page.next_page_token;
    }
    assert_eq!(seen, vec!["Kumla Innebandyklubb", "Kumla Simsällskap", "Örebro Innebandy"], "national bodies see every status, by name");
    assert!(matches!(
        reg.search_associations(&admin, &AssociationSearch { org_number: Some("123".into()), ..Default::default() }).await,
        Err(Error::Invalid(_))
    ));
}

/// The search shapes are served by indexes on a dataset large enough that the planner prefers
/// them (40,000 facilities from the national dataset generator): no sequential scan of
/// facilities appears in their plans, distance searches use the SWEREF 99 TM index (a KNN walk
/// or a bitmap of the box, whichever the planner finds cheaper) and text the full-text index.
#[tokio::test]
async fn every_search_shape_uses_an_index() {
    let db = TestDb::new().await;
    let reg = db.registry();
    registry_bench::generate::run(&registry_bench::generate::GenArgs {
        database_url: db.url.clone(),
        facilities: 40_000,
        associations: 2_000,
        seed: 3,
        replace: false,
    })
    .await
    .unwrap();
    let stockholm = LatLon { lat: 59.33, lon: 18.07 };
    let shapes: Vec<(&str, FacilitySearch)> = vec![
        (
            "nearest with an activity",
            FacilitySearch {
                near: Some(stockholm),
                radius_m: Some(10_000.0),
                activities: vec!["padel".into()],
                page_size: 20,
                ..Default::default()
            },
        ),
        (
            "open at, by distance",
            FacilitySearch {
                near: Some(stockholm),
                radius_m: Some(20_000.0),
                open_at: Some(tests::now() + Duration::days(2)),
                page_size: 20,
                ..Default::default()
            },
        ),
        ("text with a typo", FacilitySearch { q: Some("stockholm padelhal".into()), page_size: 20, ..Default::default() }),
        ("text near a place", FacilitySearch { q: Some("simhal".into()), near: Some(stockholm), page_size: 20, ..Default::default() }),
        ("bbox", FacilitySearch { bbox: Some([17.9, 59.2, 18.2, 59.4]), page_size: 20, ..Default::default() }),
        ("county", FacilitySearch { counties: vec!["18".into()], page_size: 20, ..Default::default() }),
        (
            "municipality and category",
            FacilitySearch {
                municipalities: vec!["1881".into()],
                categories: vec!["ice_rink".into()],
                page_size: 20,
                ..Default::default()
            },
        ),
    ];
    for (name, s) in shapes {
        let plan = reg.explain_facility_search(&s).await.unwrap();
        assert!(!plan.contains("Seq Scan on facilities"), "{name} scans facilities sequentially:\n{plan}");
        if s.near.is_some() && s.q.is_none() {
            assert!(plan.contains("facilities_location_tm"), "{name} uses the SWEREF 99 TM index:\n{plan}");
        }
        if s.q.is_some() {
            assert!(plan.contains("facilities_search_tsv"), "{name} uses the full-text index:\n{plan}");
        }
    }
    // Typo tolerance looks words up in the word list's trigram index, not in every name.
    let mut conn = db.conn().await;
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<Plan> =
        diesel::sql_query("EXPLAIN SELECT word FROM search_words WHERE word % 'padelhal' ORDER BY word <-> 'padelhal' LIMIT 3")
            .load(&mut conn)
            .await
            .unwrap();
    let plan: String = plan.into_iter().map(|p| p.line + "\n").collect();
    assert!(plan.contains("search_words_trgm"), "{plan}");
}

/// Nearest first walks the SWEREF 99 TM index and orders by the spheroid distance: on a dense
/// generated dataset its pages are exactly PostGIS's order, and the TM/spheroid bound it relies
/// on holds across Sweden's extent.
#[tokio::test]
async fn nearest_first_is_exact_on_a_dense_dataset() {
    let db = TestDb::new().await;
    let reg = db.registry();
    registry_bench::generate::run(&registry_bench::generate::GenArgs {
        database_url: db.url.clone(),
        facilities: 6_000,
        associations: 0,
        seed: 11,
        replace: false,
    })
    .await
    .unwrap();
    #[derive(QueryableByName)]
    struct Ratio {
        #[diesel(sql_type = diesel::sql_types::Double)]
        worst: f64,
    }
    // Pairs up to 200 km apart anywhere in the extent.
    let r: Ratio = diesel::sql_query(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(10.9 + random() * 13.3, 55.0 + random() * 14.1), 4326) AS a, \
                           random() * 2 * pi() AS dir, 1000 + random() * 199000 AS d FROM generate_series(1, 20000)), \
              q AS (SELECT a, ST_Project(a::geography, d, dir)::geometry AS b FROM p) \
         SELECT max(ST_Distance(ST_Transform(a, 3006), ST_Transform(b, 3006)) / ST_Distance(a::geography, b::geography)) AS worst \
         FROM q WHERE ST_X(b) BETWEEN 10.9 AND 24.2 AND ST_Y(b) BETWEEN 55.0 AND 69.1",
    )
    .get_result(&mut db.conn().await)
    .await
    .unwrap();
    assert!(r.worst <= registry_core::search::TM_SCALE_MAX, "TM/spheroid ratio {} exceeds the bound", r.worst);
    // The KNN index filters activities by hash; the code list must not collide (else a
    // candidate walk would carry facilities of the other activity to the exact check).
    assert_eq!(
        db.count("SELECT count(*) - count(DISTINCT hashtext(code)) AS n FROM activities").await,
        0,
        "two activity codes share a hash"
    );
    assert!(r.worst > 1.0, "the bound is not vacuous: {}", r.worst);

    let mut rng = Rng(99);
    let centres = [(59.3293, 18.0687), (57.7089, 11.9746), (55.605, 13.0038), (59.2753, 15.2134), (63.8258, 20.263), (67.8558, 20.2253)];
    for round in 0..40 {
        let (lat, lon) = *rng.pick(&centres);
        let p = LatLon { lat: lat + (rng.unit() - 0.5) * 0.05, lon: lon + (rng.unit() - 0.5) * 0.1 };
        let mut s = FacilitySearch {
            near: Some(p),
            radius_m: Some(500.0 + rng.unit() * 30_000.0),
            page_size: 1 + (rng.next() % 12) as i32,
            ..Default::default()
        };
        if rng.next().is_multiple_of(2) {
            s.activities = vec![rng.pick(&["floorball", "football", "padel", "swimming", "meetings"]).to_string()];
        }
        let (mut got, mut ended) = (Vec::new(), false);
        for _ in 0..4 {
            let page = reg.search_facilities(&Principal::anonymous(), &s).await.unwrap();
            got.extend(page.hits.iter().map(|h| (h.facility.id, h.distance_m.unwrap())));
            if page.next_page_token.is_empty() {
                ended = true;
                break;
            }
            s.page_token = page.next_page_token;
        }
        let want: Vec<Dist> = diesel::sql_query(
            "SELECT id, ST_Distance(location, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d FROM facilities \
             WHERE ST_DWithin(location, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3) AND (cardinality($4::text[]) = 0 OR activities && $4) \
             ORDER BY d, id LIMIT $5",
        )
        .bind::<diesel::sql_types::Double, _>(p.lon)
        .bind::<diesel::sql_types::Double, _>(p.lat)
        .bind::<diesel::sql_types::Double, _>(s.radius_m.unwrap())
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(s.activities.clone())
        .bind::<diesel::sql_types::BigInt, _>(if ended { i64::MAX } else { got.len() as i64 })
        .load(&mut db.conn().await)
        .await
        .unwrap();
        let want: Vec<(Uuid, f64)> = want.into_iter().map(|d| (d.id, d.d)).collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), want.iter().map(|w| w.0).collect::<Vec<_>>(), "round {round}: {s:?}");
        for ((_, a), (_, b)) in got.iter().zip(&want) {
            assert!((a - b).abs() < 0.5, "round {round}: {a} vs {b}");
        }
    }
}
