//! How a Plex search's route reads ([`SearchRoutes`]): which of the searches the route table
//! recognised it is, the section it spans (its path's, or its `sectionId`), and its query
//! decoded with names as written (Plex compares them exactly). Read first, apart from the
//! answer (`answer.rs`): the section narrows the proof that the user sees it whole, which
//! comes before the answer is looked for.

use super::Plex;
use crate::answers::{SearchRoute, SearchRoutes, param};
use crate::model::route::IndexSearch;

impl SearchRoutes for Plex {
    /// The route of a search the route table recognised, with its query decoded (names as
    /// written: Plex compares them exactly): `/library/sections/{id}/search`, `/hubs/search`
    /// (the section it spans: its `sectionId`), `/library/sections/{id}/all` with a `title`
    /// filter.
    fn search_route(
        &self,
        search: IndexSearch,
        path: &str,
        query: Option<&str>,
    ) -> Option<SearchRoute> {
        let params = crate::answers::params_as_written(query);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_route_spans_its_paths_section_or_its_sectionid() {
        let plex = Plex;
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
}
