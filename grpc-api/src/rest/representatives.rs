//! REST for the people and figures an association keeps current itself: its representatives
//! (personal data) and its member statistics per year (every version kept).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Extension, Json, Router};
use registry_core::auth::Principal;
use registry_core::model::{MemberCount, MemberStatistics, MemberStatisticsReport, NewRepresentative, Representative};
use registry_core::{Error, Registry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::Errors;
use super::{ApiResult, JsonBody, decode, if_match_optional, parse_id};
use crate::errors::ApiError;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/associations/{id}/representatives", get(list_representatives).post(add_representative))
        .route("/v1/associations/{id}/representatives/{representative_id}", delete(remove_representative))
        .route("/v1/associations/{id}/member-statistics", get(list_member_statistics))
        .route("/v1/associations/{id}/member-statistics/{year}", put(report_member_statistics))
}

/// An association's representatives.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepresentativeList {
    /// In the order they were added.
    representatives: Vec<Representative>,
}

/// The association's representatives (personal data; each read is audited): its
/// representatives, and with the personal-data scope, staff of a municipality it is
/// registered in and admins. Personal identity numbers are never shown.
#[utoipa::path(get, path = "/v1/associations/{id}/representatives", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id")), responses((status = 200, description = "The representatives", body = RepresentativeList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_representatives(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let representatives = reg.representatives(&p, parse_id(&id)?).await?;
    Ok(Json(RepresentativeList { representatives }).into_response())
}

/// Adds a representative by personal identity number: the association's representatives,
/// staff of a municipality it is registered in, admins. They act for it when they sign in.
#[utoipa::path(post, path = "/v1/associations/{id}/representatives", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id")), request_body = NewRepresentative, responses((status = 201, description = "Added", body = Representative), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn add_representative(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let new: NewRepresentative = decode(body)?;
    let added = reg.add_representative(&p, id, &new).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// Removes a representative (by the id in the list); at least one remains.
#[utoipa::path(delete, path = "/v1/associations/{id}/representatives/{representativeId}", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("representativeId" = uuid::Uuid, Path, description = "The representative's id from the list")), responses((status = 204, description = "Removed"), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn remove_representative(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, rep)): Path<(String, String)>,
) -> ApiResult<Response> {
    reg.remove_representative(&p, parse_id(&id)?, parse_id(&rep)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every member statistics report of an association.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportList {
    /// By year, then version; `current` marks each year's figures in force.
    reports: Vec<MemberStatisticsReport>,
}

/// Every member statistics report of the association, each year's versions: its
/// representatives, the municipalities it is registered in, national bodies and admins.
#[utoipa::path(get, path = "/v1/associations/{id}/member-statistics", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id")), responses((status = 200, description = "The reports", body = ReportList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_member_statistics(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let reports = reg.member_statistics(&p, parse_id(&id)?).await?;
    Ok(Json(ReportList { reports }).into_response())
}

/// A year's member counts.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Counts {
    /// Counts by age band and gender; each combination at most once.
    counts: Vec<MemberCount>,
}

/// Reports a year's member statistics: the year's first report without `If-Match` (201), a
/// correction with `If-Match` naming the year's current version (200). Every version is kept.
#[utoipa::path(put, path = "/v1/associations/{id}/member-statistics/{year}", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("year" = i32, Path, description = "The year the figures are for"), ("If-Match" = Option<String>, Header, description = "The year's current report version, to correct it")), request_body = Counts, responses((status = 201, description = "The year's first report", body = MemberStatisticsReport, headers(("ETag" = String, description = "The report's version"))), (status = 200, description = "A correction", body = MemberStatisticsReport, headers(("ETag" = String, description = "The report's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn report_member_statistics(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, year)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let year: i32 = year.parse().map_err(|_| ApiError::Core(Error::invalid("year", "format", "must be a year, e.g. 2025")))?;
    let expected = if_match_optional(&headers)?
        .map(|v| i32::try_from(v).map_err(|_| ApiError::Core(Error::invalid("If-Match", "out_of_range", "is not a report version"))))
        .transpose()?;
    let b: Counts = decode(body)?;
    let report = reg.report_member_statistics(&p, id, &MemberStatistics { year, counts: b.counts }, expected).await?;
    let status = if report.version == 1 { StatusCode::CREATED } else { StatusCode::OK };
    let mut res = (status, Json(&report)).into_response();
    res.headers_mut().insert(header::ETAG, HeaderValue::from_str(&format!("\"{}\"", report.version)).expect("digits"));
    Ok(res)
}
