//! [`TieredCache`] and its builder: lookups, single-flight loads, stale serving, refreshes,
//! warming and invalidation, over the memory tier, an optional disk tier and an optional
//! shared Redis tier below both (memory → disk → Redis → loader).

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::task::JoinHandle;

use crate::budget::RefreshBudget;
use crate::clock::{Clock, SystemClock, duration_ms};
use crate::codec::{self, DecodeError};
use crate::disk::{DiskMemory, DiskStart, DiskTier, UnavailableDisk};
use crate::entry::{CachedValue, Entry, Fill, Lookup, Outcome, TagStamp, TierKind};
use crate::error::{EngineError, LoadError, LoadErrorKind};
use crate::key::{Key, KeyHashBuilder};
use crate::loader::Loader;
use crate::policy::Policy;
use crate::redis_tier::{Coordination, RedisTier};
use crate::stats::{
    ClassCounters, ClassRegistry, ClassStats, QueueStats, StatsSnapshot, TierCounters, TierStats,
    bump, load,
};
use crate::tags::{Invalidation, InvalidationState, InvalidationStateV1, TagChanges};
use crate::tier::{Tier, WriteOp};
use crate::write_behind::{self, Dest, WriteBehind, WriteTarget};

type MemCache = moka::future::Cache<Key, Arc<Entry>, KeyHashBuilder>;

/// Version byte in front of the persisted invalidation state.
const INVALIDATION_FORMAT: u8 = 2;
/// The format before forgotten tags had a generation floor; still read.
const INVALIDATION_FORMAT_V1: u8 = 1;
/// How often the background task runs moka's housekeeping, the warmer and pruning.
const HOUSEKEEPING_EVERY: Duration = Duration::from_millis(500);
/// The warming queue is swept once it holds this many more jobs than memory holds entries.
const WARM_QUEUE_SLACK: u64 = 1024;

