//! Following changes: the RPDE feeds (walked by OpenActive's validator, and followed by a
//! consumer that must end up with exactly the registry's data), WatchChanges across
//! disconnects during concurrent writes, the audit trail by role, and a facility's public history.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::change_service_client::ChangeServiceClient;
use registry_core::auth::Principal;
use registry_core::model::{Association, Decision, Facility};
use registry_core::service::{AssociationFilter, FacilityFilter, PageRequest};
use serde_json::Value;
use tests::{TestApp, fixtures, with_key};

/// Only guards against a hung process or stream; nothing here measures time.
const HANG_GUARD: Duration = Duration::from_secs(120);

async fn feed_page(app: &TestApp, url: &str) -> (Value, String) {
    let r = app.http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    (r.json().await.unwrap(), cache)
}

/// Follows a feed from `url` to its last page; returns the items in order and the last page's URL.
async fn follow(app: &TestApp, mut url: String) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    loop {
        let (page, cache) = feed_page(app, &url).await;
        let page_items = page["items"].as_array().unwrap().clone();
        let next = page["next"].as_str().unwrap().to_string();
        assert_eq!(page["license"], "https://creativecommons.org/publicdomain/zero/1.0/");
        if page_items.is_empty() {
            assert_eq!(next, url, "the last page points at itself");
            assert_eq!(cache, "public, max-age=8");
            return (items, url);
        }
        assert_eq!(cache, "public, max-age=3600");
        items.extend(page_items);
        url = next;
    }
}

/// Applies feed items to a consumer's copy.
fn apply(copy: &mut HashMap<String, Value>, items: &[Value]) {
    for item in items {
        let id = item["id"].as_str().unwrap().to_string();
        match item["state"].as_str().unwrap() {
            "updated" => copy.insert(id, item["data"].clone()),
            "deleted" => copy.remove(&id),
            other => panic!("state {other}"),
        };
    }
}

fn assert_ordered(items: &[Value]) {
    for w in items.windows(2) {
        let key = |v: &Value| (v["modified"].as_i64().unwrap(), v["id"].as_str().unwrap().to_string());
        assert!(key(&w[0]) < key(&w[1]), "ordered by (modified, id): {} then {}", w[0], w[1]);
    }
}

async fn all_facilities(app: &TestApp) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut page = PageRequest::first(500);
    loop {
        let p = app.registry.list_facilities(&Principal::anonymous(), &FacilityFilter::default(), &page).await.unwrap();
        out.extend(p.items.iter().map(|f| (f.id.to_string(), serde_json::to_value(f).unwrap())));
        if p.next_page_token.is_empty() {
            return out;
        }
        page.page_token = p.next_page_token;
    }
}

async fn all_public_associations(app: &TestApp) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut page = PageRequest::first(500);
    loop {
        let p = app.registry.list_associations(&Principal::anonymous(), &AssociationFilter::default(), &page).await.unwrap();
        out.extend(p.items.iter().map(|a| (a.id.to_string(), serde_json::to_value(a).unwrap())));
        if p.next_page_token.is_empty() {
            return out;
        }
        page.page_token = p.next_page_token;
    }
}

/// Runs OpenActive's RPDE validator over the whole feed at `url`.
async fn validate(url: &str) {
    let script = tests::repo_root().join("tests/interop/rpde_validate.js");
    let prefix = tests::node_prefix();
    assert!(
        prefix.join("node_modules/@openactive/rpde-validator/package.json").is_file(),
        "@openactive/rpde-validator is not installed under {}: run scripts/node-tools.sh",
        prefix.display()
    );
    let mut cmd = tokio::process::Command::new(tests::node_binary());
    cmd.arg(&script)
        .arg(url)
        .env("NODE_PATH", prefix.join("node_modules"))
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(HANG_GUARD, cmd.output()).await.expect("the validator finished").expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the RPDE validator failed on {url}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("0 failure(s)") && stdout.trim_end().ends_with("OK"), "{stdout}");
}

