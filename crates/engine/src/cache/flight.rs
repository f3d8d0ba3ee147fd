//! Loads: one per key however many callers wait (single-flight), each in its own task,
//! guarded against panics and timeouts; stale serving, background refreshes, and with Redis
//! one load per key across instances.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::Inner;
use crate::clock::duration_ms;
use crate::codec;
use crate::entry::{CachedValue, Entry, Fill, Lookup, Outcome};
use crate::error::{EngineError, LoadError, LoadErrorKind};
use crate::key::Key;
use crate::loader::{LoadContext, Loader};
use crate::locks::LockUnpoisoned;
use crate::policy::Policy;
use crate::redis::Coordination;
use crate::stats::{ClassCounters, bump};
use crate::tags::TagStamp;
use crate::tier::TierKind;
use crate::write_behind::Dest;

/// How a load ended; handed to every waiter.
#[derive(Clone, Debug)]
pub(super) enum FlightDone {
    Stored(Arc<Entry>),
    /// Another instance loaded it (cross-instance single-flight through Redis).
    Coalesced(Arc<Entry>),
    Passed(Arc<Entry>),
    StaleOnError(Arc<Entry>),
    Failed(EngineError),
}

/// One load and the callers waiting for it.
///
/// Waiters are released in the order they came, a few at a time: the flight releases the
/// first [`RELEASED_AT_ONCE`], and each released waiter releases the next one in line before
/// it answers. Why not a broadcast: tokio's `watch` channel wakes a thousand waiters in an
/// order of its own (it spreads them over eight lists), and a worker handed a thousand wakes
/// at once runs the newest first; either way the first callers of a cold burst would be
/// answered last, their wait being the upstream's time plus the time to answer every waiter.
/// In order, a caller's wait past the upstream's answer is only the answers of those who came
/// before it (docs/benchmarks.md, "Gateway"). Several at a time, so that other workers can
/// take waiters while one answers.
pub(super) struct Flight {
    done: OnceLock<FlightDone>,
    released: Notify,
}

/// Waiters released together when a load ends; each released waiter then releases one more.
const RELEASED_AT_ONCE: usize = 16;

impl Flight {
    fn new() -> Self {
        Self {
            done: OnceLock::new(),
            released: Notify::new(),
        }
    }

    /// Ends the flight with `done` (the first outcome set wins) and starts releasing its
    /// waiters.
    fn finish(&self, done: FlightDone) {
        if self.done.set(done).is_ok() {
            for _ in 0..RELEASED_AT_ONCE {
                self.released.notify_one();
            }
        }
    }

    /// Waits for the load's end, in line with the other waiters.
    pub(super) async fn wait(&self) -> FlightDone {
        let released = self.released.notified();
        tokio::pin!(released);
        // In line before looking, so an outcome set after the look still releases this one.
        released.as_mut().enable();
        if let Some(done) = self.done.get() {
            return done.clone();
        }
        released.await;
        // The next in line is woken before this one answers. (A waiter dropped after its
        // release passes it on by itself: tokio's `Notify` hands an unused notification to
        // the next waiter.)
        self.released.notify_one();
        self.done
            .get()
            .cloned()
            .unwrap_or(FlightDone::Failed(EngineError::LoaderPanicked))
    }
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn make_entry(
        &self,
        value: CachedValue,
        policy: &Policy,
        seq: u64,
        tags: Box<[TagStamp]>,
        class: Arc<ClassCounters>,
        negative: bool,
        reads: u32,
    ) -> Arc<Entry> {
        let now = self.clock.now_ms();
        let (fresh, swr, sie) = if negative {
            (
                policy.negative_ttl.unwrap_or_default(),
                Duration::ZERO,
                Duration::ZERO,
            )
        } else {
            (
                policy.fresh,
                policy.stale_while_revalidate,
                policy.stale_if_error,
            )
        };
        let fresh_until_ms = now.saturating_add(duration_ms(fresh));
        let entry = Entry {
            value,
            stored_at_ms: now,
            fresh_until_ms,
            stale_until_ms: fresh_until_ms.saturating_add(duration_ms(swr)),
            error_until_ms: fresh_until_ms.saturating_add(duration_ms(sie)),
            negative,
            seq,
            tags,
            class,
            reads: AtomicU32::new(reads),
            warm_scheduled: std::sync::atomic::AtomicBool::new(false),
        };
        self.inval.note_life(entry.expires_at_ms() - now);
        Arc::new(entry)
    }

