//! vendor.v1, the open interface a booking vendor implements (docs/vendor-protocol.md):
//! the generated messages, the `BookingProvider` client and server, and the descriptor set.
//! A crate of its own because the registry's federation, the reference booking backend and
//! the API server all speak it.
#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::all)]

/// `vendor.v1`.
pub mod v1 {
    tonic::include_proto!("vendor.v1");
}

/// The encoded `FileDescriptorSet` of vendor.v1 (for server reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vendor_descriptor.bin"));

/// The protocol version this crate implements.
pub const PROTOCOL_VERSION: &str = "1.1";

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn the_descriptor_holds_the_booking_provider_service() {
        let fds = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap();
        let file = fds.file.iter().find(|f| f.package() == "vendor.v1").unwrap();
        let service = file.service.iter().find(|s| s.name() == "BookingProvider").unwrap();
        let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
        assert_eq!(
            methods,
            [
                "GetCapabilities",
                "CheckAvailability",
                "CreateBooking",
                "GetBooking",
                "CancelBooking",
                "Health",
                "ListBookings",
                "MoveBooking",
                "ListChanges",
                "CompleteRequest",
                "CreateSeries"
            ]
        );
    }
}
