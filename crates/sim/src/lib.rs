//! cachearr-sim: simulated Plex and Jellyfin servers over one deterministic synthetic library.
//!
//! No real media server runs on the build machines, so every test, demo and benchmark talks to
//! this crate. It aims to be faithful enough that real client libraries (python-plexapi,
//! jellyfin-apiclient-python) cannot tell it from the real thing for the endpoints they use.
//!
//! # Map
//! - [`Sim`] — the shared core (cheap to clone, `Arc` inside): the [`library::Library`] behind a
//!   read-write lock, the per-user [`state::State`] behind a mutex, the [`events`] broadcast,
//!   [`cost::CostModel`], [`control::Faults`] and [`control::Stats`]. Built with
//!   [`Sim::builder`].
//! - [`library`] — the synthetic library: sections, artists → albums → tracks, movies,
//!   shows → seasons → episodes; compact arena storage, dense `u32` ids.
//! - [`edits`] — metadata edits made through a front end: field values and locks, tag lists,
//!   uploaded and selected artwork.
//! - [`state`] — users (owner + shared users with tokens, passwords, section access and the
//!   restrictions inside sections), play state, history, playlists, sessions, activities.
//! - [`events`] — server-neutral change events and webhook delivery.
//! - [`cost`] — latency model: base + per item scanned + per item returned.
//! - [`control`] — the `/_sim/` API on every listener: stats, reset, faults, library changes,
//!   tokens.
//! - `sockets` — what happens to open notification sockets besides events: silence
//!   ([`Sim::silence_sockets`]) and closing ([`Sim::close_sockets`]).
//! - [`media`] — deterministic PNG artwork and synthetic media bytes with `Range` (for both
//!   front ends).
//! - [`plex`] — the Plex Media Server front end ([`Sim::serve_plex`]).
//! - [`jellyfin`] — the Jellyfin front end ([`Sim::serve_jellyfin`]).
//! - [`plextv`] — plex.tv: accounts, the owner's shares and Home, the account tokens the Plex
//!   front end checks with it ([`plextv::serve`]).
//!
//! # Writing a front end
//! A front end is an axum [`Router`] whose handlers hold a [`Sim`] (as router state):
//! 1. **Serve** it with [`Sim::serve_router`]: that mounts `/_sim/`, counts requests per matched
//!    route, applies faults (errors, latency, dropped/refused connections, truncated or
//!    malformed bodies) and runs the accept loop. `Sim::serve_plex` is exactly that for
//!    [`plex::router`].
//! 2. **Authenticate** with [`Sim::state`]: `user_by_plex_token`, `user_by_jellyfin_token`,
//!    `user_by_name` (+ `password`), then check [`state::User::plex_sees`] or
//!    [`state::User::jellyfin_sees`] for every item shown: the section must be the user's
//!    ([`state::User::can_see_section`]) and the server's restrictions inside it (Plex share
//!    filters on labels and content ratings, Jellyfin parental rating and tags; see
//!    [`state::Restrictions`]) must let the item through.
//! 3. **Read** the library with [`Sim::library`] (a read guard; never hold it across an
//!    `.await`). Ids: Plex uses the number, Jellyfin [`library::Item::guid_id`] /
//!    [`library::id_from_guid`].
//! 4. **Charge the work** with [`Sim::charge`]`(scanned, returned).await` once per request,
//!    after releasing locks: it sleeps per the cost model and feeds the accounting.
//! 5. **Write** through `Sim` methods ([`Sim::scrobble`], [`Sim::unscrobble`], [`Sim::rate`],
//!    [`Sim::set_progress`], [`Sim::report_playback`], [`Sim::add_item`],
//!    [`Sim::remove_item`], [`Sim::rename_item`], [`Sim::edit_item`], [`Sim::start_scan`],
//!    [`Sim::playlist_changed`] after a playlist edit made on [`Sim::state`]): they emit the
//!    [`events::Event`]s.
//! 6. **Push events**: subscribe with [`Sim::subscribe`] for websocket frames; call
//!    [`events::spawn_webhook_dispatcher`] once with a renderer for webhooks (targets given as
//!    `plex=URL` / `jellyfin=URL` reach only that front end; bare URLs reach both).

