//! `registry-bench`: the national dataset generator and the search load benchmark.

use registry_bench::generate;

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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
