//! Command-line interface of `registry`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use registry_core::{Registry, demo, keys};

use grpc_api::limits::RateQuotas;
use grpc_api::server::{self, ServerConfig, tls::TlsFiles};

use crate::database::{Database, DbArgs};

/// The national registry of municipal culture and leisure facilities (anläggningar),
/// associations (föreningar) and opening hours: API server and operator commands.
#[derive(Debug, Parser)]
#[command(name = "registry", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (REST and gRPC on one port) with /healthz and /readyz.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the demo dataset (15 pilot municipalities) idempotently, then serve like `serve`.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Create an admin API key and write it to this file (mode 0600), for scripts that set
        /// up more of the demo (e.g. `make demo`'s reference booking vendors).
        #[arg(long, value_name = "FILE")]
        admin_key_file: Option<std::path::PathBuf>,
    },
    /// Print the OpenAPI 3.1 document of the REST API (as served at /openapi.json).
    Openapi,
    /// Opening-hours maintenance.
    Hours {
        #[command(subcommand)]
        command: HoursCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Municipal staff: people who, signed in with Swedish eID, act as their municipality's
    /// editor (instead of sharing an API key).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Booking vendors: the vendor.v1 conformance suite.
    Vendors {
        #[command(subcommand)]
        command: VendorsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VendorsCommand {
    /// Runs the vendor.v1 conformance suite (docs/vendor-protocol.md) against a live endpoint and
    /// prints pass / fail / skip per check; exits 1 if any check fails.
    Conformance(ConformanceArgs),
}

#[derive(Debug, clap::Args)]
struct ConformanceArgs {
    /// The vendor's endpoint, e.g. https://boka.example.se:8443.
    #[arg(long)]
    endpoint: String,
    /// API key sent as x-api-key.
    #[arg(long, env = "REGISTRY_VENDOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// PEM file of the CA that signs the vendor's server certificate.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// PEM file of the client certificate (mTLS), with --client-key.
    #[arg(long, requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// PEM file of the client key.
    #[arg(long, requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    /// A unit reference the vendor knows (repeat for more); the availability checks need one.
    #[arg(long = "unit")]
    units: Vec<String>,
    /// Window start of the availability checks, RFC 3339 (default: next Thursday 17:00 UTC).
    #[arg(long)]
    start: Option<String>,
    /// Output format: text for people, json, or junit (XML) for a CI system.
    #[arg(long, value_enum, default_value = "text")]
    format: ConformanceFormat,
    /// Report only these checks (repeat; see docs/vendor-protocol.md §12 for the ids). The
    /// others still run when these need them, but are not reported or counted.
    #[arg(long = "only")]
    only: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ConformanceFormat {
    Text,
    Json,
    Junit,
}

/// The personal identity number of the demo's staff member (a test person of the local eID
/// provider that `make demo` starts; not a real person's number).
const DEMO_STAFF_PIN: &str = "198503152384";

/// An identity provider's `key=value,…` description.
fn parse_provider(s: &str) -> Result<grpc_api::oidc::ProviderConfig, String> {
    grpc_api::oidc::ProviderConfig::parse(s).map_err(|e| format!("{e:#}"))
}

/// An address or a CIDR (an address alone is the one host).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is not an IP address or CIDR such as 10.0.0.0/8"))
}

#[derive(Debug, Clone, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "REGISTRY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Secret mixed into API key hashes; must be the one used when the keys were created.
    #[arg(long, env = "REGISTRY_KEY_PEPPER", hide_env_values = true, default_value = "")]
    key_pepper: String,
    /// Largest request body (REST) or message (gRPC) in bytes.
    #[arg(long, env = "REGISTRY_BODY_LIMIT", default_value_t = server::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Longest a request may take, in seconds (then 504 / DEADLINE_EXCEEDED).
    #[arg(long, env = "REGISTRY_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Requests served at once; more are refused at once with 503 / UNAVAILABLE.
    #[arg(long, env = "REGISTRY_MAX_CONCURRENT", default_value_t = 512)]
    max_concurrent: usize,
    /// Requests one client address may have in flight at once; more are refused with 429 /
    /// RESOURCE_EXHAUSTED (health probes do not count).
    #[arg(long, env = "REGISTRY_MAX_CONCURRENT_PER_CLIENT", default_value_t = 64)]
    max_concurrent_per_client: usize,
    /// Longest a request body may take to arrive in full, in seconds (then 408 /
    /// DEADLINE_EXCEEDED).
    #[arg(long, env = "REGISTRY_BODY_TIMEOUT", default_value_t = 10)]
    body_timeout: u64,
    /// Requests per second (bursts of twice that) for anonymous callers, per client address.
    #[arg(long, env = "REGISTRY_RATE_ANONYMOUS", default_value_t = RateQuotas::default().anonymous)]
    rate_anonymous: u32,
    /// Requests per second per municipality editor key.
    #[arg(long, env = "REGISTRY_RATE_EDITOR", default_value_t = RateQuotas::default().editor)]
    rate_editor: u32,
    /// Requests per second per vendor key or client certificate.
    #[arg(long, env = "REGISTRY_RATE_VENDOR", default_value_t = RateQuotas::default().vendor)]
    rate_vendor: u32,
    /// Requests per second per national body key.
    #[arg(long, env = "REGISTRY_RATE_NATIONAL_BODY", default_value_t = RateQuotas::default().national_body)]
    rate_national_body: u32,
    /// Requests per second per admin key.
    #[arg(long, env = "REGISTRY_RATE_ADMIN", default_value_t = RateQuotas::default().admin)]
    rate_admin: u32,
    /// Requests per second per signed-in resident.
    #[arg(long, env = "REGISTRY_RATE_RESIDENT", default_value_t = RateQuotas::default().resident)]
    rate_resident: u32,
    /// An identity provider people sign in with (Swedish eID through OpenID Connect; repeat
    /// for several): `name=bankid,issuer=https://…,client-id=…[,client-secret-file=/path]
    /// [,display-name=BankID]`. Needs --public-url: the provider sends browsers back to
    /// {public URL}/auth/callback. In the environment, separate providers with `;`.
    #[arg(long = "oidc-provider", env = "REGISTRY_OIDC_PROVIDERS", value_delimiter = ';', value_parser = parse_provider)]
    oidc_providers: Vec<grpc_api::oidc::ProviderConfig>,
    /// The audience (`aud`) of access tokens issued for this registry, which apps send as
    /// `Authorization: Bearer`; without it only API keys are accepted as bearer tokens.
    #[arg(long, env = "REGISTRY_OIDC_AUDIENCE")]
    oidc_audience: Option<String>,
    /// Minutes a browser session may go unused before it ends.
    #[arg(long, env = "REGISTRY_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    session_idle_minutes: u32,
    /// Hours a browser session lasts at most, however much it is used.
    #[arg(long, env = "REGISTRY_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    session_max_hours: u32,
    /// Days the change log keeps personal data (associations' contact persons, a signed-in
    /// person as the author of a change) before redacting it; 0 keeps it for ever.
    #[arg(long, env = "REGISTRY_PERSONAL_DATA_RETENTION_DAYS", default_value_t = grpc_api::server::DEFAULT_RETENTION_DAYS as u32, value_parser = clap::value_parser!(u32).range(0..=36500))]
    personal_data_retention_days: u32,
    /// Seconds between reads of the vendors' change feeds (decisions, staff cancellations and
    /// moves at the vendors reach the registry and the people concerned).
    #[arg(long, env = "REGISTRY_VENDOR_CHANGES_INTERVAL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    vendor_changes_interval: u64,
    /// Hours before a booking's start its reminder is sent (owners can turn it off per
    /// booking); 0 sends no reminders.
    #[arg(long, env = "REGISTRY_BOOKING_REMINDER_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=720))]
    booking_reminder_hours: u32,
    /// E-mail notices (registration decisions) through this SMTP server: `smtps://host:465`
    /// (TLS) or `smtp://host:587?tls=required` (STARTTLS), with `user:password@` if needed;
    /// plain `smtp://` only to loopback. Without it, notices wait in the outbox.
    #[arg(long, env = "REGISTRY_SMTP_URL", requires = "mail_from")]
    smtp_url: Option<String>,
    /// The sender of notices, e.g. "Föreningsregistret <noreply@registry.example.se>".
    #[arg(long, env = "REGISTRY_MAIL_FROM")]
    mail_from: Option<String>,
    /// Seconds before a failed notice is tried again (doubled after each failure, at most an hour).
    #[arg(long, env = "REGISTRY_NOTICE_RETRY_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    notice_retry_seconds: u32,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "REGISTRY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "REGISTRY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Ask clients for certificates chained to this CA (PEM); a valid one makes the caller a vendor (mTLS).
    #[arg(long, env = "REGISTRY_CLIENT_CA", requires = "tls_cert")]
    client_ca: Option<std::path::PathBuf>,
    /// Seconds between scheduled conformance runs of every vendor (default daily; each run is
    /// kept in the vendor directory); 0 turns the schedule off.
    #[arg(long, env = "REGISTRY_VENDOR_CHECK_INTERVAL", default_value_t = federation::service::certification::DEFAULT_INTERVAL.as_secs())]
    vendor_check_interval: u64,
    /// Seconds between polls of every vendor's capabilities; a change starts a conformance run.
    #[arg(long, env = "REGISTRY_VENDOR_POLL_INTERVAL", default_value_t = federation::service::certification::DEFAULT_POLL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    vendor_poll_interval: u64,
    /// Seconds a passing conformance run certifies a vendor; without a newer passing run its
    /// certification then lapses, and the federated query no longer asks it.
    #[arg(long, env = "REGISTRY_CERTIFICATION_VALIDITY", default_value_t = federation::service::certification::DEFAULT_VALIDITY.as_secs(),
          value_parser = clap::value_parser!(u64).range(60..))]
    certification_validity: u64,
    /// The folder of the registry's client certificates for vendors that use mTLS:
    /// `{folder}/{credentialRef}/client.{crt,key}` (read again when they change).
    #[arg(long, env = "REGISTRY_VENDOR_CREDENTIALS", default_value = federation::service::clients::DEFAULT_CREDENTIALS_DIR)]
    vendor_credentials: std::path::PathBuf,
    /// Exports (`/v1/exports/…`, `ExportService`) that may run at once; each holds a database
    /// connection of its own for its snapshot. More are refused with 503 / UNAVAILABLE.
    #[arg(long, env = "REGISTRY_MAX_CONCURRENT_EXPORTS", default_value_t = 4)]
    max_concurrent_exports: usize,
    /// PostgreSQL URL of a read-only streaming replica: search and exports read there; writes
    /// and every other read stay on DATABASE_URL.
    #[arg(long, env = "REGISTRY_READ_DATABASE_URL", hide_env_values = true)]
    read_database_url: Option<String>,
    /// The URL clients reach this server at, e.g. https://registry.example.se when it runs
    /// behind a proxy: used for absolute links (the feeds' `next`). Default: the request's Host.
    #[arg(long, env = "REGISTRY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Map tiles for the resident search page, e.g. https://tiles.example.se/{z}/{x}/{y}.png
    /// (Web Mercator, 256-pixel tiles). Without it the map draws only the registry's own
    /// GeoJSON: municipality borders and facility points.
    #[arg(long, env = "REGISTRY_WEB_TILE_URL")]
    web_tile_url: Option<String>,
    /// Proxies in front of the registry (comma-separated addresses or CIDRs, e.g. the ingress
    /// controllers' 10.0.0.0/8) whose X-Forwarded-For names the caller: anonymous callers are
    /// then rate-limited by their own address instead of the proxy's. Default: none.
    #[arg(long, env = "REGISTRY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    trusted_proxies: Vec<ipnet::IpNet>,
    #[command(flatten)]
    db: DbArgs,
}

