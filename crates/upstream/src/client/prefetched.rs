//! Whether the entries an upstream's prefetches filled are read: the prefetcher's
//! [`Ledger`] (the gateway's `prefetch` says why and how it is used).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cachearr_engine::Key;

use crate::keys::UserHash;
use cachearr_dialect::Trigger;

/// Targets whose reading is watched at most per upstream (oldest forgotten first).
const WATCHED_MAX: usize = 128;
/// How long a target is watched (ms): a client reads what it reads next within moments, and
/// a ledger with nothing left to watch costs a client's read one atomic load.
pub const WATCH_MS: u64 = 60_000;
/// The recent listings judged per trigger and client: while all of them went unread, that
/// client's listings of the trigger are not followed. One is enough: a listing is judged
/// unread only when its client read a target's path in another form, which it would do again
/// after every such listing.
pub const VERDICTS: usize = 1;
/// While a client's listings are not followed, one in this many still is (a probe).
pub const PROBE_EVERY: u32 = 16;

/// Whether the entries an upstream's prefetches filled are read (see the module's
/// documentation): the targets not judged yet, and each trigger's and client's recent
/// verdicts.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Targets watched (a read looks only when there are some).
    watched: AtomicUsize,
    /// Listings followed so far (their ids).
    listings: AtomicU64,
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    watched: VecDeque<Watched>,
    habits: Vec<Habit>,
}

/// A prefetched target not judged yet.
#[derive(Debug)]
struct Watched {
    /// The listing it was named by.
    listing: u64,
    /// Its entry's key.
    key: Key,
    /// Its path, lower-cased (both servers read paths without regard to case).
    path: String,
    /// The user it was fetched for.
    user: UserHash,
    /// Its listing's trigger and client ([`Habit`]).
    habit: usize,
    /// When it was fetched (ms, the gateway's clock).
    at: u64,
}

/// What one client does after one kind of listing.
#[derive(Debug)]
struct Habit {
    trigger: Trigger,
    client: Arc<str>,
    /// The latest verdicts, newest last: whether a listing's prefetch was read.
    verdicts: VecDeque<bool>,
    /// Listings not followed since the last one that was.
    skipped: u32,
}

impl Ledger {
    /// Whether a `trigger` listing of `client` is followed now; if so, the id its targets
    /// are watched under, and whether it is a probe (its first target is enough to judge).
    pub fn follow(&self, trigger: Trigger, client: &Arc<str>) -> Option<((u64, usize), bool)> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let at = match state
            .habits
            .iter()
            .position(|h| h.trigger == trigger && h.client == *client)
        {
            Some(at) => at,
            None => {
                state.habits.push(Habit {
                    trigger,
                    client: Arc::clone(client),
                    verdicts: VecDeque::new(),
                    skipped: 0,
                });
                state.habits.len() - 1
            }
        };
        let habit = &mut state.habits[at];
        let unread = habit.verdicts.len() >= VERDICTS && habit.verdicts.iter().all(|read| !read);
        if unread && habit.skipped + 1 < PROBE_EVERY {
            habit.skipped += 1;
            return None;
        }
        habit.skipped = 0;
        Some(((self.listings.fetch_add(1, Ordering::Relaxed), at), unread))
    }

    /// How many targets are watched now.
    pub fn watching(&self) -> usize {
        self.watched.load(Ordering::Relaxed)
    }

    /// Watches `key` (at `path`), a target of `listing` fetched for `user` at `now` (ms).
    pub fn watch(&self, listing: (u64, usize), key: Key, path: &str, user: UserHash, now: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.forget_before(now);
        if state.watched.len() >= WATCHED_MAX {
            state.watched.pop_front();
        }
        state.watched.push_back(Watched {
            listing: listing.0,
            key,
            path: path.to_ascii_lowercase(),
            user,
            habit: listing.1,
            at: now,
        });
        self.watched.store(state.watched.len(), Ordering::Relaxed);
    }

    /// A client's read of `key` at `path` as `user` at `now` (ms): judges the listings whose
    /// targets it reads (read) or passes by (the same path under another key: unread).
    pub fn note_read(&self, user: UserHash, path: &str, key: &Key, now: u64) {
        if self.watched.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.forget_before(now);
        self.watched.store(state.watched.len(), Ordering::Relaxed);
        let verdict = match state.watched.iter().find(|w| w.key == *key) {
            Some(w) => Some((w.listing, w.habit, true)),
            None => state
                .watched
                .iter()
                .find(|w| w.user == user && w.path.eq_ignore_ascii_case(path))
                .map(|w| (w.listing, w.habit, false)),
        };
        let Some((listing, habit, read)) = verdict else {
            return;
        };
        state.watched.retain(|w| w.listing != listing);
        let verdicts = &mut state.habits[habit].verdicts;
        if verdicts.len() >= VERDICTS {
            verdicts.pop_front();
        }
        verdicts.push_back(read);
        self.watched.store(state.watched.len(), Ordering::Relaxed);
    }
}

impl LedgerState {
    /// Forgets the targets watched for longer than [`WATCH_MS`] (unjudged: no verdict).
    fn forget_before(&mut self, now: u64) {
        while self
            .watched
            .front()
            .is_some_and(|w| now.saturating_sub(w.at) > WATCH_MS)
        {
            self.watched.pop_front();
        }
    }
}
