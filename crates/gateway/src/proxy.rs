//! The request path. One request is one [`Call`], walked through named phases, each a method
//! whose name says what it decides:
//!
//! 1. **recall** — a request repeated byte for byte reuses what was read from it
//!    ([`repeat`]), straight to the look-up;
//! 2. **check** — what must never reach the server or the cache is refused ([`validate`]);
//! 3. **decide** — the route table picks the path: cached read, index search, write,
//!    pass-through, upgrade, or the HTTP caching standard ([`route`]);
//! 4. **identify** — who asks, read once, handed to every path ([`route`]);
//! 5. **read** — a cached read: admit (the user's standing, the key), hold for a batch
//!    on its way, look up (memory, disk, Redis, else one load from the library copy or the
//!    server), learn, respond ([`read`]); or **pass** — sent to the server as it came
//!    ([`pass`]);
//! 6. **account** — the client table learns where the answer came from ([`Call::account`];
//!    the metrics are observed by the path that answered).
//!
//! Every response carries `Cache-Status` (RFC 9211), `X-Cache`, `Age` (cached answers) and
//! `Server-Timing`. Cached 200s also carry an `ETag`, answer a matching `If-None-Match` with
//! `304`, and go gzipped to clients that accept it (text types, see [`crate::prepared`]).
//! Failures are answered by [`failure`], the one place an error becomes an HTTP answer here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::future::Either;
use http::Request;

use crate::clients::Served;
use crate::fetch::ClientBody;
use crate::gateway::Gateway;
use crate::metrics::ReadMetrics;
use crate::read_through::ReadThrough;
use cachearr_dialect::{Identity, Trigger};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::feed::Feed;
use cachearr_upstream::users::UserRecord;
use cachearr_wire::{Reply, SendSlot, Via};

mod failure;
mod pass;
mod read;
mod repeat;
mod route;
mod standard;
mod validate;

pub(crate) use crate::prepared::WireHead;
use read::{AtOnce, ReadFrom};
pub(crate) use repeat::{LastFingerprint, RecentReadings};

/// A proxy listener's [`cachearr_wire::Service`]: every request of its connections, read by
/// the wire's own HTTP/1.1 or by hyper, goes to [`answer`].
pub(crate) struct Listener {
    gw: Gateway,
    up: Arc<Upstream>,
    /// The listener's cached-read series, resolved once.
    reads: Arc<ReadMetrics>,
    /// The listener's recent cached reads, shared by its connections.
    recent: Arc<RecentReadings>,
    /// The upstream's change feed, found once (`None`: the feed is off).
    feed: Option<Arc<Feed>>,
}

impl Listener {
    /// The service of `up`'s listener.
    pub(crate) fn new(gw: Gateway, up: Arc<Upstream>) -> Listener {
        let reads = Arc::new(gw.metrics().reads(&up.metrics_name));
        let feed = gw.feed(&up.name).cloned();
        Listener {
            gw,
            up,
            reads,
            recent: Arc::default(),
            feed,
        }
    }
}

impl cachearr_wire::Service for Listener {
    type Connection = Connection;
    type Head = WireHead;

    fn connect(&self, peer: SocketAddr, slot: Arc<SendSlot>) -> Connection {
        Connection {
            peer,
            slot,
            reads: self.reads.clone(),
            recent: self.recent.clone(),
            feed: self.feed.clone(),
            last_print: LastFingerprint::default(),
        }
    }

    #[inline]
    fn answer<'a>(
        &'a self,
        connection: &'a Connection,
        request: Request<ClientBody>,
        via: Via,
    ) -> impl Future<Output = Reply<WireHead>> + Send + 'a {
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
    /// The upstream's change feed (`None`: the feed is off).
    pub(crate) feed: Option<Arc<Feed>>,
    /// Where this connection's last request was found or kept in `recent`.
    pub(crate) last_print: LastFingerprint,
}

/// One request on its way through the proxy: what every phase reads, made once when the
/// request arrives. The phases are its methods, in the order the module map gives.
pub(super) struct Call<'a> {
    gw: &'a Gateway,
    up: &'a Arc<Upstream>,
    conn: &'a Connection,
    /// The client's address.
    peer: SocketAddr,
    /// How the request came: the own HTTP/1.1 loop (and the kept head it was read from) or
    /// hyper.
    via: Via,
    /// When the request arrived.
    started: Instant,
    /// The name the client gives itself, read once, for the client table.
    client: Arc<str>,
}

/// What the dialect read of a request not seen before, for the phases after its route.
pub(super) struct FirstRead {
    /// Who the request is, as the server will see it ([`Call::identify`] makes it a [`Who`]).
    identity: Identity<'static>,
    /// The prefetch a cached read of it triggers once answered.
    prefetch: Option<Trigger>,
}

/// Who a request is, read once per request in [`Call::identify`] and handed to every path.
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