impl ServeArgs {
    fn server_config(&self) -> ServerConfig {
        ServerConfig {
            body_limit: self.body_limit,
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            max_concurrent: self.max_concurrent.max(1),
            max_concurrent_per_client: self.max_concurrent_per_client.max(1),
            body_timeout: std::time::Duration::from_secs(self.body_timeout.max(1)),
            max_concurrent_exports: self.max_concurrent_exports.max(1),
            public_url: self.public_url.clone(),
            web: grpc_api::web::WebConfig { tile_url: self.web_tile_url.clone() },
            trusted_proxies: self.trusted_proxies.clone(),
            rate: RateQuotas {
                anonymous: self.rate_anonymous,
                editor: self.rate_editor,
                vendor: self.rate_vendor,
                national_body: self.rate_national_body,
                admin: self.rate_admin,
                resident: self.rate_resident,
            },
            oidc: grpc_api::oidc::OidcConfig {
                providers: self.oidc_providers.clone(),
                audience: self.oidc_audience.clone(),
                public_url: self.public_url.clone().unwrap_or_default(),
            },
            sessions: registry_core::service::sessions::SessionPolicy {
                idle: chrono::Duration::minutes(self.session_idle_minutes.into()),
                absolute: chrono::Duration::hours(self.session_max_hours.into()),
            },
            mail: match (&self.smtp_url, &self.mail_from) {
                (Some(smtp_url), Some(from)) => Some(grpc_api::mail::MailConfig {
                    smtp_url: smtp_url.clone(),
                    from: from.clone(),
                    backoff: registry_core::notify::Backoff {
                        first: chrono::Duration::seconds(self.notice_retry_seconds.into()),
                        ..Default::default()
                    },
                    interval: std::time::Duration::from_secs(2).min(std::time::Duration::from_secs(self.notice_retry_seconds.into())),
                }),
                _ => None,
            },
            personal_data_retention: (self.personal_data_retention_days > 0)
                .then(|| chrono::Duration::days(self.personal_data_retention_days.into())),
            booking_changes_interval: std::time::Duration::from_secs(self.vendor_changes_interval),
            booking_reminder: (self.booking_reminder_hours > 0).then(|| chrono::Duration::hours(self.booking_reminder_hours.into())),
            key_pepper: self.key_pepper.clone(),
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone(), client_ca: self.client_ca.clone() }),
                _ => None,
            },
            vendor_check_interval: (self.vendor_check_interval > 0).then(|| std::time::Duration::from_secs(self.vendor_check_interval)),
            vendor_poll_interval: std::time::Duration::from_secs(self.vendor_poll_interval),
            certification_validity: std::time::Duration::from_secs(self.certification_validity),
            vendor_credentials: self.vendor_credentials.clone(),
            ..ServerConfig::default()
        }
    }
}

