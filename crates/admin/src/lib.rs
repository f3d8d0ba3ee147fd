//! cachearr-admin: the admin listener of a running gateway — JSON API, Prometheus metrics,
//! health, webhooks and the dashboard. It reads the gateway ([`cachearr_gateway::Gateway`])
//! and acts on it through its public handle; the gateway knows nothing of it. The binary
//! composes the two: [`cachearr_gateway::BoundGateway::serve`] takes [`router`] as the admin
//! listener's router.
//!
//! # Map
//! - the crate's root: the routes below, [`AdminBackend`] (what the API needs from a
//!   gateway) and the reports it answers with ([`StatsReport`], [`ClearReport`] …);
//! - `gateway_backend` — [`GatewayAdmin`], the backend for the real gateway, and its
//!   `samples` for `/metrics` at scrape time;
//! - [`guard`] — host names and cross-site requests refused before any route;
//! - `clock` — the measurement mode's clock, moved on by a benchmark;
//! - `webhooks` — the servers' webhook receivers; `dashboard` — the page and its assets;
//!   `wrong_port` — a media-server request sent to the admin port, answered with where to go.
//!
//! # Routes
//!
//! | route | what | token |
//! |---|---|---|
//! | `GET /` | dashboard page (uPlot charts, live from `/api/stats`) | no |
//! | `GET /api/stats` | per class and tier, upstream requests made and saved, warnings | no |
//! | `POST /api/clear` | everything, `?tag=T` or `?prefix=P` | yes |
//! | `POST /api/warm` | the configured warm list for recently seen users | yes |
//! | `POST /api/match` | a playlist matched against the library index ([`cachearr_copy::upstream_index::matching`]) | yes, unless a media-server user token is sent |
//! | `GET /api/index` | the library index of each upstream: state, progress, last build ([`cachearr_copy::upstream_index::index_api`]) | no |
//! | `POST /api/index/build` | start an index refresh, `?full=1` a full build, `?upstream=NAME` | yes |
//! | `GET /api/library/stats` | library totals per upstream, section and kind | no |
//! | `GET /metrics` | Prometheus text | no |
//! | `POST /api/clock/advance?secs=N` | moves the clock on, only under `serve --movable-clock` (a measurement mode; 404 otherwise) | yes |
//! | `GET /health`, `GET /ready` | liveness, readiness | no |
//! | `GET /api/webhooks` | the webhook secret and the webhook paths, for the dashboard | yes |
//! | `POST /webhooks/plex[/{upstream}]` | Plex webhook (multipart `payload`) | webhook secret |
//! | `POST /webhooks/jellyfin[/{upstream}]` | Jellyfin webhook plugin (JSON) | webhook secret |
//!
//! "Token" means: when an admin token is configured, the request must carry it as
//! `Authorization: Bearer T`, `X-Cachearr-Token: T` or `?token=T`; it is compared in constant
//! time ([`token_matches`]). Without a configured token these routes are open, which is why
//! [`check_bind`] refuses to bind the admin listener beyond loopback without one. Webhooks need
//! the webhook secret ([`webhook_secret`]; the admin token also does) whether or not an admin
//! token is configured.
//!
//! Before any route, [`guard`] refuses other host names (DNS rebinding) and cross-site or
//! form-like requests that change something ([`router`] installs it).
//!
//! The router is generic over [`AdminBackend`] so the API can be exercised without a whole
//! gateway; [`router`] mounts it for the real [`cachearr_gateway::Gateway`].

mod clock;
mod dashboard;
pub mod guard;
mod webhooks;
mod wrong_port;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use cachearr_dialect::Profile;
use cachearr_dialect::events::ChangeEvent;
use cachearr_gateway::clients::ClientsView;
use cachearr_gateway::error_answer::{ErrorAnswer, ErrorKind};
use cachearr_gateway::metrics::Metrics;

