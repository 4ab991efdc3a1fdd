//! REST routes of the vendor directory (`/v1/vendors`) and the vendor of a unit.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use federation::service::certification::Certifier;
use federation::service::vendors;
use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::model::{CertificationRun, OverrideInput, Vendor, VendorInput};
use registry_core::service::BookedUnit;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{JsonBody, decode, query, resource};
use crate::errors::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/vendors", get(list_vendors).post(create_vendor))
        .route("/v1/vendors/{id}", get(get_vendor).patch(patch_vendor).delete(delete_vendor))
        .route("/v1/vendors/certified", get(certified_vendors))
        .route("/v1/vendors/{id}/checks", post(run_vendor_checks))
        .route("/v1/vendors/{id}/certification/runs", get(certification_runs))
        .route("/v1/vendors/{id}/certification/override", put(override_certification).delete(clear_override))
        .route("/v1/vendors/{id}/units", get(vendor_units))
        .route("/v1/facilities/{id}/units/{unit_id}/vendor", put(set_unit_vendor).delete(clear_unit_vendor))
}

fn parse_id(s: &str, field: &str) -> ApiResult<Uuid> {
    Ok(crate::shared::parse_id(s, field)?)
}

/// Query of `GET /v1/vendors`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VendorQuery {
    /// Only vendors serving this municipality code.
    municipality_code: Option<String>,
}

/// The vendors.
#[derive(Serialize, ToSchema)]
pub struct VendorList {
    /// By name.
    vendors: Vec<Vendor>,
}

/// Lists the vendor directory.
#[utoipa::path(get, path = "/v1/vendors", tag = "vendors", params(VendorQuery), responses((status = 200, description = "The vendors", body = VendorList), super::problem::Errors))]
pub async fn list_vendors(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<VendorQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let vendors = reg.list_vendors(&p, q.municipality_code.as_deref().filter(|c| !c.is_empty())).await?;
    Ok(Json(VendorList { vendors }).into_response())
}

/// Gets one vendor.
#[utoipa::path(get, path = "/v1/vendors/{id}", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)")), responses((status = 200, description = "The vendor", body = Vendor), super::problem::Errors))]
pub async fn get_vendor(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let v = reg.get_vendor(&p, parse_id(&id, "id")?).await?;
    Ok(resource(StatusCode::OK, v.version, None, v))
}

/// Takes `certificationOverride` out of a request body (its other fields are the vendor's).
fn take_override(body: &mut serde_json::Value) -> ApiResult<Option<OverrideInput>> {
    match body.as_object_mut().and_then(|o| o.remove("certificationOverride")) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(o) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct Wrapped {
                certification_override: OverrideInput,
            }
            let w: Wrapped = decode(serde_json::json!({ "certificationOverride": o }))?;
            Ok(Some(w.certification_override))
        }
    }
}

/// Registers a vendor (admin). Its endpoint is run against the conformance kit first; a vendor
/// that fails is refused with the failing checks' ids, unless `certificationOverride` says why
/// it may be federated anyway (kept and audited).
#[utoipa::path(post, path = "/v1/vendors", tag = "vendors", request_body(content = Object, description = "The VendorInput fields, and optionally certificationOverride: {reason, until}"), responses((status = 201, description = "Registered", body = Vendor), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_vendor(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(certifier): Extension<Certifier>,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    reg.authorize_vendor_management(&p)?;
    let o = take_override(&mut body)?;
    let input: VendorInput = decode(body)?;
    let v = vendors::register(&certifier, &reg, &p, &input, o.as_ref()).await?;
    Ok(resource(StatusCode::CREATED, v.version, Some(format!("/v1/vendors/{}", v.id)), v))
}

/// Fields of a vendor set by the registry.
const READ_ONLY: &[&str] = &["id", "version", "createdAt", "updatedAt", "capabilities", "capabilitiesAt", "conformance", "certification"];

