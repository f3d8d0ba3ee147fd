//! Clears: everything, or every key under a prefix, at once (a recorded drop that reads
//! check), with space reclaimed behind; and [`LocalCache`], what the shared tier may change
//! here when another instance announces a bump or a clear.

use std::sync::Arc;

use moka::ops::compute::Op;

use super::Inner;
use crate::key::Key;
use crate::locks::LockUnpoisoned;
use crate::redis::LocalCache;
use crate::tier::WriteOp;
use crate::write_behind::Dest;

impl Inner {
    /// Clear-all on this instance's memory and disk (and Redis with [`Dest::All`]).
    pub(super) fn clear_all_local(&self, dest: Dest) {
        let inner = self;
        let drop = inner.inval.drop_prefix("", inner.clock.now_ms());
        inner.memory.invalidate_all();
        inner.warm_queue.lock_unpoisoned().clear();
        if let Some(wb) = &inner.write_behind {
            wb.side_op(
                drop.seq,
                WriteOp::RemovePrefix {
                    prefix: String::new(),
                },
                dest,
            );
        }
    }

    /// A prefix drop on this instance's memory and disk (and Redis with [`Dest::All`]).
    pub(super) fn clear_prefix_local(self: &Arc<Self>, prefix: &str, dest: Dest) {
        let inner = self;
        let drop = inner.inval.drop_prefix(prefix, inner.clock.now_ms());
        if let Some(wb) = &inner.write_behind {
            wb.side_op(
                drop.seq,
                WriteOp::RemovePrefix {
                    prefix: prefix.to_owned(),
                },
                dest,
            );
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(inner);
            let prefix = prefix.to_owned();
            handle.spawn(async move {
                let Some(inner) = weak.upgrade() else { return };
                let doomed: Vec<Key> = inner
                    .memory
                    .iter()
                    .filter(|(k, e)| e.seq < drop.seq && k.as_str().starts_with(&prefix))
                    .map(|(k, _)| (*k).clone())
                    .collect();
                for k in doomed {
                    // Only if still the dropped entry: one stored since the drop must stay.
                    inner
                        .memory
                        .entry_by_ref(&k)
                        .and_compute_with(|current| {
                            let op = match current {
                                Some(e) if e.value().seq < drop.seq => Op::Remove,
                                _ => Op::Nop,
                            };
                            std::future::ready(op)
                        })
                        .await;
                }
            });
        }
    }
}

impl LocalCache for Inner {
    fn tag_generation(&self, tag: &str) -> u64 {
        self.inval.stamps(&[Arc::from(tag)])[0].generation
    }

    fn raise_tag(&self, tag: &str, generation: u64) {
        self.inval.raise_tag(tag, generation);
    }

    fn tag_generations(&self) -> Vec<(String, u64)> {
        self.inval.snapshot().tags
    }

    fn apply_clear(self: Arc<Self>, prefix: &str) {
        // Redis has the clear already (its announcer removed the records there).
        if prefix.is_empty() {
            self.clear_all_local(Dest::DiskOnly);
        } else {
            self.clear_prefix_local(prefix, Dest::DiskOnly);
        }
    }
}
