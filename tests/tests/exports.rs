//! Bulk exports over REST against a real server and database: each format parsed back and
//! compared with what the registry holds, field sets by role, personal data and its audit,
//! gzip, CSV trailers, and an export during writes that outgrows its buffers (the
//! million-row export is `make bench-export`).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::{DateTime, Utc};
use registry_core::auth::Principal;
use registry_core::export::ExportSummary;
use registry_core::model::{Association, Decision, Facility, Unit};
use tests::{TestApp, fixtures, with_key};

struct World {
    app: TestApp,
    facilities: Vec<Facility>,
    /// Full views (with member statistics and contact persons).
    associations: Vec<Association>,
    /// A time after the first half of the writes.
    midway: DateTime<Utc>,
}

const MUNICIPALITIES: [&str; 4] = ["0180", "0114", "1480", "1880"];

async fn world() -> World {
    let app = TestApp::start().await;
    let reg = &app.registry;
    let admin = Principal::operator("setup").with_personal_data();
    let mut facilities = Vec::new();
    let mut associations = Vec::new();
    let mut midway = Utc::now();
    for (i, m) in MUNICIPALITIES.iter().enumerate() {
        if i == 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            midway = Utc::now();
        }
        let mut f = fixtures::facility(m, &format!("Hall {m}, \"north\""));
        f.description = "Two floors,\nwith a café; \"quiet\" hours".into();
        if *m == "1480" {
            f.location = None;
            f.category = "swimming_pool".into();
            f.activities = vec!["swimming".into()];
        }
        if *m == "1880" {
            f.location = Some(registry_core::geo::LatLon { lat: 59.2741, lon: 15.2066 });
        }
        facilities.push(reg.create_facility(&admin, &f).await.unwrap());
        let gone = reg.create_facility(&admin, &fixtures::facility(m, "Demolished hall")).await.unwrap();
        reg.delete_facility(&admin, gone.id, None).await.unwrap();
        for n in 0..3u32 {
            let mut a = fixtures::association(m, i as u32 * 10 + n);
            a.name = format!("Förening {m}-{n}, \"IK\"");
            if n == 2 {
                a.activities = vec!["floorball".into()];
            }
            let created = reg.create_association(&admin, &a).await.unwrap();
            let current =
                if n == 1 { created } else { reg.decide_registration(&admin, created.id, None, None, &Decision::Approve).await.unwrap() };
            associations.push(current);
        }
        let gone = reg.create_association(&admin, &fixtures::association(m, 900 + i as u32)).await.unwrap();
        reg.delete_association(&admin, gone.id, None).await.unwrap();
    }
    World { app, facilities, associations, midway }
}

async fn get(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app.http().get(app.url(path));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    req.send().await.unwrap()
}

async fn body(app: &TestApp, path: &str, key: Option<&str>) -> String {
    let r = get(app, path, key).await;
    assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    r.text().await.unwrap()
}

fn ndjson<T: serde::de::DeserializeOwned>(text: &str) -> (Vec<T>, ExportSummary) {
    let mut lines: Vec<&str> = text.lines().collect();
    let last: serde_json::Value = serde_json::from_str(lines.pop().expect("a summary line")).unwrap();
    let summary: ExportSummary = serde_json::from_value(last["exportSummary"].clone()).expect("the last line is the summary");
    let rows: Vec<T> = lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(summary.row_count as usize, rows.len(), "the summary counts the rows");
    (rows, summary)
}

/// RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks; records end in CRLF.
fn csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR only before LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a record ends in LF without CR"),
            (false, c) => field.push(c),
        }
    }
    assert!(record.is_empty() && field.is_empty() && !quoted, "the last record ends in CRLF");
    records
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// An enumeration's proto3 JSON name, e.g. `REGISTRATION_STATUS_APPROVED`.
fn json_name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn by_id<T>(mut v: Vec<T>, id: impl Fn(&T) -> uuid::Uuid) -> Vec<T> {
    v.sort_by_key(|x| id(x));
    v
}

fn approved(a: &Association) -> bool {
    a.registration.status == registry_core::model::RegistrationStatus::Approved
}

