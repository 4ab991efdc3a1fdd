//! Following the vendors' change feeds (vendor.v1.1 `ListChanges`, docs/vendor-protocol.md
//! §17): what the case officers decide and what staff cancel at the vendors reaches the
//! registry without polling every booking, and the owners are told (through the notices
//! outbox). Reminders before the start go out from the same schedule.

use std::time::Duration;

use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::service::bookings::vendor_offers;

use super::Service;
use super::bookings::{status_name, time};
use crate::pb;

/// Changes read per call.
const PAGE: i32 = 500;
/// Calls per vendor and round, so that one busy vendor does not hold up the others.
const MAX_PAGES: usize = 20;

impl Service {
    /// Reads every certified vendor's change feed once, from where the registry left off
    /// (a vendor read for the first time starts at its newest change); returns the changes
    /// of the registry's bookings stored. A vendor that fails is logged and tried next round.
    pub async fn read_vendor_changes(&self) -> Result<usize, Error> {
        let system = Principal::system("system:booking-changes");
        let vendors = self.registry.list_vendors(&system, None).await?;
        let mut stored = 0;
        for v in vendors.iter().filter(|v| vendor_offers(v, "OPERATION_LIST_CHANGES") && v.certification.federated()) {
            match self.read_feed(v).await {
                Ok(n) => stored += n,
                Err(e) => tracing::warn!(vendor = %v.id, error = %e, "booking changes: the vendor's feed could not be read"),
            }
        }
        Ok(stored)
    }

    async fn read_feed(&self, v: &registry_core::model::Vendor) -> Result<usize, Error> {
        self.usable(v)?;
        let id = v.id.to_string();
        let deadline = Duration::from_secs(5);
        let fail = |e: crate::CallError| Error::Unavailable(format!("ListChanges: {}", e.name()));
        let mut cursor = match self.registry.vendor_cursor(v.id).await? {
            Some(c) => c,
            None => {
                let r = self.engine.list_changes(&id, pb::ListChangesRequest { latest: true, ..Default::default() }, deadline).await;
                let c = r.map_err(fail)?.next_cursor;
                self.registry.set_vendor_cursor(v.id, &c).await?;
                return Ok(0);
            }
        };
        let mut stored = 0;
        for _ in 0..MAX_PAGES {
            let req = pb::ListChangesRequest { cursor: cursor.clone(), page_size: PAGE, latest: false };
            let r = self.engine.list_changes(&id, req, deadline).await.map_err(fail)?;
            for change in &r.changes {
                let Some(b) = &change.booking else { continue };
                let message = Some(b.status_message.as_str()).filter(|m| !m.is_empty());
                let fallback = chrono::DateTime::UNIX_EPOCH;
                let (start, end) = (time(b.start, fallback), time(b.end, fallback));
                if start == fallback || end <= start {
                    continue;
                }
                let learnt =
                    self.registry.booking_learnt(v.id, &b.booking_id, &b.unit_ref, start, end, &status_name(b.status), message).await?;
                stored += usize::from(learnt.is_some());
            }
            let done = r.changes.is_empty() || r.next_cursor == cursor;
            if !r.next_cursor.is_empty() {
                cursor = r.next_cursor;
                self.registry.set_vendor_cursor(v.id, &cursor).await?;
            }
            if done {
                break;
            }
        }
        Ok(stored)
    }
}

/// Reads the vendors' change feeds every `interval`, and sends reminders of bookings that
/// start within `remind_ahead` (none: no reminders), until the task is dropped.
pub async fn follow(service: std::sync::Arc<Service>, interval: Duration, remind_ahead: Option<chrono::Duration>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = service.read_vendor_changes().await {
            tracing::warn!(error = %e, "booking changes: reading the vendors' feeds failed");
        }
        if let Some(ahead) = remind_ahead {
            match service.registry.send_booking_reminders(ahead).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "booking reminders queued"),
                Err(e) => tracing::warn!(error = %e, "booking reminders failed"),
            }
        }
    }
}
