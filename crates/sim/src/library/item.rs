//! [`Item`]: a read-only view of one item, with what is derived from its content on demand
//! (file paths, sizes, MusicBrainz ids, guids, studios, genres); [`guid_for_id`] and
//! [`id_from_guid`], Jellyfin's ids.

use super::*;

impl<'a> Item<'a> {
    /// The item's id (Plex ratingKey).
    pub fn id(&self) -> ItemId {
        self.id
    }
    /// What it is.
    pub fn kind(&self) -> ItemKind {
        self.rec.kind
    }
    /// Its display title.
    pub fn title(&self) -> &'a str {
        self.lib.strings.get(self.rec.title)
    }
    /// The title without a leading English article, used for sorting (`titleSort`).
    pub fn title_sort(&self) -> &'a str {
        cachearr_serverfmt::plex::title_sort(self.title())
    }
    /// Tracks: the track artist when it differs from the album artist (Plex `originalTitle`);
    /// movies: the original-language title.
    pub fn original_title(&self) -> Option<&'a str> {
        let s = self.lib.strings.get(self.rec.original_title);
        (!s.is_empty()).then_some(s)
    }
    /// The section the item belongs to.
    pub fn section(&self) -> &'a Section {
        // `section` is always a valid index: it is set from `sections` when the item is made.
        &self.lib.sections[usize::from(self.rec.section)]
    }
    /// The parent (album of a track, artist of an album, season of an episode, show of a
    /// season).
    pub fn parent(&self) -> Option<Item<'a>> {
        self.lib.item_any(self.rec.parent)
    }
    /// The grandparent (artist of a track, show of an episode).
    pub fn grandparent(&self) -> Option<Item<'a>> {
        self.parent().and_then(|p| p.parent())
    }
    /// Track number, episode number or season number.
    pub fn index(&self) -> u32 {
        u32::from(self.rec.index)
    }
    /// Disc number of a track (1-based); 0 for other kinds.
    pub fn disc(&self) -> u32 {
        u32::from(self.rec.disc)
    }
    /// Release year (0 when unknown).
    pub fn year(&self) -> u32 {
        u32::from(self.rec.year)
    }
    /// Duration in milliseconds (0 for containers).
    pub fn duration_ms(&self) -> u32 {
        self.rec.duration_ms
    }
    /// Epoch seconds.
    pub fn added_at(&self) -> u32 {
        self.rec.added_at
    }
    /// Epoch seconds; also the version stamp of the item's thumb URL.
    pub fn updated_at(&self) -> u32 {
        self.rec.updated_at
    }
    /// True once removed (removed items stay addressable for event rendering).
    pub fn is_removed(&self) -> bool {
        self.rec.flags & FLAG_REMOVED != 0
    }
    /// Ids of the children, in index order (empty for leaves).
    pub fn children(&self) -> &'a [ItemId] {
        self.lib.children(self.id)
    }
    /// A hash of the item's content (kind, names, position), equal for the copies of an album
    /// in both music sections: the basis of guids and MusicBrainz ids, like a real agent match.
    pub fn content_hash(&self) -> u64 {
        let mut h = fnv1a(self.title().as_bytes()) ^ u64::from(self.rec.kind as u8);
        h = mix(h ^ u64::from(self.rec.index) << 16 ^ u64::from(self.rec.disc) << 32);
        if let Some(p) = self.parent() {
            h = mix(h ^ p.content_hash());
        }
        if let Some(o) = self.original_title() {
            h = mix(h ^ fnv1a(o.as_bytes()));
        }
        if self.rec.kind == ItemKind::Movie {
            h = mix(h ^ u64::from(self.rec.year));
        }
        h
    }
    /// The fields given explicitly for this item, if any (see [`ItemFields`]).
    pub fn fields(&self) -> Option<&'a ItemFields> {
        self.lib.extras.get(&self.id).map(|b| &**b)
    }
    /// The edits made to this item through a front end, if any.
    pub fn edits(&self) -> Option<&'a crate::edits::ItemEdits> {
        self.lib.edits.get(&self.id).map(|b| &**b)
    }
    /// The MusicBrainz id (recording for tracks, release for albums, artist for artists), on
    /// part of the music items only — like real libraries.
    pub fn musicbrainz_id(&self) -> Option<String> {
        if let Some(f) = self.fields()
            && f.musicbrainz_id.is_some()
        {
            return f.musicbrainz_id.clone();
        }
        (self.rec.flags & FLAG_MBID != 0).then(|| uuid_from(self.content_hash() ^ 0x4D42))
    }
    /// The ISRC of a track, when given.
    pub fn isrc(&self) -> Option<&'a str> {
        self.fields().and_then(|f| f.isrc.as_deref())
    }
    /// The MusicBrainz release-group id of an album (or of a track's album).
    pub fn musicbrainz_release_group(&self) -> Option<String> {
        let album = match self.kind() {
            ItemKind::Album => *self,
            ItemKind::Track => self.parent()?,
            _ => return None,
        };
        if let Some(rg) = album
            .fields()
            .and_then(|f| f.musicbrainz_release_group.clone())
        {
            return Some(rg);
        }
        album
            .musicbrainz_id()
            .map(|_| uuid_from(album.content_hash() ^ 0x5247))
    }
    /// Plex's agent guid: `plex://track/5d07…` (24 hex digits derived from the content).
    pub fn plex_guid(&self) -> String {
        if let Some(g) = self.fields().and_then(|f| f.guid.as_ref()) {
            return g.clone();
        }
        // Photos are matched by no agent: Plex names them by their library id.
        match self.kind() {
            ItemKind::PhotoAlbum => return format!("local://{}", self.id),
            ItemKind::Photo => return format!("com.plexapp.agents.none://{}?lang=xn", self.id),
            _ => {}
        }
        format!(
            "plex://{}/{:024x}",
            self.kind().plex_name(),
            self.content_hash() as u128 * 0x1F
        )
    }
    /// A GUID-shaped id for Jellyfin (`Id`), 32 hex digits, unique per item id.
    pub fn guid_id(&self) -> String {
        guid_for_id(self.lib.config.seed, self.id)
    }
    /// The item's external guids as Plex lists them (`mbid://…`, `imdb://…`, `tmdb://…`,
    /// `tvdb://…`): the given ones, else the derived MusicBrainz id and external ids.
    pub fn guids(&self) -> Vec<String> {
        if let Some(f) = self.fields()
            && !f.guids.is_empty()
        {
            return f.guids.clone();
        }
        let mut out = Vec::new();
        if let Some(mbid) = self.musicbrainz_id() {
            out.push(format!("mbid://{mbid}"));
        }
        if let Some((imdb, tmdb, tvdb)) = self.external_ids() {
            out.push(format!("imdb://{imdb}"));
            out.push(format!("tmdb://{tmdb}"));
            out.push(format!("tvdb://{tvdb}"));
        }
        out
    }
    /// External ids of movies and shows: (imdb `tt…`, tmdb, tvdb).
    pub fn external_ids(&self) -> Option<(String, u32, u32)> {
        if !matches!(self.kind(), ItemKind::Movie | ItemKind::Show) {
            return None;
        }
        if self.fields().is_some_and(|f| !f.guids.is_empty()) {
            // Given guids replace the derived ones; read them with [`Item::guids`].
            let f = self.fields()?;
            let find = |scheme: &str| {
                f.guids
                    .iter()
                    .find_map(|g| g.strip_prefix(scheme).map(str::to_string))
            };
            let num = |scheme: &str| find(scheme).and_then(|v| v.parse::<u32>().ok());
            return Some((
                find("imdb://").unwrap_or_default(),
                num("tmdb://").unwrap_or(0),
                num("tvdb://").unwrap_or(0),
            ));
        }
        let h = self.content_hash();
        Some((
            format!("tt{:07}", h % 9_999_999),
            (mix(h) % 999_999) as u32 + 1,
            (mix(h ^ 7) % 499_999) as u32 + 1,
        ))
    }
    /// Studio (movies, shows).
    pub fn studio(&self) -> Option<&'a str> {
        if let Some(f) = self.fields() {
            return f.studio.as_deref();
        }
        matches!(self.kind(), ItemKind::Movie | ItemKind::Show)
            .then(|| STUDIOS[(self.content_hash() % STUDIOS.len() as u64) as usize])
    }
    /// Content rating (movies, shows).
    pub fn content_rating(&self) -> Option<&'a str> {
        if let Some(f) = self.fields() {
            return f.content_rating.as_deref();
        }
        matches!(self.kind(), ItemKind::Movie | ItemKind::Show).then(|| {
            CONTENT_RATINGS[(mix(self.content_hash()) % CONTENT_RATINGS.len() as u64) as usize]
        })
    }
    /// The content rating that applies to the item: its own, else its nearest ancestor's (an
    /// episode or season takes its show's). Music carries none.
    pub fn effective_content_rating(&self) -> Option<&'a str> {
        self.lineage().find_map(|i| i.content_rating())
    }
    /// Labels (Plex `Label` tags, Jellyfin `Tags`) of artists, albums, movies and shows: part
    /// of them are `Explicit`, part `Family` (never both). Share restrictions and parental
    /// policies filter on them, children inheriting their ancestors' (see [`Item::lineage`]).
    pub fn labels(&self) -> Vec<&'a str> {
        // Labels edited on the server (Plex `label[0].tag.tag=…`) replace the item's own, for
        // the restrictions that read them as for what the item shows.
        if let Some(edited) = self.edits().and_then(|e| e.tags.get("Label")) {
            return edited.iter().map(String::as_str).collect();
        }
        if let Some(f) = self.fields() {
            return f.labels.iter().map(String::as_str).collect();
        }
        let explicit_percent = match self.kind() {
            ItemKind::Artist => 8,
            ItemKind::Album => 15,
            ItemKind::Movie | ItemKind::Show => 12,
            _ => return Vec::new(),
        };
        let h = mix(self.content_hash() ^ 0x4C41_4245);
        if h % 100 < explicit_percent {
            vec![LABEL_EXPLICIT]
        } else if (h >> 8) % 100 < 35 {
            vec![LABEL_FAMILY]
        } else {
            Vec::new()
        }
    }
    /// The item, then its parent, grandparent … (what labels and ratings are inherited from).
    pub fn lineage(&self) -> impl Iterator<Item = Item<'a>> + use<'a> {
        std::iter::successors(Some(*self), |i| i.parent())
    }
    /// Genre (movies, shows).
    pub fn genre(&self) -> Option<&'a str> {
        if let Some(f) = self.fields() {
            return f.genres.first().map(String::as_str);
        }
        matches!(self.kind(), ItemKind::Movie | ItemKind::Show)
            .then(|| GENRES[(mix(self.content_hash() ^ 3) % GENRES.len() as u64) as usize])
    }
    /// File container / extension of the media part (`mp3`, `flac`, `mkv`), None for
    /// containers.
    pub fn container(&self) -> Option<&'static str> {
        // A given container (or the given file's extension) when it is a known one.
        let given = self
            .media_fields()
            .and_then(|m| m.container.as_deref())
            .or_else(|| {
                self.fields()
                    .and_then(|f| f.file.as_deref())
                    .and_then(|p| p.rsplit_once('.'))
                    .map(|(_, ext)| ext)
            })
            .and_then(|c| {
                KNOWN_CONTAINERS
                    .iter()
                    .copied()
                    .find(|k| k.eq_ignore_ascii_case(c))
            });
        if let Some(c) = given {
            return self.kind().is_playable().then_some(c);
        }
        match self.kind() {
            ItemKind::Track if self.section().id == LOSSLESS_MUSIC_SECTION => Some("flac"),
            ItemKind::Track => Some("mp3"),
            ItemKind::Movie | ItemKind::Episode => Some("mkv"),
            ItemKind::Photo => Some("jpeg"),
            _ => None,
        }
    }
    /// Bit rate of the media in kbit/s.
    pub fn bitrate_kbps(&self) -> u32 {
        if let Some(b) = self.media_fields().and_then(|m| m.bitrate) {
            return b;
        }
        match self.container() {
            Some("flac") => 900 + (self.content_hash() % 200) as u32,
            Some("mp3") => 320,
            Some(_) => 4_000 + (self.content_hash() % 6_000) as u32,
            None => 0,
        }
    }
    /// Size of the media file in bytes.
    pub fn file_size(&self) -> u64 {
        if let Some(size) = self.media_fields().and_then(|m| m.size) {
            return size;
        }
        u64::from(self.duration_ms()) * u64::from(self.bitrate_kbps()) / 8
    }
    /// The media part id (one part per playable item; equal to the item id).
    pub fn part_id(&self) -> Option<u32> {
        self.kind().is_playable().then_some(self.id)
    }
    /// The server-side path of the media file (or folder, for containers).
    pub fn file_path(&self) -> String {
        if let Some(p) = self.fields().and_then(|f| f.file.as_ref()) {
            return p.clone();
        }
        let clean = |s: &str| s.replace('/', "_");
        let base = &self.section().location;
        match self.kind() {
            ItemKind::Track => {
                let album = self.parent();
                let artist = album.and_then(|a| a.parent());
                format!(
                    "{base}/{}/{} ({})/{}-{:02} - {}.{}",
                    clean(artist.map(|a| a.title()).unwrap_or("Unknown Artist")),
                    clean(album.map(|a| a.title()).unwrap_or("Unknown Album")),
                    album.map(|a| a.year()).unwrap_or(0),
                    self.disc(),
                    self.index(),
                    clean(self.title()),
                    self.container().unwrap_or("mp3"),
                )
            }
            ItemKind::Movie => {
                let t = clean(self.title());
                format!("{base}/{t} ({y})/{t} ({y}).mkv", y = self.year())
            }
            ItemKind::Episode => {
                let season = self.parent();
                let show = season.and_then(|s| s.parent());
                let show_title = clean(show.map(|s| s.title()).unwrap_or("Unknown Show"));
                let sn = season.map(|s| s.index()).unwrap_or(0);
                format!(
                    "{base}/{show_title}/Season {sn:02}/{show_title} - S{sn:02}E{:02} - {}.mkv",
                    self.index(),
                    clean(self.title())
                )
            }
            ItemKind::Album => {
                let artist = self.parent().map(|a| clean(a.title())).unwrap_or_default();
                format!("{base}/{artist}/{} ({})", clean(self.title()), self.year())
            }
            ItemKind::Artist | ItemKind::Show => format!("{base}/{}", clean(self.title())),
            ItemKind::Season => {
                let show = self.parent().map(|a| clean(a.title())).unwrap_or_default();
                format!("{base}/{show}/Season {:02}", self.index())
            }
            ItemKind::PhotoAlbum | ItemKind::Photo => {
                // Albums are folders: the path is the chain of album titles.
                let mut names: Vec<String> = self.lineage().map(|i| clean(i.title())).collect();
                names.reverse();
                let ext = if self.kind() == ItemKind::Photo {
                    ".jpg"
                } else {
                    ""
                };
                format!("{base}/{}{ext}", names.join("/"))
            }
        }
    }
    /// A one-line synopsis (movies, shows, episodes), derived from the content.
    pub fn summary(&self) -> String {
        if let Some(f) = self.fields() {
            return f.summary.clone().unwrap_or_default();
        }
        match self.kind() {
            ItemKind::Movie | ItemKind::Show | ItemKind::Episode => {
                let h = self.content_hash();
                format!(
                    "A {} story about a {} {} and the {} that changed everything.",
                    ADJECTIVES[(h % ADJECTIVES.len() as u64) as usize].to_lowercase(),
                    ADJECTIVES[(mix(h) % ADJECTIVES.len() as u64) as usize].to_lowercase(),
                    NOUNS[(mix(h ^ 1) % NOUNS.len() as u64) as usize].to_lowercase(),
                    NOUNS[(mix(h ^ 2) % NOUNS.len() as u64) as usize].to_lowercase(),
                )
            }
            _ => String::new(),
        }
    }
}

