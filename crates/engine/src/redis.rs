//! [`RedisTier`]: the shared tier on Redis / Valkey (one server, a Redis Cluster, or the
//! master of a Sentinel-monitored group, followed across failovers), below memory and disk,
//! through which several cachearr instances behave as one cache.
//!
//! * **Records** are the engine's encoded records ([`crate::codec`]) behind a tag and an
//!   8-byte prefix (the writer's shared clear number, see below), stored under
//!   `{ns}:s:{epoch}:{key}` with `PX` set to the end of their longest window. Writes come from
//!   the write-behind worker (one pipeline per batch, or one command per key on a cluster): a
//!   client never waits on Redis for a value it already has.
//! * **Records are authenticated** (`seal`): the tag is an HMAC over the Redis key and the
//!   record, keyed by a key derived from the installation secret ([`SharedSecret`]). A
//!   record copied under another key (another user's), written with another secret or
//!   altered is a miss, counted (`rejected_records`) and warned about at most every 10 s.
//! * **Tag generations** live in the hash `{ns}:gens`. An invalidation bumps the local
//!   counter at once, then `HINCRBY`s the shared one (so two instances invalidating the same
//!   tag get two different generations) and broadcasts it on the channel `{ns}:events`;
//!   the others raise their own counters, which kills their memory and disk copies.
//! * **Clears** (prefix and clear-all) get a number from `INCR {ns}:clearseq`, are logged in
//!   the sorted set `{ns}:clears` and broadcast; the others apply them to their memory and
//!   disk. A clear-all also bumps `{ns}:epoch`, which is part of every record key, so every
//!   old record in Redis becomes unreachable in one command; a prefix clear deletes the
//!   matching records (`SCAN` + `DEL`, on every master of a cluster) before it is announced.
//!   A record carries the newest clear number its writer knew, so a record written by an
//!   instance that had not heard of a clear yet is recognised as dead by readers that have.
//! * **Missed broadcasts** (a dropped pub/sub connection, a Redis restart, an instance that
//!   was cut off) are caught by a poll of `{ns}:ver` (bumped by every invalidation) every
//!   `poll_every`, and by a full resync whenever the event connection is (re)established or
//!   Redis answers again after failing: generations are raised, missed clears applied,
//!   invalidations this instance made while Redis was unreachable are sent then, and shared
//!   counters Redis lost (restarted empty, a failover that lost the last writes) are put
//!   back up to what this instance knows.
//! * **Single-flight across instances**: before loading, an instance takes
//!   `SET {ns}:l:{key} <token> NX PX lock_ttl`. The holder loads, writes the record and
//!   announces it (`f`); the others wait for that announcement (or a 200 ms poll of the key),
//!   then read the record. If the holder dies its lock expires and a waiter takes it; no
//!   waiter waits longer than `lock_wait` before loading by itself.
//! * **Redis down, slow or full never fails a request**: each command is bounded, failures
//!   feed a circuit breaker (three in a row skip the tier for two seconds; reads are misses,
//!   writes are dropped). A write refused with `OOM` (maxmemory + noeviction) is counted and
//!   shown but does not open the breaker: Redis is answering.
//!
//! # Layout
//! The cache owns the tier and hands it a [`LocalCache`] (its own invalidation state and
//! local copies) to change when other instances announce something; nothing here imports the
//! cache. Inside, each file uses only those listed before it:
//! * `seal` — record authentication: [`SharedSecret`], the tag bound to the Redis key.
//! * `connection` — URLs (single, cluster, Sentinel), TLS, redaction, connecting.
//! * `breaker` — bounded commands and the circuit breaker they feed.
//! * `records` — record keys, reads, write-behind batches, prefix deletes.
//! * `lock` — single-flight across instances (load lock, waiters, release).
//! * `lease` — one holder of a piece of background work among the instances, with a fence,
//!   and the sealed records it publishes for the others.
//! * `sync` — sharing tag bumps and clears, resyncs after missed broadcasts.
//! * `events` — the pub/sub task: subscribe, resync, poll, apply announcements.

mod breaker;
mod connection;
mod events;
mod lease;
mod lock;
mod records;
mod seal;
mod sync;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::locks::LockUnpoisoned;
use crate::stats::TierStats;
use crate::tally::Tally;
use crate::tier::TierKind;

use connection::Conn;
pub use connection::redact_url;
pub use lease::{LeaseAnswer, LeaseValue, Published};
pub(crate) use lock::Coordination;
pub use seal::SharedSecret;

