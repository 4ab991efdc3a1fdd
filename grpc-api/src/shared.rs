//! What both front ends need, so that neither imports the other: decoding ids, the rule on
//! `minDurationMinutes`, and the export slots REST and gRPC share.

use std::sync::Arc;
use std::time::Duration;

use registry_core::Error;
use registry_core::validate::Violations;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Parses an id; `field` names it in the error.
pub fn parse_id(s: &str, field: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s.trim()).map_err(|_| Error::invalid(field, "format", format!("'{s}' is not a UUID")))
}

/// An availability query's `minDurationMinutes`: between 1 and 1440 when given (a violation
/// is added otherwise), as a duration.
pub fn min_duration(v: &mut Violations, minutes: Option<i64>) -> Option<Duration> {
    let m = minutes?;
    if !(1..=24 * 60).contains(&m) {
        v.add("minDurationMinutes", "out_of_range", "must be between 1 and 1440");
        return None;
    }
    Some(Duration::from_secs(m.unsigned_abs() * 60))
}

/// How many exports may run at once (each holds a database connection of its own), shared
/// by REST and gRPC.
#[derive(Clone, Debug)]
pub struct ExportSlots(pub Arc<Semaphore>);

impl ExportSlots {
    /// Room for `n` exports at once.
    pub fn new(n: usize) -> Self {
        ExportSlots(Arc::new(Semaphore::new(n)))
    }
}
