//! REST `/v1/associations`: list, get (also by organisation number), register, patch, delete, and the municipality's decisions.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use registry_core::auth::Principal;
use registry_core::model::{Decision, RegistrationStatus};
use registry_core::service::{AssociationFilter, PageRequest};
use registry_core::{Error, Registry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Errors;
use super::{
    ApiResult, JsonBody, decode, if_match, if_match_optional, municipality_of, non_empty, parse_id, patched, query, reject_read_only,
    resource, timestamp_param,
};
use crate::errors::ApiError;

use registry_core::model::{AssociationStatus, Contact, ContactPerson, MemberStatistics, PostalAddress};

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/associations", get(list_associations).post(create_association))
        .route("/v1/associations/by-org-number/{org_number}", get(get_association_by_org_number))
        .route("/v1/associations/{id}", get(get_association).patch(patch_association).delete(delete_association))
        .route("/v1/associations/{id}/approve", post(approve))
        .route("/v1/associations/{id}/reject", post(reject))
        .route("/v1/associations/{id}/request-completion", post(request_completion))
}

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
    reg.authorize_create_association(&p, municipality_of(&body)?)?;
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
    let a = reg
        .change_association(&p, id, |current| {
            reject_read_only(&patch)?;
            patched(if_match(&headers)?, current.version, &current.to_input(), &patch)
        })
        .await?;
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
    let a = reg.decide_registration(p, parse_id(id)?, None, expected, &d).await?;
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

/// A JSON merge patch of an association: the fields to change (see `AssociationInput`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AssociationPatch {
    org_number: Option<String>,
    name: Option<String>,
    municipality_code: Option<String>,
    activities: Option<Vec<String>>,
    contact: Option<Contact>,
    member_statistics: Option<MemberStatistics>,
    /// The complete new list; ignored for callers without the personal-data scope.
    contact_persons: Option<Vec<ContactPerson>>,
    postal_address: Option<PostalAddress>,
    /// Association type code.
    association_type: Option<String>,
    /// Federation codes (the complete new list).
    federations: Option<Vec<String>>,
    founded_year: Option<i32>,
    status: Option<AssociationStatus>,
}
