//! The read-through service: one request's answer through the cache, loaded from the
//! upstream on a miss. The proxy's cached reads, prefetch, batched metadata, the library
//! copy's reads as a user (`cachearr-copy`) and the change feed's sampled revalidation all go
//! through it, so they share single-flight, the guard's budgets and the cache's entries; it
//! imports nothing that serves requests (`proxy`; the library copy and the admin side are
//! crates above this one).
//!
//! [`HttpLoader`] is the engine's loader: told by the engine whether a client waits
//! ([`cachearr_engine::LoadContext`]), it spends the client or the background budget, sends
//! the request with the stored headers' owned copies, checks the body (images, declared
//! lengths) and answers what the engine stores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use cachearr_engine::{
    CachedValue, Fill, Key, LoadContext, LoadError, LoadErrorKind, Loader, Lookup, Outcome,
};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};

use crate::image_check;
use crate::read_through::ReadThrough;
use cachearr_config::policy::{Decision, ResolvedPolicy, Scope};
use cachearr_dialect::answers::ItemsShown;
use cachearr_upstream::client::{Budget, Upstream, UpstreamBody};
use cachearr_upstream::entry::cached_entry;
use cachearr_upstream::keys::KeyInput;
use cachearr_upstream::users::{UserRecord, Users};

/// The body of an answer the gateway writes: a buffered body (cache hits, errors, answers
/// from the index) or the upstream's streamed one (pass-through).
pub type ProxyBody = cachearr_wire::ResponseBody;

/// The body of a client's request: hyper's stream, or none for a request read by the wire's
/// own HTTP/1.1 loop (a `GET` without a body).
pub type ClientBody = cachearr_wire::RequestBody;

/// Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction.
pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// The most header lines the servers take in a request head: Kestrel's `MaxRequestHeaderCount`
/// (Jellyfin) and hyper's default are both 100, and a head over it is refused with a 431. A
/// client head the gateway accepts (`[limits] max_headers`, 100 by default) must not be pushed
/// over it by what the gateway adds: `X-Forwarded-For` and a cache fill's
/// `Accept-Encoding: identity` are added only while there is room (servers send no coding to a
/// request that names none), so a client's 100-line head reaches the server as 100 lines.
pub(crate) const UPSTREAM_MAX_HEADER_LINES: usize = 100;

/// Inserts `name: value`, unless it would add a line to a head already at
/// [`UPSTREAM_MAX_HEADER_LINES`] (replacing an existing line always fits).
fn insert_if_room(out: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    if out.contains_key(&name) || out.len() < UPSTREAM_MAX_HEADER_LINES {
        out.insert(name, value);
    }
}

