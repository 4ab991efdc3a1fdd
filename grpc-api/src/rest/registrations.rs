//! REST for an association's registrations with municipalities: their history, registering
//! with another municipality, each municipality's decisions, the association's answers, and
//! a municipality's inbox of registrations waiting for it; and `/v1/me/associations`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use registry_core::auth::Principal;
use registry_core::model::{Association, Decision, InboxItem, RegistrationDetail, RegistrationStatus};
use registry_core::service::{PageRequest, RegistrationAnswer};
use registry_core::{Error, Registry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Errors;
use super::{ApiResult, JsonBody, decode, if_match_optional, parse_id, query, resource};
use crate::errors::ApiError;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/associations/{id}/registrations", get(list_registrations).post(add_registration))
        .route("/v1/associations/{id}/registrations/{municipality_code}/approve", post(approve))
        .route("/v1/associations/{id}/registrations/{municipality_code}/reject", post(reject))
        .route("/v1/associations/{id}/registrations/{municipality_code}/request-completion", post(request_completion))
        .route("/v1/associations/{id}/registrations/{municipality_code}/resubmit", post(resubmit))
        .route("/v1/associations/{id}/registrations/{municipality_code}/withdraw", post(withdraw))
        .route("/v1/municipalities/{code}/registrations", get(inbox))
        .route("/v1/me/associations", get(my_associations))
}

/// An association's registrations with their history.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationList {
    /// Each registration the caller may follow, with its events oldest first.
    registrations: Vec<RegistrationDetail>,
}

/// The association's registrations with each municipality, with the municipality's messages
/// and the association's answers: its representatives, national bodies and admins see all,
/// a municipality's staff their own.
#[utoipa::path(get, path = "/v1/associations/{id}/registrations", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id")), responses((status = 200, description = "The registrations and their history", body = RegistrationList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_registrations(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let registrations = reg.registrations(&p, parse_id(&id)?).await?;
    Ok(Json(RegistrationList { registrations }).into_response())
}

/// Body of a registration with another municipality.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRegistration {
    /// The municipality to register with (four digits).
    #[schema(pattern = "^[0-9]{4}$")]
    municipality_code: String,
}

/// Registers the association with another municipality (or again where it was rejected or
/// withdrawn): its representatives, or that municipality's staff. The new registration is
/// `pending` for that municipality to decide.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), request_body = NewRegistration, responses((status = 201, description = "Registered, pending that municipality's decision", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn add_registration(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: NewRegistration = decode(body)?;
    let a = reg.add_registration(&p, id, &b.municipality_code, expected).await?;
    Ok(resource(StatusCode::CREATED, a.version, Some(format!("/v1/associations/{id}/registrations")), a))
}

async fn decide(reg: &Registry, p: &Principal, id: &str, m: &str, headers: &HeaderMap, d: Decision) -> ApiResult<Response> {
    let expected = if_match_optional(headers)?;
    let a = reg.decide_registration(p, parse_id(id)?, Some(m), expected, &d).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// The municipality approves the association's registration with it.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations/{municipalityCode}/approve", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("municipalityCode" = String, Path, description = "The deciding municipality"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), responses((status = 200, description = "Approved", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn approve(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, m)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    decide(&reg, &p, &id, &m, &headers, Decision::Approve).await
}

/// Why a registration is rejected.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reason {
    /// Shown to the association; 1–2000 characters.
    reason: String,
}

/// The municipality rejects the association's registration with it.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations/{municipalityCode}/reject", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("municipalityCode" = String, Path, description = "The deciding municipality"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), request_body = Reason, responses((status = 200, description = "Rejected", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn reject(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, m)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b: Reason = decode(body)?;
    decide(&reg, &p, &id, &m, &headers, Decision::Reject { reason: b.reason }).await
}

/// A message to the other side.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    /// The text; up to 2000 characters (required when asking for completion).
    #[serde(default)]
    message: String,
}

/// The municipality asks the association to complete its registration.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations/{municipalityCode}/request-completion", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("municipalityCode" = String, Path, description = "The deciding municipality"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), request_body = Message, responses((status = 200, description = "Sent back for completion", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn request_completion(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, m)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b: Message = decode(body)?;
    decide(&reg, &p, &id, &m, &headers, Decision::RequestCompletion { message: b.message }).await
}

/// The association answers a completion request (after updating its details as asked) and
/// sends the registration back to the municipality: its representatives.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations/{municipalityCode}/resubmit", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("municipalityCode" = String, Path, description = "The municipality"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), request_body = Message, responses((status = 200, description = "Pending the municipality's decision again", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn resubmit(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, m)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    let b: Message = decode(body)?;
    let a = reg.answer_registration(&p, parse_id(&id)?, &m, expected, RegistrationAnswer::Resubmit { message: b.message }).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// The association withdraws its registration with a municipality: its representatives.
#[utoipa::path(post, path = "/v1/associations/{id}/registrations/{municipalityCode}/withdraw", tag = "associations", params(("id" = uuid::Uuid, Path, description = "Association id"), ("municipalityCode" = String, Path, description = "The municipality"), ("If-Match" = Option<String>, Header, description = "The association's version you last read; optional")), responses((status = 200, description = "Withdrawn", body = Association, headers(("ETag" = String, description = "The association's version"))), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn withdraw(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, m)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    let a = reg.answer_registration(&p, parse_id(&id)?, &m, expected, RegistrationAnswer::Withdraw).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Filters and paging of a municipality's inbox.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only these statuses, comma-separated, e.g. `REGISTRATION_STATUS_PENDING,REGISTRATION_STATUS_NEEDS_COMPLETION`; default pending.
    status: Option<String>,
    /// Items per page: 0 or absent means 50; above 500 is served as 500.
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// One page of a municipality's inbox.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Registrations, oldest submission first.
    items: Vec<InboxItem>,
    /// Token for the next page; empty on the last page.
    next_page_token: String,
}

/// A municipality's registrations waiting for it, oldest submission first: its staff and
/// editor keys, national bodies and admins.
#[utoipa::path(get, path = "/v1/municipalities/{code}/registrations", tag = "associations", params(("code" = String, Path, description = "Municipality code"), InboxQuery), responses((status = 200, description = "One page of the inbox", body = Inbox), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn inbox(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(code): Path<String>,
    q: Result<Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let mut statuses = Vec::new();
    for s in q.status.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        statuses.push(RegistrationStatus::ALL.iter().copied().find(|x| x.json_name() == s).ok_or_else(|| {
            ApiError::Core(Error::invalid(
                "status",
                "unknown_enum_value",
                format!("'{s}' is not a registration status, e.g. REGISTRATION_STATUS_PENDING"),
            ))
        })?);
    }
    let page = reg
        .registration_inbox(
            &p,
            Some(&code),
            &statuses,
            &PageRequest { page_size: q.page_size.unwrap_or(0), page_token: q.page_token.unwrap_or_default() },
        )
        .await?;
    Ok(Json(Inbox { items: page.items, next_page_token: page.next_page_token }).into_response())
}

/// The associations the signed-in person represents.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyAssociations {
    /// By name.
    associations: Vec<Association>,
}

/// The associations the signed-in person represents (Mina föreningar), with everything a
/// representative sees.
#[utoipa::path(get, path = "/v1/me/associations", tag = "account", responses((status = 200, description = "Your associations", body = MyAssociations), Errors))]
pub async fn my_associations(State(reg): State<Registry>, Extension(p): Extension<Principal>) -> ApiResult<Response> {
    let associations = reg.my_associations(&p).await?;
    Ok(Json(MyAssociations { associations }).into_response())
}
