//! The operator's settings of an upstream cached by the HTTP caching standard (`profile =
//! "http"`): what RFC 9111 leaves to a cache's operator, per path pattern.
//!
//! The standard decides from the response (its `Cache-Control`, `Expires`, validators and
//! `Vary`); an API that sends no caching headers, or wrong ones, needs the operator's word:
//! a lifetime for answers without one (`fresh`), one that replaces the origin's
//! (`override_origin`), stale windows beside the origin's, who shares an answer (`scope`),
//! tags to purge by, pass-through, and GraphQL `POST` queries keyed by their normalised body
//! with a lifetime per operation. [`StandardRoutes::compile`] turns the `[[upstream.route]]`
//! entries and `[upstream.http]` of one upstream into one `matchit` tree;
//! [`StandardRoutes::route`] finds a request's settings in one walk of its path (a path no
//! pattern matches gets the upstream's defaults: the standard alone).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cachearr_httpcache::{Heuristic, Options, Role};
use http::HeaderName;

use super::{RouteError, RouteOverride, Scope};

/// `[upstream.http]`: the upstream-wide settings of an `http` upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// Request headers whose value is a credential: they select the per-user scope (a keyed
    /// hash of the value) and never enter a key or a log line. `Authorization` and `Cookie`
    /// always count, beside these.
    pub credential_headers: Vec<HeaderName>,
    /// Query parameters whose value is a credential: as the headers, and removed from keys.
    pub credential_params: Vec<String>,
    /// Targeted cache-control fields obeyed, most specific first (RFC 9213).
    pub targeted: Vec<HeaderName>,
    /// Heuristic freshness for responses without an explicit lifetime (RFC 9111 §4.2.2).
    pub heuristic: Heuristic,
}

impl Default for HttpSettings {
    /// The *arr APIs' `X-Api-Key` header and `apikey` parameter (and `api_key`, which other
    /// self-hosted APIs take) are credentials; `CDN-Cache-Control` is obeyed; the RFC's
    /// typical heuristic.
    fn default() -> Self {
        Self {
            credential_headers: vec![HeaderName::from_static("x-api-key")],
            credential_params: vec!["apikey".to_owned(), "api_key".to_owned()],
            targeted: vec![http::header::CDN_CACHE_CONTROL],
            heuristic: Heuristic::default(),
        }
    }
}

/// The keys of `[[upstream.route]]` only an `http` upstream reads (the rest are in
/// [`super::PolicyOverride`]: `fresh`, the stale windows, `scope`, `cache`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StandardOverride {
    /// `fresh` replaces the origin's lifetime and its `no-cache`, `no-store` and `private`.
    pub override_origin: bool,
    /// Tags of the route's entries, purged by `POST /api/clear?tag={upstream}:{tag}`.
    pub tags: Vec<String>,
    /// `POST` bodies are GraphQL: queries are cached by their normalised body, mutations
    /// invalidate the route.
    pub graphql: bool,
    /// Lifetimes of GraphQL operations, by operation name.
    pub operations: Vec<(String, Duration)>,
}

/// Who shares an answer of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandardScope {
    /// The standard's rule: shared unless the request carries a credential; then that
    /// credential's unless the response allows sharing (`public`, `s-maxage`,
    /// `must-revalidate`).
    Standard,
    /// Always one credential's; a request without one is passed through.
    User,
    /// One entry for every client (an API that answers everyone alike).
    Shared,
}

/// A route's settings, compiled.
#[derive(Debug)]
pub struct StandardRoute {
    /// The tag every entry of the route carries (a GraphQL mutation drops them all).
    pub route_tag: Arc<str>,
    /// `false`: pass-through (a write still invalidates).
    pub cache: bool,
    /// Who shares an answer.
    pub scope: StandardScope,
    /// The operator's lifetime, in seconds, for answers without one.
    pub fresh: Option<u32>,
    /// `fresh` replaces the origin's lifetime and its `no-cache`, `no-store` and `private`.
    pub override_origin: bool,
    /// The standard's options for the shared scope.
    pub shared: Options,
    /// The standard's options for one credential's scope.
    pub private: Options,
    /// Engine tags of the route's entries (`{upstream}:{tag}`), the route's own first.
    pub tags: Vec<Arc<str>>,
    /// GraphQL `POST` queries: lifetimes by operation name (`None`: not a GraphQL route).
    pub graphql: Option<HashMap<String, u32>>,
}

