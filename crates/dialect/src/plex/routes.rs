//! Plex's built-in routes (docs/configuration.md lists them): for each path pattern, per
//! method, whether a request is a cached read (its class and tags), a write (the tags it
//! changes) or passed through. Read top to bottom; compiled by the gateway's `policy::RouteTable`.

use crate::model::Class;
use crate::model::route::{
    Action::{Pass as P, Read as R, Write as W},
    DefaultRoutes, IndexSearch, LIST_TAGS, META_TAGS,
    Methods::{Any, Get, NotGet, Only},
    ONDECK_TAGS, PLAYLIST_TAGS, PLAYLIST_WRITE, RECENT_TAGS, Refine, SEARCH_TAGS, Spec,
    TagRule::*,
};

const N: Refine = Refine::None;

/// Plex's routes.
pub(crate) static ROUTES: DefaultRoutes = DefaultRoutes {
    specs: ROUTE_SPECS,
    searches: INDEX,
    lowercase_paths: false,
    play_state: PLAY_STATE,
    random_sorts: RANDOM_SORTS,
};

/// Plex's shuffled order: `sort=random` (Plex Web's "Randomly"; python-plexapi's
/// `search(sort="random")`), a new order at every request.
const RANDOM_SORTS: &[(&str, &str)] = &[("sort", "random")];

/// The Plex reads the library index may answer, by pattern (each also in [`ROUTE_SPECS`]).
const INDEX: &[(&str, IndexSearch)] = &[
    ("/library/sections/{id}/search", IndexSearch::SectionSearch),
    ("/hubs/search", IndexSearch::HubSearch),
    ("/library/sections/{id}/all", IndexSearch::SectionListing),
    ("/library/metadata/{id}/children", IndexSearch::Children),
    ("/library/metadata/{id}/allLeaves", IndexSearch::AllLeaves),
    ("/hubs/home/recentlyAdded", IndexSearch::RecentlyAdded),
];

/// Plex fields holding play state (filters `unwatched=1`, `viewCount>>=1`, sorts
/// `sort=lastViewedAt:desc`…).
pub(crate) const PLAY_STATE: &[&str] = &[
    "unwatched",
    "viewcount",
    "lastviewedat",
    "viewoffset",
    "userrating",
    "inprogress",
    "ondeck",
    "unwatchedleaves",
    "viewedleafcount",
    "skipcount",
];

