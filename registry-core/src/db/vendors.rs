//! Rows of the vendor directory: `vendors`, `vendor_municipalities`, `vendor_units`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::{
    Certification, CertificationOverride, CertificationRun, LatestRun, RunTrigger, Vendor, VendorAuth, VendorInput, VendorProtocol,
};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Text)]
    protocol: String,
    #[diesel(sql_type = Text)]
    auth: String,
    #[diesel(sql_type = Nullable<Text>)]
    credential_ref: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ca_pem: Option<String>,
    #[diesel(sql_type = Int4)]
    max_concurrency: i32,
    #[diesel(sql_type = Int4)]
    requests_per_second: i32,
    #[diesel(sql_type = Array<Text>)]
    municipality_codes: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    test_units: Vec<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    capabilities: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    capabilities_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    conformance: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_passed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    certified_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    override_reason: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    override_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    override_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    override_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    run_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    run_passed: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    run_protocol_version: Option<String>,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    run_failed_checks: Option<Vec<String>>,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_vendor(self, now: DateTime<Utc>) -> Vendor {
        let r#override = match (self.override_reason, self.override_at, self.override_until) {
            (Some(reason), Some(at), Some(until)) => Some(CertificationOverride { reason, by: self.override_by, at, until }),
            _ => None,
        };
        let last_run = match (self.run_at, self.run_passed) {
            (Some(at), Some(passed)) => Some(LatestRun {
                at,
                passed,
                protocol_version: self.run_protocol_version,
                failed_checks: self.run_failed_checks.unwrap_or_default(),
            }),
            _ => None,
        };
        let certification = Certification::derive(now, last_run, self.last_passed_at, self.certified_until, r#override);
        Vendor {
            id: self.id,
            name: self.name,
            endpoint: self.endpoint,
            // The database CHECK constraints admit only the known codes.
            protocol: VendorProtocol::parse(&self.protocol).unwrap_or(VendorProtocol::Grpc),
            auth: VendorAuth::parse(&self.auth).unwrap_or(VendorAuth::Mtls),
            credential_ref: self.credential_ref,
            ca_pem: self.ca_pem,
            max_concurrency: self.max_concurrency,
            requests_per_second: self.requests_per_second,
            municipality_codes: self.municipality_codes,
            test_units: self.test_units,
            capabilities: self.capabilities,
            capabilities_at: self.capabilities_at,
            conformance: self.conformance,
            certification,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const SELECT: &str = "SELECT v.id, v.name, v.endpoint, v.protocol, v.auth, v.credential_ref, v.ca_pem, v.max_concurrency,
        v.requests_per_second,
        ARRAY(SELECT m.municipality_code FROM vendor_municipalities m WHERE m.vendor_id = v.id ORDER BY 1) AS municipality_codes,
        v.test_units, v.capabilities, v.capabilities_at, v.conformance, v.last_passed_at, v.certified_until,
        v.override_reason, v.override_by, v.override_at, v.override_until,
        r.run_at, r.passed AS run_passed, r.protocol_version AS run_protocol_version, r.failed_checks AS run_failed_checks,
        v.version, v.created_at, v.updated_at
   FROM vendors v
   LEFT JOIN LATERAL (SELECT run_at, passed, protocol_version, failed_checks FROM vendor_certification_runs
                       WHERE vendor_id = v.id ORDER BY run_at DESC, id DESC LIMIT 1) r ON true
  WHERE v.deleted_at IS NULL";

/// One live vendor; `lock` takes a row lock.
/// `now` decides whether a certification has lapsed.
pub async fn load(conn: &mut AsyncPgConnection, id: Uuid, lock: bool, now: DateTime<Utc>) -> diesel::QueryResult<Option<Vendor>> {
    let sql = format!("{SELECT} AND v.id = $1{}", if lock { " FOR UPDATE OF v" } else { "" });
    let row: Option<Row> = diesel::sql_query(sql).bind::<SqlUuid, _>(id).get_result(conn).await.optional()?;
    Ok(row.map(|r| r.into_vendor(now)))
}

/// Live vendors among `ids`, in no particular order.
pub async fn load_many(conn: &mut AsyncPgConnection, ids: &[Uuid], now: DateTime<Utc>) -> diesel::QueryResult<Vec<Vendor>> {
    let sql = format!("{SELECT} AND v.id = ANY($1)");
    let rows: Vec<Row> = diesel::sql_query(sql).bind::<Array<SqlUuid>, _>(ids).load(conn).await?;
    Ok(rows.into_iter().map(|r| r.into_vendor(now)).collect())
}

/// Live vendors by name, optionally only those serving a municipality.
pub async fn list(conn: &mut AsyncPgConnection, municipality: Option<&str>, now: DateTime<Utc>) -> diesel::QueryResult<Vec<Vendor>> {
    let sql = format!(
        "{SELECT} AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM vendor_municipalities m WHERE m.vendor_id = v.id AND m.municipality_code = $1))
          ORDER BY lower(v.name), v.id"
    );
    let rows: Vec<Row> = diesel::sql_query(sql).bind::<Nullable<Text>, _>(municipality).load(conn).await?;
    Ok(rows.into_iter().map(|r| r.into_vendor(now)).collect())
}

/// Whether another live vendor has this name (case-insensitive).
pub async fn name_taken(conn: &mut AsyncPgConnection, name: &str, except: Option<Uuid>) -> diesel::QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let r: Taken = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM vendors WHERE lower(name) = lower($1) AND deleted_at IS NULL AND ($2::uuid IS NULL OR id <> $2)) AS taken",
    )
    .bind::<Text, _>(name)
    .bind::<Nullable<SqlUuid>, _>(except)
    .get_result(conn)
    .await?;
    Ok(r.taken)
}

