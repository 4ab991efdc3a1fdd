//! The synthetic country: municipalities with population and a main town, a coarse outline of
//! Sweden's land, villages, Swedish-looking names, and a small seeded random generator so that
//! one seed always gives the same dataset.

use anyhow::{Context, Result, bail};

/// The municipalities' main towns and populations (`registry-core/data/municipality_centres.csv`).
const CENTRES: &str = registry_core::outline::CENTRES_CSV;

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

pub use registry_core::outline::on_land;

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
