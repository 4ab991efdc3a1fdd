//! The booking use cases: availability, direct bookings and booking requests, their
//! decisions and cancellations. Every write validates fully, then runs in one transaction;
//! the database's exclusion constraint is what finally rules out a double booking.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use registry_core::hours::OpeningHours;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::availability::{self, Slot};
use crate::db::{self, Claim, InsertError, KeyUse, NewBooking, Pool};
use crate::error::{BookingError, Result, Violation};
use crate::hours::Hours;
use crate::model::{Actor, Booking, BookingStatus, Customer, CustomerType, Kind, PaymentMethod, StatusChange, Unit};

/// Longest window of one availability question.
pub const MAX_WINDOW: Duration = Duration::days(14);
/// Units per availability question.
pub const MAX_UNITS: usize = 100;

/// The backend: its database and where it reads opening hours.
#[derive(Clone)]
pub struct Backend {
    pool: Pool,
    hours: Arc<Hours>,
    /// Where booking rules (lead time, horizon, cancellation deadline) read the time.
    clock: registry_core::Clock,
}

/// A unit's part of an availability answer.
#[derive(Debug, Clone)]
pub enum UnitAnswer {
    /// Its slots.
    Slots(Unit, Vec<Slot>),
    /// Not a unit of this backend.
    Unknown(String),
    /// Known, but its opening hours were never read (the registry has not answered yet).
    NoHours(Unit),
}

/// Booking directly or asking a case officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Confirmed at once.
    Direct,
    /// Pending until decided.
    Request,
}

/// A booking as asked for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BookingInput {
    /// The unit's reference.
    pub unit_ref: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Direct or request.
    pub mode: Mode,
    /// Who books.
    pub customer_type: CustomerType,
    /// The customer.
    pub customer: Customer,
    /// What for.
    pub activity: String,
    /// How many.
    pub participants: i32,
    /// How it is paid.
    pub payment_method: PaymentMethod,
    /// To the case officer.
    pub message: String,
    /// The caller's reference of the customer (vendor.v1.1); left out of the request's hash
    /// when absent, so requests from before 1.1 hash as they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// Whether the caller verified the association (vendor.v1.1).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub association_verified: bool,
}

/// A case officer's decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Confirmed: it now holds the time (if nothing else does).
    Approve,
    /// Refused, with a reason to the customer.
    Reject,
    /// Sent back to the customer to complete, with what is missing.
    RequestCompletion,
}

/// What an idempotency key is used for (`idempotency_keys.operation`).
pub(crate) const BOOKING: &str = "booking";
/// A weekly series.
pub(crate) const SERIES: &str = "series";
/// A block.
pub(crate) const BLOCK: &str = "block";
/// A move (vendor.v1.1 `MoveBooking`).
pub(crate) const MOVE: &str = "move";

/// Customer references per `ListBookings` call.
pub const MAX_LIST_REFS: usize = 20;
/// The longest `ListBookings` window.
pub const MAX_LIST_WINDOW: Duration = Duration::days(400);

/// Refuses a key used before for another request (or another kind of request).
pub(crate) fn same_request(used: &KeyUse, key: &str, operation: &str, hash: &str) -> Result<()> {
    if used.operation == operation && used.request_hash == hash { Ok(()) } else { Err(BookingError::IdempotencyKeyReused(key.to_string())) }
}

/// The booking or block a key made, as it stands now, when the request is the same.
pub(crate) async fn replayed(conn: &mut AsyncPgConnection, used: &KeyUse, key: &str, operation: &str, hash: &str) -> Result<Booking> {
    same_request(used, key, operation, hash)?;
    let id = used.booking_id.ok_or_else(|| BookingError::Internal("an idempotency key without its booking".into()))?;
    Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::Internal("a booking of an idempotency key vanished".into()))?.0)
}

/// A six-digit code for the lock system.
pub(crate) fn access_code() -> Result<String> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| BookingError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("{:06}", u32::from_le_bytes(b) % 1_000_000))
}

/// Text PostgreSQL cannot store (NUL) or that no form sends (other control characters but
/// tab and line breaks) is refused, naming the field.
pub(crate) fn check_text(v: &mut Vec<Violation>, field: &str, s: &str) {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        v.push(Violation { field: field.into(), message: "contains control characters".into() });
    }
}

