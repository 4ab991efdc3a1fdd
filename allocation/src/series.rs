//! The final allocation booked at the vendors: every placed session becomes a weekly series
//! over the season at its unit's vendor (vendor.v1.1 `CreateSeries`, atomic, breaks excluded),
//! in the association's name. Registering the final allocation queues the sessions (an outbox,
//! in the same transaction); [`deliver`] books them at least once (each with an idempotency key
//! of its own, so a retry is the same series), retrying a vendor that cannot be reached with
//! doubling waits. A series the vendor cannot make (a week taken) comes back to staff with the
//! vendor's per-occurrence report; staff resolve it and queue it again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use federation::pb;
use federation::service::Service;
use registry_core::auth::{self, Action, Principal};
use registry_core::{Error, Registry};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{self, SeriesRow};
use crate::model::{Decision, Round, Slot, Team};

type Result<T> = std::result::Result<T, Error>;

/// What became of one session at its vendor.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesStatus {
    /// The application.
    pub application_id: Uuid,
    /// The match request, for a match time (one occasion on `date`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_id: Option<Uuid>,
    /// The match's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<chrono::NaiveDate>,
    /// The wish.
    pub wish: u16,
    /// The session.
    pub session: u16,
    /// The unit.
    pub unit_id: Uuid,
    /// ISO weekday.
    pub day: u8,
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
    /// `pending`, `booked`, `conflict` (the vendor could not make it: see `occurrences`) or
    /// `not_bookable` (the unit has no vendor that takes series; see `message`).
    pub status: String,
    /// The vendor's series id, when booked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_id: Option<String>,
    /// The vendor's report, one entry per week: `{date, outcome, reason}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<serde_json::Value>,
    /// Why not (yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
}

/// The rows to queue when `decisions` become the round's final allocation.
pub(crate) fn queue(round: Uuid, decisions: &[Decision], now: chrono::DateTime<Utc>) -> Vec<SeriesRow> {
    decisions
        .iter()
        .filter_map(|d| {
            d.slot.as_ref().map(|s| SeriesRow {
                round_id: round,
                application_id: d.application_id,
                wish: d.wish as i16,
                session: d.session as i16,
                unit_id: s.unit_id,
                day: i16::from(s.day),
                start_time: s.start.clone(),
                end_time: s.end.clone(),
                status: "pending".into(),
                vendor_id: None,
                series_id: None,
                report: None,
                message: None,
                attempts: 0,
                next_at: now,
                lease_until: None,
                updated_at: now,
                match_id: None,
                match_date: None,
            })
        })
        .collect()
}

/// The rows to queue when matches are decided: each one occasion on its date.
pub(crate) fn queue_matches(round: Uuid, decided: &[(Uuid, Uuid, Slot)], now: chrono::DateTime<Utc>) -> Vec<SeriesRow> {
    decided
        .iter()
        .filter_map(|(id, application, s)| {
            s.date.map(|date| SeriesRow {
                round_id: round,
                application_id: *application,
                wish: 0,
                session: 0,
                unit_id: s.unit_id,
                day: i16::from(s.day),
                start_time: s.start.clone(),
                end_time: s.end.clone(),
                status: "pending".into(),
                vendor_id: None,
                series_id: None,
                report: None,
                message: None,
                attempts: 0,
                next_at: now,
                lease_until: None,
                updated_at: now,
                match_id: Some(*id),
                match_date: Some(date),
            })
        })
        .collect()
}

/// The first date on or after `from` that is ISO weekday `day`.
fn first_on(from: NaiveDate, day: u8) -> NaiveDate {
    let have = from.weekday().number_from_monday() as i64;
    from + Days::days((i64::from(day) - have).rem_euclid(7))
}

/// The session's idempotency key: the same series on every retry, on every replica.
fn key(r: &SeriesRow) -> String {
    let d = Sha256::new()
        .chain_update(b"allocation series v1\0")
        .chain_update(r.round_id.as_bytes())
        .chain_update(r.application_id.as_bytes())
        .chain_update(r.wish.to_be_bytes())
        .chain_update(r.session.to_be_bytes())
        .chain_update(r.match_id.map(|m| *m.as_bytes()).unwrap_or_default())
        .finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("alloc-{hex}")
}

