//! How a Jellyfin search's route reads ([`SearchRoutes`]): which of the searches the route
//! table recognised it is, the user it names besides its token's, and its query decoded with
//! names lower-cased (Jellyfin ignores their case). Read first, apart from the answer
//! (`answer.rs`).

use super::Jellyfin;
use super::search::params_lowered;
use crate::answers::{SearchRoute, SearchRoutes, param};
use crate::model::route::IndexSearch;

impl SearchRoutes for Jellyfin {
    /// The route of a search the route table recognised, with its query decoded; parameter
    /// names lower-cased (Jellyfin ignores their case): `/Items` and `/Users/{id}/Items` with a
    /// search term (the user named: the path's, or `UserId=`), `/Search/Hints` (`UserId=`).
    fn search_route(
        &self,
        search: IndexSearch,
        raw_path: &str,
        query: Option<&str>,
    ) -> Option<SearchRoute> {
        let params = params_lowered(query?);
        let named_user = match search {
            IndexSearch::SearchHints => param(&params, "userid").map(str::to_string),
            // `/Users/{id}/Items`: the id, as the client wrote it, is the second segment
            // (`/Items` has none).
            IndexSearch::ItemSearch => raw_path
                .split('/')
                .nth(2)
                .filter(|uid| !uid.is_empty())
                .map(str::to_string)
                .or_else(|| param(&params, "userid").map(str::to_string)),
            _ => return None,
        };
        Some(SearchRoute {
            search,
            section: None,
            named_user,
            params,
        })
    }
}
