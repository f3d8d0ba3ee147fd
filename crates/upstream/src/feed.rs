//! Cache validity from the library's change feed instead of TTLs (`docs/change-feed.md`).
//!
//! An answer about library content (the sections list, section listings, item metadata and
//! children, searches, recently added) depends on items and sections, and its tags say which
//! (`{up}:item:{id}`, `{up}:section:{id}`, `{up}:listings`, the user's state tag…). The change
//! feed — the server's notifications and webhooks, the index's incremental `updatedAt` /
//! `MinDateLastSaved` pass and its count check — bumps exactly those tags when something
//! changes. So while the feed is known to be healthy, such an answer is kept fresh for the
//! feed's horizon (7 days) instead of its class TTL: what cannot have changed is not fetched
//! again. When the feed cannot prove freshness (no notification socket open and no recent
//! webhook, or an incremental pass overdue) the class TTL applies again at read time
//! ([`cachearr_engine::Policy::fresh_cap`]): nothing is dropped, entries past their TTL are
//! served stale while one refresh runs, as before.
//!
//! **Proof before trust.** The feed can be wrong (a dropped event, a change the server does not
//! announce). The gateway's `sampler::sample_once` re-fetches a random feed-validated entry on
//! the background budget and compares it with what the cache holds ([`Feed::pick`] chooses it,
//! [`Feed::judge`] weighs the answer); a mismatch is counted with the entry's
//! age, logged as a warning, the entry is dropped, and its class falls back to its TTL until
//! `prove_after` samples in a row match again. `/api/stats` (`feed`) and the dashboard show it.
//!
//! **Which items an answer shows** ([`value_tags`]) is read from the stored body on every
//! fill, by the server's dialect ([`Dialect::items_shown`]). A stray id only adds a tag (a
//! refetch too many); what the tags miss, sampled revalidation finds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cachearr_engine::{Fill, Key, Policy, TieredCache};
use http::{HeaderMap, Uri};
use serde::{Deserialize, Serialize};

use crate::client::Upstream;
use crate::subscriber::SubscriberStatus;
use crate::users::UserRecord;
use cachearr_config::FeedConfig;
use cachearr_config::policy::Class;
use cachearr_dialect::Dialect;
use cachearr_dialect::answers::ItemsShown;

/// The classes whose answers depend only on library content and play state, which the feed
/// announces. On deck, history, sessions, activities and playlists keep their TTLs.
pub const FEED_CLASSES: [Class; 5] = [
    Class::Sections,
    Class::Listing,
    Class::Metadata,
    Class::Search,
    Class::Recent,
];

/// Whether answers of `class` show library items and so carry their tags
/// ([`value_tags`]): the feed classes but the sections list.
pub fn item_tagged(class: Class) -> bool {
    FEED_CLASSES.contains(&class) && class != Class::Sections
}

/// Entries remembered as sampling candidates, per upstream.
const POOL_MAX: usize = 4096;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A filled entry that sampling may fetch again: its key and the request that filled it (in
/// buffers of its own, the gateway's `fetch::owned_request`).
#[derive(Clone)]
pub struct Candidate {
    /// The entry's key.
    pub key: Key,
    /// The route's class, which the feed trusts or distrusts as a whole.
    pub class: Class,
    /// The request target that filled it.
    pub uri: Uri,
    /// The request's headers (the user's token among them).
    pub headers: HeaderMap,
    /// Who it was filled for: the fetch again is made as them.
    pub user: Arc<UserRecord>,
}

/// Per class: trust and what sampling found.
#[derive(Default)]
struct ClassFeed {
    /// A sample disagreed: the class is on its TTL until `prove_after` matches in a row.
    distrusted: AtomicBool,
    matches_in_row: AtomicU32,
    samples: AtomicU64,
    mismatches: AtomicU64,
    /// Ages (ms since fill) of entries found stale.
    stale_age_sum_ms: AtomicU64,
    stale_age_max_ms: AtomicU64,
}

/// Why the feed cannot prove freshness right now (`None`: it can).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unhealthy {
    /// `[feed] enabled = false`.
    Disabled,
    /// No notification socket open and no webhook within the window.
    NoEvents,
    /// The index's incremental pass has not run recently (or the index has not been built).
    PassOverdue,
}

impl Unhealthy {
    fn as_str(self) -> &'static str {
        match self {
            Unhealthy::Disabled => "disabled",
            Unhealthy::NoEvents => "no change events (notification socket down, no webhook)",
            Unhealthy::PassOverdue => "the index's incremental pass is overdue",
        }
    }
}

/// What the feed does to the engine policy of a read of a class it follows ([`Feed::apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stance {
    /// The feed vouches for the class: fresh until its horizon, uncapped.
    Vouched,
    /// The feed cannot vouch now: the class TTL caps freshness at read time.
    Capped,
}

/// A cached read's engine policy in each of the feed's stances ([`Feed::policy`]): the
/// route's own, and its vouched and capped forms, made by the first read that needs them and
/// kept (a reading is remembered for the repeats of its request). A read picks one by
/// reference: cloned and adjusted on every read instead, the policy's shared class name and
/// tags had their counts written by every core on every hit. Read with one feed only, its
/// upstream's.
#[derive(Debug)]
pub struct FeedPolicies {
    pub(crate) routed: Policy,
    /// Vouched, capped.
    pub(crate) adjusted: OnceLock<[Policy; 2]>,
}

impl FeedPolicies {
    /// The route's own policy: a read's when no feed follows its upstream.
    pub fn routed(&self) -> &Policy {
        &self.routed
    }
}

