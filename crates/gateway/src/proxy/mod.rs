//! The request path: validate, classify, then answer from the cache, pass a write through and
//! bump its tags, or stream everything else through unchanged (websockets included).
//!
//! Every response carries `Cache-Status` (RFC 9211), `X-Cache`, `Age` (cached answers) and
//! `Server-Timing`. Cached 200s also carry an `ETag`, answer a matching `If-None-Match` with
//! `304`, and go gzipped to clients that accept it (text types, see [`crate::prepared`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use cachearr_engine::{EngineError, Lookup, Outcome};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};

use crate::Gateway;
use crate::clients::Served;
use crate::dialect::Identity;
use crate::fetch::{
    ClientBody, CopySource, HttpLoader, LoaderState, ProxyBody, keyed_policy, owned_request,
};
use crate::keys::{KeyInput, UserHash};
use crate::metrics::{ReadMetrics, ReadOutcome, elapsed_us};
use crate::policy::{Decision, ResolvedPolicy, Scope};
use crate::prepared::{Answer, Want};
use crate::respond::{
    ErrorKind, age_and_ttl, mark, mark_cache_state, mark_cached, mark_copy_state, mark_copy_timing,
    mark_timing, problem, us_ms,
};
use crate::upstream::{Upstream, UpstreamError};
use crate::users::{UserRecord, Users};
use cachearr_wire::{EncodedHead, Reply, SendSlot, Via};

mod pass;
mod repeat;
mod standard;
mod validate;

use pass::{pass_through, upgrade};
use repeat::{Fingerprint, KeptReading, Reading};
pub(crate) use repeat::{LastFingerprint, RecentReadings};
use validate::check_request;

/// A proxy listener's [`cachearr_wire::Service`]: every request of its connections, read by
/// the wire's own HTTP/1.1 or by hyper, goes to [`answer`].
pub(crate) struct Listener {
    gw: Gateway,
    up: Arc<Upstream>,
    /// The listener's cached-read series, resolved once.
    reads: Arc<ReadMetrics>,
    /// The listener's recent cached reads, shared by its connections.
    recent: Arc<RecentReadings>,
}

impl Listener {
    /// The service of `up`'s listener.
    pub(crate) fn new(gw: Gateway, up: Arc<Upstream>) -> Listener {
        let reads = Arc::new(gw.metrics().reads(&up.metrics_name));
        Listener {
            gw,
            up,
            reads,
            recent: Arc::default(),
        }
    }
}

impl cachearr_wire::Service for Listener {
    type Connection = Connection;
    type Head = WireHead;

    fn connect(&self, peer: SocketAddr, slot: Arc<SendSlot>) -> Connection {
        Connection::new(peer, slot, self.reads.clone(), self.recent.clone())
    }

    #[inline]
    fn answer(
        &self,
        connection: &Connection,
        request: Request<ClientBody>,
        via: Via,
    ) -> impl Future<Output = Reply<WireHead>> + Send {
        answer(
            &self.gw,
            &self.up,
            request,
            connection.peer,
            connection,
            via,
        )
    }
}

/// What the proxy keeps for one client connection, made when it is accepted rather than on
/// each of its requests.
pub(crate) struct Connection {
    /// The client's address.
    peer: SocketAddr,
    /// The connection's [`SendSlot`]: a cached answer with a body file registers its body there,
    /// and the connection's stream sends it without copying.
    pub(crate) slot: Arc<SendSlot>,
    /// The listener's cached-read series, resolved once.
    pub(crate) reads: Arc<ReadMetrics>,
    /// The listener's recent cached reads, for a request that repeats one of them.
    pub(crate) recent: Arc<RecentReadings>,
    /// Where this connection's last request was found or kept in `recent`.
    pub(crate) last_print: LastFingerprint,
}

impl Connection {
    /// A new connection's state.
    fn new(
        peer: SocketAddr,
        slot: Arc<SendSlot>,
        reads: Arc<ReadMetrics>,
        recent: Arc<RecentReadings>,
    ) -> Connection {
        Connection {
            peer,
            slot,
            reads,
            recent,
            last_print: LastFingerprint::default(),
        }
    }
}

/// A hit's head as bytes ([`crate::prepared::Answer::wire_head`]) and what its
/// `Server-Timing` says; the writer adds that line, the framing and the `Date`.
pub(crate) struct WireHead {
    pub(crate) head: crate::prepared::WireLines,
    pub(crate) outcome: Outcome,
    pub(crate) total_us: u64,
    pub(crate) upstream_us: u64,
}

