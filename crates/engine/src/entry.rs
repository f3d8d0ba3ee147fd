//! What is stored and what a lookup returns: [`CachedValue`], [`Entry`], [`Fill`], [`Lookup`],
//! [`Outcome`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;

use crate::stats::ClassCounters;
use crate::tags::{Stamped, TagStamp};
// Re-exported where it was first defined: an outcome names the tier that answered.
pub(crate) use crate::tier::TierKind;

/// Per header of a [`CachedValue`]: its two `String`s.
const HEADER_STRINGS: usize = 48;
/// The entry, the memory tier's node for it and a warming job (key, policy, loader); the key's
/// text is shared by every holder.
const ENTRY_BOOKKEEPING: u64 = 600;

/// What an application keeps beside a stored value to answer from it, in bytes (the gateway's
/// prepared header maps and heads): added to the entry's weight in the memory tier, so that the
/// memory limit bounds it too. Set with [`crate::TieredCacheBuilder::held_beside`].
pub type HeldBeside = Arc<dyn Fn(&CachedValue) -> u64 + Send + Sync>;

/// An upstream answer as the engine keeps it: no HTTP types, the body shared (`Bytes`, never
/// copied on a hit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedValue {
    /// HTTP status code.
    pub status: u16,
    /// The headers the gateway chose to keep, in order.
    pub headers: Vec<(String, String)>,
    /// The body, ready to write.
    pub body: Bytes,
}

impl CachedValue {
    /// A value with a status and body and no headers.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Memory this value holds, used to weigh entries against byte limits: the body, with
    /// a sixteenth for the allocator's rounding up to its size classes (jemalloc's are a
    /// quarter of a power of two apart: an eighth of a class lost at most on average), and
    /// the headers' strings. (What an application prepares beside it is its [`HeldBeside`].)
    ///
    /// The body must be a buffer of its own: a `Bytes` that is a slice of a larger buffer
    /// (a connection's read buffer) keeps all of that buffer alive while weighing only its
    /// length. Loaders hand over exactly sized bodies ([`CachedValue::owned`]).
    pub fn weight(&self) -> u64 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + HEADER_STRINGS)
            .sum();
        (self.body.len() + self.body.len() / 16 + headers) as u64
    }

    /// A value whose body is a buffer of its own, exactly `body.len()` bytes: `body` is
    /// copied unless it already is one. Use it for bodies that may be slices of a larger
    /// buffer (anything read from a socket).
    pub fn owned(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Self {
        Self {
            status,
            headers,
            body: Bytes::copy_from_slice(body),
        }
    }
}

/// What a [`crate::Loader`] hands back.
#[derive(Clone, Debug)]
pub enum Fill {
    /// Store this value under the policy's TTLs.
    Store(CachedValue),
    /// A negative answer (e.g. 404): kept for `policy.negative_ttl` if that is set, otherwise
    /// handed to the waiters like [`Fill::Pass`].
    Negative(CachedValue),
    /// A negative answer that depends on who asked, not on what was asked (a refusal the
    /// server gives this user on this route whatever changes in it): kept for the time given
    /// whatever `policy.negative_ttl` says, and hanging on none of the policy's tags, which
    /// name what the answer to someone else would depend on.
    Refusal(CachedValue, std::time::Duration),
    /// Hand this value to every coalesced waiter, but never store it (e.g. an uncacheable
    /// answer discovered only after fetching).
    Pass(CachedValue),
    /// The upstream confirmed the stored value (an HTTP `304 Not Modified` to a conditional
    /// refresh, [`crate::Loader::revalidate`]): keep it, stored again under the policy's TTLs.
    /// Only meaningful for a refresh of a stored entry; a load without one fails.
    NotModified,
}

/// What happened on a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A fresh entry was served from this tier.
    Hit(TierKind),
    /// Nothing usable was cached; this caller's load filled it.
    Miss,
    /// Nothing usable was cached; this caller waited for another caller's load.
    Coalesced,
    /// A stale entry (within its stale-while-revalidate window) was served and a background
    /// refresh was started (or was already running).
    Stale,
    /// The load failed and a stale entry within its stale-if-error window was served.
    StaleOnError,
    /// The loader answered [`Fill::Pass`] (or an unkept [`Fill::Negative`]): the value was
    /// handed out but not stored.
    Passed,
}

