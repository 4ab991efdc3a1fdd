//! Rows of `facilities` and `facility_units` and their mapping to [`Facility`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use postgis_diesel::types::Point;
use uuid::Uuid;

use super::schema::{facilities, facility_units};
use crate::geo::LatLon;
use crate::model::{
    Accessibility, Address, Contact, Facility, FacilityInput, LocationProvenance, LocationSource, MatchQuality, Ownership, Unit, VendorRef,
};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = facilities, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct FacilityRow {
    id: Uuid,
    municipality_code: String,
    name: String,
    description: String,
    category: String,
    activities: Vec<String>,
    location: Option<Point>,
    street: String,
    postal_code: String,
    locality: String,
    ownership: String,
    accessibility: Vec<String>,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    booking_vendor_id: Option<String>,
    booking_vendor_ref: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    location_source: String,
    location_locked: bool,
    location_feature_id: Option<String>,
    location_match: Option<String>,
    location_synced_at: Option<DateTime<Utc>>,
    location_moved_m: Option<f64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = facility_units, check_for_backend(diesel::pg::Pg))]
struct UnitRow {
    id: Uuid,
    facility_id: Uuid,
    position: i32,
    name: String,
    category: String,
    capacity: Option<i32>,
    area_m2: Option<f64>,
    bookable: bool,
}

/// Filters of a facility listing; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct FacilityFilter {
    /// Only this municipality.
    pub municipality_code: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only facilities offering this activity.
    pub activity: Option<String>,
    /// Only facilities changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

fn to_point(p: LatLon) -> Point {
    Point { x: p.lon, y: p.lat, srid: Some(4326) }
}

impl FacilityRow {
    fn from_input(
        id: Uuid,
        input: &FacilityInput,
        version: i64,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        vendor: Option<&VendorRef>,
        provenance: &LocationProvenance,
    ) -> Self {
        FacilityRow {
            id,
            municipality_code: input.municipality_code.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            category: input.category.clone(),
            activities: input.activities.clone(),
            location: input.location.map(to_point),
            street: input.address.street.clone(),
            postal_code: input.address.postal_code.clone(),
            locality: input.address.locality.clone(),
            ownership: input.ownership.as_str().to_string(),
            accessibility: input.accessibility.iter().map(|a| a.as_str().to_string()).collect(),
            email: input.contact.email.clone(),
            phone: input.contact.phone.clone(),
            website: input.contact.website.clone(),
            booking_vendor_id: vendor.map(|v| v.vendor_id.clone()),
            booking_vendor_ref: vendor.map(|v| v.external_ref.clone()),
            version,
            created_at,
            updated_at: now,
            deleted_at: None,
            location_source: provenance.source.as_str().to_string(),
            location_locked: provenance.locked,
            location_feature_id: provenance.source_feature_id.clone(),
            location_match: provenance.match_quality.map(|m| m.as_str().to_string()),
            location_synced_at: provenance.synced_at,
            location_moved_m: provenance.distance_moved_m,
        }
    }

