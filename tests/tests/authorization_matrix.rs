//! The authorization matrix through both front ends (issue 24, item 3): every role × every
//! operation that REST and gRPC both offer, on data of municipality 0180 (own for the 0180
//! editor, other for the 1480 editor). Each cell is called through REST and through gRPC with
//! the same caller on fresh resources; both answers are reduced to an outcome class, must agree
//! with each other, and the whole table must equal the hand-written one below, which follows
//! `registry_core::auth`.
//!
//! Not covered here (not offered by both front ends in a comparable form): the audit trail and
//! facility history (REST only: `/v1/audit`, `/v1/facilities/{id}/history`), the change feeds
//! (REST pages `/v1/feeds/{kind}` vs the gRPC stream `WatchChanges`), and the vendor directory's
//! create/update (both sides have it, but a successful create needs a passing conformance run
//! against a live vendor endpoint, so it is left to tests/tests/vendors.rs).

use std::fmt;

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::export_service_client::ExportServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::opening_hours_service_client::OpeningHoursServiceClient;
use registry_core::auth::Principal;
use registry_core::model::{Association, Decision, Facility};
use reqwest::Method;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;

/// An answer reduced to what authorization decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum O {
    /// 2xx / OK.
    Ok,
    /// 401 / UNAUTHENTICATED.
    Unauth,
    /// 403 / PERMISSION_DENIED.
    Forbidden,
    /// 404 / NOT_FOUND.
    NotFound,
    /// Anything else (a validation or precondition failure means the test's request is wrong).
    Other,
}

use O::{Forbidden as F, NotFound as N, Ok as Y, Unauth as U};

impl fmt::Display for O {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            O::Ok => "ok",
            O::Unauth => "401",
            O::Forbidden => "403",
            O::NotFound => "404",
            O::Other => "other",
        })
    }
}

/// One side's answer: its class and what was actually returned (for the failure table).
#[derive(Debug, Clone)]
struct Answer {
    class: O,
    raw: String,
}

fn rest_answer(status: reqwest::StatusCode) -> Answer {
    let class = match status.as_u16() {
        200..=299 => O::Ok,
        401 => O::Unauth,
        403 => O::Forbidden,
        404 => O::NotFound,
        _ => O::Other,
    };
    Answer { class, raw: status.as_u16().to_string() }
}

fn grpc_answer<T>(r: Result<T, tonic::Status>) -> Answer {
    match r {
        Ok(_) => Answer { class: O::Ok, raw: "OK".into() },
        Err(s) => {
            let class = match s.code() {
                Code::Unauthenticated => O::Unauth,
                Code::PermissionDenied => O::Forbidden,
                Code::NotFound => O::NotFound,
                _ => O::Other,
            };
            Answer { class, raw: format!("{:?}: {}", s.code(), s.message()) }
        }
    }
}

/// Role names, in the column order of the expected table.
const ROLES: [&str; 6] = ["anonymous", "editor 0180 (own)", "editor 1480 (other)", "vendor", "national body", "admin"];

/// Writes on 0180's data: only its own editor and the admin; anonymous callers are asked to log in.
const WRITE: [O; 6] = [U, Y, F, F, F, Y];
/// Public reads: everyone, with or without a key.
const READ: [O; 6] = [Y, Y, Y, Y, Y, Y];
/// A pending registration of 0180: those who may not see it get "not found"; the national body
/// sees it (ReadUnapproved) but may not decide it.
const SEE_PENDING: [O; 6] = [N, Y, N, N, Y, Y];
const DECIDE: [O; 6] = [N, Y, N, N, F, Y];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ListFacilities,
    GetFacility,
    CreateFacility,
    UpdateFacility,
    DeleteFacility,
    ListAssociations,
    GetApprovedAssociation,
    GetPendingAssociation,
    CreateAssociation,
    UpdateAssociation,
    DeleteAssociation,
    ApproveRegistration,
    RejectRegistration,
    RequestCompletion,
    PutOpeningHours,
    GetOpeningHours,
    ExportApprovedAssociations,
    ExportPendingAssociations,
}

/// The expected table: one row per operation, one column per role (order of [`ROLES`]).
/// A cell where the two front ends disagree would be listed in [`DIFFERS`] instead.
fn expected() -> Vec<(Op, [O; 6])> {
    vec![
        (Op::ListFacilities, READ),
        (Op::GetFacility, READ),
        (Op::CreateFacility, WRITE),
        (Op::UpdateFacility, WRITE),
        (Op::DeleteFacility, WRITE),
        (Op::ListAssociations, READ),
        (Op::GetApprovedAssociation, READ),
        (Op::GetPendingAssociation, SEE_PENDING),
        (Op::CreateAssociation, WRITE),
        (Op::UpdateAssociation, WRITE),
        (Op::DeleteAssociation, WRITE),
        (Op::ApproveRegistration, DECIDE),
        (Op::RejectRegistration, DECIDE),
        (Op::RequestCompletion, DECIDE),
        (Op::PutOpeningHours, WRITE),
        (Op::GetOpeningHours, READ),
        (Op::ExportApprovedAssociations, READ),
        // registrationStatus=pending for 0180 needs ReadUnapproved(0180) for every municipality
        // in the export: the 0180 editor, the national body and the admin.
        (Op::ExportPendingAssociations, [U, Y, F, F, Y, Y]),
    ]
}

