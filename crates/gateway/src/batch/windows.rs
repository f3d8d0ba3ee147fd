//! Listing pages read ahead in windows: a sync's walk of a long listing costs the server a
//! request per many pages, not one per page.
//!
//! Jellyfin for Kodi reads a music library's 5,000 songs as 334 pages of 15, three at a time;
//! Jellyseerr and the like page a library the same way. Once a user has read two pages of
//! one listing near each other (same path, same query but the page's place, same page size),
//! the next pages are asked for in one request of many pages' items — a *window* — on the
//! upstream's background budget, with the same user's request, and the answer is cut into the
//! pages the walk asks next, each stored under exactly the key, policy and tags its own request
//! would have, so the walk's next requests are hits (or wait for the window holding them, as
//! a batch's parts are waited for). A walk that reads into its last window starts the next one
//! ahead of it; a walk that stops reading starts none.
//!
//! **Exactly the server's pages.** A window holds the page the client just got from the
//! server (it starts there, or at the pages of the same bundle waiting before it), so that
//! page is cut from the window and compared byte for byte (and its stored headers) with that
//! answer: a page is the server's frame around the items of its place, and
//! the frame of another place is the dialect's ([`cachearr_dialect::PagedListing::reframe`]:
//! Jellyfin's frame names the page's `StartIndex`). On a mismatch nothing of the window is
//! stored and windows are off for that upstream, said once in the log. A window that comes
//! back short ends the walk (its last pages are cut from it). A listing the library copy
//! answers is left to it.
//!
//! **A walk a count announced.** A sync that counts a listing before walking it (Jellyfin
//! for Kodi's `_get_items`: `Limit=1&EnableTotalRecordCount=True`, then the pages) says how
//! far the walk goes. Once windows are proven for the upstream, the walk's first page going
//! to the server goes as a window instead, of as many of the counted items as one window
//! holds: the page and those after it are cut from it, framed as the window's own frame moved
//! to each page's place (the frame proven on the upstream's earlier windows).
//!
//! **Never stale.** Pages are stored with [`cachearr_engine::TieredCache::insert_fetched`],
//! stamped as of the window's start, as a batch's parts are.
//!
//! Where a server's own pages of different sizes order tied items differently (Jellyfin sorts
//! ties in its database's order), the pages cut from a window are one consistent order of the
//! server's: no item shown twice or skipped across pages.

use super::PageRead;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cachearr_engine::{CachedValue, Fill};
use http::{HeaderMap, Uri};
use tokio::sync::watch;

use super::BatchReads;
use super::{
    BatchedRead, Children, Looked, Proof, Release, Target, not_cached, same_headers, store_part,
    target_of,
};
use cachearr_dialect::{PageFrame, PagedListing};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::keys::UserHash;
use cachearr_upstream::users::UserRecord;

/// Walks remembered per process (the listings being walked now).
const WALKS_MAX: usize = 32;
/// A window's items at most: one request of the server's stays a modest query (Jellyfin's
/// own web client pages its libraries by 100).
const ITEMS_MAX: usize = 500;
/// A window's expected size at most (estimated from the page that started it).
const BYTES_MAX: usize = 4 * 1024 * 1024;
/// Two pages this many pages apart or nearer are one walk.
const NEAR_PAGES: usize = 4;
/// Starts read remembered per walk.
const READS_KEPT: usize = 8;
/// Counts announcing walks remembered per process.
const ANNOUNCED_MAX: usize = 32;
/// How long after a count its user is taken to be syncing (ms).
const SYNCING_MS: u64 = 60_000;

/// A count a client read of a listing: the walk of its pages that follows.
struct Announced {
    upstream: Arc<str>,
    user: UserHash,
    path: Box<str>,
    /// The listing ([`PagedListing::listing_of`]).
    listing: String,
    /// The items the count found.
    total: usize,
    /// The count's answer's size: about one item's and a frame's.
    per_item: usize,
    /// When it was read (ms, the gateway's clock).
    at: u64,
}

/// The frame of a server's page: the bytes around its items, the place it names, its headers.
#[derive(Clone)]
struct Frame {
    head: Bytes,
    tail: Bytes,
    start: usize,
    /// The page's items.
    items: usize,
    headers: Vec<(String, String)>,
    /// The page's whole answer, to prove the window against (only for a window's first page).
    body: Bytes,
}

