//! REST end to end through a real socket: every route's happy path, not found, invalid input,
//! wrong role, stale version and paging.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{TestApp, fixtures};

struct Call<'a> {
    app: &'a TestApp,
}

impl Call<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.app.http().request(method, self.app.url(path));
        if !key.is_empty() {
            req = req.header("x-api-key", key);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")) };
        if !status.is_success() {
            assert_eq!(headers["content-type"], "application/problem+json", "{path}: {body}");
            assert!(body["type"].as_str().unwrap().starts_with("/problems/"), "{body}");
            assert_eq!(body["status"], status.as_u16(), "{body}");
        }
        (status, headers, body)
    }
    async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.send(Method::GET, path, key, None, None).await;
        (s, b)
    }
}

fn facility_json(code: &str, name: &str) -> Value {
    serde_json::to_value(fixtures::facility(code, name)).unwrap()
}

fn rules(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["rule"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn municipalities() {
    let app = TestApp::start().await;
    let c = Call { app: &app };
    let (s, b) = c.get("/v1/municipalities", "").await;
    assert_eq!(s, 200);
    assert_eq!(b["municipalities"].as_array().unwrap().len(), 290);
    let (s, b) = c.get("/v1/municipalities?countyCode=18", "").await;
    assert_eq!((s.as_u16(), b["municipalities"].as_array().unwrap().len()), (200, 12));
    let (s, b) = c.get("/v1/municipalities/1881", "").await;
    assert_eq!((s.as_u16(), b["name"].as_str()), (200, Some("Kumla")));
    assert_eq!(b["countyName"], "Örebro län");
    assert_eq!(c.get("/v1/municipalities/9999", "").await.0, 404);
    let (s, b) = c.get("/v1/municipalities/12", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("code".into(), "format".into())]));
    let (s, b) = c.get("/v1/municipalities?countyCode=x", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("countyCode".into(), "format".into())]));
    assert_eq!(c.get("/v1/municipalities?colour=red", "").await.0, 400, "unknown query parameters are refused");
}

#[tokio::test]
async fn facility_lifecycle_with_etags() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };

    // Create: 201, Location, ETag.
    let (s, h, created) = c.send(Method::POST, "/v1/facilities", &keys.editor_0180, Some(facility_json("0180", "Hall")), None).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(h["location"], format!("/v1/facilities/{id}").as_str());
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(created["version"], 1);
    assert_eq!(created["ownership"], "OWNERSHIP_MUNICIPAL");
    assert_eq!(created["units"][0]["areaM2"], 1200.0);

    // Get (anonymous): same body, ETag.
    let (s, h, got) = c.send(Method::GET, &format!("/v1/facilities/{id}"), "", None, None).await;
    assert_eq!((s.as_u16(), &got), (200, &created));
    assert_eq!(h["etag"], "\"1\"");

    // PATCH needs If-Match.
    let path = format!("/v1/facilities/{id}");
    let (s, _, b) = c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "New name"})), None).await;
    assert_eq!((s.as_u16(), b["type"].as_str()), (428, Some("/problems/precondition-required")));
    // ...but who may change it comes first: without a key, or with another municipality's, the
    // caller learns that, not what is wrong with its request (no If-Match, a read-only field).
    let (s, _, _) = c.send(Method::PATCH, &path, "", Some(json!({"name": "New name"})), None).await;
    assert_eq!(s.as_u16(), 401);
    let (s, _, _) = c.send(Method::PATCH, &path, &keys.editor_1480, Some(json!({"id": "x"})), None).await;
    assert_eq!(s.as_u16(), 403);
    // Stale version → 412 with the current version.
    let (s, _, b) = c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "New name"})), Some("\"7\"")).await;
    assert_eq!((s.as_u16(), b["currentVersion"].as_i64(), b["expectedVersion"].as_i64()), (412, Some(1), Some(7)));
    // Merge patch: change the name, remove the location, keep everything else.
    let (s, h, patched) =
        c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "New name", "location": null})), Some("\"1\"")).await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(h["etag"], "\"2\"");
    assert_eq!((patched["name"].as_str(), patched.get("location")), (Some("New name"), None));
    assert_eq!(patched["units"], created["units"], "units (with their ids) untouched");
    // Read-only and unknown fields are refused with the field named.
    let (s, _, b) = c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"version": 9})), Some("*")).await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("version".into(), "read_only".into())]));
    let (s, _, b) = c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"colour": "red"})), Some("*")).await;
    assert_eq!((s.as_u16(), rules(&b)[0].1.as_str()), (400, "unknown_field"));
    // Wrong role.
    assert_eq!(c.send(Method::PATCH, &path, &keys.editor_1480, Some(json!({"name": "x"})), Some("\"2\"")).await.0, 403);
    assert_eq!(c.send(Method::PATCH, &path, "", Some(json!({"name": "x"})), Some("\"2\"")).await.0, 401);
    assert_eq!(c.send(Method::PATCH, &path, &keys.vendor, Some(json!({"name": "x"})), Some("\"2\"")).await.0, 403);
    // Delete: stale version refused, then 204, then 404.
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_0180, None, Some("\"1\"")).await.0, 412);
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_1480, None, None).await.0, 403);
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_0180, None, Some("\"2\"")).await.0, 204);
    assert_eq!(c.get(&path, "").await.0, 404);
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_0180, None, None).await.0, 404);
    assert_eq!(c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "x"})), Some("*")).await.0, 404);
}

