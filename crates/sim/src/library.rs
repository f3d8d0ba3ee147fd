//! The deterministic synthetic library: one server-neutral model that both front ends render.
//!
//! Storage is compact so that a million tracks fit in about a hundred megabytes: every item is
//! one fixed-size `ItemRecord`-like row in a single arena (`Vec`), names live once in an
//! `Interner` (one `String` buffer plus spans), and everything that can be derived from an
//! item's content (file paths, sizes, MusicBrainz ids, guids, studios, genres) is computed on
//! demand instead of stored. Item ids are dense `u32`s starting at 1; Plex uses them as
//! `ratingKey`, Jellyfin formats them as GUID-like ids (see [`Item::guid_id`]).
//!
//! Determinism: all randomness comes from `crate::rng::SplitMix64` seeded from the library
//! seed, no `HashMap` is ever iterated to produce output, and each artist's discography is drawn
//! from its own sub-generator, so the second music section ("Music (Lossless)") can hold the very
//! same albums as the first one — the situation of a playlist-sync tool searching two libraries.
//!
//! # Map
//! This file holds the kinds, sections, the interner, the stored rows and [`Library`]'s reads;
//! `item` is the view of one item ([`Item`]), `fields` what a change carries, `generate` the
//! generator, `edit` the changes after it. Tests are in `library/tests.rs`.

use std::collections::HashMap;

/// The servers' search folding, shared with the gateway, which must fold as the servers do.
use cachearr_serverfmt::search::fold;

use crate::rng::{SplitMix64, mix, uuid_from};
use crate::words::*;

mod edit;
mod fields;
mod generate;
mod item;
pub use fields::*;
pub use item::*;

/// A dense item id, starting at 1. Plex's `ratingKey`, the basis of Jellyfin's `Id`.
pub type ItemId = u32;

/// What an item is. The discriminants are Plex's metadata type numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ItemKind {
    /// A film (Plex type 1).
    Movie = 1,
    /// A TV show (type 2).
    Show = 2,
    /// A season of a show (type 3).
    Season = 3,
    /// An episode of a season (type 4).
    Episode = 4,
    /// A music artist (type 8).
    Artist = 8,
    /// An album (type 9).
    Album = 9,
    /// A track (type 10).
    Track = 10,
    /// A photo (type 13).
    Photo = 13,
    /// A photo album (type 14): holds photos and further albums.
    PhotoAlbum = 14,
}

impl ItemKind {
    /// Plex's numeric metadata type.
    pub fn plex_type(self) -> u8 {
        self as u8
    }

    /// The kind for a Plex metadata type number, if it is one the library holds.
    pub fn from_plex_type(n: u32) -> Option<Self> {
        Some(match n {
            1 => Self::Movie,
            2 => Self::Show,
            3 => Self::Season,
            4 => Self::Episode,
            8 => Self::Artist,
            9 => Self::Album,
            10 => Self::Track,
            13 => Self::Photo,
            14 => Self::PhotoAlbum,
            _ => return None,
        })
    }

    /// Plex's `type` attribute (`movie`, `show`, `season`, `episode`, `artist`, `album`,
    /// `track`, `photo`): photo albums and photos are both `photo`, told apart by element.
    pub fn plex_name(self) -> &'static str {
        match self {
            Self::Movie => "movie",
            Self::Show => "show",
            Self::Season => "season",
            Self::Episode => "episode",
            Self::Artist => "artist",
            Self::Album => "album",
            Self::Track => "track",
            Self::Photo | Self::PhotoAlbum => "photo",
        }
    }

    /// Plex's search type name (the `type` of a section's `Meta` types and of filter field
    /// prefixes): the type name, except `photoalbum` for photo albums.
    pub fn search_name(self) -> &'static str {
        match self {
            Self::PhotoAlbum => "photoalbum",
            other => other.plex_name(),
        }
    }

    /// The kind for a Plex search type name (`photo` is a photo, `photoalbum` an album).
    pub fn from_plex_name(name: &str) -> Option<Self> {
        [
            Self::Movie,
            Self::Show,
            Self::Season,
            Self::Episode,
            Self::Artist,
            Self::Album,
            Self::Track,
            Self::Photo,
            Self::PhotoAlbum,
        ]
        .into_iter()
        .find(|k| k.search_name() == name)
    }

    /// Jellyfin's `Type` (`Movie`, `Series`, `Season`, `Episode`, `MusicArtist`, `MusicAlbum`,
    /// `Audio`).
    pub fn jellyfin_name(self) -> &'static str {
        match self {
            Self::Movie => "Movie",
            Self::Show => "Series",
            Self::Season => "Season",
            Self::Episode => "Episode",
            Self::Artist => "MusicArtist",
            Self::Album => "MusicAlbum",
            Self::Track => "Audio",
            Self::Photo => "Photo",
            Self::PhotoAlbum => "PhotoAlbum",
        }
    }

    /// True for items that are played (they have media parts and play state; photos are
    /// shown).
    pub fn is_playable(self) -> bool {
        matches!(
            self,
            Self::Movie | Self::Episode | Self::Track | Self::Photo
        )
    }
}

