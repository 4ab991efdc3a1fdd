//! `geodata-sync`: coordinates and municipality boundaries from the national geodata services.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use geodata_sync::config::Config;
use geodata_sync::transform::{self, Crs};
use geodata_sync::{address, boundaries, sync};
use registry_core::Registry;
use registry_core::model::Address;
use registry_core::service::geodata::BORDER_TOLERANCE_M;

/// Keeps facility coordinates and municipality boundaries in step with the national geodata
/// services (OGC API - Features or WFS 2.0), and transforms coordinates between WGS 84,
/// SWEREF 99 and RT 90.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the registry and the services are.
#[derive(clap::Args)]
struct Common {
    /// The registry's database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Configuration file (TOML) laid over the default profile; see `geodata-sync config`.
    #[arg(long, env = "REGISTRY_GEODATA_CONFIG")]
    config: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Transforms coordinates read from standard input, one pair per line, like PROJ's cs2cs.
    ///
    /// Axis order is that of each system's EPSG definition, as PROJ uses it: latitude then
    /// longitude for EPSG:4326, northing then easting for SWEREF 99 TM (EPSG:3006), the local
    /// zones (EPSG:3007–3018) and RT 90 2.5 gon V (EPSG:3021, as a source only: PROJ's default
    /// datum shift, "RT90 to WGS 84 (2)", accurate to about 1 m). `--xy` puts easting or
    /// longitude first on both sides instead. Pairs are separated by spaces or tabs; anything
    /// after the second number on a line is copied to the output; empty lines stay empty.
    /// Output has 9 decimals for degrees and 4 (0.1 mm) for metres.
    Transform {
        /// Source system, e.g. EPSG:3006.
        #[arg(long)]
        from: String,
        /// Target system, e.g. EPSG:4326.
        #[arg(long)]
        to: String,
        /// Easting/longitude first on input and output (the order of most GIS files).
        #[arg(long)]
        xy: bool,
    },
    /// Prints the default configuration profile, every value documented.
    Config,
    /// Lists the collections of the address and boundaries services (OGC API - Features).
    Collections {
        #[command(flatten)]
        common: Common,
    },
    /// Looks up one address in the address service and prints the matching address point.
    Lookup {
        #[command(flatten)]
        common: Common,
        /// Street and number, e.g. "Storgatan 12B".
        #[arg(long)]
        street: String,
        /// Postal code, e.g. 69231.
        #[arg(long, default_value = "")]
        postal_code: String,
        /// Post town, e.g. Kumla.
        #[arg(long, default_value = "")]
        locality: String,
        /// The municipality whose address points to search (needed without a postal code).
        #[arg(long)]
        municipality: Option<String>,
    },
    /// Syncs facility locations with the address service (resumable; see the README).
    Run {
        #[command(flatten)]
        common: Common,
        /// Only this municipality (kommunkod), e.g. 1480.
        #[arg(long)]
        municipality: Option<String>,
        /// Compute and report only; write nothing to the registry.
        #[arg(long)]
        dry_run: bool,
        /// Write a CSV report of every facility's outcome to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Move locations off by more than this many metres (default from the configuration: 25).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Loads the municipality boundaries from the boundaries service into the registry.
    Boundaries {
        #[command(flatten)]
        common: Common,
    },
    /// Reports facilities outside their own municipality and probable duplicates across municipalities.
    Check {
        #[command(flatten)]
        common: Common,
        /// How far outside its municipality's boundary a facility may lie, in metres.
        #[arg(long, default_value_t = BORDER_TOLERANCE_M)]
        tolerance: f64,
        /// Facilities of the same category in two municipalities closer than this (metres) are reported.
        #[arg(long, default_value_t = 30.0)]
        duplicates_within: f64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GEODATA_SYNC_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Transform { from, to, xy } => run_transform(&from, &to, xy).map(|()| ExitCode::SUCCESS),
        Command::Config => {
            print!("{}", geodata_sync::config::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
            rt.block_on(run_async(other))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("geodata-sync: {e}");
            ExitCode::from(2)
        }
    }
}

fn config(common: &Common) -> Result<Config, String> {
    match &common.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string()),
        None => Ok(Config::default_profile()),
    }
}

fn registry(common: &Common) -> Result<Registry, String> {
    let url = common.database_url.as_deref().ok_or("the registry's database is needed: set DATABASE_URL or --database-url")?;
    Registry::connect(url, 6).map_err(|e| e.to_string())
}

