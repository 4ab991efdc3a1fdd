//! `registry.v1.AllocationService`: seasonal allocation (säsongsfördelning) and match times
//! (matchtider) over the `allocation` crate's use cases, the same ones REST `/v1/allocation/…`
//! calls. Decoding reports what does not fit (ids, dates, numbers too large for their field,
//! enums) as field violations under the REST JSON names; every rule is the use case's.

use std::sync::Arc;

use allocation::Allocations;
use allocation::model::{
    Alternative, Application, ApplicationInput, BookedTime, Break, DayTime, Decision, Gender, GroupFigures, Match, MatchAlternative,
    MatchInput, Principles, PriorityGroup, Round, RoundInput, RoundStatus, RoundUnit, Run, RunFigures, RunKind, Slot, Team, VendorCheck,
    WhyNot, Wish,
};
use allocation::service::{Comment, EditRequest, PublicAllocation, PublicMatch, PublicSession, RunRequest, RunSummary};
use chrono::NaiveDate;
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use tonic::{Request, Response};
use uuid::Uuid;

use super::convert::{date, instant, optional_uuid, parse_id, small, timestamp, uuid};
use super::{Result, expected, principal, required_version};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::allocation_service_server::AllocationService;

/// The service over the allocation use cases.
#[derive(Clone)]
pub struct AllocationGrpc {
    allocations: Allocations,
    /// The same use cases asking the units' booking systems what they have booked (runs: what
    /// REST's runs, edits and match runs use).
    with_vendors: Allocations,
}

impl AllocationGrpc {
    /// Wraps the registry's allocation use cases; runs ask the vendors through `federation`.
    pub fn new(registry: Registry, federation: Arc<federation::service::Service>) -> Self {
        AllocationGrpc {
            allocations: Allocations::new(registry.clone()),
            with_vendors: Allocations::new(registry).with_vendors(federation),
        }
    }
}

// ---- decoding ----

fn gender(v: &mut Violations, field: &str, g: i32) -> Gender {
    match pb::TeamGender::try_from(g) {
        Ok(pb::TeamGender::Female) => Gender::Female,
        Ok(pb::TeamGender::Male) => Gender::Male,
        Ok(pb::TeamGender::Mixed) => Gender::Mixed,
        Ok(pb::TeamGender::Unspecified) => {
            v.add(field, "required", "must be set: TEAM_GENDER_FEMALE, TEAM_GENDER_MALE or TEAM_GENDER_MIXED");
            Gender::Mixed
        }
        Err(_) => {
            v.add(field, "unknown_enum_value", format!("{g} is not a TeamGender value"));
            Gender::Mixed
        }
    }
}

fn day_times(v: &mut Violations, field: &str, times: Vec<pb::DayTime>) -> Vec<DayTime> {
    times
        .into_iter()
        .enumerate()
        .map(|(i, t)| DayTime { day: small(v, &format!("{field}[{i}].day"), t.day), from: t.from, to: t.to, reason: t.reason })
        .collect()
}

fn principles_in(v: &mut Violations, field: &str, p: Option<pb::Principles>) -> Principles {
    let Some(p) = p else {
        v.add(field, "required", "must be set");
        return Principles {
            groups: vec![],
            rank_decay: 0.0,
            max_hours_per_association: None,
            one_session_per_team_per_day: true,
            description: String::new(),
        };
    };
    let groups = p
        .groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let f = format!("{field}.groups[{i}]");
            PriorityGroup {
                code: g.code,
                weight: g.weight,
                max_age: g.max_age.map(|a| small(v, &format!("{f}.maxAge"), a)),
                genders: g.genders.iter().enumerate().map(|(k, &x)| gender(v, &format!("{f}.genders[{k}]"), x)).collect(),
            }
        })
        .collect();
    // Unset takes REST's defaults (a JSON field left out).
    Principles {
        groups,
        rank_decay: p.rank_decay.unwrap_or(0.25),
        max_hours_per_association: p.max_hours_per_association,
        one_session_per_team_per_day: p.one_session_per_team_per_day.unwrap_or(true),
        description: p.description,
    }
}

