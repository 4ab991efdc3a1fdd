//! Recurring bookings (an association's training time: the same weekday and local time every
//! week of a season), blocks (maintenance, events), and the caretaker list (vaktmästarlista).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{self, Claim, InsertError, KeyUse, NewBooking};
use crate::error::{BookingError, Result, Violation};
use crate::model::{Actor, Booking, BookingStatus, Customer, CustomerType, Kind, PaymentMethod};
use crate::service::{BLOCK, Backend, Mode, SERIES, check_customer, check_key, check_ref, check_rules, check_text, replayed, same_request};

/// Longest season of one series.
pub const MAX_WEEKS: i64 = 53;
/// Excluded dates per series.
pub const MAX_EXCLUDED: usize = 400;

/// A weekly series as asked for: from `first_date` to `last_date` (inclusive), on the first
/// date's weekday, `from`–`to` local time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeriesInput {
    /// The unit's reference.
    pub unit_ref: String,
    /// The first occurrence's date.
    pub first_date: NaiveDate,
    /// The season's last date.
    pub last_date: NaiveDate,
    /// Local start time, `HH:MM:SS`.
    #[schema(value_type = String, example = "18:00:00")]
    pub from: NaiveTime,
    /// Local end time (same day), `HH:MM:SS`.
    #[schema(value_type = String, example = "20:00:00")]
    pub to: NaiveTime,
    /// Direct or request.
    pub mode: Mode,
    /// Who books.
    pub customer_type: CustomerType,
    /// The customer.
    pub customer: Customer,
    /// What for.
    #[serde(default)]
    pub activity: String,
    /// How it is paid.
    pub payment_method: PaymentMethod,
    /// All or nothing (true), or every occurrence that fits (false).
    #[serde(default)]
    pub atomic: bool,
    /// Local dates with no occurrence (holidays, breaks in the season): reported excluded and
    /// not booked. Dates that are no occurrence's are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_dates: Vec<NaiveDate>,
    /// To the case officer (booking requests), kept with each occurrence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The caller's reference of the customer (vendor.v1.1 `Customer.reference`; not taken
    /// over REST). Left out of the request's hash when absent, like the two below.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub customer_ref: Option<String>,
    /// Whether the caller verified the association (vendor.v1.1; not taken over REST).
    #[serde(skip_deserializing, skip_serializing_if = "std::ops::Not::not")]
    #[schema(ignore)]
    pub association_verified: bool,
}

/// What became of one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Occurrence {
    /// Booked (or, for an atomic series that failed, would have been).
    Created {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
        /// The booking (none when an atomic series was not created).
        booking_id: Option<Uuid>,
    },
    /// The time is taken.
    Conflict {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
        /// By what.
        reason: String,
    },
    /// A rule is broken (e.g. closed that day: a holiday).
    Rule {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
        /// Which.
        reason: String,
    },
    /// One of the excluded dates: not booked, and no failure.
    Excluded {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
}

impl Occurrence {
    /// Its start.
    pub fn start(&self) -> DateTime<Utc> {
        match self {
            Occurrence::Created { start, .. }
            | Occurrence::Conflict { start, .. }
            | Occurrence::Rule { start, .. }
            | Occurrence::Excluded { start, .. } => *start,
        }
    }

    /// Its end.
    pub fn end(&self) -> DateTime<Utc> {
        match self {
            Occurrence::Created { end, .. }
            | Occurrence::Conflict { end, .. }
            | Occurrence::Rule { end, .. }
            | Occurrence::Excluded { end, .. } => *end,
        }
    }

    /// Whether it fails the series (a conflict or a rule; excluded weeks do not).
    pub fn failed(&self) -> bool {
        matches!(self, Occurrence::Conflict { .. } | Occurrence::Rule { .. })
    }
}

/// The outcome of a series.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesReport {
    /// The series' id (shared by its bookings); none when nothing was created.
    pub series_id: Option<Uuid>,
    /// Whether anything was created.
    pub created: bool,
    /// Per week, in order.
    pub occurrences: Vec<Occurrence>,
}

/// A local date and time in Stockholm as an instant (the later one in the autumn night's
/// repeated hour, the first valid one in the spring night's gap).
fn instant(date: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(t);
    match Stockholm.from_local_datetime(&naive) {
        chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(_, later) => later.with_timezone(&Utc),
        chrono::LocalResult::None => Stockholm
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |x| x.with_timezone(&Utc)),
    }
}

