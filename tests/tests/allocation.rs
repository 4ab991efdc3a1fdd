//! Seasonal allocation (säsongsfördelning, docs/allocation.md) end to end through the real
//! server over REST, with real callers: staff of Stockholm (0180) set up a round over two halls
//! (weekday hours, a school block, a hall for handball and basketball only, principles with
//! four priority groups and a cap of three hours a week per association); three associations
//! approved in 0180, one of them based in Göteborg, apply through their signed-in
//! representatives; staff run the optimiser, read every decision and its reasons, try a
//! what-if, move a session by hand, publish, take comments, and register the final
//! allocation, which anyone may read as open data (JSON and CSV) without personal data.
//! Bad input and wrong callers are refused with the field and the rule named.
//!
//! The round is built so that the optimum is clear: F12 Blå (priority 5,000) and Motion
//! herrar (1,500) both want Monday 17:00 in hall 1, and F12 Blå has no other Monday; the
//! association of F12 Blå wants 4.5 hours a week against a cap of 3, so its junior team's hour
//! is left out (and is placed instead in a what-if that lowers the weight of children and
//! youth).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use registry_core::auth::Principal;
use registry_core::model::{Decision, NewRepresentative};
use reqwest::Method;
use serde_json::{Value, json};
use tests::{TestApp, fixtures};
use uuid::Uuid;

/// Staff of Stockholm.
const OLLE: &str = "196408233234";
/// Representative of the first association (F12 Blå, Damjuniorer).
const ANNA: &str = "198112289874";
/// Representative of the second (Motion herrar).
const ERIK: &str = "197702281937";
/// Representative of the third, based in Göteborg (P15).
const SARA: &str = "199001012385";
/// A resident who represents nobody.
const ALEX: &str = "197010632391";

/// The people's names, none of which may appear in open data.
const NAMES: [&str; 5] = ["Olle Handläggare", "Anna Andersson", "Erik Ek", "Sara Berg", "Alex Lind"];

/// The cap of the principles, in minutes a week.
const CAP_MINUTES: u32 = 180;

/// One server and database, the callers and what the registry holds before the round.
struct World {
    app: TestApp,
    /// A signed-in member of 0180's staff.
    staff: String,
    /// An API key of an editor of 0180.
    editor: String,
    /// An API key of an editor of Göteborg (1480).
    editor_1480: String,
    anna: String,
    erik: String,
    sara: String,
    alex: String,
    /// Associations: based in 0180 (Anna's), based in 0180 (Erik's), based in 1480 (Sara's);
    /// each approved in 0180.
    a1: Uuid,
    a2: Uuid,
    a3: Uuid,
    /// Hall A of two facilities in 0180.
    u1: Uuid,
    u2: Uuid,
}

async fn world() -> World {
    let app = TestApp::start().await;
    let admin = Principal::operator("allocation-setup");
    let reg = &app.registry;
    let f1 = reg.create_facility(&admin, &fixtures::facility("0180", "Sävbyhallen")).await.unwrap();
    let f2 = reg.create_facility(&admin, &fixtures::facility("0180", "Åshallen")).await.unwrap();
    let approved = async |based: &str, n: u32, pin: &str, name: &str| -> Uuid {
        let a = reg.create_association(&admin, &fixtures::association(based, n)).await.unwrap();
        if based != "0180" {
            reg.add_registration(&admin, a.id, "0180", None).await.unwrap();
        }
        reg.decide_registration(&admin, a.id, Some("0180"), None, &Decision::Approve).await.unwrap();
        let rep = NewRepresentative { personal_identity_number: pin.into(), name: name.into() };
        reg.add_representative(&admin, a.id, &rep).await.unwrap();
        a.id
    };
    let a1 = approved("0180", 1, ANNA, NAMES[1]).await;
    let a2 = approved("0180", 2, ERIK, NAMES[2]).await;
    let a3 = approved("1480", 3, SARA, NAMES[3]).await;
    World {
        staff: app.session(OLLE, NAMES[0], Some("0180")).await,
        editor: app.key("editor", Some("0180"), false).await,
        editor_1480: app.key("editor", Some("1480"), false).await,
        anna: app.session(ANNA, NAMES[1], None).await,
        erik: app.session(ERIK, NAMES[2], None).await,
        sara: app.session(SARA, NAMES[3], None).await,
        alex: app.session(ALEX, NAMES[4], None).await,
        a1,
        a2,
        a3,
        u1: f1.units[0].id,
        u2: f2.units[0].id,
        app,
    }
}

/// A REST call as `who` (a session, an API key, or "" for anonymous): status and JSON body.
async fn call(app: &TestApp, who: &str, method: Method, path: &str, body: Option<Value>, if_match: Option<i64>) -> (u16, Value) {
    let mut req = tests::authed(app.http().request(method, app.url(path)), who);
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

async fn get(app: &TestApp, who: &str, path: &str) -> (u16, Value) {
    call(app, who, Method::GET, path, None, None).await
}

async fn post(app: &TestApp, who: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, who, Method::POST, path, Some(body), None).await
}

/// The first broken rule of a problem: (field, rule).
fn violation(problem: &Value) -> (String, String) {
    let e = &problem["errors"][0];
    (e["field"].as_str().unwrap_or_default().to_string(), e["rule"].as_str().unwrap_or_default().to_string())
}

/// Whether a problem names `field` with `rule` among its broken rules.
fn names(problem: &Value, field: &str, rule: &str) -> bool {
    problem["errors"].as_array().is_some_and(|es| es.iter().any(|e| e["field"] == field && e["rule"] == rule))
}

fn weekdays(from: &str, to: &str) -> Value {
    Value::Array((1..=5).map(|d| json!({"day": d, "from": from, "to": to})).collect())
}

