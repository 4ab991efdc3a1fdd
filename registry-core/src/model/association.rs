//! Associations (föreningar), their registration with the municipality, member statistics
//! and contact persons (personal data).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Contact, text_enum};
use crate::codes;
use crate::error::Result;
use crate::orgnr;
use crate::validate::Violations;

text_enum! {
    /// Where a registration stands. The municipality decides (seeds' process map):
    /// `pending` → `approved` | `rejected` | `needs_completion`; an update by the
    /// association of a `needs_completion` registration sends it back to `pending`.
    RegistrationStatus {
        /// Submitted, waiting for the municipality.
        Pending = "pending" / "REGISTRATION_STATUS_PENDING",
        /// Approved by the municipality.
        Approved = "approved" / "REGISTRATION_STATUS_APPROVED",
        /// Rejected, with a reason.
        Rejected = "rejected" / "REGISTRATION_STATUS_REJECTED",
        /// The municipality asked for more information, with a message.
        NeedsCompletion = "needs_completion" / "REGISTRATION_STATUS_NEEDS_COMPLETION",
        /// The association withdrew it.
        Withdrawn = "withdrawn" / "REGISTRATION_STATUS_WITHDRAWN",
    }
}

text_enum! {
    /// Whether the association still exists.
    AssociationStatus {
        /// Active.
        Active = "active" / "ASSOCIATION_STATUS_ACTIVE",
        /// Dissolved (upplöst); the record is kept for history.
        Dissolved = "dissolved" / "ASSOCIATION_STATUS_DISSOLVED",
    }
}

text_enum! {
    /// What happened to a registration.
    RegistrationEventKind {
        /// The association registered with the municipality.
        Submitted = "submitted" / "REGISTRATION_EVENT_SUBMITTED",
        /// The association answered a completion request and sent it back.
        Resubmitted = "resubmitted" / "REGISTRATION_EVENT_RESUBMITTED",
        /// The municipality approved it.
        Approved = "approved" / "REGISTRATION_EVENT_APPROVED",
        /// The municipality rejected it.
        Rejected = "rejected" / "REGISTRATION_EVENT_REJECTED",
        /// The municipality asked for more information.
        CompletionRequested = "completion_requested" / "REGISTRATION_EVENT_COMPLETION_REQUESTED",
        /// The association withdrew it.
        Withdrawn = "withdrawn" / "REGISTRATION_EVENT_WITHDRAWN",
    }
}

text_enum! {
    /// Age bands of member statistics (as in the state activity grant, LOK-stöd, plus the ends).
    AgeBand {
        /// 0–6 years.
        Age0To6 = "0_6" / "AGE_BAND_0_TO_6",
        /// 7–12 years.
        Age7To12 = "7_12" / "AGE_BAND_7_TO_12",
        /// 13–20 years.
        Age13To20 = "13_20" / "AGE_BAND_13_TO_20",
        /// 21–25 years.
        Age21To25 = "21_25" / "AGE_BAND_21_TO_25",
        /// 26–64 years.
        Age26To64 = "26_64" / "AGE_BAND_26_TO_64",
        /// 65 years and older.
        Age65Plus = "65_plus" / "AGE_BAND_65_PLUS",
    }
}

text_enum! {
    /// Gender categories of member statistics.
    Gender {
        /// Women and girls.
        Female = "female" / "GENDER_FEMALE",
        /// Men and boys.
        Male = "male" / "GENDER_MALE",
        /// Other or not stated.
        Other = "other" / "GENDER_OTHER",
    }
}

/// Number of members in one age band and gender.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberCount {
    /// Age band.
    pub age_band: AgeBand,
    /// Gender.
    pub gender: Gender,
    /// Number of members.
    pub count: u32,
}

/// Member statistics for one reporting year.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStatistics {
    /// The year the figures are for.
    pub year: i32,
    /// Counts by age band and gender; each combination at most once.
    pub counts: Vec<MemberCount>,
}

/// A contact person of an association: personal data, only shown with the personal-data scope.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactPerson {
    /// Full name.
    pub name: String,
    /// Role in the association, e.g. `ordförande` (chair).
    #[serde(default)]
    pub role: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A postal address in Sweden.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostalAddress {
    /// Care of (c/o), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_of: Option<String>,
    /// Street address or box, e.g. `Idrottsvägen 4` or `Box 123`.
    pub street: String,
    /// Postal code (postnummer), five digits; `NNN NN` is accepted and stored as `NNNNN`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{3} ?[0-9]{2}$"))]
    pub postal_code: String,
    /// Post town (postort), e.g. `Kumla`.
    pub city: String,
}