/// What the shared tier changes in the cache that owns it: the local tag generations and the
/// local copies (memory and disk). The cache implements it and hands it over weakly, so the
/// tier never keeps the cache alive and never reaches into its internals.
pub(crate) trait LocalCache: Send + Sync + 'static {
    /// The local generation of `tag`.
    fn tag_generation(&self, tag: &str) -> u64;
    /// Raises `tag`'s local generation to at least `generation`; entries stamped with an
    /// older one are dead at once.
    fn raise_tag(&self, tag: &str, generation: u64);
    /// Every tag generation held locally.
    fn tag_generations(&self) -> Vec<(String, u64)>;
    /// Applies a clear another instance announced to this instance's memory and disk only
    /// (the empty prefix clears everything): Redis has it already.
    fn apply_clear(self: Arc<Self>, prefix: &str);
}

/// Settings of a [`RedisTier`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Key namespace: two installations with different namespaces never see each other's
    /// entries on one Redis server (default `cachearr`).
    pub namespace: String,
    /// Bound on every command; a slower answer counts as a failure (default 250 ms).
    pub command_timeout: Duration,
    /// Bound on connecting (default 2 s).
    pub connect_timeout: Duration,
    /// How long a load lock lives: an instance that dies while loading holds the key at most
    /// this long (default 10 s).
    pub lock_ttl: Duration,
    /// The longest an instance waits for another instance's load before loading by itself
    /// (default 5 s).
    pub lock_wait: Duration,
    /// How often to check for invalidations whose broadcast was missed (default 1 s).
    pub poll_every: Duration,
    /// PEM root certificate(s) to trust for `rediss://` (default: the system's roots).
    pub root_cert: Option<Vec<u8>>,
    /// The secret every instance sharing this Redis holds (the gateway's installation
    /// secret): records are authenticated with a key derived from it, so an instance reads a
    /// record only under the key it was written for and only from an instance with the same
    /// secret. Required: connecting without one is refused.
    pub secret: SharedSecret,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            namespace: "cachearr".into(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(2),
            lock_ttl: Duration::from_secs(10),
            lock_wait: Duration::from_secs(5),
            poll_every: Duration::from_secs(1),
            root_cert: None,
            secret: SharedSecret::default(),
        }
    }
}

/// Health of the Redis tier, for statistics and readiness.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisHealth {
    /// `up`, `degraded` (the breaker skips the tier) or `down` (no event connection: Redis
    /// unreachable, reconnecting).
    pub state: &'static str,
    /// True while Redis is down or the circuit breaker skips the tier.
    pub degraded: bool,
    /// True while the circuit breaker skips the tier (Redis failing or slow).
    pub breaker_open: bool,
    /// Whether the event (pub/sub) connection is subscribed.
    pub subscribed: bool,
    /// Whether this is a Redis Cluster.
    pub cluster: bool,
    /// Commands that failed or timed out.
    pub errors: u64,
    /// Writes Redis refused for lack of memory (`OOM`, maxmemory with noeviction).
    pub oom_errors: u64,
    /// The last error (never contains a password).
    pub last_error: Option<String>,
    /// Reads and write batches skipped because the breaker was open.
    pub skipped: u64,
    /// Times the breaker opened.
    pub breaker_trips: u64,
    /// Records read from Redis.
    pub hits: u64,
    /// Reads that found nothing (rejected records included).
    pub misses: u64,
    /// Records whose tag did not check out (copied under another key, written by an instance
    /// with another secret, or altered): read as misses, never served.
    pub rejected_records: u64,
    /// Records written.
    pub writes: u64,
    /// Records not written because the write-behind queue was full.
    pub dropped_writes: u64,
    /// Loads this instance did under the cross-instance lock.
    pub locks_taken: u64,
    /// Loads answered by another instance's load (the value landed while waiting).
    pub waits_filled: u64,
    /// Waits that ended by loading locally (bound reached, or the holder released without a
    /// value).
    pub waits_gave_up: u64,
    /// Invalidation events received from other instances.
    pub events_received: u64,
    /// Full resyncs of generations and clears (start, reconnects, missed broadcasts).
    pub resyncs: u64,
}

#[derive(Default)]
struct Counters {
    consecutive: AtomicU32,
    open_until_ms: AtomicU64,
    open: AtomicBool,
    errors: AtomicU64,
    oom: AtomicU64,
    skipped: AtomicU64,
    trips: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
    writes: AtomicU64,
    dropped: AtomicU64,
    locks: AtomicU64,
    waits_filled: AtomicU64,
    waits_gave_up: AtomicU64,
    events: AtomicU64,
    resyncs: AtomicU64,
    /// Set when a command failed; the next success triggers a resync.
    need_resync: AtomicBool,
}