use cachearr_gateway::change_events::EventSubscriptions;
// The webhook secret is kept with the gateway's data (it loads it at start); it is read here.
use cachearr_gateway::webhook_secret;
pub use gateway_backend::GatewayAdmin;
mod gateway_backend;

/// Largest webhook body accepted (a Plex webhook's `thumb` part is a small JPEG).
const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What the admin API needs from the gateway.
pub trait AdminBackend: Send + Sync + 'static {
    /// The configured admin token, if any.
    fn admin_token(&self) -> Option<&str>;
    /// The webhook secret webhooks must carry. `None`: webhooks are authorized like the other
    /// mutating routes (by the admin token when one is configured); the gateway always has one.
    fn webhook_secret(&self) -> Option<&str> {
        None
    }
    /// The metrics registry.
    fn metrics(&self) -> &Metrics;
    /// Upstream names and the protocol each speaks, in configuration order.
    fn upstreams(&self) -> Vec<(String, Profile)>;
    /// The current statistics.
    fn stats(&self) -> impl Future<Output = StatsReport> + Send;
    /// Clears what is asked; returns what was cleared, as the cache reports it. Clearing
    /// cannot fail: the tiers drop their entries or mark them dead, and a shared tier that is
    /// down catches up when it is back.
    fn clear(&self, what: ClearRequest) -> impl Future<Output = ClearReport> + Send;
    /// Warms the configured list for recently seen users.
    fn warm(&self, upstream: Option<String>) -> impl Future<Output = WarmReport> + Send;
    /// Applies a change event from upstream `upstream` (bumps its tags); returns the tags.
    fn apply_event(
        &self,
        upstream: &str,
        source: &'static str,
        event: &ChangeEvent,
    ) -> impl Future<Output = Vec<String>> + Send;
    /// Whether the gateway can serve: `Err` lists what is not ready.
    fn ready(&self) -> Result<(), Vec<String>>;
    /// What works but not fully (a shared Redis tier that is down): `/ready` still answers
    /// 200, with these reasons, because the gateway serves from memory, disk and upstream.
    fn degraded(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What `POST /api/clear` should clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "value", rename_all = "lowercase")]
pub enum ClearRequest {
    /// Every entry of every tier.
    All,
    /// Every entry carrying this tag (`plex:section:3`).
    Tag(String),
    /// Every entry whose key starts with this prefix.
    Prefix(String),
}

/// The answer of `POST /api/clear`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearReport {
    /// What was cleared: `all`, `tag` or `prefix`.
    pub scope: String,
    /// The tag or prefix.
    pub value: Option<String>,
    /// Entries removed, when the cache can tell (tags are invalidated in O(1) and cannot).
    pub removed: Option<u64>,
}

/// The answer of `POST /api/warm`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WarmReport {
    /// Users seen recently for whom the list was fetched.
    pub users: usize,
    /// Requests made (users × paths).
    pub requested: usize,
    /// Requests answered with a cacheable success.
    pub warmed: usize,
    /// Requests that failed.
    pub failed: usize,
}

/// Counters of one cache class or tier, as the engine counts them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheCounters {
    /// Fresh hits.
    pub hits: u64,
    /// Misses (an upstream request, or a wait on one).
    pub misses: u64,
    /// Stale entries served (while revalidating or because the upstream failed).
    pub stale: u64,
    /// Requests that waited on another's upstream request (single-flight).
    pub coalesced: u64,
    /// Entries held.
    pub entries: u64,
    /// Bytes held.
    pub bytes: u64,
    /// Background refreshes running now.
    pub refreshing: u64,
    /// Refreshes the upstream answered `304 Not Modified` (the stored body kept, not
    /// downloaded again).
    #[serde(default)]
    pub revalidated_304: u64,
}

impl CacheCounters {
    /// Hits (fresh and stale) over all lookups, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let served = self.hits + self.stale + self.coalesced;
        let total = served + self.misses;
        if total == 0 {
            0.0
        } else {
            served as f64 / total as f64
        }
    }
}

