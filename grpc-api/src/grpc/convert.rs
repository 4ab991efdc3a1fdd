//! Conversions between the protobuf messages and the core's types. Input conversions report
//! problems as field violations with proto3 JSON field names, like the core does.

use chrono::{DateTime, NaiveDate, Utc};
use registry_core::geo::LatLon;
use registry_core::model::*;
use registry_core::validate::Violations;
use registry_core::{Error, codes};
use uuid::Uuid;

use crate::proto::v1 as pb;

/// A timestamp as protobuf.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A protobuf timestamp as chrono; `field` names it in the error.
pub fn from_timestamp(t: &prost_types::Timestamp, field: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .ok_or_else(|| Error::invalid(field, "out_of_range", "is not a valid timestamp"))
}

pub use crate::shared::parse_id;

// ---- decoding into violations ----
//
// Each collects what does not decode in `v` under the REST JSON name `field`; a value that does
// not is replaced by a placeholder that never reaches a use case, because
// [`Violations::finish`] refuses the request first.

/// A required id.
pub(crate) fn uuid(v: &mut Violations, field: &str, s: &str) -> Uuid {
    if s.trim().is_empty() {
        v.add(field, "required", "must be set");
        return Uuid::nil();
    }
    parse_id(s, field).unwrap_or_else(|_| {
        v.add(field, "format", format!("'{s}' is not a UUID"));
        Uuid::nil()
    })
}

/// An id, or none when empty.
pub(crate) fn optional_uuid(v: &mut Violations, field: &str, s: &str) -> Option<Uuid> {
    (!s.trim().is_empty()).then(|| uuid(v, field, s))
}

/// A required date, "YYYY-MM-DD".
pub(crate) fn date(v: &mut Violations, field: &str, s: &str) -> NaiveDate {
    if s.is_empty() {
        v.add(field, "required", "must be set (YYYY-MM-DD)");
        return NaiveDate::MIN;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| {
        v.add(field, "format", format!("'{s}' is not a date (YYYY-MM-DD)"));
        NaiveDate::MIN
    })
}

/// A required instant.
pub(crate) fn instant(v: &mut Violations, field: &str, t: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    match t.map(|t| from_timestamp(t, field)) {
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            v.add(field, "out_of_range", "is not a valid timestamp");
            chrono::DateTime::UNIX_EPOCH
        }
        None => {
            v.add(field, "required", "must be set");
            chrono::DateTime::UNIX_EPOCH
        }
    }
}

