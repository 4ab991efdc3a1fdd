//! Following changes over REST: the RPDE feeds `/v1/feeds/{facilities|associations}`, the
//! audit trail `/v1/audit`, and a facility's public history `/v1/facilities/{id}/history`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use registry_core::auth::Principal;
use registry_core::changelog::Change;
use registry_core::service::{FEED_PAGE_SIZE, FeedItem, FeedKind, HistoryEntry, PageRequest};
use registry_core::{Error, Registry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{query, timestamp_param};
use crate::errors::ApiError;

/// The licence of the open data in the feeds (CC0: public-sector base data, free to reuse).
pub const FEED_LICENSE: &str = "https://creativecommons.org/publicdomain/zero/1.0/";

/// How absolute links (the feeds' `next`) are made: the configured public URL, or the scheme
/// of this server and the request's Host.
#[derive(Debug, Clone)]
pub struct PublicUrl {
    /// `--public-url`, e.g. `https://registry.example.se`.
    pub configured: Option<String>,
    /// Whether this server speaks TLS itself.
    pub tls: bool,
}

impl PublicUrl {
    pub(crate) fn base(&self, headers: &HeaderMap) -> String {
        if let Some(c) = &self.configured {
            return c.trim_end_matches('/').to_string();
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
        format!("{}://{host}", if self.tls { "https" } else { "http" })
    }
}

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new().route("/v1/feeds/{kind}", get(feed)).route("/v1/audit", get(audit)).route("/v1/facilities/{id}/history", get(history))
}

/// Paging of an RPDE feed ("Modified Timestamp and ID" ordering).
#[derive(Deserialize, IntoParams, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `modified` of the last item seen (a change-log position); absent for the start.
    after_timestamp: Option<String>,
    /// The `id` of the last item seen; needs `afterTimestamp`.
    after_id: Option<String>,
}

/// One RPDE page.
#[derive(Serialize, ToSchema)]
pub struct FeedPage {
    /// The next page: after the last item, or this page again when it is the last.
    next: String,
    /// Items ordered by (`modified`, `id`).
    #[schema(value_type = Vec<Object>)]
    items: Vec<FeedItem>,
    /// Licence of the data.
    license: String,
}

/// An OpenActive RPDE feed (Realtime Paged Data Exchange 1.0) of facilities or approved
/// associations: every entity in its current public state, or as a tombstone when deleted
/// (for associations: also when no longer approved).
#[utoipa::path(get, path = "/v1/feeds/{kind}", tag = "changes",
    params(("kind" = String, Path, description = "`facilities` or `associations`"), FeedQuery),
    responses((status = 200, description = "One page of at most 500 items ordered by (modified, id). `modified` is the change-log position of the entity's latest change; `state` is `updated` (with `data`, the resource as GET returns it to anyone) or `deleted`. Follow `next` until a page has no items; poll that last page for changes. Cache-Control: `public, max-age=3600` on pages with items, `public, max-age=8` on the last page.", body = FeedPage), super::problem::Errors))]
pub async fn feed(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(public): Extension<PublicUrl>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    q: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let (kind, path) = match kind.as_str() {
        "facilities" => (FeedKind::Facilities, "/v1/feeds/facilities"),
        "associations" => (FeedKind::Associations, "/v1/feeds/associations"),
        other => return Err(ApiError::RouteNotFound(format!("/v1/feeds/{other}"))),
    };
    let q = query(q)?;
    let after_seq = match q.after_timestamp.as_deref() {
        None | Some("") => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::Core(Error::invalid("afterTimestamp", "format", "must be the `modified` of an item: a whole number, 0 or more"))
        })?),
    };
    let after_id = match q.after_id.as_deref() {
        None | Some("") => None,
        Some(id) => Some(
            Uuid::parse_str(id).map_err(|_| ApiError::Core(Error::invalid("afterId", "format", "must be the `id` of an item (a UUID)")))?,
        ),
    };
    let items = reg.feed_page(&p, kind, after_seq, after_id).await?;
    let base = format!("{}{path}", public.base(&headers));
    let (next, cache) = match items.last() {
        Some(last) => (format!("{base}?afterTimestamp={}&afterId={}", last.modified, last.id), "public, max-age=3600"),
        // The last page points at itself: consumers poll it for new changes.
        None => match (after_seq, after_id) {
            (Some(t), Some(id)) => (format!("{base}?afterTimestamp={t}&afterId={id}"), "public, max-age=8"),
            (Some(t), None) => (format!("{base}?afterTimestamp={t}"), "public, max-age=8"),
            _ => (base, "public, max-age=8"),
        },
    };
    debug_assert!(items.len() as i64 <= FEED_PAGE_SIZE);
    let mut res = Json(FeedPage { next, items, license: FEED_LICENSE.into() }).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

/// Filters and paging of the audit trail.
#[derive(Deserialize, IntoParams, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `facility`, `association`, `opening_hours` or `vendor` (admins).
    entity: Option<String>,
    /// The entity's id (for opening hours: the facility's).
    id: Option<String>,
    /// Only changes at or after this RFC 3339 time.
    since: Option<String>,
    /// Entries per page: 0 or absent means 50; above 500 is served as 500.
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
}

/// One page of the audit trail, oldest first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Changes: `seq`, `entity`, `entityId`, `operation`, `actor` (the key or job that made it),
    /// `at`, `before` and `after` (contact persons only with the personal-data scope).
    #[schema(value_type = Vec<Object>)]
    changes: Vec<Change>,
    /// Token for the next page; empty on the last page.
    next_page_token: String,
}

/// The audit trail: who changed what, when, before and after. For admins, and for a
/// municipality's editors on their own municipality's data.
#[utoipa::path(get, path = "/v1/audit", tag = "changes", params(AuditQuery),
    responses((status = 200, description = "One page of changes, oldest first", body = AuditPage), super::problem::Errors),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn audit(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let id = match q.id.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(crate::shared::parse_id(s, "id")?),
        None => None,
    };
    let since = timestamp_param(&q.since, "since")?;
    let page = PageRequest { page_size: q.page_size.unwrap_or(0), page_token: q.page_token.unwrap_or_default() };
    let entity = q.entity.as_deref().filter(|s| !s.is_empty());
    let page = reg.audit_trail(&p, entity, id, since, &page).await?;
    Ok(Json(AuditPage { changes: page.items, next_page_token: page.next_page_token }).into_response())
}

/// A facility's public history.
#[derive(Serialize, ToSchema)]
pub struct History {
    /// Changes to the facility and its opening hours, oldest first.
    changes: Vec<HistoryEntry>,
}

/// A facility's public history ("insyn"): every change to the facility and to its opening
/// hours, with the fields that changed and the public state after. Who made a change is not shown.
#[utoipa::path(get, path = "/v1/facilities/{id}/history", tag = "changes",
    params(("id" = String, Path, description = "Facility id (UUID)")),
    responses((status = 200, description = "The history, oldest first (also for a deleted facility)", body = History), super::problem::Errors))]
pub async fn history(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = crate::shared::parse_id(&id, "id")?;
    Ok(Json(History { changes: reg.facility_history(&p, id).await? }).into_response())
}