/// Changes a vendor (JSON merge patch, If-Match): admins any field, a vendor's own key its
/// endpoint, CA and limits. A new endpoint or credential is run against the kit again, as at
/// registration, and must pass unless an admin adds `certificationOverride`.
#[utoipa::path(patch, path = "/v1/vendors/{id}", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = String, Header, description = "The version you last read (from ETag)")), request_body(content = Object, content_type = "application/merge-patch+json", description = "JSON merge patch of the VendorInput fields"), responses((status = 200, description = "The vendor", body = Vendor), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn patch_vendor(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(certifier): Extension<Certifier>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    JsonBody(mut patch): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "id")?;
    let o = take_override(&mut patch)?;
    let v = vendors::change(&certifier, &reg, &p, id, o.as_ref(), |current| {
        let expected = super::if_match(&headers)?;
        super::reject_fields(&patch, READ_ONLY)?;
        super::patched(expected, current.version, &current.to_input(), &patch)
    })
    .await?;
    Ok(resource(StatusCode::OK, v.version, None, v))
}

/// Runs the conformance kit against a vendor's endpoint now (an admin or the vendor's own
/// key): its capabilities and the checks that only read. The run is kept, and the vendor's
/// certification follows from it.
#[utoipa::path(post, path = "/v1/vendors/{id}/checks", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)")), responses((status = 200, description = "The vendor with the new result in `conformance` and `certification`", body = Vendor), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn run_vendor_checks(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(certifier): Extension<Certifier>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let v = vendors::run_checks(&certifier, &reg, &p, parse_id(&id, "id")?).await?;
    Ok(resource(StatusCode::OK, v.version, None, v))
}

/// Query of `GET /v1/vendors/{id}/certification/runs`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Runs per page (default 20, at most 100).
    page_size: Option<i64>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// A page of runs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// Newest first.
    runs: Vec<CertificationRun>,
    /// Token of the next (older) page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// A vendor's conformance runs, newest first, with every check's result (public).
#[utoipa::path(get, path = "/v1/vendors/{id}/certification/runs", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), RunsQuery), responses((status = 200, description = "A page of runs", body = RunPage), super::problem::Errors))]
pub async fn certification_runs(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let id = parse_id(&id, "id")?;
    let before = match q.page_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(parse_id(t, "pageToken")?),
        None => None,
    };
    let (runs, next) = reg.certification_runs(&p, id, before, q.page_size.unwrap_or(20)).await?;
    Ok(Json(RunPage { runs, next_page_token: next.map(|n| n.to_string()) }).into_response())
}

/// A certified vendor, as the public list shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertifiedVendor {
    /// Vendor id.
    id: Uuid,
    /// Name.
    name: String,
    /// The vendor.v1 version it speaks.
    protocol_version: Option<String>,
    /// Its software, as its capabilities say.
    implementation: Option<String>,
    /// Municipalities it serves.
    municipality_codes: Vec<String>,
    /// Its latest passing run.
    last_passed_at: Option<DateTime<Utc>>,
    /// Until when that run certifies it.
    certified_until: Option<DateTime<Utc>>,
}

/// The certified vendors.
#[derive(Serialize, ToSchema)]
pub struct CertifiedVendorList {
    /// By name.
    vendors: Vec<CertifiedVendor>,
}

/// The certified vendors: who may be federated, with the protocol version, the municipalities
/// served and the last passing run (public).
#[utoipa::path(get, path = "/v1/vendors/certified", tag = "vendors", responses((status = 200, description = "The certified vendors", body = CertifiedVendorList), super::problem::Errors))]
pub async fn certified_vendors(State(reg): State<Registry>, Extension(p): Extension<Principal>) -> ApiResult<Response> {
    let vendors = reg
        .certified_vendors(&p)
        .await?
        .into_iter()
        .map(|v| CertifiedVendor {
            id: v.id,
            implementation: v.capabilities.as_ref().and_then(|c| c.get("implementation")).and_then(|s| s.as_str()).map(str::to_string),
            protocol_version: v.certification.protocol_version,
            municipality_codes: v.municipality_codes,
            last_passed_at: v.certification.last_passed_at,
            certified_until: v.certification.certified_until,
            name: v.name,
        })
        .collect();
    Ok(Json(CertifiedVendorList { vendors }).into_response())
}

