//! The middleware stack, outermost first: metrics → health probes aside (no limit applies to
//! them) → the client guard (body size, requests in flight per client, body deadline) →
//! overload protection (load shedding, concurrency limit, timeout) → authentication and rate
//! limiting → the routes.

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
    // Probes answer however busy the server or the prober's address is: a kubelet flooding
    // its own probes must not fail them.
    let probes = app.clone().layer(axum::middleware::from_fn(anonymous));
    let limited = app
        .layer(from_fn_with_state(shared.clone(), authenticate))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |headers: HeaderMap, err: BoxError| async move { overload(&headers, err, timeout) }))
                .load_shed()
                .concurrency_limit(shared.config.max_concurrent)
                .timeout(timeout),
        )
        .layer(from_fn_with_state(shared.clone(), super::guard::guard));
    let steer = tower::service_fn(move |req: Request| {
        let target = if super::guard::is_probe(req.uri().path()) { probes.clone() } else { limited.clone() };
        tower::ServiceExt::oneshot(target, req)
    });
    Router::new().fallback_service(steer).layer(from_fn_with_state(shared, record))
}

/// For health probes: the anonymous caller, without authentication or limits.
async fn anonymous(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(registry_core::auth::Principal::anonymous());
    next.run(req).await
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
    let who = match s.auth.authenticate(req.headers(), conn.as_ref()).await {
        Ok(a) => a,
        Err(e) => return error_response(grpc, e.into()),
    };
    // A browser's session rides on a cookie the browser sends by itself: a request that
    // changes something must also show the session's CSRF token, which only the site's own
    // pages can read (from /v1/me).
    if let Some(session) = &who.session
        && !req.method().is_safe()
        && !csrf_matches(req.headers(), &session.csrf_token)
    {
        return error_response(
            grpc,
            Error::Forbidden(
                "a signed-in browser's request that changes something must carry the session's CSRF token in X-CSRF-Token (see GET /v1/me)"
                    .into(),
            )
            .into(),
        );
    }
    let principal = who.principal;
    if let Some(session) = who.session {
        req.extensions_mut().insert(session);
    }
    let client = conn.map(|c| client_address(c.peer.ip(), req.headers(), &s.config.trusted_proxies));
    if let Err(wait) = s.limits.check(&principal, client) {
        metrics::counter!("rate_limited_total", "role" => principal.role.name()).increment(1);
        return error_response(grpc, Error::RateLimited { retry_after: wait }.into());
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Whether the request's `X-CSRF-Token` is the session's (compared in constant time).
fn csrf_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) else { return false };
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The caller's address: the peer's, or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not a trusted proxy (read from the right: proxies append, and
/// anything further left was written by the client and may be forged).
pub fn client_address(peer: std::net::IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<std::net::IpAddr> = hops.filter_map(|h| h.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let headers = |xff: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", xff.parse().unwrap());
            h
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        // Through the ingress (10.1.2.3): the resident's address.
        assert_eq!(client_address(ip("10.1.2.3"), &headers("203.0.113.7"), &trusted), ip("203.0.113.7"));
        // A forged first hop is not believed: the ingress appended the real one.
        assert_eq!(client_address(ip("10.1.2.3"), &headers("1.2.3.4, 203.0.113.7, 10.9.9.9"), &trusted), ip("203.0.113.7"));
        // A caller that is not a trusted proxy cannot choose its address.
        assert_eq!(client_address(ip("198.51.100.9"), &headers("203.0.113.7"), &trusted), ip("198.51.100.9"));
        // No header, or nothing usable in it: the peer.
        assert_eq!(client_address(ip("10.1.2.3"), &HeaderMap::new(), &trusted), ip("10.1.2.3"));
        assert_eq!(client_address(ip("10.1.2.3"), &headers("unknown, 10.0.0.7"), &trusted), ip("10.1.2.3"));
        // Nothing trusted (the default): the header means nothing.
        assert_eq!(client_address(ip("127.0.0.1"), &headers("203.0.113.7"), &[]), ip("127.0.0.1"));
    }
}
