//! The use cases. Each write: authorize → validate → one transaction → change-log row.
//!
//! One file per resource holds its rules (who may, what is valid, what one transaction does);
//! its SQL is in one `db` module per aggregate, which the use cases call:
//!
//! | resource | use cases (`impl Registry`) | storage |
//! |---|---|---|
//! | facilities and units | `service/facilities.rs` | `db/facilities.rs` |
//! | associations (the national record, registrations per municipality, decisions, representatives, member statistics per year, change-log retention) | `service/associations.rs` | `db/associations.rs` |
//! | notices (the outbox, its delivery and retries; enqueued by the use cases above) | `notify.rs` | `db/notices.rs` |
//! | opening hours and open intervals | `service/hours.rs` | `db/hours.rs` |
//! | search of facilities and associations | `service/search.rs` | `db/search.rs` |
//! | vendors (directory, unit mapping, certification) | `service/vendors.rs` | `db/vendors.rs` |
//! | bookings at a unit's vendor | `service/bookings.rs` | none: the vendor keeps them |
//! | change feeds, change stream, audit trail, history | `service/changes.rs` | `db/changes.rs` (also the writes' `changelog::append`) |
//! | bulk exports | `service/exports.rs` (streaming: `export/`) | `db/exports.rs` |
//! | municipalities | `service/municipalities.rs` | `db/municipalities.rs` |
//! | geodata sync and municipal boundaries | `service/geodata.rs` | `db/geodata.rs` |
//! | API keys | `service/keys.rs` (functions over a pool) | `db/keys.rs` |
//! | people's sign-ins: sign-ins in progress, sessions, staff entries | `service/sessions.rs` (`Sessions`) | `db/sessions.rs` |
//!
//! Shared by all: paging (here), `db/mod.rs` (pool, migrations), `db/schema.rs`.

mod associations;
pub mod bookings;
mod changes;
pub(crate) mod exports;
mod facilities;
pub mod geodata;
mod hours;
pub mod keys;
mod municipalities;
pub mod search;
pub mod sessions;
mod vendors;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::db::{self, Pool, PooledConn};
use crate::error::{Error, Result};

pub use crate::db::associations::AssociationFilter;
pub use crate::db::facilities::FacilityFilter;
pub use associations::{RegistrationAnswer, approved_representation};
pub use changes::{ChangeEntry, FEED_PAGE_SIZE, FeedItem, FeedKind, HistoryEntry};
pub use hours::{MATERIALISED_DAYS, MAX_QUERY_DAYS, OpenStatus, StoredHours, window_start};
pub use search::AssociationSearch;
pub use vendors::{BookedUnit, VENDOR_SELF_FIELDS, VendorUnit};

/// The registry's use cases over one connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    pool: Pool,
    url: std::sync::Arc<str>,
    /// A streaming replica for reads that tolerate lag (search, exports), if configured.
    replica: Option<(Pool, std::sync::Arc<str>)>,
    /// Where date-dependent rules read the time.
    clock: crate::Clock,
    /// The server's pepper, with which a personal identity number becomes a person reference
    /// (the same as the sign-in's, so a representative added by number is found when they sign in).
    pepper: std::sync::Arc<str>,
}

/// Default page size.
pub const DEFAULT_PAGE_SIZE: i32 = 50;
/// Largest page size; larger requests are served this many.
pub const MAX_PAGE_SIZE: i32 = 500;

/// A page request: `page_size` 0 means the default; `page_token` empty means the first page.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Items per page (0 = default 50, at most 500).
    pub page_size: i32,
    /// Opaque token from a previous page's `next_page_token`.
    pub page_token: String,
}

/// One page of results.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items, in a stable order.
    pub items: Vec<T>,
    /// Token for the next page; empty on the last page.
    pub next_page_token: String,
}

impl PageRequest {
    /// The first page of `size` items.
    pub fn first(size: i32) -> Self {
        PageRequest { page_size: size, page_token: String::new() }
    }

    /// Checks the request against the listing `kind` (`f` facilities, `au` the audit trail);
    /// returns the limit and the id to continue after. A token of another listing, or one this
    /// registry did not write, is a violation of `pageToken`.
    pub fn decode(&self, kind: &str) -> Result<(i64, Option<Uuid>)> {
        let size = match self.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => return Err(Error::invalid("pageSize", "out_of_range", "must not be negative")),
            n => n.min(MAX_PAGE_SIZE),
        };
        if self.page_token.is_empty() {
            return Ok((i64::from(size), None));
        }
        let bad = || Error::invalid("pageToken", "format", "is not a page token returned by this listing");
        let raw = search::unhex(&self.page_token).ok_or_else(bad)?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (k, id) = text.split_once(':').ok_or_else(bad)?;
        if k != kind {
            return Err(bad());
        }
        Ok((i64::from(size), Some(Uuid::parse_str(id).map_err(|_| bad())?)))
    }
}

