//! Plex's searches answered from the library copy (`upstream_index::answer` in `cachearr-copy`):
//! section search, hub search and `…/all?title=`, written from the server's own elements as the
//! crawl kept them, in the order Plex gives its results; and a section's natural order, which its
//! listings and walks follow; and how the copy's answers page (Plex's [`CopyAnswers`]). The
//! copy is read through [`CopyView`]; the asking user's play state is put in afterwards
//! ([`super::user_state`]).

use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{ItemKind, LibraryIndex, Visibility};
use http::HeaderMap;
use rustc_hash::FxHashMap;

use super::Plex;
use super::render;
use super::search::{self, Kind};
use crate::answers::{
    AnswerFacts, CopyAnswers, CopyView, Found, ItemRef, Page, RecentRequest, SearchRoute,
    WalkRequest, number, param,
};
use crate::model::library::{Rank, TitleHit, UserSection};
use crate::model::route::IndexSearch;
use cachearr_serverfmt::tree::El;
use cachearr_serverfmt::tree::V;

/// One result: an item of the index, or a show known from its episodes (which only tells
/// that the server has something to say: see [`page`]).
enum Hit {
    Item(TitleHit),
    Show,
}

/// The answer of a search the route table recognised (`None`: the server answers).
fn search_page(route: &SearchRoute, copy: &dyn CopyView) -> Option<Page> {
    let params = &route.params;
    match route.search {
        IndexSearch::SectionSearch => section_search(copy, route.section.as_deref()?, params),
        IndexSearch::HubSearch => hub_search(copy, params),
        IndexSearch::SectionListing => section_all(copy, route.section.as_deref()?, params),
        _ => None,
    }
}

/// The server's element of an item, as `section`'s user is shown it (play state is put in
/// later); `None` when it is not kept or older than the index's record of the item (then the
/// server answers).
fn item(
    copy: &dyn CopyView,
    view: &ItemView<'_>,
    section: &UserSection,
    guids: bool,
) -> Option<El> {
    let mut e = copy.item_el(view.id(), view.updated_at(), guids)?;
    // Search answers name each item's section (a listing's items may leave it to the
    // container).
    e.set("librarySectionTitle", section.title.as_str());
    e.set("librarySectionID", search::number(&section.id));
    e.set(
        "librarySectionKey",
        format!("/library/sections/{}", section.id),
    );
    Some(e)
}

/// `/library/sections/{id}/search?type=&query=`.
fn section_search(copy: &dyn CopyView, section: &str, params: &[(String, String)]) -> Option<Page> {
    for (k, _) in params {
        if !(search::ignorable(k)
            || matches!(
                k.as_str(),
                "type" | "query" | "title" | "limit" | "includeGuids"
            ))
        {
            return None;
        }
    }
    let s = copy.sections().get(section)?;
    let kind = search::kind_asked(params, s)?;
    let query = param(params, "query").or_else(|| param(params, "title"))?;
    let limit = number(param(params, "limit"))?;
    let sections = copy.indexed(Some(section))?;
    let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    let mut hits = find(copy, query.trim(), kind, &ids);
    if let Some(limit) = limit {
        hits.truncate(limit);
    }
    let container = El::new("MediaContainer")
        .a("allowSync", true)
        .a("identifier", "com.plexapp.plugins.library")
        .a("librarySectionID", search::number(&s.id))
        .a("librarySectionTitle", s.title.as_str())
        .a("librarySectionUUID", s.uuid.clone().unwrap_or_default())
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("title1", s.title.as_str())
        .a("title2", format!("Search for '{query}'"));
    page(copy, container, &hits, params)
}

/// An item's place in its section's natural order, compared field by field: its artist's
/// (sort title, id), its album's (year, id), its (disc, number), then its own (sort title,
/// year, id).
#[derive(Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct NaturalKey {
    artist: (String, u64),
    album: (u16, u64),
    place: (u32, u32),
    own: (String, u16, u64),
}

/// Where an item stands in its section's natural order ([`NaturalKey`]).
fn natural_key(index: &LibraryIndex, v: &ItemView<'_>) -> NaturalKey {
    natural_key_with(index, v, &mut ParentParts::default())
}

