//! Disk tier behaviour: persistence across restarts, promotion, invalidation persistence,
//! corruption, open errors, limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cachearr_engine::{
    CachedValue, DiskTier, EngineError, Key, ManualClock, Outcome, Policy, Tier, TierError,
    TierKind, TieredCache, WriteOp,
};
use futures_util::future::BoxFuture;

use crate::common::*;

const MIB: u64 = 1024 * 1024;
/// A write-behind batching window longer than any test: puts stay queued until a flush.
const HOUR: Duration = Duration::from_secs(3600);

/// The limits and write-behind queue a test's caches are opened with.
#[derive(Clone, Copy)]
struct Opening {
    memory_max: u64,
    disk_max: u64,
    queue: usize,
    batch_interval: Duration,
    /// How long a put waits for room in the queue's bytes (the product's 500 ms).
    put_wait: Duration,
}

/// What most tests open: puts reach the disk within milliseconds.
const OPENING: Opening = Opening {
    memory_max: 64 << 20,
    disk_max: 256 << 20,
    queue: 1000,
    batch_interval: Duration::from_millis(5),
    put_wait: Duration::from_millis(500),
};

/// A queue of four held for an hour: every put after the fourth is dropped until a flush.
const FOUR_HELD: Opening = Opening {
    memory_max: 256 << 20,
    disk_max: 1 << 30,
    queue: 4,
    batch_interval: HOUR,
    put_wait: Duration::from_millis(500),
};

/// A store directory and the manual clock of every cache a test opens on it, so that what one
/// cache wrote is there for the next after a restart.
struct Store {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
}

impl Store {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::default()),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn open(&self) -> TieredCache {
        self.open_with(OPENING).await
    }

    async fn open_with(&self, opening: Opening) -> TieredCache {
        TieredCache::builder()
            .memory_max_bytes(opening.memory_max)
            .disk(self.path(), opening.disk_max)
            .clock(self.clock.clone())
            .housekeeping(false)
            .write_behind(opening.queue, opening.batch_interval)
            .write_behind_wait(opening.put_wait)
            .build()
            .await
            .expect("disk cache builds")
    }

    /// Leaves `key` on disk with `body`, written by a cache since shut down.
    async fn record_on_disk(&self, key: &Key, body: &'static str) {
        let cache = self.open().await;
        cache
            .insert(key, &policy(), CachedValue::new(200, body))
            .await;
        cache.shutdown().await;
    }

    /// The bytes of `key`'s record, read straight from the closed store.
    fn raw_record(&self, key: &str) -> Option<Vec<u8>> {
        let tier = DiskTier::open(self.path(), 1 << 30).unwrap();
        tier.get_sync(key).unwrap().map(|r| r.to_vec())
    }

    /// Writes raw bytes under a key straight into the closed store.
    fn plant_raw_record(&self, key: &str, raw: &[u8]) {
        let tier = DiskTier::open(self.path(), 1 << 30).unwrap();
        tier.write_sync(vec![WriteOp::Put {
            key: Key::new(key),
            record: Bytes::copy_from_slice(raw),
            expires_at_ms: u64::MAX,
        }])
        .unwrap();
    }
}

/// Inserts `body` under `k{i}`.
async fn put(cache: &TieredCache, i: u64, body: impl Into<Bytes>) {
    cache
        .insert(
            &Key::new(format!("k{i}")),
            &policy(),
            CachedValue::new(200, body),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_tag_generations_survive_a_restart() {
    let store = Store::new();
    let loader = CountingLoader::new();
    let kept = Key::new("plex|/library/metadata/1");
    let tagged = Key::new("plex|/library/metadata/2");
    let dropped = Key::new("jf|/Items/3");
    let kept_policy = policy().with_tag("item:1");
    {
        let cache = store.open().await;
        lookup(&cache, &kept, &kept_policy, loader.clone()).await;
        lookup(
            &cache,
            &tagged,
            &policy().with_tag("item:2"),
            loader.clone(),
        )
        .await;
        lookup(&cache, &dropped, &policy(), loader.clone()).await;
        cache.flush().await;
        cache.invalidate_tag("item:2");
        cache.clear_prefix("jf|");
        cache.shutdown().await;
    }
    let cache = store.open().await;
    store.clock.advance(5 * SEC);
    let l = lookup(&cache, &kept, &kept_policy, loader.clone()).await;
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
    assert_eq!(body(&l), "body-1");
    assert_eq!(l.entry.age(clock_now(&store.clock)), 5 * SEC);
    // Promoted: the next read is a memory hit.
    let l = lookup(&cache, &kept, &kept_policy, loader.clone()).await;
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert!(
        cache.get(&tagged).await.is_none(),
        "tag invalidation survived the restart"
    );
    assert!(
        cache.get(&dropped).await.is_none(),
        "prefix drop survived the restart"
    );
    assert_eq!(loader.calls(), 3);
    cache.shutdown().await;
}

/// A put still queued for the disk makes the disk's record of that key an older one: when the
/// queued entry is invalidated before it is written, the older record must not come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_replaced_by_a_queued_put_is_not_served_when_that_put_is_invalidated() {
    let store = Store::new();
    let key = Key::new("plex|/library/metadata/7");
    store.record_on_disk(&key, "old").await;
    // A batching window far longer than the test: the next put stays queued until shutdown.
    let cache = store
        .open_with(Opening {
            batch_interval: HOUR,
            ..OPENING
        })
        .await;
    let tagged = policy().with_tag("item:7");
    cache
        .insert(&key, &tagged, CachedValue::new(200, "new"))
        .await;
    cache.invalidate_tag("item:7");
    // The first probe finds the invalidated entry in memory and forgets it; the second looks
    // below memory, where the older record is.
    assert!(cache.get(&key).await.is_none());
    let got = cache.get(&key).await;
    assert!(
        got.is_none(),
        "the replaced record came back from {:?}",
        got.map(|l| l.outcome)
    );
    let loader = CountingLoader::new();
    let l = lookup(&cache, &key, &tagged, loader.clone()).await;
    assert_eq!(l.outcome, Outcome::Miss, "a load, not the replaced record");
    assert_eq!(loader.calls(), 1);
    cache.shutdown().await;
}

/// A put the full write-behind queue drops still replaced the key's older record: when its
/// entry is invalidated, that older record must not come back from the disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_replaced_by_a_dropped_put_is_not_served_when_that_put_is_invalidated() {
    // Whether the second put is dropped depends on the write-behind worker not having written
    // the first one yet, which it may have on a loaded machine: the scenario is made again
    // until it arises (at the first attempt unless the test's thread was starved).
    for attempt in 0..8 {
        if replaced_by_a_dropped_put(attempt).await {
            return;
        }
    }
    panic!("the second put was never dropped in 8 attempts");
}

