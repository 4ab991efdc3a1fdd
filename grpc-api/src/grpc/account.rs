//! `registry.v1.AccountService`: who the caller is (REST `GET /v1/me`).

use registry_core::service::sessions::LiveSession;
use tonic::{Request, Response};

use super::convert::timestamp;
use super::{RegistryGrpc, Result, principal};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::account_service_server::AccountService;

#[tonic::async_trait]
impl AccountService for RegistryGrpc {
    async fn get_me(&self, req: Request<pb::GetMeRequest>) -> Result<pb::GetMeResponse> {
        let p = principal(&req);
        registry_core::auth::require_key(&p, "seeing who you are").map_err(status)?;
        let session = req.extensions().get::<LiveSession>().cloned();
        Ok(Response::new(pb::GetMeResponse {
            id: p.id.clone(),
            role: p.role.name().to_string(),
            name: p.person.as_ref().map(|person| person.name.clone()),
            municipality_code: p.municipality().map(str::to_string),
            session: session.map(|s| pb::SessionInfo {
                provider: s.provider,
                expires_at: Some(timestamp(s.expires_at)),
                idle_until: Some(timestamp(s.idle_until)),
                csrf_token: s.csrf_token,
            }),
        }))
    }
}
