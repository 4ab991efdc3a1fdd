//! vendor.v1 `BookingProvider` over the backend: the registry federates this backend exactly
//! like any other vendor.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use tonic::{Request, Response, Status};
use uuid::Uuid;
use vendor_proto::v1 as pb;
use vendor_proto::v1::booking_provider_server::BookingProvider;

use crate::availability::SlotState;
use crate::error::{BookingError, Violation};
use crate::model::{Actor, Booking, BookingStatus, Customer, CustomerType, PaymentMethod, Price, StatusChange};
use crate::series::{Occurrence, SeriesInput};
use crate::service::{Backend, BookingInput, MAX_UNITS, Mode, UnitAnswer};

/// API keys the backend accepts: (caller name, key).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(pub Vec<(String, String)>);

impl ApiKeys {
    /// Parses `name:key,name:key` (e.g. from `REFERENCE_BOOKING_API_KEYS`).
    pub fn parse(s: &str) -> Result<ApiKeys, String> {
        let mut out = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, key) = pair.split_once(':').ok_or_else(|| format!("'{}…' is not name:key", &pair[..pair.len().min(8)]))?;
            if name.is_empty() || key.len() < 16 {
                return Err(format!("the key of '{name}' is shorter than 16 characters"));
            }
            out.push((name.to_string(), key.to_string()));
        }
        Ok(ApiKeys(out))
    }

    /// The caller a request's `x-api-key` names; without configured keys, everyone is
    /// `anonymous` (development only).
    pub fn caller(&self, metadata: &tonic::metadata::MetadataMap) -> Result<String, BookingError> {
        if self.0.is_empty() {
            return Ok("anonymous".into());
        }
        let presented = metadata.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("");
        if presented.is_empty() {
            return Err(BookingError::Unauthenticated("send the API key you were given in x-api-key".into()));
        }
        let eq = |a: &str, b: &str| a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        self.0
            .iter()
            .find(|(_, k)| eq(k, presented))
            .map(|(n, _)| n.clone())
            .ok_or_else(|| BookingError::Unauthenticated("the API key is not valid".into()))
    }
}

/// Remembered key checks: when, and the caller or the refusal.
type KeyCache = std::collections::HashMap<String, (std::time::Instant, Result<String, BookingError>)>;

/// How long a key check (and whether any key exists) is remembered.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The service.
#[derive(Clone)]
pub struct BookingGrpc {
    backend: Backend,
    keys: Arc<ApiKeys>,
    pepper: Arc<str>,
    booking_url: Option<String>,
    cache: Arc<std::sync::Mutex<KeyCache>>,
    /// Whether callers without a key are accepted (development only).
    allow_anonymous: bool,
}

impl BookingGrpc {
    /// Wraps the backend; `booking_url` is the customer-facing page bookings link to.
    pub fn new(backend: Backend, keys: ApiKeys, booking_url: Option<String>) -> Self {
        BookingGrpc { backend, keys: Arc::new(keys), pepper: "".into(), booking_url, cache: Arc::default(), allow_anonymous: false }
    }

    /// Accepts callers without a key (as `anonymous`): for development and tests on loopback
    /// only. Without it the service fails closed: no key, no answer, whether or not any key
    /// exists yet.
    pub fn allow_anonymous(mut self) -> Self {
        self.allow_anonymous = true;
        self
    }

    /// The pepper of the backend's stored API keys.
    pub fn with_pepper(mut self, pepper: &str) -> Self {
        self.pepper = pepper.into();
        self
    }

