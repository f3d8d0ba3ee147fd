//! Writing and maintaining the store, on the blocking pool under the write lock: one atomic
//! batch per write-behind flush (records, index, expiry order and usage counts together),
//! compaction, and sweeping expired records then evicting the least valuable past the limit.

use super::*;
use crate::locks::LockUnpoisoned;

/// A batch write taking this long or more is logged with its steps' times.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(250);

/// The real time a step starts at, for the log's timings of slow writes and collections.
#[allow(
    clippy::disallowed_methods,
    reason = "spans measured for the log, not behaviour"
)]
fn started_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// What the batch being built knows about a key, ahead of the committed index.
#[derive(Clone, Copy)]
pub(super) enum Pending {
    Present { expires_at_ms: u64, size: u32 },
    Absent,
}

impl DiskInner {
    /// Compacts the `entries` keyspace fully, collecting the blob files worth it (see
    /// `maintain_sync`). Batches go on meanwhile.
    fn collect_blobs(&self) -> Result<(), TierError> {
        self.entries.rotate_memtable_and_wait().map_err(store_err)?;
        self.entries.major_compact().map_err(store_err)?;
        self.return_obsolete_files()
    }

    /// fjall deletes the files a compaction made obsolete when the next memtable is sealed;
    /// seal one now (with a marker write) so the space is returned at once.
    fn return_obsolete_files(&self) -> Result<(), TierError> {
        self.meta
            .insert("compacted", b"1".to_vec())
            .map_err(store_err)?;
        self.meta.rotate_memtable_and_wait().map_err(store_err)?;
        Ok(())
    }

    /// Compacts fully. Batches go on meanwhile (the write lock guards the usage counts, which a
    /// compaction leaves alone): a compaction must not stop the write-behind queue.
    pub(super) fn compact(&self) -> Result<(), TierError> {
        for ks in [&self.entries, &self.index, &self.expiry, &self.meta] {
            ks.rotate_memtable_and_wait().map_err(store_err)?;
        }
        for ks in [&self.entries, &self.index, &self.expiry] {
            ks.major_compact().map_err(store_err)?;
        }
        // A second pass over the entries drops blob files the first pass left dead.
        self.entries.major_compact().map_err(store_err)?;
        self.return_obsolete_files()
    }