/// The answer a series key was first given, when the request is the same. Series made before
/// answers were kept are answered with their bookings.
async fn replayed_series(conn: &mut AsyncPgConnection, used: &KeyUse, key: &str, hash: &str) -> Result<SeriesReport> {
    same_request(used, key, SERIES, hash)?;
    if let Some(answer) = &used.answer {
        return serde_json::from_value(answer.clone()).map_err(|e| BookingError::Internal(format!("a stored series answer: {e}")));
    }
    let series_id = used.series_id.ok_or_else(|| BookingError::Internal("a series key without its series".into()))?;
    let all = db::series(conn, series_id).await?;
    let occurrences = all.iter().map(|b| Occurrence::Created { start: b.start, end: b.end, booking_id: Some(b.id) }).collect();
    Ok(SeriesReport { series_id: Some(series_id), created: true, occurrences })
}

/// An entry of the caretaker list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaretakerEntry {
    /// The unit.
    pub unit_ref: String,
    /// Its name.
    pub unit_name: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Booking or block.
    pub kind: Kind,
    /// The customer's name (none for blocks).
    pub customer_name: Option<String>,
    /// The block's reason.
    pub note: Option<String>,
    /// The code for the lock.
    pub access_code: Option<String>,
}

impl Backend {
    /// Books a weekly series. Atomic: every occurrence or none, with the report saying which
    /// failed and why. Otherwise: every occurrence that fits, and the report says which did
    /// not. Excluded dates are skipped either way. The idempotency key stands for the whole
    /// series (vendor.v1.1 `CreateSeries`, docs/vendor-protocol.md §18).
    pub async fn create_series(&self, caller: &str, idempotency_key: &str, s: &SeriesInput) -> Result<SeriesReport> {
        let mut v = Vec::new();
        check_key(&mut v, idempotency_key, 100);
        if s.last_date < s.first_date || s.last_date - s.first_date > Duration::weeks(MAX_WEEKS) {
            v.push(Violation { field: "lastDate".into(), message: format!("on or after firstDate, at most {MAX_WEEKS} weeks later") });
        }
        if s.to <= s.from {
            v.push(Violation { field: "to".into(), message: "after from, on the same day".into() });
        }
        check_customer(&mut v, s.customer_type, &s.customer);
        check_ref(&mut v, "unitRef", &s.unit_ref);
        if s.activity.chars().count() > 100 {
            v.push(Violation { field: "activity".into(), message: "at most 100 characters".into() });
        }
        check_text(&mut v, "activity", &s.activity);
        if s.excluded_dates.len() > MAX_EXCLUDED {
            v.push(Violation { field: "excludedDates".into(), message: format!("at most {MAX_EXCLUDED} dates") });
        }
        if s.message.chars().count() > 2000 {
            v.push(Violation { field: "message".into(), message: "at most 2,000 characters".into() });
        }
        check_text(&mut v, "message", &s.message);
        if let Some(r) = &s.customer_ref
            && (!crate::service::is_unit_ref(r) || r.len() > 100)
        {
            v.push(Violation { field: "customer.reference".into(), message: "1 to 100 letters, digits, _ . : -".into() });
        }
        if s.association_verified && s.customer_type != CustomerType::Association {
            v.push(Violation { field: "customer.associationVerified".into(), message: "only an association is verified".into() });
        }
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let hash: String = {
            let json = serde_json::to_vec(s).map_err(|e| BookingError::Internal(e.to_string()))?;
            Sha256::digest(&json).iter().map(|x| format!("{x:02x}")).collect()
        };
        // A retry of a series that has been answered gets its first answer, whatever has
        // changed since. (One still running is met below, at the claim.)
        {
            let mut conn = self.pool().get().await?;
            if let Some(used) = db::key_use(&mut conn, caller, idempotency_key).await? {
                return replayed_series(&mut conn, &used, idempotency_key, &hash).await;
            }
        }
        let unit = {
            let mut conn = self.pool().get().await?;
            db::units_by_ref(&mut conn, std::slice::from_ref(&s.unit_ref)).await?.pop()
        }
        .ok_or_else(|| BookingError::UnknownUnit(s.unit_ref.clone()))?;
        let r = &unit.rules;
        let (kind, status) = match s.mode {
            Mode::Direct if r.direct_types.contains(&s.customer_type) => (Kind::Direct, BookingStatus::Confirmed),
            Mode::Request if r.direct_types.contains(&s.customer_type) || r.request_types.contains(&s.customer_type) => {
                (Kind::Request, BookingStatus::Pending)
            }
            _ => {
                return Err(BookingError::BookingRule(format!(
                    "customers of type {} do not book '{}' this way",
                    s.customer_type.as_str(),
                    unit.name
                )));
            }
        };
        let hours = self.hours().of(self.pool(), std::slice::from_ref(&unit)).await?;
        let hours = hours
            .get(&unit.id)
            .ok_or_else(|| BookingError::Unavailable(format!("the opening hours of '{}' have not been read yet", unit.name)))?
            .clone();
        // Each week's time, and whether its date is excluded.
        let weeks: Vec<(DateTime<Utc>, DateTime<Utc>, bool)> = (0..=MAX_WEEKS)
            .map(|w| s.first_date + Duration::weeks(w))
            .take_while(|d| *d <= s.last_date)
            .filter(|d| d.weekday() == s.first_date.weekday())
            .map(|d| (instant(d, s.from), instant(d, s.to), s.excluded_dates.contains(&d)))
            .collect();
        let now = self.clock().now();
        let series_id = Uuid::now_v7();
        let caller = caller.to_string();
        let key = idempotency_key.to_string();
        let s = s.clone();
        let mut conn = self.pool().get().await?;
        conn.transaction(async move |conn| {
            db::set_actor(conn, Actor::Customer).await?;
            // The key first, then the unit: a concurrent retry waits here until this
            // transaction ends and then answers as it was answered.
            if let Claim::Taken(used) = db::claim_key(conn, &caller, &key, SERIES, &hash, None).await? {
                return replayed_series(conn, &used, &key, &hash).await;
            }
            // Every writer of time-holding bookings of the unit queues here, so what is busy now
            // stays busy (and free stays free) until this transaction ends.
            db::lock_unit(conn, unit.id).await?;
            let (from, to) = (weeks.first().map_or(now, |w| w.0), weeks.last().map_or(now, |w| w.1));
            let busy: Vec<Booking> =
                db::busy(conn, &[unit.id], from, to).await?.into_iter().filter(|b| b.status == BookingStatus::Confirmed).collect();
            let mut occurrences = Vec::new();
            for (start, end, excluded) in &weeks {
                let (start, end) = (*start, *end);
                if *excluded {
                    occurrences.push(Occurrence::Excluded { start, end });
                } else if let Err(e) = check_rules(&unit, &hours, start, end, now) {
                    occurrences.push(Occurrence::Rule { start, end, reason: e.to_string() });
                } else if let Some(b) = busy.iter().find(|b| b.start < end && start < b.end) {
                    let what = if b.kind == Kind::Block { "a block" } else { "another booking" };
                    occurrences.push(Occurrence::Conflict { start, end, reason: format!("taken by {what} {} – {}", b.start, b.end) });
                } else {
                    occurrences.push(Occurrence::Created { start, end, booking_id: None });
                }
            }
            let failed = occurrences.iter().any(Occurrence::failed);
            if (s.atomic && failed) || !occurrences.iter().any(|o| matches!(o, Occurrence::Created { .. })) {
                // Nothing was made: the key is free again, and a retry is asked afresh.
                db::release_key(conn, &caller, &key).await?;
                return Ok(SeriesReport { series_id: None, created: false, occurrences });
            }
            let price = unit.rules.prices.get(&s.customer_type).cloned();
            for o in occurrences.iter_mut() {
                let Occurrence::Created { start, end, booking_id } = o else { continue };
                let id = Uuid::now_v7();
                let code = crate::service::access_code()?;
                // The series' key (claimed above) answers a retry; its bookings carry none.
                let row = NewBooking {
                    id,
                    unit_id: unit.id,
                    start: *start,
                    end: *end,
                    kind,
                    status,
                    customer_type: Some(s.customer_type),
                    customer: Some(&s.customer),
                    activity: Some(s.activity.as_str()).filter(|a| !a.is_empty()),
                    participants: None,
                    customer_message: Some(s.message.as_str()).filter(|m| !m.is_empty()),
                    status_message: None,
                    price: price.as_ref(),
                    amount_minor: price.as_ref().map(|p| p.amount_minor * (*end - *start).num_minutes() / 60),
                    payment_method: Some(s.payment_method),
                    access_code: Some(&code),
                    series_id: Some(series_id),
                    created_by: &caller,
                    idempotency: None,
                    customer_ref: s.customer_ref.as_deref(),
                    association_verified: s.association_verified,
                };
                match db::insert_booking(conn, &row).await {
                    Ok(()) => *booking_id = Some(id),
                    // Checked under the unit's lock above: only a bug gets here.
                    Err(InsertError::Overlap) => return Err(BookingError::Internal("an occurrence overlapped after the check".into())),
                    Err(InsertError::KeyTaken) => return Err(BookingError::IdempotencyKeyReused(key.clone())),
                    Err(InsertError::Other(e)) => return Err(e),
                }
            }
            let report = SeriesReport { series_id: Some(series_id), created: true, occurrences };
            let answer = serde_json::to_value(&report).map_err(|e| BookingError::Internal(e.to_string()))?;
            db::record_series(conn, &caller, &key, Some(series_id), &answer).await?;
            Ok(report)
        })
        .await
    }

