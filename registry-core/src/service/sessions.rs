//! People's sign-ins: sign-ins in progress, server-side sessions and staff entries.
//!
//! The OpenID Connect protocol itself (discovery, the authorization request, the code
//! exchange, ID-token validation) is the API crate's; this is what it stores and decides:
//!
//! - a sign-in in progress is kept under the SHA-256 of its `state` with its nonce and PKCE
//!   verifier, and taken once, within [`LOGIN_TTL`];
//! - a session is a random cookie token of which only the hash is kept, with a CSRF token,
//!   an absolute end and an idle timeout; it can be revoked (signing out, or every session of
//!   a person);
//! - a person is known by [`crate::person::person_ref`], never their number; a staff entry
//!   makes a person their municipality's editor ([`Principal::person`]).

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Person, Principal};
use crate::db::sessions as store;
use crate::db::{Pool, PooledConn};
use crate::error::{Error, Result};
use crate::person::{PersonalIdentityNumber, person_ref};
use crate::validate::Violations;

/// How long a sign-in may take from the redirect to the provider until the callback.
pub const LOGIN_TTL: Duration = Duration::minutes(10);
/// A session is marked as used at most this often (so a busy browser does not write per request).
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long has ended.
    pub idle: Duration,
    /// A session ends this long after it began, used or not.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle: Duration::minutes(30), absolute: Duration::hours(12) }
    }
}

/// A sign-in in progress.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// The provider's configured name.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Where to send the browser afterwards (a path on this site).
    pub return_to: String,
}

/// A new session: what the browser gets.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie's value (secret; only its hash is stored).
    pub token: String,
    /// The CSRF token the browser's state-changing requests send back.
    pub csrf_token: String,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// A live session, as a request presents it.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// Session id (for signing out; not the cookie's token).
    pub id: Uuid,
    /// Who, with the role the data gives them.
    pub principal: Principal,
    /// The provider they signed in with.
    pub provider: String,
    /// The CSRF token of this session.
    pub csrf_token: String,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// When it ends if unused.
    pub idle_until: DateTime<Utc>,
}

/// Sessions and sign-ins over the registry's database.
#[derive(Clone)]
pub struct Sessions {
    pool: Pool,
    pepper: std::sync::Arc<str>,
    clock: crate::Clock,
    policy: SessionPolicy,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` random bytes as hex.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `path` is a path on this site to return to after signing in: it starts with one
/// `/` (not `//` or `/\`, which browsers read as another host), and holds no control characters.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2000
        && !path.chars().any(|c| c.is_control())
}

impl Sessions {
    /// Sessions in `pool`; persons are hashed with `pepper`.
    pub fn new(pool: Pool, pepper: &str, clock: crate::Clock, policy: SessionPolicy) -> Self {
        Sessions { pool, pepper: pepper.into(), clock, policy }
    }

