//! Test support: every test gets its own database, created in tens of milliseconds from a
//! migrated template on the throwaway cluster that `make test` starts
//! (`scripts/with-test-db.sh` exports `TEST_DATABASE_URL`).
#![forbid(unsafe_code)]

use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use registry_core::{Registry, db};

pub mod chaos;
pub mod dates;
pub mod oidc;
pub use dates::{clock, now, today};

/// The admin URL of the throwaway cluster.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set. Run the tests with `make test`, or start a PostgreSQL + PostGIS server \
             and set TEST_DATABASE_URL to its admin URL, e.g. postgres://postgres@127.0.0.1:5432/postgres \
             (`scripts/with-test-db.sh cargo nextest run` does both)"
        )
    })
}

/// A database of its own for one test.
pub struct TestDb {
    /// Connection URL.
    pub url: String,
    /// Database name.
    pub name: String,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Name of the migrated template for the current migration set.
async fn template() -> String {
    let name = format!("registry_template_{}", db::migrations_fingerprint());
    let admin = admin_url();
    let mut conn = db::connect(&admin).await.expect("connect to the test cluster");
    // Test processes run in parallel; one of them migrates the template while the others wait.
    conn.batch_execute("SELECT pg_advisory_lock(738201)").await.expect("advisory lock");
    let exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(&name)
        .get_result::<Exists>(&mut conn)
        .await
        .expect("query pg_database")
        .exists;
    if !exists {
        let staging = format!("{name}_staging");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {}", db::quote_ident(&staging))).await.expect("drop staging");
        conn.batch_execute(&format!("CREATE DATABASE {}", db::quote_ident(&staging))).await.expect("create staging");
        db::migrate(&db::with_database(&admin, &staging)).await.expect("migrate the template");
        conn.batch_execute(&format!("ALTER DATABASE {} RENAME TO {}", db::quote_ident(&staging), db::quote_ident(&name)))
            .await
            .expect("publish the template");
    }
    conn.batch_execute("SELECT pg_advisory_unlock(738201)").await.expect("advisory unlock");
    name
}

fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

impl TestDb {
    /// A fresh, migrated database with the code lists seeded and nothing else.
    pub async fn new() -> TestDb {
        let template = template().await;
        let name = unique_name("t");
        let mut conn = db::connect(&admin_url()).await.expect("connect to the test cluster");
        conn.batch_execute(&format!("CREATE DATABASE {} TEMPLATE {}", db::quote_ident(&name), db::quote_ident(&template)))
            .await
            .expect("create the test database from the template");
        TestDb { url: db::with_database(&admin_url(), &name), name }
    }

    /// A fresh empty database (no migrations), with PostGIS available on the server.
    pub async fn empty() -> TestDb {
        let name = unique_name("e");
        let mut conn = db::connect(&admin_url()).await.expect("connect to the test cluster");
        conn.batch_execute(&format!("CREATE DATABASE {}", db::quote_ident(&name))).await.expect("create an empty database");
        TestDb { url: db::with_database(&admin_url(), &name), name }
    }

    /// The use cases over a small pool, on the tests' [`clock`].
    pub fn registry(&self) -> Registry {
        Registry::connect(&self.url, 8).expect("pool").with_clock(clock())
    }

    /// A direct connection, for checking what is stored.
    pub async fn conn(&self) -> AsyncPgConnection {
        db::connect(&self.url).await.expect("connect to the test database")
    }

    /// Runs a query returning one bigint column named `n`.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql).get_result::<N>(&mut self.conn().await).await.unwrap_or_else(|e| panic!("{sql}: {e}")).n
    }
}

/// Sample inputs that pass validation.
pub mod fixtures {
    /// What a passing conformance run records: the API layer runs the kit before it calls the
    /// core, which refuses a vendor without a passing run.
    pub fn passing_checks() -> registry_core::model::VendorChecks {
        let conformance = serde_json::json!({"passed": true, "checkedAt": "2026-11-24T08:00:00Z", "checks": []});
        registry_core::model::VendorChecks { conformance: Some(conformance), ..registry_core::model::VendorChecks::default() }
    }

    use registry_core::geo::LatLon;
    use registry_core::model::*;

