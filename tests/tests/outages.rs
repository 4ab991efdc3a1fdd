//! Outages proven under load, as crates.io does with its chaos proxy (tests/src/chaos.rs sits
//! between a service and PostgreSQL):
//!
//! - the registry's database cut, stalled and restarted under a steady mix of reads and writes:
//!   answers are 503 with Retry-After and problem+json meanwhile (a request held up by the
//!   stalled database: at the latest the request timeout's 504), never 500, a dropped
//!   connection or a hang; the registry recovers without a restart, and every write it
//!   acknowledged is stored, nothing half-written;
//! - the `registry` process killed with SIGKILL in the middle of a stream of writes and
//!   started again on the same database: every acknowledged write is there, and the new
//!   process serves reads and writes;
//! - a reference booking vendor's database cut while it takes bookings: UNAVAILABLE
//!   meanwhile, nothing half-written, and afterwards every booking exists exactly once.
//!
//! No assertion is about time: phases last until enough answers were seen, and every wait is a
//! bounded poll whose bound only says when to give up.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grpc_api::server::ServerConfig;
use registry_core::Registry;
use serde_json::{Value, json};
use tests::chaos::ChaosProxy;
use tests::{TestApp, TestDb, fixtures};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The registry's request timeout in these tests (the default is 30 s): a request held up by a
/// stalled database is answered within it. Short, so that the stall need not last long; long
/// enough that no request outside the stall comes near it, even on a busy machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// The clients give up on an answer this long after the request timeout: a request still
/// unanswered then hangs, and the test fails.
const CLIENT_GIVE_UP: Duration = Duration::from_secs(8);
/// When a phase's condition is given up on.
const PHASE_GIVE_UP: Duration = Duration::from_secs(30);
/// How many failed answers each outage phase collects before it ends.
const FAILURES_PER_PHASE: usize = 6;

/// Generous rate limits: the load is one address and one key.
fn quotas() -> grpc_api::limits::RateQuotas {
    grpc_api::limits::RateQuotas::all(100_000)
}

// ---------------------------------------------------------------------------------------------
// The load: readers and writers at a steady pace, every answer recorded.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    List,
    Search,
    Get,
    Create,
    Patch,
}

impl Op {
    fn is_write(self) -> bool {
        matches!(self, Op::Create | Op::Patch)
    }
}

/// One request and its answer.
#[derive(Debug, Clone)]
struct Answer {
    op: Op,
    started: Instant,
    finished: Instant,
    /// None: no HTTP answer (connection refused or reset, or the client gave up).
    status: Option<u16>,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: Value,
    error: String,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// 503 with a Retry-After of whole seconds and a problem+json body that says so.
    fn unavailable(&self) -> bool {
        self.status == Some(503)
            && self.retry_after.as_deref().and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| s >= 1)
            && self.content_type.as_deref() == Some("application/problem+json")
            && self.body["status"] == 503
            && self.body["type"] == "/problems/unavailable"
            && self.body["retryAfterSeconds"].as_u64().is_some_and(|s| s >= 1)
    }

    fn describe(&self) -> String {
        format!(
            "{:?} → {:?} (Retry-After {:?}, {:?}) {} {}",
            self.op, self.status, self.retry_after, self.content_type, self.body, self.error
        )
    }
}

/// A write the registry acknowledged: the facility, and its version and name in the answer.
#[derive(Debug, Clone)]
struct Ack {
    op: Op,
    id: String,
    version: i64,
    name: String,
}

#[derive(Default)]
struct Log {
    answers: Mutex<Vec<Answer>>,
    acks: Mutex<Vec<Ack>>,
}

impl Log {
    fn answers(&self) -> Vec<Answer> {
        self.answers.lock().unwrap().clone()
    }

    fn acks(&self) -> Vec<Ack> {
        self.acks.lock().unwrap().clone()
    }

    /// Answers to requests sent at or after `from` (and, with `until`, answered before it).
    fn between(&self, from: Instant, until: Option<Instant>) -> Vec<Answer> {
        self.answers().into_iter().filter(|a| a.started >= from && until.is_none_or(|u| a.finished <= u)).collect()
    }

