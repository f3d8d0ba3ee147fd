//! [`Tier`]: an object-safe storage level below memory (the disk tier, or one plugged in
//! through the builder), and [`TierKind`], which names every tier the engine has.
//!
//! Tiers store encoded records ([`crate::codec`]) and know nothing of freshness or tags: the
//! engine decodes, checks and decides. Reads are async so a network tier fits; writes arrive
//! in batches from the write-behind worker.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::error::TierError;
use crate::key::Key;

/// Which tier answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierKind {
    /// The in-process memory tier.
    Memory,
    /// The embedded disk tier.
    Disk,
    /// The shared Redis / Valkey tier.
    Redis,
}

impl TierKind {
    /// Lower-case name, as used in statistics.
    pub fn as_str(self) -> &'static str {
        match self {
            TierKind::Memory => "memory",
            TierKind::Disk => "disk",
            TierKind::Redis => "redis",
        }
    }
}

/// One change to a tier.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Store an encoded record.
    Put {
        /// The key.
        key: Key,
        /// The encoded record.
        record: Bytes,
        /// When the record may be dropped (clock ms), for sweeping and eviction order.
        expires_at_ms: u64,
    },
    /// Remove one key.
    Remove {
        /// The key.
        key: Key,
    },
    /// Remove every key starting with `prefix` (the empty prefix removes everything).
    RemovePrefix {
        /// The prefix.
        prefix: String,
    },
    /// Replace the persisted invalidation state (prefix drops, counters; tag generations
    /// travel apart, in [`WriteOp::SetTagGenerations`]).
    SetInvalidationState {
        /// Encoded state.
        state: Bytes,
    },
    /// Persist tag generations that changed, and forget those of tags no longer kept.
    SetTagGenerations {
        /// Tags and their generations.
        set: Vec<(String, u64)>,
        /// Tags whose generations are no longer kept.
        forget: Vec<String>,
    },
    /// Record that every entry sequence number handed out so far is below `next_seq`.
    SetNextSeq {
        /// The next sequence number.
        next_seq: u64,
    },
}

/// Engine state a tier keeps besides records.
#[derive(Clone, Debug, Default)]
pub struct PersistedMeta {
    /// The encoded invalidation state, if one was written.
    pub invalidation: Option<Bytes>,
    /// Tag generations persisted one by one ([`WriteOp::SetTagGenerations`]).
    pub tag_generations: Vec<(String, u64)>,
    /// The persisted next sequence number (0 if none).
    pub next_seq: u64,
}

/// What a maintenance pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Expired records removed.
    pub expired: u64,
    /// Records evicted to get under the byte limit.
    pub evicted: u64,
}

/// Space a tier holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierUsage {
    /// Records.
    pub entries: u64,
    /// Logical bytes (keys + records), what counts against the limit.
    pub bytes: u64,
    /// Bytes of files on disk, if the tier has files.
    pub file_bytes: Option<u64>,
    /// The byte limit.
    pub max_bytes: u64,
    /// Descriptors open on the tier's files now, if it has files and the system says.
    pub open_files: Option<u64>,
    /// The most table and blob files the tier keeps open, if it has files.
    pub open_files_max: Option<u64>,
}

/// A storage level. Implementations must be cheap to call concurrently.
pub trait Tier: Send + Sync + 'static {
    /// Which tier this is.
    fn kind(&self) -> TierKind;

    /// Reads the encoded record under `key`.
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>>;

    /// Applies a batch of changes atomically (all or none).
    fn write(&self, ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>>;

    /// Reads the persisted engine state.
    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>>;

    /// Removes expired records and evicts records over the byte limit, soonest-expiring first.
    fn maintain(&self, now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>>;

    /// Space held now.
    fn usage(&self) -> TierUsage;

    /// How many puts of the batches written since the last call the tier kept off its
    /// storage (the disk tier at its directory's limit): the writer counts them as dropped,
    /// not written. A tier that stores every put it is given says 0.
    fn take_refused_puts(&self) -> u64 {
        0
    }
}