/// What a library section holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// Artists → albums → tracks.
    Music,
    /// Movies.
    Movies,
    /// Shows → seasons → episodes.
    Shows,
    /// Photo albums → photos and further albums.
    Photos,
}

impl SectionKind {
    /// Plex's section `type` attribute (`artist`, `movie`, `show`, `photo`).
    pub fn plex_type(self) -> &'static str {
        match self {
            Self::Music => "artist",
            Self::Movies => "movie",
            Self::Shows => "show",
            Self::Photos => "photo",
        }
    }

    /// The item kinds of the section, top level first.
    pub fn kinds(self) -> &'static [ItemKind] {
        match self {
            Self::Music => &[ItemKind::Artist, ItemKind::Album, ItemKind::Track],
            Self::Movies => &[ItemKind::Movie],
            Self::Shows => &[ItemKind::Show, ItemKind::Season, ItemKind::Episode],
            Self::Photos => &[ItemKind::PhotoAlbum, ItemKind::Photo],
        }
    }
}

/// A library section (Plex) / collection folder (Jellyfin).
#[derive(Debug, Clone)]
pub struct Section {
    /// Plex section id (1-based, stable).
    pub id: u32,
    /// What it holds.
    pub kind: SectionKind,
    /// Display name.
    pub title: String,
    /// Stable UUID derived from the seed.
    pub uuid: String,
    /// The folder the section "scans".
    pub location: String,
    /// Epoch seconds.
    pub created_at: u32,
    /// Epoch seconds of the last content change.
    pub updated_at: u32,
    /// Epoch seconds of the last finished scan.
    pub scanned_at: u32,
    /// Items per kind, in the section's natural order (by title sort, children in index order).
    lists: Vec<(ItemKind, Vec<ItemId>)>,
}

impl Section {
    /// The section's items of `kind` in natural order (empty for kinds it does not hold).
    pub fn items(&self, kind: ItemKind) -> &[ItemId] {
        self.lists
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// The top-level kind (artist, movie, show).
    pub fn top_kind(&self) -> ItemKind {
        self.kind.kinds()[0]
    }

    fn list_mut(&mut self, kind: ItemKind) -> &mut Vec<ItemId> {
        if let Some(pos) = self.lists.iter().position(|(k, _)| *k == kind) {
            &mut self.lists[pos].1
        } else {
            self.lists.push((kind, Vec::new()));
            let last = self.lists.len() - 1;
            &mut self.lists[last].1
        }
    }
}

/// Errors of library mutations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LibraryError {
    /// No such item (or it was removed).
    #[error("no item with id {0}")]
    NoSuchItem(ItemId),
    /// No such section.
    #[error("no section with id {0}")]
    NoSuchSection(u32),
    /// The parent cannot hold an item of that kind, or the section is of the wrong kind.
    #[error("{0}")]
    BadShape(String),
}

/// An interned string's index; 0 is the empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct StrId(u32);

/// All names of the library in one buffer; equal names are stored once during generation.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    buf: String,
    spans: Vec<(u32, u32)>,
    dedupe: HashMap<u64, u32>,
}

impl Interner {
    fn new() -> Self {
        let mut s = Self::default();
        s.spans.push((0, 0));
        s
    }

