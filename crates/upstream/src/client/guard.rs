//! [`Guard`]: one upstream's budgets (client and background concurrency, token-bucket rates,
//! the background floor), its circuit breaker and its counters. [`Upstream`](super::Upstream)
//! draws a [`GuardPermit`] before each request and reports success or failure on it. Client
//! permits are served in turn by who is asking ([`super::fair`]): one tool's flood of misses
//! queues behind itself, not in front of every other user.
//!
//! The retry delays come from `backon` (exponential with jitter), a crate already built for
//! redis-rs's reconnects, so it costs no build time. The token bucket and the breaker are this
//! module's own, for reasons measured against the crates made for them:
//!
//! - **Rate: not `governor`.** Its GCRA answers "now, or not before t" without reserving t, so
//!   every waiter that was told t wakes at t and races again; [`TokenBucket::take`] reserves the
//!   slot, so waiters are spaced in the order they came and each sleeps once (the order the
//!   fair queue keeps). Its waiting (`until_ready`) sleeps on `futures-timer`'s own thread, not
//!   tokio's clock, so the tests' paused time could not drive it; and it would add six crates
//!   this build does not have (governor, quanta, raw-cpuid, spinning_top, nonzero_ext,
//!   futures-timer) for what is 50 lines here.
//! - **Breaker: not `failsafe`** (quiet since its 1.3 release in mid-2024; `tower-resilience`,
//!   the other candidate, is young and wants the request path as a tower service). Its clock is `Instant::now`, where this one reads the engine's
//!   [`Clock`] so tests step a `ManualClock` instead of sleeping; and its half-open state lets
//!   calls through by a back-off policy, where this one lets exactly one probe through, tied
//!   to its [`GuardPermit`] (a probe dropped without a verdict frees the next). The state
//!   machine is 60 lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::BackoffBuilder as _;
use cachearr_engine::Clock;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use super::fair::{Asker, FairPermit, FairPermits};
use super::{Budget, UpstreamError};
use cachearr_config::GuardConfig;

/// The circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests fail fast until the cool-down ends.
    Open,
    /// One probe is allowed through; its result closes or re-opens the circuit.
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    state: BreakerState,
    consecutive_failures: u32,
    open_until_ms: u64,
    probe_in_flight: bool,
}

/// Counters of one upstream, for `/api/stats` and `/metrics`.
#[derive(Debug, Default)]
pub struct GuardCounters {
    /// Requests sent to the upstream (each retry counts).
    pub requests: AtomicU64,
    /// Client requests answered without an upstream request (hits, stale, coalesced).
    pub saved: AtomicU64,
    /// Requests in flight now (client and background).
    pub in_flight: AtomicU64,
    /// Background requests sent.
    pub background_requests: AtomicU64,
    /// Failed attempts (transport errors, timeouts, 5xx).
    pub failures: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
    /// Requests refused because the circuit was open.
    pub rejected_open: AtomicU64,
    /// Times the circuit opened.
    pub breaker_opened: AtomicU64,
    /// Client requests passed through uncached because they carried two different tokens.
    pub ambiguous_identity: AtomicU64,
    /// Client requests passed through uncached because the server refused their token last.
    pub refused_token: AtomicU64,
    /// Cached reads that repeated their connection's previous request byte for byte: routing,
    /// identity and key were reused, the user's standing was checked again.
    pub repeated_reads: AtomicU64,
    /// Client requests that went through the guard (sent, or refused as saturated).
    pub client_waits: AtomicU64,
    /// Microseconds client requests spent waiting for budget (rate and concurrency), in all.
    pub client_queued_us: AtomicU64,
    /// Microseconds background requests spent waiting for budget, in all.
    pub background_queued_us: AtomicU64,
    /// Background requests let through by the floor while clients held their budget.
    pub background_floor: AtomicU64,
}

/// A serialisable view of an upstream's counters.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GuardSnapshot {
    /// Requests sent to the upstream.
    pub requests: u64,
    /// Client requests answered without an upstream request.
    pub saved: u64,
    /// In flight now.
    pub in_flight: u64,
    /// Background requests sent.
    pub background_requests: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Retries made.
    pub retries: u64,
    /// Refused while the circuit was open.
    pub rejected_open: u64,
    /// Times the circuit opened.
    pub breaker_opened: u64,
    /// Requests passed through for carrying two different tokens.
    pub ambiguous_identity: u64,
    /// Requests passed through because the server refused their token last.
    pub refused_token: u64,
    /// Cached reads that repeated their connection's previous request.
    pub repeated_reads: u64,
    /// Client requests that went through the guard.
    pub client_waits: u64,
    /// Microseconds client requests spent waiting for budget, in all.
    pub client_queued_us: u64,
    /// Microseconds background requests spent waiting for budget, in all.
    pub background_queued_us: u64,
    /// Background requests let through by the floor while clients held their budget.
    pub background_floor: u64,
    /// The breaker now.
    pub breaker: BreakerState,
}