    /// Waits until `enough` holds of the answers to requests sent at or after `from`.
    async fn wait_for(&self, what: &str, from: Instant, enough: impl Fn(&[Answer]) -> bool) {
        let give_up = Instant::now() + PHASE_GIVE_UP;
        loop {
            let seen = self.between(from, None);
            if enough(&seen) {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "gave up waiting for {what} after {PHASE_GIVE_UP:?}; answers since: {:#?}",
                seen.iter().map(Answer::describe).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Readers and writers against a registry at `base`, until stopped.
struct Load {
    log: Arc<Log>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How the load runs.
#[derive(Clone)]
struct LoadSpec {
    base: String,
    admin: String,
    /// Pause between a worker's requests (zero: back to back).
    pace: Duration,
    readers: usize,
    creators: usize,
    /// Facilities, one per patcher, that are renamed again and again.
    patched: Vec<(String, i64)>,
}

impl Load {
    fn start(spec: LoadSpec) -> Load {
        let log = Arc::new(Log::default());
        let stop = Arc::new(AtomicBool::new(false));
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT + CLIENT_GIVE_UP).build().unwrap();
        let mut tasks = Vec::new();
        for r in 0..spec.readers {
            let (http, log, stop, spec) = (http.clone(), log.clone(), stop.clone(), spec.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = r;
                while !stop.load(Ordering::SeqCst) {
                    let (op, path) = if n % 2 == 0 {
                        (Op::List, "/v1/facilities?pageSize=5")
                    } else {
                        (Op::Search, "/v1/search/facilities?q=hall&pageSize=5")
                    };
                    send(&log, op, http.get(format!("{}{path}", spec.base))).await;
                    n += 1;
                    tokio::time::sleep(spec.pace).await;
                }
            }));
        }
        for w in 0..spec.creators {
            let (http, log, stop, spec) = (http.clone(), log.clone(), stop.clone(), spec.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("Utbrottshallen {w}-{n}");
                    let body = serde_json::to_value(fixtures::facility("1881", &name)).unwrap();
                    let req = http.post(format!("{}/v1/facilities", spec.base)).header("x-api-key", &spec.admin).json(&body);
                    let created = send(&log, Op::Create, req).await;
                    if let Some(f) = created {
                        assert_eq!(f["name"], name.as_str(), "the answer is the facility written: {f}");
                        log.acks.lock().unwrap().push(Ack {
                            op: Op::Create,
                            id: f["id"].as_str().unwrap().to_string(),
                            version: f["version"].as_i64().unwrap(),
                            name,
                        });
                    }
                    n += 1;
                    tokio::time::sleep(spec.pace).await;
                }
            }));
        }
        for (p, (id, version)) in spec.patched.iter().cloned().enumerate() {
            let (http, log, stop, spec) = (http.clone(), log.clone(), stop.clone(), spec.clone());
            tasks.push(tokio::spawn(async move {
                let url = format!("{}/v1/facilities/{id}", spec.base);
                // The version to send in If-Match; None after a failed write, whose outcome is
                // unknown until the facility is read again.
                let mut version = Some(version);
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    match version {
                        Some(v) => {
                            let name = format!("Omdöpta hallen {p}-{n}");
                            let req = http
                                .patch(&url)
                                .header("x-api-key", &spec.admin)
                                .header("if-match", format!("\"{v}\""))
                                .header("content-type", "application/merge-patch+json")
                                .body(json!({ "name": name }).to_string());
                            let patched = send(&log, Op::Patch, req).await;
                            version = patched.map(|f| {
                                assert_eq!(f["name"], name.as_str(), "the answer is the facility written: {f}");
                                let v = f["version"].as_i64().unwrap();
                                log.acks.lock().unwrap().push(Ack { op: Op::Patch, id: id.clone(), version: v, name });
                                v
                            });
                        }
                        None => {
                            let got = send(&log, Op::Get, http.get(&url)).await;
                            version = got.map(|f| f["version"].as_i64().unwrap());
                        }
                    }
                    n += 1;
                    tokio::time::sleep(spec.pace).await;
                }
            }));
        }
        Load { log, stop, tasks }
    }

    /// Stops every worker after its current request.
    async fn stop(self) -> Arc<Log> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("a load worker panicked");
        }
        self.log
    }
}

