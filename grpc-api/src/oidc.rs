//! Sign-in with Swedish eID through OpenID Connect, as Swedish e-services reach BankID and
//! Freja through an eID broker or Sweden Connect's OpenID Connect profile.
//!
//! The registry is a relying party of one or more configured providers (`--oidc-provider`):
//!
//! - **Browsers**: `GET /auth/login?provider=…&returnTo=/…` redirects to the provider with the
//!   authorization code flow, PKCE (S256), a `state` and a `nonce` (kept server-side, good
//!   once, for ten minutes); `GET /auth/callback` exchanges the code, validates the ID token
//!   (signature by the provider's published keys, issuer, audience, expiry, issued-at, nonce,
//!   an algorithm allow-list) and starts a server-side session (`sessions` in the core) whose
//!   random token goes into an HttpOnly, SameSite=Lax cookie (Secure, and `__Host-`, unless the
//!   public URL is plain http). `POST /auth/logout` ends the session and sends the browser to
//!   the provider's `end_session_endpoint` (RP-initiated logout).
//! - **Apps** send the provider's access token as `Authorization: Bearer` on REST and gRPC. It
//!   must be a JWT access token (RFC 9068) for this registry (`aud` = `--oidc-audience`),
//!   validated like an ID token but without a nonce, with `typ` `at+jwt` (or none).
//!
//! Both end in the same person: the personal identity number claim
//! `https://id.oidc.se/claim/personalIdentityNumber`, checked (date, check digit) and turned
//! into the peppered person reference; the name from `name` or `given_name` + `family_name`.
//! Keys are fetched with discovery and again, at most every [`JWKS_REFRESH_MIN`], when a token
//! names a key id not yet seen (key rotation). All JWT checks are `openidconnect`'s.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeyUse, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IdTokenVerifier, IssuerUrl, JsonWebKeySetUrl, LogoutRequest,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, Scope, TokenResponse,
};
use registry_core::Error;
use registry_core::auth::{Person, Principal};
use registry_core::service::sessions::{PendingLogin, Sessions};
use serde::{Deserialize, Serialize};

/// The Swedish eID claim of the personal identity number.
pub const PIN_CLAIM: &str = "https://id.oidc.se/claim/personalIdentityNumber";
/// Sweden Connect's scope that releases it.
pub const PIN_SCOPE: &str = "https://id.oidc.se/scope/naturalPersonNumber";
/// A provider's keys are fetched again for an unknown key id at most this often.
pub const JWKS_REFRESH_MIN: Duration = Duration::from_secs(10);
/// Clock skew allowed on `iat` and `nbf`.
const SKEW: chrono::Duration = chrono::Duration::seconds(60);
/// Longest a call to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a provider.
const PROVIDER_BODY_LIMIT: usize = 1 << 20;

/// One configured provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Short name in URLs and sessions, e.g. `bankid` (lowercase letters, digits, `-`).
    pub name: String,
    /// What people see on the sign-in button, e.g. "BankID".
    pub display_name: String,
    /// The issuer URL (discovery is at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// This registry's client id at the provider.
    pub client_id: String,
    /// Its client secret, if the provider gave one (read from a file, never a flag's value).
    pub client_secret: Option<String>,
}

