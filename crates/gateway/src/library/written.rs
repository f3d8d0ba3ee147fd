//! Items of the library copy kept written: each item's kept element written once per form
//! (JSON or XML, with or without its `Guid` children) and cut in two where the server writes
//! a user's play state ([`El::halves`]), so that an answer from the copy copies text where it
//! would read an element from the store, decode it, fill a tree and write it — per item, what
//! a cache hit never does (docs/benchmarks.md, "What an answer from the copy costs the
//! gateway").
//!
//! The texts live in memory, within the `written` share of `memory_max`; a full share keeps
//! what it holds, and items written later are written per answer. A text records the `updatedAt` it was written for and is used only
//! for that version of the item (the index's record says which is current); when the store
//! keeps a new element for an item, the item's texts are dropped ([`WrittenItems::forget`]).
//! A text written from an element read just before the store changed it is dropped by its
//! writer: every change of the store moves a generation the writer looks at after keeping
//! the text.
//!
//! The first answer in a form starts writing every item the index holds in that form, in the
//! background ([`WrittenItems::fill_once`]), until three quarters of the share is used: a
//! tool's first walk of a library then finds its items written, not only its second.
//!
//! [`El::halves`]: cachearr_serverfmt::plex::El::halves

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{LibraryIndex, Visibility};
use rustc_hash::FxHashMap;

/// An item written in a form: the halves, cut where a user's values go.
pub(crate) type Halves = Arc<(String, String)>;

/// How an item is written: JSON or XML, with or without its `Guid` children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Form {
    pub(crate) json: bool,
    pub(crate) guids: bool,
}

impl Form {
    fn bits(self) -> u8 {
        u8::from(self.json) | (u8::from(self.guids) << 1)
    }
}

/// What an item's texts count for against the share: their bytes and the entry's own.
fn weight(halves: &Halves) -> u64 {
    (halves.0.len() + halves.1.len() + 64) as u64
}

/// Shards of the texts' map: answers on every worker read it at once.
const SHARDS: usize = 16;

type Shard = RwLock<FxHashMap<(u64, u8), (i64, Halves)>>;

/// The written items of one upstream's store (see the module documentation).
pub(crate) struct WrittenItems {
    /// By the item's numeric id and form: the `updatedAt` written for, and the halves.
    shards: Box<[Shard]>,
    /// What the kept texts weigh ([`weight`]).
    bytes: AtomicU64,
    /// Moved by every change of the store (see the module documentation).
    generation: AtomicU64,
    /// Whether the background writing of each form was started.
    filled: [AtomicBool; 4],
    capacity: u64,
}

