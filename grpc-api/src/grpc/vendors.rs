//! gRPC `registry.v1.VendorDirectoryService`: the vendor directory, as REST `/v1/vendors`
//! has it. Decode, call the core (and the vendor checks), encode; no rules live here.

use federation::service::certification::Certifier;
use federation::service::vendors;
use registry_core::auth::Principal;
use registry_core::model::{Certification, CertificationRun, OverrideInput, Vendor, VendorAuth, VendorInput, VendorProtocol};
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use tonic::{Request, Response, Status};

use super::convert::{parse_id, timestamp};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::vendor_directory_service_server::VendorDirectoryService;

type Result<T> = std::result::Result<Response<T>, Status>;

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

/// The writable fields of a vendor (proto names) for update masks.
pub const VENDOR_PATHS: &[&str] = &[
    "name",
    "endpoint",
    "protocol",
    "auth",
    "credential_ref",
    "ca_pem",
    "max_concurrency",
    "requests_per_second",
    "municipality_codes",
    "test_units",
];

/// The service over the core.
#[derive(Clone)]
pub struct VendorsGrpc {
    registry: Registry,
    certifier: Certifier,
}

impl VendorsGrpc {
    /// Wraps the core.
    pub fn new(registry: Registry, certifier: Certifier) -> Self {
        VendorsGrpc { registry, certifier }
    }
}

fn override_from(o: Option<pb::OverrideInput>) -> std::result::Result<Option<OverrideInput>, Error> {
    let Some(o) = o else { return Ok(None) };
    let until = match o.until {
        None => None,
        Some(t) => Some(
            chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
                .ok_or_else(|| Error::invalid("certificationOverride.until", "out_of_range", "is not a valid time"))?,
        ),
    };
    Ok(Some(OverrideInput { reason: o.reason, until }))
}

fn certification(c: &Certification) -> pb::Certification {
    pb::Certification {
        status: pb::CertificationStatus::from_str_name(c.status.json_name()).unwrap_or_default() as i32,
        last_run_at: c.last_run_at.map(timestamp),
        protocol_version: c.protocol_version.clone().unwrap_or_default(),
        failed_checks: c.failed_checks.clone(),
        last_passed_at: c.last_passed_at.map(timestamp),
        certified_until: c.certified_until.map(timestamp),
        r#override: c.r#override.as_ref().map(|o| pb::CertificationOverride {
            reason: o.reason.clone(),
            by: o.by.clone().unwrap_or_default(),
            at: Some(timestamp(o.at)),
            until: Some(timestamp(o.until)),
        }),
    }
}

fn run_out(r: &CertificationRun) -> pb::CertificationRun {
    let checks = conformance(&serde_json::json!({"checks": r.checks})).checks;
    pb::CertificationRun {
        id: r.id.to_string(),
        vendor_id: r.vendor_id.to_string(),
        run_at: Some(timestamp(r.run_at)),
        trigger: pb::RunTrigger::from_str_name(r.trigger.json_name()).unwrap_or_default() as i32,
        endpoint: r.endpoint.clone(),
        protocol_version: r.protocol_version.clone().unwrap_or_default(),
        passed: r.passed,
        failed_checks: r.failed_checks.clone(),
        checks,
    }
}

fn input_from(v: pb::VendorInput, field: &str) -> std::result::Result<VendorInput, Error> {
    let mut bad = Violations::default();
    let protocol = match pb::VendorProtocol::try_from(v.protocol)
        .ok()
        .and_then(|p| VendorProtocol::ALL.iter().find(|x| x.json_name() == p.as_str_name()))
    {
        Some(p) => *p,
        None => {
            bad.add(format!("{field}.protocol"), "unknown_code", "must be VENDOR_PROTOCOL_GRPC or VENDOR_PROTOCOL_OPENACTIVE");
            VendorProtocol::Grpc
        }
    };
    let auth = match pb::VendorAuth::try_from(v.auth).ok().and_then(|a| VendorAuth::ALL.iter().find(|x| x.json_name() == a.as_str_name())) {
        Some(a) => *a,
        None => {
            bad.add(format!("{field}.auth"), "unknown_code", "must be VENDOR_AUTH_MTLS, VENDOR_AUTH_API_KEY or VENDOR_AUTH_NONE");
            VendorAuth::None
        }
    };
    bad.finish()?;
    Ok(VendorInput {
        name: v.name,
        endpoint: v.endpoint,
        protocol,
        auth,
        credential_ref: v.credential_ref,
        ca_pem: v.ca_pem,
        max_concurrency: v.max_concurrency,
        requests_per_second: v.requests_per_second,
        municipality_codes: v.municipality_codes,
        test_units: v.test_units,
    })
}

