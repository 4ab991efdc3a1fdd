//! REST for customers and staff (JSON; errors as problem+json, RFC 9457). Who may do what is
//! decided here from the caller's role, and ownership from who created the booking; the rules
//! of booking live in the service.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::BookingError;
use crate::keys::{self, Principal, Role};
use crate::model::Booking as BookingDoc;
use crate::model::{Booking, Customer, CustomerType, PaymentMethod};
use crate::series::SeriesInput;
use crate::service::{Backend, BookingInput, Decision, Mode, UnitAnswer};

/// What the routes share.
#[derive(Clone)]
pub struct RestState {
    backend: Backend,
    pepper: Arc<str>,
}

/// A failure as problem+json.
pub struct Problem(BookingError);

impl From<BookingError> for Problem {
    fn from(e: BookingError) -> Self {
        Problem(e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match &e {
            BookingError::Invalid(_) => StatusCode::BAD_REQUEST,
            BookingError::UnknownUnit(_) | BookingError::UnknownBooking(_) => StatusCode::NOT_FOUND,
            BookingError::SlotUnavailable(_) | BookingError::IdempotencyKeyReused(_) | BookingError::IllegalTransition { .. } => {
                StatusCode::CONFLICT
            }
            BookingError::BookingRule(_) | BookingError::CancellationDeadlinePassed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            BookingError::StaleVersion { .. } => StatusCode::PRECONDITION_FAILED,
            BookingError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            BookingError::Forbidden(_) => StatusCode::FORBIDDEN,
            BookingError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BookingError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if matches!(e, BookingError::Internal(_)) {
            tracing::error!(error = %e, "internal error");
        }
        let slug = e.reason().to_lowercase().replace('_', "-");
        let mut body = serde_json::json!({
            "type": format!("/problems/{slug}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": if matches!(e, BookingError::Internal(_)) { "internal error".to_string() } else { e.to_string() },
        });
        if let BookingError::Invalid(v) = &e {
            body["errors"] = v.iter().map(|v| serde_json::json!({"field": v.field, "message": v.message})).collect();
        }
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

type ApiResult<T> = Result<T, Problem>;

/// The units.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct UnitList {
    /// By reference.
    units: Vec<crate::model::Unit>,
}

/// One slot of bookable time.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SlotOut {
    /// Start.
    start: DateTime<Utc>,
    /// End (exclusive).
    end: DateTime<Utc>,
    /// `free`, `request_only` or `booked`.
    state: &'static str,
}

/// A unit's bookable time.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityAnswer {
    /// The unit.
    unit_ref: String,
    /// Price per hour by customer type.
    #[schema(value_type = std::collections::BTreeMap<String, crate::model::Price>)]
    prices: std::collections::BTreeMap<CustomerType, crate::model::Price>,
    /// In order.
    slots: Vec<SlotOut>,
}

/// A facility's caretaker list for a day.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaretakerList {
    /// The registry's facility.
    facility_id: Uuid,
    /// The local date.
    date: NaiveDate,
    /// By start and unit.
    entries: Vec<crate::series::CaretakerEntry>,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    b.map(|Json(t)| t).map_err(|e| Problem(BookingError::invalid("body", e.body_text())))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| Problem(BookingError::invalid("query", e.body_text())))
}

async fn caller(s: &RestState, headers: &HeaderMap) -> ApiResult<Principal> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match keys::presented(header("x-api-key"), header(header::AUTHORIZATION.as_str())) {
        None => Ok(Principal::anonymous()),
        Some(token) => Ok(keys::authenticate(s.backend.pool(), &s.pepper, &token).await?),
    }
}

fn need(p: &Principal, allowed: &[Role], what: &str) -> ApiResult<()> {
    if allowed.contains(&p.role) || p.role == Role::Admin {
        return Ok(());
    }
    Err(Problem(if p.role == Role::Anonymous {
        BookingError::Unauthenticated(format!("{what} needs an API key"))
    } else {
        BookingError::Forbidden(format!("role '{}' may not {what}", p.role.as_str()))
    }))
}

/// A booking the caller may see: its owner, staff, caretakers. Others learn nothing of it.
async fn visible_booking(s: &RestState, p: &Principal, id: &str) -> ApiResult<Booking> {
    let id = Uuid::parse_str(id).map_err(|_| BookingError::UnknownBooking(id.into()))?;
    let b = s.backend.booking(id).await?;
    if p.role.is_staff() || p.role == Role::Caretaker || b.created_by == p.id {
        Ok(b)
    } else {
        Err(Problem(BookingError::UnknownBooking(id.to_string())))
    }
}

