//! Storing (memory at once, the lower tiers behind) and reading below memory: disk first,
//! then Redis; decoding records and promoting them to memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use moka::ops::compute::Op;

use super::{Counted, Inner};
use crate::codec::{self, DecodeError};
use crate::entry::Entry;
use crate::key::Key;
use crate::stats::bump;
use crate::tags::TagStamp;
use crate::tally::WARN_EVERY_MS;
use crate::tier::{TierKind, WriteOp};
use crate::write_behind::{Dest, WriteBehind};

impl Inner {
    /// Puts an entry in memory now and queues it for disk and Redis.
    pub(super) async fn store(&self, key: &Key, entry: Arc<Entry>) {
        self.store_to(key, entry, Dest::All).await;
    }

    /// Puts an entry in memory now and queues it for the lower tiers `dest` names, waiting a
    /// moment (`put_wait`) for room when the queue is full (`WriteBehind::put_or_wait`).
    pub(super) async fn store_to(&self, key: &Key, entry: Arc<Entry>, dest: Dest) {
        self.memory.insert(key.clone(), entry.clone()).await;
        if let Some(wb) = self.write_behind_for(dest) {
            let weight = entry.weight(key.as_str().len());
            if !wb
                .put_or_wait(key.clone(), entry, dest, self.put_wait)
                .await
            {
                self.note_dropped_put(wb, dest, weight);
            }
        }
    }

    /// Queues an entry for the lower tiers (the memory tier has it already), dropping it when
    /// the queue is full: a copy promoted from Redis, which Redis still holds.
    pub(super) fn queue_put(&self, key: &Key, entry: Arc<Entry>, dest: Dest) {
        if let Some(wb) = self.write_behind_for(dest) {
            let weight = entry.weight(key.as_str().len());
            if !wb.put(key.clone(), entry, dest) {
                self.note_dropped_put(wb, dest, weight);
            }
        }
    }

    /// The write-behind queue, when a lower tier `dest` names is there to write to.
    fn write_behind_for(&self, dest: Dest) -> Option<&WriteBehind> {
        let disk_on = self.disk.is_some() && self.disk_counters.enabled.load(Ordering::Relaxed);
        let wanted = disk_on || (dest == Dest::All && self.redis.is_some());
        self.write_behind.as_deref().filter(|_| wanted)
    }

    /// Counts a put the queue dropped and warns (at most every 10 s, with the count since).
    fn note_dropped_put(&self, wb: &WriteBehind, dest: Dest, weight: u64) {
        bump(&self.disk_counters.dropped_writes);
        if let Some(redis) = &self.redis
            && dest == Dest::All
        {
            redis.count_dropped_write();
        }
        if let Some(n) = wb.dropped_tally.note(self.clock.now_ms(), 1, WARN_EVERY_MS) {
            tracing::warn!(
                dropped = n,
                weight,
                queued = wb.queued(),
                queued_bytes = wb.queued_bytes(),
                max_bytes = wb.max_bytes(),
                "write-behind queue full: {n} writes to the lower tiers dropped since the \
                 last warning (the entries stay in memory; the lower tiers drop their older records)"
            );
        }
    }

    /// Looks `key` up below memory: disk first, then Redis. A usable entry is promoted to
    /// memory; one found in Redis is also written behind to disk, so the next restart or
    /// memory eviction finds it locally.
    pub(super) async fn lower_lookup(
        &self,
        key: &Key,
        now: u64,
        counted: Counted,
    ) -> Option<(Arc<Entry>, TierKind)> {
        if self
            .write_behind
            .as_ref()
            .is_some_and(|wb| wb.is_pending(key))
        {
            // What the lower tiers hold for `key` predates the put still queued; that put's
            // entry left memory (evicted, or invalidated since), so nothing usable is there.
            if counted == Counted::Yes
                && self.disk.is_some()
                && self.disk_counters.enabled.load(Ordering::Relaxed)
            {
                bump(&self.disk_counters.misses);
            }
            return None;
        }
        if let Some(entry) = self.disk_lookup(key, now, counted).await {
            let kind = self.disk.as_ref().map_or(TierKind::Disk, |d| d.kind());
            return Some((entry, kind));
        }
        let redis = self.redis.as_ref()?;
        // A local sequence number taken before the read: a clear that reaches this instance
        // while the read is on the wire has a higher number and so kills what it returns.
        let seq = self.inval.next_seq();
        let raw = redis.get_record(key).await?;
        let entry = self.decode_lower(key, &raw, now, Some(seq), TierKind::Redis)?;
        self.promote(key, &entry).await;
        self.queue_put(key, entry.clone(), Dest::DiskOnly);
        Some((entry, TierKind::Redis))
    }

