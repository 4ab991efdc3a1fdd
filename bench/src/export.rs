//! The export benchmark: `GET /v1/exports/associations` (NDJSON and CSV) from a running
//! registry to a local client, against `psql -c "COPY (…) TO STDOUT"` of the same statement in
//! the same run, with the server's resident memory sampled during each export.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use registry_core::auth::Principal;
use registry_core::export::{ExportFilter, ExportFormat, ExportKind, ExportRequest, plan, sql};

/// Options of `registry-bench export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Base URL of the running registry, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// The registry's database (for the psql baseline).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Process id of the registry server, whose resident memory is sampled.
    #[arg(long)]
    pub server_pid: u32,
    /// Runs of each (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// A national body's API key: export every registration status with member statistics
    /// (the national bodies' export) instead of the public one (approved, public fields).
    #[arg(long, env = "REGISTRY_BENCH_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

const ALL_STATUSES: &str = "pending,approved,rejected,needs_completion";

/// One timed run.
#[derive(Debug, Clone, Copy)]
struct Run {
    rows: u64,
    bytes: u64,
    seconds: f64,
    peak_rss_mb: f64,
}

pub(crate) fn rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading the server's /proc status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS in /proc status")?;
    Ok(kb / 1024.0)
}

/// Samples the server's RSS every 10 ms until told to stop; returns the largest.
fn sample_rss(pid: u32, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(mb) = rss_mb(pid) {
                peak = peak.max(mb);
            }
            // The sampler's own thread, not a runtime worker: blocking here stalls nothing.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    })
}

async fn http_export(client: &reqwest::Client, a: &ExportArgs, format: ExportFormat) -> Result<Run> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_rss(a.server_pid, stop.clone());
    let started = Instant::now();
    let mut url = format!("{}/v1/exports/associations?format={}", a.url, format.as_str());
    let mut req = client.get(&url);
    if let Some(key) = &a.api_key {
        url.push_str(&format!("&registrationStatus={ALL_STATUSES}"));
        req = client.get(&url).header("x-api-key", key);
    }
    let mut res = req.send().await?;
    if !res.status().is_success() {
        bail!("export answered {}: {}", res.status(), res.text().await?);
    }
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak_rss_mb = sampler.join().unwrap_or(0.0);
    // NDJSON ends with a summary line, CSV starts with a header row.
    Ok(Run { rows: lines - 1, bytes, seconds, peak_rss_mb })
}

fn psql_copy(a: &ExportArgs, statement: &str) -> Result<Run> {
    let started = Instant::now();
    let out = std::process::Command::new("psql")
        .args([a.database_url.as_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running psql")?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("psql failed: {}", out.status);
    }
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count() as u64;
    Ok(Run { rows: lines, bytes: out.stdout.len() as u64, seconds, peak_rss_mb: 0.0 })
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    runs[runs.len() / 2]
}

/// Runs the benchmark and prints a table.
pub async fn run(a: &ExportArgs) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().build()?;
    let idle = rss_mb(a.server_pid)?;
    println!(
        "server RSS before: {idle:.1} MB; export: {}",
        if a.api_key.is_some() { "a national body's (every status, member statistics)" } else { "public (approved, public fields)" }
    );
    println!("| format | rows | MB | export: s | rows/s | peak server RSS | psql COPY: s | rows/s | export / psql |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for format in [ExportFormat::Ndjson, ExportFormat::Csv] {
        let (caller, statuses) = match &a.api_key {
            Some(_) => (
                Principal::with_role("bench", registry_core::auth::Role::NationalBody),
                ALL_STATUSES.split(',').map(String::from).collect(),
            ),
            None => (Principal::anonymous(), vec![]),
        };
        let filter = ExportFilter { registration_statuses: statuses, ..ExportFilter::default() };
        let req = ExportRequest { kind: ExportKind::Associations, format, filter, include_personal_data: false };
        let fields = plan(&caller, &req)?;
        let statement = sql::baseline_statement(req.kind, format, &fields, &req.filter);
        let (mut http, mut psql) = (Vec::new(), Vec::new());
        for _ in 0..a.runs.max(1) {
            http.push(http_export(&client, a, format).await?);
            let (args, statement) = (a.clone(), statement.clone());
            psql.push(tokio::task::spawn_blocking(move || psql_copy(&args, &statement)).await.context("the psql run")??);
        }
        let peak = http.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max);
        let (h, p) = (median(http), median(psql));
        let p_rows = if format == ExportFormat::Csv { p.rows - 1 } else { p.rows };
        if p_rows != h.rows {
            bail!("{}: the export sent {} rows, psql {}", format.as_str(), h.rows, p_rows);
        }
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.0} | {:.1} MB | {:.2} | {:.0} | {:.0} % |",
            format.as_str(),
            h.rows,
            h.bytes as f64 / 1e6,
            h.seconds,
            h.rows as f64 / h.seconds,
            peak,
            p.seconds,
            p_rows as f64 / p.seconds,
            100.0 * p.seconds / h.seconds,
        );
    }
    Ok(())
}
