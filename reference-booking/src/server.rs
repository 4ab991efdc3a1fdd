//! One port: vendor.v1 `BookingProvider` (gRPC, with gRPC health and reflection) and the
//! operations endpoints `/healthz` and `/readyz`.

use std::future::Future;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use vendor_proto::v1::booking_provider_server::BookingProviderServer;

use crate::grpc::BookingGrpc;
use crate::service::Backend;

/// Largest gRPC message accepted.
const MESSAGE_LIMIT: usize = 1024 * 1024;

/// The application: gRPC services, REST for customers and staff (API keys hashed with
/// `pepper`), and the operations routes.
pub async fn app(backend: Backend, grpc: BookingGrpc, pepper: &str) -> anyhow::Result<Router> {
    let rest = crate::rest::router(backend.clone(), pepper);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<BookingProviderServer<BookingGrpc>>().await;
    // Reflection in both versions: grpcurl and grpc-java ask v1, many other clients (Python's
    // grpcio-reflection, older tools) still only v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(vendor_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let routes = tonic::service::Routes::new(BookingProviderServer::new(grpc).max_decoding_message_size(MESSAGE_LIMIT))
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    let ops = Router::new().route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) })).route(
        "/readyz",
        get(move || {
            let backend = backend.clone();
            async move {
                let ready = match backend.pool().get().await {
                    Ok(mut c) => diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut c).await.is_ok(),
                    Err(_) => false,
                };
                if ready {
                    axum::Json(serde_json::json!({"status": "ready"})).into_response()
                } else {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "the database does not answer"})))
                        .into_response()
                }
            }
        }),
    );
    Ok(routes.into_axum_router().merge(ops).merge(rest).layer(axum::extract::DefaultBodyLimit::max(MESSAGE_LIMIT)))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Refreshes every unit's opening hours from the registry every `every`.
pub async fn refresh_hours(backend: Backend, every: std::time::Duration) {
    loop {
        match backend.units().await {
            Ok(units) => {
                for u in units {
                    if let Err(e) = backend.hours().refresh(backend.pool(), &u).await {
                        tracing::warn!(unit = %u.external_ref, error = %e, "opening hours not refreshed");
                    }
                    // Paced, so that a refresh stays well inside the registry's rate limit.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list units"),
        }
        tokio::time::sleep(every).await;
    }
}