    /// A valid facility in municipality `code`, near Örebro/Kumla unless moved.
    pub fn facility(code: &str, name: &str) -> FacilityInput {
        FacilityInput {
            municipality_code: code.into(),
            name: name.into(),
            description: "Test facility".into(),
            category: "sports_hall".into(),
            activities: vec!["floorball".into(), "handball".into()],
            location: Some(LatLon { lat: 59.1277, lon: 15.1434 }),
            location_locked: None,
            address: Address { street: "Idrottsvägen 1".into(), postal_code: "69231".into(), locality: "Kumla".into() },
            ownership: Ownership::Municipal,
            accessibility: vec![Accessibility::StepFreeEntrance, Accessibility::HearingLoop],
            contact: Contact { email: Some("fritid@example.se".into()), phone: Some("+4619588000".into()), website: None },
            units: vec![
                UnitInput {
                    id: None,
                    name: "Hall A".into(),
                    category: "sports_hall".into(),
                    capacity: Some(300),
                    area_m2: Some(1200.0),
                    bookable: true,
                },
                UnitInput { id: None, name: "Gym".into(), category: "gym".into(), capacity: Some(20), area_m2: None, bookable: false },
            ],
        }
    }

    /// A valid association in municipality `code` with a valid organisation number built from `n`.
    pub fn association(code: &str, n: u32) -> AssociationInput {
        let body = format!("802{:06}", n % 1_000_000);
        let org = (0..10).map(|d| format!("{body}{d}")).find(|s| registry_core::orgnr::luhn_valid(s)).unwrap();
        AssociationInput {
            org_number: org,
            name: format!("Testföreningen {n}"),
            municipality_code: code.into(),
            activities: vec!["football".into()],
            contact: Contact { email: Some("info@forening.example.se".into()), phone: None, website: None },
            member_statistics: Some(MemberStatistics {
                year: 2025,
                counts: vec![MemberCount { age_band: AgeBand::Age13To20, gender: Gender::Female, count: 12 }],
            }),
            contact_persons: vec![ContactPerson {
                name: "Karin Karlsson".into(),
                role: "kassör".into(),
                email: Some("karin@example.se".into()),
                phone: Some("0701234567".into()),
            }],
            postal_address: Some(registry_core::model::PostalAddress {
                care_of: Some("Karin Karlsson".into()),
                street: "Box 12".into(),
                postal_code: "11432".into(),
                city: "Stockholm".into(),
            }),
            association_type: Some("sports".into()),
            federations: vec!["football".into()],
            founded_year: Some(1975),
            status: None,
        }
    }

