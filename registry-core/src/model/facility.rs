//! Facilities (anläggningar) and their bookable units (lokaler).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Contact, text_enum};
use crate::codes;
use crate::error::Result;
use crate::geo::{self, LatLon};
use crate::validate::{self, Violations};

text_enum! {
    /// Who owns the facility.
    Ownership {
        /// Owned by the municipality.
        Municipal = "municipal" / "OWNERSHIP_MUNICIPAL",
        /// Rented by the municipality from someone else.
        RentedByMunicipality = "rented_by_municipality" / "OWNERSHIP_RENTED_BY_MUNICIPALITY",
        /// Owned and run by someone else (an association, a company).
        Other = "other" / "OWNERSHIP_OTHER",
    }
}

text_enum! {
    /// Accessibility attributes of a facility.
    Accessibility {
        /// Step-free entrance.
        StepFreeEntrance = "step_free_entrance" / "ACCESSIBILITY_STEP_FREE_ENTRANCE",
        /// Accessible toilet.
        AccessibleToilet = "accessible_toilet" / "ACCESSIBILITY_ACCESSIBLE_TOILET",
        /// Hearing loop (hörslinga).
        HearingLoop = "hearing_loop" / "ACCESSIBILITY_HEARING_LOOP",
        /// Accessible parking.
        AccessibleParking = "accessible_parking" / "ACCESSIBILITY_ACCESSIBLE_PARKING",
        /// Accessible changing room.
        AccessibleChangingRoom = "accessible_changing_room" / "ACCESSIBILITY_ACCESSIBLE_CHANGING_ROOM",
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    /// Street and number, e.g. `Idrottsvägen 12`.
    #[serde(default)]
    pub street: String,
    /// Five-digit postal code (postnummer), e.g. `69231`; `692 31` is accepted on input; may be empty.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^([1-9][0-9]{2} ?[0-9]{2})?$"))]
    pub postal_code: String,
    /// Post town (postort), e.g. `Kumla`.
    #[serde(default)]
    pub locality: String,
}

text_enum! {
    /// Where a facility's location came from.
    LocationSource {
        /// Typed or edited by the municipality.
        Manual = "manual" / "LOCATION_SOURCE_MANUAL",
        /// Set by geodata-sync from the national address service.
        Geodata = "geodata" / "LOCATION_SOURCE_GEODATA",
    }
}

text_enum! {
    /// How an address matched the national address service's address point.
    MatchQuality {
        /// Street, number, letter and postal code exactly as the service spells them.
        Exact = "exact" / "MATCH_QUALITY_EXACT",
        /// Matched after normalising case, spacing, abbreviations and house-number letters.
        Normalised = "normalised" / "MATCH_QUALITY_NORMALISED",
    }
}

/// Where a facility's location came from (coordinate provenance); output only.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationProvenance {
    /// `manual` (typed by the municipality) or `geodata` (set by geodata-sync).
    pub source: LocationSource,
    /// Whether the location is locked against geodata-sync (set by an editor who checked it on site).
    pub locked: bool,
    /// The address point's feature id in the source service (geodata only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_feature_id: Option<String>,
    /// How the address matched (geodata only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_quality: Option<MatchQuality>,
    /// When geodata-sync set the location (geodata only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<DateTime<Utc>>,
    /// How far geodata-sync moved the location, in metres; 0 when it filled a missing one (geodata only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_moved_m: Option<f64>,
}

impl LocationProvenance {
    /// A manual, unlocked location.
    pub fn manual(locked: bool) -> Self {
        LocationProvenance {
            source: LocationSource::Manual,
            locked,
            source_feature_id: None,
            match_quality: None,
            synced_at: None,
            distance_moved_m: None,
        }
    }
}

/// Reference to the booking vendor that serves a facility (filled by federation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorRef {
    /// The vendor's id in the vendor directory.
    pub vendor_id: String,
    /// The vendor's own reference for this facility.
    pub external_ref: String,
}

