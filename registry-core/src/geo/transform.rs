//! Coordinate transforms between WGS84 (EPSG:4326) and the SWEREF 99 projections: SWEREF 99 TM
//! (EPSG:3006) and the twelve local zones SWEREF 99 12 00 … 23 15 (EPSG:3007–3018); and from
//! RT 90 2.5 gon V (EPSG:3021), the older national grid that municipal data still uses.
//!
//! SWEREF 99 is realised on GRS 80 and coincides with WGS84 at the centimetre level, so no
//! datum shift is involved: each projection is a transverse Mercator computed with
//! Lantmäteriet's Gauss–Krüger formulas (series in the third flattening to the fourth order,
//! good to well under a millimetre over Sweden).
//!
//! RT 90 is on the Bessel 1841 ellipsoid and needs a datum shift. The method is PROJ's default
//! one for EPSG:3021 → EPSG:4326, "RT90 to WGS 84 (2)" (EPSG dataset, accuracy 1 m): the inverse
//! Gauss–Krüger projection on Bessel 1841 (central meridian 15° 48′ 29.8″, false easting
//! 1 500 000 m), then a seven-parameter Helmert transformation of geocentric coordinates
//! (coordinate-frame rotation convention: tx 414.1 m, ty 41.3 m, tz 603.1 m, rx 0.855″,
//! ry −2.141″, rz 7.023″, no scale), then back to latitude and longitude on WGS84.
//!
//! Axis order follows the EPSG definitions, as
//! PROJ's `cs2cs` does: latitude, longitude for EPSG:4326 and northing, easting for the
//! projected systems.

use std::fmt;

/// GRS 80 semi-major axis (m) and flattening.
const GRS80: (f64, f64) = (6_378_137.0, 1.0 / 298.257_222_101);
/// Bessel 1841 (RT 90).
const BESSEL: (f64, f64) = (6_377_397.155, 1.0 / 299.152_812_8);
/// WGS 84 (the target of PROJ's RT 90 datum shift).
const WGS84: (f64, f64) = (6_378_137.0, 1.0 / 298.257_223_563);

/// A coordinate reference system this module transforms between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crs {
    /// WGS84 geographic, latitude and longitude in degrees (EPSG:4326).
    Wgs84,
    /// A SWEREF 99 transverse Mercator projection, northing and easting in metres.
    Sweref99(Projection),
    /// RT 90 2.5 gon V (EPSG:3021), northing and easting in metres; accepted as a source only.
    Rt90,
}

/// A transverse Mercator projection on GRS 80.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// EPSG code.
    pub epsg: u32,
    /// Name, e.g. `SWEREF 99 TM`.
    pub name: &'static str,
    /// Central meridian, degrees east.
    pub lon0: f64,
    /// Scale on the central meridian.
    pub k0: f64,
    /// False easting, metres.
    pub false_easting: f64,
}

/// SWEREF 99 TM and the local zones, by EPSG code.
pub const PROJECTIONS: [Projection; 13] = [
    Projection { epsg: 3006, name: "SWEREF 99 TM", lon0: 15.0, k0: 0.9996, false_easting: 500_000.0 },
    Projection { epsg: 3007, name: "SWEREF 99 12 00", lon0: 12.0, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3008, name: "SWEREF 99 13 30", lon0: 13.5, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3009, name: "SWEREF 99 15 00", lon0: 15.0, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3010, name: "SWEREF 99 16 30", lon0: 16.5, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3011, name: "SWEREF 99 18 00", lon0: 18.0, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3012, name: "SWEREF 99 14 15", lon0: 14.25, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3013, name: "SWEREF 99 15 45", lon0: 15.75, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3014, name: "SWEREF 99 17 15", lon0: 17.25, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3015, name: "SWEREF 99 18 45", lon0: 18.75, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3016, name: "SWEREF 99 20 15", lon0: 20.25, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3017, name: "SWEREF 99 21 45", lon0: 21.75, k0: 1.0, false_easting: 150_000.0 },
    Projection { epsg: 3018, name: "SWEREF 99 23 15", lon0: 23.25, k0: 1.0, false_easting: 150_000.0 },
];

impl Crs {
    /// Parses `EPSG:3006` (or `epsg:3006`, or `3006`).
    pub fn parse(s: &str) -> Result<Crs, String> {
        let code = s.trim();
        let code = code.strip_prefix("EPSG:").or_else(|| code.strip_prefix("epsg:")).unwrap_or(code);
        let supported = || {
            format!(
                "supported: EPSG:4326, EPSG:3021 (as a source) and {}",
                PROJECTIONS.iter().map(|p| format!("EPSG:{}", p.epsg)).collect::<Vec<_>>().join(", ")
            )
        };
        let n: u32 = code.parse().map_err(|_| format!("'{s}' is not a CRS like EPSG:3006 ({})", supported()))?;
        if n == 4326 {
            return Ok(Crs::Wgs84);
        }
        if n == 3021 {
            return Ok(Crs::Rt90);
        }
        PROJECTIONS
            .iter()
            .find(|p| p.epsg == n)
            .map(|p| Crs::Sweref99(*p))
            .ok_or_else(|| format!("EPSG:{n} is not supported ({})", supported()))
    }