/// Request headers for a cache fill: the client's, minus hop-by-hop, conditional and range
/// headers (the stored answer must be the full one) and with an identity encoding (the cache
/// stores plain bodies; the gzip copy a client may get is made here, once per entry). What a
/// client could steer the server's answer with and no key holds does not go along either
/// (the answer is stored for others): forwarding, rewrite and method-override fields and
/// those its `Connection` names ([`cachearr_httpcache::steering`]); `X-Forwarded-For` is the
/// address the gateway was asked from.
pub(crate) fn load_headers(h: &HeaderMap, up: &Upstream, peer: SocketAddr) -> HeaderMap {
    use cachearr_httpcache::steering;
    let mut out = HeaderMap::with_capacity(h.len() + 2);
    let named = cachearr_httpcache::storable::connection_fields(h);
    for (name, value) in h {
        if is_hop_by_hop(name)
            || steering::is_forwarding(name)
            || steering::is_rewrite(name)
            || steering::METHOD_OVERRIDES.contains(&name.as_str())
            || named.contains(name)
            || matches!(
                name.as_str(),
                "host"
                    | "accept-encoding"
                    | "if-none-match"
                    | "if-modified-since"
                    | "if-match"
                    | "if-unmodified-since"
                    | "if-range"
                    | "range"
                    | "content-length"
            )
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    // Host first: the server needs it, where the other two are only worth a line if there is one.
    if let Ok(v) = HeaderValue::from_str(up.host()) {
        out.insert(header::HOST, v);
    }
    insert_if_room(
        &mut out,
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    append_forwarded_for(&mut out, &HeaderMap::new(), peer);
    out
}

/// Appends the client's address to `X-Forwarded-For` (after what `original` carried).
pub(crate) fn append_forwarded_for(out: &mut HeaderMap, original: &HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match original
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prev) => format!("{prev}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        insert_if_room(out, HeaderName::from_static("x-forwarded-for"), v);
    }
}

/// What a cache fill needs, shared between the request and the engine (which keeps the loader
/// for background refreshes).
pub struct LoaderState {
    /// The cache and what the load reads with (the clock, the limits, the metrics).
    pub reads: ReadThrough,
    /// The upstream asked.
    pub up: Arc<Upstream>,
    /// Who the read is made as.
    pub user: Arc<UserRecord>,
    /// The route is one the upstream authenticates: its 2xx proves the token.
    pub authenticates: bool,
    /// The answer is kept in the asking user's own scope (not the scope every trusted token
    /// reads): only there may a refusal of who asked be kept (`fill_of`).
    pub user_scoped: bool,
    /// The client's request target (path and query are replayed upstream).
    pub uri: http::Uri,
    /// The client's headers (token and client identity included), as received.
    pub client_headers: HeaderMap,
    /// The client's address, for `X-Forwarded-For`.
    pub peer: SocketAddr,
    /// A client's request made this loader (not prefetch or warming): a load the engine runs
    /// for a waiting caller ([`LoadContext::CallerWaiting`]) uses the client budget.
    pub for_client: bool,
    /// Time spent on the upstream by the foreground load (µs), for `Server-Timing`.
    pub upstream_us: AtomicU64,
    /// The answer is about library content: it carries the tags of the items it shows
    /// ([`cachearr_upstream::feed::value_tags`]).
    pub item_tagged: bool,
    /// What may answer the load instead of the server (the library copy's walks).
    pub copy: Option<Arc<dyn CopySource>>,
    /// The library copy, told when the load finds the server at another release.
    pub walks: Option<Arc<dyn WalkSources>>,
    /// The load was answered by the copy, not the server.
    pub answered_by_copy: std::sync::atomic::AtomicBool,
    /// The ids the copy's answer shows and names, where the copy said them
    /// ([`CopyAnswer::ids`]): its tags are made from them instead of its text.
    pub copy_ids: std::sync::Mutex<Option<ItemsShown>>,
    /// The tags the copy's answer carries besides its items' ([`CopyAnswer::tags`]).
    pub copy_tags: std::sync::Mutex<Vec<String>>,
    /// The copy found the user does not see the walk's section whole, so it answers none of
    /// their walks there: the load is a plain server read (listing windows may take it).
    pub copy_declines_user: std::sync::atomic::AtomicBool,
}

/// Something that may answer a load instead of the server: the library copy, which writes a
/// section's listing or an item's children from the elements it keeps
/// (`upstream_index::answer::WalkCopy` in `cachearr-copy`). Handed to the loader by the proxy, so
/// that this module imports nothing that serves requests. A copy answer is stored like the
/// server's: it is the server's, byte for byte (the copy answers only what it has proven it
/// writes alike).
pub trait CopySource: Send + Sync + std::fmt::Debug {
    /// The answer from the copy, or `None` (the server answers).
    fn answer<'a>(&'a self, state: &'a LoaderState) -> BoxFuture<'a, Option<CopyAnswer>>;
    /// The server's answer to a load the copy did not answer: what the copy learns from.
    fn learn(&self, state: Arc<LoaderState>, server: CachedValue) -> BoxFuture<'static, ()>;
}

/// What may answer the loads of an upstream's walks instead of the server: the library copy,
/// for the loads the gateway makes itself (prefetch, warming) as for clients'.
pub trait WalkSources: Send + Sync {
    /// What may answer a miss of a cached read of `search` on `upstream` instead of the
    /// server: the copy's walks (an item's children or leaves, a section listing, a series'
    /// seasons and episodes), handed to the loader; `None`: the server answers.
    fn walk_copy(
        &self,
        upstream: &str,
        search: cachearr_config::policy::IndexSearch,
        query: Option<&str>,
    ) -> Option<Arc<dyn CopySource>>;

    /// `upstream`'s server was found at another release than before
    /// ([`crate::server_version::follow`]): the copy reads the server again.
    fn server_changed(&self, upstream: &str);

    /// Whether `page` is, byte for byte and headers too, what `upstream`'s server answers a
    /// listing's page that holds no item and starts at `start`, as the copy proved on the
    /// server's own such answers: the page after a listing's last, predicted by the batches
    /// (`batch::past_end`), is then stored ahead without a proof of its own. `false` where
    /// the copy proved no such page.
    fn vouches_empty_page(&self, _upstream: &str, _start: usize, _page: &CachedValue) -> bool {
        false
    }
}

/// An answer of the library copy's ([`CopySource::answer`]).
#[derive(Debug)]
pub struct CopyAnswer {
    /// The answer as stored.
    pub value: CachedValue,
    /// The ids it shows and names, where the copy knows them (`None`: its text is read for
    /// them, as the server's answers are).
    pub ids: Option<ItemsShown>,
    /// Tags the answer is stored under besides its items' (whole, upstream first): what the
    /// copy invalidates when it stops trusting how it wrote the answer — a request shape it
    /// no longer answers, whose stored answers must stop being served with it.
    pub tags: Vec<String>,
}

impl LoaderState {
    /// The request target replayed upstream (`/` when it has none).
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }
}

/// The [`Loader`] the engine calls on a miss or refresh.
pub struct HttpLoader(pub Arc<LoaderState>);

impl Loader for HttpLoader {
    /// A copy with the request target and headers in buffers of their own: the originals are
    /// slices of the client connection's read buffer and would pin all of it while the
    /// warmer keeps this loader.
    fn kept(&self) -> Option<Arc<dyn Loader>> {
        let s = &self.0;
        let (uri, client_headers) = owned_request(&s.uri, &s.client_headers)?;
        Some(Arc::new(HttpLoader(Arc::new(LoaderState {
            reads: s.reads.clone(),
            up: s.up.clone(),
            user: s.user.clone(),
            user_scoped: s.user_scoped,
            uri,
            client_headers,
            peer: s.peer,
            authenticates: s.authenticates,
            for_client: s.for_client,
            upstream_us: AtomicU64::new(0),
            answered_by_copy: Default::default(),
            copy_ids: Default::default(),
            copy_tags: Default::default(),
            copy_declines_user: Default::default(),
            item_tagged: s.item_tagged,
            copy: s.copy.clone(),
            walks: s.walks.clone(),
        }))))
    }

