//! The one mapping from errors to HTTP (status + `application/problem+json`, RFC 9457) and to
//! gRPC (code + `google.rpc` details). Every variant is matched without a catch-all arm, so a
//! new kind of error cannot be forgotten.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::Error;
use tonic::Code;
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// Every error an API call can end in: the core's, plus those that arise at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An error of a use case.
    #[error(transparent)]
    Core(#[from] Error),
    /// The request body is not valid JSON / protobuf, or has the wrong shape.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request body's media type is not accepted.
    #[error("unsupported media type: expected {0}")]
    UnsupportedMediaType(&'static str),
    /// None of the media types the client accepts can be served.
    #[error("cannot answer in a media type you accept; this resource is served as {0}")]
    NotAcceptable(&'static str),
    /// The request body exceeds the limit.
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// A write needs `If-Match` with the version the client last read.
    #[error("this write needs an If-Match header with the version you last read (see the ETag of a GET)")]
    PreconditionRequired,
    /// No such route.
    #[error("no such resource: {0}")]
    RouteNotFound(String),
    /// The route exists but not with this method.
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    /// The request took longer than the server's time limit.
    #[error("the request did not complete within {} s", .0.as_secs())]
    Timeout(Duration),
    /// The server is at its concurrency limit and shed the request.
    #[error("the server is overloaded; retry shortly")]
    Overloaded,
    /// The request body did not arrive in full within the body deadline.
    #[error("the request body did not arrive within {} s; send it at once", .0.as_secs())]
    RequestTimeout(Duration),
    /// The client already has this many requests in flight.
    #[error("you have {0} requests in flight, the most one client may; wait for one to finish")]
    TooManyInFlight(usize),
}

/// One row of the mapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// HTTP status.
    pub http: StatusCode,
    /// gRPC code.
    pub grpc: Code,
    /// Problem type slug: the problem's `type` is `/problems/<slug>`.
    pub slug: &'static str,
    /// Problem title.
    pub title: &'static str,
}

const fn row(http: StatusCode, grpc: Code, slug: &'static str, title: &'static str) -> Mapping {
    Mapping { http, grpc, slug, title }
}

/// The mapping table.
pub fn mapping(e: &ApiError) -> Mapping {
    use ApiError as A;
    match e {
        A::Core(Error::NotFound { .. }) => row(StatusCode::NOT_FOUND, Code::NotFound, "not-found", "Not found"),
        A::Core(Error::Invalid(_)) => row(StatusCode::BAD_REQUEST, Code::InvalidArgument, "validation", "Invalid input"),
        A::Core(Error::Conflict { rule: "unique", .. }) => row(StatusCode::CONFLICT, Code::AlreadyExists, "conflict", "Conflict"),
        A::Core(Error::Conflict { .. }) => row(StatusCode::CONFLICT, Code::FailedPrecondition, "conflict", "Conflict"),
        A::Core(Error::PreconditionFailed { .. }) => {
            row(StatusCode::PRECONDITION_FAILED, Code::FailedPrecondition, "precondition-failed", "Version mismatch")
        }
        A::Core(Error::Unauthenticated(_)) => {
            row(StatusCode::UNAUTHORIZED, Code::Unauthenticated, "unauthenticated", "Authentication required")
        }
        A::Core(Error::Forbidden(_)) => row(StatusCode::FORBIDDEN, Code::PermissionDenied, "forbidden", "Forbidden"),
        A::Core(Error::RateLimited { .. }) => {
            row(StatusCode::TOO_MANY_REQUESTS, Code::ResourceExhausted, "rate-limited", "Too many requests")
        }
        A::Core(Error::Unavailable(_)) => row(StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, "unavailable", "Service unavailable"),
        A::Core(Error::Internal(_)) => row(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, "internal", "Internal error"),
        A::Malformed(_) => row(StatusCode::BAD_REQUEST, Code::InvalidArgument, "malformed-request", "Malformed request"),
        A::UnsupportedMediaType(_) => {
            row(StatusCode::UNSUPPORTED_MEDIA_TYPE, Code::InvalidArgument, "unsupported-media-type", "Unsupported media type")
        }
        A::NotAcceptable(_) => row(StatusCode::NOT_ACCEPTABLE, Code::InvalidArgument, "not-acceptable", "Not acceptable"),
        A::PayloadTooLarge(_) => row(StatusCode::PAYLOAD_TOO_LARGE, Code::ResourceExhausted, "payload-too-large", "Request body too large"),
        A::PreconditionRequired => {
            row(StatusCode::PRECONDITION_REQUIRED, Code::FailedPrecondition, "precondition-required", "Version required")
        }
        A::RouteNotFound(_) => row(StatusCode::NOT_FOUND, Code::Unimplemented, "not-found", "Not found"),
        A::MethodNotAllowed => row(StatusCode::METHOD_NOT_ALLOWED, Code::Unimplemented, "method-not-allowed", "Method not allowed"),
        A::Timeout(_) => row(StatusCode::GATEWAY_TIMEOUT, Code::DeadlineExceeded, "timeout", "Request timed out"),
        A::Overloaded => row(StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, "overloaded", "Server overloaded"),
        A::RequestTimeout(_) => row(StatusCode::REQUEST_TIMEOUT, Code::DeadlineExceeded, "request-timeout", "Request body too slow"),
        A::TooManyInFlight(_) => {
            row(StatusCode::TOO_MANY_REQUESTS, Code::ResourceExhausted, "too-many-in-flight", "Too many requests at once")
        }
    }
}

/// Every problem type slug with its explanation, served at `/problems/<slug>`.
pub const PROBLEM_TYPES: &[(&str, &str)] = &[
    ("not-found", "The resource does not exist, was deleted, or is not visible to you."),
    ("validation", "The input broke one or more rules; `errors` lists each as {field, rule, message}. Nothing was written."),
    (
        "conflict",
        "The write conflicts with the current state: a duplicate (rule `unique`) or a transition that is not allowed (rule `invalid_transition`).",
    ),
    ("precondition-failed", "The resource is not at the version you named in If-Match (or expectedVersion): read it again and retry."),
    ("unauthenticated", "No valid API key: send `x-api-key: <key>` or `Authorization: Bearer <key>`."),
    ("forbidden", "Your key's role may not do this (for example, an editor writing another municipality's data)."),
    ("rate-limited", "Too many requests for your key (or address); wait for the Retry-After seconds."),
    ("unavailable", "A dependency (the database) is unavailable; retry later."),
    ("internal", "An unexpected error; it was logged. Quote the request id when you report it."),
    ("malformed-request", "The body is not valid JSON, or a value has the wrong type."),
    ("unsupported-media-type", "Send JSON with `Content-Type: application/json` (or `application/merge-patch+json` for PATCH)."),
    ("not-acceptable", "None of the media types in your Accept header is served here; the detail lists those that are."),
    ("payload-too-large", "The request body exceeds the server's limit."),
    ("precondition-required", "Writes that replace data need `If-Match` with the version from the resource's ETag."),
    ("method-not-allowed", "The resource exists but does not support this HTTP method."),
    ("timeout", "The request took longer than the server's time limit."),
    ("overloaded", "The server is at its concurrency limit; retry shortly."),
    ("request-timeout", "The request body did not arrive in full within the server's body deadline (10 s by default); send it at once."),
    (
        "too-many-in-flight",
        "Your address already has the most requests in flight that one client may (64 by default); wait for one to finish.",
    ),
];

/// The message callers see: internal details stay in the logs.
fn public_message(e: &ApiError) -> String {
    match e {
        ApiError::Core(Error::Internal(_)) => "an unexpected error occurred; it has been logged".into(),
        other => other.to_string(),
    }
}

fn retry_after(e: &ApiError) -> Option<Duration> {
    match e {
        ApiError::Core(Error::RateLimited { retry_after }) => Some(*retry_after),
        ApiError::Core(Error::Unavailable(_)) | ApiError::Overloaded | ApiError::TooManyInFlight(_) => Some(Duration::from_secs(1)),
        _ => None,
    }
}

fn log(e: &ApiError) {
    if let ApiError::Core(Error::Internal(detail)) = e {
        tracing::error!(error = %detail, "internal error");
    }
}

/// The problem+json body of an error (RFC 9457).
pub fn problem(e: &ApiError) -> serde_json::Value {
    let m = mapping(e);
    let mut body = serde_json::json!({
        "type": format!("/problems/{}", m.slug),
        "title": m.title,
        "status": m.http.as_u16(),
        "detail": public_message(e),
    });
    match e {
        ApiError::Core(Error::Invalid(violations)) => {
            body["errors"] = serde_json::to_value(violations).expect("violations serialise");
        }
        ApiError::Core(Error::Conflict { field, rule, .. }) => {
            body["errors"] = serde_json::json!([{ "field": field, "rule": rule, "message": public_message(e) }]);
        }
        ApiError::Core(Error::PreconditionFailed { expected, actual, .. }) => {
            body["expectedVersion"] = (*expected).into();
            body["currentVersion"] = (*actual).into();
        }
        _ => {}
    }
    if let Some(d) = retry_after(e) {
        body["retryAfterSeconds"] = d.as_secs().max(1).into();
    }
    body
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log(&self);
        let m = mapping(&self);
        let mut res = (m.http, problem(&self).to_string()).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(d) = retry_after(&self) {
            h.insert(header::RETRY_AFTER, HeaderValue::from(d.as_secs().max(1)));
        }
        if matches!(self, ApiError::Core(Error::Unauthenticated(_))) {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"registry\""));
        }
        res
    }
}

