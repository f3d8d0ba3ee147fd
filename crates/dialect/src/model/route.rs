//! The words a server's built-in route table is written in: for each path pattern, per
//! method, whether a request is a cached read (its class and tags), a write (the tags it
//! changes) or passed through. Each server's table is written in its dialect
//! (`plex/routes.rs`, `jellyfin/routes.rs`; docs/configuration.md lists them) and compiled
//! by the gateway's `policy::RouteTable`.

use http::Method;

use super::Class;

/// A server's built-in routes, as its dialect gives them ([`crate::DialectFacts::routes`]).
#[derive(Debug)]
pub struct DefaultRoutes {
    /// The rules, read top to bottom.
    pub specs: &'static [Spec],
    /// The reads the library index may answer, by pattern (each also in `specs`).
    pub searches: &'static [(&'static str, IndexSearch)],
    /// Paths are case-insensitive on the server: patterns are lower case and a request's path
    /// is lowered before it is matched.
    pub lowercase_paths: bool,
    /// The server's query fields and values about play state (filters and sorts): a listing
    /// that uses one changes with plays, not only with edits.
    pub play_state: &'static [&'static str],
    /// The server's sorts that shuffle, as (query parameter, sort key): an answer sorted by
    /// one is a new shuffle at every request, which no stored answer may stand for, so the
    /// read passes through ([`DefaultRoutes::sorts_at_random`]).
    pub random_sorts: &'static [(&'static str, &'static str)],
}

impl DefaultRoutes {
    /// Whether `query` sorts by one of the server's [`DefaultRoutes::random_sorts`]: the
    /// parameter (any case, any of its occurrences) names the key among its comma-separated
    /// sort keys, in any case, with or without a type before it (`track.random`) or a
    /// direction after it (`random:desc`), escaped or not.
    #[must_use]
    pub fn sorts_at_random(&self, query: Option<&str>) -> bool {
        let Some(query) = query.filter(|_| !self.random_sorts.is_empty()) else {
            return false;
        };
        query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.random_sorts
                .iter()
                .filter(|(param, _)| name.eq_ignore_ascii_case(param))
                .any(|(_, key)| {
                    let value = value.replace('+', " ");
                    let value = percent_encoding::percent_decode_str(&value).decode_utf8_lossy();
                    value.split(',').any(|sort| {
                        let field = sort.split(':').next().unwrap_or(sort);
                        let field = field.rsplit('.').next().unwrap_or(field);
                        field.trim().eq_ignore_ascii_case(key)
                    })
                })
        })
    }
}

/// A tag a route's entries carry, or a write bumps.
#[derive(Clone, Copy, Debug)]
pub enum TagRule {
    /// `sections`: the list of library sections ([`crate::tags`] has the scheme).
    Sections,
    /// `section-times`: the answer shows when each section's content last changed
    /// ([`crate::tags::section_times`]).
    SectionTimes,
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
    /// `recent`: every recently-added listing and hub.
    Recent,
    /// `ondeck`: on deck, continue watching, next up.
    OnDeck,
    /// `history`: watch history.
    History,
    /// `sessions`: the live sessions list.
    Sessions,
    /// `playlists`: playlists and their items.
    Playlists,
    /// `library`: everything derived from the library (bumped when a change cannot be narrowed).
    Library,
    /// Every list of items (not metadata).
    Listings,
    /// Lists that span sections.
    Across,
    /// The requesting user's play-state tag.
    UserState,
}

/// What a route's query adds to its decision. The dialects name the parameters; the route
/// table knows what each kind of refinement means, and no server.
#[derive(Clone, Copy, Debug)]
pub enum Refine {
    /// The query adds nothing: the route's action stands.
    None,
    /// Cacheable only with this query parameter (Jellyfin images need `tag`).
    NeedsQuery(&'static str),
    /// A listing whose query can make it a search or narrow it to one parent (Jellyfin
    /// `/Items`).
    Listing(&'static ListingQuery),
    /// A player's heartbeat (Plex `/:/timeline`, every 10 s during playback): the write's
    /// tags apply only when the playback state changes (the proxy remembers the last state
    /// per user and item). The item is the first of `item` the query has, the state `state`.
    Heartbeat {
        /// The query parameters naming the item, the first present one used.
        item: &'static [&'static str],
        /// The query parameter naming the playback state.
        state: &'static str,
    },
}

/// The query parameters that change what a listing's read is (names compared without case).
#[derive(Debug)]
pub struct ListingQuery {
    /// Not empty, it makes the listing a search: cached with the search class's policy.
    pub search: &'static str,
    /// This parameter's value naming this word lists playlists, which change with every
    /// playlist write (how clients find a user's playlists).
    pub playlists: (&'static str, &'static str),
    /// A parameter naming one parent (a library, a folder, a series): the listing is tagged
    /// with that parent's tags instead of those of lists across libraries.
    pub parent: &'static str,
}

/// The methods an action applies to.
#[derive(Clone, Copy, Debug)]
pub enum Methods {
    /// `GET` only.
    Get,
    /// Every method.
    Any,
    /// Every method but `GET` and `HEAD`: the writes.
    NotGet,
    /// These methods, by name.
    Only(&'static [&'static str]),
}

