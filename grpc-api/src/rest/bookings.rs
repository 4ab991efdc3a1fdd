//! REST: `POST /v1/bookings`, a booking (or booking request) made through the registry and
//! passed on to the unit's vendor (docs/api.md, "Booking through the registry").

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::service::bookings::BookingInput;

use super::{JsonBody, decode};
use crate::errors::ApiError;
use federation::service::Service;
use federation::service::bookings::BookingOut;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new().route("/v1/bookings", post(create_booking))
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