#[tokio::test]
async fn facility_validation_rules_are_reachable_from_rest() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"municipalityCode": "9999"}), "municipalityCode", "unknown_code"),
        (json!({"municipalityCode": "01800"}), "municipalityCode", "format"),
        (json!({"name": ""}), "name", "required"),
        (json!({"name": "x".repeat(201)}), "name", "max_length"),
        (json!({"description": "x".repeat(4001)}), "description", "max_length"),
        (json!({"category": "spaceport"}), "category", "unknown_code"),
        (json!({"activities": ["quidditch"]}), "activities[0]", "unknown_code"),
        (json!({"activities": ["dance", "dance"]}), "activities[1]", "duplicate"),
        (json!({"location": {"lat": 18.07, "lon": 59.33}}), "location.lat", "outside_sweden"),
        (json!({"location": {"lat": 91.0, "lon": 18.0}}), "location.lat", "out_of_range"),
        (json!({"location": {"lat": "north", "lon": 18.0}}), "location.lat", "type"),
        (json!({"address": {"postalCode": "1234"}}), "address.postalCode", "format"),
        (json!({"ownership": "OWNERSHIP_STOLEN"}), "ownership", "unknown_enum_value"),
        (json!({"accessibility": ["ACCESSIBILITY_HEARING_LOOP", "ACCESSIBILITY_HEARING_LOOP"]}), "accessibility", "duplicate"),
        (json!({"accessibility": ["WINGS"]}), "accessibility[0]", "unknown_enum_value"),
        (json!({"contact": {"email": "nope"}}), "contact.email", "format"),
        (json!({"contact": {"phone": "call me"}}), "contact.phone", "format"),
        (json!({"contact": {"website": "kumla.se"}}), "contact.website", "format"),
        (json!({"units": [{"name": "", "category": "gym"}]}), "units[0].name", "required"),
        (json!({"units": [{"name": "a", "category": "nope"}]}), "units[0].category", "unknown_code"),
        (json!({"units": [{"name": "a", "category": "gym", "capacity": -1}]}), "units[0].capacity", "out_of_range"),
        (json!({"units": [{"name": "a", "category": "gym", "capacity": 1.5}]}), "units[0].capacity", "type"),
        (json!({"units": [{"name": "a", "category": "gym", "areaM2": 0}]}), "units[0].areaM2", "out_of_range"),
        (json!({"units": [{"id": "0199b6e4-0000-7000-8000-000000000000", "name": "a", "category": "gym"}]}), "units[0].id", "not_allowed"),
        (json!({"id": "0199b6e4-0000-7000-8000-000000000000"}), "id", "read_only"),
        (json!({"colour": "red"}), "body", "unknown_field"),
    ];
    for (patch, field, rule) in cases {
        let mut body = facility_json("0180", "Hall");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        // An admin, so that authorization (which comes first) passes for every municipality code.
        let (s, _, b) = c.send(Method::POST, "/v1/facilities", &keys.admin, Some(body), None).await;
        assert_eq!(s, 400, "{field}/{rule}: {b}");
        let got = rules(&b);
        assert!(got.iter().any(|(f, r)| (f == field || (field == "body" && f == "colour")) && r == rule), "{field}/{rule} not in {got:?}");
    }
    let (s, _, b) = c.send(Method::POST, "/v1/facilities", &keys.admin, Some(json!({"name": "x"})), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("municipalityCode".into(), "required".into())]));
    let (s, _, _) = c.send(Method::POST, "/v1/facilities", "", Some(json!({"name": "x"})), None).await;
    assert_eq!(s, 401, "authentication comes before validation");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM facilities").await, 0, "nothing was written");
}

