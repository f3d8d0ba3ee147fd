//! The upstream side: one [`Upstream`] per media server, with its pooled HTTP client and its
//! [`Guard`] (concurrency caps, rate limits, timeouts, retries with jitter, circuit breaker).
//!
//! Client requests and background work (refresh, warm, prefetch, the index build) draw on
//! separate budgets ([`Budget`]); background work also waits while clients use more than half
//! of theirs, so it yields to them, but never entirely: a quarter of the background rate is
//! let through whatever the clients do (the floor), so an index build finishes in bounded
//! time under constant client load. Time spent waiting for budget is counted per request
//! ([`GuardSnapshot::client_queued_us`]), so a `rate_per_sec` too low for the load shows.
//!
//! This file holds [`Upstream`] (the pooled client, owner requests, sending with retries) and
//! the typed failures ([`UpstreamError`], [`BadTarget`], [`UpstreamSetupError`]); `guard` holds
//! the [`Guard`] and its breaker; `prefetched` the [`Ledger`] of whether its prefetched
//! entries are read.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cachearr_engine::Clock;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use cachearr_config::UpstreamConfig;
use cachearr_config::policy::RouteTable;
use cachearr_dialect::Profile;

use crate::redact;

mod fair;
mod flights;
mod guard;
mod prefetched;
pub use fair::Asker;
pub use flights::{FlightGuard, Flights, Joined, wait as wait_for_flight};
pub use guard::{BreakerState, Guard, GuardCounters, GuardPermit, GuardSnapshot};
pub use prefetched::{Ledger, PROBE_EVERY, VERDICTS, WATCH_MS};

/// A boxed error for streamed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type sent upstream: streamed client bodies or nothing.
pub type UpstreamBody = BoxBody<Bytes, BoxError>;

/// Which budget a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// A client is waiting for it.
    Client,
    /// Refresh, warm or prefetch: nobody waits; yields to clients.
    Background,
}

/// Why an upstream request did not produce a usable response. Each carries its
/// [`UpstreamError::kind`] (what the engine and the proxy answer by) and whether trying again
/// may help ([`UpstreamError::is_retryable`]); nothing reads the message to tell them apart.
/// A broken connection keeps the client's own error as its source.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The circuit breaker is open.
    #[error("upstream {upstream} is failing; circuit open for another {retry_after:?}")]
    CircuitOpen {
        /// Upstream name.
        upstream: String,
        /// When a probe will be let through.
        retry_after: Duration,
    },
    /// The concurrency or rate budget stayed exhausted for the whole read timeout.
    #[error("upstream {0} is saturated (concurrency or rate limit)")]
    Saturated(String),
    /// No response headers within the read timeout.
    #[error("upstream {0} did not answer within the read timeout")]
    Timeout(String),
    /// Could not connect or the connection broke.
    #[error("upstream {upstream}: {}", transport_failure(source))]
    Transport {
        /// Upstream name.
        upstream: String,
        /// The client's error, a `hyper_util::client::legacy::Error` (its `is_connect` tells
        /// a refused connection from a broken one; the I/O error is among its sources).
        /// Neither it nor its sources name the URL, which could carry a token.
        #[source]
        source: cachearr_engine::Cause,
    },
    /// The upstream answered with a server error.
    #[error("upstream {upstream} answered {status}")]
    Status {
        /// Upstream name.
        upstream: String,
        /// The status it sent.
        status: u16,
    },
    /// The client's request body failed while it was being sent (too large, or cut off).
    #[error("the request body could not be read")]
    ClientBody,
}

impl From<UpstreamError> for cachearr_engine::LoadError {
    /// The engine carries the kind to whoever waited for the load, so the proxy answers a
    /// breaker, a saturated guard or a time-out by its kind, never by matching the message.
    fn from(e: UpstreamError) -> Self {
        Self::caused_by(e.kind(), "the upstream request failed", e)
    }
}

impl UpstreamError {
    /// What kind of failure this is, in the engine's terms.
    pub fn kind(&self) -> cachearr_engine::LoadErrorKind {
        use cachearr_engine::LoadErrorKind as Kind;
        match self {
            UpstreamError::CircuitOpen { .. } => Kind::Unavailable,
            UpstreamError::Saturated(_) => Kind::Saturated,
            UpstreamError::Timeout(_) => Kind::Timeout,
            UpstreamError::Status { .. } => Kind::BadAnswer,
            UpstreamError::Transport { .. } | UpstreamError::ClientBody => Kind::Other,
        }
    }

