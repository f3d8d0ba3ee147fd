//! Route policies: which requests are cached, for how long, in which scope and under which tags,
//! and which requests are writes that invalidate tags.
//!
//! The built-in tables are the default route policies per [`Profile`] (docs/configuration.md); config overrides are
//! applied per class and per path pattern. Everything is compiled once into a [`RouteTable`]
//! (a `matchit` radix tree: one walk of the path per request, no regex scan), whose
//! [`RouteTable::classify`] returns a [`Decision`].

use std::sync::Arc;
use std::time::Duration;

use cachearr_engine::Policy;
use http::Method;
use serde::Deserialize;

use crate::tags;

/// Which API an upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Plex Media Server.
    Plex,
    /// Jellyfin (paths are case-insensitive).
    Jellyfin,
}

impl Profile {
    /// `plex` or `jellyfin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Plex => "plex",
            Profile::Jellyfin => "jellyfin",
        }
    }

    /// Paths warmed for each recently seen user by default.
    pub fn default_warm(self) -> &'static [&'static str] {
        match self {
            Profile::Plex => &[
                "/library/sections",
                "/library/onDeck",
                "/library/recentlyAdded",
            ],
            Profile::Jellyfin => &["/UserViews", "/Items/Latest", "/UserItems/Resume"],
        }
    }
}

/// Who may share a cached entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One entry per user (keyed hash of the token). The default.
    User,
    /// One entry for every user whose token the upstream accepted recently.
    Shared,
}

/// The route classes (docs/configuration.md, `[policy.<class>]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// `/identity`, `/System/Info/Public`.
    Identity,
    /// The list of sections / views.
    Sections,
    /// Section listings.
    Listing,
    /// Item metadata, children, leaves.
    Metadata,
    /// Searches.
    Search,
    /// Recently added.
    Recent,
    /// On deck / continue watching.
    #[serde(rename = "ondeck")]
    OnDeck,
    /// Watch history.
    History,
    /// Live sessions.
    Sessions,
    /// Server activities.
    Activities,
    /// Playlists.
    Playlists,
    /// Versioned images and image transcodes.
    Images,
    /// Never cached: streamed through unchanged.
    Pass,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 13] = [
        Class::Identity,
        Class::Sections,
        Class::Listing,
        Class::Metadata,
        Class::Search,
        Class::Recent,
        Class::OnDeck,
        Class::History,
        Class::Sessions,
        Class::Activities,
        Class::Playlists,
        Class::Images,
        Class::Pass,
    ];

    /// The class's name in config, statistics and `Cache-Status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Identity => "identity",
            Class::Sections => "sections",
            Class::Listing => "listing",
            Class::Metadata => "metadata",
            Class::Search => "search",
            Class::Recent => "recent",
            Class::OnDeck => "ondeck",
            Class::History => "history",
            Class::Sessions => "sessions",
            Class::Activities => "activities",
            Class::Playlists => "playlists",
            Class::Images => "images",
            Class::Pass => "pass",
        }
    }

    /// Who may share a cached image, by default.
    ///
    /// - Plex checks every artwork request against the token: a thumb, art or `/photo/:/transcode`
    ///   of an item the user may not see is a 404, and what a shared user may see is decided per
    ///   item (library sharing, plus label and content-rating restrictions), not per section. So
    ///   one user's cached image must never answer another: user scope.
    /// - Jellyfin serves `/Items/{id}/Images/*` to anyone, without a token (`GetItemImage` has no
    ///   `[Authorize]`; jellyfin/jellyfin#13988), so sharing them among accepted tokens shows no
    ///   one anything the server would not.
    ///
    /// An operator whose users all see everything can still set `scope = "shared"` for images.
    pub fn image_scope(profile: Profile) -> Scope {
        match profile {
            Profile::Plex => Scope::User,
            Profile::Jellyfin => Scope::Shared,
        }
    }

    /// The class with this name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The default policies for an upstream of `profile`: (fresh, stale-while-revalidate,
    /// stale-if-error, scope).
    fn defaults(self, profile: Profile) -> (Duration, Duration, Duration, Scope) {
        const S: u64 = 1;
        const M: u64 = 60;
        const H: u64 = 3600;
        const D: u64 = 86_400;
        let d = Duration::from_secs;
        match self {
            Class::Identity => (d(H), d(D), d(7 * D), Scope::Shared),
            Class::Sections => (d(5 * M), d(H), d(D), Scope::User),
            Class::Listing => (d(H), d(H), d(D), Scope::User),
            Class::Metadata => (d(H), d(D), d(7 * D), Scope::User),
            // Until the library index answers searches, a short TTL.
            Class::Search => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::Recent => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::OnDeck => (d(M), d(5 * M), d(H), Scope::User),
            Class::History => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::Sessions => (d(10 * S), Duration::ZERO, d(M), Scope::User),
            Class::Activities => (d(5 * S), Duration::ZERO, d(30 * S), Scope::User),
            Class::Playlists => (d(5 * M), d(H), d(D), Scope::User),
            Class::Images => (d(7 * D), d(30 * D), d(30 * D), Class::image_scope(profile)),
            Class::Pass => (Duration::ZERO, Duration::ZERO, Duration::ZERO, Scope::User),
        }
    }
}