/// One upstream's change feed: health, per-class trust, sampling.
pub struct Feed {
    upstream: Arc<str>,
    config: FeedConfig,
    /// The index keeps an incremental pass; without the index only events count.
    index_enabled: bool,
    /// An incremental pass older than this makes the feed unhealthy.
    pass_max_age_ms: u64,
    sockets: Mutex<Vec<Arc<SubscriberStatus>>>,
    /// Clock ms of the last webhook (0: none).
    last_webhook_ms: AtomicU64,
    /// Clock ms of the last change event from any source (0: none).
    last_event_ms: AtomicU64,
    /// Clock ms of the last finished index build or incremental pass (0: none).
    last_pass_ms: AtomicU64,
    classes: Vec<ClassFeed>,
    pool: Mutex<HashMap<Key, Candidate>>,
    /// What the play-state watch's rounds did (the library copy's `play_watch`).
    play_watch: Mutex<WatchReport>,
    /// The users' probes' own budget ([`probe_budget`]).
    probe_budget: Mutex<probe_budget::ProbeBudget>,
    /// Last health seen by a read, for one warning per transition.
    was_healthy: AtomicBool,
    /// Tags bumped by incremental passes (changes the events had not announced, or announced
    /// too).
    pass_tags: AtomicU64,
    /// How long the server may hold a change before announcing it
    /// (`ServerEvents::announce_delay`).
    announce_delay: Duration,
    /// The socket announces every change of the live sessions list
    /// (`ServerEvents::announces_sessions`): the list follows the socket while it is open.
    sessions_announced: bool,
    /// Where the socket announces the list only once subscribed
    /// (`ServerEvents::sessions_subscription`): how long a list kept under it stays fresh.
    /// The list then follows only a socket on which the server has sent one.
    sessions_subscribed_fresh: Option<Duration>,
    /// Where the play-state watch read the server's list of every user's plays up to.
    plays: Mutex<PlaysRead>,
    /// Wakes the play-state watch when a user who was not active reads an answer showing
    /// play state, so that what changed while nobody read is found at once.
    wake_watch: tokio::sync::Notify,
    /// Moved by the play-state watch when a round has read sections for the first time, so
    /// that a read waiting for its section's first reading looks again
    /// ([`Feed::await_sections_read`]).
    sections_read: tokio::sync::watch::Sender<u64>,
    /// The play-state watch runs for this upstream in this process: only then does a read
    /// wait for its section's first reading.
    watch_runs: std::sync::atomic::AtomicBool,
    /// cachearr's own requests to the server, by kind ([`BackgroundReport`]).
    background: Mutex<Background>,
    /// Clock ms until which another gateway's healthy feed vouches for this one (a follower
    /// of the gateway holding this upstream's background; 0: none).
    vouched_until_ms: AtomicU64,
    /// True from a start on a library copy kept on disk until its catch-up pass is done:
    /// answers about library content kept from before the start wait for it
    /// ([`Feed::caught_up`]).
    catching_up: tokio::sync::watch::Sender<bool>,
}

/// The longest a read waits for the catch-up pass of a start ([`Feed::caught_up`]); past it,
/// what is kept is answered as before.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(20);

/// Where the play-state watch read the server's list of every user's plays up to (the
/// library copy's `play_watch`).
#[derive(Debug, Default)]
pub struct PlaysRead {
    /// The newest play read (`None`: not read yet, nor kept from an earlier run).
    pub cursor: Option<cachearr_dialect::model::library::PlayCursor>,
    /// The cursor kept on disk was looked for.
    pub loaded: bool,
    /// When the list was last read (engine clock ms; 0: never).
    pub polled_ms: u64,
}

/// What a request cachearr made of its own accord was for ([`Feed::count_background`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundKind {
    /// The server's list of every user's plays.
    Signal,
    /// A user's own play-state probes and the lists they page.
    Probes,
    /// Sampled revalidation.
    Samples,
}

/// cachearr's own requests to the server in a minute or in all: those counted by kind, and
/// every background request the upstream's guard sent (the index's crawl and incremental
/// pass, prefetches, batches, warming are the `other`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundCounts {
    /// Every background request.
    pub all: u64,
    /// Reads of the list of every user's plays.
    pub signal: u64,
    /// Users' own play-state probes.
    pub probes: u64,
    /// Sampled revalidations.
    pub samples: u64,
    /// The rest: the index's crawl and incremental pass, prefetches, batches, warming.
    pub other: u64,
}

/// The background budget as `/api/stats` shows it (`feed` → `background`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundReport {
    /// In the last whole minute.
    pub last_minute: BackgroundCounts,
    /// Since start.
    pub total: BackgroundCounts,
}

/// The counts behind [`BackgroundReport`]: minutes turned by [`Feed::note_background_all`].
#[derive(Debug, Default)]
struct Background {
    minute_start_ms: u64,
    this_minute: BackgroundCounts,
    last_minute: BackgroundCounts,
    total: BackgroundCounts,
    /// The guard's background count when this minute started.
    all_at_minute_start: u64,
}

impl BackgroundCounts {
    fn add(&mut self, kind: BackgroundKind, n: u64) {
        match kind {
            BackgroundKind::Signal => self.signal += n,
            BackgroundKind::Probes => self.probes += n,
            BackgroundKind::Samples => self.samples += n,
        }
    }

