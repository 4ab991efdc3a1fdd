//! Use cases for associations (föreningar) and their registration.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{AssociationFilter, Page, PageRequest, Registry, page_of};
use crate::auth::{self, Action, Principal, Role};
use crate::changelog::{self, Operation};
use crate::db::associations::{self as store, Visibility};
use crate::error::{Error, Result};
use crate::model::{Association, AssociationInput, Decision, Registration, RegistrationStatus};
use crate::validate::Violations;

const ENTITY: &str = "association";

fn duplicate_org_number(org_number: &str) -> Error {
    Error::Conflict {
        field: Some("orgNumber".into()),
        rule: "unique",
        message: format!("an association with organisation number {} is already registered", crate::orgnr::display(org_number)),
    }
}

fn precondition(id: Uuid, expected: i64, actual: i64) -> Error {
    Error::PreconditionFailed { entity: ENTITY, id: id.to_string(), expected, actual }
}

/// What `p` may see of `a`: `None` if not even that it exists (an unapproved registration of
/// someone else's municipality); otherwise the association with restricted fields removed.
pub(super) fn project(p: &Principal, mut a: Association) -> Option<Association> {
    let m = a.municipality_code.clone();
    if a.registration.status != RegistrationStatus::Approved && !auth::allowed(p, Action::ReadUnapproved(&m)) {
        return None;
    }
    if !auth::allowed(p, Action::ReadMemberStatistics(&m)) {
        a.member_statistics = None;
    }
    if !auth::allowed(p, Action::ReadContactPersons(&m)) {
        a.contact_persons = None;
    }
    Some(a)
}

/// Loads an association for a write, under a row lock: not found if the caller may not even
/// see it, forbidden if it may not do `action` on it, precondition failed on a stale version.
async fn lock_for_write(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    action: for<'a> fn(&'a str) -> Action<'a>,
) -> Result<Association> {
    let current = store::load(conn, id, true).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
    if project(p, current.clone()).is_none() {
        return Err(Error::not_found(ENTITY, id));
    }
    auth::authorize(p, action(&current.municipality_code))?;
    if let Some(expected) = expected_version
        && current.version != expected
    {
        return Err(precondition(id, expected, current.version));
    }
    Ok(current)
}

/// Records in the audit log that `p` was shown the contact persons of these associations.
pub(super) async fn audit_personal_data(conn: &mut AsyncPgConnection, p: &Principal, shown: &[Association]) -> Result<()> {
    for a in shown {
        if let Some(persons) = &a.contact_persons {
            let detail = serde_json::json!({ "fields": ["contactPersons"], "count": persons.len() });
            changelog::audit(conn, &p.id, "read_personal_data", Some((ENTITY, a.id)), detail).await?;
        }
    }
    Ok(())
}

impl Registry {
    /// Registers an association; its registration starts as `pending` for the municipality to decide.
    pub async fn create_association(&self, p: &Principal, input: &AssociationInput) -> Result<Association> {
        let now = self.now();
        auth::authorize(p, Action::CreateAssociation(input.municipality_code.trim()))?;
        let input = input.validate(self.clock.year())?;
        let actor = p.id.clone();
        let p = p.clone();
        let mut conn = self.conn().await?;
        let created = conn
            .transaction(async move |conn| {
                if store::org_number_taken(conn, &input.org_number, None).await? {
                    return Err(duplicate_org_number(&input.org_number));
                }
                let registration = Registration { status: RegistrationStatus::Pending, message: None, decided_at: None };
                let created = store::insert(conn, Uuid::now_v7(), &input, &registration, now).await?;
                changelog::append(conn, ENTITY, created.id, Operation::Create, &actor, None, Some(&created)).await?;
                Ok::<_, Error>(created)
            })
            .await?;
        Ok(project(&p, created).expect("the creator may see what it created"))
    }

    /// The create use case's authorization step on its own, for a front end that must refuse a
    /// caller before it decodes the body (401/403 come before a 400 about the body).
    pub fn authorize_create_association(&self, p: &Principal, municipality_code: &str) -> Result<()> {
        auth::authorize(p, Action::CreateAssociation(municipality_code.trim()))
    }

    /// Changes association `id` by a front end's `change` (a merge patch, a field mask), which
    /// turns the current association (as `p` may see it) into the version to write at and the
    /// new details. It is called only once `p` may change the association, so a caller without
    /// the right learns that before anything about the request; then the change is written as
    /// [`Registry::update_association`] writes it.
    pub async fn change_association<E: From<Error>>(
        &self,
        p: &Principal,
        id: Uuid,
        change: impl FnOnce(&Association) -> std::result::Result<(i64, AssociationInput), E>,
    ) -> std::result::Result<Association, E> {
        auth::require_key(p, "updating associations")?;
        let current = self.get_association(p, id).await?;
        auth::authorize(p, Action::UpdateAssociation(&current.municipality_code))?;
        let (expected_version, input) = change(&current)?;
        Ok(self.update_association(p, id, expected_version, &input).await?)
    }

