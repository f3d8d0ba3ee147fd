//! Helpers shared by the tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cachearr_engine::{
    CachedValue, Fill, Key, LoadContext, LoadError, Loader, ManualClock, Outcome, Policy,
    TieredCache,
};

pub(crate) const SEC: Duration = Duration::from_secs(1);

/// How long a background task (a refresh, a warm-up) may take to show its effect; tests wait
/// for the effect with [`eventually`], never for time to pass.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) use cachearr_testkit::eventually;

/// A loader that counts its calls and answers `body-N` (N = call number).
pub(crate) struct CountingLoader {
    pub(crate) calls: AtomicUsize,
    pub(crate) fail: std::sync::atomic::AtomicBool,
    pub(crate) delay: Duration,
}

impl CountingLoader {
    pub(crate) fn new() -> Arc<Self> {
        Self::with_delay(Duration::ZERO)
    }
    pub(crate) fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            fail: std::sync::atomic::AtomicBool::new(false),
            delay,
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
        let delay = self.delay;
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
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

/// fresh 10 s, stale-while-revalidate 60 s, stale-if-error 300 s.
/// What a lookup of `key` did (it must not fail).
pub(crate) async fn outcome_of(
    cache: &TieredCache,
    key: &Key,
    policy: &Policy,
    loader: Arc<dyn Loader>,
) -> Outcome {
    cache
        .get_or_load(key, policy, loader)
        .await
        .unwrap()
        .outcome
}

pub(crate) fn policy() -> Policy {
    Policy::new("metadata", 10 * SEC)
        .with_stale_while_revalidate(60 * SEC)
        .with_stale_if_error(300 * SEC)
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
