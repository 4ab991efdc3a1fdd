//! Bookings made through the registry: a resident books a unit (or sends a booking request) at
//! the registry, which passes it on to the vendor that books the unit (vendor.v1
//! `CreateBooking`). The registry owns the checks before anything is sent; the vendor owns the
//! booking rules and the booking. The registry keeps no copy of the customer.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::error::{Error, Result};
use crate::model::Vendor;
use crate::validate::Violations;

/// The longest booking asked for through the registry.
pub const MAX_BOOKING_HOURS: i64 = 24;

/// Booked directly or asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BookingMode {
    /// Confirmed at once (the time must be free).
    Direct,
    /// A booking request that the municipality's case officer decides.
    Request,
}

/// Who books; prices and rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// A private person (privatperson).
    PrivatePerson,
    /// An association (förening).
    Association,
    /// A company (företag).
    Company,
}

/// The person or organisation booking. Personal data: passed to the vendor, never stored here.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerInput {
    /// Customer type.
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Name of the person or organisation (1–200 characters).
    pub name: String,
    /// E-mail for the confirmation.
    pub email: String,
    /// Phone number (optional; digits, spaces, `+`, `-`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Organisation number, required for associations and companies.
    #[serde(default)]
    pub org_number: Option<String>,
}

/// A booking asked for through the registry.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingInput {
    /// The facility.
    pub facility_id: Uuid,
    /// The unit, one of the facility's bookable units.
    pub unit_id: Uuid,
    /// Start (RFC 3339).
    pub start: DateTime<Utc>,
    /// End (RFC 3339); after `start`, at most 24 hours later.
    pub end: DateTime<Utc>,
    /// `direct` or `request`.
    pub mode: BookingMode,
    /// Who books.
    pub customer: CustomerInput,
    /// Optional activity code, e.g. `floorball`.
    #[serde(default)]
    pub activity: Option<String>,
    /// Expected participants (1–10000).
    #[serde(default)]
    pub participants: Option<i32>,
    /// A message to the case officer (booking requests; at most 1000 characters).
    #[serde(default)]
    pub message: Option<String>,
}

/// A checked booking and where it goes.
#[derive(Debug, Clone)]
pub struct BookingTarget {
    /// The input, trimmed and normalised (organisation number as ten digits).
    pub input: BookingInput,
    /// The idempotency key as the caller sent it.
    pub idempotency_key: String,
    /// The key sent to the vendor: the caller's key within the caller's scope
    /// ([`vendor_idempotency_key`]).
    pub vendor_idempotency_key: String,
    /// The vendor that books the unit.
    pub vendor: Vendor,
    /// The vendor's reference of the unit.
    pub unit_ref: String,
    /// The facility's name and municipality code, for the answer.
    pub facility_name: String,
    /// The unit's name.
    pub unit_name: String,
}

/// Whether the vendor said (in its capabilities) that it takes this kind of booking through
/// vendor.v1.
pub fn vendor_takes(vendor: &Vendor, mode: BookingMode) -> bool {
    let wanted = match mode {
        BookingMode::Direct => "OPERATION_CREATE_BOOKING",
        BookingMode::Request => "OPERATION_BOOKING_REQUEST",
    };
    vendor.protocol == crate::model::VendorProtocol::Grpc
        && vendor
            .capabilities
            .as_ref()
            .and_then(|c| c.get("operations"))
            .and_then(|o| o.as_array())
            .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some(wanted)))
}

/// Checks an idempotency key: 16–90 characters of letters, digits and `-_.:` (long enough that
/// nobody guesses another resident's, short enough for the vendor's limit once prefixed).
pub fn check_idempotency_key(v: &mut Violations, key: Option<&str>) {
    match key {
        None => v.add("Idempotency-Key", "required", "send an Idempotency-Key header (a UUID is a good choice)"),
        Some(k) if !(16..=90).contains(&k.len()) => v.add("Idempotency-Key", "length", "must be 16–90 characters"),
        Some(k) if !k.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) => {
            v.add("Idempotency-Key", "format", "may contain only letters, digits and - _ . :")
        }
        Some(_) => {}
    }
}

/// Whose idempotency keys a caller's keys are: a caller with credentials by its principal id (an
/// API key's, a signed-in person's); a resident without credentials by the customer's e-mail
/// address, the one thing that ties a booking to its resident (the vendor sends its
/// confirmation there). Two callers never share a scope, so one never gets the other's booking
/// back by sending the same key.
pub fn idempotency_scope(p: &Principal, customer_email: &str) -> String {
    if p.role == auth::Role::Anonymous {
        let email = customer_email.trim().to_lowercase();
        format!("anonymous:{}", hex(&Sha256::digest(email.as_bytes())))
    } else {
        format!("principal:{}", p.id)
    }
}