/// 600 facilities (more than one page) and 520 associations, with updates, deletes and
/// registrations that are not approved.
async fn populate(app: &TestApp) -> (Vec<Facility>, Vec<Association>) {
    let admin = Principal::operator("setup").with_personal_data();
    let mut facilities = Vec::new();
    for i in 0..600 {
        let m = ["0180", "1480", "1880"][i % 3];
        facilities.push(app.registry.create_facility(&admin, &fixtures::facility(m, &format!("Hall {i}"))).await.unwrap());
    }
    for f in facilities.iter_mut().take(30) {
        let mut input = f.to_input();
        input.name = format!("{} (renovated)", f.name);
        *f = app.registry.update_facility(&admin, f.id, f.version, &input).await.unwrap();
    }
    for f in facilities.iter().skip(30).take(10) {
        app.registry.delete_facility(&admin, f.id, None).await.unwrap();
    }
    let mut associations = Vec::new();
    for n in 0..520u32 {
        let a = app.registry.create_association(&admin, &fixtures::association("1880", n)).await.unwrap();
        let a = if n % 5 == 4 { a } else { app.registry.decide_registration(&admin, a.id, None, None, &Decision::Approve).await.unwrap() };
        associations.push(a);
    }
    for a in associations.iter().take(5) {
        app.registry.delete_association(&admin, a.id, None).await.unwrap();
    }
    (facilities, associations)
}

#[tokio::test]
async fn rpde_feeds_pass_the_validator_and_a_follower_reconstructs_the_registry() {
    let app = TestApp::start().await;
    populate(&app).await;
    for kind in ["facilities", "associations"] {
        validate(&app.url(&format!("/v1/feeds/{kind}"))).await;
    }

    // A consumer that follows from the start has exactly the registry's public data.
    let (items, last) = follow(&app, app.url("/v1/feeds/facilities")).await;
    assert_ordered(&items);
    assert!(items.iter().any(|i| i["state"] == "deleted" && i.get("data").is_none()), "tombstones");
    assert!(items.iter().all(|i| i["kind"] == "Facility"));
    let mut copy = HashMap::new();
    apply(&mut copy, &items);
    assert_eq!(copy, all_facilities(&app).await);
    let (a_items, a_last) = follow(&app, app.url("/v1/feeds/associations")).await;
    assert_ordered(&a_items);
    let mut a_copy = HashMap::new();
    apply(&mut a_copy, &a_items);
    let public = all_public_associations(&app).await;
    assert_eq!(a_copy, public, "approved associations with public fields only");
    assert!(a_items.iter().all(|i| i["data"].get("contactPersons").is_none() && i["data"].get("memberStatistics").is_none()));

    // Later changes appear after the last page, in the order they were made, each entity once
    // with its latest state.
    let admin = Principal::operator("editor");
    let live: Vec<Facility> = serde_json::from_value(Value::Array(copy.values().cloned().collect())).unwrap();
    let (a, b) = (&live[0], &live[1]);
    let mut input = a.to_input();
    input.name = "First rename".into();
    let a1 = app.registry.update_facility(&admin, a.id, a.version, &input).await.unwrap();
    app.registry.delete_facility(&admin, b.id, None).await.unwrap();
    input.name = "Second rename".into();
    app.registry.update_facility(&admin, a.id, a1.version, &input).await.unwrap();
    let (more, _) = follow(&app, last).await;
    assert_eq!(more.len(), 2, "{more:?}");
    assert_eq!((more[0]["id"].as_str().unwrap(), more[0]["state"].as_str().unwrap()), (b.id.to_string().as_str(), "deleted"));
    assert_eq!((more[1]["id"].as_str().unwrap(), more[1]["data"]["name"].as_str().unwrap()), (a.id.to_string().as_str(), "Second rename"));
    apply(&mut copy, &more);
    assert_eq!(copy, all_facilities(&app).await);
    let (more, _) = follow(&app, a_last).await;
    assert!(more.is_empty());

    // Bad paging parameters name the field.
    for (q, field) in [
        ("afterTimestamp=soon", "afterTimestamp"),
        ("afterId=x&afterTimestamp=1", "afterId"),
        ("afterId=00000000-0000-0000-0000-000000000000", "afterId"),
        ("afterTimestamp=-1", "afterTimestamp"),
    ] {
        let r = app.http().get(app.url(&format!("/v1/feeds/facilities?{q}"))).send().await.unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["field"], field, "{q}");
    }
    assert_eq!(app.http().get(app.url("/v1/feeds/boats")).send().await.unwrap().status(), 404);
}

async fn watch(app: &TestApp, key: &str, after: i64) -> tonic::Streaming<pb::WatchChangesResponse> {
    let mut client = ChangeServiceClient::new(app.channel().await);
    client.watch_changes(with_key(pb::WatchChangesRequest { after_seq: after, entities: vec![] }, key)).await.unwrap().into_inner()
}

