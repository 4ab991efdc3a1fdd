//! Guards against clients that would hold the server's request slots (issue 25, finding 1),
//! outside the global concurrency limit so they act before a slot is taken:
//! - a `Content-Length` above the body limit is refused (413) before anything is read;
//! - one client address holds at most `max_concurrent_per_client` requests at once (429 with
//!   Retry-After beyond that), so one client cannot take every slot;
//! - a request body must arrive in full within `body_timeout` of the request (408 /
//!   DEADLINE_EXCEEDED after that), so a body that never finishes frees its slot soon.
//!
//! Health probes (`/healthz`, `/readyz`, `grpc.health.v1.Health/Check`) pass none of the limits
//! (see `middleware::stack`).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as _, Frame, SizeHint};
use tower::BoxError;

use super::middleware::{client_address, error_response};
use super::{Shared, is_grpc};
use crate::auth::ConnInfo;
use crate::errors::ApiError;

/// Requests in flight per client address.
#[derive(Clone, Default, Debug)]
pub struct InFlight(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One request's place in [`InFlight`], given back when dropped.
struct Place {
    map: InFlight,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut m = self.map.0.lock().expect("never poisoned");
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl InFlight {
    /// A place for a request from `ip`, if it has fewer than `max` in flight.
    fn enter(&self, ip: IpAddr, max: usize) -> Option<Place> {
        let mut m = self.0.lock().expect("never poisoned");
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Place { map: self.clone(), ip })
    }

    /// Requests in flight from `ip` (for tests and metrics).
    pub fn of(&self, ip: IpAddr) -> usize {
        self.0.lock().expect("never poisoned").get(&ip).copied().unwrap_or(0)
    }
}

/// The middleware: body size, per-client places and the body deadline.
pub async fn guard(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let grpc = is_grpc(req.headers());
    // Uploads (grant attachments and attendance lists, REST and gRPC) have limits of their own.
    let limit = crate::rest::grants::upload_limit(req.method(), req.uri().path()).unwrap_or(s.config.body_limit);
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return error_response(grpc, ApiError::PayloadTooLarge(limit));
    }
    let client = req.extensions().get::<ConnInfo>().map(|c| client_address(c.peer.ip(), req.headers(), &s.config.trusted_proxies));
    let _place = match client {
        Some(ip) => match s.in_flight.enter(ip, s.config.max_concurrent_per_client.max(1)) {
            Some(p) => Some(p),
            None => {
                metrics::counter!("requests_refused_total", "reason" => "client_in_flight").increment(1);
                return error_response(grpc, ApiError::TooManyInFlight(s.config.max_concurrent_per_client));
            }
        },
        None => None,
    };
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let timeout = s.config.body_timeout;
    let fired = Arc::new(AtomicBool::new(false));
    let body = Body::new(DeadlineBody { inner: body, sleep: Box::pin(tokio::time::sleep(timeout)), timeout, fired: fired.clone() });
    let res = next.run(Request::from_parts(parts, body)).await;
    if fired.load(Ordering::Relaxed) {
        metrics::counter!("requests_refused_total", "reason" => "body_timeout").increment(1);
        return error_response(grpc, ApiError::RequestTimeout(timeout));
    }
    res
}

/// The request body did not arrive within the deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs())]
pub struct BodyTimeout(pub Duration);

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    fired: Arc<AtomicBool>,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|r| r.map_err(Into::into))),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.fired.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a request is a health probe, which no limit applies to.
pub fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/grpc.health.v1.Health/Check")
}
