//! The upper bound and the exact search.
//!
//! **The bound** is a Lagrangian relaxation. With prices on "a demand takes at most one
//! candidate" (λ), "a team trains at most once a day" (μ) and "an association stays within its
//! cap" (ν), what is left falls apart into one problem per unit and day: choose sessions that
//! do not overlap, each worth its value less its prices. That is weighted interval scheduling,
//! solved exactly by a scan over the sessions ordered by end. For any prices ≥ 0,
//! `Σλ + Σμ + Σν·cap + Σ per unit and day` is at least the best total any allocation can reach;
//! subgradient steps move the prices to make it small. Since each unit and day alone is an
//! interval graph, this bound equals the linear relaxation's.
//!
//! **The search** is a branch and bound over candidates (a demand placed at an exact start,
//! or not at all), from the local search's answer, pruning every node whose bound (the same
//! prices, on what is still undecided) cannot beat the best total known. Within its node
//! budget it either proves the best total optimal or finds a better one.

use super::{Placement, Problem};

/// One candidate: a demand at an option's start.
#[derive(Debug, Clone, Copy)]
struct Cand {
    demand: u32,
    option: u32,
    start: u16,
    end: u16,
    slot: u32,
    team_day: u32,
    association: u32,
    value: i64,
}

/// The candidates and, per unit and day, their order by end with each one's predecessor (the
/// last candidate there ending at or before it starts).
pub(super) struct Relaxation {
    cands: Vec<Cand>,
    /// Per unit and day: candidate ids sorted by end, and for each position its predecessor's
    /// position plus one (0 = none).
    slots: Vec<(Vec<u32>, Vec<u32>)>,
    /// Candidate ids per demand.
    by_demand: Vec<Vec<u32>>,
    lambda: Vec<f64>,
    mu: Vec<f64>,
    nu: Vec<f64>,
    caps: Vec<Option<u32>>,
}

impl Relaxation {
    /// Per option of a demand: its value less the prices it pays (the best of its starts).
    pub(super) fn option_scores(&self, p: &Problem, d: u32) -> Vec<f64> {
        let dem = &p.demands[d as usize];
        let mut out = vec![f64::NEG_INFINITY; dem.options.len()];
        for &i in &self.by_demand[d as usize] {
            let c = &self.cands[i as usize];
            out[c.option as usize] = out[c.option as usize].max(self.reduced(c) + self.lambda[d as usize]);
        }
        out
    }

    /// Demand `d`'s price.
    pub(super) fn lambda(&self, d: u32) -> f64 {
        self.lambda[d as usize]
    }

    pub(super) fn new(p: &Problem) -> Self {
        let mut cands = Vec::new();
        let mut by_demand = vec![Vec::new(); p.demands.len()];
        for (d, dem) in p.demands.iter().enumerate() {
            for (o, b) in dem.options.iter().enumerate() {
                for &s in &b.starts {
                    if let Some(f) = dem.fixed
                        && (f.option as usize != o || f.start != s)
                    {
                        continue;
                    }
                    by_demand[d].push(cands.len() as u32);
                    cands.push(Cand {
                        demand: d as u32,
                        option: o as u32,
                        start: s,
                        end: s + dem.duration,
                        slot: super::slot(b.unit, b.day) as u32,
                        team_day: dem.team * super::DAYS as u32 + u32::from(b.day) - 1,
                        association: dem.association,
                        value: b.value,
                    });
                }
            }
        }
        let mut slots: Vec<(Vec<u32>, Vec<u32>)> = vec![(Vec::new(), Vec::new()); p.units as usize * super::DAYS];
        for (i, c) in cands.iter().enumerate() {
            slots[c.slot as usize].0.push(i as u32);
        }
        for (ids, pred) in &mut slots {
            ids.sort_by_key(|&i| (cands[i as usize].end, i));
            *pred = ids.iter().map(|&i| ids.partition_point(|&j| cands[j as usize].end <= cands[i as usize].start) as u32).collect();
        }
        Self {
            cands,
            slots,
            by_demand,
            lambda: vec![0.0; p.demands.len()],
            mu: vec![0.0; p.teams as usize * super::DAYS],
            nu: vec![0.0; p.caps.len()],
            caps: p.caps.clone(),
        }
    }

