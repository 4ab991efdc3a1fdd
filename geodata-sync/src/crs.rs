//! CRS identifiers as the services write them, and turning their coordinates into WGS84.

use registry_core::geo::LatLon;
use registry_core::geo::transform::{self, Crs};

/// A CRS named by a service: EPSG:4326, CRS84 (WGS84 with longitude first), the SWEREF 99
/// projections or RT 90.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceCrs {
    /// The CRS.
    pub crs: Crs,
    /// OGC CRS84: WGS84 with longitude first by definition.
    pub crs84: bool,
}

impl SourceCrs {
    /// WGS84 longitude/latitude, the GeoJSON default.
    pub const CRS84: SourceCrs = SourceCrs { crs: Crs::Wgs84, crs84: true };

    /// Parses `EPSG:3006`, `http://www.opengis.net/def/crs/EPSG/0/3006`,
    /// `urn:ogc:def:crs:EPSG::3006`, `CRS84` or its URI/URN forms.
    pub fn parse(s: &str) -> Result<SourceCrs, String> {
        Self::parse_with_form(s).map(|(c, _)| c)
    }

    /// Like [`parse`](Self::parse), also telling whether the name is the legacy short form
    /// `EPSG:n`, which GML writers use with easting/longitude first.
    pub fn parse_with_form(s: &str) -> Result<(SourceCrs, bool), String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "crs84"
            || lower == "ogc:crs84"
            || lower.ends_with("/def/crs/ogc/1.3/crs84")
            || lower.ends_with("/def/crs/ogc/0/crs84")
            || lower == "urn:ogc:def:crs:ogc:1.3:crs84"
            || lower == "urn:ogc:def:crs:ogc::crs84"
        {
            return Ok((SourceCrs::CRS84, false));
        }
        let (code, short) = if let Some(rest) = lower.strip_prefix("http://www.opengis.net/def/crs/epsg/") {
            (rest.rsplit('/').next().unwrap_or(""), false)
        } else if let Some(rest) = lower.strip_prefix("https://www.opengis.net/def/crs/epsg/") {
            (rest.rsplit('/').next().unwrap_or(""), false)
        } else if let Some(rest) = lower.strip_prefix("urn:ogc:def:crs:epsg:") {
            (rest.rsplit(':').next().unwrap_or(""), false)
        } else if let Some(rest) = lower.strip_prefix("urn:x-ogc:def:crs:epsg:") {
            (rest.rsplit(':').next().unwrap_or(""), false)
        } else if let Some(rest) = lower.strip_prefix("epsg:") {
            (rest, true)
        } else {
            return Err(format!("'{t}' is not a CRS name this tool knows (EPSG:n, an OGC URI or URN, or CRS84)"));
        };
        let crs = Crs::parse(code)?;
        Ok((SourceCrs { crs, crs84: false }, short))
    }

    /// The OGC http URI, as OGC API - Features expects in `crs` and `bbox-crs`.
    pub fn uri(&self) -> String {
        if self.crs84 {
            return "http://www.opengis.net/def/crs/OGC/1.3/CRS84".into();
        }
        format!("http://www.opengis.net/def/crs/EPSG/0/{}", self.epsg())
    }

    /// The URN, as WFS 2.0 `srsName` takes it.
    pub fn urn(&self) -> String {
        if self.crs84 {
            return "urn:ogc:def:crs:OGC:1.3:CRS84".into();
        }
        format!("urn:ogc:def:crs:EPSG::{}", self.epsg())
    }

    /// The EPSG code (4326 for CRS84).
    pub fn epsg(&self) -> u32 {
        match self.crs {
            Crs::Wgs84 => 4326,
            Crs::Sweref99(p) => p.epsg,
            Crs::Rt90 => 3021,
        }
    }

    /// Whether two names denote the same CRS (CRS84 and EPSG:4326 differ in axis order).
    pub fn same(&self, other: &SourceCrs) -> bool {
        self.crs == other.crs && self.crs84 == other.crs84
    }

    /// Turns one coordinate pair into WGS84. `xy` says the pair is easting/longitude first;
    /// otherwise it is in the CRS's own axis order (CRS84 is always longitude first).
    pub fn to_wgs84(&self, first: f64, second: f64, xy: bool) -> Result<LatLon, String> {
        let (a, b) = if self.crs84 || xy { (second, first) } else { (first, second) };
        transform::check(self.crs, a, b)?;
        let (lat, lon) = transform::transform(self.crs, Crs::Wgs84, a, b)?;
        Ok(LatLon { lat, lon })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_every_form() {
        for s in ["EPSG:3006", "http://www.opengis.net/def/crs/EPSG/0/3006", "urn:ogc:def:crs:EPSG::3006", "urn:ogc:def:crs:EPSG:9.9:3006"]
        {
            assert_eq!(SourceCrs::parse(s).unwrap().epsg(), 3006, "{s}");
        }
        assert!(SourceCrs::parse_with_form("EPSG:3006").unwrap().1, "short form");
        assert!(!SourceCrs::parse_with_form("urn:ogc:def:crs:EPSG::3006").unwrap().1);
        for s in ["CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"] {
            assert!(SourceCrs::parse(s).unwrap().crs84, "{s}");
        }
        assert!(SourceCrs::parse("http://www.opengis.net/def/crs/EPSG/0/32633").is_err());
        assert!(SourceCrs::parse("WGS84").is_err());
    }

    #[test]
    fn axis_order_is_applied() {
        let tm = SourceCrs::parse("EPSG:3006").unwrap();
        let a = tm.to_wgs84(6_580_824.575_6, 674_647.882_1, false).unwrap();
        let b = tm.to_wgs84(674_647.882_1, 6_580_824.575_6, true).unwrap();
        assert_eq!(a, b);
        assert!((a.lat - 59.33).abs() < 1e-8 && (a.lon - 18.07).abs() < 1e-8, "{a:?}");
        let p = SourceCrs::CRS84.to_wgs84(18.07, 59.33, false).unwrap();
        assert_eq!((p.lat, p.lon), (59.33, 18.07));
        let p = SourceCrs::parse("EPSG:4326").unwrap().to_wgs84(59.33, 18.07, false).unwrap();
        assert_eq!((p.lat, p.lon), (59.33, 18.07));
    }
}
