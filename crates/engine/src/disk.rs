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
//! the blocking pool, called by the single write-behind worker.

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
use crate::error::{EngineError, TierError};
use crate::key::Key;
use crate::tier::{MaintenanceReport, PersistedMeta, Tier, TierUsage, WriteOp};

/// Keys longer than this are not written to disk (fjall's limit is 64 KiB).
const MAX_KEY_LEN: usize = 16 * 1024;
/// At most this many records are swept or evicted per maintenance pass, so one pass never
/// holds the writer for long.
const MAINTENANCE_BATCH: usize = 4096;
/// Records at least this long are returned by [`DiskTier::get_sync`] without a copy. Equal to
/// the key-value separation threshold: such records live in blob files (or the memtable),
/// each in a buffer of its own; smaller ones may be slices of a shared data block.
const ZERO_COPY_MIN: usize = 4096;

/// How opening the store at start went ([`DiskTier::open_or_recover`]).
#[derive(Debug)]
pub enum DiskStart {
    /// The store opened as it was.
    Opened(DiskTier),
    /// The store could not be read back: it was moved to `moved_to` and a fresh, empty one
    /// opened in its place.
    Recovered {
        /// The fresh store.
        tier: DiskTier,
        /// Where the damaged store now lies (for inspection; safe to delete).
        moved_to: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The disk cannot hold a store now (full, read-only, not a directory, …): the cache runs
    /// from memory only.
    Unavailable {
        /// What the disk or the store said.
        reason: String,
    },
    /// Another process has the store open (fjall's lock): most likely a second gateway on
    /// the same data directory, a set-up mistake the caller should report rather than run
    /// beside. The store is left alone.
    InUse {
        /// What the store said.
        reason: String,
    },
}

/// Whether a failed open is the store's files' fault (move them aside, start fresh) or the
/// disk's (nothing to gain from moving anything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureCause {
    Damage,
    Environment,
    /// The store's lock is held by another process.
    InUse,
}

struct OpenFailure {
    cause: FailureCause,
    reason: String,
}

impl OpenFailure {
    fn io(e: std::io::Error) -> Self {
        Self {
            cause: io_cause(&e),
            reason: e.to_string(),
        }
    }

    fn store(e: fjall::Error) -> Self {
        let cause = match &e {
            fjall::Error::Io(io) | fjall::Error::Storage(fjall::LsmError::Io(io)) => io_cause(io),
            // Another process has the store open: it is not ours to move, nor to run beside.
            fjall::Error::Locked => FailureCause::InUse,
            fjall::Error::Poisoned => FailureCause::Environment,
            // Journal recovery, version marker, checksums, decoding: the files are damaged.
            _ => FailureCause::Damage,
        };
        Self {
            cause,
            reason: e.to_string(),
        }
    }
}

/// The memory a store may keep: fjall's block cache (recently read blocks) and its memtables
/// (records written but not yet flushed to files). A cache's store gets its shares of
/// `memory_max` ([`crate::MemoryPlan`]); a store opened on its own gets the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskMemory {
    /// fjall's block cache.
    pub block_cache: u64,
    /// All keyspaces' active memtables together (a sealed one waiting for its flush comes on
    /// top for as long as the flush takes).
    pub memtables: u64,
}

impl Default for DiskMemory {
    /// 32 MiB of block cache; memtables sized from the store's limit alone.
    fn default() -> Self {
        DiskMemory {
            block_cache: 32 * 1024 * 1024,
            memtables: u64::MAX,
        }
    }
}

/// Full compactions (which rewrite the whole store) run at most this often.
const COMPACT_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// fjall's sizes, derived from the store's byte limit so that the directory, not only the
/// records, stays near it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StoreSizes {
    /// All journals together (fjall's minimum is 64 MiB).
    journal: u64,
    /// The `entries` keyspace's memtable.
    entries_memtable: u64,
    /// The other keyspaces' memtables (small rows: index, expiry, meta).
    small_memtable: u64,
    /// Target size of a blob file.
    blob_file: u64,
}