impl EncodedHead for WireHead {
    /// The kept lines, then this answer's `Server-Timing`.
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(&self.head.bytes);
        out.extend_from_slice(b"server-timing: ");
        crate::respond::push_timing(out, self.outcome, self.total_us, self.upstream_us);
        out.extend_from_slice(b"\r\n");
        self.head.has_date
    }
}

/// Answers one request of a proxy connection, which came `via` hyper or the gateway's own
/// HTTP/1.1 loop, and attributes it in the client table: the client by the name the proxy
/// read, the outcome by the [`Served`] the answering path put on it (or by the head of a hit
/// written as bytes, which only the own loop takes).
pub(crate) async fn answer(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    conn: &Connection,
    via: Via,
) -> Reply<WireHead> {
    let started = Instant::now();
    let (reply, client) = handle(gw.clone(), up.clone(), req, peer, conn, via, started).await;
    // The path that answered says where from; an answer that says nothing was the server's.
    let served = match (&reply.head, reply.response.extensions().get::<Served>()) {
        (Some(head), _) => Served::of(head.outcome),
        (None, Some(served)) => *served,
        (None, None) => Served::Server,
    };
    // Only the server's time is kept per client: a cached answer reads no clock.
    let seconds = match served {
        Served::Server => started.elapsed().as_secs_f64(),
        Served::Cache | Served::Index => 0.0,
    };
    gw.clients().record(&up.name, &client, served, seconds);
    reply
}

/// Warms one path of an upstream cached by the HTTP caching standard (its shared entry, on
/// the background budget); whether a usable answer is stored after.
pub(crate) async fn warm_standard(gw: &Gateway, up: &Arc<Upstream>, path_and_query: &str) -> bool {
    standard::warm(gw, up, path_and_query).await
}

/// Handles one client request for `up`, which arrived at `started`. Never panics on client
/// input; every failure is an HTTP answer. Returns the answer and the name the client gave
/// itself (for the client table).
async fn handle(
    gw: Gateway,
    up: Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    conn: &Connection,
    via: Via,
    started: Instant,
) -> (Reply<WireHead>, Arc<str>) {
    let (print, recalled) = conn.recent.look_up(&conn.last_print, &req, via.head());
    if let Some(recalled) = recalled {
        // A request read recently, byte for byte (on this connection or another): it passed
        // the checks, and its route, token and key are what they were (see [`repeat`]).
        up.guard
            .counters
            .repeated_reads
            .fetch_add(1, Ordering::Relaxed);
        let client = recalled.client.clone();
        let read = ReadFrom::Repeat(recalled);
        let resp = serve_reading(&gw, &up, req, peer, read, &client, started, conn, via).await;
        return (resp, client);
    }
    // Attributed here, once for every path the proxy takes: the client by what it says about
    // itself.
    let client: Arc<str> = crate::clients::client_name(up.profile, req.headers()).into();
    let resp = route(&gw, &up, req, peer, print, &client, started, conn, via).await;
    (resp, client)
}

/// A request that is not a repeat: checked, decided by the route table, then dispatched.
#[allow(clippy::too_many_arguments)]
async fn route(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    print: Option<Fingerprint>,
    client: &Arc<str>,
    started: Instant,
    conn: &Connection,
    via: Via,
) -> Reply<WireHead> {
    if let Err(resp) = check_request(gw, &req) {
        return (*resp).into();
    }
    let path = req.uri().path();
    let query = req.uri().query();
    let decision = up.routes.decide(req.method(), req.headers(), path, query);
    if let Decision::Standard(route) = decision {
        // The standard's own credentials decide who asks (`standard::identify`).
        return Box::pin(standard::serve(gw, up, route, req, peer))
            .await
            .into();
    }
    // Who asks, read once here for every path below.
    let who = identify(gw, up, req.headers(), query, gw.clock().now_ms());
    match decision {
        Decision::Upgrade => Box::pin(upgrade(up, req, peer, started)).await.into(),
        Decision::Range => {
            let user = who.user();
            Box::pin(pass_through(
                gw,
                up,
                req,
                peer,
                user,
                Bypass::Range,
                started,
            ))
            .await
            .into()
        }
        Decision::Cache {
            policy,
            tags,
            user_state,
        } if req.method() == Method::GET => {
            let read = ReadFrom::Route {
                who,
                policy,
                tags,
                user_state,
                remember: print,
                copy: None,
            };
            serve_reading(gw, up, req, peer, read, client, started, conn, via).await
        }
        Decision::AnswerFromIndex {
            search,
            policy,
            tags,
            user_state,
        } => {
            // A walk (a section's listing, an item's children) is a cached read whose miss
            // the library copy may answer instead of the server.
            if let Some(copy) = crate::library::answer::walk_copy(search, query) {
                let read = ReadFrom::Route {
                    who,
                    policy,
                    tags,
                    user_state,
                    remember: print,
                    copy: Some(copy),
                };
                return serve_reading(gw, up, req, peer, read, client, started, conn, via).await;
            }
            // Searches (and `…/all?title=`) are answered from the library index when it can;
            // otherwise they are cached reads. Not remembered: the index may answer the next.
            if let Some(resp) = Box::pin(crate::library::answer::try_answer(
                gw,
                up,
                &req,
                search,
                who.user(),
                started,
            ))
            .await
            {
                return resp.into();
            }
            let read = ReadFrom::Route {
                who,
                policy,
                tags,
                user_state,
                remember: None,
                copy: None,
            };
            serve_reading(gw, up, req, peer, read, client, started, conn, via).await
        }
        Decision::Write {
            tags,
            user_state,
            heartbeat,
        } => Box::pin(pass_through(
            gw,
            up,
            req,
            peer,
            who.user(),
            Bypass::Write {
                tags,
                user_state,
                heartbeat,
            },
            started,
        ))
        .await
        .into(),
        _ => Box::pin(pass_through(
            gw,
            up,
            req,
            peer,
            who.user(),
            Bypass::Uncacheable,
            started,
        ))
        .await
        .into(),
    }
}