    fn reduced(&self, c: &Cand) -> f64 {
        let team = if self.mu.is_empty() { 0.0 } else { self.mu[c.team_day as usize] };
        let cap = self.caps[c.association as usize].map_or(0.0, |m| f64::from(c.end - c.start) / f64::from(m.max(1)));
        c.value as f64 - self.lambda[c.demand as usize] - team - self.nu[c.association as usize] * cap
    }

    /// Best weighted interval schedule of one unit and day over the live candidates; pushes
    /// the chosen ones to `chosen` when asked.
    fn schedule(&self, slot: usize, live: &dyn Fn(u32, &Cand) -> bool, best: &mut Vec<f64>, chosen: Option<&mut Vec<u32>>) -> f64 {
        let (ids, pred) = &self.slots[slot];
        best.clear();
        best.push(0.0);
        for (k, &i) in ids.iter().enumerate() {
            let c = &self.cands[i as usize];
            let skip = best[k];
            let take = if live(i, c) {
                let w = self.reduced(c);
                if w > 0.0 { w + best[pred[k] as usize] } else { f64::NEG_INFINITY }
            } else {
                f64::NEG_INFINITY
            };
            best.push(skip.max(take));
        }
        if let Some(out) = chosen {
            let mut k = ids.len();
            while k > 0 {
                if best[k] == best[k - 1] {
                    k -= 1;
                } else {
                    out.push(ids[k - 1]);
                    k = pred[k - 1] as usize;
                }
            }
        }
        best[ids.len()]
    }

    /// Moves the prices towards the smallest bound (subgradient steps, deterministic); returns
    /// the smallest bound seen. `target` is a total some allocation reaches.
    pub(super) fn optimise(&mut self, p: &Problem, target: i64, iterations: u32) -> f64 {
        self.optimise_with(p, target, iterations, &mut |_| None)
    }

    /// As `optimise`, and every 10 steps offers the prices to `heuristic`, which may answer
    /// with a better total some allocation reaches (the steps then aim at it).
    pub(super) fn optimise_with(
        &mut self,
        p: &Problem,
        mut target: i64,
        iterations: u32,
        heuristic: &mut dyn FnMut(&Relaxation) -> Option<i64>,
    ) -> f64 {
        let team_rule = p.one_session_per_team_day;
        if !team_rule {
            self.mu.clear();
        }
        let (mut best_bound, mut theta, mut stale) = (f64::INFINITY, 2.0f64, 0);
        let mut best_prices = (self.lambda.clone(), self.mu.clone(), self.nu.clone());
        let mut scratch = Vec::new();
        let mut chosen = Vec::new();
        let always = |_: u32, _: &Cand| true;
        for it in 0..iterations {
            if it % 10 == 9
                && let Some(better) = heuristic(self)
            {
                target = target.max(better);
            }
            chosen.clear();
            // Caps are priced per share of the cap (Σ minutes / cap ≤ 1), so that their
            // subgradients are on the same scale as the others.
            let mut bound: f64 = self.lambda.iter().sum::<f64>() + self.mu.iter().sum::<f64>() + self.nu.iter().sum::<f64>();
            for slot in 0..self.slots.len() {
                bound += self.schedule(slot, &always, &mut scratch, Some(&mut chosen));
            }
            if bound < best_bound - 1e-9 {
                best_bound = bound;
                best_prices = (self.lambda.clone(), self.mu.clone(), self.nu.clone());
                stale = 0;
            } else {
                stale += 1;
                if stale >= 20 {
                    theta /= 2.0;
                    stale = 0;
                }
            }
            if best_bound - (target as f64) < 0.5 || theta < 1e-4 {
                break;
            }
            // Subgradients: 1 − (times a demand was taken), and likewise per team-day and cap.
            let mut g_l = vec![1.0f64; self.lambda.len()];
            let mut g_m = vec![1.0f64; self.mu.len()];
            let mut g_n: Vec<f64> = self.caps.iter().map(|c| if c.is_some() { 1.0 } else { 0.0 }).collect();
            for &i in &chosen {
                let c = &self.cands[i as usize];
                g_l[c.demand as usize] -= 1.0;
                if team_rule {
                    g_m[c.team_day as usize] -= 1.0;
                }
                if let Some(cap) = self.caps[c.association as usize] {
                    g_n[c.association as usize] -= f64::from(c.end - c.start) / f64::from(cap.max(1));
                }
            }
            // Prices at zero with a positive subgradient cannot go lower: they do not count.
            let clip = |x: f64, g: f64| if x <= 0.0 && g > 0.0 { 0.0 } else { g };
            let norm: f64 = self.lambda.iter().zip(&g_l).map(|(x, g)| clip(*x, *g).powi(2)).sum::<f64>()
                + self.mu.iter().zip(&g_m).map(|(x, g)| clip(*x, *g).powi(2)).sum::<f64>()
                + self.nu.iter().zip(&g_n).map(|(x, g)| clip(*x, *g).powi(2)).sum::<f64>();
            if norm == 0.0 {
                break;
            }
            let step = theta * (bound - target as f64).max(1.0) / norm;
            for (x, g) in self.lambda.iter_mut().zip(&g_l) {
                *x = (*x - step * g).max(0.0);
            }
            for (x, g) in self.mu.iter_mut().zip(&g_m) {
                *x = (*x - step * g).max(0.0);
            }
            for (x, g) in self.nu.iter_mut().zip(&g_n) {
                *x = (*x - step * g).max(0.0);
            }
        }
        (self.lambda, self.mu, self.nu) = best_prices;
        best_bound
    }
}

