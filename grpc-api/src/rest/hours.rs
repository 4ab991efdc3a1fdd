//! REST for opening hours (öppettider) and the Swedish calendar.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, Utc};
use registry_core::auth::Principal;
use registry_core::calendar;
use registry_core::hours::{OpenInterval, OpeningHours, jsonld, osm};
use registry_core::{Error, Registry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::problem::Errors;
use crate::errors::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/facilities/{id}/opening-hours", get(get_hours).put(put_hours))
        .route("/v1/facilities/{id}/opening-hours/intervals", get(intervals))
        .route("/v1/facilities/{id}/open", get(open_status))
        .route("/v1/calendar/holidays", get(holidays))
}

fn invalid(field: &str, rule: &'static str, message: &str) -> ApiError {
    ApiError::Core(Error::invalid(field, rule, message))
}

fn parse_id(s: &str) -> ApiResult<Uuid> {
    Ok(crate::shared::parse_id(s, "id")?)
}

fn time(s: Option<&str>, field: &str) -> ApiResult<Option<DateTime<Utc>>> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| invalid(field, "format", "must be an RFC 3339 time, e.g. 2026-06-19T12:00:00+02:00"))
    })
    .transpose()
}

/// Which schedule, and in what form.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoursQuery {
    /// A unit's schedule instead of the facility's (a unit without its own shows the facility's).
    unit_id: Option<Uuid>,
    /// `json` (default), `osm` (an opening_hours string) or `jsonld` (schema.org OpeningHoursSpecification for the next 365 days).
    format: Option<String>,
}

/// Gets the schedule of a facility or unit.
#[utoipa::path(get, path = "/v1/facilities/{id}/opening-hours", tag = "opening hours",
    params(("id" = Uuid, Path, description = "Facility id"), HoursQuery),
    responses((status = 200, description = "The schedule (JSON), or as an OSM string (text/plain) or JSON-LD", body = registry_core::service::StoredHours,
        headers(("ETag" = String, description = "The version; \"0\" before the first write"))), Errors))]
pub async fn get_hours(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<HoursQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| invalid("query", "format", &e.body_text()))?;
    let stored = reg.get_opening_hours(&p, parse_id(&id)?, q.unit_id).await?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", stored.version)).expect("digits");
    let mut res = match q.format.as_deref().unwrap_or("json") {
        "json" => Json(&stored).into_response(),
        "osm" => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], osm::export(&stored.hours)).into_response(),
        "jsonld" => {
            let today = reg.clock().today();
            ([(header::CONTENT_TYPE, "application/ld+json")], Json(jsonld::opening_hours_specification(&stored.hours, today, 365)))
                .into_response()
        }
        other => return Err(invalid("format", "unknown_enum_value", &format!("'{other}' is not one of json, osm, jsonld"))),
    };
    res.headers_mut().insert(header::ETAG, etag);
    Ok(res)
}

/// Replaces the schedule: JSON (the model) or `text/plain` (an OSM opening_hours string).
/// `If-Match` names the version read (`"0"` or no header for the first schedule).
#[utoipa::path(put, path = "/v1/facilities/{id}/opening-hours", tag = "opening hours",
    params(("id" = Uuid, Path, description = "Facility id"), HoursQuery,
        ("If-Match" = Option<String>, Header, description = "The version you last read; absent means \"no schedule yet\"")),
    request_body(description = "The schedule as JSON, or an OSM opening_hours string as text/plain", content((registry_core::hours::OpeningHours = "application/json"), (String = "text/plain"))),
    responses((status = 200, description = "The stored schedule", body = registry_core::service::StoredHours), Errors),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_hours(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<HoursQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| invalid("query", "format", &e.body_text()))?;
    let id = parse_id(&id)?;
    reg.authorize_hours_update(&p, id).await?;
    let expected = match headers.get(header::IF_MATCH) {
        None => 0,
        Some(v) => v
            .to_str()
            .unwrap_or("")
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| invalid("If-Match", "format", "must be the ETag of the schedule, e.g. \"3\""))?,
    };
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let hours: OpeningHours = if ct.starts_with("text/plain") {
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::Malformed("the body is not UTF-8".into()))?;
        osm::parse(text.trim())
            .map_err(|e| ApiError::Core(Error::Invalid(vec![registry_core::FieldViolation::new("body", "osm_syntax", e.to_string())])))?
    } else if ct.starts_with("application/json") {
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
        super::decode(value)?
    } else {
        return Err(ApiError::UnsupportedMediaType("application/json or text/plain"));
    };
    let stored = reg.put_opening_hours(&p, id, q.unit_id, expected, &hours).await?;
    let mut res = Json(&stored).into_response();
    res.headers_mut().insert(header::ETAG, HeaderValue::from_str(&format!("\"{}\"", stored.version)).expect("digits"));
    Ok(res)
}

