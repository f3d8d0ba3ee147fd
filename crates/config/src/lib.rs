//! cachearr-config: what an operator sets — the configuration file, the route policies
//! compiled from it, and TLS to `https://` upstreams. The gateway reads a [`Config`] and
//! compiles each upstream's routes into a [`policy::RouteTable`]; nothing here does I/O but
//! reading the file and the secrets and certificates it names.
//!
//! # Map
//! - The crate's root: [`Config`], the TOML file, the command-line/environment overrides,
//!   validation with errors that point at the offending line, and the commented example
//!   (`cachearr config example`).
//! - [`policy`] — the route table: which requests are cached, for how long, in which scope
//!   and under which tags, and which are writes; the server's built-in routes (its dialect's)
//!   and the overrides, compiled into a [`policy::RouteTable`]. It lives with the file because
//!   the file is checked by compiling it: a bad route pattern is an error at its line.
//! - [`tls`] — the rustls client configuration of each `https://` upstream.
//!
//! # The file
//! Layering, lowest to highest: built-in defaults → the file → `CACHEARR_*` environment
//! variables → flags. clap merges the last two (every flag has an `env`), so this crate only
//! sees a [`ConfigOverrides`] on top of the file.
//!
//! [`Config`] is a tree that follows the file: the top-level keys, then one value per section.
//! Each section lives in its own module with the type the gateway reads, the form the file
//! writes and that section's defaults, written once (in its `Default`, or taken from the
//! engine where the engine owns the knob):
//!
//! | module | file | type |
//! |---|---|---|
//! | `server` | top-level `admin_*`, `[limits]` | [`RequestLimits`] |
//! | `cache` | `[cache]`: memory, disk, Redis | [`CacheConfig`], [`DiskConfig`], [`RedisConfig`] |
//! | `index` | `[index]`, `[feed]` | [`IndexConfig`], [`FeedConfig`] |
//! | `upstream` | `[[upstream]]` with its guard, routes, prefetch; `[policy.*]` | [`UpstreamConfig`], [`GuardConfig`], [`PrefetchConfig`] |
//! | `values` | durations and sizes | [`Dur`], [`ByteSize`], [`ValueError`] |
//! | `file` | the top-level table | |
//! | `position` | where a bad value is: line, column, snippet | |
//! | `example` | `cachearr config example` | [`EXAMPLE`] |
//!
//! Most sections ([`CacheConfig`], [`IndexConfig`], [`FeedConfig`], [`RequestLimits`],
//! [`GuardConfig`], [`PrefetchConfig`]) are read straight into their type with
//! `#[serde(default)]` from the type's `Default` (`[cache]` through a mirror of its flat keys,
//! because the type groups them by tier); a value they refuse (a zero limit, a rate not above
//! zero, too many retries) is refused while it is read (`deserialize_with`, naming its key),
//! so toml reports it at its line and column. `[[upstream]]` (with its `[[upstream.route]]`)
//! and `[policy.*]` keep each value's position while they are checked, because their checks
//! need more than the one value (a file to read, a name against the others, a pattern against
//! the routing table). Either way a zero or a bad name is an error at its line.

pub mod policy;
pub mod tls;

// The servers' rules under the names the route table's modules use.
use cachearr_dialect::{model, tags};

mod cache;
mod example;
mod file;
mod index;
mod position;
mod server;
mod upstream;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::policy::{PolicyOverride, RouteOverride};
pub use crate::tls::TlsConfig;
pub use cache::{CacheConfig, DiskConfig, RedisConfig};
use cachearr_dialect::Profile;
pub use example::EXAMPLE;
pub use index::{FeedConfig, IndexConfig};
pub use server::{DEFAULT_ADMIN_LISTEN, DEFAULT_LISTEN, RequestLimits};
pub use upstream::{
    GuardConfig, MAX_RETRIES, PrefetchConfig, UpstreamConfig, UrlError, parse_upstream_url,
};
pub use values::{ByteSize, Dur, MAX_DURATION, ValueError, parse_byte_size, parse_duration};

use server::parse_addr;
use upstream::next_free_listen;

/// A configuration problem. Parse and validation errors carry the line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
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
    /// An upstream URL given outside the file (`given_as`: the flag, or `url`) is unusable.
    #[error("{given_as}: unusable upstream URL")]
    Url {
        /// Where the URL came from.
        given_as: String,
        /// What is wrong with it.
        #[source]
        source: UrlError,
    },
    /// A secret file (`what` names the setting or variable) cannot be read.
    #[error("{what}: cannot read {}", path.display())]
    SecretFile {
        /// The setting or environment variable that named the file.
        what: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A value is unusable and has no position (it came from a flag or the environment).
    #[error("{0}")]
    Invalid(String),
}