/// A token bucket on tokio time: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, tokio::time::Instant)>,
}

impl TokenBucket {
    fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate,
            burst,
            state: Mutex::new((burst, tokio::time::Instant::now())),
        }
    }

    /// Takes a token, or says how long until one is available (and reserves it).
    fn take(&self) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.rate).min(self.burst);
        s.1 = now;
        s.0 -= 1.0;
        if s.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.0 / self.rate)
        }
    }

    /// Takes a token if one is there; otherwise says how long until one is (and takes none).
    fn try_take(&self) -> Result<(), Duration> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.rate).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            Ok(())
        } else if self.rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - s.0) / self.rate))
        } else {
            Err(Duration::MAX)
        }
    }
}

/// Background requests per second that need not yield to clients: a quarter of the
/// background rate (5/s by default), so background work keeps three quarters of its rate
/// for quiet moments and still progresses under constant client load.
fn background_floor_rate(cfg: &GuardConfig) -> f64 {
    cfg.background_rate_per_sec / 4.0
}

/// Protection of one upstream: budgets, rate limits, breaker, counters.
pub struct Guard {
    name: String,
    pub(super) cfg: GuardConfig,
    clock: Arc<dyn Clock>,
    client_permits: FairPermits,
    background_permits: Semaphore,
    client_bucket: TokenBucket,
    background_bucket: TokenBucket,
    /// Background requests that need not yield to clients (see the module docs).
    floor_bucket: TokenBucket,
    client_in_flight: AtomicU64,
    client_released: Notify,
    breaker: Mutex<Breaker>,
    /// The counters.
    pub counters: GuardCounters,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("name", &self.name)
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// Held while a request is in flight; releases its budget on drop.
#[derive(Debug)]
pub struct GuardPermit<'a> {
    guard: &'a Guard,
    budget: Budget,
    probe: bool,
    _permit: Held<'a>,
}

/// The permit a [`GuardPermit`] holds, of its budget's kind.
#[derive(Debug)]
enum Held<'a> {
    Client(#[allow(dead_code)] FairPermit<'a>),
    Background(#[allow(dead_code)] SemaphorePermit<'a>),
}

impl Drop for GuardPermit<'_> {
    fn drop(&mut self) {
        self.guard
            .counters
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
        if self.budget == Budget::Client {
            self.guard.client_in_flight.fetch_sub(1, Ordering::Relaxed);
            self.guard.client_released.notify_waiters();
        }
        if self.probe {
            // A probe that ended without a verdict (e.g. dropped) lets the next one through.
            let mut b = self.guard.breaker.lock().unwrap_or_else(|e| e.into_inner());
            b.probe_in_flight = false;
        }
    }
}

impl Guard {
    /// A guard with the given limits, reading breaker time from `clock`.
    pub fn new(name: &str, cfg: GuardConfig, clock: Arc<dyn Clock>) -> Guard {
        Guard {
            name: name.to_string(),
            client_permits: FairPermits::new(cfg.max_concurrent),
            background_permits: Semaphore::new(cfg.background_max_concurrent),
            client_bucket: TokenBucket::new(cfg.rate_per_sec, cfg.burst),
            background_bucket: TokenBucket::new(
                cfg.background_rate_per_sec,
                (cfg.background_rate_per_sec.ceil() as u32).max(1),
            ),
            floor_bucket: TokenBucket::new(background_floor_rate(&cfg), 1),
            client_in_flight: AtomicU64::new(0),
            client_released: Notify::new(),
            breaker: Mutex::new(Breaker {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                open_until_ms: 0,
                probe_in_flight: false,
            }),
            counters: GuardCounters::default(),
            cfg,
            clock,
        }
    }

    /// The configured limits.
    pub fn config(&self) -> &GuardConfig {
        &self.cfg
    }

    /// The breaker's state now.
    pub fn breaker_state(&self) -> BreakerState {
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh_state(&mut b);
        b.state
    }

