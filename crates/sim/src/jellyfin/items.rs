//! Items: rendering library objects as `BaseItemDto`s and answering item queries (`/Items`,
//! `/Users/{id}/Items`, `/Items/Latest`, `/Artists`, `/Search/Hints`, views, playlists' items).
//!
//! Everything here is synchronous and runs under the library read guard and the state mutex;
//! the caller charges the reported work (`scanned`, `returned`) after releasing them.
//!
//! **Cost model.** `scanned` is the work of the real server's SQL in row units (the core
//! charges each unit as one scanned item): selecting the candidates of the query, then the
//! `TotalRecordCount` COUNT over them. With `IncludeItemTypes` both go through the type index
//! and cost [`INDEXED_ROW_COST`] per candidate; without it a recursive query scans every item
//! (1 unit each) and its COUNT costs [`UNTYPED_COUNT_COST`] per item. The ratio follows the
//! reports (Jellyfin #17653: 4–5 s without the type, under 200 ms with it; Tauon #2286: 38.8 s
//! vs 1.12 s): an untyped count-and-page is about 20× a typed one.
//! `enableTotalRecordCount=false` skips the COUNT (and answers `TotalRecordCount: 0`, as the
//! server does). Listings under a parent item, playlist or `Ids` cost 1 unit per row.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::library::{ItemId, ItemKind, Library, Section, SectionKind, fold, id_from_guid};
use crate::rng::{mix, uuid_from};
use crate::state::{PlayState, Playlist, PlaylistKind, State, User};
use cachearr_serverfmt::search::jellyfin_relevance;

use super::ApiError;
use super::dto::{
    BaseItemDto, MediaSourceInfo, NameGuidPair, QueryResult, SearchHint, SearchHintResult,
    UserItemData, iso8601,
};
use super::ids::{IdSpace, JfId, jf_id};
use super::request::QueryParams;

/// Row units per candidate of a typed (index-backed) selection or COUNT, as a fraction.
pub(crate) const INDEXED_ROW_COST: (u64, u64) = (1, 5);

/// Row units per item of an untyped recursive `TotalRecordCount` (a full scan with joins).
pub(crate) const UNTYPED_COUNT_COST: u64 = 8;

/// The row units of `rows` index-backed rows (rounded up, so any work costs something).
fn indexed(rows: u64) -> u64 {
    (rows * INDEXED_ROW_COST.0).div_ceil(INDEXED_ROW_COST.1)
}

/// Ticks (100 ns) per millisecond.
const TICKS_PER_MS: i64 = 10_000;

/// The work a request did, for the cost model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Rows examined (filters, sorts, counts).
    pub(crate) scanned: u64,
    /// Items serialised.
    pub(crate) returned: u64,
}

/// Sorted flat listings (every item of some kinds in some sections, in one sort order), kept
/// while the library is unchanged. Crawlers page through the same listing hundreds of times;
/// without this every page would sort the whole library again. Orders that depend on per-user
/// state (`DatePlayed`, `PlayCount`) are never cached.
#[derive(Debug, Default)]
pub(crate) struct SortCache {
    entries: std::sync::Mutex<HashMap<ListingKey, CachedListing>>,
}

/// A sorted listing and the library generation it was made from.
type CachedListing = (u64, Arc<Vec<Row>>);

/// What a cached listing holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListingKey {
    sections: Vec<u32>,
    kinds: Vec<ItemKind>,
    sort: Vec<(SortKey, bool)>,
}

impl SortCache {
    /// Rows kept at most over all listings (12 bytes each: about 48 MiB); the cache is emptied
    /// when a new listing would exceed it (the next requests refill it).
    const MAX_ROWS: usize = 4_000_000;

    fn get(&self, key: &ListingKey, generation: u64) -> Option<Arc<Vec<Row>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, rows)| Arc::clone(rows))
    }

    fn put(&self, key: ListingKey, generation: u64, rows: Arc<Vec<Row>>) {
        if rows.len() > Self::MAX_ROWS {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (g, _)| *g == generation);
        let held: usize = entries.values().map(|(_, rows)| rows.len()).sum();
        if held + rows.len() > Self::MAX_ROWS {
            entries.clear();
        }
        entries.insert(key, (generation, rows));
    }
}

/// The optional `Fields` of a request (lower-cased names).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(BTreeSet<String>);

impl Fields {
    /// Reads `Fields` (comma list, any case).
    pub(crate) fn parse(query: &QueryParams) -> Self {
        Fields(
            query
                .list("Fields")
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect(),
        )
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_lowercase())
    }
}

/// Everything an item rendering needs: the data, who is asking, what they asked for.
pub(crate) struct Render<'a> {
    /// The library.
    pub(crate) lib: &'a Library,
    /// Per-user state.
    pub(crate) state: &'a State,
    /// The user the items are rendered for (their play state, their access).
    pub(crate) user: &'a User,
    /// The server's `Id`.
    pub(crate) server_id: &'a str,
    /// The library seed (item ids derive from it).
    pub(crate) seed: u64,
    /// Optional fields asked for.
    pub(crate) fields: Fields,
    /// `enableUserData` (default true).
    pub(crate) user_data: bool,
    /// `enableImages` (default true).
    pub(crate) images: bool,
}

/// What a Jellyfin id names in the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A library item.
    Item(ItemId),
    /// A library view (section).
    View(u32),
    /// A playlist.
    Playlist(u32),
    /// A track artist known only by name (hash of the folded name).
    ArtistName(u64),
}

/// Decodes an id: malformed is a 400 naming `field`, well-formed but unknown is `None`.
pub(crate) fn decode_id(seed: u64, text: &str, field: &str) -> Result<Option<Target>, ApiError> {
    if !JfId::is_guid_syntax(text) {
        return Err(ApiError::invalid_value(field, text));
    }
    if let Some(id) = id_from_guid(seed, text) {
        return Ok(Some(Target::Item(id)));
    }
    Ok(JfId::decode(text).and_then(|id| match id.space {
        IdSpace::View => u32::try_from(id.number).ok().map(Target::View),
        IdSpace::Playlist => u32::try_from(id.number).ok().map(Target::Playlist),
        IdSpace::ArtistName => Some(Target::ArtistName(id.number)),
        IdSpace::PlaylistEntry | IdSpace::Session | IdSpace::Name => None,
    }))
}

/// The id of a library view.
pub(crate) fn view_id(section: u32) -> String {
    jf_id(IdSpace::View, u64::from(section))
}

/// The id of a playlist.
pub(crate) fn playlist_id(playlist: u32) -> String {
    jf_id(IdSpace::Playlist, u64::from(playlist))
}

/// The id of a playlist entry.
pub(crate) fn entry_id(entry: u32) -> String {
    jf_id(IdSpace::PlaylistEntry, u64::from(entry))
}

/// The id Jellyfin gives an artist known by `name` only.
fn artist_name_id(name: &str) -> String {
    jf_id(IdSpace::ArtistName, artist_name_hash(name))
}

fn artist_name_hash(name: &str) -> u64 {
    fold(name).bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Jellyfin's `CollectionType` of a section.
pub(crate) fn collection_type(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Music => "music",
        SectionKind::Movies => "movies",
        SectionKind::Shows => "tvshows",
        SectionKind::Photos => "homevideos",
    }
}

/// The image tag of an item: changes whenever its content or update time does.
fn image_tag(content_hash: u64, updated_at: u32) -> String {
    format!("{:016x}", mix(content_hash ^ u64::from(updated_at)))
}

/// The item if it exists and `user` may see its section.
pub(crate) fn visible_item<'l>(
    lib: &'l Library,
    user: &User,
    id: ItemId,
) -> Option<crate::library::Item<'l>> {
    lib.item(id).filter(|item| user.jellyfin_sees(item))
}

/// The section if it exists and `user` may see it.
pub(crate) fn visible_section<'l>(lib: &'l Library, user: &User, id: u32) -> Option<&'l Section> {
    lib.section(id)
        .filter(|section| user.can_see_section(section.id))
}

/// A user's state for an item, as `UserItemDataDto`.
pub(crate) fn user_item_data(state: &PlayState, item_guid: &str, duration_ms: u32) -> UserItemData {
    let played_percentage = (state.view_offset_ms > 0 && duration_ms > 0)
        .then(|| f64::from(state.view_offset_ms) * 100.0 / f64::from(duration_ms));
    UserItemData {
        played_percentage,
        unplayed_item_count: None,
        playback_position_ticks: i64::from(state.view_offset_ms) * TICKS_PER_MS,
        play_count: u64::from(state.view_count),
        is_favorite: state.favorite,
        last_played_date: (state.last_viewed_at > 0)
            .then(|| iso8601(i64::from(state.last_viewed_at))),
        played: state.view_count > 0,
        key: item_guid.to_owned(),
        item_id: item_guid.to_owned(),
    }
}

