//! Match times (matchtider) later in the season: the rules a match request keeps, and the
//! optimiser's problem for a round's open requests.
//!
//! A match is wanted on a date, not every week. The optimiser's problem is weekly (units ×
//! weekdays), so each (unit, date) an alternative names becomes a unit of its own on that
//! date's weekday, and each (team, week) a team of its own: two matches overlap only on the
//! same unit and date, and a team plays at most one match a day. What is already taken on a
//! date (the final weekly allocation outside the breaks, matches decided before, bookings at
//! the vendor) is kept out of the starts, and each refusal says which of them it was.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use registry_core::validate::Violations;
use uuid::Uuid;

use crate::build::{Applicant, Built, Origin, UnitInfo, minutes, priority};
use crate::model::{MatchInput, Principles, Team};
use crate::solver::{Bucket, Demand, Problem};

/// Per (unit, date): the intervals taken, minutes since local midnight.
pub type Taken = BTreeMap<(Uuid, NaiveDate), Vec<(u16, u16)>>;

/// What is taken on the dates of a match run, by source (each refusal names its source).
#[derive(Debug, Default)]
pub struct Occupied {
    /// The final weekly allocation (outside the breaks).
    pub training: Taken,
    /// Matches decided before.
    pub decided: Taken,
    /// Bookings at the vendors.
    pub vendor: Taken,
}

/// An open match request as the builder sees it.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// The request.
    pub id: Uuid,
    /// Index of its application in the applicants.
    pub applicant: usize,
    /// As sent.
    pub input: MatchInput,
}

/// Checks a match request against its round (season, units, grid) and team, adding every
/// problem to `v`. `today` is the first date a match may be asked for.
pub fn check_match(
    v: &mut Violations,
    units: &BTreeMap<Uuid, UnitInfo>,
    grid: u16,
    season: (NaiveDate, NaiveDate),
    today: NaiveDate,
    team: &Team,
    m: &MatchInput,
) {
    if !(30..=360).contains(&m.duration_minutes) || !m.duration_minutes.is_multiple_of(grid) {
        v.add("durationMinutes", "out_of_range", format!("must be 30 to 360 minutes, a multiple of the round's grid ({grid} minutes)"));
    }
    v.optional_text("note", &m.note, 200);
    if m.alternatives.is_empty() || m.alternatives.len() > 5 {
        v.add("alternatives", "count", "give 1 to 5 alternatives, best first");
    }
    let mut windows: Vec<(NaiveDate, u16, u16, &[Uuid])> = Vec::new();
    for (j, alt) in m.alternatives.iter().enumerate() {
        let g = format!("alternatives[{j}]");
        if alt.date < season.0 || alt.date > season.1 {
            v.add(format!("{g}.date"), "out_of_range", format!("must lie in the season, {} to {}", season.0, season.1));
            continue;
        }
        if alt.date < today {
            v.add(format!("{g}.date"), "in_the_past", format!("{} has passed", alt.date));
            continue;
        }
        let (Some(from), Some(to)) = (minutes(&alt.earliest_start), minutes(&alt.latest_end)) else {
            v.add(format!("{g}.earliestStart"), "format", "earliestStart and latestEnd must be HH:MM");
            continue;
        };
        if to < from + m.duration_minutes {
            v.add(format!("{g}.latestEnd"), "order", format!("must leave at least {} minutes after earliestStart", m.duration_minutes));
            continue;
        }
        if alt.units.is_empty() || alt.units.len() > 10 {
            v.add(format!("{g}.units"), "count", "name 1 to 10 units of the round");
        }
        let day = alt.date.weekday().number_from_monday() as u8;
        for (k, u) in alt.units.iter().enumerate() {
            let h = format!("{g}.units[{k}]");
            let Some(unit) = units.get(u) else {
                v.add(h, "not_in_round", format!("unit {u} is not in this round"));
                continue;
            };
            if let Some(rule) = unit.unsuitable(team) {
                let msg = if rule == "too_small" {
                    format!("{} takes {} people; the team has {}", unit.name, unit.capacity.unwrap_or(0), team.participants)
                } else {
                    format!("{} does not suit {} (it suits {})", unit.name, team.activity, unit.activities.join(", "))
                };
                v.add(h, rule, msg);
            } else if unit.starts_avoiding(day, from, to, m.duration_minutes, grid, &[]).is_empty() {
                v.add(
                    h,
                    "outside_hours",
                    format!(
                        "{} cannot be allocated {} minutes between {} and {} on {} (its hours and blocks)",
                        unit.name, m.duration_minutes, alt.earliest_start, alt.latest_end, alt.date
                    ),
                );
            }
        }
        if let Some(other) =
            windows.iter().position(|&(d, a, b, us)| d == alt.date && a < to && from < b && us.iter().any(|u| alt.units.contains(u)))
        {
            v.add(g, "overlapping_alternatives", format!("overlaps alternative {other} (same date, unit and time): name each time once"));
        }
        windows.push((alt.date, from, to, &alt.units));
    }
}

