//! Reading the change log: RPDE feeds of facilities and associations, the live change stream
//! (`WatchChanges`), the audit trail, and the public history of a facility.
//!
//! Appends take a lock that hands out sequence numbers in commit order (see
//! [`changelog::append`]), so "everything after `seq`" never skips a change that commits late.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::associations::project;
use super::{Page, PageRequest, Registry, page_of};
use crate::auth::{self, Action, Principal, Role};
use crate::changelog::{self, Change};
use crate::db::associations as association_store;
use crate::db::facilities as facility_store;
use crate::error::{Error, Result};

/// Items per feed page (the RPDE validator expects pages of at least 500 before the last).
pub const FEED_PAGE_SIZE: i64 = 500;

/// Which feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// Facilities with their units.
    Facilities,
    /// Approved associations (public fields).
    Associations,
}

impl FeedKind {
    fn entity(self) -> &'static str {
        match self {
            FeedKind::Facilities => "facility",
            FeedKind::Associations => "association",
        }
    }

    /// The RPDE `kind` of the items.
    pub fn item_kind(self) -> &'static str {
        match self {
            FeedKind::Facilities => "Facility",
            FeedKind::Associations => "Association",
        }
    }
}

/// One RPDE item: the current public state of an entity, or a tombstone.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeedItem {
    /// `updated` or `deleted`.
    pub state: String,
    /// `Facility` or `Association`.
    pub kind: String,
    /// The entity's id.
    pub id: Uuid,
    /// The change-log position of the entity's latest change: grows with every change.
    pub modified: i64,
    /// The public resource (absent for tombstones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// One change as a follower of the log sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEntry {
    /// Position in the log.
    pub seq: i64,
    /// `facility`, `association`, `opening_hours` or `vendor`.
    pub entity: String,
    /// The entity's id (for opening hours: the facility's).
    pub entity_id: Uuid,
    /// `create`, `update` or `delete`. An association that leaves the caller's view (for
    /// example a registration no longer approved) is a `delete` for that caller.
    pub operation: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The state after the change, with what the caller may not see removed; none for deletes.
    pub data: Option<serde_json::Value>,
}

/// One entry of a facility's public history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Position in the change log.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `facility` or `opening_hours`.
    pub entity: String,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// Top-level fields that changed (all of them for a create).
    pub changed_fields: Vec<String>,
    /// The public state after the change (none after a delete).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

/// Removes from an association's JSON state what `p` may not see; `None` if `p` may not see it.
fn visible_association(p: &Principal, mut state: serde_json::Value) -> Option<serde_json::Value> {
    let m = state.get("municipalityCode").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let approved = state.pointer("/registration/status").and_then(|v| v.as_str()) == Some("REGISTRATION_STATUS_APPROVED");
    if !approved && !auth::allowed(p, Action::ReadUnapproved(&m)) {
        return None;
    }
    if let Some(o) = state.as_object_mut() {
        if !auth::allowed(p, Action::ReadMemberStatistics(&m)) {
            o.remove("memberStatistics");
        }
        if !auth::allowed(p, Action::ReadContactPersons(&m)) {
            o.remove("contactPersons");
        }
    }
    Some(state)
}

/// What `p` may see of one logged state of `entity`: `Some(None)` means "nothing of it".
fn visible_state(p: &Principal, entity: &str, state: Option<serde_json::Value>) -> Option<Option<serde_json::Value>> {
    match entity {
        "association" => Some(state.and_then(|s| visible_association(p, s))),
        "vendor" if !auth::allowed(p, Action::ManageVendors) => None,
        _ => Some(state),
    }
}

fn contains_personal_data(state: &Option<serde_json::Value>) -> bool {
    state.as_ref().and_then(|s| s.get("contactPersons")).and_then(|c| c.as_array()).is_some_and(|c| !c.is_empty())
}