/// A tiered cache: memory (moka) in front of an optional disk tier (fjall). Cloning is cheap
/// and every clone is the same cache.
#[derive(Clone)]
pub struct TieredCache {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for TieredCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredCache")
            .field("memory_max_bytes", &self.inner.memory_max_bytes)
            .field("disk", &self.inner.disk.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`TieredCache`].
pub struct TieredCacheBuilder {
    memory_max_bytes: u64,
    disk: Option<(PathBuf, u64)>,
    /// Directories beside the disk tier whose bytes count against its limit.
    disk_counts_also: Vec<PathBuf>,
    custom_tier: Option<Arc<dyn Tier>>,
    redis: Option<RedisTier>,
    clock: Arc<dyn Clock>,
    queue_capacity: usize,
    batch_interval: Duration,
    refresh_max_concurrent: usize,
    refresh_per_second: u32,
    load_timeout: Duration,
    housekeeping: bool,
}

impl std::fmt::Debug for TieredCacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredCacheBuilder")
            .field("memory_max_bytes", &self.memory_max_bytes)
            .field("disk", &self.disk)
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_interval", &self.batch_interval)
            .field("load_timeout", &self.load_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for TieredCacheBuilder {
    fn default() -> Self {
        Self {
            memory_max_bytes: 256 * 1024 * 1024,
            disk: None,
            disk_counts_also: Vec::new(),
            custom_tier: None,
            redis: None,
            clock: Arc::new(SystemClock),
            queue_capacity: 10_000,
            batch_interval: Duration::from_millis(50),
            refresh_max_concurrent: 4,
            refresh_per_second: 20,
            load_timeout: Duration::from_secs(30),
            housekeeping: true,
        }
    }
}

impl TieredCacheBuilder {
    /// Byte limit of what the cache holds in memory (default 256 MiB): the memory tier, the
    /// disk tier's block cache and the write-behind queue share it ([`MemoryPlan`]).
    #[must_use]
    pub fn memory_max_bytes(mut self, bytes: u64) -> Self {
        self.memory_max_bytes = bytes;
        self
    }

    /// Adds a disk tier in directory `path` holding at most `max_bytes` of records. Without
    /// it the cache is memory-only.
    #[must_use]
    pub fn disk(mut self, path: impl Into<PathBuf>, max_bytes: u64) -> Self {
        self.disk = Some((path.into(), max_bytes));
        self
    }

    /// Counts the files under `dir` against the disk tier's limit as if they were its own
    /// (the gateway's library index files beside it), so the data directory as a whole stays
    /// near `max_bytes`: the records get what the tier's and these files leave.
    #[must_use]
    pub fn disk_counts_also(mut self, dir: impl Into<PathBuf>) -> Self {
        self.disk_counts_also.push(dir.into());
        self
    }

    /// Uses `tier` as the level below memory instead of opening a [`DiskTier`] (for tiers
    /// built elsewhere, and for tests that inject failures). Overrides [`Self::disk`].
    #[must_use]
    pub fn tier(mut self, tier: Arc<dyn Tier>) -> Self {
        self.custom_tier = Some(tier);
        self
    }

    /// Adds a shared Redis tier below memory and disk: read after both miss, written behind
    /// with them, and the channel through which invalidations and loads are coordinated with
    /// the other instances on the same namespace (see `docs/redis.md`).
    #[must_use]
    pub fn redis(mut self, tier: RedisTier) -> Self {
        self.redis = Some(tier);
        self
    }

    /// The clock (default [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Write-behind queue capacity (records; default 10,000) and how long the worker collects
    /// writes into one batch (default 50 ms).
    #[must_use]
    pub fn write_behind(mut self, queue_capacity: usize, batch_interval: Duration) -> Self {
        self.queue_capacity = queue_capacity;
        self.batch_interval = batch_interval;
        self
    }

    /// Budget for warming refreshes: at most `max_concurrent` at once and `per_second` per
    /// second (defaults 4 and 20).
    #[must_use]
    pub fn refresh_budget(mut self, max_concurrent: usize, per_second: u32) -> Self {
        self.refresh_max_concurrent = max_concurrent;
        self.refresh_per_second = per_second;
        self
    }

    /// How long a loader may run before its waiters are released with
    /// [`EngineError::LoadTimeout`] (default 30 s).
    #[must_use]
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// Whether to spawn the housekeeping task (moka maintenance, warmer, pruning) every
    /// 500 ms (default true). Tests that drive time turn it off and call
    /// [`TieredCache::run_pending_tasks`].
    #[must_use]
    pub fn housekeeping(mut self, on: bool) -> Self {
        self.housekeeping = on;
        self
    }

    /// Opens the tiers and starts the background tasks. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`EngineError::DiskOpen`] if another process holds the disk store (a damaged store is
    /// moved aside and replaced, an unusable disk leaves the cache in memory only: see
    /// [`DiskTier::open_or_recover`]); [`EngineError::Config`] for unusable settings.
    pub async fn build(self) -> Result<TieredCache, EngineError> {
        if self.memory_max_bytes == 0 {
            return Err(EngineError::Config(
                "memory_max_bytes must be above 0".into(),
            ));
        }
        let plan = MemoryPlan::for_limit(
            self.memory_max_bytes,
            self.disk.is_some() && self.custom_tier.is_none(),
            self.disk.is_some() || self.custom_tier.is_some() || self.redis.is_some(),
        );
        // What an operator should hear about from start-up on (also in the stats).
        let mut warnings = Vec::new();
        let mut disk_off = false;
        // The opened store itself, for the application's own keyspaces in its database.
        let mut disk_store: Option<DiskTier> = None;
        let disk: Option<Arc<dyn Tier>> = match &self.disk {
            _ if self.custom_tier.is_some() => self.custom_tier.clone(),
            Some((path, max_bytes)) => {
                let (at, max_bytes) = (path.clone(), *max_bytes);
                let memory = DiskMemory {
                    block_cache: plan.disk_block_cache,
                    memtables: plan.disk_memtables,
                };
                let start = tokio::task::spawn_blocking(move || {
                    DiskTier::open_or_recover(at, max_bytes, memory)
                })
                .await
                .map_err(|e| EngineError::Config(format!("disk open task failed: {e}")))?;
                Some(match start {
                    DiskStart::Opened(tier) => {
                        tier.count_also(self.disk_counts_also.clone());
                        disk_store = Some(tier.clone());
                        Arc::new(tier)
                    }
                    DiskStart::Recovered {
                        tier,
                        moved_to,
                        reason,
                    } => {
                        let note = format!(
                            "disk cache at {} was damaged ({reason}); moved it to {} and started \
                             with an empty disk cache (the moved copy can be deleted)",
                            path.display(),
                            moved_to.display()
                        );
                        tracing::warn!("{note}");
                        warnings.push(note);
                        tier.count_also(self.disk_counts_also.clone());
                        disk_store = Some(tier.clone());
                        Arc::new(tier)
                    }
                    DiskStart::InUse { reason } => {
                        return Err(EngineError::DiskOpen {
                            path: path.display().to_string(),
                            reason,
                        });
                    }
                    DiskStart::Unavailable { reason } => {
                        let note = format!(
                            "disk cache at {} cannot be used ({reason}): entries live in memory \
                             only until a restart",
                            path.display()
                        );
                        tracing::warn!("{note}");
                        warnings.push(note);
                        disk_off = true;
                        Arc::new(UnavailableDisk { max_bytes })
                    }
                })
            }
            None => None,
        };
        let mut state = InvalidationState::default();
        let mut discard_disk = false;
        if let Some(disk) = &disk {
            let meta = disk.load_meta().await.map_err(|e| EngineError::DiskOpen {
                path: self
                    .disk
                    .as_ref()
                    .map(|(p, _)| p.display().to_string())
                    .unwrap_or_default(),
                reason: e.to_string(),
            })?;
            if let Some(raw) = meta.invalidation {
                match decode_invalidation(&raw) {
                    Some(s) => state = s,
                    None => {
                        // Without the invalidation state we cannot tell which records were
                        // invalidated: dropping them all is the only safe answer.
                        tracing::warn!(
                            "disk cache invalidation state unreadable; clearing disk cache"
                        );
                        discard_disk = true;
                    }
                }
            }
            // Tags persisted one by one; a state written before they were (its own list) is
            // merged, the higher generation winning.
            if !meta.tag_generations.is_empty() {
                let mut merged: std::collections::HashMap<String, u64> =
                    std::mem::take(&mut state.tags).into_iter().collect();
                for (tag, generation) in meta.tag_generations {
                    let g = merged.entry(tag).or_default();
                    *g = (*g).max(generation);
                }
                state.tags = merged.into_iter().collect();
            }
            state.next_seq = state.next_seq.max(meta.next_seq).max(1);
        }
        let inval = Invalidation::restore(state);
        let classes = ClassRegistry::default();
        let now = self.clock.now_ms();
        if let Some(redis) = &self.redis {
            // What other instances invalidated before this one started (or while it was
            // away) must not be served from this instance's disk either.
            redis.initial_sync(&inval).await;
        }
        let (write_behind, receivers) = if disk.is_some() || self.redis.is_some() {
            let (wb, receivers) = WriteBehind::new(self.queue_capacity, plan.write_queue);
            (Some(wb), Some(receivers))
        } else {
            (None, None)
        };
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let evict_weak = weak.clone();
            let memory: MemCache = moka::future::Cache::builder()
                .max_capacity(plan.memory_tier)
                .weigher(|k: &Key, v: &Arc<Entry>| {
                    u32::try_from(v.weight(k.as_str().len())).unwrap_or(u32::MAX)
                })
                .expire_after(MemoryExpiry)
                .eviction_listener(move |_k, v: Arc<Entry>, cause| {
                    if cause == RemovalCause::Size {
                        bump(&v.class.evictions);
                        if let Some(inner) = evict_weak.upgrade() {
                            bump(&inner.memory_counters.evictions);
                        }
                    }
                })
                .build_with_hasher(KeyHashBuilder);
            Inner {
                clock: self.clock.clone(),
                memory,
                memory_max_bytes: self.memory_max_bytes,
                plan,
                disk,
                disk_store,
                redis: self.redis.clone(),
                inval,
                classes,
                memory_counters: TierCounters::new(),
                disk_counters: TierCounters::new(),
                flights: Mutex::new(HashMap::with_hasher(KeyHashBuilder)),
                write_behind,
                budget: RefreshBudget::new(
                    self.refresh_max_concurrent,
                    self.refresh_per_second,
                    now,
                ),
                load_timeout: self.load_timeout,
                warm_queue: Mutex::new(BTreeMap::new()),
                warm_seq: AtomicU64::new(0),
                tasks: Mutex::new(Vec::new()),
                persisted_seq: AtomicU64::new(0),
                housekeeping_passes: AtomicU64::new(1),
                warnings: Mutex::new(warnings),
            }
        });
        if disk_off {
            inner.disk_counters.enabled.store(false, Ordering::Release);
        }
        if discard_disk && let Some(wb) = &inner.write_behind {
            wb.side_op(
                0,
                WriteOp::RemovePrefix {
                    prefix: String::new(),
                },
                Dest::DiskOnly,
            );
        }
        let mut tasks = Vec::new();
        if let Some(redis) = &self.redis {
            tasks.push(redis.spawn_events(Arc::downgrade(&inner)));
        }
        if let Some((puts, controls)) = receivers {
            tasks.push(tokio::spawn(write_behind::run_worker(
                Arc::downgrade(&inner),
                self.batch_interval,
                puts,
                controls,
            )));
        }
        if self.housekeeping {
            let weak = Arc::downgrade(&inner);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    inner.housekeeping().await;
                }
            }));
        }
        *inner.tasks.lock().unwrap_or_else(|e| e.into_inner()) = tasks;
        Ok(TieredCache { inner })
    }
}

/// How the engine shares `memory_max` among what it holds in memory, so that the limit an
/// operator sets bounds all of it, not only the memory tier.
///
/// * The disk tier's block cache (fjall keeps recently read blocks decompressed): an eighth,
///   between 2 and 64 MiB. Reads of the disk tier are what it speeds up, and those come after a
///   memory miss, so a small one does.
/// * The write-behind queue: a sixteenth, between 2 and 64 MiB. An entry the memory tier has
///   evicted while its write waits is held by the queue alone, so this is what a disk (or
///   Redis) falling behind can hold; past it, writes are dropped and counted like those of a
///   full queue.
/// * The memory tier: the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemoryPlan {
    /// What the memory tier's entries may weigh.
    pub memory_tier: u64,
    /// The disk tier's block cache (0 without a disk tier).
    pub disk_block_cache: u64,
    /// What the write-behind queue's entries may weigh (0 without a tier below memory).
    pub write_queue: u64,
    /// The disk tier's memtables: records written but not yet flushed (0 without a disk
    /// tier).
    pub disk_memtables: u64,
}