/// Why a request was not answered from the cache.
enum Bypass {
    Uncacheable,
    Range,
    NoToken,
    /// Two different tokens in one request: which one the server reads is not a cache's guess.
    AmbiguousIdentity,
    /// A parameter given twice with different values ([`crate::keys::KeyError::Ambiguous`]):
    /// no key can say which one the server reads.
    AmbiguousQuery,
    /// A shared entry, and the token was not proved recently; `authenticates`: the route's 2xx
    /// proves the token.
    UntrustedToken {
        authenticates: bool,
    },
    /// The server refused this token last: nothing cached goes to it until it accepts it.
    RefusedToken {
        authenticates: bool,
    },
    Write {
        tags: Vec<Arc<str>>,
        user_state: bool,
        heartbeat: Option<(String, String)>,
    },
}

impl Bypass {
    /// The class label for metrics.
    fn class(&self) -> &'static str {
        match self {
            Bypass::Write { .. } => "write",
            _ => "pass",
        }
    }

    /// Whether a 2xx to this request proves its token (the route is one the server
    /// authenticates; writes and unknown routes prove nothing).
    fn authenticates(&self) -> bool {
        matches!(
            self,
            Bypass::UntrustedToken {
                authenticates: true
            } | Bypass::RefusedToken {
                authenticates: true
            }
        )
    }

    fn cache_status(&self) -> &'static str {
        match self {
            Bypass::Uncacheable => "cachearr; fwd=bypass",
            Bypass::Range => "cachearr; fwd=bypass; detail=range",
            Bypass::NoToken => "cachearr; fwd=bypass; detail=no-token",
            Bypass::AmbiguousIdentity => "cachearr; fwd=bypass; detail=ambiguous-identity",
            Bypass::AmbiguousQuery => "cachearr; fwd=bypass; detail=ambiguous-query",
            Bypass::UntrustedToken { .. } => "cachearr; fwd=bypass; detail=token-not-verified",
            Bypass::RefusedToken { .. } => "cachearr; fwd=bypass; detail=token-refused",
            Bypass::Write { .. } => "cachearr; fwd=method; detail=write",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cached reads.

/// Where a cached read's [`Reading`] comes from.
enum ReadFrom<'a> {
    /// The route table's decision: the reading is made from the request.
    Route {
        /// Who asks.
        who: Who,
        policy: &'a ResolvedPolicy,
        tags: Vec<Arc<str>>,
        user_state: bool,
        /// Where the listener remembers the reading for a repeat of this request (`None`: not
        /// remembered).
        remember: Option<Fingerprint>,
        /// What may answer a miss instead of the server (the library copy's walks).
        copy: Option<&'static dyn CopySource>,
    },
    /// A recent request, which this one repeats byte for byte; its user is the one it was read
    /// as (the same token).
    Repeat(KeptReading),
}

/// Who a request is, read once per request in [`route`] and handed to every path.
enum Who {
    /// The user of its one token, seen now.
    User(Arc<UserRecord>),
    /// No token the server reads.
    NoToken,
    /// Two different tokens: which one the server uses is not a cache's guess.
    Ambiguous,
}

