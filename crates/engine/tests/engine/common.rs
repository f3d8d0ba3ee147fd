//! Helpers shared by the tests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cachearr_engine::{
    CachedValue, DiskTier, Fill, Key, LoadContext, LoadError, Loader, Lookup, MaintenanceReport,
    ManualClock, Outcome, PersistedMeta, Policy, Tier, TierError, TierKind, TierUsage, TieredCache,
    WriteOp,
};
use futures_util::future::BoxFuture;

pub(crate) const SEC: Duration = Duration::from_secs(1);

/// How long a background task (a refresh, a warm-up) may take to show its effect; tests wait
/// for the effect with [`eventually`], never for time to pass.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) use cachearr_testkit::eventually;

/// A loader that counts its calls and answers `body-N` (N = call number).
pub(crate) struct CountingLoader {
    pub(crate) calls: AtomicUsize,
    pub(crate) fail: std::sync::atomic::AtomicBool,
}

impl CountingLoader {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            fail: std::sync::atomic::AtomicBool::new(false),
        })
    }
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub(crate) fn set_failing(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }
}

impl Loader for CountingLoader {
    fn load(
        &self,
        _context: LoadContext,
    ) -> futures_util::future::BoxFuture<'static, Result<Fill, LoadError>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = self.fail.load(Ordering::SeqCst);
        Box::pin(async move {
            if fail {
                Err(LoadError::new("upstream down"))
            } else {
                Ok(Fill::Store(CachedValue::new(200, format!("body-{n}"))))
            }
        })
    }
}

/// A memory-only cache on a manual clock, without the housekeeping task.
pub(crate) async fn memory_cache(clock: &Arc<ManualClock>) -> TieredCache {
    TieredCache::builder()
        .memory_max_bytes(64 << 20)
        .clock(clock.clone())
        .housekeeping(false)
        .build()
        .await
        .expect("memory cache builds")
}

/// A lookup of `key`, loading with `loader` on a miss (it must not fail).
pub(crate) async fn lookup(
    cache: &TieredCache,
    key: &Key,
    policy: &Policy,
    loader: Arc<dyn Loader>,
) -> Lookup {
    cache.get_or_load(key, policy, loader).await.unwrap()
}

/// What a lookup of `key` did (it must not fail).
pub(crate) async fn outcome_of(
    cache: &TieredCache,
    key: &Key,
    policy: &Policy,
    loader: Arc<dyn Loader>,
) -> Outcome {
    lookup(cache, key, policy, loader).await.outcome
}

/// fresh 10 s, stale-while-revalidate 60 s, stale-if-error 300 s.
pub(crate) fn policy() -> Policy {
    Policy::new("metadata", 10 * SEC)
        .with_stale_while_revalidate(60 * SEC)
        .with_stale_if_error(300 * SEC)
}

/// Fresh for an hour: no entry goes stale while a test on the real clock runs.
pub(crate) fn lasting_policy() -> Policy {
    Policy::new("metadata", 3600 * SEC)
}

pub(crate) fn body(l: &cachearr_engine::Lookup) -> String {
    String::from_utf8_lossy(&l.entry.value.body).into_owned()
}

/// Deterministic incompressible bytes (xorshift), so compression cannot hide sizes.
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Starts a cache with a disk tier of `disk_max` bytes in `at` and checks that it started with
/// its disk tier off, says `why` in its warnings, and serves from memory.
pub(crate) async fn start_memory_only(at: &Path, disk_max: u64, why: &str) -> TieredCache {
    let cache = TieredCache::builder()
        .disk(at, disk_max)
        .build()
        .await
        .unwrap();
    let stats = cache.stats();
    assert!(
        !stats.tier(TierKind::Disk).unwrap().enabled,
        "{:?}",
        stats.tiers
    );
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains(why) && w.contains("memory only")),
        "{:?}",
        stats.warnings
    );
    let key = Key::new("while-off");
    let p = Policy::new("c", 3600 * SEC);
    cache.insert(&key, &p, CachedValue::new(200, "v")).await;
    cache.flush().await;
    let l = cache.get(&key).await.unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(&l.entry.value.body[..], b"v");
    let s = cache.stats();
    assert_eq!(s.tier(TierKind::Disk).unwrap().writes, 0);
    cache
}

/// What a [`HookedDisk`] does with a batch of writes: a disk that fills up, falls behind or
/// is watched.
pub(crate) trait WriteHook: Send + Sync + 'static {
    /// Writes `ops` to `disk` (or fails, or waits first).
    fn write<'a>(
        &'a self,
        disk: &'a DiskTier,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<(), TierError>>;
}

/// The real disk tier, with its writes going through `hook`.
pub(crate) struct HookedDisk<H> {
    pub(crate) disk: DiskTier,
    pub(crate) hook: H,
}

impl<H: WriteHook> Tier for HookedDisk<H> {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>> {
        self.disk.get(key)
    }
    fn write(&self, ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>> {
        self.hook.write(&self.disk, ops)
    }
    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>> {
        self.disk.load_meta()
    }
    fn maintain(&self, now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>> {
        self.disk.maintain(now_ms)
    }
    fn usage(&self) -> TierUsage {
        self.disk.usage()
    }
}

/// What the engine logs at `level` and above while the returned guard lives (this thread
/// only: a current-thread runtime's tasks, not a worker pool's).
pub(crate) fn capture_logs(
    level: tracing::Level,
) -> (
    tracing::subscriber::DefaultGuard,
    Arc<std::sync::Mutex<Vec<u8>>>,
) {
    #[derive(Clone)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer(Arc::default());
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), buffer.0)
}
