//! The OpenID Provider harness itself (tests/interop/oidc_provider.mjs driven by
//! tests/src/oidc.rs), before the registry relies on it: discovery, a real sign-in through the
//! login and consent pages with PKCE, the tokens' claims, logout, minted tokens of each kind,
//! and key rotation. Tokens are decoded here, not verified: verifying them is the registry's job.

use serde_json::{Value, json};
use tests::oidc::{PIN_CLAIM, PIN_SCOPE, ProviderAgent, TestProvider, decode_unverified, pkce, sign_in};

const RESOURCE: &str = "http://127.0.0.1:8080";
const REDIRECT: &str = "http://127.0.0.1:9999/auth/callback";
const POST_LOGOUT: &str = "http://127.0.0.1:9999/";

async fn provider() -> TestProvider {
    TestProvider::start(json!({
        "resource": RESOURCE,
        "accessTokenTtl": 600,
        "idTokenTtl": 600,
        "clients": [{"client_id": "registry", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [POST_LOGOUT]}],
        "persons": [{"sub": "resident-1", "personalIdentityNumber": "198112289874", "given_name": "Anna", "family_name": "Andersson"}],
    }))
    .await
}

/// An authorization request of the registry (public client, PKCE S256); `challenge` None
/// leaves PKCE out.
fn authorization_url(discovery: &Value, challenge: Option<&str>, state: &str, nonce: &str) -> String {
    let mut url = reqwest::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", "registry")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", &format!("openid profile {PIN_SCOPE}"))
            .append_pair("state", state)
            .append_pair("nonce", nonce);
        if let Some(challenge) = challenge {
            query.append_pair("code_challenge", challenge).append_pair("code_challenge_method", "S256");
        }
    }
    url.to_string()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    reqwest::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The token request redeeming the code of `callback` with `verifier`.
async fn token_request(discovery: &Value, callback: &str, verifier: &str) -> reqwest::Response {
    let code = &query(callback)["code"];
    let mut form = reqwest::Url::parse("http://form.invalid/").unwrap();
    form.query_pairs_mut()
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("client_id", "registry")
        .append_pair("code_verifier", verifier);
    reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.query().unwrap().to_string())
        .send()
        .await
        .unwrap()
}

/// The code of `callback` exchanged at the token endpoint: the token response.
async fn exchange(discovery: &Value, callback: &str, verifier: &str) -> Value {
    let response = token_request(discovery, callback, verifier).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "token endpoint: {status} {body}");
    body
}