/// The parts of natural keys an item's parents give (its artist's sort title and id, its
/// album's year and id), found once per parent: the children of one album share them, and
/// finding them (two look-ups of the parents and a folded title) was most of ordering a walk.
#[derive(Default)]
struct ParentParts {
    artists: FxHashMap<String, (String, u64)>,
    albums: FxHashMap<String, (u16, u64)>,
}

impl ParentParts {
    /// The artist part of the key of an item whose artist is `artist`.
    fn artist(&mut self, index: &LibraryIndex, artist: Option<&str>) -> (String, u64) {
        let Some(artist) = artist else {
            return (String::new(), 0);
        };
        if let Some(part) = self.artists.get(artist) {
            return part.clone();
        }
        let part = index
            .by_id(artist, &Visibility::everything())
            .map_or((String::new(), 0), |a| {
                (
                    cachearr_serverfmt::search::fold(cachearr_serverfmt::plex::title_sort(
                        a.title(),
                    )),
                    numeric_id(&a),
                )
            });
        self.artists.insert(artist.to_owned(), part.clone());
        part
    }

    /// The album part of the key of a track whose album is `album`.
    fn album(&mut self, index: &LibraryIndex, album: Option<&str>) -> (u16, u64) {
        let Some(album) = album else {
            return (0, 0);
        };
        if let Some(part) = self.albums.get(album) {
            return *part;
        }
        let part = index
            .by_id(album, &Visibility::everything())
            .map_or((0, 0), |a| (a.year().unwrap_or(0), numeric_id(&a)));
        self.albums.insert(album.to_owned(), part);
        part
    }
}

/// An item's rating key as a number (`u64::MAX` when it is not one).
fn numeric_id(v: &ItemView<'_>) -> u64 {
    v.id().parse::<u64>().unwrap_or(u64::MAX)
}

/// [`natural_key`], the parents' parts taken from `parts` (and kept there).
fn natural_key_with(index: &LibraryIndex, v: &ItemView<'_>, parts: &mut ParentParts) -> NaturalKey {
    let fold = cachearr_serverfmt::search::fold;
    let own = (
        fold(cachearr_serverfmt::plex::title_sort(v.title())),
        v.year().unwrap_or(0),
        numeric_id(v),
    );
    match v.kind() {
        ItemKind::Album => NaturalKey {
            artist: parts.artist(index, v.parent_id()),
            album: (v.year().unwrap_or(0), numeric_id(v)),
            ..NaturalKey::default()
        },
        ItemKind::Track => NaturalKey {
            artist: parts.artist(index, v.grandparent_id()),
            album: parts.album(index, v.parent_id()),
            place: (v.parent_index().unwrap_or(0), v.index().unwrap_or(0)),
            own,
        },
        // A show's episodes by season and number (the show named by its title, which
        // episodes carry, and its id).
        ItemKind::Episode => NaturalKey {
            artist: (
                fold(cachearr_serverfmt::plex::title_sort(
                    v.album().unwrap_or(""),
                )),
                v.grandparent_id()
                    .and_then(|g| g.parse().ok())
                    .unwrap_or(u64::MAX),
            ),
            place: (v.parent_index().unwrap_or(0), v.index().unwrap_or(0)),
            own,
            ..NaturalKey::default()
        },
        // Shows by sort title, then id (not year, as artists and movies are).
        ItemKind::Show => NaturalKey {
            artist: (own.0, own.2),
            ..NaturalKey::default()
        },
        // A show's seasons by number, the shows in their order (a season names its show's
        // title as its episodes do).
        ItemKind::Season => NaturalKey {
            artist: (
                fold(cachearr_serverfmt::plex::title_sort(
                    v.album().unwrap_or(""),
                )),
                v.parent_id()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(u64::MAX),
            ),
            place: (v.index().unwrap_or(0), 0),
            own,
            ..NaturalKey::default()
        },
        _ => NaturalKey {
            own,
            ..NaturalKey::default()
        },
    }
}

/// `items` in their section's natural order: artists and movies by sort title (the year and
/// the id break ties), albums by their artist's sort title and then year, tracks by album in
/// that order, then disc and number; shows by sort title and id, seasons and episodes by
/// show in that order, then number; an item the index no longer holds is left out.
fn natural_order(index: &LibraryIndex, items: Vec<ItemNo>) -> Vec<ItemNo> {
    let everything = Visibility::everything();
    let mut parts = ParentParts::default();
    let mut keyed: Vec<(NaturalKey, ItemNo)> = items
        .into_iter()
        .filter_map(|no| {
            let key = natural_key_with(index, &index.item(no, &everything)?, &mut parts);
            Some((key, no))
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, no)| no).collect()
}

