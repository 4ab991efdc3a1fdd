//! Interop: a non-Rust vendor integrates over gRPC. Runs `tests/interop/grpc_reflection_client.py`
//! (Python's grpcio + grpcio-reflection from PyPI, no generated stubs, no .proto files: every
//! type comes from server reflection) against a real server with the demo dataset, and checks
//! its JSON summary against the database. The Python environment comes from
//! `scripts/python-tools.sh`; without it this test fails rather than skips.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use registry_core::auth::Principal;
use serde_json::Value;
use tests::TestApp;

/// Only protects against a hung interpreter or server; nothing here measures time.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn venv_python() -> PathBuf {
    tests::venv_bin("python")
}

/// Runs the client and returns its parsed JSON summary; panics with its stderr if it fails.
async fn run_client(python: &PathBuf, addr: &str, api_key: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/grpc_reflection_client.py");
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(&script)
        .arg(addr)
        // The key goes by environment, not argv, so it stays out of process listings.
        .env("REGISTRY_API_KEY", api_key)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // grpcio honours proxy variables; the server is on loopback.
    for var in ["http_proxy", "https_proxy", "grpc_proxy", "HTTP_PROXY", "HTTPS_PROXY", "GRPC_PROXY"] {
        cmd.env_remove(var);
    }
    let out = tokio::time::timeout(HANG_GUARD, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within {HANG_GUARD:?} (killed)", script.display()))
        .unwrap_or_else(|e| panic!("could not run {} {}: {e}", python.display(), script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Python gRPC client failed ({}):\nstderr:\n{stderr}\nstdout:\n{stdout}", out.status);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the client's stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn python_grpcio_client_integrates_through_reflection_only() {
    let python = venv_python();
    assert!(
        python.is_file(),
        "{} does not exist: run `scripts/python-tools.sh` to create the Python venv with grpcio and grpcio-reflection \
         (REGISTRY_VENV selects another venv)",
        python.display()
    );

    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.expect("load the demo dataset");
    let key = app.key("vendor", None, false).await;

    let summary = run_client(&python, &app.server.addr.to_string(), &key).await;
    println!("the Python client's summary: {summary:#}");

    let services: Vec<&str> = summary["services"]
        .as_array()
        .expect("services is a list")
        .iter()
        .map(|s| s.as_str().expect("service names are strings"))
        .collect();
    for expected in
        ["registry.v1.MunicipalityService", "registry.v1.FacilityService", "registry.v1.AssociationService", "grpc.health.v1.Health"]
    {
        assert!(services.contains(&expected), "reflection should list {expected}: {services:?}");
    }
    let health = summary["health"].as_object().expect("health is an object");
    assert_eq!(health.len(), 4, "{summary:#}");
    for (service, status) in health {
        assert_eq!(status, "SERVING", "Health/Check({service:?})");
    }

    assert_eq!(summary["municipality_count"], 290, "{summary:#}");
    assert_eq!(summary["kumla_name"], "Kumla", "{summary:#}");

    let ids: Vec<&str> =
        summary["facility_ids"].as_array().expect("facility_ids is a list").iter().map(|s| s.as_str().expect("ids are strings")).collect();
    assert_eq!(ids.len(), 5, "{summary:#}");
    let anonymous = Principal::anonymous();
    for id in &ids {
        let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?} is not a UUID: {e}"));
        let stored = app.registry.get_facility(&anonymous, uuid).await.unwrap_or_else(|e| panic!("facility {id} from gRPC: {e}"));
        assert_eq!(stored.municipality_code, "1881", "facility {id}");
    }
    let fetched = &summary["fetched_facility"];
    assert_eq!(fetched["id"], ids[0], "{summary:#}");
    let first = app.registry.get_facility(&anonymous, ids[0].parse().unwrap()).await.unwrap();
    assert_eq!(fetched["name"], first.name.as_str(), "{summary:#}");
    assert_eq!(fetched["municipality_code"], "1881", "{summary:#}");
    assert_eq!(fetched["version"], first.version, "{summary:#}");

    assert_eq!(summary["error_code"], "INVALID_ARGUMENT", "{summary:#}");
    let details = &summary["error_details"];
    assert_eq!(details["code"], 3, "google.rpc.Status.code in grpc-status-details-bin: {summary:#}");
    let types = details["detail_types"].as_array().expect("detail_types is a list");
    assert!(types.iter().any(|t| t == "google.rpc.BadRequest"), "{summary:#}");
    assert_eq!(details["error_info"]["domain"], grpc_api::errors::ERROR_DOMAIN, "{summary:#}");
    let violations = details["field_violations"].as_array().expect("BadRequest field violations decoded");
    assert!(violations.iter().any(|v| v["field"] == "id"), "a field violation should name `id`: {summary:#}");

    app.server.shutdown().await.expect("server shutdown");
}