    pub(super) fn serve_stale(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        entry: Arc<Entry>,
    ) -> Lookup {
        bump(&entry.class.stale_hits);
        self.join_flight(
            key,
            policy,
            loader,
            Some(entry.clone()),
            LoadContext::Revalidate,
            None,
        );
        Lookup {
            entry,
            outcome: Outcome::Stale,
        }
    }

    pub(super) async fn load(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
    ) -> Result<Lookup, EngineError> {
        let (flight, started) =
            self.join_flight(key, policy, loader, stale, LoadContext::CallerWaiting, None);
        self.wait_for(policy, &flight, started).await
    }

    /// The load running for `key`, if any.
    pub(super) fn running_flight(&self, key: &Key) -> Option<Arc<Flight>> {
        self.flights.lock_unpoisoned().get(key).cloned()
    }

    /// Waits for `flight`, a load of a key with `policy` that this caller `started` or joined,
    /// and counts the caller's miss.
    pub(super) async fn wait_for(
        &self,
        policy: &Policy,
        flight: &Flight,
        started: bool,
    ) -> Result<Lookup, EngineError> {
        let class = self.classes.get(&policy.class);
        bump(if started {
            &class.misses
        } else {
            &class.coalesced
        });
        bump(&self.memory_counters.misses);
        let done = flight.wait().await;
        match done {
            FlightDone::Stored(entry) => Ok(Lookup {
                entry,
                outcome: if started {
                    Outcome::Miss
                } else {
                    Outcome::Coalesced
                },
            }),
            FlightDone::Coalesced(entry) => Ok(Lookup {
                entry,
                outcome: Outcome::Coalesced,
            }),
            FlightDone::Passed(entry) => {
                bump(&class.passed);
                Ok(Lookup {
                    entry,
                    outcome: Outcome::Passed,
                })
            }
            FlightDone::StaleOnError(entry) => {
                bump(&class.stale_on_error);
                Ok(Lookup {
                    entry,
                    outcome: Outcome::StaleOnError,
                })
            }
            FlightDone::Failed(e) => Err(e),
        }
    }

