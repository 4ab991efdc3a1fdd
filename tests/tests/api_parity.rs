//! REST and gRPC give the same data: each resource read through both, as each role sees it,
//! must agree field for field.
//!
//! The expectation comes from neither front end: the gRPC answer is read back as protobuf wire
//! bytes through the proto descriptor the server offers for reflection, and every field of the
//! message must be in the REST JSON under its proto3 JSON name with the same value (see
//! `api_parity/proto_json.rs` for the rules). The data gives every field reachable from the
//! compared messages a value, and the test checks that it did, so a field that the converter
//! drops or mangles, or that REST names differently, fails here.

#[path = "api_parity/proto_json.rs"]
mod proto_json;

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use proto_json::{Alias, Parity, Schema};
use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::model::{Decision, Facility, MatchQuality};
use registry_core::service::geodata::{SyncOutcome, SyncedLocation};
use serde_json::Value;
use tests::{TestApp, fixtures, with_key};

/// Divergences from "a REST resource and its gRPC message carry the same fields" that the
/// contract lives with. `Facility.location_locked` is the proto's write switch for the lock
/// and is echoed on read; REST reads the same fact as `locationProvenance.locked` (and takes
/// `locationLocked` only on input), so the value is compared there.
const ALIASES: &[Alias] =
    &[Alias { message: ".registry.v1.Facility", field: "location_locked", json_path: &["locationProvenance", "locked"] }];

async fn rest(app: &TestApp, path: &str, key: &str) -> Value {
    // A key, a signed-in person's session, or nothing (anonymous).
    let res = tests::authed(app.http().get(app.url(path)), key).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_resource_reads_the_same_through_rest_and_grpc() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");

    // Two facilities that between them give every field of Facility a value: one with a
    // locked manual location and a booking vendor, one whose location geodata-sync moved.
    let mut f = fixtures::facility("0180", "Parity hall");
    f.location = Some(LatLon { lat: 59.329323, lon: 18.068581 });
    f.location_locked = Some(true);
    f.contact.website = Some("https://www.stockholm.se/idrott".into());
    let locked = app.registry.create_facility(&admin, &f).await.unwrap();
    // No use case sets the booking vendor (federation's registration does); the column is what both front ends read.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut app.db.conn().await,
        &format!("UPDATE facilities SET booking_vendor_id = 'vendor-7', booking_vendor_ref = 'hall-a-42' WHERE id = '{}'", locked.id),
    )
    .await
    .unwrap();
    let mut f = fixtures::facility("0180", "Parity pool");
    f.location = Some(LatLon { lat: 59.3326, lon: 18.0649 });
    let synced = app.registry.create_facility(&admin, &f).await.unwrap();
    let found = SyncedLocation {
        location: LatLon { lat: 59.3342, lon: 18.0631 },
        source_feature_id: "adresspunkt-0180-0042".into(),
        match_quality: MatchQuality::Normalised,
    };
    app.registry
        .apply_synced_location(&admin, None, synced.id, synced.version, &found, SyncOutcome::Moved, serde_json::json!({}))
        .await
        .unwrap()
        .unwrap();

    // An approved association and one sent back for completion (a registration message).
    let a = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    app.registry.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
    let pending = app.registry.create_association(&admin, &fixtures::association("0180", 2)).await.unwrap();
    let completion = Decision::RequestCompletion { message: "Bifoga stadgarna".into() };
    app.registry.decide_registration(&admin, pending.id, None, None, &completion).await.unwrap();

    let channel = app.channel().await;
    let mut fc = FacilityServiceClient::new(channel.clone());
    let mut ac = AssociationServiceClient::new(channel.clone());
    let mut mc = MunicipalityServiceClient::new(channel);
    let schema = Schema::decode(grpc_api::proto::FILE_DESCRIPTOR_SET);
    let mut parity = Parity::new(&schema, ALIASES);

    // Municipalities.
    let r = rest(&app, "/v1/municipalities", "").await;
    let g = mc.list_municipalities(pb::ListMunicipalitiesRequest::default()).await.unwrap().into_inner();
    assert_eq!(g.municipalities.len(), 290);
    parity.compare("GET /v1/municipalities", ".registry.v1.ListMunicipalitiesResponse", &g, &r);

    // Facilities, one by one, as a page, and as pages of one (a next-page token).
    for id in [locked.id, synced.id] {
        let path = format!("/v1/facilities/{id}");
        let r = rest(&app, &path, "").await;
        let g = fc.get_facility(pb::GetFacilityRequest { id: id.to_string() }).await.unwrap().into_inner().facility.unwrap();
        parity.compare(&format!("GET {path}"), ".registry.v1.Facility", &g, &r);
        let stored = app.registry.get_facility(&admin, id).await.unwrap();
        assert_eq!(serde_json::from_value::<Facility>(r).unwrap(), stored, "REST shows what the core stored");
    }
    let r = rest(&app, "/v1/facilities", "").await;
    let g = fc.list_facilities(pb::ListFacilitiesRequest::default()).await.unwrap().into_inner();
    assert_eq!(g.facilities.len(), 2);
    parity.compare("GET /v1/facilities", ".registry.v1.ListFacilitiesResponse", &g, &r);
    let r = rest(&app, "/v1/facilities?pageSize=1", "").await;
    let g = fc.list_facilities(pb::ListFacilitiesRequest { page_size: 1, ..Default::default() }).await.unwrap().into_inner();
    assert!(!g.next_page_token.is_empty());
    parity.compare("GET /v1/facilities?pageSize=1", ".registry.v1.ListFacilitiesResponse", &g, &r);

    // Associations, as each role sees them (restricted fields included or left out alike).
    for (role, key) in [
        ("anonymous", ""),
        ("editor of 0180", keys.editor_0180.as_str()),
        ("editor of 0180 with personal data", keys.editor_0180_pd.as_str()),
        ("national body", keys.national_body.as_str()),
        ("admin", keys.admin.as_str()),
        ("vendor", keys.vendor.as_str()),
    ] {
        let path = format!("/v1/associations/{}", a.id);
        let r = rest(&app, &path, key).await;
        let g = ac
            .get_association(with_key(pb::GetAssociationRequest { id: a.id.to_string() }, key))
            .await
            .unwrap()
            .into_inner()
            .association
            .unwrap();
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.Association", &g, &r);
        for (query, size) in [("", 0), ("?pageSize=1", 1)] {
            let r = rest(&app, &format!("/v1/associations{query}"), key).await;
            let g = ac
                .list_associations(with_key(pb::ListAssociationsRequest { page_size: size, ..Default::default() }, key))
                .await
                .unwrap()
                .into_inner();
            parity.compare(&format!("GET /v1/associations{query} as {role}"), ".registry.v1.ListAssociationsResponse", &g, &r);
        }
    }
    let path = format!("/v1/associations/by-org-number/{}", pending.org_number);
    let r = rest(&app, &path, &keys.editor_0180_pd).await;
    let g = ac
        .get_association_by_org_number(with_key(
            pb::GetAssociationByOrgNumberRequest { org_number: pending.org_number.clone() },
            &keys.editor_0180_pd,
        ))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    parity.compare(&format!("GET {path}"), ".registry.v1.Association", &g, &r);

    assert!(parity.errors.is_empty(), "REST and gRPC differ:\n{}", parity.errors.join("\n"));
    let roots = [".registry.v1.ListMunicipalitiesResponse", ".registry.v1.ListFacilitiesResponse", ".registry.v1.ListAssociationsResponse"];
    let never: Vec<String> = schema.reachable_fields(&roots).difference(&parity.covered).map(|(m, f)| format!("{m}.{f}")).collect();
    assert!(never.is_empty(), "these fields never carried a value, so dropping them would go unnoticed: {never:?}");
}

