//! Faults the engine must survive: a full disk, a read-only directory, a process killed in
//! the middle of write-behind.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use cachearr_engine::{
    CachedValue, DiskTier, EngineError, Key, Outcome, Policy, Tier, TierError, TierKind,
    TieredCache, WriteOp,
};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::common::*;

/// A tmpfs mounted for one test, unmounted (lazily, in case a store thread still holds a
/// file) when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "2m") with extra `options`, if this machine lets us.
    fn mount(at: &Path, size: &str, options: &str) -> Option<Self> {
        std::fs::create_dir_all(at).ok()?;
        let opts = if options.is_empty() {
            format!("size={size}")
        } else {
            format!("size={size},{options}")
        };
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fallback when mounting is refused: writes to the real disk tier fail like a full device
/// once `capacity` bytes have been written.
struct Filling {
    written: AtomicU64,
    capacity: u64,
}

impl WriteHook for Filling {
    fn write<'a>(
        &'a self,
        disk: &'a DiskTier,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<(), TierError>> {
        let size: u64 = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { record, .. } => record.len() as u64,
                _ => 0,
            })
            .sum();
        if self.written.fetch_add(size, Ordering::SeqCst) + size > self.capacity {
            return async {
                Err(TierError::store(
                    "disk",
                    "No space left on device (os error 28) [injected]",
                ))
            }
            .boxed();
        }
        disk.write(ops)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_a_full_disk_switches_the_disk_tier_off_and_memory_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("small");
    let mount = Tmpfs::mount(&at, "2m", "");
    let builder = TieredCache::builder()
        .memory_max_bytes(256 << 20)
        .housekeeping(false)
        .write_behind(1000, std::time::Duration::from_millis(1));
    let cache = match &mount {
        // The real thing: fjall on a 2 MiB tmpfs.
        Some(_) => builder.disk(&at, 1 << 30).build().await.unwrap(),
        None => {
            eprintln!("mount refused: using an injected write-failing tier instead of tmpfs");
            let tier = HookedDisk {
                disk: DiskTier::open(&at, 1 << 30).unwrap(),
                hook: Filling {
                    written: AtomicU64::new(0),
                    capacity: 2 << 20,
                },
            };
            builder.tier(Arc::new(tier)).build().await.unwrap()
        }
    };
    let p = Policy::new("images", 3600 * SEC);
    let mut written = 0;
    for i in 0..400u64 {
        // 64 KB of incompressible bytes each: 2 MiB is full after ~30.
        let v = CachedValue::new(200, noise(i, 64 * 1024));
        cache.insert(&Key::new(format!("img{i}")), &p, v).await;
        written += 1;
        if i % 4 == 3 {
            cache.flush().await;
            if !cache.stats().tier(TierKind::Disk).unwrap().enabled {
                break;
            }
        }
    }
    let s = cache.stats();
    let disk = s.tier(TierKind::Disk).unwrap();
    eprintln!("disk tier switched off after {written} writes: {disk:?}");
    assert!(
        !disk.enabled,
        "disk tier still on after {written} writes: {disk:?}"
    );
    assert!(disk.errors >= 1);
    // Memory carries on: everything written is still served, and new loads work.
    for i in 0..written {
        let l = cache
            .get(&Key::new(format!("img{i}")))
            .await
            .expect("served from memory");
        assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
        assert_eq!(&l.entry.value.body[..], &noise(i, 64 * 1024)[..]);
    }
    let loader = CountingLoader::new();
    let key = Key::new("after");
    assert_eq!(
        outcome_of(&cache, &key, &p, loader.clone()).await,
        Outcome::Miss
    );
    assert_eq!(
        outcome_of(&cache, &key, &p, loader).await,
        Outcome::Hit(TierKind::Memory)
    );
    cache.shutdown().await;
    drop(cache);

    if mount.is_some() {
        // At start, a full disk is a clear error. Fill what is left first.
        let mut filler = Vec::new();
        for n in 0.. {
            let f = at.join(format!("filler{n}"));
            if std::fs::write(&f, vec![1u8; 4096]).is_err() {
                break;
            }
            filler.push(f);
        }
        // At start, a full disk leaves the cache in memory only, with a warning; the store is
        // not moved aside (there is nothing wrong with it).
        let _cache = start_memory_only(&at, 1 << 30, "No space left").await;
        assert!(at.join("version").exists());
    }
}