#[derive(Debug, Subcommand)]
enum HoursCommand {
    /// Recompute every schedule's open intervals for the next 400 days (run daily, e.g. from cron).
    Refresh,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        /// Role of the key: editor, vendor, national_body or admin.
        #[arg(long)]
        role: String,
        /// Municipality code (kommunkod) an editor key may edit, e.g. 1880. Required for editors only.
        #[arg(long)]
        municipality: Option<String>,
        /// Allow the key to read personal data (contact persons); every such read is audited.
        #[arg(long)]
        personal_data: bool,
        /// Free text to tell keys apart, e.g. the system or person it was issued to.
        #[arg(long, default_value = "")]
        label: String,
        /// For a vendor key: the vendor (its id in the vendor directory) whose own entry the key
        /// may keep up to date (endpoint, CA, limits) and whose checks it may run.
        #[arg(long, value_name = "VENDOR_ID")]
        vendor: Option<uuid::Uuid>,
        /// Secret mixed into key hashes; must be the same for `serve`.
        #[arg(long, env = "REGISTRY_KEY_PEPPER", hide_env_values = true, default_value = "")]
        pepper: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its prefix (the 8 hex digits after `rk_`) or id.
    Revoke {
        /// Key prefix or id.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Make a person staff of a municipality (replacing an entry of another municipality).
    /// Only a peppered hash of the number is stored.
    Add {
        /// The person's personal identity number (YYYYMMDD-NNNC), or `-` to read it from
        /// standard input (so it stays out of shell history and process lists).
        #[arg(long = "personal-identity-number", value_name = "NUMBER")]
        pin: String,
        /// The municipality code (kommunkod), e.g. 1880.
        #[arg(long)]
        municipality: String,
        /// Who the person is, for operators (e.g. a name and a department); not checked against eID.
        #[arg(long)]
        label: String,
        /// Secret mixed into hashes; must be the one `serve` uses.
        #[arg(long, env = "REGISTRY_KEY_PEPPER", hide_env_values = true, default_value = "")]
        pepper: String,
    },
    /// End a person's staff entry, and sign them out everywhere.
    Remove {
        /// The person's personal identity number, or `-` to read it from standard input.
        #[arg(long = "personal-identity-number", value_name = "NUMBER")]
        pin: String,
        /// Secret mixed into hashes; must be the one `serve` uses.
        #[arg(long, env = "REGISTRY_KEY_PEPPER", hide_env_values = true, default_value = "")]
        pepper: String,
    },
    /// List staff entries (labels and municipalities; numbers are not stored).
    List,
}

/// A personal identity number given on the command line, or read from standard input for `-`.
fn pin_argument(value: &str) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value.to_string());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the personal identity number from standard input")?;
    Ok(line.trim().to_string())
}

