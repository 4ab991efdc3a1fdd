//! REST `/v1/availability`: free times across municipal borders, asked of the vendors of the
//! facilities a search finds (federation's availability use case).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use federation::service::Service;
use federation::service::availability::{self as use_case, AvailabilityAnswer};
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::Accessibility;
use registry_core::search::FacilitySearch;
use registry_core::{Error, FieldViolation, Registry};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::search::{enums, numbers};
use super::{ApiResult, query};
use crate::errors::ApiError;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new().route("/v1/availability", get(availability))
}

/// Query of `GET /v1/availability`: where and what (as for search), and when.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Window start, RFC 3339 (required).
    from: Option<String>,
    /// Window end, RFC 3339 (required; at most 14 days after `from`).
    to: Option<String>,
    /// Only free stretches at least this many minutes long.
    min_duration_minutes: Option<u32>,
    /// Overall deadline in milliseconds (default 1000, at most 5000).
    deadline_ms: Option<u64>,
    /// Centre `lat,lon` (WGS84).
    near: Option<String>,
    /// Radius in metres around `near` (default 10000).
    radius_m: Option<f64>,
    /// Free text.
    q: Option<String>,
    /// Activity codes (any).
    activities: Option<String>,
    /// Facility category codes (any).
    categories: Option<String>,
    /// Municipality codes (any).
    municipalities: Option<String>,
    /// County codes (any).
    counties: Option<String>,
    /// Only these facilities (comma-separated ids, at most 100), e.g. for one facility's page.
    facility_ids: Option<String>,
    /// Accessibility attributes, e.g. ACCESSIBILITY_HEARING_LOOP (all required).
    accessibility: Option<String>,
    /// Facilities per page (default 20, at most 100).
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref().map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default()
}

/// Free times across municipal borders: the facilities search finds, asked of their
/// vendors at once; the answer says per vendor what happened.
#[utoipa::path(get, path = "/v1/availability", tag = "availability", params(AvailabilityQuery), responses((status = 200, description = "Facilities with their units' times, and each vendor's status; with Accept: application/x-ndjson, a stream of lines: candidates, one per vendor as it answers, and a summary", body = AvailabilityAnswer), super::problem::Errors))]
pub async fn availability(
    State(_reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    headers: axum::http::HeaderMap,
    q: Result<Query<AvailabilityQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    // Decoding only: the query's rules are the use case's.
    let mut v = Vec::new();
    let time = |v: &mut Vec<FieldViolation>, field: &str, s: &Option<String>| -> Option<DateTime<Utc>> {
        let s = s.as_deref()?;
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| v.push(FieldViolation::new(field, "format", "must be an RFC 3339 time, e.g. 2026-12-03T17:00:00+01:00")))
            .ok()
    };
    let from = time(&mut v, "from", &q.from);
    let to = time(&mut v, "to", &q.to);
    let near =
        q.near.as_deref().and_then(|s| numbers::<2>(&mut v, "near", s, "lat,lon in WGS84 degrees")).map(|[lat, lon]| LatLon { lat, lon });
    let ids: Vec<Uuid> = list(&q.facility_ids)
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            id.parse().map_err(|_| v.push(FieldViolation::new(format!("facilityIds[{i}]"), "format", format!("'{id}' is not a UUID")))).ok()
        })
        .collect();
    let accessibility = enums(&mut v, "accessibility", list(&q.accessibility), Accessibility::ALL, Accessibility::json_name);
    if !v.is_empty() {
        return Err(ApiError::Core(Error::Invalid(v)));
    }
    let query = use_case::AvailabilityQuery {
        search: FacilitySearch {
            near,
            radius_m: q.radius_m,
            q: q.q,
            activities: list(&q.activities),
            categories: list(&q.categories),
            municipalities: list(&q.municipalities),
            ids,
            accessibility,
            counties: list(&q.counties),
            page_size: q.page_size.unwrap_or(0),
            page_token: q.page_token.unwrap_or_default(),
            ..FacilitySearch::default()
        },
        from,
        to,
        min_duration_minutes: q.min_duration_minutes.map(i64::from),
        deadline_ms: q.deadline_ms.map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
    };
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/x-ndjson") {
        return ndjson(&engine, &p, &query).await;
    }
    let answer = engine.query(&p, &query).await?;
    Ok(Json(answer).into_response())
}

/// The answer as NDJSON, one line per event as it happens: `{"type":"candidates",…}`, one
/// `{"type":"vendor",…}` per vendor as it answers, and `{"type":"summary",…}` last.
async fn ndjson(engine: &Service, p: &Principal, query: &use_case::AvailabilityQuery) -> ApiResult<Response> {
    let mut run = engine.start(p, query).await?;
    let (from, to) = (run.from, run.to);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::convert::Infallible>>(16);
    let line = |v: serde_json::Value| format!("{v}\n");
    let first = line(serde_json::json!({"type": "candidates", "from": from, "to": to, "facilities": run.candidates}));
    tokio::spawn(async move {
        if tx.send(Ok(first)).await.is_err() {
            return; // the client went away
        }
        while let Some(e) = run.next().await {
            let units: Vec<serde_json::Value> = e.units.iter().map(|(f, u)| serde_json::json!({"facilityId": f, "unit": u})).collect();
            if tx.send(Ok(line(serde_json::json!({"type": "vendor", "vendor": e.report, "units": units})))).await.is_err() {
                return;
            }
        }
        let _ =
            tx.send(Ok(line(serde_json::json!({"type": "summary", "vendors": run.reports(), "nextPageToken": run.next_page_token})))).await;
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([(axum::http::header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
