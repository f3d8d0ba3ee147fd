//! [`RedisTier`]: a shared [`Tier`] on Redis / Valkey, so several gateways share one cache.
//!
//! * Records are the engine's encoded, compressed records ([`crate::codec`]), stored under
//!   `{namespace}:e:{key}` with `PX` set to the end of their longest window, so Redis drops
//!   them when the engine would no longer serve them.
//! * Writes arrive from the write-behind worker in batches and go out as one pipeline: a
//!   client never waits on Redis for a value it already has.
//! * Redis down, slow or full never fails a request: each command is bounded by a short
//!   timeout, failures are counted, and after three in a row a circuit breaker
//!   skips the tier for two seconds (reads are misses, writes are dropped). The
//!   connection manager reconnects by itself; the breaker closes on the next success.
//! * The tier never reports a write failure to the engine (the engine switches a tier off
//!   for good on a failed write, which suits a full disk, not a Redis restart).
//! * Tag generations are merged into the hash `{namespace}:gens` (each tag keeps the highest
//!   generation any instance reported) and read back at start (`load_meta`), so an instance
//!   restarted on Redis never serves a record a tag invalidation had killed, and polled by
//!   running instances ([`RedisTier::spawn_generation_sync`]) so their memory tiers drop
//!   invalidated entries too (no pub/sub yet; see `docs/redis.md`). Prefix drops and sequence
//!   numbers stay per instance: clears delete the matching records from Redis instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::cache::{TieredCache, decode_invalidation, encode_invalidation};
use crate::clock::{Clock, SystemClock};
use crate::entry::TierKind;
use crate::error::{EngineError, TierError};
use crate::key::Key;
use crate::tags::InvalidationState;
use crate::tier::{MaintenanceReport, PersistedMeta, Tier, TierUsage, WriteOp};

/// Consecutive failures that open the circuit breaker.
pub(crate) const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker skips the tier before letting a command try again.
pub(crate) const BREAKER_OPEN: Duration = Duration::from_secs(2);

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
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            namespace: "cachearr".into(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// Raises each `(tag, generation)` pair in hash `KEYS[1]` to at least the given generation.
const MERGE_GENERATIONS: &str = "for i = 1, #ARGV, 2 do \
    local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') \
    if tonumber(ARGV[i + 1]) > cur then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end \
  end return 0";

/// Health of the Redis tier, for statistics and readiness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedisHealth {
    /// True while the circuit breaker skips the tier (Redis is down, slow or refusing writes).
    pub degraded: bool,
    /// Commands that failed or timed out.
    pub errors: u64,
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
}

#[derive(Default)]
struct Breaker {
    consecutive: AtomicU32,
    open_until_ms: AtomicU64,
    open: AtomicBool,
    errors: AtomicU64,
    skipped: AtomicU64,
    trips: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
}

