//! `registry.v1.GrantsService`: grants (föreningsbidrag) over the `grants` crate's use cases,
//! the same ones REST `/v1/grants/…` calls. Decoding reports what does not fit (ids, dates,
//! numbers too large for their field, enums, an account's fields of another kind) as field
//! violations under the REST JSON names; every rule is the use case's.
//!
//! Uploads are larger than the server's body limit: [`server`] gives `AddAttachment` and
//! `AddAttendanceList` the limits of their REST routes ([`upload_limit`]), and every other
//! method the server's.

use std::collections::BTreeMap;
use std::task::{Context, Poll};

use grants::Grants;
use grants::account::Account;
use grants::model::*;
use grants::rules::{ActivityRules, AgeBasis};
use registry_core::model::association::AgeBand;
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use tonic::server::NamedService;
use tonic::{Request, Response};
use tower::ServiceExt;
use tower::util::Oneshot;
use uuid::Uuid;

use super::convert::{age_band, date, instant, optional_uuid, parse_id, small, timestamp, uuid};
use super::{Result, expected, principal, required_version};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::grants_service_server::{GrantsService, GrantsServiceServer};

/// The service over the grants use cases.
#[derive(Clone)]
pub struct GrantsGrpc {
    grants: Grants,
}

impl GrantsGrpc {
    /// Wraps the registry's grants use cases.
    pub fn new(registry: Registry) -> Self {
        GrantsGrpc { grants: Grants::new(registry) }
    }
}

// ---- message size ----

/// What an upload's message may carry besides the file: its id, its file name and the framing.
pub const UPLOAD_OVERHEAD: usize = 64 * 1024;

/// The largest request (message, or body with its framing) of a gRPC upload method: an
/// attachment or an attendance list as large as REST takes, and [`UPLOAD_OVERHEAD`]; none for
/// the other methods, which keep the server's body limit.
pub fn upload_limit(path: &str) -> Option<usize> {
    let method = path.strip_prefix("/registry.v1.GrantsService/")?;
    match method {
        "AddAttachment" => Some(grants::service::MAX_ATTACHMENT_BYTES + UPLOAD_OVERHEAD),
        "AddAttendanceList" => Some(grants::service::MAX_ATTENDANCE_BYTES + UPLOAD_OVERHEAD),
        _ => None,
    }
}

/// `GrantsService` with a message limit per method: [`upload_limit`] for the uploads, `limit`
/// (the server's body limit) for the rest, so that only the two upload methods take large
/// messages.
pub fn server(grants: GrantsGrpc, limit: usize) -> PerMethodLimit<GrantsServiceServer<GrantsGrpc>> {
    let with = |n: usize| GrantsServiceServer::new(grants.clone()).max_decoding_message_size(n);
    let uploads = ["/registry.v1.GrantsService/AddAttachment", "/registry.v1.GrantsService/AddAttendanceList"]
        .into_iter()
        .map(|path| (path, with(upload_limit(path).expect("an upload method"))))
        .collect();
    PerMethodLimit { default: with(limit), uploads }
}

/// A generated gRPC service configured once per message limit: each call goes to the one of
/// its method (by path), or `default`.
#[derive(Clone)]
pub struct PerMethodLimit<S> {
    default: S,
    uploads: Vec<(&'static str, S)>,
}

impl<S, B> tower::Service<http::Request<B>> for PerMethodLimit<S>
where
    S: tower::Service<http::Request<B>> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Oneshot<S, http::Request<B>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        // Each call readies the service it goes to (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let service = self.uploads.iter().find(|(p, _)| *p == path).map_or(&self.default, |(_, s)| s);
        service.clone().oneshot(req)
    }
}

impl<S: NamedService> NamedService for PerMethodLimit<S> {
    const NAME: &'static str = S::NAME;
}

// ---- decoding ----

/// An enum field: the value; 0 (`…_UNSPECIFIED`) as `None`, a violation when `required`; an
/// unknown number as a violation.
fn enum_in<E: TryFrom<i32>>(v: &mut Violations, field: &str, n: i32, name: &str, required: bool) -> Option<E> {
    if n == 0 {
        if required {
            v.add(field, "required", format!("must be set (a {name} value)"));
        }
        return None;
    }
    E::try_from(n).map_err(|_| v.add(field, "unknown_enum_value", format!("{n} is not a {name} value"))).ok()
}

fn kind_in(v: &mut Violations, field: &str, n: i32) -> ProgrammeKind {
    match enum_in::<pb::GrantProgrammeKind>(v, field, n, "GrantProgrammeKind", true) {
        Some(pb::GrantProgrammeKind::Activity) => ProgrammeKind::Activity,
        Some(pb::GrantProgrammeKind::Basic) => ProgrammeKind::Basic,
        Some(pb::GrantProgrammeKind::Application) | Some(pb::GrantProgrammeKind::Unspecified) | None => ProgrammeKind::Application,
    }
}

