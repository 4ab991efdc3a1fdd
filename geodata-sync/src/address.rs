//! Address lookup: a facility's street address, postal code and locality → the address point
//! of the national address service. Exact first (the address as the service spells it), then
//! normalised (case, spacing, abbreviations such as "g." for "gatan", house-number letters).

use std::collections::HashMap;

use registry_core::geo::LatLon;
use registry_core::model::{Address, MatchQuality};

use crate::config::AddressProperties;
use crate::feature::{Feature, Geometry};

/// An address point of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressPoint {
    /// The feature id.
    pub feature_id: String,
    /// The street address as the service writes it, e.g. `Storgatan 12 B`.
    pub street: String,
    /// Postal code, digits only.
    pub postal_code: String,
    /// Post town.
    pub locality: String,
    /// Position.
    pub location: LatLon,
}

impl AddressPoint {
    /// Reads an address point from a feature with the configured property names; None when
    /// the feature is not a point or has no street.
    pub fn from_feature(f: &Feature, p: &AddressProperties) -> Option<AddressPoint> {
        let Geometry::Point(location) = f.geometry else { return None };
        let street = match &p.street {
            Some(name) => f.text(name)?,
            None => {
                let name = f.text(p.street_name.as_deref()?)?;
                let number = p.house_number.as_deref().and_then(|n| f.text(n)).unwrap_or_default();
                let letter = p.letter.as_deref().and_then(|l| f.text(l)).unwrap_or_default();
                [name, number, letter].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
            }
        };
        Some(AddressPoint {
            feature_id: f.id.clone(),
            street,
            postal_code: digits(&f.text(&p.postal_code).unwrap_or_default()),
            locality: f.text(&p.locality).unwrap_or_default(),
            location,
        })
    }
}

/// The result of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// One address point (or several at the same place) matches.
    Found {
        /// The matching point.
        point: AddressPoint,
        /// How it matched.
        quality: MatchQuality,
    },
    /// Distinct address points match; the address needs a closer look.
    Ambiguous(Vec<AddressPoint>),
    /// Nothing matches.
    NotFound,
}

/// A street address split into normalised parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreetKey {
    /// Normalised street name, e.g. `storgatan`.
    pub name: String,
    /// House number, if any.
    pub number: Option<u32>,
    /// House-number letter, lower case, if any.
    pub letter: Option<char>,
}

/// Abbreviations of the last part of a street name (with the dot they are written with).
const SUFFIXES: [(&str, &str); 6] =
    [("g.", "gatan"), ("gat.", "gatan"), ("v.", "vägen"), ("vg.", "vägen"), ("gr.", "gränd"), ("pl.", "platsen")];
/// Abbreviations of a leading word.
const PREFIXES: [(&str, &str); 4] = [("st.", "sankt"), ("s:t", "sankt"), ("s:ta", "sankta"), ("sta.", "sankta")];

/// Splits and normalises a street address: `Storg. 12b`, `storgatan 12 B` and `STORGATAN 12B`
/// all give (`storgatan`, 12, `b`).
pub fn street_key(street: &str) -> StreetKey {
    let lower = street.trim().to_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).collect();
    let at = tokens.iter().position(|t| t.starts_with(|c: char| c.is_ascii_digit())).filter(|&i| i > 0);
    let (name_tokens, rest) = match at {
        Some(i) => (&tokens[..i], &tokens[i..]),
        None => (&tokens[..], &[][..]),
    };
    let mut words: Vec<String> = name_tokens.iter().map(|t| t.to_string()).collect();
    if let Some(first) = words.first_mut()
        && let Some((_, full)) = PREFIXES.iter().find(|(abbr, _)| first == abbr)
    {
        *first = full.to_string();
    }
    if let Some(last) = words.last_mut() {
        for (abbr, full) in SUFFIXES {
            // "Storg." → "storgatan", and a separate "g." → "gatan" ("Stora g.").
            if let Some(stem) = last.strip_suffix(abbr) {
                *last = format!("{stem}{full}");
                break;
            }
        }
    }
    let name: String = words.join(" ").chars().filter(|c| c.is_alphanumeric() || *c == ' ').collect::<String>();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let (mut number, mut letter) = (None, None);
    if let Some(first) = rest.first() {
        let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
        number = digits.parse().ok();
        let tail: Vec<char> = first[digits.len()..].chars().filter(|c| c.is_alphabetic()).collect();
        letter = match (tail.as_slice(), rest.get(1)) {
            ([c], _) => Some(*c),
            ([], Some(next)) if next.chars().count() == 1 && next.chars().all(char::is_alphabetic) => next.chars().next(),
            _ => None,
        };
    }
    StreetKey { name, number, letter }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Points closer than this are the same place (entrances of one building).
