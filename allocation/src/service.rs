//! The use cases of seasonal allocation. Each: authorize → validate → one transaction (with a
//! change-log row for audit). Both front ends call these and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, Timelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use registry_core::auth::{self, Action, Principal};
use registry_core::changelog::{self, Operation};
use registry_core::db::PooledConn;
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use uuid::Uuid;

use crate::build::{self, Applicant, Lock, UnitInfo, check_application, minutes};
use crate::db::{self, ApplicationRow, CommentRow, RoundRow, RunRow};
use crate::model::*;
use crate::solver::{Budget, solve};

type Result<T> = std::result::Result<T, Error>;

/// A unit as the registry has it: id, facility, name, capacity, municipality, deleted.
type UnitRow = (Uuid, Uuid, String, Option<i32>, String, Option<chrono::DateTime<Utc>>);

/// Seasonal allocation over the registry. Cheap to clone.
#[derive(Clone)]
pub struct Allocations {
    registry: Registry,
    /// The vendors, asked what they have booked before each run (none: not asked).
    pub(crate) federation: Option<std::sync::Arc<federation::service::Service>>,
}

/// What a staff member asks a run to do.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRequest {
    /// What it is, e.g. `preliminary` or `what-if: girls ×2` (default `run`).
    #[serde(default)]
    pub label: String,
    /// Weights to use instead of the round's, by group code (a what-if).
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// The run to start from: its locked sessions stay locked.
    #[serde(default)]
    pub base_run: Option<Uuid>,
    /// Applications whose placed sessions in the base run are kept where they are.
    #[serde(default)]
    pub lock_applications: Vec<Uuid>,
}

/// A staff member's manual edit of one session, which makes a new run.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EditRequest {
    /// The application.
    pub application_id: Uuid,
    /// The wish (0-based).
    pub wish: u16,
    /// The session (0-based).
    #[serde(default)]
    pub session: u16,
    /// Where it goes (required). Kept there in later reruns.
    #[serde(default)]
    pub slot: Option<Slot>,
    /// Why (audited).
    pub reason: String,
}

/// A run without its decisions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationRunSummary))]
pub struct RunSummary {
    /// Id.
    pub id: Uuid,
    /// Label.
    pub label: String,
    /// `training` or `matches`.
    pub kind: RunKind,
    /// The run it started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_run: Option<Uuid>,
    /// Principles used.
    pub principles: Principles,
    /// Figures.
    pub figures: RunFigures,
    /// Who.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
}

/// An applicant's comment on the preliminary allocation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationComment))]
pub struct Comment {
    /// Id.
    pub id: Uuid,
    /// The application.
    pub application_id: Uuid,
    /// The run commented on.
    pub run_id: Uuid,
    /// Text.
    pub text: String,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
}

/// The published allocation of a round: open data, no personal data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicAllocation {
    /// The round.
    pub round_id: Uuid,
    /// Its name.
    pub name: String,
    /// The municipality.
    pub municipality_code: String,
    /// `preliminary` or `final`.
    pub status: RoundStatus,
    /// The principles it was made by.
    pub principles: Principles,
    /// Every placed session, by unit, day and start.
    pub sessions: Vec<PublicSession>,
    /// Every allocated match time, by date, unit and start.
    pub matches: Vec<PublicMatch>,
}

/// One allocated match time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicMatch {
    /// Where and when (with its date).
    #[serde(flatten)]
    pub slot: Slot,
    /// The association.
    pub association_id: Uuid,
    /// Its name.
    pub association_name: String,
    /// The team.
    pub team: String,
    /// The activity.
    pub activity: String,
    /// What it is, as the association wrote it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One placed weekly session.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicSession {
    /// Where and when.
    #[serde(flatten)]
    pub slot: Slot,
    /// The association.
    pub association_id: Uuid,
    /// Its name.
    pub association_name: String,
    /// The team.
    pub team: String,
    /// The activity.
    pub activity: String,
}

pub(crate) fn not_found(entity: &'static str, id: Uuid) -> Error {
    Error::NotFound { entity, id: id.to_string() }
}

pub(crate) fn round_of(row: &RoundRow) -> Result<Round> {
    let bad = |e: serde_json::Error| Error::Internal(format!("a stored allocation round: {e}"));
    Ok(Round {
        id: row.id,
        input: RoundInput {
            municipality_code: row.municipality_code.clone(),
            name: row.name.clone(),
            season_start: row.season_start,
            season_end: row.season_end,
            breaks: serde_json::from_value(row.breaks.clone()).map_err(bad)?,
            applications_open: row.applications_open,
            applications_close: row.applications_close,
            grid_minutes: row.grid_minutes as u16,
            units: serde_json::from_value(row.units.clone()).map_err(bad)?,
            principles: serde_json::from_value(row.principles.clone()).map_err(bad)?,
        },
        status: RoundStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("round status {}", row.status)))?,
        published_run: row.published_run,
        final_run: row.final_run,
        version: row.version,
        updated_at: row.updated_at,
    })
}

