//! `registry.v1.MunicipalityService`: the municipalities, over the core.

use tonic::{Request, Response};

use super::convert::{self};
use super::{RegistryGrpc, Result, non_empty, principal};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::municipality_service_server::MunicipalityService;

#[tonic::async_trait]
impl MunicipalityService for RegistryGrpc {
    async fn list_municipalities(&self, req: Request<pb::ListMunicipalitiesRequest>) -> Result<pb::ListMunicipalitiesResponse> {
        let p = principal(&req);
        let county = non_empty(req.into_inner().county_code);
        let list = self.registry.list_municipalities(&p, county.as_deref()).await.map_err(status)?;
        Ok(Response::new(pb::ListMunicipalitiesResponse { municipalities: list.into_iter().map(convert::municipality).collect() }))
    }

    async fn get_municipality(&self, req: Request<pb::GetMunicipalityRequest>) -> Result<pb::GetMunicipalityResponse> {
        let p = principal(&req);
        let m = self.registry.get_municipality(&p, &req.into_inner().code).await.map_err(status)?;
        Ok(Response::new(pb::GetMunicipalityResponse { municipality: Some(convert::municipality(m)) }))
    }
}
