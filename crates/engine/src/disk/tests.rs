use super::*;

const MIB: u64 = 1024 * 1024;

#[test]
fn store_sizes_follow_the_limit() {
    let small = StoreSizes::for_limit(256 * MIB, u64::MAX);
    assert_eq!(small.journal_rotation, 8 * MIB);
    assert_eq!(small.entries_memtable, 8 * MIB);
    assert_eq!(small.small_memtable, 2 * MIB);
    assert_eq!(small.blob_file, 16 * MIB);
    assert_eq!(small.journal_share(), 32 * MIB, "an eighth of the limit");
    let big = StoreSizes::for_limit(64 * 1024 * MIB, u64::MAX);
    assert_eq!(big.journal_rotation, 64 * MIB, "fjall's default, no more");
    assert_eq!(big.entries_memtable, 64 * MIB);
    let least = StoreSizes::for_limit(DiskTier::SMALLEST_LIMIT, u64::MAX);
    assert_eq!(
        (
            least.journal_rotation,
            least.entries_memtable,
            least.small_memtable
        ),
        (MIB, MIB, MIB),
        "fjall's useful minimum"
    );
    assert_eq!(least.journal_share(), DiskTier::SMALLEST_LIMIT / 8);
    // A memory share smaller than the disk's sizes wins, down to fjall's useful minimum.
    let shared = StoreSizes::for_limit(256 * MIB, 6 * MIB);
    assert_eq!(shared.entries_memtable, 3 * MIB);
    assert_eq!(shared.small_memtable, MIB);
    assert_eq!(shared.journal_share(), 22 * MIB);
    assert_eq!(StoreSizes::for_limit(256 * MIB, 0).entries_memtable, MIB);
}

#[test]
fn records_get_what_the_journals_dead_space_and_files_beside_leave() {
    // 256 MiB: 32 MiB of journals, a quarter for dead space.
    assert_eq!(record_budget(256 * MIB, 32 * MIB, 0), 160 * MIB);
    assert_eq!(record_budget(256 * MIB, 32 * MIB, 60 * MIB), 100 * MIB);
    // Files beside that take the whole limit leave the records nothing.
    assert_eq!(record_budget(64 * MIB, 8 * MIB, 60 * MIB), 0);
}

#[test]
fn eviction_keeps_records_within_the_measured_budget() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path(), DiskTier::SMALLEST_LIMIT).unwrap();
    let body = Bytes::from(vec![7u8; 64 * 1024]);
    let ops = (0..48u64)
        .map(|i| WriteOp::Put {
            key: Key::new(format!("k{i}")),
            record: body.clone(),
            expires_at_ms: 1_000_000 + i,
        })
        .collect();
    tier.write_sync(ops).unwrap();
    // 3 MiB of records, under the 32 MiB limit less the journals' 4 MiB share and a quarter
    // for dead space: nothing is evicted.
    let report = tier.maintain_sync(0).unwrap();
    assert_eq!(report.evicted, 0);
    // Files beside taking all but 2 MiB: a pass evicts down to 90 % of that.
    let budget = record_budget(DiskTier::SMALLEST_LIMIT, 4 * MIB, 18 * MIB);
    tier.inner.record_budget.store(budget, Ordering::Release);
    let report = tier.inner.remove_expired_and_evict(0).unwrap();
    assert!(report.evicted > 0);
    assert!(
        tier.usage().bytes <= budget - budget / 10,
        "{:?}",
        tier.usage()
    );
}

#[test]
fn files_beside_the_store_take_their_share_of_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let beside = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path().join("cache"), 64 * MIB).unwrap();
    tier.maintain_sync(0).unwrap();
    let alone = tier.inner.record_budget.load(Ordering::Acquire);
    let share = tier.inner.sizes.journal_share();
    assert_eq!(alone, record_budget(64 * MIB, share, 0));
    // 20 MiB of other files in a nested directory (an index's store) beside the cache.
    std::fs::create_dir_all(beside.path().join("store")).unwrap();
    std::fs::write(
        beside.path().join("store").join("table"),
        vec![1u8; 20 * MIB as usize],
    )
    .unwrap();
    tier.count_also(vec![beside.path().to_path_buf()]);
    tier.maintain_sync(0).unwrap();
    let shared = tier.inner.record_budget.load(Ordering::Acquire);
    let beside = allocated_bytes(beside.path());
    assert!(beside >= 20 * MIB, "{beside}");
    assert_eq!(shared, record_budget(64 * MIB, share, beside));
    assert_eq!(shared, alone - beside);
}