/// Domain of `google.rpc.ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "registry.v1";

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        log(&e);
        let m = mapping(&e);
        let mut details = ErrorDetails::new();
        details.set_error_info(m.slug.to_uppercase().replace('-', "_"), ERROR_DOMAIN, std::collections::HashMap::new());
        match &e {
            ApiError::Core(Error::Invalid(violations)) => {
                let fvs: Vec<FieldViolation> = violations
                    .iter()
                    .map(|v| {
                        let mut fv = FieldViolation::new(v.field.clone(), v.message.clone());
                        fv.reason = v.rule.to_uppercase();
                        fv
                    })
                    .collect();
                details.set_bad_request(fvs);
            }
            ApiError::Core(Error::Conflict { field: Some(f), rule, message }) => {
                let mut fv = FieldViolation::new(f.clone(), message.clone());
                fv.reason = rule.to_uppercase();
                details.set_bad_request(vec![fv]);
            }
            ApiError::Core(Error::PreconditionFailed { entity, id, expected, actual }) => {
                details.add_precondition_failure_violation(
                    "VERSION",
                    format!("{entity}/{id}"),
                    format!("expected version {expected}, current version {actual}"),
                );
            }
            ApiError::Core(Error::NotFound { entity, id }) => {
                details.set_resource_info(*entity, id.clone(), "", public_message(&e));
            }
            _ => {}
        }
        if let Some(d) = retry_after(&e) {
            details.set_retry_info(Some(d));
        }
        tonic::Status::with_error_details(m.grpc, public_message(&e), details)
    }
}

