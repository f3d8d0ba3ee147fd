//! Configuration: the TOML file, the command-line/environment overrides, validation with errors
//! that point at the offending line, and the commented example (`cachearr config example`).
//!
//! Layering, lowest to highest: built-in defaults → the file → `CACHEARR_*` environment
//! variables → flags. clap merges the last two (every flag has an `env`), so this module only
//! sees a [`ConfigOverrides`] on top of the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::policy::{Class, Profile, Routing, Scope};
pub use crate::policy::{PolicyOverride, RouteOverride};
pub use crate::tls::TlsConfig;

/// Where the admin listener binds unless told otherwise: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:8485";
/// Where the first upstream's proxy listener binds unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8484";

/// A configuration problem. Parse and validation errors carry the line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{origin}:{line}:{column}: {message}\n{snippet}")]
    Parse {
        /// File name (or `<config>`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// The offending line with a caret under the column.
        snippet: String,
    },
    /// A value is unusable and has no position (it came from a flag or the environment).
    #[error("{0}")]
    Invalid(String),
}

/// The whole, validated configuration of one gateway process.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory for the disk tier, the installation secret and other state.
    pub data_dir: PathBuf,
    /// Admin listener address (loopback by default).
    pub admin_listen: SocketAddr,
    /// Token required by mutating admin endpoints; required to bind the admin listener beyond
    /// loopback. Kept in memory only.
    pub admin_token: Option<String>,
    /// Host names the admin listener answers to besides `localhost` and IP addresses (a name
    /// behind a reverse proxy, a LAN name); any other `Host` gets a 403 (DNS rebinding guard).
    pub admin_allowed_hosts: Vec<String>,
    /// Memory tier byte limit.
    pub memory_max_bytes: u64,
    /// Whether the embedded disk tier is on.
    pub disk_enabled: bool,
    /// Disk tier byte limit.
    pub disk_max_bytes: u64,
    /// Optional Redis / Valkey URL for the shared tier: `redis://[user:password@]host:port/db`,
    /// `rediss://` for TLS, a Redis Cluster by its seed nodes (`redis+cluster://host:port`
    /// or several comma-separated URLs), or the master Sentinel names
    /// (`redis+sentinel://host:port[,host:port]/master`).
    pub redis_url: Option<String>,
    /// PEM file of the root certificate(s) to trust for `rediss://` (default: system roots).
    pub redis_ca: Option<PathBuf>,
    /// The longest a request waits for another gateway's load of the same key before loading
    /// by itself (default 5 s).
    pub redis_lock_wait: Duration,
    /// Bound on each Redis command; a slower answer counts as a miss.
    pub redis_timeout: Duration,
    /// Key namespace in Redis (default `cachearr`): gateways meant to share a cache use the
    /// same one; two installations on one Redis use different ones.
    pub redis_namespace: Option<String>,
    /// Limits on client requests.
    pub limits: RequestLimits,
    /// How long after the upstream accepted a token that token may read shared-scope entries.
    pub token_trust: Duration,
    /// The upstream servers, each with its own proxy listener.
    pub upstreams: Vec<UpstreamConfig>,
    /// The library index (crawl, schedule, persistence).
    pub index: IndexConfig,
    /// Cache validity from the server's change feed (`docs/change-feed.md`).
    pub feed: FeedConfig,
}

/// Cache validity from the change feed: `[feed]` in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedConfig {
    /// Whether answers about library content stay fresh past their class TTL while the change
    /// feed is healthy (on by default; it only takes effect once the feed proves healthy).
    pub enabled: bool,
    /// How long such an answer stays fresh at most while nothing it depends on changed.
    pub horizon: Duration,
    /// Sampled revalidations per minute (background budget): a random feed-validated entry is
    /// fetched again and compared. 0 turns sampling off.
    pub samples_per_minute: u32,
    /// Matching samples in a row that prove a class's feed again after a mismatch.
    pub prove_after: u32,
    /// Without a webhook for this long (and no notification socket open), the feed cannot
    /// prove anything.
    pub webhook_window: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            horizon: Duration::from_secs(7 * 24 * 3600),
            samples_per_minute: 6,
            prove_after: 20,
            webhook_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// The library index of every upstream: `[index]` in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexConfig {
    /// Whether the gateway builds and keeps an index (on by default; off makes every search go
    /// to the server, with a warning).
    pub enabled: bool,
    /// A crawl that has not finished after this long is stopped (its progress is kept, so the
    /// next one resumes).
    pub build_timeout: Duration,
    /// How often the index is refreshed from the server (incrementally, by `updatedAt`).
    pub refresh_interval: Duration,
    /// A gateway that starts from a saved index whose last build or refresh is older than this
    /// refreshes it (incrementally) at once: changes made on the server while the gateway was
    /// down reach no event stream. A quick restart skips it, so restarts stay free; the window
    /// in which a change can be missed until the next scheduled refresh is at most this long.
    pub catch_up_after: Duration,
    /// Items asked for per page.
    pub page_size: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            build_timeout: Duration::from_secs(180 * 60),
            refresh_interval: Duration::from_secs(24 * 3600),
            catch_up_after: Duration::from_secs(10 * 60),
            page_size: 500,
        }
    }
}

/// Limits on what a client may send; beyond them the request gets a 4xx before any work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Longest request target (path + query) in bytes → 414.
    pub max_uri_bytes: usize,
    /// Largest header section in bytes → 431 (enforced by the HTTP/1 parser).
    pub max_header_bytes: usize,
    /// Most header fields → 431.
    pub max_headers: usize,
    /// Largest request body in bytes → 413.
    pub max_body_bytes: u64,
    /// Largest upstream response body the cache stores; larger answers are passed on unstored.
    pub max_cached_body_bytes: u64,
    /// Most open client connections per proxy listener; at the cap the connection idle the
    /// longest is closed for a new one. `None`: sized from the open-file limit at start
    /// ([`crate::connections::default_max_connections`]).
    pub max_connections: Option<usize>,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: 64 * 1024 * 1024,
            max_cached_body_bytes: 32 * 1024 * 1024,
            max_connections: None,
        }
    }
}

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
}

/// How hard cachearr may lean on one upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardConfig {
    /// Concurrent client requests in flight to the upstream.
    pub max_concurrent: usize,
    /// Sustained client requests per second (token bucket).
    pub rate_per_sec: f64,
    /// Burst size of the token bucket.
    pub burst: u32,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time to the response headers (and, for cached reads, to the whole body).
    pub read_timeout: Duration,
    /// Retries for idempotent reads after connect errors, timeouts, 502/503/504.
    pub retries: u32,
    /// Base of the jittered exponential back-off between retries.
    pub retry_backoff: Duration,
    /// Consecutive failures that open the circuit.
    pub breaker_failures: u32,
    /// How long the circuit stays open before one probe is let through.
    pub breaker_cooldown: Duration,
    /// Concurrent background requests (refresh, warm, prefetch); a separate, smaller budget.
    pub background_max_concurrent: usize,
    /// Background requests per second.
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