const ROUTE_SPECS: &[Spec] = &[
    // What every client reads as it connects (python-plexapi: `/`, then `/library`): the
    // server's capabilities with the library's `updatedAt` (the newest section's, which any
    // change of an item moves) and its live transcode count, and the library's directory (three
    // fixed entries: no edit changes it). Each user's.
    (
        "/",
        &[(
            Get,
            R(
                Class::Sections,
                &[Sections, SectionTimes, Library, Sessions],
                N,
            ),
        )],
    ),
    (
        "/library",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    ("/identity", &[(Get, R(Class::Identity, &[], N))]),
    // The sections list shows each section's `updatedAt` and `contentChangedAt`; a section's
    // directory (its title and views) shows neither, so an edit of an item leaves it.
    (
        "/library/sections",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionTimes, Library], N),
        )],
    ),
    (
        "/library/sections/{id}",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/library/sections/{id}/all",
        &[
            (
                Get,
                R(
                    Class::Listing,
                    &[SectionMembers, Listings, Library, UserState],
                    N,
                ),
            ),
            (NotGet, W(&[SectionParam, ItemsQuery("id"), Recent], N)),
        ],
    ),
    (
        "/library/sections/{id}/{view}",
        &[(Get, R(Class::Listing, LIST_TAGS, N))],
    ),
    (
        "/library/sections/{id}/search",
        &[(
            Get,
            R(
                Class::Search,
                &[SectionParam, Listings, Library, UserState],
                N,
            ),
        )],
    ),
    (
        "/library/sections/{id}/recentlyAdded",
        &[(
            Get,
            R(
                Class::Recent,
                &[SectionParam, Recent, Listings, Library, UserState],
                N,
            ),
        )],
    ),
    (
        "/library/sections/{id}/onDeck",
        &[(
            Get,
            R(
                Class::OnDeck,
                &[SectionParam, OnDeck, Library, UserState],
                N,
            ),
        )],
    ),
    // A scan is asynchronous: the change events invalidate when it is done.
    ("/library/sections/{id}/refresh", &[(Any, W(&[], N))]),
    // The server's settings: the owner's write changes what `/` says of the server
    // (`allowMediaDeletion`, python-plexapi's `_allowMediaDeletion`) and `/library`. Read, they
    // pass through (the owner's alone, and rarely read).
    ("/:/prefs", &[(NotGet, W(&[Sections, Library], N))]),
    // Section settings: changed by the owner's write (which bumps `sections`), never by what
    // happens to the section's items.
    (
        "/library/sections/{id}/prefs",
        &[
            (Get, R(Class::Sections, &[Sections, Library], N)),
            (NotGet, W(&[SectionParam, Sections], N)),
        ],
    ),
    // Collections are listed with their section's items (`/library/sections/{id}/collections`,
    // `…/all?type=18`); a collection write names no section, so it touches every listing.
    // The collections themselves are not cached.
    ("/library/collections", &[(NotGet, W(&[Listings], N))]),
    (
        "/library/collections/{*rest}",
        &[(NotGet, W(&[Listings], N)), (Get, P)],
    ),
    (
        "/library/metadata/{id}",
        &[
            (Get, R(Class::Metadata, META_TAGS, N)),
            (Only(&["DELETE"]), W(&[ItemParam, Library], N)),
            (NotGet, W(&[ItemParam], N)),
        ],
    ),
    (
        "/library/metadata/{id}/children",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    (
        "/library/metadata/{id}/allLeaves",
        &[(Get, R(Class::Metadata, META_TAGS, N))],
    ),
    (
        "/library/metadata/{id}/{view}",
        &[
            (Get, R(Class::Metadata, META_TAGS, N)),
            (NotGet, W(&[ItemParam], N)),
        ],
    ),
    // Thumbs and art are versioned by their timestamp: immutable.
    (
        "/library/metadata/{id}/{view}/{ts}",
        &[(Get, R(Class::Images, &[], N))],
    ),
    // Every item of one type across the sections (Plexist's track index reads it page by
    // page): a listing like a section's, dropped by any library change.
    ("/library/all", &[(Get, R(Class::Listing, SEARCH_TAGS, N))]),
    (
        "/library/recentlyAdded",
        &[(Get, R(Class::Recent, RECENT_TAGS, N))],
    ),
    (
        "/library/onDeck",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    (
        "/library/search",
        &[(Get, R(Class::Search, SEARCH_TAGS, N))],
    ),
    ("/hubs/search", &[(Get, R(Class::Search, SEARCH_TAGS, N))]),
    (
        "/hubs/search/voice",
        &[(Get, R(Class::Search, SEARCH_TAGS, N))],
    ),
    (
        "/hubs/home/recentlyAdded",
        &[(Get, R(Class::Recent, RECENT_TAGS, N))],
    ),
    (
        "/hubs/home/continueWatching",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    (
        "/hubs/home/onDeck",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    (
        "/hubs/continueWatching",
        &[(Get, R(Class::OnDeck, ONDECK_TAGS, N))],
    ),
    (
        "/status/sessions",
        &[(Get, R(Class::Sessions, &[Sessions], N))],
    ),
    (
        "/status/sessions/history/all",
        &[
            (Get, R(Class::History, &[History, UserState], N)),
            (NotGet, W(&[History], N)),
        ],
    ),
    ("/activities", &[(Get, R(Class::Activities, &[], N))]),
    (
        "/playlists",
        &[
            (Get, R(Class::Playlists, PLAYLIST_TAGS, N)),
            (NotGet, W(PLAYLIST_WRITE, N)),
        ],
    ),
    ("/playlists/upload", &[(Any, W(PLAYLIST_WRITE, N))]),
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
    ("/photo/:/transcode", &[(Get, R(Class::Images, &[], N))]),
    // Plex sends these as GET: recognised by path.
    (
        "/:/scrobble",
        &[(
            Any,
            W(
                &[
                    ItemsQuery("key"),
                    OnDeck,
                    History,
                    Sessions,
                    Recent,
                    UserState,
                ],
                N,
            ),
        )],
    ),
    (
        "/:/unscrobble",
        &[(
            Any,
            W(
                &[
                    ItemsQuery("key"),
                    OnDeck,
                    History,
                    Sessions,
                    Recent,
                    UserState,
                ],
                N,
            ),
        )],
    ),
    ("/:/rate", &[(Any, W(&[ItemsQuery("key"), UserState], N))]),
    (
        "/:/timeline",
        &[(
            Any,
            W(
                &[ItemsQuery("ratingKey"), OnDeck, Sessions, UserState],
                Refine::Heartbeat {
                    item: &["ratingKey", "key"],
                    state: "state",
                },
            ),
        )],
    ),
    // A stored resume position: always a change.
    (
        "/:/progress",
        &[(Any, W(&[ItemsQuery("key"), OnDeck, Sessions, UserState], N))],
    ),
    ("/library/parts/{*rest}", &[(Any, P)]),
];

#[cfg(test)]
mod tests {
    use super::ROUTES;

    #[test]
    fn a_random_sort_is_told_in_any_case_direction_or_place_among_the_keys() {
        for query in [
            "sort=random",
            "type=1&sort=Random",
            "sort=RANDOM:desc",
            "sort=random%3Aasc",
            "sort=titleSort,random",
            "sort=titleSort%2Crandom:desc",
            "sort=track.random",
            "X-Plex-Container-Start=0&sort=addedAt:desc&sort=random",
        ] {
            assert!(ROUTES.sorts_at_random(Some(query)), "{query}");
        }
        for query in [
            "sort=titleSort",
            "sort=randomness",
            "sort=titleSort:desc,addedAt",
            "random=1",
            "title=random",
            "sorted=random",
            "",
        ] {
            assert!(!ROUTES.sorts_at_random(Some(query)), "{query}");
        }
        assert!(!ROUTES.sorts_at_random(None));
    }
}