struct Walk {
    upstream: Arc<str>,
    user: UserHash,
    path: Box<str>,
    /// The query with its page's place and size written as 0: the walk's identity.
    shape: String,
    /// A page's query as the client writes it.
    query: String,
    size: usize,
    reads: VecDeque<usize>,
    /// The frame of the last page the server answered.
    frame: Option<Frame>,
    /// Where the windows started so far end (exclusive).
    covered: usize,
    /// Items per window.
    window: usize,
    in_flight: bool,
    /// A window came back short: the listing ends there.
    ended: bool,
    /// Page reads of this walk on their way to the server.
    loading: usize,
    /// Pages a client asked for while another page was loading, waiting for it.
    waiting: Vec<usize>,
    /// Told when a page stops loading or a window starts.
    changed: watch::Sender<()>,
}

impl Walk {
    /// The window a count announced (`total` items, one of `per_item` bytes) started at the
    /// page read at `start` (pages of `size`), marked in flight: as many pages as fit in
    /// [`BYTES_MAX`] (at least two, at most [`ITEMS_MAX`] items), never past the end.
    fn start_counted(&mut self, start: usize, size: usize, total: usize, per_item: usize) -> Due {
        let most = (BYTES_MAX / per_item.max(1)).clamp(2 * size, ITEMS_MAX.max(2 * size));
        let most = most / size * size;
        // A walk not begun starts at its first page: the pages of the client's first
        // bundle arrive in any order, and the first to arrive starts the window.
        let from = if self.reads.is_empty() && start.is_multiple_of(size) && start + size <= most {
            0
        } else {
            start
        };
        let items = most.min((total - from).div_ceil(size) * size);
        self.in_flight = true;
        self.window = items;
        self.covered = from + items;
        Due {
            start: from,
            items,
            ends_at: Some(total),
            frame: None,
            proves: false,
            path: self.path.clone(),
            query: self.query.clone(),
            size,
        }
    }

    /// Whether this is the walk of `user`'s pages of `size` of the listing at `path` (its
    /// query's `shape`) on `upstream`.
    fn is(&self, upstream: &str, user: UserHash, path: &str, shape: &str, size: usize) -> bool {
        self.user == user
            && self.size == size
            && *self.upstream == *upstream
            && *self.path == *path
            && self.shape == shape
    }
}

/// A window, due: where it starts, its size, the page proving it or framing its pages (none:
/// the window's own frame frames them).
struct Due {
    start: usize,
    items: usize,
    /// Where a count said the listing ends: no window goes past it.
    ends_at: Option<usize>,
    frame: Option<Frame>,
    proves: bool,
    path: Box<str>,
    query: String,
    size: usize,
}

/// How long a page read waits for another page of its walk on its way to the server.
const HOLD_WAIT: Duration = Duration::from_secs(2);

/// A page read on its way to the server ([`Windows::hold`]): while it is, the walk's other
/// page reads wait for it; dropping it wakes them.
pub(crate) struct Loading<'a> {
    windows: &'a Windows,
    upstream: Arc<str>,
    user: UserHash,
    path: Box<str>,
    shape: String,
    size: usize,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        let mut walks = self.windows.walks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(walk) = walks.iter_mut().find(|w| {
            w.is(
                &self.upstream,
                self.user,
                &self.path,
                &self.shape,
                self.size,
            )
        }) {
            walk.loading = walk.loading.saturating_sub(1);
            walk.changed.send_replace(());
        }
    }
}

/// A page a client asked for: its listing's path and its query, where it starts, its size.
struct PageAt<'a> {
    path: &'a str,
    query: &'a str,
    start: usize,
    size: usize,
}

/// A window's request: its target, the route's class, the walker's headers, the pages it fills.
struct Window {
    uri: Uri,
    class: cachearr_config::policy::Class,
    headers: HeaderMap,
    targets: Vec<Target>,
}

/// The listings being walked and whether windows give each upstream's pages.
#[derive(Default)]
pub(crate) struct Windows {
    walks: Mutex<VecDeque<Walk>>,
    announced: Mutex<VecDeque<Announced>>,
    proofs: Mutex<HashMap<Arc<str>, Proof>>,
    /// Windows sent.
    pub(crate) sent: AtomicUsize,
    /// Pages stored from windows.
    pub(crate) pages_stored: AtomicUsize,
    /// The empty pages after listings' last ones.
    pub(crate) past_end: super::past_end::PastEnd,
}