/// Whether `r` is a unit reference as the backend writes them: 1 to 200 letters, digits, `_ . : -`.
pub(crate) fn is_unit_ref(r: &str) -> bool {
    !r.is_empty() && r.len() <= 200 && r.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
}

/// A unit reference, checked before it is looked up.
pub(crate) fn check_ref(v: &mut Vec<Violation>, field: &str, r: &str) {
    if !is_unit_ref(r) {
        v.push(Violation { field: field.into(), message: "a unit reference: 1 to 200 letters, digits, _ . : -".into() });
    }
}

/// An idempotency key: required, at most `max` characters, no control characters.
pub(crate) fn check_key(v: &mut Vec<Violation>, key: &str, max: usize) {
    if key.is_empty() || key.chars().count() > max {
        v.push(Violation { field: "idempotencyKey".into(), message: format!("required: 1 to {max} characters") });
    }
    check_text(v, "idempotencyKey", key);
}

/// The customer: a name, text a form can send, and an organisation number for associations
/// and companies.
pub(crate) fn check_customer(v: &mut Vec<Violation>, t: CustomerType, c: &Customer) {
    if c.name.trim().is_empty() || c.name.chars().count() > 200 {
        v.push(Violation { field: "customer.name".into(), message: "required: 1 to 200 characters".into() });
    }
    if matches!(t, CustomerType::Association | CustomerType::Company) {
        let mut checked = registry_core::validate::Violations::default();
        registry_core::orgnr::check(&mut checked, "customer.orgNumber", &c.org_number);
        if checked.finish().is_err() {
            v.push(Violation {
                field: "customer.orgNumber".into(),
                message: "associations and companies give their organisation number: ten digits with a valid check digit".into(),
            });
        }
    }
    for (field, text) in
        [("customer.name", &c.name), ("customer.email", &c.email), ("customer.phone", &c.phone), ("customer.orgNumber", &c.org_number)]
    {
        check_text(v, field, text);
    }
}

/// Checks `[start, end)` against the unit's rules and opening hours at `now`.
pub fn check_rules(unit: &Unit, hours: &OpeningHours, start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    let r = &unit.rules;
    let minutes = (end - start).num_minutes();
    if (end - start).num_seconds() % 60 != 0 || minutes % i64::from(r.slot_minutes) != 0 {
        return Err(BookingError::BookingRule(format!("a booking lasts a whole number of {}-minute slots", r.slot_minutes)));
    }
    if minutes < i64::from(r.min_minutes) || minutes > i64::from(r.max_minutes) {
        return Err(BookingError::BookingRule(format!(
            "a booking of '{}' lasts {} to {} minutes; this one lasts {minutes}",
            unit.name, r.min_minutes, r.max_minutes
        )));
    }
    if start < now + Duration::minutes(i64::from(r.lead_minutes)) {
        return Err(BookingError::BookingRule(format!(
            "'{}' is booked at least {} minutes before the start (lead time)",
            unit.name, r.lead_minutes
        )));
    }
    if end > now + Duration::days(i64::from(r.horizon_days)) {
        return Err(BookingError::BookingRule(format!("'{}' is booked at most {} days ahead (horizon)", unit.name, r.horizon_days)));
    }
    let Some((open, _)) = availability::openings(hours, start, end).into_iter().find(|(o, c)| *o <= start && end <= *c) else {
        return Err(BookingError::BookingRule(format!("'{}' is not open for the whole of {start} – {end}", unit.name)));
    };
    if (start - open).num_minutes() % i64::from(r.slot_minutes) != 0 || (start - open).num_seconds() % 60 != 0 {
        return Err(BookingError::BookingRule(format!(
            "bookings of '{}' start on its {}-minute slots, counted from the opening at {open}",
            unit.name, r.slot_minutes
        )));
    }
    Ok(())
}

impl Backend {
    /// The backend over `pool`, reading hours from `hours`.
    pub fn new(pool: Pool, hours: Arc<Hours>) -> Backend {
        Backend { pool, hours, clock: registry_core::Clock::system() }
    }

    /// Reads the time from `clock` instead of the system clock (tests name their "today").
    pub fn with_clock(mut self, clock: registry_core::Clock) -> Backend {
        self.clock = clock;
        self
    }

    /// The clock the booking rules read.
    pub fn clock(&self) -> &registry_core::Clock {
        &self.clock
    }

    /// The pool (for readiness checks and tests).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Where hours come from.
    pub fn hours(&self) -> &Hours {
        &self.hours
    }

