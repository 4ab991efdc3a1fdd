//! Use cases for facilities (anläggningar).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{FacilityFilter, Page, PageRequest, Registry, page_of};
use crate::auth::{self, Action, Principal};
use crate::changelog::{self, Operation};
use crate::db::facilities as store;
use crate::error::{Error, Result};
use crate::model::{Facility, FacilityInput};
use crate::validate::Violations;

const ENTITY: &str = "facility";

/// Checks that unit ids in the input are units of `current` (or that there are none on create).
fn check_unit_ids(input: &FacilityInput, current: Option<&Facility>) -> Result<()> {
    let mut v = Violations::default();
    for (i, u) in input.units.iter().enumerate() {
        let Some(id) = u.id else { continue };
        match current {
            None => v.add(format!("units[{i}].id"), "not_allowed", "a new facility's units get their ids from the registry; leave id out"),
            Some(f) if !f.units.iter().any(|x| x.id == id) => {
                v.add(format!("units[{i}].id"), "unknown_unit", format!("{id} is not a unit of facility {}", f.id))
            }
            Some(_) => {}
        }
    }
    v.finish()
}

/// Loads a facility for a write, under a row lock: forbidden if the caller may not do `action`
/// on it, precondition failed on a stale version. Facilities are public, so a not-found before
/// the permission check reveals nothing.
pub(super) async fn lock_for_write(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    action: for<'a> fn(&'a str) -> Action<'a>,
) -> Result<Facility> {
    let current = store::load(conn, id, true).await?.ok_or_else(|| Error::not_found(ENTITY, id))?;
    auth::authorize(p, action(&current.municipality_code))?;
    if let Some(expected) = expected_version
        && current.version != expected
    {
        return Err(Error::PreconditionFailed { entity: ENTITY, id: id.to_string(), expected, actual: current.version });
    }
    Ok(current)
}

impl Registry {
    /// Creates a facility; the caller must edit its municipality.
    pub async fn create_facility(&self, p: &Principal, input: &FacilityInput) -> Result<Facility> {
        let now = self.now();
        auth::authorize(p, Action::CreateFacility(input.municipality_code.trim()))?;
        let input = input.validate()?;
        check_unit_ids(&input, None)?;
        let actor = p.id.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            if let Some(location) = input.location {
                super::geodata::check_border(conn, &input.municipality_code, location).await?;
            }
            let created = store::insert(conn, Uuid::now_v7(), &input, now).await?;
            changelog::append(conn, ENTITY, created.id, Operation::Create, &actor, None, Some(&created)).await?;
            Ok::<_, Error>(created)
        })
        .await
    }

    /// The create use case's authorization step on its own, for a front end that must refuse a
    /// caller before it decodes the body (401/403 come before a 400 about the body).
    pub fn authorize_create_facility(&self, p: &Principal, municipality_code: &str) -> Result<()> {
        auth::authorize(p, Action::CreateFacility(municipality_code.trim()))
    }

    /// Changes facility `id` by a front end's `change` (a merge patch, a field mask), which
    /// turns the current facility into the version to write at and the new state. It is called
    /// only once `p` may change the facility, so a caller without the right learns that before
    /// anything about the request; then the change is written as [`Registry::update_facility`]
    /// writes it.
    pub async fn change_facility<E: From<Error>>(
        &self,
        p: &Principal,
        id: Uuid,
        change: impl FnOnce(&Facility) -> std::result::Result<(i64, FacilityInput), E>,
    ) -> std::result::Result<Facility, E> {
        auth::require_key(p, "updating facilities")?;
        let current = self.get_facility(p, id).await?;
        auth::authorize(p, Action::UpdateFacility(&current.municipality_code))?;
        let (expected_version, input) = change(&current)?;
        Ok(self.update_facility(p, id, expected_version, &input).await?)
    }

    /// One live facility.
    pub async fn get_facility(&self, p: &Principal, id: Uuid) -> Result<Facility> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        store::load(&mut conn, id, false).await?.ok_or_else(|| Error::not_found(ENTITY, id))
    }

    /// Several live facilities by id, in the order asked; unknown ids are left out.
    pub async fn batch_get_facilities(&self, p: &Principal, ids: &[Uuid]) -> Result<Vec<Facility>> {
        auth::authorize(p, Action::ReadPublic)?;
        if ids.len() > super::MAX_PAGE_SIZE as usize {
            return Err(Error::invalid("ids", "max_items", format!("at most {} ids per call", super::MAX_PAGE_SIZE)));
        }
        let mut conn = self.conn().await?;
        Ok(store::load_many(&mut conn, ids).await?)
    }

    /// Lists live facilities ordered by id.
    pub async fn list_facilities(&self, p: &Principal, filter: &FacilityFilter, page: &PageRequest) -> Result<Page<Facility>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        if let Some(m) = &filter.municipality_code {
            crate::codes::check_municipality(&mut v, "municipalityCode", m);
        }
        if let Some(c) = &filter.category
            && !crate::codes::is_category(c)
        {
            v.add("category", "unknown_code", format!("'{c}' is not a known facility category code"));
        }
        if let Some(a) = &filter.activity
            && !crate::codes::is_activity(a)
        {
            v.add("activity", "unknown_code", format!("'{a}' is not a known activity code"));
        }
        v.finish()?;
        let (limit, after) = page.decode("f")?;
        let mut conn = self.conn().await?;
        let items = store::list(&mut conn, filter, after, limit + 1).await?;
        Ok(page_of("f", items, limit, |f| f.id))
    }

    /// Replaces a facility's state if it is still at `expected_version`. Moving a facility to
    /// another municipality needs the right to edit both.
    pub async fn update_facility(&self, p: &Principal, id: Uuid, expected_version: i64, input: &FacilityInput) -> Result<Facility> {
        let now = self.now();
        auth::authorize(p, Action::UpdateFacility(input.municipality_code.trim()))?;
        let input = input.validate()?;
        let actor = p.id.clone();
        let p = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let current = lock_for_write(conn, &p, id, Some(expected_version), |m| Action::UpdateFacility(m)).await?;
            check_unit_ids(&input, Some(&current))?;
            // Only a new location or municipality is checked against the boundary, so loading
            // boundaries does not block unrelated edits of a facility that lies outside.
            if let Some(location) = input.location
                && (input.location != current.location || input.municipality_code != current.municipality_code)
            {
                super::geodata::check_border(conn, &input.municipality_code, location).await?;
            }
            let updated = store::update(conn, &current, &input, now).await?;
            changelog::append(conn, ENTITY, id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
            Ok(updated)
        })
        .await
    }

    /// Deletes a facility (soft delete: it disappears from reads, the change log keeps it).
    /// With `expected_version`, only if it is still at that version.
    pub async fn delete_facility(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<()> {
        let now = self.now();
        let actor = p.id.clone();
        let p = p.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let current = lock_for_write(conn, &p, id, expected_version, |m| Action::DeleteFacility(m)).await?;
            store::soft_delete(conn, id, now).await?;
            changelog::append(conn, ENTITY, id, Operation::Delete, &actor, Some(&current), None).await?;
            Ok(())
        })
        .await
    }
}