/// A number in the narrower type the domain keeps it in (REST's JSON decoder refuses the same).
pub(crate) fn small<T: TryFrom<u32> + Default>(v: &mut Violations, field: &str, n: u32) -> T {
    T::try_from(n).unwrap_or_else(|_| {
        v.add(field, "out_of_range", format!("{n} is too large for this field"));
        T::default()
    })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

// ---- municipalities ----

/// Core → proto.
pub fn municipality(m: codes::Municipality) -> pb::Municipality {
    pb::Municipality { code: m.code, name: m.name, county_code: m.county_code, county_name: m.county_name }
}

// ---- facilities ----

fn contact(c: Contact) -> pb::Contact {
    pb::Contact { email: c.email, phone: c.phone, website: c.website }
}

fn contact_in(c: Option<pb::Contact>) -> Contact {
    let c = c.unwrap_or_default();
    Contact { email: c.email, phone: c.phone, website: c.website }
}

fn ownership(o: Ownership) -> pb::Ownership {
    match o {
        Ownership::Municipal => pb::Ownership::Municipal,
        Ownership::RentedByMunicipality => pb::Ownership::RentedByMunicipality,
        Ownership::Other => pb::Ownership::Other,
    }
}

fn accessibility(a: Accessibility) -> pb::Accessibility {
    match a {
        Accessibility::StepFreeEntrance => pb::Accessibility::StepFreeEntrance,
        Accessibility::AccessibleToilet => pb::Accessibility::AccessibleToilet,
        Accessibility::HearingLoop => pb::Accessibility::HearingLoop,
        Accessibility::AccessibleParking => pb::Accessibility::AccessibleParking,
        Accessibility::AccessibleChangingRoom => pb::Accessibility::AccessibleChangingRoom,
    }
}

/// Core → proto.
pub fn facility(f: Facility) -> pb::Facility {
    pb::Facility {
        id: f.id.to_string(),
        municipality_code: f.municipality_code,
        name: f.name,
        description: f.description,
        category: f.category,
        activities: f.activities,
        location: f.location.map(|p| pb::LatLon { lat: p.lat, lon: p.lon }),
        address: Some(pb::Address { street: f.address.street, postal_code: f.address.postal_code, locality: f.address.locality }),
        ownership: ownership(f.ownership) as i32,
        accessibility: f.accessibility.into_iter().map(|a| accessibility(a) as i32).collect(),
        contact: Some(contact(f.contact)),
        units: f
            .units
            .into_iter()
            .map(|u| pb::Unit {
                id: u.id.to_string(),
                name: u.name,
                category: u.category,
                capacity: u.capacity,
                area_m2: u.area_m2,
                bookable: u.bookable,
            })
            .collect(),
        booking_vendor: f.booking_vendor.map(|v| pb::VendorRef { vendor_id: v.vendor_id, external_ref: v.external_ref }),
        version: f.version,
        created_at: Some(timestamp(f.created_at)),
        updated_at: Some(timestamp(f.updated_at)),
        location_locked: Some(f.location_provenance.locked),
        location_provenance: Some(provenance(f.location_provenance)),
    }
}

fn provenance(p: LocationProvenance) -> pb::LocationProvenance {
    pb::LocationProvenance {
        source: match p.source {
            LocationSource::Manual => pb::LocationSource::Manual,
            LocationSource::Geodata => pb::LocationSource::Geodata,
        } as i32,
        locked: p.locked,
        source_feature_id: p.source_feature_id.unwrap_or_default(),
        match_quality: match p.match_quality {
            None => pb::MatchQuality::Unspecified,
            Some(MatchQuality::Exact) => pb::MatchQuality::Exact,
            Some(MatchQuality::Normalised) => pb::MatchQuality::Normalised,
        } as i32,
        synced_at: p.synced_at.map(timestamp),
        distance_moved_m: p.distance_moved_m,
    }
}

/// Proto → the core's input. Enum values that are unset or unknown are violations.
pub fn facility_input(f: pb::Facility) -> Result<FacilityInput, Error> {
    let mut v = Violations::default();
    let own = match pb::Ownership::try_from(f.ownership) {
        Ok(pb::Ownership::Municipal) => Ownership::Municipal,
        Ok(pb::Ownership::RentedByMunicipality) => Ownership::RentedByMunicipality,
        Ok(pb::Ownership::Other) => Ownership::Other,
        Ok(pb::Ownership::Unspecified) => {
            v.add("ownership", "required", "must be set: OWNERSHIP_MUNICIPAL, OWNERSHIP_RENTED_BY_MUNICIPALITY or OWNERSHIP_OTHER");
            Ownership::Other
        }
        Err(_) => {
            v.add("ownership", "unknown_enum_value", format!("{} is not an Ownership value", f.ownership));
            Ownership::Other
        }
    };
    let mut access = Vec::new();
    for (i, a) in f.accessibility.iter().enumerate() {
        match pb::Accessibility::try_from(*a) {
            Ok(pb::Accessibility::Unspecified) => {
                v.add(format!("accessibility[{i}]"), "required", "ACCESSIBILITY_UNSPECIFIED is not an attribute")
            }
            Ok(a) => access.push(match a {
                pb::Accessibility::StepFreeEntrance => Accessibility::StepFreeEntrance,
                pb::Accessibility::AccessibleToilet => Accessibility::AccessibleToilet,
                pb::Accessibility::HearingLoop => Accessibility::HearingLoop,
                pb::Accessibility::AccessibleParking => Accessibility::AccessibleParking,
                _ => Accessibility::AccessibleChangingRoom,
            }),
            Err(_) => v.add(format!("accessibility[{i}]"), "unknown_enum_value", format!("{a} is not an Accessibility value")),
        }
    }
    let mut units = Vec::with_capacity(f.units.len());
    for (i, u) in f.units.into_iter().enumerate() {
        let id = match non_empty(&u.id) {
            None => None,
            Some(s) => match Uuid::parse_str(s.trim()) {
                Ok(id) => Some(id),
                Err(_) => {
                    v.add(format!("units[{i}].id"), "format", format!("'{s}' is not a UUID"));
                    None
                }
            },
        };
        units.push(UnitInput { id, name: u.name, category: u.category, capacity: u.capacity, area_m2: u.area_m2, bookable: u.bookable });
    }
    v.finish()?;
    let address = f.address.unwrap_or_default();
    Ok(FacilityInput {
        municipality_code: f.municipality_code,
        name: f.name,
        description: f.description,
        category: f.category,
        activities: f.activities,
        location: f.location.map(|p| LatLon { lat: p.lat, lon: p.lon }),
        location_locked: f.location_locked,
        address: Address { street: address.street, postal_code: address.postal_code, locality: address.locality },
        ownership: own,
        accessibility: access,
        contact: contact_in(f.contact),
        units,
    })
}

/// The writable field paths of a facility (proto names) for update masks.
pub const FACILITY_PATHS: &[&str] = &[
    "municipality_code",
    "name",
    "description",
    "category",
    "activities",
    "location",
    "location_locked",
    "address",
    "address.street",
    "address.postal_code",
    "address.locality",
    "ownership",
    "accessibility",
    "contact",
    "contact.email",
    "contact.phone",
    "contact.website",
    "units",
];

/// Checks mask paths against the writable ones; empty means all.
fn check_mask(paths: &[String], allowed: &[&str]) -> Result<(), Error> {
    let mut v = Violations::default();
    for (i, p) in paths.iter().enumerate() {
        if !allowed.contains(&p.as_str()) {
            v.add(
                format!("updateMask.paths[{i}]"),
                "unknown_field",
                format!("'{p}' is not a writable field; use one of: {}", allowed.join(", ")),
            );
        }
    }
    v.finish()
}

/// The facility message after applying `new`'s masked fields onto `current` (the whole of `new`
/// if the mask is empty): only the named fields of the request are read, so a partial message
/// with a mask is enough (AIP-134).
pub fn mask_facility(current: pb::Facility, new: pb::Facility, paths: &[String]) -> Result<pb::Facility, Error> {
    check_mask(paths, FACILITY_PATHS)?;
    if paths.is_empty() {
        return Ok(new);
    }
    let mut out = current;
    let (address, contact) = (new.address.clone().unwrap_or_default(), new.contact.clone().unwrap_or_default());
    for p in paths {
        match p.as_str() {
            "municipality_code" => out.municipality_code = new.municipality_code.clone(),
            "name" => out.name = new.name.clone(),
            "description" => out.description = new.description.clone(),
            "category" => out.category = new.category.clone(),
            "activities" => out.activities = new.activities.clone(),
            "location" => out.location = new.location,
            "location_locked" => out.location_locked = new.location_locked,
            "address" => out.address = new.address.clone(),
            "address.street" => out.address.get_or_insert_default().street = address.street.clone(),
            "address.postal_code" => out.address.get_or_insert_default().postal_code = address.postal_code.clone(),
            "address.locality" => out.address.get_or_insert_default().locality = address.locality.clone(),
            "ownership" => out.ownership = new.ownership,
            "accessibility" => out.accessibility = new.accessibility.clone(),
            "contact" => out.contact = new.contact.clone(),
            "contact.email" => out.contact.get_or_insert_default().email = contact.email.clone(),
            "contact.phone" => out.contact.get_or_insert_default().phone = contact.phone.clone(),
            "contact.website" => out.contact.get_or_insert_default().website = contact.website.clone(),
            _ => out.units = new.units.clone(),
        }
    }
    Ok(out)
}

// ---- associations ----

fn registration_status(s: RegistrationStatus) -> pb::RegistrationStatus {
    match s {
        RegistrationStatus::Pending => pb::RegistrationStatus::Pending,
        RegistrationStatus::Approved => pb::RegistrationStatus::Approved,
        RegistrationStatus::Rejected => pb::RegistrationStatus::Rejected,
        RegistrationStatus::NeedsCompletion => pb::RegistrationStatus::NeedsCompletion,
        RegistrationStatus::Withdrawn => pb::RegistrationStatus::Withdrawn,
    }
}

fn registration_event_kind(k: RegistrationEventKind) -> pb::RegistrationEventKind {
    match k {
        RegistrationEventKind::Submitted => pb::RegistrationEventKind::RegistrationEventSubmitted,
        RegistrationEventKind::Resubmitted => pb::RegistrationEventKind::RegistrationEventResubmitted,
        RegistrationEventKind::Approved => pb::RegistrationEventKind::RegistrationEventApproved,
        RegistrationEventKind::Rejected => pb::RegistrationEventKind::RegistrationEventRejected,
        RegistrationEventKind::CompletionRequested => pb::RegistrationEventKind::RegistrationEventCompletionRequested,
        RegistrationEventKind::Withdrawn => pb::RegistrationEventKind::RegistrationEventWithdrawn,
    }
}

/// Core → proto.
pub fn municipal_registration(r: MunicipalRegistration) -> pb::MunicipalRegistration {
    pb::MunicipalRegistration {
        municipality_code: r.municipality_code,
        status: registration_status(r.status) as i32,
        message: r.message,
        submitted_at: Some(timestamp(r.submitted_at)),
        decided_at: r.decided_at.map(timestamp),
    }
}

/// Core → proto.
pub fn registration_detail(d: RegistrationDetail) -> pb::RegistrationDetail {
    pb::RegistrationDetail {
        registration: Some(municipal_registration(d.registration)),
        events: d
            .events
            .into_iter()
            .map(|e| pb::RegistrationEvent {
                kind: registration_event_kind(e.kind) as i32,
                at: Some(timestamp(e.at)),
                message: e.message,
                by: e.by,
            })
            .collect(),
    }
}

/// Core → proto.
pub fn inbox_item(i: InboxItem) -> pb::InboxItem {
    pb::InboxItem {
        association_id: i.association_id.to_string(),
        org_number: i.org_number,
        name: i.name,
        version: i.version,
        registration: Some(municipal_registration(i.registration)),
    }
}

/// Core → proto.
pub fn representative(r: Representative) -> pb::Representative {
    pb::Representative { id: r.id.to_string(), name: r.name, added_at: Some(timestamp(r.added_at)), is_you: r.is_you }
}

/// Core → proto.
pub fn member_statistics_report(r: MemberStatisticsReport) -> pb::MemberStatisticsReport {
    pb::MemberStatisticsReport {
        year: r.year,
        version: r.version,
        counts: member_counts(r.counts),
        total: r.total,
        reported_at: Some(timestamp(r.reported_at)),
        reported_by: r.reported_by,
        current: r.current,
    }
}

fn member_counts(counts: Vec<MemberCount>) -> Vec<pb::MemberCount> {
    counts
        .into_iter()
        .map(|c| pb::MemberCount { age_band: age_band(c.age_band) as i32, gender: gender(c.gender) as i32, count: c.count })
        .collect()
}

fn member_statistics(s: MemberStatistics) -> pb::MemberStatistics {
    pb::MemberStatistics { year: s.year, counts: member_counts(s.counts) }
}

/// Proto → core registration statuses of an inbox (unspecified is refused).
pub fn statuses(list: &[i32]) -> Result<Vec<RegistrationStatus>, Error> {
    let mut out = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        match status_filter(*s) {
            Ok(Some(x)) => out.push(x),
            Ok(None) => return Err(Error::invalid(format!("statuses[{i}]"), "required", "must be a registration status")),
            Err(_) => {
                return Err(Error::invalid(
                    format!("statuses[{i}]"),
                    "unknown_enum_value",
                    format!("{s} is not a RegistrationStatus value"),
                ));
            }
        }
    }
    Ok(out)
}

