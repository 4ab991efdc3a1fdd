//! Generated rounds for tests and the benchmark: a city's halls and its teams' wishes, the
//! same for the same seed on every machine (a SplitMix64 stream, no dependencies).

use crate::solver::{Bucket, Demand, Problem};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Teams (each with 1–3 weekly sessions wanted, 4 on average at full scale).
    pub teams: u32,
    /// Wanted weekly sessions in all (about).
    pub demands: u32,
    /// Units (halls), in districts of ten.
    pub units: u32,
    /// Start grid in minutes.
    pub grid: u16,
    /// Seed.
    pub seed: u64,
}

impl Shape {
    /// Göteborg's size: about 1,500 teams, 6,000 wanted weekly times, 250 units.
    pub const CITY: Shape = Shape { teams: 1500, demands: 6000, units: 250, grid: 30, seed: 1 };

    /// A small round: `apps` applications (teams) over `units` units.
    pub fn small(apps: u32, units: u32, seed: u64) -> Shape {
        Shape { teams: apps, demands: apps * 2, units, grid: 30, seed }
    }
}

/// A SplitMix64 stream.
pub struct Rng(u64);

impl Rng {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A generated unit's week: per ISO weekday, opening `(from, to)` minutes and one block.
#[derive(Debug, Clone)]
pub struct UnitWeek {
    /// Per weekday 1..=7 (index 0 = Monday): opening hours, if open.
    pub open: [Option<(u16, u16)>; 7],
    /// Per weekday: a blocked interval (school, maintenance), if any.
    pub block: [Option<(u16, u16)>; 7],
}

/// The starts on a grid within `[earliest, latest_end - duration]` that the unit's week allows.
pub fn starts(week: &UnitWeek, day: u8, earliest: u16, latest_end: u16, duration: u16, grid: u16) -> Vec<u16> {
    let i = usize::from(day - 1);
    let Some((open, close)) = week.open[i] else { return Vec::new() };
    let mut out = Vec::new();
    let mut s = earliest.max(open).div_ceil(grid) * grid;
    while s + duration <= latest_end.min(close) {
        let blocked = week.block[i].is_some_and(|(a, b)| s < b && a < s + duration);
        if !blocked {
            out.push(s);
        }
        s += grid;
    }
    out
}

/// The points a priority group adds; the generated teams belong to groups at random.
pub const WEIGHTS: [(&str, i64); 5] =
    [("children_youth", 2000), ("activity_grant", 1000), ("underrepresented_gender", 1000), ("local", 1000), ("previous_season", 1500)];

/// Generates a round as an optimiser problem, with each demand's priority groups.
pub fn problem(shape: Shape) -> (Problem, Vec<UnitWeek>, Vec<Vec<&'static str>>) {
    let mut r = Rng::new(shape.seed);
    let weeks: Vec<UnitWeek> = (0..shape.units)
        .map(|_| {
            let mut open = [None; 7];
            let mut block = [None; 7];
            let late = if r.chance(0.3) { 22 * 60 + 30 } else { 22 * 60 };
            let early = if r.chance(0.2) { 17 * 60 } else { 16 * 60 };
            for (d, o) in open.iter_mut().enumerate() {
                *o = if d < 5 {
                    Some((early, late))
                } else if r.chance(0.5) {
                    Some((9 * 60, 18 * 60))
                } else {
                    None
                };
                if o.is_some() && r.chance(0.08) {
                    let a = 17 * 60 + 30 * r.below(6) as u16;
                    block[d] = Some((a, a + 90));
                }
            }
            UnitWeek { open, block }
        })
        .collect();
    let associations = shape.teams.div_ceil(8).max(1);
    let caps: Vec<Option<u32>> = (0..associations).map(|_| r.chance(0.3).then(|| 60 * (20 + r.below(30) as u32))).collect();
    let districts = shape.units.div_ceil(10).max(1);
    let per_team = f64::from(shape.demands) / f64::from(shape.teams.max(1));
    let mut demands = Vec::new();
    let mut groups = Vec::new();
    for team in 0..shape.teams {
        let association = team % associations;
        let youth = r.chance(0.6);
        let mut g = Vec::new();
        let mut priority = 1000;
        for (name, w) in WEIGHTS {
            let p = match name {
                "children_youth" => youth,
                "activity_grant" => youth || r.chance(0.3),
                "underrepresented_gender" => r.chance(0.35),
                "local" => r.chance(0.9),
                _ => r.chance(0.5),
            };
            if p {
                g.push(name);
                priority += w;
            }
        }
        let district = r.below(u64::from(districts)) as u32;
        let duration: u16 = [60, 90, 90, 120][r.below(4) as usize];
        let (earliest, latest) = if youth { (16 * 60, 20 * 60 + 30) } else { (18 * 60, 22 * 60 + 30) };
        // How many weekly sessions: per_team on average, 1 to 2·per_team.
        let n = {
            let whole = per_team.floor() as u32;
            let extra = r.chance(per_team - per_team.floor());
            (whole + u32::from(extra)).clamp(1, 6)
        };
        let first_day = 1 + r.below(5) as u8;
        for k in 0..n {
            let mut options = Vec::new();
            for rank in 0..3u16 {
                let day = 1 + ((first_day - 1 + k as u8 * 2 + rank as u8 * 3) % if rank == 2 { 7 } else { 5 });
                let units: Vec<u32> =
                    (0..1 + r.below(3) as u32).map(|_| (district * 10 + r.below(10) as u32).min(shape.units - 1)).collect();
                let value = value(priority, rank);
                let mut seen = Vec::new();
                for u in units {
                    if seen.contains(&u) {
                        continue;
                    }
                    seen.push(u);
                    let (e, l) = if day >= 6 { (9 * 60, 18 * 60) } else { (earliest, latest) };
                    let st = starts(&weeks[u as usize], day, e, l, duration, shape.grid);
                    // Two alternatives of one wish never share a unit and day (that is an
                    // overlapping alternative, refused when applying).
                    if !st.is_empty() && !options.iter().any(|b: &Bucket| b.unit == u && b.day == day) {
                        options.push(Bucket { rank, unit: u, day, starts: st, value });
                    }
                }
            }
            demands.push(Demand { team, association, duration, priority, options, fixed: None });
            groups.push(g.clone());
        }
    }
    let p = Problem { demands, units: shape.units, teams: shape.teams, caps, one_session_per_team_day: true };
    (p, weeks, groups)
}

/// A demand's value at an alternative's rank: its priority, less a quarter per rank down.
pub fn value(priority: i64, rank: u16) -> i64 {
    (priority * (100 - 25 * i64::from(rank.min(3))) / 100).max(1)
}

/// Gives a generated problem new weights (a what-if): priorities and values again.
pub fn reweigh(p: &mut Problem, groups: &[Vec<&'static str>], weights: &[(&str, i64)]) {
    for (d, g) in p.demands.iter_mut().zip(groups) {
        d.priority = 1000 + weights.iter().filter(|(n, _)| g.contains(n)).map(|(_, w)| w).sum::<i64>();
        for b in &mut d.options {
            b.value = value(d.priority, b.rank);
        }
    }
}