    /// The axes, in order.
    pub fn axes(&self) -> (&'static str, &'static str) {
        match self {
            Crs::Wgs84 => ("latitude", "longitude"),
            Crs::Sweref99(_) | Crs::Rt90 => ("northing", "easting"),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Wgs84 => write!(f, "EPSG:4326 (WGS 84)"),
            Crs::Sweref99(p) => write!(f, "EPSG:{} ({})", p.epsg, p.name),
            Crs::Rt90 => write!(f, "EPSG:3021 (RT90 2.5 gon V)"),
        }
    }
}

/// The ellipsoid's series coefficients, computed once.
struct Series {
    a_roof: f64,
    beta: [f64; 4],
    delta: [f64; 4],
    a_s: f64,
    b_s: f64,
    c_s: f64,
    d_s: f64,
    e2: f64,
}

const fn series((a, f): (f64, f64)) -> Series {
    let e2 = f * (2.0 - f);
    let n = f / (2.0 - f);
    let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
    let (e4, e6, e8) = (e2 * e2, e2 * e2 * e2, e2 * e2 * e2 * e2);
    Series {
        a_roof: a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0),
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161_280.0,
        ],
        delta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ],
        a_s: e2,
        b_s: (5.0 * e4 - e6) / 6.0,
        c_s: (104.0 * e6 - 45.0 * e8) / 120.0,
        d_s: (1237.0 * e8) / 1260.0,
        e2,
    }
}

const S: Series = series(GRS80);
const S_BESSEL: Series = series(BESSEL);

/// RT 90 2.5 gon V: a transverse Mercator on Bessel 1841.
const RT90: Projection = Projection { epsg: 3021, name: "RT90 2.5 gon V", lon0: 15.808_277_777_777_8, k0: 1.0, false_easting: 1_500_000.0 };

impl Projection {
    /// Geodetic (degrees) to grid (northing, easting in metres).
    pub fn forward(&self, lat: f64, lon: f64) -> (f64, f64) {
        let phi = lat.to_radians();
        let dl = (lon - self.lon0).to_radians();
        let s2 = phi.sin().powi(2);
        let phi_star = phi - phi.sin() * phi.cos() * (S.a_s + S.b_s * s2 + S.c_s * s2 * s2 + S.d_s * s2 * s2 * s2);
        let xi_p = (phi_star.tan() / dl.cos()).atan();
        let eta_p = (phi_star.cos() * dl.sin()).atanh();
        let mut x = xi_p;
        let mut y = eta_p;
        for (j, b) in S.beta.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            x += b * (k * xi_p).sin() * (k * eta_p).cosh();
            y += b * (k * xi_p).cos() * (k * eta_p).sinh();
        }
        (self.k0 * S.a_roof * x, self.k0 * S.a_roof * y + self.false_easting)
    }

    /// Grid (northing, easting in metres) to geodetic (degrees).
    pub fn inverse(&self, northing: f64, easting: f64) -> (f64, f64) {
        self.inverse_on(&S, northing, easting)
    }

    fn inverse_on(&self, s: &Series, northing: f64, easting: f64) -> (f64, f64) {
        let xi = northing / (self.k0 * s.a_roof);
        let eta = (easting - self.false_easting) / (self.k0 * s.a_roof);
        let mut xi_p = xi;
        let mut eta_p = eta;
        for (j, d) in s.delta.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi_p -= d * (k * xi).sin() * (k * eta).cosh();
            eta_p -= d * (k * xi).cos() * (k * eta).sinh();
        }
        let phi_star = (xi_p.sin() / eta_p.cosh()).asin();
        let dl = (eta_p.sinh() / xi_p.cos()).atan();
        let e2 = s.e2;
        let (a, b, c, d) = (
            e2 + e2.powi(2) + e2.powi(3) + e2.powi(4),
            -(7.0 * e2.powi(2) + 17.0 * e2.powi(3) + 30.0 * e2.powi(4)) / 6.0,
            (224.0 * e2.powi(3) + 889.0 * e2.powi(4)) / 120.0,
            -(4279.0 * e2.powi(4)) / 1260.0,
        );
        let s2 = phi_star.sin().powi(2);
        let phi = phi_star + phi_star.sin() * phi_star.cos() * (a + b * s2 + c * s2 * s2 + d * s2 * s2 * s2);
        (phi.to_degrees(), self.lon0 + dl.to_degrees())
    }
}

/// Geodetic (degrees, height 0) to geocentric cartesian coordinates on an ellipsoid.
fn to_cartesian((a, f): (f64, f64), lat: f64, lon: f64) -> [f64; 3] {
    let e2 = f * (2.0 - f);
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    let n = a / (1.0 - e2 * phi.sin().powi(2)).sqrt();
    [n * phi.cos() * lam.cos(), n * phi.cos() * lam.sin(), n * (1.0 - e2) * phi.sin()]
}

