//! Rows of the geodata tables: municipality boundaries, sync runs and their per-facility
//! outcomes, and the facility columns the sync reads and writes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Double, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::geo::LatLon;

/// What the sync needs of one facility.
#[derive(Debug, Clone, QueryableByName)]
pub struct SyncCandidateRow {
    /// Facility id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Municipality code.
    #[diesel(sql_type = Text)]
    pub municipality_code: String,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Street and number.
    #[diesel(sql_type = Text)]
    pub street: String,
    /// Postal code (digits only, or empty).
    #[diesel(sql_type = Text)]
    pub postal_code: String,
    /// Post town.
    #[diesel(sql_type = Text)]
    pub locality: String,
    /// Latitude, if located.
    #[diesel(sql_type = Nullable<Double>)]
    pub lat: Option<f64>,
    /// Longitude, if located.
    #[diesel(sql_type = Nullable<Double>)]
    pub lon: Option<f64>,
    /// Whether the location is locked.
    #[diesel(sql_type = Bool)]
    pub location_locked: bool,
    /// Version.
    #[diesel(sql_type = BigInt)]
    pub version: i64,
}

/// Live facilities with a street address, by id after `after`, optionally of one municipality.
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    municipality: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<SyncCandidateRow>> {
    diesel::sql_query(
        "SELECT id, municipality_code, name, street, postal_code, locality,
                ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, location_locked, version
           FROM facilities
          WHERE deleted_at IS NULL AND btrim(street) <> ''
            AND ($1::text IS NULL OR municipality_code = $1)
            AND ($2::uuid IS NULL OR id > $2)
          ORDER BY id LIMIT $3",
    )
    .bind::<Nullable<Text>, _>(municipality)
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Distance {
    #[diesel(sql_type = Nullable<Double>)]
    distance_m: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    inside: Option<String>,
}

/// Distance in metres from `p` to municipality `code`'s boundary (0 inside), and the code of
/// the municipality whose boundary contains `p`, if any. None when `code` has no boundary.
pub async fn distance_to_boundary(
    conn: &mut AsyncPgConnection,
    code: &str,
    p: LatLon,
) -> diesel::QueryResult<Option<(f64, Option<String>)>> {
    let row: Option<Distance> = diesel::sql_query(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint($2, $3), 4326) AS g)
         SELECT ST_Distance(b.boundary, p.g::geography) AS distance_m,
                (SELECT o.municipality_code FROM municipality_boundaries o
                  WHERE ST_Intersects(o.boundary_tm, ST_Transform(p.g, 3006)) LIMIT 1) AS inside
           FROM municipality_boundaries b, p WHERE b.municipality_code = $1",
    )
    .bind::<Text, _>(code)
    .bind::<Double, _>(p.lon)
    .bind::<Double, _>(p.lat)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| (r.distance_m.unwrap_or(0.0), r.inside)))
}

/// Sets a synced location and its provenance, raising the version; returns the distance
/// moved in metres (spheroid), 0 when the facility had no location.
pub async fn set_synced_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    p: LatLon,
    feature_id: &str,
    quality: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<f64> {
    #[derive(QueryableByName)]
    struct Moved {
        #[diesel(sql_type = Double)]
        moved: f64,
    }
    let row: Moved = diesel::sql_query(
        "WITH new AS (SELECT ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography AS g),
              old AS (SELECT location FROM facilities WHERE id = $1)
         UPDATE facilities f SET location = new.g, location_source = 'geodata', location_feature_id = $4,
                location_match = $5, location_synced_at = $6,
                location_moved_m = COALESCE(ST_Distance(old.location, new.g, true), 0),
                version = f.version + 1, updated_at = $6
           FROM new, old WHERE f.id = $1
         RETURNING f.location_moved_m AS moved",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Double, _>(p.lon)
    .bind::<Double, _>(p.lat)
    .bind::<Text, _>(feature_id)
    .bind::<Text, _>(quality)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(row.moved)
}

/// The open run of `scope`, or a new one; returns its id and whether it was resumed.
pub async fn open_run(conn: &mut AsyncPgConnection, scope: &str, actor: &str) -> diesel::QueryResult<(Uuid, bool)> {
    #[derive(QueryableByName)]
    struct Run {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let open: Option<Run> = diesel::sql_query("SELECT id FROM geodata_sync_runs WHERE scope = $1 AND finished_at IS NULL FOR UPDATE")
        .bind::<Text, _>(scope)
        .get_result(conn)
        .await
        .optional()?;
    if let Some(r) = open {
        return Ok((r.id, true));
    }
    let id = Uuid::now_v7();
    diesel::sql_query("INSERT INTO geodata_sync_runs (id, scope, actor) VALUES ($1, $2, $3)")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(scope)
        .bind::<Text, _>(actor)
        .execute(conn)
        .await?;
    Ok((id, false))
}

/// Marks a run finished.
pub async fn finish_run(conn: &mut AsyncPgConnection, run: Uuid) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE geodata_sync_runs SET finished_at = now() WHERE id = $1 AND finished_at IS NULL")
        .bind::<SqlUuid, _>(run)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `facility` already has an outcome in `run`.
pub async fn processed(conn: &mut AsyncPgConnection, run: Uuid, facility: Uuid) -> diesel::QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    let r: Found = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM geodata_sync_outcomes WHERE run_id = $1 AND facility_id = $2) AS found")
        .bind::<SqlUuid, _>(run)
        .bind::<SqlUuid, _>(facility)
        .get_result(conn)
        .await?;
    Ok(r.found)
}

