//! Association self-service (issue 26, parts 3–5) through the real server, signed in as
//! people (server-side sessions, as the OpenID Connect callback makes them; signin.rs covers
//! the provider): a resident registers an association and becomes its representative, staff
//! of its municipality find it in their inbox and decide, the association answers a completion
//! request, reports member statistics per year (corrections versioned), manages its
//! representatives and registers with a second municipality; the national record follows in
//! reads, search and exports. Attacks: a representative of A writing to B, a removed
//! representative a moment later, staff of one municipality deciding another's registration,
//! the last representative, bad personal identity numbers; each refused with nothing written.

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::association_service_client::AssociationServiceClient;
use reqwest::Method;
use serde_json::{Value, json};
use tests::{TestApp, fixtures, with_key};

const ANNA: &str = "198112289874";
const ERIK: &str = "197702281937";
const OLLE: &str = "196408233234";

struct Client<'a> {
    app: &'a TestApp,
    key: String,
}

impl Client<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, if_match: Option<i64>) -> (u16, Value) {
        let mut req = self.app.http().request(method, self.app.url(path));
        if let Some((cookie, csrf)) = tests::session_key(&self.key) {
            req = req.header("cookie", cookie).header("x-csrf-token", csrf);
        } else if !self.key.is_empty() {
            req = req.header("x-api-key", &self.key);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body), None).await
    }
}

fn new_association(code: &str, n: u32) -> Value {
    let mut a = serde_json::to_value(fixtures::association(code, n)).unwrap();
    a["postalAddress"] = json!({"street": "Box 7", "postalCode": "114 32", "city": "Stockholm"});
    a
}

