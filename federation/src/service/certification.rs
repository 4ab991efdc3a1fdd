//! Certification: checking a vendor's endpoint with the conformance kit at registration, when
//! its endpoint or credentials change, on request (`POST /v1/vendors/{id}/checks`, gRPC
//! `RunVendorChecks`), on a schedule in `registry serve` (daily by default) and when its
//! capabilities change (polled every 15 minutes by default). A run fetches the capabilities
//! and runs the conformance kit: every check on the vendor's test units when it names any
//! (booking and cancelling again), else only the checks that read, on a few of the units it
//! books. Every run is kept, and a passing one certifies the vendor for a while (3 days by
//! default).

use std::sync::Arc;
use std::time::Duration;

use registry_core::auth::Principal;
use registry_core::model::{RunTrigger, Vendor, VendorChecks, VendorInput, VendorProtocol};
use registry_core::{Error, Registry};
use uuid::Uuid;

use super::clients::{Clients, Credentials, DEFAULT_RECHECK};
use crate::grpc::GrpcVendor;
use crate::pb;

/// Unit references of a vendor's own the availability checks ask about.
const UNITS_CHECKED: usize = 3;

/// Default time between scheduled runs of every vendor.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// Default time between polls of every vendor's capabilities (a change starts a run).
pub const DEFAULT_POLL: Duration = Duration::from_secs(15 * 60);
/// Default time a passing run certifies a vendor.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(3 * 24 * 3600);

/// How the registry certifies vendors.
#[derive(Debug, Clone)]
pub struct Certifier {
    /// Time between scheduled runs of each vendor; None: no schedule (runs on registration,
    /// endpoint change and request only).
    pub interval: Option<Duration>,
    /// Time between polls of each vendor's capabilities.
    pub poll: Duration,
    /// How long a passing run certifies the vendor; after that its certification has lapsed.
    pub validity: Duration,
    /// Where "now" comes from: when a run is due, and the week its checks ask about.
    pub clock: registry_core::Clock,
    /// The vendors' clients (and where the registry's credentials for them are), shared with
    /// the federated queries: a vendor in the directory is checked with the client they use.
    pub clients: Arc<Clients>,
}

impl Default for Certifier {
    fn default() -> Self {
        Certifier {
            interval: Some(DEFAULT_INTERVAL),
            poll: DEFAULT_POLL,
            validity: DEFAULT_VALIDITY,
            clock: registry_core::Clock::system(),
            clients: Arc::new(Clients::new(Credentials::default(), DEFAULT_RECHECK)),
        }
    }
}

