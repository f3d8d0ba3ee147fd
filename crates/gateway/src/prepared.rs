//! Answers prepared once per cache entry: headers, validator, gzip copy, body file.
//!
//! The engine keeps headers as plain strings (it knows no HTTP). Turning them into a
//! [`HeaderMap`] on every hit would parse and copy each name and value again; instead the first
//! answer from an entry builds the map and later hits clone it (reference-count bumps for the
//! values). The memo is keyed by the entry's address and holds a `Weak` to it, which pins the
//! allocation: while a memo exists no other entry can live at that address, so a hit on the key
//! is always the same entry. A full shard first drops the memos of entries that are gone, then
//! is cleared if still full (the memo is only a shortcut).
//!
//! Also prepared once per cached 200:
//! * its `ETag` (the upstream's, or one hashed from the body: [`crate::etag`]) and, for text
//!   types, `Vary: Accept-Encoding`;
//! * its gzip copy ([`crate::encoding`]), made the first time a client that accepts gzip asks:
//!   bodies up to [`INLINE_MAX`] are compressed right there (at most about half a millisecond),
//!   larger ones on a blocking thread while that client and the next ones get identity; at most
//!   [`MAX_BACKGROUND`] such jobs run at once, so a burst of big entries cannot fill the blocking
//!   pool or both cores. Copies are held within a sixteenth of `memory_max`, at most
//!   [`MAX_GZIP_BYTES`], in all ([`Budgets`]);
//! * with `[cache] sendfile_min` on, its [`BodyFile`] once the entry is answered to more than
//!   one client (a hit, or a fill others waited for): the sealed copy of a large body that answers send with `sendfile`
//!   instead of copying (see [`cachearr_wire::sendfile`]); a large gzip copy gets one too. Files hold
//!   at most a sixteenth of `memory_max` in all.
//!
//! Both budgets, and the library index's element stores' caches, come out of `memory_max`:
//! the cache gets what they leave ([`Budgets::engine`]).
//!
//! Memos of entries the cache has dropped are swept every few seconds, so what they prepared
//! lives about as long as the entry.
//!
//! A cached read's answer is written here too (`reply`, [`PreparedHeaders::reply`]): the
//! representation chosen, a `304` for a matching validator, and the cache's headers in the
//! head, as bytes kept per entry ([`WireHead`]) or as a map.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cachearr_engine::{CachedValue, Entry, Outcome};
use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use rustc_hash::FxHashMap;

use crate::encoding;
use crate::etag;
use cachearr_config::CacheConfig;
use cachearr_wire::sendfile::BodyFile;

/// A header map's bucket (`http`'s: hash, name, value, links), and its index slot.
const MAP_BUCKET: usize = 104;
const MAP_INDEX: usize = 4;
/// A memo, its slot in the memo table, the representations and their validators.
const MEMO: usize = 1_792;
/// The gzip representation's slot and validator, and the buffers of the headers' names and
/// values made shareable when its map is cloned from the identity one.
const GZIP_SLOT: usize = 2_560;
/// A header's value or uncommon name in a buffer of its own, once the maps share it.
const SHARED_BUFFER: usize = 48;
/// A kept head's status line, the cache's headers (`X-Cache`, `Cache-Status`, `Age`) and the
/// buffer they are kept in.
const WIRE_HEAD: usize = 192;

/// What the prepared answers keep beside a stored value, in bytes, which the engine adds to
/// its entry's weight so that `memory_max` bounds it too: the memo; each representation's
/// header map (as `http` sizes it: a power of two of index slots, three quarters of them
/// buckets) with its last hit head on the wire; the headers' text in buffers the maps share.
/// Measured against jemalloc's counts by
/// `an_entry_weighs_what_it_and_its_prepared_answers_hold`, which fails when it falls short.
pub(crate) fn held_beside(value: &CachedValue) -> u64 {
    // The stored headers with `ETag` and `Vary`.
    let headers = value.headers.len() + 2;
    let text: usize = value.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    // The identity map is made with room for four more (`ETag`, `Vary`, and the gzip copy's
    // `Content-Encoding` in its clone); `http` makes a third more index slots than that,
    // rounded up to a power of two.
    let slots = ((value.headers.len() + 4) * 4 / 3).next_power_of_two();
    let map = slots * MAP_INDEX + slots * 3 / 4 * MAP_BUCKET;
    // Each line is its name, ": ", its value and CRLF.
    let wire = WIRE_HEAD + text + 4 * headers;
    let identity = MEMO + headers * SHARED_BUFFER + text + map + wire;
    let gzip = if has_gzip_copy(value) {
        GZIP_SLOT + map + wire
    } else {
        0
    };
    (identity + gzip) as u64
}