impl StandardRoute {
    /// The options of a scope: shared, or one credential's.
    #[must_use]
    pub fn options(&self, private: bool) -> &Options {
        if private { &self.private } else { &self.shared }
    }

    /// The lifetime a GraphQL operation is given, in seconds: its own, else the route's.
    #[must_use]
    pub fn operation_lifetime(&self, operation: Option<&str>) -> Option<u32> {
        let own = self
            .graphql
            .as_ref()
            .zip(operation)
            .and_then(|(ops, name)| ops.get(name).copied());
        own.or(self.fresh)
    }

    fn new(
        upstream: &str,
        pattern: &str,
        settings: &HttpSettings,
        route: Option<&RouteOverride>,
    ) -> Self {
        let policy = route.map(|r| &r.policy);
        let own = route.map(|r| &r.standard);
        let secs = |d: Option<Duration>| d.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let fresh = secs(policy.and_then(|p| p.fresh));
        let options = |role| Options {
            role,
            targeted: settings.targeted.clone(),
            heuristic: settings.heuristic,
            fallback_lifetime: fresh,
            stale_while_revalidate: secs(policy.and_then(|p| p.stale_while_revalidate))
                .unwrap_or(0),
            stale_if_error: secs(policy.and_then(|p| p.stale_if_error)).unwrap_or(0),
        };
        let scope = match policy.and_then(|p| p.scope) {
            None => StandardScope::Standard,
            Some(Scope::User) => StandardScope::User,
            Some(Scope::Shared) => StandardScope::Shared,
        };
        let mut tags: Vec<Arc<str>> = vec![Arc::from(format!("{upstream}|std-route|{pattern}"))];
        tags.extend(
            own.iter()
                .flat_map(|o| o.tags.iter())
                .map(|t| Arc::from(format!("{upstream}:{t}"))),
        );
        let graphql = own.filter(|o| o.graphql).map(|o| {
            o.operations
                .iter()
                .map(|(name, d)| (name.clone(), secs(Some(*d)).unwrap_or(0)))
                .collect()
        });
        StandardRoute {
            route_tag: tags[0].clone(),
            cache: policy.and_then(|p| p.cache).unwrap_or(true),
            scope,
            fresh,
            override_origin: own.is_some_and(|o| o.override_origin) && fresh.is_some(),
            shared: options(Role::Shared),
            private: options(Role::Private),
            tags,
            graphql,
        }
    }
}

/// The compiled settings of one `http` upstream.
#[derive(Debug)]
pub struct StandardRoutes {
    router: matchit::Router<usize>,
    routes: Vec<Arc<StandardRoute>>,
    /// The settings of a path no pattern matches.
    default: Arc<StandardRoute>,
    /// The upstream-wide settings.
    pub settings: HttpSettings,
}

impl StandardRoutes {
    /// Compiles the upstream's route settings, in file order (the first of two equal patterns
    /// is an error, as for the media profiles).
    ///
    /// # Errors
    /// [`RouteError::Pattern`] for a pattern `matchit` refuses.
    pub fn compile(
        upstream: &str,
        settings: &HttpSettings,
        routes: &[RouteOverride],
    ) -> Result<Self, RouteError> {
        let mut router = matchit::Router::new();
        let mut compiled = Vec::with_capacity(routes.len());
        for (index, r) in routes.iter().enumerate() {
            router
                .insert(r.pattern.clone(), compiled.len())
                .map_err(|e| RouteError::Pattern {
                    index,
                    message: format!("{:?}: {e}", r.pattern),
                })?;
            compiled.push(Arc::new(StandardRoute::new(
                upstream,
                &r.pattern,
                settings,
                Some(r),
            )));
        }
        Ok(StandardRoutes {
            router,
            routes: compiled,
            default: Arc::new(StandardRoute::new(upstream, "*", settings, None)),
            settings: settings.clone(),
        })
    }

