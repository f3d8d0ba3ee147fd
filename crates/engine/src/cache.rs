//! [`TieredCache`] and its builder: lookups, single-flight loads, stale serving, refreshes,
//! warming and invalidation, over the memory tier, an optional disk tier and an optional
//! shared Redis tier below both (memory → disk → Redis → loader).
//!
//! # Layout
//! `mod.rs` holds the shared state ([`Inner`]) and the public calls; the rest implement them:
//! * `builder` — [`TieredCacheBuilder`]: opening the tiers, restoring state, starting tasks;
//!   [`MemoryPlan`].
//! * `flight` — single-flight loads and refreshes (each in its own task), Redis coordination.
//! * `lower` — storing (memory now, lower tiers behind) and reading below memory.
//! * `clear` — clears and prefix drops, and what the shared tier may change ([`LocalCache`]).
//! * `warm` — counting reads, the warming queue, housekeeping.
//! * `persist` — the write-behind target: batches to disk and Redis, invalidation state.
//! * `report` — statistics.

mod builder;
mod clear;
mod flight;
mod lower;
mod persist;
mod report;
mod warm;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;

use crate::budget::RefreshBudget;
use crate::clock::Clock;
use crate::disk::DiskTier;
use crate::entry::{CachedValue, Entry, HeldBeside, Lookup, Outcome};
use crate::error::EngineError;
use crate::key::{Key, KeyHashBuilder};
use crate::loader::Loader;
use crate::locks::LockUnpoisoned;
use crate::policy::Policy;
use crate::redis::{LocalCache, RedisTier};
use crate::stats::{ClassRegistry, Noted, StatsSnapshot, TierCounters};
use crate::tags::Invalidation;
use crate::tier::{Tier, TierKind, WriteOp};
use crate::write_behind::{Dest, WriteBehind};

pub use builder::{MemoryPlan, TieredCacheBuilder};
use flight::Flight;
use warm::WarmJob;

type MemCache = moka::future::Cache<Key, Arc<Entry>, KeyHashBuilder>;

/// How often the background task runs moka's housekeeping, the warmer and pruning.
const HOUSEKEEPING_EVERY: Duration = Duration::from_millis(500);
/// The warming queue is swept once it holds this many more jobs than memory holds entries.
const WARM_QUEUE_SLACK: u64 = 1024;

/// When a fetch made outside a load started ([`TieredCache::fetch_started`]): the entry
/// sequence and the tag bump counter of that moment.
#[derive(Debug, Clone, Copy)]
pub struct FetchStamp {
    seq: u64,
    bumps_before: u64,
}

impl FetchStamp {
    /// How many tag bumps came between this stamp and `later`, taken after it: a caller that
    /// bumped a tag itself in between tells its own bump from anyone else's (one in all).
    pub fn bumps_until(&self, later: &FetchStamp) -> u64 {
        later.bumps_before.saturating_sub(self.bumps_before)
    }
}

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

/// Whether a lookup counts in the tiers' hit and miss counters: a client's lookup does, a
/// probe ([`TieredCache::get`]) does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counted {
    Yes,
    No,
}

pub(crate) struct Inner {
    clock: Arc<dyn Clock>,
    memory: MemCache,
    memory_max_bytes: u64,
    /// What the application keeps beside each entry (in the memory tier's weights).
    held_beside: Option<HeldBeside>,
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
    /// How long a fill waits for room in a full write-behind queue.
    put_wait: Duration,
    budget: RefreshBudget,
    load_timeout: Duration,
    /// Entries read twice, by the time (ms) their warming refresh is due.
    warm_queue: Mutex<BTreeMap<(u64, u64), WarmJob>>,
    /// Set by [`TieredCache::shutdown`]: no warming is queued after it.
    shut_down: AtomicBool,
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
    ///
    /// # Why the lower tiers and the load are boxed
    /// A future is as large as its largest await: with the lower tiers' lookups and the load
    /// inline, every memory hit carried ~1.5 KB of room for states it never reaches, copied
    /// each time the caller's future moves. Boxed, only the calls that take those paths (which
    /// wait on a disk, Redis or the server anyway) pay one allocation.
    pub async fn get_or_load(
        &self,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
    ) -> Result<Lookup, EngineError> {
        self.get_or_load_with(key, policy, move || loader).await
    }