/// Shorthand: a core error as a gRPC status.
pub fn status(e: Error) -> tonic::Status {
    ApiError::Core(e).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::FieldViolation as V;

    fn all() -> Vec<ApiError> {
        vec![
            Error::not_found("facility", "x").into(),
            Error::Invalid(vec![V::new("name", "required", "must not be empty")]).into(),
            Error::Conflict { field: Some("orgNumber".into()), rule: "unique", message: "dup".into() }.into(),
            Error::Conflict { field: None, rule: "invalid_transition", message: "no".into() }.into(),
            Error::PreconditionFailed { entity: "facility", id: "x".into(), expected: 1, actual: 2 }.into(),
            Error::Unauthenticated("key".into()).into(),
            Error::Forbidden("role".into()).into(),
            Error::RateLimited { retry_after: Duration::from_secs(3) }.into(),
            Error::Unavailable("db".into()).into(),
            Error::Internal("secret detail".into()).into(),
            ApiError::Malformed("x".into()),
            ApiError::UnsupportedMediaType("application/json"),
            ApiError::PayloadTooLarge(10),
            ApiError::PreconditionRequired,
            ApiError::RouteNotFound("/x".into()),
            ApiError::MethodNotAllowed,
            ApiError::Timeout(Duration::from_secs(30)),
            ApiError::Overloaded,
            ApiError::RequestTimeout(Duration::from_secs(10)),
            ApiError::TooManyInFlight(64),
        ]
    }

    /// The table, written out: HTTP status and gRPC code of every kind of error.
    #[test]
    fn the_table() {
        let expected: [(u16, Code); 20] = [
            (404, Code::NotFound),
            (400, Code::InvalidArgument),
            (409, Code::AlreadyExists),
            (409, Code::FailedPrecondition),
            (412, Code::FailedPrecondition),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (429, Code::ResourceExhausted),
            (503, Code::Unavailable),
            (500, Code::Internal),
            (400, Code::InvalidArgument),
            (415, Code::InvalidArgument),
            (413, Code::ResourceExhausted),
            (428, Code::FailedPrecondition),
            (404, Code::Unimplemented),
            (405, Code::Unimplemented),
            (504, Code::DeadlineExceeded),
            (503, Code::Unavailable),
            (408, Code::DeadlineExceeded),
            (429, Code::ResourceExhausted),
        ];
        for (e, (http, grpc)) in all().iter().zip(expected) {
            let m = mapping(e);
            assert_eq!((m.http.as_u16(), m.grpc), (http, grpc), "{e:?}");
            assert!(PROBLEM_TYPES.iter().any(|(s, _)| *s == m.slug), "{} has no explanation", m.slug);
        }
    }

    #[test]
    fn problem_bodies_carry_the_details() {
        let p = problem(&Error::Invalid(vec![V::new("address.postalCode", "format", "five digits")]).into());
        assert_eq!(p["type"], "/problems/validation");
        assert_eq!(p["status"], 400);
        assert_eq!(p["errors"][0]["field"], "address.postalCode");
        assert_eq!(p["errors"][0]["rule"], "format");
        let p = problem(&Error::PreconditionFailed { entity: "facility", id: "x".into(), expected: 1, actual: 2 }.into());
        assert_eq!((p["expectedVersion"].as_i64(), p["currentVersion"].as_i64()), (Some(1), Some(2)));
        let p = problem(&Error::Internal("password=hunter2".into()).into());
        assert!(!p.to_string().contains("hunter2"), "internal details never reach the caller");
        let p = problem(&Error::Unavailable("the vendor did not answer in time; send the same Idempotency-Key again".into()).into());
        assert_eq!(p["detail"], "service unavailable: the vendor did not answer in time; send the same Idempotency-Key again");
        assert_eq!(p["retryAfterSeconds"], 1);
        let p = problem(&Error::RateLimited { retry_after: Duration::from_millis(1500) }.into());
        assert_eq!(p["retryAfterSeconds"], 1);
    }

    #[test]
    fn grpc_statuses_carry_google_rpc_details() {
        let s: tonic::Status = ApiError::from(Error::Invalid(vec![V::new("name", "required", "must not be empty")])).into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let d = s.get_error_details();
        let br = d.bad_request().unwrap();
        assert_eq!((br.field_violations[0].field.as_str(), br.field_violations[0].reason.as_str()), ("name", "REQUIRED"));
        let s: tonic::Status =
            ApiError::from(Error::PreconditionFailed { entity: "facility", id: "x".into(), expected: 1, actual: 2 }).into();
        let d = s.get_error_details();
        assert_eq!(d.precondition_failure().unwrap().violations[0].subject, "facility/x");
        let s: tonic::Status = ApiError::from(Error::RateLimited { retry_after: Duration::from_secs(2) }).into();
        assert_eq!(s.get_error_details().retry_info().unwrap().retry_delay, Some(Duration::from_secs(2)));
        assert_eq!(s.get_error_details().error_info().unwrap().reason, "RATE_LIMITED");
    }
}
