//! The library index of each upstream, as the library copy keeps it beside the gateway: one
//! [`UpstreamIndex`] per upstream.
//!
//! The index itself lives in `cachearr-library`; this module owns how the copy keeps it:
//! the handle read on every search the proxy hands the copy ([`UpstreamIndex::ready`], a
//! cheap `Arc` clone under a read lock that is only ever held for that clone), and — built on
//! top of it — the crawl of the upstream that fills it, the answering of search routes from
//! it, and the matching API.
//!
//! A handle starts empty: until a crawl finishes or a snapshot is loaded, `ready` is `None` and
//! searches go to the server (the fallback a playlist tool relies on).
//!
//! Nothing here branches on which server an upstream is: what differs between Plex and
//! Jellyfin is asked of the upstream's dialect. The crawl, the refresh and the proof of whole
//! sections read the server through [`cachearr_dialect::ServerLibrary`]
//! (`dialect::of(profile).library()`: paths, and the reading of sections, pages, items,
//! totals and a user's sections); the documents answers are written in are the dialects'
//! (`dialect::{plex,jellyfin}::render`); which answerer runs is the route's
//! [`cachearr_config::policy::IndexSearch`], from the upstream's own route table; and the server's
//! elements are kept only for a dialect that says so (`LibraryFacts::keeps_elements`).
//!
//! * [`keeper`] — one task per upstream: build, schedule, persistence; `refresh.rs` for
//!   refreshes and change events.
//! * [`crawl`] — the owner's reads on the background budget, the streams of pages, the
//!   journal an interrupted build resumes from.
//! * [`elements`] — the server's own element of every item (Plex), kept on disk for answers.
//! * `answer` — search routes answered from the index (found and written by the dialect
//!   from the copy `answer/copy.rs` hands it; `answer/series.rs`: a series' seasons and
//!   episodes, pages of documents written with the user's data), with [`titles`] (folded title
//!   search; the tables of each index kept by [`folded`]), [`visibility`] (which sections a user sees, and sees whole),
//!   [`restrictions`] (what the server hides from a user inside them, read from the server
//!   or its account service and applied to answers; [`labels`]: the items' labels a Plex
//!   share filters on, which its listings do not carry) and [`user_state`]
//!   (the asking user's play state, read as that user through the cache: the listings the
//!   Plex dialect's `user_state` writes it from, a Jellyfin library's `UserData`).
//! * [`matching`], [`lookup`], [`index_api`] — `/api/match`, `/api/lookup`, the admin routes.
//! * [`status`] — what `/api/index` reports; [`declined`] — why the copy left a request to
//!   the server, counted per reason (`copy_declined` in `/metrics`).

pub(crate) mod answer;
pub mod crawl;
pub mod declined;
pub mod elements;
pub mod folded;
pub mod index_api;
pub mod keeper;
pub mod labels;
pub mod lookup;
pub mod matching;
pub mod none_of;
pub mod restrictions;
pub mod status;
pub mod titles;
pub mod user_state;
pub mod visibility;
pub(crate) mod written;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use cachearr_library::LibraryIndex;

use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_dialect::model::library::SectionInfo;
use status::{IndexState, IndexStatus, LibraryTotals};

/// The log line about searches sent to the server is written at most this often.
const SEARCH_WARNING_EVERY: Duration = Duration::from_secs(60);

/// The stale mark of a change that names no item (a scan finished): anything may have
/// changed until the next pass has read the server.
pub(crate) const ANY_ITEM: &str = "*";

/// What the index keeper of an upstream is asked to do.
#[derive(Debug, Clone)]
pub enum KeeperCommand {
    /// Build now: `full` re-reads everything, otherwise an incremental refresh when an index is
    /// installed (a full build when none is).
    Build {
        /// Re-read the whole library.
        full: bool,
    },
    /// A change event from the server (webhook or notification socket).
    Changed(ChangeEvent),
    /// Look at the clock: a scheduled refresh may be due.
    Tick,
    /// [`KeeperCommand::Tick`], then notify the waiter once the look (and what was due) is done.
    Look(Arc<tokio::sync::Notify>),
}