/// Geocentric cartesian to geodetic (degrees), iterating to well below a micrometre.
fn from_cartesian((a, f): (f64, f64), [x, y, z]: [f64; 3]) -> (f64, f64) {
    let e2 = f * (2.0 - f);
    let p = x.hypot(y);
    let mut phi = (z / (p * (1.0 - e2))).atan();
    for _ in 0..10 {
        let n = a / (1.0 - e2 * phi.sin().powi(2)).sqrt();
        let h = p / phi.cos() - n;
        let next = (z / (p * (1.0 - e2 * n / (n + h)))).atan();
        if (next - phi).abs() < 1e-14 {
            phi = next;
            break;
        }
        phi = next;
    }
    (phi.to_degrees(), y.atan2(x).to_degrees())
}

/// RT 90 2.5 gon V grid to WGS84 (degrees) by PROJ's default method (see the module docs).
fn rt90_to_wgs84(northing: f64, easting: f64) -> (f64, f64) {
    let (lat, lon) = RT90.inverse_on(&S_BESSEL, northing, easting);
    let [x, y, z] = to_cartesian(BESSEL, lat, lon);
    let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
    let (rx, ry, rz) = (0.855 * arcsec, -2.141 * arcsec, 7.023 * arcsec);
    // Coordinate-frame convention (EPSG method 1032), small angles.
    let xp = 414.1 + x + rz * y - ry * z;
    let yp = 41.3 - rz * x + y + rx * z;
    let zp = 603.1 + ry * x - rx * y + z;
    from_cartesian(WGS84, [xp, yp, zp])
}

/// Transforms one coordinate pair, in the axis order of each CRS (see the module docs).
pub fn transform(from: Crs, to: Crs, a: f64, b: f64) -> Result<(f64, f64), String> {
    let (lat, lon) = match from {
        Crs::Wgs84 => (a, b),
        Crs::Sweref99(p) => p.inverse(a, b),
        Crs::Rt90 => rt90_to_wgs84(a, b),
    };
    match to {
        Crs::Wgs84 => Ok((lat, lon)),
        Crs::Sweref99(p) => Ok(p.forward(lat, lon)),
        Crs::Rt90 => Err("EPSG:3021 (RT 90) is supported as a source only; convert to SWEREF 99 TM (EPSG:3006)".into()),
    }
}

/// Checks a pair before transforming: finite, and geographic coordinates in range.
pub fn check(from: Crs, a: f64, b: f64) -> Result<(), String> {
    if !a.is_finite() || !b.is_finite() {
        return Err("coordinates must be finite numbers".into());
    }
    if from == Crs::Wgs84 && (a.abs() > 90.0 || b.abs() > 180.0) {
        return Err(format!("latitude {a} or longitude {b} is out of range (latitude comes first for EPSG:4326)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tm() -> Projection {
        PROJECTIONS[0]
    }

    #[test]
    fn lantmateriet_test_point() {
        // PROJ 9.1 (cs2cs EPSG:4326 EPSG:3006 -f %.4f) for 59.33 N 18.07 E.
        let (n, e) = tm().forward(59.33, 18.07);
        assert!((n - 6_580_824.575_6).abs() < 0.001 && (e - 674_647.882_1).abs() < 0.001, "{n} {e}");
        // And a point in Norrbotten, from PostGIS ST_Transform.
        let (lat, lon) = tm().inverse(7_453_389.762, 761_978.105);
        assert!((lat - 67.083_267_160_458).abs() < 1e-9 && (lon - 21.036_753_229_754).abs() < 1e-9, "{lat} {lon}");
    }

    #[test]
    fn round_trips_are_submillimetre() {
        for p in PROJECTIONS {
            for i in 0..200 {
                let lat = 55.2 + 13.8 * f64::from(i) / 200.0;
                let lon = p.lon0 - 3.0 + 6.0 * f64::from((i * 37) % 200) / 200.0;
                let (n, e) = p.forward(lat, lon);
                let (lat2, lon2) = p.inverse(n, e);
                let (n2, e2) = p.forward(lat2, lon2);
                assert!((n - n2).abs() < 1e-3 && (e - e2).abs() < 1e-3, "{} at {lat} {lon}", p.name);
            }
        }
    }

    #[test]
    fn crs_names_parse_with_clear_errors() {
        assert_eq!(Crs::parse("EPSG:4326"), Ok(Crs::Wgs84));
        assert_eq!(Crs::parse("epsg:3011").map(|c| c.to_string()), Ok("EPSG:3011 (SWEREF 99 18 00)".into()));
        assert!(Crs::parse("EPSG:2400").unwrap_err().contains("not supported"));
        assert!(Crs::parse("WGS84").unwrap_err().contains("is not a CRS"));
    }
}
