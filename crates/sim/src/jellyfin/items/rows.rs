//! Answering an item query ([`run_items_query`]): gathering the candidate rows (recursive,
//! under a parent, a playlist or ids), filtering, sorting and paging them, with the work the
//! real server's SQL would do.

use super::*;

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
    // Uncounted, the server's `LibraryManager.GetItemsResult` answers
    // `new QueryResult(startIndex, null, list)`, whose `TotalRecordCount` is the page's own
    // item count.
    let total = if query.total_count {
        total
    } else {
        items.len()
    };
    Ok((
        QueryResult {
            items,
            total_record_count: total,
            start_index: query.start,
        },
        work,
    ))
}

/// A recursive listing of whole sections (no parent, or a library view), sorted; served from
/// the [`SortCache`] when its order does not depend on user state. `None` when the query is
/// not of that shape (ids, an item or playlist parent, playlists included).
pub(super) fn flat_listing(
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
    // Per-user state and per-request shuffles are never kept.
    let stateful = sort.iter().any(|(key, _)| {
        matches!(
            key,
            SortKey::DatePlayed | SortKey::PlayCount | SortKey::Random
        )
    });
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
pub(super) fn gather_rows(
    render: &Render<'_>,
    query: &ItemQuery,
    work: &mut Work,
) -> Result<Vec<Row>, ApiError> {
    let lib = render.lib;
    let user = render.user;
    let mut rows: Vec<Row> = Vec::new();
    let mut natural_order = true;
    if let Some(ids) = &query.ids {
        rows = rows_of_ids(render, ids);
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

/// The rows of the targets a query names by id (`Ids=`), those the user may see.
fn rows_of_ids(render: &Render<'_>, ids: &[Target]) -> Vec<Row> {
    let (lib, user) = (render.lib, render.user);
    let mut rows = Vec::new();
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
    rows
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

pub(super) fn row_type(render: &Render<'_>, row: Row) -> Option<TypeFilter> {
    match row {
        Row::Item(id) | Row::Entry(_, id) => render
            .lib
            .item(id)
            .map(|item| TypeFilter::Kind(item.kind())),
        Row::View(_) => Some(TypeFilter::View),
        Row::Playlist(_) => Some(TypeFilter::Playlist),
    }
}

pub(super) fn row_matches(render: &Render<'_>, query: &ItemQuery, row: Row) -> bool {
    let Some(row_type) = row_type(render, row) else {
        return false;
    };
    if !query.type_allowed(row_type) {
        return false;
    }
    let (Row::Item(id) | Row::Entry(_, id)) = row else {
        // Views and playlists: only name filters apply.
        return name_matches(render, query, row);
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

/// Whether a view's or a playlist's name passes the query's name filters.
fn name_matches(render: &Render<'_>, query: &ItemQuery, row: Row) -> bool {
    let name = match row {
        Row::View(id) => render.lib.section(id).map(|s| fold(&s.title)),
        Row::Playlist(id) => render
            .state
            .playlist(render.user.id, id)
            .map(|p| fold(&p.title)),
        _ => None,
    };
    let name = name.unwrap_or_default();
    query
        .search
        .as_ref()
        .is_none_or(|term| name.contains(term.as_str()))
        && query
            .name_starts_with
            .as_ref()
            .is_none_or(|p| name.starts_with(p.as_str()))
        && query.is_folder != Some(false)
}

pub(super) fn sort_rows(render: &Render<'_>, sort: &[(SortKey, bool)], rows: &mut Vec<Row>) {
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
    // The server follows a first sort by sort name with the name (byte order, SQLite's), in
    // the same direction; rows still equal are in its database's order, here their id's.
    let by_name = sort.first().is_some_and(|(k, _)| *k == SortKey::SortName);
    let descending_name = sort.first().is_some_and(|(_, d)| *d);
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
        if by_name {
            let ordering = row_name(render, *row_a).cmp(&row_name(render, *row_b));
            let ordering = if descending_name {
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
pub(super) fn search_order(
    render: &Render<'_>,
    query: &ItemQuery,
    term: &str,
    rows: &[Row],
) -> Vec<Row> {
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

/// A row's `Name` as written on the wire (empty for a row gone meanwhile).
fn row_name(render: &Render<'_>, row: Row) -> String {
    match row {
        Row::Item(id) | Row::Entry(_, id) => render
            .lib
            .item(id)
            .map(|item| item.title().to_string())
            .unwrap_or_default(),
        Row::View(id) => render
            .lib
            .section(id)
            .map(|s| s.title.clone())
            .unwrap_or_default(),
        Row::Playlist(id) => render
            .state
            .playlist(render.user.id, id)
            .map(|p| p.title.clone())
            .unwrap_or_default(),
    }
}

pub(super) fn row_id(row: Row) -> (u8, u32) {
    match row {
        Row::View(id) => (0, id),
        Row::Item(id) => (1, id),
        Row::Entry(entry, _) => (1, entry),
        Row::Playlist(id) => (2, id),
    }
}

pub(super) fn key_part(render: &Render<'_>, key: SortKey, row: Row) -> KeyPart {
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
        // The server's key is the artist's name as its item values keep it (`CleanValue`:
        // accents stripped, lower-cased), not the artist's sort name: "The Kinks" sorts under
        // "t". Items with no such value (artists themselves, films) have none and come first.
        SortKey::AlbumArtist | SortKey::Artist => {
            let artist = match item.kind() {
                ItemKind::Track => {
                    if key == SortKey::Artist {
                        item.original_title()
                            .or_else(|| item.grandparent().map(|a| a.title()))
                    } else {
                        item.grandparent().map(|a| a.title())
                    }
                }
                ItemKind::Album => item.parent().map(|a| a.title()),
                _ => None,
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
        SortKey::Random => KeyPart::Num((mix(render.shuffle ^ u64::from(item.id())) >> 1) as i64),
        SortKey::Unsupported => KeyPart::Num(0),
    }
}
