//! The OpenActive adapter, for vendors who publish a feed instead of answering queries: it
//! harvests the vendor's RPDE feed of facility-use slots (OpenActive Realtime Paged Data
//! Exchange 1.0, items of kind `FacilityUse/Slot`) into a local cache, and answers
//! availability from that cache like any other vendor.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::DateTime;
use prost_types::Timestamp;
use serde::Deserialize;
use vendor_proto::v1 as pb;

use crate::engine::{BoxFuture, VendorApi};

/// One slot as the cache keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSlot {
    /// The facility use (unit) it belongs to, as the feed names it.
    pub facility_use: String,
    /// Start, seconds since the epoch.
    pub start: i64,
    /// End, seconds since the epoch.
    pub end: i64,
    /// Uses left (0 = booked).
    pub remaining_uses: i64,
    /// Price in minor units for the whole slot, if offered.
    pub price_minor: Option<i64>,
    /// Currency of the price.
    pub currency: String,
}

#[derive(Debug, Deserialize)]
struct Page {
    next: String,
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    state: String,
    kind: String,
    id: serde_json::Value,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// Why a page could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct HarvestError {
    /// The page.
    pub url: String,
    /// What was wrong.
    pub message: String,
}

/// The harvested slots of one vendor and where the harvest stands.
pub struct Harvester {
    http: reqwest::Client,
    next: RwLock<String>,
    slots: RwLock<HashMap<String, CachedSlot>>,
    /// Items skipped as invalid (not a slot, missing or malformed dates, end before start).
    pub skipped: std::sync::atomic::AtomicU64,
}

/// Reads a slot item's data; None when it is not a usable slot.
fn slot(data: &serde_json::Value) -> Option<CachedSlot> {
    let facility_use = match data.get("facilityUse")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o.get("@id").or_else(|| o.get("id"))?.as_str()?.to_string(),
        _ => return None,
    };
    let time = |k: &str| DateTime::parse_from_rfc3339(data.get(k)?.as_str()?).ok().map(|t| t.timestamp());
    let (start, end) = (time("startDate")?, time("endDate")?);
    if end <= start {
        return None;
    }
    let offer = data.get("offers").and_then(|o| o.as_array()).and_then(|o| o.first());
    Some(CachedSlot {
        facility_use,
        start,
        end,
        remaining_uses: data.get("remainingUses").and_then(|r| r.as_i64()).unwrap_or(0),
        price_minor: offer.and_then(|o| o.get("price")).and_then(|p| p.as_f64()).map(|p| (p * 100.0).round() as i64),
        currency: offer.and_then(|o| o.get("priceCurrency")).and_then(|c| c.as_str()).unwrap_or("SEK").to_string(),
    })
}

impl Harvester {
    /// A harvester starting at the feed's first page.
    pub fn new(feed_url: &str) -> Arc<Harvester> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("an HTTP client");
        Arc::new(Harvester {
            http,
            next: RwLock::new(feed_url.to_string()),
            slots: RwLock::new(HashMap::new()),
            skipped: Default::default(),
        })
    }

    /// Reads pages until the feed's end (a page with no items); returns the items applied.
    /// The position is kept, so the next call continues where this one stopped.
    pub async fn harvest(&self, max_pages: usize) -> Result<usize, HarvestError> {
        let mut applied = 0;
        for _ in 0..max_pages {
            let url = self.next.read().expect("never poisoned").clone();
            let bad = |message: String| HarvestError { url: url.clone(), message };
            let resp = self.http.get(&url).header("Accept", "application/json").send().await.map_err(|e| bad(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(bad(format!("answered {}", resp.status())));
            }
            let page: Page = resp.json().await.map_err(|e| bad(format!("not an RPDE page: {e}")))?;
            let next = reqwest::Url::parse(&url).and_then(|u| u.join(&page.next)).map_err(|e| bad(format!("next '{}': {e}", page.next)))?;
            let last = page.items.is_empty();
            {
                let mut slots = self.slots.write().expect("never poisoned");
                for item in page.items {
                    let id = match &item.id {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match (item.state.as_str(), item.kind.as_str(), item.data.as_ref().and_then(slot)) {
                        ("deleted", _, _) => {
                            slots.remove(&id);
                        }
                        ("updated", kind, Some(s)) if kind.ends_with("Slot") => {
                            slots.insert(id, s);
                        }
                        _ => {
                            self.skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            continue;
                        }
                    }
                    applied += 1;
                }
            }
            *self.next.write().expect("never poisoned") = next.to_string();
            if last {
                break;
            }
        }
        Ok(applied)
    }

    /// Harvests every `interval` for as long as the harvester is alive (polling, as RPDE asks).
    pub fn poll(self: &Arc<Self>, interval: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(h) = weak.upgrade() else { return };
                if let Err(e) = h.harvest(1000).await {
                    tracing::warn!(error = %e, "OpenActive harvest failed; retrying at the next poll");
                }
                drop(h);
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Slots cached now.
    pub fn len(&self) -> usize {
        self.slots.read().expect("never poisoned").len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A vendor answered from its harvested feed.
pub struct OpenActiveVendor {
    /// The harvest.
    pub harvester: Arc<Harvester>,
}

impl VendorApi for OpenActiveVendor {
    fn check_availability(
        &self,
        req: pb::CheckAvailabilityRequest,
        _timeout: Duration,
    ) -> BoxFuture<Result<pb::CheckAvailabilityResponse, tonic::Status>> {
        let (ws, we) = (req.start.map_or(0, |t| t.seconds), req.end.map_or(0, |t| t.seconds));
        let slots = self.harvester.slots.read().expect("never poisoned");
        let units = req
            .unit_refs
            .iter()
            .map(|r| {
                let mut mine: Vec<&CachedSlot> = slots.values().filter(|s| &s.facility_use == r && s.start < we && s.end > ws).collect();
                mine.sort_by_key(|s| s.start);
                pb::UnitAvailability {
                    unit_ref: r.clone(),
                    status: pb::UnitStatus::Ok as i32,
                    slots: mine
                        .into_iter()
                        .map(|s| {
                            let hours = (s.end - s.start) as f64 / 3600.0;
                            pb::Slot {
                                // Clipped to the window, as the protocol asks.
                                start: Some(Timestamp { seconds: s.start.max(ws), nanos: 0 }),
                                end: Some(Timestamp { seconds: s.end.min(we), nanos: 0 }),
                                state: if s.remaining_uses > 0 { pb::SlotState::Free } else { pb::SlotState::Booked } as i32,
                                prices: s
                                    .price_minor
                                    .map(|p| pb::Price {
                                        customer_type: pb::CustomerType::Unspecified as i32,
                                        amount_minor_per_hour: (p as f64 / hours.max(1.0 / 60.0)).round() as i64,
                                        currency: s.currency.clone(),
                                    })
                                    .into_iter()
                                    .collect(),
                                booking_url: String::new(),
                            }
                        })
                        .collect(),
                    message: String::new(),
                }
            })
            .collect();
        Box::pin(async move { Ok(pb::CheckAvailabilityResponse { units }) })
    }
}
