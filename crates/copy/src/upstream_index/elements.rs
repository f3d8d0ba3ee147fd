//! The server's own element of every indexed Plex item, and the server's own `BaseItemDto` of
//! every indexed Jellyfin item (kept under `jf:{id}`, see
//! [`cachearr_dialect::jellyfin::doc`]), kept on disk, so that an answer from the index carries
//! exactly what the server's answer would (`guid`, `summary`, `Media` / `Part` with the file
//! path, `leafCount` …; `ImageTags`, `PremiereDate`, `Container` …) without the index holding
//! any of it in memory.
//!
//! # Why on disk
//! A million-track index must stay within 512 MiB of memory, and it already takes most of
//! that; a track's listing element is about a kilobyte. The index finds which items answer a
//! search and in what order; the few elements a page shows are then read from this store
//! (an LSM tree: a point read is a block-cache hit or one small disk read).
//!
//! # Where
//! With the disk tier on, the store is a keyspace of the disk tier's own database
//! (`{data_dir}/cache`, keyspace `shared:elements-{upstream}`): one journal, block cache and
//! background worker for everything the gateway keeps on disk, and its tables counted against
//! `disk_max` with the cache's records. A store of its own doubled the journal (fjall's
//! minimum, 64 MiB) during a crawl. Without the disk tier it is a database of its own in
//! `{data_dir}/library/{upstream}.elements/`. Either way its memory is its memtable's share
//! of `memory_max` (and, on its own, a block cache as large).
//!
//! Tables are LZ4-compressed on every level: an element is text with the same attribute
//! names over and over, and fjall's default leaves the first two levels uncompressed, which is
//! where a store written once by a crawl mostly lies.
//!
//! # What is kept
//! What the crawl's and the change events' answers hold, as the dialect reads them
//! ([`kept_answer`]): each item's element as the server's listing wrote it (Plex's
//! `/library/sections/{id}/all?type=…&includeGuids=1`, JSON), attributes and children in the
//! server's order, less what differs per user; or each item's document (Jellyfin's
//! `BaseItemDto`). The answering side puts the asking user's play state back from the cache,
//! and the dialect writes a kept element back as the server would ([`item_el`]). An item
//! whose element is not here (a snapshot from before this store, an item read only through a
//! change event's metadata answer, a store that could not be opened) is not answered from the
//! index: the request goes to the server.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions};

use super::written::{Form, Halves, Written, WrittenItems, decimal_id, document_id};
use cachearr_dialect::Profile;
use cachearr_dialect::answer_body::{CutDocument, DocumentForm};
use cachearr_dialect::kept::{AttrsRef, ElementRef, Kept, KeptDocument, item_el, kept_answer};
pub(crate) use cachearr_dialect::kept::{Element, Scalar, container_el, interned};
pub(crate) use cachearr_serverfmt::tree::El;

/// Where an item's element is cut for its written halves (`El::halves`): the dialect's place
/// of a user's values.
pub(crate) type Cut = fn(&El) -> usize;

const MIB: u64 = 1024 * 1024;

impl Written for Element {
    fn bytes(&self) -> usize {
        let scalar = |v: &Scalar| match v {
            Scalar::S(s) => s.len(),
            _ => 8,
        };
        let attrs: usize = self
            .attrs
            .iter()
            .map(|(k, v)| 32 + k.len() + scalar(v))
            .sum();
        let kids: usize = self
            .kids
            .iter()
            .flat_map(|(_, list)| list)
            .map(Written::bytes)
            .sum();
        attrs + kids
    }
}

/// The key of a Jellyfin item's document (apart from Plex's rating keys).
/// Where a Jellyfin season is listed under its series (the key alone; a prefix scan of
/// `jf-season:{series}\0` finds the series' seasons).
fn season_key(series: &str, id: &str) -> Vec<u8> {
    let mut key = season_prefix(series);
    key.extend_from_slice(id.as_bytes());
    key
}

