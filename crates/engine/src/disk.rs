//! [`DiskTier`]: the embedded, crash-safe disk tier on fjall (an LSM tree; see
//! `docs/engine.md` for why fjall and not redb).
//!
//! Four keyspaces in one fjall database, all written by atomic batches:
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `entries` | cache key | encoded record ([`crate::codec`]) |
//! | `index` | cache key | expiry (u64 BE) + record size (u32 LE) |
//! | `expiry` | expiry (u64 BE) + cache key | empty: entries ordered by end of life |
//! | `meta` | `inval`, `usage`, `tag\0<tag>` | invalidation state; entry count and bytes; a bumped tag's generation (u64 BE) |
//!
//! `expiry` makes sweeping expired records a range scan from the start, and eviction
//! "least valuable first" the same scan continued: the record closest to its end of life goes
//! first. `usage` is written in the same batch as the records it counts, so the counts survive
//! a crash consistently with the data.
//!
//! The application may keep keyspaces of its own in the same database
//! ([`DiskTier::shared_keyspace`]; the gateway's library element stores): one journal, block
//! cache and background worker for everything on disk, and their files counted against the
//! same limit as files beside the records.
//!
//! Reads call fjall directly from the async task: a point read is a block-cache or page-cache
//! hit in microseconds, cheaper than a hop to the blocking pool. Writes and maintenance run on
//! the blocking pool, called by the single write-behind worker (`write`: the batches, the
//! sweep and eviction; `open`: opening and what goes wrong; `sizing`: the limits).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::entry::TierKind;
use crate::error::{DiskOpenError, DiskOpenKind, EngineError, TierError};
use crate::key::Key;
use crate::locks::LockUnpoisoned;
use crate::tier::{MaintenanceReport, PersistedMeta, Tier, TierUsage, WriteOp};

mod open;
mod sizing;
#[cfg(test)]
mod tests;
mod write;

pub use open::DiskStart;
pub(crate) use open::UnavailableDisk;
use open::{io_failure, move_aside, store_failure};
pub use sizing::DiskMemory;
use sizing::{
    COMPACT_AT_MOST_EVERY_MS, StoreSizes, allocated_bytes, journal_bytes, open_file_limit,
    open_files_cap, open_files_under, record_budget,
};

/// Keys longer than this are not written to disk (fjall's limit is 64 KiB).
const MAX_KEY_LEN: usize = 16 * 1024;
/// At most this many records are swept or evicted per maintenance pass, so one pass never
/// holds the writer for long.
const MAINTENANCE_BATCH: usize = 4096;
/// Records at least this long are returned by [`DiskTier::get_sync`] without a copy. Equal to
/// the key-value separation threshold: such records live in blob files (or the memtable),
/// each in a buffer of its own; smaller ones may be slices of a shared data block.
const ZERO_COPY_MIN: usize = SEPARATION_THRESHOLD as usize;
/// Records at least this long go to blob files, the rest stay in the tree's tables. Low, so
/// the tables hold little more than keys and pointers: the full compaction that collects blob
/// files rewrites every table before it deletes the old ones, and with answers up to 4 KiB
/// kept in the tables (about two thirds of the directory under a soak's mix) that doubled
/// the tables for a moment, taking the directory a third past its limit.
const SEPARATION_THRESHOLD: u32 = 512;

/// A keyspace of the disk tier's database lent to another store of the application
/// ([`DiskTier::shared_keyspace`]).
#[derive(Clone)]
pub struct SharedKeyspace {
    /// The database, for atomic batches over the keyspace.
    pub database: Database,
    /// The keyspace.
    pub keyspace: Keyspace,
}

impl std::fmt::Debug for SharedKeyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKeyspace").finish_non_exhaustive()
    }
}

/// Names of shared keyspaces start with this, so that none can be one of the tier's own.
const SHARED_PREFIX: &str = "shared:";

/// The disk tier.
#[derive(Clone)]
pub struct DiskTier {
    inner: Arc<DiskInner>,
}

