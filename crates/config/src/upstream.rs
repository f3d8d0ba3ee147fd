//! `[[upstream]]`: one media server each, with its listener, owner token, TLS checks,
//! `[upstream.guard]`, class policies, `[[upstream.route]]` overrides, warm list and
//! `[upstream.prefetch]`; and `[policy.*]`, the class policies of every upstream.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::position::Checker;
use super::server::{DEFAULT_LISTEN, parse_addr};
use super::values::{Dur, above_zero, duration, rate};
use super::{ConfigError, TlsConfig, read_secret_file};
use crate::policy::standard::{HttpSettings, StandardOverride};
use crate::policy::{Class, PolicyOverride, RouteOverride, Routing, Scope};
use cachearr_dialect::Profile;

/// Most retries an upstream may be given: each one multiplies the worst-case wait of a load.
pub const MAX_RETRIES: u32 = 10;

/// One upstream media server.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Short name: the first part of every cache key and tag (`plex`, `jellyfin`, `living-room`).
    pub name: String,
    /// Which API it speaks.
    pub profile: Profile,
    /// Base URL (`http://host:32400`); a path prefix is kept.
    pub url: http::Uri,
    /// The proxy listener for this upstream.
    pub listen: SocketAddr,
    /// The owner's token: the library index crawl, the notification socket and playlist sync
    /// use it. Never logged. From the file's `token` / `token_file`, or (beating the file)
    /// `--plex-token`, `CACHEARR_PLEX_TOKEN`, `CACHEARR_UPSTREAM_<NAME>_TOKEN` and their
    /// `*_FILE` forms.
    pub token: Option<String>,
    /// How an `https://` upstream's certificate is checked.
    pub tls: TlsConfig,
    /// Protection of the upstream.
    pub guard: GuardConfig,
    /// Per-class policy overrides (on top of the global ones).
    pub classes: Vec<(Class, PolicyOverride)>,
    /// Per-path-pattern overrides, in file order.
    pub routes: Vec<RouteOverride>,
    /// Paths (with query) warmed for each recently seen user by `POST /api/warm`.
    pub warm: Vec<String>,
    /// Prefetch after listings (what a browsing client opens next).
    pub prefetch: PrefetchConfig,
    /// `[upstream.http]`: credentials, targeted fields and heuristic of an `http` upstream.
    pub http: HttpSettings,
    /// Where the server's shares and their filters are read, for a server that does not keep
    /// them itself (its dialect's [`ShareService`](cachearr_dialect::shares::ShareService);
    /// for Plex `plextv_url`, default `https://plex.tv`). `None` for the others.
    pub account_service_url: Option<http::Uri>,
}

/// How hard cachearr may lean on one upstream: `[upstream.guard]` in the file, read straight
/// into this type (every key optional, the defaults from [`GuardConfig::default`]); a zero
/// budget, a rate that is not above zero or too many retries is an error at its line.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Concurrent client requests in flight to the upstream.
    #[serde(deserialize_with = "max_concurrent")]
    pub max_concurrent: usize,
    /// Sustained client requests per second (token bucket).
    #[serde(deserialize_with = "rate_per_sec")]
    pub rate_per_sec: f64,
    /// Burst size of the token bucket.
    #[serde(deserialize_with = "burst")]
    pub burst: u32,
    /// TCP connect timeout.
    #[serde(deserialize_with = "connect_timeout")]
    pub connect_timeout: Duration,
    /// Time to the response headers (and, for cached reads, to the whole body).
    #[serde(deserialize_with = "read_timeout")]
    pub read_timeout: Duration,
    /// Retries for idempotent reads after connect errors, timeouts, 502/503/504 (at most
    /// [`MAX_RETRIES`]).
    #[serde(deserialize_with = "retries")]
    pub retries: u32,
    /// Base of the jittered exponential back-off between retries.
    #[serde(deserialize_with = "duration")]
    pub retry_backoff: Duration,
    /// Consecutive failures that open the circuit.
    #[serde(deserialize_with = "breaker_failures")]
    pub breaker_failures: u32,
    /// How long the circuit stays open before one probe is let through.
    #[serde(deserialize_with = "duration")]
    pub breaker_cooldown: Duration,
    /// Concurrent background requests (refresh, warm, prefetch); a separate, smaller budget.
    #[serde(deserialize_with = "background_max_concurrent")]
    pub background_max_concurrent: usize,
    /// Background requests per second.
    #[serde(deserialize_with = "background_rate_per_sec")]
    pub background_rate_per_sec: f64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 32,
            rate_per_sec: 200.0,
            burst: 400,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(60),
            retries: 2,
            retry_backoff: Duration::from_millis(50),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(10),
            background_max_concurrent: 4,
            background_rate_per_sec: 20.0,
        }
    }
}