    /// Whether the same request, sent again at once, may succeed: a time-out, a broken
    /// connection or a 502/503/504. [`Upstream::send_idempotent`] retries exactly these, and
    /// they count against the breaker.
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout(_) | UpstreamError::Transport { .. } => true,
            UpstreamError::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

/// A client's path and query that cannot be joined with the upstream's address into a URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the request target is not a valid URI")]
pub struct BadTarget;

impl From<BadTarget> for cachearr_engine::LoadError {
    fn from(e: BadTarget) -> Self {
        Self::of_kind(cachearr_engine::LoadErrorKind::Other, e.to_string())
    }
}

/// Why an [`Upstream`] cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamSetupError {
    /// A route override does not compile.
    #[error("upstream {upstream}: a route override does not compile")]
    Routes {
        /// The upstream.
        upstream: String,
        /// The bad pattern.
        source: cachearr_config::policy::RouteError,
    },
    /// The TLS settings are unusable.
    #[error("upstream {upstream}: unusable TLS settings")]
    Tls {
        /// The upstream.
        upstream: String,
        /// What is wrong.
        source: cachearr_config::tls::TlsError,
    },
}

/// A user's player: the user, and the player's own id when its requests say it.
type PlayerOf = (crate::keys::UserHash, Option<String>);

/// One media server: name, profile, base URL, route table, client and guard.
pub struct Upstream {
    /// Short name (first part of keys and tags).
    pub name: Arc<str>,
    /// The name as the metrics labels take it.
    pub metrics_name: Arc<String>,
    /// API profile.
    pub profile: Profile,
    /// Its configuration.
    pub config: UpstreamConfig,
    /// Compiled route policies.
    pub routes: RouteTable,
    /// Its protection and counters.
    pub guard: Guard,
    /// Users seen recently (token hashes, trust, tokens for warming; memory only).
    pub users: crate::users::Users,
    /// Fills under way that the engine does not make itself (the standard-following
    /// profile's), so concurrent misses of one key make one upstream request.
    pub flights: Flights,
    /// Whether the entries prefetched after its listings are read.
    pub prefetched: Ledger,
    /// What each user may see, read from the server's account service (`None`: its
    /// dialect reads no shares, or no address or owner token is configured).
    pub shares: Option<crate::shares::ShareBook>,
    /// The release the server last said it runs (its identity route's answer), when read;
    /// at start, the one kept from the last run ([`Self::keep_release_in`]).
    server_version: Mutex<Option<Arc<str>>>,
    /// The file the release is kept in across restarts ([`Self::keep_release_in`]).
    release_file: std::sync::OnceLock<std::path::PathBuf>,
    /// Whether the server itself said its release since this process started: one kept from
    /// the last run is not confirmed until it does.
    release_confirmed: std::sync::atomic::AtomicBool,
    /// How many times that release changed: what was read from a request under another
    /// release (its token among them) is read again.
    release_changes: std::sync::atomic::AtomicU64,
    /// The item and playback state of the last heartbeat of each user's player.
    heartbeats: Mutex<std::collections::HashMap<PlayerOf, (String, String)>>,
    client: Client<HttpsConnector<HttpConnector>, UpstreamBody>,
    /// `scheme://authority` of the server.
    origin: String,
    /// Path prefix of the base URL without the trailing slash (often empty).
    prefix: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("profile", &self.profile)
            .field("origin", &self.origin)
            .finish()
    }
}

impl Upstream {
    /// A GET of `uri` on this upstream as cachearr itself: the owner's `token` (if any) in the
    /// server's token header, JSON wanted, and (Plex) a client identifier `client` so the
    /// server's device list names cachearr.
    pub fn owner_request(
        &self,
        uri: &http::Uri,
        token: Option<&http::HeaderValue>,
        client: &'static str,
    ) -> http::Request<UpstreamBody> {
        use http::{HeaderValue, header};
        use http_body_util::{BodyExt as _, Empty};
        let mut req = http::Request::new(
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed(),
        );
        *req.uri_mut() = uri.clone();
        let headers = req.headers_mut();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(t) = token {
            cachearr_dialect::insert_own_credential(self.profile, headers, t);
        }
        cachearr_dialect::of(self.profile).mark_own_request(headers, client);
        if let Ok(host) = HeaderValue::from_str(self.host()) {
            headers.insert(header::HOST, host);
        }
        req
    }