impl Who {
    /// The user, when there is one.
    fn user(&self) -> Option<Arc<UserRecord>> {
        match self {
            Who::User(u) => Some(u.clone()),
            Who::NoToken | Who::Ambiguous => None,
        }
    }
}

/// Who the request is, as the server will read it; a user is marked seen now.
fn identify(
    gw: &Gateway,
    up: &Upstream,
    headers: &HeaderMap,
    query: Option<&str>,
    now: u64,
) -> Who {
    match crate::dialect::identity(up.profile, headers, query) {
        Identity::Token(token) => {
            let hash = gw.secret().user_of(&token);
            Who::User(up.users.touch(&up.name, hash, &token, now))
        }
        Identity::Anonymous => Who::NoToken,
        Identity::Ambiguous => Who::Ambiguous,
    }
}

/// What a cached read of `req` by `user` is, on the route `policy`.
fn reading_of(
    up: &Upstream,
    req: &Request<ClientBody>,
    user: &UserRecord,
    scope_user: Option<UserHash>,
    policy: &ResolvedPolicy,
    tags: Vec<Arc<str>>,
    user_state: bool,
) -> Result<Reading, crate::keys::KeyError> {
    let input = KeyInput {
        upstream: &up.name,
        profile: up.profile,
        method: req.method(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
        user: scope_user,
    };
    let (key, engine) = keyed_policy(user, &input, policy, tags, user_state)?;
    Ok(Reading {
        class: policy.class,
        scope: policy.scope,
        key,
        engine,
        gzip: crate::encoding::accepts_gzip(req.headers()),
        copy: None,
    })
}

/// Answers a cached read, phase by phase: who reads ([`reader`]), their standing for the
/// entry's scope ([`standing`]), the reading's key and policy ([`reading`]), the look-up
/// through the cache (its load goes to the copy or the server: [`look_up`]), what the outcome
/// teaches ([`learn`]), the answer ([`respond_cached`]) and what follows it ([`follow_up`]).
/// A phase that refuses the cache passes the request through, saying why.
#[allow(clippy::too_many_arguments)]
async fn serve_reading(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    read: ReadFrom<'_>,
    client: &Arc<str>,
    started: Instant,
    conn: &Connection,
    via: Via,
) -> Reply<WireHead> {
    let now = gw.clock().now_ms();
    let user = match reader(up, &read, now) {
        Ok(user) => user,
        Err(why) => {
            return Box::pin(pass_through(gw, up, req, peer, None, why, started))
                .await
                .into();
        }
    };
    let (class, scope) = match &read {
        ReadFrom::Route { policy, .. } => (policy.class, policy.scope),
        ReadFrom::Repeat(KeptReading { reading, .. }) => (reading.class, reading.scope),
    };
    let authenticates = crate::dialect::authenticates(up.profile, class);
    let scope_user = match standing(gw, up, &user, scope, authenticates, now) {
        Ok(scope_user) => scope_user,
        Err(why) => {
            return Box::pin(pass_through(gw, up, req, peer, Some(user), why, started))
                .await
                .into();
        }
    };
    let (reading, remember) = match reading(up, &req, &user, scope_user, read) {
        Ok(made) => made,
        Err(NoReading::Pass(why)) => {
            return Box::pin(pass_through(gw, up, req, peer, Some(user), why, started))
                .await
                .into();
        }
        Err(NoReading::BadQuery(e)) => return problem(ErrorKind::BadQuery, &e.to_string()).into(),
    };
    // The request's parts stay here: a hit reads them and makes no loader (the engine asks for
    // one only to load, refresh or warm), and a loader takes its own copy of the target and the
    // headers, deriving the upstream's headers only when a load actually runs.
    let (parts, _body) = req.into_parts();
    let (uri, client_headers) = (&parts.uri, &parts.headers);
    let feed = gw.feed(&up.name);
    let mut engine_policy = reading.engine.clone();
    if let Some(feed) = feed {
        feed.adjust(class, &mut engine_policy, now);
    }
    let key = reading.key.clone();
    // Whether this reads (or passes by) an entry a prefetch filled.
    up.prefetched.note_read(user.hash, uri.path(), &key, now);
    let (gzip, copy) = (reading.gzip, reading.copy);
    if let Some(print) = remember {
        conn.recent.remember(
            &conn.last_print,
            print,
            uri,
            client_headers,
            KeptReading {
                reading,
                client: client.clone(),
                user: user.clone(),
            },
        );
    }
    let asked = Asked {
        gw,
        up,
        user: &user,
        uri,
        client_headers,
        key: &key,
        class,
        feed,
        head_bytes: via.takes_head_bytes(),
    };
    // A page of a walk read in concurrent bundles waits for the walk's page on its way to the
    // server, whose answer may start the window holding it; a page going there holds the
    // others until what it teaches is learnt.
    let loading = gw
        .batcher()
        .windows
        .hold(gw, up, (&user, scope_user), (uri, client_headers, &key))
        .await;
    // So does an item of a page read singly, its page's items read all at once.
    let single = gw
        .batcher()
        .hold_single(gw, up, user.hash, (uri, &key))
        .await;
    let (result, made) = look_up(&asked, &engine_policy, authenticates, peer, copy).await;
    match result {
        Ok(lookup) => {
            // Whether this read's own load was answered by the copy (`None`: no load of its
            // own, a hit or a wait on another's).
            let by_copy = made
                .as_ref()
                .filter(|_| matches!(lookup.outcome, Outcome::Miss))
                .map(|l| l.answered_by_copy.load(Ordering::Relaxed));
            // The server answered this very read (not the cache, not the copy).
            let by_server = by_copy == Some(false);
            // A copy that declines the user answers none of their walks here: their pages
            // are the server's, and windows may read them ahead.
            let declined = made
                .as_ref()
                .is_some_and(|l| l.copy_declines_user.load(Ordering::Relaxed));
            learn(
                &asked,
                &lookup,
                scope_user,
                by_server,
                copy.is_some() && !declined,
            );
            drop((loading, single));
            // The foreground load's time upstream (none for a hit, which made no loader).
            let upstream_us = made
                .as_ref()
                .map_or(0, |l| l.upstream_us.load(Ordering::Relaxed));
            let load = Load {
                upstream_us,
                by_copy: by_copy == Some(true),
            };
            let (resp, total_us) = respond_cached(&asked, &lookup, gzip, now, started, load, conn);
            follow_up(&asked, &lookup, client, conn, total_us, upstream_us);
            resp
        }
        Err(e) => {
            tracing::info!(
                upstream = %up.name,
                target = %crate::redact::uri_target(uri),
                error = %e,
                "upstream load failed, no stale copy"
            );
            conn.reads
                .observe(class, ReadOutcome::Error, started.elapsed().as_secs_f64());
            engine_error_response(up, &e, started).into()
        }
    }
}

/// What this read's own load did: its time waiting for the server, or that the library copy
/// answered it (the server was not asked).
#[derive(Clone, Copy)]
struct Load {
    upstream_us: u64,
    by_copy: bool,
}

/// What the phases after the reading share of one cached read.
struct Asked<'a> {
    gw: &'a Gateway,
    up: &'a Arc<Upstream>,
    user: &'a Arc<UserRecord>,
    uri: &'a http::Uri,
    client_headers: &'a HeaderMap,
    key: &'a cachearr_engine::Key,
    class: crate::policy::Class,
    feed: Option<&'a Arc<crate::feed::Feed>>,
    /// The connection's writer takes a hit's head as bytes ([`Via::takes_head_bytes`]).
    head_bytes: bool,
}

