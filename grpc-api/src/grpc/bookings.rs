//! gRPC `registry.v1.BookingService`: booking through the registry, the same core as REST
//! `POST /v1/bookings`.

use std::sync::Arc;

use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::service::bookings::{BookingInput, BookingMode, CustomerInput, CustomerType};
use registry_core::validate::Violations;
use tonic::{Request, Response, Status};

use super::convert::from_timestamp;
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::booking_service_server::BookingService;
use federation::service::Service;
use federation::service::bookings::BookingOut;
use federation::service::my_bookings::MoveInput;

/// The service over the federation engine.
#[derive(Clone)]
pub struct BookingGrpc {
    engine: Arc<Service>,
    registry: registry_core::Registry,
}

impl BookingGrpc {
    /// Wraps the engine.
    pub fn new(engine: Arc<Service>, registry: registry_core::Registry) -> Self {
        BookingGrpc { engine, registry }
    }
}

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

fn uuid_field(field: &str, s: &str) -> Result<uuid::Uuid, Error> {
    s.parse().map_err(|_| Error::invalid(field, if s.is_empty() { "required" } else { "format" }, "must be a UUID"))
}

fn optional_uuid(v: &mut Violations, field: &str, s: &str) -> Option<uuid::Uuid> {
    if s.is_empty() {
        return None;
    }
    s.parse().map_err(|_| v.add(field, "format", "must be a UUID")).ok()
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

fn input(r: pb::CreateBookingRequest) -> Result<BookingInput, Error> {
    let mut v = Violations::default();
    let id = |v: &mut Violations, field: &str, s: &str| {
        s.parse::<uuid::Uuid>().map_err(|_| v.add(field, if s.is_empty() { "required" } else { "format" }, "must be a UUID")).ok()
    };
    let facility_id = id(&mut v, "facilityId", &r.facility_id);
    let unit_id = id(&mut v, "unitId", &r.unit_id);
    let time = |v: &mut Violations, field: &str, t: &Option<prost_types::Timestamp>| match t {
        None => {
            v.add(field, "required", "must be set");
            None
        }
        Some(t) => from_timestamp(t, field).map_err(|_| v.add(field, "out_of_range", "is not a valid timestamp")).ok(),
    };
    let start = time(&mut v, "start", &r.start);
    let end = time(&mut v, "end", &r.end);
    let mode = match pb::BookingMode::try_from(r.mode) {
        Ok(pb::BookingMode::Direct) => Some(BookingMode::Direct),
        Ok(pb::BookingMode::Request) => Some(BookingMode::Request),
        _ => {
            v.add("mode", "required", "BOOKING_MODE_DIRECT or BOOKING_MODE_REQUEST");
            None
        }
    };
    let association_id = optional_uuid(&mut v, "associationId", &r.association_id);
    let c = r.customer.unwrap_or_default();
    let customer_type = match pb::BookingCustomerType::try_from(c.r#type) {
        Ok(pb::BookingCustomerType::PrivatePerson) => Some(CustomerType::PrivatePerson),
        Ok(pb::BookingCustomerType::Association) => Some(CustomerType::Association),
        Ok(pb::BookingCustomerType::Company) => Some(CustomerType::Company),
        _ => {
            v.add("customer.type", "required", "a private person, an association or a company");
            None
        }
    };
    v.finish()?;
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let (Some(facility_id), Some(unit_id), Some(start), Some(end), Some(mode), Some(customer_type)) =
        (facility_id, unit_id, start, end, mode, customer_type)
    else {
        return Err(Error::Internal("checked above".into()));
    };
    Ok(BookingInput {
        facility_id,
        unit_id,
        start,
        end,
        mode,
        customer: CustomerInput { customer_type, name: c.name, email: c.email, phone: some(c.phone), org_number: some(c.org_number) },
        activity: some(r.activity),
        participants: r.participants,
        message: some(r.message),
        association_id,
    })
}

fn booking(b: BookingOut) -> pb::RegistryBooking {
    pb::RegistryBooking {
        id: b.id.map(|i| i.to_string()).unwrap_or_default(),
        association_id: b.association_id.map(|i| i.to_string()).unwrap_or_default(),
        association_name: b.association_name.unwrap_or_default(),
        history: b
            .history
            .into_iter()
            .map(|h| pb::BookingHistoryStep {
                status: h.status,
                at: ts(h.at),
                message: h.message.unwrap_or_default(),
                actor: h.actor,
                note: h.note.unwrap_or_default(),
            })
            .collect(),
        stale: b.stale,
        reminders: b.reminders,
        booking_id: b.booking_id,
        vendor_id: b.vendor_id.to_string(),
        vendor_name: b.vendor_name,
        facility_id: b.facility_id.to_string(),
        facility_name: b.facility_name,
        unit_id: b.unit_id.to_string(),
        unit_name: b.unit_name,
        start: ts(b.start),
        end: ts(b.end),
        status: b.status,
        status_message: b.status_message.unwrap_or_default(),
        amount_minor: b.amount_minor,
        currency: b.currency.unwrap_or_default(),
        access_code: b.access_code.unwrap_or_default(),
        booking_url: b.booking_url.unwrap_or_default(),
    }
}

/// The core names the key as REST sends it (a header); gRPC sends it as a field.
fn key_field(e: Error) -> Error {
    let rename = |f: String| if f == "Idempotency-Key" { "idempotencyKey".to_string() } else { f };
    match e {
        Error::Invalid(v) => Error::Invalid(v.into_iter().map(|v| registry_core::FieldViolation { field: rename(v.field), ..v }).collect()),
        Error::Conflict { field, rule, message } => Error::Conflict { field: field.map(rename), rule, message },
        e => e,
    }
}

#[tonic::async_trait]
impl BookingService for BookingGrpc {
    async fn create_booking(&self, req: Request<pb::CreateBookingRequest>) -> Result<Response<pb::CreateBookingResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let key = Some(r.idempotency_key.clone()).filter(|k| !k.is_empty());
        let i = input(r).map_err(status)?;
        let b = self.engine.book(&p, i, key.as_deref()).await.map_err(|e| status(key_field(e)))?;
        Ok(Response::new(pb::CreateBookingResponse { booking: Some(booking(b)) }))
    }

    async fn list_my_bookings(&self, req: Request<pb::ListMyBookingsRequest>) -> Result<Response<pb::ListMyBookingsResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let mut v = Violations::default();
        let mut time = |field: &str, t: &Option<prost_types::Timestamp>| {
            t.as_ref().and_then(|t| from_timestamp(t, field).map_err(|_| v.add(field, "out_of_range", "is not a valid timestamp")).ok())
        };
        let (from, to) = (time("from", &r.from), time("to", &r.to));
        v.finish().map_err(status)?;
        let mine = self.engine.my_bookings(&p, from, to).await.map_err(status)?;
        Ok(Response::new(pb::ListMyBookingsResponse {
            from: ts(mine.from),
            to: ts(mine.to),
            bookings: mine.bookings.into_iter().map(booking).collect(),
            vendors: mine
                .vendors
                .into_iter()
                .map(|l| pb::VendorListing {
                    vendor_id: l.vendor_id.to_string(),
                    vendor_name: l.vendor_name,
                    status: l.status,
                    message: l.message.unwrap_or_default(),
                    elapsed_ms: l.elapsed_ms as i64,
                })
                .collect(),
        }))
    }

    async fn get_booking(&self, req: Request<pb::GetRegistryBookingRequest>) -> Result<Response<pb::GetRegistryBookingResponse>, Status> {
        let p = principal(&req);
        let id = uuid_field("id", &req.get_ref().id).map_err(status)?;
        let b = self.engine.my_booking(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::GetRegistryBookingResponse { booking: Some(booking(b)) }))
    }

    async fn cancel_booking(
        &self,
        req: Request<pb::CancelRegistryBookingRequest>,
    ) -> Result<Response<pb::GetRegistryBookingResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = uuid_field("id", &r.id).map_err(status)?;
        let reason = Some(r.reason.as_str()).filter(|s| !s.is_empty());
        let b = self.engine.cancel_my_booking(&p, id, reason).await.map_err(status)?;
        Ok(Response::new(pb::GetRegistryBookingResponse { booking: Some(booking(b)) }))
    }

    async fn move_booking(&self, req: Request<pb::MoveRegistryBookingRequest>) -> Result<Response<pb::GetRegistryBookingResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let mut v = Violations::default();
        let id = r.id.parse::<uuid::Uuid>().map_err(|_| v.add("id", "format", "must be a UUID")).ok();
        let mut time = |field: &str, t: &Option<prost_types::Timestamp>| match t {
            None => {
                v.add(field, "required", "must be set");
                None
            }
            Some(t) => from_timestamp(t, field).map_err(|_| v.add(field, "out_of_range", "is not a valid timestamp")).ok(),
        };
        let (start, end) = (time("start", &r.start), time("end", &r.end));
        let unit_id = optional_uuid(&mut v, "unitId", &r.unit_id);
        let facility_id = optional_uuid(&mut v, "facilityId", &r.facility_id);
        v.finish().map_err(status)?;
        let (Some(id), Some(start), Some(end)) = (id, start, end) else { return Err(status(Error::Internal("checked above".into()))) };
        let key = Some(r.idempotency_key.as_str()).filter(|k| !k.is_empty());
        let to = MoveInput { start, end, unit_id, facility_id };
        let b = self.engine.move_my_booking(&p, id, to, key).await.map_err(|e| status(key_field(e)))?;
        Ok(Response::new(pb::GetRegistryBookingResponse { booking: Some(booking(b)) }))
    }

    async fn complete_request(
        &self,
        req: Request<pb::CompleteRegistryRequestRequest>,
    ) -> Result<Response<pb::GetRegistryBookingResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = uuid_field("id", &r.id).map_err(status)?;
        let b = self.engine.complete_my_request(&p, id, &r.message).await.map_err(status)?;
        Ok(Response::new(pb::GetRegistryBookingResponse { booking: Some(booking(b)) }))
    }

    async fn set_booking_reminders(
        &self,
        req: Request<pb::SetBookingRemindersRequest>,
    ) -> Result<Response<pb::SetBookingRemindersResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = uuid_field("id", &r.id).map_err(status)?;
        self.registry.set_booking_reminders(&p, id, r.enabled).await.map_err(status)?;
        Ok(Response::new(pb::SetBookingRemindersResponse {}))
    }
}
