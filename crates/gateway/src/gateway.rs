//! The gateway's handle ([`Gateway`]: the configuration, the cache, the upstreams, their
//! feeds and guards, the library copy it was built with), its builder, and how it binds,
//! serves and stops its listeners ([`BoundGateway`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use cachearr_config::Config;
use cachearr_engine::{Clock, Outcome, SystemClock, TieredCache};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::secret::Secret;
use tokio::net::TcpListener;

use crate::movable_clock::MovableClock;
use crate::prepared::{Budgets, VariantStats};
use crate::read_through::ReadThrough;
use crate::{
    GatewayError, background, batch, change_events, clients, copy, data_files, fetch, metrics,
    prepared, proxy, sampler, webhook_secret,
};

/// Makes the data directory owner-only: the directory and everything in it `0700`/`0600`
/// (files written by earlier versions included), and the process's file-creation mask `077`
/// so every file created later — the cache store's journals and tables (fjall opens them with
/// the default mode), index snapshots, the secret — is owner-only too. The store holds user
/// answers; nobody else on the machine may read them.
fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::create_dir_all(dir)?;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path)?;
            let want = if meta.is_dir() {
                0o700
            } else if meta.is_file() {
                0o600
            } else {
                continue;
            };
            if meta.permissions().mode() & 0o777 != want {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(want))?;
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    stack.push(entry?.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}
struct Inner {
    /// The configuration, the cache, its clock, the metrics, the secret and the feeds: what
    /// every read through the cache uses.
    reads: ReadThrough,
    /// The batches of section walks, which read through `reads`.
    batches: batch::BatchReads,
    prepared: prepared::PreparedHeaders,
    upstreams: Vec<Arc<Upstream>>,
    /// The library copy, opened by the builder with the gateway's reads before the gateway
    /// is put together: none, and searches and walks go to the server.
    copy: Option<Arc<dyn copy::LibraryCopy>>,
    webhook_secret: webhook_secret::WebhookSecret,
    /// The same clock when it can be moved on (`cachearr serve --movable-clock`, a
    /// measurement mode); none in production.
    movable_clock: Option<Arc<MovableClock>>,
    /// Requests per client, for `/api/stats`, `/metrics` and the dashboard.
    clients: Arc<clients::ClientTable>,
    /// Which upstreams' background work (crawl, socket, probes, samples) this gateway does:
    /// all of it alone, or as the holder of a lease among the gateways sharing its Redis.
    background: background::Background,
}

/// The running gateway's state. Cloning shares it.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("upstreams", &self.inner.upstreams)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Gateway`]; tests inject a clock and a cache.
pub struct GatewayBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    movable_clock: Option<Arc<MovableClock>>,
    cache: Option<TieredCache>,
    secret: Option<Secret>,
    copy: Option<CopyOpener>,
    lease: background::LeaseTiming,
}

/// Opens the library copy of a gateway being built (`cachearr_copy::open`) from what it reads
/// through and the upstreams it keeps a copy of: its indexes loaded from their snapshots, so
/// that it is ready before any listener binds.
pub type CopyOpener = OpenCopy<dyn copy::LibraryCopy>;

/// Opens a library copy of type `C` from the gateway's reads and the upstreams it keeps a copy
/// of ([`GatewayBuilder::build_with_copy`]; [`CopyOpener`] is one of `dyn LibraryCopy`).
pub type OpenCopy<C> =
    for<'a> fn(&'a ReadThrough, &'a [Arc<Upstream>]) -> futures_util::future::BoxFuture<'a, Arc<C>>;

