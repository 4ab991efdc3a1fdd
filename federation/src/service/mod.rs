//! The use cases that cross the line between the registry and the vendors, over the core's
//! use cases (`federation → registry-core`): the federated availability query
//! ([`availability`]), bookings at a unit's vendor ([`bookings`]) and the vendors'
//! certification runs and their schedule ([`certification`]), and the directory's writes
//! that need the vendor itself ([`vendors`]: registering, changing, checks on request). Every call to a vendor goes
//! through the engine, so its deadline, circuit breaker and limits apply and the engine counts
//! it; the vendors' clients come from [`clients`], built once. They fail with the core's
//! [`registry_core::Error`], which the front ends map in their one table.

pub mod availability;
pub mod bookings;
pub mod certification;
pub mod clients;
pub mod feed;
pub mod my_bookings;
pub mod series;
pub mod vendors;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use registry_core::Registry;
use registry_core::model::{Vendor, VendorProtocol};
use uuid::Uuid;

use crate::{Federation, Policy};
use clients::Clients;

/// The registry's side of federation: the core, the engine with the directory's vendors added
/// as they are needed, and their clients.
pub struct Service {
    registry: Registry,
    engine: Arc<Federation>,
    clients: Arc<Clients>,
    /// What the engine holds of each vendor: its directory version and its connection's
    /// fingerprint (zero for feeds).
    loaded: Mutex<HashMap<Uuid, (i64, u64)>>,
}

impl Service {
    /// A service over the registry's vendor directory, reaching the vendors with `clients`.
    pub fn new(registry: Registry, clients: Arc<Clients>) -> Arc<Service> {
        Arc::new(Service { registry, engine: Federation::new(), clients, loaded: Mutex::new(HashMap::new()) })
    }

    /// The engine (its per-vendor counts, for operators and tests).
    pub fn engine(&self) -> &Arc<Federation> {
        &self.engine
    }

    /// Adds or refreshes a vendor in the engine; why not, if it cannot be used.
    fn ensure(&self, v: &Vendor) -> Result<(), String> {
        let loaded = || self.loaded.lock().expect("never poisoned").get(&v.id).copied();
        if v.protocol == VendorProtocol::OpenActive {
            if loaded() == Some((v.version, 0)) {
                return Ok(());
            }
            // Harvested into a local cache, polled every minute; answers come from the cache.
            let harvester = crate::openactive::Harvester::new(&v.endpoint);
            harvester.poll(Duration::from_secs(60));
            let api = Arc::new(crate::openactive::OpenActiveVendor { harvester });
            let policy = Policy {
                max_concurrency: v.max_concurrency as usize,
                requests_per_second: 10_000,
                hedge_after: None,
                cache_ttl: Duration::ZERO,
                ..Policy::default()
            };
            self.engine.add_vendor(&v.id.to_string(), api, policy);
            self.loaded.lock().expect("never poisoned").insert(v.id, (v.version, 0));
            return Ok(());
        }
        let (client, fingerprint) = self.clients.get(v.id, v.version, &v.to_input())?;
        if loaded() == Some((v.version, fingerprint)) {
            return Ok(());
        }
        let policy =
            Policy { max_concurrency: v.max_concurrency as usize, requests_per_second: v.requests_per_second as u32, ..Policy::default() };
        let policy = match v.capabilities.as_ref().and_then(|c| c.get("maxUnitsPerCall")).and_then(|n| n.as_u64()) {
            Some(n) if n >= 1 => Policy { max_units_per_call: n as usize, ..policy },
            _ => policy,
        };
        self.engine.add_vendor(&v.id.to_string(), Arc::new(client), policy);
        self.loaded.lock().expect("never poisoned").insert(v.id, (v.version, fingerprint));
        Ok(())
    }
}