fn input_out(v: &VendorInput) -> pb::VendorInput {
    pb::VendorInput {
        name: v.name.clone(),
        endpoint: v.endpoint.clone(),
        protocol: pb::VendorProtocol::from_str_name(v.protocol.json_name()).unwrap_or_default() as i32,
        auth: pb::VendorAuth::from_str_name(v.auth.json_name()).unwrap_or_default() as i32,
        credential_ref: v.credential_ref.clone(),
        ca_pem: v.ca_pem.clone(),
        max_concurrency: v.max_concurrency,
        requests_per_second: v.requests_per_second,
        municipality_codes: v.municipality_codes.clone(),
        test_units: v.test_units.clone(),
    }
}

fn capabilities(c: &serde_json::Value) -> pb::VendorCapabilities {
    let s = |k: &str| c.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let n = |k: &str| c.get(k).and_then(serde_json::Value::as_i64).unwrap_or_default();
    pb::VendorCapabilities {
        protocol_version: s("protocolVersion"),
        operations: c
            .get("operations")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        max_window_seconds: n("maxWindowSeconds"),
        max_units_per_call: n("maxUnitsPerCall") as i32,
        slot_granularity_seconds: n("slotGranularitySeconds"),
        max_requests_per_second: n("maxRequestsPerSecond") as i32,
        implementation: s("implementation"),
        time_zone: s("timeZone"),
    }
}

