//! The booking domain: units with their booking rules, bookings and their states.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Who books: the customer types of the seeds' process maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// A private person (privatperson).
    PrivatePerson,
    /// An association (förening).
    Association,
    /// A company (företag).
    Company,
}

impl CustomerType {
    /// Every type.
    pub const ALL: [CustomerType; 3] = [CustomerType::PrivatePerson, CustomerType::Association, CustomerType::Company];

    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerType::PrivatePerson => "private_person",
            CustomerType::Association => "association",
            CustomerType::Company => "company",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A price per hour.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// Minor units (öre) per hour.
    pub amount_minor: i64,
    /// ISO 4217, e.g. SEK.
    pub currency: String,
}

/// The booking rules of a unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    /// Slot granularity in minutes: starts, ends and durations are multiples of it, counted
    /// from the opening time.
    pub slot_minutes: i32,
    /// Shortest booking, minutes.
    pub min_minutes: i32,
    /// Longest booking, minutes.
    pub max_minutes: i32,
    /// How long before its start a booking must be made, minutes.
    pub lead_minutes: i32,
    /// How many days ahead one may book.
    pub horizon_days: i32,
    /// Customers may cancel up to this many hours before the start (staff at any time).
    pub cancel_hours: i32,
    /// Customer types that book directly (confirmed at once).
    pub direct_types: Vec<CustomerType>,
    /// Customer types that must send a booking request.
    pub request_types: Vec<CustomerType>,
    /// Price per hour by customer type (`private_person`, `association`, `company`).
    #[schema(value_type = std::collections::BTreeMap<String, Price>)]
    pub prices: BTreeMap<CustomerType, Price>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            slot_minutes: 60,
            min_minutes: 60,
            max_minutes: 240,
            lead_minutes: 60,
            horizon_days: 180,
            cancel_hours: 24,
            direct_types: vec![CustomerType::PrivatePerson, CustomerType::Company],
            request_types: vec![CustomerType::Association],
            prices: BTreeMap::new(),
        }
    }
}

/// A bookable unit (lokal) of the backend, linked to the registry's unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// The backend's id.
    pub id: Uuid,
    /// The reference the registry's vendor directory uses (vendor.v1 `unit_ref`).
    pub external_ref: String,
    /// The registry's facility.
    pub registry_facility_id: Uuid,
    /// The registry's unit.
    pub registry_unit_id: Uuid,
    /// Name.
    pub name: String,
    /// Its rules.
    pub rules: Rules,
    /// The municipality it is in (kommunkod), for the case officer's inbox per municipality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality_code: Option<String>,
    /// Version.
    pub version: i64,
}

/// How a booking came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Confirmed at once.
    Direct,
    /// Decided by a case officer.
    Request,
    /// Maintenance or an event (no customer).
    Block,
}

impl Kind {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Request => "request",
            Kind::Block => "block",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        [Kind::Direct, Kind::Request, Kind::Block].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Holds the time.
    Confirmed,
    /// A request waiting for a case officer.
    Pending,
    /// The case officer asked the customer to complete the request.
    NeedsCompletion,
    /// Refused by the case officer.
    Rejected,
    /// Cancelled by the customer or staff.
    Cancelled,
}

impl BookingStatus {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Pending => "pending",
            BookingStatus::NeedsCompletion => "needs_completion",
            BookingStatus::Rejected => "rejected",
            BookingStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        [
            BookingStatus::Confirmed,
            BookingStatus::Pending,
            BookingStatus::NeedsCompletion,
            BookingStatus::Rejected,
            BookingStatus::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// How the customer pays (recorded, not processed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Paid at booking, by the customer's own means.
    Direct,
    /// Invoiced afterwards.
    Invoice,
}

impl PaymentMethod {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Direct => "direct",
            PaymentMethod::Invoice => "invoice",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        [PaymentMethod::Direct, PaymentMethod::Invoice].into_iter().find(|k| k.as_str() == s)
    }
}

/// The customer (personal data: only for the booking, never in public answers).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Name (a person's or an organisation's).
    pub name: String,
    /// Email.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// Phone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    /// Organisation number (associations, companies).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org_number: String,
}

/// A booking (or a block).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Id.
    pub id: Uuid,
    /// The unit.
    pub unit_id: Uuid,
    /// Its registry reference.
    pub unit_ref: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// How it came about.
    pub kind: Kind,
    /// Where it stands.
    pub status: BookingStatus,
    /// Customer type (none for blocks).
    pub customer_type: Option<CustomerType>,
    /// The customer (none for blocks).
    pub customer: Option<Customer>,
    /// To the customer: a rejection's reason, what to complete; a block's reason.
    pub status_message: Option<String>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Price per hour at booking.
    pub price: Option<Price>,
    /// Amount for the whole booking, minor units.
    pub amount_minor: Option<i64>,
    /// Payment method.
    pub payment_method: Option<PaymentMethod>,
    /// The code for the lock system.
    pub access_code: Option<String>,
    /// The recurring series it belongs to.
    pub series_id: Option<Uuid>,
    /// Who made it (`key:<prefix>` of the caller): its owner.
    pub created_by: String,
    /// The caller's opaque reference of the customer (vendor.v1.1), e.g. the registry's
    /// per-vendor pseudonym of a person or an association.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// Whether the caller verified that the customer represents an approved association.
    #[serde(default)]
    pub association_verified: bool,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Who made a change of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The customer (or the caller acting for them, such as the registry).
    Customer,
    /// A case officer or other staff.
    Staff,
    /// The backend itself.
    System,
}

impl Actor {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Customer => "customer",
            Actor::Staff => "staff",
            Actor::System => "system",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Self {
        match s {
            "customer" => Actor::Customer,
            "staff" => Actor::Staff,
            _ => Actor::System,
        }
    }
}

/// One step in a booking's life (from the outbox).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// The outbox sequence number (the change feed's cursor).
    pub seq: i64,
    /// The status it entered (the same status for a move).
    pub status: BookingStatus,
    /// Whether it was a move to another time or unit.
    pub moved: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// The message with it: the customer's with a request, the case officer's decision or
    /// what to complete, a cancellation's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Who.
    pub actor: Actor,
    /// For a move: where from (unit reference and times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