impl ProviderConfig {
    /// Parses `name=bankid,issuer=https://…,client-id=…[,client-secret-file=/path][,display-name=BankID]`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| anyhow::anyhow!("'{part}' is not key=value"))?;
            if fields.insert(k.trim(), v.trim()).is_some() {
                anyhow::bail!("'{k}' is given twice");
            }
        }
        let take = |k: &str| fields.get(k).map(|v| v.to_string());
        let known = ["name", "issuer", "client-id", "client-secret-file", "display-name"];
        if let Some(k) = fields.keys().find(|k| !known.contains(k)) {
            anyhow::bail!("unknown key '{k}' (known: {})", known.join(", "));
        }
        let name = take("name").ok_or_else(|| anyhow::anyhow!("name= is required"))?;
        if name.is_empty() || name.len() > 40 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            anyhow::bail!("name '{name}' must be 1-40 lowercase letters, digits or '-'");
        }
        let issuer = take("issuer").ok_or_else(|| anyhow::anyhow!("issuer= is required"))?;
        IssuerUrl::new(issuer.clone()).map_err(|e| anyhow::anyhow!("issuer '{issuer}' is not a URL: {e}"))?;
        let client_id = take("client-id").ok_or_else(|| anyhow::anyhow!("client-id= is required"))?;
        let client_secret = match take("client-secret-file") {
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("cannot read client-secret-file {path}: {e}"))?
                    .trim()
                    .to_string(),
            ),
            None => None,
        };
        let display_name = take("display-name").unwrap_or_else(|| name.clone());
        Ok(ProviderConfig { name, display_name, issuer, client_id, client_secret })
    }
}

/// Sign-in configuration.
#[derive(Debug, Clone, Default)]
pub struct OidcConfig {
    /// The providers.
    pub providers: Vec<ProviderConfig>,
    /// The audience (`aud`) of access tokens for this registry; bearer tokens are refused
    /// without one.
    pub audience: Option<String>,
    /// The registry's public base URL: the callback is `{public_url}/auth/callback`.
    pub public_url: String,
}

/// The claims beyond the standard ones the registry reads: the personal identity number, and
/// an access token's `nbf` (not before).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SwedishClaims {
    /// The personal identity number.
    #[serde(rename = "https://id.oidc.se/claim/personalIdentityNumber", default, skip_serializing_if = "Option::is_none")]
    pub personal_identity_number: Option<String>,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl AdditionalClaims for SwedishClaims {}

type Token = IdToken<SwedishClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type Claims = IdTokenClaims<SwedishClaims, CoreGenderClaim>;

/// `end_session_endpoint`, which the core metadata does not carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogoutMetadata {
    /// RP-initiated logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// What discovery found, and the verifiers built once over the keys it fetched.
struct Discovered {
    metadata: Metadata,
    client: Client,
    /// ID tokens: audience the client id.
    id_tokens: IdTokenVerifier<'static, SigningKey>,
    /// Access tokens: audience `--oidc-audience`, `typ` at+jwt (or JWT, or none); None without an audience.
    access_tokens: Option<IdTokenVerifier<'static, SigningKey>>,
}

/// What a token is taken as.
#[derive(Clone, Copy)]
enum TokenKind<'n> {
    /// An ID token from the code exchange, with the nonce of its sign-in.
    Id(&'n Nonce),
    /// An access token an app sends.
    Access,
}

struct Provider {
    config: ProviderConfig,
    state: tokio::sync::RwLock<Option<Arc<Discovered>>>,
}

/// An HTTP client for the providers: no redirects, a deadline, a size limit.
#[derive(Clone)]
struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut req = self.0.request(parts.method, parts.uri.to_string()).body(body);
            for (k, v) in &parts.headers {
                req = req.header(k, v);
            }
            let mut res = req.send().await.map_err(|e| HttpError(format!("cannot reach the identity provider: {e}")))?;
            let mut builder = http::Response::builder().status(res.status());
            for (k, v) in res.headers() {
                builder = builder.header(k, v);
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(|e| HttpError(format!("reading the identity provider's answer: {e}")))? {
                if body.len() + chunk.len() > PROVIDER_BODY_LIMIT {
                    return Err(HttpError(format!("the identity provider's answer is larger than {PROVIDER_BODY_LIMIT} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|e| HttpError(e.to_string()))
        })
    }
}

/// The relying party: every configured provider, and the sessions it starts.
#[derive(Clone)]
pub struct Oidc {
    providers: Arc<Vec<Provider>>,
    audience: Option<String>,
    public_url: String,
    sessions: Sessions,
    http: Http,
    clock: registry_core::Clock,
    /// When each provider's keys were last fetched for an unknown key id.
    refreshed: Arc<RwLock<HashMap<String, Instant>>>,
}

/// Where a finished sign-in goes.
pub struct SignedIn {
    /// The session to set as a cookie.
    pub session: registry_core::service::sessions::NewSession,
    /// Where the browser goes next (a path on this site).
    pub return_to: String,
}

/// A provider, as the sign-in page lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    /// Its name, for `/auth/login?provider=`.
    pub name: String,
    /// What to show.
    pub display_name: String,
    /// The URL that starts signing in with it.
    pub login_url: String,
}

fn verify_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unauthenticated(format!("{what} is not valid: {e}"))
}

