//! The one port: REST, gRPC and gRPC-Web (routed by content type), `/healthz`, `/readyz`,
//! `/metrics`, behind one middleware stack, over plain TCP or TLS.

mod accept;
pub mod guard;
mod middleware;
pub mod tls;

use federation::service::certification;
use federation::service::clients::{Clients, Credentials};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry_core::Registry;
use tower::ServiceExt;

pub use accept::serve_listener;
/// A trusted proxy's address range (see [`ServerConfig::trusted_proxies`]).
pub use ipnet::IpNet as TrustedNet;

use crate::auth::Authenticator;
use crate::errors::{ApiError, PROBLEM_TYPES};
use crate::grpc::RegistryGrpc;
use crate::grpc::availability::AvailabilityGrpc;
use crate::grpc::hours::OpeningHoursGrpc;
use crate::grpc::search::SearchGrpc;
use crate::limits::{RateLimits, RateQuotas};
use crate::metrics::Metrics;
use crate::proto::v1::account_service_server::AccountServiceServer;
use crate::proto::v1::allocation_service_server::AllocationServiceServer;
use crate::proto::v1::association_service_server::AssociationServiceServer;
use crate::proto::v1::availability_service_server::AvailabilityServiceServer;
use crate::proto::v1::booking_service_server::BookingServiceServer;
use crate::proto::v1::change_service_server::ChangeServiceServer;
use crate::proto::v1::export_service_server::ExportServiceServer;
use crate::proto::v1::facility_service_server::FacilityServiceServer;
use crate::proto::v1::grants_service_server::GrantsServiceServer;
use crate::proto::v1::municipality_service_server::MunicipalityServiceServer;
use crate::proto::v1::opening_hours_service_server::OpeningHoursServiceServer;
use crate::proto::v1::search_service_server::SearchServiceServer;
use crate::proto::v1::vendor_directory_service_server::VendorDirectoryServiceServer;
use crate::rest::{self, BodyLimit};

pub use crate::rest::DEFAULT_BODY_LIMIT;

/// Everything the server needs besides the core.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body (REST) or message (gRPC), in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered 504 / DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// Requests served at once; more are shed with 503 / UNAVAILABLE.
    pub max_concurrent: usize,
    /// Requests one client address may have in flight at once; more get 429 /
    /// RESOURCE_EXHAUSTED (health probes are not counted).
    pub max_concurrent_per_client: usize,
    /// Longest a request body may take to arrive in full (then 408 / DEADLINE_EXCEEDED).
    pub body_timeout: Duration,
    /// Longest a client may take to send its request headers (slow clients are cut off).
    pub header_timeout: Duration,
    /// On shutdown, how long in-flight requests may finish.
    pub drain_timeout: Duration,
    /// Rate limits per role.
    pub rate: RateQuotas,
    /// The period the rate quotas count requests over (a second: requests per second).
    pub rate_period: Duration,
    /// Pepper of API key hashes.
    pub key_pepper: String,
    /// TLS, if enabled.
    pub tls: Option<tls::TlsFiles>,
    /// How often every vendor's endpoint is run against the conformance kit; None: never on a schedule.
    pub vendor_check_interval: Option<Duration>,
    /// How often every vendor's capabilities are polled (a change starts a run).
    pub vendor_poll_interval: Duration,
    /// How long a passing conformance run certifies a vendor.
    pub certification_validity: Duration,
    /// The folder of the registry's client certificates for vendors (`{dir}/{credentialRef}/client.{crt,key}`).
    pub vendor_credentials: std::path::PathBuf,
    /// Exports that may run at once (each holds a database connection of its own).
    pub max_concurrent_exports: usize,
    /// The URL clients reach this server at (behind a proxy), for absolute links such as the
    /// feeds' `next`; without it, links use the request's Host.
    pub public_url: Option<String>,
    /// The resident search page at `/`.
    pub web: crate::web::WebConfig,
    /// Proxies (ingress controllers, load balancers) whose `X-Forwarded-For` is believed, so
    /// that anonymous callers are rate-limited by their own address, not the proxy's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sign-in with Swedish eID (OpenID Connect providers); none configured: no sign-in.
    pub oidc: crate::oidc::OidcConfig,
    /// How long browser sessions live.
    pub sessions: registry_core::service::sessions::SessionPolicy,
    /// How long the change log keeps personal data (associations' contact persons, a
    /// person's pseudonym as actor) before it is redacted; `None` keeps it.
    pub personal_data_retention: Option<chrono::Duration>,
    /// E-mailing notices (registration decisions); `None`: notices wait in the outbox.
    pub mail: Option<crate::mail::MailConfig>,
    /// How often the vendors' change feeds are read (vendor.v1.1 `ListChanges`).
    pub booking_changes_interval: Duration,
    /// How long before a booking's start its reminder goes out; `None`: no reminders.
    pub booking_reminder: Option<chrono::Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            max_concurrent: 512,
            max_concurrent_per_client: 64,
            body_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(20),
            rate: RateQuotas::default(),
            rate_period: Duration::from_secs(1),
            key_pepper: String::new(),
            tls: None,
            vendor_check_interval: Some(certification::DEFAULT_INTERVAL),
            vendor_poll_interval: certification::DEFAULT_POLL,
            certification_validity: certification::DEFAULT_VALIDITY,
            vendor_credentials: federation::service::clients::DEFAULT_CREDENTIALS_DIR.into(),
            max_concurrent_exports: 4,
            public_url: None,
            web: crate::web::WebConfig::default(),
            trusted_proxies: Vec::new(),
            oidc: crate::oidc::OidcConfig::default(),
            sessions: registry_core::service::sessions::SessionPolicy::default(),
            personal_data_retention: Some(chrono::Duration::days(DEFAULT_RETENTION_DAYS)),
            booking_changes_interval: Duration::from_secs(10),
            booking_reminder: Some(chrono::Duration::hours(24)),
            mail: None,
        }
    }
}

