//! Every command is bounded by the command timeout, and failures feed a circuit breaker:
//! three in a row skip the tier for two seconds (reads are misses, writes are dropped), so
//! Redis down, slow or full never fails a request. A failure is judged by its
//! [`CommandError`] (the server's error code), never by its message; the message is only
//! shown (`last_error` in the health report, the log).

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::{Cmd, RedisError};

use super::RedisTier;
use super::connection::redact_url;
use crate::locks::LockUnpoisoned;

/// Consecutive failures that open the circuit breaker.
const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker skips the tier before letting a command try again.
const BREAKER_OPEN: Duration = Duration::from_secs(2);

/// Why a bounded command gave no result.
#[derive(Debug, thiserror::Error)]
pub(super) enum CommandError {
    /// Redis answered with an error, or the connection failed.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// No answer within the command timeout.
    #[error("timed out")]
    TimedOut,
}

impl CommandError {
    /// Redis refused the command because it reached `maxmemory` (its `OOM` error code, with
    /// `noeviction`): it is answering, only full.
    pub(super) fn is_out_of_memory(&self) -> bool {
        match self {
            CommandError::Redis(e) => is_out_of_memory(e),
            CommandError::TimedOut => false,
        }
    }
}

/// Whether Redis answered `-OOM` to the command, or to any command of a pipeline (the
/// write-behind sends its batch as one; a pipeline's error has no code of its own, its
/// commands' errors carry theirs).
fn is_out_of_memory(e: &RedisError) -> bool {
    const OOM: &str = "OOM";
    e.code() == Some(OOM)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, error)| error.code() == OOM))
}

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
        *self.s.last_error.lock_unpoisoned() = Some(redact_url(error));
    }

    fn failed(&self, what: &str, error: &CommandError) {
        let c = &self.s.c;
        let message = error.to_string();
        if error.is_out_of_memory() {
            // Redis is answering, it is only full: count it, keep reading from it.
            c.oom.fetch_add(1, Ordering::Relaxed);
            c.errors.fetch_add(1, Ordering::Relaxed);
            self.note_error(&message);
            if c.oom.load(Ordering::Relaxed).is_power_of_two() {
                tracing::warn!(
                    what,
                    error = %message,
                    "redis refuses writes (maxmemory reached); records are not shared"
                );
            }
            return;
        }
        c.errors.fetch_add(1, Ordering::Relaxed);
        c.need_resync.store(true, Ordering::Relaxed);
        self.note_error(&message);
        let n = c.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= BREAKER_FAILURES {
            let reopen = self.s.clock.now_ms() + BREAKER_OPEN.as_millis() as u64;
            c.open_until_ms.store(reopen, Ordering::Relaxed);
            if !c.open.swap(true, Ordering::AcqRel) {
                c.trips.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    what,
                    error = %message,
                    "redis tier failing; skipping it (memory and disk carry on) until it answers"
                );
            }
        } else {
            tracing::debug!(what, error = %message, "redis command failed");
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
                self.failed(what, &CommandError::Redis(e));
                None
            }
            Err(_) => {
                self.failed(what, &CommandError::TimedOut);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(reply: &[u8]) -> RedisError {
        redis::parse_redis_value(reply)
            .expect("a RESP error reply")
            .extract_error()
            .expect_err("an error reply")
    }

    #[test]
    fn out_of_memory_is_told_by_the_error_code() {
        let oom = server_error(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        assert_eq!(oom.code(), Some("OOM"));
        assert!(CommandError::Redis(oom).is_out_of_memory());
        // The same words in another error's text are not the code.
        let other = server_error(b"-ERR OOM is not the code here\r\n");
        assert!(!CommandError::Redis(other).is_out_of_memory());
        let io = RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "OOM",
        ));
        assert!(!CommandError::Redis(io).is_out_of_memory());
        assert!(!CommandError::TimedOut.is_out_of_memory());
        // What people read keeps the server's words.
        let shown = CommandError::Redis(server_error(b"-OOM over maxmemory\r\n")).to_string();
        assert!(shown.contains("OOM"), "{shown}");
        assert_eq!(CommandError::TimedOut.to_string(), "timed out");
    }
}
