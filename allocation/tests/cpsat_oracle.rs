//! Our optimiser against OR-Tools' CP-SAT on the same instances (the model file), run by
//! tests/interop/allocation_cpsat.py in the virtualenv of scripts/ortools-tools.sh: on small
//! rounds (at most 40 applications) CP-SAT proves its optimum, and ours must reach it; CP-SAT
//! also checks our allocation independently (every rule, and its total); and our upper bound
//! must not be below the proven optimum.

use std::path::PathBuf;
use std::process::Command;

use allocation::generate::{Shape, problem};
use allocation::model_file::{Names, solution_json, to_json};
use allocation::solver::{Budget, solve};
use serde_json::Value;

fn python() -> PathBuf {
    let venv = std::env::var_os("REGISTRY_ORTOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/registry-ortools-venv"));
    let py = venv.join("bin/python");
    assert!(py.exists(), "{} is missing: run scripts/ortools-tools.sh (make test does)", py.display());
    py
}

fn oracle(args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/allocation_cpsat.py");
    let out = Command::new(python()).arg(script).args(args).output().expect("run the CP-SAT oracle");
    assert!(out.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the oracle's JSON")
}

#[test]
fn ours_reaches_cp_sat_optimum_on_small_rounds() {
    let dir = std::env::temp_dir().join(format!("allocation-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // (applications, units, seed): 20 to 40 applications, each one to three weekly times.
    for (apps, units, seed) in [(20, 6, 6), (30, 8, 4), (40, 8, 1), (40, 8, 3), (40, 8, 5)] {
        let (p, _, _) = problem(Shape::small(apps, units, seed));
        let ours = solve(&p, Budget::default()).unwrap();
        assert_eq!(p.evaluate(&ours.placements), Ok(ours.objective), "seed {seed}: our own check");
        let model = dir.join(format!("model-{seed}.json"));
        let solution = dir.join(format!("solution-{seed}.json"));
        std::fs::write(&model, to_json(&p, &Names::default()).to_string()).unwrap();
        std::fs::write(&solution, solution_json(&p, &Names::default(), &ours.placements).to_string()).unwrap();

        let cp = oracle(&[model.to_str().unwrap(), "--time-limit", "120", "--workers", "2"]);
        assert_eq!(cp["status"], "OPTIMAL", "seed {seed}: CP-SAT did not prove its optimum: {cp}");
        let optimum = cp["objective"].as_i64().unwrap();
        assert_eq!(ours.objective, optimum, "seed {seed}: {apps} applications: ours {} against CP-SAT's optimum {optimum}", ours.objective);
        assert!(ours.bound >= optimum, "seed {seed}: our bound {} is below the optimum {optimum}", ours.bound);

        let check = oracle(&[model.to_str().unwrap(), "--check", solution.to_str().unwrap()]);
        assert_eq!(check["feasible"], true, "seed {seed}: CP-SAT's check found {}", check["violations"]);
        assert_eq!(check["objective"].as_i64(), Some(ours.objective), "seed {seed}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_checker_catches_a_broken_allocation() {
    // Two demands on the same unit, day and start: the oracle's checker must say so (this is
    // what makes the check above mean something).
    let (p, _, _) = problem(Shape::small(20, 6, 6));
    let ours = solve(&p, Budget::default()).unwrap();
    let (a, b) = {
        let placed: Vec<usize> = (0..p.demands.len()).filter(|&d| ours.placements[d].is_some()).collect();
        (placed[0], placed[1])
    };
    let mut broken = ours.placements.clone();
    // Put b exactly where a is, if b can go there; otherwise give a a start it does not have.
    let pa = ours.placements[a].unwrap();
    let ba = &p.demands[a].options[pa.option as usize];
    match p.demands[b].options.iter().position(|o| o.unit == ba.unit && o.day == ba.day && o.starts.contains(&pa.start)) {
        Some(k) => broken[b] = Some(allocation::solver::Placement { option: k as u32, start: pa.start }),
        None => broken[a] = Some(allocation::solver::Placement { option: pa.option, start: pa.start + 1 }),
    }
    assert!(p.evaluate(&broken).is_err());
    let dir = std::env::temp_dir().join(format!("allocation-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.json");
    let solution = dir.join("solution.json");
    std::fs::write(&model, to_json(&p, &Names::default()).to_string()).unwrap();
    // A start the option does not have cannot be written as a candidate: write a clash instead.
    let mut s = solution_json(&p, &Names::default(), &ours.placements);
    let d0 = format!("d{a}");
    let d1 = format!("d{b}");
    let cands = |d: usize| to_json(&p, &Names::default())["demands"][d]["candidates"].as_array().unwrap().clone();
    let (ca, cb) = (cands(a), cands(b));
    let want = &ca[s["assignments"][&d0].as_u64().unwrap() as usize];
    if let Some(k) = cb.iter().position(|c| c["unit"] == want["unit"] && c["day"] == want["day"] && c["start"] == want["start"]) {
        s["assignments"][&d1] = k.into();
        std::fs::write(&solution, s.to_string()).unwrap();
        let check = oracle(&[model.to_str().unwrap(), "--check", solution.to_str().unwrap()]);
        assert_eq!(check["feasible"], false, "{check}");
    } else {
        // Out of range: an error the checker must name.
        s["assignments"][&d1] = 100_000.into();
        std::fs::write(&solution, s.to_string()).unwrap();
        let out = Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/allocation_cpsat.py"))
            .args([model.to_str().unwrap(), "--check", solution.to_str().unwrap()])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(!out.status.success() || v["feasible"] == false, "{v}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