impl Render<'_> {
    /// The `BaseItemDto` of a library item.
    pub(crate) fn item(&self, item: crate::library::Item<'_>) -> BaseItemDto {
        let kind = item.kind();
        let id = item.guid_id();
        let fields = &self.fields;
        let mut dto = BaseItemDto {
            name: item.title().to_owned(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: kind.jellyfin_name().to_owned(),
            is_folder: !kind.is_playable(),
            location_type: Some("FileSystem".to_owned()),
            ..BaseItemDto::default()
        };
        if item.year() > 0 {
            let year = i32::try_from(item.year()).unwrap_or(0);
            dto.production_year = Some(year);
            dto.premiere_date = Some(format!("{year:04}-01-01T00:00:00.0000000Z"));
        }
        dto.official_rating = item.content_rating().map(str::to_owned);
        match kind {
            ItemKind::Track | ItemKind::Movie | ItemKind::Episode => {
                dto.run_time_ticks = Some(i64::from(item.duration_ms()) * TICKS_PER_MS);
                dto.container = item.container().map(str::to_owned);
                dto.media_type = Some(
                    if kind == ItemKind::Track {
                        "Audio"
                    } else {
                        "Video"
                    }
                    .to_owned(),
                );
            }
            ItemKind::Album => {
                let total: i64 = item
                    .children()
                    .iter()
                    .filter_map(|&child| self.lib.item(child))
                    .map(|child| i64::from(child.duration_ms()))
                    .sum();
                dto.run_time_ticks = Some(total * TICKS_PER_MS);
                dto.media_type = Some("Unknown".to_owned());
            }
            _ => dto.media_type = Some("Unknown".to_owned()),
        }
        match kind {
            ItemKind::Track => {
                dto.index_number = i32::try_from(item.index()).ok();
                dto.parent_index_number = i32::try_from(item.disc()).ok().filter(|d| *d > 0);
                let album = item.parent();
                let artist = item.grandparent();
                if let Some(album) = album {
                    dto.album = Some(album.title().to_owned());
                    dto.album_id = Some(album.guid_id());
                    dto.album_primary_image_tag =
                        Some(image_tag(album.content_hash(), album.updated_at()));
                }
                if let Some(artist) = artist {
                    dto.album_artist = Some(artist.title().to_owned());
                    dto.album_artists = Some(vec![NameGuidPair {
                        name: artist.title().to_owned(),
                        id: artist.guid_id(),
                    }]);
                }
                let track_artist = item
                    .original_title()
                    .or_else(|| artist.map(|a| a.title()))
                    .unwrap_or("Unknown Artist");
                let track_artist_id = match artist {
                    Some(a) if a.title() == track_artist => a.guid_id(),
                    _ => artist_name_id(track_artist),
                };
                dto.artists = Some(vec![track_artist.to_owned()]);
                dto.artist_items = Some(vec![NameGuidPair {
                    name: track_artist.to_owned(),
                    id: track_artist_id,
                }]);
            }
            ItemKind::Album => {
                if let Some(artist) = item.parent() {
                    let pair = NameGuidPair {
                        name: artist.title().to_owned(),
                        id: artist.guid_id(),
                    };
                    dto.album_artist = Some(artist.title().to_owned());
                    dto.artists = Some(vec![artist.title().to_owned()]);
                    dto.artist_items = Some(vec![pair.clone()]);
                    dto.album_artists = Some(vec![pair]);
                }
            }
            ItemKind::Season => {
                dto.index_number = i32::try_from(item.index()).ok();
                if let Some(show) = item.parent() {
                    dto.series_name = Some(show.title().to_owned());
                    dto.series_id = Some(show.guid_id());
                }
            }
            ItemKind::Episode => {
                dto.index_number = i32::try_from(item.index()).ok();
                if let Some(season) = item.parent() {
                    dto.parent_index_number = i32::try_from(season.index()).ok();
                    dto.season_id = Some(season.guid_id());
                    dto.season_name = Some(season.title().to_owned());
                    if let Some(show) = season.parent() {
                        dto.series_name = Some(show.title().to_owned());
                        dto.series_id = Some(show.guid_id());
                    }
                }
            }
            ItemKind::Movie
            | ItemKind::Show
            | ItemKind::Artist
            | ItemKind::Photo
            | ItemKind::PhotoAlbum => {}
        }
        if fields.has("Path") {
            dto.path = Some(item.file_path());
        }
        if fields.has("SortName") {
            dto.sort_name = Some(item.title_sort().to_owned());
        }
        if fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(item.added_at())));
        }
        // `Fields=DateLastSaved` is a valid field name, but `BaseItemDto` has no such
        // property: the server writes nothing for it (`MinDateLastSaved` filters by it).
        if fields.has("Overview") {
            let summary = item.summary();
            if !summary.is_empty() {
                dto.overview = Some(summary);
            }
        }
        if fields.has("Genres") {
            dto.genres = Some(item.genre().map(|g| vec![g.to_owned()]).unwrap_or_default());
        }
        if fields.has("ProviderIds") {
            dto.provider_ids = Some(provider_ids(item));
        }
        if fields.has("ParentId") {
            dto.parent_id = Some(match item.parent() {
                Some(parent) => parent.guid_id(),
                None => view_id(item.section().id),
            });
        }
        if fields.has("Etag") {
            dto.etag = Some(image_tag(item.content_hash(), item.updated_at()));
        }
        if fields.has("ChildCount") && dto.is_folder {
            let visible = item
                .children()
                .iter()
                .filter(|&&child| visible_item(self.lib, self.user, child).is_some())
                .count();
            dto.child_count = Some(visible as u64);
        }
        if fields.has("Tags") {
            dto.tags = Some(item.labels().iter().map(|t| t.to_string()).collect());
        }
        if (fields.has("RecursiveItemCount") || fields.has("CumulativeRunTimeTicks"))
            && dto.is_folder
        {
            let mut leaves = self.lib.leaves(item.id());
            leaves.retain(|&leaf| visible_item(self.lib, self.user, leaf).is_some());
            if fields.has("RecursiveItemCount") {
                dto.recursive_item_count = Some(leaves.len() as u64);
            }
            if fields.has("CumulativeRunTimeTicks") {
                let total: i64 = leaves
                    .iter()
                    .filter_map(|&leaf| self.lib.item(leaf))
                    .map(|leaf| i64::from(leaf.duration_ms()))
                    .sum();
                dto.cumulative_run_time_ticks = Some(total * TICKS_PER_MS);
            }
        }
        if fields.has("MediaSources") && kind.is_playable() {
            dto.media_sources = Some(vec![MediaSourceInfo {
                protocol: "File".to_owned(),
                id: id.clone(),
                path: item.file_path(),
                source_type: "Default".to_owned(),
                container: item.container().unwrap_or_default().to_owned(),
                size: item.file_size(),
                name: item.title().to_owned(),
                is_remote: false,
                run_time_ticks: i64::from(item.duration_ms()) * TICKS_PER_MS,
                supports_transcoding: true,
                supports_direct_stream: true,
                supports_direct_play: true,
                bitrate: u64::from(item.bitrate_kbps()) * 1_000,
            }]);
        }
        if self.user_data {
            let state = self.state.play_state(self.user.id, item.id());
            dto.user_data = Some(user_item_data(&state, &id, item.duration_ms()));
        }
        if self.images {
            dto.image_tags.insert(
                "Primary".to_owned(),
                image_tag(item.content_hash(), item.updated_at()),
            );
        }
        dto
    }

    /// The `CollectionFolder` item of a library view.
    pub(crate) fn view(&self, section: &Section) -> BaseItemDto {
        let id = view_id(section.id);
        let mut dto = BaseItemDto {
            name: section.title.clone(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "CollectionFolder".to_owned(),
            is_folder: true,
            collection_type: Some(collection_type(section.kind).to_owned()),
            location_type: Some("FileSystem".to_owned()),
            media_type: Some("Unknown".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("Path") {
            dto.path = Some(section.location.clone());
        }
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(&section.title));
        }
        if self.fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(section.created_at)));
        }
        if self.fields.has("ChildCount") {
            let items = section.items(section.top_kind());
            let visible = if self.user.jellyfin_restricted() {
                items
                    .iter()
                    .filter(|&&id| visible_item(self.lib, self.user, id).is_some())
                    .count()
            } else {
                items.len()
            };
            dto.child_count = Some(visible as u64);
        }
        if self.fields.has("Etag") {
            dto.etag = Some(image_tag(u64::from(section.id), section.updated_at));
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        if self.images {
            dto.image_tags.insert(
                "Primary".to_owned(),
                image_tag(u64::from(section.id) << 32, section.created_at),
            );
        }
        dto
    }

    /// The `Playlist` item of a playlist.
    pub(crate) fn playlist(&self, playlist: &Playlist) -> BaseItemDto {
        let id = playlist_id(playlist.id);
        let runtime: i64 = playlist
            .items
            .iter()
            .filter_map(|entry| visible_item(self.lib, self.user, entry.item))
            .map(|item| i64::from(item.duration_ms()))
            .sum();
        let mut dto = BaseItemDto {
            name: playlist.title.clone(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "Playlist".to_owned(),
            is_folder: true,
            run_time_ticks: Some(runtime * TICKS_PER_MS),
            media_type: Some(
                match playlist.kind {
                    PlaylistKind::Audio => "Audio",
                    PlaylistKind::Video => "Video",
                    PlaylistKind::Photo => "Photo",
                }
                .to_owned(),
            ),
            location_type: Some("FileSystem".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("Path") {
            dto.path = Some(format!(
                "/config/data/playlists/{}/playlist.xml",
                playlist.title
            ));
        }
        if self.fields.has("ChildCount") {
            dto.child_count = Some(playlist.items.len() as u64);
        }
        if self.fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(playlist.added_at)));
        }
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(&playlist.title));
        }
        if self.fields.has("Overview") && !playlist.summary.is_empty() {
            dto.overview = Some(playlist.summary.clone());
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        if self.images {
            dto.image_tags.insert(
                "Primary".to_owned(),
                image_tag(u64::from(playlist.id), playlist.updated_at),
            );
        }
        dto
    }

    /// Renders any target the user may see; `None` when it is unknown or hidden.
    pub(crate) fn target(&self, target: Target) -> Option<BaseItemDto> {
        match target {
            Target::Item(id) => visible_item(self.lib, self.user, id).map(|item| self.item(item)),
            Target::View(id) => visible_section(self.lib, self.user, id).map(|s| self.view(s)),
            Target::Playlist(id) => self
                .state
                .playlist(self.user.id, id)
                .map(|playlist| self.playlist(playlist)),
            Target::ArtistName(hash) => self.artist_by_name(hash),
        }
    }

    /// A `MusicArtist` known only from track artist tags ("A feat. B"): Jellyfin makes an item
    /// of every artist name. Found by scanning the user's tracks for the name's hash.
    fn artist_by_name(&self, hash: u64) -> Option<BaseItemDto> {
        let name = self
            .lib
            .sections()
            .iter()
            .filter(|s| self.user.can_see_section(s.id))
            .flat_map(|s| s.items(ItemKind::Track).iter())
            .filter_map(|&id| self.lib.item(id))
            .find_map(|track| {
                track
                    .original_title()
                    .filter(|n| artist_name_hash(n) == hash)
            })?;
        let id = artist_name_id(name);
        let mut dto = BaseItemDto {
            name: name.to_owned(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "MusicArtist".to_owned(),
            is_folder: true,
            location_type: Some("FileSystem".to_owned()),
            media_type: Some("Unknown".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(name));
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        if self.images {
            dto.image_tags
                .insert("Primary".to_owned(), image_tag(hash, 0));
        }
        Some(dto)
    }
}

/// `ProviderIds` of an item, as Jellyfin's metadata providers fill them.
fn provider_ids(item: crate::library::Item<'_>) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    match item.kind() {
        ItemKind::Track => {
            if let Some(recording) = item.musicbrainz_id() {
                ids.insert("MusicBrainzRecording".to_owned(), recording);
                ids.insert(
                    "MusicBrainzTrack".to_owned(),
                    uuid_from(item.content_hash() ^ 0x5452_4143_4b00),
                );
            }
            if let Some(album) = item.parent() {
                if let Some(release) = album.musicbrainz_id() {
                    ids.insert("MusicBrainzAlbum".to_owned(), release);
                }
                if let Some(group) = album.musicbrainz_release_group() {
                    ids.insert("MusicBrainzReleaseGroup".to_owned(), group);
                }
                if let Some(artist) = album.parent().and_then(|a| a.musicbrainz_id()) {
                    ids.insert("MusicBrainzAlbumArtist".to_owned(), artist.clone());
                    if item.original_title().is_none() {
                        ids.insert("MusicBrainzArtist".to_owned(), artist);
                    }
                }
            }
        }
        ItemKind::Album => {
            if let Some(release) = item.musicbrainz_id() {
                ids.insert("MusicBrainzAlbum".to_owned(), release);
            }
            if let Some(group) = item.musicbrainz_release_group() {
                ids.insert("MusicBrainzReleaseGroup".to_owned(), group);
            }
            if let Some(artist) = item.parent().and_then(|a| a.musicbrainz_id()) {
                ids.insert("MusicBrainzAlbumArtist".to_owned(), artist);
            }
        }
        ItemKind::Artist => {
            if let Some(artist) = item.musicbrainz_id() {
                ids.insert("MusicBrainzArtist".to_owned(), artist);
            }
        }
        ItemKind::Movie | ItemKind::Show => {
            if let Some((imdb, tmdb, tvdb)) = item.external_ids() {
                ids.insert("Imdb".to_owned(), imdb);
                ids.insert("Tmdb".to_owned(), tmdb.to_string());
                if item.kind() == ItemKind::Show {
                    ids.insert("Tvdb".to_owned(), tvdb.to_string());
                }
            }
        }
        ItemKind::Season | ItemKind::Episode | ItemKind::Photo | ItemKind::PhotoAlbum => {}
    }
    ids
}

