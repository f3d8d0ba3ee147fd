//! [`RedisTier`]: the shared tier on Redis / Valkey (one server, a Redis Cluster, or the
//! master of a Sentinel-monitored group, followed across failovers), below memory and disk,
//! through which several cachearr instances behave as one cache.
//!
//! * **Records** are the engine's encoded records ([`crate::codec`]) behind an 8-byte prefix
//!   (the writer's shared clear number, see below), stored under `{ns}:e:{epoch}:{key}` with
//!   `PX` set to the end of their longest window. Writes come from the write-behind worker
//!   (one pipeline per batch, or one command per key on a cluster): a client never waits on
//!   Redis for a value it already has.
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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::Notify;

use crate::cache::Inner;
use crate::clock::{Clock, SystemClock};
use crate::entry::TierKind;
use crate::error::EngineError;
use crate::key::Key;
use crate::stats::TierStats;
use crate::tags::Invalidation;
use crate::tier::WriteOp;
use crate::write_behind::Dest;

/// Consecutive failures that open the circuit breaker.
pub(crate) const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker skips the tier before letting a command try again.
pub(crate) const BREAKER_OPEN: Duration = Duration::from_secs(2);
/// Name of the pseudo-tag that carries the newest shared clear number applied locally, so it
/// is persisted with the disk tier's invalidation state.
const CLEAR_MARK: &str = "\u{0}redis-clears";
/// How many clears the shared log keeps.
const CLEAR_LOG: i64 = 1000;
/// How often a waiter looks at the lock and the record when no announcement came.
const WAIT_POLL: Duration = Duration::from_millis(200);

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
        }
    }
}

/// `HINCRBY` a tag, make sure the result is at least the local generation, bump the change
/// counter and announce it. KEYS: gens, ver. ARGV: tag, local generation, channel, origin.
const BUMP_TAG: &str = "local g = redis.call('HINCRBY', KEYS[1], ARGV[1], 1) \
  local want = tonumber(ARGV[2]) \
  if want > g then redis.call('HSET', KEYS[1], ARGV[1], want) g = want end \
  redis.call('INCR', KEYS[2]) \
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' t ' .. g .. ' ' .. ARGV[1]) \
  return g";

/// Numbers a clear, logs it, moves the epoch for a clear-all, bumps the change counter and
/// announces it. KEYS: clearseq, clears, epoch, ver. ARGV: prefix, channel, origin.
/// Returns {seq, epoch}.
const CLEAR: &str = "local s = redis.call('INCR', KEYS[1]) \
  redis.call('ZADD', KEYS[2], s, s .. ' ' .. ARGV[1]) \
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1001) \
  local e \
  if ARGV[1] == '' then e = redis.call('INCR', KEYS[3]) \
  else e = tonumber(redis.call('GET', KEYS[3]) or '0') end \
  redis.call('INCR', KEYS[4]) \
  redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' c ' .. s .. ' ' .. e .. ' ' .. ARGV[1]) \
  return {s, e}";

/// Raises each `(tag, generation)` pair in hash `KEYS[1]` to at least the given generation;
/// if any was raised, bumps the change counter `KEYS[2]` so that every other instance's poll
/// notices and resyncs (a raise nobody hears of would let them serve what it killed).
const MERGE_GENERATIONS: &str = "local raised = 0 \
  for i = 1, #ARGV, 2 do \
    local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') \
    if tonumber(ARGV[i + 1]) > cur then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) raised = 1 end \
  end \
  if raised == 1 then redis.call('INCR', KEYS[2]) end return raised";

/// Raises the clear counter `KEYS[1]` and the epoch `KEYS[2]` to at least `ARGV[1]` and
/// `ARGV[2]`; if either was raised, bumps the change counter `KEYS[3]`. After Redis lost
/// them (restarted empty, or a failover lost the last writes), the next clear would
/// otherwise get a number every instance has seen already and be ignored, and a clear-all
/// would move the epoch back onto records written before an older clear.
const RAISE_COUNTERS: &str = "local raised = 0 \
  if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], ARGV[1]) raised = 1 end \
  if tonumber(ARGV[2]) > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], ARGV[2]) raised = 1 end \
  if raised == 1 then redis.call('INCR', KEYS[3]) end return raised";

/// Releases a load lock if this instance still holds it and announces how the load ended.
/// KEYS: lock. ARGV: token, channel, message.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end \
  redis.call('PUBLISH', ARGV[2], ARGV[3]) return 0";

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
    /// Reads that found nothing.
    pub misses: u64,
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