fn round_in(r: pb::Round) -> std::result::Result<RoundInput, Error> {
    let mut v = Violations::default();
    let breaks = r
        .breaks
        .into_iter()
        .enumerate()
        .map(|(i, b)| Break {
            from: date(&mut v, &format!("breaks[{i}].from"), &b.from),
            to: date(&mut v, &format!("breaks[{i}].to"), &b.to),
            name: b.name,
        })
        .collect();
    let units = r
        .units
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let f = format!("units[{i}]");
            RoundUnit {
                unit_id: uuid(&mut v, &format!("{f}.unitId"), &u.unit_id),
                activities: u.activities,
                hours: day_times(&mut v, &format!("{f}.hours"), u.hours),
                blocks: day_times(&mut v, &format!("{f}.blocks"), u.blocks),
            }
        })
        .collect();
    let input = RoundInput {
        municipality_code: r.municipality_code,
        name: r.name,
        season_start: date(&mut v, "seasonStart", &r.season_start),
        season_end: date(&mut v, "seasonEnd", &r.season_end),
        breaks,
        applications_open: instant(&mut v, "applicationsOpen", r.applications_open.as_ref()),
        applications_close: instant(&mut v, "applicationsClose", r.applications_close.as_ref()),
        grid_minutes: if r.grid_minutes == 0 { 30 } else { small(&mut v, "gridMinutes", r.grid_minutes) },
        units,
        principles: principles_in(&mut v, "principles", r.principles),
    };
    v.finish()?;
    Ok(input)
}

fn application_in(a: pb::AllocationApplication) -> std::result::Result<ApplicationInput, Error> {
    let mut v = Violations::default();
    let association_id = uuid(&mut v, "associationId", &a.association_id);
    let team = match a.team {
        None => {
            v.add("team", "required", "must be set");
            None
        }
        Some(t) => Some(Team {
            name: t.name,
            activity: t.activity,
            age_from: small(&mut v, "team.ageFrom", t.age_from),
            age_to: small(&mut v, "team.ageTo", t.age_to),
            gender: gender(&mut v, "team.gender", t.gender),
            participants: small(&mut v, "team.participants", t.participants),
            level: t.level,
        }),
    };
    let wishes = a
        .wishes
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let f = format!("wishes[{i}]");
            let alternatives = w
                .alternatives
                .into_iter()
                .enumerate()
                .map(|(j, alt)| {
                    let g = format!("{f}.alternatives[{j}]");
                    Alternative {
                        day: small(&mut v, &format!("{g}.day"), alt.day),
                        earliest_start: alt.earliest_start,
                        latest_end: alt.latest_end,
                        units: alt.units.iter().enumerate().map(|(k, u)| uuid(&mut v, &format!("{g}.units[{k}]"), u)).collect(),
                    }
                })
                .collect();
            Wish {
                duration_minutes: small(&mut v, &format!("{f}.durationMinutes"), w.duration_minutes),
                times_per_week: if w.times_per_week == 0 { 1 } else { small(&mut v, &format!("{f}.timesPerWeek"), w.times_per_week) },
                alternatives,
            }
        })
        .collect();
    v.finish()?;
    let team = team.ok_or_else(|| Error::Internal("checked above".into()))?;
    Ok(ApplicationInput { association_id, team, wishes })
}

fn slot_in(v: &mut Violations, field: &str, s: pb::AllocationSlot) -> Slot {
    Slot {
        unit_id: uuid(v, &format!("{field}.unitId"), &s.unit_id),
        day: small(v, &format!("{field}.day"), s.day),
        // Empty: a weekly time (REST leaves `date` out).
        date: (!s.date.is_empty()).then(|| date(v, &format!("{field}.date"), &s.date)),
        start: s.start,
        end: s.end,
    }
}

