//! The `reference-booking` binary end to end against a throwaway database: migrate, add and
//! list units, refuse bad flags with a clear message, and serve gRPC health and /readyz.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Generous limit against hangs only; tests assert outcomes, never durations.
const HANG: Duration = Duration::from_secs(120);

fn binary(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_reference-booking"));
    c.env("DATABASE_URL", url).env_remove("REFERENCE_BOOKING_API_KEYS").kill_on_drop(true);
    c
}

#[tokio::test]
async fn units_are_managed_and_the_server_answers() {
    tests::rustls_provider();
    let db = tests::TestDb::empty().await;
    let out = binary(&db.url).arg("migrate").output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 migrations applied"), "{out:?}");

    let (f, u) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let add = |extra: &[&str]| {
        let mut c = binary(&db.url);
        c.args(["units", "add", "--ref", "kumla-hall-a", "--registry-facility", &f, "--registry-unit", &u, "--name", "Hall A"]);
        c.args(extra);
        c
    };
    let out = add(&["--price", "association=15000", "--slot-minutes", "30", "--min-minutes", "60"]).output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "kumla-hall-a");
    let out = add(&["--price", "club=1"]).output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'club' is not a customer type"), "{out:?}");
    let out = add(&["--slot-minutes", "7"]).output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rules.slotMinutes"), "{out:?}");
    let out = binary(&db.url).args(["units", "list"]).output().await.unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.starts_with(&format!("kumla-hall-a\t{f}\t{u}\tHall A")), "{listed}");
    assert_eq!(db.count("SELECT slot_minutes::bigint AS n FROM units").await, 30, "the first add's rules stand");

    let mut child =
        binary(&db.url).args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(HANG, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(u) = line.strip_prefix("reference-booking listening on ") {
                return u.to_string();
            }
        }
        panic!("the server ended before it listened");
    })
    .await
    .unwrap();
    let ready: serde_json::Value = reqwest::get(format!("{url}/readyz")).await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let s = health.check(tonic_health::pb::HealthCheckRequest { service: "vendor.v1.BookingProvider".into() }).await.unwrap();
    assert_eq!(s.into_inner().status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    child.kill().await.unwrap();
}
