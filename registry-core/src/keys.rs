//! API keys: created by the operator, printed once, stored as a salted hash.
//!
//! A key looks like `rk_<prefix>_<secret>`: the 8-hex-digit prefix finds the row, the
//! SHA-256 of pepper and whole key must match the stored hash.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::db::schema::api_keys;
use crate::error::{Error, Result};
use crate::validate::Violations;

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

fn hash(pepper: &str, token: &str) -> String {
    let digest = Sha256::new().chain_update(pepper.as_bytes()).chain_update([0u8]).chain_update(token.as_bytes()).finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates a key; returns its description and the secret token, which is not stored.
pub async fn create(pool: &crate::db::Pool, pepper: &str, new: &NewKey) -> Result<(KeyInfo, String)> {
    let mut v = Violations::default();
    match (new.role.as_str(), &new.municipality_code) {
        ("editor", Some(m)) => {
            crate::codes::check_municipality(&mut v, "municipality", m);
        }
        ("editor", None) => v.add("municipality", "required", "an editor key needs the municipality code it may edit"),
        ("vendor" | "national_body" | "admin", None) => {}
        ("vendor" | "national_body" | "admin", Some(_)) => {
            v.add("municipality", "not_allowed", "only editor keys belong to a municipality")
        }
        (other, _) => v.add("role", "unknown_code", format!("'{other}' is not a role; use editor, vendor, national_body or admin")),
    }
    if new.vendor_id.is_some() && new.role != "vendor" {
        v.add("vendor", "not_allowed", "only vendor keys belong to a vendor");
    }
    let label = v.optional_text("label", &new.label, 200);
    v.finish()?;
    let prefix = random_hex(4)?;
    let token = format!("rk_{prefix}_{}", random_hex(24)?);
    let mut conn = pool.get().await?;
    if let Some(vendor) = new.vendor_id
        && crate::db::vendors::load(&mut conn, vendor, false, Utc::now()).await?.is_none()
    {
        return Err(Error::invalid("vendor", "unknown_vendor", format!("{vendor} is not in the vendor directory")));
    }
    let info = diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(Uuid::now_v7()),
            api_keys::prefix.eq(&prefix),
            api_keys::secret_hash.eq(hash(pepper, &token)),
            api_keys::role.eq(&new.role),
            api_keys::municipality_code.eq(&new.municipality_code),
            api_keys::personal_data.eq(new.personal_data),
            api_keys::label.eq(label),
            api_keys::vendor_id.eq(new.vendor_id),
        ))
        .returning(KeyInfo::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok((info, token))
}

/// All keys, newest first.
pub async fn list(pool: &crate::db::Pool) -> Result<Vec<KeyInfo>> {
    let mut conn = pool.get().await?;
    Ok(api_keys::table.order(api_keys::created_at.desc()).select(KeyInfo::as_select()).load(&mut conn).await?)
}

/// Revokes the key with this prefix (or id); revoking twice is not an error.
pub async fn revoke(pool: &crate::db::Pool, prefix_or_id: &str) -> Result<KeyInfo> {
    let mut conn = pool.get().await?;
    let target = prefix_or_id.trim().trim_start_matches("rk_");
    let target = target.split('_').next().unwrap_or(target);
    let found: Option<KeyInfo> = match Uuid::parse_str(target) {
        Ok(id) => api_keys::table.find(id).select(KeyInfo::as_select()).first(&mut conn).await.optional()?,
        Err(_) => api_keys::table.filter(api_keys::prefix.eq(target)).select(KeyInfo::as_select()).first(&mut conn).await.optional()?,
    };
    let found = found.ok_or_else(|| Error::not_found("API key", target))?;
    Ok(diesel::update(api_keys::table.find(found.id))
        .set(api_keys::revoked_at.eq(Some(Utc::now())))
        .filter(api_keys::revoked_at.is_null())
        .returning(KeyInfo::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?
        .unwrap_or(found))
}

/// The principal a presented token stands for; `Unauthenticated` if it is unknown, wrong or revoked.
pub async fn authenticate(pool: &crate::db::Pool, pepper: &str, token: &str) -> Result<Principal> {
    let bad = || Error::Unauthenticated("the API key is not valid".into());
    let mut parts = token.trim().splitn(3, '_');
    let (Some("rk"), Some(prefix), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    if prefix.len() != 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut conn = pool.get().await?;
    let row: Option<(String, KeyInfo)> = api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select((api_keys::secret_hash, KeyInfo::as_select()))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((stored, info)) = row else { return Err(bad()) };
    if !constant_time_eq(&stored, &hash(pepper, token.trim())) {
        return Err(bad());
    }
    if info.revoked_at.is_some() {
        return Err(Error::Unauthenticated("the API key has been revoked".into()));
    }
    let role = match (info.role.as_str(), info.municipality_code) {
        ("editor", Some(m)) => Role::MunicipalityEditor { municipality_code: m },
        ("vendor", _) => Role::Vendor,
        ("national_body", _) => Role::NationalBody,
        ("admin", _) => Role::Admin,
        _ => return Err(Error::Internal(format!("API key {} has an inconsistent role", info.prefix))),
    };
    Ok(Principal { id: format!("key:{}", info.prefix), role, personal_data: info.personal_data, vendor_id: info.vendor_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_pepper_and_token() {
        assert_eq!(hash("p", "rk_a_b").len(), 64);
        assert_ne!(hash("p", "rk_a_b"), hash("q", "rk_a_b"));
        assert_ne!(hash("p", "rk_a_b"), hash("p", "rk_a_c"));
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd") && !constant_time_eq("abc", "ab"));
    }
}