/// One `IncludeItemTypes` / `ExcludeItemTypes` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeFilter {
    /// A kind the library holds.
    Kind(ItemKind),
    /// `Playlist`.
    Playlist,
    /// `CollectionFolder` / `UserView`.
    View,
    /// A valid `BaseItemKind` the simulator never has (Book, BoxSet…): matches nothing.
    Other,
}

/// Every `BaseItemKind` name, for validation (ASP.NET refuses unknown enum values with 400).
const BASE_ITEM_KINDS: [&str; 37] = [
    "AggregateFolder",
    "Audio",
    "AudioBook",
    "BasePluginFolder",
    "Book",
    "BoxSet",
    "Channel",
    "ChannelFolderItem",
    "CollectionFolder",
    "Episode",
    "Folder",
    "Genre",
    "ManualPlaylistsFolder",
    "Movie",
    "LiveTvChannel",
    "LiveTvProgram",
    "MusicAlbum",
    "MusicArtist",
    "MusicGenre",
    "MusicVideo",
    "Person",
    "Photo",
    "PhotoAlbum",
    "Playlist",
    "PlaylistsFolder",
    "Program",
    "Recording",
    "Season",
    "Series",
    "Studio",
    "Trailer",
    "TvChannel",
    "TvProgram",
    "UserRootFolder",
    "UserView",
    "Video",
    "Year",
];

const LIBRARY_KINDS: [ItemKind; 7] = [
    ItemKind::Artist,
    ItemKind::Album,
    ItemKind::Track,
    ItemKind::Movie,
    ItemKind::Show,
    ItemKind::Season,
    ItemKind::Episode,
];

/// Parses a type list parameter; `None` when it is absent or holds no valid name. Like every
/// comma-delimited list, unknown entries are skipped, as the server's
/// `CommaDelimitedCollectionModelBinder` does (so `IncludeItemTypes=Bogus` filters nothing).
pub(crate) fn parse_types(query: &QueryParams, name: &str) -> Option<Vec<TypeFilter>> {
    let types: Vec<TypeFilter> = query
        .list(name)
        .into_iter()
        .filter_map(|entry| {
            BASE_ITEM_KINDS
                .iter()
                .find(|kind| kind.eq_ignore_ascii_case(entry))
        })
        .map(|canonical| {
            LIBRARY_KINDS
                .into_iter()
                .find(|kind| kind.jellyfin_name() == *canonical)
                .map(TypeFilter::Kind)
                .unwrap_or(match *canonical {
                    "Playlist" => TypeFilter::Playlist,
                    "CollectionFolder" | "UserView" => TypeFilter::View,
                    _ => TypeFilter::Other,
                })
        })
        .collect();
    (!types.is_empty()).then_some(types)
}

/// A sort key of `SortBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SortKey {
    SortName,
    Name,
    Album,
    AlbumArtist,
    Artist,
    DateCreated,
    DatePlayed,
    PlayCount,
    PremiereDate,
    ProductionYear,
    Runtime,
    IndexNumber,
    ParentIndexNumber,
    Random,
    /// A valid `ItemSortBy` the simulator has no data for: keeps the order.
    Unsupported,
}

