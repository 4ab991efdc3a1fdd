//! The synthetic country: municipalities with population and a main town, a coarse outline of
//! Sweden's land, villages, Swedish-looking names, and a small seeded random generator so that
//! one seed always gives the same dataset.

use anyhow::{Context, Result, bail};

/// The municipalities' main towns and populations (`bench/data/municipality_centres.csv`).
const CENTRES: &str = include_str!("../data/municipality_centres.csv");

/// A municipality of the synthetic country.
#[derive(Debug, Clone)]
pub struct Municipality {
    /// Four-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// County code.
    pub county: String,
    /// Inhabitants.
    pub population: u32,
    /// Main town (centralort), WGS84.
    pub lat: f64,
    /// See `lat`.
    pub lon: f64,
}

/// The 290 municipalities, checked against the registry's own code list.
pub fn municipalities() -> Result<Vec<Municipality>> {
    let mut out = Vec::new();
    for (i, line) in CENTRES.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [code, name, population, lat, lon] = f[..] else {
            bail!("municipality_centres.csv line {}: expected 5 fields", i + 1);
        };
        let reg = registry_core::codes::municipality(code)
            .with_context(|| format!("municipality_centres.csv line {}: {code} is not a municipality code", i + 1))?;
        let m = Municipality {
            code: code.into(),
            name: name.into(),
            county: reg.county_code.clone(),
            population: population.parse().with_context(|| format!("line {}: population", i + 1))?,
            lat: lat.parse().with_context(|| format!("line {}: lat", i + 1))?,
            lon: lon.parse().with_context(|| format!("line {}: lon", i + 1))?,
        };
        if !on_land(m.lon, m.lat) {
            bail!("municipality_centres.csv line {}: {} ({}, {}) is outside the land outline", i + 1, m.name, m.lat, m.lon);
        }
        out.push(m);
    }
    if out.len() != registry_core::codes::municipalities().len() {
        bail!("municipality_centres.csv has {} municipalities, the code list {}", out.len(), registry_core::codes::municipalities().len());
    }
    Ok(out)
}

/// A coarse outline (lon, lat) of mainland Sweden, Öland and Gotland: good to a few
/// kilometres, enough to keep generated points out of the open sea and out of Norway and
/// Finland.
const MAINLAND: &[(f64, f64)] = &[
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

const OLAND: &[(f64, f64)] =
    &[(16.40, 56.20), (16.60, 56.35), (16.80, 56.75), (17.15, 57.35), (16.95, 57.35), (16.55, 56.85), (16.40, 56.65), (16.34, 56.50)];

const GOTLAND: &[(f64, f64)] = &[
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

/// SplitMix64: small, fast, and the same sequence for the same seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// A generator derived from this seed and a stream number, independent of the others.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut r = Rng::new(seed.wrapping_add(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// One element.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// An index drawn by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-12);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Stems and endings of Swedish place names.
const STEMS: &[&str] = &[
    "Björk", "Ek", "Al", "Lind", "Gran", "Tall", "Sjö", "Å", "Äng", "Hög", "Löv", "Mos", "Ström", "Berg", "Dal", "Hag", "Ry", "Norr",
    "Sör", "Väster", "Öster", "Rönn", "Hassel", "Ask", "Bäck", "Sand", "Sten", "Kvarn", "Kyrk", "Myr", "Ljung", "Hed", "Furu", "Bok",
    "Lönn", "Sälg", "Vass", "Näck", "Tjär", "Fjäll", "Älv", "Ö", "Hammar", "Kall", "Varm", "Gull", "Silver", "Järn", "Kopparn", "Hjort",
    "Räv", "Örn", "Falk", "Trana", "Svan", "Lom", "Mås", "Bävern", "Lo", "Björn", "Ulv",
];
const ENDINGS: &[&str] = &[
    "by", "ås", "vik", "berga", "lund", "sund", "holm", "hult", "torp", "näs", "ängen", "dal", "hed", "sjö", "åker", "ryd", "fors",
    "backa", "gården", "köping", "träsk", "näset", "ö", "strand", "mo", "sätra", "stad", "tuna", "inge", "löt",
];

/// A Swedish-looking place name.
pub fn place_name(r: &mut Rng) -> String {
    let stem = r.pick(STEMS);
    let end = r.pick(ENDINGS);
    let first = end.chars().next().unwrap_or(' ');
    let stem = if stem.ends_with(first) { &stem[..stem.len() - first.len_utf8()] } else { stem };
    format!("{stem}{end}").replace("åå", "å").replace("öö", "ö")
}

/// First names and surnames for contact persons and schools.
pub const FIRST_NAMES: &[&str] = &[
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Elin", "Ida", "Åsa", "Märta", "Ebba", "Linnéa", "Ingrid", "Maja", "Erik", "Lars",
    "Karl", "Johan", "Anders", "Per", "Mikael", "Björn", "Göran", "Jörgen", "Åke", "Oskar", "Nils", "Olle", "Ali", "Fatima", "Mohammed",
    "Aino",
];
/// See [`FIRST_NAMES`].
pub const SURNAMES: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Lindström",
    "Lindqvist",
    "Bergström",
    "Sjöberg",
    "Åberg",
    "Öberg",
    "Lundgren",
    "Söderberg",
    "Nyström",
    "Holmström",
    "Hedlund",
    "Ström",
    "Dahl",
];