    /// How long until the open circuit lets a probe through (zero when not open).
    pub fn retry_after(&self) -> Duration {
        let b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        if b.state == BreakerState::Open {
            Duration::from_millis(b.open_until_ms.saturating_sub(self.clock.now_ms()))
        } else {
            Duration::ZERO
        }
    }

    fn refresh_state(&self, b: &mut Breaker) {
        if b.state == BreakerState::Open && self.clock.now_ms() >= b.open_until_ms {
            b.state = BreakerState::HalfOpen;
            b.probe_in_flight = false;
        }
    }

    /// A snapshot of the counters.
    pub fn snapshot(&self) -> GuardSnapshot {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GuardSnapshot {
            requests: l(&c.requests),
            saved: l(&c.saved),
            in_flight: l(&c.in_flight),
            background_requests: l(&c.background_requests),
            failures: l(&c.failures),
            retries: l(&c.retries),
            rejected_open: l(&c.rejected_open),
            breaker_opened: l(&c.breaker_opened),
            ambiguous_identity: l(&c.ambiguous_identity),
            refused_token: l(&c.refused_token),
            repeated_reads: l(&c.repeated_reads),
            client_waits: l(&c.client_waits),
            client_queued_us: l(&c.client_queued_us),
            background_queued_us: l(&c.background_queued_us),
            background_floor: l(&c.background_floor),
            breaker: self.breaker_state(),
        }
    }

    fn open_error(&self, b: &Breaker) -> UpstreamError {
        self.counters.rejected_open.fetch_add(1, Ordering::Relaxed);
        let retry_after =
            Duration::from_millis(b.open_until_ms.saturating_sub(self.clock.now_ms()))
                .max(Duration::from_secs(1));
        UpstreamError::CircuitOpen {
            upstream: self.name.clone(),
            retry_after,
        }
    }

    /// Waits for budget to send one request for `asker` (whose turn among the client
    /// budget's waiters it is; background requests share one line).
    ///
    /// # Errors
    /// [`UpstreamError::CircuitOpen`] at once when the circuit is open;
    /// [`UpstreamError::Saturated`] if no budget frees up within the read timeout.
    pub async fn acquire(
        &self,
        budget: Budget,
        asker: Asker,
    ) -> Result<GuardPermit<'_>, UpstreamError> {
        let probe = self.admit()?;
        let asked = tokio::time::Instant::now();
        let deadline = asked + self.cfg.read_timeout;
        let result = self.wait_for_budget(budget, asker, deadline).await;
        let queued = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
        if budget == Budget::Client {
            self.counters.client_waits.fetch_add(1, Ordering::Relaxed);
            self.counters
                .client_queued_us
                .fetch_add(queued, Ordering::Relaxed);
        } else {
            self.counters
                .background_queued_us
                .fetch_add(queued, Ordering::Relaxed);
        }
        let permit = match result {
            Ok(p) => p,
            Err(e) => {
                if probe {
                    let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
                    b.probe_in_flight = false;
                }
                return Err(e);
            }
        };
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if budget == Budget::Client {
            self.client_in_flight.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters
                .background_requests
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(GuardPermit {
            guard: self,
            budget,
            probe,
            _permit: permit,
        })
    }

    /// Whether the circuit lets a request through: `Ok(true)` when it is the half-open
    /// circuit's one probe.
    fn admit(&self) -> Result<bool, UpstreamError> {
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh_state(&mut b);
        match b.state {
            BreakerState::Closed => Ok(false),
            BreakerState::Open => Err(self.open_error(&b)),
            BreakerState::HalfOpen => {
                if b.probe_in_flight {
                    return Err(self.open_error(&b));
                }
                b.probe_in_flight = true;
                Ok(true)
            }
        }
    }

