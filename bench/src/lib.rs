//! Benchmark tooling for the registry: the national dataset generator ([`generate`]) over a
//! synthetic but realistic country ([`world`]), and the search load benchmark.

pub mod generate;
pub mod world;