pub mod control;
pub mod cost;
pub mod edits;
pub mod events;
pub mod jellyfin;
pub mod library;
pub mod library_file;
pub mod media;
pub mod plex;
pub mod plextv;
mod rng;
mod serve;
mod sockets;
pub mod state;
mod words;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::control::{Faults, Stats, StatsSnapshot};
use crate::cost::CostModel;
use crate::events::{Event, FrontEnd, PlayStateReason, SimEvent, WebhookTarget};
use crate::library::{ItemFields, ItemId, Library, LibraryConfig, LibraryError, NewItem};
use crate::library_file::LibrarySpec;
use crate::state::{PlayState, PlaybackState, State};

/// Errors of the simulator's public API.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A `--webhook` value that is not an http(s) URL.
    #[error(
        "bad webhook target {0:?}: expected http(s)://… optionally prefixed by plex= or jellyfin="
    )]
    BadWebhook(String),
    /// Binding or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A library mutation failed.
    #[error(transparent)]
    Library(#[from] LibraryError),
}

/// How the server presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Plex `machineIdentifier` (40 hex digits) — also the Jellyfin server id's source.
    pub machine_identifier: String,
    /// Jellyfin server `Id` (32 hex digits).
    pub jellyfin_server_id: String,
    /// Friendly name of the server.
    pub friendly_name: String,
    /// Plex version string.
    pub plex_version: String,
    /// Jellyfin version string.
    pub jellyfin_version: String,
}

/// Builder of a [`Sim`].
#[derive(Debug, Clone)]
pub struct SimBuilder {
    config: LibraryConfig,
    cost: CostModel,
    webhooks: Vec<String>,
    name: String,
    spec: Option<LibrarySpec>,
}

impl SimBuilder {
    /// Serves a described library (a library file, or [`LibrarySpec::plexapi_bootstrap`])
    /// instead of generating one; the sizes are then ignored, the seed still makes the tokens.
    pub fn library_spec(mut self, spec: LibrarySpec) -> Self {
        self.spec = Some(spec);
        self
    }
    /// Total tracks (over both music sections).
    pub fn tracks(mut self, n: u32) -> Self {
        self.config.tracks = n;
        self
    }
    /// Movies.
    pub fn movies(mut self, n: u32) -> Self {
        self.config.movies = n;
        self
    }
    /// Shows.
    pub fn shows(mut self, n: u32) -> Self {
        self.config.shows = n;
        self
    }
    /// Seed of the library and the tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }
    /// Base latency of every request (keeps the per-item costs).
    pub fn latency(mut self, base: Duration) -> Self {
        self.cost.base = base;
        self
    }
    /// The whole cost model ([`CostModel::zero`] for fast tests).
    pub fn cost(mut self, cost: CostModel) -> Self {
        self.cost = cost;
        self
    }
    /// Webhook URLs (`plex=URL` / `jellyfin=URL` to target one front end).
    pub fn webhooks<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.webhooks.extend(urls.into_iter().map(Into::into));
        self
    }
    /// Friendly server name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Generates the library and builds the simulator.
    pub fn build(self) -> Result<Sim, SimError> {
        let webhooks = self
            .webhooks
            .iter()
            .map(|s| s.parse::<WebhookTarget>())
            .collect::<Result<Vec<_>, _>>()?;
        let library = match &self.spec {
            Some(spec) => spec.build(self.config.seed, now_secs())?,
            None => Library::generate(self.config),
        };
        // A server's clock is never behind what it stamped. The generated library spreads its
        // additions over ten years from 2015, some past today: the clock starts after them, so
        // an edit's `updatedAt` is the library's newest, as on a real server (a client asking
        // for what changed since the newest time it saw — `updatedAt>=` — finds the edit).
        let newest = (library.sections().iter())
            .map(|s| s.updated_at)
            .max()
            .unwrap_or(0);
        let ahead = u64::from(newest.saturating_add(1).saturating_sub(now_secs()));
        let seed = self.config.seed;
        let machine = format!(
            "{:016x}{:016x}{:08x}",
            rng::mix(seed ^ 0x11),
            rng::mix(seed ^ 0x22),
            rng::mix(seed ^ 0x33) as u32
        );
        let identity = Identity {
            jellyfin_server_id: machine[..32].to_string(),
            machine_identifier: machine,
            friendly_name: self.name,
            plex_version: "1.41.3.9314-a0bfb8370".to_string(),
            jellyfin_version: "10.10.7".to_string(),
        };
        let (events, _) = broadcast::channel(4096);
        Ok(Sim {
            inner: Arc::new(Inner {
                library: RwLock::new(library),
                state: Mutex::new(State::new(seed)),
                objects: Mutex::new(plex::objects::Objects::default()),
                plextv: Mutex::new(plextv::PlexTv::new(seed)),
                events,
                stats: Stats::default(),
                faults: RwLock::new(Faults::default()),
                fault_seq: AtomicU64::new(0),
                cost: RwLock::new(self.cost),
                webhooks,
                identity,
                dispatchers: [AtomicBool::new(false), AtomicBool::new(false)],
                event_seq: AtomicU64::new(0),
                event_drops: events::EventDrops::default(),
                lean_batches: AtomicBool::new(false),
                clock_offset_secs: AtomicU64::new(ahead),
                sockets: sockets::channel(),
                seed,
            }),
        })
    }
}