/// A connection to one server (reconnecting), to a cluster, or to the master that Sentinel
/// names.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
    Sentinel(SentinelConn),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(s) => Box::pin(async move {
                let mut c = s.connection().await?;
                let answer = c.req_packed_command(cmd).await;
                s.check(answer.as_ref().err());
                answer
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(s) => Box::pin(async move {
                let mut c = s.connection().await?;
                let answer = c.req_packed_commands(pipeline, offset, count).await;
                s.check(answer.as_ref().err());
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(s) => s.db,
        }
    }
}

/// The master of a Sentinel-monitored group: asks the Sentinels where it is, keeps one
/// multiplexed connection to it, and forgets that connection when it fails (dropped,
/// refused, timed out, or `READONLY` because the server was demoted), so the next command
/// asks the Sentinels again and follows a failover.
#[derive(Clone)]
struct SentinelConn {
    sentinel: Arc<tokio::sync::Mutex<redis::sentinel::SentinelClient>>,
    current: Arc<Mutex<Option<redis::aio::MultiplexedConnection>>>,
    config: redis::AsyncConnectionConfig,
    db: i64,
}

impl SentinelConn {
    fn cached(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another command may have connected while this one waited for the lock.
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let c = sentinel
            .get_async_connection_with_config(&self.config)
            .await?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
        Ok(c)
    }

    /// A client for the current master (for the event connection).
    async fn master_client(&self) -> redis::RedisResult<redis::Client> {
        self.sentinel.lock().await.async_get_client().await
    }

    fn check(&self, failed: Option<&redis::RedisError>) {
        let Some(e) = failed else { return };
        let demoted = matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        );
        if demoted || e.is_io_error() || e.is_timeout() || e.is_unrecoverable_error() {
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// Parses `redis+sentinel://[user:password@]host:port[,host:port…]/master[/db]`: the Sentinel
/// addresses, the master's name, its database and credentials (for the data nodes).
struct SentinelUrl {
    sentinels: Vec<String>,
    master: String,
    db: i64,
    username: Option<String>,
    password: Option<String>,
}

fn parse_sentinel_url(url: &str) -> Result<SentinelUrl, String> {
    let rest = url
        .strip_prefix("redis+sentinel://")
        .ok_or("a Sentinel URL starts with redis+sentinel://")?;
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, rest),
    };
    let (hosts, path) = rest
        .split_once('/')
        .ok_or("name the master: redis+sentinel://host:port/master")?;
    let mut path = path.split('/');
    let master = path.next().unwrap_or_default().to_owned();
    if master.is_empty() {
        return Err("name the master: redis+sentinel://host:port/master".into());
    }
    let db = match path.next() {
        Some(d) if !d.is_empty() => d.parse().map_err(|_| format!("bad database {d:?}"))?,
        _ => 0,
    };
    let sentinels: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{h}"))
        .collect();
    if sentinels.is_empty() {
        return Err("no Sentinel given".into());
    }
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (
                (!user.is_empty()).then(|| user.to_owned()),
                Some(pass.to_owned()),
            ),
            None => (None, Some(u.to_owned())),
        },
        None => (None, None),
    };
    Ok(SentinelUrl {
        sentinels,
        master,
        db,
        username,
        password,
    })
}

fn connect_sentinel(url: &str, options: &RedisOptions) -> Result<SentinelConn, String> {
    let parsed = parse_sentinel_url(url)?;
    let mut info = redis::RedisConnectionInfo::default().set_db(parsed.db);
    if let Some(user) = &parsed.username {
        info = info.set_username(user);
    }
    if let Some(password) = &parsed.password {
        info = info.set_password(password);
    }
    let node =
        redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(info);
    let client = redis::sentinel::SentinelClient::build(
        parsed.sentinels,
        parsed.master,
        Some(node),
        redis::sentinel::SentinelServerType::Master,
    )
    .map_err(|e| e.to_string())?;
    Ok(SentinelConn {
        sentinel: Arc::new(tokio::sync::Mutex::new(client)),
        current: Arc::new(Mutex::new(None)),
        config: redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout)),
        db: parsed.db,
    })
}

/// Shared state of one tier (all clones).
struct State {
    conn: Conn,
    /// Clients for the event connection: the server, or each cluster seed in turn (a
    /// `PUBLISH` on any cluster node reaches subscribers on every node); empty on Sentinel,
    /// where the current master is asked for at each (re)connection.
    event_clients: Vec<redis::Client>,
    ns: String,
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

/// `url` with any password replaced by `***`, for messages (each URL of a comma-separated
/// cluster list).
pub fn redact_url(url: &str) -> String {
    url.split(',').map(redact_one).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{shown}{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// How a cross-instance load coordination ended.
pub(crate) enum Coordination {
    /// This instance holds the lock and must load (then call [`RedisTier::release`]).
    Load(String),
    /// Another instance's load landed: its record.
    Landed(Bytes),
    /// Load without the lock (Redis unavailable, wait bound reached, holder gave up).
    LoadAlone,
}

/// Parses the URL list: one URL is a single server unless its scheme is
/// `redis+cluster://` / `rediss+cluster://`; several comma-separated URLs are cluster seeds.
fn parse_urls(url: &str) -> (Vec<String>, bool) {
    let parts: Vec<String> = url
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.replacen("+cluster://", "://", 1))
        .collect();
    let cluster = parts.len() > 1 || url.contains("+cluster://");
    (parts, cluster)
}

fn open_client(url: &str, root_cert: Option<&Vec<u8>>) -> redis::RedisResult<redis::Client> {
    match root_cert {
        Some(pem) if url.starts_with("rediss://") => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        ),
        _ => redis::Client::open(url),
    }
}

impl RedisTier {
    /// Connects to `url` and checks the server answers (`PING`), so a wrong password or an
    /// unreachable server is an error at start rather than a silent miss later.
    ///
    /// `url` is `redis://[user:password@]host:port/db` (`rediss://` for TLS) for one server,
    /// or a Redis Cluster given by its seed nodes: `redis+cluster://host:port` or several
    /// comma-separated URLs (`redis://a:7000,redis://b:7001`), or the master of a
    /// Sentinel-monitored group: `redis+sentinel://[user:password@]host:port[,host:port…]/
    /// master[/db]` (the credentials are the data nodes'; the Sentinels take none).
    ///
    /// # Errors
    /// [`EngineError::Redis`] with the reason (the password is never included).
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, EngineError> {
        Self::connect_with_clock(url, options, Arc::new(SystemClock)).await
    }

