//! REST under `/v1`: the same operations and fields as gRPC (proto3 JSON names). Handlers
//! decode, call the core and encode; errors become problem+json through [`ApiError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};

use registry_core::{Error, Registry};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::errors::ApiError;

pub mod account;
pub mod allocation;
pub mod associations;
pub mod availability;
pub mod bookings;
pub mod changes;
pub mod exports;
pub mod facilities;
pub mod grants;
pub mod hours;
pub mod municipalities;
pub mod problem;
pub mod registrations;
pub mod representatives;
pub mod search;
pub mod vendors;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Largest request body by default (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The REST routes under `/v1`.
pub fn router() -> Router<Registry> {
    Router::new()
        .merge(account::router())
        .merge(municipalities::router())
        .merge(facilities::router())
        .merge(associations::router())
        .merge(registrations::router())
        .merge(representatives::router())
        .merge(hours::router())
        .merge(search::router())
        .merge(vendors::router())
        .merge(availability::router())
        .merge(bookings::router())
        .merge(exports::router())
        .merge(changes::router())
        .merge(allocation::router())
        .merge(grants::router())
}

// ---- extraction helpers ----

/// A JSON body: `application/json` (or `application/merge-patch+json`), within the body
/// limit, with type errors reported as field violations.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim().to_string();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(DEFAULT_BODY_LIMIT);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE { ApiError::PayloadTooLarge(limit) } else { ApiError::Malformed(r.body_text()) }
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
        Ok(JsonBody(value))
    }
}

/// A JSON body that may be left out: no body at all (no `Content-Type`, no content) reads as
/// `null`; anything else is read as [`JsonBody`] is.
pub struct OptionalJsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = !req.headers().contains_key(header::CONTENT_TYPE)
            && req.headers().get(header::CONTENT_LENGTH).is_none_or(|l| l.as_bytes() == b"0")
            && !req.headers().contains_key(header::TRANSFER_ENCODING);
        if empty {
            return Ok(OptionalJsonBody(serde_json::Value::Null));
        }
        JsonBody::from_request(req, state).await.map(|JsonBody(v)| OptionalJsonBody(v))
    }
}

/// The configured body limit, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Deserialises a JSON value into `T`, naming the field of a type error (as every REST handler
/// reads its body; public for the fuzz target `problem_json`).
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (field, rule) = if inner.starts_with("unknown field") {
            (if path == "." { String::new() } else { path }, "unknown_field")
        } else if let Some(name) = inner.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            let parent = if path == "." { String::new() } else { format!("{path}.") };
            (format!("{parent}{name}"), "required")
        } else if inner.starts_with("unknown variant") {
            (path, "unknown_enum_value")
        } else {
            (path, "type")
        };
        let field = field.trim_start_matches('.').to_string();
        let field = if field.is_empty() { "body".to_string() } else { field };
        ApiError::Core(Error::invalid(field, rule, inner))
    })
}

/// Output-only fields: rejected in request bodies with a clear rule.
const READ_ONLY: &[&str] = &[
    "id",
    "version",
    "createdAt",
    "updatedAt",
    "bookingVendor",
    "registration",
    "registrations",
    "memberStatisticsByYear",
    "locationProvenance",
];

pub(crate) fn reject_read_only(value: &serde_json::Value) -> ApiResult<()> {
    reject_fields(value, READ_ONLY)
}

/// Refuses a body that is not an object, or that names any of `read_only`.
pub(crate) fn reject_fields(value: &serde_json::Value, read_only: &[&str]) -> ApiResult<()> {
    let Some(obj) = value.as_object() else {
        return Err(ApiError::Core(Error::invalid("body", "type", "must be a JSON object")));
    };
    let bad: Vec<_> = read_only.iter().filter(|k| obj.contains_key(**k)).collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(ApiError::Core(Error::Invalid(
        bad.iter().map(|k| registry_core::FieldViolation::new(**k, "read_only", "is set by the registry and cannot be written")).collect(),
    )))
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(p) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The raw body's `municipalityCode`, for the core's authorization step that runs before the
/// body is decoded (so a caller who may not write learns that first). A body that is not a JSON
/// object names no municipality and is refused as what it is, a malformed body (400).
pub(crate) fn municipality_of(body: &serde_json::Value) -> ApiResult<&str> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::Core(Error::invalid("body", "type", "must be a JSON object")));
    };
    Ok(obj.get("municipalityCode").and_then(|v| v.as_str()).unwrap_or("").trim())
}