/// Per-upstream numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamReport {
    /// Configured name.
    pub name: String,
    /// `plex` or `jellyfin`.
    pub profile: String,
    /// Requests cachearr made to this upstream.
    pub requests_made: u64,
    /// Client requests answered without an upstream request.
    pub requests_saved: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Mean time a client request waited for the guard's budget (`rate_per_sec`,
    /// `max_concurrent`) before it was sent, in milliseconds, since start. Well above zero:
    /// misses arrive faster than the guard lets them through (docs/operations.md).
    #[serde(default)]
    pub queued_ms_per_request: f64,
    /// Background requests (index build, refreshes) sent by the floor while clients held
    /// their budget.
    #[serde(default)]
    pub background_floor: u64,
    /// Circuit breaker state (`closed`, `open`, `half-open`).
    pub circuit: String,
    /// Whether cachearr subscribes to this upstream's notifications (an owner token is
    /// configured); without it change events arrive only by webhook.
    #[serde(default)]
    pub events_subscribed: bool,
    /// Whether cachearr's notification socket to this upstream is open (and the server has
    /// sent something on it).
    pub events_connected: bool,
    /// Notification socket connections closed as dead: nothing arrived on them although they
    /// were probed (a relay on the way dropped them).
    #[serde(default)]
    pub events_socket_silent: u64,
    /// Change events applied (webhooks and socket).
    pub events: u64,
    /// Client requests passed through uncached because they carried two different tokens.
    #[serde(default)]
    pub ambiguous_identity: u64,
    /// Client requests passed through uncached because the server refused their token last.
    #[serde(default)]
    pub refused_token: u64,
    /// Cached reads that repeated their connection's previous request byte for byte (routing,
    /// identity and key reused; the user's standing checked again).
    #[serde(default)]
    pub repeated_reads: u64,
    /// Requests clients sent through cachearr to this upstream.
    #[serde(default)]
    pub client_requests: u64,
    /// Of them, sent on to the server.
    #[serde(default)]
    pub client_requests_to_server: u64,
    /// Requests the server did not receive because of cachearr: what clients sent minus what
    /// went on (answers from the cache and from the library index). cachearr's own background
    /// requests are not subtracted here; they are `background_requests`.
    #[serde(default)]
    pub requests_avoided: u64,
    /// cachearr's own requests to this upstream: prefetch, warming, refreshes, index crawls.
    #[serde(default)]
    pub background_requests: u64,
    /// What this upstream's clients got, counted at its proxy listener.
    #[serde(default)]
    pub clients: ClientsView,
    /// What cachearr cost this upstream's server for itself.
    #[serde(default)]
    pub own: OwnReport,
}

/// What cachearr asked of the servers for itself, apart from what its clients sent on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnReport {
    /// cachearr's own reads through its cache — the copy's proofs, a search's nested reads,
    /// batches' parts, probes, prefetches: the engine's lookups less the clients' reads
    /// through the cache. The engine counts by class, not by upstream, so only the total
    /// ([`Headline::own`]) has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<u64>,
    /// Requests sent to the server for cachearr itself: every request sent (retries
    /// included) less the clients' requests sent on.
    pub server_requests: u64,
    /// Of them, sent on the background budget (crawls, refreshes, prefetches, probes).
    pub background_requests: u64,
    /// `server_requests` a minute, over the last minute (over the time since start until a
    /// minute has passed); `None` until two readings ten seconds apart.
    #[serde(default)]
    pub server_requests_per_minute: Option<f64>,
    /// The clients' requests sent on to the server a minute, over the same time.
    #[serde(default)]
    pub client_server_requests_per_minute: Option<f64>,
}

/// The dashboard's headline: what the clients got, and apart, what cachearr cost for itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Every upstream's clients together.
    pub clients: ClientsView,
    /// cachearr's own reads and server requests, every upstream together.
    pub own: OwnReport,
}

