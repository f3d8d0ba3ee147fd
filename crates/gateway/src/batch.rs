//! Batched metadata for tools that walk a section: a cheaper cold first pass.
//!
//! Overseerr's library scan, Kometa, Jellyseerr and the like read a section page by page and
//! then ask for the metadata of every item of the page, one request each. Both servers answer
//! many items in one request (Plex `/library/metadata/{id1},{id2},…`, what python-plexapi's
//! `fetchItems` uses; Jellyfin and Emby `/Users/{uid}/Items?Ids=…` with every field a single
//! answer has, or `/Items?ids=…` as the single reads `/Items?ids={id}` ask), so once a user
//! has read a listing page and then asked for two of its items singly, one after the other in
//! the page's order (or, for clients that read a page in concurrent bundles, near each
//! other), the page's other items are fetched in such requests, on the upstream's background
//! budget, with the same user's request (token, query, `Accept`) as their single requests.
//! The answer is cut into one answer per item, each stored under exactly the key, policy and
//! tags its single request would have had, so the walk's next requests are hits. A page read
//! without opening its items costs nothing extra. Which reads are pages and singles, where a
//! single read writes its id, where an answer's items are and what the batch request is, is
//! each server's ([`cachearr_dialect::WalkBatch`]).
//!
//! Children listings are not batched: Plex's `…/children` takes one id.
//!
//! **Exactly the server's single answer.** A part is built from the frame of a single answer the
//! server itself gave (the bytes around its one item: the declaration, the container and its
//! attributes, `size="1"` and the section included) around the batched item's bytes. Every
//! batch also asks for the item the client has just read singly and compares the part built for
//! it with that answer byte for byte (and the stored headers): on a mismatch nothing of the batch
//! is stored and batching is off for that upstream and format (XML / JSON), said once in the log.
//!
//! **Single flight.** The keys of a batch are registered before the answer that triggered it
//! goes out: a client request for one of them waits for the batch (at most [`JOIN_WAIT`]) and
//! then reads the cache, instead of fetching again.
//!
//! **Never stale.** A part is stored with [`cachearr_engine::TieredCache::insert_fetched`],
//! stamped as of the moment the batch request started: a change announced while it ran leaves
//! that part unstored, and the change feed refreshes stored parts like any other entry.
//!
//! `children` finds the items of an answer (byte ranges, `ratingKey`) without parsing it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cachearr_engine::{CachedValue, Fill, Key, Outcome, Policy, TieredCache};
use http::{HeaderMap, Method, Uri};
use tokio::sync::watch;

mod children;
pub(crate) use children::Children;
use children::{item_id, named_ids};
pub(crate) mod ahead;
mod past_end;
mod read;
pub(crate) mod windows;

pub(crate) use read::{BatchedRead, Looked};

use crate::read_through::ReadThrough;
use cachearr_config::policy::{Class, Decision, Scope};
use cachearr_dialect::answers::ItemsShown;
use cachearr_dialect::{SingleRead, SingleShape, WalkRead};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::keys::{KeyInput, UserHash};
use cachearr_upstream::secret::Secret;
use cachearr_upstream::users::UserRecord;

/// Walks of listing pages remembered per process (the pages being walked now; older ones are
/// done): 64 pages, each with its items' walk and a walk of each kind of parent they name.
const PAGES_MAX: usize = 192;
/// Batched requests one page's walk starts at most (its items after those go singly).
const BATCHES_PER_PAGE: usize = 10;
/// Walks of one page remembered at once (ways its items are read singly: a query and an
/// `Accept` each); the oldest is forgotten past it.
const WALKS_PER_PAGE: usize = 4;
/// A batched answer's expected size at most (its items' count is cut to fit, estimated from
/// the single answer's size).
const BYTES_MAX: usize = 2 * 1024 * 1024;
/// Items of a page a client must read singly before the rest of the page is batched.
const SINGLES_BEFORE_BATCH: usize = 2;
/// How long a client request waits for a batch holding its key before fetching alone.
pub const JOIN_WAIT: Duration = Duration::from_secs(10);
/// How long an item read singly waits, at most, while reads of its page's items are on their
/// way to the server ([`Batcher::hold_single`]).
const SINGLE_HOLD_WAIT: Duration = Duration::from_secs(2);

/// Counters, for tests, `/api/stats` and the benchmark.
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Batched requests sent.
    pub batches: AtomicU64,
    /// Parts stored as single answers.
    pub parts_stored: AtomicU64,
    /// Client requests that waited for a batch instead of fetching.
    pub joined: AtomicU64,
    /// Batches (or windows) whose proof failed (nothing stored, batching turned off for the
    /// format).
    pub refused: AtomicU64,
}

/// [`BatchStats`] as `/api/stats` shows them (`batches`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchReport {
    /// Batched requests sent.
    pub batches: u64,
    /// Parts stored as single answers.
    pub parts_stored: u64,
    /// Client requests that waited for a batch instead of fetching.
    pub joined: u64,
    /// Batches (or windows) whose proof failed.
    pub refused: u64,
    /// Windows of listing pages sent (`batch::windows`).
    #[serde(default)]
    pub windows: u64,
    /// Listing pages stored from windows.
    #[serde(default)]
    pub window_pages: u64,
    /// Listing pages the library copy wrote ahead of a walk (`batch::ahead`).
    #[serde(default)]
    pub pages_written_ahead: u64,
}

impl BatchStats {
    /// The counters now.
    pub fn report(&self) -> BatchReport {
        BatchReport {
            batches: self.batches.load(Ordering::Relaxed),
            parts_stored: self.parts_stored.load(Ordering::Relaxed),
            joined: self.joined.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            windows: 0,
            window_pages: 0,
            pages_written_ahead: 0,
        }
    }
}

/// Whether batching has been shown to give the server's own single answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Proven,
    Refused,
}