    fn value_tags(&self, value: &CachedValue) -> Vec<Arc<str>> {
        let s = &self.0;
        let copy_tags = std::mem::take(&mut *s.copy_tags.lock().unwrap_or_else(|e| e.into_inner()));
        if value.status != 200 {
            return Vec::new();
        }
        let copy_tags = copy_tags.into_iter().map(Arc::from);
        if !s.item_tagged {
            return copy_tags.collect();
        }
        let owner =
            s.up.config
                .token
                .as_deref()
                .is_some_and(|t| !t.is_empty() && s.reads.secret().user_of(t) == s.user.hash);
        let said = s.copy_ids.lock().unwrap_or_else(|e| e.into_inner()).take();
        let dialect = cachearr_dialect::of(s.up.profile);
        let feed = s.reads.feed(&s.up.name).map(|f| &**f);
        let watch =
            cachearr_upstream::feed::Feed::filled_watch_tags(feed, &s.user, dialect, &value.body);
        let mut tags =
            cachearr_upstream::feed::answer_tags(&s.up.name, dialect, owner, &value.body, said);
        tags.extend(watch);
        tags.extend(copy_tags);
        tags
    }

    fn load(&self, context: LoadContext) -> BoxFuture<'static, Result<Fill, LoadError>> {
        self.fetch(context, None)
    }

    /// A refresh of a stored answer that carried an `ETag` or `Last-Modified` asks the
    /// upstream with `If-None-Match` / `If-Modified-Since`: a `304` keeps the stored body.
    fn revalidate(
        &self,
        current: &CachedValue,
        context: LoadContext,
    ) -> BoxFuture<'static, Result<Fill, LoadError>> {
        self.fetch(context, Validators::of(current))
    }
}

/// The validators of a stored answer, sent back to the upstream on a refresh.
#[derive(Debug, Default)]
pub struct Validators {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

impl Validators {
    /// Those of `value`, if it is a `200` that has any (the headers' names are stored in
    /// lower case).
    fn of(value: &CachedValue) -> Option<Validators> {
        if value.status != 200 {
            return None;
        }
        let mut v = Validators::default();
        for (name, text) in &value.headers {
            match name.as_str() {
                "etag" if crate::etag::is_valid(text.as_bytes()) => {
                    v.etag = HeaderValue::from_str(text).ok();
                }
                "last-modified" => {
                    v.last_modified = HeaderValue::from_str(text).ok();
                }
                _ => {}
            }
        }
        (v.etag.is_some() || v.last_modified.is_some()).then_some(v)
    }

    fn apply(&self, headers: &mut HeaderMap) {
        if let Some(tag) = &self.etag {
            headers.insert(header::IF_NONE_MATCH, tag.clone());
        }
        if let Some(date) = &self.last_modified {
            headers.insert(header::IF_MODIFIED_SINCE, date.clone());
        }
    }
}

impl HttpLoader {
    #[allow(
        clippy::disallowed_methods,
        reason = "the upstream's latency for the metrics is a real span"
    )]
    fn fetch(
        &self,
        context: LoadContext,
        validators: Option<Validators>,
    ) -> BoxFuture<'static, Result<Fill, LoadError>> {
        let state = self.0.clone();
        // Only a client's own wait spends the client budget: refreshes behind a stale answer,
        // warming, and loads prefetch waits for go on the background budget.
        let budget = if state.for_client && context == LoadContext::CallerWaiting {
            Budget::Client
        } else {
            Budget::Background
        };
        async move {
            if let Some(copy) = &state.copy
                && let Some(CopyAnswer { value, ids, tags }) = copy.answer(&state).await
            {
                state.answered_by_copy.store(true, Ordering::Relaxed);
                *state.copy_ids.lock().unwrap_or_else(|e| e.into_inner()) = ids;
                *state.copy_tags.lock().unwrap_or_else(|e| e.into_inner()) = tags;
                return Ok(Fill::Store(value));
            }
            // The server's answer is read for its ids, whatever an earlier load said, and
            // carries none of the copy's tags.
            state
                .copy_ids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            state
                .copy_tags
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            let t = Instant::now();
            let r = fetch_for_cache(&state, budget, validators.as_ref()).await;
            // The copy learns from what the server answered (after the answer is handed on).
            if let Some(copy) = &state.copy
                && let Ok(Fill::Store(value)) = &r
            {
                tokio::spawn(copy.learn(state.clone(), value.clone()));
            }
            if budget == Budget::Client {
                let us = crate::respond::elapsed_us(t);
                state.upstream_us.store(us, Ordering::Relaxed);
            }
            r
        }
        .boxed()
    }
}

/// A request's target and headers in buffers of their own. The parsed originals are slices of
/// the client connection's read buffer and would pin all of it for as long as anything that
/// outlives the request (the warmer's loader, the change feed's sampling pool) keeps them.
pub(crate) fn owned_request(
    uri: &http::Uri,
    headers: &HeaderMap,
) -> Option<(http::Uri, HeaderMap)> {
    let uri = http::Uri::try_from(uri.to_string()).ok()?;
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        owned.append(
            owned_name(name),
            HeaderValue::from_bytes(value.as_bytes()).ok()?,
        );
    }
    Some((uri, owned))
}

/// `name` in a buffer of its own (a custom name parsed from a request is a slice of the
/// connection's read buffer; standard names are constants).
pub(crate) fn owned_name(name: &HeaderName) -> HeaderName {
    HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone())
}