    /// The settings of a request's (raw) path (shared: a background refresh keeps them).
    #[must_use]
    pub fn route(&self, path: &str) -> &Arc<StandardRoute> {
        self.router
            .at(path)
            .ok()
            .and_then(|m| self.routes.get(*m.value))
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::policy::PolicyOverride;

    fn route(pattern: &str, policy: PolicyOverride, standard: StandardOverride) -> RouteOverride {
        RouteOverride {
            pattern: pattern.to_owned(),
            class: None,
            policy,
            standard,
            origin: "test:1".to_owned(),
        }
    }

    #[test]
    fn a_path_gets_its_routes_settings_and_the_rest_the_standard_alone() {
        let routes = vec![
            route(
                "/api/v3/{*rest}",
                PolicyOverride {
                    fresh: Some(Duration::from_secs(30)),
                    stale_while_revalidate: Some(Duration::from_secs(300)),
                    ..PolicyOverride::default()
                },
                StandardOverride {
                    tags: vec!["sonarr".into()],
                    ..StandardOverride::default()
                },
            ),
            route(
                "/api/v3/command",
                PolicyOverride {
                    cache: Some(false),
                    ..PolicyOverride::default()
                },
                StandardOverride::default(),
            ),
        ];
        let table = StandardRoutes::compile("arr", &HttpSettings::default(), &routes).unwrap();
        let series = table.route("/api/v3/series");
        assert_eq!(series.fresh, Some(30));
        assert_eq!(series.shared.fallback_lifetime, Some(30));
        assert_eq!(series.private.stale_while_revalidate, 300);
        assert_eq!(series.private.role, Role::Private);
        assert_eq!(series.tags[1].as_ref(), "arr:sonarr");
        assert!(series.cache);
        assert!(!table.route("/api/v3/command").cache);
        let other = table.route("/ping");
        assert_eq!(other.fresh, None);
        assert_eq!(other.scope, StandardScope::Standard);
        assert_ne!(other.route_tag, series.route_tag);
    }

    #[test]
    fn override_needs_a_lifetime_and_operations_fall_back_to_the_routes() {
        let routes = vec![
            route(
                "/calendar",
                PolicyOverride::default(),
                StandardOverride {
                    override_origin: true,
                    ..StandardOverride::default()
                },
            ),
            route(
                "/graphql",
                PolicyOverride {
                    fresh: Some(Duration::from_secs(60)),
                    scope: Some(Scope::Shared),
                    ..PolicyOverride::default()
                },
                StandardOverride {
                    graphql: true,
                    operations: vec![("Stats".into(), Duration::from_secs(30))],
                    ..StandardOverride::default()
                },
            ),
        ];
        let table = StandardRoutes::compile("api", &HttpSettings::default(), &routes).unwrap();
        // Nothing to override the origin with.
        assert!(!table.route("/calendar").override_origin);
        let gql = table.route("/graphql");
        assert_eq!(gql.scope, StandardScope::Shared);
        assert_eq!(gql.operation_lifetime(Some("Stats")), Some(30));
        assert_eq!(gql.operation_lifetime(Some("Other")), Some(60));
        assert_eq!(gql.operation_lifetime(None), Some(60));
        assert!(table.route("/calendar").graphql.is_none());
    }

    #[test]
    fn two_equal_patterns_are_refused_with_the_seconds_index() {
        let routes = vec![
            route("/a", PolicyOverride::default(), StandardOverride::default()),
            route("/a", PolicyOverride::default(), StandardOverride::default()),
        ];
        let err = StandardRoutes::compile("api", &HttpSettings::default(), &routes).unwrap_err();
        assert!(matches!(err, RouteError::Pattern { index: 1, .. }));
    }
}