fn max_concurrent<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    above_zero(d, "max_concurrent")
}

fn rate_per_sec<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    rate(d, "rate_per_sec")
}

fn burst<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    above_zero(d, "burst")
}

fn connect_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    above_zero(d, "connect_timeout").map(|t: Dur| t.0)
}

fn read_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    above_zero(d, "read_timeout").map(|t: Dur| t.0)
}

fn retries<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n > MAX_RETRIES {
        return Err(D::Error::custom(format!(
            "retries is at most {MAX_RETRIES}"
        )));
    }
    Ok(n)
}

fn breaker_failures<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    above_zero(d, "breaker_failures")
}

fn background_max_concurrent<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    above_zero(d, "background_max_concurrent")
}

fn background_rate_per_sec<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    rate(d, "background_rate_per_sec")
}

/// Prefetch settings (used by the prefetcher): `[upstream.prefetch]`, read straight into this
/// type with the defaults of [`PrefetchConfig::default`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrefetchConfig {
    /// Whether prefetch runs at all.
    pub enabled: bool,
    /// Most follow-up requests one listing may trigger.
    pub max_per_listing: usize,
    /// Once a client has read a listing page and two of its items singly, fetch the rest of
    /// the page's items in one request (Plex `/library/metadata/{id},{id},…`, Jellyfin
    /// `/Users/{uid}/Items?Ids=…`) and store each as its single answer (`docs/change-feed.md`).
    pub batch_metadata: bool,
}

impl Default for PrefetchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_listing: 20,
            batch_metadata: true,
        }
    }
}

impl UpstreamConfig {
    /// What the route table is compiled from ([`crate::policy::RouteTable::compile`]).
    pub fn routing(&self) -> Routing<'_> {
        Routing {
            name: &self.name,
            profile: self.profile,
            classes: &self.classes,
            routes: &self.routes,
            http: &self.http,
        }
    }

    /// An upstream with default guard, policies and warm list.
    pub fn new(name: &str, profile: Profile, url: http::Uri, listen: SocketAddr) -> Self {
        Self {
            name: name.to_string(),
            profile,
            url,
            listen,
            token: None,
            tls: TlsConfig::default(),
            guard: GuardConfig::default(),
            classes: Vec::new(),
            routes: Vec::new(),
            warm: cachearr_dialect::of(profile)
                .default_warm()
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            prefetch: PrefetchConfig::default(),
            http: HttpSettings::default(),
            account_service_url: cachearr_dialect::of(profile)
                .share_service()
                .and_then(|service| service.default_url().parse().ok()),
        }
    }
}

/// The first default listener address no upstream uses yet (8484, 8494, …).
pub(super) fn next_free_listen(upstreams: &[UpstreamConfig]) -> SocketAddr {
    let mut addr = parse_addr(DEFAULT_LISTEN);
    while upstreams.iter().any(|u| u.listen == addr) {
        addr.set_port(addr.port().saturating_add(10));
    }
    addr
}