/// Response headers not stored: connection-level, recomputed, per-response or ours.
pub(crate) fn stored_header(name: &HeaderName) -> bool {
    !is_hop_by_hop(name)
        && !matches!(
            name.as_str(),
            "content-length"
                | "date"
                | "set-cookie"
                | "age"
                | "x-cache"
                | "cache-status"
                | "server-timing"
        )
}

/// An answer meant for this one client (it sets a cookie, or varies on everything): passed
/// on, never stored.
fn per_session(headers: &HeaderMap) -> bool {
    headers.contains_key(header::SET_COOKIE)
        || headers
            .get(header::VARY)
            .is_some_and(|v| v.as_bytes() == b"*")
}

/// The answer's headers as stored ([`stored_header`]); values that are not text are left out.
fn stored_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| stored_header(n))
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_string(), v.to_string()))
        })
        .collect()
}

/// The server's answer to the load `state` describes, on `budget`, conditional on
/// `validators` when a stale entry has them: what the engine stores.
pub async fn fetch_for_cache(
    state: &LoaderState,
    budget: Budget,
    validators: Option<&Validators>,
) -> Result<Fill, LoadError> {
    let up = &state.up;
    let uri = up
        .uri_for(state.path_and_query())
        .map_err(LoadError::from)?;
    let mut headers = load_headers(&state.client_headers, up, state.peer);
    if let Some(v) = validators {
        v.apply(&mut headers);
    }
    let asker = cachearr_upstream::client::Asker::user(state.user.hash);
    let make = || {
        let mut req = Request::new(empty_body());
        *req.uri_mut() = uri.clone();
        *req.headers_mut() = headers.clone();
        req.extensions_mut().insert(asker);
        Ok(req)
    };
    let resp = up
        .send_idempotent(&make, budget)
        .await
        .map_err(LoadError::from)?;
    let status = resp.status();
    let now = state.reads.clock().now_ms();
    if status == StatusCode::NOT_MODIFIED && validators.is_some() {
        // The stored answer is still the upstream's: nothing to download.
        return Ok(Fill::NotModified);
    }
    if status.is_server_error() {
        return Err(LoadError::of_kind(
            LoadErrorKind::BadAnswer,
            format!("upstream {} answered {}", up.name, status.as_u16()),
        ));
    }
    let refuses_valid = cachearr_dialect::of(up.profile).refuses_valid_tokens(state.uri.path());
    Users::record_verdict(&state.user, status, state.authenticates, refuses_valid, now);
    note_named_user(state, status);
    let refusal = Refusal::of(state, refuses_valid, now);
    let per_session = per_session(resp.headers());
    let limits = &state.reads.config().limits;
    let hard_cap =
        usize::try_from(limits.max_cached_body_bytes.saturating_mul(4)).unwrap_or(usize::MAX);
    let (parts, body) = resp.into_parts();
    let read_timeout = up.guard.config().read_timeout;
    let collected =
        tokio::time::timeout(read_timeout, Limited::new(body, hard_cap).collect()).await;
    let body = match collected {
        Err(_) => {
            return Err(LoadError::of_kind(
                LoadErrorKind::Timeout,
                format!("upstream {}: body not complete in time", up.name),
            ));
        }
        Ok(Err(e)) => {
            return Err(LoadError::of_kind(
                LoadErrorKind::BadAnswer,
                format!("upstream {} sent a broken body: {e}", up.name),
            ));
        }
        // One copy into a buffer of the body's own size. `to_bytes` of a one-frame body is a
        // slice of the upstream connection's read buffer (up to hundreds of KiB), which the
        // cache would keep whole for as long as the entry lives while weighing only the body.
        Ok(Ok(c)) => Bytes::copy_from_slice(&c.to_bytes()),
    };
    if status.is_success()
        && let Err(why) = validate_body(&parts.headers, &body)
    {
        return Err(LoadError::of_kind(
            LoadErrorKind::BadAnswer,
            format!("upstream {} sent garbage: {why}", up.name),
        ));
    }
    // The server's identity says which release it runs: a new one drops what the earlier
    // release answered (`server_version`) before this is stored; the copy reads it again.
    if status.is_success()
        && state
            .uri
            .path()
            .eq_ignore_ascii_case(cachearr_dialect::of(up.profile).startup_probes().identity)
        && crate::server_version::follow(state.reads.cache(), up, &body)
        && let Some(copy) = &state.walks
    {
        copy.server_changed(&up.name);
    }
    let value = CachedValue {
        status: status.as_u16(),
        headers: stored_headers(&parts.headers),
        body,
    };
    let too_big = value.body.len() as u64 > limits.max_cached_body_bytes;
    let broken_image =
        status.is_success() && broken_image(state.reads.metrics(), up, &parts.headers, &value.body);
    let keep = !(per_session || too_big || broken_image);
    Ok(fill_of(value, keep, refusal))
}

/// The server answered `state`'s request `status`: a 2xx on a route it answers only for the
/// user it names and administrators (Emby's `/Users/{id}/…`) says the token is that user's or
/// an administrator's, told apart when the token's user is asked for
/// ([`UserRecord::note_named_user`]).
fn note_named_user(state: &LoaderState, status: StatusCode) {
    let dialect = cachearr_dialect::of(state.up.profile);
    let path = state.uri.path();
    if status.is_success()
        && state.authenticates
        && let Some(named) = dialect.named_user(dialect.api_path(path).unwrap_or(path))
    {
        state.user.note_named_user(named);
    }
}

