//! Warming: an entry read twice gets a refresh queued at 80 % of its fresh TTL, run by
//! housekeeping within the refresh budget; housekeeping also runs moka's maintenance and
//! prunes old drop records.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Inner, WARM_QUEUE_SLACK};
use crate::entry::Entry;
use crate::key::{Key, KeyHashBuilder};
use crate::loader::{LoadContext, Loader};
use crate::locks::LockUnpoisoned;
use crate::policy::Policy;

pub(super) struct WarmJob {
    pub(super) key: Key,
    pub(super) policy: Policy,
    pub(super) loader: Arc<dyn Loader>,
    pub(super) entry_seq: u64,
}

impl Inner {
    /// Counts a read for warming; schedules a refresh at 80 % of the fresh TTL once an entry
    /// has been read twice (the only read that makes a loader).
    #[inline]
    pub(super) fn note_read(
        &self,
        key: &Key,
        policy: &Policy,
        make_loader: impl FnOnce() -> Arc<dyn Loader>,
        entry: &Entry,
    ) {
        // Once the warming is scheduled the count decides nothing more: a hot entry's reads
        // stop writing to it, so its cache line is no longer moved between cores on each hit.
        if entry.warm_scheduled.load(Ordering::Relaxed) {
            return;
        }
        let reads = entry.reads.fetch_add(1, Ordering::Relaxed) + 1;
        if reads >= 2 && !entry.warm_scheduled.swap(true, Ordering::AcqRel) {
            self.schedule_warm(key, policy, &make_loader(), entry);
        }
    }

    #[cold]
    pub(super) fn schedule_warm(
        &self,
        key: &Key,
        policy: &Policy,
        loader: &Arc<dyn Loader>,
        entry: &Entry,
    ) {
        let fresh = entry.fresh_until_ms.saturating_sub(entry.stored_at_ms);
        if fresh == 0 || entry.negative || self.shut_down.load(Ordering::Acquire) {
            return;
        }
        let due = entry.stored_at_ms + fresh * 4 / 5;
        let n = self.warm_seq.fetch_add(1, Ordering::Relaxed);
        self.warm_queue.lock_unpoisoned().insert(
            (due, n),
            WarmJob {
                key: key.clone(),
                policy: policy.clone(),
                // The job may wait most of a TTL: keep a loader that holds only its own
                // bytes, not the request's buffers.
                loader: loader.kept().unwrap_or_else(|| loader.clone()),
                entry_seq: entry.seq,
            },
        );
    }

    /// Drops warming jobs whose entry has left memory (evicted, invalidated, cleared) and
    /// all but the newest job of each key, once the queue holds more jobs than memory holds
    /// entries: without this the queue kept a job (and its loader) for every entry ever read
    /// twice until the job came due, most of a TTL later.
    pub(super) fn sweep_warm_queue(&self) {
        let entries = self.memory.entry_count();
        let mut q = self.warm_queue.lock_unpoisoned();
        if (q.len() as u64) <= entries.saturating_add(WARM_QUEUE_SLACK) {
            return;
        }
        let mut newest: HashMap<Key, (u64, u64), KeyHashBuilder> =
            HashMap::with_hasher(KeyHashBuilder);
        for (at, job) in q.iter() {
            if self.memory.contains_key(&job.key) {
                let slot = newest.entry(job.key.clone()).or_insert(*at);
                if at.1 > slot.1 {
                    *slot = *at;
                }
            }
        }
        q.retain(|at, job| newest.get(&job.key) == Some(at));
    }

    pub(super) async fn housekeeping(self: &Arc<Self>) {
        self.memory.run_pending_tasks().await;
        let now = self.clock.now_ms();
        self.inval.prune(now);
        // Walking every interned tag takes the tag map's write lock: once a minute is enough.
        if self
            .housekeeping_passes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(120)
        {
            self.inval.forget_unused_tags(now);
        }
        self.sweep_warm_queue();
        self.run_warmer(now).await;
    }

    /// Starts the warming refreshes that are due, as far as the budget allows.
    pub(super) async fn run_warmer(self: &Arc<Self>, now: u64) {
        loop {
            let job = {
                let mut q = self.warm_queue.lock_unpoisoned();
                match q.first_key_value() {
                    Some((&(due, _), _)) if due <= now => q.pop_first(),
                    _ => None,
                }
            };
            let Some(((due, n), job)) = job else { return };
            let Some(current) = self.memory.get(&job.key).await else {
                continue;
            };
            if current.seq != job.entry_seq
                || now >= current.fresh_until_ms
                || !self.inval.is_valid(&job.key, &current)
            {
                continue;
            }
            let Some(permit) = self.budget.try_take(&*self.clock) else {
                // Out of budget: put it back and try on the next pass.
                self.warm_queue.lock_unpoisoned().insert((due, n), job);
                return;
            };
            self.join_flight(
                &job.key,
                &job.policy,
                job.loader,
                Some(current),
                LoadContext::Warm,
                Some(permit),
            );
        }
    }
}