/// The index of one upstream, swapped whole when a build or refresh finishes.
#[derive(Debug)]
pub struct UpstreamIndex {
    upstream: Arc<str>,
    current: RwLock<Option<Arc<LibraryIndex>>>,
    enabled: AtomicBool,
    status: Mutex<IndexStatus>,
    sections: RwLock<Arc<[SectionInfo]>>,
    totals: RwLock<Option<Arc<LibraryTotals>>>,
    searches_to_server: AtomicU64,
    last_search_warning: Mutex<Option<(Instant, u64)>>,
    keeper: OnceLock<tokio::sync::mpsc::UnboundedSender<KeeperCommand>>,
    /// The server's element of each item (Plex), for answers the index renders.
    elements: OnceLock<Arc<elements::ElementStore>>,
    /// Items a write through cachearr changed whose elements have not been read again since
    /// (see [`UpstreamIndex::note_write`]), each with the number of its mark.
    stale: Mutex<HashMap<String, u64>>,
    /// The number of the last mark.
    marks: AtomicU64,
    /// The frames learned for the copy's walks (`answer::frame`).
    frames: answer::frame::Frames,
    /// Why the copy left requests to the server, counted per reason.
    declined: declined::DeclineCounts,
    /// Every user's restriction, as last read from the server.
    policies: restrictions::Policies,
    /// The items' labels, where listings do not carry them (read when a filter needs them).
    labels: labels::Labels,
    /// The item kinds each library holds none of, while no change voided the counts.
    kinds_held: none_of::KindsHeld,
}

impl UpstreamIndex {
    /// An empty handle for the upstream named `upstream` (enabled).
    pub fn new(upstream: &str) -> UpstreamIndex {
        UpstreamIndex {
            upstream: Arc::from(upstream),
            current: RwLock::new(None),
            enabled: AtomicBool::new(true),
            status: Mutex::new(IndexStatus {
                upstream: upstream.to_string(),
                enabled: true,
                ..IndexStatus::default()
            }),
            sections: RwLock::new(Arc::from(Vec::new())),
            totals: RwLock::new(None),
            searches_to_server: AtomicU64::new(0),
            last_search_warning: Mutex::new(None),
            keeper: OnceLock::new(),
            elements: OnceLock::new(),
            stale: Mutex::new(HashMap::new()),
            marks: AtomicU64::new(0),
            frames: answer::frame::Frames::default(),
            declined: declined::DeclineCounts::default(),
            policies: restrictions::Policies::default(),
            labels: labels::Labels::default(),
            kinds_held: none_of::KindsHeld::default(),
        }
    }

    /// Opens the store of the server's item elements (once), with `memory` bytes of
    /// `memory_max` for the store and `written` bytes for the items written ahead for its
    /// answers (`written::WrittenItems`): in the disk tier's database when there is one (a store an earlier
    /// version kept in `dir` is then removed: the next start reads the library again to fill
    /// the new one), otherwise in directory `dir`. Without it no Plex answer is rendered from
    /// the index: searches go to the server.
    ///
    /// # Errors
    /// [`elements::ElementStoreError`] when it cannot be opened.
    pub fn open_elements(
        &self,
        disk: Option<&cachearr_engine::DiskTier>,
        dir: &std::path::Path,
        memory: u64,
        written: u64,
    ) -> Result<(), elements::ElementStoreError> {
        if self.elements.get().is_some() {
            return Ok(());
        }
        let store = match disk {
            Some(disk) => {
                let store =
                    elements::ElementStore::in_disk_tier(disk, &self.upstream, memory, written)?;
                if dir.exists() {
                    match std::fs::remove_dir_all(dir) {
                        Ok(()) => tracing::info!(
                            upstream = %self.upstream,
                            path = %dir.display(),
                            "library elements now live in the disk cache's store; removed the \
                             old separate store"
                        ),
                        Err(e) => tracing::warn!(
                            upstream = %self.upstream,
                            path = %dir.display(),
                            error = %e,
                            "could not remove the old separate library elements store; it \
                             still takes disk space and can be deleted"
                        ),
                    }
                }
                store
            }
            None => elements::ElementStore::open(dir, memory, written)?,
        };
        let _ = self.elements.set(Arc::new(store));
        Ok(())
    }

