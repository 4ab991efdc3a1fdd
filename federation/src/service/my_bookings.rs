//! A person's bookings through the registry, at their vendors (issue 27): "my bookings" merged
//! across every vendor they (or their associations) booked at, with each vendor's honest
//! status; one booking with its history; cancelling, rebooking (vendor.v1.1 `MoveBooking`) and
//! answering a completion request. The core decides who may see and change which booking;
//! this asks the vendors through the engine, and stores what they say.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::db::bookings::BookingRow;
use registry_core::model::Vendor;
use registry_core::service::bookings::{OwnedBooking, vendor_offers};
use serde::Serialize;
use uuid::Uuid;

use super::Service;
use super::bookings::{BOOKING_DEADLINE, BookingOut, refused_other, status_name, step, time};
use crate::{CallError, pb};

/// How long "my bookings" waits for the vendors, all at once.
pub const LIST_DEADLINE: Duration = Duration::from_secs(2);
/// Pages read per vendor (500 bookings each) before the list says it is cut.
const MAX_PAGES: usize = 4;

/// What one vendor said when asked for the list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VendorListing {
    /// The vendor.
    pub vendor_id: Uuid,
    /// Its name.
    pub vendor_name: String,
    /// `ok`; `timeout`, `error`, `unavailable` (its circuit is open), `rate_limited`: the
    /// registry's last known state of its bookings is shown (`stale`); `not_supported`: it does
    /// not list bookings (vendor.v1.1), the registry's last known state is shown.
    pub status: String,
    /// Why, when not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long it took, in ms.
    pub elapsed_ms: u64,
}

/// "My bookings".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MyBookings {
    /// The window asked (start).
    pub from: DateTime<Utc>,
    /// The window asked (end).
    pub to: DateTime<Utc>,
    /// Mine and my associations', by start.
    pub bookings: Vec<BookingOut>,
    /// Each vendor asked and what it said.
    pub vendors: Vec<VendorListing>,
}

/// A registry row as an answer (its last known state).
fn from_row(row: &BookingRow, vendor_name: &str, stale: bool) -> BookingOut {
    BookingOut {
        id: Some(row.id),
        booking_id: row.vendor_booking_id.clone(),
        vendor_id: row.vendor_id,
        vendor_name: vendor_name.to_string(),
        facility_id: row.facility_id,
        facility_name: row.facility_name.clone(),
        unit_id: row.unit_id,
        unit_name: row.unit_name.clone(),
        start: row.start_at,
        end: row.end_at,
        status: row.status.clone(),
        status_message: row.status_message.clone(),
        amount_minor: None,
        currency: None,
        access_code: None,
        booking_url: None,
        association_id: row.association_id,
        association_name: row.association_name.clone(),
        history: vec![],
        stale,
        reminders: row.reminders,
    }
}

/// A vendor's booking over its registry row.
fn merged(row: &BookingRow, vendor_name: &str, b: &pb::Booking) -> BookingOut {
    let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let mut out = from_row(row, vendor_name, false);
    out.start = time(b.start, row.start_at);
    out.end = time(b.end, row.end_at);
    out.status = status_name(b.status);
    out.status_message = some(&b.status_message);
    out.amount_minor = Some(b.amount_minor).filter(|_| b.price.is_some());
    out.currency = b.price.as_ref().and_then(|p| some(&p.currency));
    out.access_code = some(&b.access_code);
    out.booking_url = some(&b.booking_url).filter(|u| u.starts_with("https://"));
    out.history = b.history.iter().map(step).collect();
    out
}

fn call_status(e: &CallError) -> (&'static str, String) {
    match e {
        CallError::Refused(s) => ("error", format!("answered {:?}", s.code())),
        e => (e.name(), format!("{} (the registry's last known state is shown)", e.name().replace('_', " "))),
    }
}