/// The answer of `GET /api/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Seconds since the gateway started.
    pub uptime_secs: u64,
    /// Totals over every class.
    pub total: CacheCounters,
    /// Per route class (`metadata`, `sessions`…).
    pub classes: std::collections::BTreeMap<String, CacheCounters>,
    /// Per tier (`memory`, `disk`, `redis`).
    pub tiers: std::collections::BTreeMap<String, CacheCounters>,
    /// Per upstream.
    pub upstreams: Vec<UpstreamReport>,
    /// Things an operator should know (index off, disk off, socket down…).
    pub warnings: Vec<String>,
    /// The library index of each upstream, in short (the whole story is `GET /api/index`).
    #[serde(default)]
    pub index: Vec<IndexSummary>,
    /// The shared Redis tier, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisReport>,
    /// What the clients got and what cachearr cost for itself, every upstream together
    /// (each upstream's are in `upstreams`); the engine's `total` and `classes` count
    /// cachearr's own reads through the cache as well.
    #[serde(default)]
    pub headline: Headline,
    /// Who costs the server what: requests per client, busiest first.
    #[serde(default)]
    pub clients: Vec<cachearr_gateway::clients::ClientReport>,
    /// Cache validity from each upstream's change feed: health, trust per class and the
    /// staleness sampled revalidation measured.
    #[serde(default)]
    pub feed: Vec<cachearr_upstream::feed::FeedReport>,
    /// Each upstream's background role among gateways sharing a Redis: `holder` (crawls,
    /// keeps the socket, probes, samples, publishes), `follower`, or `alone` without Redis;
    /// the lease's fence and holder.
    #[serde(default)]
    pub background: Vec<cachearr_gateway::background::RoleReport>,
    /// How `memory_max` is shared out, and what each share holds now.
    #[serde(default)]
    pub memory: MemoryReport,
    /// Batched metadata for section walks: batches sent, parts stored as single answers,
    /// client requests that waited for one, batches refused by the byte-for-byte proof.
    #[serde(default)]
    pub batches: cachearr_gateway::batch::BatchReport,
    /// Open file descriptors: the process's against its limit, and the disk tier's.
    #[serde(default)]
    pub descriptors: DescriptorReport,
}

/// Open file descriptors, as `/api/stats` shows them (`descriptors`): each client and upstream
/// connection holds one, as do the stores' files; the limit is the whole budget
/// (docs/operations.md, "Open files").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DescriptorReport {
    /// Open now in the whole process, when the system says (`/proc/self/fd`).
    pub open: Option<u64>,
    /// The soft open-file limit (`None`: unlimited).
    pub limit: Option<u64>,
    /// Of those, open on the disk tier's files (tables, blob files, journal, lock).
    pub disk_tier: Option<u64>,
    /// The most table and blob files the disk tier keeps open: its share of the limit.
    pub disk_tier_max: Option<u64>,
}

/// How `memory_max` is shared out (every share counts against it), and what each holds now.
/// Outside it: the library index, connection buffers and the runtime (docs/configuration.md,
/// "Memory").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The configured limit.
    pub memory_max: u64,
    /// The memory tier's share (its use is `tiers.memory.bytes`).
    pub memory_tier: u64,
    /// The disk tier's block cache (0 without a disk tier).
    pub disk_block_cache: u64,
    /// The disk tier's memtables: records written but not yet flushed (0 without a disk
    /// tier).
    #[serde(default)]
    pub disk_memtables: u64,
    /// What writes waiting for the disk or Redis may hold.
    pub write_queue: u64,
    /// What they hold now.
    pub write_queue_used: u64,
    /// Gzip copies of cached answers: their share.
    pub gzip_copies: u64,
    /// What gzip copies hold now (whole process).
    pub gzip_copies_used: u64,
    /// Memory-backed body files for `sendfile`: their share.
    pub body_files: u64,
    /// What body files hold now (whole process).
    pub body_files_used: u64,
    /// The library index's store of Plex item elements (block cache and memtable), per
    /// upstream with a Plex index.
    #[serde(default)]
    pub index_elements: u64,
    /// The library copy's items kept written for its answers: the share, per upstream with a
    /// Plex index.
    #[serde(default)]
    pub index_written: u64,
    /// What the written items hold now, every upstream together.
    #[serde(default)]
    pub index_written_used: u64,
    /// Invalidation tags interned (outside `memory_max`, about 100 bytes each).
    #[serde(default)]
    pub tags_interned: u64,
    /// What the process's allocator holds (the whole heap: everything above and outside it),
    /// when the binary's allocator can say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<cachearr_gateway::allocator::AllocatorFigures>,
}