impl<'a> Item<'a> {
    /// The media details given for a playable item (codecs, resolution…), if any.
    pub fn media_fields(&self) -> Option<&'a MediaFields> {
        self.fields().and_then(|f| f.media.as_ref())
    }
    /// All genres (the given ones, else the derived one).
    pub fn genres(&self) -> Vec<&'a str> {
        match self.fields() {
            Some(f) => f.genres.iter().map(String::as_str).collect(),
            None => self.genre().into_iter().collect(),
        }
    }
    /// The release date (`YYYY-MM-DD`) when given.
    pub fn originally_available_at(&self) -> Option<&'a str> {
        self.fields()
            .and_then(|f| f.originally_available_at.as_deref())
    }
}

/// The GUID-like id Jellyfin uses for item `id` (32 lower-case hex digits, no dashes).
pub fn guid_for_id(seed: u64, id: ItemId) -> String {
    let hi = mix(seed ^ 0x4A46 ^ u64::from(id) << 20);
    // The low half carries the id itself so the mapping back is exact.
    format!("{hi:016x}{:08x}{:08x}", (mix(hi) >> 32) as u32, id)
}

/// The item id inside a GUID-like id made by [`guid_for_id`] (checks it round-trips).
pub fn id_from_guid(seed: u64, guid: &str) -> Option<ItemId> {
    let clean: String = guid
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_lowercase();
    if clean.len() != 32 {
        return None;
    }
    let id = u32::from_str_radix(clean.get(24..)?, 16).ok()?;
    (guid_for_id(seed, id) == clean).then_some(id)
}
