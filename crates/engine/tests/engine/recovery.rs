//! A damaged disk store at start (flipped bits in the journal, damaged or truncated table
//! files, a bad `version` file): the cache starts anyway. A store that cannot be read back is
//! moved aside to `<dir>.damaged-<time>` with a warning and a fresh one takes its place; a
//! store that opens despite the damage never answers with a wrong record.

use std::path::{Path, PathBuf};

use cachearr_engine::{CachedValue, DiskTier, EngineError, Key, Outcome, TierKind, TieredCache};

use crate::common::*;

const RECORDS: u64 = 120;

fn record_body(i: u64) -> Vec<u8> {
    // Small records stay in the tree's tables, large ones go to blob files.
    let len = if i.is_multiple_of(3) { 9000 } else { 300 };
    let mut b = format!("record {i}:").into_bytes();
    b.extend(noise(i, len));
    b
}

/// A cache on the store in `at`, on the real clock.
async fn open(at: &Path) -> Result<TieredCache, EngineError> {
    TieredCache::builder()
        .disk(at, 1 << 30)
        .housekeeping(false)
        .build()
        .await
}

/// Inserts the records numbered `numbers` and writes them to the store.
async fn insert_records(cache: &TieredCache, numbers: std::ops::Range<u64>) {
    for i in numbers {
        let v = CachedValue::new(200, record_body(i));
        cache
            .insert(&Key::new(format!("k{i}")), &lasting_policy(), v)
            .await;
    }
    cache.flush().await;
}

/// Builds a real store in `at`: records written through the cache, then the memtables
/// flushed to table and blob files, then more records left in the journal only.
async fn write_store(at: &Path) {
    let cache = open(at).await.unwrap();
    insert_records(&cache, 0..RECORDS / 2).await;
    cache.shutdown().await;
    drop(cache);
    let tier = DiskTier::open(at, 1 << 30).unwrap();
    tier.compact().unwrap();
    drop(tier);
    let cache = open(at).await.unwrap();
    insert_records(&cache, RECORDS / 2..RECORDS).await;
    cache.shutdown().await;
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Flips one bit in every 97th byte of `f` from `from` on (a scattered, media-style error).
fn flip_bits(f: &Path, from: usize) {
    let mut b = std::fs::read(f).unwrap();
    let mut i = from;
    while i < b.len() {
        b[i] ^= 0x10;
        i += 97;
    }
    std::fs::write(f, b).unwrap();
}

fn truncate_half(f: &Path) {
    let len = std::fs::metadata(f).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(f)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
}

/// Which files of a store a kind of damage hits.
fn journal_files(store: &Path) -> Vec<PathBuf> {
    files_under(store)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jnl"))
        .collect()
}

fn table_files(store: &Path) -> Vec<PathBuf> {
    files_under(store)
        .into_iter()
        .filter(|f| f.components().any(|c| c.as_os_str() == "tables"))
        .collect()
}

/// What starting on a damaged copy did.
#[derive(Debug, PartialEq)]
enum Started {
    MovedAside,
    OpenedAsIs,
}

/// Starts a cache on the damaged store in `at` and checks the promises: it starts, the disk
/// tier is on, no record comes back wrong, a store moved aside is reported and kept beside,
/// and the (fresh or surviving) store takes new records that survive a restart.
async fn start_on(at: &Path) -> Started {
    let cache = open(at)
        .await
        .expect("a damaged store never stops the cache from starting");
    let stats = cache.stats();
    assert!(stats.tier(TierKind::Disk).unwrap().enabled, "{stats:?}");
    let moved: Vec<PathBuf> = std::fs::read_dir(at.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("cache.damaged-")
        })
        .collect();
    let started = if moved.is_empty() {
        assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
        Started::OpenedAsIs
    } else {
        assert_eq!(moved.len(), 1, "{moved:?}");
        let w = stats.warnings.join("\n");
        assert!(
            w.contains("damaged") && w.contains(&moved[0].display().to_string()),
            "{w}"
        );
        // The damaged copy is kept whole for inspection.
        assert!(moved[0].join("version").exists() || moved[0].join("keyspaces").exists());
        Started::MovedAside
    };
    let mut served = 0;
    for i in 0..RECORDS {
        if let Some(l) = cache.get(&Key::new(format!("k{i}"))).await {
            assert_eq!(l.entry.value.body, record_body(i), "k{i} came back wrong");
            served += 1;
        }
    }
    if started == Started::MovedAside {
        assert_eq!(served, 0, "a fresh store holds nothing");
    }
    eprintln!("{}: {started:?}, {served} records served", at.display());
    let v = CachedValue::new(200, "after");
    cache.insert(&Key::new("after"), &lasting_policy(), v).await;
    cache.flush().await;
    cache.shutdown().await;
    drop(cache);
    let cache = open(at).await.unwrap();
    let l = cache.get(&Key::new("after")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
    assert!(cache.stats().warnings.is_empty());
    cache.shutdown().await;
    started
}

/// A fresh copy of a real store in `<dir>/<case>/cache`.
fn copy_of(pristine: &Path, root: &Path, case: &str) -> PathBuf {
    let at = root.join(case).join("cache");
    cachearr_testkit::copy_dir(pristine, &at);
    at
}

/// [`copy_of`] with `damage` done to each of the copy's `files`.
fn damaged_copy(
    pristine: &Path,
    root: &Path,
    case: &str,
    files: fn(&Path) -> Vec<PathBuf>,
    damage: fn(&Path),
) -> PathBuf {
    let at = copy_of(pristine, root, case);
    for f in files(&at) {
        damage(&f);
    }
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_moved_aside_or_read_safely_and_the_cache_starts() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine").join("cache");
    write_store(&pristine).await;
    assert!(
        !journal_files(&pristine).is_empty(),
        "{:?}",
        files_under(&pristine)
    );
    assert!(
        !table_files(&pristine).is_empty(),
        "{:?}",
        files_under(&pristine)
    );

    // Undamaged: opens as is with every record.
    let at = copy_of(&pristine, root.path(), "undamaged");
    assert_eq!(start_on(&at).await, Started::OpenedAsIs);

    // A version marker of another format: nothing in the store can be trusted.
    let at = copy_of(&pristine, root.path(), "version");
    std::fs::write(at.join("version"), b"not a version marker").unwrap();
    assert_eq!(start_on(&at).await, Started::MovedAside);

    // No version marker at all beside existing files.
    let at = copy_of(&pristine, root.path(), "version-empty");
    std::fs::write(at.join("version"), b"").unwrap();
    assert_eq!(start_on(&at).await, Started::MovedAside);

    let damaged =
        |case, files, damage: fn(&Path)| damaged_copy(&pristine, root.path(), case, files, damage);
    // Flipped bits throughout the journal (past its first bytes).
    start_on(&damaged("journal-bits", journal_files, |f| {
        flip_bits(f, 64)
    }))
    .await;
    // Flipped bits in the journal's header too.
    start_on(&damaged("journal-head", journal_files, |f| flip_bits(f, 0))).await;
    // Flipped bits in every table file.
    start_on(&damaged("table-bits", table_files, |f| flip_bits(f, 0))).await;
    // Table files cut in half.
    start_on(&damaged("table-truncated", table_files, truncate_half)).await;
    // Every file of the store cut in half.
    start_on(&damaged("all-truncated", files_under, truncate_half)).await;
}
