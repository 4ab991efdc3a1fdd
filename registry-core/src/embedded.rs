//! The embedded default database: a private PostgreSQL + PostGIS cluster started from the
//! installed server binaries in a data directory, kept between runs and stopped on exit.
//!
//! PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres`
//! user (through `runuser`), which must be able to reach the data directory.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why the embedded database could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// Another process holds the data directory.
    #[error(
        "the data directory {0} is already in use by another registry process (its lock file is held); stop that process or pass another --data-dir"
    )]
    InUse(PathBuf),
    /// The PostgreSQL server binaries were not found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in {searched}; install them with `apt-get install postgresql-15 postgresql-15-postgis-3` (make demo does this), set REGISTRY_PG_BINDIR, or set DATABASE_URL to use an existing server"
    )]
    NotInstalled {
        /// Where we looked.
        searched: String,
    },
    /// The data directory cannot be used by the server's user.
    #[error("{0}")]
    Unreachable(String),
    /// A command failed.
    #[error("{what} failed: {detail}")]
    Command {
        /// The step.
        what: String,
        /// Its output or error.
        detail: String,
    },
    /// File system trouble.
    #[error("{what}: {source}")]
    Io {
        /// What we tried.
        what: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let what = what.into();
    move |source| EmbeddedError::Io { what, source }
}

/// Options for [`EmbeddedPostgres::start`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory (the cluster lives in `<dir>/pgdata`).
    pub data_dir: PathBuf,
    /// Directory with `initdb` and `pg_ctl`; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Turn off fsync (for throwaway test clusters only).
    pub fast_unsafe: bool,
}

/// A running private cluster. Stops the server when dropped.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    pgdata: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<&'static str>,
    port: u16,
    running: bool,
    _lock: File,
}

/// The user the server runs as when we are root.
const SERVER_USER: &str = "postgres";

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn find_bin_dir(explicit: Option<PathBuf>) -> Result<PathBuf, EmbeddedError> {
    let mut candidates: Vec<PathBuf> = explicit.into_iter().collect();
    if let Ok(v) = std::env::var("REGISTRY_PG_BINDIR") {
        candidates.push(v.into());
    }
    for version in ["17", "16", "15"] {
        candidates.push(format!("/usr/lib/postgresql/{version}/bin").into());
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
    }
    candidates.iter().find(|d| d.join("pg_ctl").is_file() && d.join("initdb").is_file()).cloned().ok_or_else(|| {
        EmbeddedError::NotInstalled { searched: candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ") }
    })
}

fn free_port() -> Result<u16, EmbeddedError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    Ok(l.local_addr().map_err(io_err("finding a free port"))?.port())
}