/// One upstream's library index, as `/api/stats` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexSummary {
    /// The upstream.
    pub upstream: String,
    /// `[index] enabled`; when false every search goes to the server.
    pub enabled: bool,
    /// `disabled`, `idle`, `building`, `ready` or `failed`.
    pub state: String,
    /// Items in the installed index.
    pub items: u64,
    /// Searches that went to the server because the index was off or not ready.
    pub searches_to_server: u64,
}

/// The `redis` section of `GET /api/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RedisReport {
    /// `up`, `degraded` (the breaker skips Redis) or `down` (unreachable, reconnecting).
    pub state: String,
    /// Whether the circuit breaker is open (Redis skipped; memory and disk carry on).
    pub breaker_open: bool,
    /// Whether the invalidation channel (pub/sub) is subscribed.
    pub subscribed: bool,
    /// Whether Redis is a cluster.
    pub cluster: bool,
    /// Commands that failed or timed out (OOM refusals included).
    pub errors: u64,
    /// Writes refused because Redis is full (maxmemory with noeviction).
    pub oom_errors: u64,
    /// The last error (passwords masked).
    pub last_error: Option<String>,
    /// Times the breaker opened.
    pub breaker_trips: u64,
    /// Records read from Redis.
    pub hits: u64,
    /// Reads that found nothing.
    pub misses: u64,
    /// Records that failed authentication (copied under another key, written by a gateway
    /// with another secret, or altered): read as misses, never served.
    #[serde(default)]
    pub rejected_records: u64,
    /// Records written.
    pub writes: u64,
    /// Loads done under the cross-instance lock.
    pub locks_taken: u64,
    /// Loads answered by another gateway's load.
    pub waits_filled: u64,
    /// Waits that ended in a local load (bound reached or holder gave up).
    pub waits_gave_up: u64,
    /// Invalidations received from other gateways.
    pub events_received: u64,
    /// Full resyncs of generations and clears (start, reconnects, missed broadcasts).
    pub resyncs: u64,
}

/// Builds the admin router for the real gateway, reporting on `subscriptions` (started by the
/// caller, [`EventSubscriptions::start`]). Building it starts nothing.
pub fn router(gateway: cachearr_gateway::Gateway, subscriptions: &EventSubscriptions) -> Router {
    let proxies = gateway
        .config()
        .upstreams
        .iter()
        .map(|u| wrong_port::ProxyListener {
            upstream: u.name.clone(),
            profile: u.profile.as_str(),
            port: u.listen.port(),
        })
        .collect();
    // The library copy's own routes (index, matching, lookup), made by the copy over itself.
    let copy_routes = (gateway.copy().cloned())
        .map(cachearr_gateway::copy::LibraryCopy::admin_routes)
        .unwrap_or_default();
    router_with(Arc::new(GatewayAdmin::new(gateway.clone(), subscriptions)))
        .merge(copy_routes)
        .merge(clock::router(gateway.clone()))
        .fallback(wrong_port::handler(proxies))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::AdminGuard::new(
                gateway.config().admin_listen,
                &gateway.config().admin_allowed_hosts,
            )),
            guard::guard,
        ))
}