fn violation(body: &Value) -> (String, String) {
    let v = &body["errors"][0];
    (v["field"].as_str().unwrap_or("").to_string(), v["rule"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn a_resident_registers_staff_decide_and_the_association_keeps_its_record() {
    let app = TestApp::start().await;
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let staff = Client { app: &app, key: app.session(OLLE, "Olle Handläggare", Some("0180")).await };
    let public = Client { app: &app, key: String::new() };

    // Two registrations: the inbox shows the older first.
    let (s, first) = anna.post("/v1/associations", new_association("0180", 1)).await;
    assert_eq!(s, 201, "{first}");
    let (s, second) = anna.post("/v1/associations", new_association("0180", 2)).await;
    assert_eq!(s, 201, "{second}");
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["registration"]["status"], "REGISTRATION_STATUS_PENDING");
    assert_eq!(first["registrations"][0]["municipalityCode"], "0180");
    assert_eq!(first["postalAddress"]["postalCode"], "11432", "normalised");
    assert_eq!(first["contactPersons"][0]["name"], "Karin Karlsson", "a representative sees its contact persons");

    // The registrant is its representative; the public does not see a pending registration.
    let (s, mine) = anna.get("/v1/me/associations").await;
    assert_eq!(s, 200);
    assert_eq!(mine["associations"].as_array().unwrap().len(), 2);
    let (s, reps) = anna.get(&format!("/v1/associations/{id}/representatives")).await;
    assert_eq!(s, 200, "{reps}");
    assert_eq!(reps["representatives"][0]["name"], "Anna Andersson");
    assert_eq!(reps["representatives"][0]["isYou"], true);
    assert!(!reps.to_string().contains(ANNA), "no personal identity number in the answer");
    assert_eq!(public.get(&format!("/v1/associations/{id}")).await.0, 404);

    // Staff's inbox, oldest first; a registration with another municipality is not in it.
    let (s, inbox) = staff.get("/v1/municipalities/0180/registrations").await;
    assert_eq!(s, 200, "{inbox}");
    let ids: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|i| i["associationId"].as_str().unwrap()).collect();
    assert_eq!(ids, [first["id"].as_str().unwrap(), second["id"].as_str().unwrap()]);
    assert_eq!(staff.get("/v1/municipalities/1480/registrations").await.0, 403, "another municipality's inbox");

    // Staff ask for completion; the association sees the message, updates and resubmits.
    let (s, asked) =
        staff.post(&format!("/v1/associations/{id}/registrations/0180/request-completion"), json!({"message": "Skicka stadgarna"})).await;
    assert_eq!(s, 200, "{asked}");
    assert_eq!(asked["registration"]["status"], "REGISTRATION_STATUS_NEEDS_COMPLETION");
    let (s, history) = anna.get(&format!("/v1/associations/{id}/registrations")).await;
    assert_eq!(s, 200);
    let events = history["registrations"][0]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["kind"], "REGISTRATION_EVENT_COMPLETION_REQUESTED");
    assert_eq!(events[1]["message"], "Skicka stadgarna");
    assert_eq!(events[1]["by"], "municipality");
    let version = asked["version"].as_i64().unwrap();
    let (s, _) = anna
        .call(
            Method::PATCH,
            &format!("/v1/associations/{id}"),
            Some(json!({"foundedYear": 1994, "federations": ["football"]})),
            Some(version),
        )
        .await;
    assert_eq!(s, 200);
    // The update sent it back; the answer that follows joins it (once).
    let (s, answered) = anna.post(&format!("/v1/associations/{id}/registrations/0180/resubmit"), json!({"message": "Bifogat"})).await;
    assert_eq!(s, 200, "{answered}");
    assert_eq!(answered["registration"]["status"], "REGISTRATION_STATUS_PENDING");
    let (_, history) = anna.get(&format!("/v1/associations/{id}/registrations")).await;
    let events = history["registrations"][0]["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "submitted, completion asked, sent back by the update, answered: {events:?}");
    assert_eq!((events[3]["kind"].as_str(), events[3]["message"].as_str()), (Some("REGISTRATION_EVENT_RESUBMITTED"), Some("Bifogat")));
    let (s, again) = anna.post(&format!("/v1/associations/{id}/registrations/0180/resubmit"), json!({"message": "Igen"})).await;
    assert_eq!((s, violation_or_rule(&again)), (409, "invalid_transition".into()), "nothing left to answer");
    let (s, approved) = staff.post(&format!("/v1/associations/{id}/registrations/0180/approve"), json!({})).await;
    assert_eq!(s, 200, "{approved}");
    assert_eq!(approved["registration"]["status"], "REGISTRATION_STATUS_APPROVED");
    assert_eq!(approved["foundedYear"], 1994);
    let (s, shown) = public.get(&format!("/v1/associations/{id}")).await;
    assert_eq!(s, 200);
    assert!(shown.get("contactPersons").is_none() && shown.get("memberStatistics").is_none(), "public fields only: {shown}");

    // Member statistics: one report per year, corrections versioned, all kept.
    let counts = json!({"counts": [{"ageBand": "AGE_BAND_7_TO_12", "gender": "GENDER_FEMALE", "count": 40}]});
    let path = format!("/v1/associations/{id}/member-statistics/2024");
    let (s, r1) = anna.call(Method::PUT, &path, Some(counts.clone()), None).await;
    assert_eq!((s, r1["version"].as_i64()), (201, Some(1)), "{r1}");
    let (s, body) = anna.call(Method::PUT, &path, Some(counts.clone()), None).await;
    assert_eq!((s, violation_or_rule(&body)), (409, "already_reported".into()), "a second report of the year needs its version");
    let fixed = json!({"counts": [{"ageBand": "AGE_BAND_7_TO_12", "gender": "GENDER_FEMALE", "count": 44}]});
    assert_eq!(anna.call(Method::PUT, &path, Some(fixed.clone()), Some(7)).await.0, 412, "a stale version");
    let (s, r2) = anna.call(Method::PUT, &path, Some(fixed), Some(1)).await;
    assert_eq!((s, r2["version"].as_i64(), r2["total"].as_i64()), (200, Some(2), Some(44)));
    let (s, bad) = anna.call(Method::PUT, &format!("/v1/associations/{id}/member-statistics/2999"), Some(counts.clone()), None).await;
    assert_eq!((s, violation(&bad).0), (400, "year".into()));
    let (s, reports) = staff.get(&format!("/v1/associations/{id}/member-statistics")).await;
    assert_eq!(s, 200);
    let versions: Vec<(i64, bool)> =
        reports["reports"].as_array().unwrap().iter().map(|r| (r["version"].as_i64().unwrap(), r["current"] == true)).collect();
    assert!(versions.contains(&(1, false)) && versions.contains(&(2, true)), "{reports}");
    assert_eq!(versions.len(), 3, "2025 (registered with it) and 2024's two versions");
    let (_, record) = anna.get(&format!("/v1/associations/{id}")).await;
    let years = record["memberStatisticsByYear"].as_array().unwrap();
    let this = years.iter().find(|y| y["year"] == 2024).unwrap();
    assert_eq!(this["counts"][0]["count"], 44, "the record shows the year's current figures");

    // Withdrawing: the association's own act; then it is no longer in the public view.
    let (s, w) = anna.post(&format!("/v1/associations/{id}/registrations/0180/withdraw"), json!({})).await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["registrations"][0]["status"], "REGISTRATION_STATUS_WITHDRAWN");
    assert_eq!(public.get(&format!("/v1/associations/{id}")).await.0, 404);
}