/// The round: applications open now (the server's clock is the tests' clock), a season from
/// two months ahead, hall 1 open Mon–Fri 16–22 except Wednesday's school time until 18:00, hall
/// 2 the same hours for handball and basketball only.
fn round_body(w: &World, name: &str) -> Value {
    let now = tests::now();
    let start = tests::today() + Duration::days(60);
    json!({
        "municipalityCode": "0180",
        "name": name,
        "seasonStart": start,
        "seasonEnd": start + Duration::days(150),
        "breaks": [{"from": start + Duration::days(40), "to": start + Duration::days(46), "name": "Höstlov"}],
        "applicationsOpen": now - Duration::hours(1),
        "applicationsClose": now + Duration::days(14),
        "gridMinutes": 30,
        "units": [
            {"unitId": w.u1, "hours": weekdays("16:00", "22:00"),
             "blocks": [{"day": 3, "from": "16:00", "to": "18:00", "reason": "Skolans tid"}]},
            {"unitId": w.u2, "activities": ["handball", "basketball"], "hours": weekdays("16:00", "22:00")},
        ],
        "principles": {
            "groups": [
                {"code": "children_youth", "weight": 2.0, "maxAge": 20},
                {"code": "underrepresented_gender", "weight": 1.0, "genders": ["female"]},
                {"code": "local", "weight": 0.5},
                {"code": "activity_grant", "weight": 0.5},
            ],
            "rankDecay": 0.25,
            "maxHoursPerAssociation": 3.0,
            "description": "Barn och unga först; flickor och damer; föreningar i kommunen.",
        },
    })
}

fn alt(day: u8, from: &str, to: &str, units: &[Uuid]) -> Value {
    json!({"day": day, "earliestStart": from, "latestEnd": to, "units": units})
}

#[allow(clippy::too_many_arguments)]
fn application(
    association: Uuid,
    team: &str,
    activity: &str,
    ages: (u8, u8),
    gender: &str,
    minutes: u16,
    times: u8,
    alternatives: Vec<Value>,
) -> Value {
    json!({
        "associationId": association,
        "team": {"name": team, "activity": activity, "ageFrom": ages.0, "ageTo": ages.1, "gender": gender, "participants": 14, "level": "Motion"},
        "wishes": [{"durationMinutes": minutes, "timesPerWeek": times, "alternatives": alternatives}],
    })
}

/// The four applications of the round, each with its representative.
fn applications(w: &World) -> Vec<(&str, Value)> {
    let (u1, u2) = (w.u1, w.u2);
    vec![
        // Priority 1 + 2 + 1 + 0.5 + 0.5 = 5,000: Monday, else Tuesday, 17:00–18:30 in hall 1.
        (
            w.anna.as_str(),
            application(
                w.a1,
                "F12 Blå",
                "floorball",
                (10, 12),
                "female",
                90,
                2,
                vec![alt(1, "17:00", "18:30", &[u1]), alt(2, "17:00", "18:30", &[u1])],
            ),
        ),
        // Not children and youth (up to 25): 3,000. An hour on Friday between 17 and 19.
        (w.anna.as_str(), application(w.a1, "Damjuniorer", "floorball", (21, 25), "female", 60, 1, vec![alt(5, "17:00", "19:00", &[u1])])),
        // Only `local`: 1,500. Wants F12 Blå's Monday first.
        (
            w.erik.as_str(),
            application(
                w.a2,
                "Motion herrar",
                "floorball",
                (30, 60),
                "male",
                90,
                2,
                vec![alt(1, "17:00", "18:30", &[u1]), alt(3, "18:00", "19:30", &[u1]), alt(5, "19:00", "20:30", &[u1])],
            ),
        ),
        // Children and youth, activity grant, but based in Göteborg (not `local`): 3,500.
        (
            w.sara.as_str(),
            application(
                w.a3,
                "P15",
                "handball",
                (14, 15),
                "male",
                90,
                2,
                vec![alt(1, "18:00", "19:30", &[u2]), alt(4, "18:00", "19:30", &[u2, u1])],
            ),
        ),
    ]
}

fn minutes(s: &str) -> u32 {
    let (h, m) = s.split_once(':').unwrap_or_else(|| panic!("{s} is not HH:MM"));
    h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
}

/// Where a session went: unit, weekday, start and end (minutes).
type Placed = (String, u64, u32, u32);

/// A placed session's slot.
fn slot(d: &Value) -> Option<Placed> {
    let s = d.get("slot")?;
    Some((s["unitId"].as_str()?.to_string(), s["day"].as_u64()?, minutes(s["start"].as_str()?), minutes(s["end"].as_str()?)))
}

fn decisions(run: &Value) -> &Vec<Value> {
    run["decisions"].as_array().unwrap_or_else(|| panic!("a run with decisions: {run}"))
}

/// The decisions of one team.
fn of_team<'a>(run: &'a Value, team: &str) -> Vec<&'a Value> {
    decisions(run).iter().filter(|d| d["team"] == team).collect()
}

