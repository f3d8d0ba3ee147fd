//! Building an index: [`IndexBuilder`] interns one record at a time into [`IndexData`], and
//! [`LibraryIndex::from_data`] derives every lookup map from the stored items (after a build
//! and after loading a snapshot).

use super::*;

/// Builds a [`LibraryIndex`] one record at a time (so a crawler can feed pages as they come
/// and a progress bar can follow).
#[derive(Debug, Default)]
pub struct IndexBuilder {
    pub(super) data: IndexData,
    pub(super) interned: FxHashMap<String, Span>,
    pub(super) artist_ids: FxHashMap<String, u32>,
    pub(super) album_ids: FxHashMap<(Span, Span), u32>,
    pub(super) section_ids: FxHashMap<String, u16>,
    /// Item by id hash; true hash collisions (different ids) go to `item_ids_overflow`.
    pub(super) item_ids: FxHashMap<u64, u32>,
    pub(super) item_ids_overflow: FxHashMap<String, u32>,
    pub(super) replaced: usize,
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
        let section = self.section_of(&record.section_id)?;

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
            slot.album = self.album_of(record)?;
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

        self.store(record, slot)
    }

    /// The number of section `id`, a new one when it is the first of its section.
    fn section_of(&mut self, id: &str) -> Result<u16, LibraryError> {
        if let Some(section) = self.section_ids.get(id) {
            return Ok(*section);
        }
        let section = u16::try_from(self.data.sections.len())
            .map_err(|_| LibraryError::TooLarge("more than 65535 sections"))?;
        let span = self.intern(id)?;
        self.data.sections.push(span);
        self.section_ids.insert(id.to_owned(), section);
        Ok(section)
    }

    /// The number of the record's album (title and album artist), a new one when it is the
    /// album's first record.
    fn album_of(&mut self, record: &ItemRecord) -> Result<u32, LibraryError> {
        let title = self.intern(record.album.as_deref().unwrap_or(""))?;
        let artist = self.intern(record.album_artist.as_deref().unwrap_or(""))?;
        Ok(match self.album_ids.get(&(title, artist)) {
            Some(album) => *album,
            None => {
                let album_norm = normalize::normalize_album(record.album.as_deref().unwrap_or(""));
                let norm = self.intern(&album_norm)?;
                let artist_id =
                    match normalize::split_artists(record.album_artist.as_deref().unwrap_or(""))
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
        })
    }

    /// Stores the record's slot: in place of the record with its id, else as a new item.
    fn store(&mut self, record: &ItemRecord, slot: Slot) -> Result<(), LibraryError> {
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
        let keys = Keys::of(&data);
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
        // A title in another script is also found by its Latin letters ("hong dou" for "红豆",
        // "gruppa krovi" for "группа крови"), as artist names are.
        let title_grams = Postings::build(|emit| {
            for (item, slot) in data.items.iter().enumerate() {
                let title = data.str(slot.title_norm);
                let mut grams = normalize::trigrams(title);
                if !title.is_ascii()
                    && let Some(latin) = normalize::latin_form(title)
                {
                    grams.extend(normalize::trigrams(&latin));
                    grams.sort_unstable();
                    grams.dedup();
                }
                for gram in grams {
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
        sort_by_title_length(&mut artist_blocks, &title_shape);
        let by_title = titles_in_order(&data);
        LibraryIndex {
            by_title,
            title_shape,
            by_id: SortedMap::new(keys.by_id),
            by_path: SortedMap::new(keys.by_path),
            by_mbid: SortedMap::new(keys.by_mbid),
            by_isrc: SortedMap::new(keys.by_isrc),
            by_exact: SortedMap::new(keys.by_exact),
            by_short: SortedMap::new(keys.by_short),
            artist_by_name: SortedMap::new(artist_by_name),
            section_by_id: SortedMap::new(section_by_id),
            artist_blocks,
            title_grams,
            artist_grams,
            data,
            kanji_names: std::sync::OnceLock::new(),
            skeleton_names: Default::default(),
            hangul_names: Default::default(),
        }
    }
}

/// The keys of every item, each with the item, unsorted: id, file path, MusicBrainz ids,
/// ISRC, and a track's exact keys (title, version, artist) and those of its other forms.
struct Keys {
    by_id: Vec<(u64, u32)>,
    by_path: Vec<(u64, u32)>,
    by_mbid: Vec<(u64, u32)>,
    by_isrc: Vec<(u64, u32)>,
    by_exact: Vec<(u64, u32)>,
    by_short: Vec<(u64, u32)>,
}

impl Keys {
    fn of(data: &IndexData) -> Keys {
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
                for artist in track_artist_ids(data, slot) {
                    by_exact.push((exact_key(title, version, artist), item));
                }
                for form in IndexData::pool(&data.credit_pool, slot.alternates) {
                    for artist in track_artist_ids(data, slot) {
                        by_short.push((exact_key(data.str(*form), version, artist), item));
                    }
                }
            }
        }
        Keys {
            by_id,
            by_path,
            by_mbid,
            by_isrc,
            by_exact,
            by_short,
        }
    }
}

/// Sorts each artist's tracks by the length of their titles.
fn sort_by_title_length(artist_blocks: &mut Postings, title_shape: &[TitleShape]) {
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
}

/// Every item, in the order of their normalized titles.
fn titles_in_order(data: &IndexData) -> Vec<u32> {
    let mut by_title: Vec<u32> = (0..data.items.len() as u32).collect();
    by_title.sort_unstable_by(|a, b| {
        let title = |item: &u32| {
            data.items
                .get(*item as usize)
                .map_or("", |s| data.str(s.title_norm))
        };
        title(a).cmp(title(b)).then(a.cmp(b))
    });
    by_title
}