impl PostalAddress {
    fn validated(&self, v: &mut Violations, field: &str) -> PostalAddress {
        let code: String = self.postal_code.chars().filter(|c| *c != ' ').collect();
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) || code.starts_with('0') {
            v.add(format!("{field}.postalCode"), "format", "must be a Swedish postal code, five digits, e.g. 692 32");
        }
        PostalAddress {
            care_of: self.care_of.as_deref().map(|c| v.optional_text(&format!("{field}.careOf"), c, 200)).filter(|c| !c.is_empty()),
            street: v.required_text(&format!("{field}.street"), &self.street, 200),
            postal_code: code,
            city: v.required_text(&format!("{field}.city"), &self.city, 100),
        }
    }
}

/// An association's registration with one municipality, which that municipality decides.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MunicipalRegistration {
    /// The municipality.
    pub municipality_code: String,
    /// Status.
    pub status: RegistrationStatus,
    /// Reason for a rejection, or what to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it was (last) submitted.
    pub submitted_at: DateTime<Utc>,
    /// When the municipality last decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// One step in a registration's history: what happened, when, by which side, with its message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationEvent {
    /// What happened.
    pub kind: RegistrationEventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The municipality's message, or the association's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Which side acted: `representative`, `municipality` or `admin` (never a person).
    pub by: String,
}

/// A registration with its history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationDetail {
    /// The registration.
    pub registration: MunicipalRegistration,
    /// What happened to it, oldest first.
    pub events: Vec<RegistrationEvent>,
}

/// A registration waiting in a municipality's inbox, with the association it is for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxItem {
    /// The association's id.
    pub association_id: Uuid,
    /// Its organisation number.
    pub org_number: String,
    /// Its name.
    pub name: String,
    /// Its version (for If-Match on a decision).
    pub version: i64,
    /// The registration with this municipality.
    pub registration: MunicipalRegistration,
}

/// A person who acts for an association. Their personal identity number is never shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Representative {
    /// Id, for removing them.
    pub id: Uuid,
    /// Name, as given when they were added (or as their eID gave it when they registered).
    pub name: String,
    /// When they were added.
    pub added_at: DateTime<Utc>,
    /// Whether this is the caller.
    pub is_you: bool,
}

/// A representative to add: who, by personal identity number, and their name.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRepresentative {
    /// Personal identity number (personnummer or samordningsnummer), `YYYYMMDD-NNNN` or twelve digits.
    pub personal_identity_number: String,
    /// Their name, as the association knows them.
    pub name: String,
}

/// One report of member statistics: a year's figures in one version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStatisticsReport {
    /// The year the figures are for.
    pub year: i32,
    /// 1 for the first report of the year, then one more per correction.
    pub version: i32,
    /// Counts by age band and gender.
    pub counts: Vec<MemberCount>,
    /// Total members.
    pub total: u64,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
    /// Which side reported it: `representative`, `municipality` or `admin`.
    pub reported_by: String,
    /// Whether this is the year's current version.
    pub current: bool,
}