fn account_in(v: &mut Violations, field: &str, a: Option<pb::GrantAccount>) -> Option<Account> {
    let Some(a) = a else {
        v.add(field, "required", "must be set");
        return None;
    };
    let kind = enum_in::<pb::GrantAccountKind>(v, &format!("{field}.kind"), a.kind, "GrantAccountKind", true)?;
    // REST refuses a field of another kind (the account object denies unknown fields).
    let mut not_for = |name: &str, set: bool| {
        if set {
            v.add(format!("{field}.{name}"), "not_applicable", format!("an account of this kind has no {name}"));
        }
    };
    Some(match kind {
        pb::GrantAccountKind::Bankgiro | pb::GrantAccountKind::Plusgiro => {
            not_for("iban", !a.iban.is_empty());
            not_for("bic", a.bic.is_some());
            if kind == pb::GrantAccountKind::Bankgiro {
                Account::Bankgiro { number: a.number }
            } else {
                Account::Plusgiro { number: a.number }
            }
        }
        pb::GrantAccountKind::Iban | pb::GrantAccountKind::Unspecified => {
            not_for("number", !a.number.is_empty());
            Account::Iban { iban: a.iban, bic: a.bic }
        }
    })
}

fn age_band_in(v: &mut Violations, field: &str, n: i32) -> AgeBand {
    match enum_in::<pb::AgeBand>(v, field, n, "AgeBand", true) {
        Some(pb::AgeBand::AgeBand0To6) => AgeBand::Age0To6,
        Some(pb::AgeBand::AgeBand13To20) => AgeBand::Age13To20,
        Some(pb::AgeBand::AgeBand21To25) => AgeBand::Age21To25,
        Some(pb::AgeBand::AgeBand26To64) => AgeBand::Age26To64,
        Some(pb::AgeBand::AgeBand65Plus) => AgeBand::Age65Plus,
        Some(pb::AgeBand::AgeBand7To12) | Some(pb::AgeBand::Unspecified) | None => AgeBand::Age7To12,
    }
}

fn activity_in(v: &mut Violations, r: pb::GrantActivityRules) -> ActivityRules {
    // Unset takes REST's defaults (a JSON field left out).
    let d = ActivityRules::default();
    let mut narrow = |field: &str, n: Option<u32>| n.map(|n| small::<u16>(v, &format!("activity.{field}"), n));
    let min_participants = narrow("minParticipants", r.min_participants).unwrap_or(d.min_participants);
    let max_participants_counted = narrow("maxParticipantsCounted", r.max_participants_counted);
    let min_minutes = narrow("minMinutes", r.min_minutes).unwrap_or(d.min_minutes);
    let mut tiny = |field: &str, n: Option<u32>| n.map(|n| small::<u8>(v, &format!("activity.{field}"), n));
    let min_age = tiny("minAge", r.min_age).unwrap_or(d.min_age);
    let max_age = tiny("maxAge", r.max_age).unwrap_or(d.max_age);
    let leader_min_age = tiny("leaderMinAge", r.leader_min_age).unwrap_or(d.leader_min_age);
    let max_occasions_per_group_per_day =
        tiny("maxOccasionsPerGroupPerDay", r.max_occasions_per_group_per_day).unwrap_or(d.max_occasions_per_group_per_day);
    let age_basis = match enum_in::<pb::GrantAgeBasis>(v, "activity.ageBasis", r.age_basis, "GrantAgeBasis", false) {
        Some(pb::GrantAgeBasis::YearTurned) => AgeBasis::YearTurned,
        _ => d.age_basis,
    };
    ActivityRules {
        min_age,
        max_age,
        age_basis,
        min_participants,
        max_participants_counted,
        min_minutes,
        leader_required: r.leader_required.unwrap_or(d.leader_required),
        leader_min_age,
        amount_per_participant_minor: r.amount_per_participant_minor.unwrap_or(d.amount_per_participant_minor),
        amount_per_occasion_minor: r.amount_per_occasion_minor.unwrap_or(d.amount_per_occasion_minor),
        max_occasions_per_group_per_day,
    }
}

fn programme_in(p: pb::GrantProgramme) -> std::result::Result<ProgrammeInput, Error> {
    let mut v = Violations::default();
    let activity = p.activity.map(|r| activity_in(&mut v, r));
    let basic = p.basic.map(|b| BasicRules {
        year: b.year,
        amounts: b
            .amounts
            .into_iter()
            .enumerate()
            .map(|(i, a)| BandAmount {
                age_band: age_band_in(&mut v, &format!("basic.amounts[{i}].ageBand"), a.age_band),
                amount_minor: a.amount_minor,
            })
            .collect(),
        min_members: b.min_members,
        max_amount_minor: b.max_amount_minor,
    });
    let application = p.application.map(|a| ApplicationRules {
        max_amount_minor: a.max_amount_minor,
        min_attachments: small(&mut v, "application.minAttachments", a.min_attachments),
    });
    let input = ProgrammeInput {
        municipality_code: p.municipality_code,
        name: p.name,
        description: p.description,
        kind: kind_in(&mut v, "kind", p.kind),
        activity,
        basic,
        application,
        period_from: date(&mut v, "periodFrom", &p.period_from),
        period_to: date(&mut v, "periodTo", &p.period_to),
        applications_open: instant(&mut v, "applicationsOpen", p.applications_open.as_ref()),
        applications_close: instant(&mut v, "applicationsClose", p.applications_close.as_ref()),
        budget_minor: p.budget_minor,
    };
    v.finish()?;
    Ok(input)
}

