//! The checked-in code lists: municipalities (kommuner) with their counties (län), facility
//! categories and activities. The same CSV files seed the database (see [`crate::db::seed`]),
//! so Rust validation and the database's foreign keys agree.

use std::sync::LazyLock;

/// The official municipality list (SCB), as checked in.
pub const MUNICIPALITIES_CSV: &str = include_str!("../data/municipalities.csv");
/// Facility categories with Swedish and English names.
pub const CATEGORIES_CSV: &str = include_str!("../data/facility_categories.csv");
/// Activities with Swedish and English names.
pub const ACTIVITIES_CSV: &str = include_str!("../data/activities.csv");
/// Association types with Swedish and English names.
pub const ASSOCIATION_TYPES_CSV: &str = include_str!("../data/association_types.csv");
/// Federations (förbund) an association can be a member of, with Swedish and English names.
pub const FEDERATIONS_CSV: &str = include_str!("../data/federations.csv");

/// A municipality (kommun).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Municipality {
    /// Official four-digit municipality code (kommunkod), e.g. `1880` for Örebro.
    pub code: String,
    /// Name, e.g. `Örebro`.
    pub name: String,
    /// Two-digit county (län) code; the first two digits of `code`.
    pub county_code: String,
    /// County name, e.g. `Örebro län`.
    pub county_name: String,
}

/// An entry of a code list with names in Swedish and English.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Code {
    /// Stable code, e.g. `sports_hall`.
    pub code: String,
    /// Swedish name.
    pub name_sv: String,
    /// English name.
    pub name_en: String,
}

fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(str::trim).collect())
}

static MUNICIPALITIES: LazyLock<Vec<Municipality>> = LazyLock::new(|| {
    rows(MUNICIPALITIES_CSV)
        .map(|r| Municipality { code: r[0].into(), name: r[1].into(), county_code: r[2].into(), county_name: r[3].into() })
        .collect()
});

fn code_list(csv: &'static str) -> Vec<Code> {
    rows(csv).map(|r| Code { code: r[0].into(), name_sv: r[1].into(), name_en: r[2].into() }).collect()
}

static CATEGORIES: LazyLock<Vec<Code>> = LazyLock::new(|| code_list(CATEGORIES_CSV));
static ACTIVITIES: LazyLock<Vec<Code>> = LazyLock::new(|| code_list(ACTIVITIES_CSV));
static ASSOCIATION_TYPES: LazyLock<Vec<Code>> = LazyLock::new(|| code_list(ASSOCIATION_TYPES_CSV));
static FEDERATIONS: LazyLock<Vec<Code>> = LazyLock::new(|| code_list(FEDERATIONS_CSV));

/// All 290 municipalities, ordered by code.
pub fn municipalities() -> &'static [Municipality] {
    &MUNICIPALITIES
}

/// The municipality with this code, if it exists.
pub fn municipality(code: &str) -> Option<&'static Municipality> {
    MUNICIPALITIES.iter().find(|m| m.code == code)
}

/// All facility categories.
pub fn categories() -> &'static [Code] {
    &CATEGORIES
}

/// All activities.
pub fn activities() -> &'static [Code] {
    &ACTIVITIES
}

/// All association types.
pub fn association_types() -> &'static [Code] {
    &ASSOCIATION_TYPES
}

/// All federations (förbund).
pub fn federations() -> &'static [Code] {
    &FEDERATIONS
}

/// Whether `code` is a known association type.
pub fn is_association_type(code: &str) -> bool {
    ASSOCIATION_TYPES.iter().any(|c| c.code == code)
}

/// Whether `code` is a known federation.
pub fn is_federation(code: &str) -> bool {
    FEDERATIONS.iter().any(|c| c.code == code)
}

/// Whether `code` is a known facility category.
pub fn is_category(code: &str) -> bool {
    CATEGORIES.iter().any(|c| c.code == code)
}

/// Whether `code` is a known activity.
pub fn is_activity(code: &str) -> bool {
    ACTIVITIES.iter().any(|c| c.code == code)
}

/// Checks a municipality code: present (`required`), four digits (`format`), naming a real
/// municipality (`unknown_code`).
pub fn check_municipality(v: &mut crate::validate::Violations, field: &str, code: &str) -> String {
    let code = code.trim();
    if code.is_empty() {
        v.add(field, "required", "must be a four-digit municipality code (kommunkod), e.g. 1880");
    } else if code.len() != 4 || !code.chars().all(|c| c.is_ascii_digit()) {
        v.add(field, "format", "must be a four-digit municipality code (kommunkod), e.g. 1880");
    } else if municipality(code).is_none() {
        v.add(field, "unknown_code", format!("'{code}' is not the code of a Swedish municipality"));
    }
    code.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_official_list_has_290_municipalities_in_21_counties() {
        assert_eq!(municipalities().len(), 290);
        let counties: HashSet<_> = municipalities().iter().map(|m| &m.county_code).collect();
        assert_eq!(counties.len(), 21);
        let codes: HashSet<_> = municipalities().iter().map(|m| &m.code).collect();
        assert_eq!(codes.len(), 290, "codes are unique");
        for m in municipalities() {
            assert_eq!(&m.code[..2], m.county_code, "{} starts with its county code", m.code);
            assert!(m.code.len() == 4 && m.code.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn known_municipalities_by_code() {
        assert_eq!(municipality("1880").unwrap().name, "Örebro");
        assert_eq!(municipality("0180").unwrap().name, "Stockholm");
        assert_eq!(municipality("1480").unwrap().name, "Göteborg");
        assert_eq!(municipality("1881").unwrap().name, "Kumla");
        assert_eq!(municipality("2480").unwrap().county_name, "Västerbottens län");
        assert!(municipality("0100").is_none());
        assert!(municipality("9999").is_none());
    }

    #[test]
    fn municipality_code_check_names_the_rule() {
        let mut v = crate::validate::Violations::default();
        check_municipality(&mut v, "municipalityCode", "1880");
        assert!(v.0.is_empty());
        for (bad, rule) in [
            ("188", "format"),
            ("18800", "format"),
            ("18a0", "format"),
            ("", "required"),
            (" ", "required"),
            ("0000", "unknown_code"),
            ("1899", "unknown_code"),
        ] {
            let mut v = crate::validate::Violations::default();
            check_municipality(&mut v, "municipalityCode", bad);
            assert_eq!(v.0.len(), 1, "{bad}");
            assert_eq!(v.0[0].rule, rule, "{bad}");
            assert_eq!(v.0[0].field, "municipalityCode");
        }
    }

    #[test]
    fn code_lists_are_well_formed() {
        for list in [categories(), activities(), federations()] {
            assert!(list.len() >= 20);
            let codes: HashSet<_> = list.iter().map(|c| &c.code).collect();
            assert_eq!(codes.len(), list.len(), "codes are unique");
            for c in list {
                assert!(c.code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.code);
                assert!(!c.name_sv.is_empty() && !c.name_en.is_empty());
            }
        }
        assert!(is_category("sports_hall") && is_category("padel_court") && !is_category("Sports hall"));
        assert!(association_types().len() >= 10 && is_association_type("sports") && !is_association_type("Sports"));
        assert!(is_federation("football") && is_federation("scouterna") && !is_federation("fifa"));
        assert!(is_activity("floorball") && !is_activity("quidditch"));
    }
}