/// Shared state of one tier (all clones).
struct State {
    conn: Conn,
    /// Clients for the event connection: the server, or each cluster seed in turn (a
    /// `PUBLISH` on any cluster node reaches subscribers on every node); empty on Sentinel,
    /// where the current master is asked for at each (re)connection.
    event_clients: Vec<redis::Client>,
    ns: String,
    /// Authenticates records (`seal`).
    seal: seal::RecordSeal,
    /// Rejected records not warned about yet.
    rejected_tally: Tally,
    channel: String,
    origin: String,
    timeout: Duration,
    lock_ttl: Duration,
    lock_wait: Duration,
    poll_every: Duration,
    clock: Arc<dyn Clock>,
    c: Counters,
    epoch: AtomicU64,
    /// Newest shared clear number applied here.
    clears_seen: AtomicU64,
    /// Recent clears `(number, prefix)`, newest last, to judge records written by an
    /// instance that had not heard of them.
    recent_clears: Mutex<Vec<(u64, String)>>,
    ver_seen: AtomicU64,
    subscribed: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Invalidations made while Redis could not take them; sent at the next resync.
    pending_tags: Mutex<HashSet<String>>,
    pending_clears: Mutex<Vec<String>>,
    /// Instances waiting on another instance's load, by cache key.
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
    lock_seq: AtomicU64,
    /// Lock releases (with their record writes) still running, for [`RedisTier::settled`].
    releasing: AtomicU64,
    released: Notify,
}

/// A shared tier on Redis / Valkey. Cheap to clone.
#[derive(Clone)]
pub struct RedisTier {
    s: Arc<State>,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("namespace", &self.s.ns)
            .field("timeout", &self.s.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisTier {
    /// Counters and state.
    pub fn health(&self) -> RedisHealth {
        let c = &self.s.c;
        let breaker_open = c.open.load(Ordering::Relaxed);
        let subscribed = self.s.subscribed.load(Ordering::Relaxed);
        RedisHealth {
            state: if !subscribed {
                "down"
            } else if breaker_open {
                "degraded"
            } else {
                "up"
            },
            // The event connection is the first to notice a dead server (memory hits send
            // Redis nothing, so the breaker may not have seen a failure yet).
            degraded: breaker_open || !subscribed,
            breaker_open,
            subscribed,
            cluster: matches!(self.s.conn, Conn::Cluster(_)),
            errors: c.errors.load(Ordering::Relaxed),
            oom_errors: c.oom.load(Ordering::Relaxed),
            last_error: self.s.last_error.lock_unpoisoned().clone(),
            skipped: c.skipped.load(Ordering::Relaxed),
            breaker_trips: c.trips.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            rejected_records: c.rejected.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            dropped_writes: c.dropped.load(Ordering::Relaxed),
            locks_taken: c.locks.load(Ordering::Relaxed),
            waits_filled: c.waits_filled.load(Ordering::Relaxed),
            waits_gave_up: c.waits_gave_up.load(Ordering::Relaxed),
            events_received: c.events.load(Ordering::Relaxed),
            resyncs: c.resyncs.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn tier_stats(&self) -> TierStats {
        let h = self.health();
        TierStats {
            tier: TierKind::Redis,
            enabled: !h.breaker_open,
            hits: h.hits,
            misses: h.misses,
            errors: h.errors,
            // Records that failed authentication: the Redis tier's kind of damage.
            corrupt: h.rejected_records,
            evictions: 0,
            expired_swept: 0,
            writes: h.writes,
            dropped_writes: h.dropped_writes,
            entries: 0,
            bytes: 0,
            file_bytes: None,
            max_bytes: 0,
            memory_bytes: None,
            open_files: None,
            open_files_max: None,
        }
    }

    pub(crate) fn count_dropped_write(&self) {
        self.s.c.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn meta(&self, name: &str) -> String {
        format!("{{{}}}:{name}", self.s.ns)
    }

    fn record_key(&self, key: &str) -> String {
        format!(
            "{}:s:{}:{key}",
            self.s.ns,
            self.s.epoch.load(Ordering::Acquire)
        )
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:l:{key}", self.s.ns)
    }
}

fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(fut);
    }
}