impl ServerConfig {
    /// How vendors are certified, by the registry's `clock`, with the vendors' `clients`.
    pub fn certifier(&self, clock: &registry_core::Clock, clients: Arc<Clients>) -> certification::Certifier {
        certification::Certifier {
            clock: clock.clone(),
            interval: self.vendor_check_interval,
            poll: self.vendor_poll_interval.max(Duration::from_millis(10)),
            validity: self.certification_validity,
            clients,
        }
    }

    /// Where the registry's credentials for vendors are.
    pub fn credentials(&self) -> Credentials {
        Credentials { dir: self.vendor_credentials.clone() }
    }
}

/// State shared by the middleware.
#[derive(Clone)]
pub struct Shared {
    /// The core.
    pub registry: Registry,
    /// Authentication.
    pub auth: Authenticator,
    /// Rate limits.
    pub limits: RateLimits,
    /// Metrics.
    pub metrics: Metrics,
    /// Configuration.
    pub config: Arc<ServerConfig>,
    /// How vendors are certified (the schedule runs with it), with the vendor clients the
    /// federated queries use too.
    pub certifier: certification::Certifier,
    /// Requests in flight per client address.
    pub in_flight: guard::InFlight,
    /// Sign-in with OpenID Connect and the sessions it starts.
    pub oidc: crate::oidc::Oidc,
    /// The use cases that reach the vendors (set once the app is built).
    pub federation: Option<Arc<federation::service::Service>>,
}

/// Whether a request is gRPC or gRPC-Web (by content type).
pub fn is_grpc(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// Days the change log keeps personal data by default (two years).
pub const DEFAULT_RETENTION_DAYS: i64 = 730;

/// Redacts personal data older than `retention` from the change log, now and then every hour.
pub async fn redact_on_schedule(registry: Registry, retention: chrono::Duration) {
    let job = registry_core::auth::Principal::system("system:retention");
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match registry.redact_personal_history(&job, registry.now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "personal data past its retention redacted from the change log"),
            Err(e) => tracing::warn!(error = %e, "redacting personal data from the change log failed; trying again in an hour"),
        }
        // A booking's notice address is needed until its last notice: 30 days after its end.
        match registry.forget_booking_addresses(registry.now() - chrono::Duration::days(30)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(bookings = n, "notice addresses of past bookings forgotten"),
            Err(e) => tracing::warn!(error = %e, "forgetting the notice addresses of past bookings failed; trying again in an hour"),
        }
    }
}

