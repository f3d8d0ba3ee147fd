//! The in-memory library index.
//!
//! # Layout (why it is this shape)
//! A million tracks must fit in well under 512 MiB, so items are not kept as records of
//! `String`s (24 bytes of header plus an allocation each). All text lives in one arena
//! (`IndexData::text`); an item (`Slot`) holds 8-byte spans into it. Text that many items
//! share (album titles, artist credits, directories, section ids) is interned once. Lookup maps
//! are sorted vectors of `(hash, item)` pairs — a binary search is a few hundred nanoseconds
//! and costs 12–16 bytes per entry, against ~3× that for a hash map — and posting lists
//! (title trigrams, artist blocks) are CSR arrays (offsets + one flat `u32` vector).
//!
//! Only `IndexData` (items and text) is persisted; the maps are derived and rebuilt on load
//! from the stored normalised forms, without normalising anything again.
//!
//! # Visibility
//! Every method that returns items takes a [`Visibility`]: the sections the asking user may
//! see. Items of other sections are filtered out before anything is ranked or returned.
//!
//! # Map
//! This file holds the stored layout (`IndexData`, `Slot`), [`Visibility`] and the lookups
//! of [`LibraryIndex`]; `builder` builds an index and derives its maps, `search` answers title
//! searches, `view` reads one item ([`ItemView`]). Tests are in `index/tests.rs`.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use crate::LibraryError;
use crate::normalize::{self, VersionTags};
use crate::record::{self, ItemKind, ItemRecord};

mod builder;
mod search;
mod view;
pub use builder::*;
pub use view::*;

/// A position in one [`LibraryIndex`] (not stable across rebuilds; use the item id for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemNo(pub u32);

/// A byte range in the text arena.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// A range in one of the `u32` pools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PoolRange {
    start: u32,
    len: u32,
}

const NONE: u32 = u32::MAX;

/// One item, compactly: spans into the text arena and small numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Slot {
    id: Span,
    title: Span,
    /// Normalised base title (see [`normalize::parse_title`]).
    title_norm: Span,
    version_text: Span,
    edit_text: Span,
    /// Raw artist credits, each a span, in `credit_pool`.
    credits: PoolRange,
    /// Normalised artist names (ids into `artist_names`) in `artist_pool`: the split credits
    /// plus artists featured in the title.
    artists: PoolRange,
    /// Into `albums`, or [`NONE`].
    album: u32,
    dir: Span,
    file: Span,
    isrc: Span,
    /// Into `mbid_pool`.
    mbids: PoolRange,
    /// Milliseconds; [`NONE`] when unknown.
    duration_ms: u32,
    /// 0 when unknown.
    year: u16,
    section: u16,
    kind: u8,
    version: u8,
    added_at: i64,
    updated_at: i64,
    /// Parent and grandparent server ids (interned: an album's tracks share them).
    parent: Span,
    grandparent: Span,
    /// Track / episode number; [`NONE`] when unknown.
    index: u32,
    /// Disc / season number; [`NONE`] when unknown.
    parent_index: u32,
    /// Other normalised forms of a track's title ([`normalize::ParsedTitle::alternates`]),
    /// spans in `credit_pool`: kept so loading a snapshot never parses titles again.
    alternates: PoolRange,
}

/// An album (or a show, for episodes): interned by title and album artist.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AlbumEntry {
    title: Span,
    norm: Span,
    artist: Span,
    /// Normalised album artist id into `artist_names`, or [`NONE`].
    artist_id: u32,
}

/// The persisted part of the index: items and their text. Everything else is derived.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IndexData {
    pub(crate) text: String,
    pub(crate) sections: Vec<Span>,
    pub(crate) artist_names: Vec<Span>,
    pub(crate) albums: Vec<AlbumEntry>,
    pub(crate) items: Vec<Slot>,
    pub(crate) credit_pool: Vec<Span>,
    pub(crate) artist_pool: Vec<u32>,
    pub(crate) mbid_pool: Vec<u128>,
}

