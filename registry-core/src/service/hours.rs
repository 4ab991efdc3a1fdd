//! Use cases for opening hours: read and replace a facility's (or unit's) schedule, evaluate
//! it, and keep the materialised open intervals in step.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::changelog::{self, Operation};
use crate::db::facilities as facility_store;
use crate::db::hours::{self as store, Row};
use crate::error::{Error, Result};
use crate::hours::{OpenInterval, OpeningHours};

const ENTITY: &str = "opening_hours";

/// How far ahead intervals are materialised.
pub const MATERIALISED_DAYS: i64 = 400;
/// Longest window of an interval query.
pub const MAX_QUERY_DAYS: i64 = 366;

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoredHours {
    /// The facility.
    pub facility_id: Uuid,
    /// The unit, when the schedule is a unit's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<Uuid>,
    /// The schedule.
    pub hours: OpeningHours,
    /// Version for If-Match; 0 when no schedule has been stored yet.
    pub version: i64,
    /// When it last changed (absent before the first write).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// True when a unit has no hours of its own and shows its facility's.
    pub inherited: bool,
}

/// Open now (or at a given time) and when that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpenStatus {
    /// The instant asked about.
    pub at: DateTime<Utc>,
    /// Whether it is open then.
    pub open: bool,
    /// The next change from open to closed or back within 400 days, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_change: Option<DateTime<Utc>>,
}

/// Start of the materialised window: the whole hour of `now`.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let t = now.trunc_subsecs(0);
    t - Duration::seconds(i64::from(t.timestamp() as u32 % 3600))
}

impl Registry {
    /// The put use case's authorization step on its own (the facility's municipality decides),
    /// for a front end that must refuse a caller before it decodes a schedule.
    pub async fn authorize_hours_update(&self, p: &Principal, facility: Uuid) -> Result<()> {
        auth::require_key(p, "changing opening hours")?;
        let f = self.get_facility(p, facility).await?;
        auth::authorize(p, Action::UpdateFacility(&f.municipality_code))
    }

    async fn check_unit(&self, conn: &mut AsyncPgConnection, facility: Uuid, unit: Option<Uuid>) -> Result<crate::model::Facility> {
        let f = facility_store::load(conn, facility, false).await?.ok_or_else(|| Error::not_found("facility", facility))?;
        if let Some(u) = unit
            && !f.units.iter().any(|x| x.id == u)
        {
            return Err(Error::not_found("unit", u));
        }
        Ok(f)
    }

