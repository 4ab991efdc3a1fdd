//! Seasonal allocation of training times (säsongsfördelning): a municipality's rounds, the
//! associations' applications, the principles (fördelningsprinciper) the committee publishes,
//! and the optimiser that allocates by them and explains every decision; match times later in
//! the season; the final allocation booked at the vendors, around what they have booked.
#![forbid(unsafe_code)]

pub mod build;
pub mod db;
pub mod demo;
pub mod explain;
pub mod export;
pub mod generate;
pub mod match_service;
pub mod matches;
pub mod model;
pub mod model_file;
pub mod series;
pub mod service;
pub mod solver;
pub mod vendor;

pub use service::Allocations;
