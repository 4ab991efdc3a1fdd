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

    // Plain HTTP on the TLS port: the server takes the connection but answers no HTTP at all,
    // only the TLS alert of a failed handshake, and closes.
    let port = app.server.addr.port();
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.expect_err("plain HTTP was answered");
    assert!(plain.is_request() && !plain.is_connect() && !plain.is_timeout() && plain.status().is_none(), "{plain:?}");
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    // Only a guard against a server that never closes; nothing here measures time.
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut answer));
    read.await.expect("the server closes the connection").expect("a clean close after the alert");
    // One TLS record (RFC 8446 §5.1): content type 21 (alert), legacy version 3.3, length 2;
    // the alert (§6) is fatal (2), decode_error (50): "GET /" is not a TLS record.
    assert_eq!(answer, [21, 3, 3, 0, 2, 2, 50], "the answer to plain HTTP is exactly one fatal TLS alert, then the close");
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

    // A certificate from another CA is refused in the handshake: the server sends the fatal
    // alert unknown_ca, and no request reaches a handler (not an HTTP or gRPC error answer).
    let chain = |e: &dyn std::error::Error| {
        let mut s = e.to_string();
        let mut src = e.source();
        while let Some(x) = src {
            s.push_str(" / ");
            s.push_str(&x.to_string());
            src = x.source();
        }
        s
    };
    let stranger = Identity::from_pem(&pki.stranger.0, &pki.stranger.1);
    let refusal = match endpoint(tls.identity(stranger)).connect().await {
        Err(e) => chain(&e),
        Ok(channel) => {
            let s = MunicipalityServiceClient::new(channel)
                .list_municipalities(pb::ListMunicipalitiesRequest::default())
                .await
                .expect_err("a certificate from the wrong CA was accepted");
            format!("{} / {}", s.message(), std::error::Error::source(&s).map(chain).unwrap_or_default())
        }
    };
    assert!(refusal.contains("UnknownCA"), "the handshake is refused with unknown_ca: {refusal}");
    let e = https(&pki, Some(&pki.stranger)).build().unwrap().get(format!("{base}/healthz")).send().await.unwrap_err();
    assert!(e.status().is_none() && chain(&e).contains("UnknownCA"), "REST is refused in the handshake too: {}", chain(&e));
    drop(app);
}
