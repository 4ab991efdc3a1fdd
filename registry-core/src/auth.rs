//! Who may do what. Pure functions over a [`Principal`]; every use case calls [`authorize`]
//! before it validates or touches the database, so REST and gRPC inherit the same rules.

use uuid::Uuid;

use crate::error::{Error, Result};

/// The roles of ARCHITECTURE.md §4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// No credentials: public read only.
    Anonymous,
    /// A signed-in person (Swedish eID) with no other role: books, and sees and cancels their
    /// own bookings. (A person's other roles follow from data: staff entries make them a
    /// [`Role::MunicipalityEditor`].)
    Resident,
    /// Municipality editor (redaktör): writes only its own municipality's data.
    MunicipalityEditor {
        /// The editor's municipality code (kommunkod).
        municipality_code: String,
    },
    /// A booking vendor: reads the registry.
    Vendor,
    /// A national body (e.g. a sports federation or a statistics agency): bulk reads and member statistics.
    NationalBody,
    /// Operator with full rights.
    Admin,
    /// A batch job of the registry itself (geodata-sync): sets synced locations and loads
    /// municipality boundaries, nothing else. Never issued as an API key.
    System,
}

impl Role {
    /// Stable name used in API keys and logs: `anonymous`, `resident`, `editor`, `vendor`,
    /// `national_body`, `admin`, `system`.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Resident => "resident",
            Role::MunicipalityEditor { .. } => "editor",
            Role::Vendor => "vendor",
            Role::NationalBody => "national_body",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }
}

/// A signed-in person: how the registry knows them, never their personal identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// [`crate::person::person_ref`] of their personal identity number.
    pub person_ref: String,
    /// Their name, as the identity provider gave it.
    pub name: String,
}

/// An authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable identifier for audit, e.g. `key:3f9a2c1d` or `cli`; never personal data.
    pub id: String,
    /// The caller's role.
    pub role: Role,
    /// Whether the caller holds the explicit scope to read personal data (contact persons).
    pub personal_data: bool,
    /// For a vendor's own key: the vendor in the directory it belongs to (vendor-self access).
    pub vendor_id: Option<Uuid>,
    /// For a signed-in person (a resident, or staff acting as their municipality's editor): who.
    pub person: Option<Person>,
}

impl Principal {
    /// The anonymous caller.
    pub fn anonymous() -> Self {
        Principal { id: "anonymous".into(), role: Role::Anonymous, personal_data: false, vendor_id: None, person: None }
    }

    /// The operator acting through the command line (demo loading, maintenance).
    pub fn operator(id: &str) -> Self {
        Principal { id: id.into(), role: Role::Admin, personal_data: false, vendor_id: None, person: None }
    }

    /// A batch job of the registry, e.g. `system:geodata-sync`.
    pub fn system(id: &str) -> Self {
        Principal { id: id.into(), role: Role::System, personal_data: false, vendor_id: None, person: None }
    }

    /// An editor for one municipality.
    pub fn editor(id: &str, municipality_code: &str) -> Self {
        Principal {
            id: id.into(),
            role: Role::MunicipalityEditor { municipality_code: municipality_code.into() },
            personal_data: false,
            vendor_id: None,
            person: None,
        }
    }

    /// A principal with the given role.
    pub fn with_role(id: &str, role: Role) -> Self {
        Principal { id: id.into(), role, personal_data: false, vendor_id: None, person: None }
    }

    /// A vendor's own key, tied to its entry in the vendor directory.
    pub fn vendor(id: &str, vendor_id: Uuid) -> Self {
        Principal { id: id.into(), role: Role::Vendor, personal_data: false, vendor_id: Some(vendor_id), person: None }
    }

    /// A signed-in person: a resident, or, with `staff_of`, their municipality's editor. The id
    /// in audit rows and logs is [`crate::person::audit_id`], never the number.
    pub fn person(person: Person, staff_of: Option<String>) -> Self {
        let role = match staff_of {
            Some(municipality_code) => Role::MunicipalityEditor { municipality_code },
            None => Role::Resident,
        };
        Principal { id: crate::person::audit_id(&person.person_ref), role, personal_data: false, vendor_id: None, person: Some(person) }
    }