/// One single answer a client got: the frame the parts are built in, or the answer a part is
/// compared with.
#[derive(Clone)]
struct Single {
    id: Box<str>,
    /// The single request's way of reading an item (the page's other items are read alike).
    way: Way,
    /// How the server answers it, and how it is asked for many items.
    shape: &'static SingleShape,
    accept: Option<http::HeaderValue>,
    value: CachedValue,
    /// The answer came from the server for this request (not from the cache, where it may
    /// be a part of an earlier batch): only such an answer can prove batching.
    from_server: bool,
}

struct Page {
    /// Its place in [`Pages::list`]'s order (the front's is [`Pages::front_seq`]).
    seq: u64,
    upstream: Arc<str>,
    user: UserHash,
    /// The client that read the listing: its single reads are the ones looked for here.
    client: ClientId,
    listing: Key,
    ids: Vec<Box<str>>,
    /// Its ids are those the listing's items name (a kind of parent), not the items'.
    names_parents: bool,
    /// The page's walks so far, one per way its items are read singly, oldest first (at most
    /// [`WALKS_PER_PAGE`]).
    walks: Vec<Walk>,
}

impl Page {
    /// The walk of this page made by single reads written `way` with `accept`, if one began.
    fn walk_of(&self, way: &Way, accept: Option<&http::HeaderValue>) -> Option<&Walk> {
        self.walks.iter().find(|w| w.is(way, accept))
    }
}

/// The walk of a page (its `walks`) made by single reads written `way` with `accept`, begun
/// now if it was not (the oldest walk is forgotten past [`WALKS_PER_PAGE`]).
fn walk_in<'w>(
    walks: &'w mut Vec<Walk>,
    way: &Way,
    accept: Option<&http::HeaderValue>,
) -> &'w mut Walk {
    let at = match walks.iter().position(|w| w.is(way, accept)) {
        Some(at) => at,
        None => {
            if walks.len() >= WALKS_PER_PAGE {
                walks.remove(0);
            }
            walks.push(Walk {
                way: way.clone(),
                accept: accept.cloned(),
                singles: Vec::new(),
                last_read: None,
                batched: false,
            });
            walks.len() - 1
        }
    };
    &mut walks[at]
}

/// A hash of a single request's way and `Accept`: which walk of a page it belongs to.
fn shape_of(way: &Way, accept: Option<&http::HeaderValue>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    way.hash(&mut hasher);
    accept.map(http::HeaderValue::as_bytes).hash(&mut hasher);
    hasher.finish()
}

/// How a single request reads its item: its target (`path?query`) before the item's id and
/// after it. The page's other items are read alike, each its id between the two.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Way {
    before: Box<str>,
    after: Box<str>,
}

impl Way {
    /// The way `read` reads its item (`uri` its request).
    fn of(read: &SingleRead<'_>, uri: &Uri) -> Option<Way> {
        let (before, after) = read.around(uri.path(), uri.query())?;
        Some(Way {
            before: before.into(),
            after: after.into(),
        })
    }

    /// The same read of item `id`: its path and query.
    fn of_item(&self, id: &str) -> (String, Option<String>) {
        let target = format!("{}{id}{}", self.before, self.after);
        match target.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (target, None),
        }
    }
}

/// One way a page's items are read singly: the single requests' [`Way`] and `Accept`. A
/// batch is sent as those requests were and fills their keys, so each way is a walk of its
/// own: Kometa's reloads (XML, its reload arguments) and Overseerr's reads (JSON) of one page
/// are two walks, each batched once.
struct Walk {
    way: Way,
    accept: Option<http::HeaderValue>,
    singles: Vec<Single>,
    /// Where in the page's `ids` the last item read singly is.
    last_read: Option<usize>,
    batched: bool,
}

impl Walk {
    fn is(&self, way: &Way, accept: Option<&http::HeaderValue>) -> bool {
        self.way == *way && self.accept.as_ref() == accept
    }
}

/// Who reads: the name a client gives itself in its requests (its product and device, as the
/// server's dialect reads them; never its token), hashed. Several tools of one user walk at
/// the same time (Kometa, Overseerr and PlexKodiConnect as the owner, each listing the same
/// section in its own order and page size): each tool's single reads are looked for in the
/// pages that tool listed, so that one tool's page never hides another's walk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct ClientId(u64);

impl ClientId {
    fn of(profile: cachearr_dialect::Profile, headers: &HeaderMap) -> ClientId {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        cachearr_dialect::client_name(profile, headers).hash(&mut hasher);
        ClientId(hasher.finish())
    }
}

/// A page's batch, due: the single answer whose frame the parts are built in, the single
/// answer the batch is proven against, the page's other items.
struct Due {
    frame: Single,
    proof: Single,
    rest: Vec<Box<str>>,
}

/// A batch's item: its id and the key and policy of its single request.
#[derive(Clone)]
struct Target {
    id: Box<str>,
    key: Key,
    policy: Policy,
    class: Class,
    uri: Uri,
}

/// The listing pages being walked, oldest first, and where each item is: a metadata read is
/// on every client's hit path, so finding its page is one hash lookup, not a scan of every
/// remembered page's items.
#[derive(Default)]
struct Pages {
    list: VecDeque<Page>,
    /// The latest remembered page holding an item, by (user, client, id as a number:
    /// [`item_number`]).
    by_item: HashMap<(UserHash, ClientId, u128), u64>,
    /// `seq` of the page at the front of `list`.
    front_seq: u64,
}

impl Pages {
    fn push(&mut self, mut page: Page) {
        if self.list.len() >= PAGES_MAX
            && let Some(old) = self.list.pop_front()
        {
            self.front_seq = old.seq + 1;
            for id in &old.ids {
                if let Some(n) = item_number(id) {
                    let at = (old.user, old.client, n);
                    if self.by_item.get(&at) == Some(&old.seq) {
                        self.by_item.remove(&at);
                    }
                }
            }
        }
        page.seq = self.front_seq + self.list.len() as u64;
        for id in &page.ids {
            if let Some(n) = item_number(id) {
                self.by_item.insert((page.user, page.client, n), page.seq);
            }
        }
        self.list.push_back(page);
    }