#[test]
fn a_shared_keyspace_counts_beside_the_records_and_outlives_a_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache");
    let tier = DiskTier::open(&path, 64 * MIB).unwrap();
    tier.write_sync(vec![WriteOp::Put {
        key: Key::new("k"),
        record: Bytes::from_static(b"record"),
        expires_at_ms: u64::MAX,
    }])
    .unwrap();
    let other = tier
        .shared_keyspace("elements-main", KeyspaceCreateOptions::default)
        .unwrap();
    // 24 MiB the compressor cannot shrink, flushed to tables.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..24u32 {
        let value: Vec<u8> = (0..MIB)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        other.keyspace.insert(i.to_be_bytes(), value).unwrap();
    }
    other.keyspace.rotate_memtable_and_wait().unwrap();
    let on_disk = other.keyspace.disk_space();
    assert!(on_disk >= 24 * MIB, "{on_disk}");
    // Every keyspace flushed: the journal that carried the 24 MiB is gone.
    tier.compact().unwrap();
    tier.maintain_sync(0).unwrap();
    let budget = tier.inner.record_budget.load(Ordering::Acquire);
    // The other store's tables count against the limit beside the records, as data of
    // their own: the records get the limit less the journals' share, the allowance for dead
    // space and those tables.
    let share = tier.inner.sizes.journal_share();
    assert_eq!(
        budget,
        record_budget(64 * MIB, share, other.keyspace.disk_space())
    );
    assert!(budget <= 64 * MIB - share - 16 * MIB - 24 * MIB, "{budget}");
    // Clearing the cache removes the records, not the other store's data.
    tier.write_sync(vec![WriteOp::RemovePrefix {
        prefix: String::new(),
    }])
    .unwrap();
    assert!(tier.get_sync("k").unwrap().is_none());
    assert!(other.keyspace.get(3u32.to_be_bytes()).unwrap().is_some());
    tier.compact().unwrap();
    assert!(other.keyspace.get(3u32.to_be_bytes()).unwrap().is_some());
    // And it is there again after a restart.
    drop((tier, other));
    let tier = DiskTier::open(&path, 64 * MIB).unwrap();
    let other = tier
        .shared_keyspace("elements-main", KeyspaceCreateOptions::default)
        .unwrap();
    assert_eq!(other.keyspace.len().unwrap(), 24);
    assert!(
        tier.shared_keyspace(&"x".repeat(300), KeyspaceCreateOptions::default)
            .is_err(),
        "a name fjall cannot take is an error, not a panic"
    );
}

#[test]
fn the_store_keeps_a_quarter_of_the_descriptor_reserve() {
    // The reserve the gateway keeps beside its listeners: a quarter of the limit, at most 256.
    assert_eq!(open_files_cap(Some(1024)), 64);
    assert_eq!(open_files_cap(Some(524_288)), 64);
    assert_eq!(open_files_cap(None), 64);
    assert_eq!(open_files_cap(Some(512)), 32);
    assert_eq!(open_files_cap(Some(64)), 16, "never below what fjall needs");
}

#[test]
fn the_store_keeps_at_most_its_share_of_descriptors_open_however_many_tables() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path(), 64 * MIB).unwrap();
    let cap = tier.open_files_max();
    // Twice as many tables as the store may keep open, kept apart (first in, first out: no
    // compaction merges them), each read once: fjall's own default would keep a descriptor
    // of every one.
    let tables = 2 * cap;
    let store = tier
        .shared_keyspace("tables", || {
            KeyspaceCreateOptions::default()
                .compaction_strategy(Arc::new(fjall::compaction::Fifo::new(u64::MAX, None)))
        })
        .unwrap();
    for i in 0..tables {
        store.keyspace.insert(i.to_be_bytes(), b"v").unwrap();
        store.keyspace.rotate_memtable_and_wait().unwrap();
    }
    assert_eq!(
        store.keyspace.table_count() as u64,
        tables,
        "a table per row"
    );
    for i in 0..tables {
        assert!(
            store.keyspace.get(i.to_be_bytes()).unwrap().is_some(),
            "row {i}"
        );
    }
    let keyspaces = dir.path().join("keyspaces");
    let open_on_tables = open_files_under(&keyspaces).unwrap();
    assert!(
        open_on_tables <= cap,
        "{open_on_tables} descriptors open on {tables} tables, more than the store's {cap}"
    );
    // The whole store: the tables' share, the journal and the lock.
    let open = tier.open_files().unwrap();
    assert!(open <= cap + 4, "{open} descriptors open on the store");
    // Every table still answers, its descriptor opened again as needed.
    for i in (0..tables).rev() {
        assert!(
            store.keyspace.get(i.to_be_bytes()).unwrap().is_some(),
            "row {i}"
        );
    }
}

