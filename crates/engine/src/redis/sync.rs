//! Sharing invalidations: tag bumps (`HINCRBY` on `{ns}:gens` + broadcast) and clears
//! (numbered, logged, broadcast; a clear-all moves the epoch), and the full resync that puts
//! things right after missed broadcasts, an outage or a Redis that lost its counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::Value;

use super::{LocalCache, RedisTier, spawn};
use crate::locks::LockUnpoisoned;
use crate::tags::Invalidation;

/// Name of the pseudo-tag that carries the newest shared clear number applied locally, so it
/// is persisted with the disk tier's invalidation state.
pub(super) const CLEAR_MARK: &str = "\u{0}redis-clears";
/// How many clears the shared log keeps.
const CLEAR_LOG: i64 = 1000;

/// `HINCRBY` a tag, make sure the result is at least the local generation, bump the change
/// counter and announce it. KEYS: gens, ver. ARGV: tag, local generation, channel, origin.
const BUMP_TAG: &str = "local g = redis.call('HINCRBY', KEYS[1], ARGV[1], 1) \
  local want = tonumber(ARGV[2]) \
  if want > g then redis.call('HSET', KEYS[1], ARGV[1], want) g = want end \
  redis.call('INCR', KEYS[2]) \
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' t ' .. g .. ' ' .. ARGV[1]) \
  return g";

/// Numbers a clear, logs it, moves the epoch for a clear-all, bumps the change counter and
/// announces it. KEYS: clearseq, clears, epoch, ver. ARGV: prefix, channel, origin.
/// Returns {seq, epoch}.
const CLEAR: &str = "local s = redis.call('INCR', KEYS[1]) \
  redis.call('ZADD', KEYS[2], s, s .. ' ' .. ARGV[1]) \
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1001) \
  local e \
  if ARGV[1] == '' then e = redis.call('INCR', KEYS[3]) \
  else e = tonumber(redis.call('GET', KEYS[3]) or '0') end \
  redis.call('INCR', KEYS[4]) \
  redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' c ' .. s .. ' ' .. e .. ' ' .. ARGV[1]) \
  return {s, e}";

/// Raises each `(tag, generation)` pair in hash `KEYS[1]` to at least the given generation;
/// if any was raised, bumps the change counter `KEYS[2]` so that every other instance's poll
/// notices and resyncs (a raise nobody hears of would let them serve what it killed).
const MERGE_GENERATIONS: &str = "local raised = 0 \
  for i = 1, #ARGV, 2 do \
    local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') \
    if tonumber(ARGV[i + 1]) > cur then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) raised = 1 end \
  end \
  if raised == 1 then redis.call('INCR', KEYS[2]) end return raised";

/// Raises the clear counter `KEYS[1]` and the epoch `KEYS[2]` to at least `ARGV[1]` and
/// `ARGV[2]`; if either was raised, bumps the change counter `KEYS[3]`. After Redis lost
/// them (restarted empty, or a failover lost the last writes), the next clear would
/// otherwise get a number every instance has seen already and be ignored, and a clear-all
/// would move the epoch back onto records written before an older clear.
const RAISE_COUNTERS: &str = "local raised = 0 \
  if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], ARGV[1]) raised = 1 end \
  if tonumber(ARGV[2]) > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], ARGV[2]) raised = 1 end \
  if raised == 1 then redis.call('INCR', KEYS[3]) end return raised";

