//! The other listings: `/Items/Latest`, next up, the name lists (genres, studios, years),
//! similar items, `/Artists`, item counts and `/Search/Hints`.

use super::*;

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
    /// `Tag` items (Emby's: the item query lists them; Jellyfin has no such items).
    Tag,
}

impl NameKind {
    /// The item type the server writes (`Type`) and reads (`IncludeItemTypes`).
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            NameKind::Genre => "Genre",
            NameKind::MusicGenre => "MusicGenre",
            NameKind::Studio => "Studio",
            NameKind::Tag => "Tag",
        }
    }
}

/// `GET /Genres`, `/MusicGenres`, `/Studios`: the distinct names on the user's items (under
/// `ParentId` when given), as items of their own with name-derived ids, by name.
pub(crate) fn names(
    render: &Render<'_>,
    query: &QueryParams,
    kind: NameKind,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let sections = listed_sections(render, query)?;
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
                let names = match kind {
                    NameKind::Genre => item.genre().into_iter().collect(),
                    NameKind::Studio => item.studio().into_iter().collect(),
                    NameKind::Tag => item.labels(),
                    NameKind::MusicGenre => Vec::new(),
                };
                for name in names {
                    if search
                        .as_ref()
                        .is_none_or(|t| fold(name).contains(t.as_str()))
                    {
                        found.entry(fold(name)).or_insert(name);
                    }
                }
            }
        }
    }
    let total = found.len();
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    let items: Vec<BaseItemDto> = found
        .into_values()
        .skip(start)
        .take(limit)
        .map(|name| name_item(render, name, kind))
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

/// A genre or studio as an item of its own, with its name-derived id.
pub(crate) fn name_item(render: &Render<'_>, name: &str, kind: NameKind) -> BaseItemDto {
    BaseItemDto {
        name: name.to_owned(),
        server_id: render.server_id.to_owned(),
        id: jf_id(IdSpace::Name, artist_name_hash(name)),
        item_type: kind.type_name().to_owned(),
        is_folder: true,
        location_type: Some("FileSystem".to_owned()),
        media_type: Some("Unknown".to_owned()),
        ..BaseItemDto::default()
    }
}

/// The genre, studio or tag (of a film or show the user may see) whose name-derived id is
/// `hash`: genres first, then studios, as a name that is both is one id here.
pub(crate) fn name_by_hash<'l>(render: &Render<'l>, hash: u64) -> Option<(&'l str, NameKind)> {
    let mut studio = None;
    for section in render.lib.sections() {
        for item_kind in [ItemKind::Movie, ItemKind::Show] {
            for &id in section.items(item_kind) {
                let Some(item) = visible_item(render.lib, render.user, id) else {
                    continue;
                };
                if let Some(genre) = item.genre()
                    && artist_name_hash(genre) == hash
                {
                    return Some((genre, NameKind::Genre));
                }
                if let Some(name) = item.studio()
                    && studio.is_none()
                    && artist_name_hash(name) == hash
                {
                    studio = Some((name, NameKind::Studio));
                }
                if let Some(tag) = item
                    .labels()
                    .into_iter()
                    .find(|t| artist_name_hash(t) == hash)
                    && studio.is_none()
                {
                    studio = Some((tag, NameKind::Tag));
                }
            }
        }
    }
    studio
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

/// An artist a listing of artists shows: a library artist, or a name only tracks carry
/// ("A feat. B"), by the name's hash.
enum ListedArtist {
    Item(ItemId),
    Name(u64),
}

/// `GET /Artists` and `/Artists/AlbumArtists`: the music artists of the user's libraries,
/// by name. `/Artists` lists every artist an item credits (the server's `ItemValueType.Artist` values: albums credit their album
/// artist, tracks their own artists, "A feat. B" included); `/Artists/AlbumArtists` only the
/// album artists.
pub(crate) fn artists(
    render: &Render<'_>,
    query: &QueryParams,
    album_artists: bool,
) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
    let sections = listed_sections(render, query)?;
    let search = query.str("SearchTerm").map(fold);
    let starts = query.str("NameStartsWith").map(fold);
    let mut work = Work::default();
    // By name, then by the id each item credits: the generated library may hold two artists of
    // one name (a real server would merge them), and a track's credit is an artist of its own
    // even where a library artist bears that name; every id an item credits is listed.
    let mut by_name: BTreeMap<(String, u8, u64), ListedArtist> = BTreeMap::new();
    let wanted = |name: &str, sort_name: &str| {
        !(search.as_ref().is_some_and(|t| !name.contains(t.as_str()))
            || starts
                .as_ref()
                .is_some_and(|p| !sort_name.starts_with(p.as_str())))
    };
    for section in sections {
        if !album_artists {
            let tracks = section.items(ItemKind::Track);
            work.scanned += tracks.len() as u64;
            for &id in tracks {
                let Some(track) = visible_item(render.lib, render.user, id) else {
                    continue;
                };
                let Some(credit) = track.original_title() else {
                    continue;
                };
                if track.grandparent().is_some_and(|a| a.title() == credit) {
                    continue;
                }
                let name = fold(credit);
                if wanted(&name, &name) {
                    let hash = artist_name_hash(credit);
                    by_name
                        .entry((name, 1, hash))
                        .or_insert(ListedArtist::Name(hash));
                }
            }
        }
        let ids = section.items(ItemKind::Artist);
        work.scanned += ids.len() as u64;
        for &id in ids {
            let Some(item) = visible_item(render.lib, render.user, id) else {
                continue;
            };
            if wanted(&fold(item.title()), &fold(item.title_sort())) {
                by_name.insert(
                    (fold(item.title_sort()), 0, u64::from(id)),
                    ListedArtist::Item(id),
                );
            }
        }
    }
    let descending = query
        .list("SortOrder")
        .first()
        .is_some_and(|order| order.eq_ignore_ascii_case("descending"));
    let mut ids: Vec<ListedArtist> = by_name.into_values().collect();
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
        .filter_map(|listed| match listed {
            ListedArtist::Item(id) => {
                visible_item(render.lib, render.user, id).map(|item| render.item(item))
            }
            ListedArtist::Name(hash) => render.artist_by_name(hash),
        })
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

/// The sections a listing of names reads: the view `ParentId` names, else every one the user
/// may see.
fn listed_sections<'a>(
    render: &Render<'a>,
    query: &QueryParams,
) -> Result<Vec<&'a Section>, ApiError> {
    Ok(match query.str("ParentId") {
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
    })
}