/// Federates a vendor although it has no passing run (admin): why, and until when (default
/// 30 days, at most 90). Kept with the vendor, in its change log and in the audit log.
#[utoipa::path(put, path = "/v1/vendors/{id}/certification/override", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (optional)")), request_body = OverrideInput, responses((status = 200, description = "The vendor", body = Vendor), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn override_certification(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "id")?;
    reg.authorize_vendor_management(&p)?;
    let o: OverrideInput = decode(body)?;
    let v = reg.override_certification(&p, id, super::if_match_optional(&headers)?, Some(&o)).await?;
    Ok(resource(StatusCode::OK, v.version, None, v))
}

/// Ends an admin's override (admin): the vendor is federated again only with a passing run.
#[utoipa::path(delete, path = "/v1/vendors/{id}/certification/override", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (optional)")), responses((status = 200, description = "The vendor", body = Vendor), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn clear_override(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let id = parse_id(&id, "id")?;
    let v = reg.override_certification(&p, id, super::if_match_optional(&headers)?, None).await?;
    Ok(resource(StatusCode::OK, v.version, None, v))
}

/// The units a vendor books.
#[derive(Serialize, ToSchema)]
pub struct VendorUnitList {
    /// By municipality, facility and unit.
    units: Vec<BookedUnit>,
}

/// The units a vendor books, with its own reference for each: what a vendor checks its
/// set-up against.
#[utoipa::path(get, path = "/v1/vendors/{id}/units", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)")), responses((status = 200, description = "The units", body = VendorUnitList), super::problem::Errors))]
pub async fn vendor_units(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let units = reg.units_of_vendor(&p, parse_id(&id, "id")?).await?;
    Ok(Json(VendorUnitList { units }).into_response())
}

/// Removes a vendor (admin); its units are no longer booked through it.
#[utoipa::path(delete, path = "/v1/vendors/{id}", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Id (UUID)"), ("If-Match" = Option<String>, Header, description = "The version you last read (optional)")), responses((status = 204, description = "Removed"), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_vendor(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let expected = super::if_match_optional(&headers)?;
    reg.delete_vendor(&p, parse_id(&id, "id")?, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Body of `PUT /v1/facilities/{id}/units/{unitId}/vendor`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnitVendor {
    /// The vendor.
    vendor_id: String,
    /// The vendor's own reference for the unit.
    external_ref: String,
}

/// Chooses the vendor that books a unit (the facility's municipality, or an admin).
#[utoipa::path(put, path = "/v1/facilities/{id}/units/{unit_id}/vendor", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Facility id"), ("unit_id" = uuid::Uuid, Path, description = "Unit id")), request_body = UnitVendor, responses((status = 204, description = "Set"), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn set_unit_vendor(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, unit_id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let (id, unit_id) = (parse_id(&id, "id")?, parse_id(&unit_id, "unitId")?);
    let b: UnitVendor = decode(body)?;
    let vendor_id = parse_id(&b.vendor_id, "vendorId")?;
    reg.set_unit_vendor(&p, id, unit_id, Some((vendor_id, b.external_ref))).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Stops booking a unit through a vendor.
#[utoipa::path(delete, path = "/v1/facilities/{id}/units/{unit_id}/vendor", tag = "vendors", params(("id" = uuid::Uuid, Path, description = "Facility id"), ("unit_id" = uuid::Uuid, Path, description = "Unit id")), responses((status = 204, description = "Cleared"), super::problem::Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn clear_unit_vendor(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, unit_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    reg.set_unit_vendor(&p, parse_id(&id, "id")?, parse_id(&unit_id, "unitId")?, None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
