//! The reference booking backend: a booking vendor that implements vendor.v1 with real
//! booking rules, for municipalities without a modern booking system, and as the protocol's
//! reference implementation (docs/reference-booking.md).
//!
//! It has its own database (units with their booking rules, the opening hours it read from the
//! registry, bookings and blocks); no table is shared with the registry. Bookable time is the
//! unit's opening hours, evaluated with the registry's hours engine, less what is booked or
//! blocked. PostgreSQL's exclusion constraint rules out a double booking.
#![forbid(unsafe_code)]

pub mod availability;
pub mod db;
pub mod demo;
pub mod error;
pub mod grpc;
pub mod hours;
pub mod keys;
pub mod model;
pub mod rest;
pub mod series;
pub mod server;
pub mod service;
pub mod webhooks;

pub use error::{BookingError, Result};
pub use service::Backend;
