//! Progress of long work: a bar redrawn in place on a terminal, a log line now and then otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress of `total` items.
pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
    terminal: bool,
    quiet: bool,
}

impl Progress {
    /// Starts reporting `total` items of `what` on standard error (nothing when `quiet`).
    pub fn new(what: &'static str, total: u64, quiet: bool) -> Progress {
        let now = Instant::now();
        Progress { what, total, done: 0, started: now, last: now, terminal: std::io::stderr().is_terminal(), quiet }
    }

    /// Adds `n` items done.
    pub fn add(&mut self, n: u64) {
        self.done += n;
        let every = if self.terminal { Duration::from_millis(100) } else { Duration::from_secs(10) };
        if self.last.elapsed() >= every || self.done == self.total {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        if self.quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        let pct = if self.total == 0 { 100.0 } else { 100.0 * self.done as f64 / self.total as f64 };
        let line = format!("{} / {} {} ({pct:.0} %, {rate:.0}/s)", self.done, self.total, self.what);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 30;
            let filled = ((pct / 100.0) * width as f64).round() as usize;
            let _ = write!(err, "\r[{}{}] {line}\x1b[K", "#".repeat(filled.min(width)), " ".repeat(width - filled.min(width)));
        } else {
            let _ = writeln!(err, "progress: {line}");
        }
        let _ = err.flush();
    }

    /// Ends the bar (a newline on a terminal).
    pub fn finish(&mut self) {
        self.draw();
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}