/// How long a refusal of who asks is kept (`Refusal::OfWhoAsks`): it changes only when the
/// user's kind does (an invited user made a Home user, a share widened), which no server
/// announces, so a time bounds how late such a change is seen.
pub const REFUSAL_KEEP: std::time::Duration = std::time::Duration::from_secs(600);

/// What a 401 says, by route and token ([`fill_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A refusal of the token (or of a shared-scope read): passed on only.
    Not,
    /// The route refuses some valid tokens (`Dialect::refuses_valid_tokens`), and this one
    /// the server accepted elsewhere within `token_trust`: the refusal is of the user's kind,
    /// not of anything the route shows.
    OfWhoAsks,
    /// Such a route, but a token the server has not accepted lately (unknown, or revoked):
    /// nothing says the refusal will stay what it is.
    OfUnprovenToken,
}

impl Refusal {
    /// What a 401 to the load `state` describes says at `now_ms`, on a route that
    /// `refuses_valid` tokens or not.
    fn of(state: &LoaderState, refuses_valid: bool, now_ms: u64) -> Refusal {
        let trust = state.reads.config().token_trust.as_millis();
        let trust_ms = u64::try_from(trust).unwrap_or(u64::MAX);
        if !(refuses_valid && state.user_scoped) {
            Refusal::Not
        } else if Users::trusted(&state.user, now_ms, trust_ms) {
            Refusal::OfWhoAsks
        } else {
            Refusal::OfUnprovenToken
        }
    }
}

/// How an upstream answer is kept: stored, kept as a miss, or passed on only.
fn fill_of(value: CachedValue, keep: bool, refusal: Refusal) -> Fill {
    match value.status {
        _ if !keep => Fill::Pass(value),
        200..=205 => Fill::Store(value),
        404 | 410 => Fill::Negative(value),
        // A refusal the server gives some valid tokens on this route (an invited user's live
        // sessions, a shared user's settings) stays the answer for this user until their kind
        // changes: kept, in the user's own scope, for minutes and whatever changes on the
        // route, so a dashboard polling it does not ask again every few seconds. A revoked
        // token is still found refused by its next request anywhere else, and a refused token
        // reads nothing cached (the proxy's standing). Of a token not proven lately, only as
        // long as a miss.
        401 if refusal == Refusal::OfWhoAsks => Fill::Refusal(value, REFUSAL_KEEP),
        401 if refusal == Refusal::OfUnprovenToken => Fill::Negative(value),
        _ => Fill::Pass(value),
    }
}

/// True (logged and counted) when `body` is an image that fails `image_check::check`: it is
/// passed on to the client as sent, never stored. Encoded bodies are not checked.
pub(crate) fn broken_image(
    metrics: &crate::metrics::Metrics,
    up: &Upstream,
    headers: &HeaderMap,
    body: &Bytes,
) -> bool {
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return false;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match image_check::check(ct, body) {
        Ok(()) => false,
        Err(check) => {
            // The path is not logged: it may carry a token.
            tracing::warn!(
                upstream = %up.name,
                check,
                bytes = body.len(),
                "upstream sent a broken image; passed on, not stored"
            );
            metrics.broken_image(&up.metrics_name, check);
            true
        }
    }
}

/// Checks that a successful body is what its content type says (catches truncation and
/// garbage that a well-framed HTTP response can still carry).
pub(crate) fn validate_body(headers: &HeaderMap, body: &Bytes) -> Result<(), &'static str> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("json") {
        if body.is_empty() {
            return Ok(());
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|_| "invalid JSON")?;
    } else if ct.contains("xml") {
        let t = body.trim_ascii();
        if !(t.is_empty() || (t.starts_with(b"<") && t.ends_with(b">"))) {
            return Err("invalid XML");
        }
    }
    Ok(())
}

/// Fetches `path_and_query` through the cache on behalf of a recently seen user, on the
/// background budget (warming, prefetch). Returns what happened.
/// A walk's miss may be answered by `walks` (the library copy), as a client's is.
pub(crate) async fn background_fetch(
    reads: &ReadThrough,
    walks: Option<&Arc<dyn WalkSources>>,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
) -> Result<Outcome, crate::GatewayError> {
    let routed = route_read(walks.map(|w| &**w), up, path_and_query, false)?;
    let mut read =
        AsUserReads::new(reads, up, user, &HeaderMap::new()).keyed(routed, false, None)?;
    read.2.walks = walks.cloned();
    load_as_user(reads, up, user, read)
        .await
        .map(|lookup| lookup.outcome)
}

/// Reads `path_and_query` through the cache as `user` (the user's identity headers, their
/// token and `extra` headers, which take precedence), under the route's own policy, key and
/// tags: the same entry a client request for it would use. It loads on the client budget: the
/// answer is awaited by a client (a read in the background is
/// [`Gateway::fetch_as`](crate::gateway::Gateway::fetch_as)'s).
pub async fn fetch_as_user(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
    extra: HeaderMap,
) -> Result<Lookup, crate::GatewayError> {
    let read = read_as_user(reads, up, user, path_and_query, extra, None)?;
    load_as_user(reads, up, user, read).await
}

/// [`fetch_as_user`] of a user-scoped route only (an error for a route an operator made
/// shared: what one user's answer says of them must not come from another's), an answer it
/// stores being fresh for at most `fresh_cap` (and never served stale while revalidating):
/// for the copy's reads of a user's play state and counts, whose age matters more than the
/// route's own policy allows.
pub async fn fetch_as_user_within(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
    extra: HeaderMap,
    fresh_cap: std::time::Duration,
) -> Result<Lookup, crate::GatewayError> {
    let read = read_as_user(reads, up, user, path_and_query, extra, Some(fresh_cap))?;
    load_as_user(reads, up, user, user_scoped(up, read)?).await
}