/// One attempt of the test above: `false` when the put meant to be dropped was queued.
async fn replaced_by_a_dropped_put(attempt: u64) -> bool {
    let store = Store::new();
    let key = Key::new("plex|/library/metadata/8");
    store.record_on_disk(&key, "old").await;
    // A batching window far longer than the test, and a first put that takes the queue's
    // whole byte bound (its smallest, 2 MiB): the next put is dropped (at once: a put made
    // to wait for room would find it as the worker takes the first).
    let cache = store
        .open_with(Opening {
            memory_max: 16 << 20,
            batch_interval: HOUR,
            put_wait: Duration::ZERO,
            ..OPENING
        })
        .await;
    let big = CachedValue::new(200, noise(1 + attempt, 3 << 20));
    cache.insert(&Key::new("plex|/other"), &policy(), big).await;
    let tagged = policy().with_tag("item:8");
    cache
        .insert(&key, &tagged, CachedValue::new(200, "new"))
        .await;
    let dropped = cache.stats().tier(TierKind::Disk).unwrap().dropped_writes;
    if dropped == 0 {
        cache.shutdown().await;
        return false;
    }
    cache.invalidate_tag("item:8");
    let l = lookup(&cache, &key, &tagged, CountingLoader::new()).await;
    assert_eq!(l.outcome, Outcome::Miss, "a load, not the replaced record");
    cache.shutdown().await;
    drop(cache);
    // And after the queue is written, the older record is gone from the disk too.
    let cache = store.open().await;
    let got = cache.get(&key).await;
    assert!(
        got.as_ref().is_none_or(|l| body(l) != "old"),
        "the replaced record is still on disk"
    );
    cache.shutdown().await;
    true
}

/// Once a queued put is written, its key is read from the disk again: an entry the memory tier
/// evicted comes back from the disk in the same process, not only after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_evicted_from_memory_after_its_write_is_read_from_disk() {
    let store = Store::new();
    let cache = store
        .open_with(Opening {
            memory_max: 1_000_000,
            ..OPENING
        })
        .await;
    for i in 0..60u64 {
        put(&cache, i, noise(i, 50_000)).await;
        // Written before the next: the queue's share of a 1 MB memory limit holds few such
        // entries, and one it dropped would be in neither tier.
        cache.flush().await;
        cache.run_pending_tasks().await;
    }
    let evicted = cache.stats().tier(TierKind::Memory).unwrap().evictions;
    assert!(evicted > 0, "the memory tier evicted nothing");
    let mut from_disk = 0;
    for i in 0..60u64 {
        let l = cache
            .get(&Key::new(format!("k{i}")))
            .await
            .unwrap_or_else(|| panic!("k{i} is neither in memory nor on disk"));
        assert_eq!(l.entry.value.body, noise(i, 50_000));
        if l.outcome == Outcome::Hit(TierKind::Disk) {
            from_disk += 1;
        }
    }
    assert!(from_disk > 0, "no evicted entry was read from the disk");
    cache.shutdown().await;
}

fn clock_now(c: &ManualClock) -> u64 {
    cachearr_engine::Clock::now_ms(c)
}

