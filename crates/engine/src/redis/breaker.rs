//! Every command is bounded by the command timeout, and failures feed a circuit breaker:
//! three in a row skip the tier for two seconds (reads are misses, writes are dropped), so
//! Redis down, slow or full never fails a request.

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::Cmd;

use super::RedisTier;
use super::connection::redact_url;

/// Consecutive failures that open the circuit breaker.
const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker skips the tier before letting a command try again.
const BREAKER_OPEN: Duration = Duration::from_secs(2);

impl RedisTier {
    /// Whether a command may go out now (breaker closed, or open long enough to try again).
    pub(super) fn allowed(&self) -> bool {
        let c = &self.s.c;
        if !c.open.load(Ordering::Relaxed) {
            return true;
        }
        if self.s.clock.now_ms() >= c.open_until_ms.load(Ordering::Relaxed) {
            return true;
        }
        c.skipped.fetch_add(1, Ordering::Relaxed);
        false
    }

    fn succeeded(&self) {
        let c = &self.s.c;
        c.consecutive.store(0, Ordering::Relaxed);
        if c.open.swap(false, Ordering::AcqRel) {
            tracing::warn!("redis tier answering again; shared cache back in use");
        }
    }

    pub(super) fn note_error(&self, error: &str) {
        *self.s.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(redact_url(error));
    }

    fn failed(&self, what: &str, error: &str) {
        let c = &self.s.c;
        if error.contains("OOM") {
            // Redis is answering, it is only full: count it, keep reading from it.
            c.oom.fetch_add(1, Ordering::Relaxed);
            c.errors.fetch_add(1, Ordering::Relaxed);
            self.note_error(error);
            if c.oom.load(Ordering::Relaxed).is_power_of_two() {
                tracing::warn!(
                    what,
                    error,
                    "redis refuses writes (maxmemory reached); records are not shared"
                );
            }
            return;
        }
        c.errors.fetch_add(1, Ordering::Relaxed);
        c.need_resync.store(true, Ordering::Relaxed);
        self.note_error(error);
        let n = c.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= BREAKER_FAILURES {
            let reopen = self.s.clock.now_ms() + BREAKER_OPEN.as_millis() as u64;
            c.open_until_ms.store(reopen, Ordering::Relaxed);
            if !c.open.swap(true, Ordering::AcqRel) {
                c.trips.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    what,
                    error,
                    "redis tier failing; skipping it (memory and disk carry on) until it answers"
                );
            }
        } else {
            tracing::debug!(what, error, "redis command failed");
        }
    }

    /// Runs `fut` under the command timeout and feeds the breaker.
    pub(super) async fn bounded<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(self.s.timeout, fut).await {
            Ok(Ok(v)) => {
                self.succeeded();
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(what, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(what, "timed out");
                None
            }
        }
    }

    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        cmd: &Cmd,
    ) -> Option<T> {
        let mut conn = self.s.conn.clone();
        self.bounded(what, cmd.query_async(&mut conn)).await
    }
}
