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
