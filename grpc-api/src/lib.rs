//! The registry's API server: gRPC (`registry.v1`), gRPC-Web and REST (`/v1`) on one port,
//! thin front ends over [`registry_core::Registry`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod codec;
/// The gRPC conversions, also at their former path.
pub use grpc::convert;
pub mod errors;
pub mod grpc;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod proto;
pub mod rest;
pub mod server;
pub mod shared;
pub mod web;

/// Installs ring as the process-wide rustls provider; false if one was installed already.
pub fn install_crypto_provider() -> bool {
    rustls::crypto::ring::default_provider().install_default().is_ok()
}