impl IndexData {
    /// Returns unused capacity to the allocator.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.sections.shrink_to_fit();
        self.artist_names.shrink_to_fit();
        self.albums.shrink_to_fit();
        self.items.shrink_to_fit();
        self.credit_pool.shrink_to_fit();
        self.artist_pool.shrink_to_fit();
        self.mbid_pool.shrink_to_fit();
    }

    fn str(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.text
            .get(start..start + span.len as usize)
            .unwrap_or("")
    }

    fn pool<T>(pool: &[T], range: PoolRange) -> &[T] {
        let start = range.start as usize;
        pool.get(start..start + range.len as usize).unwrap_or(&[])
    }
}

/// Posting lists in compressed-sparse-row form: `keys[i]` owns `items[offsets[i]..offsets[i+1]]`.
#[derive(Debug, Default)]
struct Postings {
    keys: Vec<u32>,
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Postings {
    /// Builds postings from `(key, item)` pairs given twice by `emit` (count, then fill), so no
    /// temporary vector of all pairs is ever held.
    fn build(emit: impl Fn(&mut dyn FnMut(u32, u32))) -> Postings {
        let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
        emit(&mut |key, _| *counts.entry(key).or_insert(0) += 1);
        let mut keys: Vec<u32> = counts.keys().copied().collect();
        keys.sort_unstable();
        let mut offsets = Vec::with_capacity(keys.len() + 1);
        let mut cursor: FxHashMap<u32, u32> = FxHashMap::default();
        cursor.reserve(keys.len());
        let mut total = 0u32;
        for key in &keys {
            offsets.push(total);
            cursor.insert(*key, total);
            total += counts.get(key).copied().unwrap_or(0);
        }
        offsets.push(total);
        drop(counts);
        let mut items = vec![0u32; total as usize];
        emit(&mut |key, item| {
            if let Some(at) = cursor.get_mut(&key) {
                if let Some(slot) = items.get_mut(*at as usize) {
                    *slot = item;
                }
                *at += 1;
            }
        });
        Postings {
            keys,
            offsets,
            items,
        }
    }

    fn get(&self, key: u32) -> &[u32] {
        match self.keys.binary_search(&key) {
            Ok(at) => {
                let start = self.offsets[at] as usize;
                let end = self.offsets[at + 1] as usize;
                &self.items[start..end]
            }
            Err(_) => &[],
        }
    }

    fn heap_bytes(&self) -> usize {
        (self.keys.capacity() + self.offsets.capacity() + self.items.capacity()) * 4
    }
}

/// A sorted `(key, item)` multimap.
#[derive(Debug, Default)]
struct SortedMap<K> {
    pairs: Vec<(K, u32)>,
}

impl<K: Ord + Copy> SortedMap<K> {
    fn new(mut pairs: Vec<(K, u32)>) -> SortedMap<K> {
        pairs.sort_unstable();
        pairs.shrink_to_fit();
        SortedMap { pairs }
    }

    fn get(&self, key: K) -> impl Iterator<Item = u32> + '_ {
        let start = self.pairs.partition_point(|(k, _)| *k < key);
        self.pairs[start..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, item)| *item)
    }

    fn heap_bytes(&self) -> usize {
        self.pairs.capacity() * std::mem::size_of::<(K, u32)>()
    }
}

fn hash_str(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The map key of a MusicBrainz id (64 bits suffice: lookups verify the full id).
fn mbid_key(mbid: u128) -> u64 {
    (mbid as u64) ^ ((mbid >> 64) as u64)
}

/// The exact-match key of a track: its base title, its version tags and one of its artists.
pub(crate) fn exact_key(title_norm: &str, version: VersionTags, artist: u32) -> u64 {
    let mut hasher = FxHasher::default();
    title_norm.hash(&mut hasher);
    version.bits().hash(&mut hasher);
    artist.hash(&mut hasher);
    hasher.finish()
}

/// Which sections a query may see. Built from section ids; anything else is never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    sections: Option<Vec<String>>,
}