/// The weekly series of one session, as the vendor is asked for it.
fn request(round: &Round, r: &SeriesRow, unit_ref: String, customer: pb::Customer, activity: String) -> pb::CreateSeriesRequest {
    // A match is one occasion on its date; a weekly session runs the season, breaks excluded.
    let first = r.match_date.unwrap_or_else(|| first_on(round.input.season_start, r.day as u8));
    let last = r.match_date.unwrap_or(round.input.season_end);
    let mut excluded = Vec::new();
    for b in round.input.breaks.iter().filter(|_| r.match_date.is_none()) {
        let mut d = first_on(b.from.max(first), r.day as u8);
        while d <= b.to {
            excluded.push(d.format("%Y-%m-%d").to_string());
            d += Days::days(7);
        }
    }
    pb::CreateSeriesRequest {
        idempotency_key: key(r),
        unit_ref,
        first_date: first.format("%Y-%m-%d").to_string(),
        last_date: last.format("%Y-%m-%d").to_string(),
        start_time: r.start_time.clone(),
        end_time: r.end_time.clone(),
        excluded_dates: excluded,
        // As the association's booking requests: the booking office confirms them as it does
        // every association booking (a vendor's rules say who may book directly).
        mode: pb::BookingMode::Request as i32,
        customer: Some(customer),
        activity,
        payment_method: pb::PaymentMethod::Invoice as i32,
        atomic: true,
        message: if r.match_date.is_some() {
            format!("Matchtid: {}", round.input.name)
        } else {
            format!("Säsongsfördelning: {}", round.input.name)
        },
    }
}

fn occurrences(resp: &pb::CreateSeriesResponse) -> serde_json::Value {
    serde_json::Value::Array(
        resp.occurrences
            .iter()
            .map(|o| {
                let outcome = pb::OccurrenceOutcome::try_from(o.outcome)
                    .map_or("unknown".to_string(), |x| x.as_str_name().trim_start_matches("OCCURRENCE_OUTCOME_").to_ascii_lowercase());
                serde_json::json!({"date": o.date, "outcome": outcome, "reason": o.reason, "bookingId": o.booking_id})
            })
            .collect(),
    )
}

/// Books one claimed session; returns its new status.
async fn book_one(registry: &Registry, federation: &Service, rounds: &mut BTreeMap<Uuid, Round>, r: &SeriesRow) -> Result<&'static str> {
    use registry_core::db::schema::facility_units;
    let system = Principal::system("system:allocation");
    let now = registry.now();
    let mut conn = registry.pool().get().await?;
    let round = match rounds.entry(r.round_id) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => {
            let row = db::round(&mut conn, r.round_id, false)
                .await?
                .ok_or_else(|| Error::Internal("a queued session without its round".into()))?;
            v.insert(crate::service::round_of(&row)?)
        }
    };
    let facility: Uuid = facility_units::table.find(r.unit_id).select(facility_units::facility_id).first(&mut conn).await?;
    let app = db::application(&mut conn, r.application_id)
        .await?
        .ok_or_else(|| Error::Internal("a queued session without its application".into()))?;
    let association = registry_core::db::associations::load(&mut conn, app.association_id, false).await?;
    drop(conn);
    let settle = async |status: &'static str,
                        vendor: Option<Uuid>,
                        series: Option<String>,
                        report: Option<serde_json::Value>,
                        message: Option<String>,
                        next: chrono::DateTime<Utc>|
           -> Result<&'static str> {
        let mut conn = registry.pool().get().await?;
        db::settle_series(&mut conn, r, status, vendor, series, report, message, next, now).await?;
        Ok(status)
    };
    let Some(association) = association else {
        return settle("not_bookable", None, None, None, Some("the association no longer exists".into()), now).await;
    };
    let mapping = registry.vendor_units(&system, &[facility]).await?;
    let Some(m) = mapping.into_iter().find(|m| m.unit_id == r.unit_id) else {
        return settle(
            "not_bookable",
            None,
            None,
            None,
            Some("the unit is not booked through a booking system connected to the registry".into()),
            now,
        )
        .await;
    };
    let vendor = registry.get_vendor(&system, m.vendor_id).await?;
    let team: Team = serde_json::from_value(app.team.clone()).map_err(|e| Error::Internal(format!("a stored team: {e}")))?;
    let customer = pb::Customer {
        r#type: pb::CustomerType::Association as i32,
        name: association.name.clone(),
        email: association.contact.email.clone().unwrap_or_default(),
        phone: association.contact.phone.clone().unwrap_or_default(),
        org_number: association.org_number.clone(),
        reference: registry.association_reference(vendor.id, association.id),
        association_verified: true,
    };
    let req = request(round, r, m.external_ref, customer, team.activity);
    match federation.create_series_at(&vendor, req).await {
        Ok(resp) if resp.created => {
            settle("booked", Some(vendor.id), Some(resp.series_id.clone()), Some(occurrences(&resp)), None, now).await
        }
        Ok(resp) => {
            let taken = resp
                .occurrences
                .iter()
                .filter(|o| o.outcome == pb::OccurrenceOutcome::Conflict as i32 || o.outcome == pb::OccurrenceOutcome::Rule as i32)
                .count();
            let msg = match r.match_date {
                Some(d) => format!("{} could not book the match on {d}: the time is taken or against its rules", vendor.name),
                None => format!(
                    "{} could not book the series: {taken} of {} weeks are taken or against its rules",
                    vendor.name,
                    resp.occurrences.len()
                ),
            };
            settle("conflict", Some(vendor.id), None, Some(occurrences(&resp)), Some(msg), now).await
        }
        Err(Error::Unavailable(why)) | Err(Error::Internal(why)) => {
            // The vendor could not be reached: again later, waiting twice as long each time
            // (30 s, 1 min, … at most an hour).
            let wait = Days::seconds((30i64 << r.attempts.clamp(0, 7)).min(3600));
            settle("pending", Some(vendor.id), None, None, Some(why), now + wait).await
        }
        Err(e) => settle("not_bookable", Some(vendor.id), None, None, Some(e.to_string()), now).await,
    }
}

