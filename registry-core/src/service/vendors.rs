//! Use cases of the vendor directory: vendors (admin), and which vendor books each unit (the
//! municipality's editors). The API layer fetches a vendor's capabilities before it calls
//! `create_vendor`/`update_vendor`, so that an unreachable endpoint is never registered.

use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::Registry;
use crate::auth::{self, Action, Principal, Role};
use crate::changelog::{self, Operation};
use crate::db::facilities as facility_store;
use crate::db::vendors as store;
pub use crate::db::vendors::{BookedUnit, VendorUnit};
use crate::error::FieldViolation;
use crate::error::{Error, Result};
use crate::model::{CertificationRun, CertificationStatus, OverrideInput, Vendor, VendorChecks, VendorInput};
use crate::validate::Violations;

const ENTITY: &str = "vendor";

/// The fields a vendor may change in its own entry; the others (who it is, how the registry
/// authenticates to it, which municipalities it serves) are the operator's.
pub const VENDOR_SELF_FIELDS: &[&str] = &["endpoint", "caPem", "maxConcurrency", "requestsPerSecond", "testUnits"];

/// The input a change really writes: for a vendor changing its own entry, only its own fields
/// may differ from `current`, and the credential's name (which it cannot see) is kept.
fn effective_update(admin: bool, current: &Vendor, input: &VendorInput) -> Result<VendorInput> {
    if admin {
        return Ok(input.clone());
    }
    let mut others = Vec::new();
    if input.name.trim() != current.name {
        others.push("name");
    }
    if input.protocol != current.protocol {
        others.push("protocol");
    }
    if input.auth != current.auth {
        others.push("auth");
    }
    if input.credential_ref.is_some() && input.credential_ref != current.credential_ref {
        others.push("credentialRef");
    }
    let mut codes: Vec<String> = input.municipality_codes.iter().map(|c| c.trim().to_string()).collect();
    codes.sort();
    if codes != current.municipality_codes {
        others.push("municipalityCodes");
    }
    if !others.is_empty() {
        return Err(Error::Forbidden(format!(
            "a vendor may change only {} of its own entry; {} are set by the registry's operator",
            VENDOR_SELF_FIELDS.join(", "),
            others.join(", ")
        )));
    }
    Ok(VendorInput { credential_ref: current.credential_ref.clone(), ..input.clone() })
}

/// Hides what only admins (and the registry's own federation) may see.
fn visible(p: &Principal, mut v: Vendor) -> Vendor {
    if !matches!(p.role, Role::Admin | Role::System) {
        v.credential_ref = None;
        if let Some(o) = v.certification.r#override.as_mut() {
            o.by = None;
        }
    }
    v
}

/// The refusal of a vendor (or a move of its endpoint) without a passing run: one violation per
/// failed check, naming its id and section, and how an admin may override.
fn refusal(checks: &VendorChecks) -> Error {
    let failures = checks.failures();
    let mut out: Vec<FieldViolation> = failures
        .iter()
        .map(|(id, section, detail)| {
            let rule = if id == "capabilities.reachable" { "unreachable" } else { "conformance" };
            FieldViolation::new("endpoint", rule, format!("fails check {id} ({section} of docs/vendor-protocol.md): {detail}"))
        })
        .collect();
    if out.is_empty() {
        out.push(FieldViolation::new("endpoint", "conformance", "the conformance run did not pass"));
    }
    out.push(FieldViolation::new(
        "certificationOverride",
        "required_without_passing_run",
        "the vendor has no passing conformance run; fix the checks above, or an admin may federate it anyway with certificationOverride.reason",
    ));
    Error::Invalid(out)
}

/// What the vendor's protocol version was in these checks.
fn protocol_version(checks: &VendorChecks) -> Option<String> {
    checks.capabilities.as_ref().and_then(|c| c.get("protocolVersion")).and_then(|v| v.as_str()).map(str::to_string)
}

