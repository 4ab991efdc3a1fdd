//! Bookings made through the registry (`POST /v1/bookings`): the core checks the booking and
//! finds the unit's vendor, and this passes it on with vendor.v1 `CreateBooking`, maps the
//! vendor's answer to the registry's errors, and forgets the cached availability of the unit so
//! the next query shows the time as taken.

use std::time::Duration;

use chrono::{DateTime, Utc};
use federation::pb;
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::service::bookings::{BookingInput, BookingMode, BookingTarget, CustomerType};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;
use uuid::Uuid;

use crate::availability::Availability;

/// How long the vendor has to answer a booking.
pub const BOOKING_DEADLINE: Duration = Duration::from_secs(10);

/// A booking as the vendor made it. Holds no personal data: the customer is not echoed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingOut {
    /// The vendor's booking id.
    pub booking_id: String,
    /// The vendor that made it.
    pub vendor_id: Uuid,
    /// Its name.
    pub vendor_name: String,
    /// The facility.
    pub facility_id: Uuid,
    /// Its name.
    pub facility_name: String,
    /// The unit.
    pub unit_id: Uuid,
    /// Its name.
    pub unit_name: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// `confirmed` (direct bookings), `pending` (requests), or as the vendor says.
    pub status: String,
    /// Why the status is what it is, if the vendor said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The whole booking's amount in minor units (öre), if priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    /// ISO 4217 currency of the amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Code for the lock system, for confirmed bookings of units that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_code: Option<String>,
    /// The booking in the vendor's own e-service, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_url: Option<String>,
}

impl Availability {
    /// Books (or asks for) a unit's time at its vendor, for `p`.
    pub async fn book(&self, p: &Principal, input: BookingInput, idempotency_key: Option<&str>) -> Result<BookingOut, Error> {
        let t = self.registry.prepare_booking(p, input, idempotency_key).await?;
        let vendor_name = t.vendor.name.clone();
        if !t.vendor.certification.federated() {
            return Err(Error::Conflict {
                field: Some("unitId".into()),
                rule: "vendor_uncertified",
                message: format!(
                    "the booking system '{vendor_name}' is not certified at present ({}); book through the municipality or the vendor's own page",
                    t.vendor.certification.why_not()
                ),
            });
        }
        self.ensure(&t.vendor).map_err(|why| {
            tracing::warn!(vendor = %t.vendor.id, %why, "vendor not usable for a booking");
            Error::Unavailable(format!("the booking system '{vendor_name}' is not configured correctly in the registry"))
        })?;
        let client = self.clients.lock().expect("never poisoned").get(&t.vendor.id).cloned();
        let Some(client) = client else {
            return Err(Error::Unavailable(format!("the booking system '{vendor_name}' cannot be reached from the registry")));
        };
        let answer = client.create_booking(request(&t), BOOKING_DEADLINE).await;
        // Whatever happened, the unit's cached times may be wrong now.
        self.engine.forget_units(&t.vendor.id.to_string(), std::slice::from_ref(&t.unit_ref));
        let booking = match answer {
            Ok(r) => r.booking.ok_or_else(|| vendor_failed(&vendor_name, "answered without a booking"))?,
            Err(status) => return Err(vendor_error(&vendor_name, &status)),
        };
        metrics::counter!("registry_bookings_total", "mode" => mode_name(t.input.mode)).increment(1);
        tracing::info!(vendor = %t.vendor.id, unit = %t.input.unit_id, booking = %booking.booking_id, "booking passed on");
        let time = |ts: Option<prost_types::Timestamp>, fallback| {
            ts.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)).unwrap_or(fallback)
        };
        let status = pb::BookingStatus::try_from(booking.status)
            .ok()
            .and_then(|s| s.as_str_name().strip_prefix("BOOKING_STATUS_").map(str::to_ascii_lowercase))
            .unwrap_or_else(|| "unspecified".into());
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        Ok(BookingOut {
            booking_id: booking.booking_id,
            vendor_id: t.vendor.id,
            vendor_name,
            facility_id: t.input.facility_id,
            facility_name: t.facility_name,
            unit_id: t.input.unit_id,
            unit_name: t.unit_name,
            start: time(booking.start, t.input.start),
            end: time(booking.end, t.input.end),
            status,
            status_message: some(booking.status_message),
            amount_minor: Some(booking.amount_minor).filter(|_| booking.price.is_some()),
            currency: booking.price.map(|p| p.currency).and_then(some),
            access_code: some(booking.access_code),
            booking_url: some(booking.booking_url).filter(|u| u.starts_with("https://")),
        })
    }
}