/// Writes a vendor (insert or full update with `version`) and its municipalities.
pub async fn save(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    input: &VendorInput,
    capabilities: Option<&serde_json::Value>,
    version: i64,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO vendors (id, name, endpoint, protocol, auth, credential_ref, ca_pem, max_concurrency, requests_per_second,
                              capabilities, capabilities_at, version, created_at, updated_at, test_units)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $10 IS NULL THEN NULL ELSE $11 END, $12, $11, $11, $13)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, endpoint = EXCLUDED.endpoint, protocol = EXCLUDED.protocol,
                auth = EXCLUDED.auth, credential_ref = EXCLUDED.credential_ref, ca_pem = EXCLUDED.ca_pem,
                max_concurrency = EXCLUDED.max_concurrency, requests_per_second = EXCLUDED.requests_per_second,
                test_units = EXCLUDED.test_units,
                capabilities = COALESCE(EXCLUDED.capabilities, vendors.capabilities),
                capabilities_at = COALESCE(EXCLUDED.capabilities_at, vendors.capabilities_at),
                version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(&input.name)
    .bind::<Text, _>(&input.endpoint)
    .bind::<Text, _>(input.protocol.as_str())
    .bind::<Text, _>(input.auth.as_str())
    .bind::<Nullable<Text>, _>(input.credential_ref.as_deref())
    .bind::<Nullable<Text>, _>(input.ca_pem.as_deref())
    .bind::<Int4, _>(input.max_concurrency.unwrap_or(8))
    .bind::<Int4, _>(input.requests_per_second.unwrap_or(50))
    .bind::<Nullable<Jsonb>, _>(capabilities)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(version)
    .bind::<Array<Text>, _>(&input.test_units)
    .execute(conn)
    .await?;
    diesel::sql_query("DELETE FROM vendor_municipalities WHERE vendor_id = $1 AND municipality_code <> ALL($2)")
        .bind::<SqlUuid, _>(id)
        .bind::<Array<Text>, _>(&input.municipality_codes)
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO vendor_municipalities (vendor_id, municipality_code) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Array<Text>, _>(&input.municipality_codes)
    .execute(conn)
    .await?;
    // Units of municipalities the vendor no longer serves are no longer its units.
    diesel::sql_query(
        "DELETE FROM vendor_units vu USING facility_units u, facilities f
          WHERE vu.vendor_id = $1 AND u.id = vu.unit_id AND f.id = u.facility_id AND f.municipality_code <> ALL($2)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Array<Text>, _>(&input.municipality_codes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps a conformance run, and when it passed, certifies the vendor until `valid_until`.
#[allow(clippy::too_many_arguments)]
pub async fn insert_run(
    conn: &mut AsyncPgConnection,
    vendor_id: Uuid,
    at: DateTime<Utc>,
    trigger: RunTrigger,
    endpoint: &str,
    protocol_version: Option<&str>,
    failed_checks: &[String],
    checks: &serde_json::Value,
    valid_until: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO vendor_certification_runs (id, vendor_id, run_at, trigger, endpoint, protocol_version, passed, failed_checks, checks)
         VALUES ($1, $2, $3, $4, $5, $6, cardinality($7::text[]) = 0, $7, $8)",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(vendor_id)
    .bind::<Timestamptz, _>(at)
    .bind::<Text, _>(trigger.as_str())
    .bind::<Text, _>(endpoint)
    .bind::<Nullable<Text>, _>(protocol_version)
    .bind::<Array<Text>, _>(failed_checks)
    .bind::<Jsonb, _>(checks)
    .execute(conn)
    .await?;
    if failed_checks.is_empty() {
        diesel::sql_query("UPDATE vendors SET last_passed_at = $2, certified_until = $3 WHERE id = $1")
            .bind::<SqlUuid, _>(vendor_id)
            .bind::<Timestamptz, _>(at)
            .bind::<Timestamptz, _>(valid_until)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Sets (or clears, with `None`) an admin's override of a vendor's certification.
pub async fn set_override(
    conn: &mut AsyncPgConnection,
    vendor_id: Uuid,
    o: Option<(&str, &str, DateTime<Utc>, DateTime<Utc>)>,
) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE vendors SET override_reason = $2, override_by = $3, override_at = $4, override_until = $5 WHERE id = $1")
        .bind::<SqlUuid, _>(vendor_id)
        .bind::<Nullable<Text>, _>(o.map(|o| o.0))
        .bind::<Nullable<Text>, _>(o.map(|o| o.1))
        .bind::<Nullable<Timestamptz>, _>(o.map(|o| o.2))
        .bind::<Nullable<Timestamptz>, _>(o.map(|o| o.3))
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct RunRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    vendor_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    run_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    trigger: String,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Nullable<Text>)]
    protocol_version: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    passed: bool,
    #[diesel(sql_type = Array<Text>)]
    failed_checks: Vec<String>,
    #[diesel(sql_type = Jsonb)]
    checks: serde_json::Value,
}

/// Whether `run` is one of the vendor's runs.
pub async fn has_run(conn: &mut AsyncPgConnection, vendor_id: Uuid, run: Uuid) -> diesel::QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let r: Found = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM vendor_certification_runs WHERE vendor_id = $1 AND id = $2) AS found")
        .bind::<SqlUuid, _>(vendor_id)
        .bind::<SqlUuid, _>(run)
        .get_result(conn)
        .await?;
    Ok(r.found)
}

