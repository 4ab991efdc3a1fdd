//! The resident search page (web/) in a real browser: `registry demo` (the binary, on a fresh
//! database, signing people in at the local test eID provider of tests/interop/oidc_provider.mjs:
//! a resident, and Malmö's staff member of the demo),
//! a reference booking backend for Malmö and Lund, a vendor for Umeå that never
//! answers, and one for Stockholm whose certification has lapsed; then tests/interop/web_browser.mjs drives Debian's Chromium through it with
//! playwright-core and checks every view with axe-core. The booking the resident makes (signed
//! in) and then cancels in Mina bokningar is read back from the reference backend over
//! vendor.v1, and the association a resident registers (and Malmö's staff approve) from the
//! registry. Träningstider (tests/interop/web_allocation.mjs) uses the demo's Malmö allocation
//! round; what the representative and staff did there is read back from the registry too.
//! Föreningsbidrag (tests/interop/web_grants.mjs) uses the demo's Malmö grant programmes.
//!
//! REGISTRY_UPDATE_SCREENSHOTS=1 writes the screenshots to docs/screenshots/ (else to a
//! temporary directory).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use federation::fault::{FaultVendor, Faults};
use federation::pb;
use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::{Backend, server};
use serde_json::{Value, json};
use tests::TestDb;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts `registry demo` on `db` at `port` (0: any), with `extra` arguments, and returns (its
/// URL, an admin key, the child process).
async fn registry_demo(db: &TestDb, dir: &std::path::Path, port: u16, extra: &[String]) -> (String, String, tokio::process::Child) {
    let key_file = dir.join("admin.key");
    let mut child = tokio::process::Command::new(tests::workspace_binary("registry"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--admin-key-file"])
        .arg(&key_file)
        .args(extra)
        .env("DATABASE_URL", &db.url)
        // One browser on 127.0.0.1 makes every request of the tests: allow it more than a
        // resident's 20 requests per second.
        .env("REGISTRY_RATE_ANONYMOUS", "2000")
        .env("REGISTRY_VENDOR_CHECK_INTERVAL", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("registry demo starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let url = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(line) = lines.next_line().await.expect("reading registry's output") {
            if let Some(url) = line.strip_prefix("registry listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("registry demo ended before it listened");
    })
    .await
    .expect("registry demo listens within 3 minutes");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let key = std::fs::read_to_string(&key_file).expect("the admin key file").trim().to_string();
    (url, key, child)
}

/// A fault-injection vendor registered for a municipality, booking all its bookable units: the
/// municipality's search hits, the vendor and its id.
async fn vendor_for(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    code: &str,
    name: &str,
    faults: Faults,
) -> (Value, FaultVendor, String) {
    let found: Value = get(http, format!("{base}/v1/search/facilities?municipalities={code}&bookableOnly=true&pageSize=100")).await;
    let mut units = Vec::new();
    for hit in found["hits"].as_array().unwrap() {
        for u in hit["facility"]["units"].as_array().unwrap().iter().filter(|u| u["bookable"] == true) {
            let r = format!("{code}-{}", u["id"].as_str().unwrap());
            units.push((hit["facility"]["id"].as_str().unwrap().to_string(), u["id"].as_str().unwrap().to_string(), r));
        }
    }
    assert!(!units.is_empty(), "{code} has bookable units in the demo data");
    let vendor = FaultVendor::new(units.iter().map(|u| u.2.clone()).collect(), faults, 7);
    let url = format!("http://{}", vendor.clone().serve().await);
    let body =
        json!({"name": name, "endpoint": url, "protocol": "VENDOR_PROTOCOL_GRPC", "auth": "VENDOR_AUTH_NONE", "municipalityCodes": [code]});
    let v: Value =
        http.post(format!("{base}/v1/vendors")).header("x-api-key", admin).json(&body).send().await.unwrap().json().await.unwrap();
    let id = v["id"].as_str().unwrap_or_else(|| panic!("vendor registered: {v}")).to_string();
    for (facility, unit, r) in &units {
        let res = http
            .put(format!("{base}/v1/facilities/{facility}/units/{unit}/vendor"))
            .header("x-api-key", admin)
            .json(&json!({"vendorId": id, "externalRef": r}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    }
    (found, vendor, id)
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    let r = http.get(&url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn residents_search_see_free_times_and_book_in_a_browser() {
    tests::rustls_provider();
    let db = TestDb::new().await;
    let tmp = std::env::temp_dir().join(format!("registry-web-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&tmp).unwrap();
    // The local test eID provider, as in `make demo`: the registry is its client.
    let port = tests::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let provider = tests::oidc::TestProvider::start(json!({
        "resource": public,
        "clients": [{"client_id": "registry", "redirect_uris": [format!("{public}/auth/callback")], "post_logout_redirect_uris": [format!("{public}/")]}],
        "persons": [
            {"sub": "anna", "personalIdentityNumber": "198112289874", "given_name": "Anna", "family_name": "Andersson"},
            // Staff of Malmö: `registry demo` makes this person (DEMO_STAFF_PIN) an editor of 1280.
            {"sub": "sara", "personalIdentityNumber": "198503152384", "given_name": "Sara", "family_name": "Lind"}
        ]
    }))
    .await;
    let sign_in = [
        "--public-url".to_string(),
        public.clone(),
        "--oidc-provider".to_string(),
        format!("name=test-eid,display-name=Test eID,issuer={},client-id=registry", provider.issuer),
    ];
    let (base, admin, _registry) = registry_demo(&db, &tmp, port, &sign_in).await;
    let http = reqwest::Client::new();

    // The reference booking backend takes on Malmö and Lund, as in `make demo`.
    let vendor_db = TestDb::empty().await;
    reference_booking::db::migrate(&vendor_db.url).await.unwrap();
    let backend = Backend::new(
        registry_core::db::pool(&vendor_db.url, 16).unwrap(),
        Arc::new(Hours::new(Some(base.clone()), Duration::from_secs(300))),
    );
    let app =
        server::app(backend.clone(), BookingGrpc::new(backend.clone(), ApiKeys::default(), None).allow_anonymous(), "").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vendor_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    let setup = reference_booking::demo::DemoSetup {
        registry: base.clone(),
        admin_key: admin.clone(),
        municipalities: vec!["1280".into(), "1281".into()],
        name: "Referensbokning Syd".into(),
        endpoint: vendor_url.clone(),
    };
    reference_booking::demo::setup(&backend, &setup).await.unwrap();

    // Umeå's booking system never answers a CheckAvailability; Stockholm's answers, but its
    // certification has lapsed.
    let (umea, silent, _) = vendor_for(&http, &base, &admin, "2480", "Umebokning", Faults { hang_rate: 1.0, ..Faults::default() }).await;
    let (stockholm, lapsed, lapsed_id) = vendor_for(&http, &base, &admin, "0180", "Stockholmsbokning", Faults::default()).await;
    let mut conn = db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!("UPDATE vendors SET certified_until = now() - interval '1 minute' WHERE id = '{lapsed_id}'")),
        &mut conn,
    )
    .await
    .unwrap();

    // What the browser test needs: a Malmö sports hall booked through the reference backend, a
    // weekday to book on, and an Umeå facility.
    let hall = get(&http, format!("{base}/v1/search/facilities?municipalities=1280&categories=sports_hall")).await;
    let hall_id = hall["hits"][0]["facility"]["id"].as_str().unwrap().to_string();
    let ume = umea["hits"][0]["facility"]["id"].as_str().unwrap().to_string();
    let mut day = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Stockholm).date_naive() + chrono::Duration::days(2);
    while chrono::Datelike::weekday(&day).number_from_monday() > 5 || registry_core::calendar::holiday_on(day).is_some() {
        day += chrono::Duration::days(1);
    }
    let shots = match std::env::var("REGISTRY_UPDATE_SCREENSHOTS") {
        Ok(v) if v == "1" => tests::repo_root().join("docs/screenshots"),
        _ => tmp.join("screenshots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    // The association the resident registers: an organisation number no demo association has
    // (theirs are 802 1xxx xx C), and one whose check digit is wrong.
    let org_number = (0..10).map(|d| format!("802999901{d}")).find(|s| registry_core::orgnr::luhn_valid(s)).unwrap();
    let bad_org_number = format!("{}{}", &org_number[..9], (org_number.as_bytes()[9] - b'0' + 1) % 10);
    let r = http.get(format!("{base}/v1/associations/by-org-number/{org_number}")).send().await.unwrap();
    assert_eq!(r.status(), 404, "{org_number} is not in the demo data");
    let last_year = chrono::Datelike::year(&chrono::Utc::now().with_timezone(&chrono_tz::Europe::Stockholm)) - 1;
    let associations = json!({
        "resident": {"login": "anna", "represents": "Malmö Innebandyklubb"},
        "staff": {"login": "sara"},
        "orgNumber": org_number, "badOrgNumber": bad_org_number, "name": "Malmö Webbtestets Innebandyförening",
        "municipality": "1280", "year": last_year,
        "completionMessage": "Ange vilket förbund föreningen tillhör.",
        "representative": {"pin": "197702281937", "badPin": "197702281930", "name": "Erik Ek"}
    });
    // Träningstider: the demo's Malmö round (allocation::demo, loaded by `registry demo`), its
    // preliminary allocation published; anna represents one of its applicants, sara is staff.
    let allocation = json!({
        "round": allocation::demo::NAME, "representative": "anna", "club": "Malmö Innebandyklubb", "staff": "sara",
        "newRound": "Webbtestets omgång", "team": "F12 Webbtest", "comment": "Vi tränar hellre på måndagar än på tisdagar."
    });
    // Föreningsbidrag: the demo's Malmö programmes (grants::demo, open for applications); anna
    // applies for the activity grant for Malmö Innebandyklubb, sara handles it.
    let grants = json!({
        "activity": grants::demo::NAMES[0], "basic": grants::demo::NAMES[1], "project": grants::demo::NAMES[2],
        "representative": "anna", "club": "Malmö Innebandyklubb", "staff": "sara", "group": "F12 Webbtest",
        "bankgiro": "5050-1055", "badBankgiro": "5050-1056", "plusgiro": "90 01 22-3",
        "completion": "Ange föreningens plusgiro i stället för bankgirot.", "reference": "Delegationsordning 4.2",
        "debtor": {"name": "Malmö stad", "orgNumber": "212000-1124", "bankgiro": "5050-1055"}
    });
    let scenario = json!({"bookingFacilityId": hall_id, "bookingDay": day.to_string(), "timeoutFacilityId": ume, "timeoutMunicipality": "Umeå",
        "uncertifiedFacilityId": stockholm["hits"][0]["facility"]["id"], "uncertifiedMunicipality": "Stockholm",
        "signIn": {"login": "anna", "name": "Anna Andersson", "pinDigits": "8112289874"}, "associations": associations,
        "allocation": allocation, "grants": grants});

    let script = tests::repo_root().join("tests/interop/web_browser.mjs");
    let lapsed_calls = lapsed.availability_calls();
    let run = tokio::process::Command::new(tests::node_binary())
        .arg(&script)
        .env("BASE_URL", &base)
        .env("NODE_PREFIX", tests::node_prefix())
        .env("SCENARIO", scenario.to_string())
        .env("SCREENSHOT_DIR", &shots)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run).await.expect("the browser tests end within 10 minutes").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser tests failed (run scripts/node-tools.sh if playwright-core or Chromium is missing):\n{stderr}\n{stdout}"
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    eprintln!("{report:#}");
    assert!(report["firstRenderBytes"].as_u64().unwrap() <= 100 * 1024);
    assert_eq!(report["searchApiCalls"], 1);
    for view in [
        "search form",
        "search results",
        "facility page",
        "booking dialog, signed out",
        "booking dialog with errors",
        "booking confirmation",
        "my bookings",
        "vendor timeout",
        "search results in English",
        "signed in",
        "my associations",
        "association form with errors",
        "staff inbox, signed out",
        "staff inbox",
        "member statistics",
        "allocation rounds",
        "allocation round",
        "allocation round in English",
        "allocation staff",
        "allocation representative",
        "allocation application with errors",
        "allocation applications",
        "allocation match request with errors",
        "allocation match requests",
        "allocation match run",
        "allocation match times, staff",
        "allocation round with matches",
        "allocation match times, representative",
        "grants programmes",
        "grants in English",
        "grants application form with errors",
        "grants attendance report",
        "grants attendance list with errors",
        "grants application sent",
        "grants inbox",
        "grants decision with errors",
        "grants staff application",
        "grants payment orders",
        "grants decisions",
        "grants representative",
        "grants application in English",
    ] {
        assert_eq!(report["axe"][view]["violations"], 0, "{view}: {report}");
    }
    // The keyboard-only walk (signed out) reached a time to book and checked the booking
    // dialog's focus: on its sign-in link, and back on the button when it closes (the script
    // fails, rather than skips, when no result offers a time).
    let dialog = &report["keyboardDialog"];
    assert!(dialog["bookButtons"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert_eq!((&dialog["focusOnOpen"], &dialog["focusReturned"]), (&json!(true), &json!(true)), "{report}");
    for check in [
        "signed out, the booking dialog opens with focus on its first focusable element, the sign-in link",
        "closing the dialog returns focus to its button",
        "Mina bokningar lists the booking just made",
        "a booking's details show its history: confirmed",
        "a booking cancelled in Mina bokningar shows as cancelled",
        "the published allocation is a table per unit, named, with its sessions",
        "a representative sees their own association's decisions, and only those",
        "each better alternative not given has its reason, in Swedish",
        "a bad application shows the registry's errors at each field",
        "a match date outside the season is refused at its field, in Swedish, focused",
        "a match request is withdrawn",
        "staff see the match requests, and allocate them only once the round is final",
        "the match run places the requested match",
        "a match run tells what the booking systems had booked on its dates",
        "registering the match run allocates the match",
        "the allocated match times are public with the allocation, by date",
        "the CSV has the match with its date",
        "the representative sees the match time allocated: unit, date and time",
        "an activity programme shows its kind, period, budget and its rules in words: ages, participants, minutes, leader, amount",
        "a basic grant shows its amounts per age band, its minimum and its cap",
        "an application grant shows its cap and the attachments required",
        "a wrong bankgiro check digit is refused at its field, in Swedish, focused",
        "an attendance list's report counts the occasions and participant-occasions that count, and the amount",
        "the report lists the first rows not counted by line, with the reason",
        "a malformed list is refused with every problem by line and column, in Swedish",
        "the refused list's problems take focus, and the file field is marked",
        "an application is sent, and no longer changed",
        "staff see the sent application in their municipality's inbox",
        "a completed application is sent again",
        "a decision without its reference is refused at the field, focused",
        "staff decide the application: approved, 24,00 kr",
        "the person who prepared a payment order is refused attesting it, and told why",
        "the decided grant is public: association, outcome, amount, authority and reference",
    ] {
        assert!(report["checks"].as_array().unwrap().iter().any(|c| c == check), "{check}: {report}");
    }

    // The booking the resident made (signed in) is in the reference backend at that time, and
    // cancelled: from Mina bokningar.
    let id = report["booking"]["id"].as_str().unwrap().to_string();
    let mut c = pb::booking_provider_client::BookingProviderClient::new(
        tonic::transport::Endpoint::from_shared(vendor_url).unwrap().connect().await.unwrap(),
    );
    let b = c.get_booking(pb::GetBookingRequest { booking_id: id }).await.unwrap().into_inner().booking.unwrap();
    assert_eq!(pb::BookingStatus::try_from(b.status).unwrap(), pb::BookingStatus::Cancelled);
    let start = chrono::DateTime::parse_from_rfc3339(report["booking"]["start"].as_str().unwrap()).unwrap();
    assert_eq!(b.start.unwrap().seconds, start.timestamp());
    // The association the resident registered in the browser: approved by Malmö after one
    // completion round, the decisions and answers recorded as the municipality's and the
    // association's, and last year's member statistics reported and corrected once.
    let id = report["associations"]["id"].as_str().unwrap_or_else(|| panic!("{report}")).to_string();
    let admin_get = |path: String| {
        let http = http.clone();
        let admin = admin.clone();
        async move {
            let r = http.get(&path).header("x-api-key", admin).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let a = admin_get(format!("{base}/v1/associations/{id}")).await;
    assert_eq!(a["orgNumber"], org_number);
    assert_eq!(a["registrations"][0]["municipalityCode"], "1280", "{a}");
    assert_eq!(a["registrations"][0]["status"], "REGISTRATION_STATUS_APPROVED", "{a}");
    let history = admin_get(format!("{base}/v1/associations/{id}/registrations")).await;
    let events: Vec<(String, String)> = history["registrations"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().trim_start_matches("REGISTRATION_EVENT_").to_string(), e["by"].as_str().unwrap().to_string()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("SUBMITTED", "representative"),
        ("COMPLETION_REQUESTED", "municipality"),
        ("RESUBMITTED", "representative"),
        ("APPROVED", "municipality"),
    ]
    .iter()
    .map(|(k, b)| (k.to_string(), b.to_string()))
    .collect();
    assert_eq!(events, expected, "{history}");
    let reports = admin_get(format!("{base}/v1/associations/{id}/member-statistics")).await;
    let versions: Vec<(i64, i64, u64, bool)> = reports["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["year"].as_i64().unwrap(), r["version"].as_i64().unwrap(), r["total"].as_u64().unwrap(), r["current"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(versions, [(i64::from(last_year), 1, 28, false), (i64::from(last_year), 2, 29, true)], "{reports}");

    // Träningstider: the comment anna sent on the demo round, staff's what-if and edit runs, the
    // round staff set up in the browser, and the application anna sent to it and withdrew.
    let round = report["allocation"]["roundId"].as_str().unwrap_or_else(|| panic!("{report}")).to_string();
    let comments = admin_get(format!("{base}/v1/allocation/rounds/{round}/comments")).await;
    assert!(comments["comments"].as_array().unwrap().iter().any(|c| c["text"] == allocation["comment"]), "{comments}");
    let runs = admin_get(format!("{base}/v1/allocation/rounds/{round}/runs")).await;
    let labels: Vec<&str> = runs["runs"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"tänk om") && labels.iter().any(|l| l.starts_with("edit: ")), "{labels:?}");
    let what_if = runs["runs"].as_array().unwrap().iter().find(|r| r["label"] == "tänk om").unwrap();
    let weight = what_if["principles"]["groups"].as_array().unwrap().iter().find(|g| g["code"] == "underrepresented_gender").unwrap();
    assert_eq!(weight["weight"], 3.0, "{what_if}");
    let new_round = report["allocation"]["newRoundId"].as_str().unwrap().to_string();
    let r = admin_get(format!("{base}/v1/allocation/rounds/{new_round}")).await;
    assert_eq!((r["name"].as_str().unwrap(), r["status"].as_str().unwrap()), ("Webbtestets omgång", "open"), "{r}");
    let apps = admin_get(format!("{base}/v1/allocation/rounds/{new_round}/applications")).await;
    let app = &apps["applications"][0];
    assert_eq!((app["team"]["name"].as_str(), app["status"].as_str()), (Some("F12 Webbtest"), Some("withdrawn")), "{apps}");
    assert_eq!(app["wishes"][0]["alternatives"].as_array().unwrap().len(), 2, "{apps}");

    // The silent vendor was asked and given up on; no slot of it reached the page. The vendor
    // whose certification lapsed was not asked at all.
    assert!(silent.availability_calls() > 0);
    assert_eq!(lapsed.availability_calls(), lapsed_calls);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[tokio::test]
async fn the_page_is_served_with_its_headers_and_revalidated() {
    let config = grpc_api::server::ServerConfig {
        web: grpc_api::web::WebConfig { tile_url: Some("https://tiles.example.se/{z}/{x}/{y}.png".into()) },
        ..Default::default()
    };
    let app = tests::TestApp::start_with(config).await;
    let http = app.http();
    for path in ["/", "/facility/01a20e08-4014-7550-90a5-2658997a92de", "/bookings", "/associations", "/staff", "/allocation", "/grants"] {
        let r = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("img-src 'self' data: https://tiles.example.se"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"content="https://tiles.example.se/{z}/{x}/{y}.png" data-tile-url"#), "the tile URL reaches the page");
        // Revalidation: the same ETag gets 304 with no body.
        let etag = h["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with("W/\""), "{etag}");
        let again = http.get(app.url(path)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        assert!(again.bytes().await.unwrap().is_empty());
    }
    for module in ["app.js", "ui.js", "associations.js", "bookings.js", "allocation.js", "grants.js"] {
        let r = http.get(app.url(&format!("/web/{module}"))).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8", "{module}");
        assert_eq!(r.headers()["content-encoding"], "gzip", "{module}");
    }
    let codes: Value = http.get(app.url("/web/codes.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(codes["municipalities"].as_array().unwrap().len(), 290);
    assert!(codes["municipalities"].as_array().unwrap().iter().all(|m| m["lat"].is_f64() && m["lon"].is_f64()));
    assert_eq!(codes["activities"].as_array().unwrap().len(), registry_core::codes::activities().len());
    assert_eq!(codes["accessibility"].as_array().unwrap().len(), 5);
    assert_eq!(codes["associationTypes"].as_array().unwrap().len(), registry_core::codes::association_types().len());
    assert_eq!(codes["federations"].as_array().unwrap().len(), registry_core::codes::federations().len());
    // Anything else under /web/ is the registry's problem+json 404, not the page.
    let r = http.get(app.url("/web/../Cargo.toml")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http.get(app.url("/web/secret.txt")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (404, "application/problem+json"));
}