/// Records outcomes; ones already recorded for the run are kept as they were. Returns how many were new.
pub async fn record(conn: &mut AsyncPgConnection, run: Uuid, outcomes: &[(Uuid, &str, serde_json::Value)]) -> diesel::QueryResult<usize> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = outcomes.iter().map(|o| o.0).collect();
    let kinds: Vec<&str> = outcomes.iter().map(|o| o.1).collect();
    let details: Vec<serde_json::Value> = outcomes.iter().map(|o| o.2.clone()).collect();
    diesel::sql_query(
        "INSERT INTO geodata_sync_outcomes (run_id, facility_id, outcome, detail)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::jsonb[])
         ON CONFLICT (run_id, facility_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(run)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<diesel::sql_types::Array<Jsonb>, _>(details)
    .execute(conn)
    .await
}

/// One recorded outcome.
#[derive(Debug, Clone, QueryableByName)]
pub struct OutcomeRow {
    /// Facility id.
    #[diesel(sql_type = SqlUuid)]
    pub facility_id: Uuid,
    /// Outcome code.
    #[diesel(sql_type = Text)]
    pub outcome: String,
    /// Details (JSON object).
    #[diesel(sql_type = Jsonb)]
    pub detail: serde_json::Value,
}

/// Every outcome of a run, by facility id.
pub async fn outcomes(conn: &mut AsyncPgConnection, run: Uuid) -> diesel::QueryResult<Vec<OutcomeRow>> {
    diesel::sql_query("SELECT facility_id, outcome, detail FROM geodata_sync_outcomes WHERE run_id = $1 ORDER BY facility_id")
        .bind::<SqlUuid, _>(run)
        .load(conn)
        .await
}

/// Replaces one municipality's boundary from GeoJSON (a Polygon or MultiPolygon in WGS84).
pub async fn upsert_boundary(
    conn: &mut AsyncPgConnection,
    code: &str,
    geojson: &str,
    source: &str,
    feature_id: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO municipality_boundaries (municipality_code, boundary, source, source_feature_id, synced_at)
         VALUES ($1, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))::geography, $3, $4, $5)
         ON CONFLICT (municipality_code) DO UPDATE SET boundary = EXCLUDED.boundary, source = EXCLUDED.source,
                source_feature_id = EXCLUDED.source_feature_id, synced_at = EXCLUDED.synced_at",
    )
    .bind::<Text, _>(code)
    .bind::<Text, _>(geojson)
    .bind::<Text, _>(source)
    .bind::<Text, _>(feature_id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Why a GeoJSON geometry cannot be a boundary, if it cannot (PostGIS's own validity reason).
pub async fn boundary_problem(conn: &mut AsyncPgConnection, geojson: &str) -> diesel::QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Problem {
        #[diesel(sql_type = Nullable<Text>)]
        problem: Option<String>,
    }
    let r: Problem = diesel::sql_query(
        "WITH g AS (SELECT ST_GeomFromGeoJSON($1) AS g)
         SELECT CASE WHEN GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN 'is a ' || GeometryType(g) || ', not a (Multi)Polygon'
                     WHEN NOT ST_IsValid(g) THEN 'is not a valid polygon: ' || ST_IsValidReason(g)
                END AS problem FROM g",
    )
    .bind::<Text, _>(geojson)
    .get_result(conn)
    .await?;
    Ok(r.problem)
}

/// A facility whose location lies outside its own municipality's boundary.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutsideRow {
    /// Facility id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Its municipality.
    #[diesel(sql_type = Text)]
    pub municipality_code: String,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Distance to its municipality's boundary in metres.
    #[diesel(sql_type = Double)]
    pub distance_m: f64,
    /// The municipality the point lies in, if any.
    #[diesel(sql_type = Nullable<Text>)]
    pub lies_in: Option<String>,
}

