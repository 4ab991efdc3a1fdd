//! The backend's own database: its migrations, and the rows of units, hours and bookings.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use uuid::Uuid;

use crate::error::{BookingError, Result};
use crate::model::{Actor, Booking, BookingStatus, Customer, CustomerType, Kind, PaymentMethod, Price, Rules, StatusChange, Unit};

pub use registry_core::db::Pool;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies every pending migration of the backend's database; returns the versions applied.
pub async fn migrate(url: &str) -> Result<Vec<String>> {
    let conn = registry_core::db::connect(url).await?;
    tokio::task::spawn_blocking(move || {
        let mut h = AsyncMigrationHarness::new(conn);
        h.run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect())
            .map_err(|e| BookingError::Internal(format!("migration failed: {e}")))
    })
    .await
    .map_err(|e| BookingError::Internal(format!("migration task failed: {e}")))?
}

#[derive(QueryableByName)]
struct UnitRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_ref: String,
    #[diesel(sql_type = SqlUuid)]
    registry_facility_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    registry_unit_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Int4)]
    slot_minutes: i32,
    #[diesel(sql_type = Int4)]
    min_minutes: i32,
    #[diesel(sql_type = Int4)]
    max_minutes: i32,
    #[diesel(sql_type = Int4)]
    lead_minutes: i32,
    #[diesel(sql_type = Int4)]
    horizon_days: i32,
    #[diesel(sql_type = Int4)]
    cancel_hours: i32,
    #[diesel(sql_type = Array<Text>)]
    direct_types: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    request_types: Vec<String>,
    #[diesel(sql_type = Jsonb)]
    prices: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    municipality_code: Option<String>,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

impl UnitRow {
    fn into_unit(self) -> Unit {
        let types = |v: Vec<String>| v.iter().filter_map(|t| CustomerType::parse(t)).collect();
        Unit {
            id: self.id,
            external_ref: self.external_ref,
            registry_facility_id: self.registry_facility_id,
            registry_unit_id: self.registry_unit_id,
            name: self.name,
            rules: Rules {
                slot_minutes: self.slot_minutes,
                min_minutes: self.min_minutes,
                max_minutes: self.max_minutes,
                lead_minutes: self.lead_minutes,
                horizon_days: self.horizon_days,
                cancel_hours: self.cancel_hours,
                direct_types: types(self.direct_types),
                request_types: types(self.request_types),
                prices: serde_json::from_value(self.prices).unwrap_or_default(),
            },
            municipality_code: self.municipality_code,
            version: self.version,
        }
    }
}

const UNIT_COLUMNS: &str = "id, external_ref, registry_facility_id, registry_unit_id, name, slot_minutes, min_minutes, max_minutes,
    lead_minutes, horizon_days, cancel_hours, direct_types, request_types, prices, municipality_code, version";

