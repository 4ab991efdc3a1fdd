//! Rows of `bookings` (bookings made through the registry: owner, vendor, last known state) and
//! `vendor_change_cursors`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A booking made through the registry, as the registry knows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct BookingRow {
    /// The registry's id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The vendor.
    #[diesel(sql_type = SqlUuid)]
    pub vendor_id: Uuid,
    /// The vendor's booking id.
    #[diesel(sql_type = Text)]
    pub vendor_booking_id: String,
    /// The facility.
    #[diesel(sql_type = SqlUuid)]
    pub facility_id: Uuid,
    /// The unit.
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    /// The facility's name now.
    #[diesel(sql_type = Text)]
    pub facility_name: String,
    /// The unit's name now.
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    /// The facility's municipality.
    #[diesel(sql_type = Text)]
    pub municipality_code: String,
    /// Who booked.
    #[diesel(sql_type = Text)]
    pub person_ref: String,
    /// For which association.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub association_id: Option<Uuid>,
    /// The association's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub association_name: Option<String>,
    /// The customer reference sent.
    #[diesel(sql_type = Text)]
    pub customer_reference: String,
    /// Start, as last known.
    #[diesel(sql_type = Timestamptz)]
    pub start_at: DateTime<Utc>,
    /// End, as last known.
    #[diesel(sql_type = Timestamptz)]
    pub end_at: DateTime<Utc>,
    /// Status, as last known.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// The vendor's message with it.
    #[diesel(sql_type = Nullable<Text>)]
    pub status_message: Option<String>,
    /// Where notices go (personal data).
    #[diesel(sql_type = Nullable<Text>)]
    pub notify_email: Option<String>,
    /// Whether a reminder is wanted.
    #[diesel(sql_type = Bool)]
    pub reminders: bool,
    /// When made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT b.id, b.vendor_id, b.vendor_booking_id, b.facility_id, b.unit_id,
        coalesce(f.name, '') AS facility_name, coalesce(u.name, '') AS unit_name, coalesce(f.municipality_code, '') AS municipality_code,
        b.person_ref, b.association_id, a.name AS association_name, b.customer_reference, b.start_at, b.end_at, b.status,
        b.status_message, b.notify_email, b.reminders, b.created_at
   FROM bookings b
   LEFT JOIN facilities f ON f.id = b.facility_id
   LEFT JOIN facility_units u ON u.id = b.unit_id
   LEFT JOIN associations a ON a.id = b.association_id";

/// A booking to record.
pub struct NewBooking<'a> {
    /// The vendor.
    pub vendor_id: Uuid,
    /// The vendor's booking id.
    pub vendor_booking_id: &'a str,
    /// The facility.
    pub facility_id: Uuid,
    /// The unit.
    pub unit_id: Uuid,
    /// Who booked.
    pub person_ref: &'a str,
    /// For which association.
    pub association_id: Option<Uuid>,
    /// The customer reference sent.
    pub customer_reference: &'a str,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Status.
    pub status: &'a str,
    /// The vendor's message.
    pub status_message: Option<&'a str>,
    /// Where notices go.
    pub notify_email: Option<&'a str>,
}

/// Records a booking (or finds it again: a replayed booking at the vendor is the same row).
/// Returns its id and whether it is new.
pub async fn record(conn: &mut AsyncPgConnection, b: &NewBooking<'_>) -> QueryResult<(Uuid, bool)> {
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Bool)]
        inserted: bool,
    }
    let r: Recorded = diesel::sql_query(
        "INSERT INTO bookings (id, vendor_id, vendor_booking_id, facility_id, unit_id, person_ref, association_id, customer_reference,
                               start_at, end_at, status, status_message, notify_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (vendor_id, vendor_booking_id) DO UPDATE SET updated_at = bookings.updated_at
         RETURNING id, (xmax = 0) AS inserted",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(b.vendor_id)
    .bind::<Text, _>(b.vendor_booking_id)
    .bind::<SqlUuid, _>(b.facility_id)
    .bind::<SqlUuid, _>(b.unit_id)
    .bind::<Text, _>(b.person_ref)
    .bind::<Nullable<SqlUuid>, _>(b.association_id)
    .bind::<Text, _>(b.customer_reference)
    .bind::<Timestamptz, _>(b.start)
    .bind::<Timestamptz, _>(b.end)
    .bind::<Text, _>(b.status)
    .bind::<Nullable<Text>, _>(b.status_message)
    .bind::<Nullable<Text>, _>(b.notify_email)
    .get_result(conn)
    .await?;
    Ok((r.id, r.inserted))
}

/// One booking by the registry's id.
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BookingRow>> {
    diesel::sql_query(format!("{SELECT} WHERE b.id = $1")).bind::<SqlUuid, _>(id).get_result(conn).await.optional()
}