    fn into_facility(self, units: Vec<Unit>) -> Facility {
        Facility {
            id: self.id,
            municipality_code: self.municipality_code,
            name: self.name,
            description: self.description,
            category: self.category,
            activities: self.activities,
            location: self.location.map(|p| LatLon { lat: p.y, lon: p.x }),
            location_provenance: LocationProvenance {
                // The database CHECK constraints admit only the known codes.
                source: LocationSource::parse(&self.location_source).unwrap_or(LocationSource::Manual),
                locked: self.location_locked,
                source_feature_id: self.location_feature_id,
                match_quality: self.location_match.as_deref().and_then(MatchQuality::parse),
                synced_at: self.location_synced_at,
                distance_moved_m: self.location_moved_m,
            },
            address: Address { street: self.street, postal_code: self.postal_code, locality: self.locality },
            // The database CHECK constraints admit only the known codes.
            ownership: Ownership::parse(&self.ownership).unwrap_or(Ownership::Other),
            accessibility: self.accessibility.iter().filter_map(|a| Accessibility::parse(a)).collect(),
            contact: Contact { email: self.email, phone: self.phone, website: self.website },
            units,
            booking_vendor: match (self.booking_vendor_id, self.booking_vendor_ref) {
                (Some(vendor_id), Some(external_ref)) => Some(VendorRef { vendor_id, external_ref }),
                _ => None,
            },
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl UnitRow {
    fn into_unit(self) -> Unit {
        Unit {
            id: self.id,
            name: self.name,
            category: self.category,
            capacity: self.capacity,
            area_m2: self.area_m2,
            bookable: self.bookable,
        }
    }
}

async fn units_of(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<UnitRow>> {
    units_query!(ids).load(conn).await
}

/// The units of some facilities, in order.
macro_rules! units_query {
    ($ids:expr) => {
        facility_units::table
            .filter(facility_units::facility_id.eq_any($ids))
            .order((facility_units::facility_id, facility_units::position))
            .select(UnitRow::as_select())
    };
}
use units_query;

/// Live facilities by id.
macro_rules! rows_query {
    ($ids:expr) => {
        facilities::table.filter(facilities::id.eq_any($ids)).filter(facilities::deleted_at.is_null()).select(FacilityRow::as_select())
    };
}

/// The SQL of [`load_many`]: the facility rows, then their units; `$1` is the ids (`uuid[]`).
pub fn load_many_sql() -> [String; 2] {
    let sql = |q: &dyn diesel::query_builder::QueryFragment<diesel::pg::Pg>| {
        let mut out = diesel::pg::PgQueryBuilder::default();
        q.to_sql(&mut out, &diesel::pg::Pg).expect("the load queries render");
        diesel::query_builder::QueryBuilder::finish(out)
    };
    let none: &[Uuid] = &[];
    [sql(&rows_query!(none)), sql(&units_query!(none))]
}

/// Loads a live (not deleted) facility; `lock` takes a row lock for the rest of the transaction.
pub async fn load(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<Facility>> {
    let query = facilities::table.filter(facilities::id.eq(id)).filter(facilities::deleted_at.is_null()).select(FacilityRow::as_select());
    let row = if lock { query.for_update().first(conn).await.optional()? } else { query.first(conn).await.optional()? };
    let Some(row) = row else { return Ok(None) };
    let units = units_of(conn, &[id]).await?.into_iter().map(UnitRow::into_unit).collect();
    Ok(Some(row.into_facility(units)))
}

/// Loads several live facilities by id, in the order asked; missing ids are skipped.
pub async fn load_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Facility>> {
    // The rows and their units in one pipelined round trip (both need only the ids).
    let (mut a, mut b) = (&*conn, &*conn);
    let (rows, mut units): (Vec<FacilityRow>, Vec<UnitRow>) =
        tokio::try_join!(rows_query!(ids).load(&mut a), units_query!(ids).load(&mut b))?;
    let mut out: Vec<Facility> = rows
        .into_iter()
        .map(|row| {
            let mine: Vec<Unit> = units.extract_if(.., |u| u.facility_id == row.id).map(UnitRow::into_unit).collect();
            row.into_facility(mine)
        })
        .collect();
    out.sort_by_key(|f| ids.iter().position(|i| *i == f.id));
    Ok(out)
}

async fn with_units(conn: &mut AsyncPgConnection, rows: Vec<FacilityRow>) -> QueryResult<Vec<Facility>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut units = units_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine: Vec<Unit> = units.extract_if(.., |u| u.facility_id == row.id).map(UnitRow::into_unit).collect();
            row.into_facility(mine)
        })
        .collect())
}

/// Lists live facilities ordered by id, after `after`, at most `limit`.
pub async fn list(conn: &mut AsyncPgConnection, filter: &FacilityFilter, after: Option<Uuid>, limit: i64) -> QueryResult<Vec<Facility>> {
    let mut q = facilities::table.filter(facilities::deleted_at.is_null()).into_boxed();
    if let Some(m) = &filter.municipality_code {
        q = q.filter(facilities::municipality_code.eq(m.clone()));
    }
    if let Some(c) = &filter.category {
        q = q.filter(facilities::category.eq(c.clone()));
    }
    if let Some(a) = &filter.activity {
        q = q.filter(facilities::activities.contains(vec![a.clone()]));
    }
    if let Some(t) = filter.updated_since {
        q = q.filter(facilities::updated_at.ge(t));
    }
    if let Some(after) = after {
        q = q.filter(facilities::id.gt(after));
    }
    let rows = q.order(facilities::id).limit(limit).select(FacilityRow::as_select()).load(conn).await?;
    with_units(conn, rows).await
}

/// Inserts a facility and its units (each unit gets a new id).
pub async fn insert(conn: &mut AsyncPgConnection, id: Uuid, input: &FacilityInput, now: DateTime<Utc>) -> QueryResult<Facility> {
    let provenance = LocationProvenance::manual(input.location_locked.unwrap_or(false));
    diesel::insert_into(facilities::table).values(FacilityRow::from_input(id, input, 1, now, now, None, &provenance)).execute(conn).await?;
    write_units(conn, id, input, &[]).await?;
    Ok(load(conn, id, false).await?.expect("facility inserted in this transaction"))
}

/// Writes the new state of an existing facility with `version` raised by one.
pub async fn update(conn: &mut AsyncPgConnection, current: &Facility, input: &FacilityInput, now: DateTime<Utc>) -> QueryResult<Facility> {
    let locked = input.location_locked.unwrap_or(current.location_provenance.locked);
    // A location written by hand is manual from now on; an unchanged one keeps its provenance.
    let provenance = if input.location == current.location {
        LocationProvenance { locked, ..current.location_provenance.clone() }
    } else {
        LocationProvenance::manual(locked)
    };
    let row = FacilityRow::from_input(
        current.id,
        input,
        current.version + 1,
        current.created_at,
        now,
        current.booking_vendor.as_ref(),
        &provenance,
    );
    diesel::update(facilities::table.find(current.id)).set(&row).execute(conn).await?;
    let keep: Vec<Uuid> = current.units.iter().map(|u| u.id).collect();
    write_units(conn, current.id, input, &keep).await?;
    Ok(load(conn, current.id, false).await?.expect("facility updated in this transaction"))
}

/// Replaces the units of a facility: units with a kept id are updated in place (so what hangs
/// off them, such as their opening hours, stays), the rest are new, and units no longer listed
/// are removed (and with them their opening hours).
async fn write_units(conn: &mut AsyncPgConnection, facility_id: Uuid, input: &FacilityInput, existing: &[Uuid]) -> QueryResult<()> {
    let rows: Vec<UnitRow> = input
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| UnitRow {
            id: u.id.filter(|id| existing.contains(id)).unwrap_or_else(Uuid::now_v7),
            facility_id,
            position: i as i32,
            name: u.name.clone(),
            category: u.category.clone(),
            capacity: u.capacity,
            area_m2: u.area_m2,
            bookable: u.bookable,
        })
        .collect();
    let kept: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    diesel::delete(facility_units::table.filter(facility_units::facility_id.eq(facility_id)).filter(facility_units::id.ne_all(&kept)))
        .execute(conn)
        .await?;
    for row in &rows {
        diesel::insert_into(facility_units::table)
            .values(row)
            .on_conflict(facility_units::id)
            .do_update()
            .set((
                facility_units::position.eq(row.position),
                facility_units::name.eq(&row.name),
                facility_units::category.eq(&row.category),
                facility_units::capacity.eq(row.capacity),
                facility_units::area_m2.eq(row.area_m2),
                facility_units::bookable.eq(row.bookable),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Marks a facility deleted and raises its version; its materialised open intervals go.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM open_intervals WHERE facility_id = $1").bind::<diesel::sql_types::Uuid, _>(id).execute(conn).await?;
    diesel::update(facilities::table.find(id))
        .set((facilities::deleted_at.eq(now), facilities::updated_at.eq(now), facilities::version.eq(facilities::version + 1)))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_load_statements_take_the_ids_as_one_array() {
        let [rows, units] = super::load_many_sql();
        assert!(rows.contains("FROM \"facilities\"") && rows.contains("= ANY($1)"), "{rows}");
        assert!(units.contains("FROM \"facility_units\"") && units.contains("= ANY($1)"), "{units}");
    }
}