impl MemoryPlan {
    /// The plan for `memory_max` bytes, with or without a disk tier and with or without any
    /// tier below memory (disk or Redis: the write-behind queue).
    #[must_use]
    pub fn for_limit(memory_max: u64, disk: bool, below_memory: bool) -> MemoryPlan {
        const MIB: u64 = 1024 * 1024;
        let disk_block_cache = if disk {
            (memory_max / 8).clamp(2 * MIB, 64 * MIB)
        } else {
            0
        };
        let write_queue = if below_memory {
            (memory_max / 16).clamp(2 * MIB, 64 * MIB)
        } else {
            0
        };
        // fjall holds every record it was given in a memtable until the memtable is flushed
        // (the encoded records are shared, not copied, but they outlive the write queue).
        let disk_memtables = if disk {
            (memory_max / 16).clamp(4 * MIB, 64 * MIB)
        } else {
            0
        };
        // A tiny limit still leaves the memory tier something (a quarter) to work with.
        let memory_tier = memory_max
            .saturating_sub(disk_block_cache + write_queue + disk_memtables)
            .max(memory_max / 4)
            .max(1);
        MemoryPlan {
            memory_tier,
            disk_block_cache,
            write_queue,
            disk_memtables,
        }
    }
}

/// Tells moka when an entry is of no more use: its whole life (fresh + the longer stale
/// window), measured from insertion so it does not depend on which clock the engine uses.
struct MemoryExpiry;

impl moka::Expiry<Key, Arc<Entry>> for MemoryExpiry {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Arc<Entry>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(Duration::from_millis(
            value.expires_at_ms().saturating_sub(value.stored_at_ms),
        ))
    }

    fn expire_after_update(
        &self,
        key: &Key,
        value: &Arc<Entry>,
        updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, updated_at)
    }
}

/// Whether a lookup counts in the tiers' hit and miss counters: a client's lookup does, a
/// probe ([`TieredCache::get`]) does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counted {
    Yes,
    No,
}

/// Why a load is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlightKind {
    /// A caller is waiting for it.
    Foreground,
    /// Started by a stale hit (stale-while-revalidate).
    Revalidate,
    /// Started by the warmer.
    Warm,
}

/// How a load ended; handed to every waiter.
#[derive(Clone, Debug)]
enum FlightDone {
    Stored(Arc<Entry>),
    /// Another instance loaded it (cross-instance single-flight through Redis).
    Coalesced(Arc<Entry>),
    Passed(Arc<Entry>),
    StaleOnError(Arc<Entry>),
    Failed(EngineError),
}

struct Flight {
    done: watch::Sender<Option<FlightDone>>,
}

struct WarmJob {
    key: Key,
    policy: Policy,
    loader: Arc<dyn Loader>,
    entry_seq: u64,
}

pub(crate) struct Inner {
    clock: Arc<dyn Clock>,
    memory: MemCache,
    memory_max_bytes: u64,
    /// How `memory_max_bytes` is shared out.
    plan: MemoryPlan,
    disk: Option<Arc<dyn Tier>>,
    /// The disk tier this cache opened ([`TieredCacheBuilder::disk`]), if it could.
    disk_store: Option<DiskTier>,
    pub(crate) redis: Option<RedisTier>,
    pub(crate) inval: Invalidation,
    classes: ClassRegistry,
    memory_counters: TierCounters,
    disk_counters: TierCounters,
    flights: Mutex<HashMap<Key, Arc<Flight>, KeyHashBuilder>>,
    write_behind: Option<Arc<WriteBehind>>,
    budget: RefreshBudget,
    load_timeout: Duration,
    /// Entries read twice, by the time (ms) their warming refresh is due.
    warm_queue: Mutex<BTreeMap<(u64, u64), WarmJob>>,
    warm_seq: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The next-sequence value last written to disk.
    persisted_seq: AtomicU64,
    housekeeping_passes: AtomicU64,
    /// Why a tier is off or was reset, newest last (shown in the stats).
    warnings: Mutex<Vec<String>>,
}

impl TieredCache {
    /// A builder with defaults: 256 MiB memory, no disk, the system clock.
    pub fn builder() -> TieredCacheBuilder {
        TieredCacheBuilder::default()
    }

    /// The disk tier this cache opened and runs on, if any (not one given with
    /// [`TieredCacheBuilder::tier`], nor one that could not be used): the application may keep
    /// its own keyspaces in the same database ([`DiskTier::shared_keyspace`]).
    pub fn disk_store(&self) -> Option<&DiskTier> {
        self.inner.disk_store.as_ref()
    }

