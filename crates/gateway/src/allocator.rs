//! What the process's memory allocator holds, for `/api/stats` and the metrics: how much of the
//! resident memory is live data and how much is the allocator's own slack (pages it keeps
//! partly used, or free pages not yet given back). A leaf: the binary that chose the allocator
//! installs a probe at start ([`install_probe`]); a gateway without one (tests, the glibc build
//! for heap profilers) reports nothing.
//!
//! Why it exists: RSS alone cannot tell a leak from fragmentation, and the fix for each is
//! different (docs/benchmarks.md, "Soak").

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The allocator's own counts, in bytes (jemalloc's `stats.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocatorFigures {
    /// Bytes the program has allocated and not freed: the live heap.
    pub allocated: u64,
    /// Bytes in pages that hold at least one live allocation (`allocated` plus the free space
    /// inside those pages: fragmentation).
    pub active: u64,
    /// Bytes in pages the allocator has touched and not given back: `active`, the allocator's
    /// metadata and free pages waiting to be purged. What the heap adds to RSS.
    pub resident: u64,
    /// The allocator's own bookkeeping.
    pub metadata: u64,
    /// Address space kept mapped but given back to the kernel (not resident).
    pub retained: u64,
}

/// Reads the allocator's figures now, or `None` when it cannot say.
pub type AllocatorProbe = fn() -> Option<AllocatorFigures>;

static PROBE: OnceLock<AllocatorProbe> = OnceLock::new();

/// Installs the process's probe; the first one installed stays (a process has one allocator).
pub fn install_probe(probe: AllocatorProbe) {
    let _ = PROBE.set(probe);
}

/// The allocator's figures now, when a probe is installed and it answers.
pub fn figures() -> Option<AllocatorFigures> {
    PROBE.get().and_then(|probe| probe())
}
