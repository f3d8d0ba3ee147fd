//! [`TieredCacheBuilder`]: opens the tiers, restores the invalidation state (and what other
//! instances shared through Redis), starts the background tasks; and [`MemoryPlan`], how the
//! memory limit is shared out.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use moka::notification::RemovalCause;

use super::persist::decode_invalidation;
use super::{HOUSEKEEPING_EVERY, Inner, MemCache, TieredCache};
use crate::budget::RefreshBudget;
use crate::clock::{Clock, SystemClock};
use crate::disk::{DiskMemory, DiskStart, DiskTier, UnavailableDisk};
use crate::entry::{CachedValue, Entry, HeldBeside};
use crate::error::{DiskOpenError, DiskOpenKind, EngineError};
use crate::key::{Key, KeyHashBuilder};
use crate::locks::LockUnpoisoned;
use crate::redis::{LocalCache, RedisTier};
use crate::stats::{ClassRegistry, TierCounters, bump};
use crate::tags::{Invalidation, InvalidationState};
use crate::tier::{Tier, WriteOp};
use crate::write_behind::{self, Dest, Receivers, WriteBehind};

/// How long opening the disk tier waits for a directory another cache holds to be let go.
const IN_USE_WAIT: Duration = Duration::from_secs(5);
/// How often it tries again meanwhile.
const IN_USE_RETRY: Duration = Duration::from_millis(50);

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
    put_wait: Duration,
    refresh_max_concurrent: usize,
    refresh_per_second: u32,
    load_timeout: Duration,
    housekeeping: bool,
    held_beside: Option<HeldBeside>,
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
            put_wait: crate::write_behind::PUT_WAIT,
            refresh_max_concurrent: 4,
            refresh_per_second: 20,
            load_timeout: Duration::from_secs(30),
            housekeeping: true,
            held_beside: None,
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

    /// How long a put that finds the write-behind queue's bytes full waits for room before
    /// it is dropped (default 500 ms; zero: dropped at once).
    #[must_use]
    pub fn write_behind_wait(mut self, wait: Duration) -> Self {
        self.put_wait = wait;
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

    /// What the application keeps beside each stored value to answer from it, in bytes: in
    /// the memory tier's weights, so `memory_max_bytes` bounds it too (default nothing).
    #[must_use]
    pub fn held_beside(
        mut self,
        bytes_for: impl Fn(&CachedValue) -> u64 + Send + Sync + 'static,
    ) -> Self {
        self.held_beside = Some(Arc::new(bytes_for));
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
        let OpenedDisk {
            tier: disk,
            store: disk_store,
            off: disk_off,
        } = self.open_disk(&plan, &mut warnings).await?;
        let (state, discard_disk) = match &disk {
            Some(disk) => self.restore_invalidation(disk.as_ref()).await?,
            None => (InvalidationState::default(), false),
        };
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
            let memory = memory_tier(&plan, self.held_beside.clone(), weak.clone());
            Inner {
                clock: self.clock.clone(),
                memory,
                memory_max_bytes: self.memory_max_bytes,
                held_beside: self.held_beside.clone(),
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
                put_wait: self.put_wait,
                warm_queue: Mutex::new(BTreeMap::new()),
                shut_down: AtomicBool::new(false),
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
        let tasks = self.spawn_tasks(&inner, receivers);
        *inner.tasks.lock_unpoisoned() = tasks;
        Ok(TieredCache { inner })
    }

    /// The disk tier as configured (or the custom tier standing in for it): opened, moved
    /// aside and replaced when damaged, or off when the disk cannot be used.
    async fn open_disk(
        &self,
        plan: &MemoryPlan,
        warnings: &mut Vec<String>,
    ) -> Result<OpenedDisk, EngineError> {
        if self.custom_tier.is_some() {
            return Ok(OpenedDisk {
                tier: self.custom_tier.clone(),
                store: None,
                off: false,
            });
        }
        let Some((path, max_bytes)) = &self.disk else {
            return Ok(OpenedDisk {
                tier: None,
                store: None,
                off: false,
            });
        };
        let max_bytes = *max_bytes;
        let memory = DiskMemory {
            block_cache: plan.disk_block_cache,
            memtables: plan.disk_memtables,
        };
        let opened = |tier: DiskTier| {
            tier.count_also(self.disk_counts_also.clone());
            OpenedDisk {
                tier: Some(Arc::new(tier.clone())),
                store: Some(tier),
                off: false,
            }
        };
        match open_disk_waiting(path.clone(), max_bytes, memory).await? {
            DiskStart::Opened(tier) => Ok(opened(tier)),
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
                Ok(opened(tier))
            }
            DiskStart::InUse { error } => Err(EngineError::DiskOpen {
                path: path.display().to_string(),
                source: error,
            }),
            DiskStart::Unavailable { reason } => {
                let note = format!(
                    "disk cache at {} cannot be used ({reason}): entries live in memory \
                     only until a restart",
                    path.display()
                );
                tracing::warn!("{note}");
                warnings.push(note);
                Ok(OpenedDisk {
                    tier: Some(Arc::new(UnavailableDisk { max_bytes })),
                    store: None,
                    off: true,
                })
            }
        }
    }

    /// The invalidation state the disk tier kept, and whether the disk's records must all be
    /// dropped because it cannot be read.
    async fn restore_invalidation(
        &self,
        disk: &dyn Tier,
    ) -> Result<(InvalidationState, bool), EngineError> {
        let mut state = InvalidationState::default();
        let mut discard_disk = false;
        let meta = disk.load_meta().await.map_err(|e| EngineError::DiskOpen {
            path: self
                .disk
                .as_ref()
                .map(|(p, _)| p.display().to_string())
                .unwrap_or_default(),
            // The store opened but its bookkeeping cannot be read back.
            source: DiskOpenError::new(
                DiskOpenKind::Damage,
                "reading the store's bookkeeping: ",
                e,
            ),
        })?;
        if let Some(raw) = meta.invalidation {
            match decode_invalidation(&raw) {
                Some(s) => state = s,
                None => {
                    // Without the invalidation state we cannot tell which records were
                    // invalidated: dropping them all is the only safe answer.
                    tracing::warn!("disk cache invalidation state unreadable; clearing disk cache");
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
        Ok((state, discard_disk))
    }

    /// The background tasks: Redis's events, the write-behind worker, housekeeping.
    fn spawn_tasks(
        &self,
        inner: &Arc<Inner>,
        receivers: Option<Receivers>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(redis) = &self.redis {
            let local: Weak<dyn LocalCache> = Arc::downgrade(inner) as Weak<dyn LocalCache>;
            tasks.push(redis.spawn_events(local));
        }
        if let Some((puts, controls)) = receivers {
            tasks.push(tokio::spawn(write_behind::run_worker(
                Arc::downgrade(inner),
                self.batch_interval,
                puts,
                controls,
            )));
        }
        if self.housekeeping {
            let weak = Arc::downgrade(inner);
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
        tasks
    }
}

/// The disk tier as [`TieredCacheBuilder::build`] opened it.
struct OpenedDisk {
    tier: Option<Arc<dyn Tier>>,
    /// The opened store itself, for the application's own keyspaces in its database.
    store: Option<DiskTier>,
    /// The disk cannot be used: the tier counts as off from the start.
    off: bool,
}

/// Opens the disk store at `at`. A cache stopping in this process, or a process exiting, lets
/// go of the directory a moment after it stops serving (its last background tasks still hold
/// the database): it is waited for a little before the store is called in use.
#[allow(
    clippy::disallowed_methods,
    reason = "the store a stopping cache lets go of is waited for in real time, before any clock is wired"
)]
async fn open_disk_waiting(
    at: PathBuf,
    max_bytes: u64,
    memory: DiskMemory,
) -> Result<DiskStart, EngineError> {
    let waited_from = std::time::Instant::now();
    let mut told = false;
    loop {
        let dir = at.clone();
        let start =
            tokio::task::spawn_blocking(move || DiskTier::open_or_recover(dir, max_bytes, memory))
                .await
                .map_err(|e| EngineError::Config(format!("disk open task failed: {e}")))?;
        match start {
            DiskStart::InUse { .. } if waited_from.elapsed() < IN_USE_WAIT => {
                // Said once, so that a start held up for seconds says by what.
                if !std::mem::replace(&mut told, true) {
                    tracing::info!(
                        dir = %at.display(),
                        "the cache directory is in use; waiting up to {IN_USE_WAIT:?} for it to be let go"
                    );
                }
                tokio::time::sleep(IN_USE_RETRY).await;
            }
            start => return Ok(start),
        }
    }
}

/// The memory tier: weighed by what each entry holds (and what is kept beside it), counting
/// the entries evicted for space in the engine `weak` will be.
fn memory_tier(plan: &MemoryPlan, held_beside: Option<HeldBeside>, weak: Weak<Inner>) -> MemCache {
    let evict_weak = weak;
    moka::future::Cache::builder()
        .max_capacity(plan.memory_tier)
        .weigher(move |k: &Key, v: &Arc<Entry>| {
            let weight = v.memory_weight(k.as_str().len(), held_beside.as_ref());
            u32::try_from(weight).unwrap_or(u32::MAX)
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
        .build_with_hasher(KeyHashBuilder)
}

/// How the engine shares `memory_max` among what it holds in memory, so that the limit an
/// operator sets bounds all of it, not only the memory tier.
///
/// * The disk tier's block cache (fjall keeps recently read blocks decompressed): an eighth,
///   between 2 and 64 MiB. Reads of the disk tier are what it speeds up, and those come after a
///   memory miss, so a small one does.
/// * The write-behind queue: an eighth, between 2 and 64 MiB. An entry the memory tier has
///   evicted while its write waits is held by the queue alone, so this is what a disk (or
///   Redis) falling behind can hold, and one large answer beside it; past that, writes are
///   dropped and counted like those of a full queue.
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
        // The queue covers the time the disk now and then takes over a batch (a batch that
        // waits for the journals to be flushed, docs/engine.md): at a sixteenth of 64 MiB it
        // held about 100 ms of a busy gateway's new answers (2,000 a second of ~20 KB) and
        // dropped in bursts; an eighth holds twice that. Most of what it holds is in the
        // memory tier too (the same entries), so the share overstates what it adds.
        let write_queue = if below_memory {
            (memory_max / 8).clamp(2 * MIB, 64 * MIB)
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