/// Whether a stored value's answers vary by `Accept-Encoding`: a text type, not already coded.
/// The stored headers are the upstream's that were visible text, names in lower case, so this
/// reads them as the value's identity header map would.
fn text_uncoded(value: &CachedValue) -> bool {
    let header = |name: &str| {
        value
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    header("content-encoding").is_none()
        && header("content-type").is_some_and(encoding::compressible)
}

/// Whether a stored value gets a gzip representation: a 200 of a text type, not already
/// coded, at least [`encoding::MIN_BODY`] bytes. [`Representations::build`] makes one by this
/// rule and [`held_beside`] counts one by it.
fn has_gzip_copy(value: &CachedValue) -> bool {
    value.status == 200 && value.body.len() >= encoding::MIN_BODY && text_uncoded(value)
}

const SHARDS: usize = 16;
const PER_SHARD: usize = 1024;

/// Bodies up to this size are gzipped on the request's own task: at level 6 that is at most
/// about half a millisecond of CPU, paid once per entry (miniz_oxide did 53–83 MB/s on listing
/// bodies on the loaded build machine; docs/benchmarks.md "Gzip answers"). Larger ones go to a
/// blocking thread.
pub(crate) const INLINE_MAX: usize = 32 * 1024;
/// At most this many bytes of gzip copies exist at once (all entries, all gateways in the
/// process), and no more than a sixteenth of `memory_max` ([`Budgets::for_cache`]). Plex
/// listings shrink to 8–10 % at level 6, so a sixteenth covers most identity bodies the
/// tier holds.
pub(crate) const MAX_GZIP_BYTES: u64 = 32 * 1024 * 1024;
/// The most the library copy's written items may hold per upstream (a sixteenth of
/// `memory_max` below that): about 50,000 items in one form.
pub(crate) const MAX_WRITTEN_BYTES: u64 = 64 * 1024 * 1024;
/// Background compressions at once: one, so the blocking pool never holds more than one big
/// body's work on a 2-core machine; a big entry asked while another compresses is answered
/// identity and tried again on a later request.
pub(crate) const MAX_BACKGROUND: usize = 1;
/// After a gzip copy found the budget spent, the entry is not compressed again for this long.
const NO_ROOM_RETRY: Duration = Duration::from_secs(5);
/// Memos of dead entries (with their header maps, gzip copies and body files) are swept this
/// often, and at most once a second when the gzip budget is three quarters full, so what
/// evicted entries prepared does not stay until their shard fills.
const SWEEP_EVERY_MS: u64 = 5_000;

/// What the prepared answers may hold, out of `memory_max`: they are copies made for entries
/// of the memory tier, so they scale with it, and they count against the same limit (the
/// cache gets the rest, `Budgets::engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Budgets {
    /// Gzip copies: a sixteenth of `memory_max`, at most `MAX_GZIP_BYTES` (32 MiB).
    pub gzip: u64,
    /// Body files (memory-backed, so they count in the process's RSS): a sixteenth of
    /// `memory_max`, at most [`cachearr_wire::sendfile::MAX_BYTES`]; none when `sendfile_min` is off.
    pub files: u64,
    /// The smallest body given a file (`sendfile_min`; `u64::MAX` when off).
    pub file_min: u64,
    /// The library index's store of Plex item elements, per upstream: a thirty-second of
    /// `memory_max`, 1–8 MiB, for its memtable (in the disk tier's database, whose block
    /// cache it shares) or its memtable and block cache, half each (a database of its own,
    /// when the disk tier is off).
    pub elements: u64,
    /// The library copy's items written ahead for its answers, per upstream
    /// (`upstream_index::written` in `cachearr-copy`): a sixteenth of `memory_max`, at most
    /// `MAX_WRITTEN_BYTES` (64 MiB).
    pub written: u64,
}

