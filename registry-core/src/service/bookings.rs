//! Bookings made through the registry: a resident books a unit (or sends a booking request) at
//! the registry, which passes it on to the vendor that books the unit (vendor.v1
//! `CreateBooking`). The registry owns the checks before anything is sent; the vendor owns the
//! booking rules and the booking. The registry keeps no copy of the customer.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::db::bookings::{self as store, BookingRow};
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
    /// The association booked for (customer type `association`): the caller must represent
    /// it, and its registration must be approved in the unit's municipality. Its organisation
    /// number is the customer's.
    #[serde(default)]
    pub association_id: Option<Uuid>,
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
    /// Who books: the signed-in person's reference.
    pub person_ref: String,
    /// The per-vendor pseudonym sent as the customer reference (vendor.v1.1 §14).
    pub customer_reference: String,
    /// Whether the registry verified the association (it always has, for association bookings).
    pub association_verified: bool,
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

/// Whether the vendor lists a vendor.v1 operation (by its proto name, e.g.
/// `OPERATION_LIST_BOOKINGS`) in its capabilities.
pub fn vendor_offers(vendor: &Vendor, operation: &str) -> bool {
    vendor.protocol == crate::model::VendorProtocol::Grpc
        && vendor
            .capabilities
            .as_ref()
            .and_then(|c| c.get("operations"))
            .and_then(|o| o.as_array())
            .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some(operation)))
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
        // An association's number is the registry's, from the association booked for.
        (CustomerType::Association, None) => {}
        (_, None) => v.add("customer.orgNumber", "required", "associations and companies give their organisation number"),
        (_, Some(o)) => c.org_number = Some(crate::orgnr::check(&mut v, "customer.orgNumber", o)),
    }
    match (c.customer_type, input.association_id) {
        (CustomerType::Association, None) => {
            v.add("associationId", "required", "an association booking names the association (one you represent)")
        }
        (CustomerType::PrivatePerson | CustomerType::Company, Some(_)) => {
            v.add("associationId", "not_allowed", "only an association booking names an association")
        }
        _ => {}
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

/// Whether the registry stores this status (the database's CHECK admits only these).
pub fn is_stored_status(status: &str) -> bool {
    matches!(status, "confirmed" | "pending" | "needs_completion" | "rejected" | "cancelled")
}

/// Writes a booking notice to the outbox, to the address given at booking (none: nothing is
/// sent). The notice holds the least needed: the unit, the facility, the time and the
/// vendor's message; never who booked.
async fn notify_booking(
    conn: &mut diesel_async::AsyncPgConnection,
    row: &BookingRow,
    kind: crate::notify::Kind,
    event: &str,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(to) = row.notify_email.as_deref() else { return Ok(()) };
    let data = serde_json::json!({
        "event": event,
        "unit": row.unit_name,
        "facility": row.facility_name,
        "start": row.start_at.to_rfc3339(),
        "message": message.unwrap_or_default(),
    });
    crate::notify::enqueue(conn, kind, to, data, now).await?;
    Ok(())
}

/// Whose customer reference: a person's or an association's.
#[derive(Debug, Clone, Copy)]
pub enum CustomerKind<'a> {
    /// A signed-in person, by their person reference.
    Person(&'a str),
    /// An association, by its id.
    Association(Uuid),
}

/// The registry's pseudonym of a customer at one vendor (vendor.v1.1 §14): `p-` or `a-` and
/// 32 hex digits of an HMAC-like hash under the server's pepper of the vendor and the
/// customer. Stable for one customer at one vendor, different at every other vendor, and
/// saying nothing about who it is.
pub fn customer_reference(pepper: &str, vendor: Uuid, who: CustomerKind<'_>) -> String {
    let (prefix, id) = match who {
        CustomerKind::Person(r) => ("p", r.to_string()),
        CustomerKind::Association(a) => ("a", a.to_string()),
    };
    let digest = Sha256::new()
        .chain_update(pepper.as_bytes())
        .chain_update(b"\0vendor customer reference v1\0")
        .chain_update(vendor.as_bytes())
        .chain_update(prefix.as_bytes())
        .chain_update(b"\0")
        .chain_update(id.as_bytes())
        .finalize();
    format!("{prefix}-{}", hex(&digest[..16]))
}

impl Registry {
    /// That `person` represents `association` and that its registration is approved in
    /// `municipality` (where the unit is); its organisation number.
    async fn verify_association(&self, person: &auth::Person, association: Uuid, municipality: &str) -> Result<String> {
        let mut conn = self.conn().await?;
        let a = crate::db::associations::load(&mut conn, association, false)
            .await?
            .ok_or_else(|| Error::invalid("associationId", "not_found", format!("association {association} was not found")))?;
        if !crate::db::associations::represents(&mut conn, association, &person.person_ref).await? {
            return Err(Error::Forbidden(format!("you do not represent the association '{}'; ask one of its representatives", a.name)));
        }
        let approved = a
            .registrations
            .iter()
            .any(|r| r.municipality_code == municipality && r.status == crate::model::association::RegistrationStatus::Approved);
        if !approved {
            return Err(Error::Conflict {
                field: Some("associationId".into()),
                rule: "association_not_approved",
                message: format!(
                    "'{}' is not an approved association in municipality {municipality}, where the unit is; register it there first, or book as a private person",
                    a.name
                ),
            });
        }
        Ok(a.org_number)
    }

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
        let person = p.person.as_ref().ok_or_else(|| Error::Unauthenticated("booking needs signing in".into()))?;
        let customer_reference = match input.association_id {
            Some(association) => {
                let org_number = self.verify_association(person, association, &facility.municipality_code).await?;
                match input.customer.org_number.as_deref() {
                    Some(given) if given != org_number => {
                        return Err(Error::invalid(
                            "customer.orgNumber",
                            "mismatch",
                            "is not the organisation number of the association booked for (leave it out)",
                        ));
                    }
                    _ => input.customer.org_number = Some(org_number),
                }
                customer_reference(&self.pepper, vendor.id, CustomerKind::Association(association))
            }
            None => customer_reference(&self.pepper, vendor.id, CustomerKind::Person(&person.person_ref)),
        };
        let (facility_name, unit_name) = (facility.name.clone(), unit.name.clone());
        let idempotency_key = idempotency_key.unwrap_or_default().to_string();
        Ok(BookingTarget {
            vendor_idempotency_key: vendor_idempotency_key(&idempotency_scope(p, &input.customer.email), &idempotency_key),
            association_verified: input.association_id.is_some(),
            input,
            idempotency_key,
            vendor,
            unit_ref: m.external_ref,
            facility_name,
            unit_name,
            person_ref: person.person_ref.clone(),
            customer_reference,
        })
    }
}