/// A bookable unit (lokal) of a facility as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    /// Unit id (UUIDv7).
    pub id: Uuid,
    /// Name, e.g. `Hall A`.
    pub name: String,
    /// Facility category code of the unit.
    pub category: String,
    /// Maximum number of people, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
    /// Floor area in square metres, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    /// Whether the unit can be booked.
    pub bookable: bool,
}

/// A unit as written by a client; `id` keeps an existing unit, no `id` creates one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitInput {
    /// Existing unit id to keep, or none for a new unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Facility category code.
    pub category: String,
    /// Maximum number of people.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100000))]
    pub capacity: Option<i32>,
    /// Floor area in square metres.
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// Whether the unit can be booked (default true).
    #[serde(default = "yes")]
    pub bookable: bool,
}

fn yes() -> bool {
    true
}

/// A facility (anläggning) as stored and returned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facility {
    /// Facility id (UUIDv7).
    pub id: Uuid,
    /// Municipality code (kommunkod) of the municipality that publishes it.
    pub municipality_code: String,
    /// Name.
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// Facility category code.
    pub category: String,
    /// Activity codes.
    pub activities: Vec<String>,
    /// WGS84 position, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LatLon>,
    /// Where the location came from.
    pub location_provenance: LocationProvenance,
    /// Postal address.
    pub address: Address,
    /// Ownership.
    pub ownership: Ownership,
    /// Accessibility attributes.
    pub accessibility: Vec<Accessibility>,
    /// Public contact.
    pub contact: Contact,
    /// Bookable units, in the order given by the publisher.
    pub units: Vec<Unit>,
    /// Booking vendor serving this facility, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_vendor: Option<VendorRef>,
    /// Optimistic-concurrency version, starting at 1 and raised by every write.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A facility as written by a client (create, or the full new state on update).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacilityInput {
    /// Municipality code (kommunkod).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4}$"))]
    pub municipality_code: String,
    /// Name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Description.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub description: String,
    /// Facility category code.
    pub category: String,
    /// Activity codes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub activities: Vec<String>,
    /// WGS84 position. Changing it makes its provenance `manual`.
    #[serde(default)]
    pub location: Option<LatLon>,
    /// Locks the location against geodata-sync (true) or releases it (false); left out, the
    /// lock stays as it is (unlocked for a new facility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_locked: Option<bool>,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// Ownership.
    pub ownership: Ownership,
    /// Accessibility attributes.
    #[serde(default)]
    pub accessibility: Vec<Accessibility>,
    /// Public contact.
    #[serde(default)]
    pub contact: Contact,
    /// Units.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub units: Vec<UnitInput>,
}

/// Limits of a facility's fields.
pub mod limits {
    /// Maximum name length in characters.
    pub const NAME: usize = 200;
    /// Maximum description length in characters.
    pub const DESCRIPTION: usize = 4000;
    /// Maximum number of activities.
    pub const ACTIVITIES: usize = 50;
    /// Maximum number of units.
    pub const UNITS: usize = 200;
    /// Maximum unit capacity.
    pub const CAPACITY: i32 = 100_000;
    /// Maximum unit area in m².
    pub const AREA_M2: f64 = 1_000_000.0;
}

