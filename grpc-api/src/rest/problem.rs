//! The error responses every REST operation can end in (RFC 9457 problem details), as
//! OpenAPI schemas; the problems themselves are made in `crate::errors`.

use utoipa::{IntoResponses, ToSchema};

/// An error (RFC 9457 problem details).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// Problem type, `/problems/<slug>`; GET it for an explanation.
    #[schema(example = "/problems/validation")]
    r#type: String,
    /// Short summary of the problem type.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, in English.
    detail: String,
    /// For validation errors and conflicts: each broken rule.
    errors: Option<Vec<ProblemViolation>>,
    /// For 412: the version you sent.
    expected_version: Option<i64>,
    /// For 412: the current version.
    current_version: Option<i64>,
    /// For 429 and 503: seconds to wait (also in Retry-After).
    retry_after_seconds: Option<u64>,
}

/// One broken rule.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProblemViolation {
    /// The field, in JSON names, e.g. `units[2].capacity`.
    field: Option<String>,
    /// Stable rule id, e.g. `required`, `format`, `unknown_code`, `out_of_range`, `outside_sweden`, `unique`.
    rule: String,
    /// Explanation in English.
    message: String,
}

/// Every error a call can end in, as problem+json.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    /// Invalid input or malformed request; `errors` names each field and rule.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// An API key is needed, or the one sent is not valid.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// The key's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource (or not visible to the caller).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The method is not supported on this resource.
    #[response(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Problem),
    /// A duplicate, or a transition that is not allowed.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The resource is not at the version named in If-Match.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
    /// The body is larger than the limit (1 MiB by default).
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// PATCH needs If-Match.
    #[response(status = 428, content_type = "application/problem+json")]
    PreconditionRequired(Problem),
    /// Rate limit exceeded; see Retry-After.
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(Problem),
    /// Unexpected error.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
    /// Database unavailable or server overloaded; see Retry-After.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
    /// The request took too long.
    #[response(status = 504, content_type = "application/problem+json")]
    Timeout(Problem),
}