/// Every hard rule holds in a run, and its figures add up.
fn assert_rules_hold(w: &World, run: &Value) {
    let ds = decisions(run);
    let placed: Vec<(&Value, Placed)> = ds.iter().filter_map(|d| slot(d).map(|s| (d, s))).collect();
    for (i, (a, (ua, da, sa, ea))) in placed.iter().enumerate() {
        // Within the unit's hours, never in a block.
        assert!((1..=5).contains(da) && *sa >= 16 * 60 && *ea <= 22 * 60 && sa < ea, "inside the hours: {a}");
        assert!(!(*ua == w.u1.to_string() && *da == 3 && *sa < 18 * 60), "not in the school's time: {a}");
        for (b, (ub, db, sb, eb)) in &placed[i + 1..] {
            if ua == ub && da == db {
                assert!(ea <= sb || eb <= sa, "two sessions overlap on a unit and day:\n{a}\n{b}");
            }
            if a["applicationId"] == b["applicationId"] {
                assert_ne!(da, db, "a team trains at most once a day:\n{a}\n{b}");
            }
        }
    }
    let mut used: BTreeMap<&str, u32> = BTreeMap::new();
    for (d, (_, _, s, e)) in &placed {
        *used.entry(d["associationId"].as_str().unwrap()).or_default() += e - s;
    }
    assert!(used.values().all(|&m| m <= CAP_MINUTES), "the cap of three hours a week holds: {used:?}");

    // The figures are those of the decisions.
    let f = &run["figures"];
    let first = ds.iter().filter(|d| d["alternative"] == 0).count();
    assert_eq!(f["wanted"].as_u64(), Some(ds.len() as u64), "{f}");
    assert_eq!(f["placed"].as_u64(), Some(placed.len() as u64), "{f}");
    assert_eq!(f["firstChoice"].as_u64(), Some(first as u64), "{f}");
    // The objective: each placement's value, its team's priority less a quarter per rank down
    // (staff placements outside the wishes count 1).
    let decay = run["principles"]["rankDecay"].as_f64().unwrap();
    let total: i64 = placed
        .iter()
        .map(|(d, _)| match d["alternative"].as_u64() {
            Some(r) => ((d["priority"].as_i64().unwrap() as f64) * (1.0 - decay * r as f64)).round() as i64,
            None => 1,
        })
        .sum();
    assert_eq!(f["objective"].as_i64(), Some(total), "{f}");
    assert!(f["bound"].as_i64().unwrap() >= total, "the bound is a bound: {f}");
    for g in f["groups"].as_array().unwrap() {
        let members: Vec<&Value> = ds.iter().filter(|d| d["groups"].as_array().unwrap().contains(&g["group"])).collect();
        assert_eq!(g["wanted"].as_u64(), Some(members.len() as u64), "{g}");
        assert_eq!(g["placed"].as_u64(), Some(members.iter().filter(|d| d.get("slot").is_some()).count() as u64), "{g}");
        assert_eq!(g["firstChoice"].as_u64(), Some(members.iter().filter(|d| d["alternative"] == 0).count() as u64), "{g}");
    }
}

/// The decision of `team` placed on `day`.
fn on_day<'a>(run: &'a Value, team: &str, day: u64) -> &'a Value {
    of_team(run, team)
        .into_iter()
        .find(|d| slot(d).is_some_and(|s| s.1 == day))
        .unwrap_or_else(|| panic!("{team} has a session on day {day}: {run}"))
}

/// The reasons a decision gives for an alternative.
fn why_not(d: &Value, alternative: u64) -> Vec<&Value> {
    d["whyNot"].as_array().unwrap().iter().filter(|w| w["alternative"] == alternative).collect()
}

/// Creates the round and sends the four applications: (round id, application ids by team).
async fn round_with_applications(w: &World) -> (String, BTreeMap<String, String>) {
    let app = &w.app;
    let (s, round) = post(app, &w.staff, "/v1/allocation/rounds", round_body(w, "Hösten, test")).await;
    assert_eq!(s, 201, "{round}");
    assert_eq!((round["status"].as_str(), round["version"].as_i64()), (Some("open"), Some(1)), "{round}");
    let id = round["id"].as_str().unwrap().to_string();
    let mut apps = BTreeMap::new();
    for (who, body) in applications(w) {
        let (s, a) = post(app, who, &format!("/v1/allocation/rounds/{id}/applications"), body).await;
        assert_eq!(s, 201, "{a}");
        assert_eq!(a["status"], "submitted");
        apps.insert(a["team"]["name"].as_str().unwrap().to_string(), a["id"].as_str().unwrap().to_string());
    }
    (id, apps)
}