impl Oidc {
    /// A relying party of `config.providers`, starting sessions in `sessions`. Discovery runs
    /// in [`Oidc::discover_all`] and again on demand, so a provider that is down at start-up
    /// is used once it answers.
    pub fn new(config: OidcConfig, sessions: Sessions, clock: registry_core::Clock) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client for identity providers: {e}"))?;
        let mut names = std::collections::HashSet::new();
        for p in &config.providers {
            if !names.insert(p.name.clone()) {
                anyhow::bail!("two identity providers are named '{}'", p.name);
            }
        }
        let public_url = config.public_url.trim_end_matches('/').to_string();
        RedirectUrl::new(format!("{public_url}/auth/callback"))
            .map_err(|e| anyhow::anyhow!("the public URL '{public_url}' is not a URL: {e}"))?;
        Ok(Oidc {
            providers: Arc::new(config.providers.into_iter().map(|config| Provider { config, state: Default::default() }).collect()),
            audience: config.audience,
            public_url,
            sessions,
            http: Http(http),
            clock,
            refreshed: Arc::default(),
        })
    }

    /// Whether any provider is configured.
    pub fn enabled(&self) -> bool {
        !self.providers.is_empty()
    }

    /// The sessions this relying party starts.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Whether the session cookie is sent over https only.
    pub fn secure_cookies(&self) -> bool {
        !self.public_url.starts_with("http://")
    }

    /// The session cookie's name: `__Host-registry-session` when Secure (bound to this host and
    /// path `/`), else `registry-session`.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies() { "__Host-registry-session" } else { "registry-session" }
    }

    /// The configured providers and where each sign-in starts.
    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.providers
            .iter()
            .map(|p| ProviderInfo {
                name: p.config.name.clone(),
                display_name: p.config.display_name.clone(),
                login_url: format!("{}/auth/login?provider={}", self.public_url, p.config.name),
            })
            .collect()
    }

    /// Runs discovery for every provider, logging (not failing on) those that do not answer.
    pub async fn discover_all(&self) {
        for p in self.providers.iter() {
            match self.discovered(p).await {
                Ok(_) => tracing::info!(provider = %p.config.name, issuer = %p.config.issuer, "identity provider discovered"),
                Err(e) => {
                    tracing::warn!(provider = %p.config.name, error = %e, "identity provider not reachable yet; retried on the next sign-in")
                }
            }
        }
    }

    fn provider(&self, name: &str) -> Result<&Provider, Error> {
        self.providers.iter().find(|p| p.config.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.providers.iter().map(|p| p.config.name.as_str()).collect();
            Error::invalid(
                "provider",
                "unknown_code",
                if known.is_empty() {
                    "no identity provider is configured on this server".to_string()
                } else {
                    format!("'{name}' is not a configured identity provider (configured: {})", known.join(", "))
                },
            )
        })
    }

    async fn discovered(&self, p: &Provider) -> Result<Arc<Discovered>, Error> {
        if let Some(d) = p.state.read().await.as_ref() {
            return Ok(d.clone());
        }
        let mut slot = p.state.write().await;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let unavailable = |e: String| Error::Unavailable(format!("the identity provider '{}' cannot be reached: {e}", p.config.name));
        let issuer = IssuerUrl::new(p.config.issuer.clone()).map_err(|e| Error::Internal(e.to_string()))?;
        let metadata = Metadata::discover_async(issuer, &self.http).await.map_err(|e| unavailable(error_chain(&e)))?;
        let jwks: Keys = serde_json::to_value(metadata.jwks())
            .and_then(serde_json::from_value)
            .map_err(|e| unavailable(format!("its published keys cannot be read: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            // The core client reads only the core fields.
            openidconnect::core::CoreProviderMetadata::new(
                metadata.issuer().clone(),
                metadata.authorization_endpoint().clone(),
                metadata.jwks_uri().clone(),
                metadata.response_types_supported().clone(),
                metadata.subject_types_supported().clone(),
                metadata.id_token_signing_alg_values_supported().clone(),
                openidconnect::EmptyAdditionalProviderMetadata {},
            )
            .set_token_endpoint(metadata.token_endpoint().cloned())
            .set_userinfo_endpoint(metadata.userinfo_endpoint().cloned())
            .set_jwks(metadata.jwks().clone()),
            ClientId::new(p.config.client_id.clone()),
            p.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(format!("{}/auth/callback", self.public_url)).map_err(|e| Error::Internal(e.to_string()))?);
        let (id_tokens, access_tokens) = self.verifiers(p, &jwks);
        let d = Arc::new(Discovered { metadata, client, id_tokens, access_tokens });
        *slot = Some(d.clone());
        Ok(d)
    }

    /// Fetches a provider's keys again (a token named a key id not seen), at most every
    /// [`JWKS_REFRESH_MIN`]; whether new keys were fetched.
    async fn refresh_keys(&self, p: &Provider, d: &Discovered) -> Result<bool, Error> {
        {
            // However many tokens name unknown keys, the provider is asked at most this often.
            let mut refreshed = self.refreshed.write().expect("not poisoned");
            if refreshed.get(&p.config.name).is_some_and(|last| last.elapsed() < JWKS_REFRESH_MIN) {
                return Ok(false);
            }
            refreshed.insert(p.config.name.clone(), Instant::now());
        }
        let url: &JsonWebKeySetUrl = d.metadata.jwks_uri();
        let jwks = Keys::fetch_async(url, &self.http).await.map_err(|e| {
            Error::Unavailable(format!("the identity provider '{}' keys cannot be fetched: {}", p.config.name, error_chain(&e)))
        })?;
        let client = d.client.clone();
        let (id_tokens, access_tokens) = self.verifiers(p, &jwks);
        let fresh = Arc::new(Discovered { metadata: d.metadata.clone(), client, id_tokens, access_tokens });
        *p.state.write().await = Some(fresh);
        tracing::info!(provider = %p.config.name, "identity provider keys fetched again (a token named an unknown key)");
        Ok(true)
    }

    /// The ID-token and access-token verifiers of provider `p` over `jwks`.
    fn verifiers(&self, p: &Provider, jwks: &Keys) -> (IdTokenVerifier<'static, SigningKey>, Option<IdTokenVerifier<'static, SigningKey>>) {
        let id_tokens = self.verifier(&p.config.client_id, p, jwks);
        let access_tokens = self.audience.as_ref().map(|audience| {
            self.verifier(audience, p, jwks).set_allowed_jose_types(
                ["at+jwt", "application/at+jwt", "jwt", "application/jwt"]
                    .iter()
                    .filter_map(|t| openidconnect::JsonWebTokenType::new(t.to_string()).normalize().ok()),
            )
        });
        (id_tokens, access_tokens)
    }

    fn verifier(&self, client_id: &str, p: &Provider, jwks: &Keys) -> IdTokenVerifier<'static, SigningKey> {
        let clock = self.clock.clone();
        let clock2 = self.clock.clone();
        let issuer = IssuerUrl::new(p.config.issuer.clone()).expect("checked when configured");
        let base = match &p.config.client_secret {
            Some(secret) if client_id == p.config.client_id => IdTokenVerifier::new_confidential_client(
                ClientId::new(client_id.into()),
                ClientSecret::new(secret.clone()),
                issuer,
                jwks.clone(),
            ),
            _ => IdTokenVerifier::new_public_client(ClientId::new(client_id.into()), issuer, jwks.clone()),
        };
        base.set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            CoreJwsSigningAlgorithm::EdDsa,
        ])
        .set_time_fn(move || clock.now())
        .set_issue_time_verifier_fn(
            move |iat| {
                if iat > clock2.now() + SKEW { Err(format!("issued in the future ({iat})")) } else { Ok(()) }
            },
        )
    }

    /// Verifies `raw` as a token of `kind` from provider `p`, fetching the provider's keys
    /// again once if the token names a key id it has not seen.
    async fn verify(&self, p: &Provider, raw: &str, kind: TokenKind<'_>, what: &str) -> Result<Claims, Error> {
        let token: Token = raw.parse().map_err(|e: serde_json::Error| verify_error(what, error_chain(&e)))?;
        let mut d = self.discovered(p).await?;
        for attempt in 0..2 {
            let result = match kind {
                TokenKind::Id(nonce) => token.claims(&d.id_tokens, nonce),
                TokenKind::Access => match &d.access_tokens {
                    Some(verifier) => token.claims(verifier, |_: Option<&Nonce>| Ok(())),
                    None => {
                        return Err(Error::Unauthenticated(
                            "this server accepts no access tokens (no --oidc-audience); use an API key".into(),
                        ));
                    }
                },
            };
            match result {
                Ok(claims) => {
                    if let Some(nbf) = claims.additional_claims().nbf
                        && DateTime::<Utc>::from_timestamp(nbf, 0).is_none_or(|t| t > self.clock.now() + SKEW)
                    {
                        return Err(verify_error(what, "it is not valid yet (nbf)"));
                    }
                    return Ok(claims.clone());
                }
                Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                    openidconnect::SignatureVerificationError::NoMatchingKey,
                )) => {
                    if attempt > 0 || !self.refresh_keys(p, &d).await? {
                        return Err(verify_error(what, "it is signed with a key the identity provider does not publish"));
                    }
                    d = self.discovered(p).await?;
                }
                Err(e) => return Err(verify_error(what, error_chain(&e))),
            }
        }
        Err(verify_error(what, "it is signed with a key the identity provider does not publish"))
    }

    /// Where the browser goes to sign in with `provider`, returning to `return_to` afterwards.
    pub async fn login_url(&self, provider: &str, return_to: &str) -> Result<String, Error> {
        let p = self.provider(provider)?;
        let d = self.discovered(p).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = Nonce::new_random();
        let state = self
            .sessions
            .begin_login(&PendingLogin {
                provider: p.config.name.clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                return_to: return_to.to_string(),
            })
            .await?;
        let (url, _, _) = d
            .client
            .authorize_url(AuthenticationFlow::<CoreResponseType>::AuthorizationCode, move || CsrfToken::new(state), move || nonce)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new(PIN_SCOPE.into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(url.to_string())
    }

    /// Finishes a sign-in: takes the `state` back (once), exchanges `code` with the PKCE
    /// verifier, validates the ID token with the nonce, and starts a session.
    pub async fn callback(&self, code: &str, state: &str) -> Result<SignedIn, Error> {
        let login = self.sessions.take_login(state).await?;
        let p = self.provider(&login.provider)?;
        let d = self.discovered(p).await?;
        if code.is_empty() || code.len() > 2000 {
            return Err(Error::Unauthenticated("the identity provider's answer has no authorization code".into()));
        }
        let request = d
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Error::Internal(format!("the identity provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()));
        let tokens = request.request_async(&self.http).await.map_err(|e| match &e {
            openidconnect::RequestTokenError::ServerResponse(r) => {
                Error::Unauthenticated(format!("the identity provider refused the sign-in: {}", r.error()))
            }
            openidconnect::RequestTokenError::Request(_) => {
                Error::Unavailable(format!("the identity provider cannot be reached: {}", error_chain(&e)))
            }
            _ => Error::Unauthenticated(format!("the identity provider's token answer is not valid: {}", error_chain(&e))),
        })?;
        let id_token = tokens.id_token().ok_or_else(|| Error::Unauthenticated("the identity provider sent no ID token".into()))?;
        let nonce = Nonce::new(login.nonce.clone());
        let claims = self.verify(p, &id_token.to_string(), TokenKind::Id(&nonce), "the ID token").await?;
        let person = self.person(&claims)?;
        let session = self.sessions.create(&person, &p.config.name).await?;
        tracing::info!(provider = %p.config.name, person = %registry_core::person::audit_id(&person.person_ref), "signed in");
        Ok(SignedIn { session, return_to: login.return_to })
    }

    fn person(&self, claims: &Claims) -> Result<Person, Error> {
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string())
            .or_else(|| {
                let given = claims.given_name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
                let family = claims.family_name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
                match (given, family) {
                    (None, None) => None,
                    (g, f) => Some([g, f].into_iter().flatten().collect::<Vec<_>>().join(" ")),
                }
            })
            .unwrap_or_default();
        self.sessions.person(claims.additional_claims().personal_identity_number.as_deref(), &name)
    }

    /// The person of a bearer access token (a JWT for this registry's audience) and when the
    /// token expires, trying each provider; `Unauthenticated` naming what is wrong.
    pub async fn access_token_person(&self, raw: &str) -> Result<(Person, DateTime<Utc>), Error> {
        if self.audience.is_none() {
            return Err(Error::Unauthenticated("this server accepts no access tokens (no --oidc-audience); use an API key".into()));
        }
        let mut first = None;
        for p in self.providers.iter() {
            match self.verify(p, raw, TokenKind::Access, "the access token").await {
                Ok(claims) => return Ok((self.person(&claims)?, claims.expiration())),
                Err(e @ Error::Unavailable(_)) => return Err(e),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.unwrap_or_else(|| Error::Unauthenticated("no identity provider is configured on this server".into())))
    }

    /// The principal of a bearer access token (with the role the data gives the person) and
    /// when the token expires.
    pub async fn bearer(&self, raw: &str) -> Result<(Principal, DateTime<Utc>), Error> {
        let (person, expires) = self.access_token_person(raw).await?;
        Ok((self.sessions.principal(person).await?, expires))
    }

    /// Where the browser goes after its session ended: the provider's end-session endpoint
    /// (RP-initiated logout, back to the public URL), or the site's start page.
    pub async fn logout_url(&self, provider: &str) -> String {
        let home = format!("{}/", self.public_url);
        let Ok(p) = self.provider(provider) else { return home };
        let Ok(d) = self.discovered(p).await else { return home };
        let Some(end) = d.metadata.additional_metadata().end_session_endpoint.clone() else { return home };
        let Ok(end) = openidconnect::url::Url::parse(&end) else { return home };
        let Ok(back) = PostLogoutRedirectUrl::new(home.clone()) else { return home };
        LogoutRequest::from(openidconnect::EndSessionUrl::from_url(end))
            .set_client_id(ClientId::new(p.config.client_id.clone()))
            .set_post_logout_redirect_uri(back)
            .http_get_url()
            .to_string()
    }
}

/// A provider's published keys.
type Keys = openidconnect::JsonWebKeySet<SigningKey>;

/// A provider's signing key: openidconnect's [`CoreJsonWebKey`] for everything the library
/// decides (which key a token names, whether its type, use and algorithm fit the token's
/// algorithm), with RSA and ECDSA signatures verified by ring, the crypto of the TLS stack, a
/// dozen times faster than the pure-Rust RSA of the core key (BENCHMARKS.md, sign-in).
#[derive(Debug, Clone)]
pub struct SigningKey {
    core: CoreJsonWebKey,
    /// The public key as ring reads it, when the key is one ring verifies.
    public: Option<Arc<RingPublic>>,
}

/// An RSA key's modulus and exponent, or an EC key's uncompressed point.
#[derive(Debug)]
enum RingPublic {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: &'static str, point: Vec<u8> },
}

impl Serialize for SigningKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        let core: CoreJsonWebKey = serde_json::from_value(value.clone()).map_err(D::Error::custom)?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
        };
        let public = match (value.get("kty").and_then(|v| v.as_str()), value.get("crv").and_then(|v| v.as_str())) {
            (Some("RSA"), _) => field("n").zip(field("e")).map(|(n, e)| RingPublic::Rsa { n, e }),
            (Some("EC"), Some(crv @ ("P-256" | "P-384"))) => field("x")
                .zip(field("y"))
                .map(|(x, y)| RingPublic::Ec { curve: if crv == "P-256" { "P-256" } else { "P-384" }, point: [vec![4u8], x, y].concat() }),
            _ => None,
        };
        Ok(SigningKey { core, public: public.map(Arc::new) })
    }
}