fn season_prefix(series: &str) -> Vec<u8> {
    let mut key = b"jf-season:".to_vec();
    key.extend_from_slice(series.as_bytes());
    key.push(0);
    key
}

fn document_key(id: &str) -> Vec<u8> {
    let mut key = b"jf:".to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

/// The key a section's listing container is kept under (no rating key starts with NUL).
fn container_key(section: &str) -> Vec<u8> {
    let mut key = b"\0container\0".to_vec();
    key.extend_from_slice(section.as_bytes());
    key
}

/// The on-disk store of one upstream's item elements.
pub struct ElementStore {
    db: Database,
    elements: Keyspace,
    /// What is kept written in memory for answers, dropped with its item.
    texts: Texts,
}

/// What an [`ElementStore`] keeps written in memory for answers ([`WrittenItems`]), each
/// dropped with its item when the store keeps a new element or document for it, or none.
struct Texts {
    /// Elements in halves, per form.
    halves: Arc<WrittenItems<(String, String)>>,
    /// The attributes of the elements walks' frames read (parents, grandparents, a first
    /// child: [`ElementStore::kept_attrs`]), decoded once.
    attrs: Arc<WrittenItems<Element>>,
    /// Kept documents, cut per form ([`CutDocument`]). A store keeps elements or documents,
    /// as its server writes them: the other side stays empty.
    documents: Arc<WrittenItems<CutDocument>>,
}

impl Texts {
    /// Texts within `capacity` bytes each for halves and documents, a sixteenth of it for
    /// attributes.
    fn new(capacity: u64) -> Texts {
        Texts {
            halves: Arc::new(WrittenItems::new(capacity, decimal_id)),
            attrs: Arc::new(WrittenItems::unversioned(capacity / 16, decimal_id)),
            documents: Arc::new(WrittenItems::unversioned(capacity, document_id)),
        }
    }

    /// Drops every text of these items.
    fn forget<'a>(&self, ids: impl Iterator<Item = &'a str> + Clone) {
        self.halves.forget(ids.clone());
        self.attrs.forget(ids.clone());
        self.documents.forget(ids);
    }
}

impl fmt::Debug for ElementStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElementStore").finish_non_exhaustive()
    }
}

