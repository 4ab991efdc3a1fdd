//! Rows of `associations` (the national record), its registrations with municipalities, their
//! events, representatives and member statistics reports, mapped to the model (always the full
//! view; the service projects what a caller may see).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{
    association_registration_events as events, association_registrations as registrations, association_representatives as reps,
    associations, member_statistics_reports as reports,
};
use crate::model::{
    Association, AssociationInput, AssociationStatus, Contact, MemberCount, MemberStatistics, MemberStatisticsReport,
    MunicipalRegistration, Registration, RegistrationEvent, RegistrationEventKind, RegistrationStatus,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = associations, check_for_backend(diesel::pg::Pg))]
struct AssociationRow {
    id: Uuid,
    org_number: String,
    name: String,
    municipality_code: String,
    activities: Vec<String>,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    member_statistics: Option<serde_json::Value>,
    registration_status: String,
    registration_message: Option<String>,
    registration_decided_at: Option<DateTime<Utc>>,
    contact_persons: serde_json::Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    postal_address: Option<serde_json::Value>,
    association_type: Option<String>,
    federations: Vec<String>,
    founded_year: Option<i32>,
    status: String,
    member_statistics_by_year: serde_json::Value,
}

/// The columns a write sets. The registration summary (`registration_*`, `registered_in`,
/// `approved_in`) is the trigger's, from `association_registrations`.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = associations, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct RecordRow {
    id: Uuid,
    org_number: String,
    name: String,
    municipality_code: String,
    activities: Vec<String>,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    member_statistics: Option<serde_json::Value>,
    member_statistics_by_year: serde_json::Value,
    contact_persons: serde_json::Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    postal_address: Option<serde_json::Value>,
    association_type: Option<String>,
    federations: Vec<String>,
    founded_year: Option<i32>,
    status: String,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = registrations, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct RegistrationRow {
    association_id: Uuid,
    municipality_code: String,
    status: String,
    message: Option<String>,
    submitted_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

impl RegistrationRow {
    fn into_model(self) -> MunicipalRegistration {
        MunicipalRegistration {
            municipality_code: self.municipality_code,
            status: RegistrationStatus::parse(&self.status).unwrap_or(RegistrationStatus::Pending),
            message: self.message,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
        }
    }
}

/// Filters of an association listing; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AssociationFilter {
    /// Only associations registered in this municipality (approved there, unless the caller
    /// may see that municipality's unapproved registrations).
    pub municipality_code: Option<String>,
    /// Only associations with this activity.
    pub activity: Option<String>,
    /// Only this (headline) registration status.
    pub status: Option<RegistrationStatus>,
    /// Only associations changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Which registrations a caller may list: all, or approved ones plus every status in these municipalities.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Every registration status.
    All,
    /// Approved registrations, and any status in the listed municipalities.
    ApprovedOr(Vec<String>),
}

impl AssociationRow {
    fn into_association(self, registrations: Vec<MunicipalRegistration>) -> Association {
        Association {
            id: self.id,
            org_number: self.org_number,
            name: self.name,
            municipality_code: self.municipality_code,
            activities: self.activities,
            contact: Contact { email: self.email, phone: self.phone, website: self.website },
            postal_address: self.postal_address.and_then(|v| serde_json::from_value(v).ok()),
            association_type: self.association_type,
            federations: self.federations,
            founded_year: self.founded_year,
            status: AssociationStatus::parse(&self.status).unwrap_or(AssociationStatus::Active),
            member_statistics: self.member_statistics.and_then(|v| serde_json::from_value(v).ok()),
            member_statistics_by_year: Some(serde_json::from_value(self.member_statistics_by_year).unwrap_or_default()),
            registration: Registration {
                status: RegistrationStatus::parse(&self.registration_status).unwrap_or(RegistrationStatus::Pending),
                message: self.registration_message,
                decided_at: self.registration_decided_at,
            },
            registrations,
            contact_persons: Some(serde_json::from_value(self.contact_persons).unwrap_or_default()),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a write stores: the validated details plus what the use case decided.
pub struct Record<'a> {
    /// The details.
    pub input: &'a AssociationInput,
    /// Every year's current member statistics, oldest first.
    pub by_year: &'a [MemberStatistics],
    /// The version to store.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
}

impl RecordRow {
    fn new(id: Uuid, r: &Record<'_>) -> Self {
        let input = r.input;
        RecordRow {
            id,
            org_number: input.org_number.clone(),
            name: input.name.clone(),
            municipality_code: input.municipality_code.clone(),
            activities: input.activities.clone(),
            email: input.contact.email.clone(),
            phone: input.contact.phone.clone(),
            website: input.contact.website.clone(),
            member_statistics: r.by_year.last().map(|s| serde_json::to_value(s).expect("statistics serialise")),
            member_statistics_by_year: serde_json::to_value(r.by_year).expect("statistics serialise"),
            contact_persons: serde_json::to_value(&input.contact_persons).expect("contact persons serialise"),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.now,
            postal_address: input.postal_address.as_ref().map(|a| serde_json::to_value(a).expect("address serialises")),
            association_type: input.association_type.clone(),
            federations: input.federations.clone(),
            founded_year: input.founded_year,
            status: input.status.unwrap_or(AssociationStatus::Active).as_str().to_string(),
        }
    }
}

async fn registrations_of(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Vec<MunicipalRegistration>>> {
    let rows: Vec<RegistrationRow> = registrations::table
        .filter(registrations::association_id.eq_any(ids))
        .order((registrations::association_id, registrations::submitted_at, registrations::municipality_code))
        .select(RegistrationRow::as_select())
        .load(conn)
        .await?;
    let mut out: HashMap<Uuid, Vec<MunicipalRegistration>> = HashMap::new();
    for r in rows {
        out.entry(r.association_id).or_default().push(r.into_model());
    }
    Ok(out)
}

async fn with_registrations(conn: &mut AsyncPgConnection, rows: Vec<AssociationRow>) -> QueryResult<Vec<Association>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut regs = registrations_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            r.into_association(regs.remove(&id).unwrap_or_default())
        })
        .collect())
}