/// A [`Tier`] on Redis / Valkey shared by several cachearr instances. Cheap to clone.
#[derive(Clone)]
pub struct RedisTier {
    conn: ConnectionManager,
    prefix: Arc<str>,
    gens_key: Arc<str>,
    /// Generations this instance has merged into Redis, so a batch sends only changes.
    sent_gens: Arc<Mutex<HashMap<String, u64>>>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    breaker: Arc<Breaker>,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
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

impl RedisTier {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, or `rediss://`) and checks
    /// the server answers (`PING`), so a wrong password or an unreachable server is an error
    /// at start rather than a silent miss later.
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
        let fail = |reason: String| EngineError::Redis {
            url: redact_url(url),
            reason,
        };
        if options.namespace.is_empty() || options.namespace.contains(['*', '?', '[', ']']) {
            return Err(fail(
                "the namespace must be non-empty and free of * ? [ ]".into(),
            ));
        }
        let client = redis::Client::open(url).map_err(|e| fail(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connect = client.get_connection_manager_with_config(config);
        let mut conn = tokio::time::timeout(options.connect_timeout * 2, connect)
            .await
            .map_err(|_| {
                fail(format!(
                    "no answer within {:?}",
                    options.connect_timeout * 2
                ))
            })?
            .map_err(|e| fail(e.to_string()))?;
        let pong: String = tokio::time::timeout(options.connect_timeout, async {
            redis::cmd("PING").query_async(&mut conn).await
        })
        .await
        .map_err(|_| fail("PING timed out".into()))?
        .map_err(|e| fail(e.to_string()))?;
        if pong != "PONG" {
            return Err(fail(format!("unexpected PING answer {pong:?}")));
        }
        Ok(Self {
            conn,
            prefix: format!("{}:e:", options.namespace).into(),
            gens_key: format!("{}:gens", options.namespace).into(),
            sent_gens: Arc::new(Mutex::new(HashMap::new())),
            timeout: options.command_timeout,
            clock,
            breaker: Arc::new(Breaker::default()),
        })
    }

    /// Counters and whether the tier is being skipped.
    pub fn health(&self) -> RedisHealth {
        let b = &self.breaker;
        RedisHealth {
            degraded: b.open.load(Ordering::Relaxed),
            errors: b.errors.load(Ordering::Relaxed),
            skipped: b.skipped.load(Ordering::Relaxed),
            breaker_trips: b.trips.load(Ordering::Relaxed),
            hits: b.hits.load(Ordering::Relaxed),
            misses: b.misses.load(Ordering::Relaxed),
            writes: b.writes.load(Ordering::Relaxed),
        }
    }

    /// Reads the tag generations every instance has merged into Redis (for
    /// [`TieredCache::raise_tag_generations`]); `None` when Redis does not answer or the
    /// breaker is open.
    pub async fn shared_generations(&self) -> Option<Vec<(String, u64)>> {
        if !self.allowed() {
            return None;
        }
        let mut conn = self.conn.clone();
        let gens: HashMap<String, u64> = self
            .bounded("hgetall", conn.hgetall(&*self.gens_key))
            .await?;
        let mut sent = self.sent_gens.lock().unwrap_or_else(|e| e.into_inner());
        for (tag, generation) in &gens {
            let known = sent.entry(tag.clone()).or_insert(0);
            *known = (*known).max(*generation);
        }
        Some(gens.into_iter().collect())
    }

    /// Keeps `cache`'s tag generations in step with the other instances: every `every` it
    /// reads the shared generations and raises the local ones, so an invalidation on another
    /// instance kills this instance's memory copies within about `every` (plus the other
    /// instance's write-behind interval). The task ends when the cache is dropped.
    pub fn spawn_generation_sync(
        &self,
        cache: &TieredCache,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let tier = self.clone();
        let weak = Arc::downgrade(&cache.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let cache = TieredCache { inner };
                if let Some(gens) = tier.shared_generations().await {
                    cache.raise_tag_generations(&gens);
                }
            }
        })
    }

    fn redis_key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    /// Whether a command may go out now (breaker closed, or open long enough to try again).
    fn allowed(&self) -> bool {
        let b = &self.breaker;
        if !b.open.load(Ordering::Relaxed) {
            return true;
        }
        if self.clock.now_ms() >= b.open_until_ms.load(Ordering::Relaxed) {
            return true;
        }
        b.skipped.fetch_add(1, Ordering::Relaxed);
        false
    }

    fn succeeded(&self) {
        let b = &self.breaker;
        b.consecutive.store(0, Ordering::Relaxed);
        if b.open.swap(false, Ordering::AcqRel) {
            tracing::warn!("redis tier answering again; shared cache back in use");
        }
    }

    fn failed(&self, what: &str, error: &str) {
        let b = &self.breaker;
        b.errors.fetch_add(1, Ordering::Relaxed);
        let n = b.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= BREAKER_FAILURES {
            let reopen = self.clock.now_ms() + BREAKER_OPEN.as_millis() as u64;
            b.open_until_ms.store(reopen, Ordering::Relaxed);
            if !b.open.swap(true, Ordering::AcqRel) {
                b.trips.fetch_add(1, Ordering::Relaxed);
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
        match tokio::time::timeout(self.timeout, fut).await {
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

    async fn remove_prefix(&self, prefix: &str) -> Option<()> {
        let pattern = format!("{}{}*", self.prefix, escape_glob(prefix));
        let mut cursor: u64 = 0;
        loop {
            let mut conn = self.conn.clone();
            let (next, keys): (u64, Vec<String>) = self
                .bounded(
                    "scan",
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn),
                )
                .await?;
            if !keys.is_empty() {
                let mut conn = self.conn.clone();
                let _: u64 = self.bounded("del", conn.del(keys)).await?;
            }
            if next == 0 {
                return Some(());
            }
            cursor = next;
        }
    }
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

impl Tier for RedisTier {
    fn kind(&self) -> TierKind {
        TierKind::Redis
    }

    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>> {
        async move {
            if !self.allowed() {
                return Ok(None);
            }
            let mut conn = self.conn.clone();
            let k = self.redis_key(key.as_str());
            let found: Option<Vec<u8>> = self.bounded("get", conn.get(k)).await.flatten();
            let b = &self.breaker;
            match found {
                Some(v) => {
                    b.hits.fetch_add(1, Ordering::Relaxed);
                    Ok(Some(Bytes::from(v)))
                }
                None => {
                    b.misses.fetch_add(1, Ordering::Relaxed);
                    Ok(None)
                }
            }
        }
        .boxed()
    }

    fn write(&self, ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>> {
        async move {
            if !self.allowed() {
                return Ok(());
            }
            let now = self.clock.now_ms();
            let mut pipe = redis::pipe();
            let mut puts = 0u64;
            let mut prefixes = Vec::new();
            let mut merged: Vec<(String, u64)> = Vec::new();
            for op in ops {
                match op {
                    WriteOp::Put {
                        key,
                        record,
                        expires_at_ms,
                    } => {
                        let px = expires_at_ms.saturating_sub(now);
                        if px == 0 {
                            continue;
                        }
                        pipe.cmd("SET")
                            .arg(self.redis_key(key.as_str()))
                            .arg(record.as_ref())
                            .arg("PX")
                            .arg(px)
                            .ignore();
                        puts += 1;
                    }
                    WriteOp::Remove { key } => {
                        pipe.cmd("DEL").arg(self.redis_key(key.as_str())).ignore();
                    }
                    WriteOp::RemovePrefix { prefix } => prefixes.push(prefix),
                    WriteOp::SetInvalidationState { state } => {
                        let Some(state) = decode_invalidation(&state) else {
                            continue;
                        };
                        let sent = self.sent_gens.lock().unwrap_or_else(|e| e.into_inner());
                        merged = state
                            .tags
                            .into_iter()
                            .filter(|(tag, g)| sent.get(tag).is_none_or(|s| s < g))
                            .collect();
                    }
                    // Per instance (see the module doc).
                    WriteOp::SetNextSeq { .. } => {}
                }
            }
            for prefix in &prefixes {
                if self.remove_prefix(prefix).await.is_none() {
                    return Ok(());
                }
            }
            if !merged.is_empty() {
                let cmd = pipe
                    .cmd("EVAL")
                    .arg(MERGE_GENERATIONS)
                    .arg(1)
                    .arg(&*self.gens_key);
                for (tag, generation) in &merged {
                    cmd.arg(tag).arg(*generation);
                }
                cmd.ignore();
            }
            let mut conn = self.conn.clone();
            let done: Option<()> = self.bounded("write", pipe.query_async(&mut conn)).await;
            if done.is_some() {
                self.breaker.writes.fetch_add(puts, Ordering::Relaxed);
                let mut sent = self.sent_gens.lock().unwrap_or_else(|e| e.into_inner());
                sent.extend(merged);
            }
            Ok(())
        }
        .boxed()
    }

    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>> {
        async move {
            let mut conn = self.conn.clone();
            let gens: HashMap<String, u64> = tokio::time::timeout(
                self.timeout.max(Duration::from_secs(2)),
                conn.hgetall(&*self.gens_key),
            )
            .await
            .map_err(|_| TierError::Store {
                tier: "redis",
                message: "reading tag generations timed out".into(),
            })?
            .map_err(|e| TierError::Store {
                tier: "redis",
                message: format!("reading tag generations: {e}"),
            })?;
            *self.sent_gens.lock().unwrap_or_else(|e| e.into_inner()) = gens.clone();
            let state = InvalidationState {
                tags: gens.into_iter().collect(),
                ..InvalidationState::default()
            };
            Ok(PersistedMeta {
                invalidation: Some(encode_invalidation(&state)),
                next_seq: 0,
            })
        }
        .boxed()
    }

    fn maintain(&self, _now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>> {
        // Redis expires records itself (PX) and evicts under its own maxmemory policy.
        async { Ok(MaintenanceReport::default()) }.boxed()
    }

    fn usage(&self) -> TierUsage {
        TierUsage::default()
    }
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
    }

    #[test]
    fn escapes_glob() {
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