struct DiskInner {
    path: PathBuf,
    db: Database,
    entries: Keyspace,
    index: Keyspace,
    expiry: Keyspace,
    meta: Keyspace,
    max_bytes: u64,
    entry_count: AtomicU64,
    bytes: AtomicU64,
    /// fjall's sizes for `max_bytes`.
    sizes: StoreSizes,
    /// The most table and blob files fjall keeps open at once ([`open_files_cap`]).
    open_files_max: usize,
    /// What the records may take: `max_bytes` less the journals, what the store's own files
    /// take beyond the records (dead space awaiting compaction) and the files counted beside,
    /// as last measured.
    record_budget: AtomicU64,
    /// Directories beside the store whose bytes count against `max_bytes` too
    /// ([`DiskTier::count_also`]).
    counts_also: Mutex<Vec<PathBuf>>,
    /// Keyspaces lent to the application ([`DiskTier::shared_keyspace`]): their files are in
    /// the store's directory but are not the records' overhead.
    shared: Mutex<Vec<Keyspace>>,
    /// When a full compaction last ran, on the engine's clock (they run at most every
    /// [`COMPACT_AT_MOST_EVERY_MS`]).
    last_compaction_ms: AtomicU64,
    /// Dead space the last collection left (blob files less than a quarter dead): another
    /// needs more than that to start.
    dead_after_compaction: AtomicU64,
    maintenance_passes: AtomicU64,
    /// The directory's bytes and the files counted beside it, as last measured (by a batch
    /// past the limit or a maintenance pass; the limit itself until first measured, so the
    /// first batch measures), and twice what batches put since: a batch measures again only
    /// when the sum passes the limit.
    measured_bytes: AtomicU64,
    counted_also_bytes: AtomicU64,
    put_since_measured: AtomicU64,
    /// Records refused because the directory was at its limit, since the writer last asked
    /// ([`Tier::take_refused_puts`]).
    refused_puts: AtomicU64,
    /// Serialises batches and maintenance: the usage counters are read-modify-write.
    write_lock: Mutex<()>,
}

fn store_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TierError {
    TierError::store("disk", e)
}

/// The `meta` keyspace's prefix of tag generation rows.
const TAG_ROW: &[u8] = b"tag\0";

fn tag_row(tag: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(TAG_ROW.len() + tag.len());
    k.extend_from_slice(TAG_ROW);
    k.extend_from_slice(tag.as_bytes());
    k
}

fn expiry_key(expires_at_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + key.len());
    k.extend_from_slice(&expires_at_ms.to_be_bytes());
    k.extend_from_slice(key);
    k
}

fn index_value(expires_at_ms: u64, size: u32) -> [u8; 12] {
    let mut v = [0u8; 12];
    v[..8].copy_from_slice(&expires_at_ms.to_be_bytes());
    v[8..].copy_from_slice(&size.to_le_bytes());
    v
}

fn parse_index(v: &[u8]) -> Option<(u64, u32)> {
    let exp: [u8; 8] = v.get(..8)?.try_into().ok()?;
    let size: [u8; 4] = v.get(8..12)?.try_into().ok()?;
    Some((u64::from_be_bytes(exp), u32::from_le_bytes(size)))
}

impl DiskTier {
    /// The smallest byte limit whose directory the tier keeps within 110 % of it: its
    /// journals and memtables need a few megabytes whatever the limit. An application should
    /// refuse a smaller one at start (a smaller one still works, over its limit).
    pub const SMALLEST_LIMIT: u64 = sizing::SMALLEST_LIMIT;

    /// Opens (or creates) the store in `path`, holding at most `max_bytes` of records.
    ///
    /// # Errors
    /// [`EngineError::DiskOpen`] when the directory cannot be created or written, or the store
    /// cannot be opened (for example because another process holds it).
    pub fn open(path: impl AsRef<Path>, max_bytes: u64) -> Result<Self, EngineError> {
        Self::open_with(path, max_bytes, true)
    }