    /// Joins the load running for `key`, or starts one. Returns the flight (to
    /// [`Flight::wait`] for) and whether this call started it.
    pub(super) fn join_flight(
        self: &Arc<Self>,
        key: &Key,
        policy: &Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
        context: LoadContext,
        permit: Option<OwnedSemaphorePermit>,
    ) -> (Arc<Flight>, bool) {
        let mut flights = self.flights.lock_unpoisoned();
        if let Some(f) = flights.get(key) {
            return (f.clone(), false);
        }
        let flight = Arc::new(Flight::new());
        flights.insert(key.clone(), flight.clone());
        drop(flights);
        let joined = flight.clone();
        let this = self.clone();
        let key = key.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            this.run_flight(key, policy, loader, stale, context, flight, permit)
                .await;
        });
        (joined, true)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_flight(
        self: Arc<Self>,
        key: Key,
        policy: Policy,
        loader: Arc<dyn Loader>,
        stale: Option<Arc<Entry>>,
        context: LoadContext,
        flight: Arc<Flight>,
        _permit: Option<OwnedSemaphorePermit>,
    ) {
        let class = self.classes.get(&policy.class);
        // Whatever happens below (even a panic in our own code), the waiters are released
        // and the key is free for the next load.
        let _guard = FlightGuard {
            inner: self.clone(),
            key: key.clone(),
            flight: flight.clone(),
            class: (context != LoadContext::CallerWaiting).then(|| class.clone()),
        };
        note_refresh(&class, context);
        // Stamp before loading: an invalidation that lands while the load runs must make
        // its result stale, since the upstream may have answered from before the change.
        let stamp = LoadStamp {
            seq: self.inval.next_seq(),
            tags: self.inval.stamps(&policy.tags),
            bumps_before: self.inval.bump_clock(),
        };
        let lock = match self.take_shared_lock(&key, stamp.seq, &flight).await {
            ControlFlow::Continue(lock) => lock,
            ControlFlow::Break(()) => return,
        };
        // The lock holder writes its record to Redis itself, right after the waiters here
        // are released, and announces it; the write-behind queue takes it to disk only.
        let dest = if lock.is_some() {
            Dest::DiskOnly
        } else {
            Dest::All
        };
        let _release = lock.map(|token| ReleaseLock {
            inner: self.clone(),
            key: key.clone(),
            token,
            flight: flight.clone(),
        });
        // A stored entry (being refreshed, or standing by for an error) lets the loader ask
        // the upstream whether it changed instead of fetching it whole.
        let current = stale.as_ref().filter(|s| !s.negative);
        let loading = match current {
            Some(current) => loader.revalidate(&current.value, context),
            None => loader.load(context),
        };
        let result =
            tokio::time::timeout(self.load_timeout, AssertUnwindSafe(loading).catch_unwind()).await;
        let reads = u32::from(context == LoadContext::CallerWaiting);
        let result = match result {
            Ok(Ok(Ok(Fill::NotModified))) => match current {
                Some(current) => {
                    bump(&class.revalidated_304);
                    Ok(Ok(Ok(Fill::Store(current.value.clone()))))
                }
                None => Ok(Ok(Err(LoadError::of_kind(
                    LoadErrorKind::BadAnswer,
                    "not modified, but nothing is stored to keep",
                )))),
            },
            other => other,
        };
        let failure = match result {
            Ok(Ok(Ok(fill))) => {
                let done = self
                    .settle(
                        &key,
                        &policy,
                        loader.as_ref(),
                        fill,
                        stamp,
                        &class,
                        reads,
                        dest,
                    )
                    .await;
                flight.finish(done);
                return;
            }
            Ok(Ok(Err(e))) => EngineError::Load(e),
            Ok(Err(_panic)) => EngineError::LoaderPanicked,
            Err(_elapsed) => EngineError::LoadTimeout(self.load_timeout),
        };
        bump(&class.loader_errors);
        tracing::debug!(key = %key, class = %policy.class, error = %crate::Chain(&failure), "load failed");
        flight.finish(self.failed(&key, stale, failure));
    }

    /// What waiters get of a failed load: the stored entry while it may stand in for an
    /// error, else the error.
    fn failed(&self, key: &Key, stale: Option<Arc<Entry>>, failure: EngineError) -> FlightDone {
        let now = self.clock.now_ms();
        match stale {
            Some(s) if now < s.error_until_ms && self.inval.is_valid(key, &s) => {
                FlightDone::StaleOnError(s)
            }
            _ => FlightDone::Failed(failure),
        }
    }
    /// With Redis, one load per key across every instance: takes the shared lock (its token),
    /// or waits (bounded) for the instance that holds it. `Break` when that instance's record
    /// landed fresh and finished the flight; `Continue(None)` to load without the lock.
    async fn take_shared_lock(
        &self,
        key: &Key,
        seq: u64,
        flight: &Flight,
    ) -> ControlFlow<(), Option<String>> {
        let Some(redis) = &self.redis else {
            return ControlFlow::Continue(None);
        };
        match redis.coordinate(key).await {
            Coordination::Load(token) => ControlFlow::Continue(Some(token)),
            Coordination::Landed(raw) => {
                let now = self.clock.now_ms();
                if let Some(entry) = self.decode_lower(key, &raw, now, Some(seq), TierKind::Redis)
                    && now < entry.fresh_until_ms
                {
                    self.promote(key, &entry).await;
                    self.queue_put(key, entry.clone(), Dest::DiskOnly);
                    flight.finish(FlightDone::Coalesced(entry));
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(None)
            }
            Coordination::LoadAlone => ControlFlow::Continue(None),
        }
    }

    /// What a loader's fill becomes for the flight's waiters: stored (an answer, and a
    /// negative one when the class keeps them; `dest` says in which tiers) or passed on to
    /// the waiting callers only.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        key: &Key,
        policy: &Policy,
        loader: &dyn Loader,
        fill: Fill,
        stamp: LoadStamp,
        class: &Arc<ClassCounters>,
        reads: u32,
        dest: Dest,
    ) -> FlightDone {
        let stamps = match &fill {
            Fill::Store(value) | Fill::Negative(value) => {
                let extra = loader.value_tags(value);
                self.inval
                    .stamps_after(stamp.tags, &extra, stamp.bumps_before)
            }
            // Nothing the route's tags name changes a refusal of who asked.
            Fill::Refusal(..) => Box::default(),
            Fill::Pass(_) | Fill::NotModified => stamp.tags,
        };
        let (keep, negative) = match &fill {
            Fill::Store(_) => (true, false),
            Fill::Negative(_) => (policy.negative_ttl.is_some(), true),
            Fill::Refusal(..) => (true, true),
            Fill::Pass(_) | Fill::NotModified => (false, false),
        };
        let refusal_policy;
        let policy = match &fill {
            Fill::Refusal(_, keep_for) => {
                refusal_policy = Policy {
                    negative_ttl: Some(*keep_for),
                    ..policy.clone()
                };
                &refusal_policy
            }
            _ => policy,
        };
        let seq = stamp.seq;
        match fill {
            Fill::Store(value)
            | Fill::Negative(value)
            | Fill::Refusal(value, _)
            | Fill::Pass(value)
                if keep =>
            {
                let entry =
                    self.make_entry(value, policy, seq, stamps, class.clone(), negative, reads);
                self.store_to(key, entry.clone(), dest).await;
                FlightDone::Stored(entry)
            }
            Fill::Store(value)
            | Fill::Negative(value)
            | Fill::Refusal(value, _)
            | Fill::Pass(value) => {
                let entry = self.make_entry(value, policy, seq, stamps, class.clone(), false, 0);
                FlightDone::Passed(entry)
            }
            // Turned into `Store` of the current value before it comes here.
            Fill::NotModified => FlightDone::Failed(EngineError::Load(LoadError::of_kind(
                LoadErrorKind::BadAnswer,
                "not modified",
            ))),
        }
    }
}