    /// The latest page `client` of `user` listed on `upstream` holding item `id`.
    fn holding(
        &mut self,
        upstream: &str,
        (user, client): (UserHash, ClientId),
        id: &str,
    ) -> Option<&mut Page> {
        let seq = *self.by_item.get(&(user, client, item_number(id)?))?;
        let at = usize::try_from(seq.checked_sub(self.front_seq)?).ok()?;
        let page = self.list.get_mut(at)?;
        (*page.upstream == *upstream).then_some(page)
    }

    /// The items (as [`item_number`]s) of the listing pages `client` of `user` read on
    /// `upstream`, as remembered: what that client has been given as items of a listing.
    fn listed(&self, upstream: &str, (user, client): (UserHash, ClientId)) -> HashSet<u128> {
        (self.list.iter())
            .filter(|p| {
                !p.names_parents && p.user == user && p.client == client && *p.upstream == *upstream
            })
            .flat_map(|p| p.ids.iter().filter_map(|id| item_number(id)))
            .collect()
    }
}

/// What the batches read with: the cache and its parts ([`ReadThrough`]) and the batcher's
/// own state. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct BatchReads {
    reads: ReadThrough,
    batcher: Arc<Batcher>,
}

impl BatchReads {
    /// The batches of a gateway reading through `reads`.
    pub(crate) fn new(reads: ReadThrough) -> Self {
        BatchReads {
            reads,
            batcher: Arc::new(Batcher::default()),
        }
    }

    /// What the batches read through.
    pub fn read_through(&self) -> &ReadThrough {
        &self.reads
    }

    /// The batched metadata fetches of section walks.
    pub fn batcher(&self) -> &Batcher {
        &self.batcher
    }

    fn cache(&self) -> &cachearr_engine::TieredCache {
        self.reads.cache()
    }

    fn clock(&self) -> &Arc<dyn cachearr_engine::Clock> {
        self.reads.clock()
    }

    fn secret(&self) -> &cachearr_upstream::secret::Secret {
        self.reads.secret()
    }

    fn feed(&self, upstream: &str) -> Option<&Arc<cachearr_upstream::feed::Feed>> {
        self.reads.feed(upstream)
    }
}

/// Batched metadata fetches of one gateway.
#[derive(Default)]
pub struct Batcher {
    pages: Mutex<Pages>,
    /// Pages remembered: with none (no walk seen), a metadata read takes no lock.
    page_count: AtomicUsize,
    /// Keys a batch in flight will fill; dropping the sender releases the waiters.
    pending: Mutex<HashMap<Key, watch::Receiver<()>>>,
    pending_count: AtomicUsize,
    proofs: Mutex<HashMap<(Arc<str>, bool), Proof>>,
    /// Items of a remembered page read singly and on their way to the server, by page
    /// ([`Batcher::hold_single`]).
    singles_loading: Mutex<HashMap<PagePlace, SinglesLoading>>,
    /// Listing pages read ahead in windows (their keys wait in `pending` too).
    pub(crate) windows: windows::Windows,
    /// Listing pages the library copy writes ahead of a walk (their keys wait in `pending`
    /// too).
    pub(crate) ahead: ahead::Ahead,
    /// Counters.
    pub stats: BatchStats,
}

/// A walk of a remembered page: its upstream, its user, the page's place in [`Pages::list`]'s
/// order and the walk's single requests' query and `Accept` (hashed).
type PagePlace = (Arc<str>, UserHash, u64, u64);

/// What an item read singly does next ([`Batcher::hold_single`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// On to the cache (and a batch that fills its key, or the server).
    Pass,
    /// To the server, counted as on its way.
    Go,
    /// Waits for a read of its page on its way.
    Wait,
}

/// What an item read singly does, given whether a batch in flight fills its key (`pending`),
/// how many single reads its walk has learnt (`None`: the walk is batched) and how many of
/// its page's single reads are on their way (`loading`). A walk is marked batched a moment
/// before the batch's keys are registered, by the read whose answer started it, which lets
/// its hold go only once they are: a read that finds its walk batched while a read of its
/// page is still on its way waits for it, rather than going to the server beside the batch.
fn hold_verdict(pending: bool, learnt: Option<usize>, loading: usize) -> Hold {
    match learnt {
        _ if pending => Hold::Pass,
        None if loading > 0 => Hold::Wait,
        None => Hold::Pass,
        Some(learnt) if loading == 0 || loading + learnt < SINGLES_BEFORE_BATCH => Hold::Go,
        Some(_) => Hold::Wait,
    }
}

/// Single reads of a page's items that start the batch of the rest: [`SINGLES_BEFORE_BATCH`],
/// or one for a walk of the parents a page names (`names_parents`) where the dialect says its
/// clients look up every one they have not synced and one single answer's frame is every
/// one's ([`cachearr_dialect::WalkBatch::single_frame_fixed`]): Emby for Kodi's lookups of the
/// artists its songs name. The batch asks the item read again and is proven on its answer.
fn singles_before_batch(walk: &cachearr_dialect::WalkBatch, names_parents: bool) -> usize {
    if names_parents && walk.parents_listed_skipped && walk.single_frame_fixed {
        1
    } else {
        SINGLES_BEFORE_BATCH
    }
}

/// A page's single reads on their way to the server, and a signal to the reads waiting for them.
struct SinglesLoading {
    loading: usize,
    changed: watch::Sender<()>,
}

/// A single read on its way to the server ([`Batcher::hold_single`]): dropped once what its
/// answer teaches (the batch it may start) is learnt.
pub(crate) struct SingleLoading<'a> {
    batcher: &'a Batcher,
    place: PagePlace,
}

