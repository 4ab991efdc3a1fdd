//! geodata-sync: keeps facility coordinates and municipality boundaries in step with the
//! national geodata services. So far: the `transform` filter over the coordinate transforms
//! between WGS84, SWEREF 99 and RT 90, which live in `registry_core::geo::transform` (shared
//! with search's SWEREF 99 TM input) and are re-exported here.

pub use registry_core::geo::transform;