async fn staff_command(registry: &Registry, command: StaffCommand) -> anyhow::Result<()> {
    use registry_core::service::sessions::staff;
    match command {
        StaffCommand::Add { pin, municipality, label, pepper } => {
            let row = staff::add(registry.pool(), &pepper, registry.clock(), &pin_argument(&pin)?, &municipality, &label).await?;
            println!("staff of {}: {} (person {})", row.municipality_code, row.label, registry_core::person::audit_id(&row.person_ref));
        }
        StaffCommand::Remove { pin, pepper } => {
            if staff::remove(registry.pool(), &pepper, registry.clock(), &pin_argument(&pin)?).await? {
                println!("removed, and signed out everywhere");
            } else {
                anyhow::bail!("this person is not staff");
            }
        }
        StaffCommand::List => {
            println!("{:<6} {:<22} {:<24} label", "kommun", "person", "since");
            for row in staff::list(registry.pool()).await? {
                println!(
                    "{:<6} {:<22} {:<24} {}",
                    row.municipality_code,
                    registry_core::person::audit_id(&row.person_ref),
                    row.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    row.label
                );
            }
        }
    }
    Ok(())
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            print!("{}", grpc_api::openapi::json());
            Ok(())
        }
        Command::Serve(args) => serve(args, false, None).await,
        Command::Demo { serve: args, admin_key_file } => serve(args, true, admin_key_file).await,
        Command::Migrate { db } => {
            let database = Database::open(&db).await?;
            let applied = registry_core::db::applied(&database.url).await?;
            println!("database is up to date: {} migrations applied ({})", applied.len(), applied.join(", "));
            database.close().await
        }
        Command::Hours { command: HoursCommand::Refresh, db } => {
            let database = Database::open(&db).await?;
            let registry = Registry::connect(&database.url, 2)?;
            let result = registry.refresh_open_intervals().await;
            drop(registry);
            database.close().await?;
            let (schedules, intervals) = result?;
            println!("refreshed {schedules} opening-hours schedules: {intervals} open intervals for the next 400 days");
            Ok(())
        }
        Command::Vendors { command: VendorsCommand::Conformance(a) } => conformance(a).await,
        Command::Staff { command, db } => {
            let database = Database::open(&db).await?;
            let registry = Registry::connect(&database.url, 2)?;
            let result = staff_command(&registry, command).await;
            drop(registry);
            database.close().await?;
            result
        }
        Command::Keys { command, db } => {
            let database = Database::open(&db).await?;
            let registry = Registry::connect(&database.url, 2)?;
            let result = keys_command(&registry, command).await;
            drop(registry);
            database.close().await?;
            result
        }
    }
}