/// A booking made through the registry that the caller may see and change: their own, or one
/// made for an association they represent now (whoever of its representatives made it).
#[derive(Debug, Clone)]
pub struct OwnedBooking {
    /// What the registry knows of it.
    pub row: BookingRow,
    /// Its vendor.
    pub vendor: Vendor,
}

/// Whose bookings "my bookings" are: the signed-in person's and those of the associations they
/// represent, at the vendors these bookings were made at, with the customer references sent.
#[derive(Debug, Clone)]
pub struct MyScope {
    /// The person.
    pub person_ref: String,
    /// The associations they represent.
    pub associations: Vec<Uuid>,
    /// Each vendor with the customer references to list there (the person's, and each
    /// association's).
    pub vendors: Vec<(Vendor, Vec<String>)>,
}

/// The longest window of "my bookings".
pub const MAX_MY_WINDOW_DAYS: i64 = 400;

impl Registry {
    /// Records a booking the vendor made (or finds it again after a replay): its registry id.
    /// `notify_email` is where its notices go.
    pub async fn record_booking(
        &self,
        t: &BookingTarget,
        vendor_booking_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        status: &str,
        status_message: Option<&str>,
    ) -> Result<(Uuid, bool)> {
        let mut conn = self.conn().await?;
        let row = store::NewBooking {
            vendor_id: t.vendor.id,
            vendor_booking_id,
            facility_id: t.input.facility_id,
            unit_id: t.input.unit_id,
            person_ref: &t.person_ref,
            association_id: t.input.association_id,
            customer_reference: &t.customer_reference,
            start,
            end,
            status,
            status_message,
            notify_email: Some(t.input.customer.email.as_str()).filter(|e| !e.is_empty()),
        };
        Ok(store::record(&mut conn, &row).await?)
    }

