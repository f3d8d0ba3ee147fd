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