impl Windows {
    fn proof(&self, upstream: &str) -> Option<Proof> {
        self.proofs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(upstream)
            .copied()
    }

    fn set_proof(&self, upstream: &Arc<str>, proof: Proof) {
        let previous = self
            .proofs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(upstream.clone(), proof);
        if previous != Some(proof) {
            match proof {
                Proof::Proven => tracing::info!(
                    upstream = %upstream,
                    "a window of a listing cuts into the server's own pages byte for byte: walks read ahead"
                ),
                Proof::Refused => tracing::warn!(
                    upstream = %upstream,
                    "a window of a listing differs from the server's page: walks stay page by page"
                ),
            }
        }
    }

    /// Whether windows are refused for this upstream (a proof failed).
    pub(crate) fn refused(&self, upstream: &str) -> bool {
        self.proof(upstream) == Some(Proof::Refused)
    }

    /// Watches a listing page a client got (status 200): remembers the walk, and starts the
    /// window that reads its next pages when one is due.
    pub(crate) fn observe(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        read: PageRead<'_>,
    ) {
        let Some(paged) = cachearr_dialect::of(up.profile).paged_listing() else {
            return;
        };
        if !up.config.prefetch.batch_metadata || read.value.status != 200 || read.copy {
            return;
        }
        let path = read.uri.path();
        let Some(query) = read.uri.query() else {
            return;
        };
        if !(paged.is_listing)(path) || self.refused(&up.name) {
            return;
        }
        let Some((start, size)) = (paged.page_of)(query) else {
            if (paged.announces)(query) {
                let now = reads.clock().now_ms();
                self.announce((&up.name, user.hash, now), paged, path, query, read.value);
            }
            return;
        };
        let short = super::past_end::ShortPage {
            path,
            query,
            start,
            size,
        };
        let asked = (paged, read.headers);
        (self.past_end).observe(reads, up, (user, scope_user), asked, &short, &read);
        let page = PageAt {
            path,
            query,
            start,
            size,
        };
        let Some(due) = self.note(&up.name, user.hash, paged, &page, &read) else {
            return;
        };
        self.start(reads, up, (user, scope_user), read.headers, paged, due);
        // The pages waiting for this one now wait for the window holding them.
        if let Some(shape) = (paged.with_page)(query, 0, 0) {
            let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
            walk_of(&mut walks, &up.name, user.hash, &page, shape)
                .changed
                .send_replace(());
        }
    }

    /// Remembers a count of a listing a client read, with the items it found.
    fn announce(
        &self,
        (upstream, user, now): (&Arc<str>, UserHash, u64),
        paged: &PagedListing,
        path: &str,
        query: &str,
        value: &CachedValue,
    ) {
        let Some(items) = Children::of(&value.body, paged.json_items) else {
            return;
        };
        let Some(last) = items.items.last() else {
            return;
        };
        let around = PageFrame {
            head: &value.body[..items.items[0].start],
            tail: &value.body[last.end..],
        };
        let Some(total) = (paged.total)(around, query) else {
            return;
        };
        let listing = (paged.listing_of)(query);
        let mut announced = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        announced.retain(|a| {
            !(a.user == user
                && *a.upstream == **upstream
                && *a.path == *path
                && a.listing == listing)
        });
        if announced.len() >= ANNOUNCED_MAX {
            announced.pop_front();
        }
        announced.push_back(Announced {
            upstream: upstream.clone(),
            user,
            path: path.into(),
            listing,
            total,
            per_item: value.body.len(),
            at: now,
        });
    }