impl Relaxation {
    /// Reduced-cost fixing: which candidates can still be part of an allocation worth more
    /// than `incumbent`. Forcing a candidate into its unit and day changes the bound by what
    /// that day's best schedule loses; when the bound then falls to the incumbent, no better
    /// allocation uses that candidate.
    fn useful(&self, incumbent: i64, unit: i64) -> (f64, Vec<bool>) {
        let mut bound: f64 = self.lambda.iter().sum::<f64>() + self.mu.iter().sum::<f64>() + self.nu.iter().sum::<f64>();
        let always = |_: u32, _: &Cand| true;
        let mut best = Vec::new();
        let mut forward: Vec<Vec<f64>> = Vec::with_capacity(self.slots.len());
        for slot in 0..self.slots.len() {
            bound += self.schedule(slot, &always, &mut best, None);
            forward.push(best.clone());
        }
        let mut useful = vec![true; self.cands.len()];
        for (slot, (ids, pred)) in self.slots.iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let f = &forward[slot];
            let day_best = f[ids.len()];
            // Best schedule among candidates starting at or after a time.
            let mut by_start = ids.clone();
            by_start.sort_by_key(|&i| (self.cands[i as usize].start, i));
            let mut h = vec![0.0f64; by_start.len() + 1];
            for j in (0..by_start.len()).rev() {
                let c = &self.cands[by_start[j] as usize];
                let next = by_start.partition_point(|&i| self.cands[i as usize].start < c.end);
                let w = self.reduced(c);
                h[j] = h[j + 1].max(if w > 0.0 { w + h[next] } else { f64::NEG_INFINITY });
            }
            for (k, &i) in ids.iter().enumerate() {
                let c = &self.cands[i as usize];
                let after = h[by_start.partition_point(|&x| self.cands[x as usize].start < c.end)];
                let with_c = f[pred[k] as usize] + self.reduced(c) + after;
                if bound - day_best + with_c < (incumbent + unit) as f64 - 1e-6 {
                    useful[i as usize] = false;
                }
            }
        }
        (bound, useful)
    }
}

/// Returns a better allocation than `incumbent` if one exists (within the budget), and whether
/// the search finished (so that the best one known is optimal).
pub(super) fn search(p: &Problem, value: i64, budget: u64, nodes: &mut u64) -> (Option<Vec<Option<Placement>>>, bool) {
    let mut r = Relaxation::new(p);
    let root = r.optimise(p, value, 600);
    let unit = p.demands.iter().flat_map(|d| d.options.iter().map(|b| b.value)).fold(0, super::gcd).max(1);
    if ((root + 1e-6).floor() as i64).div_euclid(unit) * unit <= value {
        return (None, true);
    }
    let (_, useful) = r.useful(value, unit);
    let n = p.demands.len();
    // Most valuable first; locked demands are decided before the search starts.
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|&a, &b| {
        let va = r.by_demand[a as usize].iter().map(|&i| r.cands[i as usize].value).max().unwrap_or(0);
        let vb = r.by_demand[b as usize].iter().map(|&i| r.cands[i as usize].value).max().unwrap_or(0);
        vb.cmp(&va).then(a.cmp(&b))
    });
    let mut s = Node {
        decided: vec![false; n],
        placed: vec![None; n],
        busy: vec![Vec::new(); r.slots.len()],
        team_busy: vec![false; p.teams as usize * super::DAYS],
        used: vec![0; p.caps.len()],
        value: 0,
    };
    let fixed = p.demands.iter().map(|d| d.fixed.is_some()).collect();
    let mut search = Search { r: &r, unit, useful, order, fixed, best: value, best_at: None, nodes: 0, budget, scratch: Vec::new() };
    let finished = search.go(&mut s, 0);
    *nodes += search.nodes;
    (search.best_at, finished)
}

