//! `registry.v1.AssociationService`: associations and their registration, over the core.

use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::model::{Decision, MemberStatistics, NewRepresentative};
use registry_core::service::{AssociationFilter, PageRequest, RegistrationAnswer};
use registry_core::validate::Violations;
use tonic::{Request, Response, Status};

use super::convert::{self, parse_id};
use super::{RegistryGrpc, Result, expected, non_empty, principal, required_version};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::association_service_server::AssociationService;

#[tonic::async_trait]
impl AssociationService for RegistryGrpc {
    async fn get_association(&self, req: Request<pb::GetAssociationRequest>) -> Result<pb::GetAssociationResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let a = self.registry.get_association(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::GetAssociationResponse { association: Some(convert::association(a)) }))
    }

    async fn get_association_by_org_number(
        &self,
        req: Request<pb::GetAssociationByOrgNumberRequest>,
    ) -> Result<pb::GetAssociationByOrgNumberResponse> {
        let p = principal(&req);
        let a = self.registry.get_association_by_org_number(&p, &req.into_inner().org_number).await.map_err(status)?;
        Ok(Response::new(pb::GetAssociationByOrgNumberResponse { association: Some(convert::association(a)) }))
    }

    async fn list_associations(&self, req: Request<pb::ListAssociationsRequest>) -> Result<pb::ListAssociationsResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let filter = AssociationFilter {
            municipality_code: non_empty(r.municipality_code),
            activity: non_empty(r.activity),
            status: convert::status_filter(r.status).map_err(status)?,
            updated_since: r.updated_since.as_ref().map(|t| convert::from_timestamp(t, "updatedSince")).transpose().map_err(status)?,
        };
        let page = self
            .registry
            .list_associations(&p, &filter, &PageRequest { page_size: r.page_size, page_token: r.page_token })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListAssociationsResponse {
            associations: page.items.into_iter().map(convert::association).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_association(&self, req: Request<pb::CreateAssociationRequest>) -> Result<pb::CreateAssociationResponse> {
        let p = principal(&req);
        let a = req.into_inner().association.ok_or_else(|| status(Error::invalid("association", "required", "must be set")))?;
        self.registry.authorize_create_association(&p, &a.municipality_code).map_err(status)?;
        if !a.id.is_empty() {
            return Err(status(Error::invalid("association.id", "not_allowed", "the registry assigns ids; leave it empty")));
        }
        let input = convert::association_input(a).map_err(status)?;
        let created = self.registry.create_association(&p, &input).await.map_err(status)?;
        Ok(Response::new(pb::CreateAssociationResponse { association: Some(convert::association(created)) }))
    }

    async fn update_association(&self, req: Request<pb::UpdateAssociationRequest>) -> Result<pb::UpdateAssociationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a = r.association.ok_or_else(|| status(Error::invalid("association", "required", "must be set")))?;
        let id = parse_id(&a.id, "association.id").map_err(status)?;
        let updated = self
            .registry
            .change_association(&p, id, |current| {
                let expected_version = required_version(r.expected_version, "expectedVersion")?;
                let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
                let merged = convert::mask_association(convert::association(current.clone()), a, &paths)?;
                let input = convert::association_input(merged)?;
                Ok::<_, Error>((expected_version, input))
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateAssociationResponse { association: Some(convert::association(updated)) }))
    }

    async fn delete_association(&self, req: Request<pb::DeleteAssociationRequest>) -> Result<pb::DeleteAssociationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        self.registry.delete_association(&p, id, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::DeleteAssociationResponse {}))
    }

    async fn approve_registration(&self, req: Request<pb::ApproveRegistrationRequest>) -> Result<pb::ApproveRegistrationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a = self.decide(&p, &r.id, &r.municipality_code, r.expected_version, Decision::Approve).await?;
        Ok(Response::new(pb::ApproveRegistrationResponse { association: Some(a) }))
    }

    async fn reject_registration(&self, req: Request<pb::RejectRegistrationRequest>) -> Result<pb::RejectRegistrationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a = self.decide(&p, &r.id, &r.municipality_code, r.expected_version, Decision::Reject { reason: r.reason }).await?;
        Ok(Response::new(pb::RejectRegistrationResponse { association: Some(a) }))
    }

    async fn request_completion(&self, req: Request<pb::RequestCompletionRequest>) -> Result<pb::RequestCompletionResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a =
            self.decide(&p, &r.id, &r.municipality_code, r.expected_version, Decision::RequestCompletion { message: r.message }).await?;
        Ok(Response::new(pb::RequestCompletionResponse { association: Some(a) }))
    }

    async fn add_registration(&self, req: Request<pb::AddRegistrationRequest>) -> Result<pb::AddRegistrationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let expected_version = expected(r.expected_version, "expectedVersion")?;
        let a = self.registry.add_registration(&p, id, &r.municipality_code, expected_version).await.map_err(status)?;
        Ok(Response::new(pb::AddRegistrationResponse { association: Some(convert::association(a)) }))
    }

    async fn resubmit_registration(&self, req: Request<pb::ResubmitRegistrationRequest>) -> Result<pb::ResubmitRegistrationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a =
            self.answer(&p, &r.id, &r.municipality_code, r.expected_version, RegistrationAnswer::Resubmit { message: r.message }).await?;
        Ok(Response::new(pb::ResubmitRegistrationResponse { association: Some(a) }))
    }

    async fn withdraw_registration(&self, req: Request<pb::WithdrawRegistrationRequest>) -> Result<pb::WithdrawRegistrationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a = self.answer(&p, &r.id, &r.municipality_code, r.expected_version, RegistrationAnswer::Withdraw).await?;
        Ok(Response::new(pb::WithdrawRegistrationResponse { association: Some(a) }))
    }

    async fn list_registrations(&self, req: Request<pb::ListRegistrationsRequest>) -> Result<pb::ListRegistrationsResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let list = self.registry.registrations(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::ListRegistrationsResponse { registrations: list.into_iter().map(convert::registration_detail).collect() }))
    }

    async fn list_registration_inbox(&self, req: Request<pb::ListRegistrationInboxRequest>) -> Result<pb::ListRegistrationInboxResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let statuses = convert::statuses(&r.statuses).map_err(status)?;
        let m = non_empty(r.municipality_code);
        let page = self
            .registry
            .registration_inbox(&p, m.as_deref(), &statuses, &PageRequest { page_size: r.page_size, page_token: r.page_token })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListRegistrationInboxResponse {
            items: page.items.into_iter().map(convert::inbox_item).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_my_associations(&self, req: Request<pb::ListMyAssociationsRequest>) -> Result<pb::ListMyAssociationsResponse> {
        let p = principal(&req);
        let list = self.registry.my_associations(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListMyAssociationsResponse { associations: list.into_iter().map(convert::association).collect() }))
    }

    async fn list_representatives(&self, req: Request<pb::ListRepresentativesRequest>) -> Result<pb::ListRepresentativesResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let list = self.registry.representatives(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::ListRepresentativesResponse { representatives: list.into_iter().map(convert::representative).collect() }))
    }

    async fn add_representative(&self, req: Request<pb::AddRepresentativeRequest>) -> Result<pb::AddRepresentativeResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let new = NewRepresentative { personal_identity_number: r.personal_identity_number, name: r.name };
        let added = self.registry.add_representative(&p, id, &new).await.map_err(status)?;
        Ok(Response::new(pb::AddRepresentativeResponse { representative: Some(convert::representative(added)) }))
    }

    async fn remove_representative(&self, req: Request<pb::RemoveRepresentativeRequest>) -> Result<pb::RemoveRepresentativeResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let rep = parse_id(&r.representative_id, "representativeId").map_err(status)?;
        self.registry.remove_representative(&p, id, rep).await.map_err(status)?;
        Ok(Response::new(pb::RemoveRepresentativeResponse {}))
    }

    async fn list_member_statistics(&self, req: Request<pb::ListMemberStatisticsRequest>) -> Result<pb::ListMemberStatisticsResponse> {
        let p = principal(&req);
        let id = parse_id(&req.into_inner().id, "id").map_err(status)?;
        let list = self.registry.member_statistics(&p, id).await.map_err(status)?;
        Ok(Response::new(pb::ListMemberStatisticsResponse { reports: list.into_iter().map(convert::member_statistics_report).collect() }))
    }

    async fn report_member_statistics(
        &self,
        req: Request<pb::ReportMemberStatisticsRequest>,
    ) -> Result<pb::ReportMemberStatisticsResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let id = parse_id(&r.id, "id").map_err(status)?;
        let s = r.statistics.ok_or_else(|| status(Error::invalid("statistics", "required", "must be set")))?;
        let mut v = Violations::default();
        let counts = convert::member_counts_in(&mut v, "statistics.counts", &s.counts);
        v.finish().map_err(status)?;
        if r.expected_version < 0 {
            return Err(status(Error::invalid("expectedVersion", "out_of_range", "must not be negative")));
        }
        let expected_version = (r.expected_version > 0).then_some(r.expected_version);
        let report = self
            .registry
            .report_member_statistics(&p, id, &MemberStatistics { year: s.year, counts }, expected_version)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ReportMemberStatisticsResponse { report: Some(convert::member_statistics_report(report)) }))
    }
}

impl RegistryGrpc {
    async fn decide(
        &self,
        p: &Principal,
        id: &str,
        municipality_code: &str,
        expected_version: i64,
        d: Decision,
    ) -> std::result::Result<pb::Association, Status> {
        let id = parse_id(id, "id").map_err(status)?;
        let m = Some(municipality_code).filter(|m| !m.is_empty());
        let a = self.registry.decide_registration(p, id, m, expected(expected_version, "expectedVersion")?, &d).await.map_err(status)?;
        Ok(convert::association(a))
    }

    async fn answer(
        &self,
        p: &Principal,
        id: &str,
        municipality_code: &str,
        expected_version: i64,
        answer: RegistrationAnswer,
    ) -> std::result::Result<pb::Association, Status> {
        let id = parse_id(id, "id").map_err(status)?;
        let expected_version = expected(expected_version, "expectedVersion")?;
        let a = self.registry.answer_registration(p, id, municipality_code, expected_version, answer).await.map_err(status)?;
        Ok(convert::association(a))
    }
}