impl openidconnect::JsonWebKey for SigningKey {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&openidconnect::JsonWebKeyId> {
        self.core.key_id()
    }

    fn key_type(&self) -> &openidconnect::core::CoreJsonWebKeyType {
        self.core.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.core.key_use()
    }

    fn signing_alg(&self) -> openidconnect::JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.core.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        SigningKey { core: CoreJsonWebKey::new_symmetric(key), public: None }
    }

    fn verify_signature(
        &self,
        alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), openidconnect::SignatureVerificationError> {
        use CoreJwsSigningAlgorithm as A;
        use openidconnect::SignatureVerificationError as E;
        use ring::signature as sig;
        // The library's own check that this key may verify `alg` (type, curve, use, alg);
        // hashing nothing costs nothing else.
        self.core.hash_bytes(b"", alg).map_err(E::InvalidKey)?;
        let bad = |_| E::CryptoError("the signature does not match".into());
        match (alg, self.public.as_deref()) {
            (
                A::RsaSsaPkcs1V15Sha256
                | A::RsaSsaPkcs1V15Sha384
                | A::RsaSsaPkcs1V15Sha512
                | A::RsaSsaPssSha256
                | A::RsaSsaPssSha384
                | A::RsaSsaPssSha512,
                Some(RingPublic::Rsa { n, e }),
            ) => {
                let params: &sig::RsaParameters = match alg {
                    A::RsaSsaPkcs1V15Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    A::RsaSsaPkcs1V15Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    A::RsaSsaPkcs1V15Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    A::RsaSsaPssSha256 => &sig::RSA_PSS_2048_8192_SHA256,
                    A::RsaSsaPssSha384 => &sig::RSA_PSS_2048_8192_SHA384,
                    _ => &sig::RSA_PSS_2048_8192_SHA512,
                };
                sig::RsaPublicKeyComponents { n, e }.verify(params, message, signature).map_err(bad)
            }
            (A::EcdsaP256Sha256, Some(RingPublic::Ec { curve: "P-256", point })) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(message, signature).map_err(bad)
            }
            (A::EcdsaP384Sha384, Some(RingPublic::Ec { curve: "P-384", point })) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_FIXED, point).verify(message, signature).map_err(bad)
            }
            _ => self.core.verify_signature(alg, message, signature),
        }
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.core.hash_bytes(bytes, alg)
    }
}

/// An error and its sources, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_specs_are_parsed_and_checked() {
        let p = ProviderConfig::parse("name=bankid,issuer=https://eid.example/oidc,client-id=registry,display-name=BankID").unwrap();
        assert_eq!(
            (p.name.as_str(), p.display_name.as_str(), p.client_id.as_str(), p.client_secret),
            ("bankid", "BankID", "registry", None)
        );
        for (bad, why) in [
            ("issuer=https://x,client-id=c", "name= is required"),
            ("name=BankID,issuer=https://x,client-id=c", "lowercase"),
            ("name=a,client-id=c", "issuer= is required"),
            ("name=a,issuer=not a url,client-id=c", "not a URL"),
            ("name=a,issuer=https://x", "client-id= is required"),
            ("name=a,issuer=https://x,client-id=c,colour=red", "unknown key 'colour'"),
            ("name=a,name=b,issuer=https://x,client-id=c", "given twice"),
            ("name=a,issuer=https://x,client-id=c,client-secret-file=/nonexistent/secret", "cannot read"),
        ] {
            let e = ProviderConfig::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