/// Builds the whole application: routes, gRPC services, middleware.
pub async fn app(registry: Registry, config: ServerConfig) -> anyhow::Result<(Router, Shared)> {
    // One set of vendor clients for the federated queries, the bookings and the checks.
    let clients = Arc::new(Clients::new(config.credentials(), federation::service::clients::DEFAULT_RECHECK));
    let registry = registry.with_pepper(&config.key_pepper);
    let sessions = registry_core::service::sessions::Sessions::new(
        registry.pool().clone(),
        &config.key_pepper,
        registry.clock().clone(),
        config.sessions,
    );
    let mut oidc_config = config.oidc.clone();
    if oidc_config.public_url.is_empty() {
        oidc_config.public_url = config.public_url.clone().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    }
    if !oidc_config.providers.is_empty() && config.public_url.is_none() && config.oidc.public_url.is_empty() {
        anyhow::bail!(
            "signing in with an identity provider needs --public-url: the provider sends browsers back to {{public URL}}/auth/callback"
        );
    }
    let oidc = crate::oidc::Oidc::new(oidc_config, sessions, registry.clock().clone())?;
    oidc.discover_all().await;
    let shared = Shared {
        oidc: oidc.clone(),
        certifier: config.certifier(registry.clock(), clients.clone()),
        in_flight: guard::InFlight::default(),
        auth: Authenticator::new(registry.pool().clone(), &config.key_pepper).with_oidc(oidc.clone()),
        limits: RateLimits::with_period(config.rate, config.rate_period),
        metrics: Metrics::new(registry.pool().clone()),
        config: Arc::new(config),
        registry: registry.clone(),
        federation: None,
    };
    let availability = federation::service::Service::new(registry.clone(), clients);
    let mut shared = shared;
    shared.federation = Some(availability.clone());
    let slots = crate::shared::ExportSlots::new(shared.config.max_concurrent_exports.max(1));
    let certifier = shared.certifier.clone();
    let grpc = grpc_router(registry.clone(), availability.clone(), slots.clone(), shared.config.body_limit, certifier.clone()).await?;
    let limit = shared.config.body_limit;
    let rest = rest_routes(shared.config.web.clone())?
        .with_state(registry)
        .layer(axum::middleware::from_fn(middleware::tag_route))
        .route("/metrics", get(metrics_route).with_state(shared.metrics.clone()))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(axum::Extension(availability))
        .layer(axum::Extension(slots))
        .layer(axum::Extension(certifier))
        .layer(axum::Extension(shared.oidc.clone()))
        .layer(axum::Extension(crate::rest::changes::PublicUrl {
            configured: shared.config.public_url.clone(),
            tls: shared.config.tls.is_some(),
        }));
    // One port: gRPC (and gRPC-Web) by content type, everything else to REST.
    let steer = tower::service_fn(move |req: Request| {
        let target = if is_grpc(req.headers()) { grpc.clone() } else { rest.clone() };
        target.oneshot(req)
    });
    let app = Router::new().fallback_service(steer);
    Ok((middleware::stack(app, shared.clone()), shared))
}

/// The REST side's routes: the API, the resident web pages and the operations routes (all but
/// `/metrics`, which [`app`] adds outside the route tagging), with the fallbacks that answer
/// problem+json. The OpenAPI test compares these routes with the document.
pub(crate) fn rest_routes(web: crate::web::WebConfig) -> anyhow::Result<Router<Registry>> {
    Ok(rest::router()
        .merge(crate::web::router(web)?)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/problems/{slug}", get(problem_type))
        .route("/openapi.json", get(openapi_json))
        .fallback(|req: Request| async move { ApiError::RouteNotFound(req.uri().path().to_string()).into_response() })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() }))
}