#[tokio::test]
async fn an_unusable_directory_at_start_leaves_memory_only_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    // Opening the store by itself is a clear error naming the path...
    let err = DiskTier::open(file.join("cache"), 1 << 20).unwrap_err();
    assert!(matches!(err, EngineError::DiskOpen { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    // ...and a cache still starts, from memory, saying why.
    let cache = start_memory_only(&file.join("cache"), 1 << 20, "not-a-dir").await;
    // Nothing was created or moved where the file is.
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    cache.shutdown().await;
}

#[tokio::test]
async fn memory_only_works_without_disk() {
    let cache = TieredCache::builder().build().await.unwrap();
    let key = Key::new("m");
    cache
        .insert(
            &key,
            &Policy::new("c", 10 * SEC),
            CachedValue::new(200, "v"),
        )
        .await;
    assert!(cache.stats().tier(TierKind::Disk).is_none());
    assert_eq!(
        cache.get(&key).await.unwrap().outcome,
        Outcome::Hit(TierKind::Memory)
    );
    cache.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_is_a_miss_and_is_removed() {
    let store = Store::new();
    // A real record with one byte of its body flipped.
    store.record_on_disk(&Key::new("victim"), "body-1").await;
    let mut raw = store.raw_record("victim").expect("record was written");
    let last = raw.len() - 1;
    raw[last] ^= 0x40;
    store.plant_raw_record("victim", &raw);
    store.plant_raw_record("garbage", b"\x00\x01not a record at all");

    let cache = store.open().await;
    assert!(cache.get(&Key::new("victim")).await.is_none());
    assert!(cache.get(&Key::new("garbage")).await.is_none());
    let stats = cache.stats();
    assert_eq!(stats.tier(TierKind::Disk).unwrap().corrupt, 2);
    cache.shutdown().await;
    drop(cache);
    assert!(
        store.raw_record("victim").is_none(),
        "corrupt record removed"
    );
    assert!(
        store.raw_record("garbage").is_none(),
        "corrupt record removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_another_format_version_is_discarded_cleanly() {
    let store = Store::new();
    store.record_on_disk(&Key::new("old"), "v").await;
    let mut raw = store.raw_record("old").unwrap();
    raw[2] = 0; // format version 0: "written by an older release"
    store.plant_raw_record("old", &raw);
    let cache = store.open().await;
    let l = lookup(&cache, &Key::new("old"), &policy(), CountingLoader::new()).await;
    assert_eq!(l.outcome, Outcome::Miss);
    assert_eq!(cache.stats().tier(TierKind::Disk).unwrap().corrupt, 0);
    cache.shutdown().await;
}

#[test]
fn disk_eviction_keeps_the_limit_and_drops_the_soonest_expiring_first() {
    let dir = tempfile::tempdir().unwrap();
    let limit = DiskTier::SMALLEST_LIMIT;
    let tier = DiskTier::open(dir.path(), limit).unwrap();
    // 40 records of 800 KB (incompressible), 32 MB in all, expiring at 1000, 1001, … ms.
    let ops = (0..40u64)
        .map(|i| WriteOp::Put {
            key: Key::new(format!("k{i:02}")),
            record: Bytes::from(noise(i, 800_000)),
            expires_at_ms: 1000 + i,
        })
        .collect();
    tier.write_sync(ops).unwrap();
    assert!(tier.usage().bytes > 31_000_000);
    // Everything flushed: the journal that carried the batch is gone.
    tier.compact().unwrap();
    let report = tier.maintain_sync(0).unwrap();
    assert_eq!(report.expired, 0);
    assert!(report.evicted > 0);
    let usage = tier.usage();
    // The journals' share (an eighth at this limit) and a quarter for dead space are not the
    // records'.
    assert!(usage.bytes <= limit - limit / 8 - limit / 4, "{usage:?}");
    assert_eq!(usage.entries, 40 - report.evicted);
    // Least valuable first: the survivors are exactly the latest-expiring ones.
    for i in 0..40u64 {
        let present = tier.get_sync(&format!("k{i:02}")).unwrap().is_some();
        assert_eq!(present, i >= report.evicted, "k{i:02}");
    }
    // Sweeping at time 1035 removes what expired by then.
    let report2 = tier.maintain_sync(1035).unwrap();
    assert_eq!(report2.expired, 36 - report.evicted);
    assert!(tier.get_sync("k35").unwrap().is_none());
    assert!(tier.get_sync("k36").unwrap().is_some());
}

/// `disk_max` bounds the whole directory — journals, tables, blob files, another store's
/// keyspace beside the records — not only the records: writing four times the limit over
/// many keys, as the write-behind worker does (a batch every 50 ms, a maintenance pass every
/// second), never takes the directory past the limit + 10 %, as measured all along by a second
/// thread. (Three times the limit is written in bursts far faster than a gateway writes; a
/// 16 MiB store reached 1.2 times its limit, hence [`DiskTier::SMALLEST_LIMIT`].)
#[test]
fn the_directory_stays_within_the_limit_while_writing_far_past_it() {
    // `DIRECTORY_LIMITS_MIB=32,64,256`: other limits, by hand (a larger one takes longer).
    let limits: Vec<u64> = std::env::var("DIRECTORY_LIMITS_MIB").map_or_else(
        |_| vec![DiskTier::SMALLEST_LIMIT, 64 * MIB],
        |v| {
            v.split(',')
                .map(|m| m.parse::<u64>().unwrap() * MIB)
                .collect()
        },
    );
    for limit in limits {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), limit).unwrap();
        // Another store's data in the same database (the library's element store): it
        // counts against the limit beside the records.
        let other = tier
            .shared_keyspace("elements-main", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        for i in 0..(limit / 8 / 4096) {
            other
                .keyspace
                .insert(i.to_be_bytes(), noise(i, 4096))
                .unwrap();
        }
        let bound = limit + limit / 10;
        // A second thread measures the directory all along, as an operator's `du` would:
        // compactions and fjall's background work must keep to the bound too.
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (sampling, path) = (sampling.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                // The largest sample, with what the journals held then.
                let mut peak = (0, 0);
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    let all = allocated(&path);
                    if all > peak.0 {
                        peak = (all, journals(&path));
                    }
                    std::thread::yield_now();
                }
                peak
            })
        };
        let (mut written, mut peak, mut seq) = (0u64, 0u64, 0u64);
        // Per simulated second: 20 batches of 40 records (1 to 24 KB, a third of them
        // compressible), a tenth of the keys written again.
        let per_second = limit / 16;
        let mut now = 0u64;
        while written < 3 * limit {
            now += 1000;
            let mut this_second = 0u64;
            while this_second < per_second {
                let ops: Vec<WriteOp> = (0..40)
                    .map(|_| {
                        seq += 1;
                        let key = if seq % 10 == 0 { seq / 7 } else { seq };
                        let len = 1024 + (seq * 7919 % 24) as usize * 1024;
                        let record = if seq % 3 == 0 {
                            vec![b'x'; len]
                        } else {
                            noise(seq, len)
                        };
                        this_second += len as u64;
                        WriteOp::Put {
                            key: Key::new(format!(
                                "plex GET /library/metadata/{key} u={}",
                                seq % 4
                            )),
                            record: Bytes::from(record),
                            expires_at_ms: now + 60_000 + seq % 600_000,
                        }
                    })
                    .collect();
                tier.write_sync(ops).unwrap();
                let on_disk = tier.file_bytes();
                peak = peak.max(on_disk);
                assert!(
                    on_disk <= bound,
                    "limit {limit}: the directory holds {on_disk} bytes after {written} written, \
                     over {bound}"
                );
            }
            written += this_second;
            tier.maintain_sync(now).unwrap();
        }
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let (sampled, journal) = sampler.join().unwrap();
        assert!(
            sampled <= bound,
            "limit {limit}: the directory reached {sampled} bytes at some moment ({journal} of \
             them journals), over {bound}"
        );
        let usage = tier.usage();
        assert!(
            usage.bytes >= limit / 4,
            "limit {limit}: the records were squeezed out ({usage:?})"
        );
        assert!(usage.entries < seq, "nothing was evicted: {usage:?}");
        eprintln!(
            "limit {limit}: peak {sampled} bytes ({:.3}x the limit, {journal} of them journals), \
             after each batch {peak}; {usage:?}",
            sampled as f64 / limit as f64
        );
    }
}