impl Drop for SingleLoading<'_> {
    fn drop(&mut self) {
        let mut loading = self
            .batcher
            .singles_loading
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(page) = loading.get_mut(&self.place) {
            page.loading = page.loading.saturating_sub(1);
            page.changed.send_replace(());
            if page.loading == 0 {
                loading.remove(&self.place);
            }
        }
    }
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// An item id as a number, for [`Pages::by_item`]: a decimal key, or a hexadecimal GUID
/// (written with or without dashes).
fn item_number(id: &str) -> Option<u128> {
    if id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        return id.parse().ok();
    }
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32)
        .then(|| u128::from_str_radix(&hex, 16).ok())
        .flatten()
}

fn is_json(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

impl Batcher {
    /// When a batch in flight will fill `key`: waits for it (bounded), so that the caller's
    /// lookup finds the part instead of fetching it again.
    pub(crate) async fn join(&self, key: &Key) {
        if self.pending_count.load(Ordering::Acquire) == 0 {
            return;
        }
        let rx = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        if let Some(mut rx) = rx {
            self.stats.joined.fetch_add(1, Ordering::Relaxed);
            // Ends when the batch's sender is dropped (done, failed or refused).
            let _ = tokio::time::timeout(JOIN_WAIT, rx.changed()).await;
        }
    }

    /// Before an item read singly goes to the server: when its page is remembered (listed by
    /// the same client) and this way of reading its items is not batched yet, and the page's
    /// items read so that are on their way there already, with those the walk has learnt,
    /// make the [`SINGLES_BEFORE_BATCH`] that start its batch (a client reading a page's items
    /// all at once, as Overseerr and Jellyseerr do), waits for them (at most
    /// [`SINGLE_HOLD_WAIT`]): their answers may start the batch holding this item, which
    /// [`Self::join`] then waits for. Otherwise marks this read as on its way until the
    /// returned guard is dropped. A hit, or an item of no remembered page, passes; so does one
    /// of a walk batched already, once the read that started the batch has let its hold go
    /// (its keys are registered by then: [`hold_verdict`]).
    pub(crate) async fn hold_single(&self, read: &BatchedRead<'_>) -> Option<SingleLoading<'_>> {
        let (reads, up, uri, key) = (read.reads, read.up, read.uri, read.key);
        if self.page_count.load(Ordering::Acquire) == 0 || !up.config.prefetch.batch_metadata {
            return None;
        }
        let walk = cachearr_dialect::of(up.profile).walk_batch();
        let Some(WalkRead::Single(single)) = (walk.read)(uri.path(), uri.query()) else {
            return None;
        };
        let accept = read.headers.get(http::header::ACCEPT);
        let who = (read.user.hash, ClientId::of(up.profile, read.headers));
        let way = Way::of(&single, uri)?;
        let (seq, learnt) = self.walk_learnt(&up.name, who, single.id, (&way, accept))?;
        // (A batched walk's reads are mostly hits of its batch: looked up once, by the read.)
        if learnt.is_some() && reads.cache().get(key).await.is_some() {
            return None;
        }
        let place: PagePlace = (up.name.clone(), who.0, seq, shape_of(&way, accept));
        let deadline = tokio::time::Instant::now() + SINGLE_HOLD_WAIT;
        loop {
            // The singles the walk has learnt since this read began waiting count too: one
            // learnt and one on its way start the batch, a third read would be wasted.
            let (_, learnt) = self.walk_learnt(&up.name, who, single.id, (&way, accept))?;
            let mut changed = {
                // A batch will fill it: the lookup joins it.
                let pending = self.is_pending(key);
                let mut loading = self
                    .singles_loading
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let on_their_way = loading.get(&place).map_or(0, |page| page.loading);
                let verdict = hold_verdict(pending, learnt, on_their_way);
                if verdict == Hold::Pass {
                    return None;
                }
                let page = loading
                    .entry(place.clone())
                    .or_insert_with(|| SinglesLoading {
                        loading: 0,
                        changed: watch::channel(()).0,
                    });
                if verdict == Hold::Go {
                    page.loading += 1;
                    return Some(SingleLoading {
                        batcher: self,
                        place,
                    });
                }
                page.changed.subscribe()
            };
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// The place in [`Pages::list`]'s order of the page `who` listed holding item `id`, and
    /// how many single reads its walk made `way` has learnt towards its batch (`None`: the
    /// walk is batched already); `None` when no such page is remembered.
    fn walk_learnt(
        &self,
        upstream: &str,
        who: (UserHash, ClientId),
        id: &str,
        (way, accept): (&Way, Option<&http::HeaderValue>),
    ) -> Option<(u64, Option<usize>)> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let page = pages.holding(upstream, who, id)?;
        let walk = page.walk_of(way, accept);
        if walk.is_some_and(|w| w.batched) {
            return Some((page.seq, None));
        }
        Some((page.seq, Some(walk.map_or(0, |w| w.singles.len()))))
    }

    fn proof(&self, upstream: &Arc<str>, json: bool) -> Option<Proof> {
        self.proofs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(upstream.clone(), json))
            .copied()
    }

    fn set_proof(&self, upstream: &Arc<str>, json: bool, proof: Proof) {
        let previous = self
            .proofs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((upstream.clone(), json), proof);
        if previous != Some(proof) {
            let format = if json { "JSON" } else { "XML" };
            match proof {
                Proof::Proven => tracing::info!(
                    upstream = %upstream,
                    format,
                    "batched metadata gives the server's single answers byte for byte: walks are batched"
                ),
                Proof::Refused => tracing::warn!(
                    upstream = %upstream,
                    format,
                    "batched metadata differs from the server's single answer: walks stay with single requests"
                ),
            }
        }
    }

    /// Whether no batch is in flight (every batch started has stored its parts or given up).
    pub fn idle(&self) -> bool {
        self.pending_count.load(Ordering::Acquire) == 0
    }

    /// Whether batching is refused for this upstream and format (a proof failed).
    pub fn refused(&self, upstream: &str, json: bool) -> bool {
        self.proof(&Arc::from(upstream), json) == Some(Proof::Refused)
    }

    /// The singles' layer of a read's way through the batches ([`Batcher::around`]): an item
    /// of a page read singly waits while its page's items are read all at once, and any read
    /// waits for a batch on its way that fills its key; then `inner` looks it up, and the
    /// answer is watched for a walk ([`Self::observe`]) before the hold is let go.
    async fn around_singles(
        &self,
        read: &BatchedRead<'_>,
        inner: impl Future<Output = Looked>,
    ) -> Looked {
        let single = self.hold_single(read).await;
        self.join(read.key).await;
        let looked = inner.await;
        self.learn_singles(read, &looked);
        drop(single);
        looked
    }

    /// What [`Self::around_singles`] learns from a read's answer: a listing page, or an item
    /// of one read singly.
    fn learn_singles(&self, read: &BatchedRead<'_>, looked: &Looked) {
        if let Some(lookup) = looked.teaches() {
            let fresh = matches!(lookup.outcome, Outcome::Miss | Outcome::Coalesced);
            self.observe(read, &lookup.entry.value, fresh);
        }
    }

    /// Watches a cached answer a client got (status 200) for a walk: remembers a section's
    /// listing page, and on the second item of a page read singly starts the batch of the rest.
    fn observe(&self, read: &BatchedRead<'_>, value: &CachedValue, from_server: bool) {
        let BatchedRead {
            reads,
            up,
            user,
            scope_user,
            key,
            uri,
            headers,
            ..
        } = *read;
        if !up.config.prefetch.batch_metadata || value.status != 200 {
            return;
        }
        let walk = cachearr_dialect::of(up.profile).walk_batch();
        // Who reads is asked only of pages and singles: every other read passes here too.
        let who = || (user.hash, ClientId::of(up.profile, headers));
        match (walk.read)(uri.path(), uri.query()) {
            Some(WalkRead::Page) => self.remember_page(up, who(), key, &value.body),
            Some(WalkRead::Single(read)) => {
                if self.page_count.load(Ordering::Acquire) == 0 {
                    return;
                }
                let single = || {
                    Some(Single {
                        id: read.id.into(),
                        way: Way::of(&read, uri)?,
                        shape: read.shape,
                        accept: headers.get(http::header::ACCEPT).cloned(),
                        value: value.clone(),
                        from_server,
                    })
                };
                if let Some(due) = self.note_single(up, who(), read.id, single) {
                    self.start(reads, up, user, scope_user, headers, due);
                }
            }
            None => {}
        }
    }

    /// The items listed after `id` in the latest listing page `user` read on `upstream` with
    /// the client `headers` name that holds it (batched or not): its `count` next ids, and the
    /// page's place and `id`'s index in it, which tell a walk of the page's items apart and
    /// say how far it went.
    fn listed_after(
        &self,
        upstream: &Upstream,
        (user, headers): (UserHash, &HeaderMap),
        id: &str,
        count: usize,
    ) -> Option<(u64, usize, Vec<Box<str>>)> {
        if self.page_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let client = ClientId::of(upstream.profile, headers);
        let upstream = &*upstream.name;
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let seq = *pages.by_item.get(&(user, client, item_number(id)?))?;
        let at = usize::try_from(seq.checked_sub(pages.front_seq)?).ok()?;
        let page = pages.list.get(at).filter(|p| *p.upstream == *upstream)?;
        let index = page.ids.iter().position(|i| **i == *id)?;
        let next = page
            .ids
            .iter()
            .skip(index + 1)
            .take(count)
            .cloned()
            .collect();
        Some((seq, index, next))
    }

    fn remember_page(
        &self,
        up: &Upstream,
        (user, client): (UserHash, ClientId),
        listing: &Key,
        body: &Bytes,
    ) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.list.iter().any(|p| {
            p.user == user && p.client == client && p.listing == *listing && *p.upstream == *up.name
        }) {
            return;
        }
        let walk = cachearr_dialect::of(up.profile).walk_batch();
        let Some(children) = Children::of(body, walk.json_items) else {
            return;
        };
        // The page's items, then each kind of parent they name (distinct, in the page's
        // order): each a walk a client may make of this page.
        for (at, name) in std::iter::once(walk.id_name)
            .chain(walk.parent_names.iter().copied())
            .enumerate()
        {
            let mut seen = HashSet::new();
            let ids: Vec<Box<str>> = children
                .items
                .iter()
                .flat_map(|r| named_ids(&body[r.clone()], name))
                .filter(|id| seen.insert(id.clone()))
                .collect();
            if ids.len() <= SINGLES_BEFORE_BATCH {
                continue;
            }
            pages.push(Page {
                seq: 0,
                upstream: up.name.clone(),
                user,
                client,
                listing: listing.clone(),
                ids,
                names_parents: at > 0,
                walks: Vec::new(),
            });
        }
        self.page_count.store(pages.list.len(), Ordering::Release);
    }

    /// Records a single read of a page's item in the walk its query and `Accept` make of the
    /// page `who` (a user's client) listed; returns the walk's batch (the frame's single, the
    /// single to prove against, the other items) once it is due.
    fn note_single(
        &self,
        up: &Upstream,
        who: (UserHash, ClientId),
        id: &str,
        single: impl FnOnce() -> Option<Single>,
    ) -> Option<Due> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let page = pages.holding(&up.name, who, id)?;
        let names_parents = page.names_parents;
        let mut due = self.walk_step(up, page, single)?;
        // The parents the client was given as a listing's items it has synced already (where
        // the dialect says its clients do): a batch of them would be read for nobody.
        let walk_batch = cachearr_dialect::of(up.profile).walk_batch();
        if names_parents && walk_batch.parents_listed_skipped {
            let listed = pages.listed(&up.name, who);
            (due.rest).retain(|id| item_number(id).is_none_or(|n| !listed.contains(&n)));
        }
        Some(due)
    }

    /// [`Self::note_single`]'s step of the walk of `page`: the single read recorded, and the
    /// batch of the page's other items once it is due.
    fn walk_step(
        &self,
        up: &Upstream,
        Page {
            ids,
            walks,
            names_parents,
            ..
        }: &mut Page,
        single: impl FnOnce() -> Option<Single>,
    ) -> Option<Due> {
        let single = single()?;
        let walk_batch = cachearr_dialect::of(up.profile).walk_batch();
        // A read in a container that holds no item (one the user may not see) is no frame
        // and proves nothing: it is no step of a walk.
        if !single.shape.bare && single_frame(walk_batch, &single).is_none() {
            return None;
        }
        let json = is_json(&single.value.body);
        if self.proof(&up.name, json) == Some(Proof::Refused) {
            return None;
        }
        let pos = ids.iter().position(|id| *id == single.id)?;
        let walk = walk_in(walks, &single.way, single.accept.as_ref());
        if walk.batched || walk.singles.iter().any(|s| s.id == single.id) {
            return None;
        }
        // A walk reads a page's items in the page's order: items read out of order (a user
        // picking a few) never start a batch of items nobody may ask for.
        let window = walk_batch.window;
        let follows = walk.last_read.is_some_and(|last| {
            if window <= 1 {
                last + 1 == pos
            } else {
                last.abs_diff(pos) <= window
            }
        });
        walk.last_read = Some(pos);
        // The frame and the proof must come from the same kind of answer: the batch is sent
        // as these single requests were.
        if !follows
            || walk
                .singles
                .first()
                .is_some_and(|first| is_json(&first.value.body) != json)
        {
            walk.singles.clear();
        }
        let proves = single.from_server || self.proof(&up.name, json) == Some(Proof::Proven);
        walk.singles.push(single);
        if walk.singles.len() < singles_before_batch(walk_batch, *names_parents) || !proves {
            return None;
        }
        walk.batched = true;
        // What the walk reads next: the rest of the page. Read in bundles, in any order
        // inside one: everything from a window before the first item read, but those read
        // (the items before it are of its bundle, waiting for this batch, or read already,
        // which the batch does not ask again: `not_cached`).
        let rest: Vec<Box<str>> = if window > 1 {
            let first = walk
                .singles
                .iter()
                .filter_map(|s| ids.iter().position(|id| *id == s.id))
                .min()
                .unwrap_or(pos);
            ids[first.saturating_sub(window)..]
                .iter()
                .filter(|id| !walk.singles.iter().any(|s| s.id == **id))
                .cloned()
                .collect()
        } else {
            ids[pos + 1..].to_vec()
        };
        let frame = walk.singles[0].clone();
        let proof = walk.singles.last()?.clone();
        walk.singles.clear();
        Some(Due { frame, proof, rest })
    }

    /// Registers the batch's keys (before the triggering answer goes out) and spawns it.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        user: &Arc<UserRecord>,
        scope_user: Option<UserHash>,
        headers: &HeaderMap,
        Due { frame, proof, rest }: Due,
    ) {
        let Some((_, owned_headers)) = crate::fetch::owned_request(&Uri::from_static("/"), headers)
        else {
            return;
        };
        let items_max = cachearr_dialect::of(up.profile).walk_batch().items_max;
        let cap = (BYTES_MAX / frame.value.body.len().max(1)).clamp(1, items_max.max(1));
        let mut targets = Vec::new();
        for id in rest.into_iter().take(cap * BATCHES_PER_PAGE) {
            let (path, query) = proof.way.of_item(&id);
            let asked = (path, query.as_deref(), id);
            let Some(target) = target_of(reads, up, (user, scope_user), &owned_headers, asked)
            else {
                continue;
            };
            targets.push(target);
        }
        if targets.is_empty() {
            return;
        }
        let (tx, rx) = watch::channel(());
        self.register(&targets, rx);
        let keys: Vec<Key> = targets.iter().map(|t| t.key.clone()).collect();
        let release = Release {
            reads: reads.clone(),
            keys,
            _tx: tx,
        };
        let (reads, up, user) = (reads.clone(), up.clone(), user.clone());
        tokio::spawn(async move {
            first_reading_in(&reads, &user).await;
            // One batch after the other: a client reading the page waits for the batch
            // holding its item, not for all of them.
            let json = is_json(&proof.value.body);
            let mut targets = targets;
            while !targets.is_empty() {
                let later = targets.split_off(cap.min(targets.len()));
                let (f, p, h) = (frame.clone(), proof.clone(), owned_headers.clone());
                run(&reads, &up, &user, h, f, p, targets).await;
                if reads.batcher().proof(&up.name, json) != Some(Proof::Proven) {
                    break;
                }
                targets = later;
            }
            drop(release);
        });
    }

    /// Whether a fetch in flight will fill `key`.
    fn is_pending(&self, key: &Key) -> bool {
        self.pending_count.load(Ordering::Acquire) > 0
            && self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(key)
    }

    /// Makes client reads of the targets' keys wait for the fetch that will fill them.
    fn register(&self, targets: &[Target], filled: watch::Receiver<()>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for t in targets {
            pending.insert(t.key.clone(), filled.clone());
        }
        self.pending_count.store(pending.len(), Ordering::Release);
    }

    /// The counters now, the windows' included.
    pub fn report(&self) -> BatchReport {
        BatchReport {
            windows: self.windows.sent.load(Ordering::Relaxed) as u64,
            window_pages: self.windows.pages_stored.load(Ordering::Relaxed) as u64,
            pages_written_ahead: self.ahead.pages_written.load(Ordering::Relaxed),
            ..self.stats.report()
        }
    }

    fn release(&self, keys: &[Key]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            pending.remove(k);
        }
        self.pending_count.store(pending.len(), Ordering::Release);
    }
}