/// The simulator core shared by all front ends and listeners. Clone it freely.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

struct Inner {
    library: RwLock<Library>,
    state: Mutex<State>,
    /// Plex-only objects: preferences, play queues, collections.
    objects: Mutex<plex::objects::Objects>,
    /// plex.tv's records (accounts, shares), which the Plex front end asks about tokens.
    plextv: Mutex<plextv::PlexTv>,
    events: broadcast::Sender<Arc<Event>>,
    stats: Stats,
    faults: RwLock<Faults>,
    fault_seq: AtomicU64,
    cost: RwLock<CostModel>,
    webhooks: Vec<WebhookTarget>,
    identity: Identity,
    dispatchers: [AtomicBool; 2],
    event_seq: AtomicU64,
    event_drops: events::EventDrops,
    /// Answers of `/library/metadata/{id},{id},…` leave out the items' guids (see
    /// [`Sim::lean_batches`]).
    lean_batches: AtomicBool,
    /// Silences and closes of open notification sockets (`sockets`).
    sockets: tokio::sync::watch::Sender<sockets::Epochs>,
    /// How far the server's clock stands ahead of the system's (`POST /_sim/clock/advance`):
    /// a benchmark moves it on with the gateway's so that changes made "a day later" carry
    /// that day's times.
    clock_offset_secs: AtomicU64,
    seed: u64,
}

/// A Plex simulator bound to `127.0.0.1:0` for a test; stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// The simulator (inspect state, stats, events).
    pub sim: Sim,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The owner's Plex token.
    pub token: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The shortest section scan (see [`Sim::start_scan`]).
const MIN_SCAN: Duration = Duration::from_secs(2);

