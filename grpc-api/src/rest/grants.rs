//! REST for grants (föreningsbidrag, docs/grants.md): programmes, applications with attachments
//! and attendance lists, handling and decisions, payment orders and their pain.001 files, and
//! the decided grants as open data.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use grants::Grants;
use grants::model::*;
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
        .route("/v1/grants/programmes", get(list_programmes).post(create_programme))
        .route("/v1/grants/programmes/{id}", get(get_programme).put(update_programme))
        .route("/v1/grants/programmes/{id}/applications", post(create_application))
        .route("/v1/grants/applications", get(list_applications))
        .route("/v1/grants/applications/{id}", get(get_application).put(update_application))
        .route("/v1/grants/applications/{id}/submit", post(submit))
        .route("/v1/grants/applications/{id}/withdraw", post(withdraw))
        .route(
            "/v1/grants/applications/{id}/attachments",
            post(add_attachment).layer(axum::extract::DefaultBodyLimit::max(grants::service::MAX_ATTACHMENT_BYTES)),
        )
        .route("/v1/grants/applications/{id}/attachments/{attachment}", get(get_attachment).delete(delete_attachment))
        .route(
            "/v1/grants/applications/{id}/attendance-lists",
            post(add_attendance).layer(axum::extract::DefaultBodyLimit::max(grants::service::MAX_ATTENDANCE_BYTES)),
        )
        .route("/v1/grants/applications/{id}/attendance-lists/{list}", axum::routing::delete(delete_attendance))
        .route("/v1/grants/applications/{id}/completion-request", post(request_completion))
        .route("/v1/grants/applications/{id}/assessment", post(assess))
        .route("/v1/grants/applications/{id}/decision", post(decide))
        .route("/v1/grants/payment-orders", get(list_orders).post(prepare_order))
        .route("/v1/grants/payment-orders/{id}", get(get_order))
        .route("/v1/grants/payment-orders/{id}/attest", post(attest_order))
        .route("/v1/grants/payment-orders/{id}/cancel", post(cancel_order))
        .route("/v1/grants/payment-orders/{id}/file", get(payment_file))
        .route("/v1/grants/decisions", get(public_decisions))
        .route("/v1/grants/decisions.csv", get(public_decisions_csv))
        .route("/v1/grants/statistics", get(statistics))
}

/// The largest body of an upload route (an attachment or an attendance list), through REST or
/// gRPC (`registry.v1.GrantsService/AddAttachment` and `/AddAttendanceList`, the same sizes and
/// room for the rest of the message), or none for the other routes, which keep the server's
/// body limit.
pub fn upload_limit(method: &axum::http::Method, path: &str) -> Option<usize> {
    if method != axum::http::Method::POST {
        return None;
    }
    if !path.starts_with("/v1/grants/applications/") {
        return crate::grpc::grants::upload_limit(path);
    }
    if path.ends_with("/attachments") {
        Some(grants::service::MAX_ATTACHMENT_BYTES)
    } else if path.ends_with("/attendance-lists") {
        Some(grants::service::MAX_ATTENDANCE_BYTES)
    } else {
        None
    }
}

fn service(reg: Registry) -> Grants {
    Grants::new(reg)
}

fn id2(a: &str, b: &str) -> ApiResult<(Uuid, Uuid)> {
    Ok((parse_id(a)?, parse_id(b)?))
}

// ---- programmes ----

/// Filter of the programme list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgrammeQuery {
    /// Only this municipality's programmes (kommunkod).
    municipality_code: Option<String>,
}

/// Programmes.
#[derive(Serialize, ToSchema)]
pub struct ProgrammeList {
    /// Newest period first.
    programmes: Vec<Programme>,
}

/// The grant programmes, newest period first, with their rules and how much of each budget is
/// decided and paid: open to everyone.
#[utoipa::path(get, path = "/v1/grants/programmes", tag = "grants", params(ProgrammeQuery), responses((status = 200, description = "Programmes", body = ProgrammeList), Errors))]
pub async fn list_programmes(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<ProgrammeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let programmes = service(reg).list_programmes(&p, q.municipality_code.as_deref()).await?;
    Ok(Json(ProgrammeList { programmes }).into_response())
}

/// Sets up a programme: its kind and rules, period, application period and budget (staff of the
/// municipality).
#[utoipa::path(post, path = "/v1/grants/programmes", tag = "grants", request_body = ProgrammeInput, responses((status = 201, description = "Created", body = Programme), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_programme(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let input: ProgrammeInput = decode(body)?;
    let r = service(reg).create_programme(&p, &input).await?;
    Ok(resource(StatusCode::CREATED, r.version, Some(format!("/v1/grants/programmes/{}", r.id)), r))
}

