//! Command-line interface of `registry`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use registry_core::{Registry, demo, keys};

use crate::database::{Database, DbArgs};
use crate::server;

/// The national registry of municipal culture and leisure facilities (anläggningar),
/// associations (föreningar) and opening hours: API server and operator commands.
#[derive(Debug, Parser)]
#[command(name = "registry", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (REST and gRPC on one port) with /healthz and /readyz.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the demo dataset (15 pilot municipalities) idempotently, then serve like `serve`.
    Demo(ServeArgs),
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "REGISTRY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        /// Role of the key: editor, vendor, national_body or admin.
        #[arg(long)]
        role: String,
        /// Municipality code (kommunkod) an editor key may edit, e.g. 1880. Required for editors only.
        #[arg(long)]
        municipality: Option<String>,
        /// Allow the key to read personal data (contact persons); every such read is audited.
        #[arg(long)]
        personal_data: bool,
        /// Free text to tell keys apart, e.g. the system or person it was issued to.
        #[arg(long, default_value = "")]
        label: String,
        /// Secret mixed into key hashes; must be the same for `serve`.
        #[arg(long, env = "REGISTRY_KEY_PEPPER", hide_env_values = true, default_value = "")]
        pepper: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its prefix (the 8 hex digits after `rk_`) or id.
    Revoke {
        /// Key prefix or id.
        key: String,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, false).await,
        Command::Demo(args) => serve(args, true).await,
        Command::Migrate { db } => {
            let database = Database::open(&db).await?;
            let applied = registry_core::db::applied(&database.url).await?;
            println!("database is up to date: {} migrations applied ({})", applied.len(), applied.join(", "));
            database.close().await
        }
        Command::Keys { command, db } => {
            let database = Database::open(&db).await?;
            let registry = Registry::connect(&database.url, 2)?;
            let result = keys_command(&registry, command).await;
            drop(registry);
            database.close().await?;
            result
        }
    }
}

async fn serve(args: ServeArgs, with_demo: bool) -> anyhow::Result<()> {
    // Handlers first: Ctrl-C or SIGTERM at any point (start-up, demo loading, serving) is a
    // clean stop that also stops the embedded database.
    let mut shutdown = Box::pin(server::shutdown_signal()?);
    let database = tokio::select! {
        db = Database::open(&args.db) => db?,
        () = &mut shutdown => return Ok(()),
    };
    let registry = Registry::connect(&database.url, args.db.max_connections)?;
    let result = async {
        if with_demo {
            eprintln!("loading the demo dataset (15 pilot municipalities)…");
            let loaded = tokio::select! {
                loaded = demo::load(&registry) => loaded.context("loading the demo dataset")?,
                () = &mut shutdown => return Ok(()),
            };
            eprintln!(
                "demo dataset: {} facilities and {} associations added, {} already present",
                loaded.facilities, loaded.associations, loaded.skipped
            );
        }
        server::serve(registry, args.listen, shutdown).await
    }
    .await;
    database.close().await?;
    result
}

async fn keys_command(registry: &Registry, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { role, municipality, personal_data, label, pepper } => {
            let new = keys::NewKey { role, municipality_code: municipality, personal_data, label };
            let (info, token) = keys::create(registry.pool(), &pepper, &new).await?;
            println!("{token}");
            eprintln!(
                "created {} key {} (id {}){}; store it now: it is shown only once",
                info.role,
                info.prefix,
                info.id,
                info.municipality_code.map(|m| format!(" for municipality {m}")).unwrap_or_default()
            );
        }
        KeysCommand::List => {
            let all = keys::list(registry.pool()).await?;
            println!("{:<10} {:<14} {:<6} {:<5} {:<8} {:<26} label", "prefix", "role", "kommun", "pd", "status", "created");
            for k in all {
                println!(
                    "{:<10} {:<14} {:<6} {:<5} {:<8} {:<26} {}",
                    k.prefix,
                    k.role,
                    k.municipality_code.as_deref().unwrap_or("-"),
                    if k.personal_data { "yes" } else { "no" },
                    if k.revoked_at.is_some() { "revoked" } else { "active" },
                    k.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    k.label
                );
            }
        }
        KeysCommand::Revoke { key } => {
            let info = keys::revoke(registry.pool(), &key).await?;
            println!("revoked key {} ({})", info.prefix, info.role);
        }
    }
    Ok(())
}
