//! Migrations: up, down, up again on an empty database; the seed; the spatial index.

use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use registry_core::db;
use tests::TestDb;

#[tokio::test]
async fn up_down_up_on_an_empty_database() {
    let db = TestDb::empty().await;
    let applied = db::migrate(&db.url).await.unwrap();
    assert_eq!(applied.len(), 13);
    assert_eq!(db.count("SELECT count(*) AS n FROM municipalities").await, 290);
    assert_eq!(db.count("SELECT count(*) AS n FROM counties").await, 21);
    assert!(db.count("SELECT count(*) AS n FROM facility_categories").await >= 20);
    assert!(db.count("SELECT count(*) AS n FROM activities").await >= 20);
    assert!(db::migrate(&db.url).await.unwrap().is_empty(), "a second run has nothing to do");

    let reverted = db::revert_all(&db.url).await.unwrap();
    assert_eq!(reverted.len(), 13);
    let tables = "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                  AND table_name NOT IN ('spatial_ref_sys', '__diesel_schema_migrations')";
    assert_eq!(db.count(tables).await, 0, "down.sql removes every table it created");
    assert_eq!(db.count("SELECT count(*) AS n FROM pg_proc WHERE proname LIKE 'registry_%'").await, 0);

    assert_eq!(db::migrate(&db.url).await.unwrap().len(), 13, "and up works again");
    assert_eq!(db.count("SELECT count(*) AS n FROM municipalities").await, 290);
    assert_eq!(db::applied(&db.url).await.unwrap().len(), 13);
}

#[tokio::test]
async fn the_seeded_municipalities_match_the_checked_in_list() {
    #[derive(QueryableByName, PartialEq, Debug)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        county: String,
    }
    let db = TestDb::new().await;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT m.code, m.name, c.name AS county FROM municipalities m JOIN counties c ON c.code = m.county_code ORDER BY m.code",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    let expected: Vec<Row> = registry_core::codes::municipalities()
        .iter()
        .map(|m| Row { code: m.code.clone(), name: m.name.clone(), county: m.county_name.clone() })
        .collect();
    assert_eq!(rows, expected);
}

/// The GiST index on facility locations serves distance queries (search builds on it).
#[tokio::test]
async fn distance_queries_use_the_spatial_index() {
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    conn.batch_execute(
        "INSERT INTO facilities (id, municipality_code, name, category, ownership, location) \
         SELECT gen_random_uuid(), '1881', 'Hall ' || i, 'sports_hall', 'municipal', \
                ST_SetSRID(ST_MakePoint(15.0 + (i % 100) / 100.0, 59.0 + (i / 100) / 100.0), 4326)::geography \
         FROM generate_series(0, 1999) AS i; ANALYZE facilities;",
    )
    .await
    .unwrap();
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT id FROM facilities WHERE ST_DWithin(location, ST_SetSRID(ST_MakePoint(15.14, 59.12), 4326)::geography, 500)",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let text = plan.iter().map(|p| p.line.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("facilities_location_gist"), "plan does not use the GiST index:\n{text}");
}