async fn serve(args: ServeArgs, with_demo: bool, admin_key_file: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    // Handlers first: Ctrl-C or SIGTERM at any point (start-up, demo loading, serving) is a
    // clean stop that also stops the embedded database.
    let mut shutdown = Box::pin(server::shutdown_signal()?);
    let database = tokio::select! {
        db = Database::open(&args.db) => db?,
        () = &mut shutdown => return Ok(()),
    };
    let mut registry = Registry::connect(&database.url, args.db.max_connections)?;
    if let Some(replica) = &args.read_database_url {
        registry = registry.with_read_replica(replica, args.db.max_connections)?;
        tracing::info!("search and exports read from the read-only replica (--read-database-url)");
    }
    let result = async {
        if with_demo {
            eprintln!("loading the demo dataset (15 pilot municipalities)…");
            let loaded = tokio::select! {
                loaded = demo::load(&registry) => loaded.context("loading the demo dataset")?,
                () = &mut shutdown => return Ok(()),
            };
            eprintln!(
                "demo dataset: {} facilities and {} associations added, {} already present",
                loaded.facilities, loaded.associations, loaded.skipped
            );
            // The demo's test eID person "sara" (scripts/demo.sh) is staff of Malmö.
            let staff = registry_core::service::sessions::staff::add(
                registry.pool(),
                &args.key_pepper,
                registry.clock(),
                DEMO_STAFF_PIN,
                "1280",
                "Demo: Sara Lind, Malmö stad",
            )
            .await
            .context("adding the demo's staff entry")?;
            eprintln!("demo staff: {} of municipality {}", staff.label, staff.municipality_code);
            // … and "anna" represents Malmö Innebandyklubb.
            let (org, pin, name) = demo::demo_representative();
            let operator = registry_core::auth::Principal::operator("demo");
            let club = registry.get_association_by_org_number(&operator, &org).await.context("finding the demo's association")?;
            let with_pepper = registry.clone().with_pepper(&args.key_pepper);
            let new = registry_core::model::NewRepresentative { personal_identity_number: pin.into(), name: name.into() };
            match with_pepper.add_representative(&operator, club.id, &new).await {
                Ok(_) => eprintln!("demo representative: {name} of {}", club.name),
                Err(registry_core::Error::Conflict { .. }) => {}
                Err(e) => return Err(e).context("adding the demo's representative"),
            }
            let round = allocation::demo::load(&registry).await.context("setting up the demo's seasonal allocation round")?;
            eprintln!("demo seasonal allocation: round {round} in Malmö, its preliminary allocation published");
            let programmes = grants::demo::load(&registry).await.context("setting up the demo's grant programmes")?;
            eprintln!("demo grants: {} programmes in Malmö, open for applications", programmes.len());
            if loaded.boundaries > 0 {
                eprintln!(
                    "demo map: approximate boundaries of {} municipalities drawn (not the real borders; `geodata-sync boundaries` loads those)",
                    loaded.boundaries
                );
            }
        }
        if let Some(path) = &admin_key_file {
            let new = keys::NewKey {
                role: "admin".into(),
                municipality_code: None,
                personal_data: false,
                label: "demo set-up".into(),
                vendor_id: None,
            };
            let (_, token) = keys::create(registry.pool(), &args.key_pepper, &new).await?;
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("writing the admin key to {}", path.display()))?;
            writeln!(f, "{token}")?;
            eprintln!("demo: an admin API key is in {}", path.display());
        }
        let config = args.server_config();
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        // Printed on stdout so scripts and tests can find the port when listening on port 0.
        println!("registry listening on {scheme}://{addr}");
        tracing::info!(%addr, "serving REST, gRPC and gRPC-Web");
        server::serve_listener(registry, config, listener, shutdown).await
    }
    .await;
    database.close().await?;
    result
}