/// The kid of the provider's first published RS256 key (the one that signs).
async fn signing_kid(provider: &TestProvider) -> String {
    let jwks = provider.jwks().await;
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["alg"] == "RS256").expect("an RS256 key");
    key["kid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_tokens_and_logout() {
    let provider = provider().await;
    assert_eq!(provider.issuer, format!("http://127.0.0.1:{}", provider.port));
    assert!(provider.keys_file.is_file(), "the generated keys are written to the keysFile");

    // Discovery.
    let discovery = provider.discovery().await;
    assert_eq!(discovery["issuer"], provider.issuer.as_str());
    assert_eq!(discovery["jwks_uri"], provider.url("/jwks").as_str());
    assert_eq!(discovery["end_session_endpoint"], provider.url("/session/end").as_str());
    assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
    assert!(discovery["claims_supported"].as_array().unwrap().contains(&json!(PIN_CLAIM)));
    let jwks = provider.jwks().await;
    assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none()), "only public keys are published: {jwks}");
    let algs: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES256"]);

    // Sign-in through the login and consent pages.
    let pair = pkce();
    let mut agent = ProviderAgent::new();
    let callback = agent.sign_in(&authorization_url(&discovery, Some(&pair.challenge), "state-1", "nonce-1"), "resident-1").await.unwrap();
    assert_eq!(agent.prompts, ["login", "consent"]);
    assert!(callback.starts_with(&format!("{REDIRECT}?")), "{callback}");
    let params = query(&callback);
    assert_eq!(params["state"], "state-1");
    assert_eq!(params["iss"], provider.issuer, "RFC 9207 iss in the authorization response");

    let tokens = exchange(&discovery, &callback, &pair.verifier).await;
    let kid = signing_kid(&provider).await;
    let (header, id_token) = decode_unverified(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(id_token["iss"], provider.issuer.as_str());
    assert_eq!(id_token["aud"], "registry");
    assert_eq!(id_token["sub"], "resident-1");
    assert_eq!(id_token["nonce"], "nonce-1");
    assert_eq!(id_token[PIN_CLAIM], "198112289874");
    assert_eq!(id_token["name"], "Anna Andersson");
    assert_eq!(id_token["given_name"], "Anna");
    assert_eq!(id_token["family_name"], "Andersson");

    let (header, access) = decode_unverified(tokens["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(access["iss"], provider.issuer.as_str());
    assert_eq!(access["aud"], RESOURCE);
    assert_eq!(access["sub"], "resident-1");
    assert_eq!(access["client_id"], "registry");
    assert_eq!(access[PIN_CLAIM], "198112289874");
    assert_eq!(access["given_name"], "Anna");
    assert!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap() == 600, "{access}");
    assert!(access["scope"].as_str().unwrap().split(' ').any(|s| s == PIN_SCOPE), "{access}");

    // The provider's session and the consent given: a second sign-in passes straight through.
    let again = pkce();
    let callback = agent.sign_in(&authorization_url(&discovery, Some(&again.challenge), "state-2", "nonce-2"), "resident-1").await.unwrap();
    assert!(agent.prompts.is_empty(), "no pages the second time: {:?}", agent.prompts);
    exchange(&discovery, &callback, &again.verifier).await;

    // A code is not redeemed without its verifier.
    let third = pkce();
    let callback = agent.sign_in(&authorization_url(&discovery, Some(&third.challenge), "state-3", "nonce-3"), "resident-1").await.unwrap();
    let refused = token_request(&discovery, &callback, &"x".repeat(64)).await;
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // RP-initiated logout through the confirmation page.
    let mut end = reqwest::Url::parse(discovery["end_session_endpoint"].as_str().unwrap()).unwrap();
    end.query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", POST_LOGOUT)
        .append_pair("state", "bye");
    let after = agent.sign_out(end.as_str()).await.unwrap();
    assert_eq!(after, format!("{POST_LOGOUT}?state=bye"));
    // The session is gone and the grant revoked: login and consent again.
    let fourth = pkce();
    agent.sign_in(&authorization_url(&discovery, Some(&fourth.challenge), "state-4", "nonce-4"), "resident-1").await.unwrap();
    assert_eq!(agent.prompts, ["login", "consent"]);
}

#[tokio::test]
async fn refusals_at_sign_in() {
    let provider = provider().await;
    let discovery = provider.discovery().await;

    // PKCE is required: without a challenge the provider redirects back with an error.
    let callback = sign_in(&authorization_url(&discovery, None, "s", "n"), "resident-1").await.unwrap();
    let params = query(&callback);
    assert_eq!(params["error"], "invalid_request", "{callback}");
    assert_eq!(params["state"], "s");

    // An unknown person is refused at the login form.
    let pair = pkce();
    let err = sign_in(&authorization_url(&discovery, Some(&pair.challenge), "s", "n"), "nobody").await.unwrap_err();
    assert!(format!("{err:#}").contains("unknown person"), "{err:#}");
}

#[tokio::test]
async fn minted_tokens() {
    let provider = provider().await;
    let kid = signing_kid(&provider).await;
    let published: Vec<String> =
        provider.jwks().await["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
    let parts = |token: &str| token.split('.').map(str::to_string).collect::<Vec<_>>();

    // The provider's key: a valid-looking access token for the registry.
    let token = provider.mint(json!({}), json!({}), "provider", false).await;
    let (header, payload) = decode_unverified(&token);
    assert_eq!(header, json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}));
    assert_eq!(payload["iss"], provider.issuer.as_str());
    assert_eq!(payload["aud"], RESOURCE);
    assert_eq!(payload["sub"], "resident-1");
    assert_eq!(payload["client_id"], "registry");
    assert_eq!(payload[PIN_CLAIM], "198112289874");
    assert!(payload["exp"].as_i64().unwrap() > payload["iat"].as_i64().unwrap());
    assert!(!parts(&token)[2].is_empty());

    // Claims replace the defaults; null leaves one out.
    let token = provider.mint(Value::Null, json!({"aud": "https://elsewhere.example", "exp": null, "extra": 1}), "provider", false).await;
    let (_, payload) = decode_unverified(&token);
    assert_eq!(payload["aud"], "https://elsewhere.example");
    assert!(payload.get("exp").is_none(), "{payload}");
    assert_eq!(payload["extra"], 1);

    // The provider's EC key by the header's alg.
    let token = provider.mint(json!({"alg": "ES256"}), json!({}), "provider", false).await;
    let (header, _) = decode_unverified(&token);
    assert_eq!(header["alg"], "ES256");
    assert!(published.contains(&header["kid"].as_str().unwrap().to_string()));
    assert_ne!(header["kid"], kid.as_str());

    // Header overrides: an unknown kid, another typ.
    let token = provider.mint(json!({"kid": "unknown-kid", "typ": "JWT"}), json!({}), "provider", false).await;
    let (header, _) = decode_unverified(&token);
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "unknown-kid"}));

    // A stranger's key, never published.
    let token = provider.mint(json!({}), json!({}), "stranger", false).await;
    let (header, _) = decode_unverified(&token);
    assert_eq!(header, json!({"alg": "RS256", "typ": "at+jwt", "kid": "stranger-1"}));
    assert!(!published.contains(&"stranger-1".to_string()));
    assert!(!parts(&token)[2].is_empty());

    // alg none, empty signature.
    let token = provider.mint(json!({}), json!({}), "none", false).await;
    let (header, payload) = decode_unverified(&token);
    assert_eq!(header["alg"], "none");
    assert_eq!(payload[PIN_CLAIM], "198112289874");
    assert_eq!(parts(&token).len(), 3);
    assert!(parts(&token)[2].is_empty(), "{token}");

    // Tampered: well formed, the personal identity number changed after signing.
    let token = provider.mint(json!({}), json!({}), "provider", true).await;
    let (header, payload) = decode_unverified(&token);
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(payload[PIN_CLAIM], "198112289875");
}