impl FacilityInput {
    /// Checks every field and returns the normalised input, or all violations at once.
    pub fn validate(&self) -> Result<FacilityInput> {
        let mut v = Violations::default();
        let out = FacilityInput {
            municipality_code: codes::check_municipality(&mut v, "municipalityCode", &self.municipality_code),
            name: v.required_text("name", &self.name, limits::NAME),
            description: v.optional_multiline("description", &self.description, limits::DESCRIPTION),
            category: self.category.trim().to_string(),
            activities: v.codes("activities", &self.activities, limits::ACTIVITIES, codes::is_activity, "activity"),
            location: self.location,
            location_locked: self.location_locked,
            address: Address {
                street: v.optional_text("address.street", &self.address.street, 200),
                postal_code: if self.address.postal_code.trim().is_empty() {
                    String::new()
                } else {
                    validate::postal_code(&mut v, "address.postalCode", &self.address.postal_code)
                },
                locality: v.optional_text("address.locality", &self.address.locality, 100),
            },
            ownership: self.ownership,
            accessibility: dedup(&self.accessibility),
            contact: self.contact.validated(&mut v, "contact"),
            units: Vec::with_capacity(self.units.len()),
        };
        if !codes::is_category(&out.category) {
            v.add("category", "unknown_code", format!("'{}' is not a known facility category code", out.category));
        }
        if let Some(p) = self.location {
            geo::check_in_sweden(&mut v, "location", p);
        }
        if self.accessibility.len() != out.accessibility.len() {
            v.add("accessibility", "duplicate", "lists an attribute more than once");
        }
        if self.units.len() > limits::UNITS {
            v.add("units", "max_items", format!("must have at most {} units (got {})", limits::UNITS, self.units.len()));
        }
        let mut out = out;
        for (i, u) in self.units.iter().enumerate() {
            let f = |name: &str| format!("units[{i}].{name}");
            if let Some(id) = u.id
                && self.units[..i].iter().any(|o| o.id == Some(id))
            {
                v.add(f("id"), "duplicate", format!("unit id {id} is listed more than once"));
            }
            let category = u.category.trim().to_string();
            if !codes::is_category(&category) {
                v.add(f("category"), "unknown_code", format!("'{category}' is not a known facility category code"));
            }
            if let Some(c) = u.capacity
                && !(0..=limits::CAPACITY).contains(&c)
            {
                v.add(f("capacity"), "out_of_range", format!("must be between 0 and {}", limits::CAPACITY));
            }
            if let Some(a) = u.area_m2
                && !(a.is_finite() && a > 0.0 && a <= limits::AREA_M2)
            {
                v.add(f("areaM2"), "out_of_range", format!("must be greater than 0 and at most {}", limits::AREA_M2));
            }
            out.units.push(UnitInput {
                id: u.id,
                name: v.required_text(&f("name"), &u.name, limits::NAME),
                category,
                capacity: u.capacity,
                area_m2: u.area_m2,
                bookable: u.bookable,
            });
        }
        v.finish().map(|()| out)
    }
}

fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(i) {
            out.push(*i);
        }
    }
    out
}