/// A class's policy after defaults and overrides: what the proxy hands the engine.
#[derive(Clone, Debug)]
pub struct ResolvedPolicy {
    /// The class.
    pub class: Class,
    /// User or shared scope.
    pub scope: Scope,
    /// `false` means pass-through.
    pub cache: bool,
    /// The engine policy without per-request tags.
    pub engine: Policy,
}

impl ResolvedPolicy {
    fn new(class: Class, profile: Profile, overrides: &[&PolicyOverride]) -> ResolvedPolicy {
        let (fresh, swr, sie, scope) = class.defaults(profile);
        let mut p = ResolvedPolicy {
            class,
            scope,
            cache: class != Class::Pass,
            engine: Policy::new(class.as_str(), fresh)
                .with_stale_while_revalidate(swr)
                .with_stale_if_error(sie)
                .with_negative_ttl(Duration::from_secs(30).min(fresh)),
        };
        for o in overrides {
            p.apply(o);
        }
        p
    }

    fn apply(&mut self, o: &PolicyOverride) {
        if let Some(v) = o.fresh {
            self.engine.fresh = v;
        }
        if let Some(v) = o.stale_while_revalidate {
            self.engine.stale_while_revalidate = v;
        }
        if let Some(v) = o.stale_if_error {
            self.engine.stale_if_error = v;
        }
        if let Some(v) = o.negative_ttl {
            self.engine.negative_ttl = Some(v);
        }
        if let Some(v) = o.scope {
            self.scope = v;
        }
        if let Some(v) = o.cache {
            self.cache = v && self.class != Class::Pass;
        }
        if self.engine.fresh.is_zero() {
            self.cache = false;
        }
    }
}

/// What the proxy should do with a request.
#[derive(Debug)]
pub enum Decision<'a> {
    /// Answer from the cache under this policy; `tags` are the entry's tags (the user-state tag
    /// is added by the proxy when `user_state` is set and the scope is per user).
    Cache {
        /// The route's policy.
        policy: &'a ResolvedPolicy,
        /// The entry's tags.
        tags: Vec<Arc<str>>,
        /// Whether the response embeds the user's play state.
        user_state: bool,
    },
    /// A write: pass it through, then bump these tags (and the user's state tag if set).
    Write {
        /// Tags whose entries the write changes.
        tags: Vec<Arc<str>>,
        /// Whether the writer's own play state changes.
        user_state: bool,
        /// A player heartbeat (`item`, `state`): the tags apply only when the state changed
        /// since the last beat for this user and item.
        heartbeat: Option<(String, String)>,
    },
    /// Stream through, never cached.
    Pass,
}

/// An invalid path pattern in the config.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// Route override `index` could not be inserted.
    #[error("route pattern #{index}: {message}")]
    Pattern {
        /// Index into the upstream's `routes`.
        index: usize,
        /// What matchit said.
        message: String,
    },
}

