//! Features as both protocols deliver them, with geometry already in WGS84, and the GeoJSON
//! reader (OGC API - Features pages and WFS `application/json`).

use registry_core::geo::LatLon;
use reqwest::Url;
use serde_json::{Map, Value};

use crate::crs::SourceCrs;
use crate::http::FetchError;

/// A feature: its id, its properties and its geometry in WGS84.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The feature id in the source.
    pub id: String,
    /// Properties, as JSON values (GML text content becomes strings).
    pub properties: Map<String, Value>,
    /// Geometry.
    pub geometry: Geometry,
}

/// The geometries geodata-sync uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A point (an address point).
    Point(LatLon),
    /// Polygons, each a list of rings (the first exterior), each a closed list of points.
    Polygons(Vec<Vec<Vec<LatLon>>>),
}

impl Geometry {
    /// GeoJSON (RFC 7946, longitude first): a Point or a MultiPolygon.
    pub fn to_geojson(&self) -> Value {
        let pos = |p: &LatLon| serde_json::json!([p.lon, p.lat]);
        match self {
            Geometry::Point(p) => serde_json::json!({"type": "Point", "coordinates": pos(p)}),
            Geometry::Polygons(polys) => serde_json::json!({
                "type": "MultiPolygon",
                "coordinates": polys.iter().map(|rings| rings.iter().map(|r| r.iter().map(pos).collect::<Vec<_>>()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            }),
        }
    }
}

impl Feature {
    /// A property as text: strings as they are, numbers written out, null and absent as None.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.properties.get(name)? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// One page of features.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The features.
    pub features: Vec<Feature>,
    /// The `next` link, if the server gave one.
    pub next: Option<Url>,
    /// `numberMatched` (or WFS `totalFeatures`), if given.
    pub number_matched: Option<u64>,
}

/// How to read coordinates: the CRS and whether pairs are easting/longitude first.
#[derive(Debug, Clone, Copy)]
pub struct Coordinates {
    /// The CRS of the coordinates.
    pub crs: SourceCrs,
    /// Easting/longitude first.
    pub xy: bool,
}

/// Sweden with a generous margin (boundaries reach into the sea): a coordinate that lands
/// outside this box was read in the wrong CRS or axis order.
const PLAUSIBLE_LAT: (f64, f64) = (54.0, 70.0);
const PLAUSIBLE_LON: (f64, f64) = (9.5, 25.5);

impl Coordinates {
    /// One position to WGS84, checked to be plausibly in Sweden.
    pub fn point(&self, a: f64, b: f64, url: &Url, feature: &str) -> Result<LatLon, FetchError> {
        let crs_err = |message: String| FetchError::Crs { url: url.to_string(), message };
        let p = self.crs.to_wgs84(a, b, self.xy).map_err(|e| crs_err(format!("feature {feature}: {e}")))?;
        if !(PLAUSIBLE_LAT.0..=PLAUSIBLE_LAT.1).contains(&p.lat) || !(PLAUSIBLE_LON.0..=PLAUSIBLE_LON.1).contains(&p.lon) {
            return Err(crs_err(format!(
                "feature {feature}: coordinates ({a}, {b}) read as EPSG:{}{} land at latitude {:.4}, longitude {:.4}, outside Sweden; \
                 is the CRS or the axis order (geojson_axis_order) wrong?",
                self.crs.epsg(),
                if self.xy || self.crs.crs84 { " easting/longitude first" } else { " in authority axis order" },
                p.lat,
                p.lon
            )));
        }
        Ok(p)
    }
}

/// Reads a GeoJSON FeatureCollection page.
pub fn parse_geojson(bytes: &[u8], url: &Url, coords: Coordinates) -> Result<Page, FetchError> {
    let bad = |message: String| FetchError::Malformed { url: url.to_string(), message };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("the answer is not JSON: {e}")))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(bad("the answer is not a GeoJSON FeatureCollection".into()));
    }
    let features =
        doc.get("features").and_then(Value::as_array).ok_or_else(|| bad("the FeatureCollection has no `features` array".into()))?;
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let id = match f.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad(format!("feature {i} of the page has no id"))),
        };
        let properties = match f.get("properties") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(bad(format!("feature {id}: `properties` is not an object"))),
        };
        let geometry = match f.get("geometry") {
            None | Some(Value::Null) => return Err(bad(format!("feature {id} has no geometry"))),
            Some(g) => geometry(g, url, &id, coords)?,
        };
        out.push(Feature { id, properties, geometry });
    }
    let next = doc
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|l| l.get("rel").and_then(Value::as_str) == Some("next") && is_json_type(l.get("type").and_then(Value::as_str)))
        .and_then(|l| l.get("href").and_then(Value::as_str))
        .map(|href| url.join(href).map_err(|e| bad(format!("the next link '{href}' is not a URL: {e}"))))
        .transpose()?;
    let number_matched = doc.get("numberMatched").or_else(|| doc.get("totalFeatures")).and_then(Value::as_u64);
    Ok(Page { features: out, next, number_matched })
}

fn is_json_type(t: Option<&str>) -> bool {
    t.is_none_or(|t| t.contains("json"))
}