async fn grpc_router(
    registry: Registry,
    availability: Arc<federation::service::Service>,
    slots: crate::shared::ExportSlots,
    limit: usize,
    certifier: certification::Certifier,
) -> anyhow::Result<Router> {
    let changes = crate::grpc::changes::ChangesGrpc::new(registry.clone());
    let exports = crate::grpc::exports::ExportsGrpc::new(registry.clone(), slots);
    let bookings = crate::grpc::bookings::BookingGrpc::new(availability.clone(), registry.clone());
    // Runs ask the units' booking systems what they have booked, as REST's do.
    let allocation = crate::grpc::allocation::AllocationGrpc::new(registry.clone(), availability.clone());
    let grants = crate::grpc::grants::GrantsGrpc::new(registry.clone());
    let availability = AvailabilityGrpc::new(availability);
    let hours = OpeningHoursGrpc::new(registry.clone());
    let search = SearchGrpc::new(registry.clone());
    let vendors = crate::grpc::vendors::VendorsGrpc::new(registry.clone(), certifier);
    let svc = RegistryGrpc::new(registry);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<MunicipalityServiceServer<RegistryGrpc>>().await;
    health.set_serving::<FacilityServiceServer<RegistryGrpc>>().await;
    health.set_serving::<AssociationServiceServer<RegistryGrpc>>().await;
    health.set_serving::<AccountServiceServer<RegistryGrpc>>().await;
    health.set_serving::<OpeningHoursServiceServer<OpeningHoursGrpc>>().await;
    health.set_serving::<SearchServiceServer<SearchGrpc>>().await;
    health.set_serving::<AvailabilityServiceServer<AvailabilityGrpc>>().await;
    health.set_serving::<BookingServiceServer<crate::grpc::bookings::BookingGrpc>>().await;
    health.set_serving::<VendorDirectoryServiceServer<crate::grpc::vendors::VendorsGrpc>>().await;
    health.set_serving::<ChangeServiceServer<crate::grpc::changes::ChangesGrpc>>().await;
    health.set_serving::<ExportServiceServer<crate::grpc::exports::ExportsGrpc>>().await;
    health.set_serving::<AllocationServiceServer<crate::grpc::allocation::AllocationGrpc>>().await;
    health.set_serving::<GrantsServiceServer<crate::grpc::grants::GrantsGrpc>>().await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let web = tonic_web::GrpcWebLayer::new();
    use tower::Layer;
    let routes = tonic::service::Routes::new(web.layer(MunicipalityServiceServer::new(svc.clone()).max_decoding_message_size(limit)))
        .add_service(web.layer(FacilityServiceServer::new(svc.clone()).max_decoding_message_size(limit)))
        .add_service(web.layer(AssociationServiceServer::new(svc.clone()).max_decoding_message_size(limit)))
        .add_service(web.layer(AccountServiceServer::new(svc).max_decoding_message_size(limit)))
        .add_service(web.layer(OpeningHoursServiceServer::new(hours).max_decoding_message_size(limit)))
        .add_service(web.layer(SearchServiceServer::new(search).max_decoding_message_size(limit)))
        .add_service(web.layer(AvailabilityServiceServer::new(availability).max_decoding_message_size(limit)))
        .add_service(web.layer(BookingServiceServer::new(bookings).max_decoding_message_size(limit)))
        .add_service(web.layer(VendorDirectoryServiceServer::new(vendors).max_decoding_message_size(limit)))
        .add_service(web.layer(ChangeServiceServer::new(changes).max_decoding_message_size(limit)))
        .add_service(web.layer(ExportServiceServer::new(exports).max_decoding_message_size(limit)))
        .add_service(web.layer(AllocationServiceServer::new(allocation).max_decoding_message_size(limit)))
        // Attachments and attendance lists are larger than `limit`: their methods take what
        // REST's upload routes take, the others `limit`.
        .add_service(web.layer(crate::grpc::grants::server(grants, limit)))
        .add_service(web.layer(health_service))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    Ok(routes.into_axum_router())
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// What the last readiness check found, and when.
type LastCheck = Option<(std::time::Instant, Result<(), String>)>;

/// The database is asked at most once a second however many probes come (probes pass no rate
/// limit, so a flood of them must not become a flood of database pings).
static READINESS: tokio::sync::Mutex<LastCheck> = tokio::sync::Mutex::const_new(None);

/// Readiness: the database answers (within 3 s).
async fn readyz(State(registry): State<Registry>) -> Response {
    let mut last = READINESS.lock().await;
    let fresh = last.as_ref().filter(|(at, _)| at.elapsed() < Duration::from_secs(1)).map(|(_, r)| r.clone());
    let answer = match fresh {
        Some(r) => r,
        None => {
            let r = match tokio::time::timeout(Duration::from_secs(3), registry.ready()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the database did not answer within 3 s".to_string()),
            };
            *last = Some((std::time::Instant::now(), r.clone()));
            r
        }
    };
    drop(last);
    match answer {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => ApiError::Core(registry_core::Error::Unavailable(e)).into_response(),
    }
}

/// The OpenAPI document.
async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::json()).into_response()
}

/// Explains a problem type.
async fn problem_type(Path(slug): Path<String>) -> Response {
    match PROBLEM_TYPES.iter().find(|(s, _)| *s == slug) {
        Some((s, text)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{s}: {text}\n")).into_response(),
        None => ApiError::RouteNotFound(format!("/problems/{slug}")).into_response(),
    }
}

async fn metrics_route(State(m): State<Metrics>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render()).into_response()
}

/// A running server (for tests and embedding): its address and a way to stop it.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and waits until done.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await?
    }
}

/// Binds `listen` and serves in the background until [`Running::shutdown`].
pub async fn start(registry: Registry, config: ServerConfig, listen: SocketAddr) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(serve_listener(registry, config, listener, async move {
        let _ = rx.await;
    }));
    Ok(Running { addr, stop: Some(tx), task })
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM; the handlers are installed at once.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("interrupted; shutting down"),
            _ = term.recv() => tracing::info!("terminated; shutting down"),
        }
    })
}
