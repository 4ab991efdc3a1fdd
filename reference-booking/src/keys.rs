//! The backend's own principals: API keys with a role, created by its operator
//! (`reference-booking keys create`), shown once, stored as a salted hash.
//!
//! A key looks like `bk_<prefix>_<secret>`: the 8-hex-digit prefix finds the row, the SHA-256
//! of pepper and whole key must match.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::Pool;
use crate::error::{BookingError, Result};

/// What a caller may do (docs/reference-booking.md has the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// No key: reads units and availability.
    Anonymous,
    /// A private person or a company: books directly, sees and cancels its own bookings.
    Customer,
    /// An association: also sends booking requests and weekly series.
    Association,
    /// A municipal case officer (handläggare): decides requests, blocks time, cancels any booking.
    CaseOfficer,
    /// A caretaker (vaktmästare): reads the caretaker list.
    Caretaker,
    /// The federating registry (vendor.v1): books for residents.
    Registry,
    /// The operator: everything.
    Admin,
}

impl Role {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Customer => "customer",
            Role::Association => "association",
            Role::CaseOfficer => "case_officer",
            Role::Caretaker => "caretaker",
            Role::Registry => "registry",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored code (never `anonymous`).
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Customer, Role::Association, Role::CaseOfficer, Role::Caretaker, Role::Registry, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// Staff see every booking and its customer.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::CaseOfficer | Role::Admin)
    }
}

/// An authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `key:<prefix>`, or `anonymous`; bookings are owned by it.
    pub id: String,
    /// Its role.
    pub role: Role,
}

impl Principal {
    /// No key.
    pub fn anonymous() -> Principal {
        Principal { id: "anonymous".into(), role: Role::Anonymous }
    }
}

/// A key's stored description (never the secret).
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Public prefix.
    #[diesel(sql_type = Text)]
    pub prefix: String,
    /// Role.
    #[diesel(sql_type = Text)]
    pub role: String,
    /// To tell keys apart.
    #[diesel(sql_type = Text)]
    pub label: String,
    /// Created.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Revoked.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
}

fn hash(pepper: &str, token: &str) -> String {
    Sha256::new()
        .chain_update(pepper.as_bytes())
        .chain_update([0u8])
        .chain_update(token.as_bytes())
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| BookingError::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates a key; returns its description and the token, which is not stored.
pub async fn create(pool: &Pool, pepper: &str, role: &str, label: &str) -> Result<(KeyInfo, String)> {
    let Some(role) = Role::parse(role) else {
        return Err(BookingError::invalid("role", "one of customer, association, case_officer, caretaker, registry, admin"));
    };
    if label.chars().count() > 200 {
        return Err(BookingError::invalid("label", "at most 200 characters"));
    }
    let prefix = random_hex(4)?;
    let token = format!("bk_{prefix}_{}", random_hex(24)?);
    let mut conn = pool.get().await?;
    let info: KeyInfo = diesel::sql_query(
        "INSERT INTO api_keys (id, prefix, secret_hash, role, label) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, prefix, role, label, created_at, revoked_at",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(&prefix)
    .bind::<Text, _>(hash(pepper, &token))
    .bind::<Text, _>(role.as_str())
    .bind::<Text, _>(label)
    .get_result(&mut conn)
    .await?;
    Ok((info, token))
}

/// All keys, newest first.
pub async fn list(pool: &Pool) -> Result<Vec<KeyInfo>> {
    let mut conn = pool.get().await?;
    Ok(diesel::sql_query("SELECT id, prefix, role, label, created_at, revoked_at FROM api_keys ORDER BY created_at DESC")
        .load(&mut conn)
        .await?)
}

/// Revokes the key with this prefix.
pub async fn revoke(pool: &Pool, prefix: &str) -> Result<()> {
    let mut conn = pool.get().await?;
    let n = diesel::sql_query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE prefix = $1")
        .bind::<Text, _>(prefix.trim().trim_start_matches("bk_").split('_').next().unwrap_or(""))
        .execute(&mut conn)
        .await?;
    if n == 0 {
        return Err(BookingError::invalid("key", "no key has this prefix"));
    }
    Ok(())
}

/// Whether any key exists (without keys, vendor.v1 is open for development).
pub async fn any(pool: &Pool) -> Result<bool> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        any: bool,
    }
    let mut conn = pool.get().await?;
    Ok(diesel::sql_query("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL) AS any").get_result::<N>(&mut conn).await?.any)
}

/// The key a caller presents: `x-api-key`, else `Authorization: Bearer` (REST headers and
/// gRPC metadata alike).
pub fn presented(x_api_key: Option<&str>, authorization: Option<&str>) -> Option<String> {
    if let Some(k) = x_api_key {
        return Some(k.trim().to_string());
    }
    let (scheme, rest) = authorization?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
}

/// The principal a presented token stands for.
pub async fn authenticate(pool: &Pool, pepper: &str, token: &str) -> Result<Principal> {
    let bad = || BookingError::Unauthenticated("the API key is not valid".into());
    let mut parts = token.trim().splitn(3, '_');
    let (Some("bk"), Some(prefix), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        secret_hash: String,
        #[diesel(sql_type = Text)]
        role: String,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        revoked_at: Option<DateTime<Utc>>,
    }
    let mut conn = pool.get().await?;
    let row: Option<Row> = diesel::sql_query("SELECT secret_hash, role, revoked_at FROM api_keys WHERE prefix = $1")
        .bind::<Text, _>(prefix)
        .get_result(&mut conn)
        .await
        .optional()?;
    let Some(row) = row else { return Err(bad()) };
    let expected = hash(pepper, token.trim());
    let same =
        expected.len() == row.secret_hash.len() && expected.bytes().zip(row.secret_hash.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if !same {
        return Err(bad());
    }
    if row.revoked_at.is_some() {
        return Err(BookingError::Unauthenticated("the API key has been revoked".into()));
    }
    let role = Role::parse(&row.role).ok_or_else(|| BookingError::Internal("a key with an unknown role".into()))?;
    Ok(Principal { id: format!("key:{prefix}"), role })
}