impl Certifier {
    fn stamp(&self, mut checks: VendorChecks, trigger: RunTrigger) -> VendorChecks {
        checks.trigger = trigger;
        checks.valid_for = chrono::Duration::from_std(self.validity).unwrap_or(chrono::Duration::days(3));
        checks
    }
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

fn conformance_json(results: &[crate::conformance::CheckResult]) -> serde_json::Value {
    let (_, passed) = crate::conformance::render_text(results);
    serde_json::json!({
        "passed": passed,
        "checkedAt": chrono::Utc::now(),
        "checks": results.iter().map(|r| serde_json::json!({"id": r.id, "section": r.section, "verdict": r.verdict, "detail": r.detail})).collect::<Vec<_>>(),
    })
}

/// The result of a feed's check: its first page is an RPDE page.
fn feed_json(slots: usize) -> serde_json::Value {
    serde_json::json!({
        "passed": true,
        "checkedAt": chrono::Utc::now(),
        "checks": [{"id": "openactive.rpde_page", "section": "§11", "verdict": "pass", "detail": format!("{slots} slots on the first page")}],
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
/// another major version) and, for gRPC vendors, the conformance checks. They run on the
/// vendor's test units, the booking checks too (they book and cancel again), when it names
/// any; else only the checks that read, on `units` (references of units it books) when given.
/// A vendor of the directory (`entry`: its id and version) is asked through its kept client; a
/// vendor not yet saved, or a change not yet saved, through a client of its own.
pub async fn check(
    certifier: &Certifier,
    input: &VendorInput,
    entry: Option<(Uuid, i64)>,
    units: Vec<String>,
) -> Result<VendorChecks, Unreachable> {
    let unreachable = |message: String| Unreachable { rule: "unreachable", message };
    if input.protocol == VendorProtocol::OpenActive {
        // A feed: its first page must be an RPDE page.
        let h = crate::openactive::Harvester::new(input.endpoint.trim());
        h.harvest(1).await.map_err(|e| unreachable(e.to_string()))?;
        return Ok(VendorChecks {
            capabilities: Some(serde_json::json!({"protocolVersion": "openactive-rpde-1.0", "slotsOnFirstPage": h.len()})),
            conformance: Some(feed_json(h.len())),
            ..VendorChecks::default()
        });
    }
    let client = client_of(certifier, input, entry).map_err(unreachable)?;
    let caps = client.capabilities(Duration::from_secs(3)).await.map_err(|s| {
        unreachable(format!("GetCapabilities failed: {:?} {}", s.code(), s.message().chars().take(200).collect::<String>()))
    })?;
    if !caps.protocol_version.starts_with("1.") {
        return Err(Unreachable {
            rule: "unsupported_version",
            message: format!("the vendor speaks vendor.v1 version '{}'; this registry speaks 1.x", caps.protocol_version),
        });
    }
    let start = window_start(certifier.clock.today());
    let (units, writes) = if input.test_units.is_empty() { (units, false) } else { (input.test_units.clone(), true) };
    let results = crate::conformance::run(
        &client,
        &crate::conformance::Options { units, start: prost_types::Timestamp { seconds: start, nanos: 0 }, writes },
    )
    .await;
    Ok(VendorChecks {
        capabilities: Some(capabilities_json(&caps)),
        conformance: Some(conformance_json(&results)),
        ..VendorChecks::default()
    })
}

/// The client to check a vendor with: the directory's kept one for a saved entry, else a new one.
fn client_of(certifier: &Certifier, input: &VendorInput, entry: Option<(Uuid, i64)>) -> Result<GrpcVendor, String> {
    match entry {
        Some((id, version)) => certifier.clients.get(id, version, input).map(|(client, _)| client),
        None => {
            let c = certifier.clients.credentials().connection(input)?;
            GrpcVendor::connect_lazy(&c).map_err(|e| e.to_string())
        }
    }
}

/// Whether a change reaches the vendor differently (endpoint, CA, protocol, authentication or
/// credential) or names other test units, so that it must be run again before it is saved.
pub fn reached_differently(current: &Vendor, changed: &VendorInput) -> bool {
    changed.endpoint != current.endpoint
        || changed.auth != current.auth
        || changed.ca_pem != current.ca_pem
        || changed.protocol != current.protocol
        || (changed.credential_ref != current.credential_ref && current.credential_ref.is_some())
        || changed.test_units != current.test_units
}

/// Where a run's checks look: 17:00 Swedish time on the first weekday at least a week after
/// `today` that is neither a public holiday nor an eve, so a unit open on weekday evenings has
/// free times to book (a run on 18 December would otherwise ask about Christmas Day).
fn window_start(today: chrono::NaiveDate) -> i64 {
    use chrono::{Datelike, TimeZone};
    let mut day = today + chrono::Duration::days(7);
    while day.weekday().number_from_monday() > 5 || registry_core::calendar::holiday_on(day).is_some() {
        day = day.succ_opt().expect("dates go on");
    }
    let evening = day.and_hms_opt(17, 0, 0).expect("17:00 exists");
    registry_core::hours::TZ.from_local_datetime(&evening).earliest().expect("17:00 exists every day").timestamp()
}

/// Checks the changed vendor again if [`reached_differently`]; nothing to record otherwise.
pub async fn recheck_if_moved(certifier: &Certifier, current: &Vendor, changed: &VendorInput) -> Result<VendorChecks, Error> {
    if reached_differently(current, changed) {
        check_for_write(certifier, changed, RunTrigger::EndpointChange).await
    } else {
        Ok(VendorChecks::default())
    }
}

/// The run before a vendor is registered or moved. An endpoint that cannot be asked is a failed
/// run (the core refuses it unless an admin overrides); one of another major version is refused.
pub async fn check_for_write(certifier: &Certifier, input: &VendorInput, trigger: RunTrigger) -> Result<VendorChecks, Error> {
    let checks = match check(certifier, input, None, vec![]).await {
        Ok(c) => c,
        Err(u) if u.rule == "unreachable" => VendorChecks { conformance: Some(unreachable_json(&u.message)), ..VendorChecks::default() },
        Err(u) => return Err(Error::invalid("endpoint", u.rule, u.message)),
    };
    Ok(certifier.stamp(checks, trigger))
}

/// Runs the kit against a vendor in the directory now and records the run, whatever it found:
/// an endpoint that cannot be asked is a failed run (its capabilities are kept).
pub async fn check_and_record(
    certifier: &Certifier,
    registry: &Registry,
    p: &Principal,
    vendor: &Vendor,
    trigger: RunTrigger,
) -> Result<Vendor, Error> {
    // A few of the units it books, for the availability checks.
    let units: Vec<String> =
        registry.units_of_vendor(p, vendor.id).await?.into_iter().map(|u| u.external_ref).take(UNITS_CHECKED).collect();
    let checks = match check(certifier, &vendor.to_input(), Some((vendor.id, vendor.version)), units).await {
        Ok(c) => c,
        Err(u) => VendorChecks { conformance: Some(unreachable_json(&u.message)), ..VendorChecks::default() },
    };
    let after = registry.record_vendor_checks(p, vendor.id, &certifier.stamp(checks, trigger)).await?;
    if !after.certification.federated() {
        tracing::warn!(vendor = %vendor.id, name = %vendor.name, failed = ?after.certification.failed_checks, ?trigger,
            "vendor certification: the vendor fails its conformance run and is not federated");
    }
    Ok(after)
}

/// What a vendor's capabilities say now, if it answers (gRPC vendors only).
async fn current_capabilities(certifier: &Certifier, v: &Vendor) -> Option<serde_json::Value> {
    if v.protocol != VendorProtocol::Grpc {
        return None;
    }
    let client = client_of(certifier, &v.to_input(), Some((v.id, v.version))).ok()?;
    client.capabilities(Duration::from_secs(3)).await.ok().map(|c| capabilities_json(&c))
}

/// Why a vendor is due for a run now, if it is: no run yet or the last one is older than the
/// interval (`schedule`), or its capabilities differ from those of the last run
/// (`capabilities_changed`).
async fn due(certifier: &Certifier, v: &Vendor) -> Option<RunTrigger> {
    let last = v.certification.last_run_at;
    if let Some(every) = certifier.interval
        && last.is_none_or(|t| certifier.clock.now() - t >= chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(1)))
    {
        return Some(RunTrigger::Schedule);
    }
    let now = current_capabilities(certifier, v).await?;
    (v.capabilities.as_ref() != Some(&now)).then_some(RunTrigger::CapabilitiesChanged)
}

/// Every `poll`, looks at every vendor of the directory (one replica per vendor and poll) and
/// runs the kit against those due ([`due`]), until the task is dropped. `vendor_polls_total`
/// counts the vendors this replica has looked at.
pub async fn schedule(registry: Registry, certifier: Certifier) {
    let system = Principal::system("system:vendor-checks");
    let mut tick = tokio::time::interval(certifier.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let vendors = match registry.list_vendors(&system, None).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "vendor certification: cannot list the vendors");
                continue;
            }
        };
        for v in &vendors {
            // Another replica may have looked at it a moment ago.
            match registry.claim_vendor_poll(&system, v.id, certifier.poll / 2).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(vendor = %v.id, error = %e, "vendor certification: cannot claim the poll");
                    continue;
                }
            }
            if let Some(trigger) = due(&certifier, v).await {
                match check_and_record(&certifier, &registry, &system, v, trigger).await {
                    Ok(after) => tracing::info!(vendor = %v.id, name = %v.name, ?trigger, status = after.certification.status.as_str(),
                        "vendor certification: run recorded"),
                    Err(e) => tracing::warn!(vendor = %v.id, error = %e, "vendor certification: cannot record the run"),
                }
            }
            // Counted once the vendor has been looked at (and run, if due): a poller that has
            // stopped shows as a counter that no longer rises.
            metrics::counter!("vendor_polls_total").increment(1);
        }
        // How many vendors stand where after this round, for alerts.
        if let Ok(now) = registry.list_vendors(&system, None).await {
            for status in registry_core::model::CertificationStatus::ALL {
                let n = now.iter().filter(|v| v.certification.status == *status).count();
                metrics::gauge!("vendors_by_certification", "status" => status.as_str()).set(n as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_look_at_a_weekday_evening_that_is_no_holiday() {
        let at = |d: &str| {
            let t = chrono::DateTime::from_timestamp(super::window_start(d.parse().unwrap()), 0).unwrap();
            t.with_timezone(&registry_core::hours::TZ).to_rfc3339()
        };
        assert_eq!(at("2026-12-01"), "2026-12-08T17:00:00+01:00", "a Tuesday a week later");
        assert_eq!(at("2026-12-18"), "2026-12-28T17:00:00+01:00", "past julafton, juldagen, annandag jul and the weekend");
        assert_eq!(at("2027-06-18"), "2027-06-28T17:00:00+02:00", "past midsommarafton and the weekend");
    }
}
