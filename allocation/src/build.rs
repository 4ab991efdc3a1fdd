//! From a round and its applications to the optimiser's problem, and from its solution back to
//! decisions in the round's terms, each with its reasons. Also the rules an application must
//! keep, checked when it is sent and again when a round is allocated.

use std::collections::BTreeMap;

use registry_core::validate::Violations;
use uuid::Uuid;

use crate::explain::{Reason, explain};
use crate::model::{ApplicationInput, DayTime, Decision, Gender, GroupFigures, Principles, RunFigures, Slot, Team, WhyNot};
use crate::solver::{Bucket, Demand, Placement, Problem, Solution};

/// The priority group codes the principles may use.
pub const GROUP_CODES: [&str; 5] = ["children_youth", "activity_grant", "underrepresented_gender", "local", "previous_season"];

/// `HH:MM` as minutes since midnight (`24:00` allowed as an end).
pub fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Minutes since midnight as `HH:MM`.
pub fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// What the optimiser needs to know of a unit in a round.
#[derive(Debug, Clone)]
pub struct UnitInfo {
    /// The unit.
    pub id: Uuid,
    /// Its facility.
    pub facility: Uuid,
    /// Its name (for messages).
    pub name: String,
    /// Its capacity, if known.
    pub capacity: Option<i32>,
    /// Activities it suits (empty: any).
    pub activities: Vec<String>,
    /// Per weekday (index 0 = Monday): the allocatable intervals, minutes.
    pub hours: [Vec<(u16, u16)>; 7],
    /// Per weekday: blocked intervals.
    pub blocks: [Vec<(u16, u16)>; 7],
    /// Per weekday: intervals its booking system has booked (in some week of the season).
    pub booked: [Vec<(u16, u16)>; 7],
}

impl UnitInfo {
    /// Weekly intervals as given (validated by the round's checks).
    pub fn week(times: &[DayTime]) -> [Vec<(u16, u16)>; 7] {
        let mut out: [Vec<(u16, u16)>; 7] = Default::default();
        for t in times {
            if let (Some(a), Some(b)) = (minutes(&t.from), minutes(&t.to))
                && (1..=7).contains(&t.day)
                && a < b
            {
                out[usize::from(t.day - 1)].push((a, b));
            }
        }
        for d in &mut out {
            d.sort_unstable();
        }
        out
    }

    /// The starts on `grid` in `[earliest, latest_end − duration]` that lie within the unit's
    /// hours and touch no block and nothing booked at its vendor.
    pub fn starts(&self, day: u8, earliest: u16, latest_end: u16, duration: u16, grid: u16) -> Vec<u16> {
        self.starts_avoiding(day, earliest, latest_end, duration, grid, &self.booked[usize::from(day - 1)])
    }

    /// As [`Self::starts`], avoiding `taken` instead of what is booked at the vendor.
    pub fn starts_avoiding(&self, day: u8, earliest: u16, latest_end: u16, duration: u16, grid: u16, taken: &[(u16, u16)]) -> Vec<u16> {
        let i = usize::from(day - 1);
        let mut out = Vec::new();
        let mut s = earliest.div_ceil(grid) * grid;
        while s + duration <= latest_end {
            let inside = self.hours[i].iter().any(|&(a, b)| a <= s && s + duration <= b);
            let blocked = self.blocks[i].iter().chain(taken).any(|&(a, b)| s < b && a < s + duration);
            if inside && !blocked {
                out.push(s);
            }
            s += grid;
        }
        out
    }

    /// Whether the unit suits a team: `None` if it does, else the rule it breaks.
    pub fn unsuitable(&self, team: &Team) -> Option<&'static str> {
        if !self.activities.is_empty() && !self.activities.contains(&team.activity) {
            return Some("unsuitable_activity");
        }
        if self.capacity.is_some_and(|c| c < i32::from(team.participants)) {
            return Some("too_small");
        }
        None
    }
}