    /// [`facility`] as the gRPC message a client sends (no id, no version).
    pub fn facility_pb(code: &str, name: &str) -> grpc_api::proto::v1::Facility {
        let f = facility(code, name);
        grpc_api::proto::v1::Facility {
            municipality_code: f.municipality_code,
            name: f.name,
            description: f.description,
            category: f.category,
            activities: f.activities,
            location: f.location.map(|l| grpc_api::proto::v1::LatLon { lat: l.lat, lon: l.lon }),
            address: Some(grpc_api::proto::v1::Address {
                street: f.address.street,
                postal_code: f.address.postal_code,
                locality: f.address.locality,
            }),
            ownership: grpc_api::proto::v1::Ownership::Municipal as i32,
            accessibility: vec![grpc_api::proto::v1::Accessibility::StepFreeEntrance as i32],
            contact: Some(grpc_api::proto::v1::Contact { email: f.contact.email, phone: f.contact.phone, website: None }),
            units: vec![grpc_api::proto::v1::Unit {
                name: "Hall A".into(),
                category: "sports_hall".into(),
                capacity: Some(300),
                area_m2: Some(1200.0),
                bookable: true,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// [`association`] as the gRPC message a client sends (no id, no version).
    pub fn association_pb(code: &str, n: u32) -> grpc_api::proto::v1::Association {
        let a = association(code, n);
        grpc_api::proto::v1::Association {
            org_number: a.org_number,
            name: a.name,
            municipality_code: a.municipality_code,
            activities: a.activities,
            contact: Some(grpc_api::proto::v1::Contact { email: a.contact.email, ..Default::default() }),
            member_statistics: Some(grpc_api::proto::v1::MemberStatistics {
                year: 2025,
                counts: vec![grpc_api::proto::v1::MemberCount {
                    age_band: grpc_api::proto::v1::AgeBand::AgeBand13To20 as i32,
                    gender: grpc_api::proto::v1::Gender::Female as i32,
                    count: 12,
                }],
            }),
            ..Default::default()
        }
    }
}

/// A real server on 127.0.0.1 with its own database, and keys for each role.
pub struct TestApp {
    /// The database.
    pub db: TestDb,
    /// The core over the same database (for setting up and checking state).
    pub registry: Registry,
    /// The running server.
    pub server: grpc_api::server::Running,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// API keys of a [`TestApp`], one per role of interest.
pub struct Keys {
    /// Editor of Stockholm (0180).
    pub editor_0180: String,
    /// Editor of Göteborg (1480).
    pub editor_1480: String,
    /// Editor of Stockholm with the personal-data scope.
    pub editor_0180_pd: String,
    /// A vendor.
    pub vendor: String,
    /// A national body.
    pub national_body: String,
    /// An admin.
    pub admin: String,
}

impl TestApp {
    /// Starts a server with the default configuration.
    pub async fn start() -> TestApp {
        Self::start_with(grpc_api::server::ServerConfig::default()).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: grpc_api::server::ServerConfig) -> TestApp {
        rustls_provider();
        let db = TestDb::new().await;
        let registry = db.registry();
        let server = grpc_api::server::start(registry.clone(), config, "127.0.0.1:0".parse().unwrap()).await.expect("start the server");
        let base = format!("http://{}", server.addr);
        TestApp { db, registry, server, base }
    }

    /// Creates a key and returns its token (pepper as in the default configuration: empty).
    pub async fn key(&self, role: &str, municipality: Option<&str>, personal_data: bool) -> String {
        let new = registry_core::keys::NewKey {
            role: role.into(),
            municipality_code: municipality.map(Into::into),
            personal_data,
            label: "test".into(),
            vendor_id: None,
        };
        registry_core::keys::create(self.registry.pool(), "", &new).await.expect("create key").1
    }

    /// Creates a vendor's own key (tied to its entry in the vendor directory).
    pub async fn vendor_key(&self, vendor_id: uuid::Uuid) -> String {
        let new = registry_core::keys::NewKey {
            role: "vendor".into(),
            municipality_code: None,
            personal_data: false,
            label: "vendor-self".into(),
            vendor_id: Some(vendor_id),
        };
        registry_core::keys::create(self.registry.pool(), "", &new).await.expect("create vendor key").1
    }

    /// A signed-in person's browser session (without the identity provider: the session the
    /// callback would start), as a "key" for [`with_key`]: `session:<token>:<csrf>`. With
    /// `staff_of`, the person is first made staff of that municipality.
    pub async fn session(&self, pin: &str, name: &str, staff_of: Option<&str>) -> String {
        use registry_core::service::sessions::{SessionPolicy, Sessions, staff};
        let clock = self.registry.clock().clone();
        if let Some(m) = staff_of {
            staff::add(self.registry.pool(), "", &clock, pin, m, name).await.expect("staff entry");
        }
        let sessions = Sessions::new(self.registry.pool().clone(), "", clock, SessionPolicy::default());
        let person = sessions.person(Some(pin), name).expect("a valid personal identity number");
        let s = sessions.create(&person, "test").await.expect("a session");
        format!("session:{}:{}", s.token, s.csrf_token)
    }

    /// One key per role.
    pub async fn keys(&self) -> Keys {
        Keys {
            editor_0180: self.key("editor", Some("0180"), false).await,
            editor_1480: self.key("editor", Some("1480"), false).await,
            editor_0180_pd: self.key("editor", Some("0180"), true).await,
            vendor: self.key("vendor", None, false).await,
            national_body: self.key("national_body", None, false).await,
            admin: self.key("admin", None, false).await,
        }
    }

    /// A gRPC channel to the server (h2 over plain TCP).
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.base.clone()).unwrap().connect().await.expect("gRPC connect")
    }

    /// An HTTP client.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().build().unwrap()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Asks `probe` every 25 ms until it answers `Some`, at most 400 times: for work the server does
/// in the background (scheduled runs, polls). None if it never does.
pub async fn eventually<T>(mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    for _ in 0..400 {
        if let Some(t) = probe().await {
            return Some(t);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    None
}

/// Installs ring as the process's TLS provider (idempotent); HTTP clients need it.
pub fn rustls_provider() {
    grpc_api::install_crypto_provider();
}

/// A loopback port that was free a moment ago, for a server that must know its address before
/// it starts (an identity provider and its client, an SMTP server started twice).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A request with an API key in metadata.
pub fn with_key<T>(msg: T, key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some((cookie, csrf)) = session_key(key) {
        r.metadata_mut().insert("cookie", cookie.parse().expect("cookies are ASCII"));
        r.metadata_mut().insert("x-csrf-token", csrf.parse().expect("tokens are ASCII"));
    } else if !key.is_empty() {
        r.metadata_mut().insert("x-api-key", key.parse().expect("keys are ASCII"));
    }
    r
}

/// `req` with a test "key": a session's cookie and CSRF token ([`TestApp::session`]), or an API
/// key as `x-api-key`; nothing for an empty key.
pub fn authed(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    match session_key(key) {
        Some((cookie, csrf)) => req.header("cookie", cookie).header("x-csrf-token", csrf),
        None if key.is_empty() => req,
        None => req.header("x-api-key", key),
    }
}

/// A signed-in browser's session as a test "key": `session:<cookie token>:<CSRF token>`, as
/// [`TestApp::session`] makes it. [`with_key`] and [`session_key`] turn it into the `Cookie`
/// (`registry-session=…`, the name on plain http) and `X-CSRF-Token` headers.
pub fn session_key(key: &str) -> Option<(String, String)> {
    let (token, csrf) = key.strip_prefix("session:")?.split_once(':')?;
    Some((format!("registry-session={token}"), csrf.to_string()))
}

/// A real SMTP server on loopback (aiosmtpd, tests/interop/smtp_sink.py) that writes each
/// message it receives as a JSON line to a file; killed on drop.
pub struct SmtpSink(tokio::process::Child);

impl SmtpSink {
    /// Starts it on `port`, recording into `file`, once it says it is ready.
    pub async fn start(port: u16, file: &std::path::Path) -> SmtpSink {
        use tokio::io::AsyncBufReadExt;
        let script = repo_root().join("tests/interop/smtp_sink.py");
        let mut child = tokio::process::Command::new(venv_bin("python"))
            .arg(script)
            .arg(port.to_string())
            .arg(file)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python runs (scripts/python-tools.sh installs aiosmtpd)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await.expect("the sink starts").unwrap();
        assert_eq!(first.as_deref(), Some("ready"));
        SmtpSink(child)
    }

    /// Stops it (as a crash would: the port closes).
    pub async fn stop(mut self) {
        self.0.kill().await.unwrap();
    }
}

/// A program in the Python virtualenv that `scripts/python-tools.sh` creates
/// (`$REGISTRY_VENV`, default `~/.cache/registry-venv`).
pub fn venv_bin(program: &str) -> std::path::PathBuf {
    let venv = match std::env::var_os("REGISTRY_VENV") {
        Some(v) if !v.is_empty() => std::path::PathBuf::from(v),
        _ => std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/registry-venv"),
    };
    venv.join("bin").join(program)
}

/// Throwaway certificate authorities and leaf certificates for TLS tests.
pub mod pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    /// A self-signed CA.
    pub struct Ca {
        params: CertificateParams,
        key: KeyPair,
        /// Its certificate (PEM).
        pub pem: String,
    }

    /// A new CA named `name`.
    pub fn ca(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca { params, key, pem }
    }

    /// A leaf certificate for `names` signed by `ca`: (certificate PEM, key PEM).
    pub fn leaf(ca: &Ca, names: &[&str]) -> (String, String) {
        let params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&ca.params, &ca.key);
        (params.signed_by(&key, &issuer).unwrap().pem(), key.serialize_pem())
    }
}

pub mod reflection;
pub mod vendors;

/// The workspace: the parent of this crate's directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the tests crate sits in the workspace").to_path_buf()
}

/// Where scripts/node-tools.sh installs the npm packages the interop tests run.
pub fn node_prefix() -> std::path::PathBuf {
    match std::env::var_os("REGISTRY_NODE") {
        Some(v) if !v.is_empty() => std::path::PathBuf::from(v),
        _ => std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/registry-node"),
    }
}

/// `node` on PATH, or a failure that says how to get it.
pub fn node_binary() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("node")).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "`node` is not on PATH: run `{}` (it installs Node.js and npm from Debian if missing)",
            repo_root().join("scripts/node-tools.sh").display()
        )
    })
}

/// A binary of the workspace, built next to the running test (`cargo build --bins`, which
/// `make test` runs first).
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>/deps/<test>");
    let bin = dir.join(name);
    assert!(bin.is_file(), "{} is missing: build it first (`cargo build --bin {name}`; `make test` does)", bin.display());
    bin
}