fn violation_or_rule(body: &Value) -> String {
    violation(body).1
}

#[tokio::test]
async fn representatives_come_and_go_and_a_removed_one_is_refused_at_once() {
    let app = TestApp::start().await;
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let erik = Client { app: &app, key: app.session(ERIK, "Erik Ek", None).await };
    let (_, a) = anna.post("/v1/associations", new_association("0180", 10)).await;
    let id = a["id"].as_str().unwrap().to_string();
    let reps = format!("/v1/associations/{id}/representatives");

    // Bad numbers name the field and the rule; nothing is added.
    for (pin, rule) in [("198113289874", "date"), ("198112289875", "checksum"), ("12345", "format")] {
        let (s, body) = anna.post(&reps, json!({"personalIdentityNumber": pin, "name": "X"})).await;
        assert_eq!((s, violation(&body)), (400, ("personalIdentityNumber".into(), rule.into())), "{pin}: {body}");
    }
    // The last representative stays.
    let (_, list) = anna.get(&reps).await;
    let anna_id = list["representatives"][0]["id"].as_str().unwrap().to_string();
    let (s, body) = anna.call(Method::DELETE, &format!("{reps}/{anna_id}"), None, None).await;
    assert_eq!((s, violation_or_rule(&body)), (409, "last_representative".into()));

    // Erik cannot act for it until he is added; then he can.
    let patch = |v: i64, name: &str| (json!({"name": name}), v);
    let (b, v) = patch(a["version"].as_i64().unwrap(), "Eriks namn");
    assert_eq!(
        erik.call(Method::PATCH, &format!("/v1/associations/{id}"), Some(b.clone()), Some(v)).await.0,
        404,
        "pending: not even seen"
    );
    let (s, added) = anna.post(&reps, json!({"personalIdentityNumber": "19770228-1937", "name": "Erik Ek"})).await;
    assert_eq!(s, 201, "{added}");
    let (s, dup) = anna.post(&reps, json!({"personalIdentityNumber": ERIK, "name": "Erik igen"})).await;
    assert_eq!((s, violation_or_rule(&dup)), (409, "unique".into()));
    let (_, now) = erik.get(&format!("/v1/associations/{id}")).await;
    let (s, renamed) =
        erik.call(Method::PATCH, &format!("/v1/associations/{id}"), Some(json!({"name": "Eriks namn"})), now["version"].as_i64()).await;
    assert_eq!(s, 200, "{renamed}");

    // Anna removes Erik; his next write, a moment later, is refused and changes nothing.
    let erik_id = added["id"].as_str().unwrap();
    assert_eq!(anna.call(Method::DELETE, &format!("{reps}/{erik_id}"), None, None).await.0, 204);
    let version = renamed["version"].as_i64().unwrap() + 1;
    let (s, _) = erik.call(Method::PATCH, &format!("/v1/associations/{id}"), Some(json!({"name": "Kapad"})), Some(version)).await;
    assert_eq!(s, 404, "no longer a representative: the pending registration is hidden again");
    let (_, after) = anna.get(&format!("/v1/associations/{id}")).await;
    assert_eq!(after["name"], "Eriks namn");
    assert_eq!(erik.get("/v1/me/associations").await.1["associations"], json!([]));
}

