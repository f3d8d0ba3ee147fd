//! The write-behind target: batches go to disk and Redis side by side, the invalidation
//! state and sequence numbers are persisted with them, and a disk that fails a write is
//! switched off.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Inner;
use crate::entry::Entry;
use crate::key::Key;
use crate::locks::LockUnpoisoned;
use crate::stats::bump;
use crate::tags::{InvalidationState, InvalidationStateV1, TagChanges};
use crate::tier::WriteOp;
use crate::write_behind::{self, WriteBehind, WriteTarget};

/// Version byte in front of the persisted invalidation state.
const INVALIDATION_FORMAT: u8 = 2;
/// The format before forgotten tags had a generation floor; still read.
const INVALIDATION_FORMAT_V1: u8 = 1;

pub(crate) fn encode_invalidation(state: &InvalidationState) -> Bytes {
    let mut out = vec![INVALIDATION_FORMAT];
    out.extend(postcard::to_allocvec(state).unwrap_or_default());
    Bytes::from(out)
}

pub(crate) fn decode_invalidation(raw: &[u8]) -> Option<InvalidationState> {
    match raw.split_first() {
        Some((&INVALIDATION_FORMAT, rest)) => postcard::from_bytes(rest).ok(),
        Some((&INVALIDATION_FORMAT_V1, rest)) => postcard::from_bytes::<InvalidationStateV1>(rest)
            .ok()
            .map(InvalidationState::from),
        _ => None,
    }
}

impl WriteTarget for Inner {
    fn write_behind(&self) -> Option<&Arc<WriteBehind>> {
        self.write_behind.as_ref()
    }

    fn still_valid(&self, key: &Key, entry: &Entry) -> bool {
        self.inval.is_valid(key, entry)
    }

    fn invalidation_if_changed(&self, since: u64) -> Option<(u64, Vec<WriteOp>)> {
        let version = self.inval.version.load(Ordering::Acquire);
        if version == since {
            return None;
        }
        // Tag rows first: a state written after them never names a tag they lack.
        let TagChanges { set, forget } = self.inval.take_tag_changes();
        let mut ops = Vec::with_capacity(2);
        if !set.is_empty() || !forget.is_empty() {
            ops.push(WriteOp::SetTagGenerations { set, forget });
        }
        ops.push(WriteOp::SetInvalidationState {
            state: encode_invalidation(&self.inval.snapshot_head()),
        });
        Some((version, ops))
    }

    fn write_batch(&self, ops: Vec<WriteOp>, shared: Vec<WriteOp>) -> BoxFuture<'_, ()> {
        async move {
            // Disk and Redis are written side by side; a slow Redis does not hold the disk.
            let shared_write = async {
                if let Some(redis) = &self.redis
                    && !shared.is_empty()
                {
                    redis.write_ops(shared).await;
                }
            };
            futures_util::join!(self.write_disk(ops), shared_write);
        }
        .boxed()
    }

    fn maintain(&self) -> BoxFuture<'_, ()> {
        async move {
            let Some(disk) = &self.disk else { return };
            if !self.disk_counters.enabled.load(Ordering::Relaxed) {
                return;
            }
            match disk.maintain(self.clock.now_ms()).await {
                Ok(report) => {
                    self.disk_counters
                        .expired_swept
                        .fetch_add(report.expired, Ordering::Relaxed);
                    self.disk_counters
                        .evictions
                        .fetch_add(report.evicted, Ordering::Relaxed);
                }
                Err(e) => {
                    bump(&self.disk_counters.errors);
                    self.disable_disk(&e.to_string());
                }
            }
        }
        .boxed()
    }
}

impl Inner {
    /// Writes a batch to the disk tier, switching it off on failure.
    pub(super) async fn write_disk(&self, mut ops: Vec<WriteOp>) {
        let Some(disk) = &self.disk else { return };
        if !self.disk_counters.enabled.load(Ordering::Relaxed) {
            return;
        }
        let next_seq = self.inval.snapshot_next_seq();
        if self.persisted_seq.load(Ordering::Relaxed) != next_seq {
            ops.push(WriteOp::SetNextSeq { next_seq });
        }
        let puts = ops
            .iter()
            .filter(|op| matches!(op, WriteOp::Put { .. }))
            .count();
        match disk.write(ops).await {
            Ok(()) => {
                self.persisted_seq.store(next_seq, Ordering::Relaxed);
                // Puts the directory's limit kept off the disk count as dropped writes, like
                // those a full queue drops (one batch is written at a time, so these are this
                // batch's).
                let refused = disk.take_refused_puts();
                let refused_here = usize::try_from(refused).unwrap_or(puts).min(puts);
                write_behind::count(&self.disk_counters.writes, puts - refused_here);
                write_behind::count(&self.disk_counters.dropped_writes, refused_here);
            }
            Err(e) => {
                bump(&self.disk_counters.errors);
                self.disable_disk(&e.to_string());
            }
        }
    }

    pub(super) fn disable_disk(&self, why: &str) {
        if self.disk_counters.enabled.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                error = why,
                "disk cache tier switched off after a write failure; continuing from memory"
            );
            self.warnings.lock_unpoisoned().push(format!(
                "disk cache switched off after a write failure ({why}): entries live in \
                     memory only until a restart"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalidation_state_written_before_the_generation_floor_still_reads() {
        let state = InvalidationState {
            tags: vec![("item:1".into(), 4)],
            drops: Vec::new(),
            next_seq: 99,
            max_life_ms: 60_000,
            generation_floor: 0,
        };
        let current = encode_invalidation(&state);
        assert_eq!(decode_invalidation(&current), Some(state.clone()));
        // The earlier format: the same fields without the floor (a zero varint at the end).
        let mut v1 = current.to_vec();
        v1[0] = INVALIDATION_FORMAT_V1;
        assert_eq!(v1.pop(), Some(0));
        assert_eq!(decode_invalidation(&v1), Some(state));
        assert_eq!(decode_invalidation(&[7, 0]), None);
    }
}