    /// Who calls. Keys from `REFERENCE_BOOKING_API_KEYS` when configured; otherwise the
    /// backend's stored keys, of role `registry` or `admin`. A caller without a key only with
    /// [`BookingGrpc::allow_anonymous`].
    async fn caller(&self, metadata: &tonic::metadata::MetadataMap) -> Result<String, BookingError> {
        let value = |name| metadata.get(name).and_then(|v| v.to_str().ok());
        let presented = crate::keys::presented(value("x-api-key"), value("authorization"));
        if presented.is_none() && self.allow_anonymous {
            return Ok("anonymous".into());
        }
        if !self.keys.0.is_empty() {
            return self.keys.caller(metadata);
        }
        let cache_key = presented.clone().unwrap_or_default();
        if let Some((at, r)) = self.cache.lock().expect("never poisoned").get(&cache_key)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return r.clone();
        }
        let result = match presented {
            Some(token) => match crate::keys::authenticate(self.backend.pool(), &self.pepper, &token).await {
                Ok(p) if matches!(p.role, crate::keys::Role::Registry | crate::keys::Role::Admin) => Ok(p.id),
                Ok(p) => Err(BookingError::Forbidden(format!("role '{}' may not call vendor.v1; use a registry key", p.role.as_str()))),
                Err(e @ BookingError::Unauthenticated(_)) => Err(e),
                Err(other) => return Err(other),
            },
            None => Err(BookingError::Unauthenticated(
                "send an API key of role registry in x-api-key (the vendor's operator creates it with `reference-booking keys create --role registry`)".into(),
            )),
        };
        let mut cache = self.cache.lock().expect("never poisoned");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(cache_key, (std::time::Instant::now(), result.clone()));
        result
    }
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

fn time(t: Option<prost_types::Timestamp>, field: &str, v: &mut Vec<Violation>) -> DateTime<Utc> {
    match t.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)) {
        Some(t) => t,
        None => {
            v.push(Violation { field: field.into(), message: "required: a timestamp".into() });
            DateTime::UNIX_EPOCH
        }
    }
}

fn customer_type(t: i32) -> Option<CustomerType> {
    match pb::CustomerType::try_from(t).ok()? {
        pb::CustomerType::PrivatePerson => Some(CustomerType::PrivatePerson),
        pb::CustomerType::Association => Some(CustomerType::Association),
        pb::CustomerType::Company => Some(CustomerType::Company),
        pb::CustomerType::Unspecified => None,
    }
}

fn customer_type_out(t: CustomerType) -> pb::CustomerType {
    match t {
        CustomerType::PrivatePerson => pb::CustomerType::PrivatePerson,
        CustomerType::Association => pb::CustomerType::Association,
        CustomerType::Company => pb::CustomerType::Company,
    }
}

fn prices(p: &std::collections::BTreeMap<CustomerType, Price>) -> Vec<pb::Price> {
    p.iter()
        .map(|(t, p)| pb::Price {
            customer_type: customer_type_out(*t) as i32,
            amount_minor_per_hour: p.amount_minor,
            currency: p.currency.clone(),
        })
        .collect()
}

fn status_out(s: BookingStatus) -> pb::BookingStatus {
    match s {
        BookingStatus::Confirmed => pb::BookingStatus::Confirmed,
        BookingStatus::Pending => pb::BookingStatus::Pending,
        BookingStatus::NeedsCompletion => pb::BookingStatus::NeedsCompletion,
        BookingStatus::Rejected => pb::BookingStatus::Rejected,
        BookingStatus::Cancelled => pb::BookingStatus::Cancelled,
    }
}

fn change_out(c: &StatusChange) -> pb::StatusChange {
    pb::StatusChange {
        status: status_out(c.status) as i32,
        at: ts(c.at),
        message: c.message.clone().unwrap_or_default(),
        actor: c.actor.as_str().into(),
        note: c.note.clone().unwrap_or_default(),
    }
}

fn actor_name(a: Actor) -> String {
    a.as_str().into()
}

/// A local date, `YYYY-MM-DD` (vendor.v1.1 `CreateSeries`).
fn local_date(s: &str, field: &str, v: &mut Vec<Violation>) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| s.len() == 10);
    if parsed.is_none() {
        v.push(Violation { field: field.into(), message: "required: a date, YYYY-MM-DD".into() });
    }
    parsed
}

/// A local time of day, `HH:MM` (vendor.v1.1 `CreateSeries`).
fn clock_time(s: &str, field: &str, v: &mut Vec<Violation>) -> Option<NaiveTime> {
    let parsed = NaiveTime::parse_from_str(s, "%H:%M").ok().filter(|_| s.len() == 5);
    if parsed.is_none() {
        v.push(Violation { field: field.into(), message: "required: a local time, HH:MM (00:00 to 23:59)".into() });
    }
    parsed
}