#[tokio::test]
async fn nobody_writes_to_an_association_they_do_not_act_for() {
    let app = TestApp::start().await;
    let admin = registry_core::auth::Principal::operator("setup");
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let staff_1480 = Client { app: &app, key: app.session(OLLE, "Olle i Göteborg", Some("1480")).await };
    // A: Anna's; B: someone else's, approved (so Anna can see it).
    let (_, a) = anna.post("/v1/associations", new_association("0180", 20)).await;
    let b = app.registry.create_association(&admin, &fixtures::association("0180", 21)).await.unwrap();
    let b = app.registry.decide_registration(&admin, b.id, None, None, &registry_core::model::Decision::Approve).await.unwrap();
    let b_path = format!("/v1/associations/{}", b.id);
    let before = app.registry.get_association(&admin, b.id).await.unwrap();

    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, b_path.clone(), Some(json!({"name": "Kapad"}))),
        (Method::PUT, format!("{b_path}/member-statistics/2025"), Some(json!({"counts": []}))),
        (Method::POST, format!("{b_path}/representatives"), Some(json!({"personalIdentityNumber": ERIK, "name": "Erik"}))),
        (Method::POST, format!("{b_path}/registrations"), Some(json!({"municipalityCode": "1480"}))),
        (Method::POST, format!("{b_path}/registrations/0180/withdraw"), None),
        (Method::POST, format!("{b_path}/registrations/0180/resubmit"), Some(json!({}))),
        (Method::DELETE, b_path.clone(), None),
    ];
    for (method, path, body) in writes {
        let (s, answer) = anna.call(method.clone(), &path, body, Some(before.version)).await;
        assert_eq!(s, 403, "representative of A: {method} {path}: {answer}");
        if method != Method::DELETE {
            assert!(answer["detail"].as_str().unwrap_or("").contains("representatives"), "the refusal says who may: {answer}");
        }
    }
    assert_eq!(app.registry.get_association(&admin, b.id).await.unwrap(), before, "B is unchanged");
    assert_eq!(anna.get(&format!("{b_path}/representatives")).await.0, 403);
    assert_eq!(anna.get(&format!("{b_path}/registrations")).await.0, 403);

    // Staff of 1480 cannot decide 0180's registration: a pending one is not even shown to
    // them, and a visible one is refused.
    let a_id = a["id"].as_str().unwrap();
    let (s, _) = staff_1480.post(&format!("/v1/associations/{a_id}/registrations/0180/approve"), json!({})).await;
    assert_eq!(s, 404);
    let (s, body) = staff_1480.post(&format!("{b_path}/registrations/0180/reject"), json!({"reason": "Nej"})).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(app.registry.get_association(&admin, b.id).await.unwrap(), before);
}