/// A vendor's runs, newest first, older than `before` (a run id) when given.
pub async fn runs(
    conn: &mut AsyncPgConnection,
    vendor_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<CertificationRun>> {
    let rows: Vec<RunRow> = diesel::sql_query(
        "SELECT id, vendor_id, run_at, trigger, endpoint, protocol_version, passed, failed_checks, checks
           FROM vendor_certification_runs
          WHERE vendor_id = $1
            AND ($2::uuid IS NULL OR (run_at, id) < (SELECT run_at, id FROM vendor_certification_runs WHERE id = $2))
          ORDER BY run_at DESC, id DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(vendor_id)
    .bind::<Nullable<SqlUuid>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CertificationRun {
            id: r.id,
            vendor_id: r.vendor_id,
            run_at: r.run_at,
            trigger: RunTrigger::parse(&r.trigger).unwrap_or(RunTrigger::Request),
            endpoint: r.endpoint,
            protocol_version: r.protocol_version,
            passed: r.passed,
            failed_checks: r.failed_checks,
            checks: r.checks,
        })
        .collect())
}

/// Claims the right to poll a vendor's capabilities now: true for one replica when the last
/// poll (by any replica) is older than `min_gap`.
pub async fn claim_poll(conn: &mut AsyncPgConnection, vendor_id: Uuid, min_gap: std::time::Duration) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query(
        "UPDATE vendors SET polled_at = now()
          WHERE id = $1 AND deleted_at IS NULL AND (polled_at IS NULL OR polled_at < now() - make_interval(secs => $2))",
    )
    .bind::<SqlUuid, _>(vendor_id)
    .bind::<diesel::sql_types::Double, _>(min_gap.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Records the result of a vendor's checks: the capabilities when fetched, and the
/// conformance result. Not a change of the entry: neither its version nor the change log moves.
pub async fn record_checks(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    capabilities: Option<&serde_json::Value>,
    conformance: Option<(&serde_json::Value, bool)>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE vendors SET capabilities = COALESCE($2, capabilities),
                capabilities_at = CASE WHEN $2 IS NULL THEN capabilities_at ELSE $4 END,
                conformance = COALESCE($3, conformance),
                conformance_at = CASE WHEN $3 IS NULL THEN conformance_at ELSE $4 END,
                conformance_passed = CASE WHEN $3 IS NULL THEN conformance_passed ELSE $5 END
          WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Jsonb>, _>(capabilities)
    .bind::<Nullable<Jsonb>, _>(conformance.map(|c| c.0))
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<diesel::sql_types::Bool>, _>(conformance.map(|c| c.1))
    .execute(conn)
    .await
}

/// Moves a vendor's version (a change of the entry other than [`save`]).
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE vendors SET version = version + 1, updated_at = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a vendor deleted and releases its units.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM vendor_units WHERE vendor_id = $1").bind::<SqlUuid, _>(id).execute(conn).await?;
    diesel::sql_query("UPDATE vendors SET deleted_at = $2, updated_at = $2, version = version + 1 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// A unit booked through a vendor.
#[derive(Debug, Clone, PartialEq, QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorUnit {
    /// The registry's unit id.
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    /// Its facility.
    #[diesel(sql_type = SqlUuid)]
    pub facility_id: Uuid,
    /// The vendor.
    #[diesel(sql_type = SqlUuid)]
    pub vendor_id: Uuid,
    /// The vendor's own reference.
    #[diesel(sql_type = Text)]
    pub external_ref: String,
}

/// Sets (or clears) the vendor of a unit.
pub async fn set_unit(conn: &mut AsyncPgConnection, unit_id: Uuid, vendor: Option<(Uuid, &str)>) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM vendor_units WHERE unit_id = $1").bind::<SqlUuid, _>(unit_id).execute(conn).await?;
    if let Some((vendor_id, external_ref)) = vendor {
        diesel::sql_query("INSERT INTO vendor_units (unit_id, vendor_id, external_ref) VALUES ($1, $2, $3)")
            .bind::<SqlUuid, _>(unit_id)
            .bind::<SqlUuid, _>(vendor_id)
            .bind::<Text, _>(external_ref)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Whether a vendor already uses `external_ref` for another unit.
pub async fn ref_taken(conn: &mut AsyncPgConnection, vendor_id: Uuid, external_ref: &str, unit_id: Uuid) -> diesel::QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let r: Taken = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM vendor_units WHERE vendor_id = $1 AND external_ref = $2 AND unit_id <> $3) AS taken",
    )
    .bind::<SqlUuid, _>(vendor_id)
    .bind::<Text, _>(external_ref)
    .bind::<SqlUuid, _>(unit_id)
    .get_result(conn)
    .await?;
    Ok(r.taken)
}

