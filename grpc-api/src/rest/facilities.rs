//! REST `/v1/facilities`: list, batch get, get, create, patch (JSON merge patch) and delete.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::service::{FacilityFilter, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Errors;
use super::{
    ApiResult, JsonBody, decode, if_match, if_match_optional, municipality_of, non_empty, parse_id, patched, query, reject_read_only,
    resource, timestamp_param,
};

use registry_core::geo::LatLon;
use registry_core::model::{Accessibility, Address, Contact, Ownership, UnitInput};

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/facilities", get(list_facilities).post(create_facility))
        .route("/v1/facilities:batchGet", post(batch_get_facilities))
        .route("/v1/facilities/{id}", get(get_facility).patch(patch_facility).delete(delete_facility))
}

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
    let ids = req.ids.iter().enumerate().map(|(i, s)| crate::shared::parse_id(s, &format!("ids[{i}]"))).collect::<Result<Vec<_>, _>>()?;
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
    reg.authorize_create_facility(&p, municipality_of(&body)?)?;
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
    let f = reg
        .change_facility(&p, id, |current| {
            reject_read_only(&patch)?;
            patched(if_match(&headers)?, current.version, &current.to_input(), &patch)
        })
        .await?;
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

/// A JSON merge patch of a facility: the fields to change (see `FacilityInput` for their rules).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FacilityPatch {
    municipality_code: Option<String>,
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    activities: Option<Vec<String>>,
    location: Option<LatLon>,
    address: Option<Address>,
    ownership: Option<Ownership>,
    accessibility: Option<Vec<Accessibility>>,
    contact: Option<Contact>,
    /// The complete new list of units; units listed with their `id` keep it.
    units: Option<Vec<UnitInput>>,
}
