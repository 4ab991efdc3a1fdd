//! The vendor conformance kit (`registry vendors conformance`, docs/vendor-protocol.md §12)
//! against real endpoints: the Python example vendor (examples/python-vendor, grpcio from
//! PyPI) with an API key, and a vendor behind mTLS, with the right and a wrong CA.

use std::process::Stdio;
use std::time::Duration;

use federation::fault::{FaultVendor, Faults};
use tokio::io::{AsyncBufReadExt, BufReader};

async fn kit(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(tests::workspace_binary("registry")).args(["vendors", "conformance"]).args(args).output();
    let out = tokio::time::timeout(Duration::from_secs(120), out).await.expect("the kit never hangs").unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Starts the example vendor; returns its URL and the process.
async fn python_vendor(api_key: &str) -> (String, tokio::process::Child) {
    let script = tests::repo_root().join("examples/python-vendor/vendor_server.py");
    let mut child = tokio::process::Command::new(tests::venv_bin("python"))
        .arg(&script)
        .args(["--listen", "127.0.0.1:0", "--units", "hall-a,hall-b,pool", "--api-key", api_key])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example vendor starts (scripts/python-tools.sh makes its virtualenv)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("python-vendor listening on ") {
                return url.to_string();
            }
        }
        panic!("the example vendor ended before it listened");
    })
    .await
    .expect("the example vendor listens within a minute");
    (url, child)
}

#[tokio::test]
async fn the_python_example_vendor_passes_every_check_with_its_api_key() {
    let key = "python-vendor-key-0123456789";
    let (url, _vendor) = python_vendor(key).await;
    let (ok, out, err) = kit(&["--endpoint", &url, "--api-key", key, "--unit", "hall-a", "--unit", "hall-b"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.ends_with(&format!("{} passed, 0 failed, 0 skipped\n", federation::conformance::all_checks().len())), "{out}");

    // As JUnit XML for the vendor's CI.
    let (ok, xml, err) = kit(&["--endpoint", &url, "--api-key", key, "--unit", "pool", "--format", "junit"]).await;
    assert!(ok, "{xml}{err}");
    assert!(xml.contains(r#"failures="0" skipped="0""#), "{xml}");

    // Without the key: refused, and the kit says so instead of passing anything that calls.
    let (ok, out, _) = kit(&["--endpoint", &url, "--unit", "hall-a", "--format", "json"]).await;
    assert!(!ok);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let caps = doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == "capabilities.well_formed").unwrap();
    assert!(caps["detail"].as_str().unwrap().contains("Unauthenticated"), "{caps}");
}

#[tokio::test]
async fn the_kit_speaks_mtls_and_fails_closed_on_a_wrong_ca() {
    tests::rustls_provider();
    let dir = std::env::temp_dir().join(format!("registry-kit-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = tests::pki::ca("vendor CA");
    let other = tests::pki::ca("someone else's CA");
    let (server_cert, server_key) = tests::pki::leaf(&ca, &["localhost"]);
    let clients = tests::pki::ca("registry clients");
    let (client_cert, client_key) = tests::pki::leaf(&clients, &["registry"]);
    let write = |name: &str, pem: &str| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p.to_string_lossy().into_owned()
    };
    let (ca_file, other_file) = (write("ca.pem", &ca.pem), write("other.pem", &other.pem));
    let (cert_file, key_file) = (write("client.pem", &client_cert), write("client.key", &client_key));
    let vendor = FaultVendor::new(vec!["hall-a".into()], Faults { bookings: true, ..Faults::default() }, 3);
    let addr = vendor.serve_tls((server_cert, server_key), Some(clients.pem.clone())).await;
    let url = format!("https://localhost:{}", addr.port());

    let (ok, out, err) =
        kit(&["--endpoint", &url, "--ca", &ca_file, "--client-cert", &cert_file, "--client-key", &key_file, "--unit", "hall-a"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains(" 0 failed, 0 skipped"), "{out}");

    // A wrong CA: nothing passes that calls, and the kit says why.
    let (ok, out, _) =
        kit(&["--endpoint", &url, "--ca", &other_file, "--client-cert", &cert_file, "--client-key", &key_file, "--unit", "hall-a"]).await;
    assert!(!ok);
    assert!(out.contains("FAIL capabilities.well_formed") && out.contains("not signed by the CA given with --ca"), "{out}");
    assert!(!out.contains("PASS booking."), "{out}");
    // No client certificate: the vendor refuses the handshake.
    let (ok, out, _) = kit(&["--endpoint", &url, "--ca", &ca_file, "--unit", "hall-a"]).await;
    assert!(!ok && out.contains("FAIL capabilities.well_formed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