#[tokio::test]
async fn facility_listing_pages_without_gaps_or_duplicates() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };
    let mut ids = Vec::new();
    for i in 0..23 {
        let code = if i % 3 == 0 { "1480" } else { "0180" };
        let key = if code == "1480" { &keys.editor_1480 } else { &keys.editor_0180 };
        let (s, _, b) = c.send(Method::POST, "/v1/facilities", key, Some(facility_json(code, &format!("Hall {i}"))), None).await;
        assert_eq!(s, 201);
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (s, b) = c.get(&format!("/v1/facilities?pageSize=5&pageToken={token}"), "").await;
        assert_eq!(s, 200);
        pages += 1;
        seen.extend(b["facilities"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()));
        token = b["nextPageToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((pages, &seen), (5, &ids));
    let (_, b) =
        c.get("/v1/facilities?municipalityCode=1480&category=sports_hall&activity=floorball&updatedSince=2020-01-01T00:00:00Z", "").await;
    assert_eq!(b["facilities"].as_array().unwrap().len(), 8);
    let (s, b) = c.get("/v1/facilities?pageToken=garbage", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("pageToken".into(), "format".into())]));
    let (s, b) = c.get("/v1/facilities?updatedSince=yesterday", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("updatedSince".into(), "format".into())]));
    let (s, b) = c.get("/v1/facilities?activity=quidditch", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("activity".into(), "unknown_code".into())]));
    assert_eq!(c.get("/v1/facilities?pageSize=-1", "").await.0, 400);
    assert_eq!(c.get("/v1/facilities?pageSize=many", "").await.0, 400);

    // Batch get keeps the order asked and leaves unknown ids out.
    let (s, _, b) = c
        .send(
            Method::POST,
            "/v1/facilities:batchGet",
            "",
            Some(json!({"ids": [ids[4], "0199b6e4-0000-7000-8000-000000000000", ids[1]]})),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let got: Vec<&str> = b["facilities"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[4].as_str(), ids[1].as_str()]);
    let (s, _, b) = c.send(Method::POST, "/v1/facilities:batchGet", "", Some(json!({"ids": ["nope"]})), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("ids[0]".into(), "format".into())]));
}