/// A booking mode, or a violation.
fn mode(m: i32, v: &mut Vec<Violation>) -> Option<Mode> {
    match pb::BookingMode::try_from(m).unwrap_or(pb::BookingMode::Unspecified) {
        pb::BookingMode::Direct => Some(Mode::Direct),
        pb::BookingMode::Request => Some(Mode::Request),
        pb::BookingMode::Unspecified => {
            v.push(Violation { field: "mode".into(), message: "required: BOOKING_MODE_DIRECT or BOOKING_MODE_REQUEST".into() });
            None
        }
    }
}

fn payment(p: i32) -> PaymentMethod {
    match pb::PaymentMethod::try_from(p).unwrap_or(pb::PaymentMethod::Unspecified) {
        pb::PaymentMethod::Invoice => PaymentMethod::Invoice,
        _ => PaymentMethod::Direct,
    }
}

/// One week of a series as vendor.v1.1 reports it.
fn occurrence_out(o: &Occurrence) -> pb::SeriesOccurrence {
    let (outcome, booking_id, reason) = match o {
        Occurrence::Created { booking_id, .. } => {
            (pb::OccurrenceOutcome::Created, booking_id.map(|id| id.to_string()).unwrap_or_default(), String::new())
        }
        Occurrence::Conflict { reason, .. } => (pb::OccurrenceOutcome::Conflict, String::new(), reason.clone()),
        Occurrence::Rule { reason, .. } => (pb::OccurrenceOutcome::Rule, String::new(), reason.clone()),
        Occurrence::Excluded { .. } => (pb::OccurrenceOutcome::Excluded, String::new(), String::new()),
    };
    pb::SeriesOccurrence {
        date: o.start().with_timezone(&chrono_tz::Europe::Stockholm).date_naive().format("%Y-%m-%d").to_string(),
        start: ts(o.start()),
        end: ts(o.end()),
        outcome: outcome as i32,
        booking_id,
        reason,
    }
}

impl BookingGrpc {
    /// A booking with its history.
    async fn booking_with_history(&self, b: &Booking) -> Result<pb::Booking, BookingError> {
        let mut out = self.booking(b);
        out.history = self.backend.history(b.id).await?.iter().map(change_out).collect();
        Ok(out)
    }

    fn booking(&self, b: &Booking) -> pb::Booking {
        let status = status_out(b.status);
        pb::Booking {
            booking_id: b.id.to_string(),
            unit_ref: b.unit_ref.clone(),
            start: ts(b.start),
            end: ts(b.end),
            status: status as i32,
            status_message: b.status_message.clone().or(b.cancel_reason.clone()).unwrap_or_default(),
            price: b.price.as_ref().map(|p| pb::Price {
                customer_type: b.customer_type.map_or(0, |t| customer_type_out(t) as i32),
                amount_minor_per_hour: p.amount_minor,
                currency: p.currency.clone(),
            }),
            amount_minor: b.amount_minor.unwrap_or(0),
            // The code opens the door only for a confirmed booking.
            access_code: if b.status == BookingStatus::Confirmed { b.access_code.clone().unwrap_or_default() } else { String::new() },
            booking_url: self.booking_url.as_ref().map(|u| format!("{u}/bookings/{}", b.id)).unwrap_or_default(),
            created_at: ts(b.created_at),
            updated_at: ts(b.updated_at),
            customer_reference: b.customer_ref.clone().unwrap_or_default(),
            association_verified: b.association_verified,
            history: vec![],
            series_id: b.series_id.map(|id| id.to_string()).unwrap_or_default(),
        }
    }
}

