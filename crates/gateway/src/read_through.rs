//! What every read through the cache uses ([`ReadThrough`]): the configuration, the cache,
//! its clock, the metrics, the installation secret and the upstreams' change feeds. The
//! read-through service ([`crate::fetch`]), the batched windows (`crate::batch`, with their
//! batcher beside it), the HTTP-caching profile's exchanges and the library copy
//! (`cachearr-copy`) are handed this and nothing of the gateway's listeners, its copy or its
//! background leases: a read needs none of them.

use std::sync::Arc;

use cachearr_config::Config;
use cachearr_engine::{Clock, TieredCache};
use cachearr_upstream::feed::Feed;
use cachearr_upstream::secret::Secret;

use crate::metrics::Metrics;

/// The cache and what every read through it uses. Cheap to clone: clones share it. Built once
/// by [`crate::gateway::GatewayBuilder::build`], before the library copy, which reads through
/// it.
#[derive(Clone)]
pub struct ReadThrough {
    parts: Arc<Parts>,
}

struct Parts {
    config: Config,
    cache: TieredCache,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    secret: Secret,
    /// One change feed per upstream, in the configuration's order.
    feeds: Vec<Arc<Feed>>,
}

impl std::fmt::Debug for ReadThrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadThrough")
            .field("feeds", &self.parts.feeds.len())
            .finish_non_exhaustive()
    }
}

impl ReadThrough {
    /// Puts the parts together (`feeds`: one per upstream, in the configuration's order).
    pub(crate) fn new(
        config: Config,
        cache: TieredCache,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        secret: Secret,
        feeds: Vec<Arc<Feed>>,
    ) -> Self {
        ReadThrough {
            parts: Arc::new(Parts {
                config,
                cache,
                clock,
                metrics,
                secret,
                feeds,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.parts.config
    }

    /// The cache.
    pub fn cache(&self) -> &TieredCache {
        &self.parts.cache
    }

    /// The clock everything reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.parts.clock
    }

    /// The Prometheus metrics the reads update (rendered by the admin side).
    pub fn metrics(&self) -> &Metrics {
        &self.parts.metrics
    }

    /// The installation secret: a token's keyed hash is made with it.
    pub fn secret(&self) -> &Secret {
        &self.parts.secret
    }

    /// The change feed of the upstream with this name.
    pub fn feed(&self, upstream: &str) -> Option<&Arc<Feed>> {
        self.parts.feeds.iter().find(|f| f.upstream() == upstream)
    }

    /// Bumps tags of one upstream. `tags` may be full tags (`plex:item:5`, from
    /// [`cachearr_dialect::tags`]) or bare suffixes (`item:5`), which get the upstream's prefix.
    pub fn invalidate_tags(&self, upstream: &str, tags: &[String]) {
        let prefix = format!("{upstream}:");
        for t in tags {
            if t.starts_with(&prefix) {
                self.parts.cache.invalidate_tag(t);
            } else {
                self.parts.cache.invalidate_tag(&format!("{prefix}{t}"));
            }
        }
    }
}
