//! Statistics: lock-free counters per class and per tier, and the serialisable
//! [`StatsSnapshot`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::locks::RwLockUnpoisoned;
use crate::tier::TierKind;

/// Counters of one class. Entries hold an `Arc` to their class's counters, so a hit counts
/// itself without a map lookup.
#[derive(Debug, Default)]
pub(crate) struct ClassCounters {
    pub(crate) name: Arc<str>,
    pub(crate) hits_memory: AtomicU64,
    pub(crate) hits_disk: AtomicU64,
    pub(crate) hits_redis: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) stale_hits: AtomicU64,
    pub(crate) stale_on_error: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) passed: AtomicU64,
    pub(crate) refreshes_started: AtomicU64,
    pub(crate) refreshes_in_progress: AtomicU64,
    pub(crate) warm_refreshes: AtomicU64,
    pub(crate) revalidated_304: AtomicU64,
    pub(crate) loader_errors: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) dropped_writes: AtomicU64,
}

impl ClassCounters {
    pub(crate) fn hit(&self, tier: TierKind) {
        let c = match tier {
            TierKind::Memory => &self.hits_memory,
            TierKind::Disk => &self.hits_disk,
            TierKind::Redis => &self.hits_redis,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// What came of a lookup the engine did not make itself ([`crate::TieredCache::note`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Noted {
    /// Answered fresh from a tier.
    Hit(TierKind),
    /// Nothing stored answered: the upstream was asked.
    Miss,
    /// A stale copy answered (while revalidating, or within a window the request allows).
    Stale,
    /// A stale copy answered because the upstream failed.
    StaleOnError,
    /// The answer of another request's fill, waited for.
    Coalesced,
    /// Not cacheable: passed through.
    Passed,
    /// Revalidated: the upstream answered `304` and the stored body was kept.
    Revalidated,
    /// A background refresh was started.
    RefreshStarted,
}

/// Adds one to a counter.
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Counters of one tier.
#[derive(Debug)]
pub(crate) struct TierCounters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) corrupt: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) expired_swept: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) dropped_writes: AtomicU64,
    pub(crate) enabled: AtomicBool,
}

impl TierCounters {
    pub(crate) fn new() -> Self {
        Self {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            expired_swept: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            dropped_writes: AtomicU64::new(0),
            enabled: AtomicBool::new(true),
        }
    }
}

/// Per-class counters, created on first use.
#[derive(Debug, Default)]
pub(crate) struct ClassRegistry {
    classes: RwLock<HashMap<Arc<str>, Arc<ClassCounters>>>,
}

impl ClassRegistry {
    pub(crate) fn get(&self, name: &Arc<str>) -> Arc<ClassCounters> {
        if let Some(c) = self.classes.read_unpoisoned().get(name) {
            return c.clone();
        }
        self.classes
            .write_unpoisoned()
            .entry(name.clone())
            .or_insert_with(|| {
                Arc::new(ClassCounters {
                    name: name.clone(),
                    ..ClassCounters::default()
                })
            })
            .clone()
    }

