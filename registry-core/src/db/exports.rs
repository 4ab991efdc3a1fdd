//! The SQL of an export: one `COPY (SELECT …) TO STDOUT` per kind, format and field set, and
//! the snapshot it reads. (Reached as `export::sql` too, the name the benchmark and tests use.)
//!
//! PostgreSQL formats every row itself (JSON with `json_build_object`, CSV with `COPY … CSV`),
//! so a row costs the server one pass and the registry a copy into the socket. COPY takes no
//! bind parameters: every value inlined here has been checked against a code list or was
//! formatted by us, and is quoted with [`literal`] all the same.
//!
//! Enumerations are stored as short codes (`approved`) and written as their proto3 JSON names
//! (`REGISTRATION_STATUS_APPROVED`), in CSV as in JSON, as everywhere in the API: the name is
//! the code upper-cased behind the enumeration's prefix (see `text_enum!`).

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::export::{ExportFields, ExportFilter, ExportFormat, ExportKind, UnapprovedSeen};

/// The columns of a CSV export of associations, in their stable order. The optional groups
/// come last, each only with its field set.
pub const ASSOCIATION_CSV_COLUMNS: &[&str] = &[
    "id",
    "orgNumber",
    "name",
    "municipalityCode",
    "countyCode",
    "activities",
    "email",
    "phone",
    "website",
    "registrationStatus",
    "registrationDecidedAt",
    "version",
    "createdAt",
    "updatedAt",
    "registeredIn",
    "associationType",
    "federations",
    "foundedYear",
    "status",
    "postalStreet",
    "postalCode",
    "postalCity",
];
/// Columns added for callers that may read member statistics.
pub const ASSOCIATION_CSV_STATISTICS_COLUMNS: &[&str] =
    &["memberStatisticsYear", "membersTotal", "memberStatistics", "memberStatisticsByYear"];
/// Column added with the personal-data scope and `includePersonalData`.
pub const ASSOCIATION_CSV_PERSONAL_COLUMNS: &[&str] = &["contactPersons", "postalCareOf"];

/// The columns of a CSV export of facilities, in their stable order.
pub const FACILITY_CSV_COLUMNS: &[&str] = &[
    "id",
    "municipalityCode",
    "countyCode",
    "name",
    "description",
    "category",
    "activities",
    "lat",
    "lon",
    "locationSource",
    "street",
    "postalCode",
    "locality",
    "ownership",
    "accessibility",
    "email",
    "phone",
    "website",
    "units",
    "bookingVendorId",
    "bookingVendorRef",
    "version",
    "createdAt",
    "updatedAt",
];