    /// Adds or replaces a unit (by its external reference).
    pub async fn save_unit(&self, unit: &Unit) -> Result<Unit> {
        let mut v = Vec::new();
        check_ref(&mut v, "externalRef", &unit.external_ref);
        let r = &unit.rules;
        if !(5..=1440).contains(&r.slot_minutes) || 1440 % r.slot_minutes != 0 {
            v.push(Violation { field: "rules.slotMinutes".into(), message: "divides a day: 5 to 1440 minutes".into() });
        }
        if r.min_minutes < r.slot_minutes || r.min_minutes % r.slot_minutes.max(1) != 0 {
            v.push(Violation { field: "rules.minMinutes".into(), message: "a whole number of slots, at least one".into() });
        }
        if r.max_minutes < r.min_minutes || r.max_minutes > 1440 * 14 || r.max_minutes % r.slot_minutes.max(1) != 0 {
            v.push(Violation {
                field: "rules.maxMinutes".into(),
                message: "a whole number of slots, at least minMinutes, at most 14 days".into(),
            });
        }
        if r.direct_types.iter().any(|t| r.request_types.contains(t)) {
            v.push(Violation { field: "rules.requestTypes".into(), message: "a customer type books either directly or by request".into() });
        }
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let mut conn = self.pool.get().await?;
        db::save_unit(&mut conn, unit).await
    }

    /// Every unit.
    pub async fn units(&self) -> Result<Vec<Unit>> {
        let mut conn = self.pool.get().await?;
        db::all_units(&mut conn).await
    }

    /// Bookable time of some units in `[from, to)` as `customer` sees it.
    pub async fn availability(
        &self,
        refs: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        customer: Option<CustomerType>,
        min_duration: Option<Duration>,
    ) -> Result<Vec<UnitAnswer>> {
        if to <= from {
            return Err(BookingError::invalid("end", "must be after start"));
        }
        if to - from > MAX_WINDOW {
            return Err(BookingError::invalid("end", "the window is at most 14 days (max_window)"));
        }
        if refs.is_empty() || refs.len() > MAX_UNITS {
            return Err(BookingError::invalid("unitRefs", "1 to 100 unit references (max_units_per_call)"));
        }
        // Malformed references are reported as unknown units, like any reference not ours.
        let refs_ok: Vec<String> = refs.iter().filter(|r| is_unit_ref(r)).cloned().collect();
        let units = {
            let mut conn = self.pool.get().await?;
            db::units_by_ref(&mut conn, &refs_ok).await?
        };
        let hours = self.hours.of(&self.pool, &units).await?;
        let ids: Vec<Uuid> = units.iter().map(|u| u.id).collect();
        let held = {
            let mut conn = self.pool.get().await?;
            db::held(&mut conn, &ids, from, to).await?
        };
        let now = self.clock.now();
        Ok(refs
            .iter()
            .map(|r| match units.iter().find(|u| &u.external_ref == r) {
                None => UnitAnswer::Unknown(r.clone()),
                Some(u) => match hours.get(&u.id) {
                    None => UnitAnswer::NoHours(u.clone()),
                    Some(h) => {
                        let mine: Vec<_> = held.iter().filter(|b| b.0 == u.id).map(|b| (b.1, b.2)).collect();
                        UnitAnswer::Slots(u.clone(), availability::slots(&u.rules, h, &mine, from, to, now, customer, min_duration))
                    }
                },
            })
            .collect())
    }