impl Facility {
    /// The facility's current state as an input, for clients that change a few fields.
    pub fn to_input(&self) -> FacilityInput {
        FacilityInput {
            municipality_code: self.municipality_code.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            activities: self.activities.clone(),
            location: self.location,
            location_locked: Some(self.location_provenance.locked),
            address: self.address.clone(),
            ownership: self.ownership,
            accessibility: self.accessibility.clone(),
            contact: self.contact.clone(),
            units: self
                .units
                .iter()
                .map(|u| UnitInput {
                    id: Some(u.id),
                    name: u.name.clone(),
                    category: u.category.clone(),
                    capacity: u.capacity,
                    area_m2: u.area_m2,
                    bookable: u.bookable,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    pub(crate) fn valid() -> FacilityInput {
        FacilityInput {
            municipality_code: "1881".into(),
            name: "Kumla idrottshall".into(),
            description: "Hall för bollsporter.".into(),
            category: "sports_hall".into(),
            activities: vec!["floorball".into(), "handball".into()],
            location: Some(LatLon { lat: 59.1277, lon: 15.1434 }),
            location_locked: None,
            address: Address { street: "Idrottsvägen 1".into(), postal_code: "692 31".into(), locality: "Kumla".into() },
            ownership: Ownership::Municipal,
            accessibility: vec![Accessibility::StepFreeEntrance],
            contact: Contact { email: Some("fritid@kumla.se".into()), phone: Some("019-58 80 00".into()), website: None },
            units: vec![UnitInput {
                id: None,
                name: "Hall A".into(),
                category: "sports_hall".into(),
                capacity: Some(300),
                area_m2: Some(1200.0),
                bookable: true,
            }],
        }
    }

    fn violations(input: FacilityInput) -> Vec<(String, &'static str)> {
        match input.validate() {
            Ok(_) => vec![],
            Err(Error::Invalid(v)) => v.into_iter().map(|x| (x.field, x.rule)).collect(),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn a_valid_facility_is_normalised() {
        let out = valid().validate().unwrap();
        assert_eq!(out.address.postal_code, "69231");
        assert_eq!(out.contact.phone.as_deref(), Some("019588000"));
    }

    /// A change to a valid input and the field and rule it must break.
    type Case = (fn(&mut FacilityInput), &'static str, &'static str);

    #[test]
    fn each_field_rule_names_field_and_rule() {
        let cases: Vec<Case> = vec![
            (|f| f.municipality_code = "9999".into(), "municipalityCode", "unknown_code"),
            (|f| f.municipality_code = "18".into(), "municipalityCode", "format"),
            (|f| f.name = "  ".into(), "name", "required"),
            (|f| f.name = "x".repeat(201), "name", "max_length"),
            (|f| f.description = "x".repeat(4001), "description", "max_length"),
            (|f| f.category = "spaceport".into(), "category", "unknown_code"),
            (|f| f.activities = vec!["quidditch".into()], "activities[0]", "unknown_code"),
            (|f| f.activities = vec!["dance".into(), "dance".into()], "activities[1]", "duplicate"),
            (|f| f.location = Some(LatLon { lat: 15.14, lon: 59.12 }), "location.lat", "outside_sweden"),
            (|f| f.location = Some(LatLon { lat: 95.0, lon: 15.0 }), "location.lat", "out_of_range"),
            (|f| f.address.postal_code = "6923".into(), "address.postalCode", "format"),
            (|f| f.address.street = "x".repeat(201), "address.street", "max_length"),
            (|f| f.accessibility = vec![Accessibility::HearingLoop, Accessibility::HearingLoop], "accessibility", "duplicate"),
            (|f| f.contact.email = Some("not-an-address".into()), "contact.email", "format"),
            (|f| f.contact.phone = Some("call us".into()), "contact.phone", "format"),
            (|f| f.contact.website = Some("kumla.se".into()), "contact.website", "format"),
            (|f| f.units[0].name = "".into(), "units[0].name", "required"),
            (|f| f.units[0].category = "nope".into(), "units[0].category", "unknown_code"),
            (|f| f.units[0].capacity = Some(-1), "units[0].capacity", "out_of_range"),
            (|f| f.units[0].capacity = Some(100_001), "units[0].capacity", "out_of_range"),
            (|f| f.units[0].area_m2 = Some(0.0), "units[0].areaM2", "out_of_range"),
            (|f| f.units[0].area_m2 = Some(f64::NAN), "units[0].areaM2", "out_of_range"),
            (
                |f| {
                    let id = Uuid::now_v7();
                    f.units[0].id = Some(id);
                    let mut u = f.units[0].clone();
                    u.name = "Hall B".into();
                    f.units.push(u);
                },
                "units[1].id",
                "duplicate",
            ),
            (|f| f.units = (0..201).map(|_| f.units[0].clone()).collect(), "units", "max_items"),
        ];
        for (mutate, field, rule) in cases {
            let mut input = valid();
            mutate(&mut input);
            let got = violations(input);
            assert!(got.contains(&(field.to_string(), rule)), "expected {field}/{rule}, got {got:?}");
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let mut input = valid();
        input.name = String::new();
        input.category = "x".into();
        input.municipality_code = "0000".into();
        assert_eq!(violations(input).len(), 3);
    }

    #[test]
    fn json_uses_camel_case_and_rejects_unknown_fields() {
        let json = serde_json::to_value(valid()).unwrap();
        assert!(json.get("municipalityCode").is_some());
        assert_eq!(json["address"]["postalCode"], "692 31");
        assert_eq!(json["units"][0]["areaM2"], 1200.0);
        let mut bad = json.clone();
        bad["colour"] = "red".into();
        assert!(serde_json::from_value::<FacilityInput>(bad).is_err());
        let mut bad = json;
        bad["ownership"] = "stolen".into();
        assert!(serde_json::from_value::<FacilityInput>(bad).is_err());
    }
}
