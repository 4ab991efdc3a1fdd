//! geodata-sync's GeoJSON reader (`feature::parse_geojson`): pages of OGC API - Features and WFS
//! `application/json` answers, as a municipality's or Lantmäteriet's server sends them.
//!
//! The first byte picks the declared CRS and axis order, the rest is the body. Properties: it
//! never panics; what it accepts passes `registry_fuzz::check_page` (ids, points in Sweden,
//! closed rings, and the same features after a round trip through GeoJSON).
#![no_main]

use geodata_sync::feature::{Coordinates, parse_geojson};
use libfuzzer_sys::fuzz_target;
use registry_fuzz::{check_page, source_crs, source_url};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let coords = Coordinates { crs: source_crs(selector), xy: selector & 0x80 != 0 };
    match parse_geojson(body, &source_url(), coords) {
        Ok(page) => check_page(&page, body),
        Err(e) => drop(e.to_string()),
    }
});