const SAME_PLACE_M: f64 = 5.0;

/// Address points indexed for lookups.
#[derive(Debug, Default)]
pub struct AddressIndex {
    points: Vec<AddressPoint>,
    by_exact: HashMap<String, Vec<usize>>,
    by_key: HashMap<(String, Option<u32>), Vec<usize>>,
}

impl AddressIndex {
    /// Indexes points.
    pub fn new(points: Vec<AddressPoint>) -> AddressIndex {
        let mut index = AddressIndex { points, ..Default::default() };
        for (i, p) in index.points.iter().enumerate() {
            index.by_exact.entry(p.street.trim().to_string()).or_default().push(i);
            let k = street_key(&p.street);
            index.by_key.entry((k.name, k.number)).or_default().push(i);
        }
        index
    }

    /// How many points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Looks up an address: exact, then normalised. A postal code, when given, must agree; a
    /// locality is used only when there is no postal code.
    pub fn lookup(&self, address: &Address) -> Lookup {
        let street = address.street.trim();
        if street.is_empty() {
            return Lookup::NotFound;
        }
        let postal = digits(&address.postal_code);
        let place_ok = |p: &AddressPoint, exact: bool| {
            if !postal.is_empty() {
                p.postal_code == postal
            } else if !address.locality.trim().is_empty() {
                if exact { p.locality == address.locality.trim() } else { norm(&p.locality) == norm(&address.locality) }
            } else {
                true
            }
        };
        // Exact: the street as the service spells it, and the same place names.
        let exact: Vec<&AddressPoint> =
            self.by_exact.get(street).into_iter().flatten().map(|&i| &self.points[i]).filter(|p| place_ok(p, true)).collect();
        if !exact.is_empty() {
            return decide(exact, MatchQuality::Exact);
        }
        let key = street_key(street);
        if key.number.is_none() {
            return Lookup::NotFound;
        }
        let same: Vec<&AddressPoint> = self
            .by_key
            .get(&(key.name.clone(), key.number))
            .into_iter()
            .flatten()
            .map(|&i| &self.points[i])
            .filter(|p| place_ok(p, false))
            .collect();
        let letter_of = |p: &AddressPoint| street_key(&p.street).letter;
        let chosen: Vec<&AddressPoint> = match key.letter {
            Some(l) => same.iter().copied().filter(|p| letter_of(p) == Some(l)).collect(),
            None => {
                // "12" is the point without a letter if there is one, else whatever 12x there is.
                let plain: Vec<&AddressPoint> = same.iter().copied().filter(|p| letter_of(p).is_none()).collect();
                if plain.is_empty() { same } else { plain }
            }
        };
        if chosen.is_empty() {
            return Lookup::NotFound;
        }
        decide(chosen, MatchQuality::Normalised)
    }
}

