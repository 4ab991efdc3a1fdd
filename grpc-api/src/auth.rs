//! Who is calling: an API key (`x-api-key`, or `Authorization: Bearer rk_…`), else an OpenID
//! Connect access token (`Authorization: Bearer` with a JWT: a signed-in person, [`Oidc::bearer`]),
//! else a session cookie (a signed-in browser), else a client certificate (mTLS, a vendor),
//! else anonymous. Keys are checked against their hash in the database, and access tokens
//! against their provider's keys, with a short in-memory cache so a busy client does not cost
//! a query or a signature check per request.
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
use registry_core::service::sessions::LiveSession;

use crate::oidc::Oidc;
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

/// Remembered key and token checks: until when, and the principal or the refusal message.
type KeyCache = HashMap<String, (Instant, Result<Principal, String>)>;

/// Remembered staff entries: person reference → until when, and the municipality if any.
type StaffCache = HashMap<String, (Instant, Option<String>)>;

/// Who a request comes from, and its browser session if it came with one.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The session of the cookie it presented (state-changing requests must then carry the
    /// session's CSRF token).
    pub session: Option<LiveSession>,
}

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
    /// People's staff entries as last read (person reference → municipality), remembered like
    /// keys and forgotten at every announcement (staff changes announce too).
    staff: Arc<RwLock<StaffCache>>,
    /// Sign-in with OpenID Connect, if configured.
    oidc: Option<Oidc>,
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether a presented bearer token is a JWT (three base64url parts) rather than an API key.
fn is_jwt(token: &str) -> bool {
    !token.starts_with("rk_")
        && token.split('.').count() == 3
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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
        Authenticator {
            pool,
            pepper: pepper.into(),
            cache: Arc::default(),
            listening: Arc::default(),
            generation: Arc::default(),
            staff: Arc::default(),
            oidc: None,
        }
    }

    /// Also accepts signed-in people: access tokens and session cookies of `oidc`.
    pub fn with_oidc(mut self, oidc: Oidc) -> Self {
        self.oidc = Some(oidc);
        self
    }

    /// Listens for key revocations in the database at `url` (until dropped): each one clears
    /// the cache; while not listening, every request is checked against the database.
    pub async fn follow_revocations(&self, url: String) {
        let (cache, listening, generation, staff) =
            (self.cache.clone(), self.listening.clone(), self.generation.clone(), self.staff.clone());
        keys::follow_revocations(url, move |event| {
            generation.fetch_add(1, Ordering::SeqCst);
            match event {
                keys::RevocationEvent::Listening => listening.store(true, Ordering::SeqCst),
                keys::RevocationEvent::Lost => listening.store(false, Ordering::SeqCst),
                keys::RevocationEvent::Revoked(prefix) => tracing::info!(%prefix, "key revoked: forgotten"),
            }
            // Whatever happened, what was remembered may be stale.
            cache.write().expect("cache lock").clear();
            staff.write().expect("cache lock").clear();
        })
        .await
    }

    /// The caller of a request. A presented but invalid key, token or session is an error,
    /// never anonymous.
    pub async fn principal(&self, headers: &HeaderMap, conn: Option<&ConnInfo>) -> Result<Principal, Error> {
        Ok(self.authenticate(headers, conn).await?.principal)
    }

    /// The caller of a request, with its browser session if it presented one.
    pub async fn authenticate(&self, headers: &HeaderMap, conn: Option<&ConnInfo>) -> Result<Authenticated, Error> {
        let plain = |principal| Ok(Authenticated { principal, session: None });
        if let Some(key) = presented_key(headers) {
            if headers.get("x-api-key").is_none() && is_jwt(key) {
                return plain(self.bearer(key).await?);
            }
            return plain(self.key(key).await?);
        }
        if let Some(oidc) = &self.oidc
            && let Some(token) = cookie(headers, oidc.cookie_name())
        {
            let session = oidc.sessions().session(token).await?;
            return Ok(Authenticated { principal: session.principal.clone(), session: Some(session) });
        }
        if let Some(fp) = conn.and_then(|c| c.client_cert.as_deref()) {
            return plain(certificate_principal(fp));
        }
        plain(Principal::anonymous())
    }

    /// The person of an OpenID Connect access token, remembered like a key (but never past
    /// the token's own expiry).
    async fn bearer(&self, token: &str) -> Result<Principal, Error> {
        let Some(oidc) = &self.oidc else {
            return Err(Error::Unauthenticated(
                "this server accepts no access tokens (no identity provider is configured); use an API key".into(),
            ));
        };
        self.remembered(token, async || match oidc.access_token_person(token).await {
            Ok((person, expires)) => {
                let staff_of = self.staff_of(oidc, &person.person_ref).await?;
                let left = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
                Ok((Ok(Principal::person(person, staff_of)), left))
            }
            Err(Error::Unauthenticated(m)) => Ok((Err(m), CACHE_TTL)),
            Err(other) => Err(other),
        })
        .await
    }

    /// The municipality a person is staff of, remembered while revocations are heard.
    async fn staff_of(&self, oidc: &Oidc, person_ref: &str) -> Result<Option<String>, Error> {
        let generation = self.generation.load(Ordering::SeqCst);
        let listening = self.listening.load(Ordering::SeqCst);
        if listening
            && let Some((until, staff_of)) = self.staff.read().expect("cache lock").get(person_ref)
            && Instant::now() < *until
        {
            return Ok(staff_of.clone());
        }
        let staff_of = oidc.sessions().staff_of(person_ref).await?;
        let mut staff = self.staff.write().expect("cache lock");
        if listening && self.generation.load(Ordering::SeqCst) == generation {
            if staff.len() >= CACHE_MAX {
                staff.clear();
            }
            staff.insert(person_ref.to_string(), (Instant::now() + CACHE_TTL, staff_of.clone()));
        }
        Ok(staff_of)
    }

    async fn key(&self, token: &str) -> Result<Principal, Error> {
        self.remembered(token, async || match keys::authenticate(&self.pool, &self.pepper, token).await {
            Ok(p) => Ok((Ok(p), CACHE_TTL)),
            Err(Error::Unauthenticated(m)) => Ok((Err(m), CACHE_TTL)),
            // Database trouble is not remembered: the next request asks again.
            Err(other) => Err(other),
        })
        .await
    }

    /// The remembered outcome of checking `token`, or `check`'s (the outcome and how long it
    /// may be remembered, at most [`CACHE_TTL`]).
    async fn remembered(
        &self,
        token: &str,
        check: impl AsyncFnOnce() -> Result<(Result<Principal, String>, Duration), Error>,
    ) -> Result<Principal, Error> {
        let cache_key: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let generation = self.generation.load(Ordering::SeqCst);
        let listening = self.listening.load(Ordering::SeqCst);
        if listening
            && let Some((until, result)) = self.cache.read().expect("cache lock").get(&cache_key)
            && Instant::now() < *until
        {
            return result.clone().map_err(Error::Unauthenticated);
        }
        let (result, ttl) = check().await?;
        let mut cache = self.cache.write().expect("cache lock");
        // Not listening, or a revocation came while the key was checked: not remembered.
        if !listening || self.generation.load(Ordering::SeqCst) != generation {
            return result.map_err(Error::Unauthenticated);
        }
        if cache.len() >= CACHE_MAX {
            let now = Instant::now();
            cache.retain(|_, (until, _)| now < *until);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(cache_key, (Instant::now() + ttl.min(CACHE_TTL), result.clone()));
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
