//! The authorization matrix through both front ends (issue 24, item 3): every role × every
//! operation that REST and gRPC offer, on data of municipality 0180 (own for the 0180 editor,
//! other for the 1480 editor). Each cell is called through REST and through gRPC with the same
//! caller on fresh resources; both answers are reduced to an outcome class, must agree with each
//! other, and the whole table must equal the hand-written one below, which follows
//! `registry_core::auth` (and, where a use case filters instead of refusing, its service).
//!
//! Covered: facilities, associations and their registrations, opening hours, exports; an
//! association's self-service (registering with another municipality, resubmitting and
//! withdrawing a registration, a registration's history, a municipality's inbox, a person's
//! own associations, listing, adding and removing representatives, listing and reporting
//! member statistics); the vendor directory (list, get, certified vendors, certification runs,
//! a vendor's units, create, update of an operator field (the name) and of a vendor's own
//! field (its limits), delete, set and clear a certification override, run checks, set and
//! clear a unit's vendor);
//! facility and association search; federated availability; bookings through the registry
//! (real bookings at a fault vendor with bookings on, on loopback, registered through REST
//! with a passing conformance run); the change feeds (REST RPDE pages `/v1/feeds/{kind}` vs the
//! gRPC stream `WatchChanges`: the first page or first message); seasonal allocation (REST
//! `/v1/allocation/…` vs `AllocationService`: listing, reading, creating and updating a round;
//! listing, submitting and withdrawing applications; listing runs, running the allocator (a
//! what-if), a staff edit, publishing and finalising; reading a run that is unpublished,
//! published and final; commenting and listing comments; the published allocation; the final
//! allocation at the vendors; listing, requesting and withdrawing match times, a run of match
//! times and deciding it), each cell on a fresh round of 0180 over a hall with explicit hours,
//! brought through the core to the stage the operation needs (an application of a fresh
//! approved association, sent by the representative; a run; published; commented; final; a
//! match time the representative asked for on the final round; a run of match times); grants
//! (REST `/v1/grants/…` vs `GrantsService`: listing, reading, creating and updating a
//! programme; starting, listing, reading (sent, and a draft), changing, sending and
//! withdrawing an application; adding, reading and removing an attachment; adding and removing
//! an attendance list; asking for completion, assessing and deciding; listing, preparing,
//! reading, attesting and cancelling a payment order and fetching its payment file; the decided
//! grants and the figures), each cell on a fresh programme of 0180 brought through the core to
//! the stage the operation needs (a draft of a fresh approved association by the
//! representative, with an attachment or, of an activity grant, an attendance list; sent;
//! approved; in a payment order the admin prepared, so that the staff column may attest it;
//! attested by another member of staff); and, REST only (gRPC offers nothing equivalent; the
//! proto has no audit or history RPC), the audit trail, a facility's public history, and a
//! person's download of their own data.
//!
//! The roles are ten: besides anonymous, the two editors, the national body and the admin,
//! there are two vendor keys: one of no vendor (`Keys::vendor`, a key without a `vendor_id`),
//! and a vendor's own key (`TestApp::vendor_key`), bound to the very vendor the cell works on
//! for operations on one vendor's entry (`ManageOwnVendor`), and to a vendor of the set-up
//! elsewhere; and three signed-in people (issue 26), each with a browser session cookie and its
//! CSRF token (`TestApp::session`): a resident, staff of 0180, who has its editor's rights, and
//! a representative, listed (through the core) as representative of every association the
//! cells set up, so it acts for each one it is asked about (`Represent`).
//!
//! Where a use case filters what the caller may see instead of refusing (association search by
//! status, the audit trail, a round's applications, comments and match requests, a run's
//! decisions), the cell says whether anything of 0180's was in the answer: `ok` (some) or `ok∅`
//! (none), so a filter that leaks fails the test as a refusal that is missing would.
//!
//! Not covered: reads both front ends offer that need nothing but `ReadPublic` (municipalities
//! and their boundaries, batch get, an association by organisation number, open intervals and
//! open status, holidays, the facility export), and the personal-data scope (contact persons,
//! representatives), which none of the ten callers holds (the representative reads its own
//! association's representatives as one of them); and, REST only, the published allocation and
//! the decided grants as CSV (the same use cases as their JSON).

use std::fmt;
use std::time::Duration;

use allocation::Allocations;
use allocation::model::{
    Alternative, Application, ApplicationInput, DayTime, Gender, Match, MatchAlternative, MatchInput, Principles, PriorityGroup, Round,
    RoundInput, RoundUnit, Run, Team, Wish,
};
use allocation::service::RunRequest;
use federation::fault::{FaultVendor, Faults};
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::allocation_service_client::AllocationServiceClient;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::availability_service_client::AvailabilityServiceClient;
use grpc_api::proto::v1::booking_service_client::BookingServiceClient;
use grpc_api::proto::v1::change_service_client::ChangeServiceClient;
use grpc_api::proto::v1::export_service_client::ExportServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::grants_service_client::GrantsServiceClient;
use grpc_api::proto::v1::opening_hours_service_client::OpeningHoursServiceClient;
use grpc_api::proto::v1::search_service_client::SearchServiceClient;
use grpc_api::proto::v1::vendor_directory_service_client::VendorDirectoryServiceClient;
use registry_core::auth::Principal;
use registry_core::model::{
    Association, Decision, Facility, NewRepresentative, OverrideInput, Vendor, VendorAuth, VendorInput, VendorProtocol,
};
use reqwest::Method;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};
use tonic::Code;

/// An answer reduced to what authorization decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum O {
    /// 2xx / OK (for operations that filter, with some of 0180's data in it).
    Ok,
    /// 2xx / OK with none of 0180's data: the use case filtered instead of refusing (only for
    /// operations that count what they answer, see [`Op::counts`]).
    Empty,
    /// 401 / UNAUTHENTICATED.
    Unauth,
    /// 403 / PERMISSION_DENIED.
    Forbidden,
    /// 404 / NOT_FOUND.
    NotFound,
    /// Anything else (a validation or precondition failure means the test's request is wrong).
    Other,
}

use O::{Empty as E, Forbidden as F, NotFound as N, Ok as Y, Unauth as U};

impl fmt::Display for O {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            O::Ok => "ok",
            O::Empty => "ok∅",
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

impl Answer {
    /// For an operation that counts: an OK answer with `n` items of 0180's is `Empty` when `n` is 0.
    fn counted(mut self, n: usize) -> Answer {
        if self.class == O::Ok {
            if n == 0 {
                self.class = O::Empty;
            }
            self.raw = format!("{} ({n} of 0180's)", self.raw);
        }
        self
    }
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

/// A server stream read to its end (an error may come at once or as the stream's status).
async fn drain<T>(r: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>) -> Answer {
    let r = match r {
        Ok(stream) => {
            let mut stream = stream.into_inner();
            let end = tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    match stream.message().await {
                        Ok(Some(_)) => continue,
                        Ok(None) => break Ok(()),
                        Err(s) => break Err(s),
                    }
                }
            });
            match end.await {
                Ok(r) => r,
                Err(_) => return Answer { class: O::Other, raw: "the stream did not end within 20 s".into() },
            }
        }
        Err(s) => Err(s),
    };
    grpc_answer(r)
}

/// The first message of a stream that does not end by itself (`WatchChanges`): a refusal comes
/// before it, as the call's status.
async fn first_message<T>(r: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>) -> Answer {
    match r {
        Err(s) => grpc_answer::<()>(Err(s)),
        Ok(stream) => match tokio::time::timeout(Duration::from_secs(5), stream.into_inner().message()).await {
            Ok(Ok(Some(_))) => Answer { class: O::Ok, raw: "OK (first message)".into() },
            Ok(Ok(None)) => Answer { class: O::Other, raw: "the stream ended without a message".into() },
            Ok(Err(s)) => grpc_answer::<()>(Err(s)),
            Err(_) => Answer { class: O::Other, raw: "no message within 5 s".into() },
        },
    }
}

/// Role names, in the column order of the expected table.
const ROLES: [&str; 10] = [
    "anonymous",
    "editor 0180 (own)",
    "editor 1480 (other)",
    "vendor (no entry)",
    "vendor (own entry)",
    "national body",
    "admin",
    "resident (signed in)",
    "staff 0180 (signed in)",
    "representative (signed in)",
];
/// Column of the anonymous caller.
const ANONYMOUS: usize = 0;
/// Column of a vendor's own key: bound to the vendor the cell works on, if any.
const OWN_VENDOR: usize = 4;
/// Column of the signed-in resident.
const RESIDENT: usize = 7;
/// Column of the signed-in representative of every association [`Ctx::pending`] and
/// [`Ctx::approved`] create.
const REPRESENTATIVE: usize = 9;
/// The representative's personal identity number (valid: a real date and check digit; neither
/// the resident's nor the staff member's).
const REPRESENTATIVE_PIN: &str = "197702281937";
/// The personal identity number of the staff member who attests the grant cells' payment
/// orders through the core (not the staff column's).
const ATTESTER_PIN: &str = "197802142385";

/// Writes on 0180's data: only its own editor and the admin; anonymous callers are asked to log in.
/// Also choosing a 0180 unit's vendor (`AssignVendor(0180)`). A representative acts for its
/// association only (`Represent`), which gives it nothing on facilities.
const WRITE: [O; 10] = [U, Y, F, F, F, F, Y, F, Y, F];
/// Bookings (`BookUnit`): signed-in people only, so that every booking has an owner; keys of
/// organisations never book.
const BOOK: [O; 10] = [U, F, F, F, F, F, F, Y, Y, Y];
/// One booking of the resident's: the resident; other signed-in people get "not found" (never
/// a hint that it exists); keys may not book at all.
const OWN_BOOKING: [O; 10] = [U, F, F, F, F, F, F, Y, N, N];
/// Public reads: everyone, with or without a key.
const READ: [O; 10] = [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y];
/// A pending registration of 0180: those who may not see it get "not found"; the national body
/// sees it (ReadUnapproved) but may not decide it. A representative sees its own association's
/// registrations whatever their status, but deciding is the municipality's (DecideRegistration).
const SEE_PENDING: [O; 10] = [N, Y, N, N, N, Y, Y, N, Y, Y];
const DECIDE: [O; 10] = [N, Y, N, N, N, F, Y, N, Y, F];
/// The vendor directory (`ManageVendors`): admins only; a vendor's own key neither.
const MANAGE_VENDORS: [O; 10] = [U, F, F, F, F, F, Y, F, F, F];
/// One vendor's own fields and its checks (`ManageOwnVendor(id)`): that vendor's own keys and
/// admins; a vendor key of no vendor may not.
const OWN_VENDOR_ENTRY: [O; 10] = [U, F, F, F, Y, F, Y, F, F, F];
/// Following the change log (`FollowChanges`): any caller with a key; signed-in residents
/// (the representative is one) may not.
const FOLLOW: [O; 10] = [U, Y, Y, Y, Y, Y, Y, F, Y, F];

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
    ListVendors,
    GetVendor,
    ListCertifiedVendors,
    ListCertificationRuns,
    ListVendorUnits,
    CreateVendor,
    UpdateVendorName,
    UpdateVendorLimits,
    DeleteVendor,
    OverrideCertification,
    ClearCertificationOverride,
    RunVendorChecks,
    SetUnitVendor,
    ClearUnitVendor,
    SearchFacilities,
    SearchAssociations,
    SearchPendingAssociations,
    SearchAvailability,
    CreateBooking,
    FeedFacilities,
    FeedAssociations,
    AuditTrail,
    FacilityHistory,
    OwnPersonalData,
    AddRegistration,
    ResubmitRegistration,
    WithdrawRegistration,
    ListRegistrations,
    RegistrationInbox,
    MyAssociations,
    ListRepresentatives,
    AddRepresentative,
    RemoveRepresentative,
    ListMemberStatistics,
    ReportMemberStatistics,
    ListMyBookings,
    GetMyBooking,
    CancelMyBooking,
    ListAllocationRounds,
    GetAllocationRound,
    CreateAllocationRound,
    UpdateAllocationRound,
    ListAllocationApplications,
    SubmitAllocationApplication,
    WithdrawAllocationApplication,
    ListAllocationRuns,
    RunAllocation,
    GetUnpublishedRun,
    GetPublishedRun,
    GetFinalRun,
    EditAllocationRun,
    PublishAllocationRun,
    FinaliseAllocationRun,
    CommentOnAllocation,
    ListAllocationComments,
    ListAllocationSeries,
    RetryAllocationSeries,
    GetPublicAllocation,
    ListAllocationMatches,
    RequestAllocationMatch,
    WithdrawAllocationMatch,
    RunAllocationMatches,
    DecideAllocationMatches,
    ListGrantProgrammes,
    GetGrantProgramme,
    CreateGrantProgramme,
    UpdateGrantProgramme,
    CreateGrantApplication,
    ListGrantApplications,
    GetGrantApplication,
    GetDraftGrantApplication,
    UpdateGrantApplication,
    SubmitGrantApplication,
    WithdrawGrantApplication,
    AddGrantAttachment,
    GetGrantAttachment,
    DeleteGrantAttachment,
    AddAttendanceList,
    DeleteAttendanceList,
    RequestGrantCompletion,
    AssessGrantApplication,
    DecideGrantApplication,
    ListPaymentOrders,
    PreparePaymentOrder,
    GetPaymentOrder,
    AttestPaymentOrder,
    CancelPaymentOrder,
    GetPaymentFile,
    ListGrantDecisions,
    GetGrantStatistics,
}

impl Op {
    /// Whether gRPC offers the operation; REST-only rows are checked on REST alone.
    fn grpc(self) -> bool {
        !matches!(self, Op::AuditTrail | Op::FacilityHistory | Op::OwnPersonalData)
    }