impl Visibility {
    /// Only the given sections (for example the sections a Plex token may read).
    pub fn sections<I, S>(section_ids: I) -> Visibility
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Visibility {
            sections: Some(section_ids.into_iter().map(Into::into).collect()),
        }
    }

    /// Every section: only for the administrator's own tools (CLI, admin API), never for a
    /// client request.
    pub fn everything() -> Visibility {
        Visibility { sections: None }
    }
}

/// A resolved [`Visibility`]: one bit per section of this index.
#[derive(Debug, Clone)]
pub(crate) struct SectionMask {
    bits: Vec<u64>,
}

impl SectionMask {
    pub(crate) fn allows(&self, section: u16) -> bool {
        let section = usize::from(section);
        self.bits
            .get(section / 64)
            .is_some_and(|word| word & (1 << (section % 64)) != 0)
    }
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchHit {
    /// The item found.
    pub item: ItemNo,
    /// Rank score in `0.0..=1.0` (exact title 1.0, prefix 0.9, phrase 0.8, substring 0.7,
    /// all words in any order 0.6; a little less for longer titles).
    pub score: f32,
}

/// Sizes of the index's parts, for `index status` and the memory benchmark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexStats {
    /// Items by kind: tracks, albums, artists, movies, episodes, shows, seasons.
    pub items_by_kind: [usize; 7],
    /// Sections.
    pub sections: usize,
    /// Distinct normalised artist names.
    pub artist_names: usize,
    /// Distinct albums.
    pub albums: usize,
    /// Bytes of the text arena.
    pub text_bytes: usize,
    /// Heap bytes held by the index (arena, items, pools, maps and postings), counted from
    /// capacities.
    pub heap_bytes: usize,
}

/// The library index: compact items plus the maps built over them. Immutable once built; an
/// update builds a new index (see [`LibraryIndex::records`]).
#[derive(Debug, Default)]
pub struct LibraryIndex {
    pub(crate) data: IndexData,
    by_id: SortedMap<u64>,
    by_path: SortedMap<u64>,
    by_mbid: SortedMap<u64>,
    by_isrc: SortedMap<u64>,
    by_exact: SortedMap<u64>,
    /// Exact keys of the short forms of titles with bracketed words ([`ParsedTitle::short`]).
    ///
    /// [`ParsedTitle::short`]: crate::normalize::ParsedTitle::short
    by_short: SortedMap<u64>,
    artist_by_name: SortedMap<u64>,
    section_by_id: SortedMap<u64>,
    /// Tracks per normalised artist id (credits, featured and album artist).
    artist_blocks: Postings,
    /// Items per title trigram.
    title_grams: Postings,
    /// Artist ids per artist-name trigram (for misspelt artists).
    artist_grams: Postings,
    /// Per item: the normalised title's length in characters (capped at 255) and a 64-bit
    /// set of the character buckets it uses. Dense, so candidate filtering in the matcher
    /// touches 9 bytes per item instead of the item's slot and text.
    title_shape: Vec<TitleShape>,
    /// All items ordered by normalised title: titles starting with a query are one range.
    by_title: Vec<u32>,
    /// Artists whose names have kanji, by the first two letters of their readings: built on
    /// first use (only a romanised name not found otherwise asks), never stored.
    kanji_names: std::sync::OnceLock<FxHashMap<[u8; 2], Vec<u32>>>,
    /// Artists by the consonant skeleton of their names' Latin letters, those whose names are
    /// written in Arabic or Hebrew letters and the others apart (a query in one looks among
    /// the other): each built on first use, never stored.
    skeleton_names: [std::sync::OnceLock<FxHashMap<String, Vec<u32>>>; 2],
    /// Artists by [`crate::korean::lookup_keys`], those whose names are in Hangul and those in
    /// Latin letters apart (a query in one looks among the other): each built on first use,
    /// never stored.
    hangul_names: [std::sync::OnceLock<FxHashMap<Vec<u8>, Vec<u32>>>; 2],
}