    /// Whether `user` counted a listing on `upstream` within the last minute before `now`
    /// (ms): a client syncing the library (Jellyfin for Kodi counts every listing it walks),
    /// which reads what it reads next by walks of its own, not as someone browsing would.
    pub(crate) fn syncing(&self, upstream: &str, user: UserHash, now: u64) -> bool {
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|a| {
                a.user == user && *a.upstream == *upstream && now.saturating_sub(a.at) <= SYNCING_MS
            })
    }

    /// The count announcing the walk of `page` by `user`: its items and one item's size.
    fn announced(
        &self,
        upstream: &str,
        user: UserHash,
        paged: &PagedListing,
        page: &PageAt<'_>,
    ) -> Option<(usize, usize)> {
        let listing = (paged.listing_of)(page.query);
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|a| {
                a.user == user
                    && *a.upstream == *upstream
                    && *a.path == *page.path
                    && a.listing == listing
            })
            .map(|a| (a.total, a.per_item))
    }

    /// The windows' layer of a read's way through the batches ([`super::Batcher::around`]):
    /// held ([`Self::hold`]) while what fills it may be on its way, looked up by `inner`, then
    /// watched ([`Self::observe`]) for the window it may prove or extend, before the hold is
    /// let go.
    pub(crate) async fn around(
        &self,
        read: &BatchedRead<'_>,
        inner: impl Future<Output = Looked>,
    ) -> Looked {
        let (reads, up, who) = (read.reads, read.up, (read.user, read.scope_user));
        let loading = self
            .hold(reads, up, who, (read.uri, read.headers, read.key))
            .await;
        let looked = inner.await;
        self.learn(read, &looked);
        drop(loading);
        looked
    }

    /// What [`Self::around`] learns from a read's answer: a page read of a walk.
    pub(crate) fn learn(&self, read: &BatchedRead<'_>, looked: &Looked) {
        if let Some(lookup) = looked.teaches() {
            let page = PageRead {
                uri: read.uri,
                headers: read.headers,
                value: &lookup.entry.value,
                from_server: looked.by_copy == Some(false),
                copy: looked.copy.is_some(),
                walks: looked.made.as_ref().and_then(|made| made.walks.as_ref()),
            };
            self.observe(read.reads, read.up, (read.user, read.scope_user), page);
        }
    }

    /// Before a page read goes to the server: when a window on its way holds it, waits for
    /// it to be registered (the read then waits for the window); when the upstream's windows
    /// are proven and a count announced the walk, starts the window at this page instead;
    /// when another page of the same walk is on its way there (a client reading pages in
    /// concurrent bundles, as Jellyfin for Kodi reads three), waits for it (at most
    /// [`HOLD_WAIT`]), since its answer may start the window holding this page; otherwise
    /// marks this read as loading until the returned guard is dropped. Reads of the same page
    /// elsewhere in the walk are left alone.
    async fn hold(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        (reader, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        (uri, headers, key): (&Uri, &HeaderMap, &cachearr_engine::Key),
    ) -> Option<Loading<'_>> {
        let user = reader.hash;
        let paged = cachearr_dialect::of(up.profile).paged_listing()?;
        let (path, query) = (uri.path(), uri.query()?);
        if !(paged.is_listing)(path) || !up.config.prefetch.batch_metadata {
            return None;
        }
        let (start, size) = (paged.page_of)(query)?;
        if reads.cache().get(key).await.is_some() {
            return None;
        }
        let page = PageAt {
            path,
            query,
            start,
            size,
        };
        let shape = (paged.with_page)(query, 0, 0)?;
        let proven = self.proof(&up.name) == Some(Proof::Proven);
        let announced = if proven {
            self.announced(&up.name, user, paged, &page)
        } else {
            None
        };
        let (mut due, mut holding) = (None, false);
        let changed = {
            let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
            let walk = walk_of(&mut walks, &up.name, user, &page, shape.clone());
            if walk.in_flight && start < walk.covered && start + walk.window >= walk.covered {
                // A window holding this page is on its way: once its pages are registered,
                // this read waits for it.
                holding = true;
                Some(walk.changed.subscribe())
            } else if let Some((total, per_item)) = announced
                && walk.loading == 0
                && !walk.in_flight
                && !walk.ended
                && start >= walk.covered
                && start + size < total
            {
                due = Some(walk.start_counted(start, size, total, per_item));
                None
            } else if walk.loading == 0 || walk.in_flight || self.refused(&up.name) {
                walk.loading += 1;
                return Some(Loading {
                    windows: self,
                    upstream: up.name.clone(),
                    user,
                    path: path.into(),
                    shape,
                    size,
                });
            } else {
                walk.waiting.push(start);
                Some(walk.changed.subscribe())
            }
        };
        if let Some(due) = due {
            tracing::debug!(
                upstream = %up.name,
                path,
                start = due.start,
                items = due.items,
                "a counted walk's page read as a window"
            );
            self.start(reads, up, (reader, scope_user), headers, paged, due);
            let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
            walk_of(&mut walks, &up.name, user, &page, shape)
                .changed
                .send_replace(());
            return None;
        }
        let mut changed = changed?;
        if holding {
            if !reads.batcher().is_pending(key) {
                let _ = tokio::time::timeout(HOLD_WAIT, changed.changed()).await;
            }
            return None;
        }
        let _ = tokio::time::timeout(HOLD_WAIT, changed.changed()).await;
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        let walk = walk_of(&mut walks, &up.name, user, &page, shape);
        if let Some(at) = walk.waiting.iter().position(|&w| w == start) {
            walk.waiting.swap_remove(at);
        }
        None
    }

    /// Records a page read; returns the window due after it, marked in flight.
    fn note(
        &self,
        upstream: &Arc<str>,
        user: UserHash,
        paged: &PagedListing,
        page: &PageAt<'_>,
        read: &PageRead<'_>,
    ) -> Option<Due> {
        let &PageAt {
            query, start, size, ..
        } = page;
        let shape = (paged.with_page)(query, 0, 0)?;
        let frame = if read.from_server {
            frame_of(paged, read.value, query, (start, size))
        } else {
            None
        };
        let proven = self.proof(upstream) == Some(Proof::Proven);
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        let walk = walk_of(&mut walks, upstream, user, page, shape);
        let near = walk
            .reads
            .iter()
            .chain(walk.waiting.iter())
            .any(|&r| r != start && r.abs_diff(start) <= NEAR_PAGES * size);
        if walk.reads.len() >= READS_KEPT {
            walk.reads.pop_front();
        }
        walk.reads.push_back(start);
        if let Some(frame) = frame {
            walk.frame = Some(frame);
        }
        if walk.in_flight || walk.ended {
            return None;
        }
        let frame = walk.frame.clone()?;
        // A page the server answered, past what windows asked: the window starts at it and is
        // proven by it.
        if read.from_server && near && start >= walk.covered && frame.start == start {
            // Pages waiting before this one (read in the same bundle, arrived first) are in
            // the window too: it starts at the first of them.
            let from = walk
                .waiting
                .iter()
                .copied()
                .filter(|&w| w < start && w >= walk.covered && start - w <= NEAR_PAGES * size)
                .filter(|&w| (start - w) % size == 0)
                .min()
                .unwrap_or(start);
            let items = window_items(&frame, size);
            walk.in_flight = true;
            walk.window = items;
            walk.covered = from + items;
            return Some(Due {
                start: from,
                items,
                ends_at: None,
                frame: Some(frame),
                proves: true,
                path: walk.path.clone(),
                query: walk.query.clone(),
                size,
            });
        }
        // A page read from a window, in its second half: the next window goes ahead of the walk.
        if proven
            && walk.covered > 0
            && start < walk.covered
            && start + walk.window / 2 >= walk.covered
        {
            let (from, items) = (walk.covered, walk.window);
            walk.in_flight = true;
            walk.covered = from + items;
            return Some(Due {
                start: from,
                items,
                ends_at: None,
                frame: Some(frame),
                proves: false,
                path: walk.path.clone(),
                query: walk.query.clone(),
                size,
            });
        }
        None
    }

    fn finish(
        &self,
        (up, user, path, shape, size): (&str, UserHash, &str, &str, usize),
        ended: bool,
        frame: Option<Frame>,
    ) {
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(walk) = walks.iter_mut().find(|w| w.is(up, user, path, shape, size)) {
            walk.in_flight = false;
            walk.ended |= ended;
            if walk.frame.is_none() {
                walk.frame = frame;
            }
            walk.changed.send_replace(());
        }
    }

    /// Registers the window's pages' keys (before the triggering answer goes out) and spawns
    /// it.
    fn start(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        headers: &HeaderMap,
        paged: &'static PagedListing,
        due: Due,
    ) {
        let shape = (paged.with_page)(&due.query, 0, 0).unwrap_or_default();
        let done = |ended| {
            reads.batcher().windows.finish(
                (&up.name, user.hash, &due.path, &shape, due.size),
                ended,
                None,
            );
        };
        let Some((_, owned_headers)) = crate::fetch::owned_request(&Uri::from_static("/"), headers)
        else {
            return done(false);
        };
        let mut targets = Vec::new();
        for page in (due.start..due.start + due.items).step_by(due.size) {
            // The page proving the window is the client's own, already answered.
            if due.proves && due.frame.as_ref().is_some_and(|f| f.start == page) {
                continue;
            }
            let Some(query) = (paged.with_page)(&due.query, page, due.size) else {
                continue;
            };
            let path = due.path.to_string();
            let id = page.to_string().into_boxed_str();
            let asked = (path, Some(query.as_str()), id);
            if let Some(t) = target_of(reads, up, (user, scope_user), &owned_headers, asked) {
                targets.push(t);
            }
        }
        let Some(window_query) = (paged.with_page)(&due.query, due.start, due.items) else {
            return done(false);
        };
        let Ok(window_uri) = format!("{}?{window_query}", due.path).parse::<Uri>() else {
            return done(false);
        };
        let class = match targets.first() {
            Some(t) => t.class,
            None => return done(false),
        };
        let (tx, rx) = watch::channel(());
        reads.batcher().register(&targets, rx);
        let release = Release {
            reads: reads.clone(),
            keys: targets.iter().map(|t| t.key.clone()).collect(),
            _tx: tx,
        };
        let (reads, up, user) = (reads.clone(), up.clone(), user.clone());
        let window = Window {
            uri: window_uri,
            class,
            headers: owned_headers,
            targets,
        };
        tokio::spawn(async move {
            // A window sent as the user's first play-state reading is taken would have its
            // pages dropped with it (`super::first_reading_in`).
            super::first_reading_in(&reads, &user).await;
            let (ended, frame) = run(&reads, &up, &user, paged, &due, window).await;
            let ended = ended || due.ends_at.is_some_and(|t| due.start + due.items >= t);
            reads.batcher().windows.finish(
                (&up.name, user.hash, &due.path, &shape, due.size),
                ended,
                frame,
            );
            drop(release);
        });
    }
}

