//! Several gateways, one background: gateways sharing a Redis elect one holder per upstream,
//! which alone crawls the library, keeps the notification socket, probes play state and
//! samples; the others follow what it publishes (`docs/change-feed.md` "Several gateways,
//! one background").
//!
//! # The lease
//! Each upstream's [`Role`] is decided by a lease in Redis (`cachearr_engine::RedisTier`'s
//! `lease_*`): `SET NX PX ttl` holding a fence from `INCR` and this gateway's id, renewed by
//! a script that checks the value. The holder's own clock decides when it stops: the lease
//! lives `ttl` from when the last successful renewal was *sent*, so a holder that has not
//! renewed for `stop_after` (less than `ttl`) stops its holder work before its lease can have
//! expired — no two clocks are ever compared. The others try to take the lease every
//! `follow_every`, so one of them holds it within `ttl + follow_every` of the holder's death.
//!
//! # What followers are told
//! The holder writes a heartbeat (fenced: only while the lease is its own) at every renewal:
//! a sequence number, whether its change feed is healthy, the keyed hashes of the users its
//! play-state watch covers and the generation of the library copy it last published. A
//! follower trusts the holder's feed while the heartbeat says healthy and its sequence moved
//! within `ttl` of the follower's own clock ([`cachearr_upstream::feed::Feed::vouch_until`]); otherwise
//! its answers fall back to their TTLs, as with a feed that is down. Invalidations need no
//! heartbeat: they travel as tag generations through Redis already.
//!
//! # Without Redis
//! No Redis configured: every role is [`RoleKind::Alone`] and does everything, as a single
//! gateway always did. Redis gone (or this gateway cut off from it): a holder stops at
//! `stop_after`, and once no lease of its own can be alive any more (`ttl` after its last
//! contact) every gateway works alone again — degraded, never stopped — until Redis answers
//! and a lease decides again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cachearr_engine::{LeaseAnswer, LeaseValue, RedisTier};
use cachearr_upstream::feed::Feed;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::gateway::Gateway;
use crate::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;

/// The lease's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a lease lives in Redis after each renewal.
    pub ttl: Duration,
    /// How often the holder renews (and writes its heartbeat).
    pub renew_every: Duration,
    /// How long after the last renewal it sent that answered the holder stops its holder
    /// work when no renewal answers: less than `ttl`, so it stops before its lease can have
    /// expired and another taken it.
    pub stop_after: Duration,
    /// How often the others try to take the lease and read the heartbeat.
    pub follow_every: Duration,
}

impl Default for LeaseTiming {
    /// A 20 s lease renewed every 5 s, the holder stopping 15 s after its last renewal, the
    /// others trying every 2 s: a dead holder is replaced within 22 s.
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(20),
            renew_every: Duration::from_secs(5),
            stop_after: Duration::from_secs(15),
            follow_every: Duration::from_secs(2),
        }
    }
}

/// What a gateway is for one upstream's background work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// No lease decided yet (the first attempt has not answered): no holder work.
    Starting,
    /// No Redis, or Redis unreachable for longer than a lease lives: does everything itself.
    Alone,
    /// Holds the lease: crawls, keeps the socket, probes, samples, publishes.
    Holder,
    /// Another gateway holds the lease: follows what it publishes.
    Follower,
    /// Was the holder and could not renew in time: stopped, until it knows more.
    Standby,
}

impl RoleKind {
    /// Whether a gateway in this role does the holder work.
    pub fn works(self) -> bool {
        matches!(self, RoleKind::Alone | RoleKind::Holder)
    }
}

/// The holder's heartbeat, as published for the followers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Raised at every beat: a follower judges its recency by when it saw it move, on its
    /// own clock.
    pub seq: u64,
    /// The holder's change feed is healthy.
    pub feed_healthy: bool,
    /// The keyed hashes of the users the holder's play-state watch covers.
    pub users: Vec<String>,
    /// The generation of the library copy the holder last published (0: none).
    pub copy: u64,
}

