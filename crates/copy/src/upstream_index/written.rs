//! Items of the library copy kept written: each item's kept element or document written once
//! per form and cut where the server writes a user's own values, so that an answer from the
//! copy copies text where it would read an element from the store, decode it, fill a tree and
//! write it — per item, what a cache hit never does (docs/benchmarks.md, "What an answer from
//! the copy costs the gateway").
//!
//! * A Plex element's form is JSON or XML, with or without its `Guid` children ([`Form`]); it
//!   is cut in two where the user's play state goes ([`El::halves`]) and kept per version of
//!   the item: a text records the `updatedAt` it was written for and is used only for that
//!   version (the index's record says which is current).
//! * A Jellyfin document's form is the request's `DtoOptions` (fields, images, user data:
//!   [`DocumentForm`]), and its text a [`CutDocument`], cut where the user's `UserData` goes.
//!   A kept document has no version of its own: its texts are kept until the store keeps a
//!   new one ([`WrittenItems::unversioned`]).
//!
//! The texts live in memory, within the `written` share of `memory_max`; a full share keeps
//! what it holds, and items written later are written per answer. When the store keeps a new
//! element for an item, the item's texts are dropped in every form ([`WrittenItems::forget`]).
//! A text written from an element read just before the store changed it is dropped by its
//! writer: every change of the store moves a generation the writer looks at after keeping
//! the text.
//!
//! The first answer in a form starts writing every item the index holds in that form, in the
//! background ([`WrittenItems::fill_once`]), until three quarters of the share is used: a
//! tool's first walk of a library then finds its items written, not only its second.
//!
//! [`El::halves`]: cachearr_serverfmt::tree::El::halves
//! [`DocumentForm`]: cachearr_dialect::answer_body::DocumentForm

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{LibraryIndex, Visibility};
use rustc_hash::{FxBuildHasher, FxHashMap};

use cachearr_dialect::answer_body::CutDocument;

/// An item written in a form: the halves, cut where a user's values go.
pub(crate) type Halves = Arc<(String, String)>;

/// How an item is written: JSON or XML, with or without its `Guid` children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Form {
    pub(crate) json: bool,
    pub(crate) guids: bool,
}

impl Form {
    /// The number the texts of this form are kept under.
    pub(crate) fn key(self) -> u64 {
        u64::from(self.json) | (u64::from(self.guids) << 1)
    }
}

/// A text kept written: what it counts for against the share.
pub(crate) trait Written: Send + Sync + 'static {
    /// Its bytes.
    fn bytes(&self) -> usize;
}

impl Written for (String, String) {
    fn bytes(&self) -> usize {
        self.0.len() + self.1.len()
    }
}

impl Written for CutDocument {
    fn bytes(&self) -> usize {
        self.len()
    }
}

/// What an item's text counts for against the share: its bytes and the entry's own.
fn weight<T: Written>(text: &T) -> u64 {
    (text.bytes() + 64) as u64
}

/// Shards of the texts' map: answers on every worker read it at once.
const SHARDS: usize = 16;

/// An item's texts: the version they were written for, and one per form.
struct Kept<T> {
    at: i64,
    forms: Vec<(u64, Arc<T>)>,
}

type Shard<T> = RwLock<FxHashMap<u128, Kept<T>>>;

/// The written items of one upstream's store (see the module documentation), each text a
/// `T`: Plex's halves of an element, Jellyfin's cut documents.
pub(crate) struct WrittenItems<T> {
    /// By the item's id as a number: the version written for, and a text per form.
    shards: Box<[Shard<T>]>,
    /// How an id is read as a number (`None`: its texts are not kept).
    id_number: fn(&str) -> Option<u128>,
    /// Whether texts are kept per version of their item (the index's `updatedAt`), or only
    /// until the store keeps a new element (then every version is 0).
    versioned: bool,
    /// What the kept texts weigh ([`weight`]).
    bytes: AtomicU64,
    /// Moved by every change of the store (see the module documentation).
    generation: AtomicU64,
    /// The forms whose background writing was started.
    filled: RwLock<HashSet<u64, FxBuildHasher>>,
    capacity: u64,
}