/// Loads a live association by id; `lock` takes a row lock for the rest of the transaction
/// (every write to an association or its registrations takes it first).
pub async fn load(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<Association>> {
    let q =
        associations::table.filter(associations::id.eq(id)).filter(associations::deleted_at.is_null()).select(AssociationRow::as_select());
    let row = if lock { q.for_update().first(conn).await.optional()? } else { q.first(conn).await.optional()? };
    Ok(with_registrations(conn, row.into_iter().collect()).await?.pop())
}

/// Loads a live association by organisation number (ten digits).
pub async fn load_by_org_number(conn: &mut AsyncPgConnection, org_number: &str) -> QueryResult<Option<Association>> {
    let row = associations::table
        .filter(associations::org_number.eq(org_number))
        .filter(associations::deleted_at.is_null())
        .select(AssociationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(with_registrations(conn, row.into_iter().collect()).await?.pop())
}

/// The id of the live association with this organisation number, other than `except`, if any.
pub async fn org_number_owner(conn: &mut AsyncPgConnection, org_number: &str, except: Option<Uuid>) -> QueryResult<Option<Uuid>> {
    let mut q = associations::table
        .filter(associations::org_number.eq(org_number))
        .filter(associations::deleted_at.is_null())
        .select(associations::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(associations::id.ne(id));
    }
    q.first::<Uuid>(conn).await.optional()
}

/// Lists live associations ordered by id, after `after`, at most `limit`. `unapproved_in`
/// are the municipalities whose unapproved registrations the caller may see (for the
/// municipality filter).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AssociationFilter,
    visibility: &Visibility,
    represented: &[Uuid],
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Association>> {
    let mut q = associations::table.filter(associations::deleted_at.is_null()).into_boxed();
    let seen_unapproved = |m: &str| match visibility {
        Visibility::All => true,
        Visibility::ApprovedOr(munis) => munis.iter().any(|x| x == m),
    };
    if let Visibility::ApprovedOr(munis) = visibility {
        q = q.filter(
            associations::approved_in
                .ne(Vec::<String>::new())
                .or(associations::registered_in.overlaps_with(munis.clone()))
                .or(associations::id.eq_any(represented.to_vec())),
        );
    }
    if let Some(m) = &filter.municipality_code {
        q = if seen_unapproved(m) {
            q.filter(associations::registered_in.contains(vec![m.clone()]))
        } else {
            q.filter(associations::approved_in.contains(vec![m.clone()]))
        };
    }
    if let Some(a) = &filter.activity {
        q = q.filter(associations::activities.contains(vec![a.clone()]));
    }
    if let Some(s) = filter.status {
        q = q.filter(associations::registration_status.eq(s.as_str()));
    }
    if let Some(t) = filter.updated_since {
        q = q.filter(associations::updated_at.ge(t));
    }
    if let Some(after) = after {
        q = q.filter(associations::id.gt(after));
    }
    let rows = q.order(associations::id).limit(limit).select(AssociationRow::as_select()).load(conn).await?;
    with_registrations(conn, rows).await
}

/// Inserts a new national record.
pub async fn insert(conn: &mut AsyncPgConnection, id: Uuid, record: &Record<'_>) -> QueryResult<()> {
    diesel::insert_into(associations::table).values(&RecordRow::new(id, record)).execute(conn).await?;
    Ok(())
}

/// Writes the new state of an existing association.
pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, record: &Record<'_>) -> QueryResult<()> {
    diesel::update(associations::table.find(id)).set(&RecordRow::new(id, record)).execute(conn).await?;
    Ok(())
}

/// Raises an association's version after a change to its registrations or representatives.
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(associations::table.find(id))
        .set((associations::updated_at.eq(now), associations::version.eq(associations::version + 1)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks an association deleted and raises its version.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(associations::table.find(id))
        .set((associations::deleted_at.eq(now), associations::updated_at.eq(now), associations::version.eq(associations::version + 1)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Loads several live associations by id (in no particular order); missing ids are skipped.
pub async fn load_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Association>> {
    let rows = associations::table
        .filter(associations::id.eq_any(ids))
        .filter(associations::deleted_at.is_null())
        .select(AssociationRow::as_select())
        .load(conn)
        .await?;
    with_registrations(conn, rows).await
}

/// Writes (inserts or replaces) an association's registration with one municipality.
pub async fn put_registration(conn: &mut AsyncPgConnection, association_id: Uuid, r: &MunicipalRegistration) -> QueryResult<()> {
    let row = RegistrationRow {
        association_id,
        municipality_code: r.municipality_code.clone(),
        status: r.status.as_str().to_string(),
        message: r.message.clone(),
        submitted_at: r.submitted_at,
        decided_at: r.decided_at,
    };
    diesel::insert_into(registrations::table)
        .values(&row)
        .on_conflict((registrations::association_id, registrations::municipality_code))
        .do_update()
        .set(&row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends an event to a registration's history.
pub async fn add_event(
    conn: &mut AsyncPgConnection,
    association_id: Uuid,
    municipality_code: &str,
    kind: RegistrationEventKind,
    message: Option<&str>,
    by_role: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::association_id.eq(association_id),
            events::municipality_code.eq(municipality_code),
            events::kind.eq(kind.as_str()),
            events::message.eq(message),
            events::by_role.eq(by_role),
            events::at.eq(at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A registration's history, oldest first.
pub async fn events_of(conn: &mut AsyncPgConnection, association_id: Uuid, municipality_code: &str) -> QueryResult<Vec<RegistrationEvent>> {
    let rows: Vec<(DateTime<Utc>, String, Option<String>, String)> = events::table
        .filter(events::association_id.eq(association_id))
        .filter(events::municipality_code.eq(municipality_code))
        .order(events::id)
        .select((events::at, events::kind, events::message, events::by_role))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, message, by)| RegistrationEvent {
            kind: RegistrationEventKind::parse(&kind).unwrap_or(RegistrationEventKind::Submitted),
            at,
            message,
            by,
        })
        .collect())
}

/// One page of a municipality's registrations in these statuses, oldest submission first,
/// after the (submitted_at, association id) key `after`.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    municipality_code: &str,
    statuses: &[&str],
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<(Uuid, String, String, i64, MunicipalRegistration)>> {
    let mut q = registrations::table
        .inner_join(associations::table.on(associations::id.eq(registrations::association_id)))
        .filter(associations::deleted_at.is_null())
        .filter(registrations::municipality_code.eq(municipality_code))
        .filter(registrations::status.eq_any(statuses.to_vec()))
        .into_boxed();
    if let Some((t, id)) = after {
        q = q.filter(registrations::submitted_at.gt(t).or(registrations::submitted_at.eq(t).and(registrations::association_id.gt(id))));
    }
    let rows: Vec<(Uuid, String, String, i64, RegistrationRow)> = q
        .order((registrations::submitted_at, registrations::association_id))
        .limit(limit)
        .select((associations::id, associations::org_number, associations::name, associations::version, RegistrationRow::as_select()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(id, org, name, version, r)| (id, org, name, version, r.into_model())).collect())
}

/// A representative as stored.
pub struct RepresentativeRow {
    /// Id.
    pub id: Uuid,
    /// The person's reference.
    pub person_ref: String,
    /// Name.
    pub name: String,
    /// When added.
    pub added_at: DateTime<Utc>,
}

/// Whether the person with `person_ref` represents association `id`.
pub async fn represents(conn: &mut AsyncPgConnection, id: Uuid, person_ref: &str) -> QueryResult<bool> {
    let n: i64 = reps::table.filter(reps::association_id.eq(id)).filter(reps::person_ref.eq(person_ref)).count().get_result(conn).await?;
    Ok(n > 0)
}

/// The live associations a person represents.
pub async fn represented_by(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Vec<Uuid>> {
    reps::table
        .inner_join(associations::table.on(associations::id.eq(reps::association_id)))
        .filter(reps::person_ref.eq(person_ref))
        .filter(associations::deleted_at.is_null())
        .order(associations::id)
        .select(associations::id)
        .load(conn)
        .await
}

/// An association's representatives, in the order they were added.
pub async fn representatives(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<RepresentativeRow>> {
    let rows: Vec<(Uuid, String, String, DateTime<Utc>)> = reps::table
        .filter(reps::association_id.eq(id))
        .order((reps::added_at, reps::id))
        .select((reps::id, reps::person_ref, reps::name, reps::added_at))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(id, person_ref, name, added_at)| RepresentativeRow { id, person_ref, name, added_at }).collect())
}

/// Adds a representative; false if the person already is one.
pub async fn add_representative(
    conn: &mut AsyncPgConnection,
    association_id: Uuid,
    person_ref: &str,
    name: &str,
    added_by_role: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::insert_into(reps::table)
        .values((
            reps::id.eq(Uuid::now_v7()),
            reps::association_id.eq(association_id),
            reps::person_ref.eq(person_ref),
            reps::name.eq(name),
            reps::added_at.eq(now),
            reps::added_by_role.eq(added_by_role),
        ))
        .on_conflict((reps::association_id, reps::person_ref))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Removes a representative by id; false if there was none.
pub async fn remove_representative(conn: &mut AsyncPgConnection, association_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n = diesel::delete(reps::table.filter(reps::association_id.eq(association_id)).filter(reps::id.eq(id))).execute(conn).await?;
    Ok(n == 1)
}

/// Every association a person represents, with their entry's name (for their data download).
pub async fn representations_of(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Vec<(Uuid, String, DateTime<Utc>)>> {
    reps::table
        .filter(reps::person_ref.eq(person_ref))
        .order(reps::added_at)
        .select((reps::association_id, reps::name, reps::added_at))
        .load(conn)
        .await
}

/// Removes a person from every association they represent where someone else remains, and
/// returns the associations where they are the only one (kept: an association needs one).
pub async fn erase_representative(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<(usize, Vec<Uuid>)> {
    let mine: Vec<Uuid> = reps::table.filter(reps::person_ref.eq(person_ref)).select(reps::association_id).load(conn).await?;
    let mut removed = 0;
    let mut kept = Vec::new();
    for id in mine {
        let others: i64 =
            reps::table.filter(reps::association_id.eq(id)).filter(reps::person_ref.ne(person_ref)).count().get_result(conn).await?;
        if others > 0 {
            removed += diesel::delete(reps::table.filter(reps::association_id.eq(id)).filter(reps::person_ref.eq(person_ref)))
                .execute(conn)
                .await?;
        } else {
            kept.push(id);
        }
    }
    Ok((removed, kept))
}

/// Every member statistics report of an association, by year then version.
pub async fn reports_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<MemberStatisticsReport>> {
    let rows: Vec<(i32, i32, serde_json::Value, DateTime<Utc>, String)> = reports::table
        .filter(reports::association_id.eq(id))
        .order((reports::year, reports::version))
        .select((reports::year, reports::version, reports::counts, reports::reported_at, reports::by_role))
        .load(conn)
        .await?;
    let latest: HashMap<i32, i32> = rows.iter().fold(HashMap::new(), |mut m, r| {
        let e = m.entry(r.0).or_insert(r.1);
        *e = (*e).max(r.1);
        m
    });
    Ok(rows
        .into_iter()
        .map(|(year, version, counts, reported_at, by)| {
            let counts: Vec<MemberCount> = serde_json::from_value(counts).unwrap_or_default();
            MemberStatisticsReport {
                year,
                version,
                total: counts.iter().map(|c| u64::from(c.count)).sum(),
                counts,
                reported_at,
                reported_by: by,
                current: latest.get(&year) == Some(&version),
            }
        })
        .collect())
}

/// Stores a report of `year` as `version`.
pub async fn add_report(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    stats: &MemberStatistics,
    version: i32,
    by_role: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(reports::table)
        .values((
            reports::association_id.eq(id),
            reports::year.eq(stats.year),
            reports::version.eq(version),
            reports::counts.eq(serde_json::to_value(&stats.counts).expect("counts serialise")),
            reports::reported_at.eq(now),
            reports::by_role.eq(by_role),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
