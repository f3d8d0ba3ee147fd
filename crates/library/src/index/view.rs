//! [`ItemView`]: a read-only view of one item, its text read from the index's arena.

use super::*;

/// A read-only view of one item of a [`LibraryIndex`].
#[derive(Debug, Clone, Copy)]
pub struct ItemView<'a> {
    pub(super) index: &'a LibraryIndex,
    pub(super) slot: &'a Slot,
    pub(super) item: ItemNo,
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

    /// Its album's number in the index (albums are interned by title and album artist), or
    /// `u32::MAX` for none: an album's tracks share it, and what is read from the album once.
    pub(crate) fn album_no(&self) -> u32 {
        self.slot.album
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

    pub(super) fn path_eq(&self, path: &str) -> bool {
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