/// Cells where REST and gRPC are known to disagree: (operation, role index, REST, gRPC). The
/// test asserts exactly these observed values for such a cell. Empty: none found.
const DIFFERS: &[(Op, usize, O, O)] = &[];

#[derive(Clone, Copy)]
enum Side {
    Rest,
    Grpc,
}

struct Ctx<'a> {
    app: &'a TestApp,
    channel: tonic::transport::Channel,
    admin: Principal,
    /// Distinct numbers for association organisation numbers.
    next: std::cell::Cell<u32>,
}

impl Ctx<'_> {
    fn n(&self) -> u32 {
        let n = self.next.get();
        self.next.set(n + 1);
        n
    }

    async fn facility(&self) -> Facility {
        let name = format!("Matrix hall {}", self.n());
        self.app.registry.create_facility(&self.admin, &fixtures::facility("0180", &name)).await.unwrap()
    }

    async fn pending(&self) -> Association {
        self.app.registry.create_association(&self.admin, &fixtures::association("0180", self.n())).await.unwrap()
    }

    async fn approved(&self) -> Association {
        let a = self.pending().await;
        self.app.registry.decide_registration(&self.admin, a.id, None, &Decision::Approve).await.unwrap()
    }

    async fn rest(&self, method: Method, path: &str, key: &str, body: Option<Value>, if_match: Option<i64>) -> Answer {
        let mut req = self.app.http().request(method, self.app.url(path));
        if !key.is_empty() {
            req = req.header("x-api-key", key);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        let res = req.send().await.unwrap();
        let answer = rest_answer(res.status());
        // Drain the body (streamed exports report errors before the first byte, but read it all).
        let _ = res.bytes().await;
        answer
    }

    async fn run(&self, op: Op, side: Side, key: &str) -> Answer {
        let fac = || FacilityServiceClient::new(self.channel.clone());
        let assoc = || AssociationServiceClient::new(self.channel.clone());
        match (op, side) {
            (Op::ListFacilities, Side::Rest) => self.rest(Method::GET, "/v1/facilities?municipalityCode=0180", key, None, None).await,
            (Op::ListFacilities, Side::Grpc) => grpc_answer(
                fac()
                    .list_facilities(with_key(pb::ListFacilitiesRequest { municipality_code: "0180".into(), ..Default::default() }, key))
                    .await,
            ),
            (Op::GetFacility, side) => {
                let f = self.facility().await;
                match side {
                    Side::Rest => self.rest(Method::GET, &format!("/v1/facilities/{}", f.id), key, None, None).await,
                    Side::Grpc => grpc_answer(fac().get_facility(with_key(pb::GetFacilityRequest { id: f.id.to_string() }, key)).await),
                }
            }
            (Op::CreateFacility, side) => {
                let name = format!("Matrix new hall {}", self.n());
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(fixtures::facility("0180", &name)).unwrap();
                        self.rest(Method::POST, "/v1/facilities", key, Some(body), None).await
                    }
                    Side::Grpc => grpc_answer(
                        fac()
                            .create_facility(with_key(
                                pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("0180", &name)) },
                                key,
                            ))
                            .await,
                    ),
                }
            }
            (Op::UpdateFacility, side) => {
                let f = self.facility().await;
                match side {
                    Side::Rest => {
                        let path = format!("/v1/facilities/{}", f.id);
                        self.rest(Method::PATCH, &path, key, Some(json!({"name": "Renamed"})), Some(f.version)).await
                    }
                    Side::Grpc => {
                        // The whole (valid) facility, although only the name is in the mask: the
                        // gRPC layer converts the message before the mask applies.
                        let change =
                            pb::Facility { id: f.id.to_string(), name: "Renamed".into(), ..fixtures::facility_pb("0180", &f.name) };
                        let req = pb::UpdateFacilityRequest {
                            facility: Some(change),
                            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                            expected_version: f.version,
                        };
                        grpc_answer(fac().update_facility(with_key(req, key)).await)
                    }
                }
            }
            (Op::DeleteFacility, side) => {
                let f = self.facility().await;
                match side {
                    Side::Rest => self.rest(Method::DELETE, &format!("/v1/facilities/{}", f.id), key, None, Some(f.version)).await,
                    Side::Grpc => {
                        let req = pb::DeleteFacilityRequest { id: f.id.to_string(), expected_version: f.version };
                        grpc_answer(fac().delete_facility(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListAssociations, Side::Rest) => self.rest(Method::GET, "/v1/associations?municipalityCode=0180", key, None, None).await,
            (Op::ListAssociations, Side::Grpc) => grpc_answer(
                assoc()
                    .list_associations(with_key(
                        pb::ListAssociationsRequest { municipality_code: "0180".into(), ..Default::default() },
                        key,
                    ))
                    .await,
            ),
            (Op::GetApprovedAssociation | Op::GetPendingAssociation, side) => {
                let a = if op == Op::GetApprovedAssociation { self.approved().await } else { self.pending().await };
                match side {
                    Side::Rest => self.rest(Method::GET, &format!("/v1/associations/{}", a.id), key, None, None).await,
                    Side::Grpc => {
                        grpc_answer(assoc().get_association(with_key(pb::GetAssociationRequest { id: a.id.to_string() }, key)).await)
                    }
                }
            }
            (Op::CreateAssociation, side) => {
                let n = self.n();
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(fixtures::association("0180", n)).unwrap();
                        self.rest(Method::POST, "/v1/associations", key, Some(body), None).await
                    }
                    Side::Grpc => grpc_answer(
                        assoc()
                            .create_association(with_key(
                                pb::CreateAssociationRequest { association: Some(fixtures::association_pb("0180", n)) },
                                key,
                            ))
                            .await,
                    ),
                }
            }
            (Op::UpdateAssociation, side) => {
                let a = self.approved().await;
                match side {
                    Side::Rest => {
                        let path = format!("/v1/associations/{}", a.id);
                        self.rest(Method::PATCH, &path, key, Some(json!({"name": "Renamed"})), Some(a.version)).await
                    }
                    Side::Grpc => {
                        let change = pb::Association { id: a.id.to_string(), name: "Renamed".into(), ..Default::default() };
                        let req = pb::UpdateAssociationRequest {
                            association: Some(change),
                            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                            expected_version: a.version,
                        };
                        grpc_answer(assoc().update_association(with_key(req, key)).await)
                    }
                }
            }
            (Op::DeleteAssociation, side) => {
                let a = self.approved().await;
                match side {
                    Side::Rest => self.rest(Method::DELETE, &format!("/v1/associations/{}", a.id), key, None, Some(a.version)).await,
                    Side::Grpc => {
                        let req = pb::DeleteAssociationRequest { id: a.id.to_string(), expected_version: a.version };
                        grpc_answer(assoc().delete_association(with_key(req, key)).await)
                    }
                }
            }
            (Op::ApproveRegistration | Op::RejectRegistration | Op::RequestCompletion, side) => {
                let a = self.pending().await;
                let (id, v) = (a.id.to_string(), a.version);
                match (op, side) {
                    (Op::ApproveRegistration, Side::Rest) => {
                        self.rest(Method::POST, &format!("/v1/associations/{id}/approve"), key, None, Some(v)).await
                    }
                    (Op::RejectRegistration, Side::Rest) => {
                        let body = json!({"reason": "Not a non-profit association"});
                        self.rest(Method::POST, &format!("/v1/associations/{id}/reject"), key, Some(body), Some(v)).await
                    }
                    (_, Side::Rest) => {
                        let body = json!({"message": "Please add the statutes"});
                        self.rest(Method::POST, &format!("/v1/associations/{id}/request-completion"), key, Some(body), Some(v)).await
                    }
                    (Op::ApproveRegistration, Side::Grpc) => grpc_answer(
                        assoc().approve_registration(with_key(pb::ApproveRegistrationRequest { id, expected_version: v }, key)).await,
                    ),
                    (Op::RejectRegistration, Side::Grpc) => grpc_answer(
                        assoc()
                            .reject_registration(with_key(
                                pb::RejectRegistrationRequest { id, reason: "Not a non-profit association".into(), expected_version: v },
                                key,
                            ))
                            .await,
                    ),
                    (_, Side::Grpc) => grpc_answer(
                        assoc()
                            .request_completion(with_key(
                                pb::RequestCompletionRequest { id, message: "Please add the statutes".into(), expected_version: v },
                                key,
                            ))
                            .await,
                    ),
                }
            }
            (Op::PutOpeningHours, side) => {
                let f = self.facility().await;
                let osm = "Mo-Fr 08:00-17:00; PH off";
                match side {
                    Side::Rest => {
                        let mut req = self
                            .app
                            .http()
                            .put(self.app.url(&format!("/v1/facilities/{}/opening-hours", f.id)))
                            .header("content-type", "text/plain")
                            .body(osm);
                        if !key.is_empty() {
                            req = req.header("x-api-key", key);
                        }
                        rest_answer(req.send().await.unwrap().status())
                    }
                    Side::Grpc => {
                        let req = pb::SetOpeningHoursRequest {
                            facility_id: f.id.to_string(),
                            unit_id: String::new(),
                            schedule: Some(pb::set_opening_hours_request::Schedule::Osm(osm.into())),
                            expected_version: 0,
                        };
                        grpc_answer(OpeningHoursServiceClient::new(self.channel.clone()).set_opening_hours(with_key(req, key)).await)
                    }
                }
            }
            (Op::GetOpeningHours, side) => {
                let f = self.facility().await;
                match side {
                    Side::Rest => self.rest(Method::GET, &format!("/v1/facilities/{}/opening-hours", f.id), key, None, None).await,
                    Side::Grpc => {
                        let req = pb::GetOpeningHoursRequest { facility_id: f.id.to_string(), unit_id: String::new() };
                        grpc_answer(OpeningHoursServiceClient::new(self.channel.clone()).get_opening_hours(with_key(req, key)).await)
                    }
                }
            }
            (Op::ExportApprovedAssociations | Op::ExportPendingAssociations, side) => {
                let pending = op == Op::ExportPendingAssociations;
                match side {
                    Side::Rest => {
                        let path = if pending {
                            "/v1/exports/associations?municipalities=0180&registrationStatus=pending"
                        } else {
                            "/v1/exports/associations?municipalities=0180"
                        };
                        self.rest(Method::GET, path, key, None, None).await
                    }
                    Side::Grpc => {
                        let req = pb::ExportRequest {
                            municipalities: vec!["0180".into()],
                            registration_statuses: if pending { vec!["pending".into()] } else { vec![] },
                            ..Default::default()
                        };
                        let mut client = ExportServiceClient::new(self.channel.clone());
                        let r = match client.export_associations(with_key(req, key)).await {
                            Ok(stream) => {
                                // An error may also come as the stream's status: read it to the end.
                                let mut stream = stream.into_inner();
                                loop {
                                    match stream.message().await {
                                        Ok(Some(_)) => continue,
                                        Ok(None) => break Ok(()),
                                        Err(s) => break Err(s),
                                    }
                                }
                            }
                            Err(s) => Err(s),
                        };
                        grpc_answer(r)
                    }
                }
            }
        }
    }
}

