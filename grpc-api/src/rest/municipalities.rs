//! REST `/v1/municipalities`: the 290 municipalities and their boundaries.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use registry_core::Registry;
use registry_core::auth::Principal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Errors;
use super::{ApiResult, query};

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/municipalities", get(list_municipalities))
        .route("/v1/municipalities/{code}", get(get_municipality))
        .route("/v1/municipalities/{code}/boundary", get(get_municipality_boundary))
}

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