/// Checks a user-written path pattern.
///
/// # Errors
/// A message saying what is wrong with it.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if !pattern.starts_with('/') {
        return Err(format!("route path {pattern:?} must start with '/'"));
    }
    if pattern.contains('?') {
        return Err(format!("route path {pattern:?} must not contain a query"));
    }
    let mut r = matchit::Router::new();
    r.insert(pattern, ())
        .map_err(|e| format!("route path {pattern:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The built-in tables.

#[derive(Clone, Copy, Debug)]
enum TagRule {
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
enum Refine {
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
enum Methods {
    Get,
    Any,
    NotGet,
    Only(&'static [&'static str]),
}

impl Methods {
    fn matches(self, m: &Method) -> bool {
        match self {
            Methods::Get => m == Method::GET,
            Methods::Any => true,
            Methods::NotGet => m != Method::GET && m != Method::HEAD,
            Methods::Only(list) => list.iter().any(|l| l.as_bytes() == m.as_str().as_bytes()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Read(Class, &'static [TagRule], Refine),
    Write(&'static [TagRule], Refine),
    Pass,
}

type Spec = (&'static str, &'static [(Methods, Action)]);

use Action::{Pass as P, Read as R, Write as W};
use Methods::{Any, Get, NotGet, Only};
use TagRule::*;

const LIST_TAGS: &[TagRule] = &[SectionParam, Listings, Library, UserState];
const META_TAGS: &[TagRule] = &[ItemParam, Library, UserState];
const RECENT_TAGS: &[TagRule] = &[Recent, Listings, Across, Library, UserState];
const ONDECK_TAGS: &[TagRule] = &[OnDeck, Library, UserState];
const SEARCH_TAGS: &[TagRule] = &[Listings, Across, Library, UserState];
const PLAYLIST_TAGS: &[TagRule] = &[Playlists, Library, UserState];
const PLAYLIST_WRITE: &[TagRule] = &[Playlists];
const N: Refine = Refine::None;

const PLEX: &[Spec] = &[
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

const JELLYFIN: &[Spec] = &[
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

// ---------------------------------------------------------------------------------------------
// Compilation.

#[derive(Debug)]
enum Compiled {
    Read {
        policy: Arc<ResolvedPolicy>,
        tags: &'static [TagRule],
        fixed: Vec<Arc<str>>,
        refine: Refine,
    },
    Write {
        tags: &'static [TagRule],
        fixed: Vec<Arc<str>>,
        refine: Refine,
    },
    Pass,
}

/// Values that replace a class's or a route's defaults; `None` keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyOverride {
    /// Fresh TTL.
    pub fresh: Option<Duration>,
    /// Stale-while-revalidate window.
    pub stale_while_revalidate: Option<Duration>,
    /// Stale-if-error window.
    pub stale_if_error: Option<Duration>,
    /// How long a 404 is kept.
    pub negative_ttl: Option<Duration>,
    /// User or shared scope.
    pub scope: Option<Scope>,
    /// `false` turns caching off (pass-through).
    pub cache: Option<bool>,
}

/// A policy override for requests whose path matches `pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteOverride {
    /// A path pattern: literal segments, `{name}` for one segment, `{*rest}` for the rest.
    pub pattern: String,
    /// The class to give matching reads (default: keep the built-in class, or `metadata`).
    pub class: Option<Class>,
    /// The values to change.
    pub policy: PolicyOverride,
    /// Where it was written, for error messages (`file:line`).
    pub origin: String,
}

/// What a route table is compiled from: one upstream's name, profile and overrides (from its
/// configuration, [`crate::config::UpstreamConfig::routing`]).
#[derive(Clone, Copy, Debug)]
pub struct Routing<'a> {
    /// The upstream's name: the first part of every key and tag.
    pub name: &'a str,
    /// Which server's routes.
    pub profile: Profile,
    /// Per-class overrides, in file order.
    pub classes: &'a [(Class, PolicyOverride)],
    /// Per-path-pattern overrides, in file order.
    pub routes: &'a [RouteOverride],
}

/// The compiled route table of one upstream.
#[derive(Debug)]
pub struct RouteTable {
    upstream: Arc<str>,
    lowercase: bool,
    router: matchit::Router<usize>,
    routes: Vec<Vec<(Methods, Compiled)>>,
    /// Per class, the resolved policy (used for classes a route override names).
    classes: Vec<Arc<ResolvedPolicy>>,
}

fn fixed_tags(upstream: &str, rules: &[TagRule]) -> Vec<Arc<str>> {
    rules
        .iter()
        .filter_map(|r| {
            let t = match r {
                Sections => tags::sections(upstream),
                Recent => tags::recent(upstream),
                OnDeck => tags::ondeck(upstream),
                History => tags::history(upstream),
                Sessions => tags::sessions(upstream),
                Playlists => tags::playlists(upstream),
                Library => tags::library(upstream),
                Listings => tags::listings(upstream),
                Across => tags::across(upstream),
                SectionParam | SectionMembers | ItemParam | ItemsQuery(_) | UserState => {
                    return None;
                }
            };
            Some(Arc::from(t))
        })
        .collect()
}

impl RouteTable {
    /// Compiles the built-in table of the upstream's profile with its overrides.
    ///
    /// # Errors
    /// [`RouteError::Pattern`] for a route override that is not a valid pattern.
    pub fn compile(up: &Routing<'_>) -> Result<RouteTable, RouteError> {
        let name: Arc<str> = Arc::from(up.name);
        let lowercase = up.profile == Profile::Jellyfin;
        let classes: Vec<Arc<ResolvedPolicy>> = Class::ALL
            .iter()
            .map(|c| {
                let o: Vec<&PolicyOverride> = up
                    .classes
                    .iter()
                    .filter(|(k, _)| k == c)
                    .map(|(_, o)| o)
                    .collect();
                Arc::new(ResolvedPolicy::new(*c, up.profile, &o))
            })
            .collect();
        let class_policy = |c: Class| classes[c as usize].clone();
        let specs = match up.profile {
            Profile::Plex => PLEX,
            Profile::Jellyfin => JELLYFIN,
        };
        let mut router = matchit::Router::new();
        let mut routes: Vec<Vec<(Methods, Compiled)>> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        for (pattern, actions) in specs {
            let compiled = actions
                .iter()
                .map(|(m, a)| {
                    let c = match *a {
                        Action::Read(class, rules, refine) => Compiled::Read {
                            policy: class_policy(class),
                            tags: rules,
                            fixed: fixed_tags(&name, rules),
                            refine,
                        },
                        Action::Write(rules, refine) => Compiled::Write {
                            tags: rules,
                            fixed: fixed_tags(&name, rules),
                            refine,
                        },
                        Action::Pass => Compiled::Pass,
                    };
                    (*m, c)
                })
                .collect();
            // The built-in patterns are known to be valid; a failure here is a bug in the table.
            if router.insert(*pattern, routes.len()).is_ok() {
                routes.push(compiled);
                patterns.push((*pattern).to_string());
            }
        }
        for (index, o) in up.routes.iter().enumerate() {
            let pattern = if lowercase {
                o.pattern.to_ascii_lowercase()
            } else {
                o.pattern.clone()
            };
            let existing = patterns.iter().position(|p| *p == pattern);
            let base_class = existing
                .and_then(|i| {
                    routes[i].iter().find_map(|(m, c)| match (m, c) {
                        (Methods::Get, Compiled::Read { policy, .. }) => Some(policy.class),
                        _ => None,
                    })
                })
                .unwrap_or(Class::Metadata);
            let class = o.class.unwrap_or(base_class);
            let mut overrides: Vec<&PolicyOverride> = up
                .classes
                .iter()
                .filter(|(k, _)| *k == class)
                .map(|(_, p)| p)
                .collect();
            overrides.push(&o.policy);
            let policy = Arc::new(ResolvedPolicy::new(class, up.profile, &overrides));
            let read = match existing.and_then(|i| {
                routes[i].iter().find_map(|(m, c)| match (m, c) {
                    (Methods::Get, Compiled::Read { tags, refine, .. }) => Some((*tags, *refine)),
                    _ => None,
                })
            }) {
                Some((rules, refine)) => Compiled::Read {
                    policy,
                    tags: rules,
                    fixed: fixed_tags(&name, rules),
                    refine,
                },
                None => Compiled::Read {
                    policy,
                    tags: SEARCH_TAGS,
                    fixed: fixed_tags(&name, SEARCH_TAGS),
                    refine: Refine::None,
                },
            };
            match existing {
                Some(i) => {
                    routes[i].retain(|(m, _)| !matches!(m, Methods::Get));
                    routes[i].insert(0, (Methods::Get, read));
                }
                None => {
                    router.insert(pattern.clone(), routes.len()).map_err(|e| {
                        RouteError::Pattern {
                            index,
                            message: format!("{:?}: {e}", o.pattern),
                        }
                    })?;
                    routes.push(vec![(Methods::Get, read)]);
                    patterns.push(pattern);
                }
            }
        }
        Ok(RouteTable {
            upstream: name,
            lowercase,
            router,
            routes,
            classes,
        })
    }

    /// The resolved policy of a class (after config overrides).
    pub fn class_policy(&self, class: Class) -> &ResolvedPolicy {
        &self.classes[class as usize]
    }

    /// Decides what to do with a request. `path` is the raw (still percent-encoded) path.
    pub fn classify(&self, method: &Method, path: &str, query: Option<&str>) -> Decision<'_> {
        let lowered;
        let path = if self.lowercase && path.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = path.to_ascii_lowercase();
            lowered.as_str()
        } else {
            path
        };
        // A trailing slash means the same resource to both servers.
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        let Ok(found) = self.router.at(path) else {
            return Decision::Pass;
        };
        let Some(actions) = self.routes.get(*found.value) else {
            return Decision::Pass;
        };
        let Some((_, action)) = actions.iter().find(|(m, _)| m.matches(method)) else {
            return Decision::Pass;
        };
        let params = &found.params;
        match action {
            Compiled::Pass => Decision::Pass,
            Compiled::Read {
                policy,
                tags: rules,
                fixed,
                refine,
            } => {
                let mut policy: &ResolvedPolicy = policy;
                let mut tags = fixed.clone();
                match refine {
                    Refine::None | Refine::PlexTimeline => {}
                    Refine::NeedsQuery(name) => {
                        if query_value(query, name, true).is_none() {
                            return Decision::Pass;
                        }
                    }
                    Refine::JellyfinItems => {
                        if query_value(query, "searchterm", true).is_some_and(|v| !v.is_empty()) {
                            policy = self.class_policy(Class::Search);
                        }
                        // A listing of playlists (`IncludeItemTypes=Playlist`, how clients
                        // find a user's playlists) changes with every playlist write.
                        if query_value(query, "includeitemtypes", true)
                            .is_some_and(|v| v.to_ascii_lowercase().contains("playlist"))
                        {
                            tags.push(Arc::from(tags::playlists(&self.upstream)));
                        }
                        if let Some(parent) = query_value(query, "parentid", true) {
                            let parent = parent.to_ascii_lowercase();
                            // Under one parent: that parent's (or library's) tags, not every
                            // list that spans libraries.
                            let across = tags::across(&self.upstream);
                            tags.retain(|t| **t != *across);
                            tags.push(Arc::from(tags::item(&self.upstream, &parent)));
                            let lists = if by_play_state(query, JELLYFIN_PLAY_STATE) {
                                tags::section(&self.upstream, &parent)
                            } else {
                                tags::members(&self.upstream, &parent)
                            };
                            tags.push(Arc::from(lists));
                        }
                    }
                }
                if !policy.cache {
                    return Decision::Pass;
                }
                let user_state = self.param_tags(rules, params, query, &mut tags);
                Decision::Cache {
                    policy,
                    tags,
                    user_state,
                }
            }
            Compiled::Write {
                tags: rules,
                fixed,
                refine,
            } => {
                let heartbeat = match refine {
                    Refine::PlexTimeline => Some((
                        query_value(query, "ratingKey", false)
                            .or_else(|| query_value(query, "key", false))
                            .unwrap_or_default(),
                        query_value(query, "state", false).unwrap_or_default(),
                    )),
                    _ => None,
                };
                let mut tags = fixed.clone();
                let user_state = self.param_tags(rules, params, query, &mut tags);
                self.write_tags(&mut tags);
                Decision::Write {
                    tags,
                    user_state,
                    heartbeat,
                }
            }
        }
    }

    /// What a write touches beyond its rules' tags: a section's plain listings with the
    /// section, an item's play state with the item (a write may be a scrobble or a rating),
    /// and the answers too large to carry item tags with any item.
    fn write_tags(&self, tags: &mut Vec<Arc<str>>) {
        let up = &*self.upstream;
        let section = tags::section(up, "");
        let item = tags::item(up, "");
        let mut more: Vec<Arc<str>> = Vec::new();
        for t in tags.iter() {
            if let Some(id) = t.strip_prefix(section.as_str()) {
                more.push(Arc::from(tags::members(up, id)));
            } else if let Some(id) = t.strip_prefix(item.as_str()) {
                more.push(Arc::from(tags::plays(up, id)));
                more.push(Arc::from(tags::owner_plays(up, id)));
            }
        }
        if tags.iter().any(|t| t.starts_with(item.as_str())) {
            more.push(Arc::from(tags::any_item(up)));
        }
        tags.extend(more);
    }

    /// Adds the tags that depend on the request; returns whether the user-state tag applies.
    fn param_tags(
        &self,
        rules: &[TagRule],
        params: &matchit::Params<'_, '_>,
        query: Option<&str>,
        out: &mut Vec<Arc<str>>,
    ) -> bool {
        let mut user_state = false;
        let up = &*self.upstream;
        for rule in rules {
            match rule {
                SectionParam => {
                    if let Some(id) = params.get("id") {
                        out.push(Arc::from(tags::section(up, id)));
                    }
                }
                SectionMembers => {
                    if let Some(id) = params.get("id") {
                        out.push(Arc::from(if by_play_state(query, PLEX_PLAY_STATE) {
                            tags::section(up, id)
                        } else {
                            tags::members(up, id)
                        }));
                    }
                }
                ItemParam => {
                    if let Some(ids) = params.get("id") {
                        for id in ids.split(',').filter(|s| !s.is_empty()).take(64) {
                            out.push(Arc::from(tags::item(up, id)));
                        }
                    }
                }
                ItemsQuery(name) => {
                    if let Some(v) = query_value(query, name, false) {
                        for id in v.split(',').filter(|s| !s.is_empty()).take(64) {
                            // `key` may be a path (`/library/metadata/12`): keep the id.
                            let id = id.rsplit('/').next().unwrap_or(id);
                            out.push(Arc::from(tags::item(up, id)));
                        }
                    }
                }
                UserState => user_state = true,
                _ => {}
            }
        }
        user_state
    }
}

/// Plex fields holding play state (filters `unwatched=1`, `viewCount>>=1`, sorts
/// `sort=lastViewedAt:desc`…).
const PLEX_PLAY_STATE: &[&str] = &[
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

/// Jellyfin parameters and values about play state (`Filters=IsPlayed`, `IsFavorite=true`,
/// `SortBy=DatePlayed`…).
const JELLYFIN_PLAY_STATE: &[&str] = &[
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

/// Whether a listing's query filters or sorts by play state (any parameter name or value
/// that mentions one of `words`): such a list changes with plays, not only with edits.
fn by_play_state(query: Option<&str>, words: &[&str]) -> bool {
    let Some(q) = query else {
        return false;
    };
    let q = percent_encoding::percent_decode_str(q)
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    words.iter().any(|w| q.contains(w))
}

/// The percent-decoded value of the first query parameter `name` (ASCII case-insensitive if
/// asked).
pub fn query_value(query: Option<&str>, name: &str, ignore_case: bool) -> Option<String> {
    let q = query?;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let same = if ignore_case {
            k.eq_ignore_ascii_case(name)
        } else {
            k == name
        };
        if same {
            let v = v.replace('+', " ");
            return Some(
                percent_encoding::percent_decode_str(&v)
                    .decode_utf8_lossy()
                    .into_owned(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamConfig;

    fn table(profile: Profile) -> RouteTable {
        let up = UpstreamConfig::new(
            profile.as_str(),
            profile,
            "http://h:1".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        RouteTable::compile(&up.routing()).unwrap()
    }

    fn class_of(t: &RouteTable, m: Method, p: &str, q: Option<&str>) -> Option<Class> {
        match t.classify(&m, p, q) {
            Decision::Cache { policy, .. } => Some(policy.class),
            _ => None,
        }
    }

    #[test]
    fn plex_classes_follow_design() {
        let t = table(Profile::Plex);
        let g = Method::GET;
        assert_eq!(
            class_of(&t, g.clone(), "/identity", None),
            Some(Class::Identity)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/sections", None),
            Some(Class::Sections)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/sections/1/all", None),
            Some(Class::Listing)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/sections/1/albums", None),
            Some(Class::Listing)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/sections/1/search", None),
            Some(Class::Search)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/metadata/5,6", None),
            Some(Class::Metadata)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/metadata/5/children", None),
            Some(Class::Metadata)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/metadata/5/thumb/1700000000", None),
            Some(Class::Images)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/hubs/search", None),
            Some(Class::Search)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/library/onDeck", None),
            Some(Class::OnDeck)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/status/sessions", None),
            Some(Class::Sessions)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/status/sessions/history/all", None),
            Some(Class::History)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/activities", None),
            Some(Class::Activities)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/playlists/3/items", None),
            Some(Class::Playlists)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/photo/:/transcode", None),
            Some(Class::Images)
        );
        assert!(matches!(
            t.classify(&g, "/library/parts/1/2/file.mp3", None),
            Decision::Pass
        ));
        assert!(matches!(
            t.classify(&g, "/:/websockets/notifications", None),
            Decision::Pass
        ));
        assert!(matches!(t.classify(&g, "/butler", None), Decision::Pass));
        assert!(matches!(
            t.classify(&Method::HEAD, "/library/sections", None),
            Decision::Pass
        ));
    }

    #[test]
    fn plex_collection_and_section_setting_writes_reach_the_listings_that_show_them() {
        let t = table(Profile::Plex);
        let tags_of = |method: Method, path: &str, query: Option<&str>| -> Vec<String> {
            match t.classify(&method, path, query) {
                Decision::Write { tags, .. } | Decision::Cache { tags, .. } => {
                    tags.iter().map(|t| t.to_string()).collect()
                }
                Decision::Pass => panic!("{method} {path} passes"),
            }
        };
        // A section's collections are one of its listings, cached as such …
        let listing = tags_of(Method::GET, "/library/sections/2/collections", None);
        // … and every collection write invalidates them.
        for (method, path, query) in [
            (
                Method::POST,
                "/library/collections",
                Some("uri=server%3A%2F%2Fm%2Fx%2Flibrary%2Fmetadata%2F5&sectionId=2"),
            ),
            (Method::PUT, "/library/collections/7/items", Some("uri=x")),
            (Method::DELETE, "/library/collections/7/items/5", None),
            (Method::PUT, "/library/collections/7/items/5/move", None),
            (
                Method::PUT,
                "/library/collections/7/prefs",
                Some("collectionSort=1"),
            ),
            (Method::DELETE, "/library/collections/7", None),
        ] {
            let written = tags_of(method.clone(), path, query);
            assert!(
                written.iter().any(|w| listing.contains(w)),
                "{method} {path}: {written:?} misses {listing:?}"
            );
        }
        // Collections themselves are read straight from the server.
        for path in ["/library/collections/7", "/library/collections/7/children"] {
            assert!(matches!(
                t.classify(&Method::GET, path, None),
                Decision::Pass
            ));
        }
        // Section settings: cached with the section, invalidated by their write.
        let read = tags_of(Method::GET, "/library/sections/2/prefs", None);
        let written = tags_of(Method::PUT, "/library/sections/2/prefs", Some("hidden=1"));
        assert!(
            written.iter().any(|w| read.contains(w)),
            "{written:?} {read:?}"
        );
    }

    #[test]
    fn plex_writes_by_path_even_as_get() {
        let t = table(Profile::Plex);
        let Decision::Write {
            tags, user_state, ..
        } = t.classify(
            &Method::GET,
            "/:/scrobble",
            Some("key=42&identifier=com.plexapp.plugins.library"),
        )
        else {
            panic!("scrobble is a write")
        };
        assert!(user_state);
        let tags: Vec<&str> = tags.iter().map(|t| &**t).collect();
        assert!(tags.contains(&"plex:item:42"), "{tags:?}");
        assert!(tags.contains(&"plex:ondeck"));
        assert!(tags.contains(&"plex:history"));
        let Decision::Write { tags, .. } = t.classify(
            &Method::PUT,
            "/library/sections/2/all",
            Some("type=10&id=7,8"),
        ) else {
            panic!()
        };
        let tags: Vec<&str> = tags.iter().map(|t| &**t).collect();
        assert!(
            tags.contains(&"plex:section:2") && tags.contains(&"plex:item:8"),
            "{tags:?}"
        );
        let Decision::Write { heartbeat, .. } = t.classify(
            &Method::GET,
            "/:/timeline",
            Some("ratingKey=3&state=playing"),
        ) else {
            panic!()
        };
        assert_eq!(heartbeat, Some(("3".to_string(), "playing".to_string())));
    }

    #[test]
    fn jellyfin_is_case_insensitive_and_refines_by_query() {
        let t = table(Profile::Jellyfin);
        let g = Method::GET;
        assert_eq!(
            class_of(&t, g.clone(), "/System/Info/Public", None),
            Some(Class::Identity)
        );
        assert_eq!(
            class_of(
                &t,
                g.clone(),
                "/Items",
                Some("ParentId=ab&IncludeItemTypes=Audio")
            ),
            Some(Class::Listing)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/Items", Some("searchTerm=abba")),
            Some(Class::Search)
        );
        assert_eq!(
            class_of(&t, g.clone(), "/Items/ab12/Images/Primary", Some("tag=ff")),
            Some(Class::Images)
        );
        assert!(matches!(
            t.classify(&g, "/Items/ab12/Images/Primary", None),
            Decision::Pass
        ));
        assert!(matches!(t.classify(&g, "/socket", None), Decision::Pass));
        assert!(matches!(
            t.classify(&Method::POST, "/UserPlayedItems/ab12", None),
            Decision::Write {
                user_state: true,
                ..
            }
        ));
    }

    fn scope_of(t: &RouteTable, p: &str, q: Option<&str>) -> Scope {
        match t.classify(&Method::GET, p, q) {
            Decision::Cache { policy, .. } => policy.scope,
            other => panic!("{p} is not cached: {other:?}"),
        }
    }

    #[test]
    fn plex_images_are_per_user_and_jellyfin_images_shared() {
        // Plex decides per user and item who may see an artwork; Jellyfin serves images to anyone.
        let plex = table(Profile::Plex);
        for (path, query) in [
            ("/library/metadata/5/thumb/1700000000", None),
            ("/library/metadata/5/art/1700000000", None),
            (
                "/photo/:/transcode",
                Some("url=%2Flibrary%2Fmetadata%2F5%2Fthumb%2F1&width=100"),
            ),
        ] {
            assert_eq!(scope_of(&plex, path, query), Scope::User, "{path}");
        }
        assert_eq!(scope_of(&plex, "/identity", None), Scope::Shared);
        let jellyfin = table(Profile::Jellyfin);
        assert_eq!(
            scope_of(&jellyfin, "/Items/ab12/Images/Primary", Some("tag=ff")),
            Scope::Shared
        );

        // An operator may still share Plex images.
        let mut up = UpstreamConfig::new(
            "plex",
            Profile::Plex,
            "http://h:1".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        up.classes.push((
            Class::Images,
            PolicyOverride {
                scope: Some(Scope::Shared),
                ..Default::default()
            },
        ));
        let shared = RouteTable::compile(&up.routing()).unwrap();
        assert_eq!(
            scope_of(&shared, "/library/metadata/5/thumb/1", None),
            Scope::Shared
        );
    }

    #[test]
    fn overrides_change_policies() {
        let mut up = UpstreamConfig::new(
            "plex",
            Profile::Plex,
            "http://h:1".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        up.classes.push((
            Class::Metadata,
            PolicyOverride {
                fresh: Some(Duration::from_secs(7)),
                ..Default::default()
            },
        ));
        up.routes.push(RouteOverride {
            pattern: "/butler".into(),
            class: Some(Class::Sessions),
            policy: PolicyOverride::default(),
            origin: String::new(),
        });
        up.routes.push(RouteOverride {
            pattern: "/activities".into(),
            class: None,
            policy: PolicyOverride {
                cache: Some(false),
                ..Default::default()
            },
            origin: String::new(),
        });
        let t = RouteTable::compile(&up.routing()).unwrap();
        match t.classify(&Method::GET, "/library/metadata/1", None) {
            Decision::Cache { policy, .. } => {
                assert_eq!(policy.engine.fresh, Duration::from_secs(7))
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(
            class_of(&t, Method::GET, "/butler", None),
            Some(Class::Sessions)
        );
        assert!(matches!(
            t.classify(&Method::GET, "/activities", None),
            Decision::Pass
        ));
    }
}
