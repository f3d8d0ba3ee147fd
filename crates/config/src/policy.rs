//! Route policies: which requests are cached, for how long, in which scope and under which tags,
//! and which requests are writes that invalidate tags.
//!
//! The built-in tables are the default route policies of each server, written in its dialect
//! ([`cachearr_dialect::DialectFacts::routes`], in the words of [`crate::model::route`];
//! docs/configuration.md lists them); config overrides are applied per class and per path
//! pattern.
//! Everything is compiled once into a [`RouteTable`] (a `matchit` radix tree: one walk of the
//! path per request, no regex scan), whose [`RouteTable::classify`] returns a [`Decision`]:
//! a cached read, a search the library index may answer ([`IndexSearch`]), a write, or a
//! pass-through. A client's request is decided by [`RouteTable::decide`], which first tells
//! an upgrade (websockets) and a `Range` request by their headers: neither is classified.

use std::sync::Arc;
use std::time::Duration;

use cachearr_engine::Policy;
use http::{HeaderMap, Method, header};

use crate::model::route::{Action, Methods, Refine, SEARCH_TAGS, TagRule, TagRule::*};
use crate::tags;

pub use crate::model::route::IndexSearch;
pub use crate::model::{Class, Scope};
use cachearr_dialect::Profile;

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
    /// A 2xx answer on the route proves the token that asked (the dialect's word for the
    /// class: routes the server authenticates), decided here once so that no request asks.
    pub authenticates: bool,
}