/// The routes.
pub fn router(backend: Backend, pepper: &str) -> Router {
    let state = RestState { backend, pepper: pepper.into() };
    Router::new()
        .route("/v1/units", get(units))
        .route("/v1/units/{unit_ref}/availability", get(availability))
        .route("/v1/bookings", post(create_booking).get(list_bookings))
        .route("/v1/requests", get(inbox))
        .route("/v1/bookings/{id}", get(get_booking))
        .route("/v1/bookings/{id}/approve", post(approve))
        .route("/v1/bookings/{id}/reject", post(reject))
        .route("/v1/bookings/{id}/request-completion", post(request_completion))
        .route("/v1/bookings/{id}/resubmit", post(resubmit))
        .route("/v1/bookings/{id}/cancel", post(cancel))
        .route("/v1/series", post(create_series))
        .route("/v1/blocks", post(create_block))
        .route("/v1/facilities/{id}/caretaker-list", get(caretaker_list))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], openapi_json()) }))
        .with_state(state)
}

/// The bookable units.
#[utoipa::path(get, path = "/v1/units", tag = "units", responses((status = 200, description = "The units", body = UnitList), Errors))]
pub async fn units(State(s): State<RestState>) -> ApiResult<Response> {
    let units = s.backend.units().await?;
    Ok(Json(UnitList { units }).into_response())
}

/// Query of a unit's availability.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Window start, RFC 3339.
    from: DateTime<Utc>,
    /// Window end, RFC 3339 (at most 14 days after `from`).
    to: DateTime<Utc>,
    /// As this customer type sees it.
    customer_type: Option<CustomerType>,
    /// Only bookable runs at least this long (1 to 20,160).
    #[param(minimum = 1, maximum = 20160)]
    min_duration_minutes: Option<i64>,
}

/// A unit's bookable time.
#[utoipa::path(get, path = "/v1/units/{unit_ref}/availability", tag = "units", params(("unit_ref" = String, Path, description = "The unit's reference"), AvailabilityQuery),
    responses((status = 200, description = "Slots", body = AvailabilityAnswer), Errors))]
pub async fn availability(
    State(s): State<RestState>,
    Path(unit_ref): Path<String>,
    q: Result<Query<AvailabilityQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    if q.min_duration_minutes.is_some_and(|m| !(1..=14 * 24 * 60).contains(&m)) {
        return Err(Problem(BookingError::invalid("minDurationMinutes", "between 1 and 20,160 (14 days)")));
    }
    let min = q.min_duration_minutes.map(chrono::Duration::minutes);
    let answer = s.backend.availability(std::slice::from_ref(&unit_ref), q.from, q.to, q.customer_type, min).await?;
    match answer.into_iter().next() {
        Some(UnitAnswer::Slots(u, slots)) => {
            let slots = slots
                .iter()
                .map(|x| SlotOut {
                    start: x.start,
                    end: x.end,
                    state: match x.state {
                        crate::availability::SlotState::Free => "free",
                        crate::availability::SlotState::RequestOnly => "request_only",
                        crate::availability::SlotState::Booked => "booked",
                    },
                })
                .collect();
            Ok(Json(AvailabilityAnswer { unit_ref: u.external_ref, prices: u.rules.prices, slots }).into_response())
        }
        Some(UnitAnswer::NoHours(u)) => {
            Err(Problem(BookingError::Unavailable(format!("the opening hours of '{}' have not been read from the registry yet", u.name))))
        }
        _ => Err(Problem(BookingError::UnknownUnit(unit_ref))),
    }
}

/// A booking as asked for.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBooking {
    /// The unit's reference.
    unit_ref: String,
    /// Start.
    start: DateTime<Utc>,
    /// End (exclusive).
    end: DateTime<Utc>,
    /// `direct` or `request`.
    mode: Mode,
    /// Who books.
    customer_type: CustomerType,
    /// The customer (personal data, only for the booking).
    customer: Customer,
    /// What for.
    #[serde(default)]
    activity: String,
    /// How many.
    #[serde(default)]
    participants: i32,
    /// `direct` or `invoice` (default).
    #[serde(default = "invoice")]
    payment_method: PaymentMethod,
    /// To the case officer.
    #[serde(default)]
    message: String,
}

fn invoice() -> PaymentMethod {
    PaymentMethod::Invoice
}

fn idempotency_key(h: &HeaderMap) -> ApiResult<String> {
    match h.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim) {
        Some(k) if !k.is_empty() && k.len() <= 90 => Ok(k.to_string()),
        _ => Err(Problem(BookingError::invalid("Idempotency-Key", "required header: 1 to 90 characters, unique per booking"))),
    }
}

