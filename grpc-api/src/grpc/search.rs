//! gRPC `registry.v1.SearchService`.

use registry_core::geo::LatLon;
use registry_core::model::{Accessibility, Ownership};
use registry_core::search::{FacilitySearch, SearchOrder};
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use tonic::{Request, Response, Status};

use super::convert::{self, from_timestamp};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::search_service_server::SearchService;

/// The service over the core.
#[derive(Clone)]
pub struct SearchGrpc {
    registry: Registry,
}

impl SearchGrpc {
    /// Wraps the core.
    pub fn new(registry: Registry) -> Self {
        SearchGrpc { registry }
    }
}

/// Accessibility attributes of a request, each unknown value named.
pub(crate) fn accessibility(v: &mut Violations, values: &[i32]) -> Vec<Accessibility> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match pb::Accessibility::try_from(*a) {
            Ok(pb::Accessibility::StepFreeEntrance) => Some(Accessibility::StepFreeEntrance),
            Ok(pb::Accessibility::AccessibleToilet) => Some(Accessibility::AccessibleToilet),
            Ok(pb::Accessibility::HearingLoop) => Some(Accessibility::HearingLoop),
            Ok(pb::Accessibility::AccessibleParking) => Some(Accessibility::AccessibleParking),
            Ok(pb::Accessibility::AccessibleChangingRoom) => Some(Accessibility::AccessibleChangingRoom),
            _ => {
                v.add(format!("accessibility[{i}]"), "unknown_enum_value", format!("{a} is not an attribute"));
                None
            }
        })
        .collect()
}

fn search(r: pb::SearchFacilitiesRequest) -> Result<FacilitySearch, Error> {
    let mut v = Violations::default();
    let accessibility = accessibility(&mut v, &r.accessibility);
    let ownership = r
        .ownership
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match pb::Ownership::try_from(*o) {
            Ok(pb::Ownership::Municipal) => Some(Ownership::Municipal),
            Ok(pb::Ownership::RentedByMunicipality) => Some(Ownership::RentedByMunicipality),
            Ok(pb::Ownership::Other) => Some(Ownership::Other),
            _ => {
                v.add(format!("ownership[{i}]"), "unknown_enum_value", format!("{o} is not an ownership"));
                None
            }
        })
        .collect();
    let order = match pb::SearchOrder::try_from(r.order) {
        Ok(pb::SearchOrder::Unspecified) => None,
        Ok(pb::SearchOrder::Distance) => Some(SearchOrder::Distance),
        Ok(pb::SearchOrder::Relevance) => Some(SearchOrder::Relevance),
        Ok(pb::SearchOrder::Name) => Some(SearchOrder::Name),
        Err(_) => {
            v.add("order", "unknown_enum_value", format!("{} is not a SearchOrder", r.order));
            None
        }
    };
    v.finish()?;
    let open_at = r.open_at.as_ref().map(|t| from_timestamp(t, "openAt")).transpose()?;
    let open_during = match &r.open_during {
        Some(w) => {
            let start = w.start.as_ref().ok_or_else(|| Error::invalid("openDuring.start", "required", "must be set"))?;
            let end = w.end.as_ref().ok_or_else(|| Error::invalid("openDuring.end", "required", "must be set"))?;
            Some((from_timestamp(start, "openDuring.start")?, from_timestamp(end, "openDuring.end")?))
        }
        None => None,
    };
    Ok(FacilitySearch {
        near: r.near.map(|p| LatLon { lat: p.lat, lon: p.lon }),
        radius_m: r.radius_m,
        bbox: r.bbox.map(|b| [b.min_lon, b.min_lat, b.max_lon, b.max_lat]),
        bbox_sweref: None,
        q: (!r.q.trim().is_empty()).then_some(r.q),
        activities: r.activities,
        all_activities: r.all_activities,
        categories: r.categories,
        accessibility,
        municipalities: r.municipalities,
        ids: vec![],
        counties: r.counties,
        ownership,
        min_capacity: r.min_capacity,
        bookable_only: r.bookable_only,
        open_at,
        open_during,
        order,
        page_size: r.page_size,
        page_token: r.page_token,
    })
}

#[tonic::async_trait]
impl SearchService for SearchGrpc {
    async fn search_facilities(&self, req: Request<pb::SearchFacilitiesRequest>) -> Result<Response<pb::SearchFacilitiesResponse>, Status> {
        let p = req.extensions().get::<registry_core::auth::Principal>().cloned().unwrap_or_else(registry_core::auth::Principal::anonymous);
        let s = search(req.into_inner()).map_err(status)?;
        let page = self.registry.search_facilities(&p, &s).await.map_err(status)?;
        Ok(Response::new(pb::SearchFacilitiesResponse {
            hits: page
                .hits
                .into_iter()
                .map(|h| pb::SearchHit {
                    municipality_name: h.municipality_name,
                    distance_m: h.distance_m,
                    live_availability: h.live_availability,
                    facility: Some(convert::facility(h.facility)),
                })
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn search_associations(
        &self,
        req: Request<pb::SearchAssociationsRequest>,
    ) -> Result<Response<pb::SearchAssociationsResponse>, Status> {
        let p = req.extensions().get::<registry_core::auth::Principal>().cloned().unwrap_or_else(registry_core::auth::Principal::anonymous);
        let r = req.into_inner();
        let search = registry_core::service::AssociationSearch {
            q: (!r.q.trim().is_empty()).then_some(r.q),
            org_number: (!r.org_number.trim().is_empty()).then_some(r.org_number),
            municipalities: r.municipalities,
            counties: r.counties,
            activities: r.activities,
            status: convert::status_filter(r.status).map_err(status)?,
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let page = self.registry.search_associations(&p, &search).await.map_err(status)?;
        Ok(Response::new(pb::SearchAssociationsResponse {
            associations: page.associations.into_iter().map(convert::association).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