#[tonic::async_trait]
impl BookingProvider for BookingGrpc {
    async fn get_capabilities(&self, req: Request<pb::GetCapabilitiesRequest>) -> Result<Response<pb::Capabilities>, Status> {
        self.caller(req.metadata()).await?;
        Ok(Response::new(pb::Capabilities {
            protocol_version: vendor_proto::PROTOCOL_VERSION.into(),
            operations: vec![
                pb::Operation::CheckAvailability as i32,
                pb::Operation::CreateBooking as i32,
                pb::Operation::BookingRequest as i32,
                pb::Operation::GetBooking as i32,
                pb::Operation::CancelBooking as i32,
                pb::Operation::ListBookings as i32,
                pb::Operation::MoveBooking as i32,
                pb::Operation::ListChanges as i32,
                pb::Operation::CompleteRequest as i32,
                pb::Operation::CreateSeries as i32,
            ],
            max_window: Some(prost_types::Duration { seconds: crate::service::MAX_WINDOW.num_seconds(), nanos: 0 }),
            max_units_per_call: MAX_UNITS as i32,
            slot_granularity: Some(prost_types::Duration { seconds: 900, nanos: 0 }),
            max_requests_per_second: 0,
            implementation: format!("reference-booking {}", env!("CARGO_PKG_VERSION")),
            time_zone: "Europe/Stockholm".into(),
        }))
    }

    async fn check_availability(
        &self,
        req: Request<pb::CheckAvailabilityRequest>,
    ) -> Result<Response<pb::CheckAvailabilityResponse>, Status> {
        self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let mut v = Vec::new();
        let (from, to) = (time(r.start, "start", &mut v), time(r.end, "end", &mut v));
        if !v.is_empty() {
            return Err(BookingError::Invalid(v).into());
        }
        // Longer than the longest window means none fits; out-of-range values never overflow.
        let min = r
            .min_duration
            .map(|d| chrono::Duration::try_seconds(d.seconds.clamp(0, crate::service::MAX_WINDOW.num_seconds() + 1)).unwrap_or_default())
            .filter(|d| *d > chrono::Duration::zero());
        let answers = self.backend.availability(&r.unit_refs, from, to, customer_type(r.customer_type), min).await?;
        let units = answers
            .into_iter()
            .map(|a| match a {
                UnitAnswer::Unknown(unit_ref) => pb::UnitAvailability {
                    unit_ref,
                    status: pb::UnitStatus::UnknownUnit as i32,
                    slots: vec![],
                    message: "not a unit of this vendor".into(),
                },
                UnitAnswer::NoHours(u) => pb::UnitAvailability {
                    unit_ref: u.external_ref,
                    status: pb::UnitStatus::NotBookable as i32,
                    slots: vec![],
                    message: "its opening hours have not been read from the registry yet".into(),
                },
                UnitAnswer::Slots(u, slots) => {
                    let p = prices(&u.rules.prices);
                    pb::UnitAvailability {
                        unit_ref: u.external_ref,
                        status: pb::UnitStatus::Ok as i32,
                        slots: slots
                            .into_iter()
                            .map(|s| pb::Slot {
                                start: ts(s.start),
                                end: ts(s.end),
                                state: match s.state {
                                    SlotState::Free => pb::SlotState::Free,
                                    SlotState::RequestOnly => pb::SlotState::RequestOnly,
                                    SlotState::Booked => pb::SlotState::Booked,
                                } as i32,
                                prices: if s.state == SlotState::Booked { vec![] } else { p.clone() },
                                booking_url: String::new(),
                            })
                            .collect(),
                        message: String::new(),
                    }
                }
            })
            .collect();
        Ok(Response::new(pb::CheckAvailabilityResponse { units }))
    }

    async fn create_booking(&self, req: Request<pb::CreateBookingRequest>) -> Result<Response<pb::CreateBookingResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let mut v = Vec::new();
        let (start, end) = (time(r.start, "start", &mut v), time(r.end, "end", &mut v));
        let c = r.customer.unwrap_or_default();
        let ctype = customer_type(c.r#type);
        if ctype.is_none() {
            v.push(Violation { field: "customer.type".into(), message: "required: PRIVATE_PERSON, ASSOCIATION or COMPANY".into() });
        }
        let mode = mode(r.mode, &mut v);
        let payment = payment(r.payment_method);
        if r.unit_ref.is_empty() {
            v.push(Violation { field: "unitRef".into(), message: "required".into() });
        }
        let (Some(ctype), Some(mode)) = (ctype, mode) else { return Err(BookingError::Invalid(v).into()) };
        if !v.is_empty() {
            return Err(BookingError::Invalid(v).into());
        }
        let input = BookingInput {
            unit_ref: r.unit_ref,
            start,
            end,
            mode,
            customer_type: ctype,
            customer: Customer { name: c.name, email: c.email, phone: c.phone, org_number: c.org_number },
            activity: r.activity,
            participants: r.participants,
            payment_method: payment,
            message: r.message,
            customer_ref: Some(c.reference).filter(|r| !r.is_empty()),
            association_verified: c.association_verified,
        };
        let b = self.backend.create_booking(&caller, &r.idempotency_key, &input).await?;
        Ok(Response::new(pb::CreateBookingResponse { booking: Some(self.booking_with_history(&b).await?) }))
    }