    /// [`Self::connect`] with the clock that entry expiry times are measured on (the
    /// engine's clock).
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub async fn connect_with_clock(
        url: &str,
        options: RedisOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EngineError> {
        let redacted = redact_url(url);
        let fail = |reason: String| EngineError::Redis {
            url: redacted.clone(),
            // redis-rs may echo the URL in its messages; never let a password through.
            reason: redact_url(&reason),
        };
        if options.namespace.is_empty()
            || options
                .namespace
                .contains(['*', '?', '[', ']', '{', '}', ' '])
        {
            return Err(fail(
                "the namespace must be non-empty and free of * ? [ ] { } and spaces".into(),
            ));
        }
        let sentinel = url.starts_with("redis+sentinel://");
        let (urls, cluster) = if sentinel {
            (Vec::new(), false)
        } else {
            parse_urls(url)
        };
        if urls.is_empty() && !sentinel {
            return Err(fail("no server given".into()));
        }
        if urls.iter().any(|u| u.starts_with("rediss://")) {
            install_crypto_provider();
        }
        let root = options.root_cert.as_ref();
        let event_clients = urls
            .iter()
            .map(|u| open_client(u, root))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let bound = options.connect_timeout * 2;
        let conn = if sentinel {
            // The master is found (and the PING below reaches it) through the Sentinels.
            Conn::Sentinel(connect_sentinel(url, &options).map_err(fail)?)
        } else if cluster {
            let mut b = redis::cluster::ClusterClientBuilder::new(urls.clone())
                .connection_timeout(options.connect_timeout)
                .response_timeout(options.command_timeout)
                .retries(1);
            if let Some(pem) = root {
                b = b.certs(redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                });
            }
            let client = b.build().map_err(|e| fail(e.to_string()))?;
            let c = tokio::time::timeout(bound, client.get_async_connection())
                .await
                .map_err(|_| fail(format!("no answer within {bound:?}")))?
                .map_err(|e| fail(e.to_string()))?;
            Conn::Cluster(c)
        } else {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(options.connect_timeout))
                .set_response_timeout(Some(options.command_timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(1));
            let client = event_clients[0].clone();
            let connect = client.get_connection_manager_with_config(config);
            let c = tokio::time::timeout(bound, connect)
                .await
                .map_err(|_| fail(format!("no answer within {bound:?}")))?
                .map_err(|e| fail(e.to_string()))?;
            Conn::Single(c)
        };
        let mut probe = conn.clone();
        let pong: String = tokio::time::timeout(options.connect_timeout, async {
            redis::cmd("PING").query_async(&mut probe).await
        })
        .await
        .map_err(|_| fail("PING timed out".into()))?
        .map_err(|e| fail(e.to_string()))?;
        if pong != "PONG" {
            return Err(fail(format!("unexpected PING answer {pong:?}")));
        }
        let ns = options.namespace.clone();
        let mut origin = [0u8; 8];
        let _ = getrandom::fill(&mut origin);
        let origin: String = origin.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            s: Arc::new(State {
                conn,
                event_clients,
                channel: format!("{{{ns}}}:events"),
                ns,
                origin,
                timeout: options.command_timeout,
                lock_ttl: options.lock_ttl,
                lock_wait: options.lock_wait,
                poll_every: options.poll_every,
                clock,
                c: Counters::default(),
                epoch: AtomicU64::new(0),
                clears_seen: AtomicU64::new(0),
                recent_clears: Mutex::new(Vec::new()),
                ver_seen: AtomicU64::new(0),
                subscribed: AtomicBool::new(false),
                last_error: Mutex::new(None),
                pending_tags: Mutex::new(HashSet::new()),
                pending_clears: Mutex::new(Vec::new()),
                waiters: Mutex::new(HashMap::new()),
                lock_seq: AtomicU64::new(0),
                releasing: AtomicU64::new(0),
                released: Notify::new(),
            }),
        })
    }

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
            last_error: self
                .s
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            skipped: c.skipped.load(Ordering::Relaxed),
            breaker_trips: c.trips.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
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
            corrupt: 0,
            evictions: 0,
            expired_swept: 0,
            writes: h.writes,
            dropped_writes: h.dropped_writes,
            entries: 0,
            bytes: 0,
            file_bytes: None,
            max_bytes: 0,
            memory_bytes: None,
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
            "{}:e:{}:{key}",
            self.s.ns,
            self.s.epoch.load(Ordering::Acquire)
        )
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:l:{key}", self.s.ns)
    }

    /// Whether a command may go out now (breaker closed, or open long enough to try again).
    fn allowed(&self) -> bool {
        let c = &self.s.c;
        if !c.open.load(Ordering::Relaxed) {
            return true;
        }
        if self.s.clock.now_ms() >= c.open_until_ms.load(Ordering::Relaxed) {
            return true;
        }
        c.skipped.fetch_add(1, Ordering::Relaxed);
        false
    }

    fn succeeded(&self) {
        let c = &self.s.c;
        c.consecutive.store(0, Ordering::Relaxed);
        if c.open.swap(false, Ordering::AcqRel) {
            tracing::warn!("redis tier answering again; shared cache back in use");
        }
    }

    fn note_error(&self, error: &str) {
        *self.s.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(redact_url(error));
    }

    fn failed(&self, what: &str, error: &str) {
        let c = &self.s.c;
        if error.contains("OOM") {
            // Redis is answering, it is only full: count it, keep reading from it.
            c.oom.fetch_add(1, Ordering::Relaxed);
            c.errors.fetch_add(1, Ordering::Relaxed);
            self.note_error(error);
            if c.oom.load(Ordering::Relaxed).is_power_of_two() {
                tracing::warn!(
                    what,
                    error,
                    "redis refuses writes (maxmemory reached); records are not shared"
                );
            }
            return;
        }
        c.errors.fetch_add(1, Ordering::Relaxed);
        c.need_resync.store(true, Ordering::Relaxed);
        self.note_error(error);
        let n = c.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= BREAKER_FAILURES {
            let reopen = self.s.clock.now_ms() + BREAKER_OPEN.as_millis() as u64;
            c.open_until_ms.store(reopen, Ordering::Relaxed);
            if !c.open.swap(true, Ordering::AcqRel) {
                c.trips.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    what,
                    error,
                    "redis tier failing; skipping it (memory and disk carry on) until it answers"
                );
            }
        } else {
            tracing::debug!(what, error, "redis command failed");
        }
    }

    /// Runs `fut` under the command timeout and feeds the breaker.
    async fn bounded<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(self.s.timeout, fut).await {
            Ok(Ok(v)) => {
                self.succeeded();
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(what, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(what, "timed out");
                None
            }
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, what: &'static str, cmd: &Cmd) -> Option<T> {
        let mut conn = self.s.conn.clone();
        self.bounded(what, cmd.query_async(&mut conn)).await
    }

    /// Reads the record under `key`; `None` on a miss, when Redis does not answer, or when
    /// the record was written before a clear its writer had not heard of.
    pub(crate) async fn get_record(&self, key: &Key) -> Option<Bytes> {
        if !self.allowed() {
            return None;
        }
        let found: Option<Vec<u8>> = self
            .query("get", redis::cmd("GET").arg(self.record_key(key.as_str())))
            .await
            .flatten();
        let c = &self.s.c;
        match found.and_then(|v| self.unwrap_record(key.as_str(), v)) {
            Some(v) => {
                c.hits.fetch_add(1, Ordering::Relaxed);
                Some(v)
            }
            None => {
                c.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Strips the clear-number prefix; `None` if a clear the writer did not know of covers
    /// the key.
    fn unwrap_record(&self, key: &str, raw: Vec<u8>) -> Option<Bytes> {
        let (head, _) = raw.split_first_chunk::<8>()?;
        let written_after = u64::from_le_bytes(*head);
        if written_after < self.s.clears_seen.load(Ordering::Acquire) {
            let clears = self
                .s
                .recent_clears
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if clears
                .iter()
                .any(|(seq, prefix)| *seq > written_after && key.starts_with(prefix.as_str()))
            {
                return None;
            }
        }
        let mut raw = Bytes::from(raw);
        Some(raw.split_off(8))
    }

    fn wrap_record(&self, record: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(record.len() + 8);
        v.extend_from_slice(&self.s.clears_seen.load(Ordering::Acquire).to_le_bytes());
        v.extend_from_slice(record);
        v
    }

    fn set_cmd(&self, key: &str, record: &[u8], px: u64) -> Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.record_key(key))
            .arg(self.wrap_record(record))
            .arg("PX")
            .arg(px);
        cmd
    }

    /// Writes a batch from the write-behind worker. Failures only feed the breaker.
    pub(crate) async fn write_ops(&self, ops: Vec<WriteOp>) {
        if !self.allowed() {
            return;
        }
        let now = self.s.clock.now_ms();
        let mut cmds = Vec::with_capacity(ops.len());
        let mut puts = 0u64;
        for op in ops {
            match op {
                WriteOp::Put {
                    key,
                    record,
                    expires_at_ms,
                } => {
                    let px = expires_at_ms.saturating_sub(now);
                    if px > 0 {
                        cmds.push(self.set_cmd(key.as_str(), &record, px));
                        puts += 1;
                    }
                }
                WriteOp::Remove { key } => {
                    let mut cmd = redis::cmd("DEL");
                    cmd.arg(self.record_key(key.as_str()));
                    cmds.push(cmd);
                }
                // Clears reach Redis through `share_clear` (before they are announced);
                // invalidation state and sequence numbers are per instance.
                WriteOp::RemovePrefix { .. }
                | WriteOp::SetInvalidationState { .. }
                | WriteOp::SetTagGenerations { .. }
                | WriteOp::SetNextSeq { .. } => {}
            }
        }
        if cmds.is_empty() {
            return;
        }
        let ok = match &self.s.conn {
            Conn::Single(_) | Conn::Sentinel(_) => {
                let mut pipe = redis::pipe();
                for cmd in cmds {
                    pipe.add_command(cmd).ignore();
                }
                let mut conn = self.s.conn.clone();
                self.bounded("write", pipe.query_async::<()>(&mut conn))
                    .await
                    .is_some()
            }
            Conn::Cluster(_) => {
                // Keys of one batch live in different slots: one command each, concurrently
                // on the multiplexed cluster connection.
                let all = futures_util::future::join_all(
                    cmds.iter().map(|cmd| self.query::<Value>("write", cmd)),
                )
                .await;
                all.iter().all(Option::is_some)
            }
        };
        if ok {
            self.s.c.writes.fetch_add(puts, Ordering::Relaxed);
        }
    }

    /// Reads what every instance shared before this one starts: the epoch, tag generations
    /// and clears, applied to the restored invalidation state (so disk records that an
    /// invalidation elsewhere killed while this instance was down are not served).
    pub(crate) async fn initial_sync(&self, inval: &Invalidation) {
        let Some(snap) = self.read_shared().await else {
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            return;
        };
        for (tag, g) in &snap.gens {
            inval.raise_tag(tag, *g);
        }
        self.s.epoch.store(snap.epoch, Ordering::Release);
        self.s.ver_seen.store(snap.ver, Ordering::Release);
        let applied = inval
            .snapshot()
            .tags
            .iter()
            .find(|(t, _)| t == CLEAR_MARK)
            .map_or(0, |(_, g)| *g);
        let now = self.s.clock.now_ms();
        let mut newest = applied;
        for (seq, prefix) in &snap.clears {
            if *seq > applied {
                inval.drop_prefix(prefix, now);
                newest = newest.max(*seq);
            }
        }
        self.note_clears(&snap.clears, snap.clearseq.max(newest));
        inval.raise_tag(CLEAR_MARK, newest.max(snap.clearseq));
        self.s.c.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    fn note_clears(&self, clears: &[(u64, String)], seen: u64) {
        let mut recent = self
            .s
            .recent_clears
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for c in clears {
            if !recent.iter().any(|(s, _)| *s == c.0) {
                recent.push(c.clone());
            }
        }
        recent.sort_by_key(|(s, _)| *s);
        let excess = recent.len().saturating_sub(CLEAR_LOG as usize);
        recent.drain(..excess);
        self.s.clears_seen.fetch_max(seen, Ordering::AcqRel);
    }

    async fn read_shared(&self) -> Option<SharedSnapshot> {
        // The change counter first: anything changed after it is read again next time.
        let ver: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("ver")))
            .await?;
        let gens: HashMap<String, u64> = self
            .query("hgetall", redis::cmd("HGETALL").arg(self.meta("gens")))
            .await?;
        let epoch: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("epoch")))
            .await?;
        let clearseq: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("clearseq")))
            .await?;
        let raw: Vec<String> = self
            .query(
                "zrange",
                redis::cmd("ZRANGE").arg(self.meta("clears")).arg(0).arg(-1),
            )
            .await?;
        let clears = raw
            .iter()
            .filter_map(|m| {
                let (seq, prefix) = m.split_once(' ')?;
                Some((seq.parse().ok()?, prefix.to_owned()))
            })
            .collect();
        Some(SharedSnapshot {
            ver: ver.unwrap_or(0),
            gens,
            epoch: epoch.unwrap_or(0),
            clearseq: clearseq.unwrap_or(0),
            clears,
        })
    }

    /// Full resync on a running cache: sends invalidations made while Redis was away, then
    /// raises generations, applies missed clears and learns the epoch.
    async fn resync(&self, inner: &Arc<Inner>) -> bool {
        self.flush_pending(inner).await;
        if self.has_pending() {
            // Redis answers but the breaker still skips it (it reopened moments ago): the
            // invalidations made during the outage are not shared yet, so this resync is not
            // done; the next poll tries again.
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            return false;
        }
        let Some(snap) = self.read_shared().await else {
            return false;
        };
        for (tag, g) in &snap.gens {
            inner.inval.raise_tag(tag, *g);
        }
        // Generations this instance holds above Redis's (Redis restarted empty, or lost
        // writes) go back up, so records written from here and from others stay comparable.
        let behind: Vec<(String, u64)> = inner
            .inval
            .snapshot()
            .tags
            .into_iter()
            .filter(|(t, g)| t != CLEAR_MARK && snap.gens.get(t).is_none_or(|s| s < g))
            .collect();
        if !behind.is_empty() {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(MERGE_GENERATIONS)
                .arg(2)
                .arg(self.meta("gens"))
                .arg(self.meta("ver"));
            for (tag, g) in &behind {
                cmd.arg(tag).arg(*g);
            }
            let _: Option<Value> = self.query("merge", &cmd).await;
        }
        self.apply_clears(inner, &snap.clears, snap.epoch);
        let (clears_seen, epoch) = (
            self.s.clears_seen.load(Ordering::Acquire),
            self.s.epoch.load(Ordering::Acquire),
        );
        if snap.clearseq < clears_seen || snap.epoch < epoch {
            let raised: Option<Value> = self
                .query(
                    "raise",
                    redis::cmd("EVAL")
                        .arg(RAISE_COUNTERS)
                        .arg(3)
                        .arg(self.meta("clearseq"))
                        .arg(self.meta("epoch"))
                        .arg(self.meta("ver"))
                        .arg(clears_seen)
                        .arg(epoch),
                )
                .await;
            if raised.is_none() {
                // Not done: the next poll tries again (the failure asked for a resync).
                return false;
            }
        }
        self.s.ver_seen.store(snap.ver, Ordering::Release);
        self.s.c.need_resync.store(false, Ordering::Relaxed);
        self.s.c.resyncs.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn apply_clears(&self, inner: &Arc<Inner>, clears: &[(u64, String)], epoch: u64) {
        let seen = self.s.clears_seen.load(Ordering::Acquire);
        let mut newest = seen;
        for (seq, prefix) in clears {
            if *seq > seen {
                apply_local_clear(inner, prefix);
                newest = newest.max(*seq);
            }
        }
        self.note_clears(clears, newest);
        inner.inval.raise_tag(CLEAR_MARK, newest);
        self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
    }

    fn has_pending(&self) -> bool {
        !self
            .s
            .pending_tags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
            || !self
                .s
                .pending_clears
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    async fn flush_pending(&self, inner: &Arc<Inner>) {
        let tags: Vec<String> = self
            .s
            .pending_tags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for tag in tags {
            self.send_tag_bump(inner, &tag).await;
        }
        let clears: Vec<String> = std::mem::take(
            &mut *self
                .s
                .pending_clears
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for prefix in clears {
            self.send_clear(inner, &prefix).await;
        }
    }

    /// Shares a local tag invalidation: `HINCRBY` + broadcast, behind the caller. If Redis
    /// cannot take it now it is sent at the next resync.
    pub(crate) fn share_tag_bump(&self, inner: &Arc<Inner>, tag: &str) {
        let (tier, weak, tag) = (self.clone(), Arc::downgrade(inner), tag.to_owned());
        spawn(async move {
            let Some(inner) = weak.upgrade() else { return };
            tier.send_tag_bump(&inner, &tag).await;
        });
    }

    async fn send_tag_bump(&self, inner: &Arc<Inner>, tag: &str) {
        let local = inner.inval.stamps(&[Arc::from(tag)])[0].generation;
        let got: Option<u64> = if self.allowed() {
            self.query(
                "bump",
                redis::cmd("EVAL")
                    .arg(BUMP_TAG)
                    .arg(2)
                    .arg(self.meta("gens"))
                    .arg(self.meta("ver"))
                    .arg(tag)
                    .arg(local)
                    .arg(&self.s.channel)
                    .arg(&self.s.origin),
            )
            .await
        } else {
            None
        };
        match got {
            Some(g) => {
                inner.inval.raise_tag(tag, g);
            }
            None => {
                self.s
                    .pending_tags
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(tag.to_owned());
            }
        }
    }

    /// Shares a local clear (empty prefix: clear-all): removes the records from Redis, then
    /// numbers, logs and announces it, behind the caller.
    pub(crate) fn share_clear(&self, inner: &Arc<Inner>, prefix: &str) {
        let (tier, weak, prefix) = (self.clone(), Arc::downgrade(inner), prefix.to_owned());
        spawn(async move {
            let Some(inner) = weak.upgrade() else { return };
            tier.send_clear(&inner, &prefix).await;
        });
    }

    async fn send_clear(&self, inner: &Arc<Inner>, prefix: &str) {
        let removed = prefix.is_empty() || (self.allowed() && self.remove_prefix(prefix).await);
        let got: Option<(u64, u64)> = if removed && self.allowed() {
            self.query(
                "clear",
                redis::cmd("EVAL")
                    .arg(CLEAR)
                    .arg(4)
                    .arg(self.meta("clearseq"))
                    .arg(self.meta("clears"))
                    .arg(self.meta("epoch"))
                    .arg(self.meta("ver"))
                    .arg(prefix)
                    .arg(&self.s.channel)
                    .arg(&self.s.origin),
            )
            .await
        } else {
            None
        };
        match got {
            Some((seq, epoch)) => {
                // Our own clear: applied locally already.
                self.note_clears(&[(seq, prefix.to_owned())], 0);
                if self.s.clears_seen.load(Ordering::Acquire) + 1 == seq {
                    self.s.clears_seen.store(seq, Ordering::Release);
                    inner.inval.raise_tag(CLEAR_MARK, seq);
                }
                self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
            }
            None => self
                .s
                .pending_clears
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(prefix.to_owned()),
        }
    }

    /// `SCAN` + `DEL` of the records under `prefix` (on every master of a cluster).
    async fn remove_prefix(&self, prefix: &str) -> bool {
        let pattern = format!(
            "{}:e:{}:{}*",
            escape_glob(&self.s.ns),
            self.s.epoch.load(Ordering::Acquire),
            escape_glob(prefix)
        );
        match &self.s.conn {
            Conn::Single(_) | Conn::Sentinel(_) => self.scan_delete(&pattern, None).await,
            Conn::Cluster(_) => {
                let Some(nodes) = self.masters().await else {
                    return false;
                };
                for node in nodes {
                    if !self.scan_delete(&pattern, Some(node)).await {
                        return false;
                    }
                }
                true
            }
        }
    }

    /// The masters of a cluster, from `CLUSTER NODES`.
    async fn masters(&self) -> Option<Vec<(String, u16)>> {
        let text: String = self
            .query("cluster nodes", &redis::cmd("CLUSTER").arg("NODES").clone())
            .await?;
        Some(
            text.lines()
                .filter_map(|line| {
                    let mut f = line.split(' ');
                    let _id = f.next()?;
                    let addr = f.next()?;
                    let flags = f.next()?;
                    if !flags.contains("master") || flags.contains("fail") {
                        return None;
                    }
                    let hostport = addr.split('@').next()?;
                    let (host, port) = hostport.rsplit_once(':')?;
                    Some((host.to_owned(), port.parse().ok()?))
                })
                .collect(),
        )
    }

    async fn run_on(&self, cmd: &Cmd, node: Option<&(String, u16)>) -> Option<Value> {
        match (&self.s.conn, node) {
            (Conn::Cluster(c), Some((host, port))) => {
                let mut c = c.clone();
                use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                self.bounded("scan", c.route_command(cmd.clone(), routing))
                    .await
            }
            _ => self.query("scan", cmd).await,
        }
    }

    async fn scan_delete(&self, pattern: &str, node: Option<(String, u16)>) -> bool {
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let Some(v) = self.run_on(&scan, node.as_ref()).await else {
                return false;
            };
            let Ok((next, keys)) = redis::from_redis_value::<(u64, Vec<String>)>(v) else {
                return false;
            };
            for key in keys {
                // One key per DEL: on a cluster the keys of one node span many slots.
                if self
                    .query::<u64>("del", redis::cmd("DEL").arg(key))
                    .await
                    .is_none()
                {
                    return false;
                }
            }
            if next == 0 {
                return true;
            }
            cursor = next;
        }
    }

    /// Coordinates a load of `key` with the other instances: take the lock, or wait (bounded)
    /// for the holder's record.
    pub(crate) async fn coordinate(&self, key: &Key) -> Coordination {
        if !self.allowed() {
            return Coordination::LoadAlone;
        }
        let token = format!(
            "{}-{}",
            self.s.origin,
            self.s.lock_seq.fetch_add(1, Ordering::Relaxed)
        );
        let lock = self.lock_key(key.as_str());
        let take = {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&lock)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(self.s.lock_ttl.as_millis() as u64);
            cmd
        };
        match self.query::<Option<String>>("lock", &take).await {
            Some(Some(_)) => {
                self.s.c.locks.fetch_add(1, Ordering::Relaxed);
                self.s.releasing.fetch_add(1, Ordering::AcqRel);
                return Coordination::Load(token);
            }
            Some(None) => {}
            None => return Coordination::LoadAlone,
        }
        // Someone else loads: wait for its announcement, look now and then, never too long.
        let notify = self
            .s
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.as_str().to_owned())
            .or_default()
            .clone();
        let _cleanup = WaiterGuard {
            tier: self,
            key: key.as_str(),
        };
        let deadline = tokio::time::Instant::now() + self.s.lock_wait;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(raw) = self.get_record_quiet(key).await {
                self.s.c.waits_filled.fetch_add(1, Ordering::Relaxed);
                return Coordination::Landed(raw);
            }
            match self.query::<Option<String>>("lock", &take).await {
                Some(Some(_)) => {
                    // The holder is gone (released without a value, or its lock expired).
                    self.s.c.locks.fetch_add(1, Ordering::Relaxed);
                    self.s.releasing.fetch_add(1, Ordering::AcqRel);
                    return Coordination::Load(token);
                }
                Some(None) => {}
                None => {
                    self.s.c.waits_gave_up.fetch_add(1, Ordering::Relaxed);
                    return Coordination::LoadAlone;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                self.s.c.waits_gave_up.fetch_add(1, Ordering::Relaxed);
                return Coordination::LoadAlone;
            }
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + WAIT_POLL),
                notified,
            )
            .await;
        }
    }

    async fn get_record_quiet(&self, key: &Key) -> Option<Bytes> {
        let found: Option<Vec<u8>> = self
            .query("get", redis::cmd("GET").arg(self.record_key(key.as_str())))
            .await
            .flatten();
        found.and_then(|v| self.unwrap_record(key.as_str(), v))
    }

    /// Starts [`Self::release`] in the background. Every [`Coordination::Load`] must end in
    /// exactly one call: the lock was counted when taken, so [`Self::settled`] (and the
    /// cache's `flush`) waits for the record a load is about to write.
    pub(crate) fn spawn_release(&self, key: Key, token: String, record: Option<(Bytes, u64)>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.s.releasing.fetch_sub(1, Ordering::AcqRel);
            self.s.released.notify_waiters();
            return;
        };
        let tier = self.clone();
        handle.spawn(async move {
            tier.release(&key, &token, record).await;
            tier.s.releasing.fetch_sub(1, Ordering::AcqRel);
            tier.s.released.notify_waiters();
        });
    }

    /// Waits until every lock release started so far has written its record.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.s.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.s.releasing.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Ends a load under the lock: writes the record (if there is one worth sharing),
    /// releases the lock and tells the waiters.
    async fn release(&self, key: &Key, token: &str, record: Option<(Bytes, u64)>) {
        let now = self.s.clock.now_ms();
        let mut filled = false;
        if let Some((record, expires_at_ms)) = record {
            let px = expires_at_ms.saturating_sub(now);
            if px > 0 {
                filled = self
                    .query::<()>("fill", &self.set_cmd(key.as_str(), &record, px))
                    .await
                    .is_some();
                if filled {
                    self.s.c.writes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let message = format!(
            "{} {} {}",
            self.s.origin,
            if filled { 'f' } else { 'r' },
            key.as_str()
        );
        let _: Option<Value> = self
            .query(
                "release",
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(self.lock_key(key.as_str()))
                    .arg(token)
                    .arg(&self.s.channel)
                    .arg(message),
            )
            .await;
    }

    /// Starts the event task: subscribes to the namespace's channel (reconnecting with
    /// back-off), resyncs on every (re)subscription, polls the change counter, and applies
    /// what other instances announce. Ends when the cache is dropped.
    pub(crate) fn spawn_events(&self, inner: Weak<Inner>) -> tokio::task::JoinHandle<()> {
        let tier = self.clone();
        tokio::spawn(async move { tier.events_loop(inner).await })
    }

    async fn events_loop(self, weak: Weak<Inner>) {
        let mut backoff = Duration::from_millis(100);
        let mut seed = 0usize;
        loop {
            if weak.strong_count() == 0 {
                return;
            }
            let connected =
                tokio::time::timeout(self.s.timeout.max(Duration::from_secs(1)), async {
                    // On Sentinel, the current master (asked again after every drop: a
                    // failover moves it); otherwise the server, or the cluster seeds in turn.
                    let client = match &self.s.conn {
                        Conn::Sentinel(s) => s.master_client().await?,
                        _ => {
                            seed += 1;
                            self.s.event_clients[(seed - 1) % self.s.event_clients.len()].clone()
                        }
                    };
                    let mut ps = client.get_async_pubsub().await?;
                    ps.subscribe(&self.s.channel).await?;
                    Ok::<_, redis::RedisError>(ps)
                })
                .await;
            let ps = match connected {
                Ok(Ok(ps)) => ps,
                Ok(Err(e)) => {
                    self.note_error(&e.to_string());
                    tracing::debug!(error = %redact_url(&e.to_string()), "redis event connection failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Subscribed first, resync second: nothing announced in between is lost.
            {
                let Some(inner) = weak.upgrade() else { return };
                self.resync(&inner).await;
            }
            self.s.subscribed.store(true, Ordering::Relaxed);
            let (_sink, mut stream) = ps.split();
            let mut poll = tokio::time::interval(self.s.poll_every);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    msg = stream.next() => {
                        let Some(msg) = msg else { break };
                        let Some(inner) = weak.upgrade() else { return };
                        self.on_event(&inner, msg.get_payload_bytes());
                    }
                    _ = poll.tick() => {
                        let Some(inner) = weak.upgrade() else { return };
                        self.poll(&inner).await;
                    }
                }
            }
            self.s.subscribed.store(false, Ordering::Relaxed);
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            tracing::warn!("redis event connection lost; reconnecting");
        }
    }

    /// The slow path for missed broadcasts: a changed counter, or Redis answering again
    /// after failures, means a full resync.
    async fn poll(&self, inner: &Arc<Inner>) {
        if !self.allowed() {
            return;
        }
        if self.s.c.need_resync.load(Ordering::Relaxed) {
            self.resync(inner).await;
            return;
        }
        let ver: Option<Option<u64>> = self
            .query("get", redis::cmd("GET").arg(self.meta("ver")))
            .await;
        if let Some(v) = ver
            && v.unwrap_or(0) != self.s.ver_seen.load(Ordering::Acquire)
        {
            self.resync(inner).await;
        }
    }

    fn on_event(&self, inner: &Arc<Inner>, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let mut parts = text.splitn(3, ' ');
        let (Some(origin), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let mine = origin == self.s.origin;
        match kind {
            "t" => {
                let Some((g, tag)) = rest.split_once(' ') else {
                    return;
                };
                if let Ok(g) = g.parse::<u64>() {
                    self.s.ver_seen.fetch_add(1, Ordering::AcqRel);
                    if !mine {
                        self.s.c.events.fetch_add(1, Ordering::Relaxed);
                        inner.inval.raise_tag(tag, g);
                    }
                }
            }
            "c" => {
                let mut f = rest.splitn(3, ' ');
                let (Some(seq), Some(epoch), Some(prefix)) = (f.next(), f.next(), f.next()) else {
                    return;
                };
                let (Ok(seq), Ok(epoch)) = (seq.parse::<u64>(), epoch.parse::<u64>()) else {
                    return;
                };
                self.s.ver_seen.fetch_add(1, Ordering::AcqRel);
                if mine {
                    return;
                }
                self.s.c.events.fetch_add(1, Ordering::Relaxed);
                let seen = self.s.clears_seen.load(Ordering::Acquire);
                if seq == seen + 1 {
                    apply_local_clear(inner, prefix);
                    self.note_clears(&[(seq, prefix.to_owned())], seq);
                    inner.inval.raise_tag(CLEAR_MARK, seq);
                    self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
                } else if seq > seen {
                    // A gap: clears were missed; the full log puts things right.
                    apply_local_clear(inner, prefix);
                    self.s.c.need_resync.store(true, Ordering::Relaxed);
                    self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
                    let (tier, weak) = (self.clone(), Arc::downgrade(inner));
                    spawn(async move {
                        if let Some(inner) = weak.upgrade() {
                            tier.resync(&inner).await;
                        }
                    });
                }
            }
            "f" | "r" => {
                let waiter = self
                    .s
                    .waiters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(rest)
                    .cloned();
                if let Some(n) = waiter {
                    n.notify_waiters();
                }
            }
            _ => {}
        }
    }
}

struct SharedSnapshot {
    ver: u64,
    gens: HashMap<String, u64>,
    epoch: u64,
    clearseq: u64,
    clears: Vec<(u64, String)>,
}

struct WaiterGuard<'a> {
    tier: &'a RedisTier,
    key: &'a str,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.tier
            .s
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.key);
    }
}

/// A clear announced by another instance, applied to this instance's memory and disk.
fn apply_local_clear(inner: &Arc<Inner>, prefix: &str) {
    if prefix.is_empty() {
        inner.clear_all_local(Dest::DiskOnly);
    } else {
        inner.clear_prefix_local(prefix, Dest::DiskOnly);
    }
}

fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(fut);
    }
}