impl Service {
    /// The caller's bookings and their associations' in `[from, to)`, from every vendor they
    /// booked at, asked at once; a vendor that cannot answer is named, and the registry's last
    /// known state of its bookings is shown, marked stale.
    pub async fn my_bookings(&self, p: &Principal, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<MyBookings, Error> {
        let (from, to) = self.registry.my_window(from, to)?;
        let scope = self.registry.my_scope(p).await?;
        let rows = self.registry.my_rows(&scope, from, to).await?;
        let mut tasks = tokio::task::JoinSet::new();
        let mut listings = Vec::new();
        let mut names = HashMap::new();
        for (vendor, refs) in &scope.vendors {
            names.insert(vendor.id, vendor.name.clone());
            if !vendor_offers(vendor, "OPERATION_LIST_BOOKINGS") {
                listings.push((
                    vendor.id,
                    Err((
                        "not_supported",
                        "the booking system does not list bookings (vendor.v1.1); the registry's last known state is shown".to_string(),
                    )),
                    0,
                ));
                continue;
            }
            if let Err(e) = self.usable_for(vendor) {
                listings.push((vendor.id, Err(("unavailable", e)), 0));
                continue;
            }
            let engine = self.engine.clone();
            let (id, refs) = (vendor.id, refs.clone());
            tasks.spawn(async move {
                let started = std::time::Instant::now();
                let until = started + LIST_DEADLINE;
                let mut found = Vec::new();
                let mut token = String::new();
                for _ in 0..MAX_PAGES {
                    let req = pb::ListBookingsRequest {
                        customer_references: refs.clone(),
                        start: Some(prost_types::Timestamp { seconds: from.timestamp(), nanos: 0 }),
                        end: Some(prost_types::Timestamp { seconds: to.timestamp(), nanos: 0 }),
                        page_size: 500,
                        page_token: token.clone(),
                    };
                    let left = until.saturating_duration_since(std::time::Instant::now());
                    match engine.list_bookings(&id.to_string(), req, left).await {
                        Ok(r) => {
                            found.extend(r.bookings);
                            token = r.next_page_token;
                            if token.is_empty() {
                                break;
                            }
                        }
                        Err(e) => {
                            let (status, message) = call_status(&e);
                            return (id, Err((status, message)), started.elapsed().as_millis() as u64);
                        }
                    }
                }
                (id, Ok(found), started.elapsed().as_millis() as u64)
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(r) => listings.push(r),
                Err(e) => tracing::error!(error = %e, "a vendor's listing task failed"),
            }
        }
        let by_vendor_id: HashMap<(Uuid, &str), &BookingRow> =
            rows.iter().map(|r| ((r.vendor_id, r.vendor_booking_id.as_str()), r)).collect();
        let mut bookings = Vec::new();
        let mut vendors = Vec::new();
        for (vendor_id, listed, elapsed_ms) in listings {
            let vendor_name = names.get(&vendor_id).cloned().unwrap_or_default();
            match listed {
                Ok(found) => {
                    for b in &found {
                        // Only bookings the registry made: the vendor lists by our references.
                        if let Some(row) = by_vendor_id.get(&(vendor_id, b.booking_id.as_str())) {
                            bookings.push(merged(row, &vendor_name, b));
                        }
                    }
                    vendors.push(VendorListing { vendor_id, vendor_name, status: "ok".into(), message: None, elapsed_ms });
                }
                Err((status, message)) => {
                    bookings.extend(rows.iter().filter(|r| r.vendor_id == vendor_id).map(|r| from_row(r, &vendor_name, true)));
                    vendors.push(VendorListing { vendor_id, vendor_name, status: status.into(), message: Some(message), elapsed_ms });
                }
            }
        }
        bookings.sort_by_key(|b| (b.start, b.id));
        vendors.sort_by(|a, b| a.vendor_name.cmp(&b.vendor_name).then(a.vendor_id.cmp(&b.vendor_id)));
        Ok(MyBookings { from, to, bookings, vendors })
    }

    /// One of the caller's bookings as its vendor has it now, with its history.
    pub async fn my_booking(&self, p: &Principal, id: Uuid) -> Result<BookingOut, Error> {
        let owned = self.registry.owned_booking(p, id).await?;
        let b = self.booking_at(&owned.vendor, &owned.row.vendor_booking_id).await?;
        self.learnt(&owned, &b).await
    }

    /// Cancels one of the caller's bookings at its vendor, within the vendor's rules (its
    /// refusal, e.g. after the cancellation deadline, says why).
    pub async fn cancel_my_booking(&self, p: &Principal, id: Uuid, reason: Option<&str>) -> Result<BookingOut, Error> {
        let reason = check_message("reason", reason.unwrap_or_default(), 1000, false)?;
        let owned = self.registry.owned_booking(p, id).await?;
        let b = self.cancel_at(&owned.vendor, &owned.row.vendor_booking_id, &reason).await?;
        self.learnt(&owned, &b).await
    }

    /// Moves one of the caller's bookings to another time, or another unit of the same vendor,
    /// atomically at the vendor (vendor.v1.1 `MoveBooking`): when the new time is taken, the
    /// booking keeps its old one.
    pub async fn move_my_booking(
        &self,
        p: &Principal,
        id: Uuid,
        to: MoveInput,
        idempotency_key: Option<&str>,
    ) -> Result<BookingOut, Error> {
        let mut v = registry_core::validate::Violations::default();
        registry_core::service::bookings::check_idempotency_key(&mut v, idempotency_key);
        if to.end <= to.start {
            v.add("end", "out_of_range", "must be after start");
        } else if to.end - to.start > chrono::Duration::hours(registry_core::service::bookings::MAX_BOOKING_HOURS) {
            v.add("end", "out_of_range", "a booking is at most 24 hours");
        }
        v.finish()?;
        let owned = self.registry.owned_booking(p, id).await?;
        if !vendor_offers(&owned.vendor, "OPERATION_MOVE_BOOKING") {
            return Err(Error::Conflict {
                field: None,
                rule: "not_supported",
                message: format!("the booking system '{}' does not rebook through the registry; cancel and book again", owned.vendor.name),
            });
        }
        let unit_ref = match to.unit_id {
            Some(unit) => {
                let facility = to.facility_id.unwrap_or(owned.row.facility_id);
                self.registry.unit_ref_at(&owned.vendor, facility, unit).await?
            }
            None => String::new(),
        };
        self.usable(&owned.vendor)?;
        let scope = registry_core::service::bookings::idempotency_scope(p, "");
        let req = pb::MoveBookingRequest {
            booking_id: owned.row.vendor_booking_id.clone(),
            idempotency_key: registry_core::service::bookings::vendor_idempotency_key(&scope, idempotency_key.unwrap_or_default()),
            unit_ref: unit_ref.clone(),
            start: Some(prost_types::Timestamp { seconds: to.start.timestamp(), nanos: 0 }),
            end: Some(prost_types::Timestamp { seconds: to.end.timestamp(), nanos: 0 }),
        };
        let vendor_id = owned.vendor.id.to_string();
        let answer = self.engine.move_booking(&vendor_id, req, BOOKING_DEADLINE).await;
        self.engine.forget_units(&vendor_id, &[unit_ref]);
        let b = answer.map_err(|e| super::bookings::refused(&owned.vendor.name, e))?.booking;
        let b = b.ok_or_else(|| Error::Unavailable(format!("the booking system '{}' answered without a booking", owned.vendor.name)))?;
        self.engine.forget_units(&vendor_id, std::slice::from_ref(&b.unit_ref));
        self.learnt(&owned, &b).await
    }

    /// Answers a completion request of one of the caller's booking requests (vendor.v1.1
    /// `CompleteRequest`): pending again, with the answer.
    pub async fn complete_my_request(&self, p: &Principal, id: Uuid, message: &str) -> Result<BookingOut, Error> {
        let message = check_message("message", message, 2000, true)?;
        let owned = self.registry.owned_booking(p, id).await?;
        if !vendor_offers(&owned.vendor, "OPERATION_COMPLETE_REQUEST") {
            return Err(Error::Conflict {
                field: None,
                rule: "not_supported",
                message: format!("the booking system '{}' takes completions in its own e-service", owned.vendor.name),
            });
        }
        self.usable(&owned.vendor)?;
        let req = pb::CompleteRequestRequest { booking_id: owned.row.vendor_booking_id.clone(), message };
        let answer = self.engine.complete_request(&owned.vendor.id.to_string(), req, BOOKING_DEADLINE).await;
        let b = answer.map_err(|e| refused_other(&owned.vendor.name, &owned.row.vendor_booking_id, e))?.booking;
        let b = b.ok_or_else(|| Error::Unavailable(format!("the booking system '{}' answered without a booking", owned.vendor.name)))?;
        self.learnt(&owned, &b).await
    }

    /// Stores what the vendor said and answers the booking as it stands.
    async fn learnt(&self, owned: &OwnedBooking, b: &pb::Booking) -> Result<BookingOut, Error> {
        let status = status_name(b.status);
        let start = time(b.start, owned.row.start_at);
        let end = time(b.end, owned.row.end_at);
        let message = Some(b.status_message.as_str()).filter(|m| !m.is_empty());
        let row = self
            .registry
            .booking_learnt(owned.vendor.id, &owned.row.vendor_booking_id, &b.unit_ref, start, end, &status, message)
            .await?
            .unwrap_or_else(|| owned.row.clone());
        Ok(merged(&row, &owned.vendor.name, b))
    }

    fn usable_for(&self, vendor: &Vendor) -> Result<(), String> {
        if !vendor.certification.federated() {
            return Err(format!("not certified at present ({}); the registry's last known state is shown", vendor.certification.why_not()));
        }
        self.ensure(vendor).map_err(|_| "not configured correctly in the registry; the registry's last known state is shown".to_string())
    }
}

/// Where to move a booking.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveInput {
    /// The new start (RFC 3339).
    pub start: DateTime<Utc>,
    /// The new end (RFC 3339); after `start`, at most 24 hours later.
    pub end: DateTime<Utc>,
    /// Another unit of the same booking system (optional; the same unit otherwise).
    #[serde(default)]
    pub unit_id: Option<Uuid>,
    /// The other unit's facility (with `unitId`; the booking's facility otherwise).
    #[serde(default)]
    pub facility_id: Option<Uuid>,
}

/// A message or reason: trimmed, at most `max` characters, no control characters.
fn check_message(field: &str, s: &str, max: usize, required: bool) -> Result<String, Error> {
    let mut v = registry_core::validate::Violations::default();
    let s = if required { v.required_multiline(field, s, max) } else { v.optional_multiline(field, s, max) };
    v.finish()?;
    Ok(s)
}