/// The idempotency key the registry sends the vendor for `key` of a caller in `scope`:
/// `registry:` and 64 hex digits, a hash of both. The registry is one caller of each vendor
/// for all its callers: the same key of two callers must be two keys there, and the hash says
/// nothing about who sent it.
pub fn vendor_idempotency_key(scope: &str, key: &str) -> String {
    let digest =
        Sha256::new().chain_update(b"registry idempotency key v1\0").chain_update(scope).chain_update(b"\0").chain_update(key).finalize();
    format!("registry:{}", hex(&digest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check(input: &mut BookingInput, key: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    let mut v = Violations::default();
    check_idempotency_key(&mut v, key);
    if input.end <= input.start {
        v.add("end", "out_of_range", "must be after start");
    } else if input.end - input.start > chrono::Duration::hours(MAX_BOOKING_HOURS) {
        v.add("end", "out_of_range", format!("a booking is at most {MAX_BOOKING_HOURS} hours"));
    }
    if input.end <= now {
        v.add("start", "out_of_range", "the time has passed");
    }
    let c = &mut input.customer;
    c.name = v.required_text("customer.name", &c.name, 200);
    match v.email("customer.email", Some(&c.email)) {
        Some(e) => c.email = e,
        None if c.email.trim().is_empty() => v.add("customer.email", "required", "the booking system sends its confirmation here"),
        None => {}
    }
    c.phone = v.phone("customer.phone", c.phone.as_deref());
    match (c.customer_type, c.org_number.as_deref().map(str::trim).filter(|o| !o.is_empty())) {
        (CustomerType::PrivatePerson, Some(_)) => {
            v.add("customer.orgNumber", "not_allowed", "only associations and companies give an organisation number")
        }
        (CustomerType::PrivatePerson, None) => c.org_number = None,
        (_, None) => v.add("customer.orgNumber", "required", "associations and companies give their organisation number"),
        (_, Some(o)) => c.org_number = Some(crate::orgnr::check(&mut v, "customer.orgNumber", o)),
    }
    if let Some(a) = input.activity.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        if !crate::codes::is_activity(a) {
            v.add("activity", "unknown_code", format!("'{a}' is not an activity code"));
        }
        input.activity = Some(a.to_string());
    } else {
        input.activity = None;
    }
    if let Some(n) = input.participants
        && !(1..=10_000).contains(&n)
    {
        v.add("participants", "out_of_range", "must be between 1 and 10000");
    }
    if let Some(m) = input.message.as_deref() {
        let m = v.optional_multiline("message", m, 1000);
        input.message = Some(m).filter(|m| !m.is_empty());
    }
    v.finish()
}

impl Registry {
    /// Checks a booking asked for through the registry and finds the vendor and the unit
    /// reference it goes to. Nothing is sent or written here.
    pub async fn prepare_booking(&self, p: &Principal, mut input: BookingInput, idempotency_key: Option<&str>) -> Result<BookingTarget> {
        auth::authorize(p, Action::BookUnit)?;
        check(&mut input, idempotency_key, self.now())?;
        let facility = self.get_facility(p, input.facility_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid("facilityId", "not_found", format!("facility {} was not found", input.facility_id)),
            e => e,
        })?;
        let Some(unit) = facility.units.iter().find(|u| u.id == input.unit_id) else {
            return Err(Error::invalid("unitId", "not_found", format!("the facility has no unit {}", input.unit_id)));
        };
        let not_online =
            |why: &str| Error::Conflict { field: Some("unitId".into()), rule: "not_bookable_online", message: why.to_string() };
        if !unit.bookable {
            return Err(not_online("the unit is not bookable"));
        }
        let system = Principal::system("system:bookings");
        let mapping = self.vendor_units(&system, &[facility.id]).await?;
        let Some(m) = mapping.into_iter().find(|m| m.unit_id == unit.id) else {
            return Err(not_online("the unit is not booked through a booking system connected to the registry; contact the municipality"));
        };
        let Some(vendor) = self.vendors_by_ids(&system, &[m.vendor_id]).await?.into_iter().next() else {
            return Err(not_online("the unit's booking system is not in the vendor directory"));
        };
        if !vendor_takes(&vendor, input.mode) {
            return Err(not_online(match input.mode {
                BookingMode::Direct => {
                    "the unit's booking system does not take direct bookings through the registry; use its own booking page"
                }
                BookingMode::Request => {
                    "the unit's booking system does not take booking requests through the registry; use its own booking page"
                }
            }));
        }
        let (facility_name, unit_name) = (facility.name.clone(), unit.name.clone());
        let idempotency_key = idempotency_key.unwrap_or_default().to_string();
        Ok(BookingTarget {
            vendor_idempotency_key: vendor_idempotency_key(&idempotency_scope(p, &input.customer.email), &idempotency_key),
            input,
            idempotency_key,
            vendor,
            unit_ref: m.external_ref,
            facility_name,
            unit_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests' "now": a Saturday evening in Advent, named so no expectation depends on the run date.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-19T18:00:00+01:00").unwrap().with_timezone(&Utc)
    }

    fn input() -> BookingInput {
        let start = now() + chrono::Duration::days(3);
        BookingInput {
            facility_id: Uuid::nil(),
            unit_id: Uuid::nil(),
            start,
            end: start + chrono::Duration::hours(1),
            mode: BookingMode::Direct,
            customer: CustomerInput {
                customer_type: CustomerType::PrivatePerson,
                name: " Kim Svensson ".into(),
                email: "kim@example.se".into(),
                phone: Some("070-123 45 67".into()),
                org_number: None,
            },
            activity: Some("floorball".into()),
            participants: Some(12),
            message: None,
        }
    }

    fn fields(r: Result<()>) -> Vec<(String, &'static str)> {
        match r {
            Err(Error::Invalid(v)) => v.into_iter().map(|v| (v.field, v.rule)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_booking_is_normalised() {
        let mut i = input();
        check(&mut i, Some("0f9e6c1e-8a5b-4c4e-9b1a-2f0c7d9e8a11"), now()).unwrap();
        assert_eq!(i.customer.name, "Kim Svensson");
        let mut a = input();
        a.customer.customer_type = CustomerType::Association;
        a.customer.phone = None;
        a.customer.org_number = Some("802000-0082".into());
        check(&mut a, Some("0f9e6c1e-8a5b-4c4e-9b1a-2f0c7d9e8a11"), now()).unwrap();
        assert_eq!(a.customer.org_number.as_deref(), Some("8020000082"));
    }

    #[test]
    fn a_key_is_its_callers_own() {
        let key = "0f9e6c1e-8a5b-4c4e-9b1a-2f0c7d9e8a11";
        let anonymous = Principal::anonymous();
        let (a, b) = (Principal::editor("key:3f9a2c1d", "1880"), Principal::with_role("key:77aa0b12", auth::Role::Admin));
        let sent = |p: &Principal, email: &str| vendor_idempotency_key(&idempotency_scope(p, email), key);
        // The same caller, the same key: the same key at the vendor, whatever the customer.
        assert_eq!(sent(&a, "kim@example.se"), sent(&a, "alex@example.se"));
        // Another caller's same key is another key.
        assert_ne!(sent(&a, "kim@example.se"), sent(&b, "kim@example.se"));
        assert_ne!(sent(&a, "kim@example.se"), sent(&anonymous, "kim@example.se"));
        // Residents without credentials, by their e-mail (as addresses compare: case aside).
        assert_eq!(sent(&anonymous, "Kim@Example.se "), sent(&anonymous, "kim@example.se"));
        assert_ne!(sent(&anonymous, "kim@example.se"), sent(&anonymous, "alex@example.se"));
        // Within the vendor's 100 characters, and nothing of the caller or the key shows.
        let k = sent(&anonymous, "kim@example.se");
        assert_eq!(k.len(), "registry:".len() + 64);
        assert!(!k.contains("kim") && !k.contains(key) && !sent(&a, "").contains("3f9a2c1d"), "{k}");
        // A scope and key never run together into another's: the parts are separated.
        assert_ne!(vendor_idempotency_key("principal:key:1", "2abc"), vendor_idempotency_key("principal:key:12", "abc"));
    }

    #[test]
    fn every_broken_rule_is_named() {
        let mut i = input();
        i.end = i.start - chrono::Duration::minutes(5);
        i.customer.name = " ".into();
        i.customer.email = "not an address".into();
        i.customer.phone = Some("call me".into());
        i.customer.org_number = Some("802000-0082".into());
        i.activity = Some("quidditch".into());
        i.participants = Some(0);
        i.message = Some("x".repeat(1001));
        let got = fields(check(&mut i, Some("short"), now()));
        let want = [
            ("Idempotency-Key", "length"),
            ("end", "out_of_range"),
            ("customer.name", "required"),
            ("customer.email", "format"),
            ("customer.phone", "format"),
            ("customer.orgNumber", "not_allowed"),
            ("activity", "unknown_code"),
            ("participants", "out_of_range"),
            ("message", "max_length"),
        ];
        assert_eq!(got, want.map(|(f, r)| (f.to_string(), r)));
        let mut c = input();
        c.customer.customer_type = CustomerType::Company;
        c.end = c.start + chrono::Duration::hours(25);
        assert_eq!(
            fields(check(&mut c, None, now())),
            [("Idempotency-Key".into(), "required"), ("end".into(), "out_of_range"), ("customer.orgNumber".into(), "required")]
        );
        let mut past = input();
        past.start = now() - chrono::Duration::hours(1);
        past.end = past.start + chrono::Duration::hours(1);
        assert_eq!(fields(check(&mut past, Some("a-key-of-sixteen-chars"), now())), [("start".into(), "out_of_range")], "ends now");
        let mut running = past.clone();
        running.end += chrono::Duration::minutes(1);
        assert!(check(&mut running, Some("a-key-of-sixteen-chars"), now()).is_ok(), "still running: not past");
        assert_eq!(fields(check(&mut input(), Some("bad key with spaces!"), now())), [("Idempotency-Key".into(), "format")]);
    }
}