impl Methods {
    /// Whether a request's method is one of these.
    pub fn matches(self, m: &Method) -> bool {
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
pub enum Action {
    /// A cached read of this class, its entries carrying these tags.
    Read(Class, &'static [TagRule], Refine),
    /// A write, passed through; these tags are bumped once it succeeds.
    Write(&'static [TagRule], Refine),
    /// Passed through, neither cached nor bumping anything.
    Pass,
}

/// One route: its path pattern and its actions, the first whose methods match applying.
pub type Spec = (&'static str, &'static [(Methods, Action)]);

use TagRule::*;

// The tag lists several routes (of both servers) share.
/// A section's listing.
pub const LIST_TAGS: &[TagRule] = &[SectionParam, Listings, Library, UserState];
/// An item's metadata.
pub const META_TAGS: &[TagRule] = &[ItemParam, Library, UserState];
/// Recently added, across sections.
pub const RECENT_TAGS: &[TagRule] = &[Recent, Listings, Across, Library, UserState];
/// What a user continues with.
pub const ONDECK_TAGS: &[TagRule] = &[OnDeck, Library, UserState];
/// A search across sections.
pub const SEARCH_TAGS: &[TagRule] = &[Listings, Across, Library, UserState];
/// A playlist or the list of them.
pub const PLAYLIST_TAGS: &[TagRule] = &[Playlists, Library, UserState];
/// What a playlist's write bumps.
pub const PLAYLIST_WRITE: &[TagRule] = &[Playlists];

/// A read the library index may answer (`upstream_index::answer`): a search, a section listing or
/// an item's children, as the route table recognised it; the answer code reads the query,
/// never the path's shape again. Each names what the read asks, not a server: the dialects'
/// route tables say which of their routes is which (the server named below is where each
/// is found today).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexSearch {
    /// One section's own search (Plex `/library/sections/{id}/search`).
    SectionSearch,
    /// A search across sections, its results grouped by kind (Plex `/hubs/search`).
    HubSearch,
    /// A section's listing: the whole of it, a count or a `title` filter (Plex
    /// `/library/sections/{id}/all`).
    SectionListing,
    /// An item's children (Plex `/library/metadata/{id}/children`).
    Children,
    /// An item's leaves, its children's children for a show (Plex
    /// `/library/metadata/{id}/allLeaves`).
    AllLeaves,
    /// A listing of items, a search when a search term is in the query (Jellyfin `/Items`
    /// and `/Users/{id}/Items` with `SearchTerm`).
    ItemSearch,
    /// The same route's listing of items of the kinds it names, without a search term
    /// (`IncludeItemTypes`, no `SearchTerm`): a library walk's, of one kind at a time
    /// ([`IndexSearch::of_query`] tells it from [`IndexSearch::ItemSearch`]).
    ItemListing,
    /// Search hints for a term (Jellyfin `/Search/Hints` with `SearchTerm`).
    SearchHints,
    /// A series' (or one season's) episodes (Jellyfin `/Shows/{id}/Episodes`).
    ShowEpisodes,
    /// A series' seasons (Jellyfin `/Shows/{id}/Seasons`).
    ShowSeasons,
    /// What was added last across the user's sections, of one kind (Plex
    /// `/hubs/home/recentlyAdded`).
    RecentlyAdded,
}

impl IndexSearch {
    /// Whether the index (or the copy) answers this read when the route has class `class`:
    /// searches and listings as such, children listings as item metadata. An operator's
    /// override that gives the route another class keeps it in the cache.
    pub fn answers(self, class: Class) -> bool {
        match self {
            IndexSearch::Children | IndexSearch::AllLeaves => class == Class::Metadata,
            IndexSearch::ShowEpisodes | IndexSearch::ShowSeasons => class == Class::Metadata,
            IndexSearch::RecentlyAdded => class == Class::Recent,
            _ => matches!(class, Class::Search | Class::Listing),
        }
    }

    /// Whether a request's query makes it this search (a few byte comparisons, no
    /// allocation: every listing of these routes passes here).
    pub fn asked(self, query: Option<&str>) -> bool {
        match self {
            IndexSearch::SectionSearch
            | IndexSearch::HubSearch
            | IndexSearch::SectionListing
            | IndexSearch::Children
            | IndexSearch::AllLeaves
            | IndexSearch::RecentlyAdded => true,
            IndexSearch::ShowEpisodes | IndexSearch::ShowSeasons => true,
            IndexSearch::ItemSearch | IndexSearch::SearchHints => names(query, b"searchterm"),
            IndexSearch::ItemListing => {
                !names(query, b"searchterm") && names(query, b"includeitemtypes")
            }
        }
    }

    /// What a read of this route is by its query: this search when the query makes it one
    /// ([`IndexSearch::asked`]); an item route's listing of named kinds without a search
    /// term is an [`IndexSearch::ItemListing`]; `None`: neither (a cached read as any).
    pub fn of_query(self, query: Option<&str>) -> Option<IndexSearch> {
        if self.asked(query) {
            return Some(self);
        }
        let listing = IndexSearch::ItemListing;
        (self == IndexSearch::ItemSearch && listing.asked(query)).then_some(listing)
    }
}

/// Whether `query` holds `name` (lower case) anywhere, in any case: a few byte comparisons,
/// no allocation.
fn names(query: Option<&str>, name: &[u8]) -> bool {
    query.is_some_and(|q| {
        q.as_bytes()
            .windows(name.len())
            .any(|w| w.eq_ignore_ascii_case(name))
    })
}
