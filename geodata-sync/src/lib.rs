//! geodata-sync: keeps facility coordinates and municipality boundaries in step with the
//! national geodata services.
//!
//! - [`source`]: OGC API - Features and WFS 2.0 clients ([`http`]: rate limit, retries).
//! - [`feature`], [`gml`]: GeoJSON and GML 3.2 features, geometry in WGS84 ([`crs`]).
//! - [`address`]: address lookup, exact then normalised.
//! - [`sync`]: the resumable sync job; [`boundaries`]: boundaries and the quality checks.
//! - [`transform`]: the coordinate transforms (shared with registry-core's search).
#![forbid(unsafe_code)]

pub mod address;
pub mod boundaries;
pub mod config;
pub mod crs;
pub mod feature;
pub mod gml;
pub mod http;
pub mod progress;
pub mod source;
pub mod sync;

pub use registry_core::geo::transform;

use registry_core::geo::LatLon;

/// Installs rustls's ring provider for the process (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Great-circle distance in metres (mean Earth radius). Within 0.5 % of the spheroid, which
/// is plenty for comparing with a threshold of metres; what is stored is PostGIS's spheroid value.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

/// Opens a service's feature source from the configuration, reading its API key from the
/// environment variable the configuration names.
pub fn open_source<P>(service: &config::Service<P>, client: &config::ClientConfig) -> Result<source::FeatureSource, http::FetchError> {
    let key = std::env::var(&service.api_key_env).ok().filter(|k| !k.is_empty());
    let http = http::Client::new(client, &service.api_key_header, key.as_deref())?;
    source::FeatureSource::new(service, http)
}
