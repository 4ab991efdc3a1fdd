//! A real OpenID Provider on loopback for sign-in tests and `make demo`:
//! tests/interop/oidc_provider.mjs runs panva's oidc-provider (installed by
//! scripts/node-tools.sh) as a Swedish eID broker whose test persons carry the personal identity
//! number claim ([`PIN_CLAIM`], released by [`PIN_SCOPE`]). The script's header describes its
//! configuration, pages and test-only endpoints.
//!
//! - [`TestProvider`] starts it and talks to its test-only endpoints: [`TestProvider::mint`]
//!   signs arbitrary access tokens (with the provider's key, a stranger's, or none) and
//!   [`TestProvider::rotate`] rotates its signing key at runtime.
//! - [`ProviderAgent`] is a browserless user agent at the provider: it signs in through the real
//!   login and consent pages and signs out through the logout confirmation page, carrying the
//!   provider's cookies in a tiny jar, and stops at the first redirect that leaves the
//!   provider's origin (the relying party's callback), without fetching it.
//! - [`pkce`] and [`decode_unverified`] help build authorization requests and look into tokens
//!   (verifying them is the relying party's job).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Sweden Connect's personal identity number claim (personnummer, 12 digits).
pub const PIN_CLAIM: &str = "https://id.oidc.se/claim/personalIdentityNumber";
/// Sweden Connect's scope that releases [`PIN_CLAIM`].
pub const PIN_SCOPE: &str = "https://id.oidc.se/scope/naturalPersonNumber";