fn parse_sort_key(raw: &str) -> Option<SortKey> {
    const KEYS: [(&str, SortKey); 28] = [
        ("SortName", SortKey::SortName),
        ("Name", SortKey::Name),
        ("Album", SortKey::Album),
        ("AlbumArtist", SortKey::AlbumArtist),
        ("Artist", SortKey::Artist),
        ("DateCreated", SortKey::DateCreated),
        ("DatePlayed", SortKey::DatePlayed),
        ("PlayCount", SortKey::PlayCount),
        ("PremiereDate", SortKey::PremiereDate),
        ("ProductionYear", SortKey::ProductionYear),
        ("Runtime", SortKey::Runtime),
        ("IndexNumber", SortKey::IndexNumber),
        ("ParentIndexNumber", SortKey::ParentIndexNumber),
        ("Random", SortKey::Random),
        ("Default", SortKey::Unsupported),
        ("AiredEpisodeOrder", SortKey::Unsupported),
        ("CommunityRating", SortKey::Unsupported),
        ("CriticRating", SortKey::Unsupported),
        ("DateLastContentAdded", SortKey::DateCreated),
        ("IsFavoriteOrLiked", SortKey::Unsupported),
        ("IsFolder", SortKey::Unsupported),
        ("IsPlayed", SortKey::PlayCount),
        ("IsUnplayed", SortKey::Unsupported),
        ("OfficialRating", SortKey::Unsupported),
        ("SeriesSortName", SortKey::Unsupported),
        ("Studio", SortKey::Unsupported),
        ("SimilarityScore", SortKey::Unsupported),
        ("SearchScore", SortKey::Unsupported),
    ];
    KEYS.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(raw))
        .map(|(_, key)| *key)
}

/// One comparable part of a sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Num(i64),
    Text(String),
}

/// A row of a listing before rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Row {
    /// A library item.
    Item(ItemId),
    /// A library view.
    View(u32),
    /// A playlist.
    Playlist(u32),
    /// A playlist entry: (entry id, item).
    Entry(u32, ItemId),
}

/// The filters, sort and paging of an item query, read from the request.
#[derive(Debug, Clone)]
pub(crate) struct ItemQuery {
    parent: Option<Target>,
    types: Option<Vec<TypeFilter>>,
    exclude: Vec<TypeFilter>,
    recursive: bool,
    search: Option<String>,
    name_starts_with: Option<String>,
    ids: Option<Vec<Target>>,
    artist_ids: Option<Vec<Target>>,
    album_artist_ids: Option<Vec<Target>>,
    album_ids: Option<Vec<Target>>,
    years: Vec<u32>,
    /// `MinDateLastSaved`: items saved (added or changed) at or after this time (epoch s).
    min_date_last_saved: Option<i64>,
    is_played: Option<bool>,
    is_favorite: Option<bool>,
    resumable: bool,
    is_folder: Option<bool>,
    sort: Vec<(SortKey, bool)>,
    start: usize,
    limit: Option<usize>,
    total_count: bool,
}

/// An id list parameter: `None` when absent or without one well-formed GUID (the server skips
/// malformed entries, and an empty list filters nothing); otherwise the known targets, so a
/// list of well-formed but unknown ids matches nothing.
fn parse_id_list(seed: u64, query: &QueryParams, name: &str) -> Option<Vec<Target>> {
    let raw: Vec<&str> = query
        .list(name)
        .into_iter()
        .filter(|raw| JfId::is_guid_syntax(raw))
        .collect();
    if raw.is_empty() {
        return None;
    }
    Some(
        raw.into_iter()
            .filter_map(|raw| decode_id(seed, raw, name).ok().flatten())
            .collect(),
    )
}

/// Narrows `types` by `MediaTypes` (`Audio` → tracks, `Video` → movies and episodes; other
/// and unknown media types skipped): the intersection when both are given.
fn media_types_filter(
    types: Option<Vec<TypeFilter>>,
    query: &QueryParams,
) -> Option<Vec<TypeFilter>> {
    let mut media: Vec<TypeFilter> = Vec::new();
    let mut any_valid = false;
    for entry in query.list("MediaTypes") {
        match entry.to_ascii_lowercase().as_str() {
            "audio" => media.push(TypeFilter::Kind(ItemKind::Track)),
            "video" => media.extend([
                TypeFilter::Kind(ItemKind::Movie),
                TypeFilter::Kind(ItemKind::Episode),
            ]),
            "photo" | "book" | "unknown" => {}
            _ => continue,
        }
        any_valid = true;
    }
    if !any_valid {
        return types;
    }
    Some(match types {
        None => media,
        Some(types) => types.into_iter().filter(|t| media.contains(t)).collect(),
    })
}

impl ItemQuery {
    /// Reads the query parameters of `/Items`.
    pub(crate) fn parse(seed: u64, query: &QueryParams) -> Result<Self, ApiError> {
        let parent = match query.str("ParentId") {
            None => None,
            Some(raw) => match decode_id(seed, raw, "parentId")? {
                Some(target) => Some(target),
                None => return Err(ApiError::NotFound),
            },
        };
        let ids = parse_id_list(seed, query, "Ids");
        let mut is_played = query.bool("IsPlayed")?;
        let mut is_favorite = query.bool("IsFavorite")?;
        let mut resumable = false;
        let mut is_folder = query.bool("IsFolder")?;
        for filter in query.list("Filters") {
            match filter.to_ascii_lowercase().as_str() {
                "isplayed" => is_played = Some(true),
                "isunplayed" => is_played = Some(false),
                "isfavorite" | "isfavoriteorlikes" => is_favorite = Some(true),
                "isresumable" => resumable = true,
                "isfolder" => is_folder = Some(true),
                "isnotfolder" => is_folder = Some(false),
                // Likes/Dislikes have no data here; unknown names are skipped like the server.
                _ => {}
            }
        }
        let keys: Vec<SortKey> = query
            .list("SortBy")
            .into_iter()
            .filter_map(parse_sort_key)
            .collect();
        let orders: Vec<bool> = query
            .list("SortOrder")
            .into_iter()
            .filter_map(|raw| match raw.to_ascii_lowercase().as_str() {
                "ascending" => Some(false),
                "descending" => Some(true),
                _ => None,
            })
            .collect();
        // One order applies to every key unless several are given (Jellyfin pairs them).
        let sort = keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let descending = orders
                    .get(index)
                    .or(orders.first())
                    .copied()
                    .unwrap_or(false);
                (*key, descending)
            })
            .collect();
        let years = query
            .list("Years")
            .into_iter()
            .map(|raw| {
                raw.parse::<u32>()
                    .map_err(|_| ApiError::invalid_value("years", raw))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min_date_last_saved = match query.str("MinDateLastSaved") {
            None => None,
            Some(raw) => Some(
                super::dto::parse_iso8601(raw)
                    .ok_or_else(|| ApiError::invalid_value("minDateLastSaved", raw))?,
            ),
        };
        Ok(ItemQuery {
            min_date_last_saved,
            parent,
            types: media_types_filter(parse_types(query, "IncludeItemTypes"), query),
            exclude: parse_types(query, "ExcludeItemTypes").unwrap_or_default(),
            recursive: query.bool("Recursive")?.unwrap_or(false),
            search: query
                .str("SearchTerm")
                .map(fold)
                .filter(|term| !term.trim().is_empty()),
            name_starts_with: query.str("NameStartsWith").map(fold),
            ids,
            artist_ids: parse_id_list(seed, query, "ArtistIds"),
            album_artist_ids: parse_id_list(seed, query, "AlbumArtistIds"),
            album_ids: parse_id_list(seed, query, "AlbumIds"),
            years,
            is_played,
            is_favorite,
            resumable,
            is_folder,
            sort,
            start: query.count("StartIndex")?.unwrap_or(0),
            limit: query.count("Limit")?,
            total_count: query.bool("EnableTotalRecordCount")?.unwrap_or(true),
        })
    }

    /// The same query over a playlist's entries (`GET /Playlists/{id}/Items`).
    pub(crate) fn for_playlist(mut self, playlist: u32) -> Self {
        self.parent = Some(Target::Playlist(playlist));
        self.ids = None;
        self.recursive = false;
        self
    }

    /// The query of "continue watching" (`/UserItems/Resume`): playable items with a resume
    /// point, most recently played first.
    pub(crate) fn for_resume(mut self) -> Self {
        if self.types.is_none() {
            self.types = Some(
                [ItemKind::Track, ItemKind::Movie, ItemKind::Episode]
                    .into_iter()
                    .map(TypeFilter::Kind)
                    .collect(),
            );
        }
        self.resumable = true;
        self.recursive = true;
        if self.sort.is_empty() {
            self.sort = vec![(SortKey::DatePlayed, true)];
        }
        self
    }

    /// Whether rows gathered by kind still need [`row_matches`] (anything beyond the types).
    fn needs_filter(&self) -> bool {
        self.search.is_some()
            || self.name_starts_with.is_some()
            || !self.exclude.is_empty()
            || self.artist_ids.is_some()
            || self.album_artist_ids.is_some()
            || self.album_ids.is_some()
            || !self.years.is_empty()
            || self.min_date_last_saved.is_some()
            || self.is_played.is_some()
            || self.is_favorite.is_some()
            || self.resumable
            || self.is_folder.is_some()
    }

    fn type_allowed(&self, filter: TypeFilter) -> bool {
        self.types
            .as_ref()
            .is_none_or(|types| types.contains(&filter))
            && !self.exclude.contains(&filter)
    }

    /// Kinds to gather from sections: the requested ones, or all.
    fn kinds(&self) -> Vec<ItemKind> {
        LIBRARY_KINDS
            .into_iter()
            .filter(|kind| self.type_allowed(TypeFilter::Kind(*kind)))
            .collect()
    }
}

