//! Rows of `api_keys`: a key's description and the salted hash of its secret.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::api_keys;

/// A key's stored description (never the secret).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// Key id.
    pub id: Uuid,
    /// The public prefix, shown in lists and logs.
    pub prefix: String,
    /// `editor`, `vendor`, `national_body` or `admin`.
    pub role: String,
    /// The editor's municipality.
    pub municipality_code: Option<String>,
    /// Whether the key may read personal data.
    pub personal_data: bool,
    /// Free text to tell keys apart.
    pub label: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// For a vendor's own key: its vendor in the directory.
    pub vendor_id: Option<Uuid>,
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// `editor`, `vendor`, `national_body` or `admin`.
    pub role: String,
    /// Required for (and only for) editors.
    pub municipality_code: Option<String>,
    /// Grants the personal-data scope.
    pub personal_data: bool,
    /// Label.
    pub label: String,
    /// Only for vendor keys: the vendor whose own directory entry the key may manage.
    pub vendor_id: Option<Uuid>,
}

/// Stores a new key with its public `prefix`, the hash of its secret and the (checked) `label`.
pub async fn insert(conn: &mut AsyncPgConnection, prefix: &str, secret_hash: &str, new: &NewKey, label: &str) -> QueryResult<KeyInfo> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(Uuid::now_v7()),
            api_keys::prefix.eq(prefix),
            api_keys::secret_hash.eq(secret_hash),
            api_keys::role.eq(&new.role),
            api_keys::municipality_code.eq(&new.municipality_code),
            api_keys::personal_data.eq(new.personal_data),
            api_keys::label.eq(label),
            api_keys::vendor_id.eq(new.vendor_id),
        ))
        .returning(KeyInfo::as_returning())
        .get_result(conn)
        .await
}

/// All keys, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<KeyInfo>> {
    api_keys::table.order(api_keys::created_at.desc()).select(KeyInfo::as_select()).load(conn).await
}

/// The key with this id.
pub async fn by_id(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<KeyInfo>> {
    api_keys::table.find(id).select(KeyInfo::as_select()).first(conn).await.optional()
}

/// The key with this prefix.
pub async fn by_prefix(conn: &mut AsyncPgConnection, prefix: &str) -> QueryResult<Option<KeyInfo>> {
    api_keys::table.filter(api_keys::prefix.eq(prefix)).select(KeyInfo::as_select()).first(conn).await.optional()
}

/// The stored secret hash and description of the key with this prefix.
pub async fn hash_by_prefix(conn: &mut AsyncPgConnection, prefix: &str) -> QueryResult<Option<(String, KeyInfo)>> {
    api_keys::table.filter(api_keys::prefix.eq(prefix)).select((api_keys::secret_hash, KeyInfo::as_select())).first(conn).await.optional()
}

/// Marks key `id` revoked at `at` unless it already is; `None` when it already was.
pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid, at: DateTime<Utc>) -> QueryResult<Option<KeyInfo>> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::revoked_at.eq(Some(at)))
        .filter(api_keys::revoked_at.is_null())
        .returning(KeyInfo::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Announces a revocation on [`crate::keys::REVOKED_CHANNEL`]; delivered when the transaction
/// commits.
pub async fn announce_revocation(conn: &mut AsyncPgConnection, prefix: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(crate::keys::REVOKED_CHANNEL)
        .bind::<diesel::sql_types::Text, _>(prefix)
        .execute(conn)
        .await
        .map(|_| ())
}