/// A running OpenID Provider (killed when dropped).
pub struct TestProvider {
    /// `http://127.0.0.1:<port>`, no path.
    pub issuer: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its private JWKS (the configured keysFile, or one in a temporary directory).
    pub keys_file: PathBuf,
    temp_dir: Option<PathBuf>,
    http: reqwest::Client,
    _stdout: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl TestProvider {
    /// Starts the provider with `config` (the script's OIDC_CONFIG: port, keysFile, resource,
    /// accessTokenTtl, idTokenTtl, clients, persons). Without `port` it takes any free port;
    /// without `keysFile` it gets fresh keys in a temporary directory removed on drop.
    pub async fn start(mut config: Value) -> TestProvider {
        crate::rustls_provider();
        let installed = crate::node_prefix().join("node_modules/oidc-provider/package.json");
        assert!(
            installed.is_file(),
            "oidc-provider is not installed under {}: run `{}`",
            crate::node_prefix().display(),
            crate::repo_root().join("scripts/node-tools.sh").display()
        );
        let object = config.as_object_mut().expect("the provider's configuration is a JSON object");
        let mut temp_dir = None;
        if !object.contains_key("keysFile") {
            let dir = std::env::temp_dir().join(format!("oidc-provider-{}", uuid::Uuid::now_v7().simple()));
            object.insert("keysFile".into(), json!(dir.join("jwks.json")));
            temp_dir = Some(dir);
        }
        object.entry("port").or_insert(json!(0));
        let keys_file = PathBuf::from(object["keysFile"].as_str().expect("keysFile is a path"));

        let mut child = Command::new(crate::node_binary())
            .arg(crate::repo_root().join("tests/interop/oidc_provider.mjs"))
            .env("NODE_PREFIX", crate::node_prefix())
            .env("OIDC_CONFIG", config.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node tests/interop/oidc_provider.mjs");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("the OpenID Provider did not start within 30 s")
            .expect("read the OpenID Provider's stdout")
            .unwrap_or_else(|| panic!("the OpenID Provider exited before listening (its stderr is above)"));
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("the provider's ready line is not JSON ({e}): {line}"));
        let issuer = ready["issuer"].as_str().expect("issuer in the ready line").to_string();
        let port = ready["port"].as_u64().and_then(|p| u16::try_from(p).ok()).expect("port in the ready line");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client");
        TestProvider { issuer, port, keys_file, temp_dir, http, _stdout: stdout, _child: child }
    }

    /// `issuer` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Its discovery document (/.well-known/openid-configuration).
    pub async fn discovery(&self) -> Value {
        self.get_json("/.well-known/openid-configuration").await
    }

    /// Its published JWKS (public keys, the signing key of each algorithm first).
    pub async fn jwks(&self) -> Value {
        self.get_json("/jwks").await
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// A compact JWS from POST /__test/mint: by default a valid access token for the configured
    /// resource (iss, aud, iat, exp, jti, client_id, scope, sub and the claims of the first
    /// person, or of the person whose sub `claims` names). `header` and `claims` replace fields
    /// (a claim set to null is left out; `null` for either means no changes). `key`:
    /// "provider" (its first key of the header's alg, RS256 by default), "stranger" (an RSA key
    /// never published, kid "stranger-1") or "none" (alg none, empty signature). `tamper`
    /// changes a claim after signing, so the signature no longer matches.
    pub async fn mint(&self, header: Value, claims: Value, key: &str, tamper: bool) -> String {
        let header = if header.is_null() { json!({}) } else { header };
        let claims = if claims.is_null() { json!({}) } else { claims };
        let answer = self.control("mint", json!({ "header": header, "claims": claims, "key": key, "tamper": tamper })).await;
        answer["token"].as_str().expect("token in the mint answer").to_string()
    }

    /// Rotates the signing key at runtime (POST /__test/rotate): a new RS256 key signs from now
    /// on and is published first in the JWKS, the old keys stay published, and the keysFile is
    /// rewritten. Returns the new key's kid.
    pub async fn rotate(&self) -> String {
        let answer = self.control("rotate", json!({})).await;
        answer["kid"].as_str().expect("kid in the rotate answer").to_string()
    }

    async fn control(&self, what: &str, body: Value) -> Value {
        let response =
            self.http.post(self.url(&format!("/__test/{what}"))).json(&body).send().await.unwrap_or_else(|e| panic!("/__test/{what}: {e}"));
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_else(|e| panic!("/__test/{what}: not JSON: {e}"));
        assert!(status.is_success(), "/__test/{what} answered {status}: {answer}");
        answer
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    /// code_verifier, for the token request.
    pub verifier: String,
    /// code_challenge (S256), for the authorization request.
    pub challenge: String,
}

/// A fresh PKCE pair (a 64-character verifier).
pub fn pkce() -> Pkce {
    let verifier = format!("{}{}", uuid::Uuid::now_v7().simple(), uuid::Uuid::now_v7().simple());
    let challenge = s256(&verifier);
    Pkce { verifier, challenge }
}

/// The S256 code challenge of `verifier`: base64url(SHA-256(verifier)), unpadded.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The header and payload of a compact JWS, decoded and NOT verified.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let segment = |i: usize| -> Value {
        let part = token.split('.').nth(i).unwrap_or_else(|| panic!("not a compact JWS: {token}"));
        let bytes = URL_SAFE_NO_PAD.decode(part).unwrap_or_else(|e| panic!("segment {i} is not base64url ({e}): {token}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("segment {i} is not JSON ({e}): {token}"))
    };
    (segment(0), segment(1))
}

/// Signs `login` (a configured person's sub) in with a fresh [`ProviderAgent`], starting at
/// `authorization_url`; returns the URL the provider finally redirects to outside itself (the
/// relying party's callback with code and state, or with an error).
pub async fn sign_in(authorization_url: &str, login: &str) -> anyhow::Result<String> {
    ProviderAgent::new().sign_in(authorization_url, login).await
}

/// A browserless user agent at the provider. It follows redirects itself, keeps the provider's
/// cookies in a jar keyed by name and sends them only to the provider's origin (the origin of
/// the first URL it is given), fills the login form (fields login and password) and submits the
/// consent and logout forms. Keep the agent that signed in to sign out: the provider's session
/// is its cookie.
pub struct ProviderAgent {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    origin: Option<String>,
    /// The interaction pages the last [`sign_in`](Self::sign_in) went through, in order
    /// ("login", "consent"); empty when the provider's session and an earlier consent covered it.
    pub prompts: Vec<String>,
}

/// A form on a page: where it posts and its hidden fields.
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Default for ProviderAgent {
    fn default() -> Self {
        Self::new()
    }
}

/// At most this many requests per sign-in or sign-out.
const MAX_STEPS: usize = 20;

impl ProviderAgent {
    /// An agent with an empty cookie jar.
    pub fn new() -> ProviderAgent {
        crate::rustls_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        ProviderAgent { http, cookies: BTreeMap::new(), origin: None, prompts: Vec::new() }
    }

    /// Starts at `authorization_url` (the provider's authorization endpoint with the relying
    /// party's request), signs `login` in on the login page (any password), consents, and returns
    /// the first redirect outside the provider (not fetched). Fails when the provider answers
    /// with an error page or refuses the login (an unknown person).
    pub async fn sign_in(&mut self, authorization_url: &str, login: &str) -> anyhow::Result<String> {
        self.prompts.clear();
        let mut prompts = Vec::new();
        let out = self
            .walk(authorization_url, false, |form| {
                let prompt = form.fields.iter().find(|(name, _)| name == "prompt").map(|(_, value)| value.clone());
                let mut fields = form.fields.clone();
                match prompt.as_deref() {
                    Some("login") => {
                        fields.push(("login".into(), login.into()));
                        fields.push(("password".into(), "any password".into()));
                    }
                    Some("consent") => {}
                    _ => bail!("unexpected form posting to {} with hidden fields {:?}", form.action, form.fields),
                }
                prompts.push(prompt.unwrap_or_default());
                Ok(fields)
            })
            .await;
        self.prompts = prompts;
        out
    }

    /// Starts at `end_session_url` (the provider's end_session_endpoint with id_token_hint,
    /// post_logout_redirect_uri and state), confirms the logout (the form's hidden xsrf plus
    /// logout=yes, the confirmation button's field), and returns the first redirect outside the
    /// provider (the post-logout redirect URI with state), or the URL of the provider's own
    /// "Sign-out Success" page when no post-logout redirect URI was given.
    pub async fn sign_out(&mut self, end_session_url: &str) -> anyhow::Result<String> {
        self.walk(end_session_url, true, |form| {
            let mut fields = form.fields.clone();
            if !fields.iter().any(|(name, _)| name == "xsrf") {
                bail!("unexpected form posting to {} with hidden fields {:?}", form.action, form.fields);
            }
            if !fields.iter().any(|(name, _)| name == "logout") {
                fields.push(("logout".into(), "yes".into()));
            }
            Ok(fields)
        })
        .await
    }

    /// Requests `start`, then follows redirects and submits forms (with the fields `fill` gives)
    /// until a redirect leaves the provider's origin, returning its URL. A page without a form
    /// ends the walk with its own URL when `formless_ends`, else it is an error.
    async fn walk(
        &mut self,
        start: &str,
        formless_ends: bool,
        mut fill: impl FnMut(&Form) -> anyhow::Result<Vec<(String, String)>>,
    ) -> anyhow::Result<String> {
        let mut url = Url::parse(start).with_context(|| format!("not a URL: {start}"))?;
        if self.origin.is_none() {
            self.origin = Some(origin(&url));
        }
        if Some(origin(&url)) != self.origin {
            bail!("{url} is not at the provider ({})", self.origin.as_deref().unwrap_or_default());
        }
        let mut form_body: Option<String> = None;
        for _ in 0..MAX_STEPS {
            let method = if form_body.is_some() { "POST" } else { "GET" };
            let mut request = match form_body.take() {
                Some(body) => self.http.post(url.clone()).header("content-type", "application/x-www-form-urlencoded").body(body),
                None => self.http.get(url.clone()),
            };
            if !self.cookies.is_empty() {
                let cookie = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ");
                request = request.header("cookie", cookie);
            }
            let response = request.send().await.with_context(|| format!("{method} {url}"))?;
            let status = response.status();
            self.keep_cookies(&response);
            let location = response.headers().get("location").map(|l| l.to_str().map(str::to_string));
            let body = response.text().await.with_context(|| format!("{method} {url}: read the body"))?;

            if status.is_redirection() {
                let location = location.with_context(|| format!("{method} {url}: {status} without Location"))??;
                let next = url.join(&location).with_context(|| format!("{method} {url}: bad Location {location}"))?;
                if Some(origin(&next)) != self.origin {
                    return Ok(next.to_string());
                }
                url = next;
                continue;
            }
            if status != StatusCode::OK {
                bail!("{method} {url} answered {status}: {}", page_text(&body));
            }
            let Some(form) = parse_form(&body) else {
                if formless_ends {
                    return Ok(url.to_string());
                }
                bail!("{method} {url}: a page without a form: {}", page_text(&body));
            };
            let fields = fill(&form)?;
            let action = url.join(&form.action).with_context(|| format!("{url}: bad form action {}", form.action))?;
            if Some(origin(&action)) != self.origin {
                bail!("{url}: the form posts outside the provider, to {action}");
            }
            form_body = Some(form_encode(&fields));
            url = action;
        }
        bail!("still at the provider after {MAX_STEPS} requests, at {url}")
    }

    /// Stores the response's cookies by name; an empty value (how the provider deletes one)
    /// removes it.
    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all("set-cookie") {
            let Ok(header) = header.to_str() else { continue };
            let pair = header.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else { continue };
            let (name, value) = (name.trim(), value.trim());
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }
}

/// scheme://host:port of `url`.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// application/x-www-form-urlencoded `fields`.
fn form_encode(fields: &[(String, String)]) -> String {
    let mut url = Url::parse("http://form.invalid/").expect("a URL");
    url.query_pairs_mut().extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    url.query().unwrap_or_default().to_string()
}

/// The first form of `html`: its action and hidden inputs (simple string search: the
/// provider's pages are its own, well-formed templates).
fn parse_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let rest = &html[start..];
    let open_tag = &rest[..rest.find('>')?];
    let action = attribute(open_tag, "action")?;
    let inner = &rest[..rest.find("</form>").unwrap_or(rest.len())];
    let mut fields = Vec::new();
    let mut at = 0;
    while let Some(i) = inner[at..].find("<input") {
        let tag_start = at + i;
        let tag_end = tag_start + inner[tag_start..].find('>')?;
        let tag = &inner[tag_start..tag_end];
        if attribute(tag, "type").as_deref() == Some("hidden")
            && let Some(name) = attribute(tag, "name")
        {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        at = tag_end;
    }
    Some(Form { action, fields })
}

/// The value of attribute `name="…"` in `tag` (preceded by whitespace), unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&needle) {
        let at = from + i;
        if tag[..at].ends_with(char::is_whitespace) {
            let value_start = at + needle.len();
            let value_end = value_start + tag[value_start..].find('"')?;
            return Some(unescape(&tag[value_start..value_end]));
        }
        from = at + needle.len();
    }
    None
}

/// HTML character references in an attribute value: &amp; &quot; &lt; &gt; &apos; and &#NN;.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|n| n.parse::<u32>().ok()).and_then(char::from_u32),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A page's text for an error message: tags dropped, whitespace collapsed, at most 500 characters.
fn page_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_is_unpadded_base64url_of_sha256() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad (FIPS 180-2).
        assert_eq!(s256("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        let pair = pkce();
        assert_eq!(pair.verifier.len(), 64);
        assert_eq!(pair.challenge, s256(&pair.verifier));
    }

    #[test]
    fn parses_the_provider_forms() {
        let login = r#"<form autocomplete="off" action="/interaction/abc" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">"#;
        let form = parse_form(login).unwrap();
        assert_eq!(form.action, "/interaction/abc");
        assert_eq!(form.fields, vec![("prompt".to_string(), "login".to_string())]);
        let logout = r#"<form id="op.logoutForm" method="post" action="http://127.0.0.1:1/session/end/confirm"><input type="hidden" name="xsrf" value="a&amp;b&#39;c"/></form>"#;
        let form = parse_form(logout).unwrap();
        assert_eq!(form.action, "http://127.0.0.1:1/session/end/confirm");
        assert_eq!(form.fields, vec![("xsrf".to_string(), "a&b'c".to_string())]);
        assert!(parse_form("<p>Sign-out Success</p>").is_none());
    }
}
