//! `[cache]`: the memory limit, the embedded disk tier and the optional shared Redis tier. The
//! Redis tier's knobs are the engine's, so their defaults are the engine's
//! ([`cachearr_engine::RedisOptions::default`]), not written again here.

use std::path::PathBuf;
use std::time::Duration;

use cachearr_engine::RedisOptions;
use serde::{Deserialize, Deserializer};

use super::values::{ByteSize, Dur, above_zero, duration};

/// The cache's tiers and limits: `[cache]` in the file, read through its flat keys
/// (`CacheKeys`: every key optional, the defaults from [`CacheConfig::default`]); a zero
/// size or Redis timeout is an error at its line and column.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "CacheKeys")]
pub struct CacheConfig {
    /// What the process may hold in memory for the cache, shared out among the memory tier,
    /// the disk tier's block cache, write queues, gzip copies and body files
    /// (docs/configuration.md, "Memory").
    pub memory_max_bytes: u64,
    /// The embedded disk tier.
    pub disk: DiskConfig,
    /// The shared Redis tier (off without a URL).
    pub redis: RedisConfig,
    /// Cached bodies at least this large leave by `sendfile(2)` from a sealed in-memory copy
    /// instead of being copied into the socket; `None` (the default, `"off"`) copies every
    /// body: which costs less depends on the machine (the gateway's `sendfile` module says
    /// why, docs/benchmarks.md measures both).
    pub sendfile_min_bytes: Option<u64>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            memory_max_bytes: 256 * 1024 * 1024,
            disk: DiskConfig::default(),
            redis: RedisConfig::default(),
            sendfile_min_bytes: None,
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

/// `[cache]` as the file writes it: flat keys (`disk`, `disk_max`, `redis_*`) where
/// [`CacheConfig`] groups them by tier. serde's `flatten` would group them for us, but it
/// buffers the values first, so toml could no longer place a bad one at its line and column,
/// and it does not work with `deny_unknown_fields`; so the section is read into this mirror —
/// every key optional, the defaults taken from [`CacheConfig::default`], a zero refused while
/// it is read — and turned into a [`CacheConfig`] by `#[serde(from)]`, with nothing left to
/// check afterwards.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CacheKeys {
    #[serde(deserialize_with = "memory_max")]
    memory_max: u64,
    disk: bool,
    #[serde(deserialize_with = "disk_max")]
    disk_max: u64,
    redis: Option<String>,
    #[serde(deserialize_with = "redis_timeout")]
    redis_timeout: Duration,
    redis_namespace: String,
    redis_ca: Option<PathBuf>,
    #[serde(deserialize_with = "duration")]
    redis_lock_wait: Duration,
    #[serde(deserialize_with = "sendfile_min")]
    sendfile_min: Option<u64>,
}

impl Default for CacheKeys {
    fn default() -> Self {
        let CacheConfig {
            memory_max_bytes,
            disk,
            redis,
            sendfile_min_bytes,
        } = CacheConfig::default();
        Self {
            memory_max: memory_max_bytes,
            disk: disk.enabled,
            disk_max: disk.max_bytes,
            redis: redis.url,
            redis_timeout: redis.timeout,
            redis_namespace: redis.namespace,
            redis_ca: redis.ca,
            redis_lock_wait: redis.lock_wait,
            sendfile_min: sendfile_min_bytes,
        }
    }
}

impl From<CacheKeys> for CacheConfig {
    fn from(k: CacheKeys) -> Self {
        Self {
            memory_max_bytes: k.memory_max,
            disk: DiskConfig {
                enabled: k.disk,
                max_bytes: k.disk_max,
            },
            redis: RedisConfig {
                url: k.redis,
                ca: k.redis_ca,
                lock_wait: k.redis_lock_wait,
                timeout: k.redis_timeout,
                namespace: k.redis_namespace,
            },
            sendfile_min_bytes: k.sendfile_min,
        }
    }
}

fn memory_max<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    above_zero(d, "memory_max").map(|v: ByteSize| v.0)
}

fn disk_max<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    above_zero(d, "disk_max").map(|v: ByteSize| v.0)
}

/// `sendfile_min`: `"off"`, or a size above zero.
fn sendfile_min<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OffOrSize {
        Off(Off),
        Size(ByteSize),
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Off {
        Off,
    }
    match OffOrSize::deserialize(d) {
        Ok(OffOrSize::Off(Off::Off)) => Ok(None),
        Ok(OffOrSize::Size(ByteSize(0))) | Err(_) => Err(serde::de::Error::custom(
            "sendfile_min must be \"off\" or a size above zero, such as \"16KiB\"",
        )),
        Ok(OffOrSize::Size(ByteSize(n))) => Ok(Some(n)),
    }
}

fn redis_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    above_zero(d, "redis_timeout").map(|t: Dur| t.0)
}
