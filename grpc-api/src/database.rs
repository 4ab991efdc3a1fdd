//! Choosing the database: `DATABASE_URL` if given, otherwise the embedded cluster.

use std::path::PathBuf;

use anyhow::Context;
use registry_core::db;
use registry_core::embedded::{self, EmbeddedPostgres};

/// Database options shared by every command that needs the database.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// PostgreSQL URL of an existing server (with PostGIS). Without it, a private embedded
    /// cluster is started in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Data directory of the embedded database (used when DATABASE_URL is not set).
    #[arg(long, env = "REGISTRY_DATA_DIR", default_value = ".registry-data", global = true)]
    pub data_dir: PathBuf,
    /// Directory with the PostgreSQL server binaries (initdb, pg_ctl); found automatically if not set.
    #[arg(long, env = "REGISTRY_PG_BINDIR", global = true)]
    pub pg_bindir: Option<PathBuf>,
    /// Largest number of pooled database connections.
    #[arg(long, env = "REGISTRY_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub max_connections: usize,
}

/// An open database: its URL, and the embedded server if we started one (stopped on drop).
pub struct Database {
    /// Connection URL.
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Opens the configured database and applies pending migrations.
    pub async fn open(args: &DbArgs) -> anyhow::Result<Self> {
        let database = match &args.database_url {
            Some(url) => Database { url: url.clone(), embedded: None },
            None => {
                let opts = embedded::Options { data_dir: args.data_dir.clone(), bin_dir: args.pg_bindir.clone(), fast_unsafe: false };
                let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&opts)).await??;
                db::ensure_database(&pg.url("postgres"), "registry", None).await.context("creating the registry database")?;
                eprintln!("embedded PostgreSQL: data in {}, listening on 127.0.0.1:{}", pg.data_dir().display(), pg.port());
                Database { url: pg.url("registry"), embedded: Some(pg) }
            }
        };
        let applied = db::migrate(&database.url).await.context("applying migrations")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let ctype = db::character_type(&database.url).await.context("reading the database's locale")?;
        if ctype == "C" || ctype == "POSIX" {
            tracing::warn!(
                ctype,
                "the database's LC_CTYPE is {ctype}: typo-tolerant search treats å, ä and ö as word breaks; \
                 create the database with a UTF-8 locale (e.g. LC_CTYPE 'C.UTF-8')"
            );
        }
        Ok(database)
    }

    /// Stops the embedded server, if any, reporting errors (dropping does the same silently).
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Some(mut pg) = self.embedded.take() {
            tokio::task::spawn_blocking(move || pg.stop()).await??;
        }
        Ok(())
    }
}
