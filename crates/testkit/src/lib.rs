//! cachearr-testkit: what the workspace's tests share, so each test file does not grow its own
//! copy. A dev-dependency only (`publish = false`). Without features it knows nothing of the
//! gateway, the engine or the simulator; with `sim-gateway` it holds the one fixture that
//! serves the gateway in front of the simulator (`sim_gateway`), which the gateway's, the
//! copy's and the admin's tests share. Harnesses of one crate's tests alone stay in that
//! crate's `tests/` folder and build on this.
//!
//! # Map
//! - [`free_port`], [`wait_for_port`] — loopback ports for child processes that must be told
//!   their port (servers the test binds itself use `127.0.0.1:0` instead).
//! - [`eventually`] (and [`eventually_ok`], which returns what it waited for and shows the last
//!   state on failure; [`eventually_blocking`] for synchronous code) — wait for a condition,
//!   bounded by a deadline and failing with a message: background work (events, crawls,
//!   refreshes, replication) is waited for by its effect, never by a fixed sleep.
//! - [`redis`] — private `redis-server` processes on free ports, killed on drop: one server
//!   ([`redis::RedisServer`]), a cluster ([`redis::RedisCluster`]), or a master and replica
//!   watched by Sentinels ([`redis::RedisSentinels`]); and [`redis::redis_cli`].
//! - [`http`] — a request's JSON answer, failing with the URL and the status unless it is 2xx
//!   JSON: [`http::get_json`] for a plain GET, [`http::json_answer`] for a request with headers
//!   or a bearer token.
//! - [`copy_dir`] — a directory tree copied whole: a data directory as a stopped process
//!   left it, for a restart on it.
//! - `sim_gateway` (with the `sim-gateway` feature) — the gateway as shipped, on loopback in
//!   front of the simulator: the end-to-end fixture of the gateway's, the copy's and the
//!   admin's tests.
//! - [`workspace_root`], [`venv_python`] — the workspace's files and its Python environments
//!   (made by `scripts/setup-test-env`; missing, the test fails saying so); [`KillOnDrop`], a
//!   child process killed and reaped on drop; [`output_within`], a command's output, failing
//!   with what it said if it has not ended in time; [`log_lines`], a server's log read to
//!   its end.

#![allow(
    clippy::disallowed_methods,
    reason = "the test kit's waits have real deadlines"
)]

pub mod http;
mod process;
pub mod redis;
#[cfg(feature = "sim-gateway")]
pub mod sim_gateway;

pub use process::{KillOnDrop, log_lines, output_within, venv_python, workspace_root};

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often [`eventually`] and [`eventually_blocking`] look again: often enough not to slow
/// a test, rarely enough not to load a shared machine.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// A loopback port free right now (the OS picks it; the listener closes before returning),
/// and never one this process was given before.
///
/// The OS may hand a port it just freed to the next `bind(0)`, so two calls in a row (a proxy's
/// and an admin listener's port) could return the same port; the ports handed out are kept
/// and a repeat is asked for again.
///
/// # Panics
/// If no loopback port can be bound, or the OS keeps giving ports already handed out.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    for _ in 0..1_000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("the OS gave only ports already handed out, 1,000 times")
}

/// Blocks until something accepts connections on loopback `port`.
///
/// # Panics
/// If nothing does within `limit`; `what` names the awaited server in the message.
pub fn wait_for_port(what: &str, port: u16, limit: Duration) {
    eventually_blocking(&format!("{what} listening on port {port}"), limit, || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// Polls `check` until it holds.
///
/// The deadline is on the real clock, so a test on tokio's paused clock still ends.
///
/// # Panics
/// If `check` still fails after `limit`: "timed out after {limit}: {what}".
pub async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    eventually_ok(what, limit, async || {
        if check().await {
            Ok(())
        } else {
            Err(String::new())
        }
    })
    .await;
}

/// [`eventually`] for a check that has something to show: polls `check` until it returns
/// `Ok`, and returns what it holds; `Err` says what was seen instead, so a timeout shows the
/// last state rather than only that the wait failed.
///
/// # Panics
/// If `check` still answers `Err` after `limit`: "timed out after {limit}: {what}: {last}".
pub async fn eventually_ok<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "timed out after {limit:?}: {what}{}{seen}",
                if seen.is_empty() { "" } else { ": " }
            ),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// [`eventually`] for synchronous code (child processes, blocking clients): polls `check`
/// with thread sleeps until it holds.
///
/// # Panics
/// If `check` still fails after `limit`.
pub fn eventually_blocking(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// Copies the directory tree `from` to `to` (made when missing), files and subdirectories:
/// what a restart test runs on, so that the process it stopped keeps its own files.
///
/// # Panics
/// If a file or directory cannot be read or written.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", from.display()));
        let target = to.join(entry.file_name());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound_and_waited_for() {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        wait_for_port("the test's listener", port, Duration::from_secs(5));
        drop(listener);
    }

    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..500).map(|_| free_port()).collect();
        let distinct: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }

    #[test]
    #[should_panic(expected = "timed out after 50ms: never")]
    fn eventually_blocking_fails_with_its_message() {
        eventually_blocking("never", Duration::from_millis(50), || false);
    }

    #[tokio::test]
    async fn eventually_returns_once_the_condition_holds() {
        let mut n = 0;
        eventually("three calls", Duration::from_secs(5), async || {
            n += 1;
            n == 3
        })
        .await;
        assert_eq!(n, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 50ms: never")]
    async fn eventually_fails_with_its_message() {
        eventually("never", Duration::from_millis(50), async || false).await;
    }

    #[tokio::test]
    async fn eventually_ok_returns_the_value() {
        let mut n = 0;
        let got = eventually_ok("two calls", Duration::from_secs(5), async || {
            n += 1;
            if n == 2 {
                Ok(n * 10)
            } else {
                Err(format!("n = {n}"))
            }
        })
        .await;
        assert_eq!(got, 20);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 50ms: the page: it showed 3")]
    async fn eventually_ok_fails_with_the_last_state() {
        eventually_ok("the page", Duration::from_millis(50), async || {
            Err::<(), _>("it showed 3".to_owned())
        })
        .await;
    }
}