    pub(super) fn lookup(
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
    pub(super) fn remove_into(
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

    pub(super) fn commit(
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

    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.entry_count.load(Ordering::Acquire),
            self.bytes.load(Ordering::Acquire),
        )
    }

    /// Whether `incoming` more bytes would take the directory past its limit. The records'
    /// budget keeps it below when eviction and compaction keep pace, so this acts on a runaway
    /// only, and the tenth above the limit that the directory may reach is left to what
    /// fjall's background work adds while it runs (a compaction's new files before the old
    /// go). The estimate is the last measure plus twice every byte put since (a record is
    /// on disk twice until the journal that first held it is dropped: in that journal and in
    /// the table its memtable flushed to); removals only shrink the directory, so the estimate
    /// does not fall short of it, and the directory is measured (a few dozen `stat`s) only
    /// when the estimate passes the limit. A full cache, which sits a tenth below it, is
    /// measured once per twentieth of its limit written rather than at every batch.
    fn would_pass_limit(&self, incoming: u64) -> bool {
        let estimate = self
            .measured_bytes
            .load(Ordering::Acquire)
            .saturating_add(self.put_since_measured.load(Ordering::Acquire))
            .saturating_add(incoming)
            .saturating_add(incoming);
        if estimate <= self.max_bytes {
            return false;
        }
        let measured =
            allocated_bytes(&self.path) + self.counted_also_bytes.load(Ordering::Acquire);
        self.measured_bytes.store(measured, Ordering::Release);
        self.put_since_measured.store(0, Ordering::Release);
        measured.saturating_add(incoming) > self.max_bytes
    }

    /// The directory's limit holds whatever the pace of eviction and compaction, which run
    /// once a second and behind fjall's one background worker: writes faster than they free
    /// space (a burst of new pages, a starved compaction) would otherwise take the directory
    /// past `max_bytes` until they catch up. A batch that would pass it writes no records:
    /// each put becomes a removal of its key (so no older record of it is left to be read),
    /// removals and the engine's state are written, and the memory tier keeps the entries.
    /// The refusals are counted for [`Tier::take_refused_puts`].
    fn within_limit(&self, ops: Vec<WriteOp>) -> Vec<WriteOp> {
        let incoming: u64 = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, record, .. } => (key.as_str().len() + record.len()) as u64,
                _ => 0,
            })
            .sum();
        if incoming == 0 || !self.would_pass_limit(incoming) {
            self.put_since_measured
                .fetch_add(2 * incoming, Ordering::AcqRel);
            return ops;
        }
        let mut refused = 0;
        let ops = ops
            .into_iter()
            .map(|op| match op {
                WriteOp::Put { key, .. } => {
                    refused += 1;
                    WriteOp::Remove { key }
                }
                other => other,
            })
            .collect();
        self.refused_puts.fetch_add(refused, Ordering::AcqRel);
        tracing::debug!(
            refused,
            incoming,
            "disk cache directory at its limit; records not written"
        );
        ops
    }

    pub(super) fn write_sync(&self, ops: Vec<WriteOp>) -> Result<(), TierError> {
        let started = started_now();
        let _guard = self.write_lock.lock_unpoisoned();
        let locked = started.elapsed();
        let ops = self.within_limit(ops);
        let n_ops = ops.len();
        let put_bytes: usize = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { record, .. } => record.len(),
                _ => 0,
            })
            .sum();
        let mut batch = self.db.batch();
        let mut counts = self.counts();
        self.add_ops(&mut batch, &mut counts, ops)?;
        let built = started.elapsed();
        self.commit(batch, counts)?;
        let committed = started.elapsed();
        // The journals are part of the directory's limit whatever the background worker's
        // pace: when they outgrow their share (writes faster than fjall's one worker flushes,
        // or a compaction holding it), the writer waits for every keyspace to be flushed, so
        // the sealed journals can go. The write-behind queue absorbs the wait, or drops.
        if journal_bytes(&self.path) > self.sizes.journal_share() {
            self.flush_all()?;
        }
        let total = started.elapsed();
        if total >= SLOW_BATCH {
            // What a write-behind queue that drops behind a slow disk needs explained: which
            // step held the batch (the lock, held by an eviction pass; fjall's write halt in
            // the commit; the wait for the journals' flush).
            tracing::debug!(
                ops = n_ops,
                put_bytes,
                lock_ms = locked.as_millis() as u64,
                build_ms = (built - locked).as_millis() as u64,
                commit_ms = (committed - built).as_millis() as u64,
                flush_ms = (total - committed).as_millis() as u64,
                "disk batch slow"
            );
        }
        Ok(())
    }

    /// Adds `ops` to `batch`, in order, keeping `counts` (entries, bytes) as they will be.
    fn add_ops(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        counts: &mut (u64, u64),
        ops: Vec<WriteOp>,
    ) -> Result<(), TierError> {
        let mut pending: HashMap<Vec<u8>, Pending> = HashMap::new();
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
                    self.remove_into(batch, &mut pending, k, counts)?;
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
                    self.remove_into(batch, &mut pending, key.as_str().as_bytes(), counts)?;
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
                        self.remove_into(batch, &mut pending, &k, counts)?;
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
        Ok(())
    }

    /// Seals every keyspace's memtable (the tier's and the shared ones) and waits for their
    /// flushes; fjall then deletes the sealed journals and seals the active one at its
    /// rotation size.
    pub(super) fn flush_all(&self) -> Result<(), TierError> {
        let shared: Vec<Keyspace> = self.shared.lock_unpoisoned().clone();
        for ks in [&self.entries, &self.index, &self.expiry, &self.meta]
            .into_iter()
            .chain(shared.iter())
        {
            ks.rotate_memtable_and_wait().map_err(store_err)?;
        }
        Ok(())
    }

    pub(super) fn maintain_sync(&self, now_ms: u64) -> Result<MaintenanceReport, TierError> {
        self.maintenance_passes.fetch_add(1, Ordering::Relaxed);
        // The directory is what an operator sizes a volume by: measure it (a few dozen
        // `stat`s) and give the records what the rest leaves of the limit. Shared keyspaces'
        // tables are in the directory too, but they are another store's data, not the
        // records' overhead: they count beside, with the directories counted also.
        let shared_bytes: u64 = self
            .shared
            .lock_unpoisoned()
            .iter()
            .map(Keyspace::disk_space)
            .sum();
        let counted_also: u64 = self
            .counts_also
            .lock_unpoisoned()
            .iter()
            .map(|dir| allocated_bytes(dir))
            .sum();
        self.counted_also_bytes
            .store(counted_also, Ordering::Release);
        let budget = record_budget(
            self.max_bytes,
            self.sizes.journal_share(),
            shared_bytes + counted_also,
        );
        self.record_budget.store(budget, Ordering::Release);
        if journal_bytes(&self.path) > self.sizes.journal_share() {
            // Writes from elsewhere (a shared keyspace) took the journals past their share.
            self.flush_all()?;
        }
        let report = self.remove_expired_and_evict(now_ms)?;
        // Background compaction collects tombstones as the tree grows, but a blob file only
        // in a compaction covering every table that points into it: with records dying in
        // order of expiry, that is a compaction of the whole `entries` keyspace. Run one when
        // the directory passes 80 % of the limit with more than a sixteenth of it dead and a
        // thirty-second more dead than the last one left (what it cannot collect — blob files
        // less than a quarter dead — does not start another), at most once a pass. It
        // rewrites the oldest quarter of the blob files worth collecting (fjall's age cutoff),
        // so what it adds while it runs stays small; files beside the store are not its to
        // shrink.
        let store = allocated_bytes(&self.path);
        self.measured_bytes
            .store(store + counted_also, Ordering::Release);
        self.put_since_measured.store(0, Ordering::Release);
        let dead_now = |store: u64| {
            store
                .saturating_sub(journal_bytes(&self.path))
                .saturating_sub(shared_bytes)
                .saturating_sub(self.bytes.load(Ordering::Acquire))
        };
        let dead = dead_now(store);
        let last = self.last_compaction_ms.load(Ordering::Acquire);
        let left = self.dead_after_compaction.load(Ordering::Acquire);
        // Past the limit itself the tier refuses every write until room is made, and no
        // write comes to add the thirty-second more dead: then each pass collects again,
        // however much the last one left (each rewrites another quarter of the files).
        let refusing = store + counted_also > self.max_bytes;
        if store + counted_also > self.max_bytes - self.max_bytes / 5
            && dead > self.max_bytes / 16
            && (dead > left + self.max_bytes / 32 || refusing)
            && now_ms.saturating_sub(last) >= COMPACT_AT_MOST_EVERY_MS
        {
            self.last_compaction_ms.store(now_ms, Ordering::Release);
            tracing::debug!(
                store,
                dead,
                "disk cache directory near its limit; collecting"
            );
            let started = started_now();
            self.collect_blobs()?;
            let mut after = dead_now(allocated_bytes(&self.path));
            if after > self.max_bytes / 16 {
                // One compaction rewrites the tables that point into dead blob files; the
                // files it leaves dead are dropped by the next (as in `compact`), which
                // otherwise waits until a thirty-second more has died.
                self.collect_blobs()?;
                after = dead_now(allocated_bytes(&self.path));
            }
            self.dead_after_compaction.store(after, Ordering::Release);
            tracing::debug!(
                took_ms = started.elapsed().as_millis() as u64,
                dead_after = after,
                "disk cache directory collected"
            );
        }
        Ok(report)
    }

    pub(super) fn remove_expired_and_evict(
        &self,
        now_ms: u64,
    ) -> Result<MaintenanceReport, TierError> {
        let _guard = self.write_lock.lock_unpoisoned();
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
