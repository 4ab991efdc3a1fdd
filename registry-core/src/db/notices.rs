//! Rows of `notices`, the outbox of [`crate::notify`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A notice claimed for delivery.
#[derive(QueryableByName, Debug)]
pub struct Due {
    /// Id (the Message-ID's local part).
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Kind code.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Recipient.
    #[diesel(sql_type = Text)]
    pub recipient: String,
    /// Template fields.
    #[diesel(sql_type = Jsonb)]
    pub data: serde_json::Value,
    /// Failed attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Adds a notice to the outbox, due at once.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    kind: &str,
    recipient: &str,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO notices (id, kind, channel, recipient, data, created_at, next_attempt_at) VALUES ($1, $2, 'email', $3, $4, $5, $5)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(recipient)
    .bind::<Jsonb, _>(data)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due notices until `until` (no other server takes them meanwhile),
/// oldest first.
pub async fn claim_due(conn: &mut AsyncPgConnection, now: DateTime<Utc>, until: DateTime<Utc>, limit: i64) -> QueryResult<Vec<Due>> {
    diesel::sql_query(
        "UPDATE notices SET next_attempt_at = $2 WHERE id IN (SELECT id FROM notices WHERE sent_at IS NULL AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, kind, recipient, data, attempts",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Marks a notice sent and forgets what it said.
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query("UPDATE notices SET sent_at = $2, recipient = '', data = '{}', last_error = NULL WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt; `next` is when to try again (`None`: given up, kept for the record).
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempts: i32,
    next: Option<DateTime<Utc>>,
    reason: &str,
) -> QueryResult<()> {
    let reason: String = reason.chars().take(1000).collect();
    diesel::sql_query(
        "UPDATE notices SET attempts = $2, next_attempt_at = coalesce($3, 'infinity'::timestamptz), last_error = $4 WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempts)
    .bind::<Nullable<Timestamptz>, _>(next)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await?;
    Ok(())
}