    /// With `all` set and the rest of it put under `other`.
    fn with_all(mut self, all: u64) -> BackgroundCounts {
        self.all = all.max(self.signal + self.probes + self.samples);
        self.other = self.all - (self.signal + self.probes + self.samples);
        self
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// What sampling did with one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampled {
    /// Nothing to sample (no candidate still cached, sampling off, feed unhealthy).
    Nothing,
    /// The server's answer equals the cached one.
    Match,
    /// The server's answer differs: the entry was stale (dropped now).
    Mismatch,
    /// The server could not be asked.
    Failed,
}

impl Feed {
    /// The feed of `upstream`.
    pub fn new(upstream: &str, config: &FeedConfig, index: &cachearr_config::IndexConfig) -> Feed {
        Feed {
            upstream: Arc::from(upstream),
            config: config.clone(),
            index_enabled: index.enabled,
            pass_max_age_ms: ms(index.refresh_interval).saturating_mul(2),
            sockets: Mutex::new(Vec::new()),
            last_webhook_ms: AtomicU64::new(0),
            last_event_ms: AtomicU64::new(0),
            last_pass_ms: AtomicU64::new(0),
            classes: Class::ALL.iter().map(|_| ClassFeed::default()).collect(),
            pool: Mutex::new(HashMap::new()),
            play_watch: Mutex::new(WatchReport {
                probe_secs: config.play_state_probe.as_secs_f64(),
                ..WatchReport::default()
            }),
            probe_budget: Mutex::default(),
            was_healthy: AtomicBool::new(false),
            pass_tags: AtomicU64::new(0),
            announce_delay: Duration::ZERO,
            sessions_announced: false,
            sessions_subscribed_fresh: None,
            plays: Mutex::new(PlaysRead::default()),
            wake_watch: tokio::sync::Notify::new(),
            sections_read: tokio::sync::watch::Sender::new(0),
            watch_runs: std::sync::atomic::AtomicBool::new(false),
            background: Mutex::new(Background::default()),
            vouched_until_ms: AtomicU64::new(0),
            catching_up: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The library copy was loaded from disk and is being caught up with what changed on the
    /// server while cachearr was down: until [`Feed::end_catch_up`], reads of library content
    /// wait ([`Feed::caught_up`]) instead of answering what was kept from before the start.
    pub fn begin_catch_up(&self) {
        self.catching_up.send_replace(true);
    }

    /// The catch-up pass is installed (its changes dropped what they made stale), failed (the
    /// server is down: what is kept is answered, as for any failed refresh), or was not this
    /// gateway's to make.
    pub fn end_catch_up(&self) {
        self.catching_up.send_replace(false);
    }

    /// Whether a catch-up is under way.
    pub fn catching_up(&self) -> bool {
        *self.catching_up.borrow()
    }

    /// Waits until no catch-up is under way, at most `bound`. Returns at once when none is.
    pub async fn caught_up(&self, bound: Duration) {
        if !self.catching_up() {
            return;
        }
        let mut receiver = self.catching_up.subscribe();
        let _ = tokio::time::timeout(bound, receiver.wait_for(|catching| !catching)).await;
    }

    /// Where the play-state watch read the list of every user's plays up to.
    pub fn plays(&self) -> std::sync::MutexGuard<'_, PlaysRead> {
        self.plays.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An answer of `user`'s that shows play state is read at `now_ms`: a user who was not
    /// active (`[feed] play_state_active`) wakes the play-state watch.
    pub fn note_play_read(&self, user: &UserRecord, now_ms: u64) {
        let before = user.note_play_read(now_ms);
        if before == 0 || now_ms.saturating_sub(before) > ms(self.config.play_state_active) {
            self.wake_watch.notify_one();
        }
    }

    /// An answer of `user`'s showing the items of `sections` (`None`: it names none) is read:
    /// a section that waits for its first reading wakes the play-state watch, which reads it
    /// at once ([`UserRecord::note_sections`]).
    pub fn note_sections_read(&self, user: &UserRecord, sections: Option<&[String]>) {
        if user.note_sections(sections) {
            self.wake_watch.notify_one();
        }
    }

    /// The play-state watch runs for this upstream, or stops (`runs`).
    pub fn note_watch_runs(&self, runs: bool) {
        self.watch_runs.store(runs, Ordering::Relaxed);
    }

    /// The play-state watch has read sections for the first time (and bumped their watch
    /// tags): the reads waiting for them go on ([`Feed::await_sections_read`]).
    pub fn note_sections_first_read(&self) {
        self.sections_read.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits, for at most `bound`, until the play-state watch has read each of `sections`
    /// (`None`: every section the user sees) for `user` for the first time. A read of a section not read yet waits for it before it is
    /// loaded: loaded before, its answer would be dropped by that reading's bump (its
    /// section's watch tag) and read from the server again at its next read.
    pub async fn await_sections_read(
        &self,
        user: &UserRecord,
        sections: Option<&[String]>,
        bound: Duration,
    ) {
        // A record replaced meanwhile (the watch named the token's user and confirmed it)
        // is read no more: its replacement's lists are, so nothing is waited for.
        let unread = || {
            let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
            book.waits_for_reading(sections) && !user.is_forgotten()
        };
        if !self.watch_runs.load(Ordering::Relaxed) || !unread() {
            return;
        }
        let mut receiver = self.sections_read.subscribe();
        let _ = tokio::time::timeout(bound, receiver.wait_for(|_| !unread())).await;
    }

    /// An answer of `user`'s about library content (`body`, a 2xx) is stored: the watch tags
    /// of the sections it shows ([`UserRecord::note_filled`]); one that waits for its first
    /// reading wakes the play-state watch.
    pub fn filled_watch_tags(
        feed: Option<&Feed>,
        user: &UserRecord,
        dialect: &dyn Dialect,
        body: &[u8],
    ) -> Vec<Arc<str>> {
        let (tags, wake) = user.note_filled(dialect, body);
        if wake && let Some(feed) = feed {
            feed.wake_watch.notify_one();
        }
        tags
    }

    /// Waits until a user who was not active reads an answer showing play state.
    pub async fn play_reader_woke(&self) {
        self.wake_watch.notified().await;
    }

    /// Counts `n` requests of `kind` cachearr made of its own accord at `now_ms`.
    pub fn count_background(&self, kind: BackgroundKind, n: u64, now_ms: u64) {
        let mut b = self.background.lock().unwrap_or_else(|e| e.into_inner());
        Self::turn_minute(&mut b, None, now_ms);
        b.this_minute.add(kind, n);
        b.total.add(kind, n);
    }

    /// Every background request the upstream's guard has sent, as of `now_ms` (read once a
    /// second by the play-state watch's task): the minute's `all`.
    pub fn note_background_all(&self, all: u64, now_ms: u64) {
        let mut b = self.background.lock().unwrap_or_else(|e| e.into_inner());
        Self::turn_minute(&mut b, Some(all), now_ms);
        b.total = b.total.with_all(all);
    }

    /// Starts a new minute when this one is over (`all`: the guard's count now, if known).
    fn turn_minute(b: &mut Background, all: Option<u64>, now_ms: u64) {
        if b.minute_start_ms == 0 {
            b.minute_start_ms = now_ms.max(1);
            b.all_at_minute_start = all.unwrap_or(0);
            return;
        }
        let (Some(all), true) = (all, now_ms >= b.minute_start_ms + 60_000) else {
            return;
        };
        b.last_minute = b
            .this_minute
            .with_all(all.saturating_sub(b.all_at_minute_start));
        b.this_minute = BackgroundCounts::default();
        b.all_at_minute_start = all;
        // Whole minutes from the first: an idle stretch leaves zeros behind it.
        let minutes = (now_ms - b.minute_start_ms) / 60_000;
        if minutes > 1 {
            b.last_minute = BackgroundCounts::default().with_all(0);
        }
        b.minute_start_ms += minutes * 60_000;
    }

    /// The background budget as spent.
    pub fn background(&self) -> BackgroundReport {
        let b = self.background.lock().unwrap_or_else(|e| e.into_inner());
        BackgroundReport {
            last_minute: b.last_minute,
            total: b.total,
        }
    }

    /// Another gateway, which holds this upstream's background work (the crawl, the
    /// notification socket) and says its feed is healthy, vouches for this feed until
    /// `until_ms` on this gateway's clock (0: no longer).
    pub fn vouch_until(&self, until_ms: u64) {
        self.vouched_until_ms.store(until_ms, Ordering::Relaxed);
    }

    /// The server holds a change up to `delay` before announcing it (Jellyfin batches
    /// `LibraryChanged`).
    #[must_use]
    pub fn with_announce_delay(mut self, delay: Duration) -> Feed {
        self.announce_delay = delay;
        self
    }

    /// The server's socket announces every change of the live sessions list.
    #[must_use]
    pub fn with_sessions_announced(mut self, announced: bool) -> Feed {
        self.sessions_announced = announced;
        self
    }

    /// The server's socket announces the live sessions list only to a connection that
    /// subscribed (`ServerEvents::sessions_subscription`); a list kept under it stays fresh
    /// for `fresh_for`.
    #[must_use]
    pub fn with_sessions_subscription(mut self, fresh_for: Option<Duration>) -> Feed {
        self.sessions_subscribed_fresh = fresh_for;
        self
    }

    /// How a read of the live sessions list stands at `now_ms`, where the socket announces
    /// its every change: cached until the socket says otherwise while a socket is open here
    /// (or the holder of the background vouches for its own), else its lifetime as a
    /// read-time cap, so a list kept under the socket is read again once nothing would
    /// announce its changes. `None` where the server announces no such thing: the route's
    /// lifetime as it stands. Where the list comes only by subscription, only a socket here
    /// on which the server has sent one counts (the holder's heartbeat does not say so).
    fn sessions_stance(&self, now_ms: u64) -> Option<Stance> {
        if !self.sessions_announced || !self.config.enabled {
            return None;
        }
        let followed = if self.sessions_subscribed_fresh.is_some() {
            self.sessions_listed()
        } else {
            self.socket_connected() || now_ms < self.vouched_until_ms.load(Ordering::Relaxed)
        };
        Some(if followed {
            Stance::Vouched
        } else {
            Stance::Capped
        })
    }

    /// The worst-case staleness the feed promises (`docs/change-feed.md` "Stated
    /// staleness"); `class_ttl` gives each class's fresh TTL, what applies while the feed is
    /// down.
    pub fn bounds(&self, class_ttl: impl Fn(Class) -> Duration) -> FeedBounds {
        let secs = |d: Duration| d.as_secs();
        let events = self
            .config
            .socket_probe
            .saturating_mul(self.config.socket_probe_misses.max(1))
            .saturating_add(self.announce_delay);
        let unannounced = self
            .index_enabled
            .then(|| secs(Duration::from_millis(self.pass_max_age_ms)));
        FeedBounds {
            announced_secs: secs(events),
            unannounced_secs: unannounced,
            dead_socket_secs: secs(
                self.config
                    .socket_probe
                    .saturating_mul(self.config.socket_probe_misses.max(1)),
            ),
            // The list of plays is read every period and, while the server keeps up, within
            // the next: a play is read at most two periods after it was made.
            play_state_secs: (!self.config.play_state_probe.is_zero())
                .then(|| secs(self.config.play_state_probe.saturating_mul(2))),
            // A user's own probes are read every `play_state_user_probe`, on the watch's
            // next period once due — or, when the active users' probes need more than their
            // budget in that time, once the budget has gone round them all.
            play_state_user_secs: (!self.config.play_state_probe.is_zero()).then(|| {
                let users =
                    (self.play_watch.lock().unwrap_or_else(|e| e.into_inner())).watched_users;
                let turn = Duration::from_millis(
                    self.probe_budget
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .turn_ms(users, self.config.play_state_probes_per_minute),
                );
                secs(
                    (self.config.play_state_user_probe.max(turn))
                        .saturating_add(self.config.play_state_probe),
                )
            }),
            down_secs: FEED_CLASSES
                .iter()
                .map(|c| (c.as_str().to_owned(), secs(class_ttl(*c))))
                .collect(),
        }
    }

    /// Whether the users' probes' budget (`[feed] play_state_probes_per_minute`) holds
    /// anything at `now_ms`: while it does not, no further user is probed this round.
    pub fn probe_budget_open(&self, now_ms: u64) -> bool {
        let per_minute = self.config.play_state_probes_per_minute;
        (self.probe_budget.lock().unwrap_or_else(|e| e.into_inner())).open(per_minute, now_ms)
    }

    /// `n` requests of the users' probes were made (taken from their budget).
    pub fn spend_probe_budget(&self, n: u64) {
        (self.probe_budget.lock().unwrap_or_else(|e| e.into_inner())).spend(n);
    }

    /// A round probed `users` users in `requests` requests of their own: what a user's turn
    /// costs, for the stated staleness ([`Feed::bounds`]).
    pub fn note_probe_turns(&self, users: u64, requests: u64) {
        if users > 0 {
            let mut budget = self.probe_budget.lock().unwrap_or_else(|e| e.into_inner());
            budget.per_user = requests as f64 / users as f64;
        }
    }

    /// Adds one round of the play-state watch to what `/api/stats` reports of it.
    pub fn count_play_round(&self, count: impl FnOnce(&mut WatchReport)) {
        count(&mut self.play_watch.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The notification socket's live status (its `connected` flag is read on every check).
    pub fn attach_socket(&self, status: Arc<SubscriberStatus>) {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(status);
    }

    /// A change event arrived (`source`: `webhook` or `socket`).
    pub fn note_event(&self, source: &str, now_ms: u64) {
        self.last_event_ms.store(now_ms.max(1), Ordering::Relaxed);
        if source == "webhook" {
            self.last_webhook_ms.store(now_ms.max(1), Ordering::Relaxed);
        }
    }

    /// An index build or incremental pass finished (and bumped the tags of what it found
    /// changed).
    pub fn note_pass(&self, now_ms: u64, tags_bumped: usize) {
        self.last_pass_ms.store(now_ms.max(1), Ordering::Relaxed);
        self.pass_tags
            .fetch_add(tags_bumped as u64, Ordering::Relaxed);
    }

    /// A socket open here carries the live sessions list.
    fn sessions_listed(&self) -> bool {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|s| {
                s.connected.load(Ordering::Relaxed) && s.sessions_listed.load(Ordering::Relaxed)
            })
    }

    fn socket_connected(&self) -> bool {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|s| s.connected.load(Ordering::Relaxed))
    }

    /// The upstream whose feed this is.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Why the feed cannot vouch for anything now, or `None` when it can.
    pub fn unhealthy(&self, now_ms: u64) -> Option<Unhealthy> {
        if !self.config.enabled {
            return Some(Unhealthy::Disabled);
        }
        if now_ms < self.vouched_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let webhook = self.last_webhook_ms.load(Ordering::Relaxed);
        let webhook_alive =
            webhook > 0 && now_ms.saturating_sub(webhook) <= ms(self.config.webhook_window);
        if !webhook_alive && !self.socket_connected() {
            return Some(Unhealthy::NoEvents);
        }
        if self.index_enabled {
            let pass = self.last_pass_ms.load(Ordering::Relaxed);
            if pass == 0 || now_ms.saturating_sub(pass) > self.pass_max_age_ms {
                return Some(Unhealthy::PassOverdue);
            }
        }
        None
    }

    /// Whether the feed vouches for `class` now.
    pub fn trusted(&self, class: Class, now_ms: u64) -> bool {
        FEED_CLASSES.contains(&class)
            && !self.classes[class as usize]
                .distrusted
                .load(Ordering::Relaxed)
            && self.health(now_ms)
    }

    /// Health, with one log line per change.
    fn health(&self, now_ms: u64) -> bool {
        let why = self.unhealthy(now_ms);
        let healthy = why.is_none();
        // Read before written: every cached read of a feed class asks, and a swap on each
        // would move the flag's cache line between the cores on every hit.
        if self.was_healthy.load(Ordering::Relaxed) != healthy
            && self.was_healthy.swap(healthy, Ordering::Relaxed) != healthy
        {
            match why {
                None => tracing::info!(
                    upstream = %self.upstream,
                    "change feed healthy: library answers stay fresh until something they depend on changes"
                ),
                Some(Unhealthy::Disabled) => {}
                Some(why) => tracing::warn!(
                    upstream = %self.upstream,
                    reason = why.as_str(),
                    "change feed cannot prove freshness: library answers follow their class TTLs"
                ),
            }
        }
        healthy
    }

    /// Sets the engine policy of a read of `class`: the feed's horizon while it vouches for
    /// the class, else the class TTL as a read-time cap (entries filled under the feed fall
    /// back to it without being dropped).
    pub fn adjust(&self, class: Class, policy: &mut Policy, now_ms: u64) {
        if class == Class::Sessions {
            if let Some(stance) = self.sessions_stance(now_ms) {
                self.apply_sessions(stance, policy);
            }
            return;
        }
        // A class the feed leaves alone (most reads) is answered here, without another call.
        if !FEED_CLASSES.contains(&class) || !self.config.enabled {
            return;
        }
        let stance = if self.trusted(class, now_ms) {
            Stance::Vouched
        } else {
            Stance::Capped
        };
        self.apply(stance, policy);
    }

    /// The policy of a read of `class` at `now_ms` among `policies`: what [`Self::adjust`]
    /// makes of their route's policy, without a copy.
    pub fn policy<'p>(&self, policies: &'p FeedPolicies, class: Class, now_ms: u64) -> &'p Policy {
        let at = if class == Class::Sessions {
            match self.sessions_stance(now_ms) {
                None => return &policies.routed,
                Some(Stance::Vouched) => 0,
                Some(Stance::Capped) => 1,
            }
        } else if !FEED_CLASSES.contains(&class) || !self.config.enabled {
            // A class the feed leaves alone (most reads) is answered here, without another call.
            return &policies.routed;
        } else if self.trusted(class, now_ms) {
            0
        } else {
            1
        };
        let adjusted = policies.adjusted.get_or_init(|| {
            [Stance::Vouched, Stance::Capped].map(|stance| {
                let mut policy = policies.routed.clone();
                if class == Class::Sessions {
                    self.apply_sessions(stance, &mut policy);
                } else {
                    self.apply(stance, &mut policy);
                }
                policy
            })
        });
        &adjusted[at]
    }

    /// Sets `policy` as `stance` says.
    fn apply(&self, stance: Stance, policy: &mut Policy) {
        match stance {
            Stance::Vouched => {
                policy.fresh = policy.fresh.max(self.config.horizon);
                policy.fresh_cap = None;
            }
            Stance::Capped => policy.fresh_cap = Some(policy.fresh),
        }
    }

    /// Sets the policy of a read of the live sessions list as `stance` says: while followed
    /// by subscription, fresh for as long as the subscription promises, not the horizon.
    fn apply_sessions(&self, stance: Stance, policy: &mut Policy) {
        match (stance, self.sessions_subscribed_fresh) {
            (Stance::Vouched, Some(fresh_for)) => {
                policy.fresh = policy.fresh.max(fresh_for);
                policy.fresh_cap = None;
            }
            _ => self.apply(stance, policy),
        }
    }

    /// Whether fills of `class` are sampling candidates (callers copy the request only then).
    pub fn samples(&self, class: Class) -> bool {
        FEED_CLASSES.contains(&class) && self.config.enabled
    }

    /// Remembers a filled entry of a feed class as a sampling candidate. `uri` and `headers`
    /// must own their bytes (the gateway's `fetch::owned_request`): the pool outlives the
    /// request.
    pub fn remember(
        &self,
        key: &Key,
        class: Class,
        uri: Uri,
        headers: HeaderMap,
        user: &Arc<UserRecord>,
    ) {
        if !self.samples(class) {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() >= POOL_MAX && !pool.contains_key(key) {
            // Forget a random one: the pool stays a uniform-ish sample of recent fills.
            let victim = pool.keys().nth(fastrand::usize(..pool.len())).cloned();
            if let Some(victim) = victim {
                pool.remove(&victim);
            }
        }
        pool.insert(
            key.clone(),
            Candidate {
                key: key.clone(),
                class,
                uri,
                headers,
                user: user.clone(),
            },
        );
    }

    /// Picks a candidate. The class is drawn first, among the classes with candidates,
    /// weighted by their traffic (the engine's reads of each class since start): every class
    /// the feed vouches for is sampled in proportion to how much of what clients are answered
    /// it makes, and a distrusted class does not take every sample while the others go
    /// unproven. Within the class, an entry older than its class TTL (one the feed alone
    /// keeps) is preferred to a young one.
    pub async fn pick(
        &self,
        up: &Upstream,
        cache: &TieredCache,
        now_ms: u64,
    ) -> Option<(Candidate, Arc<cachearr_engine::Entry>)> {
        let stats = cache.stats();
        let traffic = |class: Class| {
            stats.class(class.as_str()).map_or(0, |c| {
                c.hits + c.misses + c.stale_hits + c.stale_on_error + c.coalesced
            })
        };
        let class = {
            let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            let weights: Vec<(Class, u64)> = FEED_CLASSES
                .iter()
                .filter(|c| pool.values().any(|candidate| candidate.class == **c))
                .map(|c| (*c, traffic(*c).max(1)))
                .collect();
            draw(
                &weights,
                fastrand::u64(..weights.iter().map(|w| w.1).sum::<u64>().max(1)),
            )?
        };
        let ttl = ms(up.routes.class_policy(class).engine.fresh);
        let mut young = None;
        for _ in 0..32 {
            let candidate = {
                let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
                let of_class = pool.values().filter(|c| c.class == class).count();
                if of_class == 0 {
                    break;
                }
                pool.values()
                    .filter(|c| c.class == class)
                    .nth(fastrand::usize(..of_class))?
                    .clone()
            };
            // A probe: not counted as a hit, starts no refresh.
            let entry = cache.get(&candidate.key).await.map(|l| l.entry);
            let Some(entry) = entry else {
                self.pool
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&candidate.key);
                continue;
            };
            if u64::try_from(entry.age(now_ms).as_millis()).unwrap_or(u64::MAX) >= ttl {
                return Some((candidate, entry));
            }
            young.get_or_insert((candidate, entry));
        }
        young
    }

    /// Judges a sampled revalidation: `fill` is what the server answers now for `candidate`,
    /// whose cached entry was `entry` (the gateway's `sampler` fetches it). A match counts towards
    /// proving a distrusted class again; a mismatch distrusts the class, counts the stale
    /// answer's age and drops it.
    pub async fn judge(
        &self,
        cache: &TieredCache,
        now_ms: u64,
        candidate: &Candidate,
        entry: &Arc<cachearr_engine::Entry>,
        fill: Result<Fill, cachearr_engine::LoadError>,
    ) -> Sampled {
        let value = match fill {
            Ok(Fill::Store(v) | Fill::Negative(v) | Fill::Refusal(v, _) | Fill::Pass(v)) => v,
            // An unconditional fetch is never answered this way.
            Ok(Fill::NotModified) => return Sampled::Nothing,
            Err(e) => {
                tracing::debug!(upstream = %self.upstream, error = %cachearr_engine::Chain(&e), "sampled revalidation failed");
                return Sampled::Failed;
            }
        };
        // Still the same entry? A change that landed meanwhile replaced it: nothing to judge.
        match cache.get(&candidate.key).await {
            Some(l) if Arc::ptr_eq(&l.entry, entry) => {}
            _ => return Sampled::Nothing,
        }
        let c = &self.classes[candidate.class as usize];
        c.samples.fetch_add(1, Ordering::Relaxed);
        if value.status == entry.value.status && value.body == entry.value.body {
            if c.distrusted.load(Ordering::Relaxed) {
                let run = c.matches_in_row.fetch_add(1, Ordering::Relaxed) + 1;
                if run >= self.config.prove_after {
                    c.distrusted.store(false, Ordering::Relaxed);
                    tracing::info!(
                        upstream = %self.upstream,
                        class = candidate.class.as_str(),
                        samples = run,
                        "change feed proven again: the class follows the feed"
                    );
                }
            }
            return Sampled::Match;
        }
        let age = u64::try_from(entry.age(now_ms).as_millis()).unwrap_or(u64::MAX);
        c.mismatches.fetch_add(1, Ordering::Relaxed);
        c.stale_age_sum_ms.fetch_add(age, Ordering::Relaxed);
        c.stale_age_max_ms.fetch_max(age, Ordering::Relaxed);
        c.matches_in_row.store(0, Ordering::Relaxed);
        let was = c.distrusted.swap(true, Ordering::Relaxed);
        tracing::warn!(
            upstream = %self.upstream,
            class = candidate.class.as_str(),
            age_secs = age / 1000,
            target = %crate::redact::uri_target(&candidate.uri),
            already_distrusted = was,
            "sampled revalidation found a stale answer the change feed did not announce: the \
             class follows its TTL until the feed is proven again"
        );
        cache.remove(&candidate.key).await;
        Sampled::Mismatch
    }

    /// The `/api/stats` view; `class_ttl` gives each class's fresh TTL (see [`Feed::bounds`]).
    pub fn report(&self, now_ms: u64, class_ttl: impl Fn(Class) -> Duration) -> FeedReport {
        let why = self.unhealthy(now_ms);
        let since = |v: u64| (v > 0).then(|| now_ms.saturating_sub(v) / 1000);
        let classes = FEED_CLASSES
            .iter()
            .map(|class| {
                let c = &self.classes[*class as usize];
                let mismatches = c.mismatches.load(Ordering::Relaxed);
                let sum = c.stale_age_sum_ms.load(Ordering::Relaxed);
                FeedClassReport {
                    class: class.as_str().to_owned(),
                    trusted: why.is_none() && !c.distrusted.load(Ordering::Relaxed),
                    samples: c.samples.load(Ordering::Relaxed),
                    mismatches,
                    stale_age_mean_secs: if mismatches == 0 {
                        0.0
                    } else {
                        sum as f64 / mismatches as f64 / 1000.0
                    },
                    stale_age_max_secs: c.stale_age_max_ms.load(Ordering::Relaxed) as f64 / 1000.0,
                }
            })
            .collect();
        FeedReport {
            upstream: self.upstream.to_string(),
            enabled: self.config.enabled,
            healthy: why.is_none(),
            reason: why.map(|w| w.as_str().to_owned()),
            last_event_secs_ago: since(self.last_event_ms.load(Ordering::Relaxed)),
            last_pass_secs_ago: since(self.last_pass_ms.load(Ordering::Relaxed)),
            pass_tags: self.pass_tags.load(Ordering::Relaxed),
            candidates: self.pool.lock().unwrap_or_else(|e| e.into_inner()).len() as u64,
            classes,
            bounds: self.bounds(class_ttl),
            play_state: self
                .play_watch
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            background: self.background(),
        }
    }
}

/// The class whose share of the summed `weights` holds `at` (`at` below the sum), or
/// `None` without classes.
fn draw(weights: &[(Class, u64)], at: u64) -> Option<Class> {
    let mut left = at;
    for (class, weight) in weights {
        if left < *weight {
            return Some(*class);
        }
        left -= weight;
    }
    weights.last().map(|w| w.0)
}

/// The play-state watch of one upstream as `/api/stats` shows it (`feed` → `play_state`):
/// what its rounds did in all (the library copy's `play_watch`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchReport {
    /// Seconds between rounds (0: off).
    pub probe_secs: f64,
    /// Users probed in the last round.
    pub watched_users: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Requests made in all.
    pub probes: u64,
    /// Users found with changed play state (each one round).
    pub changes: u64,
    /// Items whose play state changed, in all.
    pub items: u64,
    /// Users whose probes failed in a round.
    pub failures: u64,
    /// Users who left the watch (not active for `play_state_active`; their lists are kept).
    pub lapsed: u64,
    /// Reads of the server's list of every user's plays.
    #[serde(default)]
    pub signal_reads: u64,
    /// Plays found in it, each announced as a play-state change.
    #[serde(default)]
    pub signal_plays: u64,
}

/// One upstream's change feed in `/api/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedReport {
    /// The upstream.
    pub upstream: String,
    /// `[feed] enabled`.
    pub enabled: bool,
    /// The feed vouches for library answers now.
    pub healthy: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
    /// Seconds since the last change event (none yet: absent).
    pub last_event_secs_ago: Option<u64>,
    /// Seconds since the last index build or incremental pass.
    pub last_pass_secs_ago: Option<u64>,
    /// Tags bumped by incremental passes.
    pub pass_tags: u64,
    /// Entries remembered for sampling.
    pub candidates: u64,
    /// Per class: trust and measured staleness.
    pub classes: Vec<FeedClassReport>,
    /// The worst-case staleness promised.
    #[serde(default)]
    pub bounds: FeedBounds,
    /// The probes of each recent user's play state (the library copy's `play_watch`).
    #[serde(default)]
    pub play_state: WatchReport,
    /// cachearr's own requests to the server: the background budget as spent.
    #[serde(default)]
    pub background: BackgroundReport,
}

