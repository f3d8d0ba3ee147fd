//! The folded titles of each installed index ([`FoldedTitles`]: the title arena, the counts
//! per section and kind, the walks' orders), built once per index on a blocking thread and
//! kept while the index lives, keyed by the index's address and checked through a `Weak`.
//! Apart from the tables themselves (`titles.rs`): the copy's answers take them here as they
//! begin, and search them later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use cachearr_library::LibraryIndex;

use super::titles::FoldedTitles;

/// The index a build is for, and the build: one per index, shared by every caller.
type Cached = (
    Weak<LibraryIndex>,
    Arc<tokio::sync::OnceCell<Arc<FoldedTitles>>>,
);

fn cache() -> &'static Mutex<HashMap<usize, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The folded titles of `index`, built on first use (on a blocking thread) and kept while the
/// index lives.
///
/// Exactly one build runs per index: searches that arrive while it runs wait for it. When
/// each caller built its own copy, the searches of the seconds after a new index was
/// installed each started one (55 at once under a soak's load, 4 MB each for a 100k-item
/// library): they filled the blocking pool, stalled answers for seconds and left the
/// allocator holding some 200 MiB it never gave back.
pub async fn folded(index: &Arc<LibraryIndex>) -> Option<Arc<FoldedTitles>> {
    let address = Arc::as_ptr(index) as usize;
    let cell = {
        let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&address) {
            Some((weak, cell)) if weak.upgrade().is_some_and(|live| Arc::ptr_eq(&live, index)) => {
                cell.clone()
            }
            _ => {
                map.retain(|_, (weak, _)| weak.strong_count() > 0);
                let cell = Arc::new(tokio::sync::OnceCell::new());
                map.insert(address, (Arc::downgrade(index), cell.clone()));
                cell
            }
        }
    };
    cell.get_or_try_init(|| {
        let building = index.clone();
        async move {
            tokio::task::spawn_blocking(move || Arc::new(FoldedTitles::build(&building))).await
        }
    })
    .await
    .ok()
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_library::ItemRecord;

    fn index() -> Arc<LibraryIndex> {
        let records = vec![
            ItemRecord::track("1", "3", "Abba", "Dancing Queen"),
            ItemRecord::track("3", "4", "Queen", "Bohemian Rhapsody"),
        ];
        Arc::new(LibraryIndex::build(&records).unwrap())
    }

    #[tokio::test]
    async fn built_once_per_index() {
        let index = index();
        let a = folded(&index).await.unwrap();
        let b = folded(&index).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = self::index();
        let c = folded(&other).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn searches_arriving_during_the_build_share_it() {
        let index = index();
        let callers: Vec<_> = (0..16)
            .map(|_| {
                let index = index.clone();
                tokio::spawn(async move { folded(&index).await.unwrap() })
            })
            .collect();
        let mut got = Vec::new();
        for c in callers {
            got.push(c.await.unwrap());
        }
        assert!(got.iter().all(|t| Arc::ptr_eq(t, &got[0])));
        assert!(Arc::ptr_eq(&folded(&index).await.unwrap(), &got[0]));
    }
}