    /// The schedule of a facility, or of a unit (its own, else the facility's, marked inherited).
    pub async fn get_opening_hours(&self, p: &Principal, facility: Uuid, unit: Option<Uuid>) -> Result<StoredHours> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        self.check_unit(&mut conn, facility, unit).await?;
        if let Some((hours, version, at)) = store::load(&mut conn, facility, unit, false).await? {
            return Ok(StoredHours { facility_id: facility, unit_id: unit, hours, version, updated_at: Some(at), inherited: false });
        }
        if unit.is_some()
            && let Some((hours, version, at)) = store::load(&mut conn, facility, None, false).await?
        {
            return Ok(StoredHours { facility_id: facility, unit_id: unit, hours, version, updated_at: Some(at), inherited: true });
        }
        Ok(StoredHours {
            facility_id: facility,
            unit_id: unit,
            hours: OpeningHours::default(),
            version: 0,
            updated_at: None,
            inherited: unit.is_some(),
        })
    }

    /// Replaces a schedule if it is at `expected_version` (0: none stored yet), rematerialising
    /// its intervals in the same transaction.
    pub async fn put_opening_hours(
        &self,
        p: &Principal,
        facility: Uuid,
        unit: Option<Uuid>,
        expected_version: i64,
        hours: &OpeningHours,
    ) -> Result<StoredHours> {
        let now = self.now();
        let hours = hours.validate()?;
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let this = self.clone();
        conn.transaction(async move |conn| {
            let f = this.check_unit(conn, facility, unit).await?;
            auth::authorize(&principal, Action::UpdateFacility(&f.municipality_code))?;
            let current = store::load(conn, facility, unit, true).await?;
            let actual = current.as_ref().map(|c| c.1).unwrap_or(0);
            if actual != expected_version {
                return Err(Error::PreconditionFailed { entity: ENTITY, id: facility.to_string(), expected: expected_version, actual });
            }
            let at = now;
            store::upsert(conn, facility, unit, &hours, actual + 1, at).await?;
            let from = window_start(now);
            store::materialise(conn, facility, unit, Some(&hours), from, from + Duration::days(MATERIALISED_DAYS)).await?;
            let stored = StoredHours {
                facility_id: facility,
                unit_id: unit,
                hours: hours.clone(),
                version: actual + 1,
                updated_at: Some(at),
                inherited: false,
            };
            let before = current.map(|(h, version, at)| StoredHours {
                facility_id: facility,
                unit_id: unit,
                hours: h,
                version,
                updated_at: Some(at),
                inherited: false,
            });
            let op = if before.is_some() { Operation::Update } else { Operation::Create };
            changelog::append(conn, ENTITY, facility, op, &principal.id, before.as_ref(), Some(&stored)).await?;
            Ok::<_, Error>(stored)
        })
        .await
    }

    /// The concrete open intervals in [from, to) (at most 366 days).
    pub async fn opening_intervals(
        &self,
        p: &Principal,
        facility: Uuid,
        unit: Option<Uuid>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OpenInterval>> {
        if to <= from {
            return Err(Error::invalid("to", "order", "must be after from"));
        }
        if to - from > Duration::days(MAX_QUERY_DAYS) {
            return Err(Error::invalid("to", "out_of_range", format!("the window may be at most {MAX_QUERY_DAYS} days")));
        }
        let stored = self.get_opening_hours(p, facility, unit).await?;
        Ok(stored.hours.intervals(from, to))
    }

    /// Whether the facility (or unit) is open at `at`, and the next change.
    pub async fn open_status(&self, p: &Principal, facility: Uuid, unit: Option<Uuid>, at: DateTime<Utc>) -> Result<OpenStatus> {
        let stored = self.get_opening_hours(p, facility, unit).await?;
        Ok(OpenStatus { at, open: stored.hours.is_open(at), next_change: stored.hours.next_change(at, MATERIALISED_DAYS) })
    }

    /// Rematerialises every stored schedule's intervals from the current hour on (the daily
    /// job): batches of owners, one transaction each, on two connections at once so the
    /// database can use both cores while the evaluator works.
    pub async fn refresh_open_intervals(&self) -> Result<(usize, usize)> {
        let mut conn = self.conn().await?;
        let rows = store::load_all(&mut conn).await?;
        drop(conn);
        let from = window_start(self.now());
        let to = from + Duration::days(MATERIALISED_DAYS);
        let batches: Vec<Vec<Row>> = rows.chunks(REFRESH_BATCH).map(<[Row]>::to_vec).collect();
        let mut lanes: Vec<Vec<Vec<Row>>> = vec![Vec::new(); REFRESH_LANES];
        for (i, b) in batches.into_iter().enumerate() {
            lanes[i % REFRESH_LANES].push(b);
        }
        let mut tasks = Vec::new();
        for lane in lanes {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = this.conn().await?;
                let (mut schedules, mut intervals) = (0, 0);
                for batch in lane {
                    let (s, i) = store::refresh_batch(&mut conn, &batch, from, to).await?;
                    schedules += s;
                    intervals += i;
                }
                Ok::<_, Error>((schedules, intervals))
            }));
        }
        let (mut schedules, mut intervals) = (0, 0);
        for t in tasks {
            let (s, i) = t.await.map_err(|e| Error::Internal(format!("refresh task failed: {e}")))??;
            schedules += s;
            intervals += i;
        }
        Ok((schedules, intervals))
    }
}

/// Connections the refresh job uses at once.
const REFRESH_LANES: usize = 2;

/// Owners rematerialised per transaction by the refresh job.
const REFRESH_BATCH: usize = 500;