/// The worst-case staleness the feed promises, in seconds (`docs/change-feed.md` "Stated
/// staleness"). `None`: no bound (found only by sampled revalidation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedBounds {
    /// Feed healthy, a change the server announces: a socket that died silently is found
    /// within `dead_socket_secs` and its reconnect revalidates everything, plus the server's
    /// own delay before announcing (Jellyfin's `LibraryUpdateDuration`).
    pub announced_secs: u64,
    /// Feed healthy, a content change the server does not announce: found by the index's
    /// incremental pass, which is at most this old while the feed is healthy (none without
    /// the index).
    pub unannounced_secs: Option<u64>,
    /// A socket that stays open but carries nothing is closed as dead within this.
    pub dead_socket_secs: u64,
    /// A play made outside cachearr and not announced (on a client cachearr does not see,
    /// by any user): found by the next reading of the server's list of every user's plays
    /// (the library copy's `play_watch`) while a user's answers that show play state are read;
    /// none when the watch is off.
    pub play_state_secs: Option<u64>,
    /// Play state no list of plays shows, changed outside cachearr (a mark as played or
    /// unplayed, a rating, a favourite): found by the user's own probes; none when the watch
    /// is off.
    #[serde(default)]
    pub play_state_user_secs: Option<u64>,
    /// Feed down: each feed class follows its fresh TTL (an older answer is served once
    /// more while it is refreshed).
    pub down_secs: std::collections::BTreeMap<String, u64>,
}

