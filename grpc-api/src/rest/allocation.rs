//! REST for seasonal allocation (säsongsfördelning, docs/allocation.md): rounds and their
//! published principles, applications, runs (preliminary, what-if, staff edits), publishing,
//! comments, the final allocation, and the allocation as open data.

use allocation::Allocations;
use std::sync::Arc;

use allocation::model::{Application, ApplicationInput, Match, MatchInput, Round, RoundInput, Run};
use allocation::service::{Comment, EditRequest, PublicAllocation, RunRequest, RunSummary};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use federation::service::Service;
use registry_core::Registry;
use registry_core::auth::Principal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::problem::Errors;
use super::{ApiResult, JsonBody, OptionalJsonBody, decode, if_match_optional, parse_id, query, resource};

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/allocation/rounds", get(list_rounds).post(create_round))
        .route("/v1/allocation/rounds/{id}", get(get_round).put(update_round))
        .route("/v1/allocation/rounds/{id}/applications", get(list_applications).post(submit_application))
        .route("/v1/allocation/rounds/{id}/runs", get(list_runs).post(create_run))
        .route("/v1/allocation/rounds/{id}/publish", post(publish))
        .route("/v1/allocation/rounds/{id}/finalise", post(finalise))
        .route("/v1/allocation/rounds/{id}/comments", get(list_comments))
        .route("/v1/allocation/rounds/{id}/allocation", get(public_allocation))
        .route("/v1/allocation/rounds/{id}/allocation.csv", get(public_allocation_csv))
        .route("/v1/allocation/rounds/{id}/series", get(list_series))
        .route("/v1/allocation/rounds/{id}/series/retry", post(retry_series))
        .route("/v1/allocation/applications/{id}/withdraw", post(withdraw))
        .route("/v1/allocation/applications/{id}/comments", post(comment))
        .route("/v1/allocation/runs/{id}", get(get_run))
        .route("/v1/allocation/runs/{id}/edits", post(edit_run))
        .route("/v1/allocation/rounds/{id}/matches", get(list_matches))
        .route("/v1/allocation/rounds/{id}/match-runs", post(run_matches))
        .route("/v1/allocation/rounds/{id}/matches/decide", post(decide_matches))
        .route("/v1/allocation/applications/{id}/matches", post(request_match))
        .route("/v1/allocation/matches/{id}/withdraw", post(withdraw_match))
}

fn service(reg: Registry) -> Allocations {
    Allocations::new(reg)
}

/// Filter of the round list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoundQuery {
    /// Only this municipality's rounds (kommunkod).
    municipality_code: Option<String>,
}

/// Rounds.
#[derive(Serialize, ToSchema)]
pub struct RoundList {
    /// Newest season first.
    rounds: Vec<Round>,
}

/// The allocation rounds, newest season first: open to everyone, with their principles.
#[utoipa::path(get, path = "/v1/allocation/rounds", tag = "allocation", params(RoundQuery), responses((status = 200, description = "Rounds", body = RoundList), Errors))]
pub async fn list_rounds(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<RoundQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let rounds = service(reg).list_rounds(&p, q.municipality_code.as_deref()).await?;
    Ok(Json(RoundList { rounds }).into_response())
}

/// Sets up a round: its season, breaks, application period, units and principles (staff of the
/// municipality).
#[utoipa::path(post, path = "/v1/allocation/rounds", tag = "allocation", request_body = RoundInput, responses((status = 201, description = "Created", body = Round), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_round(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let input: RoundInput = decode(body)?;
    let r = service(reg).create_round(&p, &input).await?;
    Ok(resource(StatusCode::CREATED, r.version, Some(format!("/v1/allocation/rounds/{}", r.id)), r))
}

/// One round.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "The round", body = Round, headers(("ETag" = String, description = "Its version"))), Errors))]
pub async fn get_round(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let r = service(reg).get_round(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

/// Replaces a round's set-up (staff; not once final). `If-Match` guards against lost updates.
#[utoipa::path(put, path = "/v1/allocation/rounds/{id}", tag = "allocation", params(("id" = Uuid, Path, description = "Round id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = RoundInput, responses((status = 200, description = "Changed", body = Round), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn update_round(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let input: RoundInput = decode(body)?;
    let r = service(reg).update_round(&p, id, &input, expected).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

/// Applications.
#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    /// In the order they came.
    applications: Vec<Application>,
}

/// A round's applications: staff see all of them, a representative their associations' own.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/applications", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "Applications", body = ApplicationList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_applications(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let applications = service(reg).applications(&p, parse_id(&id)?).await?;
    Ok(Json(ApplicationList { applications }).into_response())
}