impl RedisTier {
    /// Reads what every instance shared before this one starts: the epoch, tag generations
    /// and clears, applied to the restored invalidation state (so disk records that an
    /// invalidation elsewhere killed while this instance was down are not served).
    pub(crate) async fn initial_sync(&self, inval: &Invalidation) {
        let Some(snap) = self.read_shared().await else {
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            return;
        };
        for (tag, g) in &snap.gens {
            inval.raise_tag(tag, *g);
        }
        self.s.epoch.store(snap.epoch, Ordering::Release);
        self.s.ver_seen.store(snap.ver, Ordering::Release);
        let applied = inval
            .snapshot()
            .tags
            .iter()
            .find(|(t, _)| t == CLEAR_MARK)
            .map_or(0, |(_, g)| *g);
        let now = self.s.clock.now_ms();
        let mut newest = applied;
        for (seq, prefix) in &snap.clears {
            if *seq > applied {
                inval.drop_prefix(prefix, now);
                newest = newest.max(*seq);
            }
        }
        self.note_clears(&snap.clears, snap.clearseq.max(newest));
        inval.raise_tag(CLEAR_MARK, newest.max(snap.clearseq));
        self.s.c.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn note_clears(&self, clears: &[(u64, String)], seen: u64) {
        let mut recent = self.s.recent_clears.lock_unpoisoned();
        for c in clears {
            if !recent.iter().any(|(s, _)| *s == c.0) {
                recent.push(c.clone());
            }
        }
        recent.sort_by_key(|(s, _)| *s);
        let excess = recent.len().saturating_sub(CLEAR_LOG as usize);
        recent.drain(..excess);
        self.s.clears_seen.fetch_max(seen, Ordering::AcqRel);
    }

    async fn read_shared(&self) -> Option<SharedSnapshot> {
        // The change counter first: anything changed after it is read again next time.
        let ver: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("ver")))
            .await?;
        let gens: HashMap<String, u64> = self
            .query("hgetall", redis::cmd("HGETALL").arg(self.meta("gens")))
            .await?;
        let epoch: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("epoch")))
            .await?;
        let clearseq: Option<u64> = self
            .query("get", redis::cmd("GET").arg(self.meta("clearseq")))
            .await?;
        let raw: Vec<String> = self
            .query(
                "zrange",
                redis::cmd("ZRANGE").arg(self.meta("clears")).arg(0).arg(-1),
            )
            .await?;
        let clears = raw
            .iter()
            .filter_map(|m| {
                let (seq, prefix) = m.split_once(' ')?;
                Some((seq.parse().ok()?, prefix.to_owned()))
            })
            .collect();
        Some(SharedSnapshot {
            ver: ver.unwrap_or(0),
            gens,
            epoch: epoch.unwrap_or(0),
            clearseq: clearseq.unwrap_or(0),
            clears,
        })
    }

    /// Full resync on a running cache: sends invalidations made while Redis was away, then
    /// raises generations, applies missed clears and learns the epoch.
    pub(super) async fn resync(&self, local: &Arc<dyn LocalCache>) -> bool {
        self.flush_pending(local).await;
        if self.has_pending() {
            // Redis answers but the breaker still skips it (it reopened moments ago): the
            // invalidations made during the outage are not shared yet, so this resync is not
            // done; the next poll tries again.
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            return false;
        }
        let Some(snap) = self.read_shared().await else {
            return false;
        };
        for (tag, g) in &snap.gens {
            local.raise_tag(tag, *g);
        }
        // Generations this instance holds above Redis's (Redis restarted empty, or lost
        // writes) go back up, so records written from here and from others stay comparable.
        let behind: Vec<(String, u64)> = local
            .tag_generations()
            .into_iter()
            .filter(|(t, g)| t != CLEAR_MARK && snap.gens.get(t).is_none_or(|s| s < g))
            .collect();
        if !behind.is_empty() {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(MERGE_GENERATIONS)
                .arg(2)
                .arg(self.meta("gens"))
                .arg(self.meta("ver"));
            for (tag, g) in &behind {
                cmd.arg(tag).arg(*g);
            }
            let _: Option<Value> = self.query("merge", &cmd).await;
        }
        self.apply_clears(local, &snap.clears, snap.epoch);
        let (clears_seen, epoch) = (
            self.s.clears_seen.load(Ordering::Acquire),
            self.s.epoch.load(Ordering::Acquire),
        );
        if snap.clearseq < clears_seen || snap.epoch < epoch {
            let raised: Option<Value> = self
                .query(
                    "raise",
                    redis::cmd("EVAL")
                        .arg(RAISE_COUNTERS)
                        .arg(3)
                        .arg(self.meta("clearseq"))
                        .arg(self.meta("epoch"))
                        .arg(self.meta("ver"))
                        .arg(clears_seen)
                        .arg(epoch),
                )
                .await;
            if raised.is_none() {
                // Not done: the next poll tries again (the failure asked for a resync).
                return false;
            }
        }
        self.s.ver_seen.store(snap.ver, Ordering::Release);
        self.s.c.need_resync.store(false, Ordering::Relaxed);
        self.s.c.resyncs.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn apply_clears(&self, local: &Arc<dyn LocalCache>, clears: &[(u64, String)], epoch: u64) {
        let seen = self.s.clears_seen.load(Ordering::Acquire);
        let mut newest = seen;
        for (seq, prefix) in clears {
            if *seq > seen {
                local.clone().apply_clear(prefix);
                newest = newest.max(*seq);
            }
        }
        self.note_clears(clears, newest);
        local.raise_tag(CLEAR_MARK, newest);
        self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
    }

    fn has_pending(&self) -> bool {
        !self.s.pending_tags.lock_unpoisoned().is_empty()
            || !self.s.pending_clears.lock_unpoisoned().is_empty()
    }

    async fn flush_pending(&self, local: &Arc<dyn LocalCache>) {
        let tags: Vec<String> = self.s.pending_tags.lock_unpoisoned().drain().collect();
        for tag in tags {
            self.send_tag_bump(local, &tag).await;
        }
        let clears: Vec<String> = std::mem::take(&mut *self.s.pending_clears.lock_unpoisoned());
        for prefix in clears {
            self.send_clear(local, &prefix).await;
        }
    }

    /// Shares a local tag invalidation: `HINCRBY` + broadcast, behind the caller. If Redis
    /// cannot take it now it is sent at the next resync.
    pub(crate) fn share_tag_bump(&self, local: &Arc<dyn LocalCache>, tag: &str) {
        let tag = tag.to_owned();
        self.behind_caller(local, move |tier, local| async move {
            tier.send_tag_bump(&local, &tag).await;
        });
    }

    /// Runs `send` in the background with this tier and `local`, unless the local cache is
    /// gone by then (holding it only weakly, so a share never keeps a dropped cache alive).
    fn behind_caller<F, Fut>(&self, local: &Arc<dyn LocalCache>, send: F)
    where
        F: FnOnce(RedisTier, Arc<dyn LocalCache>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tier, weak) = (self.clone(), Arc::downgrade(local));
        spawn(async move {
            let Some(local) = weak.upgrade() else { return };
            send(tier, local).await;
        });
    }

    async fn send_tag_bump(&self, local: &Arc<dyn LocalCache>, tag: &str) {
        let generation = local.tag_generation(tag);
        let got: Option<u64> = if self.allowed() {
            self.query(
                "bump",
                redis::cmd("EVAL")
                    .arg(BUMP_TAG)
                    .arg(2)
                    .arg(self.meta("gens"))
                    .arg(self.meta("ver"))
                    .arg(tag)
                    .arg(generation)
                    .arg(&self.s.channel)
                    .arg(&self.s.origin),
            )
            .await
        } else {
            None
        };
        match got {
            Some(g) => {
                local.raise_tag(tag, g);
            }
            None => {
                self.s.pending_tags.lock_unpoisoned().insert(tag.to_owned());
            }
        }
    }

    /// Shares a local clear (empty prefix: clear-all): removes the records from Redis, then
    /// numbers, logs and announces it, behind the caller.
    pub(crate) fn share_clear(&self, local: &Arc<dyn LocalCache>, prefix: &str) {
        let prefix = prefix.to_owned();
        self.behind_caller(local, move |tier, local| async move {
            tier.send_clear(&local, &prefix).await;
        });
    }

    async fn send_clear(&self, local: &Arc<dyn LocalCache>, prefix: &str) {
        let removed = prefix.is_empty() || (self.allowed() && self.remove_prefix(prefix).await);
        let got: Option<(u64, u64)> = if removed && self.allowed() {
            self.query(
                "clear",
                redis::cmd("EVAL")
                    .arg(CLEAR)
                    .arg(4)
                    .arg(self.meta("clearseq"))
                    .arg(self.meta("clears"))
                    .arg(self.meta("epoch"))
                    .arg(self.meta("ver"))
                    .arg(prefix)
                    .arg(&self.s.channel)
                    .arg(&self.s.origin),
            )
            .await
        } else {
            None
        };
        match got {
            Some((seq, epoch)) => {
                // Our own clear: applied locally already.
                self.note_clears(&[(seq, prefix.to_owned())], 0);
                if self.s.clears_seen.load(Ordering::Acquire) + 1 == seq {
                    self.s.clears_seen.store(seq, Ordering::Release);
                    local.raise_tag(CLEAR_MARK, seq);
                }
                self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
            }
            None => self
                .s
                .pending_clears
                .lock_unpoisoned()
                .push(prefix.to_owned()),
        }
    }
}

struct SharedSnapshot {
    ver: u64,
    gens: HashMap<String, u64>,
    epoch: u64,
    clearseq: u64,
    clears: Vec<(u64, String)>,
}
