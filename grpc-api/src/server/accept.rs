//! The accept loop: plain TCP or TLS, HTTP/1.1 and h2 on the same port (hyper-util's auto
//! builder), per-connection peer information, slow-header cut-off, graceful draining.

use std::time::Duration;

use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use registry_core::Registry;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::ServerConfig;
use crate::auth::{ConnInfo, fingerprint};

/// Serves the application on `listener` until `shutdown` resolves, then drains in-flight
/// requests for at most the configured drain time.
pub async fn serve_listener(
    registry: Registry,
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = config.tls.as_ref().map(super::tls::server_config).transpose()?.map(tokio_rustls::TlsAcceptor::from);
    let drain = config.drain_timeout;
    let header_timeout = config.header_timeout;
    let retention = config.personal_data_retention;
    // Notices go out by e-mail from the outbox, if an SMTP server is configured.
    let mailer = match config.mail.clone() {
        Some(mail) => Some(tokio::spawn(crate::mail::deliver_on_schedule(registry.clone(), crate::mail::SmtpChannel::new(&mail)?, mail))),
        None => None,
    };
    let (app, shared) = super::app(registry.clone(), config).await?;
    // Personal data past its retention leaves the change log.
    let redactor = retention.map(|r| tokio::spawn(super::redact_on_schedule(registry.clone(), r)));
    let certifier = shared.certifier.clone();
    // Decisions and cancellations at the vendors reach the registry (and the people) from their
    // change feeds; reminders go out before the start.
    let follower = shared.federation.clone().map(|f| {
        let (interval, remind) = (shared.config.booking_changes_interval, shared.config.booking_reminder);
        tokio::spawn(federation::service::feed::follow(f, interval, remind))
    });
    // The final seasonal allocations are booked at the vendors as weekly series.
    let series = shared
        .federation
        .clone()
        .map(|f| tokio::spawn(allocation::series::deliver(registry.clone(), f, shared.config.booking_changes_interval)));
    // Every vendor is run against the conformance kit on a schedule and when its capabilities change.
    let url = registry.database_url().to_string();
    let checker = tokio::spawn(federation::service::certification::schedule(registry, certifier));
    // A revoked key stops working on every replica the moment the revocation commits.
    let auth = shared.auth.clone();
    let revocations = tokio::spawn(async move { auth.follow_revocations(url).await });
    // Keyed rate-limit state is pruned in the background.
    let limits = shared.limits.clone();
    let pruner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.prune();
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(builder, watcher, stream, ConnInfo { peer, client_cert: None }, app).await,
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        let client_cert =
                            tls_stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| fingerprint(c.as_ref()));
                        serve_connection(builder, watcher, tls_stream, ConnInfo { peer, client_cert }, app).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
    drop(listener);
    pruner.abort();
    if let Some(f) = follower {
        f.abort();
    }
    if let Some(s) = series {
        s.abort();
    }
    if let Some(r) = redactor {
        r.abort();
    }
    if let Some(m) = mailer {
        m.abort();
    }
    checker.abort();
    revocations.abort();
    tracing::info!(connections = graceful.count(), "draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(drain) => tracing::warn!("drain time over; closing the remaining connections"),
    }
    Ok(())
}

async fn serve_connection<IO>(
    builder: auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: IO,
    info: ConnInfo,
    app: axum::Router,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = app.map_request(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(info.clone());
        req.map(axum::body::Body::new)
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc)).into_owned();
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
