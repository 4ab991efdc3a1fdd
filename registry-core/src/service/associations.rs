//! Use cases for associations (föreningar): the national record, its registrations with
//! municipalities, their decisions, representatives and member statistics.
//!
//! Who may act for an association follows from data: a signed-in person listed as its
//! representative (read inside each write's transaction, so a removed representative is
//! refused at once), the staff or editor keys of a municipality it is registered in, admins.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{AssociationFilter, Page, PageRequest, Registry, page_of};
use crate::auth::{self, Action, Principal, Role};
use crate::changelog::{self, Operation};
use crate::db::associations::{self as store, Record, Visibility};
use crate::error::{Error, Result};
use crate::model::{
    Association, AssociationInput, Decision, InboxItem, MemberStatistics, MemberStatisticsReport, MunicipalRegistration, NewRepresentative,
    RegistrationDetail, RegistrationEventKind, RegistrationStatus, Representative, validate_member_counts,
};
use crate::validate::Violations;

const ENTITY: &str = "association";

fn duplicate_org_number(org_number: &str, owner: Uuid) -> Error {
    Error::Conflict {
        field: Some("orgNumber".into()),
        rule: "unique",
        message: format!(
            "an association with organisation number {} is already registered (id {owner}); one record serves every municipality: \
             its representatives or the municipality's staff register it with another municipality through its registrations",
            crate::orgnr::display(org_number)
        ),
    }
}

fn precondition(id: Uuid, expected: i64, actual: i64) -> Error {
    Error::PreconditionFailed { entity: ENTITY, id: id.to_string(), expected, actual }
}

/// Which side acts, as recorded in events and reports: never the person.
fn side(p: &Principal, represents: bool) -> &'static str {
    match p.role {
        Role::Admin => "admin",
        Role::MunicipalityEditor { .. } if !represents => "municipality",
        _ => "representative",
    }
}

/// The municipalities whose registrations count for an editor's rights: every one that is not withdrawn.
fn live_municipalities(a: &Association) -> impl Iterator<Item = &str> {
    a.registrations.iter().filter(|r| r.status != RegistrationStatus::Withdrawn).map(|r| r.municipality_code.as_str())
}

/// Whether `p` may see registrations of municipality `m` that are not approved.
fn sees_unapproved(p: &Principal, m: &str) -> bool {
    auth::allowed(p, Action::ReadUnapproved(m))
}

/// What `p` may see of `a`: `None` if not even that it exists (no approved registration and
/// none the caller may see); otherwise the association with restricted fields removed.
/// `represents` is whether `p` is its representative.
pub(super) fn project(p: &Principal, mut a: Association, represents: bool) -> Option<Association> {
    let full = represents || matches!(p.role, Role::Admin | Role::NationalBody);
    let visible = |r: &MunicipalRegistration| full || r.status == RegistrationStatus::Approved || sees_unapproved(p, &r.municipality_code);
    // Every association has a registration (the migration gave each one); an association
    // without one would be its seat's to see.
    let seen =
        if a.registrations.is_empty() { full || sees_unapproved(p, &a.municipality_code) } else { a.registrations.iter().any(visible) };
    if !seen {
        return None;
    }
    let codes: Vec<String> = a.registrations.iter().map(|r| r.municipality_code.clone()).chain([a.municipality_code.clone()]).collect();
    if !represents && !codes.iter().any(|m| auth::allowed(p, Action::ReadMemberStatistics(m))) {
        a.member_statistics = None;
        a.member_statistics_by_year = None;
    }
    if !represents && !codes.iter().any(|m| auth::allowed(p, Action::ReadContactPersons(m))) {
        a.contact_persons = None;
        // "c/o" names a person as often as not: personal data like the contact persons.
        if let Some(address) = &mut a.postal_address {
            address.care_of = None;
        }
    }
    a.registrations.retain(visible);
    Some(a)
}

/// The refusal of a write on an association for a caller who is neither its representative
/// nor staff of a municipality it is registered in.
fn refuse(p: &Principal, what: &str) -> Error {
    if p.role == Role::Anonymous {
        return Error::Unauthenticated(format!("{what} needs signing in"));
    }
    Error::Forbidden(format!(
        "role '{}' may not {what}: only the association's representatives, staff of a municipality it is registered in and admins may",
        p.role.name()
    ))
}

/// Whether `p` may act for `a` as a whole: as its representative, or as editor of a
/// municipality it is registered in.
fn may_act_for(p: &Principal, a: &Association, represents: bool) -> bool {
    auth::allowed(p, Action::Represent(represents))
        || live_municipalities(a).any(|m| auth::allowed(p, Action::UpdateAssociation(m)))
        || auth::allowed(p, Action::UpdateAssociation(&a.municipality_code)) && a.registrations.is_empty()
        || p.role == Role::Admin
}

