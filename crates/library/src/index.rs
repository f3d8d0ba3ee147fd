//! The in-memory library index.
//!
//! # Layout (why it is this shape)
//! A million tracks must fit in well under 512 MiB, so items are not kept as records of
//! `String`s (24 bytes of header plus an allocation each). All text lives in one arena
//! ([`IndexData::text`]); an item ([`Slot`]) holds 8-byte spans into it. Text that many items
//! share (album titles, artist credits, directories, section ids) is interned once. Lookup maps
//! are sorted vectors of `(hash, item)` pairs — a binary search is a few hundred nanoseconds
//! and costs 12–16 bytes per entry, against ~3× that for a hash map — and posting lists
//! (title trigrams, artist blocks) are CSR arrays (offsets + one flat `u32` vector).
//!
//! Only [`IndexData`] (items and text) is persisted; the maps are derived and rebuilt on load
//! from the stored normalised forms, without normalising anything again.
//!
//! # Visibility
//! Every method that returns items takes a [`Visibility`]: the sections the asking user may
//! see. Items of other sections are filtered out before anything is ranked or returned.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use crate::LibraryError;
use crate::normalize::{self, VersionTags};
use crate::record::{self, ItemKind, ItemRecord};

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
    /// Items by kind: tracks, albums, artists, movies, episodes.
    pub items_by_kind: [usize; 5],
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

/// Builds a [`LibraryIndex`] one record at a time (so a crawler can feed pages as they come
/// and a progress bar can follow).
#[derive(Debug, Default)]
pub struct IndexBuilder {
    data: IndexData,
    interned: FxHashMap<String, Span>,
    artist_ids: FxHashMap<String, u32>,
    album_ids: FxHashMap<(Span, Span), u32>,
    section_ids: FxHashMap<String, u16>,
    /// Item by id hash; true hash collisions (different ids) go to `item_ids_overflow`.
    item_ids: FxHashMap<u64, u32>,
    item_ids_overflow: FxHashMap<String, u32>,
    replaced: usize,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// How many records were pushed under an id already present (the later one wins).
    pub fn replaced(&self) -> usize {
        self.replaced
    }

    /// Items held so far.
    pub fn len(&self) -> usize {
        self.data.items.len()
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.data.items.is_empty()
    }

    fn push_text(&mut self, text: &str) -> Result<Span, LibraryError> {
        let start = u32::try_from(self.data.text.len())
            .map_err(|_| LibraryError::TooLarge("text arena over 4 GiB"))?;
        let len = u32::try_from(text.len())
            .map_err(|_| LibraryError::TooLarge("one text field over 4 GiB"))?;
        start
            .checked_add(len)
            .ok_or(LibraryError::TooLarge("text arena over 4 GiB"))?;
        self.data.text.push_str(text);
        Ok(Span { start, len })
    }

    fn intern(&mut self, text: &str) -> Result<Span, LibraryError> {
        if text.is_empty() {
            return Ok(Span::default());
        }
        if let Some(span) = self.interned.get(text) {
            return Ok(*span);
        }
        let span = self.push_text(text)?;
        self.interned.insert(text.to_string(), span);
        Ok(span)
    }

    fn artist_id(&mut self, normalized: &str) -> Result<u32, LibraryError> {
        if let Some(id) = self.artist_ids.get(normalized) {
            return Ok(*id);
        }
        let span = self.intern(normalized)?;
        let id = u32::try_from(self.data.artist_names.len())
            .map_err(|_| LibraryError::TooLarge("too many artists"))?;
        self.data.artist_names.push(span);
        self.artist_ids.insert(normalized.to_string(), id);
        Ok(id)
    }

    fn pool_range(start: usize, end: usize) -> Result<PoolRange, LibraryError> {
        let start32 = u32::try_from(start).map_err(|_| LibraryError::TooLarge("pool"))?;
        let len = u32::try_from(end - start).map_err(|_| LibraryError::TooLarge("pool"))?;
        Ok(PoolRange {
            start: start32,
            len,
        })
    }