impl Budgets {
    /// The shares of `[cache]`'s `memory_max`, body files only when `sendfile_min` is on.
    pub fn for_cache(cache: &CacheConfig) -> Budgets {
        const MIB: u64 = 1024 * 1024;
        let memory_max = cache.memory_max_bytes;
        Budgets {
            gzip: (memory_max / 16).min(MAX_GZIP_BYTES),
            files: match cache.sendfile_min_bytes {
                Some(_) => (memory_max / 16).min(cachearr_wire::sendfile::MAX_BYTES),
                None => 0,
            },
            file_min: cache.sendfile_min_bytes.unwrap_or(u64::MAX),
            elements: (memory_max / 32).clamp(MIB, 8 * MIB),
            written: (memory_max / 16).min(MAX_WRITTEN_BYTES),
        }
    }

    /// What is left of `memory_max` for the cache (its memory tier, the disk tier's block
    /// cache and the write-behind queue: `cachearr_engine::MemoryPlan`).
    pub(crate) fn engine(cache: &CacheConfig) -> u64 {
        let b = Budgets::for_cache(cache);
        cache
            .memory_max_bytes
            .saturating_sub(b.gzip + b.files + b.elements + b.written)
            .max(1)
    }
}

static GZIP_BYTES: AtomicU64 = AtomicU64::new(0);
static GZIP_COPIES: AtomicUsize = AtomicUsize::new(0);
static BACKGROUND: AtomicUsize = AtomicUsize::new(0);

/// What an entry's answers share, built on its first answer.
struct Representations {
    /// Headers of the identity answer: the stored ones, plus `ETag` and `Vary` when cached.
    identity: HeaderMap,
    /// The identity answer's last hit head on the wire.
    identity_head: KeptHead,
    /// The identity validator (cached 200s only).
    etag: Option<HeaderValue>,
    /// The gzip representation (cached 200s of a text type, at least [`encoding::MIN_BODY`]
    /// bytes, not already coded).
    gzip: Option<GzipSlot>,
}

struct GzipSlot {
    /// The identity headers with `Content-Encoding: gzip` and this representation's `ETag`.
    headers: HeaderMap,
    /// The gzip answer's last hit head on the wire.
    head: KeptHead,
    etag: HeaderValue,
    state: Mutex<GzipState>,
}

enum GzipState {
    /// Not tried yet.
    Idle,
    /// Being compressed (inline by another request, or in the background).
    Working,
    Ready(Arc<GzipBody>),
    /// Compression would not save a tenth: answered identity for good.
    Useless,
    /// The budget was spent; try again after this instant.
    NoRoom(Instant),
}

/// A gzip copy and its share of [`MAX_GZIP_BYTES`] (given back on drop).
struct GzipBody {
    bytes: Bytes,
    /// Made on the first shared answer sent with this copy (large copies only).
    file: OnceLock<Option<Arc<BodyFile>>>,
}

impl GzipBody {
    fn reserve(bytes: Bytes, max: u64) -> Option<GzipBody> {
        let n = bytes.len() as u64;
        if GZIP_BYTES.fetch_add(n, Ordering::AcqRel) + n > max {
            GZIP_BYTES.fetch_sub(n, Ordering::AcqRel);
            return None;
        }
        GZIP_COPIES.fetch_add(1, Ordering::AcqRel);
        Some(GzipBody {
            bytes,
            file: OnceLock::new(),
        })
    }
}

impl Drop for GzipBody {
    fn drop(&mut self) {
        GZIP_BYTES.fetch_sub(self.bytes.len() as u64, Ordering::AcqRel);
        GZIP_COPIES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What is prepared for one entry.
struct Memo {
    /// Pins the entry's address (see the module docs); dead once the cache has let go of it.
    entry: Weak<Entry>,
    reps: Arc<Representations>,
    /// `None` until the entry's first shared answer, and for bodies that get no file.
    file: Option<Arc<BodyFile>>,
    /// Whether making a file was tried (it is tried once).
    file_tried: bool,
}

/// Keyed by the entry's address (FxHash: addresses are not chosen by clients).
type Shard = Mutex<FxHashMap<usize, Memo>>;

/// Counters for `/metrics` (this gateway's answers; the budget is process-wide).
#[derive(Default)]
pub struct VariantStats {
    /// Answers sent with the gzip copy.
    pub gzip_answers: AtomicU64,
    /// Answers to a gzip client sent identity because there was no copy: being made, out of
    /// budget, or not worth it (compressed, it saved less than a tenth).
    pub gzip_pending: AtomicU64,
    /// `304 Not Modified` answers.
    pub not_modified: AtomicU64,
    /// Compressions run.
    pub compressions: AtomicU64,
    /// Their total time, in microseconds.
    pub compress_us: AtomicU64,
}

/// Process-wide numbers of the gzip copies: (copies, bytes).
pub fn gzip_budget_used() -> (usize, u64) {
    (
        GZIP_COPIES.load(Ordering::Relaxed),
        GZIP_BYTES.load(Ordering::Relaxed),
    )
}

/// How the answer is wanted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Want {
    /// The entry's answer goes to more than one client: a fresh or stale hit, or a fill that
    /// other clients waited for (not a lone miss). Large bodies get a file.
    pub(crate) shared: bool,
    /// The entry is in the cache (not a value handed over without storing): it gets
    /// validators and may get a gzip copy.
    pub(crate) cached: bool,
    /// The client accepts gzip.
    pub(crate) gzip: bool,
}

/// The answer chosen for one request.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
    /// Set when `body` has a sealed copy to send with `sendfile`.
    pub(crate) file: Option<Arc<BodyFile>>,
    /// Whether `body` is the gzip copy.
    pub(crate) gzip: bool,
    reps: Arc<Representations>,
    /// Whether the client accepts gzip (so may hold the gzip representation).
    client_gzip: bool,
}