/// `GET /Items/Counts`: the user's items of each kind, over the libraries and items the user
/// may see.
pub(crate) fn counts(render: &Render<'_>) -> (super::super::dto::ItemCounts, Work) {
    let mut counts = super::super::dto::ItemCounts::default();
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

/// `GET /Search/Hints`: items whose name contains the term, best matches first (exact, first
/// word, prefix, then anywhere: the repository's search relevance), then by sort name and
/// name, each as a `SearchHint`; at most `Limit` of them are counted and paged.
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
    // The server's order (`SearchEngine` asks for `SortName`; the repository puts the search
    // relevance first and `Name` after a sort by sort name); rows still equal are in no
    // defined order there (the database's), here by their id as written on the wire.
    let mut hits: Vec<(u8, String, String, String, ItemId)> = Vec::new();
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
                if !name.contains(term.as_str()) {
                    continue;
                }
                hits.push((
                    jellyfin_relevance(&name, None, &term),
                    fold(item.title_sort()),
                    item.title().to_owned(),
                    item.guid_id(),
                    id,
                ));
            }
        }
    }
    hits.sort();
    // `SearchEngine.GetSearchHints` hands `Limit` to the item query and pages the result
    // afterwards: the count is of at most `Limit` items, and `StartIndex` skips into those.
    let start = query.count("StartIndex")?.unwrap_or(0);
    let limit = query.count("Limit")?.unwrap_or(usize::MAX);
    hits.truncate(limit);
    let total = hits.len();
    let search_hints: Vec<SearchHint> = hits
        .into_iter()
        .skip(start)
        .take(limit)
        .filter_map(|(_, _, _, _, id)| visible_item(render.lib, render.user, id))
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

/// The `SearchHint` of an item, as the server's `SearchController` fills one: `IsFolder` only
/// for folders, and no `SongCount` or `EpisodeCount` (the model has them; the server never
/// sets them in a hint).
pub(super) fn search_hint(render: &Render<'_>, item: crate::library::Item<'_>) -> SearchHint {
    let dto = render.item(item);
    SearchHint {
        item_id: dto.id.clone(),
        id: dto.id,
        name: dto.name,
        matched_term: None,
        index_number: dto.index_number,
        production_year: dto.production_year,
        parent_index_number: dto.parent_index_number,
        primary_image_tag: dto
            .image_tags
            .as_ref()
            .and_then(|tags| tags.get("Primary"))
            .cloned(),
        item_type: dto.item_type,
        is_folder: dto.is_folder.then_some(true),
        run_time_ticks: dto.run_time_ticks,
        media_type: dto.media_type,
        series: dto.series_name,
        album: dto.album,
        album_id: dto.album_id,
        album_artist: dto.album_artist,
        artists: dto.artists.unwrap_or_default(),
        channel_id: None,
    }
}
