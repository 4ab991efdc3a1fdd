//! `make bench-allocation`: a generated round the size of Göteborg's (about 1,500 teams, 6,000
//! wanted weekly times, 250 units), allocated by our optimiser and by OR-Tools' CP-SAT on the
//! same model in the same run. Prints the time, the total against CP-SAT's and against the
//! upper bounds, the share of first choices met, the figures per priority group, and the time
//! to rerun after one weight changed. ALLOCATION_CPSAT_SECONDS sets CP-SAT's time (default: 10,
//! our own target); ALLOCATION_SEED the round.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use allocation::generate::{Shape, WEIGHTS, problem, reweigh};
use allocation::model_file::{Names, to_json};
use allocation::solver::{Budget, Problem, Solution, solve, solve_from};

fn report(p: &Problem, s: &Solution, groups: &[Vec<&str>]) {
    let placed = s.placements.iter().filter(|x| x.is_some()).count();
    let first = p.demands.iter().zip(&s.placements).filter(|(d, x)| x.is_some_and(|x| d.options[x.option as usize].rank == 0)).count();
    let n = p.demands.len() as f64;
    println!(
        "  placed {placed} of {} ({:.1} %), first choice {first} ({:.1} %)",
        p.demands.len(),
        100.0 * placed as f64 / n,
        100.0 * first as f64 / n
    );
    println!("  {:<26} {:>7} {:>8} {:>13}", "priority group", "demands", "placed", "first choice");
    let mut rows: Vec<(&str, Option<&str>)> = WEIGHTS.iter().map(|(g, _)| (*g, Some(*g))).collect();
    rows.push(("(in no group)", None));
    for (name, group) in rows {
        let member = |d: usize| group.map_or(groups[d].is_empty(), |g| groups[d].contains(&g));
        let ds: Vec<usize> = (0..p.demands.len()).filter(|&d| member(d)).collect();
        let got = ds.iter().filter(|&&d| s.placements[d].is_some()).count();
        let first = ds.iter().filter(|&&d| s.placements[d].is_some_and(|x| p.demands[d].options[x.option as usize].rank == 0)).count();
        let pct = |k: usize| if ds.is_empty() { 0.0 } else { 100.0 * k as f64 / ds.len() as f64 };
        println!("  {:<26} {:>7} {:>7.1}% {:>12.1}%", name, ds.len(), pct(got), pct(first));
    }
}

fn main() {
    let seed = std::env::var("ALLOCATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let cpsat_seconds: f64 = std::env::var("ALLOCATION_CPSAT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let shape = Shape { seed, ..Shape::CITY };
    let (mut p, _, groups) = problem(shape);
    let candidates: usize = p.demands.iter().map(|d| d.options.iter().map(|b| b.starts.len()).sum::<usize>()).sum();
    println!(
        "round: {} teams, {} wanted weekly times, {} units, {candidates} candidate placements (30-minute grid), seed {seed}",
        shape.teams,
        p.demands.len(),
        shape.units
    );

    let t = Instant::now();
    let ours = solve(&p, Budget::default()).expect("a generated problem");
    let took = t.elapsed().as_secs_f64();
    println!(
        "ours: {took:.2} s (target ≤ 10 s), total {}, greedy alone {}, Lagrangian upper bound {} (ours / bound {:.3})",
        ours.objective,
        ours.stats.greedy_objective,
        ours.bound,
        ours.objective as f64 / ours.bound as f64
    );
    report(&p, &ours, &groups);
    let t = Instant::now();
    let why = allocation::explain::explain(&p, &ours);
    let reasons: usize = why.iter().map(|e| e.better.len()).sum();
    println!("  explanations: {reasons} better options not given, each with its reason and cost, in {:.2} s", t.elapsed().as_secs_f64());

    // CP-SAT on the same model, in the same run: cold with our time budget, then given our
    // allocation as a hint and more time, for its bound.
    let dir = std::env::temp_dir().join(format!("allocation-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.json");
    let hint = dir.join("ours.json");
    std::fs::write(&model, to_json(&p, &Names::default()).to_string()).unwrap();
    std::fs::write(&hint, allocation::model_file::solution_json(&p, &Names::default(), &ours.placements).to_string()).unwrap();
    let venv = std::env::var_os("REGISTRY_ORTOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/registry-ortools-venv"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/allocation_cpsat.py");
    let hinted_seconds: f64 = std::env::var("ALLOCATION_CPSAT_HINTED_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60.0);
    for (what, seconds, with_hint) in [("cold", cpsat_seconds.max(took.ceil()), false), ("from our allocation", hinted_seconds, true)] {
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.arg(&script).arg(&model).args(["--time-limit", &seconds.to_string(), "--workers", "2"]);
        if with_hint {
            cmd.arg("--hint").arg(&hint);
        }
        let out = cmd.output().expect("run CP-SAT (scripts/ortools-tools.sh)");
        let cp: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("CP-SAT: {}", String::from_utf8_lossy(&out.stderr)));
        let (obj, bound) = (cp["objective"].as_i64(), cp["bound"].as_i64());
        println!(
            "CP-SAT {what} ({seconds} s, 2 workers): {} total {obj:?} bound {bound:?} (model built in {} s)",
            cp["status"], cp["modelSeconds"]
        );
        if let Some(o) = obj.filter(|&o| o > 0) {
            println!("  ours / CP-SAT's total: {:.3}", ours.objective as f64 / o as f64);
        }
        if let Some(b) = bound.filter(|&b| b > 0) {
            println!(
                "  ours / CP-SAT's bound: {:.3}; ours / the tighter bound ({}): {:.3}",
                ours.objective as f64 / b as f64,
                b.min(ours.bound),
                ours.objective as f64 / b.min(ours.bound) as f64
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();

    // What-if: one weight changed, rerun from the allocation above.
    let mut weights = WEIGHTS.to_vec();
    weights[2].1 *= 2;
    reweigh(&mut p, &groups, &weights);
    let t = Instant::now();
    let again = solve_from(&p, Some(&ours.placements), Budget::default()).unwrap();
    let rerun = t.elapsed().as_secs_f64();
    let moved = ours.placements.iter().zip(&again.placements).filter(|(a, b)| a != b).count();
    println!(
        "what-if, '{}' weighs {} instead of {}: rerun {rerun:.2} s, total {}, {moved} placements changed",
        weights[2].0, weights[2].1, WEIGHTS[2].1, again.objective
    );
    report(&p, &again, &groups);
}