/// A compaction filter for the `entries` keyspace that, once armed, holds the next compaction
/// into the last level (a full compaction) at its first record until released.
#[derive(Default)]
struct CompactionGate {
    state: Mutex<GateState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    holding: bool,
    released: bool,
}

impl CompactionGate {
    fn wait_until(&self, ready: impl Fn(&GateState) -> bool) {
        let mut state = self.state.lock_unpoisoned();
        while !ready(&state) {
            state = self.changed.wait(state).unwrap();
        }
    }

    fn update(&self, change: impl FnOnce(&mut GateState)) {
        change(&mut self.state.lock_unpoisoned());
        self.changed.notify_all();
    }
}

struct GateFactory(Arc<CompactionGate>);

struct GateFilter(Option<Arc<CompactionGate>>);

impl lsm_tree::compaction::Factory for GateFactory {
    fn name(&self) -> &str {
        "gate"
    }

    fn make_filter(
        &self,
        ctx: &lsm_tree::compaction::filter::Context,
    ) -> Box<dyn lsm_tree::compaction::CompactionFilter> {
        let gate = &self.0;
        let mut state = gate.state.lock_unpoisoned();
        let holds = ctx.is_last_level && state.armed && !state.holding;
        if holds {
            state.armed = false;
        }
        Box::new(GateFilter(holds.then(|| gate.clone())))
    }
}

impl lsm_tree::compaction::CompactionFilter for GateFilter {
    fn filter_item(
        &mut self,
        _item: lsm_tree::compaction::ItemAccessor<'_>,
        _ctx: &lsm_tree::compaction::filter::Context,
    ) -> lsm_tree::Result<lsm_tree::compaction::Verdict> {
        if let Some(gate) = self.0.take() {
            gate.update(|s| s.holding = true);
            gate.wait_until(|s| s.released);
        }
        Ok(lsm_tree::compaction::Verdict::Keep)
    }
}

#[test]
fn writes_go_on_while_a_full_compaction_holds_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(CompactionGate::default());
    let factory: Arc<dyn lsm_tree::compaction::Factory> = Arc::new(GateFactory(gate.clone()));
    let tier = DiskTier::open_with_builder(dir.path(), 64 * MIB, |builder| {
        builder.with_compaction_filter_factories(Arc::new(move |keyspace: &str| {
            (keyspace == "entries").then(|| factory.clone())
        }))
    })
    .unwrap();
    let body = Bytes::from(vec![3u8; 16 * 1024]);
    let record = body.clone();
    let batch = move |from: u64, n: u64| -> Vec<WriteOp> {
        (from..from + n)
            .map(|i| WriteOp::Put {
                key: Key::new(format!("k{i}")),
                record: record.clone(),
                expires_at_ms: 10_000_000 + i,
            })
            .collect()
    };
    tier.write_sync(batch(0, 64)).unwrap();
    gate.update(|s| s.armed = true);
    let compacting = {
        let tier = tier.clone();
        std::thread::spawn(move || tier.compact())
    };
    gate.wait_until(|s| s.holding);
    // Sixteen memtables' worth of records while the full compaction is held: fjall's
    // background worker must go on flushing them (past four sealed memtables fjall halts
    // writes), not wait on the held tree to run a compaction of its own.
    let memtable = tier.inner.sizes.entries_memtable;
    let per_batch = 64;
    let batches = 16 * memtable / (per_batch * body.len() as u64) + 1;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let writing = {
        let tier = tier.clone();
        let batch = batch.clone();
        std::thread::spawn(move || {
            for b in 0..batches {
                tier.write_sync(batch(1_000 + b * per_batch, per_batch))
                    .unwrap();
            }
            done_tx.send(()).unwrap();
        })
    };
    let written = done_rx.recv_timeout(std::time::Duration::from_secs(30));
    let still_held = !gate.state.lock_unpoisoned().released;
    gate.update(|s| s.released = true);
    writing.join().unwrap();
    compacting.join().unwrap().unwrap();
    assert!(
        written.is_ok() && still_held,
        "writes halted behind the held compaction"
    );
    assert_eq!(tier.get_sync("k1000").unwrap().as_deref(), Some(&body[..]));
}
