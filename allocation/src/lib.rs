//! Seasonal allocation of training times (säsongsfördelning): a municipality's rounds, the
//! associations' applications, the principles (fördelningsprinciper) the committee publishes,
//! and the optimiser that allocates by them and explains every decision.
#![forbid(unsafe_code)]

pub mod explain;
pub mod generate;
pub mod model_file;
pub mod solver;
