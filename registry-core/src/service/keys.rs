//! API keys: created by the operator, printed once, stored as a salted hash.
//!
//! A key looks like `rk_<prefix>_<secret>`: the 8-hex-digit prefix finds the row, the
//! SHA-256 of pepper and whole key must match the stored hash.

use chrono::Utc;
use diesel_async::{AsyncConnection, RunQueryDsl};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::db::keys as store;
pub use crate::db::keys::{KeyInfo, NewKey};
use crate::error::{Error, Result};
use crate::validate::Violations;

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
    let info = store::insert(&mut conn, &prefix, &hash(pepper, &token), new, &label).await?;
    Ok((info, token))
}

/// All keys, newest first.
pub async fn list(pool: &crate::db::Pool) -> Result<Vec<KeyInfo>> {
    let mut conn = pool.get().await?;
    Ok(store::list(&mut conn).await?)
}

/// Revokes the key with this prefix (or id); revoking twice is not an error.
pub async fn revoke(pool: &crate::db::Pool, prefix_or_id: &str) -> Result<KeyInfo> {
    let mut conn = pool.get().await?;
    let target = prefix_or_id.trim().trim_start_matches("rk_");
    let target = target.split('_').next().unwrap_or(target);
    let found = match Uuid::parse_str(target) {
        Ok(id) => store::by_id(&mut conn, id).await?,
        Err(_) => store::by_prefix(&mut conn, target).await?,
    };
    let found = found.ok_or_else(|| Error::not_found("API key", target))?;
    // Every replica hears of it at the commit and forgets what it remembered of the key.
    conn.transaction(async move |conn| {
        let revoked = store::revoke(conn, found.id, Utc::now()).await?;
        store::announce_revocation(conn, &found.prefix).await?;
        Ok::<_, Error>(revoked.unwrap_or(found))
    })
    .await
}

/// Announces on [`REVOKED_CHANNEL`] that principals servers may remember have changed (`what`:
/// a revoked key's prefix, or `staff` when staff entries change), so every replica forgets them.
pub async fn announce(conn: &mut diesel_async::AsyncPgConnection, what: &str) -> Result<()> {
    Ok(store::announce_revocation(conn, what).await?)
}

/// The channel revocations are announced on (PostgreSQL `LISTEN`/`NOTIFY`), so that every
/// replica of the server stops accepting a revoked key at once.
pub const REVOKED_CHANNEL: &str = "registry_key_revoked";

/// What [`follow_revocations`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationEvent {
    /// Listening (again): revocations from now on are heard; any made while not listening
    /// were missed, so whatever was remembered of keys must be forgotten.
    Listening,
    /// The listening connection was lost: revocations may go unheard until `Listening`.
    Lost,
    /// The key with this prefix was revoked.
    Revoked(String),
}

/// Follows the revocations announced in the database at `url`, calling `on_event` for each
/// event, and reconnects (every second) whenever the connection is lost. Runs until dropped.
pub async fn follow_revocations(url: String, mut on_event: impl FnMut(RevocationEvent) + Send) {
    use futures_util::StreamExt;
    loop {
        match crate::db::connect(&url).await {
            Ok(mut conn) => {
                let listen = format!("LISTEN {REVOKED_CHANNEL}");
                if diesel::sql_query(listen).execute(&mut conn).await.is_ok() {
                    on_event(RevocationEvent::Listening);
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(Ok(n)) = stream.next().await {
                        on_event(RevocationEvent::Revoked(n.payload));
                    }
                }
                on_event(RevocationEvent::Lost);
                tracing::warn!("key revocations: the listening connection was lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "key revocations: cannot listen; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
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
    let row = store::hash_by_prefix(&mut conn, prefix).await?;
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
    Ok(Principal { id: format!("key:{}", info.prefix), role, personal_data: info.personal_data, vendor_id: info.vendor_id, person: None })
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