    /// Like [`DiskTier::open`], choosing whether bodies are stored apart from the tree
    /// (fjall key-value separation). Used by the benchmarks to compare both layouts.
    ///
    /// # Errors
    /// As [`DiskTier::open`].
    #[doc(hidden)]
    pub fn open_with(
        path: impl AsRef<Path>,
        max_bytes: u64,
        kv_separation: bool,
    ) -> Result<Self, EngineError> {
        let path = path.as_ref();
        Self::try_open(path, max_bytes, kv_separation, DiskMemory::default()).map_err(|f| {
            EngineError::DiskOpen {
                path: path.display().to_string(),
                source: f,
            }
        })
    }

    /// Opens the store in `path` for a cache that must start whatever the disk's state: a
    /// cache is disposable, so a store that cannot be read back (damaged journal, table or
    /// `version` file) is moved aside to `<path>.damaged-<UTC time>` and a fresh one is
    /// opened in its place, and a disk that cannot be used at all (full, read-only, not a
    /// directory) leaves the cache in memory only. A store another process holds is reported
    /// ([`DiskStart::InUse`]), never moved.
    ///
    /// `memory` is what fjall may keep in memory (the cache's [`crate::MemoryPlan`] gives it).
    pub fn open_or_recover(
        path: impl AsRef<Path>,
        max_bytes: u64,
        memory: DiskMemory,
    ) -> DiskStart {
        let path = path.as_ref();
        let first = match Self::try_open(path, max_bytes, true, memory) {
            Ok(tier) => return DiskStart::Opened(tier),
            Err(f) => f,
        };
        match first.kind {
            DiskOpenKind::Environment => {
                return DiskStart::Unavailable {
                    reason: crate::Chain(&first).to_string(),
                };
            }
            DiskOpenKind::InUse => return DiskStart::InUse { error: first },
            DiskOpenKind::Damage => {}
        }
        let moved_to = match move_aside(path) {
            Ok(to) => to,
            Err(e) => {
                return DiskStart::Unavailable {
                    reason: format!(
                        "{}; moving the damaged store aside failed: {e}",
                        crate::Chain(&first)
                    ),
                };
            }
        };
        match Self::try_open(path, max_bytes, true, memory) {
            Ok(tier) => DiskStart::Recovered {
                tier,
                moved_to,
                reason: first.to_string(),
            },
            Err(second) => DiskStart::Unavailable {
                reason: format!(
                    "{first} (damaged store moved to {}); a fresh store failed too: {second}",
                    moved_to.display(),
                ),
            },
        }
    }