    /// Whether the cell counts the 0180 items of an OK answer ([`O::Empty`] when none).
    fn counts(self) -> bool {
        matches!(
            self,
            Op::SearchPendingAssociations
                | Op::AuditTrail
                | Op::ListAllocationApplications
                | Op::GetUnpublishedRun
                | Op::GetPublishedRun
                | Op::GetFinalRun
                | Op::ListAllocationComments
                | Op::ListAllocationMatches
                | Op::ListGrantApplications
        )
    }
}

/// The expected table: one row per operation, one column per role (order of [`ROLES`]).
/// A cell where the two front ends disagree is listed in [`DIFFERS`] as well.
fn expected() -> Vec<(Op, [O; 10])> {
    vec![
        (Op::ListFacilities, READ),
        (Op::GetFacility, READ),
        (Op::CreateFacility, WRITE),
        (Op::UpdateFacility, WRITE),
        (Op::DeleteFacility, WRITE),
        (Op::ListAssociations, READ),
        (Op::GetApprovedAssociation, READ),
        (Op::GetPendingAssociation, SEE_PENDING),
        // Editors register for their municipality; any signed-in person may register a new
        // association as its first representative (RegisterAssociation).
        (Op::CreateAssociation, [U, Y, F, F, F, F, Y, Y, Y, Y]),
        // UpdateAssociation(0180), or Represent: its representative changes its details.
        (Op::UpdateAssociation, [U, Y, F, F, F, F, Y, F, Y, Y]),
        // DeleteAssociation(0180) for every municipality it is registered with; representatives
        // withdraw their registrations instead.
        (Op::DeleteAssociation, WRITE),
        (Op::ApproveRegistration, DECIDE),
        (Op::RejectRegistration, DECIDE),
        (Op::RequestCompletion, DECIDE),
        (Op::PutOpeningHours, WRITE),
        (Op::GetOpeningHours, READ),
        (Op::ExportApprovedAssociations, READ),
        // registrationStatus=pending for 0180 needs ReadUnapproved(0180) for every municipality
        // in the export: the 0180 editor, the national body and the admin.
        (Op::ExportPendingAssociations, [U, Y, F, F, F, Y, Y, F, Y, F]),
        // The vendor directory is public to read (ReadPublic; the credential's name is hidden).
        (Op::ListVendors, READ),
        (Op::GetVendor, READ),
        (Op::ListCertifiedVendors, READ),
        (Op::ListCertificationRuns, READ),
        (Op::ListVendorUnits, READ),
        // Registering, removing and overriding: ManageVendors (authorize_vendor_management
        // before the body is decoded or the endpoint asked).
        (Op::CreateVendor, MANAGE_VENDORS),
        // authorize_vendor_change lets the vendor's own key through, then the update refuses a
        // change of an operator field (the name) with 403: only admins.
        (Op::UpdateVendorName, MANAGE_VENDORS),
        // maxConcurrency is one of VENDOR_SELF_FIELDS: the vendor's own key and admins.
        (Op::UpdateVendorLimits, OWN_VENDOR_ENTRY),
        (Op::DeleteVendor, MANAGE_VENDORS),
        (Op::OverrideCertification, MANAGE_VENDORS),
        (Op::ClearCertificationOverride, MANAGE_VENDORS),
        // vendor_for_checks: RecordVendorChecks (admins, the registry's jobs) or ManageOwnVendor.
        (Op::RunVendorChecks, OWN_VENDOR_ENTRY),
        // AssignVendor(0180): 0180's editors and admins.
        (Op::SetUnitVendor, WRITE),
        (Op::ClearUnitVendor, WRITE),
        (Op::SearchFacilities, READ),
        // Without a status: every registration the caller may see (ReadPublic, then filtered).
        (Op::SearchAssociations, READ),
        // status=pending in 0180: service/search.rs refuses callers who may see no unapproved
        // registration anywhere (anonymous 401; vendors 403) and filters for the others: the 1480
        // editor may search its own pending registrations, so it is answered, with none of
        // 0180's (ReadUnapproved(0180) is false for it).
        (Op::SearchPendingAssociations, [U, Y, E, F, F, Y, Y, F, Y, F]),
        // The federated query is a search (ReadPublic), then the vendors are asked as the
        // registry (here the bookable facility's, which answers; without one it answers too).
        (Op::SearchAvailability, READ),
        // BookUnit: signed-in people (residents, staff, representatives) only.
        (Op::CreateBooking, BOOK),
        // WatchChanges needs FollowChanges (any key); the RPDE feeds are open data for anyone
        // (docs/exports.md), so the anonymous cells differ: see DIFFERS.
        (Op::FeedFacilities, FOLLOW),
        (Op::FeedAssociations, FOLLOW),
        // REST only. ReadAuditTrail: admins everything, editors their own municipality's data
        // (the 1480 editor is answered, without 0180's changes); anyone else is refused.
        (Op::AuditTrail, [U, Y, E, F, F, F, Y, F, Y, F]),
        // REST only. Public ("insyn").
        (Op::FacilityHistory, READ),
        // REST only. OwnPersonalData: a signed-in person's own data; no key holds a person.
        (Op::OwnPersonalData, [U, F, F, F, F, F, F, Y, Y, Y]),
        // Registering an approved 0180 association with 1480: Represent, else CreateAssociation(1480).
        (Op::AddRegistration, [U, F, Y, F, F, F, Y, F, F, Y]),
        // answer_registration: Represent or admin; 0180's staff and the national body see it (403),
        // callers who may not see a registration that is not approved get 404.
        (Op::ResubmitRegistration, [U, F, N, N, N, F, Y, N, F, Y]),
        // answer_registration as for resubmitting: the association withdraws, not the municipality.
        (Op::WithdrawRegistration, [U, F, N, N, N, F, Y, N, F, Y]),
        // A registration's history: representatives, national bodies, admins, DecideRegistration(0180).
        (Op::ListRegistrations, [U, Y, F, F, F, Y, Y, F, Y, Y]),
        // A municipality's inbox: ReadUnapproved(0180).
        (Op::RegistrationInbox, [U, Y, F, F, F, Y, Y, F, Y, F]),
        // OwnPersonalData: a signed-in person's associations; no key holds a person.
        (Op::MyAssociations, [U, F, F, F, F, F, F, Y, Y, Y]),
        // Personal data: Represent, or ReadContactPersons(0180), which needs the personal-data
        // scope (no key in the table holds it, the admin's neither).
        (Op::ListRepresentatives, [U, F, F, F, F, F, F, F, F, Y]),
        // may_act_for: Represent, UpdateAssociation(0180) or admin.
        (Op::AddRepresentative, [U, Y, F, F, F, F, Y, F, Y, Y]),
        // may_act_for as for adding (the cell removes a second one: the last always stays).
        (Op::RemoveRepresentative, [U, Y, F, F, F, F, Y, F, Y, Y]),
        // Represent, or ReadMemberStatistics(0180): 0180's staff, national bodies, admins.
        (Op::ListMemberStatistics, [U, Y, F, F, F, Y, Y, F, Y, Y]),
        // may_act_for: Represent, UpdateAssociation(0180) or admin.
        (Op::ReportMemberStatistics, [U, Y, F, F, F, F, Y, F, Y, Y]),
        // BookUnit: a signed-in person's own list (empty for those who booked nothing).
        (Op::ListMyBookings, BOOK),
        // owned_booking: the resident's booking is the resident's.
        (Op::GetMyBooking, OWN_BOOKING),
        (Op::CancelMyBooking, OWN_BOOKING),
        // Seasonal allocation. Rounds and their principles are public (ReadPublic).
        (Op::ListAllocationRounds, READ),
        (Op::GetAllocationRound, READ),
        // ManageAllocation(0180): its editors (keys and signed-in staff) and admins.
        (Op::CreateAllocationRound, WRITE),
        (Op::UpdateAllocationRound, WRITE),
        // ManageAllocation(0180) sees every application; a signed-in person is answered with
        // their associations' own (none for the resident); keys of others are refused.
        (Op::ListAllocationApplications, [U, Y, F, F, F, F, Y, E, Y, Y]),
        // Represent: a signed-in person who represents the association; keys never apply, not
        // even the admin's (the application is the association's).
        (Op::SubmitAllocationApplication, [U, F, F, F, F, F, F, F, F, Y]),
        // Represent; another signed-in person gets "not found" (never a hint that it exists).
        (Op::WithdrawAllocationApplication, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::ListAllocationRuns, WRITE),
        (Op::RunAllocation, WRITE),
        // A run that is neither published nor final: staff only; "not found" to everyone else.
        (Op::GetUnpublishedRun, [N, Y, N, N, N, N, Y, N, Y, N]),
        // The published (preliminary) run: staff all of it; a signed-in person their associations'
        // decisions (none for the resident); keys and anonymous callers "not found".
        (Op::GetPublishedRun, [N, Y, N, N, N, N, Y, N, Y, Y]),
        // The final run is open to everyone, with every decision.
        (Op::GetFinalRun, READ),
        (Op::EditAllocationRun, WRITE),
        (Op::PublishAllocationRun, WRITE),
        (Op::FinaliseAllocationRun, WRITE),
        // Represent, on the published preliminary allocation; as for withdrawing.
        (Op::CommentOnAllocation, [U, F, F, F, F, F, F, N, N, Y]),
        // As for the applications: staff all, a signed-in person their associations' own.
        (Op::ListAllocationComments, [U, Y, F, F, F, F, Y, E, Y, Y]),
        // The published allocation is open data.
        (Op::GetPublicAllocation, READ),
        // The final allocation at the vendors: staff only.
        (Op::ListAllocationSeries, WRITE),
        (Op::RetryAllocationSeries, WRITE),
        // Match times. As for the applications: staff all, a signed-in person their
        // associations' own (none for the resident); keys of others are refused.
        (Op::ListAllocationMatches, [U, Y, F, F, F, F, Y, E, Y, Y]),
        // Represent, on the team's application; another signed-in person gets "not found", as for
        // withdrawing an application; keys never ask, not even the admin's.
        (Op::RequestAllocationMatch, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::WithdrawAllocationMatch, [U, F, F, F, F, F, F, N, N, Y]),
        // ManageAllocation(0180), on the final round.
        (Op::RunAllocationMatches, WRITE),
        (Op::DecideAllocationMatches, WRITE),
        // Grants (föreningsbidrag). Programmes, the decided grants and the figures are public
        // (ReadPublic).
        (Op::ListGrantProgrammes, READ),
        (Op::GetGrantProgramme, READ),
        // ManageGrants(0180): its editors (keys and signed-in staff) and admins.
        (Op::CreateGrantProgramme, WRITE),
        (Op::UpdateGrantProgramme, WRITE),
        // Represent: a signed-in person who represents the association (the resident and staff
        // pass the first check and are refused by the association's own: 403); keys never apply,
        // not even the admin's.
        (Op::CreateGrantApplication, [U, F, F, F, F, F, F, F, F, Y]),
        // A programme's applications: staff see the sent ones; a signed-in person their
        // associations' own (none for the resident); keys of others are refused.
        (Op::ListGrantApplications, [U, Y, F, F, F, F, Y, E, Y, Y]),
        // Staff of 0180 and the association's representatives; to anyone else, anonymous callers
        // included, the application does not exist (404, never a hint that it does).
        (Op::GetGrantApplication, [N, Y, N, N, N, N, Y, N, Y, Y]),
        // A draft is the association's own until it is sent: staff and admins get "not found"
        // too, as in the inbox and the handling.
        (Op::GetDraftGrantApplication, [N, N, N, N, N, N, N, N, N, Y]),
        // The association's own (Represent), on a draft; another signed-in person, staff
        // included, gets "not found"; keys never act for an association.
        (Op::UpdateGrantApplication, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::SubmitGrantApplication, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::WithdrawGrantApplication, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::AddGrantAttachment, [U, F, F, F, F, F, F, N, N, Y]),
        // Read as the application is (every read audited).
        (Op::GetGrantAttachment, [N, Y, N, N, N, N, Y, N, Y, Y]),
        (Op::DeleteGrantAttachment, [U, F, F, F, F, F, F, N, N, Y]),
        // Staff read the application but do not upload for the association: "not found" too.
        (Op::AddAttendanceList, [U, F, F, F, F, F, F, N, N, Y]),
        (Op::DeleteAttendanceList, [U, F, F, F, F, F, F, N, N, Y]),
        // Handling a sent application: ManageGrants(0180).
        (Op::RequestGrantCompletion, WRITE),
        (Op::AssessGrantApplication, WRITE),
        (Op::DecideGrantApplication, WRITE),
        // Payout: ManageGrants(0180).
        (Op::ListPaymentOrders, WRITE),
        (Op::PreparePaymentOrder, WRITE),
        (Op::GetPaymentOrder, WRITE),
        // ManageGrants(0180), and a signed-in person who did not prepare the order (it is
        // prepared by someone else in the cell): the editor's and the admin's keys are refused
        // ("a key does not attest").
        (Op::AttestPaymentOrder, [U, F, F, F, F, F, F, F, Y, F]),
        (Op::CancelPaymentOrder, WRITE),
        // Of an attested order.
        (Op::GetPaymentFile, WRITE),
        (Op::ListGrantDecisions, READ),
        (Op::GetGrantStatistics, READ),
    ]
}