async fn run_async(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Collections { common } => {
            let c = config(&common)?;
            for (name, source) in [
                ("addresses", geodata_sync::open_source(&c.addresses, &c.client)),
                ("boundaries", geodata_sync::open_source(&c.boundaries, &c.client)),
            ] {
                let source = source.map_err(|e| e.to_string())?;
                let list = source.collections().await.map_err(|e| format!("{name}: {e}"))?;
                println!("{name}:");
                for col in list {
                    println!("  {}\t{}", col.id, col.title);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup { common, street, postal_code, locality, municipality } => {
            let c = config(&common)?;
            let source = geodata_sync::open_source(&c.addresses, &c.client).map_err(|e| e.to_string())?;
            let filter = match (municipality, postal_code.trim()) {
                (Some(m), _) => (c.addresses.municipality_property.clone().unwrap_or_else(|| "kommunkod".into()), m),
                (None, p) if !p.is_empty() => (c.addresses.properties.postal_code.clone(), p.replace(' ', "")),
                _ => return Err("give --postal-code or --municipality, to narrow the search".into()),
            };
            let features = source
                .fetch_all(&geodata_sync::source::Query { bbox: None, filters: vec![filter] }, |_| {})
                .await
                .map_err(|e| e.to_string())?;
            let points = features.iter().filter_map(|f| address::AddressPoint::from_feature(f, &c.addresses.properties)).collect();
            let index = address::AddressIndex::new(points);
            match index.lookup(&Address { street, postal_code, locality }) {
                address::Lookup::Found { point, quality } => {
                    println!(
                        "{}\t{}\t{:.7} {:.7}\t{}, {} {}",
                        quality.as_str(),
                        point.feature_id,
                        point.location.lat,
                        point.location.lon,
                        point.street,
                        point.postal_code,
                        point.locality
                    );
                    Ok(ExitCode::SUCCESS)
                }
                address::Lookup::Ambiguous(points) => {
                    println!("ambiguous: {} address points match", points.len());
                    for p in points {
                        println!(
                            "  {}\t{:.7} {:.7}\t{}, {} {}",
                            p.feature_id, p.location.lat, p.location.lon, p.street, p.postal_code, p.locality
                        );
                    }
                    Ok(ExitCode::from(1))
                }
                address::Lookup::NotFound => {
                    println!("not found (searched {} address points)", index.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Run { common, municipality, dry_run, report, threshold } => {
            let c = config(&common)?;
            let reg = registry(&common)?;
            let source = Arc::new(geodata_sync::open_source(&c.addresses, &c.client).map_err(|e| e.to_string())?);
            let property = c.addresses.municipality_property.clone().ok_or("addresses.municipality_property must be set for the sync")?;
            let opts =
                sync::SyncOptions { municipality, dry_run, threshold_m: threshold.unwrap_or(c.sync.move_threshold_m), quiet: common.quiet };
            if !(opts.threshold_m.is_finite() && opts.threshold_m > 0.0) {
                return Err("--threshold: must be a positive number of metres".into());
            }
            let (summary, records) =
                sync::run(&reg, source.clone(), &c.addresses.properties, &property, &opts).await.map_err(|e| e.to_string())?;
            if let Some(path) = report {
                let file = std::fs::File::create(&path).map_err(|e| format!("cannot create the report {}: {e}", path.display()))?;
                let mut out = BufWriter::new(file);
                sync::write_report(&mut out, &records)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write the report {}: {e}", path.display()))?;
            }
            let stats = &source.client.stats;
            let ord = std::sync::atomic::Ordering::Relaxed;
            println!("{}{}", if dry_run { "dry run (nothing written): " } else { "" }, summary.render());
            println!(
                "requests {}, retries {}, {:.1} MB received{}",
                stats.requests.load(ord),
                stats.retries.load(ord),
                stats.bytes.load(ord) as f64 / 1e6,
                if summary.resumed { format!("; resumed a run that had done {} facilities", summary.already_done) } else { String::new() }
            );
            println!(
                "time: {:.1} s fetching {} address points (summed over parallel fetches), {:.1} s matching, {:.1} s writing",
                summary.fetch_seconds, summary.points, summary.match_seconds, summary.write_seconds
            );
            Ok(if summary.errors() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Boundaries { common } => {
            let c = config(&common)?;
            let reg = registry(&common)?;
            let source = geodata_sync::open_source(&c.boundaries, &c.client).map_err(|e| e.to_string())?;
            let r = boundaries::load(&reg, &source, &c.boundaries.properties.municipality_code, common.quiet)
                .await
                .map_err(|e| e.to_string())?;
            println!("loaded {} municipality boundaries", r.loaded);
            if !r.missing.is_empty() {
                println!("no boundary in the service for {} municipalities: {}", r.missing.len(), r.missing.join(", "));
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { common, tolerance, duplicates_within, format } => {
            let reg = registry(&common)?;
            let r = boundaries::check(&reg, tolerance, duplicates_within).await.map_err(|e| e.to_string())?;
            match format {
                CheckFormat::Json => {
                    let doc = serde_json::json!({"boundaries": r.boundaries, "outsideMunicipality": r.outside, "probableDuplicates": r.duplicates});
                    println!("{}", serde_json::to_string_pretty(&doc).expect("JSON serialises"));
                }
                CheckFormat::Text => {
                    if r.boundaries == 0 {
                        println!("no municipality boundaries loaded: run `geodata-sync boundaries` first; only duplicates are checked");
                    }
                    println!("{} facilities lie more than {tolerance} m outside their own municipality:", r.outside.len());
                    for o in &r.outside {
                        println!(
                            "  {}\t{}\t{:.0} m outside\t{}\t{}",
                            o.id,
                            o.municipality_code,
                            o.distance_m,
                            o.lies_in.as_deref().map(|c| format!("lies in {c}")).unwrap_or_else(|| "in no municipality".into()),
                            o.name
                        );
                    }
                    println!(
                        "{} pairs of facilities in two municipalities are probably the same place (same category within {duplicates_within} m):",
                        r.duplicates.len()
                    );
                    for d in &r.duplicates {
                        println!(
                            "  {} ({}, {})\t{} ({}, {})\t{}\t{:.1} m",
                            d.a_id, d.a_municipality_code, d.a_name, d.b_id, d.b_municipality_code, d.b_name, d.category, d.distance_m
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Transform { .. } | Command::Config => Err("transform and config do not need the runtime".into()),
    }
}

fn run_transform(from: &str, to: &str, xy: bool) -> Result<(), String> {
    let from = Crs::parse(from).map_err(|e| format!("--from: {e}"))?;
    let to = Crs::parse(to).map_err(|e| format!("--to: {e}"))?;
    if to == Crs::Rt90 {
        return Err("--to: EPSG:3021 (RT 90) is supported as a source only; convert to SWEREF 99 TM (EPSG:3006)".into());
    }
    let decimals = if to == Crs::Wgs84 { 9 } else { 4 };
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (i, line) in stdin.lines().enumerate() {
        let line = line.map_err(|e| format!("reading line {}: {e}", i + 1))?;
        let mut parts = line.split_whitespace();
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            if line.trim().is_empty() {
                writeln!(out).map_err(|e| e.to_string())?;
                continue;
            }
            let (x, y) = axes(from, xy);
            return Err(format!("line {}: expected two numbers ({x} {y} for {from}), found {:?}", i + 1, line.trim()));
        };
        let parse = |s: &str, axis: &str| s.parse::<f64>().map_err(|_| format!("line {}: {axis} {s:?} is not a number", i + 1));
        let (x, y) = axes(from, xy);
        let (a, b) = (parse(a, x)?, parse(b, y)?);
        let (a, b) = if xy { (b, a) } else { (a, b) };
        transform::check(from, a, b).map_err(|e| format!("line {}: {e}", i + 1))?;
        let (p, q) = transform::transform(from, to, a, b).map_err(|e| format!("line {}: {e}", i + 1))?;
        let (p, q) = if xy { (q, p) } else { (p, q) };
        let rest: Vec<&str> = parts.collect();
        let tail = if rest.is_empty() { String::new() } else { format!(" {}", rest.join(" ")) };
        writeln!(out, "{p:.decimals$} {q:.decimals$}{tail}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// The axis names in input order.
fn axes(crs: Crs, xy: bool) -> (&'static str, &'static str) {
    let (a, b) = crs.axes();
    if xy { (b, a) } else { (a, b) }
}