    /// The municipality whose data this caller edits: an editor key's, or signed-in staff's.
    pub fn municipality(&self) -> Option<&str> {
        match &self.role {
            Role::MunicipalityEditor { municipality_code } => Some(municipality_code),
            _ => None,
        }
    }

    /// The same principal with the personal-data scope.
    pub fn with_personal_data(mut self) -> Self {
        self.personal_data = true;
        self
    }

    fn edits(&self, municipality_code: &str) -> bool {
        match &self.role {
            Role::Admin => true,
            Role::MunicipalityEditor { municipality_code: own } => own == municipality_code,
            _ => false,
        }
    }
}

/// Everything a use case can ask permission for. Municipality codes are those of the
/// resource (for a move between municipalities, both are checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read public data (municipalities, facilities, approved associations' public fields).
    ReadPublic,
    /// Create a facility in a municipality.
    CreateFacility(&'a str),
    /// Update a facility of a municipality.
    UpdateFacility(&'a str),
    /// Delete a facility of a municipality.
    DeleteFacility(&'a str),
    /// Create (register) an association in a municipality.
    CreateAssociation(&'a str),
    /// Update an association of a municipality.
    UpdateAssociation(&'a str),
    /// Delete an association of a municipality.
    DeleteAssociation(&'a str),
    /// Approve, reject or ask for completion of an association's registration.
    DecideRegistration(&'a str),
    /// See associations of a municipality that are not (yet) approved.
    ReadUnapproved(&'a str),
    /// Read member statistics of an association in a municipality.
    ReadMemberStatistics(&'a str),
    /// Read contact persons (personal data) of an association in a municipality.
    ReadContactPersons(&'a str),
    /// Set a facility's location from the national geodata services (with provenance).
    SyncLocation(&'a str),
    /// Replace the municipality boundaries and read the geodata sync's state and checks.
    ManageGeodata,
    /// Add, change or remove vendors in the vendor directory, and see their credentials' names.
    ManageVendors,
    /// Choose the vendor (and its reference) that books a unit of a municipality's facility.
    AssignVendor(&'a str),
    /// Keep one vendor's own directory entry up to date (its endpoint, CA and the limits it
    /// asks to be treated with) and run its checks: that vendor's own keys, and admins.
    ManageOwnVendor(Uuid),
    /// Record the result of a vendor's scheduled checks (capabilities and conformance).
    RecordVendorChecks,
    /// Follow the change log as it grows (`WatchChanges`): any caller with a key.
    FollowChanges,
    /// Read the audit trail (who changed what, before and after) of a municipality's data.
    ReadAuditTrail(&'a str),
    /// Book a unit (or send a booking request) through the registry, which passes it on to the
    /// unit's vendor, and see, cancel or rebook one's own bookings: signed-in people only, so
    /// that every booking has an owner (the vendor applies its booking rules).
    BookUnit,
    /// See, download or erase what the registry holds about oneself: signed-in people only.
    OwnPersonalData,
    /// Register a new association as its first representative: a signed-in person.
    RegisterAssociation,
    /// Act for an association (change its details, report its member statistics, manage its
    /// registrations and representatives). The flag is whether the signed-in caller is listed
    /// as its representative, which the use case reads inside its transaction.
    Represent(bool),
    /// Run a municipality's seasonal allocation (säsongsfördelning): set up rounds and their
    /// principles, read every application, run the allocator and what-ifs, edit, publish and
    /// register the final allocation.
    ManageAllocation(&'a str),
    /// Run a municipality's grants (föreningsbidrag): set up programmes and their rules, read
    /// and assess every application and its attachments, decide, prepare and attest payment
    /// orders (a second person attests: a rule of the order, not of the role).
    ManageGrants(&'a str),
}

/// Whether `p` may perform `action`.
pub fn allowed(p: &Principal, action: Action<'_>) -> bool {
    use Action as A;
    match action {
        A::ReadPublic => true,
        A::CreateFacility(m)
        | A::UpdateFacility(m)
        | A::DeleteFacility(m)
        | A::CreateAssociation(m)
        | A::UpdateAssociation(m)
        | A::DeleteAssociation(m)
        | A::DecideRegistration(m) => p.edits(m),
        A::ReadUnapproved(m) | A::ReadMemberStatistics(m) => p.edits(m) || p.role == Role::NationalBody,
        A::ReadContactPersons(m) => p.personal_data && (p.edits(m) || p.role == Role::NationalBody),
        A::SyncLocation(_) | A::ManageGeodata => matches!(p.role, Role::Admin | Role::System),
        A::ManageVendors => p.role == Role::Admin,
        A::AssignVendor(m) => p.edits(m),
        A::ManageOwnVendor(v) => p.role == Role::Admin || (p.role == Role::Vendor && p.vendor_id == Some(v)),
        A::RecordVendorChecks => matches!(p.role, Role::Admin | Role::System),
        // Systems follow the change log; a person signed in as a resident has no use for it.
        A::FollowChanges => !matches!(p.role, Role::Anonymous | Role::Resident),
        A::ReadAuditTrail(m) => p.edits(m),
        // Every booking has an owner who can find and cancel it: a signed-in person (or an app
        // with their token). Keys of organisations and internal jobs never book.
        A::BookUnit => p.person.is_some(),
        A::OwnPersonalData => p.person.is_some(),
        A::RegisterAssociation => p.person.is_some(),
        A::Represent(listed) => listed && p.person.is_some(),
        A::ManageAllocation(m) => p.edits(m),
        A::ManageGrants(m) => p.edits(m),
    }
}

/// [`allowed`] as a result: `Unauthenticated` for anonymous callers, `Forbidden` otherwise.
pub fn authorize(p: &Principal, action: Action<'_>) -> Result<()> {
    if allowed(p, action) {
        return Ok(());
    }
    // What only a signed-in person may do: a key does not help.
    let person_only = matches!(action, Action::BookUnit | Action::OwnPersonalData | Action::RegisterAssociation | Action::Represent(_));
    if p.role == Role::Anonymous {
        let how = if person_only { "signing in" } else { "signing in or an API key" };
        return Err(Error::Unauthenticated(format!("{} needs {how}", describe(action))));
    }
    Err(Error::Forbidden(format!("role '{}' may not {}", p.role.name(), describe(action))))
}

/// Refuses an anonymous caller `what` (a write) before anything is looked up, so an anonymous
/// write learns nothing, not even whether the id exists; [`authorize`] then decides for the
/// resource itself.
pub fn require_key(p: &Principal, what: &str) -> Result<()> {
    if p.role == Role::Anonymous {
        return Err(Error::Unauthenticated(format!("{what} needs signing in or an API key")));
    }
    Ok(())
}

fn describe(action: Action<'_>) -> String {
    use Action as A;
    match action {
        A::ReadPublic => "read public data".into(),
        A::CreateFacility(m) => format!("create facilities in municipality {m}"),
        A::UpdateFacility(m) => format!("update facilities of municipality {m}"),
        A::DeleteFacility(m) => format!("delete facilities of municipality {m}"),
        A::CreateAssociation(m) => format!("register associations in municipality {m}"),
        A::UpdateAssociation(m) => format!("update associations of municipality {m}"),
        A::DeleteAssociation(m) => format!("delete associations of municipality {m}"),
        A::DecideRegistration(m) => format!("decide registrations of municipality {m}"),
        A::ReadUnapproved(m) => format!("see unapproved associations of municipality {m}"),
        A::ReadMemberStatistics(m) => format!("read member statistics of municipality {m}"),
        A::ReadContactPersons(m) => format!("read contact persons (personal data) of municipality {m} without the personal-data scope"),
        A::SyncLocation(m) => format!("set synced locations of municipality {m}'s facilities"),
        A::ManageGeodata => "manage municipality boundaries and the geodata sync".into(),
        A::ManageVendors => "manage the vendor directory".into(),
        A::AssignVendor(m) => format!("choose the booking vendor of municipality {m}'s units"),
        A::ManageOwnVendor(v) => format!("manage vendor {v}'s directory entry (only that vendor's own keys and admins may)"),
        A::RecordVendorChecks => "record vendor checks".into(),
        A::FollowChanges => "follow the change log".into(),
        A::ReadAuditTrail(m) => format!("read the audit trail of municipality {m}'s data"),
        A::BookUnit => "book units (bookings are made by signed-in people, with e-legitimation)".into(),
        A::OwnPersonalData => "see or erase a person's own data (only a signed-in person may, for themselves)".into(),
        A::RegisterAssociation => "register an association as its representative (sign in with e-legitimation)".into(),
        A::Represent(_) => "act for this association (only its representatives may)".into(),
        A::ManageAllocation(m) => format!("run the seasonal allocation of municipality {m}"),
        A::ManageGrants(m) => format!("handle the grants of municipality {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principals() -> Vec<(&'static str, Principal)> {
        vec![
            ("anonymous", Principal::anonymous()),
            ("editor 1880", Principal::editor("k1", "1880")),
            ("editor 1880 + pd", Principal::editor("k2", "1880").with_personal_data()),
            ("vendor", Principal::with_role("k3", Role::Vendor)),
            ("vendor + pd", Principal::with_role("k3", Role::Vendor).with_personal_data()),
            ("national body", Principal::with_role("k4", Role::NationalBody)),
            ("national body + pd", Principal::with_role("k4", Role::NationalBody).with_personal_data()),
            ("admin", Principal::operator("k5")),
            ("admin + pd", Principal::operator("k5").with_personal_data()),
            ("system", Principal::system("system:geodata-sync")),
            ("vendor 1", Principal::vendor("k6", VENDOR)),
            ("resident", Principal::person(person(), None)),
            ("staff 1880", Principal::person(person(), Some("1880".into()))),
        ]
    }

    const VENDOR: Uuid = Uuid::from_u128(1);

    fn person() -> Person {
        Person { person_ref: "ab".repeat(32), name: "Anna Andersson".into() }
    }

    /// The whole matrix, written out: one row per action, one column per principal in the
    /// order of `principals()`, for a resource in the editor's own municipality (1880).
    #[test]
    fn matrix_own_municipality() {
        type Row = (Action<'static>, [u8; 13]);
        let rows: [Row; 24] = [
            (Action::ReadPublic, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            (Action::CreateFacility("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::UpdateFacility("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::DeleteFacility("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::CreateAssociation("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::UpdateAssociation("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::DeleteAssociation("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::DecideRegistration("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::ReadUnapproved("1880"), [0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1]),
            (Action::ReadMemberStatistics("1880"), [0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1]),
            (Action::ReadContactPersons("1880"), [0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
            // Editors correct their own locations by hand; only the sync job sets synced ones.
            (Action::SyncLocation("1880"), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]),
            (Action::ManageGeodata, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]),
            (Action::ManageVendors, [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
            (Action::AssignVendor("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            // A vendor's own key manages its own entry only; keys of no vendor manage none.
            (Action::ManageOwnVendor(VENDOR), [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0]),
            (Action::ManageOwnVendor(Uuid::from_u128(2)), [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
            (Action::RecordVendorChecks, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]),
            (Action::ReadContactPersons("0180"), [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
            (Action::FollowChanges, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1]),
            (Action::ReadAuditTrail("1880"), [0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]),
            (Action::ReadAuditTrail("0180"), [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
            // Signed-in people only: the resident and the signed-in staff member.
            (Action::BookUnit, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
            (Action::OwnPersonalData, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
        ];
        for (action, expected) in rows {
            for ((name, p), want) in principals().iter().zip(expected) {
                assert_eq!(allowed(p, action), want == 1, "{name} / {action:?}");
            }
        }
    }

    #[test]
    fn editor_of_one_municipality_cannot_touch_another() {
        let gbg = Principal::editor("k", "1480").with_personal_data();
        for action in [
            Action::CreateFacility("0180"),
            Action::UpdateFacility("0180"),
            Action::DeleteFacility("0180"),
            Action::CreateAssociation("0180"),
            Action::UpdateAssociation("0180"),
            Action::DeleteAssociation("0180"),
            Action::DecideRegistration("0180"),
            Action::ReadUnapproved("0180"),
            Action::ReadMemberStatistics("0180"),
            Action::ReadContactPersons("0180"),
        ] {
            let err = authorize(&gbg, action).unwrap_err();
            assert!(matches!(err, Error::Forbidden(_)), "{action:?}: {err}");
        }
        assert!(authorize(&gbg, Action::UpdateFacility("1480")).is_ok());
    }

    #[test]
    fn anonymous_writes_are_unauthenticated_not_forbidden() {
        let err = authorize(&Principal::anonymous(), Action::CreateFacility("0180")).unwrap_err();
        assert!(matches!(err, Error::Unauthenticated(_)));
    }
}