/// One upstream's role, for `/api/stats` (`background`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleReport {
    /// The upstream.
    pub upstream: String,
    /// `alone`, `holder`, `follower`, `standby` or `starting`.
    pub role: RoleKind,
    /// Whether this gateway does the holder work now.
    pub works: bool,
    /// The lease's fence (this gateway's as holder, the holder's as follower).
    pub fence: Option<u64>,
    /// The holder's id (this gateway's as holder).
    pub holder: Option<String>,
    /// This gateway's id among those sharing the Redis.
    pub instance: Option<String>,
    /// Follower: the holder's feed is vouched for now (heartbeat healthy and recent).
    pub holder_feed_healthy: bool,
    /// Follower: ms since the holder's heartbeat last moved, on this gateway's clock.
    pub heartbeat_age_ms: Option<u64>,
    /// The generation of the library copy this gateway published (holder) or loaded
    /// (follower) last.
    pub copy_generation: u64,
    /// Times this gateway became the holder.
    pub takeovers: u64,
    /// Times this gateway, holding the lease, could not renew it in time and stopped its
    /// holder work.
    pub stops: u64,
}

/// One upstream's background role on this gateway.
pub struct Role {
    upstream: Arc<str>,
    state: Mutex<RoleState>,
    /// The role, for the tasks that start and stop with the holder work (the notification
    /// socket) and those that wait for the first decision (the keeper).
    kind: watch::Sender<RoleKind>,
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Role")
            .field("upstream", &self.upstream)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct RoleState {
    kind: RoleKind,
    /// This gateway's lease as holder, the holder's as follower.
    lease: Option<LeaseValue>,
    /// Local ms at which the last lease command that answered was sent.
    confirmed_at_ms: u64,
    /// Local ms of the next renewal or attempt.
    next_at_ms: u64,
    /// The heartbeat last read (follower) or written (holder).
    beat: Heartbeat,
    /// Local ms at which the heartbeat's sequence last moved (follower).
    beat_moved_ms: Option<u64>,
    /// Local ms at which this gateway first saw the current holder's lease.
    holder_seen_ms: u64,
    /// The copy generation published or loaded last.
    copy_generation: u64,
    takeovers: u64,
    stops: u64,
}

impl Role {
    fn new(upstream: &str, kind: RoleKind) -> Role {
        Role {
            upstream: Arc::from(upstream),
            state: Mutex::new(RoleState {
                kind,
                lease: None,
                confirmed_at_ms: 0,
                next_at_ms: 0,
                beat: Heartbeat::default(),
                beat_moved_ms: None,
                holder_seen_ms: 0,
                copy_generation: 0,
                takeovers: 0,
                stops: 0,
            }),
            kind: watch::channel(kind).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RoleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The upstream whose role this is.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The role now.
    pub fn kind(&self) -> RoleKind {
        self.lock().kind
    }

    /// Whether this gateway does the holder work now (crawl, socket, probes, samples).
    pub fn works(&self) -> bool {
        self.kind().works()
    }

    /// Follows the role ([`RoleKind::works`]: whether this gateway does the holder work).
    pub fn watch_kind(&self) -> watch::Receiver<RoleKind> {
        self.kind.subscribe()
    }

    /// Waits until the first lease attempt has decided the role.
    pub async fn decided(&self) {
        let mut rx = self.kind.subscribe();
        let _ = rx.wait_for(|kind| *kind != RoleKind::Starting).await;
    }

    /// The holder's lease, when this gateway holds it: what its publications are fenced by.
    pub fn held_lease(&self) -> Option<LeaseValue> {
        let s = self.lock();
        (s.kind == RoleKind::Holder)
            .then(|| s.lease.clone())
            .flatten()
    }

    /// Follower: whether the holder's play-state watch covers every user in `users` (their
    /// keyed hashes), so that this gateway need not probe them. False in any other role.
    pub fn holder_watches(&self, users: &HashSet<String>) -> bool {
        let s = self.lock();
        s.kind == RoleKind::Follower
            && s.beat_moved_ms.is_some()
            && users.iter().all(|u| s.beat.users.contains(u))
    }

    /// Follower: the library copy generation the holder says it published, when it is not
    /// the one loaded last.
    pub fn copy_to_load(&self) -> Option<u64> {
        let s = self.lock();
        (s.kind == RoleKind::Follower && s.beat.copy != 0 && s.beat.copy != s.copy_generation)
            .then_some(s.beat.copy)
    }

    /// The generation of the library copy published or loaded last (0: none).
    pub fn copy_generation(&self) -> u64 {
        self.lock().copy_generation
    }

    /// The library copy of `generation` was published (holder) or loaded (follower). A
    /// holder beats at once, so that the followers learn of the new copy at their next look
    /// rather than after the next renewal.
    pub fn note_copy(&self, generation: u64) {
        let mut s = self.lock();
        s.copy_generation = generation;
        if s.kind == RoleKind::Holder {
            s.next_at_ms = 0;
        }
    }

    /// The report for `/api/stats`.
    pub fn report(&self, instance: Option<&str>, now_ms: u64, ttl: Duration) -> RoleReport {
        let s = self.lock();
        let age = s.beat_moved_ms.map(|at| now_ms.saturating_sub(at));
        RoleReport {
            upstream: self.upstream.to_string(),
            role: s.kind,
            works: s.kind.works(),
            fence: s.lease.as_ref().map(|l| l.fence),
            holder: s.lease.as_ref().map(|l| l.holder.clone()),
            instance: instance.map(str::to_owned),
            holder_feed_healthy: s.kind == RoleKind::Follower
                && s.beat.feed_healthy
                && age.is_some_and(|a| a <= ms(ttl)),
            heartbeat_age_ms: if s.kind == RoleKind::Follower {
                age
            } else {
                None
            },
            copy_generation: s.copy_generation,
            takeovers: s.takeovers,
            stops: s.stops,
        }
    }

    fn set_kind(&self, s: &mut RoleState, kind: RoleKind) {
        if s.kind != kind {
            tracing::info!(upstream = %self.upstream, from = ?s.kind, to = ?kind, fence = ?s.lease.as_ref().map(|l| l.fence), "background role");
            if kind == RoleKind::Holder {
                s.takeovers += 1;
            }
            if s.kind == RoleKind::Holder && kind == RoleKind::Standby {
                s.stops += 1;
            }
            s.kind = kind;
        }
        self.kind.send_if_modified(|k| {
            let changed = *k != kind;
            *k = kind;
            changed
        });
    }
}

/// Every upstream's [`Role`] on one gateway.
#[derive(Debug)]
pub struct Background {
    roles: Vec<Arc<Role>>,
    timing: LeaseTiming,
}

impl Background {
    /// The roles of `upstreams`: starting when the gateway shares a Redis (`shared`), alone
    /// otherwise.
    pub fn new<'a>(
        upstreams: impl Iterator<Item = &'a str>,
        shared: bool,
        timing: LeaseTiming,
    ) -> Background {
        let kind = if shared {
            RoleKind::Starting
        } else {
            RoleKind::Alone
        };
        Background {
            roles: upstreams.map(|u| Arc::new(Role::new(u, kind))).collect(),
            timing,
        }
    }

    /// Every upstream's role for `/api/stats` (`background`), this gateway being `instance`
    /// among those sharing its Redis.
    pub fn reports(&self, instance: Option<&str>, now_ms: u64) -> Vec<RoleReport> {
        (self.roles.iter())
            .map(|r| r.report(instance, now_ms, self.timing.ttl))
            .collect()
    }

    /// The lease's timing.
    pub fn timing(&self) -> LeaseTiming {
        self.timing
    }

    /// The role of `upstream`.
    pub fn role(&self, upstream: &str) -> Option<&Arc<Role>> {
        self.roles.iter().find(|r| &*r.upstream == upstream)
    }

    /// Whether this gateway does `upstream`'s holder work now (an unknown upstream: yes, as a
    /// gateway alone would).
    pub fn works(&self, upstream: &str) -> bool {
        self.role(upstream).is_none_or(|r| r.works())
    }
}

/// The lease's name for `upstream`'s background.
pub fn lease_name(upstream: &str) -> String {
    format!("bg:{upstream}")
}

/// The heartbeat's name for `upstream`.
fn beat_name(upstream: &str) -> String {
    format!("beat:{upstream}")
}

/// The published library copy's name for `upstream`.
pub fn copy_name(upstream: &str) -> String {
    format!("copy:{upstream}")
}

/// Runs the lease of every upstream until `stop` (nothing without a Redis tier), and gives the
/// leases up when stopped so that another gateway takes over at once.
pub fn spawn_leases(
    gw: &Gateway,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let tier = gw.cache().redis()?.clone();
    let gw = gw.clone();
    let stop = stop.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {
                    for up in gw.upstreams() {
                        step(gw.reads(), gw.background(), &tier, up).await;
                    }
                }
            }
        }
        for up in gw.upstreams() {
            if let Some(lease) = gw.background().role(&up.name).and_then(|r| r.held_lease()) {
                tier.lease_release(&lease_name(&up.name), &lease).await;
            }
        }
    }))
}