/// Prefetch settings (used by the prefetcher).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefetchConfig {
    /// Whether prefetch runs at all.
    pub enabled: bool,
    /// Most follow-up requests one listing may trigger.
    pub max_per_listing: usize,
    /// Plex: once a client has read a section's listing page and two of its items singly,
    /// fetch the rest of the page's items in one request (`/library/metadata/{id},{id},…`)
    /// and store each as its single answer (`docs/change-feed.md`).
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

/// Values given on the command line or in `CACHEARR_*` variables; they beat the file.
#[derive(Clone, Debug, Default)]
pub struct ConfigOverrides {
    /// `--plex URL`: the (first) Plex upstream's URL, added if the file has none.
    pub plex: Option<String>,
    /// `--jellyfin URL`: the (first) Jellyfin upstream's URL, added if the file has none.
    pub jellyfin: Option<String>,
    /// `--listen`: the first upstream's proxy listener.
    pub listen: Option<SocketAddr>,
    /// `--admin-listen`.
    pub admin_listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--admin-token` (or `CACHEARR_ADMIN_TOKEN`, `CACHEARR_ADMIN_TOKEN_FILE`).
    pub admin_token: Option<String>,
    /// `--plex-token`: the owner token of the (first) Plex upstream.
    pub plex_token: Option<String>,
    /// `--jellyfin-token`: the owner token (API key) of the (first) Jellyfin upstream.
    pub jellyfin_token: Option<String>,
    /// Every `CACHEARR_UPSTREAM_<NAME>_TOKEN` / `CACHEARR_UPSTREAM_<NAME>_TOKEN_FILE` variable
    /// (name, value): the owner token of the upstream called `<name>` (upper case, `-` as `_`).
    /// They beat `--plex-token` / `--jellyfin-token` and the file.
    pub upstream_env: Vec<(String, String)>,
    /// `--redis`.
    pub redis_url: Option<String>,
    /// `--memory-max` in bytes.
    pub memory_max_bytes: Option<u64>,
    /// `--no-disk`.
    pub no_disk: bool,
    /// `--no-index`: do not build the library index (`[index] enabled = false`).
    pub no_index: bool,
}

impl Config {
    /// Reads and validates a file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] if the file cannot be read; [`ConfigError::Parse`] with the line and
    /// column for syntax, schema and value errors.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in error messages.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] pointing at the offending line.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            if let Some((pos, message)) = single_bracket_table(text) {
                return parse_error(text, origin, pos, &message);
            }
            let span = e.span().unwrap_or(0..0);
            parse_error(text, origin, span.start, e.message())
        })?;
        raw.validate(text, origin)
    }

    /// The built-in defaults with no upstream (flags must add one).
    pub fn empty() -> Config {
        Config {
            data_dir: PathBuf::from("./data"),
            admin_listen: parse_addr(DEFAULT_ADMIN_LISTEN),
            admin_token: None,
            admin_allowed_hosts: Vec::new(),
            memory_max_bytes: 256 * 1024 * 1024,
            disk_enabled: true,
            disk_max_bytes: 4 * 1024 * 1024 * 1024,
            redis_url: None,
            redis_timeout: Duration::from_millis(250),
            redis_namespace: None,
            redis_ca: None,
            redis_lock_wait: Duration::from_secs(5),
            limits: RequestLimits::default(),
            token_trust: Duration::from_secs(3600),
            upstreams: Vec::new(),
            index: IndexConfig::default(),
            feed: FeedConfig::default(),
        }
    }

    /// A one-upstream configuration with defaults everywhere else (what `--plex URL` gives).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if the URL is unusable.
    pub fn single(profile: Profile, url: &str, listen: SocketAddr) -> Result<Config, ConfigError> {
        let mut config = Config::empty();
        config.upstreams.push(UpstreamConfig::new(
            profile.as_str(),
            profile,
            parse_upstream_url(url).map_err(ConfigError::Invalid)?,
            listen,
        ));
        Ok(config)
    }

    /// Applies flag / environment overrides, then checks the result is runnable.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unusable URL, no upstream at all, clashing listeners, or
    /// an admin listener beyond loopback without an admin token.
    pub fn apply_overrides(&mut self, o: ConfigOverrides) -> Result<(), ConfigError> {
        for (profile, url) in [(Profile::Plex, &o.plex), (Profile::Jellyfin, &o.jellyfin)] {
            let Some(url) = url else { continue };
            let uri = parse_upstream_url(url)
                .map_err(|e| ConfigError::Invalid(format!("--{}: {e}", profile.as_str())))?;
            match self.upstreams.iter_mut().find(|u| u.profile == profile) {
                Some(existing) => existing.url = uri,
                None => {
                    let listen = next_free_listen(&self.upstreams);
                    let mut name = profile.as_str().to_string();
                    if self.upstreams.iter().any(|u| u.name == name) {
                        name.push_str("-2");
                    }
                    self.upstreams
                        .push(UpstreamConfig::new(&name, profile, uri, listen));
                }
            }
        }
        if let Some(listen) = o.listen {
            match self.upstreams.first_mut() {
                Some(first) => first.listen = listen,
                None => {
                    return Err(ConfigError::Invalid(
                        "--listen given but no upstream".into(),
                    ));
                }
            }
        }
        if let Some(a) = o.admin_listen {
            self.admin_listen = a;
        }
        if let Some(d) = o.data_dir {
            self.data_dir = d;
        }
        if o.admin_token.is_some() {
            self.admin_token = o.admin_token;
        }
        for (profile, token) in [
            (Profile::Plex, o.plex_token),
            (Profile::Jellyfin, o.jellyfin_token),
        ] {
            let Some(token) = token else { continue };
            match self.upstreams.iter_mut().find(|u| u.profile == profile) {
                Some(up) => up.token = Some(token),
                None => {
                    return Err(ConfigError::Invalid(format!(
                        "--{0}-token given but there is no {0} upstream (add --{0} URL)",
                        profile.as_str()
                    )));
                }
            }
        }
        self.apply_upstream_env(&o.upstream_env)?;
        if o.redis_url.is_some() {
            self.redis_url = o.redis_url;
        }
        if let Some(m) = o.memory_max_bytes {
            self.memory_max_bytes = m;
        }
        if o.no_disk {
            self.disk_enabled = false;
        }
        if o.no_index {
            self.index.enabled = false;
        }
        self.check_runnable()
    }

    /// Applies `CACHEARR_UPSTREAM_<NAME>_TOKEN[_FILE]` variables; one naming no upstream is an
    /// error (a typo would otherwise leave the index without a token, silently).
    fn apply_upstream_env(&mut self, vars: &[(String, String)]) -> Result<(), ConfigError> {
        for (var, value) in vars {
            let Some(rest) = var.strip_prefix(UPSTREAM_ENV_PREFIX) else {
                continue;
            };
            let (name, from_file) = if let Some(n) = rest.strip_suffix("_TOKEN_FILE") {
                (n, true)
            } else if let Some(n) = rest.strip_suffix("_TOKEN") {
                (n, false)
            } else {
                return Err(ConfigError::Invalid(format!(
                    "{var}: unknown variable (per-upstream variables are                      {UPSTREAM_ENV_PREFIX}<NAME>_TOKEN and {UPSTREAM_ENV_PREFIX}<NAME>_TOKEN_FILE)"
                )));
            };
            let Some(up) = self
                .upstreams
                .iter_mut()
                .find(|u| upstream_env_name(&u.name) == name)
            else {
                let known: Vec<String> = self
                    .upstreams
                    .iter()
                    .map(|u| format!("{UPSTREAM_ENV_PREFIX}{}_TOKEN", upstream_env_name(&u.name)))
                    .collect();
                return Err(ConfigError::Invalid(format!(
                    "{var} names no configured upstream; the upstreams take {}",
                    known.join(", ")
                )));
            };
            let token = if from_file {
                Some(read_secret_file(Path::new(value), var)?)
            } else {
                non_empty(value)
            };
            if token.is_some() {
                up.token = token;
            }
        }
        Ok(())
    }

    /// Things that work but are probably not what was meant; `serve` logs them and
    /// `config check` prints them.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            let path = u.url.path().trim_end_matches('/');
            if path == "/web" || path.ends_with("/web") || path.contains("/web/") {
                out.push(format!(
                    "upstream {:?}: {} is the server's web app (/web), not its API; \
                     use the server's address without a path (e.g. {}://{})",
                    u.name,
                    u.url,
                    u.url.scheme_str().unwrap_or("http"),
                    u.url.authority().map_or("HOST:32400", |a| a.as_str())
                ));
            }
        }
        out
    }

    /// Checks what only makes sense once everything is merged.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] describing the first problem.
    pub fn check_runnable(&self) -> Result<(), ConfigError> {
        if self.upstreams.is_empty() {
            return Err(ConfigError::Invalid(
                "no upstream: give --plex URL or --jellyfin URL, or a --config file with \
                 [[upstream]] tables"
                    .into(),
            ));
        }
        let mut seen: Vec<(SocketAddr, &str)> = vec![(self.admin_listen, "the admin listener")];
        for u in &self.upstreams {
            if let Some((_, other)) = seen
                .iter()
                .find(|(a, _)| *a == u.listen && u.listen.port() != 0)
            {
                return Err(ConfigError::Invalid(format!(
                    "upstream {:?} listens on {}, which {other} already uses",
                    u.name, u.listen
                )));
            }
            seen.push((u.listen, &u.name));
        }
        let mut names: Vec<&str> = self.upstreams.iter().map(|u| u.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::Invalid(format!(
                "two upstreams are named {:?}",
                w[0]
            )));
        }
        if !self.admin_listen.ip().is_loopback() && self.admin_token.is_none() {
            return Err(ConfigError::Invalid(format!(
                "the admin listener {} is not on loopback: set an admin token \
                 (--admin-token or CACHEARR_ADMIN_TOKEN) or keep it on 127.0.0.1",
                self.admin_listen
            )));
        }
        Ok(())
    }
}

/// Prefix of the per-upstream environment variables.
pub const UPSTREAM_ENV_PREFIX: &str = "CACHEARR_UPSTREAM_";

/// The `<NAME>` part of `CACHEARR_UPSTREAM_<NAME>_TOKEN` for an upstream: upper case, `-` → `_`.
pub fn upstream_env_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// `None` for an empty (or blank) value: an unset `${VAR}` in a compose file arrives as "".
fn non_empty(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads a secret from a file (Docker / compose secrets, systemd credentials): the whole file,
/// without surrounding white space. `what` names the setting in errors; the secret never
/// appears in one.
///
/// # Errors
/// [`ConfigError::Invalid`] when the file cannot be read or holds nothing.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!("{what}: cannot read {}: {e}", path.display()))
    })?;
    non_empty(&text)
        .ok_or_else(|| ConfigError::Invalid(format!("{what}: {} is empty", path.display())))
}

/// One secret given directly or as a file (`--plex-token` / `--plex-token-file`): the value
/// wins when both are given; an empty value counts as not given.
///
/// # Errors
/// [`ConfigError::Invalid`] when the file cannot be read or is empty.
pub fn secret_from(
    value: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<String>, ConfigError> {
    if let Some(v) = value.and_then(non_empty) {
        return Ok(Some(v));
    }
    match file {
        Some(path) => read_secret_file(path, what).map(Some),
        None => Ok(None),
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
            warm: profile
                .default_warm()
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            prefetch: PrefetchConfig::default(),
        }
    }
}

fn next_free_listen(upstreams: &[UpstreamConfig]) -> SocketAddr {
    let mut addr = parse_addr(DEFAULT_LISTEN);
    while upstreams.iter().any(|u| u.listen == addr) {
        addr.set_port(addr.port().saturating_add(10));
    }
    addr
}

fn parse_addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Checks an upstream base URL: `http[s]://host[:port][/prefix]`, no query, no credentials.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_upstream_url(s: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = s
        .trim()
        .parse()
        .map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("{s:?} must start with http:// or https://")),
    }
    let Some(authority) = uri.authority() else {
        return Err(format!("{s:?} has no host"));
    };
    if authority.as_str().contains('@') {
        return Err(format!("{s:?}: credentials in the URL are not supported"));
    }
    if uri.query().is_some() {
        return Err(format!("{s:?}: the upstream URL must not have a query"));
    }
    Ok(uri)
}