/// The allocation crate writes its enums as lower-case codes (`"open"`, `"female"`,
/// `"matches"`), where the registry's own resources write the proto value names: REST keeps its
/// shape, and the comparison reads these enums that way.
const ALLOCATION_CODE_ENUMS: &[&str] = &[".registry.v1.RoundStatus", ".registry.v1.TeamGender", ".registry.v1.RunKind"];

/// Seasonal allocation: a round of 0180 taken through its whole life, so that every field of
/// its messages carries a value somewhere (a break, a block with its reason, both optional
/// principles, a team with a level, a session that loses its time to a team of higher priority
/// (`whyNot` with the sessions holding it and the cost), a session a team's other session
/// pushes to its second choice, a staff edit (a locked session outside the wish, a base run),
/// a comment, and the final allocation; runs made without asking the vendors (`not_checked`,
/// with a message); then match times, through gRPC: two requests of the representative, one
/// withdrawn, the other's first choice held by the weekly times, a run of match times that asks
/// the hall's booking system (a fault vendor on loopback, its honest answer: every other hour
/// booked), and that run decided, so the match is in the published allocation), read through
/// both front ends.
#[tokio::test]
async fn the_seasonal_allocation_reads_the_same_through_rest_and_grpc() {
    use allocation::Allocations;
    use allocation::model::{
        Alternative, ApplicationInput, Break, DayTime, Gender, Principles, PriorityGroup, RoundInput, RoundUnit, Slot, Team, Wish,
    };
    use allocation::service::{EditRequest, RunRequest};
    use chrono::Datelike;
    use federation::fault::{FaultVendor, Faults};
    use grpc_api::proto::v1::allocation_service_client::AllocationServiceClient;
    use registry_core::model::{VendorAuth, VendorInput, VendorProtocol};
    use registry_core::service::sessions::{SessionPolicy, Sessions};

    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");
    let reg = &app.registry;
    let facility = reg.create_facility(&admin, &fixtures::facility("0180", "Parity allocation hall")).await.unwrap();
    let hall = facility.units[0].id;
    // One representative of both associations, as the core knows a signed-in person.
    let sessions = Sessions::new(reg.pool().clone(), "", reg.clock().clone(), SessionPolicy::default());
    let rep = Principal::person(sessions.person(Some("197702281937"), "Rita Representant").unwrap(), None);
    let mut associations = Vec::new();
    for n in [1, 2] {
        let a = reg.create_association(&admin, &fixtures::association("0180", n)).await.unwrap();
        reg.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
        let r =
            registry_core::model::NewRepresentative { personal_identity_number: "197702281937".into(), name: "Rita Representant".into() };
        reg.add_representative(&admin, a.id, &r).await.unwrap();
        associations.push(a.id);
    }

    let now = reg.now();
    let start = now.date_naive() + chrono::Duration::days(60);
    let time = |day: u8, from: &str, to: &str, reason: &str| DayTime { day, from: from.into(), to: to.into(), reason: reason.into() };
    let group = |code: &str, weight: f64| PriorityGroup { code: code.into(), weight, max_age: None, genders: vec![] };
    let input = RoundInput {
        municipality_code: "0180".into(),
        name: "Hösten".into(),
        season_start: start,
        season_end: start + chrono::Duration::days(7 * 16 - 1),
        breaks: vec![Break { from: start + chrono::Duration::days(56), to: start + chrono::Duration::days(62), name: "Höstlov".into() }],
        applications_open: now - chrono::Duration::days(1),
        applications_close: now + chrono::Duration::days(30),
        grid_minutes: 30,
        units: vec![RoundUnit {
            unit_id: hall,
            activities: vec!["floorball".into(), "handball".into()],
            hours: (1..=5).map(|d| time(d, "16:00", "20:00", "")).collect(),
            blocks: vec![time(2, "16:00", "20:00", "Skolans tid")],
        }],
        principles: Principles {
            groups: vec![
                PriorityGroup { max_age: Some(20), ..group("children_youth", 2.0) },
                PriorityGroup { genders: vec![Gender::Female], ..group("underrepresented_gender", 1.0) },
            ],
            rank_decay: 0.25,
            max_hours_per_association: Some(10.0),
            one_session_per_team_per_day: true,
            description: "Barn och unga först.".into(),
        },
    };
    let service = Allocations::new(reg.clone());
    let round = service.create_round(&admin, &input).await.unwrap();
    let at = |day: u8| Alternative { day, earliest_start: "17:00".into(), latest_end: "18:00".into(), units: vec![hall] };
    let team = |name: &str, from: u8, to: u8, level: &str| Team {
        name: name.into(),
        activity: "floorball".into(),
        age_from: from,
        age_to: to,
        gender: Gender::Male,
        participants: 14,
        level: level.into(),
    };
    // The children's team (3,000 points) wants Monday and Wednesday; the adults (1,000) want
    // either of the same, and Friday: they lose Monday and Wednesday, and get Friday.
    let children = ApplicationInput {
        association_id: associations[0],
        team: team("P12", 11, 12, ""),
        wishes: vec![Wish { duration_minutes: 60, times_per_week: 2, alternatives: vec![at(1), at(3)] }],
    };
    let adults = ApplicationInput {
        association_id: associations[1],
        team: team("Motion herrar", 30, 45, "Motion"),
        wishes: vec![
            Wish { duration_minutes: 60, times_per_week: 1, alternatives: vec![at(1), at(3)] },
            Wish { duration_minutes: 60, times_per_week: 1, alternatives: vec![at(5)] },
        ],
    };
    let children = service.submit_application(&rep, round.id, &children).await.unwrap();
    let adults = service.submit_application(&rep, round.id, &adults).await.unwrap();
    let first = service.run(&admin, round.id, &RunRequest { label: "preliminary".into(), ..RunRequest::default() }).await.unwrap();
    // Staff move the adults' Friday to Thursday: a new run, that session locked outside its wish.
    let thursday = Slot { unit_id: hall, day: 4, date: None, start: "17:00".into(), end: "18:00".into() };
    let edit = EditRequest { application_id: adults.id, wish: 1, session: 0, slot: Some(thursday), reason: "Fredag är städdag".into() };
    let edited = service.edit(&admin, first.id, &edit).await.unwrap();
    service.publish(&admin, round.id, edited.id, None).await.unwrap();
    service.comment(&rep, adults.id, "Vi tar torsdag.").await.unwrap();
    service.finalise(&admin, round.id, edited.id, None).await.unwrap();

    let mut c = AllocationServiceClient::new(app.channel().await);
    let schema = Schema::decode(grpc_api::proto::FILE_DESCRIPTOR_SET);
    let mut parity = Parity::new(&schema, ALIASES).with_code_enums(ALLOCATION_CODE_ENUMS);
    let id = round.id.to_string();
    let staff = keys.editor_0180.as_str();

    // Match times. The hall is booked through a vendor from now on (certified, on loopback),
    // which match runs ask: its honest answer has every other hour booked.
    let live = FaultVendor::new(vec!["hall-a".into()], Faults::default(), 7);
    let endpoint = format!("http://{}", live.serve().await);
    let vendor_input = VendorInput {
        name: "Parity bokning".into(),
        endpoint,
        protocol: VendorProtocol::Grpc,
        auth: VendorAuth::None,
        credential_ref: None,
        ca_pem: None,
        max_concurrency: None,
        requests_per_second: None,
        municipality_codes: vec!["0180".into()],
        test_units: vec![],
    };
    let vendor = reg.create_vendor(&admin, &vendor_input, fixtures::passing_checks(), None).await.unwrap();
    reg.set_unit_vendor(&admin, facility.id, hall, Some((vendor.id, "hall-a".into()))).await.unwrap();
    let rita = app.session("197702281937", "Rita Representant", None).await;
    // The season's first Monday (the children train there 17–18) and Friday (free all evening).
    let weekday = |n: u32| start + chrono::Duration::days(i64::from((7 + n - start.weekday().number_from_monday()) % 7));
    let alternative = |date: chrono::NaiveDate, from: &str, to: &str| pb::MatchAlternative {
        date: date.to_string(),
        earliest_start: from.into(),
        latest_end: to.into(),
        units: vec![hall.to_string()],
    };
    let home = pb::MatchRequestInput {
        duration_minutes: 60,
        alternatives: vec![alternative(weekday(1), "17:00", "18:00"), alternative(weekday(5), "16:00", "20:00")],
        note: "Hemmamatch mot IK Sävbo".into(),
    };
    let requested = c
        .request_match(with_key(pb::RequestMatchRequest { id: children.id.to_string(), match_request: Some(home) }, &rita))
        .await
        .unwrap()
        .into_inner()
        .match_request
        .unwrap();
    assert_eq!(requested.status, "requested");
    let other =
        pb::MatchRequestInput { duration_minutes: 60, alternatives: vec![alternative(weekday(5), "16:00", "20:00")], note: String::new() };
    let other = c
        .request_match(with_key(pb::RequestMatchRequest { id: adults.id.to_string(), match_request: Some(other) }, &rita))
        .await
        .unwrap()
        .into_inner()
        .match_request
        .unwrap();
    let withdrawn = c.withdraw_match(with_key(pb::WithdrawMatchRequest { id: other.id.clone() }, &rita)).await.unwrap().into_inner();
    assert_eq!(withdrawn.match_request.unwrap().status, "withdrawn");
    let match_run =
        c.run_matches(with_key(pb::RunMatchesRequest { id: id.clone(), label: "matcher".into() }, staff)).await.unwrap().into_inner();
    let match_run = match_run.run.unwrap();
    assert_eq!(match_run.kind, pb::RunKind::Matches as i32);
    assert_eq!(match_run.decisions.len(), 1, "{match_run:?}");
    assert!(match_run.decisions[0].slot.is_some(), "the Friday is free at some hour: {match_run:?}");
    assert!(match_run.vendor_checks.iter().all(|v| v.status == "ok" && !v.booked.is_empty()), "{:?}", match_run.vendor_checks);
    let path = format!("/v1/allocation/runs/{}", match_run.id);
    let r = rest(&app, &path, staff).await;
    parity.compare(&format!("RunMatches vs GET {path}"), ".registry.v1.AllocationRun", &match_run, &r);
    let round_version = c.get_round(pb::GetRoundRequest { id: id.clone() }).await.unwrap().into_inner().round.unwrap().version;
    let decided = c
        .decide_matches(with_key(
            pb::DecideMatchesRequest { id: id.clone(), run_id: match_run.id.clone(), expected_version: round_version },
            staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.matches.len(), 1);
    assert_eq!(decided.matches[0].status, "allocated");
    let path = format!("/v1/allocation/rounds/{id}/matches");
    let r = rest(&app, &path, staff).await;
    let only_decided: Vec<Value> = r["matches"].as_array().unwrap().iter().filter(|m| m["id"] == requested.id.as_str()).cloned().collect();
    parity.compare(
        &format!("DecideMatches vs GET {path}"),
        ".registry.v1.DecideMatchesResponse",
        &decided,
        &serde_json::json!({"matches": only_decided}),
    );
    let g = c.list_matches(with_key(pb::ListMatchesRequest { id: id.clone() }, staff)).await.unwrap().into_inner();
    assert_eq!(g.matches.len(), 2);
    parity.compare(&format!("GET {path}"), ".registry.v1.ListMatchesResponse", &g, &r);
    // The representative sees their own, as staff do.
    let mine = c.list_matches(with_key(pb::ListMatchesRequest { id: id.clone() }, &rita)).await.unwrap().into_inner();
    assert_eq!(mine, g);
    for (role, key) in [("anonymous", ""), ("editor of 0180", staff)] {
        let r = rest(&app, "/v1/allocation/rounds?municipalityCode=0180", key).await;
        let g = c.list_rounds(with_key(pb::ListRoundsRequest { municipality_code: "0180".into() }, key)).await.unwrap().into_inner();
        parity.compare(&format!("GET /v1/allocation/rounds as {role}"), ".registry.v1.ListRoundsResponse", &g, &r);
        let path = format!("/v1/allocation/rounds/{id}");
        let r = rest(&app, &path, key).await;
        let g = c.get_round(with_key(pb::GetRoundRequest { id: id.clone() }, key)).await.unwrap().into_inner().round.unwrap();
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.Round", &g, &r);
        // The final run is open to everyone; the first one (never published) and the run of
        // match times to staff only.
        let match_run: uuid::Uuid = match_run.id.parse().unwrap();
        let runs = if key.is_empty() { vec![edited.id] } else { vec![first.id, edited.id, match_run] };
        for run in runs {
            let path = format!("/v1/allocation/runs/{run}");
            let r = rest(&app, &path, key).await;
            match c.get_run(with_key(pb::GetRunRequest { id: run.to_string() }, key)).await {
                Ok(g) => parity.compare(&format!("GET {path} as {role}"), ".registry.v1.AllocationRun", &g.into_inner().run.unwrap(), &r),
                Err(e) => panic!("GET {path} as {role}: REST answered, gRPC {e:?}"),
            }
        }
        let path = format!("/v1/allocation/rounds/{id}/allocation");
        let r = rest(&app, &path, key).await;
        let g = c.get_public_allocation(with_key(pb::GetPublicAllocationRequest { id: id.clone() }, key)).await.unwrap().into_inner();
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.PublicAllocation", &g.allocation.unwrap(), &r);
    }
    let path = format!("/v1/allocation/rounds/{id}/applications");
    let r = rest(&app, &path, staff).await;
    let g = c.list_applications(with_key(pb::ListApplicationsRequest { id: id.clone() }, staff)).await.unwrap().into_inner();
    assert_eq!(g.applications.len(), 2);
    parity.compare(&format!("GET {path}"), ".registry.v1.ListApplicationsResponse", &g, &r);
    let path = format!("/v1/allocation/rounds/{id}/runs");
    let r = rest(&app, &path, staff).await;
    let g = c.list_runs(with_key(pb::ListRunsRequest { id: id.clone() }, staff)).await.unwrap().into_inner();
    assert_eq!(g.runs.len(), 3);
    parity.compare(&format!("GET {path}"), ".registry.v1.ListRunsResponse", &g, &r);
    let path = format!("/v1/allocation/rounds/{id}/comments");
    let r = rest(&app, &path, staff).await;
    let g = c.list_comments(with_key(pb::ListCommentsRequest { id: id.clone() }, staff)).await.unwrap().into_inner();
    assert_eq!(g.comments.len(), 1);
    parity.compare(&format!("GET {path}"), ".registry.v1.ListCommentsResponse", &g, &r);

    assert!(parity.errors.is_empty(), "REST and gRPC differ:\n{}", parity.errors.join("\n"));
    let roots = [
        ".registry.v1.ListRoundsResponse",
        ".registry.v1.AllocationRun",
        ".registry.v1.PublicAllocation",
        ".registry.v1.ListApplicationsResponse",
        ".registry.v1.ListRunsResponse",
        ".registry.v1.ListCommentsResponse",
        ".registry.v1.ListMatchesResponse",
        ".registry.v1.DecideMatchesResponse",
    ];
    let never: Vec<String> = schema.reachable_fields(&roots).difference(&parity.covered).map(|(m, f)| format!("{m}.{f}")).collect();
    assert!(never.is_empty(), "these fields never carried a value, so dropping them would go unnoticed: {never:?}");
}

/// The grants' enums are written as lower-case codes in REST (`"activity"`, `"delegation"`,
/// `"approved"`, `"bankgiro"`, `"year_turned"`); `AgeBand` by its proto value name in both.
const GRANT_CODE_ENUMS: &[&str] = &[
    ".registry.v1.GrantProgrammeKind",
    ".registry.v1.GrantAgeBasis",
    ".registry.v1.GrantAuthority",
    ".registry.v1.GrantOutcome",
    ".registry.v1.GrantAccountKind",
];

/// A valid twelve-digit personal identity number of someone born on `birth`, with birth number
/// `serial`.
fn pin(birth: chrono::NaiveDate, serial: u16) -> String {
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

/// Grants: three programmes of 0180, one of each kind with every rule set; an activity-grant
/// application with an attendance list (one occasion counted, one too short: a report with its
/// reasons) and an attachment, asked to be completed, sent again, assessed, approved, in a
/// payment order paid from an IBAN with its BIC and attested by a second person; an
/// application grant paid to an IBAN, rejected in committee. Read through both front ends by
/// staff, the representative and anonymous callers, so that every field of the compared
/// messages carries a value somewhere.
#[tokio::test]
async fn the_grants_read_the_same_through_rest_and_grpc() {
    use chrono::Datelike;
    use grants::Grants;
    use grants::account::Account;
    use grants::model::{
        ApplicationInput, ApplicationRules, Authority, BandAmount, BasicRules, Debtor, DecisionInput, Outcome, PaymentOrderInput,
        ProgrammeInput, ProgrammeKind,
    };
    use grants::rules::{ActivityRules, AgeBasis};
    use grpc_api::proto::v1::grants_service_client::GrantsServiceClient;
    use registry_core::model::association::AgeBand;
    use registry_core::service::sessions::{SessionPolicy, Sessions};

    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin = Principal::operator("setup");
    let reg = &app.registry;
    let sessions = Sessions::new(reg.pool().clone(), "", reg.clock().clone(), SessionPolicy::default());
    let rep = Principal::person(sessions.person(Some("197702281937"), "Rita Representant").unwrap(), None);
    let attester = Principal::person(sessions.person(Some("197802142385"), "Stina Attestant").unwrap(), Some("0180".into()));
    let mut associations = Vec::new();
    for n in [1, 2] {
        let a = reg.create_association(&admin, &fixtures::association("0180", n)).await.unwrap();
        reg.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap();
        let r =
            registry_core::model::NewRepresentative { personal_identity_number: "197702281937".into(), name: "Rita Representant".into() };
        reg.add_representative(&admin, a.id, &r).await.unwrap();
        associations.push(a.id);
    }

    let (now, today) = (reg.now(), tests::dates::today());
    let period_from = today - chrono::Duration::days(60);
    let programme = |name: &str, kind| ProgrammeInput {
        municipality_code: "0180".into(),
        name: name.into(),
        description: format!("{name}: regler och villkor."),
        kind,
        activity: None,
        basic: None,
        application: None,
        period_from,
        period_to: today + chrono::Duration::days(30),
        applications_open: now - chrono::Duration::days(1),
        applications_close: now + chrono::Duration::days(10),
        budget_minor: 10_000_000,
    };
    let service = Grants::new(reg.clone());
    let activity = ProgrammeInput {
        activity: Some(ActivityRules {
            age_basis: AgeBasis::YearTurned,
            max_participants_counted: Some(30),
            amount_per_participant_minor: 1000,
            amount_per_occasion_minor: 500,
            ..ActivityRules::default()
        }),
        ..programme("Aktivitetsstöd", ProgrammeKind::Activity)
    };
    let activity = service.create_programme(&admin, &activity).await.unwrap();
    let basic = ProgrammeInput {
        basic: Some(BasicRules {
            year: 2025,
            amounts: vec![BandAmount { age_band: AgeBand::Age13To20, amount_minor: 10_000 }],
            min_members: 5,
            max_amount_minor: Some(500_000),
        }),
        ..programme("Grundbidrag", ProgrammeKind::Basic)
    };
    let basic = service.create_programme(&admin, &basic).await.unwrap();
    let project = ProgrammeInput {
        application: Some(ApplicationRules { max_amount_minor: Some(5_000_000), min_attachments: 1 }),
        ..programme("Projektbidrag", ProgrammeKind::Application)
    };
    let project = service.create_programme(&admin, &project).await.unwrap();

    // The activity grant: an attendance list and an attachment, completion, assessment, approval.
    let giro = Account::Bankgiro { number: "5050-1055".into() };
    let input = ApplicationInput {
        association_id: associations[0],
        title: "Höstens träningar".into(),
        description: "Innebandy för barn".into(),
        requested_minor: Some(10_000),
        payee: Some(giro.clone()),
    };
    let trained = service.create_application(&rep, activity.id, &input).await.unwrap();
    let day = today - chrono::Duration::days(10);
    let born = chrono::NaiveDate::from_ymd_opt(day.year() - 10, 3, 10).unwrap();
    let mut csv = String::from("date,start,end,group,role,personalIdentityNumber,name\n");
    for (date, end) in [(day, "18:30"), (day - chrono::Duration::days(1), "17:59")] {
        for serial in 101..106u16 {
            csv.push_str(&format!("{date},17:00,{end},F12,participant,{},Barn {serial}\n", pin(born, serial)));
        }
        csv.push_str(&format!("{date},17:00,{end},F12,leader,{},Ledare\n", pin(chrono::NaiveDate::from_ymd_opt(1980, 5, 5).unwrap(), 900)));
    }
    let list = service.add_attendance(&rep, trained.id, "ht.csv", csv.into_bytes()).await.unwrap();
    assert_eq!((list.occasions, list.occasions_counted, list.amount_minor), (2, 1, 5 * 1000 + 500));
    let pdf = b"%PDF-1.7\nBudget\n%%EOF\n".to_vec();
    service.add_attachment(&rep, trained.id, "budget.pdf", pdf.clone()).await.unwrap();
    service.submit(&rep, trained.id, None).await.unwrap();
    service.request_completion(&admin, trained.id, "Närvarolistan för vecka 40 saknas.", None).await.unwrap();

    let channel = app.channel().await;
    let mut c = GrantsServiceClient::new(channel.clone());
    let schema = Schema::decode(grpc_api::proto::FILE_DESCRIPTOR_SET);
    let mut parity = Parity::new(&schema, ALIASES).with_code_enums(GRANT_CODE_ENUMS);
    let staff = keys.editor_0180.as_str();
    let rita = app.session("197702281937", "Rita Representant", None).await;
    let compare_application = async |parity: &mut Parity<'_>, id: uuid::Uuid, role: &str, key: &str| {
        let path = format!("/v1/grants/applications/{id}");
        let r = rest(&app, &path, key).await;
        let mut c = GrantsServiceClient::new(channel.clone());
        let g = c.get_application(with_key(pb::GetGrantApplicationRequest { id: id.to_string() }, key)).await.unwrap();
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.GrantApplication", &g.into_inner().application.unwrap(), &r);
    };
    // Asked to be completed: the message is there until it is sent again.
    compare_application(&mut parity, trained.id, "staff (completion requested)", staff).await;

    service.submit(&rep, trained.id, None).await.unwrap();
    service.assess(&admin, trained.id, "Enligt reglerna.", 5500, None).await.unwrap();
    let approve = DecisionInput {
        outcome: Outcome::Approved,
        amount_minor: 5500,
        reasons: "Enligt reglerna.".into(),
        authority: Authority::Delegation,
        reference: "Delegationsordning 4.2".into(),
    };
    service.decide(&admin, trained.id, &approve, None).await.unwrap();

    // The application grant, to an IBAN, rejected in committee.
    let iban = Account::Iban { iban: "SE45 5000 0000 0583 9825 7466".into(), bic: Some("ESSESESS".into()) };
    let input = ApplicationInput {
        association_id: associations[1],
        title: "Cup".into(),
        description: "Ungdomscup i juni".into(),
        requested_minor: Some(2_000_000),
        payee: Some(iban.clone()),
    };
    let cup = service.create_application(&rep, project.id, &input).await.unwrap();
    service.add_attachment(&rep, cup.id, "budget.pdf", pdf).await.unwrap();
    service.submit(&rep, cup.id, None).await.unwrap();
    let reject = DecisionInput {
        outcome: Outcome::Rejected,
        amount_minor: 0,
        reasons: "Budgeten är förbrukad.".into(),
        authority: Authority::Committee,
        reference: "Kultur- och fritidsnämnden § 13".into(),
    };
    service.decide(&admin, cup.id, &reject, None).await.unwrap();

    // Paid from 0180's IBAN (with its BIC), prepared by one and attested by another.
    let order = PaymentOrderInput {
        municipality_code: "0180".into(),
        application_ids: vec![trained.id],
        execution_date: today + chrono::Duration::days(3),
        debtor: Debtor {
            name: "Stockholms stad".into(),
            org_number: "212000-0142".into(),
            account: Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some("ESSESESS".into()) },
            bic: Some("ESSESESS".into()),
        },
    };
    let order = service.prepare_order(&admin, &order).await.unwrap();
    service.attest_order(&attester, order.id, None).await.unwrap();

    // Programmes: anyone.
    for (role, key) in [("anonymous", ""), ("editor of 0180", staff)] {
        for id in [activity.id, basic.id, project.id] {
            let path = format!("/v1/grants/programmes/{id}");
            let r = rest(&app, &path, key).await;
            let g = c.get_programme(with_key(pb::GetGrantProgrammeRequest { id: id.to_string() }, key)).await.unwrap();
            parity.compare(&format!("GET {path} as {role}"), ".registry.v1.GrantProgramme", &g.into_inner().programme.unwrap(), &r);
        }
        let r = rest(&app, "/v1/grants/programmes?municipalityCode=0180", key).await;
        let g = c.list_programmes(with_key(pb::ListGrantProgrammesRequest { municipality_code: "0180".into() }, key)).await.unwrap();
        let g = g.into_inner();
        assert_eq!(g.programmes.len(), 3);
        parity.compare(&format!("GET /v1/grants/programmes as {role}"), ".registry.v1.ListGrantProgrammesResponse", &g, &r);
    }
    // Applications: staff with the assessment, the representative without.
    for (role, key) in [("staff", staff), ("the representative", rita.as_str())] {
        for id in [trained.id, cup.id] {
            compare_application(&mut parity, id, role, key).await;
        }
        let path = "/v1/grants/applications?municipalityCode=0180";
        let r = rest(&app, path, key).await;
        let req = pb::ListGrantApplicationsRequest { municipality_code: "0180".into(), ..Default::default() };
        let g = c.list_applications(with_key(req, key)).await.unwrap().into_inner();
        assert_eq!(g.applications.len(), 2);
        parity.compare(&format!("GET {path} as {role}"), ".registry.v1.ListGrantApplicationsResponse", &g, &r);
    }
    // The payment order (staff).
    let path = format!("/v1/grants/payment-orders/{}", order.id);
    let r = rest(&app, &path, staff).await;
    let g = c.get_payment_order(with_key(pb::GetPaymentOrderRequest { id: order.id.to_string() }, staff)).await.unwrap();
    let g = g.into_inner().order.unwrap();
    assert_eq!((g.status.as_str(), g.attested_by.as_deref()), ("attested", Some("Stina Attestant")));
    parity.compare(&format!("GET {path}"), ".registry.v1.GrantPaymentOrder", &g, &r);
    let r = rest(&app, "/v1/grants/payment-orders?municipalityCode=0180", staff).await;
    let g = c.list_payment_orders(with_key(pb::ListPaymentOrdersRequest { municipality_code: "0180".into() }, staff)).await.unwrap();
    parity.compare("GET /v1/grants/payment-orders", ".registry.v1.ListPaymentOrdersResponse", &g.into_inner(), &r);
    // Open data: anyone.
    let r = rest(&app, "/v1/grants/decisions?municipalityCode=0180", "").await;
    let g = c.list_decisions(pb::ListGrantDecisionsRequest { municipality_code: "0180".into(), ..Default::default() }).await.unwrap();
    let g = g.into_inner();
    assert_eq!(g.decisions.len(), 2);
    parity.compare("GET /v1/grants/decisions", ".registry.v1.ListGrantDecisionsResponse", &g, &r);
    let year = period_from.year();
    let r = rest(&app, &format!("/v1/grants/statistics?year={year}"), "").await;
    let g = c.get_statistics(pb::GetGrantStatisticsRequest { year }).await.unwrap().into_inner();
    assert_eq!(g.municipalities.len(), 1);
    parity.compare("GET /v1/grants/statistics", ".registry.v1.GetGrantStatisticsResponse", &g, &r);

    assert!(parity.errors.is_empty(), "REST and gRPC differ:\n{}", parity.errors.join("\n"));
    let roots = [
        ".registry.v1.ListGrantProgrammesResponse",
        ".registry.v1.ListGrantApplicationsResponse",
        ".registry.v1.ListPaymentOrdersResponse",
        ".registry.v1.ListGrantDecisionsResponse",
        ".registry.v1.GetGrantStatisticsResponse",
    ];
    let never: Vec<String> = schema.reachable_fields(&roots).difference(&parity.covered).map(|(m, f)| format!("{m}.{f}")).collect();
    assert!(never.is_empty(), "these fields never carried a value, so dropping them would go unnoticed: {never:?}");
}