/// One class's trust and sampled staleness.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedClassReport {
    /// The class.
    pub class: String,
    /// Its answers follow the feed now (else their TTL).
    pub trusted: bool,
    /// Sampled revalidations compared.
    pub samples: u64,
    /// Of them, cached answers that differed from the server's.
    pub mismatches: u64,
    /// Mean age of the stale answers found, in seconds.
    pub stale_age_mean_secs: f64,
    /// Oldest stale answer found, in seconds.
    pub stale_age_max_secs: f64,
}

/// Most items an answer is tagged with one by one; an answer showing more carries
/// [`cachearr_dialect::tags::any_item`] instead (its stamps would outweigh it).
const VALUE_TAGS_MAX: usize = 1024;

/// The tags an answer about library content shows it depends on, read from its body: for
/// every item it shows, the item's own tag and its play-state tag; for every item it names as
/// a parent (whose title and artwork it repeats), that item's own tag, as the server's dialect
/// reads them ([`Dialect::items_shown`]). So an edit
/// refreshes exactly the answers that show the edited item, and a play exactly those that show
/// the played item or its parents' counts, wherever they appear (pages, children, searches).
///
/// `owner`: the answer is to the configured owner token, whose play state is tagged apart
/// ([`cachearr_dialect::tags::owner_plays`]).
pub fn value_tags(
    upstream: &str,
    dialect: &dyn Dialect,
    owner: bool,
    body: &[u8],
) -> Vec<Arc<str>> {
    let mut ids = ItemsShown::default();
    dialect.items_shown(body, &mut ids.shown, &mut ids.named);
    shown_tags(upstream, dialect, owner, ids)
}

