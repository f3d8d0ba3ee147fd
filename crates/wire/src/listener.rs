//! A proxy listener ([`serve_proxy`]): its accept loop and each connection's task. Each
//! connection is served by the own HTTP/1.1 ([`crate::http1`]) first and by hyper's HTTP/1.1,
//! with the listener's [`Limits`], from the first request the own loop does not take; every
//! request goes to the listener's [`Service`]. Around them: a connection cap with shedding
//! of the oldest idle connection and a `503` when every connection is busy; the sweep that
//! closes connections idle too long; a back-off when accepting fails (out of descriptors); per
//! connection, the send slot for zero-copy bodies ([`crate::sendfile`]) and the service's
//! state ([`Service::connect`]); and graceful shutdown, awaiting the connections through a
//! channel that closes with the last one.
//!
//! The admin listener ([`serve_admin`]) has the same cap, shedding, idle sweep (which is also
//! its header time-out: a client sending its head a byte at a time is idle) and accept
//! back-off, with a cap of its own taken from the descriptors the proxy listeners leave aside
//! ([`connections::admin_max_connections`]): sockets held open on the admin port can never
//! take the descriptors cached proxy hits need. It serves any tower service (an axum
//! `Router`), all by hyper.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::service::{Service, Via};
use crate::{connections, http1, sendfile};

/// The number of request headers hyper accepts when not told otherwise.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// What a proxy listener allows.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most bytes in a request head (hyper answers a longer one `431`).
    pub max_header_bytes: usize,
    /// The most lines in a request head.
    pub max_headers: usize,
    /// The most connections open at once ([`connections::default_max_connections`] sizes it
    /// from the open-file limit).
    pub max_connections: usize,
}

/// Serves the admin `router` (any tower service: an axum `Router`) on `listener` until
/// `stop`, at most `cap` connections at once (beyond it the connection idle the longest is
/// closed, or a 503 when every one is busy); connections idle for the idle time-out are
/// closed by the sweep.
pub async fn serve_admin<R, B>(
    router: R,
    listener: TcpListener,
    cap: usize,
    stop: tokio_util::sync::CancellationToken,
) where
    R: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    R::Future: Send + 'static,
    B: hyper::body::Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (live, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    let conns = connections::Connections::new(cap);
    tracing::debug!(max_connections = cap, "admin connection cap");
    tokio::spawn({
        let (conns, stop) = (conns.clone(), stop.clone());
        async move { conns.close_idle_until(stop, "admin").await }
    });
    let builder = Arc::new(hyper::server::conn::http1::Builder::new());
    let mut backoff = connections::AcceptBackoff::default();
    loop {
        let (mut stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    if connections::out_of_descriptors(&e) {
                        conns.shed_oldest_idle();
                    }
                    let pause = backoff.failed(&e, "admin");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stop.cancelled() => break,
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        backoff.succeeded("admin");
        if !conns.make_room() {
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(1),
                    stream.write_all(connections::BUSY_RESPONSE),
                )
                .await;
            });
            continue;
        }
        let registered = conns.register();
        let tracker = registered.tracker();
        let router = router.clone();
        let (builder, stop, live) = (builder.clone(), stop.clone(), live.clone());
        tokio::spawn(async move {
            let _live = live;
            let service = service_fn(move |req: Request<Incoming>| {
                let busy = tracker.busy();
                let mut router = router.clone();
                async move {
                    let response = router.call(req).await?;
                    Ok::<_, Infallible>(response.map(|body| connections::BusyBody::new(body, busy)))
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = std::pin::pin!(conn);
            let ended = until_stopped_or_shed(conn, |c| c.graceful_shutdown(), &stop, &registered);
            if let Some(Err(e)) = ended.await {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
    drop(live);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), all_closed.recv()).await;
}

/// Accepts clients on `listener` and serves each connection with `service` until `stop`,
/// then awaits the connections' end (at most 10 s). `name` names the listener in the log.
pub async fn serve_proxy<S: Service>(
    service: Arc<S>,
    listener: TcpListener,
    name: Arc<str>,
    limits: Limits,
    stop: tokio_util::sync::CancellationToken,
) {
    // Each connection task holds a clone of `live`; once the last clone is dropped,
    // `all_closed.recv()` answers `None`, so shutdown awaits the connections (bounded) rather
    // than polling a count.
    let (live, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    let builder = Arc::new(proxy_builder(&limits));
    let cap = limits.max_connections;
    tracing::debug!(upstream = %name, max_connections = cap, "connection cap");
    let conns = connections::Connections::new(cap);
    let last_head = Arc::new(http1::LastHead::default());
    tokio::spawn({
        let (conns, stop, name) = (conns.clone(), stop.clone(), name.clone());
        async move { conns.close_idle_until(stop, &name).await }
    });
    let mut backoff = connections::AcceptBackoff::default();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors: free one (the oldest idle connection) and wait a
                    // little longer each time rather than spin on the failing accept.
                    if connections::out_of_descriptors(&e) {
                        conns.shed_oldest_idle();
                    }
                    let pause = backoff.failed(&e, &name);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stop.cancelled() => break,
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        backoff.succeeded(&name);
        if !conns.make_room() {
            // Every connection is busy: tell this client to come back, without a task per
            // refusal holding the descriptor for long.
            tokio::spawn(refuse_busy(stream));
            continue;
        }
        let registered = conns.register();
        let _ = stream.set_nodelay(true);
        let slot = Arc::new(sendfile::SendSlot::default());
        let ctx = http1::ConnectionContext {
            connection: service.connect(peer, slot.clone()),
            service: service.clone(),
            tracker: registered.tracker(),
            last_head: last_head.clone(),
            head_limits: http1::HeadLimits::new(limits.max_header_bytes, limits.max_headers),
        };
        let stream = sendfile::SendfileStream::new(stream, slot);
        let (builder, stop, live) = (builder.clone(), stop.clone(), live.clone());
        // The connection's future is made and boxed inside its task: it holds the largest
        // answer future of the service, and spawned whole it would be copied twice (into
        // `spawn`'s argument, then into the task) for every connection.
        tokio::spawn(async move {
            let _live = live;
            Box::pin(serve_connection(stream, ctx, registered, &builder, &stop)).await;
        });
    }
    // In-flight requests get a moment to finish; streams and websockets are cut after it.
    drop(live);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), all_closed.recv()).await;
}

/// The hyper side of a proxy connection, for the requests the gateway's own loop hands off.
fn proxy_builder(limits: &Limits) -> hyper::server::conn::http1::Builder {
    // HTTP/1.1 only: media-server clients speak it (h2 needs TLS in practice), and hyper's own
    // h1 builder enforces a header-size limit with a 431.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(limits.max_header_bytes.max(8192) + 64 * 1024)
        .max_header_size(limits.max_header_bytes);
    // hyper parses into a stack array of its default size (100) left uninitialised; any
    // explicit limit, even the same 100, makes it fill a fresh array on every request (~1,700
    // instructions of a ~45,000-instruction hit, by callgrind). Only a different limit pays.
    if limits.max_headers != HYPER_DEFAULT_MAX_HEADERS {
        builder.max_headers(limits.max_headers);
    }
    builder
        // No timer per request head: a client slow to send one is closed by the registry's
        // idle sweep instead (`Connections::close_idle_until`), which costs no request anything.
        .header_read_timeout(None)
        // Head and body leave in one vectored write; the body slice is never copied into
        // hyper's buffer, so `SendfileStream` can recognise a cached body and send it from its
        // file.
        .writev(true);
    builder
}

/// Tells a client every connection is busy, then closes.
async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        stream.write_all(connections::BUSY_RESPONSE),
    )
    .await;
}

