//! The change log: one row per write, appended in the write's transaction, with the entity's
//! state before and after. Audit, change feeds and exports read it. Also the audit log of
//! reads of personal data. (Reached as `crate::changelog` too, the name every write uses.)

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{audit_log, change_log};

/// What kind of write a change-log row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The entity was created.
    Create,
    /// The entity was changed.
    Update,
    /// The entity was deleted.
    Delete,
}

impl Operation {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// One change-log row as read back.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = change_log, check_for_backend(diesel::pg::Pg))]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Position in the log; grows with every write.
    pub seq: i64,
    /// `facility` or `association`.
    pub entity: String,
    /// Id of the entity.
    pub entity_id: Uuid,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// Principal id that made the change.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// State before (none for create).
    pub before: Option<serde_json::Value>,
    /// State after (none for delete).
    pub after: Option<serde_json::Value>,
}

/// Advisory-lock key that orders change-log appends (the bytes of "chglog\0\1").
const APPEND_LOCK: i64 = 0x6368_676c_6f67_0001;

/// Appends one row; call inside the write's transaction, as its last statement.
///
/// Appends take a transaction-scoped advisory lock first, so sequence numbers are handed out
/// in commit order: once a reader sees entry `n`, every entry below `n` is committed and
/// visible too. Change feeds and `WatchChanges` rely on it to read `seq > last` without gaps,
/// and an export's snapshot position (`max(seq)`) means exactly "everything up to here". The
/// lock is held from the append to the commit, which is why the append comes last.
pub async fn append<T: serde::Serialize>(
    conn: &mut AsyncPgConnection,
    entity: &str,
    entity_id: Uuid,
    op: Operation,
    actor: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> QueryResult<i64> {
    let json = |v: Option<&T>| v.map(|v| serde_json::to_value(v).expect("entities serialise to JSON"));
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<diesel::sql_types::BigInt, _>(APPEND_LOCK).execute(conn).await?;
    diesel::insert_into(change_log::table)
        .values((
            change_log::entity.eq(entity),
            change_log::entity_id.eq(entity_id),
            change_log::operation.eq(op.as_str()),
            change_log::actor.eq(actor),
            change_log::before.eq(json(before)),
            change_log::after.eq(json(after)),
        ))
        .returning(change_log::seq)
        .get_result(conn)
        .await
}

/// Changes of one entity, oldest first.
pub async fn history(conn: &mut AsyncPgConnection, entity: &str, entity_id: Uuid) -> QueryResult<Vec<Change>> {
    change_log::table
        .filter(change_log::entity.eq(entity))
        .filter(change_log::entity_id.eq(entity_id))
        .order(change_log::seq)
        .select(Change::as_select())
        .load(conn)
        .await
}

/// Records a security-relevant event (e.g. a read of personal data) in the audit log.
pub async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &str,
    action: &str,
    entity: Option<(&str, Uuid)>,
    detail: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::entity.eq(entity.map(|e| e.0)),
            audit_log::entity_id.eq(entity.map(|e| e.1)),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records an event whose outcome is known only later (an export of personal data); returns
/// the audit row's id for [`audit_amend`]. Committed at once, so the event is on record even if
/// what follows fails.
pub async fn audit_returning_id(conn: &mut AsyncPgConnection, actor: &str, action: &str, detail: serde_json::Value) -> QueryResult<i64> {
    diesel::insert_into(audit_log::table)
        .values((audit_log::actor.eq(actor), audit_log::action.eq(action), audit_log::detail.eq(detail)))
        .returning(audit_log::id)
        .get_result(conn)
        .await
}

/// Adds what became known (e.g. the row count) to an audit row's detail.
pub async fn audit_amend(conn: &mut AsyncPgConnection, id: i64, patch: serde_json::Value) -> QueryResult<()> {
    diesel::sql_query("UPDATE audit_log SET detail = detail || $1 WHERE id = $2")
        .bind::<diesel::sql_types::Jsonb, _>(patch)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` changes after position `after`, oldest first.
pub async fn since(conn: &mut AsyncPgConnection, after: i64, limit: i64) -> QueryResult<Vec<Change>> {
    change_log::table.filter(change_log::seq.gt(after)).order(change_log::seq).limit(limit).select(Change::as_select()).load(conn).await
}

/// Changes after position `after` matching the filters, oldest first; `municipality` keeps
/// changes to that municipality's data (its code before or after the change, or, for opening
/// hours, its facility's).
pub async fn trail(
    conn: &mut AsyncPgConnection,
    entity: Option<&str>,
    entity_id: Option<Uuid>,
    since: Option<DateTime<Utc>>,
    municipality: Option<&str>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Change>> {
    use diesel::sql_types::{Bool, Text};
    let mut q = change_log::table.filter(change_log::seq.gt(after)).into_boxed();
    if let Some(e) = entity {
        q = q.filter(change_log::entity.eq(e.to_string()));
    }
    if let Some(id) = entity_id {
        q = q.filter(change_log::entity_id.eq(id));
    }
    if let Some(t) = since {
        q = q.filter(change_log::at.ge(t));
    }
    if let Some(m) = municipality {
        q = q.filter(
            diesel::dsl::sql::<Bool>("(after ->> 'municipalityCode' = ")
                .bind::<Text, _>(m.to_string())
                .sql(" OR before ->> 'municipalityCode' = ")
                .bind::<Text, _>(m.to_string())
                .sql(" OR (entity = 'opening_hours' AND entity_id IN (SELECT id FROM facilities WHERE municipality_code = ")
                .bind::<Text, _>(m.to_string())
                .sql(")))"),
        );
    }
    q.order(change_log::seq).limit(limit).select(Change::as_select()).load(conn).await
}

#[derive(diesel::QueryableByName)]
struct Latest {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    entity_id: Uuid,
}

/// The entities of kind `entity` whose latest change comes after (`after_seq`, `after_id`),
/// ordered by (position, id), at most `limit`: each as its latest position and id.
pub async fn latest_per_entity(
    conn: &mut AsyncPgConnection,
    entity: &str,
    after_seq: i64,
    after_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<(i64, Uuid)>> {
    use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
    let latest: Vec<Latest> = diesel::sql_query(
        "SELECT c.seq, c.entity_id FROM change_log c \
         WHERE c.entity = $1 AND (c.seq, c.entity_id) > ($2, $3) \
           AND NOT EXISTS (SELECT 1 FROM change_log n \
                            WHERE n.entity = c.entity AND n.entity_id = c.entity_id AND n.seq > c.seq) \
         ORDER BY c.seq, c.entity_id LIMIT $4",
    )
    .bind::<Text, _>(entity)
    .bind::<BigInt, _>(after_seq)
    .bind::<SqlUuid, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(latest.into_iter().map(|l| (l.seq, l.entity_id)).collect())
}

/// The newest position in the log (0 for an empty log).
pub async fn latest_seq(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let m: Max = diesel::sql_query("SELECT coalesce(max(seq), 0)::bigint AS seq FROM change_log").get_result(conn).await?;
    Ok(m.seq)
}

/// Redacts up to `limit` change-log rows of associations from before `before` that still hold
/// personal data: contact persons leave the snapshots, a person's pseudonym as actor becomes
/// `person`. Returns how many rows changed.
pub async fn redact_personal_data(conn: &mut AsyncPgConnection, before: DateTime<Utc>, limit: i64) -> QueryResult<u64> {
    let n = diesel::sql_query(
        "UPDATE change_log SET \
           before = CASE WHEN before ? 'contactPersons' THEN before - 'contactPersons' ELSE before END, \
           after = CASE WHEN after ? 'contactPersons' THEN after - 'contactPersons' ELSE after END, \
           actor = CASE WHEN actor LIKE 'person:%' THEN 'person' ELSE actor END \
         WHERE seq IN (SELECT seq FROM change_log WHERE entity = 'association' AND at < $1 \
           AND (before ? 'contactPersons' OR after ? 'contactPersons' OR actor LIKE 'person:%') LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .execute(conn)
    .await?;
    Ok(n as u64)
}

/// Replaces a person's pseudonym as actor in the change log by `person` (their erasure).
pub async fn forget_actor(conn: &mut AsyncPgConnection, actor: &str) -> QueryResult<u64> {
    let n = diesel::sql_query("UPDATE change_log SET actor = 'person' WHERE actor = $1")
        .bind::<diesel::sql_types::Text, _>(actor)
        .execute(conn)
        .await?;
    Ok(n as u64)
}