    /// One association, as much of it as the caller may see; audited if it shows personal data.
    pub async fn get_association(&self, p: &Principal, id: Uuid) -> Result<Association> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let a = store::load(&mut conn, id, false).await?.and_then(|a| project(p, a)).ok_or_else(|| Error::not_found(ENTITY, id))?;
        audit_personal_data(&mut conn, p, std::slice::from_ref(&a)).await?;
        Ok(a)
    }

    /// One association by organisation number (`NNNNNN-NNNN` or ten digits).
    pub async fn get_association_by_org_number(&self, p: &Principal, org_number: &str) -> Result<Association> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        let digits = crate::orgnr::check(&mut v, "orgNumber", org_number);
        v.finish()?;
        let mut conn = self.conn().await?;
        let a = store::load_by_org_number(&mut conn, &digits)
            .await?
            .and_then(|a| project(p, a))
            .ok_or_else(|| Error::not_found(ENTITY, crate::orgnr::display(&digits)))?;
        audit_personal_data(&mut conn, p, std::slice::from_ref(&a)).await?;
        Ok(a)
    }

    /// Lists associations ordered by id: approved ones for everyone, every status for the
    /// municipality's editors, national bodies and admins.
    pub async fn list_associations(&self, p: &Principal, filter: &AssociationFilter, page: &PageRequest) -> Result<Page<Association>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        if let Some(m) = &filter.municipality_code {
            crate::codes::check_municipality(&mut v, "municipalityCode", m);
        }
        if let Some(a) = &filter.activity
            && !crate::codes::is_activity(a)
        {
            v.add("activity", "unknown_code", format!("'{a}' is not a known activity code"));
        }
        v.finish()?;
        let visibility = match &p.role {
            Role::Admin | Role::NationalBody => Visibility::All,
            Role::MunicipalityEditor { municipality_code } => Visibility::ApprovedOr(vec![municipality_code.clone()]),
            Role::Anonymous | Role::Resident | Role::Vendor | Role::System => Visibility::ApprovedOr(vec![]),
        };
        let (limit, after) = page.decode("a")?;
        let mut conn = self.conn().await?;
        let items = store::list(&mut conn, filter, &visibility, after, limit + 1).await?;
        let mut page = page_of("a", items, limit, |a| a.id);
        page.items = page.items.into_iter().filter_map(|a| project(p, a)).collect();
        audit_personal_data(&mut conn, p, &page.items).await?;
        Ok(page)
    }

    /// Replaces an association's details if it is still at `expected_version`. An update of a
    /// registration that was sent back for completion resubmits it (status `pending`).
    pub async fn update_association(
        &self,
        p: &Principal,
        id: Uuid,
        expected_version: i64,
        input: &AssociationInput,
    ) -> Result<Association> {
        let now = self.now();
        auth::authorize(p, Action::UpdateAssociation(input.municipality_code.trim()))?;
        let input = input.validate(self.clock.year())?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let updated = conn
            .transaction(async move |conn| {
                let current = lock_for_write(conn, &principal, id, Some(expected_version), |m| Action::UpdateAssociation(m)).await?;
                if input.org_number != current.org_number && store::org_number_taken(conn, &input.org_number, Some(id)).await? {
                    return Err(duplicate_org_number(&input.org_number));
                }
                let registration = match current.registration.status {
                    RegistrationStatus::NeedsCompletion => {
                        Registration { status: RegistrationStatus::Pending, message: None, decided_at: current.registration.decided_at }
                    }
                    _ => current.registration.clone(),
                };
                // A caller who cannot see the contact persons cannot have meant to change them.
                let mut input = input;
                if !auth::allowed(&principal, Action::ReadContactPersons(&current.municipality_code)) {
                    input.contact_persons = current.contact_persons.clone().unwrap_or_default();
                }
                let updated = store::update(conn, &current, &input, &registration, now).await?;
                changelog::append(conn, ENTITY, id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
                Ok::<_, Error>(updated)
            })
            .await?;
        project(p, updated).ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// Deletes an association (soft delete). With `expected_version`, only at that version.
    pub async fn delete_association(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<()> {
        let now = self.now();
        let actor = p.id.clone();
        let p = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let current = lock_for_write(conn, &p, id, expected_version, |m| Action::DeleteAssociation(m)).await?;
            store::soft_delete(conn, id, now).await?;
            changelog::append(conn, ENTITY, id, Operation::Delete, &actor, Some(&current), None).await?;
            Ok(())
        })
        .await
    }

    /// The municipality approves, rejects or asks for completion of a registration that is
    /// `pending` or `needs_completion`.
    pub async fn decide_registration(
        &self,
        p: &Principal,
        id: Uuid,
        expected_version: Option<i64>,
        decision: &Decision,
    ) -> Result<Association> {
        let now = self.now();
        let (status, message) = decision.validate()?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let updated = conn
            .transaction(async move |conn| {
                let current = lock_for_write(conn, &principal, id, expected_version, |m| Action::DecideRegistration(m)).await?;
                if !current.registration.status.decidable() {
                    return Err(Error::Conflict {
                        field: Some("registration.status".into()),
                        rule: "invalid_transition",
                        message: format!(
                            "the registration is already {}; only pending registrations and those sent back for completion can be decided",
                            current.registration.status.as_str()
                        ),
                    });
                }
                let registration = Registration { status, message, decided_at: Some(now) };
                let input = current.to_input();
                let updated = store::update(conn, &current, &input, &registration, now).await?;
                changelog::append(conn, ENTITY, id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
                Ok::<_, Error>(updated)
            })
            .await?;
        project(p, updated).ok_or_else(|| Error::not_found(ENTITY, id))
    }
}