/// Inserts a unit, or replaces the one with the same external reference.
pub async fn save_unit(conn: &mut AsyncPgConnection, u: &Unit) -> Result<Unit> {
    let r = &u.rules;
    let names = |t: &[CustomerType]| t.iter().map(|t| t.as_str().to_string()).collect::<Vec<_>>();
    let row: UnitRow = diesel::sql_query(format!(
        "INSERT INTO units (id, external_ref, registry_facility_id, registry_unit_id, name, slot_minutes, min_minutes, max_minutes,
                            lead_minutes, horizon_days, cancel_hours, direct_types, request_types, prices, municipality_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (external_ref) DO UPDATE SET registry_facility_id = EXCLUDED.registry_facility_id,
                registry_unit_id = EXCLUDED.registry_unit_id, name = EXCLUDED.name, slot_minutes = EXCLUDED.slot_minutes,
                min_minutes = EXCLUDED.min_minutes, max_minutes = EXCLUDED.max_minutes, lead_minutes = EXCLUDED.lead_minutes,
                horizon_days = EXCLUDED.horizon_days, cancel_hours = EXCLUDED.cancel_hours, direct_types = EXCLUDED.direct_types,
                request_types = EXCLUDED.request_types, prices = EXCLUDED.prices,
                municipality_code = coalesce(EXCLUDED.municipality_code, units.municipality_code),
                version = units.version + 1, updated_at = now()
         RETURNING {UNIT_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(u.id)
    .bind::<Text, _>(&u.external_ref)
    .bind::<SqlUuid, _>(u.registry_facility_id)
    .bind::<SqlUuid, _>(u.registry_unit_id)
    .bind::<Text, _>(&u.name)
    .bind::<Int4, _>(r.slot_minutes)
    .bind::<Int4, _>(r.min_minutes)
    .bind::<Int4, _>(r.max_minutes)
    .bind::<Int4, _>(r.lead_minutes)
    .bind::<Int4, _>(r.horizon_days)
    .bind::<Int4, _>(r.cancel_hours)
    .bind::<Array<Text>, _>(names(&r.direct_types))
    .bind::<Array<Text>, _>(names(&r.request_types))
    .bind::<Jsonb, _>(serde_json::to_value(&r.prices).unwrap_or_default())
    .bind::<Nullable<Text>, _>(u.municipality_code.as_deref())
    .get_result(conn)
    .await?;
    Ok(row.into_unit())
}

/// The units with these external references (unknown ones are left out).
pub async fn units_by_ref(conn: &mut AsyncPgConnection, refs: &[String]) -> Result<Vec<Unit>> {
    let rows: Vec<UnitRow> = diesel::sql_query(format!("SELECT {UNIT_COLUMNS} FROM units WHERE external_ref = ANY($1)"))
        .bind::<Array<Text>, _>(refs)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(UnitRow::into_unit).collect())
}

/// Every unit, by reference.
pub async fn all_units(conn: &mut AsyncPgConnection) -> Result<Vec<Unit>> {
    let rows: Vec<UnitRow> = diesel::sql_query(format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY external_ref")).load(conn).await?;
    Ok(rows.into_iter().map(UnitRow::into_unit).collect())
}

#[derive(QueryableByName)]
struct HoursRow {
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = Jsonb)]
    schedule: serde_json::Value,
    #[diesel(sql_type = BigInt)]
    registry_version: i64,
    #[diesel(sql_type = Timestamptz)]
    fetched_at: DateTime<Utc>,
}

/// Stored hours: (unit, schedule, the registry's version, when read).
pub type StoredHours = (Uuid, serde_json::Value, i64, DateTime<Utc>);

/// The stored hours of some units.
pub async fn hours_of(conn: &mut AsyncPgConnection, units: &[Uuid]) -> Result<Vec<StoredHours>> {
    let rows: Vec<HoursRow> =
        diesel::sql_query("SELECT unit_id, schedule, registry_version, fetched_at FROM unit_hours WHERE unit_id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(units)
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.unit_id, r.schedule, r.registry_version, r.fetched_at)).collect())
}