    /// The session lifetimes.
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    async fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get().await?)
    }

    /// Stores a sign-in in progress; returns the `state` to send to the provider.
    pub async fn begin_login(&self, login: &PendingLogin) -> Result<String> {
        if !is_local_path(&login.return_to) {
            return Err(Error::invalid("returnTo", "format", "must be a path on this site, starting with a single '/'"));
        }
        let state = random_hex(32)?;
        let now = self.clock.now();
        let row = store::LoginRow {
            provider: login.provider.clone(),
            nonce: login.nonce.clone(),
            pkce_verifier: login.pkce_verifier.clone(),
            return_to: login.return_to.clone(),
            created_at: now,
        };
        store::insert_login(&mut *self.conn().await?, &sha256_hex(&state), &row, now - LOGIN_TTL).await?;
        Ok(state)
    }

    /// Takes the sign-in of `state` back, once: a replayed, unknown or stale state is refused.
    pub async fn take_login(&self, state: &str) -> Result<PendingLogin> {
        let refused = || Error::Unauthenticated("this sign-in is unknown, already used or expired: start signing in again".into());
        if state.is_empty() || state.len() > 200 {
            return Err(refused());
        }
        let row = store::take_login(&mut *self.conn().await?, &sha256_hex(state)).await?.ok_or_else(refused)?;
        if self.clock.now() - row.created_at > LOGIN_TTL {
            return Err(refused());
        }
        Ok(PendingLogin { provider: row.provider, nonce: row.nonce, pkce_verifier: row.pkce_verifier, return_to: row.return_to })
    }

    /// The person a validated personal identity number claim stands for. A claim that is not
    /// a valid number is refused (the provider is misconfigured or not a Swedish eID).
    pub fn person(&self, pin_claim: Option<&str>, name: &str) -> Result<Person> {
        let Some(claim) = pin_claim else {
            return Err(Error::Unauthenticated(
                "the identity provider sent no personal identity number (claim https://id.oidc.se/claim/personalIdentityNumber)".into(),
            ));
        };
        let pin = PersonalIdentityNumber::parse(claim, self.clock.today()).map_err(|e| {
            Error::Unauthenticated(format!("the identity provider's personal identity number is not valid: {}", e.message()))
        })?;
        let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
        Ok(Person { person_ref: person_ref(&self.pepper, &pin), name: name.trim().to_string() })
    }

    /// The principal of a person: staff of a municipality, or a resident.
    pub async fn principal(&self, person: Person) -> Result<Principal> {
        let staff_of = self.staff_of(&person.person_ref).await?;
        Ok(Principal::person(person, staff_of))
    }

    /// The municipality a person is staff of, if any.
    pub async fn staff_of(&self, person_ref: &str) -> Result<Option<String>> {
        Ok(store::staff_of(&mut *self.conn().await?, person_ref).await?)
    }

    /// Starts a session for `person`, signed in with `provider`.
    pub async fn create(&self, person: &Person, provider: &str) -> Result<NewSession> {
        let token = random_hex(32)?;
        let csrf_token = random_hex(32)?;
        let now = self.clock.now();
        let expires_at = now + self.policy.absolute;
        let new = store::NewSession {
            id: Uuid::now_v7(),
            token_hash: &sha256_hex(&token),
            person_ref: &person.person_ref,
            provider,
            display_name: &person.name,
            csrf_token: &csrf_token,
            created_at: now,
            expires_at,
        };
        // Ended sessions are deleted a day after they end.
        store::insert_session(&mut *self.conn().await?, &new, now - Duration::days(1)).await?;
        Ok(NewSession { token, csrf_token, expires_at })
    }

    /// The live session of a cookie token; `Unauthenticated` (saying why) if it is unknown,
    /// revoked, expired or idle too long.
    pub async fn session(&self, token: &str) -> Result<LiveSession> {
        let unknown = || Error::Unauthenticated("the session is not valid: sign in again".into());
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let mut conn = self.conn().await?;
        let row = store::session_by_token(&mut conn, &sha256_hex(token)).await?.ok_or_else(unknown)?;
        let now = self.clock.now();
        if row.revoked_at.is_some() {
            return Err(Error::Unauthenticated("the session has been signed out: sign in again".into()));
        }
        if now >= row.expires_at {
            return Err(Error::Unauthenticated("the session has expired: sign in again".into()));
        }
        let idle_until = row.last_seen_at + self.policy.idle;
        if now >= idle_until {
            return Err(Error::Unauthenticated("the session ended after being unused too long: sign in again".into()));
        }
        // Marked as used at most once a minute (or a quarter of a short idle timeout), so the
        // idle end is from the last mark.
        let mut last_seen = row.last_seen_at;
        if now - row.last_seen_at >= TOUCH_EVERY.min(self.policy.idle / 4) {
            store::touch(&mut conn, row.id, now).await?;
            last_seen = now;
        }
        let person = Person { person_ref: row.person_ref, name: row.display_name };
        Ok(LiveSession {
            id: row.id,
            principal: Principal::person(person, row.staff_of),
            provider: row.provider,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
            idle_until: (last_seen + self.policy.idle).min(row.expires_at),
        })
    }

    /// Signs a session out; whether it was live.
    pub async fn revoke(&self, id: Uuid) -> Result<bool> {
        Ok(store::revoke(&mut *self.conn().await?, id, self.clock.now()).await?)
    }

    /// Signs every session of a person out; how many were live.
    pub async fn revoke_person(&self, person_ref: &str) -> Result<usize> {
        Ok(store::revoke_person(&mut *self.conn().await?, person_ref, self.clock.now()).await?)
    }
}