    fn intern(&mut self, text: &str) -> StrId {
        if text.is_empty() {
            return StrId(0);
        }
        let h = fnv1a(text.as_bytes());
        if let Some(&id) = self.dedupe.get(&h)
            && self.get(StrId(id)) == text
        {
            return StrId(id);
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.buf.len() as u32, text.len() as u32));
        self.buf.push_str(text);
        self.dedupe.entry(h).or_insert(id);
        StrId(id)
    }

    fn get(&self, id: StrId) -> &str {
        match self.spans.get(id.0 as usize) {
            Some(&(start, len)) => self
                .buf
                .get(start as usize..(start + len) as usize)
                .unwrap_or(""),
            None => "",
        }
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * 8 + self.dedupe.capacity() * 24
    }
}

/// FNV-1a 64: a stable hash (unlike std's `DefaultHasher`, fixed by definition).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FLAG_REMOVED: u8 = 1;
const FLAG_MBID: u8 = 2;

/// One item: 36 bytes, whatever its kind.
#[derive(Debug, Clone, Copy)]
struct ItemRecord {
    kind: ItemKind,
    flags: u8,
    section: u8,
    index: u16,
    disc: u16,
    year: u16,
    parent: ItemId,
    title: StrId,
    original_title: StrId,
    duration_ms: u32,
    added_at: u32,
    updated_at: u32,
}

/// Sizes of the library to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryConfig {
    /// Total tracks over both music sections.
    pub tracks: u32,
    /// Movies.
    pub movies: u32,
    /// Shows (each with 1–6 seasons of 6–13 episodes).
    pub shows: u32,
    /// The seed: same seed and sizes → the same library, byte for byte.
    pub seed: u64,
}

impl Default for LibraryConfig {
    fn default() -> Self {
        Self {
            tracks: 2_000,
            movies: 200,
            shows: 20,
            seed: 1,
        }
    }
}

/// Media containers an item may be given (file extensions as Plex names them).
pub const KNOWN_CONTAINERS: &[&str] = &[
    "mp3", "flac", "m4a", "aac", "ogg", "opus", "wav", "alac", "wma", "mkv", "mp4", "m4v", "avi",
    "mov", "ts", "webm", "wmv", "mpeg", "jpeg", "png", "gif",
];

/// The label (tag) that marks explicit artists, albums, movies and shows.
pub const LABEL_EXPLICIT: &str = "Explicit";
/// The label (tag) that marks family-friendly artists, albums, movies and shows.
pub const LABEL_FAMILY: &str = "Family";

/// Section ids are fixed so that tests and docs can name them.
pub const MUSIC_SECTION: u32 = 1;
/// The movie section's id.
pub const MOVIES_SECTION: u32 = 2;
/// The TV section's id.
pub const SHOWS_SECTION: u32 = 3;
/// The second music section ("Music (Lossless)"), holding copies of some of section 1's albums.
pub const LOSSLESS_MUSIC_SECTION: u32 = 4;

/// 2015-01-01: the first item is added then; additions spread over the following decade.
const EPOCH_START: u32 = 1_420_070_400;
const TEN_YEARS: u64 = 10 * 365 * 86_400;

/// The synthetic library.
#[derive(Debug)]
pub struct Library {
    config: LibraryConfig,
    strings: Interner,
    items: Vec<ItemRecord>,
    sections: Vec<Section>,
    children: HashMap<ItemId, Vec<ItemId>>,
    /// Fields given explicitly for an item (a library file, `/_sim/library/add`): they take the
    /// place of the derived ones. Generated items have none, so the arena stays compact.
    extras: HashMap<ItemId, Box<ItemFields>>,
    /// Edits made through a front end (field values, locks, tags, artwork).
    edits: HashMap<ItemId, Box<crate::edits::ItemEdits>>,
    /// Bumped by every mutation; front ends use it as a cheap "has anything changed" stamp.
    generation: u64,
}

/// A read-only view of one item, with everything front ends render.
#[derive(Clone, Copy)]
pub struct Item<'a> {
    lib: &'a Library,
    id: ItemId,
    rec: &'a ItemRecord,
}

impl std::fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("id", &self.id)
            .field("title", &self.title())
            .finish()
    }
}

impl Library {
    /// The configuration the library was generated from.
    pub fn config(&self) -> LibraryConfig {
        self.config
    }