pub(crate) fn parse_id(s: &str) -> ApiResult<Uuid> {
    Ok(crate::shared::parse_id(s, "id")?)
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The version named by `If-Match` (`"3"`, `3` or `W/"3"`); `*` means "whatever is current".
pub(crate) enum IfMatch {
    Absent,
    Any,
    Version(i64),
}

/// The version an optional `If-Match` names (deletes and decisions): none when absent or `*`.
pub(crate) fn if_match_optional(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    Ok(match if_match(headers)? {
        IfMatch::Version(v) => Some(v),
        IfMatch::Absent | IfMatch::Any => None,
    })
}

pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<IfMatch> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(IfMatch::Absent) };
    let s = v.to_str().unwrap_or("").trim();
    if s == "*" {
        return Ok(IfMatch::Any);
    }
    let s = s.trim_start_matches("W/").trim_matches('"');
    s.parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .map(IfMatch::Version)
        .ok_or_else(|| ApiError::Core(Error::invalid("If-Match", "format", "must be the ETag of the resource, e.g. \"3\"")))
}

/// For a PATCH: the version to write at (If-Match is required; `*` means the current one) and
/// the current input with the merge patch applied.
pub(crate) fn patched<I: Serialize, O: DeserializeOwned>(
    if_match: IfMatch,
    current_version: i64,
    current: &I,
    patch: &serde_json::Value,
) -> ApiResult<(i64, O)> {
    let expected = match if_match {
        IfMatch::Absent => return Err(ApiError::PreconditionRequired),
        IfMatch::Any => current_version,
        IfMatch::Version(v) => v,
    };
    let mut doc = serde_json::to_value(current).expect("inputs serialise");
    merge_patch(&mut doc, patch);
    Ok((expected, decode(doc)?))
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header value")
}

/// A resource with its ETag (and, for creates, 201 + Location).
pub(crate) fn resource<T: Serialize>(status: StatusCode, version: i64, location: Option<String>, body: T) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(version));
    if let Some(l) = location
        && let Ok(v) = HeaderValue::from_str(&l)
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub(crate) fn timestamp_param(s: &Option<String>, field: &str) -> ApiResult<Option<DateTime<Utc>>> {
    s.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::Core(Error::invalid(field, "format", "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z")))
        })
        .transpose()
}

pub(crate) fn query<T: DeserializeOwned>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| ApiError::Core(Error::invalid("query", "format", e.body_text())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(&mut doc, &serde_json::json!({"a": "z", "c": {"f": null}, "l": [3]}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": {"d": "e"}, "l": [3]}));
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode::<registry_core::model::FacilityInput>(serde_json::json!({
            "municipalityCode": "1881", "name": "x", "category": "gym", "ownership": "OWNERSHIP_OTHER",
            "units": [{"name": "a", "category": "gym", "capacity": "many"}]
        }))
        .unwrap_err();
        let ApiError::Core(Error::Invalid(v)) = err else { panic!("{err:?}") };
        assert_eq!((v[0].field.as_str(), v[0].rule), ("units[0].capacity", "type"));
        let err = decode::<registry_core::model::FacilityInput>(serde_json::json!({"name": "x"})).unwrap_err();
        let ApiError::Core(Error::Invalid(v)) = err else { panic!() };
        assert_eq!(v[0].rule, "required");
        let err = decode::<registry_core::model::FacilityInput>(serde_json::json!({
            "municipalityCode": "1881", "name": "x", "category": "gym", "ownership": "OWNERSHIP_STOLEN"
        }))
        .unwrap_err();
        let ApiError::Core(Error::Invalid(v)) = err else { panic!() };
        assert_eq!((v[0].field.as_str(), v[0].rule), ("ownership", "unknown_enum_value"));
    }
}
