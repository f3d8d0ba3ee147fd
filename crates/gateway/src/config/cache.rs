//! `[cache]`: the memory limit, the embedded disk tier and the optional shared Redis tier. The
//! Redis tier's knobs are the engine's, so their defaults are the engine's
//! ([`cachearr_engine::RedisOptions::default`]), not written again here.

use std::path::PathBuf;
use std::time::Duration;

use cachearr_engine::RedisOptions;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::file::Checker;
use super::values::{ByteSize, Dur};

/// The cache's tiers and limits: `[cache]` in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// What the process may hold in memory for the cache, shared out among the memory tier,
    /// the disk tier's block cache, write queues, gzip copies and body files
    /// (docs/configuration.md, "Memory").
    pub memory_max_bytes: u64,
    /// The embedded disk tier.
    pub disk: DiskConfig,
    /// The shared Redis tier (off without a URL).
    pub redis: RedisConfig,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            memory_max_bytes: 256 * 1024 * 1024,
            disk: DiskConfig::default(),
            redis: RedisConfig::default(),
        }
    }
}

/// The embedded disk tier: `disk` and `disk_max` of `[cache]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// Whether it is on.
    pub enabled: bool,
    /// What the data directory may hold: the tier's records and the library index's files.
    pub max_bytes: u64,
}

impl Default for DiskConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

/// The shared Redis tier: the `redis*` keys of `[cache]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// Redis / Valkey URL: `redis://[user:password@]host:port/db`, `rediss://` for TLS, a
    /// Redis Cluster by its seed nodes (`redis+cluster://host:port` or several comma-separated
    /// URLs), or the master Sentinel names (`redis+sentinel://host:port[,host:port]/master`).
    /// `None`: no Redis tier.
    pub url: Option<String>,
    /// PEM file of the root certificate(s) to trust for `rediss://` (default: system roots).
    pub ca: Option<PathBuf>,
    /// The longest a request waits for another gateway's load of the same key before loading
    /// by itself.
    pub lock_wait: Duration,
    /// Bound on each Redis command; a slower answer counts as a miss.
    pub timeout: Duration,
    /// Key namespace in Redis: gateways meant to share a cache use the same one; two
    /// installations on one Redis use different ones.
    pub namespace: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        let engine = RedisOptions::default();
        Self {
            url: None,
            ca: None,
            lock_wait: engine.lock_wait,
            timeout: engine.command_timeout,
            namespace: engine.namespace,
        }
    }
}

impl RedisConfig {
    /// The engine's options for this tier, trusting `root_cert` (the `ca` file's bytes) for
    /// `rediss://`; the knobs the file does not have keep the engine's defaults.
    pub fn engine_options(&self, root_cert: Option<Vec<u8>>) -> RedisOptions {
        RedisOptions {
            command_timeout: self.timeout,
            namespace: self.namespace.clone(),
            lock_wait: self.lock_wait,
            root_cert,
            ..RedisOptions::default()
        }
    }
}

/// `[cache]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    memory_max: Option<Spanned<ByteSize>>,
    disk: Option<bool>,
    disk_max: Option<Spanned<ByteSize>>,
    redis: Option<String>,
    redis_timeout: Option<Spanned<Dur>>,
    redis_namespace: Option<String>,
    redis_ca: Option<PathBuf>,
    redis_lock_wait: Option<Dur>,
}

impl RawCache {
    /// The section: what the file sets, the defaults for the rest.
    pub(super) fn read(self, check: &Checker<'_>) -> Result<CacheConfig, ConfigError> {
        let mut c = CacheConfig::default();
        if let Some(m) = check.size(&self.memory_max, "memory_max")? {
            c.memory_max_bytes = m;
        }
        if let Some(d) = self.disk {
            c.disk.enabled = d;
        }
        if let Some(m) = check.size(&self.disk_max, "disk_max")? {
            c.disk.max_bytes = m;
        }
        c.redis.url = self.redis;
        if let Some(t) = check.duration(&self.redis_timeout, "redis_timeout")? {
            c.redis.timeout = t;
        }
        if let Some(n) = self.redis_namespace {
            c.redis.namespace = n;
        }
        c.redis.ca = self.redis_ca;
        if let Some(t) = self.redis_lock_wait {
            c.redis.lock_wait = t.0;
        }
        Ok(c)
    }
}
