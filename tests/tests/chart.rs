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
    for set in ["default", "minimal", "external-db", "cloudnativepg", "tls-mtls", "sign-in"] {
        assert!(out.contains(set), "{set} was checked:\n{out}");
    }
}

/// The sign-in settings `registry serve` would refuse at start-up are refused when the chart
/// renders, with a message naming the value: `ci/sign-in.yaml` with one thing broken at a time.
/// A wrong provider name is refused by values.schema.json, and by the template as well (for
/// installs that skip schema validation), so both are tried.
#[test]
fn the_chart_refuses_sign_in_settings_the_server_would_refuse() {
    let script = r#"
import copy, pathlib, shutil, tempfile, yaml, helm_python as helm
base = yaml.safe_load(open("charts/registry/ci/sign-in.yaml"))
def provider(i, **kv):
    def f(v):
        v["server"]["signIn"]["providers"][i].update(kv)
    return f
cases = [
    ("no-public-url", lambda v: v["server"].update(publicUrl=""), "server.signIn.providers need server.publicUrl"),
    ("bad-name", provider(0, name="BankID"), "providers[0].name \"BankID\": must be 1-40 lowercase letters, digits or '-'"),
    ("long-name", provider(1, name="a" * 41), "must be 1-40 lowercase letters, digits or '-'"),
    ("same-name", provider(1, name="bankid"), "the name \"bankid\" is given twice"),
]
noschema = pathlib.Path(tempfile.mkdtemp())
shutil.copytree("charts/registry", noschema / "registry")
(noschema / "registry/values.schema.json").unlink()
for chart_dir in ["charts/registry", str(noschema / "registry")]:
    with helm.Chart.load(chart_dir) as chart:
        for name, change, message in cases:
            values = copy.deepcopy(base)
            change(values)
            try:
                chart.render(chart.merge_values(values), name="registry", namespace="registry")
                print(f"{name}: rendered")
            except helm.HelmError as e:
                text = " ".join(str(e).split())
                schema = "does not match pattern '^[a-z0-9-]{1,40}$'" in text
                print(f"{name}: {'refused' if message in text or schema else 'wrong message'}: {text}")
shutil.rmtree(noschema)
"#;
    let out = run(&["-c", script]);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(": ")).collect();
    assert_eq!(lines.len(), 8, "every case ran with and without the schema:\n{out}");
    for line in lines {
        assert!(line.contains(": refused: "), "refused with its message: {line}\n{out}");
    }
    assert_eq!(out.matches("does not match pattern").count(), 2, "the schema refuses the names:\n{out}");
    assert_eq!(out.matches("must be 1-40 lowercase letters").count(), 2, "so does the template:\n{out}");
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
