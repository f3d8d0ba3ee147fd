//! How big the disk tier's parts may be: its memory (block cache, memtables), fjall's sizes
//! derived from the byte limit, the records' share of the limit, and the directory's bytes as
//! the device counts them.

use std::path::Path;

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

/// Full compactions (which rewrite the whole store) run at most this often, in milliseconds
/// of the engine's clock: once per maintenance pass.
pub(super) const COMPACT_AT_MOST_EVERY_MS: u64 = 1_000;

/// The smallest byte limit the disk tier keeps its directory within (at 110 %): below it, the
/// journals and memtables fjall needs to work at all (a megabyte each at least) and the space
/// that compaction needs to collect dead blob files leave the records too little: writes far
/// past the limit took a 16 MiB store to 1.08 times its limit, too near the bound to promise,
/// where 24 and 32 MiB stores stayed below theirs
/// (`the_directory_stays_within_the_limit_while_writing_far_past_it`). Applications refuse a
/// smaller setting at start.
pub(super) const SMALLEST_LIMIT: u64 = 32 * MIB;

const MIB: u64 = 1024 * 1024;

/// fjall's sizes, derived from the store's byte limit so that the directory, not only the
/// records, stays within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StoreSizes {
    /// The active journal is sealed once it holds this much (checked whenever a memtable is
    /// flushed); a sealed journal is deleted once every keyspace has flushed what it holds,
    /// and fjall flushes the keyspaces holding one back once sealed journals reach this much.
    pub(super) journal_rotation: u64,
    /// The `entries` keyspace's memtable.
    pub(super) entries_memtable: u64,
    /// The other keyspaces' memtables (small rows: index, expiry, meta).
    pub(super) small_memtable: u64,
    /// Target size of a blob file.
    pub(super) blob_file: u64,
}

impl StoreSizes {
    /// Sizes for a store of `max_bytes` whose memtables may take `memtables` bytes: the
    /// journal is sealed every thirty-second of the limit, the `entries` keyspace's memtable
    /// gets a thirty-second of the limit and at most half of `memtables`, the three small
    /// ones a hundred-and-twenty-eighth and at most a sixth; none less than 1 MiB (below that
    /// fjall flushes tiny tables all the time).
    pub(super) fn for_limit(max_bytes: u64, memtables: u64) -> StoreSizes {
        StoreSizes {
            journal_rotation: (max_bytes / 32).clamp(MIB, 64 * MIB),
            entries_memtable: (max_bytes / 32).min(memtables / 2).clamp(MIB, 64 * MIB),
            small_memtable: (max_bytes / 128).min(memtables / 6).clamp(MIB, 16 * MIB),
            blob_file: (max_bytes / 16).clamp(4 * MIB, 64 * MIB),
        }
    }

    /// What the journals may hold at once: the active one, past its rotation size by what
    /// the writes between two flushes add (an `entries` memtable), and one sealed journal as
    /// large, waiting for the keyspaces to flush it away: an eighth of the limit at most from
    /// [`SMALLEST_LIMIT`] up. The records' budget leaves it out.
    pub(super) fn journal_share(&self) -> u64 {
        2 * (self.journal_rotation + self.entries_memtable)
    }
}

/// What the records may take of `max_bytes`: the limit less the journals' share, less a
/// quarter for what the store's files hold beyond the records (index and expiry rows,
/// tombstones and blob space not collected yet: fjall collects a blob file once a quarter of it
/// is dead), less the files counted beside (another store's tables, the library index's
/// files). Nothing is left for the records when those take the whole limit.
pub(super) fn record_budget(max_bytes: u64, journal_share: u64, beside: u64) -> u64 {
    max_bytes
        .saturating_sub(journal_share)
        .saturating_sub(max_bytes / 4)
        .saturating_sub(beside)
}

/// The most table and blob files the store keeps open at once, for a process whose soft
/// open-file limit is `open_file_limit` (`None`: unlimited). fjall keeps a descriptor of every
/// file it has read from, up to 900 by default: a store of a few hundred tables held them all
/// and, at the common limit of 1,024, left client connections almost nothing. The gateway
/// keeps a reserve outside its listeners for the stores, the admin listener and the runtime (a
/// quarter of the limit, at most 256: `cachearr_wire::connections::default_max_connections`);
/// the store takes a quarter of that reserve, never fewer than 16 (fjall needs ten). A read
/// from a file whose descriptor was let go opens it again, a system call, not a failure.
pub(super) fn open_files_cap(open_file_limit: Option<u64>) -> usize {
    let reserve = open_file_limit.map_or(256, |limit| (limit / 4).min(256));
    usize::try_from(reserve / 4).unwrap_or(64).max(16)
}

/// The soft open-file limit of this process now (`None` when unlimited).
pub(super) fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Descriptors this process holds open on files under `dir` (on Linux, from `/proc/self/fd`;
/// `None` where that cannot be read).
pub(super) fn open_files_under(dir: &Path) -> Option<u64> {
    let fds = std::fs::read_dir("/proc/self/fd").ok()?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Some(
        fds.flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|target| target.starts_with(&dir))
            .count() as u64,
    )
}

/// Allocated bytes of the journal files (`*.jnl` at the top of the store's directory).
pub(super) fn journal_bytes(dir: &Path) -> u64 {
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