    /// Adds one record. A record whose id is already present replaces the earlier one.
    pub fn push(&mut self, record: &ItemRecord) -> Result<(), LibraryError> {
        let parsed = match record.kind {
            ItemKind::Artist => normalize::ParsedTitle {
                base: normalize::normalize_text(&record.title),
                ..Default::default()
            },
            _ => normalize::parse_title(&record.title),
        };
        let section = match self.section_ids.get(&record.section_id) {
            Some(section) => *section,
            None => {
                let section = u16::try_from(self.data.sections.len())
                    .map_err(|_| LibraryError::TooLarge("more than 65535 sections"))?;
                let span = self.intern(&record.section_id)?;
                self.data.sections.push(span);
                self.section_ids.insert(record.section_id.clone(), section);
                section
            }
        };

        let mut slot = Slot {
            id: self.push_text(&record.id)?,
            title: self.push_text(&record.title)?,
            title_norm: self.push_text(&parsed.base)?,
            version_text: self.intern(&parsed.version_text)?,
            edit_text: self.intern(&parsed.edit_text)?,
            album: NONE,
            duration_ms: record.duration_ms.unwrap_or(NONE),
            year: record.year.unwrap_or(0),
            section,
            kind: record.kind.code(),
            version: parsed.version.bits(),
            added_at: record.added_at,
            updated_at: record.updated_at,
            parent: self.intern(record.parent_id.as_deref().unwrap_or(""))?,
            grandparent: self.intern(record.grandparent_id.as_deref().unwrap_or(""))?,
            index: record.index.unwrap_or(NONE),
            parent_index: record.parent_index.unwrap_or(NONE),
            ..Slot::default()
        };

        let credit_start = self.data.credit_pool.len();
        for credit in &record.artists {
            let span = self.intern(credit)?;
            self.data.credit_pool.push(span);
        }
        slot.credits = Self::pool_range(credit_start, self.data.credit_pool.len())?;
        if record.kind == ItemKind::Track {
            let alternates_start = self.data.credit_pool.len();
            for form in parsed.alternates() {
                let span = self.intern(&form)?;
                self.data.credit_pool.push(span);
            }
            slot.alternates = Self::pool_range(alternates_start, self.data.credit_pool.len())?;
        }

        let mut names: Vec<String> = record
            .artists
            .iter()
            .flat_map(|a| normalize::split_artists(a))
            .collect();
        names.extend(parsed.featured.iter().cloned());
        let artist_start = self.data.artist_pool.len();
        for name in &names {
            let id = self.artist_id(name)?;
            if !self.data.artist_pool[artist_start..].contains(&id) {
                self.data.artist_pool.push(id);
            }
        }
        slot.artists = Self::pool_range(artist_start, self.data.artist_pool.len())?;

        if record.album.is_some() || record.album_artist.is_some() {
            let title = self.intern(record.album.as_deref().unwrap_or(""))?;
            let artist = self.intern(record.album_artist.as_deref().unwrap_or(""))?;
            slot.album = match self.album_ids.get(&(title, artist)) {
                Some(album) => *album,
                None => {
                    let album_norm =
                        normalize::normalize_album(record.album.as_deref().unwrap_or(""));
                    let norm = self.intern(&album_norm)?;
                    let artist_id = match normalize::split_artists(
                        record.album_artist.as_deref().unwrap_or(""),
                    )
                    .first()
                    {
                        Some(name) => self.artist_id(name)?,
                        None => NONE,
                    };
                    let album = u32::try_from(self.data.albums.len())
                        .map_err(|_| LibraryError::TooLarge("too many albums"))?;
                    self.data.albums.push(AlbumEntry {
                        title,
                        norm,
                        artist,
                        artist_id,
                    });
                    self.album_ids.insert((title, artist), album);
                    album
                }
            };
        }

        if let Some(path) = record.file_path.as_deref() {
            // Directories are shared by an album's tracks: intern them, keep the name apart.
            let cut = path.rfind(['/', '\\']).map_or(0, |at| at + 1);
            slot.dir = self.intern(&path[..cut])?;
            slot.file = self.push_text(&path[cut..])?;
        }
        if let Some(isrc) = record.isrc.as_deref().and_then(record::normalize_isrc) {
            slot.isrc = self.push_text(&isrc)?;
        }
        let mbid_start = self.data.mbid_pool.len();
        for mbid in record
            .musicbrainz_ids
            .iter()
            .filter_map(|raw| record::parse_mbid(raw))
        {
            if !self.data.mbid_pool[mbid_start..].contains(&mbid) {
                self.data.mbid_pool.push(mbid);
            }
        }
        slot.mbids = Self::pool_range(mbid_start, self.data.mbid_pool.len())?;

        let id_hash = hash_str(&record.id);
        let same_id = |item: u32| {
            self.data
                .items
                .get(item as usize)
                .is_some_and(|other| self.data.str(other.id) == record.id)
        };
        let existing = match self.item_ids.get(&id_hash) {
            Some(item) if same_id(*item) => Some(*item),
            Some(_) => self.item_ids_overflow.get(&record.id).copied(),
            None => None,
        };
        match existing {
            Some(item) => {
                self.data.items[item as usize] = slot;
                self.replaced += 1;
            }
            None => {
                let item = u32::try_from(self.data.items.len())
                    .map_err(|_| LibraryError::TooLarge("more than 4 billion items"))?;
                self.data.items.push(slot);
                match self.item_ids.entry(id_hash) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        self.item_ids_overflow.insert(record.id.clone(), item);
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(item);
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the maps and returns the finished index.
    pub fn finish(mut self) -> LibraryIndex {
        self.data.shrink_to_fit();
        let data = std::mem::take(&mut self.data);
        drop(self);
        LibraryIndex::from_data(data)
    }
}

impl LibraryIndex {
    /// Builds an index from records.
    pub fn build<'a>(
        records: impl IntoIterator<Item = &'a ItemRecord>,
    ) -> Result<LibraryIndex, LibraryError> {
        let mut builder = IndexBuilder::new();
        for record in records {
            builder.push(record)?;
        }
        Ok(builder.finish())
    }

    /// Derives every map from the stored items (used after a build and after loading a
    /// snapshot).
    pub(crate) fn from_data(data: IndexData) -> LibraryIndex {
        let items = &data.items;
        let mut by_id = Vec::with_capacity(items.len());
        let mut by_path = Vec::new();
        let mut by_mbid = Vec::new();
        let mut by_isrc = Vec::new();
        let mut by_exact = Vec::new();
        let mut by_short = Vec::new();
        let mut path = String::new();
        for (item, slot) in items.iter().enumerate() {
            let item = item as u32;
            by_id.push((hash_str(data.str(slot.id)), item));
            if !slot.file.is_empty() {
                path.clear();
                path.push_str(data.str(slot.dir));
                path.push_str(data.str(slot.file));
                by_path.push((hash_str(&path), item));
            }
            for mbid in IndexData::pool(&data.mbid_pool, slot.mbids) {
                by_mbid.push((mbid_key(*mbid), item));
            }
            if !slot.isrc.is_empty() {
                by_isrc.push((hash_str(data.str(slot.isrc)), item));
            }
            if slot.kind == ItemKind::Track.code() {
                let title = data.str(slot.title_norm);
                let version = VersionTags::from_bits(slot.version);
                for artist in track_artist_ids(&data, slot) {
                    by_exact.push((exact_key(title, version, artist), item));
                }
                for form in IndexData::pool(&data.credit_pool, slot.alternates) {
                    for artist in track_artist_ids(&data, slot) {
                        by_short.push((exact_key(data.str(*form), version, artist), item));
                    }
                }
            }
        }
        let artist_by_name = data
            .artist_names
            .iter()
            .enumerate()
            .map(|(id, span)| (hash_str(data.str(*span)), id as u32))
            .collect();
        let section_by_id = data
            .sections
            .iter()
            .enumerate()
            .map(|(section, span)| (hash_str(data.str(*span)), section as u32))
            .collect();
        let artist_blocks = Postings::build(|emit| {
            for (item, slot) in data.items.iter().enumerate() {
                if slot.kind == ItemKind::Track.code() {
                    for artist in track_artist_ids(&data, slot) {
                        emit(artist, item as u32);
                    }
                }
            }
        });
        let title_grams = Postings::build(|emit| {
            for (item, slot) in data.items.iter().enumerate() {
                for gram in normalize::trigrams(data.str(slot.title_norm)) {
                    emit(gram, item as u32);
                }
            }
        });
        // A name in another script is also found by its Latin letters ("kino" for "кино").
        let artist_grams = Postings::build(|emit| {
            for (artist, span) in data.artist_names.iter().enumerate() {
                for gram in normalize::name_trigrams(data.str(*span)) {
                    emit(gram, artist as u32);
                }
            }
        });
        let title_shape: Vec<TitleShape> = data
            .items
            .iter()
            .map(|slot| TitleShape::of(data.str(slot.title_norm)))
            .collect();
        // Each artist's tracks by title length, so the matcher reads only the lengths that
        // can reach its similarity floor (prolific artists have thousands of tracks).
        let mut artist_blocks = artist_blocks;
        for at in 0..artist_blocks.keys.len() {
            let (start, end) = (
                artist_blocks.offsets[at] as usize,
                artist_blocks.offsets[at + 1] as usize,
            );
            artist_blocks.items[start..end].sort_unstable_by_key(|item| {
                (
                    title_shape
                        .get(*item as usize)
                        .map_or(0, |shape| shape.chars),
                    *item,
                )
            });
        }
        let mut by_title: Vec<u32> = (0..data.items.len() as u32).collect();
        by_title.sort_unstable_by(|a, b| {
            let title = |item: &u32| {
                data.items
                    .get(*item as usize)
                    .map_or("", |s| data.str(s.title_norm))
            };
            title(a).cmp(title(b)).then(a.cmp(b))
        });
        LibraryIndex {
            by_title,
            title_shape,
            by_id: SortedMap::new(by_id),
            by_path: SortedMap::new(by_path),
            by_mbid: SortedMap::new(by_mbid),
            by_isrc: SortedMap::new(by_isrc),
            by_exact: SortedMap::new(by_exact),
            by_short: SortedMap::new(by_short),
            artist_by_name: SortedMap::new(artist_by_name),
            section_by_id: SortedMap::new(section_by_id),
            artist_blocks,
            title_grams,
            artist_grams,
            data,
            kanji_names: std::sync::OnceLock::new(),
            skeleton_names: Default::default(),
        }
    }

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

    pub(crate) fn artist_count(&self) -> usize {
        self.data.artist_names.len()
    }

    /// Searches titles for `query` (normalised like everything else): every query word must
    /// occur in the title; results are ranked exact, prefix, phrase, substring, any order,
    /// shorter titles first. Only items of `kinds` (all kinds when empty) in visible sections.
    pub fn search(
        &self,
        query: &str,
        kinds: &[ItemKind],
        visibility: &Visibility,
        limit: usize,
    ) -> Vec<SearchHit> {
        let normalized = normalize::normalize_text(query);
        if normalized.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mask = self.mask(visibility);
        let words: Vec<&str> = normalized.split(' ').collect();
        let kind_ok =
            |slot: &Slot| kinds.is_empty() || kinds.iter().any(|kind| kind.code() == slot.kind);
        let pack = |w: &[u8]| {
            (1 << 24) | (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2])
        };
        // Fast path: titles that start with the query rank above every other match (exact
        // 1.0, prefix 0.85–0.9, the rest ≤ 0.8). When they alone fill the limit, the scan of
        // every title containing the words is not needed.
        let prefixed = self.prefix_hits(&normalized, &words, &mask, &kind_ok, limit);
        if prefixed.len() >= limit {
            return prefixed;
        }
        // Candidate lists: each query word's trigrams (a word of three bytes or more), or the
        // word-start gram " ab" for a two-byte word. The shortest list drives the walk; the
        // next shortest filters it (lists are sorted by item, so a binary search suffices).
        let mut lists: Vec<&[u32]> = Vec::new();
        for word in &words {
            let bytes = word.as_bytes();
            if bytes.len() >= 3 {
                lists.extend(bytes.windows(3).map(|w| self.title_grams.get(pack(w))));
            } else if bytes.len() == 2 {
                lists.push(self.title_grams.get(pack(&[b' ', bytes[0], bytes[1]])));
            }
        }
        lists.sort_by_key(|items| items.len());
        let mut hits: Vec<(f32, u8, u32)> = Vec::new();
        let mut consider = |item: u32| {
            let Some(slot) = self.slot(item) else { return };
            if !mask.allows(slot.section) || !kind_ok(slot) {
                return;
            }
            let title = self.data.str(slot.title_norm);
            if let Some(score) = rank_title(title, &normalized, &words) {
                hits.push((score, slot.kind, item));
            }
        };
        match lists.as_slice() {
            [] => {
                // Only one-letter words: titles with a word starting with that letter.
                let first = words.first().and_then(|w| w.bytes().next()).unwrap_or(b' ');
                let low = pack(&[b' ', first, 0]);
                let high = pack(&[b' ', first, 255]);
                let from = self.title_grams.keys.partition_point(|key| *key < low);
                let to = self.title_grams.keys.partition_point(|key| *key <= high);
                let mut items: Vec<u32> = Vec::new();
                for at in from..to {
                    let start = self.title_grams.offsets[at] as usize;
                    let end = self.title_grams.offsets[at + 1] as usize;
                    items.extend_from_slice(&self.title_grams.items[start..end]);
                }
                items.sort_unstable();
                items.dedup();
                items.into_iter().for_each(&mut consider);
            }
            [only] => only.iter().for_each(|item| consider(*item)),
            [driver, filter, ..] => driver
                .iter()
                .filter(|item| filter.binary_search(item).is_ok())
                .for_each(|item| consider(*item)),
        }
        let order = |a: &(f32, u8, u32), b: &(f32, u8, u32)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter()
            .map(|(score, _, item)| SearchHit {
                item: ItemNo(item),
                score,
            })
            .collect()
    }
}

impl LibraryIndex {
    /// The best `limit` visible items whose normalised titles start with `normalized`
    /// (all of them, ranked, when there are fewer).
    fn prefix_hits(
        &self,
        normalized: &str,
        words: &[&str],
        mask: &SectionMask,
        kind_ok: &dyn Fn(&Slot) -> bool,
        limit: usize,
    ) -> Vec<SearchHit> {
        let title = |item: u32| {
            self.slot(item)
                .map_or("", |slot| self.data.str(slot.title_norm))
        };
        let from = self
            .by_title
            .partition_point(|item| title(*item) < normalized);
        let mut hits: Vec<(f32, u8, u32)> = Vec::new();
        for item in &self.by_title[from..] {
            let Some(slot) = self.slot(*item) else {
                continue;
            };
            let text = self.data.str(slot.title_norm);
            if !text.starts_with(normalized) {
                break;
            }
            if mask.allows(slot.section)
                && kind_ok(slot)
                && let Some(score) = rank_title(text, normalized, words)
            {
                hits.push((score, slot.kind, *item));
            }
        }
        let order = |a: &(f32, u8, u32), b: &(f32, u8, u32)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter()
            .map(|(score, _, item)| SearchHit {
                item: ItemNo(item),
                score,
            })
            .collect()
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

fn rank_title(title: &str, query: &str, words: &[&str]) -> Option<f32> {
    let base = if title == query {
        1.0
    } else if title.starts_with(query)
        && title.as_bytes().get(query.len()).is_none_or(|b| *b == b' ')
    {
        0.9
    } else if title.starts_with(query) {
        0.85
    } else if let Some(at) = title.find(query) {
        let word_start = at == 0 || title.as_bytes().get(at - 1) == Some(&b' ');
        let word_end = title
            .as_bytes()
            .get(at + query.len())
            .is_none_or(|b| *b == b' ');
        if word_start && word_end { 0.8 } else { 0.7 }
    } else if words.iter().all(|word| title.contains(word)) {
        0.6
    } else {
        return None;
    };
    let extra = title.len().saturating_sub(query.len()).min(100) as f32;
    Some(base - extra * 0.0005)
}

/// A read-only view of one item of a [`LibraryIndex`].
#[derive(Debug, Clone, Copy)]
pub struct ItemView<'a> {
    index: &'a LibraryIndex,
    slot: &'a Slot,
    item: ItemNo,
}

impl<'a> ItemView<'a> {
    fn str(&self, span: Span) -> &'a str {
        self.index.data.str(span)
    }