#[tokio::test]
async fn association_routes() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };
    let body = serde_json::to_value(fixtures::association("0180", 77)).unwrap();
    let (s, h, created) = c.send(Method::POST, "/v1/associations", &keys.editor_0180, Some(body.clone()), None).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(h["location"], format!("/v1/associations/{id}").as_str());
    assert_eq!(created["registration"]["status"], "REGISTRATION_STATUS_PENDING");
    assert!(created.get("contactPersons").is_none(), "no personal data without the scope: {created}");
    let path = format!("/v1/associations/{id}");
    let org = created["orgNumber"].as_str().unwrap().to_string();

    // Pending: hidden from the public and from other municipalities.
    assert_eq!(c.get(&path, "").await.0, 404);
    assert_eq!(c.get(&path, &keys.editor_1480).await.0, 404);
    assert_eq!(c.get(&path, &keys.national_body).await.0, 200);
    // Duplicate organisation number.
    let (s, _, b) = c.send(Method::POST, "/v1/associations", &keys.editor_0180, Some(body), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (409, vec![("orgNumber".into(), "unique".into())]));
    // Bad organisation number.
    let mut bad = serde_json::to_value(fixtures::association("0180", 78)).unwrap();
    bad["orgNumber"] = "802004-5420".into();
    let (s, _, b) = c.send(Method::POST, "/v1/associations", &keys.editor_0180, Some(bad), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("orgNumber".into(), "checksum".into())]));

    // Decisions.
    let approve = format!("{path}/approve");
    assert_eq!(c.send(Method::POST, &approve, &keys.editor_1480, None, None).await.0, 404, "invisible to other municipalities");
    assert_eq!(c.send(Method::POST, &approve, &keys.national_body, None, None).await.0, 403);
    let (s, _, b) = c.send(Method::POST, &format!("{path}/reject"), &keys.editor_0180, Some(json!({"reason": ""})), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("reason".into(), "required".into())]));
    let (s, _, b) = c
        .send(
            Method::POST,
            &format!("{path}/request-completion"),
            &keys.editor_0180,
            Some(json!({"message": "Add statutes"})),
            Some("\"1\""),
        )
        .await;
    assert_eq!((s.as_u16(), b["registration"]["status"].as_str()), (200, Some("REGISTRATION_STATUS_NEEDS_COMPLETION")));
    assert_eq!(c.send(Method::POST, &approve, &keys.editor_0180, None, Some("\"1\"")).await.0, 412);
    let (s, _, b) = c.send(Method::POST, &approve, &keys.editor_0180, None, Some("\"2\"")).await;
    assert_eq!((s.as_u16(), b["registration"]["status"].as_str()), (200, Some("REGISTRATION_STATUS_APPROVED")));
    let (s, _, b) = c.send(Method::POST, &format!("{path}/reject"), &keys.editor_0180, Some(json!({"reason": "late"})), None).await;
    assert_eq!((s.as_u16(), rules(&b)), (409, vec![("registration.status".into(), "invalid_transition".into())]));

    // Approved: public, without member statistics and contact persons.
    let (s, public) = c.get(&path, "").await;
    assert_eq!(s, 200);
    assert!(public.get("memberStatistics").is_none() && public.get("contactPersons").is_none(), "{public}");
    let (_, nb) = c.get(&path, &keys.national_body).await;
    assert!(nb.get("memberStatistics").is_some() && nb.get("contactPersons").is_none());
    let (_, pd) = c.get(&path, &keys.editor_0180_pd).await;
    assert_eq!(pd["contactPersons"][0]["name"], "Karin Karlsson");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'read_personal_data'").await, 1);
    let (s, b) = c.get(&format!("/v1/associations/by-org-number/{}-{}", &org[..6], &org[6..]), "").await;
    assert_eq!((s.as_u16(), b["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(c.get("/v1/associations/by-org-number/8020045420", "").await.0, 400);
    assert_eq!(c.get("/v1/associations/by-org-number/8020045426", "").await.0, 404);

    // Listing with filters.
    let (_, b) = c.get("/v1/associations?status=REGISTRATION_STATUS_APPROVED&municipalityCode=0180&activity=football", "").await;
    assert_eq!(b["associations"].as_array().unwrap().len(), 1);
    let (s, b) = c.get("/v1/associations?status=DONE", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("status".into(), "unknown_enum_value".into())]));

    // Patch and delete.
    let (s, _, b) = c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "Renamed"})), Some("\"3\"")).await;
    assert_eq!((s.as_u16(), b["name"].as_str(), b["version"].as_i64()), (200, Some("Renamed"), Some(4)));
    assert_eq!(c.send(Method::PATCH, &path, &keys.editor_0180, Some(json!({"name": "x"})), Some("\"3\"")).await.0, 412);
    let (_, full) = c.get(&path, &keys.editor_0180_pd).await;
    assert_eq!(full["contactPersons"].as_array().unwrap().len(), 1, "a patch without the scope keeps contact persons");
    assert_eq!(c.send(Method::PATCH, &path, &keys.editor_1480, Some(json!({"name": "x"})), Some("*")).await.0, 403);
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_1480, None, None).await.0, 403);
    assert_eq!(c.send(Method::DELETE, &path, &keys.editor_0180, None, Some("\"4\"")).await.0, 204);
    assert_eq!(c.get(&path, &keys.admin).await.0, 404);
}

