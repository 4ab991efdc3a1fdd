//! The demo set-up (`reference-booking demo`): the backend takes on the bookable units of a
//! few municipalities of a running registry, registers itself in the registry's vendor
//! directory and maps its units there, so that a federated availability query returns its
//! real slots. Idempotent: run again, it finds what it made before.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::{CustomerType, Price, Rules, Unit};
use crate::service::Backend;

/// What to set up.
#[derive(Debug, Clone)]
pub struct DemoSetup {
    /// The registry's base URL.
    pub registry: String,
    /// An admin API key of the registry.
    pub admin_key: String,
    /// Municipality codes whose bookable units this backend books.
    pub municipalities: Vec<String>,
    /// The vendor's name in the directory.
    pub name: String,
    /// Where the registry reaches this backend (its vendor.v1 endpoint).
    pub endpoint: String,
}

/// What was set up.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The vendor's id in the registry's directory.
    pub vendor_id: Uuid,
    /// Units booked through this backend.
    pub units: usize,
}

fn demo_rules() -> Rules {
    let mut prices = BTreeMap::new();
    prices.insert(CustomerType::PrivatePerson, Price { amount_minor: 40_000, currency: "SEK".into() });
    prices.insert(CustomerType::Association, Price { amount_minor: 15_000, currency: "SEK".into() });
    prices.insert(CustomerType::Company, Price { amount_minor: 60_000, currency: "SEK".into() });
    Rules { prices, ..Rules::default() }
}

/// Sets the demo up against the registry; errors say which step failed.
pub async fn setup(backend: &Backend, s: &DemoSetup) -> Result<DemoReport, String> {
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().map_err(|e| e.to_string())?;
    let base = s.registry.trim_end_matches('/');
    let call = async |r: reqwest::RequestBuilder, what: &str| -> Result<(u16, Value), String> {
        let r = r.header("x-api-key", &s.admin_key).send().await.map_err(|e| format!("{what}: {e}"))?;
        let status = r.status().as_u16();
        let body = r.text().await.map_err(|e| format!("{what}: {e}"))?;
        Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
    };

    // The bookable units of the municipalities' facilities.
    let mut mapped = Vec::new();
    for m in &s.municipalities {
        let mut token = String::new();
        loop {
            let url = format!("{base}/v1/facilities?municipalityCode={m}&pageSize=500&pageToken={token}");
            let (status, page) = call(http.get(&url), "listing facilities").await?;
            if status != 200 {
                return Err(format!("listing the facilities of {m}: HTTP {status}: {page}"));
            }
            for f in page["facilities"].as_array().into_iter().flatten() {
                let facility: Uuid = f["id"].as_str().and_then(|x| x.parse().ok()).ok_or("a facility without an id")?;
                for u in f["units"].as_array().into_iter().flatten().filter(|u| u["bookable"] != false) {
                    let unit: Uuid = u["id"].as_str().and_then(|x| x.parse().ok()).ok_or("a unit without an id")?;
                    let name = format!("{}, {}", f["name"].as_str().unwrap_or(""), u["name"].as_str().unwrap_or(""));
                    let local = Unit {
                        id: Uuid::now_v7(),
                        external_ref: format!("unit-{unit}"),
                        registry_facility_id: facility,
                        registry_unit_id: unit,
                        name: name.chars().take(200).collect(),
                        rules: demo_rules(),
                        municipality_code: Some(m.clone()),
                        version: 1,
                    };
                    backend.save_unit(&local).await.map_err(|e| format!("saving unit {name}: {e}"))?;
                    mapped.push((facility, unit, local.external_ref));
                }
            }
            token = page["nextPageToken"].as_str().unwrap_or("").to_string();
            if token.is_empty() {
                break;
            }
        }
    }

    // Registered in the directory (or found there, and pointed at this endpoint). Its first
    // unit is its test unit: the registry's certification runs book it and cancel again, so
    // they check its bookings too.
    let test_units: Vec<&str> = mapped.iter().take(1).map(|m| m.2.as_str()).collect();
    let body = json!({"name": s.name, "endpoint": s.endpoint, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE",
                      "municipalityCodes": s.municipalities, "testUnits": test_units});
    let (status, v) = call(http.post(format!("{base}/v1/vendors")).json(&body), "registering the vendor").await?;
    let vendor = match status {
        201 => v,
        409 => {
            let (_, list) = call(http.get(format!("{base}/v1/vendors")), "listing vendors").await?;
            let found = list["vendors"].as_array().into_iter().flatten().find(|x| x["name"] == s.name.as_str()).cloned();
            let found = found.ok_or("the vendor's name is taken but it is not listed")?;
            let url = format!("{base}/v1/vendors/{}", found["id"].as_str().unwrap_or(""));
            let patch = json!({"endpoint": s.endpoint, "municipalityCodes": s.municipalities, "testUnits": test_units});
            let r = http
                .patch(&url)
                .header("content-type", "application/merge-patch+json")
                .header("if-match", format!("\"{}\"", found["version"]))
                .body(patch.to_string());
            let (status, v) = call(r, "updating the vendor").await?;
            if status != 200 {
                return Err(format!("updating the vendor: HTTP {status}: {v}"));
            }
            v
        }
        _ => return Err(format!("registering the vendor: HTTP {status}: {v}")),
    };
    let vendor_id: Uuid = vendor["id"].as_str().and_then(|x| x.parse().ok()).ok_or("the registry did not answer a vendor id")?;

    for (facility, unit, external_ref) in &mapped {
        let url = format!("{base}/v1/facilities/{facility}/units/{unit}/vendor");
        let (status, p) = call(http.put(url).json(&json!({"vendorId": vendor_id, "externalRef": external_ref})), "mapping a unit").await?;
        if status != 204 {
            return Err(format!("mapping unit {unit}: HTTP {status}: {p}"));
        }
    }
    Ok(DemoReport { vendor_id, units: mapped.len() })
}