fn conformance(c: &serde_json::Value) -> pb::VendorConformance {
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    pb::VendorConformance {
        passed: c.get("passed").and_then(serde_json::Value::as_bool).unwrap_or(false),
        checked_at: c
            .get("checkedAt")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| timestamp(t.with_timezone(&chrono::Utc))),
        checks: c
            .get("checks")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|k| pb::VendorConformanceCheck {
                        id: s(k, "id"),
                        section: s(k, "section"),
                        verdict: s(k, "verdict"),
                        detail: s(k, "detail"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A vendor in proto form.
pub fn vendor(v: &Vendor) -> pb::Vendor {
    pb::Vendor {
        id: v.id.to_string(),
        vendor: Some(input_out(&v.to_input())),
        capabilities: v.capabilities.as_ref().map(capabilities),
        capabilities_at: v.capabilities_at.map(timestamp),
        conformance: v.conformance.as_ref().map(conformance),
        certification: Some(certification(&v.certification)),
        version: v.version,
        created_at: Some(timestamp(v.created_at)),
        updated_at: Some(timestamp(v.updated_at)),
    }
}

/// The vendor after applying `new`'s masked fields onto `current` (all if the mask is empty).
fn apply_mask(current: VendorInput, new: VendorInput, paths: &[String]) -> std::result::Result<VendorInput, Error> {
    let mut v = Violations::default();
    for (i, p) in paths.iter().enumerate() {
        if !VENDOR_PATHS.contains(&p.as_str()) {
            v.add(
                format!("updateMask.paths[{i}]"),
                "unknown_field",
                format!("'{p}' is not a writable field; use one of: {}", VENDOR_PATHS.join(", ")),
            );
        }
    }
    v.finish()?;
    if paths.is_empty() {
        return Ok(new);
    }
    let mut out = current;
    for p in paths {
        match p.as_str() {
            "name" => out.name = new.name.clone(),
            "endpoint" => out.endpoint = new.endpoint.clone(),
            "protocol" => out.protocol = new.protocol,
            "auth" => out.auth = new.auth,
            "credential_ref" => out.credential_ref = new.credential_ref.clone(),
            "ca_pem" => out.ca_pem = new.ca_pem.clone(),
            "max_concurrency" => out.max_concurrency = new.max_concurrency,
            "requests_per_second" => out.requests_per_second = new.requests_per_second,
            "test_units" => out.test_units = new.test_units.clone(),
            _ => out.municipality_codes = new.municipality_codes.clone(),
        }
    }
    Ok(out)
}

#[tonic::async_trait]
impl VendorDirectoryService for VendorsGrpc {
    async fn list_vendors(&self, req: Request<pb::ListVendorsRequest>) -> Result<pb::ListVendorsResponse> {
        let p = principal(&req);
        let m = req.into_inner().municipality_code;
        let m = m.trim();
        let list = self.registry.list_vendors(&p, (!m.is_empty()).then_some(m)).await.map_err(status)?;
        Ok(Response::new(pb::ListVendorsResponse { vendors: list.iter().map(vendor).collect() }))
    }

    async fn get_vendor(&self, req: Request<pb::GetVendorRequest>) -> Result<pb::GetVendorResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let v = self.registry.get_vendor(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::GetVendorResponse { vendor: Some(vendor(&v)) }))
    }

    async fn create_vendor(&self, req: Request<pb::CreateVendorRequest>) -> Result<pb::CreateVendorResponse> {
        let p = principal(&req);
        self.registry.authorize_vendor_management(&p).map_err(status)?;
        let r = req.into_inner();
        let o = override_from(r.certification_override).map_err(status)?;
        let v = r.vendor.ok_or_else(|| status(Error::invalid("vendor", "required", "must be set")))?;
        let input = input_from(v, "vendor").map_err(status)?;
        let created = vendors::register(&self.certifier, &self.registry, &p, &input, o.as_ref()).await.map_err(status)?;
        Ok(Response::new(pb::CreateVendorResponse { vendor: Some(vendor(&created)) }))
    }

    async fn update_vendor(&self, req: Request<pb::UpdateVendorRequest>) -> Result<pb::UpdateVendorResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let o = override_from(r.certification_override).map_err(status)?;
        let updated = vendors::change(&self.certifier, &self.registry, &p, id, o.as_ref(), |current| {
            let expected_version = super::required_version(r.expected_version, "expectedVersion")?;
            let new = r.vendor.ok_or_else(|| Error::invalid("vendor", "required", "must be set"))?;
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            let input = apply_mask(current.to_input(), input_from(new, "vendor")?, &paths)?;
            Ok((expected_version, input))
        })
        .await
        .map_err(status)?;
        Ok(Response::new(pb::UpdateVendorResponse { vendor: Some(vendor(&updated)) }))
    }

    async fn delete_vendor(&self, req: Request<pb::DeleteVendorRequest>) -> Result<pb::DeleteVendorResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        if r.expected_version < 0 {
            return Err(status(Error::invalid("expectedVersion", "out_of_range", "must be at least 1 (or 0 for any)")));
        }
        self.registry.delete_vendor(&p, id, (r.expected_version > 0).then_some(r.expected_version)).await.map_err(status)?;
        Ok(Response::new(pb::DeleteVendorResponse {}))
    }

    async fn run_vendor_checks(&self, req: Request<pb::RunVendorChecksRequest>) -> Result<pb::RunVendorChecksResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let v = vendors::run_checks(&self.certifier, &self.registry, &p, id).await.map_err(status)?;
        Ok(Response::new(pb::RunVendorChecksResponse { vendor: Some(vendor(&v)) }))
    }

    async fn list_certification_runs(&self, req: Request<pb::ListCertificationRunsRequest>) -> Result<pb::ListCertificationRunsResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let before = match r.page_token.trim() {
            "" => None,
            t => Some(parse_id(t, "pageToken").map_err(status)?),
        };
        let size = if r.page_size == 0 { 20 } else { i64::from(r.page_size) };
        let (runs, next) = self.registry.certification_runs(&p, id, before, size).await.map_err(status)?;
        let next = next.map(|n| n.to_string()).unwrap_or_default();
        Ok(Response::new(pb::ListCertificationRunsResponse { runs: runs.iter().map(run_out).collect(), next_page_token: next }))
    }

    async fn list_certified_vendors(&self, req: Request<pb::ListCertifiedVendorsRequest>) -> Result<pb::ListCertifiedVendorsResponse> {
        let p = principal(&req);
        let list = self.registry.certified_vendors(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListCertifiedVendorsResponse {
            vendors: list
                .iter()
                .map(|v| pb::CertifiedVendor {
                    id: v.id.to_string(),
                    name: v.name.clone(),
                    protocol_version: v.certification.protocol_version.clone().unwrap_or_default(),
                    implementation: v
                        .capabilities
                        .as_ref()
                        .and_then(|c| c.get("implementation"))
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    municipality_codes: v.municipality_codes.clone(),
                    last_passed_at: v.certification.last_passed_at.map(timestamp),
                    certified_until: v.certification.certified_until.map(timestamp),
                })
                .collect(),
        }))
    }

    async fn override_certification(&self, req: Request<pb::OverrideCertificationRequest>) -> Result<pb::OverrideCertificationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        if r.expected_version < 0 {
            return Err(status(Error::invalid("expectedVersion", "out_of_range", "must be at least 1 (or 0 for any)")));
        }
        let o = override_from(r.certification_override).map_err(status)?;
        let v = self
            .registry
            .override_certification(&p, id, (r.expected_version > 0).then_some(r.expected_version), o.as_ref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::OverrideCertificationResponse { vendor: Some(vendor(&v)) }))
    }

    async fn list_vendor_units(&self, req: Request<pb::ListVendorUnitsRequest>) -> Result<pb::ListVendorUnitsResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let units = self.registry.units_of_vendor(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::ListVendorUnitsResponse {
            units: units
                .into_iter()
                .map(|u| pb::VendorUnit {
                    facility_id: u.facility_id.to_string(),
                    facility_name: u.facility_name,
                    municipality_code: u.municipality_code,
                    unit_id: u.unit_id.to_string(),
                    unit_name: u.unit_name,
                    external_ref: u.external_ref,
                })
                .collect(),
        }))
    }

    async fn set_unit_vendor(&self, req: Request<pb::SetUnitVendorRequest>) -> Result<pb::SetUnitVendorResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let facility = parse_id(&r.facility_id, "facilityId").map_err(status)?;
        let unit = parse_id(&r.unit_id, "unitId").map_err(status)?;
        let vendor =
            if r.vendor_id.trim().is_empty() { None } else { Some((parse_id(&r.vendor_id, "vendorId").map_err(status)?, r.external_ref)) };
        self.registry.set_unit_vendor(&p, facility, unit, vendor).await.map_err(status)?;
        Ok(Response::new(pb::SetUnitVendorResponse {}))
    }
}