/// `/library/sections/{id}/all?title=` / `title==` (with `type=`, paging, `limit=`).
fn section_all(copy: &dyn CopyView, section: &str, params: &[(String, String)]) -> Option<Page> {
    let mut filter: Option<(bool, &str)> = None;
    for (k, v) in params {
        match k.as_str() {
            "title" if filter.is_none() => {
                filter = Some(match v.strip_prefix('=') {
                    Some(exact) => (true, exact),
                    None => (false, v.as_str()),
                });
            }
            "title=" if filter.is_none() => filter = Some((true, v.as_str())),
            "type" | "limit" | "includeGuids" => {}
            k if search::ignorable(k) => {}
            _ => return None,
        }
    }
    let (exact, value) = filter?;
    let s = copy.sections().get(section)?;
    let kind = search::kind_asked(params, s)?;
    let limit = number(param(params, "limit"))?;
    let sections = copy.indexed(Some(section))?;
    let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    // `a,b` means either, as Plex reads a filter value.
    let mut hits: Vec<TitleHit> = Vec::new();
    if value.split(',').any(str::is_empty) {
        // An empty alternative matches everything: the server's plain listing.
        return None;
    }
    let Kind::Item(kind) = kind else {
        return all_shows(copy, s, (exact, value), limit, &ids, params);
    };
    for alt in value.split(',') {
        let found = if exact {
            copy.find_exact(alt, &[kind], &ids)
        } else {
            copy.find(alt, &[kind], &ids, false)
        };
        hits.extend(found);
    }
    hits.sort_by_key(|h| h.item);
    hits.dedup_by_key(|h| h.item);
    // Plex lists a section in its natural order.
    let index = copy.index();
    let mut keyed: Vec<(NaturalKey, TitleHit)> = hits
        .drain(..)
        .filter_map(|h| {
            let v = copy.view(&h)?;
            Some((natural_key(index, &v), h))
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hits: Vec<Hit> = keyed.into_iter().map(|k| Hit::Item(k.1)).collect();
    if let Some(limit) = limit {
        hits.truncate(limit);
    }
    let container = all_container(copy, s, render::type_name(kind))?;
    page(copy, container, &hits, params)
}

/// `/all?type=2&title=` (`filter`: whether exact, and the value): answered only when no show
/// matches (see [`page`]).
fn all_shows(
    copy: &dyn CopyView,
    s: &UserSection,
    (exact, value): (bool, &str),
    limit: Option<usize>,
    ids: &[&str],
    params: &[(String, String)],
) -> Option<Page> {
    let mut found: Vec<&str> = Vec::new();
    for alt in value.split(',') {
        for (show, rank) in copy.find_shows(alt, ids) {
            if (!exact || rank == Rank::Exact) && !found.contains(&show) {
                found.push(show);
            }
        }
    }
    // One entry per show, so that a page of none still has the server's total.
    let mut hits: Vec<Hit> = found.iter().map(|_| Hit::Show).collect();
    if let Some(limit) = limit {
        hits.truncate(limit);
    }
    page(copy, all_container(copy, s, "show")?, &hits, params)
}

/// The server's own listing container of section `s` (kept by the crawl: its
/// `mediaTagVersion` and the rest), for `view_group`; `None` when not kept.
fn all_container(copy: &dyn CopyView, s: &UserSection, view_group: &str) -> Option<El> {
    let mut c = copy.section_container(&s.id)?;
    c.set("title2", "All");
    c.set("viewGroup", view_group);
    Some(c)
}

/// A search of one kind: exact, then prefix, then contains; ties by id (numerically).
fn find(copy: &dyn CopyView, query: &str, kind: Kind, ids: &[&str]) -> Vec<Hit> {
    match kind {
        Kind::Item(kind) => {
            let mut hits = copy.find(query, &[kind], ids, false);
            let id_of = |h: &TitleHit| {
                copy.view(h)
                    .and_then(|v| v.id().parse::<u64>().ok())
                    .unwrap_or(u64::MAX)
            };
            hits.sort_by_cached_key(|h| (h.rank, id_of(h), h.item));
            hits.into_iter().map(Hit::Item).collect()
        }
        Kind::Show => copy
            .find_shows(query, ids)
            .into_iter()
            .map(|_| Hit::Show)
            .collect(),
    }
}

/// The page of `hits` asked for, in `container` (`size`, and `totalSize`/`offset` when
/// paged, first as Plex writes them).
fn page(
    copy: &dyn CopyView,
    mut container: El,
    hits: &[Hit],
    params: &[(String, String)],
) -> Option<Page> {
    let (start, size) = Plex.paging(copy.headers(), params)?;
    let total = hits.len();
    let from = start.unwrap_or(0).min(total);
    let to = size.map_or(total, |s| from.saturating_add(s).min(total));
    let paged = start.is_some() || size.is_some();
    let guids = search::guids_asked(params)?;
    let mut items = Vec::new();
    for hit in &hits[from..to] {
        match hit {
            Hit::Item(hit) => {
                let view = copy.view(hit)?;
                let section = copy.sections().get(view.section_id())?;
                let e = item(copy, &view, section, guids)?;
                items.push(ItemRef {
                    hub: None,
                    at: container.kids.len(),
                    id: view.id().to_string(),
                    section: view.section_id().to_string(),
                    kind: view.kind(),
                });
                container.kids.push(e);
            }
            // The title search knows a show from its episodes, not as an item with the
            // counts a search's show carries (`childCount`, `leafCount` …, which a client
            // missing them fetches the show again for). The server answers.
            Hit::Show => return None,
        }
    }
    let head = Plex.page_head(container.kids.len(), paged.then_some((total, from)));
    container.attrs.splice(0..0, head);
    Some(Page {
        doc: container,
        items,
        paged: paged.then_some((from, total)),
    })
}

/// The hubs of a `/hubs/search` answer, in the server's order.
const HUB_KINDS: [Kind; 6] = [
    Kind::Item(ItemKind::Movie),
    Kind::Show,
    Kind::Item(ItemKind::Episode),
    Kind::Item(ItemKind::Artist),
    Kind::Item(ItemKind::Album),
    Kind::Item(ItemKind::Track),
];

/// `/hubs/search?query=&limit=&sectionId=`: one hub per type with results, `limit` per hub
/// (default 3).
fn hub_search(copy: &dyn CopyView, params: &[(String, String)]) -> Option<Page> {
    for (k, _) in params {
        if !(search::ignorable(k)
            || matches!(k.as_str(), "query" | "limit" | "sectionId" | "includeGuids"))
        {
            return None;
        }
    }
    let query = param(params, "query")?;
    let limit = number(param(params, "limit"))?.unwrap_or(3);
    let only = param(params, "sectionId").filter(|s| !s.is_empty());
    if let Some(id) = only {
        id.parse::<u32>().ok()?;
    }
    let guids = search::guids_asked(params)?;
    let sections = copy.indexed(only)?;
    let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    // Every kind found first, then the hubs written: the index is asked its questions in
    // one visit, and a show among the hubs' items sends the search to the server before
    // anything is written.
    let mut found: Vec<(Kind, usize, Vec<TitleHit>)> = Vec::new();
    for kind in HUB_KINDS {
        let hits = find(copy, query.trim(), kind, &ids);
        if hits.is_empty() {
            continue;
        }
        let total = hits.len();
        // See `page`: the server renders shows.
        let shown = hits
            .into_iter()
            .take(limit)
            .map(|hit| match hit {
                Hit::Item(hit) => Some(hit),
                Hit::Show => None,
            })
            .collect::<Option<Vec<TitleHit>>>()?;
        found.push((kind, total, shown));
    }
    let mut doc = El::new("MediaContainer");
    let mut items = Vec::new();
    for (kind, total, shown) in found {
        let (name, title) = match kind {
            Kind::Item(k) => (render::type_name(k), search::hub_title(k)),
            Kind::Show => ("show", "Shows"),
        };
        let mut hub = El::new("Hub")
            .a("title", title)
            .a("type", name)
            .a("hubIdentifier", name)
            .a("context", format!("hub.{name}"))
            .a("size", shown.len())
            .a("more", total > limit)
            .a("style", "shelf");
        for hit in &shown {
            let view = copy.view(hit)?;
            let section = copy.sections().get(view.section_id())?;
            let mut e = item(copy, &view, section, guids)?.a("score", score_of(hit.rank));
            if kind == Kind::Item(ItemKind::Track) {
                e = e
                    .a("reason", "section")
                    .a("reasonTitle", section.title.as_str())
                    .a("reasonID", search::number(&section.id));
            }
            items.push(ItemRef {
                hub: Some(doc.kids.len()),
                at: hub.kids.len(),
                id: view.id().to_string(),
                section: view.section_id().to_string(),
                kind: view.kind(),
            });
            hub.kids.push(e);
        }
        doc.kids.push(hub);
    }
    let head = Plex.page_head(doc.kids.len(), None);
    doc.attrs.splice(0..0, head);
    Some(Page {
        doc,
        items,
        paged: None,
    })
}

/// A hit's `score`, as the server writes it for how the title matched.
fn score_of(rank: Rank) -> &'static str {
    match rank {
        Rank::Exact => "1.00000",
        Rank::Prefix => "0.80000",
        Rank::Contains => "0.50000",
    }
}

/// Plex's pages: `X-Plex-Container-Start` / `-Size`, as a header or in the query (the header
/// first); a container opening with `size`, then `totalSize` and `offset` when paged; the
/// page's place in `X-Plex-Container-Start` / `-Total-Size`; `X-Plex-Protocol` on every
/// document.
/// Plex's answers: XML or JSON, the page in `X-Plex-Container-Start` / `-Total-Size`, no
/// user named besides the token's; a user's values cut in before the first of `year`,
/// `thumb`, `art`, `duration`, `addedAt`, `parentYear` (`user_state::insertion_point`);
/// albums, artists, seasons and shows count the leaves played (`viewedLeafCount`).
static FACTS: AnswerFacts = AnswerFacts {
    json_type: search::JSON_TYPE,
    other_type: search::XML_TYPE,
    page_header_names: &PAGE_HEADERS,
    document_headers: &[("x-plex-protocol", "1.0")],
    sibling_number: |_| None,
    user_state_cut: super::user_state::insertion_point,
    counts_leaves: super::user_state::counts_leaves,
};

impl CopyAnswers for Plex {
    fn paging(
        &self,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Option<(Option<usize>, Option<usize>)> {
        let get = |name: &str| {
            let v = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .or_else(|| param(params, name));
            number(v)
        };
        Some((
            get("X-Plex-Container-Start")?,
            get("X-Plex-Container-Size")?,
        ))
    }

    /// `/library/metadata/{id}/children` and `…/allLeaves`.
    fn walked_item(&self, path: &str) -> Option<std::ops::Range<usize>> {
        const PREFIX: &str = "/library/metadata/";
        let rest = path.strip_prefix(PREFIX)?;
        let id = rest
            .strip_suffix("/children")
            .or_else(|| rest.strip_suffix("/allLeaves"))?;
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            .then(|| PREFIX.len()..PREFIX.len() + id.len())
    }

    /// Plex reads a page's place from the headers first, then the query (as [`Self::paging`]
    /// does): it is moved where it was read from.
    fn page_moved(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        start: usize,
        size: usize,
    ) -> Option<(Option<String>, HeaderMap)> {
        const NAMES: [&str; 2] = ["X-Plex-Container-Start", "X-Plex-Container-Size"];
        let mut headers = headers.clone();
        let mut pairs: Vec<String> = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        for (name, value) in NAMES.into_iter().zip([start, size]) {
            if headers.contains_key(name) {
                headers.insert(name, http::HeaderValue::from(value));
                continue;
            }
            // The first parameter of that name, as `paging` reads it (names decoded).
            let at = pairs.iter().position(|pair| {
                let raw = pair.split_once('=').map_or(pair.as_str(), |(n, _)| n);
                percent_encoding::percent_decode_str(raw).decode_utf8_lossy() == name
            })?;
            pairs[at] = format!("{name}={value}");
        }
        Some(((!pairs.is_empty()).then(|| pairs.join("&")), headers))
    }

    fn page_head(&self, size: usize, paged: Option<(usize, usize)>) -> Vec<(&'static str, V)> {
        let mut head = vec![("size", V::from(size))];
        if let Some((total, from)) = paged {
            head.push(("totalSize", V::from(total)));
            head.push(("offset", V::from(from)));
        }
        head
    }

    fn page_headers(&self, paged: Option<(usize, usize)>) -> Vec<(&'static str, String)> {
        match paged {
            Some((start, total)) => vec![
                (PAGE_HEADERS[0], start.to_string()),
                (PAGE_HEADERS[1], total.to_string()),
            ],
            None => Vec::new(),
        }
    }

    fn facts(&self) -> &'static AnswerFacts {
        &FACTS
    }

    fn kind_of_type(&self, type_param: &str) -> Option<ItemKind> {
        render::kind_of_type(type_param)
    }

    fn section_kinds(&self, kind: &str) -> &'static [ItemKind] {
        render::section_kinds(kind)
    }

    /// Every section but a music or a film section: shows and seasons (which the title
    /// search does not answer), photos, other videos.
    fn section_holds_others(&self, kind: &str) -> bool {
        !matches!(kind, "artist" | "movie")
    }

    /// `type=`, else the section's own kind.
    fn listing_kind(&self, params: &[(String, String)], section: &UserSection) -> Option<ItemKind> {
        search::listing_kind(params, section)
    }

    /// `type=`.
    fn kind_named<'a>(&self, params: &'a [(String, String)]) -> Option<&'a str> {
        search::kind_named(params)
    }

    /// `type=`, `includeGuids=1` and `sort` by rating key; besides them only what every
    /// client sends and changes nothing ([`search::ignorable`]).
    fn walk_request(&self, params: &[(String, String)]) -> Option<WalkRequest> {
        search::walk_request(params)
    }

    /// `type=` (required), `personal=1`; the cap Plex puts on an unpaged list.
    fn recent_request(&self, params: &[(String, String)]) -> Option<RecentRequest> {
        search::recent_request(params)
    }

    fn search(&self, route: &SearchRoute, copy: &dyn CopyView) -> Option<Found> {
        search_page(route, copy).map(Found::Tree)
    }

    fn natural_order(&self, index: &LibraryIndex, items: Vec<ItemNo>) -> Vec<ItemNo> {
        natural_order(index, items)
    }

    /// `/library/metadata/{id,id,…}`: the items' metadata, with the asking user's values.
    fn items_read_path(&self, ids: &[&str]) -> Option<String> {
        (!ids.is_empty()).then(|| format!("/library/metadata/{}", ids.join(",")))
    }
}