/// Runs an item query for `render.user`; returns the page and the work done.
pub(crate) fn run_items_query(
    render: &Render<'_>,
    query: &ItemQuery,
    cache: &SortCache,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let mut work = Work::default();
    let (rows, filtered) = match flat_listing(render, query, cache, &mut work)? {
        Some(rows) => (rows, false),
        None => (Arc::new(gather_rows(render, query, &mut work)?), true),
    };
    // The gatherers count rows; price them as the server's query would.
    let candidates = work.scanned;
    let recursive_listing = query.recursive && query.ids.is_none();
    let typed = query.types.is_some();
    if recursive_listing && typed {
        work.scanned = indexed(candidates);
    }
    // What the user's parental policy hides is not there for them: not listed, not counted.
    let rows = if render.user.jellyfin_restricted() {
        Arc::new(
            rows.iter()
                .copied()
                .filter(|row| match row {
                    Row::Item(id) | Row::Entry(_, id) => {
                        visible_item(render.lib, render.user, *id).is_some()
                    }
                    Row::View(_) | Row::Playlist(_) => true,
                })
                .collect(),
        )
    } else {
        rows
    };
    // Rows gathered by kind already satisfy the type filter; only other filters need a pass.
    let rows: Arc<Vec<Row>> = if filtered || !query.needs_filter() {
        rows
    } else {
        Arc::new(
            rows.iter()
                .copied()
                .filter(|row| row_matches(render, query, *row))
                .collect(),
        )
    };
    // A search is ordered by relevance first, whatever the requested sort (the server's
    // `ApplyOrder`).
    let rows = match &query.search {
        Some(term) => Arc::new(search_order(render, query, term, &rows)),
        None => rows,
    };
    let total = rows.len();
    if query.total_count {
        work.scanned += match (recursive_listing, typed) {
            (true, true) => indexed(candidates),
            (true, false) => candidates * UNTYPED_COUNT_COST,
            (false, _) => candidates,
        };
    }
    let items: Vec<BaseItemDto> = rows
        .iter()
        .skip(query.start)
        .take(query.limit.unwrap_or(usize::MAX))
        .filter_map(|row| render_row(render, *row))
        .collect();
    work.returned = items.len() as u64;
    Ok((
        QueryResult {
            items,
            total_record_count: if query.total_count { total } else { 0 },
            start_index: query.start,
        },
        work,
    ))
}

/// A recursive listing of whole sections (no parent, or a library view), sorted; served from
/// the [`SortCache`] when its order does not depend on user state. `None` when the query is
/// not of that shape (ids, an item or playlist parent, playlists included).
fn flat_listing(
    render: &Render<'_>,
    query: &ItemQuery,
    cache: &SortCache,
    work: &mut Work,
) -> Result<Option<Arc<Vec<Row>>>, ApiError> {
    if query.ids.is_some() || !query.recursive {
        return Ok(None);
    }
    let sections: Vec<u32> = match query.parent {
        None => {
            if query.types.is_some() && query.type_allowed(TypeFilter::Playlist) {
                return Ok(None);
            }
            render
                .lib
                .sections()
                .iter()
                .filter(|s| render.user.can_see_section(s.id))
                .map(|s| s.id)
                .collect()
        }
        Some(Target::View(id)) => {
            vec![
                visible_section(render.lib, render.user, id)
                    .ok_or(ApiError::NotFound)?
                    .id,
            ]
        }
        Some(_) => return Ok(None),
    };
    let kinds = query.kinds();
    let candidates: usize = sections
        .iter()
        .filter_map(|id| render.lib.section(*id))
        .map(|s| kinds.iter().map(|k| s.items(*k).len()).sum::<usize>())
        .sum();
    work.scanned += candidates as u64;
    let gather = || -> Vec<Row> {
        let mut rows = Vec::with_capacity(candidates);
        for section in sections.iter().filter_map(|id| render.lib.section(*id)) {
            for kind in &kinds {
                rows.extend(section.items(*kind).iter().map(|&id| Row::Item(id)));
            }
        }
        rows
    };
    // Without SortBy, a view keeps its natural order and the whole library is by sort name.
    let sort = match (query.sort.is_empty(), query.parent) {
        (true, Some(_)) => return Ok(Some(Arc::new(gather()))),
        (true, None) => vec![(SortKey::SortName, false)],
        (false, _) => query.sort.clone(),
    };
    let stateful = sort
        .iter()
        .any(|(key, _)| matches!(key, SortKey::DatePlayed | SortKey::PlayCount));
    if stateful {
        let mut rows = gather();
        sort_rows(render, &sort, &mut rows);
        return Ok(Some(Arc::new(rows)));
    }
    let key = ListingKey {
        sections: sections.clone(),
        kinds: kinds.clone(),
        sort,
    };
    let generation = render.lib.generation();
    if let Some(rows) = cache.get(&key, generation) {
        return Ok(Some(rows));
    }
    let mut rows = gather();
    sort_rows(render, &key.sort, &mut rows);
    let rows = Arc::new(rows);
    cache.put(key, generation, Arc::clone(&rows));
    Ok(Some(rows))
}

/// The rows of every other query shape, filtered and sorted.
fn gather_rows(
    render: &Render<'_>,
    query: &ItemQuery,
    work: &mut Work,
) -> Result<Vec<Row>, ApiError> {
    let lib = render.lib;
    let user = render.user;
    let mut rows: Vec<Row> = Vec::new();
    let mut natural_order = true;
    if let Some(ids) = &query.ids {
        for target in ids {
            let row = match *target {
                Target::Item(id) => visible_item(lib, user, id).map(|_| Row::Item(id)),
                Target::View(id) => visible_section(lib, user, id).map(|_| Row::View(id)),
                Target::Playlist(id) => render
                    .state
                    .playlist(user.id, id)
                    .map(|_| Row::Playlist(id)),
                // Name-only artists are not rows of a listing (they are no library items).
                Target::ArtistName(_) => None,
            };
            rows.extend(row);
        }
        work.scanned += ids.len() as u64;
    } else {
        match query.parent {
            Some(Target::Playlist(id)) => {
                let playlist = render
                    .state
                    .playlist(user.id, id)
                    .ok_or(ApiError::NotFound)?;
                rows.extend(
                    playlist
                        .items
                        .iter()
                        .filter(|entry| visible_item(lib, user, entry.item).is_some())
                        .map(|entry| Row::Entry(entry.entry_id, entry.item)),
                );
                work.scanned += playlist.items.len() as u64;
            }
            Some(Target::View(id)) => {
                let section = visible_section(lib, user, id).ok_or(ApiError::NotFound)?;
                let kinds: Vec<ItemKind> = if query.recursive {
                    query.kinds()
                } else {
                    vec![section.top_kind()]
                };
                for kind in kinds {
                    rows.extend(section.items(kind).iter().map(|&id| Row::Item(id)));
                }
                work.scanned += rows.len() as u64;
            }
            Some(Target::Item(id)) => {
                let item = visible_item(lib, user, id).ok_or(ApiError::NotFound)?;
                if query.recursive {
                    let mut stack: Vec<ItemId> = item.children().iter().rev().copied().collect();
                    while let Some(current) = stack.pop() {
                        rows.push(Row::Item(current));
                        stack.extend(lib.children(current).iter().rev());
                    }
                } else {
                    rows.extend(item.children().iter().map(|&child| Row::Item(child)));
                }
                work.scanned += rows.len() as u64;
            }
            Some(Target::ArtistName(_)) => return Err(ApiError::NotFound),
            None if query.recursive => {
                let kinds = query.kinds();
                for section in lib.sections().iter().filter(|s| user.can_see_section(s.id)) {
                    for &kind in &kinds {
                        rows.extend(section.items(kind).iter().map(|&id| Row::Item(id)));
                    }
                }
                if query.types.is_some() && query.type_allowed(TypeFilter::Playlist) {
                    rows.extend(
                        render
                            .state
                            .playlists(user.id)
                            .iter()
                            .map(|p| Row::Playlist(p.id)),
                    );
                }
                work.scanned += rows.len() as u64;
                natural_order = false;
            }
            None => {
                rows.extend(
                    lib.sections()
                        .iter()
                        .filter(|s| user.can_see_section(s.id))
                        .map(|s| Row::View(s.id)),
                );
                work.scanned += rows.len() as u64;
            }
        }
    }
    rows.retain(|row| row_matches(render, query, *row));
    if !query.sort.is_empty() {
        sort_rows(render, &query.sort, &mut rows);
    } else if !natural_order {
        // The server's default for a flat recursive listing is by sort name.
        sort_rows(render, &[(SortKey::SortName, false)], &mut rows);
    }
    Ok(rows)
}