/// Stores a unit's hours as read from the registry.
pub async fn save_hours(conn: &mut AsyncPgConnection, unit: Uuid, schedule: &serde_json::Value, version: i64) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO unit_hours (unit_id, schedule, registry_version, fetched_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (unit_id) DO UPDATE SET schedule = EXCLUDED.schedule, registry_version = EXCLUDED.registry_version,
                fetched_at = EXCLUDED.fetched_at",
    )
    .bind::<SqlUuid, _>(unit)
    .bind::<Jsonb, _>(schedule)
    .bind::<BigInt, _>(version)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct BookingRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = Text)]
    unit_ref: String,
    #[diesel(sql_type = Timestamptz)]
    start_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    end_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    customer_type: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    customer: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Text>)]
    status_message: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    cancel_reason: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    price_minor_per_hour: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    amount_minor: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    currency: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    payment_method: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    access_code: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    series_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    created_by: String,
    #[diesel(sql_type = Nullable<Text>)]
    request_hash: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    customer_ref: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    association_verified: bool,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl BookingRow {
    fn into_booking(self) -> (Booking, Option<String>) {
        let price = match (self.price_minor_per_hour, self.currency) {
            (Some(amount_minor), Some(currency)) => Some(Price { amount_minor, currency }),
            _ => None,
        };
        (
            Booking {
                id: self.id,
                unit_id: self.unit_id,
                unit_ref: self.unit_ref,
                start: self.start_at,
                end: self.end_at,
                // The database's CHECK constraints admit only the known codes.
                kind: Kind::parse(&self.kind).unwrap_or(Kind::Block),
                status: BookingStatus::parse(&self.status).unwrap_or(BookingStatus::Cancelled),
                customer_type: self.customer_type.as_deref().and_then(CustomerType::parse),
                customer: self.customer.and_then(|c| serde_json::from_value::<Customer>(c).ok()),
                status_message: self.status_message,
                cancel_reason: self.cancel_reason,
                price,
                amount_minor: self.amount_minor,
                payment_method: self.payment_method.as_deref().and_then(PaymentMethod::parse),
                access_code: self.access_code,
                series_id: self.series_id,
                created_by: self.created_by,
                customer_ref: self.customer_ref,
                association_verified: self.association_verified,
                version: self.version,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            self.request_hash,
        )
    }
}

const BOOKING_SELECT: &str = "SELECT b.id, b.unit_id, u.external_ref AS unit_ref, lower(b.during) AS start_at, upper(b.during) AS end_at,
        b.kind, b.status, b.customer_type, b.customer, b.status_message, b.cancel_reason, b.price_minor_per_hour, b.amount_minor,
        b.currency, b.payment_method, b.access_code, b.series_id, b.created_by, b.request_hash, b.customer_ref, b.association_verified, b.version, b.created_at, b.updated_at
   FROM bookings b JOIN units u ON u.id = b.unit_id";

/// A new booking's row.
pub struct NewBooking<'a> {
    /// Id.
    pub id: Uuid,
    /// Unit.
    pub unit_id: Uuid,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Kind.
    pub kind: Kind,
    /// Status.
    pub status: BookingStatus,
    /// Customer type.
    pub customer_type: Option<CustomerType>,
    /// Customer.
    pub customer: Option<&'a Customer>,
    /// Activity.
    pub activity: Option<&'a str>,
    /// Participants.
    pub participants: Option<i32>,
    /// The customer's message.
    pub customer_message: Option<&'a str>,
    /// A block's reason.
    pub status_message: Option<&'a str>,
    /// Price per hour.
    pub price: Option<&'a Price>,
    /// Amount.
    pub amount_minor: Option<i64>,
    /// Payment method.
    pub payment_method: Option<PaymentMethod>,
    /// Access code.
    pub access_code: Option<&'a str>,
    /// Series.
    pub series_id: Option<Uuid>,
    /// Caller.
    pub created_by: &'a str,
    /// Idempotency key and request hash.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// The caller's reference of the customer.
    pub customer_ref: Option<&'a str>,
    /// Whether the caller verified the association.
    pub association_verified: bool,
}

/// Why an insert failed.
pub enum InsertError {
    /// The time overlaps a confirmed booking or block of the unit.
    Overlap,
    /// The caller's idempotency key is taken.
    KeyTaken,
    /// Anything else.
    Other(BookingError),
}

/// The advisory lock that queues a unit's writes of time-holding bookings (held to the end of
/// the transaction). The exclusion constraint alone rules out double bookings, but concurrent
/// inserts that wait on each other's uncommitted rows can deadlock; queued, they do not.
const LOCK_UNIT: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7319))";

/// Takes the unit's lock for the rest of the transaction.
pub async fn lock_unit(conn: &mut AsyncPgConnection, unit: Uuid) -> Result<()> {
    diesel::sql_query(LOCK_UNIT).bind::<SqlUuid, _>(unit).execute(conn).await?;
    Ok(())
}

