//! REST: `POST /v1/bookings`, a booking (or booking request) made through the registry and
//! passed on to the unit's vendor (docs/api.md, "Booking through the registry").

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use registry_core::auth::Principal;
use registry_core::service::bookings::BookingInput;
use registry_core::{FieldViolation, Registry};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::problem::Errors;
use super::{ApiResult, JsonBody, decode, parse_id, query};
use crate::errors::ApiError;
use federation::service::Service;
use federation::service::bookings::BookingOut;
use federation::service::my_bookings::{MoveInput, MyBookings};

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/bookings", post(create_booking))
        .route("/v1/me/bookings", get(my_bookings))
        .route("/v1/bookings/{id}", get(get_booking).delete(cancel_booking))
        .route("/v1/bookings/{id}/move", post(move_booking))
        .route("/v1/bookings/{id}/complete", post(complete_request))
        .route("/v1/bookings/{id}/reminders", put(set_reminders))
        .route("/v1/bookings/{id}/calendar.ics", get(booking_calendar))
        .route("/v1/me/calendar-feed", post(create_calendar_feed).delete(revoke_calendar_feed))
        .route("/v1/calendar-feeds/{token}", get(calendar_feed))
}

fn ics(body: String, filename: &str) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (axum::http::header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// One of my bookings as an iCalendar file (RFC 5545), as its booking system has it now: add it
/// to a calendar. To anyone else it does not exist (404).
#[utoipa::path(get, path = "/v1/bookings/{id}/calendar.ics", tag = "bookings", params(("id" = uuid::Uuid, Path, description = "The registry's booking id")),
    responses((status = 200, description = "The booking as one calendar event", content_type = "text/calendar"), Errors), security(("bearer" = [])))]
pub async fn booking_calendar(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let b = engine.my_booking(&p, id).await?;
    let owned = reg.owned_booking(&p, id).await?;
    let event = registry_core::service::bookings::booking_event(&owned.row, &b.vendor_name);
    Ok(ics(registry_core::ical::calendar("Bokning / Booking", &[event], reg.now()), &format!("booking-{id}.ics")))
}

/// The address of a personal calendar feed.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarFeed {
    /// The secret address: anyone who has it sees the times of your bookings (never who you
    /// are). Shown once; make a new one, or revoke it, if it leaks.
    pub url: String,
}

/// Creates my personal calendar feed of my bookings and my associations' (or replaces it: the
/// old address stops working). Subscribe to the address in a calendar app.
#[utoipa::path(post, path = "/v1/me/calendar-feed", tag = "bookings",
    responses((status = 201, description = "The feed's secret address", body = CalendarFeed), Errors), security(("bearer" = [])))]
pub async fn create_calendar_feed(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(public): Extension<crate::rest::changes::PublicUrl>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = reg.create_calendar_feed(&p).await?;
    let url = format!("{}/v1/calendar-feeds/{token}.ics", public.base(&headers));
    Ok((StatusCode::CREATED, Json(CalendarFeed { url })).into_response())
}

/// Revokes my calendar feed: its address stops working at once.
#[utoipa::path(delete, path = "/v1/me/calendar-feed", tag = "bookings",
    responses((status = 204, description = "Revoked (or there was none)"), Errors), security(("bearer" = [])))]
pub async fn revoke_calendar_feed(State(reg): State<Registry>, Extension(p): Extension<Principal>) -> ApiResult<Response> {
    reg.revoke_calendar_feed(&p).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A personal calendar feed (iCalendar): the bookings of the person whose secret address this
/// is, as the registry last knew them, from 30 days ago to 400 days ahead. No sign-in: the
/// address is the credential; a revoked or unknown one is 404.
#[utoipa::path(get, path = "/v1/calendar-feeds/{token}", tag = "bookings", params(("token" = String, Path, description = "`{secret}.ics`, as the feed's address gives it")),
    responses((status = 200, description = "The calendar", content_type = "text/calendar"), Errors))]
pub async fn calendar_feed(State(reg): State<Registry>, Path(token): Path<String>) -> ApiResult<Response> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let events = reg.calendar_feed(token).await?;
    Ok(ics(registry_core::ical::calendar("Mina bokningar / My bookings", &events, reg.now()), "bookings.ics"))
}

/// Query of `GET /v1/me/bookings`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MyBookingsQuery {
    /// Window start, RFC 3339 (default: a day ago).
    from: Option<String>,
    /// Window end, RFC 3339 (default: 180 days after `from`; at most 400 days after it).
    to: Option<String>,
}

fn rfc3339(v: &mut Vec<FieldViolation>, field: &str, s: &Option<String>) -> Option<DateTime<Utc>> {
    let s = s.as_deref()?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| v.push(FieldViolation::new(field, "format", "must be an RFC 3339 time, e.g. 2026-12-03T17:00:00+01:00")))
        .ok()
}

/// My bookings and my associations', across every booking system they were made at, merged
/// by start. Each vendor's status is named; a vendor that cannot answer leaves the registry's
/// last known state of its bookings, marked `stale`. Signed-in people only.
#[utoipa::path(get, path = "/v1/me/bookings", tag = "bookings", params(MyBookingsQuery),
    responses((status = 200, description = "The bookings and each vendor's status", body = MyBookings), Errors),
    security(("bearer" = [])))]
