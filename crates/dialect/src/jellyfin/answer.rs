//! Jellyfin's searches answered from the library copy (`upstream_index::answer` in
//! `cachearr-copy`): `/Items` (and `/Users/{id}/Items`) with `SearchTerm`, found in the copy and
//! written later from the kept documents with the asking user's `UserData` ([`Documents`]), and
//! `/Search/Hints`, written whole from the kept documents ([`render::search_hint`]); and how
//! the copy's answers page (Jellyfin's [`CopyAnswers`]), and how a series walk
//! (`/Shows/{id}/Episodes|Seasons`, answered by the copy) reads its query. The copy is
//! read through [`CopyView`].

use cachearr_library::ItemKind;
use cachearr_serverfmt::search::fold;
use http::HeaderMap;

use super::Jellyfin;
use super::doc::{Doc, DtoOptions};
use super::render;
use super::search::{self, SearchKey, same_id, search_key};
use crate::answers::{
    AnswerFacts, CopyAnswers, CopyView, Documents, Found, KindsListing, SearchRoute, SeriesAsked,
    SeriesWalk, number, param,
};
use crate::model::library::TitleHit;
use crate::model::route::IndexSearch;

/// The answer of a search the route table recognised (`None`: the server answers).
fn search_found(route: &SearchRoute, copy: &dyn CopyView) -> Option<Found> {
    match route.search {
        IndexSearch::ItemSearch => items(copy, &route.params),
        IndexSearch::SearchHints => hints(copy, &route.params),
        _ => None,
    }
}

/// `/Items?SearchTerm=&Recursive=true` (and `/Users/{id}/Items`): a recursive search
/// over the user's libraries, by sort name, paged by `StartIndex` / `Limit`.
fn items(copy: &dyn CopyView, params: &[(String, String)]) -> Option<Found> {
    let options = DtoOptions::parse(params)?;
    // Fields the server may write otherwise for this user: a search is not proven on the
    // user's own answers, so the server answers it.
    if options.per_user() {
        return None;
    }
    for (k, v) in params {
        let ok = search::ignorable(k)
            || matches!(
                k.as_str(),
                "searchterm"
                    | "includeitemtypes"
                    | "excludeitemtypes"
                    | "recursive"
                    | "startindex"
                    | "limit"
            )
            || (k == "sortby" && v.eq_ignore_ascii_case("sortname"))
            || (k == "sortorder" && v.eq_ignore_ascii_case("ascending"));
        if !ok {
            return None;
        }
    }
    if search::camel_asked(copy.headers()) {
        return None;
    }
    let term = param(params, "searchterm")?;
    if term.trim().is_empty() {
        return None;
    }
    if !param(params, "recursive").is_some_and(|r| r.eq_ignore_ascii_case("true")) {
        return None;
    }
    let start = number(param(params, "startindex"))?.unwrap_or(0);
    let limit = number(param(params, "limit"))?;
    let counted =
        !param(params, "enabletotalrecordcount").is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let (kinds, others) = search::kinds_asked(params)?;
    let libraries = copy.search_sections(&kinds, others)?;
    // The server also matches (and ranks by) a film's original-language title, which the
    // index does not hold: a search that spans films would miss some. The server answers.
    let films = kinds.contains(&ItemKind::Movie)
        && copy
            .sections()
            .sections
            .iter()
            .any(|s| s.kind == "movies" && libraries.contains(&s.id.as_str()));
    if films {
        return None;
    }
    let hits = copy.find(term, &kinds, &libraries, true);
    // Relevance on the name and the original title.
    let keyed = in_search_order(copy, hits, term, true);
    let total = keyed.len();
    let items: Vec<(String, String)> = keyed
        .iter()
        .skip(start)
        .take(limit.unwrap_or(usize::MAX))
        .filter_map(|(_, h)| copy.view(h))
        .map(|v| (v.id().to_owned(), v.section_id().to_owned()))
        .collect();
    // Uncounted, the server writes the page's own item count.
    let total = if counted { total } else { items.len() };
    Some(Found::Documents(Documents {
        items,
        total,
        start,
    }))
}

