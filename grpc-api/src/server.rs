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
    match registry.ready().await {
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

/// Serves until SIGINT or SIGTERM, then drains open requests.
pub async fn serve(registry: Registry, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    // Printed on stdout so scripts and tests can find the port when listening on port 0.
    println!("registry listening on http://{addr}");
    tracing::info!(%addr, "serving");
    axum::serve(listener, router(registry)).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("stopped serving");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
        _ = term.recv() => tracing::info!("terminated; shutting down"),
    }
}