/// Renders one row.
pub(crate) fn render_row(render: &Render<'_>, row: Row) -> Option<BaseItemDto> {
    match row {
        Row::Item(id) => render.target(Target::Item(id)),
        Row::View(id) => render.target(Target::View(id)),
        Row::Playlist(id) => render.target(Target::Playlist(id)),
        Row::Entry(entry, id) => render.target(Target::Item(id)).map(|mut dto| {
            dto.playlist_item_id = Some(entry_id(entry));
            dto
        }),
    }
}

fn row_type(render: &Render<'_>, row: Row) -> Option<TypeFilter> {
    match row {
        Row::Item(id) | Row::Entry(_, id) => render
            .lib
            .item(id)
            .map(|item| TypeFilter::Kind(item.kind())),
        Row::View(_) => Some(TypeFilter::View),
        Row::Playlist(_) => Some(TypeFilter::Playlist),
    }
}

fn row_matches(render: &Render<'_>, query: &ItemQuery, row: Row) -> bool {
    let Some(row_type) = row_type(render, row) else {
        return false;
    };
    if !query.type_allowed(row_type) {
        return false;
    }
    let (Row::Item(id) | Row::Entry(_, id)) = row else {
        // Views and playlists: only name filters apply.
        let name = match row {
            Row::View(id) => render.lib.section(id).map(|s| fold(&s.title)),
            Row::Playlist(id) => render
                .state
                .playlist(render.user.id, id)
                .map(|p| fold(&p.title)),
            _ => None,
        };
        let name = name.unwrap_or_default();
        return query
            .search
            .as_ref()
            .is_none_or(|term| name.contains(term.as_str()))
            && query
                .name_starts_with
                .as_ref()
                .is_none_or(|p| name.starts_with(p.as_str()))
            && query.is_folder != Some(false);
    };
    let Some(item) = render.lib.item(id) else {
        return false;
    };
    if let Some(term) = &query.search {
        let matched = fold(item.title()).contains(term.as_str())
            || item
                .original_title()
                .is_some_and(|o| fold(o).contains(term.as_str()));
        if !matched {
            return false;
        }
    }
    if let Some(prefix) = &query.name_starts_with
        && !fold(item.title_sort()).starts_with(prefix.as_str())
    {
        return false;
    }
    if !query.years.is_empty() && !query.years.contains(&item.year()) {
        return false;
    }
    if query
        .min_date_last_saved
        .is_some_and(|min| i64::from(item.updated_at()) < min)
    {
        return false;
    }
    if let Some(folder) = query.is_folder
        && folder == item.kind().is_playable()
    {
        return false;
    }
    let album = match item.kind() {
        ItemKind::Track => item.parent(),
        _ => None,
    };
    let album_artist = match item.kind() {
        ItemKind::Track => item.grandparent(),
        ItemKind::Album => item.parent(),
        _ => None,
    };
    if let Some(ids) = &query.album_ids
        && !album.is_some_and(|a| ids.contains(&Target::Item(a.id())))
    {
        return false;
    }
    if let Some(ids) = &query.album_artist_ids
        && !album_artist.is_some_and(|a| ids.contains(&Target::Item(a.id())))
    {
        return false;
    }
    if let Some(ids) = &query.artist_ids {
        let by_item = album_artist.is_some_and(|a| ids.contains(&Target::Item(a.id())));
        let by_name = item
            .original_title()
            .is_some_and(|name| ids.contains(&Target::ArtistName(artist_name_hash(name))));
        if !(by_item || by_name) {
            return false;
        }
    }
    if query.is_played.is_some() || query.is_favorite.is_some() || query.resumable {
        let state = render.state.play_state(render.user.id, id);
        if query
            .is_played
            .is_some_and(|played| played != (state.view_count > 0))
        {
            return false;
        }
        if query
            .is_favorite
            .is_some_and(|favorite| favorite != state.favorite)
        {
            return false;
        }
        if query.resumable && state.view_offset_ms == 0 {
            return false;
        }
    }
    true
}

