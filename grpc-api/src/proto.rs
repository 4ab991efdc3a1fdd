//! Generated protobuf types and services of `registry.v1`, and the descriptor set for reflection.
#![allow(missing_docs, clippy::all)]

/// `registry.v1`.
pub mod v1 {
    tonic::include_proto!("registry.v1");
}

/// The encoded `FileDescriptorSet` of all registry protos (for server reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/registry_descriptor.bin"));
