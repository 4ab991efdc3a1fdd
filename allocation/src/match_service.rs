//! The use cases of match times (matchtider, "Fördela matchtider"): representatives ask for
//! match times any time in the season; once the final weekly allocation is registered, staff
//! allocate the open requests in match runs (explained like every run) and register a run's
//! placements, which are booked at the vendors as single occasions. Each: authorize →
//! validate → one transaction (with a change-log row for audit).

use std::collections::BTreeMap;

use chrono::Datelike;
use diesel_async::AsyncConnection;
use registry_core::Error;
use registry_core::auth::{self, Action, Principal};
use registry_core::changelog::{self, Operation};
use registry_core::validate::Violations;
use uuid::Uuid;

use crate::Allocations;
use crate::build::minutes;
use crate::db::{self, MatchRow, RunRow};
use crate::matches::{Occupied, Taken, Wanted, check_match};
use crate::model::*;
use crate::service::{application_of, not_found, run_of, season_dates};
use crate::solver::{Budget, solve};

type Result<T> = std::result::Result<T, Error>;

/// A match request as its readers see it.
async fn match_of(conn: &mut diesel_async::AsyncPgConnection, r: &MatchRow) -> Result<Match> {
    let bad = |e: serde_json::Error| Error::Internal(format!("a stored match request: {e}"));
    let app = db::application(conn, r.application_id).await?.ok_or_else(|| not_found("application", r.application_id))?;
    let app = application_of(conn, &app).await?;
    Ok(Match {
        id: r.id,
        round_id: r.round_id,
        application_id: r.application_id,
        association_id: app.input.association_id,
        association_name: app.association_name,
        team: app.input.team.name,
        input: serde_json::from_value(r.request.clone()).map_err(bad)?,
        status: r.status.clone(),
        slot: r.slot.clone().map(serde_json::from_value).transpose().map_err(bad)?,
        decided_run: r.decided_run,
        why_not: serde_json::from_value(r.why_not.clone()).map_err(bad)?,
        submitted_at: r.submitted_at,
        version: r.version,
    })
}

fn interval(s: &Slot) -> Option<(u16, u16)> {
    Some((minutes(&s.start)?, minutes(&s.end)?))
}