impl Registry {
    /// One RPDE page: the entities whose latest change comes after (`after_seq`, `after_id`),
    /// ordered by (modified, id), each in its current public state or as a tombstone. Open
    /// data: anyone may read it.
    pub async fn feed_page(&self, p: &Principal, kind: FeedKind, after_seq: Option<i64>, after_id: Option<Uuid>) -> Result<Vec<FeedItem>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = crate::validate::Violations::default();
        if after_seq.is_some_and(|s| s < 0) {
            v.add("afterTimestamp", "out_of_range", "must be the `modified` of an item: a whole number, 0 or more");
        }
        if after_id.is_some() && after_seq.is_none() {
            v.add("afterId", "requires", "needs afterTimestamp as well");
        }
        v.finish()?;
        let (after_seq, after_id) = (after_seq.unwrap_or(0), after_id.unwrap_or(Uuid::nil()));
        let mut conn = self.conn().await?;
        // One snapshot for both reads, so every item's state is the one its position names.
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run(async move |conn| {
                let latest = changelog::latest_per_entity(conn, kind.entity(), after_seq, after_id, FEED_PAGE_SIZE).await?;
                let ids: Vec<Uuid> = latest.iter().map(|(_, id)| *id).collect();
                let mut states: std::collections::HashMap<Uuid, serde_json::Value> = match kind {
                    FeedKind::Facilities => facility_store::load_many(conn, &ids)
                        .await?
                        .into_iter()
                        .map(|f| (f.id, serde_json::to_value(&f).expect("facilities serialise")))
                        .collect(),
                    FeedKind::Associations => association_store::load_many(conn, &ids)
                        .await?
                        .into_iter()
                        .filter_map(|a| project(&Principal::anonymous(), a, false))
                        .map(|a| (a.id, serde_json::to_value(&a).expect("associations serialise")))
                        .collect(),
                };
                Ok::<_, Error>(
                    latest
                        .into_iter()
                        .map(|(seq, id)| {
                            let data = states.remove(&id);
                            FeedItem {
                                state: if data.is_some() { "updated" } else { "deleted" }.into(),
                                kind: kind.item_kind().into(),
                                id,
                                modified: seq,
                                data,
                            }
                        })
                        .collect(),
                )
            })
            .await
    }

    /// The newest change-log position (0 for an empty log).
    pub async fn latest_change(&self) -> Result<i64> {
        let mut conn = self.conn().await?;
        Ok(changelog::latest_seq(&mut conn).await?)
    }

    /// Up to `limit` changes after `after`, oldest first, as `p` may see them: associations
    /// projected for `p`, vendor entries for admins only. Returns the entries and the position
    /// read up to (which may be past the last entry returned when some were not for `p`).
    pub async fn changes_since(&self, p: &Principal, after: i64, limit: i64) -> Result<(Vec<ChangeEntry>, i64)> {
        auth::authorize(p, Action::FollowChanges)?;
        let mut conn = self.conn().await?;
        let rows = changelog::since(&mut conn, after, limit.clamp(1, 1000)).await?;
        let upto = rows.last().map(|c| c.seq).unwrap_or(after);
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            // Seasonal allocation's and grants' applications, staff's edits and payment orders
            // are for the municipality's staff (its audit trail) and the applicants (their own
            // reads), not for the change stream.
            if (c.entity.starts_with("allocation_") || c.entity.starts_with("grant_")) && p.role != Role::Admin {
                continue;
            }
            let Some(data) = visible_state(p, &c.entity, c.after) else { continue };
            let operation = if data.is_none() { "delete".to_string() } else { c.operation };
            out.push(ChangeEntry { seq: c.seq, entity: c.entity, entity_id: c.entity_id, operation, at: c.at, data });
        }
        Ok((out, upto))
    }

    /// The audit trail: who changed what and when, with the state before and after. Admins see
    /// everything; a municipality's editors see changes to their municipality's data. Contact
    /// persons are shown only with the personal-data scope, and showing them is audited.
    pub async fn audit_trail(
        &self,
        p: &Principal,
        entity: Option<&str>,
        id: Option<Uuid>,
        since: Option<DateTime<Utc>>,
        page: &PageRequest,
    ) -> Result<Page<Change>> {
        let municipality = match &p.role {
            Role::Admin => None,
            Role::MunicipalityEditor { municipality_code } => Some(municipality_code.clone()),
            _ => {
                auth::authorize(p, Action::ReadAuditTrail("any municipality"))?;
                None
            }
        };
        if let Some(e) = entity
            && !["facility", "association", "opening_hours", "vendor"].contains(&e)
        {
            return Err(Error::invalid("entity", "unknown_enum_value", "must be facility, association, opening_hours or vendor"));
        }
        let (limit, after) = page.decode("au")?;
        let after = after.map(|u| u.as_u128() as i64).unwrap_or(0);
        let mut conn = self.conn().await?;
        let rows = changelog::trail(&mut conn, entity, id, since, municipality.as_deref(), after, limit + 1).await?;
        let mut page = page_of("au", rows, limit, |c| Uuid::from_u128(c.seq as u128));
        let mut shown = 0usize;
        page.items = page
            .items
            .into_iter()
            .filter_map(|mut c| {
                let before = visible_state(p, &c.entity, c.before.take())?;
                let after = visible_state(p, &c.entity, c.after.take())?;
                shown += usize::from(contains_personal_data(&before) || contains_personal_data(&after));
                c.before = before;
                c.after = after;
                Some(c)
            })
            .collect();
        if shown > 0 {
            let detail = serde_json::json!({ "fields": ["contactPersons"], "via": "audit trail", "entries": shown });
            changelog::audit(&mut conn, &p.id, "read_personal_data", None, detail).await?;
        }
        Ok(page)
    }

    /// A facility's public history ("insyn"): every change to it and to its opening hours,
    /// oldest first, with the fields that changed and the state after; never who made it.
    pub async fn facility_history(&self, p: &Principal, id: Uuid) -> Result<Vec<HistoryEntry>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let mut changes = changelog::history(&mut conn, "facility", id).await?;
        if changes.is_empty() {
            return Err(Error::not_found("facility", id));
        }
        changes.extend(changelog::history(&mut conn, "opening_hours", id).await?);
        changes.sort_by_key(|c| c.seq);
        Ok(changes
            .into_iter()
            .map(|c| {
                let keys = |v: &Option<serde_json::Value>| -> Vec<(String, serde_json::Value)> {
                    v.as_ref()
                        .and_then(|v| v.as_object())
                        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default()
                };
                let (before, after) = (keys(&c.before), keys(&c.after));
                let mut changed: Vec<String> = after
                    .iter()
                    .filter(|(k, v)| before.iter().find(|(bk, _)| bk == k).map(|(_, bv)| bv) != Some(v))
                    .map(|(k, _)| k.clone())
                    .chain(before.iter().filter(|(k, _)| !after.iter().any(|(ak, _)| ak == k)).map(|(k, _)| k.clone()))
                    .filter(|k| !["version", "updatedAt"].contains(&k.as_str()))
                    .collect();
                changed.sort();
                HistoryEntry { seq: c.seq, at: c.at, entity: c.entity, operation: c.operation, changed_fields: changed, after: c.after }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associations_are_projected_for_the_follower() {
        let state = serde_json::json!({
            "municipalityCode": "1880",
            "registration": {"status": "REGISTRATION_STATUS_PENDING"},
            "memberStatistics": {"year": 2025},
            "contactPersons": [{"name": "Karin"}],
        });
        assert_eq!(visible_association(&Principal::with_role("v", Role::Vendor), state.clone()), None);
        let body = visible_association(&Principal::with_role("n", Role::NationalBody), state.clone()).unwrap();
        assert!(body.get("memberStatistics").is_some() && body.get("contactPersons").is_none());
        let editor = visible_association(&Principal::editor("e", "1880").with_personal_data(), state.clone()).unwrap();
        assert!(contains_personal_data(&Some(editor)));
        assert_eq!(visible_state(&Principal::with_role("v", Role::Vendor), "vendor", Some(serde_json::json!({}))), None);
    }
}