impl ResolvedPolicy {
    fn new(class: Class, profile: Profile, overrides: &[&PolicyOverride]) -> ResolvedPolicy {
        let (fresh, swr, sie, scope) = class.defaults(cachearr_dialect::of(profile).image_scope());
        let mut p = ResolvedPolicy {
            class,
            scope,
            cache: class != Class::Pass,
            engine: Policy::new(class.as_str(), fresh)
                .with_stale_while_revalidate(swr)
                .with_stale_if_error(sie)
                .with_negative_ttl(Duration::from_secs(30).min(fresh)),
            authenticates: cachearr_dialect::of(profile).authenticates(class),
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
    /// A search the library index answers when it can; when it cannot, a cached read as in
    /// [`Decision::Cache`].
    AnswerFromIndex {
        /// Which search.
        search: IndexSearch,
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
    /// An HTTP/1.1 upgrade (websockets): forwarded, and on `101` both connections are spliced.
    Upgrade,
    /// A `Range` request: passed through, never answered from the cache (the server knows its
    /// bytes).
    Range,
    /// Cached as the HTTP caching standard says (RFC 9111), whatever the method: the
    /// response's own directives decide what is kept and for how long, and a write
    /// invalidates what the standard says it does; the route's settings fill in what the
    /// standard leaves to the operator.
    Standard(&'a Arc<standard::StandardRoute>),
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

/// What is wrong with a user-written path pattern.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// The path does not start with `/`.
    #[error("route path {0:?} must start with '/'")]
    NotAbsolute(String),
    /// The path has a query: routes match paths only.
    #[error("route path {0:?} must not contain a query")]
    HasQuery(String),
    /// The router refused it (a parameter without a name, two catch-alls, …).
    #[error("route path {pattern:?} is refused by the router")]
    Refused {
        /// The path as written.
        pattern: String,
        /// What the router said.
        source: matchit::InsertError,
    },
}

/// Checks a user-written path pattern.
///
/// # Errors
/// What is wrong with it.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    if !pattern.starts_with('/') {
        return Err(PatternError::NotAbsolute(pattern.to_owned()));
    }
    if pattern.contains('?') {
        return Err(PatternError::HasQuery(pattern.to_owned()));
    }
    let mut r = matchit::Router::new();
    r.insert(pattern, ())
        .map_err(|source| PatternError::Refused {
            pattern: pattern.to_owned(),
            source,
        })
}

pub mod standard;
#[cfg(test)]
mod tests;

#[derive(Debug)]
enum Compiled {
    Read {
        policy: Arc<ResolvedPolicy>,
        tags: &'static [TagRule],
        fixed: Vec<Arc<str>>,
        refine: Refine,
        /// The search the index may answer on this route.
        index: Option<IndexSearch>,
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
    /// The settings only an upstream cached by the standard reads (`profile = "http"`).
    pub standard: standard::StandardOverride,
    /// Where it was written, for error messages (`file:line`).
    pub origin: String,
}

/// What a route table is compiled from: one upstream's name, profile and overrides (from its
/// configuration, [`crate::UpstreamConfig::routing`]).
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
    /// `[upstream.http]`: read only for an upstream cached by the standard.
    pub http: &'a standard::HttpSettings,
}

/// A route table being compiled: the router, each route's actions by method, and the patterns
/// in the order they were inserted.
struct Table {
    router: matchit::Router<usize>,
    routes: Vec<Vec<(Methods, Compiled)>>,
    patterns: Vec<String>,
}

impl Table {
    /// One of the operator's route overrides (`index` in the file's order): a built-in pattern's
    /// read gets the override's class and policy and keeps its tags and refinements; a new
    /// pattern becomes a cached route (class `metadata` unless given, the search tags).
    fn apply(
        &mut self,
        up: &Routing<'_>,
        name: &Arc<str>,
        lowercase: bool,
        (index, o): (usize, &RouteOverride),
    ) -> Result<(), RouteError> {
        let pattern = if lowercase {
            o.pattern.to_ascii_lowercase()
        } else {
            o.pattern.clone()
        };
        let existing = self.patterns.iter().position(|p| *p == pattern);
        let base_class = existing
            .and_then(|i| {
                self.routes[i].iter().find_map(|(m, c)| match (m, c) {
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
            self.routes[i].iter().find_map(|(m, c)| match (m, c) {
                (
                    Methods::Get,
                    Compiled::Read {
                        tags,
                        refine,
                        index,
                        ..
                    },
                ) => Some((*tags, *refine, *index)),
                _ => None,
            })
        }) {
            Some((rules, refine, index)) => Compiled::Read {
                policy,
                tags: rules,
                fixed: fixed_tags(name, rules),
                refine,
                index,
            },
            None => Compiled::Read {
                policy,
                tags: SEARCH_TAGS,
                fixed: fixed_tags(name, SEARCH_TAGS),
                refine: Refine::None,
                index: None,
            },
        };
        match existing {
            Some(i) => {
                self.routes[i].retain(|(m, _)| !matches!(m, Methods::Get));
                self.routes[i].insert(0, (Methods::Get, read));
            }
            None => {
                self.router
                    .insert(pattern.clone(), self.routes.len())
                    .map_err(|e| RouteError::Pattern {
                        index,
                        message: format!("{:?}: {e}", o.pattern),
                    })?;
                self.routes.push(vec![(Methods::Get, read)]);
                self.patterns.push(pattern);
            }
        }
        Ok(())
    }
}

/// Each class's policy for `up`: the class's defaults, then the operator's overrides of it.
fn class_policies(up: &Routing<'_>) -> Vec<Arc<ResolvedPolicy>> {
    Class::ALL
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
        .collect()
}

/// The compiled route table of one upstream.
#[derive(Debug)]
pub struct RouteTable {
    upstream: Arc<str>,
    lowercase: bool,
    /// The server's words for play state in a listing's query.
    play_state: &'static [&'static str],
    /// The server's built-in routes: which sorts shuffle
    /// ([`crate::model::route::DefaultRoutes::sorts_at_random`]).
    built_in: &'static crate::model::route::DefaultRoutes,
    router: matchit::Router<usize>,
    routes: Vec<Vec<(Methods, Compiled)>>,
    /// Per class, the resolved policy (used for classes a route override names).
    classes: Vec<Arc<ResolvedPolicy>>,
    /// The operator's settings of an upstream cached by the HTTP caching standard, not by
    /// routes ([`cachearr_dialect::DialectFacts::caches_by_the_standard`]).
    standard: Option<standard::StandardRoutes>,
}

fn fixed_tags(upstream: &str, rules: &[TagRule]) -> Vec<Arc<str>> {
    rules
        .iter()
        .filter_map(|r| {
            let t = match r {
                Sections => tags::sections(upstream),
                SectionTimes => tags::section_times(upstream),
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
    /// Compiles the built-in table of the upstream's server (its dialect's) with its overrides.
    ///
    /// # Errors
    /// [`RouteError::Pattern`] for a route override that is not a valid pattern.
    pub fn compile(up: &Routing<'_>) -> Result<RouteTable, RouteError> {
        let name: Arc<str> = Arc::from(up.name);
        // An upstream cached by the standard reads its route settings in its own table.
        let standard = if cachearr_dialect::of(up.profile).caches_by_the_standard() {
            Some(standard::StandardRoutes::compile(
                up.name, up.http, up.routes,
            )?)
        } else {
            None
        };
        let media_routes = if standard.is_some() {
            &[][..]
        } else {
            up.routes
        };
        let defaults = cachearr_dialect::of(up.profile).routes();
        let lowercase = defaults.lowercase_paths;
        let classes = class_policies(up);
        let class_policy = |c: Class| classes[c as usize].clone();
        let (specs, searches) = (defaults.specs, defaults.searches);
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
                            index: searches
                                .iter()
                                .find(|(p, _)| p == pattern)
                                .map(|(_, search)| *search),
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
        let mut table = Table {
            router,
            routes,
            patterns,
        };
        for (index, o) in media_routes.iter().enumerate() {
            table.apply(up, &name, lowercase, (index, o))?;
        }
        let Table { router, routes, .. } = table;
        Ok(RouteTable {
            upstream: name,
            lowercase,
            play_state: defaults.play_state,
            built_in: defaults,
            router,
            routes,
            classes,
            standard,
        })
    }

    /// The operator's settings of an upstream cached by the HTTP caching standard.
    #[must_use]
    pub fn standard(&self) -> Option<&standard::StandardRoutes> {
        self.standard.as_ref()
    }

    /// The resolved policy of a class (after config overrides).
    pub fn class_policy(&self, class: Class) -> &ResolvedPolicy {
        &self.classes[class as usize]
    }

    /// Decides what to do with a client's request: an upgrade or a `Range` request by its
    /// headers (two lookups, each a miss on an ordinary request), else by its route
    /// ([`RouteTable::classify`]). `path` is the raw (still percent-encoded) path.
    pub fn decide(
        &self,
        method: &Method,
        headers: &HeaderMap,
        path: &str,
        query: Option<&str>,
    ) -> Decision<'_> {
        if is_upgrade(headers) {
            return Decision::Upgrade;
        }
        if let Some(standard) = &self.standard {
            return Decision::Standard(standard.route(path));
        }
        if headers.contains_key(header::RANGE) {
            return Decision::Range;
        }
        self.classify(method, path, query)
    }

    /// Decides what to do with a request by its route alone (the gateway's own reads, which
    /// are never upgrades or ranges, come here directly). `path` is the raw (still
    /// percent-encoded) path.
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
            // A shuffled order is a new answer at every request: none stands for the next.
            Compiled::Read { .. } if self.built_in.sorts_at_random(query) => Decision::Pass,
            Compiled::Read {
                policy,
                tags: rules,
                fixed,
                refine,
                index,
            } => {
                let mut policy: &ResolvedPolicy = policy;
                let mut tags = fixed.clone();
                match refine {
                    Refine::None | Refine::Heartbeat { .. } => {}
                    Refine::NeedsQuery(name) => {
                        if query_value(query, name, true).is_none() {
                            return Decision::Pass;
                        }
                    }
                    Refine::Listing(asks) => {
                        policy = self.refine_listing(asks, query, policy, &mut tags);
                    }
                }
                if !policy.cache {
                    return Decision::Pass;
                }
                let user_state = self.param_tags(rules, params, query, &mut tags);
                // Only searches, listings and children listings are answered from the index
                // (an override that gives the route another class keeps it in the cache).
                let search = (index.filter(|search| search.answers(policy.class)))
                    .and_then(|search| search.of_query(query));
                match search {
                    Some(search) => Decision::AnswerFromIndex {
                        search,
                        policy,
                        tags,
                        user_state,
                    },
                    _ => Decision::Cache {
                        policy,
                        tags,
                        user_state,
                    },
                }
            }
            Compiled::Write {
                tags: rules,
                fixed,
                refine,
            } => self.write_decision(rules, fixed, refine, params, query),
        }
    }

    /// A listing's query refines its read: a search term makes it a search, a playlist type
    /// adds the playlists' tag, and a parent narrows its tags to that parent's (and that
    /// library's). Gives the policy the read goes by.
    fn refine_listing<'t>(
        &'t self,
        asks: &crate::model::route::ListingQuery,
        query: Option<&str>,
        mut policy: &'t ResolvedPolicy,
        tags: &mut Vec<Arc<str>>,
    ) -> &'t ResolvedPolicy {
        if query_value(query, asks.search, true).is_some_and(|v| !v.is_empty()) {
            policy = self.class_policy(Class::Search);
        }
        let (types, word) = asks.playlists;
        if query_value(query, types, true).is_some_and(|v| v.to_ascii_lowercase().contains(word)) {
            tags.push(Arc::from(tags::playlists(&self.upstream)));
        }
        if let Some(parent) = query_value(query, asks.parent, true) {
            let parent = parent.to_ascii_lowercase();
            // Under one parent: that parent's (or library's) tags, not every
            // list that spans libraries.
            let across = tags::across(&self.upstream);
            tags.retain(|t| **t != *across);
            tags.push(Arc::from(tags::item(&self.upstream, &parent)));
            let lists = if by_play_state(query, self.play_state) {
                tags::section(&self.upstream, &parent)
            } else {
                tags::members(&self.upstream, &parent)
            };
            tags.push(Arc::from(lists));
        }
        policy
    }

    /// A write's decision: its tags (the rules' and what a write touches beyond them), whether
    /// it changes the writer's play state, and a heartbeat's item and state.
    fn write_decision(
        &self,
        rules: &'static [TagRule],
        fixed: &[Arc<str>],
        refine: &Refine,
        params: &matchit::Params<'_, '_>,
        query: Option<&str>,
    ) -> Decision<'_> {
        let heartbeat = match refine {
            Refine::Heartbeat { item, state } => Some((
                item.iter()
                    .find_map(|name| query_value(query, name, false))
                    .unwrap_or_default(),
                query_value(query, state, false).unwrap_or_default(),
            )),
            _ => None,
        };
        let mut tags = fixed.to_vec();
        let user_state = self.param_tags(rules, params, query, &mut tags);
        self.write_tags(&mut tags);
        Decision::Write {
            tags,
            user_state,
            heartbeat,
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
                        out.push(Arc::from(if by_play_state(query, self.play_state) {
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

/// Whether a request asks to upgrade its connection to a WebSocket: `websocket` in its
/// `Upgrade` header, and `upgrade` among the `Connection` tokens. `Upgrade` is looked up
/// first, so an ordinary request costs one lookup. No other protocol is spliced through: an
/// `h2c` upgrade an origin accepted would leave the client speaking HTTP/2 straight to it,
/// past every rule of the gateway; such a request is an ordinary one (its `Upgrade` dropped
/// as the hop-by-hop field it is).
fn is_upgrade(h: &HeaderMap) -> bool {
    h.get_all(header::UPGRADE).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|p| p.trim_ascii().eq_ignore_ascii_case(b"websocket"))
    }) && h.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        })
    })
}

/// Whether a listing's query filters or sorts by play state (any parameter name or value
/// that mentions one of `words`): such a list changes with plays, not only with edits.
fn by_play_state(query: Option<&str>, words: &[&str]) -> bool {
    let Some(q) = query else {
        return false;
    };
    // Borrowed when nothing is escaped, and compared without a lower-cased copy: this runs
    // for every cached listing.
    let q = percent_encoding::percent_decode_str(q).decode_utf8_lossy();
    words
        .iter()
        .any(|w| contains_ignore_ascii_case(q.as_bytes(), w.as_bytes()))
}

/// Whether `haystack` holds `needle`, ASCII letters compared without case.
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
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