/// The headers a page writes for itself: where it starts, the whole count.
const PAGE_HEADERS: [&str; 2] = ["x-plex-container-start", "x-plex-container-total-size"];

#[cfg(test)]
mod tests {
    use super::*;

    /// A page is moved where the request named it — a header (python-plexapi) or the query
    /// (PlexKodiConnect) — and read back there by `paging`; the rest stays as written.
    #[test]
    fn a_page_is_moved_where_the_request_names_it() {
        let plex = Plex;
        let none = HeaderMap::new();
        let query = "type=10&X-Plex-Container-Start=50&includeGuids=1&X-Plex-Container-Size=50";
        let (moved, headers) = plex.page_moved(Some(query), &none, 150, 50).unwrap();
        assert_eq!(
            moved.as_deref(),
            Some("type=10&X-Plex-Container-Start=150&includeGuids=1&X-Plex-Container-Size=50")
        );
        assert!(headers.is_empty());

        let mut named = HeaderMap::new();
        named.insert("X-Plex-Container-Start", "0".parse().unwrap());
        named.insert("X-Plex-Container-Size", "100".parse().unwrap());
        named.insert("Accept", "application/json".parse().unwrap());
        let (moved, headers) = plex.page_moved(Some("type=10"), &named, 100, 100).unwrap();
        assert_eq!(moved.as_deref(), Some("type=10"));
        let read = plex.paging(&headers, &params(&[("type", "10")])).unwrap();
        assert_eq!(read, (Some(100), Some(100)));
        assert_eq!(headers["accept"], "application/json");

        // A request naming no page, or half of one, is no paged walk.
        assert!(plex.page_moved(Some("type=10"), &none, 50, 50).is_none());
        assert!(plex.page_moved(None, &none, 50, 50).is_none());
        let half = "type=10&X-Plex-Container-Start=0";
        assert!(plex.page_moved(Some(half), &none, 50, 50).is_none());
    }