/// Sends `req`, records the answer, and returns the JSON body of a success.
async fn send(log: &Log, op: Op, req: reqwest::RequestBuilder) -> Option<Value> {
    let started = Instant::now();
    let mut answer = Answer {
        op,
        started,
        finished: started,
        status: None,
        retry_after: None,
        content_type: None,
        body: Value::Null,
        error: String::new(),
    };
    match req.send().await {
        Ok(res) => {
            answer.status = Some(res.status().as_u16());
            let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            answer.retry_after = header("retry-after");
            answer.content_type = header("content-type");
            match res.text().await {
                Ok(text) => answer.body = serde_json::from_str(&text).unwrap_or(Value::String(text)),
                Err(e) => answer.error = format!("reading the body: {e}"),
            }
        }
        Err(e) => answer.error = format!("{e:?}"),
    }
    answer.finished = Instant::now();
    let body = (answer.ok() && answer.error.is_empty()).then(|| answer.body.clone());
    log.answers.lock().unwrap().push(answer);
    body
}

// ---------------------------------------------------------------------------------------------
// Checks of what is stored.

/// Every acknowledged write is stored as acknowledged: each created facility with its name at
/// the version answered (or later, for the patched ones), each rename in the change log at its
/// version; and nothing is half-written (every facility has its units and its change).
async fn assert_acknowledged_writes_stored(db: &TestDb, acks: &[Ack]) {
    let creates: Vec<&Ack> = acks.iter().filter(|a| a.op == Op::Create).collect();
    let patches: Vec<&Ack> = acks.iter().filter(|a| a.op == Op::Patch).collect();
    let values = |rows: &[&Ack]| {
        rows.iter().map(|a| format!("('{}'::uuid, '{}', {})", a.id, a.name.replace('\'', "''"), a.version)).collect::<Vec<_>>().join(", ")
    };
    if !creates.is_empty() {
        let found = db
            .count(&format!(
                "SELECT count(*) AS n FROM facilities f JOIN (VALUES {}) AS a(id, name, version)
                   ON f.id = a.id AND f.name = a.name AND f.version = a.version",
                values(&creates)
            ))
            .await;
        assert_eq!(found, creates.len() as i64, "every acknowledged facility is stored with its name and version");
    }
    if !patches.is_empty() {
        let found = db
            .count(&format!(
                "SELECT count(*) AS n FROM (VALUES {}) AS a(id, name, version)
                  WHERE EXISTS (SELECT 1 FROM change_log c WHERE c.entity = 'facility' AND c.entity_id = a.id
                                   AND c.after ->> 'name' = a.name AND (c.after ->> 'version')::bigint = a.version)
                    AND EXISTS (SELECT 1 FROM facilities f WHERE f.id = a.id AND f.version >= a.version)",
                values(&patches)
            ))
            .await;
        assert_eq!(found, patches.len() as i64, "every acknowledged rename is stored at its version");
        // The latest acknowledged rename of each facility is its name now, unless a later
        // write went through unacknowledged (its version is then higher).
        let mut latest: std::collections::BTreeMap<&str, &Ack> = Default::default();
        for p in &patches {
            latest.entry(p.id.as_str()).and_modify(|l| *l = if p.version > l.version { p } else { l }).or_insert(p);
        }
        let latest: Vec<&Ack> = latest.into_values().collect();
        let stale = db
            .count(&format!(
                "SELECT count(*) AS n FROM facilities f JOIN (VALUES {}) AS a(id, name, version)
                   ON f.id = a.id WHERE f.version = a.version AND f.name <> a.name",
                values(&latest)
            ))
            .await;
        assert_eq!(stale, 0, "a facility at an acknowledged version has the acknowledged name");
    }
    // Nothing half-written: a facility's row, its units and its change are one transaction.
    let orphans = db
        .count(
            "SELECT count(*) AS n FROM facilities f
              WHERE NOT EXISTS (SELECT 1 FROM facility_units u WHERE u.facility_id = f.id)
                 OR NOT EXISTS (SELECT 1 FROM change_log c WHERE c.entity = 'facility' AND c.entity_id = f.id AND c.operation = 'create')",
        )
        .await;
    assert_eq!(orphans, 0, "every stored facility has its units and its change-log entry");
    let versions = db
        .count(
            "SELECT count(*) AS n FROM facilities f
              WHERE f.version <> (SELECT count(*) FROM change_log c WHERE c.entity = 'facility' AND c.entity_id = f.id)",
        )
        .await;
    assert_eq!(versions, 0, "every version of every facility has exactly one change-log entry");
}

