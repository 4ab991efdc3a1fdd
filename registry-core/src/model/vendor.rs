//! Booking vendors (leverantörer) in the vendor directory: where each vendor.v1 endpoint is,
//! how the registry authenticates to it, the limits it is treated with, and which
//! municipalities it serves.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::text_enum;
use crate::codes;
use crate::error::Result;
use crate::validate::Violations;

text_enum! {
    /// How the registry talks to a vendor.
    VendorProtocol {
        /// vendor.v1 over gRPC (docs/vendor-protocol.md).
        Grpc = "grpc" / "VENDOR_PROTOCOL_GRPC",
        /// An OpenActive RPDE feed of facility-use slots, harvested into a local cache.
        OpenActive = "openactive" / "VENDOR_PROTOCOL_OPENACTIVE",
    }
}

text_enum! {
    /// How the registry authenticates to a vendor.
    VendorAuth {
        /// A client certificate (mTLS).
        Mtls = "mtls" / "VENDOR_AUTH_MTLS",
        /// An API key in `x-api-key`.
        ApiKey = "api_key" / "VENDOR_AUTH_API_KEY",
        /// None (plain http on loopback, for development and tests only).
        None = "none" / "VENDOR_AUTH_NONE",
    }
}

text_enum! {
    /// Where a vendor stands with its certification (docs/vendor-protocol.md §12).
    CertificationStatus {
        /// Its latest conformance run passed, and that run is recent enough.
        Certified = "certified" / "CERTIFICATION_STATUS_CERTIFIED",
        /// It has no current passing run, but an admin lets it be federated (with a recorded
        /// reason, until a date).
        Overridden = "overridden" / "CERTIFICATION_STATUS_OVERRIDDEN",
        /// Its latest run failed.
        Failed = "failed" / "CERTIFICATION_STATUS_FAILED",
        /// Its latest run passed, but too long ago: no run has confirmed it since.
        Lapsed = "lapsed" / "CERTIFICATION_STATUS_LAPSED",
        /// It has never been run against the kit (e.g. registered before certification).
        NotChecked = "not_checked" / "CERTIFICATION_STATUS_NOT_CHECKED",
    }
}

text_enum! {
    /// What started a conformance run.
    RunTrigger {
        /// The vendor's registration.
        Registration = "registration" / "RUN_TRIGGER_REGISTRATION",
        /// A change of how the registry reaches it (endpoint, CA, authentication).
        EndpointChange = "endpoint_change" / "RUN_TRIGGER_ENDPOINT_CHANGE",
        /// The schedule (daily by default).
        Schedule = "schedule" / "RUN_TRIGGER_SCHEDULE",
        /// Its capabilities changed since the last run.
        CapabilitiesChanged = "capabilities_changed" / "RUN_TRIGGER_CAPABILITIES_CHANGED",
        /// An admin or the vendor itself asked for it.
        Request = "request" / "RUN_TRIGGER_REQUEST",
    }
}

/// An admin's override of a vendor's certification.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificationOverride {
    /// Why the vendor is federated without a passing run (10 to 1,000 characters).
    pub reason: String,
    /// Who overrode (the admin's key or job id; shown to admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Until when it holds.
    pub until: DateTime<Utc>,
}

/// An override as an admin asks for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverrideInput {
    /// Why the vendor may be federated without a passing run (10 to 1,000 characters); kept
    /// with the vendor and in the audit log.
    pub reason: String,
    /// Until when (default 30 days from now, at most 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// Longest an override may hold.
pub const MAX_OVERRIDE_DAYS: i64 = 90;
/// How long an override holds unless its `until` is given.
pub const DEFAULT_OVERRIDE_DAYS: i64 = 30;

impl OverrideInput {
    /// Checks the reason and the date, relative to `now`; returns the trimmed reason and the end.
    pub fn validate(&self, field: &str, now: DateTime<Utc>) -> Result<(String, DateTime<Utc>)> {
        let mut v = Violations::default();
        let reason = self.reason.trim().to_string();
        let n = reason.chars().count();
        if !(10..=1000).contains(&n) {
            v.add(format!("{field}.reason"), "length", "must say why, in 10 to 1,000 characters");
        }
        v.plain_chars(&format!("{field}.reason"), &reason, true);
        let until = self.until.unwrap_or(now + chrono::Duration::days(DEFAULT_OVERRIDE_DAYS));
        if until <= now {
            v.add(format!("{field}.until"), "out_of_range", "must be in the future");
        } else if until > now + chrono::Duration::days(MAX_OVERRIDE_DAYS) {
            v.add(format!("{field}.until"), "out_of_range", format!("must be at most {MAX_OVERRIDE_DAYS} days from now"));
        }
        v.finish()?;
        Ok((reason, until))
    }
}