fn match_in(m: pb::MatchRequestInput) -> std::result::Result<MatchInput, Error> {
    let mut v = Violations::default();
    let alternatives = m
        .alternatives
        .into_iter()
        .enumerate()
        .map(|(j, alt)| {
            let g = format!("alternatives[{j}]");
            MatchAlternative {
                date: date(&mut v, &format!("{g}.date"), &alt.date),
                earliest_start: alt.earliest_start,
                latest_end: alt.latest_end,
                units: alt.units.iter().enumerate().map(|(k, u)| uuid(&mut v, &format!("{g}.units[{k}]"), u)).collect(),
            }
        })
        .collect();
    let input = MatchInput { duration_minutes: small(&mut v, "durationMinutes", m.duration_minutes), alternatives, note: m.note };
    v.finish()?;
    Ok(input)
}

fn run_request(r: pb::RunAllocationRequest) -> std::result::Result<RunRequest, Error> {
    let mut v = Violations::default();
    let req = RunRequest {
        label: r.label,
        weights: r.weights.into_iter().collect(),
        base_run: optional_uuid(&mut v, "baseRun", &r.base_run),
        lock_applications: r
            .lock_applications
            .iter()
            .enumerate()
            .map(|(i, a)| uuid(&mut v, &format!("lockApplications[{i}]"), a))
            .collect(),
    };
    v.finish()?;
    Ok(req)
}

fn edit_request(r: pb::EditRunRequest) -> std::result::Result<EditRequest, Error> {
    let mut v = Violations::default();
    let req = EditRequest {
        application_id: uuid(&mut v, "applicationId", &r.application_id),
        wish: small(&mut v, "wish", r.wish),
        session: small(&mut v, "session", r.session),
        slot: r.slot.map(|s| slot_in(&mut v, "slot", s)),
        reason: r.reason,
    };
    v.finish()?;
    Ok(req)
}

// ---- encoding ----