/// Cells where REST and gRPC are known to disagree: (operation, role index, REST, gRPC). The
/// test asserts exactly these observed values for such a cell.
const DIFFERS: &[(Op, usize, O, O)] = &[
    // Anonymous callers read the RPDE feeds (public open data: Registry::feed_page authorizes
    // ReadPublic; docs/exports.md says "anyone"), but may not hold a live stream of the change
    // log open (Action::FollowChanges: "any caller with a key"; WatchChanges answers
    // UNAUTHENTICATED). Two operations with two rules by design, both decided in the core;
    // recorded because the rows compare the two.
    (Op::FeedFacilities, ANONYMOUS, Y, U),
    (Op::FeedAssociations, ANONYMOUS, Y, U),
    // A signed-in resident likewise: the open feeds, yes; a live stream of the change log is for
    // systems and staff (FollowChanges), not residents.
    (Op::FeedFacilities, RESIDENT, Y, F),
    (Op::FeedAssociations, RESIDENT, Y, F),
    // The representative is a signed-in resident too.
    (Op::FeedFacilities, REPRESENTATIVE, Y, F),
    (Op::FeedAssociations, REPRESENTATIVE, Y, F),
];

#[derive(Clone, Copy)]
enum Side {
    Rest,
    Grpc,
}

/// How far a grant cell's fresh programme has come ([`Ctx::grants`]). Each stage's application
/// is of a fresh approved association, started by the representative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantStage {
    /// An application-grant programme taking applications.
    Programme,
    /// A draft, ready to send.
    Draft,
    /// A draft with an attachment.
    DraftWithAttachment,
    /// A draft of an activity grant.
    ActivityDraft,
    /// A draft of an activity grant with an attendance list.
    ActivityDraftWithList,
    /// The draft, sent.
    Submitted,
    /// The draft with its attachment, sent.
    SubmittedWithAttachment,
    /// Sent and approved.
    Approved,
    /// Approved, in a payment order prepared by someone else than the cell's callers.
    Ordered,
    /// The order, attested by a second person.
    Attested,
}

/// A grant cell's programme, with its application, attachment, attendance list and payment
/// order where the stage has them.
struct GrantSetUp {
    programme: grants::model::Programme,
    application: Option<grants::model::Application>,
    attachment: Option<uuid::Uuid>,
    list: Option<uuid::Uuid>,
    order: Option<grants::model::PaymentOrder>,
}

impl GrantSetUp {
    fn application(&self) -> &grants::model::Application {
        self.application.as_ref().expect("the stage has an application")
    }

    fn order(&self) -> &grants::model::PaymentOrder {
        self.order.as_ref().expect("the stage has a payment order")
    }
}

/// How far an allocation cell's fresh round has come ([`Ctx::allocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    Applied,
    Run,
    Published,
    Commented,
    Final,
    /// Final, with a match time the representative asked for.
    Matched,
    /// `Matched`, and a run of match times.
    MatchRun,
}

/// An allocation cell's round, as it stands, with its application and run (from `Applied` and
/// `Run` on), its match request (from `Matched` on) and its run of match times (`MatchRun`).
struct AllocationSetUp {
    round: Round,
    application: Option<Application>,
    run: Option<Run>,
    match_request: Option<Match>,
    match_run: Option<Run>,
}

impl AllocationSetUp {
    fn application(&self) -> &Application {
        self.application.as_ref().expect("the stage has an application")
    }

    fn run(&self) -> &Run {
        self.run.as_ref().expect("the stage has a run")
    }

    fn match_request(&self) -> &Match {
        self.match_request.as_ref().expect("the stage has a match request")
    }

    fn match_run(&self) -> &Run {
        self.match_run.as_ref().expect("the stage has a run of match times")
    }
}

struct Ctx<'a> {
    app: &'a TestApp,
    channel: tonic::transport::Channel,
    admin: Principal,
    /// Each role's key, in the order of [`ROLES`]; the own vendor's is bound to `booking_vendor`.
    keys: [String; 10],
    /// The live vendor's endpoint (a fault vendor that takes bookings, on loopback).
    endpoint: String,
    /// Registered through REST with a passing run; books `bookable`'s first unit ("hall-a").
    booking_vendor: Vendor,
    /// A facility of 0180 whose first unit is booked through `booking_vendor`.
    bookable: Facility,
    /// A vendor serving 0180 that the unit cells choose (set up through the core).
    unit_vendor: Vendor,
    /// The unit of 0180 that the allocation rounds allocate (weekday evenings).
    hall: uuid::Uuid,
    /// The representative column's person as the core knows it, who applies and comments in
    /// the allocation set-ups.
    representative: Principal,
    /// A signed-in member of 0180's staff as the core knows them (not the staff column's
    /// person), who attests the grant set-ups' payment orders.
    attester: Principal,
    /// Distinct numbers for association organisation numbers, names and references.
    next: std::cell::Cell<u32>,
}

