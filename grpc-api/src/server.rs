//! The HTTP server on the one port: operations endpoints for now (`/healthz`, `/readyz`);
//! REST and gRPC join on the same listener.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry_core::Registry;

/// Builds the router.
pub fn router(registry: Registry) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(registry)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
async fn readyz(State(registry): State<Registry>) -> Response {
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), registry.ready()).await;
    match answer.unwrap_or_else(|_| Err(registry_core::Error::Unavailable("the database did not answer within 3 s".into()))) {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/problem+json")],
            serde_json::json!({
                "type": "https://registry.example/problems/unavailable",
                "title": "Service unavailable",
                "status": 503,
                "detail": e.to_string(),
            })
            .to_string(),
        )
            .into_response(),
    }
}

/// Serves until `shutdown` resolves (see [`shutdown_signal`]), then drains open requests.
pub async fn serve(registry: Registry, listen: SocketAddr, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    // Printed on stdout so scripts and tests can find the port when listening on port 0.
    println!("registry listening on http://{addr}");
    tracing::info!(%addr, "serving");
    axum::serve(listener, router(registry)).with_graceful_shutdown(shutdown).await?;
    tracing::info!("stopped serving");
    Ok(())
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