/// Stores what a check found: the capabilities, the latest result, and the run.
async fn record(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
    endpoint: &str,
    checks: &VendorChecks,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    let conformance = checks.conformance.as_ref().map(|c| (c, checks.passed()));
    let n = store::record_checks(conn, id, checks.capabilities.as_ref(), conformance, at).await?;
    if n == 1
        && let Some(c) = &checks.conformance
    {
        let failed: Vec<String> = checks.failures().into_iter().map(|f| f.0).collect();
        let empty = serde_json::json!([]);
        let all = c.get("checks").filter(|c| c.is_array()).unwrap_or(&empty);
        store::insert_run(conn, id, at, checks.trigger, endpoint, protocol_version(checks).as_deref(), &failed, all, at + checks.valid_for)
            .await?;
    }
    Ok(n)
}

/// Sets an admin's override (checked first), audited.
async fn apply_override(
    conn: &mut diesel_async::AsyncPgConnection,
    actor: &str,
    id: Uuid,
    o: &OverrideInput,
    failed: &[String],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let (reason, until) = o.validate("certificationOverride", at)?;
    store::set_override(conn, id, Some((&reason, actor, at, until))).await?;
    changelog::audit(
        conn,
        actor,
        "vendor.certification_override",
        Some((ENTITY, id)),
        serde_json::json!({"reason": reason, "until": until, "failedChecks": failed}),
    )
    .await?;
    Ok(())
}

impl Registry {
    /// The registering and overriding use cases' authorization step on its own, for a front
    /// end that must refuse a caller before it runs a vendor's conformance checks.
    pub fn authorize_vendor_management(&self, p: &Principal) -> Result<()> {
        auth::authorize(p, Action::ManageVendors)
    }

    /// Whether `p` may change vendor `id`'s entry at all (admins any vendor, a vendor's own key
    /// its own entry; which fields, the update decides), before its checks are run.
    pub fn authorize_vendor_change(&self, p: &Principal, id: Uuid) -> Result<()> {
        if auth::allowed(p, Action::ManageVendors) {
            return Ok(());
        }
        auth::authorize(p, Action::ManageOwnVendor(id))
    }