#[test]
fn writes_faster_than_maintenance_refuse_records_rather_than_pass_the_limit() {
    // No maintenance pass at all while three times the limit is written: eviction and
    // compaction never run, so only the write path can keep the directory within its limit.
    let limit = 64 * MIB;
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path(), limit).unwrap();
    let bound = limit + limit / 10;
    let key = |i: u64| Key::new(format!("plex GET /library/metadata/{i} u=1"));
    let len = |i: u64| 8 * 1024 + (i * 7919 % 16) as usize * 1024;
    let (mut written, mut seq) = (0u64, 0u64);
    while written < 3 * limit {
        let ops: Vec<WriteOp> = (0..40)
            .map(|_| {
                seq += 1;
                written += len(seq) as u64;
                WriteOp::Put {
                    key: key(seq),
                    record: Bytes::from(noise(seq, len(seq))),
                    expires_at_ms: 3_600_000 + seq,
                }
            })
            .collect();
        tier.write_sync(ops).unwrap();
        let on_disk = tier.file_bytes();
        assert!(
            on_disk <= bound,
            "the directory holds {on_disk} bytes after {written} written, over {bound}"
        );
    }
    // The first record, written while there was room, is whole; writing it again in a batch
    // larger than the room left is refused and leaves no older copy of it to be read.
    let read_len = |i: u64| tier.get_sync(key(i).as_str()).unwrap().map(|r| r.len());
    assert_eq!(read_len(1), Some(len(1)));
    tier.write_sync(
        (0..64)
            .map(|i| WriteOp::Put {
                key: key(if i == 0 { 1 } else { 1_000_000 + i }),
                record: Bytes::from(noise(i, 256 * 1024)),
                expires_at_ms: 3_600_000,
            })
            .collect(),
    )
    .unwrap();
    assert_eq!(read_len(1), None);
    assert_eq!(read_len(1_000_001), None);
    // Every put of that batch, and some of the loop's, were refused; asking again says none.
    let refused = tier.take_refused_puts();
    assert!(refused >= 64, "{refused} refused");
    assert_eq!(tier.take_refused_puts(), 0);
    // Maintenance frees room (eviction to the records' budget, then a compaction that
    // collects the dead blob files, at most one a second of its clock): writes are taken
    // again.
    for second in 1..=5 {
        tier.maintain_sync(second * 1000).unwrap();
        tier.write_sync(vec![WriteOp::Put {
            key: key(0),
            record: Bytes::from(noise(0, 4096)),
            expires_at_ms: 3_600_000,
        }])
        .unwrap();
        if read_len(0).is_some() {
            break;
        }
    }
    assert_eq!(read_len(0), Some(4096), "{:?}", tier.usage());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_the_directory_refuses_are_dropped_writes_and_served_from_memory() {
    // Twice the smallest limit in incompressible entries, faster than maintenance makes room
    // (housekeeping off; the worker's pass comes at most once a second): the directory
    // fills, and what it refuses is counted as dropped, not written.
    let store = Store::new();
    let cache = store
        .open_with(Opening {
            memory_max: 256 << 20,
            disk_max: DiskTier::SMALLEST_LIMIT,
            queue: 100_000,
            batch_interval: Duration::from_millis(1),
            ..OPENING
        })
        .await;
    let n = 2 * DiskTier::SMALLEST_LIMIT / (64 * 1024);
    for i in 0..n {
        put(&cache, i, noise(i, 64 * 1024)).await;
        if i % 64 == 63 {
            cache.flush().await;
        }
    }
    cache.flush().await;
    let s = cache.stats();
    let disk = s.tier(TierKind::Disk).unwrap();
    assert!(disk.dropped_writes > 0, "nothing refused: {disk:?}");
    assert_eq!(
        disk.writes + disk.dropped_writes,
        n,
        "every put is written or dropped: {disk:?}"
    );
    assert!(
        disk.file_bytes.unwrap() <= DiskTier::SMALLEST_LIMIT + DiskTier::SMALLEST_LIMIT / 10,
        "{disk:?}"
    );
    for i in 0..n {
        assert!(
            cache.get(&Key::new(format!("k{i}"))).await.is_some(),
            "entry {i} is not served from memory"
        );
    }
    cache.shutdown().await;
}