/// `/Search/Hints?SearchTerm=`: by the server's search relevance, sort name and name; at
/// most `Limit` items counted, `StartIndex` skipping into them (as the server pages).
fn hints(copy: &dyn CopyView, params: &[(String, String)]) -> Option<Found> {
    for (k, _) in params {
        let ok = search::ignorable(k)
            || matches!(
                k.as_str(),
                "searchterm"
                    | "includeitemtypes"
                    | "excludeitemtypes"
                    | "includemedia"
                    | "includeartists"
                    | "includepeople"
                    | "includegenres"
                    | "includestudios"
                    | "startindex"
                    | "limit"
            );
        if !ok {
            return None;
        }
    }
    if search::camel_asked(copy.headers()) {
        return None;
    }
    let term = param(params, "searchterm")?;
    let flag = |name: &str| -> Option<bool> {
        match param(params, name) {
            None => Some(true),
            Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => None,
        }
    };
    let (include_media, include_artists) = (flag("includemedia")?, flag("includeartists")?);
    let start = number(param(params, "startindex"))?.unwrap_or(0);
    let limit = number(param(params, "limit"))?;
    let (mut kinds, mut others) = search::kinds_asked(params)?;
    kinds.retain(|k| {
        if *k == ItemKind::Artist {
            include_artists
        } else {
            include_media
        }
    });
    others &= include_media;
    let libraries = copy.search_sections(&kinds, others)?;
    let hits = copy.find(term, &kinds, &libraries, false);
    // Relevance on the name only.
    let mut keyed = in_search_order(copy, hits, term, false);
    // The server hands `Limit` to its item query and pages the result afterwards: at most
    // `Limit` items are counted, and `StartIndex` skips into those.
    keyed.truncate(limit.unwrap_or(usize::MAX));
    let total = keyed.len();
    // Each hint is made from its item's kept document: an item without one sends the
    // search to the server.
    let mut text = String::from("{\"SearchHints\":[");
    for (n, (_, h)) in keyed
        .iter()
        .skip(start)
        .take(limit.unwrap_or(usize::MAX))
        .enumerate()
    {
        let kept = copy.document(copy.view(h)?.id())?;
        let doc: Doc = serde_json::from_slice(&kept).ok()?;
        if n > 0 {
            text.push(',');
        }
        text.push_str(&render::search_hint(&doc)?.to_text());
    }
    text.push_str(&format!("],\"TotalRecordCount\":{total}}}"));
    Some(Found::Text(text))
}

