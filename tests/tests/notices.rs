//! Notices by e-mail (issue 27, part 4, first slice): a municipality's decision on an
//! association's registration is written to the outbox in the decision's transaction and
//! e-mailed to the association's public address through a real SMTP server on loopback
//! (aiosmtpd, tests/interop/smtp_sink.py), Swedish then English. With the SMTP server down,
//! notices wait and are retried with backoff; once it is back each arrives exactly once, with
//! its own Message-ID. A delivered notice keeps no personal data in the outbox.

use std::path::{Path, PathBuf};
use std::time::Duration;

use registry_core::notify::Backoff;
use serde_json::{Value, json};
use tests::{TestApp, fixtures};

use tests::SmtpSink as Sink;

fn received(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn until_received(file: &Path, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let got = received(file);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} messages did not arrive: {:?}", received(file));
}

#[tokio::test]
async fn decisions_are_e_mailed_once_each_even_when_the_smtp_server_was_down() {
    let dir = std::env::temp_dir().join(format!("registry-notices-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("mail.jsonl");
    let port = tests::free_port();
    let sink = Sink::start(port, &file).await;
    let config = grpc_api::server::ServerConfig {
        mail: Some(grpc_api::mail::MailConfig {
            smtp_url: format!("smtp://127.0.0.1:{port}"),
            from: "Föreningsregistret <noreply@registry.test>".into(),
            backoff: Backoff { first: chrono::Duration::milliseconds(500), max: chrono::Duration::seconds(2), max_attempts: 100 },
            interval: Duration::from_millis(200),
        }),
        ..Default::default()
    };
    let app = TestApp::start_with(config).await;
    let editor = app.key("editor", Some("0180"), false).await;
    let admin = registry_core::auth::Principal::operator("setup");
    let decide = |id: uuid::Uuid, action: &'static str, body: Value| {
        let (app, editor) = (&app, editor.clone());
        async move {
            let url = app.url(&format!("/v1/associations/{id}/registrations/0180/{action}"));
            let res = app.http().post(url).header("x-api-key", editor).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        }
    };

    let first = app.registry.create_association(&admin, &fixtures::association("0180", 1)).await.unwrap();
    decide(first.id, "request-completion", json!({"message": "Skicka stadgarna"})).await;
    let got = until_received(&file, 1).await;
    assert_eq!(got[0]["to"], json!(["info@forening.example.se"]));
    assert_eq!(got[0]["from"], "noreply@registry.test");
    assert!(got[0]["subject"].as_str().unwrap().contains("Testföreningen 1"), "{}", got[0]);
    let body = got[0]["body"].as_str().unwrap();
    assert!(body.contains("Stockholm ber Testföreningen 1 komplettera") && body.contains("Skicka stadgarna"), "{body}");
    assert!(body.contains("Stockholm asks Testföreningen 1 to complete"), "English follows: {body}");
    let delivered = "SELECT count(*) AS n FROM notices WHERE sent_at IS NOT NULL AND recipient = '' AND data = '{}'";
    assert_eq!(app.db.count(delivered).await, 1, "delivered: what it said is forgotten");

    // The SMTP server goes down: two decisions wait and are retried.
    sink.stop().await;
    let second = app.registry.create_association(&admin, &fixtures::association("0180", 2)).await.unwrap();
    let third = app.registry.create_association(&admin, &fixtures::association("0180", 3)).await.unwrap();
    decide(second.id, "approve", json!({})).await;
    decide(third.id, "reject", json!({"reason": "Inte en ideell förening"})).await;
    let retried = "SELECT count(*) AS n FROM notices WHERE sent_at IS NULL AND attempts >= 2 AND last_error IS NOT NULL";
    for _ in 0..100 {
        if app.db.count(retried).await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.db.count(retried).await, 2, "both were tried more than once while the server was down");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM notices WHERE last_error LIKE '%@%'").await, 0, "no address in the errors");
    assert_eq!(received(&file).len(), 1);

    // Back up: each waiting notice arrives once.
    let _sink = Sink::start(port, &file).await;
    let got = until_received(&file, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_later = received(&file);
    assert_eq!(got_later.len(), 3, "no duplicates after the retries: {got:?}");
    let ids: std::collections::HashSet<&str> = got_later.iter().map(|m| m["messageId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "one Message-ID per notice");
    assert!(ids.iter().all(|id| id.ends_with("@registry.test>")));
    let bodies: Vec<&str> = got_later.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert!(bodies.iter().any(|b| b.contains("har godkänt registreringen av Testföreningen 2")));
    assert!(bodies.iter().any(|b| b.contains("har avslagit registreringen av Testföreningen 3") && b.contains("Inte en ideell förening")));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM notices WHERE sent_at IS NULL").await, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// (In a runtime: the SMTP transport keeps a pool of connections, which a Tokio runtime runs.)
#[tokio::test]
async fn an_unencrypted_smtp_server_is_refused_unless_on_loopback() {
    let config = |url: &str| grpc_api::mail::MailConfig {
        smtp_url: url.into(),
        from: "Registret <noreply@registry.test>".into(),
        backoff: Backoff::default(),
        interval: Duration::from_secs(1),
    };
    tests::rustls_provider();
    for ok in ["smtps://mail.example.se:465", "smtp://mail.example.se:587?tls=required", "smtp://127.0.0.1:2525", "smtp://localhost:25"] {
        assert!(grpc_api::mail::SmtpChannel::new(&config(ok)).is_ok(), "{ok}");
    }
    for bad in ["smtp://mail.example.se:25", "smtp://mail.example.se:587?tls=opportunistic", "http://mail.example.se", "not a url"] {
        let err = grpc_api::mail::SmtpChannel::new(&config(bad)).err().unwrap_or_else(|| panic!("{bad} was accepted")).to_string();
        assert!(err.contains("--smtp-url"), "{bad}: {err}");
    }
    let mut bad_from = config("smtps://mail.example.se:465");
    bad_from.from = "not an address".into();
    assert!(grpc_api::mail::SmtpChannel::new(&bad_from).err().unwrap().to_string().contains("--mail-from"));
}
