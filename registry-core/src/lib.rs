//! Core of the national registry of municipal culture and leisure facilities:
//! domain types, validation, authorization, use cases and storage.
//!
//! Both front ends (REST and gRPC) call [`service::Registry`]; every rule about who may
//! write what and what is valid lives here, once.
#![forbid(unsafe_code)]

pub mod auth;
pub mod calendar;
pub mod changelog;
pub mod clock;
pub mod codes;
pub mod db;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod export;
pub mod geo;
pub mod hours;
pub mod keys;
pub mod model;
pub mod orgnr;
pub mod outline;
pub mod search;
pub mod service;
pub mod validate;

pub use clock::Clock;
pub use error::{Error, FieldViolation};
pub use service::Registry;