    /// Returns the cached entry for `key`, or loads it with `loader`.
    ///
    /// * fresh in memory or on disk → served ([`Outcome::Hit`]); a disk hit is promoted.
    /// * stale within the stale-while-revalidate window → served at once ([`Outcome::Stale`])
    ///   and one background refresh starts, unless one is running already.
    /// * otherwise → one load per key, however many callers wait ([`Outcome::Miss`] for the
    ///   caller that started it, [`Outcome::Coalesced`] for the others). If it fails and a
    ///   stale copy is within its stale-if-error window, that copy is served
    ///   ([`Outcome::StaleOnError`]).
    ///
    /// # Concurrent calls on the same key
    /// The load runs in its own task: waiters are woken when it lands (no polling), a caller
    /// that goes away does not cancel it, and a panicking or hanging loader releases every
    /// waiter with [`EngineError::LoaderPanicked`] or [`EngineError::LoadTimeout`].
    ///
    /// # Errors
    /// The load's error when no stale copy may stand in. Errors are never stored.
    pub async fn get_or_load(
        &self,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
    ) -> Result<Lookup, EngineError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let mut stale: Option<Arc<Entry>> = None;
        if let Some(entry) = inner.memory.get(key).await {
            if inner.inval.is_valid(key, &entry) {
                if now < policy.fresh_until_ms(&entry) {
                    entry.class.hit(TierKind::Memory);
                    inner.note_read(key, policy, &loader, &entry);
                    return Ok(Lookup {
                        entry,
                        outcome: Outcome::Hit(TierKind::Memory),
                    });
                }
                if now < entry.stale_until_ms {
                    return Ok(inner.serve_stale(key, policy, loader, entry));
                }
                if now < entry.error_until_ms {
                    stale = Some(entry);
                }
            } else {
                inner.forget_if_same(key, &entry).await;
            }
        } else if let Some((entry, tier)) = inner.lower_lookup(key, now, Counted::Yes).await {
            if now < policy.fresh_until_ms(&entry) {
                entry.class.hit(tier);
                inner.note_read(key, policy, &loader, &entry);
                return Ok(Lookup {
                    entry,
                    outcome: Outcome::Hit(tier),
                });
            }
            if now < entry.stale_until_ms {
                return Ok(inner.serve_stale(key, policy, loader, entry));
            }
            if now < entry.error_until_ms {
                stale = Some(entry);
            }
        }
        inner.load(key, policy, loader, stale).await
    }

    /// Looks `key` up without loading: fresh ([`Outcome::Hit`]) or stale but still within one
    /// of its windows ([`Outcome::Stale`]); no refresh is started.
    ///
    /// A probe (the gateway reads play state from cached answers this way), so it is not
    /// counted in the statistics: hits, misses and hit rates describe [`Self::get_or_load`].
    pub async fn get(&self, key: &Key) -> Option<Lookup> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let (entry, tier) = match inner.memory.get(key).await {
            Some(e) if inner.inval.is_valid(key, &e) => (e, TierKind::Memory),
            Some(e) => {
                inner.forget_if_same(key, &e).await;
                return None;
            }
            // A probe, not a client's lookup: it counts in no tier's hits or misses (so
            // a lower tier's lookups never outnumber the memory tier's misses).
            None => inner.lower_lookup(key, now, Counted::No).await?,
        };
        if now < entry.fresh_until_ms {
            Some(Lookup {
                entry,
                outcome: Outcome::Hit(tier),
            })
        } else if now < entry.expires_at_ms() {
            Some(Lookup {
                entry,
                outcome: Outcome::Stale,
            })
        } else {
            None
        }
    }

    /// Stores a value directly (no loader), in memory at once and on disk behind.
    pub async fn insert(&self, key: &Key, policy: &Policy, value: CachedValue) {
        let inner = &self.inner;
        let seq = inner.inval.next_seq();
        let stamps = inner.inval.stamps(&policy.tags);
        let class = inner.classes.get(&policy.class);
        let entry = inner.make_entry(value, policy, seq, stamps, class, false, 0);
        inner.store(key, entry).await;
    }

    /// Invalidates every entry stored under `tag`, at once, in O(1): the tag's generation is
    /// bumped; entries carrying the old generation fail their next read. Persisted.
    pub fn invalidate_tag(&self, tag: &str) {
        self.inner.inval.invalidate_tag(tag);
        if let Some(wb) = &self.inner.write_behind {
            wb.poke();
        }
        if let Some(redis) = &self.inner.redis {
            // INCR in Redis and a broadcast to the other instances, behind the caller.
            redis.share_tag_bump(&self.inner, tag);
        }
    }

    /// Raises tag generations to at least the given ones (what other instances reported
    /// through a shared tier): entries stamped with an older generation are dead at once, in
    /// memory too. Returns how many tags changed.
    pub fn raise_tag_generations(&self, generations: &[(String, u64)]) -> usize {
        generations
            .iter()
            .filter(|(tag, generation)| self.inner.inval.raise_tag(tag, *generation))
            .count()
    }

    /// Drops everything, at once. Memory is emptied; disk records are removed behind.
    pub fn clear_all(&self) {
        self.inner.clear_all_local(Dest::All);
        if let Some(redis) = &self.inner.redis {
            redis.share_clear(&self.inner, "");
        }
    }

    /// Drops every key starting with `prefix`, at once (a recorded drop that reads check).
    /// Memory and disk space is reclaimed behind; with Redis, the records are removed there
    /// too and every other instance is told to drop the prefix from its own tiers.
    pub fn clear_prefix(&self, prefix: &str) {
        if prefix.is_empty() {
            return self.clear_all();
        }
        self.inner.clear_prefix_local(prefix, Dest::All);
        if let Some(redis) = &self.inner.redis {
            redis.share_clear(&self.inner, prefix);
        }
    }

    /// The shared Redis tier, if one is configured (health and counters for statistics).
    pub fn redis(&self) -> Option<&RedisTier> {
        self.inner.redis.as_ref()
    }
}

impl Inner {
    /// Clear-all on this instance's memory and disk (and Redis with [`Dest::All`]).
    pub(crate) fn clear_all_local(&self, dest: Dest) {
        let inner = self;
        let drop = inner.inval.drop_prefix("", inner.clock.now_ms());
        inner.memory.invalidate_all();
        inner
            .warm_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Some(wb) = &inner.write_behind {
            wb.side_op(
                drop.seq,
                WriteOp::RemovePrefix {
                    prefix: String::new(),
                },
                dest,
            );
        }
    }

    /// A prefix drop on this instance's memory and disk (and Redis with [`Dest::All`]).
    pub(crate) fn clear_prefix_local(self: &Arc<Self>, prefix: &str, dest: Dest) {
        let inner = self;
        let drop = inner.inval.drop_prefix(prefix, inner.clock.now_ms());
        if let Some(wb) = &inner.write_behind {
            wb.side_op(
                drop.seq,
                WriteOp::RemovePrefix {
                    prefix: prefix.to_owned(),
                },
                dest,
            );
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(inner);
            let prefix = prefix.to_owned();
            handle.spawn(async move {
                let Some(inner) = weak.upgrade() else { return };
                let doomed: Vec<Key> = inner
                    .memory
                    .iter()
                    .filter(|(k, e)| e.seq < drop.seq && k.as_str().starts_with(&prefix))
                    .map(|(k, _)| (*k).clone())
                    .collect();
                for k in doomed {
                    // Only if still the dropped entry: one stored since the drop must stay.
                    inner
                        .memory
                        .entry_by_ref(&k)
                        .and_compute_with(|current| {
                            let op = match current {
                                Some(e) if e.value().seq < drop.seq => Op::Remove,
                                _ => Op::Nop,
                            };
                            std::future::ready(op)
                        })
                        .await;
                }
            });
        }
    }
}

impl TieredCache {
    /// Removes one key from every tier. Returns once the removal has reached the disk tier,
    /// so no later read finds the record there (removals are rare: admin actions, items the
    /// upstream no longer has).
    pub async fn remove(&self, key: &Key) {
        if let Some(wb) = &self.inner.write_behind {
            wb.side_op(
                self.inner.inval.next_seq(),
                WriteOp::Remove { key: key.clone() },
                Dest::All,
            );
            // Disk first, memory second: a read in between finds the memory copy and never
            // promotes the disk copy back.
            wb.flush().await;
        }
        self.inner.memory.invalidate(key).await;
    }

    /// How the cache shares its memory limit among the memory tier, the disk tier's block
    /// cache and the write-behind queue.
    pub fn memory_plan(&self) -> MemoryPlan {
        self.inner.plan
    }