/// Why an element store cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElementStoreError {
    /// Its directory cannot be made.
    #[error(transparent)]
    Directory(#[from] std::io::Error),
    /// The store refused to open (in use, unreadable, not writable).
    #[error(transparent)]
    Store(#[from] fjall::Error),
    /// The disk tier's database refused the keyspace.
    #[error(transparent)]
    Shared(#[from] cachearr_engine::TierError),
}

impl ElementStore {
    /// Opens (or creates) the store in directory `path`, with `memory` bytes (its share of
    /// `memory_max`) for its block cache and memtable, half each, and `written` bytes for the
    /// items written ahead (`upstream_index::written`).
    ///
    /// # Errors
    /// [`ElementStoreError`] when it cannot be opened (in use, unreadable, not writable).
    pub fn open(path: &Path, memory: u64, written: u64) -> Result<ElementStore, ElementStoreError> {
        std::fs::create_dir_all(path)?;
        let half = (memory / 2).max(MIB / 2);
        let db = Database::builder(path)
            .worker_threads(1)
            .cache_size(half)
            // fjall's minimum.
            .max_journaling_size(64 * MIB)
            .open()?;
        let elements = db.keyspace("elements", || keyspace_options(half))?;
        Ok(ElementStore {
            db,
            elements,
            texts: Texts::new(written),
        })
    }

    /// Opens (or creates) upstream `upstream`'s store as a keyspace of the disk tier's
    /// database, with a memtable of `memory` bytes (reads use the tier's block cache) and
    /// `written` bytes for the items written ahead (`upstream_index::written`).
    ///
    /// # Errors
    /// [`ElementStoreError::Shared`] when the keyspace cannot be opened.
    pub fn in_disk_tier(
        disk: &cachearr_engine::DiskTier,
        upstream: &str,
        memory: u64,
        written: u64,
    ) -> Result<ElementStore, ElementStoreError> {
        let memtable = memory.max(MIB);
        let shared = disk.shared_keyspace(&format!("elements-{upstream}"), || {
            keyspace_options(memtable)
        })?;
        Ok(ElementStore {
            db: shared.database,
            elements: shared.keyspace,
            texts: Texts::new(written),
        })
    }

    /// Keeps the items of a crawl's or change event's answer, as the dialect reads it
    /// ([`kept_answer`]): a listing's elements (and its container, under the section it
    /// names) or the items' documents. Returns how many.
    pub fn put_answer(&self, body: &[u8]) -> usize {
        match kept_answer(body) {
            Some(Kept::Elements {
                section,
                container,
                items,
            }) => self.put_elements(section, &container, &items),
            Some(Kept::Documents(items)) => self.put_items(items),
            None => 0,
        }
    }

    fn put_elements(
        &self,
        section: Option<String>,
        container: &Element,
        items: &[(String, Element)],
    ) -> usize {
        let mut batch = self.db.batch();
        if let Some(section) = section
            && let Ok(bytes) = postcard::to_allocvec(container)
        {
            batch.insert(&self.elements, container_key(&section), bytes);
        }
        let mut kept = 0;
        for (id, element) in items {
            if let Ok(bytes) = postcard::to_allocvec(element) {
                batch.insert(&self.elements, id.as_bytes(), bytes);
                kept += 1;
            }
        }
        let committed = batch.commit();
        self.texts.forget(items.iter().map(|(id, _)| id.as_str()));
        match committed {
            Ok(()) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "library elements: writing failed");
                0
            }
        }
    }

    fn put_items(&self, items: Vec<KeptDocument>) -> usize {
        let mut batch = self.db.batch();
        let mut kept = 0;
        let mut ids = Vec::with_capacity(items.len());
        for KeptDocument {
            id,
            season_of,
            text,
        } in items
        {
            if let Some(series) = season_of {
                batch.insert(&self.elements, season_key(&series, &id), Vec::new());
            }
            batch.insert(&self.elements, document_key(&id), text.into_bytes());
            ids.push(id);
            kept += 1;
        }
        let committed = batch.commit();
        self.texts.forget(ids.iter().map(String::as_str));
        match committed {
            Ok(()) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "library documents: writing failed");
                0
            }
        }
    }

    /// `read` of the kept `BaseItemDto` of Jellyfin item `id`, as kept (JSON), read in place.
    pub fn read_document<R>(&self, id: &str, read: impl FnOnce(&[u8]) -> R) -> Option<R> {
        Some(read(&self.elements.get(document_key(id)).ok()??))
    }

    /// The kept `BaseItemDto` of Jellyfin item `id`, as kept (JSON).
    pub fn document_json(&self, id: &str) -> Option<Vec<u8>> {
        Some(self.elements.get(document_key(id)).ok()??.to_vec())
    }

    /// The ids of the seasons of Jellyfin series `series` whose documents were kept (a season
    /// forgotten since may still be named: its document is gone).
    pub fn seasons_of(&self, series: &str) -> Vec<String> {
        let prefix = season_prefix(series);
        self.elements
            .prefix(&prefix)
            .filter_map(|guard| guard.key().ok())
            .filter_map(|key| {
                std::str::from_utf8(key.get(prefix.len()..)?)
                    .ok()
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Every kept key and value, for the library copy a gateway publishes to the others
    /// sharing its Redis (`keeper::shared`).
    pub fn export(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.elements
            .iter()
            .filter_map(|guard| guard.into_inner().ok())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// Keeps what [`Self::export`] gave on another gateway, in place of what this store
    /// kept (the published copy replaces the follower's own); how many.
    pub fn import(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
        let old: Vec<Vec<u8>> = self
            .elements
            .iter()
            .filter_map(|guard| guard.key().ok())
            .map(|k| k.to_vec())
            .collect();
        let mut batch = self.db.batch();
        for key in &old {
            batch.remove(&self.elements, key.as_slice());
        }
        for (key, value) in pairs {
            batch.insert(&self.elements, key.as_slice(), value.as_slice());
        }
        let committed = batch.commit();
        let ids: Vec<&str> = (old.iter().chain(pairs.iter().map(|(k, _)| k)))
            .filter_map(|k| std::str::from_utf8(k).ok())
            .map(|k| k.strip_prefix("jf:").unwrap_or(k))
            .collect();
        self.texts.forget(ids.iter().copied());
        match committed {
            Ok(()) => pairs.len(),
            Err(e) => {
                tracing::warn!(error = %e, "library elements: keeping the published copy failed");
                0
            }
        }
    }

    /// Forgets the elements of these items (their listing form is not known any more).
    pub fn remove(&self, ids: &[String]) {
        // Whatever happens to the store below, no text of these items stays.
        let _forget = ForgetOnDrop(&self.texts, ids);
        for id in ids {
            let removed = self
                .elements
                .remove(id.as_bytes())
                .and_then(|()| self.elements.remove(document_key(id)));
            if let Err(e) = removed {
                tracing::warn!(error = %e, "library elements: removing failed");
                return;
            }
        }
    }

    /// The element of item `id`, if kept.
    pub fn get(&self, id: &str) -> Option<Element> {
        let bytes = self.elements.get(id.as_bytes()).ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    /// The attributes of item `id`'s element, if kept, without its children (a walk's frame
    /// reads only attributes; an item's `Media`, `Part` and `Stream` are most of its bytes).
    pub fn attrs(&self, id: &str) -> Option<Element> {
        let bytes = self.elements.get(id.as_bytes()).ok()??;
        let (attrs, _children) = postcard::take_from_bytes::<AttrsRef<'_>>(&bytes).ok()?;
        Some(attrs.owned())
    }

    /// [`Self::attrs`], decoded once and kept (in a sixteenth of the written share) until the
    /// store keeps a new element for the item: a walk's frame reads its parent's on every
    /// answer.
    pub(crate) fn kept_attrs(&self, id: &str) -> Option<Arc<Element>> {
        self.texts.attrs.get_or_write(id, 0, 0, || self.attrs(id))
    }

    /// The document element of kept item `id` (the dialect's [`item_el`]), when it was kept
    /// as of `updated_at` (the index's record of the item); `None` when not kept, older, or
    /// not writable.
    pub fn item_el(&self, id: &str, updated_at: i64, guids: bool) -> Option<El> {
        let bytes = self.elements.get(id.as_bytes()).ok()??;
        let kept: ElementRef<'_> = postcard::from_bytes(&bytes).ok()?;
        item_el(&kept, updated_at, guids)
    }

    /// Item `id` written in halves in `form` as of `updated_at`, cut by `cut` (see
    /// [`WrittenItems`]); `None` when it cannot be (not kept, older, a cut the form cannot
    /// make).
    pub(crate) fn written(
        &self,
        id: &str,
        updated_at: i64,
        form: Form,
        cut: Cut,
    ) -> Option<Halves> {
        self.texts
            .halves
            .get_or_write(id, updated_at, form.key(), || {
                self.write_item(id, updated_at, form, cut)
            })
    }

    /// The kept document of item `id` written in `form` and cut where the user's values go
    /// (see [`WrittenItems`]); `None` when it cannot be (not kept, not writable in the form).
    pub(crate) fn written_document(
        &self,
        id: &str,
        form: &DocumentForm,
    ) -> Option<Arc<CutDocument>> {
        // A store's document has no version of its own: a new one drops the texts.
        self.texts.documents.get_or_write(id, 0, form.key(), || {
            self.read_document(id, |kept| form.cut(kept)).flatten()
        })
    }

    /// Starts writing every document of `index` in `form` ahead, once per form, in the
    /// background ([`WrittenItems::fill_once`]).
    pub(crate) fn write_documents_ahead(
        self: &Arc<Self>,
        form: &DocumentForm,
        index: Arc<cachearr_library::LibraryIndex>,
    ) {
        let key = form.key();
        if self.texts.documents.started(key) {
            return;
        }
        let (store, form) = (self.clone(), form.clone());
        let write = move |id: &str, _at| store.read_document(id, |kept| form.cut(kept)).flatten();
        self.texts.documents.fill_once(key, index, |_| false, write);
    }

    /// Item `id`'s element as of `updated_at`, written in `form` and cut by `cut`.
    fn write_item(
        &self,
        id: &str,
        updated_at: i64,
        form: Form,
        cut: Cut,
    ) -> Option<(String, String)> {
        let el = self.item_el(id, updated_at, form.guids)?;
        el.halves(cut(&el), form.json)
    }

    /// What the items kept written hold now, in bytes: halves, documents and the decoded
    /// attributes walks' frames read.
    pub fn written_bytes(&self) -> u64 {
        self.texts.halves.bytes() + self.texts.attrs.bytes() + self.texts.documents.bytes()
    }

    /// Starts writing every item of `index` in `form` ahead, once per form, in the
    /// background ([`WrittenItems::fill_once`]).
    pub(crate) fn write_ahead(
        self: &Arc<Self>,
        form: Form,
        index: Arc<cachearr_library::LibraryIndex>,
        cut: Cut,
        skip: impl Fn(&cachearr_library::index::ItemView<'_>) -> bool + Send + 'static,
    ) {
        // Asked on every answer in the form: nothing is made once the writing has started.
        if self.texts.halves.started(form.key()) {
            return;
        }
        let store = self.clone();
        self.texts
            .halves
            .fill_once(form.key(), index, skip, move |id, at| {
                store.write_item(id, at, form, cut)
            });
    }

    /// The attributes of section `section`'s listing container as the server last wrote them
    /// (`mediaTagVersion` and the rest), if kept.
    pub fn container(&self, section: &str) -> Option<Element> {
        let bytes = self.elements.get(container_key(section)).ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    /// The attributes of section `section`'s kept listing container ([`Self::container`]
    /// without its children).
    pub fn container_attrs(&self, section: &str) -> Option<Element> {
        let bytes = self.elements.get(container_key(section)).ok()??;
        let (attrs, _children) = postcard::take_from_bytes::<AttrsRef<'_>>(&bytes).ok()?;
        Some(attrs.owned())
    }

    /// Whether no element is kept at all.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty().unwrap_or(true)
    }
}

/// Drops the texts of items when a removal ends, however it ends.
struct ForgetOnDrop<'a>(&'a Texts, &'a [String]);

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1.iter().map(String::as_str));
    }
}

/// How the elements keyspace is made: a memtable of `memtable` bytes, tables compressed on
/// every level (see the module's documentation).
fn keyspace_options(memtable: u64) -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .max_memtable_size(memtable)
        .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
}

/// Fills `store` as a crawl of an upstream of `profile` would, for what installs an index
/// without one (tests, benchmarks): reads the server's sections through `fetch`, then every
/// section's whole listing of each type the crawl keeps (the dialect's
/// [`whole_listing_paths`](cachearr_dialect::ServerLibrary::whole_listing_paths)), and keeps
/// each answer's items. `fetch` answers the body of a GET of a path on the server, asked for
/// as JSON. Returns how many items were kept.
///
/// # Errors
/// The sections answer is not JSON.
pub async fn fill_kept<F, Fut>(
    store: &ElementStore,
    profile: Profile,
    mut fetch: F,
) -> Result<usize, serde_json::Error>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = bytes::Bytes>,
{
    let library = cachearr_dialect::of(profile).library();
    let sections: serde_json::Value =
        serde_json::from_slice(&fetch(library.facts().sections_path.to_owned()).await)?;
    let mut kept = 0;
    for path in library.whole_listing_paths(&sections) {
        kept += store.put_answer(&fetch(path).await);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"MediaContainer":{"size":2,"totalSize":9,"Metadata":[
        {"ratingKey":"55","key":"/library/metadata/55","type":"track","title":"Song",
         "viewCount":3,"lastViewedAt":1700000000,"userRating":8.0,"index":2,"duration":200000,
         "Media":[{"id":7,"duration":200000,"audioCodec":"flac",
                   "Part":[{"id":8,"file":"/m/a.flac","size":123}]}],
         "Guid":[{"id":"mbid://x"}]},
        {"ratingKey":56,"type":"album","title":"Album","leafCount":9,"viewedLeafCount":4,
         "rating":7.5,"loudnessAnalysisVersion":"1","hasPremium":true}
    ]}}"#;

    #[test]
    fn store_round_trip_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let store = ElementStore::open(&dir.path().join("e"), 4 * MIB, MIB).unwrap();
        assert!(store.is_empty());
        assert_eq!(store.put_answer(PAGE.as_bytes()), 2);
        assert!(!store.is_empty());
        let track = store.get("55").unwrap();
        assert_eq!(track.attr("title"), Some(&Scalar::S("Song".into())));
        assert!(store.container("3").is_none());
        store.put_answer(
            br#"{"MediaContainer":{"size":0,"librarySectionID":3,"mediaTagVersion":17,"viewGroup":"track"}}"#,
        );
        let kept = store.container("3").unwrap();
        let names: Vec<&str> = kept.attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["librarySectionID", "mediaTagVersion", "viewGroup"]);
        assert_eq!(store.container_attrs("3").unwrap(), kept);
        // The attributes alone, read without the children, are the whole element's.
        assert!(
            !store.get("55").unwrap().kids.is_empty(),
            "children to leave unread"
        );
        for id in ["55", "56"] {
            let whole = store.get(id).unwrap();
            let attrs = store.attrs(id).unwrap();
            assert_eq!(attrs.attrs, whole.attrs, "{id}");
            assert!(attrs.kids.is_empty());
        }
        assert!(store.attrs("404").is_none());
        // Read back for an answer without copying its text, as the server writes it: its
        // children, its `Guid`s only when asked for.
        let plain = store.item_el("55", 0, false).unwrap();
        assert_eq!(plain.tag, "Track");
        let xml = plain.to_xml();
        assert!(
            xml.contains(r#"<Part id="8" file="/m/a.flac" size="123""#),
            "{xml}"
        );
        assert!(!xml.contains("Guid"), "{xml}");
        let with = store.item_el("55", 0, true).unwrap().to_json();
        assert!(with.contains(r#""Guid":[{"id":"mbid://x"}]"#), "{with}");
        assert_eq!(store.item_el("56", 0, false).unwrap().tag, "Directory");
        // Kept as of another time than the index's record: not answered from.
        store.put_answer(
            br#"{"MediaContainer":{"Metadata":[{"ratingKey":"57","type":"movie","updatedAt":100}]}}"#,
        );
        assert!(store.item_el("57", 100, false).is_some());
        assert!(store.item_el("57", 101, false).is_none());
        store.remove(&["55".to_string()]);
        assert!(store.item_el("55", 0, false).is_none());
        assert!(store.get("55").is_none());
        assert!(store.get("56").is_some());
    }

    /// Where the test cuts an element: before its `duration`, or at the end.
    fn before_duration(el: &El) -> usize {
        el.attrs
            .iter()
            .position(|(k, _)| *k == "duration")
            .unwrap_or(el.attrs.len())
    }

    #[test]
    fn an_item_kept_written_follows_the_element_the_store_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let store = ElementStore::open(&dir.path().join("e"), 4 * MIB, MIB).unwrap();
        let listing = |title: &str| {
            format!(
                r#"{{"MediaContainer":{{"Metadata":[{{"ratingKey":"57","type":"movie","title":"{title}","updatedAt":100,"duration":5}}]}}}}"#
            )
        };
        store.put_answer(listing("Before").as_bytes());
        let title = |attrs: &Element| {
            attrs
                .attrs
                .iter()
                .find(|(k, _)| k == "title")
                .map(|(_, v)| format!("{v:?}"))
        };
        let attrs = store.kept_attrs("57").unwrap();
        assert!(title(&attrs).unwrap().contains("Before"));
        assert!(
            Arc::ptr_eq(&attrs, &store.kept_attrs("57").unwrap()),
            "decoded once"
        );
        assert!(
            store.written_bytes() > 0,
            "the kept attributes are reported"
        );
        let json = Form {
            json: true,
            guids: false,
        };
        let (head, tail) = &*store.written("57", 100, json, before_duration).unwrap();
        assert_eq!(
            (head.as_str(), tail.as_str()),
            (
                r#"{"ratingKey":"57","type":"movie","title":"Before","updatedAt":100"#,
                r#","duration":5}"#
            )
        );
        let xml = Form {
            json: false,
            guids: false,
        };
        let whole = store.written("57", 100, xml, before_duration).unwrap();
        assert_eq!(
            format!("{}{}", whole.0, whole.1),
            r#"<Video ratingKey="57" type="movie" title="Before" updatedAt="100" duration="5"/>"#
        );
        // A new element for the item (the same `updatedAt`: a fuller read of it) is written
        // again, in every form; an older version than the index's record is not written.
        store.put_answer(listing("After").as_bytes());
        for form in [json, xml] {
            let now = store.written("57", 100, form, before_duration).unwrap();
            assert!(now.0.contains("After"), "{form:?}: {}", now.0);
        }
        assert!(store.written("57", 101, json, before_duration).is_none());
        assert!(
            title(&store.kept_attrs("57").unwrap())
                .unwrap()
                .contains("After")
        );
        store.remove(&["57".to_string()]);
        assert!(store.written("57", 100, json, before_duration).is_none());
        assert!(store.kept_attrs("57").is_none());
    }

    #[test]
    fn a_document_kept_written_follows_the_document_the_store_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let store = ElementStore::open(&dir.path().join("e"), 4 * MIB, MIB).unwrap();
        let id = "0123456789abcdef0123456789abcdef";
        let answer = |name: &str| {
            format!(
                r#"{{"Items":[{{"Name":"{name}","Id":"{id}","Type":"Audio","UserData":{{"PlayCount":3,"Played":true,"Key":"k","ItemId":"{id}"}},"Etag":"e"}}]}}"#
            )
        };
        store.put_answer(answer("Before").as_bytes());
        let form = DocumentForm::parse(&[]).unwrap();
        let first = store.written_document(id, &form).unwrap();
        assert!(first.head.contains("Before") && first.untouched.contains(r#""PlayCount":0"#));
        assert!(Arc::ptr_eq(
            &first,
            &store.written_document(id, &form).unwrap()
        ));
        let off = DocumentForm::parse(&[("enableuserdata".into(), "false".into())]).unwrap();
        assert!(
            !store
                .written_document(id, &off)
                .unwrap()
                .head
                .contains("UserData")
        );
        // A new document for the item is written again, in every form.
        store.put_answer(answer("After").as_bytes());
        for form in [&form, &off] {
            assert!(
                store
                    .written_document(id, form)
                    .unwrap()
                    .head
                    .contains("After")
            );
        }
        store.remove(&[id.to_string()]);
        assert!(store.written_document(id, &form).is_none());
    }
}