fn application_in(a: pb::GrantApplication) -> std::result::Result<ApplicationInput, Error> {
    let mut v = Violations::default();
    let association_id = uuid(&mut v, "associationId", &a.association_id);
    // Unset: none (REST leaves `payee` out).
    let payee = a.payee.map(|p| account_in(&mut v, "payee", Some(p)));
    v.finish()?;
    Ok(ApplicationInput {
        association_id,
        title: a.title,
        description: a.description,
        requested_minor: a.requested_minor,
        payee: payee.flatten(),
    })
}

fn decision_in(r: &pb::DecideGrantApplicationRequest) -> std::result::Result<DecisionInput, Error> {
    let mut v = Violations::default();
    let outcome = match enum_in::<pb::GrantOutcome>(&mut v, "outcome", r.outcome, "GrantOutcome", true) {
        Some(pb::GrantOutcome::Rejected) => Outcome::Rejected,
        _ => Outcome::Approved,
    };
    let authority = match enum_in::<pb::GrantAuthority>(&mut v, "authority", r.authority, "GrantAuthority", true) {
        Some(pb::GrantAuthority::Committee) => Authority::Committee,
        _ => Authority::Delegation,
    };
    v.finish()?;
    Ok(DecisionInput { outcome, amount_minor: r.amount_minor, reasons: r.reasons.clone(), authority, reference: r.reference.clone() })
}

fn order_in(r: pb::PreparePaymentOrderRequest) -> std::result::Result<PaymentOrderInput, Error> {
    let mut v = Violations::default();
    let application_ids = r.application_ids.iter().enumerate().map(|(i, a)| uuid(&mut v, &format!("applicationIds[{i}]"), a)).collect();
    let execution_date = date(&mut v, "executionDate", &r.execution_date);
    let debtor = match r.debtor {
        None => {
            v.add("debtor", "required", "must be set");
            None
        }
        Some(d) => account_in(&mut v, "debtor.account", d.account).map(|account| Debtor {
            name: d.name,
            org_number: d.org_number,
            account,
            bic: d.bic,
        }),
    };
    v.finish()?;
    let debtor = debtor.ok_or_else(|| Error::Internal("checked above".into()))?;
    Ok(PaymentOrderInput { municipality_code: r.municipality_code, application_ids, execution_date, debtor })
}

// ---- encoding ----

/// A JSON value as google.protobuf.Value (numbers as doubles, as proto3 JSON has them).
fn json_value(j: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match j {
        J::Null => Kind::NullValue(prost_types::NullValue::NullValue as i32),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        J::String(s) => Kind::StringValue(s),
        J::Array(a) => Kind::ListValue(prost_types::ListValue { values: a.into_iter().map(json_value).collect() }),
        J::Object(o) => Kind::StructValue(json_object(o)),
    };
    prost_types::Value { kind: Some(kind) }
}

fn json_object(o: serde_json::Map<String, serde_json::Value>) -> prost_types::Struct {
    prost_types::Struct { fields: o.into_iter().map(|(k, v)| (k, json_value(v))).collect::<BTreeMap<_, _>>() }
}

/// A free-form JSON object of the core (a computation, a report) as google.protobuf.Struct; a
/// value that is not an object (never stored) as an object holding it under `value`.
fn json_struct(j: serde_json::Value) -> prost_types::Struct {
    match j {
        serde_json::Value::Object(o) => json_object(o),
        serde_json::Value::Null => prost_types::Struct::default(),
        other => prost_types::Struct { fields: BTreeMap::from([("value".to_string(), json_value(other))]) },
    }
}

