//! Bookings made through the registry (`POST /v1/bookings`): the core checks the booking and
//! finds the unit's vendor, and this passes it on with vendor.v1 `CreateBooking` through the
//! engine (the vendor's deadline, circuit breaker and limits apply, and the engine counts the
//! call), turns the vendor's refusals into the core's errors, and forgets the cached
//! availability of the unit so the next query shows the time as taken. A booking's state and
//! its cancellation at the vendor go the same way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::model::Vendor;
use registry_core::service::bookings::{BookingInput, BookingMode, BookingTarget, CustomerType};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;
use uuid::Uuid;

use super::Service;
use crate::{CallError, pb};

/// How long the vendor has to answer a booking.
pub const BOOKING_DEADLINE: Duration = Duration::from_secs(10);

/// A booking as the vendor made it. Holds no personal data: the customer is not echoed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BookingOut {
    /// The registry's id of the booking (for `GET`/`DELETE /v1/bookings/{id}`, rebooking and
    /// answering a completion request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
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
    /// Booked for this association (by one of its representatives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_id: Option<Uuid>,
    /// The association's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_name: Option<String>,
    /// The booking's steps, oldest first (a single booking's answer; lists leave it out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryStep>,
    /// Whether this is the registry's last known state because the vendor could not be asked
    /// now (see the list's per-vendor status).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// Whether a reminder goes out before the start (`PUT /v1/bookings/{id}/reminders`).
    pub reminders: bool,
}

/// One step in a booking's life, as its vendor tells it (vendor.v1.1 §15).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryStep {
    /// The status entered: `confirmed`, `pending`, `needs_completion`, `rejected`, `cancelled`.
    pub status: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The message with it: the customer's with a request, the case officer's decision or
    /// what to complete, a cancellation's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Who: `customer`, `staff` or `system`.
    pub actor: String,
    /// For a move: where from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Service {
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
        self.usable(&t.vendor)?;
        let answer = self.engine.create_booking(&t.vendor.id.to_string(), request(&t), BOOKING_DEADLINE).await;
        // Whatever happened, the unit's cached times may be wrong now.
        self.engine.forget_units(&t.vendor.id.to_string(), std::slice::from_ref(&t.unit_ref));
        let booking = answer.map_err(|e| refused(&vendor_name, e))?.booking;
        let booking = booking.ok_or_else(|| vendor_failed(&vendor_name, "answered without a booking"))?;
        metrics::counter!("registry_bookings_total", "mode" => mode_name(t.input.mode)).increment(1);
        tracing::info!(vendor = %t.vendor.id, unit = %t.input.unit_id, booking = %booking.booking_id, "booking passed on");
        let status = status_name(booking.status);
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        let (start, end) = (time(booking.start, t.input.start), time(booking.end, t.input.end));
        // Recorded only once the vendor has made it: a booking the registry does not know of
        // its owner cannot be listed, cancelled or rebooked through the registry.
        let recorded = if is_known_status(&status) && !booking.booking_id.is_empty() {
            let message = some(booking.status_message.clone());
            let (id, new) = self.registry.record_booking(&t, &booking.booking_id, start, end, &status, message.as_deref()).await?;
            if new {
                self.registry.booking_made(id).await?;
            }
            Some(id)
        } else {
            tracing::warn!(vendor = %t.vendor.id, %status, "the vendor answered a booking the registry cannot record");
            None
        };
        Ok(BookingOut {
            id: recorded,
            booking_id: booking.booking_id,
            vendor_id: t.vendor.id,
            vendor_name,
            facility_id: t.input.facility_id,
            facility_name: t.facility_name,
            unit_id: t.input.unit_id,
            unit_name: t.unit_name,
            start,
            end,
            status,
            status_message: some(booking.status_message),
            amount_minor: Some(booking.amount_minor).filter(|_| booking.price.is_some()),
            currency: booking.price.map(|p| p.currency).and_then(some),
            access_code: some(booking.access_code),
            booking_url: some(booking.booking_url).filter(|u| u.starts_with("https://")),
            association_id: t.input.association_id,
            association_name: None,
            history: booking.history.iter().map(step).collect(),
            stale: false,
            reminders: true,
        })
    }
}

/// A vendor.v1 status as the registry names it (`confirmed`, `pending`, …).
pub fn status_name(status: i32) -> String {
    pb::BookingStatus::try_from(status)
        .ok()
        .and_then(|s| s.as_str_name().strip_prefix("BOOKING_STATUS_").map(str::to_ascii_lowercase))
        .unwrap_or_else(|| "unspecified".into())
}

/// Whether the registry stores this status (the database's CHECK admits only these).
pub fn is_known_status(status: &str) -> bool {
    matches!(status, "confirmed" | "pending" | "needs_completion" | "rejected" | "cancelled")
}

/// A vendor.v1 timestamp, or `fallback` when it is missing or invalid.
pub fn time(ts: Option<prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)).unwrap_or(fallback)
}

/// A history step from vendor.v1.1.
pub fn step(c: &pb::StatusChange) -> HistoryStep {
    let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    HistoryStep {
        status: status_name(c.status),
        at: time(c.at, DateTime::UNIX_EPOCH),
        message: some(&c.message),
        actor: if matches!(c.actor.as_str(), "customer" | "staff" | "system") { c.actor.clone() } else { "system".into() },
        note: some(&c.note),
    }
}

