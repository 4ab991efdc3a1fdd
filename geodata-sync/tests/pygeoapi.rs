//! geodata-sync end to end against a real OGC API - Features server: pygeoapi (PyPI, in the
//! test virtualenv) serving generated fixtures on 127.0.0.1, in SWEREF 99 TM. The binary runs
//! against a real registry database: boundaries, the sync (fills, moves, locks, not found,
//! ambiguous, the border rule, paging across many pages), a second run, the checks, and a
//! run killed with SIGKILL in the middle and resumed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::{FacilityInput, LocationSource, MatchQuality};
use serde_json::{Value, json};
use tests::{TestDb, fixtures};

const BIN: &str = env!("CARGO_BIN_EXE_geodata-sync");

/// pygeoapi serving GeoJSON files, stopped on drop.
struct Pygeoapi {
    child: Child,
    base: String,
}

impl Pygeoapi {
    fn start(collections: &[(&str, &Path, &str)]) -> Pygeoapi {
        let python = tests::venv_bin("python");
        assert!(python.exists(), "{} is missing: run scripts/python-tools.sh (make test does)", python.display());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/pygeoapi_serve.py");
        let mut cmd = Command::new(python);
        cmd.arg(script).args(["--port", "0", "--max-items", "10000"]);
        for (id, path, id_field) in collections {
            cmd.arg("--collection").arg(format!("{id}={}", path.display()));
            cmd.arg("--id-field").arg(format!("{id}={id_field}"));
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start pygeoapi");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(120)).expect("pygeoapi did not start within 120 s (see its stderr above)");
        Pygeoapi { child, base }
    }
}

impl Drop for Pygeoapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("geodata-e2e-{tag}-{}-{}", std::process::id(), uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, doc: &Value) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, serde_json::to_vec(doc).unwrap()).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const KUMLA: LatLon = LatLon { lat: 59.1277, lon: 15.1434 };

/// `p` moved `north` and `east` metres.
fn offset(p: LatLon, north: f64, east: f64) -> LatLon {
    LatLon { lat: p.lat + north / 111_320.0, lon: p.lon + east / (111_320.0 * p.lat.to_radians().cos()) }
}

/// An address point feature (WGS 84; pygeoapi transforms it to SWEREF 99 TM on output).
#[allow(clippy::too_many_arguments)]
fn address(id: &str, at: LatLon, kommun: &str, street: &str, number: u32, letter: &str, postal: &str, town: &str) -> Value {
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [at.lon, at.lat]},
        "properties": {"kommunkod": kommun, "adressomrade": street, "adressplatsnummer": number.to_string(),
                       "bokstavstillagg": letter, "postnummer": postal, "postort": town},
    })
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// The 290 municipalities as Voronoi cells of their centres, clipped to Sweden's extent
/// (computed by PostGIS): a stand-in for the national boundaries with real codes.
async fn voronoi_boundaries(db: &TestDb) -> Value {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Cell {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        geojson: String,
    }
    let csv =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../registry-core/data/municipality_centres.csv")).unwrap();
    let values: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("('{}', '{}', {}, {})", f[0], f[1].replace('\'', "''"), f[3], f[4])
        })
        .collect();
    let sql = format!(
        "WITH c(code, name, lat, lon) AS (VALUES {}),
              p AS (SELECT code, name, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g FROM c),
              env AS (SELECT ST_MakeEnvelope(10.9, 55.0, 24.2, 69.1, 4326) AS e),
              v AS (SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(p.g), 0, (SELECT e FROM env)))).geom AS cell FROM p)
         SELECT p.code, p.name, ST_AsGeoJSON(ST_Multi(ST_Intersection(v.cell, env.e)), 6) AS geojson
           FROM v JOIN p ON ST_Contains(v.cell, p.g), env ORDER BY p.code",
        values.join(", ")
    );
    let cells: Vec<Cell> = diesel::sql_query(sql).load(&mut db.conn().await).await.unwrap();
    assert_eq!(cells.len(), 290);
    collection(
        cells
            .into_iter()
            .map(|c| {
                json!({"type": "Feature", "id": format!("kommun.{}", c.code),
                       "geometry": serde_json::from_str::<Value>(&c.geojson).unwrap(),
                       "properties": {"kommunkod": c.code, "kommunnamn": c.name}})
            })
            .collect(),
    )
}