#[tokio::test]
async fn serial_a_read_only_directory_at_start_leaves_memory_only_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("ro");
    let Some(_mount) = Tmpfs::mount(&at, "1m", "ro") else {
        // Root ignores permission bits, so only a read-only mount makes a directory
        // unwritable for us; `disk::an_unusable_directory_at_start_leaves_memory_only_with_a_warning`
        // covers the unmountable case with a path under a regular file.
        eprintln!("mount refused: read-only case not exercised here");
        return;
    };
    let err = DiskTier::open(&at, 1 << 20).unwrap_err();
    let msg = cachearr_engine::Chain(&err).to_string();
    assert!(msg.contains("not writable"), "{msg}");
    let cache = start_memory_only(&at, 1 << 20, "not writable").await;
    cache.shutdown().await;
}

#[tokio::test]
async fn a_store_held_by_another_process_is_a_clear_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("cache");
    // The store's lock is a file lock on an open file description: a second open, even in
    // this process, finds it held, as a second gateway on the same data dir would.
    let holder = DiskTier::open(&at, 1 << 20).unwrap();
    holder
        .write_sync(vec![WriteOp::Put {
            key: Key::new("theirs"),
            record: Bytes::from_static(b"kept"),
            expires_at_ms: u64::MAX,
        }])
        .unwrap();
    // Most likely a second gateway on the same data directory: an error the caller reports
    // (`cachearr serve` says so in plain words) once it has waited a few seconds for the
    // directory to be let go, not a cache running beside the other one.
    let err = TieredCache::builder()
        .disk(&at, 1 << 20)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::DiskOpen { .. }), "{err:?}");
    let msg = cachearr_engine::Chain(&err).to_string();
    assert!(msg.contains("Locked"), "{msg}");
    // Not moved aside, and the holder's records are intact.
    let siblings: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(siblings, vec!["cache".to_owned()]);
    assert_eq!(&holder.get_sync("theirs").unwrap().unwrap()[..], b"kept");
}

/// A cache stopping in the same process lets go of its directory a moment after it stops (its
/// last tasks still hold the store): a new cache on the directory waits for it and opens it,
/// instead of failing as if another process held it.
#[tokio::test]
async fn a_store_let_go_a_moment_later_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("cache");
    let holder = DiskTier::open(&at, 1 << 20).unwrap();
    let (_guard, logs) = capture_logs(tracing::Level::INFO);
    let opening = TieredCache::builder().disk(&at, 1 << 20).build();
    // Let go once the new cache has found the store in use and waits for it.
    let letting_go = async {
        eventually("the new cache waits for the store", WAIT, async || {
            String::from_utf8_lossy(&logs.lock().unwrap()).contains("in use; waiting")
        })
        .await;
        drop(holder);
    };
    let (cache, ()) = tokio::join!(opening, letting_go);
    let cache = cache.unwrap();
    let stats = cache.stats();
    assert!(stats.tier(TierKind::Disk).unwrap().enabled);
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
    // The very store, not one made anew beside a directory moved aside.
    let siblings: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(siblings, vec!["cache".to_owned()]);
    cache.shutdown().await;
}

// --- crash test -------------------------------------------------------------------------

const CRASH_KEYS: u64 = 300;
const CRASH_DIR_ENV: &str = "CACHEARR_CRASH_DIR";

/// The body the child writes for key `i` in round `round`: self-describing, so the parent
/// can check any record it finds is whole.
fn crash_body(i: u64, round: u64) -> Vec<u8> {
    let len = ((i * 7919 + round * 104_729) % 30_000) as usize + 16;
    let mut b = format!("{i}:{round}:").into_bytes();
    b.extend(noise(i * 1_000_003 + round, len));
    b
}

fn check_crash_body(i: u64, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
    let mut parts = text.splitn(3, ':');
    let (Some(pi), Some(pr)) = (parts.next(), parts.next()) else {
        return Err(format!("k{i}: no header in {text:?}"));
    };
    let round: u64 = pr.parse().map_err(|_| format!("k{i}: bad round {pr:?}"))?;
    if pi != i.to_string() {
        return Err(format!("k{i}: body belongs to key {pi}"));
    }
    if body != crash_body(i, round).as_slice() {
        return Err(format!(
            "k{i}: round {round} body is torn ({} bytes)",
            body.len()
        ));
    }
    Ok(())
}