/// A quoted SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn text_array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| literal(v)).collect();
    format!("ARRAY[{}]::text[]", items.join(","))
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-24T10:00:00.000000Z`.
fn timestamp(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
}

fn where_clause(alias: &str, filter: &ExportFilter, statuses: &[&str]) -> String {
    let mut clauses = vec![format!("{alias}.deleted_at IS NULL")];
    // An association belongs to every municipality it is registered in (not only its seat);
    // an export of approved associations only to those where it is approved.
    let municipality = match alias {
        "a" if statuses == ["approved"] => "a.approved_in",
        "a" => "a.registered_in",
        _ => "ARRAY[f.municipality_code]",
    };
    if !filter.municipalities.is_empty() {
        clauses.push(format!("{municipality} && {}", text_array(&filter.municipalities)));
    }
    if !filter.counties.is_empty() {
        clauses.push(format!("EXISTS (SELECT 1 FROM unnest({municipality}) m WHERE left(m, 2) = ANY({}))", text_array(&filter.counties)));
    }
    if !filter.activities.is_empty() {
        clauses.push(format!("{alias}.activities && {}", text_array(&filter.activities)));
    }
    if !filter.categories.is_empty() {
        clauses.push(format!("{alias}.category = ANY({})", text_array(&filter.categories)));
    }
    if !statuses.is_empty() {
        let s: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
        clauses.push(format!("{alias}.registration_status = ANY({})", text_array(&s)));
    }
    if let Some(since) = filter.updated_since {
        let at = since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        clauses.push(format!("{alias}.updated_at >= {}::timestamptz", literal(&at)));
    }
    clauses.join(" AND ")
}

/// The registrations of association `a` the export shows, as a JSON array in the shape of
/// `MunicipalRegistration`: the stored copies where the caller sees all or only approved ones
/// (every national export), built row by row only for an editor's own municipality.
fn registrations_json(fields: &ExportFields) -> String {
    match &fields.unapproved {
        UnapprovedSeen::All => "a.registrations_json".into(),
        UnapprovedSeen::None => "a.approved_registrations_json".into(),
        UnapprovedSeen::In(munis) => format!(
            "(SELECT coalesce(json_agg(e ORDER BY (e ->> 'submittedAt'), (e ->> 'municipalityCode')), '[]'::json) \
             FROM json_array_elements(a.registrations_json) e \
             WHERE e ->> 'status' = 'REGISTRATION_STATUS_APPROVED' OR e ->> 'municipalityCode' = ANY({}))",
            text_array(munis)
        ),
    }
}

/// The municipalities of the registrations the export shows (not withdrawn), `;`-separated (CSV).
fn registered_in_csv(fields: &ExportFields) -> String {
    match &fields.unapproved {
        UnapprovedSeen::All => "array_to_string(a.registered_in, ';')".into(),
        UnapprovedSeen::None => "array_to_string(a.approved_in, ';')".into(),
        UnapprovedSeen::In(munis) => format!(
            "array_to_string(ARRAY(SELECT m FROM unnest(a.registered_in) m WHERE m = ANY(a.approved_in) OR m = ANY({}) ORDER BY m), ';')",
            text_array(munis)
        ),
    }
}

/// The association as JSON, in the shape of the REST resource (and of `Association`).
fn association_json(fields: &ExportFields) -> String {
    let registrations = format!("'registrations', {}", registrations_json(fields));
    let mut members = vec![
        "'id', a.id",
        "'orgNumber', a.org_number",
        "'name', a.name",
        "'municipalityCode', a.municipality_code",
        "'activities', a.activities",
        "'contact', json_strip_nulls(json_build_object('email', a.email, 'phone', a.phone, 'website', a.website))",
        "'registration', json_strip_nulls(json_build_object('status', 'REGISTRATION_STATUS_' || upper(a.registration_status), \
         'message', a.registration_message, 'decidedAt', a.registration_decided_at))",
        "'version', a.version",
        "'createdAt', a.created_at",
        "'updatedAt', a.updated_at",
        if fields.contact_persons { "'postalAddress', a.postal_address" } else { "'postalAddress', a.postal_address - 'careOf'" },
        "'associationType', a.association_type",
        "'federations', a.federations",
        "'foundedYear', a.founded_year",
        "'status', 'ASSOCIATION_STATUS_' || upper(a.status)",
        &registrations,
    ];
    if fields.member_statistics {
        members.push("'memberStatistics', a.member_statistics");
        members.push("'memberStatisticsByYear', a.member_statistics_by_year");
    }
    if fields.contact_persons {
        members.push("'contactPersons', a.contact_persons");
    }
    format!("json_build_object({})", members.join(", "))
}

fn association_csv(fields: &ExportFields) -> String {
    let mut cols = vec![
        "a.id".to_string(),
        "a.org_number".into(),
        "a.name".into(),
        "a.municipality_code".into(),
        "left(a.municipality_code, 2)".into(),
        "array_to_string(a.activities, ';')".into(),
        "a.email".into(),
        "a.phone".into(),
        "a.website".into(),
        "'REGISTRATION_STATUS_' || upper(a.registration_status)".into(),
        timestamp("a.registration_decided_at"),
        "a.version".into(),
        timestamp("a.created_at"),
        timestamp("a.updated_at"),
        registered_in_csv(fields),
        "a.association_type".into(),
        "array_to_string(a.federations, ';')".into(),
        "a.founded_year".into(),
        "'ASSOCIATION_STATUS_' || upper(a.status)".into(),
        "a.postal_address ->> 'street'".into(),
        "a.postal_address ->> 'postalCode'".into(),
        "a.postal_address ->> 'city'".into(),
    ];
    if fields.member_statistics {
        cols.push("(a.member_statistics ->> 'year')::int".into());
        cols.push("a.members_total".into());
        cols.push("a.member_statistics_text".into());
        cols.push("a.member_statistics_by_year::text".into());
    }
    if fields.contact_persons {
        cols.push("a.contact_persons::text".into());
        cols.push("a.postal_address ->> 'careOf'".into());
    }
    let names = csv_columns(ExportKind::Associations, fields);
    cols.iter().zip(names).map(|(c, n)| format!("{c} AS \"{n}\"")).collect::<Vec<_>>().join(", ")
}

const UNITS_JSON: &str = "(SELECT coalesce(json_agg(json_strip_nulls(json_build_object('id', u.id, 'name', u.name, \
     'category', u.category, 'capacity', u.capacity, 'areaM2', u.area_m2, 'bookable', u.bookable)) ORDER BY u.position), '[]') \
     FROM facility_units u WHERE u.facility_id = f.id)";

/// The members of the facility as JSON, in the shape of the REST resource (and of `Facility`).
fn facility_members() -> Vec<&'static str> {
    vec![
        "'id', f.id",
        "'municipalityCode', f.municipality_code",
        "'name', f.name",
        "'description', f.description",
        "'category', f.category",
        "'activities', f.activities",
        "'location', CASE WHEN f.location IS NULL THEN NULL ELSE \
         json_build_object('lat', ST_Y(f.location::geometry), 'lon', ST_X(f.location::geometry)) END",
        "'locationProvenance', json_strip_nulls(json_build_object('source', 'LOCATION_SOURCE_' || upper(f.location_source), 'locked', f.location_locked, \
         'sourceFeatureId', f.location_feature_id, 'matchQuality', 'MATCH_QUALITY_' || upper(f.location_match), 'syncedAt', f.location_synced_at, \
         'distanceMovedM', f.location_moved_m))",
        "'address', json_build_object('street', f.street, 'postalCode', f.postal_code, 'locality', f.locality)",
        "'ownership', 'OWNERSHIP_' || upper(f.ownership)",
        "'accessibility', array(SELECT 'ACCESSIBILITY_' || upper(x) FROM unnest(f.accessibility) WITH ORDINALITY u (x, n) ORDER BY n)",
        "'contact', json_strip_nulls(json_build_object('email', f.email, 'phone', f.phone, 'website', f.website))",
        "'bookingVendor', CASE WHEN f.booking_vendor_id IS NULL THEN NULL ELSE \
         json_build_object('vendorId', f.booking_vendor_id, 'externalRef', f.booking_vendor_ref) END",
        "'version', f.version",
        "'createdAt', f.created_at",
        "'updatedAt', f.updated_at",
    ]
}

fn facility_json() -> String {
    let mut members: Vec<String> = facility_members().into_iter().map(String::from).collect();
    members.push(format!("'units', {UNITS_JSON}"));
    format!("json_build_object({})", members.join(", "))
}

/// A GeoJSON Feature (RFC 7946: `[lon, lat]`) whose properties are the facility resource.
fn facility_feature() -> String {
    format!(
        "json_build_object('type', 'Feature', 'id', f.id, 'geometry', CASE WHEN f.location IS NULL THEN NULL ELSE \
         json_build_object('type', 'Point', 'coordinates', json_build_array(ST_X(f.location::geometry), ST_Y(f.location::geometry))) END, \
         'properties', {})",
        facility_json()
    )
}

fn facility_csv() -> String {
    let cols = [
        "f.id".to_string(),
        "f.municipality_code".into(),
        "left(f.municipality_code, 2)".into(),
        "f.name".into(),
        "f.description".into(),
        "f.category".into(),
        "array_to_string(f.activities, ';')".into(),
        "ST_Y(f.location::geometry)".into(),
        "ST_X(f.location::geometry)".into(),
        "'LOCATION_SOURCE_' || upper(f.location_source)".into(),
        "f.street".into(),
        "f.postal_code".into(),
        "f.locality".into(),
        "'OWNERSHIP_' || upper(f.ownership)".into(),
        "array_to_string(array(SELECT 'ACCESSIBILITY_' || upper(x) FROM unnest(f.accessibility) WITH ORDINALITY u (x, n) ORDER BY n), ';')"
            .into(),
        "f.email".into(),
        "f.phone".into(),
        "f.website".into(),
        format!("{UNITS_JSON}::text"),
        "f.booking_vendor_id".into(),
        "f.booking_vendor_ref".into(),
        "f.version".into(),
        timestamp("f.created_at"),
        timestamp("f.updated_at"),
    ];
    cols.iter().zip(FACILITY_CSV_COLUMNS).map(|(c, n)| format!("{c} AS \"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// The CSV header of an export: the column names in order.
pub fn csv_columns(kind: ExportKind, fields: &ExportFields) -> Vec<&'static str> {
    match kind {
        ExportKind::Facilities => FACILITY_CSV_COLUMNS.to_vec(),
        ExportKind::Associations => {
            let mut c = ASSOCIATION_CSV_COLUMNS.to_vec();
            if fields.member_statistics {
                c.extend_from_slice(ASSOCIATION_CSV_STATISTICS_COLUMNS);
            }
            if fields.contact_persons {
                c.extend_from_slice(ASSOCIATION_CSV_PERSONAL_COLUMNS);
            }
            c
        }
    }
}

/// The `COPY … TO STDOUT` statement of an export.
///
/// Associations in NDJSON come in `FORMAT binary` and the registry writes their JSON. Other
/// JSON rows go through `FORMAT csv` with a delimiter and quote character that JSON text never
/// contains (PostgreSQL escapes every control character in JSON), so each row arrives exactly
/// as PostgreSQL wrote it: `FORMAT text` would double every backslash of a JSON escape.
pub fn copy_statement(kind: ExportKind, format: ExportFormat, fields: &ExportFields, filter: &ExportFilter) -> String {
    let (select, from) = match (kind, format) {
        (ExportKind::Associations, ExportFormat::Csv) => (association_csv(fields), "associations a"),
        (ExportKind::Associations, ExportFormat::Ndjson) => (association_binary(fields), "associations a"),
        (ExportKind::Associations, _) => (format!("{}::text", association_json(fields)), "associations a"),
        (ExportKind::Facilities, ExportFormat::Csv) => (facility_csv(), "facilities f"),
        (ExportKind::Facilities, ExportFormat::GeoJson) => (format!("{}::text", facility_feature()), "facilities f"),
        (ExportKind::Facilities, ExportFormat::Ndjson) => (format!("{}::text", facility_json()), "facilities f"),
    };
    let alias = &from[from.len() - 1..];
    let statuses: Vec<&str> = match kind {
        ExportKind::Associations => fields.statuses.iter().map(|s| s.as_str()).collect(),
        ExportKind::Facilities => vec![],
    };
    let query = format!("SELECT {select} FROM {from} WHERE {} ORDER BY {alias}.id", where_clause(alias, filter, &statuses));
    let options = match (kind, format) {
        (_, ExportFormat::Csv) => "FORMAT csv, HEADER true",
        (ExportKind::Associations, ExportFormat::Ndjson) => "FORMAT binary",
        _ => "FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e'",
    };
    format!("COPY ({query}) TO STDOUT WITH ({options})")
}

/// The columns of an NDJSON export of associations, in `FORMAT binary`: the export's decoder
/// (`export/binary.rs`) reads them in exactly this order and writes the JSON itself.
const BINARY_COLUMNS: &str = "a.id, a.org_number, a.name, a.municipality_code, a.activities, a.email, a.phone, a.website, \
     a.registration_status, a.registration_message, a.registration_decided_at, a.version, a.created_at, a.updated_at";

/// The columns of an NDJSON export of associations, which the registry turns into JSON.
fn association_binary(fields: &ExportFields) -> String {
    // "c/o" is personal data: only with the contact persons.
    let address = if fields.contact_persons { "a.postal_address" } else { "a.postal_address - 'careOf'" };
    let mut cols =
        format!("{BINARY_COLUMNS}, {address}, a.association_type, a.federations, a.founded_year, a.status, {}", registrations_json(fields));
    if fields.member_statistics {
        cols.push_str(", a.member_statistics_text, a.member_statistics_by_year");
    }
    if fields.contact_persons {
        cols.push_str(", a.contact_persons");
    }
    cols
}

/// The benchmark's baseline for an export: psql's COPY of the same rows. For NDJSON of
/// associations, which PostgreSQL sends in its binary format, that is the same columns as CSV.
pub fn baseline_statement(kind: ExportKind, format: ExportFormat, fields: &ExportFields, filter: &ExportFilter) -> String {
    let statement = copy_statement(kind, format, fields, filter);
    statement.replace("WITH (FORMAT binary)", "WITH (FORMAT csv)")
}

/// Starts the export's read-only repeatable-read transaction on `client` (a connection of the
/// export's own) and fixes its snapshot; returns the snapshot's change-log position and time.
/// The COPY that follows on the same connection reads the same snapshot.
pub async fn begin_snapshot(client: &tokio_postgres::Client) -> Result<(i64, DateTime<Utc>)> {
    client
        .batch_execute(
            "SET TIME ZONE 'UTC'; SET jit = off; SET max_parallel_workers_per_gather = 0; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )
        .await?;
    // The first query fixes the snapshot; the COPY reads the same one.
    let row = client.query_one("SELECT coalesce(max(seq), 0)::bigint, now() FROM change_log", &[]).await?;
    Ok((row.get(0), row.get(1)))
}

/// Starts the COPY of an export on the snapshot [`begin_snapshot`] took.
pub async fn copy_out(
    client: &tokio_postgres::Client,
    kind: ExportKind,
    format: ExportFormat,
    fields: &ExportFields,
    filter: &ExportFilter,
) -> Result<tokio_postgres::CopyOutStream> {
    Ok(client.copy_out(copy_statement(kind, format, fields, filter).as_str()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted() {
        assert_eq!(literal("o'neil"), "'o''neil'");
        assert_eq!(text_array(&["a".into(), "b'".into()]), "ARRAY['a','b''']::text[]");
    }

    #[test]
    fn csv_columns_match_the_selected_expressions() {
        let all = ExportFields { member_statistics: true, contact_persons: true, ..Default::default() };
        for fields in [ExportFields::default(), all] {
            let select = association_csv(&fields);
            assert_eq!(select.matches(" AS \"").count(), csv_columns(ExportKind::Associations, &fields).len());
        }
        assert_eq!(facility_csv().matches(" AS \"").count(), FACILITY_CSV_COLUMNS.len());
    }
}
