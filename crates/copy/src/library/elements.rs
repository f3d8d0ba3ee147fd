//! The server's own element of every indexed Plex item, and the server's own `BaseItemDto` of
//! every indexed Jellyfin item (kept under `jf:{id}`, see
//! [`crate::dialect::jellyfin::doc`]), kept on disk, so that an answer from the index carries
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
//! Each item's element as the crawl read it from the server's listing
//! (`/library/sections/{id}/all?type=…&includeGuids=1`, JSON): attributes and children in the
//! server's order, less what differs per user (`viewCount`, `viewOffset`, `lastViewedAt`,
//! `userRating`, `lastRatedAt`, `skipCount`; `viewedLeafCount` is kept at 0 where the server
//! writes it). The answering side puts the asking user's play state back from the cache and
//! leaves the `Guid` children out unless the request asks for them (`includeGuids=1`), as the
//! server does. An item whose element is not here (a snapshot from before this store, an item
//! read only through a change event's metadata answer, a store that could not be opened) is
//! not answered from the index: the request goes to the server.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions};
use rustc_hash::FxHashMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::written::{Form, Halves, Written, WrittenItems, decimal_id, hex_id};
use crate::dialect::Profile;
use crate::dialect::answer_body::{CutDocument, DocumentForm};
pub(crate) use crate::dialect::answers::{El, V};
use crate::dialect::{KeptDocument, kept_documents};

/// Where an item's element is cut for its written halves (`El::halves`): the dialect's place
/// of a user's values.
pub(crate) type Cut = fn(&El) -> usize;

/// Attributes that say something about one user, not the item.
const PER_USER: &[&str] = &[
    "viewCount",
    "viewOffset",
    "lastViewedAt",
    "userRating",
    "lastRatedAt",
    "skipCount",
];

/// Distinct attribute and child names the store renders (a server uses a few hundred; the cap
/// bounds what a misbehaving one could make the gateway keep).
const MAX_NAMES: usize = 4096;

const MIB: u64 = 1024 * 1024;

/// One attribute value, typed as the server's JSON typed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    /// Text.
    S(String),
    /// A whole number.
    I(i64),
    /// A fraction.
    F(f64),
    /// A boolean.
    B(bool),
}

/// One element of a Plex JSON document: its attributes and its children (grouped under the
/// key the JSON puts them in), each in the server's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// Attributes in order.
    pub attrs: Vec<(String, Scalar)>,
    /// Children by key (`Media`, `Part`, `Guid`, `Genre` …), in order.
    pub kids: Vec<(String, Vec<Element>)>,
}

/// What a kept element's attributes weigh against the written share (`kept_attrs`).
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

/// An [`Element`] as read back from the store for an answer: the same stored form, its text
/// borrowed from the stored bytes instead of copied into strings of its own (the copy's
/// answers read an element per item, and the copies were a fifth of their time).
#[derive(Deserialize)]
struct ElementRef<'a> {
    #[serde(borrow)]
    attrs: Vec<(&'a str, ScalarRef<'a>)>,
    #[serde(borrow)]
    kids: Vec<(&'a str, Vec<ElementRef<'a>>)>,
}

/// A [`Scalar`] borrowed from the stored bytes (the variants in the same order).
#[derive(Deserialize)]
enum ScalarRef<'a> {
    S(&'a str),
    I(i64),
    F(f64),
    B(bool),
}

/// The attributes of a stored [`Element`], read without its children: postcard writes the
/// attributes first, so reading them alone leaves the children's bytes unread.
#[derive(Deserialize)]
struct AttrsRef<'a> {
    #[serde(borrow)]
    attrs: Vec<(&'a str, ScalarRef<'a>)>,
}

impl AttrsRef<'_> {
    /// The attributes as an [`Element`] without children.
    fn owned(&self) -> Element {
        let attrs = self
            .attrs
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ScalarRef::S(s) => Scalar::S((*s).to_owned()),
                    ScalarRef::I(n) => Scalar::I(*n),
                    ScalarRef::F(f) => Scalar::F(*f),
                    ScalarRef::B(b) => Scalar::B(*b),
                };
                ((*k).to_owned(), v)
            })
            .collect();
        Element {
            attrs,
            kids: Vec::new(),
        }
    }
}