/// Proto → core registration status filter (unspecified = no filter).
pub fn status_filter(s: i32) -> Result<Option<RegistrationStatus>, Error> {
    match pb::RegistrationStatus::try_from(s) {
        Ok(pb::RegistrationStatus::Unspecified) => Ok(None),
        Ok(pb::RegistrationStatus::Pending) => Ok(Some(RegistrationStatus::Pending)),
        Ok(pb::RegistrationStatus::Approved) => Ok(Some(RegistrationStatus::Approved)),
        Ok(pb::RegistrationStatus::Rejected) => Ok(Some(RegistrationStatus::Rejected)),
        Ok(pb::RegistrationStatus::NeedsCompletion) => Ok(Some(RegistrationStatus::NeedsCompletion)),
        Ok(pb::RegistrationStatus::Withdrawn) => Ok(Some(RegistrationStatus::Withdrawn)),
        Err(_) => Err(Error::invalid("status", "unknown_enum_value", format!("{s} is not a RegistrationStatus value"))),
    }
}

pub(crate) fn age_band(b: AgeBand) -> pb::AgeBand {
    match b {
        AgeBand::Age0To6 => pb::AgeBand::AgeBand0To6,
        AgeBand::Age7To12 => pb::AgeBand::AgeBand7To12,
        AgeBand::Age13To20 => pb::AgeBand::AgeBand13To20,
        AgeBand::Age21To25 => pb::AgeBand::AgeBand21To25,
        AgeBand::Age26To64 => pb::AgeBand::AgeBand26To64,
        AgeBand::Age65Plus => pb::AgeBand::AgeBand65Plus,
    }
}

