//! The vendor.v1 client: tonic over rustls, authenticating with an mTLS client certificate
//! or an API key (`x-api-key`), as the vendor directory says (docs/vendor-protocol.md §1).

use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use vendor_proto::v1 as pb;
use vendor_proto::v1::booking_provider_client::BookingProviderClient;

use crate::engine::{BoxFuture, VendorApi};

/// How to reach and authenticate to a vendor.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `https://host:port` (or `http://` on loopback in tests).
    pub endpoint: String,
    /// PEM of the CA that signs the vendor's server certificate (the system roots otherwise).
    pub ca_pem: Option<String>,
    /// PEM certificate chain and key of the registry's client certificate (mTLS).
    pub client_identity: Option<(String, String)>,
    /// API key sent as `x-api-key`.
    pub api_key: Option<String>,
    /// Server name to verify, when it differs from the endpoint's host.
    pub server_name: Option<String>,
}

/// Why a vendor cannot be reached as configured.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// A vendor reached over gRPC.
#[derive(Clone)]
pub struct GrpcVendor {
    client: BookingProviderClient<Channel>,
    api_key: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl GrpcVendor {
    /// A client that connects on first use (and reconnects as needed).
    pub fn connect_lazy(c: &Connection) -> Result<GrpcVendor, ConnectError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut endpoint = Endpoint::from_shared(c.endpoint.clone())
            .map_err(|e| ConnectError(format!("endpoint '{}': {e}", c.endpoint)))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        if c.endpoint.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            tls = match &c.ca_pem {
                Some(ca) => tls.ca_certificate(Certificate::from_pem(ca)),
                None => tls.with_webpki_roots(),
            };
            if let Some((cert, key)) = &c.client_identity {
                tls = tls.identity(Identity::from_pem(cert, key));
            }
            if let Some(name) = &c.server_name {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| ConnectError(format!("TLS configuration: {e}")))?;
        } else if c.client_identity.is_some() {
            return Err(ConnectError("a client certificate needs an https:// endpoint".into()));
        }
        let api_key = match &c.api_key {
            Some(k) => Some(k.parse().map_err(|_| ConnectError("the API key is not a valid metadata value".into()))?),
            None => None,
        };
        let client = BookingProviderClient::new(endpoint.connect_lazy()).max_decoding_message_size(8 * 1024 * 1024);
        Ok(GrpcVendor { client, api_key })
    }

    fn request<T>(&self, msg: T, timeout: Duration) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.set_timeout(timeout);
        if let Some(k) = &self.api_key {
            req.metadata_mut().insert("x-api-key", k.clone());
        }
        req
    }

    /// GetCapabilities.
    pub async fn capabilities(&self, timeout: Duration) -> Result<pb::Capabilities, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.get_capabilities(self.request(pb::GetCapabilitiesRequest {}, timeout)).await?.into_inner())
    }

    /// CreateBooking (a resident's booking made through the registry).
    pub async fn create_booking(
        &self,
        req: pb::CreateBookingRequest,
        timeout: Duration,
    ) -> Result<pb::CreateBookingResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.create_booking(self.request(req, timeout)).await?.into_inner())
    }

    /// GetBooking.
    pub async fn get_booking(&self, booking_id: &str, timeout: Duration) -> Result<pb::GetBookingResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.get_booking(self.request(pb::GetBookingRequest { booking_id: booking_id.into() }, timeout)).await?.into_inner())
    }

    /// CancelBooking.
    pub async fn cancel_booking(
        &self,
        booking_id: &str,
        reason: &str,
        timeout: Duration,
    ) -> Result<pb::CancelBookingResponse, tonic::Status> {
        let mut c = self.client.clone();
        let req = pb::CancelBookingRequest { booking_id: booking_id.into(), reason: reason.into() };
        Ok(c.cancel_booking(self.request(req, timeout)).await?.into_inner())
    }

    /// ListBookings (vendor.v1.1).
    pub async fn list_bookings(&self, req: pb::ListBookingsRequest, timeout: Duration) -> Result<pb::ListBookingsResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.list_bookings(self.request(req, timeout)).await?.into_inner())
    }

    /// MoveBooking (vendor.v1.1).
    pub async fn move_booking(&self, req: pb::MoveBookingRequest, timeout: Duration) -> Result<pb::MoveBookingResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.move_booking(self.request(req, timeout)).await?.into_inner())
    }

    /// ListChanges (vendor.v1.1).
    pub async fn list_changes(&self, req: pb::ListChangesRequest, timeout: Duration) -> Result<pb::ListChangesResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.list_changes(self.request(req, timeout)).await?.into_inner())
    }

    /// CompleteRequest (vendor.v1.1).
    pub async fn complete_request(
        &self,
        req: pb::CompleteRequestRequest,
        timeout: Duration,
    ) -> Result<pb::CompleteRequestResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.complete_request(self.request(req, timeout)).await?.into_inner())
    }

    /// CreateSeries (vendor.v1.1): a weekly series, answered with its report per week (a series
    /// that could not be made is an answer with `created` false, not an error).
    pub async fn create_series(&self, req: pb::CreateSeriesRequest, timeout: Duration) -> Result<pb::CreateSeriesResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.create_series(self.request(req, timeout)).await?.into_inner())
    }

    /// Health.
    pub async fn health(&self, timeout: Duration) -> Result<pb::HealthResponse, tonic::Status> {
        let mut c = self.client.clone();
        Ok(c.health(self.request(pb::HealthRequest {}, timeout)).await?.into_inner())
    }
}

impl VendorApi for GrpcVendor {
    fn check_availability(
        &self,
        req: pb::CheckAvailabilityRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CheckAvailabilityResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.check_availability(req).await?.into_inner()) })
    }

    fn create_booking(
        &self,
        req: pb::CreateBookingRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CreateBookingResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.create_booking(req).await?.into_inner()) })
    }

    fn get_booking(&self, req: pb::GetBookingRequest, timeout: Duration) -> BoxFuture<Result<pb::GetBookingResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.get_booking(req).await?.into_inner()) })
    }

    fn cancel_booking(
        &self,
        req: pb::CancelBookingRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CancelBookingResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.cancel_booking(req).await?.into_inner()) })
    }

    fn list_bookings(&self, req: pb::ListBookingsRequest, timeout: Duration) -> BoxFuture<Result<pb::ListBookingsResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.list_bookings(req).await?.into_inner()) })
    }

    fn move_booking(&self, req: pb::MoveBookingRequest, timeout: Duration) -> BoxFuture<Result<pb::MoveBookingResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.move_booking(req).await?.into_inner()) })
    }

    fn list_changes(&self, req: pb::ListChangesRequest, timeout: Duration) -> BoxFuture<Result<pb::ListChangesResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.list_changes(req).await?.into_inner()) })
    }

    fn complete_request(
        &self,
        req: pb::CompleteRequestRequest,
        timeout: Duration,
    ) -> BoxFuture<Result<pb::CompleteRequestResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.complete_request(req).await?.into_inner()) })
    }

    fn create_series(&self, req: pb::CreateSeriesRequest, timeout: Duration) -> BoxFuture<Result<pb::CreateSeriesResponse, tonic::Status>> {
        let mut c = self.client.clone();
        let req = self.request(req, timeout);
        Box::pin(async move { Ok(c.create_series(req).await?.into_inner()) })
    }
}