fn sort_rows(render: &Render<'_>, sort: &[(SortKey, bool)], rows: &mut Vec<Row>) {
    let mut keyed: Vec<(Vec<KeyPart>, Row)> = rows
        .drain(..)
        .map(|row| {
            (
                sort.iter()
                    .map(|(k, _)| key_part(render, *k, row))
                    .collect(),
                row,
            )
        })
        .collect();
    keyed.sort_by(|(a, row_a), (b, row_b)| {
        for (index, (_, descending)) in sort.iter().enumerate() {
            let ordering = a[index].cmp(&b[index]);
            let ordering = if *descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        row_id(*row_a).cmp(&row_id(*row_b))
    });
    rows.extend(keyed.into_iter().map(|(_, row)| row));
}

/// The rows of a `SearchTerm` query in the server's order (`BaseItemRepository.ApplyOrder`):
/// relevance ([`jellyfin_relevance`]), then the requested sort (sort name by default), then
/// `Name` (byte order, SQLite's) when the first sort key is the sort name. Rows still equal
/// after that are in no defined order on the server (the database's); here they go by their
/// id as written on the wire, which anyone holding the answers can reproduce.
fn search_order(render: &Render<'_>, query: &ItemQuery, term: &str, rows: &[Row]) -> Vec<Row> {
    let default_sort = [(SortKey::SortName, false)];
    let sort: &[(SortKey, bool)] = if query.sort.is_empty() {
        &default_sort
    } else {
        &query.sort
    };
    let by_name = sort.first().is_some_and(|(k, _)| *k == SortKey::SortName);
    let descending_name = sort.first().is_some_and(|(_, d)| *d);
    struct Keyed {
        relevance: u8,
        parts: Vec<KeyPart>,
        name: String,
        id: String,
        row: Row,
    }
    let mut keyed: Vec<Keyed> = rows
        .iter()
        .map(|&row| {
            let (name, original, id) = match row {
                Row::Item(id) | Row::Entry(_, id) => match render.lib.item(id) {
                    Some(item) => (
                        item.title().to_string(),
                        item.original_title().map(fold),
                        item.guid_id(),
                    ),
                    None => (String::new(), None, String::new()),
                },
                Row::View(id) => (
                    render
                        .lib
                        .section(id)
                        .map(|s| s.title.clone())
                        .unwrap_or_default(),
                    None,
                    view_id(id),
                ),
                Row::Playlist(id) => (
                    render
                        .state
                        .playlist(render.user.id, id)
                        .map(|p| p.title.clone())
                        .unwrap_or_default(),
                    None,
                    playlist_id(id),
                ),
            };
            Keyed {
                relevance: jellyfin_relevance(&fold(&name), original.as_deref(), term),
                parts: sort
                    .iter()
                    .map(|(k, _)| key_part(render, *k, row))
                    .collect(),
                name,
                id,
                row,
            }
        })
        .collect();
    keyed.sort_by(|a, b| {
        let mut ordering = a.relevance.cmp(&b.relevance);
        for (index, (_, descending)) in sort.iter().enumerate() {
            if ordering != Ordering::Equal {
                break;
            }
            let o = a.parts[index].cmp(&b.parts[index]);
            ordering = if *descending { o.reverse() } else { o };
        }
        if ordering == Ordering::Equal && by_name {
            let o = a.name.cmp(&b.name);
            ordering = if descending_name { o.reverse() } else { o };
        }
        ordering.then_with(|| a.id.cmp(&b.id))
    });
    keyed.into_iter().map(|k| k.row).collect()
}

fn row_id(row: Row) -> (u8, u32) {
    match row {
        Row::View(id) => (0, id),
        Row::Item(id) => (1, id),
        Row::Entry(entry, _) => (1, entry),
        Row::Playlist(id) => (2, id),
    }
}

fn key_part(render: &Render<'_>, key: SortKey, row: Row) -> KeyPart {
    let text = |s: &str| KeyPart::Text(fold(s));
    let item = match row {
        Row::Item(id) | Row::Entry(_, id) => render.lib.item(id),
        Row::View(id) => {
            return render
                .lib
                .section(id)
                .map(|s| text(&s.title))
                .unwrap_or(KeyPart::Num(0));
        }
        Row::Playlist(id) => {
            return render
                .state
                .playlist(render.user.id, id)
                .map(|p| text(&p.title))
                .unwrap_or(KeyPart::Num(0));
        }
    };
    let Some(item) = item else {
        return KeyPart::Num(0);
    };
    match key {
        SortKey::SortName => text(item.title_sort()),
        SortKey::Name => text(item.title()),
        SortKey::Album => match item.kind() {
            ItemKind::Track => text(item.parent().map(|a| a.title_sort()).unwrap_or("")),
            _ => text(item.title_sort()),
        },
        SortKey::AlbumArtist | SortKey::Artist => {
            let artist = match item.kind() {
                ItemKind::Track => {
                    if key == SortKey::Artist {
                        item.original_title()
                            .or_else(|| item.grandparent().map(|a| a.title_sort()))
                    } else {
                        item.grandparent().map(|a| a.title_sort())
                    }
                }
                ItemKind::Album => item.parent().map(|a| a.title_sort()),
                _ => Some(item.title_sort()),
            };
            text(artist.unwrap_or(""))
        }
        SortKey::DateCreated => KeyPart::Num(i64::from(item.added_at())),
        SortKey::DatePlayed => KeyPart::Num(i64::from(
            render
                .state
                .play_state(render.user.id, item.id())
                .last_viewed_at,
        )),
        SortKey::PlayCount => KeyPart::Num(i64::from(
            render
                .state
                .play_state(render.user.id, item.id())
                .view_count,
        )),
        SortKey::PremiereDate | SortKey::ProductionYear => KeyPart::Num(i64::from(item.year())),
        SortKey::Runtime => KeyPart::Num(i64::from(item.duration_ms())),
        SortKey::IndexNumber => KeyPart::Num(i64::from(item.index())),
        SortKey::ParentIndexNumber => KeyPart::Num(match item.kind() {
            ItemKind::Episode => i64::from(item.parent().map(|s| s.index()).unwrap_or(0)),
            _ => i64::from(item.disc()),
        }),
        SortKey::Random => KeyPart::Num((mix(render.seed ^ u64::from(item.id())) >> 1) as i64),
        SortKey::Unsupported => KeyPart::Num(0),
    }
}

/// `GET /Items/Latest`: the newest items of the user's libraries (a bare array). Tracks are
/// grouped into their albums (`GroupItems`, default true), as the server does.
pub(crate) fn latest(
    render: &Render<'_>,
    query: &QueryParams,
) -> Result<(Vec<BaseItemDto>, Work), ApiError> {
    let limit = query.count("Limit")?.unwrap_or(20);
    let group = query.bool("GroupItems")?.unwrap_or(true);
    let is_played = query.bool("IsPlayed")?;
    let sections: Vec<&Section> = match query.str("ParentId") {
        Some(raw) => match decode_id(render.seed, raw, "parentId")? {
            Some(Target::View(id)) => {
                vec![visible_section(render.lib, render.user, id).ok_or(ApiError::NotFound)?]
            }
            Some(Target::Item(id)) => {
                let item = visible_item(render.lib, render.user, id).ok_or(ApiError::NotFound)?;
                vec![item.section()]
            }
            _ => return Err(ApiError::NotFound),
        },
        None => render
            .lib
            .sections()
            .iter()
            .filter(|s| render.user.can_see_section(s.id))
            .collect(),
    };
    let types = parse_types(query, "IncludeItemTypes");
    let kinds: Vec<ItemKind> = match &types {
        Some(types) => types
            .iter()
            .filter_map(|t| match t {
                TypeFilter::Kind(kind) => Some(*kind),
                _ => None,
            })
            .collect(),
        None => vec![ItemKind::Track, ItemKind::Movie, ItemKind::Episode],
    };
    let mut work = Work::default();
    let mut candidates: Vec<(u32, ItemId)> = Vec::new();
    for section in sections {
        for &kind in &kinds {
            let ids = section.items(kind);
            work.scanned += ids.len() as u64;
            candidates.extend(
                ids.iter()
                    .filter_map(|&id| visible_item(render.lib, render.user, id))
                    .map(|i| (i.added_at(), i.id())),
            );
        }
    }
    candidates.sort_by(|a, b| b.cmp(a));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (_, id) in candidates {
        if out.len() >= limit {
            break;
        }
        let Some(item) = visible_item(render.lib, render.user, id) else {
            continue;
        };
        if let Some(played) = is_played {
            let state = render.state.play_state(render.user.id, id);
            if played != (state.view_count > 0) {
                continue;
            }
        }
        let shown = match (group, item.kind()) {
            (true, ItemKind::Track) => item.parent().unwrap_or(item),
            _ => item,
        };
        if seen.insert(shown.id()) {
            out.push(render.item(shown));
        }
    }
    work.returned = out.len() as u64;
    Ok((out, work))
}

/// `GET /Shows/NextUp`: for each show the user is watching, the next episode to play (the
/// core's on-deck episodes), optionally for one `SeriesId`.
pub(crate) fn next_up(
    render: &Render<'_>,
    query: &QueryParams,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let series = match query.str("SeriesId") {
        Some(raw) => match decode_id(render.seed, raw, "seriesId")? {
            Some(Target::Item(id)) => Some(id),
            _ => return Err(ApiError::NotFound),
        },
        None => None,
    };
    let deck = render.state.on_deck(render.user.id, render.lib);
    let mut work = Work {
        scanned: deck.len() as u64,
        returned: 0,
    };
    let episodes: Vec<ItemId> = deck
        .into_iter()
        .filter(|id| {
            visible_item(render.lib, render.user, *id).is_some_and(|item| {
                item.kind() == ItemKind::Episode
                    && series.is_none_or(|s| item.grandparent().is_some_and(|g| g.id() == s))
            })
        })
        .collect();
    let total = episodes.len();
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    let items: Vec<BaseItemDto> = episodes
        .into_iter()
        .skip(start)
        .take(limit)
        .filter_map(|id| visible_item(render.lib, render.user, id))
        .map(|item| render.item(item))
        .collect();
    work.returned = items.len() as u64;
    Ok((
        QueryResult {
            items,
            total_record_count: total,
            start_index: start,
        },
        work,
    ))
}

/// What `/Genres`, `/MusicGenres` and `/Studios` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// `Genre` items (movies and shows).
    Genre,
    /// `MusicGenre` items (the synthetic music carries no genre tags, so none).
    MusicGenre,
    /// `Studio` items.
    Studio,
}

/// `GET /Genres`, `/MusicGenres`, `/Studios`: the distinct names on the user's items (under
/// `ParentId` when given), as items of their own with name-derived ids, by name.
pub(crate) fn names(
    render: &Render<'_>,
    query: &QueryParams,
    kind: NameKind,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let sections: Vec<&Section> = match query.str("ParentId") {
        Some(raw) => match decode_id(render.seed, raw, "parentId")? {
            Some(Target::View(id)) => {
                vec![visible_section(render.lib, render.user, id).ok_or(ApiError::NotFound)?]
            }
            _ => return Err(ApiError::NotFound),
        },
        None => render
            .lib
            .sections()
            .iter()
            .filter(|s| render.user.can_see_section(s.id))
            .collect(),
    };
    let search = query.str("SearchTerm").map(fold);
    let mut work = Work::default();
    let mut found: BTreeMap<String, &str> = BTreeMap::new();
    for section in sections {
        for item_kind in [ItemKind::Movie, ItemKind::Show] {
            let ids = section.items(item_kind);
            work.scanned += ids.len() as u64;
            for &id in ids {
                let Some(item) = visible_item(render.lib, render.user, id) else {
                    continue;
                };
                let name = match kind {
                    NameKind::Genre => item.genre(),
                    NameKind::Studio => item.studio(),
                    NameKind::MusicGenre => None,
                };
                if let Some(name) = name
                    && search
                        .as_ref()
                        .is_none_or(|t| fold(name).contains(t.as_str()))
                {
                    found.entry(fold(name)).or_insert(name);
                }
            }
        }
    }
    let total = found.len();
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    let type_name = match kind {
        NameKind::Genre => "Genre",
        NameKind::MusicGenre => "MusicGenre",
        NameKind::Studio => "Studio",
    };
    let items: Vec<BaseItemDto> = found
        .into_values()
        .skip(start)
        .take(limit)
        .map(|name| BaseItemDto {
            name: name.to_owned(),
            server_id: render.server_id.to_owned(),
            id: jf_id(IdSpace::Name, artist_name_hash(name)),
            item_type: type_name.to_owned(),
            is_folder: true,
            location_type: Some("FileSystem".to_owned()),
            media_type: Some("Unknown".to_owned()),
            ..BaseItemDto::default()
        })
        .collect();
    work.returned = items.len() as u64;
    Ok((
        QueryResult {
            items,
            total_record_count: total,
            start_index: start,
        },
        work,
    ))
}