/// Applies for training times for one team (a representative of the association, within the
/// application period). Every alternative is checked against the round's units: their hours and
/// blocks, the activity they suit, their size; overlapping alternatives are refused.
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/applications", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), request_body = ApplicationInput, responses((status = 201, description = "Sent", body = Application), Errors), security(("bearer" = [])))]
pub async fn submit_application(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let input: ApplicationInput = decode(body)?;
    let a = service(reg).submit_application(&p, id, &input).await?;
    Ok(resource(StatusCode::CREATED, a.version, None, a))
}

/// Withdraws an application while the round is open (its association's representative).
#[utoipa::path(post, path = "/v1/allocation/applications/{id}/withdraw", tag = "allocation", params(("id" = Uuid, Path, description = "Application id")), responses((status = 200, description = "Withdrawn", body = Application), Errors), security(("bearer" = [])))]
pub async fn withdraw(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let a = service(reg).withdraw_application(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Runs.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest first, without their decisions.
    runs: Vec<RunSummary>,
}

/// A round's runs (staff).
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/runs", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "Runs", body = RunList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_runs(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let runs = service(reg).runs(&p, parse_id(&id)?).await?;
    Ok(Json(RunList { runs }).into_response())
}

/// Runs the allocator (staff; not once final): the round's principles, or other weights for a
/// what-if; from a base run, keeping its locked sessions and those of the applications named.
/// The answer has every decision and its reasons.
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/runs", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), request_body = RunRequest, responses((status = 201, description = "The run", body = Run), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_run(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(vendors): Extension<Arc<Service>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let req: RunRequest = decode(body)?;
    let run = service(reg).with_vendors(vendors).run(&p, id, &req).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/allocation/runs/{}", run.id))], Json(run)).into_response())
}

/// One run: staff see all of it; a published or final run shows a representative their
/// associations' decisions, and a final run is open to everyone.
#[utoipa::path(get, path = "/v1/allocation/runs/{id}", tag = "allocation", params(("id" = Uuid, Path, description = "Run id")), responses((status = 200, description = "The run", body = Run), Errors))]
pub async fn get_run(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let run = service(reg).get_run(&p, parse_id(&id)?).await?;
    Ok(Json(run).into_response())
}

/// A staff member's manual edit of one session, with a reason (audited): a new run with that
/// session locked where staff put it and the rest allocated around it.
#[utoipa::path(post, path = "/v1/allocation/runs/{id}/edits", tag = "allocation", params(("id" = Uuid, Path, description = "The run edited")), request_body = EditRequest, responses((status = 201, description = "The new run", body = Run), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn edit_run(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(vendors): Extension<Arc<Service>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let req: EditRequest = decode(body)?;
    let run = service(reg).with_vendors(vendors).edit(&p, id, &req).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/allocation/runs/{}", run.id))], Json(run)).into_response())
}

/// Which run.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunChoice {
    /// The run.
    run_id: Uuid,
}

/// Publishes a run to the applicants as the preliminary allocation, for the allocation meeting
/// (staff).
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/publish", tag = "allocation", params(("id" = Uuid, Path, description = "Round id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = RunChoice, responses((status = 200, description = "Published", body = Round), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn publish(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: RunChoice = decode(body)?;
    let r = service(reg).publish(&p, id, b.run_id, expected).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

/// Registers a run as the final allocation (staff). Nothing is rerun or edited after this.
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/finalise", tag = "allocation", params(("id" = Uuid, Path, description = "Round id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = RunChoice, responses((status = 200, description = "Final", body = Round), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn finalise(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: RunChoice = decode(body)?;
    let r = service(reg).finalise(&p, id, b.run_id, expected).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

/// A comment.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentInput {
    /// What the applicant says about the preliminary allocation (at most 2,000 characters).
    text: String,
}

/// Comments on the published preliminary allocation of an application (its association's
/// representative).
#[utoipa::path(post, path = "/v1/allocation/applications/{id}/comments", tag = "allocation", params(("id" = Uuid, Path, description = "Application id")), request_body = CommentInput, responses((status = 201, description = "Noted", body = Comment), Errors), security(("bearer" = [])))]
pub async fn comment(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let b: CommentInput = decode(body)?;
    let c = service(reg).comment(&p, id, &b.text).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// Comments.
#[derive(Serialize, ToSchema)]
pub struct CommentList {
    /// Oldest first.
    comments: Vec<Comment>,
}

/// A round's comments: staff see all, a representative their associations' own.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/comments", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "Comments", body = CommentList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_comments(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let comments = service(reg).comments(&p, parse_id(&id)?).await?;
    Ok(Json(CommentList { comments }).into_response())
}

/// The round's allocation as open data: every placed session per unit and association, and the
/// principles it was made by (the final one, or the preliminary one while that is published).
/// No personal data.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/allocation", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "The allocation", body = PublicAllocation), Errors))]
pub async fn public_allocation(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = service(reg).public_allocation(&p, parse_id(&id)?).await?;
    Ok(Json(a).into_response())
}

/// The same as CSV (RFC 4180, UTF-8): `unitId,day,start,end,associationId,associationName,team,activity,date`.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/allocation.csv", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "The allocation as CSV", content_type = "text/csv", body = String), Errors))]
pub async fn public_allocation_csv(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = service(reg).public_allocation(&p, parse_id(&id)?).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"allocation.csv\"")],
        allocation::export::csv(&a),
    )
        .into_response())
}