    /// The store of the server's item elements, when open.
    pub fn elements(&self) -> Option<&Arc<elements::ElementStore>> {
        self.elements.get()
    }

    /// The frames learned for the copy's walks.
    pub(crate) fn frames(&self) -> &answer::frame::Frames {
        &self.frames
    }

    /// Every user's restriction, as last read from the server.
    pub fn policies(&self) -> &restrictions::Policies {
        &self.policies
    }

    /// The items' labels, where the server's listings do not carry them.
    pub fn labels(&self) -> &labels::Labels {
        &self.labels
    }

    /// The item kinds each library holds none of, as last counted.
    pub(crate) fn kinds_held(&self) -> &none_of::KindsHeld {
        &self.kinds_held
    }

    /// Whether the index is enabled for this upstream (`[index] enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns the index on or off (from the configuration, at start).
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
        self.update_status(|s| {
            s.enabled = enabled;
            if !enabled {
                s.state = IndexState::Disabled;
            } else if s.state == IndexState::Disabled {
                s.state = IndexState::Idle;
            }
        });
    }

    /// The proxy calls this when a search request goes to the server instead of being
    /// answered from the index (index off, not built yet, or broken). Counts it; when the
    /// index is off, logs a warning at most once a minute (with how many went since).
    #[allow(
        clippy::disallowed_methods,
        reason = "how often the log speaks is paced in real time"
    )]
    pub fn note_search_to_server(&self) {
        let total = self.searches_to_server.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self
            .last_search_warning
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|(at, _)| at.elapsed() >= SEARCH_WARNING_EVERY);
        if !due {
            return;
        }
        let since = total - last.map_or(0, |(_, count)| count);
        *last = Some((Instant::now(), total));
        drop(last);
        if self.enabled() {
            tracing::info!(
                upstream = %self.upstream,
                searches = since,
                "library index not ready yet: searches go to the server until the build finishes"
            );
        } else {
            tracing::warn!(
                upstream = %self.upstream,
                searches = since,
                "library index is disabled ([index] enabled = false): searches go to the server"
            );
        }
    }

    /// Counts a request the copy left to the server for `reason`, and logs it at debug (the
    /// reason only: never the request's path or user).
    pub fn note_declined(&self, reason: declined::Declined, answering: &'static str) {
        self.declined.note(reason);
        tracing::debug!(
            upstream = %self.upstream,
            answering,
            reason = reason.label(),
            "the library copy declined: the server answers"
        );
    }

    /// Why the copy left requests to the server, counted per reason.
    pub fn declines(&self) -> &declined::DeclineCounts {
        &self.declined
    }

    /// Searches sent to the server because the index was off or not ready.
    pub fn searches_to_server(&self) -> u64 {
        self.searches_to_server.load(Ordering::Relaxed)
    }

    /// The sections the server lists (id, title, kind), as of the last crawl or snapshot.
    pub fn sections(&self) -> Arc<[SectionInfo]> {
        match self.sections.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the section list.
    pub fn set_sections(&self, sections: Vec<SectionInfo>) {
        let list: Arc<[SectionInfo]> = Arc::from(sections);
        self.update_status(|s| s.sections = list.to_vec());
        let mut guard = match self.sections.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = list;
    }

    /// The library totals computed after the last build or refresh.
    pub fn totals(&self) -> Option<Arc<LibraryTotals>> {
        match self.totals.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the library totals.
    pub fn set_totals(&self, totals: LibraryTotals) {
        let mut guard = match self.totals.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(Arc::new(totals));
    }

    /// A copy of the status (`GET /api/index`).
    pub fn status(&self) -> IndexStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        status.searches_to_server = self.searches_to_server();
        status.enabled = self.enabled();
        status.copy = self.frames.report();
        status.declined = self.declined.report();
        status
    }

    /// Changes the status under its lock.
    pub fn update_status(&self, change: impl FnOnce(&mut IndexStatus)) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut status);
    }

    /// Connects the keeper task (once).
    pub fn attach_keeper(&self, sender: tokio::sync::mpsc::UnboundedSender<KeeperCommand>) {
        let _ = self.keeper.set(sender);
    }

    /// Sends a command to the keeper; false when no keeper runs (index off, not serving).
    pub fn command(&self, command: KeeperCommand) -> bool {
        self.keeper
            .get()
            .is_some_and(|sender| sender.send(command).is_ok())
    }

    /// Asks the keeper to build now (`POST /api/index/build`); false when no keeper runs.
    pub fn request_build(&self, full: bool) -> bool {
        self.command(KeeperCommand::Build { full })
    }

    /// Hands a change event to the keeper (added / updated items are fetched again, removed
    /// ones dropped); ignored when no keeper runs.
    ///
    /// True when the keeper has it (then a new item of an unknown section has its section's
    /// lists refreshed by the keeper once it has fetched the item).
    ///
    /// Until the keeper has read them again, the items an added, updated or removed event
    /// names (their parents included) are stale: the copy and the index give no answer, the
    /// server does ([`UpstreamIndex::has_stale`]). An event naming no item (a scan) leaves
    /// everything stale until the next pass (`ANY_ITEM`).
    pub fn note_change(&self, event: &ChangeEvent) -> bool {
        // An item added, edited or removed may be of a kind a library held none of (or name
        // a genre, tag or person it did not): no listing is answered as empty until counted
        // again.
        if matches!(
            event.change,
            Change::Added | Change::Updated | Change::Removed | Change::ScanFinished
        ) {
            self.kinds_held.void();
        }
        if event.change == Change::UserChanged {
            // What the user may see is read again before the copy answers anyone (the read
            // drops the answers of every user whose restriction it finds changed).
            self.policies.forget();
        }
        // Sent even before the index is ready: a failed first build is tried again at once
        // when the server speaks.
        let kept = self.enabled()
            && self.command(KeeperCommand::Changed(event.clone()))
            && self.ready().is_some();
        if kept {
            let ids: Vec<&str> = match event.change {
                Change::Added | Change::Updated | Change::Removed if !event.items.is_empty() => {
                    event.items.iter().map(String::as_str).collect()
                }
                Change::Added | Change::Updated | Change::Removed | Change::ScanFinished => {
                    vec![ANY_ITEM]
                }
                _ => Vec::new(),
            };
            let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                let mark = self.marks.fetch_add(1, Ordering::SeqCst) + 1;
                stale.insert(id.to_owned(), mark);
            }
        }
        kept
    }

    /// Anything may have changed on the server unseen (the index was loaded from disk and
    /// the changes made while cachearr was down reached no event stream): the copy and the
    /// index answer nothing until the keeper's next pass is installed.
    pub(crate) fn note_anything_changed(&self) {
        let mark = self.marks.fetch_add(1, Ordering::SeqCst) + 1;
        self.stale
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ANY_ITEM.to_owned(), mark);
    }

    /// A write through cachearr changed the items `ids` on the server (an edit of their
    /// fields, labels or guids, a removal). The index and the kept elements learn of it only
    /// when the items are read again, and the server's change event comes a moment after the
    /// write's answer, if at all: until the keeper has read them again (asked here, at once),
    /// the items the index holds among `ids` are stale and no index answer is given
    /// ([`UpstreamIndex::has_stale`]). Items the index does not hold (playlists, collections)
    /// are in no index answer and are left alone. True when some item was marked.
    pub fn note_write<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> bool {
        // Any write of items (held or not: a collection made, a tag given) may make a kind
        // a library held none of appear.
        self.kinds_held.void();
        if !self.enabled() {
            return false;
        }
        let Some(index) = self.ready() else {
            // No index yet: the running or next build reads the server as it is now.
            return false;
        };
        let everything = cachearr_library::Visibility::everything();
        let held: Vec<&str> = ids
            .into_iter()
            .filter(|id| index.by_id(id, &everything).is_some())
            .collect();
        if held.is_empty() {
            return false;
        }
        {
            let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
            for id in &held {
                let mark = self.marks.fetch_add(1, Ordering::SeqCst) + 1;
                stale.insert((*id).to_owned(), mark);
            }
        }
        let event = ChangeEvent::new(Change::Updated).with_items(held.iter().map(|id| Some(*id)));
        if !self.command(KeeperCommand::Changed(event)) {
            // No keeper to read them again: they stay stale, and the server answers the
            // searches.
            tracing::debug!(upstream = %self.upstream, "items written with no keeper running");
        }
        true
    }

    /// Whether an item written through cachearr has not been read again yet: then the index
    /// does not answer (the server does).
    pub fn has_stale(&self) -> bool {
        !self
            .stale
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The number of the last stale mark: a read that starts now sees every write marked
    /// up to it.
    pub fn stale_mark(&self) -> u64 {
        self.marks.load(Ordering::SeqCst)
    }

    /// The items `ids` were read again by a read that started at mark `seen` and its result
    /// is installed: marks up to `seen` are cleared (a later write stays stale). `None`
    /// clears every item (a build or refresh that read the whole library or every change).
    pub fn read_again(&self, ids: Option<&[String]>, seen: u64) {
        let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
        match ids {
            Some(ids) => {
                for id in ids {
                    if stale.get(id).is_some_and(|mark| *mark <= seen) {
                        stale.remove(id);
                    }
                }
            }
            None => stale.retain(|_, mark| *mark > seen),
        }
    }

    /// Asks the keeper to look at the clock now (a scheduled refresh may be due). The keeper
    /// also looks by itself every half minute.
    pub fn poke(&self) -> bool {
        self.command(KeeperCommand::Tick)
    }

    /// [`Self::poke`], returning once the keeper has looked and done what was due (a refresh,
    /// a retried build): a caller that must know a look changed nothing waits for it here
    /// instead of for a while. False at once when no keeper runs.
    pub async fn look_now(&self) -> bool {
        let looked = Arc::new(tokio::sync::Notify::new());
        if !self.command(KeeperCommand::Look(looked.clone())) {
            return false;
        }
        looked.notified().await;
        true
    }

    /// The upstream's name.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The index if one is ready to answer from.
    pub fn ready(&self) -> Option<Arc<LibraryIndex>> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer panicked mid-swap; the value is still a whole `Option<Arc<_>>`.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Makes `index` the one answered from (a finished build, a loaded snapshot, a test).
    pub fn install(&self, index: Arc<LibraryIndex>) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(index);
    }

    /// Drops the index: searches go to the server again.
    pub fn clear(&self) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = None;
    }
}

