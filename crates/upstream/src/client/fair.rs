//! [`FairPermits`]: the client budget's counting semaphore, with its waiters served in turn by
//! who is asking ([`Asker`]) rather than in one line. A tool that opens 200 misses at once on a
//! slow server queues behind itself: when a permit frees, the next asker in the rotation gets
//! it, so another user's one miss waits for at most one permit per other asker, not for the
//! flood. Within one asker, requests keep their order.
//!
//! A permit is handed from the releasing request straight to the chosen waiter; a waiter that
//! gives up (its deadline) after a permit was handed to it gives the permit back on drop, so
//! none is ever lost.

use std::collections::VecDeque;
use std::sync::Mutex;

use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

/// Who a client request is for, for the turn order of the client budget: the user's keyed token
/// hash, or the client's address when there is no token. Carried in the upstream request's
/// extensions; a request without one shares the asker `0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Asker(pub u64);

impl Asker {
    /// The asker of a user (by the keyed hash of their token).
    pub fn user(hash: crate::keys::UserHash) -> Asker {
        // The low half of a keyed 128-bit hash: as good a key as the whole of it here.
        Asker(hash.0 as u64)
    }

    /// The asker of an anonymous client, by its address.
    pub fn address(ip: std::net::IpAddr) -> Asker {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = rustc_hash::FxHasher::default();
        ip.hash(&mut h);
        Asker(h.finish() | 1 << 63)
    }
}

#[derive(Default)]
struct State {
    available: usize,
    /// Each waiting asker's waiters, oldest first. An asker is in `turn` exactly while it has
    /// an entry here.
    queues: FxHashMap<u64, VecDeque<oneshot::Sender<()>>>,
    /// The askers with waiters, the next to be served first.
    turn: VecDeque<u64>,
}

/// A counting semaphore serving its waiters round-robin by [`Asker`].
pub(crate) struct FairPermits {
    state: Mutex<State>,
}

/// One permit of a [`FairPermits`]; given back on drop.
#[derive(Debug)]
pub(crate) struct FairPermit<'a> {
    permits: &'a FairPermits,
}

impl Drop for FairPermit<'_> {
    fn drop(&mut self) {
        self.permits.release();
    }
}

impl std::fmt::Debug for FairPermits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FairPermits")
    }
}

/// A waiter's place in line; if it is dropped after a permit was handed to it, the permit
/// goes back.
struct Waiting<'a> {
    permits: &'a FairPermits,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.permits.release();
            }
        }
    }
}

impl FairPermits {
    /// `permits` permits, all free.
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            state: Mutex::new(State {
                available: permits,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a permit for `asker`. Cancel-safe: dropping the future gives back a permit
    /// it was handed.
    pub(crate) async fn acquire(&self, asker: Asker) -> FairPermit<'_> {
        let rx = {
            let mut s = self.lock();
            // Free permits only exist while no live waiter does (a release serves waiters
            // first), so taking one jumps no queue.
            if s.available > 0 {
                s.available -= 1;
                return FairPermit { permits: self };
            }
            let (tx, rx) = oneshot::channel();
            let State { queues, turn, .. } = &mut *s;
            queues
                .entry(asker.0)
                .or_insert_with(|| {
                    turn.push_back(asker.0);
                    VecDeque::new()
                })
                .push_back(tx);
            rx
        };
        let mut waiting = Waiting {
            permits: self,
            rx: Some(rx),
        };
        if let Some(rx) = waiting.rx.as_mut()
            && rx.await.is_ok()
        {
            waiting.rx = None;
            return FairPermit { permits: self };
        }
        // The sender is only ever dropped unsent by `release` skipping a waiter that is gone,
        // which this one is not: unreachable, but a permit is never made up.
        std::future::pending().await
    }

    /// Hands a permit to the next asker's oldest live waiter, or frees it.
    fn release(&self) {
        let mut s = self.lock();
        while let Some(asker) = s.turn.pop_front() {
            let Some(mut queue) = s.queues.remove(&asker) else {
                continue;
            };
            while let Some(tx) = queue.pop_front() {
                if tx.send(()).is_ok() {
                    if !queue.is_empty() {
                        s.queues.insert(asker, queue);
                        s.turn.push_back(asker);
                    }
                    return;
                }
            }
        }
        s.available += 1;
    }

    /// Waiters now (live or given up but not yet skipped).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().queues.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Lets spawned tasks run until they block (current-thread runtime).
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_flooding_asker_does_not_keep_another_waiting() {
        let permits = Arc::new(FairPermits::new(2));
        let (flood, other) = (Asker(1), Asker(2));
        let held = [permits.acquire(flood).await, permits.acquire(flood).await];
        // 50 more of the flooder's requests line up, then one of another user.
        let served = Arc::new(Mutex::new(Vec::new()));
        let order = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for (i, asker) in std::iter::repeat_n(flood, 50).chain([other]).enumerate() {
            let (permits, served, order) = (permits.clone(), served.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire(asker).await;
                served
                    .lock()
                    .unwrap()
                    .push((order.fetch_add(1, Ordering::SeqCst), i, asker));
                // Held until the test ends the task.
                std::future::pending::<()>().await;
            }));
            settle().await;
        }
        assert_eq!(permits.waiting(), 51);
        // One of the flooder's permits frees: the other user is next, not the flooder's
        // third request.
        drop(held);
        settle().await;
        let first_two: Vec<Asker> = served.lock().unwrap().iter().map(|s| s.2).collect();
        assert_eq!(first_two.len(), 2);
        assert!(first_two.contains(&other), "{first_two:?}");
        for t in tasks {
            t.abort();
        }
    }

    #[tokio::test]
    async fn one_asker_keeps_its_order_and_a_given_up_waiter_loses_no_permit() {
        let permits = Arc::new(FairPermits::new(1));
        let held = permits.acquire(Asker(7)).await;
        // A waiter that gives up before its turn.
        let gone = {
            let permits = permits.clone();
            tokio::spawn(async move { drop(permits.acquire(Asker(7)).await) })
        };
        settle().await;
        gone.abort();
        let _ = gone.await;
        let second = {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _p = permits.acquire(Asker(7)).await;
            })
        };
        settle().await;
        drop(held);
        // The live waiter got the permit, used it and gave it back: one is free again.
        second.await.unwrap();
        let again =
            tokio::time::timeout(std::time::Duration::from_secs(5), permits.acquire(Asker(8)))
                .await;
        assert!(again.is_ok(), "the permit was lost");
        // A permit handed to a waiter that is dropped before it looks comes back too.
        let held = again.unwrap();
        let mut late = Box::pin(permits.acquire(Asker(9)));
        assert!(futures_util::poll!(late.as_mut()).is_pending());
        drop(held);
        drop(late);
        let free = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            permits.acquire(Asker(10)),
        )
        .await;
        assert!(
            free.is_ok(),
            "the permit handed to a dropped waiter was lost"
        );
    }
}