/// rustls needs one process-wide crypto provider; `ring` is the one compiled in.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Escapes Redis glob metacharacters so a cache-key prefix matches literally.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("redis://user:secret@h:6379/0"),
            "redis://user:***@h:6379/0"
        );
        assert_eq!(redact_url("redis://:secret@h:1"), "redis://:***@h:1");
        assert_eq!(redact_url("redis://h:1/2"), "redis://h:1/2");
        assert_eq!(
            redact_url("redis://:a@h:1,redis://:b@g:2"),
            "redis://:***@h:1,redis://:***@g:2"
        );
    }

    #[test]
    fn escapes_glob() {
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn parses_sentinel_urls_and_refuses_bad_ones() {
        let u = parse_sentinel_url("redis+sentinel://:pw@a:26379, b:26380/mymaster/2").unwrap();
        assert_eq!(u.sentinels, ["redis://a:26379", "redis://b:26380"]);
        assert_eq!((u.master.as_str(), u.db), ("mymaster", 2));
        assert_eq!((u.username, u.password.as_deref()), (None, Some("pw")));
        let u = parse_sentinel_url("redis+sentinel://h:1/m").unwrap();
        assert_eq!((u.db, u.password), (0, None));
        for bad in [
            "redis+sentinel://h:1",
            "redis+sentinel://h:1/",
            "redis+sentinel:///m",
            "redis+sentinel://h:1/m/x",
            "redis://h:1/m",
        ] {
            assert!(parse_sentinel_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            redact_url("redis+sentinel://u:secret@a:1,b:2/m"),
            "redis+sentinel://u:***@a:1,b:2/m"
        );
    }

    #[test]
    fn parses_single_and_cluster_urls() {
        assert_eq!(
            parse_urls("redis://h:1/0"),
            (vec!["redis://h:1/0".to_owned()], false)
        );
        assert_eq!(
            parse_urls("redis+cluster://h:1"),
            (vec!["redis://h:1".to_owned()], true)
        );
        assert_eq!(
            parse_urls("redis://a:1, redis://b:2"),
            (
                vec!["redis://a:1".to_owned(), "redis://b:2".to_owned()],
                true
            )
        );
    }
}
