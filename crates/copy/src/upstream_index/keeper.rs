//! The index keeper: one task per upstream that builds the index, keeps it on disk, refreshes
//! it on a schedule and from change events, and installs every new version with
//! [`UpstreamIndex::install`].
//!
//! # Life of an index
//! - **Start** ([`load_at_start`], from `GatewayBuilder::build`): the snapshot
//!   `{data_dir}/library/{upstream}.idx` is loaded, with no request to the server; the handle is
//!   ready before the listeners bind. The keeper then refreshes it once (incrementally):
//!   changes made while the gateway was down reached no event stream. `[index]
//!   catch_up_after` (zero by default) skips that for a snapshot younger than it.
//! - **Build** (no snapshot, `POST /api/index/build?full=1`, or a journal left by an
//!   interrupted build): [`crawl`] reads every music and video section page by page on the
//!   background budget, appending each page to the journal so a stopped build resumes; after
//!   `[index] build_timeout` it stops (keeping the journal).
//! - **Refresh** (every `[index] refresh_interval`, or `POST /api/index/build`): only items
//!   changed since the newest `updatedAt` seen (Plex `updatedAt>=`, Jellyfin
//!   `MinDateLastSaved`); then each listing's total is compared with the index, and a listing
//!   whose count disagrees (something was deleted) is read again in full.
//! - **Events** (webhooks, notification sockets): the items an event names are fetched again;
//!   those the server no longer has are removed with their children. A finished scan or an
//!   event without items starts a refresh.
//!
//! After each new version: the snapshot and `{upstream}.meta.json` (last build, sections, the
//! `updatedAt` high-water mark) are written, and the library totals are recomputed in the
//! background. Remembered matches whose item changed are dropped by the match service when it
//! sees the new index (`matching.rs` prunes against every newly installed index).
//!
//! Time (schedule, timestamps) comes from the gateway's clock, so tests move it by hand.
//!
//! This file holds the keeper's task, builds and files; `refresh` holds refreshes and change
//! events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachearr_library::index::{IndexBuilder, ItemNo};
use cachearr_library::{ItemKind, LibraryIndex, Visibility, snapshot};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::answer::frame::SavedFrame;
use super::crawl::{self, Client, CrawlError, Journal, JournalHeader, JournalPage};
use super::status::{
    self, BuildProgress, BuildRecord, IndexState, LibraryTotals, SectionTotals, SnapshotInfo,
};
use super::{KeeperCommand, UpstreamIndex};
use cachearr_config::{Config, IndexConfig};
use cachearr_dialect::model::library::SectionInfo;
use cachearr_gateway::background::Background;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;

mod refresh;
mod shared;

/// How often the keeper looks at the clock by itself.
const TICK: Duration = Duration::from_secs(30);
/// How often a follower looks for a newer copy published by the gateway holding the
/// upstream's background (`shared`), and a holder that took over for an index to build.
const FOLLOW_TICK: Duration = Duration::from_secs(2);
/// How often a running build writes a progress line to the log.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Errors kept in the status.
const MAX_ERRORS: usize = 5;
/// The first wait before a failed first build is tried again; each failure doubles it.
const RETRY_FIRST: Duration = Duration::from_secs(30);
/// The longest wait between tries of a failed first build.
const RETRY_MAX: Duration = Duration::from_secs(10 * 60);

/// The wait before try number `failures + 1` of a first build (`failures` ≥ 1).
fn retry_delay(failures: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1u32 << failures.saturating_sub(1).min(10))
        .min(RETRY_MAX)
}

use cachearr_gateway::data_files::file_path;

/// The snapshot of `upstream`'s index.
pub fn snapshot_path(data_dir: &Path, upstream: &str) -> PathBuf {
    file_path(data_dir, upstream, "idx")
}

/// What is kept next to the snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    last_build: Option<BuildRecord>,
    sections: Vec<SectionInfo>,
    /// Where the next refresh reads changes from: the server's time when the last pass (or
    /// build) began, or the newest `updatedAt` read if later.
    high_water: i64,
    /// The kinds each library held none of at the last pass, unless a change came since
    /// (absent in metadata kept before the counts were).
    #[serde(default)]
    none_of: Option<super::none_of::NoneOf>,
}

