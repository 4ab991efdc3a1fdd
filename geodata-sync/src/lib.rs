//! geodata-sync: keeps facility coordinates and municipality boundaries in step with the
//! national geodata services. This first part holds the coordinate transforms between WGS84
//! and the SWEREF 99 projections ([`transform`]).

pub mod transform;