/// What an export should hold: the full views that pass `keep`, with the field set applied.
fn expected(w: &World, keep: impl Fn(&Association) -> bool, statistics: bool, personal: bool) -> Vec<Association> {
    let rows = w
        .associations
        .iter()
        .filter(|a| keep(a))
        .cloned()
        .map(|mut a| {
            if !statistics {
                a.member_statistics = None;
                a.member_statistics_by_year = None;
            }
            if !personal {
                a.contact_persons = None;
                if let Some(p) = &mut a.postal_address {
                    p.care_of = None;
                }
            }
            a
        })
        .collect();
    by_id(rows, |a| a.id)
}

fn association_csv_row(a: &Association) -> Vec<String> {
    let mut row = vec![
        a.id.to_string(),
        a.org_number.clone(),
        a.name.clone(),
        a.municipality_code.clone(),
        a.municipality_code[..2].to_string(),
        a.activities.join(";"),
        opt(&a.contact.email),
        opt(&a.contact.phone),
        opt(&a.contact.website),
        json_name(a.registration.status),
        a.registration.decided_at.map(ts).unwrap_or_default(),
        a.version.to_string(),
        ts(a.created_at),
        ts(a.updated_at),
        {
            let mut codes: Vec<&str> = a
                .registrations
                .iter()
                .filter(|r| r.status != registry_core::model::RegistrationStatus::Withdrawn)
                .map(|r| r.municipality_code.as_str())
                .collect();
            codes.sort();
            codes.join(";")
        },
        opt(&a.association_type),
        a.federations.join(";"),
        a.founded_year.map(|y| y.to_string()).unwrap_or_default(),
        serde_json::to_value(a.status).unwrap().as_str().unwrap().to_string(),
    ];
    let address = a.postal_address.clone();
    row.push(address.as_ref().map(|p| p.street.clone()).unwrap_or_default());
    row.push(address.as_ref().map(|p| p.postal_code.clone()).unwrap_or_default());
    row.push(address.as_ref().map(|p| p.city.clone()).unwrap_or_default());
    if let Some(s) = &a.member_statistics {
        row.push(s.year.to_string());
        row.push(s.counts.iter().map(|c| u64::from(c.count)).sum::<u64>().to_string());
        row.push(serde_json::to_string(s).unwrap());
        row.push(serde_json::to_string(a.member_statistics_by_year.as_ref().unwrap()).unwrap());
    }
    if let Some(p) = &a.contact_persons {
        row.push(serde_json::to_string(p).unwrap());
        row.push(address.as_ref().and_then(|p| p.care_of.clone()).unwrap_or_default());
    }
    row
}

/// Compares a CSV export with the expected rows; JSON columns are compared as values.
fn assert_association_csv(text: &str, want: &[Association], header: &[&str]) {
    let records = csv(text);
    assert_eq!(records[0], header, "the header row");
    assert_eq!(records.len() - 1, want.len());
    let json_columns: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| ["memberStatistics", "memberStatisticsByYear", "contactPersons"].contains(h))
        .map(|(i, _)| i)
        .collect();
    let mut got = records[1..].to_vec();
    got.sort_by(|a, b| a[0].cmp(&b[0]));
    for (g, a) in got.iter().zip(want) {
        let w = association_csv_row(a);
        for (i, (gv, wv)) in g.iter().zip(&w).enumerate() {
            if json_columns.contains(&i) {
                let (gv, wv): (serde_json::Value, serde_json::Value) =
                    (serde_json::from_str(gv).unwrap(), serde_json::from_str(wv).unwrap());
                assert_eq!(gv, wv, "{} of {}", header[i], a.id);
            } else {
                assert_eq!(gv, wv, "{} of {}", header[i], a.id);
            }
        }
        assert_eq!(g.len(), w.len());
    }
}

use registry_core::export::sql::{
    ASSOCIATION_CSV_COLUMNS as PUBLIC_COLUMNS, ASSOCIATION_CSV_PERSONAL_COLUMNS, ASSOCIATION_CSV_STATISTICS_COLUMNS,
};

