//! Configuration: a TOML file laid over the documented default profile (`default-config.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::crs::SourceCrs;

/// The default profile, with every value documented.
pub const DEFAULT_TOML: &str = include_str!("../default-config.toml");

/// Everything geodata-sync reads from its configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address service.
    pub addresses: Service<AddressProperties>,
    /// The boundaries service.
    pub boundaries: Service<BoundaryProperties>,
    /// Client behaviour towards the services.
    pub client: ClientConfig,
    /// The sync job.
    pub sync: SyncConfig,
}

/// Which protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OGC API - Features.
    Ogcapi,
    /// WFS 2.0.
    Wfs,
}

/// WFS output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `application/json`.
    Geojson,
    /// GML 3.2.
    Gml,
}

/// Axis order of GeoJSON coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AxisOrder {
    /// Easting/longitude first.
    Xy,
    /// The CRS's own order.
    Authority,
}

/// One service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service<P> {
    /// Protocol.
    pub protocol: Protocol,
    /// Landing page (OGC API) or endpoint (WFS).
    pub url: String,
    /// Collection id or feature type name.
    pub collection: String,
    /// CRS to ask for.
    pub crs: String,
    /// Axis order of GeoJSON coordinates.
    pub geojson_axis_order: AxisOrder,
    /// Features per page.
    pub page_size: u32,
    /// WFS output format.
    pub format: Format,
    /// Property filter selecting one municipality (addresses only).
    #[serde(default)]
    pub municipality_property: Option<String>,
    /// Header carrying the API key.
    pub api_key_header: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Property names.
    pub properties: P,
}

/// Property names of address features.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressProperties {
    /// The whole street address ("Storgatan 12B"), if the service has one property for it.
    #[serde(default)]
    pub street: Option<String>,
    /// Street name.
    #[serde(default)]
    pub street_name: Option<String>,
    /// House number.
    #[serde(default)]
    pub house_number: Option<String>,
    /// House-number letter.
    #[serde(default)]
    pub letter: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// Post town.
    pub locality: String,
}

/// Property names of boundary features.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryProperties {
    /// Municipality code.
    pub municipality_code: String,
}

/// Client behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Requests per second per service.
    pub requests_per_second: u32,
    /// Requests in flight per service.
    pub max_concurrency: u32,
    /// Per-request timeout.
    pub timeout_seconds: u64,
    /// Retries per request.
    pub max_retries: u32,
    /// First backoff.
    pub initial_backoff_ms: u64,
    /// Largest backoff.
    pub max_backoff_ms: u64,
    /// Largest Retry-After honoured.
    pub max_retry_after_seconds: u64,
    /// Paging guard.
    pub max_pages: u32,
}

/// The sync job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Distance beyond which a location is moved, metres.
    pub move_threshold_m: f64,
}

/// A configuration problem, named by its key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// The default profile.
    pub fn default_profile() -> Config {
        Config::from_toml("", "default").expect("the default profile is valid")
    }

    /// Reads `path` over the default profile.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// Parses `text` (named `origin` in errors) over the default profile and checks it.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut base: toml::Table = DEFAULT_TOML.parse().expect("the default profile parses");
        let over: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError(format!("{origin}: {e}")))?;
        merge(&mut base, over);
        let config: Config = base.try_into().map_err(|e: toml::de::Error| ConfigError(format!("{origin}: {e}")))?;
        config.check().map_err(|e| ConfigError(format!("{origin}: {e}")))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        for (name, url, crs, page) in [
            ("addresses", &self.addresses.url, &self.addresses.crs, self.addresses.page_size),
            ("boundaries", &self.boundaries.url, &self.boundaries.crs, self.boundaries.page_size),
        ] {
            let parsed = reqwest::Url::parse(url).map_err(|e| format!("{name}.url: '{url}' is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("{name}.url: must be http or https, not {}", parsed.scheme()));
            }
            SourceCrs::parse(crs).map_err(|e| format!("{name}.crs: {e}"))?;
            if !(1..=10_000).contains(&page) {
                return Err(format!("{name}.page_size: must be between 1 and 10000 (got {page})"));
            }
        }
        let p = &self.addresses.properties;
        if p.street.is_none() && (p.street_name.is_none() || p.house_number.is_none()) {
            return Err("addresses.properties: set `street`, or `street_name` and `house_number`".into());
        }
        let c = &self.client;
        if c.requests_per_second == 0 || c.max_concurrency == 0 || c.timeout_seconds == 0 || c.max_pages == 0 {
            return Err("client: requests_per_second, max_concurrency, timeout_seconds and max_pages must be at least 1".into());
        }
        if !(self.sync.move_threshold_m.is_finite() && self.sync.move_threshold_m > 0.0) {
            return Err("sync.move_threshold_m: must be a positive number of metres".into());
        }
        Ok(())
    }
}

/// Lays `over` onto `base`, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_valid_and_documented() {
        let c = Config::default_profile();
        assert_eq!(c.addresses.protocol, Protocol::Ogcapi);
        assert_eq!(c.addresses.properties.postal_code, "postnummer");
        assert_eq!(c.sync.move_threshold_m, 25.0);
        // Every key of the profile has a comment line above it or in its section.
        assert!(DEFAULT_TOML.lines().filter(|l| l.starts_with('#')).count() > 20);
    }

    #[test]
    fn a_file_overrides_only_what_it_names() {
        let c = Config::from_toml("[addresses]\nurl = \"http://127.0.0.1:5000\"\n[sync]\nmove_threshold_m = 10.0\n", "t").unwrap();
        assert_eq!(c.addresses.url, "http://127.0.0.1:5000");
        assert_eq!(c.addresses.collection, "adress", "kept from the default");
        assert_eq!(c.sync.move_threshold_m, 10.0);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("[addresses]\nurll = \"x\"", "unknown field `urll`"),
            ("[addresses]\nurl = \"ftp://x\"", "addresses.url: must be http or https"),
            ("[addresses]\ncrs = \"EPSG:32633\"", "addresses.crs"),
            ("[boundaries]\nprotocol = \"soap\"", "unknown variant `soap`"),
            ("[client]\nmax_concurrency = 0", "client:"),
            ("[sync]\nmove_threshold_m = -1.0", "sync.move_threshold_m"),
            ("[addresses.properties]\nhouse_number = \"\"\nstreet_name = \"a\"", ""),
            ("not toml", "t:"),
        ] {
            match Config::from_toml(text, "t") {
                Err(e) => assert!(e.to_string().contains(needle), "{text}: {e}"),
                Ok(_) => assert!(needle.is_empty(), "{text} should fail"),
            }
        }
    }
}
