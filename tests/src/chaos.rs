//! A TCP chaos proxy for outage tests (as crates.io's tests do with theirs): it sits between a
//! service and its PostgreSQL server on loopback and, on command, cuts every connection and
//! refuses new ones, stalls them (open, but no byte moves either way), lets them flow again,
//! or closes them all and accepts again at once, as a restart of the server looks to its
//! clients.
//!
//! Point the service at [`ChaosProxy::url`] instead of the database's own URL.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Holds every connection open but forwards nothing (a frozen server, a black-holed
    /// network); new connections are accepted and held too.
    Stall,
    /// Every connection is closed; new ones are closed as soon as they are accepted.
    Cut,
}

#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    /// Bumped by [`ChaosProxy::restart`]: connections of an older generation close.
    generation: u64,
}

/// A proxy on 127.0.0.1 in front of one upstream address.
pub struct ChaosProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: watch::Sender<State>,
    open: Arc<Open>,
    accepted: Arc<AtomicUsize>,
    accept_task: tokio::task::JoinHandle<()>,
}

/// How long [`ChaosProxy::cut`] and [`ChaosProxy::restart`] wait for every connection to close
/// before giving up (they close within milliseconds; this only bounds a failure).
const CLOSE_GIVE_UP: Duration = Duration::from_secs(10);

impl ChaosProxy {
    /// A proxy forwarding to `upstream`, passing bytes until told otherwise.
    pub async fn start(upstream: SocketAddr) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the chaos proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let (state, _) = watch::channel(State { mode: Mode::Pass, generation: 0 });
        let open = Arc::new(Open::default());
        let accepted = Arc::new(AtomicUsize::new(0));
        let accept_task = tokio::spawn(accept_loop(listener, upstream, state.clone(), open.clone(), accepted.clone()));
        ChaosProxy { addr, upstream, state, open, accepted, accept_task }
    }

    /// A proxy in front of the PostgreSQL server of `database_url` (`postgres://user@host:port/db`).
    pub async fn for_database(database_url: &str) -> ChaosProxy {
        let (_, hostport, _) = split_url(database_url);
        let upstream = tokio::net::lookup_host(hostport)
            .await
            .unwrap_or_else(|e| panic!("resolve {hostport}: {e}"))
            .next()
            .unwrap_or_else(|| panic!("{hostport} resolves to no address"));
        ChaosProxy::start(upstream).await
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `database_url` with its host and port replaced by the proxy's: the same user, database
    /// and options, through the proxy.
    pub fn url(&self, database_url: &str) -> String {
        let (scheme_and_user, _, rest) = split_url(database_url);
        format!("{scheme_and_user}{}{rest}", self.addr)
    }

    /// Connections open through the proxy now.
    pub fn open_connections(&self) -> usize {
        self.open.total()
    }

    /// Connections accepted since the start (including those refused while cut).
    pub fn accepted_connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.state.borrow().mode
    }

    /// Closes every open connection and refuses new ones (they are accepted and closed at
    /// once) until [`restore`](Self::restore). Returns once every connection is closed.
    pub async fn cut(&self) {
        self.state.send_modify(|s| s.mode = Mode::Cut);
        self.wait_closed("cut").await;
    }

    /// Keeps every connection open but forwards no byte either way until
    /// [`restore`](Self::restore); new connections are held the same way.
    pub fn stall(&self) {
        self.state.send_modify(|s| s.mode = Mode::Stall);
    }

    /// Forwards again (held bytes flow on; after a cut, new connections are accepted).
    pub fn restore(&self) {
        self.state.send_modify(|s| s.mode = Mode::Pass);
    }

    /// A restart as clients see it: every open connection is closed, and new ones are accepted
    /// and forwarded at once. Returns once the old connections are closed.
    pub async fn restart(&self) {
        let mut generation = 0;
        self.state.send_modify(|s| {
            s.mode = Mode::Pass;
            s.generation += 1;
            generation = s.generation;
        });
        // New connections may open at once: wait only for the older ones.
        let closed = async {
            while self.open.older_than(generation) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(CLOSE_GIVE_UP, closed).await.unwrap_or_else(|_| {
            panic!("chaos proxy: {} connections still open {CLOSE_GIVE_UP:?} after the restart", self.open.older_than(generation))
        });
    }

    async fn wait_closed(&self, what: &str) {
        let closed = async {
            while self.open.total() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(CLOSE_GIVE_UP, closed).await.unwrap_or_else(|_| {
            panic!("chaos proxy: {} connections still open {CLOSE_GIVE_UP:?} after the {what}", self.open_connections())
        });
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.state.send_modify(|s| s.mode = Mode::Cut);
        self.accept_task.abort();
    }
}

/// Splits `scheme://[user[:password]@]host:port[/rest]` into (`scheme://user@`, `host:port`, `/rest`).
fn split_url(url: &str) -> (&str, &str, &str) {
    let start = url.find("://").map(|i| i + 3).unwrap_or_else(|| panic!("'{url}' is not a URL"));
    let end = url[start..].find(['/', '?']).map(|i| start + i).unwrap_or(url.len());
    let authority = &url[start..end];
    let host_at = authority.rfind('@').map(|i| start + i + 1).unwrap_or(start);
    (&url[..host_at], &url[host_at..end], &url[end..])
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: watch::Sender<State>,
    open: Arc<Open>,
    accepted: Arc<AtomicUsize>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        accepted.fetch_add(1, Ordering::SeqCst);
        let now = *state.borrow();
        if now.mode == Mode::Cut {
            drop(client);
            continue;
        }
        let _ = client.set_nodelay(true);
        let guard = OpenGuard::new(open.clone(), now.generation);
        let rx = state.subscribe();
        tokio::spawn(async move {
            let _guard = guard;
            let mut dead_rx = rx.clone();
            let upstream = tokio::select! {
                c = TcpStream::connect(upstream) => match c {
                    Ok(c) => c,
                    Err(_) => return,
                },
                () = dead(&mut dead_rx, now.generation) => return,
            };
            let _ = upstream.set_nodelay(true);
            let (mut client_read, mut client_write) = client.into_split();
            let (mut upstream_read, mut upstream_write) = upstream.into_split();
            // Either direction ending (EOF, error, cut, restart) closes both.
            tokio::select! {
                () = forward(&mut client_read, &mut upstream_write, rx.clone(), now.generation) => {}
                () = forward(&mut upstream_read, &mut client_write, rx, now.generation) => {}
            }
        });
    }
}