/// A hit's head as bytes on the wire for one outcome, age and time to live: the
/// representation's headers with the cache's own (`respond::mark_cache_state`), which only
/// change when those three do (whole seconds). The connection's own HTTP/1.1 writes a hit with
/// these bytes and builds no header map at all: ~2,000 instructions of a hit, by callgrind.
///
/// Only the bytes are kept (~500 for a dozen headers), not the map they were written from
/// (~2.6 KB with the cache's three headers, in jemalloc's size classes): an answer through
/// hyper (TLS, HTTP/2, a request the own HTTP/1.1 hands over) marks a clone of the
/// representation's headers each time.
#[derive(Default)]
struct KeptHead(Mutex<Option<(HeadState, WireLines)>>);

/// What a kept head was written for.
type HeadState = (Outcome, u64, i64);

/// A head as bytes on the wire.
#[derive(Clone, Debug)]
pub(crate) struct WireLines {
    /// The status line and the header lines.
    pub(crate) bytes: Bytes,
    /// Whether a `Date` is among them (the upstream's, kept with the answer).
    pub(crate) has_date: bool,
}

/// The memo of prepared answers.
pub(crate) struct PreparedHeaders {
    shards: Vec<Shard>,
    budgets: Budgets,
    stats: Arc<VariantStats>,
    /// When dead memos were last swept (ms since `born`), to sweep at most once a second.
    last_sweep_ms: AtomicU64,
    born: Instant,
}