/// Checks an application against its round's units and rules, adding every problem to `v`.
pub fn check_application(v: &mut Violations, units: &BTreeMap<Uuid, UnitInfo>, grid: u16, a: &ApplicationInput) {
    let t = &a.team;
    v.required_text("team.name", &t.name, 100);
    if !registry_core::codes::is_activity(&t.activity) {
        v.add("team.activity", "unknown_code", format!("'{}' is not an activity code (GET /v1/codes/activities)", t.activity));
    }
    if t.age_from > t.age_to || t.age_to > 120 {
        v.add("team.ageTo", "out_of_range", "must be at least ageFrom and at most 120");
    }
    if !(1..=500).contains(&t.participants) {
        v.add("team.participants", "out_of_range", "must be between 1 and 500");
    }
    v.optional_text("team.level", &t.level, 100);
    if a.wishes.is_empty() || a.wishes.len() > 5 {
        v.add("wishes", "count", "give 1 to 5 wanted weekly times");
    }
    let sessions: u32 = a.wishes.iter().map(|w| u32::from(w.times_per_week)).sum();
    if sessions > 7 {
        v.add("wishes", "count", format!("at most 7 sessions a week in all (got {sessions})"));
    }
    for (i, w) in a.wishes.iter().enumerate() {
        let f = format!("wishes[{i}]");
        if !(30..=300).contains(&w.duration_minutes) || w.duration_minutes % grid != 0 {
            v.add(
                format!("{f}.durationMinutes"),
                "out_of_range",
                format!("must be 30 to 300 minutes, a multiple of the round's grid ({grid} minutes)"),
            );
        }
        if !(1..=5).contains(&w.times_per_week) {
            v.add(format!("{f}.timesPerWeek"), "out_of_range", "must be 1 to 5");
        }
        if w.alternatives.is_empty() || w.alternatives.len() > 5 {
            v.add(format!("{f}.alternatives"), "count", "give 1 to 5 alternatives, best first");
        }
        let mut windows: Vec<(u8, u16, u16, &[Uuid])> = Vec::new();
        for (j, alt) in w.alternatives.iter().enumerate() {
            let g = format!("{f}.alternatives[{j}]");
            if !(1..=7).contains(&alt.day) {
                v.add(format!("{g}.day"), "out_of_range", "must be 1 (Monday) to 7 (Sunday)");
                continue;
            }
            let (Some(from), Some(to)) = (minutes(&alt.earliest_start), minutes(&alt.latest_end)) else {
                v.add(format!("{g}.earliestStart"), "format", "earliestStart and latestEnd must be HH:MM");
                continue;
            };
            if to < from + w.duration_minutes {
                v.add(format!("{g}.latestEnd"), "order", format!("must leave at least {} minutes after earliestStart", w.duration_minutes));
                continue;
            }
            if alt.units.is_empty() || alt.units.len() > 10 {
                v.add(format!("{g}.units"), "count", "name 1 to 10 units of the round");
            }
            for (k, u) in alt.units.iter().enumerate() {
                let h = format!("{g}.units[{k}]");
                let Some(unit) = units.get(u) else {
                    v.add(h, "not_in_round", format!("unit {u} is not in this round"));
                    continue;
                };
                if let Some(rule) = unit.unsuitable(t) {
                    let msg = if rule == "too_small" {
                        format!("{} takes {} people; the team has {}", unit.name, unit.capacity.unwrap_or(0), t.participants)
                    } else {
                        format!("{} does not suit {} (it suits {})", unit.name, t.activity, unit.activities.join(", "))
                    };
                    v.add(h, rule, msg);
                } else if unit.starts_avoiding(alt.day, from, to, w.duration_minutes, grid, &[]).is_empty() {
                    v.add(
                        h,
                        "outside_hours",
                        format!(
                            "{} cannot be allocated {} minutes between {} and {} on day {} (its hours and blocks)",
                            unit.name, w.duration_minutes, alt.earliest_start, alt.latest_end, alt.day
                        ),
                    );
                }
            }
            if let Some(other) =
                windows.iter().position(|&(d, a, b, us)| d == alt.day && a < to && from < b && us.iter().any(|u| alt.units.contains(u)))
            {
                v.add(
                    g,
                    "overlapping_alternatives",
                    format!("overlaps alternative {other} (same day, unit and time): name each time once"),
                );
            }
            windows.push((alt.day, from, to, &alt.units));
        }
    }
}

/// A team's priority under the principles: points (1,000 per unit of weight, base 1) and the
/// groups it belongs to.
pub fn priority(p: &Principles, team: &Team, local: bool, previous: bool) -> (i64, Vec<String>) {
    let mut points = 1000i64;
    let mut groups = Vec::new();
    for g in &p.groups {
        let member = match g.code.as_str() {
            "children_youth" => team.age_to <= g.max_age.unwrap_or(20),
            "activity_grant" => team.age_from <= 25 && team.age_to >= 7 && team.participants >= 3,
            "underrepresented_gender" => {
                if g.genders.is_empty() {
                    team.gender == Gender::Female
                } else {
                    g.genders.contains(&team.gender)
                }
            }
            "local" => local,
            "previous_season" => previous,
            _ => false,
        };
        if member {
            points += (g.weight * 1000.0).round() as i64;
            groups.push(g.code.clone());
        }
    }
    (points, groups)
}