/// Whether the signed-in caller (if any) represents association `id`: read in the caller's transaction.
async fn represents(conn: &mut AsyncPgConnection, p: &Principal, id: Uuid) -> Result<bool> {
    Ok(match &p.person {
        Some(person) => store::represents(conn, id, &person.person_ref).await?,
        None => false,
    })
}

/// Loads an association for a write, under a row lock: not found if the caller may not even
/// see it, precondition failed on a stale version. Returns it with whether the caller represents it.
async fn lock(conn: &mut AsyncPgConnection, p: &Principal, id: Uuid) -> Result<(Association, bool)> {
    let current = store::load(conn, id, true).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
    let rep = represents(conn, p, id).await?;
    if project(p, current.clone(), rep).is_none() {
        return Err(Error::not_found(ENTITY, id));
    }
    Ok((current, rep))
}

fn check_version(id: Uuid, expected: Option<i64>, actual: i64) -> Result<()> {
    match expected {
        Some(e) if e != actual => Err(precondition(id, e, actual)),
        _ => Ok(()),
    }
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

/// Every year's current figures, oldest first, from the reports.
fn current_by_year(reports: &[MemberStatisticsReport]) -> Vec<MemberStatistics> {
    reports.iter().filter(|r| r.current).map(|r| MemberStatistics { year: r.year, counts: r.counts.clone() }).collect()
}

/// After a write: the association as stored (with the trigger's summary), logged as changed.
async fn logged(conn: &mut AsyncPgConnection, actor: &str, id: Uuid, before: Option<&Association>, op: Operation) -> Result<Association> {
    let after = store::load(conn, id, false).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
    changelog::append(conn, ENTITY, id, op, actor, before, Some(&after)).await?;
    Ok(after)
}

/// One step of a registration: what happened, the message, which side, when.
struct Step<'a> {
    kind: RegistrationEventKind,
    message: Option<&'a str>,
    by: &'static str,
    now: DateTime<Utc>,
}

/// Writes a registration's next state and its event, raises the association's version and
/// logs the change (so feeds and exports see it).
async fn record_step(
    conn: &mut AsyncPgConnection,
    actor: &str,
    current: &Association,
    next: &MunicipalRegistration,
    step: Step<'_>,
) -> Result<Association> {
    store::put_registration(conn, current.id, next).await?;
    store::add_event(conn, current.id, &next.municipality_code, step.kind, step.message, step.by, step.now).await?;
    store::touch(conn, current.id, step.now).await?;
    logged(conn, actor, current.id, Some(current), Operation::Update).await
}

/// The key of the staff inbox's pages: (submitted at, association id).
fn inbox_token(t: DateTime<Utc>, id: Uuid) -> String {
    super::search::hex(format!("inbox:{}:{id}", t.timestamp_micros()).as_bytes())
}

fn parse_inbox_token(token: &str) -> Result<Option<(DateTime<Utc>, Uuid)>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("pageToken", "format", "is not a page token returned by this listing");
    let text = String::from_utf8(super::search::unhex(token).ok_or_else(bad)?).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    let (Some("inbox"), Some(t), Some(id)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let t = t.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
    Ok(Some((t, id.parse().map_err(|_| bad())?)))
}

impl Registry {
    /// Registers an association: a new national record with a `pending` registration in its
    /// municipality (the seat). A signed-in resident who registers becomes its first
    /// representative; a municipality's editor registers it for its own municipality.
    pub async fn create_association(&self, p: &Principal, input: &AssociationInput) -> Result<Association> {
        let now = self.now();
        self.authorize_create_association(p, input.municipality_code.trim())?;
        let as_registrant = !auth::allowed(p, Action::CreateAssociation(input.municipality_code.trim()));
        let input = input.validate(self.clock.year())?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let created = conn
            .transaction(async move |conn| {
                if let Some(owner) = store::org_number_owner(conn, &input.org_number, None).await? {
                    return Err(duplicate_org_number(&input.org_number, owner));
                }
                let id = Uuid::now_v7();
                let by_year: Vec<MemberStatistics> = input.member_statistics.iter().cloned().collect();
                store::insert(conn, id, &Record { input: &input, by_year: &by_year, version: 1, created_at: now, now }).await?;
                let by = side(&principal, as_registrant);
                for s in &by_year {
                    store::add_report(conn, id, s, 1, by, now).await?;
                }
                let registration = MunicipalRegistration {
                    municipality_code: input.municipality_code.clone(),
                    status: RegistrationStatus::Pending,
                    message: None,
                    submitted_at: now,
                    decided_at: None,
                };
                store::put_registration(conn, id, &registration).await?;
                store::add_event(conn, id, &input.municipality_code, RegistrationEventKind::Submitted, None, by, now).await?;
                if as_registrant {
                    let person = principal.person.as_ref().expect("authorized: a person");
                    store::add_representative(conn, id, &person.person_ref, &person.name, "registrant", now).await?;
                }
                logged(conn, &actor, id, None, Operation::Create).await
            })
            .await?;
        Ok(project(p, created, as_registrant).expect("the creator may see what it created"))
    }

