//! The `registry` binary end to end: the embedded database's life cycle, `demo` and
//! `migrate` against an external server, and the command-line help.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Generous limit against hangs only; tests assert outcomes, never durations.
const HANG: Duration = Duration::from_secs(180);

fn registry() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_registry"));
    c.env_remove("DATABASE_URL").env("REGISTRY_LOG", "warn").kill_on_drop(true);
    c
}

struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("registry-cli-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `registry <args>` and waits for the line with the address it listens on.
async fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, String) {
    let mut child = registry().args(args).envs(envs.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(HANG, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("registry listening on ") {
                return Some(addr.to_string());
            }
        }
        None
    })
    .await
    .expect("the server did not start in time");
    let Some(addr) = addr else {
        let out = child.wait_with_output().await.unwrap();
        panic!("the server exited before listening: {}", String::from_utf8_lossy(&out.stderr));
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// Sends SIGTERM and waits for the exit status.
async fn terminate(child: Child) -> ExitStatus {
    signal(child, "-TERM").await
}

/// Sends `sig` (e.g. `-INT`, what Ctrl-C sends) and waits for the exit status.
async fn signal(mut child: Child, sig: &str) -> ExitStatus {
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args([sig, &pid]).status().await.unwrap().success());
    tokio::time::timeout(HANG, child.wait()).await.expect("the server did not stop").unwrap()
}

async fn get(url: &str) -> (u16, String) {
    tests::rustls_provider();
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    tokio::time::timeout(HANG, registry().args(args).envs(envs.iter().copied()).output()).await.expect("command hung").unwrap()
}