#[tokio::test]
async fn association_exports_equal_the_registry_for_each_format_filter_and_role() {
    let w = world().await;
    let keys = w.app.keys().await;
    let since = w.midway.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let in_county_01 = |a: &Association| a.municipality_code.starts_with("01");
    type Keep = Box<dyn Fn(&Association) -> bool>;
    let cases: Vec<(String, Option<&str>, Keep, bool)> = vec![
        ("".into(), None, Box::new(approved), false),
        (
            "municipalities=0180,1480".into(),
            None,
            Box::new(|a| approved(a) && ["0180", "1480"].contains(&a.municipality_code.as_str())),
            false,
        ),
        ("counties=01".into(), None, Box::new(move |a| approved(a) && in_county_01(a)), false),
        ("activities=floorball,handball".into(), None, Box::new(|a| approved(a) && a.activities == ["floorball"]), false),
        (format!("updatedSince={since}"), None, Box::new(move |a| approved(a) && a.updated_at >= w.midway), false),
        ("registrationStatus=REGISTRATION_STATUS_PENDING".into(), Some(keys.national_body.as_str()), Box::new(|a| !approved(a)), true),
        (
            "registrationStatus=pending,approved&counties=14".into(),
            Some(keys.national_body.as_str()),
            Box::new(|a| a.municipality_code == "1480"),
            true,
        ),
        ("municipalities=0180".into(), Some(keys.editor_0180.as_str()), Box::new(|a| approved(a) && a.municipality_code == "0180"), true),
        ("".into(), Some(keys.vendor.as_str()), Box::new(approved), false),
    ];
    for (filter, key, keep, statistics) in &cases {
        let want = expected(&w, keep, *statistics, false);
        assert!(!want.is_empty(), "{filter}: the case selects something");
        let text = body(&w.app, &format!("/v1/exports/associations?{filter}"), *key).await;
        let (rows, summary) = ndjson::<Association>(&text);
        assert_eq!(by_id(rows, |a| a.id), want, "NDJSON, {filter}");
        assert!(summary.change_log_position > 0);
        let text = body(&w.app, &format!("/v1/exports/associations?format=csv&{filter}"), *key).await;
        let mut header = PUBLIC_COLUMNS.to_vec();
        if *statistics {
            header.extend(ASSOCIATION_CSV_STATISTICS_COLUMNS);
        }
        assert_association_csv(&text, &want, &header);
    }
    // Accept chooses the format when format= is absent; what cannot be served is 406.
    let r = w.app.http().get(w.app.url("/v1/exports/associations")).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8; header=present");
    let r = w.app.http().get(w.app.url("/v1/exports/associations")).header("accept", "application/pdf").send().await.unwrap();
    assert_eq!(r.status(), 406);
}

fn facility_csv_check(text: &str, want: &[Facility]) {
    let records = csv(text);
    assert_eq!(records[0], registry_core::export::sql::FACILITY_CSV_COLUMNS);
    let mut got = records[1..].to_vec();
    got.sort_by(|a, b| a[0].cmp(&b[0]));
    assert_eq!(got.len(), want.len());
    for (g, f) in got.iter().zip(want) {
        let coord = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let expect = vec![
            f.id.to_string(),
            f.municipality_code.clone(),
            f.municipality_code[..2].to_string(),
            f.name.clone(),
            f.description.clone(),
            f.category.clone(),
            f.activities.join(";"),
            coord(f.location.map(|l| l.lat)),
            coord(f.location.map(|l| l.lon)),
            json_name(f.location_provenance.source),
            f.address.street.clone(),
            f.address.postal_code.clone(),
            f.address.locality.clone(),
            json_name(f.ownership),
            f.accessibility.iter().map(|a| json_name(*a)).collect::<Vec<_>>().join(";"),
            opt(&f.contact.email),
            opt(&f.contact.phone),
            opt(&f.contact.website),
            "units".into(),
            f.booking_vendor.as_ref().map(|v| v.vendor_id.clone()).unwrap_or_default(),
            f.booking_vendor.as_ref().map(|v| v.external_ref.clone()).unwrap_or_default(),
            f.version.to_string(),
            ts(f.created_at),
            ts(f.updated_at),
        ];
        for (i, (gv, wv)) in g.iter().zip(&expect).enumerate() {
            if wv == "units" {
                let units: Vec<Unit> = serde_json::from_str(gv).unwrap();
                assert_eq!(units, f.units, "units of {}", f.id);
            } else {
                assert_eq!(gv, wv, "column {} of {}", registry_core::export::sql::FACILITY_CSV_COLUMNS[i], f.id);
            }
        }
        assert_eq!(g.len(), expect.len());
    }
}