    /// Opens the store, saying on failure whether the store's files or the disk are to
    /// blame. A panic inside the store while it reads damaged files counts as damage.
    fn try_open(
        path: &Path,
        max_bytes: u64,
        kv_separation: bool,
        memory: DiskMemory,
    ) -> Result<Self, DiskOpenError> {
        std::panic::catch_unwind(|| Self::open_inner(path, max_bytes, kv_separation, memory))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(DiskOpenError::new(
                    DiskOpenKind::Damage,
                    "the store panicked while opening: ",
                    what,
                ))
            })
    }

    fn open_inner(
        path: &Path,
        max_bytes: u64,
        kv_separation: bool,
        memory: DiskMemory,
    ) -> Result<Self, DiskOpenError> {
        Self::open_inner_with(path, max_bytes, kv_separation, memory, |builder| builder)
    }

    /// Opens the store with what tests add to fjall's builder (compaction filters that hold a
    /// compaction open).
    #[cfg(test)]
    pub(crate) fn open_with_builder(
        path: &Path,
        max_bytes: u64,
        add: impl FnOnce(fjall::DatabaseBuilder<Database>) -> fjall::DatabaseBuilder<Database>,
    ) -> Result<Self, DiskOpenError> {
        Self::open_inner_with(path, max_bytes, true, DiskMemory::default(), add)
    }

    fn open_inner_with(
        path: &Path,
        max_bytes: u64,
        kv_separation: bool,
        memory: DiskMemory,
        add: impl FnOnce(fjall::DatabaseBuilder<Database>) -> fjall::DatabaseBuilder<Database>,
    ) -> Result<Self, DiskOpenError> {
        let path = path.to_path_buf();
        std::fs::create_dir_all(&path).map_err(io_failure)?;
        // fjall would report an unwritable directory later and less clearly; probe it now.
        let probe = path.join(".cachearr-write-probe");
        std::fs::write(&probe, b"probe")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| {
                DiskOpenError::new(DiskOpenKind::Environment, "directory is not writable: ", e)
            })?;
        let sizes = StoreSizes::for_limit(max_bytes, memory.memtables);
        let open_files_max = open_files_cap(open_file_limit());
        let db = add(Database::builder(&path))
            // Two cores are shared with the gateway: one background worker is plenty.
            .worker_threads(1)
            .cache_size(memory.block_cache)
            // fjall keeps up to 900 table and blob files open by default, the whole budget
            // of a process at the common limit of 1,024: the store keeps its share of the
            // descriptors the gateway reserves beside its listeners.
            .max_cached_files(Some(open_files_max))
            // fjall's default seals the journal at 64 MB and keeps up to 512 MiB of them,
            // whatever the store's size: the directory must stay within `max_bytes`, so the
            // journal is sealed at a thirty-second of it (a setting of our copy of fjall,
            // vendor/fjall/PATCHED.md) and sealed journals are flushed away past as much.
            .journal_rotation_size(sizes.journal_rotation)
            .max_journaling_size(sizes.journal_rotation)
            // Records reach fjall already compressed by the codec (or judged incompressible
            // by it); fjall's default LZ4 pass over every journaled value above 4 KiB would
            // spend a full compression of each large record for nothing.
            .journal_compression(CompressionType::None)
            .open()
            .map_err(store_failure)?;
        let ks = |name: &str, blobs: bool| {
            db.keyspace(name, move || keyspace_options(sizes, blobs))
                .map_err(store_failure)
        };
        let entries = ks("entries", kv_separation)?;
        let index = ks("index", false)?;
        let expiry = ks("expiry", false)?;
        let meta = ks("meta", false)?;
        // Everything start-up reads later is read once here, so damage there is found while
        // the store can still be moved aside.
        for name in ["inval", "seq"] {
            meta.get(name).map_err(store_failure)?;
        }
        let (entry_count, bytes) = read_usage(&meta)?;
        Ok(Self {
            inner: Arc::new(DiskInner {
                path,
                db,
                entries,
                index,
                expiry,
                meta,
                max_bytes,
                entry_count: AtomicU64::new(entry_count),
                bytes: AtomicU64::new(bytes),
                sizes,
                open_files_max,
                record_budget: AtomicU64::new(record_budget(max_bytes, sizes.journal_share(), 0)),
                counts_also: Mutex::new(Vec::new()),
                shared: Mutex::new(Vec::new()),
                last_compaction_ms: AtomicU64::new(0),
                dead_after_compaction: AtomicU64::new(0),
                maintenance_passes: AtomicU64::new(0),
                measured_bytes: AtomicU64::new(max_bytes),
                counted_also_bytes: AtomicU64::new(0),
                put_since_measured: AtomicU64::new(0),
                refused_puts: AtomicU64::new(0),
                write_lock: Mutex::new(()),
            }),
        })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Reads a record synchronously.
    ///
    /// # Errors
    /// When fjall fails to read.
    pub fn get_sync(&self, key: &str) -> Result<Option<Bytes>, TierError> {
        Ok(self
            .inner
            .entries
            .get(key.as_bytes())
            .map_err(store_err)?
            .map(|v| {
                // Large records (blob files, memtable) come in their own buffer: hand it over
                // instead of copying it. Small ones may be a slice of a shared data block,
                // which would pin the whole block while the record lives in memory: copy those.
                if v.len() >= ZERO_COPY_MIN {
                    Bytes::from(v)
                } else {
                    Bytes::copy_from_slice(&v)
                }
            }))
    }

    /// Applies a batch synchronously.
    ///
    /// # Errors
    /// When fjall fails to read the index or commit the batch; nothing is applied then.
    pub fn write_sync(&self, ops: Vec<WriteOp>) -> Result<(), TierError> {
        self.inner.write_sync(ops)
    }

    /// Runs a maintenance pass synchronously.
    ///
    /// # Errors
    /// When fjall fails.
    pub fn maintain_sync(&self, now_ms: u64) -> Result<MaintenanceReport, TierError> {
        self.inner.maintain_sync(now_ms)
    }

    /// Forces a full compaction of every keyspace, giving the space of removed records back
    /// to the file system now rather than as background compaction gets to it.
    ///
    /// # Errors
    /// When fjall fails.
    pub fn compact(&self) -> Result<(), TierError> {
        self.inner.compact()
    }

    /// Counts the files under `dirs` against this tier's limit as well (files the
    /// application keeps beside the cache in the same data directory): the records get what
    /// the store's own files and these leave of `max_bytes`, never less than an eighth of it.
    pub fn count_also(&self, dirs: Vec<PathBuf>) {
        *self.inner.counts_also.lock_unpoisoned() = dirs;
    }

    /// Opens (or creates) keyspace `name` of the application's in this tier's database, with
    /// the options `options` gives when it is created. It shares the tier's journal (bounded by
    /// the tier's limit), block cache and background worker, so a second store on the same
    /// disk costs no second journal; its files count against `max_bytes` like files beside the
    /// store ([`DiskTier::count_also`]): the records get what it leaves, never less than an
    /// eighth. Clearing or compacting the tier leaves it alone.
    ///
    /// # Errors
    /// When the name is too long for fjall (over 240 bytes) or fjall cannot create it.
    pub fn shared_keyspace(
        &self,
        name: &str,
        options: impl FnOnce() -> KeyspaceCreateOptions,
    ) -> Result<SharedKeyspace, TierError> {
        let full = format!("{SHARED_PREFIX}{name}");
        if full.len() > 240 {
            return Err(store_err(format!("keyspace name too long: {name}")));
        }
        let keyspace = self.inner.db.keyspace(&full, options).map_err(store_err)?;
        let mut shared = self.inner.shared.lock_unpoisoned();
        if !shared.iter().any(|k| k.name() == keyspace.name()) {
            shared.push(keyspace.clone());
        }
        Ok(SharedKeyspace {
            database: self.inner.db.clone(),
            keyspace,
        })
    }

    /// Bytes the store's files really occupy on the device (allocated blocks, so the
    /// journal's sparse pre-allocation does not count).
    pub fn file_bytes(&self) -> u64 {
        allocated_bytes(&self.inner.path)
    }

    /// The most table and blob files the store keeps open at once: its share of the
    /// descriptors the process may hold, from the open-file limit when it opened.
    pub fn open_files_max(&self) -> u64 {
        self.inner.open_files_max as u64
    }

    /// Descriptors open now on the store's files (tables, blob files, journals, its lock),
    /// when the system says (`/proc/self/fd`).
    pub fn open_files(&self) -> Option<u64> {
        open_files_under(&self.inner.path)
    }

    /// Persists buffered journal writes to the OS (and with `sync`, to the device).
    ///
    /// # Errors
    /// When fjall fails.
    pub fn persist(&self, sync: bool) -> Result<(), TierError> {
        let mode = if sync {
            fjall::PersistMode::SyncAll
        } else {
            fjall::PersistMode::Buffer
        };
        self.inner.db.persist(mode).map_err(store_err)
    }
}

