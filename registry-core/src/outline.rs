//! Where Sweden is: a coarse outline of its land and each municipality's main town. The
//! benchmark data generator keeps its points on land with it, and the demo draws approximate
//! municipality boundaries from it (Voronoi cells of the main towns, clipped to the land).

/// Municipality code, name, population, and main town (centralort) in WGS84 `lat, lon`.
pub const CENTRES_CSV: &str = include_str!("../data/municipality_centres.csv");

/// A coarse outline (lon, lat) of mainland Sweden, Öland and Gotland: good to a few
/// kilometres, enough to keep generated points out of the open sea and out of Norway and
/// Finland.
pub const MAINLAND: &[(f64, f64)] = &[
    (12.95, 55.40),
    (13.36, 55.33),
    (13.82, 55.42),
    (14.20, 55.38),
    (14.37, 55.55),
    (14.20, 55.80),
    (14.30, 55.97),
    (14.75, 56.10),
    (15.05, 56.15),
    (15.60, 56.12),
    (15.95, 56.20),
    (16.25, 56.45),
    (16.40, 56.70),
    (16.55, 57.00),
    (16.50, 57.30),
    (16.70, 57.65),
    (16.75, 58.00),
    (16.85, 58.40),
    (17.20, 58.60),
    (17.60, 58.72),
    (17.90, 58.85),
    (18.05, 58.90),
    (18.50, 59.05),
    (18.95, 59.35),
    (19.10, 59.75),
    (18.75, 60.10),
    (18.50, 60.35),
    (17.90, 60.55),
    (17.40, 60.65),
    (17.30, 60.80),
    (17.25, 61.20),
    (17.25, 61.75),
    (17.50, 62.20),
    (17.60, 62.50),
    (18.05, 62.60),
    (18.20, 62.80),
    (18.70, 63.15),
    (19.20, 63.45),
    (20.00, 63.60),
    (20.50, 63.75),
    (20.90, 64.00),
    (21.20, 64.30),
    (21.50, 64.70),
    (21.30, 65.00),
    (21.60, 65.30),
    (22.20, 65.50),
    (22.70, 65.70),
    (23.50, 65.78),
    (24.15, 65.82),
    (23.95, 66.20),
    (23.65, 66.50),
    (23.85, 66.85),
    (23.50, 67.30),
    (23.60, 67.90),
    (22.80, 68.30),
    (21.90, 68.60),
    (20.90, 68.95),
    (20.55, 69.06),
    (20.05, 68.80),
    (19.95, 68.35),
    (18.10, 68.45),
    (17.90, 67.95),
    (16.70, 67.55),
    (16.30, 67.00),
    (15.50, 66.30),
    (14.55, 65.90),
    (14.50, 65.30),
    (13.65, 64.60),
    (14.10, 64.45),
    (13.95, 64.00),
    (12.70, 63.75),
    (12.10, 63.30),
    (12.25, 62.80),
    (12.10, 62.60),
    (12.30, 62.20),
    (12.60, 61.60),
    (12.85, 61.35),
    (12.25, 61.00),
    (12.55, 60.55),
    (12.30, 59.95),
    (11.90, 59.85),
    (11.70, 59.60),
    (11.75, 59.20),
    (11.45, 58.98),
    (11.12, 58.95),
    (11.15, 58.60),
    (11.20, 58.35),
    (11.50, 57.95),
    (11.60, 57.70),
    (11.75, 57.55),
    (11.90, 57.40),
    (12.20, 57.15),
    (12.45, 56.90),
    (12.85, 56.65),
    (12.75, 56.45),
    (12.40, 56.30),
    (12.50, 56.15),
    (12.65, 56.05),
    (12.78, 55.87),
    (12.92, 55.68),
    (12.90, 55.55),
];

pub const OLAND: &[(f64, f64)] =
    &[(16.40, 56.20), (16.60, 56.35), (16.80, 56.75), (17.15, 57.35), (16.95, 57.35), (16.55, 56.85), (16.40, 56.65), (16.34, 56.50)];

pub const GOTLAND: &[(f64, f64)] = &[
    (18.10, 56.90),
    (18.45, 57.10),
    (18.80, 57.25),
    (18.95, 57.45),
    (19.35, 57.95),
    (18.80, 57.90),
    (18.35, 57.75),
    (18.15, 57.60),
    (18.10, 57.35),
];

fn inside(poly: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut c = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            c = !c;
        }
        j = i;
    }
    c
}

/// Whether a point lies on the coarse outline of Sweden's land.
pub fn on_land(lon: f64, lat: f64) -> bool {
    inside(MAINLAND, lon, lat) || inside(OLAND, lon, lat) || inside(GOTLAND, lon, lat)
}

/// The land outline as a WKT MULTIPOLYGON in WGS84 (`lon lat`).
pub fn land_wkt() -> String {
    let ring = |r: &[(f64, f64)]| {
        let mut pts: Vec<String> = r.iter().map(|(x, y)| format!("{x} {y}")).collect();
        pts.push(pts[0].clone());
        format!("(({}))", pts.join(", "))
    };
    format!("MULTIPOLYGON({}, {}, {})", ring(MAINLAND), ring(OLAND), ring(GOTLAND))
}

/// Each municipality's main town: (code, lat, lon).
pub fn centres() -> Vec<(String, f64, f64)> {
    CENTRES_CSV
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.get(3)?.parse().ok()?, f.get(4)?.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_municipality_has_a_centre_on_land() {
        let c = super::centres();
        assert_eq!(c.len(), crate::codes::municipalities().len());
        for (code, lat, lon) in c {
            assert!(super::on_land(lon, lat), "{code} ({lat}, {lon})");
        }
    }
}