/// The walk of `user`'s reads of `page`'s listing (of that shape), remembered anew if none is.
fn walk_of<'a>(
    walks: &'a mut VecDeque<Walk>,
    upstream: &Arc<str>,
    user: UserHash,
    page: &PageAt<'_>,
    shape: String,
) -> &'a mut Walk {
    let at = walks
        .iter()
        .position(|w| w.is(upstream, user, page.path, &shape, page.size));
    let at = match at {
        Some(at) => at,
        None => {
            if walks.len() >= WALKS_MAX {
                walks.pop_front();
            }
            walks.push_back(Walk {
                upstream: upstream.clone(),
                user,
                path: page.path.into(),
                shape,
                query: page.query.to_string(),
                size: page.size,
                reads: VecDeque::new(),
                frame: None,
                covered: 0,
                window: 0,
                in_flight: false,
                ended: false,
                loading: 0,
                waiting: Vec::new(),
                changed: watch::channel(()).0,
            });
            walks.len() - 1
        }
    };
    &mut walks[at]
}

/// The frame of a server's page of `size` items starting at `start`, when its items can be
/// found and the listing goes on after it: the page is whole and, where the frame gives the
/// listing's count, ends before it.
fn frame_of(
    paged: &PagedListing,
    value: &CachedValue,
    query: &str,
    (start, size): (usize, usize),
) -> Option<Frame> {
    let items = Children::of(&value.body, paged.json_items)?;
    let (first, last) = (items.items.first()?, items.items.last()?);
    let frame = Frame {
        head: value.body.slice(..first.start),
        tail: value.body.slice(last.end..),
        start,
        items: items.items.len(),
        headers: value.headers.clone(),
        body: value.body.clone(),
    };
    let around = PageFrame {
        head: &frame.head,
        tail: &frame.tail,
    };
    let ends = (paged.total)(around, query).is_some_and(|total| start + size >= total);
    (items.items.len() == size && !ends).then_some(frame)
}