/// Takes a batch's keys out of the pending map and releases their waiters (also when the
/// batch's task ends early or panics).
struct Release {
    reads: BatchReads,
    keys: Vec<Key>,
    _tx: watch::Sender<()>,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.reads.batcher().release(&self.keys);
    }
}

/// The key and policy a client's request for `path` and `query` would have (same user, same
/// headers); `id` names the target in its fetch's answer.
fn target_of(
    reads: &BatchReads,
    up: &Upstream,
    (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
    headers: &HeaderMap,
    (path, query, id): (String, Option<&str>, Box<str>),
) -> Option<Target> {
    let (policy, tags, user_state) = match up.routes.classify(&Method::GET, &path, query) {
        Decision::Cache {
            policy,
            tags,
            user_state,
        }
        | Decision::AnswerFromIndex {
            policy,
            tags,
            user_state,
            ..
        } => (policy, tags, user_state),
        _ => return None,
    };
    let scope_user = match policy.scope {
        Scope::User => scope_user,
        Scope::Shared => None,
    };
    let input = KeyInput {
        upstream: &up.name,
        profile: up.profile,
        method: &Method::GET,
        path: &path,
        query,
        headers,
        user: scope_user,
    };
    let (key, engine_policy) = cachearr_upstream::entry::cached_entry(
        reads.feed(&up.name),
        user,
        &input,
        policy,
        tags,
        user_state,
        reads.clock().now_ms(),
    )
    .ok()?;
    let uri = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
    .parse()
    .ok()?;
    Some(Target {
        id,
        key,
        policy: engine_policy,
        class: policy.class,
        uri,
    })
}

/// How long a batch or a window waits, at most, for the first reading of its user's play state
/// ([`first_reading_in`]), in steps of [`FIRST_READING_STEP`].
const FIRST_READING_WAIT: Duration = Duration::from_secs(2);
const FIRST_READING_STEP: Duration = Duration::from_millis(20);

/// Waits (at most [`FIRST_READING_WAIT`]) while the play-state watch takes its first reading
/// of `user`, woken by their first answers: once in, it drops every answer of theirs whose
/// load started before it (the copy's `play_watch`, "the first reading of a user"), and a
/// batch started a moment earlier would have its parts dropped with them — its walk's items
/// then each go to the server. Nothing is waited for when the watch is off, the user was
/// not read, or their first reading is in (or kept from an earlier run).
async fn first_reading_in(reads: &BatchReads, user: &UserRecord) {
    let feed = &reads.read_through().config().feed;
    if !feed.enabled || feed.play_state_probe.is_zero() || user.play_read_ms() == 0 {
        return;
    }
    let baselined = || {
        user.play_lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .baselined
    };
    let steps = FIRST_READING_WAIT.as_millis() / FIRST_READING_STEP.as_millis();
    for _ in 0..steps {
        if baselined() {
            return;
        }
        tokio::time::sleep(FIRST_READING_STEP).await;
    }
}

/// Batches asked for the same targets at most: the first, and once again for the parts an
/// invalidation left unstored ([`run`]).
const BATCH_ATTEMPTS: usize = 2;

/// Asks the server for `targets` in batched requests and stores each part as its single
/// answer. A part is left unstored when an invalidation of its tags came while the batch
/// ran (it could show what was before it): most often the first reading of a user's play
/// state, which bumps their watch tag once, seconds into their first walk (the copy's
/// `play_watch`). Those parts are asked for once more, in one batch after it, rather than
/// each by the walk's single request.
async fn run(
    reads: &BatchReads,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    headers: HeaderMap,
    frame: Single,
    proof: Single,
    targets: Vec<Target>,
) {
    let mut targets = targets;
    for attempt in 0..BATCH_ATTEMPTS {
        let wanted = not_cached(reads.cache(), reads.batcher(), targets).await;
        if wanted.is_empty() {
            return;
        }
        let again = attempt > 0;
        let asked = (&headers, &frame, &proof);
        match run_once(reads, up, user, asked, wanted, again).await {
            Some(unstored) => targets = unstored,
            None => return,
        }
    }
}

/// One batched request for `wanted` and its parts stored; the targets whose parts were left
/// unstored, or `None` when the batch failed or was not proven. `again`: the batch repeats
/// one whose parts an invalidation left unstored; its proof may then differ from the
/// earlier single answer for the very reason the parts were left (the item's play state
/// changed), so a difference stores nothing but does not turn batching off.
async fn run_once(
    reads: &BatchReads,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    (headers, frame, proof): (&HeaderMap, &Single, &Single),
    wanted: Vec<Target>,
    again: bool,
) -> Option<Vec<Target>> {
    let batcher = reads.batcher();
    let cache = reads.cache();
    let mut ids = String::from(&*proof.id);
    for t in &wanted {
        ids.push(',');
        ids.push_str(&t.id);
    }
    let walk = cachearr_dialect::of(up.profile).walk_batch();
    let target = (proof.shape.batch_target)(&proof.way.before, &ids, &proof.way.after);
    let uri = target.parse::<Uri>().ok()?;
    let stamp = cache.fetch_started();
    batcher.stats.batches.fetch_add(1, Ordering::Relaxed);
    let answer = crate::fetch::fetch_uncached(
        reads.read_through(),
        None,
        up,
        user,
        Class::Metadata,
        uri,
        headers.clone(),
    )
    .await;
    let value = match answer {
        Ok(Fill::Store(v) | Fill::Pass(v)) if v.status == 200 => v,
        _ => return None,
    };
    let json = is_json(&proof.value.body);
    // A single answer is its item inside a container (the frame's head and tail), or the
    // item alone.
    let batch = Children::of(&value.body, walk.json_items)?;
    let (head, tail) = single_frame(walk, frame)?;
    let parts: HashMap<&str, &[u8]> = batch
        .items
        .iter()
        .filter_map(|r| {
            let bytes = &value.body[r.clone()];
            Some((item_id(bytes, walk.id_name)?, bytes))
        })
        .collect();
    let build = |bytes: &[u8]| {
        let mut b = BytesMut::with_capacity(head.len() + bytes.len() + tail.len());
        b.extend_from_slice(head);
        b.extend_from_slice(bytes);
        b.extend_from_slice(tail);
        b.freeze()
    };
    let proven = parts.get(&*proof.id).is_some_and(|bytes| {
        build(bytes) == proof.value.body && same_headers(&value.headers, &proof.value.headers)
    });
    if !proven {
        if !again {
            batcher.stats.refused.fetch_add(1, Ordering::Relaxed);
            batcher.set_proof(&up.name, json, Proof::Refused);
        }
        return None;
    }
    batcher.set_proof(&up.name, json, Proof::Proven);
    let mut unstored = Vec::new();
    for t in wanted {
        let Some(bytes) = parts.get(&*t.id) else {
            continue;
        };
        let part = CachedValue {
            status: 200,
            headers: proof.value.headers.clone(),
            body: build(bytes),
        };
        if store_part(
            reads,
            up,
            (user, headers),
            t.clone(),
            part,
            (None, Vec::new()),
            &stamp,
        )
        .await
        {
            batcher.stats.parts_stored.fetch_add(1, Ordering::Relaxed);
        } else {
            unstored.push(t);
        }
    }
    Some(unstored)
}

/// Stores `part`, one target's share of a batched answer (an item of a batch, a page of a
/// window), as the target's own answer would be stored: tagged with the items it shows when
/// its class is tagged so (`ids`, where its writer said them) and with the copy's own tags
/// (`copy_tags`, [`CopyAnswer::tags`](crate::fetch::CopyAnswer::tags)), and remembered for the change feed's sampling. Whether it was
/// stored (not when an invalidation came after `stamp`).
async fn store_part(
    reads: &BatchReads,
    up: &Upstream,
    (user, headers): (&Arc<UserRecord>, &HeaderMap),
    target: Target,
    part: CachedValue,
    (ids, copy_tags): (Option<ItemsShown>, Vec<String>),
    stamp: &cachearr_engine::FetchStamp,
) -> bool {
    let mut tags = if cachearr_upstream::feed::item_tagged(target.class) {
        let owner = owner_reads(reads.secret(), up, user);
        let dialect = cachearr_dialect::of(up.profile);
        let watch = if part.status == 200 {
            let feed = reads.feed(&up.name).map(|f| &**f);
            cachearr_upstream::feed::Feed::filled_watch_tags(feed, user, dialect, &part.body)
        } else {
            Vec::new()
        };
        let mut tags =
            cachearr_upstream::feed::answer_tags(&up.name, dialect, owner, &part.body, ids);
        tags.extend(watch);
        tags
    } else {
        Vec::new()
    };
    tags.extend(copy_tags.into_iter().map(Arc::from));
    let stored = reads
        .cache()
        .insert_fetched(&target.key, &target.policy, part, stamp, &tags)
        .await;
    if stored
        && let Some(feed) = reads.feed(&up.name)
        && feed.samples(target.class)
    {
        feed.remember(&target.key, target.class, target.uri, headers.clone(), user);
    }
    stored
}

/// The targets not in the cache (yet); the ones found there are released from waiting for
/// the batch.
async fn not_cached(cache: &TieredCache, batcher: &Batcher, targets: Vec<Target>) -> Vec<Target> {
    let mut wanted = Vec::with_capacity(targets.len());
    let mut present = Vec::new();
    for t in targets {
        if cache.get(&t.key).await.is_some() {
            present.push(t.key);
        } else {
            wanted.push(t);
        }
    }
    batcher.release(&present);
    wanted
}

/// What a single answer holds around its item (the frame's head and tail, taken from the
/// single answer `frame`), or nothing when the server answers a single item bare. `None`:
/// `frame` is not a container of one item.
fn single_frame<'a>(
    walk: &cachearr_dialect::WalkBatch,
    frame: &'a Single,
) -> Option<(&'a [u8], &'a [u8])> {
    if frame.shape.bare {
        return Some((b"", b""));
    }
    Children::of(&frame.value.body, walk.json_items)?.frame(&frame.value.body)
}

