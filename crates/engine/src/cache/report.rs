//! Statistics: counters per class and tier, and per-class sizes and ages from a walk of the
//! memory tier.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Inner;
use crate::locks::LockUnpoisoned;
use crate::stats::{ClassStats, QueueStats, StatsSnapshot, TierStats, load};
use crate::tier::TierKind;

impl Inner {
    pub(super) fn stats(&self) -> StatsSnapshot {
        let now = self.clock.now_ms();
        let mut per_class: HashMap<Arc<str>, (u64, u64, u64, u64)> = HashMap::new();
        for (k, e) in self.memory.iter() {
            if !self.inval.is_valid(&k, &e) || now >= e.expires_at_ms() {
                continue;
            }
            let s = per_class
                .entry(e.class.name.clone())
                .or_insert((0, 0, u64::MAX, 0));
            s.0 += 1;
            s.1 += e.memory_weight(k.as_str().len(), self.held_beside.as_ref());
            s.2 = s.2.min(e.stored_at_ms);
            s.3 = s.3.max(e.stored_at_ms);
        }
        let mut classes: Vec<ClassStats> = self
            .classes
            .all()
            .iter()
            .map(|c| {
                let mut s = c.snapshot();
                if let Some(&(n, bytes, oldest, newest)) = per_class.get(&c.name) {
                    s.entries = n;
                    s.bytes = bytes;
                    s.oldest_age_ms = Some(now.saturating_sub(oldest));
                    s.newest_age_ms = Some(now.saturating_sub(newest));
                }
                s
            })
            .collect();
        classes.sort_by(|a, b| a.class.cmp(&b.class));
        let refreshes_in_progress = classes.iter().map(|c| c.refreshes_in_progress).sum();
        let mc = &self.memory_counters;
        let mut tiers = vec![TierStats {
            tier: TierKind::Memory,
            enabled: true,
            hits: classes.iter().map(|c| c.hits_memory).sum(),
            misses: load(&mc.misses),
            errors: 0,
            corrupt: 0,
            evictions: load(&mc.evictions),
            expired_swept: 0,
            writes: 0,
            dropped_writes: 0,
            entries: self.memory.entry_count(),
            bytes: self.memory.weighted_size(),
            file_bytes: None,
            max_bytes: self.plan.memory_tier,
            memory_bytes: None,
            open_files: None,
            open_files_max: None,
        }];
        if let Some(disk) = &self.disk {
            let dc = &self.disk_counters;
            let usage = disk.usage();
            tiers.push(TierStats {
                tier: disk.kind(),
                enabled: dc.enabled.load(Ordering::Relaxed),
                hits: load(&dc.hits),
                misses: load(&dc.misses),
                errors: load(&dc.errors),
                corrupt: load(&dc.corrupt),
                evictions: load(&dc.evictions),
                expired_swept: load(&dc.expired_swept),
                writes: load(&dc.writes),
                dropped_writes: load(&dc.dropped_writes),
                entries: usage.entries,
                bytes: usage.bytes,
                file_bytes: usage.file_bytes,
                max_bytes: usage.max_bytes,
                memory_bytes: (self.plan.disk_block_cache > 0)
                    .then_some(self.plan.disk_block_cache),
                open_files: usage.open_files,
                open_files_max: usage.open_files_max,
            });
        }
        if let Some(redis) = &self.redis {
            tiers.push(redis.tier_stats());
        }
        let write_behind = self
            .write_behind
            .as_ref()
            .map(|wb| QueueStats {
                capacity: wb.capacity as u64,
                queued: wb.queued(),
                queued_bytes: wb.queued_bytes(),
                max_bytes: wb.max_bytes(),
                dropped: load(&wb.dropped),
                batches: load(&wb.batches),
            })
            .unwrap_or_default();
        StatsSnapshot {
            classes,
            tiers,
            write_behind,
            refreshes_in_progress,
            tags_interned: self.inval.tag_count() as u64,
            warnings: self.warnings.lock_unpoisoned().clone(),
        }
    }
}
