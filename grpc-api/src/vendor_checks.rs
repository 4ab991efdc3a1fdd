//! Checking a vendor's endpoint: at registration, when its endpoint or credentials change, on
//! request (`POST /v1/vendors/{id}/checks`, gRPC `RunVendorChecks`) and on a schedule in
//! `registry serve`. A check fetches the capabilities and runs the conformance checks that
//! need no unit references (they only read); the directory shows the latest result.

use std::time::Duration;

use federation::grpc::{Connection, GrpcVendor};
use federation::pb;
use registry_core::auth::Principal;
use registry_core::model::{Vendor, VendorAuth, VendorChecks, VendorInput, VendorProtocol};
use registry_core::{Error, Registry};

/// Unit references of a vendor's own the availability checks ask about.
const UNITS_CHECKED: usize = 3;

/// Default time between scheduled checks of every vendor.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// How the registry reaches a vendor: endpoint, CA, and the credential found where
/// `credential_ref` says (the API key's environment variable, or the client certificate and
/// key under `$REGISTRY_VENDOR_CREDENTIALS/{ref}/client.{crt,key}`).
pub fn connection(v: &VendorInput) -> Result<Connection, String> {
    let mut c = Connection { endpoint: v.endpoint.trim().to_string(), ca_pem: v.ca_pem.clone(), ..Default::default() };
    match (v.auth, v.credential_ref.as_deref()) {
        (VendorAuth::ApiKey, Some(var)) => {
            c.api_key = Some(std::env::var(var).map_err(|_| format!("the API key variable {var} is not set"))?);
        }
        (VendorAuth::Mtls, Some(name)) => {
            let dir = std::env::var("REGISTRY_VENDOR_CREDENTIALS").unwrap_or_else(|_| "/etc/registry/vendors".into());
            let read = |f: &str| std::fs::read_to_string(format!("{dir}/{name}/{f}")).map_err(|e| format!("{dir}/{name}/{f}: {e}"));
            c.client_identity = Some((read("client.crt")?, read("client.key")?));
        }
        _ => {}
    }
    Ok(c)
}

/// The capabilities of a vendor.v1 endpoint as stored in the directory (proto3 JSON names).
pub fn capabilities_json(c: &pb::Capabilities) -> serde_json::Value {
    serde_json::json!({
        "protocolVersion": c.protocol_version,
        "operations": c.operations.iter().filter_map(|o| pb::Operation::try_from(*o).ok()).map(|o| o.as_str_name()).collect::<Vec<_>>(),
        "maxWindowSeconds": c.max_window.as_ref().map_or(0, |d| d.seconds),
        "maxUnitsPerCall": c.max_units_per_call,
        "slotGranularitySeconds": c.slot_granularity.as_ref().map_or(0, |d| d.seconds),
        "maxRequestsPerSecond": c.max_requests_per_second,
        "implementation": c.implementation,
        "timeZone": c.time_zone,
    })
}

fn conformance_json(results: &[federation::conformance::CheckResult]) -> serde_json::Value {
    let (_, passed) = federation::conformance::render_text(results);
    serde_json::json!({
        "passed": passed,
        "checkedAt": chrono::Utc::now(),
        "checks": results.iter().map(|r| serde_json::json!({"id": r.id, "section": r.section, "verdict": r.verdict, "detail": r.detail})).collect::<Vec<_>>(),
    })
}

/// A failed check of an endpoint that could not be asked at all.
fn unreachable_json(why: &str) -> serde_json::Value {
    serde_json::json!({
        "passed": false,
        "checkedAt": chrono::Utc::now(),
        "checks": [{"id": "capabilities.reachable", "section": "§5", "verdict": "fail", "detail": why}],
    })
}

/// Why a check could not even start or fetch the capabilities.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// `unreachable` or `unsupported_version`.
    pub rule: &'static str,
    /// For the operator and the vendor.
    pub message: String,
}

