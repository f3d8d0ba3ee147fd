//! cachearr-engine: the tiered cache at the heart of cachearr, with no HTTP in it.
//!
//! [`TieredCache::get_or_load`] answers from memory, then disk, and otherwise runs the
//! caller's [`Loader`] once per key however many callers wait (single-flight). Entries carry
//! a fresh TTL, a stale-while-revalidate window and a stale-if-error window ([`Policy`]);
//! the [`Lookup`]'s [`Outcome`] says what happened.
//!
//! ```
//! # use std::{sync::Arc, time::Duration};
//! # use cachearr_engine::*;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), EngineError> {
//! let cache = TieredCache::builder().memory_max_bytes(64 << 20).build().await?;
//! let policy = Policy::new("metadata", Duration::from_secs(3600))
//!     .with_stale_while_revalidate(Duration::from_secs(86_400))
//!     .with_tag("item:42");
//! let key = Key::new("plex|GET|/library/metadata/42");
//! let loader: Arc<dyn Loader> = Arc::new(|| async {
//!     Ok(Fill::Store(CachedValue::new(200, "{\"MediaContainer\":{}}")))
//! });
//! assert_eq!(cache.get_or_load(&key, &policy, loader.clone()).await?.outcome, Outcome::Miss);
//! let hit = cache.get_or_load(&key, &policy, loader.clone()).await?;
//! assert_eq!(hit.outcome, Outcome::Hit(TierKind::Memory));
//! cache.invalidate_tag("item:42"); // O(1): a generation bump
//! assert_eq!(cache.get_or_load(&key, &policy, loader).await?.outcome, Outcome::Miss);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! Imports point down this list only (no cycle; the map is in `docs/architecture.md`).
//! * [`cache`](TieredCache) — `TieredCache` and `TieredCacheBuilder`: lookups, single-flight
//!   loads (each in its own task, guarded against panics and timeouts), stale serving,
//!   background refreshes, the warmer, statistics. Owns the Redis tier.
//! * `redis` — [`RedisTier`], the shared tier on Redis / Valkey (circuit breaker, key
//!   namespace, PX expiry); [`RedisOptions`], [`RedisHealth`]. It changes the cache only
//!   through the `LocalCache` trait the cache implements. See `docs/redis.md`.
//! * `write_behind` — the bounded, batched, dropping write queue and its worker.
//! * `disk` — [`DiskTier`] on fjall (choice and measurements: `docs/engine.md`).
//! * `codec` — the versioned, checksummed record format for disk and Redis.
//! * `loader` — [`Loader`] (with a blanket impl for async closures), [`LoadContext`].
//! * `entry` — [`CachedValue`], [`Entry`], [`Fill`], [`Lookup`], [`Outcome`].
//! * `stats` — counters per class and tier; [`StatsSnapshot`].
//! * `tally` — warnings written at most once per period, with the count since the last.
//! * `tags` — tag generations and prefix drops (O(1) invalidation, integer checks on read).
//! * `tier` — [`Tier`], the object-safe trait for levels below memory; [`WriteOp`],
//!   [`TierKind`].
//! * `budget` — the refresh budget (concurrency + rate) for warming.
//! * `clock` — [`Clock`], [`SystemClock`], [`ManualClock`].
//! * `locks` — taking a `std::sync` lock whose earlier holder panicked, and why the engine may.
//! * `key` — [`Key`]: shared string + precomputed seeded hash.
//! * `policy` — [`Policy`]: class, TTLs, windows, tags, negative TTL.
//! * `error` — [`EngineError`], [`LoadError`] (with its [`LoadErrorKind`]), [`TierError`]; each
//!   keeps its kind apart from its message and the error it came from as its source.
//!
//! # Additions to the agreed API
//! * [`TieredCache::flush`] (wait for write-behind), [`TieredCache::run_pending_tasks`]
//!   (housekeeping now, for driven-clock tests), [`TieredCacheBuilder::housekeeping`].
//! * Builder helpers on [`Policy`] (`Policy::new(..).with_tag(..)`), [`CachedValue::new`].
//! * [`Entry`] exposes `stored_at_ms`, `fresh_until_ms`, `stale_until_ms`, `error_until_ms`.
//! * [`TieredCacheBuilder::tier`] plugs in any [`Tier`] as the level below memory.
//!
//! # Behaviour worth knowing
//! * [`TieredCache::remove`] returns once the removal has reached the disk tier (it waits for
//!   one write-behind batch), so no later read can find the old record there.
//! * [`TieredCache::get`] returns fresh entries as [`Outcome::Hit`] and entries past
//!   freshness but within either stale window as [`Outcome::Stale`]; it never loads.
//! * Stale-while-revalidate refreshes are not drawn from the refresh budget (each one replaces
//!   a client miss); warming refreshes are.
//! * A write dropped because the queue was full leaves the disk with the previous record for
//!   that key (still valid under its own TTLs), or none.
//!
//! Design notes and measurements: `docs/engine.md`; numbers in `docs/benchmarks.md`.

mod budget;
mod cache;
mod clock;
mod codec;
mod disk;
mod entry;
mod error;
mod key;
mod loader;
mod locks;
mod policy;
mod redis;
mod stats;
mod tags;
mod tally;
mod tier;
mod write_behind;

pub use cache::{FetchStamp, MemoryPlan, TieredCache, TieredCacheBuilder};
pub use clock::{Clock, ManualClock, SystemClock, elapsed_us};
pub use disk::{DiskMemory, DiskStart, DiskTier, SharedKeyspace};
pub use entry::{CachedValue, Entry, Fill, HeldBeside, Lookup, Outcome};
pub use error::{
    Cause, Chain, DiskOpenError, DiskOpenKind, EngineError, LoadError, LoadErrorKind,
    RedisStartError, RedisStartKind, TierError,
};
pub use key::Key;
pub use loader::{LoadContext, Loader};
pub use policy::Policy;
// `self::`: the module shares its name with the Redis client crate.
pub use self::redis::{
    LeaseAnswer, LeaseValue, Published, RedisHealth, RedisOptions, RedisTier, SharedSecret,
    redact_url,
};
pub use stats::{ClassStats, Noted, QueueStats, StatsSnapshot, TierStats};
pub use tier::{MaintenanceReport, PersistedMeta, Tier, TierKind, TierUsage, WriteOp};

/// Record encoding for benchmarks and tools outside the crate; not a stable API.
#[doc(hidden)]
pub mod bench_support {
    use bytes::Bytes;

    use crate::CachedValue;
    use crate::codec::{self, RecordHeader};

    /// Encodes a value as the disk tier stores it (header, checksum, compressed body).
    pub fn encode_value(value: &CachedValue, class: &str, expires_at_ms: u64) -> Bytes {
        let header = RecordHeader {
            status: value.status,
            headers: value.headers.clone(),
            class: class.to_owned(),
            stored_at_ms: 0,
            fresh_until_ms: expires_at_ms,
            stale_until_ms: expires_at_ms,
            error_until_ms: expires_at_ms,
            negative: false,
            seq: 0,
            tags: Vec::new(),
        };
        codec::encode_parts(&header, &value.body)
    }

    /// Decodes and checks a record; `None` if it is corrupt or of another version.
    pub fn decode_value(raw: &Bytes) -> Option<CachedValue> {
        codec::decode(raw).ok().map(|r| r.value())
    }

    /// Rewrites a record's checksum so that it covers what the record now holds (for fuzzing
    /// past the checksum). Records shorter than the fixed prefix are left alone.
    pub fn reseal(raw: &mut [u8]) {
        codec::reseal(raw);
    }
}