    /// A walk of one item's children or leaves names the item where its siblings' walks
    /// name theirs; a metadata read, or one of several items, walks none.
    #[test]
    fn a_walk_names_its_item_where_its_siblings_walks_name_theirs() {
        let plex = Plex;
        let path = "/library/metadata/1234/children";
        assert_eq!(plex.walked_item(path).map(|r| &path[r]), Some("1234"));
        let path = "/library/metadata/7/allLeaves";
        assert_eq!(plex.walked_item(path).map(|r| &path[r]), Some("7"));
        assert_eq!(plex.walked_item("/library/metadata/7"), None);
        assert_eq!(plex.walked_item("/library/metadata/1,2/children"), None);
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_page_is_read_from_the_header_first_then_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Plex-Container-Start", "20".parse().unwrap());
        let asked = params(&[
            ("X-Plex-Container-Start", "5"),
            ("X-Plex-Container-Size", " 10 "),
        ]);
        assert_eq!(Plex.paging(&headers, &asked), Some((Some(20), Some(10))));
        let none = params(&[("X-Plex-Container-Size", "")]);
        assert_eq!(Plex.paging(&HeaderMap::new(), &none), Some((None, None)));
        let garbage = params(&[("X-Plex-Container-Size", "ten")]);
        assert_eq!(Plex.paging(&HeaderMap::new(), &garbage), None);
    }