/// Copies `from` to `to` while the proxy passes; holds what it read while stalled; returns
/// when either side closes or the connection is cut or restarted.
async fn forward(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut state: watch::Receiver<State>,
    generation: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut dead_rx = state.clone();
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            () = dead(&mut dead_rx, generation) => return,
        };
        // Stalled: hold the bytes until the proxy passes again (or the connection dies).
        loop {
            let s = *state.borrow_and_update();
            if s.generation != generation || s.mode == Mode::Cut {
                return;
            }
            if s.mode == Mode::Pass {
                break;
            }
            if state.changed().await.is_err() {
                return;
            }
        }
        tokio::select! {
            r = to.write_all(&buf[..n]) => if r.is_err() { return },
            () = dead(&mut dead_rx, generation) => return,
        }
    }
}

/// Resolves when a connection of `generation` must close: the proxy cut, restarted or dropped.
async fn dead(state: &mut watch::Receiver<State>, generation: u64) {
    loop {
        {
            let s = *state.borrow_and_update();
            if s.generation != generation || s.mode == Mode::Cut {
                return;
            }
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Open connections by generation.
#[derive(Default)]
struct Open(Mutex<BTreeMap<u64, usize>>);

impl Open {
    fn total(&self) -> usize {
        self.0.lock().expect("never poisoned").values().sum()
    }

    fn older_than(&self, generation: u64) -> usize {
        self.0.lock().expect("never poisoned").range(..generation).map(|(_, n)| n).sum()
    }
}

/// Counts a connection as open while it lives.
struct OpenGuard(Arc<Open>, u64);

impl OpenGuard {
    fn new(open: Arc<Open>, generation: u64) -> OpenGuard {
        *open.0.lock().expect("never poisoned").entry(generation).or_default() += 1;
        OpenGuard(open, generation)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.0.0.lock()
            && let Some(n) = open.get_mut(&self.1)
        {
            *n -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_at_the_host() {
        assert_eq!(split_url("postgres://postgres@127.0.0.1:5432/t_1"), ("postgres://postgres@", "127.0.0.1:5432", "/t_1"));
        assert_eq!(
            split_url("postgres://u:p%40ss@localhost:5433/db?sslmode=disable"),
            ("postgres://u:p%40ss@", "localhost:5433", "/db?sslmode=disable")
        );
        assert_eq!(split_url("postgres://127.0.0.1:5432"), ("postgres://", "127.0.0.1:5432", ""));
    }

    /// An echo server on loopback.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// Sends `msg` and reads its echo; None if the connection is closed instead.
    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Option<Vec<u8>> {
        s.write_all(msg).await.ok()?;
        let mut buf = vec![0; msg.len()];
        match tokio::time::timeout(CLOSE_GIVE_UP, s.read_exact(&mut buf)).await.expect("an answer or a close") {
            Ok(_) => Some(buf),
            Err(_) => None,
        }
    }

    #[tokio::test]
    async fn the_proxy_cuts_stalls_restores_and_restarts() {
        let proxy = ChaosProxy::start(echo().await).await;
        let mut a = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut a, b"one").await.as_deref(), Some(&b"one"[..]));
        assert_eq!(proxy.open_connections(), 1);

        // Stalled: the connection stays open, but nothing comes back until restored.
        proxy.stall();
        a.write_all(b"two").await.unwrap();
        let mut buf = [0u8; 3];
        assert!(tokio::time::timeout(Duration::from_millis(200), a.read_exact(&mut buf)).await.is_err(), "nothing passes a stall");
        proxy.restore();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"two", "held bytes flow on");

        // Cut: open connections close, new ones are closed at once, until restored.
        proxy.cut().await;
        assert_eq!(proxy.open_connections(), 0);
        assert_eq!(round_trip(&mut a, b"three").await, None);
        let mut b = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut b, b"four").await, None);
        proxy.restore();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut c, b"five").await.as_deref(), Some(&b"five"[..]));

        // Restart: open connections close, new ones pass at once.
        proxy.restart().await;
        assert_eq!(round_trip(&mut c, b"six").await, None);
        let mut d = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut d, b"seven").await.as_deref(), Some(&b"seven"[..]));
        assert_eq!(proxy.mode(), Mode::Pass);
        assert_eq!(proxy.accepted_connections(), 4);
    }
}