/// The child: writes and overwrites records as fast as it can until it is killed. Run only
/// by `serial_a_process_killed_mid_write_behind_leaves_whole_or_absent_entries`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of the crash test"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else {
        return;
    };
    let cache = TieredCache::builder()
        .disk(PathBuf::from(dir), 1 << 30)
        .write_behind(100_000, std::time::Duration::from_millis(2))
        .build()
        .await
        .expect("child opens the store");
    println!("ready");
    let p = Policy::new("crash", 3600 * SEC).with_tag("crash-tag");
    for round in 0u64.. {
        for i in 0..CRASH_KEYS {
            let key = Key::new(format!("k{i}"));
            if (i + round) % 17 == 0 {
                cache.remove(&key).await;
            } else {
                let v = CachedValue::new(200, crash_body(i, round));
                cache.insert(&key, &p, v).await;
            }
        }
        // The parent kills it after a round it picks, a different one each run.
        println!("round {round}");
        tokio::task::yield_now().await;
    }
}

#[test]
fn serial_a_process_killed_mid_write_behind_leaves_whole_or_absent_entries() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut total_present = 0u64;
    for run in 0..20u64 {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "faults::crash_child", "--nocapture"])
            .env(CRASH_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok);
        let ready = lines.any(|l| l.trim() == "ready");
        assert!(ready, "run {run}: child did not open the store");
        // Kill at a different point of the write stream each run: after its round `kill_after`.
        let kill_after = format!("round {}", (run * 7) % 23);
        let reached = lines.any(|l| l.trim() == kill_after);
        assert!(reached, "run {run}: child stopped before {kill_after}");
        child.kill().unwrap();
        child.wait().unwrap();

        rt.block_on(async {
            let cache = TieredCache::builder()
                .disk(dir.path(), 1 << 30)
                .housekeeping(false)
                .build()
                .await
                .unwrap_or_else(|e| panic!("run {run}: store does not reopen: {e}"));
            let mut present = 0;
            for i in 0..CRASH_KEYS {
                if let Some(l) = cache.get(&Key::new(format!("k{i}"))).await {
                    assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
                    check_crash_body(i, &l.entry.value.body)
                        .unwrap_or_else(|e| panic!("run {run}: {e}"));
                    present += 1;
                }
            }
            let disk = cache.stats().tier(TierKind::Disk).cloned().unwrap();
            assert_eq!(disk.corrupt, 0, "run {run}: {disk:?}");
            eprintln!("run {run}: {present} of {CRASH_KEYS} records present, all whole");
            total_present += present;
            cache.shutdown().await;
        });
    }
    assert!(total_present > 0, "the children never got a record to disk");
}

/// Writes held until the gate opens: a disk falling behind.
struct Gated(Arc<tokio::sync::Semaphore>);

impl WriteHook for Gated {
    fn write<'a>(
        &'a self,
        disk: &'a DiskTier,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<(), TierError>> {
        async move {
            drop(self.0.acquire().await);
            disk.write(ops).await
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_waiting_for_a_slow_disk_hold_a_bounded_number_of_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let tier = HookedDisk {
        disk: DiskTier::open(dir.path(), 256 << 20).unwrap(),
        hook: Gated(gate.clone()),
    };
    // 128 MiB of memory: the queue may hold an eighth of it, 16 MiB (`MemoryPlan`), well
    // below its count limit of 1,000 records.
    let cache = TieredCache::builder()
        .memory_max_bytes(128 << 20)
        .tier(Arc::new(tier))
        .housekeeping(false)
        .write_behind(1000, std::time::Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    let body = vec![b'x'; 3 << 20];
    for i in 0..12 {
        let key = Key::new(format!("plex|/library/metadata/{i}"));
        cache
            .insert(&key, &policy(), CachedValue::new(200, body.clone()))
            .await;
    }
    let q = cache.stats().write_behind;
    assert_eq!(q.max_bytes, 16 << 20);
    assert!(q.queued_bytes <= q.max_bytes, "{q:?}");
    // Five fit in 16 MiB; the writer takes one batch off the queue and then waits at the
    // gate, and the next behind it; a put that finds no room waits for the room a batch
    // taken gives back (or is dropped). Counted only, the queue would have taken all twelve
    // (36 MiB) at once.
    assert!(q.queued <= 5, "{q:?}");
    gate.add_permits(1000);
    cache.flush().await;
    let q = cache.stats().write_behind;
    assert_eq!(q.queued_bytes, 0, "{q:?}");
    let key = Key::new("plex|/library/metadata/99");
    cache
        .insert(&key, &policy(), CachedValue::new(200, body.clone()))
        .await;
    cache.flush().await;
    assert_eq!(
        cache.stats().write_behind.dropped,
        q.dropped,
        "room again once written"
    );
    cache.shutdown().await;
}
