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

fn body<T>(b: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    b.map(|Json(t)| t).map_err(|e| Problem(BookingError::invalid("body", e.body_text())))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| Problem(BookingError::invalid("query", e.body_text())))
}

async fn caller(s: &RestState, headers: &HeaderMap) -> ApiResult<Principal> {
    let presented = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| {
        let a = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, rest) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
    });
    match presented {
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
        .route("/v1/bookings", post(create_booking))
        .route("/v1/bookings/{id}", get(get_booking))
        .route("/v1/bookings/{id}/approve", post(approve))
        .route("/v1/bookings/{id}/reject", post(reject))
        .route("/v1/bookings/{id}/request-completion", post(request_completion))
        .route("/v1/bookings/{id}/resubmit", post(resubmit))
        .route("/v1/bookings/{id}/cancel", post(cancel))
        .route("/v1/series", post(create_series))
        .route("/v1/blocks", post(create_block))
        .route("/v1/facilities/{id}/caretaker-list", get(caretaker_list))
        .with_state(state)
}

async fn units(State(s): State<RestState>) -> ApiResult<Response> {
    let units = s.backend.units().await?;
    Ok(Json(serde_json::json!({ "units": units })).into_response())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AvailabilityQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    customer_type: Option<CustomerType>,
    min_duration_minutes: Option<i64>,
}

async fn availability(
    State(s): State<RestState>,
    Path(unit_ref): Path<String>,
    q: Result<Query<AvailabilityQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let min = q.min_duration_minutes.map(chrono::Duration::minutes);
    let answer = s.backend.availability(std::slice::from_ref(&unit_ref), q.from, q.to, q.customer_type, min).await?;
    match answer.into_iter().next() {
        Some(UnitAnswer::Slots(u, slots)) => {
            let slots: Vec<serde_json::Value> = slots
                .iter()
                .map(|x| {
                    let state = match x.state {
                        crate::availability::SlotState::Free => "free",
                        crate::availability::SlotState::RequestOnly => "request_only",
                        crate::availability::SlotState::Booked => "booked",
                    };
                    serde_json::json!({"start": x.start, "end": x.end, "state": state})
                })
                .collect();
            Ok(Json(serde_json::json!({"unitRef": u.external_ref, "prices": u.rules.prices, "slots": slots})).into_response())
        }
        Some(UnitAnswer::NoHours(u)) => {
            Err(Problem(BookingError::Unavailable(format!("the opening hours of '{}' have not been read from the registry yet", u.name))))
        }
        _ => Err(Problem(BookingError::UnknownUnit(unit_ref))),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewBooking {
    unit_ref: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    mode: Mode,
    customer_type: CustomerType,
    customer: Customer,
    #[serde(default)]
    activity: String,
    #[serde(default)]
    participants: i32,
    #[serde(default = "invoice")]
    payment_method: PaymentMethod,
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

async fn create_booking(State(s): State<RestState>, headers: HeaderMap, b: Result<Json<NewBooking>, JsonRejection>) -> ApiResult<Response> {
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
    };
    let booking = s.backend.create_booking(&p.id, &key, &input).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/v1/bookings/{}", booking.id))], Json(booking)).into_response())
}

async fn get_booking(State(s): State<RestState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::Customer, Role::Association, Role::CaseOfficer, Role::Caretaker, Role::Registry], "read bookings")?;
    Ok(Json(visible_booking(&s, &p, &id).await?).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Message {
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

async fn approve(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::Approve).await
}

async fn reject(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::Reject).await
}

async fn request_completion(
    State(s): State<RestState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<Message>, JsonRejection>,
) -> ApiResult<Response> {
    decide(s, h, id, b, Decision::RequestCompletion).await
}

async fn resubmit(State(s): State<RestState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    let b = visible_booking(&s, &p, &id).await?;
    if b.created_by != p.id && p.role != Role::Admin {
        return need(&p, &[], "resubmit another customer's request").map(|_| StatusCode::OK.into_response());
    }
    Ok(Json(s.backend.resubmit(b.id).await?).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Cancel {
    #[serde(default)]
    reason: String,
}

async fn cancel(
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

async fn create_series(State(s): State<RestState>, headers: HeaderMap, b: Result<Json<SeriesInput>, JsonRejection>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    let key = idempotency_key(&headers)?;
    let b = body(b)?;
    may_book_as(&p, b.customer_type)?;
    let report = s.backend.create_series(&p.id, &key, &b).await?;
    let status = if report.created { StatusCode::CREATED } else { StatusCode::CONFLICT };
    Ok((status, Json(report)).into_response())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewBlock {
    unit_ref: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: String,
}

async fn create_block(State(s): State<RestState>, headers: HeaderMap, b: Result<Json<NewBlock>, JsonRejection>) -> ApiResult<Response> {
    let p = caller(&s, &headers).await?;
    need(&p, &[Role::CaseOfficer], "block time")?;
    let b = body(b)?;
    let block = s.backend.create_block(&p.id, &b.unit_ref, b.start, b.end, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(block)).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DateQuery {
    date: NaiveDate,
}

async fn caretaker_list(
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
    Ok(Json(serde_json::json!({"facilityId": facility, "date": q.date, "entries": entries})).into_response())
}