    /// Statistics per class and per tier. Per-class entries, bytes and ages describe the
    /// memory tier (computed by walking it, so call this for dashboards, not per request).
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats()
    }

    /// Runs pending housekeeping now: moka maintenance (evictions), due warming refreshes,
    /// pruning of old drop records. The background task does this every 500 ms.
    pub async fn run_pending_tasks(&self) {
        self.inner.housekeeping().await;
    }

    /// Waits until every write queued so far has reached the disk and Redis tiers.
    pub async fn flush(&self) {
        if let Some(redis) = &self.inner.redis {
            redis.settled().await;
        }
        if let Some(wb) = &self.inner.write_behind {
            wb.flush().await;
        }
    }

    /// Flushes the write-behind queue and stops the background tasks. The cache still
    /// answers from memory and disk afterwards, but writes no longer reach disk.
    pub async fn shutdown(&self) {
        if let Some(wb) = &self.inner.write_behind {
            wb.shutdown().await;
        }
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }

    /// The clock this cache reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    fn make_entry(
        &self,
        value: CachedValue,
        policy: &Policy,
        seq: u64,
        tags: Box<[TagStamp]>,
        class: Arc<ClassCounters>,
        negative: bool,
        reads: u32,
    ) -> Arc<Entry> {
        let now = self.clock.now_ms();
        let (fresh, swr, sie) = if negative {
            (
                policy.negative_ttl.unwrap_or_default(),
                Duration::ZERO,
                Duration::ZERO,
            )
        } else {
            (
                policy.fresh,
                policy.stale_while_revalidate,
                policy.stale_if_error,
            )
        };
        let fresh_until_ms = now.saturating_add(duration_ms(fresh));
        let entry = Entry {
            value,
            stored_at_ms: now,
            fresh_until_ms,
            stale_until_ms: fresh_until_ms.saturating_add(duration_ms(swr)),
            error_until_ms: fresh_until_ms.saturating_add(duration_ms(sie)),
            negative,
            seq,
            tags,
            class,
            reads: AtomicU32::new(reads),
            warm_scheduled: std::sync::atomic::AtomicBool::new(false),
        };
        self.inval.note_life(entry.expires_at_ms() - now);
        Arc::new(entry)
    }

    /// Puts an entry in memory now and queues it for disk and Redis.
    async fn store(&self, key: &Key, entry: Arc<Entry>) {
        self.store_to(key, entry, Dest::All).await;
    }

    /// Puts an entry in memory now and queues it for the lower tiers `dest` names.
    async fn store_to(&self, key: &Key, entry: Arc<Entry>, dest: Dest) {
        self.memory.insert(key.clone(), entry.clone()).await;
        self.queue_put(key, entry, dest);
    }

    /// Queues an entry for the lower tiers (the memory tier has it already).
    fn queue_put(&self, key: &Key, entry: Arc<Entry>, dest: Dest) {
        let disk_on = self.disk.is_some() && self.disk_counters.enabled.load(Ordering::Relaxed);
        let wanted = disk_on || (dest == Dest::All && self.redis.is_some());
        if let Some(wb) = &self.write_behind
            && wanted
            && !wb.put(key.clone(), entry, dest)
        {
            bump(&self.disk_counters.dropped_writes);
            if let Some(redis) = &self.redis
                && dest == Dest::All
            {
                redis.count_dropped_write();
            }
        }
    }

    /// Counts a read for warming; schedules a refresh at 80 % of the fresh TTL once an entry
    /// has been read twice.
    #[inline]
    fn note_read(&self, key: &Key, policy: &Policy, loader: &Arc<dyn Loader>, entry: &Entry) {
        let reads = entry.reads.fetch_add(1, Ordering::Relaxed) + 1;
        if reads >= 2
            && !entry.warm_scheduled.load(Ordering::Relaxed)
            && !entry.warm_scheduled.swap(true, Ordering::AcqRel)
        {
            self.schedule_warm(key, policy, loader, entry);
        }
    }

    #[cold]
    fn schedule_warm(&self, key: &Key, policy: &Policy, loader: &Arc<dyn Loader>, entry: &Entry) {
        let fresh = entry.fresh_until_ms.saturating_sub(entry.stored_at_ms);
        if fresh == 0 || entry.negative {
            return;
        }
        let due = entry.stored_at_ms + fresh * 4 / 5;
        let n = self.warm_seq.fetch_add(1, Ordering::Relaxed);
        self.warm_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (due, n),
                WarmJob {
                    key: key.clone(),
                    policy: policy.clone(),
                    // The job may wait most of a TTL: keep a loader that holds only its own
                    // bytes, not the request's buffers.
                    loader: loader.kept().unwrap_or_else(|| loader.clone()),
                    entry_seq: entry.seq,
                },
            );
    }

    /// Drops warming jobs whose entry has left memory (evicted, invalidated, cleared) and
    /// all but the newest job of each key, once the queue holds more jobs than memory holds
    /// entries: without this the queue kept a job (and its loader) for every entry ever read
    /// twice until the job came due, most of a TTL later.
    fn sweep_warm_queue(&self) {
        let entries = self.memory.entry_count();
        let mut q = self.warm_queue.lock().unwrap_or_else(|e| e.into_inner());
        if (q.len() as u64) <= entries.saturating_add(WARM_QUEUE_SLACK) {
            return;
        }
        let mut newest: HashMap<Key, (u64, u64), KeyHashBuilder> =
            HashMap::with_hasher(KeyHashBuilder);
        for (at, job) in q.iter() {
            if self.memory.contains_key(&job.key) {
                let slot = newest.entry(job.key.clone()).or_insert(*at);
                if at.1 > slot.1 {
                    *slot = *at;
                }
            }
        }
        q.retain(|at, job| newest.get(&job.key) == Some(at));
    }

    fn serve_stale(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        entry: Arc<Entry>,
    ) -> Lookup {
        bump(&entry.class.stale_hits);
        self.join_flight(
            key,
            policy,
            loader,
            Some(entry.clone()),
            FlightKind::Revalidate,
            None,
        );
        Lookup {
            entry,
            outcome: Outcome::Stale,
        }
    }

    async fn load(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
    ) -> Result<Lookup, EngineError> {
        let (mut rx, started) =
            self.join_flight(key, policy, loader, stale, FlightKind::Foreground, None);
        let class = self.classes.get(&policy.class);
        bump(if started {
            &class.misses
        } else {
            &class.coalesced
        });
        bump(&self.memory_counters.misses);
        let done = match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone(),
            Err(_) => None,
        }
        .unwrap_or(FlightDone::Failed(EngineError::LoaderPanicked));
        match done {
            FlightDone::Stored(entry) => Ok(Lookup {
                entry,
                outcome: if started {
                    Outcome::Miss
                } else {
                    Outcome::Coalesced
                },
            }),
            FlightDone::Coalesced(entry) => Ok(Lookup {
                entry,
                outcome: Outcome::Coalesced,
            }),
            FlightDone::Passed(entry) => {
                bump(&class.passed);
                Ok(Lookup {
                    entry,
                    outcome: Outcome::Passed,
                })
            }
            FlightDone::StaleOnError(entry) => {
                bump(&class.stale_on_error);
                Ok(Lookup {
                    entry,
                    outcome: Outcome::StaleOnError,
                })
            }
            FlightDone::Failed(e) => Err(e),
        }
    }

    /// Joins the load running for `key`, or starts one. Returns the receiver and whether
    /// this call started it.
    fn join_flight(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
        kind: FlightKind,
        permit: Option<OwnedSemaphorePermit>,
    ) -> (watch::Receiver<Option<FlightDone>>, bool) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = flights.get(key) {
            return (f.done.subscribe(), false);
        }
        let (tx, rx) = watch::channel(None);
        let flight = Arc::new(Flight { done: tx });
        flights.insert(key.clone(), flight.clone());
        drop(flights);
        let this = self.clone();
        let key = key.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            this.run_flight(key, policy, loader, stale, kind, flight, permit)
                .await;
        });
        (rx, true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_flight(
        self: Arc<Self>,
        key: Key,
        policy: Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
        kind: FlightKind,
        flight: Arc<Flight>,
        _permit: Option<OwnedSemaphorePermit>,
    ) {
        let class = self.classes.get(&policy.class);
        // Whatever happens below (even a panic in our own code), the waiters are released
        // and the key is free for the next load.
        let _guard = FlightGuard {
            inner: self.clone(),
            key: key.clone(),
            flight: flight.clone(),
            class: (kind != FlightKind::Foreground).then(|| class.clone()),
        };
        if kind != FlightKind::Foreground {
            bump(&class.refreshes_started);
            bump(&class.refreshes_in_progress);
            if kind == FlightKind::Warm {
                bump(&class.warm_refreshes);
            }
        }
        // Stamp before loading: an invalidation that lands while the load runs must make
        // its result stale, since the upstream may have answered from before the change.
        let seq = self.inval.next_seq();
        let stamps = self.inval.stamps(&policy.tags);
        let bumps_before = self.inval.bump_clock();
        // With Redis, one load per key across every instance: take the shared lock, or wait
        // (bounded) for the instance that holds it.
        let mut lock: Option<String> = None;
        if let Some(redis) = &self.redis {
            match redis.coordinate(&key).await {
                Coordination::Load(token) => lock = Some(token),
                Coordination::Landed(raw) => {
                    let now = self.clock.now_ms();
                    if let Some(entry) =
                        self.decode_lower(&key, &raw, now, Some(seq), TierKind::Redis)
                        && now < entry.fresh_until_ms
                    {
                        self.promote(&key, &entry).await;
                        self.queue_put(&key, entry.clone(), Dest::DiskOnly);
                        flight.done.send_replace(Some(FlightDone::Coalesced(entry)));
                        return;
                    }
                }
                Coordination::LoadAlone => {}
            }
        }
        // The lock holder writes its record to Redis itself, right after the waiters here
        // are released, and announces it; the write-behind queue takes it to disk only.
        let dest = if lock.is_some() {
            Dest::DiskOnly
        } else {
            Dest::All
        };
        let _release = lock.map(|token| ReleaseLock {
            inner: self.clone(),
            key: key.clone(),
            token,
            flight: flight.clone(),
        });
        // A stored entry (being refreshed, or standing by for an error) lets the loader ask
        // the upstream whether it changed instead of fetching it whole.
        let current = stale.as_ref().filter(|s| !s.negative);
        let loading = match current {
            Some(current) => loader.revalidate(&current.value),
            None => loader.load(),
        };
        let result =
            tokio::time::timeout(self.load_timeout, AssertUnwindSafe(loading).catch_unwind()).await;
        let reads = u32::from(kind == FlightKind::Foreground);
        let result = match result {
            Ok(Ok(Ok(Fill::NotModified))) => match current {
                Some(current) => {
                    bump(&class.revalidated_304);
                    Ok(Ok(Ok(Fill::Store(current.value.clone()))))
                }
                None => Ok(Ok(Err(LoadError::of_kind(
                    LoadErrorKind::BadAnswer,
                    "not modified, but nothing is stored to keep",
                )))),
            },
            other => other,
        };
        let failure = match result {
            Ok(Ok(Ok(fill))) => {
                let stamps = match &fill {
                    Fill::Store(value) | Fill::Negative(value) => {
                        let extra = loader.value_tags(value);
                        self.inval.stamps_after(stamps, &extra, bumps_before)
                    }
                    Fill::Pass(_) | Fill::NotModified => stamps,
                };
                let done = match fill {
                    Fill::Store(value) => {
                        let entry = self.make_entry(
                            value,
                            &policy,
                            seq,
                            stamps,
                            class.clone(),
                            false,
                            reads,
                        );
                        self.store_to(&key, entry.clone(), dest).await;
                        FlightDone::Stored(entry)
                    }
                    Fill::Negative(value) if policy.negative_ttl.is_some() => {
                        let entry = self.make_entry(
                            value,
                            &policy,
                            seq,
                            stamps,
                            class.clone(),
                            true,
                            reads,
                        );
                        self.store_to(&key, entry.clone(), dest).await;
                        FlightDone::Stored(entry)
                    }
                    Fill::Negative(value) | Fill::Pass(value) => {
                        let entry =
                            self.make_entry(value, &policy, seq, stamps, class.clone(), false, 0);
                        FlightDone::Passed(entry)
                    }
                    // Turned into `Store` of the current value above.
                    Fill::NotModified => {
                        flight
                            .done
                            .send_replace(Some(FlightDone::Failed(EngineError::Load(
                                LoadError::of_kind(LoadErrorKind::BadAnswer, "not modified"),
                            ))));
                        return;
                    }
                };
                flight.done.send_replace(Some(done));
                return;
            }
            Ok(Ok(Err(e))) => EngineError::Load(e),
            Ok(Err(_panic)) => EngineError::LoaderPanicked,
            Err(_elapsed) => EngineError::LoadTimeout(self.load_timeout),
        };
        bump(&class.loader_errors);
        tracing::debug!(key = %key, class = %policy.class, error = %failure, "load failed");
        let now = self.clock.now_ms();
        let done = match stale {
            Some(s) if now < s.error_until_ms && self.inval.is_valid(&key, &s) => {
                FlightDone::StaleOnError(s)
            }
            _ => FlightDone::Failed(failure),
        };
        flight.done.send_replace(Some(done));
    }

    /// Looks `key` up below memory: disk first, then Redis. A usable entry is promoted to
    /// memory; one found in Redis is also written behind to disk, so the next restart or
    /// memory eviction finds it locally.
    async fn lower_lookup(
        &self,
        key: &Key,
        now: u64,
        counted: Counted,
    ) -> Option<(Arc<Entry>, TierKind)> {
        if let Some(entry) = self.disk_lookup(key, now, counted).await {
            let kind = self.disk.as_ref().map_or(TierKind::Disk, |d| d.kind());
            return Some((entry, kind));
        }
        let redis = self.redis.as_ref()?;
        // A local sequence number taken before the read: a clear that reaches this instance
        // while the read is on the wire has a higher number and so kills what it returns.
        let seq = self.inval.next_seq();
        let raw = redis.get_record(key).await?;
        let entry = self.decode_lower(key, &raw, now, Some(seq), TierKind::Redis)?;
        self.promote(key, &entry).await;
        self.queue_put(key, entry.clone(), Dest::DiskOnly);
        Some((entry, TierKind::Redis))
    }

    /// Decodes a record read from a lower tier into an entry, if it may still be served.
    /// `seq` replaces the record's own sequence number (records from Redis were numbered by
    /// another instance).
    pub(crate) fn decode_lower(
        &self,
        key: &Key,
        raw: &Bytes,
        now: u64,
        seq: Option<u64>,
        tier: TierKind,
    ) -> Option<Arc<Entry>> {
        let record = match codec::decode(raw) {
            Ok(r) => r,
            Err(e) => {
                if tier == TierKind::Redis {
                    tracing::debug!(key = %key, "undecodable redis record ignored");
                    return None;
                }
                match e {
                    DecodeError::Corrupt(why) => {
                        bump(&self.disk_counters.corrupt);
                        tracing::warn!(key = %key, why, "corrupt disk cache record removed");
                    }
                    DecodeError::OtherVersion(v) => {
                        tracing::debug!(key = %key, version = v, "old-format record discarded");
                    }
                }
                if let Some(wb) = &self.write_behind {
                    wb.side_op(
                        self.inval.next_seq(),
                        WriteOp::Remove { key: key.clone() },
                        Dest::DiskOnly,
                    );
                }
                return None;
            }
        };
        if now >= record.expires_at_ms() {
            return None;
        }
        let h = &record.header;
        let class_name: Arc<str> = h.class.as_str().into();
        let entry = Arc::new(Entry {
            value: record.value(),
            stored_at_ms: h.stored_at_ms,
            fresh_until_ms: h.fresh_until_ms,
            stale_until_ms: h.stale_until_ms,
            error_until_ms: h.error_until_ms,
            negative: h.negative,
            seq: seq.unwrap_or(h.seq),
            tags: h
                .tags
                .iter()
                .map(|(name, generation)| TagStamp {
                    cell: self.inval.tag(name),
                    generation: *generation,
                })
                .collect(),
            class: self.classes.get(&class_name),
            reads: AtomicU32::new(0),
            warm_scheduled: std::sync::atomic::AtomicBool::new(false),
        });
        if !self.inval.is_valid(key, &entry) {
            return None;
        }
        Some(entry)
    }

    /// Puts an entry read from a lower tier into memory, unless a newer entry reached memory
    /// while we read.
    pub(crate) async fn promote(&self, key: &Key, entry: &Arc<Entry>) {
        let promoted = entry.clone();
        self.memory
            .entry_by_ref(key)
            .and_compute_with(|current| {
                std::future::ready(match current {
                    Some(c) if c.value().seq >= promoted.seq => Op::Nop,
                    _ => Op::Put(promoted),
                })
            })
            .await;
    }

    /// Reads and decodes `key` from the disk tier; promotes a usable entry to memory.
    async fn disk_lookup(&self, key: &Key, now: u64, counted: Counted) -> Option<Arc<Entry>> {
        let disk = self.disk.as_ref()?;
        if !self.disk_counters.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let miss = || {
            if counted == Counted::Yes {
                bump(&self.disk_counters.misses);
            }
        };
        let raw = match disk.get(key).await {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                miss();
                return None;
            }
            Err(e) => {
                bump(&self.disk_counters.errors);
                tracing::warn!(error = %e, "disk tier read failed; treating as a miss");
                return None;
            }
        };
        let Some(entry) = self.decode_lower(key, &raw, now, None, TierKind::Disk) else {
            // Corrupt, expired or invalidated: unusable, so a miss.
            miss();
            return None;
        };
        if counted == Counted::Yes {
            bump(&self.disk_counters.hits);
        }
        self.promote(key, &entry).await;
        Some(entry)
    }

    /// Drops `entry` from memory if it is still the one stored under `key` (a concurrent
    /// load may have replaced it with a valid one).
    async fn forget_if_same(&self, key: &Key, entry: &Arc<Entry>) {
        self.memory
            .entry_by_ref(key)
            .and_compute_with(|current| {
                std::future::ready(match current {
                    Some(c) if Arc::ptr_eq(c.value(), entry) => Op::Remove,
                    _ => Op::Nop,
                })
            })
            .await;
    }

    async fn housekeeping(self: &Arc<Self>) {
        self.memory.run_pending_tasks().await;
        let now = self.clock.now_ms();
        self.inval.prune(now);
        // Walking every interned tag takes the tag map's write lock: once a minute is enough.
        if self
            .housekeeping_passes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(120)
        {
            self.inval.forget_unused_tags(now);
        }
        self.sweep_warm_queue();
        self.run_warmer(now).await;
    }

    /// Starts the warming refreshes that are due, as far as the budget allows.
    async fn run_warmer(self: &Arc<Self>, now: u64) {
        loop {
            let job = {
                let mut q = self.warm_queue.lock().unwrap_or_else(|e| e.into_inner());
                match q.first_key_value() {
                    Some((&(due, _), _)) if due <= now => q.pop_first(),
                    _ => None,
                }
            };
            let Some(((due, n), job)) = job else { return };
            let Some(current) = self.memory.get(&job.key).await else {
                continue;
            };
            if current.seq != job.entry_seq
                || now >= current.fresh_until_ms
                || !self.inval.is_valid(&job.key, &current)
            {
                continue;
            }
            let Some(permit) = self.budget.try_take(&*self.clock) else {
                // Out of budget: put it back and try on the next pass.
                self.warm_queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((due, n), job);
                return;
            };
            self.join_flight(
                &job.key,
                &job.policy,
                job.loader,
                Some(current),
                FlightKind::Warm,
                Some(permit),
            );
        }
    }

    fn stats(&self) -> StatsSnapshot {
        let now = self.clock.now_ms();
        let mut per_class: HashMap<Arc<str>, (u64, u64, u64, u64)> = HashMap::new();
        for (k, e) in self.memory.iter() {
            if !self.inval.is_valid(&k, &e) || now >= e.expires_at_ms() {
                continue;
            }
            let s = per_class
                .entry(e.class.name.clone())
                .or_insert((0, 0, u64::MAX, 0));
            s.0 += 1;
            s.1 += e.weight(k.as_str().len());
            s.2 = s.2.min(e.stored_at_ms);
            s.3 = s.3.max(e.stored_at_ms);
        }
        let mut classes: Vec<ClassStats> = self
            .classes
            .all()
            .iter()
            .map(|c| {
                let mut s = c.snapshot();
                if let Some(&(n, bytes, oldest, newest)) = per_class.get(&c.name) {
                    s.entries = n;
                    s.bytes = bytes;
                    s.oldest_age_ms = Some(now.saturating_sub(oldest));
                    s.newest_age_ms = Some(now.saturating_sub(newest));
                }
                s
            })
            .collect();
        classes.sort_by(|a, b| a.class.cmp(&b.class));
        let refreshes_in_progress = classes.iter().map(|c| c.refreshes_in_progress).sum();
        let mc = &self.memory_counters;
        let mut tiers = vec![TierStats {
            tier: TierKind::Memory,
            enabled: true,
            hits: classes.iter().map(|c| c.hits_memory).sum(),
            misses: load(&mc.misses),
            errors: 0,
            corrupt: 0,
            evictions: load(&mc.evictions),
            expired_swept: 0,
            writes: 0,
            dropped_writes: 0,
            entries: self.memory.entry_count(),
            bytes: self.memory.weighted_size(),
            file_bytes: None,
            max_bytes: self.plan.memory_tier,
            memory_bytes: None,
        }];
        if let Some(disk) = &self.disk {
            let dc = &self.disk_counters;
            let usage = disk.usage();
            tiers.push(TierStats {
                tier: disk.kind(),
                enabled: dc.enabled.load(Ordering::Relaxed),
                hits: load(&dc.hits),
                misses: load(&dc.misses),
                errors: load(&dc.errors),
                corrupt: load(&dc.corrupt),
                evictions: load(&dc.evictions),
                expired_swept: load(&dc.expired_swept),
                writes: load(&dc.writes),
                dropped_writes: load(&dc.dropped_writes),
                entries: usage.entries,
                bytes: usage.bytes,
                file_bytes: usage.file_bytes,
                max_bytes: usage.max_bytes,
                memory_bytes: (self.plan.disk_block_cache > 0)
                    .then_some(self.plan.disk_block_cache),
            });
        }
        if let Some(redis) = &self.redis {
            tiers.push(redis.tier_stats());
        }
        let write_behind = self
            .write_behind
            .as_ref()
            .map(|wb| QueueStats {
                capacity: wb.capacity as u64,
                queued: wb.queued(),
                queued_bytes: wb.queued_bytes(),
                max_bytes: wb.max_bytes(),
                dropped: load(&wb.dropped),
                batches: load(&wb.batches),
            })
            .unwrap_or_default();
        StatsSnapshot {
            classes,
            tiers,
            write_behind,
            refreshes_in_progress,
            tags_interned: self.inval.tag_count() as u64,
            warnings: self
                .warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    fn disable_disk(&self, why: &str) {
        if self.disk_counters.enabled.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                error = why,
                "disk cache tier switched off after a write failure; continuing from memory"
            );
            self.warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!(
                    "disk cache switched off after a write failure ({why}): entries live in \
                     memory only until a restart"
                ));
        }
    }
}

