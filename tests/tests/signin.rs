//! People sign in (issue 26): the registry as an OpenID Connect relying party of a real
//! OpenID Provider on loopback (panva's oidc-provider playing a Swedish eID broker,
//! tests/interop/oidc_provider.mjs), through its real login and consent pages.
//!
//! Browsers: the code flow with PKCE, state and nonce; the session cookie; CSRF on writes;
//! sign-out at the registry and at the provider; idle and absolute timeouts; staff entries.
//! Apps: the provider's JWT access tokens on REST and gRPC. Attacks: expired, not yet valid,
//! wrong audience or issuer, `alg: none`, an unknown key, a tampered signature, a stranger's
//! key, an ID token used as an access token, a replayed or crossed state, a revoked session, a
//! write without the CSRF token, staff of one municipality deciding another's registration, a
//! personal identity number that is not valid: each a 401/403 with nothing written. And a
//! person's download and erasure of what the registry holds about them.

use std::time::Duration;

use grpc_api::oidc::{OidcConfig, ProviderConfig};
use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use registry_core::auth::Principal;
use registry_core::service::sessions::{SessionPolicy, staff};
use serde_json::{Value, json};
use tests::oidc::{ProviderAgent, TestProvider, decode_unverified, pkce};
use tests::{TestApp, TestDb, fixtures};

const RESIDENT_PIN: &str = "198112289874";
const STAFF_PIN: &str = "197010632391";
const CLIENT_SECRET: &str = "registry-client-secret-for-tests";
const APP_REDIRECT: &str = "http://127.0.0.1:9/app-callback";