/// The state of an association's registration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    /// Status.
    pub status: RegistrationStatus,
    /// Reason for a rejection, or what to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the municipality last decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// An association (förening) as returned. Fields the caller may not see are absent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Association {
    /// Association id (UUIDv7).
    pub id: Uuid,
    /// Organisation number, ten digits.
    pub org_number: String,
    /// Name.
    pub name: String,
    /// The seat (säte): the municipality it first registered with.
    pub municipality_code: String,
    /// Activity codes.
    pub activities: Vec<String>,
    /// Public contact.
    pub contact: Contact,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<PostalAddress>,
    /// Association type code (the list: `registry-core/data/association_types.csv`), e.g. `sports`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_type: Option<String>,
    /// Federations (förbund) it is a member of, by code (`registry-core/data/federations.csv`), e.g. `football`.
    #[serde(default)]
    pub federations: Vec<String>,
    /// The year it was founded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub founded_year: Option<i32>,
    /// Active or dissolved.
    pub status: AssociationStatus,
    /// The latest year's member statistics (national bodies, the municipality and its representatives only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_statistics: Option<MemberStatistics>,
    /// Every reported year's current figures, oldest first (as `memberStatistics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_statistics_by_year: Option<Vec<MemberStatistics>>,
    /// The headline registration: an approved one if any (the seat's first), else the seat's.
    pub registration: Registration,
    /// Its registration with each municipality it is active in, as far as the caller may see
    /// them (approved ones for everyone; all for its representatives and national bodies; a
    /// municipality's own for its staff).
    #[serde(default)]
    pub registrations: Vec<MunicipalRegistration>,
    /// Contact persons (personal data; only with the personal-data scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_persons: Option<Vec<ContactPerson>>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// An association as written by a client.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssociationInput {
    /// Organisation number, `NNNNNN-NNNN` or ten digits.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{6}-?[0-9]{4}$"))]
    pub org_number: String,
    /// Name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Municipality code.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4}$"))]
    pub municipality_code: String,
    /// Activity codes.
    #[serde(default)]
    pub activities: Vec<String>,
    /// Public contact.
    #[serde(default)]
    pub contact: Contact,
    /// Member statistics.
    #[serde(default)]
    pub member_statistics: Option<MemberStatistics>,
    /// Contact persons.
    #[serde(default)]
    pub contact_persons: Vec<ContactPerson>,
    /// Postal address.
    #[serde(default)]
    pub postal_address: Option<PostalAddress>,
    /// Association type code.
    #[serde(default)]
    pub association_type: Option<String>,
    /// Federation codes.
    #[serde(default)]
    pub federations: Vec<String>,
    /// Founding year.
    #[serde(default)]
    pub founded_year: Option<i32>,
    /// Active or dissolved; absent keeps it as it is (active for a new association).
    #[serde(default)]
    pub status: Option<AssociationStatus>,
}

/// Maximum number of contact persons.
pub const MAX_CONTACT_PERSONS: usize = 20;
/// Maximum members in one count.
pub const MAX_MEMBER_COUNT: u32 = 1_000_000;

impl AssociationInput {
    /// Checks every field and returns the normalised input, or all violations at once.
    /// `this_year` (Swedish time) bounds the member statistics' year.
    pub fn validate(&self, this_year: i32) -> Result<AssociationInput> {
        let mut v = Violations::default();
        let out = AssociationInput {
            org_number: orgnr::check(&mut v, "orgNumber", &self.org_number),
            name: v.required_text("name", &self.name, 200),
            municipality_code: codes::check_municipality(&mut v, "municipalityCode", &self.municipality_code),
            activities: v.codes("activities", &self.activities, 50, codes::is_activity, "activity"),
            contact: self.contact.validated(&mut v, "contact"),
            member_statistics: self.member_statistics.clone(),
            contact_persons: self
                .contact_persons
                .iter()
                .enumerate()
                .map(|(i, p)| ContactPerson {
                    name: v.required_text(&format!("contactPersons[{i}].name"), &p.name, 200),
                    role: v.optional_text(&format!("contactPersons[{i}].role"), &p.role, 100),
                    email: v.email(&format!("contactPersons[{i}].email"), p.email.as_deref()),
                    phone: v.phone(&format!("contactPersons[{i}].phone"), p.phone.as_deref()),
                })
                .collect(),
            postal_address: self.postal_address.as_ref().map(|a| a.validated(&mut v, "postalAddress")),
            association_type: self.association_type.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| {
                if !codes::is_association_type(t) {
                    v.add("associationType", "unknown_code", format!("'{t}' is not a known association type"));
                }
                t.to_string()
            }),
            federations: v.codes("federations", &self.federations, 30, codes::is_federation, "federation"),
            founded_year: self.founded_year,
            status: self.status,
        };
        if let Some(y) = self.founded_year
            && !(1600..=this_year).contains(&y)
        {
            v.add("foundedYear", "out_of_range", format!("must be between 1600 and {this_year}"));
        }
        if self.contact_persons.len() > MAX_CONTACT_PERSONS {
            v.add("contactPersons", "max_items", format!("must have at most {MAX_CONTACT_PERSONS} entries"));
        }
        if let Some(s) = &self.member_statistics {
            let max_year = this_year;
            if !(1900..=max_year).contains(&s.year) {
                v.add("memberStatistics.year", "out_of_range", format!("must be between 1900 and {max_year}"));
            }
            validate_member_counts(&mut v, "memberStatistics.counts", &s.counts);
        }
        v.finish().map(|()| out)
    }
}