/// What the registry holds about a person (GDPR art. 15), as they download it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PersonalData {
    /// How the registry knows the person: the hash of their personal identity number
    /// (`person:` and 16 hex digits), never the number itself, which it does not store.
    pub person: String,
    /// Their name, as the identity provider gave it at the last sign-in.
    pub name: String,
    /// Their browser sessions (the cookie's token and the CSRF token are not shown).
    pub sessions: Vec<store::SessionRecord>,
    /// Their staff entry, if they are staff of a municipality.
    pub staff: Option<store::StaffRow>,
    /// The associations they represent, with the name they are listed under.
    pub representations: Vec<Representation>,
    /// The bookings they made through the registry, as the registry last knew them.
    pub bookings: Vec<BookingRecord>,
    /// Whether they have a calendar feed (its secret address is never shown again).
    pub calendar_feed: bool,
    /// What is not here and why.
    pub notes: Vec<String>,
}

/// A booking a person made through the registry, as their download shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BookingRecord {
    /// The registry's id.
    pub id: Uuid,
    /// The booking system.
    pub vendor_id: Uuid,
    /// Its id of the booking.
    pub vendor_booking_id: String,
    /// The facility and unit.
    pub facility_name: String,
    /// The unit.
    pub unit_name: String,
    /// Start.
    pub start: chrono::DateTime<chrono::Utc>,
    /// End.
    pub end: chrono::DateTime<chrono::Utc>,
    /// Status, as last known.
    pub status: String,
    /// Made for this association.
    pub association_id: Option<Uuid>,
    /// Where its notices go (cleared 30 days after it ends).
    pub notify_email: Option<String>,
    /// Whether reminders are on.
    pub reminders: bool,
    /// When made.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A person's entry as representative of an association.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Representation {
    /// The association.
    pub association_id: Uuid,
    /// The name they are listed under.
    pub name: String,
    /// Since when.
    pub added_at: chrono::DateTime<chrono::Utc>,
}

/// What erasing a person's data did (GDPR art. 17).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    /// Sessions deleted (the current one too: the person is signed out).
    pub sessions_deleted: usize,
    /// Associations they no longer represent (where someone else still does).
    pub representations_removed: usize,
    /// Their own bookings the registry forgot (each booking system keeps its booking).
    pub bookings_forgotten: usize,
    /// What was kept, and why.
    pub kept: Vec<String>,
}

const STAFF_KEPT: &str =
    "the staff entry: the municipality keeps it for as long as the person acts for it; an operator ends it (registry staff remove)";
const ONLY_REPRESENTATIVE: &str = "representation of associations they are the only representative of (an association keeps at least one): \
     add another representative, then remove yourself";
const BOOKINGS_ELSEWHERE: &str = "bookings: each municipality's booking system holds the booking and its customer; \
     the registry keeps who made a booking through it (above), and forgets it when asked";

impl Sessions {
    /// Everything the registry holds about the signed-in person `p`, with the read recorded in
    /// the audit log.
    pub async fn personal_data(&self, p: &Principal) -> Result<PersonalData> {
        crate::auth::authorize(p, crate::auth::Action::OwnPersonalData)?;
        let person = p.person.as_ref().expect("authorized: a person");
        let mut conn = self.conn().await?;
        let sessions = store::sessions_of(&mut conn, &person.person_ref).await?;
        let staff = store::staff_entry(&mut conn, &person.person_ref).await?;
        let representations: Vec<Representation> = crate::db::associations::representations_of(&mut conn, &person.person_ref)
            .await?
            .into_iter()
            .map(|(association_id, name, added_at)| Representation { association_id, name, added_at })
            .collect();
        let bookings: Vec<BookingRecord> = crate::db::bookings::made_by(&mut conn, &person.person_ref)
            .await?
            .into_iter()
            .map(|b| BookingRecord {
                id: b.id,
                vendor_id: b.vendor_id,
                vendor_booking_id: b.vendor_booking_id,
                facility_name: b.facility_name,
                unit_name: b.unit_name,
                start: b.start_at,
                end: b.end_at,
                status: b.status,
                association_id: b.association_id,
                notify_email: b.notify_email,
                reminders: b.reminders,
                created_at: b.created_at,
            })
            .collect();
        let calendar_feed = crate::db::bookings::has_calendar_feed(&mut conn, &person.person_ref).await?;
        let detail = serde_json::json!({
            "subject": "self", "sessions": sessions.len(), "staff": staff.is_some(), "representations": representations.len(),
            "bookings": bookings.len()
        });
        crate::db::changes::audit(&mut conn, &p.id, "read_own_personal_data", None, detail).await?;
        Ok(PersonalData {
            person: p.id.clone(),
            name: person.name.clone(),
            sessions,
            staff,
            representations,
            bookings,
            calendar_feed,
            notes: vec![BOOKINGS_ELSEWHERE.into()],
        })
    }