/// Checks a vendor's endpoint: the capabilities (an error when they cannot be fetched, or name
/// another major version) and, for gRPC vendors, the read-only conformance checks, with the
/// availability checks on `units` (the vendor's references of units it books) when given.
pub async fn check(input: &VendorInput, units: Vec<String>) -> Result<VendorChecks, Unreachable> {
    let unreachable = |message: String| Unreachable { rule: "unreachable", message };
    if input.protocol == VendorProtocol::OpenActive {
        // A feed: its first page must be an RPDE page.
        let h = federation::openactive::Harvester::new(input.endpoint.trim());
        h.harvest(1).await.map_err(|e| unreachable(e.to_string()))?;
        return Ok(VendorChecks {
            capabilities: Some(serde_json::json!({"protocolVersion": "openactive-rpde-1.0", "slotsOnFirstPage": h.len()})),
            conformance: None,
        });
    }
    let c = connection(input).map_err(unreachable)?;
    let client = GrpcVendor::connect_lazy(&c).map_err(|e| unreachable(e.to_string()))?;
    let caps = client.capabilities(Duration::from_secs(3)).await.map_err(|s| {
        unreachable(format!("GetCapabilities failed: {:?} {}", s.code(), s.message().chars().take(200).collect::<String>()))
    })?;
    if !caps.protocol_version.starts_with("1.") {
        return Err(Unreachable {
            rule: "unsupported_version",
            message: format!("the vendor speaks vendor.v1 version '{}'; this registry speaks 1.x", caps.protocol_version),
        });
    }
    // Next week, a weekday evening: a window every vendor should be able to answer.
    let start = chrono::Utc::now().timestamp().div_euclid(86_400) * 86_400 + 7 * 86_400 + 17 * 3600;
    let results = federation::conformance::run(
        &client,
        &federation::conformance::Options { units, start: prost_types::Timestamp { seconds: start, nanos: 0 }, writes: false },
    )
    .await;
    Ok(VendorChecks { capabilities: Some(capabilities_json(&caps)), conformance: Some(conformance_json(&results)) })
}

/// Whether a change reaches the vendor differently (endpoint, CA, protocol, authentication or
/// credential), so that it must be checked again before it is saved.
pub fn reached_differently(current: &Vendor, changed: &VendorInput) -> bool {
    changed.endpoint != current.endpoint
        || changed.auth != current.auth
        || changed.ca_pem != current.ca_pem
        || changed.protocol != current.protocol
        || (changed.credential_ref != current.credential_ref && current.credential_ref.is_some())
}

/// Checks the changed vendor again if [`reached_differently`]; nothing to record otherwise.
pub async fn recheck_if_moved(current: &Vendor, changed: &VendorInput) -> Result<VendorChecks, Error> {
    if reached_differently(current, changed) { check_for_write(changed).await } else { Ok(VendorChecks::default()) }
}

/// Checks before a vendor is registered or moved: an endpoint that cannot be asked is refused.
pub async fn check_for_write(input: &VendorInput) -> Result<VendorChecks, Error> {
    check(input, vec![]).await.map_err(|u| Error::invalid("endpoint", u.rule, u.message))
}

/// Checks a vendor in the directory now and records the result, whatever it is: an endpoint
/// that cannot be asked is recorded as a failed conformance result (its capabilities are kept).
pub async fn check_and_record(registry: &Registry, p: &Principal, vendor: &Vendor) -> Result<Vendor, Error> {
    // A few of the units it books, for the availability checks.
    let units: Vec<String> =
        registry.units_of_vendor(p, vendor.id).await?.into_iter().map(|u| u.external_ref).take(UNITS_CHECKED).collect();
    let checks = match check(&vendor.to_input(), units).await {
        Ok(c) => c,
        Err(u) => VendorChecks { capabilities: None, conformance: Some(unreachable_json(&u.message)) },
    };
    registry.record_vendor_checks(p, vendor.id, &checks).await
}

/// Checks every vendor of the directory, one after another, every `interval` (the first round
/// one interval after start), until the task is dropped.
pub async fn schedule(registry: Registry, interval: Duration) {
    let system = Principal::system("system:vendor-checks");
    loop {
        tokio::time::sleep(interval).await;
        let vendors = match registry.list_vendors(&system, None).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "vendor checks: cannot list the vendors");
                continue;
            }
        };
        let (mut passed, mut failed) = (0, 0);
        for v in vendors {
            match check_and_record(&registry, &system, &v).await {
                Ok(after) => {
                    let ok = after.conformance.as_ref().and_then(|c| c.get("passed")).and_then(serde_json::Value::as_bool).unwrap_or(true);
                    if ok {
                        passed += 1;
                    } else {
                        failed += 1;
                        tracing::warn!(vendor = %v.id, name = %v.name, "vendor checks: the vendor fails its checks");
                    }
                }
                Err(e) => tracing::warn!(vendor = %v.id, error = %e, "vendor checks: cannot record"),
            }
        }
        tracing::info!(passed, failed, "vendor checks done");
    }
}