#[tokio::test]
async fn watch_changes_resumes_after_disconnects_with_no_gap_and_no_duplicate() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    // Four writers at once, so commits interleave.
    let mut writers = Vec::new();
    for w in 0..4u32 {
        let reg = app.registry.clone();
        writers.push(tokio::spawn(async move {
            let admin = Principal::operator(&format!("writer-{w}"));
            for i in 0..40u32 {
                let f = reg.create_facility(&admin, &fixtures::facility("0180", &format!("W{w} hall {i}"))).await.unwrap();
                if i % 2 == 0 {
                    let mut input = f.to_input();
                    input.name = format!("W{w} hall {i} renamed");
                    reg.update_facility(&admin, f.id, f.version, &input).await.unwrap();
                }
                if i % 4 == 0 {
                    reg.create_association(&admin, &fixtures::association("0180", w * 1000 + i)).await.unwrap();
                }
            }
        }));
    }
    // A consumer that is killed after every 25 entries and resumes from the last one it got.
    let mut seen: Vec<i64> = Vec::new();
    let mut after = 0;
    let total = 4 * (40 + 20 + 10);
    let run = async {
        while seen.len() < total {
            let mut stream = watch(&app, &keys.admin, after).await;
            let mut got = 0;
            while let Some(msg) = stream.message().await.unwrap() {
                if let Some(pb::watch_changes_response::Event::Change(c)) = msg.event {
                    seen.push(c.seq);
                    after = c.seq;
                    got += 1;
                    if got == 25 || seen.len() == total {
                        break;
                    }
                }
            }
            drop(stream);
        }
    };
    tokio::time::timeout(HANG_GUARD, run).await.expect("every change arrived");
    for w in writers {
        w.await.unwrap();
    }
    let mut logged: Vec<i64> = Vec::new();
    {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Seq {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            seq: i64,
        }
        let rows: Vec<Seq> = diesel::sql_query("SELECT seq FROM change_log ORDER BY seq").load(&mut app.db.conn().await).await.unwrap();
        logged.extend(rows.into_iter().map(|r| r.seq));
    }
    assert_eq!(seen, logged, "every change once, in order, across {} reconnects", total / 25);

    // Live: a change made while a follower waits reaches it; the follower first hears it is caught up.
    let mut stream = watch(&app, &keys.vendor, after).await;
    let first = tokio::time::timeout(HANG_GUARD, stream.message()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first.event, Some(pb::watch_changes_response::Event::CaughtUp(pb::CaughtUp { position })) if position == after));
    let f = app.registry.create_facility(&Principal::operator("late"), &fixtures::facility("1880", "Late hall")).await.unwrap();
    let next = tokio::time::timeout(HANG_GUARD, stream.message()).await.unwrap().unwrap().unwrap();
    let Some(pb::watch_changes_response::Event::Change(c)) = next.event else { panic!("{next:?}") };
    assert_eq!(c.entity_id, f.id.to_string());
    let data: Facility = serde_json::from_str(&c.data_json).unwrap();
    assert_eq!(data, f);

    // Associations as the key may see them: a vendor sees a pending registration as gone and
    // never its contact persons; anonymous callers may not watch at all.
    let mut stream = watch(&app, &keys.vendor, 0).await;
    let mut by_entity: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.event {
            Some(pb::watch_changes_response::Event::Change(c)) => {
                if c.entity == "association" {
                    assert_eq!(c.operation, "delete", "pending registrations are not the vendor's to see");
                    assert!(c.data_json.is_empty());
                }
                *by_entity.entry(c.entity).or_default() += 1;
            }
            _ => break,
        }
    }
    assert_eq!(by_entity.get("association"), Some(&40));
    let mut client = ChangeServiceClient::new(app.channel().await);
    let err = client.watch_changes(pb::WatchChangesRequest { after_seq: 0, entities: vec![] }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let err = client
        .watch_changes(with_key(pb::WatchChangesRequest { after_seq: 0, entities: vec!["boat".into()] }, &keys.admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn the_audit_trail_is_for_admins_and_a_municipality_on_its_own_data() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let admin_pd = app.key("admin", None, true).await;
    let admin = Principal::operator("key:setup0").with_personal_data();
    let sthlm = app.registry.create_facility(&admin, &fixtures::facility("0180", "Stockholm hall")).await.unwrap();
    let mut input = sthlm.to_input();
    input.name = "Stockholm hall, renamed".into();
    app.registry.update_facility(&admin, sthlm.id, sthlm.version, &input).await.unwrap();
    let gbg = app.registry.create_facility(&admin, &fixtures::facility("1480", "Göteborg hall")).await.unwrap();
    let assoc = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();

    let get = |path: String, key: Option<String>| {
        let req = app.http().get(app.url(&path));
        let req = match key {
            Some(k) => req.header("x-api-key", k),
            None => req,
        };
        async move { req.send().await.unwrap() }
    };
    let r = get(format!("/v1/audit?entity=facility&id={}", sthlm.id), Some(keys.admin.clone())).await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["operation"], "create");
    assert!(changes[0]["before"].is_null());
    assert_eq!(changes[1]["before"]["name"], "Stockholm hall");
    assert_eq!(changes[1]["after"]["name"], "Stockholm hall, renamed");
    assert_eq!(changes[1]["actor"], "key:setup0");

    // An editor sees its own municipality's changes only; others may not read the trail.
    let page: Value = get("/v1/audit".into(), Some(keys.editor_0180.clone())).await.json().await.unwrap();
    let ids: Vec<&str> = page["changes"].as_array().unwrap().iter().map(|c| c["entityId"].as_str().unwrap()).collect();
    assert_eq!(ids, [sthlm.id.to_string(), sthlm.id.to_string(), assoc.id.to_string()]);
    let page: Value = get(format!("/v1/audit?id={}", gbg.id), Some(keys.editor_0180.clone())).await.json().await.unwrap();
    assert!(page["changes"].as_array().unwrap().is_empty());
    assert_eq!(get("/v1/audit".into(), Some(keys.national_body.clone())).await.status(), 403);
    assert_eq!(get("/v1/audit".into(), Some(keys.vendor.clone())).await.status(), 403);
    assert_eq!(get("/v1/audit".into(), None).await.status(), 401);
    assert_eq!(get("/v1/audit?entity=boat".into(), Some(keys.admin.clone())).await.status(), 400);

    // Contact persons only with the personal-data scope, and such reads are audited.
    let path = format!("/v1/audit?entity=association&id={}", assoc.id);
    let page: Value = get(path.clone(), Some(keys.admin.clone())).await.json().await.unwrap();
    assert!(page["changes"][0]["after"].get("contactPersons").is_none());
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'read_personal_data'").await, 0);
    let page: Value = get(path, Some(admin_pd)).await.json().await.unwrap();
    assert_eq!(page["changes"][0]["after"]["contactPersons"][0]["name"], "Karin Karlsson");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'read_personal_data'").await, 1);

    // Paging.
    let page: Value = get("/v1/audit?pageSize=2".into(), Some(keys.admin.clone())).await.json().await.unwrap();
    assert_eq!(page["changes"].as_array().unwrap().len(), 2);
    let token = page["nextPageToken"].as_str().unwrap();
    let rest: Value = get(format!("/v1/audit?pageSize=2&pageToken={token}"), Some(keys.admin.clone())).await.json().await.unwrap();
    assert_eq!(rest["changes"].as_array().unwrap().len(), 2);
    assert!(rest["changes"][0]["seq"].as_i64() > page["changes"][1]["seq"].as_i64());
}

#[tokio::test]
async fn a_facility_history_is_public_and_names_no_one() {
    let app = TestApp::start().await;
    let admin = Principal::operator("key:secret01");
    let f = app.registry.create_facility(&admin, &fixtures::facility("1880", "Idrottshuset")).await.unwrap();
    let mut input = f.to_input();
    input.description = "Renovated in 2026".into();
    let f2 = app.registry.update_facility(&admin, f.id, f.version, &input).await.unwrap();
    app.registry.delete_facility(&admin, f.id, Some(f2.version)).await.unwrap();
    let r = app.http().get(app.url(&format!("/v1/facilities/{}/history", f.id))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("secret01"), "who made a change is not public");
    let h: Value = serde_json::from_str(&text).unwrap();
    let changes = h["changes"].as_array().unwrap();
    assert_eq!(changes.iter().map(|c| c["operation"].as_str().unwrap()).collect::<Vec<_>>(), ["create", "update", "delete"]);
    assert_eq!(changes[1]["changedFields"], serde_json::json!(["description"]));
    assert_eq!(changes[1]["after"]["description"], "Renovated in 2026");
    assert!(changes[2]["after"].is_null());
    let missing = app.http().get(app.url(&format!("/v1/facilities/{}/history", uuid::Uuid::now_v7()))).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