/// Customers book as themselves: a customer key as a private person or a company, an
/// association key as an association; staff and the registry for anyone.
fn may_book_as(p: &Principal, t: CustomerType) -> ApiResult<()> {
    let ok = match p.role {
        Role::Customer => t != CustomerType::Association,
        Role::Association => t == CustomerType::Association,
        Role::CaseOfficer | Role::Registry | Role::Admin => true,
        Role::Anonymous | Role::Caretaker => false,
    };
    if ok {
        return Ok(());
    }
    need(p, &[], &format!("book as customer type {}", t.as_str()))
}

/// Books (directly, or a request); the `Idempotency-Key` header makes retries safe.
#[utoipa::path(post, path = "/v1/bookings", tag = "bookings", request_body = NewBooking,
    params(("Idempotency-Key" = String, Header, description = "Unique per booking; the same key and body return the first answer")),
    responses((status = 201, description = "Booked (confirmed, or a pending request)", body = BookingDoc), Errors),
    security(("api_key" = [])))]
pub async fn create_booking(
    State(s): State<RestState>,
    headers: HeaderMap,
    b: Result<Json<NewBooking>, JsonRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    let key = idempotency_key(&headers)?;
    let b = body(b)?;
    may_book_as(&p, b.customer_type)?;
    let input = BookingInput {
        unit_ref: b.unit_ref,
        start: b.start,
        end: b.end,
        mode: b.mode,
        customer_type: b.customer_type,
        customer: b.customer,
        activity: b.activity,
        participants: b.participants,
        payment_method: b.payment_method,
        message: b.message,
        customer_ref: None,
        association_verified: false,
    };
    let booking = s.backend.create_booking(&p.id, &key, &input).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/bookings/{}", booking.id))], Json(booking)).into_response())
}

/// Query of the case officer's inbox.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only units in this municipality (kommunkod).
    municipality: Option<String>,
    /// Only units of this registry facility.
    facility: Option<Uuid>,
    /// Only this unit (its reference).
    unit_ref: Option<String>,
    /// `pending` (default) or `all`: requests sent back for completion too.
    status: Option<String>,
    /// 1–500 (default 100).
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// A page of bookings.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingPage {
    /// The bookings (with their customers: this is their owner's or staff's view).
    bookings: Vec<BookingDoc>,
    /// Empty on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// The case officer's inbox: booking requests waiting for a decision, oldest first, by
/// municipality, facility or unit.
#[utoipa::path(get, path = "/v1/requests", tag = "bookings", params(InboxQuery),
    responses((status = 200, description = "The requests", body = BookingPage), Errors), security(("api_key" = [])))]
pub async fn inbox(State(s): State<RestState>, headers: HeaderMap, q: Result<Query<InboxQuery>, QueryRejection>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::CaseOfficer], "read the requests waiting for a decision")?;
    let q = query(q)?;
    let include_completion = match q.status.as_deref() {
        None | Some("pending") => false,
        Some("all") => true,
        Some(_) => return Err(Problem(BookingError::invalid("status", "pending or all"))),
    };
    let filter =
        crate::service::InboxFilter { municipality: q.municipality, facility: q.facility, unit_ref: q.unit_ref, include_completion };
    let (bookings, next_page_token) = s.backend.inbox(&filter, q.page_size.unwrap_or(0), q.page_token.as_deref().unwrap_or("")).await?;
    Ok(Json(BookingPage { bookings, next_page_token }).into_response())
}

/// Query of the customer's list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Window start (RFC 3339; default now).
    from: Option<DateTime<Utc>>,
    /// Window end (RFC 3339; default 180 days after `from`, at most 400).
    to: Option<DateTime<Utc>>,
    /// 1–500 (default 100).
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// The caller's own bookings in a window, by start: a customer's list.
#[utoipa::path(get, path = "/v1/bookings", tag = "bookings", params(ListQuery),
    responses((status = 200, description = "The caller's bookings", body = BookingPage), Errors), security(("api_key" = [])))]
pub async fn list_bookings(
    State(s): State<RestState>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::Customer, Role::Association, Role::Registry], "list their bookings")?;
    let q = query(q)?;
    let from = q.from.unwrap_or_else(|| s.backend.clock().now());
    let to = q.to.unwrap_or(from + chrono::Duration::days(180));
    let (bookings, next_page_token) =
        s.backend.bookings_of(&p.id, from, to, q.page_size.unwrap_or(0), q.page_token.as_deref().unwrap_or("")).await?;
    Ok(Json(BookingPage { bookings, next_page_token }).into_response())
}

