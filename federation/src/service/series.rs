//! Weekly series at a unit's vendor (vendor.v1.1 `CreateSeries`, docs/vendor-protocol.md §18):
//! how the registry books a seasonal allocation (säsongsfördelning), an association's weekly
//! training time over a season. Through the engine like a booking: the vendor's deadline,
//! circuit breaker and limits apply and the call is counted; never hedged (it writes).

use std::time::Duration;

use registry_core::Error;
use registry_core::model::Vendor;
use registry_core::service::bookings::vendor_offers;

use super::Service;
use super::bookings::refused;
use crate::pb;

/// How long the vendor has to answer a series (up to 54 weeks booked in one call).
pub const SERIES_DEADLINE: Duration = Duration::from_secs(20);

impl Service {
    /// Books the weekly series `req` at `vendor` (`CreateSeries`) and answers its report: one
    /// occurrence per week, each created (with its booking), in conflict, against a rule or
    /// excluded. A series that could not be made (atomic, with a week taken) is `Ok` with
    /// `created` false: the report says which weeks and why. The caller's use case has decided
    /// that its principal may book the series and built the request (its idempotency key
    /// included): this only asks the vendor. A vendor that does not list
    /// `OPERATION_CREATE_SERIES` is not asked (a conflict, `not_supported`).
    pub async fn create_series_at(&self, vendor: &Vendor, req: pb::CreateSeriesRequest) -> Result<pb::CreateSeriesResponse, Error> {
        if !vendor_offers(vendor, "OPERATION_CREATE_SERIES") {
            return Err(Error::Conflict {
                field: None,
                rule: "not_supported",
                message: format!("the booking system '{}' takes no weekly series through the registry", vendor.name),
            });
        }
        self.usable(vendor)?;
        let vendor_id = vendor.id.to_string();
        let unit_ref = req.unit_ref.clone();
        let answer = self.engine.create_series(&vendor_id, req, SERIES_DEADLINE).await;
        // Whatever became of it, the unit's cached availability may be wrong now.
        self.engine.forget_units(&vendor_id, &[unit_ref]);
        answer.map_err(|e| refused(&vendor.name, e))
    }
}

/// How long the vendor has to answer each window of [`Service::booked_at`].
pub const BOOKED_DEADLINE: Duration = Duration::from_secs(5);

/// The most windows [`Service::booked_at`] asks about in one call (a season of daily windows).
pub const BOOKED_MAX_WINDOWS: usize = 400;

impl Service {
    /// What `vendor` has booked on its units `unit_refs` in `[from, to)`: per reference, the
    /// `BOOKED` stretches (`CheckAvailability`, docs/vendor-protocol.md §6), asked window by
    /// window as long as the vendor's `max_window` allows. Seasonal allocation reads this before
    /// a run, so that no time the vendor has booked is allocated. A reference the vendor does
    /// not know, or cannot book through the interface, is left out of the answer. Any window
    /// the vendor does not answer fails the whole call (`Unavailable`): half a season's
    /// bookings would be worse than none, which the caller reports.
    pub async fn booked_at(
        &self,
        vendor: &Vendor,
        unit_refs: &[String],
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<std::collections::BTreeMap<String, Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>>, Error> {
        self.usable(vendor)?;
        if !vendor.certification.federated() {
            return Err(Error::Unavailable(format!("'{}' is not certified at present ({})", vendor.name, vendor.certification.why_not())));
        }
        let max_window = vendor
            .capabilities
            .as_ref()
            .and_then(|c| c.get("maxWindowSeconds"))
            .and_then(|s| s.as_i64())
            .filter(|&s| s >= 86_400)
            .map_or(chrono::Duration::days(1), chrono::Duration::seconds)
            .min(super::availability::MAX_WINDOW);
        let windows = ((to - from).num_seconds().max(0) / max_window.num_seconds().max(1)) as usize + 1;
        if windows > BOOKED_MAX_WINDOWS {
            return Err(Error::invalid("to", "out_of_range", format!("at most {BOOKED_MAX_WINDOWS} windows of the vendor's maximum")));
        }
        let vendor_id = vendor.id.to_string();
        let ts = |t: chrono::DateTime<chrono::Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
        let mut out: std::collections::BTreeMap<String, Vec<_>> = std::collections::BTreeMap::new();
        let mut start = from;
        while start < to {
            let end = (start + max_window).min(to);
            let req = pb::CheckAvailabilityRequest { unit_refs: unit_refs.to_vec(), start: ts(start), end: ts(end), ..Default::default() };
            let a = self.engine.check(&vendor_id, req, std::time::Instant::now() + BOOKED_DEADLINE).await;
            if a.status != crate::engine::Status::Ok {
                return Err(Error::Unavailable(format!("'{}' did not answer ({})", vendor.name, a.status.name())));
            }
            for u in a.units {
                if u.status != pb::UnitStatus::Ok as i32 {
                    continue;
                }
                let list = out.entry(u.unit_ref.clone()).or_default();
                for s in u.slots.iter().filter(|s| s.state == pb::SlotState::Booked as i32) {
                    let at = |t: &Option<prost_types::Timestamp>| {
                        t.as_ref().and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
                    };
                    if let (Some(a), Some(b)) = (at(&s.start), at(&s.end)) {
                        list.push((a, b));
                    }
                }
            }
            start = end;
        }
        Ok(out)
    }
}