impl Tier for DiskTier {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }

    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>> {
        let result = self.get_sync(key.as_str());
        async move { result }.boxed()
    }

    fn write(&self, ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>> {
        let this = self.clone();
        async move {
            tokio::task::spawn_blocking(move || this.write_sync(ops))
                .await
                .map_err(store_err)?
        }
        .boxed()
    }

    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>> {
        let read = || -> Result<PersistedMeta, TierError> {
            let invalidation = self
                .inner
                .meta
                .get("inval")
                .map_err(store_err)?
                .map(|v| Bytes::copy_from_slice(&v));
            let next_seq = self
                .inner
                .meta
                .get("seq")
                .map_err(store_err)?
                .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
                .map_or(0, u64::from_le_bytes);
            let mut tag_generations = Vec::new();
            for kv in self.inner.meta.prefix(TAG_ROW) {
                let (k, v) = kv.into_inner().map_err(store_err)?;
                if let (Some(tag), Ok(g)) = (
                    k.strip_prefix(TAG_ROW)
                        .and_then(|t| std::str::from_utf8(t).ok()),
                    <[u8; 8]>::try_from(&v[..]),
                ) {
                    tag_generations.push((tag.to_owned(), u64::from_be_bytes(g)));
                }
            }
            Ok(PersistedMeta {
                invalidation,
                tag_generations,
                next_seq,
            })
        };
        let result = read();
        async move { result }.boxed()
    }

    fn maintain(&self, now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>> {
        let this = self.clone();
        async move {
            tokio::task::spawn_blocking(move || this.maintain_sync(now_ms))
                .await
                .map_err(store_err)?
        }
        .boxed()
    }

    fn take_refused_puts(&self) -> u64 {
        self.inner.refused_puts.swap(0, Ordering::AcqRel)
    }

    fn usage(&self) -> TierUsage {
        TierUsage {
            entries: self.inner.entry_count.load(Ordering::Acquire),
            bytes: self.inner.bytes.load(Ordering::Acquire),
            file_bytes: Some(self.file_bytes()),
            max_bytes: self.inner.max_bytes,
            open_files: self.open_files(),
            open_files_max: Some(self.open_files_max()),
        }
    }
}

impl std::fmt::Debug for DiskTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskTier")
            .field("path", &self.inner.path)
            .field("max_bytes", &self.inner.max_bytes)
            .finish_non_exhaustive()
    }
}

