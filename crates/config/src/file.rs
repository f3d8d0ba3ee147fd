//! The file as written: the top-level table ([`RawConfig`]), which hands each section to the
//! module that owns it, with the [`Checker`] they share to report a bad value at its line and
//! column. `deny_unknown_fields` everywhere: a typo is an error with a line, not a silently
//! ignored setting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::cache::CacheConfig;
use super::index::{FeedConfig, IndexConfig};
use super::position::{Checker, parse_error};
use super::server::{RequestLimits, admin_token, allowed_hosts};
use super::upstream::{RawPolicy, RawUpstream, class_overrides};
use super::values::Dur;
use super::{Config, ConfigError};

/// The top-level table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    data_dir: Option<PathBuf>,
    admin_listen: Option<SocketAddr>,
    admin_token: Option<Spanned<String>>,
    admin_token_file: Option<Spanned<PathBuf>>,
    admin_allowed_hosts: Option<Spanned<Vec<String>>>,
    token_trust: Option<Dur>,
    #[serde(default)]
    cache: CacheConfig,
    #[serde(default)]
    limits: RequestLimits,
    #[serde(default)]
    index: IndexConfig,
    #[serde(default)]
    feed: FeedConfig,
    #[serde(default)]
    policy: BTreeMap<Spanned<String>, RawPolicy>,
    #[serde(default)]
    upstream: Vec<RawUpstream>,
}

impl RawConfig {
    /// Parses `text`; a syntax or schema error points at its line.
    pub(super) fn parse(text: &str, origin: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            if let Some((pos, message)) = single_bracket_table(text) {
                return parse_error(text, origin, pos, &message);
            }
            let span = e.span().unwrap_or(0..0);
            parse_error(text, origin, span.start, e.message())
        })
    }

    /// The configuration: each section read by its module onto its defaults
    /// ([`Config::empty`]), every bad value reported at its line.
    pub(super) fn validate(self, text: &str, origin: &str) -> Result<Config, ConfigError> {
        let check = Checker::new(text, origin);
        let mut config = Config::empty();
        if let Some(d) = self.data_dir {
            config.data_dir = d;
        }
        if let Some(a) = self.admin_listen {
            config.admin_listen = a;
        }
        config.admin_token = admin_token(self.admin_token, self.admin_token_file, &check)?;
        config.admin_allowed_hosts = allowed_hosts(self.admin_allowed_hosts, &check)?;
        if let Some(t) = self.token_trust {
            config.token_trust = t.0;
        }
        config.cache = self.cache;
        config.limits = self.limits;
        config.index = self.index;
        config.feed = self.feed.bounded();
        let global = class_overrides(self.policy, &check)?;
        for (i, raw) in self.upstream.into_iter().enumerate() {
            let up = raw.read(i, &config.upstreams, &global, &check)?;
            config.upstreams.push(up);
        }
        Ok(config)
    }
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
