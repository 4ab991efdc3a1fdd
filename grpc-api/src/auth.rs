//! Who is calling: an API key (`x-api-key` or `Authorization: Bearer`), else a client
//! certificate (mTLS, a vendor), else anonymous. Keys are checked against their hash in the
//! database, with a short in-memory cache so a busy client does not cost a query per request.
//! The cache is used only while the server listens for revocations ([`Authenticator::follow_revocations`]):
//! a revoked key is forgotten the moment the revocation commits, on every replica.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use registry_core::auth::{Principal, Role};
use registry_core::db::Pool;
use registry_core::{Error, keys};
use sha2::{Digest, Sha256};

/// How long a key check is remembered (a revocation makes it forget at once).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_MAX: usize = 10_000;

/// What the connection knows about the peer, put into every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Remote address.
    pub peer: SocketAddr,
    /// SHA-256 fingerprint (hex) of the verified client certificate, when mTLS was used.
    pub client_cert: Option<String>,
}

/// Remembered key checks: when, and the principal or the refusal message.
type KeyCache = HashMap<String, (Instant, Result<Principal, String>)>;

/// Authenticates requests.
#[derive(Clone)]
pub struct Authenticator {
    pool: Pool,
    pepper: Arc<str>,
    cache: Arc<RwLock<KeyCache>>,
    /// Whether revocations are being heard; the cache is used only then.
    listening: Arc<AtomicBool>,
    /// Raised by every revocation event, so a check that raced one is not remembered.
    generation: Arc<AtomicU64>,
}

/// The key a request presents, if any.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key") {
        return Some(v.to_str().unwrap_or(""));
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().unwrap_or("");
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The principal of a verified client certificate: a vendor named by the certificate's fingerprint.
pub fn certificate_principal(fingerprint: &str) -> Principal {
    Principal::with_role(&format!("cert:{}", &fingerprint[..fingerprint.len().min(16)]), Role::Vendor)
}

/// SHA-256 fingerprint (hex) of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
}

impl Authenticator {
    /// Authenticates against the keys in `pool`, hashed with `pepper`.
    pub fn new(pool: Pool, pepper: &str) -> Self {
        Authenticator { pool, pepper: pepper.into(), cache: Arc::default(), listening: Arc::default(), generation: Arc::default() }
    }

    /// Listens for key revocations in the database at `url` (until dropped): each one clears
    /// the cache; while not listening, every request is checked against the database.
    pub async fn follow_revocations(&self, url: String) {
        let (cache, listening, generation) = (self.cache.clone(), self.listening.clone(), self.generation.clone());
        keys::follow_revocations(url, move |event| {
            generation.fetch_add(1, Ordering::SeqCst);
            match event {
                keys::RevocationEvent::Listening => listening.store(true, Ordering::SeqCst),
                keys::RevocationEvent::Lost => listening.store(false, Ordering::SeqCst),
                keys::RevocationEvent::Revoked(prefix) => tracing::info!(%prefix, "key revoked: forgotten"),
            }
            // Whatever happened, what was remembered may be stale.
            cache.write().expect("cache lock").clear();
        })
        .await
    }

    /// The caller of a request. A presented but invalid key is an error, never anonymous.
    pub async fn principal(&self, headers: &HeaderMap, conn: Option<&ConnInfo>) -> Result<Principal, Error> {
        if let Some(key) = presented_key(headers) {
            return self.key(key).await;
        }
        if let Some(fp) = conn.and_then(|c| c.client_cert.as_deref()) {
            return Ok(certificate_principal(fp));
        }
        Ok(Principal::anonymous())
    }

    async fn key(&self, token: &str) -> Result<Principal, Error> {
        let cache_key: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let generation = self.generation.load(Ordering::SeqCst);
        let listening = self.listening.load(Ordering::SeqCst);
        if listening
            && let Some((at, result)) = self.cache.read().expect("cache lock").get(&cache_key)
            && at.elapsed() < CACHE_TTL
        {
            return result.clone().map_err(Error::Unauthenticated);
        }
        let result = match keys::authenticate(&self.pool, &self.pepper, token).await {
            Ok(p) => Ok(p),
            Err(Error::Unauthenticated(m)) => Err(m),
            // Database trouble is not remembered: the next request asks again.
            Err(other) => return Err(other),
        };
        let mut cache = self.cache.write().expect("cache lock");
        // Not listening, or a revocation came while the key was checked: not remembered.
        if !listening || self.generation.load(Ordering::SeqCst) != generation {
            return result.map_err(Error::Unauthenticated);
        }
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(cache_key, (Instant::now(), result.clone()));
        result.map_err(Error::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_either_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer rk_abc_def".parse().unwrap());
        assert_eq!(presented_key(&h), Some("rk_abc_def"));
        h.insert("x-api-key", "rk_x_y".parse().unwrap());
        assert_eq!(presented_key(&h), Some("rk_x_y"), "x-api-key wins");
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(presented_key(&h), None, "other schemes are not API keys");
    }
}