impl<T> std::fmt::Debug for WrittenItems<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrittenItems")
            .field("capacity", &self.capacity)
            .field("bytes", &self.bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// An id written in decimal digits (Plex's `ratingKey`).
pub(crate) fn decimal_id(id: &str) -> Option<u128> {
    id.parse::<u64>().ok().map(u128::from)
}

/// An id of 32 hexadecimal digits (Jellyfin's item ids).
pub(crate) fn hex_id(id: &str) -> Option<u128> {
    if id.len() != 32 {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// A server's document id: 32 hexadecimal digits (Jellyfin's GUIDs) or decimal digits
/// (Emby's numbers). One server's ids are all of one form, so the two never meet in a store.
pub(crate) fn document_id(id: &str) -> Option<u128> {
    hex_id(id).or_else(|| decimal_id(id))
}

impl<T: Written> WrittenItems<T> {
    /// Texts of at most `capacity` bytes in all (0: none are kept), of items whose ids
    /// `id_number` reads ([`decimal_id`], [`hex_id`]), kept per version of the item.
    pub(crate) fn new(capacity: u64, id_number: fn(&str) -> Option<u128>) -> WrittenItems<T> {
        WrittenItems {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            id_number,
            versioned: true,
            bytes: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            filled: RwLock::default(),
            capacity,
        }
    }

    /// The same, keeping texts whatever the item's version until the store keeps a new
    /// element (every version asked is 0).
    pub(crate) fn unversioned(
        capacity: u64,
        id_number: fn(&str) -> Option<u128>,
    ) -> WrittenItems<T> {
        WrittenItems {
            versioned: false,
            ..WrittenItems::new(capacity, id_number)
        }
    }

    fn shard(&self, item: u128) -> &Shard<T> {
        &self.shards[(item as usize) % SHARDS]
    }

    /// Item `id` written in `form` as of `updated_at`: kept, or written now by `write` (from
    /// the store's element as of `updated_at`) and kept while the share has room (an id not
    /// read as a number is written, not kept). `None` when it cannot be written (an element
    /// not kept or older, a cut the form cannot make alike).
    pub(crate) fn get_or_write(
        &self,
        id: &str,
        updated_at: i64,
        form: u64,
        write: impl FnOnce() -> Option<T>,
    ) -> Option<Arc<T>> {
        let Some(item) = (self.id_number)(id) else {
            // Not kept under a number: written for this answer alone.
            return write().map(Arc::new);
        };
        let kept = self
            .shard(item)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&item)
            .filter(|kept| kept.at == updated_at)
            .and_then(|kept| kept.forms.iter().find(|(f, _)| *f == form))
            .map(|(_, text)| text.clone());
        if let Some(text) = kept {
            return Some(text);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let text = Arc::new(write()?);
        self.keep(item, updated_at, form, &text);
        // The store changed while the element was read: the text may be of the element it
        // replaced.
        if self.generation.load(Ordering::Acquire) != generation {
            self.drop_item(item);
        }
        Some(text)
    }

    /// Keeps `text` for `item` in `form` as of `updated_at` if the share has room for it
    /// (what is kept stays: a full share keeps the items written first, and later ones are
    /// written per answer). Texts of another version of the item are dropped.
    fn keep(&self, item: u128, updated_at: i64, form: u64, text: &Arc<T>) {
        let w = weight(text.as_ref());
        if self.bytes.load(Ordering::Relaxed) + w > self.capacity {
            return;
        }
        let mut shard = self.shard(item).write().unwrap_or_else(|e| e.into_inner());
        let kept = shard.entry(item).or_insert_with(|| Kept {
            at: updated_at,
            forms: Vec::new(),
        });
        let mut freed = 0;
        if kept.at != updated_at {
            freed += kept
                .forms
                .drain(..)
                .map(|(_, t)| weight(t.as_ref()))
                .sum::<u64>();
            kept.at = updated_at;
        }
        if let Some(at) = kept.forms.iter().position(|(f, _)| *f == form) {
            freed += weight(kept.forms.swap_remove(at).1.as_ref());
        }
        kept.forms.push((form, text.clone()));
        self.bytes.fetch_add(w, Ordering::Relaxed);
        self.bytes.fetch_sub(freed, Ordering::Relaxed);
    }

    fn drop_item(&self, item: u128) {
        let old = self
            .shard(item)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&item);
        if let Some(old) = old {
            let freed: u64 = old.forms.iter().map(|(_, t)| weight(t.as_ref())).sum();
            self.bytes.fetch_sub(freed, Ordering::Relaxed);
        }
    }

    /// Drops the texts of these items: the store keeps new elements for them (or none).
    pub(crate) fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            if let Some(item) = (self.id_number)(id) {
                self.drop_item(item);
            }
        }
    }

    /// Starts writing every item of `index` in `form` in the background, once per form:
    /// items `skip` says are not written are left out, and the writing stops at three
    /// quarters of the share (so that it does not push out what answers wrote). `write`
    /// writes an item (its id, as of an `updatedAt`) in the form.
    pub(crate) fn fill_once<W>(
        self: &Arc<Self>,
        form: u64,
        index: Arc<LibraryIndex>,
        skip: impl Fn(&ItemView<'_>) -> bool + Send + 'static,
        write: W,
    ) where
        W: Fn(&str, i64) -> Option<T> + Send + 'static,
    {
        // A plain thread's worth of work on the blocking pool: the store's reads block.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.capacity == 0
            || !self
                .filled
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(form)
        {
            return;
        }
        let written = self.clone();
        runtime.spawn_blocking(move || written.fill(form, &index, skip, &write));
    }

    /// Whether the background writing of `form` was started ([`Self::fill_once`]).
    pub(crate) fn started(&self, form: u64) -> bool {
        self.filled
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&form)
    }

    fn fill<W>(
        &self,
        form: u64,
        index: &LibraryIndex,
        skip: impl Fn(&ItemView<'_>) -> bool,
        write: &W,
    ) where
        W: Fn(&str, i64) -> Option<T>,
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
            let id = view.id();
            let at = if self.versioned { view.updated_at() } else { 0 };
            let _ = self.get_or_write(id, at, form, || write(id, at));
        }
        tracing::debug!(
            bytes = self.bytes.load(Ordering::Relaxed),
            form,
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
        let written = WrittenItems::new(1 << 20, decimal_id);
        let reads = Cell::new(0);
        let read = |title: &'static str| {
            reads.set(reads.get() + 1);
            track("7", title)
        };
        let first = written
            .get_or_write("7", 1, JSON.key(), || read("a"))
            .unwrap();
        assert_eq!(first.0, r#"{"ratingKey":"7","title":"a","duration":5"#);
        assert_eq!(first.1, "}");
        let again = written
            .get_or_write("7", 1, JSON.key(), || read("b"))
            .unwrap();
        assert_eq!((again.0.as_str(), reads.get()), (first.0.as_str(), 1));
        // Another form, another version: written again.
        let xml = Form {
            json: false,
            guids: false,
        };
        written
            .get_or_write("7", 1, xml.key(), || read("a"))
            .unwrap();
        assert_eq!(reads.get(), 2, "kept in one form, written in another");
        let newer = written
            .get_or_write("7", 2, JSON.key(), || read("b"))
            .unwrap();
        assert!(newer.0.contains(r#""title":"b""#));
        assert_eq!(reads.get(), 3);
        // An id that is not a number is written, not kept; an element not kept, not written.
        let before = reads.get();
        for _ in 0..2 {
            written
                .get_or_write("x7", 1, JSON.key(), || read("a"))
                .unwrap();
        }
        assert_eq!(reads.get(), before + 2);
        assert!(written.get_or_write("8", 1, JSON.key(), || None).is_none());
    }

    #[test]
    fn a_forgotten_item_is_written_again_in_every_form() {
        let written = WrittenItems::new(1 << 20, decimal_id);
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
            written.get_or_write("7", 1, form.key(), read);
        }
        written.forget(["7"]);
        for form in [JSON, xml] {
            written.get_or_write("7", 1, form.key(), read);
        }
        assert_eq!(reads.get(), 4);
    }

    #[test]
    fn a_text_of_an_element_the_store_replaced_while_it_was_read_is_not_kept() {
        let written = WrittenItems::new(1 << 20, decimal_id);
        let reads = Cell::new(0);
        // The store keeps a new element for item 7 between the read and the keeping.
        let replaced_meanwhile = || {
            reads.set(reads.get() + 1);
            written.forget(["7"]);
            track("7", "old")
        };
        let given = written.get_or_write("7", 1, JSON.key(), replaced_meanwhile);
        assert!(given.is_some(), "the answer still has its text");
        let read_again = || {
            reads.set(reads.get() + 1);
            track("7", "new")
        };
        let now = written
            .get_or_write("7", 1, JSON.key(), read_again)
            .unwrap();
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
        let roomy = WrittenItems::new(1 << 20, decimal_id);
        roomy.fill(JSON.key(), &index, skip_albums, &write);
        let asked = Cell::new(0);
        let counted = || {
            asked.set(asked.get() + 1);
            track("0", "x")
        };
        for n in 0..40 {
            roomy.get_or_write(&n.to_string(), 10, JSON.key(), counted);
        }
        assert_eq!(asked.get(), 0, "an item was not written ahead");
        roomy.get_or_write("900", 0, JSON.key(), counted);
        assert_eq!(asked.get(), 1, "an album left out was written ahead");
        // A share that holds about ten items stops at three quarters of it.
        let one_item = weight(&track("10", "a song title").unwrap());
        let small = WrittenItems::new(10 * one_item, decimal_id);
        small.fill(JSON.key(), &index, skip_albums, &write);
        let kept = small.bytes();
        assert!(
            kept > 0 && kept <= small.capacity / 4 * 3 + one_item,
            "{kept}"
        );
    }

    /// Documents' texts: hex ids, as many forms as requests ask for, kept until the store
    /// keeps a new document, whatever version is asked.
    #[test]
    fn documents_are_kept_per_form_by_their_hex_id_until_forgotten() {
        let written = WrittenItems::unversioned(1 << 20, hex_id);
        let id = "0123456789abcdef0123456789abcdef";
        let reads = Cell::new(0);
        let read = |title: &str| {
            reads.set(reads.get() + 1);
            track(id, title)
        };
        for form in 0..5 {
            written.get_or_write(id, 0, form, || read("a")).unwrap();
        }
        for form in 0..5 {
            let again = written.get_or_write(id, 0, form, || read("b")).unwrap();
            assert!(again.0.contains(r#""title":"a""#));
        }
        assert_eq!(reads.get(), 5, "each form written once");
        written.forget([id]);
        assert_eq!(written.bytes(), 0, "every form's text dropped");
        let now = written.get_or_write(id, 0, 3, || read("b")).unwrap();
        assert!(now.0.contains(r#""title":"b""#));
        // Not a 32-digit hex id: written per answer.
        for other in ["12", "0123456789abcdef0123456789abcdeg", "x"] {
            written.get_or_write(other, 0, 0, || read("c")).unwrap();
            written.get_or_write(other, 0, 0, || read("c")).unwrap();
        }
        assert_eq!(reads.get(), 6 + 6);
        assert_eq!(decimal_id("57"), Some(57));
        assert_eq!(hex_id(id), Some(0x0123456789abcdef0123456789abcdef));
        assert_eq!(document_id(id), hex_id(id));
        assert_eq!(document_id("1234"), Some(1234));
        assert_eq!(document_id("12ab"), None);
    }
}