fn date_or_empty(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn kind_out(k: ProgrammeKind) -> i32 {
    let k = match k {
        ProgrammeKind::Activity => pb::GrantProgrammeKind::Activity,
        ProgrammeKind::Basic => pb::GrantProgrammeKind::Basic,
        ProgrammeKind::Application => pb::GrantProgrammeKind::Application,
    };
    k as i32
}

fn outcome_out(o: Outcome) -> i32 {
    let o = match o {
        Outcome::Approved => pb::GrantOutcome::Approved,
        Outcome::Rejected => pb::GrantOutcome::Rejected,
    };
    o as i32
}

fn authority_out(a: Authority) -> i32 {
    let a = match a {
        Authority::Delegation => pb::GrantAuthority::Delegation,
        Authority::Committee => pb::GrantAuthority::Committee,
    };
    a as i32
}

fn account(a: Account) -> pb::GrantAccount {
    match a {
        Account::Bankgiro { number } => pb::GrantAccount { kind: pb::GrantAccountKind::Bankgiro as i32, number, ..Default::default() },
        Account::Plusgiro { number } => pb::GrantAccount { kind: pb::GrantAccountKind::Plusgiro as i32, number, ..Default::default() },
        Account::Iban { iban, bic } => pb::GrantAccount { kind: pb::GrantAccountKind::Iban as i32, iban, bic, ..Default::default() },
    }
}

fn activity(r: ActivityRules) -> pb::GrantActivityRules {
    pb::GrantActivityRules {
        min_age: Some(u32::from(r.min_age)),
        max_age: Some(u32::from(r.max_age)),
        age_basis: match r.age_basis {
            AgeBasis::OnTheDay => pb::GrantAgeBasis::OnTheDay,
            AgeBasis::YearTurned => pb::GrantAgeBasis::YearTurned,
        } as i32,
        min_participants: Some(u32::from(r.min_participants)),
        max_participants_counted: r.max_participants_counted.map(u32::from),
        min_minutes: Some(u32::from(r.min_minutes)),
        leader_required: Some(r.leader_required),
        leader_min_age: Some(u32::from(r.leader_min_age)),
        amount_per_participant_minor: Some(r.amount_per_participant_minor),
        amount_per_occasion_minor: Some(r.amount_per_occasion_minor),
        max_occasions_per_group_per_day: Some(u32::from(r.max_occasions_per_group_per_day)),
    }
}

fn programme(p: Programme) -> pb::GrantProgramme {
    let i = p.input;
    pb::GrantProgramme {
        id: p.id.to_string(),
        municipality_code: i.municipality_code,
        name: i.name,
        description: i.description,
        kind: kind_out(i.kind),
        activity: i.activity.map(activity),
        basic: i.basic.map(|b| pb::GrantBasicRules {
            year: b.year,
            amounts: b
                .amounts
                .into_iter()
                .map(|a| pb::GrantBandAmount { age_band: age_band(a.age_band) as i32, amount_minor: a.amount_minor })
                .collect(),
            min_members: b.min_members,
            max_amount_minor: b.max_amount_minor,
        }),
        application: i
            .application
            .map(|a| pb::GrantApplicationRules { max_amount_minor: a.max_amount_minor, min_attachments: u32::from(a.min_attachments) }),
        period_from: i.period_from.to_string(),
        period_to: i.period_to.to_string(),
        applications_open: Some(timestamp(i.applications_open)),
        applications_close: Some(timestamp(i.applications_close)),
        budget_minor: i.budget_minor,
        decided_minor: p.decided_minor,
        paid_minor: p.paid_minor,
        remaining_minor: p.remaining_minor,
        version: p.version,
        updated_at: Some(timestamp(p.updated_at)),
    }
}

fn attachment(a: Attachment) -> pb::GrantAttachment {
    pb::GrantAttachment {
        id: a.id.to_string(),
        file_name: a.file_name,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        sha256: a.sha256,
        created_at: Some(timestamp(a.created_at)),
    }
}

fn attendance_list(l: AttendanceList) -> pb::AttendanceList {
    pb::AttendanceList {
        id: l.id.to_string(),
        file_name: l.file_name,
        rows: l.rows,
        occasions: l.occasions,
        occasions_counted: l.occasions_counted,
        participant_occasions: l.participant_occasions,
        amount_minor: l.amount_minor,
        report: Some(json_struct(l.report)),
        created_at: Some(timestamp(l.created_at)),
    }
}

fn application(a: Application) -> pb::GrantApplication {
    let i = a.input;
    pb::GrantApplication {
        id: a.id.to_string(),
        programme_id: a.programme_id.to_string(),
        association_id: i.association_id.to_string(),
        title: i.title,
        description: i.description,
        requested_minor: i.requested_minor,
        payee: i.payee.map(account),
        association_name: a.association_name,
        status: a.status,
        computed_minor: a.computed_minor,
        computation: Some(json_struct(a.computation)),
        completion_message: a.completion_message,
        attachments: a.attachments.into_iter().map(attachment).collect(),
        attendance_lists: a.attendance_lists.into_iter().map(attendance_list).collect(),
        assessment: a.assessment.map(|s| pb::GrantAssessment {
            text: s.text,
            proposed_minor: s.proposed_minor,
            assessed_by: s.assessed_by,
            assessed_at: Some(timestamp(s.assessed_at)),
        }),
        decision: a.decision.map(|d| pb::GrantDecision {
            outcome: outcome_out(d.input.outcome),
            amount_minor: d.input.amount_minor,
            reasons: d.input.reasons,
            authority: authority_out(d.input.authority),
            reference: d.input.reference,
            decided_by: d.decided_by,
            decided_at: Some(timestamp(d.decided_at)),
        }),
        payment: a.payment.map(|p| pb::GrantPaymentState {
            order_id: p.order_id.to_string(),
            status: p.status,
            amount_minor: p.amount_minor,
            paid_on: date_or_empty(p.paid_on),
        }),
        created_at: Some(timestamp(a.created_at)),
        submitted_at: a.submitted_at.map(timestamp),
        version: a.version,
    }
}

fn order(o: PaymentOrder) -> pb::GrantPaymentOrder {
    pb::GrantPaymentOrder {
        id: o.id.to_string(),
        municipality_code: o.municipality_code,
        status: o.status,
        execution_date: o.execution_date.to_string(),
        debtor: Some(pb::GrantDebtor {
            name: o.debtor.name,
            org_number: o.debtor.org_number,
            account: Some(account(o.debtor.account)),
            bic: o.debtor.bic,
        }),
        message_id: o.message_id,
        total_minor: o.total_minor,
        payments: o
            .payments
            .into_iter()
            .map(|p| pb::GrantPayment {
                application_id: p.application_id.to_string(),
                programme_id: p.programme_id.to_string(),
                association_id: p.association_id.to_string(),
                association_name: p.association_name,
                amount_minor: p.amount_minor,
                account: Some(account(p.account)),
                end_to_end_id: p.end_to_end_id,
                remittance: p.remittance,
                paid_on: date_or_empty(p.paid_on),
            })
            .collect(),
        prepared_by: o.prepared_by,
        prepared_at: Some(timestamp(o.prepared_at)),
        attested_by: o.attested_by,
        attested_at: o.attested_at.map(timestamp),
        file_sha256: o.file_sha256,
        version: o.version,
    }
}

fn public_decision(d: PublicDecision) -> pb::PublicGrantDecision {
    pb::PublicGrantDecision {
        application_id: d.application_id.to_string(),
        municipality_code: d.municipality_code,
        programme_id: d.programme_id.to_string(),
        programme: d.programme,
        kind: kind_out(d.kind),
        association_id: d.association_id.to_string(),
        association_name: d.association_name,
        org_number: d.org_number,
        outcome: outcome_out(d.outcome),
        amount_minor: d.amount_minor,
        authority: authority_out(d.authority),
        reference: d.reference,
        decided_on: d.decided_on.to_string(),
    }
}

fn figures(f: MunicipalityGrantFigures) -> pb::MunicipalityGrantFigures {
    pb::MunicipalityGrantFigures {
        municipality_code: f.municipality_code,
        programmes: f.programmes,
        applications: f.applications,
        approved: f.approved,
        rejected: f.rejected,
        associations: f.associations,
        decided_minor: f.decided_minor,
        paid_minor: f.paid_minor,
        budget_minor: f.budget_minor,
    }
}

/// The request's id field.
fn id(s: &str) -> std::result::Result<Uuid, tonic::Status> {
    parse_id(s, "id").map_err(status)
}

/// A required message field of a request.
fn required<T>(m: Option<T>, field: &str) -> std::result::Result<T, tonic::Status> {
    m.ok_or_else(|| status(Error::invalid(field, "required", "must be set")))
}

/// An optional filter: empty is none.
fn filter(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

#[tonic::async_trait]
impl GrantsService for GrantsGrpc {
    async fn list_programmes(&self, req: Request<pb::ListGrantProgrammesRequest>) -> Result<pb::ListGrantProgrammesResponse> {
        let p = principal(&req);
        let list = self.grants.list_programmes(&p, filter(&req.get_ref().municipality_code)).await.map_err(status)?;
        Ok(Response::new(pb::ListGrantProgrammesResponse { programmes: list.into_iter().map(programme).collect() }))
    }

    async fn get_programme(&self, req: Request<pb::GetGrantProgrammeRequest>) -> Result<pb::GetGrantProgrammeResponse> {
        let p = principal(&req);
        let got = self.grants.get_programme(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetGrantProgrammeResponse { programme: Some(programme(got)) }))
    }

    async fn create_programme(&self, req: Request<pb::CreateGrantProgrammeRequest>) -> Result<pb::CreateGrantProgrammeResponse> {
        let p = principal(&req);
        let new = required(req.into_inner().programme, "programme")?;
        if !new.id.is_empty() {
            return Err(status(Error::invalid("programme.id", "not_allowed", "the registry assigns ids; leave it empty")));
        }
        let input = programme_in(new).map_err(status)?;
        let created = self.grants.create_programme(&p, &input).await.map_err(status)?;
        Ok(Response::new(pb::CreateGrantProgrammeResponse { programme: Some(programme(created)) }))
    }

    async fn update_programme(&self, req: Request<pb::UpdateGrantProgrammeRequest>) -> Result<pb::UpdateGrantProgrammeResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let change = required(r.programme, "programme")?;
        let programme_id = parse_id(&change.id, "programme.id").map_err(status)?;
        let expected_version = required_version(r.expected_version, "expectedVersion").map_err(status)?;
        let input = programme_in(change).map_err(status)?;
        let updated = self.grants.update_programme(&p, programme_id, &input, Some(expected_version)).await.map_err(status)?;
        Ok(Response::new(pb::UpdateGrantProgrammeResponse { programme: Some(programme(updated)) }))
    }

    async fn create_application(&self, req: Request<pb::CreateGrantApplicationRequest>) -> Result<pb::CreateGrantApplicationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let programme_id = id(&r.id)?;
        let input = application_in(required(r.application, "application")?).map_err(status)?;
        let draft = self.grants.create_application(&p, programme_id, &input).await.map_err(status)?;
        Ok(Response::new(pb::CreateGrantApplicationResponse { application: Some(application(draft)) }))
    }

    async fn list_applications(&self, req: Request<pb::ListGrantApplicationsRequest>) -> Result<pb::ListGrantApplicationsResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let mut v = Violations::default();
        let programme_id = optional_uuid(&mut v, "programmeId", &r.programme_id);
        v.finish().map_err(status)?;
        let list =
            self.grants.list_applications(&p, programme_id, filter(&r.municipality_code), filter(&r.status)).await.map_err(status)?;
        Ok(Response::new(pb::ListGrantApplicationsResponse { applications: list.into_iter().map(application).collect() }))
    }

    async fn get_application(&self, req: Request<pb::GetGrantApplicationRequest>) -> Result<pb::GetGrantApplicationResponse> {
        let p = principal(&req);
        let a = self.grants.get_application(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn update_application(&self, req: Request<pb::UpdateGrantApplicationRequest>) -> Result<pb::UpdateGrantApplicationResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let change = required(r.application, "application")?;
        let application_id = parse_id(&change.id, "application.id").map_err(status)?;
        let expected_version = required_version(r.expected_version, "expectedVersion").map_err(status)?;
        let input = application_in(change).map_err(status)?;
        let a = self.grants.update_application(&p, application_id, &input, Some(expected_version)).await.map_err(status)?;
        Ok(Response::new(pb::UpdateGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn submit_application(&self, req: Request<pb::SubmitGrantApplicationRequest>) -> Result<pb::SubmitGrantApplicationResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let a = self.grants.submit(&p, id(&r.id)?, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::SubmitGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn withdraw_application(
        &self,
        req: Request<pb::WithdrawGrantApplicationRequest>,
    ) -> Result<pb::WithdrawGrantApplicationResponse> {
        let p = principal(&req);
        let a = self.grants.withdraw(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::WithdrawGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn add_attachment(&self, req: Request<pb::AddGrantAttachmentRequest>) -> Result<pb::AddGrantAttachmentResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let a = self.grants.add_attachment(&p, id(&r.id)?, &r.file_name, r.content).await.map_err(status)?;
        Ok(Response::new(pb::AddGrantAttachmentResponse { attachment: Some(attachment(a)) }))
    }

    async fn get_attachment(&self, req: Request<pb::GetGrantAttachmentRequest>) -> Result<pb::GetGrantAttachmentResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let attachment_id = parse_id(&r.attachment_id, "attachmentId").map_err(status)?;
        let (a, content) = self.grants.attachment(&p, id(&r.id)?, attachment_id).await.map_err(status)?;
        Ok(Response::new(pb::GetGrantAttachmentResponse { attachment: Some(attachment(a)), content }))
    }

    async fn delete_attachment(&self, req: Request<pb::DeleteGrantAttachmentRequest>) -> Result<pb::DeleteGrantAttachmentResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let attachment_id = parse_id(&r.attachment_id, "attachmentId").map_err(status)?;
        let a = self.grants.delete_attachment(&p, id(&r.id)?, attachment_id).await.map_err(status)?;
        Ok(Response::new(pb::DeleteGrantAttachmentResponse { application: Some(application(a)) }))
    }

    async fn add_attendance_list(&self, req: Request<pb::AddAttendanceListRequest>) -> Result<pb::AddAttendanceListResponse> {
        let p = principal(&req);
        let r = req.into_inner();
        let l = self.grants.add_attendance(&p, id(&r.id)?, &r.file_name, r.content).await.map_err(status)?;
        Ok(Response::new(pb::AddAttendanceListResponse { attendance_list: Some(attendance_list(l)) }))
    }

    async fn delete_attendance_list(&self, req: Request<pb::DeleteAttendanceListRequest>) -> Result<pb::DeleteAttendanceListResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let list_id = parse_id(&r.list_id, "listId").map_err(status)?;
        let a = self.grants.delete_attendance(&p, id(&r.id)?, list_id).await.map_err(status)?;
        Ok(Response::new(pb::DeleteAttendanceListResponse { application: Some(application(a)) }))
    }

    async fn request_completion(&self, req: Request<pb::RequestGrantCompletionRequest>) -> Result<pb::RequestGrantCompletionResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let expected = expected(r.expected_version, "expectedVersion")?;
        let a = self.grants.request_completion(&p, id(&r.id)?, &r.message, expected).await.map_err(status)?;
        Ok(Response::new(pb::RequestGrantCompletionResponse { application: Some(application(a)) }))
    }

    async fn assess_application(&self, req: Request<pb::AssessGrantApplicationRequest>) -> Result<pb::AssessGrantApplicationResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let expected = expected(r.expected_version, "expectedVersion")?;
        let a = self.grants.assess(&p, id(&r.id)?, &r.text, r.proposed_minor, expected).await.map_err(status)?;
        Ok(Response::new(pb::AssessGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn decide_application(&self, req: Request<pb::DecideGrantApplicationRequest>) -> Result<pb::DecideGrantApplicationResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let application_id = id(&r.id)?;
        let expected = expected(r.expected_version, "expectedVersion")?;
        let input = decision_in(r).map_err(status)?;
        let a = self.grants.decide(&p, application_id, &input, expected).await.map_err(status)?;
        Ok(Response::new(pb::DecideGrantApplicationResponse { application: Some(application(a)) }))
    }

    async fn list_payment_orders(&self, req: Request<pb::ListPaymentOrdersRequest>) -> Result<pb::ListPaymentOrdersResponse> {
        let p = principal(&req);
        // REST's `municipalityCode` query parameter is required.
        let Some(m) = filter(&req.get_ref().municipality_code) else {
            return Err(status(Error::invalid("municipalityCode", "required", "must be set")));
        };
        let list = self.grants.list_orders(&p, m).await.map_err(status)?;
        Ok(Response::new(pb::ListPaymentOrdersResponse { orders: list.into_iter().map(order).collect() }))
    }

    async fn prepare_payment_order(&self, req: Request<pb::PreparePaymentOrderRequest>) -> Result<pb::PreparePaymentOrderResponse> {
        let p = principal(&req);
        let input = order_in(req.into_inner()).map_err(status)?;
        let o = self.grants.prepare_order(&p, &input).await.map_err(status)?;
        Ok(Response::new(pb::PreparePaymentOrderResponse { order: Some(order(o)) }))
    }

    async fn get_payment_order(&self, req: Request<pb::GetPaymentOrderRequest>) -> Result<pb::GetPaymentOrderResponse> {
        let p = principal(&req);
        let o = self.grants.get_order(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetPaymentOrderResponse { order: Some(order(o)) }))
    }

    async fn attest_payment_order(&self, req: Request<pb::AttestPaymentOrderRequest>) -> Result<pb::AttestPaymentOrderResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let o = self.grants.attest_order(&p, id(&r.id)?, expected(r.expected_version, "expectedVersion")?).await.map_err(status)?;
        Ok(Response::new(pb::AttestPaymentOrderResponse { order: Some(order(o)) }))
    }

    async fn cancel_payment_order(&self, req: Request<pb::CancelPaymentOrderRequest>) -> Result<pb::CancelPaymentOrderResponse> {
        let p = principal(&req);
        let o = self.grants.cancel_order(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::CancelPaymentOrderResponse { order: Some(order(o)) }))
    }

    async fn get_payment_file(&self, req: Request<pb::GetPaymentFileRequest>) -> Result<pb::GetPaymentFileResponse> {
        let p = principal(&req);
        let (file_name, xml) = self.grants.payment_file(&p, id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(pb::GetPaymentFileResponse { file_name, xml }))
    }

    async fn list_decisions(&self, req: Request<pb::ListGrantDecisionsRequest>) -> Result<pb::ListGrantDecisionsResponse> {
        let p = principal(&req);
        let r = req.get_ref();
        let mut v = Violations::default();
        let programme_id = optional_uuid(&mut v, "programmeId", &r.programme_id);
        v.finish().map_err(status)?;
        let list = self.grants.public_decisions(&p, filter(&r.municipality_code), programme_id).await.map_err(status)?;
        Ok(Response::new(pb::ListGrantDecisionsResponse { decisions: list.into_iter().map(public_decision).collect() }))
    }

    async fn get_statistics(&self, req: Request<pb::GetGrantStatisticsRequest>) -> Result<pb::GetGrantStatisticsResponse> {
        let p = principal(&req);
        let list = self.grants.statistics(&p, req.get_ref().year).await.map_err(status)?;
        Ok(Response::new(pb::GetGrantStatisticsResponse { municipalities: list.into_iter().map(figures).collect() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: Error) -> Vec<(String, String)> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| (f.field, f.rule.to_string())).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, r)| (f.to_string(), r.to_string())).collect()
    }

    fn valid_programme() -> pb::GrantProgramme {
        pb::GrantProgramme {
            municipality_code: "0180".into(),
            name: "Aktivitetsstöd".into(),
            kind: pb::GrantProgrammeKind::Activity as i32,
            period_from: "2027-01-01".into(),
            period_to: "2027-06-30".into(),
            applications_open: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            applications_close: Some(prost_types::Timestamp { seconds: 1_800_100_000, nanos: 0 }),
            budget_minor: 1_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn unset_activity_rules_take_the_rest_defaults() {
        let p = programme_in(pb::GrantProgramme { activity: Some(pb::GrantActivityRules::default()), ..valid_programme() }).unwrap();
        assert_eq!(p.activity, Some(ActivityRules::default()));
        let set = pb::GrantActivityRules {
            min_age: Some(6),
            age_basis: pb::GrantAgeBasis::YearTurned as i32,
            leader_required: Some(false),
            max_participants_counted: Some(30),
            ..Default::default()
        };
        let r = programme_in(pb::GrantProgramme { activity: Some(set), ..valid_programme() }).unwrap().activity.unwrap();
        assert_eq!(
            (r.min_age, r.age_basis, r.leader_required, r.max_participants_counted, r.max_age),
            (6, AgeBasis::YearTurned, false, Some(30), 25)
        );
        // What REST writes is what gRPC writes back.
        assert_eq!(activity_in(&mut Violations::default(), activity(r.clone())), r);
    }

    #[test]
    fn a_programme_names_what_does_not_decode_under_the_rest_names() {
        let bad = pb::GrantProgramme {
            kind: 0,
            period_from: "1/1 2027".into(),
            applications_close: None,
            activity: Some(pb::GrantActivityRules { min_age: Some(300), min_participants: Some(70_000), ..Default::default() }),
            basic: Some(pb::GrantBasicRules {
                year: 2026,
                amounts: vec![pb::GrantBandAmount { age_band: 0, amount_minor: 1 }],
                ..Default::default()
            }),
            application: Some(pb::GrantApplicationRules { max_amount_minor: None, min_attachments: 256 }),
            ..valid_programme()
        };
        let mut got = fields(programme_in(bad).unwrap_err());
        got.sort();
        assert_eq!(
            got,
            pairs(&[
                ("activity.minAge", "out_of_range"),
                ("activity.minParticipants", "out_of_range"),
                ("application.minAttachments", "out_of_range"),
                ("applicationsClose", "required"),
                ("basic.amounts[0].ageBand", "required"),
                ("kind", "required"),
                ("periodFrom", "format"),
            ])
        );
    }

    #[test]
    fn an_account_is_its_kind_and_refuses_the_fields_of_another() {
        let mut v = Violations::default();
        let giro = pb::GrantAccount { kind: pb::GrantAccountKind::Bankgiro as i32, number: "5050-1055".into(), ..Default::default() };
        assert_eq!(account_in(&mut v, "payee", Some(giro.clone())), Some(Account::Bankgiro { number: "5050-1055".into() }));
        let iban = pb::GrantAccount {
            kind: pb::GrantAccountKind::Iban as i32,
            iban: "SE45 5000 0000 0583 9825 7466".into(),
            bic: Some("ESSESESS".into()),
            ..Default::default()
        };
        let decoded = account_in(&mut v, "payee", Some(iban.clone())).unwrap();
        assert_eq!(account(decoded.clone()), iban);
        assert_eq!(account(Account::Bankgiro { number: "5050-1055".into() }), giro);
        v.finish().unwrap();
        let mut v = Violations::default();
        account_in(&mut v, "debtor.account", Some(pb::GrantAccount { iban: "SE45".into(), ..giro }));
        account_in(&mut v, "payee", Some(pb::GrantAccount { kind: 9, ..Default::default() }));
        account_in(&mut v, "x", None);
        assert_eq!(
            fields(v.finish().unwrap_err()),
            pairs(&[("debtor.account.iban", "not_applicable"), ("payee.kind", "unknown_enum_value"), ("x", "required")])
        );
    }

    #[test]
    fn free_form_json_is_a_struct_of_the_same_object() {
        let j = serde_json::json!({"rowReasons": {"tooYoung": 2}, "rowsNotCounted": [{"line": 7, "reason": "too_young"}], "x": null, "ok": true});
        let s = json_struct(j);
        let reasons = &s.fields["rowReasons"];
        let Some(prost_types::value::Kind::StructValue(r)) = &reasons.kind else { panic!("{reasons:?}") };
        assert_eq!(r.fields["tooYoung"].kind, Some(prost_types::value::Kind::NumberValue(2.0)));
        let Some(prost_types::value::Kind::ListValue(l)) = &s.fields["rowsNotCounted"].kind else { panic!() };
        assert_eq!(l.values.len(), 1);
        assert_eq!(s.fields["x"].kind, Some(prost_types::value::Kind::NullValue(0)));
        assert_eq!(json_struct(serde_json::json!({})), prost_types::Struct::default());
    }

    #[test]
    fn only_the_upload_methods_take_large_messages() {
        let attachment = upload_limit("/registry.v1.GrantsService/AddAttachment").unwrap();
        let list = upload_limit("/registry.v1.GrantsService/AddAttendanceList").unwrap();
        assert!(attachment > grants::service::MAX_ATTACHMENT_BYTES && attachment < grants::service::MAX_ATTENDANCE_BYTES);
        assert!(list > grants::service::MAX_ATTENDANCE_BYTES);
        for other in
            ["/registry.v1.GrantsService/CreateProgramme", "/registry.v1.AllocationService/AddAttachment", "/v1/grants/applications"]
        {
            assert_eq!(upload_limit(other), None, "{other}");
        }
    }
}
