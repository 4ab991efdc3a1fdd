//! mTLS from the registry to a vendor fails closed: a vendor certificate from another CA, no
//! client certificate, or one from a CA the vendor does not trust, and nothing reaches it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use federation::fault::{FaultVendor, Faults};
use federation::grpc::{Connection, GrpcVendor};
use federation::{Federation, Policy, Status, pb};
use prost_types::Timestamp;
use tests::pki::{ca, leaf};

fn request(units: &[&str]) -> pb::CheckAvailabilityRequest {
    let start = 1_796_313_600;
    pb::CheckAvailabilityRequest {
        unit_refs: units.iter().map(|u| u.to_string()).collect(),
        start: Some(Timestamp { seconds: start, nanos: 0 }),
        end: Some(Timestamp { seconds: start + 6 * 3600, nanos: 0 }),
        ..Default::default()
    }
}

fn quiet_policy() -> Policy {
    Policy { hedge_after: None, cache_ttl: Duration::ZERO, ..Policy::default() }
}

#[tokio::test]
async fn mtls_to_vendors_fails_closed() {
    let vendor_ca = ca("Vendor CA");
    let registry_ca = ca("Registry client CA");
    let other_ca = ca("Someone else");
    let v = FaultVendor::new(vec!["hall-a".into()], Faults::default(), 3);
    let addr = v.clone().serve_tls(leaf(&vendor_ca, &["localhost"]), Some(registry_ca.pem.clone())).await;
    let endpoint = format!("https://localhost:{}", addr.port());
    let ask = |c: Connection| async move {
        let fed = Federation::new();
        fed.add_vendor("v", Arc::new(GrpcVendor::connect_lazy(&c).unwrap()), quiet_policy());
        fed.check("v", request(&["hall-a"]), Instant::now() + Duration::from_secs(2)).await.status
    };
    let good = Connection {
        endpoint: endpoint.clone(),
        ca_pem: Some(vendor_ca.pem.clone()),
        client_identity: Some(leaf(&registry_ca, &["registry"])),
        ..Default::default()
    };
    assert_eq!(ask(good.clone()).await, Status::Ok, "the right CA and a client certificate");
    let wrong_ca = Connection { ca_pem: Some(other_ca.pem.clone()), ..good.clone() };
    assert!(matches!(ask(wrong_ca).await, Status::Error { .. } | Status::Timeout), "a server certificate from another CA is refused");
    let no_client_cert = Connection { client_identity: None, ..good.clone() };
    assert!(matches!(ask(no_client_cert).await, Status::Error { .. } | Status::Timeout), "no client certificate: refused by the vendor");
    let foreign_client = Connection { client_identity: Some(leaf(&other_ca, &["registry"])), ..good };
    assert!(matches!(ask(foreign_client).await, Status::Error { .. } | Status::Timeout));
    assert_eq!(v.availability_calls(), 1, "only the authenticated call reached the vendor");
}
