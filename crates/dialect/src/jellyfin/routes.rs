//! Jellyfin's built-in routes (docs/configuration.md lists them): for each path pattern, per
//! method, whether a request is a cached read (its class and tags), a write (the tags it
//! changes) or passed through. Patterns are lower case: Jellyfin's paths are
//! case-insensitive. Read top to bottom; compiled by the gateway's `policy::RouteTable`.

use crate::model::Class;
use crate::model::route::{
    Action::{Pass as P, Read as R, Write as W},
    DefaultRoutes, IndexSearch, ListingQuery, META_TAGS,
    Methods::{Any, Get, NotGet, Only},
    ONDECK_TAGS, PLAYLIST_TAGS, PLAYLIST_WRITE, RECENT_TAGS, Refine, SEARCH_TAGS, Spec,
    TagRule::*,
};

const N: Refine = Refine::None;

/// `/Items`: `searchTerm` makes it a search, `IncludeItemTypes=Playlist` a list of playlists,
/// `ParentId` one library's, folder's or series' items.
const ITEMS: Refine = Refine::Listing(&ListingQuery {
    search: "searchTerm",
    playlists: ("IncludeItemTypes", "playlist"),
    parent: "ParentId",
});

/// Jellyfin's routes.
pub(crate) static ROUTES: DefaultRoutes = DefaultRoutes {
    specs: ROUTE_SPECS,
    searches: INDEX,
    lowercase_paths: true,
    play_state: PLAY_STATE,
    random_sorts: RANDOM_SORTS,
};

/// Jellyfin's shuffled order: `SortBy=Random` (its clients' shuffle and "random items"
/// rows), a new order at every request.
const RANDOM_SORTS: &[(&str, &str)] = &[("SortBy", "Random")];

/// The Jellyfin reads the library index may answer, by pattern (each also in [`ROUTE_SPECS`]).
const INDEX: &[(&str, IndexSearch)] = &[
    ("/items", IndexSearch::ItemSearch),
    ("/users/{uid}/items", IndexSearch::ItemSearch),
    ("/search/hints", IndexSearch::SearchHints),
    ("/shows/{id}/episodes", IndexSearch::ShowEpisodes),
    ("/shows/{id}/seasons", IndexSearch::ShowSeasons),
];

/// Jellyfin parameters and values about play state (`Filters=IsPlayed`, `IsFavorite=true`,
/// `SortBy=DatePlayed`…).
pub(crate) const PLAY_STATE: &[&str] = &[
    "isplayed",
    "isunplayed",
    "isresumable",
    "isfavorite",
    "favorite",
    "likes",
    "dislikes",
    "dateplayed",
    "playcount",
    "playedpercentage",
    "lastplayed",
];

