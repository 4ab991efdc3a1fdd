//! The optimiser: places each wanted weekly time (a demand) in one of its acceptable options,
//! keeping every hard rule, to maximise the total value the principles give the placements.
//!
//! The problem it solves is exactly the exported model (`crate::model_file`): each demand
//! takes at most one candidate (an option's unit, weekday and start); the sessions on one
//! unit and day do not overlap; a team trains at most once a day (when the rule is on); an
//! association's weekly minutes stay under its cap. Maximise the sum of the values.
//!
//! How: a greedy pass in priority order, then local search (moving a demand to a better option
//! after ejecting the one or few demands in the way and placing them again wherever is best
//! for them) until no move improves the total, then, on instances small enough, a branch and
//! bound that proves the optimum or finds it. Inside one unit and day the starts are packed
//! again whenever a newcomer does not fit as things stand (an exact search over the order of
//! the sessions), so a placement is never refused for want of shifting a neighbour.
//!
//! Deterministic: no clocks, no hashing order, no randomness. Work is bounded by counted
//! steps, not time, so the same input gives the same output on any machine.

/// Days of the week (ISO: 1 = Monday … 7 = Sunday).
pub const DAYS: usize = 7;

/// One allocation instance, in the optimiser's terms (indices, minutes, points).
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// What is wanted.
    pub demands: Vec<Demand>,
    /// How many units (indices `0..units`).
    pub units: u32,
    /// How many teams (indices `0..teams`).
    pub teams: u32,
    /// Per association index: the most minutes a week it may get.
    pub caps: Vec<Option<u32>>,
    /// At most one session per team and day.
    pub one_session_per_team_day: bool,
}

/// One wanted weekly session of a team.
#[derive(Debug, Clone)]
pub struct Demand {
    /// The team's index.
    pub team: u32,
    /// The association's index.
    pub association: u32,
    /// Minutes.
    pub duration: u16,
    /// Priority points (for ordering and explanations; values already include it).
    pub priority: i64,
    /// The acceptable options, best first: values never rise along the list.
    pub options: Vec<Bucket>,
    /// Locked here (a decided or manually edited placement): never moved.
    pub fixed: Option<Placement>,
}

/// One acceptable unit on one weekday, with the starts that keep the hard rules.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The alternative's rank (0 = first choice).
    pub rank: u16,
    /// The unit's index.
    pub unit: u32,
    /// ISO weekday, 1..=7.
    pub day: u8,
    /// Possible starts, minutes since midnight, ascending (opening hours and blocks applied).
    pub starts: Vec<u16>,
    /// What placing the demand here is worth (≥ 1).
    pub value: i64,
}

/// Where a demand is placed: which option, and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Index into the demand's options.
    pub option: u32,
    /// Minutes since midnight.
    pub start: u16,
}

/// How hard the optimiser may work (counted steps, so results do not depend on the machine).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Local search: the most move attempts.
    pub moves: u64,
    /// Ejection chains two deep on instances with at most this many free demands (one deep
    /// otherwise).
    pub chain_demands: usize,
    /// The Lagrangian heuristic runs on instances with at most this many free demands.
    pub lagrange_demands: usize,
    /// Price steps for the bound (and the heuristic, which tries a new allocation every ten).
    pub lagrange_iterations: u32,
    /// Branch and bound runs on instances with at most this many free demands.
    pub exact_demands: usize,
    /// Branch and bound: the most nodes.
    pub exact_nodes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            moves: 4_000_000,
            chain_demands: 2_000,
            lagrange_demands: 2_000,
            lagrange_iterations: 1_000,
            exact_demands: 200,
            exact_nodes: 50_000,
        }
    }
}

/// The optimiser's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Per demand, where it went.
    pub placements: Vec<Option<Placement>>,
    /// The total value.
    pub objective: i64,
    /// No allocation reaches more than this (a Lagrangian bound, or the objective when proven).
    pub bound: i64,
    /// Whether branch and bound proved no better total exists.
    pub proven_optimal: bool,
    /// Work done.
    pub stats: Stats,
}

/// Work done by one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Total after the greedy pass.
    pub greedy_objective: i64,
    /// Move attempts made by local search.
    pub moves_tried: u64,
    /// Moves that improved the total.
    pub moves_made: u64,
    /// Branch-and-bound nodes.
    pub exact_nodes: u64,
}