    /// A counter bumped by every mutation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// All sections, in id order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// One section.
    pub fn section(&self, id: u32) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// A live (not removed) item.
    pub fn item(&self, id: ItemId) -> Option<Item<'_>> {
        self.item_any(id).filter(|i| !i.is_removed())
    }

    /// An item even if it was removed (for rendering removal events).
    pub fn item_any(&self, id: ItemId) -> Option<Item<'_>> {
        let rec = self.items.get((id as usize).checked_sub(1)?)?;
        Some(Item { lib: self, id, rec })
    }

    /// Child ids of `id` in index order.
    pub fn children(&self, id: ItemId) -> &[ItemId] {
        self.children.get(&id).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// All playable descendants of `id` (tracks of an artist, episodes of a show…), in order.
    pub fn leaves(&self, id: ItemId) -> Vec<ItemId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            match self.item(cur) {
                Some(i) if i.kind().is_playable() => out.push(cur),
                Some(_) => stack.extend(self.children(cur).iter().rev()),
                None => {}
            }
        }
        out
    }

    /// Number of items ever created (including removed ones); the highest id.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the library holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Counts of live items per kind over all sections.
    pub fn count(&self, kind: ItemKind) -> usize {
        self.sections.iter().map(|s| s.items(kind).len()).sum()
    }

    /// The most recently added live items of `kinds` (newest first), optionally in one section.
    pub fn recently_added(
        &self,
        section: Option<u32>,
        kinds: &[ItemKind],
        limit: usize,
    ) -> Vec<ItemId> {
        let mut all: Vec<(u32, ItemId)> = Vec::new();
        for s in self
            .sections
            .iter()
            .filter(|s| section.is_none_or(|id| id == s.id))
        {
            for &k in kinds {
                all.extend(
                    s.items(k)
                        .iter()
                        .filter_map(|&id| self.item(id).map(|i| (i.added_at(), id))),
                );
            }
        }
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(limit);
        all.into_iter().map(|(_, id)| id).collect()
    }

    /// Estimated heap bytes held by the library (arena, strings, child lists, section lists).
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<ItemRecord>()
            + self.strings.heap_bytes()
            + self.children.capacity() * 40
            + self
                .children
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
            + self
                .sections
                .iter()
                .flat_map(|s| s.lists.iter())
                .map(|(_, v)| v.capacity() * 4)
                .sum::<usize>()
    }

    /// A stable 64-bit digest of everything the front ends can show (for determinism tests).
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0;
        let mut feed = |bytes: &[u8]| h = mix(h ^ fnv1a(bytes));
        for s in &self.sections {
            feed(format!("{}|{}|{}|{}", s.id, s.title, s.uuid, s.updated_at).as_bytes());
            for (k, list) in &s.lists {
                feed(&[*k as u8]);
                for id in list {
                    feed(&id.to_le_bytes());
                }
            }
        }
        for id in 1..=self.items.len() as ItemId {
            if let Some(i) = self.item_any(id) {
                feed(
                    format!(
                        "{}|{}|{}|{:?}|{}|{}|{}|{}|{}|{}|{:?}|{}",
                        id,
                        i.kind().plex_type(),
                        i.title(),
                        i.original_title(),
                        i.rec.parent,
                        i.index(),
                        i.disc(),
                        i.year(),
                        i.duration_ms(),
                        i.added_at(),
                        i.musicbrainz_id(),
                        i.file_path()
                    )
                    .as_bytes(),
                );
            }
        }
        h
    }
}

fn kind_lists(kind: SectionKind) -> Vec<(ItemKind, Vec<ItemId>)> {
    kind.kinds().iter().map(|&k| (k, Vec::new())).collect()
}

#[cfg(test)]
mod golden {
    use super::*;

    /// The generator's output is a contract: other crates keep fixtures made from it (the
    /// library crate's `tests/data/eval-set.json` is built from seed 7, 12,000 tracks). If this
    /// digest changes on purpose, regenerate those fixtures in the same commit.
    #[test]
    fn generator_output_is_pinned() {
        let lib = Library::generate(LibraryConfig {
            tracks: 12_000,
            movies: 30,
            shows: 3,
            seed: 7,
        });
        assert_eq!(
            lib.fingerprint(),
            GOLDEN,
            "the synthetic library changed: see this test's doc"
        );
    }

    const GOLDEN: u64 = 12_816_276_643_793_907_315;
}

#[cfg(test)]
mod tests;