/// Inserts a booking, queued behind the unit's lock. The exclusion constraint refuses an
/// overlap; the unique index a reused key.
pub async fn insert_booking(conn: &mut AsyncPgConnection, b: &NewBooking<'_>) -> std::result::Result<(), InsertError> {
    // One statement: the lock is taken (from its row source) before the row is inserted, and
    // released when the statement's transaction commits.
    let r = diesel::sql_query(
        "INSERT INTO bookings (id, unit_id, during, kind, status, customer_type, customer, activity, participants, customer_message,
                               status_message, price_minor_per_hour, amount_minor, currency, payment_method, access_code, series_id,
                               created_by, idempotency_key, request_hash, customer_ref, association_verified)
         SELECT $1, $2, tstzrange($3, $4, '[)'), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                $22, $23
           FROM (SELECT pg_advisory_xact_lock(hashtextextended($2::text, 7319))) AS queued",
    )
    .bind::<SqlUuid, _>(b.id)
    .bind::<SqlUuid, _>(b.unit_id)
    .bind::<Timestamptz, _>(b.start)
    .bind::<Timestamptz, _>(b.end)
    .bind::<Text, _>(b.kind.as_str())
    .bind::<Text, _>(b.status.as_str())
    .bind::<Nullable<Text>, _>(b.customer_type.map(CustomerType::as_str))
    .bind::<Nullable<Jsonb>, _>(b.customer.map(|c| serde_json::to_value(c).unwrap_or_default()))
    .bind::<Nullable<Text>, _>(b.activity)
    .bind::<Nullable<Int4>, _>(b.participants)
    .bind::<Nullable<Text>, _>(b.customer_message)
    .bind::<Nullable<Text>, _>(b.status_message)
    .bind::<Nullable<BigInt>, _>(b.price.map(|p| p.amount_minor))
    .bind::<Nullable<BigInt>, _>(b.amount_minor)
    .bind::<Nullable<Text>, _>(b.price.map(|p| p.currency.as_str()))
    .bind::<Nullable<Text>, _>(b.payment_method.map(PaymentMethod::as_str))
    .bind::<Nullable<Text>, _>(b.access_code)
    .bind::<Nullable<SqlUuid>, _>(b.series_id)
    .bind::<Text, _>(b.created_by)
    .bind::<Nullable<Text>, _>(b.idempotency.map(|i| i.0))
    .bind::<Nullable<Text>, _>(b.idempotency.map(|i| i.1))
    .bind::<Nullable<Text>, _>(b.customer_ref)
    .bind::<diesel::sql_types::Bool, _>(b.association_verified)
    .execute(conn)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(kind, info)) => {
            let constraint = info.constraint_name().map(str::to_string);
            match (kind, constraint.as_deref()) {
                (_, Some("no_double_booking")) => Err(InsertError::Overlap),
                (diesel::result::DatabaseErrorKind::UniqueViolation, Some("bookings_idempotency")) => Err(InsertError::KeyTaken),
                // Anything else through the one table: a lost connection is UNAVAILABLE.
                (kind, _) => Err(InsertError::Other(diesel::result::Error::DatabaseError(kind, info).into())),
            }
        }
        Err(e) => Err(InsertError::Other(e.into())),
    }
}

/// One booking and its request hash; `lock` takes a row lock.
pub async fn booking(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> Result<Option<(Booking, Option<String>)>> {
    let sql = format!("{BOOKING_SELECT} WHERE b.id = $1{}", if lock { " FOR UPDATE OF b" } else { "" });
    let row: Option<BookingRow> = diesel::sql_query(sql).bind::<SqlUuid, _>(id).get_result(conn).await.optional()?;
    Ok(row.map(BookingRow::into_booking))
}

/// The bookings and blocks of some units that hold time (confirmed, pending or awaiting
/// completion) and overlap `[from, to)`, by unit and start.
pub async fn busy(conn: &mut AsyncPgConnection, units: &[Uuid], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
    let sql = format!(
        "{BOOKING_SELECT} WHERE b.unit_id = ANY($1) AND b.during && tstzrange($2, $3, '[)')
            AND b.status IN ('confirmed', 'pending', 'needs_completion')
          ORDER BY b.unit_id, lower(b.during)"
    );
    let rows: Vec<BookingRow> =
        diesel::sql_query(sql).bind::<Array<SqlUuid>, _>(units).bind::<Timestamptz, _>(from).bind::<Timestamptz, _>(to).load(conn).await?;
    Ok(rows.into_iter().map(|r| r.into_booking().0).collect())
}

/// Sets a booking's status (and its message or cancellation reason), bumping its version.
/// Confirming can overlap another confirmed booking: the exclusion constraint refuses it.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: BookingStatus,
    status_message: Option<&str>,
    cancel_reason: Option<&str>,
) -> std::result::Result<(), InsertError> {
    let r = diesel::sql_query(
        "UPDATE bookings SET status = $2, status_message = COALESCE($3, status_message), cancel_reason = COALESCE($4, cancel_reason),
                version = version + 1, updated_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status.as_str())
    .bind::<Nullable<Text>, _>(status_message)
    .bind::<Nullable<Text>, _>(cancel_reason)
    .execute(conn)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(_, info)) if info.constraint_name() == Some("no_double_booking") => {
            Err(InsertError::Overlap)
        }
        Err(e) => Err(InsertError::Other(e.into())),
    }
}

