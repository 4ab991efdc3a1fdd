//! The gRPC services of `registry.v1`, one file per resource: decode, call the core, encode.
//! No rules live here.

use registry_core::auth::Principal;
use registry_core::{Error, Registry};
use tonic::{Request, Response, Status};

use crate::errors::status;

pub mod account;
pub mod allocation;
pub mod associations;
pub mod availability;
pub mod bookings;
pub mod changes;
pub mod convert;
pub mod exports;
pub mod facilities;
pub mod grants;
pub mod hours;
pub mod municipalities;
pub mod search;
pub mod vendors;

pub(crate) type Result<T> = std::result::Result<Response<T>, Status>;

/// The caller as authenticated by the server's middleware (anonymous if none was attached).
pub(crate) fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

pub(crate) fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub(crate) fn expected(v: i64, field: &str) -> std::result::Result<Option<i64>, Status> {
    match v {
        0 => Ok(None),
        v if v < 0 => Err(status(Error::invalid(field, "out_of_range", "must be at least 1 (or 0 for none)"))),
        v => Ok(Some(v)),
    }
}

/// The version an update names, which it must (optimistic concurrency).
pub(crate) fn required_version(v: i64, field: &str) -> std::result::Result<i64, Error> {
    match v {
        0 => Err(Error::invalid(field, "required", "name the version you last read (optimistic concurrency)")),
        v if v < 0 => Err(Error::invalid(field, "out_of_range", "must be at least 1")),
        v => Ok(v),
    }
}

/// Implements all three registry.v1 services over one [`Registry`].
#[derive(Clone)]
pub struct RegistryGrpc {
    pub(crate) registry: Registry,
}

impl RegistryGrpc {
    /// Wraps the core.
    pub fn new(registry: Registry) -> Self {
        RegistryGrpc { registry }
    }
}
