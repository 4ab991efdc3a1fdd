//! Storage of rounds, applications, runs and comments (migration `000018_allocation`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

diesel::table! {
    allocation_rounds (id) {
        id -> Uuid,
        municipality_code -> Text,
        name -> Text,
        season_start -> Date,
        season_end -> Date,
        breaks -> Jsonb,
        applications_open -> Timestamptz,
        applications_close -> Timestamptz,
        grid_minutes -> Int2,
        units -> Jsonb,
        principles -> Jsonb,
        status -> Text,
        published_run -> Nullable<Uuid>,
        final_run -> Nullable<Uuid>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    allocation_applications (id) {
        id -> Uuid,
        round_id -> Uuid,
        association_id -> Uuid,
        team -> Jsonb,
        wishes -> Jsonb,
        status -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamptz,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    allocation_runs (id) {
        id -> Uuid,
        round_id -> Uuid,
        label -> Text,
        base_run -> Nullable<Uuid>,
        principles -> Jsonb,
        locks -> Jsonb,
        figures -> Jsonb,
        decisions -> Jsonb,
        created_by -> Text,
        created_at -> Timestamptz,
        kind -> Text,
        vendor_checks -> Jsonb,
    }
}

diesel::table! {
    allocation_matches (id) {
        id -> Uuid,
        round_id -> Uuid,
        application_id -> Uuid,
        request -> Jsonb,
        status -> Text,
        slot -> Nullable<Jsonb>,
        decided_run -> Nullable<Uuid>,
        why_not -> Jsonb,
        submitted_by -> Text,
        submitted_at -> Timestamptz,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

/// A stored match request.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = allocation_matches, treat_none_as_null = true)]
pub struct MatchRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub application_id: Uuid,
    pub request: Value,
    pub status: String,
    pub slot: Option<Value>,
    pub decided_run: Option<Uuid>,
    pub why_not: Value,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// One match request, locked for update when `lock`.
pub async fn match_row(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<MatchRow>> {
    let q = allocation_matches::table.find(id).select(MatchRow::as_select());
    if lock { q.for_update().first(conn).await.optional() } else { q.first(conn).await.optional() }
}

/// A round's match requests in the order they came, of some applications only when given
/// (writers lock the round first).
pub async fn matches(conn: &mut AsyncPgConnection, round: Uuid, of: Option<&[Uuid]>) -> QueryResult<Vec<MatchRow>> {
    let mut q = allocation_matches::table
        .filter(allocation_matches::round_id.eq(round))
        .order((allocation_matches::submitted_at, allocation_matches::id))
        .select(MatchRow::as_select())
        .into_boxed();
    if let Some(of) = of {
        q = q.filter(allocation_matches::application_id.eq_any(of.to_vec()));
    }
    q.load(conn).await
}

/// Stores a new match request.
pub async fn insert_match(conn: &mut AsyncPgConnection, m: &MatchRow) -> QueryResult<()> {
    diesel::insert_into(allocation_matches::table).values(m).execute(conn).await.map(|_| ())
}

/// Stores a match request's new state.
pub async fn update_match(conn: &mut AsyncPgConnection, m: &MatchRow) -> QueryResult<()> {
    diesel::update(allocation_matches::table.find(m.id)).set(m).execute(conn).await.map(|_| ())
}

diesel::table! {
    allocation_comments (id) {
        id -> Uuid,
        round_id -> Uuid,
        application_id -> Uuid,
        run_id -> Uuid,
        text -> Text,
        author -> Text,
        created_at -> Timestamptz,
    }
}

/// A stored round.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = allocation_rounds, treat_none_as_null = true)]
pub struct RoundRow {
    pub id: Uuid,
    pub municipality_code: String,
    pub name: String,
    pub season_start: NaiveDate,
    pub season_end: NaiveDate,
    pub breaks: Value,
    pub applications_open: DateTime<Utc>,
    pub applications_close: DateTime<Utc>,
    pub grid_minutes: i16,
    pub units: Value,
    pub principles: Value,
    pub status: String,
    pub published_run: Option<Uuid>,
    pub final_run: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored application.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = allocation_applications)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub association_id: Uuid,
    pub team: Value,
    pub wishes: Value,
    pub status: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// A stored run.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_runs)]
pub struct RunRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub label: String,
    pub base_run: Option<Uuid>,
    pub principles: Value,
    pub locks: Value,
    pub figures: Value,
    pub decisions: Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub vendor_checks: Value,
}

/// A stored comment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_comments)]
pub struct CommentRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub application_id: Uuid,
    pub run_id: Uuid,
    pub text: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// A round, locked for update when `lock`.
pub async fn round(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<RoundRow>> {
    let q = allocation_rounds::table.find(id).select(RoundRow::as_select());
    if lock { q.for_update().first(conn).await.optional() } else { q.first(conn).await.optional() }
}

/// Rounds, newest season first, of one municipality or all.
pub async fn rounds(conn: &mut AsyncPgConnection, municipality: Option<&str>) -> QueryResult<Vec<RoundRow>> {
    let mut q = allocation_rounds::table
        .select(RoundRow::as_select())
        .order((allocation_rounds::season_start.desc(), allocation_rounds::id))
        .limit(500)
        .into_boxed();
    if let Some(m) = municipality {
        q = q.filter(allocation_rounds::municipality_code.eq(m.to_string()));
    }
    q.load(conn).await
}

/// The municipality's latest final round before a date.
pub async fn previous_final(conn: &mut AsyncPgConnection, municipality: &str, before: NaiveDate) -> QueryResult<Option<RoundRow>> {
    allocation_rounds::table
        .filter(allocation_rounds::municipality_code.eq(municipality))
        .filter(allocation_rounds::status.eq("final"))
        .filter(allocation_rounds::season_end.lt(before))
        .order(allocation_rounds::season_end.desc())
        .select(RoundRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores a new round.
pub async fn insert_round(conn: &mut AsyncPgConnection, r: &RoundRow) -> QueryResult<()> {
    diesel::insert_into(allocation_rounds::table).values(r).execute(conn).await.map(|_| ())
}

/// Stores a round's new state.
pub async fn update_round(conn: &mut AsyncPgConnection, r: &RoundRow) -> QueryResult<()> {
    diesel::update(allocation_rounds::table.find(r.id)).set(r).execute(conn).await.map(|_| ())
}

/// One application.
pub async fn application(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApplicationRow>> {
    allocation_applications::table.find(id).select(ApplicationRow::as_select()).first(conn).await.optional()
}

/// A round's applications in the order they came (submitted ones only unless `all`), of some
/// associations only when given.
pub async fn applications(conn: &mut AsyncPgConnection, round: Uuid, all: bool, of: Option<&[Uuid]>) -> QueryResult<Vec<ApplicationRow>> {
    let mut q = allocation_applications::table
        .filter(allocation_applications::round_id.eq(round))
        .order((allocation_applications::submitted_at, allocation_applications::id))
        .select(ApplicationRow::as_select())
        .into_boxed();
    if !all {
        q = q.filter(allocation_applications::status.eq("submitted"));
    }
    if let Some(of) = of {
        q = q.filter(allocation_applications::association_id.eq_any(of.to_vec()));
    }
    q.load(conn).await
}

/// Stores a new application.
pub async fn insert_application(conn: &mut AsyncPgConnection, a: &ApplicationRow) -> QueryResult<()> {
    diesel::insert_into(allocation_applications::table).values(a).execute(conn).await.map(|_| ())
}

/// Stores an application's new state.
pub async fn update_application(conn: &mut AsyncPgConnection, a: &ApplicationRow) -> QueryResult<()> {
    diesel::update(allocation_applications::table.find(a.id)).set(a).execute(conn).await.map(|_| ())
}

/// A run without its decisions: id, label, base run, principles, figures, by, at, kind.
pub type RunSummaryRow = (Uuid, String, Option<Uuid>, Value, Value, String, DateTime<Utc>, String);

/// One run.
pub async fn run(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<RunRow>> {
    allocation_runs::table.find(id).select(RunRow::as_select()).first(conn).await.optional()
}

/// A round's runs, newest first, without their decisions (figures only).
pub async fn runs(conn: &mut AsyncPgConnection, round: Uuid) -> QueryResult<Vec<RunSummaryRow>> {
    allocation_runs::table
        .filter(allocation_runs::round_id.eq(round))
        .order((allocation_runs::created_at.desc(), allocation_runs::id.desc()))
        .select((
            allocation_runs::id,
            allocation_runs::label,
            allocation_runs::base_run,
            allocation_runs::principles,
            allocation_runs::figures,
            allocation_runs::created_by,
            allocation_runs::created_at,
            allocation_runs::kind,
        ))
        .limit(200)
        .load(conn)
        .await
}

/// Stores a run.
pub async fn insert_run(conn: &mut AsyncPgConnection, r: &RunRow) -> QueryResult<()> {
    diesel::insert_into(allocation_runs::table).values(r).execute(conn).await.map(|_| ())
}

/// Stores a comment.
pub async fn insert_comment(conn: &mut AsyncPgConnection, c: &CommentRow) -> QueryResult<()> {
    diesel::insert_into(allocation_comments::table).values(c).execute(conn).await.map(|_| ())
}

/// A round's comments, oldest first, on some applications only when given.
pub async fn comments(conn: &mut AsyncPgConnection, round: Uuid, on: Option<&[Uuid]>) -> QueryResult<Vec<CommentRow>> {
    let mut q = allocation_comments::table
        .filter(allocation_comments::round_id.eq(round))
        .order((allocation_comments::created_at, allocation_comments::id))
        .select(CommentRow::as_select())
        .into_boxed();
    if let Some(on) = on {
        q = q.filter(allocation_comments::application_id.eq_any(on.to_vec()));
    }
    q.load(conn).await
}

diesel::table! {
    allocation_series (round_id, application_id, wish, session) {
        round_id -> Uuid,
        application_id -> Uuid,
        wish -> Int2,
        session -> Int2,
        unit_id -> Uuid,
        day -> Int2,
        start_time -> Text,
        end_time -> Text,
        status -> Text,
        vendor_id -> Nullable<Uuid>,
        series_id -> Nullable<Text>,
        report -> Nullable<Jsonb>,
        message -> Nullable<Text>,
        attempts -> Int4,
        next_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        match_id -> Nullable<Uuid>,
        match_date -> Nullable<Date>,
    }
}

/// A session of a final allocation to be booked (or booked) at its vendor.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_series)]
pub struct SeriesRow {
    pub round_id: Uuid,
    pub application_id: Uuid,
    pub wish: i16,
    pub session: i16,
    pub unit_id: Uuid,
    pub day: i16,
    pub start_time: String,
    pub end_time: String,
    pub status: String,
    pub vendor_id: Option<Uuid>,
    pub series_id: Option<String>,
    pub report: Option<Value>,
    pub message: Option<String>,
    pub attempts: i32,
    pub next_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// A decided match (booked as one occasion on `match_date`), or none for a weekly session.
    pub match_id: Option<Uuid>,
    /// The match's date.
    pub match_date: Option<NaiveDate>,
}

/// The one row of `r` in the outbox (weekly sessions by application, wish and session;
/// matches by their request).
macro_rules! series_of_row {
    ($r:expr) => {
        allocation_series::table
            .filter(allocation_series::round_id.eq($r.round_id))
            .filter(allocation_series::application_id.eq($r.application_id))
            .filter(allocation_series::wish.eq($r.wish))
            .filter(allocation_series::session.eq($r.session))
            .filter(allocation_series::match_id.is_not_distinct_from($r.match_id))
    };
}

/// Queues sessions for booking.
pub async fn insert_series(conn: &mut AsyncPgConnection, rows: &[SeriesRow]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        diesel::insert_into(allocation_series::table).values(chunk).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(())
}

/// Claims up to `n` due sessions for `lease` (other workers skip them meanwhile).
pub async fn claim_series(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    n: i64,
) -> QueryResult<Vec<SeriesRow>> {
    use diesel_async::AsyncConnection;
    conn.transaction(async move |conn| {
        let due: Vec<SeriesRow> = allocation_series::table
            .filter(allocation_series::status.eq("pending"))
            .filter(allocation_series::next_at.le(now))
            .filter(allocation_series::lease_until.is_null().or(allocation_series::lease_until.lt(now)))
            .order((
                allocation_series::next_at,
                allocation_series::round_id,
                allocation_series::application_id,
                allocation_series::wish,
                allocation_series::session,
            ))
            .limit(n)
            .for_update()
            .skip_locked()
            .select(SeriesRow::as_select())
            .load(conn)
            .await?;
        for r in &due {
            diesel::update(series_of_row!(r))
                .set((allocation_series::lease_until.eq(now + lease), allocation_series::attempts.eq(r.attempts + 1)))
                .execute(conn)
                .await?;
        }
        Ok(due)
    })
    .await
}

/// Records what became of a session.
#[allow(clippy::too_many_arguments)]
pub async fn settle_series(
    conn: &mut AsyncPgConnection,
    r: &SeriesRow,
    status: &str,
    vendor: Option<Uuid>,
    series_id: Option<String>,
    report: Option<Value>,
    message: Option<String>,
    next_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(series_of_row!(r))
        .set((
            allocation_series::status.eq(status),
            allocation_series::vendor_id.eq(vendor),
            allocation_series::series_id.eq(series_id),
            allocation_series::report.eq(report),
            allocation_series::message.eq(message),
            allocation_series::next_at.eq(next_at),
            allocation_series::lease_until.eq(None::<DateTime<Utc>>),
            allocation_series::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A round's sessions at the vendors.
pub async fn series_of(conn: &mut AsyncPgConnection, round: Uuid) -> QueryResult<Vec<SeriesRow>> {
    allocation_series::table
        .filter(allocation_series::round_id.eq(round))
        .order((
            allocation_series::match_date.asc().nulls_first(),
            allocation_series::application_id,
            allocation_series::wish,
            allocation_series::session,
            allocation_series::match_id,
        ))
        .select(SeriesRow::as_select())
        .load(conn)
        .await
}

/// Sends a round's conflicts and refusals back to the queue; how many.
pub async fn requeue_series(conn: &mut AsyncPgConnection, round: Uuid, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(
        allocation_series::table
            .filter(allocation_series::round_id.eq(round))
            .filter(allocation_series::status.eq_any(["conflict", "not_bookable"])),
    )
    .set((
        allocation_series::status.eq("pending"),
        allocation_series::next_at.eq(now),
        allocation_series::attempts.eq(0),
        allocation_series::updated_at.eq(now),
    ))
    .execute(conn)
    .await
}