pub async fn my_bookings(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    q: Result<Query<MyBookingsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let mut v = Vec::new();
    let (from, to) = (rfc3339(&mut v, "from", &q.from), rfc3339(&mut v, "to", &q.to));
    if !v.is_empty() {
        return Err(registry_core::Error::Invalid(v).into());
    }
    Ok(Json(engine.my_bookings(&p, from, to).await?).into_response())
}

/// One of my bookings (or my associations') as its booking system has it now, with its
/// history: the request received, completion asked, the decision, a move, a cancellation. To
/// anyone else it does not exist (404).
#[utoipa::path(get, path = "/v1/bookings/{id}", tag = "bookings", params(("id" = uuid::Uuid, Path, description = "The registry's booking id")),
    responses((status = 200, description = "The booking", body = BookingOut), Errors), security(("bearer" = [])))]
pub async fn get_booking(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(engine.my_booking(&p, parse_id(&id)?).await?).into_response())
}

/// Query of `DELETE /v1/bookings/{id}`.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why (optional, at most 1000 characters).
    reason: Option<String>,
}

/// Cancels one of my bookings at its booking system, within its rules: after the
/// cancellation deadline it is refused (409 `cancellation_deadline_passed`, the detail names
/// the deadline). Cancelling a cancelled booking answers it unchanged.
#[utoipa::path(delete, path = "/v1/bookings/{id}", tag = "bookings", params(("id" = uuid::Uuid, Path, description = "The registry's booking id"), CancelQuery),
    responses((status = 200, description = "The booking, cancelled", body = BookingOut), Errors), security(("bearer" = [])))]
pub async fn cancel_booking(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    Path(id): Path<String>,
    q: Result<Query<CancelQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    Ok(Json(engine.cancel_my_booking(&p, parse_id(&id)?, q.reason.as_deref()).await?).into_response())
}

/// Rebooks one of my bookings to another time, or another unit of the same booking system,
/// atomically: when the new time is taken (409 `slot_unavailable`) the booking keeps its old
/// time. Send an `Idempotency-Key`; the same key and move again answers the booking.
#[utoipa::path(post, path = "/v1/bookings/{id}/move", tag = "bookings",
    params(("id" = uuid::Uuid, Path, description = "The registry's booking id"),
           ("Idempotency-Key" = String, Header, description = "16–90 characters (letters, digits, - _ . :)")),
    request_body = MoveInput,
    responses((status = 200, description = "The booking at its new time", body = BookingOut), Errors), security(("bearer" = [])))]
pub async fn move_booking(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let to: MoveInput = decode(body)?;
    Ok(Json(engine.move_my_booking(&p, id, to, key).await?).into_response())
}

/// The answer to a completion request.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteInput {
    /// What the case officer asked for (1–2000 characters).
    pub message: String,
}

/// Answers the case officer's completion request of one of my booking requests: pending again.
#[utoipa::path(post, path = "/v1/bookings/{id}/complete", tag = "bookings", params(("id" = uuid::Uuid, Path, description = "The registry's booking id")),
    request_body = CompleteInput,
    responses((status = 200, description = "The request, pending again", body = BookingOut), Errors), security(("bearer" = [])))]
pub async fn complete_request(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let input: CompleteInput = decode(body)?;
    Ok(Json(engine.complete_my_request(&p, id, &input.message).await?).into_response())
}

/// Whether a booking's reminder is sent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemindersInput {
    /// `false` turns the reminder before the start off.
    pub enabled: bool,
}

/// Turns the reminder of one of my bookings on or off.
#[utoipa::path(put, path = "/v1/bookings/{id}/reminders", tag = "bookings", params(("id" = uuid::Uuid, Path, description = "The registry's booking id")),
    request_body = RemindersInput,
    responses((status = 204, description = "Set"), Errors), security(("bearer" = [])))]
pub async fn set_reminders(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let input: RemindersInput = decode(body)?;
    reg.set_booking_reminders(&p, id, input.enabled).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Books a unit (or sends a booking request) at the vendor that books it. Anyone may, residents
/// without a key too; the vendor applies its booking rules. The registry keeps no copy of the
/// customer. Send the same request with the same `Idempotency-Key` again after a timeout: the
/// vendor answers with the booking it made, if it made one.
#[utoipa::path(post, path = "/v1/bookings", tag = "availability",
    params(("Idempotency-Key" = String, Header, description = "16–90 characters (letters, digits, - _ . :), e.g. a UUID; the same key with the same booking returns the same booking")),
    request_body(content = BookingInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The booking as the vendor made it: `confirmed` for direct bookings, `pending` for requests", body = BookingOut),
        (status = 409, description = "The time is taken (`slot_unavailable`), a booking rule is broken (`booking_rule`), the key was used for another booking, or the unit cannot be booked through the registry (`not_bookable_online`)", body = super::problem::Problem),
        super::problem::Errors))]
pub async fn create_booking(
    Extension(p): Extension<Principal>,
    Extension(engine): Extension<Arc<Service>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let input: BookingInput = decode(body)?;
    let booking = engine.book(&p, input, key).await?;
    Ok((StatusCode::CREATED, Json(booking)).into_response())
}
