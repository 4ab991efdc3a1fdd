//! The change log: one row per write, appended in the write's transaction, with the entity's
//! state before and after. Audit, change feeds and exports read it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{audit_log, change_log};

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

/// Appends one row; call inside the write's transaction.
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
