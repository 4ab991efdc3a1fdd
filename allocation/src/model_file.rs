//! The allocation model as a file (`registry-allocation-model/1`): the same instance the
//! optimiser solves, written out so that another solver (OR-Tools' CP-SAT in our tests and
//! benchmark) can solve it, and so that a solution can be checked by someone else.
//!
//! ```json
//! {"format": "registry-allocation-model/1",
//!  "demands": [{"id": "d0", "team": "t0", "association": "a0", "durationMinutes": 90,
//!               "candidates": [{"unit": "u3", "day": 1, "start": 1080, "value": 1000}]}],
//!  "associationCaps": [{"association": "a0", "minutes": 600}],
//!  "oneSessionPerTeamPerDay": true}
//! ```
//! Each demand takes at most one candidate; sessions on one unit and day do not overlap; with
//! `oneSessionPerTeamPerDay` a team has at most one session a day; an association's minutes
//! stay within its cap. The objective is the sum of the chosen candidates' values.

use serde_json::{Value, json};

use crate::solver::{Placement, Problem};

/// The format's name.
pub const FORMAT: &str = "registry-allocation-model/1";

/// Names for the model's demands, teams, associations and units (indices when not given).
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Per demand.
    pub demands: Vec<String>,
    /// Per team.
    pub teams: Vec<String>,
    /// Per association.
    pub associations: Vec<String>,
    /// Per unit.
    pub units: Vec<String>,
}

fn name(v: &[String], prefix: &str, i: u32) -> String {
    v.get(i as usize).cloned().unwrap_or_else(|| format!("{prefix}{i}"))
}

/// Writes the model.
pub fn to_json(p: &Problem, names: &Names) -> Value {
    let demands: Vec<Value> = p
        .demands
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let candidates: Vec<Value> = d
                .options
                .iter()
                .enumerate()
                .flat_map(|(k, b)| {
                    // A locked demand has exactly its one candidate.
                    let only = d.fixed.filter(|f| f.option as usize == k).map(|f| f.start);
                    let locked = d.fixed.is_some();
                    b.starts
                        .iter()
                        .filter(move |&&s| !locked || only == Some(s))
                        .map(move |&s| json!({"unit": name(&names.units, "u", b.unit), "day": b.day, "start": s, "value": b.value}))
                })
                .collect();
            json!({
                "id": name(&names.demands, "d", i as u32),
                "team": name(&names.teams, "t", d.team),
                "association": name(&names.associations, "a", d.association),
                "durationMinutes": d.duration,
                "candidates": candidates,
            })
        })
        .collect();
    let caps: Vec<Value> = p
        .caps
        .iter()
        .enumerate()
        .filter_map(|(a, c)| c.map(|m| json!({"association": name(&names.associations, "a", a as u32), "minutes": m})))
        .collect();
    json!({"format": FORMAT, "demands": demands, "associationCaps": caps, "oneSessionPerTeamPerDay": p.one_session_per_team_day})
}

/// A solution in the model's terms: per demand id, the index of its chosen candidate.
pub fn solution_json(p: &Problem, names: &Names, placements: &[Option<Placement>]) -> Value {
    let mut out = serde_json::Map::new();
    for (i, (d, pl)) in p.demands.iter().zip(placements).enumerate() {
        let Some(pl) = pl else { continue };
        let index = if d.fixed.is_some() {
            0
        } else {
            let before: usize = d.options[..pl.option as usize].iter().map(|b| b.starts.len()).sum();
            before + d.options[pl.option as usize].starts.binary_search(&pl.start).unwrap_or(0)
        };
        out.insert(name(&names.demands, "d", i as u32), json!(index));
    }
    json!({"assignments": out})
}
