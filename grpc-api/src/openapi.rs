//! The OpenAPI 3.1 document of the REST API, generated from the handlers and types. It is
//! served at `/openapi.json` and committed as `grpc-api/openapi.json`; a test fails when the
//! committed file is stale (regenerate with `make openapi`).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::rest::associations::AssociationPatch;
use crate::rest::facilities::FacilityPatch;
use crate::rest::problem::{Problem, ProblemViolation};
use crate::rest::{
    account, allocation, associations, availability, bookings, changes, exports, facilities, grants, hours, municipalities, registrations,
    representatives, search, vendors,
};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))));
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gemensamma informationstjänster: registry API",
        version = "1",
        description = "The national registry of municipal culture and leisure facilities (anläggningar), their units (lokaler), associations (föreningar) and municipalities (kommuner). Reads are public; writes need an API key (x-api-key or Authorization: Bearer rk_…), or a signed-in person: a browser session from /auth/login (Swedish eID through OpenID Connect; state-changing requests then carry X-CSRF-Token from GET /v1/me) or an app's OpenID Connect access token (Authorization: Bearer, a JWT for this registry). Field names and enum values are those of the registry.v1 protos (proto3 JSON). See docs/api.md."
    ),
    paths(
        account::get_me,
        account::get_personal_data,
        account::erase_personal_data,
        municipalities::list_municipalities,
        municipalities::get_municipality,
        municipalities::get_municipality_boundary,
        facilities::list_facilities,
        facilities::create_facility,
        facilities::batch_get_facilities,
        facilities::get_facility,
        facilities::patch_facility,
        facilities::delete_facility,
        associations::list_associations,
        associations::create_association,
        associations::get_association_by_org_number,
        associations::get_association,
        associations::patch_association,
        associations::delete_association,
        associations::approve,
        associations::reject,
        associations::request_completion,
        registrations::list_registrations,
        registrations::add_registration,
        registrations::approve,
        registrations::reject,
        registrations::request_completion,
        registrations::resubmit,
        registrations::withdraw,
        registrations::inbox,
        registrations::my_associations,
        representatives::list_representatives,
        representatives::add_representative,
        representatives::remove_representative,
        representatives::list_member_statistics,
        representatives::report_member_statistics,
        hours::get_hours,
        hours::put_hours,
        hours::intervals,
        hours::open_status,
        hours::holidays,
        search::search_facilities,
        search::search_associations,
        vendors::list_vendors,
        vendors::get_vendor,
        vendors::patch_vendor,
        vendors::delete_vendor,
        vendors::run_vendor_checks,
        vendors::certification_runs,
        vendors::certified_vendors,
        vendors::override_certification,
        vendors::clear_override,
        vendors::vendor_units,
        vendors::create_vendor,
        vendors::set_unit_vendor,
        vendors::clear_unit_vendor,
        availability::availability,
        bookings::create_booking,
        bookings::my_bookings,
        bookings::get_booking,
        bookings::cancel_booking,
        bookings::move_booking,
        bookings::complete_request,
        bookings::set_reminders,
        bookings::booking_calendar,
        bookings::create_calendar_feed,
        bookings::revoke_calendar_feed,
        bookings::calendar_feed,
        exports::export,
        changes::feed,
        changes::audit,
        changes::history,
        allocation::list_rounds,
        allocation::create_round,
        allocation::get_round,
        allocation::update_round,
        allocation::list_applications,
        allocation::submit_application,
        allocation::withdraw,
        allocation::list_runs,
        allocation::create_run,
        allocation::get_run,
        allocation::edit_run,
        allocation::publish,
        allocation::finalise,
        allocation::comment,
        allocation::list_comments,
        allocation::public_allocation,
        allocation::public_allocation_csv,
        allocation::list_series,
        allocation::retry_series,
        allocation::list_matches,
        allocation::request_match,
        allocation::withdraw_match,
        allocation::run_matches,
        allocation::decide_matches,
        grants::list_programmes,
        grants::create_programme,
        grants::get_programme,
        grants::update_programme,
        grants::create_application,
        grants::list_applications,
        grants::get_application,
        grants::update_application,
        grants::submit,
        grants::withdraw,
        grants::add_attachment,
        grants::get_attachment,
        grants::delete_attachment,
        grants::add_attendance,
        grants::delete_attendance,
        grants::request_completion,
        grants::assess,
        grants::decide,
        grants::list_orders,
        grants::prepare_order,
        grants::get_order,
        grants::attest_order,
        grants::cancel_order,
        grants::payment_file,
        grants::public_decisions,
        grants::public_decisions_csv,
        grants::statistics,
    ),
    components(schemas(Problem, ProblemViolation, FacilityPatch, AssociationPatch)),
    modifiers(&Security),
    tags(
        (name = "account", description = "Who the caller is: a signed-in person (Swedish eID) or the holder of a key"),
        (name = "municipalities", description = "Sweden's 290 municipalities (kommuner) and 21 counties (län)"),
        (name = "facilities", description = "Facilities (anläggningar) and their bookable units (lokaler)"),
        (name = "associations", description = "Associations (föreningar) and their registration with the municipality"),
        (name = "search", description = "Search across municipal borders"),
        (name = "opening hours", description = "Opening hours (öppettider) in Europe/Stockholm, and the Swedish calendar"),
        (name = "vendors", description = "The vendor directory: booking vendors (leverantörer) and the units they book"),
        (name = "availability", description = "Free times across municipal borders, from every municipality's booking vendor at once"),
        (name = "bookings", description = "A signed-in person's bookings across every booking system: see, cancel, rebook, answer completion requests"),
        (name = "exports", description = "Bulk exports of associations and facilities: one consistent snapshot, streamed"),
        (name = "changes", description = "Following changes: RPDE feeds, the audit trail, and each facility's public history"),
        (name = "grants", description = "Grants (föreningsbidrag): programmes and their rules, applications with attachments and attendance lists, handling and decisions, payment orders attested by a second person with their ISO 20022 pain.001 files, and the decided grants as open data"),
        (name = "allocation", description = "Seasonal allocation of training times (säsongsfördelning): rounds, published principles, applications, runs with every decision explained, the allocation meeting and the final allocation as open data"),
    )
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline (the committed form).
pub fn json() -> String {
    let mut s = document().to_pretty_json().expect("the document serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// The committed `grpc-api/openapi.json` must be what the code generates (run `make openapi`).
    #[test]
    fn the_committed_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(committed == super::json(), "grpc-api/openapi.json is stale: run `make openapi` and commit it");
    }

    /// Paths the REST side serves that are deliberately not in the document: the resident web
    /// pages and the operations routes (`/metrics` is added outside `rest_routes`, beside the
    /// route tagging, and is not listed by it). Every other routed path must be documented.
    const UNDOCUMENTED: [&str; 17] = [
        "/",
        "/facility/{}",
        "/bookings",
        "/associations",
        "/staff",
        "/allocation",
        "/grants",
        "/web/{}",
        "/healthz",
        "/readyz",
        "/problems/{}",
        "/openapi.json",
        "/auth/providers",
        "/auth/session",
        "/auth/login",
        "/auth/callback",
        "/auth/logout",
    ];

    /// `{anything}` → `{}`: the router and the document may name a parameter differently
    /// (`{org_number}` / `{orgNumber}`); routing only sees that there is one.
    fn template(path: &str) -> String {
        let mut out = String::new();
        let mut in_param = false;
        for c in path.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                c if !in_param => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// The paths of `router`. axum has no API that lists routes, but its `Debug` output names
    /// every path (`Node { paths: {RouteId(n): "/…", …} }`, the path router first, before the
    /// fallback router). Should that output change, this list comes out empty or wrong and the
    /// comparison with the document fails; it cannot pass by accident.
    fn routed_paths(router: &axum::Router<registry_core::Registry>) -> std::collections::BTreeSet<String> {
        let debug = format!("{router:?}");
        let start = debug.find("Node { paths: {").expect("axum's Router Debug names its paths") + "Node { paths: {".len();
        let mut paths = std::collections::BTreeSet::new();
        let mut chars = debug[start..].chars();
        while let Some(c) = chars.next() {
            match c {
                '}' => break,
                '"' => {
                    let path: String = chars.by_ref().take_while(|c| *c != '"').collect();
                    paths.insert(path);
                }
                _ => {}
            }
        }
        paths
    }

    /// Asks the router about `path` (parameters filled in) with a method no route takes: a
    /// routed path answers 405 with the route it matched and its methods in `Allow`; an
    /// unrouted one 404.
    async fn probe(router: &axum::Router, path: &str) -> (u16, Option<String>, std::collections::BTreeSet<String>) {
        use tower::ServiceExt;
        let concrete = template(path).replace("{}", "p1");
        let request = axum::http::Request::builder().method("TRACE").uri(&concrete).body(axum::body::Body::empty()).unwrap();
        let res = router.clone().oneshot(request).await.unwrap();
        let matched = res.headers().get("x-matched-path").map(|v| v.to_str().unwrap().to_string());
        let allow = res.headers().get(axum::http::header::ALLOW).map_or("", |v| v.to_str().unwrap());
        let methods = allow.split(',').map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty() && m != "head").collect();
        (res.status().as_u16(), matched, methods)
    }

    /// The router and the document describe the same API: every routed path outside
    /// [`UNDOCUMENTED`] is documented, every documented path is routed, and on each path the
    /// router takes exactly the methods the document lists.
    #[tokio::test]
    async fn the_router_and_the_document_have_the_same_paths_and_methods() {
        use std::collections::{BTreeMap, BTreeSet};
        let routes = crate::server::rest_routes(crate::web::WebConfig::default()).unwrap();
        let routed: BTreeSet<String> = routed_paths(&routes).iter().map(|p| template(p)).collect();
        let doc = super::document();
        let documented: BTreeMap<String, BTreeSet<String>> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let item = serde_json::to_value(item).unwrap();
                let methods = ["get", "put", "post", "delete", "patch", "options", "trace"];
                (template(path), methods.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_string()).collect())
            })
            .collect();

        let excluded: BTreeSet<String> = UNDOCUMENTED.iter().map(|p| p.to_string()).collect();
        let stale: Vec<_> = excluded.difference(&routed).collect();
        assert!(stale.is_empty(), "UNDOCUMENTED names paths that are not routed: {stale:?} (routed: {routed:?})");
        let undocumented: Vec<_> = routed.iter().filter(|p| !excluded.contains(*p) && !documented.contains_key(*p)).collect();
        assert!(undocumented.is_empty(), "routed but not in the OpenAPI document: {undocumented:?}");
        let unrouted: Vec<_> = documented.keys().filter(|p| !routed.contains(*p)).collect();
        assert!(unrouted.is_empty(), "in the OpenAPI document but not routed: {unrouted:?}");
        assert!(documented.keys().all(|p| p.starts_with("/v1/")) && excluded.iter().all(|p| !p.starts_with("/v1")));

        // Methods, asked of the router itself (state for the handlers, which never run: no
        // route takes TRACE; the database is never connected to).
        let registry = registry_core::Registry::connect("postgres://nobody@127.0.0.1:9/none", 1).unwrap();
        let router = routes.with_state(registry).layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| async move {
                let matched = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_string());
                let mut res = next.run(req).await;
                if let Some(m) = matched {
                    res.headers_mut().insert("x-matched-path", m.parse().unwrap());
                }
                res
            },
        ));
        for (path, methods) in &documented {
            let (status, matched, allowed) = probe(&router, path).await;
            assert_eq!(status, 405, "{path}");
            assert_eq!(matched.as_deref().map(template).as_deref(), Some(path.as_str()), "{path} is served by another route");
            assert_eq!(&allowed, methods, "{path}: the router's methods (left) and the document's (right)");
        }
        assert_eq!(probe(&router, "/v1/no-such-resource").await.0, 404, "the probe tells routed from unrouted");
    }
}
