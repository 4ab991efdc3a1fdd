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

/// No container engine runs here, so the image itself is built by operators and CI systems
/// that have one; what can be checked is that the Dockerfile and the chart agree: the image
/// holds every binary the chart runs, and runs as the user the chart's security context names.
#[test]
fn the_dockerfile_builds_every_binary_the_chart_runs_as_the_charts_user() {
    let root = tests::repo_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let templates = std::fs::read_dir(root.join("charts/registry/templates"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for binary in ["registry", "geodata-sync", "reference-booking"] {
        assert!(dockerfile.contains(&format!("--bin {binary}")), "the image builds {binary}");
        assert!(dockerfile.contains(&format!("target/release/{binary}")), "the image holds {binary}");
        assert!(templates.contains(&format!("\"{binary}\"")) || binary == "registry", "the chart runs {binary}");
    }
    assert!(dockerfile.contains("--uid 10001") && dockerfile.contains("USER 10001:10001"), "an unprivileged user");
    assert!(templates.contains("runAsUser: 10001") && templates.contains("readOnlyRootFilesystem: true"));
    assert!(dockerfile.contains("--locked"), "the build uses Cargo.lock as committed");
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"), "build output stays out of the context");
}
