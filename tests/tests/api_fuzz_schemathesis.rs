//! Property-based fuzzing of the REST API with schemathesis (PyPI), driven by the served
//! `/openapi.json`: no 5xx, every status documented, every response (and its headers and
//! content type) matching the schema, and schema-invalid input rejected. Bounded: a fixed
//! number of examples per operation and a fixed seed (override with REGISTRY_FUZZ_SEED /
//! REGISTRY_FUZZ_EXAMPLES to explore further).

use std::time::Duration;

use grpc_api::limits::RateQuotas;
use grpc_api::server::ServerConfig;
use tests::{TestApp, venv_bin};

/// Hang protection only.
const HANG_GUARD: Duration = Duration::from_secs(600);

/// The checks we hold the API to. Left out on purpose: `positive_data_acceptance` (our rules
/// are stricter than JSON Schema can say, e.g. Luhn check digits and existing municipality
/// codes) and `ignored_auth` (unapproved registrations answer 404 to callers who may not see
/// them, so as not to reveal that they exist).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection";

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    let st = venv_bin("schemathesis");
    assert!(st.exists(), "{} is missing: run scripts/python-tools.sh (make test does)", st.display());
    let generous = RateQuotas { anonymous: 1_000_000, editor: 1_000_000, vendor: 1_000_000, national_body: 1_000_000, admin: 1_000_000 };
    let app = TestApp::start_with(ServerConfig { rate: generous, ..ServerConfig::default() }).await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let admin = app.key("admin", None, true).await;
    let seed = std::env::var("REGISTRY_FUZZ_SEED").unwrap_or_else(|_| "20261124".into());
    let examples = std::env::var("REGISTRY_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let run = tokio::process::Command::new(&st)
        .args(["run", &app.url("/openapi.json"), "--checks", CHECKS, "--max-examples", &examples, "--seed", &seed, "--no-shrink"])
        .args(["--header", &format!("x-api-key: {admin}")])
        // Its cache directory goes to a temporary place, not into the checkout.
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(HANG_GUARD, run).await.expect("schemathesis hung").expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let operations: usize = grpc_api::openapi::document()
        .paths
        .paths
        .values()
        .map(|i| [&i.get, &i.put, &i.post, &i.delete, &i.patch].iter().filter(|o| o.is_some()).count())
        .sum();
    assert!(stdout.contains(&format!("Tested: {operations}")), "not all {operations} operations were exercised:\n{stdout}");
    // The server stayed healthy throughout.
    assert_eq!(app.http().get(app.url("/readyz")).send().await.unwrap().status(), 200);
}