/// The tags of an answer: from the ids its writer `said` it shows and names where it said
/// them ([`shown_tags`]: the library copy's answers), else read from its `body`
/// ([`value_tags`]).
pub fn answer_tags(
    upstream: &str,
    dialect: &dyn Dialect,
    owner: bool,
    body: &[u8],
    said: Option<ItemsShown>,
) -> Vec<Arc<str>> {
    match said {
        Some(ids) => shown_tags(upstream, dialect, owner, ids),
        None => value_tags(upstream, dialect, owner, body),
    }
}

/// [`value_tags`] of an answer whose writer says which items it shows and names (the library
/// copy's: reading its text again would cost more than writing it).
pub fn shown_tags(
    upstream: &str,
    dialect: &dyn Dialect,
    owner: bool,
    ids: ItemsShown,
) -> Vec<Arc<str>> {
    let ItemsShown {
        mut shown,
        mut named,
    } = ids;
    if dialect.ids_ignore_case() {
        for id in shown.iter_mut().chain(named.iter_mut()) {
            id.make_ascii_lowercase();
        }
    }
    shown.sort_unstable();
    shown.dedup();
    named.sort_unstable();
    named.dedup();
    named.retain(|id| shown.binary_search(id).is_err());
    if shown.len() + named.len() > VALUE_TAGS_MAX {
        return vec![Arc::from(cachearr_dialect::tags::any_item(upstream))];
    }
    let mut out: Vec<Arc<str>> = Vec::with_capacity(2 * shown.len() + named.len());
    for s in &shown {
        out.push(Arc::from(cachearr_dialect::tags::item(upstream, s)));
        out.push(Arc::from(if owner {
            cachearr_dialect::tags::owner_plays(upstream, s)
        } else {
            cachearr_dialect::tags::plays(upstream, s)
        }));
    }
    for n in &named {
        out.push(Arc::from(cachearr_dialect::tags::item(upstream, n)));
    }
    out
}