/// A booking: its owner, case officers, caretakers and admins see it.
#[utoipa::path(get, path = "/v1/bookings/{id}", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")),
    responses((status = 200, description = "The booking", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn get_booking(State(s): State<RestState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::Customer, Role::Association, Role::CaseOfficer, Role::Caretaker, Role::Registry], "read bookings")?;
    Ok(Json(visible_booking(&s, &p, &id).await?).into_response())
}

/// A message to the customer.
#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    /// Required to reject or send back for completion.
    #[serde(default)]
    message: String,
}

async fn decide(s: RestState, headers: HeaderMap, id: String, b: Result<Json<Message>, JsonRejection>, d: Decision) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::CaseOfficer], "decide booking requests")?;
    let m = if headers.contains_key(header::CONTENT_TYPE) { body(b)? } else { Message::default() };
    let b = visible_booking(&s, &p, &id).await?;
    Ok(Json(s.backend.decide(b.id, d, &m.message).await?).into_response())
}

/// Approves a pending request (case officer).
#[utoipa::path(post, path = "/v1/bookings/{id}/approve", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")), request_body(content = Message, description = "Optional"),
    responses((status = 200, description = "Confirmed", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn approve(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::Approve).await
}

/// Rejects a pending request, with a reason (case officer).
#[utoipa::path(post, path = "/v1/bookings/{id}/reject", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")), request_body = Message,
    responses((status = 200, description = "Rejected", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn reject(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::Reject).await
}

/// Sends a pending request back to the customer to complete (case officer).
#[utoipa::path(post, path = "/v1/bookings/{id}/request-completion", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")), request_body = Message,
    responses((status = 200, description = "Needs completion", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn request_completion(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::RequestCompletion).await
}

/// The customer completes a request sent back: pending again.
#[utoipa::path(post, path = "/v1/bookings/{id}/resubmit", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")),
    request_body(content = Option<Resubmit>, description = "The answer to what the case officer asked (optional)"),
    responses((status = 200, description = "Pending", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn resubmit(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    r: Result<Json<Resubmit>, JsonRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    let answer = if headers.contains_key(header::CONTENT_TYPE) { body(r)?.message } else { String::new() };
    let b = visible_booking(&s, &p, &id).await?;
    if b.created_by != p.id && p.role != Role::Admin {
        return need(&p, &[], "resubmit another customer's request").map(|_| StatusCode::OK.into_response());
    }
    Ok(Json(s.backend.resubmit(b.id, &answer).await?).into_response())
}

/// The customer's answer to a completion request.
#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resubmit {
    /// What was asked for (at most 2,000 characters).
    #[serde(default)]
    message: String,
}

/// Why a booking is cancelled.
#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cancel {
    /// Required from staff.
    #[serde(default)]
    reason: String,
}

/// Cancels: the owner until the deadline, staff any time with a reason.
#[utoipa::path(post, path = "/v1/bookings/{id}/cancel", tag = "bookings", params(("id" = Uuid, Path, description = "Booking id")), request_body(content = Cancel, description = "Optional for customers"),
    responses((status = 200, description = "Cancelled", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn cancel(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Cancel>, JsonRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::Customer, Role::Association, Role::CaseOfficer, Role::Registry], "cancel bookings")?;
    let c = if headers.contains_key(header::CONTENT_TYPE) { body(b)? } else { Cancel::default() };
    let b = visible_booking(&s, &p, &id).await?;
    if b.created_by != p.id && !p.role.is_staff() {
        return Err(Problem(BookingError::UnknownBooking(id)));
    }
    Ok(Json(s.backend.cancel(b.id, &c.reason, p.role.is_staff()).await?).into_response())
}

/// A weekly series: 201 with the per-week report. An atomic series that cannot be made is a
/// 409 problem (`/problems/series-conflict`) with the report in `occurrences`.
#[utoipa::path(post, path = "/v1/series", tag = "bookings", request_body = SeriesInput,
    params(("Idempotency-Key" = String, Header, description = "Unique per series")),
    responses((status = 201, description = "Created", body = crate::series::SeriesReport), Errors),
    security(("api_key" = [])))]
pub async fn create_series(
    State(s): State<RestState>,
    headers: HeaderMap,
    b: Result<Json<SeriesInput>, JsonRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    let key = idempotency_key(&headers)?;
    let b = body(b)?;
    may_book_as(&p, b.customer_type)?;
    let report = s.backend.create_series(&p.id, &key, &b).await?;
    if report.created {
        return Ok((StatusCode::CREATED, Json(report)).into_response());
    }
    let failed = report.occurrences.iter().filter(|o| o.failed()).count();
    let body = serde_json::json!({
        "type": "/problems/series-conflict",
        "title": "Conflict",
        "status": 409,
        "detail": if failed == 0 {
            "every week is excluded; nothing was created".to_string()
        } else {
            format!("{failed} of {} weeks cannot be booked; nothing was created", report.occurrences.len())
        },
        "occurrences": report.occurrences,
    });
    Ok((StatusCode::CONFLICT, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response())
}

/// Time blocked by staff.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBlock {
    /// The unit's reference.
    unit_ref: String,
    /// Start.
    start: DateTime<Utc>,
    /// End (exclusive).
    end: DateTime<Utc>,
    /// Why (shown on the caretaker list).
    reason: String,
}

/// Blocks time (case officer).
#[utoipa::path(post, path = "/v1/blocks", tag = "bookings", request_body = NewBlock,
    params(("Idempotency-Key" = String, Header, description = "Unique per block")),
    responses((status = 201, description = "Blocked", body = BookingDoc), Errors), security(("api_key" = [])))]
