//! Migrations: up, down, up again on an empty database; the seed; the spatial index.

use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use registry_core::db;
use tests::TestDb;

#[tokio::test]
async fn up_down_up_on_an_empty_database() {
    let db = TestDb::empty().await;
    let applied = db::migrate(&db.url).await.unwrap();
    assert_eq!(applied.len(), 20);
    assert_eq!(db.count("SELECT count(*) AS n FROM municipalities").await, 290);
    assert_eq!(db.count("SELECT count(*) AS n FROM counties").await, 21);
    assert!(db.count("SELECT count(*) AS n FROM facility_categories").await >= 20);
    assert!(db.count("SELECT count(*) AS n FROM activities").await >= 20);
    assert_eq!(db.count("SELECT count(*) AS n FROM association_types").await, registry_core::codes::association_types().len() as i64);
    assert_eq!(db.count("SELECT count(*) AS n FROM federations").await, registry_core::codes::federations().len() as i64);
    assert!(db::migrate(&db.url).await.unwrap().is_empty(), "a second run has nothing to do");

    let reverted = db::revert_all(&db.url).await.unwrap();
    assert_eq!(reverted.len(), 20);
    let tables = "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                  AND table_name NOT IN ('spatial_ref_sys', '__diesel_schema_migrations')";
    assert_eq!(db.count(tables).await, 0, "down.sql removes every table it created");
    assert_eq!(db.count("SELECT count(*) AS n FROM pg_proc WHERE proname LIKE 'registry_%'").await, 0);

    assert_eq!(db::migrate(&db.url).await.unwrap().len(), 20, "and up works again");
    assert_eq!(db.count("SELECT count(*) AS n FROM municipalities").await, 290);
    assert_eq!(db::applied(&db.url).await.unwrap().len(), 20);
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

/// Associations as they were before one record served several municipalities (migration
/// 000014) keep everything: each gets its registration with its municipality (status,
/// message, decision time), the events as far as they are known, and its member statistics
/// as the first report of their year; the summary columns agree with the registrations.
#[tokio::test]
async fn associations_of_the_old_schema_migrate_with_nothing_lost() {
    let db = TestDb::empty().await;
    db::migrate_through(&db.url, "20261205000013").await.unwrap();
    let mut conn = db.conn().await;
    conn.batch_execute(
        "INSERT INTO associations (id, org_number, name, municipality_code, member_statistics, registration_status, \
           registration_message, registration_decided_at, contact_persons, version, created_at, updated_at) VALUES \
         ('01900000-0000-7000-8000-000000000001', '8020000009', 'Väntande IF', '0180', NULL, 'pending', NULL, NULL, '[]', 1, \
           '2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z'), \
         ('01900000-0000-7000-8000-000000000002', '8020000025', 'Godkända SK', '1480', \
           '{\"year\": 2025, \"counts\": [{\"ageBand\": \"AGE_BAND_7_TO_12\", \"gender\": \"GENDER_FEMALE\", \"count\": 40}]}', \
           'approved', NULL, '2026-02-01T10:00:00Z', '[{\"name\": \"Karin\", \"role\": \"kassör\"}]', 4, \
           '2026-01-02T10:00:00Z', '2026-02-01T10:00:00Z'), \
         ('01900000-0000-7000-8000-000000000003', '8020000108', 'Avslagna FF', '1880', NULL, 'rejected', 'Inte ideell', \
           '2026-03-01T10:00:00Z', '[]', 2, '2026-01-03T10:00:00Z', '2026-03-01T10:00:00Z'), \
         ('01900000-0000-7000-8000-000000000004', '8020000124', 'Kompletterande BK', '1880', NULL, 'needs_completion', \
           'Stadgar saknas', '2026-03-02T10:00:00Z', '[]', 2, '2026-01-04T10:00:00Z', '2026-03-02T10:00:00Z')",
    )
    .await
    .unwrap();
    drop(conn);
    let applied = db::migrate(&db.url).await.unwrap();
    assert_eq!(applied.len(), 7, "000014, the association code seed, 000016 to 000020: {applied:?}");

    let reg = db.registry();
    let admin = registry_core::auth::Principal::operator("check").with_personal_data();
    let a = |n: u8| uuid::Uuid::parse_str(&format!("01900000-0000-7000-8000-00000000000{n}")).unwrap();
    let approved = reg.get_association(&admin, a(2)).await.unwrap();
    assert_eq!(approved.version, 4, "versions are kept");
    assert_eq!(approved.registration.status, registry_core::model::RegistrationStatus::Approved);
    assert_eq!(approved.registrations.len(), 1);
    assert_eq!(approved.registrations[0].municipality_code, "1480");
    assert_eq!(approved.registrations[0].submitted_at.to_rfc3339(), "2026-01-02T10:00:00+00:00", "submitted when created");
    assert_eq!(approved.registrations[0].decided_at.unwrap().to_rfc3339(), "2026-02-01T10:00:00+00:00");
    assert_eq!(approved.member_statistics.as_ref().unwrap().counts[0].count, 40);
    assert_eq!(approved.member_statistics_by_year.as_deref().unwrap(), std::slice::from_ref(approved.member_statistics.as_ref().unwrap()));
    assert_eq!(approved.contact_persons.as_ref().unwrap()[0].name, "Karin");
    let reports = reg.member_statistics(&admin, a(2)).await.unwrap();
    assert_eq!((reports.len(), reports[0].year, reports[0].version, reports[0].total, reports[0].current), (1, 2025, 1, 40, true));

    let rejected = reg.get_association(&admin, a(3)).await.unwrap();
    assert_eq!(rejected.registration.message.as_deref(), Some("Inte ideell"));
    assert_eq!(rejected.registrations[0].message.as_deref(), Some("Inte ideell"));
    let history = reg.registrations(&admin, a(4)).await.unwrap();
    let kinds: Vec<_> = history[0].events.iter().map(|e| (e.kind, e.message.clone())).collect();
    use registry_core::model::RegistrationEventKind as K;
    assert_eq!(kinds, [(K::Submitted, None), (K::CompletionRequested, Some("Stadgar saknas".to_string()))]);
    let pending = reg.registrations(&admin, a(1)).await.unwrap();
    assert_eq!(pending[0].events.len(), 1, "a pending registration was only submitted");

    // The summary columns search and exports filter on.
    assert_eq!(db.count("SELECT count(*) AS n FROM associations WHERE registered_in = ARRAY[municipality_code]").await, 4);
    assert_eq!(db.count("SELECT count(*) AS n FROM associations WHERE approved_in = ARRAY['1480']").await, 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM associations WHERE cardinality(approved_in) = 0").await, 3);
}
