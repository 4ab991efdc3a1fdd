//! What both front ends need, so that neither imports the other: decoding ids and the export
//! slots REST and gRPC share.

use std::sync::Arc;

use registry_core::Error;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Parses an id; `field` names it in the error.
pub fn parse_id(s: &str, field: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s.trim()).map_err(|_| Error::invalid(field, "format", format!("'{s}' is not a UUID")))
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