/// `hits` in the server's order for a search ([`search_key`]): its relevance to `term` (on
/// the name, and the original title when `original`), sort name, name, id; a hit the index
/// no longer holds is left out.
fn in_search_order<'c>(
    copy: &'c dyn CopyView,
    hits: Vec<TitleHit>,
    term: &str,
    original: bool,
) -> Vec<(SearchKey<'c>, TitleHit)> {
    let folded_term = fold(term);
    let mut keyed: Vec<(SearchKey<'c>, TitleHit)> = hits
        .into_iter()
        .filter_map(|h| {
            let v = copy.view(&h)?;
            let original = if original {
                copy.original_title(&v)
            } else {
                None
            };
            Some((search_key(v.title(), original, v.id(), &folded_term), h))
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed
}

/// `/Shows/{id}/Episodes` (with `SeasonId`, paged by `StartIndex` / `Limit`) or (`seasons`)
/// `/Shows/{id}/Seasons`, as the server reads its query; `None` for a parameter the copy does
/// not answer alike, or camel-cased answers asked for.
fn series_walk(
    seasons: bool,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Option<SeriesWalk> {
    let understood = params.iter().all(|(k, _)| {
        search::ignorable(k)
            || matches!(k.as_str(), "startindex" | "limit")
            || (!seasons && k == "seasonid")
    });
    if !understood || search::camel_asked(headers) {
        return None;
    }
    Some(SeriesWalk {
        named_user: param(params, "userid").map(str::to_owned),
        asked: series_asked(params),
    })
}

/// What a series' walk asks: its season, page and the episode options its frame is proven
/// for ([`search::EPISODE_OPTIONS`]).
fn series_asked(params: &[(String, String)]) -> Option<SeriesAsked> {
    let options = DtoOptions::parse(params)?;
    let mut asked: Vec<String> = params
        .iter()
        .filter(|(k, _)| search::EPISODE_OPTIONS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    asked.sort();
    Some(SeriesAsked {
        season: param(params, "seasonid").map(str::to_owned),
        start: number(param(params, "startindex"))?,
        limit: number(param(params, "limit"))?,
        options: asked.join("&"),
        per_user: options.per_user(),
    })
}

/// A kept document's `IndexNumber`, read alone (not the whole document).
#[derive(serde::Deserialize)]
struct IndexNumber {
    #[serde(rename = "IndexNumber")]
    number: Option<i64>,
}

/// Jellyfin's pages: `StartIndex` / `Limit` in the query (names lower-cased); its answers
/// say their place in the body (`StartIndex`, `TotalRecordCount`), not in a header.
/// Jellyfin's answers: JSON only, no page headers (the page is in the body), a user's own
/// id from `/Users/Me`, a season numbered by its `IndexNumber`; no element tree to cut.
static FACTS: AnswerFacts = AnswerFacts {
    json_type: "application/json; charset=utf-8",
    other_type: "application/json; charset=utf-8",
    page_header_names: &[],
    document_headers: &[],
    sibling_number: |document| serde_json::from_slice::<IndexNumber>(document).ok()?.number,
    user_state_cut: |el| el.attrs.len(),
    counts_leaves: |_| false,
};

impl CopyAnswers for Jellyfin {
    /// Names lower-cased: Jellyfin ignores their case.
    fn query_params(&self, query: Option<&str>) -> Vec<(String, String)> {
        search::params_lowered(query.unwrap_or(""))
    }

    /// `/Shows/{id}/Episodes` and `/Shows/{id}/Seasons` (any case, as the server routes).
    fn walked_item(&self, path: &str) -> Option<std::ops::Range<usize>> {
        let mut parts = path.splitn(4, '/');
        let (empty, shows, id, walk) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let walks = walk.eq_ignore_ascii_case("episodes") || walk.eq_ignore_ascii_case("seasons");
        (empty.is_empty() && shows.eq_ignore_ascii_case("shows") && !id.is_empty() && walks).then(
            || {
                let start = "/shows/".len();
                start..start + id.len()
            },
        )
    }

    /// Jellyfin names a page in the query only (`StartIndex`, `Limit`, any case).
    fn page_moved(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        start: usize,
        size: usize,
    ) -> Option<(Option<String>, HeaderMap)> {
        let query = super::paging::with_page(query?, start, size)?;
        Some((Some(query), headers.clone()))
    }

    fn paging(
        &self,
        _headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Option<(Option<usize>, Option<usize>)> {
        Some((
            number(param(params, "startindex"))?,
            number(param(params, "limit"))?,
        ))
    }

    fn search(&self, route: &SearchRoute, copy: &dyn CopyView) -> Option<Found> {
        search_found(route, copy)
    }

    fn kind_of_type(&self, type_param: &str) -> Option<ItemKind> {
        render::kind_of_type(type_param)
    }

    fn section_kinds(&self, kind: &str) -> &'static [ItemKind] {
        render::library_kinds(kind).0
    }

    fn section_holds_others(&self, kind: &str) -> bool {
        render::library_kinds(kind).1
    }

    fn facts(&self) -> &'static AnswerFacts {
        &FACTS
    }

    /// `/Users/Me`'s `Id`.
    fn own_user_id(&self, body: &[u8]) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(v.get("Id")?.as_str()?.to_owned())
    }

    fn same_user(&self, a: &str, b: &str) -> bool {
        same_id(a, b)
    }

    fn series_walk(
        &self,
        seasons: bool,
        params: &[(String, String)],
        headers: &HeaderMap,
    ) -> Option<SeriesWalk> {
        series_walk(seasons, params, headers)
    }

    fn kinds_listing(
        &self,
        api_path: &str,
        params: &[(String, String)],
        headers: &HeaderMap,
    ) -> Option<KindsListing> {
        kinds_listing(api_path, params, headers)
    }

    /// `ParentId` and `IncludeItemTypes`.
    fn kinds_named(&self, params: &[(String, String)]) -> Option<(Option<String>, Vec<String>)> {
        kinds_named(params)
    }

    /// `QueryResult`'s properties in its order, around no item: `TotalRecordCount` is 0
    /// whether counted or not (uncounted, it is the page's own count).
    fn empty_page(&self, start: usize) -> Option<String> {
        Some(format!(
            "{{\"Items\":[],\"TotalRecordCount\":0,\"StartIndex\":{start}}}"
        ))
    }

    fn lists_no_item(&self, body: &[u8]) -> bool {
        #[derive(serde::Deserialize)]
        struct Listing {
            #[serde(rename = "Items", default)]
            items: Vec<serde::de::IgnoredAny>,
        }
        serde_json::from_slice::<Listing>(body).is_ok_and(|listing| listing.items.is_empty())
    }
}

/// `/Items` or `/Users/{id}/Items` (`api_path`) listing the kinds `IncludeItemTypes` names,
/// recursively, in one library (`ParentId`) or every one, as a library walk reads them; each
/// other parameter one that only narrows the items listed or says how each is written, so
/// that a library holding none of those kinds lists none whatever they say. `None`: another
/// parameter (ids, a search, a person or a folder other than a library…), a number not
/// understood, or camel-cased answers asked for.
fn kinds_listing(
    api_path: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Option<KindsListing> {
    let mut parts = api_path.split('/').skip(1);
    let named_user = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(items), None, None, None) if items.eq_ignore_ascii_case("items") => None,
        (Some(users), Some(uid), Some(items), None)
            if users.eq_ignore_ascii_case("users")
                && !uid.is_empty()
                && items.eq_ignore_ascii_case("items") =>
        {
            Some(uid.to_owned())
        }
        _ => return None,
    };
    let narrowing = params.iter().all(|(k, _)| {
        search::ignorable(k)
            || matches!(
                k.as_str(),
                "includeitemtypes"
                    | "parentid"
                    | "recursive"
                    | "startindex"
                    | "limit"
                    | "locationtypes"
                    | "excludelocationtypes"
                    | "sortby"
                    | "sortorder"
            )
    });
    if !narrowing || search::camel_asked(headers) {
        return None;
    }
    if !param(params, "recursive").is_some_and(|r| r.eq_ignore_ascii_case("true")) {
        return None;
    }
    let (library, kinds) = kinds_named(params)?;
    number(param(params, "limit"))?;
    Some(KindsListing {
        library,
        kinds,
        start: number(param(params, "startindex"))?.unwrap_or(0),
        named_user: named_user.or_else(|| param(params, "userid").map(str::to_owned)),
    })
}

/// The library (`ParentId`) and the item types (`IncludeItemTypes`, lower-cased) a listing
/// names; `None` without types, or with an empty one.
fn kinds_named(params: &[(String, String)]) -> Option<(Option<String>, Vec<String>)> {
    let kinds: Vec<String> = param(params, "includeitemtypes")?
        .split(',')
        .map(|kind| kind.trim().to_ascii_lowercase())
        .collect();
    if kinds.iter().any(String::is_empty) {
        return None;
    }
    Some((param(params, "parentid").map(str::to_owned), kinds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series walk names its series where its siblings' walks name theirs; a page is moved
    /// in the query, whatever case its names are written in.
    #[test]
    fn a_series_walk_and_its_page_are_found_where_jellyfin_reads_them() {
        let jf = Jellyfin;
        let path = "/Shows/a1b2/Episodes";
        assert_eq!(jf.walked_item(path).map(|r| &path[r]), Some("a1b2"));
        assert_eq!(jf.walked_item("/shows/a1b2/seasons"), Some(7..11));
        assert_eq!(jf.walked_item("/Shows/a1b2"), None);
        assert_eq!(jf.walked_item("/Items/a1b2/Episodes"), None);
        let none = HeaderMap::new();
        let (query, _) = jf
            .page_moved(Some("SeasonId=s&startIndex=15&limit=15"), &none, 45, 15)
            .unwrap();
        assert_eq!(query.as_deref(), Some("SeasonId=s&startIndex=45&limit=15"));
        assert!(jf.page_moved(Some("SeasonId=s"), &none, 45, 15).is_none());
    }

    /// A library walk's listing of one kind is read for the copy's empty answer; anything
    /// that could list an item of another kind, or write the page otherwise, is not.
    #[test]
    fn a_library_walks_listing_of_kinds_is_read_and_nothing_wider() {
        let jf = Jellyfin;
        let none = HeaderMap::new();
        let walk = "EnableTotalRecordCount=False&LocationTypes=FileSystem%2CRemote%2COffline\
                    &Recursive=True&Limit=5000&Fields=Path%2CGenres&IncludeItemTypes=BoxSet\
                    &ParentId=10000000002&StartIndex=5000";
        let read = |path: &str, query: &str, headers: &HeaderMap| {
            jf.kinds_listing(path, &jf.query_params(Some(query)), headers)
        };
        assert_eq!(
            read("/Users/abc/Items", walk, &none),
            Some(KindsListing {
                library: Some("10000000002".to_owned()),
                kinds: vec!["boxset".to_owned()],
                start: 5000,
                named_user: Some("abc".to_owned()),
            })
        );
        let across = read(
            "/items",
            "recursive=true&includeItemTypes=Person,Folder",
            &none,
        );
        assert_eq!(
            across.map(|l| (l.library, l.kinds, l.start, l.named_user)),
            Some((
                None,
                vec!["person".to_owned(), "folder".to_owned()],
                0,
                None
            ))
        );
        for (path, query) in [
            ("/Users/abc/Items", "IncludeItemTypes=BoxSet&ParentId=1"),
            ("/Users/abc/Items", "Recursive=true&ParentId=1"),
            (
                "/Users/abc/Items",
                "Recursive=true&IncludeItemTypes=BoxSet&Ids=7",
            ),
            (
                "/Users/abc/Items",
                "Recursive=true&IncludeItemTypes=BoxSet&PersonIds=7",
            ),
            (
                "/Users/abc/Items",
                "Recursive=true&IncludeItemTypes=BoxSet&Limit=x",
            ),
            (
                "/Users/abc/Items/7",
                "Recursive=true&IncludeItemTypes=BoxSet",
            ),
            ("/Items/Latest", "Recursive=true&IncludeItemTypes=BoxSet"),
        ] {
            assert_eq!(read(path, query, &none), None, "{path}?{query}");
        }
        let mut camel = HeaderMap::new();
        camel.insert(
            http::header::ACCEPT,
            "application/json; profile=\"CamelCase\"".parse().unwrap(),
        );
        assert_eq!(
            read("/Items", "Recursive=true&IncludeItemTypes=Tag", &camel),
            None
        );
        assert_eq!(
            jf.empty_page(5000).as_deref(),
            Some(r#"{"Items":[],"TotalRecordCount":0,"StartIndex":5000}"#)
        );
    }
}