/// What each side must answer for one cell: the expected class on both, or the recorded
/// per-side values of a cell in [`DIFFERS`].
fn wanted(op: Op, role: usize, table: &[(Op, [O; 6])]) -> (O, O) {
    if let Some(&(_, _, rest, grpc)) = DIFFERS.iter().find(|(o, r, _, _)| *o == op && *r == role) {
        return (rest, grpc);
    }
    let row = table.iter().find(|(o, _)| *o == op).expect("every operation has a row").1;
    (row[role], row[role])
}

#[tokio::test]
async fn rest_and_grpc_give_the_same_answer_for_every_role_and_operation() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let role_keys: [&str; 6] = ["", &keys.editor_0180, &keys.editor_1480, &keys.vendor, &keys.national_body, &keys.admin];
    let ctx = Ctx { app: &app, channel: app.channel().await, admin: Principal::operator("matrix-setup"), next: std::cell::Cell::new(1) };
    // Something to list and export in every cell.
    ctx.approved().await;
    ctx.pending().await;
    ctx.facility().await;

    let table = expected();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (op, _) in &table {
        for (role, key) in role_keys.iter().enumerate() {
            let rest = ctx.run(*op, Side::Rest, key).await;
            let grpc = ctx.run(*op, Side::Grpc, key).await;
            let (want_rest, want_grpc) = wanted(*op, role, &table);
            let mut notes = Vec::new();
            if rest.class != grpc.class && want_rest == want_grpc {
                notes.push("REST != gRPC".to_string());
            }
            if rest.class != want_rest {
                notes.push(format!("REST: expected {want_rest}"));
            }
            if grpc.class != want_grpc {
                notes.push(format!("gRPC: expected {want_grpc}"));
            }
            if !notes.is_empty() {
                failures.push((*op, ROLES[role]));
            }
            rows.push((*op, ROLES[role], rest, grpc, notes.join("; ")));
        }
    }

    if !failures.is_empty() {
        let mut out = String::from("\nauthorization matrix (operation × role: REST | gRPC)\n");
        for (op, role, rest, grpc, note) in &rows {
            let mark = if note.is_empty() { "  " } else { "!!" };
            out.push_str(&format!(
                "{mark} {:<28} {:<20} rest={:<6} ({:<4}) grpc={:<6} ({}) {note}\n",
                format!("{op:?}"),
                role,
                rest.class.to_string(),
                rest.raw,
                grpc.class.to_string(),
                grpc.raw
            ));
        }
        panic!("{out}\n{} cell(s) differ from the expected table: {failures:?}", failures.len());
    }
}
