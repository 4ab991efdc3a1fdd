//! Coordinates. Stored as WGS84 (EPSG:4326); JSON names its axes (`lat`, `lon`) so they
//! cannot be swapped silently.

use crate::validate::Violations;

pub mod transform;

/// A WGS84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatLon {
    /// Latitude, degrees north (55.0–69.1 for Sweden).
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    pub lat: f64,
    /// Longitude, degrees east (10.9–24.2 for Sweden).
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    pub lon: f64,
}

/// Sweden's extent with a small margin (mainland, Öland, Gotland and the outer islands):
/// latitude 55.0–69.1 °N, longitude 10.9–24.2 °E.
pub const SWEDEN_LAT: (f64, f64) = (55.0, 69.1);
/// See [`SWEDEN_LAT`].
pub const SWEDEN_LON: (f64, f64) = (10.9, 24.2);

/// Checks that a position is a real WGS84 coordinate inside Sweden's extent.
pub fn check_in_sweden(v: &mut Violations, field: &str, p: LatLon) {
    for (axis, value, world, sweden) in [("lat", p.lat, 90.0, SWEDEN_LAT), ("lon", p.lon, 180.0, SWEDEN_LON)] {
        let f = format!("{field}.{axis}");
        if !value.is_finite() {
            v.add(f, "format", "must be a finite number of degrees");
        } else if value.abs() > world {
            v.add(f, "out_of_range", format!("must be between -{world} and {world} degrees (WGS84)"));
        } else if value < sweden.0 || value > sweden.1 {
            v.add(
                f,
                "outside_sweden",
                format!(
                    "{value} is outside Sweden ({axis} must be between {} and {}); are latitude and longitude swapped?",
                    sweden.0, sweden.1
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lat: f64, lon: f64) -> Vec<(String, &'static str)> {
        let mut v = Violations::default();
        check_in_sweden(&mut v, "location", LatLon { lat, lon });
        v.0.into_iter().map(|x| (x.field, x.rule)).collect()
    }

    #[test]
    fn places_in_sweden_are_accepted() {
        for (lat, lon) in [(59.2741, 15.2066), (55.3400, 13.36), (68.4380, 22.48), (57.6348, 18.2948), (58.83, 11.2)] {
            assert!(rules(lat, lon).is_empty(), "{lat},{lon}");
        }
    }

    #[test]
    fn swapped_axes_are_caught() {
        // Örebro with latitude and longitude swapped lands in the sea off Somalia.
        assert_eq!(rules(15.2066, 59.2741), vec![("location.lat".into(), "outside_sweden"), ("location.lon".into(), "outside_sweden")]);
    }

    #[test]
    fn out_of_range_and_non_finite() {
        assert_eq!(rules(91.0, 15.0), vec![("location.lat".into(), "out_of_range")]);
        assert_eq!(rules(59.0, -181.0), vec![("location.lon".into(), "out_of_range")]);
        assert_eq!(rules(f64::NAN, 15.0), vec![("location.lat".into(), "format")]);
        assert_eq!(rules(59.0, f64::INFINITY), vec![("location.lon".into(), "format")]);
        // Oslo and Helsinki are near, but not in Sweden's extent on one axis.
        assert_eq!(rules(59.91, 10.75), vec![("location.lon".into(), "outside_sweden")]);
        assert_eq!(rules(60.17, 24.94), vec![("location.lon".into(), "outside_sweden")]);
    }
}

/// A SWEREF 99 TM (EPSG:3006) position in metres, named axes in the CRS's authority order.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sweref99Tm {
    /// Northing (x in Lantmäteriet's notation), metres.
    pub northing: f64,
    /// Easting (y), metres, false easting 500 000.
    pub easting: f64,
}

impl Sweref99Tm {
    /// Converts to WGS84 (SWEREF 99 coincides with WGS84 at the centimetre level) with
    /// Lantmäteriet's Gauss–Krüger formulas (see [`transform`]).
    pub fn to_wgs84(self) -> LatLon {
        let (lat, lon) = transform::PROJECTIONS[0].inverse(self.northing, self.easting);
        LatLon { lat, lon }
    }
}

#[cfg(test)]
mod sweref_tests {
    use super::*;

    #[test]
    fn a_point_in_norrbotten() {
        // PostGIS 3 (PROJ 9) ST_Transform of N 7 453 389.762, E 761 978.105 from EPSG:3006 to 4326.
        let p = Sweref99Tm { northing: 7_453_389.762, easting: 761_978.105 }.to_wgs84();
        assert!((p.lat - 67.083_267_160_458).abs() < 1e-9 && (p.lon - 21.036_753_229_754).abs() < 1e-9, "{p:?}");
        // The central meridian maps to 15° E exactly.
        assert!((Sweref99Tm { northing: 6_580_000.0, easting: 500_000.0 }.to_wgs84().lon - 15.0).abs() < 1e-12);
    }
}