fn encode_token(kind: &str, last: Uuid) -> String {
    search::hex(format!("{kind}:{last}").as_bytes())
}

/// Turns `limit + 1` fetched rows into a page.
fn page_of<T>(kind: &str, mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_page_token = match (more, items.last()) {
        (true, Some(last)) => encode_token(kind, id(last)),
        _ => String::new(),
    };
    Page { items, next_page_token }
}

impl Registry {
    /// Connects to `url` with a pool of `max_connections` (opened lazily). Exports open
    /// connections of their own to the same URL.
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        Ok(Registry {
            pool: db::pool(url, max_connections)?,
            url: url.into(),
            replica: None,
            clock: crate::Clock::system(),
            pepper: "".into(),
        })
    }

    /// Hashes personal identity numbers with `pepper` (the server's, as sign-in does).
    pub fn with_pepper(mut self, pepper: &str) -> Self {
        self.pepper = pepper.into();
        self
    }

    /// Reads the time from `clock` instead of the system clock (tests name their "today").
    pub fn with_clock(mut self, clock: crate::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock date-dependent rules read.
    pub fn clock(&self) -> &crate::Clock {
        &self.clock
    }

    /// The current time at the database's precision (microseconds), so values read back compare equal.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    /// Sends search and exports to a read-only replica at `url` (a pool of `max_connections`);
    /// writes and every other read stay on the primary. A replica lags a little: an export's
    /// change-log position is the replica's, so following the feeds from it is still exact.
    pub fn with_read_replica(mut self, url: &str, max_connections: usize) -> Result<Self> {
        self.replica = Some((db::pool(url, max_connections)?, url.into()));
        Ok(self)
    }

    /// The primary database's URL (for a connection of its own, such as a listener).
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// The URL exports read from: the replica's if there is one.
    pub(crate) fn read_url(&self) -> &str {
        self.replica.as_ref().map(|(_, u)| &**u).unwrap_or(&self.url)
    }

    /// The pool search reads from: the replica's if there is one.
    pub(crate) fn read_pool(&self) -> &Pool {
        self.replica.as_ref().map(|(p, _)| p).unwrap_or(&self.pool)
    }

    /// The underlying pool (for readiness checks and tests).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get().await?)
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> Result<()> {
        db::ping(&self.pool).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_are_checked() {
        let id = Uuid::now_v7();
        let token = encode_token("f", id);
        let req = PageRequest { page_size: 10, page_token: token.clone() };
        assert_eq!(req.decode("f").unwrap(), (10, Some(id)));
        for bad in ["zz", "abc", "6b3a", &token[..token.len() - 2]] {
            let req = PageRequest { page_size: 10, page_token: bad.into() };
            assert!(matches!(req.decode("f"), Err(Error::Invalid(v)) if v[0].field == "pageToken"), "{bad}");
        }
        assert!(PageRequest { page_size: 10, page_token: token }.decode("a").is_err(), "a facility token is not an association token");
    }

    /// Search tokens carry the last hit's name, which goes back to the database as text. One
    /// with a NUL character in its name was taken and sent to the database, which refuses NUL
    /// in text: a 500, and since the database's NUL refusal became a 400 (issue 25, finding 4)
    /// one that names `body` instead of the token. Found while writing the fuzz target
    /// `page_token`.
    #[test]
    fn search_tokens_with_a_nul_character_are_refused() {
        let id = Uuid::now_v7();
        let token = |json: serde_json::Value| search::hex(json.to_string().as_bytes());
        let facilities = |name: &str| search::FacilitySearch {
            order: Some(search::SearchOrder::Name),
            page_token: token(serde_json::json!({"order": "NAME", "distance": null, "rank": 0.0, "name": name, "id": id})),
            ..Default::default()
        };
        let associations =
            |name: &str| search::AssociationSearch { page_token: token(serde_json::json!([0.0, name, id])), ..Default::default() };
        let refused = |r: Result<()>| matches!(r, Err(Error::Invalid(v)) if v.len() == 1 && v[0].field == "pageToken");
        assert!(facilities("Kumla simhall").validate().is_ok());
        assert!(refused(facilities("Kumla\0simhall").validate()));
        assert!(associations("IFK Kumla").validate_page_token().is_ok());
        assert!(refused(associations("IFK\0Kumla").validate_page_token()));
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(PageRequest::first(0).decode("f").unwrap().0, 50);
        assert_eq!(PageRequest::first(7).decode("f").unwrap().0, 7);
        assert_eq!(PageRequest::first(10_000).decode("f").unwrap().0, 500);
        assert!(matches!(PageRequest::first(-1).decode("f"), Err(Error::Invalid(v)) if v[0].field == "pageSize"));
    }

    #[test]
    fn pages_know_whether_more_follow() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = page_of("f", ids.clone(), 2, |u| *u);
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.next_page_token, encode_token("f", ids[1]));
        let p = page_of("f", ids, 3, |u| *u);
        assert!(p.next_page_token.is_empty());
    }
}
