//! REST under `/v1`: the same operations and fields as gRPC (proto3 JSON names). Handlers
//! decode, call the core and encode; errors become problem+json through [`ApiError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use registry_core::auth::{self, Action, Principal};
use registry_core::model::{Decision, RegistrationStatus};
use registry_core::service::{AssociationFilter, FacilityFilter, PageRequest};
use registry_core::{Error, Registry};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::openapi::{AssociationPatch, Errors, FacilityPatch};

use crate::convert;
use crate::errors::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// The REST routes under `/v1`.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/municipalities", get(list_municipalities))
        .route("/v1/municipalities/{code}", get(get_municipality))
        .route("/v1/municipalities/{code}/boundary", get(get_municipality_boundary))
        .route("/v1/facilities", get(list_facilities).post(create_facility))
        .route("/v1/facilities:batchGet", post(batch_get_facilities))
        .route("/v1/facilities/{id}", get(get_facility).patch(patch_facility).delete(delete_facility))
        .route("/v1/associations", get(list_associations).post(create_association))
        .route("/v1/associations/by-org-number/{org_number}", get(get_association_by_org_number))
        .route("/v1/associations/{id}", get(get_association).patch(patch_association).delete(delete_association))
        .route("/v1/associations/{id}/approve", post(approve))
        .route("/v1/associations/{id}/reject", post(reject))
        .route("/v1/associations/{id}/request-completion", post(request_completion))
        .merge(crate::rest_hours::router())
        .merge(crate::rest_search::router())
        .merge(crate::rest_vendors::router())
        .merge(crate::rest_bookings::router())
        .merge(crate::rest_exports::router())
        .merge(crate::rest_changes::router())
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
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(crate::server::DEFAULT_BODY_LIMIT);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE { ApiError::PayloadTooLarge(limit) } else { ApiError::Malformed(r.body_text()) }
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
        Ok(JsonBody(value))
    }
}

/// The configured body limit, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Deserialises a JSON value into `T`, naming the field of a type error.
pub(crate) fn decode<T: DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
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
const READ_ONLY: &[&str] = &["id", "version", "createdAt", "updatedAt", "bookingVendor", "registration", "locationProvenance"];

fn reject_read_only(value: &serde_json::Value) -> ApiResult<()> {
    let Some(obj) = value.as_object() else {
        return Err(ApiError::Core(Error::invalid("body", "type", "must be a JSON object")));
    };
    let bad: Vec<_> = READ_ONLY.iter().filter(|k| obj.contains_key(**k)).collect();
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

/// Authorization before decoding, so a caller who may not write learns that first (the core
/// checks again). `municipalityCode` is read from the raw body.
fn pre_authorize(p: &Principal, body: &serde_json::Value, action: fn(&str) -> Action<'_>) -> ApiResult<()> {
    let m = body.get("municipalityCode").and_then(|v| v.as_str()).unwrap_or("").trim();
    Ok(auth::authorize(p, action(m))?)
}

fn parse_id(s: &str) -> ApiResult<Uuid> {
    Ok(convert::parse_id(s, "id")?)
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

// ---- municipalities ----

/// Query of `GET /v1/municipalities`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MunicipalityQuery {
    /// Only municipalities of this two-digit county (län) code, e.g. `18`.
    county_code: Option<String>,
}

/// The municipalities, ordered by code.
#[derive(Serialize, ToSchema)]
pub struct MunicipalityList {
    /// The municipalities.
    municipalities: Vec<registry_core::codes::Municipality>,
}

/// Lists the 290 municipalities.
#[utoipa::path(get, path = "/v1/municipalities", tag = "municipalities", params(MunicipalityQuery), responses((status = 200, description = "All municipalities (kommuner), or those of one county", body = MunicipalityList), Errors))]
pub async fn list_municipalities(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<MunicipalityQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let municipalities = reg.list_municipalities(&p, q.county_code.as_deref().filter(|c| !c.is_empty())).await?;
    Ok(Json(MunicipalityList { municipalities }).into_response())
}

/// Gets one municipality.
#[utoipa::path(get, path = "/v1/municipalities/{code}", tag = "municipalities", params(("code" = String, Path, pattern = "^[0-9]{4}$", description = "Four-digit municipality code, e.g. 1880")), responses((status = 200, description = "The municipality", body = registry_core::codes::Municipality), Errors))]
pub async fn get_municipality(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(reg.get_municipality(&p, &code).await?).into_response())
}