impl Association {
    /// The association's details as an input (contact persons as far as they are shown), for
    /// clients that change a few fields.
    pub fn to_input(&self) -> AssociationInput {
        AssociationInput {
            org_number: self.org_number.clone(),
            name: self.name.clone(),
            municipality_code: self.municipality_code.clone(),
            activities: self.activities.clone(),
            contact: self.contact.clone(),
            member_statistics: self.member_statistics.clone(),
            contact_persons: self.contact_persons.clone().unwrap_or_default(),
            postal_address: self.postal_address.clone(),
            association_type: self.association_type.clone(),
            federations: self.federations.clone(),
            founded_year: self.founded_year,
            status: Some(self.status),
        }
    }
}

/// A municipality's decision on a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject, with a reason the association sees.
    Reject {
        /// Why.
        reason: String,
    },
    /// Ask the association to complete its registration.
    RequestCompletion {
        /// What is missing.
        message: String,
    },
}

impl Decision {
    /// The status the decision leads to and its message, after validating the text.
    pub fn validate(&self) -> Result<(RegistrationStatus, Option<String>)> {
        let mut v = Violations::default();
        let out = match self {
            Decision::Approve => (RegistrationStatus::Approved, None),
            Decision::Reject { reason } => (RegistrationStatus::Rejected, Some(v.required_multiline("reason", reason, 2000))),
            Decision::RequestCompletion { message } => {
                (RegistrationStatus::NeedsCompletion, Some(v.required_multiline("message", message, 2000)))
            }
        };
        v.finish().map(|()| out)
    }
}

impl RegistrationStatus {
    /// Whether the municipality may decide on a registration in this status.
    pub fn decidable(self) -> bool {
        matches!(self, RegistrationStatus::Pending | RegistrationStatus::NeedsCompletion)
    }
}

impl Decision {
    /// The event a decision is recorded as.
    pub fn event(&self) -> RegistrationEventKind {
        match self {
            Decision::Approve => RegistrationEventKind::Approved,
            Decision::Reject { .. } => RegistrationEventKind::Rejected,
            Decision::RequestCompletion { .. } => RegistrationEventKind::CompletionRequested,
        }
    }
}