/// Why a problem cannot be solved as given (a bug in whoever built it, never user input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadProblem(pub String);

impl std::fmt::Display for BadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an inconsistent allocation problem: {}", self.0)
    }
}

impl std::error::Error for BadProblem {}

impl Problem {
    /// Checks the invariants the optimiser relies on.
    pub fn check(&self) -> Result<(), BadProblem> {
        let bad = |s: String| Err(BadProblem(s));
        for (i, d) in self.demands.iter().enumerate() {
            if d.team >= self.teams {
                return bad(format!("demand {i}: team {} of {}", d.team, self.teams));
            }
            if d.association as usize >= self.caps.len() {
                return bad(format!("demand {i}: association {} of {}", d.association, self.caps.len()));
            }
            if d.duration == 0 {
                return bad(format!("demand {i}: no duration"));
            }
            let mut last = i64::MAX;
            for (k, b) in d.options.iter().enumerate() {
                if b.unit >= self.units || !(1..=7).contains(&b.day) || b.value < 1 || b.value > last {
                    return bad(format!("demand {i} option {k}: unit {}, day {}, value {}", b.unit, b.day, b.value));
                }
                if b.starts.is_empty() || b.starts.windows(2).any(|w| w[0] >= w[1]) {
                    return bad(format!("demand {i} option {k}: starts not ascending"));
                }
                if b.starts.iter().any(|&s| u32::from(s) + u32::from(d.duration) > 24 * 60) {
                    return bad(format!("demand {i} option {k}: a session past midnight"));
                }
                last = b.value;
            }
            if let Some(f) = d.fixed {
                let Some(b) = d.options.get(f.option as usize) else {
                    return bad(format!("demand {i}: fixed at option {} of {}", f.option, d.options.len()));
                };
                if b.starts.binary_search(&f.start).is_err() {
                    return bad(format!("demand {i}: fixed at a start its option does not have"));
                }
            }
        }
        Ok(())
    }

    /// The value of a set of placements, or why it breaks a rule.
    pub fn evaluate(&self, placements: &[Option<Placement>]) -> Result<i64, String> {
        if placements.len() != self.demands.len() {
            return Err(format!("{} placements for {} demands", placements.len(), self.demands.len()));
        }
        let mut s = State::new(self);
        for (d, p) in placements.iter().enumerate() {
            let Some(p) = *p else { continue };
            let dem = &self.demands[d];
            let b = dem.options.get(p.option as usize).ok_or_else(|| format!("demand {d}: no option {}", p.option))?;
            if b.starts.binary_search(&p.start).is_err() {
                return Err(format!("demand {d}: start {} not among its option's starts", p.start));
            }
            if let Some(f) = dem.fixed
                && f != p
            {
                return Err(format!("demand {d}: moved from where it was locked"));
            }
            if let Some(e) = s.overlapping(d as u32, b.unit, b.day, p.start, dem.duration) {
                return Err(format!("demand {d} overlaps demand {e} on unit {} day {}", b.unit, b.day));
            }
            if !s.team_free(d as u32, b.day) {
                return Err(format!("demand {d}: its team already trains on day {}", b.day));
            }
            if !s.cap_allows(d as u32) {
                return Err(format!("demand {d}: its association's cap"));
            }
            s.set(d as u32, Some(p));
        }
        for (d, dem) in self.demands.iter().enumerate() {
            if dem.fixed.is_some() && placements[d].is_none() {
                return Err(format!("demand {d}: locked but not placed"));
            }
        }
        Ok(s.value)
    }
}

/// Runs the optimiser.
pub fn solve(p: &Problem, budget: Budget) -> Result<Solution, BadProblem> {
    solve_from(p, None, budget)
}