/// Builds the admin router over any backend.
pub fn router_with<B: AdminBackend>(backend: Arc<B>) -> Router {
    let router = Router::new()
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::asset))
        .route("/api/stats", get(stats::<B>))
        .route("/api/clear", post(clear::<B>))
        .route("/api/warm", post(warm::<B>))
        .route("/api/webhooks", get(webhooks_info::<B>))
        .route("/metrics", get(metrics::<B>))
        .route("/health", get(health))
        .route("/ready", get(ready::<B>));
    webhooks::routes(router)
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .with_state(backend)
}

/// Refuses an admin listener address beyond loopback when no admin token is configured.
///
/// # Errors
/// [`AdminError::PublicWithoutToken`] in that case.
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), AdminError> {
    let has_token = token.is_some_and(|t| !t.is_empty());
    if addr.ip().is_loopback() || has_token {
        Ok(())
    } else {
        Err(AdminError::PublicWithoutToken(addr))
    }
}

/// Binds the admin listener after [`check_bind`].
///
/// # Errors
/// [`AdminError::PublicWithoutToken`], or [`AdminError::Bind`] when the address is taken.
pub async fn bind(
    addr: SocketAddr,
    token: Option<&str>,
) -> Result<tokio::net::TcpListener, AdminError> {
    check_bind(addr, token)?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AdminError::Bind { addr, source })
}

/// Why the admin listener cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Binding beyond loopback needs an admin token.
    #[error(
        "refusing to bind the admin listener to {0} without an admin token: anyone who can reach \
         it could clear the cache. Set --admin-token (or CACHEARR_ADMIN_TOKEN), or bind to 127.0.0.1"
    )]
    PublicWithoutToken(SocketAddr),
    /// The address could not be bound.
    #[error("cannot bind the admin listener to {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

use cachearr_gateway::auth::{authorize_token, presented_token, token_matches};

/// `Ok` when no token is configured or the request presents the right one; else a 401.
fn authorize<B: AdminBackend>(
    backend: &B,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), ErrorAnswer> {
    authorize_token(backend.admin_token(), headers, query_token)
}

async fn stats<B: AdminBackend>(State(backend): State<Arc<B>>) -> Response {
    let report = backend.stats().await;
    let mut response = axum::Json(report).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Query of `POST /api/clear`.
#[derive(Debug, Default, Deserialize)]
struct ClearQuery {
    tag: Option<String>,
    prefix: Option<String>,
    token: Option<String>,
}

async fn clear<B: AdminBackend>(
    State(backend): State<Arc<B>>,
    headers: HeaderMap,
    query: Result<Query<ClearQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ErrorAnswer::new(
            ErrorKind::BadRequest,
            "malformed query: use ?tag=T or ?prefix=P",
        )
        .into_response();
    };
    if let Err(denied) = authorize(backend.as_ref(), &headers, query.token.as_deref()) {
        return denied.into_response();
    }
    let what = match (query.tag, query.prefix) {
        (Some(_), Some(_)) => {
            return ErrorAnswer::new(
                ErrorKind::BadRequest,
                "give either tag= or prefix=, not both",
            )
            .into_response();
        }
        (Some(tag), None) if tag.is_empty() => {
            return ErrorAnswer::new(ErrorKind::BadRequest, "tag= is empty").into_response();
        }
        (None, Some(prefix)) if prefix.is_empty() => {
            return ErrorAnswer::new(ErrorKind::BadRequest, "prefix= is empty").into_response();
        }
        (Some(tag), None) => ClearRequest::Tag(tag),
        (None, Some(prefix)) => ClearRequest::Prefix(prefix),
        (None, None) => ClearRequest::All,
    };
    axum::Json(backend.clear(what).await).into_response()
}

/// Query of `POST /api/warm`.
#[derive(Debug, Default, Deserialize)]
struct WarmQuery {
    upstream: Option<String>,
    token: Option<String>,
}

