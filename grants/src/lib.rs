//! Grants (föreningsbidrag): a municipality's programmes and their rules as data, associations'
//! applications and attendance lists, the case officer's handling and the decision, payment
//! orders attested by a second person and paid by an ISO 20022 `pain.001` file, and the decided
//! grants as open data (docs/grants.md).
#![forbid(unsafe_code)]

pub mod account;
pub mod attachments;
pub mod attendance;
pub mod attendance_service;
pub mod db;
pub mod demo;
pub mod model;
pub mod pain001;
pub mod payout;
pub mod rules;
pub mod service;
pub mod transparency;

pub use service::Grants;