    /// The create use case's authorization step on its own, for a front end that must refuse a
    /// caller before it decodes the body (401/403 come before a 400 about the body).
    pub fn authorize_create_association(&self, p: &Principal, municipality_code: &str) -> Result<()> {
        if auth::allowed(p, Action::RegisterAssociation) {
            return Ok(());
        }
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
        let mut conn = self.conn().await?;
        let current = store::load(&mut conn, id, false).await.map_err(Error::from)?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        let rep = represents(&mut conn, p, id).await?;
        drop(conn);
        let Some(shown) = project(p, current.clone(), rep) else { return Err(Error::not_found(ENTITY, id).into()) };
        if !may_act_for(p, &current, rep) {
            return Err(refuse(p, "update this association").into());
        }
        let (expected_version, input) = change(&shown)?;
        Ok(self.update_association(p, id, expected_version, &input).await?)
    }

    /// One association, as much of it as the caller may see; audited if it shows personal data.
    pub async fn get_association(&self, p: &Principal, id: Uuid) -> Result<Association> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let a = store::load(&mut conn, id, false).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        let rep = represents(&mut conn, p, id).await?;
        let a = project(p, a, rep).ok_or_else(|| Error::not_found(ENTITY, id))?;
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
        let not_found = || Error::not_found(ENTITY, crate::orgnr::display(&digits));
        let a = store::load_by_org_number(&mut conn, &digits).await?.ok_or_else(not_found)?;
        let rep = represents(&mut conn, p, a.id).await?;
        let a = project(p, a, rep).ok_or_else(not_found)?;
        audit_personal_data(&mut conn, p, std::slice::from_ref(&a)).await?;
        Ok(a)
    }

    /// Lists associations ordered by id: those approved somewhere for everyone, and those a
    /// caller may see otherwise (its municipality's, national bodies and admins all, a
    /// representative its own).
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
        let represented: HashSet<Uuid> = match &p.person {
            Some(person) => store::represented_by(&mut conn, &person.person_ref).await?.into_iter().collect(),
            None => HashSet::new(),
        };
        let mine: Vec<Uuid> = represented.iter().copied().collect();
        let items = store::list(&mut conn, filter, &visibility, &mine, after, limit + 1).await?;
        let mut page = page_of("a", items, limit, |a| a.id);
        page.items = page.items.into_iter().filter_map(|a| project(p, a.clone(), represented.contains(&a.id))).collect();
        audit_personal_data(&mut conn, p, &page.items).await?;
        Ok(page)
    }

    /// The associations the signed-in caller represents, with everything they may see.
    pub async fn my_associations(&self, p: &Principal) -> Result<Vec<Association>> {
        auth::authorize(p, Action::OwnPersonalData)?;
        let person = p.person.as_ref().expect("authorized: a person");
        let mut conn = self.conn().await?;
        let ids = store::represented_by(&mut conn, &person.person_ref).await?;
        let mut items: Vec<Association> =
            store::load_many(&mut conn, &ids).await?.into_iter().filter_map(|a| project(p, a, true)).collect();
        items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        audit_personal_data(&mut conn, p, &items).await?;
        Ok(items)
    }

    /// Replaces an association's details if it is still at `expected_version`. Registrations
    /// sent back for completion are resubmitted (status `pending`); member statistics for a
    /// year that differ from its current report become a new version of it.
    pub async fn update_association(
        &self,
        p: &Principal,
        id: Uuid,
        expected_version: i64,
        input: &AssociationInput,
    ) -> Result<Association> {
        let now = self.now();
        auth::require_key(p, "updating associations")?;
        let input = input.validate(self.clock.year())?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let (updated, rep) = conn
            .transaction(async move |conn| {
                let (current, rep) = lock(conn, &principal, id).await?;
                if !may_act_for(&principal, &current, rep) {
                    return Err(refuse(&principal, "update this association"));
                }
                check_version(id, Some(expected_version), current.version)?;
                let mut input = input;
                if input.municipality_code != current.municipality_code
                    && !live_municipalities(&current).any(|m| m == input.municipality_code)
                {
                    return Err(Error::invalid(
                        "municipalityCode",
                        "not_registered",
                        format!(
                            "the seat can only move to a municipality the association is registered with; register it with {} first",
                            input.municipality_code
                        ),
                    ));
                }
                if let Some(owner) = store::org_number_owner(conn, &input.org_number, Some(id)).await? {
                    return Err(duplicate_org_number(&input.org_number, owner));
                }
                // A caller who cannot see the contact persons cannot have meant to change them.
                let shown = project(&principal, current.clone(), rep).expect("locked: visible");
                if shown.contact_persons.is_none() {
                    input.contact_persons = current.contact_persons.clone().unwrap_or_default();
                    if let (Some(new), Some(old)) = (&mut input.postal_address, &current.postal_address)
                        && new.care_of.is_none()
                    {
                        new.care_of = old.care_of.clone();
                    }
                }
                if input.status.is_none() {
                    input.status = Some(current.status);
                }
                let by = side(&principal, rep);
                let mut reports = store::reports_of(conn, id).await?;
                if let Some(s) = input.member_statistics.clone()
                    && shown.member_statistics_by_year.is_some()
                {
                    let latest = reports.iter().filter(|r| r.year == s.year).map(|r| (r.version, r.counts.clone())).max_by_key(|r| r.0);
                    if latest.as_ref().is_none_or(|(_, counts)| *counts != s.counts) {
                        store::add_report(conn, id, &s, latest.map_or(1, |(v, _)| v + 1), by, now).await?;
                        reports = store::reports_of(conn, id).await?;
                    }
                }
                let by_year = current_by_year(&reports);
                let record = Record { input: &input, by_year: &by_year, version: current.version + 1, created_at: current.created_at, now };
                store::update(conn, id, &record).await?;
                for r in current.registrations.iter().filter(|r| r.status == RegistrationStatus::NeedsCompletion) {
                    let next = MunicipalRegistration { status: RegistrationStatus::Pending, message: None, submitted_at: now, ..r.clone() };
                    store::put_registration(conn, id, &next).await?;
                    store::add_event(conn, id, &r.municipality_code, RegistrationEventKind::Resubmitted, None, by, now).await?;
                }
                Ok::<_, Error>((logged(conn, &actor, id, Some(&current), Operation::Update).await?, rep))
            })
            .await?;
        project(p, updated, rep).ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// Deletes an association (soft delete). With `expected_version`, only at that version.
    /// A municipality's editor may delete only an association registered with no other
    /// municipality; representatives withdraw their registrations instead.
    pub async fn delete_association(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<()> {
        let now = self.now();
        auth::require_key(p, "deleting associations")?;
        let actor = p.id.clone();
        let p = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let (current, _) = lock(conn, &p, id).await?;
            let mut munis: Vec<&str> = live_municipalities(&current).collect();
            if munis.is_empty() {
                munis.push(&current.municipality_code);
            }
            for m in &munis {
                auth::authorize(&p, Action::DeleteAssociation(m))?;
            }
            check_version(id, expected_version, current.version)?;
            store::soft_delete(conn, id, now).await?;
            changelog::append(conn, ENTITY, id, Operation::Delete, &actor, Some(&current), None).await?;
            Ok(())
        })
        .await
    }

    /// A municipality approves, rejects or asks for completion of the association's
    /// registration with it (`pending` or `needs_completion`). Without `municipality_code`,
    /// the caller's own municipality (an editor's), else the seat's.
    pub async fn decide_registration(
        &self,
        p: &Principal,
        id: Uuid,
        municipality_code: Option<&str>,
        expected_version: Option<i64>,
        decision: &Decision,
    ) -> Result<Association> {
        let now = self.now();
        let (status, message) = decision.validate()?;
        let event = decision.event();
        let actor = p.id.clone();
        let principal = p.clone();
        let wanted = municipality_code.map(str::to_string);
        let mut conn = self.conn().await?;
        let (updated, rep) = conn
            .transaction(async move |conn| {
                let (current, rep) = lock(conn, &principal, id).await?;
                let m = wanted
                    .or_else(|| principal.municipality().map(str::to_string))
                    .unwrap_or_else(|| current.municipality_code.clone());
                auth::authorize(&principal, Action::DecideRegistration(&m))?;
                check_version(id, expected_version, current.version)?;
                let Some(reg) = current.registrations.iter().find(|r| r.municipality_code == m) else {
                    return Err(Error::not_found("registration", format!("{id}/{m}")));
                };
                if !reg.status.decidable() {
                    return Err(Error::Conflict {
                        field: Some("registration.status".into()),
                        rule: "invalid_transition",
                        message: format!(
                            "the registration with {m} is already {}; only pending registrations and those sent back for completion can be decided",
                            reg.status.as_str()
                        ),
                    });
                }
                let next = MunicipalRegistration { status, message: message.clone(), decided_at: Some(now), ..reg.clone() };
                // The association hears of the decision at its public e-mail address.
                if let Some(to) = &current.contact.email {
                    let data = serde_json::json!({
                        "association": current.name,
                        "municipality": crate::codes::municipality(&m).map_or(m.as_str(), |x| x.name.as_str()),
                        "decision": status.as_str(),
                        "message": message.clone().unwrap_or_default(),
                    });
                    crate::notify::enqueue(conn, crate::notify::Kind::RegistrationDecided, to, data, now).await?;
                }
                let step = Step { kind: event, message: message.as_deref(), by: side(&principal, false), now };
                Ok::<_, Error>((record_step(conn, &actor, &current, &next, step).await?, rep))
            })
            .await?;
        project(p, updated, rep).ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// Registers an existing association with another municipality (`pending` there), or
    /// again where it was rejected or withdrawn: its representatives, or that municipality's staff.
    pub async fn add_registration(
        &self,
        p: &Principal,
        id: Uuid,
        municipality_code: &str,
        expected_version: Option<i64>,
    ) -> Result<Association> {
        let now = self.now();
        auth::require_key(p, "registering associations")?;
        let mut v = Violations::default();
        let m = crate::codes::check_municipality(&mut v, "municipalityCode", municipality_code);
        v.finish()?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        let (updated, rep) = conn
            .transaction(async move |conn| {
                let (current, rep) = lock(conn, &principal, id).await?;
                if !auth::allowed(&principal, Action::Represent(rep)) && !auth::allowed(&principal, Action::CreateAssociation(&m)) {
                    return Err(refuse(&principal, &format!("register this association with municipality {m}")));
                }
                check_version(id, expected_version, current.version)?;
                if let Some(r) = current.registrations.iter().find(|r| r.municipality_code == m)
                    && !matches!(r.status, RegistrationStatus::Rejected | RegistrationStatus::Withdrawn)
                {
                    return Err(Error::Conflict {
                        field: Some("municipalityCode".into()),
                        rule: "already_registered",
                        message: format!("the association is already registered with {m} ({})", r.status.as_str()),
                    });
                }
                let next = MunicipalRegistration {
                    municipality_code: m.clone(),
                    status: RegistrationStatus::Pending,
                    message: None,
                    submitted_at: now,
                    decided_at: None,
                };
                let step = Step { kind: RegistrationEventKind::Submitted, message: None, by: side(&principal, rep), now };
                Ok::<_, Error>((record_step(conn, &actor, &current, &next, step).await?, rep))
            })
            .await?;
        project(p, updated, rep).ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// The association answers a completion request (with an optional message) and sends
    /// its registration with `municipality_code` back to `pending`; or withdraws it
    /// (`withdraw`). Representatives and admins.
    pub async fn answer_registration(
        &self,
        p: &Principal,
        id: Uuid,
        municipality_code: &str,
        expected_version: Option<i64>,
        answer: RegistrationAnswer,
    ) -> Result<Association> {
        let now = self.now();
        auth::require_key(p, "answering registrations")?;
        let message = match &answer {
            RegistrationAnswer::Resubmit { message } => {
                let mut v = Violations::default();
                let m = v.optional_multiline("message", message, 2000);
                v.finish()?;
                Some(m).filter(|m| !m.is_empty())
            }
            RegistrationAnswer::Withdraw => None,
        };
        let actor = p.id.clone();
        let principal = p.clone();
        let m = municipality_code.trim().to_string();
        let mut conn = self.conn().await?;
        let (updated, rep) = conn
            .transaction(async move |conn| {
                let (current, rep) = lock(conn, &principal, id).await?;
                if !auth::allowed(&principal, Action::Represent(rep)) && principal.role != Role::Admin {
                    return Err(refuse(&principal, "answer or withdraw this association's registrations"));
                }
                check_version(id, expected_version, current.version)?;
                let Some(reg) = current.registrations.iter().find(|r| r.municipality_code == m) else {
                    return Err(Error::not_found("registration", format!("{id}/{m}")));
                };
                let (next, kind) = match answer {
                    RegistrationAnswer::Resubmit { .. } => {
                        // An update of the record already sent it back (without words): the
                        // answer that follows joins it, as long as the municipality has not
                        // acted since.
                        let answers_update = reg.status == RegistrationStatus::Pending
                            && store::events_of(conn, id, &m).await?.last().is_some_and(|e| {
                                e.kind == RegistrationEventKind::Resubmitted && e.by != "municipality" && e.message.is_none()
                            });
                        if reg.status != RegistrationStatus::NeedsCompletion && !answers_update {
                            return Err(Error::Conflict {
                                field: Some("registration.status".into()),
                                rule: "invalid_transition",
                                message: format!(
                                    "the registration with {m} is {}; only one sent back for completion (or just sent back by an update) can be answered",
                                    reg.status.as_str()
                                ),
                            });
                        }
                        let next =
                            MunicipalRegistration { status: RegistrationStatus::Pending, message: None, submitted_at: now, ..reg.clone() };
                        (next, RegistrationEventKind::Resubmitted)
                    }
                    RegistrationAnswer::Withdraw => {
                        if reg.status == RegistrationStatus::Withdrawn {
                            return Err(Error::Conflict {
                                field: Some("registration.status".into()),
                                rule: "invalid_transition",
                                message: format!("the registration with {m} is already withdrawn"),
                            });
                        }
                        (
                            MunicipalRegistration { status: RegistrationStatus::Withdrawn, message: None, ..reg.clone() },
                            RegistrationEventKind::Withdrawn,
                        )
                    }
                };
                let step = Step { kind, message: message.as_deref(), by: side(&principal, rep), now };
                Ok::<_, Error>((record_step(conn, &actor, &current, &next, step).await?, rep))
            })
            .await?;
        project(p, updated, rep).ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// The association's registrations with their history (the municipality's messages and
    /// the association's answers): its representatives, national bodies and admins see every
    /// one, a municipality's staff their own.
    pub async fn registrations(&self, p: &Principal, id: Uuid) -> Result<Vec<RegistrationDetail>> {
        auth::require_key(p, "reading a registration's history")?;
        let mut conn = self.conn().await?;
        let a = store::load(&mut conn, id, false).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        let rep = represents(&mut conn, p, id).await?;
        if project(p, a.clone(), rep).is_none() {
            return Err(Error::not_found(ENTITY, id));
        }
        let all = rep || matches!(p.role, Role::Admin | Role::NationalBody);
        let mine: Vec<MunicipalRegistration> =
            a.registrations.into_iter().filter(|r| all || auth::allowed(p, Action::DecideRegistration(&r.municipality_code))).collect();
        if mine.is_empty() {
            return Err(refuse(p, "read this association's registrations"));
        }
        let mut out = Vec::with_capacity(mine.len());
        for r in mine {
            let events = store::events_of(&mut conn, id, &r.municipality_code).await?;
            out.push(RegistrationDetail { registration: r, events });
        }
        Ok(out)
    }

    /// A municipality's registrations waiting for it (by default `pending`), oldest
    /// submission first: its staff and editor keys (the caller's own municipality when
    /// `municipality_code` is absent), national bodies and admins.
    pub async fn registration_inbox(
        &self,
        p: &Principal,
        municipality_code: Option<&str>,
        statuses: &[RegistrationStatus],
        page: &PageRequest,
    ) -> Result<Page<InboxItem>> {
        auth::require_key(p, "reading the registration inbox")?;
        let mut v = Violations::default();
        let m = match municipality_code.or(p.municipality()) {
            Some(m) => crate::codes::check_municipality(&mut v, "municipalityCode", m),
            None => {
                v.add("municipalityCode", "required", "name the municipality whose inbox to read");
                String::new()
            }
        };
        v.finish()?;
        auth::authorize(p, Action::ReadUnapproved(&m))?;
        let (limit, _) = PageRequest { page_size: page.page_size, page_token: String::new() }.decode("i")?;
        let after = parse_inbox_token(&page.page_token)?;
        let statuses: Vec<&str> =
            if statuses.is_empty() { vec![RegistrationStatus::Pending.as_str()] } else { statuses.iter().map(|s| s.as_str()).collect() };
        let mut conn = self.conn().await?;
        let mut rows = store::inbox(&mut conn, &m, &statuses, after, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => inbox_token(last.4.submitted_at, last.0),
            _ => String::new(),
        };
        let items = rows
            .into_iter()
            .map(|(association_id, org_number, name, version, registration)| InboxItem {
                association_id,
                org_number,
                name,
                version,
                registration,
            })
            .collect();
        Ok(Page { items, next_page_token })
    }

    /// The association's representatives (personal data: names), audited: its
    /// representatives, and with the personal-data scope, staff of a municipality it is
    /// registered in and admins.
    pub async fn representatives(&self, p: &Principal, id: Uuid) -> Result<Vec<Representative>> {
        auth::require_key(p, "reading representatives")?;
        let mut conn = self.conn().await?;
        let a = store::load(&mut conn, id, false).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
        let rep = represents(&mut conn, p, id).await?;
        let shown = project(p, a, rep).ok_or_else(|| Error::not_found(ENTITY, id))?;
        if shown.contact_persons.is_none() {
            return Err(refuse(p, "read this association's representatives (personal data)"));
        }
        let rows = store::representatives(&mut conn, id).await?;
        let detail = serde_json::json!({ "fields": ["representatives"], "count": rows.len() });
        changelog::audit(&mut conn, &p.id, "read_personal_data", Some((ENTITY, id)), detail).await?;
        let me = p.person.as_ref().map(|x| x.person_ref.as_str());
        Ok(rows
            .into_iter()
            .map(|r| Representative { is_you: Some(r.person_ref.as_str()) == me, id: r.id, name: r.name, added_at: r.added_at })
            .collect())
    }

    /// Adds a representative by personal identity number: the association's representatives,
    /// staff of a municipality it is registered in, admins. Returns the new entry (only what
    /// the caller gave; the others' names need the right to read representatives).
    pub async fn add_representative(&self, p: &Principal, id: Uuid, new: &NewRepresentative) -> Result<Representative> {
        let now = self.now();
        auth::require_key(p, "adding representatives")?;
        let mut v = Violations::default();
        let pin = crate::person::check(&mut v, "personalIdentityNumber", &new.personal_identity_number, self.clock.today());
        let name = v.required_text("name", &new.name, 200);
        v.finish()?;
        let person_ref = crate::person::person_ref(&self.pepper, &pin.expect("checked"));
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let (current, rep) = lock(conn, &principal, id).await?;
            if !may_act_for(&principal, &current, rep) {
                return Err(refuse(&principal, "add representatives to this association"));
            }
            if !store::add_representative(conn, id, &person_ref, &name, side(&principal, rep), now).await? {
                return Err(Error::Conflict {
                    field: Some("personalIdentityNumber".into()),
                    rule: "unique",
                    message: "this person already represents the association".into(),
                });
            }
            changelog::audit(conn, &actor, "add_representative", Some((ENTITY, id)), serde_json::json!({})).await?;
            let added = store::representatives(conn, id).await?.into_iter().find(|r| r.person_ref == person_ref).expect("just added");
            let me = principal.person.as_ref().map(|x| x.person_ref.as_str());
            Ok(Representative { is_you: Some(added.person_ref.as_str()) == me, id: added.id, name: added.name, added_at: added.added_at })
        })
        .await
    }

    /// Removes a representative (by the id in the list); at least one remains.
    pub async fn remove_representative(&self, p: &Principal, id: Uuid, representative_id: Uuid) -> Result<()> {
        auth::require_key(p, "removing representatives")?;
        let actor = p.id.clone();
        let principal = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let (current, rep) = lock(conn, &principal, id).await?;
            if !may_act_for(&principal, &current, rep) {
                return Err(refuse(&principal, "remove representatives of this association"));
            }
            let all = store::representatives(conn, id).await?;
            if !all.iter().any(|r| r.id == representative_id) {
                return Err(Error::not_found("representative", representative_id));
            }
            if all.len() == 1 {
                return Err(Error::Conflict {
                    field: Some("representativeId".into()),
                    rule: "last_representative",
                    message: "an association keeps at least one representative: add another before removing this one".into(),
                });
            }
            store::remove_representative(conn, id, representative_id).await?;
            changelog::audit(conn, &actor, "remove_representative", Some((ENTITY, id)), serde_json::json!({})).await?;
            Ok(())
        })
        .await
    }

    /// Every member statistics report of the association (each year's versions): its
    /// representatives, the municipalities it is registered in, national bodies, admins.
    pub async fn member_statistics(&self, p: &Principal, id: Uuid) -> Result<Vec<MemberStatisticsReport>> {
        let a = self.get_association(p, id).await?;
        if a.member_statistics_by_year.is_none() {
            return Err(match p.role {
                Role::Anonymous => Error::Unauthenticated("member statistics need signing in or an API key".into()),
                _ => refuse(p, "read this association's member statistics"),
            });
        }
        Ok(store::reports_of(&mut *self.conn().await?, id).await?)
    }

    /// Reports member statistics for `stats.year`: the first report of a year without
    /// `expected_version`, a correction with the year's current version (one report per year;
    /// every version is kept).
    pub async fn report_member_statistics(
        &self,
        p: &Principal,
        id: Uuid,
        stats: &MemberStatistics,
        expected_version: Option<i32>,
    ) -> Result<MemberStatisticsReport> {
        let now = self.now();
        auth::require_key(p, "reporting member statistics")?;
        let this_year = self.clock.year();
        let mut v = Violations::default();
        if !(1900..=this_year).contains(&stats.year) {
            v.add("year", "out_of_range", format!("must be between 1900 and {this_year}"));
        }
        validate_member_counts(&mut v, "counts", &stats.counts);
        v.finish()?;
        let actor = p.id.clone();
        let principal = p.clone();
        let stats = stats.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let (current, rep) = lock(conn, &principal, id).await?;
            if !may_act_for(&principal, &current, rep) {
                return Err(refuse(&principal, "report this association's member statistics"));
            }
            let reports = store::reports_of(conn, id).await?;
            let latest = reports.iter().filter(|r| r.year == stats.year).map(|r| r.version).max();
            let version = match (latest, expected_version) {
                (None, None) => 1,
                (None, Some(e)) => {
                    return Err(Error::PreconditionFailed {
                        entity: "member statistics",
                        id: format!("{id}/{}", stats.year),
                        expected: e.into(),
                        actual: 0,
                    });
                }
                (Some(l), None) => {
                    return Err(Error::Conflict {
                        field: Some("year".into()),
                        rule: "already_reported",
                        message: format!("{} is already reported (version {l}); send that version to correct it", stats.year),
                    });
                }
                (Some(l), Some(e)) if l != e => {
                    return Err(Error::PreconditionFailed {
                        entity: "member statistics",
                        id: format!("{id}/{}", stats.year),
                        expected: e.into(),
                        actual: l.into(),
                    });
                }
                (Some(l), Some(_)) => l + 1,
            };
            store::add_report(conn, id, &stats, version, side(&principal, rep), now).await?;
            let reports = store::reports_of(conn, id).await?;
            let by_year = current_by_year(&reports);
            let input = current.to_input();
            let record = Record { input: &input, by_year: &by_year, version: current.version + 1, created_at: current.created_at, now };
            store::update(conn, id, &record).await?;
            logged(conn, &actor, id, Some(&current), Operation::Update).await?;
            Ok(reports.into_iter().find(|r| r.year == stats.year && r.version == version).expect("just reported"))
        })
        .await
    }
}