impl GatewayBuilder {
    /// The clock for the cache, the breaker and token trust (default: system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.movable_clock = None;
        self
    }

    /// Runs on `clock`, which the admin API may move on ([`Gateway::movable_clock`]): the
    /// measurement mode of `cachearr serve --movable-clock`, never production.
    #[must_use]
    pub fn movable_clock(mut self, clock: Arc<MovableClock>) -> Self {
        self.clock = clock.clone();
        self.movable_clock = Some(clock);
        self
    }

    /// Uses this cache instead of building one from the config.
    #[must_use]
    pub fn cache(mut self, cache: TieredCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Uses this secret instead of `{data_dir}/secret`.
    #[must_use]
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The timing of the background lease among gateways sharing a Redis (tests shorten it).
    #[must_use]
    pub fn lease_timing(mut self, timing: background::LeaseTiming) -> Self {
        self.lease = timing;
        self
    }

    /// Opens the library copy with `open` once the gateway is built (`cachearr_copy::open`).
    #[must_use]
    pub fn copy(mut self, open: CopyOpener) -> Self {
        self.copy = Some(open);
        self
    }

    /// Opens the data directory and the cache tiers and compiles the routes; opens the
    /// library copy ([`GatewayBuilder::copy`]) with the gateway's reads and upstreams.
    ///
    /// # Errors
    /// [`GatewayError`] for an unusable configuration, data directory or cache.
    pub async fn build(mut self) -> Result<Gateway, GatewayError> {
        let opener = self.copy.take();
        let parts = self.parts().await?;
        let copy = match opener {
            Some(open) => Some(open(&parts.reads, &parts.upstreams).await),
            None => None,
        };
        Ok(parts.with_copy(copy))
    }

    /// [`GatewayBuilder::build`] with the library copy `open` opens from the gateway's reads
    /// and upstreams, handed back as its own type too: the binary's tools read it so, where
    /// the gateway knows it only as a [`copy::LibraryCopy`].
    ///
    /// # Errors
    /// As [`GatewayBuilder::build`].
    pub async fn build_with_copy<C: copy::LibraryCopy>(
        mut self,
        open: OpenCopy<C>,
    ) -> Result<(Gateway, Arc<C>), GatewayError> {
        self.copy = None;
        let parts = self.parts().await?;
        let copy = open(&parts.reads, &parts.upstreams).await;
        let gateway = parts.with_copy(Some(copy.clone() as Arc<dyn copy::LibraryCopy>));
        Ok((gateway, copy))
    }

    /// Everything of the gateway but its library copy, which is opened from these.
    async fn parts(self) -> Result<Parts, GatewayError> {
        let config = self.config;
        check_startable(&config)?;
        let data_err = |source| GatewayError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        };
        private_data_dir(&config.data_dir).map_err(data_err)?;
        let secret = match self.secret {
            Some(s) => s,
            None => Secret::load_or_create(&config.data_dir).map_err(data_err)?,
        };
        // Webhooks are authenticated by default: the secret is made at first start.
        let webhook_secret =
            webhook_secret::WebhookSecret::load_or_create(&config.data_dir).map_err(data_err)?;
        let cache = match self.cache {
            Some(c) => c,
            None => build_cache(&config, &self.clock, &secret).await?,
        };
        let upstreams = (config.upstreams.iter())
            .map(|u| open_upstream(&config, u, &self.clock))
            .collect::<Result<Vec<_>, _>>()?;
        let feeds = (config.upstreams.iter())
            .map(|u| new_feed(&config, u))
            .collect();
        let metrics = metrics::Metrics::new();
        let prepared = prepared::PreparedHeaders::new(&config.cache);
        let clients = Arc::new(clients::ClientTable::new());
        let clients_source: Arc<dyn metrics::StatsSource> = clients.clone();
        metrics.add_source(&clients_source);
        let background = background::Background::new(
            config.upstreams.iter().map(|u| u.name.as_str()),
            cache.redis().is_some(),
            self.lease,
        );
        Ok(Parts {
            reads: ReadThrough::new(config, cache, self.clock, metrics, secret, feeds),
            prepared,
            upstreams,
            webhook_secret,
            movable_clock: self.movable_clock,
            clients,
            background,
        })
    }
}

/// A gateway's parts before its library copy is opened from them
/// ([`GatewayBuilder::build`]).
struct Parts {
    reads: ReadThrough,
    prepared: prepared::PreparedHeaders,
    upstreams: Vec<Arc<Upstream>>,
    webhook_secret: webhook_secret::WebhookSecret,
    movable_clock: Option<Arc<MovableClock>>,
    clients: Arc<clients::ClientTable>,
    background: background::Background,
}