fn decide(points: Vec<&AddressPoint>, quality: MatchQuality) -> Lookup {
    let first = points[0];
    if points.iter().all(|p| crate::distance_m(p.location, first.location) <= SAME_PLACE_M) {
        return Lookup::Found { point: first.clone(), quality };
    }
    Lookup::Ambiguous(points.into_iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, number: Option<u32>, letter: Option<char>) -> StreetKey {
        StreetKey { name: name.into(), number, letter }
    }

    #[test]
    fn street_addresses_normalise() {
        for (input, want) in [
            ("Storgatan 12B", key("storgatan", Some(12), Some('b'))),
            ("storgatan 12 b", key("storgatan", Some(12), Some('b'))),
            ("STORG. 12b", key("storgatan", Some(12), Some('b'))),
            ("Storgatan  12", key("storgatan", Some(12), None)),
            ("Idrottsv. 3", key("idrottsvägen", Some(3), None)),
            ("Stora g. 5", key("stora gatan", Some(5), None)),
            ("S:t Eriksgatan 40", key("sankt eriksgatan", Some(40), None)),
            ("St. Olofs gr. 2", key("sankt olofs gränd", Some(2), None)),
            ("Ängsvägen 1, lgh 1101", key("ängsvägen", Some(1), None)),
            ("Torget", key("torget", None, None)),
        ] {
            assert_eq!(street_key(input), want, "{input}");
        }
    }

    fn point(id: &str, street: &str, postal: &str, lat: f64) -> AddressPoint {
        AddressPoint {
            feature_id: id.into(),
            street: street.into(),
            postal_code: postal.into(),
            locality: "Kumla".into(),
            location: LatLon { lat, lon: 15.14 },
        }
    }

    fn addr(street: &str, postal: &str, locality: &str) -> Address {
        Address { street: street.into(), postal_code: postal.into(), locality: locality.into() }
    }

    #[test]
    fn lookups_prefer_exact_then_normalise() {
        let index = AddressIndex::new(vec![
            point("a", "Storgatan 12", "69231", 59.10),
            point("b", "Storgatan 12 B", "69231", 59.11),
            point("c", "Storgatan 14", "69231", 59.12),
            point("c2", "Storgatan 14", "69231", 59.12001), // another entrance, 1 m away
            point("d", "Kyrkvägen 3", "69231", 59.13),
            point("e", "Kyrkvägen 3", "69232", 59.14),
            point("f", "Skolgatan 1 A", "69231", 59.15),
            point("g", "Skolgatan 1 B", "69231", 59.16),
        ]);
        let found = |l: Lookup| match l {
            Lookup::Found { point, quality } => (point.feature_id, quality),
            other => panic!("{other:?}"),
        };
        assert_eq!(found(index.lookup(&addr("Storgatan 12", "692 31", ""))), ("a".into(), MatchQuality::Exact));
        assert_eq!(found(index.lookup(&addr("storg. 12", "69231", ""))), ("a".into(), MatchQuality::Normalised));
        assert_eq!(found(index.lookup(&addr("Storgatan 12b", "69231", ""))), ("b".into(), MatchQuality::Normalised));
        assert_eq!(found(index.lookup(&addr("Storgatan 14", "69231", ""))).0, "c", "entrances at one place are one match");
        assert_eq!(found(index.lookup(&addr("Kyrkvägen 3", "69232", ""))).0, "e", "the postal code decides");
        assert_eq!(found(index.lookup(&addr("kyrkv. 3", "69231", ""))), ("d".into(), MatchQuality::Normalised));
        assert_eq!(
            found(index.lookup(&addr("Storgatan 12", "", "KUMLA"))),
            ("a".into(), MatchQuality::Normalised),
            "locality in another case"
        );
        assert_eq!(found(index.lookup(&addr("Storgatan 12", "", "Kumla"))), ("a".into(), MatchQuality::Exact));
        assert!(matches!(index.lookup(&addr("Kyrkvägen 3", "", "Kumla")), Lookup::Ambiguous(v) if v.len() == 2));
        assert!(matches!(index.lookup(&addr("Skolgatan 1", "69231", "")), Lookup::Ambiguous(v) if v.len() == 2), "1 A or 1 B?");
        assert_eq!(found(index.lookup(&addr("Skolgatan 1a", "69231", ""))).0, "f");
        assert_eq!(index.lookup(&addr("Storgatan 13", "69231", "")), Lookup::NotFound);
        assert_eq!(index.lookup(&addr("Storgatan 12", "12345", "")), Lookup::NotFound, "another postal code");
        assert_eq!(index.lookup(&addr("Storgatan 12C", "69231", "")), Lookup::NotFound, "no such letter");
        assert_eq!(index.lookup(&addr("", "69231", "")), Lookup::NotFound);
    }
}
