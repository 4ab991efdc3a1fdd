//! The registry's API server: gRPC (`registry.v1`), gRPC-Web and REST (`/v1`) on one port,
//! thin front ends over [`registry_core::Registry`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod convert;
pub mod errors;
pub mod grpc;
pub mod grpc_availability;
pub mod grpc_bookings;
pub mod grpc_changes;
pub mod grpc_hours;
pub mod grpc_search;
pub mod grpc_vendors;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod proto;
pub mod rest;
pub mod rest_bookings;
pub mod rest_changes;
pub mod rest_exports;
pub mod rest_hours;
pub mod rest_search;
pub mod rest_vendors;
pub mod server;
pub mod web;

/// Installs ring as the process-wide rustls provider; false if one was installed already.
pub fn install_crypto_provider() -> bool {
    rustls::crypto::ring::default_provider().install_default().is_ok()
}