/// Gets a municipality's boundary as a GeoJSON Feature (a MultiPolygon in WGS 84, `[lon, lat]`),
/// loaded by `geodata-sync boundaries`.
#[utoipa::path(get, path = "/v1/municipalities/{code}/boundary", tag = "municipalities", params(("code" = String, Path, pattern = "^[0-9]{4}$", description = "Four-digit municipality code, e.g. 1880")), responses((status = 200, description = "A GeoJSON Feature: `id` the code; properties `municipalityCode`, `name`, `syncedAt`; geometry a MultiPolygon", content_type = "application/geo+json", body = Object), Errors))]
pub async fn get_municipality_boundary(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let m = reg.get_municipality(&p, &code).await?;
    let (geometry, synced_at) = reg.municipality_boundary(&p, &code).await?;
    let feature = serde_json::json!({
        "type": "Feature",
        "id": m.code,
        "geometry": geometry,
        "properties": {"municipalityCode": m.code, "name": m.name, "syncedAt": synced_at},
    });
    Ok(([(axum::http::header::CONTENT_TYPE, "application/geo+json")], Json(feature)).into_response())
}

// ---- facilities ----

/// Filters and paging of `GET /v1/facilities`; all optional, combined with AND.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FacilityQuery {
    /// Only facilities of this four-digit municipality code.
    municipality_code: Option<String>,
    /// Only facilities of this category code, e.g. `sports_hall`.
    category: Option<String>,
    /// Only facilities offering this activity code, e.g. `floorball`.
    activity: Option<String>,
    /// Only facilities changed at or after this RFC 3339 time.
    updated_since: Option<String>,
    /// Items per page: 0 or absent means 50; above 500 is served as 500.
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// One page of facilities, ordered by id.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityList {
    /// The facilities.
    facilities: Vec<registry_core::model::Facility>,
    /// Token for the next page; empty on the last page.
    next_page_token: String,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Lists facilities.
#[utoipa::path(get, path = "/v1/facilities", tag = "facilities", params(FacilityQuery), responses((status = 200, description = "One page of facilities", body = FacilityList), Errors))]
pub async fn list_facilities(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<FacilityQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let filter = FacilityFilter {
        municipality_code: non_empty(q.municipality_code),
        category: non_empty(q.category),
        activity: non_empty(q.activity),
        updated_since: timestamp_param(&q.updated_since, "updatedSince")?,
    };
    let page = reg
        .list_facilities(&p, &filter, &PageRequest { page_size: q.page_size.unwrap_or(0), page_token: q.page_token.unwrap_or_default() })
        .await?;
    Ok(Json(FacilityList { facilities: page.items, next_page_token: page.next_page_token }).into_response())
}

/// Body of `POST /v1/facilities:batchGet`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchGet {
    /// Facility ids (UUIDs); at most 500.
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 500)]
    ids: Vec<String>,
}

