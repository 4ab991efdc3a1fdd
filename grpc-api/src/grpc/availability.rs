//! gRPC `registry.v1.AvailabilityService`: the federated query as a stream (candidates, each
//! vendor's part as it answers, a summary).

use std::pin::Pin;
use std::sync::Arc;

use registry_core::geo::LatLon;
use registry_core::search::FacilitySearch;
use registry_core::validate::Violations;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::convert::from_timestamp;
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::availability_service_server::AvailabilityService;
use federation::service::Service;
use federation::service::availability::{AvailabilityQuery, FacilityTimes, UnitTimes, VendorReport};

/// The service over the federation engine.
#[derive(Clone)]
pub struct AvailabilityGrpc {
    engine: Arc<Service>,
}

impl AvailabilityGrpc {
    /// Wraps the engine.
    pub fn new(engine: Arc<Service>) -> Self {
        AvailabilityGrpc { engine }
    }
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

fn unit(u: &UnitTimes) -> pb::AvailabilityUnit {
    pb::AvailabilityUnit {
        unit_id: u.unit_id.to_string(),
        name: u.name.clone(),
        vendor_id: u.vendor_id.map(|v| v.to_string()).unwrap_or_default(),
        status: u.status.clone(),
        slots: u
            .slots
            .iter()
            .map(|s| pb::AvailabilitySlot {
                start: ts(s.start),
                end: ts(s.end),
                state: s.state.clone(),
                prices: s
                    .prices
                    .iter()
                    .map(|p| pb::AvailabilityPrice {
                        customer_type: p.customer_type.clone(),
                        amount_minor_per_hour: p.amount_minor_per_hour,
                        currency: p.currency.clone(),
                    })
                    .collect(),
                booking_url: s.booking_url.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn facility(f: &FacilityTimes) -> pb::AvailabilityFacility {
    pb::AvailabilityFacility {
        facility_id: f.facility_id.to_string(),
        name: f.name.clone(),
        municipality_code: f.municipality_code.clone(),
        municipality_name: f.municipality_name.clone(),
        distance_m: f.distance_m,
        units: f.units.iter().map(unit).collect(),
        location: f.location.map(|l| crate::proto::v1::LatLon { lat: l.lat, lon: l.lon }),
    }
}

fn report(r: &VendorReport) -> pb::AvailabilityVendorReport {
    pb::AvailabilityVendorReport {
        vendor_id: r.vendor_id.to_string(),
        name: r.name.clone(),
        status: r.status.clone(),
        message: r.message.clone(),
        elapsed_ms: r.elapsed_ms as i64,
        dropped_slots: r.dropped_slots as i32,
        problems: r.problems.clone(),
        takes_bookings: r.takes_bookings.clone(),
    }
}

type EventStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::SearchAvailabilityResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AvailabilityService for AvailabilityGrpc {
    type SearchAvailabilityStream = EventStream;

    async fn search_availability(
        &self,
        req: Request<pb::SearchAvailabilityRequest>,
    ) -> Result<Response<Self::SearchAvailabilityStream>, Status> {
        let p = req.extensions().get::<registry_core::auth::Principal>().cloned().unwrap_or_else(registry_core::auth::Principal::anonymous);
        let r = req.into_inner();
        // Decoding only: the query's rules are the use case's.
        let mut v = Violations::default();
        let from = r
            .from
            .as_ref()
            .and_then(|t| from_timestamp(t, "from").map_err(|_| v.add("from", "out_of_range", "is not a valid timestamp")).ok());
        let to =
            r.to.as_ref().and_then(|t| from_timestamp(t, "to").map_err(|_| v.add("to", "out_of_range", "is not a valid timestamp")).ok());
        let accessibility = super::search::accessibility(&mut v, &r.accessibility);
        let ids: Vec<uuid::Uuid> = r
            .facility_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                id.parse().map_err(|_| v.add(format!("facilityIds[{i}]"), "format", format!("'{id}' is not a UUID"))).ok()
            })
            .collect();
        v.finish().map_err(status)?;
        let query = AvailabilityQuery {
            search: FacilitySearch {
                near: r.near.map(|n| LatLon { lat: n.lat, lon: n.lon }),
                radius_m: r.radius_m,
                q: Some(r.q).filter(|q| !q.is_empty()),
                activities: r.activities,
                categories: r.categories,
                municipalities: r.municipalities,
                ids,
                accessibility,
                counties: r.counties,
                page_size: r.page_size,
                page_token: r.page_token,
                ..FacilitySearch::default()
            },
            from,
            to,
            min_duration_minutes: r.min_duration_minutes.map(i64::from),
            deadline_ms: r.deadline_ms.map(i64::from),
        };
        let mut run = self.engine.start(&p, &query).await.map_err(status)?;
        let (tx, rx) = mpsc::channel(16);
        let first = pb::SearchAvailabilityResponse {
            event: Some(pb::search_availability_response::Event::Candidates(pb::AvailabilityCandidates {
                facilities: run.candidates.iter().map(facility).collect(),
            })),
        };
        tokio::spawn(async move {
            if tx.send(Ok(first)).await.is_err() {
                return; // the client went away
            }
            while let Some(e) = run.next().await {
                let msg = pb::SearchAvailabilityResponse {
                    event: Some(pb::search_availability_response::Event::Vendor(pb::AvailabilityVendorResult {
                        report: Some(report(&e.report)),
                        units: e
                            .units
                            .iter()
                            .map(|(f, u)| pb::AvailabilityUnitOfFacility { facility_id: f.to_string(), unit: Some(unit(u)) })
                            .collect(),
                    })),
                };
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
            let summary = pb::SearchAvailabilityResponse {
                event: Some(pb::search_availability_response::Event::Summary(pb::AvailabilitySummary {
                    vendors: run.reports().iter().map(report).collect(),
                    next_page_token: run.next_page_token.clone(),
                })),
            };
            let _ = tx.send(Ok(summary)).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}