async fn keys_command(registry: &Registry, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { role, municipality, personal_data, label, vendor, pepper } => {
            let new = keys::NewKey { role, municipality_code: municipality, personal_data, label, vendor_id: vendor };
            let (info, token) = keys::create(registry.pool(), &pepper, &new).await?;
            println!("{token}");
            eprintln!(
                "created {} key {} (id {}){}; store it now: it is shown only once",
                info.role,
                info.prefix,
                info.id,
                info.municipality_code
                    .map(|m| format!(" for municipality {m}"))
                    .or(info.vendor_id.map(|v| format!(" for vendor {v}")))
                    .unwrap_or_default()
            );
        }
        KeysCommand::List => {
            let all = keys::list(registry.pool()).await?;
            println!("{:<10} {:<14} {:<6} {:<5} {:<8} {:<26} label", "prefix", "role", "kommun", "pd", "status", "created");
            for k in all {
                println!(
                    "{:<10} {:<14} {:<6} {:<5} {:<8} {:<26} {}",
                    k.prefix,
                    k.role,
                    k.municipality_code.as_deref().unwrap_or("-"),
                    if k.personal_data { "yes" } else { "no" },
                    if k.revoked_at.is_some() { "revoked" } else { "active" },
                    k.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    match k.vendor_id {
                        Some(v) if k.label.is_empty() => format!("(vendor {v})"),
                        Some(v) => format!("{} (vendor {v})", k.label),
                        None => k.label,
                    }
                );
            }
        }
        KeysCommand::Revoke { key } => {
            let info = keys::revoke(registry.pool(), &key).await?;
            println!("revoked key {} ({})", info.prefix, info.role);
        }
    }
    Ok(())
}