/// A window's items: as many whole pages as fit [`BYTES_MAX`] at the frame's page's size
/// per item, at least two pages, at most [`ITEMS_MAX`].
fn window_items(frame: &Frame, size: usize) -> usize {
    let per_item = (frame.body.len() / size).max(1);
    let items = (BYTES_MAX / per_item).clamp(2 * size, ITEMS_MAX.max(2 * size));
    items / size * size
}

/// Whether a window's pages may be stored: `proven` is `Some` when this window was the
/// upstream's proof (its first page compared with the page the server answered alone), which
/// is recorded; otherwise the upstream must have been proven before.
fn trusted(batcher: &super::Batcher, up: &Upstream, proven: Option<bool>) -> bool {
    let windows = &batcher.windows;
    match proven {
        Some(proven) => {
            let proof = if proven {
                Proof::Proven
            } else {
                Proof::Refused
            };
            windows.set_proof(&up.name, proof);
            if !proven {
                batcher.stats.refused.fetch_add(1, Ordering::Relaxed);
            }
            proven
        }
        None => windows.proof(&up.name) == Some(Proof::Proven),
    }
}

/// A window's answer cut into the pages a walk reads: each the window's items of that page
/// between the frame's head and tail (the frame moved to the page's place when it is another).
struct Cut<'a> {
    body: &'a Bytes,
    ranges: &'a [std::ops::Range<usize>],
    frame: &'a Frame,
    due: &'a Due,
    paged: &'a PagedListing,
}