/// [`fetch_as_user_within`] of every one of `paths`, in their order: each read classified and
/// keyed first, then all loaded at once — the reads an answer from the copy needs (a user's
/// play state in each section and kind it shows) depend on none of one another, and on a
/// cold cache each is a round trip to the server.
pub async fn fetch_all_as_user_within(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    paths: &[String],
    extra: &HeaderMap,
    fresh_cap: std::time::Duration,
) -> Vec<Result<Lookup, crate::GatewayError>> {
    // Each phase over every read before the next: all routed, then all keyed (one user's
    // headers, found once), then all loaded.
    let routed: Vec<_> = paths
        .iter()
        .map(|path| route_read(None, up, path, true))
        .collect();
    let as_user = AsUserReads::new(reads, up, user, extra);
    let keyed: Vec<_> = routed
        .into_iter()
        .map(|routed| user_scoped(up, as_user.keyed(routed?, true, Some(fresh_cap))?))
        .collect();
    futures_util::future::join_all(
        keyed
            .into_iter()
            .map(|read| async move { load_as_user(reads, up, user, read?).await }),
    )
    .await
}

/// A foreground read as `user` of an answer the caller reads as data ([`fetch_as_user`], or
/// with `fresh_cap` [`fetch_as_user_within`]): a `200`'s body parsed by `parse` once per
/// version of it (kept with the user: [`UserRecord::answers`], named by its path), as the
/// read's last step. `None` when the read failed (logged at debug), was not a `200`, or did
/// not parse.
pub async fn fetch_parsed_as_user<T: std::any::Any + Send + Sync>(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
    extra: HeaderMap,
    fresh_cap: Option<std::time::Duration>,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    let lookup = match fresh_cap {
        None => fetch_as_user(reads, up, user, path, extra).await,
        Some(cap) => fetch_as_user_within(reads, up, user, path, extra, cap).await,
    };
    match lookup {
        Ok(lookup) => parsed_answer(user, path, &lookup, parse),
        Err(e) => {
            tracing::debug!(upstream = %up.name, path, error = %cachearr_engine::Chain(&e), "read as a user failed");
            None
        }
    }
}

/// The fresh `200` a read of `path_and_query` as `user` (with `extra` headers) finds in the
/// cache, parsed by `parse` (kept as [`fetch_parsed_as_user`] keeps its parses, under `name`),
/// without loading anything: `None` when none is cached fresh or it does not parse. For an
/// answer a client may just have read in another form than the caller's (a user's sections in
/// the server's XML where the copy reads JSON): taking it spares the server the caller's read.
pub async fn cached_parsed_as_user<T: std::any::Any + Send + Sync>(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    (path_and_query, extra): (&str, HeaderMap),
    name: &str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    let (key, _, _) = read_as_user(reads, up, user, path_and_query, extra, None).ok()?;
    let lookup = reads.cache().get(&key).await?;
    if !matches!(lookup.outcome, Outcome::Hit(_)) {
        return None;
    }
    parsed_answer(user, name, &lookup, parse)
}

/// [`fetch_all_as_user_within`], each answer parsed as [`fetch_parsed_as_user`] parses it
/// (`None` for a read that failed, was not a `200` or did not parse; nothing is logged).
pub async fn fetch_all_parsed_as_user_within<T: std::any::Any + Send + Sync>(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    paths: &[String],
    extra: &HeaderMap,
    fresh_cap: std::time::Duration,
    parse: fn(&[u8]) -> Option<T>,
) -> Vec<Option<Arc<T>>> {
    let lookups = fetch_all_as_user_within(reads, up, user, paths, extra, fresh_cap).await;
    paths
        .iter()
        .zip(lookups)
        .map(|(path, lookup)| parsed_answer(user, path, &lookup.ok()?, parse))
        .collect()
}

/// The body of `lookup`, a read of `path` as `user`, parsed by `parse` (once per version);
/// `None` unless it is a `200` that parses.
fn parsed_answer<T: std::any::Any + Send + Sync>(
    user: &UserRecord,
    path: &str,
    lookup: &Lookup,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    let value = &lookup.entry.value;
    if value.status != http::StatusCode::OK.as_u16() {
        return None;
    }
    user.answers.parsed(path, &value.body, parse)
}

/// `read`, when its route is user-scoped; an error otherwise.
fn user_scoped(
    up: &Upstream,
    read: (Key, cachearr_engine::Policy, UserRead),
) -> Result<(Key, cachearr_engine::Policy, UserRead), crate::GatewayError> {
    if read.2.scope != Scope::User {
        return Err(crate::GatewayError::BadRequest(format!(
            "{} is not a user-scoped route of upstream {}",
            read.2.uri.path(),
            up.name
        )));
    }
    Ok(read)
}

/// The entry of a read as `user` ([`read_as_user`]), loaded if it is not fresh.
async fn load_as_user(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    (key, engine_policy, read): (Key, cachearr_engine::Policy, UserRead),
) -> Result<Lookup, crate::GatewayError> {
    // The loader is made only for a load: a fresh hit (the copy's reads of a user's sections
    // and play state, on every answer it writes) makes none.
    let result = reads
        .cache()
        .get_or_load_with(&key, &engine_policy, || {
            Arc::new(HttpLoader(Arc::new(read.state(reads, up, user))))
        })
        .await;
    result.map_err(crate::GatewayError::Upstream)
}