    #[test]
    fn a_paged_answer_says_where_it_starts_and_the_whole_count() {
        let plex = Plex;
        let head: Vec<&str> = plex
            .page_head(3, Some((40, 10)))
            .iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(head, ["size", "totalSize", "offset"]);
        assert_eq!(plex.page_head(3, None).len(), 1);
        assert_eq!(
            plex.page_headers(Some((10, 40))),
            [
                ("x-plex-container-start", "10".to_owned()),
                ("x-plex-container-total-size", "40".to_owned())
            ]
        );
        assert!(plex.page_headers(None).is_empty());
    }

    /// Tracks by artist sort title (not id), then album year, disc and number; albums by
    /// artist then year. The parents' parts are found once per parent and used for all its
    /// children, never another parent's.
    #[test]
    fn natural_order_sorts_by_artist_title_then_album_then_place() {
        use cachearr_library::ItemRecord;
        let artist = |id: &str, title: &str| ItemRecord {
            kind: ItemKind::Artist,
            ..ItemRecord::track(id, "1", title, title)
        };
        let album = |id: &str, artist: &str, year: u16| ItemRecord {
            kind: ItemKind::Album,
            year: Some(year),
            parent_id: Some(artist.to_owned()),
            ..ItemRecord::track(id, "1", "", &format!("Album {id}"))
        };
        let track = |id: &str, album: &str, artist: &str, disc: u32, n: u32| ItemRecord {
            parent_id: Some(album.to_owned()),
            grandparent_id: Some(artist.to_owned()),
            parent_index: Some(disc),
            index: Some(n),
            ..ItemRecord::track(id, "1", "", &format!("Song {id}"))
        };
        // "The Zebras" sort as "Zebras", after "Yaks" though its id is smaller.
        let records = vec![
            artist("1", "The Zebras"),
            artist("2", "Yaks"),
            album("10", "1", 2001),
            album("11", "2", 2005),
            album("12", "2", 1999),
            track("100", "10", "1", 1, 1),
            track("101", "11", "2", 2, 1),
            track("102", "11", "2", 1, 2),
            track("103", "12", "2", 1, 1),
            track("104", "11", "2", 1, 1),
        ];
        let index = LibraryIndex::build(&records).unwrap();
        let everything = Visibility::everything();
        let nos = |ids: &[&str]| -> Vec<ItemNo> {
            ids.iter()
                .map(|id| index.by_id(id, &everything).unwrap().item_no())
                .collect()
        };
        let ids = |nos: Vec<ItemNo>| -> Vec<String> {
            nos.into_iter()
                .map(|no| index.item(no, &everything).unwrap().id().to_owned())
                .collect()
        };
        let tracks = nos(&["100", "101", "102", "103", "104"]);
        assert_eq!(
            ids(natural_order(&index, tracks)),
            ["103", "104", "102", "101", "100"]
        );
        let albums = nos(&["10", "11", "12"]);
        assert_eq!(ids(natural_order(&index, albums)), ["12", "11", "10"]);
    }
}
