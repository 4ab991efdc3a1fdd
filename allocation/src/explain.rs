//! Why each demand got what it got: for every option better than the one it was given, the
//! rule or the sessions that stood in the way, and what giving it that option would have cost
//! the total (the principles' published weights decide, so the cost is the reason).

use crate::solver::{Placement, Problem, Solution, State};

/// Why a demand did not get one of its better options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its team already trains that day (in this session, another of its wanted times).
    TeamBusy {
        /// The team's session that day.
        other: u32,
    },
    /// Its association has reached its cap of weekly minutes.
    CapReached {
        /// Minutes placed.
        used: u32,
        /// The cap.
        cap: u32,
    },
    /// Other sessions hold the time. Giving it to this demand would push them out, and the
    /// best that could then be done for them leaves the total `cost` lower.
    TakenBy {
        /// The sessions in the window, as (demand, its priority, what its placement is worth).
        by: Vec<(u32, i64, i64)>,
        /// How much the total would fall (0 when it would not, which only happens when the
        /// optimiser's work budget ran out).
        cost: i64,
    },
    /// Locked sessions (decided or placed by staff) hold the time.
    Locked {
        /// The locked sessions in the window.
        by: Vec<u32>,
    },
    /// Nobody holds the window, yet the session does not fit in it as the day is packed
    /// (locked sessions around it).
    NoRoom,
}

/// One demand's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The demand.
    pub demand: u32,
    /// Where it went.
    pub got: Option<Placement>,
    /// For each better option (by index, best first): why not.
    pub better: Vec<(u32, Reason)>,
}

/// Explains every demand of a solution.
pub fn explain(p: &Problem, s: &Solution) -> Vec<Explanation> {
    let mut st = State::new(p);
    for (d, pl) in s.placements.iter().enumerate() {
        st.set(d as u32, *pl);
    }
    st.depth = 1;
    (0..p.demands.len() as u32).map(|d| explain_one(&mut st, d)).collect()
}

fn explain_one(st: &mut State<'_>, d: u32) -> Explanation {
    let p = st.p;
    let dem = &p.demands[d as usize];
    let cur = st.value_of(d);
    let mut better = Vec::new();
    for (o, b) in dem.options.iter().enumerate() {
        if b.value <= cur {
            break;
        }
        let o = o as u32;
        let reason = if !st.team_free(d, b.day) {
            Reason::TeamBusy { other: st.team_session(d, b.day).unwrap_or(d) }
        } else if !st.cap_allows(d) {
            Reason::CapReached { used: st.used[dem.association as usize], cap: p.caps[dem.association as usize].unwrap_or(0) }
        } else {
            let (lo, hi) = (b.starts[0], b.starts[b.starts.len() - 1] + dem.duration);
            let holders: Vec<u32> = st.slots[b.unit as usize * crate::solver::DAYS + usize::from(b.day) - 1]
                .iter()
                .copied()
                .filter(|&e| {
                    let (s, t) = st.interval(e);
                    e != d && s < hi && lo < t
                })
                .collect();
            let locked: Vec<u32> = holders.iter().copied().filter(|&e| p.demands[e as usize].fixed.is_some()).collect();
            if holders.is_empty() {
                Reason::NoRoom
            } else if !locked.is_empty() {
                Reason::Locked { by: locked }
            } else {
                let by = holders.iter().map(|&e| (e, p.demands[e as usize].priority, st.value_of(e))).collect();
                Reason::TakenBy { by, cost: st.cost_of_giving(d, o, &holders).max(0) }
            }
        };
        better.push((o, reason));
    }
    Explanation { demand: d, got: st.at[d as usize], better }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::tests::one;
    use crate::solver::{Budget, solve};

    #[test]
    fn every_better_option_is_explained_with_its_cost() {
        // The high-priority team gives way to two others (its second choice loses 100, they
        // would lose 2,000); the third team's second session is refused by the one-a-day rule
        // and a fourth team wants the very time the first team holds.
        let p = Problem {
            demands: vec![
                one(0, 120, 3000, vec![(0, 1, vec![1080], 3000), (1, 1, vec![1080], 2900)]),
                one(1, 60, 1000, vec![(0, 1, vec![1080], 1000)]),
                one(2, 60, 1000, vec![(0, 1, vec![1140], 1000)]),
                one(2, 60, 1000, vec![(2, 1, vec![1080], 1000), (2, 2, vec![1080], 900)]),
                one(3, 120, 500, vec![(1, 1, vec![1080], 500)]),
            ],
            units: 3,
            teams: 4,
            caps: vec![None],
            one_session_per_team_day: true,
        };
        let s = solve(&p, Budget::default()).unwrap();
        let e = explain(&p, &s);
        // Team 0 got its second choice: the first is held by demands 1 and 2, and taking it
        // would cost the total 2,000 − 100.
        assert_eq!(e[0].got.map(|g| g.option), Some(1));
        assert_eq!(e[0].better, vec![(0, Reason::TakenBy { by: vec![(1, 1000, 1000), (2, 1000, 1000)], cost: 1900 })]);
        assert!(e[1].better.is_empty() && e[2].better.is_empty());
        // Demand 3 (team 2 again) could not train on Monday: its team already does.
        assert_eq!(e[3].got.map(|g| g.option), Some(1));
        assert_eq!(e[3].better, vec![(0, Reason::TeamBusy { other: 2 })]);
        // Demand 4 wanted what team 0 holds; team 0 would have nowhere else to go, so the
        // total would fall by 2,900 − 500.
        assert_eq!(e[4].got, None);
        assert_eq!(e[4].better, vec![(0, Reason::TakenBy { by: vec![(0, 3000, 2900)], cost: 2400 })]);
    }
}