/// A vendor's certification, derived from its conformance runs (public).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certification {
    /// Where it stands; only `CERTIFICATION_STATUS_CERTIFIED` and `…_OVERRIDDEN` vendors are
    /// asked by the federated query (the others are reported `uncertified`).
    pub status: CertificationStatus,
    /// The latest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// The protocol version the latest run found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Ids of the checks the latest run failed.
    #[serde(default)]
    pub failed_checks: Vec<String>,
    /// The latest passing run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_passed_at: Option<DateTime<Utc>>,
    /// Until when the latest passing run certifies the vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_until: Option<DateTime<Utc>>,
    /// An admin's override, while it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<CertificationOverride>,
}

/// What the certification needs of a vendor's latest run.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRun {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// Whether it passed.
    pub passed: bool,
    /// The protocol version it found.
    pub protocol_version: Option<String>,
    /// The checks it failed.
    pub failed_checks: Vec<String>,
}

impl Certification {
    /// Derives the status at `now` from the latest run and the override.
    pub fn derive(
        now: DateTime<Utc>,
        last_run: Option<LatestRun>,
        last_passed_at: Option<DateTime<Utc>>,
        certified_until: Option<DateTime<Utc>>,
        r#override: Option<CertificationOverride>,
    ) -> Certification {
        let r#override = r#override.filter(|o| o.until > now);
        let latest_passed = last_run.as_ref().map(|r| r.passed);
        let status = match (latest_passed, certified_until) {
            (Some(true), Some(until)) if until > now => CertificationStatus::Certified,
            _ if r#override.is_some() => CertificationStatus::Overridden,
            (None, _) => CertificationStatus::NotChecked,
            (Some(false), _) => CertificationStatus::Failed,
            (Some(true), _) => CertificationStatus::Lapsed,
        };
        let (last_run_at, protocol_version, failed_checks) = match last_run {
            Some(r) => (Some(r.at), r.protocol_version, r.failed_checks),
            None => (None, None, vec![]),
        };
        Certification { status, last_run_at, protocol_version, failed_checks, last_passed_at, certified_until, r#override }
    }

    /// Whether the federated query asks this vendor.
    pub fn federated(&self) -> bool {
        matches!(self.status, CertificationStatus::Certified | CertificationStatus::Overridden)
    }

    /// Why the vendor is not federated, for the federated query's per-vendor message.
    pub fn why_not(&self) -> String {
        let day =
            |t: Option<DateTime<Utc>>| t.map_or_else(|| "an unknown date".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        match self.status {
            CertificationStatus::Failed => {
                format!("its conformance run of {} failed: {}", day(self.last_run_at), self.failed_checks.join(", "))
            }
            CertificationStatus::Lapsed => format!("its certification lapsed at {}", day(self.certified_until)),
            CertificationStatus::NotChecked => "it has not been run against the conformance kit".into(),
            _ => String::new(),
        }
    }
}

/// One conformance run of a vendor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificationRun {
    /// Run id (UUIDv7).
    pub id: Uuid,
    /// The vendor.
    pub vendor_id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// What started it.
    pub trigger: RunTrigger,
    /// The endpoint it ran against.
    pub endpoint: String,
    /// The protocol version the capabilities stated (absent when they could not be fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Whether every check passed or was skipped.
    pub passed: bool,
    /// Ids of the failed checks.
    pub failed_checks: Vec<String>,
    /// Every check: `id`, `section`, `title`, `verdict` (`pass`, `fail`, `skip`), `detail`, `elapsedMs`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub checks: serde_json::Value,
}

/// Limits of a vendor's fields.
pub mod vendor_limits {
    /// Largest calls in flight per vendor.
    pub const MAX_CONCURRENCY: i32 = 256;
    /// Largest requests per second per vendor.
    pub const REQUESTS_PER_SECOND: i32 = 10_000;
}

/// A vendor as written by an admin.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorInput {
    /// Name, e.g. `Bokningsbolaget AB`; unique.
    pub name: String,
    /// `https://host:port` of its vendor.v1 endpoint (or feed URL for OpenActive); `http://` only with `VENDOR_AUTH_NONE`.
    pub endpoint: String,
    /// Protocol.
    pub protocol: VendorProtocol,
    /// Authentication.
    pub auth: VendorAuth,
    /// Where the credential is (never the credential): the environment variable holding the API
    /// key, or the name of the mounted client certificate; required unless `auth` is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ref: Option<String>,
    /// PEM of the CA that signs the vendor's server certificate (the public roots otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Calls in flight at once (default 8, at most 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i32>,
    /// Requests per second (default 50, at most 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<i32>,
    /// Municipality codes the vendor serves; at least one.
    pub municipality_codes: Vec<String>,
    /// The vendor's references of units (at most 3) that the registry's conformance runs may
    /// book, and cancel again, to check its bookings too; without them the runs only read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_units: Vec<String>,
}