/// Books the sessions that are due, up to `batch`; how many were handled.
pub async fn book_due(registry: &Registry, federation: &Service, batch: i64) -> Result<usize> {
    let mut conn = registry.pool().get().await?;
    let due = db::claim_series(&mut conn, registry.now(), Days::minutes(5), batch).await?;
    drop(conn);
    let mut rounds = BTreeMap::new();
    for r in &due {
        if let Err(e) = book_one(registry, federation, &mut rounds, r).await {
            tracing::warn!(error = %e, round = %r.round_id, "allocation: booking a series failed; it is tried again after its lease");
        }
    }
    Ok(due.len())
}

/// Books queued sessions every `interval`, until the task is dropped.
pub async fn deliver(registry: Registry, federation: std::sync::Arc<Service>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match book_due(&registry, &federation, 20).await {
                Ok(20) => continue,
                Ok(0) => break,
                Ok(n) => {
                    tracing::info!(sessions = n, "allocation: series booked at the vendors");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "allocation: booking series failed");
                    break;
                }
            }
        }
    }
}

impl crate::Allocations {
    /// What became of the final allocation at the vendors, session by session (staff).
    pub async fn series(&self, p: &Principal, round_id: Uuid) -> Result<Vec<SeriesStatus>> {
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let mut conn = self.registry().pool().get().await?;
        Ok(db::series_of(&mut conn, round_id)
            .await?
            .into_iter()
            .map(|r| SeriesStatus {
                application_id: r.application_id,
                match_id: r.match_id,
                date: r.match_date,
                wish: r.wish as u16,
                session: r.session as u16,
                unit_id: r.unit_id,
                day: r.day as u8,
                start: r.start_time,
                end: r.end_time,
                status: r.status,
                series_id: r.series_id,
                occurrences: r.report.and_then(|v| v.as_array().cloned()).unwrap_or_default(),
                message: r.message,
                attempts: r.attempts,
            })
            .collect())
    }

    /// Queues the round's conflicts and refusals again, once staff have resolved them (staff);
    /// how many.
    pub async fn retry_series(&self, p: &Principal, round_id: Uuid) -> Result<usize> {
        auth::require_key(p, "booking an allocation again")?;
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let mut conn = self.registry().pool().get().await?;
        Ok(db::requeue_series(&mut conn, round_id, self.registry().now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_starts_on_the_first_such_weekday_of_the_season() {
        let monday = NaiveDate::from_ymd_opt(2027, 8, 16).unwrap();
        assert_eq!(first_on(monday, 1), monday);
        assert_eq!(first_on(monday, 3), NaiveDate::from_ymd_opt(2027, 8, 18).unwrap());
        assert_eq!(first_on(NaiveDate::from_ymd_opt(2027, 8, 19).unwrap(), 1), NaiveDate::from_ymd_opt(2027, 8, 23).unwrap());
    }
}