#[tokio::test]
async fn a_round_from_applications_through_runs_edits_and_the_meeting_to_open_data() {
    let w = world().await;
    let app = &w.app;
    let (round, apps) = round_with_applications(&w).await;
    let rounds = format!("/v1/allocation/rounds/{round}");

    // The round and its principles are public; applications are for staff and their senders.
    let (s, public_round) = get(app, "", &rounds).await;
    assert_eq!((s, public_round["principles"]["groups"].as_array().map(Vec::len)), (200, Some(4)), "{public_round}");
    let (s, all) = get(app, &w.staff, &format!("{rounds}/applications")).await;
    assert_eq!((s, all["applications"].as_array().map(Vec::len)), (200, Some(4)), "{all}");
    let (s, own) = get(app, &w.erik, &format!("{rounds}/applications")).await;
    assert_eq!(s, 200);
    let own: Vec<&str> = own["applications"].as_array().unwrap().iter().map(|a| a["team"]["name"].as_str().unwrap()).collect();
    assert_eq!(own, ["Motion herrar"], "a representative sees their association's applications only");
    assert_eq!(get(app, "", &format!("{rounds}/applications")).await.0, 401);
    let (s, p) = get(app, "", &format!("{rounds}/allocation")).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "not_published"), "nothing published yet: {p}");

    // Staff run the allocator: every decision, with its reasons.
    let (s, run1) = post(app, &w.staff, &format!("{rounds}/runs"), json!({"label": "preliminär"})).await;
    assert_eq!(s, 201, "{run1}");
    assert_eq!(run1["label"], "preliminär");
    assert_rules_hold(&w, &run1);
    assert!(decisions(&run1).iter().all(|d| d["locked"] == false), "nothing is locked in a first run");
    assert_eq!(decisions(&run1).len(), 7, "2 + 1 + 2 + 2 sessions wanted");
    let f = &run1["figures"];
    assert_eq!((f["wanted"].as_u64(), f["placed"].as_u64(), f["firstChoice"].as_u64()), (Some(7), Some(6), Some(2)), "{f}");
    assert_eq!(f["provenOptimal"], true, "a round this small is solved exactly: {f}");

    // Priorities by the principles; `local` only for the associations based in 0180.
    let priority = |team: &str| of_team(&run1, team)[0]["priority"].as_i64().unwrap();
    let groups = |team: &str| -> BTreeSet<String> {
        of_team(&run1, team)[0]["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect()
    };
    assert_eq!([priority("F12 Blå"), priority("Damjuniorer"), priority("Motion herrar"), priority("P15")], [5000, 3000, 1500, 3500]);
    assert!(groups("F12 Blå").contains("local") && groups("Motion herrar").contains("local"));
    assert_eq!(groups("P15"), BTreeSet::from(["children_youth".to_string(), "activity_grant".to_string()]), "P15 is based in Göteborg");

    // The contested Monday went to the higher priority; Motion herrar is told who holds it and
    // what giving it to them would have cost.
    let u1 = w.u1.to_string();
    let monday = on_day(&run1, "F12 Blå", 1);
    assert_eq!(slot(monday), Some((u1.clone(), 1, 17 * 60, 18 * 60 + 30)));
    assert_eq!(monday["alternative"], 0);
    assert!(monday["whyNot"].as_array().unwrap().is_empty(), "a first choice needs no reason: {monday}");
    let motion = of_team(&run1, "Motion herrar");
    assert_eq!(motion.len(), 2);
    for d in &motion {
        assert!(slot(d).is_some_and(|s| s.1 != 1), "Motion herrar is not on Monday: {d}");
        let taken: Vec<&Value> = why_not(d, 0).into_iter().filter(|r| r["rule"] == "taken_by").collect();
        assert_eq!(taken.len(), 1, "the first choice was taken: {d}");
        let r = taken[0];
        assert_eq!(r["unitId"].as_str(), Some(u1.as_str()));
        let held = r["heldBy"].as_array().unwrap();
        assert!(held.len() == 1 && held[0].as_str().unwrap().contains("F12 Blå (5000)"), "names the holder and its priority: {r}");
        assert!(held[0].as_str().unwrap().contains(&monday["associationName"].as_str().unwrap().to_string()), "{r}");
        assert!(r["cost"].as_i64().unwrap() > 0, "and what it would cost the round: {r}");
        assert!(!r["message"].as_str().unwrap().is_empty() && !r["messageSv"].as_str().unwrap().is_empty(), "{r}");
    }
    // Its Friday session: Wednesday (its second choice) is its own other session.
    let friday = on_day(&run1, "Motion herrar", 5);
    assert_eq!(friday["alternative"], 2);
    assert!(why_not(friday, 1).iter().any(|r| r["rule"] == "team_busy"), "{friday}");
    // F12 Blå trains twice; the junior team's hour would take the association over its cap.
    assert_eq!(on_day(&run1, "F12 Blå", 2)["alternative"], 1);
    let junior = of_team(&run1, "Damjuniorer")[0];
    assert!(junior.get("slot").is_none(), "{junior}");
    assert_eq!(why_not(junior, 0).iter().map(|r| r["rule"].as_str().unwrap()).collect::<Vec<_>>(), ["cap_reached"], "{junior}");

    // Determinism: the same input, the same decisions and figures.
    let (s, again) = post(app, &w.editor, &format!("{rounds}/runs"), json!({})).await;
    assert_eq!(s, 201, "{again}");
    assert_ne!(again["id"], run1["id"]);
    assert_eq!(again["label"], "run", "the default label");
    assert_eq!(again["decisions"], run1["decisions"]);
    assert_eq!(again["figures"], run1["figures"]);

    // A what-if with children and youth weighing less: the junior team gets its hour instead of
    // F12 Blå's second session; the round's principles stay as decided.
    let (s, what_if) =
        post(app, &w.staff, &format!("{rounds}/runs"), json!({"label": "what-if: barn ×0,5", "weights": {"children_youth": 0.5}})).await;
    assert_eq!(s, 201, "{what_if}");
    assert_rules_hold(&w, &what_if);
    assert_eq!(what_if["principles"]["groups"][0]["weight"], 0.5);
    assert_ne!(what_if["figures"], run1["figures"]);
    assert_ne!(what_if["figures"]["objective"], run1["figures"]["objective"]);
    assert_eq!(what_if["figures"]["firstChoice"], 3, "{}", what_if["figures"]);
    assert!(of_team(&what_if, "Damjuniorer")[0].get("slot").is_some(), "{what_if}");
    assert_eq!(of_team(&what_if, "F12 Blå")[0]["priority"], 3500);
    let (_, unchanged) = get(app, "", &rounds).await;
    assert_eq!(unchanged["principles"]["groups"][0]["weight"], 2.0);
    let (s, runs) = get(app, &w.staff, &format!("{rounds}/runs")).await;
    assert_eq!((s, runs["runs"].as_array().map(Vec::len)), (200, Some(3)), "{runs}");
    assert!(runs["runs"][0].get("decisions").is_none(), "the list has figures, not decisions");

    // A manual edit: P15's Thursday session moves to Friday in hall 2, with a reason. The new
    // run keeps it there, locked; everything else is allocated around it.
    let p15_thursday = on_day(&run1, "P15", 4);
    let (wish, session) = (p15_thursday["wish"].clone(), p15_thursday["session"].clone());
    let moved = json!({"unitId": w.u2, "day": 5, "start": "18:00", "end": "19:30"});
    let edit = |slot: Value, reason: Option<&str>| {
        let mut body = json!({"applicationId": apps["P15"], "wish": wish, "session": session, "slot": slot});
        if let Some(r) = reason {
            body["reason"] = r.into();
        }
        body
    };
    let edits = format!("/v1/allocation/runs/{}/edits", run1["id"].as_str().unwrap());
    let (s, edited) = post(app, &w.staff, &edits, edit(moved.clone(), Some("Byte efter samtal med föreningen"))).await;
    assert_eq!(s, 201, "{edited}");
    assert_eq!(edited["baseRun"], run1["id"]);
    assert!(edited["label"].as_str().unwrap().starts_with("edit: Byte efter samtal"), "{}", edited["label"]);
    assert_rules_hold(&w, &edited);
    let d = decisions(&edited).iter().find(|d| d["applicationId"] == apps["P15"] && d["wish"] == wish && d["session"] == session).unwrap();
    assert_eq!((&d["slot"], &d["locked"]), (&moved, &json!(true)), "{d}");
    assert!(d.get("alternative").is_none(), "placed by staff, outside the wish: {d}");
    assert_eq!(decisions(&edited).iter().filter(|d| d["locked"] == true).count(), 1, "only the edited session is locked");
    // The edit is in the municipality's audit trail: who, which session, where, and why.
    let (s, trail) = get(app, &w.editor, &format!("/v1/audit?id={round}")).await;
    assert_eq!(s, 200, "{trail}");
    let logged = trail["changes"].as_array().unwrap().iter().find(|c| c["after"]["run"] == edited["id"]).expect("the edit is audited");
    assert_eq!((&logged["after"]["reason"], &logged["after"]["slot"]), (&json!("Byte efter samtal med föreningen"), &moved), "{logged}");
    assert_eq!((&logged["before"]["run"], logged["actor"].as_str().map(|a| a.starts_with("person:"))), (&run1["id"], Some(true)));
    // A rerun from the edited run keeps the session where staff put it.
    let (s, rerun) = post(app, &w.staff, &format!("{rounds}/runs"), json!({"baseRun": edited["id"]})).await;
    assert_eq!(s, 201, "{rerun}");
    let kept = decisions(&rerun).iter().find(|d| d["applicationId"] == apps["P15"] && d["slot"] == moved).expect("kept");
    assert_eq!(kept["locked"], true);
    // Edits are refused without a reason, or into a closed or blocked time.
    let (s, p) = post(app, &w.staff, &edits, edit(moved.clone(), None)).await;
    assert_eq!((s, violation(&p)), (400, ("reason".into(), "required".into())), "{p}");
    let (s, p) = post(app, &w.staff, &edits, edit(moved.clone(), Some("  "))).await;
    assert_eq!((s, violation(&p).0.as_str()), (400, "reason"), "{p}");
    let blocked = json!({"unitId": w.u1, "day": 3, "start": "16:30", "end": "18:00"});
    let (s, p) = post(app, &w.staff, &edits, edit(blocked, Some("Skoltid"))).await;
    assert_eq!((s, violation(&p)), (400, ("slot".into(), "outside_hours".into())), "{p}");
    let saturday = json!({"unitId": w.u2, "day": 6, "start": "10:00", "end": "11:30"});
    let (s, p) = post(app, &w.staff, &edits, edit(saturday, Some("Helg"))).await;
    assert_eq!((s, violation(&p)), (400, ("slot".into(), "outside_hours".into())), "{p}");
    // A slot whose length is not the session's: a 90-minute session from 21:00 would run past
    // closing time.
    let late = json!({"unitId": w.u2, "day": 5, "start": "21:00", "end": "22:00"});
    let (s, p) = post(app, &w.staff, &edits, edit(late, Some("Sent"))).await;
    assert_eq!((s, violation(&p).0.as_str()), (400, "slot.end"), "{p}");
    // Nor onto a session that staff have locked: edit the edited run, moving Motion herrar's
    // Friday session onto P15's.
    let friday = on_day(&edited, "Motion herrar", 5);
    let onto = json!({"applicationId": apps["Motion herrar"], "wish": friday["wish"], "session": friday["session"], "slot": moved, "reason": "Krock"});
    let (s, p) = post(app, &w.staff, &format!("/v1/allocation/runs/{}/edits", edited["id"].as_str().unwrap()), onto).await;
    assert_eq!((s, violation(&p)), (400, ("slot".into(), "taken_by_locked".into())), "{p}");
    // Representatives do not edit or run.
    assert_eq!(post(app, &w.sara, &edits, edit(moved.clone(), Some("Vi vill"))).await.0, 403);
    assert_eq!(post(app, &w.erik, &format!("{rounds}/runs"), json!({})).await.0, 403);

    // The meeting: staff publish the edited run as the preliminary allocation.
    let (s, published) = post(app, &w.staff, &format!("{rounds}/publish"), json!({"runId": edited["id"]})).await;
    assert_eq!(s, 200, "{published}");
    assert_eq!((published["status"].as_str(), &published["publishedRun"]), (Some("preliminary"), &edited["id"]));
    let published_run = format!("/v1/allocation/runs/{}", edited["id"].as_str().unwrap());
    // A representative sees their association's decisions in it, with the reasons; not others'.
    let (s, seen) = get(app, &w.erik, &published_run).await;
    assert_eq!(s, 200, "{seen}");
    assert_eq!(decisions(&seen).len(), 2, "{seen}");
    assert!(decisions(&seen).iter().all(|d| d["associationId"] == w.a2.to_string()), "{seen}");
    assert!(decisions(&seen)[0]["whyNot"].as_array().is_some_and(|r| !r.is_empty()), "with the reasons");
    let (s, seen) = get(app, &w.sara, &published_run).await;
    assert_eq!(s, 200);
    assert!(decisions(&seen).iter().all(|d| d["associationId"] == w.a3.to_string()) && decisions(&seen).len() == 2, "{seen}");
    let (s, seen) = get(app, &w.alex, &published_run).await;
    assert!(s == 404 || (s == 200 && decisions(&seen).is_empty()), "someone who represents nobody sees no decisions: {seen}");
    // Runs that are not published do not exist for them, nor for anyone without a session.
    assert_eq!(get(app, &w.erik, &format!("/v1/allocation/runs/{}", run1["id"].as_str().unwrap())).await.0, 404);
    assert_eq!(get(app, &w.erik, &format!("/v1/allocation/runs/{}", what_if["id"].as_str().unwrap())).await.0, 404);
    assert_eq!(get(app, "", &published_run).await.0, 404, "a preliminary allocation is for the applicants");
    assert_eq!(get(app, &w.editor_1480, &published_run).await.0, 404);
    // Comments: on their own application only.
    let motion_app = &apps["Motion herrar"];
    let comment = json!({"text": "Vi kan tänka oss måndag 19:00 i stället."});
    let (s, c) = post(app, &w.erik, &format!("/v1/allocation/applications/{motion_app}/comments"), comment.clone()).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!((&c["runId"], &c["applicationId"]), (&edited["id"], &json!(motion_app)));
    let (s, _) = post(app, &w.anna, &format!("/v1/allocation/applications/{motion_app}/comments"), comment.clone()).await;
    assert_eq!(s, 404, "another association's application");
    let (s, p) = post(app, &w.erik, &format!("/v1/allocation/applications/{motion_app}/comments"), json!({"text": ""})).await;
    assert_eq!((s, violation(&p).0.as_str()), (400, "text"), "{p}");
    assert_eq!(post(app, "", &format!("/v1/allocation/applications/{motion_app}/comments"), comment.clone()).await.0, 401);
    let (s, listed) = get(app, &w.staff, &format!("{rounds}/comments")).await;
    assert_eq!(s, 200);
    let texts: Vec<&str> = listed["comments"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(texts, [comment["text"].as_str().unwrap()]);
    assert_eq!(get(app, &w.erik, &format!("{rounds}/comments")).await.1["comments"].as_array().map(Vec::len), Some(1));
    assert_eq!(get(app, &w.anna, &format!("{rounds}/comments")).await.1["comments"].as_array().map(Vec::len), Some(0));
    // While preliminary, the published allocation is open data already.
    let (s, preliminary) = get(app, "", &format!("{rounds}/allocation")).await;
    assert_eq!((s, preliminary["status"].as_str()), (200, Some("preliminary")), "{preliminary}");

    // Staff register the final allocation (at the version they read).
    let version = published["version"].as_i64().unwrap();
    let finalise_path = format!("{rounds}/finalise");
    let finalise = |v: i64| call(app, &w.staff, Method::POST, &finalise_path, Some(json!({"runId": edited["id"]})), Some(v));
    let (s, p) = finalise(version - 1).await;
    assert_eq!(s, 412, "a stale version: {p}");
    let (s, fin) = finalise(version).await;
    assert_eq!(s, 200, "{fin}");
    assert_eq!((fin["status"].as_str(), &fin["finalRun"]), (Some("final"), &edited["id"]));
    // Nothing is rerun, edited, changed or commented any more.
    let (s, p) = post(app, &w.staff, &format!("{rounds}/runs"), json!({})).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "round_final"), "{p}");
    let (s, p) = post(app, &w.staff, &edits, edit(moved.clone(), Some("För sent"))).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "round_final"), "{p}");
    let (s, p) = call(app, &w.staff, Method::PUT, &rounds, Some(round_body(&w, "Ändrad")), None).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "round_final"), "{p}");
    let (s, p) = post(app, &w.staff, &format!("{rounds}/publish"), json!({"runId": run1["id"]})).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "round_final"), "{p}");
    let (s, p) = post(app, &w.erik, &format!("/v1/allocation/applications/{motion_app}/comments"), comment.clone()).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "not_published"), "{p}");

    // The final allocation as open data, to anyone: sessions per unit and association, the
    // principles, and nothing personal.
    let placed: Vec<&Value> = decisions(&edited).iter().filter(|d| d.get("slot").is_some()).collect();
    let (s, open) = get(app, "", &format!("{rounds}/allocation")).await;
    assert_eq!(s, 200, "{open}");
    assert_eq!((open["status"].as_str(), open["municipalityCode"].as_str()), (Some("final"), Some("0180")));
    assert_eq!(open["principles"]["maxHoursPerAssociation"], 3.0);
    let sessions = open["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), placed.len(), "{open}");
    for d in &placed {
        let s = &d["slot"];
        assert!(
            sessions.iter().any(|x| x["unitId"] == s["unitId"]
                && x["day"] == s["day"]
                && x["start"] == s["start"]
                && x["end"] == s["end"]
                && x["associationId"] == d["associationId"]
                && x["team"] == d["team"]),
            "{d} is in the open data"
        );
    }
    assert!(sessions.iter().any(|x| x["team"] == "P15" && x["activity"] == "handball"), "{open}");
    let text = open.to_string();
    for name in NAMES.iter().chain(&["Karin Karlsson"]) {
        assert!(!text.contains(name), "no person's name ({name}) in open data");
    }
    for pin in [OLLE, ANNA, ERIK, SARA, ALEX] {
        assert!(!text.contains(pin) && !text.contains(&pin[2..]), "no personal identity number in open data");
    }
    for field in ["priority", "whyNot", "heldBy", "groups\":[\"", "submittedBy", "createdBy", "comments"] {
        assert!(!text.contains(field), "{field} is not in open data: {text}");
    }
    // The same as CSV: a header and one row per placed session.
    let res = app.http().get(app.url(&format!("{rounds}/allocation.csv"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{:?}", res.headers());
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "unitId,day,start,end,associationId,associationName,team,activity,date");
    assert_eq!(lines.len(), 1 + placed.len(), "{csv}");
    assert!(csv.ends_with("\r\n"), "RFC 4180 line ends");
    assert!(lines.iter().any(|l| l.starts_with(&format!("{},5,18:00,19:30,{},", w.u2, w.a3)) && l.ends_with(",P15,handball,")), "{csv}");
    for name in NAMES {
        assert!(!csv.contains(name));
    }
    // The final run is open to everyone too.
    let (s, final_run) = get(app, "", &published_run).await;
    assert_eq!((s, decisions(&final_run).len()), (200, 7));
}

#[tokio::test]
async fn bad_input_and_wrong_callers_are_refused_naming_the_field() {
    let w = world().await;
    let app = &w.app;
    let (u1, u2) = (w.u1, w.u2);

    // Setting up a round: staff of the round's municipality only.
    let (s, _) = post(app, &w.editor_1480, "/v1/allocation/rounds", round_body(&w, "Göteborgs försök")).await;
    assert_eq!(s, 403, "an editor of 1480 may not set up 0180's round");
    assert_eq!(post(app, "", "/v1/allocation/rounds", round_body(&w, "Anonym")).await.0, 401);
    assert_eq!(post(app, &w.anna, "/v1/allocation/rounds", round_body(&w, "Föreningens")).await.0, 403);
    // An unknown priority group, and a negative weight, in the principles.
    let mut body = round_body(&w, "Okänd grupp");
    body["principles"]["groups"].as_array_mut().unwrap().push(json!({"code": "elite", "weight": 1.0}));
    body["principles"]["groups"][1]["weight"] = json!(-1.0);
    let (s, p) = post(app, &w.editor, "/v1/allocation/rounds", body).await;
    assert_eq!(s, 400, "{p}");
    assert!(names(&p, "principles.groups[4].code", "unknown_code"), "{p}");
    assert!(names(&p, "principles.groups[1].weight", "out_of_range"), "{p}");
    // A unit of another municipality.
    let other = app.registry.create_facility(&Principal::operator("setup"), &fixtures::facility("1480", "Valhalla")).await.unwrap();
    let mut body = round_body(&w, "Fel kommun");
    body["units"][1]["unitId"] = json!(other.units[0].id);
    let (s, p) = post(app, &w.editor, "/v1/allocation/rounds", body).await;
    assert_eq!((s, violation(&p)), (400, ("units[1].unitId".into(), "other_municipality".into())), "{p}");
    assert_eq!(get(app, "", "/v1/allocation/rounds?municipalityCode=0180").await.1["rounds"].as_array().map(Vec::len), Some(0));

    let (s, round) = post(app, &w.editor, "/v1/allocation/rounds", round_body(&w, "Våren, test")).await;
    assert_eq!(s, 201, "{round}");
    let id = round["id"].as_str().unwrap().to_string();
    let rounds = format!("/v1/allocation/rounds/{id}");
    let apply = format!("{rounds}/applications");

    // A stale If-Match on changing the round; the current one goes through.
    let (s, p) = call(app, &w.editor, Method::PUT, &rounds, Some(round_body(&w, "Våren, ändrad")), Some(7)).await;
    assert_eq!((s, p["expectedVersion"].as_i64(), p["currentVersion"].as_i64()), (412, Some(7), Some(1)), "{p}");
    let (s, changed) = call(app, &w.editor, Method::PUT, &rounds, Some(round_body(&w, "Våren, ändrad")), Some(1)).await;
    assert_eq!((s, changed["version"].as_i64(), changed["name"].as_str()), (200, Some(2), Some("Våren, ändrad")), "{changed}");
    let (s, _) = call(app, &w.editor, Method::PUT, &rounds, Some(round_body(&w, "Igen")), Some(1)).await;
    assert_eq!(s, 412, "the version read before the change is stale now");
    assert_eq!(call(app, &w.editor_1480, Method::PUT, &rounds, Some(round_body(&w, "Kapning")), None).await.0, 403);

    // Applications that break the round's rules, each named by field.
    let good = || application(w.a1, "F12 Blå", "floorball", (10, 12), "female", 90, 2, vec![alt(1, "17:00", "18:30", &[u1])]);
    let with_alternatives = |alts: Vec<Value>| {
        let mut a = good();
        a["wishes"][0]["alternatives"] = Value::Array(alts);
        a
    };
    let cases = [
        // Saturday: the hall is closed.
        (with_alternatives(vec![alt(6, "10:00", "11:30", &[u1])]), "wishes[0].alternatives[0].units[0]", "outside_hours"),
        // Wednesday before 18:00: the school's time.
        (with_alternatives(vec![alt(3, "16:00", "17:30", &[u1])]), "wishes[0].alternatives[0].units[0]", "outside_hours"),
        // Hall 2 is for handball and basketball.
        (with_alternatives(vec![alt(1, "17:00", "18:30", &[u2])]), "wishes[0].alternatives[0].units[0]", "unsuitable_activity"),
        // The same time twice.
        (
            with_alternatives(vec![alt(1, "17:00", "18:30", &[u1]), alt(1, "17:30", "19:00", &[u1])]),
            "wishes[0].alternatives[1]",
            "overlapping_alternatives",
        ),
        // A unit that is not in the round.
        (with_alternatives(vec![alt(1, "17:00", "18:30", &[other.units[0].id])]), "wishes[0].alternatives[0].units[0]", "not_in_round"),
        // A window shorter than the session.
        (with_alternatives(vec![alt(1, "17:00", "18:00", &[u1])]), "wishes[0].alternatives[0].latestEnd", "order"),
    ];
    for (body, field, rule) in cases {
        let (s, p) = post(app, &w.anna, &apply, body.clone()).await;
        assert_eq!(s, 400, "{body}: {p}");
        assert!(names(&p, field, rule), "{field} {rule}: {p}");
    }
    let mut bad_type = good();
    bad_type["team"]["participants"] = json!("fjorton");
    let (s, p) = post(app, &w.anna, &apply, bad_type).await;
    assert_eq!((s, violation(&p)), (400, ("team.participants".into(), "type".into())), "{p}");
    let mut unknown = good();
    unknown["team"]["gender"] = json!("unknown");
    let (s, p) = post(app, &w.anna, &apply, unknown).await;
    assert_eq!((s, violation(&p)), (400, ("team.gender".into(), "unknown_enum_value".into())), "{p}");

    // Who may apply: a representative of the association, signed in.
    assert_eq!(post(app, "", &apply, good()).await.0, 401, "anonymous");
    assert_eq!(post(app, &w.alex, &apply, good()).await.0, 403, "a resident who represents nobody");
    assert_eq!(post(app, &w.erik, &apply, good()).await.0, 403, "a representative of another association");
    assert_eq!(post(app, &w.editor, &apply, good()).await.0, 403, "staff do not apply for associations");
    let (s, none) = get(app, &w.editor, &apply).await;
    assert_eq!((s, none["applications"].as_array().map(Vec::len)), (200, Some(0)), "nothing refused was stored: {none}");
    let (s, sent) = post(app, &w.anna, &apply, good()).await;
    assert_eq!(s, 201, "{sent}");

    // Outside the application period: a round that opens next week, and one that has closed.
    let now = tests::now();
    for (name, open, close) in
        [("Nästa", now + Duration::days(7), now + Duration::days(21)), ("Förra", now - Duration::days(21), now - Duration::days(7))]
    {
        let mut body = round_body(&w, name);
        body["applicationsOpen"] = json!(open);
        body["applicationsClose"] = json!(close);
        let (s, r) = post(app, &w.editor, "/v1/allocation/rounds", body).await;
        assert_eq!(s, 201, "{r}");
        let (s, p) = post(app, &w.anna, &format!("/v1/allocation/rounds/{}/applications", r["id"].as_str().unwrap()), good()).await;
        assert_eq!((s, violation(&p)), (409, ("roundId".into(), "outside_application_period".into())), "{name}: {p}");
    }

    // Runs: weights must be known numbers from 0 to 100; staff of the municipality only.
    let runs = format!("{rounds}/runs");
    let (s, p) = post(app, &w.editor, &runs, json!({"weights": {"children_youth": -1.0}})).await;
    assert_eq!((s, violation(&p)), (400, ("weights.children_youth".into(), "out_of_range".into())), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"weights": {"local": 101}})).await;
    assert_eq!((s, violation(&p)), (400, ("weights.local".into(), "out_of_range".into())), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"weights": {"children_youth": "två"}})).await;
    assert_eq!((s, violation(&p)), (400, ("weights.children_youth".into(), "type".into())), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"weights": {"elite": 1.0}})).await;
    assert_eq!((s, violation(&p)), (400, ("weights.elite".into(), "unknown_code".into())), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"weight": {"local": 1.0}})).await;
    assert_eq!((s, violation(&p).1.as_str()), (400, "unknown_field"), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"lockApplications": [sent["id"]]})).await;
    assert_eq!((s, violation(&p).0.as_str()), (400, "lockApplications"), "{p}");
    let (s, p) = post(app, &w.editor, &runs, json!({"baseRun": Uuid::now_v7()})).await;
    assert_eq!((s, violation(&p)), (400, ("baseRun".into(), "not_found".into())), "{p}");
    assert_eq!(post(app, &w.editor_1480, &runs, json!({})).await.0, 403);
    assert_eq!(post(app, "", &runs, json!({})).await.0, 401);
    assert_eq!(get(app, &w.editor_1480, &runs).await.0, 403);
    assert_eq!(get(app, &w.editor, &runs).await.1["runs"].as_array().map(Vec::len), Some(0), "no refused run was stored");
    let (s, run) = post(app, &w.editor, &runs, json!({})).await;
    assert_eq!(s, 201, "{run}");
    assert_eq!(
        (run["figures"]["wanted"].as_u64(), run["figures"]["placed"].as_u64()),
        (Some(2), Some(1)),
        "twice a week, but only Mondays: {run}"
    );
    // Withdrawing: the association's own representative only, while the round is open; a run
    // then has nothing to allocate.
    let withdraw = format!("/v1/allocation/applications/{}/withdraw", sent["id"].as_str().unwrap());
    assert_eq!(post(app, &w.erik, &withdraw, json!({})).await.0, 404, "another association's application");
    assert_eq!(post(app, "", &withdraw, json!({})).await.0, 401);
    let (s, withdrawn) = post(app, &w.anna, &withdraw, json!({})).await;
    assert_eq!((s, withdrawn["status"].as_str()), (200, Some("withdrawn")), "{withdrawn}");
    let (s, empty) = post(app, &w.editor, &runs, json!({})).await;
    assert_eq!(s, 201, "{empty}");
    assert_eq!((empty["figures"]["wanted"].as_u64(), decisions(&empty).len()), (Some(0), 0), "{empty}");
    // Publishing a run of another round; and by the wrong staff.
    let (s, p) = post(app, &w.editor, &format!("{rounds}/publish"), json!({"runId": Uuid::now_v7()})).await;
    assert_eq!((s, violation(&p)), (400, ("runId".into(), "not_found".into())), "{p}");
    assert_eq!(post(app, &w.editor_1480, &format!("{rounds}/publish"), json!({"runId": run["id"]})).await.0, 403);
    // Commenting before anything is published.
    let (s, p) =
        post(app, &w.anna, &format!("/v1/allocation/applications/{}/comments", sent["id"].as_str().unwrap()), json!({"text": "Hej"})).await;
    assert_eq!((s, violation(&p).1.as_str()), (409, "not_published"), "{p}");
}
