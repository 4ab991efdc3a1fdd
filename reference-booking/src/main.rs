//! `reference-booking`: the reference booking backend's command line.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::model::{CustomerType, Price, Rules, Unit};
use reference_booking::{Backend, db, server};
use registry_core::embedded::{self, EmbeddedPostgres};

/// The reference booking backend: a vendor.v1 booking vendor with its own database.
#[derive(Debug, Parser)]
#[command(name = "reference-booking", version, about)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, clap::Args)]
struct DbArgs {
    /// PostgreSQL URL of the backend's own database. Without it, a private embedded cluster
    /// is started in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// Data directory of the embedded database (used when DATABASE_URL is not set).
    #[arg(long, env = "REFERENCE_BOOKING_DATA_DIR", default_value = ".reference-booking-data", global = true)]
    data_dir: PathBuf,
    /// Directory with the PostgreSQL server binaries (initdb, pg_ctl); found automatically if not set.
    #[arg(long, env = "REFERENCE_BOOKING_PG_BINDIR", global = true)]
    pg_bindir: Option<PathBuf>,
    /// Largest number of pooled database connections.
    #[arg(long, env = "REFERENCE_BOOKING_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    max_connections: usize,
    /// Secret mixed into API key hashes; the same for `keys create` and `serve`.
    #[arg(long, env = "REFERENCE_BOOKING_KEY_PEPPER", hide_env_values = true, default_value = "", global = true)]
    key_pepper: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve vendor.v1 (gRPC), REST for customers and staff, /healthz and /readyz on one port.
    Serve(ServeArgs),
    /// Serve as `serve` does, and take on the bookable units of some municipalities of a
    /// running registry: register in its vendor directory and map the units there (for `make demo`).
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Municipality codes whose bookable units this backend books.
        #[arg(long, value_delimiter = ',', required = true)]
        municipalities: Vec<String>,
        /// The vendor's name in the registry's directory.
        #[arg(long, default_value = "Referensbokning")]
        name: String,
    },
    /// Apply pending migrations of the backend's database and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document of the REST API (as served at /openapi.json).
    Openapi,
    /// Manage the bookable units.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// Manage API keys (customer, association, case_officer, caretaker, registry, admin).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        /// customer, association, case_officer, caretaker, registry or admin.
        #[arg(long)]
        role: String,
        /// Free text to tell keys apart.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its prefix.
    Revoke {
        /// The 8 hex digits after `bk_`.
        prefix: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct ServeArgs {
    /// A file holding an API key of the registry, sent when reading opening hours (and, for
    /// `demo`, an admin key to register in the vendor directory).
    #[arg(long, env = "REFERENCE_BOOKING_REGISTRY_KEY_FILE")]
    registry_key_file: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "REFERENCE_BOOKING_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Base URL of the registry whose opening hours the units follow, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "REFERENCE_BOOKING_REGISTRY_URL")]
    registry_url: Option<String>,
    /// Seconds between readings of every unit's opening hours from the registry.
    #[arg(long, env = "REFERENCE_BOOKING_HOURS_REFRESH", default_value_t = 300)]
    hours_refresh: u64,
    /// Callers and their API keys, `name:key,name:key` (keys of at least 16 characters).
    /// Without them, the keys stored with `keys create --role registry` are used.
    #[arg(long, env = "REFERENCE_BOOKING_API_KEYS", hide_env_values = true, default_value = "")]
    api_keys: String,
    /// Accept vendor.v1 callers without a key (development on loopback only; `demo` does).
    /// Without it, a caller without a valid key is refused, whether or not keys exist.
    #[arg(long, env = "REFERENCE_BOOKING_INSECURE_ALLOW_ANONYMOUS")]
    insecure_allow_anonymous: bool,
    /// The customer-facing page bookings link to (`{url}/bookings/{id}`).
    #[arg(long, env = "REFERENCE_BOOKING_PUBLIC_URL")]
    public_url: Option<String>,
    /// Webhook receivers of every booking state change, `name=url,name=url`.
    #[arg(long, env = "REFERENCE_BOOKING_WEBHOOKS", default_value = "")]
    webhooks: String,
    /// The HMAC-SHA256 key webhooks are signed with (at least 16 characters).
    #[arg(long, env = "REFERENCE_BOOKING_WEBHOOK_SECRET", hide_env_values = true, default_value = "")]
    webhook_secret: String,
}

#[derive(Debug, Subcommand)]
enum UnitsCommand {
    /// Add a unit (or replace the one with the same reference), linked to the registry's unit.
    Add {
        /// The reference the registry's vendor directory uses for the unit.
        #[arg(long = "ref")]
        external_ref: String,
        /// The registry's facility id.
        #[arg(long)]
        registry_facility: uuid::Uuid,
        /// The registry's unit id.
        #[arg(long)]
        registry_unit: uuid::Uuid,
        /// Name.
        #[arg(long)]
        name: String,
        /// The municipality (kommunkod) it is in, for the case officer's inbox per municipality.
        #[arg(long, value_parser = municipality_code)]
        municipality: Option<String>,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// List the units.
    List,
}

/// A unit's booking rules, as flags.
#[derive(Debug, clap::Args)]
struct RuleArgs {
    /// Slot granularity, minutes.
    #[arg(long, default_value_t = 60)]
    slot_minutes: i32,
    /// Shortest booking, minutes.
    #[arg(long, default_value_t = 60)]
    min_minutes: i32,
    /// Longest booking, minutes.
    #[arg(long, default_value_t = 240)]
    max_minutes: i32,
    /// Book at least this many minutes before the start.
    #[arg(long, default_value_t = 60)]
    lead_minutes: i32,
    /// Book at most this many days ahead.
    #[arg(long, default_value_t = 180)]
    horizon_days: i32,
    /// Customers cancel at least this many hours before the start.
    #[arg(long, default_value_t = 24)]
    cancel_hours: i32,
    /// Customer types that book directly (private_person, association, company).
    #[arg(long, value_delimiter = ',', default_value = "private_person,company")]
    direct: Vec<String>,
    /// Customer types that send a booking request.
    #[arg(long, value_delimiter = ',', default_value = "association")]
    request: Vec<String>,
    /// Price per hour, `type=amount` in öre (SEK), e.g. association=15000; repeatable.
    #[arg(long)]
    price: Vec<String>,
}

impl RuleArgs {
    fn rules(&self) -> anyhow::Result<Rules> {
        let mut prices = std::collections::BTreeMap::new();
        for p in &self.price {
            let (t, a) = p.split_once('=').with_context(|| format!("--price '{p}': write type=amount, e.g. association=15000"))?;
            let t = CustomerType::parse(t).with_context(|| format!("--price '{p}': '{t}' is not a customer type"))?;
            let a: i64 = a.parse().with_context(|| format!("--price '{p}': '{a}' is not an amount in öre"))?;
            prices.insert(t, Price { amount_minor: a, currency: "SEK".into() });
        }
        Ok(Rules {
            slot_minutes: self.slot_minutes,
            min_minutes: self.min_minutes,
            max_minutes: self.max_minutes,
            lead_minutes: self.lead_minutes,
            horizon_days: self.horizon_days,
            cancel_hours: self.cancel_hours,
            direct_types: types(&self.direct, "direct")?,
            request_types: types(&self.request, "request")?,
            prices,
        })
    }
}

fn types(v: &[String], flag: &str) -> anyhow::Result<Vec<CustomerType>> {
    v.iter()
        .filter(|s| !s.is_empty())
        .map(|s| CustomerType::parse(s).with_context(|| format!("--{flag}: '{s}' is not private_person, association or company")))
        .collect()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", reference_booking::rest::openapi_json());
        return Ok(());
    }
    let (url, mut embedded) = match &cli.db.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let opts = embedded::Options { data_dir: cli.db.data_dir.clone(), bin_dir: cli.db.pg_bindir.clone(), fast_unsafe: false };
            let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&opts)).await??;
            registry_core::db::ensure_database(&pg.url("postgres"), "reference_booking", None).await.context("creating the database")?;
            eprintln!("embedded PostgreSQL: data in {}, listening on 127.0.0.1:{}", pg.data_dir().display(), pg.port());
            (pg.url("reference_booking"), Some(pg))
        }
    };
    let result = command(cli, &url).await;
    if let Some(mut pg) = embedded.take() {
        tokio::task::spawn_blocking(move || pg.stop()).await??;
    }
    result
}