fn config(scratch: &Scratch, base: &str) -> PathBuf {
    let path = scratch.0.join("geodata.toml");
    std::fs::write(
        &path,
        format!(
            "[addresses]\nurl = \"{base}\"\ncollection = \"adress\"\ncrs = \"EPSG:3006\"\ngeojson_axis_order = \"authority\"\npage_size = 100\n\
             [boundaries]\nurl = \"{base}\"\ncollection = \"kommun\"\ncrs = \"EPSG:3006\"\ngeojson_axis_order = \"authority\"\npage_size = 50\n\
             [client]\nrequests_per_second = 1000\nmax_concurrency = 4\ntimeout_seconds = 60\n"
        ),
    )
    .unwrap();
    path
}

fn geodata_sync(db: &TestDb, args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).env("DATABASE_URL", &db.url).env("GEODATA_SYNC_LOG", "warn").output().unwrap();
    eprintln!("geodata-sync {}:\n{}{}", args.join(" "), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn close(a: Option<LatLon>, b: LatLon) -> bool {
    a.is_some_and(|a| (a.lat - b.lat).abs() < 1e-7 && (a.lon - b.lon).abs() < 1e-7)
}

fn facility(name: &str, street: &str, at: Option<LatLon>) -> FacilityInput {
    let mut f = fixtures::facility("1881", name);
    f.address.street = street.into();
    f.location = at;
    f.units.clear();
    f
}

#[tokio::test]
async fn sync_boundaries_and_checks_against_pygeoapi() {
    let db = TestDb::new().await;
    let reg: Registry = db.registry();
    let admin = Principal::operator("test");
    let scratch = Scratch::new("sync");

    // Address points of Kumla (postal code 69231), with 2,000 others so the sync pages.
    let p_fill = offset(KUMLA, 100.0, 0.0);
    let p_move = offset(KUMLA, 0.0, 300.0);
    let p_same = offset(KUMLA, -200.0, 0.0);
    let p_lock = offset(KUMLA, 0.0, -400.0);
    let p_outside = LatLon { lat: 59.26, lon: 15.2 }; // in Örebro's cell, though the source says Kumla
    let orebro = LatLon { lat: 59.2753, lon: 15.2134 };
    let mut points = vec![
        address("a.fill", p_fill, "1881", "Storgatan", 1, "", "69231", "Kumla"),
        address("a.move", p_move, "1881", "Storgatan", 5, "B", "69231", "Kumla"),
        address("a.same", p_same, "1881", "Skolgatan", 3, "", "69231", "Kumla"),
        address("a.lock", p_lock, "1881", "Kyrkvägen", 7, "", "69231", "Kumla"),
        address("a.torg1", offset(KUMLA, 500.0, 500.0), "1881", "Torget", 1, "", "69231", "Kumla"),
        address("a.torg2", offset(KUMLA, -500.0, -500.0), "1881", "Torget", 1, "", "69231", "Kumla"),
        address("a.outside", p_outside, "1881", "Gränsvägen", 2, "", "69231", "Kumla"),
        address("o.1", orebro, "1880", "Storgatan", 1, "", "70210", "Örebro"),
    ];
    for i in 0..2000u32 {
        let at = offset(KUMLA, f64::from(i % 50) * 40.0 - 1000.0, f64::from(i / 50) * 40.0 - 800.0);
        points.push(address(&format!("f.{i}"), at, "1881", "Fyllnadsgatan", i + 1, "", "69231", "Kumla"));
    }
    let adress = scratch.write("adress.geojson", &collection(points));
    let kommun = scratch.write("kommun.geojson", &voronoi_boundaries(&db).await);
    let server = Pygeoapi::start(&[("adress", &adress, "id"), ("kommun", &kommun, "kommunkod")]);
    let config = config(&scratch, &server.base);

    // The client's own calls: landing page, collections, and a bbox in SWEREF 99 TM.
    let cfg = geodata_sync::config::Config::load(&config).unwrap();
    let src = geodata_sync::open_source(&cfg.addresses, &cfg.client).unwrap();
    assert!(src.landing_page().await.unwrap()["links"].as_array().is_some_and(|l| !l.is_empty()));
    let cols = src.collections().await.unwrap();
    let ids: Vec<&str> = cols.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["adress", "kommun"]);
    assert!(cols[0].crs.iter().any(|c| c == "http://www.opengis.net/def/crs/EPSG/0/3006"), "{:?}", cols[0].crs);
    let tm = geodata_sync::crs::SourceCrs::parse("EPSG:3006").unwrap();
    let (n, e) = geodata_sync::transform::transform(geodata_sync::transform::Crs::Wgs84, tm.crs, p_fill.lat, p_fill.lon).unwrap();
    let bbox = geodata_sync::source::Bbox { corners: [n - 10.0, e - 10.0, n + 10.0, e + 10.0], crs: tm };
    let query = geodata_sync::source::Query { bbox: Some(bbox), filters: vec![("kommunkod".into(), "1881".into())] };
    let found = src.fetch_all(&query, |_| {}).await.unwrap();
    assert_eq!(found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["a.fill"], "bbox-crs in SWEREF 99 TM's axis order");
    let config = config.to_str().unwrap();

    // Facilities: one per outcome, one in Örebro, and two published before the boundaries
    // exist that the check will find (one outside Kumla, and its twin in Örebro 10 m away).
    let fill = reg.create_facility(&admin, &facility("Fyllhallen", "Storgatan 1", None)).await.unwrap();
    let mv = reg.create_facility(&admin, &facility("Flytthallen", "Storg. 5b", Some(offset(p_move, 200.0, 0.0)))).await.unwrap();
    let same = reg.create_facility(&admin, &facility("Samma hall", "Skolgatan 3", Some(offset(p_same, 10.0, 0.0)))).await.unwrap();
    let mut lock = facility("Låst hall", "Kyrkvägen 7", Some(offset(p_lock, 300.0, 0.0)));
    lock.location_locked = Some(true);
    let lock = reg.create_facility(&admin, &lock).await.unwrap();
    let missing = reg.create_facility(&admin, &facility("Okänd hall", "Okändavägen 99", None)).await.unwrap();
    let ambiguous = reg.create_facility(&admin, &facility("Torghallen", "Torget 1", None)).await.unwrap();
    let outside = reg.create_facility(&admin, &facility("Gränshallen", "Gränsvägen 2", None)).await.unwrap();
    let mut in_orebro = fixtures::facility("1880", "Örebro hall");
    in_orebro.address.street = "Storgatan 1".into();
    in_orebro.address.postal_code = "70210".into();
    in_orebro.location = None;
    let in_orebro = reg.create_facility(&admin, &in_orebro).await.unwrap();
    let stray_at = LatLon { lat: 59.25, lon: 15.1 };
    let stray = reg.create_facility(&admin, &facility("Vilsen hall", "", Some(stray_at))).await.unwrap();
    let mut twin = fixtures::facility("1880", "Tvillinghallen");
    twin.location = Some(offset(stray_at, 10.0, 0.0));
    twin.address.street = String::new();
    let twin = reg.create_facility(&admin, &twin).await.unwrap();

    // Boundaries: all 290 from pygeoapi, through SWEREF 99 TM and back.
    let out = geodata_sync(&db, &["boundaries", "--quiet", "--config", config]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("loaded 290 municipality boundaries"));
    assert_eq!(db.count("SELECT count(*) AS n FROM municipality_boundaries WHERE ST_IsValid(boundary::geometry)").await, 290);

    // A dry run reports and writes nothing.
    let dry_report = scratch.0.join("dry.csv");
    let out = geodata_sync(
        &db,
        &["run", "--quiet", "--config", config, "--municipality", "1881", "--dry-run", "--report", dry_report.to_str().unwrap()],
    );
    assert!(
        stdout(&out).starts_with(
            "dry run (nothing written): checked 7, filled 2, moved 1, unchanged 1, not found 1, ambiguous 1, locked-disagreeing 1"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await, 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM geodata_sync_runs").await, 0, "not even a checkpoint");
    assert_eq!(std::fs::read_to_string(&dry_report).unwrap().lines().count(), 8, "a header and 7 facilities");

    // The real run, Kumla only.
    let report = scratch.0.join("run.csv");
    let out = geodata_sync(&db, &["run", "--quiet", "--config", config, "--municipality", "1881", "--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "one facility ends in an error");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "checked 7, filled 1, moved 1, unchanged 1, not found 1, ambiguous 1, locked-disagreeing 1, locked-agreeing 0, errors 1"
        ),
        "{text}"
    );
    let requests: u64 = text.split("requests ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert!(requests >= 21, "2,008 address points of Kumla at 100 a page: {requests} requests");

    let get = |id| {
        let reg = reg.clone();
        async move { reg.get_facility(&Principal::anonymous(), id).await.unwrap() }
    };
    let f = get(fill.id).await;
    assert!(close(f.location, p_fill), "{:?} vs {p_fill:?}", f.location);
    let pv = &f.location_provenance;
    assert_eq!(
        (pv.source, pv.source_feature_id.as_deref(), pv.match_quality, pv.distance_moved_m),
        (LocationSource::Geodata, Some("a.fill"), Some(MatchQuality::Exact), Some(0.0))
    );
    let m = get(mv.id).await;
    assert!(close(m.location, p_move));
    assert_eq!(m.location_provenance.match_quality, Some(MatchQuality::Normalised), "'Storg. 5b' is 'Storgatan 5 B' normalised");
    let moved = m.location_provenance.distance_moved_m.unwrap();
    assert!((moved - 200.0).abs() < 1.5, "{moved}");
    assert_eq!(get(same.id).await, same, "within 25 m: untouched");
    assert_eq!(get(lock.id).await, lock, "locked: untouched");
    assert_eq!(get(missing.id).await, missing);
    assert_eq!(get(ambiguous.id).await, ambiguous);
    assert_eq!(get(outside.id).await, outside, "the border rule refused the fill: nothing half-written");
    assert_eq!(get(in_orebro.id).await, in_orebro, "another municipality: not in scope");
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await, 2);

    let csv = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<Vec<String>> = csv.lines().skip(1).map(geodata_sync::sync::csv_fields).collect();
    let outcome = |id: uuid::Uuid| lines.iter().find(|l| l[0] == id.to_string()).map(|l| (l[3].clone(), l[11].clone())).unwrap();
    assert_eq!(outcome(lock.id).0, "locked_disagreeing");
    assert_eq!(outcome(missing.id).0, "not_found");
    let (o, message) = outcome(ambiguous.id);
    assert!(o == "ambiguous" && message.contains("a.torg1") && message.contains("a.torg2"), "{message}");
    let (o, message) = outcome(outside.id);
    assert!(o == "error" && message.contains("outside the boundary of municipality 1881 Kumla"), "{message}");

    // A second run changes nothing.
    let out = geodata_sync(&db, &["run", "--quiet", "--config", config, "--municipality", "1881"]);
    assert!(
        stdout(&out).starts_with(
            "checked 7, filled 0, moved 0, unchanged 3, not found 1, ambiguous 1, locked-disagreeing 1, locked-agreeing 0, errors 1"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await, 2);

    // All municipalities: the Örebro facility is filled too.
    let out = geodata_sync(&db, &["run", "--quiet", "--config", config]);
    assert!(stdout(&out).starts_with("checked 8, filled 1, moved 0, unchanged 3"), "{}", stdout(&out));
    assert!(close(get(in_orebro.id).await.location, orebro));

    // The checks find the stray facility and its twin.
    let out = geodata_sync(&db, &["check", "--format", "json"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["boundaries"], 290);
    let outside_list = doc["outsideMunicipality"].as_array().unwrap();
    assert_eq!(outside_list.len(), 1, "{doc}");
    assert_eq!((outside_list[0]["id"].as_str(), outside_list[0]["liesIn"].as_str()), (Some(stray.id.to_string().as_str()), Some("1880")));
    let pairs = doc["probableDuplicates"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{doc}");
    assert_eq!(
        (pairs[0]["aId"].as_str(), pairs[0]["bId"].as_str()),
        (Some(twin.id.to_string().as_str()), Some(stray.id.to_string().as_str()))
    );
    let out = geodata_sync(&db, &["check"]);
    assert!(stdout(&out).contains("1 facilities lie more than 100 m outside their own municipality"), "{}", stdout(&out));

    // Lookup of one address.
    let out = geodata_sync(&db, &["lookup", "--config", config, "--street", "STORG. 5 b", "--postal-code", "692 31"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("normalised\ta.move\t"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_killed_run_resumes_and_processes_each_facility_once() {
    const N: u32 = 1500;
    let db = TestDb::new().await;
    let scratch = Scratch::new("kill");
    let mut points = Vec::new();
    for i in 0..N {
        let at = offset(KUMLA, f64::from(i % 50) * 30.0 - 700.0, f64::from(i / 50) * 30.0 - 400.0);
        points.push(address(&format!("f.{i}"), at, "1881", "Fyllnadsgatan", i + 1, "", "69231", "Kumla"));
    }
    let adress = scratch.write("adress.geojson", &collection(points));
    let server = Pygeoapi::start(&[("adress", &adress, "id")]);
    let config = config(&scratch, &server.base);
    let config = config.to_str().unwrap();
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO facilities (id, municipality_code, name, category, ownership, street, postal_code, locality)
             SELECT uuidv7_like, '1881', 'Hall ' || i, 'sports_hall', 'municipal', 'Fyllnadsgatan ' || i, '69231', 'Kumla'
               FROM (SELECT i, (lpad(to_hex(i), 8, '0') || '-0000-7000-8000-000000000000')::uuid AS uuidv7_like
                       FROM generate_series(1, {N}) AS i) s"
        ))
        .execute(&mut db.conn().await)
        .await
        .unwrap();
    }

    // Start a run and kill it (SIGKILL) once some facilities are done.
    let mut child = Command::new(BIN)
        .args(["run", "--quiet", "--config", config])
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Polled every 5 ms; 24,000 polls (two minutes) without 100 facilities done is a stuck run.
    let mut polls = 0;
    let at_kill = loop {
        let n = db.count("SELECT count(*) AS n FROM geodata_sync_outcomes").await;
        if n >= 100 {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break db.count("SELECT count(*) AS n FROM geodata_sync_outcomes").await;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed ({n} done)");
        polls += 1;
        assert!(polls < 24_000, "the run made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(at_kill < i64::from(N), "killed in the middle: {at_kill} of {N} done");
    assert_eq!(db.count("SELECT count(*) AS n FROM geodata_sync_runs WHERE finished_at IS NULL").await, 1, "the run is open");
    // Every outcome so far is backed by exactly its write, and nothing else was written.
    let written = db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await;
    assert_eq!(written, at_kill, "a write and its checkpoint commit together");

    // Rerun: it resumes and finishes.
    let out = geodata_sync(&db, &["run", "--quiet", "--config", config]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with(&format!("checked {N}, filled {N}, moved 0")), "{text}");
    assert!(text.contains(&format!("resumed a run that had done {at_kill} facilities")), "{text}");
    assert_eq!(db.count("SELECT count(*) AS n FROM geodata_sync_outcomes").await, i64::from(N));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await,
        i64::from(N),
        "each facility written once"
    );
    assert_eq!(db.count("SELECT count(DISTINCT entity_id) AS n FROM change_log WHERE actor = 'system:geodata-sync'").await, i64::from(N));
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities WHERE location_source = 'geodata' AND version = 2").await, i64::from(N));
    assert_eq!(db.count("SELECT count(*) AS n FROM geodata_sync_runs WHERE finished_at IS NOT NULL").await, 1);
}