    pub(crate) fn all(&self) -> Vec<Arc<ClassCounters>> {
        let mut v: Vec<_> = self.classes.read_unpoisoned().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

/// Statistics of one class.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClassStats {
    /// Class name.
    pub class: String,
    /// Fresh hits served from memory.
    pub hits_memory: u64,
    /// Fresh hits served from disk.
    pub hits_disk: u64,
    /// Fresh hits served from Redis.
    pub hits_redis: u64,
    /// All fresh hits.
    pub hits: u64,
    /// Lookups that ran the loader themselves.
    pub misses: u64,
    /// Stale copies served while a refresh ran.
    pub stale_hits: u64,
    /// Stale copies served because the load failed.
    pub stale_on_error: u64,
    /// Callers that waited for another caller's load.
    pub coalesced: u64,
    /// Loads answered with a value that was not stored.
    pub passed: u64,
    /// Background refreshes started (stale-while-revalidate and warming).
    pub refreshes_started: u64,
    /// Background refreshes running now (what a server dashboard shows as a rebuild in progress).
    pub refreshes_in_progress: u64,
    /// Of the refreshes, those started by the warmer.
    pub warm_refreshes: u64,
    /// Refreshes the upstream answered `304 Not Modified`: the stored body was kept and its
    /// freshness renewed without downloading it again.
    pub revalidated_304: u64,
    /// Loads that failed, timed out or panicked.
    pub loader_errors: u64,
    /// Entries evicted from memory to respect its byte limit.
    pub evictions: u64,
    /// Disk writes dropped because the write-behind queue was full or the disk directory
    /// was at its limit.
    pub dropped_writes: u64,
    /// Entries of this class in the memory tier.
    pub entries: u64,
    /// Bytes of this class in the memory tier.
    pub bytes: u64,
    /// Age of the oldest entry of this class in memory (ms).
    pub oldest_age_ms: Option<u64>,
    /// Age of the newest entry of this class in memory (ms).
    pub newest_age_ms: Option<u64>,
}

/// Statistics of one tier.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TierStats {
    /// Which tier.
    pub tier: TierKind,
    /// Whether the tier is working (a disk tier switches itself off when writes fail).
    pub enabled: bool,
    /// Lookups this tier answered with a usable entry.
    pub hits: u64,
    /// Lookups this tier could not answer.
    pub misses: u64,
    /// Storage errors.
    pub errors: u64,
    /// Corrupt records found (and removed).
    pub corrupt: u64,
    /// Entries evicted for space.
    pub evictions: u64,
    /// Expired entries swept.
    pub expired_swept: u64,
    /// Records written.
    pub writes: u64,
    /// Writes dropped because the write-behind queue was full or (disk) the directory was at
    /// its limit.
    pub dropped_writes: u64,
    /// Entries held.
    pub entries: u64,
    /// Bytes held (logical: what counts against the byte limit).
    pub bytes: u64,
    /// Bytes the tier's files occupy on disk (disk tier only).
    pub file_bytes: Option<u64>,
    /// The configured byte limit.
    pub max_bytes: u64,
    /// Memory the tier keeps for itself beside the memory tier, out of the same `memory_max`
    /// (the disk tier's block cache; see [`crate::MemoryPlan`]).
    pub memory_bytes: Option<u64>,
    /// Descriptors open on the tier's files now (disk tier only, where the system says).
    pub open_files: Option<u64>,
    /// The most table and blob files the tier keeps open (disk tier only): its share of the
    /// process's open-file limit.
    pub open_files_max: Option<u64>,
}

/// Write-behind queue statistics.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    /// Queue capacity (records).
    pub capacity: u64,
    /// Records waiting now.
    pub queued: u64,
    /// What the waiting records weigh (the entries they hold, [`crate::Entry`]'s weight).
    pub queued_bytes: u64,
    /// The most the waiting records may weigh.
    pub max_bytes: u64,
    /// Records dropped because the queue was full.
    pub dropped: u64,
    /// Batches written.
    pub batches: u64,
}

/// A point-in-time view of the engine's statistics.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Per class, sorted by name.
    pub classes: Vec<ClassStats>,
    /// Per tier, memory first.
    pub tiers: Vec<TierStats>,
    /// The write-behind queue.
    pub write_behind: QueueStats,
    /// Background refreshes running now, all classes.
    pub refreshes_in_progress: u64,
    /// Invalidation tags interned now (each entry's item and play-state tags, and bumped
    /// tags until every entry stamped before their bump has expired): held outside the
    /// memory tier's weight, about 100 bytes each.
    pub tags_interned: u64,
    /// What an operator should know about the tiers, oldest first: a damaged disk cache
    /// moved aside at start, a disk that could not be used, a tier switched off.
    pub warnings: Vec<String>,
}

impl StatsSnapshot {
    /// The statistics of one class, if it has been seen.
    pub fn class(&self, name: &str) -> Option<&ClassStats> {
        self.classes.iter().find(|c| c.class == name)
    }

    /// The statistics of one tier, if configured.
    pub fn tier(&self, kind: TierKind) -> Option<&TierStats> {
        self.tiers.iter().find(|t| t.tier == kind)
    }
}

pub(crate) fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl ClassCounters {
    pub(crate) fn snapshot(&self) -> ClassStats {
        let hits_memory = load(&self.hits_memory);
        let hits_disk = load(&self.hits_disk);
        let hits_redis = load(&self.hits_redis);
        ClassStats {
            class: self.name.to_string(),
            hits_memory,
            hits_disk,
            hits_redis,
            hits: hits_memory + hits_disk + hits_redis,
            misses: load(&self.misses),
            stale_hits: load(&self.stale_hits),
            stale_on_error: load(&self.stale_on_error),
            coalesced: load(&self.coalesced),
            passed: load(&self.passed),
            refreshes_started: load(&self.refreshes_started),
            refreshes_in_progress: load(&self.refreshes_in_progress),
            warm_refreshes: load(&self.warm_refreshes),
            revalidated_304: load(&self.revalidated_304),
            loader_errors: load(&self.loader_errors),
            evictions: load(&self.evictions),
            dropped_writes: load(&self.dropped_writes),
            entries: 0,
            bytes: 0,
            oldest_age_ms: None,
            newest_age_ms: None,
        }
    }
}