fn gender(g: Gender) -> pb::Gender {
    match g {
        Gender::Female => pb::Gender::Female,
        Gender::Male => pb::Gender::Male,
        Gender::Other => pb::Gender::Other,
    }
}

/// Core → proto.
pub fn association(a: Association) -> pb::Association {
    pb::Association {
        id: a.id.to_string(),
        org_number: a.org_number,
        name: a.name,
        municipality_code: a.municipality_code,
        activities: a.activities,
        contact: Some(contact(a.contact)),
        member_statistics: a.member_statistics.map(member_statistics),
        member_statistics_by_year: a.member_statistics_by_year.unwrap_or_default().into_iter().map(member_statistics).collect(),
        registrations: a.registrations.into_iter().map(municipal_registration).collect(),
        postal_address: a.postal_address.map(|p| pb::PostalAddress {
            care_of: p.care_of,
            street: p.street,
            postal_code: p.postal_code,
            city: p.city,
        }),
        association_type: a.association_type,
        federations: a.federations,
        founded_year: a.founded_year,
        status: match a.status {
            AssociationStatus::Active => pb::AssociationStatus::Active,
            AssociationStatus::Dissolved => pb::AssociationStatus::Dissolved,
        } as i32,
        registration: Some(pb::Registration {
            status: registration_status(a.registration.status) as i32,
            message: a.registration.message,
            decided_at: a.registration.decided_at.map(timestamp),
        }),
        contact_persons: a
            .contact_persons
            .unwrap_or_default()
            .into_iter()
            .map(|p| pb::ContactPerson { name: p.name, role: p.role, email: p.email, phone: p.phone })
            .collect(),
        version: a.version,
        created_at: Some(timestamp(a.created_at)),
        updated_at: Some(timestamp(a.updated_at)),
    }
}