/// The backend without a registry, for the commands that manage units.
/// A municipality code: four digits of one of Sweden's municipalities.
fn municipality_code(s: &str) -> Result<String, String> {
    registry_core::codes::municipality(s).map(|m| m.code.to_string()).ok_or_else(|| format!("'{s}' is not a municipality code (kommunkod)"))
}

fn offline(pool: db::Pool) -> Backend {
    Backend::new(pool, Arc::new(Hours::new(None, Duration::from_secs(300))))
}

async fn command(cli: Cli, url: &str) -> anyhow::Result<()> {
    let applied = db::migrate(url).await.context("applying migrations")?;
    if let Command::Migrate = cli.command {
        println!("{} migrations applied", applied.len());
        return Ok(());
    }
    let pool = registry_core::db::pool(url, cli.db.max_connections.max(1))?;
    let pepper = cli.db.key_pepper.clone();
    match cli.command {
        Command::Keys(KeysCommand::Create { role, label }) => {
            let (info, token) = reference_booking::keys::create(&pool, &pepper, &role, &label).await?;
            println!("{token}");
            eprintln!("created {} key {} (id {}); store it now: it is shown only once", info.role, info.prefix, info.id);
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            for k in reference_booking::keys::list(&pool).await? {
                let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{status}\t{}\t{}", k.prefix, k.role, k.created_at.format("%Y-%m-%d %H:%M:%S UTC"), k.label);
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Revoke { prefix }) => {
            reference_booking::keys::revoke(&pool, &prefix).await?;
            eprintln!("revoked");
            Ok(())
        }
        Command::Migrate | Command::Openapi => Ok(()),
        Command::Units(UnitsCommand::List) => {
            for u in offline(pool).units().await? {
                println!("{}\t{}\t{}\t{}", u.external_ref, u.registry_facility_id, u.registry_unit_id, u.name);
            }
            Ok(())
        }
        Command::Units(UnitsCommand::Add { external_ref, registry_facility, registry_unit, name, municipality, rules }) => {
            let unit = Unit {
                id: uuid::Uuid::now_v7(),
                external_ref,
                registry_facility_id: registry_facility,
                registry_unit_id: registry_unit,
                name,
                rules: rules.rules()?,
                municipality_code: municipality,
                version: 1,
            };
            let saved = offline(pool).save_unit(&unit).await?;
            println!("{}", saved.external_ref);
            eprintln!("unit '{}' saved (version {})", saved.name, saved.version);
            Ok(())
        }
        Command::Serve(a) => serve(a, pool, &pepper, None).await,
        Command::Demo { serve: a, municipalities, name } => serve(a, pool, &pepper, Some((municipalities, name))).await,
    }
}

/// `serve`, and with `demo` (the registry's admin key, municipalities, vendor name) the demo set-up.
async fn serve(a: ServeArgs, pool: db::Pool, pepper: &str, demo: Option<(Vec<String>, String)>) -> anyhow::Result<()> {
    let ServeArgs {
        registry_key_file,
        listen,
        registry_url,
        hours_refresh,
        api_keys,
        insecure_allow_anonymous,
        public_url,
        webhooks,
        webhook_secret,
    } = a;
    // The demo runs on loopback for one person trying things out: it is development.
    let allow_anonymous = insecure_allow_anonymous || demo.is_some();
    let registry_key = match &registry_key_file {
        Some(f) => Some(
            std::fs::read_to_string(f).with_context(|| format!("reading the registry's API key from {}", f.display()))?.trim().to_string(),
        ),
        None => None,
    };
    let keys = ApiKeys::parse(&api_keys).map_err(|e| anyhow::anyhow!("--api-keys: {e}"))?;
    let receivers =
        reference_booking::webhooks::Receiver::parse_all(&webhooks, &webhook_secret).map_err(|e| anyhow::anyhow!("--webhooks: {e}"))?;
    // Said on stderr whatever the log level: it decides who may book.
    if allow_anonymous {
        eprintln!("WARNING: vendor.v1 callers without a key are accepted (--insecure-allow-anonymous or demo): development only");
    } else if keys.0.is_empty() && !reference_booking::keys::any(&pool).await? {
        eprintln!(
            "no API keys yet: every vendor.v1 call is refused until there is one; create it with `reference-booking keys create --role registry`"
        );
    }
    if registry_url.is_none() {
        tracing::warn!("no --registry-url: only opening hours already stored are known");
    }
    let refresh = Duration::from_secs(hours_refresh.max(10));
    let hours = Arc::new(Hours::new(registry_url.clone(), refresh).with_key(registry_key.clone()));
    let backend = Backend::new(pool, hours);
    let mut grpc = BookingGrpc::new(backend.clone(), keys, public_url).with_pepper(pepper);
    if allow_anonymous {
        grpc = grpc.allow_anonymous();
    }
    let app = server::app(backend.clone(), grpc, pepper).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let serving = tokio::spawn(server::serve(listener, app, shutdown));
    if let Some((municipalities, name)) = demo {
        // The registry checks the endpoint when it registers it: the server is up by now.
        let registry = registry_url.clone().context("demo needs --registry-url")?;
        let admin_key = registry_key.clone().context("demo needs --registry-key-file with an admin key of the registry")?;
        let setup = reference_booking::demo::DemoSetup { registry, admin_key, municipalities, name, endpoint: format!("http://{addr}") };
        let report = reference_booking::demo::setup(&backend, &setup).await.map_err(|e| anyhow::anyhow!("demo set-up: {e}"))?;
        eprintln!(
            "demo: '{}' books {} units of {} (vendor {} in the registry)",
            setup.name,
            report.units,
            setup.municipalities.join(", "),
            report.vendor_id
        );
    }
    println!("reference-booking listening on http://{addr}");
    let deliverers: Vec<_> = receivers
        .into_iter()
        .map(|r| tokio::spawn(reference_booking::webhooks::deliver(backend.pool().clone(), r, Default::default())))
        .collect();
    let refresher = registry_url.is_some().then(|| tokio::spawn(server::refresh_hours(backend, refresh)));
    let r = serving.await.map_err(|e| anyhow::anyhow!("the server stopped: {e}")).and_then(|r| r);
    for t in refresher.into_iter().chain(deliverers) {
        t.abort();
    }
    r
}