#[tokio::test]
async fn facility_exports_equal_the_registry_in_ndjson_csv_and_geojson() {
    let w = world().await;
    let since = w.midway.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    type Keep = Box<dyn Fn(&Facility) -> bool>;
    let cases: Vec<(String, Keep)> = vec![
        ("".into(), Box::new(|_| true)),
        ("municipalities=1880".into(), Box::new(|f| f.municipality_code == "1880")),
        ("counties=01,14".into(), Box::new(|f| f.municipality_code != "1880")),
        ("categories=swimming_pool".into(), Box::new(|f| f.category == "swimming_pool")),
        ("activities=swimming".into(), Box::new(|f| f.activities.contains(&"swimming".to_string()))),
        (format!("updatedSince={since}"), Box::new(move |f| f.updated_at >= w.midway)),
    ];
    for (filter, keep) in &cases {
        let want = by_id(w.facilities.iter().filter(|f| keep(f)).cloned().collect(), |f| f.id);
        assert!(!want.is_empty(), "{filter}: the case selects something");
        let (rows, _) = ndjson::<Facility>(&body(&w.app, &format!("/v1/exports/facilities?{filter}"), None).await);
        assert_eq!(by_id(rows, |f| f.id), want, "NDJSON, {filter}");
        facility_csv_check(&body(&w.app, &format!("/v1/exports/facilities?format=csv&{filter}"), None).await, &want);
        let r = w
            .app
            .http()
            .get(w.app.url(&format!("/v1/exports/facilities?{filter}")))
            .header("accept", "application/geo+json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/geo+json");
        let position: i64 = r.headers()["change-log-position"].to_str().unwrap().parse().unwrap();
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["type"], "FeatureCollection");
        assert_eq!(doc["changeLogPosition"], position);
        let features = doc["features"].as_array().unwrap();
        assert_eq!(doc["numberReturned"], features.len());
        let mut got: Vec<Facility> = Vec::new();
        for feature in features {
            let f: Facility = serde_json::from_value(feature["properties"].clone()).unwrap();
            assert_eq!(feature["id"], f.id.to_string());
            match f.location {
                Some(l) => {
                    assert_eq!(feature["geometry"], serde_json::json!({"type": "Point", "coordinates": [l.lon, l.lat]}), "[lon, lat]")
                }
                None => assert!(feature["geometry"].is_null()),
            }
            got.push(f);
        }
        assert_eq!(by_id(got, |f| f.id), want, "GeoJSON, {filter}");
    }
}

#[tokio::test]
async fn personal_data_only_with_the_scope_and_every_such_export_is_audited() {
    let w = world().await;
    let app = &w.app;
    let keys = app.keys().await;
    let body_pd = app.key("national_body", None, true).await;
    let path = "/v1/exports/associations?includePersonalData=true";
    assert_eq!(get(app, path, None).await.status(), 401);
    assert_eq!(get(app, path, Some(&keys.national_body)).await.status(), 403, "no scope");
    assert_eq!(get(app, path, Some(&keys.vendor)).await.status(), 403);
    assert_eq!(get(app, path, Some(&keys.editor_0180_pd)).await.status(), 403, "the whole country is not the editor's");
    let r = get(app, "/v1/exports/facilities?includePersonalData=true", Some(&body_pd)).await;
    assert_eq!(r.status(), 400, "facilities hold no personal data");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'export_personal_data'").await, 0);

    // The scope alone does not add contact persons: they must be asked for.
    let (rows, _) = ndjson::<Association>(&body(app, "/v1/exports/associations", Some(&body_pd)).await);
    assert!(rows.iter().all(|a| a.contact_persons.is_none() && a.member_statistics.is_some()));
    let text = body(app, "/v1/exports/associations?format=csv", Some(&body_pd)).await;
    assert!(!text.contains("Karin"), "no contact person's name without includePersonalData");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'export_personal_data'").await, 0);

    let (rows, summary) = ndjson::<Association>(&body(app, &format!("{path}&counties=01"), Some(&body_pd)).await);
    assert_eq!(by_id(rows, |a| a.id), expected(&w, |a| approved(a) && a.municipality_code.starts_with("01"), true, true));
    let text =
        body(app, "/v1/exports/associations?format=csv&includePersonalData=true&municipalities=0180", Some(&keys.editor_0180_pd)).await;
    let mut header = PUBLIC_COLUMNS.to_vec();
    header.extend(ASSOCIATION_CSV_STATISTICS_COLUMNS);
    header.extend(ASSOCIATION_CSV_PERSONAL_COLUMNS);
    assert_association_csv(&text, &expected(&w, |a| approved(a) && a.municipality_code == "0180", true, true), &header);

    // Both exports are on record: who, what, the filter, the row count, complete. The amendment
    // with the row count is written after the body ends, so wait for it.
    let mut rows = Vec::new();
    for _ in 0..100 {
        let mut conn = app.db.conn().await;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Audit {
            #[diesel(sql_type = diesel::sql_types::Text)]
            actor: String,
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            detail: serde_json::Value,
        }
        rows = diesel::sql_query("SELECT actor, detail FROM audit_log WHERE action = 'export_personal_data' ORDER BY id")
            .load::<Audit>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.actor, a.detail))
            .collect();
        if rows.len() == 2 && rows.iter().all(|(_, d)| d["complete"] == true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (actor, detail) = &rows[0];
    assert!(actor.starts_with("key:"), "{actor}");
    assert_eq!(detail["kind"], "associations");
    assert_eq!(detail["format"], "ndjson");
    assert_eq!(detail["filter"], serde_json::json!({"counties": ["01"]}));
    assert_eq!(detail["fields"], serde_json::json!(["public", "memberStatistics", "contactPersons"]));
    assert_eq!(detail["rowCount"], summary.row_count);
    assert_eq!(detail["changeLogPosition"], summary.change_log_position);
    assert_eq!(detail["complete"], true);
    assert_eq!(rows[1].1["filter"], serde_json::json!({"municipalities": ["0180"]}));
    assert_ne!(rows[0].0, rows[1].0, "each export names its own caller");
}

