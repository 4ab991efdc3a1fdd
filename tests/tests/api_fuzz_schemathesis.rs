//! Property-based fuzzing of the REST API with schemathesis (PyPI), driven by the served
//! `/openapi.json`: no 5xx, every status documented, every response (and its headers and
//! content type) matching the schema, and schema-invalid input rejected.
//!
//! It runs three times, once per kind of caller, because each sees a different API: anonymous
//! (no key: public reads, 401 on writes), an editor of Kumla (kommun 1880: writes its own
//! municipality's data, 403 elsewhere) and an admin with the personal-data scope (everything).
//! Each run is bounded and reproducible: 25 examples per operation and a fixed seed,
//! schemathesis's `--seed`:
//!
//! | caller    | seed       |
//! |-----------|------------|
//! | anonymous | 20261205   |
//! | editor    | 20261206   |
//! | admin     | 20261124   |
//!
//! REGISTRY_FUZZ_SEED (one seed for all three) and REGISTRY_FUZZ_EXAMPLES override them;
//! `make fuzz-api` uses them for a longer run with a new seed each time (or FUZZ_SEED), and
//! prints the seed so that a failure can be replayed with
//! `REGISTRY_FUZZ_SEED=<seed> REGISTRY_FUZZ_EXAMPLES=<n> cargo test --workspace --test api_fuzz_schemathesis`
//! (under `scripts/with-test-db.sh`).

use std::time::Duration;

use grpc_api::limits::RateQuotas;
use grpc_api::server::ServerConfig;
use tests::{TestApp, venv_bin};

/// The checks we hold the API to. Left out on purpose: `positive_data_acceptance` (our rules
/// are stricter than JSON Schema can say, e.g. Luhn check digits and existing municipality
/// codes) and `ignored_auth` (unapproved registrations answer 404 to callers who may not see
/// them, so as not to reveal that they exist).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection";

/// Examples per operation unless REGISTRY_FUZZ_EXAMPLES says otherwise.
const EXAMPLES: u64 = 25;

/// Who calls the API in a run.
enum Caller {
    Anonymous,
    /// An editor of this municipality.
    Editor(&'static str),
    Admin,
}

async fn fuzz(caller: Caller, default_seed: u64) {
    let st = venv_bin("schemathesis");
    assert!(st.exists(), "{} is missing: run scripts/python-tools.sh (make test does)", st.display());
    let generous = RateQuotas::all(1_000_000);
    let app = TestApp::start_with(ServerConfig { rate: generous, ..ServerConfig::default() }).await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let (name, key) = match caller {
        Caller::Anonymous => ("anonymous", None),
        Caller::Editor(m) => ("editor", Some(app.key("editor", Some(m), false).await)),
        Caller::Admin => ("admin", Some(app.key("admin", None, true).await)),
    };
    let seed = std::env::var("REGISTRY_FUZZ_SEED").unwrap_or_else(|_| default_seed.to_string());
    let examples: u64 = std::env::var("REGISTRY_FUZZ_EXAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(EXAMPLES);
    // Hang protection only; a longer run (make fuzz-api) gets proportionally longer.
    let hang_guard = Duration::from_secs(600 * examples.div_ceil(EXAMPLES));
    let (url, n) = (app.url("/openapi.json"), examples.to_string());
    let mut cmd = tokio::process::Command::new(&st);
    cmd.args(["run", &url, "--checks", CHECKS, "--max-examples", &n, "--seed", &seed, "--no-shrink"]);
    if let Some(key) = &key {
        cmd.args(["--header", &format!("x-api-key: {key}")]);
    }
    let run = cmd
        // Its cache directory goes to a temporary place, not into the checkout.
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(hang_guard, run).await.expect("schemathesis hung").expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems as {name} (seed {seed}, {examples} examples):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let operations: usize = grpc_api::openapi::document()
        .paths
        .paths
        .values()
        .map(|i| [&i.get, &i.put, &i.post, &i.delete, &i.patch].iter().filter(|o| o.is_some()).count())
        .sum();
    assert!(stdout.contains(&format!("Tested: {operations}")), "as {name}, not all {operations} operations were exercised:\n{stdout}");
    // The server stayed healthy throughout.
    assert_eq!(app.http().get(app.url("/readyz")).send().await.unwrap().status(), 200);
    // For make fuzz-api, which shows the output: what was run, and schemathesis's summary.
    println!("schemathesis as {name}, seed {seed}, {examples} examples per operation:\n{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_as_anonymous_finds_no_server_errors_and_no_schema_violations() {
    fuzz(Caller::Anonymous, 20261205).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_as_an_editor_finds_no_server_errors_and_no_schema_violations() {
    fuzz(Caller::Editor("1880"), 20261206).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_as_an_admin_finds_no_server_errors_and_no_schema_violations() {
    fuzz(Caller::Admin, 20261124).await;
}