/// One programme.
#[utoipa::path(get, path = "/v1/grants/programmes/{id}", tag = "grants", params(("id" = Uuid, Path, description = "Programme id")), responses((status = 200, description = "The programme", body = Programme), Errors))]
pub async fn get_programme(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let r = service(reg).get_programme(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

/// Changes a programme (staff; its kind and municipality stay).
#[utoipa::path(put, path = "/v1/grants/programmes/{id}", tag = "grants", params(("id" = Uuid, Path, description = "Programme id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = ProgrammeInput, responses((status = 200, description = "Changed", body = Programme), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn update_programme(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let input: ProgrammeInput = decode(body)?;
    let r = service(reg).update_programme(&p, id, &input, expected).await?;
    Ok(resource(StatusCode::OK, r.version, None, r))
}

// ---- applications ----

/// Starts an application as a draft (a signed-in representative of the association).
#[utoipa::path(post, path = "/v1/grants/programmes/{id}/applications", tag = "grants", params(("id" = Uuid, Path, description = "Programme id")), request_body = ApplicationInput, responses((status = 201, description = "The draft", body = Application), Errors), security(("bearer" = [])))]
pub async fn create_application(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let input: ApplicationInput = decode(body)?;
    let a = service(reg).create_application(&p, id, &input).await?;
    Ok(resource(StatusCode::CREATED, a.version, Some(format!("/v1/grants/applications/{}", a.id)), a))
}

/// Filter of the application list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationQuery {
    /// One programme's.
    programme_id: Option<Uuid>,
    /// One municipality's (staff).
    municipality_code: Option<String>,
    /// In one state: `submitted`, `completion_requested`, `approved`, …
    status: Option<String>,
}

/// Applications.
#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    /// Oldest first.
    applications: Vec<Application>,
}

/// Applications: staff see their municipality's sent ones (the inbox), a representative their
/// associations' own, drafts included.
#[utoipa::path(get, path = "/v1/grants/applications", tag = "grants", params(ApplicationQuery), responses((status = 200, description = "Applications", body = ApplicationList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_applications(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<ApplicationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let applications = service(reg).list_applications(&p, q.programme_id, q.municipality_code.as_deref(), q.status.as_deref()).await?;
    Ok(Json(ApplicationList { applications }).into_response())
}