/// One look at `upstream`'s lease when its time has come: renew it (holder), try to take it
/// and read the heartbeat (the others), and change role as the answers say: this gateway's
/// role among `background`'s, the feed and the users it watches are `reads`'.
pub async fn step(reads: &ReadThrough, background: &Background, tier: &RedisTier, up: &Upstream) {
    let upstream = &*up.name;
    let Some(role) = background.role(upstream).cloned() else {
        return;
    };
    let timing = background.timing();
    let clock = reads.clock();
    let sent = clock.now_ms();
    let (kind, lease) = {
        let s = role.lock();
        if sent < s.next_at_ms {
            return;
        }
        (s.kind, s.lease.clone())
    };
    let name = lease_name(upstream);
    let answer = match (kind, lease) {
        (RoleKind::Holder, Some(lease)) => {
            match tier.lease_renew(&name, &lease, timing.ttl).await {
                Some(true) => LeaseAnswer::Held(lease),
                // Lost (expired while cut off, taken since): ask who holds it now.
                Some(false) => {
                    tier.lease_acquire(&name, tier.instance_id(), timing.ttl)
                        .await
                }
                None => LeaseAnswer::NoAnswer,
            }
        }
        _ => {
            tier.lease_acquire(&name, tier.instance_id(), timing.ttl)
                .await
        }
    };
    let now = clock.now_ms();
    let at = LeaseStep {
        tier,
        upstream,
        role: &role,
        timing,
        feed: reads.feed(upstream).map(Arc::as_ref),
    };
    match answer {
        LeaseAnswer::Held(lease) => held(&at, lease, sent, now, watched_users(reads, up)).await,
        LeaseAnswer::Other(lease) => follow(&at, lease, sent, now).await,
        LeaseAnswer::NoAnswer => unanswered(&at, now),
    }
}

