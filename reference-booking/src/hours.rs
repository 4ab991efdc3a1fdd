//! Opening hours, read from the registry (`GET /v1/facilities/{id}/opening-hours?unitId=`)
//! and evaluated here with the registry's own hours engine. What was read is kept in memory
//! and in the backend's database, so the backend keeps answering while the registry is away;
//! it is read again when older than the refresh interval.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use registry_core::hours::OpeningHours;
use uuid::Uuid;

use crate::db::{self, Pool};
use crate::error::{BookingError, Result};
use crate::model::Unit;

/// Where hours come from and how long they are trusted.
pub struct Hours {
    registry: Option<String>,
    key: Option<String>,
    http: reqwest::Client,
    refresh_after: Duration,
    cache: RwLock<HashMap<Uuid, (OpeningHours, Instant)>>,
}

#[derive(serde::Deserialize)]
struct Stored {
    hours: OpeningHours,
    version: i64,
}

impl Hours {
    /// Hours read from the registry at `registry` (its base URL), trusted for `refresh_after`.
    /// Without a registry, only hours already stored (or set with [`Hours::set`]) are known.
    pub fn new(registry: Option<String>, refresh_after: Duration) -> Hours {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().unwrap_or_default();
        Hours { registry: registry.map(|r| r.trim_end_matches('/').to_string()), key: None, http, refresh_after, cache: RwLock::default() }
    }

    /// Reads with this API key of the registry (a vendor key: a higher rate limit than anonymous).
    pub fn with_key(mut self, key: Option<String>) -> Hours {
        self.key = key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
        self
    }

    /// Sets a unit's hours directly (tests, and deployments without a registry).
    pub fn set(&self, unit: Uuid, hours: OpeningHours) {
        self.cache.write().expect("never poisoned").insert(unit, (hours, Instant::now()));
    }

    async fn fetch(&self, unit: &Unit) -> std::result::Result<(OpeningHours, i64, serde_json::Value), String> {
        let base = self.registry.as_deref().ok_or("no registry configured")?;
        let url = format!("{base}/v1/facilities/{}/opening-hours?unitId={}", unit.registry_facility_id, unit.registry_unit_id);
        let mut req = self.http.get(&url);
        if let Some(k) = &self.key {
            req = req.header("x-api-key", k);
        }
        let r = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("{url}: HTTP {}", r.status()));
        }
        let body: serde_json::Value = r.json().await.map_err(|e| format!("{url}: {e}"))?;
        let stored: Stored = serde_json::from_value(body.clone()).map_err(|e| format!("{url}: not opening hours: {e}"))?;
        Ok((stored.hours, stored.version, body["hours"].clone()))
    }

    /// Reads a unit's hours from the registry now and stores them.
    pub async fn refresh(&self, pool: &Pool, unit: &Unit) -> Result<()> {
        let (hours, version, json) = self.fetch(unit).await.map_err(BookingError::Unavailable)?;
        let mut conn = pool.get().await?;
        db::save_hours(&mut conn, unit.id, &json, version).await?;
        self.set(unit.id, hours);
        Ok(())
    }

    /// The hours of `units`: from memory while fresh, else from the registry, else as last
    /// stored. Units whose hours were never read are missing from the answer.
    pub async fn of(&self, pool: &Pool, units: &[Unit]) -> Result<HashMap<Uuid, OpeningHours>> {
        let mut out = HashMap::new();
        let mut stale = Vec::new();
        {
            let cache = self.cache.read().expect("never poisoned");
            for u in units {
                match cache.get(&u.id) {
                    Some((h, at)) if self.registry.is_none() || at.elapsed() < self.refresh_after => {
                        out.insert(u.id, h.clone());
                    }
                    Some((h, _)) => {
                        out.insert(u.id, h.clone());
                        stale.push(u);
                    }
                    None => stale.push(u),
                }
            }
        }
        let mut missing = Vec::new();
        for u in stale {
            match self.refresh(pool, u).await {
                Ok(()) => {
                    if let Some((h, _)) = self.cache.read().expect("never poisoned").get(&u.id) {
                        out.insert(u.id, h.clone());
                    }
                }
                Err(e) => {
                    if !out.contains_key(&u.id) {
                        tracing::warn!(unit = %u.external_ref, error = %e, "opening hours not read from the registry; using the stored ones");
                        missing.push(u.id);
                    }
                }
            }
        }
        if !missing.is_empty() {
            let mut conn = pool.get().await?;
            for (unit, json, _, _) in db::hours_of(&mut conn, &missing).await? {
                if let Ok(h) = serde_json::from_value::<OpeningHours>(json) {
                    self.cache.write().expect("never poisoned").insert(unit, (h.clone(), Instant::now()));
                    out.insert(unit, h);
                }
            }
        }
        Ok(out)
    }
}