#[tokio::test]
async fn one_record_is_registered_with_several_municipalities() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let stockholm = Client { app: &app, key: keys.editor_0180.clone() };
    let goteborg = Client { app: &app, key: keys.editor_1480.clone() };
    let public = Client { app: &app, key: String::new() };
    let (_, a) = anna.post("/v1/associations", new_association("0180", 30)).await;
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(stockholm.post(&format!("/v1/associations/{id}/approve"), json!({})).await.0, 200, "the old route decides the caller's own");

    // The same organisation number cannot become a second record.
    let (s, body) = anna.post("/v1/associations", new_association("1480", 30)).await;
    assert_eq!(s, 409);
    assert!(body["detail"].as_str().unwrap().contains(&id), "{body}");

    // The representative registers it with Göteborg: pending there, approved in Stockholm.
    let (s, two) = anna.post(&format!("/v1/associations/{id}/registrations"), json!({"municipalityCode": "1480"})).await;
    assert_eq!(s, 201, "{two}");
    let (s, dup) = anna.post(&format!("/v1/associations/{id}/registrations"), json!({"municipalityCode": "1480"})).await;
    assert_eq!((s, violation_or_rule(&dup)), (409, "already_registered".into()));
    let (s, unknown) = anna.post(&format!("/v1/associations/{id}/registrations"), json!({"municipalityCode": "0001"})).await;
    assert_eq!((s, violation(&unknown)), (400, ("municipalityCode".into(), "unknown_code".into())));
    let (_, shown) = public.get(&format!("/v1/associations/{id}")).await;
    assert_eq!(shown["registrations"].as_array().unwrap().len(), 1, "the public sees approved registrations only: {shown}");
    let (_, gbg_inbox) = goteborg.get("/v1/municipalities/1480/registrations").await;
    assert_eq!(gbg_inbox["items"][0]["associationId"], id.as_str());
    let (_, listed) = public.get("/v1/associations?municipalityCode=1480").await;
    assert!(listed["associations"].as_array().unwrap().is_empty(), "not yet approved in Göteborg");
    assert_eq!(goteborg.post(&format!("/v1/associations/{id}/registrations/1480/approve"), json!({})).await.0, 200);
    assert_eq!(stockholm.post(&format!("/v1/associations/{id}/registrations/1480/approve"), json!({})).await.0, 403);
    let (_, listed) = public.get("/v1/associations?municipalityCode=1480").await;
    assert_eq!(listed["associations"][0]["id"], id.as_str(), "listed where it is approved");
    assert_eq!(listed["associations"][0]["municipalityCode"], "0180", "the seat stays");

    // Exports and search follow: a municipality's export holds every association registered there.
    let text = app.http().get(app.url("/v1/exports/associations?municipalities=1480")).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.contains(&id)).expect("in Göteborg's export");
    let row: Value = serde_json::from_str(line).unwrap();
    assert_eq!(row["registrations"].as_array().unwrap().len(), 2);
    assert_eq!(row["postalAddress"]["city"], "Stockholm");
    let (_, found) = public.get("/v1/search/associations?q=Testföreningen&municipalities=1480").await;
    assert!(found.to_string().contains(&id), "search across the record's municipalities: {found}");

    // The same over gRPC: the registrations and the inbox.
    let mut grpc = AssociationServiceClient::new(app.channel().await);
    let list = grpc.list_registrations(with_key(pb::ListRegistrationsRequest { id: id.clone() }, &anna.key)).await.unwrap().into_inner();
    assert_eq!(list.registrations.len(), 2);
    let withdrawn = grpc
        .withdraw_registration(with_key(
            pb::WithdrawRegistrationRequest { id: id.clone(), municipality_code: "1480".into(), expected_version: 0 },
            &anna.key,
        ))
        .await
        .unwrap()
        .into_inner()
        .association
        .unwrap();
    let gbg = withdrawn.registrations.iter().find(|r| r.municipality_code == "1480").unwrap();
    assert_eq!(gbg.status, pb::RegistrationStatus::Withdrawn as i32);
    let err = grpc
        .list_registration_inbox(with_key(
            pb::ListRegistrationInboxRequest { municipality_code: "0180".into(), ..Default::default() },
            &goteborg.key,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let mine = grpc.list_my_associations(with_key(pb::ListMyAssociationsRequest {}, &anna.key)).await.unwrap().into_inner();
    assert_eq!(mine.associations.len(), 1);
    let report = grpc
        .report_member_statistics(with_key(
            pb::ReportMemberStatisticsRequest {
                id: id.clone(),
                statistics: Some(pb::MemberStatistics {
                    year: 2024,
                    counts: vec![pb::MemberCount {
                        age_band: pb::AgeBand::AgeBand13To20 as i32,
                        gender: pb::Gender::Male as i32,
                        count: 9,
                    }],
                }),
                expected_version: 0,
            },
            &anna.key,
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!((report.year, report.version, report.total), (2024, 1, 9));
    let bad = grpc
        .add_representative(with_key(
            pb::AddRepresentativeRequest { id: id.clone(), personal_identity_number: "198112289875".into(), name: "X".into() },
            &anna.key,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    // Who the caller is, over gRPC as over REST.
    let mut account = grpc_api::proto::v1::account_service_client::AccountServiceClient::new(app.channel().await);
    let me = account.get_me(with_key(pb::GetMeRequest {}, &anna.key)).await.unwrap().into_inner();
    assert_eq!((me.role.as_str(), me.name.as_deref()), ("resident", Some("Anna Andersson")));
    assert!(me.id.starts_with("person:") && !me.id.contains(ANNA));
    assert_eq!(me.session.unwrap().csrf_token.len(), 64);
    let me = account.get_me(with_key(pb::GetMeRequest {}, &goteborg.key)).await.unwrap().into_inner();
    assert_eq!((me.role.as_str(), me.municipality_code.as_deref(), me.session), ("editor", Some("1480"), None));
    let err = account.get_me(with_key(pb::GetMeRequest {}, "")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
}

/// A person's download holds the associations they represent; their erasure removes them
/// where another representative remains (an association keeps one) and leaves their changes
/// in the change log by "a person"; after the retention period the change log loses contact
/// persons and pseudonyms, keeping that a change happened and by which kind of caller.
#[tokio::test]
async fn representatives_in_the_download_erasure_and_retention() {
    let app = TestApp::start().await;
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let (_, shared) = anna.post("/v1/associations", new_association("0180", 40)).await;
    let (_, alone) = anna.post("/v1/associations", new_association("0180", 41)).await;
    let (shared_id, alone_id) = (shared["id"].as_str().unwrap().to_string(), alone["id"].as_str().unwrap().to_string());
    let (s, _) = anna
        .post(&format!("/v1/associations/{shared_id}/representatives"), json!({"personalIdentityNumber": ERIK, "name": "Erik Ek"}))
        .await;
    assert_eq!(s, 201);

    let (s, data) = anna.get("/v1/me/personal-data").await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = data["representations"].as_array().unwrap().iter().map(|r| r["associationId"].as_str().unwrap()).collect();
    assert_eq!(ids, [shared_id.as_str(), alone_id.as_str()]);
    assert!(!data.to_string().contains(ANNA), "never the number");
    let actor = data["person"].as_str().unwrap().to_string();
    let logged = |sql: String| {
        let app = &app;
        async move {
            use diesel_async::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut conn = app.registry.pool().get().await.unwrap();
            diesel::sql_query(sql).get_result::<N>(&mut conn).await.unwrap().n
        }
    };
    assert!(logged(format!("SELECT count(*) AS n FROM change_log WHERE actor = '{actor}'")).await >= 2, "her two registrations");

    let (s, erased) = anna.call(Method::DELETE, "/v1/me/personal-data", None, None).await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(erased["representationsRemoved"], 1);
    assert!(erased["kept"].to_string().contains(&alone_id), "the association she alone represents keeps her: {erased}");
    assert_eq!(
        logged(format!("SELECT count(*) AS n FROM change_log WHERE actor = '{actor}'")).await,
        0,
        "her changes are by 'a person' now"
    );
    let anna = Client { app: &app, key: app.session(ANNA, "Anna Andersson", None).await };
    let (_, mine) = anna.get("/v1/me/associations").await;
    let left: Vec<&str> = mine["associations"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(left, [alone_id.as_str()]);

    // Retention: the registry's job redacts what is older than the cut-off, and only that.
    let with_contacts =
        "SELECT count(*) AS n FROM change_log WHERE entity = 'association' AND (after ? 'contactPersons' OR before ? 'contactPersons')";
    let before = logged(with_contacts.into()).await;
    assert!(before > 0);
    let job = registry_core::auth::Principal::system("system:retention");
    let long_ago = app.registry.now() - chrono::Duration::days(1);
    assert_eq!(app.registry.redact_personal_history(&job, long_ago).await.unwrap(), 0, "nothing is that old");
    let resident =
        registry_core::auth::Principal::person(registry_core::auth::Person { person_ref: "0".repeat(64), name: "R".into() }, None);
    assert!(matches!(app.registry.redact_personal_history(&resident, long_ago).await, Err(registry_core::Error::Forbidden(_))));
    let n = app.registry.redact_personal_history(&job, app.registry.now() + chrono::Duration::seconds(1)).await.unwrap();
    assert!(n as i64 >= before, "every row with contact persons was redacted ({n} of at least {before})");
    assert_eq!(logged(with_contacts.into()).await, 0);
    assert_eq!(logged("SELECT count(*) AS n FROM change_log WHERE actor LIKE 'person:%'".into()).await, 0);
    assert!(logged("SELECT count(*) AS n FROM change_log WHERE entity = 'association' AND actor = 'person'".into()).await >= 2);
    assert_eq!(
        logged("SELECT count(*) AS n FROM audit_log WHERE action = 'redact_personal_history'".into()).await,
        1,
        "the redaction itself is audited"
    );
}