    /// [`Self::get_or_load`] with the loader made only when it is needed: for a load, a
    /// stale entry's refresh, or the one warming an entry gets on its second read. A fresh hit
    /// makes none, so a caller whose loader carries a request's state (the gateway's holds the
    /// client's headers, user and upstream) does not build and drop it on every hit.
    ///
    /// # Errors
    /// As [`Self::get_or_load`].
    pub async fn get_or_load_with(
        &self,
        key: &Key,
        policy: &Policy,
        make_loader: impl FnOnce() -> Arc<dyn Loader>,
    ) -> Result<Lookup, EngineError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let mut stale: Option<Arc<Entry>> = None;
        if let Some(entry) = inner.memory.get(key).await {
            if inner.inval.is_valid(key, &entry) {
                if now < policy.fresh_until_ms(&entry) {
                    entry.class.hit(TierKind::Memory);
                    inner.note_read(key, policy, make_loader, &entry);
                    return Ok(Lookup {
                        entry,
                        outcome: Outcome::Hit(TierKind::Memory),
                    });
                }
                if now < entry.stale_until_ms {
                    return Ok(inner.serve_stale(key, policy, make_loader(), entry));
                }
                if let Some(shared) = Box::pin(inner.fresher_shared(key, now, policy)).await {
                    shared.class.hit(TierKind::Redis);
                    inner.note_read(key, policy, make_loader, &shared);
                    return Ok(Lookup {
                        entry: shared,
                        outcome: Outcome::Hit(TierKind::Redis),
                    });
                }
                if now < entry.error_until_ms {
                    stale = Some(entry);
                }
            } else {
                Box::pin(inner.forget_if_same(key, &entry)).await;
            }
        } else if let Some(flight) = inner.running_flight(key) {
            // A load of this key is under way: what it brings is at least as fresh as a lower
            // tier's copy, and it looked there first. Waiting for it spares each caller of a
            // cold burst a read of the disk tier (and of Redis), and the loader it would build.
            return Box::pin(inner.wait_for(policy, &flight, false)).await;
        } else if let Some((entry, tier)) =
            Box::pin(inner.lower_lookup(key, now, Counted::Yes)).await
        {
            if now < policy.fresh_until_ms(&entry) {
                entry.class.hit(tier);
                inner.note_read(key, policy, make_loader, &entry);
                return Ok(Lookup {
                    entry,
                    outcome: Outcome::Hit(tier),
                });
            }
            if now < entry.stale_until_ms {
                return Ok(inner.serve_stale(key, policy, make_loader(), entry));
            }
            if now < entry.error_until_ms {
                stale = Some(entry);
            }
        }
        Box::pin(inner.load(key, policy, make_loader(), stale)).await
    }

    /// A fresh hit in memory, answered without awaiting: what [`Self::get_or_load_with`]
    /// answers for it, counted alike; `None` for anything else (a stale or invalidated entry,
    /// none, a memory read that would have had to wait), which that look-up then answers.
    ///
    /// A caller that answers from here builds none of the look-up's futures: a hit through
    /// them writes each of their states, memory a synchronous hit never touches. A key memory
    /// does not hold is not read here (`contains_key` counts nothing): moka counts each read
    /// in its popularity sketch, and a miss read here and again by the look-up would weigh as
    /// two reads when memory chooses what to keep.
    pub fn memory_hit(
        &self,
        key: &Key,
        policy: &Policy,
        make_loader: impl FnOnce() -> Arc<dyn Loader>,
    ) -> Option<Lookup> {
        let inner = &self.inner;
        if !inner.memory.contains_key(key) {
            return None;
        }
        // moka's read waits only to retry operations a dropped future left half done; a read
        // that would wait is dropped here (moka retries what it interrupts) and made again by
        // the look-up.
        let entry = inner.memory.get(key).now_or_never()??;
        if !inner.inval.is_valid(key, &entry)
            || inner.clock.now_ms() >= policy.fresh_until_ms(&entry)
        {
            return None;
        }
        entry.class.hit(TierKind::Memory);
        inner.note_read(key, policy, make_loader, &entry);
        Some(Lookup {
            entry,
            outcome: Outcome::Hit(TierKind::Memory),
        })
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

    /// Counts a lookup made without [`Self::get_or_load`] in `class`'s statistics: a caller
    /// that decides freshness itself (the gateway's standard-following profile, whose rules
    /// are the response's own) reads with [`Self::get`] and says here what came of it, so
    /// its hits and misses are in the statistics as every other class's.
    pub fn note(&self, class: &str, what: Noted) {
        let counters = self.inner.classes.get(&Arc::from(class));
        let c = match what {
            Noted::Hit(tier) => return counters.hit(tier),
            Noted::Miss => &counters.misses,
            Noted::Stale => &counters.stale_hits,
            Noted::StaleOnError => &counters.stale_on_error,
            Noted::Coalesced => &counters.coalesced,
            Noted::Passed => &counters.passed,
            Noted::Revalidated => &counters.revalidated_304,
            Noted::RefreshStarted => &counters.refreshes_started,
        };
        crate::stats::bump(c);
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

    /// Marks the start of a fetch made outside a load (one upstream request whose answer is
    /// split into several entries): hand it to [`Self::insert_fetched`] with each part.
    pub fn fetch_started(&self) -> FetchStamp {
        let inval = &self.inner.inval;
        FetchStamp {
            seq: inval.next_seq(),
            bumps_before: inval.bump_clock(),
        }
    }

    /// Whether some tag was bumped since `stamp` ([`Self::fetch_started`]): what was read
    /// then may predate a change (any change: the caller needs no tag list to ask).
    pub fn bumped_since(&self, stamp: &FetchStamp) -> bool {
        self.inner.inval.bump_clock() > stamp.bumps_before
    }

    /// Stores `value`, fetched since `stamp`, under `key` as a load would have: with the
    /// policy's tags and `value_tags` (what the value itself names), in memory at once and in
    /// the lower tiers behind, within the same budgets. Nothing is stored — and false is
    /// returned — when one of those tags was bumped since `stamp` (the value may predate that
    /// change) or when a usable entry is there already (it is as new or newer).
    pub async fn insert_fetched(
        &self,
        key: &Key,
        policy: &Policy,
        value: CachedValue,
        stamp: &FetchStamp,
        value_tags: &[Arc<str>],
    ) -> bool {
        let inner = &self.inner;
        let stamps = inner.inval.stamps(&policy.tags);
        let stamps = inner
            .inval
            .stamps_after(stamps, value_tags, stamp.bumps_before);
        let moved = stamps.iter().any(|s| {
            s.cell.bumped_at.load(std::sync::atomic::Ordering::SeqCst) > stamp.bumps_before
        });
        if moved || self.get(key).await.is_some() {
            return false;
        }
        let class = inner.classes.get(&policy.class);
        let entry = inner.make_entry(value, policy, stamp.seq, stamps, class, false, 0);
        inner.store(key, entry).await;
        true
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
            redis.share_tag_bump(&self.local(), tag);
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
            redis.share_clear(&self.local(), "");
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
            redis.share_clear(&self.local(), prefix);
        }
    }

    /// This cache as the shared tier sees it: what it may change when other instances
    /// announce something.
    fn local(&self) -> Arc<dyn LocalCache> {
        self.inner.clone()
    }

    /// The shared Redis tier, if one is configured (health and counters for statistics).
    pub fn redis(&self) -> Option<&RedisTier> {
        self.inner.redis.as_ref()
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
    /// answers from memory and disk afterwards, but writes no longer reach disk, and nothing
    /// is warmed any more.
    ///
    /// The loaders queued for warming are dropped: a loader may hold what holds this cache
    /// (a gateway's loader holds the gateway), and the two would keep each other, and the
    /// disk tier's directory, for as long as the process lives.
    pub async fn shutdown(&self) {
        if let Some(wb) = &self.inner.write_behind {
            wb.shutdown().await;
        }
        self.inner.shut_down.store(true, Ordering::Release);
        let tasks = std::mem::take(&mut *self.inner.tasks.lock_unpoisoned());
        for t in tasks {
            t.abort();
        }
        let queued = std::mem::take(&mut *self.inner.warm_queue.lock_unpoisoned());
        drop(queued);
    }

    /// The clock this cache reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}
