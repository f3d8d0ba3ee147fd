//! The event task: subscribes to the namespace's channel (reconnecting with back-off),
//! resyncs on every (re)subscription, polls the change counter for missed broadcasts, and
//! applies what other instances announce.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use super::connection::{Conn, redact_url};
use super::sync::CLEAR_MARK;
use super::{LocalCache, RedisTier, spawn};
use crate::locks::LockUnpoisoned;

impl RedisTier {
    /// Starts the event task: subscribes to the namespace's channel (reconnecting with
    /// back-off), resyncs on every (re)subscription, polls the change counter, and applies
    /// what other instances announce. Ends when the cache is dropped.
    pub(crate) fn spawn_events(&self, local: Weak<dyn LocalCache>) -> tokio::task::JoinHandle<()> {
        let tier = self.clone();
        tokio::spawn(async move { tier.events_loop(local).await })
    }

    async fn events_loop(self, weak: Weak<dyn LocalCache>) {
        let mut backoff = Duration::from_millis(100);
        let mut seed = 0usize;
        loop {
            if weak.strong_count() == 0 {
                return;
            }
            let connected =
                tokio::time::timeout(self.s.timeout.max(Duration::from_secs(1)), async {
                    // On Sentinel, the current master (asked again after every drop: a
                    // failover moves it); otherwise the server, or the cluster seeds in turn.
                    let client = match &self.s.conn {
                        Conn::Sentinel(s) => s.master_client().await?,
                        _ => {
                            seed += 1;
                            self.s.event_clients[(seed - 1) % self.s.event_clients.len()].clone()
                        }
                    };
                    let mut ps = client.get_async_pubsub().await?;
                    ps.subscribe(&self.s.channel).await?;
                    Ok::<_, redis::RedisError>(ps)
                })
                .await;
            let ps = match connected {
                Ok(Ok(ps)) => ps,
                Ok(Err(e)) => {
                    self.note_error(&e.to_string());
                    tracing::debug!(error = %redact_url(&e.to_string()), "redis event connection failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Subscribed first, resync second: nothing announced in between is lost.
            {
                let Some(local) = weak.upgrade() else { return };
                self.resync(&local).await;
            }
            self.s.subscribed.store(true, Ordering::Relaxed);
            let (_sink, mut stream) = ps.split();
            let mut poll = tokio::time::interval(self.s.poll_every);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    msg = stream.next() => {
                        let Some(msg) = msg else { break };
                        let Some(local) = weak.upgrade() else { return };
                        self.on_event(&local, msg.get_payload_bytes());
                    }
                    _ = poll.tick() => {
                        let Some(local) = weak.upgrade() else { return };
                        self.poll(&local).await;
                    }
                }
            }
            self.s.subscribed.store(false, Ordering::Relaxed);
            self.s.c.need_resync.store(true, Ordering::Relaxed);
            tracing::warn!("redis event connection lost; reconnecting");
        }
    }

    /// The slow path for missed broadcasts: a changed counter, or Redis answering again
    /// after failures, means a full resync.
    async fn poll(&self, local: &Arc<dyn LocalCache>) {
        if !self.allowed() {
            return;
        }
        if self.s.c.need_resync.load(Ordering::Relaxed) {
            self.resync(local).await;
            return;
        }
        let ver: Option<Option<u64>> = self
            .query("get", redis::cmd("GET").arg(self.meta("ver")))
            .await;
        if let Some(v) = ver
            && v.unwrap_or(0) != self.s.ver_seen.load(Ordering::Acquire)
        {
            self.resync(local).await;
        }
    }

    fn on_event(&self, local: &Arc<dyn LocalCache>, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let mut parts = text.splitn(3, ' ');
        let (Some(origin), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let mine = origin == self.s.origin;
        match kind {
            "t" => {
                let Some((g, tag)) = rest.split_once(' ') else {
                    return;
                };
                if let Ok(g) = g.parse::<u64>() {
                    self.s.ver_seen.fetch_add(1, Ordering::AcqRel);
                    if !mine {
                        self.s.c.events.fetch_add(1, Ordering::Relaxed);
                        local.raise_tag(tag, g);
                    }
                }
            }
            "c" => {
                let mut f = rest.splitn(3, ' ');
                let (Some(seq), Some(epoch), Some(prefix)) = (f.next(), f.next(), f.next()) else {
                    return;
                };
                let (Ok(seq), Ok(epoch)) = (seq.parse::<u64>(), epoch.parse::<u64>()) else {
                    return;
                };
                self.s.ver_seen.fetch_add(1, Ordering::AcqRel);
                if mine {
                    return;
                }
                self.s.c.events.fetch_add(1, Ordering::Relaxed);
                let seen = self.s.clears_seen.load(Ordering::Acquire);
                if seq == seen + 1 {
                    local.clone().apply_clear(prefix);
                    self.note_clears(&[(seq, prefix.to_owned())], seq);
                    local.raise_tag(CLEAR_MARK, seq);
                    self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
                } else if seq > seen {
                    // A gap: clears were missed; the full log puts things right.
                    local.clone().apply_clear(prefix);
                    self.s.c.need_resync.store(true, Ordering::Relaxed);
                    self.s.epoch.fetch_max(epoch, Ordering::AcqRel);
                    let (tier, weak) = (self.clone(), Arc::downgrade(local));
                    spawn(async move {
                        if let Some(local) = weak.upgrade() {
                            tier.resync(&local).await;
                        }
                    });
                }
            }
            "f" | "r" => {
                let waiter = self.s.waiters.lock_unpoisoned().get(rest).cloned();
                if let Some(n) = waiter {
                    n.notify_waiters();
                }
            }
            _ => {}
        }
    }
}
