//! The gateway's own keys at the top of the file (the admin listener, its token and host
//! names) and `[limits]`: what a client may send.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::file::Checker;
use super::values::ByteSize;
use super::{ConfigError, read_secret_file};

/// Where the admin listener binds unless told otherwise: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:8485";
/// Where the first upstream's proxy listener binds unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8484";

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

/// `[limits]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_uri: Option<Spanned<ByteSize>>,
    max_header: Option<Spanned<ByteSize>>,
    max_headers: Option<Spanned<usize>>,
    max_body: Option<Spanned<ByteSize>>,
    max_cached_body: Option<Spanned<ByteSize>>,
    max_connections: Option<Spanned<usize>>,
}

impl RawLimits {
    /// The limits: what the file sets, the defaults for the rest.
    pub(super) fn read(self, check: &Checker<'_>) -> Result<RequestLimits, ConfigError> {
        let mut l = RequestLimits::default();
        if let Some(v) = check.size(&self.max_uri, "max_uri")? {
            l.max_uri_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = check.size(&self.max_header, "max_header")? {
            l.max_header_bytes = usize::try_from(v).unwrap_or(usize::MAX).max(8192);
        }
        if let Some(v) = check.count(&self.max_headers, "max_headers")? {
            l.max_headers = v;
        }
        if let Some(v) = check.size(&self.max_body, "max_body")? {
            l.max_body_bytes = v;
        }
        if let Some(v) = check.size(&self.max_cached_body, "max_cached_body")? {
            l.max_cached_body_bytes = v;
        }
        if let Some(v) = check.count(&self.max_connections, "max_connections")? {
            l.max_connections = Some(v);
        }
        Ok(l)
    }
}

/// `admin_token` / `admin_token_file`: at most one, and never empty.
pub(super) fn admin_token(
    token: Option<Spanned<String>>,
    file: Option<Spanned<PathBuf>>,
    check: &Checker<'_>,
) -> Result<Option<String>, ConfigError> {
    match (token, file) {
        (Some(t), _) if t.get_ref().trim().is_empty() => Err(check.err(
            t.span().start,
            "admin_token is empty: remove the line (no admin token) or give a value",
        )),
        (Some(t), Some(_)) => Err(check.err(
            t.span().start,
            "give admin_token or admin_token_file, not both",
        )),
        (Some(t), None) => Ok(Some(t.get_ref().trim().to_string())),
        (None, Some(f)) => Ok(Some(
            read_secret_file(f.get_ref(), "admin_token_file")
                .map_err(|e| check.err(f.span().start, e.to_string()))?,
        )),
        (None, None) => Ok(None),
    }
}

/// `admin_allowed_hosts`: bare host names.
pub(super) fn allowed_hosts(
    hosts: Option<Spanned<Vec<String>>>,
    check: &Checker<'_>,
) -> Result<Vec<String>, ConfigError> {
    let Some(hosts) = hosts else {
        return Ok(Vec::new());
    };
    let at = hosts.span().start;
    let mut out = Vec::new();
    for h in hosts.get_ref() {
        let name = h.trim();
        if name.is_empty() || name.contains(['/', ' ', '\t', '@', '*']) || name.contains("://") {
            return Err(check.err(
                at,
                format!(
                    "admin_allowed_hosts: {h:?} is not a host name (give names like \
                     \"cachearr.home.lan\", without scheme, path or port)"
                ),
            ));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// A listener address written by us (a constant): valid, or the loopback's any-port.
pub(super) fn parse_addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}