/// Gets up to 500 facilities by id.
#[utoipa::path(post, path = "/v1/facilities:batchGet", tag = "facilities", request_body = BatchGet, responses((status = 200, description = "The facilities found, in the order asked", body = FacilityList), Errors))]
pub async fn batch_get_facilities(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req: BatchGet = decode(body)?;
    let ids = req.ids.iter().enumerate().map(|(i, s)| convert::parse_id(s, &format!("ids[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    let facilities = reg.batch_get_facilities(&p, &ids).await?;
    Ok(Json(FacilityList { facilities, next_page_token: String::new() }).into_response())
}

/// Gets one facility.
#[utoipa::path(get, path = "/v1/facilities/{id}", tag = "facilities", params(("id" = uuid::Uuid, Path, description = "Id (UUID)")), responses((status = 200, description = "The facility", body = registry_core::model::Facility, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors))]
pub async fn get_facility(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let f = reg.get_facility(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, f.version, None, f))
}

/// Creates a facility.
#[utoipa::path(post, path = "/v1/facilities", tag = "facilities", request_body = registry_core::model::FacilityInput, responses((status = 201, description = "Created", body = registry_core::model::Facility, headers(("ETag" = String, description = "The version, quoted"), ("Location" = String, description = "URL of the new facility"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_facility(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    pre_authorize(&p, &body, |m| Action::CreateFacility(m))?;
    reject_read_only(&body)?;
    let input = decode(body)?;
    let f = reg.create_facility(&p, &input).await?;
    Ok(resource(StatusCode::CREATED, f.version, Some(format!("/v1/facilities/{}", f.id)), f))
}

/// Changes a facility (needs If-Match).
#[utoipa::path(patch, path = "/v1/facilities/{id}", tag = "facilities", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), request_body(content = FacilityPatch, content_type = "application/merge-patch+json", description = "JSON merge patch (RFC 7396): fields to change; null removes an optional field"), responses((status = 200, description = "The updated facility", body = registry_core::model::Facility, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn patch_facility(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match(&headers)?;
    reject_read_only(&patch)?;
    let current = reg.get_facility(&p, id).await?;
    auth::authorize(&p, Action::UpdateFacility(&current.municipality_code))?;
    let (expected, input) = patched(expected, current.version, &current.to_input(), &patch)?;
    let f = reg.update_facility(&p, id, expected, &input).await?;
    Ok(resource(StatusCode::OK, f.version, None, f))
}

/// Deletes a facility.
#[utoipa::path(delete, path = "/v1/facilities/{id}", tag = "facilities", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), responses((status = 204, description = "Deleted"), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_facility(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    reg.delete_facility(&p, parse_id(&id)?, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- associations ----

/// Filters and paging of `GET /v1/associations`; all optional, combined with AND.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssociationQuery {
    /// Only associations of this four-digit municipality code.
    municipality_code: Option<String>,
    /// Only associations with this activity code.
    activity: Option<String>,
    /// Only registrations in this status, e.g. `REGISTRATION_STATUS_APPROVED`.
    status: Option<String>,
    /// Only associations changed at or after this RFC 3339 time.
    updated_since: Option<String>,
    /// Items per page: 0 or absent means 50; above 500 is served as 500.
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// One page of associations, ordered by id.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociationList {
    /// The associations, with the fields the caller may see.
    associations: Vec<registry_core::model::Association>,
    /// Token for the next page; empty on the last page.
    next_page_token: String,
}

/// Lists associations.
#[utoipa::path(get, path = "/v1/associations", tag = "associations", params(AssociationQuery), responses((status = 200, description = "One page of associations", body = AssociationList), Errors))]
pub async fn list_associations(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<AssociationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let status = match non_empty(q.status) {
        None => None,
        Some(s) => Some(RegistrationStatus::ALL.iter().copied().find(|x| x.json_name() == s).ok_or_else(|| {
            ApiError::Core(Error::invalid(
                "status",
                "unknown_enum_value",
                format!("'{s}' is not a registration status, e.g. REGISTRATION_STATUS_PENDING"),
            ))
        })?),
    };
    let filter = AssociationFilter {
        municipality_code: non_empty(q.municipality_code),
        activity: non_empty(q.activity),
        status,
        updated_since: timestamp_param(&q.updated_since, "updatedSince")?,
    };
    let page = reg
        .list_associations(&p, &filter, &PageRequest { page_size: q.page_size.unwrap_or(0), page_token: q.page_token.unwrap_or_default() })
        .await?;
    Ok(Json(AssociationList { associations: page.items, next_page_token: page.next_page_token }).into_response())
}