    /// A booking the caller may see and change. Anyone else's is not found: whether it exists
    /// is not told.
    pub async fn owned_booking(&self, p: &Principal, id: Uuid) -> Result<OwnedBooking> {
        auth::authorize(p, Action::BookUnit)?;
        let person = p.person.as_ref().ok_or_else(|| Error::Unauthenticated("sign in to see your bookings".into()))?;
        let mut conn = self.conn().await?;
        let not_found = || Error::not_found("booking", id);
        let row = store::get(&mut conn, id).await?.ok_or_else(not_found)?;
        // A person's own booking is theirs; an association's is its representatives' now (one
        // removed since booking no longer acts for it).
        let mine = match row.association_id {
            Some(a) => crate::db::associations::represents(&mut conn, a, &person.person_ref).await?,
            None => row.person_ref == person.person_ref,
        };
        if !mine {
            return Err(not_found());
        }
        drop(conn);
        let system = Principal::system("system:bookings");
        let vendor = self.vendors_by_ids(&system, &[row.vendor_id]).await?.into_iter().next().ok_or_else(not_found)?;
        Ok(OwnedBooking { row, vendor })
    }

    /// Whose bookings the caller's "my bookings" are, and where to ask.
    pub async fn my_scope(&self, p: &Principal) -> Result<MyScope> {
        auth::authorize(p, Action::BookUnit)?;
        let person = p.person.as_ref().ok_or_else(|| Error::Unauthenticated("sign in to see your bookings".into()))?;
        let mut conn = self.conn().await?;
        let associations = crate::db::associations::represented_by(&mut conn, &person.person_ref).await?;
        let vendor_ids = store::vendors_of_owner(&mut conn, &person.person_ref, &associations).await?;
        drop(conn);
        let system = Principal::system("system:bookings");
        let vendors = self.vendors_by_ids(&system, &vendor_ids).await?;
        let vendors = vendors
            .into_iter()
            .map(|v| {
                let mut refs = vec![customer_reference(&self.pepper, v.id, CustomerKind::Person(&person.person_ref))];
                refs.extend(associations.iter().map(|a| customer_reference(&self.pepper, v.id, CustomerKind::Association(*a))));
                (v, refs)
            })
            .collect();
        Ok(MyScope { person_ref: person.person_ref.clone(), associations, vendors })
    }