pub async fn create_block(State(s): State<RestState>, headers: HeaderMap, b: Result<Json<NewBlock>, JsonRejection>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::CaseOfficer], "block time")?;
    let key = idempotency_key(&headers)?;
    let b = body(b)?;
    let block = s.backend.create_block(&p.id, &key, &b.unit_ref, b.start, b.end, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(block)).into_response())
}

/// The day of a caretaker list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// Local date, `YYYY-MM-DD`.
    date: NaiveDate,
}

/// A facility's confirmed bookings and blocks of a day, with customers and access codes.
#[utoipa::path(get, path = "/v1/facilities/{id}/caretaker-list", tag = "bookings", params(("id" = Uuid, Path, description = "The registry's facility id"), DateQuery),
    responses((status = 200, description = "The list", body = CaretakerList), Errors), security(("api_key" = [])))]
pub async fn caretaker_list(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<DateQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::Caretaker, Role::CaseOfficer], "read the caretaker list")?;
    let q = query(q)?;
    let facility = Uuid::parse_str(&id).map_err(|_| BookingError::invalid("id", "a facility id (UUID) of the registry"))?;
    let entries = s.backend.caretaker_list(facility, q.date).await?;
    Ok(Json(CaretakerList { facility_id: facility, date: q.date, entries }).into_response())
}

/// Every error a call can end in, as problem+json.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    /// Invalid input; `errors` names each field.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemDoc),
    /// An API key is needed, or the one sent is not valid.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(ProblemDoc),
    /// The key's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDoc),
    /// No such unit or booking (or not yours).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDoc),
    /// The time is taken, the idempotency key was used for something else, or the booking's
    /// state does not allow this.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(ProblemDoc),
    /// A booking rule or the cancellation deadline.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(ProblemDoc),
    /// The backend's fault.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(ProblemDoc),
    /// The database (or the registry, for hours never read) does not answer.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDoc),
}

/// An error (RFC 9457 problem details).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// `/problems/<slug>`, e.g. `/problems/slot-unavailable`.
    r#type: String,
    /// Short summary.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    detail: String,
    /// For invalid input: each field and what is wrong with it.
    errors: Option<Vec<ViolationDoc>>,
    /// For a series that could not be made: what became of each week.
    occurrences: Option<Vec<crate::series::Occurrence>>,
}

/// One invalid field.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ViolationDoc {
    /// The field (or `body`, `query`, `Idempotency-Key`).
    field: String,
    /// What is wrong.
    message: String,
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "A key from `reference-booking keys create`",
            ))),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Reference booking backend", description = "REST for customers and staff of the reference booking vendor (docs/reference-booking.md)"),
    paths(units, availability, create_booking, list_bookings, inbox, get_booking, approve, reject, request_completion, resubmit, cancel, create_series, create_block, caretaker_list),
    components(schemas(ProblemDoc, ViolationDoc, BookingDoc)),
    modifiers(&Security),
    tags((name = "units", description = "Bookable units (lokaler) and their free time"), (name = "bookings", description = "Bookings, requests, series, blocks and the caretaker list"))
)]
struct ApiDoc;

/// The OpenAPI document as pretty JSON with a final newline (committed as `reference-booking/openapi.json`).
pub fn openapi_json() -> String {
    let mut s = <ApiDoc as utoipa::OpenApi>::openapi().to_pretty_json().expect("the document serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// The committed document must be what the code generates (`reference-booking openapi > reference-booking/openapi.json`).
    #[test]
    fn the_committed_document_is_current() {
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap_or_default();
        assert!(committed == super::openapi_json(), "reference-booking/openapi.json is stale: run `make openapi` and commit it");
    }
}
