//! Single-flight across instances: before loading, an instance takes
//! `SET {ns}:l:{key} <token> NX PX lock_ttl`; the holder loads, writes the record and
//! announces it, the others wait (bounded) for that announcement and read the record.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use redis::Value;

use super::RedisTier;
use crate::key::Key;
use crate::locks::LockUnpoisoned;

const WAIT_POLL: Duration = Duration::from_millis(200);

/// Releases a load lock if this instance still holds it and announces how the load ended.
/// KEYS: lock. ARGV: token, channel, message.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end \
  redis.call('PUBLISH', ARGV[2], ARGV[3]) return 0";

/// How a cross-instance load coordination ended.
pub(crate) enum Coordination {
    /// This instance holds the lock and must load (then call [`RedisTier::release`]).
    Load(String),
    /// Another instance's load landed: its record.
    Landed(Bytes),
    /// Load without the lock (Redis unavailable, wait bound reached, holder gave up).
    LoadAlone,
}

/// What one attempt at the load lock found.
enum Attempt {
    /// This instance took it (counted: a release must follow).
    Taken,
    /// Another instance holds it.
    Held,
    /// Redis did not answer.
    NoAnswer,
}

impl RedisTier {
    /// Coordinates a load of `key` with the other instances: take the lock, or wait (bounded)
    /// for the holder's record.
    pub(crate) async fn coordinate(&self, key: &Key) -> Coordination {
        if !self.allowed() {
            return Coordination::LoadAlone;
        }
        let token = format!(
            "{}-{}",
            self.s.origin,
            self.s.lock_seq.fetch_add(1, Ordering::Relaxed)
        );
        let lock = self.lock_key(key.as_str());
        let take = {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&lock)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(self.s.lock_ttl.as_millis() as u64);
            cmd
        };
        match self.try_lock(&take).await {
            Attempt::Taken => return Coordination::Load(token),
            Attempt::Held => {}
            Attempt::NoAnswer => return Coordination::LoadAlone,
        }
        // Someone else loads: wait for its announcement, look now and then, never too long.
        let notify = self
            .s
            .waiters
            .lock_unpoisoned()
            .entry(key.as_str().to_owned())
            .or_default()
            .clone();
        let _cleanup = WaiterGuard {
            tier: self,
            key: key.as_str(),
        };
        let deadline = tokio::time::Instant::now() + self.s.lock_wait;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(raw) = self.read_record(key).await {
                self.s.c.waits_filled.fetch_add(1, Ordering::Relaxed);
                return Coordination::Landed(raw);
            }
            match self.try_lock(&take).await {
                // The holder is gone (released without a value, or its lock expired).
                Attempt::Taken => return Coordination::Load(token),
                Attempt::Held => {}
                Attempt::NoAnswer => {
                    self.s.c.waits_gave_up.fetch_add(1, Ordering::Relaxed);
                    return Coordination::LoadAlone;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                self.s.c.waits_gave_up.fetch_add(1, Ordering::Relaxed);
                return Coordination::LoadAlone;
            }
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + WAIT_POLL),
                notified,
            )
            .await;
        }
    }

    /// One `SET NX` of the lock. A lock taken is counted here, where it is taken, so that
    /// every [`Coordination::Load`] is matched by the one [`Self::spawn_release`] it needs.
    async fn try_lock(&self, take: &redis::Cmd) -> Attempt {
        match self.query::<Option<String>>("lock", take).await {
            Some(Some(_)) => {
                self.s.c.locks.fetch_add(1, Ordering::Relaxed);
                self.s.releasing.fetch_add(1, Ordering::AcqRel);
                Attempt::Taken
            }
            Some(None) => Attempt::Held,
            None => Attempt::NoAnswer,
        }
    }

    /// Starts [`Self::release`] in the background. Every [`Coordination::Load`] must end in
    /// exactly one call: the lock was counted when taken, so [`Self::settled`] (and the
    /// cache's `flush`) waits for the record a load is about to write.
    pub(crate) fn spawn_release(&self, key: Key, token: String, record: Option<(Bytes, u64)>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.s.releasing.fetch_sub(1, Ordering::AcqRel);
            self.s.released.notify_waiters();
            return;
        };
        let tier = self.clone();
        handle.spawn(async move {
            tier.release(&key, &token, record).await;
            tier.s.releasing.fetch_sub(1, Ordering::AcqRel);
            tier.s.released.notify_waiters();
        });
    }

    /// Waits until every lock release started so far has written its record.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.s.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.s.releasing.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Ends a load under the lock: writes the record (if there is one worth sharing),
    /// releases the lock and tells the waiters.
    async fn release(&self, key: &Key, token: &str, record: Option<(Bytes, u64)>) {
        let now = self.s.clock.now_ms();
        let mut filled = false;
        if let Some((record, expires_at_ms)) = record {
            let px = expires_at_ms.saturating_sub(now);
            if px > 0 {
                filled = self
                    .query::<()>("fill", &self.set_cmd(key.as_str(), &record, px))
                    .await
                    .is_some();
                if filled {
                    self.s.c.writes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let message = format!(
            "{} {} {}",
            self.s.origin,
            if filled { 'f' } else { 'r' },
            key.as_str()
        );
        let _: Option<Value> = self
            .query(
                "release",
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(self.lock_key(key.as_str()))
                    .arg(token)
                    .arg(&self.s.channel)
                    .arg(message),
            )
            .await;
    }
}

struct WaiterGuard<'a> {
    tier: &'a RedisTier,
    key: &'a str,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.tier.s.waiters.lock_unpoisoned().remove(self.key);
    }
}