impl PreparedHeaders {
    /// Prepared answers for a gateway with the `[cache]` settings `cache`.
    #[allow(
        clippy::disallowed_methods,
        reason = "the prepared answers' age, the gzip back-off and a compression's cost are real spans"
    )]
    pub(crate) fn new(cache: &CacheConfig) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FxHashMap::default()))
                .collect(),
            budgets: Budgets::for_cache(cache),
            stats: Arc::default(),
            last_sweep_ms: AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    pub(crate) fn stats(&self) -> &VariantStats {
        &self.stats
    }

    /// What the prepared answers may hold (their shares of `memory_max`).
    pub(crate) fn budgets(&self) -> Budgets {
        self.budgets
    }

    /// The answer for `entry`: its prepared headers (built once, then cloned), the gzip copy
    /// when the client takes it and it exists (starting it when it does not), and, for a hit
    /// on a large body, its body file.
    pub(crate) fn answer(&self, entry: &Arc<Entry>, want: Want) -> Answer {
        let (reps, file) = self.memo(entry, want.shared, want.cached);
        if want.gzip
            && let Some(slot) = &reps.gzip
        {
            match self.gzip_copy(entry, &reps, slot) {
                Some(gz) => {
                    self.stats.gzip_answers.fetch_add(1, Ordering::Relaxed);
                    let file = if want.shared {
                        let Budgets {
                            file_min, files, ..
                        } = self.budgets;
                        gz.file
                            .get_or_init(|| BodyFile::create(&gz.bytes, file_min, files))
                            .clone()
                    } else {
                        None
                    };
                    return Answer {
                        body: gz.bytes.clone(),
                        file,
                        gzip: true,
                        reps,
                        client_gzip: true,
                    };
                }
                None => {
                    self.stats.gzip_pending.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Answer {
            body: entry.value.body.clone(),
            file,
            gzip: false,
            reps,
            client_gzip: want.gzip,
        }
    }

    /// The entry's memo (made on its first answer) and, when `shared`, its body file (made on
    /// its first shared answer).
    fn memo(
        &self,
        entry: &Arc<Entry>,
        shared: bool,
        cached: bool,
    ) -> (Arc<Representations>, Option<Arc<BodyFile>>) {
        let addr = Arc::as_ptr(entry) as usize;
        let shard = &self.shards[(addr >> 6) % SHARDS];
        {
            let map = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = map.get(&addr)
                && (m.file_tried || !shared)
            {
                return (m.reps.clone(), m.file.clone());
            }
        }
        // First answer from this entry, or its first shared one: prepare outside the lock. A value
        // handed over without storing has status 200 too, but only cached entries are worth
        // a validator and a gzip copy (`Want::cached`, the same for every answer of an entry).
        self.sweep_dead();
        let built = Arc::new(Representations::build(entry, cached));
        let file = if shared && entry.value.status == 200 {
            BodyFile::create(&entry.value.body, self.budgets.file_min, self.budgets.files)
        } else {
            None
        };
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PER_SHARD && !map.contains_key(&addr) {
            map.retain(|_, m| m.entry.strong_count() > 0);
            if map.len() >= PER_SHARD {
                map.clear();
            }
        }
        let memo = map.entry(addr).or_insert_with(|| Memo {
            entry: Arc::downgrade(entry),
            reps: built,
            file: None,
            file_tried: false,
        });
        if shared && !memo.file_tried {
            memo.file = file;
            memo.file_tried = true;
        }
        (memo.reps.clone(), memo.file.clone())
    }

    /// The entry's gzip copy if it exists; otherwise starts making it (inline for small
    /// bodies, which then returns it) unless that is under way, useless or out of budget.
    #[allow(
        clippy::disallowed_methods,
        reason = "the prepared answers' age, the gzip back-off and a compression's cost are real spans"
    )]
    fn gzip_copy(
        &self,
        entry: &Entry,
        reps: &Arc<Representations>,
        slot: &GzipSlot,
    ) -> Option<Arc<GzipBody>> {
        let startable = |state: &GzipState| -> Result<(), Option<Arc<GzipBody>>> {
            match state {
                GzipState::Ready(gz) => Err(Some(gz.clone())),
                GzipState::Working | GzipState::Useless => Err(None),
                GzipState::NoRoom(until) if Instant::now() < *until => Err(None),
                GzipState::Idle | GzipState::NoRoom(_) => Ok(()),
            }
        };
        if let Err(answer) = startable(&slot.state.lock().unwrap_or_else(|e| e.into_inner())) {
            return answer;
        }
        // Not made yet. Make room first (outside the entry's lock), and do not spend a
        // compression on a copy that could not be kept: listings shrink to about a tenth.
        self.sweep_dead();
        let body = entry.value.body.clone();
        let gzip_max = self.budgets.gzip;
        let fits = GZIP_BYTES.load(Ordering::Relaxed) + body.len() as u64 / 10 <= gzip_max;
        let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(answer) = startable(&state) {
            return answer; // another request got here first
        }
        if !fits {
            *state = GzipState::NoRoom(Instant::now() + NO_ROOM_RETRY);
            return None;
        }
        if body.len() <= INLINE_MAX {
            *state = GzipState::Working;
            drop(state);
            let made = compress(&body, &self.stats, gzip_max);
            let ready = match &made {
                GzipState::Ready(gz) => Some(gz.clone()),
                _ => None,
            };
            *slot.state.lock().unwrap_or_else(|e| e.into_inner()) = made;
            return ready;
        }
        // A large body: off the async workers, one at a time.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return None;
        };
        let turn = BackgroundTurn::take()?;
        *state = GzipState::Working;
        drop(state);
        let reps = reps.clone();
        let stats = self.stats.clone();
        runtime.spawn_blocking(move || {
            let _turn = turn;
            let made = compress(&body, &stats, gzip_max);
            if let Some(slot) = &reps.gzip {
                *slot.state.lock().unwrap_or_else(|e| e.into_inner()) = made;
            }
        });
        None
    }

    /// Drops the memos of entries the cache no longer holds, now (after a clear).
    pub(crate) fn forget_dead(&self) {
        for shard in &self.shards {
            let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, m| m.entry.strong_count() > 0);
        }
    }

    /// Drops the memos of entries the cache no longer holds, so their header maps, gzip
    /// copies and body files are freed: every [`SWEEP_EVERY_MS`], or every second while the
    /// gzip budget runs low (it locks every shard, so not more often).
    fn sweep_dead(&self) {
        let full = GZIP_BYTES.load(Ordering::Relaxed) >= self.budgets.gzip / 4 * 3;
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        let every = if full { 1000 } else { SWEEP_EVERY_MS };
        if now.saturating_sub(last) < every
            || self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.forget_dead();
    }
}