/// Counts a load that is a refresh (nobody waiting on it) as started and running.
fn note_refresh(class: &ClassCounters, context: LoadContext) {
    if context != LoadContext::CallerWaiting {
        bump(&class.refreshes_started);
        bump(&class.refreshes_in_progress);
        if context == LoadContext::Warm {
            bump(&class.warm_refreshes);
        }
    }
}

/// Taken before a load starts: an invalidation that lands while the load runs must make its
/// result stale, since the upstream may have answered from before the change.
struct LoadStamp {
    seq: u64,
    tags: Box<[TagStamp]>,
    bumps_before: u64,
}

/// Releases the cross-instance load lock when a flight that held it ends, however it ends:
/// with the record when the load stored one (written to Redis and announced to the other
/// instances' waiters), without one otherwise (they load by themselves). Runs after the
/// local waiters are released, so no client waits on it.
struct ReleaseLock {
    inner: Arc<Inner>,
    key: Key,
    token: String,
    flight: Arc<Flight>,
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        let Some(redis) = self.inner.redis.clone() else {
            return;
        };
        let record = match self.flight.done.get() {
            Some(FlightDone::Stored(e)) if self.inner.inval.is_valid(&self.key, e) => {
                Some((codec::encode(e), e.expires_at_ms()))
            }
            _ => None,
        };
        redis.spawn_release(self.key.clone(), std::mem::take(&mut self.token), record);
    }
}

/// Releases waiters and frees the key when a flight ends, however it ends.
struct FlightGuard {
    inner: Arc<Inner>,
    key: Key,
    flight: Arc<Flight>,
    class: Option<Arc<ClassCounters>>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        // A no-op when the flight ended with an outcome: the first one set stays.
        self.flight
            .finish(FlightDone::Failed(EngineError::LoaderPanicked));
        let mut flights = self.inner.flights.lock_unpoisoned();
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.key);
        }
        if let Some(class) = &self.class {
            class.refreshes_in_progress.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