/// A registry and the provider it trusts.
struct World {
    provider: TestProvider,
    app: TestApp,
    _secret_dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn world(sessions: SessionPolicy) -> World {
    tests::rustls_provider();
    // The provider must know the registry's callback before either starts.
    let port = tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = TestProvider::start(json!({
        "resource": base,
        "clients": [
            {"client_id": "registry", "client_secret": CLIENT_SECRET,
             "redirect_uris": [format!("{base}/auth/callback")], "post_logout_redirect_uris": [format!("{base}/")]},
            {"client_id": "app", "redirect_uris": [APP_REDIRECT]}
        ],
        "persons": [
            {"sub": "resident", "personalIdentityNumber": RESIDENT_PIN, "given_name": "Anna", "family_name": "Andersson"},
            {"sub": "staff", "personalIdentityNumber": STAFF_PIN, "given_name": "Sven", "family_name": "Svensson"},
            {"sub": "bad-pin", "personalIdentityNumber": "198112289875", "given_name": "Fel", "family_name": "Nummer"}
        ]
    }))
    .await;
    let dir = std::env::temp_dir().join(format!("signin-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let spec =
        format!("name=test,display-name=Test eID,issuer={},client-id=registry,client-secret-file={}", provider.issuer, secret.display());
    let config = grpc_api::server::ServerConfig {
        public_url: Some(base.clone()),
        oidc: OidcConfig { providers: vec![ProviderConfig::parse(&spec).unwrap()], audience: Some(base.clone()), public_url: base.clone() },
        sessions,
        ..Default::default()
    };
    let db = TestDb::new().await;
    let registry = db.registry();
    let server =
        grpc_api::server::start(registry.clone(), config, format!("127.0.0.1:{port}").parse().unwrap()).await.expect("start the server");
    World { provider, app: TestApp { db, registry, server, base }, _secret_dir: tempdir::Dir(dir) }
}

/// A browser at the registry: no automatic redirects, its session cookie kept by hand.
struct Browser {
    http: reqwest::Client,
    cookie: String,
    agent: ProviderAgent,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

impl World {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// `GET /auth/login`: the provider's authorization URL it redirects to.
    async fn login_url(&self, return_to: &str) -> String {
        let res = no_redirects().get(self.url(&format!("/auth/login?provider=test&returnTo={return_to}"))).send().await.unwrap();
        assert_eq!(res.status(), 303, "{:?}", res.text().await);
        location(&res)
    }

    /// Signs `login` in through the provider's pages: the callback URL the provider sends back to.
    async fn through_provider(&self, agent: &mut ProviderAgent, return_to: &str, login: &str) -> String {
        let authorize = self.login_url(return_to).await;
        assert!(authorize.starts_with(&self.provider.issuer), "to the provider: {authorize}");
        let callback = agent.sign_in(&authorize, login).await.expect("signed in at the provider");
        assert!(callback.starts_with(&self.url("/auth/callback?")), "back to the registry: {callback}");
        callback
    }

    /// A browser signed in as `login`.
    async fn browser(&self, login: &str) -> Browser {
        let mut agent = ProviderAgent::new();
        let callback = self.through_provider(&mut agent, "/mina-foreningar", login).await;
        let http = no_redirects();
        let res = http.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303, "callback: {:?}", res.text().await);
        assert_eq!(location(&res), "/mina-foreningar", "back where the sign-in began");
        let set = res.headers().get("set-cookie").expect("a session cookie").to_str().unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(attribute), "{attribute} in {set}");
        }
        assert!(!set.contains("Secure"), "plain http on loopback: not Secure ({set})");
        let cookie = set.split(';').next().unwrap().to_string();
        assert!(cookie.starts_with("registry-session="), "{cookie}");
        Browser { http, cookie, agent }
    }

    async fn facilities(&self) -> i64 {
        self.app.db.count("SELECT count(*) AS n FROM facilities").await
    }
}

impl Browser {
    async fn get(&self, w: &World, path: &str) -> (u16, Value) {
        let res = self.http.get(w.url(path)).header("cookie", &self.cookie).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn me(&self, w: &World) -> (u16, Value) {
        self.get(w, "/v1/me").await
    }

    async fn post(&self, w: &World, path: &str, body: Value, csrf: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(w.url(path)).header("cookie", &self.cookie).json(&body);
        if let Some(token) = csrf {
            req = req.header("x-csrf-token", token);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn csrf(&self, w: &World) -> String {
        let (status, me) = self.me(w).await;
        assert_eq!(status, 200, "{me}");
        me["session"]["csrfToken"].as_str().expect("a CSRF token").to_string()
    }
}

fn facility_body(code: &str, name: &str) -> Value {
    serde_json::to_value(fixtures::facility(code, name)).unwrap()
}

#[tokio::test]
async fn a_resident_signs_in_sees_who_they_are_and_signs_out_at_the_provider_too() {
    let w = world(SessionPolicy::default()).await;
    let mut browser = w.browser("resident").await;

    let (status, me) = browser.me(&w).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "resident");
    assert_eq!(me["name"], "Anna Andersson");
    assert!(me["id"].as_str().unwrap().starts_with("person:"), "{me}");
    assert_eq!(me["session"]["provider"], "test");
    assert!(!me.to_string().contains("9874") && !me.to_string().contains("811228"), "no personal identity number: {me}");
    // Nothing stored holds the number: sessions keep the peppered reference.
    let holding = format!("SELECT count(*) AS n FROM sessions WHERE row_to_json(sessions)::text LIKE '%{}%'", &RESIDENT_PIN[2..]);
    assert_eq!(w.app.db.count(&holding).await, 0);
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL").await, 1);

    // A resident may not write a municipality's data, whatever the CSRF token.
    let csrf = browser.csrf(&w).await;
    let (status, body) = browser.post(&w, "/v1/facilities", facility_body("1880", "Residentens hall"), Some(&csrf)).await;
    assert_eq!(status, 403, "{body}");

    // Signing out needs the CSRF token too; without it the session lives on.
    let (status, body) = browser.post(&w, "/auth/logout", json!({}), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("X-CSRF-Token"), "{body}");
    assert_eq!(browser.me(&w).await.0, 200);
    let (status, body) = browser.post(&w, "/auth/logout", json!({}), Some(&csrf)).await;
    assert_eq!(status, 200, "{body}");
    let redirect = body["redirect"].as_str().unwrap().to_string();
    assert!(redirect.starts_with(&w.provider.issuer), "RP-initiated logout at the provider: {redirect}");
    assert!(redirect.contains("client_id=registry") && redirect.contains("post_logout_redirect_uri="), "{redirect}");
    // The old cookie is dead, at once.
    let (status, body) = browser.me(&w).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("signed out"), "{body}");
    // The provider ends its own session and sends the browser back to the registry.
    let back = browser.agent.sign_out(&redirect).await.expect("signed out at the provider");
    assert_eq!(back, format!("{}/", w.app.base));
}

#[tokio::test]
async fn a_state_is_good_once_and_only_for_its_own_sign_in() {
    let w = world(SessionPolicy::default()).await;
    let mut agent = ProviderAgent::new();
    let callback = w.through_provider(&mut agent, "/", "resident").await;
    let http = no_redirects();
    assert_eq!(http.get(&callback).send().await.unwrap().status(), 303, "the first use signs in");
    let replay = http.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 401, "a replayed state");
    let body: Value = replay.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("already used"), "{body}");

