//! The vendor directory's writes that need the vendor itself: registering a vendor (its
//! endpoint is run against the conformance kit before it is saved), changing one (run again
//! when the change reaches it differently) and running its checks on request. The front ends
//! decode the request and call one of these; the rules (who may, what is checked, what is
//! refused) live here and in the core's vendor use cases.

use registry_core::auth::Principal;
use registry_core::model::{OverrideInput, RunTrigger, Vendor, VendorInput};
use registry_core::{Error, Registry};
use uuid::Uuid;

use super::certification::{self, Certifier};

/// Registers a vendor: `p` must manage the directory; the entry is validated, its endpoint run
/// against the kit, and the vendor saved with the run. One without a passing run is refused
/// with the failing checks, unless `certification_override` (an admin's reason) lets it in.
pub async fn register(
    certifier: &Certifier,
    registry: &Registry,
    p: &Principal,
    input: &VendorInput,
    certification_override: Option<&OverrideInput>,
) -> Result<Vendor, Error> {
    registry.authorize_vendor_management(p)?;
    let input = input.validate()?;
    let checks = certification::check_for_write(certifier, &input, RunTrigger::Registration).await?;
    registry.create_vendor(p, &input, checks, certification_override).await
}

/// Changes vendor `id`: `p` must manage the directory or be the vendor itself (which fields
/// each may change, the core decides). `change` turns the current entry (by a merge patch, a
/// field mask) into the version to write at and the new entry; it is called only once `p` may
/// change the vendor, so a caller without the right learns that before anything about its
/// request. A change that reaches the
/// vendor differently (endpoint, credentials, test units) is run against the kit again and
/// must pass, unless an admin adds `certification_override`.
pub async fn change<E: From<Error>>(
    certifier: &Certifier,
    registry: &Registry,
    p: &Principal,
    id: Uuid,
    certification_override: Option<&OverrideInput>,
    change: impl FnOnce(&Vendor) -> Result<(i64, VendorInput), E>,
) -> Result<Vendor, E> {
    registry.authorize_vendor_change(p, id)?;
    let current = registry.get_vendor(p, id).await?;
    let (expected_version, input) = change(&current)?;
    let (current, effective) = registry.check_vendor_update(p, id, &input).await?;
    let checks = certification::recheck_if_moved(certifier, &current, &effective).await?;
    Ok(registry.update_vendor(p, id, expected_version, &input, checks, certification_override).await?)
}

/// Runs the kit against vendor `id` now (an admin or the vendor itself) and records the run.
pub async fn run_checks(certifier: &Certifier, registry: &Registry, p: &Principal, id: Uuid) -> Result<Vendor, Error> {
    let vendor = registry.vendor_for_checks(p, id).await?;
    certification::check_and_record(certifier, registry, p, &vendor, RunTrigger::Request).await
}