/// One application: staff of the municipality once it is sent (with the assessment; a draft is
/// the association's own) and the association's representatives.
#[utoipa::path(get, path = "/v1/grants/applications/{id}", tag = "grants", params(("id" = Uuid, Path, description = "Application id")), responses((status = 200, description = "The application", body = Application), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_application(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = service(reg).get_application(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Changes a draft, or an application asked to be completed (its representative).
#[utoipa::path(put, path = "/v1/grants/applications/{id}", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = ApplicationInput, responses((status = 200, description = "Changed", body = Application), Errors), security(("bearer" = [])))]
pub async fn update_application(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let input: ApplicationInput = decode(body)?;
    let a = service(reg).update_application(&p, id, &input, expected).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Sends an application (its representative): within the application period, with everything
/// the programme asks for.
#[utoipa::path(post, path = "/v1/grants/applications/{id}/submit", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), responses((status = 200, description = "Sent", body = Application), Errors), security(("bearer" = [])))]
pub async fn submit(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    let a = service(reg).submit(&p, parse_id(&id)?, expected).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Withdraws an application not yet decided (its representative).
#[utoipa::path(post, path = "/v1/grants/applications/{id}/withdraw", tag = "grants", params(("id" = Uuid, Path, description = "Application id")), responses((status = 200, description = "Withdrawn", body = Application), Errors), security(("bearer" = [])))]
pub async fn withdraw(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let a = service(reg).withdraw(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// The file's name.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileName {
    /// As the association calls it, e.g. `budget.pdf`.
    file_name: String,
}

/// Attaches a file to a draft (or an application asked to be completed): the body is the
/// file itself (any content type; its kind is recognised from its content: PDF, PNG, JPEG, text
/// or CSV, docx, xlsx, odt, ods), at most 10 MB, at most 20 per application.
#[utoipa::path(post, path = "/v1/grants/applications/{id}/attachments", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), FileName), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 201, description = "Attached", body = Attachment), Errors), security(("bearer" = [])))]
pub async fn add_attachment(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<FileName>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let q = query(q)?;
    let a = service(reg).add_attachment(&p, id, &q.file_name, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

/// An attachment's content (staff of the municipality and the association's representatives;
/// every read is audited), as a download.
#[utoipa::path(get, path = "/v1/grants/applications/{id}/attachments/{attachment}", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("attachment" = Uuid, Path, description = "Attachment id")), responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_attachment(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, attachment)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (id, attachment) = id2(&id, &attachment)?;
    let (a, content) = service(reg).attachment(&p, id, attachment).await?;
    let name: String = a.file_name.chars().map(|c| if c.is_ascii_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        content,
    )
        .into_response())
}

/// Removes an attachment from a draft (or an application asked to be completed).
#[utoipa::path(delete, path = "/v1/grants/applications/{id}/attachments/{attachment}", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("attachment" = Uuid, Path, description = "Attachment id")), responses((status = 200, description = "Removed", body = Application), Errors), security(("bearer" = [])))]
pub async fn delete_attachment(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, attachment)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (id, attachment) = id2(&id, &attachment)?;
    let a = service(reg).delete_attachment(&p, id, attachment).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Reads an attendance list into an activity-grant application: the body is the CSV
/// (docs/grants.md, "Attendance lists"), at most 100 MB. A list with any malformed row is
/// refused whole, each problem named `lines[N].column`; an accepted one answers what counted.
#[utoipa::path(post, path = "/v1/grants/applications/{id}/attendance-lists", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), FileName), request_body(content = String, content_type = "text/csv"), responses((status = 201, description = "Read", body = AttendanceList), Errors), security(("bearer" = [])))]
pub async fn add_attendance(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    q: Result<Query<FileName>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let q = query(q)?;
    let l = service(reg).add_attendance(&p, id, &q.file_name, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(l)).into_response())
}

/// Removes an attendance list from a draft (or an application asked to be completed).
#[utoipa::path(delete, path = "/v1/grants/applications/{id}/attendance-lists/{list}", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("list" = Uuid, Path, description = "Attendance list id")), responses((status = 200, description = "Removed", body = Application), Errors), security(("bearer" = [])))]
pub async fn delete_attendance(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path((id, list)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (id, list) = id2(&id, &list)?;
    let a = service(reg).delete_attendance(&p, id, list).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// What the association is asked to complete.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompletionInput {
    /// What is missing (at most 2,000 characters; sent to the association).
    message: String,
}

/// Asks the association to complete its application (staff); the association is told.
#[utoipa::path(post, path = "/v1/grants/applications/{id}/completion-request", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = CompletionInput, responses((status = 200, description = "Asked", body = Application), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn request_completion(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: CompletionInput = decode(body)?;
    let a = service(reg).request_completion(&p, id, &b.message, expected).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// The case officer's assessment.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssessmentInput {
    /// The assessment (at most 10,000 characters).
    text: String,
    /// The amount proposed, öre.
    proposed_minor: i64,
}

/// Records the case officer's assessment and proposal (staff; not shown to the association).
#[utoipa::path(post, path = "/v1/grants/applications/{id}/assessment", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = AssessmentInput, responses((status = 200, description = "Assessed", body = Application), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn assess(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: AssessmentInput = decode(body)?;
    let a = service(reg).assess(&p, id, &b.text, b.proposed_minor, expected).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

/// Decides an application (staff): approved with an amount or rejected with reasons, by
/// delegation or in committee, with the reference; the association is told.
#[utoipa::path(post, path = "/v1/grants/applications/{id}/decision", tag = "grants", params(("id" = Uuid, Path, description = "Application id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), request_body = DecisionInput, responses((status = 200, description = "Decided", body = Application), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn decide(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let expected = if_match_optional(&headers)?;
    let b: DecisionInput = decode(body)?;
    let a = service(reg).decide(&p, id, &b, expected).await?;
    Ok(resource(StatusCode::OK, a.version, None, a))
}

// ---- payout ----

/// Filter of the payment orders.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderQuery {
    /// The municipality (required).
    municipality_code: String,
}

/// Payment orders.
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    /// Newest first.
    orders: Vec<PaymentOrder>,
}

/// A municipality's payment orders (staff).
#[utoipa::path(get, path = "/v1/grants/payment-orders", tag = "grants", params(OrderQuery), responses((status = 200, description = "Orders", body = OrderList), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_orders(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<OrderQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let orders = service(reg).list_orders(&p, &q.municipality_code).await?;
    Ok(Json(OrderList { orders }).into_response())
}

/// Prepares a payment order of approved applications (staff).
#[utoipa::path(post, path = "/v1/grants/payment-orders", tag = "grants", request_body = PaymentOrderInput, responses((status = 201, description = "Prepared", body = PaymentOrder), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn prepare_order(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let input: PaymentOrderInput = decode(body)?;
    let o = service(reg).prepare_order(&p, &input).await?;
    Ok(resource(StatusCode::CREATED, o.version, Some(format!("/v1/grants/payment-orders/{}", o.id)), o))
}