#[tokio::test]
async fn exports_are_gzipped_on_request_and_csv_carries_its_summary_in_trailers() {
    let w = world().await;
    let app = &w.app;
    let plain = body(app, "/v1/exports/facilities", None).await;
    let r = app.http().get(app.url("/v1/exports/facilities")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let compressed = r.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_string(&mut text).unwrap();
    let strip = |s: &str| s.lines().filter(|l| !l.contains("exportSummary")).map(String::from).collect::<Vec<_>>();
    assert_eq!(strip(&text), strip(&plain), "the same rows");
    assert!(compressed.len() < plain.len());

    // Raw HTTP/1.1 with TE: trailers, to see the chunked body's trailers.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.server.addr).await.unwrap();
    s.write_all(b"GET /v1/exports/facilities?format=csv HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(head.contains("trailer: row-count, change-log-position"), "{head}");
    let position = head.lines().find_map(|l| l.strip_prefix("change-log-position: ")).unwrap().to_string();
    let tail = raw.rsplit("\r\n0\r\n").next().unwrap().to_ascii_lowercase();
    assert!(tail.contains(&format!("row-count: {}", w.facilities.len())), "{tail}");
    assert!(tail.contains(&format!("change-log-position: {position}")), "{tail}");
}

#[tokio::test]
async fn bad_export_requests_name_the_field_and_the_rule() {
    let app = TestApp::start().await;
    for (path, field, rule) in [
        ("/v1/exports/associations?municipalities=1880,9999", "municipalities[1]", "unknown_code"),
        ("/v1/exports/associations?counties=00", "counties[0]", "unknown_code"),
        ("/v1/exports/facilities?categories=castle", "categories[0]", "unknown_code"),
        ("/v1/exports/associations?activities=chess,chess", "activities[1]", "duplicate"),
        ("/v1/exports/associations?activities=juggling", "activities[0]", "unknown_code"),
        ("/v1/exports/associations?registrationStatus=maybe", "registrationStatus[0]", "unknown_code"),
        ("/v1/exports/associations?format=geojson", "format", "not_applicable"),
        ("/v1/exports/associations?format=xml", "format", "unknown_enum_value"),
        ("/v1/exports/facilities?updatedSince=yesterday", "updatedSince", "format"),
        ("/v1/exports/facilities?registrationStatus=approved", "registrationStatus", "not_applicable"),
    ] {
        let r = get(&app, path, None).await;
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{path}: {p}");
        assert_eq!(p["errors"][0]["rule"], rule, "{path}: {p}");
    }
    assert_eq!(get(&app, "/v1/exports/boats", None).await.status(), 404);
    assert_eq!(get(&app, "/v1/exports/associations?bogus=1", None).await.status(), 400);
    let r = get(&app, "/v1/exports/associations?registrationStatus=pending", None).await;
    assert_eq!(r.status(), 401, "unapproved registrations need a key");
}

/// Associations generated for the export during writes. A national body's export of them (every
/// status, member statistics: about 50 MB in NDJSON or CSV) outgrows the buffers between
/// PostgreSQL and a client that stops reading (about 10 MB here), so its COPY is still running
/// while the test writes and when the client goes away, which the test checks. The
/// million-row export is `make bench-export`.
const ASSOCIATIONS: usize = 50_000;

/// Every registration status: the national body's export of all associations.
const ALL: &str = "registrationStatus=pending,approved,rejected,needs_completion";

/// The running COPY of an export in this test's database, as PostgreSQL sees it: its wait
/// event (`ClientWrite` when it waits for the client to read) and the rows it has sent.
async fn export_copy(app: &TestApp) -> Option<(Option<String>, i64)> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        wait_event: Option<String>,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tuples_processed: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.wait_event, p.tuples_processed FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = current_database() AND a.query LIKE 'COPY (SELECT%' AND a.pid <> pg_backend_pid()",
    )
    .load(&mut app.db.conn().await)
    .await
    .unwrap();
    assert!(rows.len() <= 1, "one export at a time here");
    rows.into_iter().next().map(|r| (r.wait_event, r.tuples_processed))
}