/// `GET /Items/{id}/Similar`: items of the same kind sharing the album artist (music) or the
/// genre (films, shows), the item itself excluded; `Limit` defaults to 12 as on the server.
pub(crate) fn similar(
    render: &Render<'_>,
    query: &QueryParams,
    id: ItemId,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let item = visible_item(render.lib, render.user, id).ok_or(ApiError::NotFound)?;
    let limit = query.count("Limit")?.unwrap_or(12);
    let artist_of = |i: crate::library::Item<'_>| match i.kind() {
        ItemKind::Track => i.grandparent().map(|a| fold(a.title())),
        ItemKind::Album => i.parent().map(|a| fold(a.title())),
        ItemKind::Artist => Some(fold(i.title())),
        _ => None,
    };
    let key = |i: crate::library::Item<'_>| match i.kind() {
        ItemKind::Movie | ItemKind::Show => i.genre().map(str::to_owned),
        _ => artist_of(i),
    };
    let wanted = key(item);
    let mut work = Work::default();
    let mut out = Vec::new();
    for section in render
        .lib
        .sections()
        .iter()
        .filter(|s| render.user.can_see_section(s.id))
    {
        let ids = section.items(item.kind());
        work.scanned += ids.len() as u64;
        for &other in ids {
            if out.len() >= limit {
                break;
            }
            if other == id {
                continue;
            }
            let Some(candidate) = visible_item(render.lib, render.user, other) else {
                continue;
            };
            if wanted.is_some() && key(candidate) == wanted {
                out.push(render.item(candidate));
            }
        }
    }
    work.returned = out.len() as u64;
    let total = out.len();
    Ok((
        QueryResult {
            items: out,
            total_record_count: total,
            start_index: 0,
        },
        work,
    ))
}

/// `GET /Artists` and `/Artists/AlbumArtists`: the music artists of the user's libraries,
/// one per name (Jellyfin's artists are global by name).
pub(crate) fn artists(
    render: &Render<'_>,
    query: &QueryParams,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let sections: Vec<&Section> = match query.str("ParentId") {
        Some(raw) => match decode_id(render.seed, raw, "parentId")? {
            Some(Target::View(id)) => {
                vec![visible_section(render.lib, render.user, id).ok_or(ApiError::NotFound)?]
            }
            _ => return Err(ApiError::NotFound),
        },
        None => render
            .lib
            .sections()
            .iter()
            .filter(|s| render.user.can_see_section(s.id))
            .collect(),
    };
    let search = query.str("SearchTerm").map(fold);
    let starts = query.str("NameStartsWith").map(fold);
    let mut work = Work::default();
    let mut by_name: BTreeMap<String, ItemId> = BTreeMap::new();
    for section in sections {
        let ids = section.items(ItemKind::Artist);
        work.scanned += ids.len() as u64;
        for &id in ids {
            let Some(item) = visible_item(render.lib, render.user, id) else {
                continue;
            };
            let name = fold(item.title());
            if search.as_ref().is_some_and(|t| !name.contains(t.as_str()))
                || starts
                    .as_ref()
                    .is_some_and(|p| !fold(item.title_sort()).starts_with(p.as_str()))
            {
                continue;
            }
            by_name.entry(fold(item.title_sort())).or_insert(id);
        }
    }
    let descending = query
        .list("SortOrder")
        .first()
        .is_some_and(|order| order.eq_ignore_ascii_case("descending"));
    let mut ids: Vec<ItemId> = by_name.into_values().collect();
    if descending {
        ids.reverse();
    }
    let total = ids.len();
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    let items: Vec<BaseItemDto> = ids
        .into_iter()
        .skip(start)
        .take(limit)
        .filter_map(|id| visible_item(render.lib, render.user, id))
        .map(|item| render.item(item))
        .collect();
    work.returned = items.len() as u64;
    let counted = query.bool("EnableTotalRecordCount")?.unwrap_or(true);
    Ok((
        QueryResult {
            items,
            total_record_count: if counted { total } else { 0 },
            start_index: start,
        },
        work,
    ))
}

/// `GET /Items/Counts`: the user's items of each kind, over the libraries and items the user
/// may see.
pub(crate) fn counts(render: &Render<'_>) -> (super::dto::ItemCounts, Work) {
    let mut counts = super::dto::ItemCounts::default();
    let mut work = Work::default();
    for section in render
        .lib
        .sections()
        .iter()
        .filter(|s| render.user.can_see_section(s.id))
    {
        for &kind in section.kind.kinds() {
            let ids = section.items(kind);
            work.scanned += ids.len() as u64;
            let n = ids
                .iter()
                .filter(|&&id| visible_item(render.lib, render.user, id).is_some())
                .count() as u64;
            match kind {
                ItemKind::Movie => counts.movie_count += n,
                ItemKind::Show => counts.series_count += n,
                ItemKind::Episode => counts.episode_count += n,
                ItemKind::Artist => counts.artist_count += n,
                ItemKind::Album => counts.album_count += n,
                ItemKind::Track => counts.song_count += n,
                ItemKind::Season | ItemKind::PhotoAlbum => continue,
                ItemKind::Photo => {}
            }
            counts.item_count += n;
        }
    }
    work.returned = 1;
    (counts, work)
}

/// `GET /Search/Hints`: items whose name contains the term, best matches first (exact, then
/// prefix, then anywhere), each as a `SearchHint`.
pub(crate) fn search_hints(
    render: &Render<'_>,
    query: &QueryParams,
) -> Result<(SearchHintResult, Work), ApiError> {
    let term = query
        .str("SearchTerm")
        .ok_or_else(|| ApiError::missing("searchTerm"))?;
    let term = fold(term);
    let types = parse_types(query, "IncludeItemTypes");
    let exclude = parse_types(query, "ExcludeItemTypes").unwrap_or_default();
    let include_media = query.bool("IncludeMedia")?.unwrap_or(true);
    let include_artists = query.bool("IncludeArtists")?.unwrap_or(true);
    let parent_section = match query.str("ParentId") {
        Some(raw) => match decode_id(render.seed, raw, "parentId")? {
            Some(Target::View(id)) => Some(
                visible_section(render.lib, render.user, id)
                    .ok_or(ApiError::NotFound)?
                    .id,
            ),
            _ => return Err(ApiError::NotFound),
        },
        None => None,
    };
    let allowed = |kind: ItemKind| {
        let filter = TypeFilter::Kind(kind);
        let by_group = if kind == ItemKind::Artist {
            include_artists
        } else {
            include_media
        };
        by_group && types.as_ref().is_none_or(|t| t.contains(&filter)) && !exclude.contains(&filter)
    };
    let mut work = Work::default();
    let mut hits: Vec<(u8, String, ItemId)> = Vec::new();
    for section in render.lib.sections() {
        if !render.user.can_see_section(section.id)
            || parent_section.is_some_and(|p| p != section.id)
        {
            continue;
        }
        for kind in section.kind.kinds().iter().copied().filter(|k| allowed(*k)) {
            let ids = section.items(kind);
            work.scanned += ids.len() as u64;
            for &id in ids {
                let Some(item) = visible_item(render.lib, render.user, id) else {
                    continue;
                };
                let name = fold(item.title());
                let rank = if name == term {
                    0
                } else if name.starts_with(term.as_str()) {
                    1
                } else if name.contains(term.as_str()) {
                    2
                } else {
                    continue;
                };
                hits.push((rank, fold(item.title_sort()), id));
            }
        }
    }
    hits.sort();
    let total = hits.len();
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    let search_hints: Vec<SearchHint> = hits
        .into_iter()
        .skip(start)
        .take(limit)
        .filter_map(|(_, _, id)| visible_item(render.lib, render.user, id))
        .map(|item| search_hint(render, item))
        .collect();
    work.returned = search_hints.len() as u64;
    Ok((
        SearchHintResult {
            search_hints,
            total_record_count: total,
        },
        work,
    ))
}

fn search_hint(render: &Render<'_>, item: crate::library::Item<'_>) -> SearchHint {
    let dto = render.item(item);
    SearchHint {
        item_id: dto.id.clone(),
        id: dto.id,
        name: dto.name,
        matched_term: None,
        index_number: dto.index_number,
        production_year: dto.production_year,
        parent_index_number: dto.parent_index_number,
        primary_image_tag: dto.image_tags.get("Primary").cloned(),
        item_type: dto.item_type,
        is_folder: dto.is_folder,
        run_time_ticks: dto.run_time_ticks,
        media_type: dto.media_type,
        series: dto.series_name,
        album: dto.album,
        album_id: dto.album_id,
        album_artist: dto.album_artist,
        artists: dto.artists.unwrap_or_default(),
        song_count: (item.kind() == ItemKind::Album).then(|| item.children().len() as u64),
        episode_count: (item.kind() == ItemKind::Season).then(|| item.children().len() as u64),
    }
}
