//! The words a server's built-in route table is written in: for each path pattern, per
//! method, whether a request is a cached read (its class and tags), a write (the tags it
//! changes) or passed through. Each server's table is written in its dialect
//! (`dialect/*/routes.rs`, docs/configuration.md lists them) and compiled by
//! [`crate::policy::RouteTable`].

use http::Method;

use super::Class;

/// A server's built-in routes, as its dialect gives them ([`crate::dialect::Dialect::routes`]).
#[derive(Debug)]
pub struct DefaultRoutes {
    /// The rules, read top to bottom.
    pub(crate) specs: &'static [Spec],
    /// The reads the library index may answer, by pattern (each also in `specs`).
    pub(crate) searches: &'static [(&'static str, IndexSearch)],
    /// Paths are case-insensitive on the server: patterns are lower case and a request's path
    /// is lowered before it is matched.
    pub(crate) lowercase_paths: bool,
    /// The server's query fields and values about play state (filters and sorts): a listing
    /// that uses one changes with plays, not only with edits.
    pub(crate) play_state: &'static [&'static str],
}

/// A tag a route's entries carry, or a write bumps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TagRule {
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

/// What a route's query adds to its decision.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Refine {
    None,
    /// Jellyfin `/Items`: `searchTerm` makes it a search; `parentId` tags the parent.
    JellyfinItems,
    /// Cacheable only with this query parameter (Jellyfin images need `tag`).
    NeedsQuery(&'static str),
    /// Plex `/:/timeline`: a heartbeat every 10 s during playback; it invalidates only when
    /// the playback state changes (the proxy remembers the last state per user and item).
    PlexTimeline,
}

/// The methods an action applies to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Methods {
    Get,
    Any,
    NotGet,
    Only(&'static [&'static str]),
}

impl Methods {
    pub(crate) fn matches(self, m: &Method) -> bool {
        match self {
            Methods::Get => m == Method::GET,
            Methods::Any => true,
            Methods::NotGet => m != Method::GET && m != Method::HEAD,
            Methods::Only(list) => list.iter().any(|l| l.as_bytes() == m.as_str().as_bytes()),
        }
    }
}

/// What a route does with a request of those methods.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    Read(Class, &'static [TagRule], Refine),
    Write(&'static [TagRule], Refine),
    Pass,
}

/// One route: its path pattern and its actions, the first whose methods match applying.
pub(crate) type Spec = (&'static str, &'static [(Methods, Action)]);

use TagRule::*;

// The tag lists several routes (of both servers) share.
pub(crate) const LIST_TAGS: &[TagRule] = &[SectionParam, Listings, Library, UserState];
pub(crate) const META_TAGS: &[TagRule] = &[ItemParam, Library, UserState];
pub(crate) const RECENT_TAGS: &[TagRule] = &[Recent, Listings, Across, Library, UserState];
pub(crate) const ONDECK_TAGS: &[TagRule] = &[OnDeck, Library, UserState];
pub(crate) const SEARCH_TAGS: &[TagRule] = &[Listings, Across, Library, UserState];
pub(crate) const PLAYLIST_TAGS: &[TagRule] = &[Playlists, Library, UserState];
pub(crate) const PLAYLIST_WRITE: &[TagRule] = &[Playlists];

/// A search the library index may answer (`library::answer`), as the route table recognised
/// it: the answer code reads the query, never the path's shape again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexSearch {
    /// Plex `/library/sections/{id}/search`.
    PlexSectionSearch,
    /// Plex `/hubs/search`.
    PlexHubSearch,
    /// Plex `/library/sections/{id}/all` with a `title` filter in the query.
    PlexSectionAll,
    /// Jellyfin `/Items` and `/Users/{id}/Items` with `SearchTerm` in the query.
    JellyfinItems,
    /// Jellyfin `/Search/Hints` with `SearchTerm` in the query.
    JellyfinHints,
}

impl IndexSearch {
    /// Whether a request's query makes it this search (a few byte comparisons, no
    /// allocation: every listing of these routes passes here).
    pub(crate) fn asked(self, query: Option<&str>) -> bool {
        match self {
            IndexSearch::PlexSectionSearch | IndexSearch::PlexHubSearch => true,
            IndexSearch::PlexSectionAll => query.is_some_and(|q| q.contains("title")),
            IndexSearch::JellyfinItems | IndexSearch::JellyfinHints => query.is_some_and(|q| {
                q.as_bytes()
                    .windows(10)
                    .any(|w| w.eq_ignore_ascii_case(b"searchterm"))
            }),
        }
    }
}
