//! Core of the national registry of municipal culture and leisure facilities:
//! domain types, validation, authorization, use cases and storage.
//!
//! Both front ends (REST and gRPC) call [`service::Registry`]; every rule about who may
//! write what and what is valid lives here, once.
#![forbid(unsafe_code)]

pub mod auth;
pub mod calendar;
pub mod clock;
pub mod codes;
pub mod db;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod export;
pub mod geo;
pub mod hours;
pub mod ical;
pub mod model;
pub mod notify;
pub mod orgnr;
pub mod outline;
pub mod person;
pub mod service;
pub mod validate;

/// The change log's storage, under the name every write uses (`changelog::append`).
pub use db::changes as changelog;

/// API keys, under the name the binaries use (`keys::create`).
pub use service::keys;
/// Facility search, under the name the front ends use.
pub use service::search;

pub use clock::Clock;
pub use error::{Error, FieldViolation};
pub use service::Registry;