/// Runs the optimiser from an earlier allocation of the same demands (a what-if rerun after
/// the weights changed): its placements that still keep the rules are the starting point.
pub fn solve_from(p: &Problem, warm: Option<&[Option<Placement>]>, budget: Budget) -> Result<Solution, BadProblem> {
    p.check()?;
    let mut s = State::new(p);
    let mut stats = Stats::default();
    // Locked placements first, as they are (they were valid when locked; if two collide, the
    // later one is dropped and the caller's explanation names it).
    for (d, dem) in p.demands.iter().enumerate() {
        if let Some(f) = dem.fixed {
            let b = &dem.options[f.option as usize];
            if s.overlapping(d as u32, b.unit, b.day, f.start, dem.duration).is_none()
                && s.team_free(d as u32, b.day)
                && s.cap_allows(d as u32)
            {
                s.set(d as u32, Some(f));
            }
        }
    }
    s.undo.clear();
    if let Some(warm) = warm {
        for (d, pl) in warm.iter().enumerate().take(p.demands.len()) {
            let Some(pl) = *pl else { continue };
            let dem = &p.demands[d];
            if dem.fixed.is_some() || s.at[d].is_some() {
                continue;
            }
            let Some(b) = dem.options.get(pl.option as usize) else { continue };
            if b.starts.binary_search(&pl.start).is_ok()
                && s.overlapping(d as u32, b.unit, b.day, pl.start, dem.duration).is_none()
                && s.team_free(d as u32, b.day)
                && s.cap_allows(d as u32)
            {
                s.set(d as u32, Some(pl));
            }
        }
        s.undo.clear();
    }
    let order = priority_order(p);
    for &d in &order {
        if s.at[d as usize].is_none() && p.demands[d as usize].fixed.is_none() {
            s.place_best(d, 0);
        }
    }
    s.undo.clear();
    stats.greedy_objective = s.value;
    let free = p.demands.iter().filter(|d| d.fixed.is_none()).count();
    s.depth = if free <= budget.chain_demands { 2 } else { 1 };
    let mut proven = false;
    let heuristic = free <= budget.lagrange_demands;
    // On large rounds the bound does not feed the search: it is computed on the second core
    // while the local search runs (aiming its steps at the greedy total, so the result does not
    // depend on timing). On small rounds the Lagrangian heuristic needs both, one after the other.
    let parallel = (!heuristic).then(|| {
        let target = s.value;
        std::thread::scope(|scope| {
            let bound = scope.spawn(|| exact::Relaxation::new(p).optimise(p, target, budget.lagrange_iterations));
            s.improve(&order, budget.moves, &mut stats);
            bound.join().expect("the bound's thread")
        })
    });
    if parallel.is_none() {
        s.improve(&order, budget.moves, &mut stats);
    }
    let mut relax = exact::Relaxation::new(p);
    let bound = if let Some(bound) = parallel {
        bound
    } else {
        // Lagrangian heuristic: greedy again in the order the prices suggest (the demands whose
        // places are worth most above their price first, each trying its options in that
        // light), improved by local search; the best allocation found is kept.
        let mut best = s.at.clone();
        let mut best_value = s.value;
        let bound = relax.optimise_with(p, best_value, budget.lagrange_iterations, &mut |r| {
            if !heuristic {
                return None;
            }
            let mut t = State::new(p);
            t.depth = s.depth;
            for (d, dem) in p.demands.iter().enumerate() {
                if dem.fixed.is_some() {
                    t.set(d as u32, s.at[d]);
                }
            }
            let scores: Vec<Vec<f64>> = (0..p.demands.len() as u32).map(|d| r.option_scores(p, d)).collect();
            let mut order: Vec<u32> = (0..p.demands.len() as u32).filter(|&d| p.demands[d as usize].fixed.is_none()).collect();
            let key = |d: u32| scores[d as usize].iter().copied().fold(f64::NEG_INFINITY, f64::max) - r.lambda(d);
            order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
            for &d in &order {
                let mut opts: Vec<u32> = (0..p.demands[d as usize].options.len() as u32).collect();
                opts.sort_by(|&a, &b| scores[d as usize][b as usize].total_cmp(&scores[d as usize][a as usize]).then(a.cmp(&b)));
                for o in opts {
                    if t.try_place(d, o) {
                        break;
                    }
                }
            }
            t.undo.clear();
            let mut st = Stats::default();
            t.improve(&order, budget.moves, &mut st);
            stats.moves_tried += st.moves_tried;
            stats.moves_made += st.moves_made;
            if t.value > best_value {
                best_value = t.value;
                best = t.at.clone();
                Some(best_value)
            } else {
                None
            }
        });
        if best_value > s.value {
            s = State::new(p);
            for (d, pl) in best.iter().enumerate() {
                s.set(d as u32, *pl);
            }
            s.undo.clear();
        }
        bound
    };
    if free <= budget.exact_demands {
        let (best, done) = exact::search(p, s.value, budget.exact_nodes, &mut stats.exact_nodes);
        if let Some(better) = best {
            s = State::new(p);
            for (d, pl) in better.iter().enumerate() {
                s.set(d as u32, *pl);
            }
            s.undo.clear();
        }
        proven = done;
    }
    // Every total is a multiple of the values' greatest common divisor, and so is the best.
    let unit = p.demands.iter().flat_map(|d| d.options.iter().map(|b| b.value)).fold(0, gcd).max(1);
    let bound = if proven { s.value } else { ((bound + 1e-6).floor() as i64).div_euclid(unit) * unit };
    let proven = proven || bound <= s.value;
    Ok(Solution { objective: s.value, placements: s.at, bound: bound.max(s.value), proven_optimal: proven, stats })
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

/// The greedy order: highest priority first, then the most valuable first choice, then the
/// order given (submission order).
pub fn priority_order(p: &Problem) -> Vec<u32> {
    let mut order: Vec<u32> = (0..p.demands.len() as u32).collect();
    order.sort_by_key(|&d| {
        let dem = &p.demands[d as usize];
        (std::cmp::Reverse(dem.priority), std::cmp::Reverse(dem.options.first().map_or(0, |b| b.value)), d)
    });
    order
}

/// The slot index of a unit and day.
fn slot(unit: u32, day: u8) -> usize {
    unit as usize * DAYS + usize::from(day) - 1
}

/// A partial allocation with an undo log.
pub(crate) struct State<'p> {
    pub(crate) p: &'p Problem,
    pub(crate) at: Vec<Option<Placement>>,
    /// Per unit and day: the demands placed there.
    pub(crate) slots: Vec<Vec<u32>>,
    /// Per team and day: sessions placed.
    team_day: Vec<u16>,
    /// Per association: minutes placed.
    pub(crate) used: Vec<u32>,
    pub(crate) value: i64,
    undo: Vec<(u32, Option<Placement>)>,
    /// How deep ejection chains go when placing an ejected demand again.
    pub(crate) depth: u32,
    /// Per unit and day: the demands with an option there, in priority order.
    wanting: Vec<Vec<u32>>,
}

