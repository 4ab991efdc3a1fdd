//! `geodata-sync`: coordinates and municipality boundaries from the national geodata services.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use geodata_sync::transform::{self, Crs};

/// Keeps facility coordinates in step with the national geodata services.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transforms coordinates read from standard input, one pair per line, like PROJ's cs2cs.
    ///
    /// Axis order is that of each system's EPSG definition, as PROJ uses it: latitude then
    /// longitude for EPSG:4326, northing then easting for SWEREF 99 TM (EPSG:3006), the local
    /// zones (EPSG:3007–3018) and RT 90 2.5 gon V (EPSG:3021, as a source only: PROJ's default
    /// datum shift, "RT90 to WGS 84 (2)", accurate to about 1 m). Pairs are separated by spaces or tabs; anything after the
    /// second number on a line is copied to the output; empty lines stay empty. Output has
    /// 9 decimals for degrees and 4 (0.1 mm) for metres.
    Transform {
        /// Source system, e.g. EPSG:3006.
        #[arg(long)]
        from: String,
        /// Target system, e.g. EPSG:4326.
        #[arg(long)]
        to: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Transform { from, to } => match run_transform(&from, &to) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("geodata-sync transform: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run_transform(from: &str, to: &str) -> Result<(), String> {
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
            let (x, y) = from.axes();
            return Err(format!("line {}: expected two numbers ({x} {y} for {from}), found {:?}", i + 1, line.trim()));
        };
        let parse = |s: &str, axis: &str| s.parse::<f64>().map_err(|_| format!("line {}: {axis} {s:?} is not a number", i + 1));
        let (x, y) = from.axes();
        let (a, b) = (parse(a, x)?, parse(b, y)?);
        transform::check(from, a, b).map_err(|e| format!("line {}: {e}", i + 1))?;
        let (p, q) = transform::transform(from, to, a, b).map_err(|e| format!("line {}: {e}", i + 1))?;
        let rest: Vec<&str> = parts.collect();
        let tail = if rest.is_empty() { String::new() } else { format!(" {}", rest.join(" ")) };
        writeln!(out, "{p:.decimals$} {q:.decimals$}{tail}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