/// The final allocation at the vendors.
#[derive(Serialize, ToSchema)]
pub struct SeriesList {
    /// Every placed session: booked, pending, in conflict (with the vendor's per-week report)
    /// or not bookable.
    series: Vec<allocation::series::SeriesStatus>,
}

/// What became of the final allocation at the vendors, session by session (staff): registering
/// the final allocation queues every placed session, and the registry books each as a weekly
/// series over the season at its unit's vendor.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/series", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "The sessions at the vendors", body = SeriesList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_series(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let series = service(reg).series(&p, parse_id(&id)?).await?;
    Ok(Json(SeriesList { series }).into_response())
}

/// How many sessions were queued again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Requeued {
    /// Sessions queued.
    queued: usize,
}

/// Queues the sessions in conflict or not bookable again, once staff have resolved them at the
/// vendor (staff).
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/series/retry", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "Queued again", body = Requeued), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn retry_series(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let queued = service(reg).retry_series(&p, parse_id(&id)?).await?;
    Ok(Json(Requeued { queued }).into_response())
}

/// Match requests.
#[derive(Serialize, ToSchema)]
pub struct MatchList {
    /// In the order they came.
    matches: Vec<Match>,
}

/// A round's match requests and what became of them: staff see all, a representative their
/// associations' own.
#[utoipa::path(get, path = "/v1/allocation/rounds/{id}/matches", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), responses((status = 200, description = "Match requests", body = MatchList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_matches(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let matches = service(reg).matches(&p, parse_id(&id)?).await?;
    Ok(Json(MatchList { matches }).into_response())
}

/// Asks for a match time for the team of an application (its association's representative):
/// one match, its length and ranked alternatives (date, window, units). Any time in the
/// season, for a date not passed.
#[utoipa::path(post, path = "/v1/allocation/applications/{id}/matches", tag = "allocation", params(("id" = Uuid, Path, description = "The team's application")), request_body = MatchInput, responses((status = 201, description = "Requested", body = Match), Errors), security(("bearer" = [])))]
pub async fn request_match(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let input: MatchInput = decode(body)?;
    let m = service(reg).request_match(&p, id, &input).await?;
    Ok(resource(StatusCode::CREATED, m.version, Some(format!("/v1/allocation/rounds/{}/matches", m.round_id)), m))
}

/// Withdraws a match request not yet allocated (its association's representative).
#[utoipa::path(post, path = "/v1/allocation/matches/{id}/withdraw", tag = "allocation", params(("id" = Uuid, Path, description = "Match request id")), responses((status = 200, description = "Withdrawn", body = Match), Errors), security(("bearer" = [])))]
pub async fn withdraw_match(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = service(reg).withdraw_match(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, m.version, None, m))
}

/// A run of match times.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchRunRequest {
    /// What it is (default `matches`).
    #[serde(default)]
    label: String,
}

/// Allocates the round's open match requests (staff; once the final allocation of training
/// times is registered), around the weekly times, the matches decided before and what the
/// vendors have booked on those dates. The body may be left out. The answer has every decision
/// and its reasons.
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/match-runs", tag = "allocation", params(("id" = Uuid, Path, description = "Round id")), request_body = MatchRunRequest, responses((status = 201, description = "The run", body = Run), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn run_matches(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(vendors): Extension<Arc<Service>>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let req: MatchRunRequest = if body.is_null() { MatchRunRequest::default() } else { decode(body)? };
    let run = service(reg).with_vendors(vendors).run_matches(&p, id, &req.label).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/allocation/runs/{}", run.id))], Json(run)).into_response())
}

/// Match requests decided.
#[derive(Serialize, ToSchema)]
pub struct DecidedMatches {
    /// The requests the run decided: allocated (and queued for booking at the vendor), or kept
    /// open with the run's reasons.
    matches: Vec<Match>,
}

/// Registers a run of match times (staff): each open request it placed is allocated there and
/// booked at its unit's vendor as one occasion; the others stay open with the run's reasons.
#[utoipa::path(post, path = "/v1/allocation/rounds/{id}/matches/decide", tag = "allocation", params(("id" = Uuid, Path, description = "Round id"), ("If-Match" = Option<String>, Header, description = "The round version you last read")), request_body = RunChoice, responses((status = 200, description = "Decided", body = DecidedMatches), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn decide_matches(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: RunChoice = decode(body)?;
    let matches = service(reg).decide_matches(&p, id, b.run_id, expected).await?;
    Ok(Json(DecidedMatches { matches }).into_response())
}