/// Gets one association.
#[utoipa::path(get, path = "/v1/associations/{id}", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)")), responses((status = 200, description = "The association, with the fields the caller may see", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors))]
pub async fn get_association(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = reg.get_association(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Gets one association by organisation number.
#[utoipa::path(get, path = "/v1/associations/by-org-number/{orgNumber}", tag = "associations", params(("orgNumber" = String, Path, pattern = "^[0-9]{6}-?[0-9]{4}$", description = "Organisation number, NNNNNN-NNNN or ten digits (with a valid Luhn check digit)")), responses((status = 200, description = "The association", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors))]
pub async fn get_association_by_org_number(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    let a = reg.get_association_by_org_number(&p, &org).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Registers an association.
#[utoipa::path(post, path = "/v1/associations", tag = "associations", request_body = registry_core::model::AssociationInput, responses((status = 201, description = "Registered (pending the municipality's decision)", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted"), ("Location" = String, description = "URL of the new association"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_association(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    pre_authorize(&p, &body, |m| Action::CreateAssociation(m))?;
    reject_read_only(&body)?;
    let input = decode(body)?;
    let a = reg.create_association(&p, &input).await?;
    Ok(resource(StatusCode::CREATED, a.version, Some(format!("/v1/associations/{}", a.id)), a))
}

/// Changes an association (needs If-Match).
#[utoipa::path(patch, path = "/v1/associations/{id}", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), request_body(content = AssociationPatch, content_type = "application/merge-patch+json", description = "JSON merge patch (RFC 7396)"), responses((status = 200, description = "The updated association", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn patch_association(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match(&headers)?;
    reject_read_only(&patch)?;
    let current = reg.get_association(&p, id).await?;
    auth::authorize(&p, Action::UpdateAssociation(&current.municipality_code))?;
    let (expected, input) = patched(expected, current.version, &current.to_input(), &patch)?;
    let a = reg.update_association(&p, id, expected, &input).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Deletes an association.
#[utoipa::path(delete, path = "/v1/associations/{id}", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), responses((status = 204, description = "Deleted"), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_association(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    reg.delete_association(&p, parse_id(&id)?, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn decide(reg: &Registry, p: &Principal, id: &str, headers: &HeaderMap, d: Decision) -> ApiResult<Response> {
    let expected = if_match_optional(headers)?;
    let a = reg.decide_registration(p, parse_id(id)?, expected, &d).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Approves a registration.
#[utoipa::path(post, path = "/v1/associations/{id}/approve", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), responses((status = 200, description = "Approved", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn approve(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    decide(&reg, &p, &id, &headers, Decision::Approve).await
}

/// Body of a rejection.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectBody {
    /// Why; shown to the association; 1–2000 characters.
    reason: String,
}

/// Rejects a registration.
#[utoipa::path(post, path = "/v1/associations/{id}/reject", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), request_body = RejectBody, responses((status = 200, description = "Rejected", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn reject(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b: RejectBody = decode(body)?;
    decide(&reg, &p, &id, &headers, Decision::Reject { reason: b.reason }).await
}

/// Body of a request for completion.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompletionBody {
    /// What is missing; shown to the association; 1–2000 characters.
    message: String,
}

/// Asks the association to complete its registration.
#[utoipa::path(post, path = "/v1/associations/{id}/request-completion", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (from ETag); required for PATCH, optional for the others")), request_body = CompletionBody, responses((status = 200, description = "Sent back for completion", body = registry_core::model::Association, headers(("ETag" = String, description = "The version, quoted, for If-Match"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn request_completion(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b: CompletionBody = decode(body)?;
    decide(&reg, &p, &id, &headers, Decision::RequestCompletion { message: b.message }).await
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