#[tokio::test]
async fn associations_page_through_a_multi_page_result() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };
    let mut ids = Vec::new();
    for i in 0..12 {
        let (s, _, b) = c
            .send(
                Method::POST,
                "/v1/associations",
                &keys.admin,
                Some(serde_json::to_value(fixtures::association("0180", i)).unwrap()),
                None,
            )
            .await;
        assert_eq!(s, 201);
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (s, b) = c.get(&format!("/v1/associations?pageSize=5&pageToken={token}"), &keys.admin).await;
        assert_eq!(s, 200);
        seen.extend(b["associations"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()));
        token = b["nextPageToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(c.get("/v1/associations", "").await.1["associations"].as_array().unwrap().len(), 0, "pending ones are not public");
}

#[tokio::test]
async fn operations_endpoints_and_unknown_routes() {
    let app = TestApp::start().await;
    let c = Call { app: &app };
    assert_eq!(c.get("/healthz", "").await, (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(c.get("/readyz", "").await, (StatusCode::OK, json!({"status": "ready"})));
    assert_eq!(c.get("/nothing/here", "").await.0, 404);
    let (s, _, _) = c.send(Method::PUT, "/v1/facilities", "", Some(json!({})), None).await;
    assert_eq!(s, 405);
    let text = app.http().get(app.url("/problems/validation")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("errors"));
    let metrics = app.http().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("requests_total{route=\"/readyz\",method=\"GET\",protocol=\"http\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("db_pool_connections"));
    let bad_key = app.http().get(app.url("/v1/facilities")).header("x-api-key", "rk_00000000_nope").send().await.unwrap();
    assert_eq!(bad_key.status(), 401, "an invalid key is refused, not treated as anonymous");
    assert!(bad_key.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn association_validation_rules_are_reachable_from_rest() {
    let app = TestApp::start().await;
    let admin = app.key("admin", None, false).await;
    let c = Call { app: &app };
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"orgNumber": "802004-5420"}), "orgNumber", "checksum"),
        (json!({"orgNumber": "80200454"}), "orgNumber", "format"),
        (json!({"name": " "}), "name", "required"),
        (json!({"municipalityCode": "0001"}), "municipalityCode", "unknown_code"),
        (json!({"activities": ["x"]}), "activities[0]", "unknown_code"),
        (json!({"contact": {"email": "x@"}}), "contact.email", "format"),
        (json!({"memberStatistics": {"year": 1899, "counts": []}}), "memberStatistics.year", "out_of_range"),
        (
            json!({"memberStatistics": {"year": 2025, "counts": [
                {"ageBand": "AGE_BAND_7_TO_12", "gender": "GENDER_MALE", "count": 1},
                {"ageBand": "AGE_BAND_7_TO_12", "gender": "GENDER_MALE", "count": 2}]}}),
            "memberStatistics.counts[1]",
            "duplicate",
        ),
        (
            json!({"memberStatistics": {"year": 2025, "counts": [{"ageBand": "AGE_BAND_OLD", "gender": "GENDER_MALE", "count": 1}]}}),
            "memberStatistics.counts[0].ageBand",
            "unknown_enum_value",
        ),
        (
            json!({"memberStatistics": {"year": 2025, "counts": [{"ageBand": "AGE_BAND_65_PLUS", "gender": "GENDER_MALE", "count": -1}]}}),
            "memberStatistics.counts[0].count",
            "type",
        ),
        (json!({"contactPersons": [{"name": "", "role": "x"}]}), "contactPersons[0].name", "required"),
        (json!({"contactPersons": [{"name": "A", "phone": "x"}]}), "contactPersons[0].phone", "format"),
        (json!({"registration": {"status": "REGISTRATION_STATUS_APPROVED"}}), "registration", "read_only"),
    ];
    for (patch, field, rule) in cases {
        let mut body = serde_json::to_value(fixtures::association("0180", 1)).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, _, b) = c.send(Method::POST, "/v1/associations", &admin, Some(body), None).await;
        assert_eq!(s, 400, "{field}/{rule}: {b}");
        let got = rules(&b);
        assert!(got.iter().any(|(f, r)| f == field && r == rule), "{field}/{rule} not in {got:?}");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM associations").await, 0, "nothing was written");
}

#[tokio::test]
async fn opening_hours_routes() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let c = Call { app: &app };
    let (_, _, f) = c.send(Method::POST, "/v1/facilities", &keys.editor_0180, Some(facility_json("0180", "Hall")), None).await;
    let id = f["id"].as_str().unwrap().to_string();
    let path = format!("/v1/facilities/{id}/opening-hours");
    let (s, h, b) = c.send(Method::GET, &path, "", None, None).await;
    assert_eq!((s.as_u16(), h["etag"].to_str().unwrap(), b["version"].as_i64()), (200, "\"0\"", Some(0)));

    // PUT an OSM string as text/plain.
    let put_text = |body: &'static str, key: String, if_match: Option<&'static str>| {
        let mut r = app.http().put(app.url(&path)).header("content-type", "text/plain").body(body);
        if !key.is_empty() {
            r = r.header("x-api-key", key);
        }
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        r.send()
    };
    assert_eq!(put_text("Mo-Fr 08:00-17:00", String::new(), None).await.unwrap().status(), 401);
    assert_eq!(put_text("Mo-Fr 08:00-17:00", keys.editor_1480.clone(), None).await.unwrap().status(), 403);
    let r = put_text("Mo-Fr 08:00-25:00", keys.editor_0180.clone(), None).await.unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["errors"][0]["rule"], "osm_syntax");
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("at character 12"), "{b}");
    let r = put_text("Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off", keys.editor_0180.clone(), None).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"1\"");
    assert_eq!(
        put_text("Mo-Fr 09:00-17:00", keys.editor_0180.clone(), None).await.unwrap().status(),
        412,
        "no If-Match means 'no schedule yet'"
    );

    // Read it back in three forms.
    let text = app.http().get(app.url(&format!("{path}?format=osm"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(text, "Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off");
    let (_, b) = c.get(&path, "").await;
    assert_eq!(b["hours"]["holidays"]["publicHolidays"]["mode"], "CLOSED");
    let ld: Value = app.http().get(app.url(&format!("{path}?format=jsonld"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(ld["@type"], "Place");
    assert!(!ld["openingHoursSpecification"].as_array().unwrap().is_empty());
    assert_eq!(c.get(&format!("{path}?format=xml"), "").await.0, 400);

    // PUT the model as JSON with If-Match.
    let mut model = b["hours"].clone();
    model["periods"][0]["weekly"]["sunday"] = json!([{"opens": "22:00", "closes": "02:00", "crossesMidnight": true}]);
    let (s, _, b2) = c.send(Method::PUT, &path, &keys.editor_0180, Some(model.clone()), Some("\"1\"")).await;
    assert_eq!((s.as_u16(), b2["version"].as_i64()), (200, Some(2)), "{b2}");
    model["periods"][0]["weekly"]["monday"] = json!([{"opens": "18:00", "closes": "08:00"}]);
    let (s, _, b3) = c.send(Method::PUT, &path, &keys.editor_0180, Some(model), Some("\"2\"")).await;
    assert_eq!((s.as_u16(), rules(&b3)), (400, vec![("periods[0].weekly.monday[0].closes".into(), "order".into())]));

    // Evaluation.
    let (s, b) = c
        .get(&format!("/v1/facilities/{id}/opening-hours/intervals?from=2026-12-21T00:00:00%2B01:00&to=2026-12-28T00:00:00%2B01:00"), "")
        .await;
    assert_eq!(s, 200);
    let starts: Vec<&str> = b["intervals"].as_array().unwrap().iter().map(|i| i["startLocal"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-12-21T00:00:00+01:00",
            "2026-12-21T08:00:00+01:00",
            "2026-12-22T08:00:00+01:00",
            "2026-12-23T08:00:00+01:00",
            "2026-12-24T08:00:00+01:00",
            "2026-12-27T22:00:00+01:00"
        ],
        "the night from Sunday the 20th, clipped to the window; closed on juldagen and annandag jul; Sunday night crosses midnight"
    );
    let (s, b) = c.get(&format!("/v1/facilities/{id}/open?at=2026-12-21T10:00:00%2B01:00"), "").await;
    assert_eq!((s.as_u16(), b["open"].as_bool(), b["nextChange"].as_str()), (200, Some(true), Some("2026-12-21T16:00:00Z")));
    let (s, b) = c.get(&format!("/v1/facilities/{id}/open?at=yesterday"), "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("at".into(), "format".into())]));
    assert_eq!(
        c.get(&format!("/v1/facilities/{id}/opening-hours/intervals?from=2026-01-01T00:00:00Z&to=2027-06-01T00:00:00Z"), "").await.0,
        400
    );

    // Calendar.
    let (s, b) = c.get("/v1/calendar/holidays?year=2026", "").await;
    assert_eq!(s, 200);
    let midsummer = b["holidays"].as_array().unwrap().iter().find(|h| h["id"] == "midsummer_eve").unwrap().clone();
    assert_eq!(
        (midsummer["date"].as_str(), midsummer["nameSv"].as_str(), midsummer["kind"].as_str()),
        (Some("2026-06-19"), Some("Midsommarafton"), Some("EVE"))
    );
    assert_eq!(c.get("/v1/calendar/holidays?year=1800", "").await.0, 400);
}

#[tokio::test]
async fn search_route() {
    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let c = Call { app: &app };
    let (s, b) = c.get("/v1/search/facilities?near=59.1277,15.1434&radiusM=20000&activities=padel&pageSize=5", "").await;
    assert_eq!(s, 200, "{b}");
    let hits = b["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 5);
    assert!(hits.windows(2).all(|w| w[0]["distanceM"].as_f64() <= w[1]["distanceM"].as_f64()), "nearest first");
    assert!(hits.iter().all(|h| h["facility"]["activities"].as_array().unwrap().contains(&json!("padel"))));
    assert_eq!(hits[0]["municipalityName"], "Kumla");
    let (s, b) = c.get("/v1/search/associations?q=innebandy&counties=18", "").await;
    assert_eq!(s, 200, "{b}");
    assert!(b["associations"].as_array().unwrap().iter().all(|a| a["registration"]["status"] == "REGISTRATION_STATUS_APPROVED"));
    assert_eq!(c.get("/v1/search/associations?status=REGISTRATION_STATUS_PENDING", "").await.0, 401);
    assert_eq!(c.get("/v1/search/associations?status=LOST", "").await.0, 400);
    let (s, b) = c.get("/v1/search/facilities?q=simhal&municipalities=1881", "").await;
    assert_eq!((s.as_u16(), b["hits"][0]["facility"]["name"].as_str()), (200, Some("Kumla simhall")));
    for (query, field, rule) in [
        ("near=59.1,15.1&radiusM=300000", "radiusM", "out_of_range"),
        ("bbox=16,59,15,60", "bbox", "order"),
        ("near=59.1", "near", "format"),
        ("near=95,15", "near.lat", "out_of_range"),
        ("activities=quidditch", "activities[0]", "unknown_code"),
        ("near=59.1,15.1&bbox=15,59,16,60", "bbox", "conflict"),
        ("accessibility=WINGS", "accessibility[0]", "unknown_enum_value"),
        ("openDuring=2026-01-01T10:00:00Z", "openDuring", "format"),
    ] {
        let (s, b) = c.get(&format!("/v1/search/facilities?{query}"), "").await;
        assert_eq!(s, 400, "{query}: {b}");
        assert!(rules(&b).contains(&(field.to_string(), rule.to_string())), "{query}: {b}");
    }
}

#[tokio::test]
async fn search_accepts_sweref_99_tm() {
    let app = TestApp::start().await;
    registry_core::demo::load(&app.registry).await.unwrap();
    let c = Call { app: &app };
    let (_, wgs) = c.get("/v1/search/facilities?near=59.1277,15.1434&radiusM=5000&pageSize=50", "").await;
    // Kumla's centre in SWEREF 99 TM (northing, easting), from PostGIS ST_Transform.
    let (s, tm) = c.get("/v1/search/facilities?crs=EPSG:3006&near=6554280.4424,508208.1311&radiusM=5000&pageSize=50", "").await;
    assert_eq!(s, 200, "{tm}");
    let ids =
        |v: &Value| v["hits"].as_array().unwrap().iter().map(|h| h["facility"]["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&tm), ids(&wgs));
    assert!(!ids(&tm).is_empty());
    let (s, b) = c.get("/v1/search/facilities?crs=EPSG:9999&near=1,2", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("crs".into(), "unknown_code".into())]));
    let (s, b) = c.get("/v1/search/facilities?bbox-crs=EPSG:3006&bbox=6560000,500000,6550000,520000", "").await;
    assert_eq!((s.as_u16(), rules(&b)), (400, vec![("bbox".into(), "order".into())]));
    let (s, _) = c.get("/v1/search/facilities?bbox-crs=EPSG:3006&bbox=6540000,495000,6570000,520000", "").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn anonymous_writes_are_refused_before_validation() {
    let app = TestApp::start().await;
    let c = Call { app: &app };
    for path in ["/v1/facilities", "/v1/associations"] {
        let (s, _, _) = c.send(Method::POST, path, "", Some(json!({"name": ""})), None).await;
        assert_eq!(s, 401, "{path}");
    }
}
