//! Rows of `opening_hours` (the stored schedules) and `open_intervals` (their materialised
//! open intervals, which search's open-hours filter reads).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::opening_hours;
use crate::error::{Error, Result};
use crate::hours::OpeningHours;

/// One stored schedule as the refresh job reads it: facility, unit, schedule (JSON), version, updated at.
pub type Row = (Uuid, Option<Uuid>, serde_json::Value, i64, DateTime<Utc>);

#[derive(QueryableByName)]
struct HoursRow {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    schedule: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

fn decode(json: serde_json::Value) -> Result<OpeningHours> {
    serde_json::from_value(json).map_err(|e| Error::Internal(format!("stored opening hours do not decode: {e}")))
}

/// The schedule of a facility (`unit` none) or of one unit, with its version and time of last
/// change; `lock` takes the row for update.
pub async fn load(
    conn: &mut AsyncPgConnection,
    facility: Uuid,
    unit: Option<Uuid>,
    lock: bool,
) -> Result<Option<(OpeningHours, i64, DateTime<Utc>)>> {
    let sql = format!(
        "SELECT schedule, version, updated_at FROM opening_hours WHERE facility_id = $1 AND unit_id IS NOT DISTINCT FROM $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: Option<HoursRow> =
        diesel::sql_query(sql).bind::<SqlUuid, _>(facility).bind::<Nullable<SqlUuid>, _>(unit).get_result(conn).await.optional()?;
    row.map(|r| Ok((decode(r.schedule)?, r.version, r.updated_at))).transpose()
}

/// Stores a schedule at `version`, replacing the owner's previous one.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    facility: Uuid,
    unit: Option<Uuid>,
    hours: &OpeningHours,
    version: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    let json = serde_json::to_value(hours).expect("schedules serialise");
    diesel::sql_query(
        "INSERT INTO opening_hours (facility_id, unit_id, schedule, version, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (facility_id, coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid)) \
         DO UPDATE SET schedule = EXCLUDED.schedule, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
    )
    .bind::<SqlUuid, _>(facility)
    .bind::<Nullable<SqlUuid>, _>(unit)
    .bind::<diesel::sql_types::Jsonb, _>(&json)
    .bind::<diesel::sql_types::BigInt, _>(version)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the materialised intervals of one owner with those of `hours` in [from, to).
pub async fn materialise(
    conn: &mut AsyncPgConnection,
    facility: Uuid,
    unit: Option<Uuid>,
    hours: Option<&OpeningHours>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize> {
    diesel::sql_query("DELETE FROM open_intervals WHERE facility_id = $1 AND unit_id IS NOT DISTINCT FROM $2")
        .bind::<SqlUuid, _>(facility)
        .bind::<Nullable<SqlUuid>, _>(unit)
        .execute(conn)
        .await?;
    let Some(hours) = hours else { return Ok(0) };
    let list = hours.intervals(from, to);
    if list.is_empty() {
        return Ok(0);
    }
    let starts: Vec<DateTime<Utc>> = list.iter().map(|i| i.start).collect();
    let ends: Vec<DateTime<Utc>> = list.iter().map(|i| i.end).collect();
    diesel::sql_query(
        "INSERT INTO open_intervals (facility_id, unit_id, during, window_start, window_end) \
         SELECT $1, $2, range_agg(tstzrange(s, e, '[)')), $5, $6 FROM unnest($3::timestamptz[], $4::timestamptz[]) AS t(s, e)",
    )
    .bind::<SqlUuid, _>(facility)
    .bind::<Nullable<SqlUuid>, _>(unit)
    .bind::<Array<Timestamptz>, _>(starts)
    .bind::<Array<Timestamptz>, _>(ends)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .execute(conn)
    .await?;
    Ok(list.len())
}

/// Every stored schedule.
pub async fn load_all(conn: &mut AsyncPgConnection) -> Result<Vec<Row>> {
    Ok(opening_hours::table
        .select((
            opening_hours::facility_id,
            opening_hours::unit_id,
            opening_hours::schedule,
            opening_hours::version,
            opening_hours::updated_at,
        ))
        .load(conn)
        .await?)
}

/// Rematerialises one batch of owners in [from, to) in one transaction; returns the schedules
/// and intervals written.
pub async fn refresh_batch(conn: &mut AsyncPgConnection, chunk: &[Row], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(usize, usize)> {
    // Owner k of the batch: its facility, unit and intervals as parallel arrays.
    let (mut facilities, mut units, mut owners, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, (facility, unit, json, _, _)) in chunk.iter().enumerate() {
        let hours = decode(json.clone())?;
        facilities.push(*facility);
        units.push(*unit);
        for i in hours.intervals(from, to) {
            owners.push(k as i32 + 1);
            starts.push(i.start);
            ends.push(i.end);
        }
    }
    let counts = (chunk.len(), owners.len());
    conn.transaction(async move |conn| {
        diesel::sql_query(
            "DELETE FROM open_intervals o USING unnest($1::uuid[], $2::uuid[]) AS t(f, u) \
                     WHERE o.facility_id = t.f AND o.unit_id IS NOT DISTINCT FROM t.u",
        )
        .bind::<Array<SqlUuid>, _>(&facilities)
        .bind::<Array<Nullable<SqlUuid>>, _>(&units)
        .execute(conn)
        .await?;
        // Binary timestamps and range_agg beat a text multirange literal (measured: 3.6 s
        // against 5.3 s for 5,000 facilities).
        diesel::sql_query(
            "INSERT INTO open_intervals (facility_id, unit_id, during, window_start, window_end) \
                     SELECT ($1::uuid[])[k], ($2::uuid[])[k], range_agg(tstzrange(s, e, '[)')), $6, $7 \
                     FROM unnest($3::int4[], $4::timestamptz[], $5::timestamptz[]) AS t(k, s, e) GROUP BY k",
        )
        .bind::<Array<SqlUuid>, _>(&facilities)
        .bind::<Array<Nullable<SqlUuid>>, _>(&units)
        .bind::<Array<diesel::sql_types::Int4>, _>(&owners)
        .bind::<Array<Timestamptz>, _>(&starts)
        .bind::<Array<Timestamptz>, _>(&ends)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .execute(conn)
        .await?;
        Ok::<_, Error>(())
    })
    .await?;
    Ok(counts)
}