#[test]
fn removed_records_give_their_space_back_to_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path(), 1 << 30).unwrap();
    for round in 0..4u64 {
        let ops = (0..100u64)
            .map(|i| WriteOp::Put {
                key: Key::new(format!("r{round}-{i}")),
                record: Bytes::from(noise(round * 1000 + i, 50_000)),
                expires_at_ms: 10 + round,
            })
            .collect();
        tier.write_sync(ops).unwrap();
    }
    tier.persist(false).unwrap();
    tier.compact().unwrap();
    let full = tier.file_bytes();
    assert!(full > 15_000_000, "{full}");
    let report = tier.maintain_sync(1_000).unwrap();
    assert_eq!(report.expired, 400);
    assert_eq!(tier.usage().entries, 0);
    tier.compact().unwrap();
    let after = tier.file_bytes();
    // The records (20 MB) are given back; fjall's active journal keeps what it has
    // written until it is sealed (at 32 MiB for this limit), so allow for that.
    assert!(after + 15_000_000 < full, "before {full}, after {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_write_queue_drops_and_counts_and_never_blocks() {
    let store = Store::new();
    // A tiny queue and a long batching window: the worker holds its first batch for an hour
    // (unless flushed), so the queue fills.
    let cache = store.open_with(FOUR_HELD).await;
    for i in 0..100 {
        put(&cache, i, "v").await;
    }
    cache.flush().await;
    let s = cache.stats();
    let disk = s.tier(TierKind::Disk).unwrap();
    assert!(s.write_behind.dropped > 0, "{s:?}");
    assert_eq!(disk.writes + s.write_behind.dropped, 100, "{s:?}");
    assert_eq!(disk.dropped_writes, s.write_behind.dropped);
    assert_eq!(
        s.class("metadata").unwrap().dropped_writes,
        s.write_behind.dropped
    );
    // Every insert is served from memory regardless.
    for i in 0..100 {
        assert!(cache.get(&Key::new(format!("k{i}"))).await.is_some());
    }
    cache.shutdown().await;
}

/// A tier below memory that keeps nothing, counts the records written to it, and whose
/// maintenance pass does not end until `release` is notified (a sweep or compaction that
/// takes its time).
struct SlowToMaintain {
    written: Arc<std::sync::atomic::AtomicU64>,
    passes: Arc<std::sync::atomic::AtomicU64>,
    release: Arc<tokio::sync::Semaphore>,
    /// When set, each write also waits for a permit of it (a disk slow to write a batch).
    writes_held: Option<Arc<tokio::sync::Semaphore>>,
}