impl Registry {
    /// Redacts personal data from the change log's history of associations older than
    /// `before`: contact persons leave the before/after snapshots, and a signed-in person's
    /// pseudonym as the actor becomes `person` (the log keeps that a change happened and by
    /// which kind of caller). Admins and the registry's own jobs; returns the rows redacted.
    pub async fn redact_personal_history(&self, p: &Principal, before: DateTime<Utc>) -> Result<u64> {
        if !matches!(p.role, Role::Admin | Role::System) {
            return Err(Error::Forbidden(format!("role '{}' may not redact the change log", p.role.name())));
        }
        let mut conn = self.conn().await?;
        let mut total = 0;
        // In batches, so a first run over years of history does not hold one long transaction.
        loop {
            let n = crate::db::changes::redact_personal_data(&mut conn, before, 5_000).await?;
            total += n;
            if n < 5_000 {
                break;
            }
        }
        if total > 0 {
            let detail = serde_json::json!({ "rows": total, "before": before });
            changelog::audit(&mut conn, &p.id, "redact_personal_history", None, detail).await?;
        }
        Ok(total)
    }
}

/// The association's answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationAnswer {
    /// Sends a registration that needs completion back to the municipality, with an optional message.
    Resubmit {
        /// The association's answer to the municipality.
        message: String,
    },
    /// Withdraws the registration.
    Withdraw,
}

/// Checks, in `conn`, that `p` is a signed-in representative of `association` and that the
/// association is approved in `municipality`: what an association needs to apply for training
/// times or grants there. The association on success; otherwise `associationId` not found, 403
/// (not a representative), or 409 `association_not_approved`.
pub async fn approved_representation(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    association: Uuid,
    municipality: &str,
) -> Result<Association> {
    let a = store::load(conn, association, false)
        .await?
        .ok_or_else(|| Error::invalid("associationId", "not_found", format!("association {association} was not found")))?;
    let represents = match &p.person {
        Some(person) => store::represents(conn, association, &person.person_ref).await?,
        None => false,
    };
    if !represents {
        return Err(Error::Forbidden(format!("you do not represent '{}'; ask one of its representatives", a.name)));
    }
    let approved = a
        .registrations
        .iter()
        .any(|r| r.municipality_code == municipality && r.status == crate::model::association::RegistrationStatus::Approved);
    if !approved {
        return Err(Error::Conflict {
            field: Some("associationId".into()),
            rule: "association_not_approved",
            message: format!("'{}' is not an approved association in municipality {municipality}; register it there first", a.name),
        });
    }
    Ok(a)
}
