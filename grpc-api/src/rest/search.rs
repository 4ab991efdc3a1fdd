//! REST search: `GET /v1/search/facilities`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::{Accessibility, Ownership};
use registry_core::search::{FacilitySearch, SearchOrder};
use registry_core::{Error, FieldViolation, Registry};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::Errors;
use crate::errors::ApiError;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new().route("/v1/search/facilities", get(search_facilities)).route("/v1/search/associations", get(search_associations))
}

/// Search parameters; all optional and combined with AND. Lists are comma separated.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Centre `lat,lon` (WGS84) of a distance search.
    near: Option<String>,
    /// Radius in metres around `near` (default 10000, at most 200000).
    radius_m: Option<f64>,
    /// `minLon,minLat,maxLon,maxLat` (WGS84); not with `near`. With bbox-crs=EPSG:3006:
    /// `minNorthing,minEasting,maxNorthing,maxEasting` in SWEREF 99 TM metres.
    bbox: Option<String>,
    /// CRS of `near`: EPSG:4326 (default; `lat,lon`) or EPSG:3006 (SWEREF 99 TM; `northing,easting`).
    crs: Option<String>,
    /// CRS of `bbox`: EPSG:4326 (default) or EPSG:3006.
    #[serde(rename = "bbox-crs")]
    #[param(rename = "bbox-crs")]
    bbox_crs: Option<String>,
    /// Free text: Swedish full text on name, locality and description, typo tolerant on names and localities.
    q: Option<String>,
    /// Activity codes (any, or all with allActivities=true).
    activities: Option<String>,
    /// Require every activity.
    all_activities: Option<bool>,
    /// Facility category codes (any).
    categories: Option<String>,
    /// Accessibility attributes, e.g. ACCESSIBILITY_HEARING_LOOP (all required).
    accessibility: Option<String>,
    /// Municipality codes (any).
    municipalities: Option<String>,
    /// County (län) codes (any).
    counties: Option<String>,
    /// Ownerships, e.g. OWNERSHIP_MUNICIPAL (any).
    ownership: Option<String>,
    /// Some unit holds at least this many people.
    min_capacity: Option<i32>,
    /// Only facilities with a bookable unit.
    bookable_only: Option<bool>,
    /// Open at this RFC 3339 instant.
    open_at: Option<String>,
    /// Open for the whole window `T1/T2` (RFC 3339 instants).
    open_during: Option<String>,
    /// DISTANCE (default with near), RELEVANCE (default with q) or NAME.
    order: Option<String>,
    /// Hits per page (default 20, at most 100).
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref().map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default()
}

fn time(v: &mut Vec<FieldViolation>, field: &str, s: &str) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            v.push(FieldViolation::new(field, "format", "must be an RFC 3339 time, e.g. 2026-06-20T10:00:00+02:00"));
            None
        }
    }
}

pub(super) fn numbers<const N: usize>(v: &mut Vec<FieldViolation>, field: &str, s: &str, shape: &str) -> Option<[f64; N]> {
    let parts: Vec<Option<f64>> = s.split(',').map(|x| x.trim().parse::<f64>().ok()).collect();
    if parts.len() != N || parts.iter().any(Option::is_none) {
        v.push(FieldViolation::new(field, "format", format!("must be {shape}")));
        return None;
    }
    let mut out = [0.0; N];
    for (o, p) in out.iter_mut().zip(parts) {
        *o = p.expect("checked");
    }
    Some(out)
}

pub(super) fn enums<T: Copy>(
    v: &mut Vec<FieldViolation>,
    field: &str,
    values: Vec<String>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, x) in values.iter().enumerate() {
        match all.iter().find(|e| name(**e) == x) {
            Some(e) => out.push(*e),
            None => v.push(FieldViolation::new(format!("{field}[{i}]"), "unknown_enum_value", format!("'{x}' is not a known value"))),
        }
    }
    out
}