/// Epoch seconds now (the simulator's clock for timestamps it records).
#[allow(
    clippy::disallowed_methods,
    reason = "the simulator stands in for a server, which reads the real time"
)]
pub(crate) fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    /// A builder with a 2,000-track library, 200 movies, 20 shows, seed 1, the default cost
    /// model and no webhooks.
    pub fn builder() -> SimBuilder {
        SimBuilder {
            config: LibraryConfig::default(),
            cost: CostModel::default(),
            webhooks: Vec::new(),
            name: "cachearr-sim".to_string(),
            spec: None,
        }
    }

    /// Starts a Plex simulator for tests: a small library (600 tracks, 40 movies, 4 shows,
    /// seed 42), zero cost, bound to `127.0.0.1:0`.
    pub async fn start_plex_for_tests() -> Result<TestServer, SimError> {
        let sim = Sim::builder()
            .tracks(600)
            .movies(40)
            .shows(4)
            .seed(42)
            .cost(CostModel::zero())
            .build()?;
        sim.start_plex_test_server().await
    }

    /// Serves this simulator's Plex API on `127.0.0.1:0` for a test.
    pub async fn start_plex_test_server(&self) -> Result<TestServer, SimError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving = self.serve_plex(listener);
        let task = tokio::spawn(async move {
            if let Err(err) = serving.await {
                tracing::error!(%err, "simulated Plex server stopped");
            }
        });
        Ok(TestServer {
            sim: self.clone(),
            base_url: format!("http://{addr}"),
            addr,
            token: self.state().owner().plex_token.clone(),
            task,
        })
    }

    /// Serves the Plex API (plus `/_sim/`) on `listener` until the returned future is dropped.
    pub fn serve_plex(
        &self,
        listener: TcpListener,
    ) -> impl Future<Output = Result<(), SimError>> + Send + 'static {
        plex::start_background(self);
        self.serve_router(listener, plex::router(self.clone()))
    }

    /// Serves any front end's router on `listener`, with `/_sim/`, request counting, faults
    /// and the accept loop (see the crate docs).
    pub fn serve_router(
        &self,
        listener: TcpListener,
        front: Router,
    ) -> impl Future<Output = Result<(), SimError>> + Send + 'static {
        let app = serve::with_front_door(self, front);
        let sim = self.clone();
        async move {
            serve::serve(sim, listener, app)
                .await
                .map_err(SimError::from)
        }
    }

    /// The library (read guard: do not hold across `.await`).
    pub fn library(&self) -> RwLockReadGuard<'_, Library> {
        read(&self.inner.library)
    }

    /// The user state (do not hold across `.await`).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Plex front end's own objects (do not hold across `.await`).
    pub(crate) fn objects(&self) -> MutexGuard<'_, plex::objects::Objects> {
        self.inner.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the server presents itself.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The library seed.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// From now on answers of `/library/metadata/{id},{id},…` with more than one item leave
    /// out the items' `Guid` elements, unlike the single answers: a server whose batched
    /// answers are not the single answers put together (a gateway must notice, not trust).
    pub fn lean_batches(&self, on: bool) {
        self.inner.lean_batches.store(on, Ordering::Relaxed);
    }

    pub(crate) fn batches_are_lean(&self) -> bool {
        self.inner.lean_batches.load(Ordering::Relaxed)
    }

    pub(crate) fn event_drops(&self) -> &events::EventDrops {
        &self.inner.event_drops
    }

    /// Subscribes to change events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.events.subscribe()
    }

    /// Broadcasts an event (front ends normally use the mutation methods instead).
    pub fn emit(&self, kind: SimEvent) {
        if self.inner.event_drops.lose() {
            return;
        }
        let seq = self.inner.event_seq.fetch_add(1, Ordering::Relaxed) + 1;
        // No receiver is fine: nobody listens yet.
        let _ = self.inner.events.send(Arc::new(Event {
            seq,
            at: self.now(),
            kind,
        }));
    }

    /// Epoch seconds now, on the server's clock (the system's, moved on by
    /// [`Sim::advance_clock`]).
    pub fn now(&self) -> u32 {
        let offset = self.inner.clock_offset_secs.load(Ordering::Relaxed);
        now_secs().saturating_add(u32::try_from(offset).unwrap_or(u32::MAX))
    }

    /// Moves the server's clock on by `secs`; returns how far it now stands ahead of the
    /// system's, in seconds.
    pub fn advance_clock(&self, secs: u64) -> u64 {
        let before = self
            .inner
            .clock_offset_secs
            .fetch_add(secs, Ordering::Relaxed);
        before.saturating_add(secs)
    }

    /// The webhook targets.
    pub fn webhook_targets(&self) -> &[WebhookTarget] {
        &self.inner.webhooks
    }

    pub(crate) fn claim_dispatcher(&self, front: FrontEnd) -> bool {
        let slot = match front {
            FrontEnd::Plex => 0,
            FrontEnd::Jellyfin => 1,
        };
        !self.inner.dispatchers[slot].swap(true, Ordering::SeqCst)
    }

    pub(crate) fn count_webhook(&self, ok: bool) {
        self.inner.stats.count_webhook(ok);
    }

    /// The cost model in force.
    pub fn cost_model(&self) -> CostModel {
        *read(&self.inner.cost)
    }

    /// Replaces the cost model.
    pub fn set_cost_model(&self, cost: CostModel) {
        *write(&self.inner.cost) = cost;
    }

    /// Charges a request's work: records it and sleeps per the cost model. Call once per
    /// request, holding no lock.
    pub async fn charge(&self, scanned: u64, returned: u64) {
        let d = self.cost_model().cost(scanned, returned);
        let us = d.as_micros() as u64;
        self.inner.stats.add_work(scanned, returned, us);
        serve::meter_add(us);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// Counters since the last reset.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.inner.stats.reset();
    }

    /// Faults in force.
    pub fn faults(&self) -> Faults {
        read(&self.inner.faults).clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        *write(&self.inner.faults) = faults;
        self.inner.fault_seq.store(0, Ordering::Relaxed);
    }

    /// A deterministic draw: true with probability `rate`.
    pub(crate) fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        if rate >= 1.0 {
            return true;
        }
        let n = self.inner.fault_seq.fetch_add(1, Ordering::Relaxed);
        let x = rng::mix(self.inner.seed ^ 0xFA17 ^ n.wrapping_mul(0x9E37_79B9));
        ((x >> 11) as f64 / (1u64 << 53) as f64) < rate
    }

    /// Adds an item; emits `ItemAdded`.
    pub fn add_item(&self, new: NewItem) -> Result<ItemId, LibraryError> {
        self.add_item_with(new, ItemFields::default())
    }

    /// Adds an item with a real item's fields (see [`ItemFields`]); emits `ItemAdded`.
    pub fn add_item_with(&self, new: NewItem, fields: ItemFields) -> Result<ItemId, LibraryError> {
        let (id, section) = {
            let mut lib = write(&self.inner.library);
            let id = lib.add_item_with(new, fields)?;
            let section = lib.item(id).map(|i| i.section().id).unwrap_or(0);
            (id, section)
        };
        self.emit(SimEvent::ItemAdded { item: id, section });
        Ok(id)
    }

    /// Removes an item and its descendants; emits one `ItemRemoved` per removed item.
    pub fn remove_item(&self, id: ItemId) -> Result<Vec<ItemId>, LibraryError> {
        let now = self.now();
        let (removed, section) = {
            let mut lib = write(&self.inner.library);
            let section = lib.item(id).map(|i| i.section().id).unwrap_or(0);
            (lib.remove_item(id, now)?, section)
        };
        for &item in &removed {
            self.emit(SimEvent::ItemRemoved { item, section });
        }
        Ok(removed)
    }

    /// Renames an item; emits `ItemUpdated`.
    pub fn rename_item(&self, id: ItemId, title: &str) -> Result<(), LibraryError> {
        let now = self.now();
        let section = {
            let mut lib = write(&self.inner.library);
            lib.rename_item(id, title, now)?;
            lib.item(id).map(|i| i.section().id).unwrap_or(0)
        };
        self.emit(SimEvent::ItemUpdated { item: id, section });
        Ok(())
    }

    /// Edits fields of an item (`title`, `originalTitle`, `year`, `index`); emits
    /// `ItemUpdated` when anything changed. Returns whether it did.
    pub fn edit_item(&self, id: ItemId, fields: &[(String, String)]) -> Result<bool, LibraryError> {
        let now = self.now();
        let (changed, section) = {
            let mut lib = write(&self.inner.library);
            let mut changed = false;
            for (k, v) in fields {
                changed |= lib.edit_field(id, k, v, now)?;
            }
            (changed, lib.item(id).map(|i| i.section().id).unwrap_or(0))
        };
        if changed {
            self.emit(SimEvent::ItemUpdated { item: id, section });
        }
        Ok(changed)
    }

    /// Changes the front-end edits of an item (see [`edits::ItemEdits`]); emits `ItemUpdated`
    /// when `change` reports a change. Returns whether it did.
    pub fn edit_meta(
        &self,
        id: ItemId,
        change: impl FnOnce(&mut edits::ItemEdits) -> bool,
    ) -> Result<bool, LibraryError> {
        let now = self.now();
        let (changed, section) = {
            let mut lib = write(&self.inner.library);
            let changed = lib.edit_meta(id, now, change)?;
            (changed, lib.item(id).map(|i| i.section().id).unwrap_or(0))
        };
        if changed {
            self.emit(SimEvent::ItemUpdated { item: id, section });
        }
        Ok(changed)
    }

    /// Records a completed play for a user (viewCount + 1 and a history entry); emits
    /// `PlayStateChanged`.
    pub fn scrobble(&self, user: u32, item: ItemId) -> PlayState {
        let state = self.state().scrobble(user, item, self.now());
        self.emit(SimEvent::PlayStateChanged {
            user,
            item,
            state,
            reason: PlayStateReason::Scrobble,
        });
        state
    }

    /// Marks an item played without a play (Plex's `/:/scrobble`: no history entry); emits
    /// `PlayStateChanged`.
    pub fn mark_played(&self, user: u32, item: ItemId) -> PlayState {
        let state = self.state().mark_played(user, item, self.now());
        self.emit(SimEvent::PlayStateChanged {
            user,
            item,
            state,
            reason: PlayStateReason::Scrobble,
        });
        state
    }

    /// Marks an item unplayed; emits `PlayStateChanged`.
    pub fn unscrobble(&self, user: u32, item: ItemId) -> PlayState {
        let state = self.state().unscrobble(user, item);
        self.emit(SimEvent::PlayStateChanged {
            user,
            item,
            state,
            reason: PlayStateReason::Unscrobble,
        });
        state
    }

    /// Rates an item (None clears); emits `PlayStateChanged`.
    pub fn rate(&self, user: u32, item: ItemId, rating: Option<f32>) -> PlayState {
        let state = self.state().rate(user, item, rating, self.now());
        self.emit(SimEvent::PlayStateChanged {
            user,
            item,
            state,
            reason: PlayStateReason::Rate,
        });
        state
    }

    /// Sets a favourite flag (Jellyfin); emits `PlayStateChanged`.
    pub fn set_favorite(&self, user: u32, item: ItemId, favorite: bool) -> PlayState {
        let state = self.state().set_favorite(user, item, favorite);
        self.emit(SimEvent::PlayStateChanged {
            user,
            item,
            state,
            reason: PlayStateReason::Favorite,
        });
        state
    }

    /// Records a resume position; emits `PlayStateChanged` only when it changed.
    pub fn set_progress(&self, user: u32, item: ItemId, offset_ms: u32) -> PlayState {
        let (before, state) = {
            let mut st = self.state();
            let before = st.play_state(user, item);
            (before, st.set_progress(user, item, offset_ms, self.now()))
        };
        if before.view_offset_ms != state.view_offset_ms {
            self.emit(SimEvent::PlayStateChanged {
                user,
                item,
                state,
                reason: PlayStateReason::Progress,
            });
        }
        state
    }

    /// A player's report (Plex `/:/timeline`, Jellyfin `/Sessions/Playing*`): updates the
    /// session and the resume position, scrobbles past 90 %, emits `Playing`. Returns the
    /// session key.
    pub fn report_playback(
        &self,
        user: u32,
        item: ItemId,
        state: PlaybackState,
        offset_ms: u32,
        client_id: &str,
        product: &str,
    ) -> u32 {
        let duration = self
            .library()
            .item(item)
            .map(|i| i.duration_ms())
            .unwrap_or(0);
        let now = self.now();
        let (key, previous) = {
            let mut st = self.state();
            let previous = st
                .sessions()
                .iter()
                .find(|s| s.user == user && s.client_id == client_id && s.item == item)
                .map(|s| s.state);
            let key = st.report_playback(user, item, state, offset_ms, client_id, product, now);
            (key, previous)
        };
        self.emit(SimEvent::Playing {
            user,
            item,
            session_key: key,
            state,
            previous,
            view_offset_ms: offset_ms,
        });
        // Stopping past 90 % counts as a play, as on Plex. It counts once: after a scrobble the
        // resume position is 0 and the item viewed, so a repeated "stopped" does not count again.
        let watched = duration > 0 && u64::from(offset_ms) * 10 >= u64::from(duration) * 9;
        let already = self.state().play_state(user, item);
        if watched && state == PlaybackState::Stopped {
            if already.view_offset_ms != 0 || already.last_viewed_at == 0 || already.view_count == 0
            {
                self.scrobble(user, item);
            }
        } else if state == PlaybackState::Stopped
            || previous.is_none()
            || offset_ms != already.view_offset_ms
        {
            self.set_progress(user, item, offset_ms);
        }
        key
    }

    /// Announces a playlist change made on [`Sim::state`].
    pub fn playlist_changed(&self, user: u32, playlist: u32) {
        self.emit(SimEvent::PlaylistChanged { user, playlist });
    }

    /// Starts an asynchronous scan of a section: `ScanStarted`, `ScanProgress` at 25/50/75 %,
    /// then `ScanFinished`, spread over a time that grows with the section's size (per the
    /// cost model's per-item scan cost, at most 30 s). Returns the activity UUID, or None when
    /// the section does not exist. A scan already running is returned instead of a new one.
    pub fn start_scan(&self, section: u32) -> Option<String> {
        let (title, items) = {
            let lib = self.library();
            let s = lib.section(section)?;
            let n: usize = s.kind.kinds().iter().map(|k| s.items(*k).len()).sum();
            (s.title.clone(), n as u64)
        };
        let activity = {
            let mut st = self.state();
            if let Some(a) = st.activities().iter().find(|a| a.section == section) {
                return Some(a.uuid.clone());
            }
            st.start_activity(section, &format!("Scanning {title}"))
        };
        self.emit(SimEvent::ScanStarted {
            section,
            activity: activity.clone(),
        });
        // A real scan takes seconds even on a small library, so even without costs a scan
        // lasts a moment: clients start a notification listener and then a scan, and expect
        // to hear its progress (python-plexapi's own alert listener test does exactly that).
        let total = self
            .cost_model()
            .cost(items, 0)
            .clamp(MIN_SCAN, Duration::from_secs(30));
        let sim = self.clone();
        let uuid = activity.clone();
        tokio::spawn(async move {
            for progress in [25, 50, 75] {
                tokio::time::sleep(total / 4).await;
                sim.state().update_activity(&uuid, progress);
                sim.emit(SimEvent::ScanProgress {
                    section,
                    activity: uuid.clone(),
                    progress,
                });
            }
            tokio::time::sleep(total / 4).await;
            sim.state().end_activity(&uuid);
            {
                let now = sim.now();
                let mut lib = write(&sim.inner.library);
                lib.mark_scanned(section, now);
            }
            sim.emit(SimEvent::ScanFinished {
                section,
                activity: uuid,
            });
        });
        Some(activity)
    }
}