impl Ctx<'_> {
    fn n(&self) -> u32 {
        let n = self.next.get();
        self.next.set(n + 1);
        n
    }

    /// A booking the resident makes now (an hour of its own at the fault vendor): its registry id.
    async fn residents_booking(&self) -> String {
        let n = self.n();
        let mut day = tests::dates::ordinary_day_after(60);
        for _ in 0..n / 16 {
            day = tests::dates::ordinary_day(day + chrono::Duration::days(1));
        }
        let start = tests::dates::at(day, 6 + n % 16);
        let body = json!({"facilityId": self.bookable.id, "unitId": self.bookable.units[0].id, "start": start,
            "end": start + chrono::Duration::hours(1), "mode": "direct",
            "customer": {"type": "private_person", "name": "Anna Andersson", "email": "anna@example.se"}});
        let req = self.request(Method::POST, "/v1/bookings", &self.keys[RESIDENT]).header("idempotency-key", format!("matrix-own-{n:06}"));
        let (answer, b) = send(req.json(&body)).await;
        assert_eq!(answer.class, O::Ok, "the resident books: {b}");
        b["id"].as_str().unwrap().to_string()
    }

    async fn facility(&self) -> Facility {
        let name = format!("Matrix hall {}", self.n());
        self.app.registry.create_facility(&self.admin, &fixtures::facility("0180", &name)).await.unwrap()
    }

    /// A pending association of 0180, with the representative column's person listed as its
    /// representative.
    async fn pending(&self) -> Association {
        let a = self.app.registry.create_association(&self.admin, &fixtures::association("0180", self.n())).await.unwrap();
        let rita = NewRepresentative { personal_identity_number: REPRESENTATIVE_PIN.into(), name: "Rita Representant".into() };
        self.app.registry.add_representative(&self.admin, a.id, &rita).await.unwrap();
        // Adding a representative raises the version: the cells write at the current one.
        self.app.registry.get_association(&self.admin, a.id).await.unwrap()
    }

    /// [`Ctx::pending`], approved by 0180 (the decision returns the current version).
    async fn approved(&self) -> Association {
        let a = self.pending().await;
        self.app.registry.decide_registration(&self.admin, a.id, None, None, &Decision::Approve).await.unwrap()
    }

    /// A valid personal identity number no one else in the matrix has: a birth date from 1950 on
    /// (one a call), serial 472, and the Luhn check digit over the ten-digit form.
    fn fresh_pin(&self) -> String {
        let day = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Duration::days(i64::from(self.n()));
        let nine = format!("{}472", day.format("%y%m%d"));
        let sum: u32 = nine
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
                if d > 9 { d - 9 } else { d }
            })
            .sum();
        format!("{}472{}", day.format("%Y%m%d"), (10 - sum % 10) % 10)
    }

    /// A fresh vendor at the live endpoint serving 0180, through the core with a passing run
    /// (no run against the endpoint: the cells under test are the front ends' calls).
    async fn vendor(&self) -> Vendor {
        let input = vendor_input(&format!("Matrix vendor {}", self.n()), &self.endpoint);
        self.app.registry.create_vendor(&self.admin, &input, fixtures::passing_checks(), None).await.unwrap()
    }

    /// The key of `role` for a cell on vendor `v`'s entry: the own vendor's key is bound to `v`.
    async fn key_on(&self, role: usize, v: &Vendor) -> String {
        if role == OWN_VENDOR { self.app.vendor_key(v.id).await } else { self.keys[role].clone() }
    }

    /// A round of 0180 over [`Ctx::hall`] (weekday evenings), taking applications now.
    fn round_input(&self) -> RoundInput {
        let now = self.app.registry.now();
        let start = now.date_naive() + chrono::Duration::days(60);
        let evening = |day| DayTime { day, from: "16:00".into(), to: "22:00".into(), reason: String::new() };
        RoundInput {
            municipality_code: "0180".into(),
            name: format!("Matrix round {}", self.n()),
            season_start: start,
            season_end: start + chrono::Duration::days(7 * 16 - 1),
            breaks: vec![],
            applications_open: now - chrono::Duration::days(1),
            applications_close: now + chrono::Duration::days(30),
            grid_minutes: 30,
            units: vec![RoundUnit { unit_id: self.hall, activities: vec![], hours: (1..=5).map(evening).collect(), blocks: vec![] }],
            principles: Principles {
                groups: vec![PriorityGroup { code: "children_youth".into(), weight: 1.0, max_age: None, genders: vec![] }],
                rank_decay: 0.25,
                max_hours_per_association: None,
                one_session_per_team_per_day: true,
                description: String::new(),
            },
        }
    }

    /// One team of `association` wanting an hour on Monday evening in [`Ctx::hall`].
    fn application_input(&self, association: uuid::Uuid) -> ApplicationInput {
        let alternative = Alternative { day: 1, earliest_start: "17:00".into(), latest_end: "19:00".into(), units: vec![self.hall] };
        ApplicationInput {
            association_id: association,
            team: Team {
                name: "P12".into(),
                activity: "floorball".into(),
                age_from: 11,
                age_to: 12,
                gender: Gender::Male,
                participants: 14,
                level: String::new(),
            },
            wishes: vec![Wish { duration_minutes: 60, times_per_week: 1, alternatives: vec![alternative] }],
        }
    }

    /// One home match on the season's first Monday evening in [`Ctx::hall`] (a date not passed:
    /// the season starts 60 days from now).
    fn match_input(&self, round: &Round) -> MatchInput {
        use chrono::Datelike;
        let start = round.input.season_start;
        let monday = start + chrono::Duration::days(i64::from((7 - start.weekday().num_days_from_monday()) % 7));
        MatchInput {
            duration_minutes: 60,
            alternatives: vec![MatchAlternative {
                date: monday,
                earliest_start: "19:00".into(),
                latest_end: "21:00".into(),
                units: vec![self.hall],
            }],
            note: "Matrix: home match".into(),
        }
    }

    /// A fresh round of 0180 (through the core) brought to `stage`: with an application of a
    /// fresh approved association sent by the representative, a run of it, that run published,
    /// a comment of the representative on it, or that run final; then a match time the
    /// representative asks for, and a run of match times.
    async fn allocation(&self, stage: Stage) -> AllocationSetUp {
        let service = Allocations::new(self.app.registry.clone());
        let mut round = service.create_round(&self.admin, &self.round_input()).await.unwrap();
        let mut set_up = AllocationSetUp { round: round.clone(), application: None, run: None, match_request: None, match_run: None };
        if stage == Stage::Open {
            return set_up;
        }
        let association = self.approved().await;
        let application =
            service.submit_application(&self.representative, round.id, &self.application_input(association.id)).await.unwrap();
        set_up.application = Some(application.clone());
        if stage == Stage::Applied {
            return set_up;
        }
        let run = service.run(&self.admin, round.id, &RunRequest { label: "matrix".into(), ..RunRequest::default() }).await.unwrap();
        set_up.run = Some(run.clone());
        match stage {
            Stage::Published | Stage::Commented => {
                round = service.publish(&self.admin, round.id, run.id, None).await.unwrap();
                if stage == Stage::Commented {
                    service.comment(&self.representative, application.id, "Matrix: could we have 18:00?").await.unwrap();
                }
            }
            Stage::Final | Stage::Matched | Stage::MatchRun => {
                round = service.finalise(&self.admin, round.id, run.id, None).await.unwrap();
            }
            _ => {}
        }
        if matches!(stage, Stage::Matched | Stage::MatchRun) {
            let input = self.match_input(&round);
            set_up.match_request = Some(service.request_match(&self.representative, application.id, &input).await.unwrap());
        }
        if stage == Stage::MatchRun {
            set_up.match_run = Some(service.run_matches(&self.admin, round.id, "matrix matches").await.unwrap());
        }
        set_up.round = round;
        set_up
    }

    /// A programme of 0180 of `kind` taking applications now, for a period that began 60 days
    /// ago (its rules the defaults).
    fn grant_programme_input(&self, kind: grants::model::ProgrammeKind) -> grants::model::ProgrammeInput {
        let (now, today) = (self.app.registry.now(), tests::dates::today());
        grants::model::ProgrammeInput {
            municipality_code: "0180".into(),
            name: format!("Matrix programme {}", self.n()),
            description: String::new(),
            kind,
            activity: None,
            basic: None,
            application: None,
            period_from: today - chrono::Duration::days(60),
            period_to: today + chrono::Duration::days(30),
            applications_open: now - chrono::Duration::days(1),
            applications_close: now + chrono::Duration::days(10),
            budget_minor: 10_000_000,
        }
    }

    /// An application of `association`, complete enough to send: a title, a description, the
    /// amount asked and a bankgiro number.
    fn grant_application_input(&self, association: uuid::Uuid) -> grants::model::ApplicationInput {
        grants::model::ApplicationInput {
            association_id: association,
            title: "Matrix cup".into(),
            description: "Ungdomscup i juni".into(),
            requested_minor: Some(100_000),
            payee: Some(grants::account::Account::Bankgiro { number: "5050-1055".into() }),
        }
    }

    /// The payment order of `application`, paid in three days from 0180's bankgiro.
    fn payment_order_input(&self, application: uuid::Uuid) -> grants::model::PaymentOrderInput {
        grants::model::PaymentOrderInput {
            municipality_code: "0180".into(),
            application_ids: vec![application],
            execution_date: tests::dates::today() + chrono::Duration::days(3),
            debtor: grants::model::Debtor {
                name: "Stockholms stad".into(),
                org_number: "212000-0142".into(),
                account: grants::account::Account::Bankgiro { number: "5050-1055".into() },
                bic: None,
            },
        }
    }

    /// A fresh programme of 0180 (through the core) brought to `stage`: a draft of a fresh
    /// approved association by the representative, with an attachment or (of an activity
    /// grant) an attendance list; sent; approved by the admin; in a payment order the admin
    /// prepares; attested by [`Ctx::attester`].
    async fn grants(&self, stage: GrantStage) -> GrantSetUp {
        use GrantStage as G;
        let service = grants::Grants::new(self.app.registry.clone());
        let activity = matches!(stage, G::ActivityDraft | G::ActivityDraftWithList);
        let kind = if activity { grants::model::ProgrammeKind::Activity } else { grants::model::ProgrammeKind::Application };
        let programme = service.create_programme(&self.admin, &self.grant_programme_input(kind)).await.unwrap();
        let mut set_up = GrantSetUp { programme: programme.clone(), application: None, attachment: None, list: None, order: None };
        if stage == G::Programme {
            return set_up;
        }
        let association = self.approved().await;
        let rep = &self.representative;
        let mut application = service.create_application(rep, programme.id, &self.grant_application_input(association.id)).await.unwrap();
        if matches!(stage, G::DraftWithAttachment | G::SubmittedWithAttachment) {
            let a = service.add_attachment(rep, application.id, "budget.pdf", MATRIX_PDF.to_vec()).await.unwrap();
            set_up.attachment = Some(a.id);
        }
        if stage == G::ActivityDraftWithList {
            let l = service.add_attendance(rep, application.id, "ht.csv", attendance_csv()).await.unwrap();
            set_up.list = Some(l.id);
        }
        if matches!(stage, G::Draft | G::DraftWithAttachment | G::ActivityDraft | G::ActivityDraftWithList) {
            set_up.application = Some(service.get_application(rep, application.id).await.unwrap());
            return set_up;
        }
        application = service.submit(rep, application.id, None).await.unwrap();
        if matches!(stage, G::Approved | G::Ordered | G::Attested) {
            let decision = grants::model::DecisionInput {
                outcome: grants::model::Outcome::Approved,
                amount_minor: 50_000,
                reasons: String::new(),
                authority: grants::model::Authority::Delegation,
                reference: "Delegationsordning 4.2".into(),
            };
            application = service.decide(&self.admin, application.id, &decision, None).await.unwrap();
        }
        if matches!(stage, G::Ordered | G::Attested) {
            let mut order = service.prepare_order(&self.admin, &self.payment_order_input(application.id)).await.unwrap();
            if stage == G::Attested {
                order = service.attest_order(&self.attester, order.id, None).await.unwrap();
            }
            set_up.order = Some(order);
        }
        set_up.application = Some(application);
        set_up
    }

    fn vendors(&self) -> VendorDirectoryServiceClient<tonic::transport::Channel> {
        VendorDirectoryServiceClient::new(self.channel.clone())
    }

    fn request(&self, method: Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        let req = self.app.http().request(method, self.app.url(path));
        if let Some((cookie, csrf)) = tests::session_key(key) {
            return req.header("cookie", cookie).header("x-csrf-token", csrf);
        }
        if key.is_empty() { req } else { req.header("x-api-key", key) }
    }

    async fn rest(&self, method: Method, path: &str, key: &str, body: Option<Value>, if_match: Option<i64>) -> Answer {
        let mut req = self.request(method, path, key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        send(req).await.0
    }

    async fn run(&self, op: Op, side: Side, role: usize) -> Answer {
        let key = self.keys[role].as_str();
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
                        assoc()
                            .approve_registration(with_key(
                                pb::ApproveRegistrationRequest { id, expected_version: v, ..Default::default() },
                                key,
                            ))
                            .await,
                    ),
                    (Op::RejectRegistration, Side::Grpc) => grpc_answer(
                        assoc()
                            .reject_registration(with_key(
                                pb::RejectRegistrationRequest {
                                    id,
                                    reason: "Not a non-profit association".into(),
                                    expected_version: v,
                                    ..Default::default()
                                },
                                key,
                            ))
                            .await,
                    ),
                    (_, Side::Grpc) => grpc_answer(
                        assoc()
                            .request_completion(with_key(
                                pb::RequestCompletionRequest {
                                    id,
                                    message: "Please add the statutes".into(),
                                    expected_version: v,
                                    ..Default::default()
                                },
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
                        let req = self
                            .request(Method::PUT, &format!("/v1/facilities/{}/opening-hours", f.id), key)
                            .header("content-type", "text/plain")
                            .body(osm);
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
                        // An error may also come as the stream's status: read it to the end.
                        drain(ExportServiceClient::new(self.channel.clone()).export_associations(with_key(req, key)).await).await
                    }
                }
            }
            (Op::ListVendors, Side::Rest) => self.rest(Method::GET, "/v1/vendors?municipalityCode=0180", key, None, None).await,
            (Op::ListVendors, Side::Grpc) => {
                grpc_answer(self.vendors().list_vendors(with_key(pb::ListVendorsRequest { municipality_code: "0180".into() }, key)).await)
            }
            (Op::GetVendor | Op::ListCertificationRuns | Op::ListVendorUnits, side) => {
                let id = self.booking_vendor.id.to_string();
                match (op, side) {
                    (Op::GetVendor, Side::Rest) => self.rest(Method::GET, &format!("/v1/vendors/{id}"), key, None, None).await,
                    (Op::ListCertificationRuns, Side::Rest) => {
                        self.rest(Method::GET, &format!("/v1/vendors/{id}/certification/runs"), key, None, None).await
                    }
                    (_, Side::Rest) => self.rest(Method::GET, &format!("/v1/vendors/{id}/units"), key, None, None).await,
                    (Op::GetVendor, Side::Grpc) => grpc_answer(self.vendors().get_vendor(with_key(pb::GetVendorRequest { id }, key)).await),
                    (Op::ListCertificationRuns, Side::Grpc) => {
                        let req = pb::ListCertificationRunsRequest { id, ..Default::default() };
                        grpc_answer(self.vendors().list_certification_runs(with_key(req, key)).await)
                    }
                    (_, Side::Grpc) => {
                        grpc_answer(self.vendors().list_vendor_units(with_key(pb::ListVendorUnitsRequest { id }, key)).await)
                    }
                }
            }
            (Op::ListCertifiedVendors, Side::Rest) => self.rest(Method::GET, "/v1/vendors/certified", key, None, None).await,
            (Op::ListCertifiedVendors, Side::Grpc) => {
                grpc_answer(self.vendors().list_certified_vendors(with_key(pb::ListCertifiedVendorsRequest {}, key)).await)
            }
            (Op::CreateVendor, side) => {
                // With the live endpoint: an admin's create runs the conformance kit against it,
                // which passes; everyone else is refused before it is asked.
                let name = format!("Matrix new vendor {}", self.n());
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(vendor_input(&name, &self.endpoint)).unwrap();
                        self.rest(Method::POST, "/v1/vendors", key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::CreateVendorRequest { vendor: Some(vendor_pb(&name, &self.endpoint)), certification_override: None };
                        grpc_answer(self.vendors().create_vendor(with_key(req, key)).await)
                    }
                }
            }
            (Op::UpdateVendorName | Op::UpdateVendorLimits, side) => {
                let v = self.vendor().await;
                let key = self.key_on(role, &v).await;
                let (patch, mask, change) = if op == Op::UpdateVendorName {
                    let name = format!("{} renamed", v.name);
                    (json!({"name": name}), "name", vendor_pb(&name, &self.endpoint))
                } else {
                    (
                        json!({"maxConcurrency": 4}),
                        "max_concurrency",
                        pb::VendorInput { max_concurrency: Some(4), ..vendor_pb(&v.name, &self.endpoint) },
                    )
                };
                match side {
                    Side::Rest => self.rest(Method::PATCH, &format!("/v1/vendors/{}", v.id), &key, Some(patch), Some(v.version)).await,
                    Side::Grpc => {
                        let req = pb::UpdateVendorRequest {
                            id: v.id.to_string(),
                            vendor: Some(change),
                            update_mask: Some(prost_types::FieldMask { paths: vec![mask.into()] }),
                            expected_version: v.version,
                            certification_override: None,
                        };
                        grpc_answer(self.vendors().update_vendor(with_key(req, &key)).await)
                    }
                }
            }
            (Op::DeleteVendor, side) => {
                let v = self.vendor().await;
                let key = self.key_on(role, &v).await;
                match side {
                    Side::Rest => self.rest(Method::DELETE, &format!("/v1/vendors/{}", v.id), &key, None, Some(v.version)).await,
                    Side::Grpc => {
                        let req = pb::DeleteVendorRequest { id: v.id.to_string(), expected_version: v.version };
                        grpc_answer(self.vendors().delete_vendor(with_key(req, &key)).await)
                    }
                }
            }
            (Op::OverrideCertification | Op::ClearCertificationOverride, side) => {
                let v = self.vendor().await;
                let reason = "Matrix test: federated while the vendor fixes its checks";
                let clear = op == Op::ClearCertificationOverride;
                if clear {
                    let o = OverrideInput { reason: reason.into(), until: None };
                    self.app.registry.override_certification(&self.admin, v.id, None, Some(&o)).await.unwrap();
                }
                let key = self.key_on(role, &v).await;
                let path = format!("/v1/vendors/{}/certification/override", v.id);
                match side {
                    Side::Rest if clear => self.rest(Method::DELETE, &path, &key, None, None).await,
                    Side::Rest => self.rest(Method::PUT, &path, &key, Some(json!({"reason": reason})), None).await,
                    Side::Grpc => {
                        let o = (!clear).then(|| pb::OverrideInput { reason: reason.into(), until: None });
                        let req = pb::OverrideCertificationRequest { id: v.id.to_string(), certification_override: o, expected_version: 0 };
                        grpc_answer(self.vendors().override_certification(with_key(req, &key)).await)
                    }
                }
            }
            (Op::RunVendorChecks, side) => {
                let v = self.vendor().await;
                let key = self.key_on(role, &v).await;
                match side {
                    Side::Rest => self.rest(Method::POST, &format!("/v1/vendors/{}/checks", v.id), &key, None, None).await,
                    Side::Grpc => {
                        let req = pb::RunVendorChecksRequest { id: v.id.to_string() };
                        grpc_answer(self.vendors().run_vendor_checks(with_key(req, &key)).await)
                    }
                }
            }
            (Op::SetUnitVendor | Op::ClearUnitVendor, side) => {
                let f = self.facility().await;
                let unit = f.units[0].id;
                let external_ref = format!("matrix-{}", self.n());
                let clear = op == Op::ClearUnitVendor;
                if clear {
                    let chosen = Some((self.unit_vendor.id, external_ref.clone()));
                    self.app.registry.set_unit_vendor(&self.admin, f.id, unit, chosen).await.unwrap();
                }
                let path = format!("/v1/facilities/{}/units/{unit}/vendor", f.id);
                match side {
                    Side::Rest if clear => self.rest(Method::DELETE, &path, key, None, None).await,
                    Side::Rest => {
                        let body = json!({"vendorId": self.unit_vendor.id, "externalRef": external_ref});
                        self.rest(Method::PUT, &path, key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::SetUnitVendorRequest {
                            facility_id: f.id.to_string(),
                            unit_id: unit.to_string(),
                            vendor_id: if clear { String::new() } else { self.unit_vendor.id.to_string() },
                            external_ref: if clear { String::new() } else { external_ref },
                        };
                        grpc_answer(self.vendors().set_unit_vendor(with_key(req, key)).await)
                    }
                }
            }
            (Op::SearchFacilities, Side::Rest) => {
                self.rest(Method::GET, "/v1/search/facilities?municipalities=0180", key, None, None).await
            }
            (Op::SearchFacilities, Side::Grpc) => {
                let req = pb::SearchFacilitiesRequest { municipalities: vec!["0180".into()], ..Default::default() };
                grpc_answer(SearchServiceClient::new(self.channel.clone()).search_facilities(with_key(req, key)).await)
            }
            (Op::SearchAssociations | Op::SearchPendingAssociations, side) => {
                let pending = op == Op::SearchPendingAssociations;
                match side {
                    Side::Rest => {
                        let path = if pending {
                            "/v1/search/associations?municipalities=0180&status=REGISTRATION_STATUS_PENDING"
                        } else {
                            "/v1/search/associations?municipalities=0180"
                        };
                        let (answer, body) = send(self.request(Method::GET, path, key)).await;
                        if op.counts() { answer.counted(body["associations"].as_array().map_or(0, Vec::len)) } else { answer }
                    }
                    Side::Grpc => {
                        let req = pb::SearchAssociationsRequest {
                            municipalities: vec!["0180".into()],
                            status: if pending { pb::RegistrationStatus::Pending as i32 } else { 0 },
                            ..Default::default()
                        };
                        let r = SearchServiceClient::new(self.channel.clone()).search_associations(with_key(req, key)).await;
                        let n = r.as_ref().map_or(0, |r| r.get_ref().associations.len());
                        if op.counts() { grpc_answer(r).counted(n) } else { grpc_answer(r) }
                    }
                }
            }
            (Op::SearchAvailability, side) => {
                // The bookable facility, whose vendor is asked (the fault vendor answers at once).
                let day = tests::dates::ordinary_day_after(3);
                let (from, to) = (tests::dates::at(day, 17), tests::dates::at(day, 21));
                match side {
                    Side::Rest => {
                        let z = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                        let path = format!("/v1/availability?facilityIds={}&from={}&to={}", self.bookable.id, z(from), z(to));
                        self.rest(Method::GET, &path, key, None, None).await
                    }
                    Side::Grpc => {
                        let req = pb::SearchAvailabilityRequest {
                            from: Some(timestamp(from)),
                            to: Some(timestamp(to)),
                            facility_ids: vec![self.bookable.id.to_string()],
                            ..Default::default()
                        };
                        drain(AvailabilityServiceClient::new(self.channel.clone()).search_availability(with_key(req, key)).await).await
                    }
                }
            }
            (Op::CreateBooking, side) => {
                // A real booking at the fault vendor (open 06-24): an hour of its own for every call.
                let n = self.n();
                // Sixteen hours a day, on distinct ordinary days: two offsets can lead to the same
                // ordinary day over a weekend, so the days are counted, not the offsets.
                let mut day = tests::dates::ordinary_day_after(3);
                for _ in 0..n / 16 {
                    day = tests::dates::ordinary_day(day + chrono::Duration::days(1));
                }
                let start = tests::dates::at(day, 6 + n % 16);
                let end = start + chrono::Duration::hours(1);
                let idempotency_key = format!("matrix-booking-{n:06}");
                let unit = self.bookable.units[0].id;
                match side {
                    Side::Rest => {
                        let body = json!({"facilityId": self.bookable.id, "unitId": unit, "start": start, "end": end, "mode": "direct",
                            "customer": {"type": "private_person", "name": "Kim Svensson", "email": "kim@example.se"}});
                        let req = self.request(Method::POST, "/v1/bookings", key).header("idempotency-key", idempotency_key).json(&body);
                        send(req).await.0
                    }
                    Side::Grpc => {
                        let req = pb::CreateBookingRequest {
                            idempotency_key,
                            facility_id: self.bookable.id.to_string(),
                            unit_id: unit.to_string(),
                            start: Some(timestamp(start)),
                            end: Some(timestamp(end)),
                            mode: pb::BookingMode::Direct as i32,
                            customer: Some(pb::BookingCustomer {
                                r#type: pb::BookingCustomerType::PrivatePerson as i32,
                                name: "Kim Svensson".into(),
                                email: "kim@example.se".into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        };
                        grpc_answer(BookingServiceClient::new(self.channel.clone()).create_booking(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListMyBookings, side) => match side {
                Side::Rest => self.rest(Method::GET, "/v1/me/bookings", key, None, None).await,
                Side::Grpc => grpc_answer(
                    BookingServiceClient::new(self.channel.clone())
                        .list_my_bookings(with_key(pb::ListMyBookingsRequest::default(), key))
                        .await,
                ),
            },
            (Op::GetMyBooking | Op::CancelMyBooking, side) => {
                let id = self.residents_booking().await;
                let mut c = BookingServiceClient::new(self.channel.clone());
                match (op, side) {
                    (Op::GetMyBooking, Side::Rest) => self.rest(Method::GET, &format!("/v1/bookings/{id}"), key, None, None).await,
                    (Op::GetMyBooking, Side::Grpc) => grpc_answer(c.get_booking(with_key(pb::GetRegistryBookingRequest { id }, key)).await),
                    (_, Side::Rest) => self.rest(Method::DELETE, &format!("/v1/bookings/{id}"), key, None, None).await,
                    (_, Side::Grpc) => {
                        grpc_answer(c.cancel_booking(with_key(pb::CancelRegistryBookingRequest { id, reason: String::new() }, key)).await)
                    }
                }
            }
            (Op::FeedFacilities | Op::FeedAssociations, side) => {
                let (path, entity) =
                    if op == Op::FeedFacilities { ("/v1/feeds/facilities", "facility") } else { ("/v1/feeds/associations", "association") };
                match side {
                    Side::Rest => self.rest(Method::GET, path, key, None, None).await,
                    Side::Grpc => {
                        let req = pb::WatchChangesRequest { after_seq: 0, entities: vec![entity.into()] };
                        first_message(ChangeServiceClient::new(self.channel.clone()).watch_changes(with_key(req, key)).await).await
                    }
                }
            }
            (Op::AuditTrail, Side::Rest) => {
                let f = self.facility().await;
                let (answer, body) = send(self.request(Method::GET, &format!("/v1/audit?entity=facility&id={}", f.id), key)).await;
                answer.counted(body["changes"].as_array().map_or(0, Vec::len))
            }
            (Op::FacilityHistory, Side::Rest) => {
                let f = self.facility().await;
                self.rest(Method::GET, &format!("/v1/facilities/{}/history", f.id), key, None, None).await
            }
            (Op::OwnPersonalData, Side::Rest) => self.rest(Method::GET, "/v1/me/personal-data", key, None, None).await,
            (Op::AuditTrail | Op::FacilityHistory | Op::OwnPersonalData, Side::Grpc) => unreachable!("REST only: {op:?}"),
            (Op::AddRegistration, side) => {
                let a = self.approved().await;
                match side {
                    Side::Rest => {
                        let path = format!("/v1/associations/{}/registrations", a.id);
                        self.rest(Method::POST, &path, key, Some(json!({"municipalityCode": "1480"})), None).await
                    }
                    Side::Grpc => {
                        let req =
                            pb::AddRegistrationRequest { id: a.id.to_string(), municipality_code: "1480".into(), expected_version: 0 };
                        grpc_answer(assoc().add_registration(with_key(req, key)).await)
                    }
                }
            }
            (Op::ResubmitRegistration | Op::WithdrawRegistration, side) => {
                let a = self.pending().await;
                let resubmit = op == Op::ResubmitRegistration;
                if resubmit {
                    let back = Decision::RequestCompletion { message: "Add statutes".into() };
                    self.app.registry.decide_registration(&self.admin, a.id, None, None, &back).await.unwrap();
                }
                let id = a.id.to_string();
                let message = "Statutes attached";
                match side {
                    Side::Rest if resubmit => {
                        let path = format!("/v1/associations/{id}/registrations/0180/resubmit");
                        self.rest(Method::POST, &path, key, Some(json!({"message": message})), None).await
                    }
                    Side::Rest => {
                        self.rest(Method::POST, &format!("/v1/associations/{id}/registrations/0180/withdraw"), key, None, None).await
                    }
                    Side::Grpc if resubmit => {
                        let req = pb::ResubmitRegistrationRequest {
                            id,
                            municipality_code: "0180".into(),
                            message: message.into(),
                            expected_version: 0,
                        };
                        grpc_answer(assoc().resubmit_registration(with_key(req, key)).await)
                    }
                    Side::Grpc => {
                        let req = pb::WithdrawRegistrationRequest { id, municipality_code: "0180".into(), expected_version: 0 };
                        grpc_answer(assoc().withdraw_registration(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListRegistrations | Op::ListRepresentatives | Op::ListMemberStatistics, side) => {
                let a = self.approved().await;
                let id = a.id.to_string();
                match (op, side) {
                    (Op::ListRegistrations, Side::Rest) => {
                        self.rest(Method::GET, &format!("/v1/associations/{id}/registrations"), key, None, None).await
                    }
                    (Op::ListRepresentatives, Side::Rest) => {
                        self.rest(Method::GET, &format!("/v1/associations/{id}/representatives"), key, None, None).await
                    }
                    (_, Side::Rest) => self.rest(Method::GET, &format!("/v1/associations/{id}/member-statistics"), key, None, None).await,
                    (Op::ListRegistrations, Side::Grpc) => {
                        grpc_answer(assoc().list_registrations(with_key(pb::ListRegistrationsRequest { id }, key)).await)
                    }
                    (Op::ListRepresentatives, Side::Grpc) => {
                        grpc_answer(assoc().list_representatives(with_key(pb::ListRepresentativesRequest { id }, key)).await)
                    }
                    (_, Side::Grpc) => {
                        grpc_answer(assoc().list_member_statistics(with_key(pb::ListMemberStatisticsRequest { id }, key)).await)
                    }
                }
            }
            (Op::RegistrationInbox, Side::Rest) => self.rest(Method::GET, "/v1/municipalities/0180/registrations", key, None, None).await,
            (Op::RegistrationInbox, Side::Grpc) => {
                let req = pb::ListRegistrationInboxRequest { municipality_code: "0180".into(), ..Default::default() };
                grpc_answer(assoc().list_registration_inbox(with_key(req, key)).await)
            }
            (Op::MyAssociations, Side::Rest) => self.rest(Method::GET, "/v1/me/associations", key, None, None).await,
            (Op::MyAssociations, Side::Grpc) => {
                grpc_answer(assoc().list_my_associations(with_key(pb::ListMyAssociationsRequest {}, key)).await)
            }
            (Op::AddRepresentative, side) => {
                let a = self.approved().await;
                let pin = self.fresh_pin();
                match side {
                    Side::Rest => {
                        let body = json!({"personalIdentityNumber": pin, "name": "Nils Ny"});
                        self.rest(Method::POST, &format!("/v1/associations/{}/representatives", a.id), key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req =
                            pb::AddRepresentativeRequest { id: a.id.to_string(), personal_identity_number: pin, name: "Nils Ny".into() };
                        grpc_answer(assoc().add_representative(with_key(req, key)).await)
                    }
                }
            }
            (Op::RemoveRepresentative, side) => {
                // A second representative to remove: the last one may never go.
                let a = self.approved().await;
                let other = NewRepresentative { personal_identity_number: self.fresh_pin(), name: "Olle Andre".into() };
                self.app.registry.add_representative(&self.admin, a.id, &other).await.unwrap();
                let reader = Principal::operator("setup").with_personal_data();
                let all = self.app.registry.representatives(&reader, a.id).await.unwrap();
                let second = all.iter().find(|r| !r.is_you && r.name == other.name).expect("the second representative").id;
                match side {
                    Side::Rest => {
                        let path = format!("/v1/associations/{}/representatives/{second}", a.id);
                        self.rest(Method::DELETE, &path, key, None, None).await
                    }
                    Side::Grpc => {
                        let req = pb::RemoveRepresentativeRequest { id: a.id.to_string(), representative_id: second.to_string() };
                        grpc_answer(assoc().remove_representative(with_key(req, key)).await)
                    }
                }
            }
            (
                Op::ListAllocationRounds
                | Op::GetAllocationRound
                | Op::CreateAllocationRound
                | Op::UpdateAllocationRound
                | Op::ListAllocationApplications
                | Op::SubmitAllocationApplication
                | Op::WithdrawAllocationApplication
                | Op::ListAllocationRuns
                | Op::RunAllocation
                | Op::GetUnpublishedRun
                | Op::GetPublishedRun
                | Op::GetFinalRun
                | Op::EditAllocationRun
                | Op::PublishAllocationRun
                | Op::FinaliseAllocationRun
                | Op::CommentOnAllocation
                | Op::ListAllocationComments
                | Op::GetPublicAllocation
                | Op::ListAllocationSeries
                | Op::RetryAllocationSeries
                | Op::ListAllocationMatches
                | Op::RequestAllocationMatch
                | Op::WithdrawAllocationMatch
                | Op::RunAllocationMatches
                | Op::DecideAllocationMatches,
                side,
            ) => self.allocation_cell(op, side, key).await,
            (
                Op::ListGrantProgrammes
                | Op::GetGrantProgramme
                | Op::CreateGrantProgramme
                | Op::UpdateGrantProgramme
                | Op::CreateGrantApplication
                | Op::ListGrantApplications
                | Op::GetGrantApplication
                | Op::GetDraftGrantApplication
                | Op::UpdateGrantApplication
                | Op::SubmitGrantApplication
                | Op::WithdrawGrantApplication
                | Op::AddGrantAttachment
                | Op::GetGrantAttachment
                | Op::DeleteGrantAttachment
                | Op::AddAttendanceList
                | Op::DeleteAttendanceList
                | Op::RequestGrantCompletion
                | Op::AssessGrantApplication
                | Op::DecideGrantApplication
                | Op::ListPaymentOrders
                | Op::PreparePaymentOrder
                | Op::GetPaymentOrder
                | Op::AttestPaymentOrder
                | Op::CancelPaymentOrder
                | Op::GetPaymentFile
                | Op::ListGrantDecisions
                | Op::GetGrantStatistics,
                side,
            ) => self.grants_cell(op, side, key).await,
            (Op::ReportMemberStatistics, side) => {
                // The year's first report: the fixture reports 2025 only.
                let a = self.approved().await;
                match side {
                    Side::Rest => {
                        let body = json!({"counts": [{"ageBand": "AGE_BAND_7_TO_12", "gender": "GENDER_FEMALE", "count": 10}]});
                        let path = format!("/v1/associations/{}/member-statistics/2024", a.id);
                        self.rest(Method::PUT, &path, key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::ReportMemberStatisticsRequest {
                            id: a.id.to_string(),
                            statistics: Some(pb::MemberStatistics {
                                year: 2024,
                                counts: vec![pb::MemberCount {
                                    age_band: pb::AgeBand::AgeBand7To12 as i32,
                                    gender: pb::Gender::Female as i32,
                                    count: 10,
                                }],
                            }),
                            expected_version: 0,
                        };
                        grpc_answer(assoc().report_member_statistics(with_key(req, key)).await)
                    }
                }
            }
        }
    }

    /// The seasonal allocation cells, each on a fresh round brought to the stage it needs.
    async fn allocation_cell(&self, op: Op, side: Side, key: &str) -> Answer {
        let mut c = AllocationServiceClient::new(self.channel.clone());
        let stage = match op {
            Op::ListAllocationRounds | Op::CreateAllocationRound => None,
            Op::GetAllocationRound | Op::UpdateAllocationRound | Op::SubmitAllocationApplication | Op::ListAllocationRuns => {
                Some(Stage::Open)
            }
            Op::ListAllocationApplications | Op::WithdrawAllocationApplication | Op::RunAllocation | Op::RequestAllocationMatch => {
                Some(Stage::Applied)
            }
            Op::GetUnpublishedRun | Op::EditAllocationRun | Op::PublishAllocationRun => Some(Stage::Run),
            Op::GetPublishedRun | Op::FinaliseAllocationRun | Op::CommentOnAllocation | Op::GetPublicAllocation => Some(Stage::Published),
            Op::ListAllocationComments => Some(Stage::Commented),
            Op::GetFinalRun | Op::ListAllocationSeries | Op::RetryAllocationSeries => Some(Stage::Final),
            Op::ListAllocationMatches | Op::WithdrawAllocationMatch | Op::RunAllocationMatches => Some(Stage::Matched),
            Op::DecideAllocationMatches => Some(Stage::MatchRun),
            _ => unreachable!("not an allocation operation: {op:?}"),
        };
        let set_up = match stage {
            Some(stage) => Some(self.allocation(stage).await),
            None => None,
        };
        let s = || set_up.as_ref().expect("the operation works on a round");
        match (op, side) {
            (Op::ListAllocationRounds, Side::Rest) => {
                self.rest(Method::GET, "/v1/allocation/rounds?municipalityCode=0180", key, None, None).await
            }
            (Op::ListAllocationRounds, Side::Grpc) => {
                grpc_answer(c.list_rounds(with_key(pb::ListRoundsRequest { municipality_code: "0180".into() }, key)).await)
            }
            (Op::GetAllocationRound, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/allocation/rounds/{}", s().round.id), key, None, None).await
            }
            (Op::GetAllocationRound, Side::Grpc) => {
                grpc_answer(c.get_round(with_key(pb::GetRoundRequest { id: s().round.id.to_string() }, key)).await)
            }
            (Op::CreateAllocationRound, side) => {
                let input = self.round_input();
                match side {
                    Side::Rest => {
                        self.rest(Method::POST, "/v1/allocation/rounds", key, Some(serde_json::to_value(&input).unwrap()), None).await
                    }
                    Side::Grpc => {
                        grpc_answer(c.create_round(with_key(pb::CreateRoundRequest { round: Some(round_pb("", &input)) }, key)).await)
                    }
                }
            }
            (Op::UpdateAllocationRound, side) => {
                let r = &s().round;
                let input = RoundInput { name: format!("{} renamed", r.input.name), ..r.input.clone() };
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::PUT, &format!("/v1/allocation/rounds/{}", r.id), key, Some(body), Some(r.version)).await
                    }
                    Side::Grpc => {
                        let req = pb::UpdateRoundRequest { round: Some(round_pb(&r.id.to_string(), &input)), expected_version: r.version };
                        grpc_answer(c.update_round(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListAllocationApplications, Side::Rest) => {
                let path = format!("/v1/allocation/rounds/{}/applications", s().round.id);
                let (answer, body) = send(self.request(Method::GET, &path, key)).await;
                answer.counted(body["applications"].as_array().map_or(0, Vec::len))
            }
            (Op::ListAllocationApplications, Side::Grpc) => {
                let r = c.list_applications(with_key(pb::ListApplicationsRequest { id: s().round.id.to_string() }, key)).await;
                let n = r.as_ref().map_or(0, |r| r.get_ref().applications.len());
                grpc_answer(r).counted(n)
            }
            (Op::SubmitAllocationApplication, side) => {
                let association = self.approved().await;
                let input = self.application_input(association.id);
                let round = s().round.id;
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::POST, &format!("/v1/allocation/rounds/{round}/applications"), key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::SubmitApplicationRequest { id: round.to_string(), application: Some(application_pb(&input)) };
                        grpc_answer(c.submit_application(with_key(req, key)).await)
                    }
                }
            }
            (Op::WithdrawAllocationApplication, Side::Rest) => {
                let path = format!("/v1/allocation/applications/{}/withdraw", s().application().id);
                self.rest(Method::POST, &path, key, None, None).await
            }
            (Op::WithdrawAllocationApplication, Side::Grpc) => {
                let req = pb::WithdrawApplicationRequest { id: s().application().id.to_string() };
                grpc_answer(c.withdraw_application(with_key(req, key)).await)
            }
            (Op::ListAllocationRuns, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/allocation/rounds/{}/runs", s().round.id), key, None, None).await
            }
            (Op::ListAllocationRuns, Side::Grpc) => {
                grpc_answer(c.list_runs(with_key(pb::ListRunsRequest { id: s().round.id.to_string() }, key)).await)
            }
            (Op::RunAllocation, Side::Rest) => {
                let path = format!("/v1/allocation/rounds/{}/runs", s().round.id);
                self.rest(Method::POST, &path, key, Some(json!({"label": "matrix what-if", "weights": {"children_youth": 2.0}})), None)
                    .await
            }
            (Op::RunAllocation, Side::Grpc) => {
                let req = pb::RunAllocationRequest {
                    id: s().round.id.to_string(),
                    label: "matrix what-if".into(),
                    weights: [("children_youth".to_string(), 2.0)].into_iter().collect(),
                    ..Default::default()
                };
                grpc_answer(c.run_allocation(with_key(req, key)).await)
            }
            (Op::GetUnpublishedRun | Op::GetPublishedRun | Op::GetFinalRun, Side::Rest) => {
                let (answer, body) = send(self.request(Method::GET, &format!("/v1/allocation/runs/{}", s().run().id), key)).await;
                answer.counted(body["decisions"].as_array().map_or(0, Vec::len))
            }
            (Op::GetUnpublishedRun | Op::GetPublishedRun | Op::GetFinalRun, Side::Grpc) => {
                let r = c.get_run(with_key(pb::GetRunRequest { id: s().run().id.to_string() }, key)).await;
                let n = r.as_ref().map_or(0, |r| r.get_ref().run.as_ref().map_or(0, |run| run.decisions.len()));
                grpc_answer(r).counted(n)
            }
            (Op::EditAllocationRun, side) => {
                // Moves the application's hour from Monday to Thursday 17:00, with a reason: a new run.
                let (run, application) = (s().run().id, s().application().id);
                let reason = "Matrix: Monday is the hall's cleaning day";
                match side {
                    Side::Rest => {
                        let slot = json!({"unitId": self.hall, "day": 4, "start": "17:00", "end": "18:00"});
                        let body = json!({"applicationId": application, "wish": 0, "session": 0, "slot": slot, "reason": reason});
                        self.rest(Method::POST, &format!("/v1/allocation/runs/{run}/edits"), key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::EditRunRequest {
                            id: run.to_string(),
                            application_id: application.to_string(),
                            slot: Some(pb::AllocationSlot {
                                unit_id: self.hall.to_string(),
                                day: 4,
                                start: "17:00".into(),
                                end: "18:00".into(),
                                date: String::new(),
                            }),
                            reason: reason.into(),
                            ..Default::default()
                        };
                        grpc_answer(c.edit_run(with_key(req, key)).await)
                    }
                }
            }
            (Op::PublishAllocationRun | Op::FinaliseAllocationRun, side) => {
                let (round, run) = (&s().round, s().run().id);
                let action = if op == Op::PublishAllocationRun { "publish" } else { "finalise" };
                match side {
                    Side::Rest => {
                        let path = format!("/v1/allocation/rounds/{}/{action}", round.id);
                        self.rest(Method::POST, &path, key, Some(json!({"runId": run})), Some(round.version)).await
                    }
                    Side::Grpc if op == Op::PublishAllocationRun => {
                        let req =
                            pb::PublishRunRequest { id: round.id.to_string(), run_id: run.to_string(), expected_version: round.version };
                        grpc_answer(c.publish_run(with_key(req, key)).await)
                    }
                    Side::Grpc => {
                        let req =
                            pb::FinaliseRunRequest { id: round.id.to_string(), run_id: run.to_string(), expected_version: round.version };
                        grpc_answer(c.finalise_run(with_key(req, key)).await)
                    }
                }
            }
            (Op::CommentOnAllocation, side) => {
                let (application, text) = (s().application().id, "Matrix: Tuesday would suit us better");
                match side {
                    Side::Rest => {
                        let path = format!("/v1/allocation/applications/{application}/comments");
                        self.rest(Method::POST, &path, key, Some(json!({"text": text})), None).await
                    }
                    Side::Grpc => {
                        let req = pb::AddCommentRequest { id: application.to_string(), text: text.into() };
                        grpc_answer(c.add_comment(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListAllocationComments, Side::Rest) => {
                let path = format!("/v1/allocation/rounds/{}/comments", s().round.id);
                let (answer, body) = send(self.request(Method::GET, &path, key)).await;
                answer.counted(body["comments"].as_array().map_or(0, Vec::len))
            }
            (Op::ListAllocationComments, Side::Grpc) => {
                let r = c.list_comments(with_key(pb::ListCommentsRequest { id: s().round.id.to_string() }, key)).await;
                let n = r.as_ref().map_or(0, |r| r.get_ref().comments.len());
                grpc_answer(r).counted(n)
            }
            (Op::GetPublicAllocation, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/allocation/rounds/{}/allocation", s().round.id), key, None, None).await
            }
            (Op::GetPublicAllocation, Side::Grpc) => {
                let req = pb::GetPublicAllocationRequest { id: s().round.id.to_string() };
                grpc_answer(c.get_public_allocation(with_key(req, key)).await)
            }
            (Op::ListAllocationSeries, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/allocation/rounds/{}/series", s().round.id), key, None, None).await
            }
            (Op::ListAllocationSeries, Side::Grpc) => {
                grpc_answer(c.list_series(with_key(pb::ListSeriesRequest { id: s().round.id.to_string() }, key)).await)
            }
            (Op::RetryAllocationSeries, Side::Rest) => {
                self.rest(Method::POST, &format!("/v1/allocation/rounds/{}/series/retry", s().round.id), key, None, None).await
            }
            (Op::RetryAllocationSeries, Side::Grpc) => {
                grpc_answer(c.retry_series(with_key(pb::RetrySeriesRequest { id: s().round.id.to_string() }, key)).await)
            }
            (Op::ListAllocationMatches, Side::Rest) => {
                let path = format!("/v1/allocation/rounds/{}/matches", s().round.id);
                let (answer, body) = send(self.request(Method::GET, &path, key)).await;
                answer.counted(body["matches"].as_array().map_or(0, Vec::len))
            }
            (Op::ListAllocationMatches, Side::Grpc) => {
                let r = c.list_matches(with_key(pb::ListMatchesRequest { id: s().round.id.to_string() }, key)).await;
                let n = r.as_ref().map_or(0, |r| r.get_ref().matches.len());
                grpc_answer(r).counted(n)
            }
            (Op::RequestAllocationMatch, side) => {
                let input = self.match_input(&s().round);
                let application = s().application().id;
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::POST, &format!("/v1/allocation/applications/{application}/matches"), key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::RequestMatchRequest { id: application.to_string(), match_request: Some(match_pb(&input)) };
                        grpc_answer(c.request_match(with_key(req, key)).await)
                    }
                }
            }
            (Op::WithdrawAllocationMatch, Side::Rest) => {
                let path = format!("/v1/allocation/matches/{}/withdraw", s().match_request().id);
                self.rest(Method::POST, &path, key, None, None).await
            }
            (Op::WithdrawAllocationMatch, Side::Grpc) => {
                let req = pb::WithdrawMatchRequest { id: s().match_request().id.to_string() };
                grpc_answer(c.withdraw_match(with_key(req, key)).await)
            }
            (Op::RunAllocationMatches, Side::Rest) => {
                let path = format!("/v1/allocation/rounds/{}/match-runs", s().round.id);
                self.rest(Method::POST, &path, key, Some(json!({"label": "matrix matches"})), None).await
            }
            (Op::RunAllocationMatches, Side::Grpc) => {
                let req = pb::RunMatchesRequest { id: s().round.id.to_string(), label: "matrix matches".into() };
                grpc_answer(c.run_matches(with_key(req, key)).await)
            }
            (Op::DecideAllocationMatches, side) => {
                let (round, run) = (&s().round, s().match_run().id);
                match side {
                    Side::Rest => {
                        let path = format!("/v1/allocation/rounds/{}/matches/decide", round.id);
                        self.rest(Method::POST, &path, key, Some(json!({"runId": run})), Some(round.version)).await
                    }
                    Side::Grpc => {
                        let req =
                            pb::DecideMatchesRequest { id: round.id.to_string(), run_id: run.to_string(), expected_version: round.version };
                        grpc_answer(c.decide_matches(with_key(req, key)).await)
                    }
                }
            }
            _ => unreachable!("not an allocation operation: {op:?}"),
        }
    }

    /// The grant cells, each on a fresh programme brought to the stage it needs.
    async fn grants_cell(&self, op: Op, side: Side, key: &str) -> Answer {
        use GrantStage as G;
        let mut c = GrantsServiceClient::new(self.channel.clone());
        let stage = match op {
            Op::ListGrantProgrammes
            | Op::CreateGrantProgramme
            | Op::ListPaymentOrders
            | Op::ListGrantDecisions
            | Op::GetGrantStatistics => None,
            Op::GetGrantProgramme | Op::UpdateGrantProgramme | Op::CreateGrantApplication => Some(G::Programme),
            Op::GetDraftGrantApplication | Op::UpdateGrantApplication | Op::SubmitGrantApplication | Op::AddGrantAttachment => {
                Some(G::Draft)
            }
            Op::DeleteGrantAttachment => Some(G::DraftWithAttachment),
            Op::AddAttendanceList => Some(G::ActivityDraft),
            Op::DeleteAttendanceList => Some(G::ActivityDraftWithList),
            Op::ListGrantApplications
            | Op::GetGrantApplication
            | Op::WithdrawGrantApplication
            | Op::RequestGrantCompletion
            | Op::AssessGrantApplication
            | Op::DecideGrantApplication => Some(G::Submitted),
            Op::GetGrantAttachment => Some(G::SubmittedWithAttachment),
            Op::PreparePaymentOrder => Some(G::Approved),
            Op::GetPaymentOrder | Op::AttestPaymentOrder | Op::CancelPaymentOrder => Some(G::Ordered),
            Op::GetPaymentFile => Some(G::Attested),
            _ => unreachable!("not a grants operation: {op:?}"),
        };
        let set_up = match stage {
            Some(stage) => Some(self.grants(stage).await),
            None => None,
        };
        let s = || set_up.as_ref().expect("the operation works on a programme");
        let programme = || s().programme.id;
        let application = || s().application().id;
        let version = || s().application().version;
        let order = || s().order().id;
        match (op, side) {
            (Op::ListGrantProgrammes, Side::Rest) => {
                self.rest(Method::GET, "/v1/grants/programmes?municipalityCode=0180", key, None, None).await
            }
            (Op::ListGrantProgrammes, Side::Grpc) => {
                let req = pb::ListGrantProgrammesRequest { municipality_code: "0180".into() };
                grpc_answer(c.list_programmes(with_key(req, key)).await)
            }
            (Op::GetGrantProgramme, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/grants/programmes/{}", programme()), key, None, None).await
            }
            (Op::GetGrantProgramme, Side::Grpc) => {
                grpc_answer(c.get_programme(with_key(pb::GetGrantProgrammeRequest { id: programme().to_string() }, key)).await)
            }
            (Op::CreateGrantProgramme, side) => {
                let input = self.grant_programme_input(grants::model::ProgrammeKind::Application);
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::POST, "/v1/grants/programmes", key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::CreateGrantProgrammeRequest { programme: Some(grant_programme_pb("", &input)) };
                        grpc_answer(c.create_programme(with_key(req, key)).await)
                    }
                }
            }
            (Op::UpdateGrantProgramme, side) => {
                let p = &s().programme;
                let input = grants::model::ProgrammeInput { name: format!("{} renamed", p.input.name), ..p.input.clone() };
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::PUT, &format!("/v1/grants/programmes/{}", p.id), key, Some(body), Some(p.version)).await
                    }
                    Side::Grpc => {
                        let req = pb::UpdateGrantProgrammeRequest {
                            programme: Some(grant_programme_pb(&p.id.to_string(), &input)),
                            expected_version: p.version,
                        };
                        grpc_answer(c.update_programme(with_key(req, key)).await)
                    }
                }
            }
            (Op::CreateGrantApplication, side) => {
                let association = self.approved().await;
                let input = self.grant_application_input(association.id);
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::POST, &format!("/v1/grants/programmes/{}/applications", programme()), key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::CreateGrantApplicationRequest {
                            id: programme().to_string(),
                            application: Some(grant_application_pb("", &input)),
                        };
                        grpc_answer(c.create_application(with_key(req, key)).await)
                    }
                }
            }
            (Op::ListGrantApplications, Side::Rest) => {
                let path = format!("/v1/grants/applications?programmeId={}", programme());
                let (answer, body) = send(self.request(Method::GET, &path, key)).await;
                answer.counted(body["applications"].as_array().map_or(0, Vec::len))
            }
            (Op::ListGrantApplications, Side::Grpc) => {
                let req = pb::ListGrantApplicationsRequest { programme_id: programme().to_string(), ..Default::default() };
                let r = c.list_applications(with_key(req, key)).await;
                let n = r.as_ref().map_or(0, |r| r.get_ref().applications.len());
                grpc_answer(r).counted(n)
            }
            (Op::GetGrantApplication | Op::GetDraftGrantApplication, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/grants/applications/{}", application()), key, None, None).await
            }
            (Op::GetGrantApplication | Op::GetDraftGrantApplication, Side::Grpc) => {
                let req = pb::GetGrantApplicationRequest { id: application().to_string() };
                grpc_answer(c.get_application(with_key(req, key)).await)
            }
            (Op::UpdateGrantApplication, side) => {
                let a = s().application();
                let input = grants::model::ApplicationInput { title: "Matrix cup, renamed".into(), ..a.input.clone() };
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::PUT, &format!("/v1/grants/applications/{}", a.id), key, Some(body), Some(a.version)).await
                    }
                    Side::Grpc => {
                        let req = pb::UpdateGrantApplicationRequest {
                            application: Some(grant_application_pb(&a.id.to_string(), &input)),
                            expected_version: a.version,
                        };
                        grpc_answer(c.update_application(with_key(req, key)).await)
                    }
                }
            }
            (Op::SubmitGrantApplication, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/submit", application());
                self.rest(Method::POST, &path, key, None, Some(version())).await
            }
            (Op::SubmitGrantApplication, Side::Grpc) => {
                let req = pb::SubmitGrantApplicationRequest { id: application().to_string(), expected_version: version() };
                grpc_answer(c.submit_application(with_key(req, key)).await)
            }
            (Op::WithdrawGrantApplication, Side::Rest) => {
                self.rest(Method::POST, &format!("/v1/grants/applications/{}/withdraw", application()), key, None, None).await
            }
            (Op::WithdrawGrantApplication, Side::Grpc) => {
                let req = pb::WithdrawGrantApplicationRequest { id: application().to_string() };
                grpc_answer(c.withdraw_application(with_key(req, key)).await)
            }
            (Op::AddGrantAttachment, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/attachments?fileName=budget.pdf", application());
                let req =
                    self.request(Method::POST, &path, key).header("content-type", "application/octet-stream").body(MATRIX_PDF.to_vec());
                send(req).await.0
            }
            (Op::AddGrantAttachment, Side::Grpc) => {
                let req = pb::AddGrantAttachmentRequest {
                    id: application().to_string(),
                    file_name: "budget.pdf".into(),
                    content: MATRIX_PDF.to_vec(),
                };
                grpc_answer(c.add_attachment(with_key(req, key)).await)
            }
            (Op::GetGrantAttachment | Op::DeleteGrantAttachment, side) => {
                let attachment = s().attachment.expect("the stage has an attachment");
                let path = format!("/v1/grants/applications/{}/attachments/{attachment}", application());
                let (id, attachment_id) = (application().to_string(), attachment.to_string());
                match (op, side) {
                    (Op::GetGrantAttachment, Side::Rest) => send(self.request(Method::GET, &path, key)).await.0,
                    (_, Side::Rest) => self.rest(Method::DELETE, &path, key, None, None).await,
                    (Op::GetGrantAttachment, Side::Grpc) => {
                        grpc_answer(c.get_attachment(with_key(pb::GetGrantAttachmentRequest { id, attachment_id }, key)).await)
                    }
                    (_, Side::Grpc) => {
                        grpc_answer(c.delete_attachment(with_key(pb::DeleteGrantAttachmentRequest { id, attachment_id }, key)).await)
                    }
                }
            }
            (Op::AddAttendanceList, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/attendance-lists?fileName=ht.csv", application());
                send(self.request(Method::POST, &path, key).header("content-type", "text/csv").body(attendance_csv())).await.0
            }
            (Op::AddAttendanceList, Side::Grpc) => {
                let req =
                    pb::AddAttendanceListRequest { id: application().to_string(), file_name: "ht.csv".into(), content: attendance_csv() };
                grpc_answer(c.add_attendance_list(with_key(req, key)).await)
            }
            (Op::DeleteAttendanceList, Side::Rest) => {
                let list = s().list.expect("the stage has an attendance list");
                self.rest(Method::DELETE, &format!("/v1/grants/applications/{}/attendance-lists/{list}", application()), key, None, None)
                    .await
            }
            (Op::DeleteAttendanceList, Side::Grpc) => {
                let list = s().list.expect("the stage has an attendance list");
                let req = pb::DeleteAttendanceListRequest { id: application().to_string(), list_id: list.to_string() };
                grpc_answer(c.delete_attendance_list(with_key(req, key)).await)
            }
            (Op::RequestGrantCompletion, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/completion-request", application());
                let body = json!({"message": "Matrix: the budget is missing"});
                self.rest(Method::POST, &path, key, Some(body), Some(version())).await
            }
            (Op::RequestGrantCompletion, Side::Grpc) => {
                let req = pb::RequestGrantCompletionRequest {
                    id: application().to_string(),
                    message: "Matrix: the budget is missing".into(),
                    expected_version: version(),
                };
                grpc_answer(c.request_completion(with_key(req, key)).await)
            }
            (Op::AssessGrantApplication, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/assessment", application());
                let body = json!({"text": "Matrix: according to the rules", "proposedMinor": 50_000});
                self.rest(Method::POST, &path, key, Some(body), Some(version())).await
            }
            (Op::AssessGrantApplication, Side::Grpc) => {
                let req = pb::AssessGrantApplicationRequest {
                    id: application().to_string(),
                    text: "Matrix: according to the rules".into(),
                    proposed_minor: 50_000,
                    expected_version: version(),
                };
                grpc_answer(c.assess_application(with_key(req, key)).await)
            }
            (Op::DecideGrantApplication, Side::Rest) => {
                let path = format!("/v1/grants/applications/{}/decision", application());
                let body =
                    json!({"outcome": "approved", "amountMinor": 50_000, "authority": "delegation", "reference": "Delegationsordning 4.2"});
                self.rest(Method::POST, &path, key, Some(body), Some(version())).await
            }
            (Op::DecideGrantApplication, Side::Grpc) => {
                let req = pb::DecideGrantApplicationRequest {
                    id: application().to_string(),
                    outcome: pb::GrantOutcome::Approved as i32,
                    amount_minor: 50_000,
                    reasons: String::new(),
                    authority: pb::GrantAuthority::Delegation as i32,
                    reference: "Delegationsordning 4.2".into(),
                    expected_version: version(),
                };
                grpc_answer(c.decide_application(with_key(req, key)).await)
            }
            (Op::ListPaymentOrders, Side::Rest) => {
                self.rest(Method::GET, "/v1/grants/payment-orders?municipalityCode=0180", key, None, None).await
            }
            (Op::ListPaymentOrders, Side::Grpc) => {
                let req = pb::ListPaymentOrdersRequest { municipality_code: "0180".into() };
                grpc_answer(c.list_payment_orders(with_key(req, key)).await)
            }
            (Op::PreparePaymentOrder, side) => {
                let input = self.payment_order_input(application());
                match side {
                    Side::Rest => {
                        let body = serde_json::to_value(&input).unwrap();
                        self.rest(Method::POST, "/v1/grants/payment-orders", key, Some(body), None).await
                    }
                    Side::Grpc => {
                        let req = pb::PreparePaymentOrderRequest {
                            municipality_code: input.municipality_code.clone(),
                            application_ids: input.application_ids.iter().map(|a| a.to_string()).collect(),
                            execution_date: input.execution_date.to_string(),
                            debtor: Some(pb::GrantDebtor {
                                name: input.debtor.name.clone(),
                                org_number: input.debtor.org_number.clone(),
                                account: Some(account_pb(&input.debtor.account)),
                                bic: None,
                            }),
                        };
                        grpc_answer(c.prepare_payment_order(with_key(req, key)).await)
                    }
                }
            }
            (Op::GetPaymentOrder, Side::Rest) => {
                self.rest(Method::GET, &format!("/v1/grants/payment-orders/{}", order()), key, None, None).await
            }
            (Op::GetPaymentOrder, Side::Grpc) => {
                grpc_answer(c.get_payment_order(with_key(pb::GetPaymentOrderRequest { id: order().to_string() }, key)).await)
            }
            (Op::AttestPaymentOrder, Side::Rest) => {
                let path = format!("/v1/grants/payment-orders/{}/attest", order());
                self.rest(Method::POST, &path, key, None, Some(s().order().version)).await
            }
            (Op::AttestPaymentOrder, Side::Grpc) => {
                let req = pb::AttestPaymentOrderRequest { id: order().to_string(), expected_version: s().order().version };
                grpc_answer(c.attest_payment_order(with_key(req, key)).await)
            }
            (Op::CancelPaymentOrder, Side::Rest) => {
                self.rest(Method::POST, &format!("/v1/grants/payment-orders/{}/cancel", order()), key, None, None).await
            }
            (Op::CancelPaymentOrder, Side::Grpc) => {
                grpc_answer(c.cancel_payment_order(with_key(pb::CancelPaymentOrderRequest { id: order().to_string() }, key)).await)
            }
            (Op::GetPaymentFile, Side::Rest) => {
                send(self.request(Method::GET, &format!("/v1/grants/payment-orders/{}/file", order()), key)).await.0
            }
            (Op::GetPaymentFile, Side::Grpc) => {
                grpc_answer(c.get_payment_file(with_key(pb::GetPaymentFileRequest { id: order().to_string() }, key)).await)
            }
            (Op::ListGrantDecisions, Side::Rest) => {
                self.rest(Method::GET, "/v1/grants/decisions?municipalityCode=0180", key, None, None).await
            }
            (Op::ListGrantDecisions, Side::Grpc) => {
                let req = pb::ListGrantDecisionsRequest { municipality_code: "0180".into(), ..Default::default() };
                grpc_answer(c.list_decisions(with_key(req, key)).await)
            }
            (Op::GetGrantStatistics, side) => {
                use chrono::Datelike;
                let year = (tests::dates::today() - chrono::Duration::days(60)).year();
                match side {
                    Side::Rest => self.rest(Method::GET, &format!("/v1/grants/statistics?year={year}"), key, None, None).await,
                    Side::Grpc => grpc_answer(c.get_statistics(with_key(pb::GetGrantStatisticsRequest { year }, key)).await),
                }
            }
            _ => unreachable!("not a grants operation: {op:?}"),
        }
    }
}

/// Sends a REST request: the answer, and its body as JSON (`null` if it is not JSON).
async fn send(req: reqwest::RequestBuilder) -> (Answer, Value) {
    let res = req.send().await.unwrap();
    let answer = rest_answer(res.status());
    // Read the whole body (streamed exports report errors before the first byte, but read it all).
    let bytes = res.bytes().await.unwrap_or_default();
    (answer, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A vendor over gRPC without credentials at `endpoint`, serving 0180.
fn vendor_input(name: &str, endpoint: &str) -> VendorInput {
    VendorInput {
        name: name.into(),
        endpoint: endpoint.into(),
        protocol: VendorProtocol::Grpc,
        auth: VendorAuth::None,
        credential_ref: None,
        ca_pem: None,
        max_concurrency: None,
        requests_per_second: None,
        municipality_codes: vec!["0180".into()],
        test_units: vec![],
    }
}

/// [`vendor_input`] as the gRPC message.
fn vendor_pb(name: &str, endpoint: &str) -> pb::VendorInput {
    pb::VendorInput {
        name: name.into(),
        endpoint: endpoint.into(),
        protocol: pb::VendorProtocol::Grpc as i32,
        auth: pb::VendorAuth::None as i32,
        municipality_codes: vec!["0180".into()],
        ..Default::default()
    }
}

/// A round's set-up as the gRPC message (`id` empty on create).
fn round_pb(id: &str, r: &RoundInput) -> pb::Round {
    let times = |ts: &[DayTime]| -> Vec<pb::DayTime> {
        ts.iter().map(|t| pb::DayTime { day: u32::from(t.day), from: t.from.clone(), to: t.to.clone(), reason: t.reason.clone() }).collect()
    };
    let p = &r.principles;
    pb::Round {
        id: id.into(),
        municipality_code: r.municipality_code.clone(),
        name: r.name.clone(),
        season_start: r.season_start.to_string(),
        season_end: r.season_end.to_string(),
        applications_open: Some(timestamp(r.applications_open)),
        applications_close: Some(timestamp(r.applications_close)),
        grid_minutes: u32::from(r.grid_minutes),
        units: r
            .units
            .iter()
            .map(|u| pb::RoundUnit {
                unit_id: u.unit_id.to_string(),
                activities: u.activities.clone(),
                hours: times(&u.hours),
                blocks: times(&u.blocks),
            })
            .collect(),
        principles: Some(pb::Principles {
            groups: p
                .groups
                .iter()
                .map(|g| pb::PriorityGroup { code: g.code.clone(), weight: g.weight, max_age: g.max_age.map(u32::from), genders: vec![] })
                .collect(),
            rank_decay: Some(p.rank_decay),
            max_hours_per_association: p.max_hours_per_association,
            one_session_per_team_per_day: Some(p.one_session_per_team_per_day),
            description: p.description.clone(),
        }),
        ..Default::default()
    }
}

/// An application as the gRPC message (a male team: the only gender the matrix applies with).
fn application_pb(a: &ApplicationInput) -> pb::AllocationApplication {
    let t = &a.team;
    pb::AllocationApplication {
        association_id: a.association_id.to_string(),
        team: Some(pb::Team {
            name: t.name.clone(),
            activity: t.activity.clone(),
            age_from: u32::from(t.age_from),
            age_to: u32::from(t.age_to),
            gender: pb::TeamGender::Male as i32,
            participants: u32::from(t.participants),
            level: t.level.clone(),
        }),
        wishes: a
            .wishes
            .iter()
            .map(|w| pb::Wish {
                duration_minutes: u32::from(w.duration_minutes),
                times_per_week: u32::from(w.times_per_week),
                alternatives: w
                    .alternatives
                    .iter()
                    .map(|alt| pb::WishAlternative {
                        day: u32::from(alt.day),
                        earliest_start: alt.earliest_start.clone(),
                        latest_end: alt.latest_end.clone(),
                        units: alt.units.iter().map(|u| u.to_string()).collect(),
                    })
                    .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

/// A match request as the gRPC message.
fn match_pb(m: &MatchInput) -> pb::MatchRequestInput {
    pb::MatchRequestInput {
        duration_minutes: u32::from(m.duration_minutes),
        alternatives: m
            .alternatives
            .iter()
            .map(|alt| pb::MatchAlternative {
                date: alt.date.to_string(),
                earliest_start: alt.earliest_start.clone(),
                latest_end: alt.latest_end.clone(),
                units: alt.units.iter().map(|u| u.to_string()).collect(),
            })
            .collect(),
        note: m.note.clone(),
    }
}

/// A small PDF (its kind is recognised from its content).
const MATRIX_PDF: &[u8] = b"%PDF-1.7\nMatrix: budget 20 000 kr\n%%EOF\n";

/// A valid twelve-digit personal identity number of someone born on `birth`, with birth number
/// `serial`.
fn pin_of(birth: chrono::NaiveDate, serial: u16) -> String {
    use chrono::Datelike;
    let body = format!("{:02}{:02}{:02}{serial:03}", birth.year() % 100, birth.month(), birth.day());
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    format!("{}{body}{}", birth.year() / 100, (10 - sum % 10) % 10)
}

/// An attendance list of one occasion ten days ago that counts: four children and a leader,
/// 90 minutes.
fn attendance_csv() -> Vec<u8> {
    use chrono::Datelike;
    let day = tests::dates::today() - chrono::Duration::days(10);
    let mut csv = String::from("date,start,end,group,role,personalIdentityNumber,name\n");
    for serial in 101..105u16 {
        let born = chrono::NaiveDate::from_ymd_opt(day.year() - 10, 3, 10).unwrap();
        csv.push_str(&format!("{day},17:00,18:30,P12,participant,{},Barn {serial}\n", pin_of(born, serial)));
    }
    let leader = pin_of(chrono::NaiveDate::from_ymd_opt(1980, 5, 5).unwrap(), 900);
    csv.push_str(&format!("{day},17:00,18:30,P12,leader,{leader},Ledare\n"));
    csv.into_bytes()
}

/// An account as the gRPC message.
fn account_pb(a: &grants::account::Account) -> pb::GrantAccount {
    use grants::account::Account;
    match a {
        Account::Bankgiro { number } => {
            pb::GrantAccount { kind: pb::GrantAccountKind::Bankgiro as i32, number: number.clone(), ..Default::default() }
        }
        Account::Plusgiro { number } => {
            pb::GrantAccount { kind: pb::GrantAccountKind::Plusgiro as i32, number: number.clone(), ..Default::default() }
        }
        Account::Iban { iban, bic } => {
            pb::GrantAccount { kind: pb::GrantAccountKind::Iban as i32, iban: iban.clone(), bic: bic.clone(), ..Default::default() }
        }
    }
}

/// A programme (of the matrix: its rules the defaults) as the gRPC message (`id` empty on
/// create).
fn grant_programme_pb(id: &str, p: &grants::model::ProgrammeInput) -> pb::GrantProgramme {
    let kind = match p.kind {
        grants::model::ProgrammeKind::Activity => pb::GrantProgrammeKind::Activity,
        grants::model::ProgrammeKind::Basic => pb::GrantProgrammeKind::Basic,
        grants::model::ProgrammeKind::Application => pb::GrantProgrammeKind::Application,
    };
    pb::GrantProgramme {
        id: id.into(),
        municipality_code: p.municipality_code.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        kind: kind as i32,
        period_from: p.period_from.to_string(),
        period_to: p.period_to.to_string(),
        applications_open: Some(timestamp(p.applications_open)),
        applications_close: Some(timestamp(p.applications_close)),
        budget_minor: p.budget_minor,
        ..Default::default()
    }
}

/// An application as the gRPC message (`id` empty on create).
fn grant_application_pb(id: &str, a: &grants::model::ApplicationInput) -> pb::GrantApplication {
    pb::GrantApplication {
        id: id.into(),
        association_id: a.association_id.to_string(),
        title: a.title.clone(),
        description: a.description.clone(),
        requested_minor: a.requested_minor,
        payee: a.payee.as_ref().map(account_pb),
        ..Default::default()
    }
}

/// What each side must answer for one cell: the expected class on both, or the recorded
/// per-side values of a cell in [`DIFFERS`].
fn wanted(op: Op, role: usize, table: &[(Op, [O; 10])]) -> (O, O) {
    if let Some(&(_, _, rest, grpc)) = DIFFERS.iter().find(|(o, r, _, _)| *o == op && *r == role) {
        return (rest, grpc);
    }
    let row = table.iter().find(|(o, _)| *o == op).expect("every operation has a row").1;
    (row[role], row[role])
}

#[tokio::test]
async fn rest_and_grpc_give_the_same_answer_for_every_role_and_operation() {
    let started = std::time::Instant::now();
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("matrix-setup");
    let http = app.http();

    // A live vendor on loopback that takes bookings, registered over REST: the admin's create
    // runs the conformance kit against it, which must pass (its capabilities then say it books).
    let live = FaultVendor::new(vec!["hall-a".into(), "hall-b".into()], Faults { bookings: true, ..Faults::default() }, 7);
    let endpoint = format!("http://{}", live.serve().await);
    let body = serde_json::to_value(vendor_input("Matrix bokning", &endpoint)).unwrap();
    let res = http.post(app.url("/v1/vendors")).header("x-api-key", &keys.admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "registering the live vendor");
    let registered: Value = res.json().await.unwrap();
    assert_eq!(registered["conformance"]["passed"], true, "the live vendor passes the kit: {registered}");
    let booking_vendor = app.registry.get_vendor(&admin, registered["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    let bookable = app.registry.create_facility(&admin, &fixtures::facility("0180", "Matrix bookable hall")).await.unwrap();
    app.registry.set_unit_vendor(&admin, bookable.id, bookable.units[0].id, Some((booking_vendor.id, "hall-a".into()))).await.unwrap();
    let unit_vendor =
        app.registry.create_vendor(&admin, &vendor_input("Matrix unit vendor", &endpoint), fixtures::passing_checks(), None).await.unwrap();
    let own_key = app.vendor_key(booking_vendor.id).await;
    // The allocation rounds' hall, and the representative as the core knows them (the session
    // below is the same person: the same personal identity number and pepper).
    let hall = app.registry.create_facility(&admin, &fixtures::facility("0180", "Matrix allocation hall")).await.unwrap().units[0].id;
    let representative = {
        use registry_core::service::sessions::{SessionPolicy, Sessions};
        let sessions = Sessions::new(app.registry.pool().clone(), "", app.registry.clock().clone(), SessionPolicy::default());
        Principal::person(sessions.person(Some(REPRESENTATIVE_PIN), "Rita Representant").unwrap(), None)
    };
    let attester = {
        use registry_core::service::sessions::{SessionPolicy, Sessions};
        let sessions = Sessions::new(app.registry.pool().clone(), "", app.registry.clock().clone(), SessionPolicy::default());
        Principal::person(sessions.person(Some(ATTESTER_PIN), "Stina Attestant").unwrap(), Some("0180".into()))
    };

    let role_keys = [
        String::new(),
        keys.editor_0180.clone(),
        keys.editor_1480.clone(),
        keys.vendor.clone(),
        own_key,
        keys.national_body.clone(),
        keys.admin.clone(),
        app.session("198112289874", "Anna Andersson", None).await,
        app.session("197010632391", "Sven Svensson", Some("0180")).await,
        app.session(REPRESENTATIVE_PIN, "Rita Representant", None).await,
    ];
    let ctx = Ctx {
        app: &app,
        channel: app.channel().await,
        admin,
        keys: role_keys,
        endpoint,
        booking_vendor,
        bookable,
        unit_vendor,
        hall,
        representative,
        attester,
        next: std::cell::Cell::new(1),
    };
    // Something to list, search and export in every cell.
    ctx.approved().await;
    ctx.pending().await;
    ctx.facility().await;
    let set_up = started.elapsed();

    let table = expected();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut calls = 0;
    for (op, row) in &table {
        assert!(op.counts() || !row.contains(&E), "{op:?}: only operations that count their answer can expect ok∅");
        for (role, name) in ROLES.iter().enumerate() {
            let rest = ctx.run(*op, Side::Rest, role).await;
            let grpc = if op.grpc() { Some(ctx.run(*op, Side::Grpc, role).await) } else { None };
            calls += 1 + usize::from(grpc.is_some());
            let (want_rest, want_grpc) = wanted(*op, role, &table);
            let mut notes = Vec::new();
            if let Some(g) = &grpc
                && rest.class != g.class
                && want_rest == want_grpc
            {
                notes.push("REST != gRPC".to_string());
            }
            if rest.class != want_rest {
                notes.push(format!("REST: expected {want_rest}"));
            }
            if let Some(g) = &grpc
                && g.class != want_grpc
            {
                notes.push(format!("gRPC: expected {want_grpc}"));
            }
            if !notes.is_empty() {
                failures.push((*op, *name));
            }
            rows.push((*op, *name, rest, grpc, notes.join("; ")));
        }
    }
    eprintln!(
        "authorization matrix: {} operations × {} roles = {} cells, {calls} calls; set-up {:.1?}, total {:.1?}",
        table.len(),
        ROLES.len(),
        rows.len(),
        set_up,
        started.elapsed()
    );

    if !failures.is_empty() {
        let mut out = String::from("\nauthorization matrix (operation × role: REST | gRPC)\n");
        for (op, role, rest, grpc, note) in &rows {
            let mark = if note.is_empty() { "  " } else { "!!" };
            let (grpc_class, grpc_raw) = match grpc {
                Some(g) => (g.class.to_string(), g.raw.clone()),
                None => ("n/a".to_string(), "REST only".to_string()),
            };
            out.push_str(&format!(
                "{mark} {:<28} {:<20} rest={:<6} ({:<4}) grpc={:<6} ({grpc_raw}) {note}\n",
                format!("{op:?}"),
                role,
                rest.class.to_string(),
                rest.raw,
                grpc_class,
            ));
        }
        panic!("{out}\n{} cell(s) differ from the expected table: {failures:?}", failures.len());
    }
}