/// Length and character counts of a normalised title (see [`TitleShape::of`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TitleShape {
    /// Characters, capped at 255.
    pub(crate) chars: u8,
    /// Only ASCII characters (the title is not in another script).
    pub(crate) ascii: bool,
    /// 32 buckets (a character's code point mod 32: the letters a–z each have their own) of
    /// 4-bit counts, saturating at 15.
    counts: [u8; 16],
}

impl TitleShape {
    /// The shape of a normalised title.
    pub(crate) fn of(title: &str) -> TitleShape {
        let mut chars = 0usize;
        let mut counts = [0u8; 32];
        for c in title.chars() {
            chars += 1;
            let bucket = &mut counts[(c as usize) & 31];
            *bucket = (*bucket + 1).min(15);
        }
        let mut packed = [0u8; 16];
        for (at, pair) in counts.chunks(2).enumerate() {
            packed[at] = pair[0] | (pair[1] << 4);
        }
        TitleShape {
            chars: chars.min(255) as u8,
            ascii: title.is_ascii(),
            counts: packed,
        }
    }

    /// Whether two titles of these shapes could have a similarity of at least `floor`: the
    /// edit distance is at least the length difference, and at least the number of
    /// characters one side has that the other lacks (each edit mends at most one on each
    /// side; saturated or shared buckets only make this bound smaller, never wrong).
    pub(crate) fn could_reach(self, other: TitleShape, floor: f32) -> bool {
        if self.chars == 255 || other.chars == 255 {
            return true;
        }
        let longest = self.chars.max(other.chars);
        if longest == 0 {
            return true;
        }
        let (mut only_self, mut only_other) = (0u32, 0u32);
        for (a, b) in self.counts.iter().zip(&other.counts) {
            for shift in [0, 4] {
                let (x, y) = (u32::from((a >> shift) & 15), u32::from((b >> shift) & 15));
                only_self += x.saturating_sub(y);
                only_other += y.saturating_sub(x);
            }
        }
        let by_length = u32::from(self.chars.abs_diff(other.chars));
        let distance = by_length.max(only_self).max(only_other);
        1.0 - distance as f32 / f32::from(longest) >= floor
    }
}

impl LibraryIndex {
    /// Number of items (all kinds).
    pub fn len(&self) -> usize {
        self.data.items.len()
    }