/// An error and its sources on one line (`"what: why: why that"`), for a message that stands
/// alone, such as a position's in the file: no error's message repeats its source.
pub(crate) fn said(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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
    /// The cache's tiers and limits: `[cache]`.
    pub cache: CacheConfig,
    /// Limits on client requests: `[limits]`.
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

/// Values given on the command line or in `CACHEARR_*` variables; they beat the file.
///
/// The server flags (`--plex URL`, `--jellyfin-token` …) arrive paired with their
/// [`Profile`]: the `cachearr` binary's argument parser names them as the operator types them,
/// and nothing here needs to know which servers there are.
#[derive(Clone, Debug, Default)]
pub struct ConfigOverrides {
    /// `--plex URL`, `--jellyfin URL`, `--http URL`: the (first) upstream of that profile's
    /// URL, added if the file has none.
    pub urls: Vec<(Profile, String)>,
    /// `--listen`: the first upstream's proxy listener.
    pub listen: Option<SocketAddr>,
    /// `--admin-listen`.
    pub admin_listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--admin-token` (or `CACHEARR_ADMIN_TOKEN`, `CACHEARR_ADMIN_TOKEN_FILE`).
    pub admin_token: Option<String>,
    /// `--plex-token`, `--jellyfin-token` (or their files): the owner token (a Jellyfin API
    /// key) of the (first) upstream of that profile.
    pub owner_tokens: Vec<(Profile, String)>,
    /// Every `CACHEARR_UPSTREAM_<NAME>_TOKEN` / `CACHEARR_UPSTREAM_<NAME>_TOKEN_FILE` variable
    /// (name, value): the owner token of the upstream called `<name>` (upper case, `-` as `_`).
    /// They beat [`ConfigOverrides::owner_tokens`] and the file.
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
        file::RawConfig::parse(text, origin)?.validate(text, origin)
    }

    /// The built-in defaults with no upstream (flags must add one).
    pub fn empty() -> Config {
        Config {
            data_dir: PathBuf::from("./data"),
            admin_listen: parse_addr(DEFAULT_ADMIN_LISTEN),
            admin_token: None,
            admin_allowed_hosts: Vec::new(),
            cache: CacheConfig::default(),
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
    /// [`ConfigError::Url`] if the URL is unusable.
    pub fn single(profile: Profile, url: &str, listen: SocketAddr) -> Result<Config, ConfigError> {
        let mut config = Config::empty();
        config.upstreams.push(UpstreamConfig::new(
            profile.as_str(),
            profile,
            parse_upstream_url(url).map_err(|source| ConfigError::Url {
                given_as: "url".into(),
                source,
            })?,
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
        for (profile, url) in &o.urls {
            let profile = *profile;
            let uri = parse_upstream_url(url).map_err(|source| ConfigError::Url {
                given_as: format!("--{}", profile.as_str()),
                source,
            })?;
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
        for (profile, token) in o.owner_tokens {
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
            self.cache.redis.url = o.redis_url;
        }
        if let Some(m) = o.memory_max_bytes {
            self.cache.memory_max_bytes = m;
        }
        if o.no_disk {
            self.cache.disk.enabled = false;
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
            let flags: Vec<String> = Profile::ALL
                .iter()
                .map(|p| format!("--{} URL", p.as_str()))
                .collect();
            return Err(ConfigError::Invalid(format!(
                "no upstream: give {}, or a --config file with [[upstream]] tables",
                flags.join(", ")
            )));
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
        let smallest = cachearr_engine::DiskTier::SMALLEST_LIMIT;
        if self.cache.disk.enabled && self.cache.disk.max_bytes < smallest {
            // `disk_max` bounds the whole data directory; below this the disk tier's journals,
            // memtables and compactions alone would take it past the limit.
            return Err(ConfigError::Invalid(format!(
                "disk_max of {} bytes is below {} MiB, the smallest the disk tier keeps its \
                 directory within: set disk_max = \"{}MiB\" or more (or disk = false)",
                self.cache.disk.max_bytes,
                smallest >> 20,
                smallest >> 20
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
/// [`ConfigError::SecretFile`] when the file cannot be read, [`ConfigError::Invalid`] when it
/// holds nothing.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        what: what.to_owned(),
        path: path.to_path_buf(),
        source,
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

#[cfg(test)]
mod tests;
