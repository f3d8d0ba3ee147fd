//! The item kinds each library holds none of, as the server counted them for the crawl: a
//! client's walk of a library lists every kind its type may hold (genres, tags, studios,
//! folders, collections, people…), one listing each, and most of them are empty. The copy
//! answers such a listing with the server's empty page (`answer/none_of.rs`) only while what
//! is known here stands.
//!
//! **Counted by the server.** Each build and incremental pass counts, as the owner, the
//! listings the dialect names for each library and across the server
//! ([`ServerLibrary::walked_types`]): a kind counted 0 is one the library holds none of, for
//! every user (nobody sees more than the owner). The index's own kinds are counted by its
//! streams already: a library whose index holds none of one is as empty.
//!
//! **Voided by any change.** An item added, edited or removed — announced by the server or
//! written through cachearr — may be of a kind a library held none of, or name a genre, tag
//! or person it did not: what is known is dropped at once, for every library, and counted
//! again by the next pass. A pass whose counts began before the change installs nothing.
//!
//! [`ServerLibrary::walked_types`]: cachearr_dialect::ServerLibrary::walked_types

use super::bare_id;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The item types (lower case) each library holds none of, and those none holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoneOf {
    /// By library id.
    pub libraries: BTreeMap<String, BTreeSet<String>>,
    /// Held by no library: a listing that names none holds none of them.
    pub server: BTreeSet<String>,
}

impl NoneOf {
    /// Notes that `library` (`None`: the whole server) holds no item of `item_type`.
    pub fn insert(&mut self, library: Option<&str>, item_type: &str) {
        let item_type = item_type.to_ascii_lowercase();
        match library {
            Some(library) => {
                (self.libraries.entry(library.to_owned()).or_default()).insert(item_type);
            }
            None => {
                self.server.insert(item_type);
            }
        }
    }

    /// Whether a listing of `kinds` (lower case) in `library` (`None`: every library) is
    /// known to hold no item. A library is named by its id as the server reads it (either
    /// case, with or without a GUID's dashes).
    pub fn holds_none(&self, library: Option<&str>, kinds: &[String]) -> bool {
        let types = match library {
            None => Some(&self.server),
            Some(library) => (self.libraries.iter())
                .find(|(id, _)| bare_id(id) == bare_id(library))
                .map(|(_, types)| types),
        };
        types.is_some_and(|types| !kinds.is_empty() && kinds.iter().all(|k| types.contains(k)))
    }
}

/// What an upstream's copy knows of the kinds its libraries hold none of: the last counts,
/// unless a change voided them since.
#[derive(Debug, Default)]
pub(crate) struct KindsHeld {
    current: Mutex<Option<Arc<NoneOf>>>,
    /// Voids so far: counts begun before the last one are not installed.
    voids: AtomicU64,
}

impl KindsHeld {
    /// Where the voids stand: what counts beginning now are installed against
    /// ([`KindsHeld::install`]).
    pub(crate) fn mark(&self) -> u64 {
        self.voids.load(Ordering::SeqCst)
    }

    /// Installs `counted`, made by counts begun at `mark`, unless a change voided what was
    /// known since: then the counts may predate it. Whether it was installed.
    pub(crate) fn install(&self, counted: NoneOf, mark: u64) -> bool {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if self.voids.load(Ordering::SeqCst) != mark {
            return false;
        }
        *current = Some(Arc::new(counted));
        true
    }

    /// Something changed on the server: nothing is known until the next counts.
    pub(crate) fn void(&self) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        self.voids.fetch_add(1, Ordering::SeqCst);
        *current = None;
    }

    /// What is known now (`None`: nothing, since a change or before the first counts).
    pub(crate) fn current(&self) -> Option<Arc<NoneOf>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_holds_none_only_of_kinds_counted_empty_in_its_library() {
        let mut none = NoneOf::default();
        none.insert(Some("1e0a-Bc"), "BoxSet");
        none.insert(Some("1e0a-Bc"), "Folder");
        none.insert(None, "Person");
        let kinds = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert!(none.holds_none(Some("1e0abc"), &kinds(&["boxset"])));
        assert!(none.holds_none(Some("1E0ABC"), &kinds(&["boxset", "folder"])));
        assert!(!none.holds_none(Some("1e0abc"), &kinds(&["boxset", "movie"])));
        assert!(!none.holds_none(Some("1e0abc"), &kinds(&[])));
        assert!(!none.holds_none(Some("other"), &kinds(&["boxset"])));
        assert!(none.holds_none(None, &kinds(&["person"])));
        assert!(!none.holds_none(None, &kinds(&["boxset"])));
    }

    #[test]
    fn counts_begun_before_a_change_are_not_installed() {
        let held = KindsHeld::default();
        let mut none = NoneOf::default();
        none.insert(None, "Person");
        let mark = held.mark();
        assert!(held.install(none.clone(), mark));
        assert!(held.current().is_some());
        let mark = held.mark();
        held.void();
        assert!(held.current().is_none(), "a change voids what was known");
        assert!(
            !held.install(none.clone(), mark),
            "counted before the change"
        );
        assert!(held.current().is_none());
        assert!(held.install(none, held.mark()));
    }
}