/// Whether `user` is the upstream's owner (the one its configured token reads as).
fn owner_reads(secret: &Secret, up: &Upstream, user: &UserRecord) -> bool {
    up.config
        .token
        .as_deref()
        .is_some_and(|t| !t.is_empty() && secret.user_of(t) == user.hash)
}

/// The same stored headers, in any order.
fn same_headers(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a: Vec<_> = a.iter().collect();
    let mut b: Vec<_> = b.iter().collect();
    a.sort();
    b.sort();
    a == b
}

/// One page of a paged listing a client got: where it starts, and what the server answered
/// (`windows` proves windows with it, `past_end` the empty page after a short one).
#[derive(Clone)]
pub(crate) struct PageRead<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) value: &'a CachedValue,
    /// The server answered this request itself (neither the cache nor the library copy): only
    /// such an answer can prove a window.
    pub(crate) from_server: bool,
    /// The library copy may answer this listing (once it has proven it writes it as the
    /// server does): its pages are left to the copy, which costs the server nothing.
    pub(crate) copy: bool,
    /// The library copy of the gateway, when the read's load had one: what may vouch for a
    /// page the batches predict (`past_end`).
    pub(crate) walks: Option<&'a Arc<dyn crate::fetch::WalkSources>>,
}

#[cfg(test)]
mod tests;