    async fn get_booking(&self, req: Request<pb::GetBookingRequest>) -> Result<Response<pb::GetBookingResponse>, Status> {
        self.caller(req.metadata()).await?;
        let id = req.into_inner().booking_id;
        let id = Uuid::parse_str(&id).map_err(|_| BookingError::UnknownBooking(id.clone()))?;
        let b = self.backend.booking(id).await?;
        Ok(Response::new(pb::GetBookingResponse { booking: Some(self.booking_with_history(&b).await?) }))
    }

    async fn cancel_booking(&self, req: Request<pb::CancelBookingRequest>) -> Result<Response<pb::CancelBookingResponse>, Status> {
        self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let id = Uuid::parse_str(&r.booking_id).map_err(|_| BookingError::UnknownBooking(r.booking_id.clone()))?;
        // Through vendor.v1 the customer cancels (the registry acts for them): the deadline applies.
        let b = self.backend.cancel(id, &r.reason, false).await?;
        Ok(Response::new(pb::CancelBookingResponse { booking: Some(self.booking_with_history(&b).await?) }))
    }

    async fn list_bookings(&self, req: Request<pb::ListBookingsRequest>) -> Result<Response<pb::ListBookingsResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let mut v = Vec::new();
        let (from, to) = (time(r.start, "start", &mut v), time(r.end, "end", &mut v));
        if !v.is_empty() {
            return Err(BookingError::Invalid(v).into());
        }
        let (page, next) = self.backend.list_bookings(&caller, &r.customer_references, from, to, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListBookingsResponse {
            bookings: page.iter().map(|b| self.booking(b)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn move_booking(&self, req: Request<pb::MoveBookingRequest>) -> Result<Response<pb::MoveBookingResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let mut v = Vec::new();
        let (start, end) = (time(r.start, "start", &mut v), time(r.end, "end", &mut v));
        if !v.is_empty() {
            return Err(BookingError::Invalid(v).into());
        }
        let id = Uuid::parse_str(&r.booking_id).map_err(|_| BookingError::UnknownBooking(r.booking_id.clone()))?;
        let b = self.backend.move_booking(&caller, &r.idempotency_key, id, &r.unit_ref, start, end).await?;
        Ok(Response::new(pb::MoveBookingResponse { booking: Some(self.booking_with_history(&b).await?) }))
    }

    async fn complete_request(&self, req: Request<pb::CompleteRequestRequest>) -> Result<Response<pb::CompleteRequestResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        if r.message.trim().is_empty() {
            return Err(BookingError::invalid("message", "required: the answer to what the case officer asked").into());
        }
        let id = Uuid::parse_str(&r.booking_id).map_err(|_| BookingError::UnknownBooking(r.booking_id.clone()))?;
        // Another caller's booking does not exist for this one.
        let current = self.backend.booking(id).await?;
        if current.created_by != caller {
            return Err(BookingError::UnknownBooking(r.booking_id).into());
        }
        let b = self.backend.resubmit(id, &r.message).await?;
        Ok(Response::new(pb::CompleteRequestResponse { booking: Some(self.booking_with_history(&b).await?) }))
    }

    async fn list_changes(&self, req: Request<pb::ListChangesRequest>) -> Result<Response<pb::ListChangesResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let (changes, next) = self.backend.changes(&caller, &r.cursor, r.page_size).await?;
        Ok(Response::new(pb::ListChangesResponse {
            changes: changes
                .iter()
                .map(|(b, c)| pb::BookingChange {
                    booking: Some(self.booking(b)),
                    status: status_out(c.status) as i32,
                    message: c.message.clone().unwrap_or_default(),
                    at: ts(c.at),
                    actor: actor_name(c.actor),
                })
                .collect(),
            next_cursor: next,
        }))
    }