/// Why an upstream URL is not usable. The message quotes the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// It does not parse.
    #[error("{url:?} is not a URL")]
    NotAUrl {
        /// The URL as given.
        url: String,
        /// What the parser said.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// Not `http://` or `https://`.
    #[error("{0:?} must start with http:// or https://")]
    Scheme(String),
    /// No host.
    #[error("{0:?} has no host")]
    NoHost(String),
    /// `user:password@` in it.
    #[error("{0:?}: credentials in the URL are not supported")]
    Credentials(String),
    /// A `?query`.
    #[error("{0:?}: the upstream URL must not have a query")]
    Query(String),
}

/// Checks an upstream base URL: `http[s]://host[:port][/prefix]`, no query, no credentials.
///
/// # Errors
/// [`UrlError`] saying what is wrong.
pub fn parse_upstream_url(s: &str) -> Result<http::Uri, UrlError> {
    let uri: http::Uri =
        s.trim()
            .parse()
            .map_err(|source: http::uri::InvalidUri| UrlError::NotAUrl {
                url: s.to_owned(),
                source,
            })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(UrlError::Scheme(s.to_owned())),
    }
    let Some(authority) = uri.authority() else {
        return Err(UrlError::NoHost(s.to_owned()));
    };
    if authority.as_str().contains('@') {
        return Err(UrlError::Credentials(s.to_owned()));
    }
    if uri.query().is_some() {
        return Err(UrlError::Query(s.to_owned()));
    }
    Ok(uri)
}

/// A class policy as written: `[policy.<class>]` or `[upstream.policy.<class>]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    fresh: Option<Dur>,
    stale_while_revalidate: Option<Dur>,
    stale_if_error: Option<Dur>,
    negative_ttl: Option<Dur>,
    scope: Option<Scope>,
    cache: Option<bool>,
}

impl RawPolicy {
    fn into_override(self) -> PolicyOverride {
        PolicyOverride {
            fresh: self.fresh.map(|d| d.0),
            stale_while_revalidate: self.stale_while_revalidate.map(|d| d.0),
            stale_if_error: self.stale_if_error.map(|d| d.0),
            negative_ttl: self.negative_ttl.map(|d| d.0),
            scope: self.scope,
            cache: self.cache,
        }
    }
}