/// Facilities more than `tolerance_m` outside their own municipality (which has a boundary).
pub async fn outside(conn: &mut AsyncPgConnection, tolerance_m: f64) -> diesel::QueryResult<Vec<OutsideRow>> {
    // The TM prefilter is safe because the TM scale is at least 0.9996; the distance is on the spheroid.
    diesel::sql_query(
        "SELECT f.id, f.municipality_code, f.name, ST_Distance(b.boundary, f.location) AS distance_m,
                (SELECT o.municipality_code FROM municipality_boundaries o
                  WHERE ST_Intersects(o.boundary_tm, f.location_tm) LIMIT 1) AS lies_in
           FROM facilities f JOIN municipality_boundaries b USING (municipality_code)
          WHERE f.deleted_at IS NULL AND f.location IS NOT NULL
            AND NOT ST_DWithin(b.boundary_tm, f.location_tm, $1 * 0.999)
            AND ST_Distance(b.boundary, f.location) > $1
          ORDER BY f.municipality_code, f.id",
    )
    .bind::<Double, _>(tolerance_m)
    .load(conn)
    .await
}

/// Two facilities of different municipalities that are probably the same place.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateRow {
    /// First facility.
    #[diesel(sql_type = SqlUuid)]
    pub a_id: Uuid,
    /// Its municipality.
    #[diesel(sql_type = Text)]
    pub a_municipality_code: String,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub a_name: String,
    /// Second facility.
    #[diesel(sql_type = SqlUuid)]
    pub b_id: Uuid,
    /// Its municipality.
    #[diesel(sql_type = Text)]
    pub b_municipality_code: String,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub b_name: String,
    /// The shared category.
    #[diesel(sql_type = Text)]
    pub category: String,
    /// Distance between them in metres.
    #[diesel(sql_type = Double)]
    pub distance_m: f64,
}

/// Pairs of facilities of the same category in different municipalities within `within_m`.
pub async fn duplicates(conn: &mut AsyncPgConnection, within_m: f64) -> diesel::QueryResult<Vec<DuplicateRow>> {
    diesel::sql_query(
        "SELECT a.id AS a_id, a.municipality_code AS a_municipality_code, a.name AS a_name,
                b.id AS b_id, b.municipality_code AS b_municipality_code, b.name AS b_name,
                a.category, ST_Distance(a.location, b.location) AS distance_m
           FROM facilities a JOIN facilities b
             ON ST_DWithin(a.location_tm, b.location_tm, $1 * 1.005)
            AND a.category = b.category AND a.municipality_code < b.municipality_code
          WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL
            AND ST_Distance(a.location, b.location) <= $1
          ORDER BY a.municipality_code, a.id, b.id",
    )
    .bind::<Double, _>(within_m)
    .load(conn)
    .await
}

/// How many municipalities have a boundary.
pub async fn boundary_count(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let r: N = diesel::sql_query("SELECT count(*) AS n FROM municipality_boundaries").get_result(conn).await?;
    Ok(r.n)
}

/// One municipality's boundary as a GeoJSON geometry (WGS84), if loaded.
pub async fn boundary_geojson(conn: &mut AsyncPgConnection, code: &str) -> diesel::QueryResult<Option<(String, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct B {
        #[diesel(sql_type = Text)]
        geojson: String,
        #[diesel(sql_type = Timestamptz)]
        synced_at: DateTime<Utc>,
    }
    let r: Option<B> = diesel::sql_query(
        "SELECT ST_AsGeoJSON(boundary, 7) AS geojson, synced_at FROM municipality_boundaries WHERE municipality_code = $1",
    )
    .bind::<Text, _>(code)
    .get_result(conn)
    .await
    .optional()?;
    Ok(r.map(|b| (b.geojson, b.synced_at)))
}