/// The tags an incremental pass bumps for what it found, as the events would have: each
/// changed item (an edit: its own tag, its section's lists, the plain listings only for a
/// top-level item) and each new one (`added`: also its parents' children listings and
/// counts, and the plain listings); each listing read again in full because its count
/// disagreed (something was removed) and each removed item.
pub fn pass_tags(
    upstream: &str,
    lowercase: bool,
    changed: &[&cachearr_library::ItemRecord],
    added: &std::collections::HashSet<&str>,
    removed: &[String],
    sections: &[String],
) -> Vec<String> {
    use cachearr_dialect::tags;
    let id = |s: &str| {
        if lowercase {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        }
    };
    let mut out: Vec<String> = Vec::new();
    for r in changed {
        out.push(tags::item(upstream, &id(&r.id)));
        let new = added.contains(r.id.as_str());
        if new {
            // A new item changes its parents' children listings and counts.
            for parent in [&r.parent_id, &r.grandparent_id].into_iter().flatten() {
                out.push(tags::item(upstream, &id(parent)));
                out.push(tags::owner_plays(upstream, &id(parent)));
                out.push(tags::plays(upstream, &id(parent)));
            }
        }
        out.push(tags::section(upstream, &id(&r.section_id)));
        if new || r.parent_id.is_none() {
            out.push(tags::members(upstream, &id(&r.section_id)));
        }
    }
    for gone in removed {
        out.push(tags::item(upstream, &id(gone)));
    }
    for s in sections {
        out.push(tags::section(upstream, &id(s)));
        out.push(tags::members(upstream, &id(s)));
    }
    if !out.is_empty() {
        out.push(tags::recent(upstream));
        // Edits alone move the sections' update times, not which sections there are.
        let edits_only = sections.is_empty()
            && removed.is_empty()
            && !changed.iter().any(|r| added.contains(r.id.as_str()));
        out.push(if edits_only {
            tags::section_times(upstream)
        } else {
            tags::sections(upstream)
        });
        out.push(tags::any_item(upstream));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

mod probe_budget;
#[cfg(test)]
mod tests;