/// One of the [`MAX_BACKGROUND`] places for a background compression, given back on drop
/// (also when a shutting-down runtime drops the job unrun).
struct BackgroundTurn;

impl BackgroundTurn {
    fn take() -> Option<BackgroundTurn> {
        if BACKGROUND.fetch_add(1, Ordering::AcqRel) >= MAX_BACKGROUND {
            BACKGROUND.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(BackgroundTurn)
    }
}

impl Drop for BackgroundTurn {
    fn drop(&mut self) {
        BACKGROUND.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Compresses `body` and keeps the copy if the budget allows.
#[allow(
    clippy::disallowed_methods,
    reason = "the prepared answers' age, the gzip back-off and a compression's cost are real spans"
)]
fn compress(body: &Bytes, stats: &VariantStats, max: u64) -> GzipState {
    let started = Instant::now();
    let gz = encoding::gzip(body);
    let us = crate::respond::elapsed_us(started);
    stats.compressions.fetch_add(1, Ordering::Relaxed);
    stats.compress_us.fetch_add(us, Ordering::Relaxed);
    match gz {
        None => GzipState::Useless,
        Some(bytes) => match GzipBody::reserve(bytes, max) {
            Some(gz) => GzipState::Ready(Arc::new(gz)),
            None => {
                tracing::debug!(
                    budget = max,
                    "gzip copies at their budget; answering identity for now"
                );
                GzipState::NoRoom(Instant::now() + NO_ROOM_RETRY)
            }
        },
    }
}

impl Representations {
    fn build(entry: &Entry, cached: bool) -> Representations {
        let v = &entry.value;
        let mut identity = HeaderMap::with_capacity(v.headers.len() + 4);
        for (name, value) in &v.headers {
            if let (Ok(n), Ok(val)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                identity.append(n, val);
            }
        }
        if v.status != 200 || !cached {
            return Representations {
                identity,
                identity_head: KeptHead::default(),
                etag: None,
                gzip: None,
            };
        }
        // The upstream's validator if it is one; an unquoted or broken one is replaced, since
        // it could not be compared (and a client could not send it back).
        let tag = match identity.get(header::ETAG) {
            Some(t) if etag::is_valid(t.as_bytes()) => t.clone(),
            _ => {
                let t = etag::from_body(&v.body);
                identity.insert(header::ETAG, t.clone());
                t
            }
        };
        let mut gzip = None;
        if text_uncoded(v) {
            // Text answers vary by Accept-Encoding whatever this body's size: the same URL
            // may be large next time, and a cache downstream must not mix the two.
            add_vary_accept_encoding(&mut identity);
            if has_gzip_copy(v)
                && let Some(gz_tag) = etag::variant(&tag, "gzip")
            {
                let mut headers = identity.clone();
                headers.insert(header::ETAG, gz_tag.clone());
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                // Ranges are not served from the cache; an upstream's `Accept-Ranges` speaks
                // of its identity bytes, not of these.
                headers.remove(header::ACCEPT_RANGES);
                gzip = Some(GzipSlot {
                    headers,
                    head: KeptHead::default(),
                    etag: gz_tag,
                    state: Mutex::new(GzipState::Idle),
                });
            }
        }
        Representations {
            identity,
            identity_head: KeptHead::default(),
            etag: Some(tag),
            gzip,
        }
    }
}

/// Adds `Accept-Encoding` to the `Vary` list unless it is there (or the list is `*`).
fn add_vary_accept_encoding(h: &mut HeaderMap) {
    let present = h.get_all(header::VARY).iter().any(|v| {
        v.as_bytes().split(|b| *b == b',').any(|t| {
            let t = t.trim_ascii();
            t == b"*" || t.eq_ignore_ascii_case(b"accept-encoding")
        })
    });
    if !present {
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

mod reply;

pub(crate) use reply::{Asked, Load, WireHead};

#[cfg(test)]
mod tests;
