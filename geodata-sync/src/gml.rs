//! WFS 2.0 GetFeature answers in GML 3.2: `wfs:FeatureCollection` with `wfs:member`s, simple
//! properties as child elements, and Point, Polygon, Surface, MultiSurface or MultiPolygon
//! geometries with `gml:pos`/`gml:posList` in the axis order of their `srsName`.

use registry_core::geo::LatLon;
use reqwest::Url;
use roxmltree::{Document, Node};
use serde_json::{Map, Value};

use crate::crs::SourceCrs;
use crate::feature::{Coordinates, Feature, Geometry, Page};
use crate::http::FetchError;

const WFS: &str = "http://www.opengis.net/wfs/2.0";
const GML: &str = "http://www.opengis.net/gml/3.2";
const OWS: &str = "http://www.opengis.net/ows/1.1";

/// Reads a GetFeature answer. `default_crs` applies to geometries without an `srsName`.
pub fn parse_gml(bytes: &[u8], url: &Url, default_crs: SourceCrs) -> Result<Page, FetchError> {
    let bad = |message: String| FetchError::Malformed { url: url.to_string(), message };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the answer is not UTF-8 XML".into()))?;
    let doc = Document::parse(text).map_err(|e| bad(format!("the answer is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().namespace() == Some(OWS) && root.tag_name().name() == "ExceptionReport" {
        let msg: Vec<&str> = root.descendants().filter(|n| n.tag_name().name() == "ExceptionText").filter_map(|n| n.text()).collect();
        return Err(bad(format!("the service reports an exception: {}", msg.join("; "))));
    }
    if root.tag_name().namespace() != Some(WFS) || root.tag_name().name() != "FeatureCollection" {
        return Err(bad(format!("the answer is a {}, not a wfs:FeatureCollection (WFS 2.0)", root.tag_name().name())));
    }
    let mut features = Vec::new();
    for member in root.children().filter(|n| n.is_element() && n.tag_name().namespace() == Some(WFS) && n.tag_name().name() == "member") {
        let Some(f) = member.children().find(Node::is_element) else { continue };
        features.push(feature(f, url, default_crs)?);
    }
    let number_matched = root.attribute("numberMatched").and_then(|n| n.parse().ok());
    let next = root
        .attribute("next")
        .map(|href| url.join(href).map_err(|e| bad(format!("the next link '{href}' is not a URL: {e}"))))
        .transpose()?;
    Ok(Page { features, next, number_matched })
}

fn feature(f: Node, url: &Url, default_crs: SourceCrs) -> Result<Feature, FetchError> {
    let bad = |message: String| FetchError::Malformed { url: url.to_string(), message };
    let id = f.attribute((GML, "id")).map(str::to_string).ok_or_else(|| bad(format!("a {} member has no gml:id", f.tag_name().name())))?;
    let mut properties = Map::new();
    let mut geometry = None;
    for child in f.children().filter(Node::is_element) {
        if child.tag_name().namespace() == Some(GML) {
            continue; // gml:boundedBy, gml:name, …
        }
        match child.children().find(Node::is_element) {
            None => {
                properties.insert(child.tag_name().name().to_string(), Value::String(child.text().unwrap_or("").trim().to_string()));
            }
            Some(g) if g.tag_name().namespace() == Some(GML) => {
                if geometry.is_some() {
                    return Err(bad(format!("feature {id} has more than one geometry property")));
                }
                geometry = Some(read_geometry(g, url, &id, default_crs)?);
            }
            Some(_) => {} // nested non-geometry structures are not used
        }
    }
    let geometry = geometry.ok_or_else(|| bad(format!("feature {id} has no geometry")))?;
    Ok(Feature { id, properties, geometry })
}

/// The CRS of a geometry: its own `srsName` or its nearest ancestor's.
fn crs_of(g: Node, url: &Url, id: &str, default_crs: SourceCrs) -> Result<Coordinates, FetchError> {
    let name = g.ancestors().find_map(|n| n.attribute("srsName"));
    match name {
        None => Ok(Coordinates { crs: default_crs, xy: default_crs.crs84 }),
        Some(name) => {
            let (crs, short) = SourceCrs::parse_with_form(name)
                .map_err(|e| FetchError::Crs { url: url.to_string(), message: format!("feature {id}: srsName {e}") })?;
            Ok(Coordinates { crs, xy: short })
        }
    }
}

fn read_geometry(g: Node, url: &Url, id: &str, default_crs: SourceCrs) -> Result<Geometry, FetchError> {
    let bad = |message: String| FetchError::Malformed { url: url.to_string(), message: format!("feature {id}: {message}") };
    let coords = crs_of(g, url, id, default_crs)?;
    let positions = |n: Node| -> Result<Vec<LatLon>, FetchError> {
        let dim: usize = n.ancestors().find_map(|a| a.attribute("srsDimension")).and_then(|d| d.parse().ok()).unwrap_or(2);
        if !(2..=3).contains(&dim) {
            return Err(bad(format!("srsDimension {dim} is not supported")));
        }
        let text = n.text().unwrap_or("");
        let nums: Vec<f64> = text
            .split_whitespace()
            .map(|t| t.parse::<f64>().map_err(|_| bad(format!("'{t}' in gml:{} is not a number", n.tag_name().name()))))
            .collect::<Result<_, _>>()?;
        if nums.is_empty() || !nums.len().is_multiple_of(dim) {
            return Err(bad(format!("gml:{} has {} numbers, not pairs of {dim}", n.tag_name().name(), nums.len())));
        }
        nums.chunks(dim).map(|c| coords.point(c[0], c[1], url, id)).collect()
    };
    let ring = |r: Node| -> Result<Vec<LatLon>, FetchError> {
        let lr = r.descendants().find(|n| n.tag_name().name() == "LinearRing").ok_or_else(|| bad("a ring has no gml:LinearRing".into()))?;
        let pts = if let Some(list) = lr.children().find(|n| n.tag_name().name() == "posList") {
            positions(list)?
        } else {
            let mut pts = Vec::new();
            for p in lr.children().filter(|n| n.tag_name().name() == "pos") {
                pts.extend(positions(p)?);
            }
            pts
        };
        if pts.len() < 4 || pts.first() != pts.last() {
            return Err(bad("a polygon ring must be closed and have at least 4 positions".into()));
        }
        Ok(pts)
    };
    let polygon = |p: Node| -> Result<Vec<Vec<LatLon>>, FetchError> {
        // gml:Polygon directly, or gml:Surface with gml:PolygonPatch.
        let holder = if p.tag_name().name() == "Surface" {
            p.descendants()
                .find(|n| n.tag_name().name() == "PolygonPatch")
                .ok_or_else(|| bad("a gml:Surface has no gml:PolygonPatch".into()))?
        } else {
            p
        };
        let ext =
            holder.children().find(|n| n.tag_name().name() == "exterior").ok_or_else(|| bad("a polygon has no gml:exterior".into()))?;
        let mut rings = vec![ring(ext)?];
        for int in holder.children().filter(|n| n.tag_name().name() == "interior") {
            rings.push(ring(int)?);
        }
        Ok(rings)
    };
    match g.tag_name().name() {
        "Point" => {
            let pos = g.children().find(|n| n.tag_name().name() == "pos").ok_or_else(|| bad("a gml:Point has no gml:pos".into()))?;
            let pts = positions(pos)?;
            if pts.len() != 1 {
                return Err(bad("a gml:Point must have one position".into()));
            }
            Ok(Geometry::Point(pts[0]))
        }
        "Polygon" | "Surface" => Ok(Geometry::Polygons(vec![polygon(g)?])),
        "MultiSurface" | "MultiPolygon" => {
            let polys: Vec<Node> = g
                .descendants()
                .filter(|n| n.is_element() && matches!(n.tag_name().name(), "Polygon" | "Surface"))
                .filter(|n| {
                    // Only top-level polygons of the collection (a Surface holds no nested Polygon).
                    n.ancestors().skip(1).take_while(|a| *a != g).all(|a| !matches!(a.tag_name().name(), "Polygon" | "Surface"))
                })
                .collect();
            if polys.is_empty() {
                return Err(bad(format!("a gml:{} has no polygons", g.tag_name().name())));
            }
            Ok(Geometry::Polygons(polys.into_iter().map(polygon).collect::<Result<_, _>>()?))
        }
        other => Err(bad(format!("geometry gml:{other} is not supported here (Point, Polygon, Surface, MultiSurface, MultiPolygon)"))),
    }
}
