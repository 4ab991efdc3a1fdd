//! Rows of `associations` and their mapping to [`Association`] (always the full view; the
//! service projects what a caller may see).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::associations;
use crate::model::{Association, AssociationInput, Contact, Registration, RegistrationStatus};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = associations, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
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
    deleted_at: Option<DateTime<Utc>>,
}

/// Filters of an association listing; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AssociationFilter {
    /// Only this municipality.
    pub municipality_code: Option<String>,
    /// Only associations with this activity.
    pub activity: Option<String>,
    /// Only this registration status.
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
    fn into_association(self) -> Association {
        Association {
            id: self.id,
            org_number: self.org_number,
            name: self.name,
            municipality_code: self.municipality_code,
            activities: self.activities,
            contact: Contact { email: self.email, phone: self.phone, website: self.website },
            member_statistics: self.member_statistics.and_then(|v| serde_json::from_value(v).ok()),
            registration: Registration {
                status: RegistrationStatus::parse(&self.registration_status).unwrap_or(RegistrationStatus::Pending),
                message: self.registration_message,
                decided_at: self.registration_decided_at,
            },
            contact_persons: Some(serde_json::from_value(self.contact_persons).unwrap_or_default()),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    fn from_input(
        id: Uuid,
        input: &AssociationInput,
        registration: &Registration,
        version: i64,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        AssociationRow {
            id,
            org_number: input.org_number.clone(),
            name: input.name.clone(),
            municipality_code: input.municipality_code.clone(),
            activities: input.activities.clone(),
            email: input.contact.email.clone(),
            phone: input.contact.phone.clone(),
            website: input.contact.website.clone(),
            member_statistics: input.member_statistics.as_ref().map(|s| serde_json::to_value(s).expect("statistics serialise")),
            registration_status: registration.status.as_str().to_string(),
            registration_message: registration.message.clone(),
            registration_decided_at: registration.decided_at,
            contact_persons: serde_json::to_value(&input.contact_persons).expect("contact persons serialise"),
            version,
            created_at,
            updated_at: now,
            deleted_at: None,
        }
    }
}

/// Loads a live association by id; `lock` takes a row lock for the rest of the transaction.
pub async fn load(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<Association>> {
    let q =
        associations::table.filter(associations::id.eq(id)).filter(associations::deleted_at.is_null()).select(AssociationRow::as_select());
    let row = if lock { q.for_update().first(conn).await.optional()? } else { q.first(conn).await.optional()? };
    Ok(row.map(AssociationRow::into_association))
}

/// Loads a live association by organisation number (ten digits).
pub async fn load_by_org_number(conn: &mut AsyncPgConnection, org_number: &str) -> QueryResult<Option<Association>> {
    associations::table
        .filter(associations::org_number.eq(org_number))
        .filter(associations::deleted_at.is_null())
        .select(AssociationRow::as_select())
        .first(conn)
        .await
        .optional()
        .map(|r| r.map(AssociationRow::into_association))
}

/// The id of another live association with this organisation number, if any.
pub async fn org_number_taken(conn: &mut AsyncPgConnection, org_number: &str, except: Option<Uuid>) -> QueryResult<bool> {
    let mut q = associations::table
        .filter(associations::org_number.eq(org_number))
        .filter(associations::deleted_at.is_null())
        .select(associations::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(associations::id.ne(id));
    }
    Ok(q.first::<Uuid>(conn).await.optional()?.is_some())
}

/// Lists live associations ordered by id, after `after`, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AssociationFilter,
    visibility: &Visibility,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Association>> {
    let mut q = associations::table.filter(associations::deleted_at.is_null()).into_boxed();
    if let Visibility::ApprovedOr(munis) = visibility {
        q = q.filter(associations::registration_status.eq("approved").or(associations::municipality_code.eq_any(munis.clone())));
    }
    if let Some(m) = &filter.municipality_code {
        q = q.filter(associations::municipality_code.eq(m.clone()));
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
    Ok(rows.into_iter().map(AssociationRow::into_association).collect())
}

/// Inserts a new association with the given registration state.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    input: &AssociationInput,
    registration: &Registration,
    now: DateTime<Utc>,
) -> QueryResult<Association> {
    let row = AssociationRow::from_input(id, input, registration, 1, now, now);
    diesel::insert_into(associations::table).values(&row).execute(conn).await?;
    Ok(row.into_association())
}

/// Writes the new state of an existing association with `version` raised by one.
pub async fn update(
    conn: &mut AsyncPgConnection,
    current: &Association,
    input: &AssociationInput,
    registration: &Registration,
    now: DateTime<Utc>,
) -> QueryResult<Association> {
    let row = AssociationRow::from_input(current.id, input, registration, current.version + 1, current.created_at, now);
    diesel::update(associations::table.find(current.id)).set(&row).execute(conn).await?;
    Ok(row.into_association())
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
    Ok(rows.into_iter().map(AssociationRow::into_association).collect())
}
