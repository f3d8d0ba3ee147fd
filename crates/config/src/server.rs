//! The gateway's own keys at the top of the file (the admin listener, its token and host
//! names) and `[limits]`: what a client may send.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::position::Checker;
use super::values::{ByteSize, above_zero};
use super::{ConfigError, read_secret_file};

/// Where the admin listener binds unless told otherwise: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:8485";
/// Where the first upstream's proxy listener binds unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8484";

/// Limits on what a client may send; beyond them the request gets a 4xx before any work.
/// `[limits]` in the file, read straight into this type (every key optional, the defaults from
/// [`RequestLimits::default`]); each must be greater than zero, or it is an error at its line.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestLimits {
    /// Longest request target (path + query) in bytes → 414. `max_uri` in the file.
    #[serde(rename = "max_uri", deserialize_with = "max_uri")]
    pub max_uri_bytes: usize,
    /// Largest header section in bytes → 431 (enforced by the HTTP/1 parser); at least 8 KiB.
    /// `max_header` in the file.
    #[serde(rename = "max_header", deserialize_with = "max_header")]
    pub max_header_bytes: usize,
    /// Most header fields → 431.
    #[serde(deserialize_with = "max_headers")]
    pub max_headers: usize,
    /// Largest request body in bytes → 413. `max_body` in the file.
    #[serde(rename = "max_body", deserialize_with = "max_body")]
    pub max_body_bytes: u64,
    /// Largest upstream response body the cache stores; larger answers are passed on unstored.
    /// `max_cached_body` in the file.
    #[serde(rename = "max_cached_body", deserialize_with = "max_cached_body")]
    pub max_cached_body_bytes: u64,
    /// Most open client connections per proxy listener; at the cap the connection idle the
    /// longest is closed for a new one. `None`: sized from the open-file limit at start
    /// (`cachearr_wire::connections::default_max_connections`).
    #[serde(deserialize_with = "max_connections")]
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

fn max_uri<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v: ByteSize = above_zero(d, "max_uri")?;
    Ok(usize::try_from(v.0).unwrap_or(usize::MAX))
}

fn max_header<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v: ByteSize = above_zero(d, "max_header")?;
    Ok(usize::try_from(v.0).unwrap_or(usize::MAX).max(8192))
}

fn max_headers<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    above_zero(d, "max_headers")
}

fn max_body<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    above_zero(d, "max_body").map(|v: ByteSize| v.0)
}

fn max_cached_body<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    above_zero(d, "max_cached_body").map(|v: ByteSize| v.0)
}

fn max_connections<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    above_zero(d, "max_connections").map(Some)
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
                .map_err(|e| check.err(f.span().start, crate::said(&e)))?,
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