    /// Blocks a unit's time (maintenance, an event): staff only. Refused where a confirmed
    /// booking holds the time (cancel it first). The same key and block return the first
    /// answer; the key with another block is refused.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_block(
        &self,
        caller: &str,
        idempotency_key: &str,
        unit_ref: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: &str,
    ) -> Result<Booking> {
        if end <= start {
            return Err(BookingError::invalid("end", "must be after start"));
        }
        if reason.trim().is_empty() || reason.chars().count() > 500 {
            return Err(BookingError::invalid("reason", "required: 1 to 500 characters"));
        }
        let mut v = Vec::new();
        check_ref(&mut v, "unitRef", unit_ref);
        check_text(&mut v, "reason", reason);
        check_key(&mut v, idempotency_key, 100);
        if !v.is_empty() {
            return Err(BookingError::Invalid(v));
        }
        let hash: String = {
            let asked = serde_json::json!({"block": unit_ref, "start": start, "end": end, "reason": reason.trim()});
            Sha256::digest(asked.to_string().as_bytes()).iter().map(|x| format!("{x:02x}")).collect()
        };
        if let Some(found) = self.replay(caller, idempotency_key, BLOCK, &hash).await? {
            return Ok(found);
        }
        let unit = {
            let mut conn = self.pool().get().await?;
            db::units_by_ref(&mut conn, &[unit_ref.to_string()]).await?.pop()
        }
        .ok_or_else(|| BookingError::UnknownUnit(unit_ref.into()))?;
        let id = Uuid::now_v7();
        let row = NewBooking {
            id,
            unit_id: unit.id,
            start,
            end,
            kind: Kind::Block,
            status: BookingStatus::Confirmed,
            customer_type: None,
            customer: None,
            activity: None,
            participants: None,
            customer_message: None,
            status_message: Some(reason.trim()),
            price: None,
            amount_minor: None,
            payment_method: None,
            access_code: None,
            series_id: None,
            created_by: caller,
            idempotency: Some((idempotency_key, &hash)),
            customer_ref: None,
            association_verified: false,
        };
        let mut conn = self.pool().get().await?;
        conn.transaction(async |conn| {
            // The key first: a concurrent retry waits here, then answers with this block.
            if let Claim::Taken(used) = db::claim_key(conn, caller, idempotency_key, BLOCK, &hash, Some(id)).await? {
                return replayed(conn, &used, idempotency_key, BLOCK, &hash).await;
            }
            match db::insert_booking(conn, &row).await {
                Ok(()) => {}
                Err(InsertError::Overlap) => {
                    return Err(BookingError::SlotUnavailable(format!(
                        "a confirmed booking of '{}' overlaps {start} – {end}; cancel it first",
                        unit.name
                    )));
                }
                Err(InsertError::KeyTaken) => return Err(BookingError::IdempotencyKeyReused(idempotency_key.into())),
                Err(InsertError::Other(e)) => return Err(e),
            }
            Ok(db::booking(conn, id, false).await?.ok_or_else(|| BookingError::Internal("a new block vanished".into()))?.0)
        })
        .await
    }

    /// The caretaker list (vaktmästarlista): a facility's confirmed bookings and blocks on a
    /// local date, by start and unit, with customers and access codes.
    pub async fn caretaker_list(&self, registry_facility: Uuid, date: NaiveDate) -> Result<Vec<CaretakerEntry>> {
        let from = instant(date, NaiveTime::MIN);
        let to = instant(date + Duration::days(1), NaiveTime::MIN);
        let mut conn = self.pool().get().await?;
        let units: Vec<_> = db::all_units(&mut conn).await?.into_iter().filter(|u| u.registry_facility_id == registry_facility).collect();
        let ids: Vec<Uuid> = units.iter().map(|u| u.id).collect();
        let mut out: Vec<CaretakerEntry> = db::busy(&mut conn, &ids, from, to)
            .await?
            .into_iter()
            .filter(|b| b.status == BookingStatus::Confirmed)
            .map(|b| CaretakerEntry {
                unit_name: units.iter().find(|u| u.id == b.unit_id).map(|u| u.name.clone()).unwrap_or_default(),
                unit_ref: b.unit_ref,
                start: b.start,
                end: b.end,
                kind: b.kind,
                customer_name: b.customer.map(|c| c.name),
                note: if b.kind == Kind::Block { b.status_message } else { None },
                access_code: b.access_code,
            })
            .collect();
        out.sort_by(|a, b| (a.start, &a.unit_ref).cmp(&(b.start, &b.unit_ref)));
        Ok(out)
    }
}