    /// Erases what need not be kept about the signed-in person `p`: every session (so they are
    /// signed out everywhere). The erasure is recorded in the audit log, by the person's hash.
    pub async fn erase_personal_data(&self, p: &Principal) -> Result<Erasure> {
        crate::auth::authorize(p, crate::auth::Action::OwnPersonalData)?;
        let person = p.person.as_ref().expect("authorized: a person");
        let mut conn = self.conn().await?;
        let person_ref = person.person_ref.clone();
        let actor = p.id.clone();
        let (deleted, staff, (removed, only), forgotten) = conn
            .transaction(async move |conn| {
                let deleted = store::delete_sessions_of(conn, &person_ref).await?;
                let staff = store::staff_entry(conn, &person_ref).await?;
                let reps = crate::db::associations::erase_representative(conn, &person_ref).await?;
                let (forgotten, _) = crate::db::bookings::erase_person(conn, &person_ref).await?;
                // Their changes stay in the change log, by "a person" rather than by them.
                crate::db::changes::forget_actor(conn, &actor).await?;
                let detail = serde_json::json!({
                    "subject": "self", "sessionsDeleted": deleted, "representationsRemoved": reps.0, "representationsKept": reps.1.len()
                });
                crate::db::changes::audit(conn, &actor, "erase_own_personal_data", None, detail).await?;
                Ok::<_, Error>((deleted, staff, reps, forgotten))
            })
            .await?;
        let mut kept = vec![BOOKINGS_ELSEWHERE.to_string()];
        if !only.is_empty() {
            kept.insert(0, format!("{ONLY_REPRESENTATIVE} ({})", only.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ")));
        }
        if staff.is_some() {
            kept.insert(0, STAFF_KEPT.into());
        }
        Ok(Erasure { sessions_deleted: deleted, representations_removed: removed, bookings_forgotten: forgotten, kept })
    }
}

/// Staff entries: operators make a person their municipality's editor (`registry staff`).
pub mod staff {
    use super::*;

    pub use crate::db::sessions::StaffRow;

    /// Makes the person of `pin` staff of `municipality_code` (replacing an entry of another
    /// municipality), and announces it so that servers forget cached principals.
    pub async fn add(pool: &Pool, pepper: &str, clock: &crate::Clock, pin: &str, municipality_code: &str, label: &str) -> Result<StaffRow> {
        let mut v = Violations::default();
        let pin = crate::person::check(&mut v, "personalIdentityNumber", pin, clock.today());
        let municipality_code = crate::codes::check_municipality(&mut v, "municipalityCode", municipality_code);
        let label = v.required_text("label", label, 200);
        v.finish()?;
        let person = person_ref(pepper, &pin.expect("checked"));
        let mut conn = pool.get().await?;
        conn.transaction(async |conn| {
            let row = store::upsert_staff(conn, &person, &municipality_code, &label).await?;
            crate::service::keys::announce(conn, "staff").await?;
            Ok::<_, Error>(row)
        })
        .await
    }

    /// Ends the staff entry of the person of `pin`, and signs them out everywhere: a session
    /// started as staff must not keep the editor's rights.
    pub async fn remove(pool: &Pool, pepper: &str, clock: &crate::Clock, pin: &str) -> Result<bool> {
        let mut v = Violations::default();
        let pin = crate::person::check(&mut v, "personalIdentityNumber", pin, clock.today());
        v.finish()?;
        let person = person_ref(pepper, &pin.expect("checked"));
        let now = clock.now();
        let mut conn = pool.get().await?;
        conn.transaction(async |conn| {
            let removed = store::delete_staff(conn, &person).await?;
            if removed {
                store::revoke_person(conn, &person, now).await?;
                crate::service::keys::announce(conn, "staff").await?;
            }
            Ok::<_, Error>(removed)
        })
        .await
    }

    /// Every staff entry.
    pub async fn list(pool: &Pool) -> Result<Vec<StaffRow>> {
        Ok(store::list_staff(&mut *pool.get().await?).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        for ok in ["/", "/mina-foreningar", "/search?q=bad&x=1#top"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/a\r\nSet-Cookie: x=y",
            &format!("/{}", "a".repeat(2000)),
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