    /// The body of a 200 answer to an anonymous GET of `path` (the server's identity …),
    /// as cachearr's own background request; `None` for anything else.
    pub async fn read_anonymous(&self, path: &str) -> Option<Bytes> {
        use http_body_util::BodyExt as _;
        let uri = self.uri_for(path).ok()?;
        let make = || Ok(self.owner_request(&uri, None, "cachearr"));
        let response = self.send_idempotent(&make, Budget::Background).await.ok()?;
        if response.status() != http::StatusCode::OK {
            return None;
        }
        let body = http_body_util::Limited::new(response.into_body(), 1 << 20);
        Some(body.collect().await.ok()?.to_bytes())
    }

    /// The release the server last said it runs ([`Self::note_server_version`]).
    pub fn server_version(&self) -> Option<Arc<str>> {
        self.server_version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records the release the server says it runs (read from its identity route by its
    /// dialect); returns the release it replaces when it differs from the one read before,
    /// or kept from the last run (the first reading of a new data directory replaces
    /// nothing). A new release is kept ([`Self::keep_release_in`]).
    pub fn note_server_version(&self, version: &str) -> Option<Arc<str>> {
        self.release_confirmed.store(true, Ordering::Release);
        let mut known = self
            .server_version
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if known.as_deref() == Some(version) {
            return None;
        }
        let before = known.replace(Arc::from(version));
        drop(known);
        if before.is_some() {
            self.release_changes.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(path) = self.release_file.get()
            && let Err(error) = write_release(path, version)
        {
            tracing::warn!(
                upstream = %self.name,
                path = %path.display(),
                %error,
                "the server's release could not be kept: a restart reads it again before \
                 following it"
            );
        }
        before
    }

    /// Keeps the server's release in `path` from now on, and takes the one kept there by the
    /// last run as the release the server runs (at start, before any request): a restarted
    /// gateway reads requests by that release's rules from the first one, while the server
    /// is asked again ([`Self::release_confirmed`]).
    pub fn keep_release_in(&self, path: std::path::PathBuf) {
        if let Some(kept) = read_release(&path) {
            let mut known = self
                .server_version
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if known.is_none() {
                *known = Some(Arc::from(kept.as_str()));
            }
        }
        let _ = self.release_file.set(path);
    }

    /// Whether the server said which release it runs since this process started (a release
    /// kept from the last run is only what it ran then).
    pub fn release_confirmed(&self) -> bool {
        self.release_confirmed.load(Ordering::Acquire)
    }

    /// How many times the release the server runs changed ([`Self::note_server_version`]).
    pub fn release_changes(&self) -> u64 {
        self.release_changes.load(Ordering::Relaxed)
    }

    /// Builds the upstream (compiles its routes, makes its client).
    ///
    /// # Errors
    /// [`UpstreamSetupError`] if the route overrides do not compile or the TLS settings are
    /// unusable.
    pub fn new(
        config: UpstreamConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Upstream, UpstreamSetupError> {
        let routes = RouteTable::compile(&config.routing()).map_err(|source| {
            UpstreamSetupError::Routes {
                upstream: config.name.clone(),
                source,
            }
        })?;
        if let Some(standard) = routes.standard() {
            // Log lines are written far from the upstream: its credential names are the
            // process's to redact.
            crate::redact::add_credential_params(
                standard
                    .settings
                    .credential_params
                    .iter()
                    .map(String::as_str),
            );
        }
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build(connector(&config)?);
        let origin = format!(
            "{}://{}",
            config.url.scheme_str().unwrap_or("http"),
            config.url.authority().map_or("", |a| a.as_str())
        );
        let prefix = config.url.path().trim_end_matches('/').to_string();
        Ok(Upstream {
            name: Arc::from(config.name.as_str()),
            metrics_name: Arc::new(config.name.clone()),
            profile: config.profile,
            shares: crate::shares::ShareBook::new(&config, clock.clone()),
            guard: Guard::new(&config.name, config.guard.clone(), clock),
            routes,
            users: crate::users::Users::default(),
            flights: Flights::default(),
            prefetched: Ledger::default(),
            server_version: Mutex::new(None),
            release_file: std::sync::OnceLock::new(),
            release_confirmed: std::sync::atomic::AtomicBool::new(false),
            release_changes: std::sync::atomic::AtomicU64::new(0),
            heartbeats: Mutex::new(std::collections::HashMap::new()),
            client,
            origin,
            prefix,
            config,
        })
    }

    /// The absolute upstream URI for a client's path and query.
    ///
    /// # Errors
    /// [`BadTarget`] if the result is not a valid URI.
    pub fn uri_for(&self, path_and_query: &str) -> Result<http::Uri, BadTarget> {
        let mut s =
            String::with_capacity(self.origin.len() + self.prefix.len() + path_and_query.len());
        s.push_str(&self.origin);
        s.push_str(&self.prefix);
        s.push_str(path_and_query);
        s.parse().map_err(|_| BadTarget)
    }

    /// Records a heartbeat's item and playback state; true unless the last beat of the same
    /// user's same player (`player`, as the dialect reads it; `None` when the request does not
    /// say) was of the same item in the same state (the first beat counts as a change).
    ///
    /// Kept per player, not per item: a player that reports another item and then the first
    /// again has started a new playback of it on the server (a new `lastViewedAt`), which a
    /// memory per item would take for a repeat and leave the user's answers showing the old;
    /// and a second player of the user starting the item another plays is a playback of its
    /// own, which a memory per user would take for a repeat.
    pub fn heartbeat_changed(
        &self,
        user: crate::keys::UserHash,
        player: Option<&str>,
        (item, state): (&str, &str),
    ) -> bool {
        let mut map = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        let beat = (user, player.map(str::to_owned));
        if map
            .get(&beat)
            .is_some_and(|(last_item, last_state)| last_item == item && last_state == state)
        {
            return false;
        }
        map.insert(beat, (item.to_string(), state.to_string()));
        true
    }

    /// The `Host` header value for upstream requests.
    pub fn host(&self) -> &str {
        self.config.url.authority().map_or("", |a| a.as_str())
    }

    /// Sends one request (no retries) within budget, waiting at most the read timeout for the
    /// response headers. The permit is released when the headers arrive; the body streams on.
    ///
    /// # Errors
    /// [`UpstreamError`] for an open circuit, exhausted budget, timeout or transport error.
    /// 5xx answers are returned as responses (and counted as failures).
    pub async fn send_once(
        &self,
        req: http::Request<UpstreamBody>,
        budget: Budget,
    ) -> Result<http::Response<Incoming>, UpstreamError> {
        let asker = req.extensions().get::<Asker>().copied().unwrap_or_default();
        // What the server is asked, one line each at trace level (credentials redacted): how
        // an operator sees which of the server's requests are a tool's and which cachearr's.
        tracing::trace!(
            upstream = %self.name,
            method = %req.method(),
            target = %redact::uri_target(req.uri()),
            ?budget,
            "request to the server"
        );
        let mut permit = self.guard.acquire(budget, asker).await?;
        let result =
            tokio::time::timeout(self.guard.cfg.read_timeout, self.client.request(req)).await;
        match result {
            Err(_) => {
                self.guard.failure(&mut permit);
                Err(UpstreamError::Timeout(self.name.to_string()))
            }
            Ok(Err(e)) if client_body_failed(&e) => {
                // The client's own body broke off or was too large: not the server's fault.
                Err(UpstreamError::ClientBody)
            }
            Ok(Err(e)) => {
                self.guard.failure(&mut permit);
                Err(UpstreamError::Transport {
                    upstream: self.name.to_string(),
                    source: cachearr_engine::Cause::new(e),
                })
            }
            Ok(Ok(resp)) => {
                if resp.status().is_server_error() {
                    self.guard.failure(&mut permit);
                } else {
                    self.guard.success(&mut permit);
                }
                Ok(resp)
            }
        }
    }

    /// Sends a bodiless idempotent request built by `make` (once per attempt; building cannot
    /// fail), retrying with jittered exponential back-off after transport errors, timeouts and
    /// 502/503/504 ([`UpstreamError::is_retryable`]).
    ///
    /// # Errors
    /// The last attempt's [`UpstreamError`] (a 5xx after the last retry is returned as a
    /// response, not an error).
    pub async fn send_idempotent(
        &self,
        make: &(dyn Fn() -> Result<http::Request<UpstreamBody>, Infallible> + Send + Sync),
        budget: Budget,
    ) -> Result<http::Response<Incoming>, UpstreamError> {
        let mut delays = self.guard.retry_delays();
        loop {
            let Ok(req) = make();
            let result = self.send_once(req, budget).await;
            let retry = match &result {
                Ok(resp) => matches!(resp.status().as_u16(), 502..=504),
                Err(e) => e.is_retryable(),
            };
            if !retry {
                return result;
            }
            let Some(delay) = delays.next() else {
                return result;
            };
            self.guard.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }
}

/// The connector of an upstream's pool: plain TCP for `http://`, rustls over it for `https://`
/// (cachearr_config::tls: system roots plus the upstream's `ca`, its `server_name`).
fn connector(config: &UpstreamConfig) -> Result<HttpsConnector<HttpConnector>, UpstreamSetupError> {
    let tls_error = |source| UpstreamSetupError::Tls {
        upstream: config.name.clone(),
        source,
    };
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(config.guard.connect_timeout));
    tcp.set_nodelay(true);
    // The TLS layer hands `https` URIs to the TCP connector, which must not refuse them.
    tcp.enforce_http(false);
    let https = config.url.scheme_str() == Some("https");
    let tls = if https {
        cachearr_config::tls::client_config(&config.tls).map_err(tls_error)?
    } else {
        // Never used (the URL is http), but the connector type wants one: no roots, so it
        // could not vouch for anything.
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cachearr_config::tls::TlsError::Setup(e)))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
    };
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let builder = match &config.tls.server_name {
        Some(name) => {
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(
                cachearr_config::tls::server_name(name).map_err(tls_error)?,
            ))
        }
        None => builder,
    };
    Ok(builder.enable_http1().wrap_connector(tcp))
}

/// Whether the request failed because the body we were streaming (the client's) errored.
fn client_body_failed(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && h.is_user()
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// What a transport error was, connecting or on a connection made: the client's words and
/// those beneath it are its sources (none of them names the URL, which could carry a token).
fn transport_failure(e: &cachearr_engine::Cause) -> &'static str {
    let connect = e
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    if connect {
        "cannot connect"
    } else {
        "connection failed"
    }
}

/// The longest release string kept (a version such as `12.0.0`; anything longer is not one).
const RELEASE_MAX: usize = 64;

/// A release as it may be kept: short, printable, no spaces.
fn plausible_release(text: &str) -> bool {
    !text.is_empty() && text.len() <= RELEASE_MAX && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The release kept in `path` by an earlier run, if the file holds one.
fn read_release(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    plausible_release(text).then(|| text.to_owned())
}

/// Keeps `version` in `path` (written beside it, then renamed over it).
fn write_release(path: &std::path::Path, version: &str) -> std::io::Result<()> {
    if !plausible_release(version) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("release.tmp");
    std::fs::write(&temporary, format!("{version}\n"))?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt as _;

    #[test]
    fn an_http_upstreams_credential_parameters_are_redacted_once_it_is_built() {
        let target = "/feed?page=2&signature_q=abc123";
        assert!(crate::redact::target(target).contains("abc123"));
        let mut config = UpstreamConfig::new(
            "api",
            Profile::Http,
            "http://127.0.0.1:9".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        config.http.credential_params = vec!["Signature_Q".to_owned()];
        Upstream::new(config, Arc::new(cachearr_engine::SystemClock)).unwrap();
        let redacted = crate::redact::target(target);
        assert_eq!(redacted, "/feed?page=2&signature_q=REDACTED");
        let line = crate::redact::text("GET /feed?signature_q=abc123 failed");
        assert!(!line.contains("abc123"), "{line}");
    }

    #[tokio::test]
    async fn a_refused_connection_keeps_the_clients_error_as_its_source() {
        // A port nothing listens on: bind one, then close it.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut config = UpstreamConfig::new(
            "plex",
            Profile::Plex,
            format!("http://{addr}").parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        config.guard.retries = 0;
        let up = Upstream::new(config, Arc::new(cachearr_engine::SystemClock)).unwrap();
        let req = http::Request::get(format!("http://{addr}/identity"))
            .body(
                http_body_util::Empty::<bytes::Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .unwrap();
        let err = up.send_once(req, Budget::Client).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(err.kind(), cachearr_engine::LoadErrorKind::Other);
        assert_eq!(err.to_string(), "upstream plex: cannot connect");
        let client = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<hyper_util::client::legacy::Error>())
            .expect("the client's error as the source");
        assert!(client.is_connect());
        // The engine's error keeps the upstream's as its source, and says each cause once.
        let load = cachearr_engine::LoadError::from(err);
        let upstream = std::error::Error::source(&load)
            .and_then(|s| s.downcast_ref::<UpstreamError>())
            .expect("the upstream error as the load's source");
        assert!(matches!(upstream, UpstreamError::Transport { .. }));
        let chain = cachearr_engine::Chain(&load).to_string();
        assert!(
            chain.starts_with("the upstream request failed: upstream plex: cannot connect: "),
            "{chain}"
        );
        let causes: Vec<&str> = chain.split(": ").collect();
        let mut unique = causes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), causes.len(), "a cause said twice: {chain}");
    }
}