/// The vendor units of some facilities (live vendors only), by facility and unit.
pub async fn units_of(conn: &mut AsyncPgConnection, facility_ids: &[Uuid]) -> diesel::QueryResult<Vec<VendorUnit>> {
    diesel::sql_query(
        "SELECT vu.unit_id, u.facility_id, vu.vendor_id, vu.external_ref
           FROM vendor_units vu JOIN facility_units u ON u.id = vu.unit_id JOIN vendors v ON v.id = vu.vendor_id
          WHERE u.facility_id = ANY($1) AND v.deleted_at IS NULL
          ORDER BY u.facility_id, u.position",
    )
    .bind::<Array<SqlUuid>, _>(facility_ids)
    .load(conn)
    .await
}

/// A unit a vendor books, as the vendor sees it: the registry's ids and names with its own reference.
#[derive(Debug, Clone, PartialEq, QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookedUnit {
    /// The facility.
    #[diesel(sql_type = SqlUuid)]
    pub facility_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub facility_name: String,
    /// Its municipality.
    #[diesel(sql_type = Text)]
    pub municipality_code: String,
    /// The unit.
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    /// The vendor's own reference for it.
    #[diesel(sql_type = Text)]
    pub external_ref: String,
}

/// The units a vendor books, by municipality, facility name and unit position.
pub async fn units_of_vendor(conn: &mut AsyncPgConnection, vendor_id: Uuid) -> diesel::QueryResult<Vec<BookedUnit>> {
    diesel::sql_query(
        "SELECT f.id AS facility_id, f.name AS facility_name, f.municipality_code, u.id AS unit_id, u.name AS unit_name, vu.external_ref
           FROM vendor_units vu JOIN facility_units u ON u.id = vu.unit_id JOIN facilities f ON f.id = u.facility_id
          WHERE vu.vendor_id = $1 AND f.deleted_at IS NULL
          ORDER BY f.municipality_code, f.name, f.id, u.position",
    )
    .bind::<SqlUuid, _>(vendor_id)
    .load(conn)
    .await
}