/// How a keyspace is made: with blob files (`blobs`, for the records) or without.
fn keyspace_options(sizes: StoreSizes, blobs: bool) -> KeyspaceCreateOptions {
    let o = KeyspaceCreateOptions::default().max_memtable_size(if blobs {
        sizes.entries_memtable
    } else {
        sizes.small_memtable
    });
    if blobs {
        // Records of 512 bytes or more go to blob files: compaction under churn
        // then moves small pointers instead of bodies. Records are already
        // compressed by the codec, so fjall does not compress them again.
        o.data_block_compression_policy(CompressionPolicy::disabled())
            .with_kv_separation(Some(
                KvSeparationOptions::default()
                    .separation_threshold(SEPARATION_THRESHOLD)
                    .compression(CompressionType::None)
                    // Smaller blob files are collected sooner after their
                    // records are removed (fjall rewrites a blob file once a
                    // quarter of it is dead, the oldest quarter of such files
                    // per compaction, so that one adds little while it runs).
                    .file_target_size(sizes.blob_file)
                    .staleness_threshold(0.25)
                    .age_cutoff(0.25),
            ))
    } else {
        o
    }
}

/// The entry count and bytes the store last recorded (none in a new store).
fn read_usage(meta: &Keyspace) -> Result<(u64, u64), DiskOpenError> {
    Ok(match meta.get("usage").map_err(store_failure)? {
        Some(v) if v.len() == 16 => {
            let mut a = [0u8; 8];
            let mut b = [0u8; 8];
            a.copy_from_slice(&v[..8]);
            b.copy_from_slice(&v[8..]);
            (u64::from_le_bytes(a), u64::from_le_bytes(b))
        }
        _ => (0, 0),
    })
}