    /// The registry's rows of a scope's bookings overlapping `[from, to)`.
    pub async fn my_rows(&self, scope: &MyScope, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<BookingRow>> {
        let mut conn = self.conn().await?;
        Ok(store::of_owner(&mut conn, &scope.person_ref, &scope.associations, from, to).await?)
    }

    /// Stores what a vendor says of one of the registry's bookings (after a read, a move, a
    /// cancellation, or from its change feed) and, in the same transaction, the notice of what
    /// changed: a decision, a completion asked, a cancellation, a move. Whoever learns of a
    /// change first tells it; the next to learn finds nothing changed, so each step is told
    /// once. Returns the row as it is now; none when the registry did not make the booking.
    #[allow(clippy::too_many_arguments)]
    pub async fn booking_learnt(
        &self,
        vendor: Uuid,
        vendor_booking_id: &str,
        unit_ref: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        status: &str,
        status_message: Option<&str>,
    ) -> Result<Option<BookingRow>> {
        if !is_stored_status(status) {
            return Ok(None);
        }
        let now = self.now();
        let mut conn = self.conn().await?;
        let (vendor_booking_id, unit_ref, status) = (vendor_booking_id.to_string(), unit_ref.to_string(), status.to_string());
        let status_message = status_message.map(str::to_string);
        conn.transaction(async move |conn| {
            let unit = store::unit_of_ref(conn, vendor, &unit_ref).await?;
            let Some(before) =
                store::update_state(conn, vendor, &vendor_booking_id, unit, start, end, &status, status_message.as_deref()).await?
            else {
                return Ok(None);
            };
            let row =
                store::by_vendor(conn, vendor, &vendor_booking_id).await?.ok_or_else(|| Error::not_found("booking", &vendor_booking_id))?;
            let event = match (before.status.as_str(), status.as_str()) {
                (b, s) if b == s && (before.start_at != start || before.end_at != end) => Some("moved"),
                (b, s) if b == s => None,
                ("pending", "confirmed") => Some("approved"),
                (_, "rejected") => Some("rejected"),
                (_, "needs_completion") => Some("completion_asked"),
                (_, "cancelled") => Some("cancelled"),
                _ => None,
            };
            if let Some(event) = event {
                notify_booking(conn, &row, crate::notify::Kind::BookingUpdate, event, status_message.as_deref(), now).await?;
            }
            Ok::<_, Error>(Some(row))
        })
        .await
    }

    /// Tells the owner of a booking just made that it is confirmed, or that the request was
    /// received.
    pub async fn booking_made(&self, id: Uuid) -> Result<()> {
        let now = self.now();
        let mut conn = self.conn().await?;
        if let Some(row) = store::get(&mut conn, id).await? {
            let event = if row.status == "confirmed" { "confirmed" } else { "request_received" };
            notify_booking(&mut conn, &row, crate::notify::Kind::BookingUpdate, event, None, now).await?;
        }
        Ok(())
    }

    /// Sends the reminders of confirmed bookings that start within `ahead` and have not been
    /// reminded of (their owners may have turned reminders off); how many.
    pub async fn send_booking_reminders(&self, ahead: chrono::Duration) -> Result<usize> {
        let now = self.now();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let due = store::due_reminders(conn, now, now + ahead).await?;
            for row in &due {
                notify_booking(conn, row, crate::notify::Kind::BookingReminder, "reminder", None, now).await?;
            }
            Ok::<_, Error>(due.len())
        })
        .await
    }

    /// Clears the notice addresses of bookings that ended before `before`; how many.
    pub async fn forget_booking_addresses(&self, before: DateTime<Utc>) -> Result<usize> {
        let mut conn = self.conn().await?;
        Ok(store::forget_addresses(&mut conn, before).await?)
    }

    /// Where the registry reads `vendor`'s change feed, if it ever did.
    pub async fn vendor_cursor(&self, vendor: Uuid) -> Result<Option<String>> {
        let mut conn = self.conn().await?;
        Ok(store::cursor(&mut conn, vendor).await?)
    }

    /// Stores where the registry reads `vendor`'s change feed.
    pub async fn set_vendor_cursor(&self, vendor: Uuid, cursor: &str) -> Result<()> {
        let mut conn = self.conn().await?;
        Ok(store::set_cursor(&mut conn, vendor, cursor).await?)
    }

    /// An association's customer reference at `vendor` (vendor.v1.1 §14), for what the
    /// registry books in its name (a seasonal allocation's series).
    pub fn association_reference(&self, vendor: Uuid, association: Uuid) -> String {
        customer_reference(&self.pepper, vendor, CustomerKind::Association(association))
    }

    /// The vendor's reference of `unit` when it is booked by `vendor` (for a move to it).
    pub async fn unit_ref_at(&self, vendor: &Vendor, facility: Uuid, unit: Uuid) -> Result<String> {
        let system = Principal::system("system:bookings");
        let mapping = self.vendor_units(&system, &[facility]).await?;
        match mapping.into_iter().find(|m| m.unit_id == unit) {
            Some(m) if m.vendor_id == vendor.id => Ok(m.external_ref),
            Some(_) => Err(Error::Conflict {
                field: Some("unitId".into()),
                rule: "other_vendor",
                message: "that unit is booked through another booking system; cancel this booking and book the unit instead".into(),
            }),
            None => Err(Error::invalid(
                "unitId",
                "not_found",
                format!("unit {unit} of facility {facility} is not bookable through the registry"),
            )),
        }
    }

    /// Turns a booking's reminder on or off (its owner).
    pub async fn set_booking_reminders(&self, p: &Principal, id: Uuid, on: bool) -> Result<()> {
        let owned = self.owned_booking(p, id).await?;
        let mut conn = self.conn().await?;
        Ok(store::set_reminders(&mut conn, owned.row.id, on).await?)
    }

    /// The window of "my bookings": from `from` (default: now) to `to` (default: 180 days
    /// later), at most 400 days.
    pub fn my_window(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let from = from.unwrap_or_else(|| self.now() - chrono::Duration::days(1));
        let to = to.unwrap_or(from + chrono::Duration::days(180));
        if to <= from || to - from > chrono::Duration::days(MAX_MY_WINDOW_DAYS) {
            return Err(Error::invalid("to", "out_of_range", format!("after from, at most {MAX_MY_WINDOW_DAYS} days later")));
        }
        Ok((from, to))
    }
}

