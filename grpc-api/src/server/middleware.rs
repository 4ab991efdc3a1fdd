//! The middleware stack, outermost first: metrics → overload protection (load shedding,
//! concurrency limit, timeout) → authentication and rate limiting → the routes.

use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use registry_core::Error;
use tower::{BoxError, ServiceBuilder};

use super::{Shared, is_grpc};
use crate::auth::ConnInfo;
use crate::errors::ApiError;
use crate::metrics::RouteLabel;

/// An error in the caller's protocol: a trailers-only gRPC status, or problem+json.
pub fn error_response(grpc: bool, e: ApiError) -> Response {
    if grpc {
        let status: tonic::Status = e.into();
        status.into_http::<axum::body::Body>()
    } else {
        e.into_response()
    }
}

/// Wraps the application in the stack.
pub fn stack(app: Router, shared: Shared) -> Router {
    let timeout = shared.config.request_timeout;
    app.layer(from_fn_with_state(shared.clone(), authenticate))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |headers: HeaderMap, err: BoxError| async move { overload(&headers, err, timeout) }))
                .load_shed()
                .concurrency_limit(shared.config.max_concurrent)
                .timeout(timeout),
        )
        .layer(from_fn_with_state(shared, record))
}

fn overload(headers: &HeaderMap, err: BoxError, timeout: Duration) -> Response {
    let e = if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::Timeout(timeout)
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::Overloaded
    } else {
        ApiError::Core(Error::Internal(format!("middleware: {err}")))
    };
    error_response(is_grpc(headers), e)
}

/// Finds the caller, takes a token from its rate-limit bucket, and hands the principal on.
async fn authenticate(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    let grpc = is_grpc(req.headers());
    let conn = req.extensions().get::<ConnInfo>().cloned();
    let principal = match s.auth.principal(req.headers(), conn.as_ref()).await {
        Ok(p) => p,
        Err(e) => return error_response(grpc, e.into()),
    };
    if let Err(wait) = s.limits.check(&principal, conn.map(|c| c.peer.ip())) {
        metrics::counter!("rate_limited_total", "role" => principal.role.name()).increment(1);
        return error_response(grpc, Error::RateLimited { retry_after: wait }.into());
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Counts requests and their latency by route, method, protocol and status.
async fn record(State(_): State<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let grpc = is_grpc(req.headers());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let grpc_status = res.headers().get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("0").to_string();
    let route = match res.extensions().get::<RouteLabel>() {
        Some(r) => r.0.clone(),
        // gRPC methods are a fixed set; anything unimplemented is not a route.
        None if grpc && grpc_status != "12" => path,
        None => "unmatched".to_string(),
    };
    let protocol = if grpc { "grpc" } else { "http" };
    let status = if grpc { grpc_status } else { res.status().as_u16().to_string() };
    metrics::counter!("requests_total", "route" => route.clone(), "method" => method, "protocol" => protocol, "status" => status)
        .increment(1);
    metrics::histogram!("request_duration_seconds", "route" => route, "protocol" => protocol).record(start.elapsed().as_secs_f64());
    res
}

/// For REST routes: remembers the matched route template in the response for [`record`].
pub async fn tag_route(req: Request, next: Next) -> Response {
    let label = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let mut res = next.run(req).await;
    if let Some(l) = label {
        res.extensions_mut().insert(RouteLabel(l));
    }
    res
}
