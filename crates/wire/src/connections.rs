//! Open connections per listener, and what keeps a flood of them from taking the process
//! off the air: every process has a limit on open files, and each client connection
//! holds one (plus, usually, one upstream connection). Idle clients that keep sockets open
//! (keep-alive pools, or someone doing it on purpose) must not lock out new clients.
//!
//! * [`raise_open_file_limit`] — at start, the soft `RLIMIT_NOFILE` is raised to the hard
//!   limit (systemd and most shells start services at 1,024 soft, 524,288 hard).
//! * `Connections` — each listener holds at most `max_connections` (`[limits]`; by default
//!   sized from the open-file limit by [`default_max_connections`]). A connection is *busy*
//!   while a request is in service or its response body is being sent, *idle* otherwise
//!   (between keep-alive requests, or before its first request). At the cap, a new client
//!   sheds the connection idle the longest; if every connection is busy, the new client gets
//!   a short 503 and is closed.
//! * A connection idle for `IDLE_TIMEOUT` (30 s) — no request in service since it was
//!   accepted or since its last response was sent, so a silent client or one sending its
//!   request head a byte at a time — is closed by a sweep of the registry once a second
//!   (`Connections::sweep`). The sweep does the work of a per-request timer (hyper's
//!   header-read timeout armed and disarmed a timer on every request head) with one atomic
//!   store per request.
//! * Accept errors (out of file descriptors: `EMFILE`, `ENFILE`) shed the oldest idle
//!   connection and back off (doubling from 10 ms to 1 s) instead of spinning, with one log
//!   line per episode.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

/// The admin listener's cap: a quarter of the reserve [`default_max_connections`] keeps
/// outside the proxy listeners, between 8 and 64. The admin API serves a dashboard, a
/// scraper and the command line, never a crowd, so sockets held open on its port stay within
/// the reserve and leave the rest of it to the stores and the runtime.
pub fn admin_max_connections(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return 64;
    };
    let reserve = (limit / 4).min(256);
    usize::try_from(reserve / 4).unwrap_or(64).clamp(8, 64)
}

/// How long a connection may wait for a request (from its accept, or from the end of its last
/// response) before it is closed: the header-read timeout of nginx's and hyper's defaults.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`Connections::sweep`] runs: idle connections are closed within this of
/// [`IDLE_TIMEOUT`].
const IDLE_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One connection's entry. Requests only touch its atomics: marking a connection busy and
/// idle runs twice per request, so it takes no lock (it took the registry's lock and two map
/// updates, ~1,000 instructions of a hit, by callgrind); the lock is for registering,
/// dropping and shedding.
struct Slot {
    /// Requests in service plus response bodies being sent.
    busy: AtomicU32,
    /// While idle, when it became idle (a tick of [`Clocks::ticks`]); the idle connection
    /// with the smallest tick is shed first.
    idle_since: AtomicU64,
    /// While idle, the sweep it became idle in (a count of [`Clocks::sweeps`]).
    idle_sweep: AtomicU64,
    shed: CancellationToken,
}

impl Slot {
    #[inline]
    fn busy(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
    }

    #[inline]
    fn done(&self, clocks: &Clocks) {
        if self.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_sweep
                .store(clocks.sweeps.load(Ordering::Relaxed), Ordering::Relaxed);
            self.idle_since.store(clocks.tick(), Ordering::Release);
        }
    }

    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }
}

#[derive(Default)]
struct Registry {
    slots: HashMap<u64, Arc<Slot>>,
    next_id: u64,
}

/// The two clocks of a listener's idle connections, shared by its connections' trackers.
#[derive(Default)]
struct Clocks {
    /// Orders the moments connections became idle.
    ticks: AtomicU64,
    /// Sweeps so far: the coarse clock of the idle time-out.
    sweeps: AtomicU64,
}

