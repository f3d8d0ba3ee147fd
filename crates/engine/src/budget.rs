//! [`RefreshBudget`]: how much background refreshing (warming) may run — a concurrency limit
//! and a rate, so background work never crowds out client traffic upstream.

use std::sync::Arc;
use std::sync::Mutex;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::Clock;
use crate::locks::LockUnpoisoned;

/// A concurrency limit plus a token bucket refilled from the engine's clock.
pub(crate) struct RefreshBudget {
    slots: Arc<Semaphore>,
    per_second: f64,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    last_ms: u64,
}

impl RefreshBudget {
    pub(crate) fn new(max_concurrent: usize, per_second: u32, now_ms: u64) -> Self {
        let per_second = f64::from(per_second.max(1));
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            per_second,
            bucket: Mutex::new(Bucket {
                tokens: per_second,
                last_ms: now_ms,
            }),
        }
    }

    /// Takes one refresh from the budget, or returns `None` if none is available now.
    pub(crate) fn try_take(&self, clock: &dyn Clock) -> Option<OwnedSemaphorePermit> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        let now = clock.now_ms();
        let mut b = self.bucket.lock_unpoisoned();
        let elapsed = now.saturating_sub(b.last_ms) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.per_second);
        b.last_ms = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(permit)
        } else {
            None
        }
    }
}