/// Releases the cross-instance load lock when a flight that held it ends, however it ends:
/// with the record when the load stored one (written to Redis and announced to the other
/// instances' waiters), without one otherwise (they load by themselves). Runs after the
/// local waiters are released, so no client waits on it.
struct ReleaseLock {
    inner: Arc<Inner>,
    key: Key,
    token: String,
    flight: Arc<Flight>,
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        let Some(redis) = self.inner.redis.clone() else {
            return;
        };
        let record = match &*self.flight.done.borrow() {
            Some(FlightDone::Stored(e)) if self.inner.inval.is_valid(&self.key, e) => {
                Some((codec::encode(e), e.expires_at_ms()))
            }
            _ => None,
        };
        redis.spawn_release(self.key.clone(), std::mem::take(&mut self.token), record);
    }
}

/// Releases waiters and frees the key when a flight ends, however it ends.
struct FlightGuard {
    inner: Arc<Inner>,
    key: Key,
    flight: Arc<Flight>,
    class: Option<Arc<ClassCounters>>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if self.flight.done.borrow().is_none() {
            self.flight
                .done
                .send_replace(Some(FlightDone::Failed(EngineError::LoaderPanicked)));
        }
        let mut flights = self.inner.flights.lock().unwrap_or_else(|e| e.into_inner());
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.key);
        }
        if let Some(class) = &self.class {
            class.refreshes_in_progress.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

pub(crate) fn encode_invalidation(state: &InvalidationState) -> Bytes {
    let mut out = vec![INVALIDATION_FORMAT];
    out.extend(postcard::to_allocvec(state).unwrap_or_default());
    Bytes::from(out)
}

pub(crate) fn decode_invalidation(raw: &[u8]) -> Option<InvalidationState> {
    match raw.split_first() {
        Some((&INVALIDATION_FORMAT, rest)) => postcard::from_bytes(rest).ok(),
        Some((&INVALIDATION_FORMAT_V1, rest)) => postcard::from_bytes::<InvalidationStateV1>(rest)
            .ok()
            .map(InvalidationState::from),
        _ => None,
    }
}

impl WriteTarget for Inner {
    fn write_behind(&self) -> Option<&Arc<WriteBehind>> {
        self.write_behind.as_ref()
    }

    fn still_valid(&self, key: &Key, entry: &Entry) -> bool {
        self.inval.is_valid(key, entry)
    }

    fn invalidation_if_changed(&self, since: u64) -> Option<(u64, Vec<WriteOp>)> {
        let version = self.inval.version.load(Ordering::Acquire);
        if version == since {
            return None;
        }
        // Tag rows first: a state written after them never names a tag they lack.
        let TagChanges { set, forget } = self.inval.take_tag_changes();
        let mut ops = Vec::with_capacity(2);
        if !set.is_empty() || !forget.is_empty() {
            ops.push(WriteOp::SetTagGenerations { set, forget });
        }
        ops.push(WriteOp::SetInvalidationState {
            state: encode_invalidation(&self.inval.snapshot_head()),
        });
        Some((version, ops))
    }

    fn write_batch(&self, ops: Vec<WriteOp>, shared: Vec<WriteOp>) -> BoxFuture<'_, ()> {
        async move {
            // Disk and Redis are written side by side; a slow Redis does not hold the disk.
            let shared_write = async {
                if let Some(redis) = &self.redis
                    && !shared.is_empty()
                {
                    redis.write_ops(shared).await;
                }
            };
            futures_util::join!(self.write_disk(ops), shared_write);
        }
        .boxed()
    }

    fn maintain(&self) -> BoxFuture<'_, ()> {
        async move {
            let Some(disk) = &self.disk else { return };
            if !self.disk_counters.enabled.load(Ordering::Relaxed) {
                return;
            }
            match disk.maintain(self.clock.now_ms()).await {
                Ok(report) => {
                    self.disk_counters
                        .expired_swept
                        .fetch_add(report.expired, Ordering::Relaxed);
                    self.disk_counters
                        .evictions
                        .fetch_add(report.evicted, Ordering::Relaxed);
                }
                Err(e) => {
                    bump(&self.disk_counters.errors);
                    self.disable_disk(&e.to_string());
                }
            }
        }
        .boxed()
    }
}