impl Tier for SlowToMaintain {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }
    fn get<'a>(
        &'a self,
        _key: &'a Key,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Bytes>, cachearr_engine::TierError>>
    {
        Box::pin(async { Ok(None) })
    }
    fn write(
        &self,
        ops: Vec<WriteOp>,
    ) -> futures_util::future::BoxFuture<'_, Result<(), cachearr_engine::TierError>> {
        let puts = ops
            .iter()
            .filter(|op| matches!(op, WriteOp::Put { .. }))
            .count();
        self.written
            .fetch_add(puts as u64, std::sync::atomic::Ordering::SeqCst);
        let held = self.writes_held.clone();
        Box::pin(async move {
            if let Some(held) = held {
                let _ = held.acquire().await;
            }
            Ok(())
        })
    }
    fn load_meta(
        &self,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<cachearr_engine::PersistedMeta, cachearr_engine::TierError>,
    > {
        Box::pin(async { Ok(cachearr_engine::PersistedMeta::default()) })
    }
    fn maintain(
        &self,
        _now_ms: u64,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<cachearr_engine::MaintenanceReport, cachearr_engine::TierError>,
    > {
        Box::pin(async {
            self.passes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = self.release.acquire().await;
            Ok(cachearr_engine::MaintenanceReport::default())
        })
    }
    fn usage(&self) -> cachearr_engine::TierUsage {
        cachearr_engine::TierUsage::default()
    }
}

/// A maintenance pass that takes its time (a compaction) runs beside the writes: the queue
/// keeps draining, nothing is dropped.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_slow_maintenance_pass_does_not_hold_up_the_write_behind_queue() {
    let (written, passes) = (Arc::default(), Arc::default());
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let tier = SlowToMaintain {
        written: Arc::clone(&written),
        passes: Arc::clone(&passes),
        release: release.clone(),
        writes_held: None,
    };
    let cache = TieredCache::builder()
        .tier(Arc::new(tier))
        .clock(Arc::new(ManualClock::default()))
        .housekeeping(false)
        .write_behind(8, Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    put(&cache, 0, "v").await;
    cache.flush().await;
    // A second on, the next batch starts a maintenance pass, which does not end.
    tokio::time::advance(Duration::from_millis(1100)).await;
    put(&cache, 1, "v").await;
    eventually("the maintenance pass starts", WAIT, async || {
        passes.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    let written_up_to = async |n: u64| {
        eventually("the worker writes what was queued", WAIT, async || {
            written.load(std::sync::atomic::Ordering::SeqCst) >= n
        })
        .await;
    };
    // 200 more puts, four at a time, each four written before the next (the queue holds
    // eight), while the pass runs: a worker held up by the pass never catches up.
    for i in 2..202 {
        put(&cache, i, "v").await;
        if i % 4 == 0 {
            written_up_to(i + 1).await;
        }
    }
    written_up_to(202).await;
    let s = cache.stats();
    assert_eq!(s.write_behind.dropped, 0, "{s:?}");
    assert_eq!(written.load(std::sync::atomic::Ordering::SeqCst), 202);
    assert_eq!(passes.load(std::sync::atomic::Ordering::SeqCst), 1);
    release.add_permits(100);
    cache.shutdown().await;
}

/// While a batch is being written, a large answer that does not fit in the queue's bytes is
/// taken beside them (one at a time), and the small puts after it still fit: neither the
/// large answer nor the small ones are dropped for the other.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_large_answer_that_does_not_fit_is_queued_beside_the_small_ones() {
    let written = Arc::new(std::sync::atomic::AtomicU64::default());
    let writes_held = Arc::new(tokio::sync::Semaphore::new(0));
    let cache = queue_behind_held_writes(&written, &writes_held).await;
    let queue = || cache.stats().write_behind;
    // 1.2 MB each: the first fits; the second does not and is taken beside; a small put
    // after them still fits; a third large one finds the place beside taken.
    put(&cache, 2, noise(2, 1_200_000)).await;
    put(&cache, 3, noise(3, 1_200_000)).await;
    put(&cache, 4, "v").await;
    assert_eq!(queue().dropped, 0, "{:?}", queue());
    // (what is queued, the large answer beside the bound included)
    assert!(queue().queued_bytes > 2 << 20, "{:?}", queue());
    put(&cache, 5, noise(5, 1_200_000)).await;
    assert_eq!(queue().dropped, 1, "{:?}", queue());
    writes_held.add_permits(1);
    cache.flush().await;
    assert_eq!(written.load(std::sync::atomic::Ordering::SeqCst), 5);
    assert_eq!(queue().queued_bytes, 0);
    // The place beside is free again once its put is written.
    writes_held.add_permits(100);
    put(&cache, 6, noise(6, 1_900_000)).await;
    put(&cache, 7, noise(7, 1_900_000)).await;
    assert_eq!(queue().dropped, 1, "{:?}", queue());
    cache.shutdown().await;
}

/// A cache on a tier whose batch writes wait for permits of `writes_held`, with the queue's
/// smallest share (2 MiB), whose first batch is being written and second waits behind it:
/// what is put next stays queued until the writes are let go.
async fn queue_behind_held_writes(
    written: &Arc<std::sync::atomic::AtomicU64>,
    writes_held: &Arc<tokio::sync::Semaphore>,
) -> TieredCache {
    let tier = SlowToMaintain {
        written: Arc::clone(written),
        passes: Arc::default(),
        release: Arc::new(tokio::sync::Semaphore::new(100)),
        writes_held: Some(writes_held.clone()),
    };
    let cache = TieredCache::builder()
        .tier(Arc::new(tier))
        .clock(Arc::new(ManualClock::default()))
        .housekeeping(false)
        .memory_max_bytes(16 << 20)
        .write_behind(64, Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    assert_eq!(cache.stats().write_behind.max_bytes, 2 << 20);
    put(&cache, 0, "v").await;
    eventually("the first batch is being written", WAIT, async || {
        written.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
    put(&cache, 1, "v").await;
    eventually("the second batch waits behind it", WAIT, async || {
        let q = cache.stats().write_behind;
        q.queued == 0 && q.queued_bytes == 0
    })
    .await;
    cache
}

/// A put that finds the queue's bytes full waits for the room the next batch gives back
/// and is written, not dropped: a burst of large answers arriving together fills the queue
/// while the writer keeps pace.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_put_that_finds_the_queue_full_waits_for_room_and_is_written() {
    let written = Arc::new(std::sync::atomic::AtomicU64::default());
    let writes_held = Arc::new(tokio::sync::Semaphore::new(0));
    let cache = queue_behind_held_writes(&written, &writes_held).await;
    let queue = || cache.stats().write_behind;
    // 400 kB each (under a quarter of the queue): four fit, the fifth does not.
    for i in 2..6 {
        put(&cache, i, noise(i, 400_000)).await;
    }
    let fifth = tokio::spawn({
        let cache = cache.clone();
        async move { put(&cache, 6, noise(6, 400_000)).await }
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!fifth.is_finished(), "the fifth put waits for room");
    assert_eq!(queue().dropped, 0, "{:?}", queue());
    assert!(queue().queued_bytes <= 2 << 20, "{:?}", queue());
    // The writes go on: the next batch takes the four, and the fifth is queued.
    writes_held.add_permits(100);
    fifth.await.unwrap();
    cache.flush().await;
    assert_eq!(queue().dropped, 0, "{:?}", queue());
    assert_eq!(written.load(std::sync::atomic::Ordering::SeqCst), 7);
    cache.shutdown().await;
}

/// A put that waited for room in vain is dropped, and says the lower tiers are behind: the
/// puts after it that find no room are dropped at once, until a batch takes the queue.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_put_that_waited_in_vain_has_the_next_ones_dropped_without_waiting() {
    let written = Arc::new(std::sync::atomic::AtomicU64::default());
    let writes_held = Arc::new(tokio::sync::Semaphore::new(0));
    let cache = queue_behind_held_writes(&written, &writes_held).await;
    let queue = || cache.stats().write_behind;
    for i in 2..6 {
        put(&cache, i, noise(i, 400_000)).await;
    }
    let started = tokio::time::Instant::now();
    put(&cache, 6, noise(6, 400_000)).await;
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited");
    assert_eq!(queue().dropped, 1, "{:?}", queue());
    let started = tokio::time::Instant::now();
    put(&cache, 7, noise(7, 400_000)).await;
    assert_eq!(started.elapsed(), Duration::ZERO, "dropped without waiting");
    assert_eq!(queue().dropped, 2, "{:?}", queue());
    // Once the writes go on and a batch takes the queue, puts are taken again.
    writes_held.add_permits(100);
    cache.flush().await;
    for i in 8..13 {
        put(&cache, i, noise(i, 400_000)).await;
    }
    cache.flush().await;
    assert_eq!(queue().dropped, 2, "{:?}", queue());
    cache.shutdown().await;
}

/// The `dropped=` counts of the write-behind queue's warnings so far.
fn dropped_warnings(logs: &std::sync::Mutex<Vec<u8>>) -> Vec<u64> {
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter(|l| l.contains("write-behind queue full"))
        .map(|l| {
            let at = l.find("dropped=").expect("a count") + "dropped=".len();
            l[at..].split(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_writes_are_warned_about_once_per_ten_seconds_with_their_count() {
    let (_guard, logs) = capture_logs(tracing::Level::WARN);
    let store = Store {
        clock: Arc::new(ManualClock::new(1_000_000)),
        ..Store::new()
    };
    let clock = &store.clock;
    let cache = store.open_with(FOUR_HELD).await;
    let mut n = 0;
    let mut put_more = async |count: usize| {
        for _ in 0..count {
            n += 1;
            put(&cache, n, "v").await;
        }
    };
    put_more(30).await;
    let dropped = cache.stats().write_behind.dropped;
    assert!(dropped >= 20, "{dropped}");
    // The first drop is told at once; the others wait for the next line.
    assert_eq!(dropped_warnings(&logs), [1]);
    clock.advance(Duration::from_secs(9));
    put_more(10).await;
    assert_eq!(dropped_warnings(&logs), [1]);
    clock.advance(Duration::from_secs(1));
    put_more(1).await;
    // Ten seconds on: one line with every drop since the first.
    assert_eq!(dropped_warnings(&logs), [1, dropped - 1 + 11]);
    assert_eq!(cache.stats().write_behind.dropped, dropped + 11);
    cache.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_the_write_behind_queue() {
    let store = Store::new();
    {
        let cache = store
            .open_with(Opening {
                queue: 10_000,
                ..FOUR_HELD
            })
            .await;
        for i in 0..500 {
            put(&cache, i, format!("value {i}")).await;
        }
        cache.shutdown().await;
    }
    let cache = store.open().await;
    for i in 0..500 {
        let l = cache
            .get(&Key::new(format!("k{i}")))
            .await
            .expect("persisted");
        assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
        assert_eq!(body(&l), format!("value {i}"));
    }
    assert_eq!(cache.stats().tier(TierKind::Disk).unwrap().entries, 500);
    cache.shutdown().await;
}

#[tokio::test]
async fn memory_limit_evicts_and_counts() {
    let clock = Arc::new(ManualClock::default());
    let cache = TieredCache::builder()
        .memory_max_bytes(1_000_000)
        .clock(clock.clone())
        .housekeeping(false)
        .build()
        .await
        .unwrap();
    for i in 0..100u64 {
        put(&cache, i, noise(i, 50_000)).await;
        cache.run_pending_tasks().await;
    }
    cache.run_pending_tasks().await;
    let s = cache.stats();
    let mem = s.tier(TierKind::Memory).unwrap();
    assert!(mem.bytes <= 1_000_000, "{mem:?}");
    assert!(mem.evictions > 0, "{mem:?}");
    assert_eq!(s.class("metadata").unwrap().evictions, mem.evictions);
    assert!(mem.entries < 100);
}

/// What the application keeps beside each entry is weighed with it: the same values fill a
/// tier with it in fewer entries, and the tier's bytes (and its classes') count it.
#[tokio::test]
async fn what_is_held_beside_an_entry_counts_against_the_memory_limit() {
    async fn fill(beside: u64) -> (u64, u64, u64) {
        let cache = TieredCache::builder()
            .memory_max_bytes(1_000_000)
            .clock(Arc::new(ManualClock::default()))
            .housekeeping(false)
            .held_beside(move |v: &CachedValue| beside + v.headers.len() as u64)
            .build()
            .await
            .unwrap();
        for i in 0..100u64 {
            let mut v = CachedValue::new(200, noise(i, 5_000));
            v.headers.push(("content-type".into(), "text/plain".into()));
            cache
                .insert(&Key::new(format!("k{i:03}")), &policy(), v)
                .await;
            cache.run_pending_tasks().await;
        }
        let s = cache.stats();
        let mem = s.tier(TierKind::Memory).unwrap();
        assert!(mem.bytes <= 1_000_000, "{mem:?}");
        (mem.entries, mem.bytes, s.class("metadata").unwrap().bytes)
    }
    let (entries, bytes, class_bytes) = fill(0).await;
    assert_eq!(entries, 100, "the values alone fit");
    assert_eq!(class_bytes, bytes);
    let (entries_beside, bytes_beside, class_bytes_beside) = fill(5_000).await;
    assert!(
        entries_beside < 100,
        "{entries_beside} entries fit with as much again beside each"
    );
    let beside_each = bytes_beside / entries_beside - bytes / entries;
    assert!(
        (5_000..=5_002).contains(&beside_each),
        "{beside_each} bytes more per entry, not 5,001"
    );
    assert_eq!(class_bytes_beside, bytes_beside);
}

#[tokio::test]
async fn stats_report_per_class_entries_bytes_and_ages() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let images = Policy::new("images", 3600 * SEC);
    lookup(&cache, &Key::new("i1"), &images, loader.clone()).await;
    clock.advance(30 * SEC);
    lookup(&cache, &Key::new("i2"), &images, loader.clone()).await;
    lookup(&cache, &Key::new("m1"), &policy(), loader.clone()).await;
    clock.advance(5 * SEC);
    lookup(&cache, &Key::new("i1"), &images, loader.clone()).await;
    let s = cache.stats();
    let i = s.class("images").unwrap();
    assert_eq!((i.entries, i.misses, i.hits, i.hits_memory), (2, 2, 1, 1));
    assert_eq!(i.oldest_age_ms, Some(35_000));
    assert_eq!(i.newest_age_ms, Some(5_000));
    assert!(i.bytes > 0);
    let m = s.class("metadata").unwrap();
    assert_eq!((m.entries, m.misses), (1, 1));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["classes"][0]["class"], "images");
    assert_eq!(json["tiers"][0]["tier"], "memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_do_not_count_as_lookups_so_disk_lookups_never_outnumber_memory_misses() {
    let store = Store::new();
    let cache = store.open().await;
    // Play-state probes (`get`) for keys that are nowhere: a disk read each, no client lookup.
    for i in 0..12 {
        assert!(cache.get(&Key::new(format!("probe-{i}"))).await.is_none());
    }
    let key = Key::new("client");
    lookup(&cache, &key, &policy(), CountingLoader::new()).await;
    cache.flush().await;
    // A probe that finds the entry is not a hit either.
    assert!(cache.get(&key).await.is_some());
    let s = cache.stats();
    let (memory, disk) = (
        s.tier(TierKind::Memory).unwrap(),
        s.tier(TierKind::Disk).unwrap(),
    );
    assert_eq!((memory.hits, memory.misses), (0, 1), "{memory:?}");
    assert_eq!((disk.hits, disk.misses), (0, 1), "{disk:?}");
}

/// Callers that find a load of their key under way wait for it without reading the disk tier:
/// a cold burst costs one disk lookup, not one per caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_joining_a_running_load_do_not_read_the_disk_tier() {
    let store = Store::new();
    let cache = store.open().await;
    let gate = Arc::new(tokio::sync::Notify::new());
    let loader: Arc<dyn cachearr_engine::Loader> = {
        let gate = gate.clone();
        Arc::new(move || {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok(cachearr_engine::Fill::Store(CachedValue::new(200, "one")))
            }
        })
    };
    let key = Key::new("cold");
    let spawn = |n: usize| {
        (0..n)
            .map(|_| {
                let (cache, key, loader) = (cache.clone(), key.clone(), loader.clone());
                tokio::spawn(async move { cache.get_or_load(&key, &policy(), loader).await })
            })
            .collect::<Vec<_>>()
    };
    // The first caller looks in memory and on disk, then starts the load and waits.
    let mut tasks = spawn(1);
    let counted = |n: u64| {
        let cache = cache.clone();
        async move {
            cache
                .stats()
                .class("metadata")
                .is_some_and(|c| c.misses + c.coalesced == n)
        }
    };
    eventually("the load started", WAIT, async || counted(1).await).await;
    // The others come while it runs.
    tasks.extend(spawn(99));
    eventually("every caller waits", WAIT, async || counted(100).await).await;
    gate.notify_one();
    for t in tasks {
        assert_eq!(body(&t.await.unwrap().unwrap()), "one");
    }
    let s = cache.stats();
    let (memory, disk) = (
        s.tier(TierKind::Memory).unwrap(),
        s.tier(TierKind::Disk).unwrap(),
    );
    assert_eq!(memory.misses, 100, "{memory:?}");
    assert_eq!(
        (disk.hits, disk.misses),
        (0, 1),
        "one disk lookup: {disk:?}"
    );
    assert_eq!(s.class("metadata").unwrap().coalesced, 99);
}

/// Notes how many tag generations each write to the disk persisted.
struct RowCounter(Arc<std::sync::Mutex<Vec<usize>>>);

impl WriteHook for RowCounter {
    fn write<'a>(
        &'a self,
        disk: &'a DiskTier,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<(), TierError>> {
        for op in &ops {
            if let WriteOp::SetTagGenerations { set, forget } = op {
                self.0.lock().unwrap().push(set.len() + forget.len());
            }
        }
        disk.write(ops)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_bump_persists_one_row_not_every_tag_and_rows_survive_restarts() {
    let store = Store::new();
    let loader = CountingLoader::new();
    let key = |i: u32| Key::new(format!("plex|/library/metadata/{i}"));
    let tagged = |i: u32| policy().with_tag(format!("item:{i}"));
    let rows = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let cache = TieredCache::builder()
            .memory_max_bytes(OPENING.memory_max)
            .tier(Arc::new(HookedDisk {
                disk: DiskTier::open(store.path(), OPENING.disk_max).unwrap(),
                hook: RowCounter(rows.clone()),
            }))
            .clock(store.clock.clone())
            .housekeeping(false)
            .write_behind(OPENING.queue, OPENING.batch_interval)
            .build()
            .await
            .unwrap();
        for i in 0..3 {
            lookup(&cache, &key(i), &tagged(i), loader.clone()).await;
        }
        cache.flush().await;
        for i in 100..600 {
            cache.invalidate_tag(&format!("item:{i}"));
        }
        cache.flush().await;
        assert_eq!(rows.lock().unwrap().iter().sum::<usize>(), 500);
        rows.lock().unwrap().clear();
        cache.invalidate_tag("item:0");
        cache.flush().await;
        assert_eq!(
            *rows.lock().unwrap(),
            vec![1],
            "one bump writes one row, not all 501"
        );
        cache.shutdown().await;
    }
    // Restart: bumps made before it still hold; a bump after it adds to them.
    {
        let cache = store.open().await;
        assert!(cache.get(&key(0)).await.is_none(), "bumped before restart");
        assert!(cache.get(&key(1)).await.is_some());
        cache.invalidate_tag("item:1");
        cache.flush().await;
        cache.shutdown().await;
    }
    let cache = store.open().await;
    assert!(
        cache.get(&key(0)).await.is_none(),
        "first bump, two restarts ago"
    );
    assert!(
        cache.get(&key(1)).await.is_none(),
        "second bump, one restart ago"
    );
    let l = lookup(&cache, &key(2), &tagged(2), loader.clone()).await;
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
    cache.shutdown().await;
}

/// Allocated bytes under `dir` (`du`); files that vanish while being measured count nothing.
fn allocated(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => allocated(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Allocated bytes of the journals (`*.jnl`) at the top of a store's directory.
fn journals(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "jnl"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.blocks() * 512)
                .sum()
        })
        .unwrap_or(0)
}