/// Who reads: a repeat's user (the same token, so the same hash, looked up and marked seen by
/// it), or the user the route step identified; no token, or two, is a pass.
fn reader(up: &Upstream, read: &ReadFrom<'_>, now: u64) -> Result<Arc<UserRecord>, Bypass> {
    match read {
        ReadFrom::Repeat(KeptReading { user: before, .. }) => {
            Ok(up.users.touch(&up.name, before.hash, before.token(), now))
        }
        ReadFrom::Route { who, .. } => match who {
            Who::User(user) => Ok(user.clone()),
            Who::NoToken => Err(Bypass::NoToken),
            Who::Ambiguous => {
                up.guard
                    .counters
                    .ambiguous_identity
                    .fetch_add(1, Ordering::Relaxed);
                Err(Bypass::AmbiguousIdentity)
            }
        },
    }
}

/// The user's standing for an entry of `scope`, read afresh on every read: a token the server
/// refused last gets nothing cached; a shared entry goes only to a token proved recently.
/// Gives the scope's user (`None` for a shared entry).
fn standing(
    gw: &Gateway,
    up: &Upstream,
    user: &UserRecord,
    scope: Scope,
    authenticates: bool,
    now: u64,
) -> Result<Option<UserHash>, Bypass> {
    if user.is_refused() {
        up.guard
            .counters
            .refused_token
            .fetch_add(1, Ordering::Relaxed);
        return Err(Bypass::RefusedToken { authenticates });
    }
    match scope {
        Scope::User => Ok(Some(user.hash)),
        Scope::Shared => {
            let trust_ms = u64::try_from(gw.config().token_trust.as_millis()).unwrap_or(u64::MAX);
            if Users::trusted(user, now, trust_ms) {
                Ok(None)
            } else {
                Err(Bypass::UntrustedToken { authenticates })
            }
        }
    }
}