    // Two sign-ins begun: the code of one with the state of the other is refused (the other's
    // PKCE verifier does not match the code's challenge, and its nonce is not the ID token's).
    let first = w.through_provider(&mut ProviderAgent::new(), "/", "resident").await;
    let second_authorize = w.login_url("/").await;
    let second_state = url_param(&second_authorize, "state");
    let code = url_param(&first, "code");
    let crossed = http.get(w.url(&format!("/auth/callback?code={code}&state={second_state}"))).send().await.unwrap();
    assert_eq!(crossed.status(), 401, "{:?}", crossed.text().await);

    // An unknown state, a missing one, and the provider's own refusal.
    for path in [
        "/auth/callback?code=abc&state=0000000000000000000000000000000000000000000000000000000000000000",
        "/auth/callback?code=abc",
        "/auth/callback?error=access_denied&error_description=The+person+cancelled",
    ] {
        let res = http.get(w.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert!(res.headers().get("set-cookie").is_none(), "{path}: no session");
    }
    // An open redirect after signing in is refused before the provider is asked.
    let res = http.get(w.url("/auth/login?provider=test&returnTo=https://evil.example/")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = http.get(w.url("/auth/login?provider=nope")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM sessions").await, 1, "only the first sign-in made a session");
}

#[tokio::test]
async fn staff_act_for_their_own_municipality_until_their_entry_is_removed() {
    let w = world(SessionPolicy::default()).await;
    let clock = w.app.registry.clock().clone();
    staff::add(w.app.registry.pool(), "", &clock, "19701063-2391", "1880", "Sven Svensson, fritid").await.unwrap();
    let browser = w.browser("staff").await;
    let (status, me) = browser.me(&w).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["municipalityCode"].as_str()), (Some("editor"), Some("1880")), "{me}");
    let csrf = browser.csrf(&w).await;

    // A write with the cookie alone is refused before anything happens.
    let before = w.facilities().await;
    let (status, body) = browser.post(&w, "/v1/facilities", facility_body("1880", "Personalens hall"), None).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = browser.post(&w, "/v1/facilities", facility_body("1880", "Personalens hall"), Some("0".repeat(64).as_str())).await;
    assert_eq!(status, 403, "a wrong CSRF token: {body}");
    assert_eq!(w.facilities().await, before, "nothing written");
    let (status, created) = browser.post(&w, "/v1/facilities", facility_body("1880", "Personalens hall"), Some(&csrf)).await;
    assert_eq!(status, 201, "{created}");
    // Another municipality's data is not theirs.
    let (status, body) = browser.post(&w, "/v1/facilities", facility_body("0180", "Stockholms hall"), Some(&csrf)).await;
    assert_eq!(status, 403, "{body}");
    let admin = Principal::operator("signin-test");
    let pending = w.app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    let (status, body) = browser.post(&w, &format!("/v1/associations/{}/approve", pending.id), json!({}), Some(&csrf)).await;
    // Another municipality's registrations are not even visible to its staff: 404, as for an
    // editor's key of another municipality, and the registration is untouched.
    assert_eq!(status, 404, "staff of 1880 deciding a registration of 0180: {body}");
    let still = w.app.registry.get_association(&admin, pending.id).await.unwrap();
    assert_eq!((still.registration.status, still.version), (pending.registration.status, pending.version));

    // Removing the entry signs the person out everywhere, at once.
    assert!(staff::remove(w.app.registry.pool(), "", &clock, STAFF_PIN).await.unwrap());
    let (status, body) = browser.me(&w).await;
    assert_eq!(status, 401, "{body}");
    // Signed in again, they are a resident.
    let again = w.browser("staff").await;
    assert_eq!(again.me(&w).await.1["role"], "resident");
}

/// An app's sign-in at the provider (public client "app", PKCE): its access token.
async fn app_token(w: &World, login: &str) -> String {
    let p = pkce();
    let authorize = format!(
        "{}/auth?client_id=app&response_type=code&scope={}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=s1&nonce=n1",
        w.provider.issuer,
        urlencode(&format!("openid profile {}", tests::oidc::PIN_SCOPE)),
        urlencode(APP_REDIRECT),
        p.challenge
    );
    let callback = ProviderAgent::new().sign_in(&authorize, login).await.expect("the app signs in");
    let code = url_param(&callback, "code");
    let form: Vec<String> = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", APP_REDIRECT),
        ("client_id", "app"),
        ("code_verifier", &p.verifier),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", urlencode(v)))
    .collect();
    let token_endpoint = w.provider.discovery().await["token_endpoint"].as_str().unwrap().to_string();
    let tokens: Value = reqwest::Client::new()
        .post(token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.join("&"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {tokens}")).to_string();
    let (header, payload) = decode_unverified(&token);
    assert_eq!((header["typ"].as_str(), payload["aud"].as_str()), (Some("at+jwt"), Some(w.app.base.as_str())));
    token
}

async fn bearer_me(w: &World, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new().get(w.url("/v1/me")).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn apps_send_the_providers_access_tokens_over_rest_and_grpc() {
    let w = world(SessionPolicy::default()).await;
    let resident = app_token(&w, "resident").await;
    let (status, me) = bearer_me(&w, &resident).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["name"].as_str()), (Some("resident"), Some("Anna Andersson")));
    assert!(me.get("session").is_none(), "a bearer token is no browser session: {me}");
    // Bearer tokens ride on no cookie: no CSRF token is asked for, the role decides.
    let res = reqwest::Client::new()
        .post(w.url("/v1/facilities"))
        .bearer_auth(&resident)
        .json(&facility_body("1880", "Appens hall"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    staff::add(w.app.registry.pool(), "", w.app.registry.clock(), STAFF_PIN, "1880", "Sven").await.unwrap();
    let staff_token = app_token(&w, "staff").await;
    let mut grpc = FacilityServiceClient::new(w.app.channel().await);
    let bearer = |msg| {
        let mut req = tonic::Request::new(msg);
        req.metadata_mut().insert("authorization", format!("Bearer {staff_token}").parse().unwrap());
        req
    };
    let created = grpc
        .create_facility(bearer(pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("1880", "Appens hall")) }))
        .await
        .expect("staff create over gRPC with an access token")
        .into_inner();
    assert_eq!(created.facility.unwrap().municipality_code, "1880");
    let e = grpc
        .create_facility(bearer(pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("0180", "Fel kommun")) }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    let mut req = tonic::Request::new(pb::CreateFacilityRequest { facility: Some(fixtures::facility_pb("1880", "Falsk")) });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", w.provider.mint(Value::Null, json!({"aud": "someone-else"}), "provider", false).await).parse().unwrap(),
    );
    assert_eq!(grpc.create_facility(req).await.unwrap_err().code(), tonic::Code::Unauthenticated);
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_refused_and_write_nothing() {
    let w = world(SessionPolicy::default()).await;
    staff::add(w.app.registry.pool(), "", w.app.registry.clock(), RESIDENT_PIN, "1880", "Anna").await.unwrap();
    let p = &w.provider;
    let now = chrono::Utc::now().timestamp();
    // The control: a minted token as the provider would issue it is accepted (staff of 1880).
    let good = p.mint(Value::Null, Value::Null, "provider", false).await;
    assert_eq!(bearer_me(&w, &good).await.1["role"], "editor");

    let id_token_shaped = p.mint(json!({"typ": "JWT"}), json!({"aud": "registry", "nonce": "n"}), "provider", false).await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", p.mint(Value::Null, json!({"iat": now - 7200, "exp": now - 3600}), "provider", false).await, "expired"),
        ("issued in the future", p.mint(Value::Null, json!({"iat": now + 3600, "exp": now + 7200}), "provider", false).await, "future"),
        ("not valid yet", p.mint(Value::Null, json!({"nbf": now + 3600}), "provider", false).await, "not valid yet"),
        ("wrong audience", p.mint(Value::Null, json!({"aud": "https://another-registry.example"}), "provider", false).await, "audience"),
        ("wrong issuer", p.mint(Value::Null, json!({"iss": "https://evil.example"}), "provider", false).await, "issuer"),
        ("alg none", p.mint(Value::Null, Value::Null, "none", false).await, "valid"),
        ("unknown kid", p.mint(json!({"kid": "unknown-kid"}), Value::Null, "provider", false).await, "does not publish"),
        ("tampered", p.mint(Value::Null, Value::Null, "provider", true).await, "signature"),
        ("a stranger's key", p.mint(Value::Null, Value::Null, "stranger", false).await, "does not publish"),
        ("an ID token", id_token_shaped, "audience"),
        ("another token type", p.mint(json!({"typ": "logout+jwt"}), Value::Null, "provider", false).await, "type"),
        (
            "a wrong check digit",
            p.mint(Value::Null, json!({tests::oidc::PIN_CLAIM: "198112289875"}), "provider", false).await,
            "check digit",
        ),
        (
            "no personal identity number",
            p.mint(Value::Null, json!({tests::oidc::PIN_CLAIM: null}), "provider", false).await,
            "no personal identity number",
        ),
        ("not a JWT", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln".to_string(), "valid"),
    ];
    let before = w.facilities().await;
    let http = reqwest::Client::new();
    for (what, token, says) in &cases {
        let res =
            http.post(w.url("/v1/facilities")).bearer_auth(token).json(&facility_body("1880", "Förfalskad hall")).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "{what}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default().to_lowercase();
        assert!(detail.contains(says), "{what}: '{says}' in {detail}");
    }
    assert_eq!(w.facilities().await, before, "nothing written");
    // The good token still works after all that (no key refresh storm broke anything).
    assert_eq!(bearer_me(&w, &good).await.0, 200);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_accepted() {
    let w = world(SessionPolicy::default()).await;
    let before = w.provider.mint(Value::Null, Value::Null, "provider", false).await;
    assert_eq!(bearer_me(&w, &before).await.0, 200);
    let kid = w.provider.rotate().await;
    let after = w.provider.mint(Value::Null, Value::Null, "provider", false).await;
    assert_eq!(decode_unverified(&after).0["kid"], kid.as_str());
    let (status, body) = bearer_me(&w, &after).await;
    assert_eq!(status, 200, "a token of the new key: {body}");
    assert_eq!(bearer_me(&w, &before).await.0, 200, "the old key is still published");
    // And a browser sign-in after the rotation (the ID token signed with the new key).
    assert_eq!(w.browser("resident").await.me(&w).await.0, 200);
}

#[tokio::test]
async fn sessions_end_when_unused_too_long_and_at_their_absolute_end() {
    let idle = world(SessionPolicy { idle: chrono::Duration::seconds(2), absolute: chrono::Duration::hours(1) }).await;
    let browser = idle.browser("resident").await;
    // Used every second, it lives past its 2 s idle timeout...
    for _ in 0..4 {
        assert_eq!(browser.me(&idle).await.0, 200, "a session in use stays");
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    assert_eq!(browser.me(&idle).await.0, 200);
    // ...and unused for longer than that, it ends.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = browser.me(&idle).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("unused"), "{body}");

    let absolute = world(SessionPolicy { idle: chrono::Duration::hours(1), absolute: chrono::Duration::seconds(3) }).await;
    let browser = absolute.browser("resident").await;
    for _ in 0..3 {
        assert_eq!(browser.me(&absolute).await.0, 200, "used all along");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let (status, body) = browser.me(&absolute).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
    // A forged cookie is no session either.
    let forged = Browser { http: no_redirects(), cookie: format!("registry-session={}", "ab".repeat(32)), agent: ProviderAgent::new() };
    assert_eq!(forged.me(&absolute).await.0, 401);
}

#[tokio::test]
async fn a_personal_identity_number_that_is_not_valid_is_refused() {
    let w = world(SessionPolicy::default()).await;
    let callback = w.through_provider(&mut ProviderAgent::new(), "/", "bad-pin").await;
    let res = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("set-cookie").is_none());
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("check digit"), "{body}");
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM sessions").await, 0);

    // Operators are told which rule a number breaks, and nothing is stored.
    let clock = w.app.registry.clock().clone();
    for (pin, rule) in [("19811328-9873", "date"), ("19811228-9875", "checksum"), ("1981122", "format")] {
        let e = staff::add(w.app.registry.pool(), "", &clock, pin, "1880", "x").await.unwrap_err();
        match e {
            registry_core::Error::Invalid(v) => assert_eq!((v[0].field.as_str(), v[0].rule), ("personalIdentityNumber", rule), "{pin}"),
            other => panic!("{pin}: {other}"),
        }
    }
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM staff").await, 0);
}

fn url_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_person_downloads_what_the_registry_holds_about_them_and_erases_it() {
    let w = world(SessionPolicy::default()).await;
    staff::add(w.app.registry.pool(), "", w.app.registry.clock(), STAFF_PIN, "1880", "Sven Svensson, fritid").await.unwrap();
    let browser = w.browser("staff").await;
    let res = browser.http.get(w.url("/v1/me/personal-data")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"), "a download");
    let data: Value = res.json().await.unwrap();
    assert!(data["person"].as_str().unwrap().starts_with("person:"), "{data}");
    assert_eq!(data["name"], "Sven Svensson");
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1, "{data}");
    assert_eq!(
        (data["staff"]["municipalityCode"].as_str(), data["staff"]["label"].as_str()),
        (Some("1880"), Some("Sven Svensson, fritid"))
    );
    let text = data.to_string();
    assert!(!text.contains(&STAFF_PIN[2..]) && !text.contains("csrf") && !text.contains("token"), "no number, no tokens: {text}");
    assert_eq!(
        w.app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'read_own_personal_data'").await,
        1,
        "the read is audited"
    );

    // Only a signed-in person, for themselves: a key gets 403, nobody 401.
    let admin = w.app.key("admin", None, false).await;
    let res = reqwest::Client::new().get(w.url("/v1/me/personal-data")).header("x-api-key", &admin).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(reqwest::Client::new().get(w.url("/v1/me/personal-data")).send().await.unwrap().status(), 401);

    // Erasing: the CSRF token first, then every session goes; the staff entry is kept, and said so.
    let csrf = browser.csrf(&w).await;
    let res = browser.http.delete(w.url("/v1/me/personal-data")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(res.status(), 403, "no CSRF token");
    let other = w.browser("staff").await;
    let res = browser
        .http
        .delete(w.url("/v1/me/personal-data"))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the cookie is cleared");
    let erased: Value = res.json().await.unwrap();
    assert_eq!(erased["sessionsDeleted"], 2, "this browser's session and the other one: {erased}");
    assert!(erased["kept"].as_array().unwrap().iter().any(|k| k.as_str().unwrap().contains("staff entry")), "{erased}");
    assert_eq!(browser.me(&w).await.0, 401);
    assert_eq!(other.me(&w).await.0, 401, "signed out everywhere");
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM sessions").await, 0);
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM staff").await, 1);
    assert_eq!(w.app.db.count("SELECT count(*) AS n FROM audit_log WHERE action = 'erase_own_personal_data'").await, 1);
}