/// Proto → the core's input.
pub fn association_input(a: pb::Association) -> Result<AssociationInput, Error> {
    let mut v = Violations::default();
    let member_statistics = a
        .member_statistics
        .map(|s| MemberStatistics { year: s.year, counts: member_counts_in(&mut v, "memberStatistics.counts", &s.counts) });
    let status = match pb::AssociationStatus::try_from(a.status) {
        Ok(pb::AssociationStatus::Unspecified) => None,
        Ok(pb::AssociationStatus::Active) => Some(AssociationStatus::Active),
        Ok(pb::AssociationStatus::Dissolved) => Some(AssociationStatus::Dissolved),
        Err(_) => {
            v.add("status", "unknown_enum_value", format!("{} is not an AssociationStatus value", a.status));
            None
        }
    };
    v.finish()?;
    Ok(AssociationInput {
        org_number: a.org_number,
        name: a.name,
        municipality_code: a.municipality_code,
        activities: a.activities,
        contact: contact_in(a.contact),
        member_statistics,
        contact_persons: a
            .contact_persons
            .into_iter()
            .map(|p| ContactPerson { name: p.name, role: p.role, email: p.email, phone: p.phone })
            .collect(),
        postal_address: a.postal_address.map(|p| PostalAddress {
            care_of: p.care_of,
            street: p.street,
            postal_code: p.postal_code,
            city: p.city,
        }),
        association_type: a.association_type,
        federations: a.federations,
        founded_year: a.founded_year,
        status,
    })
}