fn id_or_empty(id: Option<Uuid>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

fn status_out(s: RoundStatus) -> i32 {
    let s = match s {
        RoundStatus::Open => pb::RoundStatus::Open,
        RoundStatus::Preliminary => pb::RoundStatus::Preliminary,
        RoundStatus::Final => pb::RoundStatus::Final,
    };
    s as i32
}

fn gender_out(g: Gender) -> i32 {
    let g = match g {
        Gender::Female => pb::TeamGender::Female,
        Gender::Male => pb::TeamGender::Male,
        Gender::Mixed => pb::TeamGender::Mixed,
    };
    g as i32
}

fn day_times_out(times: Vec<DayTime>) -> Vec<pb::DayTime> {
    times.into_iter().map(|t| pb::DayTime { day: u32::from(t.day), from: t.from, to: t.to, reason: t.reason }).collect()
}

fn principles(p: Principles) -> pb::Principles {
    pb::Principles {
        groups: p
            .groups
            .into_iter()
            .map(|g| pb::PriorityGroup {
                code: g.code,
                weight: g.weight,
                max_age: g.max_age.map(u32::from),
                genders: g.genders.into_iter().map(gender_out).collect(),
            })
            .collect(),
        rank_decay: Some(p.rank_decay),
        max_hours_per_association: p.max_hours_per_association,
        one_session_per_team_per_day: Some(p.one_session_per_team_per_day),
        description: p.description,
    }
}

fn round(r: Round) -> pb::Round {
    let i = r.input;
    pb::Round {
        id: r.id.to_string(),
        municipality_code: i.municipality_code,
        name: i.name,
        season_start: i.season_start.to_string(),
        season_end: i.season_end.to_string(),
        breaks: i.breaks.into_iter().map(|b| pb::RoundBreak { from: b.from.to_string(), to: b.to.to_string(), name: b.name }).collect(),
        applications_open: Some(timestamp(i.applications_open)),
        applications_close: Some(timestamp(i.applications_close)),
        grid_minutes: u32::from(i.grid_minutes),
        units: i
            .units
            .into_iter()
            .map(|u| pb::RoundUnit {
                unit_id: u.unit_id.to_string(),
                activities: u.activities,
                hours: day_times_out(u.hours),
                blocks: day_times_out(u.blocks),
            })
            .collect(),
        principles: Some(principles(i.principles)),
        status: status_out(r.status),
        published_run: id_or_empty(r.published_run),
        final_run: id_or_empty(r.final_run),
        version: r.version,
        updated_at: Some(timestamp(r.updated_at)),
    }
}

fn application(a: Application) -> pb::AllocationApplication {
    let i = a.input;
    let t = i.team;
    pb::AllocationApplication {
        id: a.id.to_string(),
        round_id: a.round_id.to_string(),
        association_id: i.association_id.to_string(),
        team: Some(pb::Team {
            name: t.name,
            activity: t.activity,
            age_from: u32::from(t.age_from),
            age_to: u32::from(t.age_to),
            gender: gender_out(t.gender),
            participants: u32::from(t.participants),
            level: t.level,
        }),
        wishes: i
            .wishes
            .into_iter()
            .map(|w| pb::Wish {
                duration_minutes: u32::from(w.duration_minutes),
                times_per_week: u32::from(w.times_per_week),
                alternatives: w
                    .alternatives
                    .into_iter()
                    .map(|alt| pb::WishAlternative {
                        day: u32::from(alt.day),
                        earliest_start: alt.earliest_start,
                        latest_end: alt.latest_end,
                        units: alt.units.iter().map(Uuid::to_string).collect(),
                    })
                    .collect(),
            })
            .collect(),
        association_name: a.association_name,
        status: a.status,
        submitted_at: Some(timestamp(a.submitted_at)),
        version: a.version,
    }
}

fn date_or_empty(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn slot(s: Slot) -> pb::AllocationSlot {
    pb::AllocationSlot { unit_id: s.unit_id.to_string(), day: u32::from(s.day), start: s.start, end: s.end, date: date_or_empty(s.date) }
}

fn why_not(w: WhyNot) -> pb::WhyNot {
    pb::WhyNot {
        alternative: u32::from(w.alternative),
        unit_id: w.unit_id.to_string(),
        rule: w.rule,
        held_by: w.held_by,
        cost: w.cost,
        message: w.message,
        message_sv: w.message_sv,
    }
}

fn decision(d: Decision) -> pb::AllocationDecision {
    pb::AllocationDecision {
        application_id: d.application_id.to_string(),
        association_id: d.association_id.to_string(),
        association_name: d.association_name,
        team: d.team,
        wish: u32::from(d.wish),
        session: u32::from(d.session),
        priority: d.priority,
        groups: d.groups,
        slot: d.slot.map(slot),
        alternative: d.alternative.map(u32::from),
        locked: d.locked,
        why_not: d.why_not.into_iter().map(why_not).collect(),
        match_id: id_or_empty(d.match_id),
    }
}

fn figures(f: RunFigures) -> pb::RunFigures {
    pb::RunFigures {
        objective: f.objective,
        bound: f.bound,
        proven_optimal: f.proven_optimal,
        wanted: f.wanted,
        placed: f.placed,
        first_choice: f.first_choice,
        groups: f
            .groups
            .into_iter()
            .map(|g: GroupFigures| pb::GroupFigures { group: g.group, wanted: g.wanted, placed: g.placed, first_choice: g.first_choice })
            .collect(),
    }
}

fn kind_out(k: RunKind) -> i32 {
    let k = match k {
        RunKind::Training => pb::RunKind::Training,
        RunKind::Matches => pb::RunKind::Matches,
    };
    k as i32
}

fn vendor_check(c: VendorCheck) -> pb::AllocationVendorCheck {
    pb::AllocationVendorCheck {
        unit_id: c.unit_id.to_string(),
        status: c.status,
        message: c.message,
        booked: c
            .booked
            .into_iter()
            .map(|b: BookedTime| pb::AllocationBookedTime {
                day: u32::from(b.day),
                start: b.start,
                end: b.end,
                first_date: b.first_date.to_string(),
                dates: b.dates,
            })
            .collect(),
    }
}

fn run(r: Run) -> pb::AllocationRun {
    pb::AllocationRun {
        id: r.id.to_string(),
        round_id: r.round_id.to_string(),
        label: r.label,
        base_run: id_or_empty(r.base_run),
        principles: Some(principles(r.principles)),
        figures: Some(figures(r.figures)),
        decisions: r.decisions.into_iter().map(decision).collect(),
        created_by: r.created_by,
        created_at: Some(timestamp(r.created_at)),
        kind: kind_out(r.kind),
        vendor_checks: r.vendor_checks.into_iter().map(vendor_check).collect(),
    }
}

fn run_summary(r: RunSummary) -> pb::AllocationRunSummary {
    pb::AllocationRunSummary {
        id: r.id.to_string(),
        label: r.label,
        base_run: id_or_empty(r.base_run),
        principles: Some(principles(r.principles)),
        figures: Some(figures(r.figures)),
        created_by: r.created_by,
        created_at: Some(timestamp(r.created_at)),
        kind: kind_out(r.kind),
    }
}

fn match_request(m: Match) -> pb::MatchRequest {
    let i = m.input;
    pb::MatchRequest {
        id: m.id.to_string(),
        round_id: m.round_id.to_string(),
        application_id: m.application_id.to_string(),
        association_id: m.association_id.to_string(),
        association_name: m.association_name,
        team: m.team,
        duration_minutes: u32::from(i.duration_minutes),
        alternatives: i
            .alternatives
            .into_iter()
            .map(|alt| pb::MatchAlternative {
                date: alt.date.to_string(),
                earliest_start: alt.earliest_start,
                latest_end: alt.latest_end,
                units: alt.units.iter().map(Uuid::to_string).collect(),
            })
            .collect(),
        note: i.note,
        status: m.status,
        slot: m.slot.map(slot),
        decided_run: id_or_empty(m.decided_run),
        why_not: m.why_not.into_iter().map(why_not).collect(),
        submitted_at: Some(timestamp(m.submitted_at)),
        version: m.version,
    }
}

fn comment(c: Comment) -> pb::AllocationComment {
    pb::AllocationComment {
        id: c.id.to_string(),
        application_id: c.application_id.to_string(),
        run_id: c.run_id.to_string(),
        text: c.text,
        created_at: Some(timestamp(c.created_at)),
    }
}

fn public_allocation(a: PublicAllocation) -> pb::PublicAllocation {
    pb::PublicAllocation {
        round_id: a.round_id.to_string(),
        name: a.name,
        municipality_code: a.municipality_code,
        status: status_out(a.status),
        principles: Some(principles(a.principles)),
        sessions: a
            .sessions
            .into_iter()
            .map(|s: PublicSession| pb::PublicSession {
                unit_id: s.slot.unit_id.to_string(),
                day: u32::from(s.slot.day),
                start: s.slot.start,
                end: s.slot.end,
                association_id: s.association_id.to_string(),
                association_name: s.association_name,
                team: s.team,
                activity: s.activity,
            })
            .collect(),
        matches: a
            .matches
            .into_iter()
            .map(|m: PublicMatch| pb::PublicMatch {
                unit_id: m.slot.unit_id.to_string(),
                day: u32::from(m.slot.day),
                date: date_or_empty(m.slot.date),
                start: m.slot.start,
                end: m.slot.end,
                association_id: m.association_id.to_string(),
                association_name: m.association_name,
                team: m.team,
                activity: m.activity,
                note: m.note,
            })
            .collect(),
    }
}

/// The request's id field.
fn id(s: &str) -> std::result::Result<Uuid, tonic::Status> {
    parse_id(s, "id").map_err(status)
}

#[tonic::async_trait]
impl AllocationService for AllocationGrpc {
    async fn list_rounds(&self, req: Request<pb::ListRoundsRequest>) -> Result<pb::ListRoundsResponse> {
        let p = principal(&req);
        let m = req.into_inner().municipality_code;
        let rounds = self.allocations.list_rounds(&p, Some(m.trim()).filter(|m| !m.is_empty())).await.map_err(status)?;
        Ok(Response::new(pb::ListRoundsResponse { rounds: rounds.into_iter().map(round).collect() }))
    }

    async fn get_round(&self, req: Request<pb::GetRoundRequest>) -> Result<pb::GetRoundResponse> {
        let p = principal(&req);
        let r = self.allocations.get_round(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetRoundResponse { round: Some(round(r)) }))
    }

    async fn create_round(&self, req: Request<pb::CreateRoundRequest>) -> Result<pb::CreateRoundResponse> {
        let p = principal(&req);
        let r = req.into_inner().round.ok_or_else(|| status(Error::invalid("round", "required", "must be set")))?;
        if !r.id.is_empty() {
            return Err(status(Error::invalid("round.id", "not_allowed", "the registry assigns ids; leave it empty")));
        }
        let input = round_in(r).map_err(status)?;
        let created = self.allocations.create_round(&p, &input).await.map_err(status)?;
        Ok(Response::new(pb::CreateRoundResponse { round: Some(round(created)) }))
    }

    async fn update_round(&self, req: Request<pb::UpdateRoundRequest>) -> Result<pb::UpdateRoundResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let change = r.round.ok_or_else(|| status(Error::invalid("round", "required", "must be set")))?;
        let round_id = parse_id(&change.id, "round.id").map_err(status)?;
        let expected_version = required_version(r.expected_version, "expectedVersion").map_err(status)?;
        let input = round_in(change).map_err(status)?;
        let updated = self.allocations.update_round(&p, round_id, &input, Some(expected_version)).await.map_err(status)?;
        Ok(Response::new(pb::UpdateRoundResponse { round: Some(round(updated)) }))
    }

    async fn list_applications(&self, req: Request<pb::ListApplicationsRequest>) -> Result<pb::ListApplicationsResponse> {
        let p = principal(&req);
        let list = self.allocations.applications(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::ListApplicationsResponse { applications: list.into_iter().map(application).collect() }))
    }

    async fn submit_application(&self, req: Request<pb::SubmitApplicationRequest>) -> Result<pb::SubmitApplicationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let round_id = id(&r.id)?;
        let a = r.application.ok_or_else(|| status(Error::invalid("application", "required", "must be set")))?;
        let input = application_in(a).map_err(status)?;
        let sent = self.allocations.submit_application(&p, round_id, &input).await.map_err(status)?;
        Ok(Response::new(pb::SubmitApplicationResponse { application: Some(application(sent)) }))
    }

    async fn withdraw_application(&self, req: Request<pb::WithdrawApplicationRequest>) -> Result<pb::WithdrawApplicationResponse> {
        let p = principal(&req);
        let a = self.allocations.withdraw_application(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::WithdrawApplicationResponse { application: Some(application(a)) }))
    }

    async fn list_runs(&self, req: Request<pb::ListRunsRequest>) -> Result<pb::ListRunsResponse> {
        let p = principal(&req);
        let runs = self.allocations.runs(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::ListRunsResponse { runs: runs.into_iter().map(run_summary).collect() }))
    }

    async fn run_allocation(&self, req: Request<pb::RunAllocationRequest>) -> Result<pb::RunAllocationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let round_id = id(&r.id)?;
        let request = run_request(r).map_err(status)?;
        let made = self.with_vendors.run(&p, round_id, &request).await.map_err(status)?;
        Ok(Response::new(pb::RunAllocationResponse { run: Some(run(made)) }))
    }

    async fn get_run(&self, req: Request<pb::GetRunRequest>) -> Result<pb::GetRunResponse> {
        let p = principal(&req);
        let r = self.allocations.get_run(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetRunResponse { run: Some(run(r)) }))
    }

    async fn edit_run(&self, req: Request<pb::EditRunRequest>) -> Result<pb::EditRunResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let run_id = id(&r.id)?;
        let edit = edit_request(r).map_err(status)?;
        let made = self.with_vendors.edit(&p, run_id, &edit).await.map_err(status)?;
        Ok(Response::new(pb::EditRunResponse { run: Some(run(made)) }))
    }

    async fn publish_run(&self, req: Request<pb::PublishRunRequest>) -> Result<pb::PublishRunResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let round_id = id(&r.id)?;
        let run_id = parse_id(&r.run_id, "runId").map_err(status)?;
        let r = self.allocations.publish(&p, round_id, run_id, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::PublishRunResponse { round: Some(round(r)) }))
    }

    async fn finalise_run(&self, req: Request<pb::FinaliseRunRequest>) -> Result<pb::FinaliseRunResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let round_id = id(&r.id)?;
        let run_id = parse_id(&r.run_id, "runId").map_err(status)?;
        let r = self.allocations.finalise(&p, round_id, run_id, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::FinaliseRunResponse { round: Some(round(r)) }))
    }

    async fn add_comment(&self, req: Request<pb::AddCommentRequest>) -> Result<pb::AddCommentResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let c = self.allocations.comment(&p, id(&r.id)?, &r.text).await.map_err(status)?;
        Ok(Response::new(pb::AddCommentResponse { comment: Some(comment(c)) }))
    }

    async fn list_comments(&self, req: Request<pb::ListCommentsRequest>) -> Result<pb::ListCommentsResponse> {
        let p = principal(&req);
        let list = self.allocations.comments(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::ListCommentsResponse { comments: list.into_iter().map(comment).collect() }))
    }

    async fn get_public_allocation(&self, req: Request<pb::GetPublicAllocationRequest>) -> Result<pb::GetPublicAllocationResponse> {
        let p = principal(&req);
        let a = self.allocations.public_allocation(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetPublicAllocationResponse { allocation: Some(public_allocation(a)) }))
    }

    async fn list_series(&self, req: Request<pb::ListSeriesRequest>) -> Result<pb::ListSeriesResponse> {
        let p = principal(&req);
        let list = self.allocations.series(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::ListSeriesResponse { series: list.into_iter().map(series).collect() }))
    }

    async fn retry_series(&self, req: Request<pb::RetrySeriesRequest>) -> Result<pb::RetrySeriesResponse> {
        let p = principal(&req);
        let queued = self.allocations.retry_series(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::RetrySeriesResponse { queued: u32::try_from(queued).unwrap_or(u32::MAX) }))
    }

    async fn list_matches(&self, req: Request<pb::ListMatchesRequest>) -> Result<pb::ListMatchesResponse> {
        let p = principal(&req);
        let list = self.allocations.matches(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::ListMatchesResponse { matches: list.into_iter().map(match_request).collect() }))
    }

    async fn request_match(&self, req: Request<pb::RequestMatchRequest>) -> Result<pb::RequestMatchResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let application_id = id(&r.id)?;
        let m = r.match_request.ok_or_else(|| status(Error::invalid("matchRequest", "required", "must be set")))?;
        let input = match_in(m).map_err(status)?;
        let made = self.allocations.request_match(&p, application_id, &input).await.map_err(status)?;
        Ok(Response::new(pb::RequestMatchResponse { match_request: Some(match_request(made)) }))
    }

    async fn withdraw_match(&self, req: Request<pb::WithdrawMatchRequest>) -> Result<pb::WithdrawMatchResponse> {
        let p = principal(&req);
        let m = self.allocations.withdraw_match(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::WithdrawMatchResponse { match_request: Some(match_request(m)) }))
    }

    async fn run_matches(&self, req: Request<pb::RunMatchesRequest>) -> Result<pb::RunMatchesResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let made = self.with_vendors.run_matches(&p, id(&r.id)?, &r.label).await.map_err(status)?;
        Ok(Response::new(pb::RunMatchesResponse { run: Some(run(made)) }))
    }

    async fn decide_matches(&self, req: Request<pb::DecideMatchesRequest>) -> Result<pb::DecideMatchesResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let round_id = id(&r.id)?;
        let run_id = parse_id(&r.run_id, "runId").map_err(status)?;
        let expected = expected(r.expected_version, "expectedVersion")?;
        let list = self.allocations.decide_matches(&p, round_id, run_id, expected).await.map_err(status)?;
        Ok(Response::new(pb::DecideMatchesResponse { matches: list.into_iter().map(match_request).collect() }))
    }
}

