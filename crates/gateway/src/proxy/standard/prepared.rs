//! Stored responses of the profile read once per cache entry, as the media profiles' answers
//! are prepared once per entry (`crate::prepared`).
//!
//! A stored value is plain lines (the engine knows no HTTP). Reading it on every hit parsed
//! and copied each header again, read the `Cache-Control`, `Date`, `Expires` and `Age` fields
//! again for the freshness arithmetic, and built and encoded the answer's header map again.
//! Instead the first request that finds an entry reads it into a [`Prepared`]: the header map
//! and meta line ([`Read`]), its freshness ([`Stored`], for the options of the route that read
//! it), and the head of a hit as bytes on the wire, kept while the hit's age and time to live
//! (whole seconds) stay what they were. What a hit still does per request is what depends on
//! the request: the reuse decision on its own directives ([`Stored::reuse`], arithmetic), the
//! `Vary` check, and its conditional (`If-None-Match`, `If-Modified-Since`) against the
//! stored validators.
//!
//! Entries never change: a `304` that freshens one stores a new entry, which gets its own
//! memo. The memo is keyed by the entry's address and holds a `Weak` to it, which pins the
//! allocation, so a hit on the key is always the same entry. One table serves every gateway in
//! the process (addresses are unique while pinned). A full shard first drops the memos of
//! entries that are gone, then is cleared if still full (the memo is only a shortcut); every
//! [`SWEEP_EVERY`] memos made, all shards drop their dead ones, so what a memo holds lives
//! about as long as its entry. What a memo holds (the map, the head's bytes) is within what the
//! engine counts beside each entry's value (`crate::prepared::held_beside`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};

use bytes::Bytes;
use cachearr_config::policy::standard::StandardRoute;
use cachearr_engine::Entry;
use cachearr_httpcache::Stored;
use http::{HeaderMap, StatusCode};
use rustc_hash::FxHashMap;

use super::Ask;
use super::entries::{Read, read_entry};
use crate::prepared::WireLines;

const SHARDS: usize = 16;
const PER_SHARD: usize = 1024;
/// Memos made between two sweeps of the dead ones.
const SWEEP_EVERY: usize = 4096;

/// What is read once from one stored value.
pub(super) struct Prepared {
    /// The value, read.
    pub(super) read: Read,
    /// Its freshness, as the first route's options that read it give it.
    stored: OnceLock<(ReadFor, Arc<Stored>)>,
    /// A hit's head on the wire and what it was written for.
    hit_head: Mutex<Option<(HitState, WireLines)>>,
}

/// What a stored response's freshness was read with: the route (a `Weak` pins its address),
/// the lifetime given to answers without one, and the scope.
struct ReadFor {
    route: Weak<StandardRoute>,
    lifetime: Option<u32>,
    private: bool,
}

impl ReadFor {
    fn is(&self, ask: &Ask, private: bool) -> bool {
        std::ptr::eq(self.route.as_ptr(), Arc::as_ptr(&ask.route))
            && self.lifetime == ask.lifetime
            && self.private == private
    }
}

/// What a kept hit head was written for: stale or fresh, its age and its time to live.
pub(super) type HitState = (bool, u32, i64);

impl Prepared {
    /// The response's freshness for `ask`'s options in a scope (`private`): read once per
    /// entry and route, then shared.
    pub(super) fn stored(
        &self,
        ask: &Ask,
        private: bool,
        read: impl FnOnce() -> Option<Stored>,
    ) -> Option<Arc<Stored>> {
        if let Some((made_for, stored)) = self.stored.get() {
            if made_for.is(ask, private) {
                return Some(stored.clone());
            }
            // Another route's options (its lifetime or override) read the same entry: read
            // for this request alone.
            return read().map(Arc::new);
        }
        let stored = Arc::new(read()?);
        let made_for = ReadFor {
            route: Arc::downgrade(&ask.route),
            lifetime: ask.lifetime,
            private,
        };
        let _ = self.stored.set((made_for, stored.clone()));
        Some(stored)
    }

    /// Whether `stored` is the freshness kept here (the one its kept head is written from).
    pub(super) fn holds(&self, stored: &Arc<Stored>) -> bool {
        self.stored
            .get()
            .is_some_and(|(_, kept)| Arc::ptr_eq(kept, stored))
    }

    /// A hit's head on the wire for `state`: the kept one if it was written for `state`,
    /// otherwise written from the map `make` makes, after `status`'s line, and kept.
    pub(super) fn hit_head(
        &self,
        state: HitState,
        status: StatusCode,
        make: impl FnOnce() -> HeaderMap,
    ) -> WireLines {
        let mut kept = self.hit_head.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kept_for, wire)) = &*kept
            && *kept_for == state
        {
            return wire.clone();
        }
        let head = make();
        let mut out = Vec::with_capacity(64 + head.len() * 48);
        let has_date = cachearr_wire::lines::push_head(&mut out, status, &head, &[]);
        let wire = WireLines {
            bytes: Bytes::from(out),
            has_date,
        };
        *kept = Some((state, wire.clone()));
        wire
    }
}

/// Keyed by the entry's address (FxHash: addresses are not chosen by clients).
type Shard = Mutex<FxHashMap<usize, (Weak<Entry>, Arc<Prepared>)>>;

/// The memos of every gateway in the process.
struct Memos {
    shards: Vec<Shard>,
    /// Memos made since the last sweep.
    made: AtomicUsize,
}

static MEMOS: LazyLock<Memos> = LazyLock::new(|| Memos {
    shards: (0..SHARDS)
        .map(|_| Mutex::new(FxHashMap::default()))
        .collect(),
    made: AtomicUsize::new(0),
});

/// The entry's stored value, read: on its first look-up, then kept. `None` for a value that
/// is not one of this profile's (unreadable lines).
pub(super) fn prepared(entry: &Arc<Entry>) -> Option<Arc<Prepared>> {
    let memos = &*MEMOS;
    let addr = Arc::as_ptr(entry) as usize;
    let shard = &memos.shards[(addr >> 6) % SHARDS];
    if let Some((_, memo)) = shard.lock().unwrap_or_else(|e| e.into_inner()).get(&addr) {
        return Some(memo.clone());
    }
    // Read outside the lock; two first requests may both read, and the first kept wins.
    let made = Arc::new(Prepared {
        read: read_entry(&entry.value)?,
        stored: OnceLock::new(),
        hit_head: Mutex::new(None),
    });
    if memos.made.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
        forget_dead();
    }
    let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= PER_SHARD && !map.contains_key(&addr) {
        map.retain(|_, (entry, _)| entry.strong_count() > 0);
        if map.len() >= PER_SHARD {
            map.clear();
        }
    }
    let (_, memo) = map
        .entry(addr)
        .or_insert_with(|| (Arc::downgrade(entry), made));
    Some(memo.clone())
}

/// Drops the memos of entries the cache no longer holds.
fn forget_dead() {
    for shard in &MEMOS.shards {
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (entry, _)| entry.strong_count() > 0);
    }
}
