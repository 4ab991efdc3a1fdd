//! Checks the fuzz targets share: what every page of features a geodata reader returns must
//! satisfy, whichever reader and CRS produced it.

use geodata_sync::crs::SourceCrs;
use geodata_sync::feature::{Coordinates, Feature, Geometry, Page, parse_geojson};
use registry_core::geo::LatLon;
use reqwest::Url;
use serde_json::Value;

/// The URL the pages claim to come from (relative `next` links resolve against it).
pub fn source_url() -> Url {
    Url::parse("https://geodata.example.se/collections/adresser/items?f=json&limit=2").expect("a fixed URL")
}

/// The source CRSs a service may declare, picked by one input byte: CRS84, WGS84 in authority
/// order (latitude first), SWEREF 99 TM and a local zone, and RT 90 2.5 gon V.
pub fn source_crs(selector: u8) -> SourceCrs {
    let name = ["CRS84", "EPSG:4326", "EPSG:3006", "EPSG:3011", "EPSG:3021"][usize::from(selector) % 5];
    SourceCrs::parse(name).expect("a supported CRS")
}

fn in_sweden(p: &LatLon) -> bool {
    p.lat.is_finite() && p.lon.is_finite() && (54.0..=70.0).contains(&p.lat) && (9.5..=25.5).contains(&p.lon)
}

/// What any page a reader accepts must satisfy: features with ids, points in Sweden in WGS84,
/// polygons of closed rings; and written out as GeoJSON (CRS84, as geodata-sync stores
/// geometry) it reads back as the same features.
pub fn check_page(page: &Page, input: &[u8]) {
    let show = || String::from_utf8_lossy(input).into_owned();
    for f in &page.features {
        assert!(!f.id.is_empty(), "a feature without an id was accepted: {}", show());
        match &f.geometry {
            Geometry::Point(p) => assert!(in_sweden(p), "point {p:?} outside Sweden accepted: {}", show()),
            Geometry::Polygons(polys) => {
                assert!(!polys.is_empty(), "a geometry without polygons accepted: {}", show());
                for rings in polys {
                    assert!(!rings.is_empty(), "a polygon without rings accepted: {}", show());
                    for ring in rings {
                        assert!(ring.len() >= 4 && ring.first() == ring.last(), "an open ring accepted: {}", show());
                        assert!(ring.iter().all(in_sweden), "a ring outside Sweden accepted: {}", show());
                    }
                }
            }
        }
    }
    let collection = serde_json::json!({
        "type": "FeatureCollection",
        "features": page.features.iter().map(|f| serde_json::json!({
            "type": "Feature", "id": f.id, "properties": f.properties, "geometry": f.geometry.to_geojson(),
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_vec(&collection).expect("GeoJSON serialises");
    let back = parse_geojson(&text, &source_url(), Coordinates { crs: SourceCrs::CRS84, xy: true })
        .unwrap_or_else(|e| panic!("the features of {} written as GeoJSON do not read back: {e}", show()));
    assert_eq!(back.features.len(), page.features.len());
    for (a, b) in page.features.iter().zip(&back.features) {
        assert!(same_feature(a, b), "{a:?} written as GeoJSON reads back as {b:?}; input {}", show());
    }
}

/// Equal, with coordinates within 1e-9 degrees and numbers within their last bits (JSON's float
/// parsing is best effort).
fn same_feature(a: &Feature, b: &Feature) -> bool {
    let near = |p: &LatLon, q: &LatLon| (p.lat - q.lat).abs() < 1e-9 && (p.lon - q.lon).abs() < 1e-9;
    let geometry = match (&a.geometry, &b.geometry) {
        (Geometry::Point(p), Geometry::Point(q)) => near(p, q),
        (Geometry::Polygons(x), Geometry::Polygons(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(r, s)| {
                    r.len() == s.len() && r.iter().zip(s).all(|(u, v)| u.len() == v.len() && u.iter().zip(v).all(|(p, q)| near(p, q)))
                })
        }
        _ => false,
    };
    a.id == b.id
        && a.properties.len() == b.properties.len()
        && a.properties.iter().all(|(k, v)| b.properties.get(k).is_some_and(|w| same_value(v, w)))
        && geometry
}

/// Equal JSON values, with numbers within one part in 10^15 (as for coordinates: a number
/// written and read again may differ in its last bit).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if (x - y).abs() <= 1e-15 * x.abs().max(y.abs()))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w))),
        _ => a == b,
    }
}