impl Clocks {
    /// The next tick.
    #[inline]
    fn tick(&self) -> u64 {
        self.ticks.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The open connections of one listener (cheap to clone).
#[derive(Clone)]
pub(crate) struct Connections {
    registry: Arc<Mutex<Registry>>,
    clocks: Arc<Clocks>,
    cap: usize,
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            registry: Arc::default(),
            clocks: Arc::default(),
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
    /// is idle. A look at every connection: this runs only at the cap or when descriptors
    /// run out, never on a request.
    pub(crate) fn shed_oldest_idle(&self) -> bool {
        let mut r = self.lock();
        let oldest = r
            .slots
            .iter()
            .filter(|(_, slot)| slot.is_idle())
            .min_by_key(|(_, slot)| slot.idle_since.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        let Some(id) = oldest else {
            return false;
        };
        if let Some(slot) = r.slots.remove(&id) {
            slot.shed.cancel();
        }
        true
    }

    /// One sweep: closes every connection that has been idle for more than `idle_sweeps`
    /// whole sweeps (run every [`IDLE_SWEEP_EVERY`], so `idle_sweeps` of 30 closes
    /// connections idle 30–31 s). Returns how many were closed. A look at every connection,
    /// once a second: no request pays for the timeout.
    pub(crate) fn sweep(&self, idle_sweeps: u64) -> usize {
        let now = self.clocks.sweeps.fetch_add(1, Ordering::Relaxed) + 1;
        let mut r = self.lock();
        let before = r.slots.len();
        r.slots.retain(|_, slot| {
            let expired = slot.is_idle()
                && now.saturating_sub(slot.idle_sweep.load(Ordering::Relaxed)) > idle_sweeps;
            if expired {
                // The connection's task closes it; one that turned busy since finishes its
                // response first.
                slot.shed.cancel();
            }
            !expired
        });
        before - r.slots.len()
    }

    /// Sweeps every [`IDLE_SWEEP_EVERY`] until `stop`, closing the connections idle for
    /// [`IDLE_TIMEOUT`]; the log names the listener by its `upstream`.
    pub(crate) async fn close_idle_until(&self, stop: CancellationToken, upstream: &str) {
        let idle_sweeps = IDLE_TIMEOUT.as_secs() / IDLE_SWEEP_EVERY.as_secs();
        let mut every = tokio::time::interval(IDLE_SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = stop.cancelled() => break,
            }
            let closed = self.sweep(idle_sweeps);
            if closed > 0 {
                tracing::debug!(upstream, closed, "closed idle connections");
            }
        }
    }

    /// Registers a new (idle) connection.
    pub(crate) fn register(&self) -> Registered {
        let slot = Arc::new(Slot {
            busy: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.clocks.tick()),
            idle_sweep: AtomicU64::new(self.clocks.sweeps.load(Ordering::Relaxed)),
            shed: CancellationToken::new(),
        });
        let mut r = self.lock();
        r.next_id += 1;
        let id = r.next_id;
        r.slots.insert(id, slot.clone());
        Registered {
            conns: self.clone(),
            id,
            slot,
        }
    }
}

/// A registered connection; deregisters when dropped.
pub(crate) struct Registered {
    conns: Connections,
    id: u64,
    slot: Arc<Slot>,
}

impl Registered {
    /// Resolves when this connection has been chosen to make room.
    pub(crate) fn shed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.slot.shed.cancelled()
    }

    /// A handle for the connection's service, to mark requests busy.
    pub(crate) fn tracker(&self) -> Tracker {
        Tracker {
            slot: self.slot.clone(),
            clocks: self.conns.clocks.clone(),
        }
    }

    /// True once this connection has been chosen to make room (or swept as idle).
    #[inline]
    pub(crate) fn is_shed(&self) -> bool {
        self.slot.shed.is_cancelled()
    }

    /// True when nothing is in service on the connection.
    pub(crate) fn is_idle(&self) -> bool {
        self.slot.is_idle()
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.conns.lock().slots.remove(&self.id);
    }
}

/// Marks requests on one connection busy (held by its service).
#[derive(Clone)]
pub(crate) struct Tracker {
    slot: Arc<Slot>,
    clocks: Arc<Clocks>,
}

impl Tracker {
    /// Marks a request in service (or a response body being sent) until the guard drops.
    #[inline]
    pub(crate) fn busy(&self) -> Busy {
        self.slot.busy();
        Busy {
            tracker: self.clone(),
        }
    }
}

/// Keeps a connection busy while alive.
pub(crate) struct Busy {
    tracker: Tracker,
}

impl Drop for Busy {
    #[inline]
    fn drop(&mut self) {
        self.tracker.slot.done(&self.tracker.clocks);
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
        assert_eq!(admin_max_connections(Some(1024)), 64);
        assert_eq!(admin_max_connections(Some(160)), 10);
        assert_eq!(admin_max_connections(Some(20)), 8);
        assert_eq!(admin_max_connections(None), 64);
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
        assert!(b.slot.shed.is_cancelled());
        assert!(!a.slot.shed.is_cancelled());
        assert_eq!(conns.len(), 2);
        let d = conns.register();
        assert!(conns.make_room());
        assert!(a.slot.shed.is_cancelled());
        assert!(!c.slot.shed.is_cancelled() && !d.slot.shed.is_cancelled());
        let _d_busy = d.tracker().busy();
        let e = conns.register();
        let _e_busy = e.tracker().busy();
        // Everything busy: no room.
        assert!(!conns.make_room());
        drop(c_busy);
        assert!(conns.make_room());
        assert!(c.slot.shed.is_cancelled());
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
    fn a_connection_idle_past_the_timeout_is_closed_and_a_busy_one_never() {
        let conns = Connections::new(8);
        let silent = conns.register();
        let polling = conns.register();
        let streaming = conns.register();
        let _sending = streaming.tracker().busy();
        for _ in 0..29 {
            assert_eq!(conns.sweep(30), 0);
        }
        // The poller's request ends at the 29th sweep: its idle time counts from there.
        drop(polling.tracker().busy());
        assert_eq!(conns.sweep(30), 0, "30 sweeps: not past the timeout");
        assert_eq!(conns.sweep(30), 1, "31st: idle since its accept");
        assert!(silent.slot.shed.is_cancelled());
        assert_eq!(conns.len(), 2);
        // Idle since sweep 29: closed at sweep 60.
        for _ in 32..60 {
            assert_eq!(conns.sweep(30), 0);
        }
        assert_eq!(conns.sweep(30), 1, "idle since its response");
        assert!(polling.slot.shed.is_cancelled());
        for _ in 0..100 {
            assert_eq!(conns.sweep(30), 0);
        }
        assert!(
            !streaming.slot.shed.is_cancelled(),
            "a response still being sent is never cut"
        );
        assert_eq!(conns.len(), 1);
        // A closed connection's own deregistration finds nothing left to remove.
        drop(silent);
        assert_eq!(conns.len(), 1);
    }

    #[test]
    fn busy_response_is_well_formed() {
        let text = std::str::from_utf8(BUSY_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503"));
        assert_eq!(body.len(), 38);
    }
}
