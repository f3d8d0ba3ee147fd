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

    /// Keeps negative answers for `d`.
    #[must_use]
    pub fn with_negative_ttl(mut self, d: Duration) -> Self {
        self.negative_ttl = Some(d);
        self
    }
}