/// Answers one request of a proxy connection, which came `via` hyper or the gateway's own
/// HTTP/1.1 loop: recalls a repeat or routes it, then accounts for it.
///
/// A repeat that a fresh entry in memory answers is answered here, before any future is
/// made: the returned future is then a ready answer. Moved into a future instead, the
/// request (hundreds of bytes) was copied into each layer's state on every hit, memory of the
/// connection's future no other request touches.
#[allow(
    clippy::disallowed_methods,
    reason = "a request's latency for the metrics is a real span"
)]
pub(crate) fn answer<'a>(
    gw: &'a Gateway,
    up: &'a Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    conn: &'a Connection,
    via: Via,
) -> impl Future<Output = Reply<WireHead>> + Send + 'a {
    let started = Instant::now();
    let req = without_route_prefix(up, req);
    let call = move |client| Call {
        gw,
        up,
        conn,
        peer,
        via,
        started,
        client,
    };
    // Through the listener's recent readings, as a key through the cache: a repeat recalls
    // what was read from its bytes (see [`repeat`]): it passed the checks, and its route,
    // token and key are what they were; a new request is read, and its cached read
    // remembers it.
    let recent = &conn.recent;
    recent.read_through(
        &conn.last_print,
        req,
        via.head(),
        move |req, print, recalled| {
            // Read under another release of the server: read again (its token may not count).
            let recalled = recalled.filter(|kept| kept.release == up.release_changes());
            let left = match recalled {
                Some(recalled) => {
                    up.guard
                        .counters
                        .repeated_reads
                        .fetch_add(1, Ordering::Relaxed);
                    let call = call(recalled.client.clone());
                    match call.read_at_once(req, ReadFrom::Repeat(recalled)) {
                        AtOnce::Answered(reply) => {
                            call.account(&reply);
                            return Either::Left(reply);
                        }
                        AtOnce::Later(later) => Left::Read(call, later),
                        AtOnce::Afresh(req) => Left::Route(req),
                    }
                }
                None => Left::Route(req),
            };
            Either::Right(async move {
                let (call, reply) = match left {
                    Left::Read(call, later) => {
                        let reply = call.read_later(later).await;
                        (call, reply)
                    }
                    // A request not seen before is read by the upstream's dialect once, here: who
                    // it is, its client's name and the prefetch it triggers.
                    Left::Route(req) => {
                        let uri = req.uri();
                        let caller = cachearr_dialect::caller(
                            up.profile,
                            up.server_version().as_deref(),
                            uri.path(),
                            req.headers(),
                            uri.query(),
                        );
                        let client =
                            crate::clients::clean(caller.client.as_deref().unwrap_or_default());
                        let first = FirstRead {
                            identity: caller.identity.into_owned(),
                            prefetch: caller.prefetch,
                        };
                        let call = call(client.into());
                        let reply = call.route(req, print, first).await;
                        (call, reply)
                    }
                };
                call.account(&reply);
                reply
            })
        },
    )
}

/// `req` with its path as the server routes it: without a prefix the server answers every
/// route under (Emby's `/emby/`: `cachearr_dialect::DialectFacts::route_prefixes`), so that
/// both spellings are one route, one key and one answer, and the server is asked the route
/// itself, which it answers the same. Anything else is left as it came.
fn without_route_prefix(up: &Upstream, mut req: Request<ClientBody>) -> Request<ClientBody> {
    let dialect = cachearr_dialect::of(up.profile);
    let Some(rest) = dialect.api_path(req.uri().path()) else {
        return req;
    };
    let target = match req.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    let Ok(path_and_query) = http::uri::PathAndQuery::try_from(target) else {
        return req;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

/// What is left to do for a request once [`answer`] did what needs no waiting.
enum Left<'a> {
    /// The rest of a repeat's cached read.
    Read(Call<'a>, read::Later),
    /// A request not seen before, to route.
    Route(Request<ClientBody>),
}

impl Call<'_> {
    /// Account: the client table learns where the answer came from — by the head of a hit
    /// written as bytes (which only the own loop takes), else by the [`Served`] the answering
    /// path put on the response (none: the server's).
    fn account(&self, reply: &Reply<WireHead>) {
        let served = match (&reply.head, reply.response.extensions().get::<Served>()) {
            (Some(head), _) => Served::of(head.outcome),
            (None, Some(served)) => *served,
            (None, None) => Served::Server,
        };
        // Only the server's time is kept per client: a cached answer reads no clock.
        let seconds = if served.by_server() {
            self.started.elapsed().as_secs_f64()
        } else {
            0.0
        };
        self.gw
            .clients()
            .record(&self.up.name, &self.client, served, seconds);
    }
}

/// Warms one path of an upstream cached by the HTTP caching standard (its shared entry, on
/// the background budget); whether a usable answer is stored after.
pub(crate) async fn warm_standard(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    path_and_query: &str,
) -> bool {
    standard::warm(reads, up, path_and_query).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_config::Config;
    use cachearr_dialect::Profile;
    use cachearr_wire::Service as _;
    use http_body_util::{Either as BodyEither, Empty};

    /// A connection holds the future of the request it answers, boxed once per connection:
    /// every byte of it is allocated, and zeroed or copied, for every new client. It once
    /// held the rest of an answer twice (an `async fn` wrapper kept its argument beside the
    /// future it awaited: 19,216 bytes instead of 9,616), which cost a burst of new
    /// connections a third of its instructions. 9,616 bytes in debug and release builds
    /// alike; the bound leaves room for a field or two, and a change that doubles the future
    /// fails here rather than in a benchmark.
    #[tokio::test]
    async fn the_answer_future_a_connection_holds_stays_small() {
        const BOUND: usize = 12 * 1024;
        let data = tempfile::tempdir().unwrap();
        let listen = "127.0.0.1:0".parse().unwrap();
        let mut config = Config::single(Profile::Plex, "http://127.0.0.1:9", listen).unwrap();
        config.admin_listen = listen;
        config.data_dir = data.path().to_path_buf();
        let gw = Gateway::builder(config).build().await.unwrap();
        let up = gw.upstreams()[0].clone();
        let listener = Listener::new(gw.clone(), up);
        let connection = listener.connect(
            "127.0.0.1:40000".parse().unwrap(),
            Arc::new(SendSlot::default()),
        );
        let request: Request<ClientBody> = Request::get("/library/sections")
            .body(BodyEither::Right(Empty::new()))
            .unwrap();
        let answer = listener.answer(&connection, request, Via::Own(None));
        let size = std::mem::size_of_val(&answer);
        assert!(
            size <= BOUND,
            "the answer future is {size} bytes (bound {BOUND})"
        );
    }
}
