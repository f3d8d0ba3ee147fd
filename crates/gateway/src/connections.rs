//! Open connections per proxy listener, and what keeps a flood of them from taking the
//! gateway off the air: every process has a limit on open files, and each client connection
//! holds one (plus, usually, one upstream connection). Idle clients that keep sockets open
//! (keep-alive pools, or someone doing it on purpose) must not lock out new clients.
//!
//! * [`raise_open_file_limit`] — at start, the soft `RLIMIT_NOFILE` is raised to the hard
//!   limit (systemd and most shells start services at 1,024 soft, 524,288 hard).
//! * [`Connections`] — each listener holds at most `max_connections` (`[limits]`; by default
//!   sized from the open-file limit by [`default_max_connections`]). A connection is *busy*
//!   while a request is in service or its response body is being sent, *idle* otherwise
//!   (between keep-alive requests, or before its first request). At the cap, a new client
//!   sheds the connection idle the longest; if every connection is busy, the new client gets
//!   a short 503 and is closed.
//! * Accept errors (out of file descriptors: `EMFILE`, `ENFILE`) shed the oldest idle
//!   connection and back off (doubling from 10 ms to 1 s) instead of spinning, with one log
//!   line per episode.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Raises the soft open-file limit to the hard limit. Returns the soft limit before and
/// after (equal when it was already at the hard limit or raising failed).
pub fn raise_open_file_limit() -> (u64, u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let Some(before) = lim.current else {
        // Unlimited already.
        return (u64::MAX, u64::MAX);
    };
    if lim.maximum.is_none_or(|hard| before < hard) {
        let raised = rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return (before, lim.maximum.unwrap_or(u64::MAX));
        }
    }
    (before, before)
}

/// The soft open-file limit now (`None` when unlimited).
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The per-listener cap when `[limits] max_connections` is not set: the open-file limit less a
/// reserve for the stores, the admin listener and the runtime (a quarter, at most 256), halved
/// because a client connection usually comes with an upstream one, and shared among the
/// proxy listeners. Never below 16.
pub fn default_max_connections(open_files: Option<u64>, listeners: usize) -> usize {
    let Some(limit) = open_files else {
        return 65_536;
    };
    let reserve = (limit / 4).min(256);
    let per_listener = limit.saturating_sub(reserve) / 2 / listeners.max(1) as u64;
    usize::try_from(per_listener).unwrap_or(usize::MAX).max(16)
}

/// One connection's entry.
struct Slot {
    /// Requests in service plus response bodies being sent.
    busy: u32,
    /// The idle order (a tick of [`Registry::ticks`]) while idle.
    idle_since: Option<u64>,
    shed: CancellationToken,
}

#[derive(Default)]
struct Registry {
    slots: HashMap<u64, Slot>,
    /// Idle connections by the tick they became idle: the first is the one to shed.
    idle: BTreeMap<u64, u64>,
    next_id: u64,
    ticks: u64,
}

impl Registry {
    fn set_idle(&mut self, id: u64) {
        self.ticks += 1;
        let tick = self.ticks;
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.idle_since = Some(tick);
            self.idle.insert(tick, id);
        }
    }
}

/// The open connections of one listener (cheap to clone).
#[derive(Clone)]
pub(crate) struct Connections {
    registry: Arc<Mutex<Registry>>,
    cap: usize,
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            registry: Arc::default(),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections held now (shed ones no longer count).
    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Makes room for one more connection: below the cap there is room; at it, the
    /// connection idle the longest is told to close. False when every connection is busy.
    pub(crate) fn make_room(&self) -> bool {
        if self.len() < self.cap {
            return true;
        }
        self.shed_oldest_idle()
    }

    /// Tells the connection idle the longest to close, and stops counting it. False if none
    /// is idle.
    pub(crate) fn shed_oldest_idle(&self) -> bool {
        let mut r = self.lock();
        let Some((_, id)) = r.idle.pop_first() else {
            return false;
        };
        if let Some(slot) = r.slots.remove(&id) {
            slot.shed.cancel();
        }
        true
    }

    /// Registers a new (idle) connection.
    pub(crate) fn register(&self) -> Registered {
        let mut r = self.lock();
        r.next_id += 1;
        let id = r.next_id;
        let shed = CancellationToken::new();
        r.slots.insert(
            id,
            Slot {
                busy: 0,
                idle_since: None,
                shed: shed.clone(),
            },
        );
        r.set_idle(id);
        Registered {
            conns: self.clone(),
            id,
            shed,
        }
    }

    fn busy(&self, id: u64) {
        let mut r = self.lock();
        let r = &mut *r;
        if let Some(slot) = r.slots.get_mut(&id) {
            slot.busy += 1;
            if let Some(tick) = slot.idle_since.take() {
                r.idle.remove(&tick);
            }
        }
    }

    fn done(&self, id: u64) {
        let mut r = self.lock();
        let now_idle = match r.slots.get_mut(&id) {
            Some(slot) => {
                slot.busy = slot.busy.saturating_sub(1);
                slot.busy == 0
            }
            None => false,
        };
        if now_idle {
            r.set_idle(id);
        }
    }