/// The class policies of a `policy` table, each class name checked.
pub(super) fn class_overrides(
    map: BTreeMap<Spanned<String>, RawPolicy>,
    check: &Checker<'_>,
) -> Result<Vec<(Class, PolicyOverride)>, ConfigError> {
    let mut out = Vec::new();
    for (name, raw) in map {
        let class = Class::from_name(name.get_ref()).ok_or_else(|| {
            check.err(
                name.span().start,
                format!(
                    "unknown class {:?}; the classes are {}",
                    name.get_ref(),
                    Class::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        out.push((class, raw.into_override()));
    }
    Ok(out)
}

/// `[[upstream]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    name: Option<Spanned<String>>,
    profile: Profile,
    url: Spanned<String>,
    listen: Option<Spanned<SocketAddr>>,
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<PathBuf>>,
    ca: Option<Spanned<PathBuf>>,
    server_name: Option<Spanned<String>>,
    #[serde(default)]
    guard: GuardConfig,
    #[serde(default)]
    policy: BTreeMap<Spanned<String>, RawPolicy>,
    #[serde(default)]
    route: Vec<RawRoute>,
    warm: Option<Vec<String>>,
    #[serde(default)]
    prefetch: PrefetchConfig,
    http: Option<Spanned<RawHttp>>,
    /// The account service's address: its key is the dialect's
    /// (`ShareService::config_key`), checked against it when read.
    #[serde(rename = "plextv_url")]
    account_service_url: Option<Spanned<String>>,
}

/// `[upstream.http]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    credential_headers: Option<Vec<Spanned<String>>>,
    credential_params: Option<Vec<String>>,
    targeted: Option<Vec<Spanned<String>>>,
    heuristic_percent: Option<u32>,
    heuristic_max: Option<Dur>,
}

/// A route's `scope` as written: the media profiles' two, and an `http` upstream's
/// `standard` (the standard's own rule).
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawScope {
    User,
    Shared,
    Standard,
}

/// `[[upstream.route]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: Spanned<String>,
    class: Option<Spanned<Class>>,
    fresh: Option<Dur>,
    stale_while_revalidate: Option<Dur>,
    stale_if_error: Option<Dur>,
    negative_ttl: Option<Spanned<Dur>>,
    scope: Option<Spanned<RawScope>>,
    cache: Option<bool>,
    override_origin: Option<Spanned<bool>>,
    tags: Option<Spanned<Vec<String>>>,
    graphql: Option<Spanned<bool>>,
    operations: Option<Spanned<BTreeMap<String, Dur>>>,
}

impl RawRoute {
    /// The route, checked against what its upstream's profile reads: the `http` keys only
    /// for an upstream cached by the standard, `class` and `negative_ttl` only for the
    /// others.
    fn read(self, standard: bool, check: &Checker<'_>) -> Result<RouteOverride, ConfigError> {
        let pattern = self.path.get_ref().clone();
        crate::policy::check_pattern(&pattern)
            .map_err(|e| check.err(self.path.span().start, crate::said(&e)))?;
        let http_only = [
            (
                self.override_origin.as_ref().map(|v| v.span().start),
                "override_origin",
            ),
            (self.tags.as_ref().map(|v| v.span().start), "tags"),
            (self.graphql.as_ref().map(|v| v.span().start), "graphql"),
            (
                self.operations.as_ref().map(|v| v.span().start),
                "operations",
            ),
        ];
        let media_only = [
            (self.class.as_ref().map(|v| v.span().start), "class"),
            (
                self.negative_ttl.as_ref().map(|v| v.span().start),
                "negative_ttl",
            ),
        ];
        for (pos, key) in http_only {
            if let (Some(pos), false) = (pos, standard) {
                return Err(check.err(pos, format!("{key} applies only to an http upstream")));
            }
        }
        for (pos, key) in media_only {
            if let (Some(pos), true) = (pos, standard) {
                return Err(check.err(
                    pos,
                    format!("{key} does not apply to an http upstream (the standard decides)"),
                ));
            }
        }
        let scope = match self.scope {
            None => None,
            Some(s) => match (*s.get_ref(), standard) {
                (RawScope::User, _) => Some(Scope::User),
                (RawScope::Shared, _) => Some(Scope::Shared),
                (RawScope::Standard, true) => None,
                (RawScope::Standard, false) => {
                    return Err(check.err(
                        s.span().start,
                        "scope \"standard\" applies only to an http upstream; use \"user\" or \"shared\"",
                    ));
                }
            },
        };
        if let Some(ops) = &self.operations
            && !self.graphql.as_ref().is_some_and(|g| *g.get_ref())
        {
            return Err(check.err(ops.span().start, "operations needs graphql = true"));
        }
        if let Some(o) = &self.override_origin
            && *o.get_ref()
            && self.fresh.is_none()
        {
            return Err(check.err(
                o.span().start,
                "override_origin needs fresh: the lifetime that replaces the origin's",
            ));
        }
        let origin = format!(
            "{}:{}",
            check.origin(),
            check.line_of(self.path.span().start)
        );
        Ok(RouteOverride {
            pattern,
            class: self.class.map(Spanned::into_inner),
            policy: PolicyOverride {
                fresh: self.fresh.map(|d| d.0),
                stale_while_revalidate: self.stale_while_revalidate.map(|d| d.0),
                stale_if_error: self.stale_if_error.map(|d| d.0),
                negative_ttl: self.negative_ttl.map(|d| d.into_inner().0),
                scope,
                cache: self.cache,
            },
            standard: StandardOverride {
                override_origin: self.override_origin.is_some_and(|o| o.into_inner()),
                tags: self.tags.map(Spanned::into_inner).unwrap_or_default(),
                graphql: self.graphql.is_some_and(|g| g.into_inner()),
                operations: self
                    .operations
                    .map(Spanned::into_inner)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, d)| (name, d.0))
                    .collect(),
            },
            origin,
        })
    }
}

