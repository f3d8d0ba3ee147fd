//! The built-in route tables, one per server (docs/configuration.md lists them): for each path
//! pattern, per method, whether a request is a cached read (its class and tags), a write (the
//! tags it changes) or passed through. One table of rules read top to bottom.

use http::Method;

use super::{Class, IndexSearch};
#[derive(Clone, Copy, Debug)]
pub(super) enum TagRule {
    Sections,
    /// `section:{id}` from the `id` path parameter.
    SectionParam,
    /// A section's listing: `members:{id}` when it neither filters nor sorts by play state
    /// (its play state reaches it through the tags of the items it shows), else
    /// `section:{id}`.
    SectionMembers,
    /// `item:{id}` for each comma-separated id in the `id` path parameter.
    ItemParam,
    /// `item:{id}` for each comma-separated id in this query parameter.
    ItemsQuery(&'static str),
    Recent,
    OnDeck,
    History,
    Sessions,
    Playlists,
    Library,
    /// Every list of items (not metadata).
    Listings,
    /// Lists that span sections.
    Across,
    /// The requesting user's play-state tag.
    UserState,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Refine {
    None,
    /// Jellyfin `/Items`: `searchTerm` makes it a search; `parentId` tags the parent.
    JellyfinItems,
    /// Cacheable only with this query parameter (Jellyfin images need `tag`).
    NeedsQuery(&'static str),
    /// Plex `/:/timeline`: a heartbeat every 10 s during playback; it invalidates only when
    /// the playback state changes (the proxy remembers the last state per user and item).
    PlexTimeline,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Methods {
    Get,
    Any,
    NotGet,
    Only(&'static [&'static str]),
}

impl Methods {
    pub(super) fn matches(self, m: &Method) -> bool {
        match self {
            Methods::Get => m == Method::GET,
            Methods::Any => true,
            Methods::NotGet => m != Method::GET && m != Method::HEAD,
            Methods::Only(list) => list.iter().any(|l| l.as_bytes() == m.as_str().as_bytes()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Action {
    Read(Class, &'static [TagRule], Refine),
    Write(&'static [TagRule], Refine),
    Pass,
}

pub(super) type Spec = (&'static str, &'static [(Methods, Action)]);

use Action::{Pass as P, Read as R, Write as W};
use Methods::{Any, Get, NotGet, Only};
use TagRule::*;

const LIST_TAGS: &[TagRule] = &[SectionParam, Listings, Library, UserState];
const META_TAGS: &[TagRule] = &[ItemParam, Library, UserState];
const RECENT_TAGS: &[TagRule] = &[Recent, Listings, Across, Library, UserState];
const ONDECK_TAGS: &[TagRule] = &[OnDeck, Library, UserState];
pub(super) const SEARCH_TAGS: &[TagRule] = &[Listings, Across, Library, UserState];
const PLAYLIST_TAGS: &[TagRule] = &[Playlists, Library, UserState];
const PLAYLIST_WRITE: &[TagRule] = &[Playlists];
const N: Refine = Refine::None;

/// The Plex reads the library index may answer, by pattern (each also in [`PLEX`]).
pub(super) const PLEX_INDEX: &[(&str, IndexSearch)] = &[
    (
        "/library/sections/{id}/search",
        IndexSearch::PlexSectionSearch,
    ),
    ("/hubs/search", IndexSearch::PlexHubSearch),
    ("/library/sections/{id}/all", IndexSearch::PlexSectionAll),
];

/// The Jellyfin reads the library index may answer, by pattern (each also in [`JELLYFIN`]).
pub(super) const JELLYFIN_INDEX: &[(&str, IndexSearch)] = &[
    ("/items", IndexSearch::JellyfinItems),
    ("/users/{uid}/items", IndexSearch::JellyfinItems),
    ("/search/hints", IndexSearch::JellyfinHints),
];

pub(super) const PLEX: &[Spec] = &[
    ("/identity", &[(Get, R(Class::Identity, &[], N))]),
    (
        "/library/sections",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/library/sections/{id}",
        &[(
            Get,
            R(Class::Sections, &[Sections, SectionParam, Library], N),
        )],
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
    // Section settings: read with the section, changed by the owner.
    (
        "/library/sections/{id}/prefs",
        &[
            (
                Get,
                R(Class::Sections, &[Sections, SectionParam, Library], N),
            ),
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
                Refine::PlexTimeline,
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

pub(super) const JELLYFIN: &[Spec] = &[
    ("/system/info/public", &[(Get, R(Class::Identity, &[], N))]),
    (
        "/library/mediafolders",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/library/virtualfolders",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/userviews",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/users/{uid}/views",
        &[(Get, R(Class::Sections, &[Sections, Library], N))],
    ),
    (
        "/items",
        &[(Get, R(Class::Listing, SEARCH_TAGS, Refine::JellyfinItems))],
    ),
    (
        "/users/{uid}/items",
        &[(Get, R(Class::Listing, SEARCH_TAGS, Refine::JellyfinItems))],
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
