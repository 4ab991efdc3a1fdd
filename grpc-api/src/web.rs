//! The resident search page (`web/`): plain HTML, CSS and ES modules, embedded in the binary
//! and served at `/` (and at `/facility/{id}`, `/bookings`, `/associations`, `/staff`,
//! `/allocation` and `/grants`: the same page showing one facility, the signed-in person's
//! bookings, their associations, a municipality's staff inbox of association registrations, the
//! seasonal allocation of training times, and grants). No build step:
//! the files are served as written, compressed, with an ETag, and with a Content-Security-Policy
//! that allows nothing but this origin (and the optional map tile server).

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry_core::Registry;
use sha2::{Digest, Sha256};

use crate::errors::ApiError;

/// The page's files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("allocation.js", "text/javascript; charset=utf-8", include_bytes!("../../web/allocation.js")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../web/app.js")),
    ("associations.js", "text/javascript; charset=utf-8", include_bytes!("../../web/associations.js")),
    ("bookings.js", "text/javascript; charset=utf-8", include_bytes!("../../web/bookings.js")),
    ("grants.js", "text/javascript; charset=utf-8", include_bytes!("../../web/grants.js")),
    ("i18n.js", "text/javascript; charset=utf-8", include_bytes!("../../web/i18n.js")),
    ("map.js", "text/javascript; charset=utf-8", include_bytes!("../../web/map.js")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("../../web/style.css")),
    ("ui.js", "text/javascript; charset=utf-8", include_bytes!("../../web/ui.js")),
];

const INDEX: &str = include_str!("../../web/index.html");

/// How the page is served.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Map tiles, e.g. `https://tiles.example.se/{z}/{x}/{y}.png`; without it the map draws
    /// only our own GeoJSON (municipality borders and facility points).
    pub tile_url: Option<String>,
}

struct Asset {
    content_type: &'static str,
    body: Vec<u8>,
    etag: HeaderValue,
}

impl Asset {
    fn new(content_type: &'static str, body: Vec<u8>) -> Asset {
        let hash = Sha256::digest(&body);
        // Weak: the same content is sent gzip-compressed or not, as the client asks.
        let etag = format!("W/\"{}\"", hash.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>());
        Asset { content_type, body, etag: HeaderValue::from_str(&etag).expect("hex is a valid header value") }
    }

    fn respond(&self, req_headers: &HeaderMap, csp: &HeaderValue) -> Response {
        let tag = self.etag.to_str().unwrap_or_default().trim_start_matches("W/");
        let matches = req_headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*"));
        let mut res = if matches {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, self.content_type)], self.body.clone()).into_response()
        };
        let h = res.headers_mut();
        h.insert(header::ETAG, self.etag.clone());
        // Revalidated every time (a 304 is cheap), so a new release is seen at once.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        res
    }
}

struct Site {
    index: Asset,
    files: Vec<(&'static str, Asset)>,
    codes: Asset,
    csp: HeaderValue,
}

/// The code lists the page's forms need, with the main town of each municipality for "near a
/// place": one small cacheable file instead of three API calls.
static CODES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    use registry_core::codes;
    let code = |c: &codes::Code| serde_json::json!({"code": c.code, "sv": c.name_sv, "en": c.name_en});
    let centres = registry_core::outline::centres();
    let municipalities: Vec<serde_json::Value> = codes::municipalities()
        .iter()
        .map(|m| {
            let c = centres.iter().find(|c| c.0 == m.code);
            serde_json::json!({"code": m.code, "name": m.name, "county": m.county_name, "lat": c.map(|c| c.1), "lon": c.map(|c| c.2)})
        })
        .collect();
    let accessibility: Vec<&str> = registry_core::model::Accessibility::ALL.iter().map(|a| a.json_name()).collect();
    serde_json::to_vec(&serde_json::json!({
        "activities": codes::activities().iter().map(code).collect::<Vec<_>>(),
        "categories": codes::categories().iter().map(code).collect::<Vec<_>>(),
        "associationTypes": codes::association_types().iter().map(code).collect::<Vec<_>>(),
        "federations": codes::federations().iter().map(code).collect::<Vec<_>>(),
        "municipalities": municipalities,
        "accessibility": accessibility,
    }))
    .expect("the code lists serialise")
});

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The origin (`https://host[:port]`) of a tile URL template, for the CSP.
fn origin(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty() && !h.contains(['{', '}', ' ', '"', ';']))?;
    Some(format!("https://{host}"))
}

/// The routes of the page. A tile URL that is not `https://host/…{z}/{x}/{y}…` is refused.
pub fn router(config: WebConfig) -> anyhow::Result<Router<Registry>> {
    let tiles = match config.tile_url.as_deref().filter(|u| !u.trim().is_empty()) {
        None => None,
        Some(u) => {
            let o = origin(u).filter(|_| ["{z}", "{x}", "{y}"].iter().all(|p| u.contains(p)));
            Some((u.to_string(), o.ok_or_else(|| anyhow::anyhow!("--web-tile-url must be https://host/…/{{z}}/{{x}}/{{y}}…, got '{u}'"))?))
        }
    };
    let img = tiles.as_ref().map_or(String::new(), |(_, o)| format!(" {o}"));
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{img}; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let index = INDEX
        .replace("content=\"\" data-tile-url", &format!("content=\"{}\" data-tile-url", escape_attr(tiles.as_ref().map_or("", |t| &t.0))));
    let site = Arc::new(Site {
        index: Asset::new("text/html; charset=utf-8", index.into_bytes()),
        files: FILES.iter().map(|(n, ct, b)| (*n, Asset::new(ct, b.to_vec()))).collect(),
        codes: Asset::new("application/json", CODES.clone()),
        csp: HeaderValue::from_str(&csp)?,
    });
    let page = {
        let site = site.clone();
        move |req: Request| {
            let site = site.clone();
            async move { site.index.respond(req.headers(), &site.csp) }
        }
    };
    let file = move |Path(name): Path<String>, req: Request| {
        let site = site.clone();
        async move {
            if name == "codes.json" {
                return site.codes.respond(req.headers(), &site.csp);
            }
            match site.files.iter().find(|(n, _)| *n == name) {
                Some((_, a)) => a.respond(req.headers(), &site.csp),
                None => ApiError::RouteNotFound(format!("/web/{name}")).into_response(),
            }
        }
    };
    let gzip = tower_http::compression::CompressionLayer::new().gzip(true);
    // The other views are the same page: it reads which one from its URL (and the facility id).
    Ok(Router::new()
        .route("/", get(page.clone()))
        .route("/facility/{id}", get(page.clone()))
        .route("/bookings", get(page.clone()))
        .route("/associations", get(page.clone()))
        .route("/staff", get(page.clone()))
        .route("/allocation", get(page.clone()))
        .route("/grants", get(page))
        .route("/web/{name}", get(file))
        .layer(gzip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_urls_are_checked() {
        assert_eq!(origin("https://tiles.example.se/{z}/{x}/{y}.png").as_deref(), Some("https://tiles.example.se"));
        assert!(origin("http://tiles.example.se/{z}/{x}/{y}.png").is_none(), "https only");
        assert!(router(WebConfig { tile_url: Some("https://t.example.se/tiles.png".into()) }).is_err(), "no {{z}}/{{x}}/{{y}}");
        assert!(router(WebConfig { tile_url: Some("https://x\"; script-src *; /{z}/{x}/{y}".into()) }).is_err());
        assert!(router(WebConfig::default()).is_ok());
    }
}