/// The library copy's proven walk frames, kept beside the snapshot
/// (`answer::frame::SavedFrame`): a restart answers walks without learning them again.
fn read_frames(path: &Path) -> Option<Vec<SavedFrame>> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_frames(path: &Path, frames: &[SavedFrame]) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(frames).map_err(std::io::Error::other)?;
    let temporary = path.with_extension("frames.json.tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

fn read_meta(path: &Path) -> Option<Meta> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Why the index metadata could not be saved.
#[derive(Debug, thiserror::Error)]
enum MetaWriteError {
    /// It does not encode (it always should).
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    /// Writing or renaming a file failed.
    #[error("writing {} failed", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn write_meta(path: &Path, meta: &Meta) -> Result<(), MetaWriteError> {
    let bytes = serde_json::to_vec_pretty(meta)?;
    let temporary = path.with_extension("meta.json.tmp");
    let file_error = |path: &Path| {
        let path = path.to_owned();
        move |source| MetaWriteError::File { path, source }
    };
    std::fs::write(&temporary, bytes).map_err(file_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(file_error(path))
}

fn items_by_kind(index: &LibraryIndex) -> BTreeMap<String, u64> {
    let stats = index.stats();
    ItemKind::ALL
        .iter()
        .zip(stats.items_by_kind)
        .map(|(kind, n)| (kind.name().to_string(), n as u64))
        .collect()
}

/// Whether an index last built or refreshed at `built_ms` and loaded at `now_ms` is caught up
/// at once: older than `[index] catch_up_after`, or always when that is zero (a change made
/// during the quickest restart reached no event stream).
pub(crate) fn catch_up_due(config: &IndexConfig, built_ms: u64, now_ms: u64) -> bool {
    let after = u64::try_from(config.catch_up_after.as_millis()).unwrap_or(u64::MAX);
    after == 0 || now_ms.saturating_sub(built_ms) > after
}

/// Loads every enabled upstream's snapshot (called while the gateway is built, before any
/// listener binds). A missing snapshot is normal; a damaged one is reported and rebuilt.
#[allow(
    clippy::disallowed_methods,
    reason = "a build's duration and the pace of its progress lines are real time"
)]
pub async fn load_at_start(config: &Config, indexes: &[Arc<UpstreamIndex>]) {
    if !config.index.enabled {
        return;
    }
    for handle in indexes {
        let labels = file_path(&config.data_dir, handle.upstream(), "labels.json");
        handle.labels().keep_at(labels);
        let path = snapshot_path(&config.data_dir, handle.upstream());
        if !path.exists() {
            continue;
        }
        let meta = read_meta(&file_path(&config.data_dir, handle.upstream(), "meta.json"));
        let started = Instant::now();
        let load_path = path.clone();
        let loaded = tokio::task::spawn_blocking(move || snapshot::load(&load_path)).await;
        match loaded {
            Ok(Ok(index))
                if !index.is_empty() && handle.elements().is_some_and(|e| e.is_empty()) =>
            {
                // A snapshot from before the element store: its answers would all go to the
                // server, so the library is read again (once) to fill the store.
                tracing::info!(
                    upstream = handle.upstream(),
                    "library index snapshot has no item elements yet; the library is read again"
                );
            }
            Ok(Ok(index)) => {
                let index = Arc::new(index);
                let meta = meta.unwrap_or_default();
                tracing::info!(
                    upstream = handle.upstream(),
                    items = index.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "library index loaded from {}",
                    path.display()
                );
                let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                handle.set_sections(meta.sections.clone());
                handle.update_status(|s| {
                    s.state = IndexState::Ready;
                    s.items = index.len() as u64;
                    s.items_by_kind = items_by_kind(&index);
                    s.last_build = meta.last_build.clone();
                    s.snapshot = Some(SnapshotInfo {
                        path: path.display().to_string(),
                        bytes,
                    });
                });
                handle.install(index);
                // Trusted as the index is: the catch-up looks for anything of those kinds
                // saved since (`Keeper::nothing_saved_since_kept`), and a pass counts again.
                if let Some(none_of) = meta.none_of.clone() {
                    let held = handle.kinds_held();
                    held.install(none_of, held.mark());
                }
                let frames = file_path(&config.data_dir, handle.upstream(), "frames.json");
                if let Some(saved) = read_frames(&frames) {
                    let restored = handle.frames().restore(&saved);
                    tracing::info!(
                        upstream = handle.upstream(),
                        frames = restored,
                        "library copy: proven walk frames loaded"
                    );
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(upstream = handle.upstream(), error = %cachearr_engine::Chain(&e), "library index snapshot not usable; it will be rebuilt");
                handle.update_status(|s| {
                    push_error(
                        s,
                        format!("snapshot not usable: {}", cachearr_engine::Chain(&e)),
                    )
                });
            }
            Err(e) => {
                tracing::warn!(upstream = handle.upstream(), error = %cachearr_engine::Chain(&e), "loading the library index failed");
            }
        }
    }
}

fn push_error(status: &mut status::IndexStatus, message: String) {
    status.errors.push(message);
    let excess = status.errors.len().saturating_sub(MAX_ERRORS);
    status.errors.drain(..excess);
}

/// Starts a keeper per upstream of `library` whose index is enabled, in the role `background`
/// gives this gateway for it; they stop when `stop` is cancelled.
pub fn spawn_all(
    library: &crate::Library,
    background: &Background,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let reads = library.reads();
    if !reads.config().index.enabled {
        return tasks;
    }
    for up in library.upstreams() {
        let Some(handle) = library.index(&up.name).cloned() else {
            continue;
        };
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        handle.attach_keeper(sender);
        let meta = read_meta(&file_path(&reads.config().data_dir, &up.name, "meta.json"))
            .unwrap_or_default();
        let keeper = Keeper {
            reads: reads.clone(),
            up: up.clone(),
            handle,
            config: reads.config().index.clone(),
            data_dir: reads.config().data_dir.clone(),
            receiver,
            stop: stop.clone(),
            meta,
            failures: 0,
            retry_at_ms: None,
            role: background.role(&up.name).cloned(),
            worked: false,
            catching_up: false,
        };
        tasks.push(tokio::spawn(keeper.run()));
    }
    tasks
}

struct Keeper {
    /// What the keeper reads the server through and tells of what changed (the cache's tags,
    /// the feed).
    reads: ReadThrough,
    up: Arc<Upstream>,
    handle: Arc<UpstreamIndex>,
    config: IndexConfig,
    data_dir: PathBuf,
    receiver: UnboundedReceiver<KeeperCommand>,
    stop: CancellationToken,
    meta: Meta,
    /// First builds that failed in a row (the server down or refusing); reset by a success.
    failures: u32,
    /// When the failed first build is tried again (gateway clock, ms).
    retry_at_ms: Option<u64>,
    /// This upstream's background role among gateways sharing a Redis: only the holder
    /// crawls and refreshes, the others load what it publishes (`shared`).
    role: Option<Arc<cachearr_gateway::background::Role>>,
    /// Whether this gateway did the background work at the last look (a follower that
    /// takes over with no index builds one).
    worked: bool,
    /// The catch-up pass at start has not been installed yet (it failed: the server was
    /// down); it is tried again at each tick, not only when the schedule is due.
    catching_up: bool,
}

/// Ends the feed's catch-up ([`cachearr_upstream::feed::Feed::end_catch_up`]) when dropped.
struct CatchUpEnd(Option<Arc<cachearr_upstream::feed::Feed>>);

impl Drop for CatchUpEnd {
    fn drop(&mut self) {
        if let Some(feed) = &self.0 {
            feed.end_catch_up();
        }
    }
}

/// What a build, refresh or event batch produced.
struct Built {
    index: LibraryIndex,
    sections: Vec<SectionInfo>,
    /// The sections in which an item may have moved in its listings' orders since the index
    /// installed before (added or edited): their copy answers are proven again first
    /// ([`Frames::moved_in`](super::answer::frame::Frames::moved_in)).
    moved: Vec<String>,
    kind: &'static str,
    fetched: u64,
    requests: u64,
    high_water: i64,
    started_ms: u64,
    /// The kinds each library holds none of, counted by the pass, with where the voids
    /// stood when it began ([`KindsHeld::mark`](super::none_of::KindsHeld::mark)); `None`:
    /// not counted (an event batch).
    none_of: Option<(super::none_of::NoneOf, u64)>,
}

/// Where a build starts, fresh or from an interrupted build's journal, and what it has read
/// so far.
struct CrawlStart {
    sections: Vec<SectionInfo>,
    /// Items per stream, as counted when the build started.
    totals: Vec<u64>,
    /// Per stream: where reading continues.
    cursors: Vec<u64>,
    journal: Journal,
    kind: &'static str,
    resumed_items: u64,
    /// The newest `updated_at` read.
    high_water: i64,
}

impl Keeper {
    fn now_ms(&self) -> u64 {
        self.reads.clock().now_ms()
    }

    fn path(&self, ext: &str) -> PathBuf {
        file_path(&self.data_dir, &self.up.name, ext)
    }

    fn next_refresh_ms(&self) -> Option<u64> {
        let interval = u64::try_from(self.config.refresh_interval.as_millis()).unwrap_or(u64::MAX);
        self.meta
            .last_build
            .as_ref()
            .map(|b| b.finished_at_ms.saturating_add(interval))
    }

    /// Whether the index loaded at start is to be caught up ([`catch_up_due`]).
    fn needs_catch_up(&self) -> bool {
        (self.meta.last_build.as_ref())
            .is_some_and(|b| catch_up_due(&self.config, b.finished_at_ms, self.now_ms()))
    }

    /// Whether the server says nothing was added, edited or removed since the kept copy was
    /// made: its sections list, the same sections each with the content mark it had then (Plex
    /// `contentChangedAt`, one request); for a server that keeps no such mark (Jellyfin), its
    /// counts ([`Self::nothing_saved_since_kept`], two). A failed read says no, and the
    /// incremental pass runs.
    async fn unchanged_since_kept(&self) -> bool {
        let kept = &self.meta.sections;
        if kept.is_empty() {
            return false;
        }
        let Ok(client) = Client::new(self.up.clone()) else {
            return false;
        };
        let unchanged = if kept.iter().any(|s| s.changed_at.is_none()) {
            self.nothing_saved_since_kept(&client).await
        } else {
            matches!(client.sections().await, Ok(now) if now == *kept)
        };
        if unchanged {
            tracing::info!(
                upstream = %self.up.name,
                "library index loaded from disk: no section changed on the server meanwhile"
            );
        }
        unchanged
    }

    /// For a server that keeps no content mark (Jellyfin): whether it saved no item of the
    /// index's kinds (nor of those its libraries were counted with none of, nor a parent)
    /// since the kept copy's last pass began (its high-water mark, the server's time then) and
    /// holds as many of the index's as the copy — no addition, edit or removal. Two
    /// requests, counts across the whole server: items of those kinds in a library the copy
    /// does not crawl make them differ, and the incremental pass runs.
    async fn nothing_saved_since_kept(&self, client: &Client) -> bool {
        let Some(index) = self.handle.ready() else {
            return false;
        };
        let library = cachearr_dialect::of(self.up.profile).library();
        let streams = crawl::streams(self.up.profile, &self.meta.sections);
        let mut types: Vec<&str> = streams.iter().map(|s| s.type_param.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        // Saved since, the kinds a library was counted with none of too (and the parents,
        // whose names a walk lists): one of them added, or a name given to one, would make
        // the kept counts wrong.
        let mut saved_types = types.clone();
        for section in &self.meta.sections {
            saved_types.extend(library.walked_types(Some(&section.kind)));
            saved_types.extend(library.parent_types(&section.kind));
        }
        saved_types.extend(library.walked_types(None));
        saved_types.sort_unstable();
        saved_types.dedup();
        let (Some(saved), Some(all)) = (
            library.count_path(&saved_types, Some(self.meta.high_water)),
            library.count_path(&types, None),
        ) else {
            return false;
        };
        if self.meta.high_water <= 0 || !matches!(client.count(&saved).await, Ok(Some(0))) {
            return false;
        }
        let counts = refresh::count_by_stream(&index);
        let kept: u64 = (streams.iter())
            .filter_map(|s| counts.get(&(s.section.clone(), s.kind)))
            .sum();
        matches!(client.count(&all).await, Ok(Some(total)) if total == kept)
    }

    async fn run(mut self) {
        // The reads waiting for a catch-up (`Library::open` began it) go on once the start's
        // work below is done, or the keeper stops before it.
        let caught_up = CatchUpEnd(self.reads.feed(&self.up.name).cloned());
        if let Err(e) = std::fs::create_dir_all(self.data_dir.join("library")) {
            self.fail(format!(
                "cannot create the library directory: {}",
                cachearr_engine::Chain(&e)
            ));
            return;
        }
        let next = self.next_refresh_ms();
        self.handle.update_status(|s| s.next_refresh_at_ms = next);
        if let Some(index) = self.handle.ready() {
            self.spawn_totals(index);
        }
        // Among gateways sharing a Redis, the lease says first whether this one crawls.
        if let Some(role) = self.role.clone() {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = role.decided() => {}
            }
        }
        self.worked = self.works();
        if !self.worked {
            self.follow().await;
        } else if self.handle.ready().is_none()
            && !self.path("crawl").exists()
            && self.load_published(None).await
        {
            // A copy another gateway published before: what changed since it was made is
            // read by an incremental pass, not a crawl.
            self.refresh().await;
        // No index yet, or a build was interrupted: build (resuming what the journal holds).
        } else if self.handle.ready().is_none() || self.path("crawl").exists() {
            self.build(false).await;
        } else if self.needs_catch_up() {
            // Loaded from disk: what changed on the server meanwhile reached no event stream,
            // so fetch it now instead of at the next scheduled refresh. Until that pass is
            // installed the copy answers nothing (anything may have changed), and a pass that
            // fails is tried again at each tick.
            tracing::info!(
                upstream = %self.up.name,
                "library index loaded from disk: refreshing what changed while cachearr was down"
            );
            self.catching_up = true;
            self.handle.note_anything_changed();
            // Marks made while the look runs (an event naming no item) are not the look's to
            // clear.
            let seen = self.handle.stale_mark();
            if self.unchanged_since_kept().await {
                // One request said it: the copy and what was kept stand as they are.
                self.catching_up = false;
                self.handle
                    .read_again(Some(&[super::ANY_ITEM.to_string()]), seen);
            } else {
                self.refresh().await;
            }
        }
        // The catch-up is installed, failed (what is kept is answered, as for any failed
        // refresh), or not this gateway's to make.
        drop(caught_up);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut follow = tokio::time::interval(FOLLOW_TICK);
        follow.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        follow.tick().await;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => break,
                command = self.receiver.recv() => match command {
                    None => break,
                    Some(command) => self.handle_command(command).await,
                },
                _ = tick.tick() => self.maybe_refresh().await,
                _ = follow.tick() => self.follow_or_take_over().await,
            }
        }
    }

    /// A follower loads a newer published copy; a gateway that has just taken the
    /// background over publishes its copy, or builds one when it has none.
    async fn follow_or_take_over(&mut self) {
        let works = self.works();
        let took_over = works && !self.worked;
        self.worked = works;
        if !works {
            return self.follow().await;
        }
        if took_over {
            if self.handle.ready().is_none() {
                self.build(false).await;
            } else {
                // What changed while no holder watched reached no socket: an incremental
                // pass finds it (and publishes the copy it makes).
                self.refresh().await;
            }
        }
    }

    async fn handle_command(&mut self, command: KeeperCommand) {
        match command {
            KeeperCommand::Build { full } => {
                if full || self.handle.ready().is_none() {
                    self.build(full).await;
                } else {
                    self.refresh().await;
                }
            }
            KeeperCommand::Tick => self.maybe_refresh().await,
            KeeperCommand::Look(looked) => {
                self.maybe_refresh().await;
                looked.notify_one();
            }
            KeeperCommand::Changed(_) if self.retry_at_ms.is_some() => {
                // The server speaks again (a notification socket reconnected, a webhook came):
                // the failed first build need not wait for its retry time.
                while self.receiver.try_recv().is_ok() {}
                self.build(false).await;
            }
            KeeperCommand::Changed(first) => {
                // Take every event already queued: one fetch and one new index for the batch.
                let mut events = vec![first];
                let mut later = Vec::new();
                while let Ok(command) = self.receiver.try_recv() {
                    match command {
                        KeeperCommand::Changed(event) => events.push(event),
                        other => later.push(other),
                    }
                }
                self.apply_events(events).await;
                for command in later {
                    match command {
                        KeeperCommand::Build { full } if full || self.handle.ready().is_none() => {
                            self.build(full).await;
                        }
                        KeeperCommand::Build { .. } => self.refresh().await,
                        _ => self.maybe_refresh().await,
                    }
                }
            }
        }
    }

    async fn maybe_refresh(&mut self) {
        if !self.works() {
            return;
        }
        self.handle
            .policies()
            .read_when_due(&self.reads, &self.up)
            .await;
        super::visibility::follow_shares(&self.reads, &self.up).await;
        if self.handle.ready().is_none() {
            if self.retry_at_ms.is_some_and(|at| self.now_ms() >= at) {
                tracing::info!(upstream = %self.up.name, "trying the library index build again");
                self.build(false).await;
            }
            return;
        }
        if self.catching_up
            || self
                .next_refresh_ms()
                .is_some_and(|due| self.now_ms() >= due)
        {
            self.refresh().await;
        }
    }

    fn fail(&self, message: String) {
        tracing::warn!(upstream = %self.up.name, error = %message, "library index");
        let ready = self.handle.ready().is_some();
        self.handle.update_status(|s| {
            s.state = if ready {
                IndexState::Ready
            } else {
                IndexState::Failed
            };
            s.progress = None;
            push_error(s, message);
        });
    }

    /// A full build (resuming a journal unless `fresh`), bounded by the build timeout and
    /// stopped (journal kept) when the gateway stops.
    async fn build(&mut self, fresh: bool) {
        let client = match Client::new(self.up.clone()) {
            Ok(c) => c.with_elements(self.handle.elements().cloned()),
            Err(e) => return self.fail(e.to_string()),
        };
        let ready = self.handle.ready().is_some();
        self.handle.update_status(|s| {
            if !ready {
                s.state = IndexState::Building;
            }
        });
        let timeout = self.config.build_timeout;
        let stop = self.stop.clone();
        // A fresh build reads every item after the writes marked so far.
        let seen = self.handle.stale_mark();
        let result = tokio::select! {
            () = stop.cancelled() => return,
            r = tokio::time::timeout(timeout, self.crawl(&client, fresh)) => r,
        };
        match result {
            Ok(Ok(mut built)) => {
                if ready {
                    built.moved = built.sections.iter().map(|s| s.id.clone()).collect();
                }
                self.failures = 0;
                self.retry_at_ms = None;
                // Said before the index is reported ready: what follows the build is part of it.
                let frames = self.handle.frames();
                frames.set_probing(frames.saved().is_empty());
                self.finish(built).await;
                if fresh {
                    self.handle.read_again(None, seen);
                }
                let _ = std::fs::remove_file(self.path("crawl"));
                self.keep_labels().await;
                self.keep_frames().await;
                // Again, with the frames just proven: the others need not probe for them.
                if !self.handle.frames().saved().is_empty() {
                    self.publish_copy().await;
                }
            }
            Ok(Err(e)) => {
                self.fail(format!("build failed: {}", cachearr_engine::Chain(&e)));
                self.schedule_retry();
            }
            Err(_) => self.fail(format!(
                "build stopped after the build timeout ({} min); what was fetched is kept and \
                 the next build resumes",
                timeout.as_secs() / 60
            )),
        }
    }

    /// After a failed build with no index to answer from, tries again later (doubling waits):
    /// a server that was down at start (both starting at boot) gets its index once it answers.
    /// Without a token there is nothing to retry.
    fn schedule_retry(&mut self) {
        if self.handle.ready().is_some() || self.up.config.token.is_none() {
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let delay = retry_delay(self.failures);
        let at = self
            .now_ms()
            .saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self.retry_at_ms = Some(at);
        self.handle.update_status(|s| s.next_retry_at_ms = Some(at));
        tracing::warn!(
            upstream = %self.up.name,
            retry_in_secs = delay.as_secs(),
            "library index build failed; trying again later (or as soon as the server sends an event)"
        );
    }

    /// Reads every stream into a new index, through the journal.
    async fn crawl(&self, client: &Client, fresh: bool) -> Result<Built, CrawlError> {
        let started_ms = self.now_ms();
        let none_of_mark = self.handle.kinds_held().mark();
        let journal_path = self.path("crawl");
        let profile = client.profile();
        if fresh {
            let _ = std::fs::remove_file(&journal_path);
        }
        let read_path = journal_path.clone();
        let (mut builder, resumed) = tokio::task::spawn_blocking(move || {
            let mut builder = IndexBuilder::new();
            let resumed = crawl::read_journal(&read_path, profile, &mut builder);
            (builder, resumed)
        })
        .await
        .map_err(|source| CrawlError::Interrupted {
            step: "reading the journal",
            source,
        })?;
        let mut start = match resumed {
            Some(r) => self.resume(r, &journal_path)?,
            None => {
                builder = IndexBuilder::new();
                self.start_afresh(client, &journal_path, started_ms).await?
            }
        };
        self.handle.set_sections(start.sections.clone());
        let streams = crawl::streams(profile, &start.sections);
        let mut progress = BuildProgress {
            kind: start.kind.to_string(),
            items: start.resumed_items,
            total: Some(start.totals.iter().sum::<u64>().max(start.resumed_items)),
            resumed_items: start.resumed_items,
            started_at_ms: started_ms,
            ..BuildProgress::default()
        };
        tracing::info!(
            upstream = %self.up.name,
            kind = start.kind,
            sections = start.sections.len(),
            items = progress.total.unwrap_or(0),
            "library index: build started"
        );
        let fetched = self
            .read_streams(client, &streams, &mut start, &mut builder, &mut progress)
            .await?;
        let CrawlStart {
            sections,
            journal,
            kind,
            high_water,
            ..
        } = start;
        drop(journal);
        // A build from the start read everything the server had saved when it answered the
        // build's first request (a pass asks from then, `refresh.rs`); a resumed one read its
        // first pages in an earlier run: its mark stays the newest stamp read.
        let high_water = match kind {
            "full" => high_water.max(client.first_answered_at().unwrap_or(0)),
            _ => high_water,
        };
        // The parents' elements (shows, seasons) the streams did not read, for the copy's
        // children listings.
        client
            .keep_parents(&sections, self.config.page_size as u64, true)
            .await?;
        let none_of = client.none_of(&sections).await?;
        self.handle.update_status(|s| {
            if let Some(p) = s.progress.as_mut() {
                p.section = None;
            }
        });
        let index = tokio::task::spawn_blocking(move || builder.finish())
            .await
            .map_err(|source| CrawlError::Interrupted {
                step: "building the index",
                source,
            })?;
        Ok(Built {
            index,
            // A build read everything again: where one replaces an index (`build` says),
            // any item may have moved.
            moved: Vec::new(),
            sections,
            kind,
            fetched,
            requests: client.requests(),
            high_water,
            started_ms,
            none_of: Some((none_of, none_of_mark)),
        })
    }

    /// Continues the build an interrupted one left in its journal (`r`, already read into
    /// the builder).
    fn resume(&self, r: crawl::Resumed, journal_path: &Path) -> Result<CrawlStart, CrawlError> {
        tracing::info!(
            upstream = %self.up.name,
            items = r.records,
            "library index: resuming an interrupted build"
        );
        Ok(CrawlStart {
            sections: r.header.sections,
            totals: r.header.totals,
            cursors: r.cursors,
            journal: Journal::append_to(journal_path, r.valid_len)?,
            kind: "resumed",
            resumed_items: r.records,
            high_water: r.high_water,
        })
    }

    /// Starts a build from nothing: the server's sections and how many items each stream
    /// holds, written at the head of a new journal.
    async fn start_afresh(
        &self,
        client: &Client,
        journal_path: &Path,
        started_ms: u64,
    ) -> Result<CrawlStart, CrawlError> {
        let profile = client.profile();
        let sections = client.sections().await?;
        let streams = crawl::streams(profile, &sections);
        let mut totals = Vec::with_capacity(streams.len());
        for stream in &streams {
            totals.push(client.total(stream).await?);
        }
        let header = JournalHeader {
            format: crawl::JOURNAL_FORMAT,
            profile: profile.as_str().to_string(),
            started_at_ms: started_ms,
            sections: sections.clone(),
            totals: totals.clone(),
        };
        Ok(CrawlStart {
            journal: Journal::create(journal_path, &header)?,
            cursors: vec![0; streams.len()],
            sections,
            totals,
            kind: "full",
            resumed_items: 0,
            high_water: 0,
        })
    }

    /// Reads every stream from its cursor, page by page, into the builder and the journal,
    /// keeping the status's progress; the items fetched.
    #[allow(
        clippy::disallowed_methods,
        reason = "a build's duration and the pace of its progress lines are real time"
    )]
    async fn read_streams(
        &self,
        client: &Client,
        streams: &[crawl::Stream],
        crawl: &mut CrawlStart,
        builder: &mut IndexBuilder,
        progress: &mut BuildProgress,
    ) -> Result<u64, CrawlError> {
        let mut fetched = 0u64;
        let mut last_log = Instant::now();
        let page_size = self.config.page_size as u64;
        for (number, stream) in streams.iter().enumerate() {
            let mut start = crawl.cursors.get(number).copied().unwrap_or(0);
            let mut total = crawl.totals.get(number).copied().unwrap_or(0);
            progress.section = Some(stream.section.clone());
            while start < total {
                let page = client.page(stream, start, page_size, None).await?;
                if page.count == 0 {
                    break;
                }
                // The server may have grown since the count: follow its newest total.
                total = total.max(page.total.unwrap_or(0));
                for record in &page.records {
                    builder.push(record).map_err(CrawlError::Index)?;
                    crawl.high_water = crawl.high_water.max(record.updated_at);
                }
                start += page.count;
                fetched += page.count;
                progress.items += page.count;
                progress.requests = client.requests();
                let stream_no = u32::try_from(number).unwrap_or(u32::MAX);
                crawl.journal.append(&JournalPage {
                    stream: stream_no,
                    next_start: start,
                    records: page.records,
                })?;
                status::update_rates(progress, fetched, self.now_ms());
                let snapshot = progress.clone();
                self.handle.update_status(|s| s.progress = Some(snapshot));
                if last_log.elapsed() >= LOG_EVERY {
                    last_log = Instant::now();
                    log_progress(&self.up.name, progress);
                }
            }
        }
        Ok(fetched)
    }

    /// Saves and installs a new index, records the build, schedules the next refresh and
    /// recomputes the totals in the background.
    async fn finish(&mut self, built: Built) {
        let index = Arc::new(built.index);
        let path = self.path("idx");
        let save_index = index.clone();
        let save_path = path.clone();
        let saved = tokio::task::spawn_blocking(move || snapshot::save(&save_index, &save_path))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        let now = self.now_ms();
        let record = BuildRecord {
            kind: built.kind.to_string(),
            finished_at_ms: now,
            duration_ms: now.saturating_sub(built.started_ms),
            items: index.len() as u64,
            fetched: built.fetched,
            requests: built.requests,
        };
        if built.kind != "events"
            && let Some(feed) = self.reads.feed(&self.up.name)
        {
            feed.note_pass(now, 0);
        }
        self.meta = Meta {
            // Events do not replace the last pass: the next incremental pass is scheduled from
            // it, so a steady stream of events cannot postpone it forever.
            last_build: if built.kind == "events" {
                self.meta
                    .last_build
                    .clone()
                    .or_else(|| Some(record.clone()))
            } else {
                Some(record.clone())
            },
            sections: built.sections.clone(),
            high_water: built.high_water.max(self.meta.high_water),
            none_of: self.installed_none_of(built.none_of),
        };
        let mut errors = Vec::new();
        if let Err(e) = &saved {
            errors.push(format!("saving the snapshot: {e}"));
        } else if let Err(e) = write_meta(&self.path("meta.json"), &self.meta) {
            errors.push(format!(
                "saving the index metadata: {}",
                cachearr_engine::Chain(&e)
            ));
        }
        let snapshot_info = saved.is_ok().then(|| SnapshotInfo {
            path: path.display().to_string(),
            bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        });
        let next = self.next_refresh_ms();
        let by_kind = items_by_kind(&index);
        self.handle.set_sections(built.sections);
        // Marked on both sides of the install: a proof made between the mark and the install
        // was made with the index before the change, and is undone by the second mark.
        let frames = self.handle.frames();
        frames.moved_in(&built.moved);
        self.handle.install(index.clone());
        frames.moved_in(&built.moved);
        self.handle.update_status(|s| {
            s.state = IndexState::Ready;
            s.progress = None;
            // A finished build answers the old errors: what is listed now is about this one.
            s.errors.clear();
            s.next_retry_at_ms = None;
            s.items = record.items;
            s.items_by_kind = by_kind;
            s.last_build = Some(record.clone());
            s.next_refresh_at_ms = next;
            if snapshot_info.is_some() {
                s.snapshot = snapshot_info;
            }
            for e in errors {
                push_error(s, e);
            }
        });
        tracing::info!(
            upstream = %self.up.name,
            kind = %record.kind,
            items = record.items,
            fetched = record.fetched,
            requests = record.requests,
            seconds = record.duration_ms as f64 / 1000.0,
            "library index ready"
        );
        self.spawn_totals(index);
        self.publish_copy().await;
    }

    /// Installs the kinds a pass counted (unless a change came since it began) and returns
    /// what is known now, to keep.
    fn installed_none_of(
        &self,
        counted: Option<(super::none_of::NoneOf, u64)>,
    ) -> Option<super::none_of::NoneOf> {
        let held = self.handle.kinds_held();
        if let Some((none_of, mark)) = counted {
            held.install(none_of, mark);
        }
        held.current().map(|none_of| (*none_of).clone())
    }

    /// Keeps the library copy's proven walk frames beside the snapshot; where none is proven
    /// yet, learns them first from the dialect's probes (`answer::probe`: some forty reads on
    /// Plex). The index answers meanwhile; the keeper's next command waits, and stopping the
    /// gateway ends the probes.
    async fn keep_frames(&self) {
        let frames = self.handle.frames();
        if frames.saved().is_empty() {
            let probes = super::answer::probe::learn_frames(&self.reads, &self.handle, &self.up);
            tokio::select! {
                () = self.stop.cancelled() => {}
                probes = probes => {
                    tracing::debug!(upstream = %self.up.name, probes, "library copy: frames probed");
                }
            }
        }
        frames.set_probing(false);
        let saved = frames.saved();
        let path = self.path("frames.json");
        if !saved.is_empty()
            && let Err(e) = write_frames(&path, &saved)
        {
            tracing::warn!(
                upstream = %self.up.name,
                path = %path.display(),
                error = %cachearr_engine::Chain(&e),
                "library copy: the proven frames could not be kept; a restart learns them again"
            );
        }
    }

    /// After a build, where the server's shares are read: the items carrying the labels any
    /// share filters on (`super::labels`), so that a restricted user's first answer does not
    /// wait for them. Nothing when no share names a label.
    async fn keep_labels(&self) {
        let (Some(book), Some(service)) = (
            self.up.shares.as_ref(),
            cachearr_dialect::of(self.up.profile).share_service(),
        ) else {
            return;
        };
        let identity = self.up.read_anonymous(service.identity_path());
        let Some(shares) = book.all(self.reads.secret(), identity).await else {
            return;
        };
        let names: std::collections::BTreeSet<String> = (shares.iter())
            .flat_map(|kept| kept.share.restriction.labels_named())
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            return;
        }
        let sections = self.handle.sections();
        let read = self.handle.labels().current(&self.up, &sections, &names);
        tokio::select! {
            () = self.stop.cancelled() => {}
            _ = read => {}
        }
    }

    fn spawn_totals(&self, index: Arc<LibraryIndex>) {
        let handle = self.handle.clone();
        let now = self.now_ms();
        tokio::task::spawn_blocking(move || {
            let totals = library_totals(&index, handle.upstream(), &handle.sections(), now);
            handle.set_totals(totals);
        });
    }
}