    async fn create_series(&self, req: Request<pb::CreateSeriesRequest>) -> Result<Response<pb::CreateSeriesResponse>, Status> {
        let caller = self.caller(req.metadata()).await?;
        let r = req.into_inner();
        let mut v = Vec::new();
        let first = local_date(&r.first_date, "firstDate", &mut v);
        let last = local_date(&r.last_date, "lastDate", &mut v);
        let from = clock_time(&r.start_time, "startTime", &mut v);
        let to = clock_time(&r.end_time, "endTime", &mut v);
        let mut excluded = Vec::with_capacity(r.excluded_dates.len());
        for d in &r.excluded_dates {
            if NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().filter(|_| d.len() == 10).map(|d| excluded.push(d)).is_none() {
                v.push(Violation { field: "excludedDates".into(), message: format!("'{d}' is not a date, YYYY-MM-DD") });
                break;
            }
        }
        let c = r.customer.unwrap_or_default();
        let ctype = customer_type(c.r#type);
        if ctype.is_none() {
            v.push(Violation { field: "customer.type".into(), message: "required: PRIVATE_PERSON, ASSOCIATION or COMPANY".into() });
        }
        let mode = mode(r.mode, &mut v);
        if r.unit_ref.is_empty() {
            v.push(Violation { field: "unitRef".into(), message: "required".into() });
        }
        if r.idempotency_key.is_empty() {
            v.push(Violation { field: "idempotencyKey".into(), message: "required: 1 to 100 characters".into() });
        }
        let (Some(first), Some(last), Some(from), Some(to), Some(ctype), Some(mode)) = (first, last, from, to, ctype, mode) else {
            return Err(BookingError::Invalid(v).into());
        };
        if !v.is_empty() {
            return Err(BookingError::Invalid(v).into());
        }
        let input = SeriesInput {
            unit_ref: r.unit_ref,
            first_date: first,
            last_date: last,
            from,
            to,
            mode,
            customer_type: ctype,
            customer: Customer { name: c.name, email: c.email, phone: c.phone, org_number: c.org_number },
            activity: r.activity,
            payment_method: payment(r.payment_method),
            atomic: r.atomic,
            excluded_dates: excluded,
            message: r.message,
            customer_ref: Some(c.reference).filter(|r| !r.is_empty()),
            association_verified: c.association_verified,
        };
        let report = match self.backend.create_series(&caller, &r.idempotency_key, &input).await {
            Ok(report) => report,
            // The backend names the times as its REST API does (`from`, `to`).
            Err(BookingError::Invalid(v)) => {
                let v = v
                    .into_iter()
                    .map(|x| match x.field.as_str() {
                        "from" => Violation { field: "startTime".into(), ..x },
                        "to" => Violation { field: "endTime".into(), ..x },
                        _ => x,
                    })
                    .collect();
                return Err(BookingError::Invalid(v).into());
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Response::new(pb::CreateSeriesResponse {
            series_id: report.series_id.map(|id| id.to_string()).unwrap_or_default(),
            created: report.created,
            occurrences: report.occurrences.iter().map(occurrence_out).collect(),
        }))
    }

    async fn health(&self, _: Request<pb::HealthRequest>) -> Result<Response<pb::HealthResponse>, Status> {
        let ok = match self.backend.pool().get().await {
            Ok(mut c) => diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut c).await.is_ok(),
            Err(_) => false,
        };
        Ok(Response::new(if ok {
            pb::HealthResponse { status: pb::ServingStatus::Serving as i32, message: String::new() }
        } else {
            pb::HealthResponse { status: pb::ServingStatus::NotServing as i32, message: "the database does not answer".into() }
        }))
    }
}