/// Most units a vendor names for the registry's conformance runs.
pub const MAX_TEST_UNITS: usize = 3;

/// A vendor in the directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vendor {
    /// Vendor id (UUIDv7).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Endpoint.
    pub endpoint: String,
    /// Protocol.
    pub protocol: VendorProtocol,
    /// Authentication.
    pub auth: VendorAuth,
    /// Where the credential is (shown to admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ref: Option<String>,
    /// CA certificate (PEM), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Calls in flight at once.
    pub max_concurrency: i32,
    /// Requests per second.
    pub requests_per_second: i32,
    /// Municipalities served, ordered by code.
    pub municipality_codes: Vec<String>,
    /// Units the registry's conformance runs may book (the vendor's references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_units: Vec<String>,
    /// The vendor's capabilities as last fetched (GetCapabilities, in proto3 JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<serde_json::Value>,
    /// When they were fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities_at: Option<DateTime<Utc>>,
    /// The latest conformance result (`passed`, `checkedAt`, and per check its `id`, `section`,
    /// `verdict` and `detail`), from registration, the schedule or a run on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<serde_json::Value>,
    /// Its certification: status, latest and latest passing run, override.
    pub certification: Certification,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What the registry learnt by checking a vendor's endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorChecks {
    /// Its capabilities (proto3 JSON), when they were fetched.
    pub capabilities: Option<serde_json::Value>,
    /// The conformance result (an object with `passed`, `checkedAt` and `checks`), when run.
    pub conformance: Option<serde_json::Value>,
    /// What started the run.
    pub trigger: RunTrigger,
    /// How long a passing run certifies the vendor.
    pub valid_for: chrono::Duration,
}

impl Default for VendorChecks {
    fn default() -> Self {
        VendorChecks { capabilities: None, conformance: None, trigger: RunTrigger::Request, valid_for: chrono::Duration::days(3) }
    }
}

impl VendorChecks {
    /// Whether the conformance result says it passed (false without one).
    pub fn passed(&self) -> bool {
        self.conformance.as_ref().and_then(|c| c.get("passed")).and_then(serde_json::Value::as_bool).unwrap_or(false)
    }