/// Why a read has no reading.
enum NoReading {
    /// A query no key can stand for (a parameter given twice with different values).
    Pass(Bypass),
    /// A query that cannot be read at all.
    BadQuery(crate::keys::KeyError),
}

/// The reading: a repeat's, or made from the request (its key and policy) and the fingerprint
/// to remember it by.
fn reading(
    up: &Upstream,
    req: &Request<ClientBody>,
    user: &UserRecord,
    scope_user: Option<UserHash>,
    read: ReadFrom<'_>,
) -> Result<(Arc<Reading>, Option<Fingerprint>), NoReading> {
    match read {
        ReadFrom::Repeat(KeptReading { reading, .. }) => Ok((reading, None)),
        ReadFrom::Route {
            who: _,
            policy,
            tags,
            user_state,
            remember,
            copy,
        } => match reading_of(up, req, user, scope_user, policy, tags, user_state) {
            Ok(reading) => Ok((Arc::new(Reading { copy, ..reading }), remember)),
            Err(crate::keys::KeyError::Ambiguous) => Err(NoReading::Pass(Bypass::AmbiguousQuery)),
            Err(e) => Err(NoReading::BadQuery(e)),
        },
    }
}

/// The look-up: memory, disk, Redis, else one load for every reader of the key (from the
/// library copy when the reading has one, else the server) under `policy` (the feed's
/// freshness applied). A batch in flight that fills the key is waited for first. Gives the
/// loader this read made, if it made one.
async fn look_up(
    asked: &Asked<'_>,
    policy: &cachearr_engine::Policy,
    authenticates: bool,
    peer: SocketAddr,
    copy: Option<&'static dyn CopySource>,
) -> (Result<Lookup, EngineError>, Option<Arc<LoaderState>>) {
    let Asked {
        gw,
        up,
        user,
        uri,
        client_headers,
        key,
        class,
        ..
    } = *asked;
    gw.batcher().join(key).await;
    let mut made: Option<Arc<LoaderState>> = None;
    let result = gw
        .cache()
        .get_or_load_with(key, policy, || {
            let state = Arc::new(LoaderState {
                gw: gw.clone(),
                up: up.clone(),
                user: user.clone(),
                authenticates,
                uri: uri.clone(),
                client_headers: client_headers.clone(),
                peer,
                for_client: true,
                upstream_us: AtomicU64::new(0),
                answered_by_copy: Default::default(),
                copy_declines_user: Default::default(),
                item_tagged: crate::feed::item_tagged(class),
                copy,
            });
            made = Some(state.clone());
            Arc::new(HttpLoader(state))
        })
        .await;
    (result, made)
}