fn series(s: allocation::series::SeriesStatus) -> pb::AllocationSeries {
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    pb::AllocationSeries {
        application_id: s.application_id.to_string(),
        wish: u32::from(s.wish),
        session: u32::from(s.session),
        unit_id: s.unit_id.to_string(),
        day: u32::from(s.day),
        start: s.start,
        end: s.end,
        status: s.status,
        series_id: s.series_id,
        occurrences: s
            .occurrences
            .iter()
            .map(|o| pb::SeriesWeek {
                date: text(o, "date"),
                outcome: text(o, "outcome"),
                reason: text(o, "reason"),
                booking_id: text(o, "bookingId"),
            })
            .collect(),
        message: s.message,
        attempts: s.attempts,
        match_id: id_or_empty(s.match_id),
        date: date_or_empty(s.date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: Error) -> Vec<(String, String)> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| (f.field, f.rule.to_string())).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_slot_takes_its_date_when_given_and_names_a_bad_one() {
        let unit = Uuid::now_v7();
        let weekly =
            pb::AllocationSlot { unit_id: unit.to_string(), day: 4, start: "17:00".into(), end: "18:00".into(), date: String::new() };
        let mut v = Violations::default();
        assert_eq!(slot_in(&mut v, "slot", weekly.clone()).date, None);
        let dated = pb::AllocationSlot { date: "2027-10-08".into(), ..weekly.clone() };
        assert_eq!(slot_in(&mut v, "slot", dated).date, NaiveDate::from_ymd_opt(2027, 10, 8));
        v.finish().unwrap();
        let mut v = Violations::default();
        slot_in(&mut v, "slot", pb::AllocationSlot { date: "8/10 2027".into(), ..weekly });
        assert_eq!(fields(v.finish().unwrap_err()), vec![("slot.date".to_string(), "format".to_string())]);
    }

    #[test]
    fn a_match_request_names_what_does_not_decode_under_the_rest_names() {
        let alternative = |date: &str, units: Vec<String>| pb::MatchAlternative {
            date: date.into(),
            earliest_start: "16:00".into(),
            latest_end: "20:00".into(),
            units,
        };
        let unit = Uuid::now_v7();
        let good = pb::MatchRequestInput {
            duration_minutes: 90,
            alternatives: vec![alternative("2027-10-08", vec![unit.to_string()])],
            note: "Hemmamatch".into(),
        };
        let m = match_in(good.clone()).unwrap();
        assert_eq!(
            (m.duration_minutes, m.alternatives[0].date, m.alternatives[0].units.clone()),
            (90, NaiveDate::from_ymd_opt(2027, 10, 8).unwrap(), vec![unit])
        );
        let bad = pb::MatchRequestInput {
            duration_minutes: 70_000,
            alternatives: vec![alternative("2027-10-08", vec![unit.to_string()]), alternative("", vec!["hall".into()])],
            ..good
        };
        assert_eq!(
            fields(match_in(bad).unwrap_err()),
            [("alternatives[1].date", "required"), ("alternatives[1].units[0]", "format"), ("durationMinutes", "out_of_range")]
                .map(|(f, r)| (f.to_string(), r.to_string()))
        );
    }
}