/// The decisions on the way down.
struct Node {
    decided: Vec<bool>,
    placed: Vec<Option<u32>>,
    /// Per unit and day: the intervals placed.
    busy: Vec<Vec<(u16, u16)>>,
    team_busy: Vec<bool>,
    used: Vec<u32>,
    value: i64,
}

struct Search<'r> {
    r: &'r Relaxation,
    /// Every total is a multiple of this.
    unit: i64,
    /// Candidates reduced-cost fixing has not ruled out.
    useful: Vec<bool>,
    order: Vec<u32>,
    /// Locked demands: placed where they are locked whenever that is possible.
    fixed: Vec<bool>,
    best: i64,
    best_at: Option<Vec<Option<Placement>>>,
    nodes: u64,
    budget: u64,
    scratch: Vec<f64>,
}

impl Search<'_> {
    fn live(&self, s: &Node, c: &Cand, i: u32) -> bool {
        self.useful[i as usize]
            && !s.decided[c.demand as usize]
            && !s.team_busy[c.team_day as usize]
            && self.r.caps[c.association as usize].is_none_or(|cap| s.used[c.association as usize] + u32::from(c.end - c.start) <= cap)
            && s.busy[c.slot as usize].iter().all(|&(a, b)| c.end <= a || b <= c.start)
    }

    fn bound(&mut self, s: &Node) -> f64 {
        let r = self.r;
        let mut b = s.value as f64;
        for d in 0..s.decided.len() {
            if !s.decided[d] {
                b += r.lambda[d];
            }
        }
        for (td, m) in r.mu.iter().enumerate() {
            if !s.team_busy[td] {
                b += m;
            }
        }
        for (a, nu) in r.nu.iter().enumerate() {
            if let Some(cap) = r.caps[a] {
                b += nu * f64::from(cap - s.used[a]) / f64::from(cap.max(1));
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let live = |i: u32, c: &Cand| self.live(s, c, i);
        for slot in 0..r.slots.len() {
            b += r.schedule(slot, &live, &mut scratch, None);
        }
        self.scratch = scratch;
        b
    }

    fn go(&mut self, s: &mut Node, k: usize) -> bool {
        self.nodes += 1;
        if self.nodes > self.budget {
            return false;
        }
        // Skip demands already decided (none before the search, but kept general).
        if k == self.order.len() {
            if s.value > self.best {
                self.best = s.value;
                let r = self.r;
                self.best_at = Some(
                    s.placed
                        .iter()
                        .map(|c| c.map(|i| Placement { option: r.cands[i as usize].option, start: r.cands[i as usize].start }))
                        .collect(),
                );
            }
            return true;
        }
        if ((self.bound(s) + 1e-6).floor() as i64).div_euclid(self.unit) * self.unit <= self.best {
            return true;
        }
        let d = self.order[k] as usize;
        let r = self.r;
        let mut options: Vec<u32> = r.by_demand[d].iter().copied().filter(|&i| self.live(s, &r.cands[i as usize], i)).collect();
        options.sort_by(|&a, &b| r.reduced(&r.cands[b as usize]).total_cmp(&r.reduced(&r.cands[a as usize])).then(a.cmp(&b)));
        s.decided[d] = true;
        let locked_here = self.fixed[d] && !options.is_empty();
        for i in options {
            let c = r.cands[i as usize];
            s.placed[d] = Some(i);
            s.busy[c.slot as usize].push((c.start, c.end));
            if !r.mu.is_empty() {
                s.team_busy[c.team_day as usize] = true;
            }
            s.used[c.association as usize] += u32::from(c.end - c.start);
            s.value += c.value;
            let done = self.go(s, k + 1);
            s.value -= c.value;
            s.used[c.association as usize] -= u32::from(c.end - c.start);
            if !r.mu.is_empty() {
                s.team_busy[c.team_day as usize] = false;
            }
            s.busy[c.slot as usize].pop();
            s.placed[d] = None;
            if !done {
                s.decided[d] = false;
                return false;
            }
        }
        let done = locked_here || self.go(s, k + 1);
        s.decided[d] = false;
        done
    }
}