fn mode_name(m: BookingMode) -> &'static str {
    match m {
        BookingMode::Direct => "direct",
        BookingMode::Request => "request",
    }
}

/// The vendor.v1 request. Keys are prefixed so that the registry's keys cannot meet keys the
/// vendor's other callers choose.
fn request(t: &BookingTarget) -> pb::CreateBookingRequest {
    let i = &t.input;
    let ts = |t: DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 });
    let customer_type = match i.customer.customer_type {
        CustomerType::PrivatePerson => pb::CustomerType::PrivatePerson,
        CustomerType::Association => pb::CustomerType::Association,
        CustomerType::Company => pb::CustomerType::Company,
    };
    pb::CreateBookingRequest {
        idempotency_key: format!("registry:{}", t.idempotency_key),
        unit_ref: t.unit_ref.clone(),
        start: ts(i.start),
        end: ts(i.end),
        mode: match i.mode {
            BookingMode::Direct => pb::BookingMode::Direct,
            BookingMode::Request => pb::BookingMode::Request,
        } as i32,
        customer: Some(pb::Customer {
            r#type: customer_type as i32,
            name: i.customer.name.clone(),
            email: i.customer.email.clone(),
            phone: i.customer.phone.clone().unwrap_or_default(),
            org_number: i.customer.org_number.clone().unwrap_or_default(),
        }),
        activity: i.activity.clone().unwrap_or_default(),
        participants: i.participants.unwrap_or(0),
        payment_method: pb::PaymentMethod::Invoice as i32,
        message: i.message.clone().unwrap_or_default(),
    }
}

fn vendor_failed(vendor: &str, what: &str) -> Error {
    Error::Unavailable(format!("the booking system '{vendor}' {what}; try again in a while"))
}

/// The vendor's error as the registry's, per docs/vendor-protocol.md §7 and §10. Messages
/// meant for residents (which booking rule) are passed on; others are only logged.
fn vendor_error(vendor: &str, s: &tonic::Status) -> Error {
    let reason = s.get_details_error_info().map(|i| i.reason).unwrap_or_default();
    tracing::info!(vendor, code = ?s.code(), %reason, message = s.message(), "the vendor refused a booking");
    let conflict = |field: &str, rule, message: String| Error::Conflict { field: Some(field.into()), rule, message };
    match (s.code(), reason.as_str()) {
        (Code::FailedPrecondition, "SLOT_UNAVAILABLE") => {
            conflict("start", "slot_unavailable", "the time is no longer free; choose another time".into())
        }
        (Code::FailedPrecondition, "BOOKING_RULE") | (Code::FailedPrecondition, "") => {
            conflict("start", "booking_rule", format!("the booking system '{vendor}' refused the booking: {}", s.message()))
        }
        (Code::AlreadyExists, _) => conflict(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this Idempotency-Key was used for another booking; send a new key for a new booking".into(),
        ),
        (Code::NotFound, _) => conflict("unitId", "not_bookable_online", format!("the booking system '{vendor}' does not know this unit")),
        (Code::InvalidArgument, _) => {
            let fields: Vec<registry_core::FieldViolation> = s
                .get_details_bad_request()
                .map(|b| {
                    b.field_violations
                        .into_iter()
                        .map(|f| registry_core::FieldViolation::new(f.field, "refused_by_vendor", f.description))
                        .collect()
                })
                .unwrap_or_default();
            if fields.is_empty() {
                Error::invalid("body", "refused_by_vendor", format!("the booking system '{vendor}' refused the booking: {}", s.message()))
            } else {
                Error::Invalid(fields)
            }
        }
        (Code::ResourceExhausted, _) => Error::RateLimited { retry_after: Duration::from_secs(2) },
        (Code::DeadlineExceeded, _) | (Code::Cancelled, _) => Error::Unavailable(format!(
            "the booking system '{vendor}' did not answer in time; the booking may have been made: send the same request with the same Idempotency-Key again to find out"
        )),
        (Code::Unauthenticated, _) | (Code::PermissionDenied, _) => vendor_failed(vendor, "refused the registry's credentials"),
        _ => vendor_failed(vendor, "failed"),
    }
}