/// The entry and what happened.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The entry (shared; the body is not copied).
    pub entry: Arc<Entry>,
    /// How it was obtained.
    pub outcome: Outcome,
}

/// A cached value with its times. Times are milliseconds from the engine's [`crate::Clock`].
#[derive(Debug)]
pub struct Entry {
    /// The value.
    pub value: CachedValue,
    /// When it was stored.
    pub stored_at_ms: u64,
    /// Served without a refresh until this time.
    pub fresh_until_ms: u64,
    /// Served stale (with a background refresh) until this time.
    pub stale_until_ms: u64,
    /// Served stale in place of a failed load until this time.
    pub error_until_ms: u64,
    /// Whether this is a kept negative answer ([`Fill::Negative`], [`Fill::Refusal`]).
    pub negative: bool,
    /// Insertion sequence number, used by prefix drops and clear-all.
    pub(crate) seq: u64,
    /// Tag generations at the time the load started.
    pub(crate) tags: Box<[TagStamp]>,
    /// Statistics of the entry's class (saves a map lookup on every hit).
    pub(crate) class: Arc<ClassCounters>,
    /// Reads during this entry's life, for warming: counted until its warming is scheduled.
    pub(crate) reads: AtomicU32,
    /// Set once a warming refresh has been scheduled for this entry.
    pub(crate) warm_scheduled: AtomicBool,
}

impl Stamped for Entry {
    #[inline]
    fn seq(&self) -> u64 {
        self.seq
    }

    #[inline]
    fn tag_stamps(&self) -> &[TagStamp] {
        &self.tags
    }
}

impl Entry {
    /// How old the entry is at `now_ms`.
    pub fn age(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.stored_at_ms))
    }

    /// The entry's age and time to live at `now_ms`, in whole seconds (the units of an
    /// answer's `Age` and `Cache-Status` `ttl`); the time to live is negative once it is
    /// stale.
    pub fn age_and_ttl(&self, now_ms: u64) -> (u64, i64) {
        let age_s = now_ms.saturating_sub(self.stored_at_ms) / 1000;
        let ttl_s = i64::try_from((i128::from(self.fresh_until_ms) - i128::from(now_ms)) / 1000)
            .unwrap_or(i64::MAX);
        (age_s, ttl_s)
    }

    /// Whether the entry is fresh at `now_ms`.
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.fresh_until_ms
    }

    /// How long it stays fresh after `now_ms` (zero once stale).
    pub fn fresh_remaining(&self, now_ms: u64) -> Duration {
        Duration::from_millis(self.fresh_until_ms.saturating_sub(now_ms))
    }

    /// After this time the entry is of no use at all and may be dropped.
    pub fn expires_at_ms(&self) -> u64 {
        self.stale_until_ms
            .max(self.error_until_ms)
            .max(self.fresh_until_ms)
    }

    /// The class this entry was stored under.
    pub fn class(&self) -> &str {
        &self.class.name
    }

    /// The tags this entry was stored under.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(|s| &*s.cell.name)
    }

    /// How many times it has been read, until its warming was scheduled (the count only
    /// decides that).
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bytes this entry holds, to weigh it against the write-behind queue's limit (and, with
    /// what the application keeps beside it, the memory tier's: [`Entry::memory_weight`]).
    pub(crate) fn weight(&self, key_len: usize) -> u64 {
        self.value.weight() + key_len as u64 + ENTRY_BOOKKEEPING + 16 * self.tags.len() as u64
    }

    /// Bytes this entry weighs in the memory tier: its own and what the application keeps
    /// beside it ([`HeldBeside`]).
    pub(crate) fn memory_weight(&self, key_len: usize, held_beside: Option<&HeldBeside>) -> u64 {
        self.weight(key_len) + held_beside.map_or(0, |bytes_for| bytes_for(&self.value))
    }
}