impl std::fmt::Debug for WrittenItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrittenItems")
            .field("capacity", &self.capacity)
            .field("bytes", &self.bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl WrittenItems {
    /// Texts of at most `capacity` bytes in all (0: none are kept).
    pub(crate) fn new(capacity: u64) -> WrittenItems {
        WrittenItems {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            bytes: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            filled: Default::default(),
            capacity,
        }
    }

    fn shard(&self, key: (u64, u8)) -> &Shard {
        &self.shards[(key.0 as usize ^ usize::from(key.1)) % SHARDS]
    }

    /// Item `id` (the server's numeric id) written in `form` as of `updated_at`: kept, or
    /// written now by `write` (from the store's element as of `updated_at`) and kept while
    /// the share has room. `None` when it cannot be written in halves (an id that is not a
    /// number, an element not kept or older, a cut the form cannot make alike).
    pub(crate) fn get_or_write(
        &self,
        id: &str,
        updated_at: i64,
        form: Form,
        write: impl FnOnce() -> Option<(String, String)>,
    ) -> Option<Halves> {
        let key = (id.parse::<u64>().ok()?, form.bits());
        let kept = self
            .shard(key)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(at, _)| *at == updated_at)
            .map(|(_, halves)| halves.clone());
        if let Some(halves) = kept {
            return Some(halves);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let halves: Halves = Arc::new(write()?);
        self.keep(key, updated_at, &halves);
        // The store changed while the element was read: the text may be of the element it
        // replaced.
        if self.generation.load(Ordering::Acquire) != generation {
            self.drop_key(key);
        }
        Some(halves)
    }

    /// Keeps `halves` under `key` if the share has room for them (what is kept stays: a
    /// full share keeps the items written first, and later ones are written per answer).
    fn keep(&self, key: (u64, u8), updated_at: i64, halves: &Halves) {
        let w = weight(halves);
        if self.bytes.load(Ordering::Relaxed) + w > self.capacity {
            return;
        }
        let mut shard = self.shard(key).write().unwrap_or_else(|e| e.into_inner());
        let old = shard.insert(key, (updated_at, halves.clone()));
        self.bytes.fetch_add(w, Ordering::Relaxed);
        if let Some((_, old)) = old {
            self.bytes.fetch_sub(weight(&old), Ordering::Relaxed);
        }
    }

    fn drop_key(&self, key: (u64, u8)) {
        let old = self
            .shard(key)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if let Some((_, old)) = old {
            self.bytes.fetch_sub(weight(&old), Ordering::Relaxed);
        }
    }

    /// Drops the texts of these items: the store keeps new elements for them (or none).
    pub(crate) fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            let Ok(n) = id.parse::<u64>() else {
                continue;
            };
            for bits in 0..4 {
                self.drop_key((n, bits));
            }
        }
    }

    /// Starts writing every item of `index` in `form` in the background, once per form:
    /// items `skip` says are not written in halves are left out, and the writing stops at
    /// three quarters of the share (so that it does not push out what answers wrote).
    /// `write` writes an item (its id, as of an `updatedAt`) in the form.
    pub(crate) fn fill_once<W>(
        self: &Arc<Self>,
        form: Form,
        index: Arc<LibraryIndex>,
        skip: fn(&ItemView<'_>) -> bool,
        write: W,
    ) where
        W: Fn(&str, i64) -> Option<(String, String)> + Send + 'static,
    {
        // A plain thread's worth of work on the blocking pool: the store's reads block.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.capacity == 0 || self.filled[usize::from(form.bits())].swap(true, Ordering::AcqRel)
        {
            return;
        }
        let written = self.clone();
        runtime.spawn_blocking(move || written.fill(form, &index, skip, &write));
    }

    /// Whether the background writing of `form` was started ([`Self::fill_once`]).
    pub(crate) fn started(&self, form: Form) -> bool {
        self.filled[usize::from(form.bits())].load(Ordering::Acquire)
    }

    fn fill<W>(&self, form: Form, index: &LibraryIndex, skip: fn(&ItemView<'_>) -> bool, write: &W)
    where
        W: Fn(&str, i64) -> Option<(String, String)>,
    {
        let everything = Visibility::everything();
        let room = self.capacity / 4 * 3;
        for no in 0..index.len() {
            if self.bytes.load(Ordering::Relaxed) >= room {
                break;
            }
            let Some(view) = u32::try_from(no)
                .ok()
                .and_then(|no| index.item(ItemNo(no), &everything))
            else {
                continue;
            };
            if skip(&view) {
                continue;
            }
            let (id, at) = (view.id(), view.updated_at());
            let _ = self.get_or_write(id, at, form, || write(id, at));
        }
        tracing::debug!(
            bytes = self.bytes.load(Ordering::Relaxed),
            json = form.json,
            guids = form.guids,
            "library copy: items written ahead"
        );
    }

    /// How many bytes of texts are kept.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use cachearr_library::{ItemKind, ItemRecord};

    use super::*;

    /// An item written as JSON halves cut at the end of its attributes.
    fn track(id: &str, title: &str) -> Option<(String, String)> {
        Some((
            format!(r#"{{"ratingKey":"{id}","title":"{title}","duration":5"#),
            "}".to_string(),
        ))
    }

    const JSON: Form = Form {
        json: true,
        guids: false,
    };

    #[test]
    fn an_item_is_written_once_per_version_and_form() {
        let written = WrittenItems::new(1 << 20);
        let reads = Cell::new(0);
        let read = |title: &'static str| {
            reads.set(reads.get() + 1);
            track("7", title)
        };
        let first = written.get_or_write("7", 1, JSON, || read("a")).unwrap();
        assert_eq!(first.0, r#"{"ratingKey":"7","title":"a","duration":5"#);
        assert_eq!(first.1, "}");
        let again = written.get_or_write("7", 1, JSON, || read("b")).unwrap();
        assert_eq!((again.0.as_str(), reads.get()), (first.0.as_str(), 1));
        // Another form, another version: written again.
        let xml = Form {
            json: false,
            guids: false,
        };
        written.get_or_write("7", 1, xml, || read("a")).unwrap();
        assert_eq!(reads.get(), 2, "kept in one form, written in another");
        let newer = written.get_or_write("7", 2, JSON, || read("b")).unwrap();
        assert!(newer.0.contains(r#""title":"b""#));
        assert_eq!(reads.get(), 3);
        // Not written in halves: an id that is not a number, an element not kept.
        assert!(written.get_or_write("x7", 1, JSON, || read("a")).is_none());
        assert!(written.get_or_write("8", 1, JSON, || None).is_none());
    }

    #[test]
    fn a_forgotten_item_is_written_again_in_every_form() {
        let written = WrittenItems::new(1 << 20);
        let reads = Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            track("7", "a")
        };
        let xml = Form {
            json: false,
            guids: true,
        };
        for form in [JSON, xml] {
            written.get_or_write("7", 1, form, read);
        }
        written.forget(["7"]);
        for form in [JSON, xml] {
            written.get_or_write("7", 1, form, read);
        }
        assert_eq!(reads.get(), 4);
    }

    #[test]
    fn a_text_of_an_element_the_store_replaced_while_it_was_read_is_not_kept() {
        let written = WrittenItems::new(1 << 20);
        let reads = Cell::new(0);
        // The store keeps a new element for item 7 between the read and the keeping.
        let replaced_meanwhile = || {
            reads.set(reads.get() + 1);
            written.forget(["7"]);
            track("7", "old")
        };
        let given = written.get_or_write("7", 1, JSON, replaced_meanwhile);
        assert!(given.is_some(), "the answer still has its text");
        let read_again = || {
            reads.set(reads.get() + 1);
            track("7", "new")
        };
        let now = written.get_or_write("7", 1, JSON, read_again).unwrap();
        assert!(now.0.contains("new"), "{}", now.0);
        assert_eq!(reads.get(), 2);
    }

    fn index(tracks: usize) -> LibraryIndex {
        let records: Vec<ItemRecord> = (0..tracks)
            .map(|n| {
                let mut r = ItemRecord::track(&n.to_string(), "1", "Artist", &format!("Song {n}"));
                r.updated_at = 10;
                r
            })
            .chain(std::iter::once(ItemRecord {
                kind: ItemKind::Album,
                ..ItemRecord::track("900", "1", "Artist", "Album")
            }))
            .collect();
        LibraryIndex::build(&records).unwrap()
    }

    #[test]
    fn writing_ahead_writes_every_item_not_left_out_within_three_quarters_of_the_share() {
        let index = index(40);
        let skip_albums: fn(&ItemView<'_>) -> bool = |v| v.kind() == ItemKind::Album;
        let write = |id: &str, _at: i64| track(id, "a song title");
        let roomy = WrittenItems::new(1 << 20);
        roomy.fill(JSON, &index, skip_albums, &write);
        let asked = Cell::new(0);
        let counted = || {
            asked.set(asked.get() + 1);
            track("0", "x")
        };
        for n in 0..40 {
            roomy.get_or_write(&n.to_string(), 10, JSON, counted);
        }
        assert_eq!(asked.get(), 0, "an item was not written ahead");
        roomy.get_or_write("900", 0, JSON, counted);
        assert_eq!(asked.get(), 1, "an album left out was written ahead");
        // A share that holds about ten items stops at three quarters of it.
        let one_item = weight(&Arc::new(track("10", "a song title").unwrap()));
        let small = WrittenItems::new(10 * one_item);
        small.fill(JSON, &index, skip_albums, &write);
        let kept = small.bytes();
        assert!(
            kept > 0 && kept <= small.capacity / 4 * 3 + one_item,
            "{kept}"
        );
    }
}