// ---------------------------------------------------------------------------------------------
// The file format. `deny_unknown_fields` everywhere: a typo is an error with a line, not a
// silently ignored setting.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    admin_listen: Option<SocketAddr>,
    admin_token: Option<toml::Spanned<String>>,
    admin_token_file: Option<toml::Spanned<PathBuf>>,
    admin_allowed_hosts: Option<toml::Spanned<Vec<String>>>,
    token_trust: Option<Dur>,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    index: RawIndex,
    #[serde(default)]
    feed: RawFeed,
    #[serde(default)]
    policy: std::collections::BTreeMap<toml::Spanned<String>, RawPolicy>,
    #[serde(default)]
    upstream: Vec<RawUpstream>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCache {
    memory_max: Option<Spanned<ByteSize>>,
    disk: Option<bool>,
    disk_max: Option<Spanned<ByteSize>>,
    redis: Option<String>,
    redis_timeout: Option<Spanned<Dur>>,
    redis_namespace: Option<String>,
    redis_ca: Option<PathBuf>,
    redis_lock_wait: Option<Dur>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    enabled: Option<bool>,
    build_timeout: Option<Spanned<Dur>>,
    refresh_interval: Option<Spanned<Dur>>,
    catch_up_after: Option<Dur>,
    page_size: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    enabled: Option<bool>,
    horizon: Option<Dur>,
    samples_per_minute: Option<u32>,
    prove_after: Option<u32>,
    webhook_window: Option<Dur>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_uri: Option<Spanned<ByteSize>>,
    max_header: Option<Spanned<ByteSize>>,
    max_headers: Option<Spanned<usize>>,
    max_body: Option<Spanned<ByteSize>>,
    max_cached_body: Option<Spanned<ByteSize>>,
    max_connections: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    name: Option<toml::Spanned<String>>,
    profile: Profile,
    url: toml::Spanned<String>,
    listen: Option<toml::Spanned<SocketAddr>>,
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<PathBuf>>,
    ca: Option<Spanned<PathBuf>>,
    server_name: Option<Spanned<String>>,
    #[serde(default)]
    guard: RawGuard,
    #[serde(default)]
    policy: std::collections::BTreeMap<toml::Spanned<String>, RawPolicy>,
    #[serde(default)]
    route: Vec<RawRoute>,
    warm: Option<Vec<String>>,
    #[serde(default)]
    prefetch: RawPrefetch,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    max_concurrent: Option<Spanned<usize>>,
    rate_per_sec: Option<Spanned<f64>>,
    burst: Option<Spanned<u32>>,
    connect_timeout: Option<Spanned<Dur>>,
    read_timeout: Option<Spanned<Dur>>,
    retries: Option<Spanned<u32>>,
    retry_backoff: Option<Dur>,
    breaker_failures: Option<Spanned<u32>>,
    breaker_cooldown: Option<Dur>,
    background_max_concurrent: Option<Spanned<usize>>,
    background_rate_per_sec: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrefetch {
    enabled: Option<bool>,
    max_per_listing: Option<usize>,
    batch_metadata: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: toml::Spanned<String>,
    class: Option<Class>,
    fresh: Option<Dur>,
    stale_while_revalidate: Option<Dur>,
    stale_if_error: Option<Dur>,
    negative_ttl: Option<Dur>,
    scope: Option<Scope>,
    cache: Option<bool>,
}

impl RawConfig {
    fn validate(self, text: &str, origin: &str) -> Result<Config, ConfigError> {
        let err = |pos: usize, msg: String| parse_error(text, origin, pos, &msg);
        // A limit or budget of zero would refuse every request or stall every load: an error
        // at its line, not a silent clamp.
        let zero = |pos: usize, what: &str| err(pos, format!("{what} must be greater than zero"));
        let size =
            |v: &Option<Spanned<ByteSize>>, what: &str| -> Result<Option<u64>, ConfigError> {
                nonzero(v, |b| b.0 == 0)
                    .map_err(|pos| zero(pos, what))
                    .map(|o| o.map(|b| b.0))
            };
        let count =
            |v: &Option<Spanned<usize>>, what: &str| -> Result<Option<usize>, ConfigError> {
                nonzero(v, |n| *n == 0).map_err(|pos| zero(pos, what))
            };
        let count32 = |v: &Option<Spanned<u32>>, what: &str| -> Result<Option<u32>, ConfigError> {
            nonzero(v, |n| *n == 0).map_err(|pos| zero(pos, what))
        };
        let span_dur =
            |v: &Option<Spanned<Dur>>, what: &str| -> Result<Option<Duration>, ConfigError> {
                nonzero(v, |d| d.0.is_zero())
                    .map_err(|pos| zero(pos, what))
                    .map(|o| o.map(|d| d.0))
            };
        let rate = |v: &Option<Spanned<f64>>, what: &str| -> Result<Option<f64>, ConfigError> {
            nonzero(v, |r| !(r.is_finite() && *r > 0.0))
                .map_err(|pos| err(pos, format!("{what} must be a number greater than zero")))
        };
        let mut config = Config::empty();
        if let Some(d) = self.data_dir {
            config.data_dir = d;
        }
        if let Some(a) = self.admin_listen {
            config.admin_listen = a;
        }
        config.admin_token = match (self.admin_token, self.admin_token_file) {
            (Some(t), _) if t.get_ref().trim().is_empty() => {
                return Err(err(
                    t.span().start,
                    "admin_token is empty: remove the line (no admin token) or give a value".into(),
                ));
            }
            (Some(t), Some(_)) => {
                return Err(err(
                    t.span().start,
                    "give admin_token or admin_token_file, not both".into(),
                ));
            }
            (Some(t), None) => Some(t.get_ref().trim().to_string()),
            (None, Some(f)) => Some(
                read_secret_file(f.get_ref(), "admin_token_file")
                    .map_err(|e| err(f.span().start, e.to_string()))?,
            ),
            (None, None) => None,
        };
        if let Some(hosts) = self.admin_allowed_hosts {
            let at = hosts.span().start;
            for h in hosts.get_ref() {
                let name = h.trim();
                if name.is_empty()
                    || name.contains(['/', ' ', '\t', '@', '*'])
                    || name.contains("://")
                {
                    return Err(err(
                        at,
                        format!(
                            "admin_allowed_hosts: {h:?} is not a host name (give names like \
                             \"cachearr.home.lan\", without scheme, path or port)"
                        ),
                    ));
                }
                config.admin_allowed_hosts.push(name.to_owned());
            }
        }
        if let Some(t) = self.token_trust {
            config.token_trust = t.0;
        }
        if let Some(m) = size(&self.cache.memory_max, "memory_max")? {
            config.memory_max_bytes = m;
        }
        if let Some(d) = self.cache.disk {
            config.disk_enabled = d;
        }
        if let Some(m) = size(&self.cache.disk_max, "disk_max")? {
            config.disk_max_bytes = m;
        }
        config.redis_url = self.cache.redis;
        if let Some(t) = span_dur(&self.cache.redis_timeout, "redis_timeout")? {
            config.redis_timeout = t;
        }
        config.redis_namespace = self.cache.redis_namespace;
        config.redis_ca = self.cache.redis_ca;
        if let Some(t) = self.cache.redis_lock_wait {
            config.redis_lock_wait = t.0;
        }
        let l = &mut config.limits;
        if let Some(v) = size(&self.limits.max_uri, "max_uri")? {
            l.max_uri_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = size(&self.limits.max_header, "max_header")? {
            l.max_header_bytes = usize::try_from(v).unwrap_or(usize::MAX).max(8192);
        }
        if let Some(v) = count(&self.limits.max_headers, "max_headers")? {
            l.max_headers = v;
        }
        if let Some(v) = size(&self.limits.max_body, "max_body")? {
            l.max_body_bytes = v;
        }
        if let Some(v) = size(&self.limits.max_cached_body, "max_cached_body")? {
            l.max_cached_body_bytes = v;
        }
        if let Some(v) = count(&self.limits.max_connections, "max_connections")? {
            l.max_connections = Some(v);
        }
        let i = &mut config.index;
        if let Some(e) = self.index.enabled {
            i.enabled = e;
        }
        if let Some(t) = span_dur(&self.index.build_timeout, "build_timeout")? {
            i.build_timeout = t.max(Duration::from_secs(1));
        }
        if let Some(t) = span_dur(&self.index.refresh_interval, "refresh_interval")? {
            i.refresh_interval = t.max(Duration::from_secs(60));
        }
        if let Some(t) = self.index.catch_up_after {
            i.catch_up_after = t.0;
        }
        if let Some(p) = count(&self.index.page_size, "page_size")? {
            i.page_size = p.clamp(10, 10_000);
        }
        let f = &mut config.feed;
        if let Some(e) = self.feed.enabled {
            f.enabled = e;
        }
        if let Some(t) = self.feed.horizon {
            f.horizon = t.0;
        }
        if let Some(n) = self.feed.samples_per_minute {
            f.samples_per_minute = n.min(6000);
        }
        if let Some(n) = self.feed.prove_after {
            f.prove_after = n.max(1);
        }
        if let Some(t) = self.feed.webhook_window {
            f.webhook_window = t.0;
        }
        let global = class_overrides(self.policy, &err)?;
        for (i, raw) in self.upstream.into_iter().enumerate() {
            let url =
                parse_upstream_url(raw.url.get_ref()).map_err(|m| err(raw.url.span().start, m))?;
            let name = match &raw.name {
                Some(n) => {
                    let ok = !n.get_ref().is_empty()
                        && n.get_ref()
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if !ok {
                        return Err(err(
                            n.span().start,
                            "an upstream name is letters, digits, '-' and '_'".into(),
                        ));
                    }
                    n.get_ref().clone()
                }
                None if i == 0 => raw.profile.as_str().to_string(),
                None => format!("{}-{}", raw.profile.as_str(), i + 1),
            };
            let listen = match raw.listen {
                Some(l) => l.into_inner(),
                None => next_free_listen(&config.upstreams),
            };
            let mut up = UpstreamConfig::new(&name, raw.profile, url, listen);
            up.token = match (raw.token, raw.token_file) {
                (Some(t), _) if t.get_ref().trim().is_empty() => {
                    return Err(err(
                        t.span().start,
                        "token is empty: remove the line or give the owner's token".into(),
                    ));
                }
                (Some(t), Some(_)) => {
                    return Err(err(
                        t.span().start,
                        "give token or token_file, not both".into(),
                    ));
                }
                (Some(t), None) => Some(t.get_ref().trim().to_string()),
                (None, Some(f)) => Some(
                    read_secret_file(f.get_ref(), "token_file")
                        .map_err(|e| err(f.span().start, e.to_string()))?,
                ),
                (None, None) => None,
            };
            let https = up.url.scheme_str() == Some("https");
            let tls_fields = [
                (raw.ca.as_ref().map(|f| f.span().start), "ca"),
                (
                    raw.server_name.as_ref().map(|f| f.span().start),
                    "server_name",
                ),
            ];
            for (pos, what) in tls_fields {
                if let (Some(pos), false) = (pos, https) {
                    return Err(err(
                        pos,
                        format!("{what} only applies to an https:// upstream"),
                    ));
                }
            }
            if let Some(ca) = raw.ca {
                crate::tls::read_roots(ca.get_ref())
                    .map_err(|e| err(ca.span().start, e.to_string()))?;
                up.tls.ca_file = Some(ca.into_inner());
            }
            if let Some(n) = raw.server_name {
                crate::tls::check_server_name(n.get_ref())
                    .map_err(|e| err(n.span().start, e.to_string()))?;
                up.tls.server_name = Some(n.into_inner());
            }
            let g = raw.guard;
            let d = GuardConfig::default();
            if let Some(r) = &g.retries
                && *r.get_ref() > MAX_RETRIES
            {
                return Err(err(
                    r.span().start,
                    format!("retries is at most {MAX_RETRIES}"),
                ));
            }
            up.guard = GuardConfig {
                max_concurrent: count(&g.max_concurrent, "max_concurrent")?
                    .unwrap_or(d.max_concurrent),
                rate_per_sec: rate(&g.rate_per_sec, "rate_per_sec")?.unwrap_or(d.rate_per_sec),
                burst: count32(&g.burst, "burst")?.unwrap_or(d.burst),
                connect_timeout: span_dur(&g.connect_timeout, "connect_timeout")?
                    .unwrap_or(d.connect_timeout),
                read_timeout: span_dur(&g.read_timeout, "read_timeout")?.unwrap_or(d.read_timeout),
                retries: g.retries.map_or(d.retries, |r| *r.get_ref()),
                retry_backoff: g.retry_backoff.map_or(d.retry_backoff, |x| x.0),
                breaker_failures: count32(&g.breaker_failures, "breaker_failures")?
                    .unwrap_or(d.breaker_failures),
                breaker_cooldown: g.breaker_cooldown.map_or(d.breaker_cooldown, |x| x.0),
                background_max_concurrent: count(
                    &g.background_max_concurrent,
                    "background_max_concurrent",
                )?
                .unwrap_or(d.background_max_concurrent),
                background_rate_per_sec: rate(
                    &g.background_rate_per_sec,
                    "background_rate_per_sec",
                )?
                .unwrap_or(d.background_rate_per_sec),
            };
            // Global class overrides first, the upstream's own after: later entries win.
            up.classes = global.clone();
            up.classes.extend(class_overrides(raw.policy, &err)?);
            for r in raw.route {
                let pattern = r.path.get_ref().clone();
                crate::policy::check_pattern(&pattern).map_err(|m| err(r.path.span().start, m))?;
                up.routes.push(RouteOverride {
                    pattern,
                    class: r.class,
                    policy: PolicyOverride {
                        fresh: r.fresh.map(|d| d.0),
                        stale_while_revalidate: r.stale_while_revalidate.map(|d| d.0),
                        stale_if_error: r.stale_if_error.map(|d| d.0),
                        negative_ttl: r.negative_ttl.map(|d| d.0),
                        scope: r.scope,
                        cache: r.cache,
                    },
                    origin: format!("{origin}:{}", line_col(text, r.path.span().start).0),
                });
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
            if let Some(e) = raw.prefetch.enabled {
                up.prefetch.enabled = e;
            }
            if let Some(m) = raw.prefetch.max_per_listing {
                up.prefetch.max_per_listing = m;
            }
            if let Some(b) = raw.prefetch.batch_metadata {
                up.prefetch.batch_metadata = b;
            }
            if let Some(prev) = config.upstreams.iter().find(|u| u.name == up.name) {
                let pos = raw
                    .name
                    .as_ref()
                    .map_or(raw.url.span().start, |n| n.span().start);
                return Err(err(pos, format!("a second upstream named {:?}", prev.name)));
            }
            if let Some(prev) = config.upstreams.iter().find(|u| u.listen == up.listen) {
                let pos = raw.url.span().start;
                return Err(err(
                    pos,
                    format!("upstream {:?} already listens on {}", prev.name, up.listen),
                ));
            }
            config.upstreams.push(up);
        }
        Ok(config)
    }
}

/// `Ok(value)` unless the value is "zero" by `is_zero`; then `Err(position)`.
fn nonzero<T: Clone>(
    v: &Option<Spanned<T>>,
    is_zero: impl Fn(&T) -> bool,
) -> Result<Option<T>, usize> {
    match v {
        Some(v) if is_zero(v.get_ref()) => Err(v.span().start),
        Some(v) => Ok(Some(v.get_ref().clone())),
        None => Ok(None),
    }
}

/// Most retries an upstream may be given: each one multiplies the worst-case wait of a load.
pub const MAX_RETRIES: u32 = 10;

/// Longest duration a setting takes (ten years): longer ones are surely a typo, and would
/// overflow the arithmetic on instants.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

fn class_overrides(
    map: std::collections::BTreeMap<toml::Spanned<String>, RawPolicy>,
    err: &impl Fn(usize, String) -> ConfigError,
) -> Result<Vec<(Class, PolicyOverride)>, ConfigError> {
    let mut out = Vec::new();
    for (name, raw) in map {
        let class = Class::from_name(name.get_ref()).ok_or_else(|| {
            err(
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

/// `[upstream]` (or `[upstream.route]`) where the format wants an array of tables: the position
/// of the first such line and what to write instead. TOML's own message ("invalid type: map,
/// expected a sequence") does not say it.
fn single_bracket_table(text: &str) -> Option<(usize, String)> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let header = t
            .strip_prefix('[')
            .and_then(|r| r.split('#').next())
            .map(str::trim_end)
            .and_then(|r| r.strip_suffix(']'))
            .filter(|h| !h.starts_with('['))
            .map(str::trim);
        if let Some(h @ ("upstream" | "upstream.route")) = header {
            let indent = line.len() - line.trim_start().len();
            return Some((
                pos + indent,
                format!(
                    "write [[{h}]] with two brackets: each {} is one entry of a list, and [{h}] \
                     declares a single table",
                    if h == "upstream" {
                        "media server"
                    } else {
                        "route override"
                    }
                ),
            ));
        }
        pos += line.len();
    }
    None
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn parse_error(text: &str, origin: &str, pos: usize, message: &str) -> ConfigError {
    let (line, column) = line_col(text, pos);
    let src = text.lines().nth(line - 1).unwrap_or("");
    let gutter = format!("{line} | ");
    let snippet = format!(
        "{gutter}{src}\n{:width$}^",
        "",
        width = gutter.len() + column.saturating_sub(1)
    );
    ConfigError::Parse {
        origin: origin.to_string(),
        line,
        column,
        message: message.trim().to_string(),
        snippet,
    }
}

/// A duration written as `"90s"`, `"5m"`, `"1h30m"`, `"7d"`, `"250ms"` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"30s\", \"5m\", \"1h\", \"7d\" or seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                let secs =
                    u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
                let d = Duration::from_secs(secs);
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "{secs} seconds is too long (at most 3650d)"
                    )));
                }
                Ok(Dur(d))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"7d"`, `"0"`.
///
/// # Errors
/// A message naming the bad input.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let bad =
        || format!("{s:?} is not a duration (use e.g. \"250ms\", \"30s\", \"5m\", \"1h\", \"7d\")");
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest
            .get(..digits)
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)?;
        rest = rest.get(digits..).unwrap_or("");
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = rest.get(..unit_len).unwrap_or("");
        rest = rest.get(unit_len..).unwrap_or("");
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
    }
    if total > MAX_DURATION {
        return Err(format!("{s:?} is too long (at most 3650d)"));
    }
    Ok(total)
}

/// A byte size written as `"512MiB"`, `"4GiB"`, `"64KiB"`, `"1000"` or a number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size such as \"512MiB\", \"4GiB\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_byte_size(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"512MiB"`, `"4GiB"`, `"64KiB"`, `"10MB"`, `"1000"`.
///
/// # Errors
/// A message naming the bad input.
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let bad = || format!("{s:?} is not a size (use e.g. \"512MiB\", \"4GiB\", or bytes)");
    let n: u64 = t
        .get(..digits)
        .and_then(|d| d.parse().ok())
        .ok_or_else(bad)?;
    let mult: u64 = match t.get(digits..).unwrap_or("").trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" | "T" => 1 << 40,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// The commented example printed by `cachearr config example`. It parses (a test checks).
pub const EXAMPLE: &str = r#"# cachearr configuration. Every setting is optional unless marked otherwise.
# Precedence: built-in defaults < this file < CACHEARR_* environment variables < flags.
# Durations: "250ms", "30s", "5m", "1h", "7d" (or a number of seconds).
# Sizes: "64KiB", "512MiB", "4GiB" (or a number of bytes).

# Where the disk cache and the installation secret (owner-only permissions) live.
data_dir = "./data"

# The admin listener (dashboard, /api/*, /metrics, /health, webhooks). It refuses to bind beyond
# loopback unless admin_token is set (better: CACHEARR_ADMIN_TOKEN or CACHEARR_ADMIN_TOKEN_FILE,
# so it stays out of this file).
admin_listen = "127.0.0.1:8485"
# admin_token = "change-me"
# The admin listener answers only to localhost, IP addresses and these names (a guard against
# DNS rebinding): add the name you reach it by through a reverse proxy or on the LAN.
# admin_allowed_hosts = ["cachearr.home.lan"]

# How long after the media server accepted a token that token may read shared entries
# (identity, Jellyfin images). Requests with no token or an unknown one always go to the server.
token_trust = "1h"

[cache]
memory_max = "256MiB"
disk = true             # the embedded disk tier; survives restarts
disk_max = "4GiB"
# Optional tier shared by several gateways, below memory and disk (docs/redis.md). Give every
# gateway the same {data_dir}/secret so they share per-user entries.
# redis = "redis://127.0.0.1:6379"    # rediss:// for TLS; a cluster: "redis://a:7000,redis://b:7001";
#                                    # Sentinel: "redis+sentinel://s1:26379,s2:26379/mymaster"
# redis_timeout = "250ms"            # a slower Redis answer counts as a miss
# redis_namespace = "cachearr"        # gateways sharing a cache use the same one
# redis_ca = "/etc/cachearr/redis-ca.pem"  # root certificate for rediss:// (default: system roots)
# redis_lock_wait = "5s"             # longest wait for another gateway's load of the same key

[limits]
max_uri = "8KiB"         # longer request targets get 414
max_header = "64KiB"     # larger header sections get 431
max_headers = 100
max_body = "64MiB"       # larger request bodies get 413
max_cached_body = "32MiB" # larger upstream answers are passed on but not stored
# max_connections = 4096  # open client connections per proxy listener; at the cap the one
#                         # idle the longest is closed. Default: sized from the open-file limit

# The library index: every configured upstream's music and video libraries, crawled on the
# background budget and kept in {data_dir}/library, so searches and playlist matching are
# answered without asking the server. Off: every search goes to the server (with a warning).
[index]
enabled = true
build_timeout = "180m"       # a longer crawl stops; the next one resumes where it stopped
refresh_interval = "24h"     # incremental refresh (only what changed since the last one)
catch_up_after = "10m"       # at start, a saved index older than this is refreshed at once
page_size = 500              # items per page asked of the server

# Cache validity from the change feed: answers about library content (sections, listings,
# metadata, searches, recently added) stay fresh past their class TTL while the server's change
# events arrive and the index's incremental pass is recent; a change refreshes exactly the
# answers that depend on it. A small sample is fetched again and compared; a mismatch puts the
# class back on its TTL until enough samples match again.
[feed]
enabled = true
horizon = "7d"               # longest freshness an answer gets from the feed
samples_per_minute = 6       # sampled revalidations (background budget); 0 = off
prove_after = 20             # matching samples in a row that restore trust after a mismatch
webhook_window = "24h"       # with webhooks only: the feed counts as alive this long after one

# Policy overrides for every upstream, per class. The classes are: identity, sections, listing,
# metadata, search, recent, ondeck, history, sessions, activities, playlists, images, pass.
[policy.sessions]
fresh = "10s"
stale_if_error = "1m"

[policy.metadata]
fresh = "1h"
stale_while_revalidate = "1d"
stale_if_error = "7d"

# One table per media server; each gets its own proxy listener.
[[upstream]]
name = "plex"                       # first part of cache keys and tags
profile = "plex"                    # required: plex or jellyfin
url = "http://127.0.0.1:32400"      # required
listen = "127.0.0.1:8484"
# The owner's token: library index, change notifications, playlist sync. Better out of this file:
# CACHEARR_PLEX_TOKEN(_FILE), or CACHEARR_UPSTREAM_PLEX_TOKEN(_FILE) for the upstream named "plex".
# token = "..."
# token_file = "/run/secrets/plex_token"
# For an https:// url: extra root certificates, and the name the certificate carries when the
# URL holds an address (Plex's "Secure connections": 192-168-1-10.<hash>.plex.direct).
# ca = "/config/my-ca.pem"
# server_name = "192-168-1-10.0123abcd.plex.direct"

# Protect the server: client budget, then a smaller background budget (refresh, warm, prefetch).
[upstream.guard]
max_concurrent = 32
rate_per_sec = 200
burst = 400
connect_timeout = "3s"
read_timeout = "60s"
retries = 2                         # idempotent reads only, jittered back-off
retry_backoff = "50ms"
breaker_failures = 5                # consecutive failures that open the circuit
breaker_cooldown = "10s"
background_max_concurrent = 4
background_rate_per_sec = 20

# Class overrides for this upstream only (beat the global [policy.*] tables).
[upstream.policy.ondeck]
fresh = "30s"

# Per-path overrides: {name} matches one path segment, {*rest} the rest of the path.
[[upstream.route]]
path = "/library/sections/{id}/all"
class = "listing"
fresh = "2h"

[[upstream.route]]
path = "/butler"
cache = false                       # never cache

# Warmed for each recently seen user by POST /api/warm.
# warm = ["/library/sections", "/library/onDeck", "/library/recentlyAdded"]

[upstream.prefetch]
enabled = true
max_per_listing = 20
batch_metadata = true               # a walk's item metadata in one request per page (Plex)

# A second server gets its own listener.
# [[upstream]]
# name = "jellyfin"
# profile = "jellyfin"
# url = "http://127.0.0.1:8096"
# listen = "127.0.0.1:8496"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_means_what_it_says() {
        let c = Config::from_toml(EXAMPLE, "example.toml").unwrap();
        assert_eq!(c.upstreams.len(), 1);
        let u = &c.upstreams[0];
        assert_eq!(u.name, "plex");
        assert_eq!(u.profile, Profile::Plex);
        assert_eq!(u.guard.breaker_failures, 5);
        assert_eq!(u.routes.len(), 2);
        assert_eq!(u.routes[1].policy.cache, Some(false));
        assert!(
            u.classes
                .iter()
                .any(|(c, p)| *c == Class::OnDeck && p.fresh == Some(Duration::from_secs(30)))
        );
        assert_eq!(c.memory_max_bytes, 256 << 20);
        assert_eq!(c.index, IndexConfig::default());
        c.check_runnable().unwrap();
    }

    #[test]
    fn index_table_and_no_index_flag() {
        let text = "[index]\nenabled = true\nbuild_timeout = \"2h\"\nrefresh_interval = \"6h\"\ncatch_up_after = \"1h\"\n\
                    page_size = 200\n[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n";
        let mut c = Config::from_toml(text, "t.toml").unwrap();
        assert!(c.index.enabled);
        assert_eq!(c.index.build_timeout, Duration::from_secs(7200));
        assert_eq!(c.index.refresh_interval, Duration::from_secs(6 * 3600));
        assert_eq!(c.index.catch_up_after, Duration::from_secs(3600));
        assert_eq!(c.index.page_size, 200);
        c.apply_overrides(ConfigOverrides {
            no_index: true,
            ..ConfigOverrides::default()
        })
        .unwrap();
        assert!(!c.index.enabled);
        let e = Config::from_toml("[index]\nenabeld = false\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("t.toml:2"), "{e}");
    }

    #[test]
    fn errors_point_at_the_line() {
        let text = "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nlisten = \"nope\"\n";
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, .. }) => assert_eq!(line, 4),
            other => panic!("{other:?}"),
        }
        let text = "[[upstream]]\nprofile = \"plex\"\nurl = \"ftp://x\"\n";
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(message.contains("http://"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let text = "[policy.nonsense]\nfresh = \"1m\"\n";
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, message, .. }) => {
                assert_eq!(line, 1);
                assert!(message.contains("unknown class"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let text = "[cache]\nmemroy_max = 5\n";
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("memroy_max"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let text = "[policy.sessions]\nfresh = \"ten seconds\"\n";
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_byte_size("512MiB").unwrap(), 512 << 20);
        assert!(parse_byte_size("lots").is_err());
        assert!(parse_byte_size("99999999999999TiB").is_err());
    }

    fn parse_err(text: &str) -> (usize, String) {
        match Config::from_toml(text, "t.toml") {
            Err(ConfigError::Parse { line, message, .. }) => (line, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn huge_durations_are_refused_not_overflowed() {
        let (line, message) = parse_err(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
             read_timeout = \"99999999999999d\"\n",
        );
        assert_eq!(line, 5);
        assert!(message.contains("too long"), "{message}");
        let (line, _) = parse_err("token_trust = 18446744073709551615\n");
        assert_eq!(line, 1);
        assert!(parse_duration("3650d").is_ok());
        assert!(parse_duration("3651d").is_err());
        let (line, message) = parse_err(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
             retries = 4000000000\n",
        );
        assert_eq!(line, 5);
        assert!(message.contains("at most"), "{message}");
        // The largest accepted values start: the load timeout they make does not overflow.
        let c = Config::from_toml(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
             read_timeout = \"3650d\"\nretries = 10\n",
            "t.toml",
        )
        .unwrap();
        let g = &c.upstreams[0].guard;
        let _ = g
            .read_timeout
            .saturating_mul(g.retries.saturating_mul(2).saturating_add(3));
    }

    #[test]
    fn zero_limits_are_refused_at_their_line() {
        for (table, key, value) in [
            ("limits", "max_uri", "0"),
            ("limits", "max_headers", "0"),
            ("limits", "max_body", "\"0\""),
            ("limits", "max_cached_body", "0"),
            ("limits", "max_connections", "0"),
            ("cache", "memory_max", "\"0MiB\""),
            ("cache", "disk_max", "0"),
            ("cache", "redis_timeout", "\"0\""),
            ("index", "page_size", "0"),
            ("index", "build_timeout", "0"),
        ] {
            let (line, message) = parse_err(&format!("# x\n[{table}]\n{key} = {value}\n"));
            assert_eq!(line, 3, "{key}");
            assert!(
                message.contains(key) && message.contains("greater than zero"),
                "{message}"
            );
        }
        for (key, value) in [
            ("max_concurrent", "0"),
            ("rate_per_sec", "0"),
            ("rate_per_sec", "-1.5"),
            ("burst", "0"),
            ("connect_timeout", "\"0\""),
            ("read_timeout", "0"),
            ("breaker_failures", "0"),
            ("background_max_concurrent", "0"),
            ("background_rate_per_sec", "0.0"),
        ] {
            let (line, message) = parse_err(&format!(
                "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n{key} = {value}\n"
            ));
            assert_eq!(line, 5, "{key}");
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn an_empty_token_is_not_a_token() {
        let (line, message) = parse_err("# admin\nadmin_token = \"\"\n");
        assert_eq!(line, 2);
        assert!(message.contains("empty"), "{message}");
        let (line, _) =
            parse_err("[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\ntoken = \"  \"\n");
        assert_eq!(line, 4);
        // From the environment or a flag, empty means not given (an unset ${VAR} in compose):
        // the admin listener beyond loopback is then refused, not opened with "" as its token.
        let mut c =
            Config::single(Profile::Plex, "http://h:1", "127.0.0.1:0".parse().unwrap()).unwrap();
        let token = secret_from(Some(""), None, "t").unwrap();
        assert_eq!(token, None);
        let e = c.apply_overrides(ConfigOverrides {
            admin_listen: Some("0.0.0.0:8485".parse().unwrap()),
            admin_token: token,
            ..ConfigOverrides::default()
        });
        assert!(e.is_err());
    }

    #[test]
    fn single_brackets_say_to_use_two() {
        let (line, message) = parse_err(
            "data_dir = \"/d\"\n\n[upstream]\nprofile = \"plex\"\nurl = \"http://x:1\"\n",
        );
        assert_eq!(line, 3);
        assert!(message.contains("[[upstream]]"), "{message}");
        let (line, message) = parse_err(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.route]\npath = \"/x\"\n",
        );
        assert_eq!(line, 4);
        assert!(message.contains("[[upstream.route]]"), "{message}");
    }

    #[test]
    fn the_web_app_path_is_warned_about() {
        let c = Config::single(
            Profile::Plex,
            "http://nas:32400/web",
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let w = c.warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("web app") && w[0].contains("http://nas:32400"),
            "{w:?}"
        );
        let c = Config::single(
            Profile::Plex,
            "http://nas:32400",
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn owner_tokens_from_flags_env_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("plex_token");
        std::fs::write(&secret, "from-file\n").unwrap();
        let text = format!(
            "[[upstream]]\nname = \"living-room\"\nprofile = \"plex\"\nurl = \"http://x:1\"\n\
             token_file = \"{}\"\n\
             [[upstream]]\nprofile = \"jellyfin\"\nurl = \"http://y:1\"\ntoken = \"in-file\"\n",
            secret.display()
        );
        let mut c = Config::from_toml(&text, "t.toml").unwrap();
        assert_eq!(c.upstreams[0].token.as_deref(), Some("from-file"));
        assert_eq!(c.upstreams[1].token.as_deref(), Some("in-file"));
        // --plex-token / --jellyfin-token beat the file; CACHEARR_UPSTREAM_<NAME>_TOKEN beats them.
        let env_file = dir.path().join("jf");
        std::fs::write(&env_file, "jf-from-env-file").unwrap();
        c.apply_overrides(ConfigOverrides {
            plex_token: Some("flag".into()),
            jellyfin_token: Some("flag-jf".into()),
            upstream_env: vec![
                ("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN".into(), "env".into()),
                (
                    "CACHEARR_UPSTREAM_JELLYFIN_2_TOKEN_FILE".into(),
                    env_file.display().to_string(),
                ),
            ],
            ..ConfigOverrides::default()
        })
        .unwrap();
        assert_eq!(c.upstreams[0].token.as_deref(), Some("env"));
        assert_eq!(c.upstreams[1].token.as_deref(), Some("jf-from-env-file"));
        // A variable naming no upstream is an error that lists the right names.
        let e = c
            .apply_overrides(ConfigOverrides {
                upstream_env: vec![("CACHEARR_UPSTREAM_LIVINGROOM_TOKEN".into(), "x".into())],
                ..ConfigOverrides::default()
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN"), "{e}");
        // --plex-token without a Plex upstream.
        let mut c = Config::single(
            Profile::Jellyfin,
            "http://h:1",
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let e = c
            .apply_overrides(ConfigOverrides {
                plex_token: Some("t".into()),
                ..ConfigOverrides::default()
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--plex-token") && e.contains("no plex upstream"),
            "{e}"
        );
        // Secret files: missing or empty is an error naming the file, never the value.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let e = secret_from(None, Some(&empty), "Plex token file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty") && e.contains("Plex token file"), "{e}");
        assert!(secret_from(None, Some(&dir.path().join("nope")), "x").is_err());
        assert_eq!(
            secret_from(Some("direct"), Some(&empty), "x")
                .unwrap()
                .as_deref(),
            Some("direct")
        );
    }

    #[test]
    fn https_upstreams_and_their_tls_settings() {
        assert!(parse_upstream_url("https://plex.example:32400").is_ok());
        let (line, message) = parse_err(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nca = \"/etc/ca.pem\"\n",
        );
        assert_eq!(line, 4);
        assert!(message.contains("https"), "{message}");
        let (line, message) = parse_err(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"https://x:1\"\nca = \"/nonexistent/ca.pem\"\n",
        );
        assert_eq!(line, 4);
        assert!(message.contains("cannot read"), "{message}");
        let c = Config::from_toml(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"https://192.168.1.10:32400\"\n\
             server_name = \"192-168-1-10.0123abcd.plex.direct\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            c.upstreams[0].tls.server_name.as_deref(),
            Some("192-168-1-10.0123abcd.plex.direct")
        );
    }

    #[test]
    fn overrides_beat_the_file() {
        let mut c = Config::from_toml(EXAMPLE, "example.toml").unwrap();
        c.apply_overrides(ConfigOverrides {
            plex: Some("http://10.0.0.2:32400".into()),
            jellyfin: Some("http://10.0.0.3:8096".into()),
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            no_disk: true,
            ..ConfigOverrides::default()
        })
        .unwrap();
        assert_eq!(c.upstreams[0].url, "http://10.0.0.2:32400");
        assert_eq!(c.upstreams[0].listen.port(), 9000);
        assert_eq!(c.upstreams[1].profile, Profile::Jellyfin);
        assert!(!c.disk_enabled);
        let mut c = Config::empty();
        assert!(c.apply_overrides(ConfigOverrides::default()).is_err());
        let mut c =
            Config::single(Profile::Plex, "http://h:1", "127.0.0.1:0".parse().unwrap()).unwrap();
        let e = c.apply_overrides(ConfigOverrides {
            admin_listen: Some("0.0.0.0:8485".parse().unwrap()),
            ..ConfigOverrides::default()
        });
        assert!(e.is_err());
    }
}