/// `copy_declined{upstream, reason}`: the requests each upstream's copy left to the server,
/// per reason, read at every scrape (labels: the configured name and a fixed word).
impl cachearr_gateway::metrics::StatsSource for UpstreamIndex {
    fn samples(&self) -> Vec<cachearr_gateway::metrics::Sample> {
        declined::Declined::ALL
            .iter()
            .map(|&reason| (reason, self.declined.count(reason)))
            .filter(|&(_, count)| count > 0)
            .map(|(reason, count)| cachearr_gateway::metrics::Sample {
                name: "copy_declined",
                help: "Requests the library copy left to the server, by upstream and reason",
                kind: cachearr_gateway::metrics::SampleKind::Counter,
                labels: vec![
                    ("upstream", self.upstream.to_string()),
                    ("reason", reason.label().to_owned()),
                ],
                value: count as f64,
            })
            .collect()
    }
}

/// An id as the copy compares a server's ids (library, section and user ids): without
/// dashes, lower-cased, as Jellyfin reads a GUID in either form.
pub(crate) fn bare_id(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One upstream's library index, empty, with its elements store open when its server's
/// answers are kept as elements (what the copy opens a gateway with: [`crate::open`]).
pub fn new_index(
    config: &cachearr_config::Config,
    u: &cachearr_config::UpstreamConfig,
    cache: &cachearr_engine::TieredCache,
) -> Arc<UpstreamIndex> {
    let index = UpstreamIndex::new(&u.name);
    index.update_status(|s| s.profile = u.profile.as_str().to_string());
    index.set_enabled(config.index.enabled);
    if cachearr_dialect::of(u.profile)
        .library()
        .facts()
        .keeps_elements
        && config.index.enabled
    {
        let dir = cachearr_gateway::data_files::file_path(&config.data_dir, &u.name, "elements");
        let budgets = cachearr_gateway::Budgets::for_cache(&config.cache);
        if let Err(e) =
            index.open_elements(cache.disk_store(), &dir, budgets.elements, budgets.written)
        {
            tracing::warn!(
                upstream = %u.name,
                error = %e,
                "library elements store not opened: searches go to the server"
            );
        }
    }
    if !config.index.enabled {
        tracing::warn!(
            upstream = %u.name,
            "library index disabled ([index] enabled = false): every search will go \
             to the server"
        );
    }
    Arc::new(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_library::ItemRecord;
    use cachearr_library::index::IndexBuilder;

    #[test]
    fn empty_until_installed_then_swapped_whole() {
        let handle = UpstreamIndex::new("plex");
        assert!(handle.ready().is_none());
        let mut b = IndexBuilder::new();
        b.push(&ItemRecord::track("1", "3", "Artist", "Song"))
            .unwrap();
        handle.install(Arc::new(b.finish()));
        assert_eq!(handle.ready().map(|i| i.len()), Some(1));
        handle.clear();
        assert!(handle.ready().is_none());
    }

    #[test]
    fn written_items_are_stale_until_a_read_that_started_after_the_write() {
        let handle = UpstreamIndex::new("plex");
        // No index: nothing to mark.
        assert!(!handle.note_write(["1"]));
        let mut b = IndexBuilder::new();
        b.push(&ItemRecord::track("1", "3", "Artist", "Song"))
            .unwrap();
        handle.install(Arc::new(b.finish()));
        // Items the index does not hold (a playlist) are in no answer.
        assert!(!handle.note_write(["77"]));
        assert!(!handle.has_stale());
        let before = handle.stale_mark();
        assert!(handle.note_write(["1", "77"]));
        assert!(handle.has_stale());
        // A read that started before the write does not clear it; one after does.
        handle.read_again(Some(&["1".to_string()]), before);
        assert!(handle.has_stale());
        let seen = handle.stale_mark();
        assert!(handle.note_write(["1"]));
        handle.read_again(None, seen);
        assert!(handle.has_stale(), "written again after the read started");
        handle.read_again(Some(&["1".to_string()]), handle.stale_mark());
        assert!(!handle.has_stale());
        // Off: writes mark nothing.
        handle.set_enabled(false);
        assert!(!handle.note_write(["1"]));
    }

    #[test]
    fn searches_to_the_server_are_counted_and_disabled_shows_in_the_status() {
        let handle = UpstreamIndex::new("plex");
        assert_eq!(handle.status().state, IndexState::Idle);
        handle.set_enabled(false);
        for _ in 0..3 {
            handle.note_search_to_server();
        }
        let status = handle.status();
        assert_eq!(status.state, IndexState::Disabled);
        assert!(!status.enabled);
        assert_eq!(status.searches_to_server, 3);
        // No keeper runs: commands report that nobody took them.
        assert!(!handle.request_build(true));
    }
}
