//! The library index inside the gateway (issue 5): one [`UpstreamIndex`] per upstream.
//!
//! The index itself lives in `cachearr-library`; this module owns how the gateway keeps it:
//! the handle the proxy reads on every search ([`UpstreamIndex::ready`], a cheap `Arc` clone
//! under a read lock that is only ever held for that clone), and — built on top of it — the
//! crawl of the upstream that fills it, the answering of search routes from it, and the
//! matching API.
//!
//! A handle starts empty: until a crawl finishes or a snapshot is loaded, `ready` is `None` and
//! searches go to the server (seed 004's fallback).

pub(crate) mod answer;
pub mod matching;
pub mod playstate;
pub mod render_plex;
pub mod titles;
pub mod visibility;

use std::sync::{Arc, RwLock};

use cachearr_library::LibraryIndex;

/// The index of one upstream, swapped whole when a build or refresh finishes.
#[derive(Debug)]
pub struct UpstreamIndex {
    upstream: Arc<str>,
    current: RwLock<Option<Arc<LibraryIndex>>>,
}

impl UpstreamIndex {
    /// An empty handle for the upstream named `upstream`.
    pub fn new(upstream: &str) -> UpstreamIndex {
        UpstreamIndex {
            upstream: Arc::from(upstream),
            current: RwLock::new(None),
        }
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
}