/// An application as the builder sees it.
#[derive(Debug, Clone)]
pub struct Applicant {
    /// The application's id.
    pub id: Uuid,
    /// As sent.
    pub input: ApplicationInput,
    /// The association's name.
    pub association_name: String,
    /// Whether the association is based in the round's municipality.
    pub local: bool,
    /// Whether the team had a time in the previous final round.
    pub previous: bool,
}

/// A session kept where it is: a decided one, or one placed by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The application.
    pub application: Uuid,
    /// The wish.
    pub wish: u16,
    /// The session.
    pub session: u16,
    /// Where.
    pub slot: Slot,
}

/// One demand's origin.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) app: usize,
    /// The match request (runs of match times).
    pub(crate) match_id: Option<Uuid>,
    pub(crate) wish: u16,
    pub(crate) session: u16,
    /// Per option: (alternative rank, unit id); a staff placement outside the wish has rank
    /// `u16::MAX`.
    pub(crate) options: Vec<(u16, Uuid)>,
    /// Hard-rule refusals: (alternative, unit, rule).
    pub(crate) refused: Vec<(u16, Uuid, &'static str)>,
    pub(crate) groups: Vec<String>,
}

/// The optimiser's problem for a round, with the way back.
pub struct Built {
    /// The problem.
    pub problem: Problem,
    pub(crate) origins: Vec<Origin>,
    pub(crate) applicants: Vec<Applicant>,
    pub(crate) units: BTreeMap<Uuid, UnitInfo>,
    /// Per unit index, the unit (several indices per unit in runs of match times: one per date).
    pub(crate) unit_ids: Vec<Uuid>,
    /// Per unit index, its date (runs of match times).
    pub(crate) unit_dates: Vec<Option<chrono::NaiveDate>>,
}

/// Builds the problem.
pub fn build(principles: &Principles, grid: u16, units: BTreeMap<Uuid, UnitInfo>, applicants: Vec<Applicant>, locks: &[Lock]) -> Built {
    let unit_ids: Vec<Uuid> = units.keys().copied().collect();
    let unit_index = |u: &Uuid| unit_ids.binary_search(u).ok().map(|i| i as u32);
    let mut associations: Vec<Uuid> = applicants.iter().map(|a| a.input.association_id).collect();
    associations.sort_unstable();
    associations.dedup();
    let cap = principles.max_hours_per_association.map(|h| (h * 60.0).round() as u32);
    let mut demands = Vec::new();
    let mut origins = Vec::new();
    for (ai, a) in applicants.iter().enumerate() {
        let (points, groups) = priority(principles, &a.input.team, a.local, a.previous);
        let association = associations.binary_search(&a.input.association_id).expect("listed") as u32;
        for (wi, w) in a.input.wishes.iter().enumerate() {
            for session in 0..u16::from(w.times_per_week) {
                let mut options = Vec::new();
                let mut origin = Origin {
                    app: ai,
                    match_id: None,
                    wish: wi as u16,
                    session,
                    options: Vec::new(),
                    refused: Vec::new(),
                    groups: groups.clone(),
                };
                for (rank, alt) in w.alternatives.iter().enumerate() {
                    let rank = rank as u16;
                    let (Some(from), Some(to)) = (minutes(&alt.earliest_start), minutes(&alt.latest_end)) else { continue };
                    let value = ((points as f64) * (1.0 - principles.rank_decay * f64::from(rank))).round().max(1.0) as i64;
                    for u in &alt.units {
                        let (Some(info), Some(ui)) = (units.get(u), unit_index(u)) else { continue };
                        if let Some(rule) = info.unsuitable(&a.input.team) {
                            origin.refused.push((rank, *u, rule));
                            continue;
                        }
                        let starts = info.starts(alt.day, from, to, w.duration_minutes, grid);
                        if starts.is_empty() {
                            let open = !info.starts_avoiding(alt.day, from, to, w.duration_minutes, grid, &[]).is_empty();
                            origin.refused.push((rank, *u, if open { "booked_at_vendor" } else { "closed" }));
                            continue;
                        }
                        if options.iter().any(|b: &Bucket| b.unit == ui && b.day == alt.day) {
                            continue;
                        }
                        options.push(Bucket { rank, unit: ui, day: alt.day, starts, value });
                        origin.options.push((rank, *u));
                    }
                }
                // Values must not rise along the list (a later alternative worth as much is fine).
                let mut fixed = None;
                if let Some(l) = locks.iter().find(|l| l.application == a.id && l.wish == wi as u16 && l.session == session)
                    && let (Some(ui), Some(start)) = (unit_index(&l.slot.unit_id), minutes(&l.slot.start))
                {
                    match options.iter().position(|b| b.unit == ui && b.day == l.slot.day && b.starts.binary_search(&start).is_ok()) {
                        Some(k) => fixed = Some(Placement { option: k as u32, start }),
                        None => {
                            options.push(Bucket { rank: u16::MAX, unit: ui, day: l.slot.day, starts: vec![start], value: 1 });
                            origin.options.push((u16::MAX, l.slot.unit_id));
                            fixed = Some(Placement { option: options.len() as u32 - 1, start });
                        }
                    }
                }
                demands.push(Demand { team: ai as u32, association, duration: w.duration_minutes, priority: points, options, fixed });
                origins.push(origin);
            }
        }
    }
    let problem = Problem {
        demands,
        units: unit_ids.len() as u32,
        teams: applicants.len() as u32,
        caps: vec![cap; associations.len()],
        one_session_per_team_day: principles.one_session_per_team_per_day,
    };
    let unit_dates = vec![None; unit_ids.len()];
    Built { problem, origins, applicants, units, unit_ids, unit_dates }
}