/// Proto → core member counts, naming fields under `prefix`.
pub fn member_counts_in(v: &mut Violations, prefix: &str, counts: &[pb::MemberCount]) -> Vec<MemberCount> {
    counts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let band = match pb::AgeBand::try_from(c.age_band) {
                Ok(pb::AgeBand::AgeBand0To6) => Some(AgeBand::Age0To6),
                Ok(pb::AgeBand::AgeBand7To12) => Some(AgeBand::Age7To12),
                Ok(pb::AgeBand::AgeBand13To20) => Some(AgeBand::Age13To20),
                Ok(pb::AgeBand::AgeBand21To25) => Some(AgeBand::Age21To25),
                Ok(pb::AgeBand::AgeBand26To64) => Some(AgeBand::Age26To64),
                Ok(pb::AgeBand::AgeBand65Plus) => Some(AgeBand::Age65Plus),
                Ok(pb::AgeBand::Unspecified) => {
                    v.add(format!("{prefix}[{i}].ageBand"), "required", "must be set");
                    None
                }
                Err(_) => {
                    v.add(format!("{prefix}[{i}].ageBand"), "unknown_enum_value", format!("{} is not an AgeBand value", c.age_band));
                    None
                }
            };
            let g = match pb::Gender::try_from(c.gender) {
                Ok(pb::Gender::Female) => Some(Gender::Female),
                Ok(pb::Gender::Male) => Some(Gender::Male),
                Ok(pb::Gender::Other) => Some(Gender::Other),
                Ok(pb::Gender::Unspecified) => {
                    v.add(format!("{prefix}[{i}].gender"), "required", "must be set");
                    None
                }
                Err(_) => {
                    v.add(format!("{prefix}[{i}].gender"), "unknown_enum_value", format!("{} is not a Gender value", c.gender));
                    None
                }
            };
            Some(MemberCount { age_band: band?, gender: g?, count: c.count })
        })
        .collect()
}

/// The writable field paths of an association (proto names) for update masks.
pub const ASSOCIATION_PATHS: &[&str] = &[
    "org_number",
    "name",
    "municipality_code",
    "activities",
    "contact",
    "contact.email",
    "contact.phone",
    "contact.website",
    "member_statistics",
    "contact_persons",
    "postal_address",
    "association_type",
    "federations",
    "founded_year",
    "status",
];