impl Service {
    /// The vendor in the engine with its client, or why it cannot be asked.
    pub(crate) fn usable(&self, vendor: &Vendor) -> Result<(), Error> {
        self.ensure(vendor).map_err(|why| {
            tracing::warn!(vendor = %vendor.id, %why, "vendor not usable for a booking");
            Error::Unavailable(format!("the booking system '{}' is not configured correctly in the registry", vendor.name))
        })
    }

    /// A booking as `vendor` has it now (`GetBooking`). The caller's use case has decided that
    /// its principal may see the booking: this only asks the vendor.
    pub async fn booking_at(&self, vendor: &Vendor, booking_id: &str) -> Result<pb::Booking, Error> {
        self.usable(vendor)?;
        let answer = self.engine.get_booking(&vendor.id.to_string(), booking_id, BOOKING_DEADLINE).await;
        let booking = answer.map_err(|e| refused_other(&vendor.name, booking_id, e))?.booking;
        booking.ok_or_else(|| vendor_failed(&vendor.name, "answered without a booking"))
    }

    /// Cancels a booking at `vendor` (`CancelBooking`). The caller's use case has decided that
    /// its principal may cancel it: this only asks the vendor.
    pub async fn cancel_at(&self, vendor: &Vendor, booking_id: &str, reason: &str) -> Result<pb::Booking, Error> {
        self.usable(vendor)?;
        let answer = self.engine.cancel_booking(&vendor.id.to_string(), booking_id, reason, BOOKING_DEADLINE).await;
        let booking = answer.map_err(|e| refused_other(&vendor.name, booking_id, e))?.booking;
        let booking = booking.ok_or_else(|| vendor_failed(&vendor.name, "answered without a booking"))?;
        // Its time is free again: the cached availability of its unit is wrong now.
        self.engine.forget_units(&vendor.id.to_string(), std::slice::from_ref(&booking.unit_ref));
        Ok(booking)
    }
}

fn mode_name(m: BookingMode) -> &'static str {
    match m {
        BookingMode::Direct => "direct",
        BookingMode::Request => "request",
    }
}

/// The vendor.v1 request. The key is the caller's key within the caller's scope, hashed
/// (`registry:` and 64 hex digits): two callers of the registry sending the same key never
/// meet at the vendor, where the registry is one caller for all of them.
fn request(t: &BookingTarget) -> pb::CreateBookingRequest {
    let i = &t.input;
    let ts = |t: DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 });
    let customer_type = match i.customer.customer_type {
        CustomerType::PrivatePerson => pb::CustomerType::PrivatePerson,
        CustomerType::Association => pb::CustomerType::Association,
        CustomerType::Company => pb::CustomerType::Company,
    };
    pb::CreateBookingRequest {
        idempotency_key: t.vendor_idempotency_key.clone(),
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
            reference: t.customer_reference.clone(),
            association_verified: t.association_verified,
        }),
        activity: i.activity.clone().unwrap_or_default(),
        participants: i.participants.unwrap_or(0),
        payment_method: pb::PaymentMethod::Invoice as i32,
        message: i.message.clone().unwrap_or_default(),
    }
}

/// A call the engine did not get answered, or the vendor's refusal, as the core's error.
pub(crate) fn refused(vendor: &str, e: CallError) -> Error {
    match e {
        CallError::Refused(s) => vendor_error(vendor, &s),
        // The call may have reached the vendor: the same words as the vendor's own deadline.
        CallError::Timeout => vendor_error(vendor, &tonic::Status::deadline_exceeded("")),
        CallError::RateLimited => Error::RateLimited { retry_after: Duration::from_secs(1) },
        CallError::Unavailable => vendor_failed(vendor, "failed repeatedly and is paused"),
        CallError::NotLoaded => vendor_failed(vendor, "cannot be reached from the registry"),
    }
}

/// The same for a booking's state or its cancellation: an unknown booking is not found, a
/// cancellation the vendor's rules refuse is a conflict; the rest as for a new booking.
pub(crate) fn refused_other(vendor: &str, booking_id: &str, e: CallError) -> Error {
    match e {
        CallError::Refused(s) if s.code() == Code::NotFound => Error::not_found("booking", booking_id),
        CallError::Refused(s) if s.code() == Code::FailedPrecondition => Error::Conflict {
            field: None,
            rule: match s.get_details_error_info().map(|i| i.reason).as_deref() {
                Some("CANCELLATION_DEADLINE_PASSED") => "cancellation_deadline_passed",
                Some("ILLEGAL_TRANSITION") => "illegal_transition",
                Some("SLOT_UNAVAILABLE") => "slot_unavailable",
                _ => "booking_rule",
            },
            message: format!("the booking system '{vendor}' refused: {}", s.message()),
        },
        e => refused(vendor, e),
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
        (Code::FailedPrecondition, "CANCELLATION_DEADLINE_PASSED") => Error::Conflict {
            field: None,
            rule: "cancellation_deadline_passed",
            message: format!("the booking system '{vendor}' refused: {}", s.message()),
        },
        (Code::FailedPrecondition, _) => Error::Conflict {
            field: None,
            rule: "illegal_transition",
            message: format!("the booking system '{vendor}' refused: {}", s.message()),
        },
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
