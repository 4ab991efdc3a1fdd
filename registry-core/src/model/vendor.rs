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
}

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
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What the registry learnt by checking a vendor's endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VendorChecks {
    /// Its capabilities (proto3 JSON), when they were fetched.
    pub capabilities: Option<serde_json::Value>,
    /// The conformance result (an object with `passed`, `checkedAt` and `checks`), when run.
    pub conformance: Option<serde_json::Value>,
}

impl VendorChecks {
    /// Whether the conformance result says it passed (false without one).
    pub fn passed(&self) -> bool {
        self.conformance.as_ref().and_then(|c| c.get("passed")).and_then(serde_json::Value::as_bool).unwrap_or(false)
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
                if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace) =>
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
}
