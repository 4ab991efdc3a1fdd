//! `registry.v1.FacilityService`: facilities and their units, over the core.

use registry_core::Error;

use registry_core::service::{FacilityFilter, PageRequest};
use tonic::{Request, Response};

use super::convert::{self, parse_id};
use super::{RegistryGrpc, Result, expected, non_empty, principal, required_version};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::facility_service_server::FacilityService;

#[tonic::async_trait]
impl FacilityService for RegistryGrpc {
    async fn get_facility(&self, req: Request<pb::GetFacilityRequest>) -> Result<pb::GetFacilityResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let f = self.registry.get_facility(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::GetFacilityResponse { facility: Some(convert::facility(f)) }))
    }

    async fn batch_get_facilities(&self, req: Request<pb::BatchGetFacilitiesRequest>) -> Result<pb::BatchGetFacilitiesResponse> {
        let p = principal(&req);
        let ids = req
            .into_inner()
            .ids
            .iter()
            .enumerate()
            .map(|(i, s)| parse_id(s, &format!("ids[{i}]")))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(status)?;
        let list = self.registry.batch_get_facilities(&p, &ids).await.map_err(status)?;
        Ok(Response::new(pb::BatchGetFacilitiesResponse { facilities: list.into_iter().map(convert::facility).collect() }))
    }

    async fn list_facilities(&self, req: Request<pb::ListFacilitiesRequest>) -> Result<pb::ListFacilitiesResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let filter = FacilityFilter {
            municipality_code: non_empty(r.municipality_code),
            category: non_empty(r.category),
            activity: non_empty(r.activity),
            updated_since: r.updated_since.as_ref().map(|t| convert::from_timestamp(t, "updatedSince")).transpose().map_err(status)?,
        };
        let page = self
            .registry
            .list_facilities(&p, &filter, &PageRequest { page_size: r.page_size, page_token: r.page_token })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListFacilitiesResponse {
            facilities: page.items.into_iter().map(convert::facility).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_facility(&self, req: Request<pb::CreateFacilityRequest>) -> Result<pb::CreateFacilityResponse> {
        let p = principal(&req);
        let f = req.into_inner().facility.ok_or_else(|| status(Error::invalid("facility", "required", "must be set")))?;
        self.registry.authorize_create_facility(&p, &f.municipality_code).map_err(status)?;
        if !f.id.is_empty() {
            return Err(status(Error::invalid("facility.id", "not_allowed", "the registry assigns ids; leave it empty")));
        }
        let input = convert::facility_input(f).map_err(status)?;
        let created = self.registry.create_facility(&p, &input).await.map_err(status)?;
        Ok(Response::new(pb::CreateFacilityResponse { facility: Some(convert::facility(created)) }))
    }

    async fn update_facility(&self, req: Request<pb::UpdateFacilityRequest>) -> Result<pb::UpdateFacilityResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let f = r.facility.ok_or_else(|| status(Error::invalid("facility", "required", "must be set")))?;
        let id = parse_id(&f.id, "facility.id").map_err(status)?;
        let updated = self
            .registry
            .change_facility(&p, id, |current| {
                let expected_version = required_version(r.expected_version, "expectedVersion")?;
                let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
                let merged = convert::mask_facility(convert::facility(current.clone()), f, &paths)?;
                let input = convert::facility_input(merged)?;
                Ok::<_, Error>((expected_version, input))
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateFacilityResponse { facility: Some(convert::facility(updated)) }))
    }

    async fn delete_facility(&self, req: Request<pb::DeleteFacilityRequest>) -> Result<pb::DeleteFacilityResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        self.registry.delete_facility(&p, id, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::DeleteFacilityResponse {}))
    }
}