impl StoreSizes {
    /// Sizes for a store of `max_bytes` whose memtables may take `memtables` bytes: the
    /// `entries` keyspace gets half of that, the three small ones a sixth each, and none less
    /// than 1 MiB (below that fjall flushes tiny tables all the time).
    fn for_limit(max_bytes: u64, memtables: u64) -> StoreSizes {
        const MIB: u64 = 1024 * 1024;
        StoreSizes {
            journal: (max_bytes / 8).clamp(64 * MIB, 512 * MIB),
            entries_memtable: (max_bytes / 32).min(memtables / 2).clamp(MIB, 64 * MIB),
            small_memtable: (max_bytes / 128).min(memtables / 6).clamp(MIB, 16 * MIB),
            blob_file: (max_bytes / 16).clamp(4 * MIB, 64 * MIB),
        }
    }
}

/// I/O errors that say the disk, not the store, is the problem. Anything else (a missing or
/// short file, bad data) is treated as damage: moving a disposable store aside is cheap.
fn io_cause(e: &std::io::Error) -> FailureCause {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull
        | K::QuotaExceeded
        | K::ReadOnlyFilesystem
        | K::PermissionDenied
        | K::NotADirectory
        | K::WouldBlock
        | K::ResourceBusy
        | K::OutOfMemory => FailureCause::Environment,
        _ => FailureCause::Damage,
    }
}