/// A facility to rename under load, created before the outages: (id, version).
async fn facility_to_patch(http: &reqwest::Client, base: &str, admin: &str, name: &str) -> (String, i64) {
    let res = http
        .post(format!("{base}/v1/facilities"))
        .header("x-api-key", admin)
        .json(&serde_json::to_value(fixtures::facility("1881", name)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let f: Value = res.json().await.unwrap();
    (f["id"].as_str().unwrap().to_string(), f["version"].as_i64().unwrap())
}

// ---------------------------------------------------------------------------------------------
// a. The database cut, stalled and restarted under load.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    Cut,
    Stall,
    Restart,
}

/// An outage: from when the proxy was told (`acted`), or had done it (`began`), until it was
/// restored.
struct Phase {
    outage: Outage,
    acted: Instant,
    began: Instant,
    restored: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_registry_rides_out_a_database_cut_stall_and_restart_under_load() {
    tests::rustls_provider();
    let db = TestDb::new().await;
    let proxy = ChaosProxy::for_database(&db.url).await;
    let registry = Registry::connect(&proxy.url(&db.url), 8).expect("pool").with_clock(tests::clock());
    let config = ServerConfig { request_timeout: REQUEST_TIMEOUT, rate: quotas(), vendor_check_interval: None, ..ServerConfig::default() };
    let server = grpc_api::server::start(registry.clone(), config, "127.0.0.1:0".parse().unwrap()).await.expect("start the server");
    let app = TestApp { base: format!("http://{}", server.addr), db, registry, server };
    let admin = app.key("admin", None, false).await;
    let http = app.http();
    let patched = vec![
        facility_to_patch(&http, &app.base, &admin, "Hallen som döps om A").await,
        facility_to_patch(&http, &app.base, &admin, "Hallen som döps om B").await,
    ];

    let load = Load::start(LoadSpec { base: app.base.clone(), admin, pace: Duration::from_millis(15), readers: 2, creators: 2, patched });
    let log = load.log.clone();
    let kinds_ok = |a: &[Answer]| [Op::List, Op::Search, Op::Create, Op::Patch].iter().all(|op| a.iter().any(|x| x.op == *op && x.ok()));
    log.wait_for("the load to run", Instant::now(), kinds_ok).await;

    let mut phases: Vec<Phase> = Vec::new();
    for outage in [Outage::Cut, Outage::Stall, Outage::Restart] {
        let acted = Instant::now();
        match outage {
            Outage::Cut => proxy.cut().await,
            Outage::Stall => proxy.stall(),
            Outage::Restart => proxy.restart().await,
        }
        let began = Instant::now();
        if outage != Outage::Restart {
            // The outage lasts until requests sent during it were answered, by failures.
            log.wait_for(&format!("failures during the {outage:?}"), began, |a| {
                a.iter().filter(|x| !x.ok()).count() >= FAILURES_PER_PHASE && a.iter().any(|x| x.op.is_write() && !x.ok())
            })
            .await;
        }
        let restored = Instant::now();
        proxy.restore();
        // Recovery without restarting the registry: reads and writes succeed again.
        log.wait_for(&format!("recovery after the {outage:?}"), restored, kinds_ok).await;
        phases.push(Phase { outage, acted, began, restored });
    }
    let log = load.stop().await;
    let answers = log.answers();
    let acks = log.acks();
    let during = |a: &Answer, p: &Phase| a.started < p.restored && a.finished >= p.acted;
    let stalled = |a: &Answer| phases.iter().any(|p| p.outage == Outage::Stall && during(a, p));
    let label = |a: &Answer| {
        let overlapping: Vec<String> = phases.iter().filter(|p| during(a, p)).map(|p| format!("{:?}", p.outage)).collect();
        format!("[in flight during: {}] {}", overlapping.join(", "), a.describe())
    };
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for a in &answers {
        *counts.entry(format!("{:?} {}", a.status, a.body["type"].as_str().unwrap_or(""))).or_default() += 1;
    }
    eprintln!("{} answers ({counts:?}), {} acknowledged writes", answers.len(), acks.len());

    // Never a 500, a hang or a dropped connection: every answer is a success or a 503 with
    // Retry-After and problem+json. A request held up by the stalled database is answered at
    // the latest at the request timeout (504, problem+json); the client gives up on none.
    // (Today each such request ends so: nothing in the registry times out a database call
    // before the request timeout. The pool's 10 s limits on waiting for and on opening a
    // connection cover neither the check of an idle connection before its reuse nor a query
    // under way. Once a database call gives up sooner with 503, drop the 504 from this rule.)
    let bad: Vec<String> = answers
        .iter()
        .filter(|a| !(a.ok() || a.unavailable() || (stalled(a) && a.status == Some(504) && a.body["type"] == "/problems/timeout")))
        .map(label)
        .collect();
    assert!(bad.is_empty(), "{} answers were neither a success nor a clean 503:\n{}", bad.len(), bad.join("\n"));
    // Every request sent while the database was cut, and answered before it came back, was a
    // 503 that says when to retry.
    let cut = phases.iter().find(|p| p.outage == Outage::Cut).unwrap();
    let meanwhile = log.between(cut.began, Some(cut.restored));
    assert!(meanwhile.len() >= FAILURES_PER_PHASE, "{meanwhile:#?}");
    let not_503: Vec<String> = meanwhile.iter().filter(|a| !a.unavailable()).map(label).collect();
    assert!(not_503.is_empty(), "while the database was cut:\n{}", not_503.join("\n"));

    // Every acknowledged write is stored, and nothing is half-written.
    assert_acknowledged_writes_stored(&app.db, &acks).await;
}

// ---------------------------------------------------------------------------------------------
// b. The registry process killed with SIGKILL mid-write, and started again.

/// Starts `registry serve` on `db` and returns it with its base URL.
async fn registry_process(db: &TestDb) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(tests::workspace_binary("registry"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.url)
        .env("REGISTRY_RATE_ANONYMOUS", "100000")
        .env("REGISTRY_RATE_ADMIN", "100000")
        .env("REGISTRY_VENDOR_CHECK_INTERVAL", "0")
        .env("REGISTRY_DB_MAX_CONNECTIONS", "8")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the registry binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("reading the registry's output") {
            if let Some(url) = line.strip_prefix("registry listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("the registry ended before it listened");
    })
    .await
    .expect("the registry listens within a minute");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registry_killed_mid_write_comes_back_with_every_acknowledged_write() {
    tests::rustls_provider();
    let db = TestDb::new().await;
    let admin = registry_core::keys::create(
        db.registry().pool(),
        "",
        &registry_core::keys::NewKey {
            role: "admin".into(),
            municipality_code: None,
            personal_data: false,
            label: "outages".into(),
            vendor_id: None,
        },
    )
    .await
    .expect("create an admin key")
    .1;
    let (mut child, base) = registry_process(&db).await;
    let http = reqwest::Client::new();
    let patched = vec![facility_to_patch(&http, &base, &admin, "Hallen som döps om").await];

    // Writes back to back from four clients, reads beside them.
    let load = Load::start(LoadSpec { base: base.clone(), admin: admin.clone(), pace: Duration::ZERO, readers: 1, creators: 3, patched });
    let log = load.log.clone();
    log.wait_for("twenty acknowledged writes", Instant::now(), |_| log.acks().len() >= 20).await;
    let killed = Instant::now();
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("the registry exits");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    // Every client finds the registry gone.
    log.wait_for("every client to see the registry gone", killed, |a| a.iter().filter(|x| x.status.is_none()).count() >= 5).await;
    let log = load.stop().await;
    let answers = log.answers();
    let acks = log.acks();
    let cut_off = answers.iter().filter(|a| a.op.is_write() && a.status.is_none() && a.started < killed).count();
    eprintln!("{} answers, {} acknowledged writes, {cut_off} writes cut off by the kill", answers.len(), acks.len());
    for a in &answers {
        assert!(a.ok() || a.status.is_none(), "before the kill every request succeeds, after it none is answered: {}", a.describe());
    }
    // Writes sent before the kill and never answered: the kill came in the middle of them.
    assert!(cut_off >= 1, "the kill came in the middle of writes");

    // Started again on the same database: every acknowledged write is there, through the API too.
    let (child, base) = registry_process(&db).await;
    assert_acknowledged_writes_stored(&db, &acks).await;
    for a in acks.iter().filter(|a| a.op == Op::Create) {
        let f: Value = http.get(format!("{base}/v1/facilities/{}", a.id)).send().await.unwrap().json().await.unwrap();
        assert_eq!((f["name"].as_str(), f["version"].as_i64()), (Some(a.name.as_str()), Some(a.version)), "{f}");
    }
    // ...and it serves reads and writes.
    let again = facility_to_patch(&http, &base, &admin, "Hallen efter omstarten").await;
    let res = http
        .patch(format!("{base}/v1/facilities/{}", again.0))
        .header("x-api-key", &admin)
        .header("if-match", format!("\"{}\"", again.1))
        .header("content-type", "application/merge-patch+json")
        .body(json!({"name": "Hallen efter omstarten, omdöpt"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let found: Value = http.get(format!("{base}/v1/search/facilities?q=omstarten&pageSize=5")).send().await.unwrap().json().await.unwrap();
    assert_eq!(found["hits"][0]["facility"]["name"], "Hallen efter omstarten, omdöpt", "{found}");
    drop(child);
}

// ---------------------------------------------------------------------------------------------
// c. A booking vendor's database cut while it takes bookings.

mod vendor {
    use super::*;
    use federation::pb;
    use pb::booking_provider_client::BookingProviderClient;
    use reference_booking::grpc::{ApiKeys, BookingGrpc};
    use reference_booking::hours::Hours;
    use reference_booking::model::{Rules, Unit};
    use reference_booking::{Backend, server};
    use tonic_types::StatusExt;

    /// Clients booking at once.
    const BOOKERS: usize = 3;

    /// The `i`th free hour of the unit: 08:00–22:00 on the days from tomorrow on.
    fn slot(i: usize) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
        let day = tests::today() + chrono::Duration::days(1 + (i / 14) as i64);
        let hour = 8 + (i % 14) as u32;
        (tests::dates::at(day, hour), tests::dates::at(day, hour + 1))
    }

    fn request(i: usize) -> pb::CreateBookingRequest {
        let (start, end) = slot(i);
        let ts = |t: chrono::DateTime<chrono::Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
        pb::CreateBookingRequest {
            idempotency_key: format!("outage-booking-{i}"),
            unit_ref: "hall-a".into(),
            start: ts(start),
            end: ts(end),
            mode: pb::BookingMode::Direct as i32,
            customer: Some(pb::Customer {
                r#type: pb::CustomerType::PrivatePerson as i32,
                name: "Kim Andersson".into(),
                email: "kim@example.se".into(),
                ..Default::default()
            }),
            payment_method: pb::PaymentMethod::Invoice as i32,
            ..Default::default()
        }
    }

    /// One attempt at booking slot `i`.
    #[derive(Debug, Clone)]
    struct Attempt {
        slot: usize,
        started: Instant,
        finished: Instant,
        result: Result<String, (tonic::Code, String, String)>,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_vendor_whose_database_is_cut_refuses_bookings_retryably_and_loses_none() {
        tests::rustls_provider();
        let db = TestDb::empty().await;
        reference_booking::db::migrate(&db.url).await.expect("migrate the vendor's database");
        let proxy = ChaosProxy::for_database(&db.url).await;
        let pool = registry_core::db::pool(&proxy.url(&db.url), 8).unwrap();
        let backend = Backend::new(pool, Arc::new(Hours::new(None, Duration::from_secs(300)))).with_clock(tests::clock());
        let unit = Unit {
            id: uuid::Uuid::now_v7(),
            external_ref: "hall-a".into(),
            registry_facility_id: uuid::Uuid::now_v7(),
            registry_unit_id: uuid::Uuid::now_v7(),
            name: "Hall A".into(),
            rules: Rules::default(),
            municipality_code: None,
            version: 1,
        };
        let unit = backend.save_unit(&unit).await.expect("save the unit");
        backend.hours().set(unit.id, registry_core::hours::osm::parse("Mo-Su 08:00-22:00").unwrap());
        let app =
            server::app(backend.clone(), BookingGrpc::new(backend.clone(), ApiKeys::default(), None).allow_anonymous(), "").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server::serve(listener, app, std::future::pending()));
        let channel = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .timeout(REQUEST_TIMEOUT + CLIENT_GIVE_UP)
            .connect()
            .await
            .expect("connect to the vendor");

        // Three clients book one after another, each the next free hour of its own, each with
        // its own key.
        let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut bookers = Vec::new();
        for b in 0..BOOKERS {
            let (attempts, stop, mut client) = (attempts.clone(), stop.clone(), BookingProviderClient::new(channel.clone()));
            bookers.push(tokio::spawn(async move {
                let mut i = b;
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let result = match client.create_booking(request(i)).await {
                        Ok(b) => Ok(b.into_inner().booking.expect("a booking").booking_id),
                        Err(s) => {
                            let reason = s.get_details_error_info().map(|e| e.reason).unwrap_or_default();
                            Err((s.code(), reason, s.message().to_string()))
                        }
                    };
                    attempts.lock().unwrap().push(Attempt { slot: i, started, finished: Instant::now(), result });
                    i += BOOKERS;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        let wait_for = async |what: &str, from: Instant, enough: &dyn Fn(&[Attempt]) -> bool| {
            let give_up = Instant::now() + PHASE_GIVE_UP;
            loop {
                let seen: Vec<Attempt> = attempts.lock().unwrap().iter().filter(|a| a.started >= from).cloned().collect();
                if enough(&seen) {
                    return;
                }
                assert!(Instant::now() < give_up, "gave up waiting for {what}: {seen:#?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        wait_for("bookings", Instant::now(), &|a| a.iter().filter(|x| x.result.is_ok()).count() >= 5).await;
        proxy.cut().await;
        let cut = Instant::now();
        wait_for("refusals during the cut", cut, &|a| a.iter().filter(|x| x.result.is_err()).count() >= FAILURES_PER_PHASE).await;
        let restored = Instant::now();
        proxy.restore();
        wait_for("bookings after the cut", restored, &|a| a.iter().filter(|x| x.result.is_ok()).count() >= 5).await;
        stop.store(true, Ordering::SeqCst);
        for b in bookers {
            b.await.expect("a booking client panicked");
        }
        let attempts = attempts.lock().unwrap().clone();

        // Every refusal is UNAVAILABLE, which says "retry"; none is INTERNAL.
        for a in attempts.iter().filter_map(|a| a.result.as_ref().err().map(|e| (a, e))) {
            assert_eq!((a.1.0, a.1.1.as_str()), (tonic::Code::Unavailable, "UNAVAILABLE"), "slot {}: {:?}", a.0.slot, a.1);
        }
        let during: Vec<&Attempt> = attempts.iter().filter(|a| a.started >= cut && a.finished <= restored).collect();
        assert!(during.len() >= FAILURES_PER_PHASE && during.iter().all(|a| a.result.is_err()), "{during:#?}");

        // Retried with the same key after the outage: each refused booking is made once (or
        // found, had it been stored before the connection was cut).
        let mut client = BookingProviderClient::new(channel);
        let mut acked: Vec<(usize, String)> =
            attempts.iter().filter_map(|a| a.result.as_ref().ok().map(|id| (a.slot, id.clone()))).collect();
        for a in attempts.iter().filter(|a| a.result.is_err()) {
            let b = client.create_booking(request(a.slot)).await.unwrap_or_else(|s| panic!("retry of slot {}: {s:?}", a.slot));
            acked.push((a.slot, b.into_inner().booking.unwrap().booking_id));
        }
        eprintln!("{} attempts, {} refused during the cut", attempts.len(), during.len());

        // Exactly one booking per key, each acknowledged one stored once, nothing half-written.
        let ids = acked.iter().map(|(_, id)| format!("'{id}'::uuid")).collect::<Vec<_>>().join(", ");
        assert_eq!(db.count("SELECT count(*) AS n FROM bookings").await, attempts.len() as i64, "one booking per slot asked for");
        assert_eq!(db.count(&format!("SELECT count(*) AS n FROM bookings WHERE id IN ({ids})")).await, acked.len() as i64);
        assert_eq!(db.count("SELECT count(DISTINCT idempotency_key) AS n FROM bookings").await, attempts.len() as i64);
        assert_eq!(
            db.count(
                "SELECT count(*) AS n FROM bookings b
                  WHERE b.status <> 'confirmed' OR b.access_code IS NULL OR b.customer IS NULL
                     OR (SELECT count(*) FROM outbox o WHERE o.booking_id = b.id) <> 1"
            )
            .await,
            0,
            "every booking is confirmed, complete, and announced once"
        );
    }
}
