//! Storage: connection pool, migrations and the row mappings of each aggregate.

pub mod associations;
pub mod bookings;
pub mod changes;
pub mod exports;
pub mod facilities;
pub mod geodata;
pub mod hours;
pub mod keys;
pub mod municipalities;
pub mod notices;
pub mod schema;
pub mod search;
pub mod seed;
pub mod sessions;
pub mod vendors;

use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{Error, Result};

/// A pool of database connections.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
/// A connection taken from the pool.
pub type PooledConn = deadpool::Object<AsyncPgConnection>;

const SQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// All migrations: the SQL folders in `migrations/` plus the code-list seed written in Rust.
#[derive(Clone, Copy, Debug, Default)]
pub struct Migrations;

impl MigrationSource<Pg> for Migrations {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        let mut all = MigrationSource::<Pg>::migrations(&SQL_MIGRATIONS)?;
        all.push(Box::new(seed::SeedCodeLists));
        all.push(Box::new(seed::SeedAssociationCodes));
        all.sort_by(|a, b| a.name().version().cmp(&b.name().version()));
        Ok(all)
    }
}

/// A short fingerprint of the migration set (its version names), e.g. for naming a template database.
pub fn migrations_fingerprint() -> String {
    let names: Vec<String> = Migrations.migrations().map(|m| m.iter().map(|m| m.name().to_string()).collect()).unwrap_or_default();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(names.join("\n").as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Opens one connection (not pooled), mapping failure to `Unavailable`.
pub async fn connect(url: &str) -> Result<AsyncPgConnection> {
    AsyncPgConnection::establish(url).await.map_err(|e| Error::database_unavailable(format!("cannot connect to the database: {e}")))
}

/// Session settings of pooled connections. The service runs many short queries at once:
/// JIT compilation costs more than it saves on them, and parallel workers take the cores the
/// other requests need.
pub const SESSION_SETTINGS: &str = "SET jit = off; SET max_parallel_workers_per_gather = 0";

/// Builds a pool of at most `max_size` connections. Connections open lazily.
pub fn pool(url: &str, max_size: usize) -> Result<Pool> {
    let mut config = diesel_async::pooled_connection::ManagerConfig::default();
    config.custom_setup = Box::new(|url| {
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(SESSION_SETTINGS).await.map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(10)))
        // Checking an idle connection before reuse (a round trip) must not hang on a stalled
        // database: the request gets 503 and a fresh connection is tried next time.
        .recycle_timeout(Some(std::time::Duration::from_secs(2)))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the connection pool: {e}")))
}

/// Applies every pending migration; returns the versions applied.
pub async fn migrate(url: &str) -> Result<Vec<String>> {
    let conn = connect(url).await?;
    with_harness(conn, |h| h.run_pending_migrations(Migrations).map(|v| v.iter().map(ToString::to_string).collect())).await
}

/// Applies pending migrations up to and including `version` (e.g. to load data of an older
/// schema before a migration under test); returns the versions applied.
pub async fn migrate_through(url: &str, version: &str) -> Result<Vec<String>> {
    let conn = connect(url).await?;
    let version = version.to_string();
    with_harness(conn, move |h| {
        let mut applied = Vec::new();
        let pending = h.pending_migrations(Migrations)?;
        for m in pending {
            let v = m.name().version().to_string();
            if v.as_str() > version.as_str() {
                break;
            }
            applied.push(h.run_migration(&*m)?.to_string());
        }
        Ok(applied)
    })
    .await
}

/// Reverts every applied migration, newest first; returns the versions reverted.
pub async fn revert_all(url: &str) -> Result<Vec<String>> {
    let conn = connect(url).await?;
    with_harness(conn, |h| h.revert_all_migrations(Migrations).map(|v| v.iter().map(ToString::to_string).collect())).await
}

/// Versions already applied to the database, oldest first.
pub async fn applied(url: &str) -> Result<Vec<String>> {
    let conn = connect(url).await?;
    with_harness(conn, |h| h.applied_migrations().map(|v| v.iter().map(ToString::to_string).collect())).await
}

async fn with_harness<T: Send + 'static>(
    conn: AsyncPgConnection,
    f: impl FnOnce(&mut AsyncMigrationHarness<AsyncPgConnection>) -> diesel::migration::Result<T> + Send + 'static,
) -> Result<T> {
    // The harness is synchronous (it blocks on the async connection), so it runs off the runtime's workers.
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        f(&mut harness).map_err(|e| Error::Internal(format!("migration failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("migration task failed: {e}")))?
}

/// Creates database `name` on the server at `admin_url` unless it exists (optionally from a template).
pub async fn ensure_database(admin_url: &str, name: &str, template: Option<&str>) -> Result<bool> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = connect(admin_url).await?;
    let exists = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result::<Count>(&mut conn)
        .await?
        .n
        > 0;
    if exists {
        return Ok(false);
    }
    let template = template.map(|t| format!(" TEMPLATE {}", quote_ident(t))).unwrap_or_default();
    conn.batch_execute(&format!("CREATE DATABASE {}{template}", quote_ident(name))).await?;
    Ok(true)
}

/// The database's character classification (`LC_CTYPE`). With `C` or `POSIX`, pg_trgm sees
/// only ASCII letters, so typo tolerance would split words at å, ä and ö.
pub async fn character_type(url: &str) -> Result<String> {
    #[derive(diesel::QueryableByName)]
    struct Ctype {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ctype: String,
    }
    let mut conn = connect(url).await?;
    Ok(diesel::sql_query("SELECT datctype::text AS ctype FROM pg_database WHERE datname = current_database()")
        .get_result::<Ctype>(&mut conn)
        .await?
        .ctype)
}

/// Quotes an SQL identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Checks that the database answers a trivial query (readiness).
pub async fn ping(pool: &Pool) -> Result<()> {
    let mut conn = pool.get().await?;
    conn.batch_execute("SELECT 1").await?;
    Ok(())
}

/// Replaces the database name in a `postgres://` URL (keeping any query string).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_urls() {
        assert_eq!(with_database("postgres://u@h:5/a", "b"), "postgres://u@h:5/b");
        assert_eq!(with_database("postgres://u@h:5", "b"), "postgres://u@h:5/b");
        assert_eq!(with_database("postgresql://u:p@h/a?sslmode=disable", "t_1"), "postgresql://u:p@h/t_1?sslmode=disable");
    }

    #[test]
    fn migrations_are_ordered_with_the_seed_second() {
        let names: Vec<String> = Migrations.migrations().unwrap().iter().map(|m| m.name().version().to_string()).collect();
        assert_eq!(
            names,
            [
                "20261124000001",
                seed::VERSION,
                "20261124000003",
                "20261124000004",
                "20261124000005",
                "20261124000006",
                "20261124000007",
                "20261124000008",
                "20261124000009",
                "20261124000010",
                "20261124000011",
                "20261124000012",
                "20261205000013",
                "20261205000014",
                seed::ASSOCIATION_CODES_VERSION,
                "20261205000016",
                "20261206000017",
                "20261206000018",
                "20261206000019",
                "20261206000020"
            ]
        );
        assert_eq!(migrations_fingerprint().len(), 12);
    }

    #[test]
    fn seed_sql_quotes_and_covers_every_row() {
        let sql = seed::up_sql();
        assert_eq!(sql.matches("'Örebro'").count(), 1);
        assert!(sql.contains("('1880', 'Örebro', '18')"));
        assert_eq!(
            sql.lines()
                .filter(|l| l.starts_with("('") && l.len() > 7 && l[2..6].bytes().all(|b| b.is_ascii_digit()) && l.as_bytes()[6] == b'\'')
                .count(),
            290
        );
    }
}