fn geometry(g: &Value, url: &Url, id: &str, coords: Coordinates) -> Result<Geometry, FetchError> {
    let bad = |message: String| FetchError::Malformed { url: url.to_string(), message: format!("feature {id}: {message}") };
    let kind = g.get("type").and_then(Value::as_str).ok_or_else(|| bad("the geometry has no type".into()))?;
    let c = g.get("coordinates").ok_or_else(|| bad(format!("the {kind} has no coordinates")))?;
    let pos = |v: &Value| -> Result<LatLon, FetchError> {
        let a = v.as_array().filter(|a| a.len() >= 2).ok_or_else(|| bad(format!("{v} is not a position")))?;
        let (Some(x), Some(y)) = (a[0].as_f64(), a[1].as_f64()) else { return Err(bad(format!("{v} is not a position of numbers"))) };
        coords.point(x, y, url, id)
    };
    let ring = |v: &Value| -> Result<Vec<LatLon>, FetchError> {
        let pts = v.as_array().ok_or_else(|| bad("a ring is not an array".into()))?.iter().map(pos).collect::<Result<Vec<_>, _>>()?;
        if pts.len() < 4 || pts.first() != pts.last() {
            return Err(bad("a polygon ring must be closed and have at least 4 positions".into()));
        }
        Ok(pts)
    };
    let polygon = |v: &Value| -> Result<Vec<Vec<LatLon>>, FetchError> {
        let rings = v.as_array().filter(|r| !r.is_empty()).ok_or_else(|| bad("a polygon has no rings".into()))?;
        rings.iter().map(ring).collect()
    };
    match kind {
        "Point" => Ok(Geometry::Point(pos(c)?)),
        "Polygon" => Ok(Geometry::Polygons(vec![polygon(c)?])),
        "MultiPolygon" => {
            let polys = c.as_array().filter(|p| !p.is_empty()).ok_or_else(|| bad("the MultiPolygon has no polygons".into()))?;
            Ok(Geometry::Polygons(polys.iter().map(polygon).collect::<Result<_, _>>()?))
        }
        other => Err(bad(format!("geometry type {other} is not supported here (Point, Polygon, MultiPolygon)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:1/collections/a/items").unwrap()
    }

    #[test]
    fn a_page_with_a_next_link() {
        let body = br#"{"type":"FeatureCollection","numberMatched":3,"features":[
            {"type":"Feature","id":7,"properties":{"postnummer":"69231","nr":12},"geometry":{"type":"Point","coordinates":[15.1434,59.1277]}}],
            "links":[{"rel":"self","href":"items?offset=0"},{"rel":"next","type":"application/geo+json","href":"items?offset=1"}]}"#;
        let page = parse_geojson(body, &url(), Coordinates { crs: SourceCrs::CRS84, xy: true }).unwrap();
        assert_eq!(page.features[0].id, "7");
        assert_eq!(page.features[0].text("nr").as_deref(), Some("12"));
        assert_eq!(page.features[0].geometry, Geometry::Point(LatLon { lat: 59.1277, lon: 15.1434 }));
        assert_eq!(page.next.unwrap().as_str(), "http://127.0.0.1:1/collections/a/items?offset=1");
        assert_eq!(page.number_matched, Some(3));
    }

    #[test]
    fn bad_pages_are_named() {
        let c = Coordinates { crs: SourceCrs::CRS84, xy: true };
        for (body, needle) in [
            (&b"{not json"[..], "not JSON"),
            (br#"{"type":"Feature"}"#, "not a GeoJSON FeatureCollection"),
            (br#"{"type":"FeatureCollection","features":[{"id":"a","properties":{},"geometry":null}]}"#, "feature a has no geometry"),
            (br#"{"type":"FeatureCollection","features":[{"properties":{},"geometry":null}]}"#, "feature 0 of the page has no id"),
            (br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"Point","coordinates":["x",1]}}]}"#, "not a position of numbers"),
            (br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"LineString","coordinates":[]}}]}"#, "LineString is not supported"),
            (br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"Polygon","coordinates":[[[15,59],[16,59],[15,59]]]}}]}"#, "closed and have at least 4"),
            // Latitude first where longitude is expected: lands in the Arabian Sea, not Sweden.
            (br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"Point","coordinates":[59.1,15.1]}}]}"#, "outside Sweden"),
        ] {
            let e = parse_geojson(body, &url(), c).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn projected_coordinates_in_either_axis_order() {
        let tm = SourceCrs::parse("EPSG:3006").unwrap();
        let xy =
            br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"Point","coordinates":[674647.8821,6580824.5756]}}]}"#;
        let ne =
            br#"{"type":"FeatureCollection","features":[{"id":"a","geometry":{"type":"Point","coordinates":[6580824.5756,674647.8821]}}]}"#;
        let a = parse_geojson(xy, &url(), Coordinates { crs: tm, xy: true }).unwrap();
        let b = parse_geojson(ne, &url(), Coordinates { crs: tm, xy: false }).unwrap();
        assert_eq!(a.features[0].geometry, b.features[0].geometry);
        assert!(parse_geojson(ne, &url(), Coordinates { crs: tm, xy: true }).unwrap_err().to_string().contains("axis order"));
    }
}