/// The bookings of a series, by start.
pub async fn series(conn: &mut AsyncPgConnection, series_id: Uuid) -> Result<Vec<Booking>> {
    let sql = format!("{BOOKING_SELECT} WHERE b.series_id = $1 ORDER BY lower(b.during)");
    let rows: Vec<BookingRow> = diesel::sql_query(sql).bind::<SqlUuid, _>(series_id).load(conn).await?;
    Ok(rows.into_iter().map(|r| r.into_booking().0).collect())
}

#[derive(QueryableByName)]
struct SpanRow {
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    start_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    end_at: DateTime<Utc>,
}

/// The time held (confirmed bookings and blocks) of some units overlapping `[from, to)`, as
/// (unit, start, end) by unit and start: what availability needs, and nothing personal.
pub async fn held(
    conn: &mut AsyncPgConnection,
    units: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)>> {
    let rows: Vec<SpanRow> = diesel::sql_query(
        "SELECT unit_id, lower(during) AS start_at, upper(during) AS end_at FROM bookings
          WHERE unit_id = ANY($1) AND during && tstzrange($2, $3, '[)') AND status = 'confirmed'
          ORDER BY unit_id, lower(during)",
    )
    .bind::<Array<SqlUuid>, _>(units)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.unit_id, r.start_at, r.end_at)).collect())
}

/// What an idempotency key was first used for.
#[derive(Debug, Clone, QueryableByName)]
pub struct KeyUse {
    /// `booking`, `series` or `block`.
    #[diesel(sql_type = Text)]
    pub operation: String,
    /// The request's hash.
    #[diesel(sql_type = Text)]
    pub request_hash: String,
    /// The booking or block made.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub booking_id: Option<Uuid>,
    /// The series made.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub series_id: Option<Uuid>,
    /// A series' first answer.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub answer: Option<serde_json::Value>,
}

/// The outcome of claiming a key.
#[derive(Debug)]
pub enum Claim {
    /// The key is this transaction's until it ends (released if it rolls back).
    Ours,
    /// The key was used before (by a transaction that has committed): what for.
    Taken(KeyUse),
}

/// What `caller`'s `key` was used for, if anything (committed uses only).
pub async fn key_use(conn: &mut AsyncPgConnection, caller: &str, key: &str) -> Result<Option<KeyUse>> {
    Ok(diesel::sql_query(
        "SELECT operation, request_hash, booking_id, series_id, answer FROM idempotency_keys WHERE caller = $1 AND key = $2",
    )
    .bind::<Text, _>(caller)
    .bind::<Text, _>(key)
    .get_result(conn)
    .await
    .optional()?)
}

/// Claims `caller`'s `key` for `operation`, inside the caller's transaction. When another
/// transaction holds the same key uncommitted, this waits until it ends: committed, the key is
/// taken and its use is returned; rolled back, the key is claimed here.
pub async fn claim_key(
    conn: &mut AsyncPgConnection,
    caller: &str,
    key: &str,
    operation: &str,
    request_hash: &str,
    booking_id: Option<Uuid>,
) -> Result<Claim> {
    // A key is never released once its claim has committed, so a conflict found here is
    // readable by the next statement (which reads what has committed by then).
    for _ in 0..3 {
        let claimed = diesel::sql_query(
            "INSERT INTO idempotency_keys (caller, key, operation, request_hash, booking_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (caller, key) DO NOTHING",
        )
        .bind::<Text, _>(caller)
        .bind::<Text, _>(key)
        .bind::<Text, _>(operation)
        .bind::<Text, _>(request_hash)
        .bind::<Nullable<SqlUuid>, _>(booking_id)
        .execute(conn)
        .await?;
        if claimed == 1 {
            return Ok(Claim::Ours);
        }
        if let Some(used) = key_use(conn, caller, key).await? {
            return Ok(Claim::Taken(used));
        }
    }
    Err(BookingError::Internal("an idempotency key was neither free nor taken".into()))
}