    /// True when the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.data.items.is_empty()
    }

    /// Sizes of the parts of the index.
    pub fn stats(&self) -> IndexStats {
        let mut stats = IndexStats {
            sections: self.data.sections.len(),
            artist_names: self.data.artist_names.len(),
            albums: self.data.albums.len(),
            text_bytes: self.data.text.len(),
            ..IndexStats::default()
        };
        for slot in &self.data.items {
            if let Some(count) = stats.items_by_kind.get_mut(usize::from(slot.kind)) {
                *count += 1;
            }
        }
        let data = &self.data;
        stats.heap_bytes = data.text.capacity()
            + data.sections.capacity() * std::mem::size_of::<Span>()
            + data.artist_names.capacity() * std::mem::size_of::<Span>()
            + data.albums.capacity() * std::mem::size_of::<AlbumEntry>()
            + data.items.capacity() * std::mem::size_of::<Slot>()
            + data.credit_pool.capacity() * std::mem::size_of::<Span>()
            + data.artist_pool.capacity() * 4
            + data.mbid_pool.capacity() * 16
            + self.by_id.heap_bytes()
            + self.by_path.heap_bytes()
            + self.by_mbid.heap_bytes()
            + self.by_isrc.heap_bytes()
            + self.by_exact.heap_bytes()
            + self.by_short.heap_bytes()
            + self.artist_by_name.heap_bytes()
            + self.section_by_id.heap_bytes()
            + self.artist_blocks.heap_bytes()
            + self.title_grams.heap_bytes()
            + self.artist_grams.heap_bytes()
            + self.title_shape.capacity() * std::mem::size_of::<TitleShape>()
            + self.by_title.capacity() * 4;
        stats
    }

    /// The section ids of the index.
    pub fn section_ids(&self) -> Vec<&str> {
        self.data
            .sections
            .iter()
            .map(|span| self.data.str(*span))
            .collect()
    }

    /// Resolves a [`Visibility`] against this index's sections.
    pub(crate) fn mask(&self, visibility: &Visibility) -> SectionMask {
        let count = self.data.sections.len();
        let mut bits = vec![0u64; count.div_ceil(64)];
        let mut set = |section: usize| {
            if let Some(word) = bits.get_mut(section / 64) {
                *word |= 1 << (section % 64);
            }
        };
        match &visibility.sections {
            None => (0..count).for_each(&mut set),
            Some(ids) => {
                for id in ids {
                    for section in self.section_by_id.get(hash_str(id)) {
                        let section = section as usize;
                        let matches = self
                            .data
                            .sections
                            .get(section)
                            .is_some_and(|span| self.data.str(*span) == id);
                        if matches {
                            set(section);
                        }
                    }
                }
            }
        }
        SectionMask { bits }
    }

    pub(crate) fn slot(&self, item: u32) -> Option<&Slot> {
        self.data.items.get(item as usize)
    }

    /// A view of one item, if it exists *and* is visible.
    pub fn item(&self, item: ItemNo, visibility: &Visibility) -> Option<ItemView<'_>> {
        let mask = self.mask(visibility);
        self.view_masked(item.0, &mask)
    }

    pub(crate) fn view_masked(&self, item: u32, mask: &SectionMask) -> Option<ItemView<'_>> {
        let slot = self.slot(item)?;
        mask.allows(slot.section).then_some(ItemView {
            index: self,
            slot,
            item: ItemNo(item),
        })
    }

    /// A view of one item regardless of visibility (crate-internal: callers outside the crate
    /// always pass a [`Visibility`]).
    pub(crate) fn view_unchecked(&self, item: u32) -> Option<ItemView<'_>> {
        let slot = self.slot(item)?;
        Some(ItemView {
            index: self,
            slot,
            item: ItemNo(item),
        })
    }

    /// Every record, in index order (to rebuild after a change, or to export).
    pub fn records(&self) -> impl Iterator<Item = ItemRecord> + '_ {
        (0..self.data.items.len() as u32)
            .filter_map(|item| self.view_unchecked(item))
            .map(|v| v.to_record())
    }

    /// The item with this server id, if visible.
    pub fn by_id(&self, id: &str, visibility: &Visibility) -> Option<ItemView<'_>> {
        let mask = self.mask(visibility);
        self.by_id
            .get(hash_str(id))
            .filter_map(|item| self.view_masked(item, &mask))
            .find(|view| view.id() == id)
    }

    /// The item whose file is at `path` (exactly as the server reports it), if visible.
    pub fn by_path(&self, path: &str, visibility: &Visibility) -> Option<ItemView<'_>> {
        let mask = self.mask(visibility);
        self.by_path
            .get(hash_str(path))
            .filter_map(|item| self.view_masked(item, &mask))
            .find(|view| view.path_eq(path))
    }

    /// Items carrying this MusicBrainz id (any case, dashes optional, `mbid://` allowed),
    /// visible ones only.
    pub fn by_musicbrainz_id(&self, mbid: &str, visibility: &Visibility) -> Vec<ItemView<'_>> {
        let Some(mbid) = record::parse_mbid(mbid) else {
            return Vec::new();
        };
        let mask = self.mask(visibility);
        self.mbid_items(mbid)
            .filter_map(|item| self.view_masked(item, &mask))
            .collect()
    }

    pub(crate) fn mbid_items(&self, mbid: u128) -> impl Iterator<Item = u32> + '_ {
        self.by_mbid.get(mbid_key(mbid)).filter(move |item| {
            self.slot(*item).is_some_and(|slot| {
                IndexData::pool(&self.data.mbid_pool, slot.mbids).contains(&mbid)
            })
        })
    }

    /// Items carrying this ISRC, visible ones only.
    pub fn by_isrc(&self, isrc: &str, visibility: &Visibility) -> Vec<ItemView<'_>> {
        let Some(isrc) = record::normalize_isrc(isrc) else {
            return Vec::new();
        };
        let mask = self.mask(visibility);
        self.isrc_items(&isrc)
            .filter_map(|item| self.view_masked(item, &mask))
            .collect()
    }

    pub(crate) fn isrc_items<'s>(&'s self, isrc: &'s str) -> impl Iterator<Item = u32> + 's {
        self.by_isrc.get(hash_str(isrc)).filter(move |item| {
            self.slot(*item)
                .is_some_and(|slot| self.data.str(slot.isrc) == isrc)
        })
    }

    /// Tracks whose base title, version and one artist equal the given normalised forms.
    pub(crate) fn exact_items<'s>(
        &'s self,
        title_norm: &'s str,
        version: VersionTags,
        artist: u32,
    ) -> impl Iterator<Item = u32> + 's {
        self.by_exact
            .get(exact_key(title_norm, version, artist))
            .filter(move |item| {
                self.slot(*item).is_some_and(|slot| {
                    slot.version == version.bits() && self.data.str(slot.title_norm) == title_norm
                })
            })
    }

    /// Tracks with another form of their title ([`normalize::ParsedTitle::alternates`]: the
    /// short form, the form in another script, a classical title's bare form or movement),
    /// version and one artist equal to the given normalised forms.
    pub(crate) fn short_items<'s>(
        &'s self,
        short: &'s str,
        version: VersionTags,
        artist: u32,
    ) -> impl Iterator<Item = u32> + 's {
        self.by_short
            .get(exact_key(short, version, artist))
            .filter(move |item| {
                self.slot(*item).is_some_and(|slot| {
                    slot.version == version.bits()
                        && IndexData::pool(&self.data.credit_pool, slot.alternates)
                            .iter()
                            .any(|form| self.data.str(*form) == short)
                })
            })
    }

    /// The id of a normalised artist name, if any track credits it.
    pub(crate) fn artist_id(&self, normalized: &str) -> Option<u32> {
        self.artist_by_name.get(hash_str(normalized)).find(|id| {
            self.data
                .artist_names
                .get(*id as usize)
                .is_some_and(|span| self.data.str(*span) == normalized)
        })
    }

    pub(crate) fn artist_name(&self, artist: u32) -> &str {
        self.data
            .artist_names
            .get(artist as usize)
            .map_or("", |span| self.data.str(*span))
    }

    /// The shape of an item's normalised title (default for an unknown item).
    pub(crate) fn title_shape(&self, item: u32) -> TitleShape {
        self.title_shape
            .get(item as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Tracks crediting this artist (ordered by title length, then item).
    pub(crate) fn artist_block(&self, artist: u32) -> &[u32] {
        self.artist_blocks.get(artist)
    }

    /// The artist's tracks whose normalised titles have `shortest..=longest` characters.
    pub(crate) fn artist_block_within(&self, artist: u32, shortest: u8, longest: u8) -> &[u32] {
        let block = self.artist_blocks.get(artist);
        let chars = |item: &u32| self.title_shape(*item).chars;
        let from = block.partition_point(|item| chars(item) < shortest);
        let to = block.partition_point(|item| chars(item) <= longest);
        block.get(from..to.max(from)).unwrap_or(&[])
    }

    /// Items whose normalised title contains this trigram.
    pub(crate) fn title_gram_items(&self, gram: u32) -> &[u32] {
        self.title_grams.get(gram)
    }

    /// Artist ids whose normalised name contains this trigram.
    pub(crate) fn artist_gram_items(&self, gram: u32) -> &[u32] {
        self.artist_grams.get(gram)
    }

    /// Artists whose names in kanji may read as the romanised `name` (the first letters of
    /// one of its word orders are those of a reading of the name's first character); the
    /// caller checks with [`crate::japanese::reads_as`].
    pub(crate) fn kanji_name_candidates(&self, name: &str) -> Vec<u32> {
        let by_start = self.kanji_names.get_or_init(|| {
            let mut by_start: FxHashMap<[u8; 2], Vec<u32>> = FxHashMap::default();
            for artist in 0..self.artist_count() as u32 {
                for start in crate::japanese::reading_starts(self.artist_name(artist)) {
                    let artists = by_start.entry(start).or_default();
                    if artists.last() != Some(&artist) {
                        artists.push(artist);
                    }
                }
            }
            by_start
        });
        if by_start.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<u32> = crate::japanese::word_starts(name)
            .iter()
            .filter_map(|start| by_start.get(start))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Artists whose names have the consonant skeleton of `name` (three consonants or more),
    /// one of the two written in an abjad ([`crate::normalize::has_abjad`]): `عمرو دياب` and
    /// "Amr Diab" share no trigram of Latin letters ("mrw dyb", "amr diab") but are both
    /// "mrdb". The caller scores them.
    pub(crate) fn skeleton_name_candidates(&self, name: &str) -> Vec<u32> {
        let skeleton_of = |name: &str| {
            let latin = crate::normalize::latin_form(name);
            crate::normalize::consonant_skeleton(latin.as_deref().unwrap_or(name))
        };
        let skeleton = skeleton_of(name);
        if skeleton.chars().count() < 3 {
            return Vec::new();
        }
        let theirs_abjad = !crate::normalize::has_abjad(name);
        let by_skeleton = self.skeleton_names[usize::from(theirs_abjad)].get_or_init(|| {
            let mut by_skeleton: FxHashMap<String, Vec<u32>> = FxHashMap::default();
            for artist in 0..self.artist_count() as u32 {
                let other = self.artist_name(artist);
                if crate::normalize::has_abjad(other) != theirs_abjad {
                    continue;
                }
                let skeleton = skeleton_of(other);
                if skeleton.chars().count() >= 3 {
                    by_skeleton.entry(skeleton).or_default().push(artist);
                }
            }
            by_skeleton
        });
        by_skeleton.get(&skeleton).cloned().unwrap_or_default()
    }

    /// Artists whose names may be `name` written in the other script as Korean writes
    /// foreign names (`아이유` for "IU", `빅뱅` for "BIGBANG"): they share a
    /// [`crate::korean::lookup_keys`] key. The caller checks with [`crate::korean::reads_as`].
    pub(crate) fn hangul_name_candidates(&self, name: &str) -> Vec<u32> {
        let keys = crate::korean::lookup_keys(name);
        if keys.is_empty() {
            return Vec::new();
        }
        let theirs_hangul = name.is_ascii();
        let by_key = self.hangul_names[usize::from(theirs_hangul)].get_or_init(|| {
            let mut by_key: FxHashMap<Vec<u8>, Vec<u32>> = FxHashMap::default();
            for artist in 0..self.artist_count() as u32 {
                let other = self.artist_name(artist);
                // Hangul names for a Latin one, Latin names for one in Hangul.
                if other.is_ascii() == theirs_hangul {
                    continue;
                }
                for key in crate::korean::lookup_keys(other) {
                    by_key.entry(key).or_default().push(artist);
                }
            }
            by_key
        });
        let mut found: Vec<u32> = keys
            .iter()
            .filter_map(|key| by_key.get(key))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    pub(crate) fn artist_count(&self) -> usize {
        self.data.artist_names.len()
    }
}

/// Normalised artist ids of a track: its credits and featured artists, then the album artist.
fn track_artist_ids<'a>(data: &'a IndexData, slot: &Slot) -> impl Iterator<Item = u32> + 'a {
    let own = IndexData::pool(&data.artist_pool, slot.artists);
    let album_artist = data
        .albums
        .get(slot.album as usize)
        .map(|album| album.artist_id)
        .filter(|id| *id != NONE && !own.contains(id));
    own.iter().copied().chain(album_artist)
}

#[cfg(test)]
mod tests;