/// A booking as a calendar event: the unit and facility, where, the booking system and status.
pub fn booking_event(row: &BookingRow, vendor_name: &str) -> crate::ical::Event {
    let status_sv = match row.status.as_str() {
        "confirmed" => "bekräftad",
        "pending" => "förfrågan väntar på beslut",
        "needs_completion" => "förfrågan behöver kompletteras",
        "rejected" => "avslagen",
        _ => "avbokad",
    };
    let mut description =
        format!("Bokat genom {vendor_name}: {status_sv} / booked through {vendor_name}: {}", row.status.replace('_', " "));
    if let Some(a) = &row.association_name {
        description.push_str(&format!("\nFör / for {a}"));
    }
    if let Some(m) = &row.status_message {
        description.push_str(&format!("\n{m}"));
    }
    crate::ical::Event {
        uid: format!("{}@booking.registry", row.id),
        start: row.start_at,
        end: row.end_at,
        summary: format!("{}, {}", row.unit_name, row.facility_name),
        location: format!(
            "{}, {}",
            row.facility_name,
            crate::codes::municipality(&row.municipality_code).map(|m| m.name.as_str()).unwrap_or("")
        ),
        description,
        status: row.status.clone(),
        updated: row.created_at,
    }
}

impl Registry {
    fn calendar_token_hash(&self, token: &str) -> String {
        hex(&Sha256::new()
            .chain_update(self.pepper.as_bytes())
            .chain_update(b"\0calendar feed v1\0")
            .chain_update(token.as_bytes())
            .finalize())
    }

    /// Creates (or replaces) the signed-in person's calendar feed: the secret token of its URL,
    /// shown once. The earlier URL stops working.
    pub async fn create_calendar_feed(&self, p: &Principal) -> Result<String> {
        auth::authorize(p, Action::BookUnit)?;
        let person = p.person.as_ref().ok_or_else(|| Error::Unauthenticated("sign in to have a calendar feed".into()))?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        let token = hex(&bytes);
        let mut conn = self.conn().await?;
        store::set_calendar_feed(&mut conn, &person.person_ref, &self.calendar_token_hash(&token)).await?;
        Ok(token)
    }

    /// Revokes the signed-in person's calendar feed: its URL stops working at once.
    pub async fn revoke_calendar_feed(&self, p: &Principal) -> Result<bool> {
        auth::authorize(p, Action::BookUnit)?;
        let person = p.person.as_ref().ok_or_else(|| Error::Unauthenticated("sign in to revoke your calendar feed".into()))?;
        let mut conn = self.conn().await?;
        Ok(store::revoke_calendar_feed(&mut conn, &person.person_ref).await?)
    }

    /// The bookings of the person whose calendar feed `token` is (their own and their
    /// associations', from 30 days ago to 400 days ahead), as the registry last knew them. The
    /// token is the credential: an unknown or revoked one is not found.
    pub async fn calendar_feed(&self, token: &str) -> Result<Vec<crate::ical::Event>> {
        let not_found = || Error::not_found("calendar feed", "(token)");
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let mut conn = self.conn().await?;
        let person = store::calendar_feed_owner(&mut conn, &self.calendar_token_hash(token)).await?.ok_or_else(not_found)?;
        let associations = crate::db::associations::represented_by(&mut conn, &person).await?;
        let now = self.now();
        let rows =
            store::of_owner(&mut conn, &person, &associations, now - chrono::Duration::days(30), now + chrono::Duration::days(400)).await?;
        drop(conn);
        let system = Principal::system("system:calendar");
        let ids: Vec<Uuid> = rows.iter().map(|r| r.vendor_id).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let vendors = self.vendors_by_ids(&system, &ids).await?;
        let name = |id: Uuid| vendors.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
        Ok(rows.iter().map(|r| booking_event(r, &name(r.vendor_id))).collect())
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
            association_id: None,
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
        a.association_id = Some(Uuid::nil());
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