async fn conformance(a: ConformanceArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let read = |p: &std::path::Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let client_identity = match (&a.client_cert, &a.client_key) {
        (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
        _ => None,
    };
    let connection = federation::grpc::Connection {
        endpoint: a.endpoint.clone(),
        ca_pem: a.ca.as_deref().map(read).transpose()?,
        client_identity,
        api_key: a.api_key.clone(),
        server_name: None,
    };
    let client = federation::grpc::GrpcVendor::connect_lazy(&connection).map_err(|e| anyhow::anyhow!("--endpoint: {e}"))?;
    let start = match &a.start {
        Some(s) => chrono::DateTime::parse_from_rfc3339(s).with_context(|| format!("--start '{s}' is not an RFC 3339 time"))?.timestamp(),
        None => {
            // Next Thursday 17:00 UTC: an evening in the coming week, as residents ask.
            let now = chrono::Utc::now().timestamp();
            let day = 86_400;
            let days_since_epoch = now.div_euclid(day);
            let thursday = days_since_epoch + (7 - (days_since_epoch % 7)) % 7 + 7; // 1970-01-01 was a Thursday
            thursday * day + 17 * 3600
        }
    };
    let options = federation::conformance::Options {
        units: a.units.clone(),
        start: prost_types::Timestamp { seconds: start, nanos: 0 },
        writes: true,
    };
    let known = federation::conformance::all_checks();
    if let Some(bad) = a.only.iter().find(|id| !known.iter().any(|k| k.0 == id.as_str())) {
        let ids: Vec<&str> = known.iter().map(|k| k.0).collect();
        anyhow::bail!("--only '{bad}' is not a check of the kit; the checks are: {}", ids.join(", "));
    }
    let mut results = federation::conformance::run(&client, &options).await;
    if !a.only.is_empty() {
        results.retain(|r| a.only.iter().any(|id| id == r.id));
    }
    let (text, ok) = federation::conformance::render_text(&results);
    match a.format {
        ConformanceFormat::Text => print!("{text}"),
        ConformanceFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"endpoint": a.endpoint, "passed": ok, "checks": results}))?)
        }
        ConformanceFormat::Junit => print!("{}", federation::conformance::render_junit(&results, &a.endpoint)),
    }
    if !ok {
        anyhow::bail!("the endpoint does not conform to vendor.v1");
    }
    Ok(())
}
