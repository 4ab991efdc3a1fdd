//! `registry-bench`: the national dataset generator and the search load benchmark.
#![forbid(unsafe_code)]

use registry_bench::{booking, export, federation, generate, geodata, load, soak};

use clap::{Parser, Subcommand};

/// Benchmark tooling for the registry.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a realistic synthetic national dataset (facilities with units and opening hours,
    /// associations) straight into a migrated registry database with COPY.
    Gen(generate::GenArgs),
    /// Drives the search load benchmark against a running registry and its database: five
    /// query shapes at saturation (REST, gRPC, and the same SQL straight to PostgreSQL) and at
    /// fixed rates (open loop), with HDR latency percentiles.
    Load(load::LoadArgs),
    /// Adds the geodata-sync benchmark's facilities to a migrated registry database and writes
    /// their address points as GeoJSON for a local OGC API - Features server.
    GeodataFixture(geodata::FixtureArgs),
    /// The geodata-sync benchmark: pages through the address points with no processing, then
    /// runs the sync twice against the same server, and prints times and rates.
    Geodata(geodata::SyncArgs),
    /// The federation benchmark: 290 simulated vendor.v1 servers on loopback with log-normal
    /// latency, errors and hangs; federated queries over 1, 20 and 290 vendors against the
    /// ideal and a sequential fan-out; sustained 20-vendor queries/s and peak memory.
    Federation(federation::FederationArgs),
    /// The reference booking backend's benchmark: direct bookings/s on units that do not
    /// conflict, with latency, and availability of 50 units × 14 days, over vendor.v1 gRPC.
    Booking(booking::BookingArgs),
    /// The export benchmark: NDJSON and CSV exports of every association from a running
    /// registry, against psql's COPY of the same statement, with the server's peak memory.
    Export(export::ExportArgs),
    /// The soak benchmark: a steady open-loop mix of search, writes, federated availability and
    /// bookings against a running registry and its vendor for half an hour, sampling the
    /// processes' memory, file descriptors and connections; fails on growth or unexpected errors.
    Soak(soak::SoakArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen(a) => generate::run(&a).await.map(|g| {
            println!(
                "generated {} facilities ({} units, {} with opening hours) and {} associations, {} words, in {:.1} s (seed {})",
                g.facilities, g.units, g.with_hours, g.associations, g.words, g.seconds, a.seed
            )
        }),
        Command::Load(a) => load::run(&a).await.map(|_| ()),
        Command::GeodataFixture(a) => geodata::fixture(&a).await,
        Command::Geodata(a) => geodata::sync_bench(&a).await,
        Command::Federation(a) => federation::run(&a).await,
        Command::Booking(a) => booking::run(&a).await,
        Command::Export(a) => export::run(&a).await,
        Command::Soak(a) => soak::run(&a).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