impl Inner {
    /// Writes a batch to the disk tier, switching it off on failure.
    async fn write_disk(&self, mut ops: Vec<WriteOp>) {
        let Some(disk) = &self.disk else { return };
        if !self.disk_counters.enabled.load(Ordering::Relaxed) {
            return;
        }
        let next_seq = self.inval.snapshot_next_seq();
        if self.persisted_seq.load(Ordering::Relaxed) != next_seq {
            ops.push(WriteOp::SetNextSeq { next_seq });
        }
        let puts = ops
            .iter()
            .filter(|op| matches!(op, WriteOp::Put { .. }))
            .count();
        match disk.write(ops).await {
            Ok(()) => {
                self.persisted_seq.store(next_seq, Ordering::Relaxed);
                write_behind::count(&self.disk_counters.writes, puts);
            }
            Err(e) => {
                bump(&self.disk_counters.errors);
                self.disable_disk(&e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalidation_state_written_before_the_generation_floor_still_reads() {
        let state = InvalidationState {
            tags: vec![("item:1".into(), 4)],
            drops: Vec::new(),
            next_seq: 99,
            max_life_ms: 60_000,
            generation_floor: 0,
        };
        let current = encode_invalidation(&state);
        assert_eq!(decode_invalidation(&current), Some(state.clone()));
        // The earlier format: the same fields without the floor (a zero varint at the end).
        let mut v1 = current.to_vec();
        v1[0] = INVALIDATION_FORMAT_V1;
        assert_eq!(v1.pop(), Some(0));
        assert_eq!(decode_invalidation(&v1), Some(state));
        assert_eq!(decode_invalidation(&[7, 0]), None);
    }
}