/// One payment order (staff).
#[utoipa::path(get, path = "/v1/grants/payment-orders/{id}", tag = "grants", params(("id" = Uuid, Path, description = "Order id")), responses((status = 200, description = "The order", body = PaymentOrder), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_order(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let o = service(reg).get_order(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, o.version, None, o))
}

/// Attests a prepared order (a signed-in member of staff who did not prepare it): the
/// payments enter the ledger and the payment file is fixed.
#[utoipa::path(post, path = "/v1/grants/payment-orders/{id}/attest", tag = "grants", params(("id" = Uuid, Path, description = "Order id"), ("If-Match" = Option<String>, Header, description = "The version you last read")), responses((status = 200, description = "Attested", body = PaymentOrder), Errors), security(("bearer" = [])))]
pub async fn attest_order(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(_body): OptionalJsonBody,
) -> ApiResult<Response> {
    let expected = if_match_optional(&headers)?;
    let o = service(reg).attest_order(&p, parse_id(&id)?, expected).await?;
    Ok(resource(StatusCode::OK, o.version, None, o))
}

/// Cancels a prepared order (staff): its applications may be ordered again.
#[utoipa::path(post, path = "/v1/grants/payment-orders/{id}/cancel", tag = "grants", params(("id" = Uuid, Path, description = "Order id")), responses((status = 200, description = "Cancelled", body = PaymentOrder), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn cancel_order(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let o = service(reg).cancel_order(&p, parse_id(&id)?).await?;
    Ok(resource(StatusCode::OK, o.version, None, o))
}

/// An attested order's payment file, ISO 20022 `pain.001.001.03`, for the bank (staff; each
/// fetch is audited). The same bytes every time.
#[utoipa::path(get, path = "/v1/grants/payment-orders/{id}/file", tag = "grants", params(("id" = Uuid, Path, description = "Order id")), responses((status = 200, description = "The payment file", content_type = "application/xml", body = String), Errors), security(("api_key" = []), ("bearer" = [])))]
pub async fn payment_file(State(reg): State<Registry>, Extension(p): Extension<Principal>, Path(id): Path<String>) -> ApiResult<Response> {
    let (name, xml) = service(reg).payment_file(&p, parse_id(&id)?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        xml,
    )
        .into_response())
}

// ---- transparency ----

/// Filter of the decided grants.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionQuery {
    /// One municipality's.
    municipality_code: Option<String>,
    /// One programme's.
    programme_id: Option<Uuid>,
}

/// Decided grants.
#[derive(Serialize, ToSchema)]
pub struct DecisionList {
    /// Newest decision first.
    decisions: Vec<PublicDecision>,
}

/// The decided grants per association and programme (approved and rejected, the amount, on
/// what authority): open data, no personal data.
#[utoipa::path(get, path = "/v1/grants/decisions", tag = "grants", params(DecisionQuery), responses((status = 200, description = "Decisions", body = DecisionList), Errors))]
pub async fn public_decisions(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<DecisionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let decisions = service(reg).public_decisions(&p, q.municipality_code.as_deref(), q.programme_id).await?;
    Ok(Json(DecisionList { decisions }).into_response())
}

/// The same as CSV (RFC 4180, UTF-8, formula-safe).
#[utoipa::path(get, path = "/v1/grants/decisions.csv", tag = "grants", params(DecisionQuery), responses((status = 200, description = "Decisions as CSV", content_type = "text/csv", body = String), Errors))]
pub async fn public_decisions_csv(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<DecisionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let decisions = service(reg).public_decisions(&p, q.municipality_code.as_deref(), q.programme_id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"grants.csv\"")],
        grants::transparency::decisions_csv(&decisions),
    )
        .into_response())
}

/// The year asked for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YearQuery {
    /// Programmes whose period starts in this year.
    year: i32,
}

/// Figures per municipality.
#[derive(Serialize, ToSchema)]
pub struct Statistics {
    /// By municipality code.
    municipalities: Vec<MunicipalityGrantFigures>,
}

/// Figures per municipality for a year (programmes, applications, approved and rejected,
/// associations granted, öre decided, paid and budgeted): open data for national bodies.
#[utoipa::path(get, path = "/v1/grants/statistics", tag = "grants", params(YearQuery), responses((status = 200, description = "Figures", body = Statistics), Errors))]
pub async fn statistics(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let municipalities = service(reg).statistics(&p, q.year).await?;
    Ok(Json(Statistics { municipalities }).into_response())
}
