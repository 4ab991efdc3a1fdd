//! Seasonal allocation of training times (säsongsfördelning): a municipality's rounds, the
//! associations' applications, the principles (fördelningsprinciper) the committee publishes,
//! and the optimiser that allocates by them and explains every decision.
#![forbid(unsafe_code)]

pub mod build;
pub mod db;
pub mod demo;
pub mod explain;
pub mod export;
pub mod generate;
pub mod model;
pub mod model_file;
pub mod series;
pub mod service;
pub mod solver;

pub use service::Allocations;