impl Built {
    fn who(&self, d: u32) -> String {
        let o = &self.origins[d as usize];
        let a = &self.applicants[o.app];
        format!("{}: {} ({})", a.association_name, a.input.team.name, self.problem.demands[d as usize].priority)
    }

    fn unit_name(&self, u: &Uuid) -> &str {
        self.units.get(u).map_or("?", |x| x.name.as_str())
    }

    /// The decisions of a solution, each with its reasons, and the run's figures.
    pub fn decisions(&self, s: &Solution) -> (Vec<Decision>, RunFigures) {
        let why = explain(&self.problem, s);
        let mut out = Vec::with_capacity(self.origins.len());
        let mut groups: BTreeMap<String, GroupFigures> = BTreeMap::new();
        let (mut placed, mut first) = (0, 0);
        for (d, o) in self.origins.iter().enumerate() {
            let dem = &self.problem.demands[d];
            let a = &self.applicants[o.app];
            let got = s.placements[d];
            let slot = got.map(|pl| {
                let b = &dem.options[pl.option as usize];
                Slot {
                    unit_id: self.unit_ids[b.unit as usize],
                    day: b.day,
                    date: self.unit_dates[b.unit as usize],
                    start: hhmm(pl.start),
                    end: hhmm(pl.start + dem.duration),
                }
            });
            let rank = got.map(|pl| o.options[pl.option as usize].0);
            let alternative = rank.filter(|&r| r != u16::MAX);
            placed += u32::from(got.is_some());
            first += u32::from(alternative == Some(0));
            for g in &o.groups {
                let f = groups.entry(g.clone()).or_insert_with(|| GroupFigures { group: g.clone(), wanted: 0, placed: 0, first_choice: 0 });
                f.wanted += 1;
                f.placed += u32::from(got.is_some());
                f.first_choice += u32::from(alternative == Some(0));
            }
            let mut why_not = Vec::new();
            // Hard rules first (they hold whatever the others want), then the optimiser's reasons.
            for &(alt, unit, rule) in &o.refused {
                if rank.is_some_and(|r| r <= alt) {
                    continue;
                }
                let name = self.unit_name(&unit);
                let (en, sv) = match rule {
                    "unsuitable_activity" => {
                        let code = &a.input.team.activity;
                        let known = registry_core::codes::activities().iter().find(|c| &c.code == code);
                        let (en, sv) = known.map_or((code.as_str(), code.as_str()), |c| (c.name_en.as_str(), c.name_sv.as_str()));
                        (format!("{name} does not suit {}", en.to_lowercase()), format!("{name} passar inte för {}", sv.to_lowercase()))
                    }
                    "too_small" => (
                        format!("{name} is too small for {} people", a.input.team.participants),
                        format!("{name} är för liten för {} personer", a.input.team.participants),
                    ),
                    "booked_at_vendor" if o.match_id.is_some() => (
                        format!("{name} is booked in its booking system at the time wanted"),
                        format!("{name} är bokad i bokningssystemet på önskad tid"),
                    ),
                    "booked_at_vendor" => (
                        format!("{name} is booked in its booking system at the time wanted in at least one week of the season"),
                        format!("{name} är bokad i bokningssystemet på önskad tid minst en vecka under säsongen"),
                    ),
                    "training" => (format!("{name} is allocated to training times then"), format!("{name} är fördelad som träningstid då")),
                    "match_decided" => {
                        (format!("{name} is allocated to another match then"), format!("{name} är fördelad till en annan match då"))
                    }
                    _ => {
                        (format!("{name} is closed or blocked at the time wanted"), format!("{name} är stängd eller spärrad på önskad tid"))
                    }
                };
                why_not.push(WhyNot {
                    alternative: alt,
                    unit_id: unit,
                    rule: rule.into(),
                    held_by: vec![],
                    cost: None,
                    message: en,
                    message_sv: sv,
                });
            }
            for (opt, reason) in &why[d].better {
                let (alt, unit) = o.options[*opt as usize];
                let name = self.unit_name(&unit).to_string();
                let w = match reason {
                    Reason::TeamBusy { other } => WhyNot {
                        alternative: alt,
                        unit_id: unit,
                        rule: "team_busy".into(),
                        held_by: vec![self.who(*other)],
                        cost: None,
                        message: "the team already trains that day (one session a day)".into(),
                        message_sv: "laget tränar redan den dagen (ett pass per dag)".into(),
                    },
                    Reason::CapReached { used, cap } => WhyNot {
                        alternative: alt,
                        unit_id: unit,
                        rule: "cap_reached".into(),
                        held_by: vec![],
                        cost: None,
                        message: format!("the association has {} of its {} hours a week", f64::from(*used) / 60.0, f64::from(*cap) / 60.0),
                        message_sv: format!(
                            "föreningen har {} av sina {} timmar i veckan",
                            f64::from(*used) / 60.0,
                            f64::from(*cap) / 60.0
                        ),
                    },
                    Reason::Locked { by } => WhyNot {
                        alternative: alt,
                        unit_id: unit,
                        rule: "locked".into(),
                        held_by: by.iter().map(|&e| self.who(e)).collect(),
                        cost: None,
                        message: format!("{name} is held by decided times"),
                        message_sv: format!("{name} är upptagen av beslutade tider"),
                    },
                    Reason::TakenBy { by, cost } => WhyNot {
                        alternative: alt,
                        unit_id: unit,
                        rule: "taken_by".into(),
                        held_by: by.iter().map(|&(e, _, _)| self.who(e)).collect(),
                        cost: Some(*cost),
                        message: format!(
                            "{name} is allocated to others; giving it to this team would lower the round's total by {cost} points under the principles"
                        ),
                        message_sv: format!(
                            "{name} är fördelad till andra; att ge den till detta lag skulle sänka omgångens summa med {cost} poäng enligt principerna"
                        ),
                    },
                    Reason::NoRoom => WhyNot {
                        alternative: alt,
                        unit_id: unit,
                        rule: "no_room".into(),
                        held_by: vec![],
                        cost: None,
                        message: format!("{name} has no free time long enough in the window"),
                        message_sv: format!("{name} har ingen tillräckligt lång ledig tid i fönstret"),
                    },
                };
                why_not.push(w);
            }
            why_not.sort_by_key(|w| w.alternative);
            out.push(Decision {
                application_id: a.id,
                match_id: o.match_id,
                association_id: a.input.association_id,
                association_name: a.association_name.clone(),
                team: a.input.team.name.clone(),
                wish: o.wish,
                session: o.session,
                priority: dem.priority,
                groups: o.groups.clone(),
                slot,
                alternative,
                locked: dem.fixed.is_some(),
                why_not,
            });
        }
        let figures = RunFigures {
            objective: s.objective,
            bound: s.bound,
            proven_optimal: s.proven_optimal,
            wanted: self.origins.len() as u32,
            placed,
            first_choice: first,
            groups: groups.into_values().collect(),
        };
        (out, figures)
    }
}