impl RawHttp {
    /// The settings, each header name checked and the heuristic bounded.
    fn read(self, check: &Checker<'_>) -> Result<HttpSettings, ConfigError> {
        let mut out = HttpSettings::default();
        let names = |list: Vec<Spanned<String>>| {
            list.into_iter()
                .map(|n| {
                    http::HeaderName::from_bytes(n.get_ref().trim().as_bytes()).map_err(|_| {
                        check.err(
                            n.span().start,
                            format!("{:?} is not a header name", n.get_ref()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        if let Some(list) = self.credential_headers {
            out.credential_headers = names(list)?;
        }
        if let Some(list) = self.credential_params {
            out.credential_params = list;
        }
        if let Some(list) = self.targeted {
            out.targeted = names(list)?;
        }
        if let Some(p) = self.heuristic_percent {
            out.heuristic.percent = p.min(100);
        }
        if let Some(d) = self.heuristic_max {
            out.heuristic.max_secs = u32::try_from(d.0.as_secs()).unwrap_or(u32::MAX);
        }
        Ok(out)
    }
}

impl RawUpstream {
    /// The `index`-th upstream of the file; `earlier` are the ones before it (names and
    /// listeners must differ), `global` the `[policy.*]` classes every upstream starts from.
    pub(super) fn read(
        self,
        index: usize,
        earlier: &[UpstreamConfig],
        global: &[(Class, PolicyOverride)],
        check: &Checker<'_>,
    ) -> Result<UpstreamConfig, ConfigError> {
        let raw = self;
        let url = parse_upstream_url(raw.url.get_ref())
            .map_err(|e| check.err(raw.url.span().start, crate::said(&e)))?;
        let name = upstream_name(raw.name.as_ref(), raw.profile, index, check)?;
        let listen = match raw.listen {
            Some(l) => l.into_inner(),
            None => next_free_listen(earlier),
        };
        let mut up = UpstreamConfig::new(&name, raw.profile, url, listen);
        up.token = owner_token(raw.token, raw.token_file, check)?;
        let https = up.url.scheme_str() == Some("https");
        up.tls = read_tls(raw.ca, raw.server_name, https, check)?;
        up.guard = raw.guard;
        // Global class overrides first, the upstream's own after: later entries win.
        up.classes = global.to_vec();
        up.classes.extend(class_overrides(raw.policy, check)?);
        let standard = cachearr_dialect::of(raw.profile).caches_by_the_standard();
        if let Some(http) = raw.http {
            if !standard {
                return Err(check.err(
                    http.span().start,
                    "[upstream.http] applies only to an upstream with profile = \"http\"",
                ));
            }
            up.http = http.into_inner().read(check)?;
        }
        if let Some(url) = raw.account_service_url {
            up.account_service_url = Some(account_service_url(raw.profile, &url, check)?);
        }
        for r in raw.route {
            up.routes.push(r.read(standard, check)?);
        }
        // Compile now so a conflicting pattern is reported at its line.
        crate::policy::RouteTable::compile(&up.routing()).map_err(|e| match e {
            crate::policy::RouteError::Pattern { index, message } => {
                let origin = up.routes.get(index).map_or("", |r| r.origin.as_str());
                ConfigError::Invalid(format!("{origin}: {message}"))
            }
        })?;
        if let Some(w) = raw.warm {
            up.warm = w;
        }
        up.prefetch = raw.prefetch;
        if let Some(prev) = earlier.iter().find(|u| u.name == up.name) {
            let pos = raw
                .name
                .as_ref()
                .map_or(raw.url.span().start, |n| n.span().start);
            return Err(check.err(pos, format!("a second upstream named {:?}", prev.name)));
        }
        if let Some(prev) = earlier.iter().find(|u| u.listen == up.listen) {
            return Err(check.err(
                raw.url.span().start,
                format!("upstream {:?} already listens on {}", prev.name, up.listen),
            ));
        }
        Ok(up)
    }
}

/// The account service's address as written: an `http` or `https` URL, for a profile whose
/// dialect reads its shares from one.
fn account_service_url(
    profile: Profile,
    url: &Spanned<String>,
    check: &Checker<'_>,
) -> Result<http::Uri, ConfigError> {
    let at = url.span().start;
    let Some(service) = cachearr_dialect::of(profile).share_service() else {
        return Err(check.err(
            at,
            format!(
                "profile {:?} reads no shares from an account service",
                profile.as_str()
            ),
        ));
    };
    let key = service.config_key();
    let parsed: http::Uri = url
        .get_ref()
        .trim_end_matches('/')
        .parse()
        .map_err(|_| check.err(at, format!("{key}: {:?} is not a URL", url.get_ref())))?;
    if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.authority().is_none() {
        return Err(check.err(
            at,
            format!("{key}: {:?} is not an http(s) URL", url.get_ref()),
        ));
    }
    Ok(parsed)
}

/// The upstream's name: the one given (letters, digits, '-' and '_'), or else its profile's,
/// numbered after the first upstream.
fn upstream_name(
    given: Option<&Spanned<String>>,
    profile: Profile,
    index: usize,
    check: &Checker<'_>,
) -> Result<String, ConfigError> {
    Ok(match given {
        Some(n) => {
            let ok = !n.get_ref().is_empty()
                && n.get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(check.err(
                    n.span().start,
                    "an upstream name is letters, digits, '-' and '_'",
                ));
            }
            n.get_ref().clone()
        }
        None if index == 0 => profile.as_str().to_string(),
        None => format!("{}-{}", profile.as_str(), index + 1),
    })
}

/// The owner's token, given inline or in `token_file` (not both, and not empty).
fn owner_token(
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<PathBuf>>,
    check: &Checker<'_>,
) -> Result<Option<String>, ConfigError> {
    Ok(match (token, token_file) {
        (Some(t), _) if t.get_ref().trim().is_empty() => {
            return Err(check.err(
                t.span().start,
                "token is empty: remove the line or give the owner's token",
            ));
        }
        (Some(t), Some(_)) => {
            return Err(check.err(t.span().start, "give token or token_file, not both"));
        }
        (Some(t), None) => Some(t.get_ref().trim().to_string()),
        (None, Some(f)) => Some(
            read_secret_file(f.get_ref(), "token_file")
                .map_err(|e| check.err(f.span().start, crate::said(&e)))?,
        ),
        (None, None) => None,
    })
}

/// The upstream's TLS settings: `ca` and `server_name` apply only to an https:// upstream
/// (`https`), and are checked now so a bad one is reported at its line.
fn read_tls(
    ca: Option<Spanned<PathBuf>>,
    server_name: Option<Spanned<String>>,
    https: bool,
    check: &Checker<'_>,
) -> Result<TlsConfig, ConfigError> {
    let tls_fields = [
        (ca.as_ref().map(|f| f.span().start), "ca"),
        (server_name.as_ref().map(|f| f.span().start), "server_name"),
    ];
    for (pos, what) in tls_fields {
        if let (Some(pos), false) = (pos, https) {
            return Err(check.err(pos, format!("{what} only applies to an https:// upstream")));
        }
    }
    let mut tls = TlsConfig::default();
    if let Some(ca) = ca {
        crate::tls::read_roots(ca.get_ref())
            .map_err(|e| check.err(ca.span().start, crate::said(&e)))?;
        tls.ca_file = Some(ca.into_inner());
    }
    if let Some(n) = server_name {
        crate::tls::check_server_name(n.get_ref())
            .map_err(|e| check.err(n.span().start, e.to_string()))?;
        tls.server_name = Some(n.into_inner());
    }
    Ok(tls)
}
