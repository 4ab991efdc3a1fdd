//! Opening hours through the use cases and the database: versions, authorization, units
//! inheriting their facility's hours, and materialised intervals that always equal the
//! evaluator's output, queried through the GiST index.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::hours::{OpeningHours, osm};
use registry_core::service::MATERIALISED_DAYS;
use tests::{TestDb, fixtures};
use uuid::Uuid;

#[derive(QueryableByName, Debug, PartialEq)]
struct Range {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    s: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    e: DateTime<Utc>,
}

async fn stored(db: &TestDb, facility: Uuid, unit: Option<Uuid>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let rows: Vec<Range> = diesel::sql_query(
        "SELECT lower(r) AS s, upper(r) AS e FROM open_intervals, unnest(during) AS r \
         WHERE facility_id = $1 AND unit_id IS NOT DISTINCT FROM $2 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(facility)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(unit)
    .load(&mut db.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| (r.s, r.e)).collect()
}

/// The materialised rows equal the evaluator's intervals over the materialised window, which
/// starts at the hour of the write (this hour, or the previous one if the clock just turned).
async fn assert_materialised(db: &TestDb, facility: Uuid, unit: Option<Uuid>, hours: &OpeningHours) {
    let rows = stored(db, facility, unit).await;
    let hour = DateTime::from_timestamp(Utc::now().timestamp() / 3600 * 3600, 0).unwrap();
    let expected = |start: DateTime<Utc>| -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        hours.intervals(start, start + Duration::days(MATERIALISED_DAYS)).iter().map(|i| (i.start, i.end)).collect()
    };
    let (now, before) = (expected(hour), expected(hour - Duration::hours(1)));
    assert!(rows == now || rows == before, "materialised {} intervals, the evaluator gives {}", rows.len(), now.len());
}

#[tokio::test]
async fn put_get_versions_and_materialisation() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let editor = Principal::editor("key:kumla", "1881");
    let f = reg.create_facility(&editor, &fixtures::facility("1881", "Hall")).await.unwrap();
    let empty = reg.get_opening_hours(&Principal::anonymous(), f.id, None).await.unwrap();
    assert_eq!((empty.version, empty.inherited, empty.hours.periods.len()), (0, false, 0));

    let winter = osm::parse("Mo-Fr 07:00-22:00; Sa,Su 09:00-18:00; Fr 22:00-01:00; PH off").unwrap_or_else(|e| panic!("{e}"));
    let s1 = reg.put_opening_hours(&editor, f.id, None, 0, &winter).await.unwrap();
    assert_eq!(s1.version, 1);
    assert_materialised(&db, f.id, None, &s1.hours).await;
    assert!(matches!(
        reg.put_opening_hours(&editor, f.id, None, 0, &winter).await,
        Err(Error::PreconditionFailed { expected: 0, actual: 1, .. })
    ));

    let summer = osm::parse("Jun-Aug Mo-Su 10:00-16:00; Sep-May Mo-Fr 08:00-20:00; Dec 24,Dec 31 off").unwrap();
    let s2 = reg.put_opening_hours(&editor, f.id, None, 1, &summer).await.unwrap();
    assert_eq!(s2.version, 2);
    assert_materialised(&db, f.id, None, &s2.hours).await;
    assert_eq!(reg.get_opening_hours(&Principal::anonymous(), f.id, None).await.unwrap().hours, s2.hours);

    // A unit inherits until it has its own hours.
    let unit = f.units[0].id;
    let inherited = reg.get_opening_hours(&Principal::anonymous(), f.id, Some(unit)).await.unwrap();
    assert!(inherited.inherited && inherited.hours == s2.hours);
    let own = osm::parse("Mo-Fr 16:00-21:00").unwrap();
    let u1 = reg.put_opening_hours(&editor, f.id, Some(unit), 0, &own).await.unwrap();
    assert!(!u1.inherited);
    assert_materialised(&db, f.id, Some(unit), &own).await;
    assert_materialised(&db, f.id, None, &s2.hours).await;
    assert!(matches!(reg.get_opening_hours(&editor, f.id, Some(Uuid::now_v7())).await, Err(Error::NotFound { .. })));

    // An empty schedule: closed, nothing materialised.
    let s3 = reg.put_opening_hours(&editor, f.id, None, 2, &OpeningHours::default()).await.unwrap();
    assert!(stored(&db, f.id, None).await.is_empty());
    assert_eq!(s3.version, 3);

    // Every write is logged; the refresh job rebuilds the same rows.
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE entity = 'opening_hours'").await, 4);
    reg.put_opening_hours(&editor, f.id, None, 3, &winter).await.unwrap();
    let before = stored(&db, f.id, None).await;
    db.conn().await.batch_execute("DELETE FROM open_intervals").await.unwrap();
    let (schedules, intervals) = reg.refresh_open_intervals().await.unwrap();
    assert_eq!(schedules, 2);
    assert!(intervals > 0);
    assert_eq!(stored(&db, f.id, None).await, before);

    // Deleting the facility removes its intervals.
    reg.delete_facility(&editor, f.id, None).await.unwrap();
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 0);
}