    /// Its position in the index.
    pub fn item_no(&self) -> ItemNo {
        self.item
    }

    /// The server's id.
    pub fn id(&self) -> &'a str {
        self.str(self.slot.id)
    }

    /// The kind of item.
    pub fn kind(&self) -> ItemKind {
        ItemKind::from_code(self.slot.kind).unwrap_or(ItemKind::Track)
    }

    /// The section it belongs to.
    pub fn section_id(&self) -> &'a str {
        self.index
            .data
            .sections
            .get(usize::from(self.slot.section))
            .map_or("", |span| self.str(*span))
    }

    /// The title as the server shows it.
    pub fn title(&self) -> &'a str {
        self.str(self.slot.title)
    }

    /// The normalised base title.
    pub fn title_norm(&self) -> &'a str {
        self.str(self.slot.title_norm)
    }

    /// Other normalised forms of the title ([`normalize::ParsedTitle::alternates`]).
    pub(crate) fn title_alternates(&self) -> impl Iterator<Item = &'a str> + 'a {
        let data = &self.index.data;
        IndexData::pool(&data.credit_pool, self.slot.alternates)
            .iter()
            .map(move |form| data.str(*form))
    }

    /// The version tags read from the title.
    pub fn version(&self) -> VersionTags {
        VersionTags::from_bits(self.slot.version)
    }

    /// The normalised words of the version segments.
    pub fn version_text(&self) -> &'a str {
        self.str(self.slot.version_text)
    }

    /// The normalised words naming another edit ("radio edit"), if any.
    pub fn edit_text(&self) -> &'a str {
        self.str(self.slot.edit_text)
    }

    /// The artist credits as the server gave them.
    pub fn artists(&self) -> Vec<&'a str> {
        IndexData::pool(&self.index.data.credit_pool, self.slot.credits)
            .iter()
            .map(|span| self.str(*span))
            .collect()
    }

    /// Normalised artist ids (credits split, featured artists added).
    pub(crate) fn artist_ids(&self) -> &'a [u32] {
        IndexData::pool(&self.index.data.artist_pool, self.slot.artists)
    }

    fn album_entry(&self) -> Option<&'a AlbumEntry> {
        self.index.data.albums.get(self.slot.album as usize)
    }

    /// The album title (the show, for episodes).
    pub fn album(&self) -> Option<&'a str> {
        self.album_entry()
            .map(|album| self.str(album.title))
            .filter(|title| !title.is_empty())
    }

    /// The normalised album title (edition noise removed).
    pub fn album_norm(&self) -> &'a str {
        self.album_entry().map_or("", |album| self.str(album.norm))
    }

    /// The album artist.
    pub fn album_artist(&self) -> Option<&'a str> {
        self.album_entry()
            .map(|album| self.str(album.artist))
            .filter(|name| !name.is_empty())
    }

    /// The normalised album artist id.
    pub(crate) fn album_artist_id(&self) -> Option<u32> {
        self.album_entry()
            .map(|album| album.artist_id)
            .filter(|id| *id != NONE)
    }

    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> Option<u32> {
        (self.slot.duration_ms != NONE).then_some(self.slot.duration_ms)
    }

    /// Release year.
    pub fn year(&self) -> Option<u16> {
        (self.slot.year != 0).then_some(self.slot.year)
    }

    /// The file path on the server.
    pub fn file_path(&self) -> Option<String> {
        (!self.slot.file.is_empty())
            .then(|| format!("{}{}", self.str(self.slot.dir), self.str(self.slot.file)))
    }

    fn path_eq(&self, path: &str) -> bool {
        let dir = self.str(self.slot.dir);
        !self.slot.file.is_empty()
            && path.len() == dir.len() + self.slot.file.len as usize
            && path.starts_with(dir)
            && path.ends_with(self.str(self.slot.file))
    }

    /// The ISRC (normalised), if known.
    pub fn isrc(&self) -> Option<&'a str> {
        Some(self.str(self.slot.isrc)).filter(|isrc| !isrc.is_empty())
    }

    /// MusicBrainz ids as 128-bit values.
    pub fn musicbrainz_ids(&self) -> &'a [u128] {
        IndexData::pool(&self.index.data.mbid_pool, self.slot.mbids)
    }

    /// When it was added (epoch seconds).
    pub fn added_at(&self) -> i64 {
        self.slot.added_at
    }

    /// When it last changed (epoch seconds).
    pub fn updated_at(&self) -> i64 {
        self.slot.updated_at
    }

    /// The parent's server id (album of a track, season of an episode, artist of an album).
    pub fn parent_id(&self) -> Option<&'a str> {
        Some(self.str(self.slot.parent)).filter(|id| !id.is_empty())
    }

    /// The grandparent's server id (artist of a track, show of an episode).
    pub fn grandparent_id(&self) -> Option<&'a str> {
        Some(self.str(self.slot.grandparent)).filter(|id| !id.is_empty())
    }

    /// Track or episode number.
    pub fn index(&self) -> Option<u32> {
        (self.slot.index != NONE).then_some(self.slot.index)
    }

    /// Disc number of a track, season number of an episode.
    pub fn parent_index(&self) -> Option<u32> {
        (self.slot.parent_index != NONE).then_some(self.slot.parent_index)
    }

    /// The item as an owned record.
    pub fn to_record(&self) -> ItemRecord {
        ItemRecord {
            kind: self.kind(),
            id: self.id().to_string(),
            section_id: self.section_id().to_string(),
            title: self.title().to_string(),
            artists: self.artists().into_iter().map(str::to_string).collect(),
            album_artist: self.album_artist().map(str::to_string),
            album: self.album().map(str::to_string),
            duration_ms: self.duration_ms(),
            year: self.year(),
            file_path: self.file_path(),
            musicbrainz_ids: self
                .musicbrainz_ids()
                .iter()
                .map(|id| record::format_mbid(*id))
                .collect(),
            isrc: self.isrc().map(str::to_string),
            added_at: self.added_at(),
            updated_at: self.updated_at(),
            parent_id: self.parent_id().map(str::to_string),
            grandparent_id: self.grandparent_id().map(str::to_string),
            index: self.index(),
            parent_index: self.parent_index(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: &str, section: &str, artist: &str, title: &str, album: &str) -> ItemRecord {
        ItemRecord {
            album: Some(album.to_string()),
            album_artist: Some(artist.to_string()),
            duration_ms: Some(200_000),
            file_path: Some(format!("/music/{artist}/{album}/{title}.flac")),
            ..ItemRecord::track(id, section, artist, title)
        }
    }

    fn sample() -> LibraryIndex {
        let mut records = vec![
            track("1", "music", "The Beatles", "Hey Jude", "Hey Jude"),
            track(
                "2",
                "music",
                "The Beatles",
                "Hey Jude (Live)",
                "Live at the BBC",
            ),
            track(
                "3",
                "music",
                "Jay-Z",
                "Empire State of Mind (feat. Alicia Keys)",
                "Blueprint 3",
            ),
            track("4", "private", "Secret Band", "Hey Jude", "Covers"),
            track("5", "music", "Queen", "Don't Stop Me Now", "Jazz"),
        ];
        records[0].musicbrainz_ids = vec!["mbid://0E8A7F6B-9E0A-4C0B-8C77-5A6F1E1D2C3B".into()];
        records[0].isrc = Some("GB-AYE-68-00001".into());
        records[0].parent_id = Some("a1".into());
        records[0].grandparent_id = Some("artist-1".into());
        records[0].index = Some(7);
        records[0].parent_index = Some(2);
        let mut album = ItemRecord::track("a1", "music", "The Beatles", "Hey Jude");
        album.kind = ItemKind::Album;
        records.push(album);
        LibraryIndex::build(&records).unwrap()
    }

    #[test]
    fn lookups_by_id_path_mbid_and_isrc() {
        let index = sample();
        let all = Visibility::everything();
        assert_eq!(
            index.by_id("3", &all).unwrap().title(),
            "Empire State of Mind (feat. Alicia Keys)"
        );
        assert!(index.by_id("99", &all).is_none());
        let view = index
            .by_path("/music/Queen/Jazz/Don't Stop Me Now.flac", &all)
            .unwrap();
        assert_eq!(view.id(), "5");
        assert!(
            index
                .by_path("/music/Queen/Jazz/Don't Stop Me Now.mp3", &all)
                .is_none()
        );
        let found = index.by_musicbrainz_id("0e8a7f6b9e0a4c0b8c775a6f1e1d2c3b", &all);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id(), "1");
        assert_eq!(index.by_isrc("gbaye6800001", &all)[0].id(), "1");
        assert!(index.by_musicbrainz_id("garbage", &all).is_empty());
    }

    #[test]
    fn records_round_trip_through_the_index() {
        let index = sample();
        let all = Visibility::everything();
        let record = index.by_id("1", &all).unwrap().to_record();
        assert_eq!(record.title, "Hey Jude");
        assert_eq!(record.artists, ["The Beatles"]);
        assert_eq!(record.album.as_deref(), Some("Hey Jude"));
        assert_eq!(record.isrc.as_deref(), Some("GBAYE6800001"));
        assert_eq!(
            record.musicbrainz_ids,
            ["0e8a7f6b-9e0a-4c0b-8c77-5a6f1e1d2c3b"]
        );
        assert_eq!(
            record.file_path.as_deref(),
            Some("/music/The Beatles/Hey Jude/Hey Jude.flac")
        );
        assert_eq!(record.parent_id.as_deref(), Some("a1"));
        assert_eq!(record.grandparent_id.as_deref(), Some("artist-1"));
        assert_eq!((record.index, record.parent_index), (Some(7), Some(2)));
        let other = index.by_id("2", &all).unwrap();
        assert_eq!((other.parent_id(), other.index()), (None, None));
        let rebuilt = LibraryIndex::build(&index.records().collect::<Vec<_>>()).unwrap();
        assert_eq!(rebuilt.len(), index.len());
        assert_eq!(rebuilt.by_id("1", &all).unwrap().to_record(), record);
    }

    #[test]
    fn a_later_record_with_the_same_id_replaces_the_earlier() {
        let mut builder = IndexBuilder::new();
        builder
            .push(&ItemRecord::track("1", "s", "A", "Old title"))
            .unwrap();
        builder
            .push(&ItemRecord::track("1", "s", "A", "New title"))
            .unwrap();
        assert_eq!(builder.replaced(), 1);
        let index = builder.finish();
        assert_eq!(index.len(), 1);
        let all = Visibility::everything();
        assert_eq!(index.by_id("1", &all).unwrap().title(), "New title");
        assert!(index.search("old", &[], &all, 10).is_empty());
    }

    #[test]
    fn nothing_outside_the_visible_sections_is_returned() {
        let index = sample();
        let music = Visibility::sections(["music"]);
        let hits = index.search("hey jude", &[ItemKind::Track], &music, 10);
        assert_eq!(hits.len(), 2);
        for hit in &hits {
            assert_eq!(index.item(hit.item, &music).unwrap().section_id(), "music");
        }
        assert!(index.by_id("4", &music).is_none());
        assert!(
            index
                .by_path("/music/Secret Band/Covers/Hey Jude.flac", &music)
                .is_none()
        );
        let nothing = Visibility::sections(Vec::<String>::new());
        assert!(index.search("hey", &[], &nothing, 10).is_empty());
        assert!(
            index
                .by_musicbrainz_id("0e8a7f6b9e0a4c0b8c775a6f1e1d2c3b", &nothing)
                .is_empty()
        );
        let unknown = Visibility::sections(["no-such-section"]);
        assert!(index.by_id("1", &unknown).is_none());
        let private = Visibility::sections(["private"]);
        assert_eq!(index.search("jude", &[], &private, 10).len(), 1);
    }

    #[test]
    fn search_ranks_exact_then_prefix_then_substring() {
        let index = sample();
        let all = Visibility::everything();
        let hits = index.search("HEY JUDE", &[], &all, 10);
        let ids: Vec<&str> = hits
            .iter()
            .map(|hit| index.item(hit.item, &all).unwrap().id())
            .collect();
        // Exact titles first (tracks before the album), the live version has the same base.
        assert_eq!(ids.len(), 4);
        assert!(hits[0].score >= hits[3].score);
        let hits = index.search("mind empire", &[], &all, 10);
        assert_eq!(hits.len(), 1, "words in any order");
        let hits = index.search("dont st", &[], &all, 10);
        assert_eq!(index.item(hits[0].item, &all).unwrap().id(), "5");
        assert!(index.search("zzzz", &[], &all, 10).is_empty());
        assert!(index.search("", &[], &all, 10).is_empty());
        assert_eq!(index.search("h", &[], &all, 2).len(), 2, "the limit holds");
        let short = index.search("e", &[], &all, 10);
        assert_eq!(
            short.len(),
            1,
            "one letter: titles with a word starting with it"
        );
        assert_eq!(index.item(short[0].item, &all).unwrap().id(), "3");
        assert_eq!(
            index.search("ju", &[], &all, 10).len(),
            4,
            "two letters: word starts"
        );
        let albums = index.search("hey jude", &[ItemKind::Album], &all, 10);
        assert_eq!(albums.len(), 1);
    }

    #[test]
    fn exact_keys_cover_featured_and_album_artists() {
        let index = sample();
        let jay = index.artist_id("jay z").unwrap();
        let alicia = index.artist_id("alicia keys").unwrap();
        let title = "empire state of mind";
        assert_eq!(index.exact_items(title, VersionTags::NONE, jay).count(), 1);
        assert_eq!(
            index.exact_items(title, VersionTags::NONE, alicia).count(),
            1
        );
        let beatles = index.artist_id("beatles").unwrap();
        assert_eq!(
            index
                .exact_items("hey jude", VersionTags::NONE, beatles)
                .count(),
            1
        );
        assert_eq!(
            index
                .exact_items("hey jude", VersionTags::LIVE, beatles)
                .count(),
            1
        );
        assert_eq!(index.artist_block(beatles).len(), 2);
        // "hey jude" has 8 characters: both tracks' base titles do.
        assert_eq!(index.artist_block_within(beatles, 8, 8).len(), 2);
        assert!(index.artist_block_within(beatles, 9, 255).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn title_shapes_never_rule_out_a_similar_title(
            a in "[a-f ]{0,14}", b in "[a-f ]{0,14}", floor in 0.0f32..1.0,
        ) {
            if normalize::similarity(&a, &b) >= floor {
                proptest::prop_assert!(TitleShape::of(&a).could_reach(TitleShape::of(&b), floor));
            }
        }
    }

    #[test]
    fn the_prefix_fast_path_returns_what_the_full_search_returns() {
        let mut records = Vec::new();
        for n in 0..300 {
            let title = match n % 4 {
                0 => format!("Storm {n}"),
                1 => format!("Stormy Weather {n}"),
                2 => format!("The Storm Inside {n}"),
                _ => "Storm".to_string(),
            };
            records.push(ItemRecord::track(
                &n.to_string(),
                if n % 5 == 0 { "b" } else { "a" },
                "X",
                &title,
            ));
        }
        let index = LibraryIndex::build(&records).unwrap();
        let visible = Visibility::sections(["a"]);
        for limit in [1, 10, 50, 200, 1000] {
            let fast = index.search("storm", &[], &visible, limit);
            // The same ranking, computed without the fast path: rank every visible item.
            let mut all: Vec<(f32, u32)> = (0..index.len() as u32)
                .filter_map(|item| {
                    let view = index.item(ItemNo(item), &visible)?;
                    let score = rank_title(view.title_norm(), "storm", &["storm"])?;
                    Some((score, item))
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            all.truncate(limit);
            let fast: Vec<(f32, u32)> = fast.iter().map(|hit| (hit.score, hit.item.0)).collect();
            assert_eq!(fast, all, "limit {limit}");
        }
    }

    #[test]
    fn stats_count_kinds_and_bytes() {
        let stats = sample().stats();
        assert_eq!(stats.items_by_kind[0], 5);
        assert_eq!(stats.items_by_kind[1], 1);
        assert_eq!(stats.sections, 2);
        assert!(stats.heap_bytes > stats.text_bytes);
    }
}