/// What one look at an upstream's lease works on: the parts of the gateway it reads and
/// writes, rather than the whole gateway.
struct LeaseStep<'a> {
    tier: &'a RedisTier,
    upstream: &'a str,
    role: &'a Role,
    timing: LeaseTiming,
    /// The upstream's change feed, vouched for or not as the holder's heartbeat says.
    feed: Option<&'a Feed>,
}

/// The lease is this gateway's (taken or renewed at `sent`): hold it and publish the heartbeat,
/// which names the `users` whose play state this gateway watches.
async fn held(at: &LeaseStep<'_>, lease: LeaseValue, sent: u64, now: u64, users: Vec<String>) {
    let LeaseStep {
        tier,
        upstream,
        role,
        timing,
        feed,
    } = *at;
    let name = lease_name(upstream);
    let beat = {
        let mut s = role.lock();
        s.confirmed_at_ms = sent;
        s.next_at_ms = now.saturating_add(ms(timing.renew_every));
        s.lease = Some(lease.clone());
        s.beat_moved_ms = None;
        role.set_kind(&mut s, RoleKind::Holder);
        s.beat.seq += 1;
        s.beat.feed_healthy = feed.is_some_and(|f| f.unhealthy(now).is_none());
        s.beat.users = users;
        s.beat.copy = s.copy_generation;
        s.beat.clone()
    };
    if let Ok(bytes) = serde_json::to_vec(&beat) {
        tier.publish_small(&name, &lease, &beat_name(upstream), &bytes, timing.ttl)
            .await;
    }
    if let Some(feed) = feed {
        feed.vouch_until(0);
    }
}