/// One booking by the vendor's id.
pub async fn by_vendor(conn: &mut AsyncPgConnection, vendor: Uuid, vendor_booking_id: &str) -> QueryResult<Option<BookingRow>> {
    diesel::sql_query(format!("{SELECT} WHERE b.vendor_id = $1 AND b.vendor_booking_id = $2"))
        .bind::<SqlUuid, _>(vendor)
        .bind::<Text, _>(vendor_booking_id)
        .get_result(conn)
        .await
        .optional()
}

/// The bookings of a person (their own, not as an association) or of the associations given,
/// overlapping `[from, to)`, by start.
pub async fn of_owner(
    conn: &mut AsyncPgConnection,
    person_ref: &str,
    associations: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<BookingRow>> {
    diesel::sql_query(format!(
        "{SELECT} WHERE ((b.association_id IS NULL AND b.person_ref = $1) OR b.association_id = ANY($2)) AND b.start_at < $4 AND b.end_at > $3
          ORDER BY b.start_at, b.id"
    ))
    .bind::<Text, _>(person_ref)
    .bind::<Array<SqlUuid>, _>(associations)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await
}

/// The vendors a person's (or their associations') bookings are at.
pub async fn vendors_of_owner(conn: &mut AsyncPgConnection, person_ref: &str, associations: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = SqlUuid)]
        vendor_id: Uuid,
    }
    let rows: Vec<V> = diesel::sql_query(
        "SELECT DISTINCT vendor_id FROM bookings WHERE (association_id IS NULL AND person_ref = $1) OR association_id = ANY($2)
          ORDER BY vendor_id",
    )
    .bind::<Text, _>(person_ref)
    .bind::<Array<SqlUuid>, _>(associations)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.vendor_id).collect())
}

/// What a booking was before an update.
#[derive(Debug, Clone, QueryableByName)]
pub struct Before {
    /// Its status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Its start.
    #[diesel(sql_type = Timestamptz)]
    pub start_at: DateTime<Utc>,
    /// Its end.
    #[diesel(sql_type = Timestamptz)]
    pub end_at: DateTime<Utc>,
}

/// Updates what is known of a booking from its vendor: time, unit and status. Returns what it
/// was before (none when the registry does not have the booking).
#[allow(clippy::too_many_arguments)]
pub async fn update_state(
    conn: &mut AsyncPgConnection,
    vendor: Uuid,
    vendor_booking_id: &str,
    unit: Option<(Uuid, Uuid)>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    status: &str,
    status_message: Option<&str>,
) -> QueryResult<Option<Before>> {
    diesel::sql_query(
        "UPDATE bookings n SET start_at = $3, end_at = $4, status = $5, status_message = $6,
                facility_id = coalesce($7, n.facility_id), unit_id = coalesce($8, n.unit_id), updated_at = now()
           FROM (SELECT id, status, start_at, end_at FROM bookings WHERE vendor_id = $1 AND vendor_booking_id = $2 FOR UPDATE) o
          WHERE n.id = o.id
         RETURNING o.status, o.start_at, o.end_at",
    )
    .bind::<SqlUuid, _>(vendor)
    .bind::<Text, _>(vendor_booking_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Text, _>(status)
    .bind::<Nullable<Text>, _>(status_message)
    .bind::<Nullable<SqlUuid>, _>(unit.map(|u| u.0))
    .bind::<Nullable<SqlUuid>, _>(unit.map(|u| u.1))
    .get_result(conn)
    .await
    .optional()
}

/// Turns a booking's reminder on or off.
pub async fn set_reminders(conn: &mut AsyncPgConnection, id: Uuid, on: bool) -> QueryResult<()> {
    diesel::sql_query("UPDATE bookings SET reminders = $2, updated_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Bool, _>(on)
        .execute(conn)
        .await?;
    Ok(())
}

/// The (facility, unit) a vendor's unit reference maps to.
pub async fn unit_of_ref(conn: &mut AsyncPgConnection, vendor: Uuid, external_ref: &str) -> QueryResult<Option<(Uuid, Uuid)>> {
    #[derive(QueryableByName)]
    struct U {
        #[diesel(sql_type = SqlUuid)]
        facility_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        unit_id: Uuid,
    }
    let u: Option<U> = diesel::sql_query(
        "SELECT u.facility_id, vu.unit_id FROM vendor_units vu JOIN facility_units u ON u.id = vu.unit_id
          WHERE vu.vendor_id = $1 AND vu.external_ref = $2",
    )
    .bind::<SqlUuid, _>(vendor)
    .bind::<Text, _>(external_ref)
    .get_result(conn)
    .await
    .optional()?;
    Ok(u.map(|u| (u.facility_id, u.unit_id)))
}

/// A vendor's change-feed cursor, if it was ever read.
pub async fn cursor(conn: &mut AsyncPgConnection, vendor: Uuid) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct C {
        #[diesel(sql_type = Text)]
        cursor: String,
    }
    let c: Option<C> = diesel::sql_query("SELECT cursor FROM vendor_change_cursors WHERE vendor_id = $1")
        .bind::<SqlUuid, _>(vendor)
        .get_result(conn)
        .await
        .optional()?;
    Ok(c.map(|c| c.cursor))
}

/// Stores a vendor's change-feed cursor.
pub async fn set_cursor(conn: &mut AsyncPgConnection, vendor: Uuid, cursor: &str) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO vendor_change_cursors (vendor_id, cursor) VALUES ($1, $2)
         ON CONFLICT (vendor_id) DO UPDATE SET cursor = EXCLUDED.cursor, read_at = now()",
    )
    .bind::<SqlUuid, _>(vendor)
    .bind::<Text, _>(cursor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Confirmed bookings starting in `[from, to)` whose owners want a reminder and have not had
/// one: marked reminded here (in the caller's transaction, with the notices).
pub async fn due_reminders(conn: &mut AsyncPgConnection, from: DateTime<Utc>, to: DateTime<Utc>) -> QueryResult<Vec<BookingRow>> {
    let rows: Vec<BookingRow> = diesel::sql_query(format!(
        "{SELECT} WHERE b.id IN (
            SELECT id FROM bookings WHERE reminders AND reminded_at IS NULL AND status = 'confirmed' AND start_at >= $1 AND start_at < $2
             ORDER BY start_at LIMIT 500 FOR UPDATE SKIP LOCKED)"
    ))
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    diesel::sql_query("UPDATE bookings SET reminded_at = now() WHERE id = ANY($1)").bind::<Array<SqlUuid>, _>(&ids).execute(conn).await?;
    Ok(rows)
}