/// Records what a claimed series key made: the series (none when nothing was created) and the
/// report answered.
pub async fn record_series(
    conn: &mut AsyncPgConnection,
    caller: &str,
    key: &str,
    series_id: Option<Uuid>,
    answer: &serde_json::Value,
) -> Result<()> {
    diesel::sql_query("UPDATE idempotency_keys SET series_id = $3, answer = $4 WHERE caller = $1 AND key = $2")
        .bind::<Text, _>(caller)
        .bind::<Text, _>(key)
        .bind::<Nullable<SqlUuid>, _>(series_id)
        .bind::<Jsonb, _>(answer)
        .execute(conn)
        .await?;
    Ok(())
}

/// Releases a claimed key (nothing was made: a retry is asked again).
pub async fn release_key(conn: &mut AsyncPgConnection, caller: &str, key: &str) -> Result<()> {
    diesel::sql_query("DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2")
        .bind::<Text, _>(caller)
        .bind::<Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Names who acts in this transaction: the outbox trigger records it with every change.
pub async fn set_actor(conn: &mut AsyncPgConnection, actor: Actor) -> Result<()> {
    diesel::sql_query("SELECT set_config('reference_booking.actor', $1, true)").bind::<Text, _>(actor.as_str()).execute(conn).await?;
    Ok(())
}

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = SqlUuid)]
    booking_id: Uuid,
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = Text)]
    actor: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl ChangeRow {
    fn into_change(self) -> (Uuid, StatusChange) {
        let p = &self.payload;
        let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let moved = self.event == "booking.moved";
        let status = text("status").as_deref().and_then(BookingStatus::parse).unwrap_or(BookingStatus::Cancelled);
        let message = if moved {
            None
        } else if text("previousStatus").is_none() {
            // Made: the customer's message with a request (a block's reason is its status message).
            text("customerMessage").or_else(|| text("statusMessage"))
        } else if status == BookingStatus::Cancelled {
            text("cancelReason")
        } else if status == BookingStatus::Pending {
            // A request completed and sent again: the customer's answer.
            text("customerMessage")
        } else {
            text("statusMessage")
        };
        let note = moved.then(|| {
            format!(
                "moved from {} {} – {}",
                text("previousUnitRef").unwrap_or_default(),
                text("previousStart").unwrap_or_default(),
                text("previousEnd").unwrap_or_default()
            )
        });
        (
            self.booking_id,
            StatusChange { seq: self.seq, status, moved, at: self.created_at, message, actor: Actor::parse(&self.actor), note },
        )
    }
}

/// The status history of some bookings, oldest first per booking.
pub async fn history(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<Vec<(Uuid, StatusChange)>> {
    let rows: Vec<ChangeRow> = diesel::sql_query(
        "SELECT seq, booking_id, event, actor, payload, created_at FROM outbox WHERE booking_id = ANY($1) ORDER BY booking_id, seq",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(ChangeRow::into_change).collect())
}

/// The changes of `caller`'s bookings after `after`, oldest first, at most `limit`, and the
/// cursor to read on from. The trigger appends in commit order (see the migration), so reading
/// `seq > after` never skips a change that commits late.
pub async fn changes(conn: &mut AsyncPgConnection, caller: &str, after: i64, limit: i64) -> Result<(Vec<(Uuid, StatusChange)>, i64)> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = Nullable<BigInt>)]
        last: Option<i64>,
    }
    // Everything up to the last change seen now is committed (commit order), so the rows read
    // next up to it are complete.
    let last: Last = diesel::sql_query("SELECT max(seq) AS last FROM outbox").get_result(conn).await?;
    let last = last.last.unwrap_or(0);
    let rows: Vec<ChangeRow> = diesel::sql_query(
        "SELECT o.seq, o.booking_id, o.event, o.actor, o.payload, o.created_at
           FROM outbox o JOIN bookings b ON b.id = o.booking_id
          WHERE o.seq > $1 AND o.seq <= $2 AND b.created_by = $3
          ORDER BY o.seq LIMIT $4",
    )
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(last)
    .bind::<Text, _>(caller)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    // A short page is the end: the cursor moves past other callers' changes too, so a caller
    // with few bookings does not scan the others' again and again.
    let next = if rows.len() as i64 == limit { rows.last().map_or(after, |r| r.seq) } else { last.max(after) };
    Ok((rows.into_iter().map(ChangeRow::into_change).collect(), next))
}

