//! [`Policy`]: how long an entry stays fresh, how long it may be served stale, and its tags.

use std::sync::Arc;
use std::time::Duration;

/// What a route's responses are worth keeping for. The gateway builds one per route class and
/// passes it by reference on every call; the engine copies nothing out of it on a hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Class name for statistics ("metadata", "images", …).
    pub class: Arc<str>,
    /// How long after storing an entry is served without asking the loader.
    pub fresh: Duration,
    /// After `fresh`, how long the stale copy is served at once while one background refresh
    /// runs (RFC 5861 `stale-while-revalidate`).
    pub stale_while_revalidate: Duration,
    /// After `fresh`, how long the stale copy may stand in for a failed load (RFC 5861
    /// `stale-if-error`).
    pub stale_if_error: Duration,
    /// Tags the entry belongs to; [`crate::TieredCache::invalidate_tag`] drops all entries of a
    /// tag at once.
    pub tags: Vec<Arc<str>>,
    /// If set, a [`crate::Fill::Negative`] answer (e.g. a 404) is kept this long; if not, it is
    /// handed to the waiters and not stored.
    pub negative_ttl: Option<Duration>,
    /// A read-time limit on freshness: an entry older than this is stale on this read (served
    /// within its stale windows while one refresh runs), whatever `fresh` it was stored with.
    /// The gateway stores answers its change feed vouches for with a long `fresh` and sets
    /// this to the class TTL while the feed cannot prove them, so trust can be withdrawn
    /// without dropping a single entry.
    pub fresh_cap: Option<Duration>,
}

impl Policy {
    /// A policy with the given class and fresh TTL, no stale windows, no tags.
    pub fn new(class: impl Into<Arc<str>>, fresh: Duration) -> Self {
        Self {
            class: class.into(),
            fresh,
            stale_while_revalidate: Duration::ZERO,
            stale_if_error: Duration::ZERO,
            tags: Vec::new(),
            negative_ttl: None,
            fresh_cap: None,
        }
    }

    /// Sets the stale-while-revalidate window.
    #[must_use]
    pub fn with_stale_while_revalidate(mut self, d: Duration) -> Self {
        self.stale_while_revalidate = d;
        self
    }

    /// Sets the stale-if-error window.
    #[must_use]
    pub fn with_stale_if_error(mut self, d: Duration) -> Self {
        self.stale_if_error = d;
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<Arc<str>>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Caps freshness at read time: see [`Policy::fresh_cap`].
    #[must_use]
    pub fn with_fresh_cap(mut self, d: Duration) -> Self {
        self.fresh_cap = Some(d);
        self
    }

    /// Until when `entry` is fresh under this policy: its own end of freshness, or earlier if
    /// [`Policy::fresh_cap`] says so. A negative answer keeps its own time: what caps an
    /// answer's freshness (the change feed's vouching for it) says nothing of a miss or a
    /// refusal ([`crate::Fill::Refusal`]).
    pub fn fresh_until_ms(&self, entry: &crate::Entry) -> u64 {
        match self.fresh_cap {
            Some(cap) if !entry.negative => entry.fresh_until_ms.min(
                entry
                    .stored_at_ms
                    .saturating_add(u64::try_from(cap.as_millis()).unwrap_or(u64::MAX)),
            ),
            _ => entry.fresh_until_ms,
        }
    }

    /// Keeps negative answers for `d`.
    #[must_use]
    pub fn with_negative_ttl(mut self, d: Duration) -> Self {
        self.negative_ttl = Some(d);
        self
    }
}
