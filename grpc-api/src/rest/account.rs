//! Signing in and out, and who the caller is.
//!
//! - `GET /auth/providers`: the configured identity providers and their sign-in links.
//! - `GET /auth/session`: for the site's own pages: whether a person is signed in (as
//!   `/v1/me` says), else the providers to sign in with; 200 either way, so a page that only
//!   asks logs no error.
//! - `GET /auth/login?provider=…&returnTo=/…`: to the provider (authorization code + PKCE).
//! - `GET /auth/callback?code=…&state=…`: back from the provider; sets the session cookie and
//!   sends the browser to `returnTo`.
//! - `POST /auth/logout` (with `X-CSRF-Token`): ends the session; answers where to send the
//!   browser to end the provider's session too (RP-initiated logout).
//! - `GET /v1/me`: who the caller is, with a browser session's CSRF token.
//! - `GET /v1/me/personal-data`: everything the registry holds about the signed-in person
//!   (a JSON download); `DELETE` erases what need not be kept and signs them out everywhere.
//!
//! The protocol is in [`crate::oidc`]; sessions and sign-ins in progress are the core's
//! (`registry_core::service::sessions`).

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use registry_core::Registry;
use registry_core::auth::Principal;
use registry_core::service::sessions::LiveSession;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use super::problem::Errors;
use crate::errors::ApiError;
use crate::oidc::Oidc;

/// The routes.
pub fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/me", get(get_me))
        .route("/v1/me/personal-data", get(get_personal_data).delete(erase_personal_data))
        .route("/auth/providers", get(providers))
        .route("/auth/session", get(session_state))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
}

/// A browser session, as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The identity provider signed in with.
    provider: String,
    /// When the session ends at the latest.
    expires_at: DateTime<Utc>,
    /// When it ends if unused.
    idle_until: DateTime<Utc>,
    /// Send this in `X-CSRF-Token` with every request that changes something (and with
    /// `POST /auth/logout`).
    csrf_token: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The caller's id in audit trails: `person:…` (a hash, never the personal identity
    /// number), `key:…` or `cert:…`.
    id: String,
    /// `resident`, `editor`, `vendor`, `national_body` or `admin`.
    role: String,
    /// A signed-in person's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The municipality an editor (a key, or signed-in staff) acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    municipality_code: Option<String>,
    /// The browser session the request came with.
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<SessionInfo>,
}

/// Who the caller is: a signed-in person (with their browser session's CSRF token), or the
/// holder of an API key or client certificate.
#[utoipa::path(get, path = "/v1/me", tag = "account", responses((status = 200, description = "The caller", body = Me), Errors))]
pub async fn get_me(Extension(p): Extension<Principal>, session: Option<Extension<LiveSession>>) -> ApiResult<Response> {
    registry_core::auth::require_key(&p, "seeing who you are")?;
    let mut res = Json(me(&p, session.map(|Extension(s)| s))).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Everything the registry holds about the signed-in person, as a JSON download (GDPR
/// article 15). The read is recorded in the audit log.
#[utoipa::path(get, path = "/v1/me/personal-data", tag = "account", responses((status = 200, description = "What the registry holds about you", body = registry_core::service::sessions::PersonalData), Errors))]
pub async fn get_personal_data(Extension(oidc): Extension<Oidc>, Extension(p): Extension<Principal>) -> ApiResult<Response> {
    let data = oidc.sessions().personal_data(&p).await?;
    let mut res = Json(data).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"personal-data.json\""));
    Ok(res)
}

/// Erases what the registry need not keep about the signed-in person (GDPR article 17): every
/// session, so they are signed out everywhere; the answer says what is kept and why.
#[utoipa::path(delete, path = "/v1/me/personal-data", tag = "account", responses((status = 200, description = "What was erased and what is kept", body = registry_core::service::sessions::Erasure), Errors))]
pub async fn erase_personal_data(Extension(oidc): Extension<Oidc>, Extension(p): Extension<Principal>) -> ApiResult<Response> {
    let erased = oidc.sessions().erase_personal_data(&p).await?;
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        oidc.cookie_name(),
        if oidc.secure_cookies() { "; Secure" } else { "" }
    );
    let mut res = Json(erased).into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(|e| registry_core::Error::Internal(e.to_string()))?);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Whether a person is signed in, for the site's own pages.