/// What a look-up's outcome teaches: a section walk's page or item may start a batch of the
/// page's other items (their keys registered before this answer goes out); a load remembers
/// the client's identity headers and may be sampled by the change feed; an answer from the
/// cache counts as a request saved.
fn learn(
    asked: &Asked<'_>,
    lookup: &Lookup,
    scope_user: Option<UserHash>,
    by_server: bool,
    copy: bool,
) {
    let Asked {
        gw,
        up,
        user,
        uri,
        client_headers,
        key,
        class,
        feed,
        ..
    } = *asked;
    if lookup.entry.value.status == 200 && !matches!(lookup.outcome, Outcome::Passed) {
        gw.batcher().observe(
            gw,
            up,
            user,
            scope_user,
            key,
            uri,
            client_headers,
            &lookup.entry.value,
            matches!(lookup.outcome, Outcome::Miss | Outcome::Coalesced),
        );
        let page = crate::batch::windows::PageRead {
            uri,
            headers: client_headers,
            value: &lookup.entry.value,
            from_server: by_server,
            copy,
        };
        gw.batcher()
            .windows
            .observe(gw, up, (user, scope_user), page);
    }
    match lookup.outcome {
        Outcome::Miss => {
            Users::set_identity(user, client_headers, crate::dialect::of(up.profile));
            if let Some(feed) = feed
                && feed.samples(class)
                && let Some((uri, headers)) = owned_request(uri, client_headers)
            {
                feed.remember(key, class, uri, headers, user);
            }
        }
        Outcome::Hit(_) | Outcome::Stale | Outcome::Coalesced | Outcome::StaleOnError => {
            up.guard.counters.saved.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Passed => {}
    }
}

/// The answer to a cached read: `304` when the client's validator matches, else the entry's
/// prepared answer (its head as bytes for a hit the own loop writes). Gives the answer and
/// the read's time so far.
fn respond_cached(
    asked: &Asked<'_>,
    lookup: &Lookup,
    gzip: bool,
    now: u64,
    started: Instant,
    load: Load,
    conn: &Connection,
) -> (Reply<WireHead>, u64) {
    let upstream_us = load.upstream_us;
    let Asked {
        gw,
        client_headers,
        head_bytes,
        ..
    } = *asked;
    // A fill that other clients waited for is answered like a hit: every waiter gets the body
    // from its sealed copy instead of a copy of its own (a cold burst of a thousand waiters is
    // answered at once, from one entry).
    let shared = matches!(
        lookup.outcome,
        Outcome::Hit(_) | Outcome::Stale | Outcome::Coalesced
    );
    // A value handed over without storing is answered as it came: no validator, no gzip copy
    // (it would be made for one answer and thrown away).
    let cached = !matches!(lookup.outcome, Outcome::Passed);
    let want = Want {
        shared,
        cached,
        gzip: cached && gzip,
    };
    let answer = gw.prepared().answer(&lookup.entry, want);
    // One clock reading for the answer's Server-Timing and the read's metric.
    let total_us = elapsed_us(started);
    let reply = match answer.not_modified(client_headers) {
        Some(tag) => {
            gw.prepared()
                .stats()
                .not_modified
                .fetch_add(1, Ordering::Relaxed);
            not_modified_response(lookup, answer.headers(), tag, now, started, upstream_us).into()
        }
        None => {
            if let Some(file) = &answer.file {
                conn.slot.register(answer.body.clone(), file.clone());
            }
            cached_response(lookup, &answer, now, total_us, load, shared && head_bytes)
        }
    };
    (reply, total_us)
}

/// What follows an answered read: the prefetch its listing triggers (decided from the path
/// alone, spawned, never awaited) and its metrics.
fn follow_up(
    asked: &Asked<'_>,
    lookup: &Lookup,
    client: &Arc<str>,
    conn: &Connection,
    total_us: u64,
    upstream_us: u64,
) {
    let Asked {
        gw,
        up,
        user,
        uri,
        class,
        ..
    } = *asked;
    if lookup.entry.value.status == 200 && !matches!(lookup.outcome, Outcome::Passed) {
        let (path, query) = (uri.path(), uri.query());
        crate::prefetch::after_listing(gw, up, user, client, path, query, &lookup.entry.value.body);
    }
    let outcome = match lookup.outcome {
        Outcome::Hit(_) => ReadOutcome::Hit,
        Outcome::Miss | Outcome::Passed => ReadOutcome::Miss,
        Outcome::Coalesced => ReadOutcome::Coalesced,
        Outcome::Stale | Outcome::StaleOnError => ReadOutcome::Stale,
    };
    conn.reads.observe(class, outcome, us_ms(total_us) / 1000.0);
    if upstream_us > 0 {
        conn.reads
            .observe_upstream(class, us_ms(upstream_us) / 1000.0);
    }
    tracing::debug!(
        upstream = %up.name,
        target = %crate::redact::uri_target(uri),
        class = class.as_str(),
        status = lookup.entry.value.status,
        outcome = ?lookup.outcome,
        "cached"
    );
}

/// A cached answer: the entry's status, the prepared answer's head and body (identity or gzip).
/// With `head_bytes`, the head is given as bytes (its [`WireHead`], kept per entry as written)
/// and the response carries the status and body only: no header map, and no [`Served`] on it,
/// since the head says where the answer came from.
fn cached_response(
    lookup: &Lookup,
    answer: &Answer,
    now: u64,
    total_us: u64,
    load: Load,
    head_bytes: bool,
) -> Reply<WireHead> {
    let (age_s, ttl_s) = age_and_ttl(lookup, now);
    let (outcome, upstream_us) = (lookup.outcome, load.upstream_us);
    let mark = |h: &mut HeaderMap| mark_cache_state(h, outcome, age_s, ttl_s);
    let status = StatusCode::from_u16(lookup.entry.value.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::new(Either::Left(Full::new(answer.body.clone())));
    *response.status_mut() = status;
    if load.by_copy {
        // Written by the library copy: a miss of the cache the server never saw. A miss is
        // not shared, so its head is written here, never kept for later answers.
        let mut headers = answer.head(|h| mark_copy_state(h, ttl_s));
        mark_copy_timing(&mut headers, total_us);
        *response.headers_mut() = headers;
        response.extensions_mut().insert(Served::Index);
        return response.into();
    }
    if head_bytes {
        let head = answer.wire_head(status, outcome, age_s, ttl_s, mark);
        return Reply {
            response,
            head: Some(WireHead {
                head,
                outcome,
                total_us,
                upstream_us,
            }),
        };
    }
    response.extensions_mut().insert(Served::of(outcome));
    let mut headers = answer.head(mark);
    mark_timing(&mut headers, outcome, total_us, upstream_us);
    *response.headers_mut() = headers;
    response.into()
}

/// Headers a `304 Not Modified` repeats from the full answer (RFC 9110 §15.4.5: those that
/// guide caches; `ETag` is set from the matched representation).
const NOT_MODIFIED_KEEPS: [HeaderName; 5] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::VARY,
];

/// `304 Not Modified` for a cached entry: no body, the matched validator `tag`, the cache
/// headers of the full answer (`headers`) and ours (`Cache-Status`, `Age`, …).
fn not_modified_response(
    lookup: &Lookup,
    headers: &HeaderMap,
    tag: HeaderValue,
    now: u64,
    started: Instant,
    upstream_us: u64,
) -> Response<ProxyBody> {
    let mut h = HeaderMap::with_capacity(10);
    for name in NOT_MODIFIED_KEEPS {
        for v in headers.get_all(&name) {
            h.append(name.clone(), v.clone());
        }
    }
    h.insert(header::ETAG, tag);
    let mut resp = Response::new(Either::Left(Full::new(Bytes::new())));
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    *resp.headers_mut() = h;
    mark_cached(resp.headers_mut(), lookup, now, started, upstream_us);
    resp.extensions_mut().insert(Served::of(lookup.outcome));
    resp
}

fn engine_error_response(up: &Upstream, e: &EngineError, started: Instant) -> Response<ProxyBody> {
    let open = up.guard.breaker_state() == crate::upstream::BreakerState::Open;
    let mut resp = match (ErrorKind::of_engine(e), e) {
        // The breaker opened while this load waited: say so, whatever the load's own kind.
        (_, EngineError::Load(_)) if open => circuit_open_response(up),
        (ErrorKind::UpstreamUnavailable, _) => circuit_open_response(up),
        (kind, EngineError::Load(le)) => problem(kind, &le.message),
        (kind, EngineError::LoadTimeout(d)) => problem(
            kind,
            &format!("upstream {} did not answer within {d:?}", up.name),
        ),
        (kind, other) => problem(kind, &other.to_string()),
    };
    mark(
        &mut resp,
        "MISS",
        "cachearr; fwd=uri-miss; detail=upstream-failed",
        started,
        None,
    );
    resp
}

fn circuit_open_response(up: &Upstream) -> Response<ProxyBody> {
    let retry = up.guard.retry_after().as_secs().max(1);
    let mut resp = problem(
        ErrorKind::UpstreamUnavailable,
        &format!(
            "upstream {} is failing and cachearr has no copy to serve; the circuit breaker \
             lets a probe through in {retry} s",
            up.name
        ),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    resp
}

fn upstream_error_response(up: &Upstream, e: &UpstreamError) -> Response<ProxyBody> {
    match ErrorKind::of_load(e.kind()) {
        ErrorKind::UpstreamUnavailable => circuit_open_response(up),
        kind => problem(kind, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepared::WireLines;
    use cachearr_engine::TierKind;

    #[test]
    fn a_head_as_bytes_is_the_kept_lines_and_this_answer_s_timing() {
        let hit = WireHead {
            head: WireLines {
                bytes: Bytes::from_static(b"HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\n"),
                has_date: false,
            },
            outcome: Outcome::Hit(TierKind::Memory),
            total_us: 1_234,
            upstream_us: 0,
        };
        let mut out = Vec::new();
        assert!(!hit.encode(&mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\nserver-timing: cache;dur=1.234\r\n"
        );
        // A miss's time upstream is its own part; the stored answer's Date is said to be there.
        let miss = WireHead {
            head: WireLines {
                bytes: Bytes::from_static(
                    b"HTTP/1.1 200 OK\r\ndate: Tue, 24 Nov 2026 10:00:00 GMT\r\n",
                ),
                has_date: true,
            },
            outcome: Outcome::Miss,
            total_us: 5_000,
            upstream_us: 4_000,
        };
        let mut out = Vec::new();
        assert!(miss.encode(&mut out));
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("GMT\r\nserver-timing: cache;dur=1.000, upstream;dur=4.000\r\n")
        );
    }
}
