//! Serving a front end's router on a listener: our own accept loop (so faults can refuse and
//! drop connections), the "front door" middleware (counting, faults, cost metering) and the
//! per-request cost meter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::Sim;

tokio::task_local! {
    /// Simulated cost (µs) charged by the request being handled on this task.
    static METER: Arc<AtomicU64>;
}

/// Adds `cost_us` to the current request's meter (no-op outside a request).
pub(crate) fn meter_add(cost_us: u64) {
    let _ = METER.try_with(|m| m.fetch_add(cost_us, Ordering::Relaxed));
}

/// Marker: the front door wants the connection closed without a response.
#[derive(Clone, Copy, Debug)]
struct DropConnection;

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// Names the route template of a response, for front ends that route by themselves instead of
/// with axum's router (Jellyfin's paths are case-insensitive): the front door counts the
/// request under `METHOD <template>` when no `MatchedPath` is known.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteLabel(pub(crate) &'static str);

/// Wraps a front end's router with the `/_sim/` API and the front door.
pub(crate) fn with_front_door(sim: &Sim, front: Router) -> Router {
    front
        .merge(crate::control::router(sim.clone()))
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            front_door,
        ))
}

async fn front_door(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let _in_flight = sim.inner.stats.enter();
    let method = req.method().clone();
    let route = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str())
            .unwrap_or("(unmatched)")
    );
    let faults = sim.faults();
    let active = faults.applies_to(&path);
    if active && faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if active && sim.roll(faults.drop_rate) {
        sim.inner.stats.count_request(&route, 0);
        sim.inner.stats.count_fault();
        let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        resp.extensions_mut().insert(DropConnection);
        return resp;
    }
    if active && sim.roll(faults.error_rate) {
        sim.inner.stats.count_request(&route, 0);
        sim.inner.stats.count_fault();
        let status =
            StatusCode::from_u16(faults.error_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = format!(
            "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>",
            status
        );
        return (status, [(header::CONTENT_TYPE, "text/html")], body).into_response();
    }
    let meter = Arc::new(AtomicU64::new(0));
    let mut resp = METER.scope(meter.clone(), next.run(req)).await;
    // The server's `Date` is its own clock's, as a real server's is: what clients compare
    // with the times it stamps (a Jellyfin item's `DateLastSaved`) — the simulator's clock
    // may stand ahead of the machine's.
    let now = std::time::UNIX_EPOCH + Duration::from_secs(u64::from(sim.now()));
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        resp.headers_mut().insert(header::DATE, date);
    }
    let route = match resp.extensions().get::<RouteLabel>() {
        Some(label) => format!("{method} {}", label.0),
        None => route,
    };
    sim.inner
        .stats
        .count_request(&route, meter.load(Ordering::Relaxed));
    if !active || resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return resp;
    }
    let is_image = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"image/"));
    if is_image && faults.corrupt_image_rate > 0.0 && sim.roll(faults.corrupt_image_rate) {
        sim.inner.stats.count_fault();
        let (parts, body) = resp.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        return Response::from_parts(parts, Body::from(corrupt_middle(&bytes)));
    }
    let truncate = sim.roll(faults.truncate_rate);
    let malformed = !truncate && sim.roll(faults.malformed_rate);
    if !(truncate || malformed) {
        return resp;
    }
    sim.inner.stats.count_fault();
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let half = bytes.slice(..bytes.len() / 2);
    if truncate {
        // Declare the full length, send half, then fail the body: hyper aborts the connection
        // and the client sees an incomplete message.
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::other("truncated by fault injection")),
        ];
        Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
    } else {
        parts.headers.remove(header::CONTENT_LENGTH);
        let mut broken = half.to_vec();
        broken.extend_from_slice(b"\x00<<garbage");
        Response::from_parts(parts, Body::from(broken))
    }
}

/// `bytes` with 8 bytes in the middle inverted: the length and both ends are kept, so the
/// response is complete and well framed, but the image inside is broken.
fn corrupt_middle(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mid = out.len() / 2;
    let end = (mid + 8).min(out.len());
    for b in &mut out[mid..end] {
        *b = !*b;
    }
    out
}

/// Accepts connections on `listener` and serves `app` on each, until the listener fails
/// permanently. HTTP/1.1 with upgrades (websockets) and HTTP/2.
pub(crate) async fn serve(sim: Sim, listener: TcpListener, app: Router) -> std::io::Result<()> {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(x) => x,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if sim.faults().refuse {
            sim.inner.stats.count_fault();
            // Reset at once: the client sees "connection reset", as with a dead server.
            let _ = stream.set_zero_linger();
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut app = app.clone();
                    async move {
                        let resp: Response = match tower_service::Service::call(
                            &mut app,
                            req.map(Body::new),
                        )
                        .await
                        {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            return Err(Dropped);
                        }
                        Ok::<_, Dropped>(resp)
                    }
                });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}