impl<'p> State<'p> {
    pub(crate) fn new(p: &'p Problem) -> Self {
        Self {
            p,
            at: vec![None; p.demands.len()],
            slots: vec![Vec::new(); p.units as usize * DAYS],
            team_day: vec![0; p.teams as usize * DAYS],
            used: vec![0; p.caps.len()],
            value: 0,
            undo: Vec::new(),
            depth: 0,
            wanting: {
                let mut w = vec![Vec::new(); p.units as usize * DAYS];
                for d in priority_order(p) {
                    for b in &p.demands[d as usize].options {
                        let v: &mut Vec<u32> = &mut w[slot(b.unit, b.day)];
                        if v.last() != Some(&d) {
                            v.push(d);
                        }
                    }
                }
                w
            },
        }
    }

    /// The option a demand is placed in.
    pub(crate) fn bucket(&self, d: u32) -> Option<&'p Bucket> {
        self.at[d as usize].map(|pl| &self.p.demands[d as usize].options[pl.option as usize])
    }

    /// What a demand's placement is worth now.
    pub(crate) fn value_of(&self, d: u32) -> i64 {
        self.bucket(d).map_or(0, |b| b.value)
    }

    fn apply(&mut self, d: u32, new: Option<Placement>) {
        let dem = &self.p.demands[d as usize];
        if let Some(b) = self.bucket(d) {
            let (slot, day, value) = (slot(b.unit, b.day), b.day, b.value);
            let v = &mut self.slots[slot];
            if let Some(i) = v.iter().position(|&x| x == d) {
                v.swap_remove(i);
            }
            self.team_day[dem.team as usize * DAYS + usize::from(day) - 1] -= 1;
            self.used[dem.association as usize] -= u32::from(dem.duration);
            self.value -= value;
        }
        self.at[d as usize] = new;
        if let Some(b) = self.bucket(d) {
            let (slot, day, value) = (slot(b.unit, b.day), b.day, b.value);
            let v = &mut self.slots[slot];
            // Kept sorted by demand index: iteration order must not depend on history.
            let i = v.partition_point(|&x| x < d);
            v.insert(i, d);
            self.team_day[dem.team as usize * DAYS + usize::from(day) - 1] += 1;
            self.used[dem.association as usize] += u32::from(dem.duration);
            self.value += value;
        }
    }

    /// Changes a placement, remembering the old one.
    pub(crate) fn set(&mut self, d: u32, new: Option<Placement>) {
        let old = self.at[d as usize];
        if old != new {
            self.undo.push((d, old));
            self.apply(d, new);
        }
    }

    fn mark(&self) -> usize {
        self.undo.len()
    }

    fn rollback(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let (d, old) = self.undo.pop().expect("above the mark");
            self.apply(d, old);
        }
    }

    /// The interval a placed demand occupies.
    pub(crate) fn interval(&self, e: u32) -> (u16, u16) {
        let pl = self.at[e as usize].expect("placed");
        (pl.start, pl.start + self.p.demands[e as usize].duration)
    }

    /// A demand (other than `d`) on this unit and day overlapping `[start, start+duration)`.
    pub(crate) fn overlapping(&self, d: u32, unit: u32, day: u8, start: u16, duration: u16) -> Option<u32> {
        let end = start + duration;
        self.slots[slot(unit, day)].iter().copied().find(|&e| {
            let (s, t) = self.interval(e);
            e != d && s < end && start < t
        })
    }

    /// Whether `d`'s team has no other session on `day` (always true without the rule).
    pub(crate) fn team_free(&self, d: u32, day: u8) -> bool {
        if !self.p.one_session_per_team_day {
            return true;
        }
        let dem = &self.p.demands[d as usize];
        let own = self.bucket(d).is_some_and(|b| b.day == day);
        usize::from(self.team_day[dem.team as usize * DAYS + usize::from(day) - 1]) <= usize::from(own)
    }

    /// The demand of the same team already on `day`.
    pub(crate) fn team_session(&self, d: u32, day: u8) -> Option<u32> {
        let team = self.p.demands[d as usize].team;
        (0..self.p.demands.len() as u32)
            .find(|&e| e != d && self.p.demands[e as usize].team == team && self.bucket(e).is_some_and(|b| b.day == day))
    }

    /// Whether placing `d` (currently unplaced or placed, same duration either way) keeps its
    /// association under its cap.
    pub(crate) fn cap_allows(&self, d: u32) -> bool {
        let dem = &self.p.demands[d as usize];
        match self.p.caps[dem.association as usize] {
            None => true,
            Some(cap) => {
                let own = if self.at[d as usize].is_some() { u32::from(dem.duration) } else { 0 };
                self.used[dem.association as usize] - own + u32::from(dem.duration) <= cap
            }
        }
    }

    /// Places an unplaced `d` in option `o` if the rules allow, shifting the starts of others
    /// on that unit and day if that is what it takes. Logs to the undo log.
    pub(crate) fn try_place(&mut self, d: u32, o: u32) -> bool {
        let dem = &self.p.demands[d as usize];
        let b = &dem.options[o as usize];
        if !self.team_free(d, b.day) || !self.cap_allows(d) {
            return false;
        }
        // As things stand: the earliest start that overlaps nobody.
        let others = &self.slots[slot(b.unit, b.day)];
        let free = b.starts.iter().copied().find(|&s| {
            let end = s + dem.duration;
            others.iter().all(|&e| {
                let (es, ee) = self.interval(e);
                ee <= s || end <= es
            })
        });
        if let Some(s) = free {
            self.set(d, Some(Placement { option: o, start: s }));
            return true;
        }
        if others.is_empty() {
            return false;
        }
        // Otherwise pack the day again with the newcomer.
        let mut items: Vec<(u32, u32, u16, &[u16])> = others
            .iter()
            .map(|&e| {
                let pl = self.at[e as usize].expect("placed");
                let de = &self.p.demands[e as usize];
                let starts: &[u16] = if de.fixed.is_some() {
                    std::slice::from_ref(
                        &de.options[pl.option as usize].starts
                            [de.options[pl.option as usize].starts.binary_search(&pl.start).expect("a fixed start")],
                    )
                } else {
                    &de.options[pl.option as usize].starts
                };
                (e, pl.option, de.duration, starts)
            })
            .collect();
        items.push((d, o, dem.duration, &b.starts));
        let Some(starts) = pack(&items) else { return false };
        for (k, &(e, opt, _, _)) in items.iter().enumerate() {
            self.set(e, Some(Placement { option: opt, start: starts[k] }));
        }
        true
    }

    /// Places an unplaced `d` in its best option that fits, from option `from` on. Returns the
    /// value it got (0 when nothing fits).
    pub(crate) fn place_best(&mut self, d: u32, from: u32) -> i64 {
        let n = self.p.demands[d as usize].options.len() as u32;
        for o in from..n {
            if self.try_place(d, o) {
                return self.p.demands[d as usize].options[o as usize].value;
            }
        }
        0
    }

    /// Local search until no move improves the total or the budget is spent.
    fn improve(&mut self, order: &[u32], budget: u64, stats: &mut Stats) {
        loop {
            let mut improved = false;
            for &d in order {
                if self.p.demands[d as usize].fixed.is_some() {
                    continue;
                }
                if stats.moves_tried >= budget {
                    return;
                }
                if self.better_move(d, stats) {
                    stats.moves_made += 1;
                    improved = true;
                    self.undo.clear();
                }
            }
            if !improved {
                return;
            }
        }
    }

    /// Tries to move `d` to a better option: straight in, or by ejecting what is in the way
    /// and placing it again wherever is best for it. Keeps the first move that raises the total.
    fn better_move(&mut self, d: u32, stats: &mut Stats) -> bool {
        let dem = &self.p.demands[d as usize];
        let cur = self.value_of(d);
        let start_value = self.value;
        let old_slot = self.bucket(d).map(|b| slot(b.unit, b.day));
        for o in 0..dem.options.len() as u32 {
            let b = &dem.options[o as usize];
            if b.value <= cur {
                break;
            }
            stats.moves_tried += 1;
            let m = self.mark();
            self.set(d, None);
            if self.try_place(d, o) {
                self.refill(old_slot.as_slice());
                return true;
            }
            let blockers = self.blockers(d, o);
            let mut tries: Vec<Vec<u32>> = blockers.iter().map(|&e| vec![e]).collect();
            if (2..=4).contains(&blockers.len()) {
                tries.push(blockers.clone());
            }
            for ejected in tries {
                let m2 = self.mark();
                let freed: Vec<usize> =
                    old_slot.into_iter().chain(ejected.iter().filter_map(|&e| self.bucket(e).map(|b| slot(b.unit, b.day)))).collect();
                for &e in &ejected {
                    self.set(e, None);
                }
                if self.try_place(d, o) {
                    let mut again = ejected.clone();
                    again.sort_by_key(|&e| (std::cmp::Reverse(self.p.demands[e as usize].priority), e));
                    let mut avoid = vec![d];
                    avoid.extend(&ejected);
                    for e in again {
                        self.reinsert(e, self.depth, &mut avoid);
                    }
                    if self.value > start_value {
                        self.refill(&freed);
                        return true;
                    }
                }
                self.rollback(m2);
            }
            self.rollback(m);
        }
        false
    }

    /// The demands on an option's unit and day overlapping its window, and the team's other
    /// session that day: what stands between a demand and that option.
    fn blockers(&self, d: u32, o: u32) -> Vec<u32> {
        let dem = &self.p.demands[d as usize];
        let b = &dem.options[o as usize];
        let mut out: Vec<u32> = Vec::new();
        if self.p.one_session_per_team_day
            && let Some(e) = self.team_session(d, b.day)
        {
            out.push(e);
        }
        let (lo, hi) = (b.starts[0], b.starts[b.starts.len() - 1] + dem.duration);
        for &e in &self.slots[slot(b.unit, b.day)] {
            let (s, t) = self.interval(e);
            if s < hi && lo < t && !out.contains(&e) {
                out.push(e);
            }
        }
        out.retain(|&e| self.p.demands[e as usize].fixed.is_none());
        out.sort_by_key(|&e| (self.value_of(e), e));
        out
    }

    /// Places an unplaced `e` where it is worth most, allowing it to push out one other demand
    /// (which is placed again the same way, `depth` levels down) when that gains more than the
    /// best free place. Returns the change in total value.
    fn reinsert(&mut self, e: u32, depth: u32, avoid: &mut Vec<u32>) -> i64 {
        let before = self.value;
        let m = self.mark();
        self.place_best(e, 0);
        let free_gain = self.value - before;
        self.rollback(m);
        let mut best: (i64, Option<(u32, u32)>) = (free_gain, None);
        if depth > 0 {
            let n = self.p.demands[e as usize].options.len() as u32;
            for o in 0..n {
                if self.p.demands[e as usize].options[o as usize].value <= best.0 {
                    break;
                }
                for f in self.blockers(e, o) {
                    if avoid.contains(&f) {
                        continue;
                    }
                    let m = self.mark();
                    self.set(f, None);
                    if self.try_place(e, o) {
                        avoid.push(e);
                        self.reinsert(f, depth - 1, avoid);
                        avoid.pop();
                        let gain = self.value - before;
                        if gain > best.0 {
                            best = (gain, Some((o, f)));
                        }
                    }
                    self.rollback(m);
                }
            }
        }
        match best.1 {
            None => {
                self.place_best(e, 0);
            }
            Some((o, f)) => {
                self.set(f, None);
                let placed = self.try_place(e, o);
                debug_assert!(placed, "a placement just made");
                avoid.push(e);
                self.reinsert(f, depth - 1, avoid);
                avoid.pop();
            }
        }
        self.value - before
    }

    /// How much the total would fall if `d` took option `o` and the `holders` (what stands in
    /// the way) were placed again as well as they can be. Leaves the state as it was.
    pub(crate) fn cost_of_giving(&mut self, d: u32, o: u32, holders: &[u32]) -> i64 {
        let before = self.value;
        let m = self.mark();
        let movable = holders.iter().all(|&e| self.p.demands[e as usize].fixed.is_none());
        self.set(d, None);
        for &e in holders {
            self.set(e, None);
        }
        let cost = if movable && self.try_place(d, o) {
            let mut avoid = vec![d];
            avoid.extend(holders);
            for &e in holders {
                self.reinsert(e, self.depth, &mut avoid);
            }
            before - self.value
        } else {
            // Locked sessions cannot be moved: the time is not to be had.
            i64::MAX
        };
        self.rollback(m);
        cost
    }

    /// After a move, offers the time it freed to the unplaced demands that wanted it there.
    fn refill(&mut self, freed: &[usize]) {
        for &sl in freed {
            for k in 0..self.wanting[sl].len() {
                let e = self.wanting[sl][k];
                if self.at[e as usize].is_none() && self.p.demands[e as usize].fixed.is_none() {
                    self.place_best(e, 0);
                }
            }
        }
    }
}