/// Stores a person's calendar-feed token hash, replacing any earlier one.
pub async fn set_calendar_feed(conn: &mut AsyncPgConnection, person_ref: &str, token_hash: &str) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO calendar_feeds (person_ref, token_hash) VALUES ($1, $2)
         ON CONFLICT (person_ref) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()",
    )
    .bind::<Text, _>(person_ref)
    .bind::<Text, _>(token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes a person's calendar feed; whether there was one.
pub async fn revoke_calendar_feed(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<bool> {
    Ok(diesel::sql_query("DELETE FROM calendar_feeds WHERE person_ref = $1").bind::<Text, _>(person_ref).execute(conn).await? > 0)
}

/// The person whose calendar feed has this token hash.
pub async fn calendar_feed_owner(conn: &mut AsyncPgConnection, token_hash: &str) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = Text)]
        person_ref: String,
    }
    let p: Option<P> = diesel::sql_query("SELECT person_ref FROM calendar_feeds WHERE token_hash = $1")
        .bind::<Text, _>(token_hash)
        .get_result(conn)
        .await
        .optional()?;
    Ok(p.map(|p| p.person_ref))
}

/// Every booking a person made through the registry (their own and as an association), newest
/// first: what a download of their data shows.
pub async fn made_by(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Vec<BookingRow>> {
    diesel::sql_query(format!("{SELECT} WHERE b.person_ref = $1 ORDER BY b.start_at DESC, b.id"))
        .bind::<Text, _>(person_ref)
        .load(conn)
        .await
}

/// Whether a person has a calendar feed.
pub async fn has_calendar_feed(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM calendar_feeds WHERE person_ref = $1")
        .bind::<Text, _>(person_ref)
        .get_result(conn)
        .await?;
    Ok(n.n > 0)
}

/// Forgets a person in the bookings (erasure): the rows of their own bookings go (each booking
/// system keeps its booking), the association bookings they made keep the association but no
/// longer the person, and their calendar feed goes. Returns (own rows deleted, association rows
/// anonymised).
pub async fn erase_person(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<(usize, usize)> {
    let deleted = diesel::sql_query("DELETE FROM bookings WHERE person_ref = $1 AND association_id IS NULL")
        .bind::<Text, _>(person_ref)
        .execute(conn)
        .await?;
    let anonymised = diesel::sql_query("UPDATE bookings SET person_ref = repeat('0', 64), updated_at = now() WHERE person_ref = $1")
        .bind::<Text, _>(person_ref)
        .execute(conn)
        .await?;
    diesel::sql_query("DELETE FROM calendar_feeds WHERE person_ref = $1").bind::<Text, _>(person_ref).execute(conn).await?;
    Ok((deleted, anonymised))
}

/// Clears the notice addresses of bookings that ended before `before`: kept only while needed.
pub async fn forget_addresses(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::sql_query("UPDATE bookings SET notify_email = NULL WHERE notify_email IS NOT NULL AND end_at < $1")
        .bind::<Timestamptz, _>(before)
        .execute(conn)
        .await
}