    /// Waits for `budget`'s rate and a permit of its own, until `deadline`.
    async fn wait_for_budget(
        &self,
        budget: Budget,
        asker: Asker,
        deadline: tokio::time::Instant,
    ) -> Result<Held<'_>, UpstreamError> {
        let saturated = || UpstreamError::Saturated(self.name.clone());
        let bucket = match budget {
            Budget::Client => &self.client_bucket,
            Budget::Background => &self.background_bucket,
        };
        if budget == Budget::Background {
            self.yield_to_clients(deadline).await?;
        }
        let wait = bucket.take();
        if !wait.is_zero() {
            if tokio::time::Instant::now() + wait > deadline {
                return Err(saturated());
            }
            tokio::time::sleep(wait).await;
        }
        match budget {
            Budget::Client => tokio::time::timeout_at(deadline, self.client_permits.acquire(asker))
                .await
                .map(Held::Client)
                .map_err(|_| saturated()),
            Budget::Background => {
                match tokio::time::timeout_at(deadline, self.background_permits.acquire()).await {
                    Ok(Ok(p)) => Ok(Held::Background(p)),
                    _ => Err(saturated()),
                }
            }
        }
    }

    /// Background work yields to clients: it waits while they use more than half of their
    /// budget, unless the floor has a token (background work must progress).
    async fn yield_to_clients(&self, deadline: tokio::time::Instant) -> Result<(), UpstreamError> {
        let half = (self.cfg.max_concurrent / 2).max(1) as u64;
        while self.client_in_flight.load(Ordering::Relaxed) >= half {
            let notified = self.client_released.notified();
            if self.client_in_flight.load(Ordering::Relaxed) < half {
                break;
            }
            match self.floor_bucket.try_take() {
                Ok(()) => {
                    self.counters
                        .background_floor
                        .fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(floor_wait) => {
                    let until = tokio::time::Instant::now()
                        .checked_add(floor_wait)
                        .map_or(deadline, |t| t.min(deadline));
                    if tokio::time::timeout_at(until, notified).await.is_err()
                        && tokio::time::Instant::now() >= deadline
                    {
                        return Err(UpstreamError::Saturated(self.name.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The delays before each retry of an idempotent request: the first `retry_backoff`,
    /// doubling each time (at most 60 s), each stretched by a random part of itself so that
    /// clients failed together do not retry together; at most `retries` of them.
    pub(super) fn retry_delays(&self) -> backon::ExponentialBackoff {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.cfg.retry_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.cfg.retries as usize)
            .build()
    }

    /// Records a success: closes the circuit.
    pub fn success(&self, permit: &mut GuardPermit<'_>) {
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        b.consecutive_failures = 0;
        b.state = BreakerState::Closed;
        b.probe_in_flight = false;
        permit.probe = false;
    }

    /// Records a failure: enough of them in a row (or a failed probe) open the circuit.
    pub fn failure(&self, permit: &mut GuardPermit<'_>) {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        b.consecutive_failures = b.consecutive_failures.saturating_add(1);
        let was_probe = permit.probe;
        permit.probe = false;
        if was_probe
            || (b.state == BreakerState::Closed
                && b.consecutive_failures >= self.cfg.breaker_failures)
        {
            if b.state != BreakerState::Open {
                self.counters.breaker_opened.fetch_add(1, Ordering::Relaxed);
            }
            b.state = BreakerState::Open;
            b.open_until_ms = self.clock.now_ms().saturating_add(
                u64::try_from(self.cfg.breaker_cooldown.as_millis()).unwrap_or(u64::MAX),
            );
            b.probe_in_flight = false;
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_engine::ManualClock;

    #[test]
    fn retries_wait_twice_as_long_each_time_with_jitter_and_stop_at_the_limit() {
        let cfg = GuardConfig {
            retries: 3,
            retry_backoff: Duration::from_millis(50),
            ..GuardConfig::default()
        };
        let g = Guard::new("t", cfg, Arc::new(ManualClock::default()));
        for _ in 0..20 {
            let delays: Vec<Duration> = g.retry_delays().collect();
            assert_eq!(delays.len(), 3, "one delay per allowed retry");
            for (n, delay) in delays.iter().enumerate() {
                let base = Duration::from_millis(50 << n);
                assert!(*delay >= base && *delay <= base * 2, "retry {n}: {delay:?}");
            }
        }
        // Two schedules are not the same schedule: clients failed together spread out.
        let firsts: std::collections::HashSet<Duration> =
            (0..20).filter_map(|_| g.retry_delays().next()).collect();
        assert!(firsts.len() > 1);
    }

    #[tokio::test]
    async fn breaker_opens_after_consecutive_failures_and_probes_after_cooldown() {
        let clock = Arc::new(ManualClock::default());
        let cfg = GuardConfig {
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(10),
            ..GuardConfig::default()
        };
        let g = Guard::new("t", cfg, clock.clone());
        for _ in 0..3 {
            let mut p = g.acquire(Budget::Client, Asker::default()).await.unwrap();
            g.failure(&mut p);
        }
        assert_eq!(g.breaker_state(), BreakerState::Open);
        assert!(matches!(
            g.acquire(Budget::Client, Asker::default()).await,
            Err(UpstreamError::CircuitOpen { .. })
        ));
        clock.advance(Duration::from_secs(11));
        assert_eq!(g.breaker_state(), BreakerState::HalfOpen);
        let mut probe = g.acquire(Budget::Client, Asker::default()).await.unwrap();
        // Only one probe at a time.
        assert!(g.acquire(Budget::Client, Asker::default()).await.is_err());
        g.failure(&mut probe);
        drop(probe);
        assert_eq!(g.breaker_state(), BreakerState::Open);
        clock.advance(Duration::from_secs(11));
        let mut probe = g.acquire(Budget::Client, Asker::default()).await.unwrap();
        g.success(&mut probe);
        drop(probe);
        assert_eq!(g.breaker_state(), BreakerState::Closed);
        assert_eq!(g.snapshot().breaker_opened, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn background_work_progresses_while_clients_hold_their_budget() {
        let cfg = GuardConfig {
            max_concurrent: 2,
            background_rate_per_sec: 20.0,
            read_timeout: Duration::from_secs(60),
            ..GuardConfig::default()
        };
        let g = Guard::new("t", cfg, Arc::new(ManualClock::default()));
        // Clients hold half their budget and never let go: background work used to wait for
        // the whole read timeout and give up.
        let _client = g.acquire(Budget::Client, Asker::default()).await.unwrap();
        let started = tokio::time::Instant::now();
        for _ in 0..10 {
            drop(
                g.acquire(Budget::Background, Asker::default())
                    .await
                    .unwrap(),
            );
        }
        // Ten requests at the floor's 5 per second (a quarter of 20): about two seconds.
        let took = started.elapsed();
        assert!(took <= Duration::from_secs(3), "{took:?}");
        let snap = g.snapshot();
        assert_eq!(snap.background_floor, 10);
        assert!(snap.background_queued_us >= 1_500_000, "{snap:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn one_client_flooding_the_budget_does_not_starve_another() {
        let cfg = GuardConfig {
            max_concurrent: 2,
            rate_per_sec: 10_000.0,
            burst: 10_000,
            read_timeout: Duration::from_secs(60),
            ..GuardConfig::default()
        };
        let g = Arc::new(Guard::new("t", cfg, Arc::new(ManualClock::default())));
        let (flood, other) = (Asker(1), Asker(2));
        let held = (
            g.acquire(Budget::Client, flood).await.unwrap(),
            g.acquire(Budget::Client, flood).await.unwrap(),
        );
        // 100 more misses of the flooding tool wait, then one of another user.
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for asker in std::iter::repeat_n(flood, 100).chain([other]) {
            let (g, done_tx) = (g.clone(), done_tx.clone());
            tasks.push(tokio::spawn(async move {
                let permit = g.acquire(Budget::Client, asker).await.unwrap();
                // Each request holds its permit over a turn of the scheduler, as a server's
                // answer would; the order they are let in is the guard's, not a timer's.
                tokio::task::yield_now().await;
                drop(permit);
                let _ = done_tx.send(asker);
            }));
            tokio::task::yield_now().await;
        }
        drop(held);
        // The other user's request is among the first few served, not behind the 100.
        let mut before_other = 0;
        while let Some(asker) = done.recv().await {
            if asker == other {
                break;
            }
            before_other += 1;
        }
        assert!(before_other <= 2, "{before_other} of the flood went first");
        for t in tasks {
            t.abort();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn client_time_waiting_for_budget_is_counted() {
        let cfg = GuardConfig {
            rate_per_sec: 10.0,
            burst: 1,
            ..GuardConfig::default()
        };
        let g = Guard::new("t", cfg, Arc::new(ManualClock::default()));
        for _ in 0..3 {
            drop(g.acquire(Budget::Client, Asker::default()).await.unwrap());
        }
        let snap = g.snapshot();
        assert_eq!(snap.client_waits, 3);
        // The second and third waited 100 ms each for a token.
        assert!(
            (190_000..=260_000).contains(&snap.client_queued_us),
            "{snap:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn token_bucket_spaces_requests_out() {
        let b = TokenBucket::new(10.0, 2);
        assert_eq!(b.take(), Duration::ZERO);
        assert_eq!(b.take(), Duration::ZERO);
        let wait = b.take();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }
}