pub(crate) fn run_of(row: RunRow) -> Result<Run> {
    let bad = |e: serde_json::Error| Error::Internal(format!("a stored allocation run: {e}"));
    Ok(Run {
        id: row.id,
        round_id: row.round_id,
        label: row.label,
        kind: RunKind::parse(&row.kind).ok_or_else(|| Error::Internal(format!("run kind {}", row.kind)))?,
        base_run: row.base_run,
        principles: serde_json::from_value(row.principles).map_err(bad)?,
        figures: serde_json::from_value(row.figures).map_err(bad)?,
        vendor_checks: serde_json::from_value(row.vendor_checks).map_err(bad)?,
        decisions: serde_json::from_value(row.decisions).map_err(bad)?,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

/// Checks the principles, adding every problem to `v`.
pub fn check_principles(v: &mut Violations, field: &str, p: &Principles) {
    let mut seen = BTreeSet::new();
    for (i, g) in p.groups.iter().enumerate() {
        let f = format!("{field}.groups[{i}]");
        if !build::GROUP_CODES.contains(&g.code.as_str()) {
            v.add(
                format!("{f}.code"),
                "unknown_code",
                format!("'{}' is not a priority group; use one of {}", g.code, build::GROUP_CODES.join(", ")),
            );
        }
        if !seen.insert(g.code.clone()) {
            v.add(format!("{f}.code"), "duplicate", format!("'{}' is given twice", g.code));
        }
        check_weight(v, &format!("{f}.weight"), g.weight);
        if g.max_age.is_some() && g.code != "children_youth" {
            v.add(format!("{f}.maxAge"), "not_applicable", "only children_youth has a maximum age");
        }
        if !g.genders.is_empty() && g.code != "underrepresented_gender" {
            v.add(format!("{f}.genders"), "not_applicable", "only underrepresented_gender names genders");
        }
    }
    if !(p.rank_decay.is_finite() && (0.0..=1.0).contains(&p.rank_decay)) {
        v.add(format!("{field}.rankDecay"), "out_of_range", "must be a number from 0 to 1");
    }
    if let Some(h) = p.max_hours_per_association
        && !(h.is_finite() && (0.5..=168.0).contains(&h))
    {
        v.add(format!("{field}.maxHoursPerAssociation"), "out_of_range", "must be 0.5 to 168 hours a week");
    }
    v.optional_multiline(&format!("{field}.description"), &p.description, 5000);
}

fn check_weight(v: &mut Violations, field: &str, w: f64) {
    if !w.is_finite() || !(0.0..=100.0).contains(&w) {
        v.add(field, "out_of_range", "must be a number from 0 to 100 (weights are never negative)");
    }
}

fn check_times(v: &mut Violations, field: &str, times: &[DayTime]) {
    for (i, t) in times.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if !(1..=7).contains(&t.day) {
            v.add(format!("{f}.day"), "out_of_range", "must be 1 (Monday) to 7 (Sunday)");
        }
        match (minutes(&t.from), minutes(&t.to)) {
            (Some(a), Some(b)) if a < b => {}
            (Some(_), Some(_)) => v.add(format!("{f}.to"), "order", "must be after from"),
            _ => v.add(format!("{f}.from"), "format", "from and to must be HH:MM"),
        }
        v.optional_text(&format!("{f}.reason"), &t.reason, 200);
    }
}

impl Allocations {
    /// Seasonal allocation over the registry's database.
    pub fn new(registry: Registry) -> Self {
        Self { registry, federation: None }
    }

    /// Asks the units' booking systems what they have booked before each run, and keeps those
    /// times free (without this, runs report every unit `not_checked`).
    pub fn with_vendors(mut self, federation: std::sync::Arc<federation::service::Service>) -> Self {
        self.federation = Some(federation);
        self
    }

    /// The registry underneath.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) async fn conn(&self) -> Result<PooledConn> {
        Ok(self.registry.pool().get().await?)
    }

    /// What the optimiser needs of each of a round's units: checked against the registry (the
    /// unit exists, in the round's municipality), with its hours from the round or else the
    /// registry's opening hours of the season's first full week.
    pub(crate) async fn resolve_units(&self, v: &mut Violations, input: &RoundInput) -> Result<BTreeMap<Uuid, UnitInfo>> {
        use registry_core::db::schema::{facilities, facility_units};
        let mut conn = self.conn().await?;
        let ids: Vec<Uuid> = input.units.iter().map(|u| u.unit_id).collect();
        let rows: Vec<UnitRow> = facility_units::table
            .inner_join(facilities::table.on(facilities::id.eq(facility_units::facility_id)))
            .filter(facility_units::id.eq_any(&ids))
            .select((
                facility_units::id,
                facilities::id,
                facility_units::name,
                facility_units::capacity,
                facilities::municipality_code,
                facilities::deleted_at,
            ))
            .load(&mut conn)
            .await?;
        drop(conn);
        let found: BTreeMap<Uuid, _> = rows.into_iter().map(|r| (r.0, r)).collect();
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        // The season's first full week, Monday to Sunday.
        let monday = {
            let s = input.season_start;
            s + Duration::days(i64::from((7 - s.weekday().num_days_from_monday()) % 7))
        };
        for (i, u) in input.units.iter().enumerate() {
            let f = format!("units[{i}]");
            if !seen.insert(u.unit_id) {
                v.add(format!("{f}.unitId"), "duplicate", "the unit is listed twice");
                continue;
            }
            for (k, a) in u.activities.iter().enumerate() {
                if !registry_core::codes::is_activity(a) {
                    v.add(format!("{f}.activities[{k}]"), "unknown_code", format!("'{a}' is not an activity code"));
                }
            }
            check_times(v, &format!("{f}.hours"), &u.hours);
            check_times(v, &format!("{f}.blocks"), &u.blocks);
            let Some((_, facility, name, capacity, municipality, deleted)) = found.get(&u.unit_id) else {
                v.add(format!("{f}.unitId"), "not_found", format!("unit {} was not found", u.unit_id));
                continue;
            };
            if deleted.is_some() {
                v.add(format!("{f}.unitId"), "not_found", format!("unit {} was not found", u.unit_id));
                continue;
            }
            if *municipality != input.municipality_code {
                v.add(
                    format!("{f}.unitId"),
                    "other_municipality",
                    format!("{name} is in municipality {municipality}, not {}", input.municipality_code),
                );
                continue;
            }
            let hours = if u.hours.is_empty() {
                let from = registry_core::hours::local_instant(monday, 0);
                let to = registry_core::hours::local_instant(monday + Duration::days(7), 0);
                match self.registry.opening_intervals(&Principal::system("system:allocation"), *facility, Some(u.unit_id), from, to).await {
                    Ok(intervals) => {
                        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
                        for iv in intervals {
                            let (a, b) = (iv.start_local, iv.end_local);
                            let day = a.weekday().num_days_from_monday() as usize;
                            let start = (a.hour() * 60 + a.minute()) as u16;
                            let end = if b.date_naive() == a.date_naive() { (b.hour() * 60 + b.minute()) as u16 } else { 24 * 60 };
                            if start < end {
                                week[day].push((start, end));
                            }
                        }
                        if week.iter().all(|d| d.is_empty()) {
                            v.add(
                                format!("{f}.hours"),
                                "required",
                                format!("{name} is closed all of the season's first week in the registry; give its allocatable hours"),
                            );
                        }
                        week
                    }
                    Err(Error::NotFound { .. }) => {
                        v.add(
                            format!("{f}.hours"),
                            "required",
                            format!("{name} has no opening hours in the registry; give its allocatable hours"),
                        );
                        Default::default()
                    }
                    Err(e) => return Err(e),
                }
            } else {
                UnitInfo::week(&u.hours)
            };
            out.insert(
                u.unit_id,
                UnitInfo {
                    id: u.unit_id,
                    facility: *facility,
                    booked: Default::default(),
                    name: name.clone(),
                    capacity: *capacity,
                    activities: u.activities.clone(),
                    hours,
                    blocks: UnitInfo::week(&u.blocks),
                },
            );
        }
        Ok(out)
    }

    async fn check_round(&self, input: &RoundInput) -> Result<BTreeMap<Uuid, UnitInfo>> {
        let mut v = Violations::default();
        registry_core::codes::check_municipality(&mut v, "municipalityCode", &input.municipality_code);
        v.required_text("name", &input.name, 200);
        if input.season_end < input.season_start {
            v.add("seasonEnd", "order", "must not be before seasonStart");
        } else if input.season_end > input.season_start + Duration::days(371) {
            v.add("seasonEnd", "out_of_range", "a season is at most 53 weeks");
        }
        for (i, b) in input.breaks.iter().enumerate() {
            if b.to < b.from {
                v.add(format!("breaks[{i}].to"), "order", "must not be before from");
            }
            if b.from < input.season_start || b.to > input.season_end {
                v.add(format!("breaks[{i}]"), "out_of_range", "must lie within the season");
            }
            v.optional_text(&format!("breaks[{i}].name"), &b.name, 100);
        }
        if input.applications_close <= input.applications_open {
            v.add("applicationsClose", "order", "must be after applicationsOpen");
        }
        if ![15, 30, 60].contains(&input.grid_minutes) {
            v.add("gridMinutes", "out_of_range", "must be 15, 30 or 60");
        }
        if input.units.is_empty() || input.units.len() > 2000 {
            v.add("units", "count", "name 1 to 2,000 units");
        }
        check_principles(&mut v, "principles", &input.principles);
        let units = if registry_core::codes::municipality(&input.municipality_code).is_some() {
            self.resolve_units(&mut v, input).await?
        } else {
            BTreeMap::new()
        };
        v.finish()?;
        Ok(units)
    }

    /// Sets up a round (staff of its municipality).
    pub async fn create_round(&self, p: &Principal, input: &RoundInput) -> Result<Round> {
        auth::require_key(p, "setting up an allocation round")?;
        auth::authorize(p, Action::ManageAllocation(&input.municipality_code))?;
        self.check_round(input).await?;
        let now = self.registry.now();
        let row = RoundRow {
            id: Uuid::now_v7(),
            municipality_code: input.municipality_code.clone(),
            name: input.name.trim().to_string(),
            season_start: input.season_start,
            season_end: input.season_end,
            breaks: serde_json::to_value(&input.breaks).expect("JSON"),
            applications_open: input.applications_open,
            applications_close: input.applications_close,
            grid_minutes: input.grid_minutes as i16,
            units: serde_json::to_value(&input.units).expect("JSON"),
            principles: serde_json::to_value(&input.principles).expect("JSON"),
            status: RoundStatus::Open.as_str().into(),
            published_run: None,
            final_run: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let round = round_of(&row)?;
        let actor = p.id.clone();
        let mut conn = self.conn().await?;
        let logged = round.clone();
        conn.transaction(async move |conn| {
            db::insert_round(conn, &row).await?;
            changelog::append(conn, "allocation_round", row.id, Operation::Create, &actor, None, Some(&logged)).await?;
            Ok::<_, Error>(())
        })
        .await?;
        Ok(round)
    }

    /// Changes a round while it is open (its units, dates and principles).
    pub async fn update_round(&self, p: &Principal, id: Uuid, input: &RoundInput, expected_version: Option<i64>) -> Result<Round> {
        auth::require_key(p, "changing an allocation round")?;
        let current = self.get_round(p, id).await?;
        auth::authorize(p, Action::ManageAllocation(&current.input.municipality_code))?;
        if input.municipality_code != current.input.municipality_code {
            return Err(Error::invalid("municipalityCode", "immutable", "a round stays in its municipality"));
        }
        self.check_round(input).await?;
        let actor = p.id.clone();
        let now = self.registry.now();
        let input = input.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::round(conn, id, true).await?.ok_or_else(|| not_found("allocation round", id))?;
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed { entity: "allocation round", id: id.to_string(), expected: e, actual: row.version });
            }
            if row.status == "final" {
                return Err(final_round());
            }
            let before = round_of(&row)?;
            row.name = input.name.trim().to_string();
            row.season_start = input.season_start;
            row.season_end = input.season_end;
            row.breaks = serde_json::to_value(&input.breaks).expect("JSON");
            row.applications_open = input.applications_open;
            row.applications_close = input.applications_close;
            row.grid_minutes = input.grid_minutes as i16;
            row.units = serde_json::to_value(&input.units).expect("JSON");
            row.principles = serde_json::to_value(&input.principles).expect("JSON");
            row.version += 1;
            row.updated_at = now;
            db::update_round(conn, &row).await?;
            let after = round_of(&row)?;
            changelog::append(conn, "allocation_round", id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// One round: open to everyone (its principles are published).
    pub async fn get_round(&self, p: &Principal, id: Uuid) -> Result<Round> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        round_of(&db::round(&mut conn, id, false).await?.ok_or_else(|| not_found("allocation round", id))?)
    }

    /// Rounds, newest season first, of one municipality or all: open to everyone.
    pub async fn list_rounds(&self, p: &Principal, municipality: Option<&str>) -> Result<Vec<Round>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        db::rounds(&mut conn, municipality).await?.iter().map(round_of).collect()
    }

    /// Whose data of a round a principal reads: `None` for its municipality's staff (all),
    /// else the associations a signed-in person represents; anyone else is refused.
    pub(crate) async fn whose(conn: &mut AsyncPgConnection, p: &Principal, round: &Round) -> Result<Option<Vec<Uuid>>> {
        if auth::allowed(p, Action::ManageAllocation(&round.input.municipality_code)) {
            return Ok(None);
        }
        let Some(person) = &p.person else {
            return Err(refusal(p, &round.input.municipality_code));
        };
        Ok(Some(registry_core::db::associations::represented_by(conn, &person.person_ref).await?))
    }

    /// As [`Self::whose`], as the round's applications of those associations.
    pub(crate) async fn own_applications(conn: &mut AsyncPgConnection, p: &Principal, round: &Round) -> Result<Option<Vec<Uuid>>> {
        Ok(match Self::whose(conn, p, round).await? {
            None => None,
            Some(mine) => Some(db::applications(conn, round.id, true, Some(&mine)).await?.into_iter().map(|a| a.id).collect()),
        })
    }

    /// The person's own representation of `association`, checked in `conn`.
    pub(crate) async fn represents(conn: &mut AsyncPgConnection, p: &Principal, association: Uuid) -> Result<bool> {
        Ok(match &p.person {
            Some(person) => registry_core::db::associations::represents(conn, association, &person.person_ref).await?,
            None => false,
        })
    }

    /// Sends an application (an association's representative, within the application period).
    pub async fn submit_application(&self, p: &Principal, round_id: Uuid, input: &ApplicationInput) -> Result<Application> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let round = self.get_round(p, round_id).await?;
        let now = self.registry.now();
        if round.status != RoundStatus::Open || now < round.input.applications_open || now >= round.input.applications_close {
            return Err(Error::Conflict {
                field: Some("roundId".into()),
                rule: "outside_application_period",
                message: format!(
                    "applications to '{}' are taken from {} to {}",
                    round.input.name,
                    round.input.applications_open.format("%Y-%m-%d %H:%M UTC"),
                    round.input.applications_close.format("%Y-%m-%d %H:%M UTC")
                ),
            });
        }
        let mut v = Violations::default();
        let mut scratch = Violations::default();
        let units = self.resolve_units(&mut scratch, &round.input).await?;
        check_application(&mut v, &units, round.input.grid_minutes, input);
        v.finish()?;
        let actor = p.id.clone();
        let principal = p.clone();
        let input = input.clone();
        let municipality = round.input.municipality_code.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let association =
                registry_core::service::approved_representation(conn, &principal, input.association_id, &municipality).await?;
            let row = ApplicationRow {
                id: Uuid::now_v7(),
                round_id,
                association_id: input.association_id,
                team: serde_json::to_value(&input.team).expect("JSON"),
                wishes: serde_json::to_value(&input.wishes).expect("JSON"),
                status: "submitted".into(),
                submitted_by: actor.clone(),
                submitted_at: now,
                version: 1,
                updated_at: now,
            };
            db::insert_application(conn, &row).await?;
            let app = Application {
                id: row.id,
                round_id,
                input,
                association_name: association.name,
                status: row.status,
                submitted_at: now,
                version: 1,
            };
            changelog::append(conn, "allocation_application", row.id, Operation::Create, &actor, None, Some(&app)).await?;
            Ok(app)
        })
        .await
    }

    /// Withdraws an application (its association's representative, while the round is open).
    pub async fn withdraw_application(&self, p: &Principal, id: Uuid) -> Result<Application> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let actor = p.id.clone();
        let principal = p.clone();
        let now = self.registry.now();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::application(conn, id).await?.ok_or_else(|| not_found("application", id))?;
            if !Self::represents(conn, &principal, row.association_id).await? {
                return Err(not_found("application", id));
            }
            let round = db::round(conn, row.round_id, true).await?.ok_or_else(|| not_found("allocation round", row.round_id))?;
            if round.status != "open" {
                return Err(Error::Conflict {
                    field: None,
                    rule: "round_not_open",
                    message: "the allocation is already published; comment on it instead".into(),
                });
            }
            let before = application_of(conn, &row).await?;
            row.status = "withdrawn".into();
            row.version += 1;
            row.updated_at = now;
            db::update_application(conn, &row).await?;
            let after = application_of(conn, &row).await?;
            changelog::append(conn, "allocation_application", id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// A round's applications: staff of its municipality see all; a representative sees their
    /// associations' own.
    pub async fn applications(&self, p: &Principal, round_id: Uuid) -> Result<Vec<Application>> {
        let round = self.get_round(p, round_id).await?;
        let mut conn = self.conn().await?;
        let mine = Self::whose(&mut conn, p, &round).await?;
        let rows = db::applications(&mut conn, round_id, true, mine.as_deref()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(application_of(&mut conn, r).await?);
        }
        Ok(out)
    }

    /// Runs the allocator (staff; not on a final round). A what-if gives other weights; a run
    /// from a base run keeps that run's locked sessions, and the sessions of the applications
    /// named, where they were.
    pub async fn run(&self, p: &Principal, round_id: Uuid, req: &RunRequest) -> Result<Run> {
        auth::require_key(p, "running an allocation")?;
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        if round.status == RoundStatus::Final {
            return Err(final_round());
        }
        let mut v = Violations::default();
        let mut principles = round.input.principles.clone();
        for (code, w) in &req.weights {
            let f = format!("weights.{code}");
            check_weight(&mut v, &f, *w);
            match principles.groups.iter_mut().find(|g| &g.code == code) {
                Some(g) => g.weight = *w,
                None => v.add(f, "unknown_code", format!("'{code}' is not one of this round's priority groups")),
            }
        }
        let label = if req.label.trim().is_empty() { "run".to_string() } else { v.required_text("label", &req.label, 200) };
        let mut locks = Vec::new();
        if let Some(base) = req.base_run {
            let mut conn = self.conn().await?;
            let run = db::run(&mut conn, base).await?.filter(|r| r.round_id == round_id);
            match run {
                None => v.add("baseRun", "not_found", format!("run {base} is not a run of this round")),
                Some(r) if r.kind != "training" => {
                    v.add("baseRun", "wrong_kind", "a run of match times; start from a run of training times")
                }
                Some(r) => {
                    let r = run_of(r)?;
                    for d in &r.decisions {
                        if let Some(slot) = &d.slot
                            && (d.locked || req.lock_applications.contains(&d.application_id))
                        {
                            locks.push(Lock { application: d.application_id, wish: d.wish, session: d.session, slot: slot.clone() });
                        }
                    }
                }
            }
        } else if !req.lock_applications.is_empty() {
            v.add("lockApplications", "requires", "name the baseRun whose sessions are to be kept");
        }
        v.finish()?;
        let run = self.allocate(&round, principles, &locks, label, req.base_run, &p.id, None).await?;
        Ok(run)
    }

    /// A round's submitted applications as the builder sees them (whether each association is
    /// local, whether each team had a time in the previous final round).
    pub(crate) async fn applicants_of(&self, round: &Round) -> Result<Vec<Applicant>> {
        let mut conn = self.conn().await?;
        let rows = db::applications(&mut conn, round.id, false, None).await?;
        let previous = match db::previous_final(&mut conn, &round.input.municipality_code, round.input.season_start).await? {
            Some(prev) => match prev.final_run {
                Some(r) => db::run(&mut conn, r).await?.map(run_of).transpose()?.map(|r| r.decisions).unwrap_or_default(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let mut applicants = Vec::with_capacity(rows.len());
        for r in &rows {
            let app = application_of(&mut conn, r).await?;
            let local = registry_core::db::associations::load(&mut conn, app.input.association_id, false)
                .await?
                .is_some_and(|a| a.municipality_code == round.input.municipality_code);
            let had =
                previous.iter().any(|d| d.slot.is_some() && d.association_id == app.input.association_id && d.team == app.input.team.name);
            // An application that no longer fits the round (a unit taken out since) keeps what
            // still fits: the builder skips what it cannot use.
            applicants.push(Applicant { id: app.id, input: app.input, association_name: app.association_name, local, previous: had });
        }
        Ok(applicants)
    }

    /// Builds, solves, explains and stores one run, with `audit` (before, after) in the
    /// change log in the same transaction when given.
    #[allow(clippy::too_many_arguments)]
    async fn allocate(
        &self,
        round: &Round,
        principles: Principles,
        locks: &[Lock],
        label: String,
        base_run: Option<Uuid>,
        actor: &str,
        audit: Option<(serde_json::Value, serde_json::Value)>,
    ) -> Result<Run> {
        let mut scratch = Violations::default();
        let mut units = self.resolve_units(&mut scratch, &round.input).await?;
        // What the vendors have booked in any week of the season is not allocated: a weekly
        // series is booked whole.
        let booked = crate::vendor::read(&self.registry, self.federation.as_deref(), &units, &season_dates(&round.input)).await?;
        for (u, week) in crate::vendor::weekly(&booked.by_date) {
            if let Some(info) = units.get_mut(&u) {
                info.booked = week;
            }
        }
        let applicants = self.applicants_of(round).await?;
        let grid = round.input.grid_minutes;
        let principles2 = principles.clone();
        let locks = locks.to_vec();
        // The optimiser is CPU work: off the async threads.
        let (decisions, figures) = tokio::task::spawn_blocking(move || {
            let built = build::build(&principles2, grid, units, applicants, &locks);
            let s = solve(&built.problem, Budget::default()).map_err(|e| Error::Internal(e.to_string()))?;
            Ok::<_, Error>(built.decisions(&s))
        })
        .await
        .map_err(|e| Error::Internal(format!("the allocator stopped: {e}")))??;
        let row = RunRow {
            id: Uuid::now_v7(),
            round_id: round.id,
            label,
            base_run,
            principles: serde_json::to_value(&principles).expect("JSON"),
            locks: serde_json::to_value(
                decisions.iter().filter(|d| d.locked).map(|d| (d.application_id, d.wish, d.session)).collect::<Vec<_>>(),
            )
            .expect("JSON"),
            figures: serde_json::to_value(&figures).expect("JSON"),
            decisions: serde_json::to_value(&decisions).expect("JSON"),
            created_by: actor.to_string(),
            created_at: self.registry.now(),
            kind: RunKind::Training.as_str().into(),
            vendor_checks: serde_json::to_value(&booked.checks).expect("JSON"),
        };
        let mut conn = self.conn().await?;
        let (round_id, actor) = (round.id, actor.to_string());
        conn.transaction(async move |conn| {
            db::insert_run(conn, &row).await?;
            if let Some((before, mut after)) = audit {
                after["run"] = serde_json::json!(row.id);
                changelog::append(conn, "allocation_round", round_id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            }
            run_of(row)
        })
        .await
    }

    /// A staff member's manual edit: one session moved (or taken away), locked there, with a
    /// reason; the other sessions are allocated again around it. Makes a new run; audited.
    pub async fn edit(&self, p: &Principal, run_id: Uuid, e: &EditRequest) -> Result<Run> {
        auth::require_key(p, "editing an allocation")?;
        let mut conn = self.conn().await?;
        let base = run_of(db::run(&mut conn, run_id).await?.ok_or_else(|| not_found("allocation run", run_id))?)?;
        drop(conn);
        let round = self.get_round(p, base.round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        if round.status == RoundStatus::Final {
            return Err(final_round());
        }
        if base.kind != RunKind::Training {
            return Err(Error::Conflict {
                field: None,
                rule: "wrong_kind",
                message: "a run of match times is not edited: run the matches again, or withdraw and ask again".into(),
            });
        }
        let mut v = Violations::default();
        let reason = v.required_multiline("reason", &e.reason, 1000);
        if e.slot.is_none() {
            v.add("slot", "required", "give the slot the session moves to (a session cannot be taken away by an edit yet)");
        }
        if !base.decisions.iter().any(|d| d.application_id == e.application_id && d.wish == e.wish && d.session == e.session) {
            return Err(Error::invalid("applicationId", "not_found", "the run has no such application, wish and session"));
        }
        let mut conn = self.conn().await?;
        let app = db::application(&mut conn, e.application_id).await?.ok_or_else(|| not_found("application", e.application_id))?;
        let app = application_of(&mut conn, &app).await?;
        drop(conn);
        let duration = app.input.wishes.get(usize::from(e.wish)).map_or(0, |w| w.duration_minutes);
        let mut scratch = Violations::default();
        let units = self.resolve_units(&mut scratch, &round.input).await?;
        if let Some(slot) = &e.slot {
            match (units.get(&slot.unit_id), minutes(&slot.start), minutes(&slot.end)) {
                (None, _, _) => v.add("slot.unitId", "not_in_round", "the unit is not in this round"),
                (_, None, _) | (_, _, None) => v.add("slot.start", "format", "start and end must be HH:MM"),
                (Some(u), Some(a), Some(b)) => {
                    if b != a + duration {
                        v.add("slot.end", "duration", format!("the wish is {duration} minutes: end at start + {duration} minutes"));
                    } else if !(1..=7).contains(&slot.day) {
                        v.add("slot.day", "out_of_range", "must be 1 (Monday) to 7 (Sunday)");
                    } else if !u.starts(slot.day, a, b, duration, 1).contains(&a) {
                        v.add("slot", "outside_hours", format!("{} is closed or blocked then", u.name));
                    } else if let Some(d) = base.decisions.iter().find(|d| {
                        d.locked
                            && !(d.application_id == e.application_id && d.wish == e.wish && d.session == e.session)
                            && d.slot.as_ref().is_some_and(|s| {
                                s.unit_id == slot.unit_id
                                    && s.day == slot.day
                                    && minutes(&s.start).is_some_and(|x| x < b)
                                    && minutes(&s.end).is_some_and(|y| a < y)
                            })
                    }) {
                        v.add("slot", "taken_by_locked", format!("{}: {} is locked there", d.association_name, d.team));
                    }
                }
            }
        }
        v.finish()?;
        let mut locks: Vec<Lock> = base
            .decisions
            .iter()
            .filter(|d| d.locked && !(d.application_id == e.application_id && d.wish == e.wish && d.session == e.session))
            .filter_map(|d| d.slot.clone().map(|slot| Lock { application: d.application_id, wish: d.wish, session: d.session, slot }))
            .collect();
        if let Some(slot) = &e.slot {
            locks.push(Lock { application: e.application_id, wish: e.wish, session: e.session, slot: slot.clone() });
        }
        let label = format!("edit: {reason}");
        // The edit in the audit trail, in the new run's transaction: who moved which session
        // where, and why. An update needs a before state (change_log's before_unless_create):
        // the run edited. The municipality shows the entry to its own editors' audit trail.
        let m = &round.input.municipality_code;
        let after = serde_json::json!({"municipalityCode": m, "baseRun": base.id, "applicationId": e.application_id, "wish": e.wish, "session": e.session, "slot": e.slot, "reason": reason});
        let before = serde_json::json!({"municipalityCode": m, "run": base.id});
        self.allocate(
            &round,
            base.principles.clone(),
            &locks,
            label.chars().take(200).collect(),
            Some(base.id),
            &p.id,
            Some((before, after)),
        )
        .await
    }

    /// A round's runs without their decisions (staff).
    pub async fn runs(&self, p: &Principal, round_id: Uuid) -> Result<Vec<RunSummary>> {
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let mut conn = self.conn().await?;
        let bad = |e: serde_json::Error| Error::Internal(format!("a stored allocation run: {e}"));
        db::runs(&mut conn, round_id)
            .await?
            .into_iter()
            .map(|(id, label, base_run, principles, figures, created_by, created_at, kind)| {
                Ok(RunSummary {
                    id,
                    label,
                    kind: RunKind::parse(&kind).unwrap_or_default(),
                    base_run,
                    principles: serde_json::from_value(principles).map_err(bad)?,
                    figures: serde_json::from_value(figures).map_err(bad)?,
                    created_by,
                    created_at,
                })
            })
            .collect()
    }

    /// One run. Staff see all of it; once a run is published or final, a representative sees
    /// their associations' decisions in it (with every reason), and everyone sees the final one.
    pub async fn get_run(&self, p: &Principal, run_id: Uuid) -> Result<Run> {
        let mut conn = self.conn().await?;
        let mut run = run_of(db::run(&mut conn, run_id).await?.ok_or_else(|| not_found("allocation run", run_id))?)?;
        let round =
            round_of(&db::round(&mut conn, run.round_id, false).await?.ok_or_else(|| not_found("allocation round", run.round_id))?)?;
        if auth::allowed(p, Action::ManageAllocation(&round.input.municipality_code)) {
            return Ok(run);
        }
        let shown = round.published_run == Some(run_id) || round.final_run == Some(run_id);
        if !shown {
            return Err(not_found("allocation run", run_id));
        }
        // Who made it and the staff's notes are theirs: the applicants see what it is.
        run.created_by = "staff".into();
        run.label = if round.final_run == Some(run_id) { "final".into() } else { "preliminary".into() };
        if round.final_run == Some(run_id) && p.person.is_none() {
            return Ok(run);
        }
        let mine = match &p.person {
            Some(person) => registry_core::db::associations::represented_by(&mut conn, &person.person_ref).await?,
            None => return Err(not_found("allocation run", run_id)),
        };
        if round.final_run != Some(run_id) {
            run.decisions.retain(|d| mine.contains(&d.association_id));
            // A preliminary allocation is for the applicants: to anyone else it does not exist.
            if run.decisions.is_empty() {
                return Err(not_found("allocation run", run_id));
            }
        }
        Ok(run)
    }

    /// Publishes a run to the applicants as the preliminary allocation (staff).
    pub async fn publish(&self, p: &Principal, round_id: Uuid, run_id: Uuid, expected_version: Option<i64>) -> Result<Round> {
        self.set_run(p, round_id, run_id, expected_version, RoundStatus::Preliminary).await
    }

    /// Registers a run as the final allocation (staff). Nothing is rerun after this.
    pub async fn finalise(&self, p: &Principal, round_id: Uuid, run_id: Uuid, expected_version: Option<i64>) -> Result<Round> {
        self.set_run(p, round_id, run_id, expected_version, RoundStatus::Final).await
    }

    async fn set_run(&self, p: &Principal, round_id: Uuid, run_id: Uuid, expected_version: Option<i64>, to: RoundStatus) -> Result<Round> {
        auth::require_key(p, "publishing an allocation")?;
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let actor = p.id.clone();
        let now = self.registry.now();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::round(conn, round_id, true).await?.ok_or_else(|| not_found("allocation round", round_id))?;
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed {
                    entity: "allocation round",
                    id: round_id.to_string(),
                    expected: e,
                    actual: row.version,
                });
            }
            if row.status == "final" {
                return Err(final_round());
            }
            let Some(run) = db::run(conn, run_id).await?.filter(|r| r.round_id == round_id) else {
                return Err(Error::invalid("runId", "not_found", format!("run {run_id} is not a run of this round")));
            };
            if run.kind != "training" {
                return Err(Error::invalid(
                    "runId",
                    "wrong_kind",
                    format!("run {run_id} is a run of match times: register it with POST /v1/allocation/rounds/{round_id}/matches/decide"),
                ));
            }
            if to == RoundStatus::Final {
                // Every placed session is queued for booking at its vendor, in this transaction.
                let run = run_of(run)?;
                db::insert_series(conn, &crate::series::queue(round_id, &run.decisions, now)).await?;
            }
            let before = round_of(&row)?;
            match to {
                RoundStatus::Final => row.final_run = Some(run_id),
                _ => row.published_run = Some(run_id),
            }
            row.status = to.as_str().into();
            row.version += 1;
            row.updated_at = now;
            db::update_round(conn, &row).await?;
            let after = round_of(&row)?;
            changelog::append(conn, "allocation_round", round_id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// A representative's comment on the preliminary allocation of their application.
    pub async fn comment(&self, p: &Principal, application_id: Uuid, text: &str) -> Result<Comment> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let mut v = Violations::default();
        let text = v.required_multiline("text", text, 2000);
        v.finish()?;
        let principal = p.clone();
        let actor = p.id.clone();
        let now = self.registry.now();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let app = db::application(conn, application_id).await?.ok_or_else(|| not_found("application", application_id))?;
            if !Self::represents(conn, &principal, app.association_id).await? {
                return Err(not_found("application", application_id));
            }
            let round = db::round(conn, app.round_id, false).await?.ok_or_else(|| not_found("allocation round", app.round_id))?;
            let Some(run_id) = round.published_run.filter(|_| round.status == "preliminary") else {
                return Err(Error::Conflict {
                    field: None,
                    rule: "not_published",
                    message: "comments are taken while a preliminary allocation is published".into(),
                });
            };
            let row = CommentRow { id: Uuid::now_v7(), round_id: round.id, application_id, run_id, text, author: actor, created_at: now };
            db::insert_comment(conn, &row).await?;
            Ok(Comment { id: row.id, application_id, run_id, text: row.text, created_at: now })
        })
        .await
    }

    /// A round's comments: staff see all, a representative their associations' own.
    pub async fn comments(&self, p: &Principal, round_id: Uuid) -> Result<Vec<Comment>> {
        let round = self.get_round(p, round_id).await?;
        let mut conn = self.conn().await?;
        let apps = Self::own_applications(&mut conn, p, &round).await?;
        let rows = db::comments(&mut conn, round_id, apps.as_deref()).await?;
        Ok(rows
            .into_iter()
            .map(|c| Comment { id: c.id, application_id: c.application_id, run_id: c.run_id, text: c.text, created_at: c.created_at })
            .collect())
    }

    /// The round's allocation as open data: the final one (or the preliminary one while that is
    /// what is published), per unit and association; no personal data.
    pub async fn public_allocation(&self, p: &Principal, round_id: Uuid) -> Result<PublicAllocation> {
        let round = self.get_round(p, round_id).await?;
        let Some(run_id) = round.final_run.or(round.published_run) else {
            return Err(Error::Conflict {
                field: None,
                rule: "not_published",
                message: "the round's allocation is not published yet".into(),
            });
        };
        let mut conn = self.conn().await?;
        let run = run_of(db::run(&mut conn, run_id).await?.ok_or_else(|| not_found("allocation run", run_id))?)?;
        let rows = db::applications(&mut conn, round_id, true, None).await?;
        let activity: BTreeMap<Uuid, String> =
            rows.iter().map(|r| (r.id, serde_json::from_value::<Team>(r.team.clone()).map(|t| t.activity).unwrap_or_default())).collect();
        let mut sessions: Vec<PublicSession> = run
            .decisions
            .iter()
            .filter_map(|d| {
                d.slot.clone().map(|slot| PublicSession {
                    slot,
                    association_id: d.association_id,
                    association_name: d.association_name.clone(),
                    team: d.team.clone(),
                    activity: activity.get(&d.application_id).cloned().unwrap_or_default(),
                })
            })
            .collect();
        sessions.sort_by(|a, b| (a.slot.unit_id, a.slot.day, &a.slot.start).cmp(&(b.slot.unit_id, b.slot.day, &b.slot.start)));
        // Match times are public once decided (they are only decided after the final allocation).
        let apps: BTreeMap<Uuid, &ApplicationRow> = rows.iter().map(|r| (r.id, r)).collect();
        let names: BTreeMap<Uuid, String> = run.decisions.iter().map(|d| (d.application_id, d.association_name.clone())).collect();
        let mut matches = Vec::new();
        for m in db::matches(&mut conn, round_id, None).await?.into_iter().filter(|m| m.status == "allocated") {
            let (Some(slot), Some(app)) = (m.slot.and_then(|s| serde_json::from_value::<Slot>(s).ok()), apps.get(&m.application_id)) else {
                continue;
            };
            let team: Team = serde_json::from_value(app.team.clone()).map_err(|e| Error::Internal(format!("a stored team: {e}")))?;
            let note = serde_json::from_value::<MatchInput>(m.request).map(|r| r.note).unwrap_or_default();
            let association_name = match names.get(&m.application_id) {
                Some(n) => n.clone(),
                None => application_of(&mut conn, app).await?.association_name,
            };
            matches.push(PublicMatch {
                slot,
                association_id: app.association_id,
                association_name,
                team: team.name,
                activity: team.activity,
                note,
            });
        }
        matches.sort_by(|a, b| (a.slot.date, a.slot.unit_id, &a.slot.start).cmp(&(b.slot.date, b.slot.unit_id, &b.slot.start)));
        Ok(PublicAllocation {
            round_id,
            name: round.input.name,
            municipality_code: round.input.municipality_code,
            status: round.status,
            principles: run.principles,
            sessions,
            matches,
        })
    }
}

/// Why a caller who is neither staff nor a signed-in person cannot read a round's own data.
pub(crate) fn refusal(p: &Principal, municipality: &str) -> Error {
    auth::authorize(p, Action::ManageAllocation(municipality))
        .err()
        .unwrap_or_else(|| Error::Forbidden("only the municipality's staff and the associations' representatives may".into()))
}

/// The season's dates outside its breaks.
pub(crate) fn season_dates(r: &RoundInput) -> BTreeSet<chrono::NaiveDate> {
    r.season_start.iter_days().take_while(|d| *d <= r.season_end).filter(|d| !r.breaks.iter().any(|b| b.from <= *d && *d <= b.to)).collect()
}

pub(crate) fn final_round() -> Error {
    Error::Conflict {
        field: None,
        rule: "round_final",
        message: "the round's final allocation is registered; it is not run or changed again".into(),
    }
}

pub(crate) async fn application_of(conn: &mut AsyncPgConnection, r: &ApplicationRow) -> Result<Application> {
    let bad = |e: serde_json::Error| Error::Internal(format!("a stored application: {e}"));
    let name: String = {
        use registry_core::db::schema::associations;
        associations::table.find(r.association_id).select(associations::name).first(conn).await?
    };
    Ok(Application {
        id: r.id,
        round_id: r.round_id,
        input: ApplicationInput {
            association_id: r.association_id,
            team: serde_json::from_value(r.team.clone()).map_err(bad)?,
            wishes: serde_json::from_value(r.wishes.clone()).map_err(bad)?,
        },
        association_name: name,
        status: r.status.clone(),
        submitted_at: r.submitted_at,
        version: r.version,
    })
}