impl SearchQuery {
    fn into_search(self) -> Result<FacilitySearch, ApiError> {
        let mut v = Vec::new();
        let sweref = |v: &mut Vec<FieldViolation>, field: &str, crs: &Option<String>| match crs.as_deref() {
            None | Some("EPSG:4326") => false,
            Some("EPSG:3006") => true,
            Some(other) => {
                v.push(FieldViolation::new(field, "unknown_code", format!("'{other}' is not EPSG:4326 or EPSG:3006")));
                false
            }
        };
        let near_tm = sweref(&mut v, "crs", &self.crs);
        let bbox_tm = sweref(&mut v, "bbox-crs", &self.bbox_crs);
        let near = if near_tm {
            self.near
                .as_deref()
                .and_then(|s| numbers::<2>(&mut v, "near", s, "northing,easting in SWEREF 99 TM metres"))
                .map(|[northing, easting]| registry_core::geo::Sweref99Tm { northing, easting }.to_wgs84())
        } else {
            self.near
                .as_deref()
                .and_then(|s| numbers::<2>(&mut v, "near", s, "lat,lon in WGS84 degrees"))
                .map(|[lat, lon]| LatLon { lat, lon })
        };
        let (bbox, bbox_sweref) = if bbox_tm {
            (
                None,
                self.bbox
                    .as_deref()
                    .and_then(|s| numbers::<4>(&mut v, "bbox", s, "minNorthing,minEasting,maxNorthing,maxEasting in SWEREF 99 TM metres")),
            )
        } else {
            (self.bbox.as_deref().and_then(|s| numbers::<4>(&mut v, "bbox", s, "minLon,minLat,maxLon,maxLat in WGS84 degrees")), None)
        };
        let open_at = self.open_at.as_deref().and_then(|s| time(&mut v, "openAt", s));
        let open_during = match self.open_during.as_deref().map(|s| s.split_once('/')) {
            None => None,
            Some(Some((a, b))) => match (time(&mut v, "openDuring", a), time(&mut v, "openDuring", b)) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            },
            Some(None) => {
                v.push(FieldViolation::new("openDuring", "format", "must be T1/T2 (two RFC 3339 times)"));
                None
            }
        };
        let order = match self.order.as_deref() {
            None => None,
            Some("DISTANCE") => Some(SearchOrder::Distance),
            Some("RELEVANCE") => Some(SearchOrder::Relevance),
            Some("NAME") => Some(SearchOrder::Name),
            Some(other) => {
                v.push(FieldViolation::new("order", "unknown_enum_value", format!("'{other}' is not DISTANCE, RELEVANCE or NAME")));
                None
            }
        };
        let accessibility = enums(&mut v, "accessibility", list(&self.accessibility), Accessibility::ALL, Accessibility::json_name);
        let ownership = enums(&mut v, "ownership", list(&self.ownership), Ownership::ALL, Ownership::json_name);
        if !v.is_empty() {
            return Err(ApiError::Core(Error::Invalid(v)));
        }
        Ok(FacilitySearch {
            near,
            radius_m: self.radius_m,
            bbox,
            bbox_sweref,
            q: self.q,
            activities: list(&self.activities),
            all_activities: self.all_activities.unwrap_or(false),
            categories: list(&self.categories),
            accessibility,
            municipalities: list(&self.municipalities),
            ids: vec![],
            counties: list(&self.counties),
            ownership,
            min_capacity: self.min_capacity,
            bookable_only: self.bookable_only.unwrap_or(false),
            open_at,
            open_during,
            order,
            page_size: self.page_size.unwrap_or(0),
            page_token: self.page_token.unwrap_or_default(),
        })
    }
}

/// Searches facilities across municipal borders.
#[utoipa::path(get, path = "/v1/search/facilities", tag = "search", params(SearchQuery),
    responses((status = 200, description = "One page of hits", body = registry_core::search::SearchPage), Errors))]
pub async fn search_facilities(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    headers: axum::http::HeaderMap,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::Core(Error::invalid("query", "format", e.body_text())))?;
    let page = reg.search_facilities(&p, &q.into_search()?).await?;
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/geo+json") {
        return Ok(([(axum::http::header::CONTENT_TYPE, "application/geo+json")], Json(geojson(&page))).into_response());
    }
    Ok(Json(page).into_response())
}

/// The page as a GeoJSON FeatureCollection (RFC 7946: coordinates are `[lon, lat]`).
fn geojson(page: &registry_core::search::SearchPage) -> serde_json::Value {
    let features: Vec<serde_json::Value> = page
        .hits
        .iter()
        .map(|h| {
            let f = &h.facility;
            serde_json::json!({
                "type": "Feature",
                "id": f.id,
                "geometry": f.location.map(|l| serde_json::json!({"type": "Point", "coordinates": [l.lon, l.lat]})),
                "properties": {
                    "name": f.name,
                    "category": f.category,
                    "activities": f.activities,
                    "municipalityCode": f.municipality_code,
                    "municipalityName": h.municipality_name,
                    "distanceM": h.distance_m,
                    "liveAvailability": h.live_availability,
                },
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features, "nextPageToken": page.next_page_token })
}

/// Association search parameters; lists are comma separated.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssociationSearchQuery {
    /// Name text (Swedish full text, typo tolerant).
    q: Option<String>,
    /// Organisation number, NNNNNN-NNNN or ten digits.
    org_number: Option<String>,
    /// Municipality codes (any).
    municipalities: Option<String>,
    /// County codes (any).
    counties: Option<String>,
    /// Activity codes (any).
    activities: Option<String>,
    /// Registration status, e.g. REGISTRATION_STATUS_PENDING (not approved ones need an editor, national body or admin key).
    status: Option<String>,
    /// Hits per page (default 20, at most 100).
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// Searches associations; unapproved registrations only for those who may see them.
#[utoipa::path(get, path = "/v1/search/associations", tag = "search", params(AssociationSearchQuery),
    responses((status = 200, description = "One page of associations", body = registry_core::search::AssociationPage), Errors))]
pub async fn search_associations(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<AssociationSearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    use registry_core::model::RegistrationStatus;
    let Query(q) = q.map_err(|e| ApiError::Core(Error::invalid("query", "format", e.body_text())))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(RegistrationStatus::ALL.iter().copied().find(|x| x.json_name() == s).ok_or_else(|| {
            ApiError::Core(Error::invalid("status", "unknown_enum_value", format!("'{s}' is not a registration status")))
        })?),
    };
    let search = registry_core::service::AssociationSearch {
        q: q.q,
        org_number: q.org_number,
        municipalities: list(&q.municipalities),
        counties: list(&q.counties),
        activities: list(&q.activities),
        status,
        page_size: q.page_size.unwrap_or(0),
        page_token: q.page_token.unwrap_or_default(),
    };
    Ok(Json(reg.search_associations(&p, &search).await?).into_response())
}