    /// Adds a vendor with the capabilities and the conformance run just made against its
    /// endpoint. A vendor without a passing run is refused with the failing checks, unless an
    /// admin overrides (with a reason, audited).
    pub async fn create_vendor(
        &self,
        p: &Principal,
        input: &VendorInput,
        checks: VendorChecks,
        certification_override: Option<&OverrideInput>,
    ) -> Result<Vendor> {
        let now = self.now();
        auth::authorize(p, Action::ManageVendors)?;
        let input = input.validate()?;
        if let Some(o) = certification_override {
            o.validate("certificationOverride", now)?;
        }
        if !checks.passed() && certification_override.is_none() {
            return Err(refusal(&checks));
        }
        let certification_override = certification_override.cloned();
        let actor = p.id.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            if store::name_taken(conn, &input.name, None).await? {
                return Err(Error::Conflict {
                    field: Some("name".into()),
                    rule: "unique",
                    message: format!("a vendor named '{}' exists", input.name),
                });
            }
            let id = Uuid::now_v7();
            let at = now;
            store::save(conn, id, &input, checks.capabilities.as_ref(), 1, at).await?;
            record(conn, id, &input.endpoint, &checks, at).await?;
            if let Some(o) = &certification_override {
                let failed: Vec<String> = checks.failures().into_iter().map(|f| f.0).collect();
                apply_override(conn, &actor, id, o, &failed, at).await?;
            }
            let created = store::load(conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
            changelog::append(conn, ENTITY, id, Operation::Create, &actor, None, Some(&created)).await?;
            Ok(created)
        })
        .await
    }

    /// One vendor.
    pub async fn get_vendor(&self, p: &Principal, id: Uuid) -> Result<Vendor> {
        let now = self.now();
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let v = store::load(&mut conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        Ok(visible(p, v))
    }

    /// Some vendors at once (the federated query's), as the caller may see them; ids that are
    /// not (or no longer) in the directory are left out.
    pub async fn vendors_by_ids(&self, p: &Principal, ids: &[Uuid]) -> Result<Vec<Vendor>> {
        let now = self.now();
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        Ok(store::load_many(&mut conn, ids, now).await?.into_iter().map(|v| visible(p, v)).collect())
    }

    /// The vendors, by name, optionally only those serving a municipality.
    pub async fn list_vendors(&self, p: &Principal, municipality: Option<&str>) -> Result<Vec<Vendor>> {
        let now = self.now();
        auth::authorize(p, Action::ReadPublic)?;
        if let Some(m) = municipality {
            let mut v = Violations::default();
            crate::codes::check_municipality(&mut v, "municipalityCode", m);
            v.finish()?;
        }
        let mut conn = self.conn().await?;
        Ok(store::list(&mut conn, municipality, now).await?.into_iter().map(|v| visible(p, v)).collect())
    }

    /// What a change of a vendor would write, checked as [`Registry::update_vendor`] checks it
    /// (for the API layer, which probes a moved endpoint before it writes): the current entry as
    /// the caller may see it, and the effective, validated input.
    pub async fn check_vendor_update(&self, p: &Principal, id: Uuid, input: &VendorInput) -> Result<(Vendor, VendorInput)> {
        let now = self.now();
        let admin = auth::allowed(p, Action::ManageVendors);
        if !admin {
            auth::authorize(p, Action::ManageOwnVendor(id))?;
        }
        let mut conn = self.conn().await?;
        let current = store::load(&mut conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        let input = effective_update(admin, &current, input)?.validate()?;
        Ok((visible(p, current), input))
    }

    /// Replaces a vendor if it is still at `expected_version`; `checks` (when its endpoint was
    /// checked again) replace the stored results, and must pass unless an admin overrides.
    /// Admins change every field; a vendor's own key only [`VENDOR_SELF_FIELDS`].
    pub async fn update_vendor(
        &self,
        p: &Principal,
        id: Uuid,
        expected_version: i64,
        input: &VendorInput,
        checks: VendorChecks,
        certification_override: Option<&OverrideInput>,
    ) -> Result<Vendor> {
        let now = self.now();
        let admin = auth::allowed(p, Action::ManageVendors);
        if !admin {
            auth::authorize(p, Action::ManageOwnVendor(id))?;
        }
        if let Some(o) = certification_override {
            auth::authorize(p, Action::ManageVendors)?;
            o.validate("certificationOverride", now)?;
        }
        if checks.conformance.is_some() && !checks.passed() && certification_override.is_none() {
            return Err(refusal(&checks));
        }
        let certification_override = certification_override.cloned();
        let actor = p.id.clone();
        let input = input.clone();
        let mut conn = self.conn().await?;
        let updated = conn
            .transaction(async move |conn| {
                let current = store::load(conn, id, true, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
                let input = effective_update(admin, &current, &input)?.validate()?;
                if current.version != expected_version {
                    return Err(Error::PreconditionFailed {
                        entity: ENTITY,
                        id: id.to_string(),
                        expected: expected_version,
                        actual: current.version,
                    });
                }
                if store::name_taken(conn, &input.name, Some(id)).await? {
                    return Err(Error::Conflict {
                        field: Some("name".into()),
                        rule: "unique",
                        message: format!("a vendor named '{}' exists", input.name),
                    });
                }
                let at = now;
                store::save(conn, id, &input, checks.capabilities.as_ref(), current.version + 1, at).await?;
                record(conn, id, &input.endpoint, &checks, at).await?;
                if let Some(o) = &certification_override {
                    let failed: Vec<String> = checks.failures().into_iter().map(|f| f.0).collect();
                    apply_override(conn, &actor, id, o, &failed, at).await?;
                }
                let updated = store::load(conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
                changelog::append(conn, ENTITY, id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
                Ok(updated)
            })
            .await?;
        Ok(visible(p, updated))
    }

    /// Records what a check of a vendor's endpoint found (the schedule, or a run on request by
    /// an admin or the vendor itself). The entry's version does not move.
    pub async fn record_vendor_checks(&self, p: &Principal, id: Uuid, checks: &VendorChecks) -> Result<Vendor> {
        let now = self.now();
        if !auth::allowed(p, Action::RecordVendorChecks) {
            auth::authorize(p, Action::ManageOwnVendor(id))?;
        }
        let mut conn = self.conn().await?;
        let checks = checks.clone();
        let v = conn
            .transaction(async move |conn| {
                let current = store::load(conn, id, true, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
                record(conn, id, &current.endpoint, &checks, now).await?;
                store::load(conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))
            })
            .await?;
        Ok(visible(p, v))
    }

    /// Sets (with a reason, until a date) or clears an admin's override of a vendor's
    /// certification: an overridden vendor is federated without a passing run. Audited, and a
    /// change of the entry (its version moves, the change log has it).
    pub async fn override_certification(
        &self,
        p: &Principal,
        id: Uuid,
        expected_version: Option<i64>,
        o: Option<&OverrideInput>,
    ) -> Result<Vendor> {
        let now = self.now();
        auth::authorize(p, Action::ManageVendors)?;
        if let Some(o) = o {
            o.validate("certificationOverride", now)?;
        }
        let (actor, o) = (p.id.clone(), o.cloned());
        let mut conn = self.conn().await?;
        let v = conn
            .transaction(async move |conn| {
                let current = store::load(conn, id, true, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
                if let Some(expected) = expected_version
                    && current.version != expected
                {
                    return Err(Error::PreconditionFailed { entity: ENTITY, id: id.to_string(), expected, actual: current.version });
                }
                let at = now;
                match &o {
                    Some(o) => apply_override(conn, &actor, id, o, &current.certification.failed_checks, at).await?,
                    None => {
                        store::set_override(conn, id, None).await?;
                        changelog::audit(conn, &actor, "vendor.certification_override_cleared", Some((ENTITY, id)), serde_json::json!({}))
                            .await?;
                    }
                }
                store::touch(conn, id, at).await?;
                let updated = store::load(conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
                changelog::append(conn, ENTITY, id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
                Ok(updated)
            })
            .await?;
        Ok(visible(p, v))
    }

    /// A vendor's conformance runs, newest first (public: municipalities choose vendors by
    /// them): a page of `page_size` (1 to 100) older than the run `before` when given, and the
    /// last run's id when there are more.
    pub async fn certification_runs(
        &self,
        p: &Principal,
        id: Uuid,
        before: Option<Uuid>,
        page_size: i64,
    ) -> Result<(Vec<CertificationRun>, Option<Uuid>)> {
        let now = self.now();
        auth::authorize(p, Action::ReadPublic)?;
        if !(1..=100).contains(&page_size) {
            return Err(Error::invalid("pageSize", "out_of_range", "must be between 1 and 100"));
        }
        let mut conn = self.conn().await?;
        store::load(&mut conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        if let Some(b) = before
            && !store::has_run(&mut conn, id, b).await?
        {
            return Err(Error::invalid("pageToken", "unknown", "is not a page token of this vendor's runs; start without one"));
        }
        let mut runs = store::runs(&mut conn, id, before, page_size + 1).await?;
        let more = runs.len() as i64 > page_size;
        runs.truncate(page_size as usize);
        let next = if more { runs.last().map(|r| r.id) } else { None };
        Ok((runs, next))
    }

    /// The certified vendors (a public list), by name.
    pub async fn certified_vendors(&self, p: &Principal) -> Result<Vec<Vendor>> {
        let all = self.list_vendors(p, None).await?;
        Ok(all.into_iter().filter(|v| v.certification.status == CertificationStatus::Certified).collect())
    }

    /// Claims the poll of a vendor's capabilities for this replica (the registry's own job).
    pub async fn claim_vendor_poll(&self, p: &Principal, id: Uuid, min_gap: std::time::Duration) -> Result<bool> {
        auth::authorize(p, Action::RecordVendorChecks)?;
        let mut conn = self.conn().await?;
        Ok(store::claim_poll(&mut conn, id, min_gap).await?)
    }

    /// A vendor as the registry's own jobs see it (with the credential's name), for checking it.
    pub async fn vendor_for_checks(&self, p: &Principal, id: Uuid) -> Result<Vendor> {
        let now = self.now();
        if !auth::allowed(p, Action::RecordVendorChecks) {
            auth::authorize(p, Action::ManageOwnVendor(id))?;
        }
        let mut conn = self.conn().await?;
        store::load(&mut conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// The units a vendor books, with its own reference for each (public: the mapping is what
    /// a vendor and a municipality check their set-up against).
    pub async fn units_of_vendor(&self, p: &Principal, id: Uuid) -> Result<Vec<BookedUnit>> {
        let now = self.now();
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        store::load(&mut conn, id, false, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        Ok(store::units_of_vendor(&mut conn, id).await?)
    }

    /// Removes a vendor (soft); its units are no longer booked through it.
    pub async fn delete_vendor(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<()> {
        let now = self.now();
        auth::authorize(p, Action::ManageVendors)?;
        let actor = p.id.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let current = store::load(conn, id, true, now).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
            if let Some(expected) = expected_version
                && current.version != expected
            {
                return Err(Error::PreconditionFailed { entity: ENTITY, id: id.to_string(), expected, actual: current.version });
            }
            store::soft_delete(conn, id, now).await?;
            changelog::append(conn, ENTITY, id, Operation::Delete, &actor, Some(&current), None::<&Vendor>).await?;
            Ok(())
        })
        .await
    }

    /// Sets the vendor that books a unit, with the vendor's own reference for it, or clears it
    /// (`None`). The vendor must serve the facility's municipality; a reference names one unit
    /// per vendor.
    pub async fn set_unit_vendor(&self, p: &Principal, facility_id: Uuid, unit_id: Uuid, vendor: Option<(Uuid, String)>) -> Result<()> {
        let now = self.now();
        let vendor = match vendor {
            Some((id, r)) => {
                let r = r.trim().to_string();
                if r.is_empty() || r.chars().count() > 200 {
                    return Err(Error::invalid("externalRef", "length", "must be 1 to 200 characters"));
                }
                Some((id, r))
            }
            None => None,
        };
        let p = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let facility = facility_store::load(conn, facility_id, true).await?.ok_or_else(|| Error::not_found("facility", facility_id))?;
            auth::authorize(&p, Action::AssignVendor(&facility.municipality_code))?;
            if !facility.units.iter().any(|u| u.id == unit_id) {
                return Err(Error::invalid("unitId", "unknown_unit", format!("{unit_id} is not a unit of facility {facility_id}")));
            }
            if let Some((vendor_id, external_ref)) = &vendor {
                let v = store::load(conn, *vendor_id, false, now)
                    .await?
                    .ok_or_else(|| Error::invalid("vendorId", "unknown_vendor", format!("{vendor_id} is not in the vendor directory")))?;
                if !v.municipality_codes.contains(&facility.municipality_code) {
                    return Err(Error::invalid(
                        "vendorId",
                        "not_serving",
                        format!("vendor '{}' does not serve municipality {}", v.name, facility.municipality_code),
                    ));
                }
                if store::ref_taken(conn, *vendor_id, external_ref, unit_id).await? {
                    return Err(Error::Conflict {
                        field: Some("externalRef".into()),
                        rule: "unique",
                        message: format!("vendor '{}' already uses reference '{external_ref}' for another unit", v.name),
                    });
                }
            }
            store::set_unit(conn, unit_id, vendor.as_ref().map(|(v, r)| (*v, r.as_str()))).await?;
            Ok(())
        })
        .await
    }

    /// The units of some facilities that are booked through a vendor.
    pub async fn vendor_units(&self, p: &Principal, facility_ids: &[Uuid]) -> Result<Vec<VendorUnit>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        Ok(store::units_of(&mut conn, facility_ids).await?)
    }
}