/// Another gateway holds the lease: follow it while its heartbeat moves, else work alone.
async fn follow(at: &LeaseStep<'_>, lease: LeaseValue, sent: u64, now: u64) {
    let LeaseStep {
        tier,
        upstream,
        role,
        timing,
        feed,
    } = *at;
    let beat = tier.read_small(&beat_name(upstream)).await.flatten();
    let beat: Option<Heartbeat> = beat.and_then(|b| serde_json::from_slice(&b).ok());
    let mut s = role.lock();
    s.confirmed_at_ms = sent;
    s.next_at_ms = now.saturating_add(ms(timing.follow_every));
    if s.lease.as_ref() != Some(&lease) {
        s.beat_moved_ms = None;
        s.beat.seq = 0;
        s.holder_seen_ms = now;
    }
    s.lease = Some(lease);
    if let Some(beat) = beat {
        if beat.seq != s.beat.seq {
            s.beat_moved_ms = Some(now);
        }
        s.beat = beat;
    }
    let heard = s
        .beat_moved_ms
        .is_some_and(|at| now.saturating_sub(at) <= ms(timing.ttl));
    // A holder not heard for a lease's life (its heartbeat unreadable — another
    // installation secret — or no longer written) is no one to follow: this gateway
    // does its own background, as without Redis.
    let next = if heard || now.saturating_sub(s.holder_seen_ms) < ms(timing.ttl) {
        RoleKind::Follower
    } else {
        RoleKind::Alone
    };
    role.set_kind(&mut s, next);
    let vouched = s.beat.feed_healthy && heard;
    let until = if vouched {
        s.beat_moved_ms.unwrap_or(0).saturating_add(ms(timing.ttl))
    } else {
        0
    };
    drop(s);
    if let Some(feed) = feed {
        feed.vouch_until(until);
    }
}

/// Redis did not answer: a holder stops once its lease may have lapsed; the others work alone
/// once no lease can be alive.
fn unanswered(at: &LeaseStep<'_>, now: u64) {
    let LeaseStep {
        role, timing, feed, ..
    } = *at;
    let mut s = role.lock();
    s.next_at_ms = now.saturating_add(ms(timing.follow_every.min(timing.renew_every)));
    let silent = now.saturating_sub(s.confirmed_at_ms);
    let next = match s.kind {
        // Redis unreachable at start: work alone until a lease decides.
        RoleKind::Starting => RoleKind::Alone,
        RoleKind::Holder if silent >= ms(timing.stop_after) => RoleKind::Standby,
        // No lease of ours can be alive any more, and no one can tell us of theirs.
        RoleKind::Standby | RoleKind::Follower if silent >= ms(timing.ttl) => RoleKind::Alone,
        other => other,
    };
    if next != RoleKind::Follower {
        s.beat_moved_ms = None;
    }
    role.set_kind(&mut s, next);
    drop(s);
    if let Some(feed) = feed
        && next != RoleKind::Follower
    {
        feed.vouch_until(0);
    }
}

/// The keyed hashes of the users `upstream`'s play-state watch covers on this gateway.
pub fn watched_users(reads: &ReadThrough, up: &Upstream) -> Vec<String> {
    let within = reads.config().feed.play_state_watch;
    let since = reads.clock().now_ms().saturating_sub(ms(within));
    (up.users.seen_since(since).iter())
        .map(|u| u.hash.to_string())
        .collect()
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