const ROUTE_SPECS: &[Spec] = &[
    ("/system/info/public", &[(Get, R(Class::Identity, &[], N))]),
    // The libraries as folders and views: their image tags follow each library's last change,
    // an edit of an item included.
    (
        "/library/mediafolders",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionTimes, Library], N),
        )],
    ),
    (
        "/library/virtualfolders",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionTimes, Library], N),
        )],
    ),
    (
        "/userviews",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionTimes, Library], N),
        )],
    ),
    (
        "/users/{uid}/views",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionTimes, Library], N),
        )],
    ),
    ("/items", &[(Get, R(Class::Listing, SEARCH_TAGS, ITEMS))]),
    (
        "/users/{uid}/items",
        &[(Get, R(Class::Listing, SEARCH_TAGS, ITEMS))],
    ),
    (
        "/items/{id}",
        &[
            (Get, R(Class::Metadata, META_TAGS, N)),
            (Only(&["DELETE"]), W(&[ItemParam, Library], N)),
            (NotGet, W(&[ItemParam], N)),
        ],
    ),
    (
        "/users/{uid}/items/{id}",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    (
        "/items/{id}/similar",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    ("/items/latest", &[(Get, R(Class::Recent, RECENT_TAGS, N))]),
    (
        "/users/{uid}/items/latest",
        &[(Get, R(Class::Recent, RECENT_TAGS, N))],
    ),
    (
        "/useritems/resume",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    (
        "/users/{uid}/items/resume",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    ("/shows/nextup", &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))]),
    (
        "/shows/{id}/seasons",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    (
        "/shows/{id}/episodes",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    ("/artists", &[(Get, R(Class::Listing, SEARCH_TAGS, N))]),
    (
        "/artists/albumartists",
        &[(Get, R(Class::Listing, SEARCH_TAGS, N))],
    ),
    ("/genres", &[(Get, R(Class::Listing, SEARCH_TAGS, N))]),
    ("/musicgenres", &[(Get, R(Class::Listing, SEARCH_TAGS, N))]),
    ("/studios", &[(Get, R(Class::Listing, SEARCH_TAGS, N))]),
    ("/search/hints", &[(Get, R(Class::Search, SEARCH_TAGS, N))]),
    ("/sessions", &[(Get, R(Class::Sessions, &[Sessions], N))]),
    ("/sessions/playing", &[(Any, W(&[Sessions], N))]),
    ("/sessions/playing/progress", &[(Any, W(&[Sessions], N))]),
    (
        "/sessions/playing/stopped",
        &[(Any, W(&[Sessions, OnDeck, UserState], N))],
    ),
    (
        "/items/{id}/images/{kind}",
        &[
            (Get, R(Class::Images, &[], Refine::NeedsQuery("tag"))),
            (NotGet, W(&[ItemParam], N)),
        ],
    ),
    (
        "/items/{id}/images/{kind}/{index}",
        &[
            (Get, R(Class::Images, &[], Refine::NeedsQuery("tag"))),
            (NotGet, W(&[ItemParam], N)),
        ],
    ),
    ("/playlists", &[(NotGet, W(PLAYLIST_WRITE, N))]),
    (
        "/playlists/{id}",
        &[
            (Get, R(Class::Playlists, PLAYLIST_TAGS, N)),
            (NotGet, W(PLAYLIST_WRITE, N)),
        ],
    ),
    (
        "/playlists/{id}/items",
        &[
            (Get, R(Class::Playlists, PLAYLIST_TAGS, N)),
            (NotGet, W(PLAYLIST_WRITE, N)),
        ],
    ),
    (
        "/playlists/{id}/items/{*rest}",
        &[(NotGet, W(PLAYLIST_WRITE, N)), (Get, P)],
    ),
    (
        "/userplayeditems/{id}",
        &[(
            NotGet,
            W(&[ItemParam, OnDeck, Recent, History, UserState], N),
        )],
    ),
    (
        "/users/{uid}/playeditems/{id}",
        &[(
            NotGet,
            W(&[ItemParam, OnDeck, Recent, History, UserState], N),
        )],
    ),
    (
        "/userfavoriteitems/{id}",
        &[(NotGet, W(&[ItemParam, UserState], N))],
    ),
    (
        "/users/{uid}/favoriteitems/{id}",
        &[(NotGet, W(&[ItemParam, UserState], N))],
    ),
    ("/library/refresh", &[(Any, W(&[], N))]),
];

#[cfg(test)]
mod tests {
    use super::ROUTES;

    #[test]
    fn a_random_sort_is_told_in_any_case_or_place_among_the_keys() {
        for query in [
            "SortBy=Random",
            "sortBy=random&Limit=20",
            "IncludeItemTypes=Movie&SortBy=SortName,Random",
            "SortBy=Random%2CSortName&SortOrder=Descending",
            "sortby=RANDOM",
        ] {
            assert!(ROUTES.sorts_at_random(Some(query)), "{query}");
        }
        for query in [
            "SortBy=SortName",
            "SortBy=DateCreated,SortName&SortOrder=Descending",
            "SearchTerm=Random",
            "Random=true",
            "",
        ] {
            assert!(!ROUTES.sorts_at_random(Some(query)), "{query}");
        }
        assert!(!ROUTES.sorts_at_random(None));
    }
}
