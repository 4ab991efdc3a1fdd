//! TLS and mTLS on the one port: REST over HTTP/1.1 and h2, gRPC over TLS, client
//! certificates from the right CA make the caller a vendor, others are refused.

use std::path::{Path, PathBuf};

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::facility_service_client::FacilityServiceClient;
use grpc_api::proto::v1::municipality_service_client::MunicipalityServiceClient;
use grpc_api::server::ServerConfig;
use grpc_api::server::tls::TlsFiles;
use tests::pki::{ca, leaf};
use tests::{TestApp, rustls_provider};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

struct Pki {
    _dir: TempDir,
    server_ca: String,
    files: TlsFiles,
    client: (String, String),
    stranger: (String, String),
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pki() -> Pki {
    let dir = std::env::temp_dir().join(format!("registry-tls-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let server_ca = ca("Registry test server CA");
    let client_ca = ca("Registry test vendor CA");
    let other_ca = ca("Someone else's CA");
    let (cert, key) = leaf(&server_ca, &["localhost", "127.0.0.1"]);
    let files = TlsFiles {
        cert: write(&dir, "server.pem", &cert),
        key: write(&dir, "server.key", &key),
        client_ca: Some(write(&dir, "clients-ca.pem", &client_ca.pem)),
    };
    Pki {
        server_ca: server_ca.pem.clone(),
        files,
        client: leaf(&client_ca, &["vendor.example"]),
        stranger: leaf(&other_ca, &["vendor.example"]),
        _dir: TempDir(dir),
    }
}

async fn tls_app(pki: &Pki) -> (TestApp, String) {
    rustls_provider();
    let app = TestApp::start_with(ServerConfig { tls: Some(pki.files.clone()), ..ServerConfig::default() }).await;
    let base = format!("https://localhost:{}", app.server.addr.port());
    (app, base)
}

fn https(pki: &Pki, identity: Option<&(String, String)>) -> reqwest::ClientBuilder {
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.server_ca.as_bytes()).unwrap())
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b
}

#[tokio::test]
async fn rest_over_tls_with_http1_and_h2() {
    let pki = pki();
    let (app, base) = tls_app(&pki).await;
    let h1 = https(&pki, None).http1_only().build().unwrap();
    let r = h1.get(format!("{base}/v1/municipalities/1881")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_11));
    let h2 = https(&pki, None).build().unwrap();
    let r = h2.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_2), "h2 negotiated by ALPN");
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", app.server.addr.port())).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP is not served on a TLS port");
}

#[tokio::test]
async fn grpc_over_tls_and_client_certificates() {
    let pki = pki();
    let (app, base) = tls_app(&pki).await;
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.server_ca)).domain_name("localhost");
    let endpoint = |tls: ClientTlsConfig| Endpoint::from_shared(base.clone()).unwrap().tls_config(tls).unwrap();

    // No client certificate: anonymous, reads work.
    let channel = endpoint(tls.clone()).connect().await.unwrap();
    let list = MunicipalityServiceClient::new(channel).list_municipalities(pb::ListMunicipalitiesRequest::default()).await.unwrap();
    assert_eq!(list.into_inner().municipalities.len(), 290);
    let f = pb::CreateFacilityRequest { facility: Some(pb::Facility { municipality_code: "0180".into(), ..Default::default() }) };
    let channel = endpoint(tls.clone()).connect().await.unwrap();
    assert_eq!(FacilityServiceClient::new(channel).create_facility(f.clone()).await.unwrap_err().code(), tonic::Code::Unauthenticated);

    // A certificate from the vendor CA: the caller is a vendor (known, but may not write).
    let identity = Identity::from_pem(&pki.client.0, &pki.client.1);
    let channel = endpoint(tls.clone().identity(identity)).connect().await.unwrap();
    assert_eq!(FacilityServiceClient::new(channel).create_facility(f).await.unwrap_err().code(), tonic::Code::PermissionDenied);
    let r = https(&pki, Some(&pki.client)).build().unwrap().get(format!("{base}/v1/facilities")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // A certificate from another CA is refused in the handshake.
    let stranger = Identity::from_pem(&pki.stranger.0, &pki.stranger.1);
    let refused = match endpoint(tls.identity(stranger)).connect().await {
        Err(_) => true,
        Ok(channel) => MunicipalityServiceClient::new(channel).list_municipalities(pb::ListMunicipalitiesRequest::default()).await.is_err(),
    };
    assert!(refused, "a certificate from the wrong CA was accepted");
    assert!(https(&pki, Some(&pki.stranger)).build().unwrap().get(format!("{base}/healthz")).send().await.is_err());
    drop(app);
}