impl ElementRef<'_> {
    fn attr(&self, name: &str) -> Option<&ScalarRef<'_>> {
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// A value inside an element while it is read: an attribute, a list of children, or
/// something an element of Plex's never holds (then the element is not kept).
enum Field {
    Scalar(Scalar),
    Kids(Vec<Element>),
    Null,
    Other,
}

/// An [`Element`] read from the server's JSON (the derived form is the stored one).
struct JsonElement(Element);

impl<'de> Deserialize<'de> for JsonElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = JsonElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a kept element (JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonElement, A::Error> {
                let mut e = Element::default();
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value::<Field>()? {
                        Field::Scalar(v) => e.attrs.push((key, v)),
                        Field::Kids(kids) => e.kids.push((key, kids)),
                        // Plex writes no nulls; one is left out, as the XML form would.
                        Field::Null => {}
                        Field::Other => {
                            return Err(de::Error::custom(format!("unexpected value in {key}")));
                        }
                    }
                }
                Ok(JsonElement(e))
            }
        }
        d.deserialize_map(ElementVisitor)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value or a list of elements")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::B(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::I(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
                Ok(i64::try_from(v).map_or(Field::Other, |n| Field::Scalar(Scalar::I(n))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::F(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::S(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::S(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
                let mut kids = Vec::new();
                while let Some(JsonElement(kid)) = seq.next_element::<JsonElement>()? {
                    kids.push(kid);
                }
                Ok(Field::Kids(kids))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(FieldVisitor)
    }
}

#[derive(Deserialize)]
struct ListingDoc {
    #[serde(rename = "MediaContainer")]
    container: JsonElement,
}

/// Container attributes that describe one page, not the section's listing.
const PAGE_ATTRS: &[&str] = &["size", "totalSize", "offset"];

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

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&Scalar> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.attr(name)? {
            Scalar::S(s) if !s.is_empty() => Some(s.clone()),
            Scalar::I(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The element as kept: per-user attributes removed, `viewedLeafCount` zeroed.
    fn shared(mut self) -> Element {
        self.attrs.retain(|(k, _)| !PER_USER.contains(&k.as_str()));
        for (k, v) in &mut self.attrs {
            if k == "viewedLeafCount" {
                *v = Scalar::I(0);
            }
        }
        self
    }
}

/// A Plex listing answer (JSON) as kept: its container's attributes (less the page's own) and
/// its items by rating key. `None` when the body is not a listing that can be read whole.
pub fn listing_elements(body: &[u8]) -> Option<(Element, Vec<(String, Element)>)> {
    let ListingDoc {
        container: JsonElement(mut container),
    } = serde_json::from_slice(body).ok()?;
    let mut items = Vec::new();
    for (key, kids) in std::mem::take(&mut container.kids) {
        if key == "Metadata" {
            items.extend(
                kids.into_iter()
                    .filter_map(|e| Some((e.text("ratingKey")?, e.shared()))),
            );
        }
    }
    container
        .attrs
        .retain(|(k, _)| !PAGE_ATTRS.contains(&k.as_str()));
    Some((container, items))
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
            documents: Arc::new(WrittenItems::unversioned(capacity, hex_id)),
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
    /// items written ahead (`library::written`).
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
    /// `written` bytes for the items written ahead (`library::written`).
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

    /// Keeps the items of a listing answer (see [`listing_elements`]); returns how many.
    pub fn put_listing(&self, body: &[u8]) -> usize {
        let Some((container, items)) = listing_elements(body) else {
            return 0;
        };
        let mut batch = self.db.batch();
        if let Some(section) = container.text("librarySectionID")
            && let Ok(bytes) = postcard::to_allocvec(&container)
        {
            batch.insert(&self.elements, container_key(&section), bytes);
        }
        let mut kept = 0;
        for (id, element) in &items {
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

    /// Keeps the items of a crawl's or change event's answer: a Plex listing's elements
    /// ([`Self::put_listing`]) or a Jellyfin `QueryResult`'s `BaseItemDto`s
    /// ([`Self::put_documents`]). Returns how many.
    pub fn put_answer(&self, body: &[u8]) -> usize {
        if body.starts_with(br#"{"MediaContainer""#) {
            return self.put_listing(body);
        }
        match kept_documents(body) {
            Some(items) => self.put_items(items),
            None => self.put_listing(body),
        }
    }

    /// Keeps the `BaseItemDto`s of a Jellyfin `QueryResult` answer (`{"Items":[…]}`) by
    /// their `Id`, in the server's property order and with the user data of a user who never
    /// touched them (the dialect's [`kept_documents`]); returns how many.
    pub fn put_documents(&self, body: &[u8]) -> usize {
        kept_documents(body).map_or(0, |items| self.put_items(items))
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

    /// The document element of kept item `id` ([`item_el`]), when it was kept as of
    /// `updated_at` (the index's record of the item); `None` when not kept, older, or not
    /// writable.
    pub fn item_el(&self, id: &str, updated_at: i64, guids: bool) -> Option<El> {
        let bytes = self.elements.get(id.as_bytes()).ok()??;
        let kept: ElementRef<'_> = postcard::from_bytes(&bytes).ok()?;
        let kept_at = match kept.attr("updatedAt") {
            Some(ScalarRef::I(n)) => Some(*n),
            Some(ScalarRef::S(s)) => s.parse().ok(),
            _ => None,
        };
        if kept_at.is_some_and(|at| at != updated_at) {
            return None;
        }
        let tag = match kept.attr("type")? {
            ScalarRef::S(t) => item_tag(t),
            _ => return None,
        };
        fill_ref(El::keyed(tag, "Metadata"), &kept, guids)
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

/// `name` as a `&'static str` for the document tree: the common names are the tree's own
/// constants; others are kept once each, at most [`MAX_NAMES`] of them.
fn name(n: &str) -> Option<&'static str> {
    // Read for every attribute an answer writes: a shared read lock and a fast hash, the
    // write lock only for a name not seen before.
    static NAMES: OnceLock<RwLock<FxHashMap<String, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| RwLock::new(FxHashMap::default()));
    if let Some(s) = names.read().unwrap_or_else(|e| e.into_inner()).get(n) {
        return Some(s);
    }
    let mut names = names.write().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = names.get(n) {
        return Some(s);
    }
    if names.len() >= MAX_NAMES {
        return None;
    }
    let s: &'static str = Box::leak(n.to_string().into_boxed_str());
    names.insert(n.to_string(), s);
    Some(s)
}

/// `n` as a name of the document tree (see [`name`]): for frames learned from the server's
/// answers.
pub(crate) fn interned(n: &str) -> Option<&'static str> {
    name(n)
}

fn value(v: &Scalar) -> V {
    match v {
        Scalar::S(s) => V::S(s.clone()),
        Scalar::I(n) => V::I(*n),
        Scalar::F(f) => V::F(*f),
        Scalar::B(b) => V::B(*b),
    }
}

fn fill(mut el: El, e: &Element, guids: bool) -> Option<El> {
    for (k, v) in &e.attrs {
        el.attrs.push((name(k)?, value(v)));
    }
    for (k, kids) in &e.kids {
        if k == "Guid" && !guids {
            continue;
        }
        let tag = name(k)?;
        for kid in kids {
            el.kids.push(fill(El::keyed(tag, tag), kid, true)?);
        }
    }
    Some(el)
}

/// A kept listing container as a `MediaContainer` (attributes only).
pub fn container_el(e: &Element) -> Option<El> {
    fill(El::container(), e, false)
}

/// The document element of a kept item: `Track`, `Video` or `Directory` by its `type`, in
/// JSON's `Metadata`; the `Guid` children only when `guids`. `None` when it cannot be written.
pub fn item_el(e: &Element, guids: bool) -> Option<El> {
    let tag = match e.attr("type")? {
        Scalar::S(t) => item_tag(t),
        _ => return None,
    };
    fill(El::keyed(tag, "Metadata"), e, guids)
}

/// The tag of an item of Plex type `t`.
fn item_tag(t: &str) -> &'static str {
    match t {
        "track" => "Track",
        "movie" | "episode" | "clip" => "Video",
        "photo" => "Photo",
        _ => "Directory",
    }
}

/// [`fill`] from a borrowed element.
fn fill_ref(mut el: El, e: &ElementRef<'_>, guids: bool) -> Option<El> {
    el.attrs.reserve_exact(e.attrs.len());
    for (k, v) in &e.attrs {
        let v = match v {
            ScalarRef::S(s) => V::S((*s).to_string()),
            ScalarRef::I(n) => V::I(*n),
            ScalarRef::F(f) => V::F(*f),
            ScalarRef::B(b) => V::B(*b),
        };
        el.attrs.push((name(k)?, v));
    }
    for (k, kids) in &e.kids {
        if *k == "Guid" && !guids {
            continue;
        }
        let tag = name(k)?;
        for kid in kids {
            el.kids.push(fill_ref(El::keyed(tag, tag), kid, true)?);
        }
    }
    Some(el)
}

/// Fills `store` as a crawl of an upstream of `profile` would, for what installs an index
/// without one (tests, benchmarks): reads the server's sections through `fetch`, then every
/// section's whole listing of each type the crawl keeps (the dialect's
/// [`whole_listing_paths`](crate::dialect::ServerLibrary::whole_listing_paths)), and keeps
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
    let library = crate::dialect::of(profile).library();
    let sections: serde_json::Value =
        serde_json::from_slice(&fetch(library.sections_path().to_owned()).await)?;
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
    fn keeps_the_servers_order_and_types_less_play_state() {
        let (container, items) = listing_elements(PAGE.as_bytes()).unwrap();
        assert!(container.attrs.is_empty(), "page attributes are not kept");
        assert_eq!(items.len(), 2);
        let (id, track) = &items[0];
        assert_eq!(id, "55");
        let names: Vec<&str> = track.attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["ratingKey", "key", "type", "title", "index", "duration"]
        );
        let kids: Vec<&str> = track.kids.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["Media", "Guid"]);
        let (id, album) = &items[1];
        assert_eq!(id, "56");
        assert_eq!(album.attr("viewedLeafCount"), Some(&Scalar::I(0)));
        assert_eq!(album.attr("rating"), Some(&Scalar::F(7.5)));
        assert_eq!(album.attr("hasPremium"), Some(&Scalar::B(true)));
    }

    #[test]
    fn renders_xml_and_json_with_guids_only_when_asked() {
        let (_, items) = listing_elements(PAGE.as_bytes()).unwrap();
        let plain = item_el(&items[0].1, false).unwrap();
        assert_eq!(plain.tag, "Track");
        let xml = plain.to_xml();
        assert!(
            xml.contains(r#"<Part id="8" file="/m/a.flac" size="123""#),
            "{xml}"
        );
        assert!(!xml.contains("Guid"), "{xml}");
        let with = item_el(&items[0].1, true).unwrap().to_json();
        assert!(with.contains(r#""Guid":[{"id":"mbid://x"}]"#), "{with}");
        let album = item_el(&items[1].1, false).unwrap();
        assert_eq!((album.tag, album.json_key), ("Directory", "Metadata"));
    }

    #[test]
    fn what_is_not_a_listing_is_not_kept() {
        assert!(listing_elements(b"not json").is_none());
        assert!(listing_elements(br#"{"MediaContainer":{"Metadata":[{"a":{"b":1}}]}}"#).is_none());
        let (_, none) = listing_elements(br#"{"MediaContainer":{"size":0}}"#).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn store_round_trip_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let store = ElementStore::open(&dir.path().join("e"), 4 * MIB, MIB).unwrap();
        assert!(store.is_empty());
        assert_eq!(store.put_listing(PAGE.as_bytes()), 2);
        assert!(!store.is_empty());
        let track = store.get("55").unwrap();
        assert_eq!(track.attr("title"), Some(&Scalar::S("Song".into())));
        assert!(store.container("3").is_none());
        store.put_listing(
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
        // Read back for an answer without copying its text: the same element as the owned
        // read's, with and without its `Guid`s, in both formats.
        for id in ["55", "56"] {
            let owned = store.get(id).unwrap();
            let at = match owned.attr("updatedAt") {
                Some(Scalar::I(n)) => *n,
                _ => 0,
            };
            for guids in [false, true] {
                let read = store.item_el(id, at, guids).unwrap();
                assert_eq!(read, item_el(&owned, guids).unwrap(), "{id} {guids}");
            }
        }
        // Kept as of another time than the index's record: not answered from.
        store.put_listing(
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
        store.put_listing(listing("Before").as_bytes());
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
        store.put_listing(listing("After").as_bytes());
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
        store.put_documents(answer("Before").as_bytes());
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
        store.put_documents(answer("After").as_bytes());
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