async fn warm<B: AdminBackend>(
    State(backend): State<Arc<B>>,
    headers: HeaderMap,
    query: Result<Query<WarmQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ErrorAnswer::new(ErrorKind::BadRequest, "malformed query: use ?upstream=NAME")
            .into_response();
    };
    if let Err(denied) = authorize(backend.as_ref(), &headers, query.token.as_deref()) {
        return denied.into_response();
    }
    if let Some(name) = &query.upstream
        && !backend.upstreams().iter().any(|(n, _)| n == name)
    {
        return ErrorAnswer::new(ErrorKind::NotFound, format!("no upstream named {name:?}"))
            .into_response();
    }
    axum::Json(backend.warm(query.upstream).await).into_response()
}

/// Query of `GET /api/webhooks`.
#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The webhook secret and, per configured upstream, the path to give the media server (the
/// dashboard puts its own origin in front).
async fn webhooks_info<B: AdminBackend>(
    State(backend): State<Arc<B>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if authorize(backend.as_ref(), &headers, query.token.as_deref()).is_err() {
        // Not a 401: the dashboard asks on every load, and a browser logs each 401 as an
        // error. The answer says what is missing and holds no secret.
        let mut response =
            axum::Json(serde_json::json!({ "needs_admin_token": true })).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    let Some(secret) = backend.webhook_secret() else {
        return ErrorAnswer::new(
            ErrorKind::NotFound,
            "no webhook secret: webhooks take the admin token",
        )
        .into_response();
    };
    let upstreams: Vec<_> = backend
        .upstreams()
        .into_iter()
        .map(|(name, profile)| {
            let profile = profile.as_str();
            serde_json::json!({
                "upstream": name,
                "profile": profile,
                "path": format!("/webhooks/{profile}/{name}?secret={secret}"),
            })
        })
        .collect();
    let mut response =
        axum::Json(serde_json::json!({ "secret": secret, "upstreams": upstreams })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn metrics<B: AdminBackend>(State(backend): State<Arc<B>>) -> Response {
    let body = backend.metrics().render();
    (
        [(
            header::CONTENT_TYPE,
            cachearr_gateway::metrics::CONTENT_TYPE,
        )],
        body,
    )
        .into_response()
}

async fn health() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn ready<B: AdminBackend>(State(backend): State<Arc<B>>) -> Response {
    match backend.ready() {
        Ok(()) => {
            let degraded = backend.degraded();
            if degraded.is_empty() {
                axum::Json(serde_json::json!({ "ready": true })).into_response()
            } else {
                // Degraded, not dead: still 200, so a load balancer keeps sending traffic.
                axum::Json(serde_json::json!({
                    "ready": true,
                    "status": "degraded",
                    "degraded": degraded,
                }))
                .into_response()
            }
        }
        Err(reasons) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "ready": false, "reasons": reasons })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(token_matches("abc123", "abc123"));
        assert!(!token_matches("abc123", "abc124"));
        assert!(!token_matches("abc123", "abc12"));
        assert!(!token_matches("abc123", ""));
    }

    #[test]
    fn bind_beyond_loopback_needs_a_token() {
        let public: SocketAddr = "0.0.0.0:8485".parse().unwrap();
        let lan: SocketAddr = "192.168.1.5:8485".parse().unwrap();
        let v6: SocketAddr = "[::1]:8485".parse().unwrap();
        assert!(check_bind("127.0.0.1:0".parse().unwrap(), None).is_ok());
        assert!(check_bind(v6, None).is_ok());
        assert!(matches!(
            check_bind(public, None),
            Err(AdminError::PublicWithoutToken(_))
        ));
        assert!(
            check_bind(lan, Some("")).is_err(),
            "an empty token is no token"
        );
        assert!(check_bind(public, Some("t0k3n")).is_ok());
    }

    #[test]
    fn hit_rate_counts_stale_and_coalesced_as_served() {
        let c = CacheCounters {
            hits: 6,
            stale: 1,
            coalesced: 1,
            misses: 2,
            ..Default::default()
        };
        assert!((c.hit_rate() - 0.8).abs() < 1e-9);
        assert!(CacheCounters::default().hit_rate().abs() < f64::EPSILON);
    }
}