/// Finds starts for sessions on one unit and day so that none overlap, each among its own
/// starts: `(demand, option, duration, starts)`. Left-shifted schedules are dominant (any
/// feasible schedule stays feasible when each session, in order, moves to its earliest start
/// after the previous one ends), so trying every order with earliest starts is complete.
pub(crate) fn pack(items: &[(u32, u32, u16, &[u16])]) -> Option<Vec<u16>> {
    fn go(items: &[(u32, u32, u16, &[u16])], done: &mut [Option<u16>], left: usize, t: u16, nodes: &mut u32) -> bool {
        if left == 0 {
            return true;
        }
        *nodes += 1;
        if *nodes > 20_000 {
            return false;
        }
        // Any session whose last start is already gone cannot be placed, and the sessions left
        // must fit before the latest end any of them can have.
        let (mut need, mut latest) = (0u32, 0u32);
        for (k, it) in items.iter().enumerate() {
            if done[k].is_none() {
                let last = *it.3.last().expect("starts");
                if last < t {
                    return false;
                }
                need += u32::from(it.2);
                latest = latest.max(u32::from(last) + u32::from(it.2));
            }
        }
        if u32::from(t) + need > latest {
            return false;
        }
        for (k, it) in items.iter().enumerate() {
            if done[k].is_some() {
                continue;
            }
            // Two sessions alike: trying the second first gives nothing new.
            if items[..k].iter().enumerate().any(|(j, o)| done[j].is_none() && o.2 == it.2 && o.3 == it.3) {
                continue;
            }
            let i = it.3.partition_point(|&s| s < t);
            let Some(&s) = it.3.get(i) else { continue };
            done[k] = Some(s);
            if go(items, done, left - 1, s + it.2, nodes) {
                return true;
            }
            done[k] = None;
        }
        false
    }
    let mut done = vec![None; items.len()];
    let mut nodes = 0;
    go(items, &mut done, items.len(), 0, &mut nodes).then(|| done.into_iter().map(|s| s.expect("placed")).collect())
}