/// Window of an interval query.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntervalQuery {
    /// Start (RFC 3339); default now.
    from: Option<String>,
    /// End (RFC 3339); default seven days after `from`; at most 366 days after it.
    to: Option<String>,
    /// A unit's hours instead of the facility's.
    unit_id: Option<Uuid>,
}

/// The concrete open intervals.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntervalList {
    /// Open intervals in [from, to), as UTC instants and local times with offsets.
    intervals: Vec<OpenInterval>,
}

/// Lists the concrete open intervals in a window (at most a year).
#[utoipa::path(get, path = "/v1/facilities/{id}/opening-hours/intervals", tag = "opening hours",
    params(("id" = Uuid, Path, description = "Facility id"), IntervalQuery),
    responses((status = 200, description = "Open intervals", body = IntervalList), Errors))]
pub async fn intervals(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<IntervalQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| invalid("query", "format", &e.body_text()))?;
    let from = time(q.from.as_deref(), "from")?.unwrap_or_else(|| reg.now());
    let to = time(q.to.as_deref(), "to")?.unwrap_or(from + Duration::days(7));
    let intervals = reg.opening_intervals(&p, parse_id(&id)?, q.unit_id, from, to).await?;
    Ok(Json(IntervalList { intervals }).into_response())
}

/// When to ask about.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// The instant (RFC 3339); default now.
    at: Option<String>,
    /// A unit's hours instead of the facility's.
    unit_id: Option<Uuid>,
}

/// Is it open now (or at `at`), and when does that change?
#[utoipa::path(get, path = "/v1/facilities/{id}/open", tag = "opening hours",
    params(("id" = Uuid, Path, description = "Facility id"), OpenQuery),
    responses((status = 200, description = "Open or not, and the next change", body = registry_core::service::OpenStatus), Errors))]
pub async fn open_status(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<OpenQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| invalid("query", "format", &e.body_text()))?;
    let at = time(q.at.as_deref(), "at")?.unwrap_or_else(|| reg.now());
    Ok(Json(reg.open_status(&p, parse_id(&id)?, q.unit_id, at).await?).into_response())
}

/// Which year.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HolidayQuery {
    /// Year, 1900–2200; default this year.
    year: Option<i32>,
}

/// A year's holidays.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HolidayList {
    /// The year.
    year: i32,
    /// Public holidays and eves, by date.
    holidays: Vec<calendar::Holiday>,
}

/// Swedish public holidays and eves of a year.
#[utoipa::path(get, path = "/v1/calendar/holidays", tag = "opening hours",
    params(HolidayQuery),
    responses((status = 200, description = "The holidays", body = HolidayList), Errors))]
pub async fn holidays(
    State(reg): State<Registry>,
    q: Result<Query<HolidayQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| invalid("year", "format", &e.body_text()))?;
    let year = q.year.unwrap_or_else(|| reg.clock().year());
    let holidays = calendar::holidays(year).ok_or_else(|| invalid("year", "out_of_range", "must be between 1900 and 2200"))?;
    let mut res = Json(HolidayList { year, holidays }).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok((StatusCode::OK, res).into_response())
}