impl Parts {
    /// The gateway put together with `copy`.
    fn with_copy(self, copy: Option<Arc<dyn copy::LibraryCopy>>) -> Gateway {
        Gateway {
            inner: Arc::new(Inner {
                batches: batch::BatchReads::new(self.reads.clone()),
                reads: self.reads,
                clients: self.clients,
                prepared: self.prepared,
                upstreams: self.upstreams,
                copy,
                webhook_secret: self.webhook_secret,
                movable_clock: self.movable_clock,
                background: self.background,
            }),
        }
    }
}

/// The engine's tiers as the configuration asks: memory, then disk and Redis when set.
async fn build_cache(
    config: &Config,
    clock: &Arc<dyn Clock>,
    secret: &Secret,
) -> Result<TieredCache, GatewayError> {
    // The prepared answers' copies (gzip, body files) come out of the same limit,
    // and what they keep beside each entry is in its weight.
    let mut b = TieredCache::builder()
        .memory_max_bytes(prepared::Budgets::engine(&config.cache))
        .held_beside(prepared::held_beside)
        .clock(clock.clone());
    if config.cache.disk.enabled {
        // `disk_max` bounds the data directory: the library index's files (its
        // snapshots and the Plex element stores) come out of the same limit.
        b = b
            .disk(config.data_dir.join("cache"), config.cache.disk.max_bytes)
            .disk_counts_also(data_files::library_dir(&config.data_dir));
    }
    if let Some(url) = &config.cache.redis.url {
        // Redis is the third tier, below memory and disk, shared by every gateway
        // pointed at it (docs/redis.md).
        let root_cert =
            match &config.cache.redis.ca {
                Some(path) => Some(std::fs::read(path).map_err(|source| {
                    cachearr_config::ConfigError::Read {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let mut options = config.cache.redis.engine_options(root_cert);
        // Records in Redis are authenticated with a key derived from the
        // installation secret, which every gateway sharing the Redis holds.
        options.secret = cachearr_engine::SharedSecret::new(*secret.expose());
        let tier =
            cachearr_engine::RedisTier::connect_with_clock(url, options, clock.clone()).await?;
        b = b.redis(tier);
    }
    // A load may wait for budget, then try (retries + 1) times, each bounded by the
    // read timeout (headers, then body): the engine must not give up before that.
    let longest = config
        .upstreams
        .iter()
        .map(|u| {
            u.guard
                .read_timeout
                .saturating_mul(u.guard.retries.saturating_mul(2).saturating_add(3))
        })
        .max()
        .unwrap_or(std::time::Duration::from_secs(30));
    b = b.load_timeout(longest);
    if let Some(first) = config.upstreams.first() {
        b = b.refresh_budget(
            first.guard.background_max_concurrent,
            first.guard.background_rate_per_sec.ceil() as u32,
        );
    }
    Ok(b.build().await?)
}

/// One upstream's client, guard and user table.
fn open_upstream(
    config: &Config,
    u: &cachearr_config::UpstreamConfig,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<Upstream>, GatewayError> {
    let up = Upstream::new(u.clone(), clock.clone())?;
    // Refused tokens stay refused across a restart (their keyed hashes, never tokens).
    up.users
        .keep_refusals_in(data_files::file_path(&config.data_dir, &u.name, "refused"));
    // The release the server ran is known from the first request after a restart (and read
    // again at once: `change_events`).
    up.keep_release_in(data_files::file_path(&config.data_dir, &u.name, "release"));
    Ok(Arc::new(up))
}

/// One upstream's change feed.
fn new_feed(
    config: &Config,
    u: &cachearr_config::UpstreamConfig,
) -> Arc<cachearr_upstream::feed::Feed> {
    let feed = cachearr_upstream::feed::Feed::new(&u.name, &config.feed, &config.index)
        .with_announce_delay(cachearr_dialect::of(u.profile).events().announce_delay())
        .with_sessions_announced(
            cachearr_dialect::of(u.profile)
                .events()
                .announces_sessions(),
        )
        .with_sessions_subscription(
            cachearr_dialect::of(u.profile)
                .events()
                .sessions_subscription()
                .map(|s| s.fresh_for),
        );
    Arc::new(feed)
}

/// Everything about a configuration that can be checked without opening the data directory or
/// talking to a server: what `cachearr config check` runs and what [`GatewayBuilder::build`]
/// runs first, so a file that checks is a file that starts.
///
/// # Errors
/// [`GatewayError::Config`] naming the first problem.
pub fn check_startable(config: &Config) -> Result<(), GatewayError> {
    config.check_runnable()?;
    if let Some(path) = &config.cache.redis.ca {
        std::fs::metadata(path).map_err(|source| cachearr_config::ConfigError::Read {
            path: path.clone(),
            source,
        })?;
    }
    for u in &config.upstreams {
        // Compiles the route overrides and sets up the TLS client (roots, `ca`, `server_name`).
        Upstream::new(u.clone(), Arc::new(cachearr_engine::SystemClock))?;
    }
    Ok(())
}

/// Listeners bound by [`Gateway::bind`], ready to serve.
#[derive(Debug)]
pub struct BoundGateway {
    gateway: Gateway,
    proxies: Vec<(Arc<Upstream>, TcpListener)>,
    admin: TcpListener,
}

impl BoundGateway {
    /// The proxy listener address of each upstream, in config order.
    pub fn proxy_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.proxies
            .iter()
            .filter_map(|(u, l)| l.local_addr().ok().map(|a| (u.name.to_string(), a)))
            .collect()
    }

    /// The admin listener address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.local_addr().ok()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// and flushes the cache. The admin listener serves the router `admin_router` makes.
    ///
    /// # Errors
    /// [`GatewayError`] if the admin server fails.
    pub async fn serve(
        self,
        admin_router: AdminRouter,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        use cachearr_wire::{connections, listener};
        let stop = tokio_util::sync::CancellationToken::new();
        let mut tasks = Vec::new();
        let config = self.gateway.config();
        let limits = listener::Limits {
            max_header_bytes: config.limits.max_header_bytes,
            max_headers: config.limits.max_headers,
            max_connections: config.limits.max_connections.unwrap_or_else(|| {
                connections::default_max_connections(
                    connections::open_file_limit(),
                    config.upstreams.len(),
                )
            }),
        };
        for (up, listener) in self.proxies {
            let name = up.name.clone();
            let service = Arc::new(proxy::Listener::new(self.gateway.clone(), up));
            tasks.push(tokio::spawn(listener::serve_proxy(
                service,
                listener,
                name,
                limits,
                stop.clone(),
            )));
        }
        let copy_tasks = (self.gateway.copy())
            .map(|copy| copy.spawn(self.gateway.background(), &stop))
            .unwrap_or_default();
        let sampler = sampler::spawn_sampler(&self.gateway, &stop);
        let leases = background::spawn_leases(&self.gateway, &stop);
        // Started here, not by building the router: the admin side only reports on them.
        let subscriptions = change_events::EventSubscriptions::start(&self.gateway);
        let admin_router = admin_router(self.gateway.clone(), &subscriptions);
        let admin_stop = stop.clone();
        let admin_cap = connections::admin_max_connections(connections::open_file_limit());
        let admin = tokio::spawn(listener::serve_admin(
            admin_router,
            self.admin,
            admin_cap,
            admin_stop,
        ));
        shutdown.await;
        stop.cancel();
        for t in tasks {
            let _ = t.await;
        }
        let _ = admin.await;
        drop(subscriptions);
        for task in copy_tasks {
            let _ = task.await;
        }
        if let Some(sampler) = sampler {
            let _ = sampler.await;
        }
        if let Some(leases) = leases {
            let _ = leases.await;
        }
        self.gateway.cache().shutdown().await;
        Ok(())
    }
}

/// How the admin listener's router is made, once the change-event subscriptions it reports on
/// are started ([`change_events::EventSubscriptions::start`]): `cachearr_admin::router` in the
/// binary. The gateway serves it on the admin listener and knows nothing else of it.
pub type AdminRouter = fn(Gateway, &change_events::EventSubscriptions) -> axum::Router;

impl Gateway {
    /// A builder for `config`.
    pub fn builder(config: Config) -> GatewayBuilder {
        GatewayBuilder {
            config,
            clock: Arc::new(SystemClock),
            movable_clock: None,
            cache: None,
            secret: None,
            copy: None,
            lease: background::LeaseTiming::default(),
        }
    }

    /// What every read through the cache uses: the configuration, the cache, the clock, the
    /// metrics, the secret, the feeds ([`ReadThrough`]).
    pub fn reads(&self) -> &ReadThrough {
        &self.inner.reads
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.reads.config()
    }

    /// The Prometheus metrics the proxy updates (rendered by the admin side).
    pub fn metrics(&self) -> &metrics::Metrics {
        self.inner.reads.metrics()
    }

    /// Requests per client (who costs the server what).
    pub fn clients(&self) -> &clients::ClientTable {
        &self.inner.clients
    }

    /// The cache.
    pub fn cache(&self) -> &TieredCache {
        self.inner.reads.cache()
    }

    /// The batched metadata fetches of section walks ([`batch`]).
    pub fn batcher(&self) -> &batch::Batcher {
        self.inner.batches.batcher()
    }

    /// What the batches read with ([`batch::BatchReads`]).
    pub(crate) fn batches(&self) -> &batch::BatchReads {
        &self.inner.batches
    }

    /// The library copy the gateway was built with ([`GatewayBuilder::copy`]).
    pub fn copy(&self) -> Option<&Arc<dyn copy::LibraryCopy>> {
        self.inner.copy.as_ref()
    }

    /// Which upstreams' background work this gateway does ([`background`]).
    pub fn background(&self) -> &background::Background {
        &self.inner.background
    }

    /// The clock everything reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.reads.clock()
    }

    /// The clock, when this gateway runs in the measurement mode that lets it be moved on
    /// ([`GatewayBuilder::movable_clock`]); none otherwise.
    pub fn movable_clock(&self) -> Option<&Arc<MovableClock>> {
        self.inner.movable_clock.as_ref()
    }

    pub(crate) fn prepared(&self) -> &prepared::PreparedHeaders {
        &self.inner.prepared
    }

    /// What the answers prepared for cache entries (gzip copies, body files) and the library
    /// copy's kept items may hold, out of `memory_max`.
    pub fn prepared_budgets(&self) -> Budgets {
        self.inner.prepared.budgets()
    }

    /// The prepared answers' counters (gzip answers, `304`s, compressions) for `/metrics`.
    pub fn prepared_stats(&self) -> &VariantStats {
        self.inner.prepared.stats()
    }

    /// Drops what was prepared for entries the cache no longer holds, now rather than at the
    /// next sweep: after a clear, so the memory comes back at once.
    pub fn forget_dead_prepared(&self) {
        self.inner.prepared.forget_dead();
    }

    /// The installation secret: a token's keyed hash is made with it.
    pub fn secret(&self) -> &Secret {
        self.inner.reads.secret()
    }

    /// The webhook secret (`{data_dir}/webhook_secret`): webhooks must carry it.
    pub fn webhook_secret(&self) -> &str {
        self.inner.webhook_secret.as_str()
    }

    /// The upstreams, in config order.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.inner.upstreams
    }

    /// The upstream with this name.
    pub fn upstream(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.inner.upstreams.iter().find(|u| &*u.name == name)
    }

    /// The change feed of the upstream with this name.
    pub fn feed(&self, upstream: &str) -> Option<&Arc<cachearr_upstream::feed::Feed>> {
        self.inner.reads.feed(upstream)
    }

    /// Bumps tags of one upstream ([`ReadThrough::invalidate_tags`]).
    pub fn invalidate_tags(&self, upstream: &str, tags: &[String]) {
        self.inner.reads.invalidate_tags(upstream, tags);
    }

    /// Users of `upstream` seen within `within` (most recent first), for warming.
    pub fn recent_users(
        &self,
        upstream: &str,
        within: std::time::Duration,
    ) -> Vec<Arc<cachearr_upstream::users::UserRecord>> {
        let Some(up) = self.upstream(upstream) else {
            return Vec::new();
        };
        let since = self
            .clock()
            .now_ms()
            .saturating_sub(u64::try_from(within.as_millis()).unwrap_or(u64::MAX));
        up.users.seen_since(since)
    }

    /// Fetches `path_and_query` through the cache as `user`, on the background budget (for
    /// warming and prefetch). A fresh entry is a hit and costs nothing.
    ///
    /// # Errors
    /// [`GatewayError::BadRequest`] for a path that is not a cached route;
    /// [`GatewayError::Upstream`] if the upstream failed.
    pub async fn fetch_as(
        &self,
        upstream: &str,
        user: &Arc<cachearr_upstream::users::UserRecord>,
        path_and_query: &str,
    ) -> Result<Outcome, GatewayError> {
        let up = self
            .upstream(upstream)
            .ok_or_else(|| GatewayError::UnknownUpstream(upstream.to_string()))?
            .clone();
        let copy = (self.copy()).map(|c| c.clone() as Arc<dyn fetch::WalkSources>);
        fetch::background_fetch(self.reads(), copy.as_ref(), &up, user, path_and_query).await
    }

    /// Runs the warm list of an upstream cached by the HTTP caching standard: each path once,
    /// into its shared entry (such an upstream has no users of its own to warm for). Returns
    /// the requests made, warmed and failed.
    pub async fn warm_shared(&self, up: &Arc<Upstream>) -> (usize, usize, usize) {
        let mut warmed = 0;
        for path in &up.config.warm {
            if proxy::warm_standard(self.reads(), up, path).await {
                warmed += 1;
            } else {
                tracing::debug!(upstream = %up.name, path = %cachearr_upstream::redact::target(path), "warm request not kept");
            }
        }
        let requested = up.config.warm.len();
        (requested, warmed, requested - warmed)
    }

    /// Runs each upstream's warm list for every user seen within `within`. Returns the number
    /// of requests made through the cache (hits included) and the number that failed.
    pub async fn warm(&self, within: std::time::Duration) -> (usize, usize) {
        let mut done = 0;
        let mut failed = 0;
        for up in self.upstreams() {
            if up.routes.standard().is_some() {
                let (_, warmed, missed) = self.warm_shared(up).await;
                done += warmed;
                failed += missed;
                continue;
            }
            for user in self.recent_users(&up.name, within) {
                for path in &up.config.warm {
                    // A path naming the user needs their id on the server (or the one user
                    // whose routes the server answered the token: it answers it those again):
                    // without it, the user is not warmed that path.
                    let id = user.server_user_id().or_else(|| user.named_user());
                    let Some(path) = cachearr_dialect::UserRoutes::path_for(path, id.as_deref())
                    else {
                        continue;
                    };
                    match self.fetch_as(&up.name, &user, &path).await {
                        Ok(_) => done += 1,
                        Err(e) => {
                            failed += 1;
                            tracing::debug!(upstream = %up.name, path = %path, error = %cachearr_engine::Chain(&e), "warm failed");
                        }
                    }
                }
            }
        }
        (done, failed)
    }

    /// Binds every listener (proxy per upstream, admin). Port 0 picks a free port.
    ///
    /// # Errors
    /// [`GatewayError::Bind`] naming the address that failed.
    pub async fn bind(&self) -> Result<BoundGateway, GatewayError> {
        let mut proxies = Vec::new();
        for up in &self.inner.upstreams {
            let addr = up.config.listen;
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Bind { addr, source })?;
            proxies.push((up.clone(), l));
        }
        let addr = self.config().admin_listen;
        let admin = TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        Ok(BoundGateway {
            gateway: self.clone(),
            proxies,
            admin,
        })
    }

    /// Binds and serves until `shutdown` resolves, the admin listener serving the router
    /// `admin_router` makes.
    ///
    /// # Errors
    /// [`GatewayError::Bind`] if a listener cannot be bound.
    pub async fn run(
        self,
        admin_router: AdminRouter,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let bound = self.bind().await?;
        for (name, addr) in bound.proxy_addrs() {
            tracing::info!(upstream = %name, %addr, "proxy listening");
        }
        if let Some(a) = bound.admin_addr() {
            tracing::info!(addr = %a, "admin listening");
        }
        bound.serve(admin_router, shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use cachearr_dialect::UserRoutes;

    #[test]
    fn a_warm_path_naming_the_user_needs_their_id() {
        assert_eq!(
            UserRoutes::path_for("/UserViews", None).as_deref(),
            Some("/UserViews")
        );
        assert_eq!(
            UserRoutes::path_for("/Users/{user}/Views", Some("ab12")).as_deref(),
            Some("/Users/ab12/Views")
        );
        assert_eq!(
            UserRoutes::path_for("/Users/{user}/Items/Resume", None),
            None
        );
    }
}