async fn session_state(
    Extension(oidc): Extension<Oidc>,
    Extension(p): Extension<Principal>,
    session: Option<Extension<LiveSession>>,
) -> Response {
    let body = match (&p.person, session) {
        (Some(_), Some(Extension(s))) => serde_json::json!({ "signedIn": true, "me": me(&p, Some(s)) }),
        _ => serde_json::json!({ "signedIn": false, "providers": oidc.providers() }),
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The caller as `/v1/me` shows it.
fn me(p: &Principal, session: Option<LiveSession>) -> Me {
    let municipality_code = p.municipality().map(str::to_string);
    Me {
        id: p.id.clone(),
        role: p.role.name().to_string(),
        name: p.person.as_ref().map(|person| person.name.clone()),
        municipality_code,
        session: session.map(|s| SessionInfo {
            provider: s.provider,
            expires_at: s.expires_at,
            idle_until: s.idle_until,
            csrf_token: s.csrf_token,
        }),
    }
}

/// The configured identity providers.
async fn providers(Extension(oidc): Extension<Oidc>) -> Response {
    Json(serde_json::json!({ "providers": oidc.providers() })).into_response()
}

/// Query of `GET /auth/login`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoginQuery {
    provider: String,
    return_to: Option<String>,
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => return ApiError::Core(registry_core::Error::Internal("a redirect that is not a header value".into())).into_response(),
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Sends the browser to the provider.
async fn login(
    Extension(oidc): Extension<Oidc>,
    q: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = super::query(q)?;
    let url = oidc.login_url(&q.provider, q.return_to.as_deref().unwrap_or("/")).await?;
    Ok(see_other(&url))
}

/// Query of `GET /auth/callback`: the provider's answer.
#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Back from the provider: starts the session.
async fn callback(
    Extension(oidc): Extension<Oidc>,
    q: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let q = super::query(q)?;
    if let Some(error) = q.error {
        // The state is taken all the same, so it cannot be used again.
        if let Some(state) = &q.state {
            let _ = oidc.sessions().take_login(state).await;
        }
        let description: String = q.error_description.unwrap_or_default().chars().filter(|c| !c.is_control()).take(300).collect();
        return Err(registry_core::Error::Unauthenticated(
            format!("the identity provider did not sign you in: {error} {description}").trim().to_string(),
        )
        .into());
    }
    let signed_in = oidc.callback(q.code.as_deref().unwrap_or(""), q.state.as_deref().unwrap_or("")).await?;
    let max_age = (signed_in.session.expires_at - Utc::now()).num_seconds().max(0);
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        oidc.cookie_name(),
        signed_in.session.token,
        if oidc.secure_cookies() { "; Secure" } else { "" }
    );
    let mut res = see_other(&signed_in.return_to);
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| registry_core::Error::Internal(e.to_string()))?);
    Ok(res)
}

/// Where the browser goes after signing out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedOut {
    /// The provider's end-session page (or the start page).
    redirect: String,
}

/// Ends the browser's session (its CSRF token was checked by the middleware).
async fn logout(Extension(oidc): Extension<Oidc>, session: Option<Extension<LiveSession>>) -> ApiResult<Response> {
    let redirect = match session {
        Some(Extension(s)) => {
            oidc.sessions().revoke(s.id).await?;
            oidc.logout_url(&s.provider).await
        }
        None => "/".to_string(),
    };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        oidc.cookie_name(),
        if oidc.secure_cookies() { "; Secure" } else { "" }
    );
    let mut res = Json(SignedOut { redirect }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(|e| registry_core::Error::Internal(e.to_string()))?);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