/// Renames the store directory to `<name>.damaged-<UTC time>` beside it.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let stamp = utc_stamp(std::time::SystemTime::now());
    let mut to = path.with_file_name(format!("{name}.damaged-{stamp}"));
    let mut n = 2;
    while to.exists() {
        to = path.with_file_name(format!("{name}.damaged-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &to)?;
    Ok(to)
}

/// `YYYYMMDDTHHMMSSZ` for `t` (proleptic Gregorian calendar, UTC).
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What the records may take of `max_bytes` when the store's files take `files` bytes while
/// its records count `live`, and other files counted against the same limit take `beside`:
/// the limit less the files' overhead (journal, memtables, dead space), but never below half
/// the limit, so a burst of dead space waiting for compaction does not empty the store; then
/// less the files beside, which are data of their own, down to an eighth of the limit.
fn record_budget(max_bytes: u64, files: u64, live: u64, beside: u64) -> u64 {
    let overhead = files.saturating_sub(live);
    max_bytes
        .saturating_sub(overhead)
        .max(max_bytes / 2)
        .saturating_sub(beside)
        .max(max_bytes / 8)
        .max(1)
}

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
    /// What the records may take: `max_bytes` less what the store's own files (journal,
    /// memtables, dead space awaiting compaction) take beyond the records, as last measured.
    record_budget: AtomicU64,
    /// Directories beside the store whose bytes count against `max_bytes` too
    /// ([`DiskTier::count_also`]).
    counts_also: Mutex<Vec<PathBuf>>,
    /// Keyspaces lent to the application ([`DiskTier::shared_keyspace`]): their files are in
    /// the store's directory but are not the records' overhead.
    shared: Mutex<Vec<Keyspace>>,
    /// When a full compaction last ran (they are at most once a minute).
    last_compaction: Mutex<Option<std::time::Instant>>,
    maintenance_passes: AtomicU64,
    /// Serialises batches and maintenance: the usage counters are read-modify-write.
    write_lock: Mutex<()>,
}

fn store_err(e: impl std::fmt::Display) -> TierError {
    TierError::Store {
        tier: "disk",
        message: e.to_string(),
    }
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
                reason: f.reason,
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
        match first.cause {
            FailureCause::Environment => {
                return DiskStart::Unavailable {
                    reason: first.reason,
                };
            }
            FailureCause::InUse => {
                return DiskStart::InUse {
                    reason: first.reason,
                };
            }
            FailureCause::Damage => {}
        }
        let moved_to = match move_aside(path) {
            Ok(to) => to,
            Err(e) => {
                return DiskStart::Unavailable {
                    reason: format!(
                        "{}; moving the damaged store aside failed: {e}",
                        first.reason
                    ),
                };
            }
        };
        match Self::try_open(path, max_bytes, true, memory) {
            Ok(tier) => DiskStart::Recovered {
                tier,
                moved_to,
                reason: first.reason,
            },
            Err(second) => DiskStart::Unavailable {
                reason: format!(
                    "{} (damaged store moved to {}); a fresh store failed too: {}",
                    first.reason,
                    moved_to.display(),
                    second.reason
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
    ) -> Result<Self, OpenFailure> {
        std::panic::catch_unwind(|| Self::open_inner(path, max_bytes, kv_separation, memory))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(OpenFailure {
                    cause: FailureCause::Damage,
                    reason: format!("the store panicked while opening: {what}"),
                })
            })
    }

    fn open_inner(
        path: &Path,
        max_bytes: u64,
        kv_separation: bool,
        memory: DiskMemory,
    ) -> Result<Self, OpenFailure> {
        let path = path.to_path_buf();
        std::fs::create_dir_all(&path).map_err(OpenFailure::io)?;
        // fjall would report an unwritable directory later and less clearly; probe it now.
        let probe = path.join(".cachearr-write-probe");
        std::fs::write(&probe, b"probe")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| OpenFailure {
                cause: FailureCause::Environment,
                reason: format!("directory is not writable: {e}"),
            })?;
        let sizes = StoreSizes::for_limit(max_bytes, memory.memtables);
        let db = Database::builder(&path)
            // Two cores are shared with the gateway: one background worker is plenty.
            .worker_threads(1)
            .cache_size(memory.block_cache)
            // fjall's default keeps up to 512 MiB of journal, whatever the store's size: the
            // directory must stay near `max_bytes`, so the journal gets its share of it.
            .max_journaling_size(sizes.journal)
            // Records reach fjall already compressed by the codec (or judged incompressible
            // by it); fjall's default LZ4 pass over every journaled value above 4 KiB would
            // spend a full compression of each large record for nothing.
            .journal_compression(CompressionType::None)
            .open()
            .map_err(OpenFailure::store)?;
        let ks = |name: &str, blobs: bool| {
            let opts = move || {
                let o = KeyspaceCreateOptions::default().max_memtable_size(if blobs {
                    sizes.entries_memtable
                } else {
                    sizes.small_memtable
                });
                if blobs {
                    // Records above 4 KiB go to blob files: compaction under churn then
                    // moves small pointers instead of bodies. Records are already
                    // compressed by the codec, so fjall does not compress them again.
                    o.data_block_compression_policy(CompressionPolicy::disabled())
                        .with_kv_separation(Some(
                            KvSeparationOptions::default()
                                .separation_threshold(4096)
                                .compression(CompressionType::None)
                                // Smaller blob files are collected sooner after their
                                // records are removed (fjall rewrites a blob file once a
                                // quarter of it is dead).
                                .file_target_size(sizes.blob_file)
                                .staleness_threshold(0.25),
                        ))
                } else {
                    o
                }
            };
            db.keyspace(name, opts).map_err(OpenFailure::store)
        };
        let entries = ks("entries", kv_separation)?;
        let index = ks("index", false)?;
        let expiry = ks("expiry", false)?;
        let meta = ks("meta", false)?;
        // Everything start-up reads later is read once here, so damage there is found while
        // the store can still be moved aside.
        for name in ["inval", "seq"] {
            meta.get(name).map_err(OpenFailure::store)?;
        }
        let (entry_count, bytes) = match meta.get("usage").map_err(OpenFailure::store)? {
            Some(v) if v.len() == 16 => {
                let mut a = [0u8; 8];
                let mut b = [0u8; 8];
                a.copy_from_slice(&v[..8]);
                b.copy_from_slice(&v[8..]);
                (u64::from_le_bytes(a), u64::from_le_bytes(b))
            }
            _ => (0, 0),
        };
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
                record_budget: AtomicU64::new(max_bytes),
                counts_also: Mutex::new(Vec::new()),
                shared: Mutex::new(Vec::new()),
                last_compaction: Mutex::new(None),
                maintenance_passes: AtomicU64::new(0),
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
        *self
            .inner
            .counts_also
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = dirs;
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
        let mut shared = self.inner.shared.lock().unwrap_or_else(|e| e.into_inner());
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

/// What the batch being built knows about a key, ahead of the committed index.
#[derive(Clone, Copy)]
enum Pending {
    Present { expires_at_ms: u64, size: u32 },
    Absent,
}

impl DiskInner {
    fn compact(&self) -> Result<(), TierError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        for ks in [&self.entries, &self.index, &self.expiry, &self.meta] {
            ks.rotate_memtable_and_wait().map_err(store_err)?;
        }
        for ks in [&self.entries, &self.index, &self.expiry] {
            ks.major_compact().map_err(store_err)?;
        }
        // A second pass over the entries drops blob files the first pass left dead.
        self.entries.major_compact().map_err(store_err)?;
        // fjall deletes the files a compaction made obsolete when the next memtable is
        // sealed; seal one now (with a marker write) so the space is returned at once.
        self.meta
            .insert("compacted", b"1".to_vec())
            .map_err(store_err)?;
        self.meta.rotate_memtable_and_wait().map_err(store_err)?;
        Ok(())
    }

    fn lookup(
        &self,
        pending: &HashMap<Vec<u8>, Pending>,
        key: &[u8],
    ) -> Result<Option<(u64, u32)>, TierError> {
        match pending.get(key) {
            Some(Pending::Present {
                expires_at_ms,
                size,
            }) => Ok(Some((*expires_at_ms, *size))),
            Some(Pending::Absent) => Ok(None),
            None => Ok(self
                .index
                .get(key)
                .map_err(store_err)?
                .and_then(|v| parse_index(&v))),
        }
    }

    /// Adds the removal of `key` to the batch, if present. Returns the bytes freed.
    fn remove_into(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        pending: &mut HashMap<Vec<u8>, Pending>,
        key: &[u8],
        counts: &mut (u64, u64),
    ) -> Result<bool, TierError> {
        let Some((exp, size)) = self.lookup(pending, key)? else {
            return Ok(false);
        };
        batch.remove(&self.entries, key.to_vec());
        batch.remove(&self.index, key.to_vec());
        batch.remove(&self.expiry, expiry_key(exp, key));
        counts.0 = counts.0.saturating_sub(1);
        counts.1 = counts.1.saturating_sub(u64::from(size) + key.len() as u64);
        pending.insert(key.to_vec(), Pending::Absent);
        Ok(true)
    }

    fn commit(
        &self,
        mut batch: fjall::OwnedWriteBatch,
        counts: (u64, u64),
    ) -> Result<(), TierError> {
        let mut usage = [0u8; 16];
        usage[..8].copy_from_slice(&counts.0.to_le_bytes());
        usage[8..].copy_from_slice(&counts.1.to_le_bytes());
        batch.insert(&self.meta, "usage", usage.to_vec());
        batch.commit().map_err(store_err)?;
        self.entry_count.store(counts.0, Ordering::Release);
        self.bytes.store(counts.1, Ordering::Release);
        Ok(())
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.entry_count.load(Ordering::Acquire),
            self.bytes.load(Ordering::Acquire),
        )
    }

    fn write_sync(&self, ops: Vec<WriteOp>) -> Result<(), TierError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = self.db.batch();
        let mut pending: HashMap<Vec<u8>, Pending> = HashMap::new();
        let mut counts = self.counts();
        for op in ops {
            match op {
                WriteOp::Put {
                    key,
                    record,
                    expires_at_ms,
                } => {
                    let k = key.as_str().as_bytes();
                    if k.len() > MAX_KEY_LEN || record.len() > u32::MAX as usize {
                        continue;
                    }
                    self.remove_into(&mut batch, &mut pending, k, &mut counts)?;
                    let size = record.len() as u32;
                    // fjall's values are `Bytes` (feature `bytes_1`): the record is shared with
                    // the batch and memtable, not copied.
                    batch.insert(&self.entries, k, record);
                    batch.insert(
                        &self.index,
                        k.to_vec(),
                        index_value(expires_at_ms, size).to_vec(),
                    );
                    batch.insert(&self.expiry, expiry_key(expires_at_ms, k), Vec::new());
                    counts.0 += 1;
                    counts.1 += u64::from(size) + k.len() as u64;
                    pending.insert(
                        k.to_vec(),
                        Pending::Present {
                            expires_at_ms,
                            size,
                        },
                    );
                }
                WriteOp::Remove { key } => {
                    self.remove_into(
                        &mut batch,
                        &mut pending,
                        key.as_str().as_bytes(),
                        &mut counts,
                    )?;
                }
                WriteOp::RemovePrefix { prefix } => {
                    let mut doomed: Vec<Vec<u8>> = Vec::new();
                    for kv in self.index.prefix(prefix.as_bytes()) {
                        let k = kv.key().map_err(store_err)?;
                        doomed.push(k.to_vec());
                    }
                    doomed.extend(
                        pending
                            .iter()
                            .filter(|(k, p)| {
                                matches!(p, Pending::Present { .. })
                                    && k.starts_with(prefix.as_bytes())
                            })
                            .map(|(k, _)| k.clone()),
                    );
                    for k in doomed {
                        self.remove_into(&mut batch, &mut pending, &k, &mut counts)?;
                    }
                }
                WriteOp::SetInvalidationState { state } => {
                    batch.insert(&self.meta, "inval", state.to_vec());
                }
                WriteOp::SetTagGenerations { set, forget } => {
                    for tag in forget {
                        batch.remove(&self.meta, tag_row(&tag));
                    }
                    for (tag, generation) in set {
                        batch.insert(&self.meta, tag_row(&tag), generation.to_be_bytes().to_vec());
                    }
                }
                WriteOp::SetNextSeq { next_seq } => {
                    batch.insert(&self.meta, "seq", next_seq.to_le_bytes().to_vec());
                }
            }
        }
        self.commit(batch, counts)
    }

    fn maintain_sync(&self, now_ms: u64) -> Result<MaintenanceReport, TierError> {
        self.maintenance_passes.fetch_add(1, Ordering::Relaxed);
        // The directory is what an operator sizes a volume by: measure it (a few dozen
        // `stat`s) and give the records what the store's own files leave of the limit.
        // Shared keyspaces' tables are in the directory too, but they are another store's
        // data, not the records' overhead: they count beside.
        let shared: u64 = self
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(Keyspace::disk_space)
            .sum();
        let all_files = allocated_bytes(&self.path);
        let files = all_files.saturating_sub(shared);
        let beside: u64 = shared
            + self
                .counts_also
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|dir| allocated_bytes(dir))
                .sum::<u64>();
        let live = self.bytes.load(Ordering::Acquire);
        let budget = record_budget(self.max_bytes, files, live, beside);
        self.record_budget.store(budget, Ordering::Release);
        let report = self.remove_expired_and_evict(now_ms)?;
        // Background compaction reclaims space as the tree grows; when the tables and blob
        // files alone still exceed the limit (heavy churn: tombstones and dead blobs not yet
        // collected), compact fully, at most once a minute. The journal does not count here:
        // a compaction cannot shrink it (it is dropped once the memtables are flushed), and
        // rewriting the store would only add a second copy for a while.
        let journal = journal_bytes(&self.path);
        if files.saturating_sub(journal) > self.max_bytes {
            let mut last = self
                .last_compaction
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_none_or(|t| t.elapsed() >= COMPACT_AT_MOST_EVERY) {
                *last = Some(std::time::Instant::now());
                drop(last);
                tracing::debug!(files, live, "disk cache files over the limit; compacting");
                self.compact()?;
            }
        }
        Ok(report)
    }

    fn remove_expired_and_evict(&self, now_ms: u64) -> Result<MaintenanceReport, TierError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = MaintenanceReport::default();
        let mut counts = self.counts();
        let mut batch = self.db.batch();
        let mut pending: HashMap<Vec<u8>, Pending> = HashMap::new();
        let budget = self.record_budget.load(Ordering::Acquire);
        let over = |counts: &(u64, u64)| counts.1 > budget;
        // Evict down to 90 % of the budget, so eviction does not run on every write.
        let target = budget - budget / 10;
        let mut evicting = false;
        for kv in self.expiry.iter().take(MAINTENANCE_BATCH) {
            let k = kv.key().map_err(store_err)?;
            let Some(exp_bytes) = k.get(..8) else {
                continue;
            };
            let mut exp = [0u8; 8];
            exp.copy_from_slice(exp_bytes);
            let exp = u64::from_be_bytes(exp);
            let key = &k[8..];
            if exp <= now_ms {
                if self.remove_into(&mut batch, &mut pending, key, &mut counts)? {
                    report.expired += 1;
                } else {
                    // An orphaned expiry row (cannot happen with atomic batches, but cheap to
                    // heal).
                    batch.remove(&self.expiry, k.to_vec());
                }
                continue;
            }
            if !evicting && !over(&counts) {
                break;
            }
            evicting = true;
            if counts.1 <= target {
                break;
            }
            if self.remove_into(&mut batch, &mut pending, key, &mut counts)? {
                report.evicted += 1;
            }
        }
        if report.expired + report.evicted > 0 {
            self.commit(batch, counts)?;
        }
        Ok(report)
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

    fn usage(&self) -> TierUsage {
        TierUsage {
            entries: self.inner.entry_count.load(Ordering::Acquire),
            bytes: self.inner.bytes.load(Ordering::Acquire),
            file_bytes: Some(self.file_bytes()),
            max_bytes: self.inner.max_bytes,
        }
    }
}