    fn is_idle(&self, id: u64) -> bool {
        self.lock().slots.get(&id).is_none_or(|slot| slot.busy == 0)
    }
}

/// A registered connection; deregisters when dropped.
pub(crate) struct Registered {
    conns: Connections,
    id: u64,
    shed: CancellationToken,
}

impl Registered {
    /// Resolves when this connection has been chosen to make room.
    pub(crate) fn shed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.shed.cancelled()
    }

    /// A handle for the connection's service, to mark requests busy.
    pub(crate) fn tracker(&self) -> Tracker {
        Tracker {
            conns: self.conns.clone(),
            id: self.id,
        }
    }

    /// True when nothing is in service on the connection.
    pub(crate) fn is_idle(&self) -> bool {
        self.conns.is_idle(self.id)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut r = self.conns.lock();
        if let Some(slot) = r.slots.remove(&self.id)
            && let Some(tick) = slot.idle_since
        {
            r.idle.remove(&tick);
        }
    }
}

/// Marks requests on one connection busy (held by its service).
#[derive(Clone)]
pub(crate) struct Tracker {
    conns: Connections,
    id: u64,
}

impl Tracker {
    /// Marks a request in service (or a response body being sent) until the guard drops.
    pub(crate) fn busy(&self) -> Busy {
        self.conns.busy(self.id);
        Busy {
            conns: self.conns.clone(),
            id: self.id,
        }
    }
}

/// Keeps a connection busy while alive.
pub(crate) struct Busy {
    conns: Connections,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conns.done(self.id);
    }
}

/// A response body that keeps its connection busy until it has been sent (or dropped).
/// Frames pass through untouched (the zero-copy path recognises them by address).
pub(crate) struct BusyBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B> BusyBody<B> {
    pub(crate) fn new(inner: B, busy: Busy) -> Self {
        Self { inner, _busy: busy }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for BusyBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Back-off after failed accepts: 10 ms doubling to 1 s, reset by a successful accept; logs
/// the first failure of an episode and how many followed when it ends.
#[derive(Default)]
pub(crate) struct AcceptBackoff {
    failures: u64,
}

impl AcceptBackoff {
    pub(crate) fn failed(&mut self, error: &std::io::Error, listener: &str) -> Duration {
        self.failures += 1;
        if self.failures == 1 {
            tracing::warn!(
                %error,
                listener,
                "accept failed (out of file descriptors?); closing the oldest idle connection \
                 and backing off"
            );
        }
        let exp = self.failures.min(7) as u32 - 1;
        Duration::from_millis(10 << exp).min(Duration::from_secs(1))
    }

    pub(crate) fn succeeded(&mut self, listener: &str) {
        if self.failures > 1 {
            tracing::warn!(
                failures = self.failures,
                listener,
                "accepting again after failed accepts"
            );
        }
        self.failures = 0;
    }
}

/// True for accept errors that mean "out of file descriptors" (this process or the system).
pub(crate) fn out_of_descriptors(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    matches!(Errno::from_io_error(e), Some(Errno::MFILE | Errno::NFILE))
}

/// What a client gets when every connection is busy: a short 503, then the socket closes.
pub(crate) const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Retry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\n\
cachearr: too many connections, retry\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_open_file_limit() {
        assert_eq!(default_max_connections(Some(1024), 1), 384);
        assert_eq!(default_max_connections(Some(1024), 2), 192);
        assert_eq!(default_max_connections(Some(200), 1), 75);
        assert_eq!(default_max_connections(Some(20), 1), 16);
        assert_eq!(default_max_connections(Some(524_288), 1), 262_016);
        assert_eq!(default_max_connections(None, 1), 65_536);
    }

    #[test]
    fn the_connection_idle_longest_is_shed_first_and_busy_ones_never() {
        let conns = Connections::new(3);
        let a = conns.register();
        let b = conns.register();
        let c = conns.register();
        // a becomes busy then idle again: now b is the oldest idle.
        drop(a.tracker().busy());
        let c_busy = c.tracker().busy();
        assert!(conns.make_room());
        assert!(b.shed.is_cancelled());
        assert!(!a.shed.is_cancelled());
        assert_eq!(conns.len(), 2);
        let d = conns.register();
        assert!(conns.make_room());
        assert!(a.shed.is_cancelled());
        assert!(!c.shed.is_cancelled() && !d.shed.is_cancelled());
        let _d_busy = d.tracker().busy();
        let e = conns.register();
        let _e_busy = e.tracker().busy();
        // Everything busy: no room.
        assert!(!conns.make_room());
        drop(c_busy);
        assert!(conns.make_room());
        assert!(c.shed.is_cancelled());
    }

    #[test]
    fn a_dropped_connection_frees_its_place() {
        let conns = Connections::new(1);
        let a = conns.register();
        let busy = a.tracker().busy();
        assert!(!conns.make_room());
        drop(busy);
        drop(a);
        assert_eq!(conns.len(), 0);
        assert!(conns.make_room());
    }

    #[test]
    fn busy_response_is_well_formed() {
        let text = std::str::from_utf8(BUSY_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503"));
        assert_eq!(body.len(), 38);
    }
}