fn log_progress(upstream: &str, p: &BuildProgress) {
    tracing::info!(
        upstream,
        items = p.items,
        total = p.total.unwrap_or(0),
        percent = p.percent.unwrap_or(0.0),
        rate_per_sec = p.rate_per_sec.round(),
        eta_secs = p.eta_secs.unwrap_or(0.0),
        requests = p.requests,
        "library index: building"
    );
}

/// Totals per section and kind (`GET /api/library/stats`).
pub fn library_totals(
    index: &LibraryIndex,
    upstream: &str,
    sections: &[SectionInfo],
    now_ms: u64,
) -> LibraryTotals {
    let everything = Visibility::everything();
    let mut per_section: BTreeMap<String, SectionTotals> = BTreeMap::new();
    let mut items: BTreeMap<String, u64> = BTreeMap::new();
    for n in 0..index.len() {
        let Some(view) = u32::try_from(n)
            .ok()
            .and_then(|n| index.item(ItemNo(n), &everything))
        else {
            continue;
        };
        let kind = view.kind().name().to_string();
        *items.entry(kind.clone()).or_insert(0) += 1;
        let section = per_section
            .entry(view.section_id().to_string())
            .or_insert_with(|| {
                let info = sections.iter().find(|s| s.id == view.section_id());
                SectionTotals {
                    id: view.section_id().to_string(),
                    title: info.map(|s| s.title.clone()).unwrap_or_default(),
                    kind: info.map(|s| s.kind.clone()).unwrap_or_default(),
                    ..SectionTotals::default()
                }
            });
        *section.items.entry(kind).or_insert(0) += 1;
        if matches!(
            view.kind(),
            ItemKind::Track | ItemKind::Movie | ItemKind::Episode
        ) {
            section.duration_secs += u64::from(view.duration_ms().unwrap_or(0)) / 1000;
        }
        if view.file_path().is_some() {
            section.with_path += 1;
        }
        if !view.musicbrainz_ids().is_empty() {
            section.with_musicbrainz_id += 1;
        }
        section.last_added_at = section.last_added_at.max(view.added_at());
    }
    LibraryTotals {
        upstream: upstream.to_string(),
        items,
        sections: per_section.into_values().collect(),
        computed_at_ms: now_ms,
    }
}

#[cfg(test)]
mod tests;