/// The cache key a background read of `path_and_query` as `user` is kept under (the key a
/// client's request for it finds): for the prefetcher, which watches whether its entries are
/// read.
pub(crate) fn background_key(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
) -> Option<Key> {
    // The key does not depend on who may answer the load.
    let routed = route_read(None, up, path_and_query, false).ok()?;
    let as_user = AsUserReads::new(reads, up, user, &HeaderMap::new());
    as_user
        .keyed(routed, false, None)
        .ok()
        .map(|(key, _, _)| key)
}

/// A read of `path_and_query` as `user` made straight to the server, not through the cache:
/// the route's index search and the loader's state (no copy answers it). For the library
/// copy's frame probes, which learn from the server's answers without storing them.
pub fn uncached_read(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
    extra: HeaderMap,
) -> Option<(cachearr_config::policy::IndexSearch, LoaderState)> {
    let uri: http::Uri = path_and_query.parse().ok()?;
    let Decision::AnswerFromIndex { search, .. } =
        up.routes.classify(&Method::GET, uri.path(), uri.query())
    else {
        return None;
    };
    let (_, _, read) = read_as_user(reads, up, user, path_and_query, extra, None).ok()?;
    let mut state = read.state(reads, up, user);
    state.for_client = false;
    Some((search, state))
}

/// What a read as a user needs besides its key and policy to load it: the loader's state,
/// made only when a load happens ([`UserRead::state`]).
struct UserRead {
    uri: http::Uri,
    /// The route's scope.
    scope: Scope,
    headers: HeaderMap,
    authenticates: bool,
    foreground: bool,
    item_tagged: bool,
    copy: Option<Arc<dyn CopySource>>,
    /// The library copy, told of another release ([`LoaderState::walks`]).
    walks: Option<Arc<dyn WalkSources>>,
}

impl UserRead {
    /// The loader's state for this read by `user`.
    fn state(self, reads: &ReadThrough, up: &Arc<Upstream>, user: &Arc<UserRecord>) -> LoaderState {
        LoaderState {
            reads: reads.clone(),
            up: up.clone(),
            user: user.clone(),
            authenticates: self.authenticates,
            user_scoped: self.scope == Scope::User,
            uri: self.uri,
            client_headers: self.headers,
            peer: SocketAddr::from(([127, 0, 0, 1], 0)),
            for_client: self.foreground,
            upstream_us: AtomicU64::new(0),
            answered_by_copy: Default::default(),
            copy_ids: Default::default(),
            copy_tags: Default::default(),
            copy_declines_user: Default::default(),
            item_tagged: self.item_tagged,
            copy: self.copy,
            walks: self.walks,
        }
    }
}

/// What a foreground read of `path_and_query` as `user` is: its key, the engine policy it is
/// stored under and what its loader is made from ([`fetch_as_user`], [`fetch_as_user_within`]).
fn read_as_user(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path_and_query: &str,
    extra: HeaderMap,
    fresh_cap: Option<std::time::Duration>,
) -> Result<(Key, cachearr_engine::Policy, UserRead), crate::GatewayError> {
    let routed = route_read(None, up, path_and_query, true)?;
    let as_user = AsUserReads::new(reads, up, user, &extra);
    as_user.keyed(routed, true, fresh_cap)
}

/// A read's route, as the route table classified it ([`route_read`]).
struct RoutedRead<'a> {
    uri: http::Uri,
    policy: &'a ResolvedPolicy,
    tags: Vec<Arc<str>>,
    user_state: bool,
    copy: Option<Arc<dyn CopySource>>,
}

/// The route of a read of `path_and_query`; an error for a path that is not one, or a route
/// that is not cached. A background read's walk may be answered by `walks`.
fn route_read<'a>(
    walks: Option<&dyn WalkSources>,
    up: &'a Arc<Upstream>,
    path_and_query: &str,
    foreground: bool,
) -> Result<RoutedRead<'a>, crate::GatewayError> {
    let uri: http::Uri = path_and_query.parse().map_err(|_| {
        crate::GatewayError::BadRequest(format!("{path_and_query:?} is not a path"))
    })?;
    // A read the index or the copy may answer is a cached read underneath: read as one.
    // A walk's miss in the background (a prefetched season's episodes) may be answered by
    // the copy, as a client's is. Not a foreground read: those are the copy's own reads (a
    // user's sections, counts, play state), and a count the copy answered would wait for
    // itself.
    let (policy, tags, user_state, copy) =
        match up.routes.classify(&Method::GET, uri.path(), uri.query()) {
            Decision::Cache {
                policy,
                tags,
                user_state,
            } => (policy, tags, user_state, None),
            Decision::AnswerFromIndex {
                search,
                policy,
                tags,
                user_state,
            } => {
                let copy = if foreground {
                    None
                } else {
                    walks.and_then(|w| w.walk_copy(&up.name, search, uri.query()))
                };
                (policy, tags, user_state, copy)
            }
            _ => {
                return Err(crate::GatewayError::BadRequest(format!(
                    "{} is not a cached route of upstream {}",
                    uri.path(),
                    up.name
                )));
            }
        };
    Ok(RoutedRead {
        uri,
        policy,
        tags,
        user_state,
        copy,
    })
}