impl EmbeddedPostgres {
    /// Starts the cluster in `opts.data_dir`, creating it on first use. Blocking.
    pub fn start(opts: &Options) -> Result<Self, EmbeddedError> {
        fs::create_dir_all(&opts.data_dir).map_err(io_err(format!("creating {}", opts.data_dir.display())))?;
        let data_dir = opts.data_dir.canonicalize().map_err(io_err(format!("resolving {}", opts.data_dir.display())))?;
        let lock_path = data_dir.join("registry.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(format!("opening {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(EmbeddedError::InUse(data_dir)),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(format!("locking {}", lock_path.display()))(e)),
        }
        let bin_dir = find_bin_dir(opts.bin_dir.clone())?;
        let run_as = is_root().then_some(SERVER_USER);
        let mut pg = EmbeddedPostgres { pgdata: data_dir.join("pgdata"), data_dir, bin_dir, run_as, port: 0, running: false, _lock: lock };
        if let Some(user) = run_as {
            pg.hand_over_to(user)?;
        }
        if !pg.pgdata.join("PG_VERSION").is_file() {
            pg.init(opts.fast_unsafe)?;
        }
        pg.stop_orphan()?;
        pg.port = free_port()?;
        pg.start_server(opts.fast_unsafe)?;
        Ok(pg)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection URL for database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let bin = self.bin_dir.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(bin);
                c
            }
            None => Command::new(bin),
        }
    }

    fn run(&self, what: &str, cmd: &mut Command) -> Result<Output, EmbeddedError> {
        let out = cmd.output().map_err(io_err(format!("running {what}")))?;
        if out.status.success() {
            Ok(out)
        } else {
            let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if detail.is_empty() {
                detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
            let log = self.data_dir.join("postgres.log");
            if let Ok(text) = fs::read_to_string(&log) {
                let tail: Vec<&str> = text.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
                detail = format!("{detail}\nlast lines of {}:\n{}", log.display(), tail.join("\n"));
            }
            Err(EmbeddedError::Command { what: what.into(), detail })
        }
    }

    /// As root: give the data directory to the server's user and check that it can reach it.
    fn hand_over_to(&self, user: &str) -> Result<(), EmbeddedError> {
        self.run("chown of the data directory", Command::new("chown").arg(format!("{user}:")).arg(&self.data_dir))?;
        if self.pgdata.exists() {
            self.run("chown of the cluster", Command::new("chown").arg("-R").arg(format!("{user}:")).arg(&self.pgdata))?;
        }
        let probe = Command::new("runuser").args(["-u", user, "--", "test", "-w"]).arg(&self.data_dir).status();
        if !matches!(probe, Ok(s) if s.success()) {
            return Err(EmbeddedError::Unreachable(format!(
                "PostgreSQL refuses to run as root, so the embedded database runs as the '{user}' user, and that user cannot reach {}: \
                 a parent directory lacks search (x) permission for others. Pass --data-dir with a directory it can reach \
                 (for example /var/lib/registry), or grant access with `chmod o+x` on the parent directories.",
                self.data_dir.display()
            )));
        }
        Ok(())
    }

    fn init(&self, fast: bool) -> Result<(), EmbeddedError> {
        tracing::info!(dir = %self.pgdata.display(), "creating the embedded PostgreSQL cluster");
        let staging = self.data_dir.join("pgdata.init");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_err(format!("removing {}", staging.display())))?;
        }
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&staging).args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]);
        if fast {
            cmd.arg("--no-sync");
        }
        self.run("initdb", &mut cmd)?;
        // Renamed only when complete, so an interrupted initdb never leaves a half cluster behind.
        fs::rename(&staging, &self.pgdata).map_err(io_err("moving the new cluster into place"))
    }

    /// A server left running by a process that died without stopping it: we hold the lock now, so stop it.
    fn stop_orphan(&self) -> Result<(), EmbeddedError> {
        if !self.pgdata.join("postmaster.pid").exists() {
            return Ok(());
        }
        let status = self.command("pg_ctl").arg("status").arg("-D").arg(&self.pgdata).output().map_err(io_err("running pg_ctl status"))?;
        if status.status.success() {
            tracing::warn!("stopping a PostgreSQL server left running by an earlier registry process");
            self.run("pg_ctl stop", self.command("pg_ctl").arg("stop").arg("-D").arg(&self.pgdata).args(["-m", "fast", "-w"]))?;
        }
        Ok(())
    }

    fn start_server(&mut self, fast: bool) -> Result<(), EmbeddedError> {
        let mut options = format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''", self.port);
        if fast {
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start")
            .arg("-w")
            .args(["-t", "60"])
            .arg("-D")
            .arg(&self.pgdata)
            .arg("-l")
            .arg(self.data_dir.join("postgres.log"))
            .arg("-o")
            .arg(options);
        // Its own process group: a Ctrl-C in the terminal reaches us, and we stop the server in order.
        cmd.process_group(0);
        self.run("starting PostgreSQL (pg_ctl start)", &mut cmd)?;
        self.running = true;
        tracing::info!(port = self.port, dir = %self.pgdata.display(), "embedded PostgreSQL is running");
        Ok(())
    }

    /// Stops the server (fast shutdown: open transactions are rolled back). Idempotent.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        self.run("pg_ctl stop", self.command("pg_ctl").arg("stop").arg("-D").arg(&self.pgdata).args(["-m", "fast", "-w", "-t", "60"]))?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "could not stop the embedded PostgreSQL");
        }
    }
}