fn server_running(data_dir: &Path) -> bool {
    data_dir.join("pgdata/postmaster.pid").exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_database_starts_restarts_and_refuses_a_second_instance() {
    let tmp = TempDir::new();
    let dir = tmp.0.join("data");
    let d = dir.to_str().unwrap();

    let (first, addr) = start(&["serve", "--listen", "127.0.0.1:0", "--data-dir", d], &[]).await;
    assert_eq!(get(&format!("{addr}/healthz")).await, (200, r#"{"status":"ok"}"#.into()));
    assert_eq!(get(&format!("{addr}/readyz")).await, (200, r#"{"status":"ready"}"#.into()));
    assert!(dir.join("pgdata/PG_VERSION").is_file(), "a fresh cluster was created");
    assert!(server_running(&dir));

    let second = run(&["serve", "--listen", "127.0.0.1:0", "--data-dir", d], &[]).await;
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already in use by another registry process"), "{err}");
    assert_eq!(get(&format!("{addr}/readyz")).await.0, 200, "the first instance is unharmed");

    assert!(terminate(first).await.success(), "SIGTERM is a clean stop");
    assert!(!server_running(&dir), "PostgreSQL was stopped with the registry");

    // Restart on the same data: a key created now survives into the next start.
    let created = run(&["keys", "create", "--role", "editor", "--municipality", "1881", "--label", "cli test", "--data-dir", d], &[]).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = String::from_utf8(created.stdout).unwrap();
    assert!(token.starts_with("rk_"), "{token}");
    let prefix = &token[3..11];
    let listed = run(&["keys", "list", "--data-dir", d], &[]).await;
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains(prefix) && listed.contains("1881") && listed.contains("cli test"), "{listed}");

    let (third, addr) = start(&["serve", "--listen", "127.0.0.1:0", "--data-dir", d], &[]).await;
    assert_eq!(get(&format!("{addr}/readyz")).await.0, 200);
    assert!(signal(third, "-INT").await.success(), "Ctrl-C is a clean stop too");
    let revoked = run(&["keys", "revoke", prefix, "--data-dir", d], &[]).await;
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("revoked key"), "{revoked:?}");
    assert!(!server_running(&dir));
}

/// PostgreSQL will not run as root; as root the registry runs it as `postgres` and explains
/// what to do when that user cannot reach the data directory.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_data_directory_gets_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new();
    let private = tmp.0.join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = private.join("data");
    let is_root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap();
    if is_root {
        let out = run(&["migrate", "--data-dir", dir.to_str().unwrap()], &[]).await;
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot reach") && err.contains("--data-dir"), "{err}");
    } else {
        // Not root: the server runs as the current user, who owns the directory.
        let out = run(&["migrate", "--data-dir", dir.to_str().unwrap()], &[]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_and_migrate_use_database_url_when_given() {
    let db = tests::TestDb::empty().await;
    let env = [("DATABASE_URL", db.url.as_str())];
    let (child, addr) = start(&["demo", "--listen", "127.0.0.1:0"], &env).await;
    assert_eq!(get(&format!("{addr}/readyz")).await.0, 200);
    assert!(terminate(child).await.success());
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 300);
    assert_eq!(db.count("SELECT count(*) AS n FROM associations").await, 45);

    // Idempotent: a second demo start adds nothing.
    let (child, _) = start(&["demo", "--listen", "127.0.0.1:0"], &env).await;
    assert!(terminate(child).await.success());
    assert_eq!(db.count("SELECT count(*) AS n FROM facilities").await, 300);

    let out = run(&["hours", "refresh"], &env).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("refreshed 300 opening-hours schedules"), "{out:?}");

    let out = run(&["migrate"], &env).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("20 migrations applied"), "{out:?}");

    let bad = run(&["migrate"], &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot connect to the database"), "{bad:?}");
}

#[tokio::test]
async fn every_command_has_complete_help() {
    for (args, must) in [
        (vec!["--help"], vec!["serve", "migrate", "demo", "keys", "hours", "openapi"]),
        (vec!["hours", "--help"], vec!["refresh"]),
        (
            vec!["serve", "--help"],
            vec!["--listen", "REGISTRY_LISTEN", "127.0.0.1:8080", "--database-url", "DATABASE_URL", "--data-dir", ".registry-data"],
        ),
        (vec!["demo", "--help"], vec!["--listen", "--data-dir", "--database-url"]),
        (vec!["migrate", "--help"], vec!["--database-url", "--data-dir"]),
        (vec!["keys", "--help"], vec!["create", "list", "revoke"]),
        (
            vec!["keys", "create", "--help"],
            vec!["--role", "editor, vendor, national_body or admin", "--municipality", "--personal-data", "--label"],
        ),
        (vec!["keys", "revoke", "--help"], vec!["prefix"]),
    ] {
        let out = run(&args, &[]).await;
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        for m in must {
            assert!(text.contains(m), "`registry {}` does not mention {m}:\n{text}", args.join(" "));
        }
    }
    let bad = run(&["serve", "--listen", "not-an-address"], &[]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--listen"));
}

#[tokio::test]
async fn vendors_conformance_passes_a_conforming_vendor_and_fails_a_bad_one() {
    use federation::fault::{FaultVendor, Faults};
    let good = FaultVendor::new(vec!["hall-a".into()], Faults::default(), 1).serve().await;
    let out = run(&["vendors", "conformance", "--endpoint", &format!("http://{good}"), "--unit", "hall-a"], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("PASS availability.window") && text.contains("0 failed"), "{text}");

    let bad = FaultVendor::new(vec!["hall-a".into()], Faults { wrong_zone_rate: 1.0, ..Faults::default() }, 1).serve().await;
    let out = run(&["vendors", "conformance", "--endpoint", &format!("http://{bad}"), "--unit", "hall-a", "--format", "json"], &[]).await;
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["passed"], false);
    let window = doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == "availability.window").unwrap();
    assert_eq!((window["verdict"].as_str(), window["section"].as_str()), (Some("fail"), Some("§6")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not conform to vendor.v1"));

    // JUnit XML for a vendor's CI, and --only to report some checks.
    let args = ["vendors", "conformance", "--endpoint", &format!("http://{bad}"), "--unit", "hall-a", "--format", "junit"];
    let out = run(&[&args[..], &["--only", "availability.window", "--only", "health.serving"]].concat(), &[]).await;
    assert!(!out.status.success());
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains(r#"tests="2" failures="1" skipped="0""#), "{xml}");
    assert!(xml.contains(r#"name="availability.window: slots lie inside the asked window, on asked units""#), "{xml}");
    assert!(xml.contains("<failure message=") && xml.contains("outside the asked window"), "{xml}");
    let out = run(&["vendors", "conformance", "--endpoint", &format!("http://{good}"), "--only", "availability.sometimes"], &[]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'availability.sometimes' is not a check") && err.contains("booking.cancel_idempotent"), "{err}");
}
