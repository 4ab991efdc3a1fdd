//! Grants (föreningsbidrag, issue 29) through the REST API against a real database: programmes,
//! an activity grant from attendance lists (counted, refused, a duplicate occasion), a basic
//! grant from member statistics, an application grant with attachments, handling (completion,
//! assessment, decision, the notice), a payment order attested by a second person and its
//! pain.001 file validated against the official XML Schema, the ledger and budget, open data,
//! and the wrong callers refused.

use chrono::{Datelike, Duration, NaiveDate};
use registry_core::auth::Principal;
use registry_core::model::{Decision as RegistrationDecision, NewRepresentative};
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use uuid::Uuid;

const OLLE: &str = "196408233234";
const STINA: &str = "197802142385";
const ANNA: &str = "198112289874";
const ERIK: &str = "197702281937";

/// A REST call as `who` (a session, an API key, or "" for anonymous), with a JSON body or raw
/// bytes: status and JSON body (or the text as a JSON string).
async fn call(app: &TestApp, who: &str, method: Method, path: &str, body: Option<Value>, if_match: Option<i64>) -> (u16, Value) {
    let mut r = tests::authed(app.http().request(method, app.url(path)), who);
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(v) = if_match {
        r = r.header("if-match", format!("\"{v}\""));
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn upload(app: &TestApp, who: &str, path: &str, content: Vec<u8>) -> (u16, Value) {
    let res = tests::authed(app.http().post(app.url(path)), who)
        .header("content-type", "application/octet-stream")
        .body(content)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn names(problem: &Value, field: &str, rule: &str) -> bool {
    problem["errors"].as_array().is_some_and(|es| es.iter().any(|e| e["field"] == field && e["rule"] == rule))
}

/// A valid twelve-digit personal identity number for a birth date (coordination numbers: day +
/// 60) and a birth number.
fn pin(birth: NaiveDate, serial: u16, coordination: bool) -> String {
    let day = birth.day() + if coordination { 60 } else { 0 };
    let body = format!("{:02}{:02}{:02}{:03}", birth.year() % 100, birth.month(), day, serial);
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

/// One occasion of a generated list: date, start, end, group, participants' birth dates, leaders.
type Occasion<'a> = (NaiveDate, &'a str, &'a str, &'a str, Vec<NaiveDate>, usize);

/// An attendance list of occasions.
fn list(occasions: &[Occasion<'_>]) -> Vec<u8> {
    let mut s = String::from("date,start,end,group,role,personalIdentityNumber,name\n");
    let mut serial = 100u16;
    for (date, start, end, group, kids, leaders) in occasions {
        for b in kids {
            serial += 1;
            s.push_str(&format!("{date},{start},{end},{group},participant,{},Barn {serial}\n", pin(*b, serial, false)));
        }
        for k in 0..*leaders {
            s.push_str(&format!(
                "{date},{start},{end},{group},leader,{},Ledare {k}\n",
                pin(NaiveDate::from_ymd_opt(1980, 5, 5).unwrap(), 900 + k as u16, false)
            ));
        }
    }
    s.into_bytes()
}

#[tokio::test]
async fn grants_from_programme_to_payment_file_and_open_data() {
    let app = TestApp::start().await;
    let reg = &app.registry;
    let admin = Principal::operator("grants-setup");
    let approved = async |n: u32, pin: &str, name: &str| -> Uuid {
        let a = reg.create_association(&admin, &tests::fixtures::association("0180", n)).await.unwrap();
        reg.decide_registration(&admin, a.id, Some("0180"), None, &RegistrationDecision::Approve).await.unwrap();
        reg.add_representative(&admin, a.id, &NewRepresentative { personal_identity_number: pin.into(), name: name.into() }).await.unwrap();
        a.id
    };
    let club = approved(41, ANNA, "Anna Andersson").await;
    let other = approved(42, ERIK, "Erik Ek").await;
    let olle = app.session(OLLE, "Olle Handläggare", Some("0180")).await;
    let stina = app.session(STINA, "Stina Attestant", Some("0180")).await;
    let editor = app.key("editor", Some("0180"), false).await;
    let editor_1480 = app.key("editor", Some("1480"), false).await;
    let anna = app.session(ANNA, "Anna Andersson", None).await;
    let erik = app.session(ERIK, "Erik Ek", None).await;

    let today = tests::dates::today();
    let now = app.registry.now();
    let period_from = today - Duration::days(60);
    let programme = |name: &str, kind: &str, extra: Value| {
        let mut p = json!({"municipalityCode": "0180", "name": name, "kind": kind, "periodFrom": period_from, "periodTo": today + Duration::days(30),
            "applicationsOpen": now - Duration::days(1), "applicationsClose": now + Duration::days(10), "budgetMinor": 10_000_000});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };

    // Programmes: staff set them up; everyone reads them.
    let (status, activity) = call(
        &app,
        &editor,
        Method::POST,
        "/v1/grants/programmes",
        Some(programme(
            "Aktivitetsstöd",
            "activity",
            json!({"activity": {"amountPerParticipantMinor": 1000, "amountPerOccasionMinor": 500}}),
        )),
        None,
    )
    .await;
    assert_eq!(status, 201, "{activity}");
    assert_eq!(activity["activity"]["minAge"], 7, "the LOK model is the default: {activity}");
    let (status, basic) = call(
        &app,
        &editor,
        Method::POST,
        "/v1/grants/programmes",
        Some(programme(
            "Grundbidrag",
            "basic",
            json!({"basic": {"year": 2025, "amounts": [{"ageBand": "AGE_BAND_13_TO_20", "amountMinor": 10_000}]}}),
        )),
        None,
    )
    .await;
    assert_eq!(status, 201, "{basic}");
    let (status, project) = call(
        &app,
        &editor,
        Method::POST,
        "/v1/grants/programmes",
        Some(programme("Projektbidrag", "application", json!({"application": {"maxAmountMinor": 5_000_000, "minAttachments": 1}}))),
        None,
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let (activity, basic, project) = (
        activity["id"].as_str().unwrap().to_string(),
        basic["id"].as_str().unwrap().to_string(),
        project["id"].as_str().unwrap().to_string(),
    );
    // Bad programmes: a negative weight of money, unknown rules, the wrong municipality.
    let (status, p) =
        call(&app, &editor, Method::POST, "/v1/grants/programmes", Some(programme("X", "basic", json!({"budgetMinor": -1}))), None).await;
    assert_eq!(status, 400, "{p}");
    assert!(names(&p, "budgetMinor", "out_of_range") && names(&p, "basic", "required"), "{p}");
    let (status, p) = call(
        &app,
        &editor,
        Method::POST,
        "/v1/grants/programmes",
        Some(programme("X", "activity", json!({"activity": {"minAge": 30, "maxAge": 20}}))),
        None,
    )
    .await;
    assert_eq!(status, 400, "{p}");
    let (status, _) =
        call(&app, &editor_1480, Method::POST, "/v1/grants/programmes", Some(programme("X", "application", json!({}))), None).await;
    assert_eq!(status, 403, "another municipality's staff");
    let (status, listed) = call(&app, "", Method::GET, "/v1/grants/programmes?municipalityCode=0180", None, None).await;
    assert_eq!((status, listed["programmes"].as_array().map(Vec::len)), (200, Some(3)), "{listed}");

    // --- An activity grant from attendance lists ---
    let payee = json!({"kind": "bankgiro", "number": "5050-1055"});
    let (status, draft) = call(
        &app,
        &anna,
        Method::POST,
        &format!("/v1/grants/programmes/{activity}/applications"),
        Some(json!({"associationId": club, "payee": payee})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let app_id = draft["id"].as_str().unwrap().to_string();
    assert_eq!(draft["status"], "draft");
    // Someone who does not represent the association cannot see or write it.
    let (status, _) = call(&app, &erik, Method::GET, &format!("/v1/grants/applications/{app_id}"), None, None).await;
    assert_eq!(status, 404, "another association's representative");
    let (status, _) = call(
        &app,
        &erik,
        Method::POST,
        &format!("/v1/grants/programmes/{activity}/applications"),
        Some(json!({"associationId": club})),
        None,
    )
    .await;
    assert_eq!(status, 403);

    let day = |n: i64| today - Duration::days(n);
    let age = |years: i32, on: NaiveDate| NaiveDate::from_ymd_opt(on.year() - years, on.month(), on.day().min(28)).unwrap();
    let occasion_day = day(10);
    let kids = |n: usize| (0..n).map(|i| age(10 + (i % 5) as i32, occasion_day) - Duration::days(3)).collect::<Vec<_>>();
    let csv = list(&[
        // Counted: 5 participants and a leader, 90 minutes.
        (occasion_day, "17:00", "18:30", "F12 Blå", kids(5), 1),
        // Too short: 59 minutes.
        (occasion_day - Duration::days(1), "17:00", "17:59", "F12 Blå", kids(5), 1),
        // No leader.
        (occasion_day - Duration::days(2), "17:00", "18:00", "F12 Blå", kids(5), 0),
    ]);
    let path = format!("/v1/grants/applications/{app_id}/attendance-lists?fileName=ht.csv");
    let (status, l) = upload(&app, &anna, &path, csv).await;
    assert_eq!(status, 201, "{l}");
    assert_eq!(
        (l["occasions"].as_i64(), l["occasionsCounted"].as_i64(), l["participantOccasions"].as_i64()),
        (Some(3), Some(1), Some(5)),
        "{l}"
    );
    assert_eq!(l["amountMinor"], 5 * 1000 + 500, "{l}");
    assert_eq!(l["report"]["occasionReasons"]["tooShort"], 1, "{l}");
    assert_eq!(l["report"]["occasionReasons"]["noLeader"], 1, "{l}");
    // No personal identity number in what comes back, nor in the database.
    let text = l.to_string();
    assert!(!text.contains(&pin(age(10, occasion_day) - Duration::days(3), 101, false)), "{text}");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM grant_attendance_lists WHERE report::text ~ '[0-9]{10}'").await, 0);
    // The same occasion in a second list is not counted again.
    let (status, l2) = upload(
        &app,
        &anna,
        &format!("/v1/grants/applications/{app_id}/attendance-lists?fileName=igen.csv"),
        list(&[(occasion_day, "17:00", "18:30", "F12 Blå", kids(4), 1)]),
    )
    .await;
    assert_eq!(status, 201, "{l2}");
    assert_eq!(
        (l2["occasionsCounted"].as_i64(), l2["report"]["occasionReasons"]["duplicateOccasion"].as_i64()),
        (Some(0), Some(1)),
        "{l2}"
    );
    // A malformed list is refused whole, each problem by line and column; nothing is stored.
    let mut bad = String::from_utf8(list(&[(occasion_day - Duration::days(3), "17:00", "18:30", "P10", kids(4), 1)])).unwrap();
    bad.push_str(&format!("{},17:00,18:30,P10,participant,19991399-0000,X\n", occasion_day - Duration::days(3)));
    bad.push_str("2027-13-01,17:00,18:30,P10,participant,x,Y\n");
    let (status, p) =
        upload(&app, &anna, &format!("/v1/grants/applications/{app_id}/attendance-lists?fileName=fel.csv"), bad.into_bytes()).await;
    assert_eq!(status, 400, "{p}");
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fields.contains(&"lines[7].personalIdentityNumber") && fields.contains(&"lines[8].date"), "{p}");
    assert!(!p.to_string().contains("19991399"), "no value from the file is echoed: {p}");
    let (_, a) = call(&app, &anna, Method::GET, &format!("/v1/grants/applications/{app_id}"), None, None).await;
    assert_eq!(a["attendanceLists"].as_array().unwrap().len(), 2, "the refused list left nothing: {a}");
    assert_eq!(a["computedMinor"], 5500, "{a}");
    // An attendance list on a grant of another kind is refused.
    let (status, other_draft) = call(&app, &anna, Method::POST, &format!("/v1/grants/programmes/{project}/applications"), Some(json!({"associationId": club, "title": "Cup", "description": "Ungdomscup i juni", "requestedMinor": 2_000_000, "payee": {"kind": "iban", "iban": "SE45 5000 0000 0583 9825 7466"}})), None).await;
    assert_eq!(status, 201, "{other_draft}");
    let project_app = other_draft["id"].as_str().unwrap().to_string();
    let (status, p) =
        upload(&app, &anna, &format!("/v1/grants/applications/{project_app}/attendance-lists?fileName=x.csv"), list(&[])).await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("not_activity_grant")), "{p}");

    // Sent, asked to complete, sent again, assessed, decided by delegation; the club is told.
    let (status, sent) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{app_id}/submit"), None, None).await;
    assert_eq!((status, sent["status"].as_str()), (200, Some("submitted")), "{sent}");
    let (status, p) = call(
        &app,
        &anna,
        Method::PUT,
        &format!("/v1/grants/applications/{app_id}"),
        Some(json!({"associationId": club, "title": "x"})),
        None,
    )
    .await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("application_sent")), "{p}");
    let (status, asked) = call(
        &app,
        &olle,
        Method::POST,
        &format!("/v1/grants/applications/{app_id}/completion-request"),
        Some(json!({"message": "Närvarolistan för vecka 40 saknas."})),
        None,
    )
    .await;
    assert_eq!((status, asked["status"].as_str()), (200, Some("completion_requested")), "{asked}");
    let (status, _) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{app_id}/submit"), None, None).await;
    assert_eq!(status, 200);
    let (status, assessed) = call(
        &app,
        &olle,
        Method::POST,
        &format!("/v1/grants/applications/{app_id}/assessment"),
        Some(json!({"text": "Enligt reglerna.", "proposedMinor": 5500})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{assessed}");
    let (_, seen_by_club) = call(&app, &anna, Method::GET, &format!("/v1/grants/applications/{app_id}"), None, None).await;
    assert!(seen_by_club.get("assessment").is_none(), "the assessment is the officer's: {seen_by_club}");
    // Staff of another municipality cannot decide; a decision names its authority.
    let decision = json!({"outcome": "approved", "amountMinor": 5500, "authority": "delegation", "reference": "Delegationsordning 4.2"});
    let (status, _) =
        call(&app, &editor_1480, Method::POST, &format!("/v1/grants/applications/{app_id}/decision"), Some(decision.clone()), None).await;
    assert_eq!(status, 403, "staff of another municipality");
    let (status, p) = call(
        &app,
        &olle,
        Method::POST,
        &format!("/v1/grants/applications/{app_id}/decision"),
        Some(json!({"outcome": "rejected", "authority": "committee", "reference": "KFN § 12"})),
        None,
    )
    .await;
    assert_eq!(status, 400, "a rejection needs its reasons: {p}");
    assert!(names(&p, "reasons", "required"), "{p}");
    let (status, decided) =
        call(&app, &olle, Method::POST, &format!("/v1/grants/applications/{app_id}/decision"), Some(decision), None).await;
    assert_eq!((status, decided["status"].as_str()), (200, Some("approved")), "{decided}");
    assert_eq!(decided["decision"]["decidedBy"], "Olle Handläggare", "{decided}");
    assert!(app.db.count("SELECT count(*) AS n FROM notices WHERE kind = 'grant_update'").await >= 2, "completion and decision are told");

    // --- A basic grant from the member statistics (2025: 12 members aged 13–20) ---
    let (_, b) = call(
        &app,
        &anna,
        Method::POST,
        &format!("/v1/grants/programmes/{basic}/applications"),
        Some(json!({"associationId": club, "payee": payee})),
        None,
    )
    .await;
    let basic_app = b["id"].as_str().unwrap().to_string();
    let (status, b) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{basic_app}/submit"), None, None).await;
    assert_eq!((status, b["computedMinor"].as_i64()), (200, Some(120_000)), "{b}");
    let (status, _) = call(
        &app,
        &editor,
        Method::POST,
        &format!("/v1/grants/applications/{basic_app}/decision"),
        Some(
            json!({"outcome": "approved", "amountMinor": 120_000, "authority": "committee", "reference": "Kultur- och fritidsnämnden § 7"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // --- An application grant with attachments ---
    let att = format!("/v1/grants/applications/{project_app}/attachments?fileName=budget.pdf");
    let (status, p) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{project_app}/submit"), None, None).await;
    assert!(status == 400 && names(&p, "attachments", "count"), "the programme asks for an attachment: {p}");
    let (status, p) = upload(&app, &anna, &att, b"MZ\x90\x00\x03 not a pdf".to_vec()).await;
    assert!(status == 400 && names(&p, "content", "unsupported_type"), "{p}");
    let (status, p) = upload(&app, &anna, &att, vec![b'%'; 11 * 1024 * 1024]).await;
    assert_eq!(status, 413, "over 10 MB: {p}");
    let pdf = b"%PDF-1.7\nBudget: 20 000 kr\n%%EOF\n".to_vec();
    let (status, a) = upload(&app, &anna, &att, pdf.clone()).await;
    assert_eq!((status, a["contentType"].as_str()), (201, Some("application/pdf")), "{a}");
    let attachment = a["id"].as_str().unwrap().to_string();
    let get_att = format!("/v1/grants/applications/{project_app}/attachments/{attachment}");
    // A draft is the association's own: its representative reads it, staff do not (yet).
    let res = tests::authed(app.http().get(app.url(&get_att)), &anna).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = call(&app, &editor, Method::GET, &get_att, None, None).await;
    assert_eq!(status, 404, "staff do not see a draft");
    let (status, _) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{project_app}/submit"), None, None).await;
    assert_eq!(status, 200);
    let res = tests::authed(app.http().get(app.url(&get_att)), &editor).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
    for who in [&erik, "", &editor_1480] {
        let (status, _) = call(&app, who, Method::GET, &get_att, None, None).await;
        assert!(status == 404 || status == 401 || status == 403, "{who}: {status}");
    }
    assert!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'read_grant_attachment'").await >= 1);
    let (status, p) = call(
        &app,
        &olle,
        Method::POST,
        &format!("/v1/grants/applications/{project_app}/decision"),
        Some(json!({"outcome": "approved", "amountMinor": 3_000_000, "authority": "delegation", "reference": "D 4.3"})),
        None,
    )
    .await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (400, Some("over_requested")), "{p}");
    let (status, _) = call(
        &app,
        &olle,
        Method::POST,
        &format!("/v1/grants/applications/{project_app}/decision"),
        Some(json!({"outcome": "rejected", "reasons": "Budgeten är förbrukad.", "authority": "committee", "reference": "KFN § 13"})),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // Staff's inbox: sent applications, no drafts.
    let (_, other_draft) = call(
        &app,
        &erik,
        Method::POST,
        &format!("/v1/grants/programmes/{activity}/applications"),
        Some(json!({"associationId": other})),
        None,
    )
    .await;
    assert_eq!(other_draft["status"], "draft");
    let (_, inbox) = call(&app, &olle, Method::GET, "/v1/grants/applications?municipalityCode=0180", None, None).await;
    assert_eq!(inbox["applications"].as_array().unwrap().len(), 3, "{inbox}");
    // A stale version is refused; a draft is withdrawn, a decided application is not.
    let draft_id = other_draft["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &app,
        &erik,
        Method::PUT,
        &format!("/v1/grants/applications/{draft_id}"),
        Some(json!({"associationId": other, "title": "Ny"})),
        Some(7),
    )
    .await;
    assert_eq!(status, 412, "a stale version");
    let (status, w) = call(&app, &erik, Method::POST, &format!("/v1/grants/applications/{draft_id}/withdraw"), None, None).await;
    assert_eq!((status, w["status"].as_str()), (200, Some("withdrawn")), "{w}");
    let (status, p) = call(&app, &anna, Method::POST, &format!("/v1/grants/applications/{app_id}/withdraw"), None, None).await;
    assert_eq!((status, p["errors"][0]["rule"].as_str()), (409, Some("application_decided")), "{p}");

    // --- Payout: prepared by one, attested by another ---
    let order = json!({"municipalityCode": "0180", "applicationIds": [app_id, basic_app], "executionDate": today + Duration::days(3),
        "debtor": {"name": "Stockholms stad", "orgNumber": "212000-0142", "account": {"kind": "bankgiro", "number": "5050-1055"}}});
    let (status, p) = call(
        &app,
        &olle,
        Method::POST,
        "/v1/grants/payment-orders",
        Some(json!({"municipalityCode": "0180", "applicationIds": [project_app], "executionDate": today, "debtor": order["debtor"]})),
        None,
    )
    .await;
    assert!(status == 400 && names(&p, "applicationIds[0]", "not_approved"), "{p}");
    let (status, o) = call(&app, &olle, Method::POST, "/v1/grants/payment-orders", Some(order.clone()), None).await;
    assert_eq!(status, 201, "{o}");
    assert_eq!((o["totalMinor"].as_i64(), o["status"].as_str()), (Some(125_500), Some("prepared")), "{o}");
    let order_id = o["id"].as_str().unwrap().to_string();
    let (status, p) = call(&app, &olle, Method::POST, "/v1/grants/payment-orders", Some(order), None).await;
    assert!(status == 400 && names(&p, "applicationIds[0]", "already_ordered"), "each application is paid once: {p}");
    let (status, _) = call(&app, &olle, Method::GET, &format!("/v1/grants/payment-orders/{order_id}/file"), None, None).await;
    assert_eq!(status, 409, "no file before attestation");
    let (status, p) = call(&app, &olle, Method::POST, &format!("/v1/grants/payment-orders/{order_id}/attest"), None, None).await;
    assert_eq!(status, 403, "the preparer does not attest: {p}");
    let (status, _) = call(&app, &editor, Method::POST, &format!("/v1/grants/payment-orders/{order_id}/attest"), None, None).await;
    assert_eq!(status, 403, "a key does not attest");
    let (status, attested) = call(&app, &stina, Method::POST, &format!("/v1/grants/payment-orders/{order_id}/attest"), None, None).await;
    assert_eq!((status, attested["status"].as_str()), (200, Some("attested")), "{attested}");
    assert_eq!(attested["attestedBy"], "Stina Attestant");
    let res = tests::authed(app.http().get(app.url(&format!("/v1/grants/payment-orders/{order_id}/file"))), &stina).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let xml = res.text().await.unwrap();
    assert!(xml.contains("<CtrlSum>1255.00</CtrlSum>") && xml.contains("<NbOfTxs>2</NbOfTxs>"), "{xml}");
    // The file the bank gets is valid against the official ISO 20022 schema.
    let file = std::env::temp_dir().join(format!("grants-{order_id}.xml"));
    std::fs::write(&file, &xml).unwrap();
    let out =
        std::process::Command::new(tests::repo_root().join("scripts/pain001-tools.sh")).arg("--validate").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The ledger and the budget: paid.
    let (_, a) = call(&app, &anna, Method::GET, &format!("/v1/grants/applications/{app_id}"), None, None).await;
    assert_eq!((a["payment"]["status"].as_str(), a["payment"]["amountMinor"].as_i64()), (Some("attested"), Some(5500)), "{a}");
    let (_, prog) = call(&app, "", Method::GET, &format!("/v1/grants/programmes/{activity}"), None, None).await;
    assert_eq!((prog["decidedMinor"].as_i64(), prog["paidMinor"].as_i64()), (Some(5500), Some(5500)), "{prog}");

    // --- Open data: the decisions and the figures, no personal data ---
    let (status, open) = call(&app, "", Method::GET, "/v1/grants/decisions?municipalityCode=0180", None, None).await;
    assert_eq!(status, 200, "{open}");
    let decisions = open["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 3, "{open}");
    assert!(decisions.iter().any(|d| d["outcome"] == "rejected" && d["reference"] == "KFN § 13"), "{open}");
    let text = open.to_string();
    for private in ["Olle", "Stina", "Anna", "5050", "SE45", ANNA] {
        assert!(!text.contains(private), "{private} in open data: {text}");
    }
    let csv = app.http().get(app.url("/v1/grants/decisions.csv?municipalityCode=0180")).send().await.unwrap().text().await.unwrap();
    assert!(csv.starts_with("decidedOn,municipalityCode,") && csv.lines().count() == 4, "{csv}");
    let (status, stats) = call(&app, "", Method::GET, &format!("/v1/grants/statistics?year={}", period_from.year()), None, None).await;
    assert_eq!(status, 200, "{stats}");
    let m = stats["municipalities"].as_array().unwrap().iter().find(|m| m["municipalityCode"] == "0180").unwrap().clone();
    assert_eq!((m["approved"].as_i64(), m["rejected"].as_i64(), m["paidMinor"].as_i64()), (Some(2), Some(1), Some(125_500)), "{m}");
}
