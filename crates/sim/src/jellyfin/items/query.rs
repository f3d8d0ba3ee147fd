//! What an item query asks for ([`ItemQuery`]): `IncludeItemTypes` and `ExcludeItemTypes`
//! ([`TypeFilter`]), sort keys, id lists, media types and every filter of `/Items`, parsed
//! from the query string.

use super::*;

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
pub(super) const BASE_ITEM_KINDS: [&str; 37] = [
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

pub(super) const LIBRARY_KINDS: [ItemKind; 7] = [
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
pub(super) enum SortKey {
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

pub(super) fn parse_sort_key(raw: &str) -> Option<SortKey> {
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
pub(super) enum KeyPart {
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
    pub(super) parent: Option<Target>,
    pub(super) types: Option<Vec<TypeFilter>>,
    pub(super) exclude: Vec<TypeFilter>,
    pub(super) recursive: bool,
    /// Whether the request said `Recursive` at all (12 defaults it under a library).
    pub(super) recursive_given: bool,
    pub(super) search: Option<String>,
    pub(super) name_starts_with: Option<String>,
    pub(super) ids: Option<Vec<Target>>,
    pub(super) artist_ids: Option<Vec<Target>>,
    pub(super) album_artist_ids: Option<Vec<Target>>,
    pub(super) album_ids: Option<Vec<Target>>,
    pub(super) years: Vec<u32>,
    /// `MinDateLastSaved`: items saved (added or changed) at or after this time (epoch s).
    pub(super) min_date_last_saved: Option<i64>,
    pub(super) is_played: Option<bool>,
    pub(super) is_favorite: Option<bool>,
    pub(super) resumable: bool,
    pub(super) is_folder: Option<bool>,
    pub(super) sort: Vec<(SortKey, bool)>,
    pub(super) start: usize,
    pub(super) limit: Option<usize>,
    pub(super) total_count: bool,
}

/// An id list parameter: `None` when absent or without one well-formed GUID (the server skips
/// malformed entries, and an empty list filters nothing); otherwise the known targets, so a
/// list of well-formed but unknown ids matches nothing.
pub(super) fn parse_id_list(seed: u64, query: &QueryParams, name: &str) -> Option<Vec<Target>> {
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
pub(super) fn media_types_filter(
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
                super::super::dto::parse_iso8601(raw)
                    .ok_or_else(|| ApiError::invalid_value("minDateLastSaved", raw))?,
            ),
        };
        Ok(ItemQuery {
            min_date_last_saved,
            parent,
            types: media_types_filter(parse_types(query, "IncludeItemTypes"), query),
            exclude: parse_types(query, "ExcludeItemTypes").unwrap_or_default(),
            recursive: query.bool("Recursive")?.unwrap_or(false),
            recursive_given: query.bool("Recursive")?.is_some(),
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

    /// The query as the server's release reads it. On 12 (`filters_imply_recursive`) a query
    /// at the user root with any filter searches every library, and `IncludeItemTypes` under a
    /// library lists it recursively unless `Recursive` was said; with `sort_name_tiebreak` a
    /// sorted listing that names no name key ends with `SortName` (searches keep their order).
    pub(crate) fn for_release(mut self, rules: crate::jellyfin::Rules) -> Self {
        if rules.filters_imply_recursive {
            let has_filters = self.needs_filter() || self.types.is_some();
            match self.parent {
                None if self.ids.is_none() && has_filters => self.recursive = true,
                Some(Target::View(_)) if self.types.is_some() && !self.recursive_given => {
                    self.recursive = true;
                }
                _ => {}
            }
        }
        let names_a_name = self
            .sort
            .iter()
            .any(|(key, _)| matches!(key, SortKey::SortName | SortKey::Name));
        if rules.sort_name_tiebreak
            && self.search.is_none()
            && !self.sort.is_empty()
            && !names_a_name
        {
            self.sort.push((SortKey::SortName, false));
        }
        self
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
    pub(super) fn needs_filter(&self) -> bool {
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

    pub(super) fn type_allowed(&self, filter: TypeFilter) -> bool {
        self.types
            .as_ref()
            .is_none_or(|types| types.contains(&filter))
            && !self.exclude.contains(&filter)
    }

    /// Kinds to gather from sections: the requested ones, or all.
    pub(super) fn kinds(&self) -> Vec<ItemKind> {
        LIBRARY_KINDS
            .into_iter()
            .filter(|kind| self.type_allowed(TypeFilter::Kind(*kind)))
            .collect()
    }
}