#[tokio::test]
async fn writes_are_authorized_and_validated() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let f = reg.create_facility(&Principal::operator("admin"), &fixtures::facility("0180", "Hall")).await.unwrap();
    let h = osm::parse("Mo-Fr 08:00-17:00").unwrap();
    assert!(matches!(reg.put_opening_hours(&Principal::anonymous(), f.id, None, 0, &h).await, Err(Error::Unauthenticated(_))));
    assert!(matches!(reg.put_opening_hours(&Principal::editor("key:gbg", "1480"), f.id, None, 0, &h).await, Err(Error::Forbidden(_))));
    let mut bad = h.clone();
    let first = bad.periods[0].weekly.monday[0];
    bad.periods[0].weekly.monday.push(first);
    let Err(Error::Invalid(v)) = reg.put_opening_hours(&Principal::editor("key:sthlm", "0180"), f.id, None, 0, &bad).await else {
        panic!()
    };
    assert_eq!((v[0].field.as_str(), v[0].rule), ("periods[0].weekly.monday[1]", "overlap"));
    assert_eq!(db.count("SELECT count(*) AS n FROM opening_hours").await, 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 0);
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    assert!(matches!(
        reg.opening_intervals(&Principal::anonymous(), f.id, None, t("2026-01-01T00:00:00Z"), t("2027-06-01T00:00:00Z")).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        reg.opening_intervals(&Principal::anonymous(), f.id, None, t("2026-01-02T00:00:00Z"), t("2026-01-01T00:00:00Z")).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn the_open_at_filter_uses_the_gist_index() {
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let h = osm::parse("Mo-Fr 07:00-21:00; Sa,Su 09:00-16:00; PH off").unwrap();
    for i in 0..40 {
        let f = reg.create_facility(&admin, &fixtures::facility("1881", &format!("Hall {i}"))).await.unwrap();
        reg.put_opening_hours(&admin, f.id, None, 0, &h).await.unwrap();
    }
    let mut conn = db.conn().await;
    // With 40 rows a sequential scan is cheaper; what matters is that the index can serve
    // the filter (the national table has hundreds of thousands of rows).
    conn.batch_execute("ANALYZE open_intervals; SET enable_seqscan = off").await.unwrap();
    let at = (Utc::now() + Duration::days(3)).to_rfc3339();
    let plan: Vec<Plan> =
        diesel::sql_query(format!("EXPLAIN SELECT DISTINCT facility_id FROM open_intervals WHERE during @> '{at}'::timestamptz"))
            .load(&mut conn)
            .await
            .unwrap();
    let text = plan.iter().map(|p| p.line.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("open_intervals_during"), "no index in the plan:\n{text}");
    let during: Vec<Plan> = diesel::sql_query(format!(
        "EXPLAIN SELECT DISTINCT facility_id FROM open_intervals WHERE during @> tstzrange('{at}'::timestamptz, '{at}'::timestamptz + interval '2 hours')"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let text = during.iter().map(|p| p.line.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("open_intervals_during"), "no index in the plan:\n{text}");
}

#[tokio::test]
async fn unit_hours_survive_facility_updates_and_go_with_their_unit() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let f = reg.create_facility(&admin, &fixtures::facility("1881", "Hall")).await.unwrap();
    let (keep, drop) = (f.units[0].id, f.units[1].id);
    let h = osm::parse("Mo-Fr 16:00-21:00").unwrap();
    reg.put_opening_hours(&admin, f.id, Some(keep), 0, &h).await.unwrap();
    reg.put_opening_hours(&admin, f.id, Some(drop), 0, &h).await.unwrap();
    let mut input = f.to_input();
    input.name = "Renamed".into();
    let f = reg.update_facility(&admin, f.id, 1, &input).await.unwrap();
    assert_eq!(reg.get_opening_hours(&admin, f.id, Some(keep)).await.unwrap().version, 1, "an update keeps the units' hours");
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 2);
    let mut input = f.to_input();
    input.units.retain(|u| u.id == Some(keep));
    reg.update_facility(&admin, f.id, 2, &input).await.unwrap();
    assert!(matches!(reg.get_opening_hours(&admin, f.id, Some(drop)).await, Err(Error::NotFound { .. })));
    assert_eq!(db.count("SELECT count(*) AS n FROM opening_hours").await, 1, "the removed unit's hours went with it");
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 1);
}