impl Allocations {
    /// Asks for a match time for a team (its association's representative; the team's
    /// application must stand). Any time in the season, for a date not passed.
    pub async fn request_match(&self, p: &Principal, application_id: Uuid, input: &MatchInput) -> Result<Match> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let mut conn = self.conn().await?;
        let app = db::application(&mut conn, application_id).await?.ok_or_else(|| not_found("application", application_id))?;
        if !Self::represents(&mut conn, p, app.association_id).await? {
            return Err(not_found("application", application_id));
        }
        let app = application_of(&mut conn, &app).await?;
        drop(conn);
        if app.status != "submitted" {
            return Err(Error::Conflict {
                field: Some("applicationId".into()),
                rule: "application_withdrawn",
                message: "the team's application is withdrawn; match times are asked for on a standing application".into(),
            });
        }
        let round = self.get_round(p, app.round_id).await?;
        let mut scratch = Violations::default();
        let units = self.resolve_units(&mut scratch, &round.input).await?;
        let today = self.registry().now().with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
        let mut v = Violations::default();
        check_match(
            &mut v,
            &units,
            round.input.grid_minutes,
            (round.input.season_start, round.input.season_end),
            today,
            &app.input.team,
            input,
        );
        v.finish()?;
        let now = self.registry().now();
        let row = MatchRow {
            id: Uuid::now_v7(),
            round_id: round.id,
            application_id,
            request: serde_json::to_value(MatchInput { note: input.note.trim().to_string(), ..input.clone() }).expect("JSON"),
            status: "requested".into(),
            slot: None,
            decided_run: None,
            why_not: serde_json::json!([]),
            submitted_by: p.id.clone(),
            submitted_at: now,
            version: 1,
            updated_at: now,
        };
        let actor = p.id.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            db::insert_match(conn, &row).await?;
            let m = match_of(conn, &row).await?;
            changelog::append(conn, "allocation_match", row.id, Operation::Create, &actor, None, Some(&m)).await?;
            Ok(m)
        })
        .await
    }

    /// Withdraws a match request not yet allocated (its association's representative).
    pub async fn withdraw_match(&self, p: &Principal, id: Uuid) -> Result<Match> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let (principal, actor, now) = (p.clone(), p.id.clone(), self.registry().now());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::match_row(conn, id, true).await?.ok_or_else(|| not_found("match request", id))?;
            let app = db::application(conn, row.application_id).await?.ok_or_else(|| not_found("match request", id))?;
            if !Self::represents(conn, &principal, app.association_id).await? {
                return Err(not_found("match request", id));
            }
            match row.status.as_str() {
                "requested" => {}
                "allocated" => {
                    return Err(Error::Conflict {
                        field: None,
                        rule: "match_allocated",
                        message: "the match time is allocated and booked; ask the municipality's staff to cancel it".into(),
                    });
                }
                _ => {
                    return Err(Error::Conflict {
                        field: None,
                        rule: "match_withdrawn",
                        message: "the request is already withdrawn".into(),
                    });
                }
            }
            let before = match_of(conn, &row).await?;
            row.status = "withdrawn".into();
            row.version += 1;
            row.updated_at = now;
            db::update_match(conn, &row).await?;
            let after = match_of(conn, &row).await?;
            changelog::append(conn, "allocation_match", id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// A round's match requests: staff of its municipality see all; a representative their
    /// associations' own.
    pub async fn matches(&self, p: &Principal, round_id: Uuid) -> Result<Vec<Match>> {
        let round = self.get_round(p, round_id).await?;
        let mut conn = self.conn().await?;
        let apps = Self::own_applications(&mut conn, p, &round).await?;
        let rows = db::matches(&mut conn, round_id, apps.as_deref()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(match_of(&mut conn, r).await?);
        }
        Ok(out)
    }

    /// Allocates the round's open match requests (staff; once the final weekly allocation is
    /// registered) around the final weekly allocation outside the breaks, the matches decided
    /// before and what the vendors have booked on those dates. A new run of kind `matches`.
    pub async fn run_matches(&self, p: &Principal, round_id: Uuid, label: &str) -> Result<Run> {
        auth::require_key(p, "allocating match times")?;
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let mut v = Violations::default();
        let label = if label.trim().is_empty() { "matches".to_string() } else { v.required_text("label", label, 200) };
        v.finish()?;
        let Some(final_run) = round.final_run.filter(|_| round.status == RoundStatus::Final) else {
            return Err(Error::Conflict {
                field: None,
                rule: "round_not_final",
                message: "match times are allocated once the round's final allocation of training times is registered".into(),
            });
        };
        let mut conn = self.conn().await?;
        let training = run_of(db::run(&mut conn, final_run).await?.ok_or_else(|| not_found("allocation run", final_run))?)?;
        let rows = db::matches(&mut conn, round_id, None).await?;
        drop(conn);
        let applicants = self.applicants_of(&round).await?;
        let index: BTreeMap<Uuid, usize> = applicants.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let bad = |e: serde_json::Error| Error::Internal(format!("a stored match request: {e}"));
        let mut wanted = Vec::new();
        let mut decided: Taken = BTreeMap::new();
        for r in &rows {
            match r.status.as_str() {
                "requested" => {
                    if let Some(&applicant) = index.get(&r.application_id) {
                        wanted.push(Wanted { id: r.id, applicant, input: serde_json::from_value(r.request.clone()).map_err(bad)? });
                    }
                }
                "allocated" => {
                    let slot: Option<Slot> = r.slot.clone().map(serde_json::from_value).transpose().map_err(bad)?;
                    if let Some((s, d, iv)) = slot.and_then(|s| Some((s.unit_id, s.date?, interval(&s)?))) {
                        decided.entry((s, d)).or_default().push(iv);
                    }
                }
                _ => {}
            }
        }
        let dates: std::collections::BTreeSet<chrono::NaiveDate> =
            wanted.iter().flat_map(|w| w.input.alternatives.iter().map(|a| a.date)).collect();
        // The weekly training times hold their units on every date of the season outside the
        // breaks.
        let training_dates = season_dates(&round.input);
        let mut occupied = Occupied { decided, ..Default::default() };
        for d in dates.iter().filter(|d| training_dates.contains(d)) {
            let day = d.weekday().number_from_monday() as u8;
            for s in training.decisions.iter().filter_map(|x| x.slot.as_ref()).filter(|s| s.day == day) {
                if let Some(iv) = interval(s) {
                    occupied.training.entry((s.unit_id, *d)).or_default().push(iv);
                }
            }
        }
        let mut scratch = Violations::default();
        let units = self.resolve_units(&mut scratch, &round.input).await?;
        let booked = crate::vendor::read(self.registry(), self.federation.as_deref(), &units, &dates).await?;
        for (u, by) in &booked.by_date {
            for (d, list) in by {
                occupied.vendor.insert((*u, *d), list.clone());
            }
        }
        let principles = round.input.principles.clone();
        let grid = round.input.grid_minutes;
        let p2 = principles.clone();
        let (decisions, figures) = tokio::task::spawn_blocking(move || {
            let built = crate::matches::build(&p2, grid, units, applicants, &wanted, &occupied);
            let s = solve(&built.problem, Budget::default()).map_err(|e| Error::Internal(e.to_string()))?;
            Ok::<_, Error>(built.decisions(&s))
        })
        .await
        .map_err(|e| Error::Internal(format!("the allocator stopped: {e}")))??;
        let row = RunRow {
            id: Uuid::now_v7(),
            round_id,
            label,
            base_run: Some(final_run),
            principles: serde_json::to_value(&principles).expect("JSON"),
            locks: serde_json::json!([]),
            figures: serde_json::to_value(&figures).expect("JSON"),
            decisions: serde_json::to_value(&decisions).expect("JSON"),
            created_by: p.id.clone(),
            created_at: self.registry().now(),
            kind: RunKind::Matches.as_str().into(),
            vendor_checks: serde_json::to_value(&booked.checks).expect("JSON"),
        };
        let mut conn = self.conn().await?;
        db::insert_run(&mut conn, &row).await?;
        run_of(row)
    }

    /// Registers a match run (staff): each request it placed that is still open is allocated
    /// there and queued for booking at its vendor, in this transaction; the others keep their
    /// request, with the run's reasons. A run that places a match where one decided since lies
    /// is refused (`stale_run`): run the matches again.
    pub async fn decide_matches(&self, p: &Principal, round_id: Uuid, run_id: Uuid, expected_version: Option<i64>) -> Result<Vec<Match>> {
        auth::require_key(p, "deciding match times")?;
        let round = self.get_round(p, round_id).await?;
        auth::authorize(p, Action::ManageAllocation(&round.input.municipality_code))?;
        let (actor, now, municipality) = (p.id.clone(), self.registry().now(), round.input.municipality_code.clone());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut round = db::round(conn, round_id, true).await?.ok_or_else(|| not_found("allocation round", round_id))?;
            if let Some(e) = expected_version
                && e != round.version
            {
                return Err(Error::PreconditionFailed {
                    entity: "allocation round",
                    id: round_id.to_string(),
                    expected: e,
                    actual: round.version,
                });
            }
            let Some(run) = db::run(conn, run_id).await?.filter(|r| r.round_id == round_id) else {
                return Err(Error::invalid("runId", "not_found", format!("run {run_id} is not a run of this round")));
            };
            if run.kind != RunKind::Matches.as_str() {
                return Err(Error::invalid("runId", "wrong_kind", format!("run {run_id} is not a run of match times")));
            }
            let run = run_of(run)?;
            let mut rows: BTreeMap<Uuid, MatchRow> = db::matches(conn, round_id, None).await?.into_iter().map(|r| (r.id, r)).collect();
            let held: Vec<Slot> = rows
                .values()
                .filter(|r| r.status == "allocated")
                .filter_map(|r| r.slot.clone().and_then(|s| serde_json::from_value(s).ok()))
                .collect();
            let mut placed = Vec::new();
            for d in &run.decisions {
                let Some(id) = d.match_id else { continue };
                let Some(row) = rows.get_mut(&id).filter(|r| r.status == "requested") else { continue };
                if let Some(slot) = &d.slot {
                    let clash = held.iter().find(|h| {
                        h.unit_id == slot.unit_id
                            && h.date == slot.date
                            && interval(h).zip(interval(slot)).is_some_and(|((a, b), (c, e))| a < e && c < b)
                    });
                    if clash.is_some() {
                        return Err(Error::Conflict {
                            field: Some("runId".into()),
                            rule: "stale_run",
                            message: "a match decided since this run holds one of its times: run the matches again".into(),
                        });
                    }
                    row.status = "allocated".into();
                    row.slot = Some(serde_json::to_value(slot).expect("JSON"));
                    placed.push((id, row.application_id, slot.clone()));
                }
                row.decided_run = Some(run_id);
                row.why_not = serde_json::to_value(&d.why_not).expect("JSON");
                row.version += 1;
                row.updated_at = now;
                db::update_match(conn, row).await?;
            }
            db::insert_series(conn, &crate::series::queue_matches(round_id, &placed, now)).await?;
            let before = serde_json::json!({"municipalityCode": municipality, "version": round.version});
            round.version += 1;
            round.updated_at = now;
            db::update_round(conn, &round).await?;
            let after = serde_json::json!({"municipalityCode": municipality, "version": round.version, "matchRun": run_id, "matchesAllocated": placed.len()});
            changelog::append(conn, "allocation_round", round_id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows.values().filter(|r| r.decided_run == Some(run_id)) {
                out.push(match_of(conn, r).await?);
            }
            out.sort_by_key(|m| (m.submitted_at, m.id));
            Ok(out)
        })
        .await
    }
}