    /// Books, directly or as a request. The same `idempotency_key` from the same caller with
    /// the same booking returns the first answer; with another booking, an error.
    pub async fn create_booking(&self, caller: &str, idempotency_key: &str, b: &BookingInput) -> Result<Booking> {
        let mut v = Vec::new();
        check_key(&mut v, idempotency_key, 100);
        if b.end <= b.start {
            v.push(Violation { field: "end".into(), message: "must be after start".into() });
        }
        check_customer(&mut v, b.customer_type, &b.customer);
        if !(0..=100_000).contains(&b.participants) {
            v.push(Violation { field: "participants".into(), message: "0 to 100,000".into() });
        }
        if b.message.chars().count() > 2000 || b.activity.chars().count() > 100 {
            v.push(Violation { field: "message".into(), message: "at most 2,000 characters (activity at most 100)".into() });
        }
        check_ref(&mut v, "unitRef", &b.unit_ref);
        if let Some(r) = &b.customer_ref
            && (!is_unit_ref(r) || r.len() > 100)
        {
            v.push(Violation { field: "customer.reference".into(), message: "1 to 100 letters, digits, _ . : -".into() });
        }
        if b.association_verified && b.customer_type != CustomerType::Association {
            v.push(Violation { field: "customer.associationVerified".into(), message: "only an association is verified".into() });
        }
        check_text(&mut v, "activity", &b.activity);
        check_text(&mut v, "message", &b.message);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let hash = {
            let json = serde_json::to_vec(b).map_err(|e| BookingError::Internal(e.to_string()))?;
            Sha256::digest(&json).iter().map(|x| format!("{x:02x}")).collect::<String>()
        };
        // A retry of a request that has been answered is answered before anything else is
        // checked: its first answer stands. (One still running is met below, at the claim.)
        if let Some(found) = self.replay(caller, idempotency_key, BOOKING, &hash).await? {
            return Ok(found);
        }
        let unit = {
            let mut conn = self.pool.get().await?;
            db::units_by_ref(&mut conn, std::slice::from_ref(&b.unit_ref)).await?.pop()
        }
        .ok_or_else(|| BookingError::UnknownUnit(b.unit_ref.clone()))?;
        let hours = self.hours.of(&self.pool, std::slice::from_ref(&unit)).await?;
        let h = hours.get(&unit.id).ok_or_else(|| {
            BookingError::Unavailable(format!("the opening hours of '{}' have not been read from the registry yet", unit.name))
        })?;
        check_rules(&unit, h, b.start, b.end, self.clock.now())?;
        let r = &unit.rules;
        let (kind, status) = match b.mode {
            Mode::Direct if r.direct_types.contains(&b.customer_type) => (Kind::Direct, BookingStatus::Confirmed),
            Mode::Direct => {
                return Err(BookingError::BookingRule(format!(
                    "a customer of type {} sends a booking request for '{}' instead of booking directly",
                    b.customer_type.as_str(),
                    unit.name
                )));
            }
            Mode::Request if r.direct_types.contains(&b.customer_type) || r.request_types.contains(&b.customer_type) => {
                (Kind::Request, BookingStatus::Pending)
            }
            Mode::Request => {
                return Err(BookingError::BookingRule(format!(
                    "'{}' is not booked by customers of type {}",
                    unit.name,
                    b.customer_type.as_str()
                )));
            }
        };
        let price = r.prices.get(&b.customer_type);
        let minutes = (b.end - b.start).num_minutes();
        let code = access_code()?;
        let id = Uuid::now_v7();
        let row = NewBooking {
            id,
            unit_id: unit.id,
            start: b.start,
            end: b.end,
            kind,
            status,
            customer_type: Some(b.customer_type),
            customer: Some(&b.customer),
            activity: Some(b.activity.as_str()).filter(|a| !a.is_empty()),
            participants: Some(b.participants),
            customer_message: Some(b.message.as_str()).filter(|m| !m.is_empty()),
            status_message: None,
            price,
            amount_minor: price.map(|p| p.amount_minor * minutes / 60),
            payment_method: Some(b.payment_method),
            access_code: Some(&code),
            series_id: None,
            created_by: caller,
            idempotency: Some((idempotency_key, &hash)),
            customer_ref: b.customer_ref.as_deref(),
            association_verified: b.association_verified,
        };
        let mut conn = self.pool.get().await?;
        conn.transaction(async |conn| {
            db::set_actor(conn, Actor::Customer).await?;
            // The key first: a concurrent retry waits here for this transaction, then answers
            // with its booking instead of finding the time taken.
            if let Claim::Taken(used) = db::claim_key(conn, caller, idempotency_key, BOOKING, &hash, Some(id)).await? {
                return replayed(conn, &used, idempotency_key, BOOKING, &hash).await;
            }
            match db::insert_booking(conn, &row).await {
                Ok(()) => {}
                Err(InsertError::Overlap) => {
                    return Err(BookingError::SlotUnavailable(format!("'{}' is already booked during {} – {}", unit.name, b.start, b.end)));
                }
                // Only a series' occurrence key (`KEY#n`) can meet a booking's key here.
                Err(InsertError::KeyTaken) => return Err(BookingError::IdempotencyKeyReused(idempotency_key.to_string())),
                Err(InsertError::Other(e)) => return Err(e),
            }
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::Internal("a new booking vanished".into()))?.0)
        })
        .await
    }

    /// The booking or block a key made, if the key was used before (by a committed request).
    pub(crate) async fn replay(&self, caller: &str, key: &str, operation: &str, hash: &str) -> Result<Option<Booking>> {
        let mut conn = self.pool.get().await?;
        match db::key_use(&mut conn, caller, key).await? {
            Some(used) => replayed(&mut conn, &used, key, operation, hash).await.map(Some),
            None => Ok(None),
        }
    }

    /// One booking.
    pub async fn booking(&self, id: Uuid) -> Result<Booking> {
        let mut conn = self.pool.get().await?;
        Ok(db::booking(&mut conn, id, false).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?.0)
    }

    /// Cancels a booking: a customer until the unit's cancellation deadline, staff at any
    /// time. Cancelling a cancelled booking returns it unchanged.
    pub async fn cancel(&self, id: Uuid, reason: &str, by_staff: bool) -> Result<Booking> {
        if reason.chars().count() > 1000 {
            return Err(BookingError::invalid("reason", "at most 1,000 characters"));
        }
        let mut v = Vec::new();
        check_text(&mut v, "reason", reason);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        if by_staff && reason.trim().is_empty() {
            return Err(BookingError::invalid("reason", "staff give a reason when they cancel"));
        }
        let reason = reason.trim().to_string();
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        conn.transaction(async move |conn| {
            db::set_actor(conn, if by_staff { Actor::Staff } else { Actor::Customer }).await?;
            let (b, _) = db::booking(conn, id, true).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
            match b.status {
                BookingStatus::Cancelled => return Ok(b),
                BookingStatus::Rejected => return Err(BookingError::IllegalTransition { from: "rejected", action: "cancelled" }),
                _ => {}
            }
            if !by_staff {
                let unit = db::all_units(conn).await?.into_iter().find(|u| u.id == b.unit_id);
                let hours = unit.map_or(0, |u| u.rules.cancel_hours);
                if now > b.start - Duration::hours(i64::from(hours)) {
                    return Err(BookingError::CancellationDeadlinePassed(format!(
                        "customers cancel at least {hours} hours before the start; ask the municipality's staff"
                    )));
                }
            }
            db::set_status(conn, id, BookingStatus::Cancelled, None, Some(reason.as_str()).filter(|r| !r.is_empty())).await.map_err(
                |e| match e {
                    InsertError::Other(e) => e,
                    _ => BookingError::Internal("cancelling cannot overlap".into()),
                },
            )?;
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?.0)
        })
        .await
    }

    /// A case officer's decision on a pending request (approve, reject, or ask for completion,
    /// the last two with a message to the customer). Approving two overlapping requests: the
    /// second finds the time taken.
    pub async fn decide(&self, id: Uuid, decision: Decision, message: &str) -> Result<Booking> {
        let message = message.trim().to_string();
        if decision != Decision::Approve && message.is_empty() {
            return Err(BookingError::invalid("message", "tell the customer why, or what to complete"));
        }
        if message.chars().count() > 2000 {
            return Err(BookingError::invalid("message", "at most 2,000 characters"));
        }
        let mut v = Vec::new();
        check_text(&mut v, "message", &message);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let mut conn = self.pool.get().await?;
        conn.transaction(async move |conn| {
            db::set_actor(conn, Actor::Staff).await?;
            let (b, _) = db::booking(conn, id, true).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
            let action = match decision {
                Decision::Approve => "approved",
                Decision::Reject => "rejected",
                Decision::RequestCompletion => "sent back for completion",
            };
            if b.status != BookingStatus::Pending {
                return Err(BookingError::IllegalTransition { from: b.status.as_str(), action });
            }
            if decision == Decision::Approve {
                db::lock_unit(conn, b.unit_id).await?;
            }
            let status = match decision {
                Decision::Approve => BookingStatus::Confirmed,
                Decision::Reject => BookingStatus::Rejected,
                Decision::RequestCompletion => BookingStatus::NeedsCompletion,
            };
            match db::set_status(conn, id, status, Some(message.as_str()).filter(|m| !m.is_empty()), None).await {
                Ok(()) => {}
                Err(InsertError::Overlap) => {
                    return Err(BookingError::SlotUnavailable(format!(
                        "the time {} – {} is already booked; reject this request or offer another time",
                        b.start, b.end
                    )));
                }
                Err(InsertError::KeyTaken) => return Err(BookingError::Internal("a decision cannot reuse a key".into())),
                Err(InsertError::Other(e)) => return Err(e),
            }
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?.0)
        })
        .await
    }

    /// The customer completes a request that was sent back: it is pending again, with their
    /// answer (optional here; vendor.v1.1 `CompleteRequest` requires one).
    pub async fn resubmit(&self, id: Uuid, answer: &str) -> Result<Booking> {
        let answer = answer.trim().to_string();
        let mut v = Vec::new();
        if answer.chars().count() > 2000 {
            v.push(Violation { field: "message".into(), message: "at most 2,000 characters".into() });
        }
        check_text(&mut v, "message", &answer);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let mut conn = self.pool.get().await?;
        conn.transaction(async move |conn| {
            db::set_actor(conn, Actor::Customer).await?;
            let (b, _) = db::booking(conn, id, true).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
            if b.status != BookingStatus::NeedsCompletion {
                return Err(BookingError::IllegalTransition { from: b.status.as_str(), action: "resubmitted" });
            }
            if !answer.is_empty() {
                db::set_customer_message(conn, id, &answer).await?;
            }
            db::set_status(conn, id, BookingStatus::Pending, None, None).await.map_err(|e| match e {
                InsertError::Other(e) => e,
                _ => BookingError::Internal("a pending request does not hold time".into()),
            })?;
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?.0)
        })
        .await
    }

    /// A booking's status history, oldest first.
    pub async fn history(&self, id: Uuid) -> Result<Vec<StatusChange>> {
        let mut conn = self.pool.get().await?;
        Ok(db::history(&mut conn, &[id]).await?.into_iter().map(|(_, c)| c).collect())
    }

    /// `caller`'s bookings of some customer references overlapping `[from, to)`, by start then
    /// id, a page at a time: the page and the token of the next (none on the last page).
    pub async fn list_bookings(
        &self,
        caller: &str,
        refs: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Booking>, Option<String>)> {
        let mut v = Vec::new();
        let distinct: std::collections::BTreeSet<&String> = refs.iter().collect();
        if refs.is_empty() || refs.len() > MAX_LIST_REFS || distinct.len() != refs.len() || !refs.iter().all(|r| is_unit_ref(r)) {
            v.push(Violation {
                field: "customerReferences".into(),
                message: format!("1 to {MAX_LIST_REFS} distinct references of 1 to 100 letters, digits, _ . : -"),
            });
        }
        if to <= from || to - from > MAX_LIST_WINDOW {
            v.push(Violation { field: "end".into(), message: "after start, at most 400 days later".into() });
        }
        if !(0..=500).contains(&page_size) {
            v.push(Violation { field: "pageSize".into(), message: "0 to 500 (0: 100)".into() });
        }
        let after = if page_token.is_empty() {
            None
        } else {
            match page_token
                .split_once('_')
                .and_then(|(t, id)| Some((DateTime::from_timestamp_micros(t.parse().ok()?)?, Uuid::parse_str(id).ok()?)))
            {
                Some(a) => Some(a),
                None => {
                    v.push(Violation { field: "pageToken".into(), message: "not a token this backend gave".into() });
                    None
                }
            }
        };
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let limit = if page_size == 0 { 100 } else { i64::from(page_size) };
        let mut conn = self.pool.get().await?;
        let mut page = db::bookings_of(&mut conn, caller, Some(refs), from, to, after, limit + 1).await?;
        let next = if page.len() as i64 > limit {
            page.truncate(limit as usize);
            page.last().map(|b| format!("{}_{}", b.start.timestamp_micros(), b.id))
        } else {
            None
        };
        Ok((page, next))
    }

    /// What changed in `caller`'s bookings after `cursor` (empty: from the oldest change kept),
    /// oldest first, with each booking as it stands now; and the cursor to send next.
    pub async fn changes(&self, caller: &str, cursor: &str, page_size: i32) -> Result<(Vec<(Booking, StatusChange)>, String)> {
        let mut v = Vec::new();
        let after = if cursor.is_empty() {
            0
        } else {
            cursor.strip_prefix("c").and_then(|c| c.parse::<i64>().ok()).filter(|c| *c >= 0).unwrap_or_else(|| {
                v.push(Violation { field: "cursor".into(), message: "not a cursor this backend gave".into() });
                0
            })
        };
        if !(0..=1000).contains(&page_size) {
            v.push(Violation { field: "pageSize".into(), message: "0 to 1000 (0: 100)".into() });
        }
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let limit = if page_size == 0 { 100 } else { i64::from(page_size) };
        let mut conn = self.pool.get().await?;
        let (changes, next) = db::changes(&mut conn, caller, after, limit).await?;
        let mut out = Vec::with_capacity(changes.len());
        for (id, c) in changes {
            if let Some((b, _)) = db::booking(&mut conn, id, false).await? {
                out.push((b, c));
            }
        }
        Ok((out, format!("c{next}")))
    }

    /// Moves `caller`'s booking to `[start, end)` on `unit_ref` (the same unit when empty),
    /// atomically: the old time is given up only if the new one is booked. The unit's rules
    /// hold for the new time, and the customer's cancellation deadline for the old one. The
    /// same key with the same move answers the booking as it stands; with another, an error.
    pub async fn move_booking(
        &self,
        caller: &str,
        idempotency_key: &str,
        id: Uuid,
        unit_ref: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Booking> {
        let mut v = Vec::new();
        check_key(&mut v, idempotency_key, 100);
        if end <= start {
            v.push(Violation { field: "end".into(), message: "must be after start".into() });
        }
        if !unit_ref.is_empty() {
            check_ref(&mut v, "unitRef", unit_ref);
        }
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let hash = {
            let json = serde_json::json!({"bookingId": id, "unitRef": unit_ref, "start": start, "end": end});
            Sha256::digest(json.to_string().as_bytes()).iter().map(|x| format!("{x:02x}")).collect::<String>()
        };
        if let Some(found) = self.replay(caller, idempotency_key, MOVE, &hash).await? {
            return Ok(found);
        }
        // Another caller's booking does not exist for this one.
        let (current, _) = {
            let mut conn = self.pool.get().await?;
            db::booking(&mut conn, id, false).await?
        }
        .filter(|(b, _)| b.created_by == caller && b.kind != Kind::Block)
        .ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
        let target_ref = if unit_ref.is_empty() { current.unit_ref.clone() } else { unit_ref.to_string() };
        let unit = {
            let mut conn = self.pool.get().await?;
            db::units_by_ref(&mut conn, std::slice::from_ref(&target_ref)).await?.pop()
        }
        .ok_or_else(|| BookingError::UnknownUnit(target_ref.clone()))?;
        let hours = self.hours.of(&self.pool, std::slice::from_ref(&unit)).await?;
        let h = hours.get(&unit.id).ok_or_else(|| {
            BookingError::Unavailable(format!("the opening hours of '{}' have not been read from the registry yet", unit.name))
        })?;
        let now = self.clock.now();
        check_rules(&unit, h, start, end, now)?;
        let customer_type = current.customer_type.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
        let price = unit.rules.prices.get(&customer_type).cloned();
        let amount = price.as_ref().map(|p| p.amount_minor * (end - start).num_minutes() / 60);
        let old_unit = {
            let mut conn = self.pool.get().await?;
            db::all_units(&mut conn).await?.into_iter().find(|u| u.id == current.unit_id)
        };
        let cancel_hours = old_unit.map_or(0, |u| u.rules.cancel_hours);
        let mut conn = self.pool.get().await?;
        conn.transaction(async move |conn| {
            db::set_actor(conn, Actor::Customer).await?;
            if let Claim::Taken(used) = db::claim_key(conn, caller, idempotency_key, MOVE, &hash, Some(id)).await? {
                return replayed(conn, &used, idempotency_key, MOVE, &hash).await;
            }
            let (b, _) = db::booking(conn, id, true).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?;
            match b.status {
                BookingStatus::Confirmed | BookingStatus::Pending => {}
                other => return Err(BookingError::IllegalTransition { from: other.as_str(), action: "moved" }),
            }
            if now > b.start - Duration::hours(i64::from(cancel_hours)) {
                return Err(BookingError::CancellationDeadlinePassed(format!(
                    "a booking is moved like it is cancelled: at least {cancel_hours} hours before its start; ask the municipality's staff"
                )));
            }
            if b.status == BookingStatus::Confirmed && !unit.rules.direct_types.contains(&customer_type) {
                return Err(BookingError::BookingRule(format!(
                    "a customer of type {} sends a booking request for '{}' instead of moving a confirmed booking there",
                    customer_type.as_str(),
                    unit.name
                )));
            }
            if b.status == BookingStatus::Confirmed {
                db::lock_unit(conn, unit.id).await?;
            }
            match db::move_booking(conn, id, unit.id, start, end, price.as_ref(), amount).await {
                Ok(()) => {}
                Err(InsertError::Overlap) => {
                    return Err(BookingError::SlotUnavailable(format!(
                        "'{}' is already booked during {start} – {end}; the booking keeps its time",
                        unit.name
                    )));
                }
                Err(InsertError::KeyTaken) => return Err(BookingError::Internal("a move cannot reuse a key".into())),
                Err(InsertError::Other(e)) => return Err(e),
            }
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::UnknownBooking(id.to_string()))?.0)
        })
        .await
    }

    /// The case officer's inbox: booking requests waiting (`pending`, and with
    /// `include_completion` those sent back for completion too), oldest first, filtered by
    /// municipality, the registry's facility and the unit; a page and the token of the next.
    pub async fn inbox(&self, filter: &InboxFilter, page_size: i32, page_token: &str) -> Result<(Vec<Booking>, Option<String>)> {
        let mut v = Vec::new();
        if let Some(m) = &filter.municipality
            && registry_core::codes::municipality(m).is_none()
        {
            v.push(Violation { field: "municipality".into(), message: "a municipality code (kommunkod), e.g. 1881".into() });
        }
        if let Some(r) = &filter.unit_ref {
            check_ref(&mut v, "unitRef", r);
        }
        let (limit, after) = page(&mut v, page_size, page_token);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let statuses: &[&str] = if filter.include_completion { &["pending", "needs_completion"] } else { &["pending"] };
        let mut conn = self.pool.get().await?;
        let mut rows = db::requests(
            &mut conn,
            statuses,
            filter.municipality.as_deref(),
            filter.facility,
            filter.unit_ref.as_deref(),
            after,
            limit + 1,
        )
        .await?;
        let next = next_token(&mut rows, limit, |b| (b.created_at, b.id));
        Ok((rows, next))
    }

    /// A customer's own bookings overlapping `[from, to)` (at most 400 days), by start; a page
    /// and the token of the next.
    pub async fn bookings_of(
        &self,
        caller: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Booking>, Option<String>)> {
        let mut v = Vec::new();
        if to <= from || to - from > MAX_LIST_WINDOW {
            v.push(Violation { field: "to".into(), message: "after from, at most 400 days later".into() });
        }
        let (limit, after) = page(&mut v, page_size, page_token);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let mut conn = self.pool.get().await?;
        let mut rows = db::bookings_of(&mut conn, caller, None, from, to, after, limit + 1).await?;
        let next = next_token(&mut rows, limit, |b| (b.start, b.id));
        Ok((rows, next))
    }
}