/// Stands in for the disk tier when the disk could not be used at start: the engine sees a
/// disk tier that is switched off, as after a write failure at run time, and the stats show
/// it so.
pub(crate) struct UnavailableDisk {
    pub(crate) max_bytes: u64,
}

impl Tier for UnavailableDisk {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }

    fn get<'a>(&'a self, _key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>> {
        async { Err(TierError::Disabled("disk")) }.boxed()
    }

    fn write(&self, _ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>> {
        async { Err(TierError::Disabled("disk")) }.boxed()
    }

    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>> {
        async { Ok(PersistedMeta::default()) }.boxed()
    }

    fn maintain(&self, _now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>> {
        async { Ok(MaintenanceReport::default()) }.boxed()
    }

    fn usage(&self) -> TierUsage {
        TierUsage {
            max_bytes: self.max_bytes,
            ..TierUsage::default()
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

/// Allocated bytes of the journal files (`*.jnl` at the top of the store's directory).
fn journal_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jnl"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

/// Allocated bytes of every file under `dir` (`st_blocks` × 512), like `du`.
pub(crate) fn allocated_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => allocated_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn store_sizes_follow_the_limit() {
        let small = StoreSizes::for_limit(256 * MIB, u64::MAX);
        assert_eq!(small.journal, 64 * MIB, "fjall's minimum");
        assert_eq!(small.entries_memtable, 8 * MIB);
        assert_eq!(small.small_memtable, 2 * MIB);
        assert_eq!(small.blob_file, 16 * MIB);
        let big = StoreSizes::for_limit(64 * 1024 * MIB, u64::MAX);
        assert_eq!(big.journal, 512 * MIB, "fjall's default, no more");
        assert_eq!(big.entries_memtable, 64 * MIB);
        assert_eq!(StoreSizes::for_limit(1, u64::MAX).small_memtable, MIB);
        // A memory share smaller than the disk's sizes wins, down to fjall's useful minimum.
        let shared = StoreSizes::for_limit(256 * MIB, 6 * MIB);
        assert_eq!(shared.entries_memtable, 3 * MIB);
        assert_eq!(shared.small_memtable, MIB);
        assert_eq!(StoreSizes::for_limit(256 * MIB, 0).entries_memtable, MIB);
    }

    #[test]
    fn records_get_what_the_files_leave() {
        // Files hold 40 MiB more than the records: the records may take the limit less that.
        assert_eq!(record_budget(256 * MIB, 140 * MIB, 100 * MIB, 0), 216 * MIB);
        // Files smaller than the records' count (journal not yet on disk): the whole limit.
        assert_eq!(record_budget(256 * MIB, 10 * MIB, 100 * MIB, 0), 256 * MIB);
        // A flood of dead space never takes the records below half the limit.
        assert_eq!(record_budget(256 * MIB, 900 * MIB, 100 * MIB, 0), 128 * MIB);
        // Files beside the store come off after that floor, down to an eighth.
        assert_eq!(
            record_budget(256 * MIB, 900 * MIB, 100 * MIB, 64 * MIB),
            64 * MIB
        );
        assert_eq!(
            record_budget(256 * MIB, 10 * MIB, 100 * MIB, 500 * MIB),
            32 * MIB
        );
    }

    #[test]
    fn eviction_keeps_records_within_the_measured_budget() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 4 * MIB).unwrap();
        let body = Bytes::from(vec![7u8; 64 * 1024]);
        let ops = (0..48u64)
            .map(|i| WriteOp::Put {
                key: Key::new(format!("k{i}")),
                record: body.clone(),
                expires_at_ms: 1_000_000 + i,
            })
            .collect();
        tier.write_sync(ops).unwrap();
        // 3 MiB of records, under the 4 MiB limit; the journal holds them too, so the files
        // count no more than the records and nothing is evicted.
        let report = tier.maintain_sync(0).unwrap();
        assert_eq!(report.evicted, 0);
        // Files with 2 MiB of their own beyond the records: the budget is 2 MiB, and a
        // pass evicts down to 90 % of it.
        let usage = tier.usage();
        let budget = record_budget(4 * MIB, usage.bytes + 2 * MIB, usage.bytes, 0);
        tier.inner.record_budget.store(budget, Ordering::Release);
        let report = tier.inner.remove_expired_and_evict(0).unwrap();
        assert!(report.evicted > 0);
        assert!(
            tier.usage().bytes <= budget - budget / 10,
            "{:?}",
            tier.usage()
        );
    }

    #[test]
    fn files_beside_the_store_take_their_share_of_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let beside = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path().join("cache"), 64 * MIB).unwrap();
        tier.maintain_sync(0).unwrap();
        let alone = tier.inner.record_budget.load(Ordering::Acquire);
        assert!(alone > 60 * MIB, "{alone}");
        // 20 MiB of other files in a nested directory (an index's store) beside the cache.
        std::fs::create_dir_all(beside.path().join("store")).unwrap();
        std::fs::write(
            beside.path().join("store").join("table"),
            vec![1u8; 20 * MIB as usize],
        )
        .unwrap();
        tier.count_also(vec![beside.path().to_path_buf()]);
        tier.maintain_sync(0).unwrap();
        let shared = tier.inner.record_budget.load(Ordering::Acquire);
        let files = allocated_bytes(&dir.path().join("cache"));
        let beside = allocated_bytes(beside.path());
        assert_eq!(shared, record_budget(64 * MIB, files, 0, beside));
        assert!(shared <= 44 * MIB, "{shared}");
    }

    #[test]
    fn a_shared_keyspace_counts_beside_the_records_and_outlives_a_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let tier = DiskTier::open(&path, 64 * MIB).unwrap();
        tier.write_sync(vec![WriteOp::Put {
            key: Key::new("k"),
            record: Bytes::from_static(b"record"),
            expires_at_ms: u64::MAX,
        }])
        .unwrap();
        let other = tier
            .shared_keyspace("elements-main", KeyspaceCreateOptions::default)
            .unwrap();
        // 24 MiB the compressor cannot shrink, flushed to tables.
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..24u32 {
            let value: Vec<u8> = (0..MIB)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng as u8
                })
                .collect();
            other.keyspace.insert(i.to_be_bytes(), value).unwrap();
        }
        other.keyspace.rotate_memtable_and_wait().unwrap();
        let on_disk = other.keyspace.disk_space();
        assert!(on_disk >= 24 * MIB, "{on_disk}");
        tier.maintain_sync(0).unwrap();
        let budget = tier.inner.record_budget.load(Ordering::Acquire);
        let files = allocated_bytes(&path);
        let live = tier.usage().bytes;
        assert_eq!(
            budget,
            record_budget(64 * MIB, files - on_disk, live, on_disk),
            "the other store's tables are not the records' overhead but count against the limit"
        );
        assert!(budget <= 40 * MIB, "{budget}");
        // Clearing the cache removes the records, not the other store's data.
        tier.write_sync(vec![WriteOp::RemovePrefix {
            prefix: String::new(),
        }])
        .unwrap();
        assert!(tier.get_sync("k").unwrap().is_none());
        assert!(other.keyspace.get(3u32.to_be_bytes()).unwrap().is_some());
        tier.compact().unwrap();
        assert!(other.keyspace.get(3u32.to_be_bytes()).unwrap().is_some());
        // And it is there again after a restart.
        drop((tier, other));
        let tier = DiskTier::open(&path, 64 * MIB).unwrap();
        let other = tier
            .shared_keyspace("elements-main", KeyspaceCreateOptions::default)
            .unwrap();
        assert_eq!(other.keyspace.len().unwrap(), 24);
        assert!(
            tier.shared_keyspace(&"x".repeat(300), KeyspaceCreateOptions::default)
                .is_err(),
            "a name fjall cannot take is an error, not a panic"
        );
    }
}