/// Validates a year's member counts as [`AssociationInput::validate`] does, naming fields
/// under `prefix` (e.g. `counts`).
pub fn validate_member_counts(v: &mut Violations, prefix: &str, counts: &[MemberCount]) {
    for (i, c) in counts.iter().enumerate() {
        if counts[..i].iter().any(|o| o.age_band == c.age_band && o.gender == c.gender) {
            v.add(
                format!("{prefix}[{i}]"),
                "duplicate",
                format!("{}/{} is counted more than once", c.age_band.as_str(), c.gender.as_str()),
            );
        }
        if c.count > MAX_MEMBER_COUNT {
            v.add(format!("{prefix}[{i}].count"), "out_of_range", format!("must be at most {MAX_MEMBER_COUNT}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn valid() -> AssociationInput {
        AssociationInput {
            org_number: "802004-5426".into(),
            name: "Kumla Innebandyklubb".into(),
            municipality_code: "1881".into(),
            activities: vec!["floorball".into()],
            contact: Contact { email: Some("info@kumlaibk.se".into()), phone: None, website: Some("https://kumlaibk.se".into()) },
            member_statistics: Some(MemberStatistics {
                year: 2025,
                counts: vec![
                    MemberCount { age_band: AgeBand::Age7To12, gender: Gender::Female, count: 40 },
                    MemberCount { age_band: AgeBand::Age7To12, gender: Gender::Male, count: 52 },
                ],
            }),
            contact_persons: vec![ContactPerson {
                name: "Anna Andersson".into(),
                role: "ordförande".into(),
                email: Some("anna@example.se".into()),
                phone: Some("070-123 45 67".into()),
            }],
            postal_address: Some(PostalAddress {
                care_of: None,
                street: "Box 12".into(),
                postal_code: "692 21".into(),
                city: "Kumla".into(),
            }),
            association_type: Some("sports".into()),
            federations: vec!["floorball".into()],
            founded_year: Some(1987),
            status: None,
        }
    }

    /// The year the tests run in, named so no expectation depends on the run date.
    const YEAR: i32 = 2026;

    fn violations(input: AssociationInput) -> Vec<(String, &'static str)> {
        match input.validate(YEAR) {
            Ok(_) => vec![],
            Err(Error::Invalid(v)) => v.into_iter().map(|x| (x.field, x.rule)).collect(),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn valid_association_is_normalised() {
        let out = valid().validate(YEAR).unwrap();
        assert_eq!(out.org_number, "8020045426");
        assert_eq!(out.contact_persons[0].phone.as_deref(), Some("0701234567"));
        assert_eq!(out.postal_address.unwrap().postal_code, "69221");
    }

    /// A change to a valid input and the field and rule it must break.
    type Case = (fn(&mut AssociationInput), &'static str, &'static str);

    #[test]
    fn each_field_rule_names_field_and_rule() {
        let cases: Vec<Case> = vec![
            (|a| a.org_number = "802004-5420".into(), "orgNumber", "checksum"),
            (|a| a.org_number = "80200454".into(), "orgNumber", "format"),
            (|a| a.name = "".into(), "name", "required"),
            (|a| a.municipality_code = "0001".into(), "municipalityCode", "unknown_code"),
            (|a| a.activities = vec!["x".into()], "activities[0]", "unknown_code"),
            (|a| a.contact.email = Some("x@".into()), "contact.email", "format"),
            (|a| a.member_statistics.as_mut().unwrap().year = 1899, "memberStatistics.year", "out_of_range"),
            (|a| a.member_statistics.as_mut().unwrap().year = 3000, "memberStatistics.year", "out_of_range"),
            (|a| a.member_statistics.as_mut().unwrap().year = YEAR + 1, "memberStatistics.year", "out_of_range"),
            (
                |a| {
                    let s = a.member_statistics.as_mut().unwrap();
                    s.counts[1].gender = Gender::Female;
                },
                "memberStatistics.counts[1]",
                "duplicate",
            ),
            (|a| a.member_statistics.as_mut().unwrap().counts[0].count = 2_000_000, "memberStatistics.counts[0].count", "out_of_range"),
            (|a| a.contact_persons[0].name = " ".into(), "contactPersons[0].name", "required"),
            (|a| a.contact_persons[0].email = Some("anna".into()), "contactPersons[0].email", "format"),
            (|a| a.contact_persons[0].phone = Some("x".into()), "contactPersons[0].phone", "format"),
            (|a| a.contact_persons = vec![a.contact_persons[0].clone(); 21], "contactPersons", "max_items"),
            (|a| a.postal_address.as_mut().unwrap().postal_code = "1234".into(), "postalAddress.postalCode", "format"),
            (|a| a.postal_address.as_mut().unwrap().postal_code = "012 34".into(), "postalAddress.postalCode", "format"),
            (|a| a.postal_address.as_mut().unwrap().city = "".into(), "postalAddress.city", "required"),
            (|a| a.postal_address.as_mut().unwrap().street = " ".into(), "postalAddress.street", "required"),
            (|a| a.association_type = Some("club".into()), "associationType", "unknown_code"),
            (|a| a.federations = vec!["fifa".into()], "federations[0]", "unknown_code"),
            (|a| a.founded_year = Some(1599), "foundedYear", "out_of_range"),
            (|a| a.founded_year = Some(YEAR + 1), "foundedYear", "out_of_range"),
        ];
        for (mutate, field, rule) in cases {
            let mut input = valid();
            mutate(&mut input);
            let got = violations(input);
            assert!(got.contains(&(field.to_string(), rule)), "expected {field}/{rule}, got {got:?}");
        }
    }

    #[test]
    fn decisions_need_a_text_except_approval() {
        assert_eq!(Decision::Approve.validate().unwrap(), (RegistrationStatus::Approved, None));
        assert!(matches!(Decision::Reject { reason: " ".into() }.validate(), Err(Error::Invalid(v)) if v[0].field == "reason"));
        assert!(matches!(Decision::RequestCompletion { message: "".into() }.validate(), Err(Error::Invalid(v)) if v[0].field == "message"));
        assert_eq!(
            Decision::Reject { reason: "Not an association".into() }.validate().unwrap(),
            (RegistrationStatus::Rejected, Some("Not an association".into()))
        );
        assert!(RegistrationStatus::Pending.decidable() && RegistrationStatus::NeedsCompletion.decidable());
        assert!(!RegistrationStatus::Approved.decidable() && !RegistrationStatus::Rejected.decidable());
    }
}