/// What the case officer's inbox shows.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Only units in this municipality.
    pub municipality: Option<String>,
    /// Only units of this registry facility.
    pub facility: Option<Uuid>,
    /// Only this unit.
    pub unit_ref: Option<String>,
    /// Requests sent back for completion too.
    pub include_completion: bool,
}

/// A page size (1–500; 0: 100) and the position a page token names.
fn page(v: &mut Vec<Violation>, page_size: i32, page_token: &str) -> (i64, Option<(DateTime<Utc>, Uuid)>) {
    if !(0..=500).contains(&page_size) {
        v.push(Violation { field: "pageSize".into(), message: "0 to 500 (0: 100)".into() });
    }
    let after = if page_token.is_empty() {
        None
    } else {
        let parsed = page_token
            .split_once('_')
            .and_then(|(t, id)| Some((DateTime::from_timestamp_micros(t.parse().ok()?)?, Uuid::parse_str(id).ok()?)));
        if parsed.is_none() {
            v.push(Violation { field: "pageToken".into(), message: "not a token this backend gave".into() });
        }
        parsed
    };
    (if page_size == 0 { 100 } else { i64::from(page_size.clamp(1, 500)) }, after)
}

/// Cuts `rows` (one more than `limit` asked) to the page, and the token of the next page.
fn next_token(rows: &mut Vec<Booking>, limit: i64, key: impl Fn(&Booking) -> (DateTime<Utc>, Uuid)) -> Option<String> {
    if rows.len() as i64 <= limit {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|b| {
        let (t, id) = key(b);
        format!("{}_{id}", t.timestamp_micros())
    })
}