/// Builds the problem of a match run: one demand per open request.
pub fn build(
    principles: &Principles,
    grid: u16,
    units: BTreeMap<Uuid, UnitInfo>,
    applicants: Vec<Applicant>,
    wanted: &[Wanted],
    occupied: &Occupied,
) -> Built {
    let mut associations: Vec<Uuid> = applicants.iter().map(|a| a.input.association_id).collect();
    associations.sort_unstable();
    associations.dedup();
    // Units and teams of their own per date and week, numbered as first met (deterministic:
    // the requests come in the order they were sent).
    let mut unit_index: BTreeMap<(Uuid, NaiveDate), u32> = BTreeMap::new();
    let (mut unit_ids, mut unit_dates) = (Vec::new(), Vec::new());
    let mut team_index: BTreeMap<(usize, i32, u32), u32> = BTreeMap::new();
    let none: Vec<(u16, u16)> = Vec::new();
    let mut demands = Vec::new();
    let mut origins = Vec::new();
    for w in wanted {
        let a = &applicants[w.applicant];
        let (points, groups) = priority(principles, &a.input.team, a.local, a.previous);
        let association = associations.binary_search(&a.input.association_id).expect("listed") as u32;
        let mut origin =
            Origin { app: w.applicant, match_id: Some(w.id), wish: 0, session: 0, options: Vec::new(), refused: Vec::new(), groups };
        let mut options: Vec<Bucket> = Vec::new();
        let mut team = None;
        for (rank, alt) in w.input.alternatives.iter().enumerate() {
            let rank = rank as u16;
            let (Some(from), Some(to)) = (minutes(&alt.earliest_start), minutes(&alt.latest_end)) else { continue };
            let day = alt.date.weekday().number_from_monday() as u8;
            let week = alt.date.iso_week();
            let t = {
                let n = team_index.len() as u32;
                *team_index.entry((w.applicant, week.year(), week.week())).or_insert(n)
            };
            let value = ((points as f64) * (1.0 - principles.rank_decay * f64::from(rank))).round().max(1.0) as i64;
            for u in &alt.units {
                let Some(info) = units.get(u) else { continue };
                if let Some(rule) = info.unsuitable(&a.input.team) {
                    origin.refused.push((rank, *u, rule));
                    continue;
                }
                let key = (*u, alt.date);
                let training = occupied.training.get(&key).unwrap_or(&none);
                let decided = occupied.decided.get(&key).unwrap_or(&none);
                let vendor = occupied.vendor.get(&key).unwrap_or(&none);
                let all: Vec<(u16, u16)> = training.iter().chain(decided).chain(vendor).copied().collect();
                let starts = info.starts_avoiding(day, from, to, w.input.duration_minutes, grid, &all);
                if starts.is_empty() {
                    let free =
                        |taken: &[(u16, u16)]| !info.starts_avoiding(day, from, to, w.input.duration_minutes, grid, taken).is_empty();
                    let with_training: Vec<(u16, u16)> = training.iter().chain(decided).copied().collect();
                    let rule = if !free(&[]) {
                        "closed"
                    } else if !free(training) {
                        "training"
                    } else if !free(&with_training) {
                        "match_decided"
                    } else {
                        "booked_at_vendor"
                    };
                    origin.refused.push((rank, *u, rule));
                    continue;
                }
                let ui = {
                    let n = unit_ids.len() as u32;
                    *unit_index.entry(key).or_insert_with(|| {
                        unit_ids.push(*u);
                        unit_dates.push(Some(alt.date));
                        n
                    })
                };
                if options.iter().any(|b| b.unit == ui) {
                    continue;
                }
                // One team per (team, week): the alternatives of one request may lie in
                // different weeks, so the request's team is that of its first usable one.
                team.get_or_insert(t);
                options.push(Bucket { rank, unit: ui, day, starts, value });
                origin.options.push((rank, *u));
            }
        }
        // A request's alternatives in other weeks than its first usable one share that team:
        // the one-match-a-day rule then holds per week of the first choice, which is what the
        // league's schedule fixes.
        demands.push(Demand {
            team: team.unwrap_or(0),
            association,
            duration: w.input.duration_minutes,
            priority: points,
            options,
            fixed: None,
        });
        origins.push(origin);
    }
    let problem = Problem {
        demands,
        units: unit_ids.len() as u32,
        teams: (team_index.len() as u32).max(1),
        caps: vec![None; associations.len()],
        one_session_per_team_day: principles.one_session_per_team_per_day,
    };
    Built { problem, origins, applicants, units, unit_ids, unit_dates }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApplicationInput, Gender, MatchAlternative, PriorityGroup};
    use crate::solver::{Budget, solve};

    fn unit(id: Uuid) -> UnitInfo {
        UnitInfo {
            id,
            facility: Uuid::nil(),
            name: "Hallen".into(),
            capacity: None,
            activities: vec![],
            hours: std::array::from_fn(|_| vec![(8 * 60, 22 * 60)]),
            blocks: Default::default(),
            booked: Default::default(),
        }
    }

    fn applicant(n: u128, age_to: u8) -> Applicant {
        Applicant {
            id: Uuid::from_u128(n),
            input: ApplicationInput {
                association_id: Uuid::from_u128(100 + n),
                team: Team {
                    name: format!("Lag {n}"),
                    activity: "floorball".into(),
                    age_from: 10,
                    age_to,
                    gender: Gender::Mixed,
                    participants: 12,
                    level: String::new(),
                },
                wishes: vec![],
            },
            association_name: format!("Förening {n}"),
            local: true,
            previous: false,
        }
    }

    fn wanted(id: u128, applicant: usize, date: NaiveDate, from: &str, to: &str, minutes: u16, u: Uuid) -> Wanted {
        Wanted {
            id: Uuid::from_u128(id),
            applicant,
            input: MatchInput {
                duration_minutes: minutes,
                alternatives: vec![MatchAlternative { date, earliest_start: from.into(), latest_end: to.into(), units: vec![u] }],
                note: String::new(),
            },
        }
    }

    #[test]
    fn matches_on_one_date_compete_and_each_refusal_names_what_holds_the_time() {
        let hall = Uuid::from_u128(7);
        let saturday = NaiveDate::from_ymd_opt(2027, 10, 2).unwrap();
        let sunday = saturday.succ_opt().unwrap();
        let principles = Principles {
            groups: vec![PriorityGroup { code: "children_youth".into(), weight: 1.0, max_age: Some(15), genders: vec![] }],
            rank_decay: 0.25,
            max_hours_per_association: None,
            one_session_per_team_per_day: true,
            description: String::new(),
        };
        let units = BTreeMap::from([(hall, unit(hall))]);
        // Youth (applicant 0) and adults (applicant 1) want the same Saturday hours: youth wins
        // under the principles. The adults' match on Sunday morning meets a decided match, and
        // one on Sunday afternoon the vendor's booking; youth want two on Sunday evening.
        let wants = vec![
            wanted(1, 1, saturday, "10:00", "12:00", 120, hall),
            wanted(2, 0, saturday, "10:00", "12:00", 120, hall),
            wanted(3, 1, sunday, "10:00", "12:00", 120, hall),
            wanted(4, 1, sunday, "14:00", "16:00", 120, hall),
            wanted(5, 0, sunday, "16:00", "18:00", 120, hall),
            wanted(6, 0, sunday, "18:00", "20:00", 120, hall),
        ];
        let occupied = Occupied {
            training: BTreeMap::new(),
            decided: BTreeMap::from([((hall, sunday), vec![(600, 720)])]),
            vendor: BTreeMap::from([((hall, sunday), vec![(14 * 60, 15 * 60)])]),
        };
        let built = build(&principles, 30, units, vec![applicant(0, 14), applicant(1, 40)], &wants, &occupied);
        let s = solve(&built.problem, Budget::default()).unwrap();
        let (decisions, figures) = built.decisions(&s);
        let by = |n: u128| decisions.iter().find(|d| d.match_id == Some(Uuid::from_u128(n))).unwrap();
        let youth = by(2).slot.as_ref().expect("youth gets Saturday");
        assert_eq!((youth.date, youth.start.as_str(), youth.end.as_str()), (Some(saturday), "10:00", "12:00"));
        assert!(by(1).slot.is_none());
        assert_eq!(by(1).why_not[0].rule, "taken_by");
        assert_eq!(by(3).why_not[0].rule, "match_decided");
        assert_eq!(by(4).why_not[0].rule, "booked_at_vendor");
        // One match a day for a team: one of youth's two Sunday matches is placed.
        let (placed, other) = if by(5).slot.is_some() { (by(5), by(6)) } else { (by(6), by(5)) };
        assert_eq!(placed.slot.as_ref().and_then(|s| s.date), Some(sunday));
        assert!(other.slot.is_none());
        assert_eq!(other.why_not[0].rule, "team_busy");
        assert_eq!((figures.wanted, figures.placed), (6, 2));
    }

    #[test]
    fn a_match_request_is_checked_against_the_season_the_unit_and_the_team() {
        let hall = Uuid::from_u128(7);
        let units = BTreeMap::from([(hall, unit(hall))]);
        let team = applicant(0, 14).input.team;
        let season = (NaiveDate::from_ymd_opt(2027, 8, 16).unwrap(), NaiveDate::from_ymd_opt(2027, 12, 19).unwrap());
        let today = NaiveDate::from_ymd_opt(2027, 9, 1).unwrap();
        let check = |m: &MatchInput| {
            let mut v = Violations::default();
            check_match(&mut v, &units, 30, season, today, &team, m);
            v.finish().err().map(|e| e.to_string()).unwrap_or_default()
        };
        let mut m = wanted(1, 0, NaiveDate::from_ymd_opt(2027, 10, 2).unwrap(), "10:00", "12:00", 120, hall).input;
        assert_eq!(check(&m), "");
        m.alternatives[0].date = NaiveDate::from_ymd_opt(2028, 1, 8).unwrap();
        assert!(check(&m).contains("out_of_range"), "{}", check(&m));
        m.alternatives[0].date = NaiveDate::from_ymd_opt(2027, 8, 28).unwrap();
        assert!(check(&m).contains("in_the_past"), "{}", check(&m));
        m.alternatives[0].date = NaiveDate::from_ymd_opt(2027, 10, 2).unwrap();
        m.alternatives[0].earliest_start = "06:00".into();
        m.alternatives[0].latest_end = "08:00".into();
        assert!(check(&m).contains("outside_hours"), "{}", check(&m));
        m.alternatives[0].units = vec![Uuid::from_u128(8)];
        assert!(check(&m).contains("not_in_round"), "{}", check(&m));
        m.duration_minutes = 45;
        assert!(check(&m).contains("durationMinutes"), "{}", check(&m));
    }
}
