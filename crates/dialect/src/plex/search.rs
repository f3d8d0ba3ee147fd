//! How a Plex search answered from the index (`library::answer`) reads: which search route
//! it is and its query ([`CopyAnswers::search_route`]), the kind it asks of a section ([`kind_asked`]), the
//! parameters that change nothing ([`ignorable`]) or ask for `Guid`s ([`guids_asked`]), and
//! the fixed parts of its answer (hub titles, section numbers, the content type), and how
//! the copy's answers page ([`CopyAnswers`]: paging read, container head, headers). The
//! answers themselves are written in the library from the index's search and the kept
//! elements.

use cachearr_library::ItemKind;
use http::HeaderMap;

use super::render::{self, V};
use crate::answers::{self, CopyAnswers, SearchRoute};
use crate::model::library::UserSection;
use crate::model::route::IndexSearch;

/// The first value of parameter `name` (exact name: Plex compares them exactly).
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a Plex `type=` (or a section's default) asks for.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// A kind the index holds.
    Item(ItemKind),
    /// Shows, which the index knows only from their episodes.
    Show,
}

/// The kind a Plex request asks of section `s`: its `type=`, or the section's top level.
pub fn kind_asked(params: &[(String, String)], s: &UserSection) -> Option<Kind> {
    let kind = match param(params, "type").filter(|t| !t.is_empty()) {
        Some(t) if t.trim() == "2" => Kind::Show,
        Some(t) => Kind::Item(render::kind_of_type(t)?),
        None if s.kind == "show" => Kind::Show,
        None => Kind::Item(render::top_kind(&s.kind)?),
    };
    let ok = match kind {
        Kind::Show => s.kind == "show",
        Kind::Item(k) => render::section_kinds(&s.kind).contains(&k),
    };
    ok.then_some(kind)
}

/// The route of a search the route table recognised, with its query decoded (names as
/// written: Plex compares them exactly): `/library/sections/{id}/search`, `/hubs/search`
/// (the section it spans: its `sectionId`), `/library/sections/{id}/all` with a `title`
/// filter.
fn route_of(search: IndexSearch, path: &str, query: Option<&str>) -> Option<SearchRoute> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    // `/library/sections/{id}/…`: the server's section ids are numbers.
    let path_section = || {
        path.split('/')
            .nth(3)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    };
    let section = match search {
        IndexSearch::HubSearch => param(&params, "sectionId")
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        IndexSearch::SectionSearch | IndexSearch::SectionListing => Some(path_section()?),
        _ => return None,
    };
    Some(SearchRoute {
        search,
        section,
        named_user: None,
        params,
    })
}

/// Whether the request asks for `Guid` children (`includeGuids=1`, python-plexapi's
/// `searchTracks` and `section.get`): the kept elements hold them, in the server's order.
/// `None` (the server answers) for a value the server may read otherwise. Edits made through
/// cachearr keep the index from answering until the items are read again
/// (`UpstreamIndex::note_write`), so such a search right after an edit is the server's.
pub fn guids_asked(params: &[(String, String)]) -> Option<bool> {
    match param(params, "includeGuids").map(str::trim) {
        None | Some("" | "0") => Some(false),
        Some("1") => Some(true),
        Some(_) => None,
    }
}

/// Parameters every Plex client sends that do not change the answer.
pub fn ignorable(name: &str) -> bool {
    name.starts_with("X-Plex-")
        || (name.starts_with("include") && name != "includeGuids" && name != "includeMeta")
        || name.starts_with("exclude")
}

/// The title of a hub search's hub of `kind`.
pub fn hub_title(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Movie => "Movies",
        ItemKind::Episode => "Episodes",
        ItemKind::Artist => "Artists",
        ItemKind::Album => "Albums",
        ItemKind::Track => "Tracks",
    }
}

/// A section id as the server writes it in an attribute: a number when it is one.
pub fn number(id: &str) -> V {
    id.parse::<i64>()
        .map_or_else(|_| V::S(id.to_string()), V::I)
}

/// The content type of an answer, JSON or XML.
pub fn content_type(json: bool) -> &'static str {
    if json {
        "application/json"
    } else {
        "text/xml;charset=utf-8"
    }
}

/// Plex's pages: `X-Plex-Container-Start` / `-Size`, as a header or in the query (the header
/// first); a container opening with `size`, then `totalSize` and `offset` when paged; the
/// page's place in `X-Plex-Container-Start` / `-Total-Size`; `X-Plex-Protocol` on every
/// document.
impl CopyAnswers for super::Plex {
    fn search_route(
        &self,
        search: IndexSearch,
        path: &str,
        query: Option<&str>,
    ) -> Option<SearchRoute> {
        route_of(search, path, query)
    }

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
            answers::number(v)
        };
        Some((
            get("X-Plex-Container-Start")?,
            get("X-Plex-Container-Size")?,
        ))
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

    fn page_header_names(&self) -> &'static [&'static str] {
        &PAGE_HEADERS
    }

    fn document_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("x-plex-protocol", "1.0")]
    }

    fn kind_of_type(&self, type_param: &str) -> Option<ItemKind> {
        render::kind_of_type(type_param)
    }
}

/// The headers a page writes for itself: where it starts, the whole count.
const PAGE_HEADERS: [&str; 2] = ["x-plex-container-start", "x-plex-container-total-size"];

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            super::super::Plex.paging(&headers, &asked),
            Some((Some(20), Some(10)))
        );
        let none = params(&[("X-Plex-Container-Size", "")]);
        assert_eq!(
            super::super::Plex.paging(&HeaderMap::new(), &none),
            Some((None, None))
        );
        let garbage = params(&[("X-Plex-Container-Size", "ten")]);
        assert_eq!(super::super::Plex.paging(&HeaderMap::new(), &garbage), None);
    }

    #[test]
    fn a_search_route_spans_its_paths_section_or_its_sectionid() {
        let plex = super::super::Plex;
        let route = plex
            .search_route(
                IndexSearch::SectionSearch,
                "/library/sections/3/search",
                Some("type=10&query=a%20b"),
            )
            .unwrap();
        assert_eq!(route.section.as_deref(), Some("3"));
        assert_eq!(param(&route.params, "query"), Some("a b"));
        assert_eq!(route.named_user, None);
        let hub = plex
            .search_route(
                IndexSearch::HubSearch,
                "/hubs/search",
                Some("sectionId=&query=x"),
            )
            .unwrap();
        assert_eq!(hub.section, None);
        let not_a_number = "/library/sections/x/all";
        assert!(
            plex.search_route(IndexSearch::SectionListing, not_a_number, None)
                .is_none()
        );
        assert!(
            plex.search_route(IndexSearch::Children, "/library/metadata/1/children", None)
                .is_none()
        );
    }

    #[test]
    fn a_paged_answer_says_where_it_starts_and_the_whole_count() {
        let plex = super::super::Plex;
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
}