/// What every read as one user shares: their headers (identity, token, `extra` over them),
/// the upstream's change feed and the time, found once for all of an answer's reads.
struct AsUserReads<'a> {
    up: &'a Arc<Upstream>,
    user: &'a Arc<UserRecord>,
    headers: HeaderMap,
    feed: Option<&'a Arc<cachearr_upstream::feed::Feed>>,
    now_ms: u64,
    /// The scope of the user's entries at `now_ms`, as a client's read of theirs has it
    /// ([`Users::key_scope`]), so that both fill and find the same.
    scope: cachearr_upstream::keys::UserHash,
}

impl<'a> AsUserReads<'a> {
    fn new(
        reads: &'a ReadThrough,
        up: &'a Arc<Upstream>,
        user: &'a Arc<UserRecord>,
        extra: &HeaderMap,
    ) -> Self {
        let mut headers = user.identity_headers();
        if let Ok(v) = HeaderValue::from_str(user.token()) {
            cachearr_dialect::insert_own_credential(up.profile, &mut headers, &v);
        }
        for (name, value) in extra {
            headers.insert(name.clone(), value.clone());
        }
        let now_ms = reads.clock().now_ms();
        let trust = u64::try_from(reads.config().token_trust.as_millis()).unwrap_or(u64::MAX);
        AsUserReads {
            up,
            user,
            headers,
            feed: reads.feed(&up.name),
            now_ms,
            scope: Users::key_scope(user, now_ms, trust),
        }
    }

    /// The key, engine policy and loader's makings of `routed` as this user (fresh for at
    /// most `fresh_cap`, and then never served stale while revalidating).
    fn keyed(
        &self,
        routed: RoutedRead<'_>,
        foreground: bool,
        fresh_cap: Option<std::time::Duration>,
    ) -> Result<(Key, cachearr_engine::Policy, UserRead), crate::GatewayError> {
        let RoutedRead {
            uri,
            policy,
            tags,
            user_state,
            copy,
        } = routed;
        let scope_user = match policy.scope {
            Scope::User => Some(self.scope),
            Scope::Shared => None,
        };
        let input = KeyInput {
            upstream: &self.up.name,
            profile: self.up.profile,
            method: &Method::GET,
            path: uri.path(),
            query: uri.query(),
            headers: &self.headers,
            user: scope_user,
        };
        let (key, mut engine_policy) = cached_entry(
            self.feed,
            self.user,
            &input,
            policy,
            tags,
            user_state,
            self.now_ms,
        )
        .map_err(|e| crate::GatewayError::BadRequest(e.to_string()))?;
        if let Some(cap) = fresh_cap {
            engine_policy.fresh = engine_policy.fresh.min(cap);
            engine_policy.stale_while_revalidate = std::time::Duration::ZERO;
        }
        let read = UserRead {
            uri,
            scope: policy.scope,
            headers: self.headers.clone(),
            authenticates: policy.authenticates,
            foreground,
            item_tagged: cachearr_upstream::feed::item_tagged(policy.class),
            copy,
            walks: None,
        };
        Ok((key, engine_policy, read))
    }
}

/// Fetches what a cache fill of this request would store, without storing it (sampled
/// revalidation compares it with the cached answer), on the background budget. `walks` (the
/// library copy) is told if the answer shows the server at another release.
pub async fn fetch_uncached(
    reads: &ReadThrough,
    walks: Option<&Arc<dyn WalkSources>>,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    class: cachearr_config::policy::Class,
    uri: http::Uri,
    client_headers: HeaderMap,
) -> Result<Fill, LoadError> {
    let state = LoaderState {
        reads: reads.clone(),
        up: up.clone(),
        user: user.clone(),
        authenticates: cachearr_dialect::authenticates(up.profile, class),
        // Compared, never stored.
        user_scoped: false,
        uri,
        client_headers,
        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
        for_client: false,
        upstream_us: AtomicU64::new(0),
        answered_by_copy: Default::default(),
        copy_ids: Default::default(),
        copy_tags: Default::default(),
        copy_declines_user: Default::default(),
        item_tagged: false,
        copy: None,
        walks: walks.cloned(),
    };
    fetch_for_cache(&state, Budget::Background, None).await
}

/// An empty request body.
pub(crate) fn empty_body() -> UpstreamBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn a_cached_reads_request_carries_no_field_a_client_steers_with() {
        let config = cachearr_config::UpstreamConfig::new(
            "plex",
            cachearr_dialect::Profile::Plex,
            "http://127.0.0.1:32400".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        );
        let up = Upstream::new(config, Arc::new(cachearr_engine::SystemClock)).unwrap();
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
            ("x-real-ip", "203.0.113.9"),
            ("x-original-url", "/admin"),
            ("x-http-method-override", "DELETE"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("x-plex-token", "kept"),
            ("accept", "application/json"),
        ] {
            h.insert(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let peer: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let out = load_headers(&h, &up, peer);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "accept",
                "accept-encoding",
                "host",
                "x-forwarded-for",
                "x-plex-token"
            ]
        );
        assert_eq!(out["x-forwarded-for"], "192.0.2.7");
    }

    #[test]
    fn bodies_are_validated_by_type() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(validate_body(&h, &Bytes::from_static(b"{\"a\":1}")).is_ok());
        assert!(validate_body(&h, &Bytes::from_static(b"{\"a\":")).is_err());
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        assert!(validate_body(&h, &Bytes::from_static(b"<a/>")).is_ok());
        assert!(validate_body(&h, &Bytes::from_static(b"<MediaContainer size=")).is_err());
    }
}