impl Cut<'_> {
    /// The page that starts at item `from`, if the window holds it.
    fn page(&self, from: usize) -> Option<Bytes> {
        let Cut {
            body,
            ranges,
            frame,
            due,
            paged,
        } = self;
        let at = from.checked_sub(due.start)?;
        let end = (at + due.size).min(ranges.len());
        let (first, last) = (ranges.get(at)?, ranges[end - 1].clone());
        let items = end - at;
        let (head, tail) = if from == frame.start && items == frame.items {
            (frame.head.to_vec(), frame.tail.to_vec())
        } else {
            let around = PageFrame {
                head: &frame.head,
                tail: &frame.tail,
            };
            (paged.reframe)(
                around,
                &due.query,
                (frame.start, frame.items),
                (from, items),
            )?
        };
        let mut b = BytesMut::with_capacity(head.len() + last.end - first.start + tail.len());
        b.extend_from_slice(&head);
        b.extend_from_slice(&body[first.start..last.end]);
        b.extend_from_slice(&tail);
        Some(b.freeze())
    }
}

/// Stores the pages of the window `cut` that the waiting targets ask for, tagged and sampled
/// as a load of each would be; `asked`: the user the window was read as, and its headers.
async fn store_pages(
    reads: &BatchReads,
    up: &Upstream,
    reader: (&Arc<UserRecord>, &HeaderMap),
    cut: &Cut<'_>,
    wanted: Vec<Target>,
    stamp: &cachearr_engine::FetchStamp,
) {
    for t in wanted {
        let Some(from) = t.id.parse::<usize>().ok() else {
            continue;
        };
        let Some(body) = cut.page(from) else {
            continue;
        };
        let part = CachedValue {
            status: 200,
            headers: cut.frame.headers.clone(),
            body,
        };
        if store_part(reads, up, reader, t, part, (None, Vec::new()), stamp).await {
            reads
                .batcher()
                .windows
                .pages_stored
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Asks for the window, proves it, stores its pages; gives whether the listing ended in it,
/// and the window's own frame when no page's framed it.
async fn run(
    reads: &BatchReads,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    paged: &PagedListing,
    due: &Due,
    Window {
        uri,
        class,
        headers,
        targets,
    }: Window,
) -> (bool, Option<Frame>) {
    let windows = &reads.batcher().windows;
    let cache = reads.cache();
    tracing::debug!(
        upstream = %up.name,
        path = %due.path,
        start = due.start,
        items = due.items,
        proves = due.proves,
        "window of a listing"
    );
    // Pages kept already are neither waited for nor stored again.
    let wanted = not_cached(reads.cache(), reads.batcher(), targets).await;
    if wanted.is_empty() {
        return (false, None);
    }
    let stamp = cache.fetch_started();
    windows.sent.fetch_add(1, Ordering::Relaxed);
    let answer = crate::fetch::fetch_uncached(
        reads.read_through(),
        None,
        up,
        user,
        class,
        uri,
        headers.clone(),
    )
    .await;
    let value = match answer {
        Ok(Fill::Store(v) | Fill::Pass(v)) if v.status == 200 => v,
        _ => return (false, None),
    };
    let Some(items) = Children::of(&value.body, paged.json_items) else {
        return (false, None);
    };
    let ranges = &items.items;
    // A window no page frames is framed by its own frame, moved to each page's place.
    let own = match (&due.frame, ranges.first(), ranges.last()) {
        (Some(_), _, _) => None,
        (None, Some(first), Some(last)) => Some(Frame {
            head: value.body.slice(..first.start),
            tail: value.body.slice(last.end..),
            start: due.start,
            items: ranges.len(),
            headers: value.headers.clone(),
            body: Bytes::new(),
        }),
        (None, _, _) => return (true, None),
    };
    let Some(frame) = due.frame.as_ref().or(own.as_ref()) else {
        return (false, None);
    };
    let cut = Cut {
        body: &value.body,
        ranges,
        frame,
        due,
        paged,
    };
    let page = |from: usize| cut.page(from);
    let proven = due.proves.then(|| {
        page(frame.start).is_some_and(|p| p == frame.body)
            && same_headers(&value.headers, &frame.headers)
    });
    if !trusted(reads.batcher(), up, proven) {
        return (false, None);
    }
    let short = ranges.len() < due.items;
    let asked = (user, &headers);
    store_pages(reads, up, asked, &cut, wanted, &stamp).await;
    let frame = own.filter(|_| !short);
    (short, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Jellyfin page of `size` items from `start`, as the server writes it.
    fn page_body(start: usize, size: usize) -> CachedValue {
        let items: Vec<String> = (start..start + size)
            .map(|n| format!("{{\"Name\":\"Song {n}\",\"Id\":\"{n:032x}\"}}"))
            .collect();
        CachedValue {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(format!(
                "{{\"Items\":[{}],\"TotalRecordCount\":0,\"StartIndex\":{start}}}",
                items.join(",")
            )),
        }
    }

    /// The pages of one bundle arrive out of order: the second page goes to the server while
    /// the first and third wait for it. Its answer starts the window at the first, and is
    /// itself the page that proves it.
    #[test]
    fn a_window_starts_at_the_first_page_of_its_bundle_waiting() {
        let paged = cachearr_dialect::of(cachearr_dialect::Profile::Jellyfin)
            .paged_listing()
            .unwrap();
        let windows = Windows::default();
        let upstream: Arc<str> = Arc::from("jellyfin");
        let user = UserHash(7);
        let query =
            |start: usize| format!("ParentId=p&SortBy=AlbumArtist&StartIndex={start}&Limit=15");
        let q15 = query(15);
        fn at(query: &str, start: usize) -> PageAt<'_> {
            PageAt {
                path: "/Users/u/Items",
                query,
                start,
                size: 15,
            }
        }
        {
            let mut walks = windows.walks.lock().unwrap();
            let shape = (paged.with_page)(&q15, 0, 0).unwrap();
            let walk = walk_of(&mut walks, &upstream, user, &at(&q15, 15), shape);
            walk.loading = 1;
            walk.waiting.extend([0, 30]);
        }
        let value = page_body(15, 15);
        let uri: Uri = format!("/Users/u/Items?{q15}").parse().unwrap();
        let read = PageRead {
            uri: &uri,
            headers: &HeaderMap::new(),
            value: &value,
            from_server: true,
            copy: false,
            walks: None,
        };
        let due = windows
            .note(&upstream, user, paged, &at(&q15, 15), &read)
            .expect("a window is due");
        assert_eq!(due.start, 0, "the first page waiting");
        assert!(due.proves);
        assert_eq!(
            due.frame.as_ref().map(|f| f.start),
            Some(15),
            "proven by the page the server answered"
        );
        assert_eq!(due.items % 15, 0);
        // Pages waiting off the walk's grid do not move the start.
        let windows = Windows::default();
        {
            let mut walks = windows.walks.lock().unwrap();
            let shape = (paged.with_page)(&q15, 0, 0).unwrap();
            let walk = walk_of(&mut walks, &upstream, user, &at(&q15, 15), shape);
            walk.waiting.extend([7, 30]);
        }
        let due = windows
            .note(&upstream, user, paged, &at(&q15, 15), &read)
            .expect("a window is due: a page near waits");
        assert_eq!(due.start, 15);
    }
}