mod exact;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::generate::{Shape, problem};

    /// A demand of association 0 with options `(unit, day, starts, value)` ranked in order.
    pub(crate) fn one(team: u32, duration: u16, priority: i64, options: Vec<(u32, u8, Vec<u16>, i64)>) -> Demand {
        let options = options
            .into_iter()
            .enumerate()
            .map(|(r, (unit, day, starts, value))| Bucket { rank: r as u16, unit, day, starts, value })
            .collect();
        Demand { team, association: 0, duration, priority, options, fixed: None }
    }

    #[test]
    fn packing_shifts_a_neighbour_to_make_room() {
        // 18:00 is taken by a session that could as well start at 19:00; the newcomer can only
        // start at 18:00.
        let flexible: &[u16] = &[1080, 1140];
        let fixed: &[u16] = &[1080];
        assert_eq!(pack(&[(0, 0, 60, flexible), (1, 0, 60, fixed)]), Some(vec![1140, 1080]));
        // Three hours of sessions do not fit in two.
        let window: &[u16] = &[1080, 1110, 1140];
        assert_eq!(pack(&[(0, 0, 60, window), (1, 0, 60, window), (2, 0, 60, window)]), None);
    }

    #[test]
    fn greedy_is_improved_to_the_optimum() {
        // The high-priority team takes the only time the two others can use unless it moves to
        // its second choice, which loses less than the two others gain.
        let p = Problem {
            demands: vec![
                one(0, 120, 3000, vec![(0, 1, vec![1080], 3000), (1, 1, vec![1080], 2900)]),
                one(1, 60, 1000, vec![(0, 1, vec![1080], 1000)]),
                one(2, 60, 1000, vec![(0, 1, vec![1140], 1000)]),
            ],
            units: 2,
            teams: 3,
            caps: vec![None],
            one_session_per_team_day: true,
        };
        let greedy =
            solve(&p, Budget { moves: 0, chain_demands: 0, lagrange_demands: 0, lagrange_iterations: 0, exact_demands: 0, exact_nodes: 0 })
                .unwrap();
        assert_eq!(greedy.objective, 3000);
        let s = solve(&p, Budget::default()).unwrap();
        assert_eq!(s.objective, 4900);
        assert!(s.proven_optimal);
        assert_eq!(p.evaluate(&s.placements), Ok(4900));
    }

    #[test]
    fn a_team_trains_once_a_day_and_a_cap_holds() {
        let mut p = Problem {
            demands: vec![
                one(0, 60, 1000, vec![(0, 1, vec![1080], 1000)]),
                one(0, 60, 1000, vec![(1, 1, vec![1080], 1000), (1, 2, vec![1080], 900)]),
            ],
            units: 2,
            teams: 1,
            caps: vec![None],
            one_session_per_team_day: true,
        };
        let s = solve(&p, Budget::default()).unwrap();
        assert_eq!(s.objective, 1900);
        p.caps = vec![Some(60)];
        let s = solve(&p, Budget::default()).unwrap();
        assert_eq!(s.objective, 1000);
        assert_eq!(p.evaluate(&s.placements), Ok(1000));
        assert!(p.evaluate(&[Some(Placement { option: 0, start: 1080 }), Some(Placement { option: 0, start: 1080 })]).is_err());
    }

    #[test]
    fn same_input_same_output() {
        let (p, _, _) = problem(Shape::small(40, 8, 7));
        let a = solve(&p, Budget::default()).unwrap();
        let b = solve(&p, Budget::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(p.evaluate(&a.placements), Ok(a.objective));
        assert!(a.objective >= a.stats.greedy_objective);
    }
}
