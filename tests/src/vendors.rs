//! A reference booking backend on loopback that the registry under test federates, as `make
//! demo` runs it: its own database, vendor.v1 and REST on one port, its units read from the
//! registry and registered in the vendor directory.

use std::sync::Arc;
use std::time::Duration;

use reference_booking::grpc::{ApiKeys, BookingGrpc};
use reference_booking::hours::Hours;
use reference_booking::{Backend, server};
use serde_json::Value;

use crate::{TestApp, TestDb};

/// A running reference backend.
pub struct ReferenceVendor {
    /// Its use cases (a case officer's decisions, its units).
    pub backend: Backend,
    /// Its database.
    pub db: TestDb,
    /// Its endpoint.
    pub url: String,
}

/// A reference backend named `name` that takes on `municipalities` in the registry of `app`
/// (every bookable unit there, registered and mapped in the vendor directory).
pub async fn reference_vendor(app: &TestApp, municipalities: &[&str], name: &str) -> ReferenceVendor {
    crate::rustls_provider();
    let admin_key = app.key("admin", None, false).await;
    let db = TestDb::empty().await;
    reference_booking::db::migrate(&db.url).await.expect("migrate the backend's database");
    let backend = Backend::new(
        registry_core::db::pool(&db.url, 16).expect("a pool"),
        Arc::new(Hours::new(Some(app.base.clone()), Duration::from_secs(300))),
    )
    .with_clock(crate::clock());
    let server_app = server::app(backend.clone(), BookingGrpc::new(backend.clone(), ApiKeys::default(), None).allow_anonymous(), "")
        .await
        .expect("the backend's app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(server::serve(listener, server_app, std::future::pending()));
    let setup = reference_booking::demo::DemoSetup {
        registry: app.base.clone(),
        admin_key,
        municipalities: municipalities.iter().map(|m| m.to_string()).collect(),
        name: name.into(),
        endpoint: url.clone(),
    };
    reference_booking::demo::setup(&backend, &setup).await.expect("the backend takes on its municipalities");
    ReferenceVendor { backend, db, url }
}

/// The first sports hall of `municipality` that search finds, and its first unit: (facility,
/// unit) ids.
pub async fn hall(app: &TestApp, municipality: &str) -> (String, String) {
    let url = app.url(&format!("/v1/search/facilities?municipalities={municipality}&categories=sports_hall"));
    let found: Value = app.http().get(url).send().await.expect("search answers").json().await.expect("JSON");
    let f = &found["hits"][0]["facility"];
    (f["id"].as_str().expect("a hall").to_string(), f["units"][0]["id"].as_str().expect("a unit").to_string())
}
