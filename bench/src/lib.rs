//! Benchmark tooling for the registry: the national dataset generator ([`generate`]) over a
//! synthetic but realistic country ([`world`]), and the search load benchmark.
#![forbid(unsafe_code)]

pub mod booking;
pub mod catalogue;
pub mod export;
pub mod federation;
pub mod generate;
pub mod geodata;
pub mod load;
pub mod soak;
pub mod world;
