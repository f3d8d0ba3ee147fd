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

/// Full compactions (which rewrite the whole store) run at most this often.
pub(super) const COMPACT_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// fjall's sizes, derived from the store's byte limit so that the directory, not only the
/// records, stays near it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StoreSizes {
    /// All journals together (fjall's minimum is 64 MiB).
    pub(super) journal: u64,
    /// The `entries` keyspace's memtable.
    pub(super) entries_memtable: u64,
    /// The other keyspaces' memtables (small rows: index, expiry, meta).
    pub(super) small_memtable: u64,
    /// Target size of a blob file.
    pub(super) blob_file: u64,
}

impl StoreSizes {
    /// Sizes for a store of `max_bytes` whose memtables may take `memtables` bytes: the
    /// `entries` keyspace gets half of that, the three small ones a sixth each, and none less
    /// than 1 MiB (below that fjall flushes tiny tables all the time).
    pub(super) fn for_limit(max_bytes: u64, memtables: u64) -> StoreSizes {
        const MIB: u64 = 1024 * 1024;
        StoreSizes {
            journal: (max_bytes / 8).clamp(64 * MIB, 512 * MIB),
            entries_memtable: (max_bytes / 32).min(memtables / 2).clamp(MIB, 64 * MIB),
            small_memtable: (max_bytes / 128).min(memtables / 6).clamp(MIB, 16 * MIB),
            blob_file: (max_bytes / 16).clamp(4 * MIB, 64 * MIB),
        }
    }
}

/// What the records may take of `max_bytes` when the store's files take `files` bytes while
/// its records count `live`, and other files counted against the same limit take `beside`:
/// the limit less the files' overhead (journal, memtables, dead space), but never below half
/// the limit, so a burst of dead space waiting for compaction does not empty the store; then
/// less the files beside, which are data of their own, down to an eighth of the limit.
pub(super) fn record_budget(max_bytes: u64, files: u64, live: u64, beside: u64) -> u64 {
    let overhead = files.saturating_sub(live);
    max_bytes
        .saturating_sub(overhead)
        .max(max_bytes / 2)
        .saturating_sub(beside)
        .max(max_bytes / 8)
        .max(1)
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