/// `caller`'s bookings (never blocks), with one of `refs` when given, overlapping `[from, to)`,
/// by start then id, after the page position `after` (start, id), at most `limit`.
#[allow(clippy::too_many_arguments)]
pub async fn bookings_of(
    conn: &mut AsyncPgConnection,
    caller: &str,
    refs: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Booking>> {
    let sql = format!(
        "{BOOKING_SELECT} WHERE b.created_by = $1 AND b.kind <> 'block' AND ($2::text[] IS NULL OR b.customer_ref = ANY($2))
            AND b.during && tstzrange($3, $4, '[)') AND ($5::timestamptz IS NULL OR (lower(b.during), b.id) > ($5, $6))
          ORDER BY lower(b.during), b.id LIMIT $7"
    );
    let rows: Vec<BookingRow> = diesel::sql_query(sql)
        .bind::<Text, _>(caller)
        .bind::<Nullable<Array<Text>>, _>(refs)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
        .bind::<SqlUuid, _>(after.map_or(Uuid::nil(), |a| a.1))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.into_booking().0).collect())
}

/// Moves a booking to `[start, end)` on `unit`, with its new amount. The exclusion constraint
/// refuses an overlap with another confirmed booking (and the row stays as it was).
pub async fn move_booking(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    unit: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    price: Option<&Price>,
    amount_minor: Option<i64>,
) -> std::result::Result<(), InsertError> {
    let r = diesel::sql_query(
        "UPDATE bookings SET unit_id = $2, during = tstzrange($3, $4, '[)'), price_minor_per_hour = $5, currency = $6,
                amount_minor = $7, version = version + 1, updated_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(unit)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Nullable<BigInt>, _>(price.map(|p| p.amount_minor))
    .bind::<Nullable<Text>, _>(price.map(|p| p.currency.as_str()))
    .bind::<Nullable<BigInt>, _>(amount_minor)
    .execute(conn)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(_, info)) if info.constraint_name() == Some("no_double_booking") => {
            Err(InsertError::Overlap)
        }
        Err(e) => Err(InsertError::Other(e.into())),
    }
}

/// Records the customer's answer to a completion request (their message from now on).
pub async fn set_customer_message(conn: &mut AsyncPgConnection, id: Uuid, message: &str) -> Result<()> {
    diesel::sql_query("UPDATE bookings SET customer_message = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(message)
        .execute(conn)
        .await?;
    Ok(())
}

/// Booking requests waiting for a case officer (of the given statuses), oldest first, after the
/// page position `after` (created, id), at most `limit`; filtered by the unit's municipality,
/// the registry's facility and the unit's reference when given.
#[allow(clippy::too_many_arguments)]
pub async fn requests(
    conn: &mut AsyncPgConnection,
    statuses: &[&str],
    municipality: Option<&str>,
    facility: Option<Uuid>,
    unit_ref: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Booking>> {
    let sql = format!(
        "{BOOKING_SELECT} WHERE b.kind = 'request' AND b.status = ANY($1)
            AND ($2::text IS NULL OR u.municipality_code = $2) AND ($3::uuid IS NULL OR u.registry_facility_id = $3)
            AND ($4::text IS NULL OR u.external_ref = $4) AND ($5::timestamptz IS NULL OR (b.created_at, b.id) > ($5, $6))
          ORDER BY b.created_at, b.id LIMIT $7"
    );
    let rows: Vec<BookingRow> = diesel::sql_query(sql)
        .bind::<Array<Text>, _>(statuses)
        .bind::<Nullable<Text>, _>(municipality)
        .bind::<Nullable<SqlUuid>, _>(facility)
        .bind::<Nullable<Text>, _>(unit_ref)
        .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
        .bind::<SqlUuid, _>(after.map_or(Uuid::nil(), |a| a.1))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.into_booking().0).collect())
}
