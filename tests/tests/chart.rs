//! The Helm chart, checked without a cluster or a helm binary: helm-python-sdk lints it and
//! renders it for the default values and each `charts/registry/ci/*.yaml`; every manifest is
//! validated with `kubernetes-validate --strict`; the values files are checked against
//! `values.schema.json` (and a wrong value must be refused); each rendering must equal its
//! golden file in `tests/golden/chart/` (after a deliberate change, regenerate them with
//! `scripts/chart-tools.sh && ~/.cache/registry-chart-venv/bin/python tests/interop/chart_check.py
//! charts/registry --golden-dir tests/golden/chart --update-golden`). The chart README must
//! describe every value.

use std::path::PathBuf;
use std::process::Command;

fn chart_python() -> PathBuf {
    let venv = match std::env::var_os("REGISTRY_CHART_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/registry-chart-venv"),
    };
    let python = venv.join("bin/python");
    assert!(python.is_file(), "{} is missing: run scripts/chart-tools.sh (make test does)", python.display());
    python
}

fn run(args: &[&str]) -> String {
    let root = tests::repo_root();
    let out = Command::new(chart_python()).args(args).current_dir(&root).output().expect("python runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?} failed:\n{text}");
    text
}

#[test]
fn the_chart_lints_renders_and_validates_for_every_ci_value_set() {
    let out = run(&["tests/interop/chart_check.py", "charts/registry", "--golden-dir", "tests/golden/chart"]);
    for set in ["default", "minimal", "external-db", "cloudnativepg", "tls-mtls"] {
        assert!(out.contains(set), "{set} was checked:\n{out}");
    }
}

#[test]
fn the_chart_readme_describes_every_value() {
    run(&["scripts/chart-readme.py", "--check"]);
}