    /// The checks that failed: (id, section, detail).
    pub fn failures(&self) -> Vec<(String, String, String)> {
        let s = |c: &serde_json::Value, k: &str| c.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
        self.conformance
            .as_ref()
            .and_then(|c| c.get("checks"))
            .and_then(serde_json::Value::as_array)
            .map(|checks| {
                checks
                    .iter()
                    .filter(|c| c.get("verdict").and_then(|v| v.as_str()) == Some("fail"))
                    .map(|c| (s(c, "id"), s(c, "section"), s(c, "detail")))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Vendor {
    /// The vendor as an input (for a change of a few fields); the credential's name is kept
    /// only if the reader could see it.
    pub fn to_input(&self) -> VendorInput {
        VendorInput {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            protocol: self.protocol,
            auth: self.auth,
            credential_ref: self.credential_ref.clone(),
            ca_pem: self.ca_pem.clone(),
            max_concurrency: Some(self.max_concurrency),
            requests_per_second: Some(self.requests_per_second),
            municipality_codes: self.municipality_codes.clone(),
            test_units: self.test_units.clone(),
        }
    }
}

impl VendorInput {
    /// Checks every field and returns the normalised input, or all violations at once.
    pub fn validate(&self) -> Result<VendorInput> {
        let mut v = Violations::default();
        let name = v.required_text("name", &self.name, 200);
        let endpoint = self.endpoint.trim().to_string();
        match endpoint.split_once("://") {
            Some(("https", rest)) | Some(("http", rest))
                if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(|c: char| c.is_whitespace() || c.is_control()) =>
            {
                if endpoint.starts_with("http://") && self.auth != VendorAuth::None {
                    v.add("endpoint", "insecure", "must be https:// when the registry authenticates to the vendor");
                }
            }
            _ => v.add("endpoint", "format", "must be an https:// URL with a host, e.g. https://booking.example.se:443"),
        }
        if endpoint.chars().count() > 500 {
            v.add("endpoint", "max_length", "must be at most 500 characters");
        }
        let credential_ref = self.credential_ref.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        match (&credential_ref, self.auth) {
            (None, VendorAuth::Mtls | VendorAuth::ApiKey) => {
                v.add("credentialRef", "required", "names where the credential is (an environment variable or a mounted certificate)")
            }
            (Some(_), VendorAuth::None) => v.add("credentialRef", "not_allowed", "a vendor without authentication has no credential"),
            (Some(c), _) if !(c.len() <= 200 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || "_./-".contains(ch))) => {
                v.add("credentialRef", "format", "is a name (letters, digits, _ . / -), never the secret itself")
            }
            _ => {}
        }
        let ca_pem = self.ca_pem.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(ca) = &ca_pem
            && (!ca.starts_with("-----BEGIN CERTIFICATE-----") || ca.len() > 20_000)
        {
            v.add("caPem", "format", "must be a PEM certificate (-----BEGIN CERTIFICATE-----), at most 20,000 characters");
        }
        if let Some(ca) = &ca_pem {
            v.plain_chars("caPem", ca, true);
        }
        let range = |v: &mut Violations, field: &str, value: Option<i32>, max: i32| {
            if let Some(n) = value
                && !(1..=max).contains(&n)
            {
                v.add(field, "out_of_range", format!("must be between 1 and {max}"));
            }
        };
        range(&mut v, "maxConcurrency", self.max_concurrency, vendor_limits::MAX_CONCURRENCY);
        range(&mut v, "requestsPerSecond", self.requests_per_second, vendor_limits::REQUESTS_PER_SECOND);
        let mut codes_out: Vec<String> = Vec::new();
        if self.municipality_codes.is_empty() {
            v.add("municipalityCodes", "required", "a vendor serves at least one municipality");
        }
        for (i, c) in self.municipality_codes.iter().enumerate() {
            let code = codes::check_municipality(&mut v, &format!("municipalityCodes[{i}]"), c);
            if codes_out.contains(&code) {
                v.add(format!("municipalityCodes[{i}]"), "duplicate", format!("{code} is listed more than once"));
            }
            codes_out.push(code);
        }
        codes_out.sort();
        let mut test_units: Vec<String> = Vec::new();
        if self.test_units.len() > MAX_TEST_UNITS {
            v.add("testUnits", "max_items", format!("at most {MAX_TEST_UNITS} units"));
        }
        for (i, u) in self.test_units.iter().enumerate() {
            let u = u.trim().to_string();
            if u.is_empty() || u.chars().count() > 200 {
                v.add(format!("testUnits[{i}]"), "length", "must be 1 to 200 characters");
            } else if test_units.contains(&u) {
                v.add(format!("testUnits[{i}]"), "duplicate", format!("'{u}' is listed more than once"));
            }
            test_units.push(u);
        }
        v.finish()?;
        Ok(VendorInput {
            name,
            endpoint,
            protocol: self.protocol,
            auth: self.auth,
            credential_ref,
            ca_pem,
            max_concurrency: Some(self.max_concurrency.unwrap_or(8)),
            requests_per_second: Some(self.requests_per_second.unwrap_or(50)),
            municipality_codes: codes_out,
            test_units,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn valid() -> VendorInput {
        VendorInput {
            name: "Bokningsbolaget AB".into(),
            endpoint: "https://boka.example.se:8443".into(),
            protocol: VendorProtocol::Grpc,
            auth: VendorAuth::ApiKey,
            credential_ref: Some("VENDOR_BOKNINGSBOLAGET_KEY".into()),
            ca_pem: None,
            max_concurrency: None,
            requests_per_second: Some(20),
            municipality_codes: vec!["1881".into(), "1880".into()],
            test_units: vec![],
        }
    }

    #[test]
    fn a_valid_vendor_is_normalised() {
        let v = valid().validate().unwrap();
        assert_eq!(v.municipality_codes, ["1880", "1881"]);
        assert_eq!((v.max_concurrency, v.requests_per_second), (Some(8), Some(20)));
    }

    #[test]
    fn every_broken_rule_is_named() {
        let bad = VendorInput {
            name: " ".into(),
            endpoint: "http://boka.example.se".into(),
            credential_ref: Some("sk_live_abc123 secret".into()),
            ca_pem: Some("not a certificate".into()),
            max_concurrency: Some(0),
            requests_per_second: Some(100_000),
            municipality_codes: vec!["1881".into(), "9999".into(), "1881".into()],
            test_units: vec!["hall-a".into(), " ".into(), "hall-a".into(), "hall-b".into()],
            ..valid()
        };
        let Err(Error::Invalid(v)) = bad.validate() else { panic!() };
        let got: Vec<(&str, &str)> = v.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(
            got,
            [
                ("name", "required"),
                ("endpoint", "insecure"),
                ("credentialRef", "format"),
                ("caPem", "format"),
                ("maxConcurrency", "out_of_range"),
                ("requestsPerSecond", "out_of_range"),
                ("municipalityCodes[1]", "unknown_code"),
                ("municipalityCodes[2]", "duplicate"),
                ("testUnits", "max_items"),
                ("testUnits[1]", "length"),
                ("testUnits[2]", "duplicate"),
            ]
        );
        let none = VendorInput {
            auth: VendorAuth::None,
            credential_ref: Some("X".into()),
            endpoint: "ftp://x".into(),
            municipality_codes: vec![],
            ..valid()
        };
        let Err(Error::Invalid(v)) = none.validate() else { panic!() };
        let got: Vec<(&str, &str)> = v.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(got, [("endpoint", "format"), ("credentialRef", "not_allowed"), ("municipalityCodes", "required")]);
        let missing = VendorInput { credential_ref: None, ..valid() };
        assert!(matches!(missing.validate(), Err(Error::Invalid(v)) if v[0].field == "credentialRef" && v[0].rule == "required"));
    }

    #[test]
    fn certification_follows_the_latest_run_its_age_and_the_override() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc);
        let h = chrono::Duration::hours;
        let run = |passed: bool, failed: &[&str]| {
            Some(LatestRun {
                at: now - h(2),
                passed,
                protocol_version: Some("1.0".into()),
                failed_checks: failed.iter().map(|s| s.to_string()).collect(),
            })
        };
        let o = |until| Some(CertificationOverride { reason: "a reason of length".into(), by: None, at: now - h(5), until });
        let status = |c: Certification| (c.status, c.federated());
        use CertificationStatus as S;
        assert_eq!(status(Certification::derive(now, run(true, &[]), Some(now - h(2)), Some(now + h(70)), None)), (S::Certified, true));
        assert_eq!(status(Certification::derive(now, run(true, &[]), Some(now - h(80)), Some(now - h(8)), None)), (S::Lapsed, false));
        let failed = Certification::derive(now, run(false, &["health.serving"]), Some(now - h(30)), Some(now + h(40)), None);
        assert_eq!(status(failed.clone()), (S::Failed, false), "a failed run ends the certification at once");
        assert_eq!(failed.why_not(), "its conformance run of 2026-11-24 10:00 UTC failed: health.serving");
        assert_eq!(status(Certification::derive(now, None, None, None, None)), (S::NotChecked, false));
        // An override holds until its date, then the runs decide again.
        assert_eq!(status(Certification::derive(now, run(false, &["x"]), None, None, o(now + h(1)))), (S::Overridden, true));
        let expired = Certification::derive(now, run(false, &["x"]), None, None, o(now - h(1)));
        assert_eq!((expired.status, expired.r#override), (S::Failed, None));
        // A passing run is certified, override or not.
        assert_eq!(status(Certification::derive(now, run(true, &[]), Some(now), Some(now + h(1)), o(now + h(1)))), (S::Certified, true));
    }

    #[test]
    fn an_override_says_why_until_a_date_within_90_days() {
        let now = Utc::now();
        let ok = OverrideInput { reason: "  the municipality's only vendor  ".into(), until: None };
        let (reason, until) = ok.validate("certificationOverride", now).unwrap();
        assert_eq!((reason.as_str(), until), ("the municipality's only vendor", now + chrono::Duration::days(DEFAULT_OVERRIDE_DAYS)));
        for (o, field) in [
            (OverrideInput { reason: "short".into(), until: None }, "certificationOverride.reason"),
            (OverrideInput { reason: "x".repeat(1001), until: None }, "certificationOverride.reason"),
            (OverrideInput { until: Some(now - chrono::Duration::seconds(1)), ..ok.clone() }, "certificationOverride.until"),
            (OverrideInput { until: Some(now + chrono::Duration::days(91)), ..ok.clone() }, "certificationOverride.until"),
        ] {
            assert!(matches!(o.validate("certificationOverride", now), Err(Error::Invalid(v)) if v[0].field == field), "{o:?}");
        }
    }
}
