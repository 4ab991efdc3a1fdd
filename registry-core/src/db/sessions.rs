//! Rows of `oidc_logins` (sign-ins in progress), `sessions` (signed-in browsers) and `staff`
//! (people who act as their municipality's editor).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{oidc_logins, sessions, staff};

/// A sign-in in progress, as the callback takes it back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oidc_logins, check_for_backend(diesel::pg::Pg))]
pub struct LoginRow {
    /// The provider's configured name.
    pub provider: String,
    /// The nonce sent in the authorization request.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Where the browser goes after signing in (a path on this site).
    pub return_to: String,
    /// When the sign-in began.
    pub created_at: DateTime<Utc>,
}

/// Stores a sign-in in progress under the hash of its `state`, and deletes those older than
/// `older_than` (abandoned sign-ins).
pub async fn insert_login(conn: &mut AsyncPgConnection, state_hash: &str, row: &LoginRow, older_than: DateTime<Utc>) -> QueryResult<()> {
    diesel::delete(oidc_logins::table.filter(oidc_logins::created_at.lt(older_than))).execute(conn).await?;
    diesel::insert_into(oidc_logins::table)
        .values((
            oidc_logins::state_hash.eq(state_hash),
            oidc_logins::provider.eq(&row.provider),
            oidc_logins::nonce.eq(&row.nonce),
            oidc_logins::pkce_verifier.eq(&row.pkce_verifier),
            oidc_logins::return_to.eq(&row.return_to),
            oidc_logins::created_at.eq(row.created_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes (deletes and returns) the sign-in stored under `state_hash`: a state is good once.
pub async fn take_login(conn: &mut AsyncPgConnection, state_hash: &str) -> QueryResult<Option<LoginRow>> {
    diesel::delete(oidc_logins::table.filter(oidc_logins::state_hash.eq(state_hash)))
        .returning(LoginRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// A session as the authenticator needs it, with the person's staff municipality if any.
#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    /// Session id (for revocation and audit, never the cookie's token).
    pub id: Uuid,
    /// The person.
    pub person_ref: String,
    /// The provider they signed in with.
    pub provider: String,
    /// Their name.
    pub display_name: String,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When the session began.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends whatever happens.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (signed out), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The municipality the person is staff of.
    pub staff_of: Option<String>,
}

/// What a new session holds.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Session id.
    pub id: Uuid,
    /// SHA-256 of the cookie's token (hex).
    pub token_hash: &'a str,
    /// The person.
    pub person_ref: &'a str,
    /// The provider's name.
    pub provider: &'a str,
    /// Their name.
    pub display_name: &'a str,
    /// The CSRF token.
    pub csrf_token: &'a str,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// The absolute end.
    pub expires_at: DateTime<Utc>,
}

/// Stores a new session, and deletes sessions that ended before `ended_before`.
pub async fn insert_session(conn: &mut AsyncPgConnection, s: &NewSession<'_>, ended_before: DateTime<Utc>) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(ended_before))).execute(conn).await?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(s.id),
            sessions::token_hash.eq(s.token_hash),
            sessions::person_ref.eq(s.person_ref),
            sessions::provider.eq(s.provider),
            sessions::display_name.eq(s.display_name),
            sessions::csrf_token.eq(s.csrf_token),
            sessions::created_at.eq(s.created_at),
            sessions::last_seen_at.eq(s.created_at),
            sessions::expires_at.eq(s.expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The session whose cookie token hashes to `token_hash`, with its person's staff entry.
pub async fn session_by_token(conn: &mut AsyncPgConnection, token_hash: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .left_join(staff::table.on(staff::person_ref.eq(sessions::person_ref)))
        .filter(sessions::token_hash.eq(token_hash))
        .select((
            sessions::id,
            sessions::person_ref,
            sessions::provider,
            sessions::display_name,
            sessions::csrf_token,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
            sessions::revoked_at,
            staff::municipality_code.nullable(),
        ))
        .first(conn)
        .await
        .optional()
}

/// Marks the session used at `at`.
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(sessions::table.find(id)).set(sessions::last_seen_at.eq(at)).execute(conn).await?;
    Ok(())
}

/// Revokes one session; whether it was live.
pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid, at: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(at))
        .execute(conn)
        .await?;
    Ok(n > 0)
}

/// Revokes every live session of a person; how many.
pub async fn revoke_person(conn: &mut AsyncPgConnection, person_ref: &str, at: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(sessions::table.filter(sessions::person_ref.eq(person_ref)).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(at))
        .execute(conn)
        .await
}

/// A staff entry.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = staff, check_for_backend(diesel::pg::Pg))]
#[serde(rename_all = "camelCase")]
pub struct StaffRow {
    /// The person (a hash, not their number).
    pub person_ref: String,
    /// Their municipality.
    pub municipality_code: String,
    /// Who they are, for operators (e.g. a name and a unit).
    pub label: String,
    /// When the entry was made.
    pub created_at: DateTime<Utc>,
}

/// Adds or replaces a person's staff entry.
pub async fn upsert_staff(conn: &mut AsyncPgConnection, person_ref: &str, municipality_code: &str, label: &str) -> QueryResult<StaffRow> {
    diesel::insert_into(staff::table)
        .values((staff::person_ref.eq(person_ref), staff::municipality_code.eq(municipality_code), staff::label.eq(label)))
        .on_conflict(staff::person_ref)
        .do_update()
        .set((staff::municipality_code.eq(municipality_code), staff::label.eq(label)))
        .returning(StaffRow::as_returning())
        .get_result(conn)
        .await
}

/// Removes a person's staff entry; whether there was one.
pub async fn delete_staff(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<bool> {
    Ok(diesel::delete(staff::table.find(person_ref)).execute(conn).await? > 0)
}

/// Every staff entry, by municipality and label.
pub async fn list_staff(conn: &mut AsyncPgConnection) -> QueryResult<Vec<StaffRow>> {
    staff::table.order((staff::municipality_code, staff::label)).select(StaffRow::as_select()).load(conn).await
}

/// The municipality a person is staff of.
pub async fn staff_of(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Option<String>> {
    staff::table.find(person_ref).select(staff::municipality_code).first(conn).await.optional()
}

/// A session as its person sees it in a download of their data (never its tokens).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The provider signed in with.
    pub provider: String,
    /// The name the provider gave.
    pub display_name: String,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
    /// When it ends (or ended) at the latest.
    pub expires_at: DateTime<Utc>,
    /// When it was signed out, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every session of a person, newest first.
pub async fn sessions_of(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Vec<SessionRecord>> {
    sessions::table
        .filter(sessions::person_ref.eq(person_ref))
        .order(sessions::created_at.desc())
        .select(SessionRecord::as_select())
        .load(conn)
        .await
}

/// Deletes every session of a person; how many.
pub async fn delete_sessions_of(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::person_ref.eq(person_ref))).execute(conn).await
}

/// A person's staff entry.
pub async fn staff_entry(conn: &mut AsyncPgConnection, person_ref: &str) -> QueryResult<Option<StaffRow>> {
    staff::table.find(person_ref).select(StaffRow::as_select()).first(conn).await.optional()
}