/// Serves one proxy connection until it ends, `stop` is called or the registry sheds it:
/// the gateway's own loop first; hyper takes over for a request it does not take.
async fn serve_connection<S: Service>(
    stream: sendfile::SendfileStream,
    ctx: http1::ConnectionContext<S>,
    registered: connections::Registered,
    builder: &hyper::server::conn::http1::Builder,
    stop: &tokio_util::sync::CancellationToken,
) {
    let stream = match http1::serve(stream, &ctx, &registered, stop).await {
        http1::Ended::Closed => return,
        http1::Ended::HandOff(stream) => stream,
    };
    let ctx = Arc::new(ctx);
    let service = service_fn(move |req: Request<Incoming>| {
        let ctx = ctx.clone();
        let busy = ctx.tracker.busy();
        // Boxed: the request's whole path is one large future, which hyper would
        // otherwise keep in a slot of that size for every open connection, busy or
        // not, and move into it on every request.
        Box::pin(async move {
            // hyper writes from the header map: no head comes as bytes.
            let response = ctx
                .service
                .answer(
                    &ctx.connection,
                    req.map(http_body_util::Either::Left),
                    Via::Hyper,
                )
                .await
                .response;
            Ok::<_, Infallible>(response.map(|body| connections::BusyBody::new(body, busy)))
        })
    });
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let conn = std::pin::pin!(conn);
    let ended = until_stopped_or_shed(conn, |c| c.graceful_shutdown(), stop, &registered);
    if let Some(Err(e)) = ended.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Drives a hyper connection until it ends, `stop` is called (it then finishes the response
/// it is writing) or the registry sheds it; `shutdown` asks it to end gracefully. `None`: shed
/// while idle and simply dropped.
async fn until_stopped_or_shed<C: std::future::Future>(
    mut conn: std::pin::Pin<&mut C>,
    shutdown: impl Fn(std::pin::Pin<&mut C>),
    stop: &tokio_util::sync::CancellationToken,
    registered: &connections::Registered,
) -> Option<C::Output> {
    tokio::select! {
        // The connection first: it is what wakes the task nearly every time, and a fixed
        // order draws no random number on each wake.
        biased;
        r = conn.as_mut() => Some(r),
        () = stop.cancelled() => {
            shutdown(conn.as_mut());
            Some(conn.await)
        }
        () = registered.shed() => {
            // Chosen to make room: an idle connection is simply closed (a client that sent
            // half a request head loses nothing it was promised); one that turned busy
            // meanwhile finishes its response first.
            if registered.is_idle() {
                return None;
            }
            shutdown(conn.as_mut());
            Some(conn.await)
        }
    }
}
