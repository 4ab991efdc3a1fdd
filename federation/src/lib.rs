//! Federation: everything between the registry and the vendors, one availability query across
//! every municipality's booking vendor first of all.
//!
//! - [`engine`]: the fan-out with per-vendor deadline, concurrency and rate limits, circuit
//!   breaker ([`breaker`]), hedged second request and coalescing cache ([`cache`]); every
//!   vendor's answer labelled with what happened.
//! - [`validate`]: vendor answers are checked before anyone sees them.
//! - [`grpc`]: the vendor.v1 client over rustls (mTLS or API key).
//! - [`conformance`]: the vendor.v1 conformance suite.
//! - [`openactive`]: vendors that publish an OpenActive RPDE feed of slots instead.
//! - [`service`]: the use cases over the core that reach the vendors (availability, bookings,
//!   certification), with the vendors' clients built once.
//! - `fault` (feature `fault-vendor`): a vendor.v1 server that misbehaves on demand.
#![forbid(unsafe_code)]

pub mod breaker;
pub mod cache;
pub mod conformance;
pub mod engine;
#[cfg(feature = "fault-vendor")]
pub mod fault;
pub mod grpc;
pub mod openactive;
pub mod service;
pub mod validate;

pub use engine::{CallError, Federation, Operation, Policy, Status, VendorAnswer, VendorApi};
pub use vendor_proto::v1 as pb;