    /// Another instance's copy of `key` in Redis when it is fresher than the one memory holds
    /// past its windows (`policy`'s fresh one): what sparing a server request takes when
    /// several instances share a short-lived answer (an answer fresh for 10 s, asked of each
    /// of three instances in turn every 5 s, is loaded by each in turn otherwise: its own
    /// expired copy hides the one another instance loaded since). The disk tier is not
    /// asked: what it holds of `key` is this instance's own, as old as memory's.
    pub(super) async fn fresher_shared(
        &self,
        key: &Key,
        now: u64,
        policy: &crate::policy::Policy,
    ) -> Option<Arc<Entry>> {
        let redis = self.redis.as_ref()?;
        if self
            .write_behind
            .as_ref()
            .is_some_and(|wb| wb.is_pending(key))
        {
            return None;
        }
        let seq = self.inval.next_seq();
        let raw = redis.get_record(key).await?;
        let entry = self.decode_lower(key, &raw, now, Some(seq), TierKind::Redis)?;
        if now >= policy.fresh_until_ms(&entry) {
            return None;
        }
        self.promote(key, &entry).await;
        self.queue_put(key, entry.clone(), Dest::DiskOnly);
        Some(entry)
    }

    /// Decodes a record read from a lower tier into an entry, if it may still be served.
    /// `seq` replaces the record's own sequence number (records from Redis were numbered by
    /// another instance).
    pub(super) fn decode_lower(
        &self,
        key: &Key,
        raw: &Bytes,
        now: u64,
        seq: Option<u64>,
        tier: TierKind,
    ) -> Option<Arc<Entry>> {
        let record = match codec::decode(raw) {
            Ok(r) => r,
            Err(e) => {
                if tier == TierKind::Redis {
                    tracing::debug!(key = %key, "undecodable redis record ignored");
                    return None;
                }
                match e {
                    DecodeError::Corrupt(why) => {
                        bump(&self.disk_counters.corrupt);
                        tracing::warn!(key = %key, why, "corrupt disk cache record removed");
                    }
                    DecodeError::OtherVersion(v) => {
                        tracing::debug!(key = %key, version = v, "old-format record discarded");
                    }
                }
                if let Some(wb) = &self.write_behind {
                    wb.side_op(
                        self.inval.next_seq(),
                        WriteOp::Remove { key: key.clone() },
                        Dest::DiskOnly,
                    );
                }
                return None;
            }
        };
        if now >= record.expires_at_ms() {
            return None;
        }
        let h = &record.header;
        let class_name: Arc<str> = h.class.as_str().into();
        let entry = Arc::new(Entry {
            value: record.value(),
            stored_at_ms: h.stored_at_ms,
            fresh_until_ms: h.fresh_until_ms,
            stale_until_ms: h.stale_until_ms,
            error_until_ms: h.error_until_ms,
            negative: h.negative,
            seq: seq.unwrap_or(h.seq),
            tags: h
                .tags
                .iter()
                .map(|(name, generation)| TagStamp {
                    cell: self.inval.tag(name),
                    generation: *generation,
                })
                .collect(),
            class: self.classes.get(&class_name),
            reads: AtomicU32::new(0),
            warm_scheduled: std::sync::atomic::AtomicBool::new(false),
        });
        if !self.inval.is_valid(key, &entry) {
            return None;
        }
        Some(entry)
    }

    /// Puts an entry read from a lower tier into memory, unless a newer entry reached memory
    /// while we read.
    pub(super) async fn promote(&self, key: &Key, entry: &Arc<Entry>) {
        let promoted = entry.clone();
        self.memory
            .entry_by_ref(key)
            .and_compute_with(|current| {
                std::future::ready(match current {
                    Some(c) if c.value().seq >= promoted.seq => Op::Nop,
                    _ => Op::Put(promoted),
                })
            })
            .await;
    }

    /// Reads and decodes `key` from the disk tier; promotes a usable entry to memory.
    pub(super) async fn disk_lookup(
        &self,
        key: &Key,
        now: u64,
        counted: Counted,
    ) -> Option<Arc<Entry>> {
        let disk = self.disk.as_ref()?;
        if !self.disk_counters.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let miss = || {
            if counted == Counted::Yes {
                bump(&self.disk_counters.misses);
            }
        };
        let raw = match disk.get(key).await {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                miss();
                return None;
            }
            Err(e) => {
                bump(&self.disk_counters.errors);
                tracing::warn!(error = %crate::Chain(&e), "disk tier read failed; treating as a miss");
                return None;
            }
        };
        let Some(entry) = self.decode_lower(key, &raw, now, None, TierKind::Disk) else {
            // Corrupt, expired or invalidated: unusable, so a miss.
            miss();
            return None;
        };
        if counted == Counted::Yes {
            bump(&self.disk_counters.hits);
        }
        self.promote(key, &entry).await;
        Some(entry)
    }

    /// Drops `entry` from memory if it is still the one stored under `key` (a concurrent
    /// load may have replaced it with a valid one).
    pub(super) async fn forget_if_same(&self, key: &Key, entry: &Arc<Entry>) {
        self.memory
            .entry_by_ref(key)
            .and_compute_with(|current| {
                std::future::ready(match current {
                    Some(c) if Arc::ptr_eq(c.value(), entry) => Op::Remove,
                    _ => Op::Nop,
                })
            })
            .await;
    }
}
