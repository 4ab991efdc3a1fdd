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
async fn audit_personal_data(conn: &mut AsyncPgConnection, p: &Principal, shown: &[Association]) -> Result<()> {
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
            Role::Anonymous | Role::Vendor | Role::System => Visibility::ApprovedOr(vec![]),
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

/// An association search; every part optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AssociationSearch {
    /// Name text: Swedish full text and typo tolerant.
    pub q: Option<String>,
    /// Organisation number (`NNNNNN-NNNN` or ten digits).
    pub org_number: Option<String>,
    /// Municipality codes (any).
    pub municipalities: Vec<String>,
    /// County codes (any).
    pub counties: Vec<String>,
    /// Activity codes (any).
    pub activities: Vec<String>,
    /// Registration status; statuses other than approved need a role that may see them.
    pub status: Option<RegistrationStatus>,
    /// Hits per page (default 20, at most 100).
    pub page_size: i32,
    /// Token from the previous page.
    pub page_token: String,
}

/// A query with its binds, and one deferred bind.
type SearchQuery = diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>;
type BindFn = Box<dyn FnOnce(SearchQuery) -> SearchQuery + Send>;

#[derive(diesel::QueryableByName)]
struct SearchRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Double)]
    rank: f64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

impl Registry {
    /// Searches associations, ordered by relevance (with `q`) or name, as the caller may see them.
    pub async fn search_associations(&self, p: &Principal, s: &AssociationSearch) -> Result<crate::search::AssociationPage> {
        use diesel::sql_types::{Array, Double, Text};
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        let q = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string);
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            v.add("q", "length", "must be at most 200 characters");
        }
        let org = s.org_number.as_deref().map(|o| crate::orgnr::check(&mut v, "orgNumber", o));
        for (i, m) in s.municipalities.iter().enumerate() {
            crate::codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
        }
        for (i, c) in s.counties.iter().enumerate() {
            if !crate::codes::municipalities().iter().any(|m| &m.county_code == c) {
                v.add(format!("counties[{i}]"), "unknown_code", format!("'{c}' is not a county (län) code"));
            }
        }
        v.codes("activities", &s.activities, 20, crate::codes::is_activity, "activity");
        if s.page_size < 0 {
            v.add("pageSize", "out_of_range", "must not be negative");
        }
        v.finish()?;
        let visibility = match &p.role {
            Role::Admin | Role::NationalBody => Visibility::All,
            Role::MunicipalityEditor { municipality_code } => Visibility::ApprovedOr(vec![municipality_code.clone()]),
            Role::Anonymous | Role::Vendor | Role::System => Visibility::ApprovedOr(vec![]),
        };
        if let (Some(st), Visibility::ApprovedOr(munis)) = (s.status, &visibility)
            && st != RegistrationStatus::Approved
            && munis.is_empty()
        {
            return Err(if p.role == Role::Anonymous {
                Error::Unauthenticated("searching registrations that are not approved needs an API key".into())
            } else {
                Error::Forbidden(format!("role '{}' may not search registrations that are not approved", p.role.name()))
            });
        }
        let size = i64::from(match s.page_size {
            0 => 20,
            n => n.min(crate::search::MAX_PAGE_SIZE),
        });
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Cursor(f64, String, Uuid);
        let cursor: Option<Cursor> = if s.page_token.is_empty() {
            None
        } else {
            Some(
                crate::search::unhex(&s.page_token)
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .ok_or_else(|| Error::invalid("pageToken", "format", "is not a page token of this search"))?,
            )
        };
        let mut sql_where = vec!["a.deleted_at IS NULL".to_string()];
        let mut text_binds: Vec<(usize, String)> = Vec::new();
        let mut next = 0usize;
        let mut p_text = |val: String, v: &mut Vec<(usize, String)>| {
            next += 1;
            v.push((next, val));
            format!("${next}")
        };
        let mut conn = self.read_pool().get().await?;
        let rank = match &q {
            Some(q) => {
                let text = crate::search::TextQuery::prepare(&mut conn, q).await?;
                // The text comes first, so its parameters are $1, $2, …
                let (tsq, values) = text.sql_with(1);
                for v in values {
                    p_text(v, &mut text_binds);
                }
                let ph = p_text(q.clone(), &mut text_binds);
                sql_where.push(format!("a.search_tsv @@ {tsq}"));
                format!("(ts_rank(a.search_tsv, {tsq}) + similarity(a.name, {ph}))::float8")
            }
            None => "0::float8".to_string(),
        };
        if let Some(o) = &org {
            let ph = p_text(o.clone(), &mut text_binds);
            sql_where.push(format!("a.org_number = {ph}"));
        }
        if let Some(st) = s.status {
            let ph = p_text(st.as_str().to_string(), &mut text_binds);
            sql_where.push(format!("a.registration_status = {ph}"));
        }
        if let Visibility::ApprovedOr(munis) = &visibility {
            // Municipality codes of keys are four digits (checked when the key was made).
            let list =
                munis.iter().filter(|m| m.chars().all(|c| c.is_ascii_digit())).map(|m| format!("'{m}'")).collect::<Vec<_>>().join(",");
            sql_where.push(if munis.is_empty() {
                "a.registration_status = 'approved'".to_string()
            } else {
                format!("(a.registration_status = 'approved' OR a.municipality_code IN ({list}))")
            });
        }
        let mut array_binds: Vec<(usize, Vec<String>)> = Vec::new();
        for (col, values) in [("a.municipality_code", &s.municipalities), ("left(a.municipality_code, 2)", &s.counties)] {
            if !values.is_empty() {
                next += 1;
                array_binds.push((next, values.clone()));
                sql_where.push(format!("{col} = ANY(${next})"));
            }
        }
        if !s.activities.is_empty() {
            next += 1;
            array_binds.push((next, s.activities.clone()));
            sql_where.push(format!("a.activities && ${next}"));
        }
        let by_rank = q.is_some();
        let mut cursor_binds: Vec<(usize, f64, String, Uuid)> = Vec::new();
        if let Some(Cursor(r, n, id)) = cursor {
            let (pr, pn, pi) = (next + 1, next + 2, next + 3);
            cursor_binds.push((pr, r, n, id));
            sql_where.push(if by_rank {
                format!("({rank} < ${pr} OR ({rank} = ${pr} AND a.id > ${pi}))")
            } else {
                format!("(a.name, a.id) > (${pn}, ${pi})")
            });
        }
        let order = if by_rank { "rank DESC, a.id" } else { "a.name, a.id" };
        let sql = format!(
            "SELECT a.id, {rank} AS rank, a.name FROM associations a WHERE {} ORDER BY {order} LIMIT {}",
            sql_where.join(" AND "),
            size + 1
        );
        // Binds in placeholder order.
        let mut all: Vec<(usize, BindFn)> = Vec::new();
        for (i, t) in text_binds {
            all.push((i, Box::new(move |q| q.bind::<Text, _>(t))));
        }
        for (i, a) in array_binds {
            all.push((i, Box::new(move |q| q.bind::<Array<Text>, _>(a))));
        }
        for (i, r, n, id) in cursor_binds {
            all.push((i, Box::new(move |q| q.bind::<Double, _>(r))));
            all.push((i + 1, Box::new(move |q| q.bind::<Text, _>(n))));
            all.push((i + 2, Box::new(move |q| q.bind::<diesel::sql_types::Uuid, _>(id))));
        }
        all.sort_by_key(|(i, _)| *i);
        let mut query = diesel::sql_query(sql).into_boxed();
        for (_, b) in all {
            query = b(query);
        }
        let mut rows: Vec<SearchRow> = diesel_async::RunQueryDsl::load(query, &mut conn).await?;
        let more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(a) = store::load(&mut conn, r.id, false).await?.and_then(|a| project(p, a)) {
                items.push(a);
            }
        }
        audit_personal_data(&mut conn, p, &items).await?;
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => {
                crate::search::hex(&serde_json::to_vec(&Cursor(last.rank, last.name.clone(), last.id)).expect("cursors serialise"))
            }
            _ => String::new(),
        };
        Ok(crate::search::AssociationPage { associations: items, next_page_token })
    }
}