#[tokio::test]
async fn key_rotation() {
    let provider = provider().await;
    let discovery = provider.discovery().await;
    let old = signing_kid(&provider).await;

    let new = provider.rotate().await;
    assert_ne!(new, old);
    let kids: Vec<String> =
        provider.jwks().await["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
    assert_eq!(kids.first(), Some(&new), "the new key is published first: {kids:?}");
    assert!(kids.contains(&old), "the old key stays published: {kids:?}");
    assert_eq!(kids.len(), 3);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&provider.keys_file).unwrap()).unwrap();
    assert_eq!(written["keys"][0]["kid"], new.as_str(), "the keysFile holds the rotated set");
    assert!(written["keys"][0].get("d").is_some(), "the keysFile holds private keys");

    // The new key signs minted tokens, ID tokens and access tokens.
    let (header, _) = decode_unverified(&provider.mint(json!({}), json!({}), "provider", false).await);
    assert_eq!(header["kid"], new.as_str());
    let pair = pkce();
    let callback = sign_in(&authorization_url(&discovery, Some(&pair.challenge), "s", "n"), "resident-1").await.unwrap();
    let tokens = exchange(&discovery, &callback, &pair.verifier).await;
    assert_eq!(decode_unverified(tokens["id_token"].as_str().unwrap()).0["kid"], new.as_str());
    assert_eq!(decode_unverified(tokens["access_token"].as_str().unwrap()).0["kid"], new.as_str());
}