/// The export's connection, as the server sees it (also once its COPY is done).
async fn export_backends(app: &TestApp) -> i64 {
    app.db
        .count(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()",
        )
        .await
}

/// Sessions of this test's database that ended in a FATAL error, such as PostgreSQL's
/// "connection to client lost" when the other end of a COPY goes away.
async fn sessions_fatal(app: &TestApp) -> i64 {
    app.db.count("SELECT sessions_fatal AS n FROM pg_stat_database WHERE datname = current_database()").await
}

/// Waits until the export's COPY waits for its client, which has stopped reading: the rows it
/// has sent so far.
async fn stalled_on_its_client(app: &TestApp) -> i64 {
    let stalled = tests::eventually(async || match export_copy(app).await {
        Some((Some(wait), sent)) if wait == "ClientWrite" => Some(sent),
        _ => None,
    })
    .await;
    match stalled {
        Some(sent) => sent,
        None => panic!("the export's COPY never waited for its client: {:?}", export_copy(app).await),
    }
}

#[tokio::test]
async fn an_export_during_writes_is_its_snapshot_and_a_disconnect_ends_the_query() {
    let app = TestApp::start().await;
    registry_bench::generate::run(&registry_bench::generate::GenArgs {
        database_url: app.db.url.clone(),
        facilities: 10,
        associations: ASSOCIATIONS,
        seed: 7,
        replace: false,
    })
    .await
    .unwrap();
    let before: HashMap<uuid::Uuid, i64> = {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            version: i64,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT id, version FROM associations WHERE deleted_at IS NULL")
            .load(&mut app.db.conn().await)
            .await
            .unwrap();
        rows.into_iter().map(|r| (r.id, r.version)).collect()
    };
    assert_eq!(before.len(), ASSOCIATIONS);
    let national_body = app.key("national_body", None, false).await;

    let mut r = get(&app, &format!("/v1/exports/associations?{ALL}"), Some(&national_body)).await;
    assert_eq!(r.status(), 200);
    let mut text = Vec::new();
    text.extend_from_slice(&r.chunk().await.unwrap().unwrap());
    // The client reads no further until the writes are done, so the COPY stops mid-way.
    let sent = stalled_on_its_client(&app).await;
    assert!((sent as usize) < before.len(), "the COPY has sent {sent} of {} rows", before.len());
    // Writes while the export streams: updates and deletes of exported rows, and new rows.
    let admin = Principal::operator("writer");
    let ids: Vec<uuid::Uuid> = before.keys().copied().take(60).collect();
    let mut changed = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            app.registry.delete_association(&admin, *id, None).await.unwrap();
        } else {
            let a = app.registry.get_association(&admin, *id).await.unwrap();
            let mut input = a.to_input();
            input.name = format!("Renamed {i}");
            app.registry.update_association(&admin, *id, a.version, &input).await.unwrap();
        }
        changed.insert(*id);
    }
    for n in 0..20u32 {
        // The generator used every 802… number; these start with 803.
        let mut input = fixtures::association("1880", n);
        let body = format!("803{:06}", n);
        input.org_number = (0..10).map(|d| format!("{body}{d}")).find(|s| registry_core::orgnr::luhn_valid(s)).unwrap();
        let a = app.registry.create_association(&admin, &input).await.unwrap();
        app.registry.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
    }
    let (_, sent) = export_copy(&app).await.expect("the export's COPY still runs after the writes");
    assert!((sent as usize) < before.len(), "the writes were done while the COPY had sent {sent} of {} rows", before.len());
    while let Some(chunk) = r.chunk().await.unwrap() {
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(text).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let summary: serde_json::Value = serde_json::from_str(lines.pop().unwrap()).unwrap();
    assert_eq!(summary["exportSummary"]["rowCount"], lines.len());
    assert_eq!(lines.len(), before.len(), "exactly the rows of the snapshot");
    let mut seen = HashSet::with_capacity(lines.len());
    for line in &lines {
        let id: uuid::Uuid =
            line.strip_prefix("{\"id\":\"").and_then(|r| r.get(..36)).unwrap().parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        // The association's version comes last but for its timestamps (after memberStatistics).
        let version: i64 = line.rsplit("\"version\":").next().and_then(|r| r.split(',').next()).unwrap().parse().unwrap();
        assert_eq!(before.get(&id), Some(&version), "{id} as it was at the snapshot");
        assert!(!line.contains("Renamed"), "no write after the snapshot: {line}");
        assert!(seen.insert(id), "{id} once");
    }
    assert!(changed.iter().all(|id| seen.contains(id)), "rows deleted after the snapshot are still in it");

    // A client that goes away mid-export, while the COPY waits for it: the server's query ends,
    // cut off rather than left to run to its end into a closed response.
    let closed = tests::eventually(async || (export_backends(&app).await == 0).then_some(())).await;
    assert!(closed.is_some(), "the finished export's connection closes");
    let mut r = get(&app, &format!("/v1/exports/associations?format=csv&{ALL}"), Some(&national_body)).await;
    r.chunk().await.unwrap().unwrap();
    let sent = stalled_on_its_client(&app).await;
    let rows = before.len() - ids.len() / 3 + 20;
    assert!((sent as usize) < rows, "the COPY has sent {sent} of {rows} rows");
    let fatal = sessions_fatal(&app).await;
    drop(r);
    let mut polls = 0;
    while export_backends(&app).await > 0 {
        polls += 1;
        assert!(polls < 300, "the export's query still runs after its client went away: {:?}", export_copy(&app).await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A COPY left to run to its end would have ended its session normally.
    let cut = tests::eventually(async || (sessions_fatal(&app).await > fatal).then_some(())).await;
    assert!(cut.is_some(), "the export's session ended normally: its COPY ran to the end after the client went away");
}

#[tokio::test]
async fn grpc_exports_stream_the_same_rows_as_rest_and_end_with_the_summary() {
    use grpc_api::proto::v1 as pb;
    use grpc_api::proto::v1::export_service_client::ExportServiceClient;
    let w = world().await;
    let app = &w.app;
    let keys = app.keys().await;
    let mut client = ExportServiceClient::new(app.channel().await);
    for (format, path) in
        [(pb::ExportFormat::Ndjson, "/v1/exports/facilities"), (pb::ExportFormat::Csv, "/v1/exports/facilities?format=csv")]
    {
        let req = pb::ExportRequest { format: format as i32, counties: vec!["01".into()], ..Default::default() };
        let mut stream = client.export_facilities(req).await.unwrap().into_inner();
        let (mut data, mut summary) = (Vec::new(), None);
        while let Some(chunk) = stream.message().await.unwrap() {
            match chunk.part.unwrap() {
                pb::export_chunk::Part::Data(d) => {
                    assert!(summary.is_none(), "the summary comes last");
                    data.extend(d);
                }
                pb::export_chunk::Part::Summary(s) => summary = Some(s),
            }
        }
        let summary = summary.expect("a summary");
        assert_eq!(summary.row_count, 2);
        let rest = body(app, &format!("{path}{}counties=01", if path.contains('?') { "&" } else { "?" }), None).await;
        let rows = |t: &str| t.lines().filter(|l| !l.contains("exportSummary")).map(String::from).collect::<Vec<_>>();
        assert_eq!(rows(&String::from_utf8(data).unwrap()), rows(&rest), "{format:?}");
    }
    let req = pb::ExportRequest { include_personal_data: true, ..Default::default() };
    let err = client.export_associations(with_key(req, &keys.national_body)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let req = pb::ExportRequest { municipalities: vec!["9999".into()], ..Default::default() };
    let err = client.export_associations(req).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&err);
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "municipalities[0]");
}