/// The association message after applying `new`'s masked fields onto `current` (the whole of
/// `new` if the mask is empty): only the named fields of the request are read, so a partial
/// message with a mask is enough (AIP-134).
pub fn mask_association(current: pb::Association, new: pb::Association, paths: &[String]) -> Result<pb::Association, Error> {
    check_mask(paths, ASSOCIATION_PATHS)?;
    if paths.is_empty() {
        return Ok(new);
    }
    let mut out = current;
    let contact = new.contact.clone().unwrap_or_default();
    for p in paths {
        match p.as_str() {
            "org_number" => out.org_number = new.org_number.clone(),
            "name" => out.name = new.name.clone(),
            "municipality_code" => out.municipality_code = new.municipality_code.clone(),
            "activities" => out.activities = new.activities.clone(),
            "contact" => out.contact = new.contact.clone(),
            "contact.email" => out.contact.get_or_insert_default().email = contact.email.clone(),
            "contact.phone" => out.contact.get_or_insert_default().phone = contact.phone.clone(),
            "contact.website" => out.contact.get_or_insert_default().website = contact.website.clone(),
            "member_statistics" => out.member_statistics = new.member_statistics.clone(),
            "postal_address" => out.postal_address = new.postal_address.clone(),
            "association_type" => out.association_type = new.association_type.clone(),
            "federations" => out.federations = new.federations.clone(),
            "founded_year" => out.founded_year = new.founded_year,
            "status" => out.status = new.status,
            _ => out.contact_persons = new.contact_persons.clone(),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_read_only_the_named_fields_of_the_request() {
        let current = pb::Facility {
            municipality_code: "1881".into(),
            name: "Old".into(),
            description: "d".into(),
            category: "sports_hall".into(),
            address: Some(pb::Address { street: "S 1".into(), postal_code: "69231".into(), locality: "Kumla".into() }),
            ownership: pb::Ownership::Municipal as i32,
            ..Default::default()
        };
        // A partial request: only what the mask names is set.
        let new = pb::Facility {
            name: "New".into(),
            address: Some(pb::Address { locality: "Hallsberg".into(), ..Default::default() }),
            ..Default::default()
        };
        let out = mask_facility(current.clone(), new.clone(), &["name".into(), "address.locality".into()]).unwrap();
        assert_eq!((out.name.as_str(), out.description.as_str(), out.ownership), ("New", "d", pb::Ownership::Municipal as i32));
        assert_eq!(out.address, Some(pb::Address { street: "S 1".into(), postal_code: "69231".into(), locality: "Hallsberg".into() }));
        assert_eq!(mask_facility(current.clone(), new.clone(), &[]).unwrap(), new);
        let Err(Error::Invalid(v)) = mask_facility(current, new, &["id".into()]) else { panic!() };
        assert_eq!((v[0].field.as_str(), v[0].rule), ("updateMask.paths[0]", "unknown_field"));
        let a = pb::Association { name: "Old".into(), org_number: "802000-0000".into(), ..Default::default() };
        let out = mask_association(a, pb::Association { name: "Ny".into(), ..Default::default() }, &["name".into()]).unwrap();
        assert_eq!((out.name.as_str(), out.org_number.as_str()), ("Ny", "802000-0000"));
    }

    #[test]
    fn unset_and_unknown_enums_are_violations() {
        let f = pb::Facility { ownership: 0, accessibility: vec![1, 0, 99], ..Default::default() };
        let Err(Error::Invalid(v)) = facility_input(f) else { panic!() };
        let got: Vec<_> = v.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(got, [("ownership", "required"), ("accessibility[1]", "required"), ("accessibility[2]", "unknown_enum_value")]);
        let f = pb::Facility { ownership: 42, ..Default::default() };
        let Err(Error::Invalid(v)) = facility_input(f) else { panic!() };
        assert_eq!(v[0].rule, "unknown_enum_value");
    }
}
